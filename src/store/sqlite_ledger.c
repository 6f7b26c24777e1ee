/* The provenance ledger's rows in SQLite (schema 7): see ledger.h. */
#include <string.h>

#include "store/ledger.h"
#include "store/sqlite_int.h"

#define ROW_COLUMNS "seq, at, kind, project_id, body, prev, hash, sig"

const char *an_store_path(an_store *s)
{
    const char *f = sqlite3_db_filename(s->db, "main");
    if (f && *f) return f;
    return "";
}

int an_store_ledger_head(an_store *s, int64_t *seq, uint8_t hash[AN_LEDGER_HASH_BYTES],
                         an_err *err)
{
    *seq = 0;
    memset(hash, 0, AN_LEDGER_HASH_BYTES);
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(s, "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1", &st, err,
                            "reading the ledger's head");
    if (rc) return rc;
    rc = sq_step_one(s, st, err, "reading the ledger's head");
    if (rc == 1) {
        *seq = sqlite3_column_int64(st, 0);
        const void *h = sqlite3_column_blob(st, 1);
        if (h && sqlite3_column_bytes(st, 1) == AN_LEDGER_HASH_BYTES)
            memcpy(hash, h, AN_LEDGER_HASH_BYTES);
        rc = 0;
    }
    sq_sql_release(s, st);
    return rc;
}

int an_store_ledger_insert(an_store *s, const an_ledger_row *r, const int64_t *task_ids,
                           size_t n_tasks, an_err *err)
{
    int rc = sq_need_write_tx(s, err, "an_store_ledger_insert");
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    rc = sq_sql_acquire(s,
                        "INSERT INTO ledger (" ROW_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                        "?8)",
                        &st, err, "appending to the ledger");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, r->seq);
    sqlite3_bind_text(st, 2, r->at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->kind, -1, SQLITE_STATIC);
    sq_bind_id_or_null(st, 4, r->project_id);
    sqlite3_bind_text(st, 5, r->body, (int)r->body_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, r->prev, (int)r->prev_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 7, r->hash, (int)r->hash_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 8, r->sig, (int)r->sig_len, SQLITE_STATIC);
    rc = sq_stmt_run(s, st, err, "appending to the ledger");
    sq_sql_release(s, st);
    if (rc || !n_tasks) return rc;
    rc = sq_sql_acquire(s, "INSERT OR IGNORE INTO ledger_tasks (task_id, seq) VALUES (?1, ?2)",
                        &st, err, "indexing a ledger entry");
    if (rc) return rc;
    for (size_t i = 0; rc == 0 && i < n_tasks; i++) {
        sqlite3_bind_int64(st, 1, task_ids[i]);
        sqlite3_bind_int64(st, 2, r->seq);
        rc = sq_stmt_run(s, st, err, "indexing a ledger entry");
    }
    sq_sql_release(s, st);
    return rc;
}

typedef struct row_ctx {
    an_ledger_row_cb cb;
    void *ud;
    int rows;
} row_ctx;

static int ledger_row(sqlite3_stmt *st, void *ctx)
{
    row_ctx *c = ctx;
    c->rows++;
    const char *body = (const char *)sqlite3_column_text(st, 4);
    an_ledger_row r = {
        .seq = sqlite3_column_int64(st, 0),
        .at = (const char *)sqlite3_column_text(st, 1),
        .kind = (const char *)sqlite3_column_text(st, 2),
        .project_id = sqlite3_column_int64(st, 3),
        .body = body ? body : "",
        .body_len = body ? (size_t)sqlite3_column_bytes(st, 4) : 0,
        .prev = sqlite3_column_blob(st, 5),
        .prev_len = (size_t)sqlite3_column_bytes(st, 5),
        .hash = sqlite3_column_blob(st, 6),
        .hash_len = (size_t)sqlite3_column_bytes(st, 6),
        .sig = sqlite3_column_blob(st, 7),
        .sig_len = (size_t)sqlite3_column_bytes(st, 7),
    };
    if (!r.at) r.at = "";
    if (!r.kind) r.kind = "";
    return c->cb(c->ud, &r);
}

