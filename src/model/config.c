/* Labeling config parser: Label Studio's XML, read with libxml2 into an an_config.
 *
 * The XML comes from users, so the parser never touches the network, never loads or expands
 * DTDs, and refuses a DOCTYPE outright: a labeling config has no use for entities, and
 * refusing them closes the door on external-entity and entity-expansion tricks. */
#include "model/config.h"

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

enum kind { K_NONE, K_LAYOUT, K_OBJECT, K_CONTROL, K_ITEM };

/* Everything the parser knows about a tag, indexed by an_tag. `item` is the child tag that
 * carries a control's taxonomy (Choice, Label, Relation); `needs_items` says whether a control
 * without any is an error (a Relations tag without Relation children is valid: unlabelled
 * relations). */
static const struct tag_info {
    const char *name;
    enum kind kind;
    const char *result_type;
    an_tag item;
    bool needs_items;
} tag_info[] = {
    [AN_TAG_NONE] = {"", K_NONE, NULL, AN_TAG_NONE, false},
    [AN_TAG_VIEW] = {"View", K_LAYOUT, NULL, AN_TAG_NONE, false},
    [AN_TAG_HEADER] = {"Header", K_LAYOUT, NULL, AN_TAG_NONE, false},
    [AN_TAG_TEXT] = {"Text", K_OBJECT, NULL, AN_TAG_NONE, false},
    [AN_TAG_HYPERTEXT] = {"HyperText", K_OBJECT, NULL, AN_TAG_NONE, false},
    [AN_TAG_PARAGRAPHS] = {"Paragraphs", K_OBJECT, NULL, AN_TAG_NONE, false},
    [AN_TAG_IMAGE] = {"Image", K_OBJECT, NULL, AN_TAG_NONE, false},
    [AN_TAG_AUDIO] = {"Audio", K_OBJECT, NULL, AN_TAG_NONE, false},
    [AN_TAG_VIDEO] = {"Video", K_OBJECT, NULL, AN_TAG_NONE, false},
    [AN_TAG_CHOICES] = {"Choices", K_CONTROL, "choices", AN_TAG_CHOICE, true},
    [AN_TAG_LABELS] = {"Labels", K_CONTROL, "labels", AN_TAG_LABEL, true},
    [AN_TAG_RECTANGLELABELS] = {"RectangleLabels", K_CONTROL, "rectanglelabels", AN_TAG_LABEL,
                                true},
    [AN_TAG_POLYGONLABELS] = {"PolygonLabels", K_CONTROL, "polygonlabels", AN_TAG_LABEL, true},
    [AN_TAG_KEYPOINTLABELS] = {"KeyPointLabels", K_CONTROL, "keypointlabels", AN_TAG_LABEL, true},
    [AN_TAG_TEXTAREA] = {"TextArea", K_CONTROL, "textarea", AN_TAG_NONE, false},
    [AN_TAG_RATING] = {"Rating", K_CONTROL, "rating", AN_TAG_NONE, false},
    [AN_TAG_NUMBER] = {"Number", K_CONTROL, "number", AN_TAG_NONE, false},
    [AN_TAG_PAIRWISE] = {"Pairwise", K_CONTROL, "pairwise", AN_TAG_NONE, false},
    [AN_TAG_RANKER] = {"Ranker", K_CONTROL, "ranker", AN_TAG_NONE, false},
    [AN_TAG_RELATIONS] = {"Relations", K_CONTROL, "relation", AN_TAG_RELATION, false},
    [AN_TAG_CHOICE] = {"Choice", K_ITEM, NULL, AN_TAG_NONE, false},
    [AN_TAG_LABEL] = {"Label", K_ITEM, NULL, AN_TAG_NONE, false},
    [AN_TAG_RELATION] = {"Relation", K_ITEM, NULL, AN_TAG_NONE, false},
};

#define N_TAGS (sizeof tag_info / sizeof tag_info[0])

/* Marks "no enclosing control" during the walk. */
#define NO_CONTROL SIZE_MAX

const char *an_tag_name(an_tag tag)
{
    if ((size_t)tag >= N_TAGS || tag == AN_TAG_NONE) return "?";
    return tag_info[tag].name;
}

static an_tag tag_lookup(const char *name)
{
    for (size_t i = 1; i < N_TAGS; i++)
        if (strcmp(tag_info[i].name, name) == 0) return (an_tag)i;
    return AN_TAG_NONE;
}

