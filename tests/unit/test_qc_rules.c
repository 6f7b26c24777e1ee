/* QC rules: every rule type fires on a crafted bad result and stays quiet on a good one; the
 * parser's errors name the place in the rules document. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/json.h"
#include "model/config.h"
#include "qc/rules.h"

static const char CONFIG[] =
    "<View>"
    "<Text name=\"text\" value=\"$text\"/>"
    "<Labels name=\"ner\" toName=\"text\"><Label value=\"PER\"/><Label value=\"LOC\"/></Labels>"
    "<Choices name=\"sentiment\" toName=\"text\" required=\"true\">"
    "<Choice value=\"pos\"/><Choice value=\"neg\"/></Choices>"
    "<Image name=\"image\" value=\"$image\"/>"
    "<RectangleLabels name=\"box\" toName=\"image\"><Label value=\"Car\"/>"
    "<Label value=\"Bus\"/></RectangleLabels>"
    "<TextArea name=\"caption\" toName=\"image\"/>"
    "</View>";

static an_config *cfg;

static int setup(void **state)
{
    (void)state;
    an_err e;
    an_err_clear(&e);
    return an_config_parse(CONFIG, strlen(CONFIG), &cfg, &e) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    an_config_free(cfg);
    return 0;
}

static an_qc_rules *compile(const char *doc)
{
    an_qc_rules *r = NULL;
    an_err e;
    an_err_clear(&e);
    int rc = an_qc_rules_parse(doc, strlen(doc), cfg, &r, &e);
    if (rc) fail_msg("rules do not parse: %s: %s", e.where, e.msg);
    return r;
}

/* The parse error for doc: asserts it fails, and that where equals want_where. */
static void refused(const char *doc, const char *want_where, const char *want_in_msg)
{
    an_qc_rules *r = NULL;
    an_err e;
    an_err_clear(&e);
    int rc = an_qc_rules_parse(doc, strlen(doc), cfg, &r, &e);
    if (rc == 0) {
        an_qc_rules_free(r);
        fail_msg("accepted: %s", doc);
    }
    assert_int_equal(rc, -AN_EINVAL);
    assert_null(r);
    if (strcmp(e.where, want_where) != 0)
        fail_msg("where \"%s\" (%s), wanted \"%s\"", e.where, e.msg, want_where);
    if (want_in_msg && !strstr(e.msg, want_in_msg))
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, want_in_msg);
}

typedef struct run {
    const char *data;
    const char *result;
    double lead_time;
    const char *predictions[3]; /* result arrays */
    double scores[3];
    const char *versions[3]; /* their model versions (NULL: none) */
    const char *references[4];
} run;

static json_t *parse(const char *text)
{
    an_err e;
    json_t *j = an_json_parse(text, strlen(text), "test", &e);
    if (!j) fail_msg("bad test JSON: %s: %s", e.where, e.msg);
    return j;
}

/* Evaluates rules on a run; the findings go to out (caller clears). */
static void eval(const an_qc_rules *r, const run *x, an_qc_findings *out)
{
    json_t *data = parse(x->data ? x->data : "{\"text\":\"Ann lives in Paris\",\"image\":\"a\"}");
    json_t *result = parse(x->result);
    json_t *preds[3] = {0};
    an_qc_prediction pv[3];
    size_t np = 0;
    for (; np < 3 && x->predictions[np]; np++) {
        preds[np] = parse(x->predictions[np]);
        pv[np] = (an_qc_prediction){preds[np], x->scores[np], x->versions[np]};
    }
    json_t *refs[4] = {0};
    size_t nr = 0;
    for (; nr < 4 && x->references[nr]; nr++)
        refs[nr] = parse(x->references[nr]);
    an_qc_input in = {.cfg = cfg,
                      .data = data,
                      .result = result,
                      .lead_time = x->lead_time,
                      .predictions = pv,
                      .n_predictions = np,
                      .references = (const json_t *const *)refs,
                      .n_references = nr};
    an_err e;
    an_err_clear(&e);
    assert_int_equal(an_qc_evaluate(r, &in, out, &e), 0);
    for (size_t i = 0; i < np; i++)
        json_decref(preds[i]);
    for (size_t i = 0; i < nr; i++)
        json_decref(refs[i]);
    json_decref(result);
    json_decref(data);
}

