/* ls-json, ls-jsonl and json-min (formats/ls_json.c): readers on good and malformed input,
 * streaming of large files, byte-exact writers and write→read→write identity. */
#include <math.h>

#include "testlib.h"

/* Writes text to tl_dir()/name; returns its path (caller frees). */
static char *put(const char *name, const char *text)
{
    return an_xstrdup(tl_write_file(name, text));
}

/* ---- a sink that remembers what it got ---------------------------------------------- */

typedef struct got {
    tl_sink s; /* first, so the shared reject and progress callbacks can take a got */
    bool keep; /* false: only count (big files) */
    size_t n_rec;
    int64_t next_i; /* streaming check: data.i must count up from 0 */
} got;

static int on_record(void *ud, const an_record *rec, an_err *err)
{
    got *g = ud;
    g->n_rec++;
    assert_non_null(rec->data);
    assert_non_null(rec->where);
    if (!g->keep) {
        json_t *i = json_object_get(rec->data, "i");
        assert_true(json_is_integer(i));
        assert_int_equal(json_integer_value(i), g->next_i);
        g->next_i++;
        return 0;
    }
    return tl_on_record(&g->s, rec, err);
}

static void got_init(got *g, bool keep)
{
    memset(g, 0, sizeof *g);
    tl_sink_init(&g->s);
    g->keep = keep;
}

static void got_free(got *g)
{
    tl_sink_free(&g->s);
}

static int read_with(const an_format *f, const char *path, got *g, an_err *err)
{
    an_import_sink sink = {on_record, tl_on_reject, tl_on_progress, g};
    an_err_clear(err);
    return f->read(path, NULL, &sink, err);
}

static const char *rec_where(got *g, size_t i)
{
    return an_json_str(json_array_get(g->s.records, i), "where");
}

static char *rec_data(got *g, size_t i)
{
    return an_json_text(json_object_get(json_array_get(g->s.records, i), "data"));
}

static const char *rej_where(got *g, size_t i)
{
    return an_json_str(json_array_get(g->s.rejects, i), "where");
}

static const char *rej_reason(got *g, size_t i)
{
    return an_json_str(json_array_get(g->s.rejects, i), "reason");
}

static void assert_contains(const char *s, const char *part)
{
    if (!s || !strstr(s, part)) fail_msg("\"%s\" does not contain \"%s\"", s ? s : "(null)", part);
}

static void assert_data(got *g, size_t i, const char *want)
{
    char *t = rec_data(g, i);
    assert_string_equal(t, want);
    free(t);
}

/* ---- ls-json reader ----------------------------------------------------------------- */

static void test_ls_json_good(void **state)
{
    char *p = put("good.json",
                  "\xEF\xBB\xBF[\n"
                  "  {\"id\": 1, \"data\": {\"text\": \"a],[}\\\"{\", \"n\": 12.3},\n"
                  "   \"meta\": {\"src\": \"x\"},\n"
                  "   \"annotations\": [{\"completed_by\": 2, \"result\": [], \"lead_time\": 1.5,"
                  " \"ground_truth\": true, \"created_at\": \"2024-01-01\"}],\n"
                  "   \"predictions\": [{\"model_version\": \"v1\", \"score\": 0.5, \"result\": []}],\n"
                  "   \"created_at\": \"2024-01-02\", \"updated_at\": \"2024-01-03\"},\n"
                  "  {\"text\": \"bare data object\"},\n"
                  "  {\"data\": {\"text\": \"old\"}, \"completions\": [{\"result\": []}]}\n"
                  "]\n");
    got g;
    got_init(&g, true);
    an_err err;
    assert_int_equal(read_with(&an_format_ls_json, p, &g, &err), 0);
    assert_int_equal(json_array_size(g.s.rejects), 0);
    assert_int_equal(json_array_size(g.s.records), 3);
    assert_data(&g, 0, "{\"text\":\"a],[}\\\"{\",\"n\":12.3}");
    assert_data(&g, 1, "{\"text\":\"bare data object\"}");
    assert_data(&g, 2, "{\"text\":\"old\"}");
    json_t *r0 = json_array_get(g.s.records, 0);
    char *all = an_json_text(r0);
    assert_contains(all, "\"meta\":{\"src\":\"x\"}");
    assert_contains(all, "\"completed_by\":2");
    assert_contains(all, "\"lead_time\":1.5");
    assert_contains(all, "\"ground_truth\":true");
    assert_contains(all, "\"model_version\":\"v1\",\"score\":0.5");
    assert_contains(all, "\"created_at\":\"2024-01-02\",\"updated_at\":\"2024-01-03\"");
    free(all);
    assert_null(json_object_get(json_array_get(g.s.records, 1), "annotations"));
    assert_int_equal(
        json_array_size(json_object_get(json_array_get(g.s.records, 2), "annotations")), 1);
    char want[600];
    snprintf(want, sizeof want, "%s:$[0]", p);
    assert_string_equal(rec_where(&g, 0), want);
    snprintf(want, sizeof want, "%s:$[2]", p);
    assert_string_equal(rec_where(&g, 2), want);
    assert_true(g.s.progress_calls >= 1);
    assert_int_equal(g.s.done, g.s.total);
    got_free(&g);
    free(p);
}

