/* Agreement coefficients against published worked examples, degenerate data, and the
 * reliability CSV reader. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qc/agreement.h"
#include "qc/bootstrap.h"
#include "qc/reliability_csv.h"
#include "testlib.h"

#define M AN_AGR_MISSING

static double run(const an_agr_data *d, an_agr_metric m, an_agr_level l, an_agr_weights w)
{
    an_agr_result r;
    an_err e;
    an_err_clear(&e);
    int rc = an_agreement(d, m, l, w, &r, &e);
    if (rc != 0) fail_msg("an_agreement failed: %s: %s", e.where, e.msg);
    double v = r.value;
    an_agr_result_free(&r);
    return v;
}

static int run_err(const an_agr_data *d, an_agr_metric m, an_agr_level l, an_err *e)
{
    an_agr_result r;
    an_err_clear(e);
    int rc = an_agreement(d, m, l, AN_AGR_W_NONE, &r, e);
    assert_null(r.pairs);
    return rc;
}

/* Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers
 * x 12 units with missing values. Published: nominal .743, ordinal .815, interval .849,
 * ratio .797. Units are rows here, observers A..D columns; category index = value - 1. */
static const int kripp[12][4] = {
    {0, 0, M, 0}, {1, 1, 2, 1}, {2, 2, 2, 2}, {2, 2, 2, 2}, {1, 1, 1, 1}, {0, 1, 2, 3},
    {3, 3, 3, 3}, {0, 0, 1, 0}, {1, 1, 1, 1}, {M, 4, 4, 4}, {M, M, 0, 0}, {M, 2, M, M},
};
static const double kripp_values[5] = {1, 2, 3, 4, 5};

static void test_alpha_krippendorff_2011(void **state)
{
    an_agr_data d = {12, 4, 5, &kripp[0][0], kripp_values};
    assert_float_equal(run(&d, AN_AGR_ALPHA, AN_AGR_NOMINAL, 0), 0.743, 0.0005);
    assert_float_equal(run(&d, AN_AGR_ALPHA, AN_AGR_ORDINAL, 0), 0.815, 0.0005);
    assert_float_equal(run(&d, AN_AGR_ALPHA, AN_AGR_INTERVAL, 0), 0.849, 0.0005);
    assert_float_equal(run(&d, AN_AGR_ALPHA, AN_AGR_RATIO, 0), 0.797, 0.0005);
    /* Interval and ratio need numbers. */
    an_agr_data text = d;
    text.values = NULL;
    an_err e;
    assert_int_equal(run_err(&text, AN_AGR_ALPHA, AN_AGR_INTERVAL, &e), -AN_EINVAL);
    assert_non_null(strstr(e.msg, "numbers"));
}

/* Fleiss' kappa, the worked example on Wikipedia's "Fleiss' kappa" page: 10 subjects, 14
 * raters, 5 categories; P-bar = 0.378, P-e = 0.213, kappa = 0.210. The table gives counts per
 * category; the matrix hands each subject's ratings to raters in turn. */
static const int fleiss_counts[10][5] = {
    {0, 0, 0, 0, 14}, {0, 2, 6, 4, 2}, {0, 0, 3, 5, 6}, {0, 3, 9, 2, 0}, {2, 2, 8, 1, 1},
    {7, 7, 0, 0, 0},  {3, 2, 6, 3, 0}, {2, 5, 3, 2, 2}, {6, 5, 2, 1, 0}, {0, 2, 2, 3, 7},
};

static void test_fleiss_wikipedia(void **state)
{
    int cell[10][14];
    for (int u = 0; u < 10; u++) {
        int c = 0;
        for (int k = 0; k < 5; k++)
            for (int n = 0; n < fleiss_counts[u][k]; n++)
                cell[u][c++] = k;
        assert_int_equal(c, 14);
    }
    an_agr_data d = {10, 14, 5, &cell[0][0], NULL};
    assert_float_equal(run(&d, AN_AGR_FLEISS, 0, 0), 0.210, 0.0005);
    /* A unit with fewer ratings: Fleiss does not apply, and the message points to alpha. */
    cell[3][13] = M;
    an_err e;
    assert_int_equal(run_err(&d, AN_AGR_FLEISS, 0, &e), -AN_EINVAL);
    assert_non_null(strstr(e.msg, "alpha"));
    assert_string_equal(e.where, "unit 4");
}

