/* Reliability data from CSV (RFC 4180 quoting, LF or CRLF, an optional UTF-8 BOM) into a
 * units x coders matrix of category indices. Every size is bounded (reliability_csv.h). */
#include "qc/reliability_csv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

#define HASH_CAP 4096 /* power of two, over twice AN_REL_MAX_CATEGORIES */
/* Cells as written ("2", "2.0", "yes") → category: a cell seen before costs one hash and one
 * compare instead of a number parse and a normalised key. Spellings past RAW_MAX are simply
 * not remembered (still correct, just slower). */
#define RAW_CAP 16384 /* power of two, twice RAW_MAX */
#define RAW_MAX 8192

typedef struct reader {
    const char *path;
    an_rel_table *t;
    an_buf field;
    an_buf row;         /* the fields of the current row, each NUL-terminated */
    size_t nfields;
    size_t line;        /* current line */
    size_t row_line;    /* line the current row started on */
    size_t cap_units;
    int slot[HASH_CAP]; /* category index + 1, 0 when free */
    char **keys;        /* categories: hash key per category */
    int raw_slot[RAW_CAP];  /* raw spelling index + 1, 0 when free */
    char **raw_text;        /* remembered spellings */
    int *raw_cat;           /* their categories */
    size_t n_raw;
    bool any_text;
    bool header_done;
} reader;

