/* The prediction pipeline: reader (calling thread), workers, writer. See run.h. */
#include "preanno/run.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/progress.h"
#include "base/queue.h"
#include "model/config.h"
#include "model/validate.h"
#include "preanno/predictor.h"

enum { ST_OK = 0, ST_FAILED = 1, ST_LOW = 2 };
enum { BATCH_DEFAULT = 256, TX_DEFAULT = 2000, QUEUE_BYTES = 64 << 20 };

/* A batch of tasks on its way from the reader through a worker to the writer. */
typedef struct batch {
    size_t n, cap;
    int64_t *ids;
    char **data;
    size_t *lens;
    char **result; /* canonical result text (ST_OK) */
    double *score;
    unsigned char *status;
    an_err **errs; /* ST_FAILED: why */
    size_t bytes;
    bool unpredicted; /* the run stopped first: nothing of it is written */
} batch;

static batch *batch_new(size_t cap)
{
    batch *b = an_xcalloc(1, sizeof *b);
    b->cap = cap;
    b->ids = an_xcalloc(cap, sizeof *b->ids);
    b->data = an_xcalloc(cap, sizeof *b->data);
    b->lens = an_xcalloc(cap, sizeof *b->lens);
    b->result = an_xcalloc(cap, sizeof *b->result);
    b->score = an_xcalloc(cap, sizeof *b->score);
    b->status = an_xcalloc(cap, sizeof *b->status);
    b->errs = an_xcalloc(cap, sizeof *b->errs);
    return b;
}

static void batch_free(batch *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->data[i]);
        free(b->result[i]);
        free(b->errs[i]);
    }
    free(b->ids);
    free(b->data);
    free(b->lens);
    free(b->result);
    free(b->score);
    free(b->status);
    free(b->errs);
    free(b);
}

typedef struct run {
    const an_predictor_ops *ops;
    const an_config *cfg;
    const an_project *project;
    const an_predict_opts *o;
    const char *version;
    double min_score;
    size_t tx_size;
    int workers;
    an_queue work, done;
    atomic_int stop;
    atomic_llong skipped; /* read by the writer for the progress bar */
    an_store *ws;         /* the writer's handle */
    int writer_rc;
    an_err writer_err;
    an_predict_summary *sum;
    int64_t writer_skipped; /* found predicted inside the write transaction (another run) */
    uint64_t total;
} run;

typedef struct worker {
    run *r;
    void *state;
    pthread_t th;
} worker;

/* Opening one worker's state on a thread of its own. */
typedef struct opener {
    const an_predictor_ops *ops;
    const json_t *opts;
    const an_model_data *md;
    const an_config *cfg;
    const an_control *control;
    void **state;
    int rc;
    an_err err;
    pthread_t th;
    bool threaded;
} opener;

static void *open_main(void *arg)
{
    opener *op = arg;
    an_err_clear(&op->err);
    op->rc = op->ops->open(op->opts, op->md, op->cfg, op->control, op->state, &op->err);
    return NULL;
}

/* Opens every worker's state. The first opens here, so that a model or config error comes
 * alone and first, and so that the libraries' one-time set-up (libxml2, libvips, libcurl) is
 * done before anything runs beside it; the others open at the same time, each on a thread of
 * its own: a model that takes a second to load (Tesseract, PocketSphinx) would otherwise make
 * N workers start N seconds late. States that opened are in ws[i].state (NULL otherwise). */
static int open_states(const an_predictor_ops *ops, const json_t *opts, const an_model_data *md,
                       const an_config *cfg, const an_control *c, worker *ws, int n, an_err *err)
{
    int rc = ops->open(opts, md, cfg, c, &ws[0].state, err);
    if (rc || n == 1) return rc;
    opener *op = an_xcalloc((size_t)n, sizeof *op);
    for (int i = 1; i < n; i++) {
        op[i] = (opener){.ops = ops, .opts = opts, .md = md, .cfg = cfg, .control = c,
                         .state = &ws[i].state};
        op[i].threaded = pthread_create(&op[i].th, NULL, open_main, &op[i]) == 0;
        if (!op[i].threaded) open_main(&op[i]);
    }
    for (int i = 1; i < n; i++) {
        if (op[i].threaded) pthread_join(op[i].th, NULL);
        if (op[i].rc && !rc) {
            rc = op[i].rc;
            if (err) *err = op[i].err;
        }
    }
    free(op);
    return rc;
}

