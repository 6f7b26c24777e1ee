/* The HTTP layer of `annot serve`: a libmicrohttpd daemon (epoll, thread pool), a router of
 * method + path patterns onto handler callbacks, body limits, streamed uploads, static files
 * with byte ranges, security headers and Prometheus metrics.
 *
 * This layer knows nothing of projects or the store: the application (the REST API) gives it
 * a table of routes and an opaque `app` pointer and answers requests in its handlers.
 *
 * Threads: handlers and the before hook run on the daemon's pool threads, several at once;
 * everything they share through `app` must be thread-safe. One request is handled by one
 * thread at a time, so an an_http_req needs no locking. The process should ignore SIGPIPE
 * (a client that hangs up during a file download must not kill the server). */
#ifndef AN_SERVER_HTTP_H
#define AN_SERVER_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

typedef struct an_http_req an_http_req;       /* one request; valid until its handler returns */
typedef struct an_http_server an_http_server; /* a running daemon */

/* ---- responses ------------------------------------------------------------------------ */

/* What a handler fills in. The server initialises it (status 200, no body, fd -1) and frees
 * it after sending; handlers use the helpers below rather than the private fields. */
typedef struct an_http_resp {
    int status;             /* HTTP status; 0 is taken as 200 */
    char content_type[128]; /* "" = no Content-Type header */
    an_buf body;            /* sent as is (ignored when fd >= 0) */
    int fd;                 /* file to stream instead of body, or -1; the response owns it */
    uint64_t fd_offset, fd_length;
    an_buf headers_; /* private: extra headers as "name\0value\0" pairs */
} an_http_resp;

/* Prepares resp as the server does (status 200, no body, fd -1), and frees what it holds
 * (closing fd). Handlers never need these; tests of handlers and of an_http_serve_file do. */
void an_http_resp_init(an_http_resp *resp);
void an_http_resp_free(an_http_resp *resp);

/* Adds a response header (Set-Cookie, Location, …); several with the same name are all sent.
 * A Content-Security-Policy or X-Frame-Options set here replaces the server's default one
 * (default-src 'self' …, frame-ancestors 'none'; DENY) instead of adding to it.
 * Returns AN_EINVAL (and adds nothing) when name is empty or not a token, or when value holds
 * CR, LF or NUL: a header built from user input can never split the response. */
int an_http_resp_header(an_http_resp *resp, const char *name, const char *value, an_err *err);

/* Sets status and body to the canonical JSON text of j (an_json_write) with Content-Type
 * application/json, and releases j (json_decref; NULL gives "null"). */
void an_http_json(an_http_resp *resp, int status, json_t *j);

/* Sets status and the body {"error":{"code":code,"message":message,"field":field}}, the one
 * error shape of the API; "field" is left out when field is NULL. */
void an_http_error(an_http_resp *resp, int status, const char *code, const char *message,
                   const char *field);

/* Sets status, Content-Type (NULL = none) and body to a copy of text[0..len). */
void an_http_text(an_http_resp *resp, int status, const char *content_type, const char *text,
                  size_t len);

/* ---- files and byte ranges ------------------------------------------------------------ */

/* Interprets a Range request header for a resource of `size` bytes.
 * Returns 0 when the whole resource should be sent (no header, a unit other than bytes, or
 * several ranges, which this server answers with the whole body as RFC 9110 allows),
 * 1 with [*off, *off + *len) for a single satisfiable range ("bytes=a-b", "bytes=a-",
 * "bytes=-n"; b is clipped to the end), and -1 when the range is malformed or unsatisfiable
 * (answer 416 with "Content-Range: bytes * /size", as nginx does). */
int an_http_range(const char *range_header, uint64_t size, uint64_t *off, uint64_t *len);

/* The Content-Type for a file name by its extension (html, js, mjs, css, svg, png, jpg, gif,
 * webp, json, woff2, txt, mp3, wav, ogg, mp4, webm), or NULL for any other extension. */
