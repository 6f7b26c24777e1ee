/* CSV and TSV (formats/csv.c): RFC 4180 reading with places for bad rows, literal TSV,
 * Label Studio-shaped export and a quoting round trip. */
#include <math.h>

#include "testlib.h"

/* The shared sink, plus a check that CSV rows never carry annotations. */
static int on_record(void *ud, const an_record *rec, an_err *err)
{
    assert_null(rec->annotations);
    return tl_on_record(ud, rec, err);
}

static int read_with(const an_format *f, const char *path, tl_sink *g, an_err *err)
{
    tl_sink_init(g);
    an_import_sink sink = {on_record, tl_on_reject, NULL, g};
    an_err_clear(err);
    return f->read(path, NULL, &sink, err);
}

static void assert_data(tl_sink *g, size_t i, const char *want)
{
    char *t = an_json_text(json_object_get(json_array_get(g->records, i), "data"));
    assert_string_equal(t, want);
    free(t);
}

static void assert_where(json_t *list, size_t i, const char *path, int line)
{
    char want[600];
    snprintf(want, sizeof want, "%s:%d", path, line);
    assert_string_equal(an_json_str(json_array_get(list, i), "where"), want);
}

static void assert_reason(tl_sink *g, size_t i, const char *part)
{
    const char *r = an_json_str(json_array_get(g->rejects, i), "reason");
    if (!r || !strstr(r, part)) fail_msg("reason \"%s\" lacks \"%s\"", r ? r : "(none)", part);
}

/* ---- reading ------------------------------------------------------------------------ */

static void test_csv_read(void **state)
{
    const char *p = tl_write_file("a.csv", "\xEF\xBB\xBF"
                                           "text,label,n\r\n"
                                           "plain,pos,1\r\n"
                                           "\"with, comma\",\"say \"\"hi\"\"\",\"\"\r\n"
                                           "\"two\nlines\",neg,  3  \n"
                                           "\n"
                                           "你好 😀,\"\",007\n"
                                           "last,x,y"); /* no line break at the end */
    tl_sink g;
    an_err err;
    assert_int_equal(read_with(&an_format_csv, p, &g, &err), 0);
    assert_int_equal(json_array_size(g.rejects), 0);
    assert_int_equal(json_array_size(g.records), 5);
    assert_data(&g, 0, "{\"text\":\"plain\",\"label\":\"pos\",\"n\":\"1\"}");
    assert_data(&g, 1, "{\"text\":\"with, comma\",\"label\":\"say \\\"hi\\\"\",\"n\":\"\"}");
    assert_data(&g, 2, "{\"text\":\"two\\nlines\",\"label\":\"neg\",\"n\":\"  3  \"}");
    assert_data(&g, 3, "{\"text\":\"你好 😀\",\"label\":\"\",\"n\":\"007\"}");
    assert_data(&g, 4, "{\"text\":\"last\",\"label\":\"x\",\"n\":\"y\"}");
    assert_where(g.records, 0, p, 2);
    assert_where(g.records, 2, p, 4);
    assert_where(g.records, 3, p, 7); /* after a two-line row and a blank line */
    assert_where(g.records, 4, p, 8);
    tl_sink_free(&g);
}

static void test_csv_bad_rows(void **state)
{
    const char *p = tl_write_file("bad.csv", "a,b\n"
                                             "1,2\n"
                                             "1,2,3\n"
                                             "only\n"
                                             "\"x\"y,2\n"
                                             "ok,\"fine\"\n"
                                             "\xFF\xFE,2\n"
                                             "5,\"never closed\n"
                                             "6,7\n");
    tl_sink g;
    an_err err;
    assert_int_equal(read_with(&an_format_csv, p, &g, &err), 0);
    assert_int_equal(json_array_size(g.records), 2);
    assert_data(&g, 1, "{\"a\":\"ok\",\"b\":\"fine\"}");
    assert_int_equal(json_array_size(g.rejects), 5);
    assert_where(g.rejects, 0, p, 3);
    assert_reason(&g, 0, "the row has 3 fields but the header has 2");
    assert_where(g.rejects, 1, p, 4);
    assert_reason(&g, 1, "the row has 1 field but the header has 2");
    assert_where(g.rejects, 2, p, 5);
    assert_reason(&g, 2, "followed by 'y'");
    assert_where(g.rejects, 3, p, 7);
    assert_reason(&g, 3, "column \"a\" is not valid UTF-8");
    /* the open quote swallows the rest of the file: reported at the line it opened */
    assert_where(g.rejects, 4, p, 8);
    assert_reason(&g, 4, "quoted field starting at line 8 is never closed");
    tl_sink_free(&g);
}

