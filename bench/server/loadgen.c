/* loadgen: an open-loop, constant-rate HTTP/1.1 load generator for bench/server.sh.
 *
 * wrk is closed-loop: each connection sends its next request when the previous answer
 * arrives, so the server is always saturated and a stall delays the requests that would
 * have been sent meanwhile without anyone counting them ("coordinated omission"). Here
 * request k is due at t0 + k / RATE whatever happens; its latency is counted from that due
 * time, so time spent waiting for a free connection (or for a stalled server) is in the
 * figures. wrk2 does the same but is not packaged in Debian.
 *
 *   loadgen --host 127.0.0.1 --port P --connections 64 --rate R --duration S
 *           [--warmup S] [--timeout S] [--samples FILE] MODE TOKEN FIRST COUNT [PROJECT]
 *
 * MODEs as bench/server/api.lua: task, post, after, page, static. One thread, epoll, a
 * timerfd for sub-millisecond sleeps, at most one request in flight per keep-alive
 * connection (no pipelining).
 *
 * Prints one line, the keys of api.lua's "WRK ..." line first, then:
 *   rate_offered  requests due in the measured window / its length
 *   rate_done     answers received in the measured window / its length
 *   p999_us       99.9th percentile latency
 *   late          answers (counted ones) whose request waited for a free connection
 *   inflight      requests sent but unanswered at the end (not counted as done)
 *   queued        requests due but never sent at the end (no free connection)
 *   oldest_us     age (from its due time) of the oldest unanswered request at the end
 *   gen_lag_us    the generator's own worst delay in sending a request that had an idle
 *                 connection waiting for it (its loop falling behind the schedule)
 *   reconnects    connections closed by the server between requests (not errors)
 *   ok_all        2xx answers over the whole run, warm-up included (what a server must
 *                 have done, e.g. annotations stored, when it answered)
 * Latencies and rates count answers received after the warm-up; errors count the whole run.
 * --samples FILE also writes every counted answer's due time and latency (CLOCK_MONOTONIC
 * nanoseconds, two little-endian uint64 each) for bench/server/cpuprobe.c --join.
 *
 * Exit status: 0 measured; 1 could not run (connect, system call); 2 bad arguments;
 * 3 measured, but the generator fell behind its own schedule by more than 100 ms, so the
 * figures are not to be trusted (the line is still printed, and says so: gen_lag_us).
 *
 * Build: cc -O2 -std=c11 -Wall -Wextra -o loadgen loadgen.c -lm
 */
#define _GNU_SOURCE /* MSG_NOSIGNAL, SOCK_NONBLOCK, timerfd, epoll, prctl */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000ull
#define HEAD_MAX 32768      /* status line + headers of one answer */
#define LINE_MAX_ 1024      /* one chunk-size or trailer line */
#define OUT_MAX 4096        /* one request */
#define TOKEN_MAX 512
#define MAX_CONNS 1024
#define MAX_LATENCIES 100000000ull /* 800 MB of samples: refuse rate x duration above */
#define BEHIND_NS (100 * 1000000ull)
#define RETRY_NS (10 * 1000000ull)  /* wait before reconnecting after a failed connect */
#define SWEEP_NS (10 * 1000000ull)  /* how often timeouts and reconnects are looked at */
#define TIMER_TAG UINT32_MAX

enum { C_DOWN, C_CONNECTING, C_IDLE, C_BUSY };
enum { P_HEAD, P_BODY, P_CHUNK_LINE, P_CHUNK_DATA, P_CHUNK_END, P_TRAILER, P_CLOSE };
enum { MODE_TASK, MODE_POST, MODE_AFTER, MODE_PAGE, MODE_STATIC };

struct conn {
    int fd;
    uint32_t events; /* what epoll watches for it now */
    int state;
    int in_ring;         /* listed in the idle ring (possibly stale: checked on pop) */
    uint64_t idle_since; /* when it last became free */
    uint64_t retry_at;   /* C_DOWN: when to connect again */
    /* the request in flight */
    uint64_t k;
    uint64_t sent_at;
    int late;
    char out[OUT_MAX];
    size_t out_len, out_off;
    /* the answer being read */
    int ps;
    char *head;
    size_t head_len;
    char line[LINE_MAX_];
    size_t line_len;
    uint64_t remain;
    int status;
    int close_after;
    uint64_t bytes;
};

