/* The daemon and the life of a request: routing on the first call from libmicrohttpd (headers
 * only), the body in the calls that follow, the handler on the last one, metrics when the
 * response is done. Early answers (404, 405, 413 by Content-Length, the before hook's own)
 * are queued before the body is read, so an unwanted upload is never received. */
#include "server/http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/json.h"
#include "server/http_metrics.h"

#define DEFAULT_MAX_BODY ((size_t)1 << 20)
#define CONNECTION_POOL_BYTES 16384
#define DEFAULT_MAX_UPLOAD ((size_t)1 << 30)
/* After a chunked body passes its limit the rest is read and dropped (libmicrohttpd cannot
 * answer in the middle of a body); past this much more the connection is simply closed. */
#define DISCARD_LIMIT ((uint64_t)16 << 20)
#define MAX_SEGMENTS 32

static const char *const CSP = "default-src 'self'; img-src 'self' data: blob:; "
                               "media-src 'self' blob:; style-src 'self'; script-src 'self'; "
                               "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
                               "form-action 'self'";

typedef struct croute {
    an_http_route r; /* method and pattern point at the copies below */
    char *method;
    char *pattern;
    size_t nseg;
    char *seg[MAX_SEGMENTS]; /* literal text, or the parameter name for {name} */
    bool param[MAX_SEGMENTS];
} croute;

struct an_http_server {
    struct MHD_Daemon *d;
    croute *routes;
    size_t n_routes;
    an_http_stat *stats; /* n_routes, then "static", then "unmatched" */
    atomic_uint_fast64_t in_flight;
    void *app;
    an_http_before_fn before;
    an_http_after_fn after;
    char *static_dir;
    char *upload_dir;
    int port;
};

enum kind { K_ROUTE, K_STATIC, K_ERROR };

struct an_http_req {
    an_http_server *srv;
    struct MHD_Connection *conn;
    const char *method; /* libmicrohttpd's, valid for the whole request */
    char *path;
    enum kind kind;
    const croute *route;
    an_http_stat *stat;
    const char **param_val; /* parallel to route->seg; NULL where not a parameter */
    double t0;
    int status; /* 0 until a response is queued */
    bool answered;
    /* body */
    uint64_t max_body;
    uint64_t received;
    bool too_large;
    bool bad_body;
    bool io_error;
    an_buf body;
    /* upload */
    int up_fd;
    char *up_path;
    uint64_t up_size;
    char *up_filename;
    char *up_type;
    char *part_key;
    bool part_done;
    bool keep;
    struct MHD_PostProcessor *pp;
    /* scratch */
    an_buf scratch;
    void **allocs;
    size_t n_allocs, cap_allocs;
    void *user;
    void (*user_free)(void *);
    char addr[64];
    /* answering later (an_http_defer) */
    an_http_then then;
    void *then_ctx;
    bool deferred;
    /* the before hook waits for the handler's call: the request has no body */
    bool before_late;
};

/* ---- responses ------------------------------------------------------------------------ */

void an_http_resp_init(an_http_resp *r)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    an_buf_init(&r->body);
    an_buf_init(&r->headers_);
}

void an_http_resp_free(an_http_resp *r)
{
    if (r->fd >= 0) close(r->fd);
    an_buf_free(&r->body);
    an_buf_free(&r->headers_);
    r->fd = -1;
}

static bool is_token(const char *s)
{
    if (!*s) return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 32 || c >= 127 || strchr("()<>@,;:\\\"/[]?={}", c)) return false;
    }
    return true;
}

int an_http_resp_header(an_http_resp *resp, const char *name, const char *value, an_err *err)
{
    if (!is_token(name))
        return an_err_set(err, AN_EINVAL, "header", "header name \"%s\" is not a token", name);
    if (strpbrk(value, "\r\n"))
        return an_err_set(err, AN_EINVAL, name, "header value holds a line break; remove it");
    an_buf_add(&resp->headers_, name, strlen(name) + 1);
    an_buf_add(&resp->headers_, value, strlen(value) + 1);
    return 0;
}

