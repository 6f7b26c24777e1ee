#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(void)
{
    fputs("annot: out of memory\n", stderr);
    abort();
}

void *an_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom();
    return p;
}

void *an_xcalloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (!p) oom();
    return p;
}

void *an_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom();
    return q;
}

char *an_xstrdup(const char *s)
{
    return an_xstrndup(s, strlen(s));
}

char *an_xstrndup(const char *s, size_t n)
{
    char *p = an_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void an_buf_init(an_buf *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    an_buf_grow(b, 0);
}

void an_buf_free(an_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void an_buf_reset(an_buf *b)
{
    if (!b->p) an_buf_grow(b, 0);
    b->len = 0;
    b->p[0] = '\0';
}

void an_buf_grow(an_buf *b, size_t n)
{
    size_t need = b->len + n + 1;
    if (need < b->len) oom(); /* overflow */
    if (b->p && need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    b->p = an_xrealloc(b->p, cap);
    if (b->cap == 0) b->p[0] = '\0';
    b->cap = cap;
}

void an_buf_add(an_buf *b, const void *data, size_t n)
{
    an_buf_grow(b, n);
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void an_buf_adds(an_buf *b, const char *s)
{
    an_buf_add(b, s, strlen(s));
}

void an_buf_addc(an_buf *b, char c)
{
    an_buf_grow(b, 1);
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

void an_buf_vaddf(an_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    an_buf_grow(b, 64);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        an_buf_grow(b, (size_t)n);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap2);
    }
    va_end(ap2);
    b->len += (size_t)n;
}

void an_buf_addf(an_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    an_buf_vaddf(b, fmt, ap);
    va_end(ap);
}

char *an_buf_detach(an_buf *b)
{
    if (!b->p) an_buf_grow(b, 0);
    char *p = b->p;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

void an_buf_truncate(an_buf *b, size_t n)
{
    if (n > b->len) return;
    b->len = n;
    b->p[n] = '\0';
}
