/* Validation of task data and result lists against a labeling config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "model/validate.h"

static const char CONFIG[] =
    "<View>"
    "<Text name='text' value='$text'/>"
    "<Labels name='ner' toName='text'><Label value='PER'/><Label value='ORG'/>"
    "<Label value='LOC'/></Labels>"
    "<Choices name='sentiment' toName='text'><Choice value='positive'/>"
    "<Choice value='negative'/><Choice value='neutral'/></Choices>"
    "<Choices name='topics' toName='text' choice='multiple'><Choice value='news'/>"
    "<Choice value='sport'/></Choices>"
    "<HyperText name='html' value='$html'/>"
    "<Labels name='html_ner' toName='html' choice='single'><Label value='Title'/>"
    "<Label value='Body'/></Labels>"
    "<Paragraphs name='dialogue' value='$dialogue'/>"
    "<Labels name='turns' toName='dialogue'><Label value='Question'/></Labels>"
    "<Image name='image' value='$image'/>"
    "<RectangleLabels name='box' toName='image'><Label value='Car'/><Label value='Person'/>"
    "</RectangleLabels>"
    "<PolygonLabels name='poly' toName='image'><Label value='Road'/></PolygonLabels>"
    "<KeyPointLabels name='kp' toName='image'><Label value='Eye'/></KeyPointLabels>"
    "<Audio name='audio' value='$audio'/>"
    "<Labels name='speaker' toName='audio'><Label value='Alice'/></Labels>"
    "<Video name='video' value='$video'/>"
    "<TextArea name='caption' toName='image,video'/>"
    "<Rating name='quality' toName='text' maxRating='10'/>"
    "<Number name='score' toName='text' min='0' max='1.5'/>"
    "<Text name='left' value='$answer_a'/><Text name='right' value='$answer_b'/>"
    "<Pairwise name='pref' toName='left,right'/>"
    "<Ranker name='rank' toName='text'/>"
    "<Relations><Relation value='works_for'/><Relation value='lives_in'/></Relations>"
    "</View>";

/* 8 code points in 19 bytes: 我 爱 😀 (4 bytes, one code point) 北 京 e U+0301 (a combining
 * mark: its own code point, as in Python) and '!'. */
#define TEXT "我爱😀北京e\xcc\x81!"

static an_config *cfg;
static json_t *data;

/* JSON text with ' standing for " keeps the test cases readable. */
static json_t *J(const char *text)
{
    char *s = an_xstrdup(text);
    for (char *p = s; *p; p++)
        if (*p == '\'') *p = '"';
    json_error_t je;
    json_t *j = json_loads(s, JSON_DECODE_ANY, &je);
    if (!j) fail_msg("bad test JSON %s: %s", s, je.text);
    free(s);
    return j;
}

static int setup(void **state)
{
    (void)state;
    an_err err;
    if (an_config_parse(CONFIG, strlen(CONFIG), &cfg, &err) != 0) {
        fprintf(stderr, "config: %s: %s\n", err.where, err.msg);
        return -1;
    }
    data = J("{'text':'" TEXT "','html':'<p>Hello</p>','dialogue':[{'author':'A','text':'Hi'}],"
             "'image':'http://example.com/a.jpg','audio':'a.wav','video':'v.mp4',"
             "'answer_a':'A','answer_b':'B'}");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    an_config_free(cfg);
    json_decref(data);
    return 0;
}

static void result_ok(const char *result)
{
    json_t *r = J(result);
    an_err err;
    an_err_clear(&err);
    int rc = an_validate_result(cfg, data, r, &err);
    if (rc) fail_msg("unexpected error for %s at %s: %s", result, err.where, err.msg);
    json_decref(r);
}

