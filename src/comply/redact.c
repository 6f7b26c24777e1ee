/* Redaction of findings in text and the offset map for spans. See redact.h. */
#include "comply/redact.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/settings.h"

static const char *const action_names[] = {"mask", "replace", "pseudonym", "drop", "keep"};

const char *an_redact_action_name(an_redact_action a)
{
    return (unsigned)a <= AN_REDACT_KEEP ? action_names[a] : "?";
}

void an_redact_policy_init(an_redact_policy *p, an_redact_action action)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < AN_PII_NTYPES; i++) p->action[i] = action;
}

int an_redact_policy_parse(an_redact_policy *p, const char *spec, an_err *err)
{
    const char *s = spec;
    while (*s) {
        size_t n = strcspn(s, ",");
        char item[64];
        if (n == 0 || n >= sizeof item)
            return an_err_set(err, AN_EINVAL, "--policy",
                              "expected TYPE=ACTION items separated by commas, e.g. "
                              "ID_CARD=mask,EMAIL=pseudonym,all=replace");
        memcpy(item, s, n);
        item[n] = '\0';
        char *eq = strchr(item, '=');
        if (!eq)
            return an_err_set(err, AN_EINVAL, item, "expected TYPE=ACTION, e.g. PHONE=mask");
        *eq = '\0';
        int action = -1;
        for (int a = 0; a <= AN_REDACT_KEEP; a++)
            if (strcasecmp(eq + 1, action_names[a]) == 0) action = a;
        if (action < 0)
            return an_err_set(err, AN_EINVAL, item,
                              "unknown action \"%s\"; use mask, replace, pseudonym, drop or keep",
                              eq + 1);
        if (strcasecmp(item, "all") == 0 || strcmp(item, "*") == 0) {
            for (int i = 0; i < AN_PII_NTYPES; i++) p->action[i] = (an_redact_action)action;
        } else {
            int t = an_pii_type_parse(item);
            if (t < 0)
                return an_err_set(err, AN_EINVAL, item,
                                  "unknown PII type; use ID_CARD, USCC, PHONE, BANK_CARD, EMAIL, "
                                  "IPV4, IPV6, PASSPORT, PLATE, CUSTOM or all");
            p->action[t] = (an_redact_action)action;
        }
        s += n;
        if (*s == ',') s++;
    }
    return 0;
}

