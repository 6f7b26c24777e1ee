/* annot train: trains a pre-annotation model on a project's accepted annotations and stores
 * it as the model's next version. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "preanno/predictor.h"
#include "preanno/train.h"

static const char usage[] =
    "usage: annot train PROJECT --model textcls|fewshot --control NAME [options]\n\n"
    "Trains a text classifier for a single-choice Choices control on a Text object from the\n"
    "project's accepted annotations (those whose latest review accepted them, and ground\n"
    "truth; every non-cancelled annotation when the project has no reviews) and stores it as\n"
    "the next version (textcls-1, textcls-2, …), which `annot predict` uses.\n\n"
    "  --model M     textcls (logistic regression, calibrated) or fewshot (prototypes; 5\n"
    "                examples per class suffice)\n"
    "  --control N   the Choices control to learn\n"
    "  --epochs N    textcls: passes over the training examples (10)\n"
    "  --seed S      textcls: seed of the split and the shuffles (1)\n"
    "  --bits B      feature buckets 2^B (18)\n"
    "  --json        one JSON object on stdout\n";

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static double metric(const json_t *m, const char *part, const char *key)
{
    double v = NAN;
    an_json_number(json_object_get(json_object_get(m, part), key), &v);
    return v;
}

static void print_text(const char *project, const char *model, const char *control,
                       const an_train_report *r)
{
    const json_t *m = r->metrics;
    double t = NAN;
    an_json_number(json_object_get(r->params, "temperature"), &t);
    printf("model        %s\n", model);
    printf("version      %s\n", r->version);
    printf("project      %s, control %s\n", project, control);
    printf("examples     %zu of %zu tasks (accepted from %s)\n", r->examples, r->tasks, r->source);
    if (strcmp(model, "textcls") == 0) {
        json_int_t tr = json_integer_value(json_object_get(m, "train"));
        json_int_t ho = json_integer_value(json_object_get(m, "held_out"));
        printf("split        %lld train, %lld held out\n", (long long)tr, (long long)ho);
        printf("accuracy     %.4f held out\n", metric(m, "held_out_after", "accuracy"));
        printf("log-loss     %.4f -> %.4f calibrated\n", metric(m, "held_out_before", "log_loss"),
               metric(m, "held_out_after", "log_loss"));
        printf("ECE          %.4f -> %.4f calibrated\n", metric(m, "held_out_before", "ece"),
               metric(m, "held_out_after", "ece"));
    } else {
        printf("accuracy     %.4f leave-one-out\n", metric(m, "loo_after", "accuracy"));
        printf("log-loss     %.4f -> %.4f calibrated\n", metric(m, "loo_before", "log_loss"),
               metric(m, "loo_after", "log_loss"));
        printf("ECE          %.4f -> %.4f calibrated\n", metric(m, "loo_before", "ece"),
               metric(m, "loo_after", "ece"));
    }
    printf("temperature  %.4f\n", t);
}

int cmd_train(cli *c, int argc, char **argv)
{
    const char *project = NULL, *model = NULL, *control = NULL;
    long epochs = -1, seed = -1, bits = -1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        bool missing = false;
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            c->json = true;
        } else if ((v = cli_opt_value(argc, argv, &i, "--model", &missing))) {
            model = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--control", &missing))) {
            control = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--epochs", &missing))) {
            if (!parse_long(v, 1, 1000, &epochs))
                return cli_usage(c, "train", "--epochs takes a whole number from 1 to 1000");
        } else if ((v = cli_opt_value(argc, argv, &i, "--seed", &missing))) {
            if (!parse_long(v, 0, 0x7fffffffL, &seed))
                return cli_usage(c, "train", "--seed takes a whole number from 0 to 2147483647");
        } else if ((v = cli_opt_value(argc, argv, &i, "--bits", &missing))) {
            if (!parse_long(v, 8, 24, &bits))
                return cli_usage(c, "train", "--bits takes a whole number from 8 to 24");
        } else if (missing) {
            return cli_usage(c, "train", "%s needs a value", argv[i]);
        } else if (argv[i][0] == '-') {
            return cli_usage(c, "train", "unknown option %s", argv[i]);
        } else if (!project) {
            project = argv[i];
        } else {
            return cli_usage(c, "train", "unexpected argument %s", argv[i]);
        }
    }
    if (!project) return cli_usage(c, "train", "name the project");
    if (!model) return cli_usage(c, "train", "choose a model with --model textcls|fewshot");
    if (!control) return cli_usage(c, "train", "name the control to learn with --control NAME");
    an_project p;
    int st = cli_project(c, project, &p);
    if (st) return st;
    json_t *opts = json_object();
    if (epochs > 0) json_object_set_new(opts, "epochs", json_integer(epochs));
    if (seed >= 0) json_object_set_new(opts, "seed", json_integer(seed));
    if (bits > 0) json_object_set_new(opts, "bits", json_integer(bits));
    an_train_opts to = {.model = model, .control = control, .options = opts};
    an_train_report r;
    an_err e;
    an_err_clear(&e);
    int rc = an_preanno_train(c->store, &p, &to, &r, &e);
    json_decref(opts);
    if (rc) {
        an_project_clear(&p);
        return cli_fail(c, &e);
    }
    if (c->json) {
        cli_print_json(json_pack("{s:s,s:s,s:I,s:s,s:s,s:I,s:I,s:O,s:O}", "model", model,
                                 "version", r.version, "project", (json_int_t)p.id, "control",
                                 control, "source", r.source, "tasks", (json_int_t)r.tasks,
                                 "examples", (json_int_t)r.examples, "params", r.params,
                                 "metrics", r.metrics));
    } else {
        print_text(p.name, model, control, &r);
    }
    an_train_report_free(&r);
    an_project_clear(&p);
    return 0;
}
