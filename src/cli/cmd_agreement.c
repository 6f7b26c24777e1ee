/* annot agreement: inter-annotator agreement of a project's annotations (per control of its
 * labeling config), or of reliability data in a CSV file (needs no workspace). Both forms
 * take --bootstrap N for a 95 % percentile interval. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "qc/agreement.h"
#include "qc/bootstrap.h"
#include "qc/project_agreement.h"
#include "qc/reliability_csv.h"

static const char usage[] =
    "usage: annot agreement PROJECT [--control NAME] [--metric M] [--level L]\n"
    "                       [--weights W] [--iou T] [--bootstrap N [--seed S]] [--json]\n"
    "       annot agreement --csv FILE --metric M [--level L] [--weights W]\n"
    "                       [--bootstrap N [--seed S]] [--json]\n\n"
    "Agreement between annotators. PROJECT (name or id): per control of its labeling config,\n"
    "using each annotator's latest non-cancelled annotation per task.\n"
    "  Choices, Rating, Number   --metric over tasks x annotators (default alpha: nominal for\n"
    "                            choices, ordinal for ratings, interval for numbers);\n"
    "                            multiple choices: per label (chosen or not) and the mean\n"
    "  RectangleLabels, PolygonLabels  mean F1 of optimally matched regions at IoU >= --iou\n"
    "                            (default 0.5) over annotator pairs and tasks; mean IoU\n"
    "  Labels (text spans)       mean exact-match F1; overlap F1\n"
    "  KeyPointLabels            share of keypoints within 2 % of the image diagonal\n"
    "  TextArea                  mean character error rate, edits / longer text (lower is\n"
    "                            better)\n\n"
    "FILE: a header row of coder names and one row per unit; an empty cell is a missing\n"
    "value. Values are category names or numbers: all-numeric data are ordered by number,\n"
    "otherwise by first appearance.\n\n"
    "  percent  mean pairwise agreement over units with two or more values (and per pair)\n"
    "  cohen    Cohen's kappa per coder pair and their mean; --weights for ordered codes\n"
    "  fleiss   Fleiss' kappa; every unit needs the same number of values\n"
    "  alpha    Krippendorff's alpha at --level (default nominal); missing values allowed\n"
    "  ac1      Gwet's AC1 (nominal); missing values allowed\n\n"
    "--bootstrap N resamples the units (rows, or tasks) with replacement N times (seed\n"
    "--seed, default 1) and reports the 95 % percentile interval; resamples where the\n"
    "value is undefined are skipped and counted.\n";

static bool parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
    if (!s || *s < '0' || *s > '9') return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max) return false;
    *out = v;
    return true;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *ci_json(const an_ci *ci)
{
    return json_pack("{s:o,s:o,s:f,s:I,s:I}", "low", num_or_null(ci->low), "high",
                     num_or_null(ci->high), "level", ci->level, "resamples",
                     (json_int_t)ci->resamples, "skipped", (json_int_t)ci->skipped);
}

static void ci_text(const an_ci *ci)
{
    if (isfinite(ci->low))
        printf("95%% CI      %.3f .. %.3f (%zu resamples, %zu undefined)\n", ci->low, ci->high,
               ci->resamples, ci->skipped);
    else
        printf("95%% CI      undefined (all %zu resamples undefined)\n", ci->resamples);
}

typedef struct opts {
    const char *project, *csv, *control, *metric_s, *level_s, *weights_s, *iou_s;
    unsigned long long bootstrap, seed;
    int metric, level, weights;
} opts;

static int run_csv(cli *c, const opts *o)
{
    if (!o->metric_s) return cli_usage(c, "agreement", "choose a --metric");
    an_err e;
    an_err_clear(&e);
    an_rel_table t;
    if (an_rel_csv_read(o->csv, &t, &e) < 0) return cli_fail(c, &e);
    an_agr_data d = an_rel_table_data(&t);
    an_agr_result r;
    an_agr_metric metric = (an_agr_metric)o->metric;
    an_agr_level level = o->level >= 0 ? (an_agr_level)o->level : AN_AGR_NOMINAL;
    an_agr_weights weights = o->weights >= 0 ? (an_agr_weights)o->weights : AN_AGR_W_NONE;
    if (an_agreement(&d, metric, level, weights, &r, &e) < 0) {
        an_err_prefix_where(&e, o->csv);
        an_rel_table_free(&t);
        return cli_fail(c, &e);
    }
    an_ci ci;
    if (o->bootstrap &&
        an_agr_bootstrap(&d, metric, level, weights, (size_t)o->bootstrap, o->seed, &ci, &e) < 0) {
        an_agr_result_free(&r);
        an_rel_table_free(&t);
        return cli_fail(c, &e);
    }
    if (c->json) {
        json_t *j = json_pack("{s:s,s:f,s:I,s:I,s:I,s:I}", "metric", o->metric_s, "value",
                              r.value, "units", (json_int_t)t.units, "units_used",
                              (json_int_t)r.units_used, "coders", (json_int_t)t.coders,
                              "categories", (json_int_t)t.categories);
        if (metric == AN_AGR_ALPHA)
            json_object_set_new(j, "level", json_string(an_agr_level_name(level)));
        if (metric == AN_AGR_COHEN)
            json_object_set_new(j, "weights", json_string(an_agr_weights_name(weights)));
        json_t *names = json_array();
        for (size_t i = 0; i < t.coders; i++)
            json_array_append_new(names, json_string(t.coder_names[i]));
        json_object_set_new(j, "coder_names", names);
        json_t *pairs = json_array();
        for (size_t i = 0; i < r.n_pairs; i++) {
            const an_agr_pair *p = &r.pairs[i];
            /* An undefined pair is null: NaN is not a number to print. */
            json_array_append_new(pairs, json_pack("{s:s,s:s,s:I,s:o}", "a",
                                                   t.coder_names[p->a], "b", t.coder_names[p->b],
                                                   "units", (json_int_t)p->units, "value",
                                                   num_or_null(p->value)));
        }
        json_object_set_new(j, "pairs", pairs);
        if (o->bootstrap) json_object_set_new(j, "ci", ci_json(&ci));
        cli_print_json(j);
    } else {
        printf("metric      %s", o->metric_s);
        if (metric == AN_AGR_ALPHA) printf(" (%s)", an_agr_level_name(level));
        if (metric == AN_AGR_COHEN && weights != AN_AGR_W_NONE)
            printf(" (%s weights)", an_agr_weights_name(weights));
        printf("\nvalue       %.3f\n", r.value);
        if (o->bootstrap) ci_text(&ci);
        printf("units       %zu (%zu used)\n", t.units, r.units_used);
        printf("coders      %zu\n", t.coders);
        printf("categories  %zu\n", t.categories);
        if (r.n_pairs) printf("pairs:\n");
        for (size_t i = 0; i < r.n_pairs; i++) {
            const an_agr_pair *p = &r.pairs[i];
            if (isnan(p->value))
                printf("  %s / %s  undefined (%zu shared units)\n", t.coder_names[p->a],
                       t.coder_names[p->b], p->units);
            else
                printf("  %s / %s  %.3f (%zu shared units)\n", t.coder_names[p->a],
                       t.coder_names[p->b], p->value, p->units);
        }
    }
    an_agr_result_free(&r);
    an_rel_table_free(&t);
    return 0;
}

