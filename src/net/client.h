/* Outbound HTTP requests that are safe by construction (libcurl behind the guard).
 *
 * One request: the URL's host is resolved first and every address checked (guard.h); curl
 * is then pinned to exactly those addresses (CURLOPT_RESOLVE), and the socket it opens is
 * checked again (CURLOPT_OPENSOCKETFUNCTION): an address that was not checked, or that the
 * guard refuses, is never connected to, so a DNS answer that changes between the check and
 * the connection (rebinding) is caught too.
 *
 * Redirects are not followed: a 3xx answer is returned as it is (following one would mean a
 * second URL that nobody checked when the webhook was saved; its target would have to pass
 * the guard anyway). Proxies from the environment (http_proxy, …) are never used. Only http
 * and https; TLS peers and host names are verified. The response body is capped.
 *
 * Thread safety: an_net_request may run on any number of threads at once; call
 * an_net_global_init once before the first request (an_webhooks_start does). */
#ifndef AN_NET_CLIENT_H
#define AN_NET_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "net/guard.h"

typedef struct an_net_opts {
    const char *method;               /* "POST" or "GET" */
    const char *url;
    const char *const *headers;       /* "Name: value" lines */
    size_t n_headers;
    const char *body;                 /* POST body (may be NULL: empty) */
    size_t body_len;
    const char *content_type;         /* of the body; NULL: application/json */
    const an_net_allow *allow;        /* the workspace's allow-list; NULL: none */
    long connect_timeout_ms;          /* 0: 3000 */
    long timeout_ms;                  /* the whole request; 0: 10000 */
    size_t max_response;              /* bytes of the body kept; 0: 1 MiB */
    bool discard_body;                /* read (up to max_response) but keep nothing */
} an_net_opts;

typedef struct an_net_result {
    long status;     /* HTTP status; 0 when no response arrived */
    bool refused;    /* the guard refused the URL or the address connected to */
    bool truncated;  /* the body was longer than max_response and was cut there */
    an_buf body;     /* the body (empty with discard_body); an_buf_free it */
} an_net_result;

/* Initialises libcurl for the process. Call once, before threads make requests. */
void an_net_global_init(void);

/* Makes one request. Returns 0 when a response arrived (any status: look at r->status);
 * AN_EINVAL (where "url", r->refused set) when the guard refuses the URL or an address;
 * AN_EIO when the connection failed or timed out. r is always initialised: free its body. */
int an_net_request(const an_net_opts *o, an_net_result *r, an_err *err);

#endif
