/* Pre-annotation models: one C interface every model implements, and a registry by name.
 *
 * A model predicts result lists in Label Studio's shape for a batch of tasks; a prediction
 * carries an overall score in [0, 1] and, on each result item the model scores, a "score"
 * field (Label Studio's per-region score):
 *
 *   [{"from_name":"sentiment","to_name":"text","type":"choices",
 *     "value":{"choices":["positive"]},"score":0.93}]
 *
 * The caller validates every predicted result against the labeling config like a human
 * annotation (model/validate.h) before it is stored, so a model cannot store what a person
 * could not. A trainable model turns examples into a versioned model (store/models.h): a
 * parameter blob, params (JSON: what open needs besides the blob, e.g. the class names) and
 * metrics (JSON: how good it is on held-out data).
 *
 * Thread safety: the ops are constant; a state from open is used by one thread at a time, and
 * several states of one model may be open at once (one per worker thread). train is
 * reentrant. */
#ifndef AN_PREANNO_PREDICTOR_H
#define AN_PREANNO_PREDICTOR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "model/config.h"

/* A task to predict: its id and its data object (borrowed for the call). */
typedef struct an_pred_task {
    int64_t id;
    const json_t *data;
} an_pred_task;

/* One task's prediction. On success rc is 0 and result a new reference the caller releases,
 * score the overall score in [0, 1] (NAN when the model gives none). On a failure of this task
 * alone (its data lacks the field the model reads, …) rc is negative, err says why and
 * result is NULL; the other tasks of the batch are still predicted. */
typedef struct an_pred_out {
    int rc;
    json_t *result;
    double score;
    an_err err;
} an_pred_out;

/* A stored model as open reads it (all borrowed for the call). */
typedef struct an_model_data {
    const char *version; /* "textcls-3" */
    const json_t *params;
    const void *blob;
    size_t blob_len;
} an_model_data;

/* A training example: a task's data and the answer to learn. label is the index (in the
 * control's labels) of the one choice the accepted annotation makes in the control, or -1 when
 * it makes none or several; result is that annotation's whole result list. */
typedef struct an_train_example {
    int64_t task_id;
    const json_t *data;
    const json_t *result;
    int label;
} an_train_example;

/* What train produces; freed with an_trained_free. */
typedef struct an_trained {
    an_buf blob;
    json_t *params;
    json_t *metrics;
} an_trained;

void an_trained_free(an_trained *t);

typedef struct an_predictor_ops {
    const char *name;    /* registry name, also the prefix of its versions ("textcls-3") */
    const char *summary; /* one line for listings */
    /* Tasks a worker takes at a time (0: the runner's default, 256). A model that spends
     * seconds on each task (a page to read, a clip to transcribe) takes one, so that every
     * worker has work until the end instead of one holding a batch of all the tasks. */
    unsigned batch;
    /* Checks that the model can answer control of cfg (AN_EINVAL naming the control when it
     * cannot, e.g. not a single-choice Choices control on a Text object). */
    int (*check_control)(const an_config *cfg, const an_control *control, an_err *err);
    /* Opens a state for predicting control of cfg with the stored model (NULL for a model
     * that needs no training) and options (a JSON object, may be NULL). cfg and control must
     * outlive the state. */
    int (*open)(const json_t *opts, const an_model_data *model, const an_config *cfg,
                const an_control *control, void **state, an_err *err);
    /* Predicts tasks[0..n) into out[0..n) (every out is filled, see an_pred_out). A negative
     * return means the whole batch failed (then out is untouched). */
    int (*predict)(void *state, const an_pred_task *tasks, size_t n, an_pred_out *out,
                   an_err *err);
    /* Trains on ex[0..n) with options (a JSON object, may be NULL: "epochs", "seed", "bits"
     * as the model documents). NULL for a model that is not trained. out is filled on
     * success and must be freed with an_trained_free; AN_EINVAL when the examples cannot
     * make a model (too few, one class only, …) with a message saying what is needed. */
    int (*train)(const json_t *opts, const an_config *cfg, const an_control *control,
                 const an_train_example *ex, size_t n, an_trained *out, an_err *err);
    void (*close)(void *state);
} an_predictor_ops;

/* The model registered under name, or NULL. */
const an_predictor_ops *an_predictor_find(const char *name);

/* The registered models, in a fixed order; *n is their number. */
const an_predictor_ops *const *an_predictor_list(size_t *n);

/* ---- helpers the text models share --------------------------------------------------------- */

/* The Text object a single-choice Choices control answers, or AN_EINVAL naming the control
 * when it is not one (multiple choice, not Choices, its first toName not a Text reading a
 * $field). */
int an_preanno_text_choices(const an_config *cfg, const an_control *control,
                            const an_object **text_obj, an_err *err);

/* The text the object shows for a task: data[obj->data_key], which must be a string
 * (AN_EINVAL with where "data.KEY" otherwise). Borrowed from data. */
int an_preanno_task_text(const an_object *obj, const json_t *data, const char **text,
                         size_t *len, an_err *err);

/* A new result list with one choices item for control (on object to_name) choosing label, its
 * "score" field set to score. */
json_t *an_preanno_choice_result(const an_control *control, const char *to_name,
                                 const char *label, double score);

/* The index (in control's labels) of the one choice result's items make in control, or -1
 * when they make none, several, or one the control does not have. */
int an_preanno_result_choice(const json_t *result, const an_control *control);

/* The names of a control's labels as a JSON array (new reference). */
json_t *an_preanno_class_names(const an_control *control);

/* Maps the stored class names (params "classes") to the control's labels: map[i] is the
 * index in control->labels of the stored class i. AN_EINVAL naming "model.params.classes"
 * when a stored class is no longer a label of the control (the config changed: train again).
 * *map is malloc'd (caller frees), *k the number of stored classes. */
int an_preanno_class_map(const json_t *params, const an_control *control, int **map, size_t *k,
                         an_err *err);

#endif
