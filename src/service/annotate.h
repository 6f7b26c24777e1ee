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
#include "service/qc_check.h"
#include "store/store.h"

typedef struct an_submit {
    const json_t *result; /* the result list */
    double lead_time;     /* seconds; NAN when unknown */
    bool cancelled;       /* a skip: an empty result marked was_cancelled */
    bool ground_truth;
} an_submit;

/* A validated annotation ready to be written: an_annotation_prepare checks it (no store
 * access), an_annotation_write inserts it inside the caller's open write transaction, so a
 * writer can put many into one transaction (group commit). The two together are
 * an_annotation_submit. */
typedef struct an_prepared_annotation {
    an_annotation_in in;  /* what is inserted; points into the fields below */
    char *text;           /* the result's canonical JSON text */
    json_t *result;       /* a reference held on the result (labels borrow its strings) */
    an_label_ref *labels; /* in.labels */
    int64_t user_id;
    an_qc_verdict qc; /* the project's QC rules on it (an_annotation_check_rules) */
} an_prepared_annotation;

/* Validates in->result for user_id's annotation of task t (of a project with config cfg).
 * AN_EINVAL with where = "result[I]…" when it does not fit. out is freed with
 * an_prepared_annotation_free in any case. */
int an_annotation_prepare(const an_config *cfg, const an_task *t, int64_t user_id,
                          const an_submit *in, an_prepared_annotation *out, an_err *err);
/* Runs the project's QC rules (docs/qc.md) on p, reading the store (the task's predictions
 * and other annotations, when rules use them). A blocking finding gives AN_EINVAL naming its
 * rule and place (an API answers 422); warnings stay in p->qc for an_annotation_write. */
int an_annotation_check_rules(an_store *s, const an_config *cfg, const an_task *t,
                              an_prepared_annotation *p, an_err *err);
/* Inserts p in the open write transaction with its audit entry and its QC warnings, and
 * releases the annotator's lock on the task; *id_out is the new annotation's id. */
int an_annotation_write(an_store *s, const an_prepared_annotation *p, int64_t *id_out, an_err *err);
void an_prepared_annotation_free(an_prepared_annotation *p);

/* Adds user_id's annotation to task t (of a project with config cfg) and releases user_id's
 * lock on the task. AN_EINVAL with where = "result[I]…" when the result does not fit the
 * config or the task's data, or when a blocking QC rule refuses it. */
int an_annotation_submit(an_store *s, const an_config *cfg, const an_task *t, int64_t user_id,
                         const an_submit *in, int64_t *id_out, an_err *err);

/* Replaces annotation a's result and flags (same validation and QC rules; the annotation's
 * earlier submit findings are replaced). user_id is the actor, for the audit. */
int an_annotation_change(an_store *s, const an_config *cfg, const an_task *t,
                         const an_annotation *a, int64_t user_id, const an_submit *in, an_err *err);

/* Deletes annotation id, with an audit entry naming user_id. */
int an_annotation_remove(an_store *s, int64_t id, int64_t user_id, an_err *err);

/* Adds a model's prediction to task t (same validation as annotations). */
int an_prediction_submit(an_store *s, const an_config *cfg, const an_task *t,
                         const char *model_version, double score, const json_t *result,
                         int64_t user_id, int64_t *id_out, an_err *err);

#endif
