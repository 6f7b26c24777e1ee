/* Consensus: majority vote with ties, Dawid–Skene on Dawid & Skene's own patient data and on
 * data where it must beat the majority, determinism, accuracy against gold. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/hash.h"
#include "model/config.h"
#include "qc/consensus.h"
#include "qc/gold.h"
#include "testlib.h"

#define NONE AN_CONS_NONE

static void add(an_cons_labels *l, size_t item, size_t ann, size_t cls)
{
    an_err e;
    if (an_cons_labels_add(l, item, ann, cls, &e) != 0) fail_msg("add: %s", e.msg);
}

static void run(const an_cons_labels *l, an_cons_method m, const an_cons_opts *o,
                an_cons_result *r)
{
    an_err e;
    an_err_clear(&e);
    an_cons_data d = an_cons_labels_data(l);
    if (an_cons_run(&d, m, o, r, &e) != 0) fail_msg("consensus: %s: %s", e.where, e.msg);
}

static size_t n_ties(const an_cons_result *r, size_t i)
{
    return r->tie_start[i + 1] - r->tie_start[i];
}

/* Labels are added out of item order; the CSR is sorted by item and keeps the adding order
 * within an item. */
static void test_labels_sorted_by_item(void **state)
{
    an_cons_labels l;
    an_cons_labels_init(&l, 3, 2, 2);
    add(&l, 2, 0, 1);
    add(&l, 0, 1, 0);
    add(&l, 2, 1, 0);
    add(&l, 0, 0, 1);
    an_err e;
    assert_int_equal(an_cons_labels_add(&l, 3, 0, 0, &e), -AN_EINVAL);
    assert_string_equal(e.where, "item");
    assert_int_equal(an_cons_labels_add(&l, 0, 0, 2, &e), -AN_EINVAL);
    assert_string_equal(e.where, "class");
    an_cons_labels_finish(&l);
    an_cons_data d = an_cons_labels_data(&l);
    assert_int_equal(d.labels, 4);
    size_t want_start[] = {0, 2, 2, 4};
    assert_memory_equal(d.item_start, want_start, sizeof want_start);
    uint32_t want_a[] = {1, 0, 0, 1}, want_c[] = {0, 1, 1, 0};
    assert_memory_equal(d.annotator, want_a, sizeof want_a);
    assert_memory_equal(d.cls, want_c, sizeof want_c);
    assert_int_equal(an_cons_check(&d, &e), 0);
    an_cons_labels_free(&l);
}

/* Ties are listed, not decided, unless the tie-break asks for the lowest class. */
static void test_majority_ties(void **state)
{
    an_cons_labels l;
    an_cons_labels_init(&l, 4, 4, 3);
    /* item 0: 2 x class 2, 1 x class 0 -> 2, share 2/3 */
    add(&l, 0, 0, 2);
    add(&l, 0, 1, 0);
    add(&l, 0, 2, 2);
    /* item 1: classes 2 and 1 twice each -> tie {1, 2} */
    add(&l, 1, 0, 2);
    add(&l, 1, 1, 1);
    add(&l, 1, 2, 1);
    add(&l, 1, 3, 2);
    /* item 2: no labels */
    /* item 3: one label */
    add(&l, 3, 3, 0);
    an_cons_labels_finish(&l);
    an_cons_opts o = an_cons_opts_default();
    an_cons_result r;
    run(&l, AN_CONS_MAJORITY, &o, &r);
    assert_int_equal(r.label[0], 2);
    assert_float_equal(r.confidence[0], 2.0 / 3.0, 1e-12);
    assert_int_equal(n_ties(&r, 0), 0);
    assert_int_equal(r.label[1], NONE);
    assert_int_equal(n_ties(&r, 1), 2);
    assert_int_equal(r.tie[r.tie_start[1]], 1);
    assert_int_equal(r.tie[r.tie_start[1] + 1], 2);
    assert_float_equal(r.confidence[1], 0.5, 1e-12);
    assert_int_equal(r.label[2], NONE);
    assert_int_equal(n_ties(&r, 2), 0);
    assert_float_equal(r.confidence[2], 0, 0);
    assert_int_equal(r.label[3], 0);
    assert_float_equal(r.confidence[3], 1, 0);
    assert_int_equal(r.n_ties, 1);
    /* Agreement with the consensus, over items that have one: annotator 1 said 0 on item 0
     * (consensus 2): 0 of 1; annotator 3 agreed on item 3 (item 1 is a tie): 1 of 1. */
    assert_float_equal(r.accuracy[1], 0, 0);
    assert_float_equal(r.accuracy[3], 1, 0);
    assert_float_equal(r.accuracy[0], 1, 0);
    assert_int_equal(r.annotator_labels[0], 2);
    an_cons_result_free(&r);

    o.tie_lowest = true;
    run(&l, AN_CONS_MAJORITY, &o, &r);
    assert_int_equal(r.label[1], 1);
    assert_int_equal(n_ties(&r, 1), 2); /* still reported */
    assert_int_equal(r.label[2], NONE);
    an_cons_result_free(&r);
    an_cons_labels_free(&l);
}

