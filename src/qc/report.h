/* A project's QC report (docs/qc.md, "Reports"): one JSON document gathering what the QC
 * modules know about a project — a summary, per classifying control the Dawid–Skene and
 * majority consensus with each annotator's DS accuracy, gold accuracy (Wilson interval),
 * agreement with the consensus and confusion matrix, the pairwise agreement matrix of every
 * measurable control, the findings by rule, annotator and label, and trends per UTC day.
 * report_html renders the same document as one self-contained HTML page.
 *
 * Reading: an_project_agreement streams the tasks once for the agreement matrix,
 * an_choice_table_read once per reported control, and the report itself once more (days,
 * findings' labels). Memory: the consensus labels of the reported controls (as for
 * `annot consensus`), the project's findings as (annotation, item) pairs, and one entry per
 * day — never the tasks.
 *
 * Thread safety: none needed; the functions touch only their arguments. */
#ifndef AN_QC_REPORT_H
#define AN_QC_REPORT_H

#include <jansson.h>
#include <stdbool.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/store.h"

typedef struct an_report_opts {
    /* One control's name (a single-choice Choices control), or NULL for every single-choice
     * Choices control of the config. The trends follow this control (or the first one). */
    const char *control;
    /* Time of the report ("generated_at"); NULL: now. Tests pin it. */
    const char *now;
    /* A bias check (src/comply/bias.h) to include as "bias": groups from a task attribute
     * ("meta.gender") or a lexicon (a built-in name such as "gender", or with
     * bias_lexicon_file a lexicon file's path: the CLI only). NULL: none. */
    const char *bias_attribute;
    const char *bias_lexicon;
    bool bias_lexicon_file;
} an_report_opts;

/* Gathers the report of project p (id, name and config are used) into *out (a new JSON
 * object the caller releases with json_decref). AN_EINVAL when the config does not parse or
 * opts->control names no single-choice Choices control; store errors as they come. A
 * project without annotations gives a report with empty sections, not an error. Reads in a
 * read transaction of its own (one snapshot) unless the caller has one open. */
int an_report_build(an_store *s, const an_project *p, const an_report_opts *opts, json_t **out,
                    an_err *err);

/* Appends report.html for the report document r (from an_report_build, or the same shape
 * read back from report.json) to out: one self-contained page — inline <style>, inline SVG
 * charts, no scripts, no external URLs; every text from r is HTML-escaped. Members of r that
 * are missing or of the wrong type are shown as empty, never trusted. */
void an_report_html(const json_t *r, an_buf *out);

#endif
