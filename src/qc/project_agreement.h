/* Agreement between the annotators of a project, per control of its labeling config.
 *
 * The project's tasks are streamed once (an_store_tasks_open with AN_ITER_ANNOTATIONS).
 * Cancelled annotations and annotations without an annotator are ignored; of the rest, each
 * annotator's latest one per task counts (largest updated_at, then largest id). A task
 * enters a control's computation when at least one of its annotators answered that control;
 * every annotator of such a task is then a coder of it (for single-valued controls one who
 * did not answer is a missing value; for multiple choices, regions, spans, keypoints and
 * text an empty answer means "nothing chosen / drawn / written").
 *
 *   Choices (single), Rating, Number: units = tasks, coders = annotators, the reliability
 *     matrix into an_agreement (default alpha: nominal for choices, ordinal for ratings,
 *     interval for numbers). Choice categories are the config's labels in order, then
 *     unknown labels as first seen; ratings and numbers are ordered by value.
 *   Choices (multiple): per label a binary matrix (chosen or not); per label values and
 *     their mean over labels where the metric is defined.
 *   RectangleLabels / PolygonLabels: F1 at the IoU threshold per annotator pair and task
 *     (an_regions_match), secondary: mean IoU of matched regions.
 *   Labels (spans): exact-match F1, secondary: overlap F1.
 *   KeyPointLabels: share of keypoints within the distance (f1 of an_keypoints_match),
 *     secondary: mean distance in percent of the image diagonal.
 *   TextArea: symmetric character error rate (lower is better); no secondary.
 * Region kinds report the mean over every (task, annotator pair) comparison, and per pair.
 * Pairwise, Ranker and Relations are not measured. */
#ifndef AN_QC_PROJECT_AGREEMENT_H
#define AN_QC_PROJECT_AGREEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "model/config.h"
#include "qc/agreement.h"
#include "qc/bootstrap.h"
#include "store/store.h"

typedef enum an_pa_kind {
    AN_PA_CATEGORICAL, /* single choices, ratings, numbers: one reliability matrix */
    AN_PA_MULTI,       /* multiple choices: one binary matrix per label */
    AN_PA_REGIONS,     /* rectangles and polygons */
    AN_PA_SPANS,
    AN_PA_KEYPOINTS,
    AN_PA_TEXT,
} an_pa_kind;

typedef struct an_pa_opts {
    const char *control; /* one control's name, or NULL for every measurable control */
    int metric;          /* an_agr_metric, or -1 for alpha */
    int level;           /* an_agr_level for alpha, or -1 for the control's default */
    int weights;         /* an_agr_weights for cohen, or -1 for none */
    double iou;          /* box/polygon threshold; <= 0: 0.5 */
    double kp_distance;  /* keypoint distance, percent of the diagonal; <= 0: 2 */
    size_t bootstrap;    /* resamples of tasks for a 95 % interval; 0: none */
    uint64_t seed;       /* for the bootstrap */
} an_pa_opts;

/* Options with every default (metric, level, weights -1; seed 1). */
an_pa_opts an_pa_opts_default(void);

typedef struct an_pa_pair {
    int64_t a, b; /* annotator ids, a < b */
    size_t tasks; /* tasks (units) both answered or were compared on */
    double value; /* pair's value (kappa, percent, mean F1, mean CER); NAN when undefined */
} an_pa_pair;

typedef struct an_pa_label {
    char *label;
    double value; /* NAN when undefined for this label */
    size_t units_used;
} an_pa_label;

typedef struct an_pa_control {
    char *name;
    an_tag tag;
    an_pa_kind kind;
    const char *measure; /* "alpha", "cohen", …; or "f1", "exact_f1", "keypoint_f1", "cer" */
    double value;        /* NAN when undefined, with the reason in undefined */
    char *undefined;     /* NULL, or why value is undefined */
    size_t units;        /* tasks that entered */
    size_t coders;       /* annotators who answered this control */
    /* categorical and multi */
    an_agr_metric metric;
    an_agr_level level;
    an_agr_weights weights;
    size_t units_used;
    size_t categories;
    an_pa_label *labels; /* multi: one per label */
    size_t n_labels;
    /* region kinds */
    size_t comparisons;         /* (task, annotator pair) comparisons averaged */
    const char *secondary_name; /* "mean_iou", "overlap_f1", "mean_distance", or NULL */
    double secondary;           /* NAN when undefined */
    /* both: per annotator pair (categorical: an_agreement's pairs for percent and cohen) */
    an_pa_pair *pairs;
    size_t n_pairs;
    bool has_ci;
    an_ci ci;
} an_pa_control;

typedef struct an_pa_result {
    int64_t project_id;
    size_t tasks;               /* tasks read */
    size_t annotations;         /* annotations that counted */
    size_t cancelled;           /* cancelled annotations ignored */
    size_t without_annotator;   /* annotations without an annotator ignored */
    size_t superseded;          /* earlier annotations by the same annotator on a task */
    int64_t *annotators;        /* ids, ascending */
    char **annotator_names;     /* the user's name, or "user-ID" when the user is gone */
    size_t n_annotators;
    an_pa_control *controls;    /* in config order */
    size_t n_controls;
} an_pa_result;

/* Computes agreement for project p (its id and config are used) into out, which the caller
 * frees with an_pa_result_free. AN_EINVAL when the config does not parse, when
 * opts->control names no control or one that cannot be measured, or when the options do not
 * fit (e.g. --level with a metric other than alpha); AN_EIO from the store. A control whose
 * value is undefined on these data is not an error: its value is NAN with the reason. */
int an_project_agreement(an_store *s, const an_project *p, const an_pa_opts *opts,
                         an_pa_result *out, an_err *err);

void an_pa_result_free(an_pa_result *r);

/* "categorical", "multi", "regions", "spans", "keypoints", "text". */
const char *an_pa_kind_name(an_pa_kind k);

#endif
