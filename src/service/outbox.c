/* The outbox: a bounded queue, one worker thread with its own store handle, the count of
 * active targets and the counters. See outbox.h. */
#include "service/outbox.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"

enum {
    CACHE_KIB = 1024, /* deliveries read a few rows: a small page cache keeps the server small */
    OPEN_BACKOFF_SECONDS = 1,
};

struct an_outbox {
    an_outbox_ops ops;
    void *ctx;
    char *location;
    pthread_t thread;
    bool started; /* the thread runs and has not been joined */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    bool recount; /* an_outbox_changed asked for a count */
    void **queue; /* ops.queue_max slots, a ring */
    size_t head, count;
    atomic_bool wanted;
    atomic_uint_fast64_t queued, delivered, failed, dropped;
};

bool an_outbox_wanted(an_outbox *o)
{
    return o && atomic_load(&o->wanted);
}

void an_outbox_changed(an_outbox *o)
{
    if (!o) return;
    pthread_mutex_lock(&o->mu);
    o->recount = true;
    /* Until the worker has counted, assume there is one: an event must not be lost to a stale
     * "none". */
    atomic_store(&o->wanted, true);
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

void an_outbox_tally(an_outbox *o, bool ok)
{
    atomic_fetch_add(ok ? &o->delivered : &o->failed, 1);
}

bool an_outbox_sleep(an_outbox *o, int seconds)
{
    struct timespec until = an_deadline_ms(seconds * 1000L);
    pthread_mutex_lock(&o->mu);
    /* Pushes signal the same condition: only the deadline or stopping ends the wait. */
    while (!o->stopping) {
        if (pthread_cond_timedwait(&o->cv, &o->mu, &until) != 0) break;
    }
    bool go_on = !o->stopping;
    pthread_mutex_unlock(&o->mu);
    return go_on;
}

bool an_outbox_stopping(an_outbox *o)
{
    pthread_mutex_lock(&o->mu);
    bool stop = o->stopping;
    pthread_mutex_unlock(&o->mu);
    return stop;
}

void an_outbox_stats_get(an_outbox *o, an_outbox_stats *out)
{
    *out = (an_outbox_stats){0};
    if (!o) return;
    out->queued = atomic_load(&o->queued);
    out->delivered = atomic_load(&o->delivered);
    out->failed = atomic_load(&o->failed);
    out->dropped = atomic_load(&o->dropped);
}

uint64_t an_outbox_push(an_outbox *o, void *event)
{
    pthread_mutex_lock(&o->mu);
    bool full = o->count == o->ops.queue_max || o->stopping;
    if (!full) {
        o->queue[(o->head + o->count) % o->ops.queue_max] = event;
        o->count++;
        pthread_cond_signal(&o->cv);
    }
    pthread_mutex_unlock(&o->mu);
    if (full) {
        o->ops.free_event(event);
        return atomic_fetch_add(&o->dropped, 1) + 1;
    }
    atomic_fetch_add(&o->queued, 1);
    return 0;
}

/* The next queued event or NULL; o->mu held. */
static void *take(an_outbox *o)
{
    if (!o->count) return NULL;
    void *ev = o->queue[o->head];
    o->head = (o->head + 1) % o->ops.queue_max;
    o->count--;
    return ev;
}

static void recount(an_outbox *o, an_store *s)
{
    bool wanted = false;
    an_err e;
    an_err_clear(&e);
    if (o->ops.count_wanted(o->ctx, s, &wanted, &e) == 0) atomic_store(&o->wanted, wanted);
}

static void *worker(void *arg)
{
    an_outbox *o = arg;
    char name[16]; /* what top -H and perf show: "annot-webhooks" */
    snprintf(name, sizeof name, "annot-%s", o->ops.where);
    pthread_setname_np(pthread_self(), name);
    an_store *s = NULL;
    an_err e;
    an_err_clear(&e);
    bool first = o->ops.count_at_first_wake;
    double counted_at = an_monotonic();
    for (;;) {
        pthread_mutex_lock(&o->mu);
        if (!o->stopping && o->count == 0 && !o->recount) {
            struct timespec until = an_deadline_ms(o->ops.recount_seconds * 1000L);
            pthread_cond_timedwait(&o->cv, &o->mu, &until);
        }
        if (o->stopping) {
            pthread_mutex_unlock(&o->mu);
            break;
        }
        void *ev = take(o);
        bool want_count = o->recount;
        o->recount = false;
        pthread_mutex_unlock(&o->mu);
        if (!s && (an_store_open(o->location, &s, &e) < 0 ||
                   an_store_set_cache_kib(s, CACHE_KIB, &e) < 0)) {
            an_store_close(s);
            fprintf(stderr, "annot serve: %s: cannot open the workspace: %s\n", o->ops.name, e.msg);
            s = NULL;
            if (ev) {
                atomic_fetch_add(&o->dropped, 1);
                o->ops.free_event(ev);
            }
            an_outbox_sleep(o, OPEN_BACKOFF_SECONDS);
            continue;
        }
        double now = an_monotonic();
        if (want_count || first || now - counted_at >= o->ops.recount_seconds) {
            recount(o, s);
            counted_at = now;
            first = false;
        }
        if (ev) {
            o->ops.deliver(o->ctx, o, s, ev);
            o->ops.free_event(ev);
        }
    }
    an_store_close(s);
    return NULL;
}

int an_outbox_start(const an_outbox_ops *ops, void *ctx, const char *location, an_outbox **out,
                    an_err *err)
{
    *out = NULL;
    if (!ops->queue_max || ops->recount_seconds <= 0 || !ops->count_wanted || !ops->deliver ||
        !ops->free_event)
        return an_err_set(err, AN_EINTERNAL, ops->where,
                          "an outbox needs a queue, a recount interval and its three callbacks");
    an_store *s = NULL;
    int rc = an_store_open(location, &s, err);
    if (rc < 0) return rc;
    bool wanted = false;
    rc = ops->count_wanted(ctx, s, &wanted, err);
    an_store_close(s);
    if (rc < 0) return rc;
    an_outbox *o = an_xcalloc(1, sizeof *o);
    o->ops = *ops;
    o->ctx = ctx;
    o->location = an_xstrdup(location);
    o->queue = an_xcalloc(ops->queue_max, sizeof *o->queue);
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    atomic_init(&o->wanted, wanted);
    atomic_init(&o->queued, 0);
    atomic_init(&o->delivered, 0);
    atomic_init(&o->failed, 0);
    atomic_init(&o->dropped, 0);
    if (pthread_create(&o->thread, NULL, worker, o) != 0) {
        an_outbox_free(o);
        return an_err_set(err, AN_EINTERNAL, ops->where, "cannot start the %s thread", ops->thread);
    }
    o->started = true;
    *out = o;
    return 0;
}

size_t an_outbox_stop(an_outbox *o)
{
    if (!o) return 0;
    pthread_mutex_lock(&o->mu);
    o->stopping = true;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    if (o->started) pthread_join(o->thread, NULL);
    o->started = false;
    pthread_mutex_lock(&o->mu);
    size_t n = o->count;
    for (void *ev; (ev = take(o));)
        o->ops.free_event(ev);
    pthread_mutex_unlock(&o->mu);
    atomic_fetch_add(&o->dropped, n);
    return n;
}

void an_outbox_free(an_outbox *o)
{
    if (!o) return;
    an_outbox_stop(o);
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
    free(o->queue);
    free(o->location);
    free(o);
}