/* ---- options ------------------------------------------------------------------------------ */
static const char *o_host = "127.0.0.1";
static const char *o_port;
static long o_conns = 64;
static long o_rate;
static double o_duration = -1, o_warmup = 1, o_timeout = 10;
static const char *o_samples;
static int o_mode;
static const char *o_token;
static long long o_first, o_count, o_project = 1;
static char o_hostport[300];

/* ---- state -------------------------------------------------------------------------------- */
static struct conn *conns;
static uint32_t *ring; /* idle connections, oldest first: every connection gets used */
static size_t ring_head, ring_len;
static int ep, tfd;
static struct sockaddr_storage addr;
static socklen_t addr_len;
static uint64_t t0, t_warm, t_end, total_k, next_k;
static uint64_t *lat, *lat_due; /* latency and due time of each counted answer */
static uint64_t n_lat, lat_cap;
static long long err_connect, err_read, err_write, err_status, err_timeout, reconnects;
static long long late_n, bytes_n, ok_all;
static uint64_t gen_lag;
static int proto_reported;

static void usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nusage: loadgen --host H --port P --connections C --rate R --duration S\n"
          "               [--warmup S] [--timeout S] [--samples FILE] MODE TOKEN FIRST COUNT\n"
          "               [PROJECT]\n"
          "  MODE: task (GET /api/tasks/{id}), post (POST /api/tasks/{id}/annotations),\n"
          "        after (GET /api/tasks?project=PROJECT&after=ID-1), page, static (GET /task.json)\n"
          "  ids FIRST .. FIRST+COUNT-1 in turn; R requests/s (1..10000000), C 1..1024,\n"
          "  duration 0.1..3600 s, warm-up 0..3600 s (default 1), answer timeout (default 10 s)\n",
          stderr);
    exit(2);
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* Due time of request k. k * NS stays far below 2^64 for the bounded rate x duration. */
static uint64_t due(uint64_t k)
{
    return t0 + k * NS / (uint64_t)o_rate;
}

static long long parse_ll(const char *what, const char *s, long long lo, long long hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        usage("%s: '%s' is not a whole number in %lld..%lld", what, s, lo, hi);
    return v;
}

static double parse_secs(const char *what, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        usage("%s: '%s' is not a number of seconds in %g..%g", what, s, lo, hi);
    return v;
}

static void parse_args(int argc, char **argv)
{
    const char *pos[5];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] == '-') {
            if (i + 1 >= argc)
                usage("%s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--host"))
                o_host = v;
            else if (!strcmp(a, "--port")) {
                parse_ll("--port", v, 1, 65535);
                o_port = v;
            }
            else if (!strcmp(a, "--connections"))
                o_conns = (long)parse_ll("--connections", v, 1, MAX_CONNS);
            else if (!strcmp(a, "--rate"))
                o_rate = (long)parse_ll("--rate", v, 1, 10000000);
            else if (!strcmp(a, "--duration"))
                o_duration = parse_secs("--duration", v, 0.1, 3600);
            else if (!strcmp(a, "--warmup"))
                o_warmup = parse_secs("--warmup", v, 0, 3600);
            else if (!strcmp(a, "--timeout"))
                o_timeout = parse_secs("--timeout", v, 0.001, 3600);
            else if (!strcmp(a, "--samples"))
                o_samples = v;
            else
                usage("unknown option %s", a);
        } else {
            if (npos == 5)
                usage("too many arguments ('%s')", a);
            pos[npos++] = a;
        }
    }
    if (!o_port)
        usage("--port is required");
    if (!o_rate)
        usage("--rate is required");
    if (o_duration < 0)
        usage("--duration is required");
    if (npos < 4)
        usage("MODE TOKEN FIRST COUNT are required");
    static const char *modes[] = {"task", "post", "after", "page", "static"};
    o_mode = -1;
    for (int m = 0; m < 5; m++)
        if (!strcmp(pos[0], modes[m]))
            o_mode = m;
    if (o_mode < 0)
        usage("unknown MODE '%s'", pos[0]);
    o_token = pos[1];
    size_t tl = strlen(o_token);
    if (tl == 0 || tl > TOKEN_MAX)
        usage("TOKEN must be 1..%d characters", TOKEN_MAX);
    for (size_t i = 0; i < tl; i++)
        if ((unsigned char)o_token[i] <= ' ' || (unsigned char)o_token[i] >= 127)
            usage("TOKEN must be printable ASCII without spaces");
    o_first = parse_ll("FIRST", pos[2], 0, LLONG_MAX / 2);
    o_count = parse_ll("COUNT", pos[3], 1, LLONG_MAX / 2);
    if (npos == 5)
        o_project = parse_ll("PROJECT", pos[4], 0, LLONG_MAX);
    if (strlen(o_host) > 255 || !o_host[0])
        usage("--host must be 1..255 characters");
    for (const char *p = o_host; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127)
            usage("--host must be printable ASCII");
    double n = ceil((o_warmup + o_duration) * (double)o_rate);
    if (n > (double)MAX_LATENCIES)
        usage("rate x (warm-up + duration) = %.0f requests; at most %llu", n,
              (unsigned long long)MAX_LATENCIES);
    /* Host as wrk sends it: the URL's host:port. */
    snprintf(o_hostport, sizeof o_hostport, "%s:%s", o_host, o_port);
}

