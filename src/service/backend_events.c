/* Training events to ML backends: the payload pieces, sending now, and the background
 * sender. See backend_events.h. */
#include "service/backend_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "net/client.h"
#include "service/outbox.h"
#include "store/settings.h"

enum {
    QUEUE_MAX = 1024,         /* events waiting; more are dropped */
    EVENT_TIMEOUT_MS = 10000, /* per request at most: a backend may train before answering */
    RECOUNT_SECONDS = 5,      /* how often the worker re-counts active backends */
    BACKOFF_MAX_SECONDS = 8,
};

bool an_backend_events_is_training(const char *action)
{
    return action &&
           (strcmp(action, "ANNOTATION_CREATED") == 0 || strcmp(action, "ANNOTATION_UPDATED") == 0);
}

json_t *an_backend_event_project(an_store *s, int64_t project_id, an_err *err)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)project_id);
    an_project p = {0};
    if (an_store_project_get(s, text, &p, err) < 0) {
        an_project_clear(&p);
        return NULL;
    }
    if (p.id != project_id) { /* a project named like the number */
        an_project_clear(&p);
        an_err_set(err, AN_ENOTFOUND, "project", "no project numbered %lld", (long long)project_id);
        return NULL;
    }
    json_t *j = json_pack(
        "{s:I,s:s,s:s,s:s,s:I,s:I,s:I}", "id", (json_int_t)p.id, "title", p.name ? p.name : "",
        "label_config", p.config ? p.config : "", "created_at", p.created_at ? p.created_at : "",
        "task_number", (json_int_t)p.task_count, "total_annotations_number",
        (json_int_t)p.annotation_count, "total_predictions_number", (json_int_t)p.prediction_count);
    an_project_clear(&p);
    return j;
}

json_t *an_backend_event_task(an_store *s, int64_t task_id)
{
    an_task t = {0};
    an_err e;
    an_err_clear(&e);
    json_t *j = NULL;
    if (an_store_task_get(s, task_id, &t, &e) == 0) {
        json_t *data = json_loadb(t.data ? t.data : "{}", t.data ? t.data_len : 2, 0, NULL);
        json_t *meta = t.meta ? json_loads(t.meta, 0, NULL) : NULL;
        j = json_pack("{s:I,s:o,s:o,s:s,s:s,s:I}", "id", (json_int_t)t.id, "data",
                      data ? data : json_object(), "meta", meta ? meta : json_object(),
                      "created_at", t.created_at ? t.created_at : "", "updated_at",
                      t.updated_at ? t.updated_at : "", "project", (json_int_t)t.project_id);
    } else {
        j = json_pack("{s:I}", "id", (json_int_t)task_id);
    }
    an_task_clear(&t);
    return j;
}

/* ---- sending now ---------------------------------------------------------------------------- */

typedef struct copied {
    an_backend *list;
    size_t n;
    int64_t only; /* 0: the active ones */
} copied;

static int copy_backend(void *ud, const an_backend *b)
{
    copied *c = ud;
    if (c->only ? b->id != c->only : !b->is_active) return 0;
    c->list = an_xrealloc(c->list, (c->n + 1) * sizeof *c->list);
    an_backend *d = &c->list[c->n++];
    *d = *b;
    d->url = an_xstrdup(b->url);
    d->title = an_xstrdup(b->title ? b->title : "");
    d->model_version = an_xstrdup(b->model_version ? b->model_version : "");
    d->created_at = an_xstrdup(b->created_at ? b->created_at : "");
    return 0;
}

static void copied_free(copied *c)
{
    for (size_t i = 0; i < c->n; i++)
        an_backend_clear(&c->list[i]);
    free(c->list);
    memset(c, 0, sizeof *c);
}