/* Dawid & Skene (1979), Table 1: 45 patients, 5 anaesthetists, 4 classes; anaesthetist 1 rated
 * every patient three times. One string per patient: anaesthetist 1's three ratings, then
 * anaesthetists 2 to 5. */
static const char *const patients[45] = {
    "1111111", "3334334", "1122122", "2223121", "2223222", "2223322", "1222111", "3333433",
    "2222223", "2322223", "4444444", "2223343", "1111111", "2223212", "1211111", "1112111",
    "1111111", "1111111", "2222221", "2221322", "2222222", "2222221", "2223222", "2212222",
    "1111111", "1111111", "2322222", "1111111", "1111111", "1121121", "1111111", "3333233",
    "1111111", "2222222", "2223232", "4334343", "2212232", "2323233", "3333432", "1111111",
    "1111111", "1212111", "2322222", "1211111", "2222222",
};

static void patient_labels(an_cons_labels *l)
{
    an_cons_labels_init(l, 45, 5, 4);
    for (size_t p = 0; p < 45; p++)
        for (size_t k = 0; k < 7; k++)
            add(l, p, k < 3 ? 0 : k - 2, (size_t)(patients[p][k] - '1'));
    an_cons_labels_finish(l);
}

/* Checked against an independent numpy implementation of the same equations
 * (bench/qc/ds_numpy.py --patients --smoothing 0 --tol 1e-10 --max-iter 1000), which gives
 * the same figures to every printed digit. */
static void test_ds_patients(void **state)
{
    an_cons_labels l;
    patient_labels(&l);
    an_cons_opts o = an_cons_opts_default();
    o.smoothing = 0; /* the paper's plain maximum likelihood */
    o.tol = 1e-10;
    o.max_iter = 1000;
    an_cons_result r;
    run(&l, AN_CONS_DAWID_SKENE, &o, &r);
    assert_true(r.converged);
    assert_int_equal(r.iterations, 27);
    assert_float_equal(r.log_likelihood, -192.890881, 1e-6);
    const double prior[4] = {0.3996, 0.4220, 0.1118, 0.0667};
    for (size_t j = 0; j < 4; j++)
        assert_float_equal(r.prior[j], prior[j], 5e-5);
    /* MAP classes (1-based as in the paper): patient 2 goes to class 4 although five of its
     * seven ratings say 3, because anaesthetists 2 and 5 never say 4 for a 3. */
    const char map[] = "142222132243121111222222112111131224233111212";
    for (size_t i = 0; i < 45; i++) {
        if (r.label[i] != map[i] - '1') fail_msg("patient %zu: class %d", i + 1, r.label[i] + 1);
        assert_int_equal(r.tie_start[i + 1], r.tie_start[i]);
    }
    /* The patients DS is unsure about. */
    assert_float_equal(r.posterior[6 * 4 + 0], 0.9810, 5e-5);
    assert_float_equal(r.posterior[34 * 4 + 1], 0.9480, 5e-5);
    assert_float_equal(r.posterior[34 * 4 + 2], 0.0520, 5e-5);
    assert_float_equal(r.posterior[37 * 4 + 2], 0.9788, 5e-5);
    assert_float_equal(r.confidence[37], 0.9788, 5e-5);
    const double acc[5] = {0.8288, 0.7789, 0.7766, 0.8669, 0.8424};
    for (size_t a = 0; a < 5; a++)
        assert_float_equal(r.accuracy[a], acc[a], 5e-5);
    /* Every posterior is a distribution. */
    for (size_t i = 0; i < 45; i++) {
        double s = 0;
        for (size_t j = 0; j < 4; j++)
            s += r.posterior[i * 4 + j];
        assert_float_equal(s, 1, 1e-12);
    }
    an_cons_result_free(&r);

    /* Majority gives patient 2 class 3: the two methods really differ here. */
    run(&l, AN_CONS_MAJORITY, &o, &r);
    assert_int_equal(r.label[1], 2);
    an_cons_result_free(&r);
    an_cons_labels_free(&l);
}

