/* PII scanner: candidates from one Hyperscan pass, confirmed by validators, scored with
 * context words, overlaps resolved. See pii.h and docs/compliance.md. */
#include "comply/pii.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <hs/hs.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/json.h"

static const char *const type_names[AN_PII_NTYPES] = {
    "ID_CARD", "USCC", "PHONE", "BANK_CARD", "EMAIL", "IPV4", "IPV6", "PASSPORT", "PLATE", "CUSTOM",
};

const char *an_pii_type_name(an_pii_type t)
{
    return (unsigned)t < AN_PII_NTYPES ? type_names[t] : "?";
}

int an_pii_type_parse(const char *name)
{
    for (int i = 0; i < AN_PII_NTYPES; i++)
        if (strcasecmp(name, type_names[i]) == 0) return i;
    return -1;
}

/* ---- validators --------------------------------------------------------------------- */

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_upper(unsigned char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_alnum(unsigned char c)
{
    return is_digit(c) || is_upper(c) || (c >= 'a' && c <= 'z');
}

static bool is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit((unsigned char)s[i])) return false;
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

static bool real_date(int y, int m, int d)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1) return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int max = mdays[m - 1] + (m == 2 && leap);
    return d <= max;
}

/* GB 11643-1999 "Citizen identification number", clause 7: the check character is
 * ISO 7064:1983 MOD 11-2 over the 17 digits, weights 2^(i) mod 11 from the right
 * (7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2), written as "10X98765432"[sum mod 11]. Positions 7-14
 * hold the birth date YYYYMMDD, which must be a real day. */
bool an_pii_valid_id_card(const char *s, size_t n)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    if (n != 18 || !all_digits(s, 17) || s[0] == '0') return false;
    int y = num(s + 6, 4);
    if (y < 1900 || y > 2099 || !real_date(y, num(s + 10, 2), num(s + 12, 2))) return false;
    int sum = 0;
    for (int i = 0; i < 17; i++) sum += (s[i] - '0') * w[i];
    char want = "10X98765432"[sum % 11];
    char got = s[17] == 'x' ? 'X' : s[17];
    return got == want;
}

/* GB 32100-2015 "The coding rule of the unified social credit identifier for legal entities
 * and other organizations": 31 characters (digits and capitals without I, O, S, V, Z), the
 * 18th is a MOD 31 check character over the first 17 with weights 3^i mod 31
 * (1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28); positions 3-8 are the administrative
 * division code (digits). */
bool an_pii_valid_uscc(const char *s, size_t n)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    static const int w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    if (n != 18 || !all_digits(s + 2, 6)) return false;
    int v[18];
    for (size_t i = 0; i < 18; i++) {
        const char *p = s[i] ? strchr(alphabet, s[i]) : NULL;
        if (!p) return false;
        v[i] = (int)(p - alphabet);
    }
    int sum = 0;
    for (int i = 0; i < 17; i++) sum += v[i] * w[i];
    int c = 31 - sum % 31;
    if (c == 31) c = 0;
    return v[17] == c;
}

/* Digits of s with the separators ' ' and '-' removed, into d (cap bytes); -1 when another
 * character appears or there are too many digits. */
static int strip_digits(const char *s, size_t n, char *d, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '-') continue;
        if (!is_digit(c) || k + 1 >= cap) return -1;
        d[k++] = (char)c;
    }
    d[k] = '\0';
    return (int)k;
}

/* ISO/IEC 7812-1 annex B (Luhn): from the right, every second digit doubled (minus 9 when
 * over 9), the total a multiple of 10. */
bool an_pii_luhn(const char *s, size_t n)
{
    char d[64];
    int k = strip_digits(s, n, d, sizeof d);
    if (k < 2) return false;
    int sum = 0;
    for (int i = k - 1, dbl = 0; i >= 0; i--, dbl ^= 1) {
        int v = d[i] - '0';
        if (dbl) {
            v *= 2;
            if (v > 9) v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

/* ISO/IEC 7812 issuer identification numbers (the leading digits) of the card schemes seen
 * on the mainland, with the lengths each issues. */
bool an_pii_valid_bank_card(const char *s, size_t n)
{
    char d[64];
    int k = strip_digits(s, n, d, sizeof d);
    if (k < 13 || k > 19 || !an_pii_luhn(s, n)) return false;
    int p2 = num(d, 2), p4 = num(d, 4);
    if (p2 == 62) return k >= 16; /* UnionPay */
    if (d[0] == '4') return k == 13 || k == 16 || k == 19; /* Visa */
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return k == 16; /* Mastercard */
    if (p2 == 34 || p2 == 37) return k == 15; /* American Express */
    if (p4 >= 3528 && p4 <= 3589) return k >= 16; /* JCB */
    return false;
}

/* Mainland mobile: 11 digits 1[3-9]xxxxxxxxx (MIIT numbering plan). */
static bool mobile_digits(const char *d, int k)
{
    return k == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

/* Mainland landline: area code 010 / 02X (3 digits) or 0[3-9]XX (4), subscriber 7-8 digits
 * not starting with 0 or 1. */
static bool landline(const char *s, size_t n)
{
    size_t i = 0;
    bool paren = s[0] == '(';
    if (paren) i++;
    size_t a0 = i;
    while (i < n && is_digit((unsigned char)s[i])) i++;
    size_t alen = i - a0;
    if (paren) {
        if (i >= n || s[i] != ')') return false;
        i++;
    }
    const char *a = s + a0;
    bool area_ok = (alen == 3 && a[0] == '0' && (a[1] == '1' ? a[2] == '0' : a[1] == '2')) ||
                   (alen == 4 && a[0] == '0' && a[1] >= '3' && a[1] <= '9');
    if (!area_ok) return false;
    char d[32];
    int k = strip_digits(s + i, n - i, d, sizeof d);
    return (k == 7 || k == 8) && d[0] != '0' && d[0] != '1';
}

/* ITU-T E.164: at most 15 digits including the country code, which never starts with 0;
 * written with a leading '+'. Under +86 the national number must be a mainland one. */
bool an_pii_valid_phone(const char *s, size_t n)
{
    if (n == 0) return false;
    char d[40];
    if (s[0] == '+' || (n > 4 && memcmp(s, "0086", 4) == 0)) {
        size_t skip = s[0] == '+' ? 1 : 2; /* "0086" -> "86…" */
        int k = strip_digits(s + skip, n - skip, d, sizeof d);
        if (k < 8 || k > 15 || d[0] == '0') return false;
        if (d[0] == '8' && d[1] == '6') /* mainland: a mobile, or area code without its 0 */
            return mobile_digits(d + 2, k - 2) || (k - 2 >= 9 && k - 2 <= 11 && d[2] != '1') ||
                   (k - 2 >= 9 && k - 2 <= 10 && d[2] == '1' && d[3] == '0');
        return s[0] == '+';
    }
    if (s[0] == '(' || s[0] == '0') return landline(s, n);
    int k = strip_digits(s, n, d, sizeof d);
    return mobile_digits(d, k);
}

/* RFC 5321 limits (local part 64, address 254); RFC 1035 labels (1-63, no '-' at either end). */
bool an_pii_valid_email(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    if (!at || n > 254) return false;
    size_t local = (size_t)(at - s);
    if (local == 0 || local > 64 || s[0] == '.' || s[local - 1] == '.') return false;
    for (size_t i = 1; i < local; i++)
        if (s[i] == '.' && s[i - 1] == '.') return false;
    const char *d = at + 1, *end = s + n;
    size_t labels = 0;
    while (d < end) {
        const char *dot = memchr(d, '.', (size_t)(end - d));
        const char *le = dot ? dot : end;
        size_t len = (size_t)(le - d);
        if (len == 0 || len > 63 || d[0] == '-' || le[-1] == '-') return false;
        labels++;
        d = dot ? dot + 1 : end;
        if (dot && d == end) return false;
    }
    return labels >= 2;
}

bool an_pii_valid_ipv4(const char *s, size_t n)
{
    int parts = 0;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && is_digit((unsigned char)s[j])) j++;
        size_t len = j - i;
        if (len == 0 || len > 3 || (len > 1 && s[i] == '0') || num(s + i, len) > 255) return false;
        parts++;
        if (j == n) break;
        if (s[j] != '.') return false;
        i = j + 1;
    }
    return parts == 4;
}

/* RFC 4291 section 2.2 text forms, checked by inet_pton; at least two groups written, so
 * that "d::" in "std::vector" is not an address. */
bool an_pii_valid_ipv6(const char *s, size_t n)
{
    char buf[64];
    unsigned char addr[16];
    if (n < 6 || n >= sizeof buf) return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET6, buf, addr) != 1) return false;
    int groups = 0;
    for (size_t i = 0; i < n; i++)
        if (is_hex((unsigned char)s[i]) && (i == 0 || s[i - 1] == ':')) groups++;
    return groups >= 2;
}

