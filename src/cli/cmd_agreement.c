/* annot agreement --csv FILE --metric M [--level L] [--weights W] [--json]: inter-annotator
 * agreement of reliability data in a CSV file. Needs no workspace. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "qc/agreement.h"
#include "qc/reliability_csv.h"

static const char usage[] =
    "usage: annot agreement --csv FILE --metric percent|cohen|fleiss|alpha|ac1\n"
    "                       [--level nominal|ordinal|interval|ratio]\n"
    "                       [--weights none|linear|quadratic] [--json]\n\n"
    "Agreement between coders on reliability data. FILE has a header row of coder names and\n"
    "one row per unit; an empty cell is a missing value. Values are category names or\n"
    "numbers: all-numeric data are ordered by number, otherwise by first appearance.\n\n"
    "  percent  mean pairwise agreement over units with two or more values (and per pair)\n"
    "  cohen    Cohen's kappa per coder pair and their mean; --weights for ordered codes\n"
    "  fleiss   Fleiss' kappa; every unit needs the same number of values\n"
    "  alpha    Krippendorff's alpha at --level (default nominal); missing values allowed\n"
    "  ac1      Gwet's AC1 (nominal); missing values allowed\n";

/* Takes the value of option argv[*i] (as "--opt V" or "--opt=V"); NULL when it is not opt. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt, bool *missing)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int cmd_agreement(cli *c, int argc, char **argv)
{
    const char *csv = NULL, *metric_s = NULL, *level_s = NULL, *weights_s = NULL;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v;
        if (strcmp(argv[i], "--json") == 0) {
            c->json = true;
        } else if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = opt_value(argc, argv, &i, "--csv", &missing))) {
            csv = v;
        } else if ((v = opt_value(argc, argv, &i, "--metric", &missing))) {
            metric_s = v;
        } else if ((v = opt_value(argc, argv, &i, "--level", &missing))) {
            level_s = v;
        } else if ((v = opt_value(argc, argv, &i, "--weights", &missing))) {
            weights_s = v;
        } else if (missing) {
            return cli_usage(c, "agreement", "%s needs a value", argv[i]);
        } else {
            return cli_usage(c, "agreement", "unexpected argument %s", argv[i]);
        }
    }
    if (!csv) return cli_usage(c, "agreement", "give the data with --csv FILE");
    if (!metric_s) return cli_usage(c, "agreement", "choose a --metric");
    int metric = an_agr_metric_parse(metric_s);
    if (metric < 0)
        return cli_usage(c, "agreement",
                         "unknown metric \"%s\"; use percent, cohen, fleiss, alpha or ac1",
                         metric_s);
    int level = level_s ? an_agr_level_parse(level_s) : AN_AGR_NOMINAL;
    if (level < 0)
        return cli_usage(c, "agreement",
                         "unknown level \"%s\"; use nominal, ordinal, interval or ratio", level_s);
    if (level_s && metric != AN_AGR_ALPHA)
        return cli_usage(c, "agreement", "--level applies to --metric alpha only");
    int weights = weights_s ? an_agr_weights_parse(weights_s) : AN_AGR_W_NONE;
    if (weights < 0)
        return cli_usage(c, "agreement",
                         "unknown weights \"%s\"; use none, linear or quadratic", weights_s);
    if (weights_s && metric != AN_AGR_COHEN)
        return cli_usage(c, "agreement", "--weights applies to --metric cohen only");

    an_err e;
    an_err_clear(&e);
    an_rel_table t;
    if (an_rel_csv_read(csv, &t, &e) < 0) return cli_fail(c, &e);
    an_agr_data d = an_rel_table_data(&t);
    an_agr_result r;
    if (an_agreement(&d, (an_agr_metric)metric, (an_agr_level)level, (an_agr_weights)weights, &r,
                     &e) < 0) {
        an_err_prefix_where(&e, csv);
        an_rel_table_free(&t);
        return cli_fail(c, &e);
    }
    if (c->json) {
        json_t *o = json_pack("{s:s,s:f,s:I,s:I,s:I,s:I}", "metric", metric_s, "value", r.value,
                              "units", (json_int_t)t.units, "units_used",
                              (json_int_t)r.units_used, "coders", (json_int_t)t.coders,
                              "categories", (json_int_t)t.categories);
        if (metric == AN_AGR_ALPHA)
            json_object_set_new(o, "level", json_string(an_agr_level_name(level)));
        if (metric == AN_AGR_COHEN)
            json_object_set_new(o, "weights", json_string(an_agr_weights_name(weights)));
        json_t *names = json_array();
        for (size_t i = 0; i < t.coders; i++)
            json_array_append_new(names, json_string(t.coder_names[i]));
        json_object_set_new(o, "coder_names", names);
        json_t *pairs = json_array();
        for (size_t i = 0; i < r.n_pairs; i++) {
            const an_agr_pair *p = &r.pairs[i];
            /* An undefined pair is null: NaN is not a number to print. */
            json_array_append_new(
                pairs, json_pack("{s:s,s:s,s:I,s:o}", "a", t.coder_names[p->a], "b",
                                 t.coder_names[p->b], "units", (json_int_t)p->units, "value",
                                 isnan(p->value) ? json_null() : json_real(p->value)));
        }
        json_object_set_new(o, "pairs", pairs);
        cli_print_json(o);
    } else {
        printf("metric      %s", metric_s);
        if (metric == AN_AGR_ALPHA) printf(" (%s)", an_agr_level_name(level));
        if (metric == AN_AGR_COHEN && weights != AN_AGR_W_NONE)
            printf(" (%s weights)", an_agr_weights_name(weights));
        printf("\nvalue       %.3f\n", r.value);
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
