/* The text models on generated data: features, the weight blob, textcls (accuracy on English
 * and Chinese, calibration, determinism, too little data) and fewshot (five examples per
 * class work, four are refused). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/json.h"
#include "model/config.h"
#include "model/validate.h"
#include "preanno/calib.h"
#include "preanno/features.h"
#include "preanno/linear.h"
#include "preanno/predictor.h"
#include "preanno_data.h"

static const char CFG[] = "<View><Text name=\"text\" value=\"$text\"/>"
                          "<Choices name=\"sentiment\" toName=\"text\">"
                          "<Choice value=\"positive\"/><Choice value=\"negative\"/></Choices>"
                          "<Choices name=\"topics\" toName=\"text\" choice=\"multiple\">"
                          "<Choice value=\"a\"/><Choice value=\"b\"/></Choices>"
                          "<Image name=\"img\" value=\"$img\"/>"
                          "<Choices name=\"imgcls\" toName=\"img\"><Choice value=\"x\"/></Choices>"
                          "</View>";

static an_config *cfg_get(void)
{
    static an_config *cfg;
    if (!cfg) {
        an_err e;
        assert_int_equal(an_config_parse(CFG, strlen(CFG), &cfg, &e), 0);
    }
    return cfg;
}

static const an_control *sentiment(void)
{
    return an_config_control(cfg_get(), "sentiment");
}

/* A data set: examples of labels 0/1 (flipped with probability noise_pct %; negative
 * noise_pct: that share of the texts is ambiguous, pd_mixed, with a random label). */
typedef struct set {
    an_train_example *ex;
    size_t n;
} set;

static set make_set(uint64_t seed, int zh, size_t n, int noise_pct, size_t words)
{
    pd_rng r = {seed};
    set s = {an_xcalloc(n, sizeof *s.ex), n};
    for (size_t i = 0; i < n; i++) {
        int label = (int)pd_next(&r, 2);
        s.ex[i].task_id = (int64_t)i + 1;
        if (noise_pct < 0 && (int)pd_next(&r, 100) < -noise_pct)
            s.ex[i].data = pd_mixed(&r);
        else
            s.ex[i].data = pd_data(&r, zh, label, words);
        if ((int)pd_next(&r, 100) < noise_pct) label = 1 - label;
        s.ex[i].label = label;
    }
    return s;
}

/* Plain texts (pd_plain) with exactly per[c] of class c, cycling through the first words
 * class words. */
static set make_counts(uint64_t seed, const size_t per[2], size_t words)
{
    pd_rng r = {seed};
    set s = {an_xcalloc(per[0] + per[1], sizeof *s.ex), per[0] + per[1]};
    size_t i = 0;
    for (int c = 0; c < 2; c++)
        for (size_t k = 0; k < per[c]; k++, i++) {
            s.ex[i].task_id = (int64_t)i + 1;
            s.ex[i].data = pd_plain(&r, c, k % words);
            s.ex[i].label = c;
        }
    return s;
}

/* n plain texts of random classes and random class words among the first words. */
static set make_plain(uint64_t seed, size_t n, size_t words)
{
    pd_rng r = {seed};
    set s = {an_xcalloc(n, sizeof *s.ex), n};
    for (size_t i = 0; i < n; i++) {
        int label = (int)pd_next(&r, 2);
        s.ex[i].task_id = (int64_t)i + 1;
        s.ex[i].data = pd_plain(&r, label, pd_next(&r, (uint32_t)words));
        s.ex[i].label = label;
    }
    return s;
}

static void set_free(set *s)
{
    for (size_t i = 0; i < s->n; i++) json_decref((json_t *)s->ex[i].data);
    free(s->ex);
}

static double num_at(const json_t *o, const char *a, const char *b)
{
    double v = NAN;
    an_json_number(json_object_get(b ? json_object_get(o, a) : o, b ? b : a), &v);
    return v;
}

/* Predicts s with the trained model and returns the accuracy; checks every prediction's
 * shape, score and validity against the config. */
