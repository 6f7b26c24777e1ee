/* Inputs of PII scanning: streams by line, JSON strings by path, projects. See pii_input.h. */
#include "comply/pii_input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

/* ---- walking JSON strings ------------------------------------------------------------ */

static int walk(json_t *j, an_buf *path, an_pii_string_cb cb, void *ud)
{
    size_t mark = path->len;
    int rc = 0;
    if (json_is_string(j)) return cb(ud, path->p ? path->p : "", j);
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            if (path->len) an_buf_addc(path, '.');
            an_buf_adds(path, k);
            rc = walk(v, path, cb, ud);
            an_buf_truncate(path, mark);
            if (rc) return rc;
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            an_buf_addf(path, "[%zu]", i);
            rc = walk(v, path, cb, ud);
            an_buf_truncate(path, mark);
            if (rc) return rc;
        }
    }
    return 0;
}

int an_pii_walk_strings(json_t *j, const char *prefix, an_pii_string_cb cb, void *ud)
{
    an_buf path = AN_BUF_INIT;
    an_buf_adds(&path, prefix ? prefix : "");
    int rc = walk(j, &path, cb, ud);
    an_buf_free(&path);
    return rc;
}

/* ---- bounded line reader -------------------------------------------------------------- */

void an_pii_lines_init(an_pii_lines *r, FILE *f)
{
    memset(r, 0, sizeof *r);
    r->f = f;
}

void an_pii_lines_free(an_pii_lines *r)
{
    free(r->buf);
    r->buf = NULL;
}

int an_pii_lines_next(an_pii_lines *r, const char *name, const char **p, size_t *n, an_err *err)
{
    for (;;) {
        char *nl = r->end > r->start ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
        size_t avail = r->end - r->start;
        if (nl || (r->eof && avail) || avail >= AN_PII_MAX_LINE) {
            size_t len = nl ? (size_t)(nl - (r->buf + r->start)) : avail;
            size_t skip = nl ? len + 1 : len;
            bool cut = false;
            if (!nl && len >= AN_PII_MAX_LINE) { /* a piece: cut at a code point boundary */
                len = AN_PII_MAX_LINE;
                size_t back = 0;
                while (back < 3 && len > back &&
                       ((unsigned char)r->buf[r->start + len - back] & 0xC0) == 0x80)
                    back++;
                len -= back;
                skip = len;
                cut = true;
            }
            if (!r->more) r->line++;
            r->piece = cut || r->more;
            r->more = cut;
            *p = r->buf + r->start;
            *n = len;
            if (!cut && len && (*p)[len - 1] == '\r') (*n)--;
            r->start += skip;
            return 1;
        }
        if (r->eof) return 0;
        /* Compact, grow up to the limit, read more. */
        if (r->start) {
            memmove(r->buf, r->buf + r->start, avail);
            r->end = avail;
            r->start = 0;
        }
        if (r->cap - r->end < (1u << 16)) {
            size_t cap = r->cap ? 2 * r->cap : (1u << 16);
            if (cap > AN_PII_MAX_LINE + (1u << 16)) cap = AN_PII_MAX_LINE + (1u << 16);
            if (cap > r->cap) {
                r->buf = an_xrealloc(r->buf, cap);
                r->cap = cap;
            }
        }
        size_t got = fread(r->buf + r->end, 1, r->cap - r->end, r->f);
        r->end += got;
        if (got == 0) {
            if (ferror(r->f))
                return an_err_set(err, AN_EIO, name, "cannot read: %s", strerror(errno));
            r->eof = true;
        }
    }
}

/* ---- scanning ------------------------------------------------------------------------- */

typedef struct scan_run {
    an_pii_ctx *ctx;
    an_pii_hit_cb cb;
    void *ud;
    int64_t line, task;
    an_err *err;
    int rc; /* an error from a scan inside a walk */
} scan_run;

static int emit(scan_run *run, const char *field, const char *text, size_t len, size_t base_cp)
{
    const an_pii_finding *f;
    size_t n;
    int rc = an_pii_scan(run->ctx, text, len, &f, &n, run->err);
    if (rc < 0) {
        run->rc = rc;
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        an_pii_finding g = f[i];
        g.start += base_cp;
        g.end += base_cp;
        an_pii_hit h = {&g, run->line, run->task, field, text, len};
        if ((rc = run->cb(run->ud, &h)) != 0) return rc;
    }
    return 0;
}

static int on_string(void *ud, const char *path, json_t *str)
{
    return emit(ud, path, json_string_value(str), json_string_length(str), 0);
}

static bool looks_json(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t')) i++;
    return i < n && (p[i] == '{' || p[i] == '[');
}

