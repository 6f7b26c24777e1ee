/* Label Studio ML backends (schema 5): see backends.h. */
#include <stdlib.h>
#include <string.h>

#include "store/backends.h"
#include "store/sqlite_int.h"

#define BACKEND_COLUMNS                                                                            \
    "id, project_id, url, title, model_version, timeout_ms, retries, batch_size, concurrency, "   \
    "is_active, created_at"

void an_backend_defaults(an_backend *b)
{
    memset(b, 0, sizeof *b);
    b->timeout_ms = 30000;
    b->retries = 2;
    b->batch_size = 16;
    b->concurrency = 2;
    b->is_active = true;
}

void an_backend_clear(an_backend *b)
{
    if (!b) return;
    free(b->url);
    free(b->title);
    free(b->model_version);
    free(b->created_at);
    memset(b, 0, sizeof *b);
}

int an_backend_check(const an_backend *b, an_err *err)
{
    if (!b->url || !*b->url)
        return an_err_set(err, AN_EINVAL, "url", "an ML backend needs a URL (http or https)");
    if (b->timeout_ms < AN_BACKEND_TIMEOUT_MS_MIN || b->timeout_ms > AN_BACKEND_TIMEOUT_MS_MAX)
        return an_err_set(err, AN_EINVAL, "timeout",
                          "give a timeout from %d ms to %d s", AN_BACKEND_TIMEOUT_MS_MIN,
                          AN_BACKEND_TIMEOUT_MS_MAX / 1000);
    if (b->retries < 0 || b->retries > AN_BACKEND_RETRIES_MAX)
        return an_err_set(err, AN_EINVAL, "retries", "give 0 to %d retries",
                          AN_BACKEND_RETRIES_MAX);
    if (b->batch_size < 1 || b->batch_size > AN_BACKEND_BATCH_MAX)
        return an_err_set(err, AN_EINVAL, "batch", "give 1 to %d tasks per request",
                          AN_BACKEND_BATCH_MAX);
    if (b->concurrency < 1 || b->concurrency > AN_BACKEND_CONCURRENCY_MAX)
        return an_err_set(err, AN_EINVAL, "concurrency", "give 1 to %d requests in flight",
                          AN_BACKEND_CONCURRENCY_MAX);
    if (b->title && strlen(b->title) > AN_BACKEND_TITLE_MAX)
        return an_err_set(err, AN_EINVAL, "title", "a title has at most %d bytes",
                          AN_BACKEND_TITLE_MAX);
    return 0;
}

/* Fills b from a row of BACKEND_COLUMNS; with copy false the strings are borrowed. */
static void backend_from_row(sqlite3_stmt *st, an_backend *b, bool copy)
{
    b->id = sqlite3_column_int64(st, 0);
    b->project_id = sqlite3_column_int64(st, 1);
    b->timeout_ms = sqlite3_column_int(st, 5);
    b->retries = sqlite3_column_int(st, 6);
    b->batch_size = sqlite3_column_int(st, 7);
    b->concurrency = sqlite3_column_int(st, 8);
    b->is_active = sqlite3_column_int(st, 9) != 0;
    if (copy) {
        b->url = sq_column_dup(st, 2);
        b->title = sq_column_dup(st, 3);
        b->model_version = sq_column_dup(st, 4);
        b->created_at = sq_column_dup(st, 10);
    } else {
        b->url = (char *)sqlite3_column_text(st, 2);
        b->title = (char *)sqlite3_column_text(st, 3);
        b->model_version = (char *)sqlite3_column_text(st, 4);
        b->created_at = (char *)sqlite3_column_text(st, 10);
    }
}

static int no_backend(an_err *err, int64_t id)
{
    return an_err_set(err, AN_ENOTFOUND, "backend", "no ML backend numbered %lld; `annot backend "
                      "list PROJECT` lists them", (long long)id);
}

static void bind_fields(sqlite3_stmt *st, const an_backend *b)
{
    sqlite3_bind_text(st, 2, b->url, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, b->title ? b->title : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, b->model_version ? b->model_version : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, b->timeout_ms);
    sqlite3_bind_int(st, 6, b->retries);
    sqlite3_bind_int(st, 7, b->batch_size);
    sqlite3_bind_int(st, 8, b->concurrency);
    sqlite3_bind_int(st, 9, b->is_active);
}

