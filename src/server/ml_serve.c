/* A built-in model behind Label Studio's ML backend protocol: see ml_serve.h. */
#include "server/ml_serve.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "model/config.h"
#include "preanno/predictor.h"
#include "server/http.h"
#include "store/models.h"
#include "store/store.h"

enum { MAX_PREDICT_BODY = 64 << 20 };

struct an_ml_serve {
    const an_predictor_ops *ops;
    char *fixed_version;   /* --version, or NULL */
    char *control_name;    /* --control, or NULL */
    pthread_mutex_t lock;  /* everything below */
    an_store *store;
    an_project project;    /* id 0 when none */
    an_model model;        /* version NULL for a model without versions */
    json_t *params;
    char *config_text;     /* what cfg was parsed from */
    an_config *cfg;
    void *state;           /* open for cfg, or NULL */
    an_http_server *http;
};

static void close_state(an_ml_serve *m)
{
    if (m->state) m->ops->close(m->state);
    m->state = NULL;
    an_config_free(m->cfg);
    m->cfg = NULL;
    free(m->config_text);
    m->config_text = NULL;
}

/* Loads the stored model (the fixed or latest version) when the model is trained. */
static int load_model(an_ml_serve *m, an_err *err)
{
    if (!m->ops->train) return 0;
    if (!m->project.id)
        return an_err_set(err, AN_EINVAL, "--project",
                          "model %s is trained per project: name the project its versions are "
                          "stored in with --project",
                          m->ops->name);
    an_model fresh;
    int rc = an_store_model_get(m->store, m->project.id, m->ops->name, m->fixed_version, &fresh,
                                err);
    if (rc) return rc;
    if (m->model.version && strcmp(m->model.version, fresh.version) == 0) {
        an_model_clear(&fresh);
        return 0;
    }
    json_t *params = an_json_parse(fresh.params, strlen(fresh.params), "model.params", err);
    if (!params) {
        an_model_clear(&fresh);
        return -AN_EINVAL;
    }
    close_state(m);
    an_model_clear(&m->model);
    json_decref(m->params);
    m->model = fresh;
    m->params = params;
    return 0;
}

/* Opens a state for config text (NULL or "": the project's), unless one is open for it. */
static int ensure_state(an_ml_serve *m, const char *text, an_err *err)
{
    if (!text || !*text) text = m->project.id ? m->project.config : NULL;
    if (!text)
        return an_err_set(err, AN_EINVAL, "label_config",
                          "send the labeling config (label_config), or serve with --project");
    if (m->state && m->config_text && strcmp(m->config_text, text) == 0) return 0;
    close_state(m);
    int rc = an_config_parse(text, strlen(text), &m->cfg, err);
    if (rc) return rc;
    const char *want = m->control_name ? m->control_name : m->model.control;
    const an_control *c = NULL;
    if (want) {
        c = an_config_control(m->cfg, want);
        if (!c)
            rc = an_err_set(err, AN_EINVAL, "label_config",
                            "the labeling config has no control \"%s\", which the model answers",
                            want);
        else
            rc = m->ops->check_control(m->cfg, c, err);
    } else {
        an_err e;
        for (size_t i = 0; i < m->cfg->n_controls && !c; i++) {
            an_err_clear(&e);
            if (m->ops->check_control(m->cfg, &m->cfg->controls[i], &e) == 0)
                c = &m->cfg->controls[i];
        }
        if (!c)
            rc = an_err_set(err, AN_EINVAL, "label_config",
                            "no control of the labeling config is one model %s can answer",
                            m->ops->name);
    }
    if (!rc) {
        an_model_data md = {.version = m->model.version,
                            .params = m->params,
                            .blob = m->model.blob,
                            .blob_len = m->model.blob_len};
        rc = m->ops->open(NULL, m->model.version ? &md : NULL, m->cfg, c, &m->state, err);
    }
    if (rc) {
        close_state(m);
        return rc;
    }
    m->config_text = an_xstrdup(text);
    return 0;
}

