/* The outbound request guard: which URLs given through the API may be fetched.
 *
 * URLs that users supply (webhooks, later ML backends and URL imports) must not become a way
 * into the networks the server sits in (server-side request forgery: Label Studio's #9801).
 * So an outbound URL is http or https only, carries no user name or password, and every
 * address its host resolves to must be a public one: loopback, unspecified, private,
 * link-local (with the cloud metadata address 169.254.169.254), shared CGNAT space,
 * multicast, broadcast and reserved addresses are refused, also when they hide inside an
 * IPv6 address (IPv4-mapped and -compatible, NAT64 64:ff9b::/96, 6to4 2002::/16).
 *
 * Decisions are made on resolved addresses, never on the text of the host: "2130706433",
 * "0x7f.1", "0177.0.0.1" and "127.1" all resolve to 127.0.0.1 and are refused as such.
 *
 * The workspace's allow-list (setting outbound.allow: CIDRs and host names, changed only
 * through the CLI) lifts the refusal for the addresses and names it lists.
 *
 * Thread safety: everything here may be called from any thread; an an_net_allow is
 * read-only after an_net_allow_parse. */
#ifndef AN_NET_GUARD_H
#define AN_NET_GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/err.h"

enum {
    AN_URL_MAX = 2048,    /* longest URL accepted (Label Studio's limit too) */
    AN_HOST_MAX = 253,    /* longest host name (DNS) */
    AN_GUARD_MAX_ADDRS = 16 /* addresses of a host that are checked and used */
};

/* A parsed outbound URL. */
typedef struct an_url {
    bool https;
    char host[AN_HOST_MAX + 1]; /* lower case; an IPv6 literal without its brackets */
    bool ipv6_literal;
    uint16_t port;           /* the given port, else 80 or 443 */
    char path[AN_URL_MAX + 1]; /* from the first '/', '?' or '#' on; "/" when empty */
} an_url;

/* Parses text as an outbound URL: http or https, a host (name, IPv4 or [IPv6]), an optional
 * port, a path. Refuses (AN_EINVAL, where "url") other schemes, user names and passwords,
 * control characters, spaces and non-ASCII bytes, backslashes and percent signs in the
 * host, zone ids, empty hosts, bad ports and URLs over AN_URL_MAX bytes. */
int an_url_parse(const char *text, an_url *out, an_err *err);

/* Why an address is refused. */
typedef enum an_addr_class {
    AN_ADDR_PUBLIC = 0,
    AN_ADDR_LOOPBACK,
    AN_ADDR_UNSPECIFIED,
    AN_ADDR_PRIVATE,
    AN_ADDR_LINK_LOCAL,
    AN_ADDR_CGNAT,
    AN_ADDR_MULTICAST,
    AN_ADDR_RESERVED, /* broadcast, 240/4, documentation, benchmarking, other special use */
} an_addr_class;

/* The class of an AF_INET or AF_INET6 address (other families: AN_ADDR_RESERVED). IPv6
 * addresses that embed an IPv4 address (mapped, compatible, NAT64, 6to4) get the class of
 * the embedded address. */
an_addr_class an_addr_classify(const struct sockaddr *sa);

/* "a loopback address", "a private address", … for messages; "" for AN_ADDR_PUBLIC. */
const char *an_addr_class_text(an_addr_class c);

/* The address as text ("127.0.0.1", "::1") into out. */
void an_addr_text(const struct sockaddr *sa, char *out, size_t size);

/* An allow-list: CIDRs ("10.0.0.0/8", "fd00::/8"), single addresses ("127.0.0.1") and host
 * names ("hooks.internal", matched exactly, case-insensitively, against a URL's host). */
typedef struct an_net_allow an_net_allow;

/* Parses comma-separated entries (spaces around them are ignored; NULL or "" is an empty
 * list). Refuses (AN_EINVAL, where naming the entry) malformed CIDRs, prefixes out of
 * range, CIDRs with host bits set, names with characters a host name cannot have and names
 * that are really numbers ("2130706433": write the address). *out is freed with
 * an_net_allow_free. */
int an_net_allow_parse(const char *text, an_net_allow **out, an_err *err);
void an_net_allow_free(an_net_allow *a);

/* Whether a names host (a URL's host, lower case) or covers the address. An IPv4-mapped IPv6
 * address is matched as its IPv4 address. NULL a allows nothing. */
bool an_net_allow_host(const an_net_allow *a, const char *host);
bool an_net_allow_addr(const an_net_allow *a, const struct sockaddr *sa);

/* Decides one address of host: 0 when it may be connected to (public, or allowed by a),
 * else AN_EINVAL with where "url" and a message that says why and how an administrator
 * can allow it. */
int an_guard_check_addr(const an_net_allow *a, const char *host, const struct sockaddr *sa,
                        an_err *err);

/* A URL that passed the guard, with the addresses to connect to. */
typedef struct an_guard_target {
    an_url url;
    struct sockaddr_storage addrs[AN_GUARD_MAX_ADDRS];
    socklen_t addr_lens[AN_GUARD_MAX_ADDRS];
    size_t n_addrs;
} an_guard_target;

/* Parses url, resolves its host (getaddrinfo, which blocks for as long as the resolver
 * takes) and checks every address it resolves to: one refused address refuses the URL, so
 * a name cannot mix a public and an internal answer. Returns 0 with out filled, or
 * AN_EINVAL (where "url") when the URL is malformed, does not resolve or is refused. */
int an_guard_resolve(const char *url, const an_net_allow *a, an_guard_target *out, an_err *err);

#endif