/* ---- requests ----------------------------------------------------------------------------- */

/* Fills c->out with request k; the shapes are bench/server/api.lua's. */
static void build_request(struct conn *c, uint64_t k)
{
    static const char *choices[] = {"Positive", "Negative", "Neutral"};
    long long i = (long long)(k % (uint64_t)o_count);
    long long id = o_first + i;
    char path[256], body[512];
    int bl = 0;
    switch (o_mode) {
    case MODE_TASK:
        snprintf(path, sizeof path, "/api/tasks/%lld", id);
        break;
    case MODE_POST:
        snprintf(path, sizeof path, "/api/tasks/%lld/annotations", id);
        /* Every text starts with "task": the span is valid for every task. */
        bl = snprintf(body, sizeof body,
                      "{\"result\":[{\"id\":\"c\",\"from_name\":\"sentiment\",\"to_name\":\"text\","
                      "\"type\":\"choices\",\"value\":{\"choices\":[\"%s\"]}},"
                      "{\"id\":\"s\",\"from_name\":\"ner\",\"to_name\":\"text\",\"type\":\"labels\","
                      "\"value\":{\"start\":0,\"end\":4,\"text\":\"task\",\"labels\":[\"PRODUCT\"]}}],"
                      "\"lead_time\":3.5}",
                      choices[i % 3]);
        break;
    case MODE_AFTER:
        snprintf(path, sizeof path, "/api/tasks?project=%lld&after=%lld", o_project, id - 1);
        break;
    case MODE_PAGE:
        snprintf(path, sizeof path, "/api/tasks?project=%lld&page=%lld", o_project, i % 10000 + 1);
        break;
    default:
        snprintf(path, sizeof path, "/task.json");
        break;
    }
    int n;
    if (o_mode == MODE_POST)
        n = snprintf(c->out, sizeof c->out,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Token %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                     path, o_hostport, o_token, bl, body);
    else
        n = snprintf(c->out, sizeof c->out,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Token %s\r\n\r\n", path,
                     o_hostport, o_token);
    /* The token and host are bounded in parse_args, so this cannot happen. */
    if (n < 0 || (size_t)n >= sizeof c->out)
        die("request too long");
    c->out_len = (size_t)n;
    c->out_off = 0;
}

/* ---- connections -------------------------------------------------------------------------- */

static void ring_push(uint32_t ci)
{
    struct conn *c = &conns[ci];
    if (c->in_ring)
        return;
    c->in_ring = 1;
    ring[(ring_head + ring_len) % (size_t)o_conns] = ci;
    ring_len++;
}

/* The oldest idle connection, or NULL. */
static struct conn *ring_pop(void)
{
    while (ring_len) {
        struct conn *c = &conns[ring[ring_head]];
        ring_head = (ring_head + 1) % (size_t)o_conns;
        ring_len--;
        c->in_ring = 0;
        if (c->state == C_IDLE)
            return c;
    }
    return NULL;
}

static void set_events(struct conn *c, uint32_t ev)
{
    if (c->events == ev) return;
    c->events = ev;
    struct epoll_event e = {.events = ev, .data.u32 = (uint32_t)(c - conns)};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) < 0)
        die("epoll_ctl: %s", strerror(errno));
}

