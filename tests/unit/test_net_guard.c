/* The outbound request guard: URL parsing, address classes (including IPv4 hidden in IPv6
 * and numeric spellings the resolver accepts), the allow-list, and the rule that every
 * resolved address must pass. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/client.h"
#include "net/guard.h"

/* Fills ss from an address literal. */
static const struct sockaddr *addr_of(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
    } else {
        fail_msg("bad test address %s", text);
    }
    return (const struct sockaddr *)ss;
}

static void test_classify(void **state)
{
    (void)state;
    static const struct {
        const char *addr;
        an_addr_class want;
    } cases[] = {
        {"127.0.0.1", AN_ADDR_LOOPBACK},
        {"127.255.255.254", AN_ADDR_LOOPBACK},
        {"0.0.0.0", AN_ADDR_UNSPECIFIED},
        {"0.1.2.3", AN_ADDR_UNSPECIFIED},
        {"10.0.0.1", AN_ADDR_PRIVATE},
        {"172.16.0.1", AN_ADDR_PRIVATE},
        {"172.31.255.255", AN_ADDR_PRIVATE},
        {"172.32.0.1", AN_ADDR_PUBLIC},
        {"172.15.255.255", AN_ADDR_PUBLIC},
        {"192.168.1.1", AN_ADDR_PRIVATE},
        {"169.254.169.254", AN_ADDR_LINK_LOCAL},
        {"169.254.0.1", AN_ADDR_LINK_LOCAL},
        {"100.64.0.1", AN_ADDR_CGNAT},
        {"100.127.255.255", AN_ADDR_CGNAT},
        {"100.128.0.1", AN_ADDR_PUBLIC},
        {"224.0.0.1", AN_ADDR_MULTICAST},
        {"239.255.255.250", AN_ADDR_MULTICAST},
        {"240.0.0.1", AN_ADDR_RESERVED},
        {"255.255.255.255", AN_ADDR_RESERVED},
        {"192.0.2.1", AN_ADDR_RESERVED},
        {"198.18.0.1", AN_ADDR_RESERVED},
        {"8.8.8.8", AN_ADDR_PUBLIC},
        {"93.184.216.34", AN_ADDR_PUBLIC},
        {"::1", AN_ADDR_LOOPBACK},
        {"::", AN_ADDR_UNSPECIFIED},
        {"::ffff:127.0.0.1", AN_ADDR_LOOPBACK},
        {"::ffff:10.1.2.3", AN_ADDR_PRIVATE},
        {"::ffff:169.254.169.254", AN_ADDR_LINK_LOCAL},
        {"::ffff:8.8.8.8", AN_ADDR_PUBLIC},
        {"::127.0.0.1", AN_ADDR_LOOPBACK},
        {"64:ff9b::127.0.0.1", AN_ADDR_LOOPBACK},
        {"64:ff9b::a9fe:a9fe", AN_ADDR_LINK_LOCAL},
        {"64:ff9b::8.8.8.8", AN_ADDR_PUBLIC},
        {"64:ff9b:1::1", AN_ADDR_PRIVATE},
        {"2002:7f00:1::1", AN_ADDR_LOOPBACK},
        {"2002:c0a8:101::1", AN_ADDR_PRIVATE},
        {"2002:808:808::1", AN_ADDR_PUBLIC},
        {"fc00::1", AN_ADDR_PRIVATE},
        {"fd12:3456::1", AN_ADDR_PRIVATE},
        {"fe80::1", AN_ADDR_LINK_LOCAL},
        {"febf::1", AN_ADDR_LINK_LOCAL},
        {"ff02::1", AN_ADDR_MULTICAST},
        {"2001:db8::1", AN_ADDR_RESERVED},
        {"2001:4860:4860::8888", AN_ADDR_PUBLIC},
        {"2606:4700::1111", AN_ADDR_PUBLIC},
        {"4000::1", AN_ADDR_RESERVED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sockaddr_storage ss;
        an_addr_class got = an_addr_classify(addr_of(cases[i].addr, &ss));
        if (got != cases[i].want)
            fail_msg("%s: class %d, expected %d", cases[i].addr, (int)got, (int)cases[i].want);
    }
}

static void test_url_parse(void **state)
{
    (void)state;
    an_url u;
    an_err e;
    an_err_clear(&e);
    assert_int_equal(an_url_parse("http://Example.COM/hook?x=1", &u, &e), 0);
    assert_string_equal(u.host, "example.com");
    assert_int_equal(u.port, 80);
    assert_false(u.https);
    assert_string_equal(u.path, "/hook?x=1");
    assert_int_equal(an_url_parse("HTTPS://h.example:8443", &u, &e), 0);
    assert_true(u.https);
    assert_int_equal(u.port, 8443);
    assert_string_equal(u.path, "/");
    assert_int_equal(an_url_parse("http://[::1]:9000/x", &u, &e), 0);
    assert_true(u.ipv6_literal);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 9000);
    assert_int_equal(an_url_parse("https://[2001:db8::1]", &u, &e), 0);
    assert_int_equal(u.port, 443);

    static const char *const bad[] = {
        "file:///etc/passwd",
        "gopher://example.com:70/_x",
        "ftp://example.com/",
        "dict://example.com:11211/",
        "javascript:alert(1)",
        "//example.com/",
        "http:/example.com/",
        "http://user:pw@example.com/",
        "http://user@example.com/",
        "http://example.com@127.0.0.1/",
        "http://exa mple.com/",
        "http://example.com/\r\nX: y",
        "http://example.com/\x01",
        "http://ex\xc3\xa4mple.com/",
        "http://example.com\\@127.0.0.1/",
        "http://%31%32%37.0.0.1/",
        "http://[::1/",
        "http://[fe80::1%25eth0]/",
        "http://[zz::1]/",
        "http://[::1]x/",
        "http://:80/",
        "http:///path",
        "http://example.com:0/",
        "http://example.com:65536/",
        "http://example.com:80a/",
        "http://example.com:/",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        an_err_clear(&e);
        if (an_url_parse(bad[i], &u, &e) != -AN_EINVAL)
            fail_msg("accepted a bad URL: %s", bad[i]);
        assert_string_equal(e.where, "url");
    }
    /* Over-long URLs. */
    char *big = malloc(AN_URL_MAX + 2);
    memcpy(big, "http://a.example/", 17);
    memset(big + 17, 'a', AN_URL_MAX + 1 - 17);
    big[AN_URL_MAX + 1] = '\0';
    assert_int_equal(an_url_parse(big, &u, &e), -AN_EINVAL);
    big[AN_URL_MAX] = '\0';
    assert_int_equal(an_url_parse(big, &u, &e), 0);
    free(big);
}

