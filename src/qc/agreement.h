/* Inter-annotator agreement on reliability data: a units x coders matrix whose cells hold a
 * category index (or AN_AGR_MISSING). Pure computation: no I/O, no printing.
 *
 * Categories are indices 0..k-1 in their order (the order ordinal metrics and kappa weights
 * use); `values` gives each category's number for interval and ratio alpha. Every metric
 * returns 0 and a finite value, or AN_EINVAL with a message when the data leave it undefined
 * (no pairable values, a single category, unequal ratings for Fleiss) — never NaN. */
#ifndef AN_QC_AGREEMENT_H
#define AN_QC_AGREEMENT_H

#include <stddef.h>

#include "base/err.h"

#define AN_AGR_MISSING (-1)

typedef enum an_agr_metric {
    AN_AGR_PERCENT, /* mean pairwise agreement over units with >= 2 values */
    AN_AGR_COHEN,   /* Cohen's kappa per coder pair; the value is their mean */
    AN_AGR_FLEISS,  /* Fleiss' kappa: every unit with values has the same number */
    AN_AGR_ALPHA,   /* Krippendorff's alpha, any level, missing values allowed */
    AN_AGR_AC1,     /* Gwet's AC1 (nominal), missing values allowed */
} an_agr_metric;

typedef enum an_agr_level {
    AN_AGR_NOMINAL,
    AN_AGR_ORDINAL,
    AN_AGR_INTERVAL,
    AN_AGR_RATIO,
} an_agr_level;

typedef enum an_agr_weights {
    AN_AGR_W_NONE,
    AN_AGR_W_LINEAR,    /* 1 - |i-j|/(k-1) on category ranks */
    AN_AGR_W_QUADRATIC, /* 1 - ((i-j)/(k-1))^2 on category ranks */
} an_agr_weights;

typedef struct an_agr_data {
    size_t units, coders;
    size_t categories;    /* k */
    const int *cell;      /* cell[u * coders + c]: 0..k-1 or AN_AGR_MISSING */
    const double *values; /* k numbers, ascending for interval/ratio; NULL when not numeric */
} an_agr_data;

typedef struct an_agr_pair {
    size_t a, b;  /* coder indices, a < b */
    size_t units; /* units both coded */
    double value; /* NAN when undefined for this pair (too few shared units, one category) */
} an_agr_pair;

typedef struct an_agr_result {
    double value;
    size_t units_used; /* units that entered the computation */
    an_agr_pair *pairs; /* cohen and percent: one per coder pair (a < b); caller frees */
    size_t n_pairs;
} an_agr_result;

/* Computes metric on d into out (out->pairs malloc'd, or NULL). level applies to alpha only,
 * weights to cohen only. Returns 0, or -AN_EINVAL with err filled (nothing to free). */
int an_agreement(const an_agr_data *d, an_agr_metric metric, an_agr_level level,
                 an_agr_weights weights, an_agr_result *out, an_err *err);

/* Frees out->pairs and clears out. */
void an_agr_result_free(an_agr_result *out);

/* Names used by the command line and JSON ("percent", "nominal", "linear", ...); parse
 * functions return -1 for an unknown name. */
const char *an_agr_metric_name(an_agr_metric m);
int an_agr_metric_parse(const char *s);
const char *an_agr_level_name(an_agr_level l);
int an_agr_level_parse(const char *s);
const char *an_agr_weights_name(an_agr_weights w);
int an_agr_weights_parse(const char *s);

#endif