/* ICAO Doc 9303 part 3, 4.9: check digits weight the characters 7, 3, 1, 7, 3, 1, … with
 * digits as their value, A-Z as 10-35 and the filler '<' as 0; the digit is the sum mod 10. */
int an_pii_mrz_check_digit(const char *s, size_t n)
{
    static const int w[3] = {7, 3, 1};
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int v;
        if (is_digit(c))
            v = c - '0';
        else if (is_upper(c))
            v = c - 'A' + 10;
        else if (c == '<')
            v = 0;
        else
            return -1;
        sum += v * w[i % 3];
    }
    return sum % 10;
}

static bool mrz_field(const char *s, size_t off, size_t len, char check)
{
    int c = an_pii_mrz_check_digit(s + off, len);
    return c >= 0 && check == '0' + c;
}

/* ICAO Doc 9303 part 4 (TD3), second line: document number 1-9 with check 10, birth date
 * 14-19 with check 20, expiry 22-27 with check 28, personal number 29-42 with check 43 ('<'
 * allowed when the number is empty), composite check 44 over 1-10, 14-20 and 22-43. */
bool an_pii_valid_mrz(const char *s, size_t n)
{
    if (n != 44) return false;
    if (!mrz_field(s, 0, 9, s[9]) || !mrz_field(s, 13, 6, s[19]) || !mrz_field(s, 21, 6, s[27]))
        return false;
    if (!(s[42] == '<' && an_pii_mrz_check_digit(s + 28, 14) == 0) && !mrz_field(s, 28, 14, s[42]))
        return false;
    char comp[44];
    size_t k = 0;
    memcpy(comp + k, s, 10);
    k += 10;
    memcpy(comp + k, s + 13, 7);
    k += 7;
    memcpy(comp + k, s + 21, 22);
    k += 22;
    return mrz_field(comp, 0, k, s[43]);
}

/* Passport numbers of the People's Republic of China as issued since 2012 (E + 8 digits, then
 * E + letter + 7 digits once exhausted), the older G series, and D (diplomatic), S (service),
 * P (public affairs) with 7 digits, optionally "DE"/"SE"/"PE". */
bool an_pii_valid_passport(const char *s, size_t n)
{
    if (n == 9 && (s[0] == 'E' || s[0] == 'G') && all_digits(s + 1, 8)) return true;
    if (n == 9 && s[0] == 'E' && is_upper((unsigned char)s[1]) && s[1] != 'I' && s[1] != 'O' &&
        all_digits(s + 2, 7))
        return true;
    if ((s[0] == 'D' || s[0] == 'S' || s[0] == 'P') && n >= 8) {
        size_t i = (n == 9 && s[1] == 'E') ? 2 : 1;
        return n - i == 7 && all_digits(s + i, 7);
    }
    return false;
}

static const char *const provinces[] = {
    "京", "津", "沪", "渝", "冀", "豫", "云", "辽", "黑", "湘", "皖", "鲁", "新", "苏", "浙", "赣",
    "鄂", "桂", "甘", "晋", "蒙", "陕", "吉", "闽", "贵", "粤", "青", "藏", "川", "宁", "琼",
};

static bool plate_letter(unsigned char c)
{
    return is_upper(c) && c != 'I' && c != 'O';
}

static bool plate_char(unsigned char c)
{
    return plate_letter(c) || is_digit(c);
}

/* GA 36-2018 "Number plates of motor vehicles of the PRC": province abbreviation, issuing
 * authority letter, then a 5-character serial (at most two letters; 挂 trailer, 学 learner,
 * 警 police, 港/澳 cross-border may replace the last), or for new-energy vehicles a 6-character
 * serial: D (battery) / F (other) first then a letter or digit and 4 digits (small vehicles),
 * or 5 digits then D / F (large vehicles). */
bool an_pii_valid_plate(const char *s, size_t n)
{
    if (n < 3) return false;
    bool prov = false;
    for (size_t i = 0; i < sizeof provinces / sizeof provinces[0]; i++)
        if (memcmp(s, provinces[i], 3) == 0) prov = true;
    if (!prov || n < 4 || !plate_letter((unsigned char)s[3])) return false;
    size_t i = 4;
    if (n >= i + 2 && memcmp(s + i, "\xC2\xB7", 2) == 0) i += 2;
    const char *r = s + i;
    size_t m = n - i;
    if (m == 6) {
        if ((r[0] == 'D' || r[0] == 'F') && plate_char((unsigned char)r[1]) && all_digits(r + 2, 4))
            return true;
        return all_digits(r, 5) && (r[5] == 'D' || r[5] == 'F');
    }
    size_t serial = m;
    if (m == 7) { /* 4 characters and a 3-byte suffix */
        static const char *const suffix[] = {"挂", "学", "警", "港", "澳"};
        bool ok = false;
        for (size_t k = 0; k < 5; k++)
            if (memcmp(r + 4, suffix[k], 3) == 0) ok = true;
        if (!ok) return false;
        serial = 4;
    } else if (m != 5) {
        return false;
    }
    int letters = 0;
    for (size_t k = 0; k < serial; k++) {
        if (!plate_char((unsigned char)r[k])) return false;
        letters += is_upper((unsigned char)r[k]);
    }
    return letters <= 2;
}

/* ---- patterns ----------------------------------------------------------------------- */

typedef enum kind {
    K_ID,
    K_USCC,
    K_MOBILE,
    K_LANDLINE,
    K_E164,
    K_CARD,
    K_EMAIL,
    K_IPV4,
    K_IPV6,
    K_PASSPORT,
    K_MRZ,
    K_PLATE,
} kind;

