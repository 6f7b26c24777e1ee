/* Writers in threads of one process (the server's request threads): each on its own handle,
 * they queue for the workspace and every commit lands with exact counters; a handle that
 * ends its transaction any way (commit, rollback, close with it still open) lets the next
 * writer in at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hash.h"
#include "store/store.h"
#include "testlib.h"

enum { THREADS = 4, COMMITS = 40 };

static const char *CONFIG = "<View><Text name=\"text\" value=\"$text\"/>"
                            "<Choices name=\"c\" toName=\"text\">"
                            "<Choice value=\"a\"/></Choices></View>";

typedef struct fixture {
    char dir[PATH_MAX];
    char path[PATH_MAX];
    an_store *s;
    int64_t pid, tid;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (tl_workspace_open("sthreads", f->dir, sizeof f->dir, f->path, sizeof f->path, &f->s))
        return -1;
    an_err err;
    if (an_store_project_create(f->s, "p", CONFIG, NULL, &f->pid, &err)) return -1;
    const char *data = "{\"text\":\"one\"}";
    an_task_in t = {.project_id = f->pid, .data = data, .data_len = strlen(data)};
    an_hash(data, strlen(data), t.hash);
    if (an_store_begin(f->s, &err) || an_store_task_insert(f->s, &t, &f->tid, &err) ||
        an_store_commit(f->s, &err))
        return -1;
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

static int insert_annotation(an_store *s, int64_t pid, int64_t tid, an_err *err)
{
    an_annotation_in a = {.task_id = tid, .project_id = pid, .result = "[]", .lead_time = NAN};
    int64_t id = 0;
    return an_store_annotation_insert(s, &a, &id, err);
}

typedef struct worker {
    const fixture *f;
    int failures;
    char msg[256];
} worker;

static void *write_many(void *arg)
{
    worker *w = arg;
    an_store *s;
    an_err err;
    if (an_store_open(w->f->path, &s, &err)) {
        w->failures = COMMITS;
        snprintf(w->msg, sizeof w->msg, "%s", err.msg);
        return NULL;
    }
    for (int i = 0; i < COMMITS; i++) {
        int rc = an_store_begin(s, &err);
        if (!rc) rc = insert_annotation(s, w->f->pid, w->f->tid, &err);
        if (!rc) rc = an_store_audit(s, 0, "test.write", "task", w->f->tid, NULL, &err);
        if (!rc) rc = an_store_commit(s, &err);
        if (rc) {
            an_store_rollback(s);
            w->failures++;
            snprintf(w->msg, sizeof w->msg, "%s", err.msg);
        }
    }
    an_store_close(s);
    return NULL;
}

static int64_t annotation_count(an_store *s)
{
    an_project p;
    an_err err;
    assert_int_equal(an_store_project_get(s, "p", &p, &err), 0);
    int64_t n = p.annotation_count;
    an_project_clear(&p);
    return n;
}

static void test_threads_queue_and_all_commit(void **state)
{
    fixture *f = *state;
    pthread_t th[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.f = f};
        assert_int_equal(pthread_create(&th[i], NULL, write_many, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        if (w[i].failures) fprintf(stderr, "writer %d: %s\n", i, w[i].msg);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(annotation_count(f->s), THREADS * COMMITS);
    an_task t;
    an_err err;
    assert_int_equal(an_store_task_get(f->s, f->tid, &t, &err), 0);
    assert_int_equal(t.annotation_count, THREADS * COMMITS);
    an_task_clear(&t);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Begins, writes and commits on s; fails the test unless it took under a second (a writer
 * left holding the workspace would make it wait for the store's long timeout). */
static void write_quickly(fixture *f, an_store *s)
{
    an_err err;
    double t0 = now_s();
    int rc = an_store_begin(s, &err);
    if (rc) fprintf(stderr, "begin: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_true(now_s() - t0 < 1.0);
    assert_int_equal(insert_annotation(s, f->pid, f->tid, &err), 0);
    assert_int_equal(an_store_commit(s, &err), 0);
}

static void test_every_ending_lets_the_next_writer_in(void **state)
{
    fixture *f = *state;
    an_err err;
    an_store *a, *b;
    assert_int_equal(an_store_open(f->path, &a, &err), 0);
    assert_int_equal(an_store_open(f->path, &b, &err), 0);

    write_quickly(f, a); /* commit */
    write_quickly(f, b);

    assert_int_equal(an_store_begin(a, &err), 0); /* rollback */
    assert_int_equal(insert_annotation(a, f->pid, f->tid, &err), 0);
    an_store_rollback(a);
    write_quickly(f, b);

    /* A failed insert inside the transaction, then rollback. */
    assert_int_equal(an_store_begin(a, &err), 0);
    assert_true(insert_annotation(a, f->pid, f->tid + 1000, &err) < 0);
    an_store_rollback(a);
    write_quickly(f, b);

    assert_int_equal(an_store_begin(a, &err), 0); /* closed with the transaction open */
    an_store_close(a);
    write_quickly(f, b);
    an_store_close(b);
    assert_int_equal(annotation_count(f->s), 5); /* the five write_quickly calls */
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_threads_queue_and_all_commit),
        T(test_every_ending_lets_the_next_writer_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
