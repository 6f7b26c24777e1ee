/* The submit-time QC check: no rules, blocking and warning findings, the other annotators'
 * latest annotations and the predictions as references, a changed document picked up at
 * once, findings stored with the annotation. */
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
#include "service/qc_check.h"
#include "store/qc.h"
#include "testlib.h"

static const char CONFIG[] =
    "<View><Text name=\"text\" value=\"$text\"/>"
    "<Choices name=\"s\" toName=\"text\" required=\"true\"><Choice value=\"pos\"/>"
    "<Choice value=\"neg\"/></Choices>"
    "<Labels name=\"ner\" toName=\"text\"><Label value=\"PER\"/><Label value=\"LOC\"/></Labels>"
    "</View>";

#define POS "{\"from_name\":\"s\",\"to_name\":\"text\",\"type\":\"choices\",\"value\":{\"choices\":[\"pos\"]}}"
#define LOC "{\"from_name\":\"ner\",\"to_name\":\"text\",\"type\":\"labels\",\"value\":{\"start\":13,\"end\":18,\"labels\":[\"LOC\"]}}"

typedef struct fx {
    char dir[256], path[512];
    an_store *s;
    an_config *cfg;
    an_task task;
    int64_t project, a, b, c;
} fx;

static int64_t annotate(fx *f, int64_t user, const char *result, bool cancelled)
{
    an_annotation_in a = {.task_id = f->task.id, .project_id = f->project, .annotator_id = user,
                          .result = result, .lead_time = 10, .cancelled = cancelled};
    int64_t id = 0;
    an_err e;
    assert_int_equal(an_store_begin(f->s, &e), 0);
    assert_int_equal(an_store_annotation_insert(f->s, &a, &id, &e), 0);
    assert_int_equal(an_store_commit(f->s, &e), 0);
    return id;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    an_err e;
    if (tl_workspace_open("qccheck", f->dir, sizeof f->dir, f->path, sizeof f->path, &f->s) ||
        an_config_parse(CONFIG, strlen(CONFIG), &f->cfg, &e) ||
        an_store_user_add(f->s, "a", AN_ROLE_ANNOTATOR, &f->a, &e) ||
        an_store_user_add(f->s, "b", AN_ROLE_ANNOTATOR, &f->b, &e) ||
        an_store_user_add(f->s, "c", AN_ROLE_ANNOTATOR, &f->c, &e) ||
        an_store_project_create(f->s, "p", CONFIG, NULL, &f->project, &e))
        return -1;
    const char *data = "{\"text\":\"Ann lives in Paris\"}";
    an_task_in t = {.project_id = f->project, .data = data, .data_len = strlen(data)};
    an_hash(data, strlen(data), t.hash);
    int64_t tid = 0;
    if (an_store_begin(f->s, &e) || an_store_task_insert(f->s, &t, &tid, &e) ||
        an_store_commit(f->s, &e) || an_store_task_get(f->s, tid, &f->task, &e))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    an_task_clear(&f->task);
    an_config_free(f->cfg);
    int rc = tl_workspace_close(f->dir, f->s);
    free(f);
    return rc;
}

static void check(fx *f, int64_t user, const char *result, double lead, an_qc_verdict *v)
{
    an_err e;
    json_t *r = an_json_parse(result, strlen(result), "test", &e);
    assert_non_null(r);
    int rc = an_qc_check_submit(f->s, f->cfg, &f->task, user, r, lead, v, &e);
    if (rc) fail_msg("check failed: %s: %s", e.where, e.msg);
    json_decref(r);
}

static void save(fx *f, const char *doc)
{
    an_err e;
    int rc = an_qc_rules_save(f->s, f->project, doc, strlen(doc), f->a, &e);
    if (rc) fail_msg("save failed: %s: %s", e.where, e.msg);
}

static int count_one(void *ud, const an_qc_finding_row *r)
{
    (void)r;
    (*(int *)ud)++;
    return 0;
}

