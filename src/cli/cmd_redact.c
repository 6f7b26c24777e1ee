/* annot redact FILE|- [-o OUT] / annot redact --project P --to NEW: masks, replaces,
 * pseudonymises or drops personal information (docs/compliance.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_pii.h"
#include "comply/pii.h"
#include "comply/redact.h"
#include "comply/redact_run.h"

static const char usage[] =
    "usage: annot redact FILE|- [--policy TYPE=ACTION,...] [-o OUT] [--format auto|text|jsonl]\n"
    "       annot redact --project P --to NEWNAME [--policy TYPE=ACTION,...] [--json]\n"
    "       (both also take --pattern NAME=REGEX, --deny FILE, --min-score X)\n\n"
    "Redacts what `annot pii scan` finds. ACTION per type (ID_CARD, USCC, PHONE, BANK_CARD,\n"
    "EMAIL, IPV4, IPV6, PASSPORT, PLATE, CUSTOM or all):\n"
    "  mask       keep the format: 110***********1234, z********@example.com\n"
    "  replace    a typed placeholder such as [ID_CARD] (the default for every type)\n"
    "  pseudonym  TYPE_ + 10 characters of an HMAC under the workspace's secret: one value,\n"
    "             one token across the whole dataset\n"
    "  drop       remove the value\n"
    "  keep       leave it\n"
    "A file is written to OUT (default stdout). A project is copied into a new project with\n"
    "the same config whose tasks are redacted and whose annotations and predictions have\n"
    "their text spans moved to keep pointing at the same words. The copy is all or nothing.\n";

static void print_types(FILE *f, const an_redact_report *r)
{
    const char *sep = " (";
    for (int t = 0; t < AN_PII_NTYPES; t++) {
        if (!r->by_type[t]) continue;
        fprintf(f, "%s%s %lld", sep, an_pii_type_name(t), (long long)r->by_type[t]);
        sep = ", ";
    }
    if (sep[0] == ',') fputc(')', f);
}

int cmd_redact(cli *c, int argc, char **argv)
{
    const char *file = NULL, *project = NULL, *to = NULL, *out_path = NULL;
    an_pii_format fmt = AN_PII_AUTO;
    an_pii_opts opts = {.min_score = 0.3};
    an_redact_policy pol;
    an_redact_policy_init(&pol, AN_REDACT_REPLACE);
    an_pii_rules *rules = an_pii_rules_new();
    an_err e;
    an_err_clear(&e);
    int status = 0;
    an_project p = {0};
    an_pii_scanner *sc = NULL;
    an_pii_ctx *ctx = NULL;
    an_store *rd = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_is_help(a)) {
            fputs(usage, stdout);
            goto done;
        } else if (strcmp(a, "--json") == 0) {
            c->json = true;
        } else if (strcmp(a, "--project") == 0 && v) {
            project = argv[++i];
        } else if (strcmp(a, "--to") == 0 && v) {
            to = argv[++i];
        } else if (strcmp(a, "-o") == 0 && v) {
            out_path = argv[++i];
        } else if (strcmp(a, "--policy") == 0 && v) {
            if (an_redact_policy_parse(&pol, v, &e) < 0) goto fail;
            i++;
        } else if (cli_pii_option(c, "redact", argc, argv, &i, &fmt, &opts, rules, &status)) {
            if (status) goto done;
        } else if ((a[0] != '-' || strcmp(a, "-") == 0) && !file) {
            file = a;
        } else {
            status = cli_usage(c, "redact", "unexpected argument %s", a);
            goto done;
        }
    }
    if (!file == !project) {
        status = cli_usage(c, "redact", "give a FILE (or - for stdin) or --project P --to NEW");
        goto done;
    }
    if (project && !to) {
        status = cli_usage(c, "redact", "--project needs --to NEWNAME for the redacted copy");
        goto done;
    }
    if (project) {
        if ((status = cli_project(c, project, &p)) != 0) goto done;
        if (an_pii_rules_from_settings(rules, p.settings, &e) < 0) goto fail;
    }
    if (an_redact_policy_needs_secret(&pol)) {
        an_store *s = cli_store(c);
        if (!s) {
            status = 2;
            goto done;
        }
        if (an_redact_secret(s, pol.secret, &e) < 0) goto fail;
        pol.has_secret = true;
    }
    if (an_pii_scanner_new(rules, &opts, &sc, &e) < 0 || an_pii_ctx_new(sc, &ctx, &e) < 0)
        goto fail;
    an_redact_report rep = {0};
    if (project) {
        an_store *wr = cli_store(c);
        if (!wr) {
            status = 2;
            goto done;
        }
        if (an_store_open(c->db, &rd, &e) < 0) goto fail;
        if (an_redact_project(rd, wr, &p, to, ctx, &pol, &rep, &e) < 0) goto fail;
        if (c->json) {
            json_t *types = json_object();
            for (int t = 0; t < AN_PII_NTYPES; t++)
                if (rep.by_type[t])
                    json_object_set_new(types, an_pii_type_name(t), json_integer(rep.by_type[t]));
            cli_print_json(json_pack(
                "{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "project", to, "project_id",
                (json_int_t)rep.project_id, "tasks", (json_int_t)rep.added, "duplicates",
                (json_int_t)rep.duplicates, "annotations", (json_int_t)rep.annotations,
                "predictions", (json_int_t)rep.predictions, "redacted", (json_int_t)rep.redacted,
                "spans_moved", (json_int_t)rep.spans_moved, "regions_dropped",
                (json_int_t)rep.regions_dropped, "tasks_read", (json_int_t)rep.tasks, "by_type",
                types));
        } else {
            printf("redacted project \"%s\" into \"%s\" (id %lld): %lld tasks, %lld annotations, "
                   "%lld predictions; %lld values redacted",
                   p.name, to, (long long)rep.project_id, (long long)rep.added,
                   (long long)rep.annotations, (long long)rep.predictions, (long long)rep.redacted);
            print_types(stdout, &rep);
            printf("; %lld spans moved, %lld regions dropped", (long long)rep.spans_moved,
                   (long long)rep.regions_dropped);
            if (rep.duplicates)
                printf("; %lld tasks became duplicates of earlier ones and were not copied",
                       (long long)rep.duplicates);
            putchar('\n');
        }
        goto done;
    }
    FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    if (!in) {
        an_err_set(&e, AN_EIO, file, "cannot open: %s", strerror(errno));
        goto fail;
    }
    FILE *out = out_path ? fopen(out_path, "wb") : stdout;
    if (!out) {
        an_err_set(&e, AN_EIO, out_path, "cannot create: %s", strerror(errno));
        if (in != stdin) fclose(in);
        goto fail;
    }
    int rc = an_redact_stream(ctx, &pol, in, file, fmt, out, &rep, &e);
    if (in != stdin) fclose(in);
    if (out != stdout && fclose(out) != 0 && rc == 0)
        rc = an_err_set(&e, AN_EIO, out_path, "cannot write: %s", strerror(errno));
    if (rc < 0) goto fail;
    fprintf(stderr, "redact: %lld lines, %lld values redacted", (long long)rep.lines,
            (long long)rep.redacted);
    print_types(stderr, &rep);
    fputc('\n', stderr);
    goto done;
fail:
    status = cli_fail(c, &e);
done:
    if (rd) an_store_close(rd);
    an_pii_ctx_free(ctx);
    an_pii_scanner_free(sc);
    an_project_clear(&p);
    an_pii_rules_free(rules);
    return status;
}
