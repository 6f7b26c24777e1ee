/* comply/pii: every validator on valid and invalid values (valid ones made here by computing
 * their check characters, so they are fictitious), the digit-boundary rule, context words
 * raising and lowering scores, code-point offsets in Chinese text with emoji, overlaps,
 * custom patterns and deny lists, where each kind's match starts (found by walking back from
 * its end), many lines scanned at once as each line alone, and streams read in blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "comply/pii.h"
#include "comply/pii_input.h"

/* ---- values made by computing their check characters ---------------------------------- */

static void make_id(const char *first17, char out[19])
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++) sum += (first17[i] - '0') * w[i];
    memcpy(out, first17, 17);
    out[17] = "10X98765432"[sum % 11];
    out[18] = '\0';
}

static void make_uscc(const char *first17, char out[19])
{
    static const char al[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    int sum = 0, w = 1;
    for (int i = 0; i < 17; i++) {
        sum += (int)(strchr(al, first17[i]) - al) * w;
        w = w * 3 % 31;
    }
    memcpy(out, first17, 17);
    out[17] = al[(31 - sum % 31) % 31];
    out[18] = '\0';
}

static void make_card(const char *body, char *out)
{
    size_t n = strlen(body);
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int v = body[n - 1 - i] - '0';
        if (i % 2 == 0) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
        sum += v;
    }
    memcpy(out, body, n);
    out[n] = (char)('0' + (10 - sum % 10) % 10);
    out[n + 1] = '\0';
}

static char mrz_digit(const char *s, size_t n)
{
    static const int w[3] = {7, 3, 1};
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'Z' ? c - 'A' + 10 : 0;
        sum += v * w[i % 3];
    }
    return (char)('0' + sum % 10);
}

/* A TD3 second line for passport E12345678, born 1990-01-01, expiring 2030-01-01. */
static void make_mrz(char out[45])
{
    memcpy(out, "E12345678?CHN900101?F300101?<<<<<<<<<<<<<<??", 44);
    out[44] = '\0';
    out[9] = mrz_digit(out, 9);
    out[19] = mrz_digit(out + 13, 6);
    out[27] = mrz_digit(out + 21, 6);
    out[42] = '<';
    char comp[64];
    memcpy(comp, out, 10);
    memcpy(comp + 10, out + 13, 7);
    memcpy(comp + 17, out + 21, 22);
    out[43] = mrz_digit(comp, 39);
}

/* ---- validators -------------------------------------------------------------------------- */

static void test_id_card(void **state)
{
    char id[19];
    make_id("11010519491231002", id);
    assert_true(an_pii_valid_id_card(id, 18));
    make_id("44030420000229123", id); /* 29 February of a leap year */
    assert_true(an_pii_valid_id_card(id, 18));
    id[17] = id[17] == '0' ? '1' : '0'; /* wrong check character */
    assert_false(an_pii_valid_id_card(id, 18));
    make_id("44030419000229123", id); /* 1900 was not a leap year */
    assert_false(an_pii_valid_id_card(id, 18));
    make_id("11010519491332002", id); /* month 13 */
    assert_false(an_pii_valid_id_card(id, 18));
    make_id("01010519491231002", id); /* region 0 */
    assert_false(an_pii_valid_id_card(id, 18));
    assert_false(an_pii_valid_id_card("1101051949123100", 16));
    /* A lower-case x check character is accepted as X. */
    assert_true(an_pii_valid_id_card("11010519491231002x", 18));
    assert_true(an_pii_valid_id_card("11010519491231002X", 18));
}

static void test_uscc(void **state)
{
    char c[19];
    make_uscc("91350100M000100Y4", c);
    assert_true(an_pii_valid_uscc(c, 18));
    c[17] = c[17] == '0' ? '1' : '0';
    assert_false(an_pii_valid_uscc(c, 18));
    make_uscc("9135010AM000100Y4", c); /* letter in the division code */
    assert_false(an_pii_valid_uscc(c, 18));
    assert_false(an_pii_valid_uscc("91350100M000100YI", 17));
}

