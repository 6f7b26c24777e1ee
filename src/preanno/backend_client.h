/* A client for Label Studio's ML backend protocol, so that an existing backend (BERT, YOLO,
 * SAM, CLIP, … built on label-studio-ml-backend) pre-annotates annot projects unchanged.
 *
 * The protocol (JSON over HTTP, paths under the backend's base URL):
 *   GET  /health   → {"status": "UP", "model_class": …}
 *   POST /setup    {"project": "ID.TIMESTAMP", "schema": label_config, "hostname",
 *                   "access_token", "model_version"} → {"model_version": …}
 *   POST /predict  {"tasks": [{"id", "data"}, …], "label_config", "project": "ID.TIMESTAMP",
 *                   "params": {"login", "password", "context"}}
 *                  → {"results": [{"result": […], "score": s, "model_version": v}, …]}
 *                    (older backends: a bare list of those), one per task, in task order
 *   POST /webhook  {"action": "ANNOTATION_CREATED" | "ANNOTATION_UPDATED" | "START_TRAINING",
 *                   "project": {"id", "title", "label_config", …}, "annotation": {…},
 *                   "task": {"id", "data", …}} → 2xx (the backend's fit runs on it)
 *   POST /train    the same event for older backends (which answer 404 on /webhook), with
 *                   "annotations": [the task with its "annotations": [the annotation]],
 *                   "label_config" and "params" beside it, as label-studio-ml 1.x reads it
 *
 * The client is a predictor (predictor.h) named "backend" that the prediction runner
 * (run.h) drives like a built-in model: each worker's state sends its batch in requests of
 * batch_size tasks, one request at a time, so the runner's worker count is the number of
 * requests in flight (the backend's concurrency). A request that fails to connect, or is
 * answered 5xx or 429, is tried again up to `retries` more times after 0.25 s, 0.5 s, 1 s, …
 * (at most 8 s); a request that runs past its timeout is not tried again (a slow backend
 * stays slow) and fails its batch. An answer whose result count differs from the task count
 * fails the whole batch; an item carrying "error" (as `annot backend serve` sends for a task
 * it could not predict) fails that task alone, with the backend's message. The runner then
 * validates every result against the labeling config like any prediction.
 *
 * Outbound requests go through net/client.h: with trusted set (a URL given on the command
 * line, which holds the database anyway) every address may be reached; otherwise (a URL
 * that came through the API) the guard refuses internal addresses unless the workspace's
 * allow-list names them.
 *
 * Thread safety: the functions may run on any number of threads; a predictor state is used
 * by one thread at a time (predictor.h). */
#ifndef AN_PREANNO_BACKEND_CLIENT_H
#define AN_PREANNO_BACKEND_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "preanno/predictor.h"
#include "store/models.h"

/* How to call one backend. */
typedef struct an_backend_conf {
    const char *url;        /* base URL (http or https); a trailing '/' is ignored */
    long timeout_ms;        /* per request; 0: 30000 */
    int retries;            /* further attempts of a failed request (0..10) */
    bool trusted;           /* any address may be reached (the CLI) */
    const char *allow_text; /* not trusted: the workspace's outbound.allow (may be NULL) */
} an_backend_conf;

/* What /setup and /predict are told about the project. */
typedef struct an_backend_project {
    int64_t id;
    const char *created_at;   /* ISO 8601 UTC; its seconds make the "ID.TIMESTAMP" key */
    const char *label_config; /* the labeling config XML */
} an_backend_project;

/* Checks that conf->url is a URL the client may call (parsed; guarded unless trusted).
 * AN_EINVAL with where "url" when not. Resolves the host, so it may block. */
int an_backend_check_url(const an_backend_conf *conf, an_err *err);

/* GET /health: 0 when the backend answers 200 with {"status": "UP"}; *model_class (may be
 * NULL; malloc'd, caller frees; NULL when not given) is its model class. AN_EIO when it
 * cannot be reached or is not up, AN_EINVAL (where "url") when the URL is refused. */
int an_backend_health(const an_backend_conf *conf, char **model_class, an_err *err);

/* POST /setup for project p: the version the backend reports goes to version (at most
 * AN_MODEL_VERSION_MAX bytes; "" when it reports none). AN_EIO when the backend fails,
 * AN_EINVAL when its answer is not the protocol's. */
int an_backend_setup(const an_backend_conf *conf, const an_backend_project *p,
                     char version[AN_MODEL_VERSION_MAX], an_err *err);

/* The options JSON the "backend" predictor's open takes (new reference): conf, the tasks per
 * request and project p (its strings are copied). */
json_t *an_backend_open_opts(const an_backend_conf *conf, size_t batch_size,
                             const an_backend_project *p);

/* How a training event was taken (an_backend_event). */
typedef struct an_backend_event_result {
    char path[12]; /* "/webhook", or "/train" when /webhook answered 404; "" when none */
    long status;   /* the backend's last HTTP status; 0 when no answer arrived */
} an_backend_event_result;

/* Sends one training event (Label Studio's webhook shape) to the backend: POST /webhook with
 * {"action": action, "project": project, <payload's members>}; when the backend answers 404
 * there (label-studio-ml 1.x has no /webhook for these), POST /train with the same members
 * and "annotations" (payload's task with "annotations": [payload's annotation]; [] without
 * one), "label_config" (project's) and "params": {}. project is Label Studio's project object
 * (at least "id" and "label_config"); payload (may be NULL) holds "annotation" and "task".
 * Neither is taken. Retries as the other calls; the call blocks for up to the timeout (a
 * backend may train before it answers). 0 when the backend answered 2xx; AN_EIO otherwise
 * (AN_EINVAL, where "url", when the guard refuses it). out (may be NULL) says where and
 * what was answered. */
int an_backend_event(const an_backend_conf *conf, const char *action, const json_t *project,
                     const json_t *payload, an_backend_event_result *out, an_err *err);

/* The "backend" predictor (not in the by-name registry: it needs a URL, given through
 * an_backend_open_opts). Its open takes no stored model and accepts any control (NULL too):
 * the backend reads the whole labeling config. */
extern const an_predictor_ops an_backend_ops;

#endif
