/* The store's read transactions (an_store_read_begin/_end): one snapshot for a request's
 * reads, nesting with each other, with task streams and inside write transactions; soft
 * reads that a write on the handle ends; the
 * per-handle statement cache (a callback may rerun the query it is called from, a finished
 * read keeps no snapshot open); and the checkpoint controls a server uses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/hash.h"
#include "store/store.h"
#include "testlib.h"

static const char *CONFIG = "<View><Text name=\"text\" value=\"$text\"/>"
                            "<Choices name=\"c\" toName=\"text\">"
                            "<Choice value=\"a\"/><Choice value=\"b\"/></Choices></View>";

typedef struct fixture {
    char dir[PATH_MAX];
    char path[PATH_MAX];
    an_store *s;
    int64_t pid, tid;
} fixture;

static void must(int rc, const an_err *err, const char *what)
{
    if (rc) fprintf(stderr, "%s: %s\n", what, err->msg);
    assert_int_equal(rc, 0);
}

static int64_t put_task(an_store *s, int64_t pid, const char *text)
{
    char data[128];
    int n = snprintf(data, sizeof data, "{\"text\":\"%s\"}", text);
    an_task_in t = {.project_id = pid, .data = data, .data_len = (size_t)n};
    an_hash(data, (size_t)n, t.hash);
    int64_t id = 0;
    an_err err;
    must(an_store_task_insert(s, &t, &id, &err), &err, "task_insert");
    return id;
}

/* Adds one annotation to the task through handle s in its own transaction. */
static void annotate(an_store *s, int64_t pid, int64_t tid)
{
    an_err err;
    must(an_store_begin(s, &err), &err, "begin");
    an_annotation_in a = {.task_id = tid, .project_id = pid, .result = "[]", .lead_time = NAN};
    int64_t id = 0;
    must(an_store_annotation_insert(s, &a, &id, &err), &err, "annotation_insert");
    must(an_store_commit(s, &err), &err, "commit");
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (tl_workspace_open("sread", f->dir, sizeof f->dir, f->path, sizeof f->path, &f->s))
        return -1;
    an_err err;
    if (an_store_project_create(f->s, "p", CONFIG, NULL, &f->pid, &err)) return -1;
    if (an_store_begin(f->s, &err)) return -1;
    f->tid = put_task(f->s, f->pid, "one");
    put_task(f->s, f->pid, "two");
    if (an_store_commit(f->s, &err)) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int rc = tl_workspace_close(f->dir, f->s);
    free(f);
    return rc;
}

static int count_cb(void *ud, const an_annotation *a)
{
    (void)a;
    (*(int *)ud)++;
    return 0;
}

static int annotations_of(an_store *s, int64_t tid)
{
    int n = 0;
    an_err err;
    must(an_store_annotation_list(s, tid, count_cb, &n, &err), &err, "annotation_list");
    return n;
}

static int64_t task_count(an_store *s, int64_t pid)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)pid);
    an_project p;
    an_err err;
    must(an_store_project_get(s, id, &p, &err), &err, "project_get");
    int64_t n = p.task_count;
    an_project_clear(&p);
    return n;
}

/* Another handle writes an annotation to the fixture's task. */
static void other_writer_annotates(fixture *f)
{
    an_store *w;
    an_err err;
    must(an_store_open(f->path, &w, &err), &err, "open");
    annotate(w, f->pid, f->tid);
    an_store_close(w);
}

/* Whether a checkpoint that must reset the WAL completes now: it cannot while any
 * connection still reads from a snapshot in the WAL. */
static bool wal_can_reset(const char *path)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    /* A read first: a connection learns that the file is in WAL mode when it opens it. */
    assert_int_equal(sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL),
                     SQLITE_OK);
    int log = -1, done = -1;
    int rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    sqlite3_close(db);
    assert_true(rc == SQLITE_OK || rc == SQLITE_BUSY);
    assert_true(log >= 0); /* the file is in WAL mode */
    return rc == SQLITE_OK && log == 0;
}

/* Makes sure the WAL holds frames, so that a reader's snapshot pins it. */
static void dirty_wal(fixture *f)
{
    an_err err;
    must(an_store_begin(f->s, &err), &err, "begin");
    put_task(f->s, f->pid, "wal");
    must(an_store_commit(f->s, &err), &err, "commit");
}

/* ---- one snapshot -------------------------------------------------------------------------- */

