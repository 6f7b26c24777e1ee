/* The outbound request guard: URL parsing, address classes, the allow-list. */
#include "net/guard.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"

/* ---- URLs ---------------------------------------------------------------------------------- */

static bool host_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

int an_url_parse(const char *text, an_url *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    if (!text || !*text) return an_err_set(err, AN_EINVAL, "url", "give a URL (http or https)");
    size_t len = strlen(text);
    if (len > AN_URL_MAX)
        return an_err_set(err, AN_EINVAL, "url", "the URL is longer than %d bytes; shorten it",
                          AN_URL_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c <= 0x20 || c >= 0x7f)
            return an_err_set(err, AN_EINVAL, "url",
                              "the URL has a space, control character or non-ASCII byte at "
                              "byte %zu; percent-encode it (and write host names in punycode)",
                              i);
    }
    const char *p;
    if (strncasecmp(text, "http://", 7) == 0) {
        p = text + 7;
    } else if (strncasecmp(text, "https://", 8) == 0) {
        p = text + 8;
        out->https = true;
    } else {
        return an_err_set(err, AN_EINVAL, "url",
                          "only http:// and https:// URLs can be used for outbound requests");
    }
    size_t alen = strcspn(p, "/?#");
    const char *auth = p, *rest = p + alen;
    if (memchr(auth, '@', alen))
        return an_err_set(err, AN_EINVAL, "url",
                          "the URL carries a user name or password; put credentials in the "
                          "headers instead");
    if (memchr(auth, '\\', alen) || memchr(auth, '%', alen))
        return an_err_set(err, AN_EINVAL, "url",
                          "the URL's host has a backslash or percent sign; write the host plainly");
    const char *port_text = NULL;
    size_t hlen;
    if (alen && auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);
        if (!close)
            return an_err_set(err, AN_EINVAL, "url", "the IPv6 address lacks its closing ']'");
        hlen = (size_t)(close - auth - 1);
        char v6[INET6_ADDRSTRLEN + 1];
        struct in6_addr a6;
        if (hlen == 0 || hlen >= sizeof v6)
            return an_err_set(err, AN_EINVAL, "url", "the IPv6 address in the URL is malformed");
        memcpy(v6, auth + 1, hlen);
        v6[hlen] = '\0';
        if (inet_pton(AF_INET6, v6, &a6) != 1)
            return an_err_set(err, AN_EINVAL, "url",
                              "the IPv6 address in the URL is malformed (zone ids are not "
                              "accepted)");
        memcpy(out->host, v6, hlen + 1);
        out->ipv6_literal = true;
        const char *after = close + 1;
        if (after < auth + alen) {
            if (*after != ':')
                return an_err_set(err, AN_EINVAL, "url", "unexpected text after the IPv6 address");
            port_text = after + 1;
        }
    } else {
        const char *colon = memchr(auth, ':', alen);
        hlen = colon ? (size_t)(colon - auth) : alen;
        if (colon) port_text = colon + 1;
        if (hlen == 0) return an_err_set(err, AN_EINVAL, "url", "the URL has no host");
        if (hlen > AN_HOST_MAX)
            return an_err_set(err, AN_EINVAL, "url", "the host name is longer than %d bytes",
                              AN_HOST_MAX);
        for (size_t i = 0; i < hlen; i++) {
            if (!host_char(auth[i]))
                return an_err_set(err, AN_EINVAL, "url",
                                  "the host has a character a host name cannot have ('%c')",
                                  auth[i]);
            out->host[i] = (char)tolower((unsigned char)auth[i]);
        }
        out->host[hlen] = '\0';
    }
    unsigned long port = out->https ? 443 : 80;
    if (port_text) {
        size_t plen = (size_t)(auth + alen - port_text);
        if (plen == 0 || plen > 5)
            return an_err_set(err, AN_EINVAL, "url", "the port must be a number from 1 to 65535");
        port = 0;
        for (size_t i = 0; i < plen; i++) {
            if (!isdigit((unsigned char)port_text[i]))
                return an_err_set(err, AN_EINVAL, "url",
                                  "the port must be a number from 1 to 65535");
            port = port * 10 + (unsigned long)(port_text[i] - '0');
        }
        if (port < 1 || port > 65535)
            return an_err_set(err, AN_EINVAL, "url", "the port must be a number from 1 to 65535");
    }
    out->port = (uint16_t)port;
    if (*rest == '/')
        snprintf(out->path, sizeof out->path, "%s", rest);
    else
        snprintf(out->path, sizeof out->path, "/%s", rest);
    return 0;
}

/* ---- address classes ----------------------------------------------------------------------- */