static const char *version_of(const an_ml_serve *m)
{
    return m->model.version ? m->model.version : m->ops->name;
}

static void fail(an_http_resp *resp, int status, const an_err *e)
{
    an_http_error(resp, status, an_code_name(e->code), e->msg, e->where[0] ? e->where : NULL);
}

static json_t *body_json(an_http_req *req, an_http_resp *resp)
{
    size_t len;
    const char *text = an_http_body(req, &len);
    an_err e;
    an_err_clear(&e);
    json_t *j = an_json_parse(text, len, "body", &e);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        if (!e.code) an_err_set(&e, AN_EINVAL, "body", "the body must be a JSON object");
        fail(resp, 400, &e);
        return NULL;
    }
    return j;
}

static int h_health(an_http_req *req, an_http_resp *resp, void *app)
{
    (void)req;
    an_ml_serve *m = app;
    char mc[96];
    snprintf(mc, sizeof mc, "annot:%s", m->ops->name);
    pthread_mutex_lock(&m->lock);
    json_t *j = json_pack("{s:s,s:s,s:s}", "status", "UP", "model_class", mc, "model_version",
                          version_of(m));
    pthread_mutex_unlock(&m->lock);
    an_http_json(resp, 200, j);
    return 0;
}

static int h_setup(an_http_req *req, an_http_resp *resp, void *app)
{
    an_ml_serve *m = app;
    json_t *body = body_json(req, resp);
    if (!body) return 0;
    an_err e;
    an_err_clear(&e);
    pthread_mutex_lock(&m->lock);
    int rc = load_model(m, &e);
    const char *schema = an_json_str(body, "schema");
    if (!rc && ((schema && *schema) || m->project.id)) rc = ensure_state(m, schema, &e);
    json_t *ans = rc ? NULL : json_pack("{s:s}", "model_version", version_of(m));
    pthread_mutex_unlock(&m->lock);
    json_decref(body);
    if (rc) {
        fail(resp, e.code == AN_EINVAL || e.code == AN_ENOTFOUND ? 400 : 500, &e);
        return 0;
    }
    an_http_json(resp, 200, ans);
    return 0;
}

static int h_predict(an_http_req *req, an_http_resp *resp, void *app)
{
    an_ml_serve *m = app;
    json_t *body = body_json(req, resp);
    if (!body) return 0;
    an_err e;
    an_err_clear(&e);
    json_t *tasks = json_object_get(body, "tasks");
    if (!json_is_array(tasks)) {
        an_err_set(&e, AN_EINVAL, "tasks", "send the tasks to predict as a list");
        fail(resp, 400, &e);
        json_decref(body);
        return 0;
    }
    size_t n = json_array_size(tasks);
    an_pred_task *in = an_xcalloc(n ? n : 1, sizeof *in);
    an_pred_out *out = an_xcalloc(n ? n : 1, sizeof *out);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const json_t *t = json_array_get(tasks, i);
        const json_t *data = json_object_get(t, "data");
        char where[48];
        snprintf(where, sizeof where, "tasks[%zu].data", i);
        if (!json_is_object(data)) rc = an_err_set(&e, AN_EINVAL, where, "a task needs its data object");
        in[i].id = json_integer_value(json_object_get(t, "id"));
        in[i].data = data;
    }
    json_t *results = json_array();
    pthread_mutex_lock(&m->lock);
    if (!rc) rc = ensure_state(m, an_json_str(body, "label_config"), &e);
    if (!rc && n) rc = m->ops->predict(m->state, in, n, out, &e);
    const char *v = version_of(m);
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *item;
        if (out[i].rc == 0) {
            item = json_pack("{s:o,s:s}", "result", out[i].result, "model_version", v);
            if (isfinite(out[i].score)) json_object_set_new(item, "score", json_real(out[i].score));
        } else {
            char msg[1400];
            snprintf(msg, sizeof msg, "%s%s%s", out[i].err.where,
                     out[i].err.where[0] ? ": " : "", out[i].err.msg);
            item = json_pack("{s:[],s:i,s:s,s:s}", "result", "score", 0, "model_version", v,
                             "error", msg);
        }
        json_array_append_new(results, item);
    }
    json_t *ans = rc ? NULL : json_pack("{s:o,s:s}", "results", results, "model_version", v);
    pthread_mutex_unlock(&m->lock);
    if (rc) json_decref(results);
    free(in);
    free(out);
    json_decref(body);
    if (rc) {
        fail(resp, e.code == AN_EINVAL ? 400 : 500, &e);
        return 0;
    }
    an_http_json(resp, 200, ans);
    return 0;
}

