/* Export jobs: exports that run in the background on a few worker threads, each with its own
 * store handle, so that no request waits for an export. The queue is the store's export_jobs
 * table: a job queued by any process is picked up, and its state survives a restart.
 *
 * Each finished job leaves one file in <exports dir>/<job id>/: export.<ext> for single-file
 * formats, export.tar (a ustar archive of the folder, see tar.h) for folder formats. */
#ifndef AN_EXPORT_JOBS_H
#define AN_EXPORT_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

typedef struct an_export_runner an_export_runner;

/* The folder that holds a workspace's exports: "<location>.exports". Returns a malloc'd
 * string the caller frees. */
char *an_exports_dir(const char *location);

/* Marks jobs left running by a previous process as failed (no job can still be running after
 * a crash or a stop), creates the exports folder and starts workers (1..4) that run queued
 * jobs one at a time each, oldest first. */
int an_export_runner_start(const char *location, unsigned workers, an_export_runner **out,
                           an_err *err);
/* Wakes a worker: call after queuing a job. Workers also look for queued jobs every few
 * seconds on their own (jobs queued by another process). Thread-safe. */
void an_export_runner_kick(an_export_runner *r);
/* Stops the workers: a job that is running is finished first. */
void an_export_runner_stop(an_export_runner *r);

/* Runs one claimed job to its end (done or failed) on this thread's store handle: what a
 * worker does with each job. The CLI could call it to run a job in the foreground. */
void an_export_job_run(an_store *s, const char *exports_dir, const an_export_job *job);

/* The file extension of a download of format ("json", "csv", "tar", …). */
const char *an_export_file_ext(const char *format);

#endif
