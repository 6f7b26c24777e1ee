/* Annotations and predictions: every result is validated against the project's labeling
 * config and refused with 422 naming the field (service/annotate.h does the work). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "server/api.h"
#include "service/annotate.h"

/* Label Studio's annotation shape. parsed, when not NULL, is a->result already parsed (a
 * reference is taken): answering a new annotation then costs no second parse of its result. */
static json_t *annotation_json_parsed(const an_annotation *a, json_t *parsed)
{
    json_t *result = parsed ? json_incref(parsed) : json_loads(a->result, 0, NULL);
    json_t *j =
        json_pack("{s:I,s:I,s:I,s:o,s:b,s:b,s:s,s:s}", "id", (json_int_t)a->id, "task",
                  (json_int_t)a->task_id, "project", (json_int_t)a->project_id, "result",
                  result ? result : json_array(), "was_cancelled", a->cancelled, "ground_truth",
                  a->ground_truth, "created_at", a->created_at ? a->created_at : "", "updated_at",
                  a->updated_at ? a->updated_at : "");
    json_object_set_new(j, "completed_by",
                        a->annotator_id ? json_integer(a->annotator_id) : json_null());
    json_object_set_new(j, "lead_time",
                        isnan(a->lead_time) ? json_null() : json_real(a->lead_time));
    return j;
}

static json_t *annotation_json(const an_annotation *a)
{
    return annotation_json_parsed(a, NULL);
}

typedef struct visible_list {
    json_t *list;
    int64_t only_annotator; /* 0: all (api_visible_annotator) */
} visible_list;

static int add_annotation(void *ud, const an_annotation *a)
{
    visible_list *v = ud;
    if (!v->only_annotator || a->annotator_id == v->only_annotator)
        json_array_append_new(v->list, annotation_json(a));
    return 0;
}

int api_task_annotations(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_task t;
    an_project p;
    if (!id || api_read_begin(s, resp)) return 0;
    if (api_task_for(req, resp, s, id, AN_ACT_VIEW_PROJECT, &t, &p)) {
        an_store_read_end(s);
        return 0;
    }
    an_task_clear(&t);
    an_project_clear(&p);
    visible_list v = {json_array(), api_visible_annotator(req)};
    an_err e;
    an_err_clear(&e);
    int rc = an_store_annotation_list(s, id, add_annotation, &v, &e);
    an_store_read_end(s);
    if (rc < 0) {
        json_decref(v.list);
        return api_fail(resp, &e, 0);
    }
    an_http_json(resp, 200, v.list);
    return 0;
}

/* Reads result, lead_time, was_cancelled and ground_truth from a body; 400 when result is
 * missing. */
static bool read_submit(json_t *body, an_submit *in, an_http_resp *resp)
{
    in->result = json_object_get(body, "result");
    double lt;
    in->lead_time = an_json_number(json_object_get(body, "lead_time"), &lt) ? lt : NAN;
    in->cancelled = json_is_true(json_object_get(body, "was_cancelled"));
    in->ground_truth = json_is_true(json_object_get(body, "ground_truth"));
    if (!in->result) {
        an_http_error(resp, 400, "invalid", "give \"result\": a list of result items", "result");
        return false;
    }
    return true;
}

/* Tells the project's webhooks (Label Studio's ANNOTATION_CREATED / _UPDATED payload: the
 * annotation and its task's id). Costs nothing when no webhook is active. */
static void notify(an_app *app, const char *action, const an_annotation *a)
{
    if (!an_webhooks_wanted(app->webhooks)) return;
    an_webhooks_emit(app->webhooks, a->project_id, action,
                     json_pack("{s:o,s:{s:I}}", "annotation", annotation_json(a), "task", "id",
                               (json_int_t)a->task_id));
}

/* Answers with annotation id as stored, and tells the webhooks action. */
static int respond_annotation(an_app *app, an_http_resp *resp, an_store *s, int64_t id, int status,
                              const char *action)
{
    an_annotation a = {0};
    an_err e;
    an_err_clear(&e);
    if (an_store_annotation_get(s, id, &a, &e) < 0) {
        an_annotation_clear(&a);
        return api_fail(resp, &e, 0);
    }
    an_http_json(resp, status, annotation_json(&a));
    notify(app, action, &a);
    an_annotation_clear(&a);
    return 0;
}

/* A new annotation on its way through the write batcher. */
typedef struct new_annotation {
    api_write w;
    an_prepared_annotation p;
    int64_t id;
} new_annotation;

