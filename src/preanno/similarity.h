/* Cross-modal alignment: the cosine similarity of a task's two embeddings (a caption's and
 * its image's, say), in float whatever the stored types. */
#ifndef AN_PREANNO_SIMILARITY_H
#define AN_PREANNO_SIMILARITY_H

#include <stdint.h>

#include "store/embeddings.h"

/* Buffers an_cosine reuses from call to call; zero-initialise, free with an_cos_scratch_free. */
typedef struct an_cos_scratch {
    float *a, *b;
    uint32_t cap_a, cap_b;
} an_cos_scratch;
void an_cos_scratch_free(an_cos_scratch *s);

/* cos(a, b) in [-1, 1]; NAN when the dimensions differ or a vector is all zero. */
double an_cosine(const an_emb_pair *p, an_cos_scratch *s);

#endif
