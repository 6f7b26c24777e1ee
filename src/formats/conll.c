/* CoNLL-2003 named-entity files: one token per line with its tag in the last column
 * ("EU NNP B-NP B-ORG" or "EU B-ORG"), a blank line between sentences, "-DOCSTART-" lines
 * between documents.
 *
 * Import: each sentence is a task {KEY: tokens joined by single spaces} with one annotation
 * of "labels" spans, offsets in code points. Tags may be IOB2 (every entity opens with B-)
 * or IOB1 (B- only between two touching entities of one type): an I- tag after O or after
 * another type opens an entity, so both read the same way. Lines are read one at a time:
 * memory is bounded by the longest sentence.
 *
 * Export: each annotated task is one sentence with IOB2 tags. Tokens are the text's runs of
 * non-whitespace, further cut wherever a span starts or ends: text made by the import
 * (tokens joined by single spaces) comes back token for token, and a span inside a run
 * ("Berlin" in "Berlin;", "华为" in "华为Mate") becomes tokens of its own rather than being
 * lost. A span that starts or ends on whitespace, or overlaps another, cannot be written and
 * stops the export, naming the task. Tasks without an annotation are left out:
 * a sentence of O tags would claim they were checked and hold no entity. */
#include "formats/format.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/json.h"
#include "base/utf8.h"

/* Where spans go: the first Labels control, its first object, and that object's field. */
typedef struct target {
    const an_control *ctl;
    const char *to_name;
    const char *data_key;
} target;

