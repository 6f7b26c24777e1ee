/* Training a project's model from its accepted annotations (the library call behind
 * `annot train`).
 *
 * Accepted annotations, per task, for the chosen control (docs/preanno.md):
 *  - when the project has reviews (any annotation with a review): annotations whose latest
 *    review accepted them, and ground-truth annotations;
 *  - when it has none: every non-cancelled annotation.
 * Cancelled annotations never count. Of a task's accepted annotations the ground-truth ones
 * come first, then the others, latest (largest id) first; the first that chooses exactly one
 * label of the control gives the task's example. So a task gives at most one example, and a
 * reviewed or gold answer beats an unreviewed one. */
#ifndef AN_PREANNO_TRAIN_H
#define AN_PREANNO_TRAIN_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "store/models.h"
#include "store/store.h"

typedef struct an_train_opts {
    const char *model;     /* registry name: "textcls", "fewshot" */
    const char *control;   /* name of the control to learn */
    const json_t *options; /* the model's options ({"epochs":…, "seed":…, "bits":…}); NULL */
    int64_t user_id;       /* for the audit entry; 0: the system */
} an_train_opts;

typedef struct an_train_report {
    char version[AN_MODEL_VERSION_MAX]; /* "textcls-3" */
    int64_t model_id;
    const char *source; /* "reviews" or "annotations": which definition of accepted applied */
    size_t tasks;       /* tasks read */
    size_t examples;    /* tasks that gave an example */
    json_t *params;     /* the stored params and metrics (owned: an_train_report_free) */
    json_t *metrics;
} an_train_report;

void an_train_report_free(an_train_report *r);

/* Trains opts->model on project p's accepted annotations for opts->control and stores it as
 * the model's next version, with an audit entry "model.train". AN_ENOTFOUND for an unknown
 * model or control; AN_EINVAL when the model cannot answer the control or the examples do
 * not suffice (the message says what is needed). out is filled on success. */
int an_preanno_train(an_store *s, const an_project *p, const an_train_opts *opts,
                     an_train_report *out, an_err *err);

#endif
