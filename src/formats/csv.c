/* CSV and TSV: a header row names the data fields, each further row is one task.
 *
 * CSV follows RFC 4180 (quoted fields may hold commas, doubled quotes and line breaks). TSV
 * splits on tabs and takes every byte literally. Both readers stream row by row; rows come
 * to the sink as data objects of strings, kept as strings (no guessing of numbers).
 *
 * The writers follow Label Studio's CSV export: id, the data fields, one column per control
 * holding the chosen annotation's value, then annotation_id, annotator and lead_time. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/json.h"
#include "base/utf8.h"
#include "formats/format.h"

/* Largest single row a reader accepts. */
#define MAX_ROW_BYTES ((size_t)64 << 20)
#define PROGRESS_STEP ((uint64_t)1 << 20)

/* ---- one row as it is read ---------------------------------------------------------- */

typedef struct csv_row {
    an_buf text;  /* every field's bytes, back to back */
    size_t *ends; /* end offset in text of each field */
    size_t n, cap;
    bool too_big;  /* outgrew MAX_ROW_BYTES: bytes and field ends are no longer kept */
    bool quoted;   /* some field was quoted (so an empty row is not a blank line) */
    char bad[160]; /* first syntax problem seen in the row, or "" */
    uint64_t line; /* line the row starts on */
    bool started;
} csv_row;

static void row_add(csv_row *r, unsigned char c)
{
    if (r->too_big) return;
    if (r->text.len >= MAX_ROW_BYTES) {
        r->too_big = true;
        return;
    }
    an_buf_addc(&r->text, (char)c);
}

static void row_end_field(csv_row *r)
{
    if (r->too_big) {
        r->n++;
        return;
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->ends = an_xrealloc(r->ends, r->cap * sizeof *r->ends);
    }
    r->ends[r->n++] = r->text.len;
}

static void row_reset(csv_row *r)
{
    an_buf_reset(&r->text);
    r->n = 0;
    r->too_big = r->quoted = r->started = false;
    r->bad[0] = '\0';
}

static const char *field(const csv_row *r, size_t i, size_t *len)
{
    size_t start = i ? r->ends[i - 1] : 0;
    *len = r->ends[i] - start;
    return r->text.p + start;
}

/* ---- reader ------------------------------------------------------------------------- */

typedef enum { F_START, F_PLAIN, F_QUOTED, F_QUOTE_SEEN } field_state;

typedef struct reader {
    const char *path;
    const an_import_sink *sink;
    char sep;
    bool quoting;
    csv_row r;
    field_state st;
    uint64_t line;
    uint64_t quote_line; /* line where the open quoted field started */
    char **names;        /* header */
    size_t n_names;
    bool have_header;
    char where[PATH_MAX + 32];
} reader;

