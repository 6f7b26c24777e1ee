/* server/http: a real daemon on a free loopback port, driven by libcurl and raw sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "server/http.h"
#include "testlib.h"

/* ---- the application under test ---------------------------------------------------------- */

static an_http_server *g_srv;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_last_upload[1024]; /* temp path the last upload handler saw */

static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}
#define FNV_INIT 14695981039346656037ULL

static int h_task(an_http_req *req, an_http_resp *resp, void *app)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(an_http_param(req, "id")));
    const char *q = an_http_query(req, "q");
    json_object_set_new(o, "q", q ? json_string(q) : json_null());
    json_object_set_new(o, "method", json_string(an_http_method(req)));
    json_object_set_new(o, "addr", json_string(an_http_client_addr(req)));
    an_http_json(resp, 200, o);
    return 0;
}

static int h_task_delete(an_http_req *req, an_http_resp *resp, void *app)
{
    resp->status = 204;
    return 0;
}

static int h_nested(an_http_req *req, an_http_resp *resp, void *app)
{
    an_buf *b = an_http_scratch(req);
    an_buf_addf(b, "%s/%s", an_http_param(req, "pid"), an_http_param(req, "tid"));
    an_http_text(resp, 200, "text/plain; charset=utf-8", b->p, b->len);
    return 0;
}

static int h_echo(an_http_req *req, an_http_resp *resp, void *app)
{
    size_t len;
    const char *body = an_http_body(req, &len);
    an_http_text(resp, 200, "application/octet-stream", body, len);
    an_err err;
    assert_int_equal(an_http_resp_header(resp, "Set-Cookie", "a=1; HttpOnly", &err), 0);
    assert_int_equal(an_http_resp_header(resp, "X-Bad", "x\r\nInjected: 1", &err), -AN_EINVAL);
    assert_int_equal(an_http_resp_header(resp, "Bad Name", "x", &err), -AN_EINVAL);
    return 0;
}

static int h_invalid(an_http_req *req, an_http_resp *resp, void *app)
{
    an_http_error(resp, 422, "invalid", "name \"x\" is taken", "name");
    return 0;
}

static int h_fail(an_http_req *req, an_http_resp *resp, void *app)
{
    an_http_text(resp, 200, "text/plain", "half", 4);
    return -AN_EINTERNAL;
}

static int h_upload(an_http_req *req, an_http_resp *resp, void *app)
{
    const char *path = an_http_upload_path(req);
    assert_non_null(path);
    pthread_mutex_lock(&g_lock);
    snprintf(g_last_upload, sizeof g_last_upload, "%s", path);
    pthread_mutex_unlock(&g_lock);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint64_t h = FNV_INIT, n = 0;
    unsigned char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
        h = fnv1a(h, buf, k);
        n += k;
    }
    fclose(f);
    assert_int_equal(n, an_http_upload_size(req));
    json_t *o = json_object();
    json_object_set_new(o, "size", json_integer((json_int_t)n));
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
    json_object_set_new(o, "fnv", json_string(hex));
    const char *fn = an_http_upload_filename(req), *ty = an_http_upload_type(req);
    json_object_set_new(o, "filename", fn ? json_string(fn) : json_null());
    json_object_set_new(o, "type", ty ? json_string(ty) : json_null());
    size_t blen;
    an_http_body(req, &blen);
    json_object_set_new(o, "body_len", json_integer((json_int_t)blen));
    an_http_json(resp, 201, o);
    return 0;
}

static int h_whoami(an_http_req *req, an_http_resp *resp, void *app)
{
    const char *u = an_http_user(req);
    an_http_text(resp, 200, "text/plain", u ? u : "-", u ? strlen(u) : 1);
    return 0;
}

static int h_metrics(an_http_req *req, an_http_resp *resp, void *app)
{
    an_buf b = AN_BUF_INIT;
    an_buf_init(&b);
    an_http_metrics_text(g_srv, &b);
    an_http_text(resp, 200, "text/plain; version=0.0.4", b.p, b.len);
    an_buf_free(&b);
    return 0;
}

static const char NEEDS_TOKEN[] = "token";

/* What the before hook last let through on this thread, and whether it was told that the
 * handler follows at once. */
static __thread an_http_req *tl_checked;
static __thread bool tl_follows;
static atomic_int g_after_calls;

/* Routes marked NEEDS_TOKEN require "X-Token: secret"; the user slot then holds a name. */
static int before(an_http_req *req, an_http_resp *resp, void *app)
{
    assert_ptr_equal(app, &g_srv);
    const an_http_route *r = an_http_route_of(req);
    assert_non_null(r);
    if (r->data != NEEDS_TOKEN) return 0;
    const char *t = an_http_header(req, "x-token");
    if (!t || strcmp(t, "secret") != 0) {
        an_http_error(resp, 401, "unauthorized", "sign in first", NULL);
        return 1;
    }
    an_http_set_user(req, an_xstrdup("alice"), free);
    tl_checked = req;
    tl_follows = an_http_handler_follows(req);
    return 0;
}

/* The after hook: counts the handlers it followed and forgets the before hook's request. */
static void after(an_http_req *req, void *app)
{
    assert_ptr_equal(app, &g_srv);
    (void)req;
    atomic_fetch_add(&g_after_calls, 1);
    tl_checked = NULL;
}

/* Says whether the before hook ran just before it on this thread, for this request, and
 * whether the hook was told so. */