static size_t count_findings(const char *doc, const run *x, const char *want_place)
{
    an_qc_rules *r = compile(doc);
    an_qc_findings f = {0};
    eval(r, x, &f);
    size_t n = f.n;
    if (want_place) {
        bool seen = false;
        for (size_t i = 0; i < f.n; i++)
            if (strcmp(f.items[i].place, want_place) == 0) seen = true;
        if (!seen) {
            for (size_t i = 0; i < f.n; i++)
                fprintf(stderr, "  finding %s at %s: %s\n", f.items[i].rule, f.items[i].place,
                        f.items[i].message);
            fail_msg("no finding at %s", want_place);
        }
    }
    an_qc_findings_clear(&f);
    an_qc_rules_free(r);
    return n;
}

#define SENT "{\"from_name\":\"sentiment\",\"to_name\":\"text\",\"type\":\"choices\"," \
             "\"value\":{\"choices\":[\"pos\"]}}"
#define BOX(x, y, w, h, l)                                                                         \
    "{\"from_name\":\"box\",\"to_name\":\"image\",\"type\":\"rectanglelabels\","                   \
    "\"original_width\":1000,\"original_height\":500,\"value\":{\"x\":" #x ",\"y\":" #y            \
    ",\"width\":" #w ",\"height\":" #h ",\"rectanglelabels\":[\"" l "\"]}}"
#define SPAN(s, e, l)                                                                              \
    "{\"from_name\":\"ner\",\"to_name\":\"text\",\"type\":\"labels\",\"value\":{\"start\":" #s     \
    ",\"end\":" #e ",\"labels\":[\"" l "\"]}}"

static void test_required(void **state)
{
    (void)state;
    const char *doc = "{\"rules\":[{\"id\":\"req\",\"type\":\"required\",\"severity\":\"error\"}]}";
    assert_int_equal(count_findings(doc, &(run){.result = "[" SPAN(0, 3, "PER") "]", .lead_time = NAN},
                                    "result"),
                     1);
    assert_int_equal(count_findings(doc, &(run){.result = "[" SENT "]", .lead_time = NAN}, NULL), 0);
    /* Named controls are required whatever the config says. */
    const char *named = "{\"rules\":[{\"id\":\"r\",\"type\":\"required\",\"controls\":[\"ner\"]}]}";
    assert_int_equal(count_findings(named, &(run){.result = "[" SENT "]", .lead_time = NAN}, "result"),
                     1);
}

static void test_taxonomy(void **state)
{
    (void)state;
    const char *doc = "{\"rules\":[{\"id\":\"tax\",\"type\":\"taxonomy\"}]}";
    assert_int_equal(count_findings(doc,
                                    &(run){.result = "[" SENT "," SPAN(0, 3, "ORG") "]",
                                           .lead_time = NAN},
                                    "result[1].value.labels[0]"),
                     1);
    assert_int_equal(count_findings(doc,
                                    &(run){.result = "[{\"from_name\":\"nope\",\"type\":\"choices\","
                                                     "\"value\":{\"choices\":[\"x\"]}}]",
                                           .lead_time = NAN},
                                    "result[0].from_name"),
                     1);
    assert_int_equal(count_findings(doc, &(run){.result = "[" SENT "," SPAN(0, 3, "PER") "]",
                                                .lead_time = NAN},
                                    NULL),
                     0);
}