/* Three annotators on 100 binary items: A always gives the wrong class, B is wrong on items
 * 0-19 and C on items 20-39. Majority is wrong wherever B or C is (40 items); DS learns that
 * A's answer is the flipped truth and gets every item right. */
static void adversary_labels(an_cons_labels *l, int *truth)
{
    an_cons_labels_init(l, 100, 3, 2);
    for (size_t i = 0; i < 100; i++) {
        int z = (int)((i * 7 + i / 3) % 2);
        truth[i] = z;
        add(l, i, 0, (size_t)(1 - z));
        add(l, i, 1, (size_t)(i < 20 ? 1 - z : z));
        add(l, i, 2, (size_t)(i >= 20 && i < 40 ? 1 - z : z));
    }
    an_cons_labels_finish(l);
}

static void test_ds_beats_majority(void **state)
{
    an_cons_labels l;
    int truth[100];
    adversary_labels(&l, truth);
    an_cons_opts o = an_cons_opts_default();
    an_cons_result mv, ds;
    run(&l, AN_CONS_MAJORITY, &o, &mv);
    run(&l, AN_CONS_DAWID_SKENE, &o, &ds);
    int mv_right = 0, ds_right = 0;
    for (size_t i = 0; i < 100; i++) {
        mv_right += mv.label[i] == truth[i];
        ds_right += ds.label[i] == truth[i];
    }
    assert_int_equal(mv_right, 60);
    assert_int_equal(ds_right, 100);
    assert_true(ds.converged);
    assert_true(ds.iterations >= 2 && ds.iterations < 100);
    /* A's confusion matrix is the flip, and its accuracy near 0; B and C near 0.8. */
    assert_true(ds.confusion[(0 * 2 + 0) * 2 + 1] > 0.99);
    assert_true(ds.confusion[(0 * 2 + 1) * 2 + 0] > 0.99);
    assert_true(ds.accuracy[0] < 0.01);
    assert_float_equal(ds.accuracy[1], 0.8, 0.01);
    assert_float_equal(ds.accuracy[2], 0.8, 0.01);
    for (size_t i = 0; i < 100; i++)
        assert_true(ds.confidence[i] > 0.99);

    /* Against gold (the truth on the first 50 items): A 0 of 50, B 30 of 50, C 30 of 50. */
    int32_t gold[100];
    for (size_t i = 0; i < 100; i++)
        gold[i] = i < 50 ? truth[i] : NONE;
    size_t seen[3], correct[3];
    an_err e;
    an_cons_data d = an_cons_labels_data(&l);
    assert_int_equal(an_cons_gold(&d, gold, seen, correct, &e), 0);
    assert_int_equal(seen[0], 50);
    assert_int_equal(correct[0], 0);
    assert_int_equal(correct[1], 30);
    assert_int_equal(correct[2], 30);
    gold[3] = 2;
    assert_int_equal(an_cons_gold(&d, gold, seen, correct, &e), -AN_EINVAL);
    assert_string_equal(e.where, "gold[3]");
    an_cons_result_free(&mv);
    an_cons_result_free(&ds);
    an_cons_labels_free(&l);
}

