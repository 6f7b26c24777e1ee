/* Pre-annotation against a real workspace: model versions in the store, the prediction
 * lookup, which annotations training accepts (with and without reviews), and prediction runs
 * (every task once, a rerun predicts nothing, --only-unlabeled, --min-score, failures). */
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
#include "base/json.h"
#include "preanno/run.h"
#include "preanno/train.h"
#include "store/models.h"
#include "testlib.h"
#include "preanno_data.h"

static const char CFG[] = "<View><Text name=\"text\" value=\"$text\"/>"
                          "<Choices name=\"sentiment\" toName=\"text\">"
                          "<Choice value=\"positive\"/><Choice value=\"negative\"/></Choices>"
                          "</View>";

typedef struct ws {
    char dir[256], path[512];
    an_store *s;
    an_project p;
} ws;

static void ws_open(ws *w)
{
    assert_int_equal(tl_workspace_open("preanno", w->dir, sizeof w->dir, w->path, sizeof w->path,
                                       &w->s),
                     0);
    an_err e;
    int64_t pid;
    assert_int_equal(an_store_project_create(w->s, "p", CFG, NULL, &pid, &e), 0);
    assert_int_equal(an_store_project_get(w->s, "p", &w->p, &e), 0);
}

static void ws_reload(ws *w)
{
    an_err e;
    an_project_clear(&w->p);
    assert_int_equal(an_store_project_get(w->s, "p", &w->p, &e), 0);
}

static void ws_close(ws *w)
{
    an_project_clear(&w->p);
    assert_int_equal(tl_workspace_close(w->dir, w->s), 0);
}

static int64_t add_task(ws *w, const json_t *data)
{
    char *text = an_json_text(data);
    an_task_in t = {.project_id = w->p.id, .data = text, .data_len = strlen(text)};
    an_hash(text, t.data_len, t.hash);
    int64_t id;
    an_err e;
    assert_int_equal(an_store_task_insert(w->s, &t, &id, &e), 0);
    assert_true(id > 0);
    free(text);
    return id;
}

static int64_t add_answer(ws *w, int64_t task, int label, bool gt, bool cancelled)
{
    json_t *r = json_pack("[{s:s,s:s,s:s,s:{s:[s]}}]", "from_name", "sentiment", "to_name", "text",
                          "type", "choices", "value", "choices", label ? "negative" : "positive");
    char *text = an_json_text(r);
    json_decref(r);
    an_label_ref lab = {"sentiment", label ? "negative" : "positive"};
    an_annotation_in a = {.task_id = task, .project_id = w->p.id, .result = text,
                          .lead_time = NAN, .ground_truth = gt, .cancelled = cancelled,
                          .labels = &lab, .n_labels = 1};
    int64_t id;
    an_err e;
    assert_int_equal(an_store_annotation_insert(w->s, &a, &id, &e), 0);
    free(text);
    return id;
}

/* n tasks with generated texts; the first n_ann get an annotation with the right label
 * (their annotation ids into ann when not NULL). */
static void fill(ws *w, size_t n, size_t n_ann, int64_t *ann)
{
    an_err e;
    pd_rng r = {42};
    assert_int_equal(an_store_begin(w->s, &e), 0);
    for (size_t i = 0; i < n; i++) {
        int label = (int)pd_next(&r, 2);
        json_t *d = pd_data(&r, 0, label, 0);
        /* Generated texts repeat; a number keeps every task apart. */
        char text[600];
        snprintf(text, sizeof text, "%s #%zu", an_json_str(d, "text"), i);
        json_object_set_new(d, "text", json_string(text));
        int64_t t = add_task(w, d);
        json_decref(d);
        if (i < n_ann) {
            int64_t a = add_answer(w, t, label, false, false);
            if (ann) ann[i] = a;
        }
    }
    assert_int_equal(an_store_commit(w->s, &e), 0);
    ws_reload(w);
}

