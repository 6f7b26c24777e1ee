/* textcls: a text classifier trained in the loop. Multinomial logistic regression over hashed
 * word and character n-gram features (features.h), trained by AdaGrad SGD with L2, then
 * calibrated by temperature scaling on a held-out split (calib.h).
 *
 * Training, step by step (all deterministic for a seed):
 *  1. The labelled examples are split per class: each class's examples are shuffled and a
 *     fifth of them (rounded, at least one when the class has two or more) is held out. The
 *     split is stratified so that rare classes appear in both parts.
 *  2. The training part is shuffled anew each epoch and every example takes one AdaGrad step
 *     on the cross-entropy loss: for each of its non-zero features j and class c,
 *     g = (p_c - [c = y]) x_j + lambda W[j][c], G[j][c] += g^2, W[j][c] -= lr g / sqrt(G).
 *     The L2 term is applied only to the weights an example touches (lazy L2), which keeps a
 *     step proportional to the example's size rather than to the 2^bits x classes weights.
 *  3. The held-out logits fix the temperature (an_fit_temperature); accuracy, log-loss and ECE
 *     on the held-out part are measured before (T = 1) and after.
 * The stored model is the one trained on the training part: the metrics describe exactly it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "preanno/calib.h"
#include "preanno/linear.h"
#include "preanno/textmodel.h"

enum {
    MIN_EXAMPLES = 10,
    EPOCHS_DEFAULT = 10,
    /* Weights and AdaGrad sums are dense while training: 2 x 4 bytes per bucket and class. */
    MAX_CELLS = 1 << 25,
};
static const double LEARNING_RATE = 0.5;
static const double LAMBDA = 1e-4;

static json_t *metrics_json(const an_calib_metrics *m)
{
    return json_pack("{s:f,s:f,s:f}", "accuracy", m->accuracy, "log_loss", m->log_loss, "ece",
                     m->ece);
}