static void test_bank_card(void **state)
{
    char card[32];
    const char *bodies[] = {"622202020011223", "411111111111111", "555555555555444",
                            "22230000000000", "37828224631000", "353011133330000"};
    size_t want_len[] = {16, 16, 16, 15, 15, 16};
    for (size_t i = 0; i < 6; i++) {
        make_card(bodies[i], card);
        assert_int_equal(strlen(card), want_len[i]);
        if (i == 3) { /* Mastercard 2-series needs 16 digits: 15 is refused */
            assert_true(an_pii_luhn(card, strlen(card)));
            assert_false(an_pii_valid_bank_card(card, strlen(card)));
            continue;
        }
        assert_true(an_pii_valid_bank_card(card, strlen(card)));
        card[strlen(card) - 1] = card[strlen(card) - 1] == '9' ? '0' : card[strlen(card) - 1] + 1;
        assert_false(an_pii_valid_bank_card(card, strlen(card)));
    }
    make_card("911111111111111", card); /* Luhn fine, no issuer 9 */
    assert_true(an_pii_luhn(card, 16));
    assert_false(an_pii_valid_bank_card(card, 16));
    assert_true(an_pii_valid_bank_card("4111 1111 1111 1111", 19));
}

static void test_phone(void **state)
{
    assert_true(an_pii_valid_phone("13812345678", 11));
    assert_true(an_pii_valid_phone("+86 138 1234 5678", 17));
    assert_true(an_pii_valid_phone("010-62345678", 12));
    assert_true(an_pii_valid_phone("(0755)23456789", 14));
    assert_true(an_pii_valid_phone("+44 20 7946 0958", 16));
    assert_false(an_pii_valid_phone("12812345678", 11)); /* 12x is no mobile prefix */
    assert_false(an_pii_valid_phone("010-12345678", 12)); /* subscriber starts with 1 */
    assert_false(an_pii_valid_phone("0123-4567890", 12)); /* area 01x other than 010 */
    assert_false(an_pii_valid_phone("+0123456789", 11));
    assert_false(an_pii_valid_phone("+1234567890123456", 17)); /* 16 digits */
}

static void test_email_ip(void **state)
{
    assert_true(an_pii_valid_email("zhang.san@example.com.cn", 24));
    assert_false(an_pii_valid_email("zhang..san@example.com", 22));
    assert_false(an_pii_valid_email("a@-example.com", 14));
    assert_true(an_pii_valid_ipv4("192.168.1.10", 12));
    assert_false(an_pii_valid_ipv4("192.168.1.256", 13));
    assert_false(an_pii_valid_ipv4("192.168.01.1", 12));
    assert_true(an_pii_valid_ipv6("2001:db8::8a2e:370:7334", 23));
    assert_true(an_pii_valid_ipv6("fe80::1:2", 9));
    assert_false(an_pii_valid_ipv6("12:30:45", 8));
    assert_false(an_pii_valid_ipv6("2001:db8:::1", 12));
}

static void test_passport_mrz(void **state)
{
    assert_true(an_pii_valid_passport("E12345678", 9));
    assert_true(an_pii_valid_passport("EA1234567", 9));
    assert_true(an_pii_valid_passport("G12345678", 9));
    assert_true(an_pii_valid_passport("DE1234567", 9));
    assert_false(an_pii_valid_passport("EI1234567", 9));
    assert_false(an_pii_valid_passport("X12345678", 9));
    /* ICAO 9303's own example: "L898902C3" has check digit 6. */
    assert_int_equal(an_pii_mrz_check_digit("L898902C3", 9), 6);
    assert_int_equal(an_pii_mrz_check_digit("740812", 6), 2);
    char mrz[45];
    make_mrz(mrz);
    assert_true(an_pii_valid_mrz(mrz, 44));
    mrz[19] = mrz[19] == '9' ? '0' : mrz[19] + 1; /* birth date check digit */
    assert_false(an_pii_valid_mrz(mrz, 44));
}

