/* Growable byte buffers, in the manner of git's strbuf.
 *
 * b->p is always NUL-terminated (once initialised), so it can be used as a C string when the
 * content has no NUL bytes. Allocation failure aborts: an annotation tool that runs out of
 * memory cannot do anything useful, and checking every append would hide the real logic. */
#ifndef AN_BUF_H
#define AN_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct an_buf {
    char *p;
    size_t len;
    size_t cap;
} an_buf;

#define AN_BUF_INIT {NULL, 0, 0}

void an_buf_init(an_buf *b);
void an_buf_free(an_buf *b);
/* Empties b, keeping its memory. */
void an_buf_reset(an_buf *b);
/* Makes room for at least n more bytes (plus the terminating NUL). */
void an_buf_grow(an_buf *b, size_t n);
void an_buf_add(an_buf *b, const void *data, size_t n);
void an_buf_adds(an_buf *b, const char *s);
void an_buf_addc(an_buf *b, char c);
void an_buf_addf(an_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void an_buf_vaddf(an_buf *b, const char *fmt, va_list ap);
/* Returns the content as a malloc'd string the caller frees; b is left empty. */
char *an_buf_detach(an_buf *b);
/* Shrinks to n bytes (n <= len). */
void an_buf_truncate(an_buf *b, size_t n);

/* malloc/realloc/strdup that abort on failure, for the same reason as above. */
void *an_xmalloc(size_t n);
void *an_xcalloc(size_t count, size_t n);
void *an_xrealloc(void *p, size_t n);
char *an_xstrdup(const char *s);
char *an_xstrndup(const char *s, size_t n);

#endif
