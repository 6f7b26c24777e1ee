/* Prediction jobs in memory, one thread each: see predict_jobs.h. */
#include "service/predict_jobs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "preanno/backend_client.h"
#include "preanno/run.h"
#include "store/backends.h"
#include "store/settings.h"
#include "store/store.h"

typedef struct job {
    an_predict_job_info info; /* guarded by the table's lock */
    char *model, *version;
    bool only_unlabeled;
    atomic_int cancel;
    pthread_t th;
    struct an_predict_jobs *owner;
    struct job *next; /* newer first */
} job;

struct an_predict_jobs {
    char *location;
    pthread_mutex_t lock;
    job *jobs;
    int64_t next_id;
};

const char *an_predict_job_status_name(an_predict_job_status s)
{
    switch (s) {
    case AN_PJOB_RUNNING: return "running";
    case AN_PJOB_DONE: return "done";
    case AN_PJOB_FAILED: return "failed";
    default: return "cancelled";
    }
}

an_predict_jobs *an_predict_jobs_new(const char *location)
{
    an_predict_jobs *j = an_xcalloc(1, sizeof *j);
    j->location = an_xstrdup(location);
    pthread_mutex_init(&j->lock, NULL);
    j->next_id = 1;
    return j;
}

static void on_progress(void *ud, uint64_t done, uint64_t total)
{
    job *jb = ud;
    pthread_mutex_lock(&jb->owner->lock);
    jb->info.done = done;
    jb->info.total = total > done ? total : done;
    pthread_mutex_unlock(&jb->owner->lock);
}

static void on_failure(void *ud, int64_t task_id, const an_err *e)
{
    job *jb = ud;
    pthread_mutex_lock(&jb->owner->lock);
    if (!jb->info.first_failure[0])
        snprintf(jb->info.first_failure, sizeof jb->info.first_failure, "task %lld: %s%s%s",
                 (long long)task_id, e->where, e->where[0] ? ": " : "", e->msg);
    pthread_mutex_unlock(&jb->owner->lock);
}

/* Sets up the backend call for the job: opts->ops, open_opts (*opts_json, caller releases)
 * and model_version (into version). */
static int backend_opts(an_store *s, job *jb, const an_project *p, an_predict_opts *o,
                        json_t **opts_json, char version[AN_MODEL_VERSION_MAX], an_err *err)
{
    an_backend b;
    int rc = an_store_backend_get(s, jb->info.backend_id, &b, err);
    if (rc) return rc;
    char *allow = NULL;
    if (b.project_id != p->id)
        rc = an_err_set(err, AN_EINVAL, "backend", "ML backend %lld belongs to another project",
                        (long long)b.id);
    else if (!b.is_active)
        rc = an_err_set(err, AN_EINVAL, "backend", "ML backend %lld is switched off "
                        "(is_active false); switch it on first", (long long)b.id);
    if (!rc) rc = an_store_setting_get(s, "outbound.allow", &allow, err);
    an_backend_conf conf = {.url = b.url,
                            .timeout_ms = b.timeout_ms,
                            .retries = b.retries,
                            .trusted = false, /* the URL came through the API */
                            .allow_text = allow};
    an_backend_project bp = {.id = p->id, .created_at = p->created_at, .label_config = p->config};
    if (!rc) rc = an_backend_setup(&conf, &bp, version, err);
    if (!rc && !version[0]) {
        if (b.model_version && b.model_version[0])
            snprintf(version, AN_MODEL_VERSION_MAX, "%s", b.model_version);
        else
            snprintf(version, AN_MODEL_VERSION_MAX, "backend-%lld", (long long)b.id);
    }
    if (!rc && strcmp(version, b.model_version ? b.model_version : "") != 0)
        rc = an_store_backend_set_version(s, b.id, version, err);
    if (!rc) {
        *opts_json = an_backend_open_opts(&conf, (size_t)b.batch_size, &bp);
        o->ops = &an_backend_ops;
        o->open_opts = *opts_json;
        o->model_version = version;
        o->workers = b.concurrency;
        o->batch_size = (size_t)b.batch_size;
    }
    free(allow);
    an_backend_clear(&b);
    return rc;
}

static void *job_main(void *arg)
{
    pthread_setname_np(pthread_self(), "annot-predict"); /* what top -H and perf show */
    job *jb = arg;
    an_predict_jobs *j = jb->owner;
    an_err e;
    an_err_clear(&e);
    an_store *s = NULL;
    an_project p;
    memset(&p, 0, sizeof p);
    an_predict_summary sum;
    memset(&sum, 0, sizeof sum);
    json_t *opts_json = NULL;
    char version[AN_MODEL_VERSION_MAX] = "";
    int rc = an_store_open(j->location, &s, &e);
    if (!rc) {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)jb->info.project_id);
        rc = an_store_project_get(s, id, &p, &e);
        if (!rc && p.id != jb->info.project_id)
            rc = an_err_set(&e, AN_ENOTFOUND, "project", "the project no longer exists");
    }
    an_predict_opts o = {.location = j->location,
                         .workers = 2,
                         .only_unlabeled = jb->only_unlabeled,
                         .user_id = jb->info.user_id,
                         .on_failure = on_failure,
                         .on_progress = on_progress,
                         .cancel = &jb->cancel,
                         .ud = jb};
    if (!rc && jb->info.backend_id) {
        rc = backend_opts(s, jb, &p, &o, &opts_json, version, &e);
    } else {
        o.model = jb->model;
        o.version = jb->version;
    }
    if (!rc) {
        pthread_mutex_lock(&j->lock);
        jb->info.total = (uint64_t)(p.task_count > 0 ? p.task_count : 0);
        if (version[0]) snprintf(jb->info.model_version, sizeof jb->info.model_version, "%s", version);
        pthread_mutex_unlock(&j->lock);
        rc = an_predict_run(s, &p, &o, &sum, &e);
    }
    pthread_mutex_lock(&j->lock);
    if (sum.model_version[0])
        snprintf(jb->info.model_version, sizeof jb->info.model_version, "%s", sum.model_version);
    jb->info.predicted = sum.predicted;
    jb->info.failed = sum.failed;
    jb->info.skipped = sum.skipped_existing + sum.skipped_labeled + sum.below_min_score;
    if (rc == 0 && !atomic_load(&jb->cancel))
        jb->info.done = jb->info.total = (uint64_t)(sum.tasks > 0 ? sum.tasks : 0);
    if (rc < 0) {
        jb->info.status = AN_PJOB_FAILED;
        snprintf(jb->info.error, sizeof jb->info.error, "%s%s%s", e.where,
                 e.where[0] ? ": " : "", e.msg);
    } else {
        jb->info.status = atomic_load(&jb->cancel) ? AN_PJOB_CANCELLED : AN_PJOB_DONE;
    }
    an_now_iso(jb->info.finished_at);
    pthread_mutex_unlock(&j->lock);
    an_predict_summary_free(&sum);
    json_decref(opts_json);
    an_project_clear(&p);
    if (s) an_store_close(s);
    return NULL;
}

