/* A bounded blocking queue between one producer thread and one consumer thread.
 *
 * Bounded twice: by item count and by the bytes the items hold, so a pipeline's memory
 * stays flat whatever the input (an item larger than the byte bound still passes, alone).
 * Thread-safe for any number of producers and consumers. */
#ifndef AN_QUEUE_H
#define AN_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct an_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    void **items;
    size_t *sizes;
    size_t cap, head, count;
    size_t bytes, max_bytes;
} an_queue;

void an_queue_init(an_queue *q, size_t max_items, size_t max_bytes);
void an_queue_destroy(an_queue *q);
/* Waits for room, then appends item, which holds bytes bytes. */
void an_queue_push(an_queue *q, void *item, size_t bytes);
/* Waits for an item and removes it. */
void *an_queue_pop(an_queue *q);

#endif
