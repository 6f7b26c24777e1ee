/* Redaction of PII findings (pii.h) in text, with the offset map that lets span annotations
 * follow the words they pointed at.
 *
 * Actions, chosen per type (docs/compliance.md):
 *   mask       keeps the value's length and format: characters become '*' except the first 3
 *              and last 4 of values of 11 or more characters (110***********1234); an email
 *              keeps the first character of its local part and its domain (z*******@x.com);
 *              separators (space, '-', '.', ':', '@', '(', ')', '+', '·') stay. Lengths do
 *              not change, so no span moves.
 *   replace    a typed placeholder: "[ID_CARD]", "[PHONE]", "[NAME]" for a custom pattern
 *              NAME, "[DENY]" for a deny-list term.
 *   pseudonym  LABEL "_" + the first 10 characters of the RFC 4648 base32 of
 *              HMAC-SHA256(secret, LABEL ‖ 0x00 ‖ value): one value maps to one token across a
 *              whole dataset, and the token reveals nothing without the workspace's secret.
 *   drop       removes the value (a field that was only the value becomes "").
 *   keep       leaves the value (for types a policy does not redact).
 * Thread safety: pure functions over their arguments. */
#ifndef AN_REDACT_H
#define AN_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "comply/pii.h"
#include "store/store.h"

typedef enum an_redact_action {
    AN_REDACT_MASK = 0,
    AN_REDACT_REPLACE,
    AN_REDACT_PSEUDONYM,
    AN_REDACT_DROP,
    AN_REDACT_KEEP,
} an_redact_action;

/* "mask", "replace", "pseudonym", "drop", "keep". */
const char *an_redact_action_name(an_redact_action a);

#define AN_REDACT_SECRET_BYTES 32

typedef struct an_redact_policy {
    an_redact_action action[AN_PII_NTYPES];
    uint8_t secret[AN_REDACT_SECRET_BYTES]; /* for pseudonyms */
    bool has_secret;
} an_redact_policy;

/* Every type gets action. The default policy is an_redact_policy_init(p, AN_REDACT_REPLACE). */
void an_redact_policy_init(an_redact_policy *p, an_redact_action action);
/* Applies "TYPE=ACTION,TYPE=ACTION,…" over p; TYPE may be "all" (or "*"). AN_EINVAL naming
 * the item when a type or action is unknown. */
int an_redact_policy_parse(an_redact_policy *p, const char *spec, an_err *err);
/* True when some type's action is pseudonym (then the secret must be set). */
bool an_redact_policy_needs_secret(const an_redact_policy *p);

/* The workspace's pseudonym secret: the setting "pii.secret" (64 hex digits), created from
 * libsodium's random bytes at first use (own transaction, or the open one). The secret is
 * never printed. */
int an_redact_secret(an_store *s, uint8_t key[AN_REDACT_SECRET_BYTES], an_err *err);

/* Appends the replacement of one value (the text a finding covers) to out. */
void an_redact_value(const an_redact_policy *p, an_pii_type type, const char *label,
                     const char *value, size_t len, an_buf *out);

/* One redacted value: [old_start, old_end) in the original became [new_start, new_end). Code
 * points. */
typedef struct an_redact_seg {
    size_t old_start, old_end, new_start, new_end;
} an_redact_seg;

/* The offset map of one redacted text: its segments in order. */
typedef struct an_redact_map {
    an_redact_seg *segs;
    size_t n, cap;
} an_redact_map;

#define AN_REDACT_MAP_INIT {NULL, 0, 0}
void an_redact_map_reset(an_redact_map *m);
void an_redact_map_free(an_redact_map *m);

/* Appends text[0..len) with the findings f[0..n) (in text order, without overlaps, as
 * an_pii_scan gives them) redacted to out; when map is not NULL, it is reset and filled.
 * *changed (may be NULL) counts the findings whose action was not keep. */
void an_redact_text(const an_redact_policy *p, const char *text, size_t len,
                    const an_pii_finding *f, size_t n, an_buf *out, an_redact_map *map,
                    size_t *changed);

/* Maps a code-point offset of the original text to the redacted one. An offset inside a
 * redacted value goes to the start of its replacement (end = false) or its end (end = true);
 * offsets after a value move by the difference in length. */
size_t an_redact_map_pos(const an_redact_map *m, size_t old, bool end);

/* Remaps the span [*start, *end): a span reaching into a redacted value is clamped to the
 * replacement, later spans move. Returns false when the span became empty (it lay inside a
 * dropped value) and should be removed. */
bool an_redact_map_span(const an_redact_map *m, size_t *start, size_t *end);

#endif
