/* The predicting half of the text classifiers, and helpers for their training: see
 * textmodel.h. */
#include "preanno/textmodel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "preanno/calib.h"
#include "preanno/linear.h"

typedef struct textmodel {
    const an_control *control;
    const an_object *text;
    an_linear lin;
    int *map; /* stored class -> index in control->labels */
    size_t k;
    double temperature;
    int bits;
    an_fvec x;
    double *z, *p;
} textmodel;

int an_textmodel_check_control(const an_config *cfg, const an_control *control, an_err *err)
{
    const an_object *o;
    return an_preanno_text_choices(cfg, control, &o, err);
}

void an_textmodel_close(void *state)
{
    textmodel *m = state;
    if (!m) return;
    an_linear_free(&m->lin);
    an_fvec_free(&m->x);
    free(m->map);
    free(m->z);
    free(m->p);
    free(m);
}

int an_textmodel_open(const json_t *opts, const an_model_data *model, const an_config *cfg,
                      const an_control *control, void **state, an_err *err)
{
    *state = NULL;
    textmodel *m = an_xcalloc(1, sizeof *m);
    m->control = control;
    int rc = an_preanno_text_choices(cfg, control, &m->text, err);
    if (rc == 0 && (!model || !model->blob))
        rc = an_err_set(err, AN_EINVAL, "model",
                        "this model must be trained first (annot train PROJECT --model NAME "
                        "--control NAME)");
    if (rc == 0) rc = an_preanno_class_map(model->params, control, &m->map, &m->k, err);
    if (rc == 0) {
        double t = 1;
        an_json_number(json_object_get(model->params, "temperature"), &t);
        if (!(t > 0) || !isfinite(t))
            rc = an_err_set(err, AN_EINVAL, "model.params.temperature",
                            "the stored temperature must be a positive number; train the model "
                            "again");
        m->temperature = t;
    }
    if (rc == 0) rc = an_linear_load(model->blob, model->blob_len, &m->lin, err);
    if (rc == 0 && m->lin.k != m->k)
        rc = an_err_set(err, AN_EINVAL, "model.blob",
                        "the stored weights have %u classes, the params list %zu; train the "
                        "model again",
                        m->lin.k, m->k);
    if (rc) {
        an_textmodel_close(m);
        return rc;
    }
    m->bits = (int)m->lin.bits;
    m->z = an_xmalloc(m->k * sizeof *m->z);
    m->p = an_xmalloc(m->k * sizeof *m->p);
    *state = m;
    return 0;
}

int an_textmodel_predict(void *state, const an_pred_task *tasks, size_t n, an_pred_out *out,
                         an_err *err)
{
    textmodel *m = state;
    for (size_t i = 0; i < n; i++) {
        an_pred_out *o = &out[i];
        memset(o, 0, sizeof *o);
        const char *text;
        size_t len;
        o->rc = an_preanno_task_text(m->text, tasks[i].data, &text, &len, &o->err);
        if (o->rc) continue;
        an_features(text, len, m->bits, &m->x);
        an_linear_logits(&m->lin, &m->x, m->z);
        an_softmax(m->z, m->k, m->temperature, m->p);
        size_t top = 0;
        for (size_t c = 1; c < m->k; c++)
            if (m->p[c] > m->p[top]) top = c;
        o->score = m->p[top];
        o->result = an_preanno_choice_result(m->control, m->text->name,
                                             m->control->labels[m->map[top]], o->score);
    }
    return 0;
}

void an_text_examples_free(an_text_examples *e)
{
    for (size_t i = 0; i < e->n; i++) an_fvec_free(&e->x[i]);
    free(e->x);
    free(e->y);
    memset(e, 0, sizeof *e);
}

int an_text_examples_build(const an_config *cfg, const an_control *control,
                           const an_train_example *ex, size_t n, int bits, an_text_examples *out,
                           an_err *err)
{
    memset(out, 0, sizeof *out);
    const an_object *obj;
    int rc = an_preanno_text_choices(cfg, control, &obj, err);
    if (rc) return rc;
    out->x = an_xcalloc(n ? n : 1, sizeof *out->x);
    out->y = an_xcalloc(n ? n : 1, sizeof *out->y);
    for (size_t i = 0; i < n; i++) {
        const char *text;
        size_t len;
        an_err ignored;
        if (ex[i].label < 0 || (size_t)ex[i].label >= control->n_labels ||
            an_preanno_task_text(obj, ex[i].data, &text, &len, &ignored) < 0) {
            out->skipped++;
            continue;
        }
        an_features(text, len, bits, &out->x[out->n]);
        out->y[out->n] = ex[i].label;
        out->n++;
    }
    return 0;
}

int an_textmodel_opt_int(const json_t *opts, const char *key, long def, long lo, long hi,
                         long *out, an_err *err)
{
    *out = def;
    const json_t *v = json_object_get(opts, key);
    if (!v) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return an_err_set(err, AN_EINVAL, key, "give %s as a whole number from %ld to %ld", key,
                          lo, hi);
    *out = (long)json_integer_value(v);
    return 0;
}

uint64_t an_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void an_shuffle(size_t *idx, size_t n, uint64_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(an_rng_next(rng) % i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