static void test_plate(void **state)
{
    assert_true(an_pii_valid_plate("京A12345", strlen("京A12345")));
    assert_true(an_pii_valid_plate("粤B·D12345", strlen("粤B·D12345")));   /* small new-energy */
    assert_true(an_pii_valid_plate("沪A12345F", strlen("沪A12345F")));     /* large new-energy */
    assert_true(an_pii_valid_plate("苏E1234挂", strlen("苏E1234挂")));
    assert_false(an_pii_valid_plate("京AABC12", strlen("京AABC12")));     /* three letters */
    assert_false(an_pii_valid_plate("京I12345", strlen("京I12345")));     /* I is not used */
    assert_false(an_pii_valid_plate("哈A12345", strlen("哈A12345")));     /* not a province */
    assert_false(an_pii_valid_plate("京AX12345", strlen("京AX12345")));   /* 6: not D/F */
}

/* ---- scanning ----------------------------------------------------------------------------- */

typedef struct fx {
    an_pii_scanner *sc;
    an_pii_ctx *ctx;
} fx;

static fx open_fx(const an_pii_rules *r)
{
    fx f;
    an_err e;
    assert_int_equal(an_pii_scanner_new(r, NULL, &f.sc, &e), 0);
    assert_int_equal(an_pii_ctx_new(f.sc, &f.ctx, &e), 0);
    return f;
}

static void close_fx(fx *f)
{
    an_pii_ctx_free(f->ctx);
    an_pii_scanner_free(f->sc);
}

static size_t scan(fx *f, const char *text, const an_pii_finding **out)
{
    size_t n;
    an_err e;
    assert_int_equal(an_pii_scan(f->ctx, text, strlen(text), out, &n, &e), 0);
    return n;
}

static void test_digit_boundaries(void **state)
{
    fx f = open_fx(NULL);
    const an_pii_finding *r;
    char id[19], text[128];
    make_id("11010519491231002", id);
    snprintf(text, sizeof text, "号码%s。", id);
    assert_int_equal(scan(&f, text, &r), 1);
    assert_int_equal(r[0].type, AN_PII_ID_CARD);
    /* The same number inside a longer run of digits is not a match. */
    snprintf(text, sizeof text, "9%s", id);
    assert_int_equal(scan(&f, text, &r), 0);
    snprintf(text, sizeof text, "%s7", id);
    assert_int_equal(scan(&f, text, &r), 0);
    assert_int_equal(scan(&f, "x13812345678y", &r), 1);
    assert_int_equal(scan(&f, "213812345678", &r), 0);
    assert_int_equal(scan(&f, "138123456789", &r), 0);
    assert_int_equal(scan(&f, "192.168.1.10.5", &r), 0);
    close_fx(&f);
}

static void test_context(void **state)
{
    fx f = open_fx(NULL);
    const an_pii_finding *r;
    assert_int_equal(scan(&f, "见 13812345678", &r), 1);
    double plain = r[0].score;
    assert_int_equal(scan(&f, "手机 13812345678", &r), 1);
    assert_true(r[0].score > plain);
    assert_int_equal(scan(&f, "Phone: 13812345678", &r), 1);
    assert_true(r[0].score > plain);
    assert_int_equal(scan(&f, "订单号 13812345678", &r), 1);
    assert_true(r[0].score < plain);
    assert_int_equal(scan(&f, "tracking 13812345678", &r), 1);
    assert_true(r[0].score < plain);
    /* An English word must stand alone: "ship" holds "ip" but is not context. */
    assert_int_equal(scan(&f, "ship 10.1.2.3", &r), 1);
    double ship = r[0].score;
    assert_int_equal(scan(&f, "ip 10.1.2.3", &r), 1);
    assert_true(r[0].score > ship);
    close_fx(&f);
}

static void test_codepoint_offsets(void **state)
{
    fx f = open_fx(NULL);
    const an_pii_finding *r;
    /* "我😀的邮箱是 a@b.cn，手机13812345678" */
    const char *text = "我😀的邮箱是 a@b.cn，手机13812345678";
    assert_int_equal(scan(&f, text, &r), 2);
    assert_int_equal(r[0].type, AN_PII_EMAIL);
    assert_int_equal(r[0].start, 7);
    assert_int_equal(r[0].end, 13);
    assert_int_equal(r[0].bstart, strlen("我😀的邮箱是 "));
    assert_int_equal(r[1].type, AN_PII_PHONE);
    assert_int_equal(r[1].start, 16);
    assert_int_equal(r[1].end, 27);
    close_fx(&f);
}