/* Cohen's kappa, the example on Wikipedia's "Cohen's kappa" page: 50 proposals, A and B both
 * yes 20, A yes B no 5, A no B yes 10, both no 15. p_o = 0.7, p_e = 0.5, kappa = 0.4. */
static void test_cohen_wikipedia(void **state)
{
    int cell[50][2];
    int u = 0;
    for (int i = 0; i < 20; i++, u++)
        cell[u][0] = 0, cell[u][1] = 0;
    for (int i = 0; i < 5; i++, u++)
        cell[u][0] = 0, cell[u][1] = 1;
    for (int i = 0; i < 10; i++, u++)
        cell[u][0] = 1, cell[u][1] = 0;
    for (int i = 0; i < 15; i++, u++)
        cell[u][0] = 1, cell[u][1] = 1;
    an_agr_data d = {50, 2, 2, &cell[0][0], NULL};
    an_agr_result r;
    an_err e;
    assert_int_equal(an_agreement(&d, AN_AGR_COHEN, 0, AN_AGR_W_NONE, &r, &e), 0);
    assert_float_equal(r.value, 0.4, 1e-9);
    assert_int_equal(r.n_pairs, 1);
    assert_int_equal(r.pairs[0].units, 50);
    assert_float_equal(r.pairs[0].value, 0.4, 1e-9);
    an_agr_result_free(&r);
    /* With two categories every weighting is the same as none. */
    assert_float_equal(run(&d, AN_AGR_COHEN, 0, AN_AGR_W_QUADRATIC), 0.4, 1e-9);
    /* Percent: 35 of 50 agree. */
    assert_float_equal(run(&d, AN_AGR_PERCENT, 0, 0), 0.7, 1e-9);
}

/* Weighted kappa on three ordered categories, by hand. Units (A,B): (0,0) (1,2) (2,2) (0,1).
 * Linear weights w = 1 - |i-j|/2: diagonal 1, one apart 0.5, two apart 0.
 * p_o = (1 + .5 + 1 + .5)/4 = 0.75. Marginals A: (.5,.25,.25), B: (.25,.25,.5).
 * p_e = sum w_ij a_i b_j = .5*(.25 + .5*.25 + 0) + .25*(.5*.25 + .25 + .5*.5)
 *     + .25*(0 + .5*.25 + .5) = .1875 + .15625 + .15625 = 0.5.
 * kappa_w = (0.75 - 0.5) / 0.5 = 0.5. Unweighted: p_o = .5, p_e = .125+.0625+.125 = .3125,
 * kappa = .1875/.6875 = 0.2727. */
static void test_cohen_weighted_by_hand(void **state)
{
    static const int cell[4][2] = {{0, 0}, {1, 2}, {2, 2}, {0, 1}};
    an_agr_data d = {4, 2, 3, &cell[0][0], NULL};
    assert_float_equal(run(&d, AN_AGR_COHEN, 0, AN_AGR_W_LINEAR), 0.5, 1e-9);
    assert_float_equal(run(&d, AN_AGR_COHEN, 0, AN_AGR_W_NONE), 0.1875 / 0.6875, 1e-9);
}

/* Gwet's AC1 (Gwet 2008), by hand. Two raters, four units: (a,a) (a,a) (a,b) (b,b).
 * p_a = 3/4 = 0.75 (three units agree).
 * pi_a = (1 + 1 + 1/2 + 0)/4 = 0.625, pi_b = 0.375.
 * p_e = 1/(q-1) * sum pi_k (1 - pi_k) = (0.625*0.375 + 0.375*0.625)/1 = 0.46875.
 * AC1 = (0.75 - 0.46875)/(1 - 0.46875) = 0.28125/0.53125 = 9/17 = 0.529. */