/* The same input gives bit-identical output; tol and max_iter stop EM as documented. */
static void test_ds_deterministic_and_stopping(void **state)
{
    an_cons_labels l;
    an_cons_labels_init(&l, 2000, 7, 5);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < 2000; i++) {
        size_t truth = i % 5;
        for (size_t k = 0; k < 3; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t a = (size_t)(x % 7);
            size_t c = (x >> 20) % 10 < (a + 3) ? truth : (size_t)((x >> 32) % 5);
            add(&l, i, a, c);
        }
    }
    an_cons_labels_finish(&l);
    an_cons_opts o = an_cons_opts_default();
    o.max_iter = 1000;
    an_cons_result r1, r2;
    run(&l, AN_CONS_DAWID_SKENE, &o, &r1);
    run(&l, AN_CONS_DAWID_SKENE, &o, &r2);
    if (!r1.converged) fail_msg("no convergence in %d iterations", r1.iterations);
    assert_memory_equal(r1.posterior, r2.posterior, 2000 * 5 * sizeof(double));
    assert_memory_equal(r1.confusion, r2.confusion, 7 * 5 * 5 * sizeof(double));
    assert_memory_equal(&r1.log_likelihood, &r2.log_likelihood, sizeof(double));
    assert_int_equal(r1.iterations, r2.iterations);
    an_cons_result_free(&r2);

    /* tol 0 never converges: exactly max_iter iterations. */
    o.tol = 0;
    o.max_iter = 7;
    run(&l, AN_CONS_DAWID_SKENE, &o, &r2);
    assert_false(r2.converged);
    assert_int_equal(r2.iterations, 7);
    /* EM with smoothing still raises the likelihood from iteration 7 to convergence. */
    assert_true(r1.log_likelihood >= r2.log_likelihood - 1e-9);
    an_cons_result_free(&r2);
    an_cons_result_free(&r1);

    an_err e;
    an_cons_data d = an_cons_labels_data(&l);
    o.max_iter = 0;
    assert_int_equal(an_cons_dawid_skene(&d, &o, &r1, &e), -AN_EINVAL);
    o.max_iter = 10;
    o.smoothing = -1;
    assert_int_equal(an_cons_dawid_skene(&d, &o, &r1, &e), -AN_EINVAL);
    an_cons_labels_free(&l);
}

/* Bad shapes are refused with the place named, never read past. */
static void test_check(void **state)
{
    size_t start[] = {0, 2, 1};
    uint32_t ann[] = {0, 1}, cls[] = {0, 3};
    an_cons_data d = {2, 2, 3, 1, start, ann, cls};
    an_err e;
    an_cons_result r;
    assert_int_equal(an_cons_majority(&d, NULL, &r, &e), -AN_EINVAL);
    assert_string_equal(e.where, "item_start[2]");
    start[2] = 3;
    assert_int_equal(an_cons_check(&d, &e), -AN_EINVAL);
    assert_string_equal(e.where, "item_start");
    start[2] = 2;
    d.labels = 2;
    assert_int_equal(an_cons_check(&d, &e), -AN_EINVAL);
    assert_string_equal(e.where, "labels[1]");
    cls[1] = 2;
    assert_int_equal(an_cons_check(&d, &e), 0);
    d.classes = 0;
    assert_int_equal(an_cons_check(&d, &e), -AN_EINVAL);
    assert_string_equal(e.where, "classes");
}

/* Three annotators, weights 1, 1, 2. A, B and C each draw the same object a little apart; B
 * also draws a stray box nobody else sees. Cluster: x = (10 + 12 + 2*10)/4 = 10.5,
 * y = (10 + 10 + 2*12)/4 = 11, 20 x 20; labels 0, 0, 1 -> 0. The stray box has support 1,
 * below the default quorum of 2 (half of 3, rounded up). */
