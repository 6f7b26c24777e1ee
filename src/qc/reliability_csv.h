/* Reading reliability data from CSV: a header row of coder names, one row per unit, an
 * empty cell for a missing value. Values are category names or numbers.
 *
 * Category order (used by ordinal alpha and kappa weights): when every value is a number,
 * ascending by number (and "1" and "1.0" are one category); otherwise the order in which
 * values first appear, reading row by row. */
#ifndef AN_QC_RELIABILITY_CSV_H
#define AN_QC_RELIABILITY_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "qc/agreement.h"

/* Bounds on untrusted input; beyond them reading fails with AN_EINVAL. */
#define AN_REL_MAX_CODERS 1000
#define AN_REL_MAX_UNITS 1000000
#define AN_REL_MAX_CATEGORIES 2000
#define AN_REL_MAX_CELL 1024

typedef struct an_rel_table {
    size_t units, coders, categories;
    char **coder_names;    /* coders */
    char **category_names; /* categories: the text first seen for each */
    double *values;        /* categories numbers when numeric, else NULL */
    int *cell;             /* units * coders, AN_AGR_MISSING when empty */
} an_rel_table;

/* Reads path into t. Errors are AN_EINVAL with where = "path:line" for bad content (or
 * AN_EIO when the file cannot be read); t is left empty on failure. */
int an_rel_csv_read(const char *path, an_rel_table *t, an_err *err);

/* The table as agreement input (borrows t's arrays). */
an_agr_data an_rel_table_data(const an_rel_table *t);

void an_rel_table_free(an_rel_table *t);

#endif