static int write_annotation(an_store *s, void *ctx, an_err *err)
{
    new_annotation *n = ctx;
    return an_annotation_write(s, &n->p, &n->id, err);
}

/* Answers once the annotation is committed (or refused), from what was written: no read. */
static int annotation_written(an_http_req *req, an_http_resp *resp, void *app, void *ctx)
{
    (void)req;
    new_annotation *n = ctx;
    if (n->w.rc < 0) {
        api_fail(resp, &n->w.err, 0);
    } else {
        const an_annotation_in *in = &n->p.in;
        an_annotation a = {.id = n->id,
                           .task_id = in->task_id,
                           .project_id = in->project_id,
                           .annotator_id = in->annotator_id,
                           .result = n->p.text,
                           .lead_time = in->lead_time,
                           .ground_truth = in->ground_truth,
                           .cancelled = in->cancelled,
                           .created_at = n->w.at,
                           .updated_at = n->w.at};
        an_http_json(resp, 201, annotation_json_parsed(&a, n->p.result));
        notify(app, "ANNOTATION_CREATED", &a);
    }
    an_prepared_annotation_free(&n->p);
    return 0;
}

int api_annotation_create(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_task t;
    an_project p;
    /* The checks' reads (access, then the QC rules) share one read transaction, ended
     * before the write is queued. */
    if (!id || api_read_begin(s, resp)) return 0;
    if (api_task_for(req, resp, s, id, AN_ACT_ANNOTATE, &t, &p)) {
        an_store_read_end(s);
        return 0;
    }
    json_t *body = api_body_object(req, resp);
    api_cfg *cfg = body ? api_config(app, &p, resp) : NULL;
    an_submit in;
    int rc = 0;
    if (cfg && read_submit(body, &in, resp)) {
        new_annotation *n = an_http_alloc(req, sizeof *n);
        an_err e;
        an_err_clear(&e);
        /* Validation, then the project's QC rules (their reads on this thread, before the
         * write is queued): either refusal is a 422 naming the place. */
        int bad = an_annotation_prepare(cfg->cfg, &t, api_me(req)->id, &in, &n->p, &e);
        if (bad == 0) bad = an_annotation_check_rules(s, cfg->cfg, &t, &n->p, &e);
        an_store_read_end(s);
        if (bad < 0) {
            an_prepared_annotation_free(&n->p);
            api_fail(resp, &e, e.code == AN_EINVAL ? 422 : 0);
        } else {
            n->w.fn = write_annotation;
            n->w.ctx = n;
            rc = api_write_later(app, req, resp, s, &n->w, annotation_written, n);
        }
    } else {
        an_store_read_end(s);
    }
    api_config_release(app, cfg);
    json_decref(body);
    an_task_clear(&t);
    an_project_clear(&p);
    return rc;
}

/* Loads annotation id for a change: the annotator themself (ANNOTATE) or a project manager
 * (MANAGE_PROJECT). Returns 0 with a, t, p filled, or 1 after answering. */
static int annotation_for_change(an_http_req *req, an_http_resp *resp, an_store *s, int64_t id,
                                 an_annotation *a, an_task *t, an_project *p)
{
    an_err e;
    an_err_clear(&e);
    memset(a, 0, sizeof *a);
    if (an_store_annotation_get(s, id, a, &e) < 0) {
        an_annotation_clear(a);
        return api_fail(resp, &e, 0), 1;
    }
    bool own = a->annotator_id == api_me(req)->id;
    if (api_task_for(req, resp, s, a->task_id, own ? AN_ACT_ANNOTATE : AN_ACT_MANAGE_PROJECT, t,
                     p)) {
        an_annotation_clear(a);
        return 1;
    }
    return 0;
}

int api_annotation_get(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    if (!id || api_read_begin(s, resp)) return 0;
    an_annotation a = {0};
    an_err e;
    an_err_clear(&e);
    if (an_store_annotation_get(s, id, &a, &e) < 0) {
        an_store_read_end(s);
        an_annotation_clear(&a);
        return api_fail(resp, &e, 0);
    }
    an_task t;
    an_project p;
    if (api_task_for(req, resp, s, a.task_id, AN_ACT_VIEW_PROJECT, &t, &p) == 0) {
        int64_t only = api_visible_annotator(req);
        if (only && a.annotator_id != only)
            an_http_error(resp, 404, "not_found", "no annotation numbered that", "annotation");
        else
            an_http_json(resp, 200, annotation_json(&a));
        an_task_clear(&t);
        an_project_clear(&p);
    }
    an_store_read_end(s);
    an_annotation_clear(&a);
    return 0;
}

