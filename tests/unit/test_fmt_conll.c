/* CoNLL-2003 import and export: IOB1 and IOB2 tags, code-point offsets for CJK and emoji,
 * rejects naming file:line, and export → import → export identity. */
#include "testlib.h"

/* ---- fixtures ----------------------------------------------------------------------- */

static char *text_to[] = {"text"};
static char *ner_labels[] = {"PER", "LOC", "ORG", "MISC"};
static an_object objs[] = {
    {.tag = AN_TAG_TEXT, .name = "text", .value = "$text", .data_key = "text", .line = 2},
};
static an_control ctls[] = {
    {.tag = AN_TAG_LABELS,
     .name = "label",
     .to_names = text_to,
     .n_to = 1,
     .result_type = "labels",
     .labels = ner_labels,
     .n_labels = 4,
     .line = 3},
};
static const an_config cfg = {.objects = objs, .n_objects = 1, .controls = ctls, .n_controls = 1};

static void read_into(const char *path, tl_sink *c, int want_rc)
{
    tl_sink_init(c);
    an_import_sink sink = {.record = tl_on_record, .reject = tl_on_reject, .ud = c};
    an_err err;
    an_err_clear(&err);
    int rc = an_format_conll.read(path, &cfg, &sink, &err);
    if (rc != want_rc) fail_msg("read: %d %s: %s", rc, err.where, err.msg);
}

static const char *text_of(const tl_sink *c, size_t i)
{
    return json_string_value(
        json_object_get(json_object_get(json_array_get(c->records, i), "data"), "text"));
}

/* The result of record i as canonical JSON text (caller frees). */
static char *result_of(const tl_sink *c, size_t i)
{
    const json_t *anns = json_object_get(json_array_get(c->records, i), "annotations");
    return an_json_text(json_object_get(json_array_get(anns, 0), "result"));
}

/* A compact "start-end:LABEL:text" list of the spans of record i, for readable asserts. */
static char *spans_of(const tl_sink *c, size_t i)
{
    const json_t *anns = json_object_get(json_array_get(c->records, i), "annotations");
    const json_t *res = json_object_get(json_array_get(anns, 0), "result");
    an_buf b = AN_BUF_INIT;
    an_buf_init(&b);
    for (size_t k = 0; k < json_array_size(res); k++) {
        const json_t *v = json_object_get(json_array_get(res, k), "value");
        an_buf_addf(&b, "%s%lld-%lld:%s:%s", k ? " " : "",
                    (long long)json_integer_value(json_object_get(v, "start")),
                    (long long)json_integer_value(json_object_get(v, "end")),
                    json_string_value(json_array_get(json_object_get(v, "labels"), 0)),
                    json_string_value(json_object_get(v, "text")));
    }
    return an_buf_detach(&b);
}

/* ---- import ------------------------------------------------------------------------- */

static void test_read_iob2_four_columns(void **state)
{
    const char *path = tl_write_file("iob2.txt", "-DOCSTART- -X- -X- O\n"
                                                 "\n"
                                                 "EU NNP B-NP B-ORG\n"
                                                 "rejects VBZ B-VP O\n"
                                                 "German JJ B-NP B-MISC\n"
                                                 "call NN I-NP O\n"
                                                 ". . O O\n"
                                                 "\n"
                                                 "Peter NNP B-NP B-PER\n"
                                                 "Blackburn NNP I-NP I-PER\r\n"
                                                 "\r\n"
                                                 "\n"
                                                 "New B-LOC\n"
                                                 "York I-LOC\n"
                                                 "Times B-ORG\n");
    tl_sink c;
    read_into(path, &c, 0);
    assert_int_equal(json_array_size(c.records), 3);
    assert_int_equal(json_array_size(c.rejects), 0);
    assert_string_equal(text_of(&c, 0), "EU rejects German call .");
    char *r0 = result_of(&c, 0);
    assert_string_equal(
        r0, "[{\"id\":\"r1\",\"from_name\":\"label\",\"to_name\":\"text\",\"type\":\"labels\","
            "\"value\":{\"start\":0,\"end\":2,\"text\":\"EU\",\"labels\":[\"ORG\"]}},"
            "{\"id\":\"r2\",\"from_name\":\"label\",\"to_name\":\"text\",\"type\":\"labels\","
            "\"value\":{\"start\":11,\"end\":17,\"text\":\"German\",\"labels\":[\"MISC\"]}}]");
    free(r0);
    char *s1 = spans_of(&c, 1), *s2 = spans_of(&c, 2);
    assert_string_equal(text_of(&c, 1), "Peter Blackburn");
    assert_string_equal(s1, "0-15:PER:Peter Blackburn");
    /* IOB2: B-ORG right after I-LOC opens a new entity of another type. */
    assert_string_equal(s2, "0-8:LOC:New York 9-14:ORG:Times");
    free(s1);
    free(s2);
    /* each record says where it starts */
    char want[300];
    snprintf(want, sizeof want, "%s:3", path);
    assert_string_equal(json_string_value(json_object_get(json_array_get(c.records, 0), "where")),
                        want);
    tl_sink_free(&c);
}

