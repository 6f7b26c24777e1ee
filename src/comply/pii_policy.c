/* The export-time PII policy check. See pii_policy.h. */
#include "comply/pii_policy.h"

#include <string.h>

#include "base/json.h"
#include "comply/pii.h"
#include "comply/pii_input.h"

typedef struct first_hit {
    int64_t task;
    char field[200];
    const char *type;
} first_hit;

static int on_hit(void *ud, const an_pii_hit *h)
{
    first_hit *f = ud;
    f->task = h->task_id;
    snprintf(f->field, sizeof f->field, "%s", h->field ? h->field : "");
    f->type = an_pii_type_name(h->f->type);
    return 1; /* the first one is enough */
}

int an_pii_export_check(an_store *s, const an_project *p, an_err *err)
{
    if (!p->settings || !*p->settings) return 0;
    json_t *set = an_json_parse(p->settings, strlen(p->settings), "settings", err);
    if (!set) return -AN_EINVAL;
    const char *pol = an_json_str(set, "pii_policy");
    bool refuse = pol && strcmp(pol, "refuse") == 0;
    int rc = 0;
    if (pol && !refuse && strcmp(pol, "allow") != 0)
        rc = an_err_set(err, AN_EINVAL, "settings.pii_policy",
                        "unknown policy \"%s\"; use \"refuse\" or \"allow\"", pol);
    json_decref(set);
    if (rc < 0 || !refuse) return rc;

    an_pii_rules *rules = an_pii_rules_new();
    an_pii_scanner *sc = NULL;
    an_pii_ctx *ctx = NULL;
    an_pii_opts opts = {.min_score = AN_PII_POLICY_MIN_SCORE};
    first_hit hit = {0};
    rc = an_pii_rules_from_settings(rules, p->settings, err);
    if (rc == 0) rc = an_pii_scanner_new(rules, &opts, &sc, err);
    if (rc == 0) rc = an_pii_ctx_new(sc, &ctx, err);
    if (rc == 0) rc = an_pii_scan_project(ctx, s, p->id, on_hit, &hit, err);
    if (rc == 1)
        rc = an_err_set(err, AN_EINVAL, "settings.pii_policy",
                        "project \"%s\" refuses exports holding personal information, and task "
                        "%lld %s holds a %s value; export a redacted copy (annot redact "
                        "--project %s --to NEW) or set pii_policy to \"allow\"",
                        p->name, (long long)hit.task, hit.field, hit.type, p->name);
    an_pii_ctx_free(ctx);
    an_pii_scanner_free(sc);
    an_pii_rules_free(rules);
    return rc;
}
