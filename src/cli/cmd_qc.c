/* annot qc: quality-control rules over a project.
 *   annot qc PROJECT [--json]                    run every rule over the project (batch)
 *   annot qc rules PROJECT [--set FILE] [--json] print or replace the rules document
 *   annot qc findings PROJECT [filters] [--json] list the stored findings
 *   annot qc report PROJECT -o DIR [--control NAME]  report.json and report.html */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/progress.h"
#include "cli/cli.h"
#include "qc/report.h"
#include "service/qc_check.h"
#include "store/qc.h"

static const char usage[] =
    "usage: annot qc PROJECT [--json]\n"
    "       annot qc rules PROJECT [--set FILE] [--json]\n"
    "       annot qc findings PROJECT [--rule R] [--severity error|warning]\n"
    "                         [--annotator NAME] [--origin submit|batch] [--task ID] [--json]\n"
    "       annot qc report PROJECT -o DIR [--control NAME] [--bias-attribute data.F|meta.F |\n"
    "                                    --bias-lexicon gender|FILE] [--json]\n\n"
    "annot qc PROJECT runs every rule of the project's QC rules document over each\n"
    "annotator's latest annotation of every task and replaces the batch findings; it prints\n"
    "the number of findings per rule and severity. `rules` prints the document, or with --set\n"
    "checks FILE and stores it. `findings` lists stored findings. `report` writes DIR/report.json\n"
    "and DIR/report.html (consensus, accuracy, agreement, findings, trends; --control picks\n"
    "one single-choice Choices control). See docs/qc.md.\n";

#define MAX_FILE (1024 * 1024)

static int read_file(cli *c, const char *path, an_buf *out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    an_err e;
    an_err_clear(&e);
    if (!f) {
        an_err_set(&e, AN_EIO, path, "cannot open the file: %s", strerror(errno));
        return cli_fail(c, &e);
    }
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        an_buf_add(out, buf, n);
        if (out->len > MAX_FILE) break;
    }
    bool bad = ferror(f);
    if (f != stdin) fclose(f);
    if (bad) {
        an_err_set(&e, AN_EIO, path, "cannot read the file");
        return cli_fail(c, &e);
    }
    if (out->len > MAX_FILE) {
        an_err_set(&e, AN_EINVAL, path, "the file is larger than 1 MiB; a rules document is small");
        return cli_fail(c, &e);
    }
    return 0;
}

static int cmd_run(cli *c, const char *name)
{
    an_project p = {0};
    int status = cli_project(c, name, &p);
    if (status) return status;
    an_err e;
    an_err_clear(&e);
    an_progress prog;
    an_progress_start(&prog, "qc", (uint64_t)p.task_count, !c->json);
    an_qc_summary sum;
    int rc = an_qc_run_project(c->store, p.id, &prog, &sum, &e);
    if (rc == 0 && c->json) {
        json_t *rules = json_array();
        for (size_t i = 0; i < sum.n_rules; i++)
            json_array_append_new(rules, json_pack("{s:s,s:s,s:s,s:I}", "rule", sum.rules[i].rule,
                                                   "type", sum.rules[i].type, "severity",
                                                   an_qc_severity_name(sum.rules[i].severity),
                                                   "findings", (json_int_t)sum.rules[i].findings));
        cli_print_json(json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:o}", "project", (json_int_t)p.id,
                                 "name", p.name, "tasks", (json_int_t)sum.tasks, "annotations",
                                 (json_int_t)sum.annotations, "errors", (json_int_t)sum.errors,
                                 "warnings", (json_int_t)sum.warnings, "rules", rules));
    } else if (rc == 0) {
        printf("project      %s (id %lld)\n", p.name, (long long)p.id);
        if (sum.n_rules == 0)
            printf("no QC rules (set them with `annot qc rules %s --set FILE`)\n", name);
        printf("tasks        %lld\n", (long long)sum.tasks);
        printf("annotations  %lld\n", (long long)sum.annotations);
        printf("errors       %lld\n", (long long)sum.errors);
        printf("warnings     %lld\n", (long long)sum.warnings);
        if (sum.n_rules) printf("findings by rule:\n");
        for (size_t i = 0; i < sum.n_rules; i++)
            printf("  %-24s %-16s %-8s %lld\n", sum.rules[i].rule, sum.rules[i].type,
                   an_qc_severity_name(sum.rules[i].severity), (long long)sum.rules[i].findings);
    }
    an_qc_summary_clear(&sum);
    an_project_clear(&p);
    return rc < 0 ? cli_fail(c, &e) : 0;
}

