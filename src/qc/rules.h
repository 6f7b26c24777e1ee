/* Quality-control rules: a project's rules document (docs/qc.md, "Rules") parsed and compiled
 * once, then evaluated against one annotation at a time. Pure computation: no I/O.
 *
 * A compiled rule set is immutable and may be shared between threads; an_qc_evaluate may run
 * on it from several threads at once (regexes get per-call match data). */
#ifndef AN_QC_RULES_H
#define AN_QC_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "model/config.h"

/* Bounds on a rules document; anything larger is refused with the place named. */
#define AN_QC_MAX_DOC_BYTES (256 * 1024)
#define AN_QC_MAX_RULES 100
#define AN_QC_MAX_ID 64           /* bytes of a rule id */
#define AN_QC_MAX_MESSAGE 500     /* bytes of a rule's message */
#define AN_QC_MAX_REGEX 1000      /* bytes of a regex pattern */
#define AN_QC_MAX_DEPTH 8         /* nesting of all/any/not */
#define AN_QC_MAX_PREDICATES 64   /* predicates in one rule, counting nested ones */
#define AN_QC_MAX_FINDINGS 1000   /* findings from one evaluation; more are dropped */

typedef enum an_qc_severity {
    AN_QC_WARNING = 0, /* stored as a finding; the annotation is accepted */
    AN_QC_ERROR = 1,   /* blocks a submit (HTTP 422) */
} an_qc_severity;

/* "error" / "warning". */
const char *an_qc_severity_name(an_qc_severity s);

typedef struct an_qc_rules an_qc_rules;

/* Parses and compiles a rules document (JSON text text[0..len)). On success *out is a new
 * rule set the caller frees with an_qc_rules_free. A bad document fails with AN_EINVAL,
 * where naming the place ("rules[2].when.regex") and the message saying what to write. The
 * config, when not NULL, is used to check that named controls exist (rules[I].controls[J]). */
int an_qc_rules_parse(const char *text, size_t len, const an_config *cfg, an_qc_rules **out,
                      an_err *err);
void an_qc_rules_free(an_qc_rules *r);

/* Number of rules, and rule i's id, type name and severity (i < count), in document order. */
size_t an_qc_rules_count(const an_qc_rules *r);
const char *an_qc_rule_id(const an_qc_rules *r, size_t i);
const char *an_qc_rule_type(const an_qc_rules *r, size_t i);
an_qc_severity an_qc_rule_severity(const an_qc_rules *r, size_t i);
/* Whether any rule looks at predictions / at other annotators' results, so that callers can
 * skip loading them. */
bool an_qc_rules_use_predictions(const an_qc_rules *r);
bool an_qc_rules_use_references(const an_qc_rules *r);

/* One model prediction of the task. score: the prediction's score, NAN when it has none
 * (then per-item "score" fields decide). */
typedef struct an_qc_prediction {
    const json_t *result;
    double score;
    const char *model_version; /* may be NULL */
} an_qc_prediction;

/* What one evaluation looks at. All borrowed. */
typedef struct an_qc_input {
    const an_config *cfg;
    const json_t *data;   /* the task's data object */
    const json_t *result; /* the annotation's result array */
    double lead_time;     /* seconds; NAN when unknown */
    const an_qc_prediction *predictions;
    size_t n_predictions;
    const json_t *const *references; /* other annotators' latest result arrays */
    size_t n_references;
} an_qc_input;

/* One finding. Strings are owned by the list. */
typedef struct an_qc_finding {
    char *rule;        /* the rule's id */
    const char *type;  /* the rule's type ("box_bounds"; static) */
    an_qc_severity severity;
    char *place;       /* JSON path into the result ("result[3].value.width"), "result" or
                          "lead_time" */
    char *message;
} an_qc_finding;

typedef struct an_qc_findings {
    an_qc_finding *items;
    size_t n, cap;
} an_qc_findings;

/* Frees the findings' strings and empties the list (it may be reused). */
void an_qc_findings_clear(an_qc_findings *f);

/* Appends a copy of one finding. */
void an_qc_findings_add(an_qc_findings *f, const char *rule, const char *type,
                        an_qc_severity sev, const char *place, const char *message);

/* Evaluates every rule on one annotation and appends what they find to out (in rule order,
 * then result order; at most AN_QC_MAX_FINDINGS). Malformed result items are skipped by
 * the rules that cannot read them, never an error: validation is an_validate_result's job.
 * Returns 0, or AN_EINVAL when in->result is not an array. */
int an_qc_evaluate(const an_qc_rules *r, const an_qc_input *in, an_qc_findings *out,
                   an_err *err);

/* The findings as a JSON array of {"rule", "type", "severity", "place", "message"} (caller
 * owns it). */
json_t *an_qc_findings_json(const an_qc_findings *f);

#endif
