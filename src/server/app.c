/* The web application: route table, authentication hook, per-thread store handles. */
#include "server/app.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/json.h"
#include "server/api.h"

#define SESSION_COOKIE "annot_session"

/* Each route's data: whether it needs a credential, and its line in the OpenAPI document. */
typedef struct route_info {
    bool public;
    const char *summary;
} route_info;

/* ---- shared helpers ---------------------------------------------------------------------- */

static void close_store(void *p)
{
    an_store_close(p);
}

/* Page cache of each request thread's handle: what they read most (tokens, projects, the
 * tasks being worked on, the upper levels of the big B-trees) stays cached, while the
 * process stays under 100 MB with two request threads and the writer (bench/server.sh). */
enum { REQUEST_CACHE_KIB = 16384 };

an_store *api_store(an_app *app, an_http_resp *resp)
{
    an_store *s = pthread_getspecific(app->store_key);
    if (s) return s;
    an_err e;
    an_err_clear(&e);
    if (an_store_open(app->db, &s, &e) < 0) {
        api_fail(resp, &e, 500);
        return NULL;
    }
    /* A request's commit must not run a checkpoint (an fsync): the checkpointer does. */
    if (an_store_set_autocheckpoint(s, false, api_checkpointer_note, app->checkpointer, &e) < 0 ||
        an_store_set_cache_kib(s, REQUEST_CACHE_KIB, &e) < 0) {
        an_store_close(s);
        api_fail(resp, &e, 500);
        return NULL;
    }
    pthread_setspecific(app->store_key, s);
    return s;
}

int api_read_begin(an_store *s, an_http_resp *resp)
{
    an_err e;
    an_err_clear(&e);
    if (an_store_read_begin(s, &e) < 0) {
        api_fail(resp, &e, 0);
        return 1;
    }
    return 0;
}

const an_user *api_me(an_http_req *req)
{
    api_user *u = an_http_user(req);
    return u ? &u->u : NULL;
}

int api_fail(an_http_resp *resp, const an_err *e, int status)
{
    if (!status) {
        switch (e->code) {
        case AN_EINVAL: status = 400; break;
        case AN_ENOTFOUND: status = 404; break;
        case AN_EEXIST: status = 409; break;
        case AN_EBUSY: status = 503; break;
        default: status = 500;
        }
    }
    an_http_error(resp, status, status == 422 ? "invalid" : an_code_name(e->code), e->msg,
                  e->where[0] ? e->where : NULL);
    return 0;
}

json_t *api_body_object(an_http_req *req, an_http_resp *resp)
{
    size_t len;
    const char *body = an_http_body(req, &len);
    an_err e;
    an_err_clear(&e);
    json_t *j = an_json_parse(body, len, "body", &e);
    if (!j) {
        api_fail(resp, &e, 400);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        an_http_error(resp, 400, "invalid", "the body must be a JSON object", "body");
        return NULL;
    }
    return j;
}

int64_t api_param_id(an_http_req *req, an_http_resp *resp, const char *name)
{
    const char *t = an_http_param(req, name);
    int64_t v = 0;
    for (const char *p = t; p && *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10) {
            v = 0;
            break;
        }
        v = v * 10 + (*p - '0');
    }
    if (v <= 0) an_http_error(resp, 404, "not_found", "no such id", name);
    return v;
}

int api_project_for(an_http_req *req, an_http_resp *resp, an_store *s, int64_t id,
                    an_action action, an_project *p)
{
    const an_user *me = api_me(req);
    an_err e;
    an_err_clear(&e);
    bool member = false;
    if (an_store_project_get_id(s, id, p, &e) < 0) {
        an_project_clear(p);
        if (e.code != AN_ENOTFOUND) return api_fail(resp, &e, 0), 1;
        an_http_error(resp, 404, "not_found", "no such project", "project");
        return 1;
    }
    /* Admins may do everything on every project: their membership is not asked. */
    if (me->role != AN_ROLE_ADMIN && an_store_is_member(s, id, me->id, &member, &e) < 0) {
        an_project_clear(p);
        api_fail(resp, &e, 0);
        return 1;
    }
    /* Projects a user cannot see do not exist for them: 404, not 403. */
    if (!an_can(me, AN_ACT_VIEW_PROJECT, member)) {
        an_project_clear(p);
        an_http_error(resp, 404, "not_found", "no such project", "project");
        return 1;
    }
    if (!an_can(me, action, member)) {
        an_project_clear(p);
        an_http_error(resp, 403, "forbidden", "your role does not allow this on this project",
                      NULL);
        return 1;
    }
    return 0;
}

