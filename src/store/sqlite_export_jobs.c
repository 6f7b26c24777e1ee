/* The store's export jobs (schema 3): see store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "store/sqlite_int.h"

/* ---- export jobs (schema 3)
 * ---------------------------------------------------------------------- */

#define JOB_COLUMNS                                                                                \
    "id, project_id, user_id, format, status, created_at, finished_at, error, path, tasks"

static an_job_status job_status_of(const char *t)
{
    for (int i = 0; i < AN_JOB_STATUS_COUNT; i++)
        if (t && strcmp(t, an_job_status_name((an_job_status)i)) == 0) return (an_job_status)i;
    return AN_JOB_FAILED;
}

/* Fills j from a row of JOB_COLUMNS; with copy false the strings are borrowed. */
static void job_from_row(sqlite3_stmt *st, an_export_job *j, bool copy)
{
    j->id = sqlite3_column_int64(st, 0);
    j->project_id = sqlite3_column_int64(st, 1);
    j->user_id = sqlite3_column_int64(st, 2);
    j->status = job_status_of((const char *)sqlite3_column_text(st, 4));
    j->tasks = sqlite3_column_int64(st, 9);
    if (copy) {
        j->format = sq_column_dup(st, 3);
        j->created_at = sq_column_dup(st, 5);
        j->finished_at = sq_column_dup(st, 6);
        j->error = sq_column_dup(st, 7);
        j->path = sq_column_dup(st, 8);
    } else {
        j->format = (char *)sqlite3_column_text(st, 3);
        j->created_at = (char *)sqlite3_column_text(st, 5);
        j->finished_at = (char *)sqlite3_column_text(st, 6);
        j->error = (char *)sqlite3_column_text(st, 7);
        j->path = (char *)sqlite3_column_text(st, 8);
    }
}

int an_store_export_job_add(an_store *s, int64_t project_id, int64_t user_id, const char *format,
                            int64_t *id_out, an_err *err)
{
    if (id_out) *id_out = 0;
    if (!format || !*format || strlen(format) > 64)
        return an_err_set(err, AN_EINVAL, "format", "give an export format name");
    bool own;
    int rc = sq_begin_own(s, &own, err);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    int src = sq_sql_prepare(s,
                             "INSERT INTO export_jobs (project_id, user_id, format, status, "
                             "created_at) VALUES (?1, ?2, ?3, 'queued', ?4)",
                             &st);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, project_id);
        sq_bind_id_or_null(st, 2, user_id);
        sqlite3_bind_text(st, 3, format, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, s->tx_now, -1, SQLITE_STATIC);
        src = sqlite3_step(st);
    }
    sq_sql_release(s, st);
    if (src == SQLITE_DONE) {
        if (id_out) *id_out = sqlite3_last_insert_rowid(s->db);
    } else if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
        rc = sq_no_project(err, project_id);
    } else {
        rc = sq_db_fail(s, err, src, "queuing an export");
    }
    return sq_finish_own(s, own, rc, err);
}

static int no_job(an_err *err, int64_t id)
{
    return an_err_set(err, AN_ENOTFOUND, "export", "no export job numbered %lld", (long long)id);
}

static int job_copy_row(sqlite3_stmt *st, void *ctx)
{
    job_from_row(st, ctx, true);
    return 1;
}

int an_store_export_job_get(an_store *s, int64_t id, an_export_job *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = sq_each_row(s, "SELECT " JOB_COLUMNS " FROM export_jobs WHERE id = ?1", &id, 1,
                         job_copy_row, out, err, "reading an export job");
    if (rc < 0) return rc;
    if (rc == 0) return no_job(err, id);
    return 0;
}

typedef struct job_cb_ctx {
    an_export_job_cb cb;
    void *ud;
} job_cb_ctx;

static int job_row(sqlite3_stmt *st, void *ctx)
{
    job_cb_ctx *c = ctx;
    an_export_job j;
    job_from_row(st, &j, false);
    return c->cb(c->ud, &j);
}

