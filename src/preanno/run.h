/* Predicting a project's tasks with a stored model (the library call behind
 * `annot predict`).
 *
 * Pipeline: the calling thread streams the project's tasks and drops those already predicted
 * by the model version (the predictions(task_id, model_version) index) and, when asked,
 * those with a non-cancelled annotation; it hands batches of the rest to N worker threads,
 * each with its own predictor state, which predict, validate every result against the
 * labeling config as a human annotation would be (model/validate.h), and pass the batches to
 * one writer thread. The writer, on its own store handle, inserts the predictions in
 * transactions of a few thousand (checking the index again inside the transaction, so two
 * runs at once cannot store one task twice) with one audit entry each.
 *
 * Resuming: a run that is interrupted (Ctrl-C, kill -9, power loss) keeps every committed
 * transaction and nothing of the one in flight; running it again skips what was stored and
 * predicts the rest, so no task is predicted twice for a model version.
 *
 * Memory is bounded by the queues (a few batches per worker), not by the project. */
#ifndef AN_PREANNO_RUN_H
#define AN_PREANNO_RUN_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "preanno/predictor.h"
#include "store/models.h"
#include "store/store.h"

enum { AN_PREDICT_WORKERS_MAX = 64, AN_PREDICT_FAILURES_MAX = 1000 };

typedef struct an_predict_opts {
    const char *model;    /* registry name: "textcls", "fewshot" */
    const char *version;  /* NULL: the latest stored version */
    const char *location; /* the workspace location, for the writer's own handle */
    int workers;          /* 1..AN_PREDICT_WORKERS_MAX */
    bool only_unlabeled;  /* skip tasks with a non-cancelled annotation */
    double min_score;     /* predictions scoring below are not stored; 0: store all */
    size_t batch_size;    /* tasks per worker batch; 0: the model's own (ops->batch), else 256 */
    size_t tx_size;       /* predictions per transaction; 0: 2000 */
    bool progress;        /* a progress bar on stderr (when it is a terminal) */
    int64_t user_id;      /* for the audit entries; 0: the system */
    /* Called (may be NULL) for each task that failed, from the writer thread, in the order
     * the writer meets them. */
    void (*on_failure)(void *ud, int64_t task_id, const an_err *e);
    void *ud;
    /* A model from outside the registry and the store (a Label Studio ML backend, see
     * preanno/backend_client.h). When ops is set, model and version are ignored: no stored
     * model is read, every worker opens ops with open_opts and no control, and the
     * predictions carry model_version (1..AN_MODEL_VERSION_MAX-1 bytes). */
    const an_predictor_ops *ops;
    const json_t *open_opts;
    const char *model_version;
    /* Called (may be NULL) from the writer thread after each batch with the tasks handled so
     * far (predicted, failed or skipped) and the project's task count when the run began. */
    void (*on_progress)(void *ud, uint64_t done, uint64_t total);
    /* When it becomes non-zero (may be NULL), the run stops reading tasks and predicts no
     * further batch; what was committed stays, so running again resumes. */
    const atomic_int *cancel;
} an_predict_opts;

typedef struct an_predict_failure {
    int64_t task_id;
    an_err err;
} an_predict_failure;

typedef struct an_predict_summary {
    char model_version[AN_MODEL_VERSION_MAX];
    int64_t tasks;            /* tasks of the project read */
    int64_t predicted;        /* predictions stored */
    int64_t skipped_existing; /* already predicted by this model version */
    int64_t skipped_labeled;  /* with an annotation (only_unlabeled) */
    int64_t below_min_score;  /* predicted, not stored: score below min_score */
    int64_t failed;           /* tasks the model or validation refused */
    an_predict_failure *failures; /* the first AN_PREDICT_FAILURES_MAX of them */
    size_t n_failures;
    double seconds;
} an_predict_summary;

void an_predict_summary_free(an_predict_summary *s);

/* Predicts project p's tasks with opts->model (version opts->version or the latest), reading
 * with s. out is filled as far as the run got, even on failure (then the committed
 * predictions stay). AN_ENOTFOUND when the model or version does not exist; AN_EINVAL for bad
 * options or a stored model that no longer fits the config; store errors as they come. A
 * failure of single tasks is no error: they are counted and listed in out. */
int an_predict_run(an_store *s, const an_project *p, const an_predict_opts *opts,
                   an_predict_summary *out, an_err *err);

#endif
