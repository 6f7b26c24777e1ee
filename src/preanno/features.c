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

/* Short texts (the common case) are featurised without touching the heap: the normalised
 * code points and the feature keys of a text of up to SMALL_CPS code points fit in buffers on
 * the stack (about 9 KiB). */
enum { SMALL_CPS = 256 };

/* ASCII: the lower-cased letter or digit, 0 for a separator (is_word and lower in one load). */
static const unsigned char ASCII_WORD[128] = {
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4', ['5'] = '5', ['6'] = '6',
    ['7'] = '7', ['8'] = '8', ['9'] = '9',
    ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f', ['G'] = 'g',
    ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n',
    ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't', ['U'] = 'u',
    ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y', ['Z'] = 'z',
    ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e', ['f'] = 'f', ['g'] = 'g',
    ['h'] = 'h', ['i'] = 'i', ['j'] = 'j', ['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n',
    ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't', ['u'] = 'u',
    ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y', ['z'] = 'z',
};

/* A feature occurrence as (bucket << 1 | negative), bucket < 2^24: sorting groups a bucket's
 * occurrences. */
static inline uint32_t key_of(uint64_t h, uint32_t mask)
{
    return ((uint32_t)h & mask) << 1 | (uint32_t)(h >> 63);
}

static void insertion_sort(uint32_t *k, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t x = k[i];
        size_t j = i;
        for (; j > 0 && k[j - 1] > x; j--) k[j] = k[j - 1];
        k[j] = x;
    }
}

/* Sorts k[0..n) of key_bits bits with tmp[0..n) as scratch. Keys come from a hash, so they
 * are spread evenly: a short text's keys (n <= SPREAD_MAX) are scattered into about n / 2
 * ranges by their top bits and the nearly sorted result finished by insertion sort, about
 * 4 n steps. Crafted texts whose keys share a range cost at most SPREAD_MAX^2 / 2 moves.
 * More keys take an LSD radix sort by bytes (linear whatever the text), all byte histograms
 * counted in one pass and a pass skipped when every key has the same byte there. */
enum { SPREAD_MAX = 1024 };

static void sort_keys(uint32_t *k, uint32_t *tmp, size_t n, int key_bits)
{
    if (n <= 32) {
        insertion_sort(k, n);
        return;
    }
    if (n <= SPREAD_MAX) {
        int rb = 4; /* log2 of the number of ranges: the largest power of two <= n / 2 */
        while (rb < key_bits && ((size_t)2 << rb) <= n / 2) rb++;
        int shift = key_bits - rb;
        uint32_t count[SPREAD_MAX / 2 + 1];
        size_t nb = (size_t)1 << rb;
        memset(count, 0, (nb + 1) * sizeof *count);
        for (size_t i = 0; i < n; i++) count[(k[i] >> shift) + 1]++;
        for (size_t b = 1; b <= nb; b++) count[b] += count[b - 1];
        for (size_t i = 0; i < n; i++) tmp[count[k[i] >> shift]++] = k[i];
        insertion_sort(tmp, n);
        memcpy(k, tmp, n * sizeof *k);
        return;
    }
    int passes = (key_bits + 7) / 8;
    uint32_t count[4][256];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) {
        uint32_t x = k[i];
        for (int p = 0; p < passes; p++) count[p][(x >> (8 * p)) & 0xFF]++;
    }
    uint32_t *src = k, *dst = tmp;
    for (int p = 0; p < passes; p++) {
        uint32_t *c = count[p];
        if (c[(src[0] >> (8 * p)) & 0xFF] == n) continue;
        uint32_t sum = 0;
        for (int b = 0; b < 256; b++) {
            uint32_t t = c[b];
            c[b] = sum;
            sum += t;
        }
        for (size_t i = 0; i < n; i++) dst[c[(src[i] >> (8 * p)) & 0xFF]++] = src[i];
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != k) memcpy(k, src, n * sizeof *k);
}