static int cmd_rules(cli *c, const char *name, const char *set)
{
    an_project p = {0};
    int status = cli_project(c, name, &p);
    if (status) return status;
    an_err e;
    an_err_clear(&e);
    int rc = 0;
    if (set) {
        an_buf text = AN_BUF_INIT;
        status = read_file(c, set, &text);
        if (!status) {
            rc = an_qc_rules_save(c->store, p.id, text.p ? text.p : "", text.len, 0, &e);
            if (rc < 0 && e.code == AN_EINVAL) {
                /* Name the file, then the place inside it. */
                an_err_prefix_where(&e, set);
            }
        }
        an_buf_free(&text);
        if (status) {
            an_project_clear(&p);
            return status;
        }
    }
    char *doc = NULL, *at = NULL;
    if (!rc) rc = an_store_qc_rules_get(c->store, p.id, &doc, &at, &e);
    if (!rc) {
        if (c->json) {
            json_t *d = doc ? json_loads(doc, 0, NULL) : NULL;
            cli_print_json(json_pack("{s:I,s:o,s:o}", "project", (json_int_t)p.id, "rules",
                                     d ? d : json_pack("{s:[]}", "rules"), "updated_at",
                                     at ? json_string(at) : json_null()));
        } else if (set) {
            printf("QC rules of %s set\n", p.name);
        } else {
            /* Pretty-printed for reading; the stored text is compact. */
            json_t *d = doc ? json_loads(doc, 0, NULL) : json_pack("{s:[]}", "rules");
            char *pretty = d ? json_dumps(d, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
            puts(pretty ? pretty : "{\"rules\": []}");
            free(pretty);
            json_decref(d);
        }
    }
    free(doc);
    free(at);
    an_project_clear(&p);
    return rc < 0 ? cli_fail(c, &e) : 0;
}

typedef struct list_ctx {
    cli *c;
    int64_t last;
    size_t n;
    int64_t name_ids[64];
    char *names[64];
    size_t n_names;
} list_ctx;

/* The annotator's name (cached for the listing); "-" for none. */
static const char *annotator_name(list_ctx *l, int64_t id)
{
    if (!id) return "-";
    for (size_t i = 0; i < l->n_names; i++)
        if (l->name_ids[i] == id) return l->names[i];
    char *name = an_store_user_label(l->c->store, id);
    if (l->n_names == 64) {
        free(l->names[63]);
        l->n_names--;
    }
    l->name_ids[l->n_names] = id;
    l->names[l->n_names++] = name;
    return name;
}

static int on_finding(void *ud, const an_qc_finding_row *f)
{
    list_ctx *l = ud;
    l->last = f->id;
    l->n++;
    const char *who = annotator_name(l, f->annotator_id);
    if (l->c->json) {
        json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)f->id, "task",
                              (json_int_t)f->task_id, "rule", f->rule, "severity", f->severity,
                              "place", f->place, "message", f->message, "origin", f->origin,
                              "created_at", f->created_at);
        json_object_set_new(j, "annotation",
                            f->annotation_id ? json_integer(f->annotation_id) : json_null());
        json_object_set_new(j, "annotator",
                            f->annotator_id ? json_integer(f->annotator_id) : json_null());
        json_object_set_new(j, "annotator_name", f->annotator_id ? json_string(who) : json_null());
        cli_print_json(j);
    } else {
        char ann[24] = "-";
        if (f->annotation_id) snprintf(ann, sizeof ann, "%lld", (long long)f->annotation_id);
        printf("%-8lld %-8lld %-10s %-12s %-20s %-8s %-28s %s\n", (long long)f->id,
               (long long)f->task_id, ann, who, f->rule, f->severity, f->place, f->message);
    }
    return 0;
}