static double accuracy_on(const an_predictor_ops *ops, const an_trained *tr, const set *s)
{
    an_model_data md = {.version = "t-1", .params = tr->params, .blob = tr->blob.p,
                        .blob_len = tr->blob.len};
    void *st = NULL;
    an_err e;
    assert_int_equal(ops->open(NULL, &md, cfg_get(), sentiment(), &st, &e), 0);
    an_pred_task *tasks = an_xcalloc(s->n, sizeof *tasks);
    an_pred_out *out = an_xcalloc(s->n, sizeof *out);
    for (size_t i = 0; i < s->n; i++) tasks[i] = (an_pred_task){s->ex[i].task_id, s->ex[i].data};
    assert_int_equal(ops->predict(st, tasks, s->n, out, &e), 0);
    size_t right = 0;
    for (size_t i = 0; i < s->n; i++) {
        assert_int_equal(out[i].rc, 0);
        assert_true(out[i].score >= 0.5 && out[i].score <= 1);
        assert_int_equal(an_validate_result(cfg_get(), s->ex[i].data, out[i].result, &e), 0);
        const json_t *item = json_array_get(out[i].result, 0);
        assert_string_equal(an_json_str(item, "type"), "choices");
        assert_string_equal(an_json_str(item, "to_name"), "text");
        assert_true(fabs(num_at(item, "score", NULL) - out[i].score) < 1e-12);
        right += an_preanno_result_choice(out[i].result, sentiment()) == s->ex[i].label;
        json_decref(out[i].result);
    }
    ops->close(st);
    free(tasks);
    free(out);
    return (double)right / (double)s->n;
}

static int train(const an_predictor_ops *ops, const set *s, json_t *opts, an_trained *tr,
                 an_err *e)
{
    an_err_clear(e);
    int rc = ops->train(opts, cfg_get(), sentiment(), s->ex, s->n, tr, e);
    json_decref(opts);
    return rc;
}

/* ---- features ---------------------------------------------------------------------------- */

static void same_vec(const char *a, const char *b, bool want_same)
{
    an_fvec x = AN_FVEC_INIT, y = AN_FVEC_INIT;
    an_features(a, strlen(a), 18, &x);
    an_features(b, strlen(b), 18, &y);
    bool same = x.n == y.n && memcmp(x.idx, y.idx, x.n * sizeof *x.idx) == 0 &&
                memcmp(x.val, y.val, x.n * sizeof *x.val) == 0;
    assert_int_equal(same, want_same);
    an_fvec_free(&x);
    an_fvec_free(&y);
}

static void test_features(void **state)
{
    /* Case and punctuation do not matter; word order does. */
    same_vec("Great Movie", "great movie!!", true);
    same_vec("ПРИВЕТ Ærø", "привет ærø", true);
    same_vec("great movie", "movie great", false);
    an_fvec v = AN_FVEC_INIT;
    an_features("这部电影非常好看", strlen("这部电影非常好看"), 18, &v);
    /* One word (no spaces), 8 + 9 + 8 character n-grams, minus collisions. */
    assert_true(v.n >= 20);
    double norm = 0;
    for (size_t i = 0; i < v.n; i++) {
        norm += (double)v.val[i] * v.val[i];
        if (i) assert_true(v.idx[i] > v.idx[i - 1]);
        assert_true(v.idx[i] < (1u << 18));
    }
    assert_true(fabs(norm - 1) < 1e-5);
    /* Two Chinese texts sharing 好看 share features without any segmentation. */
    an_fvec w = AN_FVEC_INIT;
    an_features("那本书很好看", strlen("那本书很好看"), 18, &w);
    float *dense = an_xcalloc(1u << 18, sizeof *dense);
    for (size_t i = 0; i < w.n; i++) dense[w.idx[i]] = w.val[i];
    assert_true(an_fvec_dot_dense(&v, dense) > 0.05);
    free(dense);
    /* Nothing but separators, and invalid UTF-8, give an empty vector. */
    an_features("!!! ... ？！", strlen("!!! ... ？！"), 18, &v);
    assert_int_equal(v.n, 0);
    an_features("\xff\xfe", 2, 18, &v);
    assert_int_equal(v.n, 0);
    an_fvec_free(&v);
    an_fvec_free(&w);
}

/* ---- the weight blob ----------------------------------------------------------------------- */