static void test_box_bounds(void **state)
{
    (void)state;
    const char *doc = "{\"rules\":[{\"id\":\"bb\",\"type\":\"box_bounds\",\"min_width_px\":5,"
                      "\"min_height\":1}]}";
    /* Outside: x + width > 100. */
    assert_int_equal(count_findings(doc, &(run){.result = "[" BOX(80, 10, 30, 10, "Car") "]",
                                                .lead_time = NAN},
                                    "result[0].value.width"),
                     1);
    /* 0.3% of 1000 px = 3 px wide: below 5 px. */
    assert_int_equal(count_findings(doc, &(run){.result = "[" BOX(10, 10, 0.3, 10, "Car") "]",
                                                .lead_time = NAN},
                                    "result[0].value.width"),
                     1);
    /* 0.5% high: below 1%. */
    assert_int_equal(count_findings(doc, &(run){.result = "[" BOX(10, 10, 10, 0.5, "Car") "]",
                                                .lead_time = NAN},
                                    "result[0].value.height"),
                     1);
    /* A rotated box whose corner swings outside. */
    const char *rot = "[{\"from_name\":\"box\",\"to_name\":\"image\",\"type\":\"rectanglelabels\","
                      "\"value\":{\"x\":90,\"y\":50,\"width\":20,\"height\":5,\"rotation\":-30,"
                      "\"rectanglelabels\":[\"Car\"]}}]";
    assert_int_equal(count_findings(doc, &(run){.result = rot, .lead_time = NAN},
                                    "result[0].value.rotation"),
                     1);
    assert_int_equal(count_findings(doc, &(run){.result = "[" BOX(10, 10, 30, 40, "Car") "]",
                                                .lead_time = NAN},
                                    NULL),
                     0);
}

static void test_duplicates(void **state)
{
    (void)state;
    const char *doc = "{\"rules\":[{\"id\":\"dup\",\"type\":\"duplicate_boxes\"}]}";
    /* IoU of [10,40]x[10,50] and [10,40]x[10,49] = 1170/1200 = 0.975. */
    assert_int_equal(count_findings(doc,
                                    &(run){.result = "[" BOX(10, 10, 30, 40, "Car") "," BOX(
                                               10, 10, 30, 39, "Car") "]",
                                           .lead_time = NAN},
                                    "result[1]"),
                     1);
    /* Same place, other label: no duplicate. IoU 0.75: no duplicate. */
    assert_int_equal(count_findings(doc,
                                    &(run){.result = "[" BOX(10, 10, 30, 40, "Car") "," BOX(
                                               10, 10, 30, 40, "Bus") "," BOX(10, 10, 30, 30,
                                                                              "Car") "]",
                                           .lead_time = NAN},
                                    NULL),
                     0);
}

