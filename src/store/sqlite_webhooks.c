/* Webhooks (schema 4): see webhooks.h. */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "store/webhooks.h"

#define HOOK_COLUMNS                                                                               \
    "id, project_id, url, send_payload, send_for_all_actions, actions, headers, is_active, "       \
    "created_by, created_at, updated_at"

void an_webhook_clear(an_webhook *w)
{
    if (!w) return;
    free(w->url);
    free(w->actions);
    free(w->headers);
    free(w->created_at);
    free(w->updated_at);
    memset(w, 0, sizeof *w);
}

/* Fills w from a row of HOOK_COLUMNS; with copy false the strings are borrowed. */
static void hook_from_row(sqlite3_stmt *st, an_webhook *w, bool copy)
{
    w->id = sqlite3_column_int64(st, 0);
    w->project_id = sqlite3_column_int64(st, 1);
    w->send_payload = sqlite3_column_int(st, 3) != 0;
    w->send_for_all_actions = sqlite3_column_int(st, 4) != 0;
    w->is_active = sqlite3_column_int(st, 7) != 0;
    w->created_by = sqlite3_column_int64(st, 8);
    if (copy) {
        w->url = sq_column_dup(st, 2);
        w->actions = sq_column_dup(st, 5);
        w->headers = sq_column_dup(st, 6);
        w->created_at = sq_column_dup(st, 9);
        w->updated_at = sq_column_dup(st, 10);
    } else {
        w->url = (char *)sqlite3_column_text(st, 2);
        w->actions = (char *)sqlite3_column_text(st, 5);
        w->headers = (char *)sqlite3_column_text(st, 6);
        w->created_at = (char *)sqlite3_column_text(st, 9);
        w->updated_at = (char *)sqlite3_column_text(st, 10);
    }
}

static int no_hook(an_err *err, int64_t id)
{
    return an_err_set(err, AN_ENOTFOUND, "webhook", "no webhook numbered %lld", (long long)id);
}

static int check_fields(const an_webhook *w, an_err *err)
{
    if (!w->url || !*w->url) return an_err_set(err, AN_EINVAL, "url", "a webhook needs a URL");
    return 0;
}

int an_store_webhook_add(an_store *s, const an_webhook *w, int64_t *id_out, an_err *err)
{
    if (id_out) *id_out = 0;
    int rc = check_fields(w, err);
    if (rc) return rc;
    bool own;
    rc = sq_begin_own(s, &own, err);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    int src = sq_sql_prepare(s,
                             "INSERT INTO webhooks (project_id, url, send_payload, "
                             "send_for_all_actions, actions, headers, is_active, created_by, "
                             "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                             "?9, ?9)",
                             &st);
    if (src == SQLITE_OK) {
        sq_bind_id_or_null(st, 1, w->project_id);
        sqlite3_bind_text(st, 2, w->url, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, w->send_payload);
        sqlite3_bind_int(st, 4, w->send_for_all_actions);
        sqlite3_bind_text(st, 5, w->actions ? w->actions : "[]", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, w->headers ? w->headers : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 7, w->is_active);
        sq_bind_id_or_null(st, 8, w->created_by);
        sqlite3_bind_text(st, 9, s->tx_now, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
    }
    sq_sql_release(s, st);
    if (src == SQLITE_DONE) {
        if (id_out) *id_out = sqlite3_last_insert_rowid(s->db);
    } else if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
        rc = sq_no_project(err, w->project_id);
    } else {
        rc = sq_db_fail(s, err, src, "adding a webhook");
    }
    return sq_finish_own(s, own, rc, err);
}

static int hook_copy_row(sqlite3_stmt *st, void *ctx)
{
    hook_from_row(st, ctx, true);
    return 1;
}

int an_store_webhook_get(an_store *s, int64_t id, an_webhook *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = sq_each_row(s, "SELECT " HOOK_COLUMNS " FROM webhooks WHERE id = ?1", &id, 1,
                         hook_copy_row, out, err, "reading a webhook");
    if (rc < 0) return rc;
    if (rc == 0) return no_hook(err, id);
    return 0;
}

int an_store_webhook_update(an_store *s, const an_webhook *w, an_err *err)
{
    int rc = check_fields(w, err);
    if (rc) return rc;
    bool own;
    rc = sq_begin_own(s, &own, err);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    int src = sq_sql_prepare(s,
                             "UPDATE webhooks SET url = ?2, send_payload = ?3, "
                             "send_for_all_actions = ?4, actions = ?5, headers = ?6, "
                             "is_active = ?7, updated_at = ?8 WHERE id = ?1",
                             &st);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, w->id);
        sqlite3_bind_text(st, 2, w->url, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, w->send_payload);
        sqlite3_bind_int(st, 4, w->send_for_all_actions);
        sqlite3_bind_text(st, 5, w->actions ? w->actions : "[]", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, w->headers ? w->headers : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 7, w->is_active);
        sqlite3_bind_text(st, 8, s->tx_now, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
    }
    sq_sql_release(s, st);
    if (src != SQLITE_DONE)
        rc = sq_db_fail(s, err, src, "changing a webhook");
    else if (sqlite3_changes(s->db) == 0)
        rc = no_hook(err, w->id);
    return sq_finish_own(s, own, rc, err);
}

int an_store_webhook_delete(an_store *s, int64_t id, an_err *err)
{
    int changed = 0;
    int rc = sq_write_texts(s, "DELETE FROM webhooks WHERE id = ?1", id, NULL, 0, &changed, NULL,
                            err, "deleting a webhook");
    if (rc) return rc;
    if (!changed) return no_hook(err, id);
    return 0;
}

typedef struct hook_cb_ctx {
    an_webhook_cb cb;
    void *ud;
} hook_cb_ctx;

static int hook_row(sqlite3_stmt *st, void *ctx)
{
    hook_cb_ctx *c = ctx;
    an_webhook w;
    hook_from_row(st, &w, false);
    return c->cb(c->ud, &w);
}

int an_store_webhook_list(an_store *s, an_webhook_scope scope, int64_t project_id, an_webhook_cb cb,
                          void *ud, an_err *err)
{
    hook_cb_ctx c = {cb, ud};
    const char *sql;
    switch (scope) {
    case AN_WEBHOOKS_PROJECT:
        sql = "SELECT " HOOK_COLUMNS " FROM webhooks WHERE project_id = ?1 ORDER BY id";
        break;
    case AN_WEBHOOKS_DELIVERY:
        sql = "SELECT " HOOK_COLUMNS " FROM webhooks WHERE is_active AND (project_id IS NULL "
              "OR project_id = ?1) ORDER BY id";
        break;
    default:
        sql = "SELECT " HOOK_COLUMNS " FROM webhooks WHERE ?1 = ?1 ORDER BY id";
        break;
    }
    return sq_each_row(s, sql, &project_id, 1, hook_row, &c, err, "listing webhooks");
}

int an_store_webhook_active_count(an_store *s, int64_t *out, an_err *err)
{
    *out = 0;
    int rc = sq_each_row(s, "SELECT count(*) FROM webhooks WHERE is_active", NULL, 0, sq_int_row,
                         out, err, "counting webhooks");
    return rc < 0 ? rc : 0;
}