static int h_order(an_http_req *req, an_http_resp *resp, void *app)
{
    (void)app;
    char text[64];
    int n = snprintf(text, sizeof text, "follows=%d adjacent=%d", tl_follows ? 1 : 0,
                     tl_checked == req ? 1 : 0);
    an_http_text(resp, 200, "text/plain", text, (size_t)n);
    return 0;
}

/* ---- answering later: requests handed to a "writer" thread that resumes them in batches */

typedef struct later {
    an_http_req *req;
    char id[64];
    struct later *next;
} later;

static pthread_mutex_t g_later_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_later_cv = PTHREAD_COND_INITIALIZER;
static later *g_later_head;
static int g_later_queued, g_later_max_batch;
static bool g_later_stop;

static int h_later_then(an_http_req *req, an_http_resp *resp, void *app, void *ctx)
{
    later *l = ctx;
    json_t *o = json_object();
    json_object_set_new(o, "later", json_string(l->id));
    an_http_json(resp, 200, o);
    return 0;
}

static int h_later(an_http_req *req, an_http_resp *resp, void *app)
{
    later *l = an_http_alloc(req, sizeof *l);
    l->req = req;
    snprintf(l->id, sizeof l->id, "%s", an_http_param(req, "id"));
    pthread_mutex_lock(&g_later_mu);
    an_http_defer(req, h_later_then, l);
    l->next = g_later_head;
    g_later_head = l;
    g_later_queued++;
    pthread_cond_signal(&g_later_cv);
    pthread_mutex_unlock(&g_later_mu);
    return AN_HTTP_LATER;
}

/* Waits until 6 requests are queued (or 30 ms pass), then resumes them all, newest first. */
static void *later_resumer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_later_mu);
    while (!g_later_stop || g_later_head) {
        if (g_later_queued < 6 && !g_later_stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 30 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&g_later_cv, &g_later_mu, &ts);
        }
        later *batch = g_later_head;
        if (g_later_queued > g_later_max_batch) g_later_max_batch = g_later_queued;
        g_later_head = NULL;
        g_later_queued = 0;
        pthread_mutex_unlock(&g_later_mu);
        for (later *l = batch, *next; l; l = next) {
            next = l->next; /* l is freed with its request once resumed */
            an_http_resume(l->req);
        }
        pthread_mutex_lock(&g_later_mu);
    }
    pthread_mutex_unlock(&g_later_mu);
    return NULL;
}

static const an_http_route routes[] = {
    {"GET", "/api/later/{id}", h_later, 0, false, NULL},
    {"GET", "/api/tasks/{id}", h_task, 0, false, NULL},
    {"DELETE", "/api/tasks/{id}", h_task_delete, 0, false, NULL},
    {"GET", "/api/projects/{pid}/tasks/{tid}", h_nested, 0, false, NULL},
    {"POST", "/api/echo", h_echo, 1000, false, NULL},
    {"POST", "/api/invalid", h_invalid, 0, false, NULL},
    {"GET", "/api/fail", h_fail, 0, false, NULL},
    {"POST", "/api/upload", h_upload, 64u << 20, true, NULL},
    {"PUT", "/api/private/upload", h_upload, 64u << 20, true, NEEDS_TOKEN},
    {"GET", "/api/whoami", h_whoami, 0, false, NEEDS_TOKEN},
    {"GET", "/api/order", h_order, 0, false, NEEDS_TOKEN},
    {"POST", "/api/order", h_order, 1000, false, NEEDS_TOKEN},
    {"GET", "/metrics", h_metrics, 0, false, NULL},
};

static char g_www[1200];
static char g_secret[1200];
static unsigned char g_media[1000];

