/* annot backend: Label Studio ML backends of a project (add, list, remove), and serving a
 * built-in model over the same protocol (serve). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "preanno/backend_client.h"
#include "server/ml_serve.h"
#include "service/backend_events.h"
#include "store/backends.h"

static const char usage[] =
    "usage: annot backend add PROJECT URL [--title T] [--timeout S] [--retries N] [--batch N]\n"
    "                         [--concurrency N]\n"
    "       annot backend list PROJECT\n"
    "       annot backend remove ID\n"
    "       annot backend train PROJECT [ID]\n"
    "       annot backend serve --model NAME [--project P] [--control NAME] [--version V]\n"
    "                           [--host H] [--port P]\n\n"
    "A Label Studio ML backend (label-studio-ml-backend: BERT, YOLO, SAM, …) pre-annotates a\n"
    "project: `annot predict PROJECT --backend ID` (or --backend URL without adding it) calls\n"
    "its /predict. add checks /health and /setup first and records the model version.\n"
    "`annot serve` sends the project's active backends a training event (/webhook, or /train\n"
    "for older backends) whenever an annotation is created or updated; train sends one\n"
    "START_TRAINING event now to the project's active backends (or to backend ID).\n\n"
    "  --timeout S       seconds per request (default 30)\n"
    "  --retries N       further attempts after a connection error, 5xx or 429 (default 2)\n"
    "  --batch N         tasks per request (default 16)\n"
    "  --concurrency N   requests in flight at once (default 2)\n\n"
    "serve answers the protocol (/health, /setup, /predict, /train, /webhook) with a built-in\n"
    "model, so Label Studio can use annot's models; textcls and fewshot need --project (where\n"
    "`annot train` stored them). It runs until interrupted.\n";

static int parse_int(cli *c, const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return cli_usage(c, "backend", "%s takes a whole number from %ld to %ld", opt, lo, hi);
    *out = n;
    return 0;
}

static int backend_add(cli *c, int argc, char **argv)
{
    const char *project = NULL, *url = NULL, *title = NULL;
    an_backend b;
    an_backend_defaults(&b);
    for (int i = 1; i < argc; i++) {
        const char *v;
        bool missing = false;
        long n;
        if ((v = cli_opt_value(argc, argv, &i, "--title", &missing))) {
            title = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--timeout", &missing))) {
            char *end;
            errno = 0;
            double s = strtod(v, &end);
            if (errno || end == v || *end || !(s * 1000 >= AN_BACKEND_TIMEOUT_MS_MIN) ||
                !(s * 1000 <= AN_BACKEND_TIMEOUT_MS_MAX))
                return cli_usage(c, "backend", "--timeout takes seconds from 0.1 to 3600");
            b.timeout_ms = (int)(s * 1000 + 0.5);
        } else if ((v = cli_opt_value(argc, argv, &i, "--retries", &missing))) {
            if (parse_int(c, "--retries", v, 0, AN_BACKEND_RETRIES_MAX, &n)) return 1;
            b.retries = (int)n;
        } else if ((v = cli_opt_value(argc, argv, &i, "--batch", &missing))) {
            if (parse_int(c, "--batch", v, 1, AN_BACKEND_BATCH_MAX, &n)) return 1;
            b.batch_size = (int)n;
        } else if ((v = cli_opt_value(argc, argv, &i, "--concurrency", &missing))) {
            if (parse_int(c, "--concurrency", v, 1, AN_BACKEND_CONCURRENCY_MAX, &n)) return 1;
            b.concurrency = (int)n;
        } else if (missing) {
            return cli_usage(c, "backend", "%s needs a value", argv[i]);
        } else if (argv[i][0] == '-') {
            return cli_usage(c, "backend", "unknown option %s", argv[i]);
        } else if (!project) {
            project = argv[i];
        } else if (!url) {
            url = argv[i];
        } else {
            return cli_usage(c, "backend", "unexpected argument %s", argv[i]);
        }
    }
    if (!project || !url) return cli_usage(c, "backend", "give the project and the backend's URL");
    an_project p;
    int st = cli_project(c, project, &p);
    if (st) return st;
    an_err e;
    an_err_clear(&e);
    an_backend_conf conf = {.url = url,
                            .timeout_ms = b.timeout_ms,
                            .retries = b.retries,
                            .trusted = true};
    an_backend_project bp = {.id = p.id, .created_at = p.created_at, .label_config = p.config};
    char version[AN_MODEL_VERSION_MAX] = "";
    char *model_class = NULL;
    int rc = an_backend_health(&conf, &model_class, &e);
    if (!rc) rc = an_backend_setup(&conf, &bp, version, &e);
    int64_t id = 0;
    b.project_id = p.id;
    b.url = (char *)url;
    b.title = (char *)(title ? title : "");
    b.model_version = version;
    if (!rc) rc = an_store_backend_add(c->store, &b, &id, &e);
    an_project_clear(&p);
    if (rc) {
        free(model_class);
        return cli_fail(c, &e);
    }
    if (c->json)
        cli_print_json(json_pack("{s:I,s:s,s:s,s:o}", "id", (json_int_t)id, "url", url,
                                 "model_version", version, "model_class",
                                 model_class ? json_string(model_class) : json_null()));
    else
        printf("added ML backend %lld (%s, model version %s)\n", (long long)id,
               model_class ? model_class : "model class not given", version[0] ? version : "none");
    free(model_class);
    return 0;
}

static int print_backend(void *ud, const an_backend *b)
{
    cli *c = ud;
    if (c->json) {
        cli_print_json(json_pack("{s:I,s:I,s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:b,s:s}", "id",
                                 (json_int_t)b->id, "project", (json_int_t)b->project_id, "url",
                                 b->url, "title", b->title, "model_version", b->model_version,
                                 "timeout_ms", b->timeout_ms, "retries", b->retries,
                                 "batch_size", b->batch_size, "concurrency", b->concurrency,
                                 "is_active", b->is_active, "created_at", b->created_at));
    } else {
        printf("%-4lld %-40s %-20s timeout %.1f s, retries %d, batch %d, concurrency %d%s%s%s\n",
               (long long)b->id, b->url, b->model_version[0] ? b->model_version : "-",
               b->timeout_ms / 1000.0, b->retries, b->batch_size, b->concurrency,
               b->is_active ? "" : ", off", b->title[0] ? "  " : "", b->title);
    }
    return 0;
}

static int backend_list(cli *c, int argc, char **argv)
{
    if (argc != 2) return cli_usage(c, "backend", "give the project: annot backend list PROJECT");
    an_project p;
    int st = cli_project(c, argv[1], &p);
    if (st) return st;
    an_err e;
    an_err_clear(&e);
    int rc = an_store_backend_list(c->store, p.id, print_backend, c, &e);
    an_project_clear(&p);
    return rc < 0 ? cli_fail(c, &e) : 0;
}

static int backend_remove(cli *c, int argc, char **argv)
{
    long id = 0;
    if (argc != 2) return cli_usage(c, "backend", "give the backend's id: annot backend remove ID");
    if (parse_int(c, "ID", argv[1], 1, 0x7fffffffL, &id)) return 1;
    if (!cli_store(c)) return 2;
    an_err e;
    an_err_clear(&e);
    if (an_store_backend_remove(c->store, id, &e) < 0) return cli_fail(c, &e);
    if (c->json)
        cli_print_json(json_pack("{s:I,s:b}", "id", (json_int_t)id, "removed", 1));
    else
        printf("removed ML backend %ld\n", id);
    return 0;
}

static void print_outcome(void *ud, const an_backend_event_outcome *o)
{
    cli *c = ud;
    const char *path = o->result.path[0] ? o->result.path : "/webhook";
    if (c->json) {
        json_t *j = json_pack("{s:I,s:s,s:b,s:s}", "id", (json_int_t)o->backend->id, "url",
                              o->backend->url, "sent", o->rc == 0, "path", path);
        json_object_set_new(j, "status",
                            o->result.status ? json_integer(o->result.status) : json_null());
        json_object_set_new(j, "error", o->rc ? json_string(o->err.msg) : json_null());
        cli_print_json(j);
    } else if (o->rc == 0) {
        printf("ML backend %lld: START_TRAINING sent to %s (answered %ld)\n",
               (long long)o->backend->id, path, o->result.status);
    } else {
        fprintf(stderr, "annot backend: ML backend %lld (%s): %s\n", (long long)o->backend->id,
                o->backend->url, o->err.msg);
    }
}

static int backend_train(cli *c, int argc, char **argv)
{
    long id = 0;
    if (argc < 2 || argc > 3)
        return cli_usage(c, "backend", "give the project: annot backend train PROJECT [ID]");
    if (argc == 3 && parse_int(c, "ID", argv[2], 1, 0x7fffffffL, &id)) return 1;
    an_project p;
    int st = cli_project(c, argv[1], &p);
    if (st) return st;
    an_err e;
    an_err_clear(&e);
    int sent = 0;
    /* The CLI holds the database anyway: its backends may be on loopback (trusted). */
    int rc = an_backend_events_send(c->store, p.id, id, "START_TRAINING", NULL, true,
                                    print_outcome, c, &sent, &e);
    an_project_clear(&p);
    if (rc < 0) return cli_fail(c, &e);
    return sent ? 0 : 1; /* no backend took it: each one's reason was printed */
}

