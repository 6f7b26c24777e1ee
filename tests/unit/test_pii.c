/* comply/pii: every validator on valid and invalid values (valid ones made here by computing
 * their check characters, so they are fictitious), the digit-boundary rule, context words
 * raising and lowering scores, code-point offsets in Chinese text with emoji, overlaps,
 * custom patterns and deny lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comply/pii.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
