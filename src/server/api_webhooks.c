/* Webhooks, in Label Studio's shape: a project's managers manage its webhooks, admins all
 * of them and the workspace-wide ones (project null). Every URL passes the outbound guard
 * when it is saved (400 naming "url" and why) and again at each delivery. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "server/api.h"
#include "store/webhooks.h"

static json_t *parsed_or(const char *text, json_t *dflt)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    if (!j) return dflt;
    json_decref(dflt);
    return j;
}

static json_t *hook_json(an_app *app, const an_webhook *h)
{
    json_t *j = json_pack("{s:I,s:i,s:o,s:s,s:b,s:b,s:o,s:b,s:o,s:s,s:s}", "id",
                          (json_int_t)h->id, "organization", 1, "project",
                          h->project_id ? json_integer(h->project_id) : json_null(), "url",
                          h->url ? h->url : "", "send_payload", h->send_payload,
                          "send_for_all_actions", h->send_for_all_actions, "headers",
                          parsed_or(h->headers, json_object()), "is_active", h->is_active,
                          "actions", parsed_or(h->actions, json_array()), "created_at",
                          h->created_at ? h->created_at : "", "updated_at",
                          h->updated_at ? h->updated_at : "");
    an_webhook_delivery d;
    if (an_webhooks_last(app->webhooks, h->id, &d)) {
        json_t *last = json_pack("{s:s,s:s,s:i,s:s,s:s}", "state", d.state, "action", d.action,
                                 "attempts", d.attempts, "at", d.at, "message", d.message);
        json_object_set_new(last, "status", d.http_status ? json_integer(d.http_status)
                                                          : json_null());
        json_object_set_new(j, "last_delivery", last);
    } else {
        json_object_set_new(j, "last_delivery", json_null());
    }
    return j;
}

/* Whether the signed-in user manages project_id's webhooks (0: workspace-wide ones, which
 * only admins manage). Returns 0, or 1 after answering 404/403. */
static int hook_access(an_http_req *req, an_http_resp *resp, an_store *s, int64_t project_id)
{
    if (!project_id) {
        if (api_me(req)->role == AN_ROLE_ADMIN) return 0;
        an_http_error(resp, 403, "forbidden",
                      "only administrators manage workspace-wide webhooks; give a project",
                      "project");
        return 1;
    }
    an_project p;
    if (api_project_for(req, resp, s, project_id, AN_ACT_MANAGE_PROJECT, &p)) return 1;
    an_project_clear(&p);
    return 0;
}

/* Loads webhook id and checks access. Returns 0 with h filled (caller clears), or 1. */
static int hook_for(an_http_req *req, an_http_resp *resp, an_store *s, an_webhook *h)
{
    memset(h, 0, sizeof *h);
    int64_t id = api_param_id(req, resp, "id");
    if (!id) return 1;
    an_err e;
    an_err_clear(&e);
    if (an_store_webhook_get(s, id, h, &e) < 0) {
        an_webhook_clear(h);
        api_fail(resp, &e, 0);
        return 1;
    }
    /* A workspace-wide webhook is invisible to those who cannot manage it, like a project. */
    if (!h->project_id && api_me(req)->role != AN_ROLE_ADMIN) {
        an_webhook_clear(h);
        an_http_error(resp, 404, "not_found", "no such webhook", "id");
        return 1;
    }
    if (hook_access(req, resp, s, h->project_id)) {
        an_webhook_clear(h);
        return 1;
    }
    return 0;
}

static bool opt_bool(json_t *body, const char *name, bool *out, an_http_resp *resp)
{
    json_t *v = json_object_get(body, name);
    if (!v) return true;
    if (!json_is_boolean(v)) {
        an_http_error(resp, 400, "invalid", "this field is true or false", name);
        return false;
    }
    *out = json_is_true(v);
    return true;
}

/* Applies the body's fields to h (url, send_payload, send_for_all_actions, actions,
 * headers, is_active) after checking them; the URL through the guard. Returns 0, or 1 after
 * answering 400. */
