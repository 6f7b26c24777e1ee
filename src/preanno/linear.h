/* A linear scorer over hashed features, the parameters both text models store: logits
 * z_k = bias_k + sum_j x_j W[j][k] for k classes. textcls keeps its logistic-regression
 * weights in it, fewshot its class prototypes (with zero bias).
 *
 * Only the buckets some training text used carry weights, so the stored form is sparse:
 * the blob (little-endian) is
 *   "ANLW"  u32 format (1)  u32 bits  u32 k  u32 rows
 *   k x f32 bias
 *   rows x (u32 bucket, k x f32 weights), buckets strictly increasing
 * An opened model maps each bucket to its row (4 bytes per bucket) and keeps the rows.
 * Immutable once built; thread-safe to read. */
#ifndef AN_PREANNO_LINEAR_H
#define AN_PREANNO_LINEAR_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "preanno/features.h"

typedef struct an_linear {
    uint32_t bits, k, rows;
    float *bias;     /* k */
    int32_t *row_of; /* 2^bits: the bucket's row, or -1 */
    float *w;        /* rows x k */
} an_linear;

/* Builds a model from dense weights W (2^bits x k, row-major) and bias (k), keeping the
 * buckets whose weights are not all zero. */
void an_linear_from_dense(an_linear *m, uint32_t bits, uint32_t k, const float *dense,
                          const float *bias);

/* Appends m's blob to out. */
void an_linear_save(const an_linear *m, an_buf *out);

/* Reads a blob (untrusted: every size is checked). AN_EINVAL naming "model.blob" when it is
 * not a well-formed blob. m needs an_linear_free afterwards in any case. */
int an_linear_load(const void *blob, size_t len, an_linear *m, an_err *err);

void an_linear_free(an_linear *m);

/* z[0..k) = the logits of x. */
void an_linear_logits(const an_linear *m, const an_fvec *x, double *z);

#endif
