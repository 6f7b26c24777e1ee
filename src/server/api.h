/* Internal to the web application: what its handler files share. */
#ifndef AN_SERVER_API_H
#define AN_SERVER_API_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "model/config.h"
#include "server/app.h"
#include "server/http.h"
#include "service/auth.h"
#include "service/export_jobs.h"
#include "service/predict_jobs.h"
#include "service/webhooks.h"
#include "store/store.h"

/* Parsed labeling configs shared between requests (api_config.c). */
typedef struct api_config_cache api_config_cache;
api_config_cache *api_config_cache_new(void);
void api_config_cache_free(api_config_cache *c);

/* A project's parsed config, shared: read cfg, never change it, and give it back with
 * api_config_release. The other fields belong to api_config.c. */
typedef struct api_cfg {
    const an_config *cfg;
    int64_t project_id;
    uint8_t hash[AN_HASH_BYTES]; /* of the config text cfg was parsed from */
    int refs;
    struct api_cfg *next;
} api_cfg;

/* Background checkpoints for the request handles (checkpointer.c): start opens its own
 * handle on db; note is the request handles' an_wal_cb (ud: the checkpointer); stop waits
 * for the thread, after the request handles are closed. */
typedef struct api_checkpointer api_checkpointer;
int api_checkpointer_start(const char *db, api_checkpointer **out, an_err *err);
void api_checkpointer_note(void *ud, int64_t log_pages);
void api_checkpointer_stop(api_checkpointer *c);

/* The write batcher (api_writer.c): frequent small writes (annotations) are queued to one
 * thread that commits everything queued in one transaction, each write in a savepoint of its
 * own, and then resumes the requests. A handler fills an api_write (request-scoped memory:
 * an_http_alloc) with fn and ctx and returns api_write_later's value; `then` runs when the
 * write is done (committed, or failed: w->rc and w->err) and answers. fn runs inside the open
 * write transaction, on the writer's thread and store handle. */
typedef struct api_write {
    int (*fn)(an_store *s, void *ctx, an_err *err);
    void *ctx;
    /* filled by the writer */
    int rc;        /* 0: committed */
    an_err err;    /* why not */
    char at[32];   /* the transaction's time: created_at of what fn stored */
    an_http_req *req;
    struct api_write *next;
} api_write;
typedef struct api_writer api_writer;
int api_writer_start(const char *db, api_checkpointer *cp, api_writer **out, an_err *err);
/* Writes everything still queued, resumes its requests, and stops. */
void api_writer_stop(api_writer *w);
/* Queues w and returns AN_HTTP_LATER (the handler returns it). While the server stops (no
 * writer), writes w at once on s in a transaction of its own and returns then's answer. */
int api_write_later(an_app *app, an_http_req *req, an_http_resp *resp, an_store *s,
                    api_write *w, an_http_then then, void *ctx);

struct an_app {
    char *db; /* workspace location */
    bool secure_cookies;
    an_http_server *http;
    pthread_key_t store_key; /* this thread's an_store */
    bool key_made;
    an_ratelimit *logins;    /* failed logins per client address and per user name */
    an_export_runner *exports;
    char *exports_dir;  /* where finished exports are (an_exports_dir) */
    char **media_roots; /* realpath()s of the media roots */
    size_t n_media_roots;
    api_config_cache *configs;
    api_checkpointer *checkpointer; /* request handles never checkpoint themselves */
    an_webhooks *webhooks; /* webhook deliveries (an_webhooks_emit); started and stopped with the app */
    api_writer *writer;
    an_predict_jobs *predict_jobs; /* background prediction jobs (api_ml.c) */
};

/* The signed-in user of a request, set by the before hook. csrf is "" for token auth. */
typedef struct api_user {
    an_user u;
    bool via_session;
    char csrf[AN_CSRF_TEXT_BYTES];
    an_store *read; /* the request's soft read transaction (see authenticate), or NULL */
} api_user;

/* This thread's store handle; NULL after answering 500 in resp when it cannot be opened. */
an_store *api_store(an_app *app, an_http_resp *resp);

/* The signed-in user (never NULL inside handlers of authenticated routes). */
const an_user *api_me(an_http_req *req);