typedef struct parser {
    an_config *cfg;
    size_t cap_objects, cap_controls;
    json_t *names; /* name -> line of every object and control, to refuse duplicates */
    an_err *err;
} parser;

static int fail(parser *p, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(parser *p, long line, const char *fmt, ...)
{
    char where[32], msg[1024];
    snprintf(where, sizeof where, "config:%ld", line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return an_err_set(p->err, AN_EINVAL, where, "%s", msg);
}

/* The attribute as a malloc'd string, or NULL when absent or empty (an empty name= is as
 * useless as a missing one, and saying "missing" is the clearer message). */
static char *attr(xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v) return NULL;
    char *s = NULL;
    if (v[0]) s = an_xstrdup((const char *)v);
    xmlFree(v);
    return s;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* s[0..len) without surrounding white space, as a malloc'd string. */
static char *trimmed(const char *s, size_t len)
{
    while (len && is_space(*s))
        s++, len--;
    while (len && is_space(s[len - 1]))
        len--;
    return an_xstrndup(s, len);
}

/* True (with the line of its first use) when name is already used by an object or a
 * control; otherwise records it. A hash keeps big generated configs linear. */
static bool name_taken(parser *p, const char *name, int *line, long this_line)
{
    json_t *seen = json_object_get(p->names, name);
    if (seen) {
        *line = (int)json_integer_value(seen);
        return true;
    }
    json_object_set_new(p->names, name, json_integer(this_line));
    return false;
}

static int add_object(parser *p, xmlNode *n, an_tag tag, long line)
{
    const char *tname = tag_info[tag].name;
    char *name = attr(n, "name");
    if (!name)
        return fail(p, line,
                    "<%s> at line %ld has no name=; give it a unique name that controls can "
                    "point at with toName=",
                    tname, line);
    int other;
    if (name_taken(p, name, &other, line)) {
        int rc = fail(p, line,
                      "<%s> at line %ld uses the name \"%s\" already used at line %d; names "
                      "must be unique",
                      tname, line, name, other);
        free(name);
        return rc;
    }
    char *value = attr(n, "value");
    if (!value) {
        int rc = fail(p, line,
                      "<%s name=\"%s\"> at line %ld has no value=; set it to the task data "
                      "field it shows, e.g. value=\"$%s\"",
                      tname, name, line, name);
        free(name);
        return rc;
    }
    char *key = NULL;
    if (value[0] == '$') {
        if (value[1] == '\0') {
            int rc = fail(p, line,
                          "<%s name=\"%s\"> at line %ld has value=\"$\" without a field name; "
                          "write value=\"$field\"",
                          tname, name, line);
            free(name);
            free(value);
            return rc;
        }
        key = an_xstrdup(value + 1);
    }
    an_config *cfg = p->cfg;
    if (cfg->n_objects == p->cap_objects) {
        p->cap_objects = p->cap_objects ? 2 * p->cap_objects : 8;
        cfg->objects = an_xrealloc(cfg->objects, p->cap_objects * sizeof *cfg->objects);
    }
    an_object *o = &cfg->objects[cfg->n_objects++];
    o->tag = tag;
    o->name = name;
    o->value = value;
    o->data_key = key;
    o->line = (int)line;
    return 0;
}

/* Splits toName= on commas, trimming blanks around each name. */
static void split_to_names(an_control *c, const char *s)
{
    size_t n = 1;
    for (const char *q = s; *q; q++)
        if (*q == ',') n++;
    c->to_names = an_xcalloc(n, sizeof *c->to_names);
    c->n_to = 0;
    const char *start = s;
    for (;;) {
        const char *end = strchr(start, ',');
        size_t len = end ? (size_t)(end - start) : strlen(start);
        char *name = trimmed(start, len);
        if (name[0])
            c->to_names[c->n_to++] = name;
        else
            free(name);
        if (!end) break;
        start = end + 1;
    }
}

/* choice="single|single-radio|multiple" → multiple; absent → dflt. */
static int parse_choice(parser *p, xmlNode *n, an_control *c, bool dflt, long line)
{
    char *v = attr(n, "choice");
    c->multiple = dflt;
    if (!v) return 0;
    int rc = 0;
    if (strcmp(v, "multiple") == 0)
        c->multiple = true;
    else if (strcmp(v, "single") == 0 || strcmp(v, "single-radio") == 0)
        c->multiple = false;
    else
        rc = fail(p, line,
                  "<%s name=\"%s\"> at line %ld has choice=\"%s\"; use single, single-radio "
                  "or multiple",
                  tag_info[c->tag].name, c->name, line, v);
    free(v);
    return rc;
}

static int parse_required(parser *p, xmlNode *n, an_control *c, long line)
{
    char *v = attr(n, "required");
    c->required = false;
    if (!v) return 0;
    int rc = 0;
    if (strcmp(v, "true") == 0)
        c->required = true;
    else if (strcmp(v, "false") != 0)
        rc = fail(p, line, "<%s name=\"%s\"> at line %ld has required=\"%s\"; use true or false",
                  tag_info[c->tag].name, c->name, line, v);
    free(v);
    return rc;
}

/* A finite number attribute; *has says whether it was present. */
static int parse_double_attr(parser *p, xmlNode *n, an_control *c, const char *key, double *out,
                             bool *has, long line)
{
    char *v = attr(n, key);
    *has = false;
    if (!v) return 0;
    char *end;
    double d = strtod(v, &end);
    int rc = 0;
    if (end == v || *end != '\0' || !isfinite(d))
        rc = fail(p, line, "<%s name=\"%s\"> at line %ld has %s=\"%s\", which is not a number",
                  tag_info[c->tag].name, c->name, line, key, v);
    else {
        *out = d;
        *has = true;
    }
    free(v);
    return rc;
}

static int parse_max_rating(parser *p, xmlNode *n, an_control *c, long line)
{
    char *v = attr(n, "maxRating");
    c->max_rating = 5;
    if (!v) return 0;
    char *end;
    long r = strtol(v, &end, 10);
    int rc = 0;
    if (end == v || *end != '\0' || r < 1 || r > 1000)
        rc = fail(p, line,
                  "<Rating name=\"%s\"> at line %ld has maxRating=\"%s\"; use a whole number "
                  "from 1 to 1000",
                  c->name, line, v);
    else
        c->max_rating = (int)r;
    free(v);
    return rc;
}

static int add_control(parser *p, xmlNode *n, an_tag tag, long line, size_t *index)
{
    const char *tname = tag_info[tag].name;
    an_config *cfg = p->cfg;
    /* Label Studio's Relations tag has neither name nor toName: it configures the relations
     * drawn between regions of any object. It is stored under the empty name, which no other
     * tag can have, so there can be only one. */
    bool relations = tag == AN_TAG_RELATIONS;
    char *name = attr(n, "name");
    if (!name && !relations)
        return fail(p, line,
                    "<%s> at line %ld has no name=; give it a unique name that result items "
                    "will use as from_name",
                    tname, line);
    if (!name) name = an_xstrdup("");
    int other;
    if (name_taken(p, name, &other, line)) {
        int rc = name[0] ? fail(p, line,
                                "<%s> at line %ld uses the name \"%s\" already used at line %d; "
                                "names must be unique",
                                tname, line, name, other)
                         : fail(p, line,
                                "<Relations> at line %ld repeats the unnamed <Relations> of "
                                "line %d; use a single Relations tag",
                                line, other);
        free(name);
        return rc;
    }
    char *to = attr(n, "toName");
    if (!to && !relations) {
        int rc = fail(p, line,
                      "<%s name=\"%s\"> at line %ld has no toName=; set it to the name of the "
                      "object it annotates",
                      tname, name, line);
        free(name);
        return rc;
    }
    if (cfg->n_controls == p->cap_controls) {
        p->cap_controls = p->cap_controls ? 2 * p->cap_controls : 8;
        cfg->controls = an_xrealloc(cfg->controls, p->cap_controls * sizeof *cfg->controls);
    }
    *index = cfg->n_controls;
    an_control *c = &cfg->controls[cfg->n_controls++];
    memset(c, 0, sizeof *c);
    c->tag = tag;
    c->name = name;
    c->result_type = tag_info[tag].result_type;
    c->line = (int)line;
    c->max_rating = 5;
    if (to) {
        split_to_names(c, to);
        free(to);
        if (c->n_to == 0 && !relations)
            return fail(p, line,
                        "<%s name=\"%s\"> at line %ld has an empty toName=; set it to the name "
                        "of the object it annotates",
                        tname, name, line);
    } else {
        c->to_names = an_xcalloc(1, sizeof *c->to_names);
    }
    int rc = parse_required(p, n, c, line);
    if (rc) return rc;
    switch (tag) {
    case AN_TAG_CHOICES:
        return parse_choice(p, n, c, false, line);
    case AN_TAG_LABELS:
    case AN_TAG_RECTANGLELABELS:
    case AN_TAG_POLYGONLABELS:
    case AN_TAG_KEYPOINTLABELS:
        /* Label Studio lets a region carry several labels unless choice="single". */
        return parse_choice(p, n, c, true, line);
    case AN_TAG_RELATIONS:
        return parse_choice(p, n, c, true, line);
    case AN_TAG_RATING:
        return parse_max_rating(p, n, c, line);
    case AN_TAG_NUMBER:
        if ((rc = parse_double_attr(p, n, c, "min", &c->min, &c->has_min, line))) return rc;
        if ((rc = parse_double_attr(p, n, c, "max", &c->max, &c->has_max, line))) return rc;
        if (c->has_min && c->has_max && c->min > c->max)
            return fail(p, line, "<Number name=\"%s\"> at line %ld has min=%g above max=%g",
                        c->name, line, c->min, c->max);
        return 0;
    default:
        return 0;
    }
}

/* The value of a Choice / Label / Relation: value=, else the element's text. */
static int add_item(parser *p, xmlNode *n, an_tag tag, long line, size_t ctl)
{
    an_control *c = &p->cfg->controls[ctl];
    char *v = attr(n, "value");
    if (!v) {
        xmlChar *text = xmlNodeGetContent(n);
        if (text) {
            v = trimmed((const char *)text, strlen((const char *)text));
            xmlFree(text);
            if (!v[0]) {
                free(v);
                v = NULL;
            }
        }
    }
    if (!v)
        return fail(p, line,
                    "<%s> at line %ld in <%s name=\"%s\"> has no value=; write <%s value=\"...\"/>",
                    tag_info[tag].name, line, tag_info[c->tag].name, c->name, tag_info[tag].name);
    /* The capacity is implied: double whenever the count reaches a power of two. */
    size_t have = c->n_labels;
    if (have == 0 || (have & (have - 1)) == 0)
        c->labels = an_xrealloc(c->labels, (have ? 2 * have : 1) * sizeof *c->labels);
    c->labels[c->n_labels++] = v;
    return 0;
}

static const char *item_parents(an_tag item)
{
    switch (item) {
    case AN_TAG_CHOICE:
        return "<Choices>";
    case AN_TAG_LABEL:
        return "<Labels>, <RectangleLabels>, <PolygonLabels> or <KeyPointLabels>";
    default:
        return "<Relations>";
    }
}

static int walk(parser *p, xmlNode *parent, size_t ctl);

static int visit(parser *p, xmlNode *n, size_t ctl)
{
    long line = xmlGetLineNo(n);
    const char *name = (const char *)n->name;
    an_tag tag = tag_lookup(name);
    if (tag == AN_TAG_NONE)
        return fail(p, line,
                    "unknown tag <%s> at line %ld; supported tags: View, Header, Text, "
                    "HyperText, Paragraphs, Image, Audio, Video, Choices, Choice, Labels, "
                    "Label, RectangleLabels, PolygonLabels, KeyPointLabels, TextArea, Rating, "
                    "Number, Pairwise, Ranker, Relations, Relation (names are case-sensitive)",
                    name, line);
    const an_control *in = ctl == NO_CONTROL ? NULL : &p->cfg->controls[ctl];
    int rc;
    switch (tag_info[tag].kind) {
    case K_LAYOUT:
        /* Views and Headers may lay out a control's choices too. */
        return walk(p, n, ctl);
    case K_OBJECT:
        if (in)
            return fail(p, line, "<%s> at line %ld cannot be inside <%s> (line %d); move it out",
                        name, line, tag_info[in->tag].name, in->line);
        if ((rc = add_object(p, n, tag, line))) return rc;
        return walk(p, n, NO_CONTROL);
    case K_CONTROL: {
        if (in)
            return fail(p, line, "<%s> at line %ld cannot be inside <%s> (line %d); move it out",
                        name, line, tag_info[in->tag].name, in->line);
        size_t index = 0;
        if ((rc = add_control(p, n, tag, line, &index))) return rc;
        if ((rc = walk(p, n, index))) return rc;
        const an_control *c = &p->cfg->controls[index];
        if (tag_info[tag].needs_items && c->n_labels == 0)
            return fail(p, line, "<%s name=\"%s\"> at line %ld has no <%s>; add at least one", name,
                        c->name, line, tag_info[tag_info[tag].item].name);
        return 0;
    }
    case K_ITEM:
        if (!in || tag_info[in->tag].item != tag)
            return fail(p, line, "<%s> at line %ld must be inside %s", name, line,
                        item_parents(tag));
        if ((rc = add_item(p, n, tag, line, ctl))) return rc;
        for (xmlNode *k = n->children; k; k = k->next)
            if (k->type == XML_ELEMENT_NODE)
                return fail(p, xmlGetLineNo(k),
                            "<%s> at line %ld is inside <%s>, which holds "
                            "only text; move it out",
                            (const char *)k->name, xmlGetLineNo(k), name);
        return 0;
    default:
        return fail(p, line, "unexpected tag <%s> at line %ld", name, line);
    }
}

static int walk(parser *p, xmlNode *parent, size_t ctl)
{
    for (xmlNode *n = parent->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        int rc = visit(p, n, ctl);
        if (rc) return rc;
    }
    return 0;
}

static bool fits(an_tag control, an_tag object)
{
    switch (control) {
    case AN_TAG_RECTANGLELABELS:
    case AN_TAG_POLYGONLABELS:
    case AN_TAG_KEYPOINTLABELS:
        return object == AN_TAG_IMAGE;
    case AN_TAG_LABELS:
        return object == AN_TAG_TEXT || object == AN_TAG_HYPERTEXT || object == AN_TAG_PARAGRAPHS ||
               object == AN_TAG_AUDIO;
    default:
        return true;
    }
}

static const char *fitting_objects(an_tag control)
{
    if (control == AN_TAG_LABELS) return "Text, HyperText, Paragraphs and Audio objects";
    return "Image objects";
}

/* After the walk every object is known, so toName= can be resolved (Label Studio allows a
 * control to come before the object it annotates). */
static int check_references(parser *p)
{
    const an_config *cfg = p->cfg;
    for (size_t i = 0; i < cfg->n_controls; i++) {
        const an_control *c = &cfg->controls[i];
        const char *tname = tag_info[c->tag].name;
        for (size_t k = 0; k < c->n_to; k++) {
            const an_object *o = an_config_object(cfg, c->to_names[k]);
            if (!o) {
                an_buf names = AN_BUF_INIT;
                an_buf_init(&names);
                for (size_t j = 0; j < cfg->n_objects && names.len < 400; j++)
                    an_buf_addf(&names, "%s%s", j ? ", " : "", cfg->objects[j].name);
                int rc =
                    fail(p, c->line,
                         "<%s name=\"%s\"> at line %d has toName=\"%s\", which names no "
                         "object; objects in this config: %s",
                         tname, c->name, c->line, c->to_names[k], names.len ? names.p : "(none)");
                an_buf_free(&names);
                return rc;
            }
            if (!fits(c->tag, o->tag))
                return fail(p, c->line,
                            "<%s name=\"%s\"> at line %d cannot annotate the %s object \"%s\"; "
                            "%s works on %s only",
                            tname, c->name, c->line, tag_info[o->tag].name, o->name, tname,
                            fitting_objects(c->tag));
        }
        if (c->tag == AN_TAG_PAIRWISE && c->n_to != 2)
            return fail(p, c->line,
                        "<Pairwise name=\"%s\"> at line %d names %zu object(s) in toName=; it "
                        "compares exactly two, e.g. toName=\"left,right\"",
                        c->name, c->line, c->n_to);
    }
    return 0;
}

/* Line of the first "<!DOCTYPE" in the text, for the message refusing it. */
static long doctype_line(const char *xml, size_t len)
{
    static const char mark[] = "<!DOCTYPE";
    long line = 1;
    for (size_t i = 0; i + sizeof mark - 1 <= len; i++) {
        if (memcmp(xml + i, mark, sizeof mark - 1) == 0) return line;
        if (xml[i] == '\n') line++;
    }
    return 1;
}

static int parse_doc(parser *p, xmlDoc *doc, const char *xml, size_t len)
{
    if (doc->intSubset || doc->extSubset)
        return fail(p, doctype_line(xml, len),
                    "the config has a <!DOCTYPE> declaration; labeling configs do not use "
                    "DTDs or entities, remove it");
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!root) return fail(p, 1, "the config has no root element; start it with <View>");
    long line = xmlGetLineNo(root);
    if (strcmp((const char *)root->name, "View") != 0)
        return fail(p, line,
                    "the root tag is <%s> at line %ld; a labeling config starts with "
                    "<View>",
                    (const char *)root->name, line);
    int rc = visit(p, root, NO_CONTROL);
    if (rc) return rc;
    return check_references(p);
}

int an_config_parse(const char *xml, size_t len, an_config **out, an_err *err)
{
    *out = NULL;
    if (len == 0)
        return an_err_set(err, AN_EINVAL, "config:1",
                          "the labeling config is empty; write one starting with <View>");
    if (len > INT_MAX)
        return an_err_set(err, AN_EINVAL, "config:1",
                          "the labeling config is too large (%zu bytes)", len);
    /* libxml2 2.9 must be initialised once before threads parse concurrently. */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, xmlInitParser);
    xmlParserCtxt *ctxt = xmlNewParserCtxt();
    if (!ctxt) return an_err_set(err, AN_ENOMEM, "config", "out of memory creating XML parser");
    /* No XML_PARSE_NOENT (entity substitution) and no DTD loading: see the file comment. */
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES;
    xmlDoc *doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "config", NULL, opts);
    if (!doc) {
        const xmlError *xe = &ctxt->lastError;
        char msg[512];
        snprintf(msg, sizeof msg, "%s", xe->message ? xe->message : "unreadable XML");
        size_t m = strlen(msg);
        while (m && is_space(msg[m - 1]))
            msg[--m] = '\0';
        char where[32];
        snprintf(where, sizeof where, "config:%d", xe->line > 0 ? xe->line : 1);
        int rc = an_err_set(err, AN_EINVAL, where,
                            "XML syntax error at line %d: %s; fix the "
                            "labeling config",
                            xe->line > 0 ? xe->line : 1, msg);
        xmlFreeParserCtxt(ctxt);
        return rc;
    }
    parser p = {.cfg = an_xcalloc(1, sizeof(an_config)), .names = json_object(), .err = err};
    if (!p.names) abort(); /* Jansson's only failure is out of memory */
    int rc = parse_doc(&p, doc, xml, len);
    json_decref(p.names);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    if (rc) {
        an_config_free(p.cfg);
        return rc;
    }
    *out = p.cfg;
    return 0;
}

