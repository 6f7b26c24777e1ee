/* Offset pages (an_store_task_page) on the SQLite store, which seek from task rank marks:
 * whatever happened to a project (bulk import, deletes anywhere, inserts after deletes,
 * interleaved projects, rollbacks, no marks at all), a page at any offset is exactly the
 * tasks the plain `ORDER BY id LIMIT n OFFSET k` query gives, and the marks the workspace
 * keeps name the task at their rank. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "store/store.h"
#include "testlib.h"

/* The spacing of the marks (sqlite_marks.c's MARK_EVERY): the tests check the exact set of
 * marks a project must have after each commit. */
enum { MARK_EVERY = 1024 };

static const char *CONFIG = "<View><Text name=\"text\" value=\"$text\"/>"
                            "<Choices name=\"c\" toName=\"text\">"
                            "<Choice value=\"a\"/></Choices></View>";

typedef struct fixture {
    char dir[PATH_MAX];
    char path[PATH_MAX];
    an_store *s;
    sqlite3 *db; /* a second connection: the plain-SQL reference, and old workspaces */
    int serial;  /* makes every task's text unique */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || tl_workspace_open("marks", f->dir, sizeof f->dir, f->path, sizeof f->path, &f->s))
        return -1;
    if (sqlite3_open_v2(f->path, &f->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) return -1;
    sqlite3_busy_timeout(f->db, 10000);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sqlite3_close(f->db);
    int rc = tl_workspace_close(f->dir, f->s);
    free(f);
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------ */

static void begin(fixture *f)
{
    an_err err;
    int rc = an_store_begin(f->s, &err);
    if (rc) fail_msg("begin: %s", err.msg);
}

static void commit(fixture *f)
{
    an_err err;
    int rc = an_store_commit(f->s, &err);
    if (rc) fail_msg("commit: %s", err.msg);
}

static int64_t make_project(fixture *f, const char *name)
{
    int64_t id = 0;
    an_err err;
    int rc = an_store_project_create(f->s, name, CONFIG, NULL, &id, &err);
    if (rc) fail_msg("project_create: %s", err.msg);
    return id;
}

/* Inserts one task with unique data into the open transaction; returns its id. */
static int64_t put_task(fixture *f, int64_t pid)
{
    char data[64];
    int n = snprintf(data, sizeof data, "{\"text\":\"task %d\"}", ++f->serial);
    an_task_in t = {.project_id = pid, .data = data, .data_len = (size_t)n};
    an_hash(data, (size_t)n, t.hash);
    int64_t id = 0;
    an_err err;
    int rc = an_store_task_insert(f->s, &t, &id, &err);
    if (rc) fail_msg("task_insert: %s", err.msg);
    assert_true(id > 0);
    return id;
}

/* n tasks into pid in commits of `batch` (as the importer commits every 100,000). */
static void import(fixture *f, int64_t pid, int n, int batch)
{
    for (int done = 0; done < n;) {
        begin(f);
        for (int k = 0; k < batch && done < n; k++, done++)
            put_task(f, pid);
        commit(f);
    }
}

static void delete_task(fixture *f, int64_t id)
{
    an_err err;
    int rc = an_store_task_delete(f->s, id, &err);
    if (rc) fail_msg("task_delete %lld: %s", (long long)id, err.msg);
}

/* ---- references --------------------------------------------------------------------------- */

typedef struct ids {
    int64_t *v;
    size_t n, cap;
} ids;

static void ids_add(ids *a, int64_t id)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 256;
        a->v = realloc(a->v, a->cap * sizeof *a->v);
        assert_non_null(a->v);
    }
    a->v[a->n++] = id;
}

static int add_brief(void *ud, const an_task_brief *t)
{
    ids_add(ud, t->id);
    return 0;
}

/* All of the project's task ids in order as the handle sees them (its open transaction
 * included), by keyset paging: the reference inside a write transaction. */
