/* Training events to ML backends: the payload pieces, sending now, and the background
 * sender. See backend_events.h. */
#include "service/backend_events.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/json.h"
#include "net/client.h"
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
    char *location;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    bool recount;
    event *queue[QUEUE_MAX];
    size_t head, count;
    atomic_bool wanted;
    atomic_uint_fast64_t queued, delivered, failed, dropped;
};

static void event_free(event *e)
{
    if (!e) return;
    json_decref(e->payload);
    free(e);
}

bool an_backend_events_wanted(an_backend_events *b)
{
    return b && atomic_load(&b->wanted);
}

void an_backend_events_changed(an_backend_events *b)
{
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    b->recount = true;
    /* Until the worker has counted, assume there is one: an event must not be lost to a
     * stale "none". */
    atomic_store(&b->wanted, true);
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

void an_backend_events_stats_get(an_backend_events *b, an_backend_events_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!b) return;
    out->queued = atomic_load(&b->queued);
    out->delivered = atomic_load(&b->delivered);
    out->failed = atomic_load(&b->failed);
    out->dropped = atomic_load(&b->dropped);
}

void an_backend_events_emit(an_backend_events *b, int64_t project_id, const char *action,
                            json_t *payload)
{
    if (!b || !payload || !json_is_object(payload) || !an_backend_events_is_training(action) ||
        project_id <= 0 || !atomic_load(&b->wanted)) {
        json_decref(payload);
        return;
    }
    event *e = an_xcalloc(1, sizeof *e);
    e->project_id = project_id;
    snprintf(e->action, sizeof e->action, "%s", action);
    e->payload = payload;
    pthread_mutex_lock(&b->mu);
    bool full = b->count == QUEUE_MAX || b->stopping;
    if (!full) {
        b->queue[(b->head + b->count) % QUEUE_MAX] = e;
        b->count++;
        pthread_cond_signal(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
    if (full) {
        uint64_t n = atomic_fetch_add(&b->dropped, 1) + 1;
        if ((n & (n - 1)) == 0) /* one line per power of two */
            fprintf(stderr,
                    "annot serve: ML backends: the training event queue is full; dropped %s of "
                    "project %lld (%llu dropped so far)\n",
                    action, (long long)project_id, (unsigned long long)n);
        event_free(e);
        return;
    }
    atomic_fetch_add(&b->queued, 1);
}

/* Sleeps up to seconds unless the sender stops; false when it is stopping. */
static bool backoff(an_backend_events *b, int seconds)
{
    struct timespec until = an_deadline_ms(seconds * 1000L);
    pthread_mutex_lock(&b->mu);
    while (!b->stopping) {
        if (pthread_cond_timedwait(&b->cv, &b->mu, &until) != 0) break;
    }
    bool go_on = !b->stopping;
    pthread_mutex_unlock(&b->mu);
    return go_on;
}

static void deliver_event(an_backend_events *w, an_store *s, event *ev)
{
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
                !backoff(w, wait < BACKOFF_MAX_SECONDS ? wait : BACKOFF_MAX_SECONDS))
                break;
        }
        if (rc == 0) {
            atomic_fetch_add(&w->delivered, 1);
        } else {
            atomic_fetch_add(&w->failed, 1);
            fprintf(stderr, "annot serve: ML backends: %s to backend %lld (%s%s) failed: %s\n",
                    ev->action, (long long)b->id, b->url, r.path, e.msg);
        }
        pthread_mutex_lock(&w->mu);
        bool stop = w->stopping;
        pthread_mutex_unlock(&w->mu);
        if (stop) break;
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

static void recount(an_backend_events *w, an_store *s)
{
    int64_t n = 0;
    an_err e;
    an_err_clear(&e);
    if (an_store_backend_list(s, 0, count_active, &n, &e) == 0) atomic_store(&w->wanted, n > 0);
}

static void *worker(void *arg)
{
    an_backend_events *w = arg;
    an_store *s = NULL;
    an_err e;
    an_err_clear(&e);
    double counted_at = an_monotonic();
    for (;;) {
        pthread_mutex_lock(&w->mu);
        if (!w->stopping && w->count == 0 && !w->recount) {
            struct timespec until = an_deadline_ms(RECOUNT_SECONDS * 1000L);
            pthread_cond_timedwait(&w->cv, &w->mu, &until);
        }
        if (w->stopping) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        event *ev = NULL;
        if (w->count) {
            ev = w->queue[w->head];
            w->head = (w->head + 1) % QUEUE_MAX;
            w->count--;
        }
        bool want_count = w->recount;
        w->recount = false;
        pthread_mutex_unlock(&w->mu);
        /* Deliveries read a few rows: a small page cache keeps the server small. */
        if (!s && (an_store_open(w->location, &s, &e) < 0 ||
                   an_store_set_cache_kib(s, 1024, &e) < 0)) {
            an_store_close(s);
            fprintf(stderr, "annot serve: ML backends: cannot open the workspace: %s\n", e.msg);
            s = NULL;
            if (ev) atomic_fetch_add(&w->dropped, 1);
            event_free(ev);
            backoff(w, 1);
            continue;
        }
        double now = an_monotonic();
        if (want_count || now - counted_at >= RECOUNT_SECONDS) {
            recount(w, s);
            counted_at = now;
        }
        if (ev) deliver_event(w, s, ev);
        event_free(ev);
    }
    an_store_close(s);
    return NULL;
}

int an_backend_events_start(const char *location, an_backend_events **out, an_err *err)
{
    *out = NULL;
    an_net_global_init();
    an_store *s = NULL;
    int rc = an_store_open(location, &s, err);
    if (rc < 0) return rc;
    int64_t n = 0;
    rc = an_store_backend_list(s, 0, count_active, &n, err);
    an_store_close(s);
    if (rc < 0) return rc;
    an_backend_events *w = an_xcalloc(1, sizeof *w);
    w->location = an_xstrdup(location);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    atomic_init(&w->wanted, n > 0);
    atomic_init(&w->queued, 0);
    atomic_init(&w->delivered, 0);
    atomic_init(&w->failed, 0);
    atomic_init(&w->dropped, 0);
    if (pthread_create(&w->thread, NULL, worker, w) != 0) {
        an_backend_events_stop(w);
        return an_err_set(err, AN_EINTERNAL, "backends", "cannot start the training event thread");
    }
    w->started = true;
    *out = w;
    return 0;
}

void an_backend_events_stop(an_backend_events *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->started) pthread_join(w->thread, NULL);
    if (w->count) {
        atomic_fetch_add(&w->dropped, w->count);
        fprintf(stderr,
                "annot serve: ML backends: %zu queued training events dropped at "
                "shutdown\n",
                w->count);
    }
    while (w->count) {
        event_free(w->queue[w->head]);
        w->head = (w->head + 1) % QUEUE_MAX;
        w->count--;
    }
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->location);
    free(w);
}
