/* Pre-annotation over HTTP: Label Studio's ML backend routes (/api/ml) and prediction jobs
 * (service/predict_jobs.h) with their progress. Managers of the project and admins only.
 * Backend URLs given here pass the outbound guard (400 naming "url"), and the jobs call them
 * through it, with the workspace's allow-list. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "preanno/backend_client.h"
#include "preanno/predictor.h"
#include "server/api.h"
#include "store/backends.h"
#include "store/models.h"
#include "store/settings.h"

static json_t *backend_json(const an_backend *b)
{
    return json_pack("{s:I,s:I,s:s,s:s,s:s,s:f,s:i,s:i,s:i,s:b,s:s}", "id", (json_int_t)b->id,
                     "project", (json_int_t)b->project_id, "url", b->url ? b->url : "", "title",
                     b->title ? b->title : "", "model_version",
                     b->model_version ? b->model_version : "", "timeout", b->timeout_ms / 1000.0,
                     "retries", b->retries, "batch_size", b->batch_size, "concurrency",
                     b->concurrency, "is_active", b->is_active, "created_at",
                     b->created_at ? b->created_at : "");
}

/* Checks that the signed-in user manages project id. 0, or 1 after answering. */
static int manages(an_http_req *req, an_http_resp *resp, an_store *s, int64_t id,
                   an_project *keep)
{
    an_project p;
    if (api_project_for(req, resp, s, id, AN_ACT_MANAGE_PROJECT, &p)) return 1;
    if (keep)
        *keep = p;
    else
        an_project_clear(&p);
    return 0;
}

/* The workspace's outbound.allow text (*out may be NULL). 0, or 1 after answering 500. */
static int allow_text(an_store *s, an_http_resp *resp, char **out)
{
    an_err e;
    an_err_clear(&e);
    if (an_store_setting_get(s, "outbound.allow", out, &e) < 0) {
        api_fail(resp, &e, 500);
        return 1;
    }
    return 0;
}

/* Loads backend {id} and checks the user manages its project. 0 with b filled, or 1. */
static int backend_for(an_http_req *req, an_http_resp *resp, an_store *s, an_backend *b)
{
    memset(b, 0, sizeof *b);
    int64_t id = api_param_id(req, resp, "id");
    if (!id) return 1;
    an_err e;
    an_err_clear(&e);
    if (an_store_backend_get(s, id, b, &e) < 0) {
        api_fail(resp, &e, 0);
        return 1;
    }
    if (manages(req, resp, s, b->project_id, NULL)) {
        an_backend_clear(b);
        return 1;
    }
    return 0;
}

static bool int_field(json_t *body, const char *name, int lo, int hi, int *out,
                      an_http_resp *resp)
{
    json_t *v = json_object_get(body, name);
    if (!v) return true;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char msg[96];
        snprintf(msg, sizeof msg, "give a whole number from %d to %d", lo, hi);
        an_http_error(resp, 400, "invalid", msg, name);
        return false;
    }
    *out = (int)json_integer_value(v);
    return true;
}

/* Applies the body's fields to b; the URL through the guard. 0, or 1 after answering 400. */
static int apply_fields(an_store *s, json_t *body, an_backend *b, bool creating,
                        an_http_resp *resp)
{
    json_t *url = json_object_get(body, "url");
    if ((creating || url) && !json_is_string(url)) {
        an_http_error(resp, 400, "invalid", "give the ML backend's url (http or https)", "url");
        return 1;
    }
    json_t *title = json_object_get(body, "title");
    if (title && !json_is_null(title)) {
        if (!json_is_string(title) || json_string_length(title) > AN_BACKEND_TITLE_MAX) {
            an_http_error(resp, 400, "invalid", "the title is a string of at most 256 bytes",
                          "title");
            return 1;
        }
        free(b->title);
        b->title = an_xstrdup(json_string_value(title));
    }
    json_t *timeout = json_object_get(body, "timeout");
    if (timeout) {
        double sec = 0;
        if (!an_json_number(timeout, &sec) || !(sec * 1000 >= AN_BACKEND_TIMEOUT_MS_MIN) ||
            !(sec * 1000 <= AN_BACKEND_TIMEOUT_MS_MAX)) {
            an_http_error(resp, 400, "invalid", "the timeout is seconds, from 0.1 to 3600",
                          "timeout");
            return 1;
        }
        b->timeout_ms = (int)lround(sec * 1000);
    }
    if (!int_field(body, "retries", 0, AN_BACKEND_RETRIES_MAX, &b->retries, resp) ||
        !int_field(body, "batch_size", 1, AN_BACKEND_BATCH_MAX, &b->batch_size, resp) ||
        !int_field(body, "concurrency", 1, AN_BACKEND_CONCURRENCY_MAX, &b->concurrency, resp))
        return 1;
    json_t *active = json_object_get(body, "is_active");
    if (active) {
        if (!json_is_boolean(active)) {
            an_http_error(resp, 400, "invalid", "this field is true or false", "is_active");
            return 1;
        }
        b->is_active = json_is_true(active);
    }
    if (url) {
        char *allow = NULL;
        if (allow_text(s, resp, &allow)) return 1;
        an_backend_conf conf = {.url = json_string_value(url), .allow_text = allow};
        an_err e;
        an_err_clear(&e);
        int rc = an_backend_check_url(&conf, &e);
        free(allow);
        if (rc < 0) return api_fail(resp, &e, 400), 1;
        free(b->url);
        b->url = an_xstrdup(json_string_value(url));
    }
    return 0;
}

