/* The audit log, read by admins: who did what to which object, per project, user or time. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "server/api.h"

static int add_entry(void *ud, const an_audit_entry *a)
{
    json_t *j = json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)a->id, "at", a->at ? a->at : "",
                          "action", a->action ? a->action : "", "object",
                          a->object ? a->object : "");
    json_object_set_new(j, "user", a->user_id ? json_integer(a->user_id) : json_null());
    json_object_set_new(j, "object_id", a->object_id ? json_integer(a->object_id) : json_null());
    json_object_set_new(j, "project", a->project_id ? json_integer(a->project_id) : json_null());
    json_t *detail = a->detail ? json_loads(a->detail, JSON_DECODE_ANY, NULL) : NULL;
    json_object_set_new(j, "detail", detail ? detail : json_null());
    json_array_append_new(ud, j);
    return 0;
}

/* "since" must look like ISO 8601 (digits, '-', ':', 'T', '.', 'Z'), so that the text
 * comparison in the store means a time comparison. */
static bool iso_like(const char *t)
{
    if (strlen(t) < 10 || strlen(t) > 40) return false;
    for (const char *c = t; *c; c++)
        if (!((*c >= '0' && *c <= '9') || *c == '-' || *c == ':' || *c == 'T' || *c == '.' ||
              *c == 'Z'))
            return false;
    return true;
}

int api_audit_list(an_http_req *req, an_http_resp *resp, void *app)
{
    if (api_require(req, resp, AN_ACT_MANAGE_USERS)) return 0;
    an_store *s = api_store(app, resp);
    if (!s) return 0;
    long project = api_query_long(req, "project", 0, LONG_MAX);
    long user = api_query_long(req, "user", 0, LONG_MAX);
    long after = api_query_long(req, "after", 0, LONG_MAX);
    long limit = api_query_long(req, "limit", 100, 1000);
    const char *since = an_http_query(req, "since");
    if (project < 0 || user < 0 || after < 0 || limit < 0 || (since && !iso_like(since))) {
        an_http_error(resp, 400, "invalid",
                      "project and user are ids; since is an ISO 8601 UTC time such as "
                      "2024-05-01T00:00:00Z; after is an entry id; limit 1..1000",
                      since && !iso_like(since) ? "since" : "project");
        return 0;
    }
    an_audit_filter f = {.project_id = project,
                         .user_id = user,
                         .since = since,
                         .after_id = after,
                         .limit = (int)limit};
    json_t *list = json_array();
    an_err e;
    an_err_clear(&e);
    if (an_store_audit_list(s, &f, add_entry, list, &e) < 0) {
        json_decref(list);
        return api_fail(resp, &e, 0);
    }
    size_t n = json_array_size(list);
    json_t *next = n == (size_t)limit
                       ? json_integer(json_integer_value(json_object_get(json_array_get(list, n - 1), "id")))
                       : json_null();
    an_http_json(resp, 200, json_pack("{s:o,s:o}", "entries", list, "next_after", next));
    return 0;
}