int api_annotation_update(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_annotation a;
    an_task t;
    an_project p;
    if (!id || annotation_for_change(req, resp, s, id, &a, &t, &p)) return 0;
    json_t *body = api_body_object(req, resp);
    api_cfg *cfg = body ? api_config(app, &p, resp) : NULL;
    int rc = 1;
    if (cfg) {
        /* PATCH: fields not sent keep their values. */
        an_submit in = {.result = json_object_get(body, "result"),
                        .lead_time = a.lead_time,
                        .cancelled = a.cancelled,
                        .ground_truth = a.ground_truth};
        json_t *old = NULL;
        if (!in.result) in.result = old = json_loads(a.result, 0, NULL);
        double lt;
        if (an_json_number(json_object_get(body, "lead_time"), &lt)) in.lead_time = lt;
        json_t *v;
        if ((v = json_object_get(body, "was_cancelled")) && json_is_boolean(v))
            in.cancelled = json_is_true(v);
        if ((v = json_object_get(body, "ground_truth")) && json_is_boolean(v))
            in.ground_truth = json_is_true(v);
        an_err e;
        an_err_clear(&e);
        rc = an_annotation_change(s, cfg->cfg, &t, &a, api_me(req)->id, &in, &e);
        if (rc < 0) api_fail(resp, &e, e.code == AN_EINVAL ? 422 : 0);
        json_decref(old);
    }
    api_config_release(app, cfg);
    json_decref(body);
    an_annotation_clear(&a);
    an_task_clear(&t);
    an_project_clear(&p);
    return rc == 0 ? respond_annotation(app, resp, s, id, 200, "ANNOTATION_UPDATED") : 0;
}

int api_annotation_delete(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_annotation a;
    an_task t;
    an_project p;
    if (!id || annotation_for_change(req, resp, s, id, &a, &t, &p)) return 0;
    int64_t project_id = a.project_id, task_id = a.task_id;
    an_annotation_clear(&a);
    an_task_clear(&t);
    an_project_clear(&p);
    an_err e;
    an_err_clear(&e);
    if (an_annotation_remove(s, id, api_me(req)->id, &e) < 0) return api_fail(resp, &e, 0);
    resp->status = 204;
    an_webhooks *hooks = ((an_app *)app)->webhooks;
    if (an_webhooks_wanted(hooks))
        an_webhooks_emit(hooks, project_id, "ANNOTATIONS_DELETED",
                         json_pack("{s:[{s:I,s:I}]}", "annotations", "id", (json_int_t)id, "task",
                                   (json_int_t)task_id));
    return 0;
}

int api_prediction_create(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    json_t *body = s ? api_body_object(req, resp) : NULL;
    if (!body) return 0;
    json_t *task = json_object_get(body, "task");
    const json_t *result = json_object_get(body, "result");
    if (!json_is_integer(task) || !result) {
        json_decref(body);
        an_http_error(resp, 400, "invalid", "give \"task\" (an id) and \"result\"",
                      json_is_integer(task) ? "result" : "task");
        return 0;
    }
    an_task t;
    an_project p;
    if (api_task_for(req, resp, s, json_integer_value(task), AN_ACT_MANAGE_PROJECT, &t, &p)) {
        json_decref(body);
        return 0;
    }
    api_cfg *cfg = api_config(app, &p, resp);
    if (cfg) {
        double score;
        if (!an_json_number(json_object_get(body, "score"), &score)) score = NAN;
        const char *mv = an_json_str(body, "model_version");
        int64_t id = 0;
        an_err e;
        an_err_clear(&e);
        if (an_prediction_submit(s, cfg->cfg, &t, mv, score, result, api_me(req)->id, &id, &e) < 0)
            api_fail(resp, &e, e.code == AN_EINVAL ? 422 : 0);
        else
            an_http_json(resp, 201,
                         json_pack("{s:I,s:I,s:s,s:O}", "id", (json_int_t)id, "task",
                                   (json_int_t)t.id, "model_version", mv ? mv : "", "result",
                                   result));
    }
    api_config_release(app, cfg);
    an_task_clear(&t);
    an_project_clear(&p);
    json_decref(body);
    return 0;
}
