/* .npy reading (npy.h). The header is "\x93NUMPY", a version, a header length and a Python
 * dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (1000, 512), }. */
#include "formats/npy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/f16.h"

enum { MAX_HEADER = 1 << 16, MAX_DIM = 1 << 20 };

static int bad(an_npy *n, an_err *err, const char *what)
{
    return an_err_set(err, AN_EINVAL, n->path,
                      "not a matrix annot can read: %s; save it with "
                      "numpy.save as a 2-D float16/float32/float64 C-order array",
                      what);
}

/* The text after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *h, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s':", key);
    const char *p = strstr(h, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    return p;
}

int an_npy_open(const char *path, an_npy *n, an_err *err)
{
    memset(n, 0, sizeof *n);
    n->path = an_xstrdup(path);
    n->fp = fopen(path, "rb");
    if (!n->fp) {
        int rc = an_err_set(err, AN_EIO, path, "cannot open: %s", strerror(errno));
        an_npy_close(n);
        return rc;
    }
    unsigned char pre[12];
    int rc = 0;
    char *h = NULL;
    if (fread(pre, 1, 10, n->fp) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        rc = bad(n, err, "no .npy magic at the start");
        goto done;
    }
    uint32_t hlen;
    if (pre[6] == 1) {
        hlen = pre[8] | (uint32_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, n->fp) != 2) {
            rc = bad(n, err, "a truncated header");
            goto done;
        }
        hlen = pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    } else {
        rc = bad(n, err, "an unknown .npy version");
        goto done;
    }
    if (hlen == 0 || hlen > MAX_HEADER) {
        rc = bad(n, err, "a header of implausible length");
        goto done;
    }
    h = an_xmalloc(hlen + 1);
    if (fread(h, 1, hlen, n->fp) != hlen) {
        rc = bad(n, err, "a truncated header");
        goto done;
    }
    h[hlen] = '\0';
    const char *d = dict_value(h, "descr"), *f = dict_value(h, "fortran_order"),
               *s = dict_value(h, "shape");
    if (!d || !f || !s) {
        rc = bad(n, err, "a header without descr, fortran_order and shape");
        goto done;
    }
    if (strncmp(d, "'<f2'", 5) == 0)
        n->elem = 2;
    else if (strncmp(d, "'<f4'", 5) == 0)
        n->elem = 4;
    else if (strncmp(d, "'<f8'", 5) == 0)
        n->elem = 8;
    else {
        rc = bad(n, err, "an element type other than little-endian float16/32/64");
        goto done;
    }
    if (strncmp(f, "False", 5) != 0) {
        rc = bad(n, err, "fortran_order (column-major) data");
        goto done;
    }
    if (*s != '(') {
        rc = bad(n, err, "a malformed shape");
        goto done;
    }
    unsigned long long dims[3];
    int nd = 0;
    for (const char *p = s + 1; *p && *p != ')';) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')') break;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || errno || nd == 3) {
            rc = bad(n, err, "a shape of more than two dimensions or not numbers");
            goto done;
        }
        dims[nd++] = v;
        p = end;
    }
    if (nd == 1) {
        n->rows = 1;
        dims[1] = dims[0];
    } else if (nd == 2) {
        n->rows = dims[0];
    } else {
        rc = bad(n, err, "a shape that is not 1-D or 2-D");
        goto done;
    }
    if (dims[1] == 0 || dims[1] > MAX_DIM) {
        rc = bad(n, err, "rows of no elements, or of more than 1,048,576");
        goto done;
    }
    n->dim = (uint32_t)dims[1];
    n->raw = an_xmalloc((size_t)n->dim * (size_t)n->elem);
done:
    free(h);
    if (rc < 0) an_npy_close(n);
    return rc;
}

int an_npy_row(an_npy *n, float *out, an_err *err)
{
    if (n->next_row >= n->rows) return 0;
    size_t len = (size_t)n->dim * (size_t)n->elem;
    if (fread(n->raw, 1, len, n->fp) != len)
        return an_err_set(err, AN_EIO, n->path,
                          "the file ends in row %llu of %llu; it is truncated",
                          (unsigned long long)n->next_row, (unsigned long long)n->rows);
    const unsigned char *r = n->raw;
    for (uint32_t i = 0; i < n->dim; i++) {
        if (n->elem == 2) {
            out[i] = an_f16_to_f32((uint16_t)(r[2 * i] | r[2 * i + 1] << 8));
        } else if (n->elem == 4) {
            memcpy(&out[i], r + 4 * i, 4);
        } else {
            double v;
            memcpy(&v, r + 8 * i, 8);
            out[i] = (float)v;
        }
    }
    n->next_row++;
    return 1;
}

void an_npy_close(an_npy *n)
{
    if (n->fp) fclose(n->fp);
    free(n->path);
    free(n->raw);
    memset(n, 0, sizeof *n);
}
