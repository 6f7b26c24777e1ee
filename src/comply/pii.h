/* PII detection in text: one multi-pattern Hyperscan pass finds candidates, validators
 * confirm them (check digits, dates, number ranges), words near a match raise or lower its
 * score (as Presidio's context enhancement does), and overlapping findings are resolved.
 *
 * A scanner (an_pii_scanner) holds the compiled pattern database: built once, immutable,
 * shared by any number of threads. Each thread scans through its own context (an_pii_ctx),
 * which holds the Hyperscan scratch and the finding buffers; a context is used by one thread
 * at a time.
 *
 * Built-in patterns are matched without start-of-match tracking: each reports where it ends and
 * the scanner walks back to the leftmost start (pii.c), which is cheaper in Hyperscan.
 *
 * Offsets: findings give code points (what annotations use, docs/format.md) and bytes.
 * Code points are counted as UTF-8 lead bytes, which is exact for valid UTF-8 (every JSON
 * string is); in invalid text each stray byte counts as one.
 *
 * The types, validators and scores are described in docs/compliance.md. */
#ifndef AN_PII_H
#define AN_PII_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef enum an_pii_type {
    AN_PII_ID_CARD = 0, /* mainland resident identity card number (18 characters) */
    AN_PII_USCC,        /* unified social credit code of an organisation */
    AN_PII_PHONE,       /* mobile, landline (mainland) and E.164 numbers */
    AN_PII_BANK_CARD,   /* payment card numbers */
    AN_PII_EMAIL,
    AN_PII_IPV4,
    AN_PII_IPV6,
    AN_PII_PASSPORT, /* passport numbers and machine-readable zone lines */
    AN_PII_PLATE,    /* vehicle plates, new-energy plates included */
    AN_PII_CUSTOM,   /* per-project patterns and deny-list terms */
    AN_PII_NTYPES
} an_pii_type;

/* "ID_CARD", "USCC", "PHONE", …, "CUSTOM". */
const char *an_pii_type_name(an_pii_type t);
/* Parses a type name (case-insensitive); -1 when unknown. */
int an_pii_type_parse(const char *name);

typedef struct an_pii_finding {
    an_pii_type type;
    /* The type's name, a custom pattern's NAME, or "DENY" for a deny-list term; borrowed
     * from the scanner. Placeholders and pseudonyms use it (redact.h). */
    const char *label;
    size_t start, end;   /* code points, [start, end) */
    size_t bstart, bend; /* bytes, [bstart, bend) */
    double score;        /* in [0, 1], two decimals */
} an_pii_finding;

/* Custom patterns and deny-list terms, gathered before building a scanner. */
typedef struct an_pii_rules an_pii_rules;

an_pii_rules *an_pii_rules_new(void);
void an_pii_rules_free(an_pii_rules *r);
/* Adds a pattern from "NAME=REGEX" (Hyperscan syntax, UTF-8). NAME: 1-32 letters, digits
 * or '_'. The regex is compiled at once, so a bad one is refused here (AN_EINVAL naming the
 * pattern and Hyperscan's reason). */
int an_pii_rules_add_pattern(an_pii_rules *r, const char *spec, an_err *err);
/* Adds a literal deny-list term (matched case-insensitively for ASCII letters). Empty terms
 * and terms over 256 bytes are refused. */
int an_pii_rules_add_deny(an_pii_rules *r, const char *term, size_t len, an_err *err);
/* Adds every non-empty line of the file at path as a deny term (a trailing CR is dropped;
 * lines starting with '#' are comments). */
int an_pii_rules_load_deny(an_pii_rules *r, const char *path, an_err *err);
/* Adds the project's rules from its settings JSON text: {"pii": {"patterns": {"NAME":
 * "REGEX", …} or ["NAME=REGEX", …], "deny": ["term", …]}}. No "pii" member: nothing added.
 * where in errors: "settings.pii…". */
int an_pii_rules_from_settings(an_pii_rules *r, const char *settings_json, an_err *err);
size_t an_pii_rules_count(const an_pii_rules *r);

typedef struct an_pii_opts {
    double min_score;       /* findings scoring below are dropped; 0 keeps all */
    unsigned context_chars; /* code points before a match searched for context words;
                               0: 20 */
} an_pii_opts;

typedef struct an_pii_scanner an_pii_scanner;

/* Compiles the built-in patterns with r's (r may be NULL) into one database. opts may be
 * NULL (min_score 0, context 20). */
