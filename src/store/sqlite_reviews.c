/* The store's review decisions and the review queue: see store.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "store/review_order.h"
#include "store/sqlite_int.h"

/* ---- reviews --------------------------------------------------------------------------------- */

int an_store_review_add(an_store *s, int64_t annotation_id, int64_t reviewer_id, bool accepted,
                        const char *comment, int64_t *id_out, an_err *err)
{
    if (id_out) *id_out = 0;
    if (comment && strlen(comment) > 65536)
        return an_err_set(err, AN_EINVAL, "comment",
                          "the review comment is longer than 64 KiB; shorten it");
    sqlite3_stmt *st = NULL;
    bool own = false;
    int rc = sq_write_by_id(s, ST_REVIEW_INSERT, annotation_id, &st, &own, err);
    if (!rc) {
        sq_bind_id_or_null(st, 2, reviewer_id);
        sqlite3_bind_int(st, 3, accepted ? 1 : 0);
        sqlite3_bind_text(st, 4, comment ? comment : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, s->tx_now, -1, SQLITE_STATIC);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src == SQLITE_DONE) {
            if (id_out) *id_out = sqlite3_last_insert_rowid(s->db);
        } else if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
            rc = reviewer_id > 0 && !sq_user_exists(s, reviewer_id)
                     ? sq_no_user(err, reviewer_id)
                     : sq_no_annotation(err, annotation_id);
        } else {
            rc = sq_db_fail(s, err, src, "recording a review");
        }
    }
    return sq_finish_own(s, own, rc, err);
}

typedef struct review_ctx {
    an_review_cb cb;
    void *ud;
} review_ctx;

static int review_row(sqlite3_stmt *st, void *ctx)
{
    review_ctx *c = ctx;
    an_review r = {
        .id = sqlite3_column_int64(st, 0),
        .annotation_id = sqlite3_column_int64(st, 1),
        .reviewer_id = sqlite3_column_int64(st, 2),
        .accepted = sqlite3_column_int(st, 3) != 0,
        .comment = (const char *)sqlite3_column_text(st, 4),
        .created_at = (const char *)sqlite3_column_text(st, 5),
    };
    if (!r.comment) r.comment = "";
    return c->cb(c->ud, &r);
}

int an_store_review_list(an_store *s, int64_t annotation_id, an_review_cb cb, void *ud, an_err *err)
{
    review_ctx c = {cb, ud};
    return sq_each_row(s,
                       "SELECT id, annotation_id, reviewer_id, accepted, comment, created_at "
                       "FROM reviews WHERE annotation_id = ?1 ORDER BY id",
                       &annotation_id, 1, review_row, &c, err, "listing reviews");
}

/* ---- the review queue (schema 3) ------------------------------------------------------------- */

/* The latest review of each annotation is the one with the largest id. */
#define QUEUE_FROM                                                                                 \
    " FROM annotations a LEFT JOIN reviews r ON r.id = (SELECT max(id) FROM reviews "              \
    "WHERE annotation_id = a.id) WHERE a.project_id = ?1 AND a.was_cancelled = 0 AND (?2 = 0 "     \
    "OR (?2 = 1 AND r.id IS NULL) OR (?2 = 2 AND r.accepted = 1) OR (?2 = 3 AND r.accepted = 0))"

typedef struct queue_ctx {
    an_annotation_brief_cb cb;
    void *ud;
} queue_ctx;

static int annotation_brief_row(sqlite3_stmt *st, void *ctx)
{
    queue_ctx *c = ctx;
    an_annotation_brief b = {
        .id = sqlite3_column_int64(st, 0),
        .task_id = sqlite3_column_int64(st, 1),
        .annotator_id = sqlite3_column_int64(st, 2),
        .ground_truth = sqlite3_column_int(st, 3) != 0,
        .created_at = (const char *)sqlite3_column_text(st, 4),
        .updated_at = (const char *)sqlite3_column_text(st, 5),
        .review_id = sqlite3_column_int64(st, 6),
        .accepted = sqlite3_column_int(st, 7) != 0,
        .reviewer_id = sqlite3_column_int64(st, 8),
        .reviewed_at = (const char *)sqlite3_column_text(st, 9),
        .review_count = sqlite3_column_int64(st, 10),
    };
    return c->cb(c->ud, &b);
}