bool an_redact_policy_needs_secret(const an_redact_policy *p)
{
    for (int i = 0; i < AN_PII_NTYPES; i++)
        if (p->action[i] == AN_REDACT_PSEUDONYM) return true;
    return false;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool parse_secret(const char *hex, uint8_t key[AN_REDACT_SECRET_BYTES])
{
    if (strlen(hex) != 2 * AN_REDACT_SECRET_BYTES) return false;
    for (size_t i = 0; i < AN_REDACT_SECRET_BYTES; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

int an_redact_secret(an_store *s, uint8_t key[AN_REDACT_SECRET_BYTES], an_err *err)
{
    static const char setting[] = "pii.secret";
    char *v = NULL;
    int rc = an_store_setting_get(s, setting, &v, err);
    if (rc < 0) return rc;
    if (v) {
        bool ok = parse_secret(v, key);
        sodium_memzero(v, strlen(v));
        free(v);
        return ok ? 0 : an_err_set(err, AN_EINVAL, setting,
                                   "the workspace's pseudonym secret is not 64 hex digits; "
                                   "unset it to have a new one made (earlier pseudonyms change)");
    }
    /* Made inside a write transaction and read again, so two processes making it at once
     * agree on one secret. */
    bool own = false;
    if (an_store_tx_time(s)[0] == '\0') {
        if ((rc = an_store_begin(s, err)) < 0) return rc;
        own = true;
    }
    if ((rc = an_store_setting_get(s, setting, &v, err)) == 0 && !v) {
        char hex[2 * AN_REDACT_SECRET_BYTES + 1];
        randombytes_buf(key, AN_REDACT_SECRET_BYTES);
        sodium_bin2hex(hex, sizeof hex, key, AN_REDACT_SECRET_BYTES);
        rc = an_store_setting_set(s, setting, hex, err);
        sodium_memzero(hex, sizeof hex);
    } else if (rc == 0) {
        if (!parse_secret(v, key))
            rc = an_err_set(err, AN_EINVAL, setting, "the pseudonym secret is not 64 hex digits");
        free(v);
    }
    if (own) rc = an_store_end(s, rc, err);
    return rc;
}

static bool keep_char(unsigned char c)
{
    return c == ' ' || c == '-' || c == '.' || c == ':' || c == '@' || c == '(' || c == ')' ||
           c == '+';
}

/* mask: every code point becomes '*' except separators and the kept ends; one '*' per code
 * point so that the length in code points stays. */
static void mask(const char *v, size_t len, bool email, an_buf *out)
{
    size_t ncp = 0;
    for (size_t i = 0; i < len; i++) ncp += ((unsigned char)v[i] & 0xC0) != 0x80;
    size_t head, tail;
    const char *at = email ? memchr(v, '@', len) : NULL;
    if (at) {
        head = 1;
        tail = 0;
    } else if (ncp >= 11) {
        head = 3;
        tail = 4;
    } else if (ncp >= 5) {
        head = 2;
        tail = 2;
    } else {
        head = 0;
        tail = 0;
    }
    size_t cp = 0, i = 0;
    bool in_domain = false;
    while (i < len) {
        size_t j = i + 1;
        while (j < len && ((unsigned char)v[j] & 0xC0) == 0x80) j++;
        unsigned char c = (unsigned char)v[i];
        if (at && v + i == at) in_domain = true;
        bool keep = in_domain || cp < head || (tail && cp >= ncp - tail) ||
                    (j == i + 1 && keep_char(c)) || (j == i + 2 && c == 0xC2 && v[i + 1] == '\xB7');
        if (keep)
            an_buf_add(out, v + i, j - i);
        else
            an_buf_addc(out, '*');
        i = j;
        cp++;
    }
}

/* RFC 4648 base32 of in[0..n), first want characters. */
static void base32(const uint8_t *in, size_t n, size_t want, an_buf *out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    unsigned buf = 0, bits = 0;
    size_t done = 0;
    for (size_t i = 0; i < n && done < want; i++) {
        buf = (buf << 8) | in[i];
        bits += 8;
        while (bits >= 5 && done < want) {
            an_buf_addc(out, alphabet[(buf >> (bits - 5)) & 31]);
            bits -= 5;
            done++;
        }
    }
}

void an_redact_value(const an_redact_policy *p, an_pii_type type, const char *label,
                     const char *value, size_t len, an_buf *out)
{
    const char *name = label ? label : an_pii_type_name(type);
    switch (p->action[type]) {
    case AN_REDACT_MASK:
        mask(value, len, type == AN_PII_EMAIL, out);
        break;
    case AN_REDACT_REPLACE:
        an_buf_addf(out, "[%s]", name);
        break;
    case AN_REDACT_PSEUDONYM: {
        crypto_auth_hmacsha256_state st;
        uint8_t mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256_init(&st, p->secret, sizeof p->secret);
        crypto_auth_hmacsha256_update(&st, (const uint8_t *)name, strlen(name));
        crypto_auth_hmacsha256_update(&st, (const uint8_t *)"", 1);
        crypto_auth_hmacsha256_update(&st, (const uint8_t *)value, len);
        crypto_auth_hmacsha256_final(&st, mac);
        an_buf_addf(out, "%s_", name);
        base32(mac, sizeof mac, 10, out);
        break;
    }
    case AN_REDACT_DROP:
        break;
    case AN_REDACT_KEEP:
        an_buf_add(out, value, len);
        break;
    }
}

void an_redact_map_reset(an_redact_map *m)
{
    m->n = 0;
}

void an_redact_map_free(an_redact_map *m)
{
    free(m->segs);
    m->segs = NULL;
    m->n = m->cap = 0;
}

static size_t count_cp(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

void an_redact_text(const an_redact_policy *p, const char *text, size_t len,
                    const an_pii_finding *f, size_t n, an_buf *out, an_redact_map *map,
                    size_t *changed)
{
    if (map) an_redact_map_reset(map);
    size_t pos = 0, done = 0;
    long long shift = 0; /* new - old, in code points, so far */
    for (size_t i = 0; i < n; i++) {
        if (f[i].bstart < pos || f[i].bend > len) continue; /* not in order: leave it */
        an_buf_add(out, text + pos, f[i].bstart - pos);
        if (p->action[f[i].type] == AN_REDACT_KEEP) {
            an_buf_add(out, text + f[i].bstart, f[i].bend - f[i].bstart);
            pos = f[i].bend;
            continue;
        }
        size_t before = out->len;
        an_redact_value(p, f[i].type, f[i].label, text + f[i].bstart, f[i].bend - f[i].bstart, out);
        size_t new_len = count_cp(out->p + before, out->len - before);
        done++;
        if (map) {
            if (map->n == map->cap) {
                map->cap = map->cap ? 2 * map->cap : 8;
                map->segs = an_xrealloc(map->segs, map->cap * sizeof *map->segs);
            }
            size_t ns = (size_t)((long long)f[i].start + shift);
            map->segs[map->n++] = (an_redact_seg){f[i].start, f[i].end, ns, ns + new_len};
        }
        shift += (long long)new_len - (long long)(f[i].end - f[i].start);
        pos = f[i].bend;
    }
    an_buf_add(out, text + pos, len - pos);
    if (changed) *changed = done;
}

size_t an_redact_map_pos(const an_redact_map *m, size_t old, bool end)
{
    /* Segments are in order: find the last one starting at or before old (binary search). */
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->segs[mid].old_start <= old)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return old;
    const an_redact_seg *s = &m->segs[lo - 1];
    if (old >= s->old_end) return old - s->old_end + s->new_end;
    /* Inside the value (or at its start). */
    if (old == s->old_start) return s->new_start;
    return end ? s->new_end : s->new_start;
}

bool an_redact_map_span(const an_redact_map *m, size_t *start, size_t *end)
{
    size_t ns = an_redact_map_pos(m, *start, false), ne = an_redact_map_pos(m, *end, true);
    /* A span starting inside a value takes the whole replacement: clamp its start back. */
    if (ne < ns) ne = ns;
    *start = ns;
    *end = ne;
    return ne > ns;
}