/* The payload with its task filled in from the store when it carries only the id. */
static json_t *full_payload(an_store *s, const json_t *payload)
{
    json_t *out = payload ? json_deep_copy(payload) : json_object();
    json_t *task = json_object_get(out, "task");
    if (json_is_object(task) && !json_object_get(task, "data")) {
        json_int_t id = json_integer_value(json_object_get(task, "id"));
        if (id > 0) json_object_set_new(out, "task", an_backend_event_task(s, id));
    }
    return out;
}

int an_backend_events_send(an_store *s, int64_t project_id, int64_t backend_id, const char *action,
                           const json_t *payload, bool trusted, an_backend_event_outcome_cb cb,
                           void *ud, int *sent, an_err *err)
{
    if (sent) *sent = 0;
    copied c = {.only = backend_id};
    int rc = an_store_backend_list(s, project_id, copy_backend, &c, err);
    if (rc < 0) return rc;
    if (c.n == 0) {
        copied_free(&c);
        if (backend_id)
            return an_err_set(err, AN_ENOTFOUND, "backend",
                              "project %lld has no ML backend %lld; annot backend list shows "
                              "its backends",
                              (long long)project_id, (long long)backend_id);
        return an_err_set(err, AN_ENOTFOUND, "backend",
                          "project %lld has no active ML backend; add one with annot backend "
                          "add",
                          (long long)project_id);
    }
    char *allow = NULL;
    json_t *project = an_backend_event_project(s, project_id, err);
    rc = project ? 0 : -err->code;
    if (rc == 0 && !trusted) rc = an_store_setting_get(s, "outbound.allow", &allow, err);
    json_t *full = rc == 0 ? full_payload(s, payload) : NULL;
    for (size_t i = 0; rc == 0 && i < c.n; i++) {
        const an_backend *b = &c.list[i];
        an_backend_conf conf = {.url = b->url,
                                .timeout_ms = b->timeout_ms,
                                .retries = b->retries,
                                .trusted = trusted,
                                .allow_text = allow};
        an_backend_event_outcome o = {.backend = b};
        an_err_clear(&o.err);
        o.rc = an_backend_event(&conf, action, project, full, &o.result, &o.err);
        if (o.rc == 0 && sent) (*sent)++;
        if (cb) cb(ud, &o);
    }
    json_decref(full);
    json_decref(project);
    free(allow);
    copied_free(&c);
    return rc;
}

/* ---- the background sender ------------------------------------------------------------------ */

typedef struct event {
    int64_t project_id;
    char action[32];
    json_t *payload;
} event;

struct an_backend_events {
    an_outbox *out; /* the queue and the worker */
};

static void event_free(void *p)
{
    event *e = p;
    if (!e) return;
    json_decref(e->payload);
    free(e);
}

bool an_backend_events_wanted(an_backend_events *b)
{
    return b && an_outbox_wanted(b->out);
}

void an_backend_events_changed(an_backend_events *b)
{
    if (b) an_outbox_changed(b->out);
}

void an_backend_events_stats_get(an_backend_events *b, an_backend_events_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!b) return;
    an_outbox_stats o;
    an_outbox_stats_get(b->out, &o);
    out->queued = o.queued;
    out->delivered = o.delivered;
    out->failed = o.failed;
    out->dropped = o.dropped;
}

void an_backend_events_emit(an_backend_events *b, int64_t project_id, const char *action,
                            json_t *payload)
{
    if (!b || !payload || !json_is_object(payload) || !an_backend_events_is_training(action) ||
        project_id <= 0 || !an_outbox_wanted(b->out)) {
        json_decref(payload);
        return;
    }
    event *e = an_xcalloc(1, sizeof *e);
    e->project_id = project_id;
    snprintf(e->action, sizeof e->action, "%s", action);
    e->payload = payload;
    uint64_t n = an_outbox_push(b->out, e);
    if (n && (n & (n - 1)) == 0) /* one line per power of two */
        fprintf(stderr,
                "annot serve: ML backends: the training event queue is full; dropped %s of "
                "project %lld (%llu dropped so far)\n",
                action, (long long)project_id, (unsigned long long)n);
}