static int reject(reader *rd, an_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int reject(reader *rd, an_err *err, const char *fmt, ...)
{
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    int rc = rd->sink->reject ? rd->sink->reject(rd->sink->ud, rd->where, reason) : 0;
    if (rc == 0) return 0;
    return an_err_set(err, rc < 0 ? -rc : AN_EINVAL, rd->where, "import stopped: %s", reason);
}

static int take_header(reader *rd, an_err *err)
{
    csv_row *r = &rd->r;
    if (r->too_big || r->bad[0])
        return an_err_set(err, AN_EINVAL, rd->where, "the header row of %s is unreadable: %s",
                          rd->path, r->too_big ? "it is too long" : r->bad);
    rd->names = an_xcalloc(r->n, sizeof *rd->names);
    rd->n_names = r->n;
    for (size_t i = 0; i < r->n; i++) {
        size_t len;
        const char *s = field(r, i, &len);
        if (len == 0)
            return an_err_set(err, AN_EINVAL, rd->where,
                              "column %zu of the header has no name; name every column", i + 1);
        if (memchr(s, 0, len) || !an_utf8_valid(s, len))
            return an_err_set(err, AN_EINVAL, rd->where,
                              "column %zu of the header is not valid UTF-8 text", i + 1);
        rd->names[i] = an_xstrndup(s, len);
        for (size_t k = 0; k < i; k++)
            if (strcmp(rd->names[k], rd->names[i]) == 0)
                return an_err_set(err, AN_EINVAL, rd->where,
                                  "columns %zu and %zu of the header are both named \"%s\"; "
                                  "give each column its own name",
                                  k + 1, i + 1, rd->names[i]);
    }
    rd->have_header = true;
    return 0;
}

/* A complete row: the header, a blank line to skip, or a task. */
static int take_row(reader *rd, an_err *err)
{
    csv_row *r = &rd->r;
    int rc = 0;
    snprintf(rd->where, sizeof rd->where, "%s:%" PRIu64, rd->path, r->line);
    if (r->n == 1 && !r->quoted && !r->too_big && r->ends[0] == 0) goto done; /* blank line */
    if (!rd->have_header) {
        rc = take_header(rd, err);
        goto done;
    }
    if (r->too_big) {
        rc = reject(rd, err, "the row is larger than %zu MiB", MAX_ROW_BYTES >> 20);
        goto done;
    }
    if (r->bad[0]) {
        rc = reject(rd, err, "%s", r->bad);
        goto done;
    }
    if (r->n != rd->n_names) {
        rc = reject(rd, err, "the row has %zu field%s but the header has %zu", r->n,
                    r->n == 1 ? "" : "s", rd->n_names);
        goto done;
    }
    json_t *data = json_object();
    for (size_t i = 0; i < r->n; i++) {
        size_t len;
        const char *s = field(r, i, &len);
        if (memchr(s, 0, len) || !an_utf8_valid(s, len)) {
            json_decref(data);
            rc = reject(rd, err, "column \"%s\" is not valid UTF-8 text", rd->names[i]);
            goto done;
        }
        json_object_set_new_nocheck(data, rd->names[i], json_stringn_nocheck(s, len));
    }
    an_record rec = {.data = data, .where = rd->where};
    rc = rd->sink->record(rd->sink->ud, &rec, err);
    json_decref(data);
done:
    row_reset(r);
    return rc;
}

/* Feeds one byte through the field state machine. */
static int feed(reader *rd, unsigned char c, an_err *err)
{
    csv_row *r = &rd->r;
    if (!r->started) {
        r->started = true;
        r->line = rd->line;
    }
    bool eol = c == '\n' || c == '\r';
    switch (rd->st) {
    case F_START:
        if (c == '"' && rd->quoting) {
            rd->st = F_QUOTED;
            rd->quote_line = rd->line;
            r->quoted = true;
            break;
        }
        /* fall through */
    case F_PLAIN:
        if (c == (unsigned char)rd->sep) {
            row_end_field(r);
            rd->st = F_START;
        } else if (eol) {
            /* "\r\n" ends the row at '\r' and leaves an empty line, which is skipped */
            row_end_field(r);
            rd->st = F_START;
            return take_row(rd, err);
        } else {
            row_add(r, c);
            rd->st = F_PLAIN;
        }
        break;
    case F_QUOTED:
        if (c == '"')
            rd->st = F_QUOTE_SEEN;
        else
            row_add(r, c);
        break;
    case F_QUOTE_SEEN:
        if (c == '"') { /* a doubled quote stands for one */
            row_add(r, c);
            rd->st = F_QUOTED;
        } else if (c == (unsigned char)rd->sep || eol) {
            rd->st = F_PLAIN;
            return feed(rd, c, err);
        } else {
            if (!r->bad[0])
                snprintf(r->bad, sizeof r->bad,
                         "a quoted field closed at line %" PRIu64
                         " is followed by '%c' instead of a comma or the end of the line",
                         rd->line, c >= 0x20 && c < 0x7F ? c : '?');
            row_add(r, c);
            rd->st = F_PLAIN;
        }
        break;
    }
    return 0;
}

static int read_table(const char *path, const an_import_sink *sink, char sep, bool quoting,
                      an_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return an_err_set(err, AN_EIO, path, "cannot open %s: %s", path, strerror(errno));
    uint64_t total = 0, done = 0, next_report = PROGRESS_STEP;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) total = (uint64_t)st.st_size;
    reader rd = {.path = path, .sink = sink, .sep = sep, .quoting = quoting, .line = 1};
    an_buf_init(&rd.r.text);
    enum { BUF_SIZE = 1 << 16 };
    unsigned char *buf = an_xmalloc(BUF_SIZE);
    int rc = 0;
    for (;;) {
        size_t n = fread(buf, 1, BUF_SIZE, f);
        if (n == 0) {
            if (ferror(f))
                rc = an_err_set(err, AN_EIO, path, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        size_t i = 0;
        if (done == 0 && n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) i = 3; /* BOM */
        for (; i < n && rc >= 0; i++) {
            rc = feed(&rd, buf[i], err);
            if (buf[i] == '\n') rd.line++;
        }
        done += n;
        if (rc < 0) break;
        if (sink->progress && done >= next_report) {
            sink->progress(sink->ud, done, total);
            next_report = done + PROGRESS_STEP;
        }
    }
    if (rc >= 0 && rd.r.started) { /* the last row has no line break after it */
        if (rd.st == F_QUOTED) {
            snprintf(rd.where, sizeof rd.where, "%s:%" PRIu64, path, rd.r.line);
            rc = reject(&rd, err,
                        "the quoted field starting at line %" PRIu64
                        " is never closed; add the closing '\"'",
                        rd.quote_line);
        } else {
            rd.st = F_PLAIN;
            rc = feed(&rd, '\n', err);
        }
    }
    if (rc >= 0 && !rd.have_header)
        rc = an_err_set(err, AN_EINVAL, path, "%s has no header row; give the field names first",
                        path);
    if (sink->progress) sink->progress(sink->ud, done, total);
    fclose(f);
    free(buf);
    for (size_t i = 0; i < rd.n_names; i++)
        free(rd.names[i]);
    free(rd.names);
    an_buf_free(&rd.r.text);
    free(rd.r.ends);
    return rc < 0 ? rc : 0;
}

static int read_csv(const char *path, const an_config *cfg, const an_import_sink *sink, an_err *err)
{
    return read_table(path, sink, ',', true, err);
}

static int read_tsv(const char *path, const an_config *cfg, const an_import_sink *sink, an_err *err)
{
    return read_table(path, sink, '\t', false, err);
}

/* ---- sniffing ----------------------------------------------------------------------- */

static bool name_ends(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

/* Counts commas and tabs on the first line of head (outside quotes); false when the head
 * does not look like a text table at all. */
static bool first_line_seps(const unsigned char *h, size_t n, size_t *commas, size_t *tabs)
{
    *commas = *tabs = 0;
    size_t i = n >= 3 && memcmp(h, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    if (memchr(h, 0, n)) return false;
    size_t s = i;
    while (s < n && (h[s] == ' ' || h[s] == '\r' || h[s] == '\n'))
        s++;
    if (s < n && (h[s] == '[' || h[s] == '{')) return false; /* JSON */
    bool q = false;
    for (; i < n && (q || h[i] != '\n'); i++) {
        if (h[i] == '"') q = !q;
        if (q) continue;
        if (h[i] == ',') ++*commas;
        if (h[i] == '\t') ++*tabs;
    }
    return true;
}

static int sniff_csv(const char *path, bool is_dir, const unsigned char *head, size_t n)
{
    if (is_dir) return 0;
    size_t commas, tabs;
    bool table = first_line_seps(head, n, &commas, &tabs);
    if (name_ends(path, ".csv")) return 80;
    if (name_ends(path, ".tsv") || name_ends(path, ".tab")) return 0;
    return table && commas > 0 && commas >= tabs ? 30 : 0;
}

static int sniff_tsv(const char *path, bool is_dir, const unsigned char *head, size_t n)
{
    if (is_dir) return 0;
    size_t commas, tabs;
    bool table = first_line_seps(head, n, &commas, &tabs);
    if (name_ends(path, ".tsv") || name_ends(path, ".tab")) return 80;
    if (name_ends(path, ".csv")) return 0;
    return table && tabs > 0 && tabs > commas ? 30 : 0;
}

/* ---- writer ------------------------------------------------------------------------- */

typedef struct writer {
    char sep;
    char **keys; /* data columns */
    size_t n_keys;
    const an_control **controls; /* control columns */
    size_t n_controls;
    bool header_done;
    an_buf line;
} writer;

static void add_key(writer *w, const char *k)
{
    for (size_t i = 0; i < w->n_keys; i++)
        if (strcmp(w->keys[i], k) == 0) return;
    w->keys = an_xrealloc(w->keys, (w->n_keys + 1) * sizeof *w->keys);
    w->keys[w->n_keys++] = an_xstrdup(k);
}

/* Appends one cell. CSV quotes per RFC 4180 when needed. TSV cannot hold a tab or a line
 * break in a cell, so such a cell is quoted the same way, as pandas and Excel write it. */
static void put_cell(writer *w, const char *s, size_t len, bool first)
{
    if (!first) an_buf_addc(&w->line, w->sep);
    bool quote = false;
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == w->sep || s[i] == '\n' || s[i] == '\r' || (w->sep == ',' && s[i] == '"');
    if (!quote) {
        an_buf_add(&w->line, s, len);
        return;
    }
    an_buf_addc(&w->line, '"');
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '"') continue;
        an_buf_add(&w->line, s + run, i + 1 - run);
        an_buf_addc(&w->line, '"');
        run = i + 1;
    }
    an_buf_add(&w->line, s + run, len - run);
    an_buf_addc(&w->line, '"');
}

static void put_cells(writer *w, const char *s, bool first)
{
    put_cell(w, s, strlen(s), first);
}

/* A JSON value as a cell: strings as they are, anything else as compact JSON text. */
static void put_json_cell(writer *w, an_buf *tmp, const json_t *v)
{
    if (!v || json_is_null(v)) {
        put_cell(w, "", 0, false);
    } else if (json_is_string(v)) {
        put_cell(w, json_string_value(v), json_string_length(v), false);
    } else {
        an_buf_reset(tmp);
        an_json_write(tmp, v);
        put_cell(w, tmp->p, tmp->len, false);
    }
}

static int flush_line(an_export_ctx *ctx, writer *w, an_err *err)
{
    an_buf_addc(&w->line, '\n');
    if (fwrite(w->line.p, 1, w->line.len, ctx->out) != w->line.len)
        return an_err_set(err, AN_EIO, "export", "cannot write the export: %s", strerror(errno));
    an_buf_reset(&w->line);
    return 0;
}

static int write_header(an_export_ctx *ctx, writer *w, an_err *err)
{
    put_cells(w, "id", true);
    for (size_t i = 0; i < w->n_keys; i++)
        put_cells(w, w->keys[i], false);
    for (size_t i = 0; i < w->n_controls; i++)
        put_cells(w, w->controls[i]->name, false);
    put_cells(w, "annotation_id", false);
    put_cells(w, "annotator", false);
    put_cells(w, "lead_time", false);
    w->header_done = true;
    return flush_line(ctx, w, err);
}

static int table_begin(an_export_ctx *ctx, char sep)
{
    writer *w = an_xcalloc(1, sizeof *w);
    w->sep = sep;
    an_buf_init(&w->line);
    const an_config *cfg = ctx->config;
    for (size_t i = 0; cfg && i < cfg->n_objects; i++)
        if (cfg->objects[i].data_key) add_key(w, cfg->objects[i].data_key);
    for (size_t i = 0; cfg && i < cfg->n_controls; i++) {
        const an_control *c = &cfg->controls[i];
        if (c->tag == AN_TAG_RELATIONS || !c->name) continue; /* relations have no value */
        w->controls = an_xrealloc(w->controls, (w->n_controls + 1) * sizeof *w->controls);
        w->controls[w->n_controls++] = c;
    }
    ctx->state = w;
    return 0;
}

static int csv_begin(an_export_ctx *ctx, an_err *err)
{
    return table_begin(ctx, ',');
}

static int tsv_begin(an_export_ctx *ctx, an_err *err)
{
    return table_begin(ctx, '\t');
}

static int table_task(an_export_ctx *ctx, const an_task_row *row, an_err *err)
{
    writer *w = ctx->state;
    char where[64];
    snprintf(where, sizeof where, "task %" PRId64, row->id);
    json_t *data =
        an_json_parse(row->data ? row->data : "{}", row->data ? row->data_len : 2, where, err);
    if (!data) return -AN_EINVAL;
    int rc = 0;
    json_t *values = json_object();
    an_buf tmp = AN_BUF_INIT;
    if (!w->header_done) {
        /* Without a config naming the fields, the first task's fields name the columns. */
        if (w->n_keys == 0 && json_is_object(data)) {
            const char *k;
            json_t *v;
            json_object_foreach(data, k, v) add_key(w, k);
        }
        if ((rc = write_header(ctx, w, err)) < 0) goto out;
    }
    const an_annotation_row *a = an_export_pick_annotation(row);
    if (a) {
        snprintf(where, sizeof where, "task %" PRId64 " annotation %" PRId64, row->id, a->id);
        if ((rc = an_export_min_values(ctx->config, a->result, where, values, err)) < 0) goto out;
    }
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, row->id);
    put_cells(w, num, true);
    for (size_t i = 0; i < w->n_keys; i++)
        put_json_cell(w, &tmp, json_object_get(data, w->keys[i]));
    for (size_t i = 0; i < w->n_controls; i++)
        put_json_cell(w, &tmp, json_object_get(values, w->controls[i]->name));
    if (a) {
        snprintf(num, sizeof num, "%" PRId64, a->id);
        put_cells(w, num, false);
        num[0] = '\0';
        if (a->annotator_id > 0) snprintf(num, sizeof num, "%" PRId64, a->annotator_id);
        put_cells(w, num, false);
        an_buf_reset(&tmp);
        if (!isnan(a->lead_time)) an_json_write_real(&tmp, a->lead_time);
        put_cell(w, tmp.p ? tmp.p : "", tmp.len, false);
    } else {
        for (int i = 0; i < 3; i++)
            put_cell(w, "", 0, false);
    }
    rc = flush_line(ctx, w, err);
out:
    an_buf_free(&tmp);
    json_decref(values);
    json_decref(data);
    return rc;
}

static int table_end(an_export_ctx *ctx, bool failed, an_err *err)
{
    writer *w = ctx->state;
    int rc = 0;
    if (!w) return 0;
    if (!failed && !w->header_done) rc = write_header(ctx, w, err);
    for (size_t i = 0; i < w->n_keys; i++)
        free(w->keys[i]);
    free(w->keys);
    free(w->controls);
    an_buf_free(&w->line);
    free(w);
    ctx->state = NULL;
    return rc;
}

const an_format an_format_csv = {
    .name = "csv",
    .description = "CSV with a header row: one task per row (RFC 4180 quoting)",
    .sniff = sniff_csv,
    .read = read_csv,
    .export_begin = csv_begin,
    .export_task = table_task,
    .export_end = table_end,
};

const an_format an_format_tsv = {
    .name = "tsv",
    .description = "tab-separated values with a header row: one task per row",
    .sniff = sniff_tsv,
    .read = read_tsv,
    .export_begin = tsv_begin,
    .export_task = table_task,
    .export_end = table_end,
};