/* Where a candidate starts. The built-in patterns are compiled without start-of-match
 * tracking (Hyperscan's SOM costs about a third of the scan) and report only where a match
 * ends. Each kind has a shape (written above its finder) and a finder that walks back from
 * an end to the start Hyperscan's HS_FLAG_SOM_LEFTMOST would give for the shape: the
 * leftmost position from which the shape matches up to that end, or NOSTART when the shape
 * does not end there. Because the finder checks the whole shape, the pattern given to
 * Hyperscan only has to report every end of the shape, and may report more: a mobile
 * number's optional +86 prefix, the card prefixes, the passport letters and the plate's
 * province and serial forms are left to the finders, which makes the databases quicker to
 * compile and to scan. The shapes have fixed or bounded lengths (an email's is cut at
 * EMAIL_SCAN_MAX, far beyond what its validator accepts), so a finder reads a few dozen
 * bytes; none matches '\n', so no finder crosses a line. */
#define NOSTART SIZE_MAX
#define EMAIL_SCAN_MAX 512

static bool sep_at(const char *t, size_t i)
{
    return t[i] == ' ' || t[i] == '-';
}

static bool digits_in(const char *t, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (!is_digit((unsigned char)t[i])) return false;
    return true;
}

static size_t st_len18(const char *t, size_t e)
{
    (void)t;
    return e >= 18 ? e - 18 : NOSTART;
}

static size_t st_mrz(const char *t, size_t e)
{
    (void)t;
    return e >= 44 ? e - 44 : NOSTART;
}

static size_t st_amex(const char *t, size_t e)
{
    (void)t;
    return e >= 17 ? e - 17 : NOSTART;
}

/* (?:\+86[ -]?|0086[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}: the number read backwards is
 * unambiguous (a separator is never a digit), then the longest prefix present. */
static size_t st_mobile(const char *t, size_t e)
{
    size_t p = e;
    if (p < 4 || !digits_in(t, p - 4, p)) return NOSTART;
    p -= 4;
    if (p && sep_at(t, p - 1)) p--;
    if (p < 4 || !digits_in(t, p - 4, p)) return NOSTART;
    p -= 4;
    if (p && sep_at(t, p - 1)) p--;
    if (p < 3 || t[p - 3] != '1' || t[p - 2] < '3' || t[p - 2] > '9' ||
        !is_digit((unsigned char)t[p - 1]))
        return NOSTART;
    size_t c = p - 3, q = c;
    if (q && sep_at(t, q - 1)) q--;
    if (q >= 4 && memcmp(t + q - 4, "0086", 4) == 0) return q - 4;
    if (q >= 3 && memcmp(t + q - 3, "+86", 3) == 0) return q - 3;
    return c;
}

/* (?:\(0\d{2,3}\)[ -]?|0\d{2,3}[ -])\d{3,4}[ -]?\d{4}: every split of the digits tried, the
 * leftmost start kept. */
static size_t st_landline(const char *t, size_t e)
{
    if (e < 4 || !digits_in(t, e - 4, e)) return NOSTART;
    size_t best = NOSTART, q = e - 4;
    if (q && sep_at(t, q - 1)) q--;
    for (size_t l1 = 3; l1 <= 4; l1++) {
        if (q < l1 || !digits_in(t, q - l1, q)) continue;
        size_t r = q - l1;
        for (size_t l2 = 2; l2 <= 3; l2++) {
            /* 0\d{2,3}[ -] */
            if (r >= l2 + 2 && sep_at(t, r - 1)) {
                size_t a = r - 2 - l2;
                if (t[a] == '0' && digits_in(t, a + 1, r - 1) && a < best) best = a;
            }
            /* \(0\d{2,3}\)[ -]? */
            size_t r2 = r && sep_at(t, r - 1) ? r - 1 : r;
            if (r2 >= l2 + 3 && t[r2 - 1] == ')') {
                size_t a = r2 - 3 - l2;
                if (t[a] == '(' && t[a + 1] == '0' && digits_in(t, a + 2, r2 - 1) && a < best)
                    best = a;
            }
        }
    }
    return best;
}

/* \+[1-9](?:[ -]?\d){7,14}: units (an optional separator and a digit) read backwards, the
 * most units that have "+[1-9]" before them. */
static size_t st_e164(const char *t, size_t e)
{
    size_t p = e, best = NOSTART;
    for (int k = 1; k <= 14; k++) {
        if (p == 0 || !is_digit((unsigned char)t[p - 1])) break;
        p--;
        if (k >= 7) {
            if (p >= 2 && t[p - 1] >= '1' && t[p - 1] <= '9' && t[p - 2] == '+') best = p - 2;
            if (p >= 3 && sep_at(t, p - 1) && t[p - 2] >= '1' && t[p - 2] <= '9' &&
                t[p - 3] == '+')
                best = p - 3;
        }
        if (p && sep_at(t, p - 1)) p--;
    }
    return best;
}

/* (?:62|4|5[1-5]|2[2-7]|3[47]|35)\d{11,17}: the longest run of digits with a fitting
 * prefix. */
static size_t st_card(const char *t, size_t e)
{
    size_t run = 0;
    while (run < 19 && run < e && is_digit((unsigned char)t[e - run - 1])) run++;
    for (size_t len = run; len >= 12; len--) {
        const char *s = t + e - len;
        char c0 = s[0], c1 = s[1];
        bool two = (c0 == '6' && c1 == '2') || (c0 == '5' && c1 >= '1' && c1 <= '5') ||
                   (c0 == '2' && c1 >= '2' && c1 <= '7') ||
                   (c0 == '3' && (c1 == '4' || c1 == '7' || c1 == '5'));
        if ((two && len >= 13) || (c0 == '4' && len <= 18)) return e - len;
    }
    return NOSTART;
}

/* \d{4}[ -]\d{4}[ -]\d{4}[ -]\d{4} at t[s..s+19). */
static bool grouped16(const char *t, size_t s)
{
    for (size_t g = 0; g < 4; g++) {
        if (!digits_in(t, s + 5 * g, s + 5 * g + 4)) return false;
        if (g < 3 && !sep_at(t, s + 5 * g + 4)) return false;
    }
    return true;
}

/* \d{4}[ -]\d{4}[ -]\d{4}[ -]\d{4}(?:[ -]?\d{1,3})?: the longest tail that leaves a grouped
 * number before it. */
static size_t st_card_grouped(const char *t, size_t e)
{
    for (size_t k = 3; k >= 1; k--) {
        if (e < k || !digits_in(t, e - k, e)) continue;
        size_t c = e - k;
        if (c >= 20 && sep_at(t, c - 1) && grouped16(t, c - 20)) return c - 20;
        if (c >= 19 && grouped16(t, c - 19)) return c - 19;
    }
    return e >= 19 && grouped16(t, e - 19) ? e - 19 : NOSTART;
}