static void became_idle(struct conn *c, uint64_t now)
{
    c->state = C_IDLE;
    c->idle_since = now;
    ring_push((uint32_t)(c - conns));
}

static void start_connect(struct conn *c, uint64_t now)
{
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* as wrk does */
    c->fd = fd;
    c->ps = P_HEAD;
    c->head_len = 0;
    struct epoll_event e = {.events = EPOLLOUT, .data.u32 = (uint32_t)(c - conns)};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
        die("epoll_ctl: %s", strerror(errno));
    c->events = e.events;
    if (connect(fd, (struct sockaddr *)&addr, addr_len) == 0) {
        set_events(c, EPOLLIN | EPOLLRDHUP);
        became_idle(c, now);
    } else if (errno == EINPROGRESS) {
        c->state = C_CONNECTING;
    } else {
        err_connect++;
        close(fd);
        c->fd = -1;
        c->state = C_DOWN;
        c->retry_at = now + RETRY_NS;
    }
}

/* Closes c (losing any request in flight: the caller counts it) and connects again. */
static void reconnect(struct conn *c, uint64_t now)
{
    if (c->fd >= 0)
        close(c->fd); /* also removes it from the epoll set */
    c->fd = -1;
    c->state = C_DOWN;
    start_connect(c, now);
}

static void connected(struct conn *c, uint64_t now)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        err_connect++;
        close(c->fd);
        c->fd = -1;
        c->state = C_DOWN;
        c->retry_at = now + RETRY_NS;
        return;
    }
    set_events(c, EPOLLIN | EPOLLRDHUP);
    became_idle(c, now);
}

static void write_more(struct conn *c, uint64_t now)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_events(c, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
            return;
        } else {
            err_write++;
            reconnect(c, now);
            return;
        }
    }
    set_events(c, EPOLLIN | EPOLLRDHUP);
}

static void send_request(struct conn *c, uint64_t k, uint64_t now)
{
    uint64_t d = due(k);
    build_request(c, k);
    c->k = k;
    c->sent_at = now;
    c->state = C_BUSY;
    c->ps = P_HEAD;
    c->head_len = 0;
    c->bytes = 0;
    c->close_after = 0;
    /* A connection free since before the due time means any delay is the generator's own. */
    c->late = c->idle_since > d;
    if (!c->late && now >= t_warm && now - d > gen_lag)
        gen_lag = now - d;
    /* Sending directly: the socket is writable unless the kernel's buffer is full. */
    c->out_off = 0;
    write_more(c, now);
}

/* Sends every due request for which a connection is free, in order. */
static void dispatch(uint64_t now)
{
    while (next_k < total_k && due(next_k) <= now) {
        struct conn *c = ring_pop();
        if (!c)
            return;
        send_request(c, next_k++, now);
    }
}

/* ---- answers ------------------------------------------------------------------------------ */

static void proto_error(struct conn *c, const char *what)
{
    if (!proto_reported) {
        proto_reported = 1;
        fprintf(stderr, "loadgen: unreadable answer (%s); counted in err_read, connection reset "
                        "(reported once)\n",
                what);
    }
    err_read++;
    c->state = C_DOWN;
}

static int ieq_prefix(const char *s, size_t n, const char *name)
{
    size_t l = strlen(name);
    return n >= l && strncasecmp(s, name, l) == 0;
}

/* Whether the comma-separated header value v[0..n) holds token tok (case-insensitive). */
static int has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

/* Parses c->head[0..head_len) (ending in CRLFCRLF) and sets the body state.
 * Returns 0, 1 when the answer is complete (no body), -1 on a protocol error. */