void an_features(const char *text, size_t len, int bits, an_fvec *v)
{
    if (bits < AN_FEAT_BITS_MIN) bits = AN_FEAT_BITS_MIN;
    if (bits > AN_FEAT_BITS_MAX) bits = AN_FEAT_BITS_MAX;
    v->n = 0;

    /* The normalised text: letters and digits lower-cased, each run of anything else one
     * space, with a space at both ends. */
    uint32_t s_small[SMALL_CPS + 2];
    size_t cap = (len < MAX_CODE_POINTS ? len : MAX_CODE_POINTS) + 2;
    uint32_t *s = cap <= SMALL_CPS + 2 ? s_small : an_xmalloc(cap * sizeof *s);
    const unsigned char *u = (const unsigned char *)text;
    size_t n = 0, i = 0, cps = 0;
    s[n++] = ' ';
    while (i < len && cps < MAX_CODE_POINTS) {
        uint32_t c;
        if (u[i] < 0x80) {
            c = ASCII_WORD[u[i++]];
        } else {
            int32_t d = an_utf8_next(text, len, &i);
            c = d >= 0 && is_word((uint32_t)d) ? lower((uint32_t)d) : 0;
        }
        cps++;
        if (c) {
            s[n++] = c;
        } else if (s[n - 1] != ' ') {
            s[n++] = ' ';
        }
    }
    if (s[n - 1] != ' ') s[n++] = ' ';

    /* At most one word and one bigram per two code points, three character n-grams per code
     * point: 4 n keys bound them. */
    uint32_t k_small[4 * (SMALL_CPS + 2)], t_small[4 * (SMALL_CPS + 2)];
    uint32_t *ks = k_small, *tmp = t_small;
    if (4 * n > sizeof k_small / sizeof *k_small) {
        ks = an_xmalloc(4 * n * sizeof *ks);
        tmp = an_xmalloc(4 * n * sizeof *tmp);
    }
    uint32_t mask = ((uint32_t)1 << bits) - 1;
    size_t nk = 0;
    /* Words and bigrams of adjacent words. */
    uint64_t prev = 0;
    int have_prev = 0;
    for (size_t a = 1; a < n;) {
        size_t b = a;
        while (b < n && s[b] != ' ') b++;
        if (b > a) {
            uint64_t h = hash_cps(KIND_WORD, s + a, b - a);
            ks[nk++] = key_of(h, mask);
            if (have_prev)
                ks[nk++] = key_of(fmix64(prev * 31 + (h ^ ((uint64_t)KIND_BIGRAM << 56))), mask);
            prev = h;
            have_prev = 1;
        }
        a = b + 1;
    }
    /* Character n-grams, 1 to 3 code points; a lone space is no feature. */
    for (size_t a = 0; a < n; a++) {
        if (s[a] != ' ') ks[nk++] = key_of(hash_cps(KIND_CHAR + 1, s + a, 1), mask);
        if (a + 2 <= n) ks[nk++] = key_of(hash_cps(KIND_CHAR + 2, s + a, 2), mask);
        if (a + 3 <= n) ks[nk++] = key_of(hash_cps(KIND_CHAR + 3, s + a, 3), mask);
    }
    if (s != s_small) free(s);

    sort_keys(ks, tmp, nk, bits + 1);
    if (v->cap < nk) {
        v->cap = nk;
        v->idx = an_xrealloc(v->idx, v->cap * sizeof *v->idx);
        v->val = an_xrealloc(v->val, v->cap * sizeof *v->val);
    }
    double norm = 0;
    for (size_t a = 0; a < nk;) {
        uint32_t bucket = ks[a] >> 1;
        long sum = 0;
        for (; a < nk && (ks[a] >> 1) == bucket; a++) sum += (ks[a] & 1) ? -1 : 1;
        if (sum == 0) continue;
        v->idx[v->n] = bucket;
        v->val[v->n] = (float)sum;
        v->n++;
        norm += (double)sum * (double)sum;
    }
    if (ks != k_small) {
        free(ks);
        free(tmp);
    }
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
