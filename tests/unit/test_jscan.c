/* base/jscan: walking objects and arrays, strings with escapes, numbers read exactly as strtod
 * reads them, and strict refusal of malformed text without reading past its end (each text is
 * copied into a buffer of its exact size, so ASan sees any over-read). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jscan.h"

/* An exact-size copy of text (no NUL after it). */
static char *exact(const char *text, size_t len)
{
    char *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, text, len);
    return p;
}

/* Walks any value at the cursor, reading every scalar: 0 or -AN_EINVAL. */
static int walk(an_jscan *s)
{
    an_jstr str;
    double d;
    switch (an_jscan_peek(s)) {
    case AN_JOBJECT: {
        if (an_jscan_object(s) < 0) return -AN_EINVAL;
        int r;
        while ((r = an_jscan_member(s, &str)) == 1)
            if (walk(s) < 0) return -AN_EINVAL;
        return r;
    }
    case AN_JARRAY: {
        if (an_jscan_array(s) < 0) return -AN_EINVAL;
        int r;
        while ((r = an_jscan_element(s)) == 1)
            if (walk(s) < 0) return -AN_EINVAL;
        return r;
    }
    case AN_JSTRING:
        return an_jscan_string(s, &str);
    case AN_JNUMBER:
        return an_jscan_number(s, &d);
    default:
        return an_jscan_skip(s);
    }
}

/* Accepted by a full walk, and by a skip. */
static bool accepted(const char *text, size_t len)
{
    char *p = exact(text, len);
    an_jscan s;
    an_jscan_init(&s, p, len);
    bool ok = walk(&s) == 0 && an_jscan_done(&s) == 0;
    an_jscan_init(&s, p, len);
    bool ok2 = an_jscan_skip(&s) == 0 && an_jscan_done(&s) == 0;
    free(p);
    assert_int_equal(ok, ok2);
    return ok;
}

static void test_walks_objects_and_arrays(void **state)
{
    const char *t =
        " {\"type\":\"rectanglelabels\", \"skip\": {\"a\": [1, {\"b\": null}], \"c\": true},"
        "\"value\": {\"x\": 12.5, \"labels\": [\"Car\", \"Tr\\u00e9e\"]},\n"
        "\"n\": [], \"o\": {}} ";
    char *p = exact(t, strlen(t));
    an_jscan s;
    an_jstr k, v;
    double x = 0;
    an_jscan_init(&s, p, strlen(t));
    assert_int_equal(an_jscan_peek(&s), AN_JOBJECT);
    assert_int_equal(an_jscan_object(&s), 0);
    assert_int_equal(an_jscan_member(&s, &k), 1);
    assert_true(an_jstr_eq(&k, "type"));
    assert_false(an_jstr_eq(&k, "typ"));
    assert_false(an_jstr_eq(&k, "types"));
    assert_int_equal(an_jscan_string(&s, &v), 0);
    assert_true(an_jstr_eq(&v, "rectanglelabels"));
    /* "skip" is passed over (and checked) without reading it */
    assert_int_equal(an_jscan_find(&s, "value"), 1);
    assert_int_equal(an_jscan_object(&s), 0);
    assert_int_equal(an_jscan_find(&s, "x"), 1);
    assert_int_equal(an_jscan_number(&s, &x), 0);
    assert_true(x == 12.5);
    assert_int_equal(an_jscan_member(&s, &k), 1);
    assert_true(an_jstr_eq(&k, "labels"));
    assert_int_equal(an_jscan_array(&s), 0);
    assert_int_equal(an_jscan_element(&s), 1);
    assert_int_equal(an_jscan_string(&s, &v), 0);
    assert_true(an_jstr_eq(&v, "Car"));
    assert_int_equal(an_jscan_element(&s), 1);
    assert_int_equal(an_jscan_string(&s, &v), 0);
    assert_true(v.escaped);
    assert_true(an_jstr_eq(&v, "Tr\xc3\xa9"
                               "e"));
    assert_false(an_jstr_eq(&v, "Tr\xc3\xa9"));
    assert_int_equal(an_jscan_element(&s), 0);
    assert_int_equal(an_jscan_member(&s, &k), 0); /* end of "value" */
    /* "n" and "o": empty containers */
    assert_int_equal(an_jscan_member(&s, &k), 1);
    assert_int_equal(an_jscan_array(&s), 0);
    assert_int_equal(an_jscan_element(&s), 0);
    assert_int_equal(an_jscan_member(&s, &k), 1);
    assert_true(an_jstr_eq(&k, "o"));
    assert_int_equal(an_jscan_object(&s), 0);
    assert_int_equal(an_jscan_member(&s, &k), 0);
    assert_int_equal(an_jscan_member(&s, &k), 0);
    assert_int_equal(an_jscan_done(&s), 0);
    free(p);
}