static int parse_head(struct conn *c)
{
    const char *h = c->head;
    size_t n = c->head_len;
    const char *eol = memchr(h, '\n', n);
    if (!eol || eol - h < 12 || memcmp(h, "HTTP/1.", 7) != 0 || h[8] != ' ')
        return proto_error(c, "status line"), -1;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (h[i] < '0' || h[i] > '9')
            return proto_error(c, "status code"), -1;
        st = st * 10 + (h[i] - '0');
    }
    c->status = st;
    int chunked = 0, has_len = 0;
    uint64_t len = 0;
    c->close_after = h[7] == '0'; /* HTTP/1.0 closes unless told otherwise */
    size_t p = (size_t)(eol - h) + 1;
    while (p < n) {
        const char *l = h + p;
        const char *e = memchr(l, '\n', n - p);
        size_t ll = (size_t)(e - l); /* a newline ends the head, so e is never NULL */
        p += ll + 1;
        if (ll && l[ll - 1] == '\r')
            ll--;
        if (ll == 0)
            break;
        const char *colon = memchr(l, ':', ll);
        if (!colon)
            return proto_error(c, "header without a colon"), -1;
        size_t nl = (size_t)(colon - l);
        const char *v = colon + 1;
        size_t vl = ll - nl - 1;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        if (nl == 14 && ieq_prefix(l, nl, "content-length")) {
            uint64_t x = 0;
            if (vl == 0 || vl > 15)
                return proto_error(c, "Content-Length"), -1;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return proto_error(c, "Content-Length"), -1;
                x = x * 10 + (uint64_t)(v[i] - '0');
            }
            if (has_len && x != len)
                return proto_error(c, "two different Content-Lengths"), -1;
            has_len = 1;
            len = x;
        } else if (nl == 17 && ieq_prefix(l, nl, "transfer-encoding")) {
            /* Only "chunked" alone is read; another coding (gzip ...) cannot be framed. */
            if (!has_token(v, vl, "chunked") || vl != 7)
                return proto_error(c, "Transfer-Encoding other than chunked"), -1;
            chunked = 1;
        } else if (nl == 10 && ieq_prefix(l, nl, "connection")) {
            if (has_token(v, vl, "close"))
                c->close_after = 1;
            else if (has_token(v, vl, "keep-alive"))
                c->close_after = 0;
        }
    }
    if (st >= 100 && st < 200) { /* an interim answer: the real one follows */
        c->ps = P_HEAD;
        return 2;
    }
    if (st == 204 || st == 304)
        return 1;
    if (chunked) {
        c->ps = P_CHUNK_LINE;
        c->line_len = 0;
        return 0;
    }
    if (has_len) {
        if (len == 0)
            return 1;
        c->ps = P_BODY;
        c->remain = len;
        return 0;
    }
    c->ps = P_CLOSE; /* framed by the end of the connection */
    c->close_after = 1;
    return 0;
}

/* Accumulates one CRLF-ended line into c->line; returns bytes used from p, sets *done. */
/* The answer ended with n bytes of the buffer left: 1, or -1 when there are any (nothing
 * was asked for them). */
static int answer_done(struct conn *c, size_t n)
{
    if (!n)
        return 1;
    proto_error(c, "bytes after the answer (no request asked)");
    return -1;
}

static size_t take_line(struct conn *c, const char *p, size_t n, int *done)
{
    const char *e = memchr(p, '\n', n);
    size_t use = e ? (size_t)(e - p) + 1 : n;
    *done = e != NULL;
    if (c->line_len + use > sizeof c->line)
        return SIZE_MAX;
    memcpy(c->line + c->line_len, p, use);
    c->line_len += use;
    return use;
}

/* Feeds bytes of the answer. Returns 1 when the answer is complete and every byte was
 * used, 0 when more are needed, -1 on a protocol error (already counted). */
