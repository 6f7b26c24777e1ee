/* annot consensus: consensus labels by majority vote or Dawid–Skene, per-annotator accuracy,
 * from a project's classification answers (with gold accuracy) or from reliability CSV. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/json.h"
#include "cli/cli.h"
#include "model/config.h"
#include "qc/box_consensus.h"
#include "qc/consensus.h"
#include "qc/gold.h"
#include "qc/reliability_csv.h"

static const char usage[] =
    "usage: annot consensus PROJECT [--control NAME] --method majority|dawid-skene [options]\n"
    "       annot consensus PROJECT [--control NAME] --method boxes [--iou T] [--json]\n"
    "       annot consensus --csv FILE --method majority|dawid-skene [options]\n\n"
    "Consensus label per item and each annotator's accuracy. PROJECT: the answers to a\n"
    "single-choice Choices control (the first one, or --control NAME), one per annotator and\n"
    "task (the latest); annotations marked ground truth are gold, not votes, and give each\n"
    "annotator's gold accuracy. FILE: reliability data as for `annot agreement` (a header of\n"
    "coder names, one row per item, empty cell = missing).\n\n"
    "  --method M        majority (ties are listed, no label) or dawid-skene (EM); boxes:\n"
    "                    a RectangleLabels control's boxes clustered across annotators by\n"
    "                    IoU >= T (--iou, 0.5) and merged, weighted by each annotator's\n"
    "                    reliability (their F1 against a first, unweighted consensus)\n"
    "  --tie-break lowest  on a tie choose the lowest category (the tie is still listed)\n"
    "  --tol T           DS: stop when no item's log-likelihood changes by T (1e-6)\n"
    "  --max-iter N      DS: at most N iterations (100)\n"
    "  --smoothing S     DS: additive smoothing of the M-step counts (0.01)\n"
    "  --json            one JSON object on stdout\n"
    "  --timing          print read and compute seconds on stderr\n";

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* What the output needs, whichever the source. */
typedef struct view {
    size_t items, annotators;
    char **ann_names;           /* annotators */
    const char *const *classes; /* class names */
    const int64_t *item_ids;    /* project: task ids; NULL: CSV row numbers from 1 */
    const an_gold_stat *gold;   /* per annotator, or NULL */
    size_t gold_tasks;
} view;

static void put_num(an_buf *b, double v)
{
    if (isfinite(v))
        an_json_write_real(b, v);
    else
        an_buf_adds(b, "null");
}

static void put_str(an_buf *b, const char *s)
{
    an_json_write_string(b, s, strlen(s));
}

static void flush(an_buf *b)
{
    fwrite(b->p, 1, b->len, stdout);
    an_buf_reset(b);
}

static int64_t item_id(const view *v, size_t i)
{
    return v->item_ids ? v->item_ids[i] : (int64_t)i + 1;
}

