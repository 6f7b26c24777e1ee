/* base/: buffers, UTF-8, the canonical JSON writer, hashes, errors, timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/utf8.h"

static void test_buf_grows_and_formats(void **state)
{
    an_buf b;
    an_buf_init(&b);
    assert_string_equal(b.p, "");
    for (int i = 0; i < 1000; i++) an_buf_addf(&b, "%d,", i);
    assert_true(b.len > 3000);
    assert_int_equal(b.p[b.len], '\0');
    assert_memory_equal(b.p, "0,1,2,", 6);
    an_buf_truncate(&b, 2);
    assert_string_equal(b.p, "0,");
    an_buf_reset(&b);
    an_buf_adds(&b, "x");
    char *s = an_buf_detach(&b);
    assert_string_equal(s, "x");
    assert_null(b.p);
    free(s);
}

static void test_utf8_counts_code_points(void **state)
{
    /* "é" as e + combining acute (2 code points), a CJK pair, an emoji (4 bytes, 1 cp). */
    const char *s = "e\xcc\x81\xe4\xb8\x8a\xe6\xb5\xb7\xf0\x9f\x98\x80!";
    size_t len = strlen(s);
    assert_true(an_utf8_valid(s, len));
    assert_int_equal(an_utf8_count(s, len), 6);
    assert_int_equal(an_utf8_byte_offset(s, len, 0), 0);
    assert_int_equal(an_utf8_byte_offset(s, len, 2), 3);  /* after the combining mark */
    assert_int_equal(an_utf8_byte_offset(s, len, 4), 9);  /* the emoji starts here */
    assert_int_equal(an_utf8_byte_offset(s, len, 5), 13); /* "!" */
    assert_int_equal(an_utf8_byte_offset(s, len, 6), 14); /* end of text */
    assert_int_equal(an_utf8_byte_offset(s, len, 7), -1);
    size_t i = 9;
    assert_int_equal(an_utf8_next(s, len, &i), 0x1F600);
    assert_int_equal(i, 13);
}

static void test_utf8_rejects_malformed(void **state)
{
    assert_false(an_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(an_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(an_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(an_utf8_valid("\xe4\xb8", 2));         /* truncated */
    assert_false(an_utf8_valid("\x80", 1));             /* lone continuation */
    char out[4];
    assert_int_equal(an_utf8_encode(0x1F600, out), 4);
    assert_memory_equal(out, "\xf0\x9f\x98\x80", 4);
    assert_int_equal(an_utf8_encode(0xD800, out), 0);
}

static char *canon(const char *text)
{
    an_err e;
    json_t *j = an_json_parse(text, strlen(text), "t", &e);
    assert_non_null(j);
    char *out = an_json_text(j);
    json_decref(j);
    return out;
}

static void test_json_canonical_text(void **state)
{
    char *s = canon("{ \"b\": [1, 2.5, 12.3, 0.1, 1e300, -0.0, 3.0], \"a\" : \"x\\u00e9\\n\\u0001\","
                    " \"z\": {\"k\": null, \"t\": true}}");
    /* insertion order kept, no spaces, shortest reals, UTF-8 kept, controls escaped */
    assert_string_equal(s, "{\"b\":[1,2.5,12.3,0.1,1e+300,-0.0,3.0],\"a\":\"x\xc3\xa9\\n\\u0001\","
                           "\"z\":{\"k\":null,\"t\":true}}");
    /* canonical text is a fixed point */
    char *again = canon(s);
    assert_string_equal(s, again);
    free(again);
    free(s);
}

static void test_json_reals_round_trip(void **state)
{
    double vals[] = {1.0 / 3, 12.3, 0.1 + 0.2, 5e-324, 1.7976931348623157e308, 33.333333333333336};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        an_buf b;
        an_buf_init(&b);
        an_json_write_real(&b, vals[i]);
        assert_true(strtod(b.p, NULL) == vals[i]);
        an_buf_free(&b);
    }
}

/* The contract's reference: the first of %.15g, %.16g, %.17g that strtod reads back. */
static void real_reference(char *tmp, size_t cap, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, cap, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) break;
    }
    if (!strpbrk(tmp, ".eEn")) strncat(tmp, ".0", cap - strlen(tmp) - 1);
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The fast writer gives the reference's text for every kind of double: any bit pattern,
 * pixel coordinates (percent × size / 100), small and large magnitudes, integers, powers of
 * ten and their neighbours. */
static void test_json_reals_match_the_reference(void **state)
{
    uint64_t seed = 12345;
    char want[64];
    an_buf b;
    an_buf_init(&b);
    for (long i = 0; i < 1000000; i++) {
        uint64_t u = xorshift(&seed);
        double v;
        switch (i % 5) {
        case 0:
            memcpy(&v, &u, sizeof v);
            if (!isfinite(v)) continue;
            break;
        case 1: v = (double)(u >> 11) / 9007199254740992.0 * 100.0 * (double)(1 + i % 4096) / 100.0; break;
        case 2: v = ldexp((double)(u >> 11), (int)(xorshift(&seed) % 240) - 173); break;
        case 3: v = (double)(int64_t)(u >> (u % 64)) * (i % 2 ? 1 : -1); break;
        default: {
            double p = pow(10, (double)(int)(u % 40) - 20);
            v = xorshift(&seed) % 2 ? nextafter(p, 0) : nextafter(p, INFINITY);
            if (u % 3 == 0) v = p;
        }
        }
        real_reference(want, sizeof want, v);
        an_buf_reset(&b);
        an_json_write_real(&b, v);
        if (strcmp(b.p, want) != 0) fail_msg("%a: got %s want %s", v, b.p, want);
    }
    const double edge[] = {0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                           1e15, 1e16, 1e17, 1e-5, 1e-4, 123456789012345678.0, 0.1, 1.0 / 3};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        real_reference(want, sizeof want, edge[i]);
        an_buf_reset(&b);
        an_json_write_real(&b, edge[i]);
        assert_string_equal(b.p, want);
    }
    an_buf_free(&b);
}