static void job_free(job *jb)
{
    free(jb->model);
    free(jb->version);
    free(jb);
}

/* Drops finished jobs beyond the number kept (under the lock). */
static void prune(an_predict_jobs *j)
{
    int kept = 0;
    for (job **pp = &j->jobs; *pp;) {
        job *jb = *pp;
        if (jb->info.status != AN_PJOB_RUNNING && ++kept > AN_PREDICT_JOBS_KEPT) {
            *pp = jb->next;
            pthread_join(jb->th, NULL); /* finished: returns at once */
            job_free(jb);
            continue;
        }
        pp = &jb->next;
    }
}

int an_predict_job_submit(an_predict_jobs *j, const an_predict_job_spec *spec, int64_t *id_out,
                          an_err *err)
{
    *id_out = 0;
    bool has_model = spec->model && *spec->model;
    if (has_model == (spec->backend_id > 0))
        return an_err_set(err, AN_EINVAL, "model",
                          "give either a model (a name) or a backend (an ML backend's id)");
    if (has_model && strlen(spec->model) >= sizeof ((an_predict_job_info *)0)->model)
        return an_err_set(err, AN_EINVAL, "model", "no model has so long a name");
    if (spec->project_id <= 0) return an_err_set(err, AN_EINVAL, "project", "give a project");
    pthread_mutex_lock(&j->lock);
    int running = 0;
    for (job *jb = j->jobs; jb; jb = jb->next) running += jb->info.status == AN_PJOB_RUNNING;
    if (running >= AN_PREDICT_JOBS_RUNNING_MAX) {
        pthread_mutex_unlock(&j->lock);
        return an_err_set(err, AN_EBUSY, "jobs", "%d prediction jobs are running; wait for one "
                          "to finish", running);
    }
    prune(j);
    job *jb = an_xcalloc(1, sizeof *jb);
    jb->owner = j;
    jb->info.id = j->next_id++;
    jb->info.project_id = spec->project_id;
    jb->info.backend_id = has_model ? 0 : spec->backend_id;
    jb->info.user_id = spec->user_id;
    jb->info.status = AN_PJOB_RUNNING;
    if (has_model) {
        snprintf(jb->info.model, sizeof jb->info.model, "%s", spec->model);
        jb->model = an_xstrdup(spec->model);
        jb->version = spec->version ? an_xstrdup(spec->version) : NULL;
    } else {
        snprintf(jb->info.model, sizeof jb->info.model, "backend");
    }
    jb->only_unlabeled = spec->only_unlabeled;
    atomic_init(&jb->cancel, 0);
    an_now_iso(jb->info.started_at);
    if (pthread_create(&jb->th, NULL, job_main, jb) != 0) {
        pthread_mutex_unlock(&j->lock);
        job_free(jb);
        return an_err_set(err, AN_EBUSY, "jobs", "cannot start a thread for the job; try again");
    }
    jb->next = j->jobs;
    j->jobs = jb;
    *id_out = jb->info.id;
    pthread_mutex_unlock(&j->lock);
    return 0;
}

int an_predict_job_get(an_predict_jobs *j, int64_t id, an_predict_job_info *out, an_err *err)
{
    int rc = -AN_ENOTFOUND;
    pthread_mutex_lock(&j->lock);
    for (job *jb = j->jobs; jb; jb = jb->next)
        if (jb->info.id == id) {
            *out = jb->info;
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&j->lock);
    if (rc) an_err_set(err, AN_ENOTFOUND, "job", "no prediction job numbered %lld (jobs are "
                       "kept in memory until the server stops)", (long long)id);
    return rc;
}

void an_predict_jobs_free(an_predict_jobs *j)
{
    if (!j) return;
    pthread_mutex_lock(&j->lock);
    for (job *jb = j->jobs; jb; jb = jb->next) atomic_store(&jb->cancel, 1);
    job *list = j->jobs;
    j->jobs = NULL;
    pthread_mutex_unlock(&j->lock);
    while (list) {
        job *next = list->next;
        pthread_join(list->th, NULL);
        job_free(list);
        list = next;
    }
    pthread_mutex_destroy(&j->lock);
    free(j->location);
    free(j);
}
