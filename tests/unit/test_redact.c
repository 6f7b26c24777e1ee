/* comply/redact: each action, pseudonyms stable across calls and different between values and
 * secrets, policies, and span remapping before, inside and after redacted values in CJK
 * text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/utf8.h"
#include "comply/pii.h"
#include "comply/pii_policy.h"
#include "comply/redact.h"
#include "store/store.h"

static an_pii_scanner *sc;
static an_pii_ctx *ctx;

static int setup(void **state)
{
    an_err e;
    if (an_pii_scanner_new(NULL, NULL, &sc, &e) < 0) return -1;
    return an_pii_ctx_new(sc, &ctx, &e);
}

static int teardown(void **state)
{
    an_pii_ctx_free(ctx);
    an_pii_scanner_free(sc);
    return 0;
}

/* Redacts text under policy p into out (a malloc'd string), filling map. */
static char *redact(const an_redact_policy *p, const char *text, an_redact_map *map)
{
    const an_pii_finding *f;
    size_t n;
    an_err e;
    assert_int_equal(an_pii_scan(ctx, text, strlen(text), &f, &n, &e), 0);
    an_buf out = AN_BUF_INIT;
    an_redact_text(p, text, strlen(text), f, n, &out, map, NULL);
    an_buf_addc(&out, '\0');
    return an_buf_detach(&out);
}

static void test_mask(void **state)
{
    an_redact_policy p;
    an_redact_policy_init(&p, AN_REDACT_MASK);
    char *r = redact(&p, "身份证 11010519491231002X 邮箱 zhang@example.com 手机 138-1234-5678", NULL);
    assert_string_equal(r, "身份证 110***********002X 邮箱 z****@example.com 手机 138-****-5678");
    free(r);
}

static void test_replace_and_drop(void **state)
{
    an_redact_policy p;
    an_redact_policy_init(&p, AN_REDACT_REPLACE);
    an_err e;
    assert_int_equal(an_redact_policy_parse(&p, "EMAIL=drop,ipv4=keep", &e), 0);
    char *r = redact(&p, "电话13812345678, mail a@b.cn, ip 10.0.0.1", NULL);
    assert_string_equal(r, "电话[PHONE], mail , ip 10.0.0.1");
    free(r);
    assert_int_equal(an_redact_policy_parse(&p, "PHONE=erase", &e), -AN_EINVAL);
    assert_int_equal(an_redact_policy_parse(&p, "NAME=mask", &e), -AN_EINVAL);
    assert_int_equal(an_redact_policy_parse(&p, "all=mask", &e), 0);
    for (int t = 0; t < AN_PII_NTYPES; t++) assert_int_equal(p.action[t], AN_REDACT_MASK);
    assert_false(an_redact_policy_needs_secret(&p));
    assert_int_equal(an_redact_policy_parse(&p, "EMAIL=pseudonym", &e), 0);
    assert_true(an_redact_policy_needs_secret(&p));
}