static void test_csv_bad_header(void **state)
{
    tl_sink g;
    an_err err;
    const char *p = tl_write_file("dup.csv", "a,b,a\n1,2,3\n");
    assert_int_equal(read_with(&an_format_csv, p, &g, &err), -AN_EINVAL);
    assert_true(strstr(err.msg, "both named \"a\"") != NULL);
    char want[600];
    snprintf(want, sizeof want, "%s:1", p);
    assert_string_equal(err.where, want);
    tl_sink_free(&g);
    p = tl_write_file("noname.csv", "a,,c\n");
    assert_int_equal(read_with(&an_format_csv, p, &g, &err), -AN_EINVAL);
    assert_true(strstr(err.msg, "column 2 of the header has no name") != NULL);
    tl_sink_free(&g);
    p = tl_write_file("empty.csv", "");
    assert_int_equal(read_with(&an_format_csv, p, &g, &err), -AN_EINVAL);
    assert_true(strstr(err.msg, "no header row") != NULL);
    tl_sink_free(&g);
    /* a header alone is a file with no tasks, not an error */
    p = tl_write_file("head.csv", "a,b\n");
    assert_int_equal(read_with(&an_format_csv, p, &g, &err), 0);
    assert_int_equal(json_array_size(g.records), 0);
    tl_sink_free(&g);
}

static void test_tsv_read(void **state)
{
    const char *p = tl_write_file("a.tsv", "text\tnote\n"
                                           "\"quoted\" stays\ta,b\n"
                                           "x\ty\tz\n"
                                           "e\t\r\n");
    tl_sink g;
    an_err err;
    assert_int_equal(read_with(&an_format_tsv, p, &g, &err), 0);
    assert_int_equal(json_array_size(g.records), 2);
    assert_data(&g, 0, "{\"text\":\"\\\"quoted\\\" stays\",\"note\":\"a,b\"}");
    assert_data(&g, 1, "{\"text\":\"e\",\"note\":\"\"}");
    assert_int_equal(json_array_size(g.rejects), 1);
    assert_where(g.rejects, 0, p, 3);
    assert_reason(&g, 0, "3 fields but the header has 2");
    tl_sink_free(&g);
}

/* ---- sniffing ----------------------------------------------------------------------- */

static int sniff(const an_format *f, const char *name, const char *head)
{
    return f->sniff(name, false, (const unsigned char *)head, strlen(head));
}

static void test_sniff(void **state)
{
    assert_int_equal(sniff(&an_format_csv, "x.csv", "a,b\n"), 80);
    assert_int_equal(sniff(&an_format_tsv, "x.csv", "a,b\n"), 0);
    assert_int_equal(sniff(&an_format_tsv, "x.tsv", "a\tb\n"), 80);
    assert_int_equal(sniff(&an_format_csv, "x.txt", "text,label\nhi,pos\n"), 30);
    assert_int_equal(sniff(&an_format_tsv, "x.txt", "text,label\nhi,pos\n"), 0);
    assert_int_equal(sniff(&an_format_tsv, "x.txt", "text\tlabel\n"), 30);
    assert_int_equal(sniff(&an_format_csv, "x.txt", "text\tlabel\n"), 0);
    /* JSON has commas too, but is not a table */
    assert_int_equal(sniff(&an_format_csv, "x.txt", "[{\"a\": 1, \"b\": 2}]"), 0);
    assert_int_equal(sniff(&an_format_csv, "x.txt", "{\"a\": 1, \"b\": 2}\n"), 0);
    assert_int_equal(sniff(&an_format_csv, "x.txt", "no separators here\n"), 0);
    assert_int_equal(an_format_csv.sniff("dir", true, NULL, 0), 0);
}