int an_store_ledger_each(an_store *s, int64_t after_seq, an_ledger_row_cb cb, void *ud,
                         an_err *err)
{
    row_ctx c = {cb, ud, 0};
    return sq_each_row(s, "SELECT " ROW_COLUMNS " FROM ledger WHERE seq > ?1 ORDER BY seq",
                       &after_seq, 1, ledger_row, &c, err, "reading the ledger");
}

int an_store_ledger_get(an_store *s, int64_t seq, an_ledger_row_cb cb, void *ud, an_err *err)
{
    row_ctx c = {cb, ud, 0};
    int rc = sq_each_row(s, "SELECT " ROW_COLUMNS " FROM ledger WHERE seq = ?1", &seq, 1,
                         ledger_row, &c, err, "reading a ledger entry");
    if (rc == 0 && c.rows == 0)
        return an_err_set(err, AN_ENOTFOUND, "seq", "the ledger has no entry %lld",
                          (long long)seq);
    return rc;
}

int an_store_ledger_of_task(an_store *s, int64_t task_id, an_ledger_row_cb cb, void *ud,
                            an_err *err)
{
    row_ctx c = {cb, ud, 0};
    return sq_each_row(s,
                       "SELECT l.seq, l.at, l.kind, l.project_id, l.body, l.prev, l.hash, l.sig "
                       "FROM ledger_tasks t JOIN ledger l ON l.seq = t.seq WHERE t.task_id = ?1 "
                       "ORDER BY t.seq",
                       &task_id, 1, ledger_row, &c, err, "reading a task's ledger entries");
}

int an_store_ledger_of_project(an_store *s, int64_t project_id, const char *kind,
                               an_ledger_row_cb cb, void *ud, an_err *err)
{
    row_ctx c = {cb, ud, 0};
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(s,
                            "SELECT " ROW_COLUMNS " FROM ledger WHERE project_id = ?1 AND "
                            "kind = ?2 ORDER BY seq",
                            &st, err, "reading a project's ledger entries");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((ret = ledger_row(st, &c))) break;
    if (!ret && rc != SQLITE_DONE) ret = sq_db_fail(s, err, rc, "reading a project's ledger");
    sq_sql_release(s, st);
    return ret;
}

typedef struct origin_ctx {
    int64_t project_id, batch_id;
} origin_ctx;

static int origin_row(sqlite3_stmt *st, void *ctx)
{
    origin_ctx *o = ctx;
    o->project_id = sqlite3_column_int64(st, 0);
    o->batch_id = sqlite3_column_int64(st, 1);
    return 1;
}

int an_store_task_origin(an_store *s, int64_t task_id, int64_t *project_id, int64_t *batch_id,
                         an_err *err)
{
    origin_ctx o = {0, 0};
    int rc = sq_each_row(s, "SELECT project_id, batch_id FROM tasks WHERE id = ?1", &task_id, 1,
                         origin_row, &o, err, "reading a task");
    if (rc < 0) return rc;
    if (rc == 0)
        return an_err_set(err, AN_ENOTFOUND, "task", "no task numbered %lld (it may have been "
                          "deleted; its annotation entries remain)", (long long)task_id);
    *project_id = o.project_id;
    *batch_id = o.batch_id;
    return 0;
}

typedef struct hash_ctx {
    an_task_hash_cb cb;
    void *ud;
} hash_ctx;

static int hash_row(sqlite3_stmt *st, void *ctx)
{
    hash_ctx *h = ctx;
    uint8_t zero[AN_HASH_BYTES] = {0};
    const void *b = sqlite3_column_blob(st, 1);
    const uint8_t *hash = b && sqlite3_column_bytes(st, 1) == AN_HASH_BYTES ? b : zero;
    return h->cb(h->ud, sqlite3_column_int64(st, 0), hash);
}

int an_store_batch_task_hashes(an_store *s, int64_t batch_id, int64_t first_id, int64_t last_id,
                               an_task_hash_cb cb, void *ud, an_err *err)
{
    hash_ctx h = {cb, ud};
    int64_t params[3] = {first_id, last_id, batch_id};
    return sq_each_row(s,
                       "SELECT id, content_hash FROM tasks WHERE id BETWEEN ?1 AND ?2 AND "
                       "batch_id = ?3 ORDER BY id",
                       params, 3, hash_row, &h, err, "reading an import batch's tasks");
}
