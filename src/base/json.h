/* JSON glue over Jansson.
 *
 * annot stores JSON as compact text and must write it back byte for byte the same way every
 * time (exports round-trip byte-identically), so it serialises with its own writer:
 * keys in insertion order, no spaces, UTF-8 kept as is, and each real number in the shortest
 * form that reads back to the same double (as Python's repr does). */
#ifndef AN_JSON_H
#define AN_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* Appends the canonical compact text of j to out. */
void an_json_write(an_buf *out, const json_t *j);

/* Returns the canonical text of j as a malloc'd string (caller frees). */
char *an_json_text(const json_t *j);

/* Appends s[0..len) as a JSON string literal (with quotes) to out. */
void an_json_write_string(an_buf *out, const char *s, size_t len);

/* Appends the shortest round-tripping text of the double v (always with a '.' or exponent). */
void an_json_write_real(an_buf *out, double v);

/* Parses text[0..len). On failure returns NULL and fills err with AN_EINVAL, where =
 * "<where>:<line>:<column>" and Jansson's reason. Caller owns the result (json_decref). */
json_t *an_json_parse(const char *text, size_t len, const char *where, an_err *err);

/* Number value of j as double (integer or real); false when j is not a number. */
bool an_json_number(const json_t *j, double *out);

/* String member key of object o, or NULL when missing or not a string. */
const char *an_json_str(const json_t *o, const char *key);

#endif
