/* The server's checkpoints, off the request path. Request handles commit without
 * checkpointing (an_store_set_autocheckpoint off): a commit that crossed the log threshold
 * used to copy the log into the workspace file and fsync inside the request, the 100–300 ms
 * tail of POST latencies. This thread checkpoints instead: PASSIVE once a second when the
 * log has grown, or as soon as a commit reports it STEP_PAGES past where the last checkpoint
 * left it; PASSIVE waits for nobody, so requests never wait on it.
 *
 * Checkpoints are kept rare on purpose: each one fsyncs the log and the workspace file, and
 * on a disk that takes 4-16 ms per fsync those flushes queue beside the commits' own. Waking
 * on every commit once the log was past a fixed size ran 65 checkpoints a second under a
 * stream of annotations and stretched every commit behind them.
 *
 * Under a steady stream of commits a PASSIVE checkpoint rarely catches the log with nothing
 * new in it, and only then can the log start over; so once the log is past RESTART_PAGES a
 * RESTART checkpoint follows, which holds writers off for at most RESTART_WAIT_MS (it has
 * little left to copy right after the PASSIVE one). If readers keep it from finishing, the
 * next attempt waits for another step of log rather than stalling writers again at once. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/clock.h"
#include "server/api.h"

enum {
    PERIOD_MS = 1000,
    STEP_PAGES = 4096,     /* 16 MB of log with 4 KiB pages */
    RESTART_PAGES = 16384, /* 64 MB */
    RESTART_WAIT_MS = 20,
};

struct api_checkpointer {
    an_store *s;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    atomic_bool wake;
    /* The log size (pages) at which a commit wakes the thread before its next tick. */
    atomic_int_fast64_t wake_at;
};

static void wait_tick(api_checkpointer *c)
{
    struct timespec until = an_deadline_ms(PERIOD_MS);
    while (!c->stop && !atomic_load(&c->wake))
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT) break;
}

static void *run(void *arg)
{
    pthread_setname_np(pthread_self(), "annot-checkpt"); /* what top -H and perf show */
    api_checkpointer *c = arg;
    int64_t restart_at = RESTART_PAGES;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        if (!atomic_load(&c->wake)) wait_tick(c);
        atomic_store(&c->wake, false);
        if (c->stop) break;
        pthread_mutex_unlock(&c->mu);
        int64_t log = 0, copied = 0;
        an_err e;
        an_err_clear(&e);
        if (an_store_checkpoint(c->s, AN_CHECKPOINT_PASSIVE, 0, &log, &copied, &e) < 0) {
            fprintf(stderr, "annot serve: checkpoint: %s\n", e.msg);
        } else if (log < RESTART_PAGES) {
            restart_at = RESTART_PAGES; /* the log started over by itself */
        } else if (log >= restart_at) {
            int rc = an_store_checkpoint(c->s, AN_CHECKPOINT_RESTART, RESTART_WAIT_MS, &log,
                                         &copied, &e);
            if (rc == 0) {
                restart_at = RESTART_PAGES;
                log = 0;
            } else {
                if (e.code != AN_EBUSY) fprintf(stderr, "annot serve: checkpoint: %s\n", e.msg);
                restart_at = log + STEP_PAGES;
            }
        }
        atomic_store(&c->wake_at, log + STEP_PAGES);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int api_checkpointer_start(const char *db, api_checkpointer **out, an_err *err)
{
    *out = NULL;
    api_checkpointer *c = an_xcalloc(1, sizeof *c);
    int rc = an_store_open(db, &c->s, err);
    /* Checkpoints copy pages file to file: its own cache need not hold them. */
    if (rc == 0) rc = an_store_set_cache_kib(c->s, 1024, err);
    if (rc < 0) {
        an_store_close(c->s);
        free(c);
        return rc;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    atomic_init(&c->wake, false);
    atomic_init(&c->wake_at, STEP_PAGES);
    if (pthread_create(&c->thread, NULL, run, c) != 0) {
        an_store_close(c->s);
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        free(c);
        return an_err_set(err, AN_EINTERNAL, "checkpointer",
                          "could not start the checkpoint thread; the system is out of threads");
    }
    *out = c;
    return 0;
}

void api_checkpointer_note(void *ud, int64_t log_pages)
{
    api_checkpointer *c = ud;
    /* Called inside every request's commit: one atomic read in the common case. */
    if (log_pages < atomic_load(&c->wake_at) || atomic_load(&c->wake)) return;
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->wake, true);
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

void api_checkpointer_stop(api_checkpointer *c)
{
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    /* Closing the last handle on the workspace checkpoints what is left. */
    an_store_close(c->s);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}