/* Label Studio shows a backend's state: asks /health (through the guard). */
static void add_state(an_store *s, const an_backend *b, json_t *j)
{
    char *allow = NULL;
    an_err e;
    an_err_clear(&e);
    if (an_store_setting_get(s, "outbound.allow", &allow, &e) < 0) allow = NULL;
    an_backend_conf conf = {.url = b->url,
                            .timeout_ms = b->timeout_ms < 5000 ? b->timeout_ms : 5000,
                            .allow_text = allow};
    char *mc = NULL;
    int rc = an_backend_health(&conf, &mc, &e);
    json_object_set_new(j, "readable_state", json_string(rc == 0 ? "Connected" : "Error"));
    json_object_set_new(j, "error_message", rc == 0 ? json_null() : json_string(e.msg));
    json_object_set_new(j, "model_class", mc ? json_string(mc) : json_null());
    free(mc);
    free(allow);
}

static char *audit_detail(const an_backend *b)
{
    json_t *d = json_pack("{s:s,s:I}", "url", b->url ? b->url : "", "project",
                          (json_int_t)b->project_id);
    char *t = an_json_text(d);
    json_decref(d);
    return t;
}

static int add_backend(void *ud, const an_backend *b)
{
    json_array_append_new(ud, backend_json(b));
    return 0;
}

int api_ml_list(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_store *s = api_store(appv, resp);
    if (!s) return 0;
    long project = api_query_long(req, "project", 0, INT32_MAX);
    if (project < 0) {
        an_http_error(resp, 400, "invalid", "project is a project id", "project");
        return 0;
    }
    if (!project && api_me(req)->role != AN_ROLE_ADMIN) {
        an_http_error(resp, 403, "forbidden",
                      "give ?project= (a project you manage); only administrators list all ML "
                      "backends",
                      "project");
        return 0;
    }
    if (project && manages(req, resp, s, project, NULL)) return 0;
    json_t *list = json_array();
    an_err e;
    an_err_clear(&e);
    if (an_store_backend_list(s, project, add_backend, list, &e) < 0) {
        json_decref(list);
        return api_fail(resp, &e, 0);
    }
    an_http_json(resp, 200, list);
    return 0;
}

int api_ml_create(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_store *s = api_store(appv, resp);
    if (!s) return 0;
    json_t *body = api_body_object(req, resp);
    if (!body) return 0;
    an_backend b;
    an_backend_defaults(&b);
    json_t *project = json_object_get(body, "project");
    if (!json_is_integer(project) || json_integer_value(project) < 1) {
        an_http_error(resp, 400, "invalid", "give the project (its id) the backend serves",
                      "project");
        goto out;
    }
    b.project_id = json_integer_value(project);
    if (manages(req, resp, s, b.project_id, NULL)) goto out;
    if (apply_fields(s, body, &b, true, resp)) goto out;
    an_err e;
    an_err_clear(&e);
    int64_t id = 0;
    int rc = an_store_begin(s, &e);
    if (rc == 0) {
        rc = an_store_backend_add(s, &b, &id, &e);
        char *detail = rc == 0 ? audit_detail(&b) : NULL;
        if (rc == 0) rc = an_store_audit(s, api_me(req)->id, "ml.create", "ml_backend", id, detail, &e);
        free(detail);
        rc = an_store_end(s, rc, &e);
    }
    if (rc < 0) {
        api_fail(resp, &e, 0);
        goto out;
    }
    an_webhooks_changed(((an_app *)appv)->webhooks); /* training events start at once */
    an_backend_clear(&b);
    if (an_store_backend_get(s, id, &b, &e) < 0) {
        api_fail(resp, &e, 0);
        goto out;
    }
    json_t *j = backend_json(&b);
    add_state(s, &b, j);
    an_http_json(resp, 201, j);
out:
    an_backend_clear(&b);
    json_decref(body);
    return 0;
}

