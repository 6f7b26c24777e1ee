/* `annot backend serve`: a built-in pre-annotation model served over Label Studio's ML
 * backend protocol (preanno/backend_client.h describes it), so Label Studio, or annot itself
 * (`annot predict --backend URL`), can use annot's models.
 *
 *   GET  /health, GET /  {"status": "UP", "model_class": "annot:NAME", "model_version": v}
 *   POST /setup          loads the latest stored version (unless one was fixed) and, when
 *                        "schema" is given, the control it answers in that config;
 *                        → {"model_version": v}
 *   POST /predict        {"tasks": [{"id", "data"}, …], "label_config"?} →
 *                        {"results": [{"result", "score", "model_version"}, …],
 *                         "model_version": v}; a task the model cannot predict gets
 *                        {"result": [], "score": 0, "model_version": v, "error": why}
 *   POST /train          trains nothing: training runs through `annot train`; → 200 with
 *                        {"status": "ok", "job": null, "message": …}
 *   POST /webhook        accepts every event and ignores it: 200 {"status": "Unknown event"}
 *
 * A trained model (textcls, fewshot) needs the project it was trained in (its versions are
 * stored there); the control is the model's own unless --control names another. The
 * labeling config is the request's label_config (or /setup's schema), else the project's.
 * Predictions are made one request at a time (one model state, behind a lock).
 *
 * Thread safety: start and stop from one thread; the server runs on its own threads. */
#ifndef AN_SERVER_ML_SERVE_H
#define AN_SERVER_ML_SERVE_H

#include "base/err.h"

typedef struct an_ml_serve_opts {
    const char *location; /* the workspace: stored models and the project */
    const char *model;    /* registry name */
    const char *project;  /* name or id; NULL: none (then label_config comes with requests) */
    const char *control;  /* NULL: the stored model's control, else the first one it answers */
    const char *version;  /* NULL: the latest stored version, again at each /setup */
    const char *host;     /* NULL: 127.0.0.1 */
    int port;             /* 0: any free port */
    unsigned threads;     /* 0: 2 */
} an_ml_serve_opts;

typedef struct an_ml_serve an_ml_serve;

/* Loads the model (AN_ENOTFOUND when the model or a needed stored version does not exist,
 * AN_EINVAL when it needs a project and none is given) and starts serving. */
int an_ml_serve_start(const an_ml_serve_opts *o, an_ml_serve **out, an_err *err);
int an_ml_serve_port(const an_ml_serve *s);
/* The model version served ("" for a model without versions) into out (size bytes). */
void an_ml_serve_version(an_ml_serve *s, char *out, size_t size);
void an_ml_serve_stop(an_ml_serve *s);

#endif