static an_addr_class classify_v4(uint32_t a)
{
    uint8_t b0 = (uint8_t)(a >> 24), b1 = (uint8_t)(a >> 16), b2 = (uint8_t)(a >> 8);
    if (b0 == 0) return AN_ADDR_UNSPECIFIED;                         /* 0/8 "this network" */
    if (b0 == 127) return AN_ADDR_LOOPBACK;                          /* 127/8 */
    if (b0 == 10) return AN_ADDR_PRIVATE;                            /* 10/8 */
    if (b0 == 172 && (b1 & 0xf0) == 16) return AN_ADDR_PRIVATE;      /* 172.16/12 */
    if (b0 == 192 && b1 == 168) return AN_ADDR_PRIVATE;              /* 192.168/16 */
    if (b0 == 169 && b1 == 254) return AN_ADDR_LINK_LOCAL;           /* incl. 169.254.169.254 */
    if (b0 == 100 && (b1 & 0xc0) == 64) return AN_ADDR_CGNAT;        /* 100.64/10 */
    if ((b0 & 0xf0) == 224) return AN_ADDR_MULTICAST;                /* 224/4 */
    if ((b0 & 0xf0) == 240) return AN_ADDR_RESERVED;                 /* 240/4, broadcast */
    if (b0 == 192 && b1 == 0 && b2 == 0) return AN_ADDR_RESERVED;    /* 192.0.0/24 IETF */
    if (b0 == 192 && b1 == 0 && b2 == 2) return AN_ADDR_RESERVED;    /* TEST-NET-1 */
    if (b0 == 198 && (b1 & 0xfe) == 18) return AN_ADDR_RESERVED;     /* 198.18/15 benchmarks */
    if (b0 == 198 && b1 == 51 && b2 == 100) return AN_ADDR_RESERVED; /* TEST-NET-2 */
    if (b0 == 203 && b1 == 0 && b2 == 113) return AN_ADDR_RESERVED;  /* TEST-NET-3 */
    return AN_ADDR_PUBLIC;
}

static uint32_t v4_at(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i]) return false;
    return true;
}

static an_addr_class classify_v6(const uint8_t *b)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (all_zero(b, 16)) return AN_ADDR_UNSPECIFIED;                 /* :: */
    if (all_zero(b, 15) && b[15] == 1) return AN_ADDR_LOOPBACK;      /* ::1 */
    if (memcmp(b, mapped, 12) == 0) return classify_v4(v4_at(b + 12)); /* ::ffff:a.b.c.d */
    if (all_zero(b, 12)) return classify_v4(v4_at(b + 12));          /* ::a.b.c.d (compatible) */
    if (memcmp(b, nat64, 12) == 0) return classify_v4(v4_at(b + 12)); /* 64:ff9b::/96 */
    if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1)
        return AN_ADDR_PRIVATE;                                      /* 64:ff9b:1::/48 local */
    if (b[0] == 0x20 && b[1] == 0x02) return classify_v4(v4_at(b + 2)); /* 2002::/16 6to4 */
    if ((b[0] & 0xfe) == 0xfc) return AN_ADDR_PRIVATE;               /* fc00::/7 */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AN_ADDR_LINK_LOCAL; /* fe80::/10 */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return AN_ADDR_PRIVATE;    /* fec0::/10 site */
    if (b[0] == 0xff) return AN_ADDR_MULTICAST;                      /* ff00::/8 */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return AN_ADDR_RESERVED;                                     /* 2001:db8::/32 docs */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
        return AN_ADDR_RESERVED; /* 2001::/32 Teredo: a tunnel to an address it hides */
    if ((b[0] & 0xe0) != 0x20) return AN_ADDR_RESERVED;              /* outside 2000::/3 */
    return AN_ADDR_PUBLIC;
}

an_addr_class an_addr_classify(const struct sockaddr *sa)
{
    if (!sa) return AN_ADDR_RESERVED;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return classify_v4(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return classify_v6(in6->sin6_addr.s6_addr);
    }
    return AN_ADDR_RESERVED;
}

const char *an_addr_class_text(an_addr_class c)
{
    switch (c) {
    case AN_ADDR_PUBLIC: return "";
    case AN_ADDR_LOOPBACK: return "a loopback address";
    case AN_ADDR_UNSPECIFIED: return "an unspecified address";
    case AN_ADDR_PRIVATE: return "a private address";
    case AN_ADDR_LINK_LOCAL: return "a link-local address";
    case AN_ADDR_CGNAT: return "a shared (CGNAT) address";
    case AN_ADDR_MULTICAST: return "a multicast address";
    case AN_ADDR_RESERVED: return "a reserved address";
    }
    return "a reserved address";
}