static void test_ls_json_malformed(void **state)
{
    char *p = put("bad.json", "[\n"
                              "{\"data\": {\"t\": \"ok1\"}},\n"       /* $[0] line 2 */
                              "{\"data\": 5},\n"                      /* $[1] line 3 */
                              "7,\n"                                  /* $[2] line 4 */
                              "{\"data\": {\"t\":\n  }},\n"           /* $[3] line 5-6 */
                              "{\"data\": {\"t\": \"x\"}, \"annotations\": {}},\n" /* $[4] */
                              "{},\n"                                 /* $[5] */
                              ",\n"                                   /* $[6] empty */
                              "{\"data\": {\"t\": \"ok2\"}}\n"        /* $[7] line 11 */
                              "]\n");
    got g;
    got_init(&g, true);
    an_err err;
    assert_int_equal(read_with(&an_format_ls_json, p, &g, &err), 0);
    assert_int_equal(json_array_size(g.s.records), 2);
    assert_data(&g, 0, "{\"t\":\"ok1\"}");
    assert_data(&g, 1, "{\"t\":\"ok2\"}");
    char want[600];
    snprintf(want, sizeof want, "%s:$[7]", p);
    assert_string_equal(rec_where(&g, 1), want);

    assert_int_equal(json_array_size(g.s.rejects), 5 + 1);
    snprintf(want, sizeof want, "%s:$[1]", p);
    assert_string_equal(rej_where(&g, 0), want);
    assert_contains(rej_reason(&g, 0), "\"data\" is a number, not an object");
    snprintf(want, sizeof want, "%s:$[2]", p);
    assert_string_equal(rej_where(&g, 1), want);
    assert_contains(rej_reason(&g, 1), "the task is a number, not an object");
    snprintf(want, sizeof want, "%s:$[3]", p);
    assert_string_equal(rej_where(&g, 2), want);
    /* Jansson's reason, placed in the file: the '}' on line 6, column 3 */
    assert_contains(rej_reason(&g, 2), "malformed JSON at line 6, column 3");
    assert_contains(rej_reason(&g, 2), "task starting at line 5");
    assert_contains(rej_reason(&g, 3), "\"annotations\" is an object, not a list");
    assert_contains(rej_reason(&g, 4), "empty object");
    snprintf(want, sizeof want, "%s:$[6]", p);
    assert_string_equal(rej_where(&g, 5), want);
    assert_contains(rej_reason(&g, 5), "no task between two commas at line 9");
    got_free(&g);
    free(p);
}