static int cmd_findings(cli *c, const char *name, an_qc_filter *flt, const char *annotator)
{
    an_project p = {0};
    int status = cli_project(c, name, &p);
    if (status) return status;
    an_err e;
    an_err_clear(&e);
    int rc = 0;
    flt->project_id = p.id;
    if (annotator) {
        an_user u = {0};
        rc = an_store_user_get(c->store, annotator, &u, &e);
        flt->annotator_id = u.id;
        an_user_clear(&u);
    }
    list_ctx l = {.c = c};
    if (!rc && !c->json)
        printf("%-8s %-8s %-10s %-12s %-20s %-8s %-28s %s\n", "id", "task", "annotation",
               "annotator", "rule", "severity", "place", "message");
    /* Page through with the keyset: memory stays flat however many findings there are. */
    flt->limit = 1000;
    while (!rc) {
        size_t before = l.n;
        rc = an_store_qc_findings_list(c->store, flt, on_finding, &l, &e);
        if (rc || l.n - before < (size_t)flt->limit) break;
        flt->after_id = l.last;
    }
    for (size_t i = 0; i < l.n_names; i++)
        free(l.names[i]);
    an_project_clear(&p);
    return rc < 0 ? cli_fail(c, &e) : 0;
}

/* Writes data[0..len) to dir/name through a temporary file in dir and a rename, so a reader
 * sees either the old file or the whole new one. */
static int write_whole(const char *dir, const char *name, const char *data, size_t len, an_err *e)
{
    char path[4096], tmp[4096];
    int n1 = snprintf(path, sizeof path, "%s/%s", dir, name);
    int n2 = snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof path || (size_t)n2 >= sizeof tmp)
        return an_err_set(e, AN_EINVAL, "-o", "the folder name is too long");
    int fd = mkstemp(tmp);
    if (fd < 0)
        return an_err_set(e, AN_EIO, dir, "cannot create a file there: %s", strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    /* Readable like any other file the user writes (mkstemp makes it 0600). */
    mode_t um = umask(0);
    umask(um);
    bool ok = off == len && fchmod(fd, 0666 & ~um) == 0 && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0) ok = false;
    if (!ok || rename(tmp, path) != 0) {
        if (ok) saved = errno;
        unlink(tmp);
        return an_err_set(e, AN_EIO, path, "cannot write the file: %s", strerror(saved));
    }
    return 0;
}

static int cmd_report(cli *c, const char *name, const char *dir, const char *control,
                      const char *bias_attribute, const char *bias_lexicon)
{
    an_project p = {0};
    int status = cli_project(c, name, &p);
    if (status) return status;
    an_err e;
    an_err_clear(&e);
    int rc = 0;
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT || mkdir(dir, 0777) != 0)
            rc = an_err_set(&e, AN_EIO, dir, "cannot create the folder: %s", strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
        rc = an_err_set(&e, AN_EINVAL, dir, "is not a folder; -o names the folder to write to");
    }
    json_t *r = NULL;
    an_report_opts o = {.control = control,
                        .bias_attribute = bias_attribute,
                        .bias_lexicon = bias_lexicon,
                        .bias_lexicon_file = true};
    if (!rc) rc = an_report_build(c->store, &p, &o, &r, &e);
    if (!rc) {
        an_buf json = AN_BUF_INIT, html = AN_BUF_INIT;
        an_json_write(&json, r);
        an_buf_addc(&json, '\n');
        an_report_html(r, &html);
        rc = write_whole(dir, "report.json", json.p, json.len, &e);
        if (!rc) rc = write_whole(dir, "report.html", html.p, html.len, &e);
        an_buf_free(&json);
        an_buf_free(&html);
    }
    if (!rc) {
        const json_t *sum = json_object_get(r, "summary");
        if (c->json)
            cli_print_json(json_pack("{s:I,s:s,s:s,s:s,s:O}", "project", (json_int_t)p.id, "name",
                                     p.name, "json", "report.json", "html", "report.html",
                                     "summary", sum));
        else
            printf("QC report of %s written to %s/report.json and %s/report.html\n", p.name, dir,
                   dir);
    }
    json_decref(r);
    an_project_clear(&p);
    return rc < 0 ? cli_fail(c, &e) : 0;
}