static int total_row(sqlite3_stmt *st, void *ctx)
{
    *(int64_t *)ctx = sqlite3_column_int64(st, 0);
    return 0;
}

int an_store_review_queue(an_store *s, int64_t project_id, an_review_state state, int64_t offset,
                          int limit, an_annotation_brief_cb cb, void *ud, int64_t *total,
                          an_err *err)
{
    int rc = sq_check_page(offset, &limit, err);
    if (rc) return rc;
    if (state < AN_REVIEWS_ANY || state > AN_REVIEWS_REJECTED)
        return an_err_set(err, AN_EINVAL, "status",
                          "unknown review state; use unreviewed, accepted or rejected");
    int64_t params[4] = {project_id, (int64_t)state, limit, offset};
    if (total) {
        *total = 0;
        rc = sq_each_row(s, "SELECT count(*)" QUEUE_FROM, params, 2, total_row, total, err,
                         "counting the review queue");
        if (rc) return rc;
    }
    queue_ctx c = {cb, ud};
    return sq_each_row(s,
                       "SELECT a.id, a.task_id, a.annotator_id, a.ground_truth, a.created_at, "
                       "a.updated_at, r.id, r.accepted, r.reviewer_id, r.created_at, "
                       "(SELECT count(*) FROM reviews WHERE annotation_id = a.id)" QUEUE_FROM
                       " ORDER BY a.id LIMIT ?3 OFFSET ?4",
                       params, 4, annotation_brief_row, &c, err, "listing the review queue");
}

/* ---- the review queue in other orders (review_order.h) ------------------------------------- */

#define QUEUE_COLUMNS                                                                              \
    "SELECT a.id, a.task_id, a.annotator_id, a.ground_truth, a.created_at, a.updated_at, r.id, "   \
    "r.accepted, r.reviewer_id, r.created_at, (SELECT count(*) FROM reviews WHERE annotation_id " \
    "= a.id), "

typedef struct ordered_ctx {
    an_review_item_cb cb;
    void *ud;
} ordered_ctx;

static int ordered_row(sqlite3_stmt *st, void *ctx)
{
    ordered_ctx *c = ctx;
    an_annotation_brief b = {
        .id = sqlite3_column_int64(st, 0),
        .task_id = sqlite3_column_int64(st, 1),
        .annotator_id = sqlite3_column_int64(st, 2),
        .ground_truth = sqlite3_column_int(st, 3) != 0,
        .created_at = (const char *)sqlite3_column_text(st, 4),
        .updated_at = (const char *)sqlite3_column_text(st, 5),
        .review_id = sqlite3_column_int64(st, 6),
        .accepted = sqlite3_column_int(st, 7) != 0,
        .reviewer_id = sqlite3_column_int64(st, 8),
        .reviewed_at = (const char *)sqlite3_column_text(st, 9),
        .review_count = sqlite3_column_int64(st, 10),
    };
    double score = sqlite3_column_type(st, 11) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 11);
    return c->cb(c->ud, &b, score);
}