static void test_ls_json_truncated_and_odd(void **state)
{
    got g;
    an_err err;
    /* cut off inside the second task */
    char *p = put("cut.json", "[{\"data\": {\"a\": 1}},\n {\"data\": {\"a\": \"b]}");
    got_init(&g, true);
    assert_int_equal(read_with(&an_format_ls_json, p, &g, &err), 0);
    assert_int_equal(json_array_size(g.s.records), 1);
    assert_int_equal(json_array_size(g.s.rejects), 1);
    assert_contains(rej_reason(&g, 0), "ends inside the task starting at line 2");
    got_free(&g);
    free(p);

    /* a single task object, and several objects one after another */
    p = put("one.json", "{\"data\": {\"a\": 1}}\n");
    got_init(&g, true);
    assert_int_equal(read_with(&an_format_ls_json, p, &g, &err), 0);
    assert_int_equal(json_array_size(g.s.records), 1);
    assert_data(&g, 0, "{\"a\":1}");
    got_free(&g);
    free(p);
    p = put("two.json", "{\"data\": {\"a\": 1}}\n\n{\"b\": [1, {\"c\": 2}]}\n");
    got_init(&g, true);
    assert_int_equal(read_with(&an_format_ls_json, p, &g, &err), 0);
    assert_int_equal(json_array_size(g.s.records), 2);
    assert_data(&g, 1, "{\"b\":[1,{\"c\":2}]}");
    char want[600];
    snprintf(want, sizeof want, "%s:3", p);
    assert_string_equal(rec_where(&g, 1), want);
    got_free(&g);
    free(p);

    /* an empty list, a trailing comma, text after the list */
    p = put("empty.json", "  [ ]  \n");
    got_init(&g, true);
    assert_int_equal(read_with(&an_format_ls_json, p, &g, &err), 0);
    assert_int_equal(json_array_size(g.s.records) + json_array_size(g.s.rejects), 0);
    got_free(&g);
    free(p);
    p = put("trail.json", "[{\"a\": 1},\n]\n]x");
    got_init(&g, true);
    assert_int_equal(read_with(&an_format_ls_json, p, &g, &err), 0);
    assert_int_equal(json_array_size(g.s.records), 1);
    assert_int_equal(json_array_size(g.s.rejects), 2);
    assert_contains(rej_reason(&g, 0), "comma before ']' at line 2");
    assert_contains(rej_reason(&g, 1), "text after the closing ']' at line 3");
    got_free(&g);
    free(p);

    /* not JSON at all, and an empty file: the whole file is refused */
    p = put("text.json", "hello");
    got_init(&g, true);
    assert_int_equal(read_with(&an_format_ls_json, p, &g, &err), -AN_EINVAL);
    assert_string_equal(err.where, p);
    assert_contains(err.msg, "does not start with '[' or '{'");
    got_free(&g);
    free(p);
    p = put("nothing.json", " \n");
    got_init(&g, true);
    assert_int_equal(read_with(&an_format_ls_json, p, &g, &err), -AN_EINVAL);
    assert_contains(err.msg, "is empty");
    got_free(&g);
    free(p);

    got_init(&g, true);
    assert_int_equal(read_with(&an_format_ls_json, "/nonexistent/x.json", &g, &err), -AN_EIO);
    got_free(&g);
}

/* A sink may stop the reader: its error comes back unchanged. */
static int stop_at_second(void *ud, const an_record *rec, an_err *err)
{
    int *n = ud;
    if (++*n == 2) return an_err_set(err, AN_EIO, "store", "disk full");
    return 0;
}

static void test_sink_stops(void **state)
{
    char *p = put("stop.json", "[{\"a\":1},{\"a\":2},{\"a\":3}]");
    int n = 0;
    an_import_sink sink = {stop_at_second, NULL, NULL, &n};
    an_err err;
    assert_int_equal(an_format_ls_json.read(p, NULL, &sink, &err), -AN_EIO);
    assert_string_equal(err.msg, "disk full");
    assert_int_equal(n, 2);
    free(p);
}

/* Elements bigger than a read buffer, with nested brackets inside strings. */
static void test_ls_json_big_elements(void **state)
{
    an_buf b = AN_BUF_INIT;
    an_buf_adds(&b, "[");
    for (int k = 0; k < 3; k++) {
        if (k) an_buf_adds(&b, ",\n");
        an_buf_adds(&b, "{\"data\":{\"s\":\"");
        for (int i = 0; i < 50000; i++) an_buf_adds(&b, "[{\\\"");
        an_buf_addf(&b, "\",\"k\":%d}}", k);
    }
    an_buf_adds(&b, "]");
    char *p = put("big.json", b.p);
    got g;
    got_init(&g, true);
    an_err err;
    assert_int_equal(read_with(&an_format_ls_json, p, &g, &err), 0);
    assert_int_equal(json_array_size(g.s.rejects), 0);
    assert_int_equal(json_array_size(g.s.records), 3);
    json_t *d = json_object_get(json_array_get(g.s.records, 2), "data");
    assert_int_equal(json_integer_value(json_object_get(d, "k")), 2);
    assert_int_equal(strlen(an_json_str(d, "s")), 50000 * 3);
    got_free(&g);
    an_buf_free(&b);
    free(p);
}

/* ---- ls-jsonl reader ---------------------------------------------------------------- */

