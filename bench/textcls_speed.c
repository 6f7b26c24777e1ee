/* textcls on one core, through the library (bench/textcls_speed.sh builds it against
 * libannotlib): N generated short texts (default 100,000; templates with a class word, a
 * tenth of them Chinese, like bench/predict/gen.py), two classes.
 *
 * Prints one line per measurement in CPU seconds, best of three runs each:
 *   features     an_features alone
 *   predict      an_features + an_linear_logits + softmax (the model's scoring, no JSON)
 *   predict_ops  the predictor's predict op in batches of 256 (+ the result JSON per task)
 *   train_1      the whole train op with 1 epoch (featurise all, split, 1 epoch, calibrate)
 *   epoch        one more epoch: (train with 1 + E epochs - train with 1 epoch) / E
 * each as "NAME seconds texts texts/s". Texts per epoch are the training part (4/5). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "preanno/calib.h"
#include "preanno/features.h"
#include "preanno/linear.h"
#include "preanno/predictor.h"

static const char CFG[] = "<View><Text name=\"text\" value=\"$text\"/>"
                          "<Choices name=\"sentiment\" toName=\"text\">"
                          "<Choice value=\"positive\"/><Choice value=\"negative\"/></Choices>"
                          "</View>";

/* CPU time of this process (one thread): what a core spends, which stays meaningful when
 * other work shares the machine; wall time would count the waits for the core too. */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rng_state = 1;
static size_t pick(size_t n)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (size_t)((z ^ (z >> 31)) % n);
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void die(const char *what, const an_err *e)
{
    fprintf(stderr, "textcls_speed: %s: %s: %s\n", what, e->where, e->msg);
    exit(1);
}

