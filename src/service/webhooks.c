/* Webhooks: the action table, field checks and the delivery worker. */
#include "service/webhooks.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "net/client.h"
#include "service/backend_events.h"
#include "service/outbox.h"
#include "store/settings.h"
#include "store/webhooks.h"

enum {
    QUEUE_MAX = 1024,        /* events waiting; more are dropped */
    ATTEMPTS = 3,            /* one try and two retries */
    CONNECT_MS = 2000,
    TOTAL_MS = 5000,
    RECOUNT_SECONDS = 5,     /* how often the worker re-counts active webhooks */
    LAST_MAX = 256,          /* webhooks whose last delivery is remembered */
    HEADERS_MAX = 10,
    HEADER_VALUE_MAX = 1024,
};

/* ---- actions ------------------------------------------------------------------------------- */

/* Label Studio's names, keys and organization-only flags; REVIEW_* are Label Studio
 * Enterprise's. */
static const an_webhook_action actions[] = {
    {"PROJECT_CREATED", "Project created", "project", false, true},
    {"PROJECT_UPDATED", "Project updated", "project", false, false},
    {"PROJECT_DELETED", "Project deleted", "project", false, true},
    {"TASKS_CREATED", "Task created", "tasks", true, false},
    {"TASKS_DELETED", "Task deleted", "tasks", true, false},
    {"ANNOTATION_CREATED", "Annotation created", "annotation", false, false},
    {"ANNOTATIONS_CREATED", "Annotations created", "annotation", true, false},
    {"ANNOTATION_UPDATED", "Annotation updated", "annotation", false, false},
    {"ANNOTATIONS_DELETED", "Annotation deleted", "annotations", true, false},
    {"REVIEW_CREATED", "Review created", "review", false, false},
    {"REVIEW_UPDATED", "Review updated", "review", false, false},
    {"REVIEWS_DELETED", "Review deleted", "reviews", true, false},
};

const an_webhook_action *an_webhook_actions(size_t *n)
{
    *n = sizeof actions / sizeof actions[0];
    return actions;
}

const an_webhook_action *an_webhook_action_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof actions / sizeof actions[0]; i++)
        if (strcmp(actions[i].name, name) == 0) return &actions[i];
    return NULL;
}

/* ---- checks -------------------------------------------------------------------------------- */

int an_outbound_allow_load(an_store *s, an_net_allow **out, an_err *err)
{
    *out = NULL;
    char *text = NULL;
    int rc = an_store_setting_get(s, "outbound.allow", &text, err);
    if (rc == 0 && text && *text) rc = an_net_allow_parse(text, out, err);
    free(text);
    return rc;
}

int an_webhook_check_url(an_store *s, const char *url, an_err *err)
{
    an_url u;
    int rc = an_url_parse(url, &u, err); /* a malformed URL needs no store or resolver */
    if (rc < 0) return rc;
    an_net_allow *allow = NULL;
    rc = an_outbound_allow_load(s, &allow, err);
    if (rc < 0) return rc;
    an_guard_target *t = an_xcalloc(1, sizeof *t);
    rc = an_guard_resolve(url, allow, t, err);
    free(t);
    an_net_allow_free(allow);
    return rc;
}

int an_webhook_check_actions(const json_t *list, bool for_project, an_err *err)
{
    if (!json_is_array(list))
        return an_err_set(err, AN_EINVAL, "actions", "actions is a list of action names");
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) {
        char where[32];
        snprintf(where, sizeof where, "actions[%zu]", i);
        const an_webhook_action *a = an_webhook_action_find(json_string_value(v));
        if (!a)
            return an_err_set(err, AN_EINVAL, where,
                              "unknown action; GET /api/webhooks/info lists the actions");
        if (a->organization_only && for_project)
            return an_err_set(err, AN_EINVAL, where,
                              "%s goes to workspace-wide webhooks only (no project)", a->name);
        for (size_t k = 0; k < i; k++)
            if (json_equal(json_array_get(list, k), v))
                return an_err_set(err, AN_EINVAL, where, "%s is listed twice", a->name);
    }
    return 0;
}

