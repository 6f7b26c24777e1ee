/* annot pii scan [FILE|-] [--project P]: finds personal information (docs/compliance.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "cli/cli.h"
#include "cli/cli_pii.h"
#include "comply/pii.h"
#include "comply/pii_input.h"
#include "comply/redact.h"

static const char usage[] =
    "usage: annot pii scan [FILE|-] [--project P] [--json] [--format auto|text|jsonl]\n"
    "                      [--pattern NAME=REGEX]... [--deny FILE]... [--min-score X]\n\n"
    "Finds identity numbers, credit codes, phone numbers, bank cards, email and IP\n"
    "addresses, passports and vehicle plates in a file (plain text by line, or every string\n"
    "field of JSON lines), stdin (\"-\") or a project's task data and text answers.\n"
    "  --json        one finding per line: {line|task, field, start, end, type, score}\n"
    "                (offsets in code points within the line or field)\n"
    "  --format F    auto (default: a line starting with { or [ that parses is JSON),\n"
    "                text or jsonl\n"
    "  --pattern     a custom pattern NAME=REGEX (Hyperscan syntax), reported as CUSTOM\n"
    "  --deny FILE   literal terms to find, one a line\n"
    "  --min-score X drop findings scoring below X (default 0.3)\n"
    "A project's own patterns and deny list come from its settings (\"pii\"). A summary by\n"
    "type goes to stderr. Values in the readable listing are masked.\n";

typedef struct scan_out {
    bool json;
    const char *name;
    int64_t by_type[AN_PII_NTYPES];
    int64_t total;
    an_buf line;
} scan_out;

static int on_hit(void *ud, const an_pii_hit *h)
{
    scan_out *o = ud;
    const an_pii_finding *f = h->f;
    o->by_type[f->type]++;
    o->total++;
    an_buf *b = &o->line;
    an_buf_reset(b);
    if (o->json) {
        if (h->task_id)
            an_buf_addf(b, "{\"task\":%lld", (long long)h->task_id);
        else
            an_buf_addf(b, "{\"line\":%lld", (long long)h->line);
        if (h->field) {
            an_buf_adds(b, ",\"field\":");
            an_json_write_string(b, h->field, strlen(h->field));
        }
        an_buf_addf(b, ",\"start\":%zu,\"end\":%zu,\"type\":\"%s\"", f->start, f->end,
                    an_pii_type_name(f->type));
        if (f->type == AN_PII_CUSTOM) {
            an_buf_adds(b, ",\"name\":");
            an_json_write_string(b, f->label, strlen(f->label));
        }
        an_buf_adds(b, ",\"score\":");
        an_json_write_real(b, f->score);
        an_buf_adds(b, "}\n");
    } else {
        an_redact_policy mask;
        an_redact_policy_init(&mask, AN_REDACT_MASK);
        if (h->task_id)
            an_buf_addf(b, "task %lld", (long long)h->task_id);
        else
            an_buf_addf(b, "%s:%lld", o->name, (long long)h->line);
        if (h->field) an_buf_addf(b, " %s", h->field);
        an_buf_addf(b, " [%zu,%zu) %-9s %.2f ", f->start, f->end, f->label, f->score);
        an_redact_value(&mask, f->type, f->label, h->text + f->bstart, f->bend - f->bstart, b);
        an_buf_addc(b, '\n');
    }
    fwrite(b->p, 1, b->len, stdout);
    return 0;
}

static void summary(const scan_out *o)
{
    fprintf(stderr, "pii: %lld finding%s", (long long)o->total, o->total == 1 ? "" : "s");
    const char *sep = ": ";
    for (int t = 0; t < AN_PII_NTYPES; t++) {
        if (!o->by_type[t]) continue;
        fprintf(stderr, "%s%s %lld", sep, an_pii_type_name(t), (long long)o->by_type[t]);
        sep = ", ";
    }
    fputc('\n', stderr);
}

static int scan(cli *c, int argc, char **argv)
{
    const char *file = NULL, *project = NULL;
    an_pii_format fmt = AN_PII_AUTO;
    an_pii_opts opts = {.min_score = 0.3};
    an_pii_rules *rules = an_pii_rules_new();
    an_err e;
    an_err_clear(&e);
    int status = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_is_help(a)) {
            fputs(usage, stdout);
            goto done;
        } else if (strcmp(a, "--json") == 0) {
            c->json = true;
        } else if (strcmp(a, "--project") == 0 && v) {
            project = v;
            i++;
        } else if (cli_pii_option(c, "pii", argc, argv, &i, &fmt, &opts, rules, &status)) {
            if (status) goto done;
        } else if ((a[0] != '-' || strcmp(a, "-") == 0) && !file) {
            file = a;
        } else {
            status = cli_usage(c, "pii", "unexpected argument %s", a);
            goto done;
        }
    }
    if (!file == !project) {
        status = cli_usage(c, "pii", "give a FILE (or - for stdin) or --project P");
        goto done;
    }
    an_project p = {0};
    if (project) {
        if ((status = cli_project(c, project, &p)) != 0) goto done;
        if (an_pii_rules_from_settings(rules, p.settings, &e) < 0) {
            an_project_clear(&p);
            goto fail;
        }
    }
    an_pii_scanner *sc = NULL;
    an_pii_ctx *ctx = NULL;
    scan_out o = {.json = c->json, .name = file ? file : project};
    int rc = an_pii_scanner_new(rules, &opts, &sc, &e);
    if (rc == 0) rc = an_pii_ctx_new(sc, &ctx, &e);
    if (rc == 0 && project) {
        rc = an_pii_scan_project(ctx, cli_store(c), p.id, on_hit, &o, &e);
    } else if (rc == 0) {
        FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
        if (!in) {
            rc = an_err_set(&e, AN_EIO, file, "cannot open: %s", strerror(errno));
        } else {
            rc = an_pii_scan_stream(ctx, in, file, fmt, on_hit, &o, &e);
            if (in != stdin) fclose(in);
        }
    }
    an_buf_free(&o.line);
    an_pii_ctx_free(ctx);
    an_pii_scanner_free(sc);
    an_project_clear(&p);
    if (rc < 0) goto fail;
    summary(&o);
    goto done;
fail:
    status = cli_fail(c, &e);
done:
    an_pii_rules_free(rules);
    return status;
}

int cmd_pii(cli *c, int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (strcmp(argv[1], "scan") == 0) return scan(c, argc, argv);
    return cli_usage(c, "pii", "unknown subcommand %s", argv[1]);
}
