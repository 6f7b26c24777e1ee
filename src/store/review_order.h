/* The review queue in an order other than submission (store.h's an_store_review_queue is in
 * annotation id order): newest first, or by a prediction score of the annotation's task, so
 * reviewers see the worst caption–image pairs first (annot similarity stores each task's
 * alignment as a prediction with model_version "similarity:A:B", docs/preanno.md). Reads the
 * tables of schema 3 and the predictions (task_id, model_version) index; no migration.
 *
 * Thread safety: as the handle (one thread at a time). */
#ifndef AN_STORE_REVIEW_ORDER_H
#define AN_STORE_REVIEW_ORDER_H

#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

typedef enum an_review_order_by {
    AN_REVIEW_ORDER_ID = 0,     /* submission order (annotation id), as an_store_review_queue */
    AN_REVIEW_ORDER_NEWEST = 1, /* annotation id, descending */
    AN_REVIEW_ORDER_SCORE = 2,  /* the task's prediction score of model_version, ascending */
} an_review_order_by;

typedef struct an_review_order {
    an_review_order_by by;
    const char *model_version; /* AN_REVIEW_ORDER_SCORE: whose score (at most 255 bytes) */
} an_review_order;

/* One annotation of the queue; score is its task's lowest score of the order's model_version
 * (NaN when it has none, or when the order is not by score). */
typedef int (*an_review_item_cb)(void *ud, const an_annotation_brief *a, double score);

/* As an_store_review_queue, in order: by score, annotations whose task has no such score come
 * last; ties go by annotation id. AN_EINVAL (where "order") for a score order without a
 * model_version. */
int an_store_review_queue_ordered(an_store *s, int64_t project_id, an_review_state state,
                                  const an_review_order *order, int64_t offset, int limit,
                                  an_review_item_cb cb, void *ud, int64_t *total, an_err *err);

/* Calls cb, in byte order, for each distinct model_version starting with prefix ("" or NULL:
 * any) among the predictions of tasks that have a non-cancelled annotation in the project,
 * at most max of them: the score orders the queue can offer. Strings borrowed for the call. */
typedef int (*an_review_version_cb)(void *ud, const char *model_version);
int an_store_review_score_versions(an_store *s, int64_t project_id, const char *prefix, int max,
                                   an_review_version_cb cb, void *ud, an_err *err);

#endif
