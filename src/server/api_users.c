/* Users and project members over HTTP: admins manage accounts, managers see names and roles
 * and manage their projects' members, everyone may change their own password and make their
 * own API tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/json.h"
#include "server/api.h"

typedef struct users_ctx {
    an_store *s;
    json_t *list;
    bool full;
} users_ctx;

static int add_user(void *ud, const an_user *u)
{
    users_ctx *c = ud;
    json_array_append_new(c->list, api_user_json(c->s, u, c->full));
    return 0;
}

int api_users_list(an_http_req *req, an_http_resp *resp, void *app)
{
    const an_user *me = api_me(req);
    if (me->role != AN_ROLE_ADMIN && me->role != AN_ROLE_MANAGER) {
        an_http_error(resp, 403, "forbidden", "only managers and admins list users", NULL);
        return 0;
    }
    an_store *s = api_store(app, resp);
    if (!s) return 0;
    users_ctx c = {s, json_array(), me->role == AN_ROLE_ADMIN};
    an_err e;
    an_err_clear(&e);
    if (an_store_user_list(s, add_user, &c, &e) < 0) {
        json_decref(c.list);
        return api_fail(resp, &e, 0);
    }
    an_http_json(resp, 200, c.list);
    return 0;
}

/* Reads an optional string field; false (after answering 400) when present but not a
 * string. */
static bool opt_string(json_t *body, const char *key, const char **out, an_http_resp *resp)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v)) return true;
    if (!json_is_string(v)) {
        char msg[96];
        snprintf(msg, sizeof msg, "\"%s\" must be a string", key);
        an_http_error(resp, 400, "invalid", msg, key);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static int respond_user(an_http_resp *resp, an_store *s, int64_t id, int status)
{
    an_user u = {0};
    an_err e;
    an_err_clear(&e);
    if (an_store_user_by_id(s, id, &u, &e) < 0) return api_fail(resp, &e, 0);
    an_http_json(resp, status, api_user_json(s, &u, true));
    an_user_clear(&u);
    return 0;
}

int api_user_create(an_http_req *req, an_http_resp *resp, void *app)
{
    if (api_require(req, resp, AN_ACT_MANAGE_USERS)) return 0;
    an_store *s = api_store(app, resp);
    json_t *body = s ? api_body_object(req, resp) : NULL;
    if (!body) return 0;
    const char *name = NULL, *role_text = NULL, *password = NULL;
    int rc = 1;
    if (opt_string(body, "username", &name, resp) && opt_string(body, "role", &role_text, resp) &&
        opt_string(body, "password", &password, resp)) {
        int role = role_text ? an_role_parse(role_text) : -1;
        if (!name || role < 0) {
            an_http_error(resp, 400, "invalid",
                          "give \"username\" and \"role\" (admin, manager, reviewer or annotator)",
                          name ? "role" : "username");
        } else {
            an_err e;
            an_err_clear(&e);
            int64_t id = 0;
            char hash[AN_PASSWORD_HASH_BYTES];
            /* Hash before the transaction: Argon2id takes tens of milliseconds. */
            if (password && an_password_hash(password, hash, &e) < 0) {
                api_fail(resp, &e, 400);
            } else if ((rc = an_store_begin(s, &e)) == 0) {
                rc = an_store_user_add(s, name, (an_role)role, &id, &e);
                if (rc == 0 && password) rc = an_store_user_set_password(s, id, hash, &e);
                if (rc == 0)
                    rc = an_store_audit(s, api_me(req)->id, "user.create", "user", id, NULL, &e);
                rc = an_store_end(s, rc, &e);
                if (rc < 0) api_fail(resp, &e, 0);
                if (rc == 0) respond_user(resp, s, id, 201);
            }
        }
    }
    json_decref(body);
    return 0;
}

int api_user_update(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    if (!id) return 0;
    const an_user *me = api_me(req);
    bool admin = an_can(me, AN_ACT_MANAGE_USERS, false);
    if (!admin && id != me->id) {
        an_http_error(resp, 403, "forbidden", "only admins change other users", NULL);
        return 0;
    }
    json_t *body = api_body_object(req, resp);
    if (!body) return 0;
    const char *role_text = NULL, *password = NULL, *old = NULL;
    json_t *active = json_object_get(body, "active");
    an_err e;
    an_err_clear(&e);
    an_user target = {0};
    if (!opt_string(body, "role", &role_text, resp) || !opt_string(body, "password", &password, resp) ||
        !opt_string(body, "old_password", &old, resp))
        goto out;
    if (active && !json_is_boolean(active)) {
        an_http_error(resp, 400, "invalid", "\"active\" must be true or false", "active");
        goto out;
    }
    int role = role_text ? an_role_parse(role_text) : 0;
    if (role < 0) {
        an_http_error(resp, 400, "invalid", "role is admin, manager, reviewer or annotator", "role");
        goto out;
    }
    if (!admin && (role_text || active)) {
        an_http_error(resp, 403, "forbidden", "only admins change roles and activity", NULL);
        goto out;
    }
    if (an_store_user_by_id(s, id, &target, &e) < 0) {
        api_fail(resp, &e, 0);
        goto out;
    }
    if (!admin) {
        /* One's own password: prove the old one first, so a stolen session cannot lock the
         * owner out. The check costs one Argon2id verification, like a login. */
        an_user check = {0};
        if (!password) {
            an_http_error(resp, 400, "invalid", "give \"password\" and \"old_password\"", "password");
            goto out;
        }
        if (!old || an_login(s, target.name, old, &check, &e) < 0) {
            an_http_error(resp, 403, "forbidden", "the old password is wrong", "old_password");
            goto out;
        }
        an_user_clear(&check);
    }
    if (admin && id == me->id && ((role_text && role != AN_ROLE_ADMIN) || json_is_false(active))) {
        an_http_error(resp, 400, "invalid",
                      "you cannot demote or deactivate yourself; ask another admin", "role");
        goto out;
    }
    char hash[AN_PASSWORD_HASH_BYTES];
    if (password && an_password_hash(password, hash, &e) < 0) {
        api_fail(resp, &e, 400);
        goto out;
    }
    int rc = an_store_begin(s, &e);
    if (rc == 0) {
        if (rc == 0 && role_text && role != (int)target.role)
            rc = an_store_user_set_role(s, id, (an_role)role, &e);
        if (rc == 0 && active)
            rc = an_store_user_set_active(s, id, json_is_true(active), &e);
        if (rc == 0 && password) rc = an_store_user_set_password(s, id, hash, &e);
        if (rc == 0) rc = an_store_audit(s, me->id, "user.update", "user", id, NULL, &e);
        rc = an_store_end(s, rc, &e);
    }
    if (rc < 0)
        api_fail(resp, &e, 0);
    else
        respond_user(resp, s, id, 200);
out:
    an_user_clear(&target);
    json_decref(body);
    return 0;
}

int api_user_token(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    if (!id) return 0;
    const an_user *me = api_me(req);
    if (id != me->id && api_require(req, resp, AN_ACT_MANAGE_USERS)) return 0;
    size_t len;
    an_http_body(req, &len);
    const char *label = NULL;
    json_t *body = NULL;
    if (len) {
        if (!(body = api_body_object(req, resp))) return 0;
        label = an_json_str(body, "label");
    }
    char token[AN_TOKEN_TEXT_BYTES];
    int64_t tid = 0;
    an_err e;
    an_err_clear(&e);
    int rc = an_token_create(s, id, label ? label : "api", token, &tid, &e);
    if (rc == 0) rc = an_store_audit(s, me->id, "token.create", "user", id, NULL, &e);
    json_decref(body);
    if (rc < 0) return api_fail(resp, &e, 0);
    an_http_resp_header(resp, "Cache-Control", "no-store", NULL);
    an_http_json(resp, 201, json_pack("{s:s,s:I,s:I}", "token", token, "id", (json_int_t)tid,
                                      "user", (json_int_t)id));
    sodium_memzero(token, sizeof token);
    return 0;
}

/* ---- members -------------------------------------------------------------------------------- */

int api_members_list(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_MANAGE_PROJECT, &p)) return 0;
    an_project_clear(&p);
    users_ctx c = {s, json_array(), false};
    an_err e;
    an_err_clear(&e);
    if (an_store_member_list(s, id, add_user, &c, &e) < 0) {
        json_decref(c.list);
        return api_fail(resp, &e, 0);
    }
    an_http_json(resp, 200, c.list);
    return 0;
}