int an_webhook_check_headers(const json_t *headers, an_err *err)
{
    static const char *const reserved[] = {"host", "content-length", "content-type",
                                           "transfer-encoding", "connection", "expect"};
    if (!json_is_object(headers))
        return an_err_set(err, AN_EINVAL, "headers", "headers is an object of name: value");
    if (json_object_size(headers) > HEADERS_MAX)
        return an_err_set(err, AN_EINVAL, "headers", "at most %d headers", HEADERS_MAX);
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)headers, name, v) {
        char where[96];
        snprintf(where, sizeof where, "headers.%.80s", name);
        size_t n = strlen(name);
        if (n == 0 || n > 64)
            return an_err_set(err, AN_EINVAL, where, "a header name has 1 to 64 characters");
        for (size_t i = 0; i < n; i++)
            if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_')
                return an_err_set(err, AN_EINVAL, where,
                                  "a header name has letters, digits, '-' and '_' only");
        for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
            if (strcasecmp(name, reserved[i]) == 0)
                return an_err_set(err, AN_EINVAL, where,
                                  "this header is set by the request itself");
        const char *text = json_string_value(v);
        if (!text) return an_err_set(err, AN_EINVAL, where, "a header value is a string");
        size_t len = strlen(text);
        if (len > HEADER_VALUE_MAX)
            return an_err_set(err, AN_EINVAL, where, "a header value has at most %d bytes",
                              HEADER_VALUE_MAX);
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)text[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return an_err_set(err, AN_EINVAL, where,
                                  "a header value cannot hold control characters");
        }
    }
    return 0;
}

/* ---- one delivery -------------------------------------------------------------------------- */

static void set_last(an_webhook_delivery *d, const char *state, long status, const char *msg)
{
    snprintf(d->state, sizeof d->state, "%s", state);
    d->http_status = status;
    an_now_iso(d->at);
    snprintf(d->message, sizeof d->message, "%s", msg ? msg : "");
}

int an_webhook_deliver(an_store *s, const char *url, const char *headers_json, const char *body,
                       an_webhook_delivery *last, an_err *err)
{
    an_net_allow *allow = NULL;
    int rc = an_outbound_allow_load(s, &allow, err);
    if (rc < 0) {
        set_last(last, "refused", 0, err->msg);
        return rc;
    }
    /* The stored headers were checked when saved; a value that no longer reads is skipped. */
    json_t *hj = headers_json ? json_loads(headers_json, 0, NULL) : NULL;
    const char *lines[HEADERS_MAX];
    char *owned[HEADERS_MAX];
    size_t n = 0;
    const char *name;
    json_t *v;
    if (json_is_object(hj) && an_webhook_check_headers(hj, NULL) == 0) {
        json_object_foreach(hj, name, v) {
            if (n == HEADERS_MAX) break;
            an_buf line = AN_BUF_INIT;
            an_buf_addf(&line, "%s: %s", name, json_string_value(v));
            owned[n] = an_buf_detach(&line);
            lines[n] = owned[n];
            n++;
        }
    }
    json_decref(hj);
    an_net_opts o = {.method = "POST",
                     .url = url,
                     .headers = lines,
                     .n_headers = n,
                     .body = body,
                     .body_len = body ? strlen(body) : 0,
                     .allow = allow,
                     .connect_timeout_ms = CONNECT_MS,
                     .timeout_ms = TOTAL_MS,
                     .discard_body = true};
    an_net_result r;
    rc = an_net_request(&o, &r, err);
    an_buf_free(&r.body);
    for (size_t i = 0; i < n; i++) free(owned[i]);
    an_net_allow_free(allow);
    if (rc < 0) {
        set_last(last, r.refused ? "refused" : "failed", 0, err->msg);
        return rc;
    }
    if (r.status < 200 || r.status > 299) {
        char msg[96];
        snprintf(msg, sizeof msg, "the endpoint answered %ld%s", r.status,
                 r.status >= 300 && r.status < 400 ? " (redirects are not followed)" : "");
        set_last(last, "failed", r.status, msg);
        return an_err_set(err, AN_EIO, "url", "%s", msg);
    }
    set_last(last, "delivered", r.status, NULL);
    return 0;
}