void an_addr_text(const struct sockaddr *sa, char *out, size_t size)
{
    if (size == 0) return;
    out[0] = '\0';
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)size);
}

/* ---- the allow-list ------------------------------------------------------------------------ */

typedef struct cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int prefix;
} cidr;

struct an_net_allow {
    cidr *cidrs;
    size_t n_cidrs;
    char **names;
    size_t n_names;
};

enum { ALLOW_MAX_ENTRIES = 256 };

void an_net_allow_free(an_net_allow *a)
{
    if (!a) return;
    for (size_t i = 0; i < a->n_names; i++) free(a->names[i]);
    free(a->names);
    free(a->cidrs);
    free(a);
}

static bool bits_clear_after(const uint8_t *b, size_t n, int prefix)
{
    for (int bit = prefix; bit < (int)n * 8; bit++)
        if (b[bit / 8] & (0x80 >> (bit % 8))) return false;
    return true;
}

static bool prefix_matches(const uint8_t *a, const uint8_t *net, int prefix)
{
    int full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, net, (size_t)full) != 0) return false;
    if (!rest) return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

/* One entry (NUL-terminated, trimmed). */
static int add_entry(an_net_allow *a, const char *e, an_err *err)
{
    char addr[64];
    const char *slash = strchr(e, '/');
    size_t alen = slash ? (size_t)(slash - e) : strlen(e);
    cidr c = {0};
    bool numeric = false;
    if (alen < sizeof addr) {
        memcpy(addr, e, alen);
        addr[alen] = '\0';
        if (inet_pton(AF_INET, addr, c.addr) == 1) {
            c.family = AF_INET;
            numeric = true;
        } else if (inet_pton(AF_INET6, addr, c.addr) == 1) {
            c.family = AF_INET6;
            numeric = true;
        }
    }
    if (numeric) {
        int max = c.family == AF_INET ? 32 : 128;
        c.prefix = max;
        if (slash) {
            const char *q = slash + 1;
            if (!*q || strlen(q) > 3) goto bad_prefix;
            int v = 0;
            for (; *q; q++) {
                if (!isdigit((unsigned char)*q)) goto bad_prefix;
                v = v * 10 + (*q - '0');
            }
            if (v > max) goto bad_prefix;
            c.prefix = v;
        }
        if (!bits_clear_after(c.addr, c.family == AF_INET ? 4 : 16, c.prefix))
            return an_err_set(err, AN_EINVAL, e,
                              "the CIDR has bits set after its prefix; write the network "
                              "address (e.g. 10.0.0.0/8)");
        a->cidrs = an_xrealloc(a->cidrs, (a->n_cidrs + 1) * sizeof *a->cidrs);
        a->cidrs[a->n_cidrs++] = c;
        return 0;
    bad_prefix:
        return an_err_set(err, AN_EINVAL, e, "the prefix length must be from 0 to %d", max);
    }
    if (slash)
        return an_err_set(err, AN_EINVAL, e,
                          "not a CIDR: give an IPv4 or IPv6 network such as 10.0.0.0/8");
    size_t n = strlen(e);
    if (n > AN_HOST_MAX)
        return an_err_set(err, AN_EINVAL, e, "a host name has at most %d bytes", AN_HOST_MAX);
    bool letter = false;
    for (size_t i = 0; i < n; i++) {
        if (!host_char(e[i]))
            return an_err_set(err, AN_EINVAL, e,
                              "not a host name, address or CIDR (a host name has letters, "
                              "digits, '-', '.' and '_')");
        if (isalpha((unsigned char)e[i])) letter = true;
    }
    struct in_addr tmp;
    /* "2130706433" or "0x7f.1" is an address in disguise: it must be written as one, so that
     * what the list allows is plain to read. */
    if (!letter || inet_aton(e, &tmp))
        return an_err_set(err, AN_EINVAL, e,
                          "this is a number, not a host name; write the address it means in "
                          "dotted form (e.g. 127.0.0.1/32)");
    char *name = an_xstrdup(e);
    for (char *q = name; *q; q++) *q = (char)tolower((unsigned char)*q);
    a->names = an_xrealloc(a->names, (a->n_names + 1) * sizeof *a->names);
    a->names[a->n_names++] = name;
    return 0;
}