static bool email_char(unsigned char c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

/* [local]+@[domain]…: back over the domain to its '@' (the domain has none), then over the
 * whole run of local-part characters. A run past EMAIL_SCAN_MAX bytes is longer than any
 * address the validator accepts, and is dropped. */
static size_t st_email(const char *t, size_t e)
{
    size_t lim = e > EMAIL_SCAN_MAX ? e - EMAIL_SCAN_MAX : 0, p = e;
    while (p > lim && (is_alnum((unsigned char)t[p - 1]) || t[p - 1] == '.' || t[p - 1] == '-'))
        p--;
    if (p == lim || t[p - 1] != '@') return NOSTART;
    size_t at_pos = p - 1, s = at_pos;
    while (s > lim && email_char((unsigned char)t[s - 1])) s--;
    if (s == at_pos || (s == lim && lim > 0 && email_char((unsigned char)t[lim - 1])))
        return NOSTART;
    return s;
}

/* \d{1,3}(?:\.\d{1,3}){3}: groups end at the dots; the first takes up to three digits. */
static size_t st_ipv4(const char *t, size_t e)
{
    size_t p = e;
    for (int g = 0; g < 4; g++) {
        size_t d = 0;
        while (p > 0 && d < 3 && is_digit((unsigned char)t[p - 1])) {
            p--;
            d++;
        }
        if (d == 0) return NOSTART;
        if (g < 3) {
            if (p == 0 || t[p - 1] != '.') return NOSTART;
            p--;
        }
    }
    return p;
}

/* [0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}: as many colon groups as there are (up to
 * seven), then up to four hex digits of the first group. */
static size_t st_ipv6(const char *t, size_t e)
{
    size_t q = e;
    int colons = 0;
    for (;;) {
        size_t h = 0;
        while (h < q && h < 5 && is_hex((unsigned char)t[q - h - 1])) h++;
        size_t p = q - h;
        if (colons == 0) {
            if (h > 4 || p == 0 || t[p - 1] != ':') return NOSTART;
            q = p - 1;
            colons = 1;
            continue;
        }
        if (h <= 4 && colons < 7 && p > 0 && t[p - 1] == ':') {
            q = p - 1;
            colons++;
            continue;
        }
        if (colons < 2) return NOSTART;
        return q - (h > 4 ? 4 : h);
    }
}

static bool passport_letter(unsigned char c)
{
    return is_upper(c) && c != 'I' && c != 'O';
}

/* [EG]\d{8}|E[A-HJ-NP-Z]\d{7}|[DSP]E?\d{7}: nine characters if they fit, else eight. */
static size_t st_passport(const char *t, size_t e)
{
    if (e >= 9) {
        const char *s = t + e - 9;
        if (((s[0] == 'E' || s[0] == 'G') && digits_in(s, 1, 9)) ||
            (s[0] == 'E' && passport_letter((unsigned char)s[1]) && digits_in(s, 2, 9)) ||
            ((s[0] == 'D' || s[0] == 'S' || s[0] == 'P') && s[1] == 'E' && digits_in(s, 2, 9)))
            return e - 9;
    }
    if (e >= 8) {
        const char *s = t + e - 8;
        if ((s[0] == 'D' || s[0] == 'S' || s[0] == 'P') && digits_in(s, 1, 8)) return e - 8;
    }
    return NOSTART;
}

static bool is_province(const char *s)
{
    for (size_t i = 0; i < sizeof provinces / sizeof provinces[0]; i++)
        if (memcmp(s, provinces[i], 3) == 0) return true;
    return false;
}

/* The serial after the letter (and '·'), m bytes:
 * [A-HJ-NP-Z0-9]{4}(?:[A-HJ-NP-Z0-9]|挂|学|警|港|澳)|[DF][A-HJ-NP-Z0-9]\d{4}|\d{5}[DF]. */
static bool plate_serial(const char *r, size_t m)
{
    static const char *const suffix[] = {"挂", "学", "警", "港", "澳"};
    if (m == 5 || m == 7) {
        for (size_t k = 0; k < 4; k++)
            if (!plate_char((unsigned char)r[k])) return false;
        if (m == 5) return plate_char((unsigned char)r[4]);
        for (size_t k = 0; k < 5; k++)
            if (memcmp(r + 4, suffix[k], 3) == 0) return true;
        return false;
    }
    if (m == 6)
        return ((r[0] == 'D' || r[0] == 'F') && plate_char((unsigned char)r[1]) &&
                digits_in(r, 2, 6)) ||
               (digits_in(r, 0, 5) && (r[5] == 'D' || r[5] == 'F'));
    return false;
}

/* Shape: (?:京|津|…|琼)[A-HJ-NP-Z](?:·)?(?:serial). The Hyperscan pattern starts at the letter
 * (an alternation of 31 three-byte province characters is slow to scan in Chinese text, where
 * their lead bytes are everywhere) and leaves the serial's forms to plate_serial; the
 * province before the letter is checked here and the candidate starts there. */
static size_t st_plate(const char *t, size_t e)
{
    size_t best = NOSTART;
    for (size_t m = 5; m <= 7; m++) {
        for (size_t dot = 0; dot <= 2; dot += 2) {
            if (e < m + dot + 4) continue;
            size_t l = e - m - dot - 1;
            if (plate_letter((unsigned char)t[l]) &&
                (dot == 0 || memcmp(t + l + 1, "\xC2\xB7", 2) == 0) &&
                plate_serial(t + l + 1 + dot, m) && is_province(t + l - 3) && l - 3 < best)
                best = l - 3;
        }
    }
    return best;
}

#define PL "[A-HJ-NP-Z]"
#define PC "[A-HJ-NP-Z0-9]"

/* re: the Hyperscan pattern, reporting every end of the kind's shape (see the finders).
 * group: the built-ins are compiled into NGROUPS databases scanned one after the other. One
 * database of all of them scans at about a third of the speed on the bench/pii.sh corpus
 * (digit-class patterns mixed with the e-mail, IPv6 and plate ones lose Hyperscan's
 * acceleration); these groups were the quickest measured. */
#define NGROUPS 3
static const struct builtin {
    const char *re;
    an_pii_type type;
    kind k;
    double base; /* score before context */
    unsigned group;
    size_t (*start)(const char *t, size_t e);
} builtins[] = {
    {"\\d{17}[0-9Xx]", AN_PII_ID_CARD, K_ID, 0.85, 0, st_len18},
    {"[0-9A-HJ-NPQRTUWXY]{2}\\d{6}[0-9A-HJ-NPQRTUWXY]{10}", AN_PII_USCC, K_USCC, 0.85, 0, st_len18},
    {"1[3-9]\\d[ \\-]?\\d{4}[ \\-]?\\d{4}", AN_PII_PHONE, K_MOBILE, 0.7, 0, st_mobile},
    {"(?:\\(0\\d{2,3}\\)[ \\-]?|0\\d{2,3}[ \\-])\\d{3,4}[ \\-]?\\d{4}", AN_PII_PHONE, K_LANDLINE,
     0.5, 0, st_landline},
    {"\\+[1-9](?:[ \\-]?\\d){7,14}", AN_PII_PHONE, K_E164, 0.5, 0, st_e164},
    {"\\d{12}", AN_PII_BANK_CARD, K_CARD, 0.6, 0, st_card},
    {"\\d{4}[ \\-]\\d{4}[ \\-]\\d{4}[ \\-]\\d{4}(?:[ \\-]?\\d{1,3})?", AN_PII_BANK_CARD, K_CARD,
     0.6, 0, st_card_grouped},
    {"3[47]\\d{2}[ \\-]\\d{6}[ \\-]\\d{5}", AN_PII_BANK_CARD, K_CARD, 0.6, 0, st_amex},
    {"[A-Za-z0-9._%+\\-]+@[A-Za-z0-9\\-]+(?:\\.[A-Za-z0-9\\-]+)*\\.[A-Za-z]{2,}",
     AN_PII_EMAIL, K_EMAIL, 0.9, 2, st_email},
    {"\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}", AN_PII_IPV4, K_IPV4, 0.6, 1, st_ipv4},
    {"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}", AN_PII_IPV6, K_IPV6, 0.7, 2, st_ipv6},
    {"[DEGPS][A-Z0-9]?\\d{7}", AN_PII_PASSPORT, K_PASSPORT, 0.4, 1, st_passport},
    {"[A-Z0-9<]{9}\\d[A-Z<]{3}\\d{7}[MFX<]\\d{7}[A-Z0-9<]{14}[0-9<]\\d", AN_PII_PASSPORT, K_MRZ,
     0.95, 1, st_mrz},
    {PL "(?:\xC2\xB7)?" PC "{4}(?:" PC "{1,2}|挂|学|警|港|澳)", AN_PII_PLATE, K_PLATE, 0.7, 2,
     st_plate},
};
#define N_BUILTIN (sizeof builtins / sizeof builtins[0])
#define CUSTOM_BASE 1000u
#define DENY_BASE 1000000u
#define CUSTOM_SCORE 0.8
#define DENY_SCORE 0.9

/* Context words (lower case; ASCII ones are matched case-insensitively). */
static const char *const ctx_id[] = {"身份证", "证件号", "公民身份", "身份号", "id card", "id no",
                                     "id number", "identity", NULL};
static const char *const ctx_uscc[] = {"信用代码", "统一社会", "营业执照", "税号", "credit code",
                                       "uscc", "registration", NULL};
static const char *const ctx_phone[] = {"手机", "电话", "联系方式", "致电", "来电", "座机",
                                        "phone", "mobile", "tel", "call", "cell", NULL};
static const char *const ctx_card[] = {"银行卡", "卡号", "账号", "账户", "信用卡", "储蓄卡",
                                       "银联", "card", "account", "visa", "mastercard", NULL};
static const char *const ctx_email[] = {"邮箱", "邮件", "电邮", "email", "e-mail", "mail", NULL};
static const char *const ctx_ip[] = {"ip", "地址", "服务器", "主机", "address", "host", "server",
                                     NULL};
static const char *const ctx_passport[] = {"护照", "通行证", "passport", NULL};
static const char *const ctx_plate[] = {"车牌", "牌照", "车辆", "号牌", "plate", "license",
                                        "vehicle", NULL};
static const char *const ctx_custom[] = {NULL};
static const char *const *const ctx_pos[AN_PII_NTYPES] = {
    ctx_id, ctx_uscc, ctx_phone, ctx_card, ctx_email, ctx_ip, ctx_ip, ctx_passport, ctx_plate,
    ctx_custom,
};
static const char *const ctx_neg[] = {"订单", "运单", "快递单", "流水号", "发票", "order",
                                      "tracking", "isbn", "invoice", "serial", "sku", NULL};
#define CTX_RAISE 0.35
#define CTX_LOWER 0.4
#define CTX_MAX_CHARS 256

/* ---- rules -------------------------------------------------------------------------- */

typedef struct custom_pat {
    char name[33];
    char *re;
} custom_pat;

struct an_pii_rules {
    custom_pat *pats;
    size_t n_pats, cap_pats;
    char **deny; /* as Hyperscan regexes of \xHH escapes */
    size_t n_deny, cap_deny;
};

an_pii_rules *an_pii_rules_new(void)
{
    return an_xcalloc(1, sizeof(an_pii_rules));
}

void an_pii_rules_free(an_pii_rules *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_pats; i++) free(r->pats[i].re);
    for (size_t i = 0; i < r->n_deny; i++) free(r->deny[i]);
    free(r->pats);
    free(r->deny);
    free(r);
}