static void test_overlaps(void **state)
{
    fx f = open_fx(NULL);
    const an_pii_finding *r;
    char id[19], text[64];
    /* An identity number whose digits could also read as a card or credit code: one finding,
     * the identity number (validated with its date, scored highest). */
    make_id("62010219900101123", id);
    snprintf(text, sizeof text, "%s", id);
    assert_int_equal(scan(&f, text, &r), 1);
    assert_int_equal(r[0].type, AN_PII_ID_CARD);
    /* An email inside a longer address keeps the longer match. */
    assert_int_equal(scan(&f, "a@b.com.cn", &r), 1);
    assert_int_equal(r[0].end, 10);
    /* +86 mobile: the mobile reading (with its prefix) beats the generic E.164 one. */
    assert_int_equal(scan(&f, "+8613812345678", &r), 1);
    assert_int_equal(r[0].start, 0);
    assert_int_equal(r[0].end, 14);
    close_fx(&f);
}

static void test_all_types(void **state)
{
    fx f = open_fx(NULL);
    const an_pii_finding *r;
    char id[19], uscc[19], card[24], mrz[45], text[512];
    make_id("32010619851010201", id);
    make_uscc("91110108MA01ABCD1", uscc);
    make_card("622848001234567", card);
    make_mrz(mrz);
    snprintf(text, sizeof text,
             "身份证%s 信用代码%s 卡号%s fe80::1:2 车牌沪AD12345 护照EA1234567 %s",
             id, uscc, card, mrz);
    size_t n = scan(&f, text, &r);
    an_pii_type want[] = {AN_PII_ID_CARD, AN_PII_USCC, AN_PII_BANK_CARD, AN_PII_IPV6,
                          AN_PII_PLATE, AN_PII_PASSPORT, AN_PII_PASSPORT};
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r[i].type, want[i]);
        assert_true(r[i].score > 0 && r[i].score <= 1);
    }
    assert_int_equal(r[6].end - r[6].start, 44);
    close_fx(&f);
}

static void test_custom_and_deny(void **state)
{
    an_pii_rules *rules = an_pii_rules_new();
    an_err e;
    assert_int_equal(an_pii_rules_add_pattern(rules, "EMPLOYEE=EMP-\\d{6}", &e), 0);
    assert_int_equal(an_pii_rules_add_pattern(rules, "BAD=(unclosed", &e), -AN_EINVAL);
    assert_int_equal(an_pii_rules_add_pattern(rules, "no regex", &e), -AN_EINVAL);
    assert_int_equal(an_pii_rules_add_deny(rules, "张三", strlen("张三"), &e), 0);
    assert_int_equal(an_pii_rules_from_settings(
                         rules, "{\"pii\":{\"patterns\":{\"CASE\":\"CASE#[0-9]{4}\"},"
                                "\"deny\":[\"Project Falcon\"]}}",
                         &e),
                     0);
    assert_int_equal(an_pii_rules_from_settings(rules, "{\"pii\":{\"deny\":\"x\"}}", &e),
                     -AN_EINVAL);
    assert_string_equal(e.where, "settings.pii.deny");
    fx f = open_fx(rules);
    const an_pii_finding *r;
    assert_int_equal(scan(&f, "张三 EMP-123456 case#0001? CASE#0001 project falcon", &r), 4);
    assert_string_equal(r[0].label, "DENY");
    assert_int_equal(r[0].start, 0);
    assert_int_equal(r[0].end, 2);
    assert_string_equal(r[1].label, "EMPLOYEE");
    assert_int_equal(r[1].type, AN_PII_CUSTOM);
    assert_string_equal(r[2].label, "CASE");
    assert_int_equal(r[2].start, 25);
    assert_string_equal(r[3].label, "DENY"); /* case-insensitive */
    close_fx(&f);
    an_pii_rules_free(rules);
}