static void test_linear_blob(void **state)
{
    float dense[256 * 2] = {0}, bias[2] = {0.5f, -0.5f};
    dense[3 * 2 + 0] = 1.5f;
    dense[200 * 2 + 1] = -2.0f;
    an_linear m;
    an_linear_from_dense(&m, 8, 2, dense, bias);
    assert_int_equal(m.rows, 2);
    an_buf b = AN_BUF_INIT;
    an_buf_init(&b);
    an_linear_save(&m, &b);
    assert_int_equal(b.len, 20 + 8 + 2 * 12);
    an_linear back;
    an_err e;
    assert_int_equal(an_linear_load(b.p, b.len, &back, &e), 0);
    uint32_t idx[2] = {3, 200};
    float val[2] = {1, 1};
    an_fvec x = {idx, val, 2, 2};
    double z1[2], z2[2];
    an_linear_logits(&m, &x, z1);
    an_linear_logits(&back, &x, z2);
    assert_true(z1[0] == z2[0] && z1[1] == z2[1]);
    assert_true(fabs(z1[0] - 2.0) < 1e-6 && fabs(z1[1] + 2.5) < 1e-6);
    an_linear_free(&back);
    /* Truncated, wrong magic, a NaN weight, buckets out of order: refused. */
    assert_int_equal(an_linear_load(b.p, b.len - 1, &back, &e), -AN_EINVAL);
    assert_string_equal(e.where, "model.blob");
    an_linear_free(&back);
    b.p[0] = 'X';
    assert_int_equal(an_linear_load(b.p, b.len, &back, &e), -AN_EINVAL);
    an_linear_free(&back);
    b.p[0] = 'A';
    uint32_t nan_bits = 0x7fc00000;
    memcpy(b.p + 28 + 4, &nan_bits, 4);
    assert_int_equal(an_linear_load(b.p, b.len, &back, &e), -AN_EINVAL);
    an_linear_free(&back);
    an_buf_reset(&b);
    an_linear_save(&m, &b);
    memcpy(b.p + 28 + 12, b.p + 28, 4); /* second bucket = first */
    assert_int_equal(an_linear_load(b.p, b.len, &back, &e), -AN_EINVAL);
    an_linear_free(&back);
    an_linear_free(&m);
    an_buf_free(&b);
}

/* ---- textcls ------------------------------------------------------------------------------- */

static void check_language(int zh)
{
    const an_predictor_ops *ops = an_predictor_find("textcls");
    assert_non_null(ops);
    set s = make_set(11 + (uint64_t)zh, zh, 400, 0, 0);
    an_trained tr;
    an_err e;
    assert_int_equal(train(ops, &s, json_pack("{s:i}", "seed", 3), &tr, &e), 0);
    double held = num_at(tr.metrics, "held_out_after", "accuracy");
    assert_true(held > 0.9);
    assert_int_equal(json_integer_value(json_object_get(tr.metrics, "held_out")) +
                         json_integer_value(json_object_get(tr.metrics, "train")),
                     400);
    /* Fresh texts, never seen in training. */
    set fresh = make_set(99 + (uint64_t)zh, zh, 300, 0, 0);
    assert_true(accuracy_on(ops, &tr, &fresh) > 0.9);
    set_free(&fresh);
    set_free(&s);
    an_trained_free(&tr);
}

static void test_textcls_english(void **state)
{
    check_language(0);
}

static void test_textcls_chinese(void **state)
{
    check_language(1);
}

static void test_textcls_calibration(void **state)
{
    /* 30 % of the texts are ambiguous (a word of each class, a random label): the model
     * cannot be sure of them, and its calibrated probabilities should say so. */
    const an_predictor_ops *ops = an_predictor_find("textcls");
    set s = make_set(5, 0, 3000, -30, 0);
    an_trained tr;
    an_err e;
    assert_int_equal(train(ops, &s, json_pack("{s:i}", "seed", 1), &tr, &e), 0);
    double before = num_at(tr.metrics, "held_out_before", "ece");
    double after = num_at(tr.metrics, "held_out_after", "ece");
    double ll_before = num_at(tr.metrics, "held_out_before", "log_loss");
    double ll_after = num_at(tr.metrics, "held_out_after", "log_loss");
    assert_true(after <= before || after <= 0.05);
    assert_true(ll_after <= ll_before + 1e-9);
    double t = num_at(tr.params, "temperature", NULL);
    assert_true(t > 0.01 && t < 100);
    set_free(&s);
    an_trained_free(&tr);
}

static void test_textcls_determinism(void **state)
{
    const an_predictor_ops *ops = an_predictor_find("textcls");
    set s = make_set(21, 0, 200, 5, 0);
    an_trained a, b, c;
    an_err e;
    assert_int_equal(train(ops, &s, json_pack("{s:i,s:i}", "seed", 7, "epochs", 4), &a, &e), 0);
    assert_int_equal(train(ops, &s, json_pack("{s:i,s:i}", "seed", 7, "epochs", 4), &b, &e), 0);
    assert_int_equal(train(ops, &s, json_pack("{s:i,s:i}", "seed", 8, "epochs", 4), &c, &e), 0);
    assert_int_equal(a.blob.len, b.blob.len);
    assert_memory_equal(a.blob.p, b.blob.p, a.blob.len);
    char *ma = an_json_text(a.metrics), *mb = an_json_text(b.metrics);
    assert_string_equal(ma, mb);
    free(ma);
    free(mb);
    assert_true(a.blob.len != c.blob.len || memcmp(a.blob.p, c.blob.p, a.blob.len) != 0);
    set_free(&s);
    an_trained_free(&a);
    an_trained_free(&b);
    an_trained_free(&c);
}

