/* annot import PROJECT PATH... [--format F] [--strict] [--rejects FILE] [--json] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "formats/format.h"
#include "formats/import.h"

static void usage(FILE *f)
{
    fputs("usage: annot import PROJECT PATH... [--format F] [--strict] [--rejects FILE] [--json]\n\n"
          "Reads tasks (with their annotations and predictions) into PROJECT. Every record is\n"
          "checked against the project's labeling config. Tasks already in the project (same\n"
          "data) are skipped, so running an import twice adds nothing twice.\n\n"
          "  --format F      the input format; guessed from the content when absent\n"
          "  --strict        a file with any bad record adds nothing\n"
          "  --rejects FILE  where bad records are listed (JSON lines with where and reason);\n"
          "                  default annot-rejects-BATCH.jsonl, written only when needed\n"
          "  --json          print the summary as JSON\n\nFormats:\n",
          f);
    for (const an_format *const *fmt = an_formats(); *fmt; fmt++)
        if ((*fmt)->read) fprintf(f, "  %-10s %s\n", (*fmt)->name, (*fmt)->description ? (*fmt)->description : "");
}

int cmd_import(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {{"format", required_argument, 0, 'f'},
                                             {"strict", no_argument, 0, 's'},
                                             {"rejects", required_argument, 0, 'r'},
                                             {"batch-size", required_argument, 0, 'b'},
                                             {"json", no_argument, 0, 'j'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    an_import_opts o = {.progress = true};
    int ch;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "f:sr:b:jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'f': o.format = optarg; break;
        case 's': o.strict = true; break;
        case 'r': o.rejects_path = optarg; break;
        case 'b': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 10000000)
                return cli_usage(c, "import", "--batch-size must be a number from 1 to 10000000");
            o.batch_size = (size_t)n;
            break;
        }
        case 'j': c->json = true; break;
        case 'h': usage(stdout); return 0;
        default: return cli_usage(c, "import", "bad option %s", argv[optind - 1]);
        }
    }
    if (argc - optind < 2) return cli_usage(c, "import", "give a PROJECT and at least one PATH");
    an_project p = {0};
    int status = cli_project(c, argv[optind], &p);
    if (status) return status;

    an_import_report r;
    an_err e;
    an_err_clear(&e);
    int rc = an_import(c->store, &p, (const char *const *)argv + optind + 1,
                       (size_t)(argc - optind - 1), &o, &r, &e);
    an_project_clear(&p);
    if (rc < 0) return cli_fail(c, &e);
    double rate = r.seconds > 0 ? (double)r.read / r.seconds : 0;
    if (c->json) {
        json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f}", "batch",
                              (json_int_t)r.batch_id, "read", (json_int_t)r.read, "added",
                              (json_int_t)r.added, "duplicates", (json_int_t)r.duplicates,
                              "rejected", (json_int_t)r.rejected, "annotations",
                              (json_int_t)r.annotations, "predictions", (json_int_t)r.predictions,
                              "seconds", r.seconds, "records_per_second", rate);
        json_object_set_new(j, "rejects", r.rejects_path[0] ? json_string(r.rejects_path) : json_null());
        json_object_set_new(j, "licence_flagged", json_integer(r.licence_flagged));
        cli_print_json(j);
    } else {
        printf("imported %lld tasks (%lld annotations, %lld predictions); %lld duplicates "
               "skipped; %lld rejected; %.2f s, %.0f records/s\n",
               (long long)r.added, (long long)r.annotations, (long long)r.predictions,
               (long long)r.duplicates, (long long)r.rejected, r.seconds, rate);
        if (r.rejects_path[0]) printf("rejected records are listed in %s\n", r.rejects_path);
        if (r.licence_flagged)
            printf("%lld imported tasks have a licence the project's policy does not allow "
                   "(flagged; see `annot provenance`)\n",
                   (long long)r.licence_flagged);
    }
    /* Rejected records are bad input: say so in the exit status, after importing the rest. */
    return r.rejected ? 1 : 0;
}