static void test_min_score(void **state)
{
    an_pii_opts o = {.min_score = 0.5};
    an_pii_scanner *sc;
    an_pii_ctx *ctx;
    an_err e;
    assert_int_equal(an_pii_scanner_new(NULL, &o, &sc, &e), 0);
    assert_int_equal(an_pii_ctx_new(sc, &ctx, &e), 0);
    const an_pii_finding *r;
    size_t n;
    const char *t = "订单号 13812345678 手机 13912345678";
    assert_int_equal(an_pii_scan(ctx, t, strlen(t), &r, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].start, 19);
    an_pii_ctx_free(ctx);
    an_pii_scanner_free(sc);
}

/* The scanner learns only where a match ends and walks back to its start: the shapes where
 * that walk has choices (optional prefixes and separators, variable lengths) give the whole
 * value. */
static void expect_one(fx *f, const char *text, an_pii_type type, const char *value)
{
    const an_pii_finding *r;
    size_t n = scan(f, text, &r);
    const char *v = strstr(text, value);
    assert_non_null(v);
    if (n != 1 || r[0].type != type || r[0].bstart != (size_t)(v - text) ||
        r[0].bend != (size_t)(v - text) + strlen(value))
        fail_msg("\"%s\": %zu findings, first [%zu,%zu) type %d; want \"%s\" type %d", text, n,
                 n ? r[0].bstart : 0, n ? r[0].bend : 0, n ? (int)r[0].type : -1, value,
                 (int)type);
}

static void test_starts(void **state)
{
    fx f = open_fx(NULL);
    char c16[24], c19[24], amex[24], g16[32], g19[32], gamex[32], text[128];
    expect_one(&f, "电话 +86 138-1234-5678。", AN_PII_PHONE, "+86 138-1234-5678");
    expect_one(&f, "tel 0086-13812345678,", AN_PII_PHONE, "0086-13812345678");
    expect_one(&f, "tel:13812345678", AN_PII_PHONE, "13812345678");
    expect_one(&f, "座机(010) 6234-5678", AN_PII_PHONE, "(010) 6234-5678");
    expect_one(&f, "座机 0755-2345678 ", AN_PII_PHONE, "0755-2345678");
    expect_one(&f, "call +44 20 7946 0958!", AN_PII_PHONE, "+44 20 7946 0958");
    make_card("622202123456789", c16);
    make_card("622202123456789012", c19);
    make_card("37828224631000", amex);
    snprintf(g16, sizeof g16, "%.4s %.4s %.4s %.4s", c16, c16 + 4, c16 + 8, c16 + 12);
    snprintf(g19, sizeof g19, "%.4s-%.4s-%.4s-%.4s-%.3s", c19, c19 + 4, c19 + 8, c19 + 12,
             c19 + 16);
    snprintf(gamex, sizeof gamex, "%.4s %.6s %.5s", amex, amex + 4, amex + 10);
    const char *cards[] = {c16, c19, amex, g16, g19, gamex};
    for (size_t i = 0; i < 6; i++) {
        snprintf(text, sizeof text, "卡号：%s。", cards[i]);
        expect_one(&f, text, AN_PII_BANK_CARD, cards[i]);
    }
    expect_one(&f, "mail: first.last+tag@mail.example.com.", AN_PII_EMAIL,
               "first.last+tag@mail.example.com");
    expect_one(&f, "ip 192.168.100.1,", AN_PII_IPV4, "192.168.100.1");
    expect_one(&f, "host 2001:db8::8a2e:370:7334 up", AN_PII_IPV6, "2001:db8::8a2e:370:7334");
    expect_one(&f, "host fe80:0:0:0:0:0:0:1 up", AN_PII_IPV6, "fe80:0:0:0:0:0:0:1");
    expect_one(&f, "护照 DE1234567。", AN_PII_PASSPORT, "DE1234567");
    expect_one(&f, "护照 P1234567。", AN_PII_PASSPORT, "P1234567");
    expect_one(&f, "护照 EA1234567。", AN_PII_PASSPORT, "EA1234567");
    expect_one(&f, "护照 G12345678。", AN_PII_PASSPORT, "G12345678");
    expect_one(&f, "车牌 粤B·D12345 ", AN_PII_PLATE, "粤B·D12345");
    expect_one(&f, "车牌 京A1234学。", AN_PII_PLATE, "京A1234学");
    expect_one(&f, "车牌 沪A12345D。", AN_PII_PLATE, "沪A12345D");
    expect_one(&f, "车牌：浙B12345", AN_PII_PLATE, "浙B12345");
    /* A letter and serial after a character that is no province is no plate. */
    const an_pii_finding *r;
    assert_int_equal(scan(&f, "车牌 哈A12345", &r), 0);
    close_fx(&f);
}