size_t an_pii_rules_count(const an_pii_rules *r)
{
    return r ? r->n_pats + r->n_deny : 0;
}

#define CUSTOM_FLAGS (HS_FLAG_SOM_LEFTMOST | HS_FLAG_UTF8 | HS_FLAG_UCP)
#define BUILTIN_FLAGS 0u
#define DENY_FLAGS (HS_FLAG_SOM_LEFTMOST | HS_FLAG_CASELESS)

int an_pii_rules_add_pattern(an_pii_rules *r, const char *spec, an_err *err)
{
    const char *eq = strchr(spec, '=');
    size_t nl = eq ? (size_t)(eq - spec) : 0;
    if (!eq || nl == 0 || nl > 32 || !eq[1])
        return an_err_set(err, AN_EINVAL, spec, "a pattern is NAME=REGEX with a NAME of 1-32 "
                                                "letters, digits or '_'; e.g. EMPLOYEE=EMP\\d{6}");
    for (size_t i = 0; i < nl; i++)
        if (!is_alnum((unsigned char)spec[i]) && spec[i] != '_')
            return an_err_set(err, AN_EINVAL, spec,
                              "pattern names use letters, digits and '_' only");
    hs_database_t *db = NULL;
    hs_compile_error_t *ce = NULL;
    if (hs_compile(eq + 1, CUSTOM_FLAGS, HS_MODE_BLOCK, NULL, &db, &ce) != HS_SUCCESS) {
        int rc = an_err_set(err, AN_EINVAL, spec, "the pattern does not compile: %s; write it "
                            "in Hyperscan's syntax (PCRE without back-references or lookaround)",
                            ce && ce->message ? ce->message : "unknown error");
        hs_free_compile_error(ce);
        return rc;
    }
    hs_free_database(db);
    if (r->n_pats == r->cap_pats) {
        r->cap_pats = r->cap_pats ? 2 * r->cap_pats : 8;
        r->pats = an_xrealloc(r->pats, r->cap_pats * sizeof *r->pats);
    }
    custom_pat *p = &r->pats[r->n_pats++];
    memcpy(p->name, spec, nl);
    p->name[nl] = '\0';
    p->re = an_xstrdup(eq + 1);
    return 0;
}

int an_pii_rules_add_deny(an_pii_rules *r, const char *term, size_t len, an_err *err)
{
    if (len == 0 || len > 256)
        return an_err_set(err, AN_EINVAL, "deny", "a deny-list term has 1 to 256 bytes");
    an_buf b = AN_BUF_INIT;
    for (size_t i = 0; i < len; i++) an_buf_addf(&b, "\\x%02X", (unsigned char)term[i]);
    if (r->n_deny == r->cap_deny) {
        r->cap_deny = r->cap_deny ? 2 * r->cap_deny : 16;
        r->deny = an_xrealloc(r->deny, r->cap_deny * sizeof *r->deny);
    }
    r->deny[r->n_deny++] = an_buf_detach(&b);
    return 0;
}

