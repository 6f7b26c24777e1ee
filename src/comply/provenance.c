/* Task provenance fields and licence policies (see provenance.h). */
#include "comply/provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/json.h"

enum { MAX_PATTERNS = 256, MAX_PATTERN = 200 };

struct an_licence_policy {
    an_licence_action action;
    char **allow;
    size_t n_allow;
};

void an_licence_policy_free(an_licence_policy *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n_allow; i++) free(p->allow[i]);
    free(p->allow);
    free(p);
}

int an_licence_policy_parse(const char *settings_json, an_licence_policy **out, an_err *err)
{
    *out = NULL;
    if (!settings_json || !*settings_json) return 0;
    json_t *settings = an_json_parse(settings_json, strlen(settings_json), "settings", err);
    if (!settings) return -AN_EINVAL;
    const json_t *pol = json_object_get(settings, "licence_policy");
    int rc = 0;
    if (!pol || json_is_null(pol)) goto done;
    if (!json_is_object(pol)) {
        rc = an_err_set(err, AN_EINVAL, "settings.licence_policy",
                        "the licence policy must be an object {\"allow\": [...], \"action\": "
                        "\"flag\"|\"refuse\"}");
        goto done;
    }
    const char *action = an_json_str(pol, "action");
    const json_t *allow = json_object_get(pol, "allow");
    if (json_object_get(pol, "action") && (!action || (strcmp(action, "flag") && strcmp(action, "refuse")))) {
        rc = an_err_set(err, AN_EINVAL, "settings.licence_policy.action",
                        "the action must be \"flag\" (import and count) or \"refuse\" (reject)");
        goto done;
    }
    if (!json_is_array(allow) || json_array_size(allow) > MAX_PATTERNS) {
        rc = an_err_set(err, AN_EINVAL, "settings.licence_policy.allow",
                        "give the allowed licences as a list of at most %d SPDX ids or patterns "
                        "such as \"contract:*\"",
                        MAX_PATTERNS);
        goto done;
    }
    an_licence_policy *p = an_xcalloc(1, sizeof *p);
    p->action = action && !strcmp(action, "refuse") ? AN_LICENCE_REFUSE : AN_LICENCE_FLAG;
    p->allow = an_xcalloc(json_array_size(allow) + 1, sizeof *p->allow);
    for (size_t i = 0; i < json_array_size(allow); i++) {
        const json_t *v = json_array_get(allow, i);
        const char *s = json_string_value(v);
        if (!s || !*s || strlen(s) > MAX_PATTERN) {
            char where[64];
            snprintf(where, sizeof where, "settings.licence_policy.allow[%zu]", i);
            an_licence_policy_free(p);
            rc = an_err_set(err, AN_EINVAL, where,
                            "each allowed licence is a non-empty string of at most %d bytes",
                            MAX_PATTERN);
            goto done;
        }
        p->allow[p->n_allow++] = an_xstrdup(s);
    }
    *out = p;
done:
    json_decref(settings);
    return rc;
}

an_licence_action an_licence_policy_action(const an_licence_policy *p)
{
    return p ? p->action : AN_LICENCE_FLAG;
}

bool an_licence_allowed(const an_licence_policy *p, const char *licence)
{
    if (!p) return true;
    if (!licence || !*licence) return false;
    for (size_t i = 0; i < p->n_allow; i++) {
        const char *pat = p->allow[i];
        size_t n = strlen(pat);
        if (n && pat[n - 1] == '*') {
            if (strncasecmp(licence, pat, n - 1) == 0) return true;
        } else if (strcasecmp(licence, pat) == 0) {
            return true;
        }
    }
    return false;
}

void an_licence_policy_describe(const an_licence_policy *p, char *out, size_t cap)
{
    an_buf b = AN_BUF_INIT;
    for (size_t i = 0; p && i < p->n_allow; i++) {
        if (i) an_buf_adds(&b, ", ");
        an_buf_adds(&b, p->allow[i]);
    }
    snprintf(out, cap, "%s", b.p ? b.p : "nothing");
    an_buf_free(&b);
}

/* Fills the fields of out still unset from object o's members. One pass over the members
 * rather than a lookup per name: the importer calls this for every record, and most records
 * have a handful of data fields and none of these. */
static void take_fields(const json_t *o, an_provenance *out)
{
    if (!json_is_object(o)) return;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        if (key[0] != 's' && key[0] != 'l' && key[0] != 'a') continue;
        const char *text = json_string_value(v);
        if (!text) continue;
        if (!out->source && !strcmp(key, "source"))
            out->source = text;
        else if (!out->licence && (!strcmp(key, "licence") || !strcmp(key, "license")))
            out->licence = text;
        else if (!out->authorisation &&
                 (!strcmp(key, "authorisation") || !strcmp(key, "authorization")))
            out->authorisation = text;
    }
}

bool an_provenance_of_record(const json_t *data, const json_t *meta, an_provenance *out)
{
    memset(out, 0, sizeof *out);
    take_fields(meta, out); /* meta first: it wins */
    take_fields(data, out);
    return out->source || out->licence || out->authorisation;
}
