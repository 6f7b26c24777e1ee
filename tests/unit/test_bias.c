/* Bias statistics: the chi-square tail against closed forms, Pearson's test and Cramer's V on
 * a hand-computed table, the undefined cases, and lexicon grouping (whole ASCII words, CJK
 * substrings, mixed texts). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "comply/bias.h"

static void assert_close(double got, double want, double tol)
{
    if (fabs(got - want) > tol * (fabs(want) > 1 ? fabs(want) : 1))
        fail_msg("got %.17g, want %.17g", got, want);
}

static void test_chi2_tail(void **state)
{
    (void)state;
    /* Closed forms: dof 1 is erfc(sqrt(x/2)); dof 2 is exp(-x/2); dof 4 is exp(-x/2)(1+x/2). */
    double xs[] = {0.01, 0.5, 1, 3.841458820694124, 7.5, 20, 60};
    for (size_t i = 0; i < sizeof xs / sizeof *xs; i++) {
        double x = xs[i];
        assert_close(an_chi2_sf(x, 1), erfc(sqrt(x / 2)), 1e-12);
        assert_close(an_chi2_sf(x, 2), exp(-x / 2), 1e-12);
        assert_close(an_chi2_sf(x, 4), exp(-x / 2) * (1 + x / 2), 1e-12);
    }
    /* The 5 % critical values of the usual tables. */
    assert_close(an_chi2_sf(3.841458820694124, 1), 0.05, 1e-12);
    assert_close(an_chi2_sf(11.070497693516351, 5), 0.05, 1e-12);
    assert_close(an_chi2_sf(0, 3), 1, 0);
}

static void test_chi2_table(void **state)
{
    (void)state;
    /* Expected counts 12 18 / 28 42: chi2 = 4/12 + 4/18 + 4/28 + 4/42. */
    int64_t t[] = {10, 20, 30, 40};
    an_chi2 r;
    an_err e;
    assert_int_equal(an_chi2_test(t, 2, 2, &r, &e), 0);
    double want = 4.0 / 12 + 4.0 / 18 + 4.0 / 28 + 4.0 / 42;
    assert_close(r.statistic, want, 1e-12);
    assert_int_equal(r.dof, 1);
    assert_int_equal(r.n, 100);
    assert_close(r.p, erfc(sqrt(want / 2)), 1e-12);
    assert_close(r.cramers_v, sqrt(want / 100), 1e-12);
    /* An empty row and column are left out: the same test. */
    int64_t padded[] = {10, 0, 20, 0, 0, 0, 30, 0, 40};
    an_chi2 r2;
    assert_int_equal(an_chi2_test(padded, 3, 3, &r2, &e), 0);
    assert_close(r2.statistic, want, 1e-12);
    assert_int_equal(r2.dof, 1);
    /* Perfect dependence: V = 1. */
    int64_t dep[] = {50, 0, 0, 50};
    assert_int_equal(an_chi2_test(dep, 2, 2, &r, &e), 0);
    assert_close(r.cramers_v, 1, 1e-12);
    /* One group only: undefined, with a reason. */
    int64_t one[] = {10, 20};
    assert_int_equal(an_chi2_test(one, 1, 2, &r, &e), -AN_EINVAL);
    assert_string_equal(e.where, "groups");
}

static void test_lexicon(void **state)
{
    (void)state;
    an_lexicon *l = an_lexicon_builtin("gender");
    assert_non_null(l);
    const char *t;
    t = "She said the food was cold.";
    assert_string_equal(an_lexicon_group(l, t, strlen(t)), "female");
    t = "HIS order came late";
    assert_string_equal(an_lexicon_group(l, t, strlen(t)), "male");
    t = "The shepherd and the hermit"; /* "she", "he", "her" only inside words */
    assert_null(an_lexicon_group(l, t, strlen(t)));
    t = "她说菜很好吃";
    assert_string_equal(an_lexicon_group(l, t, strlen(t)), "female");
    t = "他和她都来了";
    assert_string_equal(an_lexicon_group(l, t, strlen(t)), AN_BIAS_MIXED);
    assert_null(an_lexicon_builtin("nonesuch"));
    an_lexicon_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chi2_tail),
        cmocka_unit_test(test_chi2_table),
        cmocka_unit_test(test_lexicon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
