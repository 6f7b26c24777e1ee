/* The export worker pool. */
#include "service/export_jobs.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "formats/export.h"
#include "formats/format.h"
#include "service/tar.h"

enum { MAX_WORKERS = 4, POLL_SECONDS = 3 };

struct an_export_runner {
    char *location;
    char *dir;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    unsigned kicks; /* wake-ups not yet taken by a worker */
    unsigned n_workers;
    pthread_t workers[MAX_WORKERS];
};

char *an_exports_dir(const char *location)
{
    an_buf b = {0};
    an_buf_addf(&b, "%s.exports", location);
    return an_buf_detach(&b);
}

const char *an_export_file_ext(const char *format)
{
    const an_format *f = an_format_find(format);
    if (f && f->export_to_dir) return "tar";
    if (strcmp(format, "ls-jsonl") == 0) return "jsonl";
    if (strcmp(format, "csv") == 0 || strcmp(format, "tsv") == 0 || strcmp(format, "conll") == 0)
        return format;
    if (strcmp(format, "files") == 0) return "txt";
    return "json";
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void an_export_job_run(an_store *s, const char *exports_dir, const an_export_job *job)
{
    an_err e;
    an_err_clear(&e);
    an_buf dir = {0}, out = {0}, folder = {0};
    an_buf_addf(&dir, "%s/%lld", exports_dir, (long long)job->id);
    an_project p = {0};
    an_export_report rep = {0};
    char pid[24];
    snprintf(pid, sizeof pid, "%lld", (long long)job->project_id);
    int rc = an_store_project_get(s, pid, &p, &e);
    if (rc == 0 && p.id != job->project_id)
        rc = an_err_set(&e, AN_ENOTFOUND, "project", "the project was deleted");
    const an_format *f = an_format_find(job->format);
    if (rc == 0 && (!f || !f->export_begin))
        rc = an_err_set(&e, AN_EINVAL, "format", "no exporter named %s", job->format);
    if (rc == 0) {
        /* A job run again (after a crash) starts from an empty folder. */
        remove_tree(dir.p);
        if (mkdir(dir.p, 0755) != 0)
            rc = an_err_set(&e, AN_EIO, dir.p, "cannot create the export folder: %s",
                            strerror(errno));
    }
    if (rc == 0) {
        an_buf_addf(&out, "%s/export.%s", dir.p, an_export_file_ext(job->format));
        /* The exporter creates the folder itself (it refuses an existing one). */
        if (f->export_to_dir) an_buf_addf(&folder, "%s/export", dir.p);
    }
    if (rc == 0) {
        an_export_opts o = {.format = job->format, .out_path = f->export_to_dir ? folder.p : out.p};
        rc = an_export(s, &p, &o, &rep, &e);
    }
    if (rc == 0 && f->export_to_dir) {
        rc = an_tar_folder(folder.p, "export", out.p, &e);
        remove_tree(folder.p);
    }
    an_err fe;
    an_err_clear(&fe);
    if (rc == 0) {
        an_store_export_job_finish(s, job->id, true, out.p, rep.tasks, NULL, &fe);
    } else {
        an_buf msg = {0};
        if (e.where[0])
            an_buf_addf(&msg, "%s: %s", e.where, e.msg);
        else
            an_buf_adds(&msg, e.msg);
        an_store_export_job_finish(s, job->id, false, NULL, 0, msg.p, &fe);
        an_buf_free(&msg);
        remove_tree(dir.p);
    }
    an_project_clear(&p);
    an_buf_free(&dir);
    an_buf_free(&out);
    an_buf_free(&folder);
}

static void *worker(void *arg)
{
    pthread_setname_np(pthread_self(), "annot-export"); /* what top -H and perf show */
    an_export_runner *r = arg;
    an_store *s = NULL;
    an_err e;
    an_err_clear(&e);
    for (;;) {
        pthread_mutex_lock(&r->mu);
        bool stop = r->stopping;
        pthread_mutex_unlock(&r->mu);
        if (stop) break;
        if (!s && an_store_open(r->location, &s, &e) < 0) s = NULL;
        an_export_job job;
        int got = s ? an_store_export_job_claim(s, &job, &e) : 0;
        if (got == 1) {
            an_export_job_run(s, r->dir, &job);
            an_export_job_clear(&job);
            continue;
        }
        pthread_mutex_lock(&r->mu);
        if (!r->stopping && r->kicks == 0) {
            struct timespec until = an_deadline_ms(POLL_SECONDS * 1000L);
            pthread_cond_timedwait(&r->cv, &r->mu, &until);
        }
        if (r->kicks) r->kicks--;
        pthread_mutex_unlock(&r->mu);
    }
    an_store_close(s);
    return NULL;
}

int an_export_runner_start(const char *location, unsigned workers, an_export_runner **out,
                           an_err *err)
{
    *out = NULL;
    if (workers < 1) workers = 1;
    if (workers > MAX_WORKERS) workers = MAX_WORKERS;
    an_store *s = NULL;
    int rc = an_store_open(location, &s, err);
    if (rc) return rc;
    rc = an_store_export_jobs_abandon(s,
                                      "the server stopped while this export ran; start the "
                                      "export again",
                                      NULL, err);
    an_store_close(s);
    if (rc) return rc;
    an_export_runner *r = an_xcalloc(1, sizeof *r);
    r->location = an_xstrdup(location);
    r->dir = an_exports_dir(location);
    if (mkdir(r->dir, 0750) != 0 && errno != EEXIST) {
        rc = an_err_set(err, AN_EIO, r->dir, "cannot create the exports folder: %s",
                        strerror(errno));
        free(r->dir);
        free(r->location);
        free(r);
        return rc;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    for (unsigned i = 0; i < workers; i++) {
        if (pthread_create(&r->workers[i], NULL, worker, r) != 0) break;
        r->n_workers++;
    }
    *out = r;
    return 0;
}

void an_export_runner_kick(an_export_runner *r)
{
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    r->kicks++;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void an_export_runner_stop(an_export_runner *r)
{
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    for (unsigned i = 0; i < r->n_workers; i++) pthread_join(r->workers[i], NULL);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->dir);
    free(r->location);
    free(r);
}