static void test_ac1_by_hand(void **state)
{
    static const int cell[4][2] = {{0, 0}, {0, 0}, {0, 1}, {1, 1}};
    an_agr_data d = {4, 2, 2, &cell[0][0], NULL};
    assert_float_equal(run(&d, AN_AGR_AC1, 0, 0), 9.0 / 17.0, 1e-9);
    /* A unit with one rating counts towards pi but not towards p_a:
     * pi_a = (1+1+.5+0+1)/5 = .7, pi_b = .3, p_e = .42, AC1 = (.75-.42)/.58. */
    static const int more[5][2] = {{0, 0}, {0, 0}, {0, 1}, {1, 1}, {0, M}};
    an_agr_data d2 = {5, 2, 2, &more[0][0], NULL};
    assert_float_equal(run(&d2, AN_AGR_AC1, 0, 0), 0.33 / 0.58, 1e-9);
}

/* Degenerate data: an error with a message, never a NaN value. */
static void test_degenerate(void **state)
{
    an_err e;
    static const int one_cat[3][2] = {{0, 0}, {0, 0}, {0, 0}};
    an_agr_data d = {3, 2, 1, &one_cat[0][0], NULL};
    for (int m = AN_AGR_COHEN; m <= AN_AGR_AC1; m++) {
        assert_int_equal(run_err(&d, (an_agr_metric)m, AN_AGR_NOMINAL, &e), -AN_EINVAL);
        assert_true(strlen(e.msg) > 10);
    }
    assert_float_equal(run(&d, AN_AGR_PERCENT, 0, 0), 1.0, 1e-12);

    static const int missing[2][3] = {{M, M, M}, {M, M, M}};
    an_agr_data none = {2, 3, 0, &missing[0][0], NULL};
    for (int m = AN_AGR_PERCENT; m <= AN_AGR_AC1; m++)
        assert_int_equal(run_err(&none, (an_agr_metric)m, AN_AGR_NOMINAL, &e), -AN_EINVAL);

    /* One unit: alpha has no expected disagreement to compare with when it agrees... */
    static const int unit1[1][2] = {{0, 1}};
    an_agr_data one = {1, 2, 2, &unit1[0][0], NULL};
    double v = run(&one, AN_AGR_ALPHA, AN_AGR_NOMINAL, 0);
    assert_true(isfinite(v));
    /* ...and a cell out of range is refused, not read past. */
    static const int bad[1][2] = {{0, 7}};
    an_agr_data b = {1, 2, 2, &bad[0][0], NULL};
    assert_int_equal(run_err(&b, AN_AGR_ALPHA, AN_AGR_NOMINAL, &e), -AN_EINVAL);
}

static void test_names(void **state)
{
    assert_int_equal(an_agr_metric_parse("alpha"), AN_AGR_ALPHA);
    assert_int_equal(an_agr_metric_parse("kappa"), -1);
    assert_int_equal(an_agr_level_parse("ratio"), AN_AGR_RATIO);
    assert_int_equal(an_agr_weights_parse("quadratic"), AN_AGR_W_QUADRATIC);
    assert_string_equal(an_agr_level_name(AN_AGR_ORDINAL), "ordinal");
}

/* ---- the CSV reader ---- */

static void test_csv_numeric_sorted(void **state)
{
    /* Numbers are ordered by value whatever order they appear in; "2.0" is "2". */
    const char *p = tl_write_file("n.csv", "\xEF\xBB\xBF" "a, \"b\" ,c\r\n10,2,\r\n\r\n2.0,,-1\n");
    an_rel_table t;
    an_err e;
    an_err_clear(&e);
    assert_int_equal(an_rel_csv_read(p, &t, &e), 0);
    assert_int_equal(t.units, 2);
    assert_int_equal(t.coders, 3);
    assert_string_equal(t.coder_names[0], "a");
    assert_string_equal(t.coder_names[1], "b");
    assert_int_equal(t.categories, 3);
    assert_non_null(t.values);
    assert_float_equal(t.values[0], -1, 0);
    assert_float_equal(t.values[2], 10, 0);
    assert_int_equal(t.cell[0], 2);
    assert_int_equal(t.cell[1], 1);
    assert_int_equal(t.cell[2], M);
    assert_int_equal(t.cell[3], 1);
    assert_int_equal(t.cell[4], M);
    assert_int_equal(t.cell[5], 0);
    an_rel_table_free(&t);
}

