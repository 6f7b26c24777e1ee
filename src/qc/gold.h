/* A project's classification answers for one Choices control, and each annotator's accuracy
 * on gold tasks: tasks with an annotation marked ground_truth.
 *
 * The project's tasks are streamed once (memory: the answers kept as consensus labels, not
 * the tasks). Of a task's annotations, cancelled ones and ones without an annotator are
 * ignored. The gold answer is the latest (largest updated_at, then largest id) ground_truth
 * annotation; the others count per annotator, each annotator's latest one per task, as in
 * project agreement (qc/project_agreement.h). An answer is the set of choices the annotation
 * makes in the control (empty when it has no result for it).
 *
 * Gold: on every gold task, each other annotator's answer is seen, and correct when its
 * choice set equals the gold set exactly. Consensus labels: each annotator's answer with
 * exactly one known choice is a label (item = task, class = the choice's index in the
 * config); gold annotations are references, not votes. */
#ifndef AN_QC_GOLD_H
#define AN_QC_GOLD_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "model/config.h"
#include "qc/consensus.h"
#include "store/store.h"

typedef struct an_gold_stat {
    size_t seen, correct;
    double accuracy; /* correct / seen; NAN when seen is 0 */
    double lo, hi;   /* Wilson 95 % interval; 0 and 1 when seen is 0 */
} an_gold_stat;

typedef struct an_choice_table {
    size_t tasks;           /* tasks of the project, in id order */
    int64_t *task_ids;      /* tasks */
    size_t annotators;      /* annotators with any counted answer, in id order */
    int64_t *annotator_ids; /* annotators */
    an_cons_labels labels;  /* finished: items = tasks, annotators, classes = control labels */
    int32_t *gold;          /* per task: the gold class when the gold set has exactly one
                               choice, else AN_CONS_NONE */
    size_t gold_tasks;      /* tasks with a gold answer */
    an_gold_stat *stats;    /* per annotator */
    size_t not_single;      /* answers not a single known choice (not consensus labels) */
    size_t unknown_choices; /* answers naming a choice the control does not have (these are
                               never correct against gold either) */
} an_choice_table;

/* Reads project_id's answers to control c (a Choices control of the project's config) into
 * out. AN_EINVAL when c is not a Choices control; store errors as they come. out is empty
 * (needs no free) on failure. */
int an_choice_table_read(an_store *s, int64_t project_id, const an_control *c,
                         an_choice_table *out, an_err *err);
void an_choice_table_free(an_choice_table *t);

/* Wilson score interval at 95 % (z = 1.959964) for correct successes in seen trials; [0, 1]
 * when seen is 0. */
void an_wilson95(size_t correct, size_t seen, double *lo, double *hi);

#endif