/* Answers with the error in e: 400 bad input, 404 not found, 409 exists, 503 busy, 500
 * otherwise; status overrides when non-zero (422 for validation). Returns 0 (handled). */
int api_fail(an_http_resp *resp, const an_err *e, int status);

/* Parses the body as a JSON object; on failure answers 400 and returns NULL. */
json_t *api_body_object(an_http_req *req, an_http_resp *resp);

/* Parses path parameter name as a positive id; answers 404 and returns 0 when it is not. */
int64_t api_param_id(an_http_req *req, an_http_resp *resp, const char *name);

/* Loads project id and checks the signed-in user may do action on it. Returns 0 with p filled
 * (caller clears it), or 1 after answering 404 (absent, or invisible to the user) or 403. */
int api_project_for(an_http_req *req, an_http_resp *resp, an_store *s, int64_t id,
                    an_action action, an_project *p);

/* The project's labeling config, parsed once per config text and shared between requests
 * (the text loaded with p decides: a changed config is parsed again, never served stale).
 * NULL after answering 500 when the stored config no longer parses. Thread-safe. */
api_cfg *api_config(an_app *app, const an_project *p, an_http_resp *resp);
/* Gives back a config from api_config (NULL: nothing). */
void api_config_release(an_app *app, api_cfg *c);
/* Forgets project_id's parsed config after its config changed or it was deleted (requests
 * still using it keep it until they release it). */
void api_config_forget(an_app *app, int64_t project_id);

/* Answers 200 with task_id in Label Studio's task shape, with its annotations and
 * predictions (no permission check: the caller did it). */
int api_task_respond(an_http_req *req, an_http_resp *resp, an_store *s, int64_t task_id);
/* The same for a task already loaded (it is not read again). */
int api_task_respond_task(an_http_req *req, an_http_resp *resp, an_store *s, const an_task *t);

/* Begins a read transaction for the rest of a handler (an_store_read_begin): the handler's
 * reads then share one transaction and one snapshot. Returns 0, or 1 after answering 503/500
 * when it cannot. Pair with an_store_read_end; never around a write. */
int api_read_begin(an_store *s, an_http_resp *resp);

/* Loads task id and checks the user may do action on its project. Returns 0 with t filled
 * (caller clears), or 1 after answering 404/403. */
int api_task_for(an_http_req *req, an_http_resp *resp, an_store *s, int64_t id,
                 an_action action, an_task *t, an_project *p);

/* Blind annotation: an annotator sees only their own annotations of a task (others' would
 * bias them, and gold answers would leak); reviewers, managers and admins see all. Returns
 * the annotator whose annotations the signed-in user may see, or 0 for all. */
int64_t api_visible_annotator(an_http_req *req);

/* A positive integer query argument, or dflt when absent; -1 when malformed or over max. */
long api_query_long(an_http_req *req, const char *name, long dflt, long max);

/* Removes thing id with remove() and records action on (kind, id) with detail (may be NULL)
 * in the audit table, in one transaction; answers 204, or the error. Returns 0. */
int api_delete_audited(an_http_req *req, an_http_resp *resp, an_store *s, const char *action,
                       const char *kind, int64_t id, const char *detail,
                       int (*remove)(an_store *s, int64_t id, an_err *err));

/* Answers 403 unless the signed-in user may do a (MANAGE_USERS: admins). Returns 1 after
 * answering, 0 when allowed. */
int api_require(an_http_req *req, an_http_resp *resp, an_action a);

/* A user in API answers: id, username, role (and active, for admins). */
json_t *api_user_json(an_store *s, const an_user *u, bool with_active);

/* Handlers, one file per resource. */
int api_openapi(an_http_req *req, an_http_resp *resp, void *app);
int api_health(an_http_req *req, an_http_resp *resp, void *app);
int api_metrics(an_http_req *req, an_http_resp *resp, void *app);
int api_login(an_http_req *req, an_http_resp *resp, void *app);
int api_logout(an_http_req *req, an_http_resp *resp, void *app);
int api_whoami(an_http_req *req, an_http_resp *resp, void *app);