const char *an_http_mime_type(const char *name);

/* Fills resp to send the file root/relpath: relpath is a path as it came in a URL (already
 * URL-decoded; a leading '/' is ignored). Refused with AN_ENOTFOUND and resp untouched:
 * a ".." segment, a segment starting with '.', a NUL-free path that resolves (realpath,
 * following symlinks) outside realpath(root), anything but a regular file, or an extension
 * an_http_mime_type does not know. AN_EIO when the file cannot be opened.
 * On success the response is 200 with the whole file, 206 with Content-Range for a single
 * satisfiable range, or 416 with "Content-Range: bytes * /size" (an_http_range), always with
 * Accept-Ranges: bytes; the file is streamed (no copy in memory). range_header may be NULL. */
int an_http_serve_file(an_http_resp *resp, const char *root, const char *relpath,
                       const char *range_header, an_err *err);

/* ---- requests --------------------------------------------------------------------------- */

typedef int (*an_http_handler)(an_http_req *req, an_http_resp *resp, void *app);

typedef struct an_http_route {
    const char *method;  /* "GET", "POST", "PUT", "PATCH", "DELETE"; GET also answers HEAD */
    const char *pattern; /* "/api/tasks/{id}": literal segments and whole-segment {name}s */
    an_http_handler fn;  /* returns 0 with resp filled; < 0 gives a 500 JSON error */
    size_t max_body;     /* bytes; 0 = 1 MiB, or 1 GiB for upload routes */
    bool upload;         /* stream the body to a temp file instead of memory */
    const void *data;    /* the application's own per-route data (e.g. the role it needs) */
} an_http_route;

/* The request method as sent ("HEAD" for a HEAD served by a GET route). */
const char *an_http_method(const an_http_req *req);
/* The URL path, percent-decoded by the daemon, without the query string. */
const char *an_http_path(const an_http_req *req);
/* Whether the before hook now running is followed at once by the handler, on this thread
 * (the request has no body): state the two share then lasts no longer than the request. */
bool an_http_handler_follows(const an_http_req *req);
/* The matched route (NULL for static files and unmatched paths). */
const an_http_route *an_http_route_of(const an_http_req *req);
/* Path parameter {name} of the matched pattern (decoded), or NULL. */
const char *an_http_param(const an_http_req *req, const char *name);
/* Query argument name (decoded), or NULL when absent; "" for "?name" or "?name=". */
const char *an_http_query(const an_http_req *req, const char *name);
/* Request header (name case-insensitive), or NULL. */
const char *an_http_header(const an_http_req *req, const char *name);
/* Cookie value by name, or NULL. */
const char *an_http_cookie(const an_http_req *req, const char *name);
/* Client IP address as text ("127.0.0.1", "::1"); "" when unknown. */
const char *an_http_client_addr(an_http_req *req);

/* The request body held in memory (non-upload routes), NUL-terminated for convenience
 * (it may hold NULs itself: use *len). Empty ("" and 0) when there is none or for uploads. */
const char *an_http_body(const an_http_req *req, size_t *len);

/* Upload routes: the temp file holding the body: the raw body, or for multipart/form-data
 * the content of the first part that has a filename (empty when there is none). The file is
 * deleted when the request ends unless the handler calls an_http_upload_keep (after renaming
 * or linking it away, say). NULL for non-upload routes. */
const char *an_http_upload_path(const an_http_req *req);
uint64_t an_http_upload_size(const an_http_req *req);
/* The multipart part's filename (as the client sent it: untrusted), or NULL. */
const char *an_http_upload_filename(const an_http_req *req);
/* The part's Content-Type for multipart, else the request's Content-Type; may be NULL. */
const char *an_http_upload_type(const an_http_req *req);
void an_http_upload_keep(an_http_req *req);