typedef struct line_find {
    an_pii_finding f;
    size_t line, line_off;
} line_find;

/* an_pii_scan_lines over text, each finding with its line (0-based) and where it starts. */
static size_t scan_lines(fx *f, const char *text, line_find *out, size_t cap)
{
    const an_pii_finding *r;
    size_t n;
    an_err e;
    assert_int_equal(an_pii_scan_lines(f->ctx, text, strlen(text), &r, &n, &e), 0);
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        size_t line = 0, off = 0;
        for (size_t b = 0; b < r[i].bstart; b++)
            if (text[b] == '\n') {
                line++;
                off = b + 1;
            }
        out[i] = (line_find){r[i], line, off};
    }
    return n;
}

/* Every line of text scanned alone (without "\n" or "\r\n") gives what the scan of all
 * lines at once gives for it. */
static void same_as_each_line(fx *f, const char *text, const line_find *all, size_t n_all)
{
    size_t k = 0, line = 0;
    for (const char *p = text;; line++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len && p[len - 1] == '\r') len--;
        const an_pii_finding *r;
        size_t n;
        an_err e;
        assert_int_equal(an_pii_scan(f->ctx, p, len, &r, &n, &e), 0);
        for (size_t i = 0; i < n; i++, k++) {
            assert_true(k < n_all);
            assert_int_equal(all[k].line, line);
            assert_int_equal(all[k].f.type, r[i].type);
            assert_string_equal(all[k].f.label, r[i].label);
            assert_int_equal(all[k].f.start, r[i].start);
            assert_int_equal(all[k].f.end, r[i].end);
            assert_int_equal(all[k].f.bstart - all[k].line_off, r[i].bstart);
            assert_int_equal(all[k].f.bend - all[k].line_off, r[i].bend);
            assert_true(all[k].f.score == r[i].score);
        }
        if (!nl) break;
        p = nl + 1;
    }
    assert_int_equal(k, n_all);
}

static void test_scan_lines(void **state)
{
    fx f = open_fx(NULL);
    char id[19], text[512];
    make_id("11010519491231002", id);
    snprintf(text, sizeof text,
             "手机 13812345678\r\n"
             "我😀的邮箱是 a@b.cn，%s\n"
             "1381234\n5678 and 10.1.2\n.3 and a@b\n.cn\n"
             "手机\n13912345678\n"
             "\n"
             "last 192.168.1.1",
             id);
    line_find all[16];
    size_t n = scan_lines(&f, text, all, 16);
    /* Values cut by a line end are not found; offsets are code points of each line. */
    assert_int_equal(n, 5);
    assert_int_equal(all[0].line, 0);
    assert_int_equal(all[0].f.type, AN_PII_PHONE);
    assert_int_equal(all[1].line, 1);
    assert_int_equal(all[1].f.type, AN_PII_EMAIL);
    assert_int_equal(all[1].f.start, 7);
    assert_int_equal(all[1].f.end, 13);
    assert_int_equal(all[2].f.type, AN_PII_ID_CARD);
    assert_int_equal(all[2].f.start, 14);
    assert_int_equal(all[2].f.end, 32);
    assert_int_equal(all[3].line, 7);
    assert_int_equal(all[3].f.start, 0);
    assert_int_equal(all[4].line, 9);
    assert_int_equal(all[4].f.type, AN_PII_IPV4);
    assert_int_equal(all[4].f.start, 5);
    /* A context word on the line before does not count. */
    const an_pii_finding *r;
    assert_int_equal(scan(&f, "13912345678", &r), 1);
    assert_true(all[3].f.score == r[0].score);
    assert_true(all[0].f.score > r[0].score);
    same_as_each_line(&f, text, all, n);
    close_fx(&f);

    /* Custom patterns may match a line end ("\s"); with lines they do not. */
    an_pii_rules *rules = an_pii_rules_new();
    an_err e;
    assert_int_equal(an_pii_rules_add_pattern(rules, "WS=a\\s+b", &e), 0);
    assert_int_equal(an_pii_rules_add_deny(rules, "secret", 6, &e), 0);
    f = open_fx(rules);
    const char *t2 = "xa\nb\r\nc a  b and SECRET\nsecr\net a\r\n";
    n = scan_lines(&f, t2, all, 16);
    assert_int_equal(n, 2);
    assert_string_equal(all[0].f.label, "WS");
    assert_int_equal(all[0].line, 2);
    assert_int_equal(all[0].f.start, 2);
    assert_int_equal(all[0].f.end, 6);
    assert_string_equal(all[1].f.label, "DENY");
    same_as_each_line(&f, t2, all, n);
    /* The same text as one string: the pattern matches across the line end. */
    assert_int_equal(scan(&f, t2, &r), 3);
    close_fx(&f);
    an_pii_rules_free(rules);
}