/* ---- writing ------------------------------------------------------------------------ */

static char *export_rows(const an_format *f, const an_config *cfg, const an_task_row *rows,
                         size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    an_export_ctx ctx = {.config = cfg, .out = out};
    an_buf_init(&ctx.scratch);
    an_err err;
    assert_int_equal(f->export_begin(&ctx, &err), 0);
    for (size_t i = 0; i < n; i++) {
        int rc = f->export_task(&ctx, &rows[i], &err);
        if (rc) fail_msg("export_task: %s", err.msg);
    }
    assert_int_equal(f->export_end(&ctx, false, &err), 0);
    fclose(out);
    an_buf_free(&ctx.scratch);
    return buf;
}

static char *to[1] = {"text"};
static an_object objs[2] = {
    {.tag = AN_TAG_TEXT, .name = "text", .value = "$text", .data_key = "text"},
    {.tag = AN_TAG_HEADER, .name = "title", .value = "$title", .data_key = "title"},
};
static an_control ctls[4] = {
    {.tag = AN_TAG_CHOICES, .name = "sentiment", .to_names = to, .n_to = 1,
     .result_type = "choices"},
    {.tag = AN_TAG_LABELS, .name = "ner", .to_names = to, .n_to = 1, .result_type = "labels"},
    {.tag = AN_TAG_RATING, .name = "stars", .to_names = to, .n_to = 1, .result_type = "rating"},
    {.tag = AN_TAG_RELATIONS, .name = "rels", .to_names = to, .n_to = 1,
     .result_type = "relation"},
};

static void test_csv_write(void **state)
{
    an_config cfg = {.objects = objs, .n_objects = 2, .controls = ctls, .n_controls = 4};
    an_annotation_row anns[3] = {
        {.id = 5, .annotator_id = 2, .lead_time = 7.25,
         .result = "[{\"from_name\":\"sentiment\",\"type\":\"choices\",\"value\":{\"choices\":"
                   "[\"pos\"]}},{\"from_name\":\"ner\",\"type\":\"labels\",\"value\":{\"start\":"
                   "0,\"end\":2,\"text\":\"hi\",\"labels\":[\"GREET\"]}},{\"from_name\":\"stars\","
                   "\"type\":\"rating\",\"value\":{\"rating\":4}}]"},
        {.id = 6, .annotator_id = 0, .lead_time = NAN,
         .result = "[{\"from_name\":\"sentiment\",\"type\":\"choices\",\"value\":{\"choices\":"
                   "[\"a\",\"b\"]}}]"},
        {.id = 7, .annotator_id = 3, .lead_time = 1, .cancelled = true, .result = "[]"},
    };
    const char *d1 = "{\"text\":\"hi, \\\"you\\\"\\nthere\",\"title\":\"T\",\"extra\":1}";
    const char *d2 = "{\"text\":\"plain\",\"title\":{\"x\":[1,2.5]}}";
    an_task_row rows[3] = {
        {.id = 1, .data = d1, .data_len = strlen(d1), .annotations = anns, .n_annotations = 1},
        {.id = 2, .data = d2, .data_len = strlen(d2), .annotations = anns + 1, .n_annotations = 1},
        {.id = 3, .data = "{}", .data_len = 2, .annotations = anns + 2, .n_annotations = 1},
    };
    char *out = export_rows(&an_format_csv, &cfg, rows, 3);
    assert_string_equal(out,
                        "id,text,title,sentiment,ner,stars,annotation_id,annotator,lead_time\n"
                        "1,\"hi, \"\"you\"\"\nthere\",T,pos,\"[{\"\"start\"\":0,\"\"end\"\":2,"
                        "\"\"text\"\":\"\"hi\"\",\"\"labels\"\":[\"\"GREET\"\"]}]\",4,5,2,7.25\n"
                        "2,plain,\"{\"\"x\"\":[1,2.5]}\",\"[\"\"a\"\",\"\"b\"\"]\",,,6,,\n"
                        "3,,,,,,,,\n");
    free(out);
    out = export_rows(&an_format_tsv, &cfg, rows, 2);
    assert_string_equal(out,
                        "id\ttext\ttitle\tsentiment\tner\tstars\tannotation_id\tannotator\tlead_time\n"
                        "1\t\"hi, \"\"you\"\"\nthere\"\tT\tpos\t[{\"start\":0,\"end\":2,\"text\":"
                        "\"hi\",\"labels\":[\"GREET\"]}]\t4\t5\t2\t7.25\n"
                        "2\tplain\t{\"x\":[1,2.5]}\t[\"a\",\"b\"]\t\t\t6\t\t\n");
    free(out);
    /* no tasks: still a header */
    out = export_rows(&an_format_csv, &cfg, rows, 0);
    assert_string_equal(out, "id,text,title,sentiment,ner,stars,annotation_id,annotator,lead_time\n");
    free(out);
    /* no config: the first task's fields name the columns */
    out = export_rows(&an_format_csv, NULL, rows + 1, 1);
    assert_string_equal(out, "id,text,title,annotation_id,annotator,lead_time\n"
                             "2,plain,\"{\"\"x\"\":[1,2.5]}\",6,,\n");
    free(out);
}