int api_member_add(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_MANAGE_PROJECT, &p)) return 0;
    an_project_clear(&p);
    json_t *body = api_body_object(req, resp);
    if (!body) return 0;
    /* "user" (an id or a name), or "user_id", or "username". */
    json_t *v = json_object_get(body, "user");
    if (!v) v = json_object_get(body, "user_id");
    if (!v) v = json_object_get(body, "username");
    char key[300] = "";
    if (json_is_integer(v))
        snprintf(key, sizeof key, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v))
        snprintf(key, sizeof key, "%s", json_string_value(v));
    an_err e;
    an_err_clear(&e);
    an_user u = {0};
    int rc = 0;
    if (!*key) {
        an_http_error(resp, 400, "invalid", "give \"user\": a user id or name", "user");
    } else if (an_store_user_get(s, key, &u, &e) < 0) {
        an_http_error(resp, 404, "not_found", "no such user", "user");
    } else if ((rc = an_store_begin(s, &e)) == 0) {
        rc = an_store_member_add(s, id, u.id, &e);
        if (rc == 0) {
            char detail[64];
            snprintf(detail, sizeof detail, "{\"user\":%lld}", (long long)u.id);
            rc = an_store_audit(s, api_me(req)->id, "member.add", "project", id, detail, &e);
        }
        rc = an_store_end(s, rc, &e);
        if (rc < 0)
            api_fail(resp, &e, 0);
        else
            an_http_json(resp, 201, api_user_json(s, &u, false));
    } else {
        api_fail(resp, &e, 0);
    }
    an_user_clear(&u);
    json_decref(body);
    return 0;
}

int api_member_remove(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_MANAGE_PROJECT, &p)) return 0;
    an_project_clear(&p);
    int64_t uid = api_param_id(req, resp, "user_id");
    if (!uid) return 0;
    an_err e;
    an_err_clear(&e);
    int rc = an_store_begin(s, &e);
    if (rc == 0) {
        rc = an_store_member_remove(s, id, uid, &e);
        if (rc == 0) {
            char detail[64];
            snprintf(detail, sizeof detail, "{\"user\":%lld}", (long long)uid);
            rc = an_store_audit(s, api_me(req)->id, "member.remove", "project", id, detail, &e);
        }
        rc = an_store_end(s, rc, &e);
    }
    if (rc < 0) return api_fail(resp, &e, 0);
    resp->status = 204;
    return 0;
}