/* Expects AN_EINVAL at where, with every needle (NULL-terminated) in the message. */
static void result_fails(const char *result, const char *where, ...)
{
    json_t *r = J(result);
    an_err err;
    an_err_clear(&err);
    int rc = an_validate_result(cfg, data, r, &err);
    json_decref(r);
    if (rc == 0) fail_msg("accepted: %s", result);
    assert_int_equal(rc, -AN_EINVAL);
    assert_int_equal(err.code, AN_EINVAL);
    if (strcmp(err.where, where) != 0)
        fail_msg("where \"%s\" != \"%s\" (message: %s)", err.where, where, err.msg);
    va_list ap;
    va_start(ap, where);
    for (const char *needle; (needle = va_arg(ap, const char *));)
        if (!strstr(err.msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
    va_end(ap);
}

/* A single Text span item for ner. */
static void span(char *out, size_t cap, const char *value)
{
    snprintf(out, cap,
             "[{'id':'r1','from_name':'ner','to_name':'text','type':'labels','value':{%s}}]",
             value);
}

/* ---- happy paths ---- */

static void test_every_type_accepted(void **state)
{
    (void)state;
    result_ok("[]");
    result_ok(
        "[{'id':'a','from_name':'ner','to_name':'text','type':'labels',"
        "  'value':{'start':3,'end':5,'text':'北京','labels':['LOC']}},"
        " {'id':'b','from_name':'ner','to_name':'text','type':'labels',"
        "  'value':{'start':0,'end':2,'labels':['PER','ORG']}},"
        " {'from_name':'sentiment','to_name':'text','type':'choices',"
        "  'value':{'choices':['positive']}},"
        " {'from_name':'topics','to_name':'text','type':'choices',"
        "  'value':{'choices':['news','sport']}},"
        " {'id':'h','from_name':'html_ner','to_name':'html','type':'labels',"
        "  'value':{'start':'/p[1]/text()[1]','end':'/p[1]/text()[1]','startOffset':0,"
        "   'endOffset':5,'text':'Hello','labels':['Title']}},"
        " {'id':'p','from_name':'turns','to_name':'dialogue','type':'labels',"
        "  'value':{'start':'0','end':0,'startOffset':0,'endOffset':2,'labels':['Question']}},"
        " {'id':'bx','from_name':'box','to_name':'image','type':'rectanglelabels',"
        "  'original_width':640,'original_height':480,"
        "  'value':{'x':10,'y':20.5,'width':30,'height':40,'rotation':0,"
        "   'rectanglelabels':['Car']}},"
        " {'id':'pg','from_name':'poly','to_name':'image','type':'polygonlabels',"
        "  'value':{'points':[[0,0],[100,0],[50.5,100]],'polygonlabels':['Road']}},"
        " {'id':'k','from_name':'kp','to_name':'image','type':'keypointlabels',"
        "  'value':{'x':50,'y':50,'width':0.5,'keypointlabels':['Eye']}},"
        " {'id':'au','from_name':'speaker','to_name':'audio','type':'labels',"
        "  'value':{'start':1.25,'end':3,'channel':0,'labels':['Alice']}},"
        " {'from_name':'caption','to_name':'image','type':'textarea',"
        "  'value':{'text':['a red car','on a road']}},"
        " {'from_name':'caption','to_name':'video','type':'textarea','value':{'text':'clip'}},"
        " {'from_name':'quality','to_name':'text','type':'rating','value':{'rating':10}},"
        " {'from_name':'score','to_name':'text','type':'number','value':{'number':1.5}},"
        " {'from_name':'pref','to_name':'pref','type':'pairwise','value':{'selected':'left'}},"
        " {'from_name':'pref','to_name':'left,right','type':'pairwise',"
        "  'value':{'selected':'right'}},"
        " {'from_name':'rank','to_name':'text','type':'ranker',"
        "  'value':{'ranker':{'best':['a','b'],'rest':[]}}},"
        " {'from_name':'rank','to_name':'text','type':'ranker','value':{'ranker':['a','b']}},"
        " {'type':'relation','from_id':'a','to_id':'b','direction':'right',"
        "  'labels':['works_for']},"
        " {'type':'relation','from_id':'bx','to_id':'k','direction':'bi'}]");
}

/* ---- code-point offsets ---- */

static void test_spans_count_code_points(void **state)
{
    (void)state;
    char r[512];
    /* The emoji is one code point (four UTF-8 bytes, two UTF-16 units). */
    span(r, sizeof r, "'start':2,'end':3,'text':'😀','labels':['PER']");
    result_ok(r);
    span(r, sizeof r, "'start':2,'end':5,'text':'😀北京','labels':['PER']");
    result_ok(r);
    /* e + U+0301 is two code points: the base letter alone is a valid span ... */
    span(r, sizeof r, "'start':5,'end':6,'text':'e','labels':['PER']");
    result_ok(r);
    span(r, sizeof r, "'start':5,'end':7,'text':'e\\u0301','labels':['PER']");
    result_ok(r);
    span(r, sizeof r, "'start':0,'end':8,'text':'" TEXT "','labels':['PER']");
    result_ok(r);
    /* ... and the precomposed é (U+00E9) is not the same text. */
    span(r, sizeof r, "'start':5,'end':7,'text':'\\u00e9','labels':['PER']");
    result_fails(r, "result[0].value.text", "differs from the text at [5, 7)", "code points", NULL);
    /* Offsets a UTF-16 counter would produce (the emoji counted twice) are refused. */
    span(r, sizeof r, "'start':4,'end':6,'text':'北京','labels':['PER']");
    result_fails(r, "result[0].value.text", "\"北京\" differs", "which is \"京e\"", NULL);
    /* Byte offsets run past the end. */
    span(r, sizeof r, "'start':9,'end':15,'labels':['PER']");
    result_fails(r, "result[0].value.end", "past the end", "8 code points", NULL);
    span(r, sizeof r, "'start':0,'end':9,'labels':['PER']");
    result_fails(r, "result[0].value.end", "value.end is 9", NULL);
}

static void test_text_span_errors(void **state)
{
    (void)state;
    char r[512];
    span(r, sizeof r, "'end':2,'labels':['PER']");
    result_fails(r, "result[0].value.start", "missing", NULL);
    span(r, sizeof r, "'start':1.0,'end':2,'labels':['PER']");
    result_fails(r, "result[0].value.start", "whole number", "a real number", NULL);
    span(r, sizeof r, "'start':-1,'end':2,'labels':['PER']");
    result_fails(r, "result[0].value.start", "-1", NULL);
    span(r, sizeof r, "'start':2,'labels':['PER']");
    result_fails(r, "result[0].value.end", "missing", NULL);
    span(r, sizeof r, "'start':2,'end':2,'labels':['PER']");
    result_fails(r, "result[0].value.end", "greater than value.start", NULL);
    span(r, sizeof r, "'start':3,'end':2,'labels':['PER']");
    result_fails(r, "result[0].value.end", "greater than value.start", NULL);
    span(r, sizeof r, "'start':0,'end':1,'text':7,'labels':['PER']");
    result_fails(r, "result[0].value.text", "must be a string", NULL);
    span(r, sizeof r, "'start':0,'end':1,'labels':['FOO']");
    result_fails(r, "result[0].value.labels[0]",
                 "label \"FOO\" is not in the taxonomy of control \"ner\"; expected one of: "
                 "PER, ORG, LOC",
                 NULL);
    span(r, sizeof r, "'start':0,'end':1,'labels':['PER',3]");
    result_fails(r, "result[0].value.labels[1]", "must be a string", NULL);
    span(r, sizeof r, "'start':0,'end':1,'labels':[]");
    result_fails(r, "result[0].value.labels", "empty", NULL);
    span(r, sizeof r, "'start':0,'end':1,'labels':'PER'");
    result_fails(r, "result[0].value.labels", "array", NULL);
    span(r, sizeof r, "'start':0,'end':1");
    result_fails(r, "result[0].value.labels", "array", "nothing", NULL);

    /* The text lives in the task data; without it no span can be checked. */
    json_t *saved = json_incref(json_object_get(data, "text"));
    json_object_del(data, "text");
    span(r, sizeof r, "'start':0,'end':1,'labels':['PER']");
    result_fails(r, "data.text", "no string field \"text\"", NULL);
    json_object_set_new(data, "text", saved);
}

static void test_literal_text_object(void **state)
{
    (void)state;
    const char *xml = "<View><Text name='t' value='Hello world'/>"
                      "<Labels name='l' toName='t'><Label value='W'/></Labels></View>";
    an_config *c;
    an_err err;
    assert_int_equal(an_config_parse(xml, strlen(xml), &c, &err), 0);
    json_t *d = J("{}");
    json_t *r = J("[{'from_name':'l','to_name':'t','type':'labels',"
                  "'value':{'start':6,'end':11,'text':'world','labels':['W']}}]");
    assert_int_equal(an_validate_result(c, d, r, &err), 0);
    assert_int_equal(an_validate_task_data(c, d, &err), 0); /* a literal reads no data */
    json_decref(r);
    r = J("[{'from_name':'l','to_name':'t','type':'labels',"
          "'value':{'start':6,'end':12,'labels':['W']}}]");
    assert_int_equal(an_validate_result(c, d, r, &err), -AN_EINVAL);
    assert_string_equal(err.where, "result[0].value.end");
    json_decref(r);
    json_decref(d);
    an_config_free(c);
}

/* ---- item shape ---- */

static void test_item_shape(void **state)
{
    (void)state;
    json_t *obj = J("{}");
    an_err err;
    assert_int_equal(an_validate_result(cfg, data, obj, &err), -AN_EINVAL);
    assert_string_equal(err.where, "result");
    assert_non_null(strstr(err.msg, "array"));
    json_decref(obj);

    result_fails("[3]", "result[0]", "must be an object", NULL);
    result_fails("[{'from_name':'sentiment','to_name':'text','value':{}}]", "result[0].type",
                 "nothing", NULL);
    result_fails("[{'id':7,'from_name':'sentiment','to_name':'text','type':'choices',"
                 "'value':{'choices':['positive']}}]",
                 "result[0].id", "string", NULL);
    result_fails("[{'to_name':'text','type':'choices','value':{'choices':['positive']}}]",
                 "result[0].from_name", "missing", "ner, sentiment", NULL);
    result_fails("[{'from_name':'sentiments','to_name':'text','type':'choices',"
                 "'value':{'choices':['positive']}}]",
                 "result[0].from_name", "\"sentiments\" names no control", "sentiment", NULL);
    /* An object name is not a control; nor is the unnamed Relations tag. */
    result_fails("[{'from_name':'text','to_name':'text','type':'choices','value':{}}]",
                 "result[0].from_name", "names no control", NULL);
    result_fails("[{'from_name':'','to_name':'text','type':'choices','value':{}}]",
                 "result[0].from_name", "names no control", NULL);
    result_fails("[{'from_name':'sentiment','type':'choices','value':{'choices':['positive']}}]",
                 "result[0].to_name", "missing", "text", NULL);
    result_fails("[{'from_name':'sentiment','to_name':'image','type':'choices',"
                 "'value':{'choices':['positive']}}]",
                 "result[0].to_name",
                 "to_name \"image\" is not an object of control \"sentiment\"; expected one of: "
                 "text",
                 NULL);
    result_fails("[{'from_name':'box','to_name':'image','type':'rectangle',"
                 "'value':{'x':1,'y':1,'width':1,'height':1,'rectanglelabels':['Car']}}]",
                 "result[0].type", "\"rectangle\" does not fit control \"box\"",
                 "expected \"rectanglelabels\"", NULL);
    result_fails("[{'from_name':'sentiment','to_name':'text','type':'labels',"
                 "'value':{'choices':['positive']}}]",
                 "result[0].type", "expected \"choices\"", NULL);
    result_fails("[{'from_name':'sentiment','to_name':'text','type':'choices','value':[1]}]",
                 "result[0].value", "must be an object", NULL);
    /* The failing item's index is the one reported. */
    result_fails("[{'from_name':'quality','to_name':'text','type':'rating','value':{'rating':1}},"
                 " {'from_name':'quality','to_name':'text','type':'rating','value':{'rating':0}}]",
                 "result[1].value.rating", NULL);
}

static void test_choices(void **state)
{
    (void)state;
    result_fails("[{'from_name':'sentiment','to_name':'text','type':'choices',"
                 "'value':{'choices':['meh']}}]",
                 "result[0].value.choices[0]",
                 "choice \"meh\" is not in the taxonomy of control \"sentiment\"; expected one "
                 "of: positive, negative, neutral",
                 NULL);
    result_fails("[{'from_name':'sentiment','to_name':'text','type':'choices',"
                 "'value':{'choices':['positive','negative']}}]",
                 "result[0].value.choices", "takes a single choice", "has 2", NULL);
    result_fails("[{'from_name':'topics','to_name':'text','type':'choices',"
                 "'value':{'choices':[]}}]",
                 "result[0].value.choices", "empty", NULL);
    result_fails("[{'from_name':'topics','to_name':'text','type':'choices',"
                 "'value':{'choices':'news'}}]",
                 "result[0].value.choices", "array", NULL);
    result_fails("[{'from_name':'topics','to_name':'text','type':'choices',"
                 "'value':{'choices':['news',null]}}]",
                 "result[0].value.choices[1]", "string", NULL);
    /* Label Studio's key for choices is "choices", not "labels". */
    result_fails("[{'from_name':'topics','to_name':'text','type':'choices',"
                 "'value':{'labels':['news']}}]",
                 "result[0].value.choices", "nothing", NULL);
}

static void test_single_label_control(void **state)
{
    (void)state;
    result_fails("[{'from_name':'html_ner','to_name':'html','type':'labels',"
                 "'value':{'start':'/p[1]','end':'/p[1]','labels':['Title','Body']}}]",
                 "result[0].value.labels", "takes a single label", NULL);
}

static void test_hypertext_and_paragraphs(void **state)
{
    (void)state;
    result_fails("[{'from_name':'html_ner','to_name':'html','type':'labels',"
                 "'value':{'end':'/p[1]','labels':['Title']}}]",
                 "result[0].value.start", "missing", NULL);
    result_fails("[{'from_name':'html_ner','to_name':'html','type':'labels',"
                 "'value':{'start':'/p[1]','end':{},'labels':['Title']}}]",
                 "result[0].value.end", "XPath", NULL);
    result_fails("[{'from_name':'html_ner','to_name':'html','type':'labels',"
                 "'value':{'start':'/p[1]','end':'/p[1]','startOffset':-3,'labels':['Title']}}]",
                 "result[0].value.startOffset", "-3", NULL);
    result_fails("[{'from_name':'html_ner','to_name':'html','type':'labels',"
                 "'value':{'start':'/p[1]','end':'/p[1]','endOffset':'5','labels':['Title']}}]",
                 "result[0].value.endOffset", "whole number", NULL);
    result_fails("[{'from_name':'turns','to_name':'dialogue','type':'labels',"
                 "'value':{'start':-1,'end':0,'labels':['Question']}}]",
                 "result[0].value.start", "negative", NULL);
    result_fails("[{'from_name':'turns','to_name':'dialogue','type':'labels',"
                 "'value':{'start':0,'end':0,'labels':['Answer']}}]",
                 "result[0].value.labels[0]", "\"Answer\"", "expected one of: Question", NULL);
}

static void test_audio(void **state)
{
    (void)state;
    result_ok("[{'from_name':'speaker','to_name':'audio','type':'labels',"
              "'value':{'start':2,'end':2,'labels':['Alice']}}]");
    result_fails("[{'from_name':'speaker','to_name':'audio','type':'labels',"
                 "'value':{'start':3,'end':2.5,'labels':['Alice']}}]",
                 "result[0].value.end", "before value.start", NULL);
    result_fails("[{'from_name':'speaker','to_name':'audio','type':'labels',"
                 "'value':{'start':-0.5,'end':2.5,'labels':['Alice']}}]",
                 "result[0].value.start", "start at 0", NULL);
    result_fails("[{'from_name':'speaker','to_name':'audio','type':'labels',"
                 "'value':{'start':'1s','end':2.5,'labels':['Alice']}}]",
                 "result[0].value.start", "number", "seconds", NULL);
}

/* ---- image regions ---- */

static void rect(char *out, size_t cap, const char *value, const char *extra)
{
    snprintf(out, cap,
             "[{'id':'r','from_name':'box','to_name':'image','type':'rectanglelabels'%s,"
             "'value':{%s}}]",
             extra, value);
}

static void test_rectangles(void **state)
{
    (void)state;
    char r[512];
    rect(r, sizeof r, "'x':60,'y':0,'width':40,'height':100,'rectanglelabels':['Car','Person']",
         "");
    result_ok(r);
    /* Floating-point slack at the edge. */
    rect(r, sizeof r,
         "'x':70.1,'y':0,'width':29.900000000000006,'height':1,'rectanglelabels':['Car']", "");
    result_ok(r);
    /* A rotated box may reach past the edge in unrotated terms. */
    rect(r, sizeof r,
         "'x':90,'y':90,'width':20,'height':20,'rotation':45,"
         "'rectanglelabels':['Car']",
         "");
    result_ok(r);

    rect(r, sizeof r, "'x':-1,'y':0,'width':10,'height':10,'rectanglelabels':['Car']", "");
    result_fails(r, "result[0].value.x", "0..100", NULL);
    rect(r, sizeof r, "'x':'10','y':0,'width':10,'height':10,'rectanglelabels':['Car']", "");
    result_fails(r, "result[0].value.x", "must be a number", NULL);
    rect(r, sizeof r, "'x':0,'y':0,'width':10,'rectanglelabels':['Car']", "");
    result_fails(r, "result[0].value.height", "missing", NULL);
    rect(r, sizeof r, "'x':0,'y':0,'width':0,'height':10,'rectanglelabels':['Car']", "");
    result_fails(r, "result[0].value.width", "positive width", NULL);
    rect(r, sizeof r, "'x':0,'y':0,'width':5,'height':-2,'rectanglelabels':['Car']", "");
    result_fails(r, "result[0].value.height", "positive height", NULL);
    rect(r, sizeof r, "'x':60,'y':0,'width':41,'height':10,'rectanglelabels':['Car']", "");
    result_fails(r, "result[0].value.width", "right edge", "101", NULL);
    rect(r, sizeof r, "'x':0,'y':95,'width':5,'height':10,'rectanglelabels':['Car']", "");
    result_fails(r, "result[0].value.height", "bottom edge", NULL);
    rect(r, sizeof r,
         "'x':0,'y':0,'width':5,'height':5,'rotation':'90',"
         "'rectanglelabels':['Car']",
         "");
    result_fails(r, "result[0].value.rotation", "number", NULL);
    rect(r, sizeof r, "'x':0,'y':0,'width':5,'height':5,'rectanglelabels':['Truck']", "");
    result_fails(r, "result[0].value.rectanglelabels[0]", "\"Truck\"",
                 "expected one of: Car, Person", NULL);
    /* Label Studio keeps shape labels under the type's own key. */
    rect(r, sizeof r, "'x':0,'y':0,'width':5,'height':5,'labels':['Car']", "");
    result_fails(r, "result[0].value.rectanglelabels", "array", NULL);
    rect(r, sizeof r, "'x':0,'y':0,'width':5,'height':5,'rectanglelabels':['Car']",
         ",'original_width':0");
    result_fails(r, "result[0].original_width", "positive whole number", NULL);
    rect(r, sizeof r, "'x':0,'y':0,'width':5,'height':5,'rectanglelabels':['Car']",
         ",'original_height':480.5");
    result_fails(r, "result[0].original_height", "positive whole number", NULL);
}

static void test_polygons(void **state)
{
    (void)state;
    result_fails("[{'from_name':'poly','to_name':'image','type':'polygonlabels',"
                 "'value':{'points':[[0,0],[10,10]],'polygonlabels':['Road']}}]",
                 "result[0].value.points", "at least 3", NULL);
    result_fails("[{'from_name':'poly','to_name':'image','type':'polygonlabels',"
                 "'value':{'points':'0,0 1,1 2,2','polygonlabels':['Road']}}]",
                 "result[0].value.points", "array", NULL);
    result_fails("[{'from_name':'poly','to_name':'image','type':'polygonlabels',"
                 "'value':{'points':[[0,0],[10,10,3],[5,5]],'polygonlabels':['Road']}}]",
                 "result[0].value.points[1]", "[x, y] pair", NULL);
    result_fails("[{'from_name':'poly','to_name':'image','type':'polygonlabels',"
                 "'value':{'points':[[0,0],[10,10],[5,101]],'polygonlabels':['Road']}}]",
                 "result[0].value.points[2]", "y = 101", "0..100", NULL);
    result_fails("[{'from_name':'poly','to_name':'image','type':'polygonlabels',"
                 "'value':{'points':[[0,0],[10,10],[5,5]],'polygonlabels':['Car']}}]",
                 "result[0].value.polygonlabels[0]", "\"Car\"", NULL);
}

static void test_keypoints(void **state)
{
    (void)state;
    result_fails("[{'from_name':'kp','to_name':'image','type':'keypointlabels',"
                 "'value':{'x':120,'y':5,'keypointlabels':['Eye']}}]",
                 "result[0].value.x", "120", "0..100", NULL);
    result_fails("[{'from_name':'kp','to_name':'image','type':'keypointlabels',"
                 "'value':{'x':12,'keypointlabels':['Eye']}}]",
                 "result[0].value.y", "missing", NULL);
    result_fails("[{'from_name':'kp','to_name':'image','type':'keypointlabels',"
                 "'value':{'x':12,'y':5,'width':-1,'keypointlabels':['Eye']}}]",
                 "result[0].value.width", "negative", NULL);
    result_fails("[{'from_name':'kp','to_name':'image','type':'keypointlabels',"
                 "'value':{'x':12,'y':5,'keypointlabels':['Nose']}}]",
                 "result[0].value.keypointlabels[0]", "\"Nose\"", NULL);
}

/* ---- answers ---- */

static void test_answers(void **state)
{
    (void)state;
    result_fails("[{'from_name':'caption','to_name':'image','type':'textarea',"
                 "'value':{'text':5}}]",
                 "result[0].value.text", "array of strings", NULL);
    result_fails("[{'from_name':'caption','to_name':'image','type':'textarea',"
                 "'value':{'text':['ok',5]}}]",
                 "result[0].value.text[1]", "string", NULL);
    result_fails("[{'from_name':'caption','to_name':'text','type':'textarea',"
                 "'value':{'text':'x'}}]",
                 "result[0].to_name", "expected one of: image, video", NULL);

    result_fails("[{'from_name':'quality','to_name':'text','type':'rating','value':{'rating':0}}]",
                 "result[0].value.rating", "from 1 to 10", NULL);
    result_fails("[{'from_name':'quality','to_name':'text','type':'rating','value':{'rating':11}}]",
                 "result[0].value.rating", "11", NULL);
    result_fails("[{'from_name':'quality','to_name':'text','type':'rating',"
                 "'value':{'rating':3.5}}]",
                 "result[0].value.rating", "whole number", NULL);

    result_ok("[{'from_name':'score','to_name':'text','type':'number','value':{'number':0}}]");
    result_fails("[{'from_name':'score','to_name':'text','type':'number',"
                 "'value':{'number':-0.1}}]",
                 "result[0].value.number", "below the minimum 0", NULL);
    result_fails("[{'from_name':'score','to_name':'text','type':'number','value':{'number':2}}]",
                 "result[0].value.number", "above the maximum 1.5", NULL);
    result_fails("[{'from_name':'score','to_name':'text','type':'number',"
                 "'value':{'number':'1'}}]",
                 "result[0].value.number", "must be a number", NULL);

    result_ok("[{'from_name':'pref','to_name':'left','type':'pairwise',"
              "'value':{'selected':'left'}}]");
    result_fails("[{'from_name':'pref','to_name':'pref','type':'pairwise',"
                 "'value':{'selected':'middle'}}]",
                 "result[0].value.selected", "\"left\" or \"right\"", NULL);
    result_fails("[{'from_name':'pref','to_name':'left,text','type':'pairwise',"
                 "'value':{'selected':'left'}}]",
                 "result[0].to_name", "left, right", NULL);

    result_fails("[{'from_name':'rank','to_name':'text','type':'ranker','value':{'ranker':'a'}}]",
                 "result[0].value.ranker", "object", NULL);
    result_fails("[{'from_name':'rank','to_name':'text','type':'ranker','value':{}}]",
                 "result[0].value.ranker", "nothing", NULL);
}

/* ---- relations ---- */

#define TWO_SPANS                                                                                  \
    "{'id':'a','from_name':'ner','to_name':'text','type':'labels',"                                \
    "'value':{'start':0,'end':1,'labels':['PER']}},"                                               \
    "{'id':'b','from_name':'ner','to_name':'text','type':'labels',"                                \
    "'value':{'start':3,'end':5,'labels':['LOC']}}"

static void test_relations(void **state)
{
    (void)state;
    /* A relation may come before the regions it links. */
    result_ok("[{'type':'relation','from_id':'b','to_id':'a','direction':'left',"
              "'labels':['lives_in','works_for']}," TWO_SPANS "]");
    result_fails("[" TWO_SPANS ",{'type':'relation','from_id':'c','to_id':'a'}]",
                 "result[2].from_id", "\"c\" is the id of no region", NULL);
    result_fails("[" TWO_SPANS ",{'type':'relation','from_id':'a'}]", "result[2].to_id", "nothing",
                 NULL);
    /* Relation ids are not region ids. */
    result_fails("[" TWO_SPANS ",{'id':'r','type':'relation','from_id':'a','to_id':'b'},"
                 "{'type':'relation','from_id':'r','to_id':'b'}]",
                 "result[3].from_id", "\"r\"", NULL);
    result_fails("[" TWO_SPANS ",{'type':'relation','from_id':'a','to_id':'b',"
                 "'direction':'up'}]",
                 "result[2].direction", "\"right\", \"left\" or \"bi\"", NULL);
    result_fails("[" TWO_SPANS ",{'type':'relation','from_id':'a','to_id':'b',"
                 "'labels':['married_to']}]",
                 "result[2].labels[0]", "\"married_to\"", "expected one of: works_for, lives_in",
                 NULL);
    result_fails("[" TWO_SPANS ",{'type':'relation','from_id':'a','to_id':'b',"
                 "'labels':'works_for'}]",
                 "result[2].labels", "array", NULL);
}

static void test_relations_without_relations_tag(void **state)
{
    (void)state;
    const char *xml = "<View><Text name='text' value='$text'/><Labels name='ner' toName='text'>"
                      "<Label value='PER'/><Label value='LOC'/></Labels></View>";
    const char *single = "<View><Text name='text' value='$text'/><Labels name='ner' toName='text'>"
                         "<Label value='PER'/><Label value='LOC'/></Labels>"
                         "<Relations choice='single'><Relation value='x'/><Relation value='y'/>"
                         "</Relations></View>";
    an_config *c;
    an_err err;
    assert_int_equal(an_config_parse(xml, strlen(xml), &c, &err), 0);
    json_t *r = J("[" TWO_SPANS ",{'type':'relation','from_id':'a','to_id':'b',"
                  "'labels':['anything']}]");
    assert_int_equal(an_validate_result(c, data, r, &err), 0);
    json_decref(r);
    r = J("[" TWO_SPANS ",{'type':'relation','from_id':'a','to_id':'x'}]");
    assert_int_equal(an_validate_result(c, data, r, &err), -AN_EINVAL);
    assert_string_equal(err.where, "result[2].to_id");
    json_decref(r);
    an_config_free(c);

    assert_int_equal(an_config_parse(single, strlen(single), &c, &err), 0);
    r = J("[" TWO_SPANS ",{'type':'relation','from_id':'a','to_id':'b','labels':['x','y']}]");
    assert_int_equal(an_validate_result(c, data, r, &err), -AN_EINVAL);
    assert_string_equal(err.where, "result[2].labels");
    assert_non_null(strstr(err.msg, "single label"));
    json_decref(r);
    r = J("[" TWO_SPANS ",{'type':'relation','from_id':'a','to_id':'b','labels':['y']}]");
    assert_int_equal(an_validate_result(c, data, r, &err), 0);
    json_decref(r);
    an_config_free(c);
}

/* ---- task data ---- */

static void data_fails(const char *d, const char *where, const char *needle)
{
    json_t *j = J(d);
    an_err err;
    an_err_clear(&err);
    assert_int_equal(an_validate_task_data(cfg, j, &err), -AN_EINVAL);
    assert_string_equal(err.where, where);
    if (!strstr(err.msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
    json_decref(j);
}

static void test_task_data(void **state)
{
    (void)state;
    an_err err;
    assert_int_equal(an_validate_task_data(cfg, data, &err), 0);
    data_fails("['x']", "data", "JSON object");
    data_fails("{'text':'t','html':'h','dialogue':[],'audio':'a','video':'v',"
               "'answer_a':'','answer_b':''}",
               "data.image", "no field \"image\"");
    data_fails("{'text':3,'html':'h','dialogue':[],'image':'i','audio':'a','video':'v',"
               "'answer_a':'','answer_b':''}",
               "data.text", "an integer");
    data_fails("{'text':'t','html':'h','dialogue':'A: hi','image':'i','audio':'a','video':'v',"
               "'answer_a':'','answer_b':''}",
               "data.dialogue", "array");
}

/* ---- label statistics ---- */

static void test_result_labels(void **state)
{
    (void)state;
    json_t *r = J("[{'from_name':'ner','value':{'labels':['PER','LOC']}},"
                  " {'from_name':'box','value':{'rectanglelabels':['Car']}},"
                  " {'from_name':'poly','value':{'polygonlabels':['Road']}},"
                  " {'from_name':'kp','value':{'keypointlabels':['Eye']}},"
                  " {'from_name':'topics','value':{'choices':['news']}},"
                  " {'from_name':'caption','value':{'text':['not a label']}},"
                  " {'type':'relation','from_id':'a','to_id':'b','labels':['works_for']},"
                  " 'junk', {'value':{'labels':['no from_name']}}]");
    an_label_use u[16];
    size_t n = an_result_labels(r, u, 16);
    static const char *const want[][2] = {{"ner", "PER"},   {"ner", "LOC"}, {"box", "Car"},
                                          {"poly", "Road"}, {"kp", "Eye"},  {"topics", "news"},
                                          {"", "works_for"}};
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(u[i].from_name, want[i][0]);
        assert_string_equal(u[i].label, want[i][1]);
    }
    /* Borrowed, not copied. */
    assert_ptr_equal(
        u[0].label,
        json_string_value(json_array_get(
            json_object_get(json_object_get(json_array_get(r, 0), "value"), "labels"), 0)));
    assert_int_equal(an_result_labels(r, u, 3), 3);
    assert_string_equal(u[2].label, "Car");
    assert_int_equal(an_result_labels(r, u, 0), 0);
    json_decref(r);
    json_t *o = J("{}");
    assert_int_equal(an_result_labels(o, u, 16), 0);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_accepted),
        cmocka_unit_test(test_spans_count_code_points),
        cmocka_unit_test(test_text_span_errors),
        cmocka_unit_test(test_literal_text_object),
        cmocka_unit_test(test_item_shape),
        cmocka_unit_test(test_choices),
        cmocka_unit_test(test_single_label_control),
        cmocka_unit_test(test_hypertext_and_paragraphs),
        cmocka_unit_test(test_audio),
        cmocka_unit_test(test_rectangles),
        cmocka_unit_test(test_polygons),
        cmocka_unit_test(test_keypoints),
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_relations),
        cmocka_unit_test(test_relations_without_relations_tag),
        cmocka_unit_test(test_task_data),
        cmocka_unit_test(test_result_labels),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
