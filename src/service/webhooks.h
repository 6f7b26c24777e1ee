/* Webhooks, as Label Studio has them: on an event (a project changed, tasks imported, an
 * annotation submitted…) each matching active webhook gets one POST of
 * {"action": NAME, "project": {…}, <the event's objects>} (only {"action": NAME} when its
 * send_payload is false).
 *
 * Deliveries never hold up a request: an_webhooks_emit puts the event on a bounded queue
 * and returns; one worker thread, with its own store handle, finds the webhooks, checks each
 * URL with the guard again at delivery time (an allow-list entry removed since the webhook
 * was saved stops its deliveries) and POSTs with short timeouts and a few retries with
 * backoff. When the queue is full the event is dropped, counted and logged.
 *
 * ANNOTATION_CREATED and ANNOTATION_UPDATED also go to the project's active ML backends as
 * training events (service/backend_events.h), through a queue and thread of their own that
 * the dispatcher starts and stops with itself.
 *
 * The dispatcher keeps, in memory, each webhook's last delivery (an_webhooks_last) and
 * counters (an_webhooks_stats): they start empty with every process. */
#ifndef AN_SERVICE_WEBHOOKS_H
#define AN_SERVICE_WEBHOOKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "net/guard.h"
#include "store/store.h"

/* ---- actions ------------------------------------------------------------------------------- */

/* One event kind. key is the payload member that carries the event's object(s);
 * organization_only actions go to workspace-wide webhooks only (Label Studio's rule). */
typedef struct an_webhook_action {
    const char *name;  /* "PROJECT_UPDATED" */
    const char *title; /* "Project updated" */
    const char *key;   /* "project", "tasks", "annotation", … */
    bool many;         /* key holds a list */
    bool organization_only;
} an_webhook_action;

/* The actions, in Label Studio's order; *n is their number. */
const an_webhook_action *an_webhook_actions(size_t *n);
/* The action named name, or NULL. */
const an_webhook_action *an_webhook_action_find(const char *name);

/* ---- checking a webhook's fields ----------------------------------------------------------- */

/* The workspace's outbound allow-list (setting outbound.allow), parsed; *out is NULL when the
 * setting is absent or empty. A stored value that no longer parses is an error (AN_EINVAL):
 * nothing is allowed then. Free with an_net_allow_free. */
int an_outbound_allow_load(an_store *s, an_net_allow **out, an_err *err);

/* Whether url may receive webhooks now: parsed, resolved and every address checked against
 * the workspace's allow-list (net/guard.h). AN_EINVAL with where "url" and the reason. */
int an_webhook_check_url(an_store *s, const char *url, an_err *err);

/* actions: a JSON array of known action names, without duplicates; for a project's webhook,
 * none of them organization_only. AN_EINVAL with where "actions" (or "actions[i]"). */
int an_webhook_check_actions(const json_t *actions, bool for_project, an_err *err);

/* headers: a JSON object of at most 10 headers, names of letters, digits, '-' and '_' that
 * are not Host, Content-Length, Content-Type, Transfer-Encoding or Connection, values strings
 * of at most 1024 printable bytes. AN_EINVAL with where "headers" (or "headers.NAME"). */
int an_webhook_check_headers(const json_t *headers, an_err *err);

/* ---- the dispatcher ------------------------------------------------------------------------ */

typedef struct an_webhooks an_webhooks;

/* Starts the worker, which opens its own handle on the workspace at location. */
int an_webhooks_start(const char *location, an_webhooks **out, an_err *err);

/* Stops the worker: a delivery under way finishes (its retries do not), events still queued
 * are dropped (and counted). NULL: nothing. */
void an_webhooks_stop(an_webhooks *w);

/* Queues an event of project_id (0 for workspace events) for the webhooks that want it.
 * action is one of an_webhook_actions' names. payload_object holds the event's members
 * ({"tasks": […]}, {"annotation": {…}, "task": {…}}, …) and is TAKEN: the dispatcher owns
 * it from the call on (like Jansson's *_new functions), so build it fresh (json_deep_copy
 * what the request still uses) and do not decref it; NULL is an empty object. A "project"
 * member is filled in from the store when the payload lacks one. Never blocks on the
 * network or the store: drops the event (counted, logged) when the queue is full, and drops
 * it at once when the workspace has no active webhook. w NULL: the payload is freed.
 * Thread-safe. */
void an_webhooks_emit(an_webhooks *w, int64_t project_id, const char *action,
                      json_t *payload_object);

/* Whether any webhook or ML backend is active (as of the last change through this process,
 * or the workers' check every few seconds): callers may skip building a costly payload when
 * not. Thread-safe. */
bool an_webhooks_wanted(an_webhooks *w);

/* Tells the dispatcher webhooks or ML backends were added, changed or deleted
 * (an_webhooks_wanted is refreshed at once). Thread-safe. */
void an_webhooks_changed(an_webhooks *w);

/* For TASKS_CREATED after an import: the id of project_id's last task before it (0: none),
 * taken while the dispatcher has webhooks (an_webhooks_wanted; else 0 at no cost)… */
int64_t an_webhooks_last_task(an_webhooks *w, an_store *s, int64_t project_id,
                              int64_t task_count);
/* …and the tasks added after it as the event's payload: {"tasks": [{"id", "created_at"}…]}
 * (at most 1000, then "tasks_truncated": true), which the caller passes to an_webhooks_emit.
 * NULL when there are no webhooks or no new tasks. */
json_t *an_webhooks_tasks_since(an_webhooks *w, an_store *s, int64_t project_id,
                                int64_t after_id);

/* A webhook's last delivery, kept in memory. */
typedef struct an_webhook_delivery {
    char state[12];  /* "delivered", "failed" (no 2xx after retries) or "refused" (guard) */
    long http_status; /* 0 when no response arrived */
    int attempts;
    char action[32];
    char at[32];      /* ISO time of the last attempt */
    char message[256];
} an_webhook_delivery;

/* Fills out with webhook id's last delivery; false when none is known. Thread-safe. */
bool an_webhooks_last(an_webhooks *w, int64_t id, an_webhook_delivery *out);

typedef struct an_webhooks_stats {
    uint64_t queued, delivered, failed, refused, dropped;
} an_webhooks_stats;
/* The counters since start. Thread-safe. */
void an_webhooks_stats_get(an_webhooks *w, an_webhooks_stats *out);

/* Delivers one event to one webhook now, on the calling thread, with s for the allow-list:
 * what the worker does for each webhook (tests and a CLI could call it). Returns 0 when the
 * endpoint answered 2xx; fills last. body is the request body. */
int an_webhook_deliver(an_store *s, const char *url, const char *headers_json, const char *body,
                       an_webhook_delivery *last, an_err *err);

#endif
