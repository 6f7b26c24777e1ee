/* annot bias PROJECT: does a project's labelling depend on a sensitive attribute of its
 * tasks, overall and per annotator (src/comply/bias.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "comply/bias.h"
#include "model/config.h"

static const char usage[] =
    "usage: annot bias PROJECT (--attribute data.FIELD|meta.FIELD | --lexicon gender|FILE)\n"
    "                  [--text-field FIELD] [--control NAME] [--min-labels N] [--alpha A]\n"
    "                  [--margin M] [--json]\n\n"
    "Checks whether the labels of a single-choice Choices control depend on a group of the\n"
    "task: a task data or metadata field (--attribute), or groups found in the task's text by\n"
    "a lexicon (--lexicon gender: English and Chinese gendered terms; or a file of\n"
    "GROUP<TAB>TERM lines). Reports the label distribution per group, the demographic parity\n"
    "difference, Pearson's chi-square test with its p-value and Cramer's V, and per annotator\n"
    "whether their labels depend on the group more than their peers' do: flagged when their\n"
    "own test has p < A (0.01) and their V exceeds the V of everyone else's labels by more\n"
    "than M (0.1); annotators with fewer than N (20) grouped labels are not tested.\n";

static bool parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = s ? strtod(s, &end) : NAN;
    if (!s || end == s || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}

static void print_text(an_store *s, const an_bias_result *r)
{
    printf("tasks: %lld, with a group: %lld, with several groups (left out): %lld\n",
           (long long)r->tasks, (long long)r->tasks_grouped, (long long)r->tasks_mixed);
    printf("\nlabel share per group:\n%-20s %8s", "group", "labels");
    for (size_t k = 0; k < r->classes; k++)
        printf(" %12.12s", r->class_names[k]);
    printf("\n");
    for (size_t g = 0; g < r->groups; g++) {
        int64_t total = 0;
        for (size_t k = 0; k < r->classes; k++)
            total += r->counts[g * r->classes + k];
        printf("%-20.20s %8lld", r->group_names[g], (long long)total);
        for (size_t k = 0; k < r->classes; k++)
            printf(" %12.3f", total ? (double)r->counts[g * r->classes + k] / (double)total : 0);
        printf("\n");
    }
    printf("%-29s", "parity difference");
    for (size_t k = 0; k < r->classes; k++)
        printf(" %12.3f", r->parity[k]);
    printf("\n\n");
    if (r->tested)
        printf("chi-square %.3f, dof %d, p %.3g, Cramer's V %.3f (n = %lld)\n",
               r->overall.statistic, r->overall.dof, r->overall.p, r->overall.cramers_v,
               (long long)r->overall.n);
    else
        printf("chi-square test: undefined (fewer than two groups or labels with labels)\n");
    printf("\nper annotator:\n");
    for (size_t a = 0; a < r->n_annotators; a++) {
        const an_bias_annotator *ba = &r->annotators[a];
        char *name = an_store_user_label(s, ba->user_id);
        if (!ba->tested)
            printf("  %-20.20s %6lld labels  not tested\n", name, (long long)ba->labels);
        else
            printf("  %-20.20s %6lld labels  V %.3f (p %.3g) vs peers V %.3f%s\n", name,
                   (long long)ba->labels, ba->own.cramers_v, ba->own.p, ba->peers.cramers_v,
                   ba->flagged ? "  FLAGGED: depends on the group more than peers" : "");
        free(name);
    }
}

int cmd_bias(cli *c, int argc, char **argv)
{
    const char *project = NULL, *lexicon = NULL, *v;
    an_bias_opts o = {0};
    bool json = false, missing = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if ((v = cli_opt_value(argc, argv, &i, "--attribute", &missing))) {
            o.attribute = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--lexicon", &missing))) {
            lexicon = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--text-field", &missing))) {
            o.text_field = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--control", &missing))) {
            o.control = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--min-labels", &missing))) {
            double n;
            if (!parse_num(v, 1, 1e9, &n) || n != floor(n))
                return cli_usage(c, "bias", "--min-labels takes a whole number from 1");
            o.min_labels = (size_t)n;
        } else if ((v = cli_opt_value(argc, argv, &i, "--alpha", &missing))) {
            if (!parse_num(v, 1e-12, 0.5, &o.alpha))
                return cli_usage(c, "bias", "--alpha takes a probability above 0, at most 0.5");
        } else if ((v = cli_opt_value(argc, argv, &i, "--margin", &missing))) {
            if (!parse_num(v, 0, 1, &o.margin))
                return cli_usage(c, "bias", "--margin takes a number from 0 to 1");
        } else if (missing) {
            return cli_usage(c, "bias", "%s needs a value", argv[i]);
        } else if (argv[i][0] == '-' || project) {
            return cli_usage(c, "bias", "unexpected argument %s", argv[i]);
        } else {
            project = argv[i];
        }
    }
    if (!project) return cli_usage(c, "bias", "name the PROJECT to check");
    if (!o.attribute == !lexicon)
        return cli_usage(c, "bias", "give either --attribute data.FIELD|meta.FIELD or --lexicon");
    an_err e;
    an_err_clear(&e);
    an_lexicon *lex = NULL;
    if (lexicon) {
        lex = an_lexicon_builtin(lexicon);
        if (!lex && an_lexicon_read(lexicon, &lex, &e) < 0) return cli_fail(c, &e);
        o.lexicon = lex;
    }
    int status = 0;
    an_project p = {0};
    an_config *cfg = NULL;
    an_bias_result r;
    memset(&r, 0, sizeof r);
    an_store *s = cli_store(c);
    if (!s) {
        status = 2;
        goto done;
    }
    if ((status = cli_project(c, project, &p)) != 0) goto done;
    if (an_config_parse(p.config, strlen(p.config), &cfg, &e) < 0 ||
        an_bias_project(s, &p, cfg, &o, &r, &e) < 0) {
        status = cli_fail(c, &e);
        goto done;
    }
    if (json)
        cli_print_json(an_bias_result_json(s, &r, o.attribute ? o.attribute : "lexicon"));
    else
        print_text(s, &r);
done:
    an_bias_result_free(&r);
    an_config_free(cfg);
    an_project_clear(&p);
    an_lexicon_free(lex);
    return status;
}