static ids ids_by_after(fixture *f, int64_t pid)
{
    ids all = {0};
    for (;;) {
        size_t before = all.n;
        an_err err;
        int rc = an_store_task_after(f->s, pid, all.n ? all.v[all.n - 1] : 0, 10000, add_brief,
                                     &all, &err);
        if (rc) fail_msg("task_after: %s", err.msg);
        if (all.n == before) return all;
    }
}

/* The committed task ids of the project in id order, by plain SQL on the other connection. */
static ids ids_by_sql(fixture *f, int64_t pid)
{
    ids all = {0};
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->db,
                                        "SELECT id FROM tasks WHERE project_id = ?1 ORDER BY id",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, pid);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ids_add(&all, sqlite3_column_int64(st, 0));
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    return all;
}

/* The committed page by the plain OFFSET query, for a check independent of ids_by_sql. */
static ids page_by_sql(fixture *f, int64_t pid, int64_t offset, int limit)
{
    ids page = {0};
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->db,
                                        "SELECT id FROM tasks WHERE project_id = ?1 "
                                        "ORDER BY id LIMIT ?3 OFFSET ?2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, pid);
    sqlite3_bind_int64(st, 2, offset);
    sqlite3_bind_int(st, 3, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ids_add(&page, sqlite3_column_int64(st, 0));
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    return page;
}

static ids page_of(fixture *f, int64_t pid, int64_t offset, int limit)
{
    ids page = {0};
    an_err err;
    int rc = an_store_task_page(f->s, pid, offset, limit, add_brief, &page, &err);
    if (rc) fail_msg("task_page(%lld, %d): %s", (long long)offset, limit, err.msg);
    return page;
}

/* Every page at a spread of offsets (all mark boundaries and their neighbours, a stride
 * through the project, the end and beyond) and limits equals the slice of all. */
static void check_pages(fixture *f, int64_t pid, const ids *all)
{
    static const int limits[] = {1, 7, 100, 1500};
    int64_t n = (int64_t)all->n;
    int64_t offsets[512];
    size_t k = 0;
    for (int64_t o = 0; o <= n + MARK_EVERY && k < 400; o += 97)
        offsets[k++] = o;
    for (int64_t m = 0; m <= n + 1 && k + 3 <= 500; m += MARK_EVERY) {
        offsets[k++] = m;
        offsets[k++] = m + 1;
        if (m > 0) offsets[k++] = m - 1;
    }
    int64_t ends[] = {n - 2, n - 1, n, n + 1, (int64_t)1 << 40};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
        if (ends[i] >= 0) offsets[k++] = ends[i];
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < sizeof limits / sizeof limits[0]; j++) {
            int64_t o = offsets[i];
            int lim = limits[j];
            ids page = page_of(f, pid, o, lim);
            size_t want = o >= n ? 0 : (size_t)(n - o < lim ? n - o : lim);
            if (page.n != want)
                fail_msg("page(%lld, %d) of %lld tasks has %zu tasks, expected %zu", (long long)o,
                         lim, (long long)n, page.n, want);
            for (size_t r = 0; r < want; r++)
                if (page.v[r] != all->v[o + (int64_t)r])
                    fail_msg("page(%lld, %d) row %zu is task %lld, expected %lld", (long long)o,
                             lim, r, (long long)page.v[r], (long long)all->v[o + (int64_t)r]);
            free(page.v);
        }
}

/* Committed state: pages equal the plain OFFSET query, and the reference by keyset paging
 * equals the one by SQL. */
static void check_committed_pages(fixture *f, int64_t pid)
{
    ids all = ids_by_sql(f, pid);
    ids after = ids_by_after(f, pid);
    assert_int_equal(after.n, all.n);
    if (all.n) assert_memory_equal(after.v, all.v, all.n * sizeof *all.v);
    check_pages(f, pid, &all);
    /* And straight against the OFFSET query at a few places. */
    int64_t spots[] = {0, MARK_EVERY - 1, MARK_EVERY + 3, (int64_t)all.n / 2, (int64_t)all.n - 5};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        if (spots[i] < 0) continue;
        ids a = page_of(f, pid, spots[i], 50), b = page_by_sql(f, pid, spots[i], 50);
        assert_int_equal(a.n, b.n);
        if (a.n) assert_memory_equal(a.v, b.v, a.n * sizeof *a.v);
        free(a.v);
        free(b.v);
    }
    free(all.v);
    free(after.v);
}

