/* Embeddings in the SQLite backend (store/embeddings.h), on the embeddings table of schema 8:
 * a rowid table (vectors of a few KB stay in their B-tree page) with UNIQUE (project_id,
 * field, task_id), so one field of a project is one ordered range. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/f16.h"
#include "store/embeddings.h"
#include "store/sqlite_int.h"

int an_store_embedding_put(an_store *s, int64_t task_id, const char *field, an_emb_dtype dtype,
                           const float *vec, uint32_t dim, an_err *err)
{
    if (!field || !*field || strlen(field) > 200)
        return an_err_set(err, AN_EINVAL, "field", "name the embedding's field (1-200 bytes)");
    if (dim == 0 || dim > (1u << 20))
        return an_err_set(err, AN_EINVAL, "dim", "an embedding has 1 to 1,048,576 values");
    size_t bytes = (size_t)dim * (dtype == AN_EMB_F16 ? 2 : 4);
    void *blob = an_xmalloc(bytes);
    if (dtype == AN_EMB_F16) {
        uint16_t *h = blob;
        for (uint32_t i = 0; i < dim; i++)
            h[i] = an_f32_to_f16(vec[i]);
    } else {
        memcpy(blob, vec, bytes);
    }
    bool own;
    int rc = sq_begin_own(s, &own, err);
    if (rc == 0) {
        sqlite3_stmt *st = NULL;
        rc = sq_sql_acquire(s,
                            "INSERT OR REPLACE INTO embeddings (project_id, task_id, field, "
                            "dtype, dim, vec) SELECT project_id, ?1, ?2, ?3, ?4, ?5 FROM tasks "
                            "WHERE id = ?1",
                            &st, err, "storing an embedding");
        if (rc == 0) {
            sqlite3_bind_int64(st, 1, task_id);
            sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, dtype == AN_EMB_F16 ? "f16" : "f32", -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, dim);
            sqlite3_bind_blob(st, 5, blob, (int)bytes, SQLITE_STATIC);
            int src = sqlite3_step(st);
            if (src != SQLITE_DONE)
                rc = sq_db_fail(s, err, src, "storing an embedding");
            else if (sqlite3_changes(s->db) == 0)
                rc = an_err_set(err, AN_ENOTFOUND, "task_id", "no task numbered %lld",
                                (long long)task_id);
            sq_sql_release(s, st);
        }
        rc = sq_finish_own(s, own, rc, err);
    }
    free(blob);
    return rc;
}

static an_emb_dtype dtype_of(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t && strcmp((const char *)t, "f16") == 0 ? AN_EMB_F16 : AN_EMB_F32;
}

/* One field's embeddings of a project, in task order. */
#define FIELD_SCAN                                                                                 \
    "SELECT task_id, dtype, dim, vec FROM embeddings WHERE project_id = ?1 AND field = ?2 "        \
    "ORDER BY task_id"

static bool size_ok(sqlite3_stmt *st, an_emb_dtype t, uint32_t dim)
{
    return (size_t)sqlite3_column_bytes(st, 3) == (size_t)dim * (t == AN_EMB_F16 ? 2 : 4);
}

int an_store_embedding_pairs(an_store *s, int64_t project_id, const char *field_a,
                             const char *field_b, an_emb_pair_cb cb, void *ud, an_err *err)
{
    /* Two ordered scans merged on task id (the same SQL twice: the statement cache hands
     * the second acquire a statement of its own). One read transaction: one snapshot. */
    int rc = an_store_read_begin(s, err);
    if (rc) return rc;
    sqlite3_stmt *a = NULL, *b = NULL;
    if ((rc = sq_sql_acquire(s, FIELD_SCAN, &a, err, "reading embeddings")) ||
        (rc = sq_sql_acquire(s, FIELD_SCAN, &b, err, "reading embeddings")))
        goto done;
    sqlite3_bind_int64(a, 1, project_id);
    sqlite3_bind_text(a, 2, field_a, -1, SQLITE_STATIC);
    sqlite3_bind_int64(b, 1, project_id);
    sqlite3_bind_text(b, 2, field_b, -1, SQLITE_STATIC);
    int sa = sqlite3_step(a), sb = sqlite3_step(b);
    while (sa == SQLITE_ROW && sb == SQLITE_ROW) {
        int64_t ta = sqlite3_column_int64(a, 0), tb = sqlite3_column_int64(b, 0);
        if (ta < tb) {
            sa = sqlite3_step(a);
            continue;
        }
        if (tb < ta) {
            sb = sqlite3_step(b);
            continue;
        }
        an_emb_pair p = {.task_id = ta,
                         .dtype_a = dtype_of(a, 1),
                         .dim_a = (uint32_t)sqlite3_column_int64(a, 2),
                         .a = sqlite3_column_blob(a, 3),
                         .dtype_b = dtype_of(b, 1),
                         .dim_b = (uint32_t)sqlite3_column_int64(b, 2),
                         .b = sqlite3_column_blob(b, 3)};
        if (!size_ok(a, p.dtype_a, p.dim_a) || !size_ok(b, p.dtype_b, p.dim_b)) {
            rc = an_err_set(err, AN_EINTERNAL, "embeddings",
                            "task %lld has an embedding whose size does not match its "
                            "dimension; store it again",
                            (long long)ta);
            goto done;
        }
        if ((rc = cb(ud, &p))) goto done;
        sa = sqlite3_step(a);
        sb = sqlite3_step(b);
    }
    if (sa != SQLITE_ROW && sa != SQLITE_DONE)
        rc = sq_db_fail(s, err, sa, "reading embeddings");
    else if (sb != SQLITE_ROW && sb != SQLITE_DONE)
        rc = sq_db_fail(s, err, sb, "reading embeddings");
done:
    sq_sql_release(s, a);
    sq_sql_release(s, b);
    an_store_read_end(s);
    return rc;
}

int an_store_embedding_count(an_store *s, int64_t project_id, const char *field, int64_t *out,
                             an_err *err)
{
    *out = 0;
    sqlite3_stmt *st = NULL;
    int rc =
        sq_sql_acquire(s, "SELECT count(*) FROM embeddings WHERE project_id = ?1 AND field = ?2",
                       &st, err, "counting embeddings");
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
    rc = sq_step_one(s, st, err, "counting embeddings");
    if (rc == 1) {
        *out = sqlite3_column_int64(st, 0);
        rc = 0;
    }
    sq_sql_release(s, st);
    return rc;
}