static void test_boxes_merge(void **state)
{
    an_cons_box b[] = {
        {{12, 10, 20, 20, 0}, 1, 0},
        {{70, 70, 5, 5, 0}, 1, 1},
        {{10, 12, 20, 20, 0}, 2, 1},
        {{10, 10, 20, 20, 0}, 0, 0},
    };
    double w[3] = {1, 1, 2};
    an_cons_box_opts o = {.annotators = 3, .iou = 0.5, .weight = w, .classes = 2};
    an_cons_merged *m;
    size_t n;
    an_err e;
    assert_int_equal(an_cons_boxes(b, 4, &o, &m, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_float_equal(m[0].rect.x, 10.5, 1e-12);
    assert_float_equal(m[0].rect.y, 11, 1e-12);
    assert_float_equal(m[0].rect.w, 20, 1e-12);
    assert_float_equal(m[0].rect.h, 20, 1e-12);
    assert_int_equal(m[0].label, 0);
    assert_int_equal(m[0].support, 3);
    /* IoU with (10.5, 11): A 19.5*19 = 370.5 / 429.5; B 18.5*19 = 351.5 / 448.5; C 19.5*19 =
     * 370.5 / 429.5. */
    double want = (2 * 370.5 / 429.5 + 351.5 / 448.5) / 3;
    assert_float_equal(m[0].mean_iou, want, 1e-12);
    free(m);

    /* Quorum 1 keeps the stray box too, after the cluster annotator 0 opened. */
    o.quorum = 1;
    assert_int_equal(an_cons_boxes(b, 4, &o, &m, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_float_equal(m[0].rect.x, 10.5, 1e-12);
    assert_float_equal(m[1].rect.x, 70, 0);
    assert_int_equal(m[1].label, 1);
    free(m);

    /* Two boxes of one annotator over the same object never merge with each other. */
    an_cons_box two[] = {{{10, 10, 20, 20, 0}, 0, 0}, {{11, 10, 20, 20, 0}, 0, 0}};
    o.quorum = 1;
    assert_int_equal(an_cons_boxes(two, 2, &o, &m, &n, &e), 0);
    assert_int_equal(n, 2);
    free(m);

    b[0].annotator = 3;
    assert_int_equal(an_cons_boxes(b, 4, &o, &m, &n, &e), -AN_EINVAL);
    assert_string_equal(e.where, "boxes[0]");
}

/* Gold accuracy and consensus labels from a real workspace: a single-choice control, four
 * tasks, a gold annotation on three of them. */
static int64_t put_task(an_store *s, int64_t project, int i)
{
    char data[64];
    int n = snprintf(data, sizeof data, "{\"text\":\"t%d\"}", i);
    an_task_in t = {.project_id = project, .data = data, .data_len = (size_t)n};
    an_hash(data, (size_t)n, t.hash);
    int64_t id;
    an_err e;
    if (an_store_task_insert(s, &t, &id, &e) != 0) fail_msg("task: %s", e.msg);
    return id;
}

static void put_ann(an_store *s, int64_t project, int64_t task, int64_t user, const char *choices,
                    bool gt, bool cancelled)
{
    char result[256];
    snprintf(result, sizeof result,
             "[{\"from_name\":\"sentiment\",\"to_name\":\"text\",\"type\":\"choices\","
             "\"value\":{\"choices\":[%s]}}]",
             choices);
    an_annotation_in a = {.task_id = task, .project_id = project, .annotator_id = user,
                          .result = result, .lead_time = NAN, .ground_truth = gt,
                          .cancelled = cancelled};
    int64_t id;
    an_err e;
    if (an_store_annotation_insert(s, &a, &id, &e) != 0) fail_msg("annotation: %s", e.msg);
}

static void test_gold_project(void **state)
{
    char dir[256], path[512];
    an_store *s;
    assert_int_equal(tl_workspace_open("consensus", dir, sizeof dir, path, sizeof path, &s), 0);
    const char *xml = "<View><Text name=\"text\" value=\"$text\"/>"
                      "<Choices name=\"sentiment\" toName=\"text\">"
                      "<Choice value=\"pos\"/><Choice value=\"neg\"/><Choice value=\"neu\"/>"
                      "</Choices></View>";
    an_err e;
    int64_t p, u[4];
    assert_int_equal(an_store_project_create(s, "p", xml, NULL, &p, &e), 0);
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "u%d", i);
        assert_int_equal(an_store_user_add(s, name, AN_ROLE_ANNOTATOR, &u[i], &e), 0);
    }
    assert_int_equal(an_store_begin(s, &e), 0);
    int64_t t[4];
    for (int i = 0; i < 4; i++)
        t[i] = put_task(s, p, i);
    /* Task 0, gold pos: u1 pos (right), u2 neg (wrong), u3 cancelled pos (ignored). */
    put_ann(s, p, t[0], u[0], "\"pos\"", true, false);
    put_ann(s, p, t[0], u[1], "\"pos\"", false, false);
    put_ann(s, p, t[0], u[2], "\"neg\"", false, false);
    put_ann(s, p, t[0], u[3], "\"pos\"", false, true);
    /* Task 1, gold neg: u1 first pos then neg (the later one counts: right), u2 neg. */
    put_ann(s, p, t[1], u[0], "\"neg\"", true, false);
    put_ann(s, p, t[1], u[1], "\"pos\"", false, false);
    put_ann(s, p, t[1], u[1], "\"neg\"", false, false);
    put_ann(s, p, t[1], u[2], "\"neg\"", false, false);
    /* Task 2, gold {pos, neu}: u1 answers two choices the same (right; not a consensus label),
     * u2 an unknown choice (wrong). */
    put_ann(s, p, t[2], u[0], "\"neu\",\"pos\"", true, false);
    put_ann(s, p, t[2], u[1], "\"pos\",\"neu\"", false, false);
    put_ann(s, p, t[2], u[2], "\"meh\"", false, false);
    /* Task 3, no gold: u2 and u3 say neu. */
    put_ann(s, p, t[3], u[2], "\"neu\"", false, false);
    put_ann(s, p, t[3], u[3], "\"neu\"", false, false);
    assert_int_equal(an_store_commit(s, &e), 0);

    an_config *cfg;
    assert_int_equal(an_config_parse(xml, strlen(xml), &cfg, &e), 0);
    an_choice_table tab;
    if (an_choice_table_read(s, p, an_config_control(cfg, "sentiment"), &tab, &e) != 0)
        fail_msg("read: %s", e.msg);
    assert_int_equal(tab.tasks, 4);
    assert_int_equal(tab.gold_tasks, 3);
    assert_int_equal(tab.annotators, 3); /* u1, u2, u3 in id order; u0 only gave gold */
    assert_int_equal(tab.annotator_ids[0], u[1]);
    assert_int_equal(tab.annotator_ids[2], u[3]);
    assert_int_equal(tab.stats[0].seen, 3);
    assert_int_equal(tab.stats[0].correct, 3);
    assert_int_equal(tab.stats[1].seen, 3);
    assert_int_equal(tab.stats[1].correct, 1);
    assert_int_equal(tab.stats[2].seen, 0);
    assert_true(isnan(tab.stats[2].accuracy));
    assert_float_equal(tab.stats[1].accuracy, 1.0 / 3.0, 1e-12);
    /* Wilson 95 % for 1 of 3: 0.0615 .. 0.7923. */
    assert_float_equal(tab.stats[1].lo, 0.0615, 5e-5);
    assert_float_equal(tab.stats[1].hi, 0.7923, 5e-5);
    assert_int_equal(tab.gold[0], 0);
    assert_int_equal(tab.gold[1], 1);
    assert_int_equal(tab.gold[2], NONE); /* two choices */
    assert_int_equal(tab.gold[3], NONE);
    assert_int_equal(tab.unknown_choices, 1);
    assert_int_equal(tab.not_single, 2);
    /* Consensus labels: t0 u1 pos, u2 neg; t1 u1 neg, u2 neg; t3 u2 neu, u3 neu. */
    an_cons_data d = an_cons_labels_data(&tab.labels);
    assert_int_equal(d.labels, 6);
    an_cons_opts o = an_cons_opts_default();
    an_cons_result r;
    assert_int_equal(an_cons_majority(&d, &o, &r, &e), 0);
    assert_int_equal(r.label[0], NONE); /* pos vs neg */
    assert_int_equal(r.label[1], 1);
    assert_int_equal(r.label[2], NONE);
    assert_int_equal(r.label[3], 2);
    an_cons_result_free(&r);
    an_choice_table_free(&tab);

    assert_int_equal(an_choice_table_read(s, p, an_config_control(cfg, "sentiment") - 0, &tab,
                                          &e),
                     0);
    an_choice_table_free(&tab);
    an_config_free(cfg);
    assert_int_equal(tl_workspace_close(dir, s), 0);
}

static void test_wilson(void **state)
{
    double lo, hi;
    an_wilson95(0, 0, &lo, &hi);
    assert_true(lo == 0 && hi == 1);
    an_wilson95(10, 10, &lo, &hi);
    assert_float_equal(lo, 0.7225, 5e-5);
    assert_float_equal(hi, 1, 1e-12);
    an_wilson95(50, 100, &lo, &hi);
    assert_float_equal(lo, 0.4038, 5e-5);
    assert_float_equal(hi, 0.5962, 5e-5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_sorted_by_item),
        cmocka_unit_test(test_majority_ties),
        cmocka_unit_test(test_ds_patients),
        cmocka_unit_test(test_ds_beats_majority),
        cmocka_unit_test(test_ds_deterministic_and_stopping),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_boxes_merge),
        cmocka_unit_test(test_gold_project),
        cmocka_unit_test(test_wilson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
