/* The store's review decisions and the review queue: see store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
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
