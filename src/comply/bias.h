/* Bias checks: does the label a task gets depend on a sensitive attribute of the task (a
 * metadata field, or a group found in its text by a lexicon), and does one annotator's
 * labelling depend on it more than their peers' does?
 *
 * The statistics are the standard ones for a groups × labels contingency table: the label
 * distribution per group, the demographic parity difference (for each label, the largest
 * minus the smallest share of that label across groups), Pearson's chi-square test of
 * independence (no continuity correction, as scipy's chi2_contingency with
 * correction=False) and Cramér's V = sqrt(chi2 / (n · (min(rows, cols) − 1))). Rows and
 * columns with no observations are left out before the test. */
#ifndef AN_COMPLY_BIAS_H
#define AN_COMPLY_BIAS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* ---- statistics ------------------------------------------------------------------------- */

typedef struct an_chi2 {
    double statistic;
    int dof;
    double p;         /* upper tail probability */
    double cramers_v; /* 0..1 */
    int64_t n;        /* observations */
} an_chi2;

/* The chi-square survival function: P(X > x) for X ~ chi-square with dof degrees of freedom
 * (the regularised upper incomplete gamma function Q(dof/2, x/2)). */
double an_chi2_sf(double x, double dof);

/* Pearson's test of independence on a rows × cols table of counts (row-major). AN_EINVAL
 * when fewer than two non-empty rows or columns remain (the test is undefined: say which). */
int an_chi2_test(const int64_t *table, size_t rows, size_t cols, an_chi2 *out, an_err *err);

/* ---- groups ---------------------------------------------------------------------------- */

/* A lexicon: terms that place a text in a group ("female": "she", "her", "她", …). ASCII
 * terms match whole words case-insensitively; other terms (CJK) match as substrings. */
typedef struct an_lexicon an_lexicon;

/* The built-in lexicon named name ("gender": English and Chinese gendered terms), or NULL. */
an_lexicon *an_lexicon_builtin(const char *name);
/* Reads a lexicon file: one "GROUP<TAB>TERM" per line; blank lines and lines starting with
 * '#' are skipped. Errors name FILE:LINE. */
int an_lexicon_read(const char *path, an_lexicon **out, an_err *err);
void an_lexicon_free(an_lexicon *l);
/* The group of text: the one group whose terms occur in it; NULL when none occurs, and
 * AN_BIAS_MIXED when terms of several groups do. */
#define AN_BIAS_MIXED "(mixed)"
const char *an_lexicon_group(const an_lexicon *l, const char *text, size_t len);

/* ---- a project ------------------------------------------------------------------------- */

typedef struct an_bias_opts {
    const char *control;       /* a single-choice Choices control; NULL: the config's first */
    const char *attribute;     /* "data.FIELD" or "meta.FIELD" (dots for nesting); or NULL */
    const an_lexicon *lexicon; /* with attribute NULL: groups from the text */
    const char *text_field;    /* data field the lexicon reads; NULL: the first Text object's */
    size_t min_labels;         /* per annotator test only with at least this many (20) */
    double alpha;              /* flag when p < alpha (0.01) … */
    double margin;             /* … and V exceeds the peers' V by more than margin (0.1) */
} an_bias_opts;

typedef struct an_bias_annotator {
    int64_t user_id;
    int64_t labels;
    int tested;    /* 0 when too few labels or the test is undefined */
    an_chi2 own;   /* their labels against the groups */
    an_chi2 peers; /* everyone else's labels against the groups */
    int flagged;   /* depends on the group more than the peers' labels do */
} an_bias_annotator;

typedef struct an_bias_result {
    size_t groups, classes;
    char **group_names;             /* groups */
    const char *const *class_names; /* borrowed from the config: valid while it lives */
    int64_t *counts;                /* groups × classes: every counted label */
    double *parity;                 /* per class: max − min share across groups */
    double max_parity;
    int tested; /* the overall test is defined */
    an_chi2 overall;
    an_bias_annotator *annotators;
    size_t n_annotators;
    int64_t tasks, tasks_grouped, tasks_mixed;
} an_bias_result;

/* Runs the check on project p (its config already parsed into cfg) into out. */
struct an_config;
int an_bias_project(an_store *s, const an_project *p, const struct an_config *cfg,
                    const an_bias_opts *o, an_bias_result *out, an_err *err);
void an_bias_result_free(an_bias_result *r);

/* The result as JSON (what `annot bias --json` prints and the QC report embeds): groups_from
 * (the attribute's path or "lexicon"), tasks, tasks_grouped, tasks_mixed, groups [{group,
 * labels, counts {label: n}}], parity {label: d}, max_parity, test {statistic, dof, p,
 * cramers_v, n} or null, annotators [{name, id, labels, tested, flagged, own, peers}]. */
json_t *an_bias_result_json(an_store *s, const an_bias_result *r, const char *groups_from);

#endif
