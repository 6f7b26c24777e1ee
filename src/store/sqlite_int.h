/* What the files of the SQLite backend share: the handle, the prepared-statement ids and the
 * helpers every part uses. Only src/store/sqlite*.c include this; everything else goes
 * through store.h.
 *
 * The backend is split by subject (sqlite.c: opening, migrations, transactions, tasks and
 * accounts; sqlite_<subject>.c: later subjects), each writing its SQL against the schema of
 * sqlite.c's migrations. A new subject's queries use sq_sql_acquire/sq_each_row, which
 * cache their statements per handle by SQL text, so they need no entry in enum stmt_id. */
#ifndef AN_STORE_SQLITE_INT_H
#define AN_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

enum stmt_id {
    ST_BEGIN,
    ST_BEGIN_READ,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SAVEPOINT,
    ST_SAVEPOINT_RELEASE,
    ST_SAVEPOINT_UNDO,
    ST_TASK_INSERT,
    ST_TASK_HASH_AT,
    ST_ANNOTATION_INSERT,
    ST_LABEL_INSERT,
    ST_PREDICTION_INSERT,
    ST_COUNTERS_ADD,
    ST_BATCH_INSERT,
    ST_BATCH_ADD,
    ST_USER_INSERT,
    ST_USER_BY_NAME,
    ST_USER_BY_ID,
    ST_USER_ENSURE,
    ST_PROJECT_INSERT,
    ST_PROJECT_BY_NAME,
    ST_PROJECT_BY_ID,
    ST_LABELED_COUNT,
    /* schema 2 */
    ST_USER_SET_PASSWORD,
    ST_USER_SET_ACTIVE,
    ST_USER_ACTIVE,
    ST_USER_AUTH,
    ST_TOKEN_INSERT,
    ST_TOKEN_USER,
    ST_TOKEN_TOUCH,
    ST_TOKEN_DELETE,
    ST_SESSION_PURGE,
    ST_SESSION_INSERT,
    ST_SESSION_GET,
    ST_SESSION_DELETE,
    ST_MEMBER_ADD,
    ST_MEMBER_REMOVE,
    ST_MEMBER_IS,
    ST_TASK_GET,
    ST_TASK_KEY_OF,
    ST_TASK_AT_KEY,
    ST_TASK_SET_KEY,
    ST_TASK_SET_DATA,
    ST_TASK_SET_ALL,
    ST_TASK_DELETE,
    ST_ANNOTATION_GET,
    ST_ANNOTATION_SET,
    ST_ANNOTATION_DELETE,
    ST_LABELS_DELETE,
    ST_LOCK,
    ST_UNLOCK,
    ST_NEXT_TASK,
    ST_HINT_GET,
    ST_HINT_SET,
    ST_HINT_LOWER,
    ST_FIRST_OPEN,
    ST_TASK_MAX,
    ST_REVIEW_INSERT,
    ST_AUDIT_INSERT,
    ST__COUNT
};

/* Counters of one project accumulated during the open write transaction. */
typedef struct pending {
    int64_t project_id;
    int64_t tasks, annotations, predictions;
    bool marks_cut; /* a task was deleted: the commit extends the rank marks even when the
                       net task count did not move (an_store_commit; sqlite_marks.c) */
} pending;

enum tx_state { TX_NONE, TX_WRITE, TX_READ };

/* A statement of SQL not in stmt_sql (sq_each_row's queries, listings, rare writes), prepared
 * on first use and kept for the handle's life, like the ST_* ones. busy marks it stepping:
 * a row callback may call back into the store and run the same SQL again, which then gets a
 * statement of its own for that call. */
enum { SQL_CACHE = 64 };
typedef struct cached_sql {
    sqlite3_stmt *st;
    bool busy;
} cached_sql;

struct an_store {
    sqlite3 *db;
    char *location;
    int version;
    enum tx_state tx;
    int readers;        /* open iterators and read_begin calls sharing the TX_READ transaction */
    int reads_in_write; /* read_begin calls made while a write transaction was open */
    int soft;           /* how many of the readers are soft (an_store_read_begin_soft) */
    sqlite3_stmt *stmt[ST__COUNT];
    cached_sql sql[SQL_CACHE];
    int n_sql;
    pending *pend;
    size_t n_pend, cap_pend, last_pend;
    pending *mark_pend; /* the counters at an_store_mark, restored by an_store_mark_undo */
    size_t n_mark_pend, cap_mark_pend;
    bool marked;
    char tx_now[32]; /* the open write transaction's start time: "now" for its rows */
    double busy_since;
    double busy_limit_s; /* how long the busy handler waits; 0: BUSY_TIMEOUT_S */
    uint32_t rng;        /* jitter for the busy handler's sleeps */
    an_wal_cb wal_cb;    /* with autocheckpoint off: told the log's size after commits */
    void *wal_ud;
};

/* ---- helpers (sqlite.c) ------------------------------------------------------------------ */

