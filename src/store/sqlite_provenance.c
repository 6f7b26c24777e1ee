/* Task provenance in SQLite (schema 7): see provenance.h. */
#include <stdlib.h>
#include <string.h>

#include "store/provenance.h"
#include "store/sqlite_int.h"

int an_store_provenance_set(an_store *s, int64_t task_id, const an_provenance *p, an_err *err)
{
    int rc = sq_need_write_tx(s, err, "an_store_provenance_set");
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    rc = sq_sql_acquire(s,
                        "INSERT OR REPLACE INTO task_provenance (task_id, source, licence, "
                        "authorisation, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                        &st, err, "writing a task's provenance");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, task_id);
    sq_bind_text_or_null(st, 2, p->source);
    sq_bind_text_or_null(st, 3, p->licence);
    sq_bind_text_or_null(st, 4, p->authorisation);
    sq_bind_text_or_null(st, 5, p->detail);
    rc = sq_stmt_run(s, st, err, "writing a task's provenance");
    sq_sql_release(s, st);
    return rc;
}

static int prov_row(sqlite3_stmt *st, void *ctx)
{
    an_provenance *p = ctx;
    p->source = sq_column_dup(st, 0);
    p->licence = sq_column_dup(st, 1);
    p->authorisation = sq_column_dup(st, 2);
    p->detail = sq_column_dup(st, 3);
    return 1;
}

int an_store_provenance_get(an_store *s, int64_t task_id, an_provenance *out, bool *found,
                            an_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = sq_each_row(s,
                         "SELECT source, licence, authorisation, detail FROM task_provenance "
                         "WHERE task_id = ?1",
                         &task_id, 1, prov_row, out, err, "reading a task's provenance");
    if (rc < 0) return rc;
    *found = rc == 1;
    return 0;
}

void an_provenance_free(an_provenance *p)
{
    free((char *)p->source);
    free((char *)p->licence);
    free((char *)p->authorisation);
    free((char *)p->detail);
    memset(p, 0, sizeof *p);
}

typedef struct count_ctx {
    an_licence_count_cb cb;
    void *ud;
} count_ctx;

static int count_row(sqlite3_stmt *st, void *ctx)
{
    count_ctx *c = ctx;
    return c->cb(c->ud, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
                 sqlite3_column_int64(st, 2));
}

int an_store_licence_counts(an_store *s, int64_t project_id, an_licence_count_cb cb, void *ud,
                            an_err *err)
{
    count_ctx c = {cb, ud};
    return sq_each_row(s,
                       "SELECT p.licence, count(*), "
                       "sum(CASE WHEN p.detail LIKE '%\"policy\":\"flagged\"%' THEN 1 ELSE 0 END) "
                       "FROM task_provenance p JOIN tasks t ON t.id = p.task_id "
                       "WHERE t.project_id = ?1 GROUP BY p.licence ORDER BY p.licence",
                       &project_id, 1, count_row, &c, err, "counting licences");
}