int an_store_review_queue_ordered(an_store *s, int64_t project_id, an_review_state state,
                                  const an_review_order *order, int64_t offset, int limit,
                                  an_review_item_cb cb, void *ud, int64_t *total, an_err *err)
{
    an_review_order_by by = order ? order->by : AN_REVIEW_ORDER_ID;
    const char *mv = order ? order->model_version : NULL;
    if (by < AN_REVIEW_ORDER_ID || by > AN_REVIEW_ORDER_SCORE)
        return an_err_set(err, AN_EINVAL, "order", "unknown order; use id, -id or score:VERSION");
    if (by == AN_REVIEW_ORDER_SCORE && (!mv || !*mv || strlen(mv) > 255))
        return an_err_set(err, AN_EINVAL, "order",
                          "give the model version whose score orders the queue: "
                          "score:MODEL_VERSION (1 to 255 bytes)");
    int rc = sq_check_page(offset, &limit, err);
    if (rc) return rc;
    if (state < AN_REVIEWS_ANY || state > AN_REVIEWS_REJECTED)
        return an_err_set(err, AN_EINVAL, "status",
                          "unknown review state; use unreviewed, accepted or rejected");
    int64_t params[2] = {project_id, (int64_t)state};
    if (total) {
        *total = 0;
        rc = sq_each_row(s, "SELECT count(*)" QUEUE_FROM, params, 2, total_row, total, err,
                         "counting the review queue");
        if (rc) return rc;
    }
    /* By score: the task's lowest score of that version (the predictions_task_version index
     * finds it), tasks without one after all that have one. */
    const char *sql =
        by == AN_REVIEW_ORDER_SCORE
            ? QUEUE_COLUMNS "(SELECT min(p.score) FROM predictions p WHERE p.task_id = a.task_id "
                            "AND p.model_version = ?5) AS sc" QUEUE_FROM
                            " ORDER BY sc IS NULL, sc, a.id LIMIT ?3 OFFSET ?4"
        : by == AN_REVIEW_ORDER_NEWEST
            ? QUEUE_COLUMNS "NULL" QUEUE_FROM " ORDER BY a.id DESC LIMIT ?3 OFFSET ?4"
            : QUEUE_COLUMNS "NULL" QUEUE_FROM " ORDER BY a.id LIMIT ?3 OFFSET ?4";
    const char *doing = "listing the review queue";
    sqlite3_stmt *st = NULL;
    rc = sq_sql_acquire(s, sql, &st, err, doing);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    sqlite3_bind_int64(st, 2, (int64_t)state);
    sqlite3_bind_int64(st, 3, limit);
    sqlite3_bind_int64(st, 4, offset);
    if (by == AN_REVIEW_ORDER_SCORE) sqlite3_bind_text(st, 5, mv, -1, SQLITE_STATIC);
    ordered_ctx c = {cb, ud};
    int ret = 0, src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW)
        if ((ret = ordered_row(st, &c))) break;
    if (!ret && src != SQLITE_DONE) ret = sq_db_fail(s, err, src, doing);
    sq_sql_release(s, st);
    return ret;
}

int an_store_review_score_versions(an_store *s, int64_t project_id, const char *prefix, int max,
                                   an_review_version_cb cb, void *ud, an_err *err)
{
    if (!prefix) prefix = "";
    size_t n = strlen(prefix);
    if (n > 255) return an_err_set(err, AN_EINVAL, "prefix", "a version prefix has at most 255 bytes");
    /* The versions starting with prefix are those >= prefix and < prefix with its last byte
     * raised (UTF-8 text never ends in 0xff), which the (task_id, model_version) index
     * answers per task. */
    char upper[256];
    memcpy(upper, prefix, n + 1);
    if (n > 0 && (unsigned char)upper[n - 1] == 0xff)
        return an_err_set(err, AN_EINVAL, "prefix", "a version prefix is UTF-8 text");
    if (n > 0) upper[n - 1] = (char)((unsigned char)upper[n - 1] + 1);
    const char *doing = "listing the prediction versions of the review queue";
    sqlite3_stmt *st = NULL;
    int rc = sq_sql_acquire(s,
                            "SELECT DISTINCT p.model_version FROM annotations a JOIN predictions p "
                            "ON p.task_id = a.task_id WHERE a.project_id = ?1 AND "
                            "a.was_cancelled = 0 AND (?2 = '' OR (p.model_version >= ?2 AND "
                            "p.model_version < ?3)) ORDER BY 1 LIMIT ?4",
                            &st, err, doing);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, project_id);
    sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, upper, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, max > 0 ? max : 1);
    int ret = 0, src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        if ((ret = cb(ud, v ? v : ""))) break;
    }
    if (!ret && src != SQLITE_DONE) ret = sq_db_fail(s, err, src, doing);
    sq_sql_release(s, st);
    return ret;
}
