/* The QC report (qc/report.h) on a small workspace built here, against hand-computed counts:
 * the confusion matrices against the consensus, gold per annotator, disagreement by label,
 * findings by rule, annotator and label, and the per-day trends; and report.html: escaped
 * names, inline SVG, no scripts or external URLs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/hash.h"
#include "base/json.h"
#include "qc/report.h"
#include "store/qc.h"
#include "testlib.h"

static const char CONFIG[] =
    "<View><Text name=\"text\" value=\"$text\"/>"
    "<Choices name=\"s\" toName=\"text\"><Choice value=\"pos\"/><Choice value=\"neg\"/></Choices>"
    "<Labels name=\"ner\" toName=\"text\"><Label value=\"PER\"/><Label value=\"LOC\"/></Labels>"
    "</View>";

#define CHOICE(c)                                                                                  \
    "{\"from_name\":\"s\",\"to_name\":\"text\",\"type\":\"choices\",\"value\":{\"choices\":[\"" c  \
    "\"]}}"
#define LOC                                                                                        \
    "{\"from_name\":\"ner\",\"to_name\":\"text\",\"type\":\"labels\",\"value\":{\"start\":0,"      \
    "\"end\":3,\"labels\":[\"LOC\"]}}"
#define POS "[" CHOICE("pos") "]"
#define NEG "[" CHOICE("neg") "]"

#define D1 "2026-03-01T10:00:00.000000Z"
#define D2 "2026-03-02T10:00:00.000000Z"
#define D3 "2026-03-03T10:00:00.000000Z"

typedef struct fx {
    char dir[256], path[512];
    an_store *s;
    an_project p;
    int64_t a, b, c, g;
    int64_t task[4];
    int64_t a_t1, c_t3, c_t4;
} fx;

static int64_t add_task(fx *f, const char *text)
{
    char data[128];
    snprintf(data, sizeof data, "{\"text\":\"%s\"}", text);
    an_task_in t = {.project_id = f->p.id, .data = data, .data_len = strlen(data)};
    an_hash(data, strlen(data), t.hash);
    int64_t id = 0;
    an_err e;
    assert_int_equal(an_store_task_insert(f->s, &t, &id, &e), 0);
    return id;
}

static int64_t annotate(fx *f, int64_t task, int64_t user, const char *result, const char *at,
                        bool gold, bool cancelled)
{
    an_annotation_in a = {.task_id = task,
                          .project_id = f->p.id,
                          .annotator_id = user,
                          .result = result,
                          .lead_time = 5,
                          .ground_truth = gold,
                          .cancelled = cancelled,
                          .created_at = at,
                          .updated_at = at};
    int64_t id = 0;
    an_err e;
    int rc = an_store_annotation_insert(f->s, &a, &id, &e);
    if (rc) fail_msg("insert: %s: %s", e.where, e.msg);
    return id;
}

/* Tasks (consensus by majority and by DS: pos, neg, pos, neg):
 *   T1 (day 1): a pos, b pos, c pos; gold pos
 *   T2: a pos (day 1, superseded), then a neg, b neg, c neg (day 2); c skipped it once (day 2)
 *   T3 (day 3): a pos, b pos, c neg; gold neg
 *   T4 (day 3): a neg, b neg, c pos and a LOC span */
