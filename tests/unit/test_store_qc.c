/* The store's QC subject: rules documents, findings inside and outside a caller's
 * transaction, deletion by origin, filtered keyset listing and counts. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/hash.h"
#include "store/qc.h"
#include "store/store.h"
#include "testlib.h"

typedef struct fx {
    char dir[256], path[512];
    an_store *s;
    int64_t project, other_project, task, task2, ann, ann2, alice, bob;
} fx;

static int64_t add_task(an_store *s, int64_t project, const char *data)
{
    an_task_in t = {.project_id = project, .data = data, .data_len = strlen(data)};
    an_hash(data, strlen(data), t.hash);
    int64_t id = 0;
    an_err e;
    assert_int_equal(an_store_task_insert(s, &t, &id, &e), 0);
    return id;
}

static int64_t add_annotation(an_store *s, int64_t project, int64_t task, int64_t user)
{
    an_annotation_in a = {.task_id = task, .project_id = project, .annotator_id = user,
                          .result = "[]", .lead_time = NAN};
    int64_t id = 0;
    an_err e;
    assert_int_equal(an_store_annotation_insert(s, &a, &id, &e), 0);
    return id;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (tl_workspace_open("storeqc", f->dir, sizeof f->dir, f->path, sizeof f->path, &f->s))
        return -1;
    an_err e;
    if (an_store_user_add(f->s, "alice", AN_ROLE_ANNOTATOR, &f->alice, &e) ||
        an_store_user_add(f->s, "bob", AN_ROLE_ANNOTATOR, &f->bob, &e) ||
        an_store_project_create(f->s, "p", "<View/>", NULL, &f->project, &e) ||
        an_store_project_create(f->s, "q", "<View/>", NULL, &f->other_project, &e))
        return -1;
    if (an_store_begin(f->s, &e)) return -1;
    f->task = add_task(f->s, f->project, "{\"text\":\"a\"}");
    f->task2 = add_task(f->s, f->project, "{\"text\":\"b\"}");
    f->ann = add_annotation(f->s, f->project, f->task, f->alice);
    f->ann2 = add_annotation(f->s, f->project, f->task2, f->bob);
    if (an_store_commit(f->s, &e)) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    int rc = tl_workspace_close(f->dir, f->s);
    free(f);
    return rc;
}

static void test_rules_doc(void **state)
{
    fx *f = *state;
    an_err e;
    char *doc = NULL, *at = NULL;
    assert_int_equal(an_store_qc_rules_get(f->s, f->project, &doc, &at, &e), 0);
    assert_null(doc);
    assert_null(at);
    assert_int_equal(an_store_qc_rules_set(f->s, f->project, "{\"rules\":[]}", &e), 0);
    assert_int_equal(an_store_qc_rules_get(f->s, f->project, &doc, &at, &e), 0);
    assert_string_equal(doc, "{\"rules\":[]}");
    assert_non_null(at);
    free(doc);
    free(at);
    /* Replace, inside a caller's transaction that rolls back: the old one stays. */
    assert_int_equal(an_store_begin(f->s, &e), 0);
    assert_int_equal(an_store_qc_rules_set(f->s, f->project, "{\"rules\":[1]}", &e), 0);
    an_store_rollback(f->s);
    assert_int_equal(an_store_qc_rules_get(f->s, f->project, &doc, NULL, &e), 0);
    assert_string_equal(doc, "{\"rules\":[]}");
    free(doc);
    assert_int_equal(an_store_qc_rules_set(f->s, f->project, "{\"rules\":[2]}", &e), 0);
    assert_int_equal(an_store_qc_rules_get(f->s, f->project, &doc, NULL, &e), 0);
    assert_string_equal(doc, "{\"rules\":[2]}");
    free(doc);
    /* Removal, and an unknown project. */
    assert_int_equal(an_store_qc_rules_set(f->s, f->project, NULL, &e), 0);
    assert_int_equal(an_store_qc_rules_get(f->s, f->project, &doc, NULL, &e), 0);
    assert_null(doc);
    assert_int_equal(an_store_qc_rules_set(f->s, 999, "{}", &e), -AN_ENOTFOUND);
}

typedef struct collect {
    int64_t ids[64];
    char rules[64][16];
    int64_t annotators[64];
    size_t n;
} collect;

static int on_row(void *ud, const an_qc_finding_row *r)
{
    collect *c = ud;
    if (c->n < 64) {
        c->ids[c->n] = r->id;
        snprintf(c->rules[c->n], sizeof c->rules[0], "%s", r->rule);
        c->annotators[c->n] = r->annotator_id;
        c->n++;
    }
    return 0;
}

static size_t list(fx *f, an_qc_filter flt, collect *c)
{
    memset(c, 0, sizeof *c);
    an_err e;
    flt.project_id = flt.project_id ? flt.project_id : f->project;
    assert_int_equal(an_store_qc_findings_list(f->s, &flt, on_row, c, &e), 0);
    return c->n;
}

typedef struct tally {
    char text[512];
} tally;

static int on_rule_count(void *ud, const char *rule, const char *sev, int64_t n)
{
    tally *t = ud;
    size_t len = strlen(t->text);
    snprintf(t->text + len, sizeof t->text - len, "%s/%s=%lld;", rule, sev, (long long)n);
    return 0;
}

static int on_annotator_count(void *ud, int64_t who, const char *sev, int64_t n)
{
    tally *t = ud;
    size_t len = strlen(t->text);
    snprintf(t->text + len, sizeof t->text - len, "%lld/%s=%lld;", (long long)who, sev,
             (long long)n);
    return 0;
}