static void test_read_sees_one_snapshot(void **state)
{
    fixture *f = *state;
    an_err err;
    must(an_store_read_begin(f->s, &err), &err, "read_begin");
    assert_int_equal(annotations_of(f->s, f->tid), 0);

    other_writer_annotates(f);

    /* Every read until read_end sees the workspace as it was at the first read. */
    assert_int_equal(annotations_of(f->s, f->tid), 0);
    an_task t;
    must(an_store_task_get(f->s, f->tid, &t, &err), &err, "task_get");
    assert_int_equal(t.annotation_count, 0);
    an_task_clear(&t);
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)f->pid);
    an_project p;
    must(an_store_project_get(f->s, id, &p, &err), &err, "project_get");
    assert_int_equal(p.annotation_count, 0);
    an_project_clear(&p);

    /* No writing from inside a read transaction. */
    assert_int_equal(an_store_begin(f->s, &err), -AN_EINTERNAL);
    assert_non_null(strstr(err.msg, "read transaction"));

    an_store_read_end(f->s);
    assert_int_equal(annotations_of(f->s, f->tid), 1);
    annotate(f->s, f->pid, f->tid); /* writing works again */
    assert_int_equal(annotations_of(f->s, f->tid), 2);
}

static void test_read_nests(void **state)
{
    fixture *f = *state;
    an_err err;
    must(an_store_read_begin(f->s, &err), &err, "read_begin");
    must(an_store_read_begin(f->s, &err), &err, "read_begin (nested)");
    assert_int_equal(annotations_of(f->s, f->tid), 0);
    other_writer_annotates(f);
    an_store_read_end(f->s); /* the inner end keeps the transaction */
    assert_int_equal(annotations_of(f->s, f->tid), 0);
    assert_int_equal(an_store_begin(f->s, &err), -AN_EINTERNAL);
    an_store_read_end(f->s); /* the outer end ends it */
    assert_int_equal(annotations_of(f->s, f->tid), 1);
    /* An unmatched end changes nothing. */
    an_store_read_end(f->s);
    annotate(f->s, f->pid, f->tid);
    assert_int_equal(annotations_of(f->s, f->tid), 2);
}

/* A soft read (a server's request) shares its snapshot with the reads nested in it, but a
 * write on the handle ends it instead of being refused; its end after that changes nothing.
 * A hard read nested in it still keeps writes out. */
static void test_soft_read_gives_way_to_a_write(void **state)
{
    fixture *f = *state;
    an_err err;
    must(an_store_read_begin_soft(f->s, &err), &err, "read_begin_soft");
    assert_int_equal(annotations_of(f->s, f->tid), 0);
    other_writer_annotates(f);
    must(an_store_read_begin(f->s, &err), &err, "read_begin (nested)");
    assert_int_equal(annotations_of(f->s, f->tid), 0); /* one snapshot */
    assert_int_equal(an_store_begin(f->s, &err), -AN_EINTERNAL);
    an_store_read_end(f->s);
    assert_int_equal(annotations_of(f->s, f->tid), 0); /* the soft read keeps it */

    /* Only the soft read is left: the write ends it and sees the newest workspace. */
    annotate(f->s, f->pid, f->tid);
    assert_int_equal(annotations_of(f->s, f->tid), 2);
    an_store_read_end_soft(f->s); /* given up already: nothing to end */
    must(an_store_read_begin(f->s, &err), &err, "read_begin after");
    assert_int_equal(annotations_of(f->s, f->tid), 2); /* the snapshot starts here */
    other_writer_annotates(f);
    an_store_read_end_soft(f->s); /* must not end the hard read begun after the drop */
    assert_int_equal(annotations_of(f->s, f->tid), 2);
    an_store_read_end(f->s);
    assert_int_equal(annotations_of(f->s, f->tid), 3);

    /* Ended normally, a soft read leaves no transaction behind. */
    must(an_store_read_begin_soft(f->s, &err), &err, "read_begin_soft");
    assert_int_equal(annotations_of(f->s, f->tid), 3);
    an_store_read_end_soft(f->s);
    other_writer_annotates(f);
    assert_int_equal(annotations_of(f->s, f->tid), 4);
}

static void test_read_shares_with_task_streams(void **state)
{
    fixture *f = *state;
    an_err err;
    an_task_iter *it;
    const an_task_row *r;

    /* A stream opened inside a read transaction outlives the read_end. */
    must(an_store_read_begin(f->s, &err), &err, "read_begin");
    must(an_store_tasks_open(f->s, f->pid, AN_ITER_ANNOTATIONS, &it, &err), &err, "tasks_open");
    an_store_read_end(f->s);
    other_writer_annotates(f);
    assert_int_equal(an_task_iter_next(it, &r, &err), 1);
    assert_int_equal(r->n_annotations, 0); /* still the old snapshot */
    assert_int_equal(an_store_begin(f->s, &err), -AN_EINTERNAL);
    an_task_iter_close(it);
    assert_int_equal(annotations_of(f->s, f->tid), 1);

    /* A read transaction begun while a stream is open outlives the stream. */
    must(an_store_tasks_open(f->s, f->pid, 0, &it, &err), &err, "tasks_open");
    assert_int_equal(an_task_iter_next(it, &r, &err), 1); /* the snapshot starts here */
    must(an_store_read_begin(f->s, &err), &err, "read_begin");
    an_task_iter_close(it);
    other_writer_annotates(f);
    assert_int_equal(annotations_of(f->s, f->tid), 1);
    an_store_read_end(f->s);
    assert_int_equal(annotations_of(f->s, f->tid), 2);
    annotate(f->s, f->pid, f->tid);
}

