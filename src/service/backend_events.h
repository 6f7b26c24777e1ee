/* Training events to a project's ML backends, as Label Studio sends them: when an annotation
 * is created or updated, each active ML backend of its project (store/backends.h) gets
 * {"action": "ANNOTATION_CREATED" | "ANNOTATION_UPDATED", "project": {…, "label_config"},
 * "annotation": {…}, "task": {"id", "data", …}} on its /webhook, or on /train when an older
 * backend answers 404 there (preanno/backend_client.h, an_backend_event).
 *
 * Events never hold up a request: the webhook dispatcher (service/webhooks.h) hands the
 * training actions it is given to an_backend_events_emit, which puts them on a bounded queue
 * of their own and returns; one worker thread, with its own store handle, lists the
 * project's active backends, fills in the project (with its labeling config) and the task's
 * data, and POSTs to each with the backend's retries and at most a few seconds per request
 * (a backend that trains before answering keeps training after the answer is given up). A
 * queue of its own keeps a slow backend from delaying webhooks. Every URL goes through the
 * outbound guard with the workspace's allow-list read at delivery time, as backends added
 * through the API are checked: the database may have been written by anyone with API access.
 *
 * Thread safety: an_backend_events_* may be called from any thread. */
#ifndef AN_SERVICE_BACKEND_EVENTS_H
#define AN_SERVICE_BACKEND_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "preanno/backend_client.h"
#include "store/backends.h"
#include "store/store.h"

/* Whether action is one that ML backends are told of by the dispatcher (ANNOTATION_CREATED,
 * ANNOTATION_UPDATED). START_TRAINING is sent on request only (an_backend_events_send). */
bool an_backend_events_is_training(const char *action);

/* Label Studio's project object for training events (new reference): id, title,
 * label_config, created_at and the counts. AN_ENOTFOUND when there is no such project. */
json_t *an_backend_event_project(an_store *s, int64_t project_id, an_err *err);

/* The task object of an event (new reference): {"id", "data", "meta", "created_at",
 * "updated_at", "project"}, or {"id"} alone when the task cannot be read (it was deleted). */
json_t *an_backend_event_task(an_store *s, int64_t task_id);

/* One backend's outcome, for an_backend_events_send's callback. */
typedef struct an_backend_event_outcome {
    const an_backend *backend;
    int rc; /* 0 when it answered 2xx */
    an_backend_event_result result;
    an_err err; /* when rc < 0 */
} an_backend_event_outcome;
typedef void (*an_backend_event_outcome_cb)(void *ud, const an_backend_event_outcome *o);

/* Sends action with payload (may be NULL; not taken) now, on this thread, to backend_id (it
 * must belong to project_id, active or not) or, when backend_id is 0, to every active
 * backend of project_id, calling cb (may be NULL) after each. trusted: every address may be
 * reached (the CLI); else the workspace's allow-list decides. *sent (may be NULL) is the
 * number of backends that answered 2xx. Returns 0 when the backends could be listed
 * (failures of single backends go to cb); AN_ENOTFOUND when project_id has no backend_id or
 * no active backend at all. */
int an_backend_events_send(an_store *s, int64_t project_id, int64_t backend_id, const char *action,
                           const json_t *payload, bool trusted, an_backend_event_outcome_cb cb,
                           void *ud, int *sent, an_err *err);

/* ---- the background sender ----------------------------------------------------------------- */

typedef struct an_backend_events an_backend_events;

/* Starts the worker, which opens its own handle on the workspace at location. */
int an_backend_events_start(const char *location, an_backend_events **out, an_err *err);

/* Stops the worker: a request under way finishes (its retries do not), queued events are
 * dropped (counted). NULL: nothing. */
void an_backend_events_stop(an_backend_events *b);

/* Whether any ML backend is active (as of the worker's check every few seconds, or at once
 * after an_backend_events_changed). */
bool an_backend_events_wanted(an_backend_events *b);

/* Tells the sender backends were added, changed or removed. */
void an_backend_events_changed(an_backend_events *b);

/* Queues action (an_backend_events_is_training) of project_id for its active backends.
 * payload holds "annotation" and "task" (at least its "id") and is TAKEN (NULL: nothing to
 * send, dropped). Never blocks on the network or the store; drops the event (counted,
 * logged) when the queue is full or no backend is active. b NULL: payload freed. */
void an_backend_events_emit(an_backend_events *b, int64_t project_id, const char *action,
                            json_t *payload);

typedef struct an_backend_events_stats {
    uint64_t queued, delivered, failed, dropped;
} an_backend_events_stats;
/* The counters since start (delivered and failed count backends, not events). */
void an_backend_events_stats_get(an_backend_events *b, an_backend_events_stats *out);

#endif