static void test_spans(void **state)
{
    (void)state;
    const char *doc = "{\"rules\":[{\"id\":\"sp\",\"type\":\"span_boundary\"}]}";
    /* "Ann lives in Paris": [0,2) cuts "Ann"; [13,18) is "Paris". */
    assert_int_equal(count_findings(doc, &(run){.result = "[" SPAN(0, 2, "PER") "]", .lead_time = NAN},
                                    "result[0].value.end"),
                     1);
    assert_int_equal(count_findings(doc, &(run){.result = "[" SPAN(14, 18, "LOC") "]",
                                                .lead_time = NAN},
                                    "result[0].value.start"),
                     1);
    assert_int_equal(count_findings(doc,
                                    &(run){.result = "[" SPAN(0, 3, "PER") "," SPAN(13, 18, "LOC") "]",
                                           .lead_time = NAN},
                                    NULL),
                     0);
    /* Unicode letters: "Zoë Müller" — [0,2) cuts "Zoë" between o and ë. */
    const char *de = "{\"text\":\"Zo\\u00eb M\\u00fcller\",\"image\":\"a\"}";
    assert_int_equal(count_findings(doc, &(run){.data = de, .result = "[" SPAN(0, 2, "PER") "]",
                                                .lead_time = NAN},
                                    "result[0].value.end"),
                     1);
    assert_int_equal(count_findings(doc, &(run){.data = de, .result = "[" SPAN(4, 10, "PER") "]",
                                                .lead_time = NAN},
                                    NULL),
                     0);
    /* CJK: no word rule, "我爱😀北京" [3,4) is fine; but a combining mark split is not:
     * "e\u0301t\u00e9" [0,1) separates e from its acute accent. */
    const char *zh = "{\"text\":\"\\u6211\\u7231\\ud83d\\ude00\\u5317\\u4eac\",\"image\":\"a\"}";
    assert_int_equal(count_findings(doc, &(run){.data = zh, .result = "[" SPAN(3, 4, "LOC") "]",
                                                .lead_time = NAN},
                                    NULL),
                     0);
    const char *mark = "{\"text\":\"e\\u0301 x\",\"image\":\"a\"}";
    assert_int_equal(count_findings("{\"rules\":[{\"id\":\"sp\",\"type\":\"span_boundary\","
                                    "\"words\":false}]}",
                                    &(run){.data = mark, .result = "[" SPAN(0, 1, "PER") "]",
                                           .lead_time = NAN},
                                    "result[0].value.end"),
                     1);
    /* A flag is two regional indicators: [0,1) of "🇫🇷 x" splits it. */
    const char *flag = "{\"text\":\"\\ud83c\\uddeb\\ud83c\\uddf7 x\",\"image\":\"a\"}";
    assert_int_equal(count_findings(doc, &(run){.data = flag, .result = "[" SPAN(0, 1, "PER") "]",
                                                .lead_time = NAN},
                                    "result[0].value.end"),
                     1);
    assert_int_equal(count_findings(doc, &(run){.data = flag, .result = "[" SPAN(0, 2, "PER") "]",
                                                .lead_time = NAN},
                                    NULL),
                     0);
}

#define CAPTION(t) \
    "{\"from_name\":\"caption\",\"to_name\":\"image\",\"type\":\"textarea\",\"value\":{\"text\":" t "}}"

static void test_text_answer(void **state)
{
    (void)state;
    const char *doc = "{\"rules\":[{\"id\":\"txt\",\"type\":\"text_answer\",\"min_length\":5}]}";
    assert_int_equal(count_findings(doc, &(run){.result = "[" CAPTION("[\"  \\u3000 \"]") "]",
                                                .lead_time = NAN},
                                    "result[0].value.text[0]"),
                     1);
    /* "车 红" is 3 code points (9 bytes): short. */
    assert_int_equal(count_findings(doc, &(run){.result = "[" CAPTION("[\"ok\", \"\\u8f66 \\u7ea2\"]") "]",
                                                .lead_time = NAN},
                                    "result[0].value.text[1]"),
                     2);
    assert_int_equal(count_findings(doc, &(run){.result = "[" CAPTION("\"a red car\"") "]",
                                                .lead_time = NAN},
                                    NULL),
                     0);
}

static void test_lead_time(void **state)
{
    (void)state;
    const char *doc = "{\"rules\":[{\"id\":\"fast\",\"type\":\"lead_time\",\"min_seconds\":3}]}";
    assert_int_equal(count_findings(doc, &(run){.result = "[]", .lead_time = 0.5}, "lead_time"), 1);
    assert_int_equal(count_findings(doc, &(run){.result = "[]", .lead_time = 3.5}, NULL), 0);
    /* Unknown lead time: nothing to say. */
    assert_int_equal(count_findings(doc, &(run){.result = "[]", .lead_time = NAN}, NULL), 0);
}