int an_store_backend_add(an_store *s, const an_backend *b, int64_t *id_out, an_err *err)
{
    if (id_out) *id_out = 0;
    int rc = an_backend_check(b, err);
    if (rc) return rc;
    bool own;
    if ((rc = sq_begin_own(s, &own, err))) return rc;
    sqlite3_stmt *st = NULL;
    int src = sq_sql_prepare(s,
                             "INSERT INTO ml_backends (project_id, url, title, model_version, "
                             "timeout_ms, retries, batch_size, concurrency, is_active, "
                             "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                             &st);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, b->project_id);
        bind_fields(st, b);
        sqlite3_bind_text(st, 10, s->tx_now, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
    }
    sq_sql_release(s, st);
    if (src == SQLITE_DONE) {
        if (id_out) *id_out = sqlite3_last_insert_rowid(s->db);
    } else if (src == SQLITE_CONSTRAINT_FOREIGNKEY || src == SQLITE_CONSTRAINT_NOTNULL) {
        rc = sq_no_project(err, b->project_id);
    } else {
        rc = sq_db_fail(s, err, src, "adding an ML backend");
    }
    return sq_finish_own(s, own, rc, err);
}

static int backend_copy_row(sqlite3_stmt *st, void *ctx)
{
    backend_from_row(st, ctx, true);
    return 1;
}

int an_store_backend_get(an_store *s, int64_t id, an_backend *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = sq_each_row(s, "SELECT " BACKEND_COLUMNS " FROM ml_backends WHERE id = ?1", &id, 1,
                         backend_copy_row, out, err, "reading an ML backend");
    if (rc < 0) return rc;
    if (rc == 0) return no_backend(err, id);
    return 0;
}

int an_store_backend_update(an_store *s, const an_backend *b, an_err *err)
{
    int rc = an_backend_check(b, err);
    if (rc) return rc;
    bool own;
    if ((rc = sq_begin_own(s, &own, err))) return rc;
    sqlite3_stmt *st = NULL;
    int src = sq_sql_prepare(s,
                             "UPDATE ml_backends SET url = ?2, title = ?3, model_version = ?4, "
                             "timeout_ms = ?5, retries = ?6, batch_size = ?7, concurrency = ?8, "
                             "is_active = ?9 WHERE id = ?1",
                             &st);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, b->id);
        bind_fields(st, b);
        src = sqlite3_step(st);
    }
    sq_sql_release(s, st);
    if (src != SQLITE_DONE)
        rc = sq_db_fail(s, err, src, "changing an ML backend");
    else if (sqlite3_changes(s->db) == 0)
        rc = no_backend(err, b->id);
    return sq_finish_own(s, own, rc, err);
}

int an_store_backend_set_version(an_store *s, int64_t id, const char *model_version,
                                 an_err *err)
{
    const char *texts[1] = {model_version ? model_version : ""};
    int changed = 0;
    int rc = sq_write_texts(s, "UPDATE ml_backends SET model_version = ?2 WHERE id = ?1", id,
                            texts, 1, &changed, NULL, err, "recording an ML backend's version");
    if (rc) return rc;
    if (!changed) return no_backend(err, id);
    return 0;
}

int an_store_backend_remove(an_store *s, int64_t id, an_err *err)
{
    int changed = 0;
    int rc = sq_write_texts(s, "DELETE FROM ml_backends WHERE id = ?1", id, NULL, 0, &changed,
                            NULL, err, "removing an ML backend");
    if (rc) return rc;
    if (!changed) return no_backend(err, id);
    return 0;
}

typedef struct list_ctx {
    an_backend_cb cb;
    void *ud;
} list_ctx;

static int backend_row(sqlite3_stmt *st, void *ctx)
{
    list_ctx *c = ctx;
    an_backend b;
    backend_from_row(st, &b, false);
    return c->cb(c->ud, &b);
}

int an_store_backend_list(an_store *s, int64_t project_id, an_backend_cb cb, void *ud,
                          an_err *err)
{
    list_ctx c = {cb, ud};
    const char *sql = project_id
                          ? "SELECT " BACKEND_COLUMNS " FROM ml_backends WHERE project_id = ?1 "
                            "ORDER BY id"
                          : "SELECT " BACKEND_COLUMNS " FROM ml_backends WHERE ?1 = ?1 ORDER BY id";
    int rc = sq_each_row(s, sql, &project_id, 1, backend_row, &c, err, "listing ML backends");
    return rc;
}
