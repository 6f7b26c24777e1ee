/* Prediction jobs: `annot predict` in the background for the server, one thread per job with
 * its own store handles, so that no request waits for a model or an ML backend.
 *
 * Jobs live in memory only (the schema has no table for them): a job's id, status, progress
 * and error are lost when the server stops, while its committed predictions stay and a new
 * job resumes where it ended (the runner skips what the model version predicted). Stopping
 * cancels running jobs after their batches in flight. The last AN_PREDICT_JOBS_KEPT finished
 * jobs are kept for their status.
 *
 * Thread safety: every function may be called from any thread. */
#ifndef AN_PREDICT_JOBS_H
#define AN_PREDICT_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "store/models.h"

enum { AN_PREDICT_JOBS_RUNNING_MAX = 4, AN_PREDICT_JOBS_KEPT = 200 };

typedef struct an_predict_jobs an_predict_jobs;

/* What to run. Exactly one of model (a registry name) and backend_id (a stored ML backend
 * of the project, called through the outbound guard and the workspace's allow-list). */
typedef struct an_predict_job_spec {
    int64_t project_id;
    const char *model;
    const char *version; /* model only; NULL: the latest */
    int64_t backend_id;
    bool only_unlabeled;
    int64_t user_id; /* who started it (audit) */
} an_predict_job_spec;

typedef enum an_predict_job_status {
    AN_PJOB_RUNNING,
    AN_PJOB_DONE,
    AN_PJOB_FAILED,
    AN_PJOB_CANCELLED
} an_predict_job_status;

/* A job as an_predict_job_get reports it (a copy). */
typedef struct an_predict_job_info {
    int64_t id, project_id, backend_id, user_id;
    char model[80];
    char model_version[AN_MODEL_VERSION_MAX]; /* "" until known */
    an_predict_job_status status;
    uint64_t done, total; /* tasks handled so far, of the project's tasks */
    int64_t predicted, failed, skipped;
    char error[1024]; /* AN_PJOB_FAILED: why; else "" */
    char first_failure[512]; /* the first failed task's reason, "" when none */
    char started_at[32], finished_at[32]; /* finished_at "" while running */
} an_predict_job_info;

/* "running", "done", "failed", "cancelled". */
const char *an_predict_job_status_name(an_predict_job_status s);

/* A job table for the workspace at location. */
an_predict_jobs *an_predict_jobs_new(const char *location);

/* Starts a job; *id_out is its id. AN_EINVAL for a bad spec, AN_EBUSY when
 * AN_PREDICT_JOBS_RUNNING_MAX jobs run already. Whether the model, version or backend exist
 * is found out by the job (its status says). */
int an_predict_job_submit(an_predict_jobs *j, const an_predict_job_spec *spec, int64_t *id_out,
                          an_err *err);

/* Copies job id into out: 0, or AN_ENOTFOUND. */
int an_predict_job_get(an_predict_jobs *j, int64_t id, an_predict_job_info *out, an_err *err);

/* Cancels the running jobs, waits for them and frees the table (NULL: nothing). */
void an_predict_jobs_free(an_predict_jobs *j);

#endif