static int setup(void **state)
{
    if (tl_setup(state) != 0) return -1;
    snprintf(g_www, sizeof g_www, "%s/www", tl_dir());
    tl_make_dir("www");
    tl_make_dir("www/sub");
    tl_make_dir("uploads");
    tl_write_file("www/index.html", "<!doctype html><title>annot</title>");
    tl_write_file("www/app.js", "export const x = 1;\n");
    tl_write_file("www/style.css", "body{}\n");
    tl_write_file("www/sub/index.html", "<p>sub</p>");
    tl_write_file("www/.hidden.json", "{\"hidden\":true}");
    tl_write_file("www/notes.conf", "unknown type");
    for (size_t i = 0; i < sizeof g_media; i++)
        g_media[i] = (unsigned char)(i * 7 + 3);
    tl_write_bytes("www/clip.mp3", g_media, sizeof g_media);
    snprintf(g_secret, sizeof g_secret, "%s", tl_write_file("secret.json", "{\"TOPSECRET\":1}"));
    tl_write_file("www-evil.json", "{\"TOPSECRET\":2}"); /* shares the root's prefix */
    if (symlink(g_secret, tl_path("www/link.json")) != 0) return -1;
    if (symlink("..", tl_path("www/up")) != 0) return -1;

    an_http_opts o = {0};
    o.port = 0;
    o.threads = 4;
    o.routes = routes;
    o.n_routes = sizeof routes / sizeof routes[0];
    o.app = &g_srv;
    o.before = before;
    o.after = after;
    o.static_dir = g_www;
    o.upload_dir = tl_path("uploads");
    an_err err;
    an_err_clear(&err);
    if (an_http_start(&o, &g_srv, &err) != 0) {
        fprintf(stderr, "start: %s: %s\n", err.where, err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    an_http_stop(g_srv);
    g_srv = NULL;
    return tl_teardown(state);
}

/* ---- a small client ------------------------------------------------------------------------ */

typedef struct reply {
    long status;
    an_buf body;
    an_buf headers; /* raw header block */
} reply;

typedef struct source { /* a generated request body of n bytes */
    uint64_t n, sent;
} source;

static unsigned char gen_byte(uint64_t i)
{
    return (unsigned char)((i * 2654435761u) >> 13);
}

static size_t read_source(char *buf, size_t size, size_t nitems, void *ud)
{
    source *s = ud;
    size_t n = size * nitems;
    if (n > s->n - s->sent) n = (size_t)(s->n - s->sent);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)gen_byte(s->sent + i);
    s->sent += n;
    return n;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    an_buf_add(ud, p, size * n);
    return size * n;
}

static void reply_free(reply *r)
{
    an_buf_free(&r->body);
    an_buf_free(&r->headers);
}

/* Value of header name in r (first one), copied into out; false when absent. */
static bool reply_header(const reply *r, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *l = r->headers.p; l && *l;) {
        const char *e = strstr(l, "\r\n");
        size_t ll = e ? (size_t)(e - l) : strlen(l);
        if (ll > nl && strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
            const char *v = l + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = ll - (size_t)(v - l);
            if (vl >= cap) vl = cap - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
        if (!e) break;
        l = e + 2;
    }
    return false;
}

typedef struct call {
    const char *method;
    const char *path;
    const char *body; /* or */
    source *src;      /* a generated body */
    size_t body_len;
    const char *headers[6];
    curl_mime *mime;
} call;

static void do_call(const call *c, reply *r)
{
    memset(r, 0, sizeof *r);
    an_buf_init(&r->body);
    an_buf_init(&r->headers);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    char url[2048];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", an_http_port(g_srv), c->path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* send "../" as written */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    const char *m = c->method ? c->method : "GET";
    if (strcmp(m, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (strcmp(m, "GET") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    if (c->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len);
    } else if (c->src) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_source);
        curl_easy_setopt(h, CURLOPT_READDATA, c->src);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)c->src->n);
    } else if (c->mime) {
        curl_easy_setopt(h, CURLOPT_MIMEPOST, c->mime);
    }
    struct curl_slist *hl = NULL;
    for (int i = 0; i < 6 && c->headers[i]; i++)
        hl = curl_slist_append(hl, c->headers[i]);
    if (hl) curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) fail_msg("%s %s: %s", m, c->path, curl_easy_strerror(rc));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
}

static void get(const char *path, reply *r)
{
    call c = {.path = path};
    do_call(&c, r);
}

/* Asserts body is exactly the API's error shape with this code, and returns nothing. */
static void assert_error(const reply *r, long status, const char *code)
{
    assert_int_equal(r->status, status);
    an_err err;
    json_t *j = an_json_parse(r->body.p, r->body.len, "reply", &err);
    if (!j) fail_msg("not JSON: %s", r->body.p);
    assert_int_equal(json_object_size(j), 1);
    json_t *e = json_object_get(j, "error");
    assert_true(json_is_object(e));
    assert_string_equal(an_json_str(e, "code"), code);
    assert_non_null(an_json_str(e, "message"));
    json_decref(j);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_routes_and_params(void **state)
{
    reply r;
    get("/api/tasks/42?q=caf%C3%A9+au%20lait&other=1", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.p, "{\"id\":\"42\",\"q\":\"caf\xc3\xa9 au lait\",\"method\":\"GET\","
                                  "\"addr\":\"127.0.0.1\"}");
    char v[256];
    assert_true(reply_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "application/json");
    reply_free(&r);

    get("/api/tasks/a%20b", &r); /* parameters arrive decoded */
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.p, "\"id\":\"a b\""));
    assert_non_null(strstr(r.body.p, "\"q\":null"));
    reply_free(&r);

    get("/api/projects/7/tasks/9", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.p, "7/9");
    reply_free(&r);

    call del = {.method = "DELETE", .path = "/api/tasks/5"};
    do_call(&del, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body.len, 0);
    reply_free(&r);

    /* HEAD on a GET route: same headers, no body */
    call head = {.method = "HEAD", .path = "/api/tasks/42"};
    do_call(&head, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    assert_true(reply_header(&r, "Content-Length", v, sizeof v));
    assert_true(atoi(v) > 10);
    reply_free(&r);

    /* empty parameter, extra and missing segments do not match */
    const char *misses[] = {"/api/tasks/", "/api/tasks", "/api/tasks/1/2", "/api/projects/7/tasks",
                            "/api",        "/api/",      "/API/tasks/1"};
    for (size_t i = 0; i < sizeof misses / sizeof *misses; i++) {
        get(misses[i], &r);
        assert_error(&r, 404, "not_found");
        reply_free(&r);
    }
}

static void test_404_405_and_error_shape(void **state)
{
    reply r;
    get("/api/nope", &r);
    assert_error(&r, 404, "not_found");
    assert_null(strstr(r.body.p, "\"field\""));
    char v[256];
    assert_true(reply_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "application/json");
    reply_free(&r);

    call post = {.method = "POST", .path = "/api/tasks/1", .body = "{}", .body_len = 2};
    do_call(&post, &r);
    assert_error(&r, 405, "method_not_allowed");
    assert_true(reply_header(&r, "Allow", v, sizeof v));
    assert_string_equal(v, "GET, HEAD, DELETE");
    reply_free(&r);

    call put = {.method = "PUT", .path = "/api/echo"};
    do_call(&put, &r);
    assert_error(&r, 405, "method_not_allowed");
    assert_true(reply_header(&r, "Allow", v, sizeof v));
    assert_string_equal(v, "POST");
    reply_free(&r);

    /* the exact shape, field included */
    call inv = {.method = "POST", .path = "/api/invalid", .body = "x", .body_len = 1};
    do_call(&inv, &r);
    assert_int_equal(r.status, 422);
    assert_string_equal(r.body.p,
                        "{\"error\":{\"code\":\"invalid\",\"message\":\"name \\\"x\\\" is taken\","
                        "\"field\":\"name\"}}");
    reply_free(&r);

    /* a failing handler's half-made response is replaced by a 500 */
    get("/api/fail", &r);
    assert_error(&r, 500, "internal");
    reply_free(&r);
}