static int find_target(const an_config *cfg, target *t, an_err *err)
{
    memset(t, 0, sizeof *t);
    if (!cfg) return an_err_set(err, AN_EINVAL, "conll", "CoNLL needs a labeling config");
    for (size_t i = 0; i < cfg->n_controls && !t->ctl; i++)
        if (cfg->controls[i].tag == AN_TAG_LABELS && cfg->controls[i].n_to)
            t->ctl = &cfg->controls[i];
    if (!t->ctl)
        return an_err_set(err, AN_EINVAL, "conll",
                          "the labeling config has no Labels control for the entity spans; "
                          "add <Labels name=\"label\" toName=\"text\"> with the entity types");
    t->to_name = t->ctl->to_names[0];
    for (size_t i = 0; i < cfg->n_objects && !t->data_key; i++)
        if (cfg->objects[i].name && strcmp(cfg->objects[i].name, t->to_name) == 0)
            t->data_key = cfg->objects[i].data_key;
    for (size_t i = 0; i < cfg->n_objects && !t->data_key; i++)
        if (cfg->objects[i].tag == AN_TAG_TEXT) t->data_key = cfg->objects[i].data_key;
    if (!t->data_key) t->data_key = "text";
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Kind of a tag: O, B or I, with the entity type in *type (type_len bytes); 0 when malformed. */
static char parse_tag(const char *s, size_t n, const char **type, size_t *type_len)
{
    if (n == 1 && s[0] == 'O') return 'O';
    if (n > 2 && (s[0] == 'B' || s[0] == 'I') && s[1] == '-') {
        *type = s + 2;
        *type_len = n - 2;
        return s[0];
    }
    return 0;
}

/* ---- sniff -------------------------------------------------------------------------- */

static int conll_sniff(const char *path, bool is_dir, const unsigned char *head, size_t n)
{
    if (is_dir || n == 0) return 0;
    const char *s = (const char *)head;
    size_t end = n;
    if (n == 4096) { /* only whole lines count when the head was cut */
        while (end > 0 && s[end - 1] != '\n')
            end--;
    }
    if (!an_utf8_valid(s, end)) return 0;
    int good = 0;
    for (size_t i = 0; i < end;) {
        size_t j = i;
        while (j < end && s[j] != '\n')
            j++;
        /* fields of line s[i..j) */
        size_t first_b = i, first_e = i, last_b = 0, last_e = 0, nf = 0;
        for (size_t k = i; k < j;) {
            while (k < j && is_space(s[k]))
                k++;
            if (k >= j) break;
            size_t b = k;
            while (k < j && !is_space(s[k]))
                k++;
            if (nf++ == 0) first_b = b, first_e = k;
            last_b = b, last_e = k;
        }
        i = j + 1;
        if (nf == 0) continue;
        if (first_e - first_b == 10 && memcmp(s + first_b, "-DOCSTART-", 10) == 0) {
            good++;
            continue;
        }
        const char *type;
        size_t tl;
        if (nf < 2 || !parse_tag(s + last_b, last_e - last_b, &type, &tl)) return 0;
        good++;
    }
    return good ? 70 : 0;
}

/* ---- import ------------------------------------------------------------------------- */

typedef struct span {
    size_t start, end;   /* code points */
    size_t bstart, bend; /* bytes in the text */
    int label;           /* index in the control's labels */
} span;

typedef struct reader {
    const char *path;
    const target *t;
    const an_import_sink *sink;
    an_buf text;
    size_t cps; /* code points in text */
    span *spans;
    size_t n_spans, cap_spans;
    bool open;       /* the last span is still growing */
    bool bad;        /* the sentence was rejected: skip to its end */
    long first_line; /* line of the sentence's first token, 0 when empty */
    an_buf where, reason;
} reader;

static void reset_sentence(reader *r)
{
    an_buf_reset(&r->text);
    r->cps = 0;
    r->n_spans = 0;
    r->open = false;
    r->bad = false;
    r->first_line = 0;
}

static int reject_line(reader *r, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int reject_line(reader *r, long line, const char *fmt, ...)
{
    va_list ap;
    an_buf_reset(&r->where);
    an_buf_addf(&r->where, "%s:%ld", r->path, line);
    an_buf_reset(&r->reason);
    va_start(ap, fmt);
    an_buf_vaddf(&r->reason, fmt, ap);
    va_end(ap);
    r->bad = true;
    int rc = r->sink->reject(r->sink->ud, r->where.p, r->reason.p);
    return rc < 0 ? rc : 0;
}

/* Sends the sentence read so far (if any, and not rejected) and starts a new one. */
static int flush_sentence(reader *r, an_err *err)
{
    int rc = 0;
    if (r->first_line && !r->bad) {
        const an_control *c = r->t->ctl;
        json_t *result = json_array();
        for (size_t i = 0; i < r->n_spans; i++) {
            const span *sp = &r->spans[i];
            char id[32];
            snprintf(id, sizeof id, "r%zu", i + 1);
            json_t *v = json_object();
            json_object_set_new(v, "start", json_integer((json_int_t)sp->start));
            json_object_set_new(v, "end", json_integer((json_int_t)sp->end));
            json_object_set_new(v, "text",
                                json_stringn(r->text.p + sp->bstart, sp->bend - sp->bstart));
            json_t *labels = json_array();
            json_array_append_new(labels, json_string(c->labels[sp->label]));
            json_object_set_new(v, "labels", labels);
            json_t *it = json_object();
            json_object_set_new(it, "id", json_string(id));
            json_object_set_new(it, "from_name", json_string(c->name));
            json_object_set_new(it, "to_name", json_string(r->t->to_name));
            json_object_set_new(it, "type", json_string("labels"));
            json_object_set_new(it, "value", v);
            json_array_append_new(result, it);
        }
        json_t *ann = json_object();
        json_object_set_new(ann, "result", result);
        an_record rec = {0};
        rec.data = json_object();
        json_object_set_new(rec.data, r->t->data_key, json_stringn(r->text.p, r->text.len));
        rec.annotations = json_array();
        json_array_append_new(rec.annotations, ann);
        an_buf_reset(&r->where);
        an_buf_addf(&r->where, "%s:%ld", r->path, r->first_line);
        rec.where = r->where.p;
        rc = r->sink->record(r->sink->ud, &rec, err);
        json_decref(rec.data);
        json_decref(rec.annotations);
    }
    reset_sentence(r);
    return rc;
}

/* Adds one token line (fields already split) to the sentence. */
static int add_token(reader *r, long line, const char *tok, size_t tok_len, const char *tag,
                     size_t tag_len)
{
    const char *type = NULL;
    size_t tl = 0;
    char kind = parse_tag(tag, tag_len, &type, &tl);
    if (!r->first_line) r->first_line = line;
    if (!an_utf8_valid(tok, tok_len) || !an_utf8_valid(tag, tag_len))
        return reject_line(r, line, "the line is not valid UTF-8; convert the file to UTF-8");
    if (!kind)
        return reject_line(r, line, "bad tag \"%.*s\": expected O, B-TYPE or I-TYPE", (int)tag_len,
                           tag);
    int label = -1;
    if (kind != 'O') {
        const an_control *c = r->t->ctl;
        for (size_t i = 0; i < c->n_labels && label < 0; i++)
            if (strlen(c->labels[i]) == tl && memcmp(c->labels[i], type, tl) == 0) label = (int)i;
        if (label < 0)
            return reject_line(r, line,
                               "entity type \"%.*s\" is not a label of Labels \"%s\"; add it to "
                               "the labeling config",
                               (int)tl, type, c->name);
    }
    if (r->text.len) {
        an_buf_addc(&r->text, ' ');
        r->cps++;
    }
    size_t bstart = r->text.len, start = r->cps;
    an_buf_add(&r->text, tok, tok_len);
    r->cps += an_utf8_count(tok, tok_len);
    span *last = r->n_spans ? &r->spans[r->n_spans - 1] : NULL;
    if (kind == 'O') {
        r->open = false;
    } else if (kind == 'I' && r->open && last->label == label) {
        last->end = r->cps;
        last->bend = r->text.len;
    } else {
        if (r->n_spans == r->cap_spans) {
            r->cap_spans = r->cap_spans ? 2 * r->cap_spans : 16;
            r->spans = an_xrealloc(r->spans, r->cap_spans * sizeof *r->spans);
        }
        r->spans[r->n_spans++] = (span){start, r->cps, bstart, r->text.len, label};
        r->open = true;
    }
    return 0;
}

static int conll_read(const char *path, const an_config *cfg, const an_import_sink *sink,
                      an_err *err)
{
    target t;
    int rc = find_target(cfg, &t, err);
    if (rc) return rc;
    FILE *f = fopen(path, "rb");
    if (!f) return an_err_set(err, AN_EIO, path, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    uint64_t total = fstat(fileno(f), &st) == 0 ? (uint64_t)st.st_size : 0;
    reader r = {.path = path, .t = &t, .sink = sink};
    an_buf_init(&r.text);
    an_buf_init(&r.where);
    an_buf_init(&r.reason);
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long no = 0;
    uint64_t done = 0;
    while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
        no++;
        done += (uint64_t)got;
        size_t n = (size_t)got;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        const char *first = NULL, *last = NULL;
        size_t first_len = 0, last_len = 0, nf = 0;
        for (size_t k = 0; k < n;) {
            while (k < n && is_space(line[k]))
                k++;
            if (k >= n) break;
            size_t b = k;
            while (k < n && !is_space(line[k]))
                k++;
            if (nf++ == 0) first = line + b, first_len = k - b;
            last = line + b, last_len = k - b;
        }
        if (nf == 0) {
            rc = flush_sentence(&r, err);
        } else if (first_len == 10 && memcmp(first, "-DOCSTART-", 10) == 0) {
            rc = flush_sentence(&r, err);
        } else if (r.bad) {
            /* the rest of a rejected sentence */
        } else if (nf < 2) {
            if (!r.first_line) r.first_line = no;
            rc = reject_line(&r, no, "expected a token and its tag, found one field");
        } else {
            rc = add_token(&r, no, first, first_len, last, last_len);
        }
        if (sink->progress && (no & 1023) == 0) sink->progress(sink->ud, done, total);
    }
    if (rc == 0 && ferror(f))
        rc = an_err_set(err, AN_EIO, path, "cannot read %s: %s", path, strerror(errno));
    if (rc == 0) rc = flush_sentence(&r, err);
    if (rc == 0 && sink->progress) sink->progress(sink->ud, done, total);
    free(line);
    fclose(f);
    free(r.spans);
    an_buf_free(&r.text);
    an_buf_free(&r.where);
    an_buf_free(&r.reason);
    return rc;
}

/* ---- export ------------------------------------------------------------------------- */

typedef struct token {
    size_t bstart, bend; /* bytes */
    size_t start, end;   /* code points */
    const char *label;   /* entity type, borrowed from the result; NULL for O */
    bool begin;          /* first token of its entity */
} token;

typedef struct writer {
    target t;
    token *toks;
    size_t cap;
    size_t *cuts; /* code-point offsets where spans start or end, sorted */
    size_t n_cuts, cap_cuts;
} writer;

static int conll_export_begin(an_export_ctx *ctx, an_err *err)
{
    writer *w = an_xcalloc(1, sizeof *w);
    int rc = find_target(ctx->config, &w->t, err);
    if (rc) {
        free(w);
        return rc;
    }
    ctx->state = w;
    return 0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Records the start and end of every labels span of result as token cuts. */
static void collect_cuts(writer *w, const json_t *result)
{
    w->n_cuts = 0;
    for (size_t i = 0; i < json_array_size(result); i++) {
        const json_t *it = json_array_get(result, i);
        const char *type = an_json_str(it, "type");
        if (!type || strcmp(type, "labels") != 0) continue;
        const json_t *v = json_object_get(it, "value");
        const json_t *ends[2] = {json_object_get(v, "start"), json_object_get(v, "end")};
        for (int k = 0; k < 2; k++) {
            if (!json_is_integer(ends[k]) || json_integer_value(ends[k]) < 0) continue;
            if (w->n_cuts == w->cap_cuts) {
                w->cap_cuts = w->cap_cuts ? 2 * w->cap_cuts : 32;
                w->cuts = an_xrealloc(w->cuts, w->cap_cuts * sizeof *w->cuts);
            }
            w->cuts[w->n_cuts++] = (size_t)json_integer_value(ends[k]);
        }
    }
    qsort(w->cuts, w->n_cuts, sizeof *w->cuts, cmp_size);
}

/* Splits text into runs of non-whitespace, also cut at w->cuts. */
static size_t tokenize(writer *w, const char *s, size_t len)
{
    size_t n = 0, cp = 0, next_cut = 0;
    for (size_t i = 0; i < len;) {
        if (is_space(s[i])) {
            i++, cp++;
            continue;
        }
        if (n == w->cap) {
            w->cap = w->cap ? 2 * w->cap : 64;
            w->toks = an_xrealloc(w->toks, w->cap * sizeof *w->toks);
        }
        token *t = &w->toks[n++];
        t->bstart = i, t->start = cp, t->label = NULL, t->begin = false;
        while (next_cut < w->n_cuts && w->cuts[next_cut] <= cp) next_cut++;
        while (i < len && !is_space(s[i])) {
            if (((unsigned char)s[i] & 0xC0) != 0x80) {
                if (cp > t->start && next_cut < w->n_cuts && w->cuts[next_cut] == cp) break;
                cp++;
            }
            i++;
        }
        t->bend = i, t->end = cp;
    }
    return n;
}

/* Index of the token starting (or, with at_end, ending) at code point cp; -1 when none. */
static long token_at(const token *toks, size_t n, size_t cp, bool at_end)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t key = at_end ? toks[mid].end : toks[mid].start;
        if (key < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && (at_end ? toks[lo].end : toks[lo].start) == cp) return (long)lo;
    return -1;
}

static int conll_export_task(an_export_ctx *ctx, const an_task_row *row, an_err *err)
{
    writer *w = ctx->state;
    const an_annotation_row *a = an_export_pick_annotation(row);
    if (!a) return 0;
    char where[96];
    snprintf(where, sizeof where, "task %lld", (long long)row->id);
    json_t *data = an_json_parse(row->data, row->data_len, where, err);
    if (!data) return -AN_EINVAL;
    json_t *result = NULL;
    int rc = 0;
    const json_t *tv = json_object_get(data, w->t.data_key);
    if (!json_is_string(tv)) {
        rc = an_err_set(err, AN_EINVAL, where, "the task has no data.%s text", w->t.data_key);
        goto out;
    }
    const char *text = json_string_value(tv);
    size_t len = json_string_length(tv);
    if (!(result = an_json_parse(a->result, strlen(a->result), where, err))) {
        rc = -AN_EINVAL;
        goto out;
    }
    collect_cuts(w, result);
    size_t n = tokenize(w, text, len);
    for (size_t i = 0; i < json_array_size(result); i++) {
        const json_t *it = json_array_get(result, i);
        const char *type = an_json_str(it, "type");
        if (!type || strcmp(type, "labels") != 0) continue;
        const json_t *v = json_object_get(it, "value");
        const json_t *labels = json_object_get(v, "labels");
        const char *label = json_string_value(json_array_get(labels, 0));
        json_t *js = json_object_get(v, "start"), *je = json_object_get(v, "end");
        snprintf(where, sizeof where, "task %lld:result[%zu].value", (long long)row->id, i);
        if (!json_is_integer(js) || !json_is_integer(je) || !label || !*label) {
            rc = an_err_set(err, AN_EINVAL, where,
                            "a labels region needs integer start and end and a label");
            goto out;
        }
        for (const char *p = label; *p; p++)
            if (is_space(*p)) {
                rc = an_err_set(err, AN_EINVAL, where,
                                "label \"%s\" holds whitespace, which a CoNLL tag cannot", label);
                goto out;
            }
        json_int_t s = json_integer_value(js), e = json_integer_value(je);
        long b = s >= 0 ? token_at(w->toks, n, (size_t)s, false) : -1;
        long l = e >= 0 ? token_at(w->toks, n, (size_t)e, true) : -1;
        if (b < 0 || l < b) {
            rc = an_err_set(err, AN_EINVAL, where,
                            "span [%lld, %lld) starts or ends on whitespace or outside the "
                            "text, so CoNLL cannot hold it; trim the span to its words",
                            (long long)s, (long long)e);
            goto out;
        }
        for (long k = b; k <= l; k++)
            if (w->toks[k].label) {
                rc = an_err_set(err, AN_EINVAL, where,
                                "span [%lld, %lld) overlaps another span; CoNLL tags one entity "
                                "per token",
                                (long long)s, (long long)e);
                goto out;
            }
        for (long k = b; k <= l; k++)
            w->toks[k].label = label, w->toks[k].begin = k == b;
    }
    an_buf *out = &ctx->scratch;
    an_buf_reset(out);
    for (size_t k = 0; k < n; k++) {
        an_buf_add(out, text + w->toks[k].bstart, w->toks[k].bend - w->toks[k].bstart);
        if (!w->toks[k].label) {
            an_buf_add(out, " O\n", 3);
        } else {
            an_buf_adds(out, w->toks[k].begin ? " B-" : " I-");
            an_buf_adds(out, w->toks[k].label);
            an_buf_addc(out, '\n');
        }
    }
    if (n) an_buf_addc(out, '\n');
    if (fwrite(out->p, 1, out->len, ctx->out) != out->len)
        rc = an_err_set(err, AN_EIO, where, "cannot write the export: %s", strerror(errno));
out:
    json_decref(result);
    json_decref(data);
    return rc;
}

static int conll_export_end(an_export_ctx *ctx, bool failed, an_err *err)
{
    writer *w = ctx->state;
    int rc = 0;
    if (!failed && fflush(ctx->out) != 0)
        rc = an_err_set(err, AN_EIO, "conll", "cannot write the export: %s", strerror(errno));
    if (w) {
        free(w->toks);
        free(w->cuts);
    }
    free(w);
    ctx->state = NULL;
    return rc;
}

const an_format an_format_conll = {
    .name = "conll",
    .description = "CoNLL-2003 named entities: TOKEN ... TAG lines, IOB1 or IOB2",
    .sniff = conll_sniff,
    .read = conll_read,
    .export_to_dir = false,
    .export_begin = conll_export_begin,
    .export_task = conll_export_task,
    .export_end = conll_export_end,
};
