/* The store's quality-control subject: rules documents and findings. See store/qc.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "store/qc.h"
#include "store/sqlite_int.h"

enum { QC_PAGE_MAX = 10000, QC_PAGE_DEFAULT = 100 };

/* ---- the rules document --------------------------------------------------------------------- */

int an_store_qc_rules_get(an_store *s, int64_t project_id, char **doc, char **updated_at,
                          an_err *err)
{
    *doc = NULL;
    if (updated_at) *updated_at = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(s, "SELECT doc, updated_at FROM qc_rules WHERE project_id = ?1", &st,
                            err, "reading the QC rules");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    rc = sq_step_one(s, st, err, "reading the QC rules");
    if (rc == 1) {
        *doc = sq_column_dup(st, 0);
        if (updated_at) *updated_at = sq_column_dup(st, 1);
        rc = 0;
    }
    sq_sql_release(s, st);
    return rc;
}

int an_store_qc_rules_set(an_store *s, int64_t project_id, const char *doc, an_err *err)
{
    bool own = false;
    int rc = sq_begin_own(s, &own, err);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    const char *sql = doc ? "INSERT INTO qc_rules (project_id, doc, updated_at) "
                            "VALUES (?1, ?2, ?3) ON CONFLICT (project_id) DO UPDATE SET "
                            "doc = excluded.doc, updated_at = excluded.updated_at"
                          : "DELETE FROM qc_rules WHERE project_id = ?1";
    rc = sq_sql_acquire(s, sql, &st, err, "storing the QC rules");
    if (!rc) {
        sqlite3_bind_int64(st, 1, project_id);
        if (doc) {
            sqlite3_bind_text(st, 2, doc, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, s->tx_now, -1, SQLITE_STATIC);
        }
        int src = sqlite3_step(st);
        if (src == SQLITE_CONSTRAINT_FOREIGNKEY)
            rc = sq_no_project(err, project_id);
        else if (src != SQLITE_DONE)
            rc = sq_db_fail(s, err, src, "storing the QC rules");
        sq_sql_release(s, st);
    }
    return sq_finish_own(s, own, rc, err);
}

/* ---- findings --------------------------------------------------------------------------------- */

static bool is_severity(const char *v)
{
    return v && (strcmp(v, "error") == 0 || strcmp(v, "warning") == 0);
}

static bool is_origin(const char *v)
{
    return v && (strcmp(v, AN_QC_ORIGIN_SUBMIT) == 0 || strcmp(v, AN_QC_ORIGIN_BATCH) == 0);
}

static int check_finding(const an_qc_finding_in *f, size_t i, an_err *err)
{
    char where[64];
    if (!is_severity(f->severity)) {
        snprintf(where, sizeof where, "findings[%zu].severity", i);
        return an_err_set(err, AN_EINVAL, where, "a finding's severity is \"error\" or \"warning\"");
    }
    if (!is_origin(f->origin)) {
        snprintf(where, sizeof where, "findings[%zu].origin", i);
        return an_err_set(err, AN_EINVAL, where, "a finding's origin is \"submit\" or \"batch\"");
    }
    if (!f->rule || !*f->rule || !f->message) {
        snprintf(where, sizeof where, "findings[%zu].%s", i, !f->rule || !*f->rule ? "rule" : "message");
        return an_err_set(err, AN_EINVAL, where, "a finding needs a rule id and a message");
    }
    return 0;
}