static const char *annotator_name(const an_pa_result *r, int64_t id)
{
    for (size_t i = 0; i < r->n_annotators; i++)
        if (r->annotators[i] == id) return r->annotator_names[i];
    return "?";
}

static json_t *control_json(const an_pa_result *r, const an_pa_control *pc, double iou)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:o,s:I,s:I}", "name", pc->name, "type",
                          an_tag_name(pc->tag), "kind", an_pa_kind_name(pc->kind), "measure",
                          pc->measure, "value", num_or_null(pc->value), "units",
                          (json_int_t)pc->units, "coders", (json_int_t)pc->coders);
    if (pc->undefined) json_object_set_new(j, "undefined", json_string(pc->undefined));
    if (pc->kind == AN_PA_CATEGORICAL || pc->kind == AN_PA_MULTI) {
        json_object_set_new(j, "units_used", json_integer((json_int_t)pc->units_used));
        json_object_set_new(j, "categories", json_integer((json_int_t)pc->categories));
        if (pc->metric == AN_AGR_ALPHA)
            json_object_set_new(j, "level", json_string(an_agr_level_name(pc->level)));
        if (pc->metric == AN_AGR_COHEN)
            json_object_set_new(j, "weights", json_string(an_agr_weights_name(pc->weights)));
    } else {
        json_object_set_new(j, "comparisons", json_integer((json_int_t)pc->comparisons));
        if (pc->secondary_name)
            json_object_set_new(j, pc->secondary_name, num_or_null(pc->secondary));
        if (pc->kind == AN_PA_REGIONS) json_object_set_new(j, "iou", json_real(iou));
    }
    if (pc->kind == AN_PA_MULTI) {
        json_t *labels = json_array();
        for (size_t i = 0; i < pc->n_labels; i++)
            json_array_append_new(labels,
                                  json_pack("{s:s,s:o,s:I}", "label", pc->labels[i].label,
                                            "value", num_or_null(pc->labels[i].value),
                                            "units_used", (json_int_t)pc->labels[i].units_used));
        json_object_set_new(j, "labels", labels);
    }
    json_t *pairs = json_array();
    for (size_t i = 0; i < pc->n_pairs; i++) {
        const an_pa_pair *p = &pc->pairs[i];
        json_array_append_new(pairs,
                              json_pack("{s:s,s:s,s:I,s:I,s:I,s:o}", "a", annotator_name(r, p->a),
                                        "b", annotator_name(r, p->b), "a_id", (json_int_t)p->a,
                                        "b_id", (json_int_t)p->b, "tasks", (json_int_t)p->tasks,
                                        "value", num_or_null(p->value)));
    }
    json_object_set_new(j, "pairs", pairs);
    if (pc->has_ci) json_object_set_new(j, "ci", ci_json(&pc->ci));
    return j;
}