static void fail_task(batch *b, size_t i, const an_err *e)
{
    b->status[i] = ST_FAILED;
    b->errs[i] = an_xmalloc(sizeof *b->errs[i]);
    *b->errs[i] = *e;
}

static void predict_batch(run *r, void *state, batch *b)
{
    json_t **data = an_xcalloc(b->n, sizeof *data);
    an_pred_task *tasks = an_xcalloc(b->n, sizeof *tasks);
    size_t *pos = an_xcalloc(b->n, sizeof *pos);
    size_t m = 0;
    an_err e;
    for (size_t i = 0; i < b->n; i++) {
        an_err_clear(&e);
        data[i] = an_json_parse(b->data[i], b->lens[i], "data", &e);
        if (!data[i]) {
            fail_task(b, i, &e);
            continue;
        }
        tasks[m] = (an_pred_task){.id = b->ids[i], .data = data[i]};
        pos[m++] = i;
    }
    an_pred_out *out = an_xcalloc(m ? m : 1, sizeof *out);
    an_err_clear(&e);
    int rc = m ? r->ops->predict(state, tasks, m, out, &e) : 0;
    for (size_t j = 0; j < m; j++) {
        size_t i = pos[j];
        if (rc < 0) {
            fail_task(b, i, &e);
            continue;
        }
        an_pred_out *o = &out[j];
        if (o->rc < 0) {
            fail_task(b, i, &o->err);
            continue;
        }
        an_err ve;
        an_err_clear(&ve);
        if (!json_is_array(o->result)) {
            an_err_set(&ve, AN_EINVAL, "result", "the model gave no result list");
            fail_task(b, i, &ve);
        } else if (!isnan(o->score) && !(o->score >= 0 && o->score <= 1)) {
            an_err_set(&ve, AN_EINVAL, "score", "the model gave a score outside [0, 1]: %g",
                       o->score);
            fail_task(b, i, &ve);
        } else if (an_validate_result(r->cfg, data[i], o->result, &ve) < 0) {
            fail_task(b, i, &ve);
        } else if (r->min_score > 0 && !(o->score >= r->min_score)) {
            b->status[i] = ST_LOW;
        } else {
            b->status[i] = ST_OK;
            b->result[i] = an_json_text(o->result);
            b->score[i] = o->score;
        }
        json_decref(o->result);
    }
    for (size_t i = 0; i < b->n; i++) json_decref(data[i]);
    free(out);
    free(pos);
    free(tasks);
    free(data);
}

static bool cancelled(const run *r)
{
    return r->o->cancel && atomic_load(r->o->cancel);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    run *r = w->r;
    batch *b;
    while ((b = an_queue_pop(&r->work))) {
        if (!atomic_load(&r->stop) && !cancelled(r))
            predict_batch(r, w->state, b);
        else
            b->unpredicted = true;
        an_queue_push(&r->done, b, b->bytes);
    }
    an_queue_push(&r->done, NULL, 0);
    return NULL;
}

/* Ends the writer's open transaction with its audit entry (n predictions). */
static int commit_tx(run *r, int64_t n, an_err *err)
{
    int rc = 0;
    if (n > 0) {
        json_t *d = json_pack("{s:s,s:I}", "model_version", r->version, "predictions",
                              (json_int_t)n);
        char *dt = an_json_text(d);
        json_decref(d);
        rc = an_store_audit(r->ws, r->o->user_id, "prediction.batch", "project", r->project->id,
                            dt, err);
        free(dt);
    }
    return an_store_end(r->ws, rc, err);
}

static int write_batch(run *r, batch *b, bool *in_tx, int64_t *pending, an_err *err)
{
    an_predict_summary *sum = r->sum;
    for (size_t i = 0; i < b->n; i++) {
        if (b->status[i] == ST_FAILED) {
            sum->failed++;
            if (sum->n_failures < AN_PREDICT_FAILURES_MAX)
                sum->failures[sum->n_failures++] =
                    (an_predict_failure){.task_id = b->ids[i], .err = *b->errs[i]};
            if (r->o->on_failure) r->o->on_failure(r->o->ud, b->ids[i], b->errs[i]);
            continue;
        }
        if (b->status[i] == ST_LOW) {
            sum->below_min_score++;
            continue;
        }
        int rc;
        if (!*in_tx) {
            if ((rc = an_store_begin(r->ws, err))) return rc;
            *in_tx = true;
            *pending = 0;
        }
        bool have = false;
        if ((rc = an_store_prediction_exists(r->ws, b->ids[i], r->version, &have, err)))
            return rc;
        if (have) {
            r->writer_skipped++;
            continue;
        }
        an_prediction_in p = {.task_id = b->ids[i],
                              .project_id = r->project->id,
                              .model_version = r->version,
                              .score = b->score[i],
                              .result = b->result[i]};
        int64_t id;
        if ((rc = an_store_prediction_insert(r->ws, &p, &id, err))) return rc;
        (*pending)++;
    }
    if (*in_tx && *pending >= (int64_t)r->tx_size) {
        *in_tx = false;
        int rc = commit_tx(r, *pending, err);
        if (rc) return rc;
        sum->predicted += *pending;
        *pending = 0;
    }
    return 0;
}