int api_projects_list(an_http_req *req, an_http_resp *resp, void *app);
int api_projects_create(an_http_req *req, an_http_resp *resp, void *app);
int api_project_get(an_http_req *req, an_http_resp *resp, void *app);
int api_project_validate(an_http_req *req, an_http_resp *resp, void *app);
int api_project_import(an_http_req *req, an_http_resp *resp, void *app);
int api_project_next(an_http_req *req, an_http_resp *resp, void *app);
int api_project_config(an_http_req *req, an_http_resp *resp, void *app);
int api_project_stats(an_http_req *req, an_http_resp *resp, void *app);

int api_tasks_list(an_http_req *req, an_http_resp *resp, void *app);
int api_task_get(an_http_req *req, an_http_resp *resp, void *app);
int api_task_delete(an_http_req *req, an_http_resp *resp, void *app);

int api_task_annotations(an_http_req *req, an_http_resp *resp, void *app);
int api_annotation_create(an_http_req *req, an_http_resp *resp, void *app);
int api_annotation_get(an_http_req *req, an_http_resp *resp, void *app);
int api_annotation_update(an_http_req *req, an_http_resp *resp, void *app);
int api_annotation_delete(an_http_req *req, an_http_resp *resp, void *app);
int api_prediction_create(an_http_req *req, an_http_resp *resp, void *app);

int api_project_update(an_http_req *req, an_http_resp *resp, void *app);
int api_project_delete(an_http_req *req, an_http_resp *resp, void *app);
int api_task_update(an_http_req *req, an_http_resp *resp, void *app);
int api_task_media(an_http_req *req, an_http_resp *resp, void *app);

int api_exports_create(an_http_req *req, an_http_resp *resp, void *app);
int api_exports_list(an_http_req *req, an_http_resp *resp, void *app);
int api_export_get(an_http_req *req, an_http_resp *resp, void *app);
int api_export_download(an_http_req *req, an_http_resp *resp, void *app);

int api_review_create(an_http_req *req, an_http_resp *resp, void *app);
int api_reviews_list(an_http_req *req, an_http_resp *resp, void *app);
int api_project_annotations(an_http_req *req, an_http_resp *resp, void *app);

int api_users_list(an_http_req *req, an_http_resp *resp, void *app);
int api_user_create(an_http_req *req, an_http_resp *resp, void *app);
int api_user_update(an_http_req *req, an_http_resp *resp, void *app);
int api_user_token(an_http_req *req, an_http_resp *resp, void *app);
int api_members_list(an_http_req *req, an_http_resp *resp, void *app);
int api_member_add(an_http_req *req, an_http_resp *resp, void *app);
int api_member_remove(an_http_req *req, an_http_resp *resp, void *app);

int api_audit_list(an_http_req *req, an_http_resp *resp, void *app);

int api_qc_rules_get(an_http_req *req, an_http_resp *resp, void *app);
int api_qc_rules_put(an_http_req *req, an_http_resp *resp, void *app);
int api_qc_findings(an_http_req *req, an_http_resp *resp, void *app);
int api_qc_run(an_http_req *req, an_http_resp *resp, void *app);
int api_qc_report(an_http_req *req, an_http_resp *resp, void *app);
int api_qc_report_html(an_http_req *req, an_http_resp *resp, void *app);

int api_webhooks_list(an_http_req *req, an_http_resp *resp, void *app);
int api_webhook_create(an_http_req *req, an_http_resp *resp, void *app);
int api_webhooks_info(an_http_req *req, an_http_resp *resp, void *app);
int api_webhook_get(an_http_req *req, an_http_resp *resp, void *app);
int api_webhook_update(an_http_req *req, an_http_resp *resp, void *app);
int api_webhook_delete(an_http_req *req, an_http_resp *resp, void *app);

int api_ml_list(an_http_req *req, an_http_resp *resp, void *app);
int api_ml_create(an_http_req *req, an_http_resp *resp, void *app);
int api_ml_get(an_http_req *req, an_http_resp *resp, void *app);
int api_ml_update(an_http_req *req, an_http_resp *resp, void *app);
int api_ml_delete(an_http_req *req, an_http_resp *resp, void *app);
int api_predict_models(an_http_req *req, an_http_resp *resp, void *app);
int api_predict_job_create(an_http_req *req, an_http_resp *resp, void *app);
int api_predict_job_get(an_http_req *req, an_http_resp *resp, void *app);

#endif