static void test_find_missing_and_leave(void **state)
{
    const char *t = "[{\"a\":1,\"b\":[2,3]},{\"c\":\"x\"},4]";
    char *p = exact(t, strlen(t));
    an_jscan s;
    an_jscan_init(&s, p, strlen(t));
    assert_int_equal(an_jscan_array(&s), 0);
    assert_int_equal(an_jscan_element(&s), 1);
    assert_int_equal(an_jscan_object(&s), 0);
    assert_int_equal(an_jscan_find(&s, "zzz"), 0); /* object consumed */
    assert_int_equal(an_jscan_element(&s), 1);
    assert_int_equal(an_jscan_object(&s), 0);
    assert_int_equal(an_jscan_leave(&s), 0);
    assert_int_equal(an_jscan_element(&s), 1);
    const char *raw;
    size_t n;
    assert_int_equal(an_jscan_raw(&s, &raw, &n), 0);
    assert_int_equal(n, 1);
    assert_memory_equal(raw, "4", 1);
    assert_int_equal(an_jscan_element(&s), 0);
    assert_int_equal(an_jscan_done(&s), 0);
    free(p);

    /* an_jscan_raw gives a span a second scanner can walk */
    t = "{\"v\": {\"x\": [1, 2]} }";
    p = exact(t, strlen(t));
    an_jscan_init(&s, p, strlen(t));
    assert_int_equal(an_jscan_object(&s), 0);
    assert_int_equal(an_jscan_member(&s, NULL), 1);
    assert_int_equal(an_jscan_raw(&s, &raw, &n), 0);
    assert_int_equal(n, strlen("{\"x\": [1, 2]}"));
    an_jscan sub;
    an_jscan_init(&sub, raw, n);
    assert_int_equal(an_jscan_object(&sub), 0);
    assert_int_equal(an_jscan_find(&sub, "x"), 1);
    assert_int_equal(an_jscan_done(&sub), 0);
    assert_int_equal(an_jscan_done(&s), 0);
    free(p);
}

static void test_type_mismatch_is_a_fault(void **state)
{
    an_jscan s;
    double d;
    an_jstr v;
    an_jscan_init(&s, "\"12\"", 4);
    assert_int_equal(an_jscan_number(&s, &d), -AN_EINVAL);
    /* the scanner stays failed */
    assert_int_equal(an_jscan_string(&s, &v), -AN_EINVAL);
    assert_int_equal(an_jscan_done(&s), -AN_EINVAL);
    an_jscan_init(&s, "[1]", 3);
    assert_int_equal(an_jscan_object(&s), -AN_EINVAL);
    an_jscan_init(&s, "{}", 2);
    assert_int_equal(an_jscan_object(&s), 0);
    assert_int_equal(an_jscan_element(&s), -AN_EINVAL); /* not inside an array */
}

static void test_strings_unescape(void **state)
{
    const char *t = "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u4e0a\\ud83d\\ude00 \xe6\xb5\xb7!\"";
    char *p = exact(t, strlen(t));
    an_jscan s;
    an_jstr v;
    an_jscan_init(&s, p, strlen(t));
    assert_int_equal(an_jscan_string(&s, &v), 0);
    assert_int_equal(an_jscan_done(&s), 0);
    an_buf b;
    an_buf_init(&b);
    an_buf_adds(&b, ">");
    an_jstr_unescape(&v, &b);
    const char want[] = ">a\"b\\c/d\b\f\n\r\t\xc3\xa9\xe4\xb8\x8a\xf0\x9f\x98\x80 \xe6\xb5\xb7!";
    assert_int_equal(b.len, sizeof want - 1);
    assert_memory_equal(b.p, want, sizeof want - 1);
    assert_int_equal(b.p[b.len], '\0');
    assert_true(an_jstr_eq(&v, want + 1));
    an_buf_free(&b);
    free(p);
}