static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    an_err e;
    int64_t pid = 0;
    if (tl_workspace_open("qcreport", f->dir, sizeof f->dir, f->path, sizeof f->path, &f->s) ||
        an_store_user_add(f->s, "a", AN_ROLE_ANNOTATOR, &f->a, &e) ||
        an_store_user_add(f->s, "b", AN_ROLE_ANNOTATOR, &f->b, &e) ||
        an_store_user_add(f->s, "<script>c</script>", AN_ROLE_ANNOTATOR, &f->c, &e) ||
        an_store_user_add(f->s, "gold", AN_ROLE_REVIEWER, &f->g, &e) ||
        an_store_project_create(f->s, "rep<ort>", CONFIG, NULL, &pid, &e) ||
        an_store_begin(f->s, &e))
        return -1;
    f->p.id = pid;
    for (int i = 0; i < 4; i++) {
        char text[16];
        snprintf(text, sizeof text, "t%d", i + 1);
        f->task[i] = add_task(f, text);
    }
    int64_t *t = f->task;
    f->a_t1 = annotate(f, t[0], f->a, POS, D1, false, false);
    annotate(f, t[0], f->b, POS, D1, false, false);
    annotate(f, t[0], f->c, POS, D1, false, false);
    annotate(f, t[0], f->g, POS, D1, true, false);
    annotate(f, t[1], f->a, POS, D1, false, false);
    annotate(f, t[1], f->a, NEG, D2, false, false);
    annotate(f, t[1], f->b, NEG, D2, false, false);
    annotate(f, t[1], f->c, "[]", D2, false, true);
    annotate(f, t[1], f->c, NEG, D2, false, false);
    annotate(f, t[2], f->a, POS, D3, false, false);
    annotate(f, t[2], f->b, POS, D3, false, false);
    f->c_t3 = annotate(f, t[2], f->c, NEG, D3, false, false);
    annotate(f, t[2], f->g, NEG, D3, true, false);
    annotate(f, t[3], f->a, NEG, D3, false, false);
    annotate(f, t[3], f->b, NEG, D3, false, false);
    f->c_t4 = annotate(f, t[3], f->c, "[" CHOICE("pos") "," LOC "]", D3, false, false);
    an_qc_finding_in fs[] = {
        {f->p.id, t[2], f->c_t3, f->c, "r1", "warning", "result[0].value.choices[0]", "m", "batch"},
        {f->p.id, t[3], f->c_t4, f->c, "r1", "warning", "result[1]", "m", "batch"},
        {f->p.id, t[0], f->a_t1, f->a, "r2", "error", "lead_time", "m", "submit"},
        {f->p.id, t[0], f->a_t1, f->a, "r1", "warning", "result", "m", "batch"},
    };
    if (an_store_qc_findings_add(f->s, fs, 4, &e) || an_store_commit(f->s, &e) ||
        an_store_project_get(f->s, "rep<ort>", &f->p, &e))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    an_project_clear(&f->p);
    int rc = tl_workspace_close(f->dir, f->s);
    free(f);
    return rc;
}

static json_t *build(fx *f, const char *control)
{
    an_report_opts o = {.control = control, .now = "2026-03-04T00:00:00.000000Z"};
    json_t *r = NULL;
    an_err e;
    int rc = an_report_build(f->s, &f->p, &o, &r, &e);
    if (rc) fail_msg("report: %s: %s", e.where, e.msg);
    return r;
}

/* The member at a JSON path written as "key.key[2].key". */
static json_t *at(json_t *j, const char *path)
{
    char key[64];
    const char *p = path;
    while (*p && j) {
        if (*p == '.') p++;
        if (*p == '[') {
            j = json_array_get(j, strtoul(p + 1, (char **)&p, 10));
            p++; /* ']' */
            continue;
        }
        size_t n = strcspn(p, ".[");
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        j = json_object_get(j, key);
        p += n;
    }
    return j;
}

static long long iv(json_t *j, const char *path)
{
    json_t *v = at(j, path);
    if (!json_is_integer(v)) fail_msg("%s is not an integer", path);
    return json_integer_value(v);
}

static double dv(json_t *j, const char *path)
{
    json_t *v = at(j, path);
    if (!json_is_number(v)) fail_msg("%s is not a number", path);
    return json_number_value(v);
}

static const char *sv(json_t *j, const char *path)
{
    const char *s = json_string_value(at(j, path));
    if (!s) fail_msg("%s is not a string", path);
    return s;
}

/* The matrix at path as text "[[5,1],[1,5]]". */
static void assert_matrix(json_t *j, const char *path, const char *want)
{
    char *got = an_json_text(at(j, path));
    assert_string_equal(got, want);
    free(got);
}

