/* The text features stay what stored models were trained on: an_features gives, bucket for
 * bucket and bit for bit, the vectors of the first implementation (values recorded from it)
 * for texts of every size class the implementation treats apart (few keys, short texts on
 * the stack, longer ones on the heap, many keys, texts cut at 100,000 code points), in
 * several bucket counts; and the two-class scorer gives the plain sum. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "preanno/features.h"
#include "preanno/linear.h"

/* Deterministic texts of a given number of code points from a small alphabet of ASCII
 * letters, separators, accented, Greek, Cyrillic and CJK code points and invalid bytes. */
static size_t make_text(uint64_t seed, size_t cps, char *out)
{
    static const char *const pieces[] = {"a", "b", "e", "t", "Z", "7", " ", " ", ".", ",",
                                         "\xc3\x89", "\xce\x91", "\xd0\x96", "\xe4\xb8\xad",
                                         "\xe6\x96\x87", "\xe3\x80\x81", "\xf0\x9f\x98\x80",
                                         "\xff", "\n", "q"};
    size_t len = 0;
    for (size_t i = 0; i < cps; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        const char *p = pieces[(seed >> 33) % (sizeof pieces / sizeof *pieces)];
        size_t l = strlen(p);
        memcpy(out + len, p, l);
        len += l;
    }
    return len;
}

/* FNV-1a over the vector's buckets and the bits of its values. */
static uint64_t fvec_hash(const an_fvec *v)
{
    uint64_t h = 1469598103934665603ULL ^ v->n;
    for (size_t i = 0; i < v->n; i++) {
        uint32_t f;
        memcpy(&f, &v->val[i], 4);
        h = (h ^ v->idx[i]) * 1099511628211ULL;
        h = (h ^ f) * 1099511628211ULL;
    }
    return h;
}

typedef struct golden {
    size_t cps;
    int bits;
    size_t n;
    uint64_t hash;
} golden;

/* Recorded from the qsort-based implementation (annot before the speed work) with the same
 * texts: make_text(index + 1, cps). */
static const golden GOLDEN[] = {
        {0, 18, 0, 0x14650fb0739d0383ULL},
        {0, 8, 0, 0x14650fb0739d0383ULL},
        {0, 24, 0, 0x14650fb0739d0383ULL},
        {0, 12, 0, 0x14650fb0739d0383ULL},
        {3, 18, 11, 0x7b147987fd18d846ULL},
        {3, 8, 11, 0x146971e9e33c2da1ULL},
        {3, 24, 8, 0xbb3d23c854022f66ULL},
        {3, 12, 10, 0x85fc27c6d7fcd75eULL},
        {8, 18, 14, 0x347239831a6a5b21ULL},
        {8, 8, 16, 0x906d0685d594c162ULL},
        {8, 24, 23, 0x0bf7279814348c93ULL},
        {8, 12, 17, 0x0a6652841d14a97bULL},
        {30, 18, 65, 0xd5bdd0cb6800ce12ULL},
        {30, 8, 52, 0x96ebe630724776ebULL},
        {30, 24, 71, 0x31ab9bd2cb63c1e9ULL},
        {30, 12, 69, 0x4e5bb77e2b8d917dULL},
        {60, 18, 124, 0xa7262ca455ce9366ULL},
        {60, 8, 100, 0xca72324ed9f30f3eULL},
        {60, 24, 129, 0xc0002a9f0117dd99ULL},
        {60, 12, 133, 0xe01b2de6aae812fbULL},
        {200, 18, 304, 0x18a2ddad55fcac6bULL},
        {200, 8, 170, 0x4e0ae378717bcfedULL},
        {200, 24, 323, 0x0bcf5019d1488d62ULL},
        {200, 12, 321, 0xc395f927a311706cULL},
        {256, 18, 407, 0x0c733b9775ba1e3fULL},
        {256, 8, 170, 0xff361262016ecdb0ULL},
        {256, 24, 383, 0x6a9953a304edb939ULL},
        {256, 12, 399, 0xb9eca2ae25d7e231ULL},
        {257, 18, 380, 0x291c3efcaafeb46eULL},
        {257, 8, 183, 0xb573d8bdda5d7050ULL},
        {257, 24, 387, 0x855a1198efc4fe32ULL},
        {257, 12, 380, 0x3b5d3bdca0643194ULL},
        {300, 18, 451, 0x4be24b1688168455ULL},
        {300, 8, 177, 0x129b0c74d6d0846aULL},
        {300, 24, 433, 0x4b57b5bddbd4bceaULL},
        {300, 12, 383, 0xe68097228c123b91ULL},
        {1000, 18, 1065, 0xfd7ee9bfe32252f5ULL},
        {1000, 8, 220, 0x66145bc9d5428638ULL},
        {1000, 24, 1070, 0x26b232ff348a542dULL},
        {1000, 12, 899, 0xfc9d06506cd1e731ULL},
        {5000, 18, 3006, 0xa897cb685e915b92ULL},
        {5000, 8, 252, 0x685919768e5b1bddULL},
        {5000, 24, 3090, 0x85b2d91a6b05730fULL},
        {5000, 12, 2000, 0xba1834339d0cd8beULL},
        {120000, 18, 25314, 0x57eee5b099120992ULL},
        {120000, 8, 256, 0x766ab880b47fa56aULL},
        {120000, 24, 27141, 0x58a6777b99725e7aULL},
        {120000, 12, 3794, 0x223c7a0be2282f83ULL},
};

