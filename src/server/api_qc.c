/* Quality control over HTTP: a project's rules document, its findings, and a batch run.
 * Thin adapters over service/qc_check.h and store/qc.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "server/api.h"
#include "service/qc_check.h"
#include "store/qc.h"

#define PAGE_MAX 1000

/* The stored document as an answer: {"rules": [...], "updated_at": text or null}. */
static int rules_respond(an_http_resp *resp, an_store *s, int64_t project_id)
{
    an_err e;
    an_err_clear(&e);
    char *doc = NULL, *at = NULL;
    if (an_store_qc_rules_get(s, project_id, &doc, &at, &e) < 0) return api_fail(resp, &e, 0);
    json_t *j = doc ? json_loads(doc, 0, NULL) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        j = json_pack("{s:[]}", "rules");
    }
    json_object_set_new(j, "updated_at", at ? json_string(at) : json_null());
    free(doc);
    free(at);
    an_http_json(resp, 200, j);
    return 0;
}

int api_qc_rules_get(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_VIEW_PROJECT, &p)) return 0;
    an_project_clear(&p);
    return rules_respond(resp, s, id);
}

int api_qc_rules_put(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_MANAGE_PROJECT, &p)) return 0;
    an_project_clear(&p);
    json_t *body = api_body_object(req, resp);
    if (!body) return 0;
    /* What GET answers can be sent back as it is. */
    json_object_del(body, "updated_at");
    char *text = an_json_text(body);
    json_decref(body);
    an_err e;
    an_err_clear(&e);
    int rc = an_qc_rules_save(s, id, text, strlen(text), api_me(req)->id, &e);
    free(text);
    if (rc < 0) return api_fail(resp, &e, 0);
    return rules_respond(resp, s, id);
}

typedef struct find_ctx {
    json_t *list;
    int64_t last;
} find_ctx;

static int add_finding(void *ud, const an_qc_finding_row *f)
{
    find_ctx *c = ud;
    json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)f->id, "task",
                          (json_int_t)f->task_id, "rule", f->rule, "severity", f->severity,
                          "place", f->place, "message", f->message, "origin", f->origin,
                          "created_at", f->created_at);
    json_object_set_new(j, "annotation",
                        f->annotation_id ? json_integer(f->annotation_id) : json_null());
    json_object_set_new(j, "annotator",
                        f->annotator_id ? json_integer(f->annotator_id) : json_null());
    json_array_append_new(c->list, j);
    c->last = f->id;
    return 0;
}

int api_qc_findings(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_VIEW_PROJECT, &p)) return 0;
    an_project_clear(&p);
    const an_user *me = api_me(req);
    an_err e;
    an_err_clear(&e);
    bool member = false;
    if (an_store_is_member(s, id, me->id, &member, &e) < 0) return api_fail(resp, &e, 0);
    an_qc_filter f = {.project_id = id,
                      .rule = an_http_query(req, "rule"),
                      .severity = an_http_query(req, "severity"),
                      .origin = an_http_query(req, "origin")};
    long task = api_query_long(req, "task", 0, 0x7fffffffL);
    long ann = api_query_long(req, "annotation", 0, 0x7fffffffL);
    long after = api_query_long(req, "after", 0, 0x7fffffffL);
    long size = api_query_long(req, "page_size", 100, PAGE_MAX);
    if (task < 0 || ann < 0 || after < 0 || size < 0) {
        an_http_error(resp, 400, "invalid",
                      "task, annotation and after are ids (whole numbers from 1); page_size is "
                      "1..1000",
                      task < 0 ? "task" : ann < 0 ? "annotation" : after < 0 ? "after" : "page_size");
        return 0;
    }
    f.task_id = task;
    f.annotation_id = ann;
    f.after_id = after;
    f.limit = (int)size;
    const char *who = an_http_query(req, "annotator");
    if (who && *who) {
        an_user u = {0};
        int rc = an_store_user_get(s, who, &u, &e);
        f.annotator_id = u.id;
        an_user_clear(&u);
        if (rc < 0) {
            an_http_error(resp, 400, "invalid", "no such annotator; give a user id or name",
                          "annotator");
            return 0;
        }
    }
    /* Annotators see only what the rules found in their own work. */
    if (!an_can(me, AN_ACT_REVIEW, member)) f.annotator_id = me->id;
    find_ctx c = {.list = json_array()};
    if (an_store_qc_findings_list(s, &f, add_finding, &c, &e) < 0) {
        json_decref(c.list);
        return api_fail(resp, &e, 0);
    }
    bool more = json_array_size(c.list) == (size_t)size;
    an_http_json(resp, 200,
                 json_pack("{s:o,s:o}", "findings", c.list, "next",
                           more ? json_integer(c.last) : json_null()));
    return 0;
}

int api_qc_run(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_MANAGE_PROJECT, &p)) return 0;
    an_project_clear(&p);
    an_err e;
    an_err_clear(&e);
    an_qc_summary sum;
    /* Runs inside the request for now (docs/api.md says so): the read streams, and the
     * findings are written in one short transaction at the end. */
    if (an_qc_run_project(s, id, NULL, &sum, &e) < 0) {
        an_qc_summary_clear(&sum);
        return api_fail(resp, &e, 0);
    }
    json_t *rules = json_array();
    for (size_t i = 0; i < sum.n_rules; i++)
        json_array_append_new(rules,
                              json_pack("{s:s,s:s,s:s,s:I}", "rule", sum.rules[i].rule, "type",
                                        sum.rules[i].type, "severity",
                                        an_qc_severity_name(sum.rules[i].severity), "findings",
                                        (json_int_t)sum.rules[i].findings));
    json_t *out = json_pack("{s:I,s:I,s:I,s:I,s:I,s:o}", "project", (json_int_t)id, "tasks",
                            (json_int_t)sum.tasks, "annotations", (json_int_t)sum.annotations,
                            "errors", (json_int_t)sum.errors, "warnings",
                            (json_int_t)sum.warnings, "rules", rules);
    an_qc_summary_clear(&sum);
    an_http_json(resp, 200, out);
    return 0;
}
