#include "base/queue.h"

#include <stdlib.h>

#include "base/buf.h"

void an_queue_init(an_queue *q, size_t max_items, size_t max_bytes)
{
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    q->cap = max_items ? max_items : 1;
    q->items = an_xcalloc(q->cap, sizeof *q->items);
    q->sizes = an_xcalloc(q->cap, sizeof *q->sizes);
    q->head = q->count = q->bytes = 0;
    q->max_bytes = max_bytes;
}

void an_queue_destroy(an_queue *q)
{
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->items);
    free(q->sizes);
}

void an_queue_push(an_queue *q, void *item, size_t bytes)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == q->cap || (q->count > 0 && q->bytes + bytes > q->max_bytes))
        pthread_cond_wait(&q->not_full, &q->mu);
    size_t tail = (q->head + q->count) % q->cap;
    q->items[tail] = item;
    q->sizes[tail] = bytes;
    q->count++;
    q->bytes += bytes;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

void *an_queue_pop(an_queue *q)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == 0) pthread_cond_wait(&q->not_empty, &q->mu);
    void *item = q->items[q->head];
    q->bytes -= q->sizes[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->mu);
    return item;
}
