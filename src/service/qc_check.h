/* Quality control of annotations against the project's rules (docs/qc.md, "Rules"): at
 * submit time (one annotation, findings split into blocking and warnings) and as a batch
 * over a whole project (`annot qc`, POST /api/projects/{id}/qc/run). Both front ends call
 * these.
 *
 * Compiled rules are cached process-wide, keyed by the content hash of the stored document,
 * so a changed document (by this process or another) is compiled again, never served stale;
 * the cache is thread-safe. */
#ifndef AN_QC_CHECK_H
#define AN_QC_CHECK_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "base/progress.h"
#include "model/config.h"
#include "qc/rules.h"
#include "store/store.h"

/* What the rules say about one annotation. */
typedef struct an_qc_verdict {
    an_qc_findings blocking; /* severity error: refuse the submit (HTTP 422) */
    an_qc_findings warnings; /* severity warning: store them with the annotation */
} an_qc_verdict;

/* Frees the findings (the verdict may be reused). */
void an_qc_verdict_clear(an_qc_verdict *v);

/* Checks annotator_id's result (with lead_time, NAN when unknown) for task t of a project
 * with config cfg against the project's rules, with the task's predictions and the other
 * annotators' latest non-cancelled annotations as references. *out is filled (clear it with
 * an_qc_verdict_clear, also after a failure). A project without rules costs one indexed
 * read and leaves *out empty. Reads only: call it before the write transaction, or inside
 * one (its reads then see the transaction's view). Errors are the store's, or AN_EINTERNAL
 * when the stored rules no longer parse. */
int an_qc_check_submit(an_store *s, const an_config *cfg, const an_task *t, int64_t annotator_id,
                       const json_t *result, double lead_time, an_qc_verdict *out, an_err *err);

/* When v has blocking findings: fills err (AN_EINVAL, where = the first one's place, the
 * message naming its rule: "rule \"boxes\": …; N more blocking findings") and returns
 * -AN_EINVAL, for a 422 answer. Returns 0 when nothing blocks. */
int an_qc_verdict_error(const an_qc_verdict *v, an_err *err);

/* Stores findings about annotation_id (0: about the task) of task t by annotator_id with
 * origin AN_QC_ORIGIN_SUBMIT or AN_QC_ORIGIN_BATCH (store/qc.h), in the caller's write
 * transaction when one is open (so they commit with the annotation), else in their own. */
int an_qc_store_findings(an_store *s, const an_task *t, int64_t annotation_id,
                         int64_t annotator_id, const an_qc_findings *f, const char *origin,
                         an_err *err);

/* Validates text[0..len) as project_id's rules document (against the project's config, so
 * unknown control names are refused with their place) and stores it in canonical form with
 * an audit entry by user_id ("qc_rules.update"); an empty list of rules is allowed. */
int an_qc_rules_save(an_store *s, int64_t project_id, const char *text, size_t len,
                     int64_t user_id, an_err *err);

/* ---- batch ---------------------------------------------------------------------------------- */

typedef struct an_qc_rule_tally {
    char *rule;
    const char *type;
    an_qc_severity severity;
    int64_t findings;
} an_qc_rule_tally;

typedef struct an_qc_summary {
    int64_t tasks;       /* tasks read */
    int64_t annotations; /* annotations checked (each annotator's latest non-cancelled one) */
    int64_t errors, warnings;
    an_qc_rule_tally *rules; /* one per rule of the document, in its order */
    size_t n_rules;
} an_qc_summary;
void an_qc_summary_clear(an_qc_summary *s);

/* Re-evaluates every annotator's latest non-cancelled annotation of project_id (streaming the
 * tasks; memory stays bounded by the largest task) and replaces the project's batch findings
 * with what the rules find, in one short write transaction at the end (the findings wait in
 * a temporary file meanwhile, so other writers are not held off during the run). progress
 * may be NULL. A project without rules ends with no batch findings. */
int an_qc_run_project(an_store *s, int64_t project_id, an_progress *progress,
                      an_qc_summary *summary, an_err *err);

#endif