static void test_pseudonym(void **state)
{
    an_redact_policy p;
    an_redact_policy_init(&p, AN_REDACT_PSEUDONYM);
    memset(p.secret, 7, sizeof p.secret);
    p.has_secret = true;
    char *a = redact(&p, "call 13812345678", NULL);
    char *b = redact(&p, "手机 13812345678 again", NULL);
    char *c = redact(&p, "call 13912345678", NULL);
    /* Same value, same token, wherever it appears; another value, another token. */
    assert_int_equal(strlen(a), strlen("call PHONE_") + 10);
    assert_memory_equal(a, "call PHONE_", 11);
    const char *tb = strstr(b, "PHONE_");
    assert_non_null(tb);
    assert_memory_equal(a + 5, tb, 16);
    assert_string_not_equal(a, c);
    /* Another secret, another token. */
    memset(p.secret, 8, sizeof p.secret);
    char *d = redact(&p, "call 13812345678", NULL);
    assert_string_not_equal(a, d);
    for (const char *s = a + 11; *s; s++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", *s));
    free(a);
    free(b);
    free(c);
    free(d);
}

static void test_span_remap(void **state)
{
    an_redact_policy p;
    an_redact_policy_init(&p, AN_REDACT_REPLACE);
    an_redact_map m = AN_REDACT_MAP_INIT;
    /* code points: 张(0)三(1)的(2)手(3)机(4)是(5) 13812345678 [6,17) ，(17)住(18)在(19)北(20)京(21) */
    const char *text = "张三的手机是13812345678，住在北京";
    char *r = redact(&p, text, &m);
    assert_string_equal(r, "张三的手机是[PHONE]，住在北京");
    assert_int_equal(m.n, 1);
    size_t s, e;
    /* Before: unchanged. */
    s = 0, e = 2;
    assert_true(an_redact_map_span(&m, &s, &e));
    assert_int_equal(s, 0);
    assert_int_equal(e, 2);
    /* Exactly the value: the placeholder [6, 13). */
    s = 6, e = 17;
    assert_true(an_redact_map_span(&m, &s, &e));
    assert_int_equal(s, 6);
    assert_int_equal(e, 13);
    /* Inside the value: clamped to the placeholder. */
    s = 9, e = 12;
    assert_true(an_redact_map_span(&m, &s, &e));
    assert_int_equal(s, 6);
    assert_int_equal(e, 13);
    /* After: moved by 7 - 11 = -4, and still selects 北京. */
    s = 20, e = 22;
    assert_true(an_redact_map_span(&m, &s, &e));
    assert_int_equal(s, 16);
    assert_int_equal(e, 18);
    long b0 = an_utf8_byte_offset(r, strlen(r), s), b1 = an_utf8_byte_offset(r, strlen(r), e);
    assert_int_equal(b1 - b0, strlen("北京"));
    assert_memory_equal(r + b0, "北京", strlen("北京"));
    /* Across the value's start: from before to the end of the placeholder. */
    s = 3, e = 8;
    assert_true(an_redact_map_span(&m, &s, &e));
    assert_int_equal(s, 3);
    assert_int_equal(e, 13);
    free(r);

    /* drop: a span inside the value disappears; spans after move by -11. */
    an_redact_policy_init(&p, AN_REDACT_DROP);
    r = redact(&p, text, &m);
    assert_string_equal(r, "张三的手机是，住在北京");
    s = 6, e = 17;
    assert_false(an_redact_map_span(&m, &s, &e));
    s = 20, e = 22;
    assert_true(an_redact_map_span(&m, &s, &e));
    assert_int_equal(s, 9);
    assert_int_equal(e, 11);
    free(r);

    /* mask keeps lengths: nothing moves. */
    an_redact_policy_init(&p, AN_REDACT_MASK);
    r = redact(&p, text, &m);
    assert_int_equal(an_utf8_count(r, strlen(r)), an_utf8_count(text, strlen(text)));
    s = 20, e = 22;
    assert_true(an_redact_map_span(&m, &s, &e));
    assert_int_equal(s, 20);
    free(r);

    /* Two values with emoji between: shifts accumulate. */
    an_redact_policy_init(&p, AN_REDACT_REPLACE);
    text = "😀a@b.cn😀13812345678😀末";
    r = redact(&p, text, &m);
    assert_string_equal(r, "😀[EMAIL]😀[PHONE]😀末");
    assert_int_equal(m.n, 2);
    s = 20, e = 21; /* 末 */
    assert_true(an_redact_map_span(&m, &s, &e));
    assert_int_equal(s, 17);
    assert_int_equal(e, 18);
    free(r);
    an_redact_map_free(&m);
}

/* The workspace secret is made once and read back the same; the export policy refuses a
 * project holding PII only when its settings say "refuse". */
static void test_secret_and_policy(void **state)
{
    char dir[] = "/tmp/annot-redact.XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ws.db", dir);
    an_store *s;
    an_err e;
    assert_int_equal(an_store_open(path, &s, &e), 0);
    uint8_t k1[AN_REDACT_SECRET_BYTES], k2[AN_REDACT_SECRET_BYTES];
    assert_int_equal(an_redact_secret(s, k1, &e), 0);
    assert_int_equal(an_redact_secret(s, k2, &e), 0);
    assert_memory_equal(k1, k2, sizeof k1);

    const char *cfg = "<View><Text name=\"text\" value=\"$text\"/></View>";
    int64_t refuse_id, allow_id, task;
    assert_int_equal(an_store_project_create(s, "r", cfg, "{\"pii_policy\":\"refuse\"}",
                                             &refuse_id, &e), 0);
    assert_int_equal(an_store_project_create(s, "a", cfg, "{}", &allow_id, &e), 0);
    const char *clean = "{\"text\":\"nothing here\"}", *dirty = "{\"text\":\"手机 13812345678\"}";
    assert_int_equal(an_store_begin(s, &e), 0);
    for (int i = 0; i < 3; i++) {
        const char *d = i == 1 ? clean : dirty;
        an_task_in t = {.project_id = i == 2 ? allow_id : refuse_id, .data = d,
                        .data_len = strlen(d)};
        an_hash(d, strlen(d), t.hash);
        assert_int_equal(an_store_task_insert(s, &t, &task, &e), 0);
    }
    assert_int_equal(an_store_commit(s, &e), 0);
    an_project p;
    assert_int_equal(an_store_project_get(s, "r", &p, &e), 0);
    assert_int_equal(an_pii_export_check(s, &p, &e), -AN_EINVAL);
    assert_non_null(strstr(e.msg, "PHONE"));
    assert_null(strstr(e.msg, "13812345678")); /* the value is never shown */
    an_project_clear(&p);
    assert_int_equal(an_store_project_get(s, "a", &p, &e), 0);
    assert_int_equal(an_pii_export_check(s, &p, &e), 0);
    an_project_clear(&p);
    an_store_close(s);
    unlink(path);
    char wal[80];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_replace_and_drop),
        cmocka_unit_test(test_pseudonym),
        cmocka_unit_test(test_span_remap),
        cmocka_unit_test(test_secret_and_policy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