void an_http_json(an_http_resp *resp, int status, json_t *j)
{
    an_buf_reset(&resp->body);
    if (j)
        an_json_write(&resp->body, j);
    else
        an_buf_adds(&resp->body, "null");
    json_decref(j);
    resp->status = status;
    snprintf(resp->content_type, sizeof resp->content_type, "application/json");
    if (resp->fd >= 0) close(resp->fd);
    resp->fd = -1;
}

void an_http_error(an_http_resp *resp, int status, const char *code, const char *message,
                   const char *field)
{
    an_buf *b = &resp->body;
    an_buf_reset(b);
    an_buf_adds(b, "{\"error\":{\"code\":");
    an_json_write_string(b, code, strlen(code));
    an_buf_adds(b, ",\"message\":");
    an_json_write_string(b, message, strlen(message));
    if (field) {
        an_buf_adds(b, ",\"field\":");
        an_json_write_string(b, field, strlen(field));
    }
    an_buf_adds(b, "}}");
    resp->status = status;
    snprintf(resp->content_type, sizeof resp->content_type, "application/json");
    if (resp->fd >= 0) close(resp->fd);
    resp->fd = -1;
}

void an_http_text(an_http_resp *resp, int status, const char *content_type, const char *text,
                  size_t len)
{
    an_buf_reset(&resp->body);
    an_buf_add(&resp->body, text, len);
    resp->status = status;
    snprintf(resp->content_type, sizeof resp->content_type, "%s", content_type ? content_type : "");
    if (resp->fd >= 0) close(resp->fd);
    resp->fd = -1;
}

/* ---- request accessors ------------------------------------------------------------------ */

const char *an_http_method(const an_http_req *req)
{
    return req->method;
}
const char *an_http_path(const an_http_req *req)
{
    return req->path;
}

bool an_http_handler_follows(const an_http_req *req)
{
    return req->before_late;
}

const an_http_route *an_http_route_of(const an_http_req *req)
{
    return req->route ? &req->route->r : NULL;
}

const char *an_http_param(const an_http_req *req, const char *name)
{
    if (!req->route || !req->param_val) return NULL;
    for (size_t i = 0; i < req->route->nseg; i++)
        if (req->route->param[i] && strcmp(req->route->seg[i], name) == 0) return req->param_val[i];
    return NULL;
}

const char *an_http_query(const an_http_req *req, const char *name)
{
    const char *v = NULL;
    if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v,
                                      NULL) != MHD_YES)
        return NULL;
    return v ? v : "";
}

