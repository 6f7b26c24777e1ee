/* Annotating: the one way a person's or a model's labels enter a project outside of bulk
 * import. Each call validates against the project's labeling config, writes in one
 * transaction with an audit entry, and keeps the store's counters and label index exact.
 * Both front ends call these. */
#ifndef AN_ANNOTATE_H
#define AN_ANNOTATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "model/config.h"
#include "store/store.h"

typedef struct an_submit {
    const json_t *result; /* the result list */
    double lead_time;     /* seconds; NAN when unknown */
    bool cancelled;       /* a skip: an empty result marked was_cancelled */
    bool ground_truth;
} an_submit;

/* Adds user_id's annotation to task t (of a project with config cfg) and releases user_id's
 * lock on the task. AN_EINVAL with where = "result[I]…" when the result does not fit the
 * config or the task's data. */
int an_annotation_submit(an_store *s, const an_config *cfg, const an_task *t, int64_t user_id,
                         const an_submit *in, int64_t *id_out, an_err *err);

/* Replaces annotation a's result and flags (same validation). user_id is the actor, for the
 * audit. */
int an_annotation_change(an_store *s, const an_config *cfg, const an_task *t,
                         const an_annotation *a, int64_t user_id, const an_submit *in,
                         an_err *err);

/* Deletes annotation id, with an audit entry naming user_id. */
int an_annotation_remove(an_store *s, int64_t id, int64_t user_id, an_err *err);

/* Adds a model's prediction to task t (same validation as annotations). */
int an_prediction_submit(an_store *s, const an_config *cfg, const an_task *t,
                         const char *model_version, double score, const json_t *result,
                         int64_t user_id, int64_t *id_out, an_err *err);

#endif