int api_delete_audited(an_http_req *req, an_http_resp *resp, an_store *s, const char *action,
                       const char *kind, int64_t id, const char *detail,
                       int (*remove)(an_store *s, int64_t id, an_err *err))
{
    an_err e;
    an_err_clear(&e);
    int rc = an_store_begin(s, &e);
    if (rc == 0) {
        rc = an_store_audit(s, api_me(req)->id, action, kind, id, detail, &e);
        if (rc == 0) rc = remove(s, id, &e);
        rc = an_store_end(s, rc, &e);
    }
    if (rc < 0) return api_fail(resp, &e, 0);
    resp->status = 204;
    return 0;
}

long api_query_long(an_http_req *req, const char *name, long dflt, long max)
{
    const char *t = an_http_query(req, name);
    if (!t) return dflt;
    char *end;
    errno = 0;
    long v = strtol(t, &end, 10);
    if (!*t || *end || errno || v < 1 || v > max) return -1;
    return v;
}

int api_require(an_http_req *req, an_http_resp *resp, an_action a)
{
    if (an_can(api_me(req), a, false)) return 0;
    an_http_error(resp, 403, "forbidden", "your role does not allow this", NULL);
    return 1;
}

json_t *api_user_json(an_store *s, const an_user *u, bool with_active)
{
    json_t *j = json_pack("{s:I,s:s,s:s}", "id", (json_int_t)u->id, "username", u->name, "role",
                          an_role_name(u->role));
    if (with_active) {
        bool active = false;
        an_err e;
        an_store_user_is_active(s, u->id, &active, &e);
        json_object_set_new(j, "active", json_boolean(active));
        json_object_set_new(j, "created_at", json_string(u->created_at ? u->created_at : ""));
    }
    return j;
}

/* ---- authentication ---------------------------------------------------------------------- */

static bool is_public(const an_http_route *r)
{
    const route_info *info = r ? r->data : NULL;
    return info && info->public;
}

static bool safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

static void free_api_user(void *p)
{
    api_user *u = p;
    an_user_clear(&u->u);
    free(u);
}

/* Token (Label Studio's "Authorization: Token …", or "Bearer …") or session cookie; the
 * cookie also needs the CSRF token on state-changing requests.
 *
 * When the handler follows at once (a request without a body), the check opens a soft read
 * transaction that the handler's reads join and end_request ends: one transaction, and one
 * pair of lock calls, per request instead of two. A handler that writes on the handle ends
 * it by starting its write (an_store_read_begin_soft). */
static int authenticate(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_app *app = appv;
    if (is_public(an_http_route_of(req))) return 0;
    an_store *s = api_store(app, resp);
    if (!s) return 1;
    api_user *u = an_xcalloc(1, sizeof *u);
    an_err e;
    an_err_clear(&e);
    if (an_http_handler_follows(req) && an_store_read_begin_soft(s, &e) == 0) u->read = s;
    int rc = -1;
    const char *auth = an_http_header(req, "Authorization");
    if (auth) {
        const char *tok = NULL;
        if (strncmp(auth, "Token ", 6) == 0) tok = auth + 6;
        if (strncmp(auth, "Bearer ", 7) == 0) tok = auth + 7;
        if (tok) rc = an_token_verify(s, tok, &u->u, &e);
    } else {
        const char *cookie = an_http_cookie(req, SESSION_COOKIE);
        if (cookie && an_session_verify(s, cookie, &u->u, u->csrf, &e) == 0) {
            u->via_session = true;
            rc = 0;
            const char *sent = an_http_header(req, "X-CSRF-Token");
            if (!safe_method(an_http_method(req)) &&
                (!sent || strlen(sent) != strlen(u->csrf) ||
                 sodium_memcmp(sent, u->csrf, strlen(u->csrf)) != 0)) {
                if (u->read) an_store_read_end_soft(u->read);
                an_user_clear(&u->u);
                free(u);
                an_http_error(resp, 403, "csrf",
                              "missing or wrong X-CSRF-Token header; send the token given at "
                              "login",
                              NULL);
                return 1;
            }
        }
    }
    if (rc < 0) {
        if (u->read) an_store_read_end_soft(u->read);
        an_user_clear(&u->u);
        free(u);
        an_http_error(resp, 401, "unauthenticated",
                      "sign in, or send \"Authorization: Token <token>\" (annot token create USER)",
                      NULL);
        an_http_resp_header(resp, "WWW-Authenticate", "Token", NULL);
        return 1;
    }
    an_http_set_user(req, u, free_api_user);
    return 0;
}

