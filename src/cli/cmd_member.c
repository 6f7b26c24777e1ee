/* annot member add PROJECT USER | annot member remove PROJECT USER | annot member list PROJECT */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] = "usage: annot member add PROJECT USER\n"
                            "       annot member remove PROJECT USER\n"
                            "       annot member list PROJECT [--json]\n\n"
                            "Project members see the project; what they may do follows their\n"
                            "role (annotators annotate, reviewers also review, managers run it).\n";

static int print_member(void *ud, const an_user *u)
{
    cli *c = ud;
    if (c->json)
        cli_print_json(json_pack("{s:I,s:s,s:s}", "id", (json_int_t)u->id, "name", u->name,
                                 "role", an_role_name(u->role)));
    else
        printf("%-6lld %-24s %s\n", (long long)u->id, u->name, an_role_name(u->role));
    return 0;
}

int cmd_member(cli *c, int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    const char *sub = argv[1];
    bool list = strcmp(sub, "list") == 0;
    if (!list && strcmp(sub, "add") != 0 && strcmp(sub, "remove") != 0)
        return cli_usage(c, "member", "unknown subcommand \"%s\"", sub);
    const char *args[2] = {NULL, NULL};
    int n = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            c->json = true;
        else if (n < 2 && argv[i][0] != '-')
            args[n++] = argv[i];
        else
            return cli_usage(c, "member", "unexpected argument %s", argv[i]);
    }
    if (n != (list ? 1 : 2))
        return cli_usage(c, "member", list ? "give a PROJECT" : "give a PROJECT and a USER");
    an_project p = {0};
    int status = cli_project(c, args[0], &p);
    if (status) return status;
    an_err e;
    an_err_clear(&e);
    int rc;
    if (list) {
        rc = an_store_member_list(c->store, p.id, print_member, c, &e);
    } else {
        an_user u = {0};
        rc = an_store_user_get(c->store, args[1], &u, &e);
        if (rc == 0 && (rc = an_store_begin(c->store, &e)) == 0) {
            rc = sub[0] == 'a' ? an_store_member_add(c->store, p.id, u.id, &e)
                               : an_store_member_remove(c->store, p.id, u.id, &e);
            rc = cli_audit(c->store, rc, sub[0] == 'a' ? "member.add" : "member.remove",
                           "project", p.id, &e);
            rc = an_store_end(c->store, rc, &e);
        }
        an_user_clear(&u);
    }
    an_project_clear(&p);
    return rc < 0 ? cli_fail(c, &e) : 0;
}