static void test_read_iob1(void **state)
{
    /* IOB1: I- opens an entity after O or another type; B- only splits touching entities
     * of one type. */
    const char *path = tl_write_file("iob1.txt", "Alice I-PER\n"
                                                 "Smith I-PER\n"
                                                 "Bob B-PER\n"
                                                 "Paris I-LOC\n"
                                                 "and O\n"
                                                 "Rome I-LOC\n"
                                                 "UN I-ORG\n");
    tl_sink c;
    read_into(path, &c, 0);
    assert_int_equal(json_array_size(c.records), 1);
    char *s = spans_of(&c, 0);
    assert_string_equal(s, "0-11:PER:Alice Smith 12-15:PER:Bob 16-21:LOC:Paris "
                           "26-30:LOC:Rome 31-33:ORG:UN");
    free(s);
    tl_sink_free(&c);
}

static void test_read_cjk_emoji_offsets_count_code_points(void **state)
{
    const char *path = tl_write_file("cjk.txt", "北京 B-LOC\n"
                                                "欢迎 O\n"
                                                "你 O\n"
                                                "😀 B-MISC\n"
                                                "上海 B-LOC\n"
                                                "市 I-LOC\n");
    tl_sink c;
    read_into(path, &c, 0);
    assert_int_equal(json_array_size(c.records), 1);
    assert_string_equal(text_of(&c, 0), "北京 欢迎 你 😀 上海 市");
    char *s = spans_of(&c, 0);
    /* 北京=0..2, space, 欢迎=3..5, space, 你=6..7, space, 😀=8..9 (one code point, four
     * bytes), space, 上海 市=10..14 */
    assert_string_equal(s, "0-2:LOC:北京 8-9:MISC:😀 10-14:LOC:上海 市");
    free(s);
    tl_sink_free(&c);
}

static void test_read_rejects_bad_sentences_and_keeps_the_rest(void **state)
{
    const char *path = tl_write_file("bad.txt", "Good B-PER\n"     /* 1 */
                                                "\n"               /* 2 */
                                                "Bad O\n"          /* 3 */
                                                "tag B-\n"         /* 4: empty type */
                                                "more O\n"         /* 5 */
                                                "\n"               /* 6 */
                                                "x X-PER\n"        /* 7: not O/B-/I- */
                                                "\n"               /* 8 */
                                                "lonely\n"         /* 9: one field */
                                                "\n"               /* 10 */
                                                "Acme B-COMPANY\n" /* 11: unknown type */
                                                "\n"               /* 12 */
                                                "Last I-LOC\n");   /* 13 */
    tl_sink c;
    read_into(path, &c, 0);
    assert_int_equal(json_array_size(c.records), 2);
    assert_string_equal(text_of(&c, 0), "Good");
    assert_string_equal(text_of(&c, 1), "Last");
    assert_int_equal(json_array_size(c.rejects), 4);
    const char *want[][2] = {
        {":4|", "bad tag \"B-\""},
        {":7|", "bad tag \"X-PER\""},
        {":9|", "expected a token and its tag"},
        {":11|", "entity type \"COMPANY\" is not a label of Labels \"label\""},
    };
    for (size_t i = 0; i < 4; i++) {
        const char *got = tl_reject_line(&c, i);
        char prefix[300];
        snprintf(prefix, sizeof prefix, "%s%s", path, want[i][0]);
        if (strncmp(got, prefix, strlen(prefix)) != 0 || !strstr(got, want[i][1]))
            fail_msg("reject %zu: got \"%s\", want prefix \"%s\" and \"%s\"", i, got, prefix,
                     want[i][1]);
    }
    tl_sink_free(&c);
}

