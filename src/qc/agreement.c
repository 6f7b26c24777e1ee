/* Agreement coefficients. Formulas follow the usual references:
 *   Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011): coincidence matrix and
 *     difference functions;
 *   Fleiss (1971), "Measuring nominal scale agreement among many raters";
 *   Cohen (1960) and Cohen (1968) for weighted kappa;
 *   Gwet (2008), "Computing inter-rater reliability and its variance in the presence of high
 *     agreement", for AC1 with missing ratings. */
#include "qc/agreement.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

static const char *const metric_names[] = {"percent", "cohen", "fleiss", "alpha", "ac1"};
static const char *const level_names[] = {"nominal", "ordinal", "interval", "ratio"};
static const char *const weight_names[] = {"none", "linear", "quadratic"};

static int parse_name(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

const char *an_agr_metric_name(an_agr_metric m) { return metric_names[m]; }
int an_agr_metric_parse(const char *s) { return parse_name(s, metric_names, 5); }
const char *an_agr_level_name(an_agr_level l) { return level_names[l]; }
int an_agr_level_parse(const char *s) { return parse_name(s, level_names, 4); }
const char *an_agr_weights_name(an_agr_weights w) { return weight_names[w]; }
int an_agr_weights_parse(const char *s) { return parse_name(s, weight_names, 3); }

void an_agr_result_free(an_agr_result *out)
{
    free(out->pairs);
    memset(out, 0, sizeof *out);
}

static int at(const an_agr_data *d, size_t u, size_t c) { return d->cell[u * d->coders + c]; }

/* Values present in unit u, counted per category into counts (k entries, zeroed here). */
static size_t unit_counts(const an_agr_data *d, size_t u, double *counts)
{
    size_t m = 0;
    memset(counts, 0, d->categories * sizeof *counts);
    for (size_t c = 0; c < d->coders; c++) {
        int v = at(d, u, c);
        if (v >= 0) {
            counts[v] += 1;
            m++;
        }
    }
    return m;
}

/* Alpha: coincidences o[c][k] = sum over units with m_u >= 2 of (pairs c,k) / (m_u - 1). */
static int alpha(const an_agr_data *d, an_agr_level level, an_agr_result *out, an_err *err)
{
    size_t k = d->categories;
    if ((level == AN_AGR_INTERVAL || level == AN_AGR_RATIO) && !d->values)
        return an_err_set(err, AN_EINVAL, "--level",
                          "%s alpha needs numbers in every cell; use --level nominal or ordinal",
                          an_agr_level_name(level));
    if (level == AN_AGR_RATIO)
        for (size_t c = 0; c < k; c++)
            if (d->values[c] < 0)
                return an_err_set(err, AN_EINVAL, "--level",
                                  "ratio alpha needs values >= 0 (found %g); use --level interval",
                                  d->values[c]);
    double *o = an_xcalloc(k * k, sizeof *o);
    double *cnt = an_xcalloc(k ? k : 1, sizeof *cnt);
    size_t *present = an_xcalloc(d->coders, sizeof *present);
    double *counted = an_xcalloc(d->coders, sizeof *counted);
    size_t used = 0;
    for (size_t u = 0; u < d->units; u++) {
        size_t m = unit_counts(d, u, cnt);
        if (m < 2) continue;
        used++;
        /* Only the categories present in the unit: at most one per coder. */
        size_t np = 0;
        for (size_t c = 0; c < d->coders; c++) {
            int v = at(d, u, c);
            if (v >= 0 && cnt[v] > 0) {
                present[np++] = (size_t)v;
                counted[np - 1] = cnt[v];
                cnt[v] = 0; /* listed once */
            }
        }
        for (size_t x = 0; x < np; x++)
            for (size_t y = 0; y < np; y++) {
                double ca = counted[x], cb = counted[y];
                double pairs = x == y ? ca * (ca - 1) : ca * cb;
                o[present[x] * k + present[y]] += pairs / (double)(m - 1);
            }
    }
    free(present);
    free(counted);
    double *nc = cnt; /* reused: marginals n_c */
    memset(nc, 0, (k ? k : 1) * sizeof *nc);
    double n = 0;
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            nc[a] += o[a * k + b];
            n += o[a * k + b];
        }
    /* cum[g] = n_0 + ... + n_(g-1), for the ordinal difference in O(1). */
    double *cum = an_xcalloc(k + 1, sizeof *cum);
    for (size_t g = 0; g < k; g++)
        cum[g + 1] = cum[g] + nc[g];
    double obs = 0, exp = 0;
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            if (a == b) continue;
            double delta;
            if (level == AN_AGR_NOMINAL) {
                delta = 1;
            } else if (level == AN_AGR_ORDINAL) {
                size_t lo = a < b ? a : b, hi = a < b ? b : a;
                double s = cum[hi + 1] - cum[lo] - (nc[a] + nc[b]) / 2;
                delta = s * s;
            } else if (level == AN_AGR_INTERVAL) {
                double diff = d->values[a] - d->values[b];
                delta = diff * diff;
            } else {
                double sum = d->values[a] + d->values[b];
                double diff = sum > 0 ? (d->values[a] - d->values[b]) / sum : 0;
                delta = diff * diff;
            }
            obs += o[a * k + b] * delta;
            exp += nc[a] * nc[b] * delta;
        }
    free(o);
    free(cnt);
    free(cum);
    if (used == 0)
        return an_err_set(err, AN_EINVAL, "data",
                          "no unit has two or more values, so agreement is undefined; "
                          "each unit needs at least two coders");
    if (exp <= 0)
        return an_err_set(err, AN_EINVAL, "data",
                          "all values are the same, so alpha is undefined (no expected "
                          "disagreement); report percent agreement instead");
    out->value = 1 - (n - 1) * obs / exp;
    out->units_used = used;
    return 0;
}

