/* The server's write batcher (group commit). See api.h.
 *
 * Why: one transaction per annotation makes every request pay a whole commit (the WAL
 * frames, and with synchronous=FULL an fsync), and request threads queue on SQLite's single
 * write lock. Here one thread takes every write queued since its last commit, runs them in
 * one transaction — each inside a savepoint, so one that fails is undone alone — commits
 * once and resumes their requests. Under load a commit is shared by everyone who arrived
 * meanwhile; a lone request costs about what committing it directly costs. The requests
 * wait suspended (an_http_defer), so a pool thread is free to read the next request instead
 * of sleeping on the lock: that is what lets many writes be in flight with few threads.
 *
 * Committing and flushing are two steps on two threads. The writer's handle commits into the
 * log without waiting for the disk; a second thread, the flusher, then flushes the log
 * (an_log_flush) and only after that resumes the batch's requests, so "durable when
 * answered" holds as with an fsync per commit. Meanwhile the writer is already running the
 * next batch: the disk's time no longer counts against the writer's, and one flush covers
 * every batch committed while the previous flush ran. (A committed write can be read by
 * other requests a moment before it is flushed; its own request is answered only after.) */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "comply/ledger.h"
#include "server/api.h"

/* GATHER: when fewer than GATHER_MIN writes are queued, the writer waits up to GATHER_MS for
 * more before it begins (PostgreSQL's commit_delay). A commit costs an fsync, as much as
 * several annotations' B-tree work, so batches of two or three keep the writer busy with
 * commits: at 5,000 annotations/s it averaged 3.4 a batch, was busy 95 % of the time, and
 * any slow fsync then left a queue it took long to drain. Under heavy load the queue is
 * long already and nobody waits. */
enum { MAX_BATCH = 1024, GATHER_MIN = 16, GATHER_MS = 1 };

struct api_writer {
    an_store *s;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    api_write *head, *tail; /* queued, oldest first */
    size_t queued;
    bool closing;
    bool started;
    /* committed batches waiting for the flusher, oldest first */
    an_log_flusher *log;
    pthread_t flusher;
    pthread_mutex_t fmu;
    pthread_cond_t fcv;
    api_write *fhead, *ftail;
    bool fclosing;
    bool fstarted;
};

/* Runs one write inside the open transaction, in a savepoint of its own. Returns false when
 * the transaction itself is lost (the savepoint could not be undone). */
static bool run_one(an_store *s, api_write *w, an_ledger_group *g)
{
    an_err_clear(&w->err);
    w->rc = an_store_mark(s, &w->err);
    if (w->rc) return false;
    size_t noted = an_ledger_group_mark(g);
    w->rc = w->fn(s, w->ctx, &w->err);
    an_err e;
    an_err_clear(&e);
    if (w->rc != 0) {
        an_ledger_group_undo(g, noted); /* the write's ledger notes go with it */
        return an_store_mark_undo(s, &e) == 0;
    }
    if (an_store_mark_release(s, &e) == 0) return true;
    w->rc = -AN_EIO;
    w->err = e;
    return false;
}

static void fail_all(api_write *w, const an_err *e, int rc)
{
    for (; w; w = w->next)
        if (w->rc == 0) {
            w->rc = rc;
            w->err = *e;
        }
}

static void resume_all(api_write *batch)
{
    /* Once resumed, a request may be answered and freed (with its api_write) at once. */
    for (api_write *w = batch, *next; w; w = next) {
        next = w->next;
        an_http_resume(w->req);
    }
}

/* Hands a committed batch to the flusher. */
static void to_flusher(api_writer *wr, api_write *batch)
{
    api_write *last = batch;
    while (last->next) last = last->next;
    pthread_mutex_lock(&wr->fmu);
    if (wr->ftail)
        wr->ftail->next = batch;
    else
        wr->fhead = batch;
    wr->ftail = last;
    pthread_cond_signal(&wr->fcv);
    pthread_mutex_unlock(&wr->fmu);
}