int api_ml_get(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_store *s = api_store(appv, resp);
    an_backend b;
    if (!s || backend_for(req, resp, s, &b)) return 0;
    an_http_json(resp, 200, backend_json(&b));
    an_backend_clear(&b);
    return 0;
}

int api_ml_update(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_store *s = api_store(appv, resp);
    an_backend b;
    if (!s || backend_for(req, resp, s, &b)) return 0;
    json_t *body = api_body_object(req, resp);
    if (!body) goto out;
    json_t *project = json_object_get(body, "project");
    if (project && !(json_is_integer(project) && json_integer_value(project) == b.project_id)) {
        an_http_error(resp, 400, "invalid",
                      "an ML backend's project cannot change; add one to the other project",
                      "project");
        goto out;
    }
    if (apply_fields(s, body, &b, false, resp)) goto out;
    an_err e;
    an_err_clear(&e);
    int rc = an_store_begin(s, &e);
    if (rc == 0) {
        rc = an_store_backend_update(s, &b, &e);
        char *detail = rc == 0 ? audit_detail(&b) : NULL;
        if (rc == 0) rc = an_store_audit(s, api_me(req)->id, "ml.update", "ml_backend", b.id, detail, &e);
        free(detail);
        rc = an_store_end(s, rc, &e);
    }
    if (rc < 0) {
        api_fail(resp, &e, 0);
        goto out;
    }
    an_webhooks_changed(((an_app *)appv)->webhooks); /* it may have been switched on */
    json_t *j = backend_json(&b);
    if (json_object_get(body, "url")) add_state(s, &b, j);
    an_http_json(resp, 200, j);
out:
    json_decref(body);
    an_backend_clear(&b);
    return 0;
}

int api_ml_delete(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_store *s = api_store(appv, resp);
    an_backend b;
    if (!s || backend_for(req, resp, s, &b)) return 0;
    char *detail = audit_detail(&b);
    int rc = api_delete_audited(req, resp, s, "ml.delete", "ml_backend", b.id, detail,
                                an_store_backend_remove);
    free(detail);
    an_backend_clear(&b);
    return rc;
}

/* ---- prediction jobs --------------------------------------------------------------------- */

static json_t *job_json(const an_predict_job_info *i)
{
    json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:s,s:{s:I,s:I},s:I,s:I,s:I,s:s}", "id",
                          (json_int_t)i->id, "project", (json_int_t)i->project_id, "status",
                          an_predict_job_status_name(i->status), "model", i->model,
                          "model_version", i->model_version, "progress", "done",
                          (json_int_t)i->done, "total", (json_int_t)i->total, "predicted",
                          (json_int_t)i->predicted, "failed", (json_int_t)i->failed, "skipped",
                          (json_int_t)i->skipped, "started_at", i->started_at);
    json_object_set_new(j, "backend", i->backend_id ? json_integer(i->backend_id) : json_null());
    json_object_set_new(j, "finished_at",
                        i->finished_at[0] ? json_string(i->finished_at) : json_null());
    json_object_set_new(j, "error", i->error[0] ? json_string(i->error) : json_null());
    json_object_set_new(j, "first_failure",
                        i->first_failure[0] ? json_string(i->first_failure) : json_null());
    return j;
}