static void test_body_limit(void **state)
{
    char body[2000];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)('a' + i % 26);
    body[10] = '\0'; /* bodies are bytes, NULs included */
    reply r;
    call ok = {.method = "POST", .path = "/api/echo", .body = body, .body_len = 1000};
    do_call(&ok, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 1000);
    assert_memory_equal(r.body.p, body, 1000);
    char v[256];
    assert_true(reply_header(&r, "Set-Cookie", v, sizeof v));
    assert_string_equal(v, "a=1; HttpOnly");
    assert_false(reply_header(&r, "Injected", v, sizeof v));
    assert_false(reply_header(&r, "X-Bad", v, sizeof v));
    reply_free(&r);

    /* over the limit by Content-Length: refused before the body is read */
    call big = {.method = "POST", .path = "/api/echo", .body = body, .body_len = 1001};
    do_call(&big, &r);
    assert_error(&r, 413, "too_large");
    reply_free(&r);

    /* over the limit in a chunked body, where the size is not known in advance */
    source src = {.n = 5000};
    call chunked = {.method = "POST",
                    .path = "/api/echo",
                    .src = &src,
                    .headers = {"Transfer-Encoding: chunked"}};
    do_call(&chunked, &r);
    assert_error(&r, 413, "too_large");
    reply_free(&r);

    /* a huge declared body on a memory route */
    source huge = {.n = (uint64_t)1 << 40};
    call h = {.method = "POST", .path = "/api/echo", .src = &huge};
    do_call(&h, &r);
    assert_error(&r, 413, "too_large");
    assert_true(huge.sent < ((uint64_t)1 << 20));
    reply_free(&r);
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void assert_upload_gone(void)
{
    struct stat st;
    char path[sizeof g_last_upload];
    /* Copy under the lock, assert outside it: a failed assertion jumps out of the test and
     * must not leave the lock held for the handlers of later tests. */
    pthread_mutex_lock(&g_lock);
    memcpy(path, g_last_upload, sizeof path);
    pthread_mutex_unlock(&g_lock);
    assert_true(path[0] != '\0');
    assert_int_not_equal(stat(path, &st), 0); /* removed before the answer was sent */
    assert_non_null(strstr(path, "/uploads/annot-upload-"));
}

static void test_upload_streams_to_file(void **state)
{
    const uint64_t n = 20u << 20;
    uint64_t h = FNV_INIT;
    for (uint64_t i = 0; i < n; i++) {
        unsigned char b = gen_byte(i);
        h = fnv1a(h, &b, 1);
    }
    char want[64];
    snprintf(want, sizeof want, "\"fnv\":\"%016llx\"", (unsigned long long)h);

    long rss0 = max_rss_kb();
    source src = {.n = n};
    call c = {.method = "POST",
              .path = "/api/upload",
              .src = &src,
              .headers = {"Content-Type: application/octet-stream"}};
    reply r;
    do_call(&c, &r);
    long grew_kb = max_rss_kb() - rss0;
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(r.body.p, "\"size\":20971520"));
    assert_non_null(strstr(r.body.p, want));
    assert_non_null(strstr(r.body.p, "\"type\":\"application/octet-stream\""));
    assert_non_null(strstr(r.body.p, "\"body_len\":0"));
    /* The 20 MiB body went to disk: peak memory grew by far less than the body. */
    if (grew_kb >= 8 * 1024) fail_msg("peak RSS grew by %ld KiB during a 20 MiB upload", grew_kb);
    reply_free(&r);
    assert_upload_gone();

    /* chunked raw body */
    source ch = {.n = 300000};
    call cc = {.method = "POST",
               .path = "/api/upload",
               .src = &ch,
               .headers = {"Transfer-Encoding: chunked", "Content-Type: text/plain"}};
    do_call(&cc, &r);
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(r.body.p, "\"size\":300000"));
    reply_free(&r);
}

