/* The sparse linear scorer and its blob: see linear.h. */
#include "preanno/linear.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { FORMAT = 1, HEADER = 20 };

static void put_u32(an_buf *b, uint32_t v)
{
    unsigned char p[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    an_buf_add(b, p, 4);
}

static void put_f32(an_buf *b, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(b, v);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float get_f32(const unsigned char *p)
{
    uint32_t v = get_u32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

void an_linear_free(an_linear *m)
{
    free(m->bias);
    free(m->row_of);
    free(m->w);
    memset(m, 0, sizeof *m);
}

static void alloc_rows(an_linear *m, uint32_t bits, uint32_t k, uint32_t rows)
{
    m->bits = bits;
    m->k = k;
    m->rows = rows;
    m->bias = an_xcalloc(k, sizeof *m->bias);
    size_t d = (size_t)1 << bits;
    m->row_of = an_xmalloc(d * sizeof *m->row_of);
    for (size_t j = 0; j < d; j++) m->row_of[j] = -1;
    m->w = an_xcalloc(rows ? (size_t)rows * k : 1, sizeof *m->w);
}

void an_linear_from_dense(an_linear *m, uint32_t bits, uint32_t k, const float *dense,
                          const float *bias)
{
    size_t d = (size_t)1 << bits;
    uint32_t rows = 0;
    for (size_t j = 0; j < d; j++)
        for (uint32_t c = 0; c < k; c++)
            if (dense[j * k + c] != 0) {
                rows++;
                break;
            }
    alloc_rows(m, bits, k, rows);
    memcpy(m->bias, bias, k * sizeof *bias);
    uint32_t r = 0;
    for (size_t j = 0; j < d; j++) {
        int used = 0;
        for (uint32_t c = 0; c < k; c++) used |= dense[j * k + c] != 0;
        if (!used) continue;
        m->row_of[j] = (int32_t)r;
        memcpy(m->w + (size_t)r * k, dense + j * k, k * sizeof *dense);
        r++;
    }
}

void an_linear_save(const an_linear *m, an_buf *out)
{
    an_buf_add(out, "ANLW", 4);
    put_u32(out, FORMAT);
    put_u32(out, m->bits);
    put_u32(out, m->k);
    put_u32(out, m->rows);
    for (uint32_t c = 0; c < m->k; c++) put_f32(out, m->bias[c]);
    size_t d = (size_t)1 << m->bits;
    for (size_t j = 0; j < d; j++) {
        int32_t r = m->row_of[j];
        if (r < 0) continue;
        put_u32(out, (uint32_t)j);
        for (uint32_t c = 0; c < m->k; c++) put_f32(out, m->w[(size_t)r * m->k + c]);
    }
}

int an_linear_load(const void *blob, size_t len, an_linear *m, an_err *err)
{
    memset(m, 0, sizeof *m);
    const unsigned char *p = blob;
    if (!p || len < HEADER || memcmp(p, "ANLW", 4) != 0)
        return an_err_set(err, AN_EINVAL, "model.blob",
                          "the stored model is not a linear model blob; train the model again");
    uint32_t format = get_u32(p + 4), bits = get_u32(p + 8), k = get_u32(p + 12),
             rows = get_u32(p + 16);
    if (format != FORMAT)
        return an_err_set(err, AN_EINVAL, "model.blob",
                          "the stored model has format %u, this annot reads format %d; train "
                          "the model again",
                          format, FORMAT);
    if (bits < AN_FEAT_BITS_MIN || bits > AN_FEAT_BITS_MAX || k < 1 || k > 100000 ||
        rows > ((uint32_t)1 << bits))
        return an_err_set(err, AN_EINVAL, "model.blob",
                          "the stored model's sizes are out of range (bits %u, classes %u, "
                          "rows %u); train the model again",
                          bits, k, rows);
    size_t need = HEADER + 4 * (size_t)k + (size_t)rows * (4 + 4 * (size_t)k);
    if (len != need)
        return an_err_set(err, AN_EINVAL, "model.blob",
                          "the stored model has %zu bytes, its header says %zu; train the "
                          "model again",
                          len, need);
    alloc_rows(m, bits, k, rows);
    const unsigned char *q = p + HEADER;
    for (uint32_t c = 0; c < k; c++, q += 4) {
        m->bias[c] = get_f32(q);
        if (!isfinite(m->bias[c]))
            return an_err_set(err, AN_EINVAL, "model.blob",
                              "the stored model has a bias that is not a finite number; train "
                              "the model again");
    }
    long last = -1;
    for (uint32_t r = 0; r < rows; r++) {
        uint32_t j = get_u32(q);
        q += 4;
        if ((long)j <= last || j >= ((uint32_t)1 << bits))
            return an_err_set(err, AN_EINVAL, "model.blob",
                              "the stored model's buckets are out of order or range at row %u; "
                              "train the model again",
                              r);
        last = (long)j;
        m->row_of[j] = (int32_t)r;
        for (uint32_t c = 0; c < k; c++, q += 4) {
            float f = get_f32(q);
            if (!isfinite(f))
                return an_err_set(err, AN_EINVAL, "model.blob",
                                  "the stored model has a weight that is not a finite number "
                                  "(row %u); train the model again",
                                  r);
            m->w[(size_t)r * k + c] = f;
        }
    }
    return 0;
}

void an_linear_logits(const an_linear *m, const an_fvec *x, double *z)
{
    uint32_t mask = ((uint32_t)1 << m->bits) - 1;
    if (m->k == 2) {
        /* Two classes, the common case: both sums in registers (the same additions in the
         * same order as the general loop, so the same logits). */
        double z0 = m->bias[0], z1 = m->bias[1];
        for (size_t i = 0; i < x->n; i++) {
            int32_t r = m->row_of[x->idx[i] & mask];
            if (r < 0) continue;
            const float *w = m->w + 2 * (size_t)r;
            double v = x->val[i];
            z0 += v * (double)w[0];
            z1 += v * (double)w[1];
        }
        z[0] = z0;
        z[1] = z1;
        return;
    }
    for (uint32_t c = 0; c < m->k; c++) z[c] = m->bias[c];
    for (size_t i = 0; i < x->n; i++) {
        int32_t r = m->row_of[x->idx[i] & mask];
        if (r < 0) continue;
        const float *w = m->w + (size_t)r * m->k;
        double v = x->val[i];
        for (uint32_t c = 0; c < m->k; c++) z[c] += v * (double)w[c];
    }
}
