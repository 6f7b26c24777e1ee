/* Region-level agreement: IoU of rectangles (rotated too) and polygons (concave too), the
 * optimal assignment against brute force and against greedy matching, span F1 with code-point
 * offsets, keypoints, and character error rates — all values computed by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/utf8.h"
#include "qc/regions.h"

#define EPS 1e-9

static void test_rect_iou(void **state)
{
    (void)state;
    an_rect a = {0, 0, 10, 10, 0}, b = {5, 0, 10, 10, 0};
    /* Shifted by half a side: 50 shared of 150. */
    assert_float_equal(an_rect_iou(&a, &b), 1.0 / 3, EPS);
    assert_float_equal(an_rect_iou(&b, &a), 1.0 / 3, EPS);
    assert_float_equal(an_rect_iou(&a, &a), 1, EPS);
    an_rect far = {30, 30, 5, 5, 0}, touch = {10, 0, 10, 10, 0}, empty = {1, 1, 0, 0, 0};
    assert_float_equal(an_rect_iou(&a, &far), 0, EPS);
    assert_float_equal(an_rect_iou(&a, &touch), 0, EPS);
    assert_float_equal(an_rect_iou(&empty, &empty), 0, EPS);
    /* Shifted diagonally by 5: 25 of 175. */
    an_rect d = {5, 5, 10, 10, 0};
    assert_float_equal(an_rect_iou(&a, &d), 25.0 / 175, EPS);
    /* Nested: 16 of 100. */
    an_rect in = {2, 2, 4, 4, 0};
    assert_float_equal(an_rect_iou(&a, &in), 0.16, EPS);
}

static void test_rect_rotated(void **state)
{
    (void)state;
    /* 20 x 10 at (10, 10) turned 90 degrees clockwise about its top-left corner covers
     * x 0..10, y 10..30. */
    an_rect r = {10, 10, 20, 10, 90}, axis = {0, 10, 10, 20, 0};
    an_pt c[4];
    an_rect_corners(&r, 1, c);
    assert_float_equal(c[1].x, 10, EPS);
    assert_float_equal(c[1].y, 30, EPS);
    assert_float_equal(c[2].x, 0, EPS);
    assert_float_equal(an_rect_iou(&r, &axis), 1, 1e-9);
    /* On an image twice as wide as high, percent units stretch: the same box covers x 5..10
     * and y 10..50 in percent. */
    an_rect wide = {5, 10, 5, 40, 0};
    assert_float_equal(an_rect_iou_aspect(&r, &wide, 2), 1, 1e-9);
    assert_true(an_rect_iou_aspect(&r, &axis, 2) < 0.5);
    /* A 10 x 10 square turned 45 degrees is a diamond centred on x = 0; half of it (50) lies
     * in the box x 0..10, y 0..20 (200): IoU 50 / 250. */
    an_rect diamond = {0, 0, 10, 10, 45}, tall = {0, 0, 10, 20, 0};
    assert_float_equal(an_rect_iou(&diamond, &tall), 0.2, 1e-9);
    assert_float_equal(an_rect_iou(&diamond, &diamond), 1, 1e-9);
}

static void test_polygon_iou(void **state)
{
    (void)state;
    /* An L: the square 0..20 without its top-right quarter (10..20, 10..20); area 300. */
    an_pt l[] = {{0, 0}, {20, 0}, {20, 10}, {10, 10}, {10, 20}, {0, 20}};
    an_pt l_cw[] = {{0, 20}, {10, 20}, {10, 10}, {20, 10}, {20, 0}, {0, 0}};
    an_pt notch[] = {{10, 10}, {20, 10}, {20, 20}, {10, 20}};
    an_pt mid[] = {{5, 5}, {15, 5}, {15, 15}, {5, 15}};
    /* The other L: the square without its top-left quarter. */
    an_pt l2[] = {{0, 0}, {20, 0}, {20, 20}, {10, 20}, {10, 10}, {0, 10}};
    assert_float_equal(an_polygon_area(l, 6), 300, EPS);
    assert_float_equal(an_polygon_area(l_cw, 6), 300, EPS);
    assert_float_equal(an_polygon_iou(l, 6, l, 6), 1, 1e-9);
    assert_float_equal(an_polygon_iou(l, 6, l_cw, 6), 1, 1e-9);
    /* The notch is inside the L's convex hull but outside the L. */
    assert_float_equal(an_polygon_iou(l, 6, notch, 4), 0, 1e-9);
    /* The middle square loses its 5 x 5 corner in the notch: 75 / (300 + 100 - 75). */
    assert_float_equal(an_polygon_iou(l, 6, mid, 4), 75.0 / 325, 1e-9);
    assert_float_equal(an_polygon_iou(mid, 4, l_cw, 6), 75.0 / 325, 1e-9);
    /* Two concave polygons sharing the bottom strip (200): 200 / 400. */
    assert_float_equal(an_polygon_iou(l, 6, l2, 6), 0.5, 1e-9);
    /* Triangle in a square: half. */
    an_pt tri[] = {{0, 0}, {10, 0}, {0, 10}}, sq[] = {{0, 0}, {10, 0}, {10, 10}, {0, 10}};
    assert_float_equal(an_polygon_iou(tri, 3, sq, 4), 0.5, 1e-9);
    /* Degenerate polygons have no area and no IoU. */
    an_pt line[] = {{0, 0}, {10, 10}, {20, 20}};
    assert_float_equal(an_polygon_iou(line, 3, sq, 4), 0, EPS);
    assert_float_equal(an_polygon_iou(sq, 2, sq, 4), 0, EPS);
}