static void test_upload_multipart(void **state)
{
    size_t n = 3u << 20;
    char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)gen_byte(i);
    /* the boundary text inside the file content must not cut it */
    memcpy(data + 1000, "\r\n--", 4);
    char want[64];
    snprintf(want, sizeof want, "\"fnv\":\"%016llx\"",
             (unsigned long long)fnv1a(FNV_INIT, (unsigned char *)data, n));

    CURL *dummy = curl_easy_init();
    curl_mime *mime = curl_mime_init(dummy);
    curl_mimepart *p = curl_mime_addpart(mime);
    curl_mime_name(p, "note");
    curl_mime_data(p, "a form field before the file", CURL_ZERO_TERMINATED);
    p = curl_mime_addpart(mime);
    curl_mime_name(p, "file");
    curl_mime_filename(p, "clip one.wav");
    curl_mime_type(p, "audio/wav");
    curl_mime_data(p, data, n);
    p = curl_mime_addpart(mime);
    curl_mime_name(p, "second");
    curl_mime_filename(p, "other.bin");
    curl_mime_data(p, "SECOND FILE", CURL_ZERO_TERMINATED);

    call c = {.method = "POST", .path = "/api/upload", .mime = mime};
    reply r;
    do_call(&c, &r);
    assert_int_equal(r.status, 201);
    char sz[64];
    snprintf(sz, sizeof sz, "\"size\":%zu", n);
    assert_non_null(strstr(r.body.p, sz));
    assert_non_null(strstr(r.body.p, want));
    assert_non_null(strstr(r.body.p, "\"filename\":\"clip one.wav\""));
    assert_non_null(strstr(r.body.p, "\"type\":\"audio/wav\""));
    reply_free(&r);
    assert_upload_gone();
    curl_mime_free(mime);
    curl_easy_cleanup(dummy);
    free(data);

    /* multipart without a boundary */
    call nb = {.method = "POST",
               .path = "/api/upload",
               .body = "x",
               .body_len = 1,
               .headers = {"Content-Type: multipart/form-data"}};
    do_call(&nb, &r);
    assert_error(&r, 400, "invalid");
    reply_free(&r);

    /* over an upload route's limit */
    source big = {.n = (uint64_t)65 << 20};
    call b = {.method = "POST", .path = "/api/upload", .src = &big};
    do_call(&b, &r);
    assert_error(&r, 413, "too_large");
    reply_free(&r);
}

static void test_before_hook(void **state)
{
    reply r;
    get("/api/whoami", &r);
    assert_error(&r, 401, "unauthorized");
    reply_free(&r);

    call ok = {.path = "/api/whoami", .headers = {"X-Token: secret"}};
    do_call(&ok, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.p, "alice");
    reply_free(&r);

    /* an unauthorised upload is refused before its body is read */
    pthread_mutex_lock(&g_lock);
    g_last_upload[0] = '\0';
    pthread_mutex_unlock(&g_lock);
    source src = {.n = 50u << 20};
    call up = {.method = "PUT", .path = "/api/private/upload", .src = &src};
    do_call(&up, &r);
    assert_error(&r, 401, "unauthorized");
    assert_true(src.sent < (8u << 20));
    assert_string_equal(g_last_upload, "");
    reply_free(&r);

    /* Without a body the hook runs right before the handler, on its thread, and is told so;
     * with one it runs when the headers arrive. The after hook follows every handler that
     * ran, and no refused request. */
    int calls = atomic_load(&g_after_calls);
    call order = {.path = "/api/order", .headers = {"X-Token: secret"}};
    do_call(&order, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.p, "follows=1 adjacent=1");
    reply_free(&r);
    call posted = {.method = "POST",
                   .path = "/api/order",
                   .body = "{\"a\":1}",
                   .body_len = 7,
                   .headers = {"X-Token: secret", "Content-Type: application/json"}};
    do_call(&posted, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.p, "follows=0"));
    reply_free(&r);
    assert_int_equal(atomic_load(&g_after_calls), calls + 2);
    get("/api/order", &r);
    assert_error(&r, 401, "unauthorized");
    reply_free(&r);
    assert_int_equal(atomic_load(&g_after_calls), calls + 2);
}