static void test_features_unchanged(void **state)
{
    (void)state;
    char *buf = an_xmalloc(120000 * 4 + 1);
    an_fvec v = AN_FVEC_INIT;
    for (size_t g = 0; g < sizeof GOLDEN / sizeof *GOLDEN; g++) {
        size_t len = make_text(g + 1, GOLDEN[g].cps, buf);
        an_features(buf, len, GOLDEN[g].bits, &v);
        /* The shape every caller relies on: increasing buckets, no zeros, unit length. */
        double norm = 0;
        for (size_t i = 0; i < v.n; i++) {
            if (i) assert_true(v.idx[i] > v.idx[i - 1]);
            assert_true(v.idx[i] < (1u << GOLDEN[g].bits));
            assert_true(v.val[i] != 0);
            norm += (double)v.val[i] * v.val[i];
        }
        if (v.n) assert_true(fabs(norm - 1) < 1e-5);
        assert_int_equal(v.n, GOLDEN[g].n);
        assert_true(fvec_hash(&v) == GOLDEN[g].hash);
    }
    an_fvec_free(&v);
    free(buf);
}

/* Keys that pile into one range of the short-text sort (one n-gram repeated) still sort. */
static void test_features_repeats(void **state)
{
    (void)state;
    char buf[1200];
    an_fvec v = AN_FVEC_INIT;
    memset(buf, 'a', sizeof buf);
    an_features(buf, 200, 18, &v);
    /* " a", "a", "aa", "aaa", " aa", "aa ", "a " and the word: 8 distinct features. */
    assert_int_equal(v.n, 8);
    an_features(buf, sizeof buf, 18, &v);
    assert_int_equal(v.n, 8);
    an_fvec_free(&v);
}

static void test_linear_two_classes(void **state)
{
    (void)state;
    enum { BITS = 8 };
    float dense[2 << BITS], bias[2] = {0.25f, -0.5f};
    for (size_t j = 0; j < (2u << BITS); j++)
        dense[j] = (j / 2) % 3 == 0 ? 0 : (float)((double)j * 0.001 - 0.2);
    an_linear m;
    an_linear_from_dense(&m, BITS, 2, dense, bias);
    an_fvec x = AN_FVEC_INIT;
    const char text[] = "the quick brown fox jumps over the lazy dog";
    an_features(text, sizeof text - 1, BITS, &x);
    assert_true(x.n > 10);
    double z[2];
    an_linear_logits(&m, &x, z);
    for (int c = 0; c < 2; c++) {
        double want = bias[c];
        for (size_t i = 0; i < x.n; i++) want += (double)x.val[i] * (double)dense[x.idx[i] * 2 + c];
        assert_true(z[c] == want);
    }
    an_fvec_free(&x);
    an_linear_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_unchanged),
        cmocka_unit_test(test_features_repeats),
        cmocka_unit_test(test_linear_two_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
