/* UTF-8 helpers. Label Studio counts span offsets in Unicode code points (Python str
 * indices); annot stores text as UTF-8 bytes, so every offset crossing that boundary goes
 * through these functions. None of them allocate. */
#ifndef AN_UTF8_H
#define AN_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes one code point at s[*i] (bounded by len) and advances *i. Returns the code point,
 * or -1 for an invalid or truncated sequence (then *i advances by one byte). */
int32_t an_utf8_next(const char *s, size_t len, size_t *i);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or values > U+10FFFF). */
bool an_utf8_valid(const char *s, size_t len);

/* Number of code points in valid UTF-8 s[0..len). */
size_t an_utf8_count(const char *s, size_t len);

/* Byte offset of code point index cp in s[0..len); cp may equal the count (end of text).
 * Returns -1 when cp lies beyond the end. */
long an_utf8_byte_offset(const char *s, size_t len, size_t cp);

/* Appends the UTF-8 encoding of cp to out (at least 4 bytes of room); returns bytes written,
 * 0 for an invalid code point. */
size_t an_utf8_encode(int32_t cp, char *out);

#endif