static void test_read_inside_write(void **state)
{
    fixture *f = *state;
    an_err err;
    /* Inside a write transaction read_begin/_end change nothing: reads see the open
     * transaction's own writes, and the commit still commits. */
    must(an_store_begin(f->s, &err), &err, "begin");
    put_task(f->s, f->pid, "three");
    must(an_store_read_begin(f->s, &err), &err, "read_begin");
    int64_t n = task_count(f->s, f->pid);
    an_store_read_end(f->s);
    must(an_store_commit(f->s, &err), &err, "commit");
    assert_int_equal(n, 3); /* the open transaction's own task counts */
    assert_int_equal(task_count(f->s, f->pid), 3);

    /* A read_end after the commit of the write it was begun in ends nothing else. */
    must(an_store_begin(f->s, &err), &err, "begin");
    must(an_store_read_begin(f->s, &err), &err, "read_begin");
    must(an_store_commit(f->s, &err), &err, "commit");
    must(an_store_read_begin(f->s, &err), &err, "read_begin (a real one)");
    assert_int_equal(annotations_of(f->s, f->tid), 0);
    an_store_read_end(f->s); /* pairs with the read_begin inside the write */
    other_writer_annotates(f);
    assert_int_equal(annotations_of(f->s, f->tid), 0); /* the real one is still open */
    an_store_read_end(f->s);
    assert_int_equal(annotations_of(f->s, f->tid), 1);
    annotate(f->s, f->pid, f->tid);
}

static void test_read_end_releases_the_wal(void **state)
{
    fixture *f = *state;
    an_err err;
    dirty_wal(f);
    must(an_store_read_begin(f->s, &err), &err, "read_begin");
    assert_int_equal(annotations_of(f->s, f->tid), 0);
    assert_false(wal_can_reset(f->path)); /* the snapshot pins the WAL */
    an_store_read_end(f->s);
    assert_true(wal_can_reset(f->path));
}

/* ---- the statement cache ------------------------------------------------------------------- */

typedef struct rerun {
    an_store *s;
    int64_t tid;
    int outer, inner;
} rerun;

/* Runs the very query it is called from, on the same handle, for every row. */
static int rerun_cb(void *ud, const an_annotation *a)
{
    rerun *r = ud;
    assert_int_equal(a->task_id, r->tid);
    r->outer++;
    r->inner += annotations_of(r->s, r->tid);
    return 0;
}

static void test_cached_query_reentered_from_its_callback(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 3; i++) annotate(f->s, f->pid, f->tid);
    for (int round = 0; round < 3; round++) {
        rerun r = {.s = f->s, .tid = f->tid};
        an_err err;
        must(an_store_annotation_list(f->s, f->tid, rerun_cb, &r, &err), &err, "annotation_list");
        assert_int_equal(r.outer, 3);
        assert_int_equal(r.inner, 9);
    }
}

static int stop_at_first(void *ud, const an_annotation *a)
{
    (void)a;
    (*(int *)ud)++;
    return 7;
}

static void test_cached_query_leaves_no_snapshot(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 2; i++) annotate(f->s, f->pid, f->tid);
    dirty_wal(f);
    /* Stopped early by its callback, a cached query is reset all the same. */
    int n = 0;
    an_err err;
    assert_int_equal(an_store_annotation_list(f->s, f->tid, stop_at_first, &n, &err), 7);
    assert_int_equal(n, 1);
    assert_true(wal_can_reset(f->path));
    /* And it gives the full list on the next call. */
    assert_int_equal(annotations_of(f->s, f->tid), 2);
    assert_true(wal_can_reset(f->path));
}

/* ---- checkpoints ---------------------------------------------------------------------------- */

typedef struct wal_seen {
    int calls;
    int64_t last, max;
} wal_seen;

static void note_wal(void *ud, int64_t pages)
{
    wal_seen *w = ud;
    w->calls++;
    w->last = pages;
    if (pages > w->max) w->max = pages;
}