static int apply_fields(an_store *s, json_t *body, an_webhook *h, bool creating,
                        an_http_resp *resp)
{
    an_err e;
    an_err_clear(&e);
    json_t *url = json_object_get(body, "url");
    if ((creating || url) && !json_is_string(url)) {
        an_http_error(resp, 400, "invalid", "give the webhook's url (http or https)", "url");
        return 1;
    }
    if (!opt_bool(body, "send_payload", &h->send_payload, resp) ||
        !opt_bool(body, "send_for_all_actions", &h->send_for_all_actions, resp) ||
        !opt_bool(body, "is_active", &h->is_active, resp))
        return 1;
    json_t *actions = json_object_get(body, "actions");
    if (actions && !json_is_null(actions)) {
        if (an_webhook_check_actions(actions, h->project_id != 0, &e) < 0)
            return api_fail(resp, &e, 400), 1;
        free(h->actions);
        h->actions = an_json_text(actions);
    }
    json_t *headers = json_object_get(body, "headers");
    if (headers && !json_is_null(headers)) {
        if (an_webhook_check_headers(headers, &e) < 0) return api_fail(resp, &e, 400), 1;
        free(h->headers);
        h->headers = an_json_text(headers);
    }
    if (url) {
        const char *text = json_string_value(url);
        if (an_webhook_check_url(s, text, &e) < 0) {
            /* A refused URL is bad input; a store failure while reading the list is not. */
            return api_fail(resp, &e, e.code == AN_EINVAL ? 400 : 0), 1;
        }
        free(h->url);
        h->url = an_xstrdup(text);
    }
    return 0;
}

static char *audit_detail(const an_webhook *h)
{
    json_t *d = json_pack("{s:s,s:o}", "url", h->url ? h->url : "", "project",
                          h->project_id ? json_integer(h->project_id) : json_null());
    char *text = an_json_text(d);
    json_decref(d);
    return text;
}

typedef struct list_ctx {
    an_app *app;
    json_t *list;
} list_ctx;

static int add_hook(void *ud, const an_webhook *h)
{
    list_ctx *c = ud;
    json_array_append_new(c->list, hook_json(c->app, h));
    return 0;
}

int api_webhooks_list(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_app *app = appv;
    an_store *s = api_store(app, resp);
    if (!s) return 0;
    long project = api_query_long(req, "project", 0, INT32_MAX);
    if (project < 0) {
        an_http_error(resp, 400, "invalid", "project is a project id", "project");
        return 0;
    }
    if (!project && api_me(req)->role != AN_ROLE_ADMIN) {
        an_http_error(resp, 403, "forbidden",
                      "give ?project= (a project you manage); only administrators list all "
                      "webhooks",
                      "project");
        return 0;
    }
    if (project && hook_access(req, resp, s, project)) return 0;
    list_ctx c = {app, json_array()};
    an_err e;
    an_err_clear(&e);
    if (an_store_webhook_list(s, project ? AN_WEBHOOKS_PROJECT : AN_WEBHOOKS_ALL, project,
                              add_hook, &c, &e) < 0) {
        json_decref(c.list);
        return api_fail(resp, &e, 0);
    }
    an_http_json(resp, 200, c.list);
    return 0;
}