static void test_ls_jsonl(void **state)
{
    char *p = put("t.jsonl", "\xEF\xBB\xBF{\"data\": {\"t\": \"one\"}}\n"
                             "\n"
                             "   \r\n"
                             "{\"t\": \"two\", \"x\": [1, 2]}\r\n"
                             "{\"data\": {\"t\": }\n"
                             "[1, 2]\n"
                             "{\"data\": [\"t\"]}\n"
                             "{\"data\": {\"t\": \"last\"}}");
    got g;
    got_init(&g, true);
    an_err err;
    assert_int_equal(read_with(&an_format_ls_jsonl, p, &g, &err), 0);
    assert_int_equal(json_array_size(g.s.records), 3);
    assert_data(&g, 0, "{\"t\":\"one\"}");
    assert_data(&g, 1, "{\"t\":\"two\",\"x\":[1,2]}");
    assert_data(&g, 2, "{\"t\":\"last\"}");
    char want[600];
    snprintf(want, sizeof want, "%s:1", p);
    assert_string_equal(rec_where(&g, 0), want);
    snprintf(want, sizeof want, "%s:4", p);
    assert_string_equal(rec_where(&g, 1), want);
    snprintf(want, sizeof want, "%s:8", p);
    assert_string_equal(rec_where(&g, 2), want);
    assert_int_equal(json_array_size(g.s.rejects), 3);
    snprintf(want, sizeof want, "%s:5", p);
    assert_string_equal(rej_where(&g, 0), want);
    assert_contains(rej_reason(&g, 0), "malformed JSON at line 5, column");
    snprintf(want, sizeof want, "%s:6", p);
    assert_string_equal(rej_where(&g, 1), want);
    assert_contains(rej_reason(&g, 1), "the task is a list, not an object");
    assert_contains(rej_reason(&g, 2), "\"data\" is a list, not an object");
    got_free(&g);
    free(p);
}

static void test_ls_jsonl_streams_200k(void **state)
{
    char path[512];
    snprintf(path, sizeof path, "%s/big.jsonl", tl_dir());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    const int n = 200000;
    for (int i = 0; i < n; i++)
        fprintf(f, "{\"data\":{\"i\":%d,\"text\":\"row %d 你好\"},\"annotations\":[]}\n", i, i);
    fclose(f);
    got g;
    got_init(&g, false);
    an_err err;
    assert_int_equal(read_with(&an_format_ls_jsonl, path, &g, &err), 0);
    assert_int_equal(g.n_rec, (size_t)n);
    assert_int_equal(g.next_i, n);
    assert_int_equal(json_array_size(g.s.rejects), 0);
    /* the file is ~14 MB: progress came several times and ended at the file size */
    assert_true(g.s.progress_calls >= 5);
    assert_true(g.s.total > 10000000);
    assert_int_equal(g.s.done, g.s.total);
    got_free(&g);
}

/* A line over the 64 MiB limit is rejected with a clear reason and reading goes on. */
static void test_ls_jsonl_line_limit(void **state)
{
    char path[512];
    snprintf(path, sizeof path, "%s/long.jsonl", tl_dir());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("{\"data\":{\"i\":0}}\n{\"data\":{\"s\":\"", f);
    char chunk[1 << 16];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 1025; i++) fwrite(chunk, 1, sizeof chunk, f);
    fputs("\"}}\n{\"data\":{\"i\":1}}\n", f);
    fclose(f);
    got g;
    got_init(&g, false);
    an_err err;
    assert_int_equal(read_with(&an_format_ls_jsonl, path, &g, &err), 0);
    assert_int_equal(g.n_rec, 2);
    assert_int_equal(json_array_size(g.s.rejects), 1);
    assert_contains(rej_reason(&g, 0), "line 2 is longer than 64 MiB");
    got_free(&g);
}

/* ---- sniffing ----------------------------------------------------------------------- */

static int sniff(const an_format *f, const char *name, const char *head)
{
    return f->sniff(name, false, (const unsigned char *)head, strlen(head));
}

static void test_sniff(void **state)
{
    const char *arr = "[\n {\"data\": {\"text\": \"x\"}}";
    assert_int_equal(sniff(&an_format_ls_json, "a.json", arr), 90);
    assert_int_equal(sniff(&an_format_ls_jsonl, "a.json", arr), 0);
    const char *lines = "{\"data\": {\"t\": 1}}\n{\"data\": {\"t\": 2}}\n{\"data\": {\"t\"";
    assert_true(sniff(&an_format_ls_jsonl, "a.txt", lines) > sniff(&an_format_ls_json, "a.txt", lines));
    assert_true(sniff(&an_format_ls_jsonl, "a.json", lines) > sniff(&an_format_ls_json, "a.json", lines));
    assert_int_equal(sniff(&an_format_ls_jsonl, "a.jsonl", "{\"a\":1}"), 95);
    assert_int_equal(sniff(&an_format_ls_json, "a.ndjson", "{\"a\":1}\n"), 0);
    /* a COCO file is an object: ls-json must stay well below COCO's 90 */
    const char *coco = "{\n  \"images\": [{\"id\": 1}],\n  \"annotations\": [],\n";
    int s = sniff(&an_format_ls_json, "instances.json", coco);
    assert_true(s > 0 && s < 90);
    assert_int_equal(sniff(&an_format_ls_jsonl, "instances.json", coco), 0);
    assert_int_equal(sniff(&an_format_ls_json, "a.csv", "a,b\n1,2\n"), 0);
    assert_int_equal(an_format_ls_json.sniff("dir", true, NULL, 0), 0);
}