static int fleiss(const an_agr_data *d, an_agr_result *out, an_err *err)
{
    size_t k = d->categories, used = 0, m0 = 0;
    double *cnt = an_xcalloc(k ? k : 1, sizeof *cnt);
    double *pj = an_xcalloc(k ? k : 1, sizeof *pj);
    double pbar = 0;
    for (size_t u = 0; u < d->units; u++) {
        size_t m = unit_counts(d, u, cnt);
        if (m == 0) continue; /* a unit nobody rated takes no part */
        if (m0 == 0) m0 = m;
        if (m != m0 || m < 2) {
            free(cnt);
            free(pj);
            char where[64];
            snprintf(where, sizeof where, "unit %zu", u + 1);
            if (m < 2)
                return an_err_set(err, AN_EINVAL, where,
                                  "Fleiss' kappa needs at least 2 ratings per unit, but this "
                                  "unit has %zu; use --metric alpha, which allows missing values",
                                  m);
            return an_err_set(err, AN_EINVAL, where,
                              "Fleiss' kappa needs the same number of ratings for every unit, "
                              "but this unit has %zu and the first rated unit %zu; use "
                              "--metric alpha, which allows missing values",
                              m, m0);
        }
        double s = 0;
        for (size_t j = 0; j < k; j++) {
            s += cnt[j] * cnt[j];
            pj[j] += cnt[j];
        }
        pbar += (s - (double)m) / ((double)m * (double)(m - 1));
        used++;
    }
    double pe = 0;
    if (used) {
        pbar /= (double)used;
        for (size_t j = 0; j < k; j++) {
            double p = pj[j] / ((double)used * (double)m0);
            pe += p * p;
        }
    }
    free(cnt);
    free(pj);
    if (used == 0)
        return an_err_set(err, AN_EINVAL, "data", "no unit has any rating; nothing to compare");
    if (pe >= 1)
        return an_err_set(err, AN_EINVAL, "data",
                          "every rating is the same category, so kappa is undefined (chance "
                          "agreement is 1); report percent agreement instead");
    out->value = (pbar - pe) / (1 - pe);
    out->units_used = used;
    return 0;
}