static void *writer_main(void *arg)
{
    run *r = arg;
    an_progress bar;
    an_progress_start(&bar, "predict", r->total, r->o->progress);
    int ended = 0;
    bool in_tx = false;
    int64_t pending = 0;
    uint64_t processed = 0;
    an_err_clear(&r->writer_err);
    while (ended < r->workers) {
        batch *b = an_queue_pop(&r->done);
        if (!b) {
            ended++;
            continue;
        }
        if (r->writer_rc == 0 && !b->unpredicted) {
            r->writer_rc = write_batch(r, b, &in_tx, &pending, &r->writer_err);
            if (r->writer_rc) {
                atomic_store(&r->stop, 1);
                if (in_tx) an_store_rollback(r->ws);
                in_tx = false;
            }
        }
        processed += b->n;
        an_progress_update(&bar, processed + (uint64_t)atomic_load(&r->skipped),
                           (uint64_t)(r->sum->predicted + pending));
        if (r->o->on_progress)
            r->o->on_progress(r->o->ud, processed + (uint64_t)atomic_load(&r->skipped), r->total);
        batch_free(b);
    }
    if (in_tx) {
        r->writer_rc = commit_tx(r, pending, &r->writer_err);
        if (r->writer_rc == 0) r->sum->predicted += pending;
    }
    an_progress_finish(&bar);
    return NULL;
}

void an_predict_summary_free(an_predict_summary *s)
{
    free(s->failures);
    s->failures = NULL;
    s->n_failures = 0;
}

/* Streams the tasks into batches for the workers; returns the reader's error, if any. */
static int read_tasks(an_store *s, run *r, size_t batch_size, an_err *err)
{
    an_predict_summary *sum = r->sum;
    unsigned flags = r->o->only_unlabeled ? AN_ITER_ANNOTATIONS : 0;
    an_task_iter *it = NULL;
    int rc = an_store_tasks_open(s, r->project->id, flags, &it, err);
    if (rc) return rc;
    batch *b = NULL;
    const an_task_row *t;
    while (!atomic_load(&r->stop) && !cancelled(r) && (rc = an_task_iter_next(it, &t, err)) == 1) {
        sum->tasks++;
        if (r->o->only_unlabeled) {
            bool labeled = false;
            for (size_t k = 0; k < t->n_annotations; k++) labeled |= !t->annotations[k].cancelled;
            if (labeled) {
                sum->skipped_labeled++;
                atomic_fetch_add(&r->skipped, 1);
                continue;
            }
        }
        bool have = false;
        if ((rc = an_store_prediction_exists(s, t->id, r->version, &have, err))) break;
        if (have) {
            sum->skipped_existing++;
            atomic_fetch_add(&r->skipped, 1);
            continue;
        }
        if (!b) b = batch_new(batch_size);
        b->ids[b->n] = t->id;
        b->data[b->n] = an_xstrndup(t->data, t->data_len);
        b->lens[b->n] = t->data_len;
        b->bytes += 2 * t->data_len + 256;
        if (++b->n == b->cap) {
            an_queue_push(&r->work, b, b->bytes);
            b = NULL;
        }
    }
    if (rc == 1) rc = 0; /* stopped by the writer */
    an_task_iter_close(it);
    if (b) an_queue_push(&r->work, b, b->bytes);
    return rc;
}