/* Ends the request's soft read once its handler has returned. */
static void end_request(an_http_req *req, void *appv)
{
    (void)appv;
    api_user *u = an_http_user(req);
    if (u && u->read) {
        an_store_read_end_soft(u->read);
        u->read = NULL;
    }
}

/* ---- routes ------------------------------------------------------------------------------ */

/* What the API says about each route: the OpenAPI document is made from this table, so it
 * always lists exactly the routes the server has. */

#define PUBLIC(text) (&(const route_info){true, text})
#define AUTHED(text) (&(const route_info){false, text})

static const an_http_route routes[] = {
    {"GET", "/health", api_health, 0, false, PUBLIC("Liveness: the workspace opens")},
    {"GET", "/metrics", api_metrics, 0, false, PUBLIC("Prometheus metrics")},
    {"GET", "/api/openapi.json", api_openapi, 0, false, PUBLIC("This OpenAPI document")},
    {"POST", "/api/auth/login", api_login, 0, false,
     PUBLIC("Log in with username and password; sets the session cookie, returns the CSRF "
            "token")},
    {"POST", "/api/auth/logout", api_logout, 0, false, AUTHED("End the session")},
    {"GET", "/api/current-user/whoami", api_whoami, 0, false, AUTHED("The signed-in user")},
    {"GET", "/api/projects", api_projects_list, 0, false, AUTHED("Projects visible to me")},
    {"POST", "/api/projects", api_projects_create, 0, false,
     AUTHED("Create a project (title, label_config); managers and admins")},
    {"POST", "/api/projects/validate", api_project_validate, 0, false,
     AUTHED("Check a labeling config")},
    {"GET", "/api/projects/{id}", api_project_get, 0, false, AUTHED("One project")},
    {"GET", "/api/projects/{id}/stats", api_project_stats, 0, false,
     AUTHED("Counts for the dashboard: tasks, labelled tasks, labels, per annotator")},
    {"GET", "/api/projects/{id}/config", api_project_config, 0, false,
     AUTHED("The project's labeling config, parsed")},
    {"POST", "/api/projects/{id}/import", api_project_import, 0, true,
     AUTHED("Import tasks: a JSON list, or a file (multipart); ?format=, ?strict=true")},
    {"GET", "/api/projects/{id}/next", api_project_next, 0, false,
     AUTHED("The next task for me, reserved for me for 10 minutes")},
    {"GET", "/api/tasks", api_tasks_list, 0, false,
     AUTHED("Tasks of ?project=, by ?page=&page_size= or ?after=ID; no payloads")},
    {"GET", "/api/tasks/{id}", api_task_get, 0, false,
     AUTHED("One task with its annotations and predictions")},
    {"DELETE", "/api/tasks/{id}", api_task_delete, 0, false, AUTHED("Delete a task")},
    {"GET", "/api/tasks/{id}/annotations", api_task_annotations, 0, false,
     AUTHED("A task's annotations")},
    {"POST", "/api/tasks/{id}/annotations", api_annotation_create, 0, false,
     AUTHED("Submit an annotation; 422 names the invalid field")},
    {"GET", "/api/annotations/{id}", api_annotation_get, 0, false, AUTHED("One annotation")},
    {"PATCH", "/api/annotations/{id}", api_annotation_update, 0, false,
     AUTHED("Change an annotation (its author or a manager)")},
    {"DELETE", "/api/annotations/{id}", api_annotation_delete, 0, false,
     AUTHED("Delete an annotation (its author or a manager)")},
    {"POST", "/api/predictions", api_prediction_create, 0, false,
     AUTHED("Add a model prediction to a task (task, result, score, model_version)")},
    {"PATCH", "/api/projects/{id}", api_project_update, 0, false,
     AUTHED("Change title, label_config (checked against existing labels) or overlap; "
            "managers")},
    {"DELETE", "/api/projects/{id}", api_project_delete, 0, false,
     AUTHED("Delete a project with everything in it; managers")},
    {"PATCH", "/api/tasks/{id}", api_task_update, 0, false,
     AUTHED("Change a task's data or meta; 409 when the data duplicates another task")},
    {"GET", "/api/tasks/{id}/media/{field}", api_task_media, 0, false,
     AUTHED("The local media file named by the task's data field, with byte ranges")},
    {"POST", "/api/projects/{id}/exports", api_exports_create, 0, false,
     AUTHED("Start an export job (format); managers")},
    {"GET", "/api/projects/{id}/exports", api_exports_list, 0, false,
     AUTHED("The project's export jobs, newest first; managers")},
    {"GET", "/api/projects/{id}/exports/{eid}", api_export_get, 0, false,
     AUTHED("One export job's status; managers")},
    {"GET", "/api/projects/{id}/exports/{eid}/download", api_export_download, 0, false,
     AUTHED("Download a finished export (folder formats as a tar archive); managers")},
    {"GET", "/api/projects/{id}/annotations", api_project_annotations, 0, false,
     AUTHED("Annotations to review: ?status=unreviewed|accepted|rejected&page=&page_size=; "
            "reviewers")},
    {"POST", "/api/annotations/{id}/reviews", api_review_create, 0, false,
     AUTHED("Accept or reject an annotation (accepted, comment); reviewers, not on one's own")},
    {"GET", "/api/annotations/{id}/reviews", api_reviews_list, 0, false,
     AUTHED("An annotation's reviews")},
    {"GET", "/api/users", api_users_list, 0, false,
     AUTHED("Users (admins: with activity; managers: names and roles)")},
    {"POST", "/api/users", api_user_create, 0, false,
     AUTHED("Add a user (username, role, password); admins")},
    {"PATCH", "/api/users/{id}", api_user_update, 0, false,
     AUTHED("Change role, active, password (admins); one's own password with old_password")},
    {"POST", "/api/users/{id}/tokens", api_user_token, 0, false,
     AUTHED("A new API token, shown once; admins or the user")},
    {"GET", "/api/projects/{id}/members", api_members_list, 0, false,
     AUTHED("The project's members; managers")},
    {"POST", "/api/projects/{id}/members", api_member_add, 0, false,
     AUTHED("Add a member (user: id or name); managers")},
    {"DELETE", "/api/projects/{id}/members/{user_id}", api_member_remove, 0, false,
     AUTHED("Remove a member; managers")},
    {"GET", "/api/audit", api_audit_list, 0, false,
     AUTHED("The audit log: ?project=&user=&since=&after=&limit=; admins")},
    {"GET", "/api/projects/{id}/qc/rules", api_qc_rules_get, 0, false,
     AUTHED("The project's QC rules document; members")},
    {"PUT", "/api/projects/{id}/qc/rules", api_qc_rules_put, 0, false,
     AUTHED("Replace the QC rules document (400 names the bad place); managers")},
    {"GET", "/api/projects/{id}/qc/findings", api_qc_findings, 0, false,
     AUTHED("QC findings: ?rule=&severity=&annotator=&task=&origin=&after=&page_size=; "
            "annotators see their own")},
    {"POST", "/api/projects/{id}/qc/run", api_qc_run, 0, false,
     AUTHED("Run the QC rules over the project, replacing the batch findings; managers")},
    {"GET", "/api/projects/{id}/qc/report", api_qc_report, 0, false,
     AUTHED("The QC report (consensus, accuracy, agreement, findings, trends): ?control=; "
            "reviewers")},
    {"GET", "/api/projects/{id}/qc/report.html", api_qc_report_html, 0, false,
     AUTHED("The QC report as a self-contained HTML page (own strict CSP, sandboxed); "
            "reviewers")},
    {"GET", "/api/webhooks", api_webhooks_list, 0, false,
     AUTHED("Webhooks: ?project= (its managers), or all (admins)")},
    {"POST", "/api/webhooks", api_webhook_create, 0, false,
     AUTHED("Add a webhook (url, project, actions, headers, …); the URL must pass the outbound "
            "guard; project managers, admins for workspace-wide ones")},
    {"GET", "/api/webhooks/info", api_webhooks_info, 0, false,
     AUTHED("The webhook actions")},
    {"GET", "/api/webhooks/{id}", api_webhook_get, 0, false,
     AUTHED("One webhook, with its last delivery")},
    {"PATCH", "/api/webhooks/{id}", api_webhook_update, 0, false,
     AUTHED("Change a webhook (url, actions, headers, is_active, …)")},
    {"DELETE", "/api/webhooks/{id}", api_webhook_delete, 0, false, AUTHED("Delete a webhook")},
    {"GET", "/api/ml", api_ml_list, 0, false,
     AUTHED("Label Studio ML backends: ?project= (its managers), or all (admins)")},
    {"POST", "/api/ml", api_ml_create, 0, false,
     AUTHED("Add an ML backend (project, url, title, timeout, retries, batch_size, "
            "concurrency); the URL must pass the outbound guard; managers")},
    {"GET", "/api/ml/{id}", api_ml_get, 0, false, AUTHED("One ML backend; managers")},
    {"PATCH", "/api/ml/{id}", api_ml_update, 0, false,
     AUTHED("Change an ML backend (url, title, timeout, …); managers")},
    {"DELETE", "/api/ml/{id}", api_ml_delete, 0, false, AUTHED("Remove an ML backend; managers")},
    {"GET", "/api/projects/{id}/predictions/models", api_predict_models, 0, false,
     AUTHED("The models (with trained versions) and ML backends that can pre-annotate the "
            "project; managers")},
    {"POST", "/api/projects/{id}/predictions/jobs", api_predict_job_create, 0, false,
     AUTHED("Start a prediction job (model or backend, only_unlabeled); managers")},
    {"GET", "/api/projects/{id}/predictions/jobs/{jid}", api_predict_job_get, 0, false,
     AUTHED("A prediction job's status and progress; managers")},
};