/* Whatever text a field holds, CSV export then import gives it back unchanged. */
static void test_csv_round_trip(void **state)
{
    static const char *texts[] = {
        "plain", "with, comma", "with \"quotes\"", "\"starts quoted\"", "line\nbreak",
        "crlf\r\ninside", "", "  spaces  ", "你好，世界 😀", ",,,", "\"", "trailing\n",
    };
    size_t n = sizeof texts / sizeof texts[0];
    an_task_row *rows = calloc(n, sizeof *rows);
    char **data = calloc(n, sizeof *data);
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_object();
        json_object_set_new(d, "text", json_string(texts[i]));
        json_object_set_new(d, "other", json_string(texts[n - 1 - i]));
        data[i] = an_json_text(d);
        json_decref(d);
        rows[i] = (an_task_row){.id = (int64_t)i + 1, .data = data[i], .data_len = strlen(data[i])};
    }
    char *out = export_rows(&an_format_csv, NULL, rows, n);
    const char *p = tl_write_file("rt.csv", out);
    tl_sink g;
    an_err err;
    assert_int_equal(read_with(&an_format_csv, p, &g, &err), 0);
    assert_int_equal(json_array_size(g.rejects), 0);
    assert_int_equal(json_array_size(g.records), n);
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_object_get(json_array_get(g.records, i), "data");
        char id[16];
        snprintf(id, sizeof id, "%zu", i + 1);
        assert_string_equal(an_json_str(d, "id"), id);
        assert_string_equal(an_json_str(d, "text"), texts[i]);
        assert_string_equal(an_json_str(d, "other"), texts[n - 1 - i]);
        assert_string_equal(an_json_str(d, "annotation_id"), "");
        free(data[i]);
    }
    tl_sink_free(&g);
    free(out);
    free(rows);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_read),      cmocka_unit_test(test_csv_bad_rows),
        cmocka_unit_test(test_csv_bad_header), cmocka_unit_test(test_tsv_read),
        cmocka_unit_test(test_sniff),          cmocka_unit_test(test_csv_write),
        cmocka_unit_test(test_csv_round_trip),
    };
    return cmocka_run_group_tests(tests, tl_setup, tl_teardown);
}