/* Inside the open write transaction: pages equal the handle's own keyset walk. */
static void check_open_pages(fixture *f, int64_t pid)
{
    ids all = ids_by_after(f, pid);
    check_pages(f, pid, &all);
    free(all.v);
}

/* ---- the marks themselves ----------------------------------------------------------------- */

typedef struct mark {
    int64_t rank, task_id;
} mark;

static size_t read_marks(fixture *f, int64_t pid, mark *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->db,
                                        "SELECT rank, task_id FROM task_marks "
                                        "WHERE project_id = ?1 ORDER BY rank",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, pid);
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        assert_true(n < cap);
        out[n].rank = sqlite3_column_int64(st, 0);
        out[n].task_id = sqlite3_column_int64(st, 1);
        n++;
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    return n;
}

enum { MAX_MARKS = 256 };

/* After a commit that touched the project: exactly the marks 0, MARK_EVERY, … up to its
 * last task, each naming the task at its rank. Returns how many. */
static size_t check_marks(fixture *f, int64_t pid)
{
    ids all = ids_by_sql(f, pid);
    mark m[MAX_MARKS];
    size_t n = read_marks(f, pid, m, MAX_MARKS);
    size_t want = (all.n + MARK_EVERY - 1) / MARK_EVERY;
    if (n != want)
        fail_msg("project %lld with %zu tasks has %zu marks, expected %zu", (long long)pid, all.n,
                 n, want);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(m[i].rank, (int64_t)i * MARK_EVERY);
        if (m[i].task_id != all.v[m[i].rank])
            fail_msg("mark at rank %lld names task %lld; the task at that rank is %lld",
                     (long long)m[i].rank, (long long)m[i].task_id, (long long)all.v[m[i].rank]);
    }
    free(all.v);
    return n;
}

static void sql_exec(fixture *f, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(f->db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sql, msg);
}

/* ---- tests -------------------------------------------------------------------------------- */

/* 10,000 tasks in commits of 2,500 (not a multiple of the mark spacing): each commit extends
 * the marks from where the last one stopped. */
static void test_bulk_import(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f, "bulk");
    import(f, pid, 10000, 2500);
    assert_int_equal(check_marks(f, pid), 10);
    check_committed_pages(f, pid);
}

/* Deletes at the start, in the middle (on a mark and beside one) and at the end, checked
 * inside the transaction (marks cut, not yet extended) and after its commit. */
static void test_deletes(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f, "deletes");
    import(f, pid, 10000, 5000);
    ids all = ids_by_sql(f, pid);

    begin(f);
    delete_task(f, all.v[5000]);
    check_open_pages(f, pid);
    delete_task(f, all.v[9999]);
    delete_task(f, all.v[0]);
    check_open_pages(f, pid);
    commit(f);
    assert_int_equal(check_marks(f, pid), 10); /* 9,997 tasks */
    check_committed_pages(f, pid);

    /* A task that is a mark, and the one just before a mark, each in its own commit. */
    ids now = ids_by_sql(f, pid);
    begin(f);
    delete_task(f, now.v[2 * MARK_EVERY]);
    commit(f);
    check_marks(f, pid);
    begin(f);
    delete_task(f, now.v[3 * MARK_EVERY - 1]);
    commit(f);
    check_marks(f, pid);
    check_committed_pages(f, pid);

    /* Down to fewer than one mark's spacing, then to nothing. */
    ids left = ids_by_sql(f, pid);
    begin(f);
    for (size_t i = 0; i + 10 < left.n; i++)
        delete_task(f, left.v[i]);
    commit(f);
    assert_int_equal(check_marks(f, pid), 1);
    check_committed_pages(f, pid);
    begin(f);
    for (size_t i = left.n - 10; i < left.n; i++)
        delete_task(f, left.v[i]);
    commit(f);
    assert_int_equal(check_marks(f, pid), 0);
    check_committed_pages(f, pid);
    free(all.v);
    free(now.v);
    free(left.v);
}