const char *an_http_header(const an_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *an_http_cookie(const an_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

const char *an_http_client_addr(an_http_req *req)
{
    if (req->addr[0]) return req->addr;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr) return "";
    const struct sockaddr *sa = ci->client_addr;
    socklen_t len =
        sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (getnameinfo(sa, len, req->addr, sizeof req->addr, NULL, 0, NI_NUMERICHOST) != 0)
        req->addr[0] = '\0';
    return req->addr;
}

const char *an_http_body(const an_http_req *req, size_t *len)
{
    if (len) *len = req->body.len;
    return req->body.p ? req->body.p : "";
}

const char *an_http_upload_path(const an_http_req *req)
{
    return req->up_path;
}
uint64_t an_http_upload_size(const an_http_req *req)
{
    return req->up_size;
}
const char *an_http_upload_filename(const an_http_req *req)
{
    return req->up_filename;
}
const char *an_http_upload_type(const an_http_req *req)
{
    return req->up_type;
}
void an_http_upload_keep(an_http_req *req)
{
    req->keep = true;
}

void *an_http_alloc(an_http_req *req, size_t n)
{
    if (req->n_allocs == req->cap_allocs) {
        req->cap_allocs = req->cap_allocs ? req->cap_allocs * 2 : 8;
        req->allocs = an_xrealloc(req->allocs, req->cap_allocs * sizeof *req->allocs);
    }
    void *p = an_xcalloc(1, n);
    req->allocs[req->n_allocs++] = p;
    return p;
}

an_buf *an_http_scratch(an_http_req *req)
{
    return &req->scratch;
}

void an_http_set_user(an_http_req *req, void *user, void (*free_fn)(void *))
{
    if (req->user && req->user_free && req->user != user) req->user_free(req->user);
    req->user = user;
    req->user_free = free_fn;
}

void *an_http_user(const an_http_req *req)
{
    return req->user;
}

/* ---- routing ---------------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool is_api(const char *path)
{
    return strncmp(path, "/api", 4) == 0 && (path[4] == '\0' || path[4] == '/');
}

/* Splits a path after its leading '/' into segments (pointers into buf, which it edits).
 * Returns the count, or -1 when there are too many or the path does not start with '/'. */
static int split_path(char *buf, char **seg)
{
    if (buf[0] != '/') return -1;
    char *s = buf + 1;
    if (*s == '\0') return 0; /* "/" has no segments */
    int n = 0;
    for (;;) {
        if (n == MAX_SEGMENTS) return -1;
        seg[n++] = s;
        char *e = strchr(s, '/');
        if (!e) break;
        *e = '\0';
        s = e + 1;
    }
    return n;
}

static bool route_matches(const croute *cr, char **seg, int nseg)
{
    if ((size_t)nseg != cr->nseg) return false;
    for (int i = 0; i < nseg; i++) {
        if (cr->param[i]) {
            if (seg[i][0] == '\0') return false;
        } else if (strcmp(cr->seg[i], seg[i]) != 0) {
            return false;
        }
    }
    return true;
}

static bool method_matches(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* ---- sending ---------------------------------------------------------------------------- */

static void add_header(struct MHD_Response *mr, const char *name, const char *value)
{
    MHD_add_response_header(mr, name, value);
}

static bool has_header(const an_buf *h, const char *name)
{
    size_t i = 0;
    while (i < h->len) {
        const char *n = h->p + i;
        size_t nl = strlen(n);
        const char *v = n + nl + 1;
        if (strcasecmp(n, name) == 0) return true;
        i += nl + 1 + strlen(v) + 1;
    }
    return false;
}

static enum MHD_Result send_resp(an_http_req *req, an_http_resp *resp)
{
    struct MHD_Response *mr = NULL;
    if (resp->fd >= 0) {
        mr = MHD_create_response_from_fd_at_offset64(resp->fd_length, resp->fd, resp->fd_offset);
        if (mr)
            resp->fd = -1; /* libmicrohttpd closes it */
        else
            an_http_error(resp, 500, "internal", "cannot stream the file", NULL);
    }
    if (!mr) {
        size_t len = resp->body.len;
        char *p = an_buf_detach(&resp->body);
        mr = MHD_create_response_from_buffer(len, p, MHD_RESPMEM_MUST_FREE);
        if (!mr) {
            free(p);
            return MHD_NO;
        }
    }
    if (resp->content_type[0]) add_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    const an_buf *h = &resp->headers_;
    for (size_t i = 0; i < h->len;) {
        const char *n = h->p + i;
        const char *v = n + strlen(n) + 1;
        add_header(mr, n, v);
        i = (size_t)(v - h->p) + strlen(v) + 1;
    }
    /* A handler that sets its own policy (a page meant to be framed, say) replaces the
     * default one rather than being intersected with it. */
    if (!has_header(h, "Content-Security-Policy"))
        add_header(mr, "Content-Security-Policy", CSP);
    add_header(mr, "X-Content-Type-Options", "nosniff");
    add_header(mr, "Referrer-Policy", "no-referrer");
    if (!has_header(h, "X-Frame-Options")) add_header(mr, "X-Frame-Options", "DENY");
    if (is_api(req->path) && !has_header(h, "Cache-Control"))
        add_header(mr, "Cache-Control", "no-store");
    int status = resp->status ? resp->status : 200;
    enum MHD_Result r = MHD_queue_response(req->conn, (unsigned)status, mr);
    MHD_destroy_response(mr);
    if (r == MHD_YES) {
        req->status = status;
        req->answered = true;
    }
    return r;
}

static enum MHD_Result send_error(an_http_req *req, int status, const char *code,
                                  const char *message, const char *field)
{
    an_http_resp resp;
    an_http_resp_init(&resp);
    an_http_error(&resp, status, code, message, field);
    enum MHD_Result r = send_resp(req, &resp);
    an_http_resp_free(&resp);
    return r;
}

static enum MHD_Result send_too_large(an_http_req *req)
{
    char msg[160];
    snprintf(msg, sizeof msg, "the request body is larger than %llu bytes; send less",
             (unsigned long long)req->max_body);
    return send_error(req, 413, "too_large", msg, NULL);
}

/* ---- uploads ---------------------------------------------------------------------------- */

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static void upload_write(an_http_req *req, const char *p, size_t n)
{
    if (req->io_error) return;
    if (!write_all(req->up_fd, p, n))
        req->io_error = true;
    else
        req->up_size += n;
}

/* Keeps the content of the first part with a filename; form fields and later parts are read
 * and dropped. */
static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size)
{
    an_http_req *req = cls;
    if (!filename || req->part_done) return MHD_YES;
    if (!key) key = "";
    if (!req->part_key) {
        req->part_key = an_xstrdup(key);
        req->up_filename = an_xstrdup(filename);
        free(req->up_type);
        req->up_type = content_type ? an_xstrdup(content_type) : NULL;
    } else if (strcmp(req->part_key, key) != 0 || strcmp(req->up_filename, filename) != 0 ||
               (off == 0 && req->up_size > 0)) {
        req->part_done = true; /* a second file part */
        return MHD_YES;
    }
    if (size > 0) upload_write(req, data, size);
    return req->io_error ? MHD_NO : MHD_YES;
}

static int upload_open(an_http_req *req)
{
    an_buf p = AN_BUF_INIT;
    an_buf_init(&p);
    an_buf_addf(&p, "%s/annot-upload-XXXXXX", req->srv->upload_dir);
    int fd = mkostemp(p.p, O_CLOEXEC);
    if (fd < 0) {
        an_buf_free(&p);
        return -1;
    }
    req->up_fd = fd;
    req->up_path = an_buf_detach(&p);
    const char *ct =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct) req->up_type = an_xstrdup(ct);
    return 0;
}