static void test_read_needs_a_labels_control(void **state)
{
    const char *path = tl_write_file("x.txt", "a O\n");
    an_config none = {.objects = objs, .n_objects = 1};
    tl_sink c;
    tl_sink_init(&c);
    an_import_sink sink = {.record = tl_on_record, .reject = tl_on_reject, .ud = &c};
    an_err err;
    assert_int_equal(an_format_conll.read(path, &none, &sink, &err), -AN_EINVAL);
    assert_non_null(strstr(err.msg, "Labels"));
    assert_int_equal(an_format_conll.read("/nonexistent/file.conll", &cfg, &sink, &err), -AN_EIO);
    tl_sink_free(&c);
}

/* ---- export ------------------------------------------------------------------------- */

typedef struct exported {
    char *text;
    size_t len;
    int rc;
    an_err err;
} exported;

/* Exports rows (data and result JSON text pairs; result NULL = no annotation). */
static exported export_rows(const char *const (*rows)[2], size_t n)
{
    exported e = {0};
    FILE *out = open_memstream(&e.text, &e.len);
    an_export_ctx ctx = {.config = &cfg, .project_name = "ner", .out = out};
    an_buf_init(&ctx.scratch);
    an_err_clear(&e.err);
    e.rc = an_format_conll.export_begin(&ctx, &e.err);
    assert_int_equal(e.rc, 0);
    for (size_t i = 0; i < n && e.rc == 0; i++) {
        an_annotation_row ann = {.id = 1, .result = rows[i][1]};
        an_task_row row = {.id = (int64_t)i + 1,
                           .data = rows[i][0],
                           .data_len = strlen(rows[i][0]),
                           .annotations = &ann,
                           .n_annotations = rows[i][1] ? 1 : 0};
        e.rc = an_format_conll.export_task(&ctx, &row, &e.err);
    }
    int end = an_format_conll.export_end(&ctx, e.rc != 0, &e.err);
    if (e.rc == 0) e.rc = end;
    an_buf_free(&ctx.scratch);
    fclose(out);
    return e;
}

#define SPAN(s, e, t, l)                                                                           \
    "{\"id\":\"x\",\"from_name\":\"label\",\"to_name\":\"text\",\"type\":\"labels\","              \
    "\"value\":{\"start\":" #s ",\"end\":" #e ",\"text\":\"" t "\",\"labels\":[\"" l "\"]}}"

static void test_export_iob2(void **state)
{
    const char *const rows[][2] = {
        {"{\"text\":\"Peter Blackburn visited 上海 市 😀\"}",
         "[" SPAN(0, 15, "Peter Blackburn", "PER") "," SPAN(24, 28, "上海 市", "LOC") "]"},
        {"{\"text\":\"nothing here\"}", NULL}, /* unannotated: left out */
        {"{\"text\":\"Paris  Rome\"}",         /* runs of spaces separate tokens */
         "[" SPAN(0, 5, "Paris", "LOC") "," SPAN(7, 11, "Rome", "LOC") "]"},
        {"{\"text\":\"no entities\"}", "[]"},
    };
    exported e = export_rows(rows, 4);
    assert_int_equal(e.rc, 0);
    assert_string_equal(e.text, "Peter B-PER\nBlackburn I-PER\nvisited O\n上海 B-LOC\n市 I-LOC\n"
                                "😀 O\n\nParis B-LOC\nRome B-LOC\n\nno O\nentities O\n\n");
    free(e.text);
}

static void test_export_misaligned_span_names_the_task(void **state)
{
    const char *const rows[][2] = {
        {"{\"text\":\"Peter Blackburn\"}", "[" SPAN(0, 15, "Peter Blackburn", "PER") "]"},
        {"{\"text\":\"Peter Blackburn\"}", "[" SPAN(5, 15, " Blackburn", "PER") "]"},
    };
    exported e = export_rows(rows, 2);
    assert_int_equal(e.rc, -AN_EINVAL);
    assert_non_null(strstr(e.err.where, "task 2"));
    assert_non_null(strstr(e.err.msg, "whitespace"));
    free(e.text);

    const char *const overlap[][2] = {
        {"{\"text\":\"a b c\"}", "[" SPAN(0, 3, "a b", "PER") "," SPAN(2, 5, "b c", "LOC") "]"},
    };
    e = export_rows(overlap, 1);
    assert_int_equal(e.rc, -AN_EINVAL);
    assert_non_null(strstr(e.err.where, "task 1"));
    assert_non_null(strstr(e.err.msg, "overlaps"));
    free(e.text);
}

