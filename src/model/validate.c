/* Validation of task data and Label Studio result lists against a parsed labeling config.
 *
 * Every check names the JSON path of the offending field and says what was expected, so a
 * person fixing an import file (or a model backend author) can act on the message alone. */
#include "model/validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/utf8.h"

/* Slack for percent coordinates: Label Studio computes them in floating point, and a box
 * drawn to the image edge may end at 100.00000000000001. */
#define PCT_EPS 1e-6

/* Longest quoted excerpt of user text in a message, in bytes. */
#define EXCERPT 80

typedef struct vctx {
    const an_config *cfg;
    const json_t *data;
    an_err *err;
    size_t i; /* index of the result item being checked */
} vctx;

static int bad(vctx *v, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fails with where = "result[I]" or "result[I].FIELD". */
static int bad(vctx *v, const char *field, const char *fmt, ...)
{
    char where[256], msg[1024];
    snprintf(where, sizeof where, "result[%zu]%s%s", v->i, field[0] ? "." : "", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return an_err_set(v->err, AN_EINVAL, where, "%s", msg);
}

/* Appends "a, b, c" to b, stopping with ", …" before the list grows past what a message
 * can show. */
static void add_list(an_buf *b, char *const *names, size_t n)
{
    if (n == 0) {
        an_buf_adds(b, "(none)");
        return;
    }
    for (size_t k = 0; k < n; k++) {
        if (b->len > 500) {
            an_buf_adds(b, ", …");
            return;
        }
        an_buf_addf(b, "%s%s", k ? ", " : "", names[k]);
    }
}

/* Length of a prefix of s[0..len) at most EXCERPT bytes long that ends on a character
 * boundary. */
static int excerpt_len(const char *s, size_t len)
{
    if (len <= EXCERPT) return (int)len;
    size_t n = EXCERPT;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

static const char *json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* ---- task data ---------------------------------------------------------------------- */

int an_validate_task_data(const an_config *cfg, const json_t *data, an_err *err)
{
    if (!json_is_object(data))
        return an_err_set(err, AN_EINVAL, "data",
                          "task data must be a JSON object such as {\"text\": \"...\"}; got %s",
                          data ? json_kind(data) : "nothing");
    for (size_t i = 0; i < cfg->n_objects; i++) {
        const an_object *o = &cfg->objects[i];
        if (!o->data_key) continue;
        char where[300];
        snprintf(where, sizeof where, "data.%s", o->data_key);
        const json_t *f = json_object_get(data, o->data_key);
        if (!f)
            return an_err_set(err, AN_EINVAL, where,
                              "task data has no field \"%s\", which the %s object \"%s\" shows "
                              "(value=\"%s\"); add it to every task",
                              o->data_key, an_tag_name(o->tag), o->name, o->value);
        bool ok = o->tag == AN_TAG_PARAGRAPHS ? json_is_array(f) : json_is_string(f);
        if (!ok)
            return an_err_set(err, AN_EINVAL, where,
                              "task data field \"%s\" is %s, but the %s object \"%s\" needs %s",
                              o->data_key, json_kind(f), an_tag_name(o->tag), o->name,
                              o->tag == AN_TAG_PARAGRAPHS ? "an array of utterances"
                              : o->tag == AN_TAG_TEXT || o->tag == AN_TAG_HYPERTEXT
                                  ? "a string"
                                  : "a URL or path string");
    }
    return 0;
}

/* ---- taxonomy ------------------------------------------------------------------------ */

/* Checks value[key] as a list of labels (or choices) of control c. */
static int check_labels(vctx *v, const an_control *c, const json_t *value, const char *key)
{
    const char *noun = c->tag == AN_TAG_CHOICES ? "choice" : "label";
    const json_t *arr = json_object_get(value, key);
    char field[64];
    snprintf(field, sizeof field, "value.%s", key);
    if (!json_is_array(arr))
        return bad(v, field,
                   "value.%s must be an array of %ss of control \"%s\", e.g. [\"%s\"]; "
                   "got %s",
                   key, noun, c->name, c->n_labels ? c->labels[0] : "...",
                   arr ? json_kind(arr) : "nothing");
    size_t n = json_array_size(arr);
    if (n == 0)
        return bad(v, field, "value.%s is empty; give at least one %s of control \"%s\"", key, noun,
                   c->name);
    if (n > 1 && !c->multiple)
        return bad(v, field, "control \"%s\" takes a single %s, but value.%s has %zu; send one",
                   c->name, noun, key, n);
    for (size_t k = 0; k < n; k++) {
        const json_t *s = json_array_get(arr, k);
        snprintf(field, sizeof field, "value.%s[%zu]", key, k);
        if (!json_is_string(s))
            return bad(v, field, "each %s must be a string; got %s", noun, json_kind(s));
        const char *label = json_string_value(s);
        if (an_control_label_index(c, label) < 0) {
            an_buf list = AN_BUF_INIT;
            an_buf_init(&list);
            add_list(&list, c->labels, c->n_labels);
            size_t len = json_string_length(s);
            int rc = bad(v, field,
                         "%s \"%.*s\" is not in the taxonomy of control \"%s\"; expected one of: "
                         "%s",
                         noun, excerpt_len(label, len), label, c->name, list.p);
            an_buf_free(&list);
            return rc;
        }
    }
    return 0;
}

/* ---- numbers ------------------------------------------------------------------------- */

/* Reads value[key] as a number; a missing or non-number field is an error naming what the
 * field means. */
static int need_number(vctx *v, const json_t *value, const char *key, const char *meaning,
                       double *out)
{
    const json_t *j = json_object_get(value, key);
    char field[64];
    snprintf(field, sizeof field, "value.%s", key);
    if (!j) return bad(v, field, "value.%s is missing; expected a number (%s)", key, meaning);
    if (!an_json_number(j, out))
        return bad(v, field, "value.%s must be a number (%s); got %s", key, meaning, json_kind(j));
    return 0;
}

static int need_percent(vctx *v, const json_t *value, const char *key, const char *meaning,
                        double *out)
{
    int rc = need_number(v, value, key, meaning, out);
    if (rc) return rc;
    if (*out < -PCT_EPS || *out > 100 + PCT_EPS) {
        char field[64];
        snprintf(field, sizeof field, "value.%s", key);
        return bad(v, field,
                   "value.%s is %g; it is a percentage of the image size and must lie "
                   "in 0..100",
                   key, *out);
    }
    return 0;
}

/* An integer member >= 0 (offsets), with where = value.KEY. */
static int need_offset(vctx *v, const json_t *value, const char *key, json_int_t *out)
{
    const json_t *j = json_object_get(value, key);
    char field[64];
    snprintf(field, sizeof field, "value.%s", key);
    if (!j)
        return bad(v, field,
                   "value.%s is missing; expected a whole-number offset counted in "
                   "Unicode code points",
                   key);
    if (!json_is_integer(j))
        return bad(v, field,
                   "value.%s must be a whole number (an offset counted in Unicode code "
                   "points); got %s",
                   key, json_kind(j));
    *out = json_integer_value(j);
    if (*out < 0)
        return bad(v, field, "value.%s is %lld; offsets start at 0", key, (long long)*out);
    return 0;
}

/* ---- regions on objects ---------------------------------------------------------------- */

/* A span of a Text object: integer code-point offsets into the task's text, and value.text,
 * when given, must be exactly that slice. */
static int check_text_span(vctx *v, const an_object *o, const json_t *value)
{
    const char *text;
    size_t tlen;
    if (o->data_key) {
        const json_t *t = json_object_get(v->data, o->data_key);
        if (!json_is_string(t)) {
            char where[300];
            snprintf(where, sizeof where, "data.%s", o->data_key);
            return an_err_set(v->err, AN_EINVAL, where,
                              "result[%zu] labels a span of the Text object \"%s\", but the task "
                              "data has no string field \"%s\" to hold the text",
                              v->i, o->name, o->data_key);
        }
        text = json_string_value(t);
        tlen = json_string_length(t);
    } else {
        text = o->value; /* a literal value= is the text itself */
        tlen = strlen(text);
    }
    json_int_t start, end;
    int rc;
    if ((rc = need_offset(v, value, "start", &start))) return rc;
    if ((rc = need_offset(v, value, "end", &end))) return rc;
    size_t count = an_utf8_count(text, tlen);
    if ((unsigned long long)end > count)
        return bad(v, "value.end",
                   "value.end is %lld, past the end of the text of \"%s\" (%zu code points); "
                   "offsets count Unicode code points, not bytes",
                   (long long)end, o->name, count);
    if (end <= start)
        return bad(v, "value.end", "value.end (%lld) must be greater than value.start (%lld)",
                   (long long)end, (long long)start);
    const json_t *jt = json_object_get(value, "text");
    if (!jt) return 0;
    if (!json_is_string(jt))
        return bad(v, "value.text", "value.text must be a string (the labelled slice); got %s",
                   json_kind(jt));
    long b0 = an_utf8_byte_offset(text, tlen, (size_t)start);
    long b1 = an_utf8_byte_offset(text, tlen, (size_t)end);
    if (b0 < 0 || b1 < b0) return bad(v, "value.end", "offsets lie outside the text");
    const char *slice = text + b0;
    size_t slen = (size_t)(b1 - b0);
    const char *given = json_string_value(jt);
    size_t glen = json_string_length(jt);
    if (glen != slen || memcmp(given, slice, slen) != 0)
        return bad(v, "value.text",
                   "value.text \"%.*s\" differs from the text at [%lld, %lld), which is "
                   "\"%.*s\"; offsets count Unicode code points (as Python does), not bytes or "
                   "UTF-16 units",
                   excerpt_len(given, glen), given, (long long)start, (long long)end,
                   excerpt_len(slice, slen), slice);
    return 0;
}

/* HyperText and Paragraphs spans: Label Studio writes start/end as XPaths or paragraph
 * indices (strings or numbers) plus startOffset/endOffset; their meaning depends on the
 * rendered document, so only their shape is checked. */
static int check_loose_span(vctx *v, const json_t *value)
{
    static const char *const ends[] = {"start", "end"};
    for (int k = 0; k < 2; k++) {
        const json_t *j = json_object_get(value, ends[k]);
        char field[32];
        snprintf(field, sizeof field, "value.%s", ends[k]);
        if (!j)
            return bad(v, field, "value.%s is missing; expected an XPath or paragraph index",
                       ends[k]);
        if (json_is_integer(j) && json_integer_value(j) < 0)
            return bad(v, field, "value.%s is negative; indices start at 0", ends[k]);
        if (!json_is_string(j) && !json_is_integer(j))
            return bad(v, field, "value.%s must be an XPath string or a paragraph index; got %s",
                       ends[k], json_kind(j));
    }
    static const char *const offs[] = {"startOffset", "endOffset"};
    for (int k = 0; k < 2; k++) {
        if (!json_object_get(value, offs[k])) continue;
        json_int_t off;
        int rc = need_offset(v, value, offs[k], &off);
        if (rc) return rc;
    }
    return 0;
}

static int check_audio_span(vctx *v, const json_t *value)
{
    double start, end;
    int rc;
    if ((rc = need_number(v, value, "start", "seconds from the start of the audio", &start)))
        return rc;
    if ((rc = need_number(v, value, "end", "seconds from the start of the audio", &end))) return rc;
    if (start < 0) return bad(v, "value.start", "value.start is %g; times start at 0", start);
    if (end < start)
        return bad(v, "value.end", "value.end (%g) is before value.start (%g)", end, start);
    return 0;
}

static int check_labels_region(vctx *v, const an_control *c, const char *to_name,
                               const json_t *value)
{
    const an_object *o = an_config_object(v->cfg, to_name);
    int rc = check_labels(v, c, value, "labels");
    if (rc || !o) return rc;
    switch (o->tag) {
    case AN_TAG_TEXT:
        return check_text_span(v, o, value);
    case AN_TAG_HYPERTEXT:
    case AN_TAG_PARAGRAPHS:
        return check_loose_span(v, value);
    case AN_TAG_AUDIO:
        return check_audio_span(v, value);
    default:
        return 0; /* the config parser admits no other object for Labels */
    }
}

static int check_rectangle(vctx *v, const an_control *c, const json_t *value)
{
    double x, y, w, h, rot = 0;
    int rc;
    if ((rc = need_percent(v, value, "x", "left edge, percent of image width", &x))) return rc;
    if ((rc = need_percent(v, value, "y", "top edge, percent of image height", &y))) return rc;
    if ((rc = need_number(v, value, "width", "percent of image width", &w))) return rc;
    if ((rc = need_number(v, value, "height", "percent of image height", &h))) return rc;
    if (w <= 0) return bad(v, "value.width", "value.width is %g; a box needs a positive width", w);
    if (h <= 0)
        return bad(v, "value.height", "value.height is %g; a box needs a positive height", h);
    if (json_object_get(value, "rotation") &&
        (rc = need_number(v, value, "rotation", "degrees clockwise", &rot)))
        return rc;
    /* A rotated box turns about its top-left corner and may legitimately reach past the
     * right or bottom edge in unrotated terms, so the extent check applies to upright boxes. */
    if (rot == 0) {
        if (x + w > 100 + PCT_EPS)
            return bad(v, "value.width",
                       "the box reaches past the right edge: x (%g) + width (%g) = %g > 100", x, w,
                       x + w);
        if (y + h > 100 + PCT_EPS)
            return bad(v, "value.height",
                       "the box reaches past the bottom edge: y (%g) + height (%g) = %g > 100", y,
                       h, y + h);
    } else {
        if (w > 100 + PCT_EPS)
            return bad(v, "value.width", "value.width is %g; it must be at most 100", w);
        if (h > 100 + PCT_EPS)
            return bad(v, "value.height", "value.height is %g; it must be at most 100", h);
    }
    return check_labels(v, c, value, "rectanglelabels");
}

static int check_polygon(vctx *v, const an_control *c, const json_t *value)
{
    const json_t *pts = json_object_get(value, "points");
    if (!json_is_array(pts))
        return bad(v, "value.points",
                   "value.points must be an array of [x, y] pairs in percent; got %s",
                   pts ? json_kind(pts) : "nothing");
    size_t n = json_array_size(pts);
    if (n < 3)
        return bad(v, "value.points", "a polygon needs at least 3 points; value.points has %zu", n);
    for (size_t k = 0; k < n; k++) {
        const json_t *pt = json_array_get(pts, k);
        char field[64];
        snprintf(field, sizeof field, "value.points[%zu]", k);
        double xy[2];
        if (!json_is_array(pt) || json_array_size(pt) != 2 ||
            !an_json_number(json_array_get(pt, 0), &xy[0]) ||
            !an_json_number(json_array_get(pt, 1), &xy[1]))
            return bad(v, field, "each point must be an [x, y] pair of numbers in percent");
        for (int d = 0; d < 2; d++)
            if (xy[d] < -PCT_EPS || xy[d] > 100 + PCT_EPS)
                return bad(v, field,
                           "point %zu has %c = %g; coordinates are percentages of the image "
                           "and must lie in 0..100",
                           k, d ? 'y' : 'x', xy[d]);
    }
    return check_labels(v, c, value, "polygonlabels");
}

static int check_keypoint(vctx *v, const an_control *c, const json_t *value)
{
    double x, y, w;
    int rc;
    if ((rc = need_percent(v, value, "x", "percent of image width", &x))) return rc;
    if ((rc = need_percent(v, value, "y", "percent of image height", &y))) return rc;
    if (json_object_get(value, "width")) {
        if ((rc = need_number(v, value, "width", "point size, percent of image width", &w)))
            return rc;
        if (w < 0) return bad(v, "value.width", "value.width is %g; it must not be negative", w);
    }
    return check_labels(v, c, value, "keypointlabels");
}

/* ---- answers --------------------------------------------------------------------------- */

static int check_textarea(vctx *v, const json_t *value)
{
    const json_t *t = json_object_get(value, "text");
    if (json_is_string(t)) return 0;
    if (!json_is_array(t))
        return bad(v, "value.text",
                   "value.text must be an array of strings (or one string); got %s",
                   t ? json_kind(t) : "nothing");
    for (size_t k = 0; k < json_array_size(t); k++)
        if (!json_is_string(json_array_get(t, k))) {
            char field[64];
            snprintf(field, sizeof field, "value.text[%zu]", k);
            return bad(v, field, "each entry of value.text must be a string; got %s",
                       json_kind(json_array_get(t, k)));
        }
    return 0;
}

static int check_rating(vctx *v, const an_control *c, const json_t *value)
{
    const json_t *r = json_object_get(value, "rating");
    if (!json_is_integer(r))
        return bad(v, "value.rating", "value.rating must be a whole number from 1 to %d; got %s",
                   c->max_rating, r ? json_kind(r) : "nothing");
    json_int_t n = json_integer_value(r);
    if (n < 1 || n > c->max_rating)
        return bad(v, "value.rating", "value.rating is %lld; control \"%s\" rates from 1 to %d",
                   (long long)n, c->name, c->max_rating);
    return 0;
}

static int check_number(vctx *v, const an_control *c, const json_t *value)
{
    double d;
    int rc = need_number(v, value, "number", "the answer", &d);
    if (rc) return rc;
    if (c->has_min && d < c->min)
        return bad(v, "value.number", "value.number is %g, below the minimum %g of control \"%s\"",
                   d, c->min, c->name);
    if (c->has_max && d > c->max)
        return bad(v, "value.number", "value.number is %g, above the maximum %g of control \"%s\"",
                   d, c->max, c->name);
    return 0;
}

static int check_pairwise(vctx *v, const json_t *value)
{
    const char *s = an_json_str(value, "selected");
    if (!s || (strcmp(s, "left") != 0 && strcmp(s, "right") != 0))
        return bad(v, "value.selected", "value.selected must be \"left\" or \"right\"");
    return 0;
}

static int check_ranker(vctx *v, const json_t *value)
{
    const json_t *r = json_object_get(value, "ranker");
    if (!json_is_object(r) && !json_is_array(r))
        return bad(v, "value.ranker",
                   "value.ranker must be an object mapping each bucket to a list of item ids, "
                   "or a list of item ids; got %s",
                   r ? json_kind(r) : "nothing");
    return 0;
}

/* ---- items ----------------------------------------------------------------------------- */

static bool in_list(char *const *names, size_t n, const char *s, size_t len)
{
    for (size_t k = 0; k < n; k++)
        if (strlen(names[k]) == len && memcmp(names[k], s, len) == 0) return true;
    return false;
}

/* Label Studio writes a Pairwise result with to_name equal to the control's own name or to
 * both objects joined by a comma; any single object of the control is accepted too. */
static bool to_name_fits(const an_control *c, const char *to)
{
    if (in_list(c->to_names, c->n_to, to, strlen(to))) return true;
    if (c->tag != AN_TAG_PAIRWISE) return false;
    if (strcmp(to, c->name) == 0) return true;
    const char *p = to;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && *p == ' ')
            p++, len--;
        while (len && p[len - 1] == ' ')
            len--;
        if (!in_list(c->to_names, c->n_to, p, len)) return false;
        if (!comma) return true;
        p = comma + 1;
    }
}

static int check_relation(vctx *v, const json_t *item, const json_t *region_ids)
{
    static const char *const ends[] = {"from_id", "to_id"};
    for (int k = 0; k < 2; k++) {
        const json_t *j = json_object_get(item, ends[k]);
        if (!json_is_string(j))
            return bad(v, ends[k], "a relation needs %s: the id of a region in this result; got %s",
                       ends[k], j ? json_kind(j) : "nothing");
        if (!json_object_get(region_ids, json_string_value(j)))
            return bad(v, ends[k],
                       "%s \"%.*s\" is the id of no region in this result; a relation links two "
                       "regions of the same result list",
                       ends[k], excerpt_len(json_string_value(j), json_string_length(j)),
                       json_string_value(j));
    }
    const json_t *dir = json_object_get(item, "direction");
    if (dir) {
        const char *d = json_string_value(dir);
        if (!d || (strcmp(d, "right") != 0 && strcmp(d, "left") != 0 && strcmp(d, "bi") != 0))
            return bad(v, "direction", "direction must be \"right\", \"left\" or \"bi\"");
    }
    const json_t *labels = json_object_get(item, "labels");
    if (!labels) return 0;
    if (!json_is_array(labels))
        return bad(v, "labels", "labels of a relation must be an array of strings; got %s",
                   json_kind(labels));
    const an_control *rel = an_config_first_control(v->cfg, AN_TAG_RELATIONS);
    if (rel && !rel->multiple && json_array_size(labels) > 1)
        return bad(v, "labels",
                   "the Relations tag (line %d) takes a single label per relation, "
                   "but labels has %zu",
                   rel->line, json_array_size(labels));
    for (size_t k = 0; k < json_array_size(labels); k++) {
        const json_t *s = json_array_get(labels, k);
        char field[64];
        snprintf(field, sizeof field, "labels[%zu]", k);
        if (!json_is_string(s))
            return bad(v, field, "each relation label must be a string; got %s", json_kind(s));
        /* Without a Relations tag the config sets no relation taxonomy to check against. */
        if (rel && an_control_label_index(rel, json_string_value(s)) < 0) {
            an_buf list = AN_BUF_INIT;
            an_buf_init(&list);
            add_list(&list, rel->labels, rel->n_labels);
            int rc = bad(v, field,
                         "relation label \"%.*s\" is not in the taxonomy of the Relations tag "
                         "(line %d); expected one of: %s",
                         excerpt_len(json_string_value(s), json_string_length(s)),
                         json_string_value(s), rel->line, list.p);
            an_buf_free(&list);
            return rc;
        }
    }
    return 0;
}

static int check_size(vctx *v, const json_t *item, const char *key)
{
    const json_t *j = json_object_get(item, key);
    if (!j) return 0;
    if (!json_is_integer(j) || json_integer_value(j) <= 0)
        return bad(v, key, "%s must be a positive whole number of pixels", key);
    return 0;
}

static int check_item(vctx *v, const json_t *item, const json_t *region_ids)
{
    if (!json_is_object(item))
        return bad(v, "",
                   "a result item must be an object with from_name, to_name, type and "
                   "value; got %s",
                   json_kind(item));
    const json_t *jtype = json_object_get(item, "type");
    if (!json_is_string(jtype))
        return bad(v, "type", "type must be a string such as \"labels\" or \"choices\"; got %s",
                   jtype ? json_kind(jtype) : "nothing");
    const char *type = json_string_value(jtype);
    const json_t *id = json_object_get(item, "id");
    if (id && !json_is_string(id))
        return bad(v, "id", "id must be a string; got %s", json_kind(id));
    int rc;
    if ((rc = check_size(v, item, "original_width"))) return rc;
    if ((rc = check_size(v, item, "original_height"))) return rc;
    if (strcmp(type, "relation") == 0) return check_relation(v, item, region_ids);

    const char *from = an_json_str(item, "from_name");
    const an_control *c = an_config_control(v->cfg, from);
    if (!c || c->tag == AN_TAG_RELATIONS) {
        an_buf list = AN_BUF_INIT;
        an_buf_init(&list);
        for (size_t k = 0; k < v->cfg->n_controls && list.len < 500; k++)
            if (v->cfg->controls[k].tag != AN_TAG_RELATIONS)
                an_buf_addf(&list, "%s%s", list.len ? ", " : "", v->cfg->controls[k].name);
        if (!from)
            rc = bad(v, "from_name", "from_name is missing; set it to the name of a control: %s",
                     list.len ? list.p : "(the config has none)");
        else
            rc = bad(v, "from_name",
                     "from_name \"%.*s\" names no control of the labeling config; controls: %s",
                     excerpt_len(from, strlen(from)), from, list.len ? list.p : "(none)");
        an_buf_free(&list);
        return rc;
    }
    const char *to = an_json_str(item, "to_name");
    if (!to || !to_name_fits(c, to)) {
        an_buf list = AN_BUF_INIT;
        an_buf_init(&list);
        add_list(&list, c->to_names, c->n_to);
        if (!to)
            rc = bad(v, "to_name",
                     "to_name is missing; set it to the object control \"%s\" annotates: %s",
                     c->name, list.p);
        else
            rc = bad(v, "to_name",
                     "to_name \"%.*s\" is not an object of control \"%s\"; expected one of: %s",
                     excerpt_len(to, strlen(to)), to, c->name, list.p);
        an_buf_free(&list);
        return rc;
    }
    if (strcmp(type, c->result_type) != 0)
        return bad(v, "type", "type \"%.*s\" does not fit control \"%s\" (<%s>); expected \"%s\"",
                   excerpt_len(type, strlen(type)), type, c->name, an_tag_name(c->tag),
                   c->result_type);
    const json_t *value = json_object_get(item, "value");
    if (!json_is_object(value))
        return bad(v, "value", "value must be an object; got %s",
                   value ? json_kind(value) : "nothing");
    switch (c->tag) {
    case AN_TAG_CHOICES:
        return check_labels(v, c, value, "choices");
    case AN_TAG_LABELS:
        return check_labels_region(v, c, to, value);
    case AN_TAG_RECTANGLELABELS:
        return check_rectangle(v, c, value);
    case AN_TAG_POLYGONLABELS:
        return check_polygon(v, c, value);
    case AN_TAG_KEYPOINTLABELS:
        return check_keypoint(v, c, value);
    case AN_TAG_TEXTAREA:
        return check_textarea(v, value);
    case AN_TAG_RATING:
        return check_rating(v, c, value);
    case AN_TAG_NUMBER:
        return check_number(v, c, value);
    case AN_TAG_PAIRWISE:
        return check_pairwise(v, value);
    case AN_TAG_RANKER:
        return check_ranker(v, value);
    default:
        return an_err_set(v->err, AN_EINTERNAL, "result", "control \"%s\" has unexpected tag %d",
                          c->name, (int)c->tag);
    }
}

int an_validate_result(const an_config *cfg, const json_t *data, const json_t *result, an_err *err)
{
    if (!json_is_array(result))
        return an_err_set(err, AN_EINVAL, "result",
                          "a result must be a JSON array of result items; got %s",
                          result ? json_kind(result) : "nothing");
    /* Ids of the regions relations may point at; Jansson's hash keeps the lookup linear in
     * the size of the result. Several items may share an id (a region with labels and a
     * per-region text answer), which is why this is a set and duplicates are fine. */
    json_t *region_ids = json_object();
    size_t n = json_array_size(result);
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(result, i);
        const char *type = an_json_str(item, "type");
        const char *id = an_json_str(item, "id");
        if (id && (!type || strcmp(type, "relation") != 0))
            json_object_set_new(region_ids, id, json_true());
    }
    vctx v = {.cfg = cfg, .data = data, .err = err};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        v.i = i;
        rc = check_item(&v, json_array_get(result, i), region_ids);
    }
    json_decref(region_ids);
    return rc;
}

