/* Labeling config parsing: every supported tag, and every refusal with its place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "model/config.h"

static an_config *parse_ok(const char *xml)
{
    an_config *cfg = NULL;
    an_err err;
    an_err_clear(&err);
    int rc = an_config_parse(xml, strlen(xml), &cfg, &err);
    if (rc != 0) fail_msg("unexpected error at %s: %s", err.where, err.msg);
    assert_non_null(cfg);
    return cfg;
}

/* Parses xml expecting AN_EINVAL at where, with every needle in the message. */
static void parse_fails(const char *xml, const char *where, ...)
{
    an_config *cfg = (an_config *)1;
    an_err err;
    an_err_clear(&err);
    int rc = an_config_parse(xml, strlen(xml), &cfg, &err);
    assert_int_equal(rc, -AN_EINVAL);
    assert_int_equal(err.code, AN_EINVAL);
    assert_null(cfg);
    assert_string_equal(err.where, where);
    va_list ap;
    va_start(ap, where);
    for (const char *needle; (needle = va_arg(ap, const char *));)
        if (!strstr(err.msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
    va_end(ap);
}

static char *read_testdata(const char *rel, size_t *len)
{
    const char *dir = getenv("ANNOT_TESTDATA");
    assert_non_null(dir);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    an_buf b;
    an_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        an_buf_add(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return an_buf_detach(&b);
}

static void assert_labels(const an_control *c, size_t n, ...)
{
    assert_int_equal(c->n_labels, n);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(c->labels[i], va_arg(ap, const char *));
    va_end(ap);
}

static void test_every_tag(void **state)
{
    (void)state;
    size_t len;
    char *xml = read_testdata("model/all_tags.xml", &len);
    an_config *cfg = NULL;
    an_err err;
    int rc = an_config_parse(xml, len, &cfg, &err);
    if (rc) fail_msg("%s: %s", err.where, err.msg);
    free(xml);

    /* Objects in config order; Header and View are layout and produce nothing. */
    static const struct {
        const char *name;
        an_tag tag;
        const char *key;
    } objs[] = {
        {"text", AN_TAG_TEXT, "text"},
        {"html", AN_TAG_HYPERTEXT, "html"},
        {"dialogue", AN_TAG_PARAGRAPHS, "dialogue"},
        {"image", AN_TAG_IMAGE, "image"},
        {"audio", AN_TAG_AUDIO, "audio"},
        {"video", AN_TAG_VIDEO, "video"},
        {"left", AN_TAG_TEXT, "answer_a"},
        {"right", AN_TAG_TEXT, "answer_b"},
    };
    assert_int_equal(cfg->n_objects, sizeof objs / sizeof objs[0]);
    for (size_t i = 0; i < cfg->n_objects; i++) {
        assert_string_equal(cfg->objects[i].name, objs[i].name);
        assert_int_equal(cfg->objects[i].tag, objs[i].tag);
        assert_string_equal(cfg->objects[i].data_key, objs[i].key);
    }
    assert_string_equal(cfg->objects[0].value, "$text");
    assert_int_equal(cfg->objects[0].line, 5);

    static const struct {
        const char *name;
        an_tag tag;
        const char *type;
    } ctls[] = {
        {"ner", AN_TAG_LABELS, "labels"},
        {"sentiment", AN_TAG_CHOICES, "choices"},
        {"html_ner", AN_TAG_LABELS, "labels"},
        {"turns", AN_TAG_LABELS, "labels"},
        {"box", AN_TAG_RECTANGLELABELS, "rectanglelabels"},
        {"poly", AN_TAG_POLYGONLABELS, "polygonlabels"},
        {"kp", AN_TAG_KEYPOINTLABELS, "keypointlabels"},
        {"speaker", AN_TAG_LABELS, "labels"},
        {"caption", AN_TAG_TEXTAREA, "textarea"},
        {"quality", AN_TAG_RATING, "rating"},
        {"score", AN_TAG_NUMBER, "number"},
        {"pref", AN_TAG_PAIRWISE, "pairwise"},
        {"rank", AN_TAG_RANKER, "ranker"},
        {"", AN_TAG_RELATIONS, "relation"},
    };
    assert_int_equal(cfg->n_controls, sizeof ctls / sizeof ctls[0]);
    for (size_t i = 0; i < cfg->n_controls; i++) {
        assert_string_equal(cfg->controls[i].name, ctls[i].name);
        assert_int_equal(cfg->controls[i].tag, ctls[i].tag);
        assert_string_equal(cfg->controls[i].result_type, ctls[i].type);
    }

    const an_control *ner = an_config_control(cfg, "ner");
    assert_labels(ner, 3, "PER", "ORG", "LOC"); /* LOC comes from the element's text */
    assert_true(ner->multiple);                 /* label controls default to several */
    assert_true(ner->required);
    assert_int_equal(ner->n_to, 1);
    assert_string_equal(ner->to_names[0], "text");
    assert_int_equal(ner->line, 6);

    const an_control *sent = an_config_control(cfg, "sentiment");
    assert_labels(sent, 3, "positive", "negative", "neutral"); /* choices inside nested View */
    assert_false(sent->multiple);
    assert_false(sent->required);

    assert_false(an_config_control(cfg, "html_ner")->multiple); /* choice="single" */
    assert_labels(an_config_control(cfg, "turns"), 2, "Question", "Answer");
    assert_labels(an_config_control(cfg, "box"), 2, "Car", "Person");
    assert_labels(an_config_control(cfg, "poly"), 1, "Road");
    assert_labels(an_config_control(cfg, "kp"), 1, "Eye");
    assert_labels(an_config_control(cfg, "speaker"), 2, "Alice", "Bob");

    const an_control *cap = an_config_control(cfg, "caption");
    assert_int_equal(cap->n_to, 2);
    assert_string_equal(cap->to_names[0], "image");
    assert_string_equal(cap->to_names[1], "video");

    assert_int_equal(an_config_control(cfg, "quality")->max_rating, 10);
    const an_control *score = an_config_control(cfg, "score");
    assert_true(score->has_min && score->has_max);
    assert_true(score->min == 0.0 && score->max == 1.5);

    const an_control *pref = an_config_control(cfg, "pref");
    assert_int_equal(pref->n_to, 2);
    assert_string_equal(pref->to_names[1], "right");

    const an_control *rel = an_config_first_control(cfg, AN_TAG_RELATIONS);
    assert_non_null(rel);
    assert_int_equal(rel->n_to, 0);
    assert_labels(rel, 2, "works_for", "lives_in");

    /* Lookups. */
    assert_ptr_equal(an_config_object(cfg, "image"), &cfg->objects[3]);
    assert_null(an_config_object(cfg, "ner"));
    assert_null(an_config_control(cfg, "text"));
    assert_null(an_config_control(cfg, "nope"));
    assert_ptr_equal(an_config_first_object(cfg, AN_TAG_TEXT), &cfg->objects[0]);
    assert_null(an_config_first_object(cfg, AN_TAG_VIEW));
    assert_ptr_equal(an_config_first_control(cfg, AN_TAG_LABELS), ner);
    assert_int_equal(an_control_label_index(ner, "ORG"), 1);
    assert_int_equal(an_control_label_index(ner, "org"), -1);
    an_config_free(cfg);
}

static void test_defaults_and_attributes(void **state)
{
    (void)state;
    an_config *cfg = parse_ok("<View><Text name=\"t\" value=\"Literal text\"/>"
                              "<Choices name=\"c\" toName=\"t\" choice=\"multiple\" "
                              "required=\"false\"><Choice value=\"a\"/></Choices>"
                              "<Rating name=\"r\" toName=\"t\"/>"
                              "<Number name=\"n\" toName=\"t\" min=\"-2.5\"/>"
                              "<RectangleLabels name=\"b\" toName=\"i\" choice=\"single\">"
                              "<Label value=\"x\"/></RectangleLabels>"
                              "<Image name=\"i\" value=\"$img\"/></View>");
    assert_null(cfg->objects[0].data_key); /* a literal, not a data reference */
    assert_string_equal(cfg->objects[0].value, "Literal text");
    assert_true(an_config_control(cfg, "c")->multiple);
    assert_false(an_config_control(cfg, "c")->required);
    assert_int_equal(an_config_control(cfg, "r")->max_rating, 5);
    const an_control *n = an_config_control(cfg, "n");
    assert_true(n->has_min);
    assert_false(n->has_max);
    assert_true(n->min == -2.5);
    /* toName may point at an object defined later. */
    assert_false(an_config_control(cfg, "b")->multiple);
    assert_string_equal(an_config_control(cfg, "b")->to_names[0], "i");
    an_config_free(cfg);

    /* toName lists tolerate blanks around the commas. */
    cfg = parse_ok("<View><Text name=\"a\" value=\"$a\"/><Text name=\"b\" value=\"$b\"/>"
                   "<Pairwise name=\"p\" toName=\" a , b \"/></View>");
    assert_string_equal(an_config_control(cfg, "p")->to_names[0], "a");
    assert_string_equal(an_config_control(cfg, "p")->to_names[1], "b");
    an_config_free(cfg);
}

static void test_tag_names(void **state)
{
    (void)state;
    assert_string_equal(an_tag_name(AN_TAG_RECTANGLELABELS), "RectangleLabels");
    assert_string_equal(an_tag_name(AN_TAG_KEYPOINTLABELS), "KeyPointLabels");
    assert_string_equal(an_tag_name(AN_TAG_HYPERTEXT), "HyperText");
    assert_string_equal(an_tag_name(AN_TAG_RELATION), "Relation");
    assert_string_equal(an_tag_name(AN_TAG_NONE), "?");
}

static void test_unknown_tags(void **state)
{
    (void)state;
    parse_fails("<View>\n  <Text name=\"t\" value=\"$t\"/>\n  <Taxonomy name=\"x\" "
                "toName=\"t\"/>\n</View>",
                "config:3", "<Taxonomy>", "line 3", NULL);
    /* Tag names are case-sensitive, as Label Studio writes them. */
    parse_fails("<View>\n<text name=\"t\" value=\"$t\"/></View>", "config:2", "<text>",
                "case-sensitive", NULL);
    parse_fails("<Foo/>", "config:1", "root tag is <Foo>", "<View>", NULL);
}

static void test_xml_errors(void **state)
{
    (void)state;
    parse_fails("<View>\n<Text name=\"t\" value=\"$t\">\n\n</View>", "config:4",
                "XML syntax error at line 4", NULL);
    parse_fails("<View>\n<Text name=\"t value=\"$t\"/>\n</View>", "config:2", "XML syntax error",
                NULL);
    parse_fails("", "config:1", "empty", NULL);
    parse_fails("   ", "config:1", "XML syntax error", NULL);
}

static void test_no_entities(void **state)
{
    (void)state;
    /* An external entity must never be fetched or expanded: the DOCTYPE itself is refused. */
    parse_fails("<?xml version=\"1.0\"?>\n<!DOCTYPE View [<!ENTITY x SYSTEM "
                "\"file:///etc/passwd\">]>\n<View><Header>&x;</Header></View>",
                "config:2", "DOCTYPE", NULL);
    /* In an attribute, libxml2 refuses the reference before the DOCTYPE check is reached. */
    parse_fails("<?xml version=\"1.0\"?>\n<!DOCTYPE View [<!ENTITY x SYSTEM "
                "\"file:///etc/passwd\">]>\n<View><Header value=\"&x;\"/></View>",
                "config:3", "external entity", NULL);
    parse_fails("<!DOCTYPE View [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>"
                "<View><Text name=\"t\" value=\"&b;\"/></View>",
                "config:1", "DOCTYPE", NULL);
}

static void test_missing_attributes(void **state)
{
    (void)state;
    parse_fails("<View>\n<Text value=\"$t\"/></View>", "config:2", "<Text>", "no name=", NULL);
    parse_fails("<View>\n<Image name=\"i\"/></View>", "config:2", "<Image name=\"i\">",
                "no value=", NULL);
    parse_fails("<View>\n<Image name=\"i\" value=\"\"/></View>", "config:2", "no value=", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$\"/></View>", "config:1", "without a field name",
                NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/>\n\n<Choices toName=\"t\">"
                "<Choice value=\"a\"/></Choices></View>",
                "config:3", "<Choices>", "no name=", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/>\n<Choices name=\"c\">"
                "<Choice value=\"a\"/></Choices></View>",
                "config:2", "<Choices name=\"c\">", "no toName=", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/>\n<TextArea name=\"c\" toName=\" , \"/>"
                "</View>",
                "config:2", "empty toName=", NULL);
}

static void test_bad_references(void **state)
{
    (void)state;
    parse_fails("<View><Text name=\"t\" value=\"$t\"/><Image name=\"img\" value=\"$i\"/>\n"
                "<Choices name=\"c\" toName=\"txt\"><Choice value=\"a\"/></Choices></View>",
                "config:2", "toName=\"txt\"", "names no object", "t, img", NULL);
    /* A control is not an object. */
    parse_fails("<View><Text name=\"t\" value=\"$t\"/><Rating name=\"r\" toName=\"t\"/>\n"
                "<TextArea name=\"c\" toName=\"t,r\"/></View>",
                "config:2", "toName=\"r\"", "names no object", NULL);
    parse_fails("<View>\n<Text name=\"t\" value=\"$t\"/>\n<Image name=\"t\" value=\"$i\"/></View>",
                "config:3", "\"t\" already used at line 2", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/>\n<Rating name=\"t\" toName=\"t\"/></View>",
                "config:2", "<Rating>", "\"t\" already used", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/><Rating name=\"r\" toName=\"t\"/>\n"
                "<Number name=\"r\" toName=\"t\"/></View>",
                "config:2", "\"r\" already used at line 1", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/><Relations/>\n<Relations/></View>",
                "config:2", "single Relations", NULL);
}

static void test_missing_taxonomy(void **state)
{
    (void)state;
    parse_fails("<View><Text name=\"t\" value=\"$t\"/>\n<Choices name=\"c\" toName=\"t\">"
                "</Choices></View>",
                "config:2", "<Choices name=\"c\">", "no <Choice>", NULL);
    static const char *const tags[] = {"Labels", "RectangleLabels", "PolygonLabels",
                                       "KeyPointLabels"};
    for (size_t i = 0; i < 4; i++) {
        char xml[512], needle[64];
        snprintf(xml, sizeof xml,
                 "<View><Image name=\"i\" value=\"$i\"/><Text name=\"t\" value=\"$t\"/>\n"
                 "<%s name=\"l\" toName=\"%s\"><View/></%s></View>",
                 tags[i], i == 0 ? "t" : "i", tags[i]);
        snprintf(needle, sizeof needle, "<%s name=\"l\">", tags[i]);
        parse_fails(xml, "config:2", needle, "no <Label>", NULL);
    }
    parse_fails("<View><Text name=\"t\" value=\"$t\"/><Choices name=\"c\" toName=\"t\">\n"
                "<Choice/></Choices></View>",
                "config:2", "<Choice>", "no value=", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/><Choices name=\"c\" toName=\"t\">\n"
                "<Choice>  </Choice></Choices></View>",
                "config:2", "no value=", NULL);
    /* A Relations tag without Relation children is fine: relations without labels. */
    an_config *cfg = parse_ok("<View><Relations/></View>");
    assert_int_equal(cfg->controls[0].n_labels, 0);
    an_config_free(cfg);
}

static void test_misplaced_children(void **state)
{
    (void)state;
    parse_fails("<View><Text name=\"t\" value=\"$t\"/>\n<Choice value=\"a\"/></View>", "config:2",
                "<Choice>", "inside <Choices>", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/><Choices name=\"c\" toName=\"t\">\n"
                "<Label value=\"a\"/></Choices></View>",
                "config:2", "<Label>", "inside <Labels>", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/><Labels name=\"c\" toName=\"t\">\n"
                "<Relation value=\"a\"/></Labels></View>",
                "config:2", "<Relation>", "inside <Relations>", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/><Choices name=\"c\" toName=\"t\">\n"
                "<Text name=\"u\" value=\"$u\"/></Choices></View>",
                "config:2", "<Text>", "cannot be inside <Choices>", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/><Choices name=\"c\" toName=\"t\">"
                "<Choice value=\"a\">\n<Header value=\"h\"/></Choice></Choices></View>",
                "config:2", "<Header>", "inside <Choice>", NULL);
}

static void test_type_fit(void **state)
{
    (void)state;
    parse_fails("<View><Text name=\"t\" value=\"$t\"/>\n<RectangleLabels name=\"b\" toName=\"t\">"
                "<Label value=\"x\"/></RectangleLabels></View>",
                "config:2", "<RectangleLabels name=\"b\">", "Text object \"t\"",
                "Image objects only", NULL);
    parse_fails("<View><Audio name=\"a\" value=\"$a\"/>\n<PolygonLabels name=\"b\" toName=\"a\">"
                "<Label value=\"x\"/></PolygonLabels></View>",
                "config:2", "Audio object", "Image objects only", NULL);
    parse_fails("<View><Video name=\"v\" value=\"$v\"/>\n<KeyPointLabels name=\"b\" toName=\"v\">"
                "<Label value=\"x\"/></KeyPointLabels></View>",
                "config:2", "Video object", NULL);
    parse_fails("<View><Image name=\"i\" value=\"$i\"/>\n<Labels name=\"l\" toName=\"i\">"
                "<Label value=\"x\"/></Labels></View>",
                "config:2", "Image object", "Text, HyperText, Paragraphs and Audio", NULL);
    parse_fails("<View><Video name=\"v\" value=\"$v\"/>\n<Labels name=\"l\" toName=\"v\">"
                "<Label value=\"x\"/></Labels></View>",
                "config:2", "Video object", NULL);
    parse_fails("<View><Text name=\"a\" value=\"$a\"/>\n<Pairwise name=\"p\" toName=\"a\"/></View>",
                "config:2", "exactly two", NULL);
    /* Choices, TextArea, Rating, Number and Ranker take any object. */
    an_config *cfg =
        parse_ok("<View><Audio name=\"a\" value=\"$a\"/><Video name=\"v\" "
                 "value=\"$v\"/><Image name=\"i\" value=\"$i\"/>"
                 "<Choices name=\"c\" toName=\"a,v,i\"><Choice value=\"x\"/></Choices>"
                 "<TextArea name=\"ta\" toName=\"v\"/><Rating name=\"r\" toName=\"i\"/>"
                 "<Number name=\"n\" toName=\"a\"/><Ranker name=\"k\" toName=\"v\"/>"
                 "<Pairwise name=\"p\" toName=\"a,i\"/></View>");
    assert_int_equal(cfg->n_controls, 6);
    an_config_free(cfg);
}

static void test_bad_attribute_values(void **state)
{
    (void)state;
    parse_fails("<View><Text name=\"t\" value=\"$t\"/>\n<Choices name=\"c\" toName=\"t\" "
                "choice=\"many\"><Choice value=\"a\"/></Choices></View>",
                "config:2", "choice=\"many\"", "single, single-radio or multiple", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/>\n<Rating name=\"r\" toName=\"t\" "
                "maxRating=\"ten\"/></View>",
                "config:2", "maxRating=\"ten\"", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/>\n<Rating name=\"r\" toName=\"t\" "
                "maxRating=\"0\"/></View>",
                "config:2", "maxRating=\"0\"", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/>\n<Number name=\"n\" toName=\"t\" "
                "min=\"1x\"/></View>",
                "config:2", "min=\"1x\"", "not a number", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/>\n<Number name=\"n\" toName=\"t\" "
                "min=\"3\" max=\"2\"/></View>",
                "config:2", "min=3 above max=2", NULL);
    parse_fails("<View><Text name=\"t\" value=\"$t\"/>\n<TextArea name=\"n\" toName=\"t\" "
                "required=\"yes\"/></View>",
                "config:2", "required=\"yes\"", NULL);
}

static void test_large_generated_config(void **state)
{
    (void)state;
    /* Big generated taxonomies and many controls: every name and label kept, in order. */
    an_buf b;
    an_buf_init(&b);
    an_buf_adds(&b, "<View><Text name=\"t\" value=\"$t\"/><Choices name=\"big\" toName=\"t\">");
    for (int i = 0; i < 1000; i++)
        an_buf_addf(&b, "<Choice value=\"c%d\"/>", i);
    an_buf_adds(&b, "</Choices>");
    for (int i = 0; i < 300; i++)
        an_buf_addf(&b, "<Rating name=\"r%d\" toName=\"t\"/>", i);
    an_buf_adds(&b, "<Rating name=\"r17\" toName=\"t\"/></View>");
    an_config *cfg = (an_config *)1;
    an_err err;
    assert_int_equal(an_config_parse(b.p, b.len, &cfg, &err), -AN_EINVAL);
    assert_null(cfg);
    assert_non_null(strstr(err.msg, "\"r17\" already used"));
    an_buf_truncate(&b, b.len - strlen("<Rating name=\"r17\" toName=\"t\"/></View>"));
    an_buf_adds(&b, "</View>");
    cfg = parse_ok(b.p);
    const an_control *big = an_config_control(cfg, "big");
    assert_int_equal(big->n_labels, 1000);
    assert_string_equal(big->labels[999], "c999");
    assert_int_equal(an_control_label_index(big, "c513"), 513);
    assert_int_equal(cfg->n_controls, 301);
    assert_string_equal(cfg->controls[300].name, "r299");
    an_config_free(cfg);
    an_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_tag),
        cmocka_unit_test(test_defaults_and_attributes),
        cmocka_unit_test(test_tag_names),
        cmocka_unit_test(test_unknown_tags),
        cmocka_unit_test(test_xml_errors),
        cmocka_unit_test(test_no_entities),
        cmocka_unit_test(test_missing_attributes),
        cmocka_unit_test(test_bad_references),
        cmocka_unit_test(test_missing_taxonomy),
        cmocka_unit_test(test_misplaced_children),
        cmocka_unit_test(test_type_fit),
        cmocka_unit_test(test_bad_attribute_values),
        cmocka_unit_test(test_large_generated_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