static int ac1(const an_agr_data *d, an_agr_result *out, an_err *err)
{
    size_t k = d->categories, rated = 0, paired = 0;
    double *cnt = an_xcalloc(k ? k : 1, sizeof *cnt);
    double *pi = an_xcalloc(k ? k : 1, sizeof *pi);
    double pa = 0;
    for (size_t u = 0; u < d->units; u++) {
        size_t m = unit_counts(d, u, cnt);
        if (m == 0) continue;
        rated++;
        for (size_t j = 0; j < k; j++)
            pi[j] += cnt[j] / (double)m;
        if (m < 2) continue;
        paired++;
        double s = 0;
        for (size_t j = 0; j < k; j++)
            s += cnt[j] * (cnt[j] - 1);
        pa += s / ((double)m * (double)(m - 1));
    }
    double pe = 0;
    for (size_t j = 0; j < k && rated; j++) {
        double p = pi[j] / (double)rated;
        pe += p * (1 - p);
    }
    free(cnt);
    free(pi);
    if (paired == 0)
        return an_err_set(err, AN_EINVAL, "data",
                          "no unit has two or more values, so agreement is undefined; "
                          "each unit needs at least two coders");
    if (k < 2)
        return an_err_set(err, AN_EINVAL, "data",
                          "only one category occurs, so AC1 is undefined; report percent "
                          "agreement instead");
    pa /= (double)paired;
    pe /= (double)(k - 1);
    out->value = (pa - pe) / (1 - pe); /* pe <= 1/k <= 1/2 here, so no division by 0 */
    out->units_used = paired;
    return 0;
}

static double weight(an_agr_weights w, size_t i, size_t j, size_t k)
{
    if (i == j) return 1;
    if (w == AN_AGR_W_NONE || k < 2) return 0;
    double r = fabs((double)i - (double)j) / (double)(k - 1);
    return w == AN_AGR_W_LINEAR ? 1 - r : 1 - r * r;
}

/* Cohen's (weighted) kappa of coders a and b over the units both coded. NAN when undefined.
 * row and col are k-entry scratch arrays (the two coders' marginal counts). Observed agreement
 * is summed unit by unit and chance agreement from the marginals, so no k x k table is built:
 * O(units + k) unweighted, O(units + k^2) weighted. */
static double cohen_pair(const an_agr_data *d, an_agr_weights w, size_t a, size_t b,
                         size_t *shared, double *row, double *col)
{
    size_t k = d->categories, n = 0;
    memset(row, 0, k * sizeof *row);
    memset(col, 0, k * sizeof *col);
    double po = 0;
    for (size_t u = 0; u < d->units; u++) {
        int x = at(d, u, a), y = at(d, u, b);
        if (x < 0 || y < 0) continue;
        row[x] += 1;
        col[y] += 1;
        po += weight(w, (size_t)x, (size_t)y, k);
        n++;
    }
    *shared = n;
    if (n == 0) return NAN;
    double pe = 0, nn = (double)n * (double)n;
    for (size_t i = 0; i < k; i++) {
        if (row[i] == 0) continue;
        if (w == AN_AGR_W_NONE) {
            pe += row[i] * col[i] / nn;
            continue;
        }
        for (size_t j = 0; j < k; j++)
            pe += weight(w, i, j, k) * row[i] * col[j] / nn;
    }
    po /= (double)n;
    if (pe >= 1 - 1e-12) return NAN;
    return (po - pe) / (1 - pe);
}

static double percent_pair(const an_agr_data *d, size_t a, size_t b, size_t *shared)
{
    size_t n = 0, same = 0;
    for (size_t u = 0; u < d->units; u++) {
        int x = at(d, u, a), y = at(d, u, b);
        if (x < 0 || y < 0) continue;
        n++;
        same += x == y;
    }
    *shared = n;
    return n ? (double)same / (double)n : NAN;
}