/* ---- the dispatcher ------------------------------------------------------------------------ */

typedef struct event {
    int64_t project_id;
    const an_webhook_action *action;
    json_t *payload;
} event;

typedef struct last_entry {
    int64_t id; /* 0: free */
    uint64_t seq;
    an_webhook_delivery d;
} last_entry;

struct an_webhooks {
    an_outbox *out;  /* the queue and the worker */
    pthread_mutex_t mu; /* guards last */
    atomic_uint_fast64_t refused;
    last_entry last[LAST_MAX];
    uint64_t last_seq;
    an_backend_events *backends; /* training events to ML backends: a queue of their own */
};

static void event_free(void *p)
{
    event *e = p;
    if (!e) return;
    json_decref(e->payload);
    free(e);
}

static void remember(an_webhooks *w, int64_t id, const an_webhook_delivery *d)
{
    pthread_mutex_lock(&w->mu);
    last_entry *slot = NULL, *oldest = &w->last[0];
    for (size_t i = 0; i < LAST_MAX && !slot; i++) {
        if (w->last[i].id == id) slot = &w->last[i];
        if (w->last[i].seq < oldest->seq) oldest = &w->last[i];
    }
    if (!slot) slot = oldest;
    slot->id = id;
    slot->seq = ++w->last_seq;
    slot->d = *d;
    pthread_mutex_unlock(&w->mu);
}

bool an_webhooks_last(an_webhooks *w, int64_t id, an_webhook_delivery *out)
{
    if (!w || id <= 0) return false;
    bool found = false;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < LAST_MAX && !found; i++) {
        if (w->last[i].id == id) {
            *out = w->last[i].d;
            found = true;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return found;
}

void an_webhooks_stats_get(an_webhooks *w, an_webhooks_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!w) return;
    an_outbox_stats o;
    an_outbox_stats_get(w->out, &o);
    out->queued = o.queued;
    out->delivered = o.delivered;
    out->failed = o.failed;
    out->refused = atomic_load(&w->refused);
    out->dropped = o.dropped;
}

bool an_webhooks_wanted(an_webhooks *w)
{
    return w && (an_outbox_wanted(w->out) || an_backend_events_wanted(w->backends));
}

void an_webhooks_changed(an_webhooks *w)
{
    if (!w) return;
    an_outbox_changed(w->out);
    an_backend_events_changed(w->backends);
}

void an_webhooks_emit(an_webhooks *w, int64_t project_id, const char *action,
                      json_t *payload_object)
{
    const an_webhook_action *a = an_webhook_action_find(action);
    bool hooks = w && a && an_outbox_wanted(w->out);
    /* The project's ML backends get the training actions (their own queue and thread). */
    if (w && an_backend_events_is_training(action) && an_backend_events_wanted(w->backends)) {
        if (!hooks) {
            an_backend_events_emit(w->backends, project_id, action, payload_object);
            return;
        }
        an_backend_events_emit(w->backends, project_id, action,
                               payload_object ? json_deep_copy(payload_object) : NULL);
    }
    if (!hooks) {
        json_decref(payload_object);
        return;
    }
    if (payload_object && !json_is_object(payload_object)) {
        json_decref(payload_object);
        payload_object = NULL;
    }
    event *e = an_xcalloc(1, sizeof *e);
    e->project_id = project_id > 0 ? project_id : 0;
    e->action = a;
    e->payload = payload_object ? payload_object : json_object();
    uint64_t n = an_outbox_push(w->out, e);
    /* One line per power of two keeps a flood from flooding the log too. */
    if (n && (n & (n - 1)) == 0)
        fprintf(stderr,
                "annot serve: webhooks: the delivery queue is full; dropped %s of project "
                "%lld (%llu dropped so far)\n",
                a->name, (long long)project_id, (unsigned long long)n);
}