int an_net_allow_parse(const char *text, an_net_allow **out, an_err *err)
{
    *out = NULL;
    an_net_allow *a = an_xcalloc(1, sizeof *a);
    const char *p = text ? text : "";
    size_t entries = 0;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *s = p, *e = p + n;
        while (s < e && isspace((unsigned char)*s)) s++;
        while (e > s && isspace((unsigned char)e[-1])) e--;
        if (e > s) {
            if (++entries > ALLOW_MAX_ENTRIES) {
                an_net_allow_free(a);
                return an_err_set(err, AN_EINVAL, "outbound.allow",
                                  "the allow-list has more than %d entries; use CIDRs",
                                  ALLOW_MAX_ENTRIES);
            }
            char *entry = an_xstrndup(s, (size_t)(e - s));
            int rc = add_entry(a, entry, err);
            free(entry);
            if (rc < 0) {
                an_err_prefix_where(err, "outbound.allow");
                an_net_allow_free(a);
                return rc;
            }
        }
        p += n;
        if (*p == ',') p++;
    }
    *out = a;
    return 0;
}

bool an_net_allow_host(const an_net_allow *a, const char *host)
{
    if (!a || !host) return false;
    for (size_t i = 0; i < a->n_names; i++)
        if (strcasecmp(a->names[i], host) == 0) return true;
    return false;
}

bool an_net_allow_addr(const an_net_allow *a, const struct sockaddr *sa)
{
    if (!a || !sa) return false;
    uint8_t b[16];
    int family;
    if (sa->sa_family == AF_INET) {
        memcpy(b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        family = AF_INET;
    } else if (sa->sa_family == AF_INET6) {
        const uint8_t *s6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(s6, mapped, 12) == 0) {
            memcpy(b, s6 + 12, 4);
            family = AF_INET;
        } else {
            memcpy(b, s6, 16);
            family = AF_INET6;
        }
    } else {
        return false;
    }
    for (size_t i = 0; i < a->n_cidrs; i++)
        if (a->cidrs[i].family == family && prefix_matches(b, a->cidrs[i].addr, a->cidrs[i].prefix))
            return true;
    return false;
}

/* ---- decisions ----------------------------------------------------------------------------- */

int an_guard_check_addr(const an_net_allow *a, const char *host, const struct sockaddr *sa,
                        an_err *err)
{
    an_addr_class c = an_addr_classify(sa);
    if (c == AN_ADDR_PUBLIC || an_net_allow_host(a, host) || an_net_allow_addr(a, sa)) return 0;
    char text[INET6_ADDRSTRLEN];
    an_addr_text(sa, text, sizeof text);
    return an_err_set(err, AN_EINVAL, "url",
                      "%s resolves to %s (%s), which outbound requests may not reach; an "
                      "administrator can allow it with `annot settings set outbound.allow "
                      "%s%s`",
                      host, an_addr_class_text(c), text, text,
                      sa->sa_family == AF_INET6 ? "/128" : "/32");
}

int an_guard_resolve(const char *url, const an_net_allow *a, an_guard_target *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = an_url_parse(url, &out->url, err);
    if (rc < 0) return rc;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (out->url.ipv6_literal) hints.ai_flags = AI_NUMERICHOST;
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(out->url.host, NULL, &hints, &res);
    if (gai != 0 || !res) {
        if (res) freeaddrinfo(res);
        return an_err_set(err, AN_EINVAL, "url", "the host %s does not resolve (%s); check the URL",
                          out->url.host, gai ? gai_strerror(gai) : "no address");
    }
    rc = 0;
    for (struct addrinfo *ai = res; ai && rc == 0; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
        rc = an_guard_check_addr(a, out->url.host, ai->ai_addr, err);
        if (rc < 0 || out->n_addrs == AN_GUARD_MAX_ADDRS) continue;
        bool seen = false;
        for (size_t i = 0; i < out->n_addrs; i++)
            if (out->addr_lens[i] == ai->ai_addrlen &&
                memcmp(&out->addrs[i], ai->ai_addr, ai->ai_addrlen) == 0)
                seen = true;
        if (seen) continue;
        memcpy(&out->addrs[out->n_addrs], ai->ai_addr, ai->ai_addrlen);
        out->addr_lens[out->n_addrs] = (socklen_t)ai->ai_addrlen;
        /* The port goes with the address: the client connects to exactly this. */
        if (ai->ai_family == AF_INET)
            ((struct sockaddr_in *)&out->addrs[out->n_addrs])->sin_port = htons(out->url.port);
        else
            ((struct sockaddr_in6 *)&out->addrs[out->n_addrs])->sin6_port = htons(out->url.port);
        out->n_addrs++;
    }
    freeaddrinfo(res);
    if (rc < 0) return rc;
    if (out->n_addrs == 0)
        return an_err_set(err, AN_EINVAL, "url", "the host %s has no IPv4 or IPv6 address",
                          out->url.host);
    return 0;
}