/* ---- writers ------------------------------------------------------------------------ */

static char *export_rows(const an_format *f, const an_config *cfg, const an_task_row *rows,
                         size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    an_export_ctx ctx = {.config = cfg, .out = out};
    an_buf_init(&ctx.scratch);
    an_err err;
    assert_int_equal(f->export_begin(&ctx, &err), 0);
    for (size_t i = 0; i < n; i++) assert_int_equal(f->export_task(&ctx, &rows[i], &err), 0);
    assert_int_equal(f->export_end(&ctx, false, &err), 0);
    fclose(out);
    an_buf_free(&ctx.scratch);
    return buf;
}

static const an_annotation_row ann1 = {.id = 3,
                                       .annotator_id = 2,
                                       .result = "[]",
                                       .lead_time = 12.5,
                                       .ground_truth = true,
                                       .created_at = "2024-01-01T00:00:00Z",
                                       .updated_at = "2024-01-01T00:00:01Z"};
static const an_prediction_row pred1 = {
    .id = 4, .model_version = "m1", .score = NAN, .result = "[]", .created_at = "2024-01-02"};

static void test_writer_exact(void **state)
{
    an_task_row rows[2] = {{.id = 7,
                            .data = "{\"text\":\"hi\"}",
                            .data_len = 13,
                            .created_at = "2024-01-01",
                            .updated_at = "2024-01-03",
                            .annotations = &ann1,
                            .n_annotations = 1,
                            .predictions = &pred1,
                            .n_predictions = 1},
                           {.id = 8,
                            .data = "{\"text\":\"yo\"}",
                            .data_len = 13,
                            .meta = "{\"k\":1}",
                            .created_at = "2024-01-04",
                            .updated_at = "2024-01-04"}};
    const char *task7 =
        "{\"id\":7,\"data\":{\"text\":\"hi\"},\"annotations\":[{\"id\":3,\"completed_by\":2,"
        "\"result\":[],\"was_cancelled\":false,\"ground_truth\":true,\"created_at\":"
        "\"2024-01-01T00:00:00Z\",\"updated_at\":\"2024-01-01T00:00:01Z\",\"lead_time\":12.5}],"
        "\"predictions\":[{\"id\":4,\"model_version\":\"m1\",\"score\":null,\"result\":[],"
        "\"created_at\":\"2024-01-02\"}],\"created_at\":\"2024-01-01\",\"updated_at\":"
        "\"2024-01-03\"}";
    const char *task8 = "{\"id\":8,\"data\":{\"text\":\"yo\"},\"meta\":{\"k\":1},\"annotations\":[],"
                        "\"predictions\":[],\"created_at\":\"2024-01-04\",\"updated_at\":"
                        "\"2024-01-04\"}";
    char want[2048];
    snprintf(want, sizeof want, "[\n%s,\n%s\n]\n", task7, task8);
    char *got_text = export_rows(&an_format_ls_json, NULL, rows, 2);
    assert_string_equal(got_text, want);
    free(got_text);
    snprintf(want, sizeof want, "%s\n%s\n", task7, task8);
    got_text = export_rows(&an_format_ls_jsonl, NULL, rows, 2);
    assert_string_equal(got_text, want);
    free(got_text);
    got_text = export_rows(&an_format_ls_json, NULL, rows, 0);
    assert_string_equal(got_text, "[]\n");
    free(got_text);
    got_text = export_rows(&an_format_ls_jsonl, NULL, rows, 0);
    assert_string_equal(got_text, "");
    free(got_text);
}

/* Rows built from read records the way the import engine stores them (ids come from the
 * file here, standing in for the store's). All strings live in pool. */
typedef struct rowset {
    an_task_row *rows;
    size_t n;
    json_t *pool; /* keeps every string alive */
} rowset;