static int backend_serve(cli *c, int argc, char **argv)
{
    an_ml_serve_opts o = {.location = c->db, .host = "127.0.0.1", .port = 9090};
    for (int i = 1; i < argc; i++) {
        const char *v;
        bool missing = false;
        long n;
        if ((v = cli_opt_value(argc, argv, &i, "--model", &missing))) {
            o.model = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--project", &missing))) {
            o.project = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--control", &missing))) {
            o.control = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--version", &missing))) {
            o.version = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--host", &missing))) {
            o.host = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--port", &missing))) {
            if (parse_int(c, "--port", v, 0, 65535, &n)) return 1;
            o.port = (int)n;
        } else if (missing) {
            return cli_usage(c, "backend", "%s needs a value", argv[i]);
        } else {
            return cli_usage(c, "backend", "unexpected argument %s", argv[i]);
        }
    }
    if (!o.model) return cli_usage(c, "backend", "choose the model to serve with --model NAME");
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    an_ml_serve *srv = NULL;
    an_err e;
    an_err_clear(&e);
    if (an_ml_serve_start(&o, &srv, &e) < 0) return cli_fail(c, &e);
    char version[AN_MODEL_VERSION_MAX];
    an_ml_serve_version(srv, version, sizeof version);
    printf("annot: serving model %s%s%s as an ML backend at http://%s:%d/\n", o.model,
           version[0] ? " " : "", version, o.host, an_ml_serve_port(srv));
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "annot: stopping (%s)\n", sig == SIGINT ? "interrupt" : "terminate");
    an_ml_serve_stop(srv);
    return 0;
}

int cmd_backend(cli *c, int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2;
    }
    for (int i = 2; i < argc; i++)
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            c->json = true;
            memmove(argv + i, argv + i + 1, (size_t)(argc - i - 1) * sizeof *argv);
            argc--;
            i--;
        }
    const char *sub = argv[1];
    if (strcmp(sub, "add") == 0) return backend_add(c, argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0) return backend_list(c, argc - 1, argv + 1);
    if (strcmp(sub, "remove") == 0) return backend_remove(c, argc - 1, argv + 1);
    if (strcmp(sub, "serve") == 0) return backend_serve(c, argc - 1, argv + 1);
    if (strcmp(sub, "train") == 0) return backend_train(c, argc - 1, argv + 1);
    return cli_usage(c, "backend", "unknown subcommand %s (add, list, remove, train, serve)",
                     sub);
}
