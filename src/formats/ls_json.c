/* Label Studio's JSON formats: ls-json (one array of tasks), ls-jsonl (one task per line)
 * and json-min (Label Studio's JSON_MIN export: flat objects, one per task).
 *
 * Readers stream. An ls-json file may be a gigabyte in one array, so the reader does not
 * hand it to Jansson whole: it splits the top-level array itself, tracking nesting depth and
 * string/escape state, and parses one element at a time. Writers splice the stored JSON
 * text (already canonical) without parsing it again, which keeps export fast. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/json.h"
#include "formats/format.h"

/* Largest single task (array element or line) a reader accepts. */
#define MAX_TASK_BYTES ((size_t)64 << 20)
/* How often readers report progress, in bytes. */
#define PROGRESS_STEP ((uint64_t)1 << 20)

/* ---- tasks from parsed JSON --------------------------------------------------------- */

static const char *type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Fills rec (borrowing from j) from one task in either of Label Studio's shapes: with a
 * "data" member, or a bare data object. False with the reason in why when it is not a task. */
static bool task_from_json(json_t *j, an_record *rec, char *why, size_t cap)
{
    memset(rec, 0, sizeof *rec);
    if (!json_is_object(j)) {
        snprintf(why, cap, "the task is %s, not an object; give {\"data\": {...}} or a data object",
                 type_name(j));
        return false;
    }
    json_t *data = json_object_get(j, "data");
    if (!data) { /* Label Studio's rule: without "data" the whole object is the data */
        if (json_object_size(j) == 0) {
            snprintf(why, cap, "the task is an empty object; give its data fields");
            return false;
        }
        rec->data = j;
        return true;
    }
    if (!json_is_object(data)) {
        snprintf(why, cap, "\"data\" is %s, not an object of data fields", type_name(data));
        return false;
    }
    rec->data = data;
    static const char *const lists[] = {"annotations", "completions", "predictions"};
    json_t *got[3];
    for (int i = 0; i < 3; i++) {
        got[i] = json_object_get(j, lists[i]);
        if (json_is_null(got[i])) got[i] = NULL;
        if (got[i] && !json_is_array(got[i])) {
            snprintf(why, cap, "\"%s\" is %s, not a list", lists[i], type_name(got[i]));
            return false;
        }
    }
    /* "completions" is what Label Studio called annotations before 1.0 */
    rec->annotations = got[0] ? got[0] : got[1];
    rec->predictions = got[2];
    json_t *meta = json_object_get(j, "meta");
    if (meta && !json_is_null(meta)) {
        if (!json_is_object(meta)) {
            snprintf(why, cap, "\"meta\" is %s, not an object", type_name(meta));
            return false;
        }
        rec->meta = meta;
    }
    rec->created_at = an_json_str(j, "created_at");
    rec->updated_at = an_json_str(j, "updated_at");
    return true;
}

/* Reports a rejected record; a non-zero answer from the sink stops the reader. */
static int reject(const an_import_sink *s, const char *where, an_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int reject(const an_import_sink *s, const char *where, an_err *err, const char *fmt, ...)
{
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    int rc = s->reject ? s->reject(s->ud, where, reason) : 0;
    if (rc == 0) return 0;
    return an_err_set(err, rc < 0 ? -rc : AN_EINVAL, where, "import stopped: %s", reason);
}

/* Sends one parsed task (or its rejection) to the sink. */
static int deliver(const an_import_sink *s, json_t *j, const char *where, an_err *err)
{
    an_record rec;
    char why[512];
    if (!task_from_json(j, &rec, why, sizeof why)) return reject(s, where, err, "%s", why);
    rec.where = where;
    return s->record(s->ud, &rec, err);
}

/* ---- buffered input with progress --------------------------------------------------- */

typedef struct input {
    FILE *f;
    const char *path;
    unsigned char buf[1 << 16];
    size_t pos, len;
    uint64_t done, total, next_report;
    const an_import_sink *sink;
} input;

static int input_open(input *in, const char *path, const an_import_sink *sink, an_err *err)
{
    memset(in, 0, sizeof *in);
    in->path = path;
    in->sink = sink;
    in->f = fopen(path, "rb");
    if (!in->f) return an_err_set(err, AN_EIO, path, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(in->f), &st) == 0 && S_ISREG(st.st_mode)) in->total = (uint64_t)st.st_size;
    in->next_report = PROGRESS_STEP;
    return 0;
}