static void test_checkpoints_off_the_commit_path(void **state)
{
    fixture *f = *state;
    an_err err;
    wal_seen w = {0};
    must(an_store_set_autocheckpoint(f->s, false, note_wal, &w, &err), &err, "autocheckpoint");
    for (int i = 0; i < 20; i++) annotate(f->s, f->pid, f->tid);
    /* Every commit reports the log's size, which only grows: no commit checkpointed. */
    assert_int_equal(w.calls, 20);
    assert_int_equal(w.last, w.max);
    assert_true(w.max >= 20);

    /* A passive checkpoint copies the whole log when nobody is reading. */
    int64_t log = 0, copied = 0;
    must(an_store_checkpoint(f->s, AN_CHECKPOINT_PASSIVE, 0, &log, &copied, &err), &err,
         "passive");
    assert_int_equal(log, w.max);
    assert_int_equal(copied, log);

    /* A restart checkpoint lets the next commit start the log over. */
    must(an_store_checkpoint(f->s, AN_CHECKPOINT_RESTART, 100, &log, &copied, &err), &err,
         "restart");
    annotate(f->s, f->pid, f->tid);
    assert_true(w.last < w.max);

    /* No checkpoint from inside a transaction of the same handle. */
    must(an_store_read_begin(f->s, &err), &err, "read_begin");
    assert_int_equal(an_store_checkpoint(f->s, AN_CHECKPOINT_PASSIVE, 0, NULL, NULL, &err),
                     -AN_EINTERNAL);
    an_store_read_end(f->s);

    /* Back on: the callback is no longer called. */
    must(an_store_set_autocheckpoint(f->s, true, NULL, NULL, &err), &err, "autocheckpoint on");
    int calls = w.calls;
    annotate(f->s, f->pid, f->tid);
    assert_int_equal(w.calls, calls);
    assert_int_equal(annotations_of(f->s, f->tid), 22);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_restart_checkpoint_gives_up_quickly(void **state)
{
    fixture *f = *state;
    an_err err;
    /* A reader on another handle holds an old snapshot (as a long export does) ... */
    an_store *r;
    must(an_store_open(f->path, &r, &err), &err, "open");
    must(an_store_read_begin(r, &err), &err, "read_begin");
    assert_int_equal(annotations_of(r, f->tid), 0);
    annotate(f->s, f->pid, f->tid);

    /* ... so a restart cannot finish: it gives up after about its wait, not the store's
     * long writer timeout, and the passive part of its work is done. */
    double t0 = now_s();
    int64_t log = 0, copied = 0;
    assert_int_equal(an_store_checkpoint(f->s, AN_CHECKPOINT_RESTART, 50, &log, &copied, &err),
                     -AN_EBUSY);
    double took = now_s() - t0;
    assert_true(took < 2.0);
    assert_true(log > 0);

    /* A passive checkpoint does not wait at all. */
    t0 = now_s();
    must(an_store_checkpoint(f->s, AN_CHECKPOINT_PASSIVE, 0, &log, &copied, &err), &err,
         "passive");
    assert_true(now_s() - t0 < 2.0);

    /* Writers are not held off once it gave up. */
    annotate(f->s, f->pid, f->tid);
    an_store_read_end(r);
    assert_int_equal(annotations_of(r, f->tid), 2);
    an_store_close(r);
    must(an_store_checkpoint(f->s, AN_CHECKPOINT_RESTART, 50, &log, &copied, &err), &err,
         "restart");
    assert_int_equal(copied, log);
}

/* The log flusher finds the workspace's log by name and flushes what a handle without
 * synchronous commits wrote. Each flush checks that the name still leads to the file it
 * flushed: with the log's name gone it fails naming the file, rather than flushing a file
 * nobody will read again. */
static void test_log_flusher(void **state)
{
    fixture *f = *state;
    an_err err;
    must(an_store_set_synchronous(f->s, false, &err), &err, "set_synchronous");
    an_log_flusher *lf = NULL;
    must(an_log_flusher_open(f->s, &lf, &err), &err, "log_flusher_open");
    annotate(f->s, f->pid, f->tid);
    must(an_log_flush(lf, &err), &err, "log_flush");
    char wal[PATH_MAX + 8], kept[PATH_MAX + 16];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    snprintf(kept, sizeof kept, "%s-wal.kept", f->path);
    assert_int_equal(rename(wal, kept), 0);
    assert_int_equal(an_log_flush(lf, &err), -AN_EIO);
    assert_non_null(strstr(err.where, "-wal"));
    assert_int_equal(rename(kept, wal), 0);
    must(an_log_flush(lf, &err), &err, "log_flush with the log back");
    an_log_flusher_close(lf);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_read_sees_one_snapshot),
        T(test_read_nests),
        T(test_soft_read_gives_way_to_a_write),
        T(test_read_shares_with_task_streams),
        T(test_read_inside_write),
        T(test_read_end_releases_the_wal),
        T(test_cached_query_reentered_from_its_callback),
        T(test_cached_query_leaves_no_snapshot),
        T(test_checkpoints_off_the_commit_path),
        T(test_restart_checkpoint_gives_up_quickly),
        T(test_log_flusher),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
