/* annot project create NAME --config FILE | annot project list */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "cli/cli.h"
#include "model/config.h"

#define MAX_CONFIG_BYTES (1 << 20)

static const char usage[] =
    "usage: annot project create NAME --config FILE [--settings JSON] [--json]\n"
    "       annot project list [--json]\n\n"
    "create  makes a project with a labeling config (Label Studio XML) and prints its id\n"
    "list    shows every project with its task, annotation and prediction counts\n";

static int read_file(const char *path, an_buf *out, an_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) return an_err_set(e, AN_EINVAL, path, "cannot open the config file");
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        an_buf_add(out, chunk, n);
        if (out->len > MAX_CONFIG_BYTES) {
            fclose(f);
            return an_err_set(e, AN_EINVAL, path, "config is larger than 1 MiB");
        }
    }
    int bad = ferror(f);
    fclose(f);
    return bad ? an_err_set(e, AN_EIO, path, "cannot read the config file") : 0;
}

static int create(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, 0, 'c'},
                                             {"settings", required_argument, 0, 's'},
                                             {"json", no_argument, 0, 'j'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *config_path = NULL, *settings = NULL;
    int ch;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "c:s:jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': config_path = optarg; break;
        case 's': settings = optarg; break;
        case 'j': c->json = true; break;
        case 'h': fputs(usage, stdout); return 0;
        default: return cli_usage(c, "project", "bad option %s", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc) return cli_usage(c, "project", "project create takes one NAME");
    if (!config_path) return cli_usage(c, "project", "project create needs --config FILE");
    const char *name = argv[optind];

    an_err e;
    an_err_clear(&e);
    an_buf xml;
    an_buf_init(&xml);
    an_config *cfg = NULL;
    int rc = read_file(config_path, &xml, &e);
    if (rc == 0) {
        rc = an_config_parse(xml.p, xml.len, &cfg, &e);
        if (rc < 0) an_err_prefix_where(&e, config_path);
    }
    an_config_free(cfg);
    if (rc == 0 && settings) {
        json_t *j = an_json_parse(settings, strlen(settings), "--settings", &e);
        if (j && !json_is_object(j))
            rc = an_err_set(&e, AN_EINVAL, "--settings", "settings must be a JSON object");
        else if (!j)
            rc = -1;
        json_decref(j);
    }
    int64_t id = 0;
    an_store *s = rc == 0 ? cli_store(c) : NULL;
    if (rc == 0 && !s) {
        an_buf_free(&xml);
        return 2;
    }
    if (rc == 0 && (rc = an_store_begin(s, &e)) == 0) {
        rc = an_store_project_create(s, name, xml.p, settings, &id, &e);
        rc = an_store_end(s, cli_audit(s, rc, "project.create", "project", id, &e), &e);
    }
    an_buf_free(&xml);
    if (rc < 0) return cli_fail(c, &e);
    if (c->json) {
        json_t *o = json_pack("{s:I,s:s}", "id", (json_int_t)id, "name", name);
        cli_print_json(o);
    } else {
        printf("%lld\n", (long long)id);
    }
    return 0;
}

static int print_project(void *ud, const an_project *p)
{
    cli *c = ud;
    if (c->json) {
        json_t *o = json_pack("{s:I,s:s,s:I,s:I,s:I,s:s}", "id", (json_int_t)p->id, "name",
                              p->name, "tasks", (json_int_t)p->task_count, "annotations",
                              (json_int_t)p->annotation_count, "predictions",
                              (json_int_t)p->prediction_count, "created_at", p->created_at);
        cli_print_json(o);
    } else {
        printf("%-6lld %-30s %10lld %12lld %12lld\n", (long long)p->id, p->name,
               (long long)p->task_count, (long long)p->annotation_count,
               (long long)p->prediction_count);
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
            return cli_usage(c, "project", "project list takes no argument %s", argv[i]);
    }
    an_store *s = cli_store(c);
    if (!s) return 2;
    if (!c->json)
        printf("%-6s %-30s %10s %12s %12s\n", "ID", "NAME", "TASKS", "ANNOTATIONS",
               "PREDICTIONS");
    an_err e;
    an_err_clear(&e);
    if (an_store_project_list(s, print_project, c, &e) < 0) return cli_fail(c, &e);
    return 0;
}

int cmd_project(cli *c, int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (strcmp(argv[1], "create") == 0) return create(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0) return list(c, argc - 1, argv + 1);
    return cli_usage(c, "project", "unknown subcommand \"%s\"", argv[1]);
}
