/* annot provenance PROJECT [--json]: the licences of a project's tasks, with counts and what
 * the project's licence policy says of each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "comply/provenance.h"

static const char usage[] =
    "usage: annot provenance PROJECT [--json]\n\n"
    "Counts the project's tasks per licence (from the \"licence\" field of their data or meta\n"
    "at import), says whether the project's licence policy allows each, and how many tasks\n"
    "the import flagged. Set the policy in the project's settings:\n"
    "  {\"licence_policy\": {\"allow\": [\"CC0-1.0\", \"CC-BY-4.0\", \"contract:*\"],\n"
    "                      \"action\": \"flag\"|\"refuse\"}}\n";

typedef struct prov_ctx {
    cli *c;
    const an_licence_policy *policy;
    json_t *list;
    int64_t with_row, flagged;
} prov_ctx;

static int on_licence(void *ud, const char *licence, int64_t tasks, int64_t flagged)
{
    prov_ctx *x = ud;
    x->with_row += tasks;
    x->flagged += flagged;
    bool allowed = an_licence_allowed(x->policy, licence);
    if (x->c->json) {
        json_t *o = json_pack("{s:o,s:I,s:b,s:I}", "licence",
                              licence ? json_string(licence) : json_null(), "tasks",
                              (json_int_t)tasks, "allowed", allowed, "flagged", (json_int_t)flagged);
        json_array_append_new(x->list, o);
    } else {
        printf("  %-32s %10lld  %s%s\n", licence ? licence : "(none given)", (long long)tasks,
               x->policy ? (allowed ? "allowed" : "NOT ALLOWED") : "",
               flagged ? "  (flagged at import)" : "");
    }
    return 0;
}

int cmd_provenance(cli *c, int argc, char **argv)
{
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            c->json = true;
        } else if (argv[i][0] == '-' || name) {
            return cli_usage(c, "provenance", "unexpected argument %s", argv[i]);
        } else {
            name = argv[i];
        }
    }
    if (!name) return cli_usage(c, "provenance", "give a PROJECT");
    an_project p = {0};
    int status = cli_project(c, name, &p);
    if (status) return status;
    an_err e;
    an_err_clear(&e);
    an_licence_policy *policy = NULL;
    int rc = an_licence_policy_parse(p.settings, &policy, &e);
    prov_ctx x = {.c = c, .policy = policy, .list = json_array()};
    if (rc == 0 && !c->json) {
        char allowed[512];
        an_licence_policy_describe(policy, allowed, sizeof allowed);
        printf("project %s (id %lld): %lld tasks\n", p.name, (long long)p.id,
               (long long)p.task_count);
        if (policy)
            printf("licence policy: allow %s; %s the others\n", allowed,
                   an_licence_policy_action(policy) == AN_LICENCE_REFUSE ? "refuse" : "flag");
        else
            printf("licence policy: none (every licence is accepted)\n");
        printf("licences:\n");
    }
    if (rc == 0) rc = an_store_licence_counts(c->store, p.id, on_licence, &x, &e);
    int64_t without = p.task_count - x.with_row;
    if (rc == 0 && c->json) {
        json_t *o = json_pack("{s:I,s:s,s:I,s:O,s:I,s:I}", "project", (json_int_t)p.id, "name",
                              p.name, "tasks", (json_int_t)p.task_count, "licences", x.list,
                              "without_provenance", (json_int_t)without, "flagged",
                              (json_int_t)x.flagged);
        if (policy) {
            json_t *settings = an_json_parse(p.settings, strlen(p.settings), "settings", &e);
            json_object_set(o, "policy", json_object_get(settings, "licence_policy"));
            json_decref(settings);
        } else {
            json_object_set_new(o, "policy", json_null());
        }
        cli_print_json(o);
    } else if (rc == 0) {
        if (without > 0)
            printf("  %-32s %10lld  %s\n", "(no provenance recorded)", (long long)without,
                   policy ? "NOT ALLOWED (imported before the policy, or not checked)" : "");
        printf("flagged at import: %lld\n", (long long)x.flagged);
    }
    json_decref(x.list);
    an_licence_policy_free(policy);
    an_project_clear(&p);
    return rc < 0 ? cli_fail(c, &e) : 0;
}
