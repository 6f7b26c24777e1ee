#include "base/json.h"

#include <float.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jscan.h"

void an_json_write_string(an_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    an_buf_grow(out, len + 2);
    an_buf_addc(out, '"');
    size_t run = 0; /* start of the current run of bytes that need no escaping */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        an_buf_add(out, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': an_buf_add(out, "\\\"", 2); break;
        case '\\': an_buf_add(out, "\\\\", 2); break;
        case '\n': an_buf_add(out, "\\n", 2); break;
        case '\r': an_buf_add(out, "\\r", 2); break;
        case '\t': an_buf_add(out, "\\t", 2); break;
        case '\b': an_buf_add(out, "\\b", 2); break;
        case '\f': an_buf_add(out, "\\f", 2); break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            an_buf_add(out, esc, 6);
        }
        }
    }
    an_buf_add(out, s + run, len - run);
    an_buf_addc(out, '"');
}

/* The search the writer's contract describes, done with snprintf and strtod: correct on
 * every platform, and the reference the fast path below is tested against. */
static void write_real_slow(an_buf *out, double v)
{
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) break;
    }
    an_buf_adds(out, tmp);
    if (!strpbrk(tmp, ".eEn")) an_buf_add(out, ".0", 2);
}

#if LDBL_MANT_DIG >= 64
/* 10^0 .. 10^18 */
static const uint64_t pow10u[] = {
    UINT64_C(1), UINT64_C(10), UINT64_C(100), UINT64_C(1000), UINT64_C(10000),
    UINT64_C(100000), UINT64_C(1000000), UINT64_C(10000000), UINT64_C(100000000),
    UINT64_C(1000000000), UINT64_C(10000000000), UINT64_C(100000000000),
    UINT64_C(1000000000000), UINT64_C(10000000000000), UINT64_C(100000000000000),
    UINT64_C(1000000000000000), UINT64_C(10000000000000000), UINT64_C(100000000000000000),
    UINT64_C(1000000000000000000)};
static const long double pow10l_[] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,
                                      1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L,
                                      1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L,
                                      1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};

/* The P significant digits of a (finite, > 0, normal) correctly rounded, as printf's %.Pe
 * gives them: *n in [10^(P-1), 10^P) and *x the decimal exponent of the first digit.
 * False when this cheap method cannot be sure (the caller then uses snprintf).
 *
 * a × 10^k is rounded once to a 64-bit long double t (10^k is exact for |k| <= 27), which
 * moves it by at most half an ulp of t, t × 2^-64 or less (below 2^-8 as t < 10^17 < 2^57).
 * Rounding t to an integer therefore gives the exact product's rounding unless t's fraction
 * lies that close to a half; such near-ties go to the slow path. */
static bool fast_digits(double a, int P, int x, uint64_t *n, int *xo)
{
    for (int tries = 0; tries < 4; tries++) {
        int k = P - 1 - x;
        if (k < -27 || k > 27) return false;
        long double t = k >= 0 ? (long double)a * pow10l_[k] : (long double)a / pow10l_[-k];
        if (t >= pow10l_[P]) {
            x++;
            continue;
        }
        if (t < pow10l_[P - 1]) {
            x--;
            continue;
        }
        /* llrintl rounds in the current mode (to nearest) without the x87 control-word
         * switches a cast would cost. */
        long long r = llrintl(t);
        if (fabsl(fabsl(t - (long double)r) - 0.5L) <= t * 0x1p-63L) return false;
        uint64_t u = (uint64_t)r;
        if (u == pow10u[P]) { /* rounded up to the next power of ten */
            u /= 10;
            x++;
        }
        *n = u;
        *xo = x;
        return true;
    }
    return false;
}
#endif

/* Writes n (P digits) × 10^(x-P+1) as printf's %.Pg would: exponent form when x < -4 or
 * x >= P, trailing fraction zeros dropped. Returns the length. */