static void test_model_versions(void **state)
{
    ws w;
    ws_open(&w);
    an_err e;
    char v[AN_MODEL_VERSION_MAX];
    int64_t id;
    an_model_in m = {.project_id = w.p.id, .name = "textcls", .control = "sentiment",
                     .params = "{\"a\":1}", .blob = "abc", .blob_len = 3};
    assert_int_equal(an_store_model_add(w.s, &m, &id, v, &e), 0);
    assert_string_equal(v, "textcls-1");
    m.blob = "defg";
    m.blob_len = 4;
    assert_int_equal(an_store_model_add(w.s, &m, &id, v, &e), 0);
    assert_string_equal(v, "textcls-2");
    an_model_in f = {.project_id = w.p.id, .name = "fewshot"};
    assert_int_equal(an_store_model_add(w.s, &f, &id, v, &e), 0);
    assert_string_equal(v, "fewshot-1");
    an_model_in bad = {.project_id = w.p.id, .name = "no spaces"};
    assert_int_equal(an_store_model_add(w.s, &bad, &id, v, &e), -AN_EINVAL);
    an_model_in orphan = {.project_id = 999, .name = "textcls"};
    assert_int_equal(an_store_model_add(w.s, &orphan, &id, v, &e), -AN_ENOTFOUND);

    an_model got;
    assert_int_equal(an_store_model_get(w.s, w.p.id, "textcls", NULL, &got, &e), 0);
    assert_string_equal(got.version, "textcls-2");
    assert_int_equal(got.blob_len, 4);
    assert_memory_equal(got.blob, "defg", 4);
    assert_string_equal(got.control, "sentiment");
    assert_string_equal(got.params, "{\"a\":1}");
    an_model_clear(&got);
    assert_int_equal(an_store_model_get(w.s, w.p.id, "textcls", "textcls-1", &got, &e), 0);
    assert_memory_equal(got.blob, "abc", 3);
    an_model_clear(&got);
    assert_int_equal(an_store_model_get(w.s, w.p.id, "textcls", "textcls-9", &got, &e),
                     -AN_ENOTFOUND);
    assert_int_equal(an_store_model_get(w.s, w.p.id, "other", NULL, &got, &e), -AN_ENOTFOUND);
    assert_non_null(strstr(e.msg, "annot train"));

    /* The prediction lookup. */
    fill(&w, 2, 0, NULL);
    an_prediction_in p = {.task_id = 1, .project_id = w.p.id, .model_version = "textcls-1",
                          .score = 0.5, .result = "[]"};
    assert_int_equal(an_store_begin(w.s, &e), 0);
    assert_int_equal(an_store_prediction_insert(w.s, &p, &id, &e), 0);
    bool have;
    assert_int_equal(an_store_prediction_exists(w.s, 1, "textcls-1", &have, &e), 0);
    assert_true(have); /* its own insert, inside the transaction */
    assert_int_equal(an_store_commit(w.s, &e), 0);
    assert_int_equal(an_store_prediction_exists(w.s, 1, "textcls-2", &have, &e), 0);
    assert_false(have);
    assert_int_equal(an_store_prediction_exists(w.s, 2, "textcls-1", &have, &e), 0);
    assert_false(have);
    ws_close(&w);
}