/* Total score of the best assignment by trying every injective map (small sizes only). */
static double brute(const double *s, size_t na, size_t nb, double min, size_t i, int *usedb)
{
    if (i == na) return 0;
    double best = brute(s, na, nb, min, i + 1, usedb); /* i unmatched */
    for (size_t j = 0; j < nb; j++) {
        if (usedb[j] || !(s[i * nb + j] >= min)) continue;
        usedb[j] = 1;
        double v = s[i * nb + j] + brute(s, na, nb, min, i + 1, usedb);
        usedb[j] = 0;
        if (v > best) best = v;
    }
    return best;
}

static void test_assign(void **state)
{
    (void)state;
    /* Greedy takes a0-b1 (0.9) and leaves a1 with nothing above 0.5; the optimum pairs
     * a0-b0 and a1-b1 (1.3). */
    double s[] = {0.6, 0.9, 0.0, 0.7};
    int m[2];
    assert_int_equal(an_assign_max(s, 2, 2, 0.5, m), 2);
    assert_int_equal(m[0], 0);
    assert_int_equal(m[1], 1);
    /* Below the minimum nothing pairs. */
    assert_int_equal(an_assign_max(s, 2, 2, 0.95, m), 0);
    assert_int_equal(m[0], -1);
    /* More rows than columns. */
    double t[] = {0.2, 0.9, 0.8};
    int m3[3];
    assert_int_equal(an_assign_max(t, 3, 1, 0.1, m3), 1);
    assert_int_equal(m3[0], -1);
    assert_int_equal(m3[1], 0);
    assert_int_equal(m3[2], -1);
    /* Empty sides and NaN. */
    assert_int_equal(an_assign_max(NULL, 0, 4, 0.1, m), 0);
    double nan1[] = {NAN};
    assert_int_equal(an_assign_max(nan1, 1, 1, 0, m), 0);
    assert_int_equal(an_assign_max(t, 3, 0, 0.1, m3), 0);
    assert_int_equal(m3[2], -1);

    /* Against brute force on random matrices of every shape up to 6 x 6. */
    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < 400; round++) {
        size_t na = (size_t)(round % 6) + 1, nb = (size_t)(round / 6 % 6) + 1;
        double sc[36];
        for (size_t k = 0; k < na * nb; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            sc[k] = (double)(x % 1000) / 1000;
        }
        double min = round % 3 == 0 ? 0.5 : 0.01;
        int ma[6], usedb[6] = {0};
        size_t n = an_assign_max(sc, na, nb, min, ma);
        double total = 0;
        size_t count = 0;
        int seen[6] = {0};
        for (size_t i = 0; i < na; i++) {
            if (ma[i] < 0) continue;
            assert_true(ma[i] < (int)nb);
            assert_false(seen[ma[i]]);
            seen[ma[i]] = 1;
            assert_true(sc[i * nb + (size_t)ma[i]] >= min);
            total += sc[i * nb + (size_t)ma[i]];
            count++;
        }
        assert_int_equal(n, count);
        assert_float_equal(total, brute(sc, na, nb, min, 0, usedb), 1e-9);
    }
}

static an_region box(double x, const char *label)
{
    an_region r = {AN_REGION_RECT, {x, 0, 10, 10, 0}, NULL, 0, label};
    return r;
}