/* Streams the JSON object (no tree: a million items would take gigabytes as one). */
static void print_json(const view *v, const an_cons_result *r)
{
    an_buf b = AN_BUF_INIT;
    an_buf_adds(&b, "{\"method\":");
    put_str(&b, an_cons_method_name(r->method));
    an_buf_addf(&b, ",\"items\":%zu,\"classes\":%zu,\"annotators\":[", r->items, r->classes);
    for (size_t a = 0; a < v->annotators; a++) {
        if (a) an_buf_addc(&b, ',');
        an_buf_adds(&b, "{\"name\":");
        put_str(&b, v->ann_names[a]);
        an_buf_addf(&b, ",\"labels\":%zu,\"accuracy\":", r->annotator_labels[a]);
        put_num(&b, r->accuracy[a]);
        an_buf_adds(&b, ",\"gold\":");
        if (v->gold) {
            const an_gold_stat *g = &v->gold[a];
            an_buf_addf(&b, "{\"seen\":%zu,\"correct\":%zu,\"accuracy\":", g->seen, g->correct);
            put_num(&b, g->accuracy);
            an_buf_adds(&b, ",\"low\":");
            put_num(&b, g->lo);
            an_buf_adds(&b, ",\"high\":");
            put_num(&b, g->hi);
            an_buf_addc(&b, '}');
        } else {
            an_buf_adds(&b, "null");
        }
        an_buf_addc(&b, '}');
    }
    an_buf_adds(&b, "],\"labels\":[");
    for (size_t i = 0; i < r->items; i++) {
        if (i) an_buf_addc(&b, ',');
        an_buf_addf(&b, "{\"item\":%lld,\"label\":", (long long)item_id(v, i));
        if (r->label[i] == AN_CONS_NONE)
            an_buf_adds(&b, "null");
        else
            put_str(&b, v->classes[r->label[i]]);
        an_buf_adds(&b, ",\"tie\":[");
        for (size_t k = r->tie_start[i]; k < r->tie_start[i + 1]; k++) {
            if (k > r->tie_start[i]) an_buf_addc(&b, ',');
            put_str(&b, v->classes[r->tie[k]]);
        }
        an_buf_adds(&b, "],\"confidence\":");
        put_num(&b, r->confidence[i]);
        an_buf_addc(&b, '}');
        if (b.len > (1u << 16)) flush(&b);
    }
    an_buf_addf(&b,
                "],\"ties\":%zu,\"iterations\":%d,\"converged\":%s,\"log_likelihood\":", r->n_ties,
                r->iterations, r->converged ? "true" : "false");
    put_num(&b, r->log_likelihood);
    if (v->gold) an_buf_addf(&b, ",\"gold_tasks\":%zu", v->gold_tasks);
    an_buf_adds(&b, "}\n");
    flush(&b);
    an_buf_free(&b);
}

static void print_text(const view *v, const an_cons_result *r)
{
    printf("method      %s\n", an_cons_method_name(r->method));
    printf("items       %zu (%zu ties)\n", r->items, r->n_ties);
    printf("classes     %zu\n", r->classes);
    if (r->method == AN_CONS_DAWID_SKENE)
        printf("iterations  %d (%s), log-likelihood %.6f\n", r->iterations,
               r->converged ? "converged" : "not converged", r->log_likelihood);
    if (v->gold) printf("gold tasks  %zu\n", v->gold_tasks);
    printf("annotators:\n");
    for (size_t a = 0; a < v->annotators; a++) {
        printf("  %-20s labels %-8zu accuracy ", v->ann_names[a], r->annotator_labels[a]);
        if (isnan(r->accuracy[a]))
            printf("  -  ");
        else
            printf("%.3f", r->accuracy[a]);
        if (v->gold) {
            const an_gold_stat *g = &v->gold[a];
            if (g->seen)
                printf("  gold %zu/%zu = %.3f [%.3f, %.3f]", g->correct, g->seen, g->accuracy,
                       g->lo, g->hi);
            else
                printf("  gold -");
        }
        putchar('\n');
    }
    printf("labels (item, label, confidence):\n");
    for (size_t i = 0; i < r->items; i++) {
        printf("  %lld\t", (long long)item_id(v, i));
        if (r->label[i] != AN_CONS_NONE) fputs(v->classes[r->label[i]], stdout);
        if (r->tie_start[i + 1] > r->tie_start[i]) {
            fputs(r->label[i] == AN_CONS_NONE ? "tie:" : " tie:", stdout);
            for (size_t k = r->tie_start[i]; k < r->tie_start[i + 1]; k++)
                printf("%s%s", k > r->tie_start[i] ? "," : "", v->classes[r->tie[k]]);
        } else if (r->label[i] == AN_CONS_NONE) {
            fputs("-", stdout);
        }
        printf("\t%.3f\n", r->confidence[i]);
    }
}