static int feed(struct conn *c, const char *p, size_t n)
{
    while (n) {
        switch (c->ps) {
        case P_HEAD: {
            size_t old = c->head_len;
            size_t use = n < HEAD_MAX - old ? n : HEAD_MAX - old;
            memcpy(c->head + old, p, use);
            c->head_len += use;
            size_t from = old >= 3 ? old - 3 : 0;
            char *end = memmem(c->head + from, c->head_len - from, "\r\n\r\n", 4);
            if (!end) {
                if (c->head_len == HEAD_MAX)
                    return proto_error(c, "headers over 32 KiB"), -1;
                return 0;
            }
            size_t hl = (size_t)(end - c->head) + 4;
            size_t used = hl - old;
            c->head_len = hl;
            p += used;
            n -= used;
            int r = parse_head(c);
            if (r < 0)
                return -1;
            if (r == 2) {
                c->head_len = 0;
                continue;
            }
            if (r == 1)
                return answer_done(c, n);
            break;
        }
        case P_BODY: {
            size_t use = n < c->remain ? n : (size_t)c->remain;
            c->remain -= use;
            p += use;
            n -= use;
            if (c->remain == 0)
                return answer_done(c, n);
            break;
        }
        case P_CHUNK_LINE:
        case P_CHUNK_END:
        case P_TRAILER: {
            int done;
            size_t use = take_line(c, p, n, &done);
            if (use == SIZE_MAX)
                return proto_error(c, "chunk line over 1 KiB"), -1;
            p += use;
            n -= use;
            if (!done)
                break;
            size_t ll = c->line_len;
            c->line_len = 0;
            if (ll >= 2 && c->line[ll - 2] == '\r')
                ll -= 2;
            else
                ll -= 1;
            if (c->ps == P_CHUNK_END) {
                if (ll != 0)
                    return proto_error(c, "chunk not followed by CRLF"), -1;
                c->ps = P_CHUNK_LINE;
            } else if (c->ps == P_TRAILER) {
                if (ll == 0)
                    return answer_done(c, n);
            } else {
                uint64_t sz = 0;
                size_t i = 0;
                for (; i < ll; i++) {
                    char ch = c->line[i];
                    int d = ch >= '0' && ch <= '9'   ? ch - '0'
                            : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                            : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                                     : -1;
                    if (d < 0)
                        break;
                    if (i >= 15)
                        return proto_error(c, "chunk size too large"), -1;
                    sz = sz * 16 + (uint64_t)d;
                }
                if (i == 0 || (i < ll && c->line[i] != ';' && c->line[i] != ' ' && c->line[i] != '\t'))
                    return proto_error(c, "chunk size"), -1;
                if (sz == 0) {
                    c->ps = P_TRAILER;
                } else {
                    c->ps = P_CHUNK_DATA;
                    c->remain = sz;
                }
            }
            break;
        }
        case P_CHUNK_DATA: {
            size_t use = n < c->remain ? n : (size_t)c->remain;
            c->remain -= use;
            p += use;
            n -= use;
            if (c->remain == 0)
                c->ps = P_CHUNK_END;
            break;
        }
        case P_CLOSE:
            return 0;
        }
    }
    return 0;
}

/* An answer to c's request arrived whole at now. */
static void answered(struct conn *c, uint64_t now)
{
    if (c->status >= 200 && c->status <= 299)
        ok_all++;
    if (now >= t_warm) {
        if (n_lat < lat_cap) {
            lat_due[n_lat] = due(c->k);
            lat[n_lat++] = now - due(c->k);
        }
        if (c->status < 200 || c->status > 299)
            err_status++;
        if (c->late)
            late_n++;
        bytes_n += (long long)c->bytes;
    }
    if (c->close_after) {
        reconnects++;
        reconnect(c, now);
    } else {
        became_idle(c, now);
    }
}

static void readable(struct conn *c, uint64_t now)
{
    static char buf[65536];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n > 0) {
            if (c->state != C_BUSY) {
                /* Bytes nobody asked for: the stream cannot be trusted any more. */
                proto_error(c, "bytes while no request was in flight");
                reconnect(c, now);
                return;
            }
            c->bytes += (uint64_t)n;
            int r = feed(c, buf, (size_t)n);
            if (r < 0) {
                reconnect(c, now);
                return;
            }
            if (r == 1) {
                answered(c, now);
                return; /* an idle connection's next bytes are read on the next event */
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        /* End of stream or reset. */
        if (c->state == C_BUSY && c->ps == P_CLOSE && n == 0) {
            c->close_after = 1;
            answered(c, now);
        } else if (c->state == C_BUSY) {
            err_read++;
            reconnect(c, now);
        } else {
            reconnects++;
            reconnect(c, now);
        }
        return;
    }
}

/* Times out requests in flight and reconnects connections whose retry time came; returns
 * when to sweep next (sooner when a reconnect is due before the usual interval). */
static uint64_t sweep(uint64_t now)
{
    uint64_t tmo = (uint64_t)(o_timeout * 1e9);
    uint64_t next = now + SWEEP_NS;
    for (long i = 0; i < o_conns; i++) {
        struct conn *c = &conns[i];
        if (c->state == C_BUSY && now - c->sent_at > tmo) {
            err_timeout++;
            reconnect(c, now);
        }
        if (c->state == C_DOWN) {
            if (c->retry_at <= now)
                start_connect(c, now);
            else if (c->retry_at < next)
                next = c->retry_at;
        }
    }
    return next;
}