int api_webhook_create(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_app *app = appv;
    an_store *s = api_store(app, resp);
    if (!s) return 0;
    json_t *body = api_body_object(req, resp);
    if (!body) return 0;
    an_webhook h = {.send_payload = true, .send_for_all_actions = true, .is_active = true};
    json_t *project = json_object_get(body, "project");
    if (project && !json_is_null(project) &&
        (!json_is_integer(project) || json_integer_value(project) < 1)) {
        an_http_error(resp, 400, "invalid", "project is a project id, or null for every project",
                      "project");
        goto out;
    }
    h.project_id = json_is_integer(project) ? json_integer_value(project) : 0;
    if (hook_access(req, resp, s, h.project_id)) goto out;
    if (apply_fields(s, body, &h, true, resp)) goto out;
    h.created_by = api_me(req)->id;
    an_err e;
    an_err_clear(&e);
    int64_t id = 0;
    int rc = an_store_begin(s, &e);
    if (rc == 0) {
        rc = an_store_webhook_add(s, &h, &id, &e);
        char *detail = rc == 0 ? audit_detail(&h) : NULL;
        if (rc == 0)
            rc = an_store_audit(s, api_me(req)->id, "webhook.create", "webhook", id, detail, &e);
        free(detail);
        rc = an_store_end(s, rc, &e);
    }
    if (rc < 0) {
        api_fail(resp, &e, 0);
        goto out;
    }
    an_webhooks_changed(app->webhooks);
    an_webhook_clear(&h);
    if (an_store_webhook_get(s, id, &h, &e) < 0) {
        api_fail(resp, &e, 0);
        goto out;
    }
    an_http_json(resp, 201, hook_json(app, &h));
out:
    an_webhook_clear(&h);
    json_decref(body);
    return 0;
}

int api_webhooks_info(an_http_req *req, an_http_resp *resp, void *app)
{
    (void)req, (void)app;
    size_t n;
    const an_webhook_action *a = an_webhook_actions(&n);
    json_t *info = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(info, a[i].name,
                            json_pack("{s:s,s:s,s:s,s:b,s:b}", "name", a[i].title, "description",
                                      "", "key", a[i].key, "many", a[i].many,
                                      "organization-only", a[i].organization_only));
    an_http_json(resp, 200, info);
    return 0;
}

int api_webhook_get(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_app *app = appv;
    an_store *s = api_store(app, resp);
    an_webhook h;
    if (!s || hook_for(req, resp, s, &h)) return 0;
    an_http_json(resp, 200, hook_json(app, &h));
    an_webhook_clear(&h);
    return 0;
}

int api_webhook_update(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_app *app = appv;
    an_store *s = api_store(app, resp);
    an_webhook h;
    if (!s || hook_for(req, resp, s, &h)) return 0;
    json_t *body = api_body_object(req, resp);
    if (!body) goto out;
    json_t *project = json_object_get(body, "project");
    if (project && !(json_is_null(project) ? h.project_id == 0
                                           : json_is_integer(project) &&
                                                 json_integer_value(project) == h.project_id)) {
        an_http_error(resp, 400, "invalid",
                      "a webhook's project cannot change; create a webhook for the other project",
                      "project");
        goto out;
    }
    if (apply_fields(s, body, &h, false, resp)) goto out;
    an_err e;
    an_err_clear(&e);
    int rc = an_store_begin(s, &e);
    if (rc == 0) {
        rc = an_store_webhook_update(s, &h, &e);
        char *detail = rc == 0 ? audit_detail(&h) : NULL;
        if (rc == 0)
            rc = an_store_audit(s, api_me(req)->id, "webhook.update", "webhook", h.id, detail,
                                &e);
        free(detail);
        rc = an_store_end(s, rc, &e);
    }
    if (rc < 0) {
        api_fail(resp, &e, 0);
        goto out;
    }
    an_webhooks_changed(app->webhooks);
    int64_t id = h.id;
    an_webhook_clear(&h);
    if (an_store_webhook_get(s, id, &h, &e) < 0) {
        api_fail(resp, &e, 0);
        goto out;
    }
    an_http_json(resp, 200, hook_json(app, &h));
out:
    json_decref(body);
    an_webhook_clear(&h);
    return 0;
}

int api_webhook_delete(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_app *app = appv;
    an_store *s = api_store(app, resp);
    an_webhook h;
    if (!s || hook_for(req, resp, s, &h)) return 0;
    char *detail = audit_detail(&h);
    int rc = api_delete_audited(req, resp, s, "webhook.delete", "webhook", h.id, detail,
                                an_store_webhook_delete);
    free(detail);
    an_webhook_clear(&h);
    if (resp->status == 204) an_webhooks_changed(app->webhooks);
    return rc;
}