static void test_train_accepted(void **state)
{
    ws w;
    ws_open(&w);
    an_err e;
    int64_t ann[60];
    fill(&w, 80, 60, ann);
    an_train_opts o = {.model = "textcls", .control = "sentiment"};
    an_train_report r;
    /* No reviews: every non-cancelled annotation. */
    assert_int_equal(an_preanno_train(w.s, &w.p, &o, &r, &e), 0);
    assert_string_equal(r.version, "textcls-1");
    assert_string_equal(r.source, "annotations");
    assert_int_equal(r.tasks, 80);
    assert_int_equal(r.examples, 60);
    an_train_report_free(&r);

    /* With reviews: accepted (latest review) and ground truth only. 30 accepted, 5 of them
     * later rejected, 10 rejected, one task with a gold answer and a cancelled one. */
    int64_t rev;
    assert_int_equal(an_store_user_add(w.s, "rev", AN_ROLE_REVIEWER, &rev, &e), 0);
    for (int i = 0; i < 30; i++)
        assert_int_equal(an_store_review_add(w.s, ann[i], rev, true, "", NULL, &e), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(an_store_review_add(w.s, ann[i], rev, false, "", NULL, &e), 0);
    for (int i = 30; i < 40; i++)
        assert_int_equal(an_store_review_add(w.s, ann[i], rev, false, "", NULL, &e), 0);
    assert_int_equal(an_store_begin(w.s, &e), 0);
    add_answer(&w, 75, 0, true, false);
    add_answer(&w, 76, 1, false, true);
    assert_int_equal(an_store_commit(w.s, &e), 0);
    assert_int_equal(an_preanno_train(w.s, &w.p, &o, &r, &e), 0);
    assert_string_equal(r.version, "textcls-2");
    assert_string_equal(r.source, "reviews");
    assert_int_equal(r.examples, 25 + 1);
    assert_string_equal(an_json_str(r.metrics, "source"), "reviews");
    an_train_report_free(&r);

    /* Errors: unknown model, unknown control, too few for fewshot is fine here. */
    o.model = "nope";
    assert_int_equal(an_preanno_train(w.s, &w.p, &o, &r, &e), -AN_ENOTFOUND);
    o.model = "fewshot";
    o.control = "missing";
    assert_int_equal(an_preanno_train(w.s, &w.p, &o, &r, &e), -AN_ENOTFOUND);
    assert_string_equal(e.where, "control");
    ws_close(&w);
}

typedef struct fails {
    int n;
    int64_t last;
} fails;

static void on_fail(void *ud, int64_t task, const an_err *e)
{
    fails *f = ud;
    f->n++;
    f->last = task;
}

static int64_t count_predictions(ws *w, const char *version)
{
    an_task_iter *it;
    an_err e;
    assert_int_equal(an_store_tasks_open(w->s, w->p.id, AN_ITER_PREDICTIONS, &it, &e), 0);
    const an_task_row *t;
    int64_t n = 0;
    while (an_task_iter_next(it, &t, &e) == 1) {
        int64_t here = 0;
        for (size_t k = 0; k < t->n_predictions; k++)
            if (strcmp(t->predictions[k].model_version, version) == 0) {
                here++;
                assert_true(t->predictions[k].score >= 0 && t->predictions[k].score <= 1);
            }
        assert_true(here <= 1);
        n += here;
    }
    an_task_iter_close(it);
    return n;
}

static void test_predict_run(void **state)
{
    ws w;
    ws_open(&w);
    an_err e;
    fill(&w, 500, 60, NULL);
    /* A task the model cannot read (its text is a number). */
    assert_int_equal(an_store_begin(w.s, &e), 0);
    json_t *bad = json_pack("{s:i}", "text", 7);
    int64_t bad_id = add_task(&w, bad);
    json_decref(bad);
    assert_int_equal(an_store_commit(w.s, &e), 0);
    ws_reload(&w);

    an_train_opts to = {.model = "textcls", .control = "sentiment"};
    an_train_report r;
    assert_int_equal(an_preanno_train(w.s, &w.p, &to, &r, &e), 0);
    an_train_report_free(&r);

    fails f = {0};
    an_predict_opts o = {.model = "textcls", .location = w.path, .workers = 3, .batch_size = 16,
                         .tx_size = 50, .only_unlabeled = true, .on_failure = on_fail, .ud = &f};
    an_predict_summary s;
    assert_int_equal(an_predict_run(w.s, &w.p, &o, &s, &e), 0);
    assert_string_equal(s.model_version, "textcls-1");
    assert_int_equal(s.tasks, 501);
    assert_int_equal(s.skipped_labeled, 60);
    assert_int_equal(s.predicted, 440);
    assert_int_equal(s.failed, 1);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.last, bad_id);
    assert_int_equal(s.n_failures, 1);
    assert_int_equal(s.failures[0].task_id, bad_id);
    assert_string_equal(s.failures[0].err.where, "data.text");
    an_predict_summary_free(&s);
    assert_int_equal(count_predictions(&w, "textcls-1"), 440);

    /* All tasks now: only the 60 labelled ones are new; a second rerun predicts nothing. */
    o.only_unlabeled = false;
    assert_int_equal(an_predict_run(w.s, &w.p, &o, &s, &e), 0);
    assert_int_equal(s.predicted, 60);
    assert_int_equal(s.skipped_existing, 440);
    an_predict_summary_free(&s);
    assert_int_equal(an_predict_run(w.s, &w.p, &o, &s, &e), 0);
    assert_int_equal(s.predicted, 0);
    assert_int_equal(s.skipped_existing, 500);
    assert_int_equal(s.failed, 1);
    an_predict_summary_free(&s);
    assert_int_equal(count_predictions(&w, "textcls-1"), 500);
    ws_reload(&w);
    assert_int_equal(w.p.prediction_count, 500);

    /* A new version predicts again; --min-score 1 stores none of them. */
    assert_int_equal(an_preanno_train(w.s, &w.p, &to, &r, &e), 0);
    an_train_report_free(&r);
    o.min_score = 1;
    o.on_failure = NULL;
    assert_int_equal(an_predict_run(w.s, &w.p, &o, &s, &e), 0);
    assert_string_equal(s.model_version, "textcls-2");
    assert_int_equal(s.predicted + s.below_min_score, 500);
    assert_true(s.below_min_score > 400);
    an_predict_summary_free(&s);

    /* An older version by name; bad options; unknown model. */
    o.min_score = 0;
    o.version = "textcls-1";
    assert_int_equal(an_predict_run(w.s, &w.p, &o, &s, &e), 0);
    assert_int_equal(s.predicted, 0);
    an_predict_summary_free(&s);
    o.version = "textcls-7";
    assert_int_equal(an_predict_run(w.s, &w.p, &o, &s, &e), -AN_ENOTFOUND);
    an_predict_summary_free(&s);
    o.version = NULL;
    o.workers = 0;
    assert_int_equal(an_predict_run(w.s, &w.p, &o, &s, &e), -AN_EINVAL);
    o.workers = 1;
    o.model = "fewshot";
    assert_int_equal(an_predict_run(w.s, &w.p, &o, &s, &e), -AN_ENOTFOUND);
    an_predict_summary_free(&s);
    ws_close(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_versions),
        cmocka_unit_test(test_train_accepted),
        cmocka_unit_test(test_predict_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
