#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"

an_store *cli_store(cli *c)
{
    if (c->store) return c->store;
    an_err e;
    an_err_clear(&e);
    if (an_store_open(c->db, &c->store, &e) < 0) {
        cli_fail(c, &e);
        c->store = NULL;
    }
    return c->store;
}

int cli_fail(cli *c, const an_err *e)
{
    if (e->where[0])
        fprintf(stderr, "annot: error: %s: %s\n", e->where, e->msg);
    else
        fprintf(stderr, "annot: error: %s\n", e->msg);
    if (c->json) {
        json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", an_code_name(e->code), "message",
                              e->msg);
        if (e->where[0])
            json_object_set_new(json_object_get(o, "error"), "where", json_string(e->where));
        cli_print_json(o);
    }
    return an_err_exit_status(e);
}

void cli_print_json(json_t *j)
{
    char *text = an_json_text(j);
    puts(text);
    free(text);
    json_decref(j);
}

int cli_usage(cli *c, const char *cmd, const char *fmt, ...)
{
    an_err e;
    an_err_clear(&e);
    e.code = AN_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    char msg[700];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(e.msg, sizeof e.msg, "%s (see `annot %s --help`)", msg, cmd);
    snprintf(e.where, sizeof e.where, "%s", cmd);
    return cli_fail(c, &e);
}

bool cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int cli_audit(an_store *s, int rc, const char *action, const char *object, int64_t object_id,
              an_err *e)
{
    if (rc) return rc;
    const char *who = getenv("USER");
    json_t *d = json_pack("{s:s,s:s}", "via", "cli", "os_user", who && *who ? who : "unknown");
    char *detail = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    rc = an_store_audit(s, 0, action, object, object_id, detail, e);
    free(detail);
    return rc;
}

const char *cli_opt_value(int argc, char **argv, int *i, const char *opt, bool *missing)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int cli_project(cli *c, const char *name_or_id, an_project *out)
{
    an_store *s = cli_store(c);
    if (!s) return 2;
    an_err e;
    an_err_clear(&e);
    if (an_store_project_get(s, name_or_id, out, &e) < 0) return cli_fail(c, &e);
    return 0;
}
