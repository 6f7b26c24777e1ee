/* annot predict: pre-annotates a project's tasks with a stored model, in parallel and
 * resumably (a rerun skips what the model version already predicted). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "preanno/backend_client.h"
#include "preanno/run.h"
#include "store/backends.h"

static const char usage[] =
    "usage: annot predict PROJECT --model NAME [--version V] [options]\n"
    "       annot predict PROJECT --backend URL|ID [options]\n\n"
    "Predicts the project's tasks with a trained model (`annot train`) and stores the\n"
    "predictions (model_version = the version, score = the model's probability). Tasks the\n"
    "version already predicted are skipped, so running it again after an interruption\n"
    "finishes the job without predicting any task twice.\n\n"
    "  --model NAME      textcls or fewshot (trained with `annot train`), or a model that\n"
    "                    needs no training: ocr, asr (docs/preanno.md)\n"
    "  --version V       a stored version such as textcls-2 (default: the latest); for a\n"
    "                    model that needs no training, the predictions' model_version\n"
    "                    (default: the model's name)\n"
    "  --option K=V      an option of a model that needs no training, e.g. lang=chi_sim or\n"
    "                    media_root=DIR (repeatable; V is read as JSON when it parses as JSON,\n"
    "                    else as a string)\n"
    "  --workers N       worker threads predicting in parallel (default 2)\n"
    "  --only-unlabeled  skip tasks that have a non-cancelled annotation\n"
    "  --min-score X     store only predictions scoring at least X (0..1)\n"
    "  --backend URL|ID  a Label Studio ML backend instead of a model: a URL, or the id of\n"
    "                    one added with `annot backend add` (its timeout, retries, batch and\n"
    "                    concurrency apply; --workers is its concurrency for a URL)\n"
    "  --json            one JSON summary on stdout\n";

static void print_failure(void *ud, int64_t task_id, const an_err *e)
{
    if (e->where[0])
        fprintf(stderr, "annot: predict: task %lld failed: %s: %s\n", (long long)task_id,
                e->where, e->msg);
    else
        fprintf(stderr, "annot: predict: task %lld failed: %s\n", (long long)task_id, e->msg);
}

static double rate(const an_predict_summary *s)
{
    int64_t n = s->predicted + s->failed + s->below_min_score;
    return s->seconds > 0 ? (double)n / s->seconds : 0;
}

static void print_json(const an_predict_summary *s)
{
    json_t *fails = json_array();
    for (size_t i = 0; i < s->n_failures; i++) {
        json_t *f = json_pack("{s:I,s:s}", "task", (json_int_t)s->failures[i].task_id, "message",
                              s->failures[i].err.msg);
        if (s->failures[i].err.where[0])
            json_object_set_new(f, "where", json_string(s->failures[i].err.where));
        json_array_append_new(fails, f);
    }
    cli_print_json(json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:f,s:f}", "model_version",
                             s->model_version, "tasks", (json_int_t)s->tasks, "predicted",
                             (json_int_t)s->predicted, "skipped_existing",
                             (json_int_t)s->skipped_existing, "skipped_labeled",
                             (json_int_t)s->skipped_labeled, "below_min_score",
                             (json_int_t)s->below_min_score, "failed", (json_int_t)s->failed,
                             "failures", fails, "failures_omitted",
                             (json_int_t)(s->failed - (int64_t)s->n_failures), "seconds",
                             s->seconds, "tasks_per_second", rate(s)));
}

static void print_text(const an_predict_summary *s)
{
    printf("model_version  %s\n", s->model_version);
    printf("tasks          %lld\n", (long long)s->tasks);
    printf("predicted      %lld\n", (long long)s->predicted);
    printf("skipped        %lld already predicted, %lld labeled\n",
           (long long)s->skipped_existing, (long long)s->skipped_labeled);
    if (s->below_min_score)
        printf("below score    %lld (not stored)\n", (long long)s->below_min_score);
    printf("failed         %lld\n", (long long)s->failed);
    printf("time           %.3f s, %.0f tasks/s\n", s->seconds, rate(s));
}

/* Routes --backend (a URL, or the id of a stored backend of p) through the runner: setup for
 * the model version, then the backend predictor with its call settings. */
static int backend_opts(cli *c, const char *backend, const an_project *p, an_predict_opts *o,
                        json_t **open_opts, char version[AN_MODEL_VERSION_MAX], an_err *e)
{
    an_backend b;
    an_backend_defaults(&b);
    bool stored = backend[0] && strspn(backend, "0123456789") == strlen(backend);
    int rc = 0;
    if (stored) {
        rc = an_store_backend_get(c->store, strtoll(backend, NULL, 10), &b, e);
        if (!rc && b.project_id != p->id)
            rc = an_err_set(e, AN_EINVAL, "--backend",
                            "ML backend %s belongs to another project; `annot backend list %s` "
                            "lists this one's",
                            backend, p->name);
    } else {
        b.url = an_xstrdup(backend);
        b.concurrency = o->workers;
    }
    an_backend_conf conf = {.url = b.url,
                            .timeout_ms = b.timeout_ms,
                            .retries = b.retries,
                            .trusted = true};
    an_backend_project bp = {.id = p->id, .created_at = p->created_at, .label_config = p->config};
    if (!rc) rc = an_backend_setup(&conf, &bp, version, e);
    if (!rc && !version[0]) {
        /* A backend that reports no version: the stored one, else one named after it. */
        if (stored && b.model_version && b.model_version[0])
            snprintf(version, AN_MODEL_VERSION_MAX, "%s", b.model_version);
        else if (stored)
            snprintf(version, AN_MODEL_VERSION_MAX, "backend-%lld", (long long)b.id);
        else
            snprintf(version, AN_MODEL_VERSION_MAX, "backend");
    }
    if (!rc && stored && strcmp(version, b.model_version ? b.model_version : "") != 0)
        rc = an_store_backend_set_version(c->store, b.id, version, e);
    if (!rc) {
        *open_opts = an_backend_open_opts(&conf, (size_t)b.batch_size, &bp);
        o->ops = &an_backend_ops;
        o->open_opts = *open_opts;
        o->model_version = version;
        o->workers = b.concurrency;
        o->batch_size = (size_t)b.batch_size;
    }
    an_backend_clear(&b);
    return rc;
}