/* Writes a batch in one transaction; committed batches go to the flusher, the requests of
 * a failed one are resumed at once (there is nothing to flush for them). */
static void run_batch(api_writer *wr, api_write *batch)
{
    an_store *s = wr->s;
    an_err e;
    an_err_clear(&e);
    int rc = an_store_begin(s, &e);
    if (rc == 0) {
        for (api_write *w = batch; w; w = w->next)
            memcpy(w->at, an_store_tx_time(s), sizeof w->at);
        /* The batch's annotations go into the provenance ledger as one signed entry (per
         * project), appended after the writes and committed with them. */
        an_ledger_group *g = an_ledger_group_open(s);
        for (api_write *w = batch; w; w = w->next) {
            if (!run_one(s, w, g)) {
                /* The transaction is in an unknown state: nothing of it may be kept. */
                an_ledger_group_discard(g);
                an_store_rollback(s);
                an_err_set(&e, AN_EIO, "workspace",
                           "a write of the same batch failed and took the transaction with it; "
                           "retry");
                for (api_write *x = batch; x; x = x->next) {
                    x->rc = -AN_EIO;
                    x->err = e;
                }
                goto resume;
            }
        }
        rc = an_ledger_group_close(g, &e);
        if (rc == 0)
            rc = an_store_commit(s, &e);
        else
            an_store_rollback(s);
    }
    if (rc == 0) {
        to_flusher(wr, batch);
        return;
    }
    fail_all(batch, &e, rc);
resume:
    resume_all(batch);
}

/* Flushes the log for every batch committed so far, then resumes their requests. When the
 * disk refuses, their writes are committed but maybe not durable: they are answered with the
 * error, which says so. */
static void *flusher_main(void *arg)
{
    pthread_setname_np(pthread_self(), "annot-flusher"); /* what top -H and perf show */
    api_writer *wr = arg;
    for (;;) {
        pthread_mutex_lock(&wr->fmu);
        while (!wr->fhead && !wr->fclosing)
            pthread_cond_wait(&wr->fcv, &wr->fmu);
        api_write *batch = wr->fhead;
        wr->fhead = wr->ftail = NULL;
        pthread_mutex_unlock(&wr->fmu);
        if (!batch) break; /* closing, and everything committed has been flushed */
        an_err e;
        an_err_clear(&e);
        int rc = an_log_flush(wr->log, &e);
        if (rc) fail_all(batch, &e, rc);
        resume_all(batch);
    }
    return NULL;
}

static void *writer_main(void *arg)
{
    pthread_setname_np(pthread_self(), "annot-writer"); /* what top -H and perf show */
    api_writer *wr = arg;
    for (;;) {
        pthread_mutex_lock(&wr->mu);
        while (!wr->head && !wr->closing)
            pthread_cond_wait(&wr->cv, &wr->mu);
        if (!wr->head) { /* closing, and everything queued has been written */
            pthread_mutex_unlock(&wr->mu);
            break;
        }
        if (wr->queued < GATHER_MIN && !wr->closing) {
            struct timespec until = an_deadline_ms(GATHER_MS);
            while (wr->queued < GATHER_MIN && !wr->closing)
                if (pthread_cond_timedwait(&wr->cv, &wr->mu, &until) == ETIMEDOUT) break;
        }
        api_write *batch = wr->head, *last = batch;
        int n = 1;
        while (last->next && n < MAX_BATCH) {
            last = last->next;
            n++;
        }
        wr->head = last->next;
        if (!wr->head) wr->tail = NULL;
        wr->queued -= (size_t)n;
        last->next = NULL;
        pthread_mutex_unlock(&wr->mu);
        run_batch(wr, batch);
    }
    return NULL;
}