/* Request-scoped memory: n bytes (zeroed) freed when the request ends. Aborts on OOM. */
void *an_http_alloc(an_http_req *req, size_t n);
/* A request-scoped scratch buffer (empty at first), freed when the request ends. */
an_buf *an_http_scratch(an_http_req *req);

/* The application's slot, NULL at first: the before hook sets it (the signed-in user, say)
 * and handlers read it. free_fn (may be NULL) is called on it when the request ends. */
void an_http_set_user(an_http_req *req, void *user, void (*free_fn)(void *));
void *an_http_user(const an_http_req *req);

/* ---- answering later --------------------------------------------------------------------- */

/* A handler that hands its request's work to another thread (the write batcher, say) calls
 * an_http_defer before handing it over and returns AN_HTTP_LATER without filling resp. The
 * connection is then suspended — no reads, no timeout — until the other thread calls
 * an_http_resume(req); then `then` runs on a pool thread and answers as a handler would
 * (its return value as a handler's). Until resume, req and ctx belong to the other thread;
 * every deferred request must be resumed before an_http_stop. */
#define AN_HTTP_LATER 1
typedef int (*an_http_then)(an_http_req *req, an_http_resp *resp, void *app, void *ctx);
void an_http_defer(an_http_req *req, an_http_then then, void *ctx);
void an_http_resume(an_http_req *req);

/* ---- the server ------------------------------------------------------------------------ */

/* Called for each request that matched a route: for a request with a body (and for every
 * upload route), after its headers arrive and before the body is read, so a refused upload
 * is never received; for one without, right before its handler, in the same call on the same
 * thread (an_http_handler_follows says which). Returns 0 to go on to the handler, 1 when it
 * answered itself in resp (a 401, say), or < 0 for a 500 JSON error. */
typedef int (*an_http_before_fn)(an_http_req *req, an_http_resp *resp, void *app);
/* Called right after a handler returns (also when it deferred its answer), on its thread. */
typedef void (*an_http_after_fn)(an_http_req *req, void *app);

typedef struct an_http_opts {
    const char *host;            /* address to bind (numeric or a name); NULL = "127.0.0.1" */
    int port;                    /* 0 = any free port (see an_http_port) */
    unsigned threads;            /* pool threads; 0 = number of online cores */
    const an_http_route *routes; /* copied by an_http_start; first match in table order wins */
    size_t n_routes;
    void *app;                /* passed to handlers and the hook */
    an_http_before_fn before; /* may be NULL */
    an_http_after_fn after;   /* may be NULL */
    const char *static_dir;   /* GET/HEAD of unrouted non-/api paths serve files under it
                                 (an_http_serve_file); a path ending in '/' gives its
                                 index.html. The before hook is not called. NULL = none */
    const char *upload_dir;   /* temp files of upload routes; NULL = $TMPDIR or /tmp */
    unsigned max_connections; /* 0 = 1000 */
    unsigned timeout_s;       /* idle connection timeout; 0 = 60 */
} an_http_opts;

/* Starts listening and serving in background threads. Errors: AN_EINVAL for bad options or
 * route patterns (where = "routes[i].pattern", …), AN_EIO when the address cannot be bound. */
int an_http_start(const an_http_opts *opts, an_http_server **out, an_err *err);

/* The port actually listened on (useful with port 0). */
int an_http_port(const an_http_server *s);

/* Stops accepting, finishes or drops open connections, joins the threads and frees s. */
void an_http_stop(an_http_server *s);

/* Appends the Prometheus text exposition of the server's metrics to out:
 *   annot_http_requests_total{method,route,code="2xx"}  counter
 *   annot_http_request_seconds{method,route}            histogram (_bucket{le}, _sum, _count)
 *   annot_http_requests_in_flight                       gauge
 * route is the matched pattern, "static" for static files, "unmatched" for 404/405, so the
 * label set stays bounded whatever paths clients try. Thread-safe. */
void an_http_metrics_text(an_http_server *s, an_buf *out);

#endif
