/* Embeddings of tasks: vectors a model computed for a field of the task (a caption's text
 * embedding, an image's), stored compactly as float32 or float16 blobs (not JSON text), one
 * per (task, field). */
#ifndef AN_STORE_EMBEDDINGS_H
#define AN_STORE_EMBEDDINGS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/hash.h"
#include "store/store.h"

typedef enum an_emb_dtype { AN_EMB_F32, AN_EMB_F16 } an_emb_dtype;

/* Stores (or replaces) task_id's embedding for field: dim values, given as float, kept as
 * dtype. In the open write transaction, else its own. AN_EINVAL for an empty field name or
 * dim 0; AN_ENOTFOUND when the task does not exist. */
int an_store_embedding_put(an_store *s, int64_t task_id, const char *field, an_emb_dtype dtype,
                           const float *vec, uint32_t dim, an_err *err);

/* One task's two embeddings, borrowed for the callback: a and b point at dim values of
 * their dtype (float, or uint16_t halves), possibly unaligned (copy before use). */
typedef struct an_emb_pair {
    int64_t task_id;
    an_emb_dtype dtype_a, dtype_b;
    uint32_t dim_a, dim_b;
    const void *a, *b;
} an_emb_pair;
typedef int (*an_emb_pair_cb)(void *ud, const an_emb_pair *p);

/* Calls cb for each task of the project with both fields, in task id order; a non-zero
 * return from cb stops and is returned. */
int an_store_embedding_pairs(an_store *s, int64_t project_id, const char *field_a,
                             const char *field_b, an_emb_pair_cb cb, void *ud, an_err *err);

/* How many tasks of the project have an embedding for field. */
int an_store_embedding_count(an_store *s, int64_t project_id, const char *field, int64_t *out,
                             an_err *err);

/* The task of the project whose data has content hash `hash` (as import computes it), or 0. */
int an_store_task_by_hash(an_store *s, int64_t project_id, const uint8_t hash[AN_HASH_BYTES],
                          int64_t *task_id, an_err *err);

#endif