static void test_summary_and_consensus(void **state)
{
    fx *f = *state;
    json_t *r = build(f, NULL);
    assert_int_equal(iv(r, "project.id"), f->p.id);
    assert_string_equal(sv(r, "project.name"), "rep<ort>");
    assert_int_equal(iv(r, "summary.tasks"), 4);
    assert_int_equal(iv(r, "summary.annotations"), 15);
    assert_int_equal(iv(r, "summary.cancelled"), 1);
    assert_int_equal(iv(r, "summary.annotators"), 4);
    assert_string_equal(sv(r, "summary.first"), D1);
    assert_string_equal(sv(r, "summary.last"), D3);
    assert_int_equal(iv(r, "summary.findings"), 4);

    /* One classifying control: s (the Labels control is not one). */
    assert_int_equal(json_array_size(at(r, "controls")), 1);
    json_t *c = at(r, "controls[0]");
    assert_string_equal(sv(c, "name"), "s");
    assert_int_equal(iv(c, "gold_tasks"), 2);
    assert_int_equal(iv(c, "consensus.labels"), 12);
    assert_int_equal(iv(c, "consensus.labelled_items"), 4);
    assert_int_equal(iv(c, "consensus.methods_differ"), 0);
    assert_matrix(c, "consensus.class_counts", "[2,2]");
    /* Rows: consensus pos, neg; columns: the answer. */
    assert_matrix(c, "confusion", "[[5,1],[1,5]]");
    /* Annotators in id order: a, b, c; the gold author is not a voter. */
    assert_int_equal(json_array_size(at(c, "annotators")), 3);
    assert_string_equal(sv(c, "annotators[2].name"), "<script>c</script>");
    assert_matrix(c, "annotators[0].confusion", "[[2,0],[0,2]]");
    assert_matrix(c, "annotators[2].confusion", "[[1,1],[1,1]]");
    assert_int_equal(iv(c, "annotators[0].compared"), 4);
    assert_true(dv(c, "annotators[0].agreement") == 1.0);
    assert_true(dv(c, "annotators[2].agreement") == 0.5);
    assert_true(dv(c, "annotators[0].ds_accuracy") > dv(c, "annotators[2].ds_accuracy"));
    /* Gold: T1 pos (all right), T3 neg (only c right). */
    assert_int_equal(iv(c, "annotators[0].gold.seen"), 2);
    assert_int_equal(iv(c, "annotators[0].gold.correct"), 1);
    assert_int_equal(iv(c, "annotators[2].gold.correct"), 2);
    /* Wilson 95 % for 1 of 2. */
    assert_true(fabs(dv(c, "annotators[0].gold.low") - 0.0945312) < 1e-6);
    assert_true(fabs(dv(c, "annotators[0].gold.high") - 0.9054688) < 1e-6);
    assert_string_equal(sv(c, "disagreement_by_label[0].label"), "pos");
    assert_int_equal(iv(c, "disagreement_by_label[0].answers"), 6);
    assert_int_equal(iv(c, "disagreement_by_label[0].disagree"), 1);
    assert_int_equal(iv(c, "disagreement_by_label[1].disagree"), 1);
    json_decref(r);
}

static void test_agreement_matrix(void **state)
{
    fx *f = *state;
    json_t *r = build(f, "s");
    json_t *ag = at(r, "agreement");
    json_t *s = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(ag, i, x)
    {
        if (strcmp(sv(x, "control"), "s") == 0) s = x;
    }
    assert_non_null(s);
    assert_string_equal(sv(s, "measure"), "cohen");
    /* a and b answered alike on all four tasks: kappa 1. a and c: 2 of 4 alike, balanced
     * answers: kappa 0. */
    bool ab = false, ac = false;
    json_array_foreach(at(s, "pairs"), i, x)
    {
        if (iv(x, "a") == f->a && iv(x, "b") == f->b) {
            ab = true;
            assert_int_equal(iv(x, "tasks"), 4);
            assert_true(fabs(dv(x, "value") - 1) < 1e-12);
        }
        if (iv(x, "a") == f->a && iv(x, "b") == f->c) {
            ac = true;
            assert_true(fabs(dv(x, "value")) < 1e-12);
            assert_string_equal(sv(x, "b_name"), "<script>c</script>");
        }
    }
    assert_true(ab && ac);
    json_decref(r);
}

