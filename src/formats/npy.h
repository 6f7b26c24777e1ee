/* NumPy .npy matrices (format versions 1-3): the header read and checked, then rows streamed
 * as float32, whatever the file's element type (little-endian float16, float32 or float64).
 * LAION-style datasets ship their CLIP embeddings this way, one row per JSONL record. */
#ifndef AN_FORMATS_NPY_H
#define AN_FORMATS_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

typedef struct an_npy {
    FILE *fp;
    char *path;
    uint64_t rows;
    uint32_t dim;
    int elem; /* bytes per element: 2, 4 or 8 */
    uint64_t next_row;
    void *raw; /* one row as stored */
} an_npy;

/* Opens path: a C-order 2-D array of <f2, <f4 or <f8 (a 1-D array is one row). Errors name
 * the file and say what was found ("fortran_order", ">f4", a 3-D shape, …). */
int an_npy_open(const char *path, an_npy *out, an_err *err);
/* Reads the next row into out[0..dim) as float: 1, 0 after the last row, or AN_EIO when
 * the file ends early. */
int an_npy_row(an_npy *n, float *out, an_err *err);
void an_npy_close(an_npy *n);

#endif