/* The next block of whole lines for the fast text path: 1 with [*p, *p + *n) holding one or
 * more lines, each ended by '\n' except a last line at the end of the stream; 2 when the next
 * line has no '\n' within AN_PII_MAX_LINE bytes (the caller reads it with an_pii_lines_next,
 * in pieces); 0 at the end. r->line is left to the caller, which counts the lines. */
#define BLOCK_READ (1u << 20)

static int next_block(an_pii_lines *r, const char *name, const char **p, size_t *n, an_err *err)
{
    for (;;) {
        size_t avail = r->end - r->start;
        const char *nl = avail ? memrchr(r->buf + r->start, '\n', avail) : NULL;
        if (nl || (r->eof && avail && avail < AN_PII_MAX_LINE)) {
            size_t len = nl ? (size_t)(nl - (r->buf + r->start)) + 1 : avail;
            *p = r->buf + r->start;
            *n = len;
            r->start += len;
            return 1;
        }
        if (avail >= AN_PII_MAX_LINE) return 2;
        if (r->eof) return 0;
        if (r->start) {
            memmove(r->buf, r->buf + r->start, avail);
            r->end = avail;
            r->start = 0;
        }
        if (r->cap - r->end < BLOCK_READ / 2) {
            size_t cap = r->cap < BLOCK_READ ? BLOCK_READ : 2 * r->cap;
            if (cap > AN_PII_MAX_LINE + BLOCK_READ) cap = AN_PII_MAX_LINE + BLOCK_READ;
            if (cap > r->cap) {
                r->buf = an_xrealloc(r->buf, cap);
                r->cap = cap;
            }
        }
        size_t got = fread(r->buf + r->end, 1, r->cap - r->end, r->f);
        r->end += got;
        if (got == 0) {
            if (ferror(r->f))
                return an_err_set(err, AN_EIO, name, "cannot read: %s", strerror(errno));
            r->eof = true;
        }
    }
}

/* One line longer than AN_PII_MAX_LINE: scanned in pieces (a JSON line that long is an
 * error). */
static int long_line(an_pii_lines *r, scan_run *run, const char *name, an_pii_format fmt,
                     an_err *err)
{
    const char *p = NULL;
    size_t n = 0, base_cp = 0;
    int rc;
    do {
        if ((rc = an_pii_lines_next(r, name, &p, &n, err)) != 1) return rc;
        run->line = r->line;
        if (fmt == AN_PII_JSONL || (fmt == AN_PII_AUTO && base_cp == 0 && looks_json(p, n)))
            return an_err_set(err, AN_EINVAL, name, "line %lld is over %u MiB; a JSON line "
                              "must be shorter (split the record)", (long long)r->line,
                              AN_PII_MAX_LINE >> 20);
        if ((rc = emit(run, NULL, p, n, base_cp)) != 0) return rc;
        for (size_t i = 0; i < n; i++) base_cp += ((unsigned char)p[i] & 0xC0) != 0x80;
    } while (r->more);
    return 0;
}

/* A JSON line (fmt AUTO or JSONL): 1 when it was one and its strings were scanned, 0 when
 * it does not parse (AUTO: then it is text), negative on an error. */
static int json_line(scan_run *run, const char *name, an_pii_format fmt, const char *p,
                     size_t n, an_err *err)
{
    char where[64];
    snprintf(where, sizeof where, "line %lld", (long long)run->line);
    an_err jerr;
    json_t *j = an_json_parse(p, n, where, fmt == AN_PII_JSONL ? err : &jerr);
    if (!j && fmt == AN_PII_JSONL) {
        an_err_prefix_where(err, name);
        return -AN_EINVAL;
    }
    if (!j) return 0;
    int rc = an_pii_walk_strings(j, "", on_string, run);
    json_decref(j);
    return rc != 0 ? rc : 1;
}

/* The findings of a block, copied out of the context (a JSON line scans with the same
 * context before the block's findings are all delivered). */
typedef struct block_found {
    an_pii_finding *f;
    size_t n, cap;
} block_found;

/* A block of text lines (fmt TEXT or AUTO): one scan over the block, then the lines are
 * walked to number them and to hand JSON lines (AUTO) to the JSON path; only lines with
 * findings are read again. */