int an_store_qc_findings_add(an_store *s, const an_qc_finding_in *f, size_t n, an_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = check_finding(&f[i], i, err);
        if (rc) return rc;
    }
    if (n == 0) return 0;
    bool own = false;
    int rc = sq_begin_own(s, &own, err);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    rc = sq_sql_acquire(s,
                        "INSERT INTO qc_findings (project_id, task_id, annotation_id, "
                        "annotator_id, rule, severity, place, message, origin, created_at) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                        &st, err, "storing QC findings");
    for (size_t i = 0; !rc && i < n; i++) {
        const an_qc_finding_in *x = &f[i];
        sqlite3_bind_int64(st, 1, x->project_id);
        sqlite3_bind_int64(st, 2, x->task_id);
        sq_bind_id_or_null(st, 3, x->annotation_id);
        sq_bind_id_or_null(st, 4, x->annotator_id);
        sqlite3_bind_text(st, 5, x->rule, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, x->severity, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, x->place ? x->place : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, x->message, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, x->origin, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 10, s->tx_now, -1, SQLITE_STATIC);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
            char where[64];
            snprintf(where, sizeof where, "findings[%zu]", i);
            rc = an_err_set(err, AN_ENOTFOUND, where,
                            "project %lld, task %lld or annotation %lld does not exist; findings "
                            "must name stored objects",
                            (long long)x->project_id, (long long)x->task_id,
                            (long long)x->annotation_id);
        } else if (src != SQLITE_DONE) {
            rc = sq_db_fail(s, err, src, "storing QC findings");
        }
    }
    sq_sql_release(s, st);
    return sq_finish_own(s, own, rc, err);
}

static int delete_where(an_store *s, const char *sql, int64_t id, const char *origin,
                        int64_t *deleted, an_err *err)
{
    if (deleted) *deleted = 0;
    if (origin && !is_origin(origin))
        return an_err_set(err, AN_EINVAL, "origin", "origin is \"submit\" or \"batch\"");
    bool own = false;
    int rc = sq_begin_own(s, &own, err);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    rc = sq_sql_acquire(s, sql, &st, err, "deleting QC findings");
    if (!rc) {
        sqlite3_bind_int64(st, 1, id);
        sq_bind_text_or_null(st, 2, origin);
        int src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = sq_db_fail(s, err, src, "deleting QC findings");
        else if (deleted)
            *deleted = sqlite3_changes(s->db);
        sq_sql_release(s, st);
    }
    return sq_finish_own(s, own, rc, err);
}

int an_store_qc_findings_delete(an_store *s, int64_t project_id, const char *origin,
                                int64_t *deleted, an_err *err)
{
    return delete_where(s,
                        "DELETE FROM qc_findings WHERE project_id = ?1 AND (?2 IS NULL OR "
                        "origin = ?2)",
                        project_id, origin, deleted, err);
}

int an_store_qc_findings_delete_annotation(an_store *s, int64_t annotation_id, const char *origin,
                                           an_err *err)
{
    return delete_where(s,
                        "DELETE FROM qc_findings WHERE annotation_id = ?1 AND (?2 IS NULL OR "
                        "origin = ?2)",
                        annotation_id, origin, NULL, err);
}

