/* The store's quality-control subject (schema 4): each project's rules document and the
 * findings its rules produce. Same conventions as store.h: 0 or a negative an_code with err
 * filled; strings of rows passed to callbacks are borrowed for the call. */
#ifndef AN_STORE_QC_H
#define AN_STORE_QC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* ---- the rules document --------------------------------------------------------------------- */

/* Reads project_id's rules document: *doc (malloc'd JSON text) and *updated_at (malloc'd,
 * may be NULL), both set to NULL when the project has none (not an error). The caller frees
 * both. */
int an_store_qc_rules_get(an_store *s, int64_t project_id, char **doc, char **updated_at,
                          an_err *err);

/* Replaces project_id's rules document with doc (JSON text, validated by the caller), or
 * removes it when doc is NULL. Own transaction or the open one. AN_ENOTFOUND when no such
 * project. */
int an_store_qc_rules_set(an_store *s, int64_t project_id, const char *doc, an_err *err);

/* ---- findings --------------------------------------------------------------------------------- */

/* Where a finding came from: checked at submit, or by a batch run (`annot qc`), which
 * replaces the project's earlier batch findings. */
#define AN_QC_ORIGIN_SUBMIT "submit"
#define AN_QC_ORIGIN_BATCH "batch"

typedef struct an_qc_finding_in {
    int64_t project_id;
    int64_t task_id;
    int64_t annotation_id; /* 0: about the task as a whole */
    int64_t annotator_id;  /* 0: none */
    const char *rule;      /* the rule's id */
    const char *severity;  /* "error" or "warning" */
    const char *place;     /* JSON path into the result; NULL: "" */
    const char *message;
    const char *origin;    /* AN_QC_ORIGIN_SUBMIT or AN_QC_ORIGIN_BATCH */
} an_qc_finding_in;

/* Adds n findings, inside the caller's write transaction when one is open (so they commit
 * with the annotation they are about), else in one of their own. AN_EINVAL for a bad
 * severity or origin (where "findings[I].severity"); AN_ENOTFOUND when a task or annotation
 * does not exist. */
int an_store_qc_findings_add(an_store *s, const an_qc_finding_in *f, size_t n, an_err *err);

/* Deletes project_id's findings of origin (NULL: every origin); *deleted (may be NULL) is how
 * many. Own transaction or the open one. */
int an_store_qc_findings_delete(an_store *s, int64_t project_id, const char *origin,
                                int64_t *deleted, an_err *err);

/* Deletes annotation_id's findings of origin (NULL: every origin), e.g. before storing the
 * findings of its changed result. Own transaction or the open one. */
int an_store_qc_findings_delete_annotation(an_store *s, int64_t annotation_id, const char *origin,
                                           an_err *err);

typedef struct an_qc_finding_row {
    int64_t id;
    int64_t project_id;
    int64_t task_id;
    int64_t annotation_id; /* 0 when none */
    int64_t annotator_id;  /* 0 when none */
    const char *rule;
    const char *severity;
    const char *place;
    const char *message;
    const char *origin;
    const char *created_at;
} an_qc_finding_row;
typedef int (*an_qc_finding_cb)(void *ud, const an_qc_finding_row *f);

/* Which findings to list; zero / NULL fields match anything. */
typedef struct an_qc_filter {
    int64_t project_id; /* required */
    const char *rule;
    const char *severity;
    const char *origin;
    int64_t annotator_id;
    int64_t task_id;
    int64_t annotation_id;
    int64_t after_id; /* keyset paging: findings with a larger id */
    int limit;        /* 1..10000; 0 means 100 */
} an_qc_filter;

/* Calls cb for each matching finding in id order, at most f->limit of them. */
int an_store_qc_findings_list(an_store *s, const an_qc_filter *f, an_qc_finding_cb cb, void *ud,
                              an_err *err);

/* Counts for reports: one call per (key, severity) with the number of the project's findings
 * of origin (NULL: any), ordered by key then severity. */
typedef int (*an_qc_rule_count_cb)(void *ud, const char *rule, const char *severity,
                                   int64_t count);
int an_store_qc_counts_by_rule(an_store *s, int64_t project_id, const char *origin,
                               an_qc_rule_count_cb cb, void *ud, an_err *err);
/* annotator_id 0: findings without an annotator. */
typedef int (*an_qc_annotator_count_cb)(void *ud, int64_t annotator_id, const char *severity,
                                        int64_t count);
int an_store_qc_counts_by_annotator(an_store *s, int64_t project_id, const char *origin,
                                    an_qc_annotator_count_cb cb, void *ud, an_err *err);

#endif