void an_config_free(an_config *cfg)
{
    if (!cfg) return;
    for (size_t i = 0; i < cfg->n_objects; i++) {
        free(cfg->objects[i].name);
        free(cfg->objects[i].value);
        free(cfg->objects[i].data_key);
    }
    free(cfg->objects);
    for (size_t i = 0; i < cfg->n_controls; i++) {
        an_control *c = &cfg->controls[i];
        free(c->name);
        for (size_t k = 0; k < c->n_to; k++)
            free(c->to_names[k]);
        free(c->to_names);
        for (size_t k = 0; k < c->n_labels; k++)
            free(c->labels[k]);
        free(c->labels);
    }
    free(cfg->controls);
    free(cfg);
}

const an_object *an_config_object(const an_config *cfg, const char *name)
{
    if (!cfg || !name) return NULL;
    for (size_t i = 0; i < cfg->n_objects; i++)
        if (strcmp(cfg->objects[i].name, name) == 0) return &cfg->objects[i];
    return NULL;
}

const an_control *an_config_control(const an_config *cfg, const char *name)
{
    if (!cfg || !name) return NULL;
    for (size_t i = 0; i < cfg->n_controls; i++)
        if (strcmp(cfg->controls[i].name, name) == 0) return &cfg->controls[i];
    return NULL;
}

const an_object *an_config_first_object(const an_config *cfg, an_tag tag)
{
    if (!cfg) return NULL;
    for (size_t i = 0; i < cfg->n_objects; i++)
        if (cfg->objects[i].tag == tag) return &cfg->objects[i];
    return NULL;
}

const an_control *an_config_first_control(const an_config *cfg, an_tag tag)
{
    if (!cfg) return NULL;
    for (size_t i = 0; i < cfg->n_controls; i++)
        if (cfg->controls[i].tag == tag) return &cfg->controls[i];
    return NULL;
}

int an_control_label_index(const an_control *c, const char *label)
{
    if (!c || !label) return -1;
    for (size_t i = 0; i < c->n_labels && i < INT_MAX; i++)
        if (strcmp(c->labels[i], label) == 0) return (int)i;
    return -1;
}
