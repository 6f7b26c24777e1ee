/* The store's append-only audit log, written and read: see store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "store/sqlite_int.h"

/* ---- audit log ---------------------------------------------------------------------------------
 */

int an_store_audit(an_store *s, int64_t user_id, const char *action, const char *object,
                   int64_t object_id, const char *detail_json, an_err *err)
{
    if (!action || !*action)
        return an_err_set(err, AN_EINTERNAL, "action", "an audit entry needs an action name");
    bool own;
    int rc = sq_begin_own(s, &own, err);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    if (!(rc = sq_stmt_get(s, ST_AUDIT_INSERT, &st, err))) {
        /* The moment of the change itself, not of the transaction's start. */
        char now[32];
        an_now_iso(now);
        sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
        sq_bind_id_or_null(st, 2, user_id);
        sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, object ? object : "", -1, SQLITE_STATIC);
        sq_bind_id_or_null(st, 5, object_id);
        sq_bind_text_or_null(st, 6, detail_json);
        rc = sq_stmt_run(s, st, err, "writing the audit log");
    }
    return sq_finish_own(s, own, rc, err);
}

/* ---- reading the audit log (schema 3) ----------------------------------------------------------
 */

int an_store_audit_list(an_store *s, const an_audit_filter *f, an_audit_cb cb, void *ud,
                        an_err *err)
{
    if (f->limit < 1 || f->limit > 10000)
        return an_err_set(err, AN_EINVAL, "limit", "the limit must be from 1 to 10000");
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(s,
                            "SELECT id, at, user_id, action, object, object_id, project_id, detail "
                            "FROM audit WHERE (?1 = 0 OR project_id = ?1) AND (?2 = 0 OR "
                            "user_id = ?2) AND (?3 IS NULL OR at >= ?3) AND id > ?4 ORDER BY id "
                            "LIMIT ?5",
                            &st, err, "reading the audit log");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, f->project_id);
    sqlite3_bind_int64(st, 2, f->user_id);
    sq_bind_text_or_null(st, 3, f->since);
    sqlite3_bind_int64(st, 4, f->after_id);
    sqlite3_bind_int(st, 5, f->limit);
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        an_audit_entry e = {
            .id = sqlite3_column_int64(st, 0),
            .at = (const char *)sqlite3_column_text(st, 1),
            .user_id = sqlite3_column_int64(st, 2),
            .action = (const char *)sqlite3_column_text(st, 3),
            .object = (const char *)sqlite3_column_text(st, 4),
            .object_id = sqlite3_column_int64(st, 5),
            .project_id = sqlite3_column_int64(st, 6),
            .detail = (const char *)sqlite3_column_text(st, 7),
        };
        if ((ret = cb(ud, &e))) break;
    }
    if (!ret && rc != SQLITE_DONE) ret = sq_db_fail(s, err, rc, "reading the audit log");
    sq_sql_release(s, st);
    return ret;
}