/* Percent-decodes s in place for libmicrohttpd (paths, query names and values), except that
 * %00 stays as written: a NUL would cut the C string short, so "/a.html%00.png" could be
 * taken for "/a.html". Returns the new length. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    char *w = s;
    for (const char *r = s; *r;) {
        int hi, lo;
        if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 && (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* ---- the request's life ----------------------------------------------------------------- */

static void req_free(an_http_req *req)
{
    if (req->pp) MHD_destroy_post_processor(req->pp);
    if (req->up_fd >= 0) close(req->up_fd);
    if (req->up_path && !req->keep) unlink(req->up_path);
    free(req->up_path);
    free(req->up_filename);
    free(req->up_type);
    free(req->part_key);
    an_buf_free(&req->body);
    an_buf_free(&req->scratch);
    for (size_t i = 0; i < req->n_allocs; i++)
        free(req->allocs[i]);
    free(req->allocs);
    if (req->user && req->user_free) req->user_free(req->user);
    free(req->path);
    free(req);
}

static uint64_t parse_length(const char *s, bool *ok)
{
    uint64_t v = 0;
    *ok = false;
    if (!s) return 0;
    while (*s == ' ')
        s++;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (++digits > 19) return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *ok = digits > 0;
    return v;
}

/* Whether the request carries a body: a length above 0, or one sent in chunks. */
static bool has_body(an_http_req *req, uint64_t content_length)
{
    return content_length > 0 ||
           MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                       MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/* Runs the before hook: MHD_YES to go on, or the hook's own answer sent. */
static enum MHD_Result run_before(an_http_req *req)
{
    an_http_server *s = req->srv;
    an_http_resp resp;
    an_http_resp_init(&resp);
    int r = s->before(req, &resp, s->app);
    if (r < 0) an_http_error(&resp, 500, "internal", "the request could not be checked", NULL);
    enum MHD_Result mr = MHD_YES;
    if (r != 0) mr = send_resp(req, &resp);
    an_http_resp_free(&resp);
    return mr;
}

/* First call: headers are in, the body is not. Picks the route and answers early when it can. */
static enum MHD_Result begin(an_http_req *req)
{
    an_http_server *s = req->srv;
    char *buf = an_xstrdup(req->path);
    char *seg[MAX_SEGMENTS];
    int nseg = split_path(buf, seg);
    const croute *found = NULL;
    for (size_t i = 0; nseg >= 0 && i < s->n_routes && !found; i++) {
        const croute *cr = &s->routes[i];
        if (route_matches(cr, seg, nseg) && method_matches(cr->method, req->method)) found = cr;
    }
    /* Only a 405 needs the methods the path allows: the common case skips building them. */
    char allow[128] = "";
    size_t allow_len = 0;
    for (size_t i = 0; !found && nseg >= 0 && i < s->n_routes; i++) {
        const croute *cr = &s->routes[i];
        if (!route_matches(cr, seg, nseg)) continue;
        /* Allow lists each method once; GET brings HEAD with it. */
        const char *ms[2] = {cr->method, strcmp(cr->method, "GET") == 0 ? "HEAD" : NULL};
        for (int k = 0; k < 2 && ms[k]; k++) {
            size_t ml = strlen(ms[k]);
            bool dup = false;
            for (const char *a = allow; (a = strstr(a, ms[k])) != NULL; a += ml)
                if ((a == allow || a[-1] == ' ') && (a[ml] == ',' || a[ml] == '\0')) dup = true;
            if (dup || allow_len + ml + 2 >= sizeof allow) continue;
            allow_len += (size_t)snprintf(allow + allow_len, sizeof allow - allow_len, "%s%s",
                                          allow_len ? ", " : "", ms[k]);
        }
    }
    if (found) {
        req->kind = K_ROUTE;
        req->route = found;
        req->stat = &s->stats[found - s->routes];
        req->param_val = an_http_alloc(req, found->nseg * sizeof *req->param_val + 1);
        for (size_t i = 0; i < found->nseg; i++)
            if (found->param[i]) {
                size_t len = strlen(seg[i]);
                char *v = an_http_alloc(req, len + 1);
                memcpy(v, seg[i], len);
                req->param_val[i] = v;
            }
    }
    free(buf);
    if (!found) {
        req->stat = &s->stats[s->n_routes + 1];
        req->kind = K_ERROR;
        if (allow_len) {
            an_http_resp resp;
            an_http_resp_init(&resp);
            char msg[200];
            snprintf(msg, sizeof msg, "%s is not allowed here; use %s", req->method, allow);
            an_http_error(&resp, 405, "method_not_allowed", msg, NULL);
            an_http_resp_header(&resp, "Allow", allow, NULL);
            enum MHD_Result r = send_resp(req, &resp);
            an_http_resp_free(&resp);
            return r;
        }
        bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
        if (s->static_dir && get && !is_api(req->path)) {
            req->kind = K_STATIC;
            req->stat = &s->stats[s->n_routes];
            req->max_body = 0;
        } else {
            return send_error(req, 404, "not_found", "no such path; see the API documentation",
                              NULL);
        }
    }
    if (req->kind == K_ROUTE) {
        const an_http_route *r = &found->r;
        req->max_body = r->max_body ? r->max_body
                        : r->upload ? DEFAULT_MAX_UPLOAD
                                    : DEFAULT_MAX_BODY;
    }
    bool ok;
    uint64_t cl = parse_length(
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH),
        &ok);
    if (ok && cl > req->max_body) return send_too_large(req);
    if (req->kind != K_ROUTE) return MHD_YES;

    /* Without a body the handler's call comes at once: the hook waits for it, so that the
     * two run back to back on one thread (and may share a read transaction). */
    req->before_late = s->before && !found->r.upload && !has_body(req, ok ? cl : 0);
    if (s->before && !req->before_late) {
        enum MHD_Result mr = run_before(req);
        if (req->answered || mr != MHD_YES) return mr;
    }
    if (found->r.upload) {
        if (upload_open(req) != 0)
            return send_error(req, 500, "io", "cannot create a temporary file for the upload",
                              NULL);
        const char *ct = req->up_type;
        if (ct && strncasecmp(ct, "multipart/form-data", 19) == 0) {
            req->pp = MHD_create_post_processor(req->conn, 16 * 1024, on_part, req);
            if (!req->pp)
                return send_error(req, 400, "invalid",
                                  "multipart/form-data without a usable boundary", "Content-Type");
            free(req->up_type);
            req->up_type = NULL; /* the part's own type replaces it */
        }
    }
    return MHD_YES;
}

