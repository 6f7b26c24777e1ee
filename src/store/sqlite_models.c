/* The pre-annotation subject of the SQLite backend: models and the predicted-by-version
 * lookup. See store/models.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "store/models.h"
#include "store/sqlite_int.h"

void an_model_clear(an_model *m)
{
    free(m->name);
    free(m->version);
    free(m->control);
    free(m->params);
    free(m->metrics);
    free(m->blob);
    free(m->created_at);
    memset(m, 0, sizeof *m);
}

static int check_model_name(const char *name, an_err *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64)
        return an_err_set(err, AN_EINVAL, "model", "give a model name of 1 to 64 characters");
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_' && name[i] != '.')
            return an_err_set(err, AN_EINVAL, "model",
                              "a model name has letters, digits, '-', '_' and '.' only");
    return 0;
}

int an_store_model_add(an_store *s, const an_model_in *m, int64_t *id_out,
                       char version_out[AN_MODEL_VERSION_MAX], an_err *err)
{
    version_out[0] = '\0';
    int rc = check_model_name(m->name, err);
    if (rc) return rc;
    bool own = false;
    if ((rc = sq_begin_own(s, &own, err))) return rc;
    sqlite3_stmt *st = NULL;
    /* The number after "NAME-" of each version; versions of other shapes count as 0. */
    rc = sq_sql_acquire(s,
                        "SELECT coalesce(max(CAST(substr(version, length(?2) + 2) AS INTEGER)), 0) "
                        "FROM models WHERE project_id = ?1 AND name = ?2",
                        &st, err, "numbering a model version");
    long long next = 1;
    if (!rc) {
        sqlite3_bind_int64(st, 1, m->project_id);
        sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
        rc = sq_step_one(s, st, err, "numbering a model version");
        if (rc == 1) {
            next = sqlite3_column_int64(st, 0) + 1;
            rc = 0;
        }
        sq_sql_release(s, st);
    }
    if (!rc) {
        snprintf(version_out, AN_MODEL_VERSION_MAX, "%s-%lld", m->name, next);
        rc = sq_sql_acquire(s,
                            "INSERT INTO models (project_id, name, version, control, params, "
                            "metrics, blob, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                            &st, err, "storing a model");
    }
    if (!rc) {
        sqlite3_bind_int64(st, 1, m->project_id);
        sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, version_out, -1, SQLITE_STATIC);
        sq_bind_text_or_null(st, 4, m->control);
        sqlite3_bind_text(st, 5, m->params ? m->params : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, m->metrics ? m->metrics : "{}", -1, SQLITE_STATIC);
        if (m->blob)
            sqlite3_bind_blob64(st, 7, m->blob, m->blob_len, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 7);
        sqlite3_bind_text(st, 8, s->tx_now, -1, SQLITE_STATIC);
        int src = sqlite3_step(st);
        if (src == SQLITE_DONE) {
            if (id_out) *id_out = sqlite3_last_insert_rowid(s->db);
        } else if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
            rc = sq_no_project(err, m->project_id);
        } else {
            rc = sq_db_fail(s, err, src, "storing a model");
        }
        sq_sql_release(s, st);
    }
    if (rc) version_out[0] = '\0';
    return sq_finish_own(s, own, rc, err);
}

#define MODEL_COLUMNS                                                                              \
    "id, project_id, name, version, control, params, metrics, created_at, length(blob)"

static void read_row(sqlite3_stmt *st, an_model *m)
{
    m->id = sqlite3_column_int64(st, 0);
    m->project_id = sqlite3_column_int64(st, 1);
    m->name = sq_column_dup(st, 2);
    m->version = sq_column_dup(st, 3);
    m->control = sq_column_dup(st, 4);
    m->params = sq_column_dup(st, 5);
    m->metrics = sq_column_dup(st, 6);
    m->created_at = sq_column_dup(st, 7);
    m->blob_len = (size_t)sqlite3_column_int64(st, 8);
}

int an_store_model_get(an_store *s, int64_t project_id, const char *name, const char *version,
                       an_model *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = check_model_name(name, err);
    if (rc) return rc;
    const char *sql =
        version ? "SELECT " MODEL_COLUMNS ", blob FROM models WHERE project_id = ?1 AND name = ?2 "
                  "AND version = ?3"
                : "SELECT " MODEL_COLUMNS ", blob FROM models WHERE project_id = ?1 AND name = ?2 "
                  "ORDER BY CAST(substr(version, length(?2) + 2) AS INTEGER) DESC, id DESC LIMIT 1";
    sqlite3_stmt *st = NULL;
    rc = sq_sql_acquire(s, sql, &st, err, "reading a model");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    if (version) sqlite3_bind_text(st, 3, version, -1, SQLITE_STATIC);
    rc = sq_step_one(s, st, err, "reading a model");
    if (rc == 1) {
        read_row(st, out);
        int n = sqlite3_column_bytes(st, 9);
        const void *b = sqlite3_column_blob(st, 9);
        if (b && n > 0) {
            out->blob = an_xmalloc((size_t)n);
            memcpy(out->blob, b, (size_t)n);
            out->blob_len = (size_t)n;
        }
        rc = 0;
    } else if (rc == 0) {
        if (version)
            rc = an_err_set(err, AN_ENOTFOUND, "version",
                            "project %lld has no %s model with version \"%s\"; `annot train "
                            "--help` trains one",
                            (long long)project_id, name, version);
        else
            rc = an_err_set(err, AN_ENOTFOUND, "model",
                            "project %lld has no trained %s model; train one with `annot train "
                            "PROJECT --model %s --control NAME`",
                            (long long)project_id, name, name);
    }
    sq_sql_release(s, st);
    return rc;
}

typedef struct list_ctx {
    an_model_cb cb;
    void *ud;
} list_ctx;

static int list_row(sqlite3_stmt *st, void *ctx)
{
    list_ctx *c = ctx;
    an_model m = {
        .id = sqlite3_column_int64(st, 0),
        .project_id = sqlite3_column_int64(st, 1),
        .name = (char *)sqlite3_column_text(st, 2),
        .version = (char *)sqlite3_column_text(st, 3),
        .control = (char *)sqlite3_column_text(st, 4),
        .params = (char *)sqlite3_column_text(st, 5),
        .metrics = (char *)sqlite3_column_text(st, 6),
        .created_at = (char *)sqlite3_column_text(st, 7),
        .blob_len = (size_t)sqlite3_column_int64(st, 8),
    };
    return c->cb(c->ud, &m);
}

int an_store_model_list(an_store *s, int64_t project_id, an_model_cb cb, void *ud, an_err *err)
{
    list_ctx c = {cb, ud};
    int64_t params[1] = {project_id};
    return sq_each_row(s, "SELECT " MODEL_COLUMNS " FROM models WHERE project_id = ?1 ORDER BY id",
                       params, 1, list_row, &c, err, "listing models");
}

int an_store_prediction_exists(an_store *s, int64_t task_id, const char *model_version,
                               bool *out, an_err *err)
{
    *out = false;
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(s,
                            "SELECT 1 FROM predictions WHERE task_id = ?1 AND model_version = ?2 "
                            "LIMIT 1",
                            &st, err, "looking up a prediction");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, task_id);
    sqlite3_bind_text(st, 2, model_version ? model_version : "", -1, SQLITE_STATIC);
    rc = sq_step_one(s, st, err, "looking up a prediction");
    sq_sql_release(s, st);
    if (rc < 0) return rc;
    *out = rc == 1;
    return 0;
}