static int h_train(an_http_req *req, an_http_resp *resp, void *app)
{
    (void)req;
    an_ml_serve *m = app;
    char msg[256];
    snprintf(msg, sizeof msg,
             "annot trains with `annot train PROJECT --model %s --control NAME`; POST /setup "
             "then serves the new version",
             m->ops->name);
    an_http_json(resp, 200, json_pack("{s:s,s:n,s:s}", "status", "ok", "job", "message", msg));
    return 0;
}

static int h_webhook(an_http_req *req, an_http_resp *resp, void *app)
{
    (void)req, (void)app;
    an_http_json(resp, 200, json_pack("{s:s}", "status", "Unknown event"));
    return 0;
}

static const an_http_route routes[] = {
    {"GET", "/", h_health, 0, false, NULL},
    {"GET", "/health", h_health, 0, false, NULL},
    {"POST", "/setup", h_setup, 0, false, NULL},
    {"POST", "/predict", h_predict, MAX_PREDICT_BODY, false, NULL},
    {"POST", "/train", h_train, MAX_PREDICT_BODY, false, NULL},
    {"POST", "/webhook", h_webhook, 0, false, NULL},
};

void an_ml_serve_stop(an_ml_serve *m)
{
    if (!m) return;
    if (m->http) an_http_stop(m->http);
    close_state(m);
    an_model_clear(&m->model);
    json_decref(m->params);
    an_project_clear(&m->project);
    if (m->store) an_store_close(m->store);
    pthread_mutex_destroy(&m->lock);
    free(m->fixed_version);
    free(m->control_name);
    free(m);
}

int an_ml_serve_start(const an_ml_serve_opts *o, an_ml_serve **out, an_err *err)
{
    *out = NULL;
    const an_predictor_ops *ops = an_predictor_find(o->model);
    if (!ops)
        return an_err_set(err, AN_ENOTFOUND, "--model", "no model is named \"%s\"",
                          o->model ? o->model : "");
    signal(SIGPIPE, SIG_IGN);
    an_ml_serve *m = an_xcalloc(1, sizeof *m);
    m->ops = ops;
    m->fixed_version = o->version ? an_xstrdup(o->version) : NULL;
    m->control_name = o->control ? an_xstrdup(o->control) : NULL;
    pthread_mutex_init(&m->lock, NULL);
    int rc = an_store_open(o->location, &m->store, err);
    if (!rc && o->project) rc = an_store_project_get(m->store, o->project, &m->project, err);
    if (!rc) rc = load_model(m, err);
    if (!rc && m->project.id) rc = ensure_state(m, NULL, err);
    if (!rc) {
        an_http_opts ho = {.host = o->host,
                           .port = o->port,
                           .threads = o->threads ? o->threads : 2,
                           .routes = routes,
                           .n_routes = sizeof routes / sizeof routes[0],
                           .app = m};
        rc = an_http_start(&ho, &m->http, err);
    }
    if (rc) {
        an_ml_serve_stop(m);
        return rc;
    }
    *out = m;
    return 0;
}

int an_ml_serve_port(const an_ml_serve *m)
{
    return an_http_port(m->http);
}

void an_ml_serve_version(an_ml_serve *m, char *out, size_t size)
{
    pthread_mutex_lock(&m->lock);
    snprintf(out, size, "%s", m->model.version ? m->model.version : "");
    pthread_mutex_unlock(&m->lock);
}