int an_predict_run(an_store *s, const an_project *p, const an_predict_opts *o,
                   an_predict_summary *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    double t0 = an_monotonic();
    if (o->workers < 1 || o->workers > AN_PREDICT_WORKERS_MAX)
        return an_err_set(err, AN_EINVAL, "workers", "give 1 to %d workers",
                          AN_PREDICT_WORKERS_MAX);
    if (!(o->min_score >= 0 && o->min_score <= 1))
        return an_err_set(err, AN_EINVAL, "min-score", "give a minimum score from 0 to 1");
    if (!o->location)
        return an_err_set(err, AN_EINVAL, "location", "the workspace location is needed");
    const an_predictor_ops *ops = o->ops ? o->ops : an_predictor_find(o->model);
    if (!ops)
        return an_err_set(err, AN_ENOTFOUND, "model",
                          "no model is named \"%s\"; the models are textcls and fewshot",
                          o->model ? o->model : "");
    an_model m;
    memset(&m, 0, sizeof m);
    int rc = 0;
    if (o->ops) {
        /* Not a stored model: it answers the whole config, under the version it was given. */
        size_t vn = o->model_version ? strlen(o->model_version) : 0;
        if (vn == 0 || vn >= AN_MODEL_VERSION_MAX)
            return an_err_set(err, AN_EINVAL, "model_version",
                              "the predictions need a model_version of 1 to %d bytes",
                              AN_MODEL_VERSION_MAX - 1);
        m.version = an_xstrdup(o->model_version);
        m.params = an_xstrdup("{}");
    } else {
        rc = an_store_model_get(s, p->id, ops->name, o->version, &m, err);
        if (rc) return rc;
    }
    snprintf(out->model_version, sizeof out->model_version, "%s", m.version);

    an_config *cfg = NULL;
    json_t *params = NULL;
    worker *ws = NULL;
    rc = an_config_parse(p->config, strlen(p->config), &cfg, err);
    const an_control *c = NULL;
    if (!rc && !o->ops) {
        c = m.control ? an_config_control(cfg, m.control) : NULL;
        if (!c)
            rc = an_err_set(err, AN_EINVAL, "model.control",
                            "model %s answers control \"%s\", which the labeling config no "
                            "longer has; train a model for a current control",
                            m.version, m.control ? m.control : "");
    }
    if (!rc && !o->ops) rc = ops->check_control(cfg, c, err);
    if (!rc) {
        params = an_json_parse(m.params, strlen(m.params), "model.params", err);
        if (!params) rc = -AN_EINVAL;
    }
    if (!rc) {
        an_model_data md = {.version = m.version,
                            .params = params,
                            .blob = m.blob,
                            .blob_len = m.blob_len};
        ws = an_xcalloc((size_t)o->workers, sizeof *ws);
        rc = open_states(ops, o->open_opts, o->ops ? NULL : &md, cfg, c, ws, o->workers, err);
    }
    run r = {.ops = ops,
             .cfg = cfg,
             .project = p,
             .o = o,
             .version = m.version,
             .min_score = o->min_score,
             .tx_size = o->tx_size ? o->tx_size : TX_DEFAULT,
             .workers = o->workers,
             .sum = out,
             .total = (uint64_t)(p->task_count > 0 ? p->task_count : 0)};
    atomic_init(&r.stop, 0);
    atomic_init(&r.skipped, 0);
    if (!rc) rc = an_store_open(o->location, &r.ws, err);
    if (!rc) {
        size_t bs = o->batch_size ? o->batch_size : ops->batch ? ops->batch : BATCH_DEFAULT;
        out->failures = an_xcalloc(AN_PREDICT_FAILURES_MAX, sizeof *out->failures);
        an_queue_init(&r.work, 2 * (size_t)o->workers, QUEUE_BYTES);
        an_queue_init(&r.done, 2 * (size_t)o->workers + 2, QUEUE_BYTES);
        pthread_t writer;
        pthread_create(&writer, NULL, writer_main, &r);
        for (int i = 0; i < o->workers; i++) {
            ws[i].r = &r;
            pthread_create(&ws[i].th, NULL, worker_main, &ws[i]);
        }
        rc = read_tasks(s, &r, bs, err);
        if (rc) atomic_store(&r.stop, 1);
        for (int i = 0; i < o->workers; i++) an_queue_push(&r.work, NULL, 0);
        for (int i = 0; i < o->workers; i++) pthread_join(ws[i].th, NULL);
        pthread_join(writer, NULL);
        an_queue_destroy(&r.work);
        an_queue_destroy(&r.done);
        out->skipped_existing += r.writer_skipped;
        if (!rc && r.writer_rc) {
            rc = r.writer_rc;
            if (err) *err = r.writer_err;
        }
    }
    if (r.ws) an_store_close(r.ws);
    for (int i = 0; ws && i < o->workers; i++)
        if (ws[i].state) ops->close(ws[i].state);
    free(ws);
    json_decref(params);
    an_config_free(cfg);
    an_model_clear(&m);
    out->seconds = an_monotonic() - t0;
    return rc;
}
