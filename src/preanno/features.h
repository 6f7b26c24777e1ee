/* Text features for the pre-annotation models: hashed, signed, L2-normalised sparse vectors.
 *
 * A text becomes (1) lower-cased word unigrams and bigrams, words being runs of letters and
 * digits, and (2) character n-grams of 1 to 3 code points over the text with every run of
 * separators collapsed to one space (and a space before and after). Character n-grams are
 * what make the features work on Chinese and Japanese, which write no spaces between words:
 * no word segmenter is needed.
 *
 * Each feature is hashed (a 64-bit hash of its code points and its kind) into 2^bits buckets,
 * and the hash also gives it a sign (+1 or -1), so that colliding features tend to cancel
 * rather than add up (the "hashing trick" with signed hashing). The vector holds the signed
 * counts per bucket, then is scaled to unit length.
 *
 * Letters, digits and lower-casing are decided per code point without a Unicode database:
 * ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic and full-width Latin are lower-cased;
 * ASCII and Latin-1 punctuation, general punctuation and symbols (U+2000..U+2BFF), CJK
 * punctuation (U+3000..U+303F), full-width punctuation, emoji and private-use code points
 * are separators; every other code point (CJK ideographs, kana, hangul, Arabic, combining
 * marks, …) counts as a letter. Invalid UTF-8 bytes are separators.
 *
 * Pure functions; thread-safe. */
#ifndef AN_PREANNO_FEATURES_H
#define AN_PREANNO_FEATURES_H

#include <stddef.h>
#include <stdint.h>

enum {
    AN_FEAT_BITS_DEFAULT = 18, /* 262144 buckets */
    AN_FEAT_BITS_MIN = 8,
    AN_FEAT_BITS_MAX = 24,
};

/* A sparse vector: n entries with strictly increasing idx (< 2^bits) and non-zero val. */
typedef struct an_fvec {
    uint32_t *idx;
    float *val;
    size_t n, cap;
} an_fvec;

#define AN_FVEC_INIT {NULL, NULL, 0, 0}

void an_fvec_free(an_fvec *v);

/* Replaces v's content with the features of the UTF-8 text[0..len) in 2^bits buckets
 * (bits in AN_FEAT_BITS_MIN..AN_FEAT_BITS_MAX; others are clamped). The vector has unit
 * length, or is empty when the text has no letters or digits. */
void an_features(const char *text, size_t len, int bits, an_fvec *v);

/* Dot product of a sparse vector with a dense one of 2^bits entries. */
double an_fvec_dot_dense(const an_fvec *v, const float *dense);

#endif
