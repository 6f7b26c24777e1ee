/* annot audit [--since T] [--user U] [--project P] [--action A] [--limit N] [--json]: the
 * workspace's audit log, filtered, oldest first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "cli/cli.h"

static const char usage[] =
    "usage: annot audit [--since T] [--user U] [--project P] [--action A] [--limit N] [--json]\n\n"
    "Prints the audit log (who did what, when), oldest first.\n\n"
    "  --since T     entries at or after T: an ISO 8601 UTC time or date (2026-01-31,\n"
    "                2026-01-31T12:00:00Z), or an age such as 90m, 24h, 7d\n"
    "  --user U      entries by user U (name or id; `system` for entries with no user)\n"
    "  --project P   entries about project P (name or id)\n"
    "  --action A    entries whose action is A or starts with A. (annotation matches\n"
    "                annotation.create, annotation.update, ...)\n"
    "  --limit N     at most N entries\n"
    "  --json        one JSON object per line\n";

enum { PAGE = 1000, NAME_CACHE = 64 };

typedef struct audit_ctx {
    cli *c;
    const char *action;
    bool system_only;
    int64_t limit, printed, last_id;
    int rows;
    struct {
        int64_t id;
        char name[64];
    } names[NAME_CACHE];
    int n_names;
} audit_ctx;

static bool action_matches(const char *want, const char *action)
{
    if (!want) return true;
    size_t n = strlen(want);
    if (strncmp(action, want, n) != 0) return false;
    return action[n] == '\0' || action[n] == '.' || want[n - 1] == '.';
}

static const char *user_name(audit_ctx *x, int64_t id)
{
    if (id <= 0) return "system";
    for (int i = 0; i < x->n_names; i++)
        if (x->names[i].id == id) return x->names[i].name;
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)id);
    an_user u = {0};
    an_err e;
    an_err_clear(&e);
    int slot = x->n_names < NAME_CACHE ? x->n_names++ : (int)(id % NAME_CACHE);
    x->names[slot].id = id;
    if (an_store_user_get(x->c->store, key, &u, &e) == 0 && u.id == id)
        snprintf(x->names[slot].name, sizeof x->names[slot].name, "%s", u.name);
    else
        snprintf(x->names[slot].name, sizeof x->names[slot].name, "#%lld", (long long)id);
    an_user_clear(&u);
    return x->names[slot].name;
}

static int on_entry(void *ud, const an_audit_entry *a)
{
    audit_ctx *x = ud;
    x->rows++;
    x->last_id = a->id;
    if (x->limit && x->printed >= x->limit) return 0;
    if (!action_matches(x->action, a->action)) return 0;
    if (x->system_only && a->user_id > 0) return 0;
    x->printed++;
    if (x->c->json) {
        json_t *o = json_pack("{s:I,s:s,s:I,s:s,s:s,s:s,s:I,s:I}", "id", (json_int_t)a->id, "at",
                              a->at, "user_id", (json_int_t)a->user_id, "user",
                              user_name(x, a->user_id), "action", a->action, "object",
                              a->object ? a->object : "", "object_id", (json_int_t)a->object_id,
                              "project_id", (json_int_t)a->project_id);
        json_t *detail = NULL;
        if (a->detail) {
            an_err e;
            detail = an_json_parse(a->detail, strlen(a->detail), "detail", &e);
            if (!detail) detail = json_string(a->detail);
        }
        json_object_set_new(o, "detail", detail ? detail : json_null());
        cli_print_json(o);
    } else {
        printf("%lld  %s  %-12s %-22s %s", (long long)a->id, a->at, user_name(x, a->user_id),
               a->action, a->object ? a->object : "");
        if (a->object_id) printf(" %lld", (long long)a->object_id);
        if (a->project_id && (!a->object || strcmp(a->object, "project")))
            printf("  project %lld", (long long)a->project_id);
        if (a->detail) printf("  %s", a->detail);
        putchar('\n');
    }
    return 0;
}

/* Turns "24h"-style ages into an ISO time; checks the shape of absolute times. */
static bool parse_since(const char *arg, char out[32])
{
    char *end;
    long n = strtol(arg, &end, 10);
    if (end != arg && n >= 0 && end[0] && !end[1] && strchr("smhd", end[0])) {
        long mult = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : 86400;
        if (n > 100L * 366 * 86400 / mult) return false;
        time_t t = time(NULL) - (time_t)(n * mult);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
        return true;
    }
    /* YYYY-MM-DD, optionally followed by a time: compared as text, as the log stores it. */
    size_t len = strlen(arg);
    if (len < 10 || len > 31) return false;
    for (int i = 0; i < 10; i++)
        if (i == 4 || i == 7 ? arg[i] != '-' : (arg[i] < '0' || arg[i] > '9')) return false;
    snprintf(out, 32, "%s", arg);
    /* "…Z" sorts after "….123456Z" of the same second; drop it so that second is included. */
    len = strlen(out);
    if (len > 10 && out[len - 1] == 'Z') out[len - 1] = '\0';
    return true;
}

int cmd_audit(cli *c, int argc, char **argv)
{
    const char *since = NULL, *user = NULL, *project = NULL, *action = NULL;
    int64_t limit = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            c->json = true;
        } else if (!strcmp(a, "--since") || !strcmp(a, "--user") || !strcmp(a, "--project") ||
                   !strcmp(a, "--action") || !strcmp(a, "--limit")) {
            if (i + 1 >= argc) return cli_usage(c, "audit", "%s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--since"))
                since = v;
            else if (!strcmp(a, "--user"))
                user = v;
            else if (!strcmp(a, "--project"))
                project = v;
            else if (!strcmp(a, "--action"))
                action = *v ? v : NULL;
            else {
                char *end;
                limit = strtoll(v, &end, 10);
                if (*end || limit < 1) return cli_usage(c, "audit", "--limit takes a number >= 1");
            }
        } else {
            return cli_usage(c, "audit", "unexpected argument %s", a);
        }
    }
    an_audit_filter f = {.limit = PAGE};
    char since_iso[32];
    if (since) {
        if (!parse_since(since, since_iso))
            return cli_usage(c, "audit", "--since takes an ISO date or time (2026-01-31, "
                                         "2026-01-31T12:00:00Z) or an age (90m, 24h, 7d)");
        f.since = since_iso;
    }
    an_store *s = cli_store(c);
    if (!s) return 2;
    an_err e;
    an_err_clear(&e);
    audit_ctx x = {.c = c, .action = action, .limit = limit};
    if (user && !strcmp(user, "system")) {
        x.system_only = true;
    } else if (user) {
        an_user u = {0};
        if (an_store_user_get(s, user, &u, &e) < 0) return cli_fail(c, &e);
        f.user_id = u.id;
        an_user_clear(&u);
    }
    if (project) {
        an_project p = {0};
        int status = cli_project(c, project, &p);
        if (status) return status;
        f.project_id = p.id;
        an_project_clear(&p);
    }
    /* Keyset pages, so that a long log streams in bounded memory. */
    for (;;) {
        x.rows = 0;
        int rc = an_store_audit_list(s, &f, on_entry, &x, &e);
        if (rc < 0) return cli_fail(c, &e);
        if (x.rows < PAGE || (limit && x.printed >= limit)) break;
        f.after_id = x.last_id;
    }
    return 0;
}