int an_pii_rules_load_deny(an_pii_rules *r, const char *path, an_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return an_err_set(err, AN_EIO, path, "cannot open the deny list: %s", strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long no = 0;
    int rc = 0;
    while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
        no++;
        size_t n = (size_t)got;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        if (n == 0 || line[0] == '#') continue;
        if ((rc = an_pii_rules_add_deny(r, line, n, err)) < 0 && err)
            snprintf(err->where, sizeof err->where, "%s:%ld", path, no);
    }
    free(line);
    if (rc == 0 && ferror(f)) rc = an_err_set(err, AN_EIO, path, "cannot read the deny list");
    fclose(f);
    return rc;
}

int an_pii_rules_from_settings(an_pii_rules *r, const char *settings_json, an_err *err)
{
    if (!settings_json || !*settings_json) return 0;
    json_t *root = an_json_parse(settings_json, strlen(settings_json), "settings", err);
    if (!root) return -AN_EINVAL;
    int rc = 0;
    json_t *pii = json_object_get(root, "pii");
    if (pii && !json_is_object(pii)) {
        rc = an_err_set(err, AN_EINVAL, "settings.pii", "must be an object");
        goto out;
    }
    json_t *pats = json_object_get(pii, "patterns");
    if (json_is_object(pats)) {
        const char *k;
        json_t *v;
        json_object_foreach(pats, k, v) {
            if (!json_is_string(v)) {
                rc = an_err_set(err, AN_EINVAL, "settings.pii.patterns", "%s: not a string", k);
                goto out;
            }
            an_buf spec = AN_BUF_INIT;
            an_buf_addf(&spec, "%s=%s", k, json_string_value(v));
            rc = an_pii_rules_add_pattern(r, spec.p, err);
            an_buf_free(&spec);
            if (rc < 0) goto out;
        }
    } else if (json_is_array(pats)) {
        size_t i;
        json_t *v;
        json_array_foreach(pats, i, v) {
            if (!json_is_string(v)) {
                rc = an_err_set(err, AN_EINVAL, "settings.pii.patterns", "[%zu]: not a string", i);
                goto out;
            }
            if ((rc = an_pii_rules_add_pattern(r, json_string_value(v), err)) < 0) goto out;
        }
    } else if (pats) {
        rc = an_err_set(err, AN_EINVAL, "settings.pii.patterns", "must be an object or a list");
        goto out;
    }
    json_t *deny = json_object_get(pii, "deny");
    if (deny && !json_is_array(deny)) {
        rc = an_err_set(err, AN_EINVAL, "settings.pii.deny", "must be a list of strings");
        goto out;
    }
    size_t i;
    json_t *v;
    json_array_foreach(deny, i, v) {
        if (!json_is_string(v)) {
            rc = an_err_set(err, AN_EINVAL, "settings.pii.deny", "[%zu]: not a string", i);
            goto out;
        }
        if ((rc = an_pii_rules_add_deny(r, json_string_value(v), json_string_length(v), err)) < 0)
            goto out;
    }
out:
    json_decref(root);
    return rc;
}

/* ---- scanner ------------------------------------------------------------------------ */

struct an_pii_scanner {
    hs_database_t *groups[NGROUPS]; /* built-ins, end offsets only */
    hs_database_t *custom;          /* custom patterns and deny terms, with starts; or NULL */
    char **custom_names;            /* index id - CUSTOM_BASE */
    size_t n_custom;
    double min_score;
    unsigned context_chars;
};

static void free_dbs(an_pii_scanner *sc)
{
    for (int g = 0; g < NGROUPS; g++) hs_free_database(sc->groups[g]);
    hs_free_database(sc->custom);
}

int an_pii_scanner_new(const an_pii_rules *r, const an_pii_opts *opts, an_pii_scanner **out,
                       an_err *err)
{
    *out = NULL;
    size_t np = r ? r->n_pats : 0, nd = r ? r->n_deny : 0;
    size_t n = N_BUILTIN + np + nd;
    const char **exprs = an_xcalloc(n, sizeof *exprs);
    unsigned *flags = an_xcalloc(n, sizeof *flags);
    unsigned *ids = an_xcalloc(n, sizeof *ids);
    an_pii_scanner *sc = an_xcalloc(1, sizeof *sc);
    hs_compile_error_t *ce = NULL;
    int rc = 0;
    for (unsigned g = 0; g < NGROUPS && rc == 0; g++) {
        unsigned k = 0;
        for (size_t i = 0; i < N_BUILTIN; i++) {
            if (builtins[i].group != g) continue;
            exprs[k] = builtins[i].re;
            flags[k] = BUILTIN_FLAGS;
            ids[k++] = (unsigned)i;
        }
        if (hs_compile_multi(exprs, flags, ids, k, HS_MODE_BLOCK, NULL, &sc->groups[g], &ce) !=
            HS_SUCCESS) {
            rc = an_err_set(err, AN_EINTERNAL,
                            ce && ce->expression >= 0 ? exprs[ce->expression] : "pii",
                            "the built-in PII patterns do not compile: %s",
                            ce && ce->message ? ce->message : "unknown error");
            hs_free_compile_error(ce);
        }
    }
    if (rc == 0 && np + nd > 0) {
        size_t k = 0;
        for (size_t i = 0; i < np; i++, k++) {
            exprs[k] = r->pats[i].re;
            flags[k] = CUSTOM_FLAGS;
            ids[k] = CUSTOM_BASE + (unsigned)i;
        }
        for (size_t i = 0; i < nd; i++, k++) {
            exprs[k] = r->deny[i];
            flags[k] = DENY_FLAGS;
            ids[k] = DENY_BASE;
        }
        if (hs_compile_multi(exprs, flags, ids, (unsigned)k, HS_MODE_BLOCK, NULL, &sc->custom,
                             &ce) != HS_SUCCESS) {
            rc = an_err_set(err, AN_EINVAL,
                            ce && ce->expression >= 0 ? exprs[ce->expression] : "pii",
                            "the custom PII patterns do not compile together: %s",
                            ce && ce->message ? ce->message : "unknown error");
            hs_free_compile_error(ce);
        }
    }
    free(exprs);
    free(flags);
    free(ids);
    if (rc < 0) {
        free_dbs(sc);
        free(sc);
        return rc;
    }
    sc->n_custom = np;
    sc->custom_names = an_xcalloc(np ? np : 1, sizeof *sc->custom_names);
    for (size_t i = 0; i < np; i++) sc->custom_names[i] = an_xstrdup(r->pats[i].name);
    sc->min_score = opts ? opts->min_score : 0;
    unsigned cc = opts && opts->context_chars ? opts->context_chars : 20;
    sc->context_chars = cc > CTX_MAX_CHARS ? CTX_MAX_CHARS : cc;
    *out = sc;
    return 0;
}

void an_pii_scanner_free(an_pii_scanner *sc)
{
    if (!sc) return;
    free_dbs(sc);
    for (size_t i = 0; i < sc->n_custom; i++) free(sc->custom_names[i]);
    free(sc->custom_names);
    free(sc);
}

typedef struct cand {
    unsigned id;
    size_t from, to; /* from: NOSTART for a built-in until its finder has run */
} cand;

struct an_pii_ctx {
    const an_pii_scanner *sc;
    hs_scratch_t *scratch; /* fits every database of sc */
    size_t base;           /* offset of the piece the custom database scans */
    cand *cands;
    size_t n_cands, cap_cands;
    an_pii_finding *found;
    size_t n_found, cap_found;
    char *pad; /* a copy of a text that lies too close to a page edge (scan()) */
    size_t cap_pad;
};