int api_openapi(an_http_req *req, an_http_resp *resp, void *app)
{
    json_t *paths = json_object();
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const an_http_route *r = &routes[i];
        const route_info *info = r->data;
        json_t *path = json_object_get(paths, r->pattern);
        if (!path) {
            path = json_object();
            json_object_set_new(paths, r->pattern, path);
        }
        json_t *op = json_pack("{s:s,s:{s:{s:s},s:{s:s}}}", "summary", info->summary,
                               "responses", "200", "description", "success", "default",
                               "description", "an error: {\"error\": {code, message, field}}");
        json_t *params = json_array();
        for (const char *p = strchr(r->pattern, '{'); p; p = strchr(p + 1, '{')) {
            const char *end = strchr(p, '}');
            if (!end) break;
            json_t *name = json_stringn(p + 1, (size_t)(end - p - 1));
            /* Ids are integers; {field} (a task data key) is text. */
            bool text = strcmp(json_string_value(name), "field") == 0;
            json_array_append_new(params, json_pack("{s:o,s:s,s:b,s:{s:s}}", "name", name, "in",
                                                    "path", "required", 1, "schema", "type",
                                                    text ? "string" : "integer"));
        }
        if (json_array_size(params))
            json_object_set_new(op, "parameters", params);
        else
            json_decref(params);
        if (info->public) json_object_set_new(op, "security", json_array());
        char method[16];
        size_t k = 0;
        for (; r->method[k] && k + 1 < sizeof method; k++)
            method[k] = (char)(r->method[k] | 0x20); /* lower case */
        method[k] = '\0';
        json_object_set_new(path, method, op);
    }
    json_t *doc = json_pack(
        "{s:s,s:{s:s,s:s},s:o,s:{s:{s:{s:s,s:s,s:s,s:s},s:{s:s,s:s,s:s}}},s:[{s:[]},{s:[]}]}",
        "openapi", "3.0.3", "info", "title", "annot API", "version", "1", "paths", paths,
        "components", "securitySchemes", "token", "type", "apiKey", "in", "header", "name",
        "Authorization", "description", "Token <token> (annot token create USER)", "session",
        "type", "apiKey", "in", "cookie", "name", "annot_session", "security", "token",
        "session");
    an_http_json(resp, 200, doc);
    return 0;
}