static double best_of_3(double a, double b, double c)
{
    double m = a < b ? a : b;
    return m < c ? m : c;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 100000;
    long extra = argc > 2 ? strtol(argv[2], NULL, 10) : 4;
    if (n < 100 || extra < 1) {
        fprintf(stderr, "usage: textcls_speed [N >= 100] [EXTRA_EPOCHS >= 1]\n");
        return 1;
    }
    static const char *pos[] = {"great", "wonderful", "excellent", "loved", "amazing",
                                "delightful", "superb", "好看"};
    static const char *neg[] = {"terrible", "awful", "boring", "hated", "dreadful", "poor",
                                "horrible", "难看"};
    static const char *things[] = {"movie", "film", "plot", "acting", "soundtrack",
                                   "ending", "story", "hotel", "service"};
    static const char *fill[] = {"to be fair", "after all", "in my view", "last night",
                                 "with friends", ""};
    an_err e;
    an_err_clear(&e);
    an_config *cfg;
    if (an_config_parse(CFG, strlen(CFG), &cfg, &e)) die("config", &e);
    const an_control *control = an_config_control(cfg, "sentiment");
    const an_predictor_ops *ops = an_predictor_find("textcls");
    if (!ops) {
        fprintf(stderr, "textcls_speed: no textcls model registered\n");
        return 1;
    }

    char **text = malloc(n * sizeof *text);
    size_t *len = malloc(n * sizeof *len);
    json_t **data = malloc(n * sizeof *data);
    an_train_example *ex = calloc(n, sizeof *ex);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        int lab = (int)pick(2);
        const char *w = lab ? neg[pick(COUNT(neg))] : pos[pick(COUNT(pos))];
        const char *t = things[pick(COUNT(things))], *f = fill[pick(COUNT(fill))];
        char buf[160];
        switch (pick(4)) {
        case 0: snprintf(buf, sizeof buf, "The %s was %s %s #%zu", t, w, f, i); break;
        case 1: snprintf(buf, sizeof buf, "I thought the %s was %s, %s #%zu", t, w, f, i); break;
        case 2: snprintf(buf, sizeof buf, "What a %s %s! %s #%zu", w, t, f, i); break;
        default: snprintf(buf, sizeof buf, "%s the %s felt %s #%zu", f, t, w, i); break;
        }
        text[i] = strdup(buf);
        len[i] = strlen(buf);
        bytes += len[i];
        data[i] = json_pack("{s:s}", "text", buf);
        ex[i] = (an_train_example){(int64_t)i + 1, data[i], NULL, lab};
    }
    printf("data: %zu texts, mean %.1f bytes\n", n, (double)bytes / (double)n);

    /* Training: the whole op with 1 epoch, and with 1 + extra epochs. */
    double t_one[3], t_more[3];
    an_trained tr;
    memset(&tr, 0, sizeof tr);
    for (int run = 0; run < 3; run++) {
        for (int more = 0; more < 2; more++) {
            json_t *opts = json_pack("{s:I}", "epochs", (json_int_t)(more ? 1 + extra : 1));
            an_trained t;
            double t0 = now();
            if (ops->train(opts, cfg, control, ex, n, &t, &e)) die("train", &e);
            double dt = now() - t0;
            json_decref(opts);
            if (more) t_more[run] = dt; else t_one[run] = dt;
            if (run == 0 && more) {
                tr = t;
                json_t *acc = json_object_get(json_object_get(t.metrics, "held_out_after"),
                                              "accuracy");
                printf("held_out_accuracy %.4f\n", json_real_value(acc));
            } else {
                an_trained_free(&t);
            }
        }
    }
    size_t n_train = n - (size_t)json_integer_value(json_object_get(tr.metrics, "held_out"));
    double one = best_of_3(t_one[0], t_one[1], t_one[2]);
    double more = best_of_3(t_more[0], t_more[1], t_more[2]);
    printf("train_1 %.4f %zu %.0f\n", one, n, (double)n / one);
    double epoch = (more - one) / (double)extra;
    printf("epoch %.4f %zu %.0f\n", epoch, n_train, epoch > 0 ? (double)n_train / epoch : INFINITY);

    /* Predicting with the trained model. */
    an_linear lin;
    if (an_linear_load(tr.blob.p, tr.blob.len, &lin, &e)) die("load", &e);
    double temp = json_real_value(json_object_get(tr.params, "temperature"));
    an_fvec x = AN_FVEC_INIT;
    double z[2], p[2], sink = 0, t_feat[3], t_pred[3], t_ops[3];
    for (int run = 0; run < 3; run++) {
        double t0 = now();
        for (size_t i = 0; i < n; i++) {
            an_features(text[i], len[i], (int)lin.bits, &x);
            sink += (double)x.n;
        }
        t_feat[run] = now() - t0;
        t0 = now();
        size_t right = 0;
        for (size_t i = 0; i < n; i++) {
            an_features(text[i], len[i], (int)lin.bits, &x);
            an_linear_logits(&lin, &x, z);
            an_softmax(z, 2, temp, p);
            right += (p[1] > p[0]) == (ex[i].label == 1);
        }
        t_pred[run] = now() - t0;
        sink += (double)right;
        if (run == 0) printf("predict_accuracy %.4f\n", (double)right / (double)n);
    }
    an_model_data md = {"textcls-1", tr.params, tr.blob.p, tr.blob.len};
    void *st;
    if (ops->open(NULL, &md, cfg, control, &st, &e)) die("open", &e);
    enum { BATCH = 256 };
    an_pred_task tasks[BATCH];
    an_pred_out out[BATCH];
    for (int run = 0; run < 3; run++) {
        double t0 = now();
        for (size_t i = 0; i < n; i += BATCH) {
            size_t m = n - i < BATCH ? n - i : BATCH;
            for (size_t j = 0; j < m; j++) tasks[j] = (an_pred_task){(int64_t)(i + j), data[i + j]};
            if (ops->predict(st, tasks, m, out, &e)) die("predict", &e);
            for (size_t j = 0; j < m; j++) {
                if (out[j].rc) die("predict task", &out[j].err);
                sink += out[j].score;
                json_decref(out[j].result);
            }
        }
        t_ops[run] = now() - t0;
    }
    ops->close(st);
    double f = best_of_3(t_feat[0], t_feat[1], t_feat[2]);
    double pr = best_of_3(t_pred[0], t_pred[1], t_pred[2]);
    double po = best_of_3(t_ops[0], t_ops[1], t_ops[2]);
    printf("features %.4f %zu %.0f\n", f, n, (double)n / f);
    printf("predict %.4f %zu %.0f\n", pr, n, (double)n / pr);
    printf("predict_ops %.4f %zu %.0f\n", po, n, (double)n / po);
    if (sink < 0) printf("%f\n", sink); /* keeps the loops */

    an_fvec_free(&x);
    an_linear_free(&lin);
    an_trained_free(&tr);
    for (size_t i = 0; i < n; i++) {
        free(text[i]);
        json_decref(data[i]);
    }
    free(text);
    free(len);
    free(data);
    free(ex);
    an_config_free(cfg);
    return 0;
}