static int keep_id(void *ud, const an_task_brief *t)
{
    *(int64_t *)ud = t->id;
    return 0;
}

int64_t an_webhooks_last_task(an_webhooks *w, an_store *s, int64_t project_id,
                              int64_t task_count)
{
    if (!an_webhooks_wanted(w) || task_count <= 0) return 0;
    int64_t id = 0;
    an_err e;
    an_err_clear(&e);
    if (an_store_task_page(s, project_id, task_count - 1, 1, keep_id, &id, &e) < 0) return 0;
    return id;
}

enum { TASKS_IN_EVENT = 1000 };

static int add_task(void *ud, const an_task_brief *t)
{
    json_array_append_new(ud, json_pack("{s:I,s:s}", "id", (json_int_t)t->id, "created_at",
                                        t->created_at ? t->created_at : ""));
    return 0;
}

json_t *an_webhooks_tasks_since(an_webhooks *w, an_store *s, int64_t project_id,
                                int64_t after_id)
{
    if (!an_webhooks_wanted(w)) return NULL;
    json_t *list = json_array();
    an_err e;
    an_err_clear(&e);
    /* One more than fits tells whether the list was cut. */
    if (an_store_task_after(s, project_id, after_id, TASKS_IN_EVENT + 1, add_task, list, &e) < 0 ||
        json_array_size(list) == 0) {
        json_decref(list);
        return NULL;
    }
    bool cut = json_array_size(list) > TASKS_IN_EVENT;
    if (cut) json_array_remove(list, TASKS_IN_EVENT);
    json_t *payload = json_pack("{s:o}", "tasks", list);
    if (cut) json_object_set_new(payload, "tasks_truncated", json_true());
    return payload;
}

/* Label Studio's project object in payloads. */
static json_t *project_object(an_store *s, int64_t id)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)id);
    an_project p = {0};
    an_err e;
    an_err_clear(&e);
    json_t *j = NULL;
    if (an_store_project_get(s, text, &p, &e) == 0 && p.id == id)
        j = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I}", "id", (json_int_t)p.id, "title", p.name,
                      "created_at", p.created_at ? p.created_at : "", "task_number",
                      (json_int_t)p.task_count, "total_annotations_number",
                      (json_int_t)p.annotation_count, "total_predictions_number",
                      (json_int_t)p.prediction_count);
    else
        j = json_pack("{s:I}", "id", (json_int_t)id);
    an_project_clear(&p);
    return j;
}

/* The webhooks one event goes to, copied out of the store's row callback. */
typedef struct targets {
    const an_webhook_action *action;
    an_webhook *hooks;
    size_t n;
} targets;

static bool action_listed(const char *list_json, const char *name)
{
    json_t *list = list_json ? json_loads(list_json, 0, NULL) : NULL;
    bool found = false;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *t = json_string_value(v);
        if (t && strcmp(t, name) == 0) found = true;
    }
    json_decref(list);
    return found;
}

static int add_target(void *ud, const an_webhook *h)
{
    targets *t = ud;
    if (t->action->organization_only && h->project_id) return 0;
    if (!h->send_for_all_actions && !action_listed(h->actions, t->action->name)) return 0;
    t->hooks = an_xrealloc(t->hooks, (t->n + 1) * sizeof *t->hooks);
    an_webhook *c = &t->hooks[t->n++];
    memset(c, 0, sizeof *c);
    c->id = h->id;
    c->project_id = h->project_id;
    c->url = an_xstrdup(h->url);
    c->headers = an_xstrdup(h->headers ? h->headers : "{}");
    c->send_payload = h->send_payload;
    return 0;
}