static void test_csv_text_first_appearance(void **state)
{
    const char *p = tl_write_file("t.csv", "x,y\nlow,high\n\"a,b\",low\nhigh,\n");
    an_rel_table t;
    an_err e;
    assert_int_equal(an_rel_csv_read(p, &t, &e), 0);
    assert_null(t.values);
    assert_int_equal(t.categories, 3);
    assert_string_equal(t.category_names[0], "low");
    assert_string_equal(t.category_names[1], "high");
    assert_string_equal(t.category_names[2], "a,b");
    an_rel_table_free(&t);
}

static void expect_csv_error(const char *name, const char *text, const char *where_suffix,
                             const char *msg_part)
{
    const char *p = tl_write_file(name, text);
    an_rel_table t;
    an_err e;
    an_err_clear(&e);
    assert_int_equal(an_rel_csv_read(p, &t, &e), -AN_EINVAL);
    size_t wl = strlen(e.where), sl = strlen(where_suffix);
    if (wl < sl || strcmp(e.where + wl - sl, where_suffix) != 0)
        fail_msg("where is %s, expected ...%s", e.where, where_suffix);
    if (!strstr(e.msg, msg_part)) fail_msg("message \"%s\" lacks \"%s\"", e.msg, msg_part);
    assert_null(t.cell);
}

static void test_csv_errors(void **state)
{
    expect_csv_error("short.csv", "a,b\n1,2\n1\n", "short.csv:3", "one cell per coder");
    expect_csv_error("long.csv", "a,b\n1,2,3\n", "long.csv:2", "one cell per coder");
    expect_csv_error("head.csv", "a,,c\n1,2,3\n", "head.csv:1", "empty");
    expect_csv_error("one.csv", "a\n1\n", "one.csv:1", "coder");
    expect_csv_error("quote.csv", "a,b\n\"1,2\n", "quote.csv:2", "never closed");
    expect_csv_error("after.csv", "a,b\n\"1\"x,2\n", "after.csv:2", "closing quote");
    expect_csv_error("empty.csv", "", "empty.csv", "empty");
    expect_csv_error("nounits.csv", "a,b\n", "nounits.csv", "no units");
    char big[AN_REL_MAX_CELL + 20];
    memset(big, 'x', sizeof big);
    memcpy(big, "a,b\n", 4);
    big[sizeof big - 1] = '\0';
    expect_csv_error("big.csv", big, "big.csv:2", "longer");
    an_rel_table t;
    an_err e;
    assert_int_equal(an_rel_csv_read(tl_path("nosuch.csv"), &t, &e), -AN_EIO);
}

/* Fills cell (units x 2) from two label vectors given as runs: runs[i] = {count, a, b}. */
static size_t from_runs(const int (*runs)[3], size_t n_runs, int *cell)
{
    size_t u = 0;
    for (size_t i = 0; i < n_runs; i++)
        for (int k = 0; k < runs[i][0]; k++, u++) {
            cell[u * 2] = runs[i][1];
            cell[u * 2 + 1] = runs[i][2];
        }
    return u;
}

/* scikit-learn's own worked examples, sklearn/metrics/tests/test_classification.py,
 * test_cohen_kappa (Artstein and Poesio 2008, tables 1 and 4): 0.348; 0.8013; and the
 * weighting example 0.9315 (none), 0.9412 (linear), 0.9541 (quadratic). The label vectors
 * there are runs; aligned, they give these pairs. */
