/* annot settings [get KEY | set KEY VALUE | unset KEY | list]: the workspace's settings.
 *
 * Only the command line changes them: whoever runs it holds the database and is trusted,
 * while a web user must not be able to open, say, the internal network to outbound requests
 * (outbound.allow). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "net/guard.h"
#include "store/settings.h"

static const char usage[] =
    "usage: annot settings list [--json]\n"
    "       annot settings get KEY [--json]\n"
    "       annot settings set KEY VALUE\n"
    "       annot settings unset KEY\n\n"
    "The workspace's settings. Keys:\n"
    "  outbound.allow  comma-separated CIDRs and host names that outbound requests\n"
    "                  (webhooks) may reach although they are loopback, private or\n"
    "                  link-local, e.g. \"10.0.0.0/8,hooks.internal\"; absent: none\n";

/* The known keys and how their values are checked. */
static int check_value(const char *key, const char *value, an_err *e)
{
    if (strcmp(key, "outbound.allow") == 0) {
        an_net_allow *a = NULL;
        int rc = an_net_allow_parse(value, &a, e);
        an_net_allow_free(a);
        return rc;
    }
    return an_err_set(e, AN_EINVAL, key, "unknown setting; `annot settings --help` lists them");
}

/* Settings that are secrets (the pseudonym key of PII redaction): never printed, since a
 * pseudonym can be reversed by anyone who has the key and the values it may stand for. */
static bool is_secret(const char *key)
{
    size_t n = strlen(key);
    return n >= 7 && strcmp(key + n - 7, ".secret") == 0;
}

static int print_setting(void *ud, const char *key, const char *value)
{
    json_t *obj = ud;
    if (is_secret(key)) value = "(secret, not shown)";
    if (obj)
        json_object_set_new(obj, key, json_string(value));
    else
        printf("%s=%s\n", key, value);
    return 0;
}

int cmd_settings(cli *c, int argc, char **argv)
{
    int n = 0;
    char *args[4];
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0) {
            c->json = true;
        } else if (n < 4) {
            args[n++] = argv[i];
        } else {
            return cli_usage(c, "settings", "too many arguments");
        }
    }
    if (n == 0) {
        fputs(usage, stderr);
        return 1;
    }
    const char *sub = args[0];
    an_err e;
    an_err_clear(&e);
    if (strcmp(sub, "list") == 0) {
        if (n != 1) return cli_usage(c, "settings", "settings list takes no arguments");
        an_store *s = cli_store(c);
        if (!s) return 2;
        json_t *obj = c->json ? json_object() : NULL;
        if (an_store_setting_list(s, print_setting, obj, &e) < 0) {
            json_decref(obj);
            return cli_fail(c, &e);
        }
        if (obj) cli_print_json(obj);
        return 0;
    }
    if (strcmp(sub, "get") == 0) {
        if (n != 2) return cli_usage(c, "settings", "settings get takes one KEY");
        an_store *s = cli_store(c);
        if (!s) return 2;
        char *value = NULL;
        if (is_secret(args[1])) {
            an_err_set(&e, AN_EINVAL, args[1], "this setting is a secret and is never printed");
            return cli_fail(c, &e);
        }
        if (an_store_setting_get(s, args[1], &value, &e) < 0) return cli_fail(c, &e);
        if (!value) {
            an_err_set(&e, AN_ENOTFOUND, args[1], "the setting is not set");
            return cli_fail(c, &e);
        }
        if (c->json)
            cli_print_json(json_pack("{s:s,s:s}", "key", args[1], "value", value));
        else
            puts(value);
        free(value);
        return 0;
    }
    if (strcmp(sub, "set") == 0) {
        if (n != 3) return cli_usage(c, "settings", "settings set takes KEY and VALUE");
        if (check_value(args[1], args[2], &e) < 0) return cli_fail(c, &e);
        an_store *s = cli_store(c);
        if (!s) return 2;
        int rc = an_store_begin(s, &e);
        if (rc == 0) {
            rc = an_store_setting_set(s, args[1], args[2], &e);
            if (rc == 0) {
                char *detail = NULL;
                json_t *d = json_pack("{s:s,s:s}", "key", args[1], "value", args[2]);
                detail = json_dumps(d, JSON_COMPACT);
                json_decref(d);
                rc = an_store_audit(s, 0, "settings.set", "setting", 0, detail, &e);
                free(detail);
            }
            rc = an_store_end(s, rc, &e);
        }
        if (rc < 0) return cli_fail(c, &e);
        return 0;
    }
    if (strcmp(sub, "unset") == 0) {
        if (n != 2) return cli_usage(c, "settings", "settings unset takes one KEY");
        an_store *s = cli_store(c);
        if (!s) return 2;
        bool existed = false;
        int rc = an_store_begin(s, &e);
        if (rc == 0) {
            rc = an_store_setting_unset(s, args[1], &existed, &e);
            if (rc == 0 && existed) {
                json_t *d = json_pack("{s:s}", "key", args[1]);
                char *detail = json_dumps(d, JSON_COMPACT);
                json_decref(d);
                rc = an_store_audit(s, 0, "settings.unset", "setting", 0, detail, &e);
                free(detail);
            }
            rc = an_store_end(s, rc, &e);
        }
        if (rc < 0) return cli_fail(c, &e);
        if (!existed) fprintf(stderr, "annot: note: %s was not set\n", args[1]);
        return 0;
    }
    return cli_usage(c, "settings", "unknown subcommand \"%s\"", sub);
}