static void test_findings(void **state)
{
    fx *f = *state;
    an_err e;
    an_qc_finding_in in[] = {
        {f->project, f->task, f->ann, f->alice, "fast", "warning", "lead_time", "quick",
         AN_QC_ORIGIN_SUBMIT},
        {f->project, f->task, f->ann, f->alice, "boxes", "error", "result[0].value.x", "out",
         AN_QC_ORIGIN_BATCH},
        {f->project, f->task2, f->ann2, f->bob, "fast", "warning", "lead_time", "quick",
         AN_QC_ORIGIN_BATCH},
        {f->project, f->task2, 0, 0, "omit", "warning", "result", "lacks", AN_QC_ORIGIN_BATCH},
    };
    /* Outside a transaction: their own. */
    assert_int_equal(an_store_qc_findings_add(f->s, in, 4, &e), 0);
    collect c;
    assert_int_equal(list(f, (an_qc_filter){0}, &c), 4);
    assert_int_equal(list(f, (an_qc_filter){.rule = "fast"}, &c), 2);
    assert_int_equal(list(f, (an_qc_filter){.severity = "error"}, &c), 1);
    assert_string_equal(c.rules[0], "boxes");
    assert_int_equal(list(f, (an_qc_filter){.annotator_id = f->bob}, &c), 1);
    assert_int_equal(list(f, (an_qc_filter){.task_id = f->task2}, &c), 2);
    assert_int_equal(list(f, (an_qc_filter){.annotation_id = f->ann}, &c), 2);
    assert_int_equal(list(f, (an_qc_filter){.origin = AN_QC_ORIGIN_SUBMIT}, &c), 1);
    assert_int_equal(list(f, (an_qc_filter){.project_id = f->other_project}, &c), 0);
    /* Keyset paging: two pages of two. */
    assert_int_equal(list(f, (an_qc_filter){.limit = 2}, &c), 2);
    int64_t last = c.ids[1];
    assert_int_equal(list(f, (an_qc_filter){.limit = 2, .after_id = last}, &c), 2);
    assert_true(c.ids[0] > last);
    assert_int_equal(list(f, (an_qc_filter){.limit = 2, .after_id = c.ids[1]}, &c), 0);
    assert_int_equal(c.annotators[0], 0);

    tally t = {""};
    assert_int_equal(an_store_qc_counts_by_rule(f->s, f->project, NULL, on_rule_count, &t, &e), 0);
    assert_string_equal(t.text, "boxes/error=1;fast/warning=2;omit/warning=1;");
    t.text[0] = '\0';
    char want[128];
    snprintf(want, sizeof want, "0/warning=1;%lld/error=1;%lld/warning=1;%lld/warning=1;",
             (long long)f->alice, (long long)f->alice, (long long)f->bob);
    assert_int_equal(
        an_store_qc_counts_by_annotator(f->s, f->project, NULL, on_annotator_count, &t, &e), 0);
    assert_string_equal(t.text, want);
    t.text[0] = '\0';
    assert_int_equal(an_store_qc_counts_by_rule(f->s, f->project, AN_QC_ORIGIN_SUBMIT,
                                                on_rule_count, &t, &e),
                     0);
    assert_string_equal(t.text, "fast/warning=1;");

    /* Inside a caller's transaction: they go with it. */
    assert_int_equal(an_store_begin(f->s, &e), 0);
    assert_int_equal(an_store_qc_findings_add(f->s, in, 1, &e), 0);
    an_store_rollback(f->s);
    assert_int_equal(list(f, (an_qc_filter){0}, &c), 4);

    /* Bad input names the place; unknown objects are refused, nothing half-written. */
    an_qc_finding_in bad[2] = {in[0], in[0]};
    bad[1].severity = "fatal";
    assert_int_equal(an_store_qc_findings_add(f->s, bad, 2, &e), -AN_EINVAL);
    assert_string_equal(e.where, "findings[1].severity");
    bad[1] = in[0];
    bad[1].annotation_id = 9999;
    assert_int_equal(an_store_qc_findings_add(f->s, bad, 2, &e), -AN_ENOTFOUND);
    assert_string_equal(e.where, "findings[1]");
    assert_int_equal(list(f, (an_qc_filter){0}, &c), 4);

    /* Replacing the batch findings leaves the submit ones. */
    int64_t deleted = 0;
    assert_int_equal(an_store_qc_findings_delete(f->s, f->project, AN_QC_ORIGIN_BATCH, &deleted, &e),
                     0);
    assert_int_equal(deleted, 3);
    assert_int_equal(list(f, (an_qc_filter){0}, &c), 1);
    assert_string_equal(c.rules[0], "fast");
    /* Deleting the annotation takes its findings along. */
    assert_int_equal(an_store_begin(f->s, &e), 0);
    assert_int_equal(an_store_annotation_delete(f->s, f->ann, &e), 0);
    assert_int_equal(an_store_commit(f->s, &e), 0);
    assert_int_equal(list(f, (an_qc_filter){0}, &c), 0);
    assert_int_equal(an_store_qc_findings_add(f->s, &in[2], 1, &e), 0);
    assert_int_equal(an_store_qc_findings_delete_annotation(f->s, f->ann2, NULL, &e), 0);
    assert_int_equal(list(f, (an_qc_filter){0}, &c), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rules_doc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_findings, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