/* Middle calls: a piece of the body. */
static enum MHD_Result consume(an_http_req *req, const char *data, size_t n)
{
    req->received += n;
    if (req->too_large || req->received > req->max_body) {
        if (!req->too_large) {
            req->too_large = true;
            an_buf_free(&req->body);
            if (req->up_fd >= 0 && ftruncate(req->up_fd, 0) != 0) req->io_error = true;
        }
        return req->received - req->max_body > DISCARD_LIMIT ? MHD_NO : MHD_YES;
    }
    if (req->bad_body || req->io_error) return MHD_YES;
    if (req->pp) {
        if (MHD_post_process(req->pp, data, n) != MHD_YES && !req->io_error) req->bad_body = true;
    } else if (req->up_fd >= 0) {
        upload_write(req, data, n);
    } else {
        if (!req->body.p) an_buf_init(&req->body);
        an_buf_add(&req->body, data, n);
    }
    return MHD_YES;
}

static void serve_static(an_http_req *req, an_http_resp *resp)
{
    an_buf rel = AN_BUF_INIT;
    an_buf_init(&rel);
    an_buf_adds(&rel, req->path);
    if (rel.len == 0 || rel.p[rel.len - 1] == '/') an_buf_adds(&rel, "index.html");
    an_err err;
    an_err_clear(&err);
    int rc = an_http_serve_file(resp, req->srv->static_dir, rel.p,
                                an_http_header(req, MHD_HTTP_HEADER_RANGE), &err);
    if (rc == -AN_ENOTFOUND)
        an_http_error(resp, 404, "not_found", "no such file", NULL);
    else if (rc < 0)
        an_http_error(resp, 500, "io", err.msg, NULL);
    an_buf_free(&rel);
}