static size_t format_g(char *buf, bool neg, uint64_t n, int x, int P)
{
    char d[20];
    for (int i = P - 1; i >= 0; i--, n /= 10) d[i] = (char)('0' + n % 10);
    int nd = P;
    while (nd > 1 && d[nd - 1] == '0') nd--;
    size_t len = 0;
    if (neg) buf[len++] = '-';
    if (x < -4 || x >= P) {
        buf[len++] = d[0];
        if (nd > 1) {
            buf[len++] = '.';
            for (int i = 1; i < nd; i++) buf[len++] = d[i];
        }
        buf[len++] = 'e';
        buf[len++] = x < 0 ? '-' : '+';
        int ax = x < 0 ? -x : x;
        if (ax >= 100) buf[len++] = (char)('0' + ax / 100);
        buf[len++] = (char)('0' + ax / 10 % 10);
        buf[len++] = (char)('0' + ax % 10);
    } else if (x >= 0) {
        for (int i = 0; i <= x; i++) buf[len++] = d[i];
        if (nd > x + 1) {
            buf[len++] = '.';
            for (int i = x + 1; i < nd; i++) buf[len++] = d[i];
        }
    } else {
        buf[len++] = '0';
        buf[len++] = '.';
        for (int i = 0; i < -x - 1; i++) buf[len++] = '0';
        for (int i = 0; i < nd; i++) buf[len++] = d[i];
    }
    return len;
}

void an_json_write_real(an_buf *out, double v)
{
    if (!isfinite(v)) { /* JSON has no infinities; Jansson never produces them */
        an_buf_adds(out, "null");
        return;
    }
    if (v == 0) {
        an_buf_adds(out, signbit(v) ? "-0.0" : "0.0");
        return;
    }
#if LDBL_MANT_DIG >= 64
    /* Same search as write_real_slow (the first of %.15g, %.16g, %.17g that reads back to
     * v), with the digits and the read-back done without snprintf and mostly without strtod:
     * those two cost microseconds a number, which exports of millions of boxes feel. */
    double a = fabs(v);
    if (a >= DBL_MIN) {
        int e2;
        frexp(a, &e2); /* a in [2^(e2-1), 2^e2) */
        int x = (int)floor((e2 - 1) * 0.30102999566398120);
        char tmp[40];
        for (int P = 15; P <= 17; P++) {
            uint64_t n;
            int xo;
            if (!fast_digits(a, P, x, &n, &xo)) break;
            x = xo;
            /* 17 digits always read back; fewer are tried exactly, as strtod would read them. */
            if (P == 17 || an_jscan_decimal(n, xo - P + 1) == a) {
                size_t len = format_g(tmp, v < 0, n, xo, P);
                an_buf_add(out, tmp, len);
                if (!memchr(tmp, '.', len) && !memchr(tmp, 'e', len)) an_buf_add(out, ".0", 2);
                return;
            }
        }
    }
#endif
    write_real_slow(out, v);
}

void an_json_write(an_buf *out, const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        an_buf_addc(out, '{');
        const char *key;
        json_t *val;
        int first = 1;
        json_object_foreach((json_t *)j, key, val)
        {
            if (!first) an_buf_addc(out, ',');
            first = 0;
            an_json_write_string(out, key, strlen(key));
            an_buf_addc(out, ':');
            an_json_write(out, val);
        }
        an_buf_addc(out, '}');
        break;
    }
    case JSON_ARRAY: {
        an_buf_addc(out, '[');
        size_t n = json_array_size(j);
        for (size_t i = 0; i < n; i++) {
            if (i) an_buf_addc(out, ',');
            an_json_write(out, json_array_get(j, i));
        }
        an_buf_addc(out, ']');
        break;
    }
    case JSON_STRING: an_json_write_string(out, json_string_value(j), json_string_length(j)); break;
    case JSON_INTEGER: an_buf_addf(out, "%" PRId64, (int64_t)json_integer_value(j)); break;
    case JSON_REAL: an_json_write_real(out, json_real_value(j)); break;
    case JSON_TRUE: an_buf_add(out, "true", 4); break;
    case JSON_FALSE: an_buf_add(out, "false", 5); break;
    case JSON_NULL: an_buf_add(out, "null", 4); break;
    }
}

char *an_json_text(const json_t *j)
{
    an_buf b;
    an_buf_init(&b);
    an_json_write(&b, j);
    return an_buf_detach(&b);
}

json_t *an_json_parse(const char *text, size_t len, const char *where, an_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &je);
    if (!j) {
        char place[300];
        snprintf(place, sizeof place, "%s%s%d:%d", where ? where : "", where && *where ? ":" : "",
                 je.line, je.column);
        an_err_set(err, AN_EINVAL, place, "malformed JSON: %s", je.text);
    }
    return j;
}

bool an_json_number(const json_t *j, double *out)
{
    if (json_is_integer(j)) {
        *out = (double)json_integer_value(j);
        return true;
    }
    if (json_is_real(j)) {
        *out = json_real_value(j);
        return true;
    }
    return false;
}

const char *an_json_str(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}