/* Reads the CSV into labels (items = rows, annotators = coders, classes = categories). */
static int from_csv(const char *path, an_rel_table *t, an_cons_labels *l, an_err *e)
{
    int rc = an_rel_csv_read(path, t, e);
    if (rc < 0) return rc;
    an_cons_labels_init(l, t->units, t->coders, t->categories ? t->categories : 1);
    for (size_t u = 0; u < t->units; u++)
        for (size_t c = 0; c < t->coders; c++) {
            int v = t->cell[u * t->coders + c];
            if (v == AN_AGR_MISSING) continue;
            rc = an_cons_labels_add(l, u, c, (size_t)v, e);
            if (rc < 0) return rc;
        }
    an_cons_labels_finish(l);
    return 0;
}

/* The control to use: --control, else the first single-choice Choices control. */
static const an_control *pick_control(const an_config *cfg, const char *name, an_err *e)
{
    if (name) {
        const an_control *c = an_config_control(cfg, name);
        if (!c) {
            an_err_set(e, AN_EINVAL, "--control",
                       "the project has no control named \"%s\"; see its labeling config", name);
            return NULL;
        }
        if (c->tag != AN_TAG_CHOICES || c->multiple) {
            an_err_set(e, AN_EINVAL, "--control",
                       "control \"%s\" is not a single-choice Choices control; consensus "
                       "needs one",
                       name);
            return NULL;
        }
        return c;
    }
    for (size_t i = 0; i < cfg->n_controls; i++)
        if (cfg->controls[i].tag == AN_TAG_CHOICES && !cfg->controls[i].multiple)
            return &cfg->controls[i];
    an_err_set(e, AN_EINVAL, "config",
               "the labeling config has no single-choice Choices control; consensus needs one");
    return NULL;
}

/* --method boxes: consensus boxes of a RectangleLabels control (qc/box_consensus.h). */
static int consensus_boxes(cli *c, const char *project, const char *control, const char *iou_s)
{
    an_bc_opts o = {.iou = 0.5};
    if (iou_s) {
        char *end;
        o.iou = strtod(iou_s, &end);
        if (*end || end == iou_s || !(o.iou > 0 && o.iou <= 1))
            return cli_usage(c, "consensus", "--iou is a number above 0, at most 1");
    }
    an_store *s = cli_store(c);
    if (!s) return 2;
    an_project p = {0};
    int status = cli_project(c, project, &p);
    if (status) return status;
    an_err e;
    an_err_clear(&e);
    an_config *cfg = NULL;
    const an_control *ctl = NULL;
    an_bc_result r = {0};
    if (an_config_parse(p.config, strlen(p.config), &cfg, &e) < 0) goto fail;
    if (control) {
        ctl = an_config_control(cfg, control);
        if (!ctl) {
            an_err_set(&e, AN_EINVAL, "--control", "the project has no control named \"%s\"",
                       control);
            goto fail;
        }
    } else if (!(ctl = an_config_first_control(cfg, AN_TAG_RECTANGLELABELS))) {
        an_err_set(&e, AN_EINVAL, "config",
                   "the labeling config has no RectangleLabels control; --method boxes needs one");
        goto fail;
    }
    if (an_box_consensus(s, p.id, ctl, &o, &r, &e) < 0) goto fail;
    json_t *anns = json_array(), *tasks = json_array();
    size_t total = 0;
    for (size_t i = 0; i < r.n_annotators; i++) {
        const an_bc_annotator *a = &r.annotators[i];
        char *name = an_store_user_label(s, a->user_id);
        json_array_append_new(anns, json_pack("{s:s,s:I,s:I,s:I,s:f}", "name", name, "id",
                                              (json_int_t)a->user_id, "boxes", (json_int_t)a->boxes,
                                              "matched", (json_int_t)a->matched, "reliability",
                                              a->reliability));
        if (!c->json)
            printf("%-20s %6zu boxes, %6zu matched the first consensus: reliability %.3f\n", name,
                   a->boxes, a->matched, a->reliability);
        free(name);
    }
    for (size_t i = 0; i < r.n_tasks; i++) {
        const an_bc_task *t = &r.tasks[i];
        json_t *boxes = json_array();
        for (size_t k = 0; k < t->n_boxes; k++) {
            const an_cons_merged *m = &t->boxes[k];
            json_array_append_new(
                boxes,
                json_pack("{s:f,s:f,s:f,s:f,s:f,s:o,s:I,s:f}", "x", m->rect.x, "y", m->rect.y,
                          "width", m->rect.w, "height", m->rect.h, "rotation", m->rect.rotation,
                          "label", m->label >= 0 ? json_string(ctl->labels[m->label]) : json_null(),
                          "support", (json_int_t)m->support, "mean_iou", m->mean_iou));
        }
        total += t->n_boxes;
        json_array_append_new(tasks,
                              json_pack("{s:I,s:I,s:o}", "task", (json_int_t)t->task_id,
                                        "annotators", (json_int_t)t->annotators, "boxes", boxes));
    }
    if (c->json) {
        cli_print_json(json_pack("{s:s,s:s,s:f,s:o,s:o}", "method", "boxes", "control", ctl->name,
                                 "iou", o.iou, "annotators", anns, "tasks", tasks));
    } else {
        printf("%zu tasks with boxes, %zu consensus boxes (IoU >= %.2f, quorum: half the "
               "task's annotators)\n",
               r.n_tasks, total, o.iou);
        json_decref(anns);
        json_decref(tasks);
    }
    an_bc_result_free(&r);
    an_config_free(cfg);
    an_project_clear(&p);
    return 0;
fail:
    status = cli_fail(c, &e);
    an_bc_result_free(&r);
    an_config_free(cfg);
    an_project_clear(&p);
    return status;
}