void an_http_defer(an_http_req *req, an_http_then then, void *ctx)
{
    req->then = then;
    req->then_ctx = ctx;
    req->deferred = true;
    /* Suspended now, inside the access handler (the one place libmicrohttpd allows it), so
     * a resume from the other thread can never come before the suspension. */
    MHD_suspend_connection(req->conn);
}

void an_http_resume(an_http_req *req)
{
    MHD_resume_connection(req->conn);
}

/* Called again after an_http_resume: the deferred work is done, answer now. */
static enum MHD_Result answer_later(an_http_req *req)
{
    req->deferred = false;
    an_http_resp resp;
    an_http_resp_init(&resp);
    int rc = req->then(req, &resp, req->srv->app, req->then_ctx);
    if (rc < 0) {
        an_http_resp_free(&resp);
        an_http_resp_init(&resp);
        an_http_error(&resp, 500, "internal", "the request failed on the server", NULL);
    }
    enum MHD_Result r = send_resp(req, &resp);
    an_http_resp_free(&resp);
    return r;
}

/* Last call: the body is complete. */
static enum MHD_Result finish(an_http_req *req)
{
    if (req->too_large) return send_too_large(req);
    if (req->pp) {
        if (MHD_destroy_post_processor(req->pp) != MHD_YES && !req->io_error) req->bad_body = true;
        req->pp = NULL;
    }
    if (req->io_error)
        return send_error(req, 500, "io", "cannot write the upload to disk; is it full?", NULL);
    if (req->bad_body)
        return send_error(req, 400, "invalid", "the multipart/form-data body is malformed", NULL);
    if (req->up_fd >= 0) {
        close(req->up_fd);
        req->up_fd = -1;
    }
    an_http_resp resp;
    an_http_resp_init(&resp);
    if (req->kind == K_STATIC) {
        serve_static(req, &resp);
    } else {
        if (!req->body.p) an_buf_init(&req->body);
        if (req->before_late) {
            enum MHD_Result mr = run_before(req);
            req->before_late = false;
            if (req->answered || mr != MHD_YES) {
                an_http_resp_free(&resp);
                return mr;
            }
        }
        int rc = req->route->r.fn(req, &resp, req->srv->app);
        if (req->srv->after) req->srv->after(req, req->srv->app);
        if (rc == AN_HTTP_LATER && req->deferred) {
            an_http_resp_free(&resp);
            return MHD_YES; /* answered by answer_later after the resume */
        }
        if (rc < 0) {
            an_http_resp_free(&resp);
            an_http_resp_init(&resp);
            an_http_error(&resp, 500, "internal", "the request failed on the server", NULL);
        }
        /* The handler is done with the upload: remove it now rather than when the connection
         * gets round to finishing the request, so no temp file outlives its answer. */
        if (req->up_path && !req->keep) {
            unlink(req->up_path);
            free(req->up_path);
            req->up_path = NULL;
        }
    }
    enum MHD_Result r = send_resp(req, &resp);
    an_http_resp_free(&resp);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    an_http_server *s = cls;
    an_http_req *req = *con_cls;
    if (!req) {
        req = an_xcalloc(1, sizeof *req);
        req->srv = s;
        req->conn = conn;
        req->method = method;
        req->path = an_xstrdup(url ? url : "");
        req->up_fd = -1;
        req->t0 = an_monotonic();
        an_buf_init(&req->scratch);
        *con_cls = req;
        atomic_fetch_add(&s->in_flight, 1);
        return begin(req);
    }
    if (req->deferred) return answer_later(req);
    if (req->answered) { /* an early answer; drop whatever body still comes */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        enum MHD_Result r = consume(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return r;
    }
    return finish(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    an_http_server *s = cls;
    an_http_req *req = *con_cls;
    if (!req) return;
    *con_cls = NULL;
    /* A request the client gave up on before any answer is not counted: it has no status. */
    if (req->status && req->stat)
        an_http_stat_add(req->stat, req->status, an_monotonic() - req->t0);
    atomic_fetch_sub(&s->in_flight, 1);
    req_free(req);
}

/* ---- the server ------------------------------------------------------------------------- */

static void free_routes(an_http_server *s)
{
    for (size_t i = 0; i < s->n_routes; i++) {
        free(s->routes[i].method);
        free(s->routes[i].pattern);
        for (size_t k = 0; k < s->routes[i].nseg; k++)
            free(s->routes[i].seg[k]);
    }
    free(s->routes);
}

static int compile_route(croute *cr, const an_http_route *r, size_t i, an_err *err)
{
    char where[64];
    snprintf(where, sizeof where, "routes[%zu].method", i);
    if (!r->method || !is_token(r->method))
        return an_err_set(err, AN_EINVAL, where, "a route needs an HTTP method such as GET");
    snprintf(where, sizeof where, "routes[%zu].fn", i);
    if (!r->fn) return an_err_set(err, AN_EINVAL, where, "a route needs a handler");
    snprintf(where, sizeof where, "routes[%zu].pattern", i);
    if (!r->pattern || r->pattern[0] != '/')
        return an_err_set(err, AN_EINVAL, where, "a pattern starts with '/'");
    cr->r = *r;
    cr->method = an_xstrdup(r->method);
    cr->pattern = an_xstrdup(r->pattern);
    cr->r.method = cr->method;
    cr->r.pattern = cr->pattern;
    char *buf = an_xstrdup(r->pattern);
    char *seg[MAX_SEGMENTS];
    int n = split_path(buf, seg);
    if (n < 0) {
        free(buf);
        return an_err_set(err, AN_EINVAL, where, "more than %d segments", MAX_SEGMENTS);
    }
    for (int k = 0; k < n; k++) {
        const char *sg = seg[k];
        size_t len = strlen(sg);
        bool param = len >= 2 && sg[0] == '{' && sg[len - 1] == '}';
        if (param) {
            for (size_t c = 1; c + 1 < len; c++)
                if (!(sg[c] == '_' || (sg[c] >= 'a' && sg[c] <= 'z') ||
                      (sg[c] >= 'A' && sg[c] <= 'Z') || (sg[c] >= '0' && sg[c] <= '9')))
                    param = false, len = 0;
            if (len == 2) len = 0;
        }
        if (len == 0 || (strpbrk(sg, "{}") && !param)) {
            an_err_set(err, AN_EINVAL, where,
                       "segment %d (\"%s\") must be literal text or a whole {name}", k + 1, sg);
            free(buf);
            return -AN_EINVAL;
        }
        cr->param[cr->nseg] = param;
        cr->seg[cr->nseg++] = param ? an_xstrndup(sg + 1, len - 2) : an_xstrdup(sg);
    }
    free(buf);
    return 0;
}

int an_http_start(const an_http_opts *o, an_http_server **out, an_err *err)
{
    *out = NULL;
    an_http_server *s = an_xcalloc(1, sizeof *s);
    s->routes = an_xcalloc(o->n_routes + 1, sizeof *s->routes);
    int rc = 0;
    for (size_t i = 0; i < o->n_routes; i++) {
        rc = compile_route(&s->routes[i], &o->routes[i], i, err);
        s->n_routes = i + 1; /* so free_routes frees what compile_route made */
        if (rc < 0) goto fail;
    }
    s->stats = an_xcalloc(s->n_routes + 2, sizeof *s->stats);
    for (size_t i = 0; i < s->n_routes; i++)
        an_http_stat_init(&s->stats[i], s->routes[i].method, s->routes[i].pattern);
    an_http_stat_init(&s->stats[s->n_routes], "GET", "static");
    an_http_stat_init(&s->stats[s->n_routes + 1], "*", "unmatched");
    atomic_init(&s->in_flight, 0);
    s->app = o->app;
    s->before = o->before;
    s->after = o->after;
    char real[PATH_MAX];
    if (o->static_dir) {
        if (!realpath(o->static_dir, real)) {
            rc = an_err_set(err, AN_EINVAL, o->static_dir, "static folder not found: %s",
                            strerror(errno));
            goto fail;
        }
        s->static_dir = an_xstrdup(real);
    }
    const char *up = o->upload_dir ? o->upload_dir : getenv("TMPDIR");
    if (!up || !*up) up = "/tmp";
    s->upload_dir = an_xstrdup(up);

    const char *host = o->host ? o->host : "127.0.0.1";
    if (o->port < 0 || o->port > 65535) {
        rc = an_err_set(err, AN_EINVAL, "port", "port %d is outside 0..65535", o->port);
        goto fail;
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%d", o->port);
    int gai = getaddrinfo(host, port_text, &hints, &ai);
    if (gai != 0 || !ai) {
        rc = an_err_set(err, AN_EINVAL, "host", "cannot resolve host \"%s\": %s", host,
                        gai_strerror(gai));
        goto fail;
    }
    unsigned threads = o->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
                            o->max_connections ? o->max_connections : 1000u,
                            MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s ? o->timeout_s : 60u,
                            /* Each connection's memory pool holds a request's headers and
                             * read buffer; libmicrohttpd zeroes it for every request, so its
                             * default 32 KiB cost a 32 KiB memset per request (4 % of a GET).
                             * 16 KiB still takes request headers of over 8 KiB. */
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_POOL_BYTES,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->d) {
        rc = an_err_set(err, AN_EIO, "listen",
                        "cannot listen on %s port %d; is the port in use or the address not "
                        "local?",
                        host, o->port);
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    *out = s;
    return 0;
fail:
    free_routes(s);
    free(s->stats);
    free(s->static_dir);
    free(s->upload_dir);
    free(s);
    return rc;
}

int an_http_port(const an_http_server *s)
{
    return s->port;
}

void an_http_stop(an_http_server *s)
{
    if (!s) return;
    MHD_stop_daemon(s->d);
    free_routes(s);
    free(s->stats);
    free(s->static_dir);
    free(s->upload_dir);
    free(s);
}

void an_http_metrics_text(an_http_server *s, an_buf *out)
{
    an_http_stats_text(s->stats, s->n_routes + 2, atomic_load(&s->in_flight), out);
}