static void test_cohen_sklearn_published(void **state)
{
    int cell[100 * 2];
    /* y1 = 0*40 + 1*60, y2 = 0*20 + 1*20 + 0*10 + 1*50. */
    static const int t1[][3] = {{20, 0, 0}, {20, 0, 1}, {10, 1, 0}, {50, 1, 1}};
    an_agr_data d = {from_runs(t1, 4, cell), 2, 2, cell, NULL};
    assert_int_equal(d.units, 100);
    assert_float_equal(run(&d, AN_AGR_COHEN, 0, AN_AGR_W_NONE), 0.348, 0.0005);
    /* y1 = 0*46 + 1*44 + 2*10, y2 = 0*52 + 1*32 + 2*16. */
    static const int t4[][3] = {{46, 0, 0}, {6, 1, 0}, {32, 1, 1}, {6, 1, 2}, {10, 2, 2}};
    d = (an_agr_data){from_runs(t4, 5, cell), 2, 3, cell, NULL};
    assert_int_equal(d.units, 100);
    assert_float_equal(run(&d, AN_AGR_COHEN, 0, AN_AGR_W_NONE), 0.8013, 0.00005);
    /* y1 = 0*46 + 1*44 + 2*10, y2 = 0*50 + 1*40 + 2*10. */
    static const int tw[][3] = {{46, 0, 0}, {4, 1, 0}, {40, 1, 1}, {10, 2, 2}};
    d = (an_agr_data){from_runs(tw, 4, cell), 2, 3, cell, NULL};
    assert_float_equal(run(&d, AN_AGR_COHEN, 0, AN_AGR_W_NONE), 0.9315, 0.00005);
    assert_float_equal(run(&d, AN_AGR_COHEN, 0, AN_AGR_W_LINEAR), 0.9412, 0.00005);
    assert_float_equal(run(&d, AN_AGR_COHEN, 0, AN_AGR_W_QUADRATIC), 0.9541, 0.00005);
}

/* statsmodels' own worked examples, statsmodels/stats/tests/test_inter_rater.py:
 * test_fleiss_kappa_irr, Fleiss (1971) "diagnoses", 30 subjects x 6 raters, 5 categories,
 * kappa 0.4302445 (R irr kappam.fleiss); and test_cohens_kappa_irr, the "anxiety" data of R
 * irr, raters 2 and 3, kappa2 unweighted -0.006289308, "equal" (linear) 0.1459075, "squared"
 * (quadratic) 0.2520325. Rating 5 occurs for neither rater, so the categories are
 * 1, 2, 3, 4, 6 (as R drops the empty level). */
static const int diagnoses[30][6] = {
    {4, 4, 4, 4, 4, 4}, {2, 2, 2, 5, 5, 5}, {2, 3, 3, 3, 3, 5}, {5, 5, 5, 5, 5, 5},
    {2, 2, 2, 4, 4, 4}, {1, 1, 3, 3, 3, 3}, {3, 3, 3, 3, 5, 5}, {1, 1, 3, 3, 3, 4},
    {1, 1, 4, 4, 4, 4}, {5, 5, 5, 5, 5, 5}, {1, 4, 4, 4, 4, 4}, {1, 2, 4, 4, 4, 4},
    {2, 2, 2, 3, 3, 3}, {1, 4, 4, 4, 4, 4}, {2, 2, 4, 4, 4, 5}, {3, 3, 3, 3, 3, 5},
    {1, 1, 1, 4, 5, 5}, {1, 1, 1, 1, 1, 2}, {2, 2, 4, 4, 4, 4}, {1, 3, 3, 5, 5, 5},
    {5, 5, 5, 5, 5, 5}, {2, 4, 4, 4, 4, 4}, {2, 2, 4, 5, 5, 5}, {1, 1, 4, 4, 4, 4},
    {1, 4, 4, 4, 4, 5}, {2, 2, 2, 2, 2, 4}, {1, 1, 1, 1, 5, 5}, {2, 2, 4, 4, 4, 4},
    {1, 3, 3, 3, 3, 3}, {5, 5, 5, 5, 5, 5},
};
static const int anxiety_r2[20] = {3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4};
static const int anxiety_r3[20] = {2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2};