/* ---- label statistics ------------------------------------------------------------------ */

size_t an_result_labels(const json_t *result, an_label_use *out, size_t cap)
{
    /* Label Studio keeps a control's labels under a key named after its result type. */
    static const char *const keys[] = {"labels", "choices", "rectanglelabels", "polygonlabels",
                                       "keypointlabels"};
    size_t n = 0;
    if (!json_is_array(result)) return 0;
    for (size_t i = 0; i < json_array_size(result) && n < cap; i++) {
        const json_t *item = json_array_get(result, i);
        if (!json_is_object(item)) continue;
        const char *from = an_json_str(item, "from_name");
        const char *type = an_json_str(item, "type");
        const json_t *lists[sizeof keys / sizeof keys[0]];
        size_t n_lists = 0;
        if (type && strcmp(type, "relation") == 0) {
            /* Relations carry no from_name; they count under the unnamed Relations tag. */
            if (!from) from = "";
            lists[n_lists++] = json_object_get(item, "labels");
        } else {
            const json_t *value = json_object_get(item, "value");
            if (!from || !json_is_object(value)) continue;
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
                lists[n_lists++] = json_object_get(value, keys[k]);
        }
        for (size_t k = 0; k < n_lists; k++) {
            if (!json_is_array(lists[k])) continue;
            for (size_t j = 0; j < json_array_size(lists[k]) && n < cap; j++) {
                const char *s = json_string_value(json_array_get(lists[k], j));
                if (!s) continue;
                out[n].from_name = from;
                out[n].label = s;
                n++;
            }
        }
    }
    return n;
}