static void test_regions_match(void **state)
{
    (void)state;
    /* Unit boxes shifted along x: shift s gives IoU (10 - s) / (10 + s). a0-b1 (shift 1,
     * 0.818) is the best single pair, but then a1 meets only b0 (shift 6, 0.25). The optimum
     * pairs a0-b0 (shift 3, 7/13) and a1-b1 (shift 2, 8/12). */
    an_region a[] = {box(0, "car"), box(3, "car")}, b[] = {box(-3, "car"), box(1, "car")};
    an_match_stats st;
    int m[2];
    an_regions_match(a, 2, b, 2, NULL, &st, m);
    assert_int_equal(st.matched, 2);
    assert_int_equal(m[0], 0);
    assert_int_equal(m[1], 1);
    assert_float_equal(st.f1, 1, EPS);
    assert_float_equal(st.mean, (7.0 / 13 + 8.0 / 12) / 2, 1e-12);

    /* Labels must agree unless told otherwise. */
    an_region c[] = {box(0, "car")}, d[] = {box(1, "bus")};
    an_regions_match(c, 1, d, 1, NULL, &st, NULL);
    assert_int_equal(st.matched, 0);
    assert_float_equal(st.f1, 0, EPS);
    assert_true(isnan(st.mean));
    an_region_opts o = an_region_opts_default();
    o.ignore_labels = true;
    an_regions_match(c, 1, d, 1, &o, &st, NULL);
    assert_int_equal(st.matched, 1);

    /* Threshold: shift 5 (1/3) counts at 0.3, not at the default 0.5. */
    an_region e[] = {box(5, "car")};
    an_regions_match(c, 1, e, 1, NULL, &st, NULL);
    assert_int_equal(st.matched, 0);
    o = an_region_opts_default();
    o.iou = 0.3;
    an_regions_match(c, 1, e, 1, &o, &st, NULL);
    assert_int_equal(st.matched, 1);
    assert_float_equal(st.mean, 1.0 / 3, 1e-12);

    /* One extra box on b: precision 2/3, recall 1, F1 4/5. */
    an_region b3[] = {box(-3, "car"), box(1, "car"), box(50, "car")};
    an_regions_match(a, 2, b3, 3, NULL, &st, NULL);
    assert_float_equal(st.precision, 2.0 / 3, EPS);
    assert_float_equal(st.recall, 1, EPS);
    assert_float_equal(st.f1, 0.8, EPS);

    /* Nothing on either side agrees; nothing on one side does not. */
    an_regions_match(NULL, 0, NULL, 0, NULL, &st, NULL);
    assert_float_equal(st.f1, 1, EPS);
    an_regions_match(a, 2, NULL, 0, NULL, &st, NULL);
    assert_float_equal(st.f1, 0, EPS);
    assert_float_equal(st.recall, 0, EPS);

    /* A polygon against a rectangle: the middle square against the L (3/13). */
    an_pt l[] = {{0, 0}, {20, 0}, {20, 10}, {10, 10}, {10, 20}, {0, 20}};
    an_region poly = {AN_REGION_POLYGON, {0, 0, 0, 0, 0}, l, 6, "x"};
    an_region sq = {AN_REGION_RECT, {5, 5, 10, 10, 0}, NULL, 0, "x"};
    o = an_region_opts_default();
    o.iou = 0.2;
    an_regions_match(&poly, 1, &sq, 1, &o, &st, NULL);
    assert_int_equal(st.matched, 1);
    assert_float_equal(st.mean, 3.0 / 13, 1e-9);
}

static void test_spans(void **state)
{
    (void)state;
    /* Offsets count code points: in 我爱北京天安门 "北京" is 2..4, bytes 6..12. */
    const char *text = "我爱北京天安门";
    size_t len = strlen(text);
    assert_int_equal(an_utf8_byte_offset(text, len, 2), 6);
    assert_int_equal(an_utf8_byte_offset(text, len, 4), 12);
    assert_memory_equal(text + 6, "北京", 6);
    an_span a[] = {{2, 4, "LOC"}, {5, 7, "LOC"}};
    an_span b[] = {{2, 4, "LOC"}, {4, 7, "LOC"}};
    an_match_stats st;
    an_spans_match(a, 2, b, 2, true, &st);
    assert_int_equal(st.matched, 1);
    assert_float_equal(st.f1, 0.5, EPS);
    an_spans_match(a, 2, b, 2, false, &st);
    assert_int_equal(st.matched, 2);
    assert_float_equal(st.f1, 1, EPS);
    assert_float_equal(st.mean, (1 + 2.0 / 3) / 2, 1e-12);
    /* Labels must agree. */
    an_span c[] = {{2, 4, "PER"}};
    an_spans_match(a, 1, c, 1, false, &st);
    assert_int_equal(st.matched, 0);
    /* One-to-one: two overlapping spans on a, one on b. */
    an_span two[] = {{0, 5, "X"}, {3, 8, "X"}}, one[] = {{2, 6, "X"}};
    an_spans_match(two, 2, one, 1, false, &st);
    assert_int_equal(st.matched, 1);
    assert_float_equal(st.f1, 2.0 / 3, EPS);
    /* As many pairs as possible before the largest overlap: a0-b0 overlap perfectly, but
     * a1 overlaps only b0 and a0 also overlaps b1, so the two-pair answer wins. */
    an_span p[] = {{0, 10, "X"}, {5, 6, "X"}}, q[] = {{0, 10, "X"}, {9, 20, "X"}};
    an_spans_match(p, 2, q, 2, false, &st);
    assert_int_equal(st.matched, 2);
    assert_float_equal(st.f1, 1, EPS);
    /* Touching spans do not overlap. */
    an_span t1[] = {{0, 5, "X"}}, t2[] = {{5, 9, "X"}};
    an_spans_match(t1, 1, t2, 1, false, &st);
    assert_int_equal(st.matched, 0);
}

