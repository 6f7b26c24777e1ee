/* Cosine similarity (similarity.h). Blobs are copied into aligned float buffers (halves
 * through a 65,536-entry table, 256 KB, filled once) and reduced with eight independent
 * accumulators, so the loop is bound by memory, not by one long dependency chain. */
#include "preanno/similarity.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/f16.h"

static float half_table[65536];
static pthread_once_t half_once = PTHREAD_ONCE_INIT;

static void fill_half_table(void)
{
    for (uint32_t i = 0; i < 65536; i++) half_table[i] = an_f16_to_f32((uint16_t)i);
}

/* The vector as floats in buf (grown as needed). */
static const float *as_floats(const void *blob, an_emb_dtype t, uint32_t dim, float **buf,
                              uint32_t *cap)
{
    if (*cap < dim) {
        free(*buf);
        *buf = an_xmalloc((size_t)dim * sizeof **buf);
        *cap = dim;
    }
    if (t == AN_EMB_F32) {
        memcpy(*buf, blob, (size_t)dim * sizeof **buf);
    } else {
        pthread_once(&half_once, fill_half_table);
        const unsigned char *p = blob;
        for (uint32_t i = 0; i < dim; i++)
            (*buf)[i] = half_table[p[2 * i] | p[2 * i + 1] << 8];
    }
    return *buf;
}

void an_cos_scratch_free(an_cos_scratch *s)
{
    free(s->a);
    free(s->b);
    memset(s, 0, sizeof *s);
}

double an_cosine(const an_emb_pair *p, an_cos_scratch *s)
{
    if (p->dim_a != p->dim_b || p->dim_a == 0) return NAN;
    uint32_t n = p->dim_a;
    const float *a = as_floats(p->a, p->dtype_a, n, &s->a, &s->cap_a);
    const float *b = as_floats(p->b, p->dtype_b, n, &s->b, &s->cap_b);
    float dot[8] = {0}, na[8] = {0}, nb[8] = {0};
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) {
            dot[k] += a[i + k] * b[i + k];
            na[k] += a[i + k] * a[i + k];
            nb[k] += b[i + k] * b[i + k];
        }
    double d = 0, x = 0, y = 0;
    for (int k = 0; k < 8; k++) {
        d += dot[k];
        x += na[k];
        y += nb[k];
    }
    for (; i < n; i++) {
        d += (double)a[i] * b[i];
        x += (double)a[i] * a[i];
        y += (double)b[i] * b[i];
    }
    if (x == 0 || y == 0) return NAN;
    double c = d / sqrt(x * y);
    return c > 1 ? 1 : c < -1 ? -1 : c;
}
