/* fewshot: nearest-prototype classification from a handful of examples per class.
 *
 * Each class's prototype is the mean of its examples' (unit) feature vectors (features.h).
 * Prototypes are centred, as in SimpleShot (Wang et al., 2019): mu, the mean of the class
 * means, is subtracted, so what every class shares (template words, common characters)
 * cancels and only what tells the classes apart remains. A text's score for class c is
 * (x - mu) . (m_c - mu) / |m_c - mu|, the cosine similarity with the centred prototype except
 * that x - mu is not rescaled, which keeps the score linear in the features (linear.h).
 * softmax(scores / T) gives the probabilities. T is fitted by leave-one-out: every example is
 * scored with itself taken out of its own class's mean, and T minimises the negative
 * log-likelihood of those scores (an_fit_temperature). The same leave-one-out scores give the
 * reported accuracy, log-loss and ECE before (T = 1) and after.
 *
 * Classes are the control's labels that have examples; each needs at least MIN_PER_CLASS, and
 * at least two classes are needed. Labels without examples are left out (never predicted)
 * and listed in the metrics. No randomness: the same examples give the same model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "preanno/calib.h"
#include "preanno/linear.h"
#include "preanno/textmodel.h"

enum { MIN_PER_CLASS = 5, MAX_CELLS = 1 << 26 };

static json_t *metrics_json(const an_calib_metrics *m)
{
    return json_pack("{s:f,s:f,s:f}", "accuracy", m->accuracy, "log_loss", m->log_loss, "ece",
                     m->ece);
}

static int fewshot_train(const json_t *opts, const an_config *cfg, const an_control *control,
                         const an_train_example *ex, size_t n, an_trained *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    long bits;
    int rc = an_textmodel_opt_int(opts, "bits", AN_FEAT_BITS_DEFAULT, AN_FEAT_BITS_MIN,
                                  AN_FEAT_BITS_MAX, &bits, err);
    if (rc) return rc;
    an_text_examples e;
    rc = an_text_examples_build(cfg, control, ex, n, (int)bits, &e, err);
    if (rc) return rc;

    size_t nl = control->n_labels;
    size_t *per = an_xcalloc(nl, sizeof *per);
    for (size_t i = 0; i < e.n; i++) per[e.y[i]]++;
    /* Classes: labels with examples, in config order; cls_of maps a label to its class. */
    int *cls_of = an_xmalloc(nl * sizeof *cls_of);
    size_t k = 0;
    an_buf few = AN_BUF_INIT;
    an_buf_init(&few);
    for (size_t l = 0; l < nl; l++) {
        cls_of[l] = per[l] ? (int)k++ : -1;
        if (per[l] && per[l] < MIN_PER_CLASS)
            an_buf_addf(&few, "%s\"%s\" has %zu", few.len ? ", " : "", control->labels[l], per[l]);
    }
    size_t d = (size_t)1 << bits;
    if (few.len || k < 2 || k * d > MAX_CELLS) {
        if (few.len)
            rc = an_err_set(err, AN_EINVAL, control->name,
                            "fewshot needs at least %d examples of each class it learns; %s; "
                            "annotate more of them",
                            MIN_PER_CLASS, few.p);
        else if (k < 2)
            rc = an_err_set(err, AN_EINVAL, control->name,
                            "fewshot needs examples of at least 2 classes of \"%s\"; there are "
                            "examples of %zu",
                            control->name, k);
        else
            rc = an_err_set(err, AN_EINVAL, "bits", "%zu classes x 2^%ld buckets is too large; "
                            "use fewer bits", k, bits);
        an_buf_free(&few);
        free(per);
        free(cls_of);
        an_text_examples_free(&e);
        return rc;
    }
    an_buf_free(&few);

    /* Class means m_c (dense), and their centre mu (the mean of the class means, so that a
     * frequent class does not pull it). */
    float *mean = an_xcalloc(d * k, sizeof *mean);
    float *mu = an_xcalloc(d, sizeof *mu);
    double *cnt = an_xcalloc(k, sizeof *cnt);
    for (size_t i = 0; i < e.n; i++) cnt[cls_of[e.y[i]]] += 1;
    for (size_t i = 0; i < e.n; i++) {
        size_t c = (size_t)cls_of[e.y[i]];
        for (size_t a = 0; a < e.x[i].n; a++)
            mean[(size_t)e.x[i].idx[a] * k + c] += (float)(e.x[i].val[a] / cnt[c]);
    }
    for (size_t j = 0; j < d; j++) {
        double sj = 0;
        for (size_t c = 0; c < k; c++) sj += mean[j * k + c];
        mu[j] = (float)(sj / (double)k);
    }
    /* Per class: |m_c|^2 and m_c . mu; and |mu|^2. */
    double *mm = an_xcalloc(k, sizeof *mm), *mmu = an_xcalloc(k, sizeof *mmu), uu = 0;
    for (size_t j = 0; j < d; j++) {
        uu += (double)mu[j] * mu[j];
        for (size_t c = 0; c < k; c++) {
            mm[c] += (double)mean[j * k + c] * mean[j * k + c];
            mmu[c] += (double)mean[j * k + c] * mu[j];
        }
    }

    /* Leave-one-out scores, from sparse dot products only: for class c with centred mean
     * d_c = m_c - mu the score is (x - mu) . d_c / |d_c|, and for the example's own class m_c
     * is replaced by the mean without the example, m' = (n m_c - x) / (n - 1) (mu is kept:
     * moving it by one example's share changes little and would cost a dense pass each). */
    double *logits = an_xmalloc(e.n * k * sizeof *logits);
    int *y = an_xmalloc(e.n * sizeof *y);
    double *xm = an_xmalloc(k * sizeof *xm);
    for (size_t i = 0; i < e.n; i++) {
        const an_fvec *x = &e.x[i];
        size_t own = (size_t)cls_of[e.y[i]];
        double xx = 0, xu = an_fvec_dot_dense(x, mu);
        for (size_t c = 0; c < k; c++) xm[c] = 0;
        for (size_t a = 0; a < x->n; a++) {
            const float *row = mean + (size_t)x->idx[a] * k;
            for (size_t c = 0; c < k; c++) xm[c] += (double)x->val[a] * row[c];
            xx += (double)x->val[a] * x->val[a];
        }
        double *z = logits + i * k;
        for (size_t c = 0; c < k; c++) {
            double x_m = xm[c], u_m = mmu[c], m_m = mm[c];
            if (c == own) {
                double nc = cnt[c];
                x_m = (nc * xm[c] - xx) / (nc - 1);
                u_m = (nc * mmu[c] - xu) / (nc - 1);
                m_m = (nc * nc * mm[c] - 2 * nc * xm[c] + xx) / ((nc - 1) * (nc - 1));
            }
            double x_d = x_m - xu, u_d = u_m - uu, d_d = m_m - 2 * u_m + uu;
            z[c] = d_d > 1e-12 ? (x_d - u_d) / sqrt(d_d) : 0;
        }
        y[i] = (int)own;
    }
    free(xm);
    double temp = an_fit_temperature(logits, y, e.n, k);
    an_calib_metrics before, after;
    an_calib_measure(logits, y, e.n, k, 1, &before);
    an_calib_measure(logits, y, e.n, k, temp, &after);

    /* The scorer: w_c = d_c / |d_c| and bias_c = -mu . w_c, so x . w_c + bias_c is the
     * centred score above. */
    float *bias = an_xcalloc(k, sizeof *bias);
    for (size_t c = 0; c < k; c++) {
        double d_d = mm[c] - 2 * mmu[c] + uu;
        double inv = d_d > 1e-12 ? 1 / sqrt(d_d) : 0;
        for (size_t j = 0; j < d; j++) mean[j * k + c] = (float)((mean[j * k + c] - mu[j]) * inv);
        bias[c] = (float)(-(mmu[c] - uu) * inv);
    }
    free(mu);
    free(mm);
    free(mmu);
    free(cnt);
    float *sum = mean;
    an_linear lin;
    an_linear_from_dense(&lin, (uint32_t)bits, (uint32_t)k, sum, bias);
    free(sum);
    an_buf_init(&out->blob);
    an_linear_save(&lin, &out->blob);

    json_t *classes = json_array(), *unused = json_array(), *counts = json_object();
    for (size_t l = 0; l < nl; l++) {
        if (per[l]) {
            json_array_append_new(classes, json_string(control->labels[l]));
            json_object_set_new(counts, control->labels[l], json_integer((json_int_t)per[l]));
        } else {
            json_array_append_new(unused, json_string(control->labels[l]));
        }
    }
    out->params = json_pack("{s:o,s:f,s:I,s:s}", "classes", classes, "temperature", temp, "bits",
                            (json_int_t)bits, "features",
                            "word 1-2 grams + char 1-3 grams, signed hashing");
    out->metrics = json_pack("{s:I,s:I,s:o,s:o,s:f,s:o,s:o,s:I}", "examples", (json_int_t)e.n,
                             "skipped", (json_int_t)e.skipped, "class_counts", counts,
                             "classes_without_examples", unused, "temperature", temp,
                             "loo_before", metrics_json(&before), "loo_after",
                             metrics_json(&after), "weights_rows", (json_int_t)lin.rows);
    an_linear_free(&lin);
    free(bias);
    free(logits);
    free(y);
    free(per);
    free(cls_of);
    an_text_examples_free(&e);
    return 0;
}

const an_predictor_ops an_fewshot_ops = {
    .name = "fewshot",
    .summary = "nearest-prototype text classifier from as few as 5 examples per class",
    .check_control = an_textmodel_check_control,
    .open = an_textmodel_open,
    .predict = an_textmodel_predict,
    .train = fewshot_train,
    .close = an_textmodel_close,
};
