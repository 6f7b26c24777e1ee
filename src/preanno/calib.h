/* Probabilities from logits, and how good they are: temperature scaling (Guo et al., "On
 * Calibration of Modern Neural Networks", 2017) fitted on held-out examples, and the measures
 * reported for a trained model.
 *
 * Temperature scaling divides every logit by one number T > 0 before the softmax. It keeps
 * the predicted class (the order of the logits) and changes only how confident the
 * probabilities are; T is chosen to minimise the mean negative log-likelihood of held-out
 * examples the model was not trained on. Pure functions; thread-safe. */
#ifndef AN_PREANNO_CALIB_H
#define AN_PREANNO_CALIB_H

#include <stddef.h>

enum { AN_ECE_BINS = 10 };

/* p[0..k) = softmax(z / t). Stable for large logits. */
void an_softmax(const double *z, size_t k, double t, double *p);

/* Standard deviation of the prior on log T (see an_fit_temperature). */
#define AN_TEMPERATURE_PRIOR_SIGMA 1.0

/* The T in [0.01, 100] that best explains the n examples (logits n x k row-major, true
 * classes y): it minimises their mean negative log-likelihood plus (log T)^2 / (2 sigma^2 n),
 * i.e. the maximum a posteriori T under a log-normal prior centred on T = 1 with sigma
 * AN_TEMPERATURE_PRIOR_SIGMA. Without the prior a small held-out set that the model gets all
 * right drives T to 0 and every probability to 1; with it, T moves from 1 only as far as
 * the evidence of n examples carries it, and the prior fades as n grows. Golden-section
 * search over log T (the objective is unimodal in it). 1 when n is 0. */
double an_fit_temperature(const double *logits, const int *y, size_t n, size_t k);

typedef struct an_calib_metrics {
    double accuracy; /* share whose top class is the true one */
    double log_loss; /* mean negative log-likelihood (natural log; probabilities floored at
                        1e-15) */
    double ece;      /* expected calibration error: the top-class confidence split into
                        AN_ECE_BINS equal-width bins over [0, 1]; the mean over examples of
                        |accuracy - mean confidence| of their bin */
} an_calib_metrics;

/* Measures n examples' softmax(logits / t) against y. All zero when n is 0. */
void an_calib_measure(const double *logits, const int *y, size_t n, size_t k, double t,
                      an_calib_metrics *m);

#endif
