/* annot export PROJECT --format F [-o PATH] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "formats/export.h"
#include "formats/format.h"

static void usage(FILE *f)
{
    fputs("usage: annot export PROJECT --format F [-o PATH] [--json]\n\n"
          "Writes every task of PROJECT with its annotations and predictions. PATH is a file,\n"
          "or a folder for folder formats (coco writes one file; yolo and voc a folder).\n"
          "Single-file formats go to standard output without -o. The output appears whole\n"
          "or not at all.\n\nFormats:\n",
          f);
    for (const an_format *const *fmt = an_formats(); *fmt; fmt++)
        if ((*fmt)->export_begin)
            fprintf(f, "  %-10s %s%s\n", (*fmt)->name,
                    (*fmt)->description ? (*fmt)->description : "",
                    (*fmt)->export_to_dir ? " (folder)" : "");
}

int cmd_export(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {{"format", required_argument, 0, 'f'},
                                             {"output", required_argument, 0, 'o'},
                                             {"json", no_argument, 0, 'j'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    an_export_opts o = {0};
    int ch;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "f:o:jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'f': o.format = optarg; break;
        case 'o': o.out_path = optarg; break;
        case 'j': c->json = true; break;
        case 'h': usage(stdout); return 0;
        default: return cli_usage(c, "export", "bad option %s", argv[optind - 1]);
        }
    }
    if (argc - optind != 1) return cli_usage(c, "export", "give one PROJECT");
    if (!o.format) return cli_usage(c, "export", "give the output format with --format");
    if (c->json && !o.out_path)
        return cli_usage(c, "export", "--json reports on stdout, so it needs -o PATH");
    an_project p = {0};
    int status = cli_project(c, argv[optind], &p);
    if (status) return status;
    an_export_report r;
    an_err e;
    an_err_clear(&e);
    int rc = an_export(c->store, &p, &o, &r, &e);
    an_project_clear(&p);
    if (rc < 0) return cli_fail(c, &e);
    if (c->json) {
        json_t *j = json_pack("{s:I,s:f,s:s,s:s}", "tasks", (json_int_t)r.tasks, "seconds",
                              r.seconds, "format", o.format, "path", o.out_path);
        cli_print_json(j);
    } else if (o.out_path)
        fprintf(stderr, "exported %lld tasks to %s in %.2f s\n", (long long)r.tasks, o.out_path,
                r.seconds);
    return 0;
}