static void test_json_parse_error_names_place(void **state)
{
    an_err e;
    an_err_clear(&e);
    json_t *j = an_json_parse("{\n \"a\": }", 10, "f.json", &e);
    assert_null(j);
    assert_int_equal(e.code, AN_EINVAL);
    assert_non_null(strstr(e.where, "f.json:2:"));
}

static void test_hash_is_stable(void **state)
{
    uint8_t h1[AN_HASH_BYTES], h2[AN_HASH_BYTES];
    char hex[33];
    an_hash("abc", 3, h1);
    an_hash("abc", 3, h2);
    assert_memory_equal(h1, h2, AN_HASH_BYTES);
    an_hash("abd", 3, h2);
    assert_memory_not_equal(h1, h2, AN_HASH_BYTES);
    an_hash_hex(h1, hex);
    assert_int_equal(strlen(hex), 32);
    /* BLAKE2b-128 of "abc" (RFC 7693 parameters, 16-byte digest) */
    assert_string_equal(hex, "cf4ab791c62b8d2b2109c90275287816");
}

static void test_err_sets_and_prefixes(void **state)
{
    an_err e;
    an_err_clear(&e);
    int rc = an_err_set(&e, AN_EINVAL, "result[0]", "bad %s", "thing");
    assert_int_equal(rc, -AN_EINVAL);
    assert_string_equal(e.msg, "bad thing");
    an_err_prefix_where(&e, "a.jsonl:3");
    assert_string_equal(e.where, "a.jsonl:3:result[0]");
    assert_int_equal(an_err_exit_status(&e), 1);
    e.code = AN_EIO;
    assert_int_equal(an_err_exit_status(&e), 2);
}

/* The hand-made formatter says what gmtime_r and printf say, across leap years, century
 * rules, the epoch, times before it and the last second of year 9999. */
static void reference_iso(int64_t sec, long usec, char out[64])
{
    time_t tt = (time_t)sec;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
}

static void test_iso_from_epoch_matches_gmtime(void **state)
{
    (void)state;
    char got[32], want[64];
    const int64_t fixed[] = {0,          -1,           86399,        86400,
                             951782400,  951868799,    4107542400,   -2208988800,
                             1772236800, 253402300799, -62135596800, 1709164800,
                             68169600,   -86401,       1234567890};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        an_iso_from_epoch(fixed[i], 123456, got);
        reference_iso(fixed[i], 123456, want);
        assert_string_equal(got, want);
    }
    /* Every day from 1900 to 2200 at a changing time of day, and random moments up to 9999. */
    for (int64_t d = -25567; d < 84006; d++) {
        int64_t sec = d * 86400 + (d * 7919) % 86400;
        an_iso_from_epoch(sec, (long)(d & 0xfffff) % 1000000, got);
        reference_iso(sec, (long)(d & 0xfffff) % 1000000, want);
        assert_string_equal(got, want);
    }
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t sec = (int64_t)(x % 253402300800ULL);
        an_iso_from_epoch(sec, 0, got);
        reference_iso(sec, 0, want);
        assert_string_equal(got, want);
    }
    /* Years past four digits still give gmtime's answer rather than a wrong date. */
    an_iso_from_epoch(253402300800, 0, got);
    assert_string_equal(got, "10000-01-01T00:00:00.000000Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_grows_and_formats),
        cmocka_unit_test(test_utf8_counts_code_points),
        cmocka_unit_test(test_utf8_rejects_malformed),
        cmocka_unit_test(test_json_canonical_text),
        cmocka_unit_test(test_json_reals_round_trip),
        cmocka_unit_test(test_json_reals_match_the_reference),
        cmocka_unit_test(test_json_parse_error_names_place),
        cmocka_unit_test(test_hash_is_stable),
        cmocka_unit_test(test_err_sets_and_prefixes),
        cmocka_unit_test(test_iso_from_epoch_matches_gmtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