int an_pii_scanner_new(const an_pii_rules *r, const an_pii_opts *opts, an_pii_scanner **out,
                       an_err *err);
void an_pii_scanner_free(an_pii_scanner *sc);

typedef struct an_pii_ctx an_pii_ctx;

/* A context for one thread scanning with sc (which must outlive it). */
int an_pii_ctx_new(const an_pii_scanner *sc, an_pii_ctx **out, an_err *err);
void an_pii_ctx_free(an_pii_ctx *ctx);

/* Scans text[0..len) (one line or one string field; it need not be NUL-terminated).
 * *out points at the findings in text order, without overlaps, valid until the next scan
 * with ctx; *n is their count. */
int an_pii_scan(an_pii_ctx *ctx, const char *text, size_t len, const an_pii_finding **out,
                size_t *n, an_err *err);

/* Scans buf[0..len), many lines each ended by "\n" (the last may lack it), in one pass: the
 * findings are those an_pii_scan gives for each line alone (without its "\n" or "\r\n"):
 * none spans a line end, and context words are looked for only in the match's own line.
 * bstart/bend index buf; start/end are code points from the start of the finding's line.
 * In text order, valid until the next scan with ctx. Far faster than a call per line. */
int an_pii_scan_lines(an_pii_ctx *ctx, const char *buf, size_t len, const an_pii_finding **out,
                      size_t *n, an_err *err);

/* ---- validators (exposed for tests and for other engines) ----------------------------
 * Each takes the candidate's text exactly as matched, separators included where the type
 * allows them. */

/* GB 11643-1999: 17 digits + check character over ISO 7064 MOD 11-2, a region code that is
 * not 0, and a real birth date (YYYYMMDD, years 1900..2099, leap years). */
bool an_pii_valid_id_card(const char *s, size_t n);
/* GB 32100-2015: 18 characters from 0-9 and A-Y without I, O, S, V, Z; the last is the
 * MOD 31 check character; the registration office code (positions 3-8) is digits. */
bool an_pii_valid_uscc(const char *s, size_t n);
/* ISO/IEC 7812 Luhn check over the digits of s (separators ' ' and '-' skipped). */
bool an_pii_luhn(const char *s, size_t n);
/* Luhn plus an issuer prefix and length that fit: UnionPay 62 (16-19), Visa 4 (13, 16, 19),
 * Mastercard 51-55 and 2221-2720 (16), Amex 34/37 (15), JCB 3528-3589 (16-19). */
bool an_pii_valid_bank_card(const char *s, size_t n);
/* Mainland mobile (1[3-9] + 9 digits, optionally +86/0086), mainland landline (area code
 * 010, 02X or 0[3-9]XX, subscriber 7-8 digits not starting with 0 or 1), or ITU E.164
 * ("+" then 8-15 digits, country code not 0). */
bool an_pii_valid_phone(const char *s, size_t n);
/* Local part and domain within RFC 5321 lengths, domain labels not starting or ending
 * with '-', no ".." in the local part. */
bool an_pii_valid_email(const char *s, size_t n);
/* Dotted quad, each 0-255 without leading zeros. */
bool an_pii_valid_ipv4(const char *s, size_t n);
/* RFC 4291 text form (inet_pton), at least 6 characters with at least two groups written. */
bool an_pii_valid_ipv6(const char *s, size_t n);
/* ICAO 9303 check digit (weights 7-3-1, '<' = 0, A = 10 … Z = 35) over s[0..n); -1 when a
 * character is outside 0-9, A-Z and '<'. */
int an_pii_mrz_check_digit(const char *s, size_t n);
/* ICAO 9303 TD3 (passport) second MRZ line, 44 characters: the check digits of the document
 * number, birth date, expiry date, personal number and the composite one. */
bool an_pii_valid_mrz(const char *s, size_t n);
/* Mainland passport numbers: E + 8 digits, E + letter + 7 digits, G + 8 digits, and D/S/P
 * (+ E) + 7 digits for diplomatic, service and public-affairs passports. */
bool an_pii_valid_passport(const char *s, size_t n);
/* GA 36-2018 plates: a province character, a letter (not I/O), then a 5-character serial
 * with at most two letters (not I/O) and optionally 挂/学/警/港/澳 last, or a new-energy
 * serial of 6: D/F + letter-or-digit + 4 digits (small cars) or 5 digits + D/F (large);
 * an optional '·' after the letter. */
bool an_pii_valid_plate(const char *s, size_t n);

#endif