static const char *pooled(rowset *rs, char *s)
{
    json_array_append_new(rs->pool, json_string(s));
    free(s);
    return json_string_value(json_array_get(rs->pool, json_array_size(rs->pool) - 1));
}

static const char *pooled_str(rowset *rs, const char *s)
{
    return s ? pooled(rs, strdup(s)) : NULL;
}

static double num_or_nan(const json_t *o, const char *k)
{
    double v;
    return an_json_number(json_object_get(o, k), &v) ? v : NAN;
}

static void rows_from(rowset *rs, json_t *recs)
{
    rs->n = json_array_size(recs);
    rs->rows = calloc(rs->n, sizeof *rs->rows);
    rs->pool = json_array();
    for (size_t i = 0; i < rs->n; i++) {
        json_t *r = json_array_get(recs, i);
        an_task_row *t = &rs->rows[i];
        t->id = (int64_t)i + 1;
        t->data = pooled(rs, an_json_text(json_object_get(r, "data")));
        t->data_len = strlen(t->data);
        json_t *meta = json_object_get(r, "meta");
        t->meta = meta && json_object_size(meta) ? pooled(rs, an_json_text(meta)) : NULL;
        t->created_at = pooled_str(rs, an_json_str(r, "created_at"));
        t->updated_at = pooled_str(rs, an_json_str(r, "updated_at"));
        json_t *anns = json_object_get(r, "annotations");
        t->n_annotations = json_array_size(anns);
        an_annotation_row *a = calloc(t->n_annotations + 1, sizeof *a);
        for (size_t k = 0; k < t->n_annotations; k++) {
            json_t *o = json_array_get(anns, k);
            a[k].id = json_integer_value(json_object_get(o, "id"));
            a[k].annotator_id = json_integer_value(json_object_get(o, "completed_by"));
            a[k].result = pooled(rs, an_json_text(json_object_get(o, "result")));
            a[k].lead_time = num_or_nan(o, "lead_time");
            a[k].ground_truth = json_is_true(json_object_get(o, "ground_truth"));
            a[k].cancelled = json_is_true(json_object_get(o, "was_cancelled"));
            a[k].created_at = pooled_str(rs, an_json_str(o, "created_at"));
            a[k].updated_at = pooled_str(rs, an_json_str(o, "updated_at"));
        }
        t->annotations = a;
        json_t *preds = json_object_get(r, "predictions");
        t->n_predictions = json_array_size(preds);
        an_prediction_row *p = calloc(t->n_predictions + 1, sizeof *p);
        for (size_t k = 0; k < t->n_predictions; k++) {
            json_t *o = json_array_get(preds, k);
            p[k].id = json_integer_value(json_object_get(o, "id"));
            const char *mv = an_json_str(o, "model_version");
            p[k].model_version = pooled_str(rs, mv ? mv : "");
            p[k].score = num_or_nan(o, "score");
            p[k].result = pooled(rs, an_json_text(json_object_get(o, "result")));
            p[k].created_at = pooled_str(rs, an_json_str(o, "created_at"));
        }
        t->predictions = p;
    }
}

static void rows_free(rowset *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free((void *)rs->rows[i].annotations);
        free((void *)rs->rows[i].predictions);
    }
    free(rs->rows);
    json_decref(rs->pool);
}

static const char *source_tasks =
    "[{\"data\": {\"text\": \"你好，世界 😀 \\\"q\\\"\\n\\u0001\", \"price\": 12.3, \"third\": "
    "0.3333333333333333, \"tiny\": 1e-7, \"big\": 1e300, \"n\": 42, \"neg\": -0.0,"
    " \"nested\": {\"list\": [true, false, null, 1.0]}},"
    " \"meta\": {\"source\": \"数据.txt\"},"
    " \"annotations\": [{\"id\": 11, \"completed_by\": 5, \"result\": [{\"id\": \"r1\", "
    "\"from_name\": \"label\", \"to_name\": \"text\", \"type\": \"labels\", \"value\": {\"start\": 0,"
    " \"end\": 2, \"text\": \"你好\", \"labels\": [\"GREET\"]}}], \"was_cancelled\": false,"
    " \"ground_truth\": false, \"created_at\": \"2024-05-01T10:00:00.123456Z\", \"updated_at\":"
    " \"2024-05-01T10:00:05Z\", \"lead_time\": 0.3333333333333333},"
    " {\"id\": 12, \"completed_by\": null, \"result\": [], \"was_cancelled\": true, "
    "\"ground_truth\": true, \"created_at\": \"2024-05-02\", \"updated_at\": \"2024-05-02\", "
    "\"lead_time\": null}],"
    " \"predictions\": [{\"id\": 21, \"model_version\": \"模型-v2 🚀\", \"score\": 12.3, "
    "\"result\": [], \"created_at\": \"2024-04-30\"}],"
    " \"created_at\": \"2024-04-01\", \"updated_at\": \"2024-04-02\"},"
    " {\"emoji\": \"👩‍👩‍👧‍👦\", \"n\": 3.0}]";