static void deliver_event(void *ctx, an_outbox *o, an_store *s, void *p)
{
    an_webhooks *w = ctx;
    event *ev = p;
    an_err e;
    an_err_clear(&e);
    targets t = {.action = ev->action};
    if (an_store_webhook_list(s, AN_WEBHOOKS_DELIVERY, ev->project_id, add_target, &t, &e) < 0) {
        fprintf(stderr, "annot serve: webhooks: cannot list webhooks: %s\n", e.msg);
        return;
    }
    char *full = NULL, *bare = NULL;
    if (t.n) {
        json_t *body = json_pack("{s:s}", "action", ev->action->name);
        bare = an_json_text(body);
        const char *k;
        json_t *v;
        json_object_foreach(ev->payload, k, v) {
            if (strcmp(k, "action") != 0) json_object_set(body, k, v);
        }
        if (ev->project_id && !json_object_get(body, "project"))
            json_object_set_new(body, "project", project_object(s, ev->project_id));
        full = an_json_text(body);
        json_decref(body);
    }
    for (size_t i = 0; i < t.n; i++) {
        an_webhook *h = &t.hooks[i];
        an_webhook_delivery d = {0};
        snprintf(d.action, sizeof d.action, "%s", ev->action->name);
        int rc = -1;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            d.attempts = attempt;
            an_err_clear(&e);
            rc = an_webhook_deliver(s, h->url, h->headers, h->send_payload ? full : bare, &d, &e);
            if (rc == 0 || strcmp(d.state, "refused") == 0) break;
            /* Retry what may pass later: no answer, 5xx, 429; other answers are final. */
            if (d.http_status && d.http_status < 500 && d.http_status != 429) break;
            if (attempt == ATTEMPTS || !an_outbox_sleep(o, 1 << (attempt - 1))) break;
        }
        if (rc == 0) {
            an_outbox_tally(o, true);
        } else if (strcmp(d.state, "refused") == 0) {
            atomic_fetch_add(&w->refused, 1);
            fprintf(stderr, "annot serve: webhooks: webhook %lld refused: %s\n",
                    (long long)h->id, d.message);
        } else {
            an_outbox_tally(o, false);
            fprintf(stderr, "annot serve: webhooks: webhook %lld failed after %d attempts: %s\n",
                    (long long)h->id, d.attempts, d.message);
        }
        remember(w, h->id, &d);
        an_webhook_clear(h);
        if (an_outbox_stopping(o)) {
            for (size_t k = i + 1; k < t.n; k++) an_webhook_clear(&t.hooks[k]);
            break;
        }
    }
    free(t.hooks);
    free(full);
    free(bare);
}

static int count_hooks(void *ctx, an_store *s, bool *wanted, an_err *err)
{
    (void)ctx;
    int64_t n = 0;
    int rc = an_store_webhook_active_count(s, &n, err);
    if (rc == 0) *wanted = n > 0;
    return rc;
}

static const an_outbox_ops hook_ops = {
    .name = "webhooks",
    .where = "webhooks",
    .thread = "delivery",
    .queue_max = QUEUE_MAX,
    .recount_seconds = RECOUNT_SECONDS,
    .count_at_first_wake = true,
    .count_wanted = count_hooks,
    .deliver = deliver_event,
    .free_event = event_free,
};

int an_webhooks_start(const char *location, an_webhooks **out, an_err *err)
{
    *out = NULL;
    an_net_global_init();
    an_webhooks *w = an_xcalloc(1, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    atomic_init(&w->refused, 0);
    int rc = an_outbox_start(&hook_ops, w, location, &w->out, err);
    if (rc == 0) rc = an_backend_events_start(location, &w->backends, err);
    if (rc < 0) {
        an_webhooks_stop(w);
        return rc;
    }
    *out = w;
    return 0;
}

void an_webhooks_stop(an_webhooks *w)
{
    if (!w) return;
    size_t n = an_outbox_stop(w->out);
    an_backend_events_stop(w->backends);
    if (n) fprintf(stderr, "annot serve: webhooks: %zu queued events dropped at shutdown\n", n);
    an_outbox_free(w->out);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