/* Refills the buffer: 1 with bytes, 0 at the end, negative on a read error. */
static int input_fill(input *in, an_err *err)
{
    in->done += in->len;
    in->pos = in->len = 0;
    if (in->sink->progress && in->done >= in->next_report) {
        in->sink->progress(in->sink->ud, in->done, in->total);
        in->next_report = in->done + PROGRESS_STEP;
    }
    in->len = fread(in->buf, 1, sizeof in->buf, in->f);
    if (in->len == 0 && ferror(in->f))
        return an_err_set(err, AN_EIO, in->path, "cannot read %s: %s", in->path, strerror(errno));
    return in->len > 0;
}

static void input_close(input *in)
{
    if (in->sink->progress) in->sink->progress(in->sink->ud, in->done + in->len, in->total);
    if (in->f) fclose(in->f);
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* ---- ls-json reader ----------------------------------------------------------------- */

typedef enum { ST_START, ST_BEFORE, ST_ELEM, ST_DONE } scan_state;

typedef struct scan {
    input in;
    const an_import_sink *sink;
    bool array;            /* top level is an array (else a task object, or several) */
    scan_state st;
    an_buf elem;           /* bytes of the element being read */
    bool too_big;          /* the element outgrew MAX_TASK_BYTES: its bytes are dropped */
    int depth;
    bool in_str, esc;
    bool after_comma;      /* ST_BEFORE was entered by a comma */
    uint64_t line;         /* current line, 1-based */
    uint64_t line_start;   /* file offset of the current line's first byte */
    uint64_t elem_line, elem_col; /* where the element starts */
    uint64_t index;        /* array index of the element */
    char where[PATH_MAX + 64];
} scan;

static const char *scan_where(scan *sc)
{
    if (sc->array)
        snprintf(sc->where, sizeof sc->where, "%s:$[%" PRIu64 "]", sc->in.path, sc->index);
    else
        snprintf(sc->where, sizeof sc->where, "%s:%" PRIu64, sc->in.path, sc->elem_line);
    return sc->where;
}

/* The element in sc->elem is complete: parse it and hand it on. */
static int scan_element(scan *sc, an_err *err)
{
    const char *where = scan_where(sc);
    int rc = 0;
    if (sc->too_big) {
        rc = reject(sc->sink, where, err,
                    "the task starting at line %" PRIu64 " is larger than %zu MiB; split it",
                    sc->elem_line, MAX_TASK_BYTES >> 20);
    } else {
        json_error_t je;
        json_t *j = json_loadb(sc->elem.p, sc->elem.len, JSON_DECODE_ANY, &je);
        if (!j) {
            uint64_t line = sc->elem_line + (uint64_t)(je.line > 0 ? je.line - 1 : 0);
            uint64_t col = je.line <= 1 ? sc->elem_col + (uint64_t)(je.column > 0 ? je.column - 1 : 0)
                                        : (uint64_t)je.column;
            rc = reject(sc->sink, where, err,
                        "malformed JSON at line %" PRIu64 ", column %" PRIu64
                        " (task starting at line %" PRIu64 "): %s",
                        line, col, sc->elem_line, je.text);
        } else {
            rc = deliver(sc->sink, j, where, err);
            json_decref(j);
        }
    }
    an_buf_reset(&sc->elem);
    sc->too_big = false;
    sc->index++;
    return rc;
}

static void elem_add(scan *sc, const unsigned char *p, size_t n)
{
    if (sc->too_big || n == 0) return;
    if (sc->elem.len + n > MAX_TASK_BYTES) {
        sc->too_big = true;
        an_buf_reset(&sc->elem);
        return;
    }
    an_buf_add(&sc->elem, p, n);
}

static void elem_begin(scan *sc, size_t i)
{
    sc->st = ST_ELEM;
    sc->after_comma = false;
    sc->depth = 0;
    sc->in_str = sc->esc = false;
    sc->elem_line = sc->line;
    sc->elem_col = sc->in.done + i - sc->line_start + 1;
}

/* Scans the bytes of one buffer. Element bytes are appended in runs, not one by one. */
static int scan_buffer(scan *sc, an_err *err)
{
    input *in = &sc->in;
    const unsigned char *b = in->buf;
    size_t n = in->len, i = 0, run = 0;
    int rc;
    for (; i < n; i++) {
        unsigned char c = b[i];
        if (c == '\n') {
            sc->line++;
            sc->line_start = in->done + i + 1;
        }
        switch (sc->st) {
        case ST_START:
            if (is_space(c)) continue;
            if (sc->line == 1 && in->done + i == 0 && c == 0xEF && n >= 3 && b[1] == 0xBB &&
                b[2] == 0xBF) { /* UTF-8 byte order mark */
                i += 2;
                continue;
            }
            if (c == '[') {
                sc->array = true;
                sc->st = ST_BEFORE;
                continue;
            }
            if (c == '{') {
                sc->array = false;
                elem_begin(sc, i);
                run = i;
                i--; /* let ST_ELEM see the brace */
                continue;
            }
            return an_err_set(err, AN_EINVAL, in->path,
                              "%s does not start with '[' or '{' (line %" PRIu64
                              "); give a JSON list of tasks",
                              in->path, sc->line);
        case ST_BEFORE: /* after '[' or ',' in an array, or between top-level objects */
            if (is_space(c)) continue;
            if (sc->array && c == ']') {
                if (sc->after_comma) {
                    sc->elem_line = sc->line;
                    rc = reject(sc->sink, scan_where(sc), err,
                                "a comma before ']' at line %" PRIu64 " (no task after it)",
                                sc->line);
                    if (rc < 0) return rc;
                }
                sc->st = ST_DONE;
                continue;
            }
            if (sc->array && c == ',') {
                sc->elem_line = sc->line;
                rc = reject(sc->sink, scan_where(sc), err,
                            "no task between two commas at line %" PRIu64, sc->line);
                sc->index++;
                if (rc < 0) return rc;
                sc->after_comma = true;
                continue;
            }
            if (!sc->array && c != '{') {
                sc->elem_line = sc->line;
                rc = reject(sc->sink, scan_where(sc), err,
                            "expected '{' to start a task at line %" PRIu64
                            ", found '%c'; nothing after it is read",
                            sc->line, c >= 0x20 && c < 0x7F ? c : '?');
                return rc < 0 ? rc : 1;
            }
            elem_begin(sc, i);
            run = i;
            i--;
            continue;
        case ST_ELEM:
            if (sc->in_str) {
                if (sc->esc)
                    sc->esc = false;
                else if (c == '\\')
                    sc->esc = true;
                else if (c == '"')
                    sc->in_str = false;
                continue;
            }
            if (c == '"') {
                sc->in_str = true;
            } else if (c == '{' || c == '[') {
                sc->depth++;
            } else if (c == '}' || c == ']') {
                if (sc->depth > 0) {
                    sc->depth--;
                    if (sc->depth == 0 && !sc->array) { /* a top-level object is complete */
                        elem_add(sc, b + run, i + 1 - run);
                        sc->st = ST_BEFORE;
                        if ((rc = scan_element(sc, err)) < 0) return rc;
                    }
                } else if (sc->array && c == ']') { /* the end of the array */
                    elem_add(sc, b + run, i - run);
                    sc->st = ST_DONE;
                    if ((rc = scan_element(sc, err)) < 0) return rc;
                }
            } else if (c == ',' && sc->depth == 0 && sc->array) {
                elem_add(sc, b + run, i - run);
                sc->st = ST_BEFORE;
                sc->after_comma = true;
                if ((rc = scan_element(sc, err)) < 0) return rc;
            }
            continue;
        case ST_DONE:
            if (is_space(c)) continue;
            rc = reject(sc->sink, in->path, err,
                        "text after the closing ']' at line %" PRIu64 " is ignored", sc->line);
            return rc < 0 ? rc : 1;
        }
    }
    if (sc->st == ST_ELEM) elem_add(sc, b + run, n - run);
    return 0;
}

static int read_ls_json(const char *path, const an_config *cfg, const an_import_sink *sink,
                        an_err *err)
{
    scan sc = {.sink = sink, .line = 1, .st = ST_START};
    int rc = input_open(&sc.in, path, sink, err);
    if (rc < 0) return rc;
    an_buf_init(&sc.elem);
    for (;;) {
        rc = input_fill(&sc.in, err);
        if (rc <= 0) break;
        rc = scan_buffer(&sc, err);
        if (rc != 0) break;
    }
    if (rc > 0) rc = 0; /* the scanner stopped early after reporting why */
    if (rc == 0) {
        switch (sc.st) {
        case ST_START:
            rc = an_err_set(err, AN_EINVAL, path, "%s is empty; give a JSON list of tasks", path);
            break;
        case ST_ELEM:
            rc = reject(sink, scan_where(&sc), err,
                        "the file ends inside the task starting at line %" PRIu64
                        " (missing '}' or ']')",
                        sc.elem_line);
            break;
        case ST_BEFORE:
            if (sc.array)
                rc = reject(sink, path, err, "the file ends before the list's closing ']'");
            break;
        default: break;
        }
    }
    an_buf_free(&sc.elem);
    input_close(&sc.in);
    return rc;
}

/* ---- ls-jsonl reader ---------------------------------------------------------------- */

static int read_ls_jsonl(const char *path, const an_config *cfg, const an_import_sink *sink,
                         an_err *err)
{
    input in;
    int rc = input_open(&in, path, sink, err);
    if (rc < 0) return rc;
    an_buf line = AN_BUF_INIT;
    bool too_long = false, have_line = false;
    uint64_t lineno = 0;
    char where[PATH_MAX + 32];
    for (;;) {
        rc = input_fill(&in, err);
        if (rc < 0) break;
        bool eof = rc == 0;
        size_t i = 0;
        while (i < in.len || (eof && have_line)) {
            const unsigned char *nl = i < in.len ? memchr(in.buf + i, '\n', in.len - i) : NULL;
            size_t end = nl ? (size_t)(nl - in.buf) : in.len;
            if (!too_long) {
                if (line.len + (end - i) > MAX_TASK_BYTES) {
                    too_long = true;
                    an_buf_reset(&line);
                } else {
                    an_buf_add(&line, in.buf + i, end - i);
                }
            }
            have_line = true;
            i = nl ? end + 1 : in.len;
            if (!nl && !eof) break; /* the line goes on in the next buffer */
            lineno++;
            have_line = false;
            snprintf(where, sizeof where, "%s:%" PRIu64, path, lineno);
            size_t s = 0;
            if (lineno == 1 && line.len >= 3 && memcmp(line.p, "\xEF\xBB\xBF", 3) == 0) s = 3;
            while (s < line.len && is_space((unsigned char)line.p[s])) s++;
            if (too_long) {
                rc = reject(sink, where, err, "line %" PRIu64 " is longer than %zu MiB; split the task",
                            lineno, MAX_TASK_BYTES >> 20);
            } else if (s < line.len) {
                json_error_t je;
                json_t *j = json_loadb(line.p + s, line.len - s, JSON_DECODE_ANY, &je);
                if (!j) {
                    rc = reject(sink, where, err, "malformed JSON at line %" PRIu64 ", column %d: %s",
                                lineno, je.column + (int)s, je.text);
                } else {
                    rc = deliver(sink, j, where, err);
                    json_decref(j);
                }
            }
            too_long = false;
            an_buf_reset(&line);
            if (rc < 0) goto out;
        }
        if (eof) break;
    }
out:
    an_buf_free(&line);
    input_close(&in);
    return rc < 0 ? rc : 0;
}

/* ---- sniffing ----------------------------------------------------------------------- */

static bool name_ends(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

/* First non-space byte of head after an optional BOM; 0 when none. */
static unsigned char first_byte(const unsigned char *h, size_t n)
{
    size_t i = n >= 3 && memcmp(h, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    while (i < n && is_space(h[i])) i++;
    return i < n ? h[i] : 0;
}

/* True when head holds at least two complete non-blank lines and all start with '{'. */
static bool lines_of_objects(const unsigned char *h, size_t n)
{
    int good = 0;
    size_t i = 0;
    while (i < n) {
        const unsigned char *nl = memchr(h + i, '\n', n - i);
        if (!nl) break; /* the last line may be cut off: do not judge it */
        size_t end = (size_t)(nl - h), s = i;
        if (good == 0 && s == 0 && end >= 3 && memcmp(h, "\xEF\xBB\xBF", 3) == 0) s = 3;
        while (s < end && is_space(h[s])) s++;
        if (s < end) {
            if (h[s] != '{') return false;
            /* a pretty-printed object opens with a lone '{' */
            size_t t = end;
            while (t > s && is_space(h[t - 1])) t--;
            if (t - s < 2) return false;
            good++;
        }
        i = end + 1;
    }
    return good >= 2;
}

static int sniff_ls_json(const char *path, bool is_dir, const unsigned char *head, size_t n)
{
    if (is_dir) return 0;
    if (name_ends(path, ".jsonl") || name_ends(path, ".ndjson")) return 0;
    unsigned char c = first_byte(head, n);
    bool json_name = name_ends(path, ".json");
    if (c == '[') return json_name ? 90 : 70;
    if (c == '{') {
        if (lines_of_objects(head, n)) return 20;
        /* A single object may be one task, but COCO files are objects too: leave them to the
         * COCO reader, which answers 90 for them. */
        return json_name ? 50 : 30;
    }
    return 0;
}

static int sniff_ls_jsonl(const char *path, bool is_dir, const unsigned char *head, size_t n)
{
    if (is_dir) return 0;
    unsigned char c = first_byte(head, n);
    bool jsonl_name = name_ends(path, ".jsonl") || name_ends(path, ".ndjson");
    if (jsonl_name && (c == '{' || c == 0)) return 95;
    if (c == '{' && lines_of_objects(head, n)) return jsonl_name ? 95 : 85;
    return 0;
}

/* ---- ls-json / ls-jsonl writers ------------------------------------------------------ */

static void put_i64(an_buf *b, int64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) tmp[--i] = '-';
    an_buf_add(b, tmp + i, sizeof tmp - i);
}

static void put_str_or_null(an_buf *b, const char *s)
{
    if (s)
        an_json_write_string(b, s, strlen(s));
    else
        an_buf_add(b, "null", 4);
}

static void put_real_or_null(an_buf *b, double v)
{
    if (isnan(v))
        an_buf_add(b, "null", 4);
    else
        an_json_write_real(b, v);
}

static void put_text(an_buf *b, const char *json, const char *dflt)
{
    an_buf_adds(b, json && *json ? json : dflt);
}

#define ADD_LIT(b, s) an_buf_add((b), s, sizeof s - 1)

/* Appends a task in Label Studio's export shape. */
void an_ls_task_write(an_buf *b, const an_task_row *t)
{
    ADD_LIT(b, "{\"id\":");
    put_i64(b, t->id);
    ADD_LIT(b, ",\"data\":");
    if (t->data && t->data_len)
        an_buf_add(b, t->data, t->data_len);
    else
        put_text(b, t->data, "{}");
    if (t->meta) {
        ADD_LIT(b, ",\"meta\":");
        put_text(b, t->meta, "{}");
    }
    ADD_LIT(b, ",\"annotations\":[");
    for (size_t i = 0; i < t->n_annotations; i++) {
        const an_annotation_row *a = &t->annotations[i];
        if (i) an_buf_addc(b, ',');
        ADD_LIT(b, "{\"id\":");
        put_i64(b, a->id);
        ADD_LIT(b, ",\"completed_by\":");
        if (a->annotator_id > 0)
            put_i64(b, a->annotator_id);
        else
            ADD_LIT(b, "null");
        ADD_LIT(b, ",\"result\":");
        put_text(b, a->result, "[]");
        if (a->cancelled)
            ADD_LIT(b, ",\"was_cancelled\":true");
        else
            ADD_LIT(b, ",\"was_cancelled\":false");
        if (a->ground_truth)
            ADD_LIT(b, ",\"ground_truth\":true");
        else
            ADD_LIT(b, ",\"ground_truth\":false");
        ADD_LIT(b, ",\"created_at\":");
        put_str_or_null(b, a->created_at);
        ADD_LIT(b, ",\"updated_at\":");
        put_str_or_null(b, a->updated_at);
        ADD_LIT(b, ",\"lead_time\":");
        put_real_or_null(b, a->lead_time);
        an_buf_addc(b, '}');
    }
    ADD_LIT(b, "],\"predictions\":[");
    for (size_t i = 0; i < t->n_predictions; i++) {
        const an_prediction_row *p = &t->predictions[i];
        if (i) an_buf_addc(b, ',');
        ADD_LIT(b, "{\"id\":");
        put_i64(b, p->id);
        ADD_LIT(b, ",\"model_version\":");
        put_str_or_null(b, p->model_version ? p->model_version : "");
        ADD_LIT(b, ",\"score\":");
        put_real_or_null(b, p->score);
        ADD_LIT(b, ",\"result\":");
        put_text(b, p->result, "[]");
        ADD_LIT(b, ",\"created_at\":");
        put_str_or_null(b, p->created_at);
        an_buf_addc(b, '}');
    }
    ADD_LIT(b, "],\"created_at\":");
    put_str_or_null(b, t->created_at);
    ADD_LIT(b, ",\"updated_at\":");
    put_str_or_null(b, t->updated_at);
    an_buf_addc(b, '}');
}

/* Writers keep a count of tasks written in ctx->state (no allocation needed). */
static int put_out(an_export_ctx *ctx, const void *p, size_t n, an_err *err)
{
    if (n && fwrite(p, 1, n, ctx->out) != n)
        return an_err_set(err, AN_EIO, "export", "cannot write the export: %s", strerror(errno));
    return 0;
}

static int list_begin(an_export_ctx *ctx, an_err *err)
{
    ctx->state = NULL; /* used as a flag: NULL until the first task is written */
    return 0;
}

static int list_sep(an_export_ctx *ctx)
{
    bool first = ctx->state == NULL;
    ctx->state = (void *)ctx; /* any non-NULL value: a task has been written */
    return first;
}

static int ls_json_task(an_export_ctx *ctx, const an_task_row *row, an_err *err)
{
    an_buf_reset(&ctx->scratch);
    if (list_sep(ctx))
        ADD_LIT(&ctx->scratch, "[\n");
    else
        ADD_LIT(&ctx->scratch, ",\n");
    an_ls_task_write(&ctx->scratch, row);
    return put_out(ctx, ctx->scratch.p, ctx->scratch.len, err);
}

static int list_end(an_export_ctx *ctx, bool failed, an_err *err)
{
    bool any = ctx->state != NULL;
    ctx->state = NULL;
    if (failed) return 0;
    if (any) return put_out(ctx, "\n]\n", 3, err);
    return put_out(ctx, "[]\n", 3, err);
}

static int ls_jsonl_task(an_export_ctx *ctx, const an_task_row *row, an_err *err)
{
    an_buf_reset(&ctx->scratch);
    an_ls_task_write(&ctx->scratch, row);
    an_buf_addc(&ctx->scratch, '\n');
    return put_out(ctx, ctx->scratch.p, ctx->scratch.len, err);
}

static int ls_jsonl_end(an_export_ctx *ctx, bool failed, an_err *err)
{
    ctx->state = NULL;
    return 0;
}

/* ---- json-min ----------------------------------------------------------------------- */

static const an_control *control_named(const an_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_controls; i++)
        if (cfg->controls[i].name && strcmp(cfg->controls[i].name, name) == 0)
            return &cfg->controls[i];
    return NULL;
}

/* Appends the strings of v (a string or a list of strings) to list. */
static void add_strings(json_t *list, json_t *v)
{
    if (json_is_string(v)) {
        json_array_append(list, v);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *s;
        json_array_foreach(v, i, s) if (json_is_string(s)) json_array_append(list, s);
    }
}

/* One string when the list has one, else the list (the reference to list is consumed). */
static json_t *one_or_list(json_t *list)
{
    if (json_array_size(list) == 1) {
        json_t *one = json_incref(json_array_get(list, 0));
        json_decref(list);
        return one;
    }
    return list;
}

/* The JSON_MIN value of one control from its result items. New reference, or NULL. */
static json_t *min_value(const char *type, json_t *items)
{
    size_t i;
    json_t *item;
    if (strcmp(type, "choices") == 0 || strcmp(type, "textarea") == 0) {
        const char *key = type[0] == 'c' ? "choices" : "text";
        json_t *list = json_array();
        json_array_foreach(items, i, item)
            add_strings(list, json_object_get(json_object_get(item, "value"), key));
        return one_or_list(list);
    }
    if (strcmp(type, "rating") == 0 || strcmp(type, "number") == 0) {
        json_t *list = json_array();
        json_array_foreach(items, i, item)
        {
            json_t *v = json_object_get(json_object_get(item, "value"), type);
            if (json_is_number(v)) json_array_append(list, v);
        }
        return one_or_list(list);
    }
    json_t *list = json_array();
    json_array_foreach(items, i, item)
    {
        json_t *v = json_object_get(item, "value");
        if (!json_is_object(v)) continue;
        json_t *copy = json_copy(v); /* shallow: the children stay shared and untouched */
        static const char *const sizes[] = {"original_width", "original_height"};
        for (int k = 0; k < 2; k++) {
            json_t *s = json_object_get(item, sizes[k]);
            if (s) json_object_set(copy, sizes[k], s);
        }
        json_array_append_new(list, copy);
    }
    return list;
}

int an_export_min_values(const an_config *cfg, const char *result_text, const char *where,
                         json_t *out, an_err *err)
{
    json_t *result = an_json_parse(result_text ? result_text : "[]",
                                   result_text ? strlen(result_text) : 2, where, err);
    if (!result) return -AN_EINVAL;
    if (!json_is_array(result)) {
        json_decref(result);
        return an_err_set(err, AN_EINVAL, where, "the stored result is not a list");
    }
    /* Items grouped by control, in the order controls first appear in the result. */
    json_t *groups = json_object();
    size_t i;
    json_t *item;
    json_array_foreach(result, i, item)
    {
        const char *from = an_json_str(item, "from_name");
        if (!from || (cfg && !control_named(cfg, from))) continue;
        json_t *g = json_object_get(groups, from);
        if (!g) {
            g = json_array();
            json_object_set_new(groups, from, g);
        }
        json_array_append(g, item);
    }
    const char *name;
    json_t *g;
    if (cfg) {
        for (size_t c = 0; c < cfg->n_controls; c++) {
            const an_control *ctl = &cfg->controls[c];
            if (!ctl->name || !(g = json_object_get(groups, ctl->name))) continue;
            const char *type = ctl->result_type;
            if (!type) type = an_json_str(json_array_get(g, 0), "type");
            json_t *v = min_value(type ? type : "", g);
            if (v) json_object_set_new(out, ctl->name, v);
        }
    } else {
        json_object_foreach(groups, name, g)
        {
            const char *type = an_json_str(json_array_get(g, 0), "type");
            json_t *v = min_value(type ? type : "", g);
            if (v) json_object_set_new(out, name, v);
        }
    }
    json_decref(groups);
    json_decref(result);
    return 0;
}

static int json_min_task(an_export_ctx *ctx, const an_task_row *row, an_err *err)
{
    char where[64];
    snprintf(where, sizeof where, "task %" PRId64, row->id);
    json_t *data = an_json_parse(row->data ? row->data : "{}", row->data ? row->data_len : 2,
                                 where, err);
    if (!data) return -AN_EINVAL;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(row->id));
    if (json_is_object(data)) {
        const char *key;
        json_t *v;
        json_object_foreach(data, key, v) json_object_set(o, key, v);
    }
    json_decref(data);
    const an_annotation_row *a = an_export_pick_annotation(row);
    if (a) {
        snprintf(where, sizeof where, "task %" PRId64 " annotation %" PRId64, row->id, a->id);
        if (an_export_min_values(ctx->config, a->result, where, o, err) < 0) {
            json_decref(o);
            return -AN_EINVAL;
        }
        json_object_set_new(o, "annotator",
                            a->annotator_id > 0 ? json_integer(a->annotator_id) : json_null());
        json_object_set_new(o, "annotation_id", json_integer(a->id));
        json_object_set_new(o, "created_at",
                            a->created_at ? json_string(a->created_at) : json_null());
        json_object_set_new(o, "updated_at",
                            a->updated_at ? json_string(a->updated_at) : json_null());
        json_object_set_new(o, "lead_time",
                            isnan(a->lead_time) ? json_null() : json_real(a->lead_time));
    }
    an_buf_reset(&ctx->scratch);
    if (list_sep(ctx))
        ADD_LIT(&ctx->scratch, "[\n");
    else
        ADD_LIT(&ctx->scratch, ",\n");
    an_json_write(&ctx->scratch, o);
    json_decref(o);
    return put_out(ctx, ctx->scratch.p, ctx->scratch.len, err);
}

/* ---- definitions -------------------------------------------------------------------- */

const an_format an_format_ls_json = {
    .name = "ls-json",
    .description = "Label Studio JSON: a list of tasks with annotations and predictions",
    .sniff = sniff_ls_json,
    .read = read_ls_json,
    .export_begin = list_begin,
    .export_task = ls_json_task,
    .export_end = list_end,
};

const an_format an_format_ls_jsonl = {
    .name = "ls-jsonl",
    .description = "Label Studio tasks as JSON lines, one task per line",
    .sniff = sniff_ls_jsonl,
    .read = read_ls_jsonl,
    .export_begin = list_begin,
    .export_task = ls_jsonl_task,
    .export_end = ls_jsonl_end,
};

const an_format an_format_json_min = {
    .name = "json-min",
    .description = "Label Studio JSON_MIN export: one flat object per task (export only)",
    .export_begin = list_begin,
    .export_task = json_min_task,
    .export_end = list_end,
};