static void test_findings_and_trends(void **state)
{
    fx *f = *state;
    json_t *r = build(f, NULL);
    /* By rule, most first: r1 3 warnings, r2 1 error. */
    assert_string_equal(sv(r, "errors.by_rule[0].rule"), "r1");
    assert_int_equal(iv(r, "errors.by_rule[0].warning"), 3);
    assert_int_equal(iv(r, "errors.by_rule[0].total"), 3);
    assert_string_equal(sv(r, "errors.by_rule[1].rule"), "r2");
    assert_int_equal(iv(r, "errors.by_rule[1].error"), 1);
    /* By annotator: a 2, c 2 (store order by id for equal counts). */
    assert_int_equal(iv(r, "errors.by_annotator[0].id"), f->a);
    assert_int_equal(iv(r, "errors.by_annotator[0].total"), 2);
    assert_int_equal(iv(r, "errors.by_annotator[1].id"), f->c);
    /* By label: the place's item — c's T3 choice "neg", c's T4 span LOC; a's two findings
     * point at no item ("lead_time", "result"): "—". */
    json_t *bl = at(r, "errors.by_label");
    assert_int_equal(json_array_size(bl), 3);
    assert_string_equal(sv(bl, "[0].label"), "\xe2\x80\x94");
    assert_true(json_is_null(at(bl, "[0].control")));
    assert_int_equal(iv(bl, "[0].findings"), 2);
    bool neg = false, loc = false;
    for (size_t i = 1; i < 3; i++) {
        json_t *x = json_array_get(bl, i);
        assert_int_equal(iv(x, "findings"), 1);
        neg |= strcmp(sv(x, "control"), "s") == 0 && strcmp(sv(x, "label"), "neg") == 0;
        loc |= strcmp(sv(x, "control"), "ner") == 0 && strcmp(sv(x, "label"), "LOC") == 0;
    }
    assert_true(neg && loc);

    /* Days: 5, 3 and 7 annotations (the skip is not one; the superseded one is); findings on
     * a's T1 annotation and on c's T3 and T4; consensus and gold over the latest answers. */
    assert_string_equal(sv(r, "trends.control"), "s");
    json_t *d = at(r, "trends.days");
    assert_int_equal(json_array_size(d), 3);
    assert_string_equal(sv(d, "[0].day"), "2026-03-01");
    assert_int_equal(iv(d, "[0].annotations"), 5);
    assert_int_equal(iv(d, "[0].with_findings"), 1);
    assert_int_equal(iv(d, "[0].consensus_compared"), 3);
    assert_int_equal(iv(d, "[0].consensus_agree"), 3);
    assert_int_equal(iv(d, "[0].gold_seen"), 3);
    assert_int_equal(iv(d, "[0].gold_correct"), 3);
    assert_string_equal(sv(d, "[1].day"), "2026-03-02");
    assert_int_equal(iv(d, "[1].annotations"), 3);
    assert_int_equal(iv(d, "[1].with_findings"), 0);
    assert_int_equal(iv(d, "[1].consensus_compared"), 3);
    assert_int_equal(iv(d, "[1].gold_seen"), 0);
    assert_true(json_is_null(at(d, "[1].gold_accuracy")));
    assert_int_equal(iv(d, "[2].annotations"), 7);
    assert_int_equal(iv(d, "[2].with_findings"), 2);
    assert_int_equal(iv(d, "[2].consensus_compared"), 6);
    assert_int_equal(iv(d, "[2].consensus_agree"), 4);
    assert_int_equal(iv(d, "[2].gold_seen"), 3);
    assert_int_equal(iv(d, "[2].gold_correct"), 1);
    assert_true(fabs(dv(d, "[2].findings_share") - 2.0 / 7) < 1e-12);
    json_decref(r);
}

static void test_control_errors(void **state)
{
    fx *f = *state;
    an_report_opts o = {.control = "ner"};
    json_t *r = NULL;
    an_err e;
    assert_int_equal(an_report_build(f->s, &f->p, &o, &r, &e), -AN_EINVAL);
    assert_null(r);
    assert_string_equal(e.where, "--control");
    assert_non_null(strstr(e.msg, "not a single-choice"));
    o.control = "nope";
    assert_int_equal(an_report_build(f->s, &f->p, &o, &r, &e), -AN_EINVAL);
    assert_non_null(strstr(e.msg, "no control \"nope\""));
}

static void test_html(void **state)
{
    fx *f = *state;
    json_t *r = build(f, NULL);
    an_buf b = AN_BUF_INIT;
    an_report_html(r, &b);
    json_decref(r);
    assert_non_null(b.p);
    assert_true(strncmp(b.p, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(b.p, "<svg"));
    assert_non_null(strstr(b.p, "<style>"));
    /* Names are user input: escaped everywhere, never markup. */
    assert_null(strstr(b.p, "<script"));
    assert_null(strstr(b.p, "<ort>"));
    assert_non_null(strstr(b.p, "&lt;script&gt;c&lt;/script&gt;"));
    assert_non_null(strstr(b.p, "rep&lt;ort&gt;"));
    /* Self-contained: no external URL (the SVG namespace is not used: inline SVG in HTML
     * needs none). */
    assert_null(strstr(b.p, "http://"));
    assert_null(strstr(b.p, "https://"));
    assert_null(strstr(b.p, "src="));
    an_buf_free(&b);

    /* A document with wrong types and hostile strings renders without trusting them. */
    json_t *bad = json_pack("{s:{s:s,s:s},s:[{s:i,s:[s],s:[[s]]}],s:s}", "project", "name",
                            "\"><img src=x>", "id", "x", "controls", "name", 5, "labels", "<i>",
                            "confusion", "z", "trends", "nope");
    an_report_html(bad, &b);
    json_decref(bad);
    assert_null(strstr(b.p, "<img"));
    assert_null(strstr(b.p, "<i>"));
    assert_non_null(strstr(b.p, "&quot;&gt;&lt;img src=x&gt;"));
    an_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_and_consensus),
        cmocka_unit_test(test_agreement_matrix),
        cmocka_unit_test(test_findings_and_trends),
        cmocka_unit_test(test_control_errors),
        cmocka_unit_test(test_html),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