static int pairwise(const an_agr_data *d, an_agr_metric metric, an_agr_weights w,
                    an_agr_result *out, an_err *err)
{
    size_t nc = d->coders, k = d->categories;
    if (nc < 2)
        return an_err_set(err, AN_EINVAL, "data", "agreement needs at least two coders (columns)");
    out->n_pairs = nc * (nc - 1) / 2;
    out->pairs = an_xcalloc(out->n_pairs, sizeof *out->pairs);
    double *row = an_xcalloc(k ? 2 * k : 1, sizeof *row), *col = row + k;
    size_t p = 0, defined = 0;
    double sum = 0;
    for (size_t a = 0; a < nc; a++)
        for (size_t b = a + 1; b < nc; b++, p++) {
            an_agr_pair *pr = &out->pairs[p];
            pr->a = a;
            pr->b = b;
            pr->value = metric == AN_AGR_COHEN ? cohen_pair(d, w, a, b, &pr->units, row, col)
                                               : percent_pair(d, a, b, &pr->units);
            if (!isnan(pr->value)) {
                sum += pr->value;
                defined++;
            }
        }
    free(row);
    if (metric == AN_AGR_COHEN) {
        if (defined == 0) {
            an_agr_result_free(out);
            return an_err_set(err, AN_EINVAL, "data",
                              "kappa is undefined for every coder pair (no shared units, or a "
                              "single category); report percent agreement instead");
        }
        out->value = sum / (double)defined; /* Light's kappa when there are over two coders */
        size_t used = 0;
        for (size_t u = 0; u < d->units; u++) {
            size_t m = 0;
            for (size_t c = 0; c < nc; c++)
                m += at(d, u, c) >= 0;
            used += m >= 2;
        }
        out->units_used = used;
        return 0;
    }
    /* Percent: per unit, the share of agreeing ordered pairs of values, then the mean. */
    double *cnt = an_xcalloc(k ? k : 1, sizeof *cnt);
    double total = 0;
    size_t used = 0;
    for (size_t u = 0; u < d->units; u++) {
        size_t m = unit_counts(d, u, cnt);
        if (m < 2) continue;
        double s = 0;
        for (size_t j = 0; j < k; j++)
            s += cnt[j] * (cnt[j] - 1);
        total += s / ((double)m * (double)(m - 1));
        used++;
    }
    free(cnt);
    if (used == 0) {
        an_agr_result_free(out);
        return an_err_set(err, AN_EINVAL, "data",
                          "no unit has two or more values, so agreement is undefined; "
                          "each unit needs at least two coders");
    }
    out->value = total / (double)used;
    out->units_used = used;
    return 0;
}

int an_agreement(const an_agr_data *d, an_agr_metric metric, an_agr_level level,
                 an_agr_weights weights, an_agr_result *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    if (d->units == 0 || d->coders == 0)
        return an_err_set(err, AN_EINVAL, "data", "no units or no coders; nothing to compare");
    for (size_t i = 0; i < d->units * d->coders; i++)
        if (d->cell[i] < AN_AGR_MISSING || (d->cell[i] >= 0 && (size_t)d->cell[i] >= d->categories))
            return an_err_set(err, AN_EINVAL, "data", "cell %zu holds category %d of %zu", i,
                              d->cell[i], d->categories);
    int rc;
    switch (metric) {
    case AN_AGR_ALPHA: rc = alpha(d, level, out, err); break;
    case AN_AGR_FLEISS: rc = fleiss(d, out, err); break;
    case AN_AGR_AC1: rc = ac1(d, out, err); break;
    case AN_AGR_PERCENT:
    case AN_AGR_COHEN: rc = pairwise(d, metric, weights, out, err); break;
    default: return an_err_set(err, AN_EINVAL, "--metric", "unknown metric %d", (int)metric);
    }
    if (rc == 0 && !isfinite(out->value)) {
        an_agr_result_free(out);
        return an_err_set(err, AN_EINVAL, "data", "the coefficient is undefined for these data");
    }
    return rc;
}