int an_app_start(const an_app_opts *o, an_app **out, an_err *err)
{
    *out = NULL;
    an_store *probe = NULL;
    int rc = an_store_open(o->db, &probe, err);
    if (rc < 0) return rc;
    an_store_close(probe);
    /* A client hanging up mid-response must not end the process. */
    signal(SIGPIPE, SIG_IGN);

    an_app *app = an_xcalloc(1, sizeof *app);
    app->db = an_xstrdup(o->db);
    app->exports_dir = an_exports_dir(o->db);
    if (o->n_media_roots) app->media_roots = an_xcalloc(o->n_media_roots, sizeof(char *));
    for (size_t i = 0; i < o->n_media_roots; i++) {
        char *real = realpath(o->media_roots[i], NULL);
        struct stat st;
        if (!real || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
            free(real);
            an_app_stop(app);
            return an_err_set(err, AN_EINVAL, o->media_roots[i],
                              "the media root is not an existing folder; give a folder that "
                              "holds the tasks' media files");
        }
        app->media_roots[app->n_media_roots++] = real;
    }
    app->secure_cookies = o->secure_cookies;
    app->logins = an_ratelimit_new(5, 60);
    app->configs = api_config_cache_new();
    pthread_key_create(&app->store_key, close_store);
    app->key_made = true;
    rc = api_checkpointer_start(o->db, &app->checkpointer, err);
    if (rc < 0) {
        an_app_stop(app);
        return rc;
    }
    rc = api_writer_start(o->db, app->checkpointer, &app->writer, err);
    if (rc < 0) {
        an_app_stop(app);
        return rc;
    }
    rc = an_webhooks_start(o->db, &app->webhooks, err);
    if (rc < 0) {
        an_app_stop(app);
        return rc;
    }
    rc = an_export_runner_start(o->db, o->export_workers ? o->export_workers : 1, &app->exports,
                                err);
    if (rc < 0) {
        an_app_stop(app);
        return rc;
    }
    app->predict_jobs = an_predict_jobs_new(o->db);
    an_http_opts ho = {.host = o->host,
                       .port = o->port,
                       .threads = o->threads,
                       .routes = routes,
                       .n_routes = sizeof routes / sizeof routes[0],
                       .app = app,
                       .before = authenticate,
                       .after = end_request,
                       .static_dir = o->static_dir};
    rc = an_http_start(&ho, &app->http, err);
    if (rc < 0) {
        an_app_stop(app);
        return rc;
    }
    *out = app;
    return 0;
}

int an_app_port(const an_app *a)
{
    return an_http_port(a->http);
}

void an_app_stop(an_app *a)
{
    if (!a) return;
    /* The writer first: it resumes every request it holds, which the daemon needs before it
     * stops; requests that come meanwhile write on their own. */
    api_writer_stop(a->writer);
    a->writer = NULL;
    if (a->http) an_http_stop(a->http);
    /* Pool threads have exited: their store handles were closed by the key's destructor. */
    if (a->key_made) pthread_key_delete(a->store_key);
    an_export_runner_stop(a->exports);
    an_predict_jobs_free(a->predict_jobs); /* after the pool: no request starts one now */
    an_webhooks_stop(a->webhooks); /* after the pool: requests emit until they end */
    /* After the pool: the request handles' commits report to it until they are closed. */
    api_checkpointer_stop(a->checkpointer);
    an_ratelimit_free(a->logins);
    api_config_cache_free(a->configs);
    for (size_t i = 0; i < a->n_media_roots; i++) free(a->media_roots[i]);
    free(a->media_roots);
    free(a->exports_dir);
    free(a->db);
    free(a);
}
