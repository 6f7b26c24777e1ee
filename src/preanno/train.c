/* Training from a project's accepted annotations: see train.h. */
#include "preanno/train.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "model/config.h"
#include "preanno/predictor.h"

void an_train_report_free(an_train_report *r)
{
    json_decref(r->params);
    json_decref(r->metrics);
    r->params = r->metrics = NULL;
}

typedef struct ids {
    int64_t *v;
    size_t n, cap;
} ids;

static int add_accepted(void *ud, const an_annotation_brief *a)
{
    ids *s = ud;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->v = an_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = a->id;
    return 0;
}

static int ignore_brief(void *ud, const an_annotation_brief *a)
{
    return 0;
}

static bool in_ids(const ids *s, int64_t id)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->v[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->v[lo] == id;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The accepted annotation ids of a reviewed project (sorted), and whether it has reviews. */
static int read_accepted(an_store *s, int64_t pid, ids *acc, bool *reviewed, an_err *err)
{
    int64_t n_acc = 0, n_rej = 0;
    int rc = an_store_review_queue(s, pid, AN_REVIEWS_REJECTED, 0, 0, ignore_brief, NULL, &n_rej,
                                   err);
    if (!rc) rc = an_store_review_queue(s, pid, AN_REVIEWS_ACCEPTED, 0, 0, ignore_brief, NULL,
                                        &n_acc, err);
    if (rc) return rc;
    *reviewed = n_acc + n_rej > 0;
    for (int64_t off = 0; off < n_acc && rc == 0; off += 10000)
        rc = an_store_review_queue(s, pid, AN_REVIEWS_ACCEPTED, off, 10000, add_accepted, acc,
                                   NULL, err);
    if (acc->n) qsort(acc->v, acc->n, sizeof *acc->v, cmp_i64);
    return rc;
}

typedef struct examples {
    an_train_example *v;
    size_t n, cap;
} examples;

static void examples_free(examples *e)
{
    for (size_t i = 0; i < e->n; i++) {
        json_decref((json_t *)e->v[i].data);
        json_decref((json_t *)e->v[i].result);
    }
    free(e->v);
}

/* The task's example, if one of its accepted annotations answers the control. */
static int task_example(const an_task_row *t, const an_control *c, bool reviewed,
                        const ids *acc, examples *out, an_err *err)
{
    /* Two passes: ground truth first, then the other accepted ones; latest first in each. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = t->n_annotations; k-- > 0;) {
            const an_annotation_row *a = &t->annotations[k];
            if (a->cancelled) continue;
            if (pass == 0 ? !a->ground_truth
                          : (a->ground_truth || (reviewed && !in_ids(acc, a->id))))
                continue;
            json_t *result = an_json_parse(a->result, strlen(a->result), "annotation.result", err);
            if (!result) return -AN_EINTERNAL;
            int label = an_preanno_result_choice(result, c);
            if (label < 0) {
                json_decref(result);
                continue;
            }
            json_t *data = an_json_parse(t->data, t->data_len, "task.data", err);
            if (!data) {
                json_decref(result);
                return -AN_EINTERNAL;
            }
            if (out->n == out->cap) {
                out->cap = out->cap ? 2 * out->cap : 256;
                out->v = an_xrealloc(out->v, out->cap * sizeof *out->v);
            }
            out->v[out->n++] =
                (an_train_example){.task_id = t->id, .data = data, .result = result, .label = label};
            return 0;
        }
    }
    return 0;
}

int an_preanno_train(an_store *s, const an_project *p, const an_train_opts *opts,
                     an_train_report *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    const an_predictor_ops *ops = an_predictor_find(opts->model);
    if (!ops)
        return an_err_set(err, AN_ENOTFOUND, "model",
                          "no model is named \"%s\"; the models are textcls and fewshot",
                          opts->model ? opts->model : "");
    if (!ops->train)
        return an_err_set(err, AN_EINVAL, "model", "model %s is not trained", ops->name);
    an_config *cfg = NULL;
    int rc = an_config_parse(p->config, strlen(p->config), &cfg, err);
    if (rc) return rc;
    const an_control *c = opts->control ? an_config_control(cfg, opts->control) : NULL;
    if (!c) {
        rc = an_err_set(err, AN_ENOTFOUND, "control",
                        "the labeling config of project %s has no control named \"%s\"; give "
                        "--control NAME",
                        p->name, opts->control ? opts->control : "");
        an_config_free(cfg);
        return rc;
    }
    rc = ops->check_control(cfg, c, err);

    ids acc = {0};
    bool reviewed = false;
    examples ex = {0};
    if (!rc) rc = read_accepted(s, p->id, &acc, &reviewed, err);
    an_task_iter *it = NULL;
    if (!rc) rc = an_store_tasks_open(s, p->id, AN_ITER_ANNOTATIONS, &it, err);
    if (!rc) {
        const an_task_row *t;
        while ((rc = an_task_iter_next(it, &t, err)) == 1) {
            out->tasks++;
            if (t->n_annotations && (rc = task_example(t, c, reviewed, &acc, &ex, err))) break;
        }
        an_task_iter_close(it);
    }
    free(acc.v);
    out->source = reviewed ? "reviews" : "annotations";
    out->examples = ex.n;

    an_trained tr = {0};
    if (!rc) rc = ops->train(opts->options, cfg, c, ex.v, ex.n, &tr, err);
    examples_free(&ex);
    if (!rc) {
        json_object_set_new(tr.metrics, "source", json_string(out->source));
        char *params = an_json_text(tr.params), *metrics = an_json_text(tr.metrics);
        an_model_in m = {.project_id = p->id,
                         .name = ops->name,
                         .control = c->name,
                         .params = params,
                         .metrics = metrics,
                         .blob = tr.blob.p,
                         .blob_len = tr.blob.len};
        rc = an_store_begin(s, err);
        if (!rc) {
            rc = an_store_model_add(s, &m, &out->model_id, out->version, err);
            if (!rc) {
                json_t *detail = json_pack("{s:s,s:s,s:s,s:I}", "model", ops->name, "version",
                                           out->version, "control", c->name, "examples",
                                           (json_int_t)out->examples);
                char *dt = an_json_text(detail);
                json_decref(detail);
                rc = an_store_audit(s, opts->user_id, "model.train", "project", p->id, dt, err);
                free(dt);
            }
            rc = an_store_end(s, rc, err);
        }
        free(params);
        free(metrics);
        if (!rc) {
            out->params = json_incref(tr.params);
            out->metrics = json_incref(tr.metrics);
        }
        an_trained_free(&tr);
    }
    an_config_free(cfg);
    return rc;
}
