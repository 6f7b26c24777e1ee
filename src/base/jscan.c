/* JSON pull scanner (see jscan.h). */
#include "base/jscan.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

/* ---- numbers ------------------------------------------------------------------------ */

#if LDBL_MANT_DIG >= 64
/* Powers of ten that a 64-bit mantissa holds exactly (5^27 < 2^63). */
static const long double p10l[] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,
                                   1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L,
                                   1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L,
                                   1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
#endif
static const double p10d[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                              1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                              1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* m × 10^e10 as the nearest double, when that can be had cheaply and surely; false
 * otherwise (the caller then asks strtod). */
static bool fast_decimal(uint64_t m, int e10, double *out)
{
#if LDBL_MANT_DIG >= 64
    /* m (< 2^64) and 10^|e10| (|e10| <= 27) are exact in a long double, so L below is the
     * exact value rounded once to 64 bits. Rounding L to 53 bits gives the same double as
     * rounding the exact value, unless L lands exactly on the midpoint between two doubles
     * (rounding is monotonic and midpoints have 54 bits): only that case goes to strtod. */
    if (e10 >= -27 && e10 <= 27) {
        long double L = e10 >= 0 ? (long double)m * p10l[e10] : (long double)m / p10l[-e10];
        double d = (double)L;
        if (!isfinite(d) || d < DBL_MIN) return false; /* overflow, subnormal: strtod */
        if ((long double)d != L) {
            /* d's neighbour on L's side (d is positive and normal, so one step of its bit
             * pattern; DBL_MAX's upper neighbour is infinity, never a midpoint). */
            uint64_t bits;
            memcpy(&bits, &d, sizeof d);
            bits = L > d ? bits + 1 : bits - 1;
            double n;
            memcpy(&n, &bits, sizeof n);
            if (((long double)d + (long double)n) / 2 == L) return false;
        }
        *out = d;
        return true;
    }
#endif
    /* Clinger's fast path: both factors exact in a double, one rounding. */
    if (m < (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
        *out = e10 >= 0 ? (double)m * p10d[e10] : (double)m / p10d[-e10];
        return true;
    }
    return false;
}

/* Length of the JSON number at t[0..n) (the longest prefix the grammar allows), 0 when none
 * starts there. */
static size_t number_len(const char *t, size_t n)
{
    size_t i = 0;
    if (i < n && t[i] == '-') i++;
    if (i >= n) return 0;
    if (t[i] == '0') {
        i++;
    } else if (t[i] >= '1' && t[i] <= '9') {
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++;
    } else {
        return 0;
    }
    if (i < n && t[i] == '.') {
        size_t j = ++i;
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++;
        if (i == j) return 0;
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < n && (t[i] == '+' || t[i] == '-')) i++;
        size_t j = i;
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++;
        if (i == j) return 0;
    }
    return i;
}

static int slow_number(const char *text, size_t n, double *out)
{
    char small[128];
    char *tmp = n < sizeof small ? small : an_xmalloc(n + 1);
    memcpy(tmp, text, n);
    tmp[n] = '\0';
    /* The grammar was checked, so strtod reads exactly these bytes (no hex, inf or nan). */
    double d = strtod(tmp, NULL);
    if (tmp != small) free(tmp);
    if (!isfinite(d)) return -AN_EINVAL;
    *out = d;
    return 0;
}

double an_jscan_decimal(uint64_t m, int e10)
{
    double d;
    if (m == 0) return 0.0;
    if (fast_decimal(m, e10, &d)) return d;
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%" PRIu64 "e%d", m, e10);
    return strtod(tmp, NULL);
}

/* Converts text[0..n), a whole JSON number already checked by number_len. */
static int convert_number(const char *text, size_t n, double *out)
{
    size_t i = 0;
    bool neg = text[0] == '-';
    if (neg) i++;
    uint64_t m = 0;
    int digits = 0;    /* significant digits in m */
    int e10 = 0;       /* m × 10^e10 is the number so far */
    bool many = false; /* more than 19 significant digits, or absurd exponents: strtod */
    for (; i < n && text[i] >= '0' && text[i] <= '9'; i++) {
        if (m == 0 && text[i] == '0') continue;
        if (digits < 19)
            m = m * 10 + (uint64_t)(text[i] - '0'), digits++;
        else
            many = true;
    }
    if (i < n && text[i] == '.') {
        for (i++; i < n && text[i] >= '0' && text[i] <= '9'; i++) {
            if (m == 0 && text[i] == '0') {
                if (e10 > -100000)
                    e10--;
                else
                    many = true;
                continue;
            }
            if (digits < 19)
                m = m * 10 + (uint64_t)(text[i] - '0'), digits++, e10--;
            else
                many = true;
        }
    }
    /* Integer digits beyond the 19th still count as powers of ten. */
    if (many) return slow_number(text, n, out);
    if (i < n) { /* exponent */
        i++;
        bool eneg = false;
        if (text[i] == '+' || text[i] == '-') eneg = text[i++] == '-';
        int x = 0;
        for (; i < n; i++)
            if (x < 100000) x = x * 10 + (text[i] - '0');
        if (x >= 100000) return slow_number(text, n, out);
        e10 += eneg ? -x : x;
    }
    if (m == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    double d;
    if (!fast_decimal(m, e10, &d)) return slow_number(text, n, out);
    *out = neg ? -d : d;
    return 0;
}

int an_jscan_parse_number(const char *text, size_t n, double *out)
{
    if (n == 0 || number_len(text, n) != n) return -AN_EINVAL;
    return convert_number(text, n, out);
}

/* ---- the scanner -------------------------------------------------------------------- */

static int fail(an_jscan *s, size_t pos, const char *what)
{
    if (!s->fault) {
        s->fault = what;
        s->fault_pos = pos;
    }
    return -AN_EINVAL;
}

static void skip_ws(an_jscan *s)
{
    while (s->pos < s->len) {
        char c = s->text[s->pos];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
        s->pos++;
    }
}

void an_jscan_init(an_jscan *s, const char *text, size_t len)
{
    /* is_obj needs no clearing: a level's bit is set when the level is opened. */
    s->pos = 0;
    s->depth = 0;
    s->fresh = false;
    s->fault = NULL;
    s->fault_pos = 0;
    s->text = text ? text : "";
    s->len = text ? len : 0;
    s->want_value = true;
}

an_jtype an_jscan_peek(an_jscan *s)
{
    if (s->fault || !s->want_value) return AN_JNONE;
    skip_ws(s);
    if (s->pos >= s->len) return AN_JNONE;
    switch (s->text[s->pos]) {
    case '{':
        return AN_JOBJECT;
    case '[':
        return AN_JARRAY;
    case '"':
        return AN_JSTRING;
    case 't':
        return AN_JTRUE;
    case 'f':
        return AN_JFALSE;
    case 'n':
        return AN_JNULL;
    default: {
        char c = s->text[s->pos];
        return c == '-' || (c >= '0' && c <= '9') ? AN_JNUMBER : AN_JNONE;
    }
    }
}

/* Checks that a value is due and returns the cursor's byte, or -1 after a fault. */
static int value_start(an_jscan *s)
{
    if (s->fault) return -1;
    if (!s->want_value) return fail(s, s->pos, "a value was read where none is due"), -1;
    skip_ws(s);
    if (s->pos >= s->len) return fail(s, s->pos, "the text ends where a value is due"), -1;
    return (unsigned char)s->text[s->pos];
}

static int open_container(an_jscan *s, char c, bool obj)
{
    int at = value_start(s);
    if (at < 0) return -AN_EINVAL;
    if (at != c) return fail(s, s->pos, obj ? "expected an object" : "expected an array");
    if (s->depth >= AN_JSCAN_MAX_DEPTH)
        return fail(s, s->pos, "arrays and objects nest too deeply");
    if (obj)
        s->is_obj[s->depth / 8] |= (unsigned char)(1u << (s->depth % 8));
    else
        s->is_obj[s->depth / 8] &= (unsigned char)~(1u << (s->depth % 8));
    s->depth++;
    s->pos++;
    s->want_value = false;
    s->fresh = true;
    return 0;
}

int an_jscan_object(an_jscan *s)
{
    return open_container(s, '{', true);
}

int an_jscan_array(an_jscan *s)
{
    return open_container(s, '[', false);
}

static bool top_is_obj(const an_jscan *s)
{
    unsigned d = s->depth - 1;
    return s->is_obj[d / 8] >> (d % 8) & 1;
}

static int hex4(const char *t, size_t n, size_t i, unsigned *out)
{
    if (n - i < 4) return -1;
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = t[i + k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Scans the string whose opening quote is at the cursor. */
static int scan_string(an_jscan *s, an_jstr *out)
{
    const char *t = s->text;
    size_t n = s->len, i = s->pos + 1;
    bool escaped = false;
    for (;;) {
        /* Plain ASCII runs are the common case. */
        while (i < n) {
            unsigned char c = (unsigned char)t[i];
            if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
            i++;
        }
        if (i >= n) return fail(s, s->pos, "a string is not closed");
        unsigned char c = (unsigned char)t[i];
        if (c == '"') break;
        if (c < 0x20) return fail(s, i, "a control character in a string must be escaped");
        if (c >= 0x80) {
            size_t j = i;
            if (an_utf8_next(t, n, &j) < 0) return fail(s, i, "a string is not valid UTF-8");
            i = j;
            continue;
        }
        /* backslash */
        escaped = true;
        if (i + 1 >= n) return fail(s, i, "a string is not closed");
        char e = t[i + 1];
        if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
            e == 't') {
            i += 2;
            continue;
        }
        if (e != 'u') return fail(s, i, "invalid escape in a string");
        unsigned u, lo;
        if (hex4(t, n, i + 2, &u) < 0) return fail(s, i, "invalid \\u escape in a string");
        if (u == 0) return fail(s, i, "\\u0000 is not allowed in a string");
        if (u >= 0xDC00 && u <= 0xDFFF) return fail(s, i, "a lone low surrogate in a string");
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (n - (i + 6) < 6 || t[i + 6] != '\\' || t[i + 7] != 'u' ||
                hex4(t, n, i + 8, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                return fail(s, i, "a high surrogate in a string lacks its low half");
            i += 12;
        } else {
            i += 6;
        }
    }
    if (out) {
        out->p = t + s->pos + 1;
        out->len = i - (s->pos + 1);
        out->escaped = escaped;
    }
    s->pos = i + 1;
    return 0;
}

int an_jscan_string(an_jscan *s, an_jstr *out)
{
    int c = value_start(s);
    if (c < 0) return -AN_EINVAL;
    if (c != '"') return fail(s, s->pos, "expected a string");
    if (scan_string(s, out) < 0) return -AN_EINVAL;
    s->want_value = false;
    return 0;
}

static int scan_number(an_jscan *s, double *out)
{
    size_t n = number_len(s->text + s->pos, s->len - s->pos);
    if (n == 0) return fail(s, s->pos, "invalid number");
    /* A skipped number is still checked for range, as Jansson does, but only converted
     * when it could be out of range: it has an exponent or very many digits. */
    const char *t = s->text + s->pos;
    double d;
    if ((out || n > 300 || memchr(t, 'e', n) || memchr(t, 'E', n)) &&
        convert_number(t, n, out ? out : &d) < 0)
        return fail(s, s->pos, "a number too large for a double");
    s->pos += n;
    return 0;
}

int an_jscan_number(an_jscan *s, double *out)
{
    int c = value_start(s);
    if (c < 0) return -AN_EINVAL;
    if (c != '-' && (c < '0' || c > '9')) return fail(s, s->pos, "expected a number");
    double d;
    if (scan_number(s, &d) < 0) return -AN_EINVAL;
    *out = d;
    s->want_value = false;
    return 0;
}

static int close_container(an_jscan *s)
{
    s->depth--;
    s->pos++;
    s->want_value = false;
    s->fresh = false;
    return 0;
}

/* Moves past the comma before the next member or element, or past the closer: 1 when an
 * item follows, 0 when the container closed. */
static int next_item(an_jscan *s, bool obj)
{
    if (s->fault) return -AN_EINVAL;
    if (s->depth == 0 || top_is_obj(s) != obj)
        return fail(s, s->pos, obj ? "not inside an object" : "not inside an array");
    if (s->want_value && an_jscan_skip(s) < 0) return -AN_EINVAL;
    skip_ws(s);
    if (s->pos >= s->len)
        return fail(s, s->pos, obj ? "an object is not closed" : "an array is not closed");
    char c = s->text[s->pos];
    if (c == (obj ? '}' : ']')) return close_container(s);
    if (!s->fresh) {
        if (c != ',') return fail(s, s->pos, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        s->pos++;
        skip_ws(s);
    }
    s->fresh = false;
    return 1;
}

int an_jscan_member(an_jscan *s, an_jstr *key)
{
    int r = next_item(s, true);
    if (r <= 0) return r;
    if (s->pos >= s->len || s->text[s->pos] != '"')
        return fail(s, s->pos, "expected a member name in double quotes");
    if (scan_string(s, key) < 0) return -AN_EINVAL;
    skip_ws(s);
    if (s->pos >= s->len || s->text[s->pos] != ':')
        return fail(s, s->pos, "expected ':' after a member name");
    s->pos++;
    s->want_value = true;
    return 1;
}

int an_jscan_element(an_jscan *s)
{
    int r = next_item(s, false);
    if (r <= 0) return r;
    s->want_value = true;
    return 1;
}

int an_jscan_find(an_jscan *s, const char *key)
{
    an_jstr k;
    int r;
    while ((r = an_jscan_member(s, &k)) == 1)
        if (an_jstr_eq(&k, key)) return 1;
    return r;
}

int an_jscan_leave(an_jscan *s)
{
    if (s->fault) return -AN_EINVAL;
    if (s->depth == 0) return fail(s, s->pos, "not inside an array or object");
    int r;
    bool obj = top_is_obj(s);
    while ((r = obj ? an_jscan_member(s, NULL) : an_jscan_element(s)) == 1) {
    }
    return r;
}

static int scan_literal(an_jscan *s, const char *word)
{
    size_t n = strlen(word);
    if (s->len - s->pos < n || memcmp(s->text + s->pos, word, n) != 0)
        return fail(s, s->pos, "invalid literal (expected true, false or null)");
    s->pos += n;
    return 0;
}

/* Reads one scalar, or opens a container, at the cursor. */
static int step_value(an_jscan *s)
{
    int c = value_start(s);
    if (c < 0) return -AN_EINVAL;
    int r;
    switch (c) {
    case '{':
        return open_container(s, '{', true);
    case '[':
        return open_container(s, '[', false);
    case '"':
        r = scan_string(s, NULL);
        break;
    case 't':
        r = scan_literal(s, "true");
        break;
    case 'f':
        r = scan_literal(s, "false");
        break;
    case 'n':
        r = scan_literal(s, "null");
        break;
    default:
        if (c != '-' && (c < '0' || c > '9')) return fail(s, s->pos, "expected a value");
        r = scan_number(s, NULL);
    }
    if (r == 0) s->want_value = false;
    return r;
}

int an_jscan_skip(an_jscan *s)
{
    if (s->fault) return -AN_EINVAL;
    unsigned base = s->depth;
    for (;;) {
        if (step_value(s) < 0) return -AN_EINVAL;
        while (s->depth > base) {
            int r = top_is_obj(s) ? an_jscan_member(s, NULL) : an_jscan_element(s);
            if (r < 0) return r;
            if (r == 1) break;
        }
        if (s->depth == base) return 0;
    }
}

int an_jscan_raw(an_jscan *s, const char **p, size_t *n)
{
    if (value_start(s) < 0) return -AN_EINVAL;
    size_t start = s->pos;
    if (an_jscan_skip(s) < 0) return -AN_EINVAL;
    *p = s->text + start;
    *n = s->pos - start;
    return 0;
}

int an_jscan_done(an_jscan *s)
{
    if (s->fault) return -AN_EINVAL;
    if (s->want_value && an_jscan_skip(s) < 0) return -AN_EINVAL;
    if (s->depth) {
        while (s->depth)
            if (an_jscan_leave(s) < 0) return -AN_EINVAL;
    }
    skip_ws(s);
    if (s->pos != s->len) return fail(s, s->pos, "extra text after the JSON value");
    return 0;
}

int an_jscan_error(const an_jscan *s, const char *where, an_err *err)
{
    size_t line = 1, col = 1, end = s->fault_pos < s->len ? s->fault_pos : s->len;
    for (size_t i = 0; i < end; i++) {
        if (s->text[i] == '\n')
            line++, col = 1;
        else
            col++;
    }
    char place[300];
    snprintf(place, sizeof place, "%s%s%zu:%zu", where ? where : "", where && *where ? ":" : "",
             line, col);
    return an_err_set(err, AN_EINVAL, place, "malformed JSON: %s",
                      s->fault ? s->fault : "the walk stopped early");
}

/* ---- strings ------------------------------------------------------------------------ */

/* Decodes one unit of a checked string body at p[*i] (bounded by n) into out (up to 4 UTF-8
 * bytes); returns the byte count and advances *i. */
static size_t decode_one(const char *p, size_t n, size_t *i, char out[4])
{
    size_t k = *i;
    if (p[k] != '\\' || k + 1 >= n) {
        out[0] = p[k];
        *i = k + 1;
        return 1;
    }
    char e = p[k + 1];
    *i = k + 2;
    switch (e) {
    case 'b':
        out[0] = '\b';
        return 1;
    case 'f':
        out[0] = '\f';
        return 1;
    case 'n':
        out[0] = '\n';
        return 1;
    case 'r':
        out[0] = '\r';
        return 1;
    case 't':
        out[0] = '\t';
        return 1;
    case 'u':
        break;
    default:
        out[0] = e;
        return 1;
    }
    unsigned u = 0, lo = 0;
    if (hex4(p, n, k + 2, &u) < 0) { /* not from the scanner: keep the bytes */
        out[0] = '\\';
        *i = k + 1;
        return 1;
    }
    *i = k + 6;
    if (u >= 0xD800 && u <= 0xDBFF && n - *i >= 6 && p[*i] == '\\' && p[*i + 1] == 'u' &&
        hex4(p, n, *i + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        *i += 6;
    }
    size_t w = an_utf8_encode((int32_t)u, out);
    if (!w) { /* a lone surrogate: the scanner refuses these */
        memcpy(out, "\xef\xbf\xbd", 3);
        w = 3;
    }
    return w;
}

bool an_jstr_eq(const an_jstr *str, const char *lit)
{
    if (!str->escaped) {
        /* Keys are short and most comparisons fail early: no strlen. */
        for (size_t i = 0; i < str->len; i++)
            if (lit[i] == '\0' || lit[i] != str->p[i]) return false;
        return lit[str->len] == '\0';
    }
    size_t ll = strlen(lit);
    size_t i = 0, j = 0;
    char u[4];
    while (i < str->len) {
        size_t w = decode_one(str->p, str->len, &i, u);
        if (ll - j < w || memcmp(lit + j, u, w) != 0) return false;
        j += w;
    }
    return j == ll;
}

void an_jstr_unescape(const an_jstr *str, an_buf *out)
{
    if (!str->escaped) {
        an_buf_add(out, str->p, str->len);
        return;
    }
    an_buf_grow(out, str->len);
    size_t i = 0, run = 0;
    char u[4];
    while (i < str->len) {
        if (str->p[i] != '\\') {
            i++;
            continue;
        }
        an_buf_add(out, str->p + run, i - run);
        size_t w = decode_one(str->p, str->len, &i, u);
        an_buf_add(out, u, w);
        run = i;
    }
    an_buf_add(out, str->p + run, i - run);
}