static char *read_and_write(const an_format *rf, const an_format *wf, const char *name,
                            const char *text)
{
    char *p = put(name, text);
    got g;
    got_init(&g, true);
    an_err err;
    assert_int_equal(read_with(rf, p, &g, &err), 0);
    if (json_array_size(g.s.rejects)) fail_msg("rejected: %s", rej_reason(&g, 0));
    rowset rs;
    rows_from(&rs, g.s.records);
    char *out = export_rows(wf, NULL, rs.rows, rs.n);
    rows_free(&rs);
    got_free(&g);
    free(p);
    return out;
}

static void test_round_trip(void **state)
{
    const an_format *fs[2] = {&an_format_ls_json, &an_format_ls_jsonl};
    for (int k = 0; k < 2; k++) {
        char *first = read_and_write(&an_format_ls_json, fs[k], "src.json", source_tasks);
        char *second = read_and_write(fs[k], fs[k], k ? "rt.jsonl" : "rt.json", first);
        assert_string_equal(first, second);
        char *third = read_and_write(fs[k], fs[k], k ? "rt3.jsonl" : "rt3.json", second);
        assert_string_equal(second, third);
        /* the values survive exactly, not merely stably */
        assert_contains(first, "\"price\":12.3,\"third\":0.3333333333333333,\"tiny\":1e-07");
        assert_contains(first, "\"big\":1e+300,\"n\":42,\"neg\":-0.0");
        assert_contains(first, "你好，世界 😀 \\\"q\\\"\\n\\u0001");
        assert_contains(first, "\"lead_time\":0.3333333333333333}");
        assert_contains(first, "\"completed_by\":null");
        assert_contains(first, "\"was_cancelled\":true,\"ground_truth\":true");
        assert_contains(first, "\"model_version\":\"模型-v2 🚀\",\"score\":12.3");
        assert_contains(first, "\"meta\":{\"source\":\"数据.txt\"}");
        assert_contains(first, "{\"emoji\":\"👩‍👩‍👧‍👦\",\"n\":3.0}");
        assert_contains(first, "\"created_at\":\"2024-05-01T10:00:00.123456Z\"");
        free(first);
        free(second);
        free(third);
    }
}

/* ---- json-min ----------------------------------------------------------------------- */

