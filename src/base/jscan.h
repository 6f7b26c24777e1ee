/* A pull scanner for JSON text: walks text[0..len) without building a tree and without
 * allocating, for hot paths (exports) that read a few members out of many stored documents.
 * Jansson stays the choice everywhere else.
 *
 * The caller steers: an_jscan_object / an_jscan_member walk an object's members, an_jscan_array
 * / an_jscan_element walk an array, and a value the caller does not read is skipped (and
 * checked) when it asks for the next member or element. Strings come back as pointer + length
 * into the text; numbers as doubles, exactly as strtod would read them.
 *
 * The text is untrusted: the scanner never reads outside text[0..len), checks the grammar as
 * strictly as Jansson does (UTF-8, escapes and surrogate pairs, no control characters in
 * strings, no \u0000, numbers in range, nesting depth), and on the first fault returns
 * -AN_EINVAL and stays failed; an_jscan_error tells what and where. Every value a walk passes
 * over is checked, so a walk that ends with an_jscan_done has checked the whole text. */
#ifndef AN_JSCAN_H
#define AN_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* Deepest nesting of arrays and objects accepted (Jansson's limit is 2048). */
#define AN_JSCAN_MAX_DEPTH 1024

typedef enum an_jtype {
    AN_JNONE = 0, /* no value starts at the cursor (end of text, a closer, or junk) */
    AN_JNULL,
    AN_JFALSE,
    AN_JTRUE,
    AN_JNUMBER,
    AN_JSTRING,
    AN_JARRAY,
    AN_JOBJECT,
} an_jtype;

typedef struct an_jscan {
    const char *text;
    size_t len;
    size_t pos;
    unsigned depth;                               /* open arrays and objects */
    unsigned char is_obj[AN_JSCAN_MAX_DEPTH / 8]; /* bit per level: object, else array */
    bool want_value;                              /* a value is due at the cursor */
    bool fresh;        /* just inside '{' or '[': the next member or element has no comma */
    const char *fault; /* first fault (a static message), NULL while none */
    size_t fault_pos;
} an_jscan;

/* A string's content as it stands in the text, between the quotes. escaped tells whether it
 * holds backslash escapes (then use an_jstr_eq / an_jstr_unescape to read it). */
typedef struct an_jstr {
    const char *p;
    size_t len;
    bool escaped;
} an_jstr;

/* Starts a walk over text[0..len) (text need not be NUL-terminated); the cursor is at the
 * root value. */
void an_jscan_init(an_jscan *s, const char *text, size_t len);

/* Type of the value at the cursor (after whitespace), without consuming it. AN_JNONE when
 * none is due or none starts there. Never fails. */
an_jtype an_jscan_peek(an_jscan *s);

/* Enters the object / array at the cursor. -AN_EINVAL when the value there is not one. */
int an_jscan_object(an_jscan *s);
int an_jscan_array(an_jscan *s);

/* Next member of the innermost open object: returns 1 with its key in *key (key may be NULL)
 * and the cursor at its value; 0 when the object ended (its '}' consumed); -AN_EINVAL on a
 * fault. A previous member's value the caller left unread is skipped first. */
int an_jscan_member(an_jscan *s, an_jstr *key);

/* Next element of the innermost open array: 1 with the cursor at it, 0 at the end (']'
 * consumed), -AN_EINVAL on a fault. An unread previous element is skipped first. */
int an_jscan_element(an_jscan *s);

/* Skips members of the innermost open object until one named key (a plain string without
 * escapes needed): 1 with the cursor at its value (later members can still be walked with
 * an_jscan_member), 0 when the object ended without it, -AN_EINVAL on a fault. */
int an_jscan_find(an_jscan *s, const char *key);

/* Skips (and checks) the rest of the innermost open array or object, consuming its closer.
 * Returns 0 or -AN_EINVAL. */
int an_jscan_leave(an_jscan *s);

/* Reads the string / number at the cursor. A number reads as strtod would read its text
 * (correctly rounded); one too large for a double is a fault, as in Jansson. */
int an_jscan_string(an_jscan *s, an_jstr *out);
int an_jscan_number(an_jscan *s, double *out);

/* Skips (and checks) the value at the cursor, whatever it is. */
int an_jscan_skip(an_jscan *s);

/* Like an_jscan_skip, and sets *p, *n to the value's text (for a second walk over it with
 * its own scanner). */
int an_jscan_raw(an_jscan *s, const char **p, size_t *n);

/* Ends the walk: the root value must be complete and followed by whitespace only. Returns 0
 * or -AN_EINVAL. */
int an_jscan_done(an_jscan *s);

/* After a fault: fills err (AN_EINVAL) with where "<where>:<line>:<column>" (1-based,
 * columns in bytes) and "malformed JSON: <what is wrong>", and returns -AN_EINVAL. */
int an_jscan_error(const an_jscan *s, const char *where, an_err *err);

/* True when the string reads as lit (a NUL-terminated UTF-8 string), escapes decoded. */
bool an_jstr_eq(const an_jstr *str, const char *lit);

/* Appends the string's decoded UTF-8 bytes to out (no quotes; out stays NUL-terminated).
 * str must come from the scanner (checked). */
void an_jstr_unescape(const an_jstr *str, an_buf *out);

/* Reads text[0..n) as one JSON number (the whole of it, no whitespace) into *out, correctly
 * rounded, as strtod would. Returns 0, or -AN_EINVAL when it is not a JSON number or does
 * not fit in a double. Used by an_jscan_number and by the JSON writer's round-trip check. */
int an_jscan_parse_number(const char *text, size_t n, double *out);

/* m × 10^e10 correctly rounded to a double (infinity when too large), without text. */
double an_jscan_decimal(uint64_t m, int e10);

#endif