int an_store_qc_findings_list(an_store *s, const an_qc_filter *f, an_qc_finding_cb cb, void *ud,
                              an_err *err)
{
    int limit = f->limit ? f->limit : QC_PAGE_DEFAULT;
    if (limit < 0 || f->after_id < 0)
        return an_err_set(err, AN_EINVAL, limit < 0 ? "limit" : "after",
                          "the limit and the after id must not be negative");
    if (limit > QC_PAGE_MAX) limit = QC_PAGE_MAX;
    if (f->severity && !is_severity(f->severity))
        return an_err_set(err, AN_EINVAL, "severity", "severity is \"error\" or \"warning\"");
    if (f->origin && !is_origin(f->origin))
        return an_err_set(err, AN_EINVAL, "origin", "origin is \"submit\" or \"batch\"");
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(
        s,
        "SELECT id, project_id, task_id, annotation_id, annotator_id, rule, severity, place, "
        "message, origin, created_at FROM qc_findings WHERE project_id = ?1 AND id > ?2 "
        "AND (?3 IS NULL OR rule = ?3) AND (?4 IS NULL OR severity = ?4) "
        "AND (?5 IS NULL OR origin = ?5) AND (?6 IS NULL OR annotator_id = ?6) "
        "AND (?7 IS NULL OR task_id = ?7) AND (?8 IS NULL OR annotation_id = ?8) "
        "ORDER BY id LIMIT ?9",
        &st, err, "listing QC findings");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, f->project_id);
    sqlite3_bind_int64(st, 2, f->after_id);
    sq_bind_text_or_null(st, 3, f->rule);
    sq_bind_text_or_null(st, 4, f->severity);
    sq_bind_text_or_null(st, 5, f->origin);
    sq_bind_id_or_null(st, 6, f->annotator_id);
    sq_bind_id_or_null(st, 7, f->task_id);
    sq_bind_id_or_null(st, 8, f->annotation_id);
    sqlite3_bind_int(st, 9, limit);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        an_qc_finding_row r = {
            .id = sqlite3_column_int64(st, 0),
            .project_id = sqlite3_column_int64(st, 1),
            .task_id = sqlite3_column_int64(st, 2),
            .annotation_id = sqlite3_column_int64(st, 3),
            .annotator_id = sqlite3_column_int64(st, 4),
            .rule = (const char *)sqlite3_column_text(st, 5),
            .severity = (const char *)sqlite3_column_text(st, 6),
            .place = (const char *)sqlite3_column_text(st, 7),
            .message = (const char *)sqlite3_column_text(st, 8),
            .origin = (const char *)sqlite3_column_text(st, 9),
            .created_at = (const char *)sqlite3_column_text(st, 10),
        };
        if ((rc = cb(ud, &r))) break;
    }
    if (!rc && src != SQLITE_DONE) rc = sq_db_fail(s, err, src, "listing QC findings");
    sq_sql_release(s, st);
    return rc;
}

typedef struct count_ctx {
    an_qc_rule_count_cb by_rule;
    an_qc_annotator_count_cb by_annotator;
    void *ud;
} count_ctx;

static int count_each(an_store *s, const char *sql, int64_t project_id, const char *origin,
                      count_ctx *c, an_err *err)
{
    if (origin && !is_origin(origin))
        return an_err_set(err, AN_EINVAL, "origin", "origin is \"submit\" or \"batch\"");
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(s, sql, &st, err, "counting QC findings");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    sq_bind_text_or_null(st, 2, origin);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sev = (const char *)sqlite3_column_text(st, 1);
        int64_t n = sqlite3_column_int64(st, 2);
        rc = c->by_rule ? c->by_rule(c->ud, (const char *)sqlite3_column_text(st, 0), sev, n)
                        : c->by_annotator(c->ud, sqlite3_column_int64(st, 0), sev, n);
        if (rc) break;
    }
    if (!rc && src != SQLITE_DONE) rc = sq_db_fail(s, err, src, "counting QC findings");
    sq_sql_release(s, st);
    return rc;
}

int an_store_qc_counts_by_rule(an_store *s, int64_t project_id, const char *origin,
                               an_qc_rule_count_cb cb, void *ud, an_err *err)
{
    count_ctx c = {.by_rule = cb, .ud = ud};
    return count_each(s,
                      "SELECT rule, severity, count(*) FROM qc_findings WHERE project_id = ?1 "
                      "AND (?2 IS NULL OR origin = ?2) GROUP BY rule, severity ORDER BY rule, "
                      "severity",
                      project_id, origin, &c, err);
}

int an_store_qc_counts_by_annotator(an_store *s, int64_t project_id, const char *origin,
                                    an_qc_annotator_count_cb cb, void *ud, an_err *err)
{
    count_ctx c = {.by_annotator = cb, .ud = ud};
    return count_each(s,
                      "SELECT coalesce(annotator_id, 0), severity, count(*) FROM qc_findings "
                      "WHERE project_id = ?1 AND (?2 IS NULL OR origin = ?2) GROUP BY 1, "
                      "severity ORDER BY 1, severity",
                      project_id, origin, &c, err);
}