static void test_label_omission(void **state)
{
    (void)state;
    const char *doc = "{\"rules\":[{\"id\":\"omit\",\"type\":\"label_omission\"}]}";
    const char *pred = "[" SENT "," SPAN(13, 18, "LOC") "," BOX(10, 10, 30, 40, "Car") "]";
    /* A confident prediction with a LOC span and a car box the annotation lacks. */
    assert_int_equal(count_findings(doc,
                                    &(run){.result = "[" SENT "]",
                                           .lead_time = NAN,
                                           .predictions = {pred},
                                           .scores = {0.95}},
                                    "result"),
                     2);
    /* An unconfident prediction says nothing. */
    assert_int_equal(count_findings(doc,
                                    &(run){.result = "[" SENT "]",
                                           .lead_time = NAN,
                                           .predictions = {pred},
                                           .scores = {0.5}},
                                    NULL),
                     0);
    /* The annotation has them (its box is close enough: IoU 0.9). */
    assert_int_equal(count_findings(doc,
                                    &(run){.result = "[" SENT "," SPAN(13, 18, "LOC") "," BOX(
                                               10, 10, 30, 36, "Car") "]",
                                           .lead_time = NAN,
                                           .predictions = {pred},
                                           .scores = {0.95}},
                                    NULL),
                     0);
    /* A prediction without a score: each item's own score decides. */
    const char *scored = "[{\"from_name\":\"ner\",\"to_name\":\"text\",\"type\":\"labels\","
                         "\"score\":0.99,\"value\":{\"start\":13,\"end\":18,\"labels\":[\"LOC\"]}},"
                         "{\"from_name\":\"ner\",\"to_name\":\"text\",\"type\":\"labels\","
                         "\"value\":{\"start\":0,\"end\":3,\"labels\":[\"PER\"]}}]";
    assert_int_equal(count_findings(doc,
                                    &(run){.result = "[" SENT "]",
                                           .lead_time = NAN,
                                           .predictions = {scored},
                                           .scores = {NAN}},
                                    "result"),
                     1);
    /* Consensus: 2 of 3 others say LOC; one of them drew a bus the others did not. */
    const char *cdoc = "{\"rules\":[{\"id\":\"omit\",\"type\":\"label_omission\","
                       "\"source\":\"consensus\"}]}";
    run c = {.result = "[" SENT "]",
             .lead_time = NAN,
             .references = {"[" SENT "," SPAN(13, 18, "LOC") "]",
                            "[" SENT "," SPAN(13, 18, "LOC") "," BOX(50, 50, 10, 10, "Bus") "]",
                            "[" SENT "]"}};
    assert_int_equal(count_findings(cdoc, &c, "result"), 1);
    /* Below min_references nothing is consensus. */
    run one = {.result = "[" SENT "]", .lead_time = NAN, .references = {"[" SPAN(13, 18, "LOC") "]"}};
    assert_int_equal(count_findings(cdoc, &one, NULL), 0);
}

static void test_box_deviation(void **state)
{
    (void)state;
    const char *doc = "{\"rules\":[{\"id\":\"dev\",\"type\":\"box_deviation\",\"min_iou\":0.7}]}";
    const char *pred = "[" BOX(10, 10, 30, 40, "Car") "]";
    /* [10,40]x[10,50] against [20,50]x[10,50]: 800 / 1600 = 0.5. */
    assert_int_equal(count_findings(doc,
                                    &(run){.result = "[" BOX(20, 10, 30, 40, "Car") "]",
                                           .lead_time = NAN,
                                           .predictions = {pred},
                                           .scores = {0.9}},
                                    "result[0].value"),
                     1);
    assert_int_equal(count_findings(doc,
                                    &(run){.result = "[" BOX(11, 10, 30, 40, "Car") "]",
                                           .lead_time = NAN,
                                           .predictions = {pred},
                                           .scores = {0.9}},
                                    NULL),
                     0);
    /* Against the consensus of two other annotators. */
    const char *cdoc = "{\"rules\":[{\"id\":\"dev\",\"type\":\"box_deviation\",\"source\":"
                       "\"consensus\",\"min_iou\":0.7}]}";
    run c = {.result = "[" BOX(20, 10, 30, 40, "Car") "]",
             .lead_time = NAN,
             .references = {"[" BOX(10, 10, 30, 40, "Car") "]", "[" BOX(10, 11, 30, 40, "Car") "]"}};
    assert_int_equal(count_findings(cdoc, &c, "result[0].value"), 1);
}