int api_predict_job_create(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_app *app = appv;
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    if (!id || manages(req, resp, s, id, NULL)) return 0;
    json_t *body = api_body_object(req, resp);
    if (!body) return 0;
    an_predict_job_spec spec = {.project_id = id, .user_id = api_me(req)->id};
    json_t *model = json_object_get(body, "model");
    json_t *backend = json_object_get(body, "backend");
    json_t *version = json_object_get(body, "version");
    json_t *unl = json_object_get(body, "only_unlabeled");
    an_err e;
    an_err_clear(&e);
    if ((model && !json_is_null(model)) == (backend && !json_is_null(backend))) {
        an_http_error(resp, 400, "invalid",
                      "give either \"model\" (a model's name) or \"backend\" (an ML backend's id)",
                      "model");
        goto out;
    }
    if (model && !json_is_null(model)) {
        if (!json_is_string(model) || !an_predictor_find(json_string_value(model))) {
            an_buf *names = an_http_scratch(req);
            size_t n;
            const an_predictor_ops *const *ops = an_predictor_list(&n);
            for (size_t i = 0; i < n; i++) an_buf_addf(names, "%s%s", i ? ", " : "", ops[i]->name);
            char msg[512];
            snprintf(msg, sizeof msg, "no such model; the models are %s", names->p ? names->p : "");
            an_http_error(resp, 400, "invalid", msg, "model");
            goto out;
        }
        spec.model = json_string_value(model);
        if (version && !json_is_null(version)) {
            if (!json_is_string(version)) {
                an_http_error(resp, 400, "invalid", "version is a stored version's name",
                              "version");
                goto out;
            }
            spec.version = json_string_value(version);
        }
    } else {
        if (!json_is_integer(backend) || json_integer_value(backend) < 1) {
            an_http_error(resp, 400, "invalid", "backend is an ML backend's id", "backend");
            goto out;
        }
        an_backend b;
        if (an_store_backend_get(s, json_integer_value(backend), &b, &e) < 0 ||
            b.project_id != id) {
            if (e.code == 0 || e.code == AN_ENOTFOUND) {
                an_http_error(resp, 400, "invalid", "the project has no ML backend with this id",
                              "backend");
            } else {
                api_fail(resp, &e, 0);
            }
            an_backend_clear(&b);
            goto out;
        }
        an_backend_clear(&b);
        spec.backend_id = json_integer_value(backend);
    }
    if (unl && !json_is_boolean(unl)) {
        an_http_error(resp, 400, "invalid", "this field is true or false", "only_unlabeled");
        goto out;
    }
    spec.only_unlabeled = json_is_true(unl);
    int64_t jid = 0;
    if (an_predict_job_submit(app->predict_jobs, &spec, &jid, &e) < 0) {
        api_fail(resp, &e, 0);
        goto out;
    }
    json_t *d = json_pack("{s:I,s:s}", "job", (json_int_t)jid, "model",
                          spec.model ? spec.model : "backend");
    char *detail = an_json_text(d);
    json_decref(d);
    an_store_audit(s, api_me(req)->id, "prediction.job", "project", id, detail, &e);
    free(detail);
    an_predict_job_info info;
    if (an_predict_job_get(app->predict_jobs, jid, &info, &e) < 0) {
        api_fail(resp, &e, 0);
        goto out;
    }
    an_http_json(resp, 202, job_json(&info));
out:
    json_decref(body);
    return 0;
}

int api_predict_job_get(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_app *app = appv;
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    if (!id || manages(req, resp, s, id, NULL)) return 0;
    int64_t jid = api_param_id(req, resp, "jid");
    if (!jid) return 0;
    an_predict_job_info info;
    an_err e;
    an_err_clear(&e);
    if (an_predict_job_get(app->predict_jobs, jid, &info, &e) < 0 || info.project_id != id) {
        an_http_error(resp, 404, "not_found",
                      "no such prediction job (jobs are kept in memory until the server stops)",
                      "jid");
        return 0;
    }
    an_http_json(resp, 200, job_json(&info));
    return 0;
}

typedef struct models_ctx {
    json_t *versions; /* name → [versions] */
} models_ctx;

static int add_model(void *ud, const an_model *m)
{
    models_ctx *c = ud;
    json_t *list = json_object_get(c->versions, m->name);
    if (!list) {
        list = json_array();
        json_object_set_new(c->versions, m->name, list);
    }
    json_array_insert_new(list, 0, json_string(m->version)); /* newest first */
    return 0;
}

int api_predict_models(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_app *app = appv;
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    if (!id || manages(req, resp, s, id, NULL)) return 0;
    models_ctx c = {json_object()};
    json_t *backends = json_array();
    an_err e;
    an_err_clear(&e);
    if (an_store_model_list(s, id, add_model, &c, &e) < 0 ||
        an_store_backend_list(s, id, add_backend, backends, &e) < 0) {
        json_decref(c.versions);
        json_decref(backends);
        return api_fail(resp, &e, 0);
    }
    json_t *models = json_array();
    size_t n;
    const an_predictor_ops *const *ops = an_predictor_list(&n);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(c.versions, ops[i]->name);
        json_array_append_new(models, json_pack("{s:s,s:s,s:b,s:o}", "name", ops[i]->name,
                                                "summary", ops[i]->summary, "trainable",
                                                ops[i]->train != NULL, "versions",
                                                v ? json_incref(v) : json_array()));
    }
    json_decref(c.versions);
    an_http_json(resp, 200, json_pack("{s:o,s:o}", "models", models, "backends", backends));
    return 0;
}