static void test_static_files(void **state)
{
    reply r;
    char v[256];
    get("/", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.p, "<!doctype html><title>annot</title>");
    assert_true(reply_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "text/html; charset=utf-8");
    assert_false(reply_header(&r, "Cache-Control", v, sizeof v));
    reply_free(&r);

    get("/app.js", &r);
    assert_int_equal(r.status, 200);
    assert_true(reply_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "text/javascript; charset=utf-8");
    reply_free(&r);

    get("/style.css", &r);
    assert_true(reply_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "text/css; charset=utf-8");
    reply_free(&r);

    get("/sub/", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.p, "<p>sub</p>");
    reply_free(&r);

    call head = {.method = "HEAD", .path = "/index.html"};
    do_call(&head, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    assert_true(reply_header(&r, "Content-Length", v, sizeof v));
    assert_string_equal(v, "35");
    reply_free(&r);

    /* Everything that tries to leave the root, hide in it or name an unknown type: 404. */
    const char *refused[] = {
        "/../secret.json",
        "/%2e%2e/secret.json",
        "/%2E%2E/secret.json",
        "/..%2fsecret.json",
        "/sub/../../secret.json",
        "/sub/%2e%2e/%2e%2e/secret.json",
        "/link.json",
        "/up/secret.json",
        "/up/www-evil.json",
        "/../www-evil.json",
        "/.hidden.json",
        "/sub/./index.html",
        "/notes.conf",
        "/missing.html",
        "/sub",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/index.html%00.png",
        "/..\\secret.json",
        "/sub/..%5c..%5csecret.json",
        "/sub%2f..%2f..%2fsecret.json",
        "/%00/../secret.json",
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        get(refused[i], &r);
        if (r.status != 404) fail_msg("%s gave %ld: %s", refused[i], r.status, r.body.p);
        assert_error(&r, 404, "not_found");
        assert_null(strstr(r.body.p, "TOPSECRET"));
        reply_free(&r);
    }

    /* unknown /api paths never fall through to static files */
    get("/api/index.html", &r);
    assert_error(&r, 404, "not_found");
    reply_free(&r);

    /* POST to a static path is not a static request */
    call post = {.method = "POST", .path = "/index.html", .body = "x", .body_len = 1};
    do_call(&post, &r);
    assert_error(&r, 404, "not_found");
    reply_free(&r);
}

static void test_range_parse(void **state)
{
    uint64_t off = 99, len = 99;
    assert_int_equal(an_http_range(NULL, 100, &off, &len), 0);
    assert_int_equal(an_http_range("bytes=0-9", 100, &off, &len), 1);
    assert_true(off == 0 && len == 10);
    assert_int_equal(an_http_range("bytes=90-", 100, &off, &len), 1);
    assert_true(off == 90 && len == 10);
    assert_int_equal(an_http_range("bytes=90-500", 100, &off, &len), 1);
    assert_true(off == 90 && len == 10);
    assert_int_equal(an_http_range("bytes=-30", 100, &off, &len), 1);
    assert_true(off == 70 && len == 30);
    assert_int_equal(an_http_range("bytes=-300", 100, &off, &len), 1);
    assert_true(off == 0 && len == 100);
    assert_int_equal(an_http_range(" bytes=5-5 ", 100, &off, &len), 1);
    assert_true(off == 5 && len == 1);
    assert_int_equal(an_http_range("bytes=0-1,5-6", 100, &off, &len), 0);
    assert_int_equal(an_http_range("items=0-1", 100, &off, &len), 0);
    const char *bad[] = {"bytes=100-", "bytes=100-200",
                         "bytes=5-2",  "bytes=abc",
                         "bytes=",     "bytes=-0",
                         "bytes=-",    "bytes 0-1",
                         "bytes=1-2x", "bytes=99999999999999999999-",
                         "bytes=0--1", "bytes=5 - 5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (an_http_range(bad[i], 100, &off, &len) != -1) fail_msg("accepted %s", bad[i]);
    assert_int_equal(an_http_range("bytes=0-", 0, &off, &len), -1); /* an empty file */
    assert_int_equal(an_http_range("bytes=18446744073709551614-", UINT64_MAX, &off, &len), 1);
    assert_true(off == UINT64_MAX - 1 && len == 1);
    assert_int_equal(an_http_range("bytes=18446744073709551616-", UINT64_MAX, &off, &len), -1);
}

static void test_range_requests(void **state)
{
    reply r;
    char v[256];
    call c = {.path = "/clip.mp3", .headers = {"Range: bytes=100-199"}};
    do_call(&c, &r);
    assert_int_equal(r.status, 206);
    assert_int_equal(r.body.len, 100);
    assert_memory_equal(r.body.p, g_media + 100, 100);
    assert_true(reply_header(&r, "Content-Range", v, sizeof v));
    assert_string_equal(v, "bytes 100-199/1000");
    assert_true(reply_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "audio/mpeg");
    assert_true(reply_header(&r, "Accept-Ranges", v, sizeof v));
    assert_string_equal(v, "bytes");
    reply_free(&r);

    call tail = {.path = "/clip.mp3", .headers = {"Range: bytes=-10"}};
    do_call(&tail, &r);
    assert_int_equal(r.status, 206);
    assert_int_equal(r.body.len, 10);
    assert_memory_equal(r.body.p, g_media + 990, 10);
    reply_free(&r);

    call whole = {.path = "/clip.mp3"};
    do_call(&whole, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 1000);
    assert_memory_equal(r.body.p, g_media, 1000);
    reply_free(&r);

    const char *bad[] = {"Range: bytes=1000-", "Range: bytes=abc", "Range: bytes=9-3"};
    for (size_t i = 0; i < 3; i++) {
        call b = {.path = "/clip.mp3", .headers = {bad[i]}};
        do_call(&b, &r);
        assert_error(&r, 416, "range_not_satisfiable");
        assert_true(reply_header(&r, "Content-Range", v, sizeof v));
        assert_string_equal(v, "bytes */1000");
        reply_free(&r);
    }

    /* an_http_serve_file straight, as a media route will call it */
    an_http_resp resp;
    an_http_resp_init(&resp);
    an_err err;
    assert_int_equal(an_http_serve_file(&resp, g_www, "clip.mp3", "bytes=1-2", &err), 0);
    assert_int_equal(resp.status, 206);
    assert_true(resp.fd >= 0 && resp.fd_offset == 1 && resp.fd_length == 2);
    close(resp.fd);
    resp.fd = -1;
    assert_int_equal(an_http_serve_file(&resp, g_www, "../secret.json", NULL, &err), -AN_ENOTFOUND);
    assert_int_equal(an_http_serve_file(&resp, g_www, "link.json", NULL, &err), -AN_ENOTFOUND);
    assert_int_equal(resp.fd, -1);
    assert_int_equal(resp.status, 206); /* a refusal leaves resp as it was */
    an_http_resp_free(&resp);
}

static void test_security_headers(void **state)
{
    const char *paths[] = {"/api/tasks/1", "/api/nope", "/index.html", "/missing.png", "/metrics"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        reply r;
        get(paths[i], &r);
        char v[512];
        assert_true(reply_header(&r, "Content-Security-Policy", v, sizeof v));
        assert_string_equal(v, "default-src 'self'; img-src 'self' data: blob:; media-src "
                               "'self' blob:; style-src 'self'; script-src 'self'; object-src "
                               "'none'; frame-ancestors 'none'; base-uri 'none'; form-action "
                               "'self'");
        assert_true(reply_header(&r, "X-Content-Type-Options", v, sizeof v));
        assert_string_equal(v, "nosniff");
        assert_true(reply_header(&r, "Referrer-Policy", v, sizeof v));
        assert_string_equal(v, "no-referrer");
        assert_true(reply_header(&r, "X-Frame-Options", v, sizeof v));
        assert_string_equal(v, "DENY");
        bool api = strncmp(paths[i], "/api/", 5) == 0;
        assert_int_equal(reply_header(&r, "Cache-Control", v, sizeof v), api);
        if (api) assert_string_equal(v, "no-store");
        reply_free(&r);
    }
}

/* Sends raw bytes, reads until the server closes or wait_us pass without data (a request that
 * was answered leaves a kept-alive connection open); returns what came back. */
static void raw_exchange(const void *bytes, size_t n, an_buf *out, long wait_us)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)an_http_port(g_srv));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {wait_us / 1000000, wait_us % 1000000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const char *p = bytes;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) break; /* the server may hang up early: fine */
        p += w;
        n -= (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    char buf[4096];
    ssize_t k;
    while ((k = recv(fd, buf, sizeof buf, 0)) > 0)
        an_buf_add(out, buf, (size_t)k);
    close(fd);
}