static void test_expr(void **state)
{
    (void)state;
    /* Every PER span's text must start with a capital letter; a sentiment must be given
     * exactly once (result scope). */
    const char *doc =
        "{\"rules\":[{\"id\":\"cap\",\"type\":\"expr\",\"severity\":\"error\","
        "\"when\":{\"all\":[{\"field\":\"from_name\",\"equals\":\"ner\"},"
        "{\"field\":\"value.labels\",\"contains\":\"PER\"}]},"
        "\"require\":{\"field\":\"value.text\",\"regex\":\"^\\\\p{Lu}\"},"
        "\"message\":\"names start with a capital\"},"
        "{\"id\":\"one\",\"type\":\"expr\",\"scope\":\"result\","
        "\"require\":{\"count\":{\"from_name\":\"sentiment\"},\"min\":1,\"max\":1},"
        "\"message\":\"give one sentiment\"}]}";
    const char *bad = "[{\"from_name\":\"ner\",\"to_name\":\"text\",\"type\":\"labels\","
                      "\"value\":{\"start\":0,\"end\":3,\"text\":\"ann\",\"labels\":[\"PER\"]}}]";
    an_qc_rules *r = compile(doc);
    an_qc_findings f = {0};
    eval(r, &(run){.result = bad, .lead_time = NAN}, &f);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.items[0].rule, "cap");
    assert_string_equal(f.items[0].place, "result[0]");
    assert_int_equal(f.items[0].severity, AN_QC_ERROR);
    assert_string_equal(f.items[0].message, "names start with a capital");
    assert_string_equal(f.items[1].rule, "one");
    assert_string_equal(f.items[1].place, "result");
    an_qc_findings_clear(&f);
    const char *good = "[" SENT ",{\"from_name\":\"ner\",\"to_name\":\"text\",\"type\":\"labels\","
                       "\"value\":{\"start\":0,\"end\":3,\"text\":\"Ann\",\"labels\":[\"PER\"]}},"
                       SPAN(13, 18, "LOC") "]";
    eval(r, &(run){.result = good, .lead_time = NAN}, &f);
    assert_int_equal(f.n, 0);
    an_qc_rules_free(r);

    /* A prediction score by model version (an alignment score from annot similarity): a
     * result-scope rule sees {"scores": {version: score}}. */
    const char *align = "{\"rules\":[{\"id\":\"align\",\"type\":\"expr\",\"scope\":\"result\","
                        "\"when\":{\"field\":\"scores.similarity:img:txt\",\"exists\":true},"
                        "\"require\":{\"field\":\"scores.similarity:img:txt\",\"min\":0.3},"
                        "\"message\":\"caption and image do not match\"}]}";
    assert_int_equal(count_findings(align, &(run){.result = "[" SENT "]", .lead_time = NAN,
                                                  .predictions = {"[]", "[]"},
                                                  .scores = {0.9, 0.12},
                                                  .versions = {"other", "similarity:img:txt"}},
                                    "result"),
                     1);
    assert_int_equal(count_findings(align, &(run){.result = "[" SENT "]", .lead_time = NAN,
                                                  .predictions = {"[]"},
                                                  .scores = {0.55},
                                                  .versions = {"similarity:img:txt"}},
                                    NULL),
                     0);
    assert_int_equal(count_findings(align, &(run){.result = "[" SENT "]", .lead_time = NAN},
                                    NULL),
                     0);

    /* not / any / min-max on strings (code points) and exists. */
    const char *doc2 = "{\"rules\":[{\"id\":\"len\",\"type\":\"expr\","
                       "\"when\":{\"field\":\"type\",\"equals\":\"textarea\"},"
                       "\"require\":{\"any\":[{\"not\":{\"field\":\"value.text[0]\",\"exists\":true}},"
                       "{\"field\":\"value.text[0]\",\"min\":3,\"max\":10}]},"
                       "\"message\":\"captions have 3 to 10 characters\"}]}";
    assert_int_equal(count_findings(doc2, &(run){.result = "[" CAPTION("[\"\\u8f66\\u7ea2\"]") "]",
                                                 .lead_time = NAN},
                                    "result[0]"),
                     1);
    assert_int_equal(count_findings(doc2, &(run){.result = "[" CAPTION("[\"\\u8f66\\u7ea2\\u8272\"]") "]",
                                                 .lead_time = NAN},
                                    NULL),
                     0);
    /* A pattern with catastrophic backtracking hits the match limit and gives up (no
     * finding, no hang). */
    const char *slow = "{\"rules\":[{\"id\":\"re\",\"type\":\"expr\",\"when\":{\"field\":"
                       "\"value.text[0]\",\"regex\":\"^(a+)+$\"},\"require\":{\"field\":\"x\","
                       "\"exists\":true},\"message\":\"m\"}]}";
    assert_int_equal(count_findings(slow, &(run){.result = "[" CAPTION("[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\"]") "]",
                                                 .lead_time = NAN},
                                    NULL),
                     0);
}

