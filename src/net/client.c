/* Outbound HTTP requests with libcurl, pinned to addresses the guard checked. */
#include "net/client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { DEFAULT_CONNECT_MS = 3000, DEFAULT_TOTAL_MS = 10000, DEFAULT_MAX_BODY = 1 << 20 };

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void an_net_global_init(void)
{
    pthread_once(&curl_once, curl_init_once);
}

/* What the socket callback needs to re-check the address curl is about to connect to. */
typedef struct conn_check {
    const an_guard_target *t;
    const an_net_allow *allow;
    bool refused;
    an_err err;
} conn_check;

static bool same_endpoint(const struct sockaddr *a, const struct sockaddr_storage *b)
{
    if (a->sa_family != b->ss_family) return false;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return false;
}

static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *address)
{
    conn_check *c = ud;
    const struct sockaddr *sa = &address->addr;
    if (purpose != CURLSOCKTYPE_IPCXN) {
        c->refused = true;
        an_err_set(&c->err, AN_EINVAL, "url", "refused a socket that is not a plain connection");
        return CURL_SOCKET_BAD;
    }
    bool checked = false;
    for (size_t i = 0; i < c->t->n_addrs && !checked; i++)
        checked = same_endpoint(sa, &c->t->addrs[i]);
    if (!checked) {
        char text[INET6_ADDRSTRLEN];
        an_addr_text(sa, text, sizeof text);
        c->refused = true;
        an_err_set(&c->err, AN_EINVAL, "url",
                   "the connection went to %s, which is not an address the host resolved to "
                   "when it was checked; refused",
                   text);
        return CURL_SOCKET_BAD;
    }
    /* The addresses were checked a moment ago; checking again costs nothing and keeps this
     * the one place every connection passes. */
    if (an_guard_check_addr(c->allow, c->t->url.host, sa, &c->err) < 0) {
        c->refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

typedef struct sink {
    an_buf *body;
    size_t max, seen;
    bool discard, truncated;
} sink;

static size_t write_body(char *data, size_t size, size_t n, void *ud)
{
    sink *k = ud;
    size_t len = size * n;
    if (k->seen + len > k->max) {
        /* Returning less than given stops the transfer: the status is already known. */
        k->truncated = true;
        size_t room = k->max - k->seen;
        if (!k->discard) an_buf_add(k->body, data, room);
        k->seen = k->max;
        return 0;
    }
    k->seen += len;
    if (!k->discard) an_buf_add(k->body, data, len);
    return len;
}

int an_net_request(const an_net_opts *o, an_net_result *r, an_err *err)
{
    memset(r, 0, sizeof *r);
    an_buf_init(&r->body);
    an_net_global_init();
    bool post = o->method && strcmp(o->method, "POST") == 0;
    if (!post && !(o->method && strcmp(o->method, "GET") == 0))
        return an_err_set(err, AN_EINTERNAL, "method", "only GET and POST are supported");
    an_guard_target *t = an_xcalloc(1, sizeof *t);
    int rc = an_guard_resolve(o->url, o->allow, t, err);
    if (rc < 0) {
        r->refused = true;
        free(t);
        return rc;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        free(t);
        return an_err_set(err, AN_EIO, "url", "cannot start an HTTP client (libcurl)");
    }
    /* Pin the host to the checked addresses: curl does not resolve it again. */
    struct curl_slist *resolve = NULL, *headers = NULL;
    if (!t->url.ipv6_literal) {
        an_buf line = AN_BUF_INIT;
        an_buf_addf(&line, "%s:%u:", t->url.host, (unsigned)t->url.port);
        for (size_t i = 0; i < t->n_addrs; i++) {
            char text[INET6_ADDRSTRLEN];
            an_addr_text((const struct sockaddr *)&t->addrs[i], text, sizeof text);
            if (t->addrs[i].ss_family == AF_INET6)
                an_buf_addf(&line, "%s[%s]", i ? "," : "", text);
            else
                an_buf_addf(&line, "%s%s", i ? "," : "", text);
        }
        resolve = curl_slist_append(resolve, line.p);
        an_buf_free(&line);
    }
    an_buf ct = AN_BUF_INIT;
    an_buf_addf(&ct, "Content-Type: %s", o->content_type ? o->content_type : "application/json");
    if (post) headers = curl_slist_append(headers, ct.p);
    an_buf_free(&ct);
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    for (size_t i = 0; i < o->n_headers; i++) headers = curl_slist_append(headers, o->headers[i]);

    conn_check check = {.t = t, .allow = o->allow};
    an_err_clear(&check.err);
    sink k = {.body = &r->body,
              .max = o->max_response ? o->max_response : DEFAULT_MAX_BODY,
              .discard = o->discard_body};
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, o->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never a proxy from the environment */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     o->connect_timeout_ms > 0 ? o->connect_timeout_ms : (long)DEFAULT_CONNECT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     o->timeout_ms > 0 ? o->timeout_ms : (long)DEFAULT_TOTAL_MS);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &check);
    if (resolve) curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "annot/1 (outbound)");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    if (post) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, o->body ? o->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(o->body ? o->body_len : 0));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    r->truncated = k.truncated;
    if (check.refused) {
        r->refused = true;
        rc = -AN_EINVAL;
        if (err) *err = check.err;
    } else if (cc == CURLE_OK || (cc == CURLE_WRITE_ERROR && k.truncated && status > 0)) {
        r->status = status;
        rc = 0;
    } else {
        rc = an_err_set(err, AN_EIO, "url", "the request to %s failed: %s", t->url.host,
                        curl_err[0] ? curl_err : curl_easy_strerror(cc));
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(resolve);
    curl_slist_free_all(headers);
    free(t);
    return rc;
}
