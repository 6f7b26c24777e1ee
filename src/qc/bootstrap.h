/* Percentile bootstrap intervals for agreement values: resample the units (rows of the
 * reliability data, or tasks) with replacement, recompute the statistic, and take the
 * percentiles of the resampled values. Deterministic for a given seed on every platform
 * (xoshiro256** seeded through splitmix64; unbiased index draws). Pure computation. */
#ifndef AN_QC_BOOTSTRAP_H
#define AN_QC_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "qc/agreement.h"

/* Largest number of resamples accepted. */
#define AN_BOOT_MAX_RESAMPLES 1000000

typedef struct an_ci {
    double low, high; /* percentiles; NAN when every resample was undefined */
    double level;     /* e.g. 0.95 */
    size_t resamples; /* requested */
    size_t skipped;   /* resamples where the statistic was undefined */
} an_ci;

/* The statistic on a resample: units[0..n) are unit indices (repeats allowed). Returns 0
 * with *out set, or non-zero when the statistic is undefined on this resample. */
typedef int (*an_boot_stat)(void *ud, const size_t *units, size_t n, double *out);

/* Draws `resamples` samples of n_units units with replacement and fills out with the
 * (1 - level)/2 and (1 + level)/2 percentiles of the defined values, interpolated linearly
 * between order statistics (numpy's default). AN_EINVAL for resamples 0 or above
 * AN_BOOT_MAX_RESAMPLES, n_units 0, or level outside (0, 1). */
int an_bootstrap(size_t n_units, size_t resamples, uint64_t seed, double level, an_boot_stat fn,
                 void *ud, an_ci *out, an_err *err);

/* an_bootstrap of an_agreement over the units (rows) of d. */
int an_agr_bootstrap(const an_agr_data *d, an_agr_metric metric, an_agr_level level,
                     an_agr_weights weights, size_t resamples, uint64_t seed, an_ci *out,
                     an_err *err);

#endif