static void test_message_and_severity(void **state)
{
    (void)state;
    an_qc_rules *r = compile("{\"rules\":[{\"id\":\"fast\",\"type\":\"lead_time\","
                             "\"severity\":\"error\",\"message\":\"too quick\"}]}");
    assert_int_equal(an_qc_rules_count(r), 1);
    assert_false(an_qc_rules_use_predictions(r));
    assert_false(an_qc_rules_use_references(r));
    an_qc_findings f = {0};
    eval(r, &(run){.result = "[]", .lead_time = 1}, &f);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.items[0].severity, AN_QC_ERROR);
    assert_string_equal(f.items[0].type, "lead_time");
    assert_non_null(strstr(f.items[0].message, "too quick ("));
    json_t *j = an_qc_findings_json(&f);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "severity")),
                        "error");
    json_decref(j);
    an_qc_findings_clear(&f);
    an_qc_rules_free(r);
    r = compile("{\"rules\":[{\"id\":\"o\",\"type\":\"label_omission\",\"source\":\"consensus\"}]}");
    assert_false(an_qc_rules_use_predictions(r));
    assert_true(an_qc_rules_use_references(r));
    an_qc_rules_free(r);
}

static void test_parse_errors(void **state)
{
    (void)state;
    refused("[]", "$", "{\"rules\"");
    refused("{\"rules\":[],\"extra\":1}", "$.extra", "unknown key");
    refused("{\"rules\":{}}", "rules", "list");
    refused("{\"rules\":[{\"type\":\"lead_time\"}]}", "rules[0].id", "id");
    refused("{\"rules\":[{\"id\":\"a\",\"type\":\"lead_time\"},{\"id\":\"a\",\"type\":\"taxonomy\"}]}",
            "rules[1].id", "twice");
    refused("{\"rules\":[{\"id\":\"a\",\"type\":\"nope\"}]}", "rules[0].type", "box_bounds");
    refused("{\"rules\":[{\"id\":\"a\",\"type\":\"lead_time\",\"severity\":\"fatal\"}]}",
            "rules[0].severity", "error");
    refused("{\"rules\":[{\"id\":\"a\",\"type\":\"lead_time\",\"min_secs\":1}]}",
            "rules[0].min_secs", "min_seconds");
    refused("{\"rules\":[{\"id\":\"a\",\"type\":\"duplicate_boxes\",\"iou\":1.5}]}",
            "rules[0].iou", "at most 1");
    refused("{\"rules\":[{\"id\":\"a\",\"type\":\"taxonomy\",\"controls\":[\"ner\",\"nope\"]}]}",
            "rules[0].controls[1]", "no control");
    refused("{\"rules\":[{\"id\":\"a\",\"type\":\"label_omission\",\"source\":\"model\"}]}",
            "rules[0].source", "prediction");
    refused("{\"rules\":[{\"id\":\"a\",\"type\":\"expr\",\"require\":{\"field\":\"x\",\"exists\":true}}]}",
            "rules[0].message", "message");
    refused("{\"rules\":[{\"id\":\"a\",\"type\":\"expr\",\"message\":\"m\"}]}",
            "rules[0].require", "require");
    refused("{\"rules\":[{\"id\":\"a\",\"type\":\"expr\",\"message\":\"m\",\"require\":"
            "{\"any\":[{\"field\":\"x\",\"exists\":true},{\"field\":\"value.text\",\"regex\":\"(\"}]}}]}",
            "rules[0].require.any[1].regex", "does not compile");
    refused("{\"rules\":[{\"id\":\"a\",\"type\":\"expr\",\"message\":\"m\",\"when\":"
            "{\"field\":\"x\",\"contains\":\"a\",\"regex\":\"a\"},\"require\":{\"field\":\"x\","
            "\"exists\":true}}]}",
            "rules[0].when", "exactly one");
    refused("{\"rules\":[{\"id\":\"a\",\"type\":\"expr\",\"message\":\"m\",\"require\":"
            "{\"field\":\"a..b\",\"exists\":true}}]}",
            "rules[0].require.field", "dot");
    refused("{\"rules\":[{\"id\":\"a\",\"type\":\"expr\",\"message\":\"m\",\"require\":"
            "{\"count\":{\"from_name\":\"ner\"}}}]}",
            "rules[0].require", "min");
    /* Too deep: not(not(not(...))) nine levels. */
    char deep[1024];
    snprintf(deep, sizeof deep,
             "{\"rules\":[{\"id\":\"a\",\"type\":\"expr\",\"message\":\"m\",\"require\":"
             "%s{\"field\":\"x\",\"exists\":true}%s}]}",
             "{\"not\":{\"not\":{\"not\":{\"not\":{\"not\":{\"not\":{\"not\":{\"not\":",
             "}}}}}}}}");
    refused(deep, "rules[0].require.not.not.not.not.not.not.not.not", "deeper");
    /* A regex longer than the limit. */
    char *big = malloc(AN_QC_MAX_REGEX + 200);
    int n = snprintf(big, AN_QC_MAX_REGEX + 200,
                     "{\"rules\":[{\"id\":\"a\",\"type\":\"expr\",\"message\":\"m\",\"require\":"
                     "{\"field\":\"x\",\"regex\":\"");
    memset(big + n, 'a', AN_QC_MAX_REGEX + 1);
    snprintf(big + n + AN_QC_MAX_REGEX + 1, 20, "\"}}]}");
    refused(big, "rules[0].require.regex", "1000");
    free(big);
    /* Too many rules. */
    an_buf b = AN_BUF_INIT;
    an_buf_adds(&b, "{\"rules\":[");
    for (int i = 0; i <= AN_QC_MAX_RULES; i++)
        an_buf_addf(&b, "%s{\"id\":\"r%d\",\"type\":\"lead_time\"}", i ? "," : "", i);
    an_buf_adds(&b, "]}");
    refused(b.p, "rules", "at most 100");
    an_buf_free(&b);
    /* Not JSON at all. */
    an_qc_rules *r = NULL;
    an_err e;
    assert_int_equal(an_qc_rules_parse("{", 1, cfg, &r, &e), -AN_EINVAL);
    assert_non_null(strstr(e.where, "rules"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_required),       cmocka_unit_test(test_taxonomy),
        cmocka_unit_test(test_box_bounds),     cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_spans),          cmocka_unit_test(test_text_answer),
        cmocka_unit_test(test_lead_time),      cmocka_unit_test(test_label_omission),
        cmocka_unit_test(test_box_deviation),  cmocka_unit_test(test_expr),
        cmocka_unit_test(test_message_and_severity), cmocka_unit_test(test_parse_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