static void test_submit_check(void **state)
{
    fx *f = *state;
    an_qc_verdict v;
    /* No rules: nothing to say. */
    check(f, f->a, "[]", 0.1, &v);
    assert_int_equal(v.blocking.n + v.warnings.n, 0);
    an_err e;
    assert_int_equal(an_qc_verdict_error(&v, &e), 0);
    an_qc_verdict_clear(&v);

    save(f, "{\"rules\":[{\"id\":\"req\",\"type\":\"required\",\"severity\":\"error\"},"
            "{\"id\":\"fast\",\"type\":\"lead_time\",\"min_seconds\":2},"
            "{\"id\":\"omit\",\"type\":\"label_omission\",\"source\":\"consensus\"}]}");
    /* b's latest annotation and c's have LOC; b's earlier one and a cancelled one of c's
     * do not count. */
    annotate(f, f->b, "[" POS "]", false);
    annotate(f, f->b, "[" POS "," LOC "]", false);
    annotate(f, f->c, "[" POS "," LOC "]", false);
    annotate(f, f->c, "[]", true);
    check(f, f->a, "[]", 0.5, &v);
    assert_int_equal(v.blocking.n, 1);
    assert_string_equal(v.blocking.items[0].rule, "req");
    /* Quick, and lacks both "pos" and LOC, which both others used. */
    assert_int_equal(v.warnings.n, 3);
    assert_string_equal(v.warnings.items[0].rule, "fast");
    assert_string_equal(v.warnings.items[1].rule, "omit");
    assert_string_equal(v.warnings.items[2].rule, "omit");
    assert_non_null(strstr(v.warnings.items[2].message, "\"LOC\""));
    assert_non_null(strstr(v.warnings.items[2].message, "2 of 2"));
    assert_int_equal(an_qc_verdict_error(&v, &e), -AN_EINVAL);
    assert_string_equal(e.where, "result");
    assert_non_null(strstr(e.msg, "rule \"req\""));
    an_qc_verdict_clear(&v);

    /* A good annotation; then store the warnings of a quick one with its annotation. */
    check(f, f->a, "[" POS "," LOC "]", 30, &v);
    assert_int_equal(v.blocking.n + v.warnings.n, 0);
    an_qc_verdict_clear(&v);
    check(f, f->a, "[" POS "," LOC "]", 1, &v);
    assert_int_equal(v.blocking.n, 0);
    assert_int_equal(v.warnings.n, 1);
    int64_t id = annotate(f, f->a, "[" POS "," LOC "]", false);
    assert_int_equal(an_store_begin(f->s, &e), 0);
    assert_int_equal(an_qc_store_findings(f->s, &f->task, id, f->a, &v.warnings,
                                          AN_QC_ORIGIN_SUBMIT, &e),
                     0);
    assert_int_equal(an_store_commit(f->s, &e), 0);
    an_qc_verdict_clear(&v);

    /* The batch: every latest annotation (a's stored one took 10 s) passes; the submit
     * finding stays. */
    an_qc_summary sum;
    assert_int_equal(an_qc_run_project(f->s, f->project, NULL, &sum, &e), 0);
    assert_int_equal(sum.tasks, 1);
    assert_int_equal(sum.annotations, 3);
    assert_int_equal(sum.errors + sum.warnings, 0);
    assert_int_equal(sum.n_rules, 3);
    an_qc_summary_clear(&sum);
    an_qc_filter flt = {.project_id = f->project, .origin = AN_QC_ORIGIN_SUBMIT};
    int n = 0;
    assert_int_equal(an_store_qc_findings_list(f->s, &flt, count_one, &n, &e), 0);
    assert_int_equal(n, 1);

    /* A changed document takes effect at once (the cache is keyed by its content). */
    save(f, "{\"rules\":[{\"id\":\"fast2\",\"type\":\"lead_time\",\"min_seconds\":60,"
            "\"severity\":\"error\"}]}");
    check(f, f->a, "[" POS "]", 30, &v);
    assert_int_equal(v.blocking.n, 1);
    assert_string_equal(v.blocking.items[0].rule, "fast2");
    an_qc_verdict_clear(&v);
    /* A bad document is refused and the good one stays. */
    assert_int_equal(an_qc_rules_save(f->s, f->project, "{\"rules\":[{\"id\":\"x\"}]}", 22,
                                      f->a, &e),
                     -AN_EINVAL);
    assert_string_equal(e.where, "rules[0].type");
    check(f, f->a, "[" POS "]", 30, &v);
    assert_int_equal(v.blocking.n, 1);
    an_qc_verdict_clear(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_submit_check, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
