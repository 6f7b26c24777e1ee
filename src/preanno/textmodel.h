/* What the two text classifiers (textcls.c, fewshot.c) share: both turn a task's text into
 * hashed features (features.h), score the classes with a linear scorer (linear.h), and turn
 * the scores into probabilities with a fitted temperature (calib.h); they differ only in
 * how they train. Internal to src/preanno/.
 *
 * A stored text model's params: {"classes": [label, …], "temperature": T, "bits": B, …}. */
#ifndef AN_PREANNO_TEXTMODEL_H
#define AN_PREANNO_TEXTMODEL_H

#include <stdint.h>

#include "preanno/features.h"
#include "preanno/predictor.h"

extern const an_predictor_ops an_textcls_ops;
extern const an_predictor_ops an_fewshot_ops;

/* The shared ops (see an_predictor_ops). */
int an_textmodel_check_control(const an_config *cfg, const an_control *control, an_err *err);
int an_textmodel_open(const json_t *opts, const an_model_data *model, const an_config *cfg,
                      const an_control *control, void **state, an_err *err);
int an_textmodel_predict(void *state, const an_pred_task *tasks, size_t n, an_pred_out *out,
                         an_err *err);
void an_textmodel_close(void *state);

/* Training examples as features: x[i] and y[i] (the label index in the control) for every
 * example with a label and a text; the others are counted in skipped. */
typedef struct an_text_examples {
    an_fvec *x;
    int *y;
    size_t n, skipped;
} an_text_examples;

int an_text_examples_build(const an_config *cfg, const an_control *control,
                           const an_train_example *ex, size_t n, int bits, an_text_examples *out,
                           an_err *err);
void an_text_examples_free(an_text_examples *e);

/* An integer option of opts (a JSON object or NULL): def when absent, AN_EINVAL naming the
 * option when it is not a whole number in lo..hi. */
int an_textmodel_opt_int(const json_t *opts, const char *key, long def, long lo, long hi,
                         long *out, an_err *err);

/* SplitMix64: a small seeded generator, so training is the same on every machine. */
uint64_t an_rng_next(uint64_t *state);
/* Fisher-Yates shuffle of idx[0..n) with rng. */
void an_shuffle(size_t *idx, size_t n, uint64_t *rng);

#endif
