/* Consensus labels from several annotators: majority vote and Dawid–Skene EM, with
 * per-annotator accuracy estimates. Pure computation: no I/O, no printing.
 *
 * Input is a list of labels (item, annotator, class) kept as flat arrays sorted by item
 * (CSR: the labels of item i are [item_start[i], item_start[i+1])), so memory is linear in
 * the number of labels: there is no items x annotators matrix. An item may have any number
 * of labels (none, or several from one annotator), and annotators label any subset.
 *
 * Thread safety: none needed; the functions touch only their arguments. */
#ifndef AN_QC_CONSENSUS_H
#define AN_QC_CONSENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "qc/regions.h"

#define AN_CONS_NONE (-1) /* no label: no votes, or a tie without tie-break */

/* Bounds checked by an_cons_check (and so by every computation). */
#define AN_CONS_MAX_CLASSES 1000
#define AN_CONS_MAX_ANNOTATORS 100000

typedef struct an_cons_data {
    size_t items, annotators, classes;
    size_t labels;              /* n = item_start[items] */
    const size_t *item_start;   /* items + 1 offsets, non-decreasing, item_start[0] == 0 */
    const uint32_t *annotator;  /* n: 0..annotators-1 */
    const uint32_t *cls;        /* n: 0..classes-1 */
} an_cons_data;

/* Labels gathered in any order and sorted by item: an owned an_cons_data. */
typedef struct an_cons_labels {
    size_t items, annotators, classes;
    size_t n, cap;
    uint32_t *item, *annotator, *cls; /* unsorted input, freed by an_cons_labels_finish */
    size_t *item_start;               /* after finish */
    uint32_t *s_annotator, *s_cls;    /* after finish: sorted by item, stable */
} an_cons_labels;

void an_cons_labels_init(an_cons_labels *l, size_t items, size_t annotators, size_t classes);
/* Appends one label. AN_EINVAL (naming the bad field) when an index is out of range. */
int an_cons_labels_add(an_cons_labels *l, size_t item, size_t annotator, size_t cls,
                       an_err *err);
/* Sorts by item (stable: the order of labels within an item is the order of adding, so the
 * result does not depend on anything but the input) and releases the unsorted arrays. */
void an_cons_labels_finish(an_cons_labels *l);
/* The finished labels as computation input (borrows l's arrays). */
an_cons_data an_cons_labels_data(const an_cons_labels *l);
void an_cons_labels_free(an_cons_labels *l);

/* Checks shape and every index of d: 0, or AN_EINVAL naming the first bad place. */
int an_cons_check(const an_cons_data *d, an_err *err);

typedef enum an_cons_method {
    AN_CONS_MAJORITY,
    AN_CONS_DAWID_SKENE,
} an_cons_method;

/* Names "majority", "dawid-skene"; parse returns -1 for an unknown name. */
const char *an_cons_method_name(an_cons_method m);
int an_cons_method_parse(const char *s);

typedef struct an_cons_opts {
    bool tie_lowest;  /* on a tie choose the lowest class index (the tie is still listed) */
    double tol;       /* DS: stop when max over items of |change of log-likelihood| < tol */
    int max_iter;     /* DS: at most this many EM iterations (>= 1) */
    double smoothing; /* DS: additive constant in the M-step (>= 0; 0 is plain ML) */
} an_cons_opts;

/* Defaults: no tie-break, tol 1e-6, max_iter 100, smoothing AN_CONS_SMOOTHING. */
#define AN_CONS_SMOOTHING 0.01
an_cons_opts an_cons_opts_default(void);

typedef struct an_cons_result {
    an_cons_method method;
    size_t items, annotators, classes;
    /* Per item. label: the consensus class, or AN_CONS_NONE (no labels; a tie without
     * tie-break). confidence: majority: the top class's share of the item's votes (0 with no
     * votes); DS: the top class's posterior probability. Ties: when two or more classes share
     * the top count (majority) or exactly the top posterior (DS), they are listed in
     * tie[tie_start[i] .. tie_start[i+1]) in class order; otherwise that range is empty. */
    int32_t *label;
    double *confidence;
    size_t *tie_start; /* items + 1 */
    uint32_t *tie;
    size_t n_ties;     /* items with a tie */
    /* Per annotator. accuracy: DS: sum_j prior[j] * confusion[a][j][j], the chance the
     * annotator gives the true class of a random item; majority: the share of the
     * annotator's labels on items with a consensus label that equal it. NAN when the
     * annotator has no label that counts. labels: how many labels the annotator gave. */
    double *accuracy;
    size_t *annotator_labels;
    /* DS only (NULL for majority): posterior[i * classes + j] = P(true class of i is j);
     * prior[j]; confusion[(a * classes + j) * classes + l] = P(annotator a says l | true j). */
    double *posterior;
    double *prior;
    double *confusion;
    int iterations;        /* DS: EM iterations run (majority: 0) */
    bool converged;        /* DS: stopped by tol rather than max_iter (majority: true) */
    double log_likelihood; /* DS: log P(labels | parameters of the last M-step) (majority: 0) */
} an_cons_result;