int cmd_qc(cli *c, int argc, char **argv)
{
    const char *pos[3] = {0};
    int n_pos = 0;
    const char *set = NULL, *annotator = NULL, *out_dir = NULL, *control = NULL;
    const char *bias_attribute = NULL, *bias_lexicon = NULL;
    an_qc_filter flt = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--json") == 0) {
            c->json = true;
        } else if (cli_is_help(a)) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--set") == 0 && has_value) {
            set = argv[++i];
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && has_value) {
            out_dir = argv[++i];
        } else if (strcmp(a, "--control") == 0 && has_value) {
            control = argv[++i];
        } else if (strcmp(a, "--bias-attribute") == 0 && has_value) {
            bias_attribute = argv[++i];
        } else if (strcmp(a, "--bias-lexicon") == 0 && has_value) {
            bias_lexicon = argv[++i];
        } else if (strcmp(a, "--rule") == 0 && has_value) {
            flt.rule = argv[++i];
        } else if (strcmp(a, "--severity") == 0 && has_value) {
            flt.severity = argv[++i];
        } else if (strcmp(a, "--origin") == 0 && has_value) {
            flt.origin = argv[++i];
        } else if (strcmp(a, "--annotator") == 0 && has_value) {
            annotator = argv[++i];
        } else if (strcmp(a, "--task") == 0 && has_value) {
            char *end;
            long long v = strtoll(argv[++i], &end, 10);
            if (*end || v <= 0) return cli_usage(c, "qc", "--task takes a task id");
            flt.task_id = v;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage(c, "qc", "unknown option or missing value: %s", a);
        } else if (n_pos < 2) {
            pos[n_pos++] = a;
        } else {
            return cli_usage(c, "qc", "unexpected argument %s", a);
        }
    }
    bool sub = n_pos == 2;
    if (n_pos == 0) return cli_usage(c, "qc", "give a PROJECT");
    if (sub && strcmp(pos[0], "rules") != 0 && strcmp(pos[0], "findings") != 0 &&
        strcmp(pos[0], "report") != 0)
        return cli_usage(c, "qc", "unknown subcommand %s; use rules, findings or report", pos[0]);
    const char *what = sub ? pos[0] : "run";
    bool filters = flt.rule || flt.severity || flt.origin || flt.task_id || annotator;
    if (set && strcmp(what, "rules") != 0)
        return cli_usage(c, "qc", "--set belongs to `annot qc rules PROJECT --set FILE`");
    if (filters && strcmp(what, "findings") != 0)
        return cli_usage(c, "qc",
                         "--rule, --severity, --origin, --task and --annotator filter "
                         "`annot qc findings PROJECT`");
    if (flt.severity && strcmp(flt.severity, "error") != 0 && strcmp(flt.severity, "warning") != 0)
        return cli_usage(c, "qc", "--severity is error or warning");
    if (flt.origin && strcmp(flt.origin, "submit") != 0 && strcmp(flt.origin, "batch") != 0)
        return cli_usage(c, "qc", "--origin is submit or batch");
    if ((out_dir || control || bias_attribute || bias_lexicon) && strcmp(what, "report") != 0)
        return cli_usage(c, "qc",
                         "-o, --control and --bias-* belong to `annot qc report PROJECT "
                         "-o DIR`");
    if (bias_attribute && bias_lexicon)
        return cli_usage(c, "qc", "give --bias-attribute or --bias-lexicon, not both");
    if (strcmp(what, "report") == 0 && !out_dir)
        return cli_usage(c, "qc", "give the folder to write to: annot qc report PROJECT -o DIR");
    if (strcmp(what, "report") == 0)
        return cmd_report(c, pos[1], out_dir, control, bias_attribute, bias_lexicon);
    if (strcmp(what, "rules") == 0) return cmd_rules(c, pos[1], set);
    if (strcmp(what, "findings") == 0) return cmd_findings(c, pos[1], &flt, annotator);
    return cmd_run(c, pos[0]);
}