/* The verdict on a URL through the resolver. Numeric hosts need no DNS: getaddrinfo
 * resolves them itself, exactly as it would for a real connection. */
static int verdict(const char *url, const char *allow_text, an_err *e)
{
    an_net_allow *allow = NULL;
    if (allow_text) assert_int_equal(an_net_allow_parse(allow_text, &allow, e), 0);
    an_guard_target *t = calloc(1, sizeof *t);
    an_err_clear(e);
    int rc = an_guard_resolve(url, allow, t, e);
    free(t);
    an_net_allow_free(allow);
    return rc;
}

static void test_resolved_verdicts(void **state)
{
    (void)state;
    an_err e;
    static const char *const refused[] = {
        "http://127.0.0.1/",
        "http://127.0.0.1:8080/hook",
        "http://2130706433/",  /* 127.0.0.1 as one number */
        "http://0x7f.1/",      /* hex and short form */
        "http://0177.0.0.1/",  /* octal */
        "http://127.1/",       /* short form */
        "http://0/",           /* 0.0.0.0 */
        "http://[::1]:9/",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://10.0.0.1/",
        "http://0xa.0.0.1/",
        "http://192.168.0.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (verdict(refused[i], NULL, &e) != -AN_EINVAL)
            fail_msg("the guard let %s through", refused[i]);
        assert_string_equal(e.where, "url");
        assert_non_null(strstr(e.msg, "annot settings set outbound.allow"));
    }
    assert_int_equal(verdict("http://2130706433/", NULL, &e), -AN_EINVAL);
    assert_non_null(strstr(e.msg, "a loopback address (127.0.0.1)"));
    assert_int_equal(verdict("http://169.254.169.254/", NULL, &e), -AN_EINVAL);
    assert_non_null(strstr(e.msg, "link-local"));

    /* Public addresses pass. */
    assert_int_equal(verdict("http://8.8.8.8/", NULL, &e), 0);
    assert_int_equal(verdict("https://[2606:4700::1111]:8443/x", NULL, &e), 0);
    assert_int_equal(verdict("http://[::ffff:8.8.8.8]/", NULL, &e), 0);

    /* The allow-list lifts the refusal for what it names, and only that. */
    assert_int_equal(verdict("http://127.0.0.1:9/", "127.0.0.1/32", &e), 0);
    assert_int_equal(verdict("http://2130706433:9/", "127.0.0.0/8", &e), 0);
    assert_int_equal(verdict("http://[::ffff:127.0.0.1]/", "127.0.0.1", &e), 0);
    assert_int_equal(verdict("http://127.0.0.2/", "127.0.0.1/32", &e), -AN_EINVAL);
    assert_int_equal(verdict("http://10.1.2.3/", "10.0.0.0/8, fd00::/8", &e), 0);
    assert_int_equal(verdict("http://[fd00::5]/", "10.0.0.0/8, fd00::/8", &e), 0);
    assert_int_equal(verdict("http://[::1]/", "127.0.0.1/32", &e), -AN_EINVAL);
    assert_int_equal(verdict("http://[::1]/", "::1", &e), 0);
    assert_int_equal(verdict("http://169.254.169.254/", "10.0.0.0/8", &e), -AN_EINVAL);
    /* Every address of a name must pass: localhost is 127.0.0.1 and often ::1 too. (A bare
     * root without /etc/hosts cannot resolve the name at all: then only the refusal holds.) */
    assert_int_equal(verdict("http://localhost/", NULL, &e), -AN_EINVAL);
    struct addrinfo *ai = NULL;
    if (getaddrinfo("localhost", NULL, NULL, &ai) == 0) {
        freeaddrinfo(ai);
        assert_int_equal(verdict("http://localhost/", "localhost", &e), 0);
        assert_int_equal(verdict("http://LOCALHOST/", "localhost", &e), 0);
    } else {
        fprintf(stderr, "note: localhost does not resolve here; its allow-list case is skipped\n");
    }
    /* Schemes other than http(s) are refused before any lookup. */
    assert_int_equal(verdict("file:///etc/passwd", "0.0.0.0/0", &e), -AN_EINVAL);
    assert_int_equal(verdict("gopher://127.0.0.1:70/", "0.0.0.0/0", &e), -AN_EINVAL);
}