int an_store_export_job_list(an_store *s, int64_t project_id, an_export_job_cb cb, void *ud,
                             an_err *err)
{
    job_cb_ctx c = {cb, ud};
    return sq_each_row(s,
                       "SELECT " JOB_COLUMNS " FROM export_jobs WHERE project_id = ?1 "
                       "ORDER BY id DESC",
                       &project_id, 1, job_row, &c, err, "listing export jobs");
}

int an_store_export_job_claim(an_store *s, an_export_job *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    bool own;
    int rc = sq_begin_own(s, &own, err);
    if (rc) return rc;
    int64_t none = 0;
    rc = sq_each_row(s,
                     "SELECT " JOB_COLUMNS " FROM export_jobs WHERE status = 'queued' AND ?1 = 0 "
                     "ORDER BY id LIMIT 1",
                     &none, 1, job_copy_row, out, err, "taking an export job");
    int found = rc == 1;
    if (found) {
        const char *texts[1] = {NULL};
        rc = sq_write_texts(s, "UPDATE export_jobs SET status = 'running' WHERE id = ?1", out->id,
                            texts, 0, NULL, NULL, err, "starting an export job");
        out->status = AN_JOB_RUNNING;
    }
    rc = sq_finish_own(s, own, rc < 0 ? rc : 0, err);
    if (rc < 0 || !found) {
        an_export_job_clear(out);
        return rc < 0 ? rc : 0;
    }
    return 1;
}

int an_store_export_job_finish(an_store *s, int64_t id, bool ok, const char *path, int64_t tasks,
                               const char *error, an_err *err)
{
    bool own;
    int rc = sq_begin_own(s, &own, err);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    int src = sq_sql_prepare(s,
                             "UPDATE export_jobs SET status = ?2, finished_at = ?3, "
                             "error = ?4, path = ?5, tasks = ?6 WHERE id = ?1",
                             &st);
    if (src == SQLITE_OK) {
        char now[32];
        an_now_iso(now);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, ok ? "done" : "failed", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, now, -1, SQLITE_TRANSIENT);
        sq_bind_text_or_null(st, 4, ok ? NULL : (error ? error : "failed"));
        sq_bind_text_or_null(st, 5, ok ? path : NULL);
        sqlite3_bind_int64(st, 6, ok ? tasks : 0);
        src = sqlite3_step(st);
    }
    sq_sql_release(s, st);
    if (src != SQLITE_DONE)
        rc = sq_db_fail(s, err, src, "finishing an export job");
    else if (sqlite3_changes(s->db) == 0)
        rc = no_job(err, id);
    return sq_finish_own(s, own, rc, err);
}

int an_store_export_jobs_abandon(an_store *s, const char *error, int64_t *n_out, an_err *err)
{
    if (n_out) *n_out = 0;
    const char *texts[1] = {error ? error : "abandoned"};
    char now[32];
    an_now_iso(now);
    const char *t2[2] = {texts[0], now};
    int changed = 0;
    int rc =
        sq_write_texts(s,
                       "UPDATE export_jobs SET status = 'failed', error = ?2, finished_at = ?3 "
                       "WHERE status = 'running' AND ?1 = 0",
                       0, t2, 2, &changed, NULL, err, "marking abandoned export jobs");
    if (!rc && n_out) *n_out = changed;
    return rc;
}

static int count_row(sqlite3_stmt *st, void *ctx)
{
    int64_t *counts = ctx;
    an_job_status k = job_status_of((const char *)sqlite3_column_text(st, 0));
    counts[k] = sqlite3_column_int64(st, 1);
    return 0;
}

int an_store_export_job_counts(an_store *s, int64_t counts[AN_JOB_STATUS_COUNT], an_err *err)
{
    for (int i = 0; i < AN_JOB_STATUS_COUNT; i++)
        counts[i] = 0;
    return sq_each_row(s, "SELECT status, count(*) FROM export_jobs GROUP BY status", NULL, 0,
                       count_row, counts, err, "counting export jobs");
}