int an_pii_ctx_new(const an_pii_scanner *sc, an_pii_ctx **out, an_err *err)
{
    *out = NULL;
    hs_scratch_t *scratch = NULL;
    for (int g = 0; g <= NGROUPS; g++) {
        const hs_database_t *db = g < NGROUPS ? sc->groups[g] : sc->custom;
        if (db && hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
            hs_free_scratch(scratch);
            return an_err_set(err, AN_ENOMEM, "pii", "cannot allocate Hyperscan scratch space");
        }
    }
    an_pii_ctx *c = an_xcalloc(1, sizeof *c);
    c->sc = sc;
    c->scratch = scratch;
    *out = c;
    return 0;
}

void an_pii_ctx_free(an_pii_ctx *ctx)
{
    if (!ctx) return;
    hs_free_scratch(ctx->scratch);
    free(ctx->cands);
    free(ctx->found);
    free(ctx->pad);
    free(ctx);
}

static void push_cand(an_pii_ctx *c, unsigned id, size_t from, size_t to)
{
    if (c->n_cands == c->cap_cands) {
        c->cap_cands = c->cap_cands ? 2 * c->cap_cands : 64;
        c->cands = an_xrealloc(c->cands, c->cap_cands * sizeof *c->cands);
    }
    c->cands[c->n_cands++] = (cand){id, from, to};
}

static int on_end(unsigned int id, unsigned long long from, unsigned long long to,
                  unsigned int flags, void *ud)
{
    push_cand(ud, id, NOSTART, (size_t)to);
    return 0;
}

static int on_custom(unsigned int id, unsigned long long from, unsigned long long to,
                     unsigned int flags, void *ud)
{
    an_pii_ctx *c = ud;
    push_cand(c, id, c->base + (size_t)from, c->base + (size_t)to);
    return 0;
}

/* Hyperscan 5.4's AVX512-VBMI literal matcher reads up to a vector past the end of the
 * buffer it scans (VectorCamp/vectorscan issue 322, found here by fuzz_pii): harmless while
 * the bytes after the text are mapped, a crash when the text ends just before a page that is
 * not (the end of a mapping, a guard page). A text within EDGE bytes of a page edge, at
 * either end, is scanned from a copy that has room around it; anywhere else the page the
 * text ends in holds the whole over-read. Matches are reported as offsets, so the copy
 * changes nothing the callbacks see. */
enum { EDGE = 256, PAGE_MIN = 4096 };

static bool near_page_edge(const char *text, size_t len)
{
    uintptr_t start = (uintptr_t)text, end = start + len;
    /* bytes from the text's end to the next page edge (0 when it ends on one) */
    uintptr_t after = (PAGE_MIN - end % PAGE_MIN) % PAGE_MIN;
    return start % PAGE_MIN < EDGE || after < EDGE;
}

static hs_error_t scan(an_pii_ctx *ctx, const hs_database_t *db, const char *text, size_t len,
                       match_event_handler cb)
{
    if (near_page_edge(text, len)) {
        if (ctx->cap_pad < len + 2 * EDGE) {
            free(ctx->pad);
            ctx->cap_pad = len + 2 * EDGE;
            ctx->pad = an_xmalloc(ctx->cap_pad);
        }
        memset(ctx->pad, 0, EDGE);
        memcpy(ctx->pad + EDGE, text, len);
        memset(ctx->pad + EDGE + len, 0, EDGE);
        text = ctx->pad + EDGE;
    }
    return hs_scan(db, text, (unsigned)len, 0, ctx->scratch, cb, ctx);
}

static unsigned char at(const char *t, size_t len, size_t i)
{
    return i < len ? (unsigned char)t[i] : 0;
}

/* The boundary rule of each kind: what may not touch the match on either side. A number
 * inside a longer run of digits is not a match on its own. */
static bool bounded(kind k, const char *t, size_t len, size_t b, size_t e)
{
    unsigned char before = b ? (unsigned char)t[b - 1] : 0, after = at(t, len, e);
    switch (k) {
    case K_ID:
    case K_CARD:
    case K_MOBILE:
    case K_LANDLINE:
    case K_E164:
        return !is_digit(before) && !is_digit(after) && before != '+';
    case K_USCC:
    case K_PASSPORT:
    case K_MRZ:
        return !is_alnum(before) && !is_alnum(after) && before != '<' && after != '<';
    case K_PLATE:
        return !is_alnum(after);
    case K_EMAIL:
        return !email_char(before) && !(is_alnum(after) || after == '-' || after == '_');
    case K_IPV4:
        return !is_digit(before) && before != '.' && !is_digit(after) &&
               !(after == '.' && is_digit(at(t, len, e + 1)));
    case K_IPV6:
        return !is_hex(before) && before != ':' && !is_hex(after) && after != ':';
    }
    return false;
}

static bool validate(kind k, const char *s, size_t n)
{
    switch (k) {
    case K_ID: return an_pii_valid_id_card(s, n);
    case K_USCC:
        /* An 18-digit run is an identity number's shape; a credit code has letters or passes
         * its own check. */
        return an_pii_valid_uscc(s, n);
    case K_MOBILE:
    case K_LANDLINE:
    case K_E164: return an_pii_valid_phone(s, n);
    case K_CARD: return an_pii_valid_bank_card(s, n);
    case K_EMAIL: return an_pii_valid_email(s, n);
    case K_IPV4: return an_pii_valid_ipv4(s, n);
    case K_IPV6: return an_pii_valid_ipv6(s, n);
    case K_PASSPORT: return an_pii_valid_passport(s, n);
    case K_MRZ: return an_pii_valid_mrz(s, n);
    case K_PLATE: return an_pii_valid_plate(s, n);
    }
    return false;
}

static bool is_lower(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}

/* True when one of words occurs in win[0..n); an English word must stand alone ("ip" is not
 * found in "ship"), a Chinese one may touch anything. The window is a few dozen bytes: a
 * memchr for the first byte and a memcmp beat memmem's set-up. */
static bool has_word(const char *win, size_t n, const char *const *words)
{
    for (; *words; words++) {
        const char *w = *words;
        size_t wl = strlen(w);
        if (wl > n) continue;
        const char *p = win, *last = win + n - wl, *end = win + n;
        while (p <= last && (p = memchr(p, w[0], (size_t)(last - p) + 1))) {
            bool ok = memcmp(p + 1, w + 1, wl - 1) == 0 &&
                      !(is_lower((unsigned char)w[0]) && p > win &&
                        is_lower((unsigned char)p[-1])) &&
                      !(is_lower((unsigned char)w[wl - 1]) && p + wl < end &&
                        is_lower((unsigned char)p[wl]));
            if (ok) return true;
            p++;
        }
    }
    return false;
}

/* Presidio-style context: words of the type's lexicon within the window before the match
 * raise the score, words that mark other numbers (order, tracking, ISBN…) lower it. With
 * lines, the window stops at the start of the match's line. */