/* Inserts after deletes in one transaction, and a transaction whose deletes and inserts
 * balance (the task count does not move but the marks must). Deleting the workspace's
 * newest task lets the next insert take its id again: still after every remaining id. */
static void test_inserts_after_deletes(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f, "reinsert");
    import(f, pid, 6000, 6000);
    ids all = ids_by_sql(f, pid);

    begin(f);
    delete_task(f, all.v[100]);
    delete_task(f, all.v[4000]);
    for (int i = 0; i < 3000; i++)
        put_task(f, pid);
    check_open_pages(f, pid);
    commit(f);
    assert_int_equal(check_marks(f, pid), 9); /* 8,998 tasks */
    check_committed_pages(f, pid);

    ids now = ids_by_sql(f, pid);
    begin(f);
    delete_task(f, now.v[10]);
    put_task(f, pid);
    commit(f);
    check_marks(f, pid);
    check_committed_pages(f, pid);

    /* Delete the newest task; the next insert reuses its id. */
    ids before = ids_by_sql(f, pid);
    int64_t newest = before.v[before.n - 1];
    begin(f);
    delete_task(f, newest);
    commit(f);
    begin(f);
    int64_t again = put_task(f, pid);
    assert_true(again > before.v[before.n - 2]);
    for (int i = 0; i < 1500; i++)
        put_task(f, pid);
    commit(f);
    check_marks(f, pid);
    check_committed_pages(f, pid);
    free(all.v);
    free(now.v);
    free(before.v);
}

/* Two projects filled in turns: their ids interleave, so a project's ranks are not its ids'
 * distances; deletes in one leave the other's marks alone. */
static void test_interleaved_projects(void **state)
{
    fixture *f = *state;
    int64_t a = make_project(f, "left");
    int64_t b = make_project(f, "right");
    for (int round = 0; round < 2; round++) {
        begin(f);
        for (int i = 0; i < 3000; i++) {
            put_task(f, a);
            put_task(f, b);
            if (i % 3 == 0) put_task(f, a);
        }
        commit(f);
    }
    check_marks(f, a);
    check_marks(f, b);
    check_committed_pages(f, a);
    check_committed_pages(f, b);

    ids ia = ids_by_sql(f, a);
    mark before[MAX_MARKS], after[MAX_MARKS];
    size_t nb = read_marks(f, b, before, MAX_MARKS);
    begin(f);
    delete_task(f, ia.v[1]);
    delete_task(f, ia.v[ia.n / 2]);
    commit(f);
    check_marks(f, a);
    assert_int_equal(read_marks(f, b, after, MAX_MARKS), nb);
    assert_memory_equal(before, after, nb * sizeof *before);
    check_committed_pages(f, a);
    check_committed_pages(f, b);
    free(ia.v);
}

/* A rolled-back transaction and an undone savepoint take their marks changes with them: the
 * marks are exactly those of before, and pages are right. */
static void test_rollback(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f, "rollback");
    import(f, pid, 5000, 5000);
    ids all = ids_by_sql(f, pid);
    mark before[MAX_MARKS], after[MAX_MARKS];
    size_t nb = read_marks(f, pid, before, MAX_MARKS);
    assert_int_equal(nb, 5);

    begin(f);
    delete_task(f, all.v[10]);
    for (int i = 0; i < 3000; i++)
        put_task(f, pid);
    check_open_pages(f, pid);
    an_store_rollback(f->s);
    assert_int_equal(read_marks(f, pid, after, MAX_MARKS), nb);
    assert_memory_equal(before, after, nb * sizeof *before);
    check_committed_pages(f, pid);

    /* A savepoint undone inside a transaction that then commits (with one more task, which
     * adds no mark: 5,001 tasks have the same 5). */
    an_err err;
    begin(f);
    put_task(f, pid);
    assert_int_equal(an_store_mark(f->s, &err), 0);
    delete_task(f, all.v[10]);
    check_open_pages(f, pid);
    assert_int_equal(an_store_mark_undo(f->s, &err), 0);
    check_open_pages(f, pid);
    commit(f);
    assert_int_equal(read_marks(f, pid, after, MAX_MARKS), nb);
    assert_memory_equal(before, after, nb * sizeof *before);
    check_committed_pages(f, pid);
    free(all.v);
}