static void test_textcls_refuses(void **state)
{
    const an_predictor_ops *ops = an_predictor_find("textcls");
    an_trained tr;
    an_err e;
    /* Too few examples. */
    set s = make_set(3, 0, 6, 0, 0);
    assert_int_equal(train(ops, &s, NULL, &tr, &e), -AN_EINVAL);
    assert_non_null(strstr(e.msg, "at least 10"));
    set_free(&s);
    /* One class only. */
    size_t per[2] = {30, 0};
    s = make_counts(4, per, 3);
    assert_int_equal(train(ops, &s, NULL, &tr, &e), -AN_EINVAL);
    assert_non_null(strstr(e.msg, "2 classes"));
    set_free(&s);
    /* Bad options. */
    s = make_set(3, 0, 40, 0, 0);
    assert_int_equal(train(ops, &s, json_pack("{s:i}", "epochs", 0), &tr, &e), -AN_EINVAL);
    assert_string_equal(e.where, "epochs");
    assert_int_equal(train(ops, &s, json_pack("{s:s}", "seed", "x"), &tr, &e), -AN_EINVAL);
    assert_string_equal(e.where, "seed");
    set_free(&s);
}

/* ---- fewshot -------------------------------------------------------------------------------- */

static void test_fewshot_five(void **state)
{
    const an_predictor_ops *ops = an_predictor_find("fewshot");
    assert_non_null(ops);
    size_t per[2] = {5, 5};
    set s = make_counts(31, per, 2);
    an_trained tr;
    an_err e;
    assert_int_equal(train(ops, &s, NULL, &tr, &e), 0);
    assert_int_equal(json_array_size(json_object_get(tr.params, "classes")), 2);
    double t = num_at(tr.params, "temperature", NULL);
    assert_true(t > 0 && t < 1); /* cosines in [-1, 1] need sharpening */
    set fresh = make_plain(77, 300, 2);
    assert_true(accuracy_on(ops, &tr, &fresh) >= 0.9);
    set_free(&fresh);
    set_free(&s);
    an_trained_free(&tr);
}

static void test_fewshot_refuses_four(void **state)
{
    const an_predictor_ops *ops = an_predictor_find("fewshot");
    size_t per[2] = {5, 4};
    set s = make_counts(32, per, 3);
    an_trained tr;
    an_err e;
    assert_int_equal(train(ops, &s, NULL, &tr, &e), -AN_EINVAL);
    assert_string_equal(e.where, "sentiment");
    assert_non_null(strstr(e.msg, "at least 5"));
    assert_non_null(strstr(e.msg, "\"negative\" has 4"));
    set_free(&s);
    /* One class only. */
    size_t one[2] = {6, 0};
    s = make_counts(33, one, 3);
    assert_int_equal(train(ops, &s, NULL, &tr, &e), -AN_EINVAL);
    assert_non_null(strstr(e.msg, "at least 2 classes"));
    set_free(&s);
}

/* ---- the registry and the shared helpers ---------------------------------------------------- */

