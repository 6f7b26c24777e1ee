/* The Label Studio ML backend client and the "backend" predictor: see backend_client.h. */
#include "preanno/backend_client.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "net/client.h"
#include "net/guard.h"

enum {
    TIMEOUT_DEFAULT_MS = 30000,
    BACKOFF_FIRST_MS = 250,
    BACKOFF_MAX_MS = 8000,
    MAX_ANSWER = 256 << 20 /* a batch of segmentation masks can be large */
};

/* What every request needs: the base URL and how to call it. */
typedef struct caller {
    char *base; /* without a trailing '/' */
    long timeout_ms;
    int retries;
    an_net_allow *allow; /* trusted: everything; else the workspace's list (may be NULL) */
} caller;

static void caller_free(caller *c)
{
    free(c->base);
    an_net_allow_free(c->allow);
    memset(c, 0, sizeof *c);
}

static int caller_init(caller *c, const char *url, long timeout_ms, int retries, bool trusted,
                       const char *allow_text, an_err *err)
{
    memset(c, 0, sizeof *c);
    if (!url || !*url) return an_err_set(err, AN_EINVAL, "url", "give the backend's URL");
    an_url u;
    int rc = an_url_parse(url, &u, err);
    if (rc < 0) return rc;
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/') n--;
    if (retries < 0 || retries > 10)
        return an_err_set(err, AN_EINVAL, "retries", "give 0 to 10 retries");
    /* The CLI is trusted: it may reach loopback and private backends (a model on the same
     * machine is the usual case), so everything is allowed. */
    rc = an_net_allow_parse(trusted ? "0.0.0.0/0, ::/0" : allow_text, &c->allow, err);
    if (rc < 0) return rc;
    c->base = an_xstrndup(url, n);
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : TIMEOUT_DEFAULT_MS;
    c->retries = retries;
    return 0;
}