static void arm(uint64_t at)
{
    struct itimerspec its = {0};
    its.it_value.tv_sec = (time_t)(at / NS);
    its.it_value.tv_nsec = (long)(at % NS);
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        die("timerfd_settime: %s", strerror(errno));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted samples, in microseconds. */
static long long pct(double p)
{
    if (!n_lat)
        return 0;
    double r = ceil(p / 100.0 * (double)n_lat);
    uint64_t i = r < 1 ? 0 : (uint64_t)r - 1;
    if (i >= n_lat)
        i = n_lat - 1;
    return (long long)(lat[i] / 1000);
}

/* Every counted answer's due time and latency, before the latencies are sorted. */
static void write_samples(void)
{
    FILE *f = fopen(o_samples, "wb");
    if (!f)
        die("cannot write %s: %s", o_samples, strerror(errno));
    for (uint64_t i = 0; i < n_lat; i++) {
        unsigned char b[16];
        for (int j = 0; j < 8; j++) {
            b[j] = (unsigned char)(lat_due[i] >> (8 * j));
            b[8 + j] = (unsigned char)(lat[i] >> (8 * j));
        }
        fwrite(b, 1, sizeof b, f);
    }
    if (fclose(f) != 0)
        die("cannot write %s: %s", o_samples, strerror(errno));
}

static void resolve(void)
{
    struct addrinfo hints = {0}, *res;
    hints.ai_socktype = SOCK_STREAM;
    int r = getaddrinfo(o_host, o_port, &hints, &res);
    if (r)
        die("cannot resolve %s:%s: %s", o_host, o_port, gai_strerror(r));
    memcpy(&addr, res->ai_addr, res->ai_addrlen);
    addr_len = res->ai_addrlen;
    freeaddrinfo(res);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    /* The default 50 us timer slack would make every sleep late by up to that much. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)o_conns + 16) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)o_conns + 16
                          ? (rlim_t)o_conns + 16
                          : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    resolve();

    uint64_t dur_ns = (uint64_t)llround(o_duration * 1e9);
    uint64_t warm_ns = (uint64_t)llround(o_warmup * 1e9);
    /* Requests due in [t0, t0 + warm-up + duration): k with k * NS / rate below that. */
    total_k = ((warm_ns + dur_ns) * (uint64_t)o_rate + NS - 1) / NS;
    /* At most the requests due after the warm-up plus those queued during it can answer in
     * the window; no more than all of them. */
    lat_cap = total_k;
    lat = malloc((size_t)(lat_cap ? lat_cap : 1) * sizeof *lat);
    lat_due = malloc((size_t)(lat_cap ? lat_cap : 1) * sizeof *lat_due);
    conns = calloc((size_t)o_conns, sizeof *conns);
    ring = calloc((size_t)o_conns, sizeof *ring);
    if (!lat || !lat_due || !conns || !ring)
        die("out of memory for %llu samples", (unsigned long long)lat_cap);
    ep = epoll_create1(EPOLL_CLOEXEC);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (ep < 0 || tfd < 0)
        die("epoll/timerfd: %s", strerror(errno));
    struct epoll_event te = {.events = EPOLLIN, .data.u32 = TIMER_TAG};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &te) < 0)
        die("epoll_ctl: %s", strerror(errno));

    /* Connect every connection before the clock starts (up to 5 s). */
    uint64_t now = now_ns();
    for (long i = 0; i < o_conns; i++) {
        conns[i].fd = -1;
        conns[i].head = malloc(HEAD_MAX);
        if (!conns[i].head)
            die("out of memory");
        start_connect(&conns[i], now);
    }
    uint64_t give_up = now + 5 * NS;
    struct epoll_event evs[256];
    for (;;) {
        long up = 0, down = 0;
        for (long i = 0; i < o_conns; i++) {
            up += conns[i].state == C_IDLE;
            down += conns[i].state == C_DOWN;
        }
        if (up == o_conns)
            break;
        if (down || now_ns() > give_up)
            die("cannot connect to %s:%s (%ld of %ld connections up): %s", o_host, o_port, up,
                o_conns, err_connect ? "connection failed" : "timed out");
        int n = epoll_wait(ep, evs, 256, 100);
        now = now_ns();
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u32 == TIMER_TAG)
                continue;
            struct conn *c = &conns[evs[i].data.u32];
            if (c->state == C_CONNECTING)
                connected(c, now);
            else if (c->state == C_IDLE) {
                reconnects++;
                reconnect(c, now);
            }
        }
    }
    err_connect = reconnects = 0;

    t0 = now_ns();
    t_warm = t0 + warm_ns;
    t_end = t_warm + dur_ns;
    uint64_t next_sweep = t0 + SWEEP_NS, armed = 0;
    for (;;) {
        now = now_ns();
        if (now >= t_end)
            break;
        if (now >= next_sweep)
            next_sweep = sweep(now);
        dispatch(now);
        /* Sleep until the next due request (when a connection is free to take it), the next
         * sweep (timeouts, reconnects), or the end; answers wake the loop through epoll anyway. */
        uint64_t wake = t_end;
        if (next_sweep < wake)
            wake = next_sweep;
        if (next_k < total_k && ring_len) {
            uint64_t d = due(next_k);
            if (d < wake)
                wake = d;
        }
        if (wake <= now)
            continue;
        if (wake != armed) {
            arm(wake);
            armed = wake;
        }
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++) {
            uint32_t tag = evs[i].data.u32;
            if (tag == TIMER_TAG) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
                    die("timerfd read: %s", strerror(errno));
                armed = 0;
                continue;
            }
            struct conn *c = &conns[tag];
            uint64_t t = now_ns();
            if (c->state == C_CONNECTING) {
                connected(c, t);
                continue;
            }
            if (c->state == C_BUSY && c->out_off < c->out_len && (evs[i].events & EPOLLOUT)) {
                write_more(c, t);
                if (c->state != C_BUSY)
                    continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                if (c->fd >= 0 && (c->state == C_BUSY || c->state == C_IDLE))
                    readable(c, t);
        }
    }

    /* What is left unanswered at the end. */
    long long inflight = 0;
    uint64_t oldest = 0;
    for (long i = 0; i < o_conns; i++)
        if (conns[i].state == C_BUSY) {
            inflight++;
            if (now - due(conns[i].k) > oldest)
                oldest = now - due(conns[i].k);
        }
    /* Every request below total_k is due before t_end <= now. */
    long long queued = (long long)(total_k - next_k);
    if (queued && now - due(next_k) > oldest)
        oldest = now - due(next_k);
    uint64_t offered = 0; /* requests due in the measured window */
    for (uint64_t k = total_k; k-- > 0 && due(k) >= t_warm;)
        offered++;

    if (o_samples) write_samples();
    qsort(lat, (size_t)n_lat, sizeof *lat, cmp_u64);
    double secs = (double)dur_ns / 1e9;
    printf("WRK requests=%llu duration_us=%llu p50_us=%lld p90_us=%lld p99_us=%lld max_us=%lld "
           "err_connect=%lld err_read=%lld err_write=%lld err_status=%lld err_timeout=%lld "
           "bytes=%lld rate_offered=%.0f rate_done=%.0f p999_us=%lld late=%lld inflight=%lld "
           "queued=%lld oldest_us=%llu gen_lag_us=%llu reconnects=%lld ok_all=%lld\n",
           (unsigned long long)n_lat, (unsigned long long)(dur_ns / 1000), pct(50), pct(90),
           pct(99), n_lat ? (long long)(lat[n_lat - 1] / 1000) : 0, err_connect, err_read,
           err_write, err_status, err_timeout, bytes_n, (double)offered / secs,
           (double)n_lat / secs, pct(99.9), late_n, inflight, queued,
           (unsigned long long)(oldest / 1000), (unsigned long long)(gen_lag / 1000),
           reconnects, ok_all);
    fflush(stdout);
    if (gen_lag > BEHIND_NS) {
        fprintf(stderr,
                "loadgen: the generator itself fell %.1f ms behind its schedule (a free "
                "connection waited for it): the machine cannot keep %ld requests/s; the "
                "figures are not valid\n",
                (double)gen_lag / 1e6, o_rate);
        return 3;
    }
    return 0;
}
