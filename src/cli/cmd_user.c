/* annot user add NAME --role ROLE | annot user list */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "base/json.h"
#include "cli/cli.h"
#include "service/auth.h"

static const char usage[] = "usage: annot user add NAME --role admin|manager|reviewer|annotator "
                            "[--json]\n"
                            "       annot user list [--json]\n"
                            "       annot user passwd NAME   (reads the new password from "
                            "standard input)\n";

static int add(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {{"role", required_argument, 0, 'r'},
                                             {"json", no_argument, 0, 'j'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *role = NULL;
    int ch;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "r:jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'r': role = optarg; break;
        case 'j': c->json = true; break;
        case 'h': fputs(usage, stdout); return 0;
        default: return cli_usage(c, "user", "bad option %s", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc) return cli_usage(c, "user", "user add takes one NAME");
    if (!role) return cli_usage(c, "user", "user add needs --role");
    int r = an_role_parse(role);
    if (r < 0)
        return cli_usage(c, "user", "unknown role \"%s\"; use admin, manager, reviewer or annotator",
                         role);
    an_store *s = cli_store(c);
    if (!s) return 2;
    an_err e;
    an_err_clear(&e);
    int64_t id = 0;
    int rc = an_store_begin(s, &e);
    if (rc == 0) {
        rc = an_store_user_add(s, argv[optind], (an_role)r, &id, &e);
        rc = an_store_end(s, cli_audit(s, rc, "user.create", "user", id, &e), &e);
    }
    if (rc < 0) return cli_fail(c, &e);
    if (c->json)
        printf("{\"id\":%lld}\n", (long long)id);
    else
        printf("%lld\n", (long long)id);
    return 0;
}

static int print_user(void *ud, const an_user *u)
{
    cli *c = ud;
    if (c->json) {
        json_t *o = json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)u->id, "name", u->name,
                              "role", an_role_name(u->role), "created_at", u->created_at);
        cli_print_json(o);
    } else {
        printf("%-6lld %-24s %s\n", (long long)u->id, u->name, an_role_name(u->role));
    }
    return 0;
}

static int list(cli *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            c->json = true;
        else if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else
            return cli_usage(c, "user", "user list takes no argument %s", argv[i]);
    }
    an_store *s = cli_store(c);
    if (!s) return 2;
    an_err e;
    an_err_clear(&e);
    if (an_store_user_list(s, print_user, c, &e) < 0) return cli_fail(c, &e);
    return 0;
}

/* Reads one line from stdin without echoing it when stdin is a terminal. */
static bool read_password(char *buf, size_t cap)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fputs("new password: ", stderr);
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    bool ok = fgets(buf, (int)cap, stdin) != NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    return ok;
}

static int passwd(cli *c, int argc, char **argv)
{
    if (argc != 2) return cli_usage(c, "user", "user passwd takes one NAME");
    an_store *s = cli_store(c);
    if (!s) return 2;
    an_user u = {0};
    an_err e;
    an_err_clear(&e);
    char pw[AN_PASSWORD_MAX + 2];
    int rc = an_store_user_get(s, argv[1], &u, &e);
    if (rc == 0 && !read_password(pw, sizeof pw))
        rc = an_err_set(&e, AN_EINVAL, "stdin", "no password given on standard input");
    if (rc == 0 && (rc = an_store_begin(s, &e)) == 0) {
        rc = an_password_set(s, u.id, pw, &e);
        rc = an_store_end(s, cli_audit(s, rc, "user.password", "user", u.id, &e), &e);
    }
    sodium_memzero(pw, sizeof pw);
    an_user_clear(&u);
    return rc < 0 ? cli_fail(c, &e) : 0;
}

int cmd_user(cli *c, int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (strcmp(argv[1], "add") == 0) return add(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0) return list(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "passwd") == 0) return passwd(c, argc - 1, argv + 1);
    return cli_usage(c, "user", "unknown subcommand \"%s\"", argv[1]);
}
