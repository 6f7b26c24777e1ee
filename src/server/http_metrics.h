/* Request metrics of the HTTP layer: counters by status class and latency histograms per
 * route, kept with atomics so pool threads never wait on each other to count. */
#ifndef AN_SERVER_HTTP_METRICS_H
#define AN_SERVER_HTTP_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/buf.h"

#define AN_HTTP_N_BUCKETS 11 /* Prometheus' default buckets, 5 ms to 10 s */

typedef struct an_http_stat {
    const char *method;                              /* not owned */
    const char *route;                               /* not owned */
    atomic_uint_fast64_t by_class[5];                /* 1xx..5xx */
    atomic_uint_fast64_t buckets[AN_HTTP_N_BUCKETS]; /* not cumulative; summed when printed */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us; /* microseconds, so the sum stays an integer atomic */
} an_http_stat;

/* Zeroes st and names it (method and route must outlive it). */
void an_http_stat_init(an_http_stat *st, const char *method, const char *route);

/* Counts one request that ended with status after seconds. */
void an_http_stat_add(an_http_stat *st, int status, double seconds);

/* Appends the exposition of n stats and the in-flight gauge. */
void an_http_stats_text(const an_http_stat *stats, size_t n, uint64_t in_flight, an_buf *out);

#endif
