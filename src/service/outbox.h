/* An outbox: events from request threads delivered in the background by one worker thread.
 *
 * The webhook dispatcher (service/webhooks.h) and the ML backends' training events
 * (service/backend_events.h) work the same way: a request puts an event on a bounded queue
 * and returns at once; one worker thread, with its own store handle, takes the events in
 * order and delivers each to whatever targets the store lists then. This module is that
 * machinery; what an event is, where it goes and how it is retried are the user's callbacks.
 *
 * - The queue holds ops.queue_max events; more (and any after an_outbox_stop began) are
 *   dropped and counted.
 * - The worker opens its store handle lazily (small page cache: it reads a few rows per
 *   event) and keeps it. When the workspace cannot be opened it logs, drops the event it
 *   took (counted), waits a second and tries again with the next one.
 * - "Wanted" says whether any target is active, so that request threads can skip building
 *   events nobody receives. It is counted at start, every ops.recount_seconds by the worker,
 *   and at once after an_outbox_changed (which sets it until the count is in, so that no
 *   event is lost to a stale "none").
 * - Stopping lets a delivery under way finish (its waits between retries are cut short:
 *   an_outbox_sleep) and drops what is still queued.
 *
 * Thread safety: every function may be called from any thread, except that an_outbox_free
 * ends the object's life. The callbacks run on the worker thread (count_wanted also on the
 * starting thread, before the worker exists). */
#ifndef AN_SERVICE_OUTBOX_H
#define AN_SERVICE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

typedef struct an_outbox an_outbox;

typedef struct an_outbox_ops {
    const char *name;   /* who speaks in log lines: "webhooks" gives "annot serve: webhooks: …" */
    const char *where;  /* an_err where of start failures: "webhooks" */
    const char *thread; /* what the thread does, for start failures: "delivery" */
    size_t queue_max;   /* events waiting at most (> 0) */
    int recount_seconds; /* how often the worker counts active targets again (> 0) */
    /* Whether the worker counts at its first wake-up (the first event, an_outbox_changed or
     * recount_seconds after start) rather than recount_seconds after start. */
    bool count_at_first_wake;
    /* Sets *wanted to whether any target is active now. On failure (< 0) wanted stays as it
     * was (at start: an_outbox_start fails with err). s is the caller's handle at start, the
     * worker's own after. */
    int (*count_wanted)(void *ctx, an_store *s, bool *wanted, an_err *err);
    /* Delivers event to its targets with the worker's handle s. It counts each target with
     * an_outbox_tally, logs its own failures, waits between retries with an_outbox_sleep and
     * may give up early when an_outbox_stopping. The event stays the outbox's. */
    void (*deliver)(void *ctx, an_outbox *o, an_store *s, void *event);
    /* Frees an event (after delivery, or when it is dropped). */
    void (*free_event)(void *event);
} an_outbox_ops;

/* Counts the targets active in the workspace at location (ops->count_wanted, on this thread)
 * and starts the worker. ops is copied; its strings and ctx must outlive the outbox. Fails
 * when the workspace cannot be opened or counted, or the thread cannot start. */
int an_outbox_start(const an_outbox_ops *ops, void *ctx, const char *location, an_outbox **out,
                    an_err *err);

/* Queues event (TAKEN; not NULL). Returns 0 when it was queued (counted in queued); otherwise the
 * event was dropped because the queue is full or the outbox is stopping: it is freed, counted, and
 * the number dropped so far is returned (callers log when that is a power of two, so that a
 * flood does not flood the log too). */
uint64_t an_outbox_push(an_outbox *o, void *event);

/* Whether any target is active (see above). NULL: false. */
bool an_outbox_wanted(an_outbox *o);

/* Tells the outbox targets were added, changed or removed: wanted is true until the worker
 * has counted again, which it does at once. NULL: nothing. */
void an_outbox_changed(an_outbox *o);

/* For deliver: counts one target as delivered (ok) or failed. */
void an_outbox_tally(an_outbox *o, bool ok);

/* For deliver: waits up to seconds unless the outbox is stopping; false when it is. */
bool an_outbox_sleep(an_outbox *o, int seconds);

/* Whether an_outbox_stop has begun. */
bool an_outbox_stopping(an_outbox *o);

typedef struct an_outbox_stats {
    uint64_t queued, delivered, failed, dropped;
} an_outbox_stats;
/* The counters since start (delivered and failed count targets, the others events). NULL:
 * zeros. */
void an_outbox_stats_get(an_outbox *o, an_outbox_stats *out);

/* Stops the worker and waits for it: a delivery under way finishes. Events still queued are
 * dropped (freed and counted); returns their number, for the caller to log. Later pushes are
 * dropped. A second call returns 0. The owner calls it, from one thread (not from a
 * callback). NULL: 0. */
size_t an_outbox_stop(an_outbox *o);

/* Stops (an_outbox_stop, when not done yet) and frees the outbox. NULL: nothing. */
void an_outbox_free(an_outbox *o);

#endif