static void test_keypoints(void **state)
{
    (void)state;
    an_keypoint a[] = {{10, 10, "nose"}, {50, 50, "eye"}};
    an_keypoint b[] = {{11, 10, "nose"}, {80, 80, "eye"}};
    /* Distances in percent of the diagonal: 1 / sqrt 2 and 30 on a square image. */
    assert_float_equal(an_keypoint_distance(&a[0], &b[0], 1), 1 / sqrt(2), 1e-12);
    /* Twice as wide as high: 1 % of the width is 2 units of height; diagonal sqrt 5. */
    assert_float_equal(an_keypoint_distance(&a[0], &b[0], 2), 2 / sqrt(5), 1e-12);
    an_match_stats st;
    an_keypoints_match(a, 2, b, 2, 2, 1, &st);
    assert_int_equal(st.paired, 2);
    assert_int_equal(st.matched, 1);
    assert_float_equal(st.f1, 0.5, EPS);
    assert_float_equal(st.mean, (1 / sqrt(2) + 30) / 2, 1e-12);
    /* Nearest partners: the crossing pairing would cost 18, the straight one 2. */
    an_keypoint c[] = {{0, 0, "p"}, {10, 0, "p"}}, d[] = {{9, 0, "p"}, {1, 0, "p"}};
    an_keypoints_match(c, 2, d, 2, 1, 1, &st);
    assert_int_equal(st.matched, 2);
    assert_float_equal(st.mean, 1 / sqrt(2), 1e-12);
    /* No label in common: no pairs. */
    an_keypoint e[] = {{0, 0, "q"}};
    an_keypoints_match(c, 2, e, 1, 2, 1, &st);
    assert_int_equal(st.paired, 0);
    assert_true(isnan(st.mean));
}

static double cer(const char *a, const char *b, bool sym)
{
    double v = -1;
    size_t edits;
    an_err e;
    an_err_clear(&e);
    if (an_cer(a, strlen(a), b, strlen(b), sym, &v, &edits, &e) != 0)
        fail_msg("an_cer: %s", e.msg);
    return v;
}

static void test_cer(void **state)
{
    (void)state;
    /* kitten -> sitting: k/s, e/i, +g = 3 edits. */
    assert_float_equal(cer("kitten", "sitting", true), 3.0 / 7, EPS);
    assert_float_equal(cer("sitting", "kitten", true), 3.0 / 7, EPS);
    assert_float_equal(cer("kitten", "sitting", false), 0.5, EPS);
    assert_float_equal(cer("sitting", "kitten", false), 3.0 / 7, EPS);
    /* Code points, not bytes: 北京天安门 -> 北京天坛 is one substitution and one deletion. */
    assert_float_equal(cer("北京天安门", "北京天坛", true), 2.0 / 5, EPS);
    assert_float_equal(cer("a😀b", "ab", true), 1.0 / 3, EPS);
    assert_float_equal(cer("", "", true), 0, EPS);
    assert_float_equal(cer("", "abc", true), 1, EPS);
    assert_float_equal(cer("same", "same", false), 0, EPS);
    an_err e;
    double v;
    an_err_clear(&e);
    assert_int_equal(an_cer("", 0, "x", 1, false, &v, NULL, &e), -AN_EINVAL);
    assert_non_null(strstr(e.msg, "symmetric"));
    assert_int_equal(an_cer("\xff", 1, "x", 1, true, &v, NULL, &e), -AN_EINVAL);
    assert_int_equal(an_cer("x", 1, "\xc3", 1, true, &v, NULL, &e), -AN_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rect_iou),    cmocka_unit_test(test_rect_rotated),
        cmocka_unit_test(test_polygon_iou), cmocka_unit_test(test_assign),
        cmocka_unit_test(test_regions_match), cmocka_unit_test(test_spans),
        cmocka_unit_test(test_keypoints),   cmocka_unit_test(test_cer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