static void test_json_min(void **state)
{
    an_object objs[1] = {{.tag = AN_TAG_TEXT, .name = "text", .value = "$text", .data_key = "text"}};
    char *to[1] = {"text"};
    an_control ctls[5] = {
        {.tag = AN_TAG_CHOICES, .name = "sentiment", .to_names = to, .n_to = 1,
         .result_type = "choices"},
        {.tag = AN_TAG_LABELS, .name = "ner", .to_names = to, .n_to = 1, .result_type = "labels"},
        {.tag = AN_TAG_TEXTAREA, .name = "summary", .to_names = to, .n_to = 1,
         .result_type = "textarea"},
        {.tag = AN_TAG_RATING, .name = "stars", .to_names = to, .n_to = 1, .result_type = "rating"},
        {.tag = AN_TAG_CHOICES, .name = "topics", .to_names = to, .n_to = 1,
         .result_type = "choices"},
    };
    an_config cfg = {.objects = objs, .n_objects = 1, .controls = ctls, .n_controls = 5};
    const char *result =
        "[{\"id\":\"a\",\"from_name\":\"ner\",\"to_name\":\"text\",\"type\":\"labels\",\"value\":"
        "{\"start\":0,\"end\":2,\"text\":\"hi\",\"labels\":[\"GREET\"]}},"
        "{\"from_name\":\"sentiment\",\"to_name\":\"text\",\"type\":\"choices\",\"value\":"
        "{\"choices\":[\"pos\"]}},"
        "{\"from_name\":\"summary\",\"to_name\":\"text\",\"type\":\"textarea\",\"value\":"
        "{\"text\":[\"short\"]}},"
        "{\"from_name\":\"stars\",\"to_name\":\"text\",\"type\":\"rating\",\"value\":{\"rating\":4}},"
        "{\"from_name\":\"topics\",\"to_name\":\"text\",\"type\":\"choices\",\"value\":"
        "{\"choices\":[\"a\",\"b\"]}},"
        "{\"from_name\":\"gone\",\"to_name\":\"text\",\"type\":\"choices\",\"value\":"
        "{\"choices\":[\"x\"]}},"
        "{\"id\":\"rel\",\"type\":\"relation\",\"from_id\":\"a\",\"to_id\":\"a\"}]";
    an_annotation_row anns[2] = {
        {.id = 3, .annotator_id = 2, .result = result, .lead_time = 12.5,
         .created_at = "2024-01-01", .updated_at = "2024-01-02"},
        {.id = 4, .annotator_id = 9, .result = "[]", .lead_time = NAN, .cancelled = true,
         .created_at = "2024-02-01", .updated_at = "2024-02-01"},
    };
    an_task_row rows[2] = {
        {.id = 7, .data = "{\"text\":\"hi\",\"id\":\"orig\"}", .data_len = 25,
         .annotations = anns, .n_annotations = 2},
        {.id = 8, .data = "{\"text\":\"x\"}", .data_len = 12, .annotations = anns + 1,
         .n_annotations = 1},
    };
    char *out = export_rows(&an_format_json_min, &cfg, rows, 2);
    assert_string_equal(
        out, "[\n{\"id\":\"orig\",\"text\":\"hi\",\"sentiment\":\"pos\",\"ner\":[{\"start\":0,"
             "\"end\":2,\"text\":\"hi\",\"labels\":[\"GREET\"]}],\"summary\":\"short\",\"stars\":4,"
             "\"topics\":[\"a\",\"b\"],\"annotator\":2,\"annotation_id\":3,\"created_at\":"
             "\"2024-01-01\",\"updated_at\":\"2024-01-02\",\"lead_time\":12.5},\n"
             "{\"id\":8,\"text\":\"x\"}\n]\n");
    free(out);
    out = export_rows(&an_format_json_min, &cfg, rows, 0);
    assert_string_equal(out, "[]\n");
    free(out);
    assert_null(an_format_json_min.read);

    /* without a config every from_name counts, in result order */
    json_t *o = json_object();
    an_err err;
    assert_int_equal(an_export_min_values(NULL, result, "r", o, &err), 0);
    char *t = an_json_text(o);
    assert_string_equal(t, "{\"ner\":[{\"start\":0,\"end\":2,\"text\":\"hi\",\"labels\":[\"GREET\"]}],"
                           "\"sentiment\":\"pos\",\"summary\":\"short\",\"stars\":4,\"topics\":"
                           "[\"a\",\"b\"],\"gone\":\"x\"}");
    free(t);
    /* region values carry the image size like Label Studio's */
    json_object_clear(o);
    assert_int_equal(an_export_min_values(NULL,
                                          "[{\"from_name\":\"box\",\"type\":\"rectanglelabels\","
                                          "\"original_width\":640,\"original_height\":480,"
                                          "\"value\":{\"x\":1.5,\"y\":2,\"width\":3,\"height\":4,"
                                          "\"rectanglelabels\":[\"cat\"]}}]",
                                          "r", o, &err),
                     0);
    t = an_json_text(o);
    assert_string_equal(t, "{\"box\":[{\"x\":1.5,\"y\":2,\"width\":3,\"height\":4,"
                           "\"rectanglelabels\":[\"cat\"],\"original_width\":640,"
                           "\"original_height\":480}]}");
    free(t);
    assert_int_equal(an_export_min_values(NULL, "{\"a\":1}", "task 1", o, &err), -AN_EINVAL);
    assert_string_equal(err.where, "task 1");
    assert_int_equal(an_export_min_values(NULL, "[", "task 2", o, &err), -AN_EINVAL);
    assert_contains(err.where, "task 2");
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ls_json_good),
        cmocka_unit_test(test_ls_json_malformed),
        cmocka_unit_test(test_ls_json_truncated_and_odd),
        cmocka_unit_test(test_sink_stops),
        cmocka_unit_test(test_ls_json_big_elements),
        cmocka_unit_test(test_ls_jsonl),
        cmocka_unit_test(test_ls_jsonl_streams_200k),
        cmocka_unit_test(test_ls_jsonl_line_limit),
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_writer_exact),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_json_min),
    };
    return cmocka_run_group_tests(tests, tl_setup, tl_teardown);
}