int cmd_consensus(cli *c, int argc, char **argv)
{
    const char *csv = NULL, *project = NULL, *control = NULL, *method_s = NULL;
    const char *tol_s = NULL, *iter_s = NULL, *smooth_s = NULL, *tie_s = NULL, *iou_s = NULL;
    bool timing = false;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v;
        if (strcmp(argv[i], "--json") == 0) {
            c->json = true;
        } else if (strcmp(argv[i], "--timing") == 0) {
            timing = true;
        } else if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = cli_opt_value(argc, argv, &i, "--csv", &missing))) {
            csv = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--control", &missing))) {
            control = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--method", &missing))) {
            method_s = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--tol", &missing))) {
            tol_s = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--max-iter", &missing))) {
            iter_s = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--smoothing", &missing))) {
            smooth_s = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--tie-break", &missing))) {
            tie_s = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--iou", &missing))) {
            iou_s = v;
        } else if (missing) {
            return cli_usage(c, "consensus", "%s needs a value", argv[i]);
        } else if (argv[i][0] != '-' && !project) {
            project = argv[i];
        } else {
            return cli_usage(c, "consensus", "unexpected argument %s", argv[i]);
        }
    }
    if (!csv == !project) return cli_usage(c, "consensus", "give either a PROJECT or --csv FILE");
    if (csv && control) return cli_usage(c, "consensus", "--control applies to a project");
    if (!method_s) return cli_usage(c, "consensus", "choose a --method");
    if (strcmp(method_s, "boxes") == 0) {
        if (csv) return cli_usage(c, "consensus", "--method boxes reads a project's rectangles");
        return consensus_boxes(c, project, control, iou_s);
    }
    if (iou_s) return cli_usage(c, "consensus", "--iou goes with --method boxes");
    int method = an_cons_method_parse(method_s);
    if (method < 0)
        return cli_usage(c, "consensus", "unknown method \"%s\"; use majority or dawid-skene",
                         method_s);
    an_cons_opts o = an_cons_opts_default();
    char *end;
    if (tol_s) {
        o.tol = strtod(tol_s, &end);
        if (*end || end == tol_s || !(o.tol >= 0) || !isfinite(o.tol))
            return cli_usage(c, "consensus", "--tol needs a number >= 0, not \"%s\"", tol_s);
    }
    if (iter_s) {
        long n = strtol(iter_s, &end, 10);
        if (*end || end == iter_s || n < 1 || n > 1000000)
            return cli_usage(c, "consensus", "--max-iter needs a whole number 1..1000000");
        o.max_iter = (int)n;
    }
    if (smooth_s) {
        o.smoothing = strtod(smooth_s, &end);
        if (*end || end == smooth_s || !(o.smoothing >= 0) || !isfinite(o.smoothing))
            return cli_usage(c, "consensus", "--smoothing needs a number >= 0");
    }
    if (tie_s) {
        if (strcmp(tie_s, "lowest") != 0)
            return cli_usage(c, "consensus", "--tie-break takes \"lowest\"");
        o.tie_lowest = true;
    }
    if (method != AN_CONS_DAWID_SKENE && (tol_s || iter_s || smooth_s))
        return cli_usage(c, "consensus", "--tol, --max-iter and --smoothing go with dawid-skene");

    an_err e;
    an_err_clear(&e);
    double t0 = now();
    an_rel_table t = {0};
    an_choice_table ct = {0};
    an_cons_labels csv_labels = {0};
    an_config *cfg = NULL;
    an_project p = {0};
    view v = {0};
    int status = 0;
    if (csv) {
        if (from_csv(csv, &t, &csv_labels, &e) < 0) {
            an_cons_labels_free(&csv_labels);
            an_rel_table_free(&t);
            return cli_fail(c, &e);
        }
        v.items = t.units;
        v.annotators = t.coders;
        v.ann_names = t.coder_names;
        v.classes = (const char *const *)t.category_names;
    } else {
        an_store *s = cli_store(c);
        if (!s) return 2;
        if ((status = cli_project(c, project, &p)) != 0) return status;
        const an_control *ctl = NULL;
        if (an_config_parse(p.config, strlen(p.config), &cfg, &e) < 0 ||
            !(ctl = pick_control(cfg, control, &e)) ||
            an_choice_table_read(s, p.id, ctl, &ct, &e) < 0) {
            status = cli_fail(c, &e);
            goto done;
        }
        v.items = ct.tasks;
        v.annotators = ct.annotators;
        v.ann_names = an_xcalloc(ct.annotators ? ct.annotators : 1, sizeof *v.ann_names);
        for (size_t a = 0; a < ct.annotators; a++) {
            v.ann_names[a] = an_store_user_label(s, ct.annotator_ids[a]);
        }
        v.classes = (const char *const *)ctl->labels;
        v.item_ids = ct.task_ids;
        v.gold = ct.stats;
        v.gold_tasks = ct.gold_tasks;
    }
    double t1 = now();
    an_cons_data d = csv ? an_cons_labels_data(&csv_labels) : an_cons_labels_data(&ct.labels);
    an_cons_result r;
    if (an_cons_run(&d, (an_cons_method)method, &o, &r, &e) < 0) {
        an_err_prefix_where(&e, csv ? csv : project);
        status = cli_fail(c, &e);
        goto done;
    }
    double t2 = now();
    if (timing)
        fprintf(stderr, "consensus: read %.3f s, compute %.3f s (%zu items, %zu labels)\n", t1 - t0,
                t2 - t1, d.items, d.labels);
    if (c->json)
        print_json(&v, &r);
    else
        print_text(&v, &r);
    an_cons_result_free(&r);
done:
    if (!csv && v.ann_names) {
        for (size_t a = 0; a < v.annotators; a++)
            free(v.ann_names[a]);
        free(v.ann_names);
    }
    an_cons_labels_free(&csv_labels);
    an_rel_table_free(&t);
    an_choice_table_free(&ct);
    an_config_free(cfg);
    an_project_clear(&p);
    return status;
}
