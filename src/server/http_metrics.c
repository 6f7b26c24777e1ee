#include "server/http_metrics.h"

#include <string.h>

static const double bucket_le[AN_HTTP_N_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                    0.5,   1,    2.5,   5,    10};
static const char *const bucket_text[AN_HTTP_N_BUCKETS] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"};

void an_http_stat_init(an_http_stat *st, const char *method, const char *route)
{
    st->method = method;
    st->route = route;
    for (int i = 0; i < 5; i++)
        atomic_init(&st->by_class[i], 0);
    for (int i = 0; i < AN_HTTP_N_BUCKETS; i++)
        atomic_init(&st->buckets[i], 0);
    atomic_init(&st->count, 0);
    atomic_init(&st->sum_us, 0);
}

void an_http_stat_add(an_http_stat *st, int status, double seconds)
{
    int cls = status / 100;
    if (cls < 1) cls = 1;
    if (cls > 5) cls = 5;
    atomic_fetch_add_explicit(&st->by_class[cls - 1], 1, memory_order_relaxed);
    if (seconds < 0) seconds = 0;
    int b = 0;
    while (b < AN_HTTP_N_BUCKETS && seconds > bucket_le[b])
        b++;
    if (b < AN_HTTP_N_BUCKETS) atomic_fetch_add_explicit(&st->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->sum_us, (uint64_t)(seconds * 1e6 + 0.5), memory_order_relaxed);
    atomic_fetch_add_explicit(&st->count, 1, memory_order_relaxed);
}

/* Label values are escaped as the exposition format asks: backslash, quote, newline. */
static void add_label(an_buf *out, const char *name, const char *value)
{
    an_buf_adds(out, name);
    an_buf_adds(out, "=\"");
    for (const char *p = value; *p; p++) {
        if (*p == '\\')
            an_buf_adds(out, "\\\\");
        else if (*p == '"')
            an_buf_adds(out, "\\\"");
        else if (*p == '\n')
            an_buf_adds(out, "\\n");
        else
            an_buf_addc(out, *p);
    }
    an_buf_addc(out, '"');
}

static void add_labels(an_buf *out, const an_http_stat *st)
{
    add_label(out, "method", st->method);
    an_buf_addc(out, ',');
    add_label(out, "route", st->route);
}

void an_http_stats_text(const an_http_stat *stats, size_t n, uint64_t in_flight, an_buf *out)
{
    an_buf_adds(out, "# HELP annot_http_requests_total HTTP requests by route and status class.\n"
                     "# TYPE annot_http_requests_total counter\n");
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < 5; c++) {
            uint64_t v = atomic_load_explicit(&stats[i].by_class[c], memory_order_relaxed);
            if (v == 0) continue; /* absent series are zero to Prometheus */
            an_buf_adds(out, "annot_http_requests_total{");
            add_labels(out, &stats[i]);
            an_buf_addf(out, ",code=\"%dxx\"} %llu\n", c + 1, (unsigned long long)v);
        }
    }
    an_buf_adds(out, "# HELP annot_http_request_seconds Time from request headers to the end of "
                     "the response, by route.\n"
                     "# TYPE annot_http_request_seconds histogram\n");
    for (size_t i = 0; i < n; i++) {
        const an_http_stat *st = &stats[i];
        /* Read count first: buckets counted after it can only make the +Inf line larger
         * than a bucket, never a bucket larger than the count it belongs to. */
        uint64_t count = atomic_load_explicit(&st->count, memory_order_relaxed);
        if (count == 0) continue;
        uint64_t cum = 0;
        for (int b = 0; b < AN_HTTP_N_BUCKETS; b++) {
            cum += atomic_load_explicit(&st->buckets[b], memory_order_relaxed);
            if (cum > count) cum = count;
            an_buf_adds(out, "annot_http_request_seconds_bucket{");
            add_labels(out, st);
            an_buf_addf(out, ",le=\"%s\"} %llu\n", bucket_text[b], (unsigned long long)cum);
        }
        an_buf_adds(out, "annot_http_request_seconds_bucket{");
        add_labels(out, st);
        an_buf_addf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)count);
        uint64_t sum_us = atomic_load_explicit(&st->sum_us, memory_order_relaxed);
        an_buf_adds(out, "annot_http_request_seconds_sum{");
        add_labels(out, st);
        an_buf_addf(out, "} %llu.%06llu\n", (unsigned long long)(sum_us / 1000000),
                    (unsigned long long)(sum_us % 1000000));
        an_buf_adds(out, "annot_http_request_seconds_count{");
        add_labels(out, st);
        an_buf_addf(out, "} %llu\n", (unsigned long long)count);
    }
    an_buf_adds(out, "# HELP annot_http_requests_in_flight Requests being handled now.\n"
                     "# TYPE annot_http_requests_in_flight gauge\n");
    an_buf_addf(out, "annot_http_requests_in_flight %llu\n", (unsigned long long)in_flight);
}