static int text_block(scan_run *run, block_found *bf, an_pii_lines *r, const char *name,
                      an_pii_format fmt, const char *p, size_t n, an_err *err)
{
    const an_pii_finding *f;
    size_t nf;
    int rc = an_pii_scan_lines(run->ctx, p, n, &f, &nf, err);
    if (rc < 0) return rc;
    if (nf > bf->cap) {
        bf->cap = nf;
        bf->f = an_xrealloc(bf->f, nf * sizeof *bf->f);
    }
    if (nf) memcpy(bf->f, f, nf * sizeof *f);
    bf->n = nf;
    size_t k = 0, ls = 0;
    while (ls < n) {
        const char *nl = memchr(p + ls, '\n', n - ls);
        size_t le = nl ? (size_t)(nl - p) : n, ce = le;
        if (ce > ls && p[ce - 1] == '\r') ce--;
        run->line = ++r->line;
        bool json_done = false;
        if (fmt == AN_PII_AUTO && looks_json(p + ls, ce - ls)) {
            if ((rc = json_line(run, name, fmt, p + ls, ce - ls, err)) < 0) return rc;
            json_done = rc == 1;
        }
        for (; k < bf->n && bf->f[k].bstart < le; k++) {
            if (json_done) continue;
            an_pii_finding g = bf->f[k];
            g.bstart -= ls;
            g.bend -= ls;
            an_pii_hit h = {&g, run->line, run->task, NULL, p + ls, ce - ls};
            if ((rc = run->cb(run->ud, &h)) != 0) return rc;
        }
        ls = le + 1;
    }
    return 0;
}

int an_pii_scan_stream(an_pii_ctx *ctx, FILE *in, const char *name, an_pii_format fmt,
                       an_pii_hit_cb cb, void *ud, an_err *err)
{
    an_pii_lines r;
    an_pii_lines_init(&r, in);
    scan_run run = {.ctx = ctx, .cb = cb, .ud = ud, .err = err};
    int rc;
    if (fmt == AN_PII_JSONL) {
        /* Every line is JSON: line by line. */
        const char *p = NULL;
        size_t n = 0;
        while ((rc = an_pii_lines_next(&r, name, &p, &n, err)) == 1) {
            run.line = r.line;
            if (r.piece) {
                rc = an_err_set(err, AN_EINVAL, name, "line %lld is over %u MiB; a JSON line "
                                "must be shorter (split the record)", (long long)r.line,
                                AN_PII_MAX_LINE >> 20);
                break;
            }
            if (n == 0) continue;
            if ((rc = json_line(&run, name, fmt, p, n, err)) < 0) break;
            rc = 0;
        }
        an_pii_lines_free(&r);
        return rc;
    }
    /* Text and auto: blocks of lines scanned at once. */
    block_found bf = {0};
    const char *p = NULL;
    size_t n = 0;
    while ((rc = next_block(&r, name, &p, &n, err)) > 0) {
        rc = rc == 1 ? text_block(&run, &bf, &r, name, fmt, p, n, err)
                     : long_line(&r, &run, name, fmt, err);
        if (rc != 0) break;
    }
    free(bf.f);
    an_pii_lines_free(&r);
    return rc;
}

/* ---- projects -------------------------------------------------------------------------- */

/* The text answers of one annotation's result. */
static int scan_answers(scan_run *run, size_t ai, json_t *result)
{
    size_t j;
    json_t *item;
    json_array_foreach(result, j, item) {
        const char *type = an_json_str(item, "type");
        json_t *texts = json_object_get(json_object_get(item, "value"), "text");
        if (!type || strcmp(type, "textarea") != 0 || !json_is_array(texts)) continue;
        size_t k;
        json_t *t;
        json_array_foreach(texts, k, t) {
            if (!json_is_string(t)) continue;
            char path[96];
            snprintf(path, sizeof path, "annotations[%zu].result[%zu].value.text[%zu]", ai, j, k);
            int rc = emit(run, path, json_string_value(t), json_string_length(t), 0);
            if (rc) return rc;
        }
    }
    return 0;
}

int an_pii_scan_project(an_pii_ctx *ctx, an_store *s, int64_t project_id, an_pii_hit_cb cb,
                        void *ud, an_err *err)
{
    an_task_iter *it = NULL;
    int rc = an_store_tasks_open(s, project_id, AN_ITER_ANNOTATIONS, &it, err);
    if (rc < 0) return rc;
    scan_run run = {.ctx = ctx, .cb = cb, .ud = ud, .err = err};
    const an_task_row *row;
    while ((rc = an_task_iter_next(it, &row, err)) == 1) {
        run.task = row->id;
        char where[64];
        snprintf(where, sizeof where, "task %lld data", (long long)row->id);
        json_t *data = an_json_parse(row->data, row->data_len, where, err);
        if (!data) {
            rc = -AN_EINVAL;
            break;
        }
        rc = an_pii_walk_strings(data, "data", on_string, &run);
        json_decref(data);
        for (size_t i = 0; rc == 0 && i < row->n_annotations; i++) {
            const an_annotation_row *a = &row->annotations[i];
            if (a->cancelled || !a->result) continue;
            json_t *res = an_json_parse(a->result, strlen(a->result), "annotation", err);
            if (!res) {
                rc = -AN_EINVAL;
                break;
            }
            rc = scan_answers(&run, i, res);
            json_decref(res);
        }
        if (rc != 0) break;
    }
    an_task_iter_close(it);
    return rc;
}