static void deliver_event(void *ctx, an_outbox *o, an_store *s, void *p)
{
    (void)ctx;
    event *ev = p;
    an_err e;
    an_err_clear(&e);
    copied c = {0};
    if (an_store_backend_list(s, ev->project_id, copy_backend, &c, &e) < 0) {
        fprintf(stderr, "annot serve: ML backends: cannot list backends: %s\n", e.msg);
        return;
    }
    if (c.n == 0) return;
    json_t *project = an_backend_event_project(s, ev->project_id, &e);
    char *allow = NULL;
    an_err_clear(&e);
    /* The allow-list as it is now: an entry removed since the backend was added stops its
     * events. A setting that cannot be read allows nothing beyond the guard's default. */
    if (an_store_setting_get(s, "outbound.allow", &allow, &e) < 0) allow = NULL;
    json_t *payload = project ? full_payload(s, ev->payload) : NULL;
    for (size_t i = 0; project && i < c.n; i++) {
        const an_backend *b = &c.list[i];
        an_backend_conf conf = {.url = b->url,
                                .timeout_ms = b->timeout_ms < EVENT_TIMEOUT_MS ? b->timeout_ms
                                                                               : EVENT_TIMEOUT_MS,
                                .retries = 0, /* retried below, where stopping can cut in */
                                .trusted = false,
                                .allow_text = allow};
        an_backend_event_result r;
        memset(&r, 0, sizeof r);
        int rc = -1;
        for (int attempt = 0; attempt <= b->retries; attempt++) {
            an_err_clear(&e);
            rc = an_backend_event(&conf, ev->action, project, payload, &r, &e);
            if (rc == 0 || strcmp(e.where, "url") == 0 || strcmp(e.where, "timeout") == 0) break;
            /* Retry what may pass later: no answer, 5xx, 429; other answers are final. */
            if (r.status && r.status < 500 && r.status != 429) break;
            int wait = 1 << (attempt < 3 ? attempt : 3);
            if (attempt == b->retries ||
                !an_outbox_sleep(o, wait < BACKOFF_MAX_SECONDS ? wait : BACKOFF_MAX_SECONDS))
                break;
        }
        an_outbox_tally(o, rc == 0);
        if (rc < 0)
            fprintf(stderr, "annot serve: ML backends: %s to backend %lld (%s%s) failed: %s\n",
                    ev->action, (long long)b->id, b->url, r.path, e.msg);
        if (an_outbox_stopping(o)) break;
    }
    json_decref(payload);
    json_decref(project);
    free(allow);
    copied_free(&c);
}

static int count_active(void *ud, const an_backend *b)
{
    if (b->is_active) (*(int64_t *)ud)++;
    return 0;
}

static int count_backends(void *ctx, an_store *s, bool *wanted, an_err *err)
{
    (void)ctx;
    int64_t n = 0;
    int rc = an_store_backend_list(s, 0, count_active, &n, err);
    if (rc == 0) *wanted = n > 0;
    return rc;
}

static const an_outbox_ops backend_ops = {
    .name = "ML backends",
    .where = "backends",
    .thread = "training event",
    .queue_max = QUEUE_MAX,
    .recount_seconds = RECOUNT_SECONDS,
    .count_at_first_wake = false,
    .count_wanted = count_backends,
    .deliver = deliver_event,
    .free_event = event_free,
};

int an_backend_events_start(const char *location, an_backend_events **out, an_err *err)
{
    *out = NULL;
    an_net_global_init();
    an_backend_events *b = an_xcalloc(1, sizeof *b);
    int rc = an_outbox_start(&backend_ops, b, location, &b->out, err);
    if (rc < 0) {
        free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void an_backend_events_stop(an_backend_events *b)
{
    if (!b) return;
    size_t n = an_outbox_stop(b->out);
    if (n)
        fprintf(stderr,
                "annot serve: ML backends: %zu queued training events dropped at shutdown\n", n);
    an_outbox_free(b->out);
    free(b);
}
