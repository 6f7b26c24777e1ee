/* Percentile bootstrap. See bootstrap.h. */
#include "qc/bootstrap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next(rng *r)
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in 0..n-1 without modulo bias: draws above the largest multiple of n are redrawn. */
static size_t below(rng *r, size_t n)
{
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = next(r);
    while (x >= lim);
    return (size_t)(x % n);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo + 1 >= n) return v[n - 1];
    return v[lo] + (pos - (double)lo) * (v[lo + 1] - v[lo]);
}

int an_bootstrap(size_t n_units, size_t resamples, uint64_t seed, double level, an_boot_stat fn,
                 void *ud, an_ci *out, an_err *err)
{
    if (resamples == 0 || resamples > AN_BOOT_MAX_RESAMPLES)
        return an_err_set(err, AN_EINVAL, "--bootstrap",
                          "the number of resamples must be 1..%d (1000 is usual)",
                          AN_BOOT_MAX_RESAMPLES);
    if (n_units == 0)
        return an_err_set(err, AN_EINVAL, "--bootstrap", "there are no units to resample");
    if (!(level > 0 && level < 1))
        return an_err_set(err, AN_EINVAL, "level", "the interval level must be in (0, 1)");
    rng r;
    uint64_t x = seed;
    for (int k = 0; k < 4; k++) r.s[k] = splitmix(&x);
    size_t *idx = an_xmalloc(n_units * sizeof *idx);
    double *vals = an_xmalloc(resamples * sizeof *vals);
    size_t nv = 0;
    for (size_t b = 0; b < resamples; b++) {
        for (size_t i = 0; i < n_units; i++) idx[i] = below(&r, n_units);
        double v;
        if (fn(ud, idx, n_units, &v) == 0 && isfinite(v)) vals[nv++] = v;
    }
    free(idx);
    memset(out, 0, sizeof *out);
    out->level = level;
    out->resamples = resamples;
    out->skipped = resamples - nv;
    if (nv == 0) {
        out->low = out->high = NAN;
    } else {
        qsort(vals, nv, sizeof *vals, cmp_double);
        out->low = percentile(vals, nv, (1 - level) / 2);
        out->high = percentile(vals, nv, (1 + level) / 2);
    }
    free(vals);
    return 0;
}

typedef struct agr_boot {
    const an_agr_data *d;
    an_agr_metric metric;
    an_agr_level level;
    an_agr_weights weights;
    int *cell; /* units * coders, the resample */
} agr_boot;

static int agr_stat(void *ud, const size_t *units, size_t n, double *out)
{
    agr_boot *b = ud;
    size_t c = b->d->coders;
    for (size_t i = 0; i < n; i++)
        memcpy(b->cell + i * c, b->d->cell + units[i] * c, c * sizeof *b->cell);
    an_agr_data d = *b->d;
    d.cell = b->cell;
    d.units = n;
    an_agr_result r;
    an_err e;
    an_err_clear(&e);
    if (an_agreement(&d, b->metric, b->level, b->weights, &r, &e) < 0) return -1;
    *out = r.value;
    an_agr_result_free(&r);
    return 0;
}

int an_agr_bootstrap(const an_agr_data *d, an_agr_metric metric, an_agr_level level,
                     an_agr_weights weights, size_t resamples, uint64_t seed, an_ci *out,
                     an_err *err)
{
    agr_boot b = {d, metric, level, weights, NULL};
    b.cell = an_xmalloc((d->units && d->coders ? d->units * d->coders : 1) * sizeof *b.cell);
    int rc = an_bootstrap(d->units, resamples, seed, 0.95, agr_stat, &b, out, err);
    free(b.cell);
    return rc;
}