typedef struct hits {
    int64_t line[64];
    const char *field[64];
    size_t start[64];
    size_t n;
} hits;

static int on_hit(void *ud, const an_pii_hit *h)
{
    hits *x = ud;
    assert_true(x->n < 64);
    x->line[x->n] = h->line;
    x->field[x->n] = h->field ? "json" : NULL;
    x->start[x->n] = h->f->start;
    /* The hit's text is its line (or field): the byte offsets select the value. */
    assert_true(h->f->bend <= h->text_len);
    assert_true(h->text[h->f->bstart] == '1');
    x->n++;
    return 0;
}

/* A file of several read blocks (1 MiB each): line numbers run on across blocks, a JSON line
 * goes to the JSON path, a line that only looks like JSON is text, a last line without "\n"
 * is read. */
static void test_stream_blocks(void **state)
{
    FILE *tf = tmpfile();
    assert_non_null(tf);
    const int lines = 40000;
    for (int i = 1; i <= lines; i++) {
        if (i == 20001)
            fputs("{\"data\":{\"text\":\"手机 13812345678\"}}\n", tf);
        else if (i == 20002)
            fputs("{not json 13812345678\n", tf);
        else if (i % 4000 == 0)
            fprintf(tf, "第%d行 the quick brown fox 手机 13812345678\r\n", i);
        else
            fprintf(tf, "第%d行 the quick brown fox jumps over the lazy dog 今天天气很好\n", i);
    }
    fputs("end 13812345678", tf);
    rewind(tf);
    an_pii_scanner *sc;
    an_pii_ctx *ctx;
    an_err e;
    assert_int_equal(an_pii_scanner_new(NULL, NULL, &sc, &e), 0);
    assert_int_equal(an_pii_ctx_new(sc, &ctx, &e), 0);
    hits x = {0};
    assert_int_equal(an_pii_scan_stream(ctx, tf, "tmp", AN_PII_AUTO, on_hit, &x, &e), 0);
    assert_int_equal(x.n, 13);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(x.line[k], 4000 * (k + 1));
        assert_null(x.field[k]);
    }
    assert_int_equal(x.line[5], 20001);
    assert_non_null(x.field[5]);
    assert_int_equal(x.start[5], 3);
    assert_int_equal(x.line[6], 20002);
    assert_null(x.field[6]);
    assert_int_equal(x.start[6], 10);
    assert_int_equal(x.line[11], 40000);
    assert_int_equal(x.line[12], lines + 1);
    /* Text format: the JSON line is text too. */
    rewind(tf);
    x.n = 0;
    assert_int_equal(an_pii_scan_stream(ctx, tf, "tmp", AN_PII_TEXT, on_hit, &x, &e), 0);
    assert_int_equal(x.n, 13);
    assert_null(x.field[5]);
    assert_int_equal(x.start[5], 20);
    an_pii_ctx_free(ctx);
    an_pii_scanner_free(sc);
    fclose(tf);
}