static void control_text(const an_pa_result *r, const an_pa_control *pc)
{
    printf("\ncontrol     %s (%s)\n", pc->name, an_tag_name(pc->tag));
    printf("measure     %s", pc->measure);
    if ((pc->kind == AN_PA_CATEGORICAL || pc->kind == AN_PA_MULTI) && pc->metric == AN_AGR_ALPHA)
        printf(" (%s)", an_agr_level_name(pc->level));
    if (pc->kind == AN_PA_MULTI) printf(", mean over labels");
    if (isfinite(pc->value))
        printf("\nvalue       %.3f\n", pc->value);
    else
        printf("\nvalue       undefined: %s\n", pc->undefined ? pc->undefined : "");
    if (pc->has_ci) ci_text(&pc->ci);
    if (pc->kind == AN_PA_CATEGORICAL || pc->kind == AN_PA_MULTI)
        printf("tasks       %zu (%zu used), %zu annotators\n", pc->units, pc->units_used,
               pc->coders);
    else
        printf("tasks       %zu, %zu annotators, %zu comparisons\n", pc->units, pc->coders,
               pc->comparisons);
    if (pc->secondary_name) {
        if (isfinite(pc->secondary))
            printf("%-11s %.3f\n", pc->secondary_name, pc->secondary);
        else
            printf("%-11s undefined\n", pc->secondary_name);
    }
    for (size_t i = 0; i < pc->n_labels; i++) {
        if (isfinite(pc->labels[i].value))
            printf("  label %s  %.3f\n", pc->labels[i].label, pc->labels[i].value);
        else
            printf("  label %s  undefined\n", pc->labels[i].label);
    }
    if (pc->n_pairs) printf("pairs:\n");
    for (size_t i = 0; i < pc->n_pairs; i++) {
        const an_pa_pair *p = &pc->pairs[i];
        if (isfinite(p->value))
            printf("  %s / %s  %.3f (%zu tasks)\n", annotator_name(r, p->a),
                   annotator_name(r, p->b), p->value, p->tasks);
        else
            printf("  %s / %s  undefined (%zu tasks)\n", annotator_name(r, p->a),
                   annotator_name(r, p->b), p->tasks);
    }
}

static int run_project(cli *c, const opts *o)
{
    an_project p;
    int st = cli_project(c, o->project, &p);
    if (st) return st;
    an_pa_opts po = an_pa_opts_default();
    po.control = o->control;
    po.metric = o->metric;
    po.level = o->level;
    po.weights = o->weights;
    po.bootstrap = (size_t)o->bootstrap;
    po.seed = o->seed;
    if (o->iou_s) {
        char *end;
        errno = 0;
        po.iou = strtod(o->iou_s, &end);
        if (errno || *end || !(po.iou > 0 && po.iou <= 1)) {
            an_project_clear(&p);
            return cli_usage(c, "agreement", "--iou needs a number in (0, 1], not \"%s\"",
                             o->iou_s);
        }
    }
    an_err e;
    an_err_clear(&e);
    an_pa_result r;
    if (an_project_agreement(c->store, &p, &po, &r, &e) < 0) {
        an_project_clear(&p);
        return cli_fail(c, &e);
    }
    double iou = po.iou > 0 ? po.iou : 0.5;
    if (c->json) {
        json_t *annotators = json_array();
        for (size_t i = 0; i < r.n_annotators; i++)
            json_array_append_new(annotators, json_pack("{s:I,s:s}", "id",
                                                        (json_int_t)r.annotators[i], "name",
                                                        r.annotator_names[i]));
        json_t *controls = json_array();
        for (size_t i = 0; i < r.n_controls; i++)
            json_array_append_new(controls, control_json(&r, &r.controls[i], iou));
        json_t *j = json_pack(
            "{s:s,s:I,s:I,s:I,s:{s:I,s:I,s:I},s:o,s:o}", "project", p.name, "project_id",
            (json_int_t)p.id, "tasks", (json_int_t)r.tasks, "annotations",
            (json_int_t)r.annotations, "ignored", "cancelled", (json_int_t)r.cancelled,
            "without_annotator", (json_int_t)r.without_annotator, "superseded",
            (json_int_t)r.superseded, "annotators", annotators, "controls", controls);
        cli_print_json(j);
    } else {
        printf("project     %s (%zu tasks, %zu annotations, %zu annotators)\n", p.name,
               r.tasks, r.annotations, r.n_annotators);
        if (r.cancelled || r.without_annotator || r.superseded)
            printf("ignored     %zu cancelled, %zu without annotator, %zu superseded\n",
                   r.cancelled, r.without_annotator, r.superseded);
        for (size_t i = 0; i < r.n_controls; i++) control_text(&r, &r.controls[i]);
    }
    an_pa_result_free(&r);
    an_project_clear(&p);
    return 0;
}