/* A span inside a run of non-whitespace cuts it into tokens of its own. */
static void test_export_cuts_tokens_at_spans(void **state)
{
    const char *const rows[][2] = {
        {"{\"text\":\"in Berlin; \u534e\u4e3aMate 60\"}",
         "[" SPAN(3, 9, "Berlin", "LOC") "," SPAN(11, 13, "\u534e\u4e3a", "ORG") "]"},
    };
    exported e = export_rows(rows, 1);
    assert_int_equal(e.rc, 0);
    assert_string_equal(e.text, "in O\nBerlin B-LOC\n; O\n\xe5\x8d\x8e\xe4\xb8\xba B-ORG\n"
                                "Mate O\n60 O\n\n");
    free(e.text);
}

/* Reads a file, exports what was read, reads that, exports again: tokens and tags survive,
 * IOB1 input comes out as IOB2. */
static void test_round_trip(void **state)
{
    const char *src = "-DOCSTART- -X- -X- O\n\n"
                      "Alice I-PER\nSmith I-PER\nBob B-PER\nin O\n北京 I-LOC\n😀 O\n\n"
                      "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n";
    const char *want = "Alice B-PER\nSmith I-PER\nBob B-PER\nin O\n北京 B-LOC\n😀 O\n\n"
                       "EU B-ORG\nrejects O\n\n";
    tl_sink c;
    read_into(tl_write_file("rt.txt", src), &c, 0);
    assert_int_equal(json_array_size(c.records), 2);
    size_t n = json_array_size(c.records);
    char **texts = calloc(2 * n, sizeof *texts);
    const char *(*rows)[2] = calloc(n, sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        texts[2 * i] = an_json_text(json_object_get(json_array_get(c.records, i), "data"));
        texts[2 * i + 1] = result_of(&c, i);
        rows[i][0] = texts[2 * i];
        rows[i][1] = texts[2 * i + 1];
    }
    exported e = export_rows((const char *const(*)[2])rows, n);
    assert_int_equal(e.rc, 0);
    assert_string_equal(e.text, want);

    tl_sink c2;
    read_into(tl_write_file("rt2.txt", e.text), &c2, 0);
    assert_int_equal(json_array_size(c2.records), n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(text_of(&c, i), text_of(&c2, i));
        char *a = result_of(&c, i), *b = result_of(&c2, i);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
    for (size_t i = 0; i < 2 * n; i++)
        free(texts[i]);
    free(texts);
    free(rows);
    free(e.text);
    tl_sink_free(&c);
    tl_sink_free(&c2);
}

/* ---- sniff -------------------------------------------------------------------------- */

static int sniff(const char *s)
{
    return an_format_conll.sniff("x", false, (const unsigned char *)s, strlen(s));
}

static void test_sniff(void **state)
{
    assert_int_equal(sniff("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"), 70);
    assert_int_equal(sniff("北京 B-LOC\n欢迎 O\n"), 70);
    assert_int_equal(sniff("name,label\nfoo,bar\n"), 0);
    assert_int_equal(sniff("{\"text\": \"O\"}\n"), 0);
    assert_int_equal(sniff("hello world\n"), 0);
    assert_int_equal(sniff("lonely\n"), 0);
    assert_int_equal(an_format_conll.sniff("dir", true, NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_iob2_four_columns),
        cmocka_unit_test(test_read_iob1),
        cmocka_unit_test(test_read_cjk_emoji_offsets_count_code_points),
        cmocka_unit_test(test_read_rejects_bad_sentences_and_keeps_the_rest),
        cmocka_unit_test(test_read_needs_a_labels_control),
        cmocka_unit_test(test_export_iob2),
        cmocka_unit_test(test_export_misaligned_span_names_the_task),
        cmocka_unit_test(test_export_cuts_tokens_at_spans),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_sniff),
    };
    return cmocka_run_group_tests(tests, tl_setup, tl_teardown);
}