/* Texts that end (or start) right at a page that is not mapped. Hyperscan 5.4's AVX512-VBMI
 * literal matcher reads up to a vector past the end of the buffer it is given (fatal only
 * before an unmapped page; found by fuzz_pii); the scan must not fault wherever the text
 * lies. Every text is scanned at each distance from the guard page up to 128 bytes, with
 * lines and without, built-in and custom patterns. */
static void test_text_at_a_page_edge(void **state)
{
    (void)state;
    long page = sysconf(_SC_PAGESIZE);
    char *mem = mmap(NULL, (size_t)page * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    assert_true(mem != MAP_FAILED);
    /* [guard][text page][guard] */
    assert_int_equal(mprotect(mem, (size_t)page, PROT_NONE), 0);
    assert_int_equal(mprotect(mem + 2 * page, (size_t)page, PROT_NONE), 0);
    char *lo = mem + page, *hi = mem + 2 * page;
    static const char *texts[] = {
        "F\nFF\n14185866574\n1\xff\xff\xff\xff\xff" "88\xc9\x80" "FF:1\xc7" "41858665741\x1e\x1e\x1e\x1e\x1e",
        "1\xff\xff\xff\xff\xff" "88\xc9\x80" "FF:1\xc7" "41858665741\x1e\x1e\x1e\x1e\x1e",
        "14185866574",
        "13812345678",
        "a  b secret 110101199003077777 x@y.cn",
        "VAt hat pat sat fat rat mat ca",
    };
    an_pii_rules *rules = an_pii_rules_new();
    an_err e;
    assert_int_equal(an_pii_rules_add_pattern(rules, "WS=a\\s+b", &e), 0);
    assert_int_equal(an_pii_rules_add_deny(rules, "secret", 6, &e), 0);
    an_pii_scanner *sc;
    an_pii_ctx *ctx;
    assert_int_equal(an_pii_scanner_new(rules, NULL, &sc, &e), 0);
    assert_int_equal(an_pii_ctx_new(sc, &ctx, &e), 0);
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        size_t len = strlen(texts[t]);
        for (size_t gap = 0; gap <= 128; gap++) {
            const an_pii_finding *f;
            size_t n;
            /* ending gap bytes before the guard page after it */
            char *at = hi - gap - len;
            memcpy(at, texts[t], len);
            assert_int_equal(an_pii_scan(ctx, at, len, &f, &n, &e), 0);
            assert_int_equal(an_pii_scan_lines(ctx, at, len, &f, &n, &e), 0);
            /* starting gap bytes after the guard page before it */
            at = lo + gap;
            memcpy(at, texts[t], len);
            assert_int_equal(an_pii_scan(ctx, at, len, &f, &n, &e), 0);
            assert_int_equal(an_pii_scan_lines(ctx, at, len, &f, &n, &e), 0);
        }
    }
    an_pii_ctx_free(ctx);
    an_pii_scanner_free(sc);
    an_pii_rules_free(rules);
    munmap(mem, (size_t)page * 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_at_a_page_edge),
        cmocka_unit_test(test_id_card),
        cmocka_unit_test(test_uscc),
        cmocka_unit_test(test_bank_card),
        cmocka_unit_test(test_phone),
        cmocka_unit_test(test_email_ip),
        cmocka_unit_test(test_passport_mrz),
        cmocka_unit_test(test_plate),
        cmocka_unit_test(test_digit_boundaries),
        cmocka_unit_test(test_context),
        cmocka_unit_test(test_codepoint_offsets),
        cmocka_unit_test(test_overlaps),
        cmocka_unit_test(test_all_types),
        cmocka_unit_test(test_custom_and_deny),
        cmocka_unit_test(test_min_score),
        cmocka_unit_test(test_starts),
        cmocka_unit_test(test_scan_lines),
        cmocka_unit_test(test_stream_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
