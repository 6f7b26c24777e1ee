/* Consensus boxes of a project: for a RectangleLabels control, each task's rectangles from
 * every annotator (their latest non-cancelled annotation) clustered by IoU and merged into
 * one box per object, weighted by annotator reliability (an_cons_boxes, qc/consensus.h).
 *
 * Reliability is estimated from the data in two passes: first every annotator weighs the
 * same; then each annotator's reliability is their F1 against those first consensus boxes
 * (a box of theirs matched one-to-one at the IoU threshold with the same label), and the
 * boxes are merged again with those weights. An annotator who draws loose or spurious boxes
 * thus pulls the merged boxes less. */
#ifndef AN_QC_BOX_CONSENSUS_H
#define AN_QC_BOX_CONSENSUS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "model/config.h"
#include "qc/consensus.h"
#include "store/store.h"

typedef struct an_bc_opts {
    double iou;    /* clustering and matching threshold (0.5) */
    size_t quorum; /* 0: half the task's annotators, rounded up */
} an_bc_opts;

typedef struct an_bc_task {
    int64_t task_id;
    size_t annotators; /* annotators who annotated the task */
    an_cons_merged *boxes;
    size_t n_boxes;
} an_bc_task;

typedef struct an_bc_annotator {
    int64_t user_id;
    size_t boxes;       /* boxes drawn */
    size_t matched;     /* of them, matched to a first-pass consensus box */
    size_t consensus;   /* first-pass consensus boxes on their tasks */
    double reliability; /* F1 = 2·matched / (boxes + consensus); 0 when both are 0 */
} an_bc_annotator;

typedef struct an_bc_result {
    an_bc_task *tasks; /* tasks with at least one box, in id order */
    size_t n_tasks;
    an_bc_annotator *annotators; /* in user id order */
    size_t n_annotators;
} an_bc_result;

/* Runs box consensus for control c (a RectangleLabels control of the project's config).
 * AN_EINVAL naming the control when it is not one. */
int an_box_consensus(an_store *s, int64_t project_id, const an_control *c,
                     const an_bc_opts *o, an_bc_result *out, an_err *err);
void an_bc_result_free(an_bc_result *r);

#endif