static void test_statsmodels_published(void **state)
{
    int cell[30][6];
    for (int u = 0; u < 30; u++)
        for (int c = 0; c < 6; c++) cell[u][c] = diagnoses[u][c] - 1;
    an_agr_data d = {30, 6, 5, &cell[0][0], NULL};
    assert_float_equal(run(&d, AN_AGR_FLEISS, 0, 0), 0.4302445, 5e-8);
    assert_float_equal(run(&d, AN_AGR_FLEISS, 0, 0), 0.430, 0.0005);

    int pair[20][2];
    for (int u = 0; u < 20; u++)
        for (int c = 0; c < 2; c++) {
            int v = c ? anxiety_r3[u] : anxiety_r2[u];
            pair[u][c] = v == 6 ? 4 : v - 1;
        }
    an_agr_data a = {20, 2, 5, &pair[0][0], NULL};
    assert_float_equal(run(&a, AN_AGR_COHEN, 0, AN_AGR_W_NONE), -0.006289308, 5e-9);
    assert_float_equal(run(&a, AN_AGR_COHEN, 0, AN_AGR_W_LINEAR), 0.1459075, 5e-8);
    assert_float_equal(run(&a, AN_AGR_COHEN, 0, AN_AGR_W_QUADRATIC), 0.2520325, 5e-8);
}

/* Bootstrap statistic: the first unit drawn, undefined when it is unit 0. */
static int first_unit(void *ud, const size_t *units, size_t n, double *out)
{
    (void)ud;
    (void)n;
    if (units[0] == 0) return -1;
    *out = (double)units[0];
    return 0;
}

static void test_bootstrap(void **state)
{
    an_ci a, b, c;
    an_err e;
    an_err_clear(&e);
    assert_int_equal(an_bootstrap(10, 5000, 1, 0.95, first_unit, NULL, &a, &e), 0);
    assert_int_equal(an_bootstrap(10, 5000, 1, 0.95, first_unit, NULL, &b, &e), 0);
    assert_int_equal(an_bootstrap(10, 5000, 2, 0.95, first_unit, NULL, &c, &e), 0);
    /* The same seed gives the same draws; the first unit is uniform on 0..9, unit 0 is
     * skipped about a tenth of the time, and the rest spans 1..9. */
    assert_int_equal(a.skipped, b.skipped);
    assert_true(a.skipped != c.skipped);
    assert_true(a.skipped > 350 && a.skipped < 650);
    assert_int_equal(a.resamples, 5000);
    assert_float_equal(a.level, 0.95, 0);
    assert_float_equal(a.low, 1, 0);
    assert_float_equal(a.high, 9, 0);
    assert_int_equal(an_bootstrap(10, 0, 1, 0.95, first_unit, NULL, &a, &e), -AN_EINVAL);
    assert_int_equal(an_bootstrap(0, 10, 1, 0.95, first_unit, NULL, &a, &e), -AN_EINVAL);

    /* Agreement: constant pairs leave kappa at 1 in every defined resample; resamples with
     * one category only are undefined and counted. Units: (0,0) x 3 and (1,1). */
    static const int cell[4][2] = {{0, 0}, {0, 0}, {0, 0}, {1, 1}};
    an_agr_data d = {4, 2, 2, &cell[0][0], NULL};
    assert_int_equal(an_agr_bootstrap(&d, AN_AGR_COHEN, 0, 0, 400, 1, &a, &e), 0);
    assert_float_equal(a.low, 1, 1e-12);
    assert_float_equal(a.high, 1, 1e-12);
    /* P(no unit 4 in four draws) = (3/4)^4 = 0.32; P(only unit 4) is tiny. */
    assert_true(a.skipped > 80 && a.skipped < 180);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alpha_krippendorff_2011),
        cmocka_unit_test(test_cohen_sklearn_published),
        cmocka_unit_test(test_statsmodels_published),
        cmocka_unit_test(test_bootstrap),
        cmocka_unit_test(test_fleiss_wikipedia),
        cmocka_unit_test(test_cohen_wikipedia),
        cmocka_unit_test(test_cohen_weighted_by_hand),
        cmocka_unit_test(test_ac1_by_hand),
        cmocka_unit_test(test_degenerate),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_csv_numeric_sorted),
        cmocka_unit_test(test_csv_text_first_appearance),
        cmocka_unit_test(test_csv_errors),
    };
    return cmocka_run_group_tests(tests, tl_setup, tl_teardown);
}
