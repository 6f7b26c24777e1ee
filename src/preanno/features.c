/* Hashed word and character n-gram features: see features.h. */
#include "preanno/features.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/utf8.h"

/* Long documents are cut: the first code points say enough about a text's class, and the
 * cut bounds the memory and time one task can take. */
enum { MAX_CODE_POINTS = 100000 };

/* Seeds that keep the kinds of feature apart: the word "a" and the character "a" are two
 * features. */
enum { KIND_WORD = 1, KIND_BIGRAM = 2, KIND_CHAR = 3 };

static uint64_t fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_cps(uint64_t kind, const uint32_t *cp, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL * (kind + 1);
    for (size_t i = 0; i < n; i++) {
        h ^= cp[i];
        h *= 0x100000001b3ULL;
        h = (h << 29) | (h >> 35);
    }
    return fmix64(h ^ (uint64_t)n);
}

static uint32_t lower(uint32_t c)
{
    if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;            /* Latin-1 */
    if (c >= 0x100 && c <= 0x137 && !(c & 1)) return c + 1;             /* Latin Extended-A */
    if (c >= 0x139 && c <= 0x148 && (c & 1)) return c + 1;
    if (c >= 0x14A && c <= 0x177 && !(c & 1)) return c + 1;
    if (c == 0x178) return 0xFF;
    if (c >= 0x179 && c <= 0x17E && (c & 1)) return c + 1;
    if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;          /* Greek */
    if (c >= 0x410 && c <= 0x42F) return c + 32;                        /* Cyrillic */
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    if (c >= 0xFF21 && c <= 0xFF3A) return c + 32;                      /* full-width Latin */
    return c;
}

static int is_word(uint32_t c)
{
    if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (c < 0xC0) return c == 0xAA || c == 0xB5 || c == 0xBA; /* Latin-1 punctuation */
    if (c == 0xD7 || c == 0xF7) return 0;
    if (c >= 0x2000 && c <= 0x2BFF) return 0;             /* punctuation, symbols, arrows */
    if (c >= 0x3000 && c <= 0x303F) return 0;             /* CJK punctuation */
    if (c >= 0xE000 && c <= 0xF8FF) return 0;             /* private use */
    if (c >= 0xFE00 && c <= 0xFE0F) return 0;             /* variation selectors */
    if (c >= 0xFE30 && c <= 0xFE4F) return 0;             /* CJK compatibility forms */
    if (c >= 0xFF00 && c <= 0xFF0F) return 0;             /* full-width punctuation */
    if (c >= 0xFF1A && c <= 0xFF20) return 0;
    if (c >= 0xFF3B && c <= 0xFF40) return 0;
    if (c >= 0xFF5B && c <= 0xFF65) return 0;
    if (c >= 0x1F000 && c <= 0x1FAFF) return 0;           /* emoji and pictographs */
    return 1;
}

void an_fvec_free(an_fvec *v)
{
    free(v->idx);
    free(v->val);
    memset(v, 0, sizeof *v);
}

typedef struct keys {
    uint64_t *k;
    size_t n, cap;
    uint64_t mask;
} keys;

/* A feature occurrence as (bucket << 1 | negative): sorting groups a bucket's occurrences. */
static void add_key(keys *ks, uint64_t h)
{
    if (ks->n == ks->cap) {
        ks->cap = ks->cap ? 2 * ks->cap : 256;
        ks->k = an_xrealloc(ks->k, ks->cap * sizeof *ks->k);
    }
    ks->k[ks->n++] = ((h & ks->mask) << 1) | (h >> 63);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void an_features(const char *text, size_t len, int bits, an_fvec *v)
{
    if (bits < AN_FEAT_BITS_MIN) bits = AN_FEAT_BITS_MIN;
    if (bits > AN_FEAT_BITS_MAX) bits = AN_FEAT_BITS_MAX;
    v->n = 0;

    /* The normalised text: letters and digits lower-cased, each run of anything else one
     * space, with a space at both ends. */
    size_t cap = (len < MAX_CODE_POINTS ? len : MAX_CODE_POINTS) + 2;
    uint32_t *s = an_xmalloc(cap * sizeof *s);
    size_t n = 0, i = 0, cps = 0;
    s[n++] = ' ';
    while (i < len && cps < MAX_CODE_POINTS) {
        int32_t c = an_utf8_next(text, len, &i);
        cps++;
        if (c >= 0 && is_word((uint32_t)c)) {
            s[n++] = lower((uint32_t)c);
        } else if (s[n - 1] != ' ') {
            s[n++] = ' ';
        }
    }
    if (s[n - 1] != ' ') s[n++] = ' ';

    keys ks = {.mask = ((uint64_t)1 << bits) - 1};
    /* Words and bigrams of adjacent words. */
    uint64_t prev = 0;
    int have_prev = 0;
    for (size_t a = 1; a < n;) {
        size_t b = a;
        while (b < n && s[b] != ' ') b++;
        if (b > a) {
            uint64_t h = hash_cps(KIND_WORD, s + a, b - a);
            add_key(&ks, h);
            if (have_prev) add_key(&ks, fmix64(prev * 31 + (h ^ ((uint64_t)KIND_BIGRAM << 56))));
            prev = h;
            have_prev = 1;
        }
        a = b + 1;
    }
    /* Character n-grams, 1 to 3 code points; a lone space is no feature. */
    for (size_t a = 0; a < n; a++) {
        for (size_t m = 1; m <= 3 && a + m <= n; m++) {
            if (m == 1 && s[a] == ' ') continue;
            add_key(&ks, hash_cps(KIND_CHAR + m, s + a, m));
        }
    }
    free(s);

    if (ks.n) qsort(ks.k, ks.n, sizeof *ks.k, cmp_u64);
    if (v->cap < ks.n) {
        v->cap = ks.n;
        v->idx = an_xrealloc(v->idx, v->cap * sizeof *v->idx);
        v->val = an_xrealloc(v->val, v->cap * sizeof *v->val);
    }
    double norm = 0;
    for (size_t a = 0; a < ks.n;) {
        uint64_t bucket = ks.k[a] >> 1;
        long sum = 0;
        for (; a < ks.n && (ks.k[a] >> 1) == bucket; a++) sum += (ks.k[a] & 1) ? -1 : 1;
        if (sum == 0) continue;
        v->idx[v->n] = (uint32_t)bucket;
        v->val[v->n] = (float)sum;
        v->n++;
        norm += (double)sum * (double)sum;
    }
    free(ks.k);
    if (norm > 0) {
        float inv = (float)(1.0 / sqrt(norm));
        for (size_t a = 0; a < v->n; a++) v->val[a] *= inv;
    }
}

double an_fvec_dot_dense(const an_fvec *v, const float *dense)
{
    double d = 0;
    for (size_t i = 0; i < v->n; i++) d += (double)v->val[i] * (double)dense[v->idx[i]];
    return d;
}