/* Majority vote on d into out. Returns 0, or AN_EINVAL from an_cons_check (out is then
 * empty and needs no free). */
int an_cons_majority(const an_cons_data *d, const an_cons_opts *o, an_cons_result *out,
                     an_err *err);

/* Dawid & Skene (1979) EM on d into out.
 *
 * Start: each item's class distribution is its vote shares (items without labels: uniform).
 * Then each iteration is an M-step — prior[j] = (sum_i T[i][j] + s) / (items + K s) and
 * confusion[a][j][l] = (n[a][j][l] + s) / (sum_l n[a][j][l] + K s), where n[a][j][l] sums
 * T[i][j] over a's labels l and s is o->smoothing — followed by an E-step that computes
 * T[i][·] in log space from precomputed log parameters, and each item's log-likelihood
 * log sum_j prior[j] prod_labels confusion[a][j][l]. EM stops after an iteration (from the
 * second on) in which no item's log-likelihood changed by tol or more (converged), or after
 * max_iter iterations. Deterministic: the same input gives bit-identical output.
 *
 * Memory: the labels, plus items x classes doubles for the posteriors and a few arrays of
 * items; work per iteration is O(labels x classes + annotators x classes^2).
 *
 * Errors (out then empty): AN_EINVAL for bad data or options, or when with smoothing 0 an
 * item's labels are impossible under every class (use smoothing > 0). */
int an_cons_dawid_skene(const an_cons_data *d, const an_cons_opts *o, an_cons_result *out,
                        an_err *err);

/* Runs the method m. */
int an_cons_run(const an_cons_data *d, an_cons_method m, const an_cons_opts *o,
                an_cons_result *out, an_err *err);

void an_cons_result_free(an_cons_result *out);

/* Accuracy against known true classes: gold[i] is item i's true class or AN_CONS_NONE.
 * For each annotator, seen[a] counts its labels on items with a gold class and correct[a]
 * those equal to it (arrays of d->annotators, filled by the call). 0 or AN_EINVAL. */
int an_cons_gold(const an_cons_data *d, const int32_t *gold, size_t *seen, size_t *correct,
                 an_err *err);

/* ---- boxes ---------------------------------------------------------------------------------- */

/* One annotator's rectangle on a task. */
typedef struct an_cons_box {
    an_rect rect;
    uint32_t annotator; /* 0..annotators-1 */
    int32_t label;      /* class index, or AN_CONS_NONE */
} an_cons_box;

typedef struct an_cons_box_opts {
    size_t annotators;    /* annotators of the task (every box's annotator is below it) */
    double iou;           /* a box joins a cluster when IoU with its mean box >= iou (0.5) */
    size_t quorum;        /* clusters with fewer distinct annotators are dropped; 0: half
                             the annotators, rounded up */
    const double *weight; /* per annotator reliability (>= 0), e.g. DS accuracy; NULL: 1 */
    size_t classes;       /* labels are 0..classes-1 */
} an_cons_box_opts;

typedef struct an_cons_merged {
    an_rect rect;    /* reliability-weighted mean of the members' x, y, w, h, rotation (plain
                        mean when their weights sum to 0) */
    int32_t label;   /* most frequent member label; ties go to the lowest index */
    size_t support;  /* members = distinct annotators */
    double mean_iou; /* mean IoU of the members with the merged box */
} an_cons_merged;

/* Clusters the boxes of one task across annotators and merges each kept cluster.
 * Annotators are taken in index order; each one's boxes are assigned one-to-one to the
 * current clusters (an_assign_max on IoU with each cluster's mean box, pairs below iou never
 * matched), so a cluster holds at most one box per annotator; unmatched boxes open new
 * clusters, and the cluster's mean box is updated after each annotator. Clusters supported by
 * at least quorum annotators are kept, in order of their first box. *out (malloc'd, caller
 * frees; NULL when none) and *n_out receive them. AN_EINVAL for bad options or boxes. */
int an_cons_boxes(const an_cons_box *boxes, size_t n, const an_cons_box_opts *o,
                  an_cons_merged **out, size_t *n_out, an_err *err);

#endif
