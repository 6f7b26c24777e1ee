/* Temperature scaling and calibration measures: see calib.h. */
#include "preanno/calib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

void an_softmax(const double *z, size_t k, double t, double *p)
{
    double mx = -INFINITY;
    for (size_t c = 0; c < k; c++)
        if (z[c] / t > mx) mx = z[c] / t;
    double sum = 0;
    for (size_t c = 0; c < k; c++) {
        p[c] = exp(z[c] / t - mx);
        sum += p[c];
    }
    for (size_t c = 0; c < k; c++) p[c] /= sum;
}

/* -log softmax(z / t)[y], computed as logsumexp(z / t) - z[y] / t. */
static double nll_one(const double *z, size_t k, int y, double t)
{
    double mx = -INFINITY;
    for (size_t c = 0; c < k; c++)
        if (z[c] / t > mx) mx = z[c] / t;
    double sum = 0;
    for (size_t c = 0; c < k; c++) sum += exp(z[c] / t - mx);
    return mx + log(sum) - z[y] / t;
}

static double mean_nll(const double *logits, const int *y, size_t n, size_t k, double t)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += nll_one(logits + i * k, k, y[i], t);
    return s / (double)n;
}

/* The objective: mean NLL plus the log-normal prior's share per example. */
static double objective(const double *logits, const int *y, size_t n, size_t k, double log_t)
{
    double prior = log_t * log_t / (2 * AN_TEMPERATURE_PRIOR_SIGMA * AN_TEMPERATURE_PRIOR_SIGMA);
    return mean_nll(logits, y, n, k, exp(log_t)) + prior / (double)n;
}

double an_fit_temperature(const double *logits, const int *y, size_t n, size_t k)
{
    if (n == 0 || k < 2) return 1;
    const double g = (sqrt(5.0) - 1) / 2;
    double a = log(0.01), b = log(100.0);
    double c = b - g * (b - a), d = a + g * (b - a);
    double fc = objective(logits, y, n, k, c), fd = objective(logits, y, n, k, d);
    for (int it = 0; it < 80 && b - a > 1e-6; it++) {
        if (fc <= fd) {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = objective(logits, y, n, k, c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = objective(logits, y, n, k, d);
        }
    }
    return exp((a + b) / 2);
}

void an_calib_measure(const double *logits, const int *y, size_t n, size_t k, double t,
                      an_calib_metrics *m)
{
    memset(m, 0, sizeof *m);
    if (n == 0 || k == 0) return;
    double *p = an_xmalloc(k * sizeof *p);
    double conf_sum[AN_ECE_BINS] = {0}, right[AN_ECE_BINS] = {0};
    size_t count[AN_ECE_BINS] = {0};
    size_t correct = 0;
    double loss = 0;
    for (size_t i = 0; i < n; i++) {
        an_softmax(logits + i * k, k, t, p);
        size_t top = 0;
        for (size_t c = 1; c < k; c++)
            if (p[c] > p[top]) top = c;
        int ok = (int)top == y[i];
        correct += (size_t)ok;
        double py = p[y[i]] < 1e-15 ? 1e-15 : p[y[i]];
        loss -= log(py);
        int bin = (int)(p[top] * AN_ECE_BINS);
        if (bin >= AN_ECE_BINS) bin = AN_ECE_BINS - 1;
        if (bin < 0) bin = 0;
        conf_sum[bin] += p[top];
        right[bin] += ok;
        count[bin]++;
    }
    free(p);
    double ece = 0;
    for (int b = 0; b < AN_ECE_BINS; b++)
        if (count[b]) ece += fabs(right[b] - conf_sum[b]);
    m->accuracy = (double)correct / (double)n;
    m->log_loss = loss / (double)n;
    m->ece = ece / (double)n;
}