static double context_score(const an_pii_scanner *sc, an_pii_type type, double base,
                            const char *t, size_t b, bool lines)
{
    char win[CTX_MAX_CHARS * 4];
    size_t p = b, count = 0;
    while (p > 0 && count < sc->context_chars) {
        if (lines && t[p - 1] == '\n') break;
        p--;
        if (((unsigned char)t[p] & 0xC0) != 0x80) count++;
    }
    size_t n = b - p;
    if (n > sizeof win) n = sizeof win;
    for (size_t i = 0; i < n; i++) win[i] = (char)tolower((unsigned char)t[b - n + i]);
    double s = base;
    if (has_word(win, n, ctx_pos[type])) s += CTX_RAISE;
    if (has_word(win, n, ctx_neg)) s -= CTX_LOWER;
    if (s > 1) s = 1;
    if (s < 0) s = 0;
    return round(s * 100) / 100;
}

static int cmp_found(const void *a, const void *b)
{
    const an_pii_finding *x = a, *y = b;
    if (x->bstart != y->bstart) return x->bstart < y->bstart ? -1 : 1;
    if (x->bend != y->bend) return x->bend > y->bend ? -1 : 1;
    return (int)x->type - (int)y->type;
}

/* True when a beats b: the higher score, then the longer, then the earlier, then the type
 * listed first (an identity number before a credit code of the same digits). */
static bool beats(const an_pii_finding *a, const an_pii_finding *b)
{
    if (a->score != b->score) return a->score > b->score;
    size_t la = a->bend - a->bstart, lb = b->bend - b->bstart;
    if (la != lb) return la > lb;
    if (a->bstart != b->bstart) return a->bstart < b->bstart;
    return a->type < b->type;
}

/* Custom patterns and deny terms may match '\n' (\s, [^…]), so with lines they are scanned
 * line by line (without a trailing '\r', as the line reader gives lines), as a line alone
 * would be. */
static int scan_custom(an_pii_ctx *ctx, const char *text, size_t len, bool lines)
{
    const an_pii_scanner *sc = ctx->sc;
    if (!lines) {
        ctx->base = 0;
        return scan(ctx, sc->custom, text, len, on_custom);
    }
    size_t ls = 0;
    while (ls < len) {
        const char *nl = memchr(text + ls, '\n', len - ls);
        size_t le = nl ? (size_t)(nl - text) : len, ce = le;
        if (ce > ls && text[ce - 1] == '\r') ce--;
        if (ce > ls) {
            ctx->base = ls;
            hs_error_t e = scan(ctx, sc->custom, text + ls, ce - ls, on_custom);
            if (e != HS_SUCCESS) return e;
        }
        ls = le + 1;
    }
    return HS_SUCCESS;
}

static int scan_text(an_pii_ctx *ctx, const char *text, size_t len, bool lines,
                     const an_pii_finding **out, size_t *n, an_err *err)
{
    const an_pii_scanner *sc = ctx->sc;
    ctx->n_cands = 0;
    ctx->n_found = 0;
    *out = NULL;
    *n = 0;
    if (len == 0) return 0;
    if (len > 0xFFFFFFFFu)
        return an_err_set(err, AN_EINVAL, "pii", "text over 4 GiB cannot be scanned at once");
    for (int g = 0; g < NGROUPS; g++)
        if (scan(ctx, sc->groups[g], text, len, on_end) != HS_SUCCESS)
            return an_err_set(err, AN_EINTERNAL, "pii", "Hyperscan failed to scan the text");
    if (sc->custom && scan_custom(ctx, text, len, lines) != HS_SUCCESS)
        return an_err_set(err, AN_EINTERNAL, "pii", "Hyperscan failed to scan the text");
    for (size_t i = 0; i < ctx->n_cands; i++) {
        const cand *c = &ctx->cands[i];
        an_pii_finding f = {.bstart = c->from, .bend = c->to};
        double base;
        if (c->id >= DENY_BASE) {
            f.type = AN_PII_CUSTOM;
            f.label = "DENY";
            base = DENY_SCORE;
        } else if (c->id >= CUSTOM_BASE) {
            f.type = AN_PII_CUSTOM;
            f.label = sc->custom_names[c->id - CUSTOM_BASE];
            base = CUSTOM_SCORE;
        } else {
            const struct builtin *bi = &builtins[c->id];
            f.bstart = bi->start(text, c->to);
            if (f.bstart == NOSTART || !bounded(bi->k, text, len, f.bstart, c->to) ||
                !validate(bi->k, text + f.bstart, c->to - f.bstart))
                continue;
            f.type = bi->type;
            f.label = type_names[bi->type];
            base = bi->base;
        }
        if (f.bend <= f.bstart) continue;
        f.score = context_score(sc, f.type, base, text, f.bstart, lines);
        if (f.score < sc->min_score || f.score <= 0) continue;
        if (ctx->n_found == ctx->cap_found) {
            ctx->cap_found = ctx->cap_found ? 2 * ctx->cap_found : 16;
            ctx->found = an_xrealloc(ctx->found, ctx->cap_found * sizeof *ctx->found);
        }
        ctx->found[ctx->n_found++] = f;
    }
    if (ctx->n_found == 0) return 0;
    qsort(ctx->found, ctx->n_found, sizeof *ctx->found, cmp_found);
    /* Overlaps: a sweep in start order keeps, of each overlapping pair, the one that beats
     * the other; the survivor meets the next candidate. A replacement starts at or after the
     * one it replaces, so it cannot overlap what was kept before. No finding spans a '\n' in
     * lines mode, so overlapping findings share a line and the sweep is the per-line one. */
    size_t kept = 0;
    for (size_t i = 0; i < ctx->n_found; i++) {
        an_pii_finding *f = &ctx->found[i];
        if (kept && f->bstart < ctx->found[kept - 1].bend) {
            if (beats(f, &ctx->found[kept - 1])) ctx->found[kept - 1] = *f;
            continue;
        }
        ctx->found[kept++] = *f;
    }
    ctx->n_found = kept;
    /* Byte offsets to code points: count lead bytes from the previous finding, or from the
     * start of the finding's line when a '\n' comes between (lines mode), so that only the
     * lines with findings are read. */
    size_t pos = 0, cp = 0;
    for (size_t i = 0; i < kept; i++) {
        an_pii_finding *f = &ctx->found[i];
        if (lines && f->bstart > pos) {
            const char *nl = memrchr(text + pos, '\n', f->bstart - pos);
            if (nl) {
                pos = (size_t)(nl - text) + 1;
                cp = 0;
            }
        }
        for (; pos < f->bstart; pos++) cp += ((unsigned char)text[pos] & 0xC0) != 0x80;
        f->start = cp;
        for (; pos < f->bend; pos++) cp += ((unsigned char)text[pos] & 0xC0) != 0x80;
        f->end = cp;
    }
    *out = ctx->found;
    *n = kept;
    return 0;
}

int an_pii_scan(an_pii_ctx *ctx, const char *text, size_t len, const an_pii_finding **out,
                size_t *n, an_err *err)
{
    return scan_text(ctx, text, len, false, out, n, err);
}

int an_pii_scan_lines(an_pii_ctx *ctx, const char *buf, size_t len, const an_pii_finding **out,
                      size_t *n, an_err *err)
{
    return scan_text(ctx, buf, len, true, out, n, err);
}