/* Adds "KEY=VALUE" to *opts (made on first use): VALUE as JSON when it parses as JSON (a
 * number, true, an array), else as a string. -1 when there is no '=' or no key. */
static int add_option(json_t **opts, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) return -1;
    if (!*opts) *opts = json_object();
    json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
    if (!v) v = json_string(eq + 1);
    if (!v) return -1; /* not UTF-8 */
    char *key = an_xstrndup(kv, (size_t)(eq - kv));
    json_object_set_new(*opts, key, v);
    free(key);
    return 0;
}

int cmd_predict(cli *c, int argc, char **argv)
{
    const char *project = NULL, *model = NULL, *version = NULL, *backend = NULL;
    const char *options[64];
    size_t n_options = 0;
    an_predict_opts o = {.workers = 2, .progress = true, .on_failure = print_failure};
    for (int i = 1; i < argc; i++) {
        const char *v;
        bool missing = false;
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            c->json = true;
        } else if (strcmp(argv[i], "--only-unlabeled") == 0) {
            o.only_unlabeled = true;
        } else if ((v = cli_opt_value(argc, argv, &i, "--model", &missing))) {
            model = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--version", &missing))) {
            version = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--backend", &missing))) {
            backend = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--option", &missing))) {
            if (!strchr(v, '=') || v[0] == '=')
                return cli_usage(c, "predict", "--option takes KEY=VALUE");
            if (n_options == sizeof options / sizeof options[0])
                return cli_usage(c, "predict", "at most %zu --option", n_options);
            options[n_options++] = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--workers", &missing))) {
            char *end;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (errno || end == v || *end || n < 1 || n > AN_PREDICT_WORKERS_MAX)
                return cli_usage(c, "predict", "--workers takes a whole number from 1 to %d",
                                 AN_PREDICT_WORKERS_MAX);
            o.workers = (int)n;
        } else if ((v = cli_opt_value(argc, argv, &i, "--min-score", &missing))) {
            char *end;
            errno = 0;
            double x = strtod(v, &end);
            if (errno || end == v || *end || !(x >= 0 && x <= 1))
                return cli_usage(c, "predict", "--min-score takes a number from 0 to 1");
            o.min_score = x;
        } else if (missing) {
            return cli_usage(c, "predict", "%s needs a value", argv[i]);
        } else if (argv[i][0] == '-') {
            return cli_usage(c, "predict", "unknown option %s", argv[i]);
        } else if (!project) {
            project = argv[i];
        } else {
            return cli_usage(c, "predict", "unexpected argument %s", argv[i]);
        }
    }
    const an_predictor_ops *untrained = NULL;
    if (model && an_predictor_find(model) && !an_predictor_find(model)->train)
        untrained = an_predictor_find(model);
    if (n_options && !untrained)
        return cli_usage(c, "predict", "--option is for models that need no training (ocr, asr)");
    if (!project) return cli_usage(c, "predict", "name the project");
    if (backend && model)
        return cli_usage(c, "predict", "give --model or --backend, not both");
    if (!model && !backend) return cli_usage(c, "predict", "choose a model with --model NAME");
    json_t *model_opts = NULL;
    for (size_t k = 0; k < n_options; k++)
        if (add_option(&model_opts, options[k]) != 0) {
            json_decref(model_opts);
            return cli_usage(c, "predict", "--option %s is not UTF-8", options[k]);
        }
    if (untrained) {
        /* A model that needs no training is not in the store: the runner opens it over the
         * whole config with the options, under the version given or its name. */
        o.ops = untrained;
        o.open_opts = model_opts;
        o.model_version = version ? version : untrained->name;
    }
    o.model = model;
    o.version = version;
    o.location = c->db;
    if (c->json) o.on_failure = NULL;
    an_project p;
    int st = cli_project(c, project, &p);
    if (st) {
        json_decref(model_opts);
        return st;
    }
    an_predict_summary s;
    memset(&s, 0, sizeof s);
    an_err e;
    an_err_clear(&e);
    json_t *open_opts = NULL;
    char bversion[AN_MODEL_VERSION_MAX] = "";
    int rc = backend ? backend_opts(c, backend, &p, &o, &open_opts, bversion, &e) : 0;
    if (!rc) rc = an_predict_run(c->store, &p, &o, &s, &e);
    json_decref(open_opts);
    json_decref(model_opts);
    an_project_clear(&p);
    if (rc) {
        if (s.model_version[0] && (s.predicted || s.skipped_existing))
            fprintf(stderr, "annot: predict: stopped after storing %lld predictions of %s\n",
                    (long long)s.predicted, s.model_version);
        an_predict_summary_free(&s);
        return cli_fail(c, &e);
    }
    if (c->json)
        print_json(&s);
    else
        print_text(&s);
    an_predict_summary_free(&s);
    return 0;
}
