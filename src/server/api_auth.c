/* Health, metrics, login, logout, who am I. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "server/api.h"

#define SESSION_COOKIE "annot_session"
#define SESSION_TTL (14 * 24 * 3600)

int api_health(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    if (!s) return 0;
    an_http_json(resp, 200, json_pack("{s:s,s:i}", "status", "ok", "schema",
                                      an_store_schema_version(s)));
    return 0;
}

int api_metrics(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_app *app = appv;
    an_buf *b = an_http_scratch(req);
    an_http_metrics_text(app->http, b);
    an_store *s = api_store(app, resp);
    int64_t counts[AN_JOB_STATUS_COUNT];
    an_err e;
    an_err_clear(&e);
    if (s && an_store_export_job_counts(s, counts, &e) == 0) {
        an_buf_adds(b, "# HELP annot_export_jobs Export jobs in the workspace by status.\n"
                       "# TYPE annot_export_jobs gauge\n");
        for (int i = 0; i < AN_JOB_STATUS_COUNT; i++)
            an_buf_addf(b, "annot_export_jobs{status=\"%s\"} %lld\n",
                        an_job_status_name((an_job_status)i), (long long)counts[i]);
    }
    an_http_text(resp, 200, "text/plain; version=0.0.4", b->p, b->len);
    return 0;
}

static json_t *user_json(const an_user *u)
{
    return json_pack("{s:I,s:s,s:s}", "id", (json_int_t)u->id, "username", u->name, "role",
                     an_role_name(u->role));
}

int api_login(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_app *app = appv;
    json_t *body = api_body_object(req, resp);
    if (!body) return 0;
    const char *name = an_json_str(body, "username");
    const char *password = an_json_str(body, "password");
    if (!name || !password) {
        json_decref(body);
        an_http_error(resp, 400, "invalid", "give \"username\" and \"password\"", "username");
        return 0;
    }
    /* Failures are limited per client address and per user name, so neither guessing many
     * passwords for one user nor one password for many users goes fast. */
    char by_name[300];
    snprintf(by_name, sizeof by_name, "user:%s", name);
    const char *by_addr = an_http_client_addr(req);
    double now = an_monotonic();
    if (!an_ratelimit_allowed(app->logins, by_addr, now) ||
        !an_ratelimit_allowed(app->logins, by_name, now)) {
        json_decref(body);
        an_http_error(resp, 429, "rate_limited",
                      "too many failed logins; wait a minute and try again", NULL);
        an_http_resp_header(resp, "Retry-After", "60", NULL);
        return 0;
    }
    an_store *s = api_store(app, resp);
    an_user u = {0};
    an_err e;
    an_err_clear(&e);
    if (s && an_login(s, name, password, &u, &e) < 0) {
        an_ratelimit_hit(app->logins, by_addr, now);
        an_ratelimit_hit(app->logins, by_name, now);
        json_decref(body);
        an_http_error(resp, 401, "unauthenticated", e.msg, NULL);
        return 0;
    }
    json_decref(body);
    if (!s) return 0;
    an_ratelimit_reset(app->logins, by_name);
    char token[AN_SESSION_TEXT_BYTES], csrf[AN_CSRF_TEXT_BYTES];
    if (an_session_create(s, u.id, SESSION_TTL, token, csrf, &e) < 0) {
        an_user_clear(&u);
        return api_fail(resp, &e, 500);
    }
    char cookie[256];
    snprintf(cookie, sizeof cookie, "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s",
             SESSION_COOKIE, token, SESSION_TTL, app->secure_cookies ? "; Secure" : "");
    an_http_resp_header(resp, "Set-Cookie", cookie, NULL);
    an_store_audit(s, u.id, "login", "user", u.id, NULL, &e);
    an_http_json(resp, 200, json_pack("{s:o,s:s}", "user", user_json(&u), "csrf", csrf));
    an_user_clear(&u);
    return 0;
}

int api_logout(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    if (!s) return 0;
    const char *cookie = an_http_cookie(req, SESSION_COOKIE);
    an_err e;
    an_err_clear(&e);
    if (cookie && an_session_end(s, cookie, &e) < 0) return api_fail(resp, &e, 0);
    an_http_resp_header(resp, "Set-Cookie",
                        SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict", NULL);
    an_http_json(resp, 200, json_pack("{s:b}", "ok", 1));
    return 0;
}

int api_whoami(an_http_req *req, an_http_resp *resp, void *app)
{
    an_http_json(resp, 200, user_json(api_me(req)));
    return 0;
}