static void test_garbage_does_not_crash(void **state)
{
    an_buf big = AN_BUF_INIT;
    an_buf_init(&big);
    an_buf_adds(&big, "GET /api/tasks/1 HTTP/1.1\r\nHost: x\r\nX-Big: ");
    for (int i = 0; i < 200000; i++)
        an_buf_addc(&big, 'a');
    an_buf_adds(&big, "\r\n\r\n");
    const char *texts[] = {
        "GARBAGE\r\n\r\n",
        "\r\n\r\n\r\n",
        "GET\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "GET /api/tasks/1 HTTP/1.1\r\n\r\n", /* no Host */
        "GET /api/tasks/1 HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        "GET /api/tasks/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "POST /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
        "POST /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "fffffffffffffffffffff\r\n",
        "POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        "Content-Length: 40\r\n\r\n--b\r\nContent-Disposition: garbage\r\n\r\nxx",
        "POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=\r\n"
        "Content-Length: 3\r\n\r\nabc",
        "GET /%%%%%%%%%%%% HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /api/tasks/%00 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /api/tasks/1?q=%ZZ&&&=&q HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http://evil/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=-\r\n\r\n",
        "GET /index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=0-0,0-0,0-0,0-0,0-0,0-0\r\n\r\n",
        "GET /a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/1/2/3/4/5/6/7/8/9 HTTP/1.1\r\n"
        "Host: x\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        an_buf out = AN_BUF_INIT;
        an_buf_init(&out);
        raw_exchange(texts[i], strlen(texts[i]), &out, 300000);
        an_buf_free(&out);
    }
    an_buf out = AN_BUF_INIT;
    an_buf_init(&out);
    raw_exchange(big.p, big.len, &out, 2000000);
    assert_true(out.len == 0 || strncmp(out.p, "HTTP/1.1 4", 10) == 0);
    an_buf_free(&out);
    an_buf_free(&big);

    /* random bytes, and random damage to a valid request */
    srand(7);
    const char *valid = "POST /api/echo?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                        "Content-Type: text/plain\r\nRange: bytes=0-1\r\n\r\nhello";
    size_t vl = strlen(valid);
    char buf[512];
    for (int round = 0; round < 150; round++) {
        size_t n;
        if (round < 30) {
            n = 1 + (size_t)rand() % sizeof buf;
            for (size_t i = 0; i < n; i++)
                buf[i] = (char)rand();
        } else {
            memcpy(buf, valid, vl);
            n = vl;
            for (int k = 0; k < 1 + rand() % 4; k++)
                buf[rand() % (int)vl] = (char)rand();
        }
        an_buf_init(&out);
        raw_exchange(buf, n, &out, 20000);
        an_buf_free(&out);
    }

    /* and the server still answers */
    reply r;
    get("/api/tasks/after", &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

typedef struct worker {
    int id;
    int ok;
} worker;

static void *hammer(void *arg)
{
    worker *w = arg;
    CURL *h = curl_easy_init();
    an_buf body = AN_BUF_INIT;
    an_buf_init(&body);
    for (int i = 0; i < 40; i++) {
        char url[256], want[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/api/tasks/w%d-%d", an_http_port(g_srv),
                 w->id, i);
        snprintf(want, sizeof want, "{\"id\":\"w%d-%d\",", w->id, i);
        an_buf_reset(&body);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        long status = 0;
        if (curl_easy_perform(h) == CURLE_OK &&
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200 &&
            strncmp(body.p, want, strlen(want)) == 0)
            w->ok++;
        /* every fourth request on a fresh connection, the others kept alive */
        if (i % 4 == 3)
            curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
        else
            curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 0L);
    }
    an_buf_free(&body);
    curl_easy_cleanup(h);
    return NULL;
}

static uint64_t metric(const char *text, const char *series)
{
    /* at the start of a line, not inside a # HELP line */
    for (const char *p = text; (p = strstr(p, series)) != NULL; p++)
        if (p == text || p[-1] == '\n') return strtoull(p + strlen(series), NULL, 10);
    return 0;
}

static void test_concurrent_and_metrics(void **state)
{
    reply r;
    get("/metrics", &r);
    uint64_t before_2xx =
        metric(r.body.p, "annot_http_requests_total{method=\"GET\",route=\"/api/tasks/{id}\","
                         "code=\"2xx\"} ");
    reply_free(&r);

    enum { N = 8 };
    pthread_t t[N];
    worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (worker){i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 40);
    }

    get("/metrics", &r);
    assert_int_equal(r.status, 200);
    const char *m = r.body.p;
    assert_int_equal(metric(m, "annot_http_requests_total{method=\"GET\",route=\"/api/tasks/{id}\","
                               "code=\"2xx\"} "),
                     before_2xx + N * 40);
    assert_non_null(strstr(m, "# TYPE annot_http_requests_total counter\n"));
    assert_non_null(strstr(m, "# TYPE annot_http_request_seconds histogram\n"));
    assert_true(metric(m, "annot_http_requests_total{method=\"*\",route=\"unmatched\","
                          "code=\"4xx\"} ") > 0);
    assert_true(metric(m, "annot_http_requests_total{method=\"GET\",route=\"static\","
                          "code=\"2xx\"} ") > 0);
    assert_true(metric(m, "annot_http_requests_total{method=\"POST\",route=\"/api/echo\","
                          "code=\"4xx\"} ") > 0);
    uint64_t count = metric(m, "annot_http_request_seconds_count{method=\"GET\","
                               "route=\"/api/tasks/{id}\"} ");
    uint64_t inf = metric(m, "annot_http_request_seconds_bucket{method=\"GET\","
                             "route=\"/api/tasks/{id}\",le=\"+Inf\"} ");
    assert_true(count >= N * 40);
    assert_int_equal(inf, count);
    assert_non_null(strstr(m, "annot_http_request_seconds_bucket{method=\"GET\","
                              "route=\"/api/tasks/{id}\",le=\"0.005\"} "));
    assert_non_null(strstr(m, "annot_http_request_seconds_sum{method=\"GET\","
                              "route=\"/api/tasks/{id}\"} "));
    /* the metrics request itself is the one in flight */
    assert_int_equal(metric(m, "annot_http_requests_in_flight "), 1);
    reply_free(&r);
}