int api_writer_start(const char *db, api_checkpointer *cp, api_writer **out, an_err *err)
{
    *out = NULL;
    api_writer *wr = an_xcalloc(1, sizeof *wr);
    int rc = an_store_open(db, &wr->s, err);
    if (rc == 0) rc = an_store_set_autocheckpoint(wr->s, false, api_checkpointer_note, cp, err);
    /* "Durable when answered": commits do not wait for the disk, the flusher does, before
     * any of a batch's requests is answered. */
    if (rc == 0) rc = an_store_set_synchronous(wr->s, false, err);
    if (rc == 0) rc = an_log_flusher_open(wr->s, &wr->log, err);
    /* It mostly appends (the B-trees' right edges) but also reads the indexes it updates:
     * 16 MiB, like a request handle, keeps the process under 100 MB (bench/server.sh). */
    if (rc == 0) rc = an_store_set_cache_kib(wr->s, 16384, err);
    if (rc < 0) {
        an_log_flusher_close(wr->log);
        an_store_close(wr->s);
        free(wr);
        return rc;
    }
    pthread_mutex_init(&wr->mu, NULL);
    pthread_cond_init(&wr->cv, NULL);
    pthread_mutex_init(&wr->fmu, NULL);
    pthread_cond_init(&wr->fcv, NULL);
    if (pthread_create(&wr->flusher, NULL, flusher_main, wr) != 0) {
        api_writer_stop(wr);
        return an_err_set(err, AN_EIO, "writer", "cannot start the log flusher thread");
    }
    wr->fstarted = true;
    if (pthread_create(&wr->thread, NULL, writer_main, wr) != 0) {
        api_writer_stop(wr);
        return an_err_set(err, AN_EIO, "writer", "cannot start the writer thread");
    }
    wr->started = true;
    *out = wr;
    return 0;
}

void api_writer_stop(api_writer *wr)
{
    if (!wr) return;
    pthread_mutex_lock(&wr->mu);
    wr->closing = true;
    pthread_cond_signal(&wr->cv);
    pthread_mutex_unlock(&wr->mu);
    if (wr->started) pthread_join(wr->thread, NULL);
    /* The writer is done: the flusher flushes what it committed last, then stops. */
    pthread_mutex_lock(&wr->fmu);
    wr->fclosing = true;
    pthread_cond_signal(&wr->fcv);
    pthread_mutex_unlock(&wr->fmu);
    if (wr->fstarted) pthread_join(wr->flusher, NULL);
    an_log_flusher_close(wr->log);
    an_store_close(wr->s);
    wr->s = NULL;
    pthread_mutex_destroy(&wr->mu);
    pthread_cond_destroy(&wr->cv);
    pthread_mutex_destroy(&wr->fmu);
    pthread_cond_destroy(&wr->fcv);
    free(wr);
}

int api_write_later(an_app *app, an_http_req *req, an_http_resp *resp, an_store *s,
                    api_write *w, an_http_then then, void *ctx)
{
    api_writer *wr = app->writer;
    w->req = req;
    w->next = NULL;
    w->at[0] = '\0';
    an_err_clear(&w->err);
    if (wr) {
        pthread_mutex_lock(&wr->mu);
        if (!wr->closing) {
            /* Suspend before the writer can see it: its resume must follow the suspension. */
            an_http_defer(req, then, ctx);
            if (wr->tail)
                wr->tail->next = w;
            else
                wr->head = w;
            wr->tail = w;
            wr->queued++;
            pthread_cond_signal(&wr->cv);
            pthread_mutex_unlock(&wr->mu);
            return AN_HTTP_LATER;
        }
        pthread_mutex_unlock(&wr->mu);
    }
    /* No writer (the server is stopping): a transaction of its own on the request's handle. */
    w->rc = an_store_begin(s, &w->err);
    if (w->rc == 0) {
        memcpy(w->at, an_store_tx_time(s), sizeof w->at);
        w->rc = an_store_end(s, w->fn(s, w->ctx, &w->err), &w->err);
    }
    return then(req, resp, app, ctx);
}