static void test_accepts_valid_text(void **state)
{
    const char *good[] = {
        "0",
        "-0",
        "1.5e+3",
        "-12.25E-2",
        "true",
        "false",
        "null",
        "\"\"",
        "[]",
        "{}",
        " [ 1 , [ ] , { } ] ",
        "{\"a\":{\"b\":[[]]}}",
        "\"\\u00e9\\uD834\\uDD1E\"",
        "\t\r\n[1]\n",
        "1e-400",
        "123456789012345678901234567890",
        "0.000000000000000000000000000000000000000000001",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (!accepted(good[i], strlen(good[i]))) fail_msg("refused: %s", good[i]);
    }
}

static void test_refuses_malformed_text(void **state)
{
    const char *bad[] = {
        "",
        " ",
        "[",
        "]",
        "{",
        "[1,]",
        "[,1]",
        "[1 2]",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "{,\"a\":1}",
        "{a:1}",
        "{\"a\" 1}",
        "[}",
        "{]",
        "01",
        "1.",
        ".5",
        "-",
        "+1",
        "1e",
        "1e+",
        "0x10",
        "1.5.2",
        "Infinity",
        "NaN",
        "tru",
        "nul",
        "falsey",
        "truex",
        "\"abc",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12G4\"",
        "\"\\ud800\"",
        "\"\\ud800\\u0041\"",
        "\"\\udc00\"",
        "\"\\u0000\"",
        "\"\x01\"",
        "\"\xff\"",
        "\"\xc3\"",
        "\"\xed\xa0\x80\"",
        "1 2",
        "[1]]",
        "{} {}",
        "1e309",
        "-1e309",
        "[1e400000000000000000000000000000000]",
        "[\"a\\\"]",
        "\"\\",
        "[1,",
        "{\"a\":1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (accepted(bad[i], strlen(bad[i]))) fail_msg("accepted: %s", bad[i]);
    /* with an embedded NUL byte */
    assert_false(accepted("\"a\0b\"", 5));
    assert_false(accepted("[1]\0", 4));
}

static void test_depth_limit(void **state)
{
    size_t n = AN_JSCAN_MAX_DEPTH;
    char *t = malloc(2 * n + 2);
    assert_non_null(t);
    memset(t, '[', n);
    memset(t + n, ']', n);
    assert_true(accepted(t, 2 * n));
    memset(t, '[', n + 1);
    memset(t + n + 1, ']', n + 1);
    assert_false(accepted(t, 2 * n + 2));
    free(t);
}

/* Every proper prefix of a valid document is refused, without reading past it. */
static void test_truncated_text_is_refused(void **state)
{
    const char *t =
        "{\"id\":\"b0\",\"type\":\"rectanglelabels\",\"value\":{\"x\":76.48274175113995,"
        "\"y\":-1.5e-3,\"t\":[true,false,null],\"s\":\"\\u00e9\\ud83d\\ude00\xe6\xb5\xb7\"}}";
    size_t len = strlen(t);
    assert_true(accepted(t, len));
    for (size_t n = 0; n < len; n++) {
        /* "…{…}" minus its last byte can only fail; some prefixes end in a whole number */
        if (accepted(t, n)) fail_msg("prefix of %zu bytes accepted", n);
    }
}

static void test_error_names_line_and_column(void **state)
{
    const char *t = "{\"a\": 1,\n  \"b\": tru}";
    an_jscan s;
    an_err e;
    an_jscan_init(&s, t, strlen(t));
    assert_int_equal(walk(&s), -AN_EINVAL);
    assert_int_equal(an_jscan_error(&s, "task 7", &e), -AN_EINVAL);
    assert_int_equal(e.code, AN_EINVAL);
    assert_string_equal(e.where, "task 7:2:8");
    assert_non_null(strstr(e.msg, "malformed JSON"));
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void check_number(const char *text)
{
    double got, want = strtod(text, NULL);
    size_t n = strlen(text);
    char *p = exact(text, n);
    int rc = an_jscan_parse_number(p, n, &got);
    free(p);
    if (!isfinite(want)) {
        assert_int_equal(rc, -AN_EINVAL);
        return;
    }
    if (rc != 0 || memcmp(&got, &want, sizeof got) != 0)
        fail_msg("%s: got %.17g want %.17g (rc %d)", text, got, want, rc);
}

/* Numbers read exactly as strtod reads them: random doubles at every precision, random digit
 * strings, halfway cases and the edges of the range. */
static void test_numbers_read_as_strtod_does(void **state)
{
    const char *edge[] = {
        "0",
        "-0",
        "0.0",
        "1",
        "-1",
        "0.1",
        "0.3",
        "9007199254740993",
        "9007199254740992.5",
        "18014398509481985",
        "1e23",
        "8.98846567431158e307",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "2.2250738585072014e-308",
        "2.2250738585072011e-308",
        "4.9e-324",
        "2e-324",
        "1e-400",
        "123456789012345678901",
        "1234567890123456789",
        "12345678901234567890",
        "0.000001",
        "1e-7",
        "7.2057594037927933e16",
        "2.4703282292062327e-324",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "100000000000000000000000",
        "1e27",
        "1e28",
        "1e-27",
        "1e-28",
        "3.0",
        "1448.4686416219287",
    };
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
        check_number(edge[i]);
    char buf[64];
    for (int i = 0; i < 300000; i++) {
        uint64_t u = rng();
        double v;
        switch (i % 4) {
        case 0: /* any finite double */
            memcpy(&v, &u, sizeof v);
            if (!isfinite(v)) continue;
            snprintf(buf, sizeof buf, "%.*g", 15 + (int)(rng() % 3), v);
            break;
        case 1: /* pixel and percent values as exports see them */
            v = (double)(u >> 11) / 9007199254740992.0 * 100.0 * (double)(1 + rng() % 4000) / 100.0;
            snprintf(buf, sizeof buf, "%.*g", 15 + (int)(rng() % 3), v);
            break;
        case 2: { /* random digits and exponent: halfway cases and many digits */
            int nd = 1 + (int)(rng() % 24), e = (int)(rng() % 80) - 40;
            size_t k = 0;
            buf[k++] = (char)('1' + rng() % 9);
            for (int d = 1; d < nd; d++)
                buf[k++] = (char)('0' + rng() % 10);
            snprintf(buf + k, sizeof buf - k, "e%d", e);
            break;
        }
        default: /* odd integers in [2^53, 2^54): exactly halfway between two doubles */
            if (i % 8 == 3) {
                snprintf(buf, sizeof buf, "%llu",
                         (unsigned long long)((UINT64_C(1) << 53) | (u >> 11) | 1));
            } else { /* a midpoint printed in full (40 digits and more) */
                double a = (double)(u >> 11) * 0x1p-30, b = nextafter(a, INFINITY);
                snprintf(buf, sizeof buf, "%.45Lg", ((long double)a + b) / 2);
            }
            break;
        }
        check_number(buf);
    }
}

static void test_decimal(void **state)
{
    assert_true(an_jscan_decimal(0, 5) == 0);
    assert_true(an_jscan_decimal(125, -1) == 12.5);
    assert_true(an_jscan_decimal(1, 400) == INFINITY);
    assert_true(an_jscan_decimal(UINT64_C(18446744073709551615), 0) == 18446744073709551615.0);
    for (int i = 0; i < 100000; i++) {
        uint64_t m = rng() >> (rng() % 64);
        int e = (int)(rng() % 60) - 30;
        char buf[48];
        snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)m, e);
        double want = strtod(buf, NULL);
        if (an_jscan_decimal(m, e) != want) fail_msg("%s", buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walks_objects_and_arrays),
        cmocka_unit_test(test_find_missing_and_leave),
        cmocka_unit_test(test_type_mismatch_is_a_fault),
        cmocka_unit_test(test_strings_unescape),
        cmocka_unit_test(test_accepts_valid_text),
        cmocka_unit_test(test_refuses_malformed_text),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_truncated_text_is_refused),
        cmocka_unit_test(test_error_names_line_and_column),
        cmocka_unit_test(test_numbers_read_as_strtod_does),
        cmocka_unit_test(test_decimal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