static void *hammer_later(void *arg)
{
    worker *w = arg;
    CURL *h = curl_easy_init();
    an_buf body = AN_BUF_INIT;
    an_buf_init(&body);
    for (int i = 0; i < 20; i++) {
        char url[256], want[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/api/later/w%d-%d", an_http_port(g_srv),
                 w->id, i);
        snprintf(want, sizeof want, "{\"later\":\"w%d-%d\"}", w->id, i);
        an_buf_reset(&body);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        long status = 0;
        if (curl_easy_perform(h) == CURLE_OK &&
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200 &&
            strcmp(body.p, want) == 0)
            w->ok++;
    }
    an_buf_free(&body);
    curl_easy_cleanup(h);
    return NULL;
}

/* Deferred requests free their pool thread: with 4 pool threads, 12 clients get their
 * requests in flight together (a batch larger than the pool), and every one is answered
 * with its own body after being resumed from another thread in an arbitrary order. */
static void test_deferred_answers(void **state)
{
    pthread_t resumer;
    g_later_stop = false;
    g_later_max_batch = 0;
    assert_int_equal(pthread_create(&resumer, NULL, later_resumer, NULL), 0);
    enum { N = 12 };
    pthread_t t[N];
    worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (worker){i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, hammer_later, &w[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 20);
    }
    pthread_mutex_lock(&g_later_mu);
    g_later_stop = true;
    pthread_cond_signal(&g_later_cv);
    pthread_mutex_unlock(&g_later_mu);
    pthread_join(resumer, NULL);
    assert_true(g_later_max_batch > 4);
}

static void test_start_errors(void **state)
{
    an_err err;
    an_http_server *s = NULL;
    an_http_route bad[] = {{"GET", "/api/{id", h_task, 0, false, NULL}};
    an_http_opts o = {.routes = bad, .n_routes = 1};
    assert_int_equal(an_http_start(&o, &s, &err), -AN_EINVAL);
    assert_string_equal(err.where, "routes[0].pattern");
    assert_null(s);

    an_http_route bad2[] = {{"GET", "/ok", h_task, 0, false, NULL},
                            {"GET", "/api/{}", h_task, 0, false, NULL}};
    o.routes = bad2;
    o.n_routes = 2;
    assert_int_equal(an_http_start(&o, &s, &err), -AN_EINVAL);
    assert_string_equal(err.where, "routes[1].pattern");

    an_http_route bad3[] = {{"GET", "no-slash", h_task, 0, false, NULL}};
    o.routes = bad3;
    o.n_routes = 1;
    assert_int_equal(an_http_start(&o, &s, &err), -AN_EINVAL);

    /* the port is taken */
    an_http_opts taken = {.port = an_http_port(g_srv), .routes = routes, .n_routes = 1};
    assert_int_equal(an_http_start(&taken, &s, &err), -AN_EIO);
    assert_null(s);

    an_http_opts nodir = {.static_dir = "/nonexistent/annot/www"};
    assert_int_equal(an_http_start(&nodir, &s, &err), -AN_EINVAL);

    /* a second server on port 0 gets a free port of its own */
    an_http_opts two = {.host = "127.0.0.1", .threads = 1, .routes = routes, .n_routes = 1};
    assert_int_equal(an_http_start(&two, &s, &err), 0);
    assert_true(an_http_port(s) > 0);
    assert_int_not_equal(an_http_port(s), an_http_port(g_srv));
    an_http_stop(s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (getenv("HTTP_TEST_FILTER")) cmocka_set_test_filter(getenv("HTTP_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_and_params),
        cmocka_unit_test(test_404_405_and_error_shape),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_upload_streams_to_file),
        cmocka_unit_test(test_upload_multipart),
        cmocka_unit_test(test_before_hook),
        cmocka_unit_test(test_static_files),
        cmocka_unit_test(test_range_parse),
        cmocka_unit_test(test_range_requests),
        cmocka_unit_test(test_security_headers),
        cmocka_unit_test(test_garbage_does_not_crash),
        cmocka_unit_test(test_concurrent_and_metrics),
        cmocka_unit_test(test_deferred_answers),
        cmocka_unit_test(test_start_errors),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