static int caller_from_conf(caller *c, const an_backend_conf *conf, an_err *err)
{
    return caller_init(c, conf->url, conf->timeout_ms, conf->retries, conf->trusted,
                       conf->allow_text, err);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* One call of path with retries (see the header). On 0, r holds a 2xx answer (the caller
 * frees r->body); otherwise err says what the last attempt met. */
static int call(const caller *c, const char *method, const char *path, const char *body,
                size_t body_len, an_net_result *r, an_err *err)
{
    an_buf url = AN_BUF_INIT;
    an_buf_addf(&url, "%s%s", c->base, path);
    an_net_opts o = {.method = method,
                     .url = url.p,
                     .body = body,
                     .body_len = body_len,
                     .allow = c->allow,
                     .connect_timeout_ms = c->timeout_ms < 3000 ? c->timeout_ms : 3000,
                     .timeout_ms = c->timeout_ms,
                     .max_response = MAX_ANSWER};
    long backoff = BACKOFF_FIRST_MS;
    int rc = 0;
    for (int attempt = 0;; attempt++) {
        double t0 = an_monotonic();
        an_err e;
        an_err_clear(&e);
        rc = an_net_request(&o, r, &e);
        bool again = false;
        if (rc < 0) {
            if (r->refused) {
                if (err) *err = e;
                break;
            }
            if ((an_monotonic() - t0) * 1000 >= (double)c->timeout_ms * 0.95) {
                rc = an_err_set(err, AN_EIO, "timeout",
                                "%s %s did not answer within %ld ms; raise the backend's "
                                "timeout or send fewer tasks per request",
                                method, path, c->timeout_ms);
                break;
            }
            if (err) *err = e;
            again = true;
        } else if (r->status >= 200 && r->status < 300) {
            if (r->truncated)
                rc = an_err_set(err, AN_EIO, path, "the backend's answer is over %d MiB; send "
                                "fewer tasks per request", MAX_ANSWER >> 20);
            break;
        } else {
            /* Show the start of the backend's own message: it says what went wrong there. */
            int shown = r->body.len > 300 ? 300 : (int)r->body.len;
            rc = an_err_set(err, AN_EIO, path, "the backend answered %ld%s%.*s", r->status,
                            shown ? ": " : "", shown, r->body.p ? r->body.p : "");
            again = r->status >= 500 || r->status == 429;
        }
        if (!again || attempt >= c->retries) break;
        an_buf_free(&r->body);
        sleep_ms(backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    if (rc < 0) an_buf_free(&r->body);
    an_buf_free(&url);
    return rc;
}

/* Calls path and parses the answer as JSON (*out: new reference). */
static int call_json(const caller *c, const char *method, const char *path, const json_t *req,
                     json_t **out, an_err *err)
{
    *out = NULL;
    char *body = req ? an_json_text(req) : NULL;
    an_net_result r;
    int rc = call(c, method, path, body, body ? strlen(body) : 0, &r, err);
    free(body);
    if (rc < 0) return rc;
    an_err e;
    an_err_clear(&e);
    *out = an_json_parse(r.body.p ? r.body.p : "", r.body.len, path, &e);
    an_buf_free(&r.body);
    if (!*out)
        return an_err_set(err, AN_EINVAL, path, "the backend's answer is not JSON: %s", e.msg);
    return 0;
}

int an_backend_check_url(const an_backend_conf *conf, an_err *err)
{
    caller c;
    int rc = caller_from_conf(&c, conf, err);
    if (rc == 0) {
        an_guard_target *t = an_xcalloc(1, sizeof *t);
        an_buf url = AN_BUF_INIT;
        an_buf_addf(&url, "%s/", c.base);
        rc = an_guard_resolve(url.p, c.allow, t, err);
        an_buf_free(&url);
        free(t);
    }
    caller_free(&c);
    return rc;
}

int an_backend_health(const an_backend_conf *conf, char **model_class, an_err *err)
{
    if (model_class) *model_class = NULL;
    caller c;
    int rc = caller_from_conf(&c, conf, err);
    json_t *j = NULL;
    if (rc == 0) rc = call_json(&c, "GET", "/health", NULL, &j, err);
    if (rc == 0) {
        const char *status = an_json_str(j, "status");
        if (!status || strcmp(status, "UP") != 0)
            rc = an_err_set(err, AN_EIO, "/health",
                            "the backend is not up (its /health says status %s%s%s)",
                            status ? "\"" : "", status ? status : "nothing",
                            status ? "\"" : "");
        const char *mc = an_json_str(j, "model_class");
        if (rc == 0 && model_class && mc) *model_class = an_xstrdup(mc);
    }
    json_decref(j);
    caller_free(&c);
    return rc;
}

/* Label Studio's project key: "ID.TIMESTAMP" (the project's creation time in seconds). */
static void project_key(const an_backend_project *p, char out[64])
{
    long long ts = 0;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (p->created_at && sscanf(p->created_at, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon,
                                &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        ts = (long long)timegm(&tm);
    }
    snprintf(out, 64, "%lld.%lld", (long long)p->id, ts);
}

static int copy_version(const json_t *v, char version[AN_MODEL_VERSION_MAX], const char *where,
                        an_err *err)
{
    version[0] = '\0';
    if (!v || json_is_null(v)) return 0;
    char num[64];
    const char *text = NULL;
    if (json_is_string(v)) {
        text = json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        text = num;
    } else {
        return an_err_set(err, AN_EINVAL, where, "model_version is not a string");
    }
    size_t n = strlen(text);
    if (n >= AN_MODEL_VERSION_MAX)
        return an_err_set(err, AN_EINVAL, where, "model_version is longer than %d bytes",
                          AN_MODEL_VERSION_MAX - 1);
    memcpy(version, text, n + 1);
    return 0;
}

int an_backend_setup(const an_backend_conf *conf, const an_backend_project *p,
                     char version[AN_MODEL_VERSION_MAX], an_err *err)
{
    version[0] = '\0';
    caller c;
    int rc = caller_from_conf(&c, conf, err);
    json_t *ans = NULL;
    if (rc == 0) {
        char key[64];
        project_key(p, key);
        json_t *req = json_pack("{s:s,s:s,s:s,s:s,s:n}", "project", key, "schema",
                                p->label_config ? p->label_config : "", "hostname", "",
                                "access_token", "", "model_version");
        rc = call_json(&c, "POST", "/setup", req, &ans, err);
        json_decref(req);
    }
    if (rc == 0) {
        if (!json_is_object(ans))
            rc = an_err_set(err, AN_EINVAL, "/setup", "the backend's /setup answer is not an "
                            "object with model_version");
        else
            rc = copy_version(json_object_get(ans, "model_version"), version,
                              "/setup.model_version", err);
    }
    json_decref(ans);
    caller_free(&c);
    return rc;
}

/* Both bodies of a training event: /webhook's, and /train's for older backends. */
static json_t *event_body(const char *action, const json_t *project, const json_t *payload,
                          bool for_train)
{
    json_t *body = json_pack("{s:s,s:O}", "action", action, "project", (json_t *)project);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)payload, k, v) {
        if (strcmp(k, "action") != 0 && strcmp(k, "project") != 0) json_object_set(body, k, v);
    }
    if (!for_train) return body;
    json_t *list = json_array();
    const json_t *ann = json_object_get(payload, "annotation");
    const json_t *task = json_object_get(payload, "task");
    if (json_is_object(ann)) {
        json_t *t = json_is_object(task) ? json_deep_copy(task) : json_object();
        json_object_set_new(t, "annotations", json_pack("[O]", (json_t *)ann));
        json_array_append_new(list, t);
    }
    json_object_set_new(body, "annotations", list);
    const char *lc = an_json_str(project, "label_config");
    json_object_set_new(body, "label_config", json_string(lc ? lc : ""));
    json_object_set_new(body, "params", json_object());
    return body;
}

/* POSTs body to path; *status is the answer's status (0: none). */
static int post_event(const caller *c, const char *path, const json_t *body, long *status,
                      an_err *err)
{
    char *text = an_json_text(body);
    an_net_result r;
    memset(&r, 0, sizeof r);
    int rc = call(c, "POST", path, text, strlen(text), &r, err);
    *status = r.status;
    an_buf_free(&r.body);
    free(text);
    return rc;
}

int an_backend_event(const an_backend_conf *conf, const char *action, const json_t *project,
                     const json_t *payload, an_backend_event_result *out, an_err *err)
{
    an_backend_event_result local;
    if (!out) out = &local;
    memset(out, 0, sizeof *out);
    if (!action || !json_is_object(project))
        return an_err_set(err, AN_EINVAL, "project", "a training event names its action and "
                          "project");
    caller c;
    int rc = caller_from_conf(&c, conf, err);
    if (rc < 0) return rc;
    json_t *body = event_body(action, project, payload, false);
    snprintf(out->path, sizeof out->path, "/webhook");
    rc = post_event(&c, "/webhook", body, &out->status, err);
    json_decref(body);
    if (rc < 0 && out->status == 404) {
        body = event_body(action, project, payload, true);
        snprintf(out->path, sizeof out->path, "/train");
        rc = post_event(&c, "/train", body, &out->status, err);
        json_decref(body);
    }
    caller_free(&c);
    return rc;
}

json_t *an_backend_open_opts(const an_backend_conf *conf, size_t batch_size,
                             const an_backend_project *p)
{
    char key[64];
    project_key(p, key);
    json_t *o = json_pack("{s:s,s:I,s:i,s:b,s:I,s:s,s:s}", "url", conf->url ? conf->url : "",
                          "timeout_ms", (json_int_t)conf->timeout_ms, "retries", conf->retries,
                          "trusted", conf->trusted, "batch_size", (json_int_t)batch_size,
                          "project", key, "label_config",
                          p->label_config ? p->label_config : "");
    if (!conf->trusted && conf->allow_text)
        json_object_set_new(o, "allow", json_string(conf->allow_text));
    return o;
}

/* ---- the predictor ------------------------------------------------------------------------ */

typedef struct state {
    caller c;
    size_t batch_size;
    char *project;      /* "ID.TIMESTAMP" */
    char *label_config; /* sent with every request */
} state;

static int b_check_control(const an_config *cfg, const an_control *control, an_err *err)
{
    (void)cfg, (void)control, (void)err;
    return 0;
}

static int b_open(const json_t *opts, const an_model_data *model, const an_config *cfg,
                  const an_control *control, void **out, an_err *err)
{
    (void)model, (void)cfg, (void)control;
    *out = NULL;
    json_int_t bs = json_integer_value(json_object_get(opts, "batch_size"));
    if (bs < 1 || bs > 1000)
        return an_err_set(err, AN_EINVAL, "batch", "give 1 to 1000 tasks per request");
    state *s = an_xcalloc(1, sizeof *s);
    int rc = caller_init(&s->c, an_json_str(opts, "url"),
                         (long)json_integer_value(json_object_get(opts, "timeout_ms")),
                         (int)json_integer_value(json_object_get(opts, "retries")),
                         json_is_true(json_object_get(opts, "trusted")),
                         an_json_str(opts, "allow"), err);
    if (rc < 0) {
        free(s);
        return rc;
    }
    s->batch_size = (size_t)bs;
    const char *project = an_json_str(opts, "project");
    const char *lc = an_json_str(opts, "label_config");
    s->project = an_xstrdup(project ? project : "");
    s->label_config = an_xstrdup(lc ? lc : "");
    *out = s;
    return 0;
}

static void b_close(void *st)
{
    state *s = st;
    if (!s) return;
    caller_free(&s->c);
    free(s->project);
    free(s->label_config);
    free(s);
}

/* The answer's list of predictions: {"results": […]} or a bare list. Borrowed from ans. */
static const json_t *answer_list(const json_t *ans)
{
    if (json_is_array(ans)) return ans;
    const json_t *r = json_object_get(ans, "results");
    return json_is_array(r) ? r : NULL;
}

/* Fills out for one answered item (the prediction of one task). */
static void take_item(const json_t *item, size_t i, an_pred_out *out)
{
    char where[48];
    snprintf(where, sizeof where, "results[%zu]", i);
    an_err_clear(&out->err);
    out->result = NULL;
    out->score = NAN;
    const json_t *result = json_object_get(item, "result");
    const char *msg = an_json_str(item, "error");
    if (!json_is_object(item)) {
        out->rc = an_err_set(&out->err, AN_EINVAL, where, "the backend's prediction is not an "
                             "object with a result list");
    } else if (msg) {
        out->rc = an_err_set(&out->err, AN_EINVAL, where, "the backend could not predict the "
                             "task: %s", msg);
    } else if (!json_is_array(result)) {
        out->rc = an_err_set(&out->err, AN_EINVAL, where, "the backend's prediction has no "
                             "result list");
    } else {
        const json_t *score = json_object_get(item, "score");
        double v = NAN;
        if (score && !json_is_null(score) && !an_json_number(score, &v)) {
            out->rc = an_err_set(&out->err, AN_EINVAL, where, "score is not a number");
            return;
        }
        out->rc = 0;
        out->score = v;
        out->result = json_incref((json_t *)result);
    }
}

/* One /predict request for tasks[0..n). */
static int predict_chunk(state *s, const an_pred_task *tasks, size_t n, an_pred_out *out,
                         an_err *err)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:I,s:O}", "id", (json_int_t)tasks[i].id, "data",
                                              (json_t *)tasks[i].data));
    json_t *req = json_pack("{s:o,s:s,s:s,s:{s:n,s:n,s:n}}", "tasks", list, "label_config",
                            s->label_config, "project", s->project, "params", "login",
                            "password", "context");
    json_t *ans = NULL;
    int rc = call_json(&s->c, "POST", "/predict", req, &ans, err);
    json_decref(req);
    if (rc < 0) return rc;
    const json_t *items = answer_list(ans);
    if (!items) {
        rc = an_err_set(err, AN_EINVAL, "/predict", "the backend's answer is neither "
                        "{\"results\": [...]} nor a list of predictions");
    } else if (json_array_size(items) != n) {
        rc = an_err_set(err, AN_EINVAL, "/predict", "the backend answered %zu predictions for "
                        "%zu tasks; every task of a request needs one, in order",
                        json_array_size(items), n);
    } else {
        for (size_t i = 0; i < n; i++) take_item(json_array_get(items, i), i, &out[i]);
    }
    json_decref(ans);
    return rc;
}

static int b_predict(void *st, const an_pred_task *tasks, size_t n, an_pred_out *out,
                     an_err *err)
{
    state *s = st;
    /* Chunks that fail mark their own tasks: the others of the batch still count. */
    for (size_t at = 0; at < n; at += s->batch_size) {
        size_t k = n - at < s->batch_size ? n - at : s->batch_size;
        an_err e;
        an_err_clear(&e);
        if (predict_chunk(s, tasks + at, k, out + at, &e) < 0) {
            if (n <= s->batch_size) {
                if (err) *err = e;
                return -e.code;
            }
            for (size_t i = 0; i < k; i++) {
                out[at + i].rc = -e.code;
                out[at + i].result = NULL;
                out[at + i].score = NAN;
                out[at + i].err = e;
            }
        }
    }
    return 0;
}

const an_predictor_ops an_backend_ops = {
    .name = "backend",
    .summary = "a Label Studio ML backend, called over HTTP",
    .check_control = b_check_control,
    .open = b_open,
    .predict = b_predict,
    .train = NULL,
    .close = b_close,
};