/* Fills err from SQLite's error for rc ("while DOING: …" with advice); returns -code. */
int sq_db_fail(an_store *s, an_err *err, int rc, const char *doing);
/* AN_EINTERNAL unless a write transaction (an_store_begin) is open. */
int sq_need_write_tx(an_store *s, an_err *err, const char *what);
/* The cached statement of a fixed query. */
int sq_stmt_get(an_store *s, enum stmt_id id, sqlite3_stmt **out, an_err *err);
int sq_exec_id(an_store *s, enum stmt_id id, an_err *err, const char *doing);
/* A statement for any SQL text, cached per handle by text (a fresh one when the cached one
 * is in use); give it back with sq_sql_release, which resets it and clears its bindings. */
int sq_sql_acquire(an_store *s, const char *sql, sqlite3_stmt **out, an_err *err,
                   const char *doing);
void sq_sql_release(an_store *s, sqlite3_stmt *st);
/* sq_sql_acquire returning SQLite's result code instead of an an_err. */
int sq_sql_prepare(an_store *s, const char *sql, sqlite3_stmt **out);
/* Runs SQL with one integer (?1) then up to 4 text-or-NULL parameters (?2…) in the open or an
 * own transaction; *changed (may be NULL) is how many rows it changed. With src_out, a
 * unique violation gives -AN_EEXIST (and *src_out the SQLite code) instead of an error. */
int sq_write_texts(an_store *s, const char *sql, int64_t id, const char *const *texts, int n_texts,
                   int *changed, int *src_out, an_err *err, const char *doing);
/* Steps a statement that returns no rows and resets it. */
int sq_stmt_run(an_store *s, sqlite3_stmt *st, an_err *err, const char *doing);
/* Steps once: 1 with a row, 0 when there is none (statement reset), < 0 on error. */
int sq_step_one(an_store *s, sqlite3_stmt *st, an_err *err, const char *doing);
typedef int (*row_fn)(sqlite3_stmt *st, void *ctx);
/* A row_fn for single-integer queries: stores column 0 into the int64_t at ctx and stops. */
int sq_int_row(sqlite3_stmt *st, void *ctx);
/* Runs sql with integer parameters, calling row for each row; a non-zero return from row
 * stops and is returned. The callback may use the store, even to run the same query. */
int sq_each_row(an_store *s, const char *sql, const int64_t *params, int n_params, row_fn row,
                void *ctx, an_err *err, const char *doing);
int sq_exec_sql(an_store *s, const char *sql, an_err *err, const char *doing);

/* Bindings: NULL text, ids <= 0 and NaN are bound as SQL NULL. Text is bound SQLITE_STATIC:
 * it must outlive the step. */
void sq_bind_text_or_null(sqlite3_stmt *st, int i, const char *text);
void sq_bind_id_or_null(sqlite3_stmt *st, int i, int64_t id);
void sq_bind_real_or_null(sqlite3_stmt *st, int i, double v);
double sq_column_real_or_nan(sqlite3_stmt *st, int i);
char *sq_column_dup(sqlite3_stmt *st, int i); /* malloc'd copy, NULL for SQL NULL */

/* A single-statement write in the caller's write transaction, or in its own when none is
 * open (*own set): finish with sq_finish_own, which commits or rolls back an own one. */
int sq_begin_own(an_store *s, bool *own, an_err *err);
int sq_finish_own(an_store *s, bool own, int rc, an_err *err);
int sq_write_by_id(an_store *s, enum stmt_id id, int64_t a, sqlite3_stmt **pst, bool *own,
                   an_err *err);

bool sq_is_unique_violation(int rc);
bool sq_parse_id(const char *text, int64_t *id);
int sq_check_name(const char *name, const char *what, an_err *err);
void sq_iso_from_epoch(int64_t t, char out[32]);
int sq_no_user(an_err *err, int64_t id);
int sq_no_project(an_err *err, int64_t id);
bool sq_user_exists(an_store *s, int64_t id);
int sq_no_annotation(an_err *err, int64_t id);
/* Checks a page's offset (>= 0) and limit (>= 0; clipped to the store's page maximum). */
int sq_check_page(int64_t offset, int *limit, an_err *err);

/* ---- task rank marks (sqlite_marks.c): every MARK_EVERY-th task of a project by id ------- */

/* The greatest mark of the project at or before offset: its rank and task id, or 0 and 0 when
 * there is none. A page at offset is then the tasks with id >= *task_id after skipping
 * offset - *rank of them. */
int sq_marks_seek(an_store *s, int64_t project_id, int64_t offset, int64_t *rank, int64_t *task_id,
                  an_err *err);
/* Drops the project's marks at and after task_id, whose deletion shifts their ranks. In the
 * write transaction that deletes the task. */
int sq_marks_cut(an_store *s, int64_t project_id, int64_t task_id, an_err *err);
/* Adds the project's missing marks from its last one to its end. In the write transaction,
 * after its task counters were written (a commit that changed the project's tasks). */
int sq_marks_extend(an_store *s, int64_t project_id, an_err *err);

#endif