/* The empty project, and offsets at and beyond the end of a small one. */
static void test_empty_and_beyond(void **state)
{
    fixture *f = *state;
    int64_t empty = make_project(f, "empty");
    ids p = page_of(f, empty, 0, 10);
    assert_int_equal(p.n, 0);
    p = page_of(f, empty, 5000, 10);
    assert_int_equal(p.n, 0);
    assert_int_equal(check_marks(f, empty), 0);

    int64_t small = make_project(f, "small");
    import(f, small, 3000, 3000);
    assert_int_equal(check_marks(f, small), 3);
    p = page_of(f, small, 3000, 10);
    assert_int_equal(p.n, 0);
    p = page_of(f, small, (int64_t)1 << 50, 10);
    assert_int_equal(p.n, 0);
    ids all = ids_by_sql(f, small);
    p = page_of(f, small, 2999, 10);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.v[0], all.v[2999]);
    free(p.v);
    p = page_of(f, small, 10, 0);
    assert_int_equal(p.n, 0);
    an_err err;
    assert_int_equal(an_store_task_page(f->s, small, -1, 10, add_brief, &p, &err), -AN_EINVAL);
    /* A project that does not exist has no tasks. */
    p = page_of(f, 99999, 0, 10);
    assert_int_equal(p.n, 0);
    free(all.v);
}

/* A workspace from before marks were kept has none: pages are still right (the plain walk),
 * and the first commit that changes the project's tasks builds all of them. */
static void test_no_marks_yet(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f, "old");
    import(f, pid, 5000, 5000);
    sql_exec(f, "DELETE FROM task_marks");
    mark m[MAX_MARKS];
    assert_int_equal(read_marks(f, pid, m, MAX_MARKS), 0);
    check_committed_pages(f, pid);

    /* The first commit that adds a task to the project builds all its marks. */
    begin(f);
    put_task(f, pid);
    commit(f);
    assert_int_equal(check_marks(f, pid), 5); /* 5,001 tasks */
    check_committed_pages(f, pid);

    /* Marks present only as a prefix (a build that stopped early) are used as far as they go. */
    sql_exec(f, "DELETE FROM task_marks WHERE rank >= 2048");
    check_committed_pages(f, pid);
}

/* Pages really seek from the marks: a mark pointing at the wrong task (which the store never
 * writes) shows in the pages after it and not before. */
static void test_pages_seek_from_marks(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f, "seek");
    import(f, pid, 4 * MARK_EVERY, 4 * MARK_EVERY);
    ids all = ids_by_sql(f, pid);
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE task_marks SET task_id = %lld WHERE project_id = %lld AND rank = %d",
             (long long)all.v[2 * MARK_EVERY], (long long)pid, MARK_EVERY);
    sql_exec(f, sql);
    ids p = page_of(f, pid, MARK_EVERY + 5, 1);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.v[0], all.v[2 * MARK_EVERY + 5]);
    free(p.v);
    p = page_of(f, pid, MARK_EVERY - 1, 1);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.v[0], all.v[MARK_EVERY - 1]);
    free(p.v);
    /* Deleting a task before the bad mark drops it and the commit writes it right. */
    begin(f);
    delete_task(f, all.v[3]);
    commit(f);
    check_marks(f, pid);
    check_committed_pages(f, pid);
    free(all.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bulk_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inserts_after_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interleaved_projects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_beyond, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_marks_yet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages_seek_from_marks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
