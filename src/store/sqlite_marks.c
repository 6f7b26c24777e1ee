/* Rank marks: offset pages that seek instead of walking.
 *
 * `… ORDER BY id LIMIT n OFFSET k` steps through all k skipped index entries (about 60 ns
 * each: 60 ms deep in a 1,000,000-task project). task_marks (schema 4) keeps every
 * MARK_EVERY-th task of a project in id order with its rank (0-based position), so a page at
 * offset k seeks to the greatest mark at or before k and walks fewer than MARK_EVERY entries.
 *
 * Invariant: the marks of a project form a correct prefix: mark r names the task at position
 * r, for r = 0, MARK_EVERY, 2 MARK_EVERY, … up to some rank. It holds because
 *  - a new task's id is greater than every id in the workspace (tasks.id is an INTEGER
 *    PRIMARY KEY and no insert gives an explicit id, so SQLite picks max(id) + 1), so an
 *    insert only appends to its project's order and no existing mark moves;
 *  - deleting task d shifts the ranks of every later task, so sq_marks_cut drops the marks at
 *    and after d (those with task_id >= d) in the same transaction;
 *  - the commit of a transaction that changed a project's tasks extends its marks to the end
 *    (sq_marks_extend), walking only from the last mark: the cost follows the tasks added (or
 *    those after an early delete), not the project's size;
 *  - marks are rows of the same transactions as the tasks, so a rollback (or a savepoint
 *    undone) takes both back together, and a deleted project takes its marks by cascade.
 * Fewer marks than the invariant allows is never wrong, only slower: a page then seeks from
 * the last mark before it, or walks from the start when there is none.
 *
 * Existing workspaces: a workspace that reached schema 4 before marks were kept has none. A
 * project gets its marks lazily, at the first commit that inserts or deletes one of its
 * tasks (one walk over its tasks: about 60 ms per million); until then its pages take the
 * plain OFFSET walk. No migration step builds them, so opening a workspace stays instant. */
#include <stdint.h>

#include "store/sqlite_int.h"

enum {
    /* A page walks fewer than this many index entries (~60 µs at 1024) after its seek; a
     * project of n tasks has n / MARK_EVERY marks (about 1,000 for a million tasks). */
    MARK_EVERY = 1024,
};

/* The greatest mark of the project with rank <= max_rank: 1 found, 0 none, < 0 error. */
static int mark_at_or_before(an_store *s, int64_t project_id, int64_t max_rank, int64_t *rank,
                             int64_t *task_id, an_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(s,
                            "SELECT rank, task_id FROM task_marks WHERE project_id = ?1 "
                            "AND rank <= ?2 ORDER BY rank DESC LIMIT 1",
                            &st, err, "reading the task rank marks");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    sqlite3_bind_int64(st, 2, max_rank);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *rank = sqlite3_column_int64(st, 0);
        *task_id = sqlite3_column_int64(st, 1);
    }
    sq_sql_release(s, st);
    if (src == SQLITE_ROW) return 1;
    if (src == SQLITE_DONE) return 0;
    return sq_db_fail(s, err, src, "reading the task rank marks");
}

int sq_marks_seek(an_store *s, int64_t project_id, int64_t offset, int64_t *rank, int64_t *task_id,
                  an_err *err)
{
    *rank = 0;
    *task_id = 0;
    int rc = mark_at_or_before(s, project_id, offset, rank, task_id, err);
    if (rc == 1) return 0;
    *rank = 0;
    *task_id = 0;
    return rc;
}

int sq_marks_cut(an_store *s, int64_t project_id, int64_t task_id, an_err *err)
{
    /* Marks are in id order as well as rank order, so the last mark before the task is found
     * by walking back from the end; everything after it goes. Cost: the marks dropped. */
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(s,
                            "DELETE FROM task_marks WHERE project_id = ?1 AND rank > "
                            "coalesce((SELECT rank FROM task_marks WHERE project_id = ?1 "
                            "AND task_id < ?2 ORDER BY rank DESC LIMIT 1), -1)",
                            &st, err, "updating the task rank marks");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    sqlite3_bind_int64(st, 2, task_id);
    int src = sqlite3_step(st);
    sq_sql_release(s, st);
    if (src != SQLITE_DONE) return sq_db_fail(s, err, src, "updating the task rank marks");
    return 0;
}

/* The project's stored task count (the commit has already added its pending counters): 1
 * found, 0 when the project is gone (deleted in this transaction), < 0 on error. */
static int task_count(an_store *s, int64_t project_id, int64_t *count, an_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(s, "SELECT task_count FROM projects WHERE id = ?1", &st, err,
                            "reading a project's task count");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) *count = sqlite3_column_int64(st, 0);
    sq_sql_release(s, st);
    if (src == SQLITE_ROW) return 1;
    if (src == SQLITE_DONE) return 0;
    return sq_db_fail(s, err, src, "reading a project's task count");
}

int sq_marks_extend(an_store *s, int64_t project_id, an_err *err)
{
    int64_t count = 0, rank = 0, last_id = 0;
    int rc = task_count(s, project_id, &count, err);
    if (rc <= 0) return rc;
    int have = mark_at_or_before(s, project_id, INT64_MAX, &rank, &last_id, err);
    if (have < 0) return have;
    int64_t next = have ? rank + MARK_EVERY : 0;
    /* The exact counter says whether a mark is due: a commit of a few tasks that reaches no
     * new mark costs two probes, not a walk of up to MARK_EVERY entries. The walk below stops
     * at the real end whatever the counter says. */
    if (next > count - 1) return 0;

    sqlite3_stmt *walk = NULL, *put = NULL;
    if ((rc = sq_sql_acquire(s,
                             "SELECT id FROM tasks WHERE project_id = ?1 AND id > ?2 "
                             "ORDER BY id LIMIT 1 OFFSET ?3",
                             &walk, err, "extending the task rank marks")))
        return rc;
    if ((rc = sq_sql_acquire(s,
                             "INSERT INTO task_marks (project_id, rank, task_id) "
                             "VALUES (?1, ?2, ?3)",
                             &put, err, "extending the task rank marks"))) {
        sq_sql_release(s, walk);
        return rc;
    }
    for (;;) {
        /* The next mark is MARK_EVERY entries after the last one (the first task when there
         * is none); the OFFSET walk runs inside SQLite over the covering index. */
        sqlite3_bind_int64(walk, 1, project_id);
        sqlite3_bind_int64(walk, 2, have ? last_id : 0);
        sqlite3_bind_int64(walk, 3, have ? MARK_EVERY - 1 : 0);
        int src = sqlite3_step(walk);
        int64_t id = src == SQLITE_ROW ? sqlite3_column_int64(walk, 0) : 0;
        sqlite3_reset(walk);
        if (src == SQLITE_DONE) break;
        if (src != SQLITE_ROW) {
            rc = sq_db_fail(s, err, src, "extending the task rank marks");
            break;
        }
        sqlite3_bind_int64(put, 1, project_id);
        sqlite3_bind_int64(put, 2, next);
        sqlite3_bind_int64(put, 3, id);
        if ((rc = sq_stmt_run(s, put, err, "extending the task rank marks"))) break;
        have = 1;
        last_id = id;
        next += MARK_EVERY;
    }
    sq_sql_release(s, walk);
    sq_sql_release(s, put);
    return rc;
}