static int fail_at(reader *r, size_t line, an_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(reader *r, size_t line, an_err *err, const char *fmt, ...)
{
    char where[256];
    snprintf(where, sizeof where, "%s:%zu", r->path, line);
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return an_err_set(err, AN_EINVAL, where, "%s", msg);
}

static uint32_t fnv(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static bool as_number(const char *s, double *v)
{
    if (!*s) return false;
    errno = 0;
    char *end;
    *v = strtod(s, &end);
    return *end == '\0' && errno == 0 && isfinite(*v);
}

static int category_of_value(reader *r, const char *s, an_err *err);

/* Category index of the (trimmed, non-empty) value s, adding it when new. */
static int category(reader *r, const char *s, an_err *err)
{
    uint32_t h = fnv(s) & (RAW_CAP - 1);
    while (r->raw_slot[h]) {
        int i = r->raw_slot[h] - 1;
        if (strcmp(r->raw_text[i], s) == 0) return r->raw_cat[i];
        h = (h + 1) & (RAW_CAP - 1);
    }
    int c = category_of_value(r, s, err);
    if (c >= 0 && r->n_raw < RAW_MAX) {
        if (r->n_raw == 0) {
            r->raw_text = an_xmalloc(RAW_MAX * sizeof *r->raw_text);
            r->raw_cat = an_xmalloc(RAW_MAX * sizeof *r->raw_cat);
        }
        r->raw_text[r->n_raw] = an_xstrdup(s);
        r->raw_cat[r->n_raw] = c;
        r->raw_slot[h] = (int)++r->n_raw;
    }
    return c;
}

/* category() for a spelling not seen before: numbers are one category whatever their
 * spelling ("2" and "2.0"), text is itself. */
static int category_of_value(reader *r, const char *s, an_err *err)
{
    an_rel_table *t = r->t;
    double v;
    bool num = as_number(s, &v);
    char key[AN_REL_MAX_CELL + 32];
    if (num)
        snprintf(key, sizeof key, "n:%.17g", v == 0 ? 0.0 : v); /* -0 and 0 are one value */
    else
        snprintf(key, sizeof key, "s:%s", s);
    uint32_t h = fnv(key) & (HASH_CAP - 1);
    while (r->slot[h]) {
        int idx = r->slot[h] - 1;
        if (strcmp(r->keys[idx], key) == 0) return idx;
        h = (h + 1) & (HASH_CAP - 1);
    }
    if (t->categories >= AN_REL_MAX_CATEGORIES)
        return fail_at(r, r->row_line, err,
                       "more than %d distinct values; agreement is for category codes or "
                       "a limited set of numbers",
                       AN_REL_MAX_CATEGORIES);
    size_t n = t->categories++;
    t->category_names = an_xrealloc(t->category_names, t->categories * sizeof(char *));
    t->values = an_xrealloc(t->values, t->categories * sizeof(double));
    r->keys = an_xrealloc(r->keys, t->categories * sizeof(char *));
    t->category_names[n] = an_xstrdup(s);
    t->values[n] = num ? v : NAN;
    r->keys[n] = an_xstrdup(key);
    if (!num) r->any_text = true;
    r->slot[h] = (int)n + 1;
    return (int)n;
}

static void end_field(reader *r)
{
    /* Surrounding blanks are never part of a code. */
    size_t a = 0, b = r->field.len;
    const char *p = r->field.p ? r->field.p : "";
    while (a < b && (p[a] == ' ' || p[a] == '\t'))
        a++;
    while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'))
        b--;
    an_buf_add(&r->row, p + a, b - a);
    an_buf_addc(&r->row, '\0');
    r->nfields++;
    an_buf_reset(&r->field);
}

static int end_row(reader *r, an_err *err)
{
    an_rel_table *t = r->t;
    const char *f = r->row.p;
    bool blank = r->nfields == 1 && f[0] == '\0';
    int rc = 0;
    if (blank) goto done; /* blank lines separate nothing */
    if (!r->header_done) {
        if (r->nfields < 2 || r->nfields > AN_REL_MAX_CODERS) {
            rc = fail_at(r, r->row_line, err,
                         "the header names %zu coders; give between 2 and %d coder names",
                         r->nfields, AN_REL_MAX_CODERS);
            goto done;
        }
        t->coders = r->nfields;
        t->coder_names = an_xcalloc(t->coders, sizeof(char *));
        for (size_t i = 0; i < t->coders; i++, f += strlen(f) + 1) {
            if (!*f) {
                rc = fail_at(r, r->row_line, err,
                             "header column %zu is empty; the header names each coder", i + 1);
                goto done;
            }
            t->coder_names[i] = an_xstrdup(f);
        }
        r->header_done = true;
        goto done;
    }
    if (r->nfields != t->coders) {
        rc = fail_at(r, r->row_line, err,
                     "a row needs one cell per coder (%zu) but has %zu; leave a cell empty for "
                     "a missing value",
                     t->coders, r->nfields);
        goto done;
    }
    if (t->units >= AN_REL_MAX_UNITS) {
        rc = fail_at(r, r->row_line, err, "more than %d units (rows); split the data",
                     AN_REL_MAX_UNITS);
        goto done;
    }
    if (t->units == r->cap_units) {
        r->cap_units = r->cap_units ? r->cap_units * 2 : 64;
        t->cell = an_xrealloc(t->cell, r->cap_units * t->coders * sizeof(int));
    }
    for (size_t i = 0; i < t->coders; i++, f += strlen(f) + 1) {
        int c = AN_AGR_MISSING;
        if (*f) {
            c = category(r, f, err);
            if (c < 0) {
                rc = c;
                goto done;
            }
        }
        t->cell[t->units * t->coders + i] = c;
    }
    t->units++;
done:
    an_buf_reset(&r->row);
    r->nfields = 0;
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* All-numeric data: categories in ascending order of value (ranks for ordinal metrics). */
static void sort_numeric(an_rel_table *t)
{
    size_t k = t->categories;
    double *sorted = an_xmalloc(k * sizeof *sorted);
    memcpy(sorted, t->values, k * sizeof *sorted);
    qsort(sorted, k, sizeof *sorted, cmp_double);
    int *map = an_xmalloc(k * sizeof *map);
    char **names = an_xmalloc(k * sizeof *names);
    for (size_t i = 0; i < k; i++) {
        size_t lo = 0, hi = k; /* values are distinct: binary search finds the one */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (sorted[mid] < t->values[i]) lo = mid + 1;
            else hi = mid;
        }
        map[i] = (int)lo;
        names[lo] = t->category_names[i];
    }
    for (size_t i = 0; i < t->units * t->coders; i++)
        if (t->cell[i] >= 0) t->cell[i] = map[t->cell[i]];
    free(t->category_names);
    t->category_names = names;
    free(t->values);
    t->values = sorted;
    free(map);
}

int an_rel_csv_read(const char *path, an_rel_table *t, an_err *err)
{
    memset(t, 0, sizeof *t);
    FILE *fp = fopen(path, "rb");
    if (!fp) return an_err_set(err, AN_EIO, path, "cannot open: %s", strerror(errno));
    reader *r = an_xcalloc(1, sizeof *r);
    r->path = path;
    r->t = t;
    r->line = r->row_line = 1;
    an_buf_init(&r->field);
    an_buf_init(&r->row);
    int rc = 0, ch;
    bool quoted = false, after_quote = false, at_start = true, first = true;
    size_t field_line = 1;
    while (rc == 0 && (ch = getc_unlocked(fp)) != EOF) {
        if (first) {
            first = false;
            if (ch == 0xEF) { /* a UTF-8 byte order mark is not part of the first name */
                int b = getc_unlocked(fp), c = getc_unlocked(fp);
                if (b == 0xBB && c == 0xBF) continue;
                rc = fail_at(r, 1, err, "the file does not start like UTF-8 text; save it as UTF-8 CSV");
                break;
            }
        }
        if (ch == '\0') {
            rc = fail_at(r, r->line, err, "a NUL byte: this is not a text CSV file");
            break;
        }
        if (quoted) {
            if (ch == '"') {
                quoted = false;
                after_quote = true;
                continue;
            }
            if (ch == '\n') r->line++;
        } else if (ch == '"' && after_quote) {
            quoted = true; /* "" inside quotes: a literal quote */
            after_quote = false;
        } else if ((ch == ' ' || ch == '\t') && (at_start || after_quote)) {
            continue; /* blanks around a quoted cell, or before any cell, are not content */
        } else if (ch == '"' && at_start) {
            quoted = true;
            field_line = r->line;
            at_start = false;
            continue;
        } else if (ch == ',') {
            end_field(r);
            at_start = true;
            after_quote = false;
            continue;
        } else if (ch == '\r') {
            continue;
        } else if (ch == '\n') {
            end_field(r);
            rc = end_row(r, err);
            r->line++;
            r->row_line = r->line;
            at_start = true;
            after_quote = false;
            continue;
        } else if (after_quote) {
            rc = fail_at(r, r->line, err,
                         "text after a closing quote in column %zu; quote the whole cell and "
                         "double inner quotes",
                         r->nfields + 1);
            break;
        }
        at_start = false;
        if (r->field.len >= AN_REL_MAX_CELL) {
            rc = fail_at(r, r->line, err, "a cell is longer than %d bytes", AN_REL_MAX_CELL);
            break;
        }
        an_buf_addc(&r->field, (char)ch);
    }
    if (rc == 0 && ferror(fp)) rc = an_err_set(err, AN_EIO, path, "cannot read: %s", strerror(errno));
    if (rc == 0 && quoted)
        rc = fail_at(r, field_line, err, "a quoted cell is never closed");
    if (rc == 0 && (r->field.len > 0 || r->nfields > 0 || !at_start)) {
        end_field(r);
        rc = end_row(r, err);
    }
    fclose(fp);
    if (rc == 0 && !r->header_done)
        rc = an_err_set(err, AN_EINVAL, path, "the file is empty; the first row names the coders");
    if (rc == 0 && t->units == 0)
        rc = an_err_set(err, AN_EINVAL, path, "no units: add one row per unit after the header");
    for (size_t i = 0; i < t->categories; i++)
        free(r->keys[i]);
    free(r->keys);
    for (size_t i = 0; i < r->n_raw; i++)
        free(r->raw_text[i]);
    free(r->raw_text);
    free(r->raw_cat);
    an_buf_free(&r->field);
    an_buf_free(&r->row);
    bool any_text = r->any_text;
    free(r);
    if (rc < 0) {
        an_rel_table_free(t);
        return rc;
    }
    if (any_text) {
        free(t->values);
        t->values = NULL;
    } else if (t->categories) {
        sort_numeric(t);
    }
    return 0;
}

an_agr_data an_rel_table_data(const an_rel_table *t)
{
    an_agr_data d = {.units = t->units,
                     .coders = t->coders,
                     .categories = t->categories,
                     .cell = t->cell,
                     .values = t->values};
    return d;
}

void an_rel_table_free(an_rel_table *t)
{
    for (size_t i = 0; i < t->coders && t->coder_names; i++)
        free(t->coder_names[i]);
    for (size_t i = 0; i < t->categories && t->category_names; i++)
        free(t->category_names[i]);
    free(t->coder_names);
    free(t->category_names);
    free(t->values);
    free(t->cell);
    memset(t, 0, sizeof *t);
}