static void test_registry(void **state)
{
    size_t n;
    const an_predictor_ops *const *all = an_predictor_list(&n);
    /* The text models come first; the media models (ocr, asr, face, plate) follow. */
    assert_true(n >= 2);
    assert_ptr_equal(an_predictor_find("textcls"), all[0]);
    assert_ptr_equal(an_predictor_find("fewshot"), all[1]);
    assert_null(an_predictor_find("gpt"));
    assert_null(an_predictor_find(NULL));
    an_err e;
    const an_config *cfg = cfg_get();
    assert_int_equal(all[0]->check_control(cfg, sentiment(), &e), 0);
    assert_int_equal(all[0]->check_control(cfg, an_config_control(cfg, "topics"), &e), -AN_EINVAL);
    assert_string_equal(e.where, "topics");
    assert_int_equal(all[1]->check_control(cfg, an_config_control(cfg, "imgcls"), &e), -AN_EINVAL);
    /* A stored class the control lost, and a task without the text field. */
    json_t *params = json_pack("{s:[s,s]}", "classes", "positive", "neutral");
    int *map;
    size_t k;
    assert_int_equal(an_preanno_class_map(params, sentiment(), &map, &k, &e), -AN_EINVAL);
    assert_string_equal(e.where, "model.params.classes");
    assert_non_null(strstr(e.msg, "\"neutral\""));
    json_decref(params);
    const an_object *obj;
    assert_int_equal(an_preanno_text_choices(cfg, sentiment(), &obj, &e), 0);
    json_t *data = json_pack("{s:i}", "text", 3);
    const char *text;
    size_t len;
    assert_int_equal(an_preanno_task_text(obj, data, &text, &len, &e), -AN_EINVAL);
    assert_string_equal(e.where, "data.text");
    json_decref(data);
    /* An answer with one choice, with two, with an unknown one. */
    json_t *r = json_loads("[{\"from_name\":\"sentiment\",\"value\":{\"choices\":[\"negative\"]}}]",
                           0, NULL);
    assert_int_equal(an_preanno_result_choice(r, sentiment()), 1);
    json_decref(r);
    r = json_loads("[{\"from_name\":\"sentiment\",\"value\":{\"choices\":[\"negative\","
                   "\"positive\"]}}]",
                   0, NULL);
    assert_int_equal(an_preanno_result_choice(r, sentiment()), -1);
    json_decref(r);
    r = json_loads("[{\"from_name\":\"sentiment\",\"value\":{\"choices\":[\"meh\"]}}]", 0, NULL);
    assert_int_equal(an_preanno_result_choice(r, sentiment()), -1);
    json_decref(r);
}

/* A predicting state fails one task (no text) and predicts the others. */
static void test_predict_partial_failure(void **state)
{
    const an_predictor_ops *ops = an_predictor_find("textcls");
    set s = make_set(41, 0, 100, 0, 0);
    an_trained tr;
    an_err e;
    assert_int_equal(train(ops, &s, NULL, &tr, &e), 0);
    an_model_data md = {.version = "textcls-1", .params = tr.params, .blob = tr.blob.p,
                        .blob_len = tr.blob.len};
    void *st;
    assert_int_equal(ops->open(NULL, &md, cfg_get(), sentiment(), &st, &e), 0);
    json_t *bad = json_pack("{s:s}", "other", "x");
    an_pred_task tasks[2] = {{1, bad}, {2, s.ex[0].data}};
    an_pred_out out[2];
    assert_int_equal(ops->predict(st, tasks, 2, out, &e), 0);
    assert_int_equal(out[0].rc, -AN_EINVAL);
    assert_string_equal(out[0].err.where, "data.text");
    assert_null(out[0].result);
    assert_int_equal(out[1].rc, 0);
    json_decref(out[1].result);
    ops->close(st);
    json_decref(bad);
    /* A model without a blob cannot open. */
    an_model_data none = {.version = "textcls-0", .params = tr.params};
    assert_int_equal(ops->open(NULL, &none, cfg_get(), sentiment(), &st, &e), -AN_EINVAL);
    an_trained_free(&tr);
    set_free(&s);
}

static void test_calib(void **state)
{
    /* Logits far apart but right only 75 % of the time: the fitted T flattens them so the
     * confidence comes close to 0.75. */
    enum { N = 400 };
    static double z[N * 2];
    static int y[N];
    for (int i = 0; i < N; i++) {
        z[2 * i] = 5;
        z[2 * i + 1] = 0;
        y[i] = i % 4 == 0;
    }
    double t = an_fit_temperature(z, y, N, 2);
    double p[2];
    an_softmax(z, 2, t, p);
    assert_true(fabs(p[0] - 0.75) < 0.02);
    an_calib_metrics m;
    an_calib_measure(z, y, N, 2, t, &m);
    assert_true(fabs(m.accuracy - 0.75) < 1e-12);
    assert_true(m.ece < 0.02);
    an_calib_measure(z, y, N, 2, 1, &m);
    assert_true(fabs(m.ece - (0.9933071 - 0.75)) < 1e-4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_linear_blob),
        cmocka_unit_test(test_calib),
        cmocka_unit_test(test_textcls_english),
        cmocka_unit_test(test_textcls_chinese),
        cmocka_unit_test(test_textcls_calibration),
        cmocka_unit_test(test_textcls_determinism),
        cmocka_unit_test(test_textcls_refuses),
        cmocka_unit_test(test_fewshot_five),
        cmocka_unit_test(test_fewshot_refuses_four),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_predict_partial_failure),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    return rc;
}
