/* annot token create USER [--label TEXT] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "service/auth.h"

static const char usage[] = "usage: annot token create USER [--label TEXT] [--json]\n\n"
                            "Prints a new API token for USER (a name or id). Send it as\n"
                            "\"Authorization: Token <token>\". Only its hash is stored: keep it.\n";

int cmd_token(cli *c, int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (strcmp(argv[1], "create") != 0)
        return cli_usage(c, "token", "unknown subcommand \"%s\"", argv[1]);
    static const struct option longopts[] = {{"label", required_argument, 0, 'l'},
                                             {"json", no_argument, 0, 'j'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *label = "cli";
    int ch;
    optind = 0;
    opterr = 0;
    argc--, argv++;
    while ((ch = getopt_long(argc, argv, "l:jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l': label = optarg; break;
        case 'j': c->json = true; break;
        case 'h': fputs(usage, stdout); return 0;
        default: return cli_usage(c, "token", "bad option %s", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc) return cli_usage(c, "token", "token create takes one USER");
    an_store *s = cli_store(c);
    if (!s) return 2;
    an_user u = {0};
    an_err e;
    an_err_clear(&e);
    char token[AN_TOKEN_TEXT_BYTES];
    int rc = an_store_user_get(s, argv[optind], &u, &e);
    if (rc == 0 && (rc = an_store_begin(s, &e)) == 0) {
        rc = an_token_create(s, u.id, label, token, NULL, &e);
        rc = an_store_end(s, cli_audit(s, rc, "token.create", "user", u.id, &e), &e);
    }
    an_user_clear(&u);
    if (rc < 0) return cli_fail(c, &e);
    if (c->json)
        cli_print_json(json_pack("{s:s}", "token", token));
    else
        puts(token);
    return 0;
}