static void test_allow_parse(void **state)
{
    (void)state;
    an_net_allow *a = NULL;
    an_err e;
    an_err_clear(&e);
    assert_int_equal(an_net_allow_parse("", &a, &e), 0);
    struct sockaddr_storage ss;
    assert_false(an_net_allow_addr(a, addr_of("127.0.0.1", &ss)));
    an_net_allow_free(a);
    assert_int_equal(an_net_allow_parse(" 10.0.0.0/8 ,hooks.internal,, ::1 ", &a, &e), 0);
    assert_true(an_net_allow_addr(a, addr_of("10.200.0.1", &ss)));
    assert_false(an_net_allow_addr(a, addr_of("11.0.0.1", &ss)));
    assert_true(an_net_allow_addr(a, addr_of("::ffff:10.0.0.1", &ss)));
    assert_true(an_net_allow_addr(a, addr_of("::1", &ss)));
    assert_true(an_net_allow_host(a, "HOOKS.internal"));
    assert_false(an_net_allow_host(a, "internal"));
    an_net_allow_free(a);
    assert_int_equal(an_net_allow_parse("0.0.0.0/0", &a, &e), 0);
    assert_true(an_net_allow_addr(a, addr_of("169.254.169.254", &ss)));
    assert_false(an_net_allow_addr(a, addr_of("fe80::1", &ss)));
    an_net_allow_free(a);

    static const char *const bad[] = {
        "10.0.0.1/8",    /* host bits set */
        "10.0.0.0/33",   "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/8/8",
        "2130706433",    /* a number, not a name */
        "0x7f.1",        "127.1",  "exa mple.com", "http://x", "a/b", "h@st",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = NULL;
        an_err_clear(&e);
        if (an_net_allow_parse(bad[i], &a, &e) != -AN_EINVAL)
            fail_msg("accepted a bad allow-list entry: %s", bad[i]);
        assert_null(a);
        assert_non_null(strstr(e.where, "outbound.allow"));
    }
}

/* The client refuses before connecting, and connects only where the guard allows. */
static void test_client(void **state)
{
    (void)state;
    an_err e;
    an_err_clear(&e);
    an_net_result r;
    an_net_opts o = {.method = "POST", .url = "http://127.0.0.1:1/", .body = "{}", .body_len = 2,
                     .connect_timeout_ms = 2000, .timeout_ms = 3000, .discard_body = true};
    assert_int_equal(an_net_request(&o, &r, &e), -AN_EINVAL);
    assert_true(r.refused);
    assert_non_null(strstr(e.msg, "loopback"));
    an_buf_free(&r.body);
    an_net_allow *allow = NULL;
    assert_int_equal(an_net_allow_parse("127.0.0.1/32", &allow, &e), 0);
    o.allow = allow;
    /* Allowed: the connection is made, and port 1 has nobody listening. */
    an_err_clear(&e);
    assert_int_equal(an_net_request(&o, &r, &e), -AN_EIO);
    assert_false(r.refused);
    an_buf_free(&r.body);
    o.url = "gopher://127.0.0.1:1/";
    assert_int_equal(an_net_request(&o, &r, &e), -AN_EINVAL);
    an_buf_free(&r.body);
    o.method = "PUT";
    o.url = "http://127.0.0.1:1/";
    assert_int_equal(an_net_request(&o, &r, &e), -AN_EINTERNAL);
    an_buf_free(&r.body);
    an_net_allow_free(allow);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_resolved_verdicts),
        cmocka_unit_test(test_allow_parse),
        cmocka_unit_test(test_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