static int textcls_train(const json_t *opts, const an_config *cfg, const an_control *control,
                         const an_train_example *ex, size_t n, an_trained *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    long epochs, seed, bits;
    int rc = an_textmodel_opt_int(opts, "epochs", EPOCHS_DEFAULT, 1, 1000, &epochs, err);
    if (!rc) rc = an_textmodel_opt_int(opts, "seed", 1, 0, 0x7fffffffL, &seed, err);
    if (!rc)
        rc = an_textmodel_opt_int(opts, "bits", AN_FEAT_BITS_DEFAULT, AN_FEAT_BITS_MIN,
                                  AN_FEAT_BITS_MAX, &bits, err);
    if (rc) return rc;
    size_t k = control->n_labels, d = (size_t)1 << bits;
    if (k * d > MAX_CELLS)
        return an_err_set(err, AN_EINVAL, "bits",
                          "%zu classes x 2^%ld buckets is too large to train; use fewer bits "
                          "(--bits %d or less)",
                          k, bits, (int)log2((double)MAX_CELLS / (double)k));

    an_text_examples e;
    rc = an_text_examples_build(cfg, control, ex, n, (int)bits, &e, err);
    if (rc) return rc;
    size_t *per = an_xcalloc(k, sizeof *per);
    size_t classes_seen = 0;
    for (size_t i = 0; i < e.n; i++) per[e.y[i]]++;
    for (size_t c = 0; c < k; c++) classes_seen += per[c] > 0;
    if (e.n < MIN_EXAMPLES || classes_seen < 2) {
        rc = an_err_set(err, AN_EINVAL, control->name,
                        "textcls needs at least %d accepted annotations choosing one label of "
                        "\"%s\", in at least 2 classes; there are %zu in %zu classes",
                        MIN_EXAMPLES, control->name, e.n, classes_seen);
        free(per);
        an_text_examples_free(&e);
        return rc;
    }

    /* 1. Stratified split. */
    uint64_t rng = (uint64_t)seed * 0x2545f4914f6cdd1dULL + 1;
    size_t *train = an_xmalloc(e.n * sizeof *train), *held = an_xmalloc(e.n * sizeof *held);
    size_t n_train = 0, n_held = 0;
    size_t *cls = an_xmalloc(e.n * sizeof *cls);
    for (size_t c = 0; c < k; c++) {
        size_t m = 0;
        for (size_t i = 0; i < e.n; i++)
            if ((size_t)e.y[i] == c) cls[m++] = i;
        an_shuffle(cls, m, &rng);
        size_t h = (m + 2) / 5;
        if (h == 0 && m >= 2) h = 1;
        for (size_t i = 0; i < m; i++) {
            if (i < h)
                held[n_held++] = cls[i];
            else
                train[n_train++] = cls[i];
        }
    }
    free(cls);

    /* 2. AdaGrad SGD. */
    float *w = an_xcalloc(d * k, sizeof *w), *g2 = an_xcalloc(d * k, sizeof *g2);
    double *b = an_xcalloc(k, sizeof *b), *bg2 = an_xcalloc(k, sizeof *bg2);
    double *z = an_xmalloc(k * sizeof *z), *p = an_xmalloc(k * sizeof *p);
    float *bias = an_xmalloc(k * sizeof *bias);
    for (long ep = 0; ep < epochs; ep++) {
        an_shuffle(train, n_train, &rng);
        for (size_t t = 0; t < n_train; t++) {
            const an_fvec *x = &e.x[train[t]];
            int y = e.y[train[t]];
            for (size_t c = 0; c < k; c++) z[c] = b[c];
            for (size_t a = 0; a < x->n; a++) {
                const float *row = w + (size_t)x->idx[a] * k;
                for (size_t c = 0; c < k; c++) z[c] += (double)x->val[a] * row[c];
            }
            an_softmax(z, k, 1, p);
            for (size_t c = 0; c < k; c++) {
                double gc = p[c] - (c == (size_t)y);
                bg2[c] += gc * gc;
                b[c] -= LEARNING_RATE * gc / sqrt(bg2[c] + 1e-12);
                for (size_t a = 0; a < x->n; a++) {
                    size_t cell = (size_t)x->idx[a] * k + c;
                    double g = gc * x->val[a] + LAMBDA * w[cell];
                    g2[cell] += (float)(g * g);
                    w[cell] -= (float)(LEARNING_RATE * g / sqrt((double)g2[cell] + 1e-12));
                }
            }
        }
    }
    free(g2);
    for (size_t c = 0; c < k; c++) bias[c] = (float)b[c];
    an_linear lin;
    an_linear_from_dense(&lin, (uint32_t)bits, (uint32_t)k, w, bias);
    free(w);

    /* 3. Calibration on the held-out part, with the stored (float) weights. */
    double *logits = an_xmalloc((n_held ? n_held : 1) * k * sizeof *logits);
    int *hy = an_xmalloc((n_held ? n_held : 1) * sizeof *hy);
    for (size_t i = 0; i < n_held; i++) {
        an_linear_logits(&lin, &e.x[held[i]], logits + i * k);
        hy[i] = e.y[held[i]];
    }
    double temp = an_fit_temperature(logits, hy, n_held, k);
    an_calib_metrics before, after, tr;
    an_calib_measure(logits, hy, n_held, k, 1, &before);
    an_calib_measure(logits, hy, n_held, k, temp, &after);
    double *tl = an_xmalloc(n_train * k * sizeof *tl);
    int *ty = an_xmalloc(n_train * sizeof *ty);
    for (size_t i = 0; i < n_train; i++) {
        an_linear_logits(&lin, &e.x[train[i]], tl + i * k);
        ty[i] = e.y[train[i]];
    }
    an_calib_measure(tl, ty, n_train, k, temp, &tr);

    an_buf_init(&out->blob);
    an_linear_save(&lin, &out->blob);
    out->params = json_pack("{s:o,s:f,s:I,s:I,s:I,s:f,s:f,s:s}", "classes",
                            an_preanno_class_names(control), "temperature", temp, "bits",
                            (json_int_t)bits, "epochs", (json_int_t)epochs, "seed",
                            (json_int_t)seed, "learning_rate", LEARNING_RATE, "l2", LAMBDA,
                            "features", "word 1-2 grams + char 1-3 grams, signed hashing");
    json_t *counts = json_object();
    for (size_t c = 0; c < k; c++)
        json_object_set_new(counts, control->labels[c], json_integer((json_int_t)per[c]));
    out->metrics = json_pack("{s:I,s:I,s:I,s:I,s:o,s:f,s:o,s:o,s:o,s:I}", "examples",
                             (json_int_t)e.n, "train", (json_int_t)n_train, "held_out",
                             (json_int_t)n_held, "skipped", (json_int_t)e.skipped,
                             "class_counts", counts, "temperature", temp, "held_out_before",
                             metrics_json(&before), "held_out_after", metrics_json(&after),
                             "train_after", metrics_json(&tr), "weights_rows",
                             (json_int_t)lin.rows);

    an_linear_free(&lin);
    free(tl);
    free(ty);
    free(logits);
    free(hy);
    free(b);
    free(bg2);
    free(z);
    free(p);
    free(bias);
    free(train);
    free(held);
    free(per);
    an_text_examples_free(&e);
    return 0;
}

const an_predictor_ops an_textcls_ops = {
    .name = "textcls",
    .summary = "text classifier (logistic regression on hashed n-grams), trained on accepted "
               "annotations",
    .check_control = an_textmodel_check_control,
    .open = an_textmodel_open,
    .predict = an_textmodel_predict,
    .train = textcls_train,
    .close = an_textmodel_close,
};