int cmd_agreement(cli *c, int argc, char **argv)
{
    opts o;
    memset(&o, 0, sizeof o);
    o.seed = 1;
    const char *boot_s = NULL, *seed_s = NULL;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v;
        if (strcmp(argv[i], "--json") == 0) {
            c->json = true;
        } else if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = cli_opt_value(argc, argv, &i, "--csv", &missing))) {
            o.csv = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--metric", &missing))) {
            o.metric_s = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--level", &missing))) {
            o.level_s = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--weights", &missing))) {
            o.weights_s = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--control", &missing))) {
            o.control = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--iou", &missing))) {
            o.iou_s = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--bootstrap", &missing))) {
            boot_s = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--seed", &missing))) {
            seed_s = v;
        } else if (missing) {
            return cli_usage(c, "agreement", "%s needs a value", argv[i]);
        } else if (argv[i][0] != '-' && !o.project) {
            o.project = argv[i];
        } else {
            return cli_usage(c, "agreement", "unexpected argument %s", argv[i]);
        }
    }
    if (!o.csv && !o.project)
        return cli_usage(c, "agreement", "name a PROJECT, or give data with --csv FILE");
    if (o.csv && o.project)
        return cli_usage(c, "agreement", "give either a PROJECT or --csv FILE, not both");
    if (o.csv && (o.control || o.iou_s))
        return cli_usage(c, "agreement", "--control and --iou apply to a PROJECT only");
    o.metric = o.level = o.weights = -1;
    if (o.metric_s && (o.metric = an_agr_metric_parse(o.metric_s)) < 0)
        return cli_usage(c, "agreement",
                         "unknown metric \"%s\"; use percent, cohen, fleiss, alpha or ac1",
                         o.metric_s);
    int metric = o.metric >= 0 ? o.metric : AN_AGR_ALPHA;
    if (o.level_s && (o.level = an_agr_level_parse(o.level_s)) < 0)
        return cli_usage(c, "agreement",
                         "unknown level \"%s\"; use nominal, ordinal, interval or ratio",
                         o.level_s);
    if (o.level_s && metric != AN_AGR_ALPHA)
        return cli_usage(c, "agreement", "--level applies to --metric alpha only");
    if (o.weights_s && (o.weights = an_agr_weights_parse(o.weights_s)) < 0)
        return cli_usage(c, "agreement",
                         "unknown weights \"%s\"; use none, linear or quadratic", o.weights_s);
    if (o.weights_s && metric != AN_AGR_COHEN)
        return cli_usage(c, "agreement", "--weights applies to --metric cohen only");
    if (boot_s && (!parse_u64(boot_s, AN_BOOT_MAX_RESAMPLES, &o.bootstrap) || o.bootstrap == 0))
        return cli_usage(c, "agreement", "--bootstrap needs a count from 1 to %d, not \"%s\"",
                         AN_BOOT_MAX_RESAMPLES, boot_s);
    if (seed_s && !parse_u64(seed_s, UINT64_MAX, &o.seed))
        return cli_usage(c, "agreement", "--seed needs a non-negative integer, not \"%s\"",
                         seed_s);
    if (seed_s && !boot_s) return cli_usage(c, "agreement", "--seed applies with --bootstrap");
    return o.csv ? run_csv(c, &o) : run_project(c, &o);
}
