/* Quality-control rules: parsing the rules document and evaluating it on one annotation.
 * docs/qc.md ("Rules") is the user's description of everything here. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "qc/rules.h"

#include <math.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/utf8.h"
#include "qc/regions.h"

/* Regex limits: a rule's pattern runs on untrusted text at every submit, so a pattern with
 * catastrophic backtracking must give up quickly instead of holding a request thread. */
#define RE_MATCH_LIMIT 100000
#define RE_DEPTH_LIMIT 1000
#define RE_HEAP_KIB 8192
#define RE_NEST_LIMIT 50
/* Pairwise box rules (duplicates, consensus) are quadratic: boxes past this many in one
 * result are not compared. */
#define MAX_BOXES 5000

typedef enum rule_type {
    R_REQUIRED,
    R_TAXONOMY,
    R_BOX_BOUNDS,
    R_DUPLICATE_BOXES,
    R_SPAN_BOUNDARY,
    R_TEXT_ANSWER,
    R_LEAD_TIME,
    R_LABEL_OMISSION,
    R_BOX_DEVIATION,
    R_EXPR,
    R__COUNT
} rule_type;

/* Numeric parameters; each rule type allows some of them (type_params below). */
enum {
    N_MIN_WIDTH,
    N_MIN_HEIGHT,
    N_MIN_WIDTH_PX,
    N_MIN_HEIGHT_PX,
    N_IOU,
    N_MIN_LENGTH,
    N_MIN_SECONDS,
    N_MIN_SCORE,
    N_MIN_IOU,
    N_MATCH_IOU,
    N_CONSENSUS_IOU,
    N_MIN_REFERENCES,
    N__COUNT
};

typedef struct num_param {
    const char *name;
    double dflt, lo, hi;
    bool integer;
    bool lo_open; /* the value must be > lo rather than >= lo */
} num_param;

static const num_param num_params[N__COUNT] = {
    [N_MIN_WIDTH] = {"min_width", 0, 0, 100, false, false},
    [N_MIN_HEIGHT] = {"min_height", 0, 0, 100, false, false},
    [N_MIN_WIDTH_PX] = {"min_width_px", 0, 0, 1e6, false, false},
    [N_MIN_HEIGHT_PX] = {"min_height_px", 0, 0, 1e6, false, false},
    [N_IOU] = {"iou", 0.9, 0, 1, false, true},
    [N_MIN_LENGTH] = {"min_length", 1, 0, 100000, true, false},
    [N_MIN_SECONDS] = {"min_seconds", 2, 0, 86400, false, false},
    [N_MIN_SCORE] = {"min_score", 0.8, 0, 1, false, false},
    [N_MIN_IOU] = {"min_iou", 0.5, 0, 1, false, true},
    [N_MATCH_IOU] = {"match_iou", 0.1, 0, 1, false, true},
    [N_CONSENSUS_IOU] = {"consensus_iou", 0.5, 0, 1, false, true},
    [N_MIN_REFERENCES] = {"min_references", 2, 1, 1000, true, false},
};

typedef struct type_info {
    const char *name;
    bool controls; /* accepts "controls" */
    bool source;   /* accepts "source" */
    int n_num;
    int num[6];
    double dflt_override[6]; /* NAN: the table default */
} type_info;

static const type_info types[R__COUNT] = {
    [R_REQUIRED] = {"required", true, false, 0, {0}, {0}},
    [R_TAXONOMY] = {"taxonomy", true, false, 0, {0}, {0}},
    [R_BOX_BOUNDS] = {"box_bounds",
                      true,
                      false,
                      4,
                      {N_MIN_WIDTH, N_MIN_HEIGHT, N_MIN_WIDTH_PX, N_MIN_HEIGHT_PX},
                      {NAN, NAN, NAN, NAN}},
    [R_DUPLICATE_BOXES] = {"duplicate_boxes", true, false, 1, {N_IOU}, {NAN}},
    [R_SPAN_BOUNDARY] = {"span_boundary", true, false, 0, {0}, {0}},
    [R_TEXT_ANSWER] = {"text_answer", true, false, 1, {N_MIN_LENGTH}, {NAN}},
    [R_LEAD_TIME] = {"lead_time", false, false, 1, {N_MIN_SECONDS}, {NAN}},
    [R_LABEL_OMISSION] = {"label_omission",
                          true,
                          true,
                          4,
                          {N_MIN_SCORE, N_IOU, N_CONSENSUS_IOU, N_MIN_REFERENCES},
                          {NAN, 0.5, NAN, NAN}},
    [R_BOX_DEVIATION] = {"box_deviation",
                         true,
                         true,
                         5,
                         {N_MIN_SCORE, N_MIN_IOU, N_MATCH_IOU, N_CONSENSUS_IOU, N_MIN_REFERENCES},
                         {NAN, NAN, NAN, NAN, NAN}},
    [R_EXPR] = {"expr", false, false, 0, {0}, {0}},
};

/* ---- predicates of expr rules --------------------------------------------------------- */

typedef enum pred_kind {
    P_ALL,
    P_ANY,
    P_NOT,
    P_CONTAINS,
    P_EQUALS,
    P_REGEX,
    P_RANGE,
    P_EXISTS,
    P_COUNT,
} pred_kind;

typedef struct path_seg {
    char *key; /* NULL: an array index */
    size_t index;
} path_seg;

typedef struct pred {
    pred_kind kind;
    struct pred *kids; /* all/any: n_kids; not: one */
    size_t n_kids;
    path_seg *path;
    size_t n_path;
    json_t *value;   /* contains / equals */
    pcre2_code *re;  /* regex */
    double min, max; /* range and count */
    bool has_min, has_max;
    bool exists;
    char *count_from, *count_type, *count_label; /* count filter; NULL: any */
} pred;

typedef struct rule {
    char *id;
    rule_type type;
    an_qc_severity severity;
    char *message; /* NULL: the rule's own wording */
    char **controls;
    size_t n_controls;
    double num[N__COUNT];
    bool from_prediction, from_consensus;
    bool words; /* span_boundary */
    bool result_scope; /* expr */
    pred *when, *require;
} rule;

struct an_qc_rules {
    rule *rules;
    size_t n;
    pcre2_match_context *mctx;
};

const char *an_qc_severity_name(an_qc_severity s)
{
    return s == AN_QC_ERROR ? "error" : "warning";
}

/* ---- freeing ------------------------------------------------------------------------------ */

static void pred_clear(pred *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n_kids; i++)
        pred_clear(&p->kids[i]);
    free(p->kids);
    for (size_t i = 0; i < p->n_path; i++)
        free(p->path[i].key);
    free(p->path);
    json_decref(p->value);
    if (p->re) pcre2_code_free(p->re);
    free(p->count_from);
    free(p->count_type);
    free(p->count_label);
}

static void pred_free(pred *p)
{
    pred_clear(p);
    free(p);
}

void an_qc_rules_free(an_qc_rules *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        rule *u = &r->rules[i];
        free(u->id);
        free(u->message);
        for (size_t k = 0; k < u->n_controls; k++)
            free(u->controls[k]);
        free(u->controls);
        pred_free(u->when);
        pred_free(u->require);
    }
    free(r->rules);
    if (r->mctx) pcre2_match_context_free(r->mctx);
    free(r);
}

size_t an_qc_rules_count(const an_qc_rules *r)
{
    return r ? r->n : 0;
}

const char *an_qc_rule_id(const an_qc_rules *r, size_t i)
{
    return r->rules[i].id;
}

const char *an_qc_rule_type(const an_qc_rules *r, size_t i)
{
    return types[r->rules[i].type].name;
}

an_qc_severity an_qc_rule_severity(const an_qc_rules *r, size_t i)
{
    return r->rules[i].severity;
}

bool an_qc_rules_use_predictions(const an_qc_rules *r)
{
    for (size_t i = 0; r && i < r->n; i++)
        if (((r->rules[i].type == R_LABEL_OMISSION || r->rules[i].type == R_BOX_DEVIATION) &&
             r->rules[i].from_prediction) ||
            (r->rules[i].type == R_EXPR && r->rules[i].result_scope)) /* "scores" */
            return true;
    return false;
}

bool an_qc_rules_use_references(const an_qc_rules *r)
{
    for (size_t i = 0; r && i < r->n; i++)
        if ((r->rules[i].type == R_LABEL_OMISSION || r->rules[i].type == R_BOX_DEVIATION) &&
            r->rules[i].from_consensus)
            return true;
    return false;
}

/* ---- parsing ------------------------------------------------------------------------------ */

typedef struct pctx {
    an_err *err;
    const an_config *cfg;
    size_t n_preds; /* in the rule being parsed */
} pctx;

static int perr(pctx *c, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(pctx *c, const char *where, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return an_err_set(c->err, AN_EINVAL, where, "%s", msg);
}

/* where + "." + key, bounded. */
static void sub(char *out, size_t cap, const char *where, const char *key)
{
    snprintf(out, cap, "%s.%s", where, key);
}

static void subi(char *out, size_t cap, const char *where, size_t i)
{
    snprintf(out, cap, "%s[%zu]", where, i);
}

/* A field path: keys separated by dots, each optionally followed by [N] indices:
 * "value.labels[0]", "from_name". */
static int parse_path(pctx *c, const char *where, const char *text, pred *p)
{
    size_t len = strlen(text);
    if (len == 0 || len > 200)
        return perr(c, where,
                    "a field is a path of 1 to 200 bytes such as \"value.labels\" or "
                    "\"value.text[0]\"");
    size_t cap = 8;
    p->path = an_xcalloc(cap, sizeof *p->path);
    const char *s = text;
    while (*s) {
        if (p->n_path == 16)
            return perr(c, where, "a field path may have at most 16 parts; shorten it");
        if (p->n_path == cap) {
            cap *= 2;
            p->path = an_xrealloc(p->path, cap * sizeof *p->path);
        }
        if (*s == '[') {
            char *end;
            unsigned long long v = strtoull(s + 1, &end, 10);
            if (end == s + 1 || *end != ']' || v > 1000000)
                return perr(c, where,
                            "\"%s\": an index is written [N] with N a whole number from 0 to "
                            "1000000",
                            text);
            p->path[p->n_path++] = (path_seg){NULL, (size_t)v};
            s = end + 1;
            if (*s == '.') {
                s++;
                if (!*s || *s == '.' || *s == '[')
                    return perr(c, where, "\"%s\": a dot must be followed by a key", text);
            } else if (*s && *s != '[')
                return perr(c, where, "\"%s\": expected '.' or '[' after ']'", text);
            continue;
        }
        size_t n = strcspn(s, ".[");
        if (n == 0) return perr(c, where, "\"%s\": empty key in the field path", text);
        p->path[p->n_path++] = (path_seg){an_xstrndup(s, n), 0};
        s += n;
        if (*s == '.') {
            s++;
            if (!*s || *s == '.' || *s == '[')
                return perr(c, where, "\"%s\": a dot must be followed by a key", text);
        }
    }
    return 0;
}

static int parse_bound(pctx *c, const char *where, const json_t *o, const char *key, double *v,
                       bool *has)
{
    const json_t *j = json_object_get(o, key);
    *has = false;
    if (!j) return 0;
    char w[300];
    sub(w, sizeof w, where, key);
    if (!an_json_number(j, v) || !isfinite(*v))
        return perr(c, w, "\"%s\" must be a number", key);
    *has = true;
    return 0;
}

static int compile_regex(pctx *c, const char *where, const char *pattern, size_t len,
                         pcre2_code **out)
{
    if (len == 0 || len > AN_QC_MAX_REGEX)
        return perr(c, where, "a regex must be 1 to %d bytes long; shorten it", AN_QC_MAX_REGEX);
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (!cc) abort();
    pcre2_set_parens_nest_limit(cc, RE_NEST_LIMIT);
    pcre2_set_max_pattern_length(cc, AN_QC_MAX_REGEX);
    int ecode = 0;
    PCRE2_SIZE eoff = 0;
    *out = pcre2_compile((PCRE2_SPTR)pattern, len,
                         PCRE2_UTF | PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C, &ecode, &eoff, cc);
    pcre2_compile_context_free(cc);
    if (!*out) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ecode, msg, sizeof msg);
        return perr(c, where, "the regex does not compile at byte %zu: %s; fix the pattern",
                    (size_t)eoff, (const char *)msg);
    }
    /* JIT is an optimisation: when it is unavailable the interpreter runs the pattern. */
    pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
    return 0;
}

static int check_keys(pctx *c, const char *where, const json_t *o, const char *const *allowed,
                      const char *what)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(key, allowed[i]) == 0) ok = true;
        if (!ok) {
            char w[300];
            sub(w, sizeof w, where, key);
            an_buf b = AN_BUF_INIT;
            for (size_t i = 0; allowed[i]; i++)
                an_buf_addf(&b, "%s%s", i ? ", " : "", allowed[i]);
            int rc = perr(c, w, "unknown key \"%s\" in %s; the keys are: %s", key, what, b.p);
            an_buf_free(&b);
            return rc;
        }
    }
    return 0;
}

static int parse_pred(pctx *c, const char *where, const json_t *j, int depth, pred *p);

static int parse_pred_list(pctx *c, const char *where, const json_t *arr, int depth, pred *p)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return perr(c, where, "expected a non-empty list of predicates");
    p->n_kids = json_array_size(arr);
    p->kids = an_xcalloc(p->n_kids, sizeof *p->kids);
    for (size_t i = 0; i < p->n_kids; i++) {
        char w[300];
        subi(w, sizeof w, where, i);
        int rc = parse_pred(c, w, json_array_get(arr, i), depth + 1, &p->kids[i]);
        if (rc) return rc;
    }
    return 0;
}

static int parse_pred(pctx *c, const char *where, const json_t *j, int depth, pred *p)
{
    memset(p, 0, sizeof *p);
    p->kind = P_ALL; /* an empty all: clearing it is safe whatever fails below */
    if (depth > AN_QC_MAX_DEPTH)
        return perr(c, where, "predicates nest deeper than %d levels; flatten the rule",
                    AN_QC_MAX_DEPTH);
    if (++c->n_preds > AN_QC_MAX_PREDICATES)
        return perr(c, where, "a rule may have at most %d predicates; split it",
                    AN_QC_MAX_PREDICATES);
    if (!json_is_object(j))
        return perr(c, where,
                    "a predicate is an object such as {\"field\": \"value.labels\", "
                    "\"contains\": \"PER\"}, {\"count\": {...}, \"min\": 1}, or {\"all\"|\"any\": "
                    "[...]}, {\"not\": {...}}");
    char w[300];
    if (json_object_get(j, "all") || json_object_get(j, "any")) {
        static const char *const keys[] = {"all", "any", NULL};
        int rc = check_keys(c, where, j, keys, "an all/any predicate");
        if (rc) return rc;
        if (json_object_size(j) != 1)
            return perr(c, where, "give either \"all\" or \"any\", not both");
        const char *k = json_object_get(j, "all") ? "all" : "any";
        p->kind = k[1] == 'l' ? P_ALL : P_ANY;
        sub(w, sizeof w, where, k);
        return parse_pred_list(c, w, json_object_get(j, k), depth, p);
    }
    if (json_object_get(j, "not")) {
        static const char *const keys[] = {"not", NULL};
        int rc = check_keys(c, where, j, keys, "a not predicate");
        if (rc) return rc;
        p->kind = P_NOT;
        p->kids = an_xcalloc(1, sizeof *p->kids);
        p->n_kids = 1;
        sub(w, sizeof w, where, "not");
        return parse_pred(c, w, json_object_get(j, "not"), depth + 1, &p->kids[0]);
    }
    if (json_object_get(j, "count")) {
        static const char *const keys[] = {"count", "min", "max", NULL};
        int rc = check_keys(c, where, j, keys, "a count predicate");
        if (rc) return rc;
        p->kind = P_COUNT;
        const json_t *f = json_object_get(j, "count");
        sub(w, sizeof w, where, "count");
        static const char *const fkeys[] = {"from_name", "type", "label", NULL};
        if (!json_is_object(f))
            return perr(c, w,
                        "\"count\" is an object naming which items to count, e.g. "
                        "{\"from_name\": \"ner\", \"label\": \"PER\"}");
        if ((rc = check_keys(c, w, f, fkeys, "a count filter"))) return rc;
        char *const *slots[3] = {&p->count_from, &p->count_type, &p->count_label};
        for (int k = 0; k < 3; k++) {
            const json_t *v = json_object_get(f, fkeys[k]);
            if (!v) continue;
            char w2[300];
            sub(w2, sizeof w2, w, fkeys[k]);
            if (!json_is_string(v)) return perr(c, w2, "\"%s\" must be a string", fkeys[k]);
            *(char **)slots[k] = an_xstrdup(json_string_value(v));
        }
        if ((rc = parse_bound(c, where, j, "min", &p->min, &p->has_min))) return rc;
        if ((rc = parse_bound(c, where, j, "max", &p->max, &p->has_max))) return rc;
        if (!p->has_min && !p->has_max)
            return perr(c, where, "a count predicate needs \"min\", \"max\" or both");
        return 0;
    }
    if (!json_object_get(j, "field"))
        return perr(c, where,
                    "a predicate needs \"field\" (with contains, equals, regex, min/max or "
                    "exists), \"count\", \"all\", \"any\" or \"not\"");
    static const char *const keys[] = {"field", "contains", "equals", "regex", "min",
                                       "max",   "exists",   NULL};
    int rc = check_keys(c, where, j, keys, "a field predicate");
    if (rc) return rc;
    const json_t *f = json_object_get(j, "field");
    sub(w, sizeof w, where, "field");
    if (!json_is_string(f)) return perr(c, w, "\"field\" must be a string path");
    if ((rc = parse_path(c, w, json_string_value(f), p))) return rc;
    int ops = 0;
    const json_t *v;
    if ((v = json_object_get(j, "contains"))) {
        ops++;
        p->kind = P_CONTAINS;
        p->value = json_incref((json_t *)v);
    }
    if ((v = json_object_get(j, "equals"))) {
        ops++;
        p->kind = P_EQUALS;
        p->value = json_incref((json_t *)v);
    }
    if ((v = json_object_get(j, "regex"))) {
        ops++;
        p->kind = P_REGEX;
        sub(w, sizeof w, where, "regex");
        if (!json_is_string(v)) return perr(c, w, "\"regex\" must be a string (a PCRE2 pattern)");
        if ((rc = compile_regex(c, w, json_string_value(v), json_string_length(v), &p->re)))
            return rc;
    }
    if ((v = json_object_get(j, "exists"))) {
        ops++;
        p->kind = P_EXISTS;
        sub(w, sizeof w, where, "exists");
        if (!json_is_boolean(v)) return perr(c, w, "\"exists\" must be true or false");
        p->exists = json_is_true(v);
    }
    if (json_object_get(j, "min") || json_object_get(j, "max")) {
        ops++;
        p->kind = P_RANGE;
        if ((rc = parse_bound(c, where, j, "min", &p->min, &p->has_min))) return rc;
        if ((rc = parse_bound(c, where, j, "max", &p->max, &p->has_max))) return rc;
    }
    if (ops != 1) {
        if (p->value) {
            json_decref(p->value);
            p->value = NULL;
        }
        return perr(c, where,
                    "a field predicate takes exactly one test: contains, equals, regex, "
                    "min/max or exists");
    }
    return 0;
}

static const char *const common_keys[] = {"id", "type", "severity", "message", NULL};

static int parse_controls(pctx *c, const char *where, const json_t *arr, rule *u)
{
    char w[300];
    sub(w, sizeof w, where, "controls");
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 100)
        return perr(c, w, "\"controls\" is a list of 1 to 100 control names");
    u->n_controls = json_array_size(arr);
    u->controls = an_xcalloc(u->n_controls, sizeof *u->controls);
    for (size_t i = 0; i < u->n_controls; i++) {
        const json_t *v = json_array_get(arr, i);
        char wi[300];
        subi(wi, sizeof wi, w, i);
        if (!json_is_string(v)) return perr(c, wi, "a control name must be a string");
        u->controls[i] = an_xstrdup(json_string_value(v));
        if (c->cfg && !an_config_control(c->cfg, u->controls[i]))
            return perr(c, wi,
                        "the labeling config has no control named \"%s\"; use the name= of a "
                        "control",
                        u->controls[i]);
    }
    return 0;
}

static bool id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > AN_QC_MAX_ID) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.'))
            return false;
    }
    return true;
}

static int parse_rule(pctx *c, const char *where, const json_t *j, rule *u, const rule *prev,
                      size_t n_prev)
{
    char w[300];
    if (!json_is_object(j))
        return perr(c, where,
                    "a rule is an object such as {\"id\": \"boxes\", \"type\": \"box_bounds\", "
                    "\"severity\": \"error\"}");
    const json_t *id = json_object_get(j, "id");
    sub(w, sizeof w, where, "id");
    if (!json_is_string(id) || !id_ok(json_string_value(id)))
        return perr(c, w,
                    "every rule needs an \"id\": 1 to %d letters, digits, '_', '-' or '.'",
                    AN_QC_MAX_ID);
    for (size_t i = 0; i < n_prev; i++)
        if (strcmp(prev[i].id, json_string_value(id)) == 0)
            return perr(c, w, "rule id \"%s\" is used twice (also rules[%zu]); ids are unique",
                        json_string_value(id), i);
    u->id = an_xstrdup(json_string_value(id));
    const json_t *type = json_object_get(j, "type");
    sub(w, sizeof w, where, "type");
    u->type = R__COUNT;
    for (int t = 0; t < R__COUNT && json_is_string(type); t++)
        if (strcmp(types[t].name, json_string_value(type)) == 0) u->type = (rule_type)t;
    if (u->type == R__COUNT) {
        an_buf b = AN_BUF_INIT;
        for (int t = 0; t < R__COUNT; t++)
            an_buf_addf(&b, "%s%s", t ? ", " : "", types[t].name);
        int rc = perr(c, w, "unknown rule type%s%s%s; the types are: %s",
                      json_is_string(type) ? " \"" : "",
                      json_is_string(type) ? json_string_value(type) : "",
                      json_is_string(type) ? "\"" : "", b.p);
        an_buf_free(&b);
        return rc;
    }
    const type_info *ti = &types[u->type];
    /* The keys this type accepts. */
    const char *allowed[20];
    size_t na = 0;
    for (size_t i = 0; common_keys[i]; i++)
        allowed[na++] = common_keys[i];
    if (ti->controls) allowed[na++] = "controls";
    if (ti->source) allowed[na++] = "source";
    for (int k = 0; k < ti->n_num; k++)
        allowed[na++] = num_params[ti->num[k]].name;
    if (u->type == R_SPAN_BOUNDARY) allowed[na++] = "words";
    if (u->type == R_EXPR) {
        allowed[na++] = "when";
        allowed[na++] = "require";
        allowed[na++] = "scope";
    }
    allowed[na] = NULL;
    char what[80];
    snprintf(what, sizeof what, "a %s rule", ti->name);
    int rc = check_keys(c, where, j, allowed, what);
    if (rc) return rc;

    const json_t *sev = json_object_get(j, "severity");
    sub(w, sizeof w, where, "severity");
    u->severity = AN_QC_WARNING;
    if (sev) {
        if (json_is_string(sev) && strcmp(json_string_value(sev), "error") == 0)
            u->severity = AN_QC_ERROR;
        else if (!json_is_string(sev) || strcmp(json_string_value(sev), "warning") != 0)
            return perr(c, w, "\"severity\" is \"error\" (blocks a submit) or \"warning\"");
    }
    const json_t *msg = json_object_get(j, "message");
    sub(w, sizeof w, where, "message");
    if (msg) {
        if (!json_is_string(msg) || json_string_length(msg) == 0 ||
            json_string_length(msg) > AN_QC_MAX_MESSAGE)
            return perr(c, w, "\"message\" is a string of 1 to %d bytes", AN_QC_MAX_MESSAGE);
        u->message = an_xstrdup(json_string_value(msg));
    } else if (u->type == R_EXPR) {
        return perr(c, w, "an expr rule needs a \"message\" saying what is wrong");
    }
    if (ti->controls && json_object_get(j, "controls")) {
        if ((rc = parse_controls(c, where, json_object_get(j, "controls"), u))) return rc;
    }
    for (int k = 0; k < N__COUNT; k++)
        u->num[k] = num_params[k].dflt;
    for (int k = 0; k < ti->n_num; k++) {
        const num_param *np = &num_params[ti->num[k]];
        if (!isnan(ti->dflt_override[k])) u->num[ti->num[k]] = ti->dflt_override[k];
        const json_t *v = json_object_get(j, np->name);
        if (!v) continue;
        sub(w, sizeof w, where, np->name);
        double d;
        if (!an_json_number(v, &d) || !isfinite(d) || d < np->lo || d > np->hi ||
            (np->lo_open && d <= np->lo) || (np->integer && d != floor(d)))
            return perr(c, w, "\"%s\" must be a%s number %s %g and at most %g", np->name,
                        np->integer ? " whole" : "", np->lo_open ? "above" : "from", np->lo,
                        np->hi);
        u->num[ti->num[k]] = d;
    }
    if (ti->source) {
        u->from_prediction = u->from_consensus = true;
        const json_t *src = json_object_get(j, "source");
        sub(w, sizeof w, where, "source");
        if (src) {
            const char *s = json_is_string(src) ? json_string_value(src) : "";
            if (strcmp(s, "prediction") == 0)
                u->from_consensus = false;
            else if (strcmp(s, "consensus") == 0)
                u->from_prediction = false;
            else if (strcmp(s, "any") != 0)
                return perr(c, w, "\"source\" is \"prediction\", \"consensus\" or \"any\"");
        }
    }
    if (u->type == R_SPAN_BOUNDARY) {
        u->words = true;
        const json_t *v = json_object_get(j, "words");
        sub(w, sizeof w, where, "words");
        if (v && !json_is_boolean(v)) return perr(c, w, "\"words\" must be true or false");
        if (v) u->words = json_is_true(v);
    }
    if (u->type == R_EXPR) {
        c->n_preds = 0;
        const json_t *scope = json_object_get(j, "scope");
        sub(w, sizeof w, where, "scope");
        if (scope) {
            const char *s = json_is_string(scope) ? json_string_value(scope) : "";
            if (strcmp(s, "result") == 0)
                u->result_scope = true;
            else if (strcmp(s, "item") != 0)
                return perr(c, w, "\"scope\" is \"item\" (each result item) or \"result\"");
        }
        const json_t *when = json_object_get(j, "when");
        if (when) {
            u->when = an_xcalloc(1, sizeof *u->when);
            sub(w, sizeof w, where, "when");
            if ((rc = parse_pred(c, w, when, 1, u->when))) return rc;
        }
        const json_t *req = json_object_get(j, "require");
        sub(w, sizeof w, where, "require");
        if (!req) return perr(c, w, "an expr rule needs \"require\": the predicate that must hold");
        u->require = an_xcalloc(1, sizeof *u->require);
        if ((rc = parse_pred(c, w, req, 1, u->require))) return rc;
    }
    return 0;
}

int an_qc_rules_parse(const char *text, size_t len, const an_config *cfg, an_qc_rules **out,
                      an_err *err)
{
    *out = NULL;
    pctx c = {.err = err, .cfg = cfg};
    if (len > AN_QC_MAX_DOC_BYTES)
        return perr(&c, "rules", "the rules document is larger than %d KiB; shorten it",
                    AN_QC_MAX_DOC_BYTES / 1024);
    json_t *doc = an_json_parse(text, len, "rules", err);
    if (!doc) return -AN_EINVAL;
    int rc = 0;
    an_qc_rules *r = an_xcalloc(1, sizeof *r);
    static const char *const top[] = {"rules", NULL};
    const json_t *list = json_object_get(doc, "rules");
    if (!json_is_object(doc)) {
        rc = perr(&c, "$", "the rules document is an object: {\"rules\": [ ... ]}");
    } else if ((rc = check_keys(&c, "$", doc, top, "the rules document"))) {
    } else if (!json_is_array(list)) {
        rc = perr(&c, "rules", "\"rules\" must be a list of rules (it may be empty)");
    } else if (json_array_size(list) > AN_QC_MAX_RULES) {
        rc = perr(&c, "rules", "at most %d rules; combine or drop some", AN_QC_MAX_RULES);
    } else {
        r->rules = an_xcalloc(json_array_size(list) + 1, sizeof *r->rules);
        for (size_t i = 0; i < json_array_size(list) && !rc; i++) {
            char w[64];
            subi(w, sizeof w, "rules", i);
            rc = parse_rule(&c, w, json_array_get(list, i), &r->rules[i], r->rules, i);
            r->n = i + 1; /* so that free releases a half-parsed rule too */
        }
    }
    json_decref(doc);
    if (!rc) {
        r->mctx = pcre2_match_context_create(NULL);
        if (!r->mctx) abort();
        pcre2_set_match_limit(r->mctx, RE_MATCH_LIMIT);
        pcre2_set_depth_limit(r->mctx, RE_DEPTH_LIMIT);
        pcre2_set_heap_limit(r->mctx, RE_HEAP_KIB);
    }
    if (rc) {
        an_qc_rules_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* ---- findings ----------------------------------------------------------------------------- */

void an_qc_findings_clear(an_qc_findings *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->items[i].rule);
        free(f->items[i].place);
        free(f->items[i].message);
    }
    free(f->items);
    memset(f, 0, sizeof *f);
}

void an_qc_findings_add(an_qc_findings *f, const char *rule_id, const char *type,
                        an_qc_severity sev, const char *place, const char *message)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 8;
        f->items = an_xrealloc(f->items, f->cap * sizeof *f->items);
    }
    f->items[f->n++] = (an_qc_finding){an_xstrdup(rule_id), type, sev,
                                       an_xstrdup(place ? place : ""), an_xstrdup(message)};
}

json_t *an_qc_findings_json(const an_qc_findings *f)
{
    json_t *a = json_array();
    for (size_t i = 0; i < f->n; i++) {
        const an_qc_finding *x = &f->items[i];
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s}", "rule", x->rule, "type",
                                           x->type, "severity", an_qc_severity_name(x->severity),
                                           "place", x->place, "message", x->message));
    }
    return a;
}

/* ---- evaluation: shared helpers --------------------------------------------------------------- */

typedef struct ectx {
    const an_qc_rules *rules;
    const an_qc_input *in;
    an_qc_findings *out;
    size_t added;
    pcre2_match_data *md;
} ectx;

static void found(ectx *e, const rule *u, const char *place, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Adds a finding of rule u; the rule's own message, when it has one, comes first. */
static void found(ectx *e, const rule *u, const char *place, const char *fmt, ...)
{
    if (e->added >= AN_QC_MAX_FINDINGS) return;
    e->added++;
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (u->message && u->type != R_EXPR) {
        an_buf b = AN_BUF_INIT;
        an_buf_addf(&b, "%s (%s)", u->message, detail);
        an_qc_findings_add(e->out, u->id, types[u->type].name, u->severity, place, b.p);
        an_buf_free(&b);
    } else {
        an_qc_findings_add(e->out, u->id, types[u->type].name, u->severity, place,
                           u->type == R_EXPR ? u->message : detail);
    }
}

static const char *item_from(const json_t *item)
{
    return an_json_str(item, "from_name");
}

static const char *item_type(const json_t *item)
{
    return an_json_str(item, "type");
}

static bool control_selected(const rule *u, const char *from_name)
{
    if (!from_name) return false;
    if (u->n_controls == 0) return true;
    for (size_t i = 0; i < u->n_controls; i++)
        if (strcmp(u->controls[i], from_name) == 0) return true;
    return false;
}

/* The key under which an item's labels are stored, for label-bearing types; else NULL. */
static const char *label_key(const char *type)
{
    static const char *const keys[] = {"labels",        "choices",        "rectanglelabels",
                                       "polygonlabels", "keypointlabels", NULL};
    for (size_t i = 0; type && keys[i]; i++)
        if (strcmp(type, keys[i]) == 0) return keys[i];
    return NULL;
}

static bool is_rect_type(const char *type)
{
    return type && (strcmp(type, "rectanglelabels") == 0 || strcmp(type, "rectangle") == 0);
}

/* A rectangle of a result. */
typedef struct box {
    size_t idx; /* item index in its result */
    const char *from_name;
    const char *label; /* first label; "" when none */
    an_rect r;
    double img_w, img_h; /* pixels; 0 when unknown */
} box;

static bool num_member(const json_t *o, const char *key, double *v)
{
    return an_json_number(json_object_get(o, key), v) && isfinite(*v);
}

/* Reads result item i as a box; false when it is not a readable rectangle. */
static bool read_box(const json_t *item, size_t i, box *b)
{
    const char *type = item_type(item);
    if (!is_rect_type(type)) return false;
    const json_t *v = json_object_get(item, "value");
    memset(b, 0, sizeof *b);
    b->idx = i;
    b->from_name = item_from(item);
    if (!b->from_name) b->from_name = "";
    if (!num_member(v, "x", &b->r.x) || !num_member(v, "y", &b->r.y) ||
        !num_member(v, "width", &b->r.w) || !num_member(v, "height", &b->r.h))
        return false;
    if (!num_member(v, "rotation", &b->r.rotation)) b->r.rotation = 0;
    const json_t *labels = json_object_get(v, "rectanglelabels");
    if (!labels) labels = json_object_get(v, "labels");
    b->label = json_string_value(json_array_get(labels, 0));
    if (!b->label) b->label = "";
    if (!num_member(item, "original_width", &b->img_w)) b->img_w = 0;
    if (!num_member(item, "original_height", &b->img_h)) b->img_h = 0;
    return true;
}

/* The result's boxes (at most MAX_BOXES); caller frees. */
static box *boxes_of(const json_t *result, size_t *n)
{
    *n = 0;
    size_t cap = 0;
    box *out = NULL;
    for (size_t i = 0; i < json_array_size(result) && *n < MAX_BOXES; i++) {
        box b;
        if (!read_box(json_array_get(result, i), i, &b)) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            out = an_xrealloc(out, cap * sizeof *out);
        }
        out[(*n)++] = b;
    }
    return out;
}

static double iou(const box *a, const box *b)
{
    /* The aspect ratio matters only for rotated boxes; use the image's when known. */
    double aspect = a->img_w > 0 && a->img_h > 0 ? a->img_w / a->img_h : 1;
    return an_rect_iou_aspect(&a->r, &b->r, aspect);
}

static bool same_key(const box *a, const box *b)
{
    return strcmp(a->from_name, b->from_name) == 0 && strcmp(a->label, b->label) == 0;
}

/* ---- the rules ------------------------------------------------------------------------------ */

static void eval_required(ectx *e, const rule *u)
{
    const an_config *cfg = e->in->cfg;
    const json_t *result = e->in->result;
    size_t n = u->n_controls ? u->n_controls : (cfg ? cfg->n_controls : 0);
    for (size_t k = 0; k < n; k++) {
        const an_control *ctl = NULL;
        const char *name;
        if (u->n_controls) {
            name = u->controls[k];
            ctl = cfg ? an_config_control(cfg, name) : NULL;
        } else {
            ctl = &cfg->controls[k];
            if (!ctl->required || ctl->tag == AN_TAG_RELATIONS) continue;
            name = ctl->name;
        }
        bool answered = false;
        for (size_t i = 0; i < json_array_size(result) && !answered; i++) {
            const char *from = item_from(json_array_get(result, i));
            answered = from && strcmp(from, name) == 0;
        }
        if (!answered)
            found(e, u, "result", "the required control \"%s\"%s%s%s has no answer; answer it",
                  name, ctl ? " (" : "", ctl ? an_tag_name(ctl->tag) : "", ctl ? ")" : "");
    }
}

static void eval_taxonomy(ectx *e, const rule *u)
{
    const an_config *cfg = e->in->cfg;
    if (!cfg) return;
    const json_t *result = e->in->result;
    for (size_t i = 0; i < json_array_size(result); i++) {
        const json_t *item = json_array_get(result, i);
        const char *type = item_type(item);
        char place[300];
        if (type && strcmp(type, "relation") == 0) {
            const an_control *rel = an_config_first_control(cfg, AN_TAG_RELATIONS);
            const json_t *labels = json_object_get(item, "labels");
            if (!rel || (u->n_controls && !control_selected(u, rel->name))) continue;
            for (size_t k = 0; k < json_array_size(labels); k++) {
                const char *l = json_string_value(json_array_get(labels, k));
                if (!l || an_control_label_index(rel, l) >= 0) continue;
                snprintf(place, sizeof place, "result[%zu].labels[%zu]", i, k);
                found(e, u, place, "relation label \"%s\" is not in the taxonomy", l);
            }
            continue;
        }
        const char *key = label_key(type);
        const char *from = item_from(item);
        if (!key || !from || !control_selected(u, from)) continue;
        const an_control *ctl = an_config_control(cfg, from);
        if (!ctl) {
            snprintf(place, sizeof place, "result[%zu].from_name", i);
            found(e, u, place, "no control named \"%s\" in the labeling config", from);
            continue;
        }
        const json_t *labels = json_object_get(json_object_get(item, "value"), key);
        for (size_t k = 0; k < json_array_size(labels); k++) {
            const char *l = json_string_value(json_array_get(labels, k));
            if (l && an_control_label_index(ctl, l) >= 0) continue;
            snprintf(place, sizeof place, "result[%zu].value.%s[%zu]", i, key, k);
            found(e, u, place, "label \"%s\" is not in the taxonomy of control \"%s\"",
                  l ? l : "(not a string)", from);
        }
    }
}

static void eval_box_bounds(ectx *e, const rule *u)
{
    const json_t *result = e->in->result;
    const double eps = 1e-6;
    for (size_t i = 0; i < json_array_size(result); i++) {
        box b;
        if (!read_box(json_array_get(result, i), i, &b) || !control_selected(u, b.from_name))
            continue;
        char place[300];
        an_pt pts[4];
        double aspect = b.img_w > 0 && b.img_h > 0 ? b.img_w / b.img_h : 1;
        an_rect_corners(&b.r, aspect, pts);
        bool inside = true;
        for (int k = 0; k < 4; k++)
            if (pts[k].x < -eps || pts[k].x > 100 + eps || pts[k].y < -eps ||
                pts[k].y > 100 + eps)
                inside = false;
        if (!inside) {
            const char *field = b.r.x < -eps                        ? "x"
                                : b.r.y < -eps                      ? "y"
                                : b.r.rotation != 0                 ? "rotation"
                                : b.r.x + b.r.w > 100 + eps         ? "width"
                                                                    : "height";
            snprintf(place, sizeof place, "result[%zu].value.%s", i, field);
            found(e, u, place,
                  "the box (x %g, y %g, width %g, height %g%s) reaches outside the image", b.r.x,
                  b.r.y, b.r.w, b.r.h, b.r.rotation != 0 ? ", rotated" : "");
            continue;
        }
        const char *small = NULL;
        char why[200] = "";
        if (b.r.w < u->num[N_MIN_WIDTH]) {
            small = "width";
            snprintf(why, sizeof why, "%g%% wide, below the minimum %g%%", b.r.w,
                     u->num[N_MIN_WIDTH]);
        } else if (b.r.h < u->num[N_MIN_HEIGHT]) {
            small = "height";
            snprintf(why, sizeof why, "%g%% high, below the minimum %g%%", b.r.h,
                     u->num[N_MIN_HEIGHT]);
        } else if (b.img_w > 0 && b.r.w * b.img_w / 100 < u->num[N_MIN_WIDTH_PX]) {
            small = "width";
            snprintf(why, sizeof why, "%g px wide, below the minimum %g px",
                     b.r.w * b.img_w / 100, u->num[N_MIN_WIDTH_PX]);
        } else if (b.img_h > 0 && b.r.h * b.img_h / 100 < u->num[N_MIN_HEIGHT_PX]) {
            small = "height";
            snprintf(why, sizeof why, "%g px high, below the minimum %g px",
                     b.r.h * b.img_h / 100, u->num[N_MIN_HEIGHT_PX]);
        } else if (b.r.w <= 0 || b.r.h <= 0) {
            small = b.r.w <= 0 ? "width" : "height";
            snprintf(why, sizeof why, "it has no area");
        }
        if (small) {
            snprintf(place, sizeof place, "result[%zu].value.%s", i, small);
            found(e, u, place, "the box is too small: %s", why);
        }
    }
}

static void eval_duplicates(ectx *e, const rule *u)
{
    size_t n;
    box *bs = boxes_of(e->in->result, &n);
    for (size_t j = 1; j < n; j++) {
        if (!control_selected(u, bs[j].from_name)) continue;
        for (size_t i = 0; i < j; i++) {
            if (!same_key(&bs[i], &bs[j])) continue;
            double v = iou(&bs[i], &bs[j]);
            if (v < u->num[N_IOU]) continue;
            char place[64];
            snprintf(place, sizeof place, "result[%zu]", bs[j].idx);
            found(e, u, place, "box \"%s\" nearly repeats result[%zu] (IoU %.3f >= %g)",
                  bs[j].label, bs[i].idx, v, u->num[N_IOU]);
            break;
        }
    }
    free(bs);
}

/* -- spans -- */

static pthread_once_t class_once = PTHREAD_ONCE_INIT;
static pcre2_code *class_re; /* written once, then read-only */

/* One pattern classifies a code point: group 1 a letter of a script written without spaces
 * between words (no word rule there), group 2 any other letter or digit, group 3 a mark. */
static void class_init(void)
{
    int ec;
    PCRE2_SIZE eo;
    const char *pat = "\\A(?:([\\p{Han}\\p{Hiragana}\\p{Katakana}\\p{Hangul}\\p{Thai}\\p{Lao}"
                      "\\p{Khmer}\\p{Myanmar}])|([\\p{L}\\p{N}])|(\\p{M}))";
    class_re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &ec,
                             &eo, NULL);
}

enum { C_OTHER, C_NOSPACE, C_WORD, C_MARK };

static int classify(ectx *e, int32_t cp)
{
    pthread_once(&class_once, class_init);
    if (!class_re || cp < 0) return C_OTHER;
    if (cp < 0x80) {
        bool w = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
        return w ? C_WORD : C_OTHER;
    }
    char buf[4];
    size_t n = an_utf8_encode(cp, buf);
    if (!n) return C_OTHER;
    if (!e->md) e->md = pcre2_match_data_create(4, NULL);
    if (!e->md) abort();
    int rc = pcre2_match(class_re, (PCRE2_SPTR)buf, n, 0, 0, e->md, NULL);
    if (rc < 0) return C_OTHER;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
    if (rc >= 2 && ov[2] != PCRE2_UNSET) return C_NOSPACE;
    if (rc >= 3 && ov[4] != PCRE2_UNSET) return C_WORD;
    return C_MARK;
}

static bool is_ri(int32_t cp)
{
    return cp >= 0x1F1E6 && cp <= 0x1F1FF;
}

/* Code points that join the one before them into one character as a reader sees it. */
static bool extends(int32_t cp)
{
    return cp == 0x200D || (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF) ||
           (cp >= 0x1F3FB && cp <= 0x1F3FF) || (cp >= 0xE0020 && cp <= 0xE007F) ||
           cp == 0x20E3;
}

/* The code point ending just before byte offset off (stepping back over continuation
 * bytes); -1 at the start. *start is where it begins. */
static int32_t prev_cp(const char *s, size_t off, size_t *start)
{
    if (off == 0) return -1;
    size_t i = off - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80 && off - i < 4)
        i--;
    *start = i;
    size_t k = i;
    return an_utf8_next(s, off, &k);
}

/* Why a boundary at byte offset off of text s[0..len) is bad, or NULL. */
static const char *boundary_fault(ectx *e, const rule *u, const char *s, size_t len, size_t off)
{
    if (off == 0 || off >= len) return NULL;
    size_t k = off, pstart = 0;
    int32_t next = an_utf8_next(s, len, &k);
    int32_t prev = prev_cp(s, off, &pstart);
    if (next < 0 || prev < 0) return NULL;
    int cn = classify(e, next);
    if (cn == C_MARK || extends(next) || prev == 0x200D)
        return "splits a character from its combining mark, variation selector, modifier or "
               "joiner";
    if (is_ri(prev) && is_ri(next)) {
        /* Flags are pairs of regional indicators: count the run ending at prev. */
        size_t run = 1, at = pstart;
        size_t st;
        while (is_ri(prev_cp(s, at, &st))) {
            run++;
            at = st;
        }
        if (run % 2 == 1) return "splits a flag (a pair of regional indicators)";
    }
    if (!u->words) return NULL;
    int cp_ = classify(e, prev);
    if ((cp_ == C_WORD || cp_ == C_MARK) && cn == C_WORD) return "cuts a word";
    return NULL;
}

static void eval_spans(ectx *e, const rule *u)
{
    const an_config *cfg = e->in->cfg;
    if (!cfg || !json_is_object(e->in->data)) return;
    const json_t *result = e->in->result;
    for (size_t i = 0; i < json_array_size(result); i++) {
        const json_t *item = json_array_get(result, i);
        const char *type = item_type(item), *from = item_from(item);
        const char *to = an_json_str(item, "to_name");
        if (!type || strcmp(type, "labels") != 0 || !to || !control_selected(u, from)) continue;
        const an_object *obj = an_config_object(cfg, to);
        if (!obj || obj->tag != AN_TAG_TEXT || !obj->data_key) continue;
        const json_t *tj = json_object_get(e->in->data, obj->data_key);
        const json_t *v = json_object_get(item, "value");
        const json_t *sj = json_object_get(v, "start"), *ej = json_object_get(v, "end");
        if (!json_is_string(tj) || !json_is_integer(sj) || !json_is_integer(ej)) continue;
        const char *s = json_string_value(tj);
        size_t len = json_string_length(tj);
        const char *names[2] = {"start", "end"};
        json_int_t at[2] = {json_integer_value(sj), json_integer_value(ej)};
        for (int k = 0; k < 2; k++) {
            if (at[k] <= 0) continue;
            long off = an_utf8_byte_offset(s, len, (size_t)at[k]);
            if (off < 0) continue;
            const char *why = boundary_fault(e, u, s, len, (size_t)off);
            if (!why) continue;
            char place[300];
            snprintf(place, sizeof place, "result[%zu].value.%s", i, names[k]);
            found(e, u, place, "the span's %s (%lld) %s", names[k], (long long)at[k], why);
        }
    }
}

/* -- text answers -- */

static bool is_space(int32_t cp)
{
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

/* Code points of s without the blanks at its ends. */
static size_t trimmed_len(const char *s, size_t len)
{
    size_t i = 0, n = 0, last_nonblank = 0;
    bool seen = false;
    while (i < len) {
        int32_t cp = an_utf8_next(s, len, &i);
        if (!seen && is_space(cp)) continue;
        seen = true;
        n++;
        if (!is_space(cp)) last_nonblank = n;
    }
    return last_nonblank;
}

static void check_text(ectx *e, const rule *u, const char *s, size_t len, const char *place)
{
    size_t n = trimmed_len(s, len);
    if (n == 0)
        found(e, u, place, "the text answer is empty or only blanks");
    else if ((double)n < u->num[N_MIN_LENGTH])
        found(e, u, place, "the text answer is %zu characters long, below the minimum %g", n,
              u->num[N_MIN_LENGTH]);
}

static void eval_text(ectx *e, const rule *u)
{
    const json_t *result = e->in->result;
    for (size_t i = 0; i < json_array_size(result); i++) {
        const json_t *item = json_array_get(result, i);
        const char *type = item_type(item);
        if (!type || strcmp(type, "textarea") != 0 || !control_selected(u, item_from(item)))
            continue;
        const json_t *t = json_object_get(json_object_get(item, "value"), "text");
        char place[300];
        if (json_is_string(t)) {
            snprintf(place, sizeof place, "result[%zu].value.text", i);
            check_text(e, u, json_string_value(t), json_string_length(t), place);
        } else if (json_is_array(t)) {
            if (json_array_size(t) == 0) {
                snprintf(place, sizeof place, "result[%zu].value.text", i);
                found(e, u, place, "the text answer is empty");
            }
            for (size_t k = 0; k < json_array_size(t); k++) {
                const json_t *x = json_array_get(t, k);
                if (!json_is_string(x)) continue;
                snprintf(place, sizeof place, "result[%zu].value.text[%zu]", i, k);
                check_text(e, u, json_string_value(x), json_string_length(x), place);
            }
        }
    }
}

static void eval_lead_time(ectx *e, const rule *u)
{
    double t = e->in->lead_time;
    if (isnan(t) || t >= u->num[N_MIN_SECONDS]) return;
    found(e, u, "lead_time", "the annotation took %.3g s, less than the expected minimum %g s", t,
          u->num[N_MIN_SECONDS]);
}

/* -- what predictions and other annotators say: labels and boxes to compare with -- */

typedef struct label_ref {
    const char *from_name, *label;
    int votes;
} label_ref;

typedef struct target {
    box b;
    char why[96]; /* "the prediction (score 0.93)", "3 of 4 other annotators" */
} target;

typedef struct targets {
    label_ref *labels;
    size_t n_labels, cap_labels;
    target *boxes;
    size_t n_boxes, cap_boxes;
} targets;

static void targets_free(targets *t)
{
    free(t->labels);
    free(t->boxes);
}

static label_ref *label_find(label_ref *ls, size_t n, const char *from, const char *label)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ls[i].from_name, from) == 0 && strcmp(ls[i].label, label) == 0) return &ls[i];
    return NULL;
}

static void label_push(label_ref **ls, size_t *n, size_t *cap, const char *from,
                       const char *label)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        *ls = an_xrealloc(*ls, *cap * sizeof **ls);
    }
    (*ls)[(*n)++] = (label_ref){from, label, 1};
}

/* The (control, label) pairs of a result's non-rectangle items (each once), into ls.
 * min_score >= 0: items with a "score" below it are left out, and with need_score also
 * items without one. */
static void labels_of(const json_t *result, double min_score, bool need_score, label_ref **ls,
                      size_t *n, size_t *cap)
{
    size_t first = *n;
    for (size_t i = 0; i < json_array_size(result); i++) {
        const json_t *item = json_array_get(result, i);
        const char *type = item_type(item), *from = item_from(item);
        const char *key = label_key(type);
        double sc;
        if (!key || !from || is_rect_type(type)) continue;
        if (min_score >= 0) {
            bool has = num_member(item, "score", &sc);
            if (has ? sc < min_score : need_score) continue;
        }
        const json_t *labels = json_object_get(json_object_get(item, "value"), key);
        for (size_t k = 0; k < json_array_size(labels); k++) {
            const char *l = json_string_value(json_array_get(labels, k));
            if (l && !label_find(*ls + first, *n - first, from, l))
                label_push(ls, n, cap, from, l);
        }
    }
}

static void target_push(targets *t, const box *b, const char *why)
{
    if (t->n_boxes == t->cap_boxes) {
        t->cap_boxes = t->cap_boxes ? 2 * t->cap_boxes : 16;
        t->boxes = an_xrealloc(t->boxes, t->cap_boxes * sizeof *t->boxes);
    }
    target *x = &t->boxes[t->n_boxes++];
    x->b = *b;
    snprintf(x->why, sizeof x->why, "%s", why);
}

/* Labels and boxes of the confident predictions. */
static void from_predictions(ectx *e, const rule *u, targets *t)
{
    double min = u->num[N_MIN_SCORE];
    for (size_t p = 0; p < e->in->n_predictions; p++) {
        const an_qc_prediction *pr = &e->in->predictions[p];
        if (!isnan(pr->score) && pr->score < min) continue;
        char why[96];
        if (isnan(pr->score))
            snprintf(why, sizeof why, "a prediction");
        else
            snprintf(why, sizeof why, "a prediction (score %.2f)", pr->score);
        /* Without a prediction score, each item's own score decides (absent: not
         * confident). */
        label_ref *tmp = NULL;
        size_t n_tmp = 0, cap_tmp = 0;
        labels_of(pr->result, min, isnan(pr->score), &tmp, &n_tmp, &cap_tmp);
        for (size_t i = 0; i < n_tmp; i++) {
            if (label_find(t->labels, t->n_labels, tmp[i].from_name, tmp[i].label)) continue;
            label_push(&t->labels, &t->n_labels, &t->cap_labels, tmp[i].from_name,
                       tmp[i].label);
            t->labels[t->n_labels - 1].votes = -1; /* from a prediction */
        }
        free(tmp);
        size_t nb;
        box *bs = boxes_of(pr->result, &nb);
        for (size_t i = 0; i < nb; i++) {
            double sc;
            const json_t *item = json_array_get(pr->result, bs[i].idx);
            bool has = num_member(item, "score", &sc);
            if (isnan(pr->score) ? (!has || sc < min) : (has && sc < min)) continue;
            target_push(t, &bs[i], why);
        }
        free(bs);
    }
}

/* Labels and boxes that at least half of the other annotators have (when there are at
 * least min_references of them). A box has a reference's support when that reference has a
 * box of the same control and label with IoU >= consensus_iou; the consensus box is the
 * mean of the supporting boxes. */
static void from_consensus(ectx *e, const rule *u, targets *t)
{
    size_t n = e->in->n_references;
    if (n == 0 || (double)n < u->num[N_MIN_REFERENCES]) return;
    label_ref *votes = NULL;
    size_t n_votes = 0, cap_votes = 0;
    for (size_t r = 0; r < n; r++) {
        label_ref *one = NULL;
        size_t n_one = 0, cap_one = 0;
        labels_of(e->in->references[r], -1, false, &one, &n_one, &cap_one);
        for (size_t i = 0; i < n_one; i++) {
            label_ref *v = label_find(votes, n_votes, one[i].from_name, one[i].label);
            if (v)
                v->votes++;
            else
                label_push(&votes, &n_votes, &cap_votes, one[i].from_name, one[i].label);
        }
        free(one);
    }
    for (size_t i = 0; i < n_votes; i++) {
        if (2 * (size_t)votes[i].votes < n) continue;
        if (label_find(t->labels, t->n_labels, votes[i].from_name, votes[i].label)) continue;
        label_push(&t->labels, &t->n_labels, &t->cap_labels, votes[i].from_name,
                   votes[i].label);
        t->labels[t->n_labels - 1].votes = votes[i].votes;
    }
    free(votes);

    box **rb = an_xcalloc(n, sizeof *rb);
    size_t *nb = an_xcalloc(n, sizeof *nb);
    for (size_t r = 0; r < n; r++)
        rb[r] = boxes_of(e->in->references[r], &nb[r]);
    double thr = u->num[N_CONSENSUS_IOU];
    size_t first = t->n_boxes;
    for (size_t r = 0; r < n; r++) {
        for (size_t i = 0; i < nb[r]; i++) {
            const box *b = &rb[r][i];
            bool known = false;
            for (size_t k = first; k < t->n_boxes && !known; k++)
                known = same_key(&t->boxes[k].b, b) && iou(&t->boxes[k].b, b) >= thr;
            if (known) continue;
            size_t support = 1;
            box mean = *b;
            for (size_t r2 = 0; r2 < n; r2++) {
                if (r2 == r) continue;
                const box *best = NULL;
                double bv = 0;
                for (size_t j = 0; j < nb[r2]; j++) {
                    if (!same_key(&rb[r2][j], b)) continue;
                    double v = iou(&rb[r2][j], b);
                    if (v >= thr && v > bv) {
                        bv = v;
                        best = &rb[r2][j];
                    }
                }
                if (!best) continue;
                support++;
                mean.r.x += best->r.x;
                mean.r.y += best->r.y;
                mean.r.w += best->r.w;
                mean.r.h += best->r.h;
            }
            if (2 * support < n) continue;
            mean.r.x /= (double)support;
            mean.r.y /= (double)support;
            mean.r.w /= (double)support;
            mean.r.h /= (double)support;
            char why[96];
            snprintf(why, sizeof why, "%zu of %zu other annotators", support, n);
            target_push(t, &mean, why);
        }
    }
    for (size_t r = 0; r < n; r++)
        free(rb[r]);
    free(rb);
    free(nb);
}

static void gather(ectx *e, const rule *u, targets *t)
{
    memset(t, 0, sizeof *t);
    if (u->from_prediction) from_predictions(e, u, t);
    if (u->from_consensus) from_consensus(e, u, t);
}

static void eval_omission(ectx *e, const rule *u)
{
    targets t;
    gather(e, u, &t);
    label_ref *mine = NULL;
    size_t n_mine = 0, cap_mine = 0;
    labels_of(e->in->result, -1, false, &mine, &n_mine, &cap_mine);
    for (size_t i = 0; i < t.n_labels; i++) {
        const label_ref *l = &t.labels[i];
        if (!control_selected(u, l->from_name)) continue;
        if (label_find(mine, n_mine, l->from_name, l->label)) continue;
        if (l->votes < 0)
            found(e, u, "result",
                  "the annotation lacks label \"%s\" of control \"%s\", which a confident "
                  "prediction has",
                  l->label, l->from_name);
        else
            found(e, u, "result",
                  "the annotation lacks label \"%s\" of control \"%s\", which %d of %zu other "
                  "annotators used",
                  l->label, l->from_name, l->votes, e->in->n_references);
    }
    free(mine);
    size_t nb;
    box *bs = boxes_of(e->in->result, &nb);
    for (size_t i = 0; i < t.n_boxes; i++) {
        const box *tb = &t.boxes[i].b;
        if (!control_selected(u, tb->from_name)) continue;
        bool have = false;
        for (size_t k = 0; k < nb && !have; k++)
            have = same_key(&bs[k], tb) && iou(&bs[k], tb) >= u->num[N_IOU];
        if (!have)
            found(e, u, "result",
                  "the annotation lacks a \"%s\" box of control \"%s\" at x %.4g, y %.4g, "
                  "width %.4g, height %.4g, which %s has",
                  tb->label, tb->from_name, tb->r.x, tb->r.y, tb->r.w, tb->r.h, t.boxes[i].why);
    }
    free(bs);
    targets_free(&t);
}

static void eval_deviation(ectx *e, const rule *u)
{
    targets t;
    gather(e, u, &t);
    size_t nb;
    box *bs = boxes_of(e->in->result, &nb);
    if (t.n_boxes && nb) {
        /* Pair the annotation's boxes with the targets one-to-one (same control and label),
         * maximising the total IoU, so that two boxes never claim the same target. */
        double *score = an_xcalloc(nb * t.n_boxes, sizeof *score);
        for (size_t i = 0; i < nb; i++)
            for (size_t k = 0; k < t.n_boxes; k++)
                score[i * t.n_boxes + k] =
                    same_key(&bs[i], &t.boxes[k].b) ? iou(&bs[i], &t.boxes[k].b) : 0;
        int *match = an_xcalloc(nb, sizeof *match);
        an_assign_max(score, nb, t.n_boxes, u->num[N_MATCH_IOU], match);
        for (size_t i = 0; i < nb; i++) {
            if (match[i] < 0 || !control_selected(u, bs[i].from_name)) continue;
            double v = score[i * t.n_boxes + (size_t)match[i]];
            if (v >= u->num[N_MIN_IOU]) continue;
            char place[64];
            snprintf(place, sizeof place, "result[%zu].value", bs[i].idx);
            const box *tb = &t.boxes[match[i]].b;
            found(e, u, place,
                  "box \"%s\" deviates from the one %s drew at x %.4g, y %.4g, width %.4g, "
                  "height %.4g (IoU %.3f < %g)",
                  bs[i].label, t.boxes[match[i]].why, tb->r.x, tb->r.y, tb->r.w, tb->r.h, v,
                  u->num[N_MIN_IOU]);
        }
        free(match);
        free(score);
    }
    free(bs);
    targets_free(&t);
}

/* -- expr -- */

static const json_t *resolve(const pred *p, const json_t *root)
{
    const json_t *j = root;
    for (size_t i = 0; j && i < p->n_path; i++)
        j = p->path[i].key ? json_object_get(j, p->path[i].key)
                           : json_array_get(j, p->path[i].index);
    return j;
}

static bool json_same(const json_t *a, const json_t *b)
{
    double x, y;
    if (an_json_number(a, &x) && an_json_number(b, &y)) return x == y;
    return json_equal((json_t *)a, (json_t *)b);
}

static bool re_match(ectx *e, const pred *p, const json_t *s)
{
    if (!json_is_string(s)) return false;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(p->re, NULL);
    if (!md) abort();
    /* A pattern that hits the match limits counts as not matching. */
    int rc = pcre2_match(p->re, (PCRE2_SPTR)json_string_value(s), json_string_length(s), 0, 0,
                         md, e->rules->mctx);
    pcre2_match_data_free(md);
    return rc >= 0;
}

static bool in_range(const pred *p, double v)
{
    return (!p->has_min || v >= p->min) && (!p->has_max || v <= p->max);
}

static bool eval_pred(ectx *e, const pred *p, const json_t *root)
{
    switch (p->kind) {
    case P_ALL:
        for (size_t i = 0; i < p->n_kids; i++)
            if (!eval_pred(e, &p->kids[i], root)) return false;
        return true;
    case P_ANY:
        for (size_t i = 0; i < p->n_kids; i++)
            if (eval_pred(e, &p->kids[i], root)) return true;
        return false;
    case P_NOT:
        return !eval_pred(e, &p->kids[0], root);
    case P_COUNT: {
        size_t n = 0;
        const json_t *result = e->in->result;
        for (size_t i = 0; i < json_array_size(result); i++) {
            const json_t *item = json_array_get(result, i);
            const char *from = item_from(item), *type = item_type(item);
            if (p->count_from && (!from || strcmp(from, p->count_from) != 0)) continue;
            if (p->count_type && (!type || strcmp(type, p->count_type) != 0)) continue;
            if (p->count_label) {
                const char *key = label_key(type);
                const json_t *ls = key ? json_object_get(json_object_get(item, "value"), key)
                                       : json_object_get(item, "labels");
                bool has = false;
                for (size_t k = 0; k < json_array_size(ls) && !has; k++) {
                    const char *l = json_string_value(json_array_get(ls, k));
                    has = l && strcmp(l, p->count_label) == 0;
                }
                if (!has) continue;
            }
            n++;
        }
        return in_range(p, (double)n);
    }
    default:
        break;
    }
    const json_t *v = resolve(p, root);
    switch (p->kind) {
    case P_EXISTS:
        return (v != NULL && !json_is_null(v)) == p->exists;
    case P_EQUALS:
        return v && json_same(v, p->value);
    case P_CONTAINS:
        if (json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v); i++)
                if (json_same(json_array_get(v, i), p->value)) return true;
            return false;
        }
        if (json_is_string(v) && json_is_string(p->value))
            return strstr(json_string_value(v), json_string_value(p->value)) != NULL;
        return false;
    case P_REGEX:
        if (json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v); i++)
                if (re_match(e, p, json_array_get(v, i))) return true;
            return false;
        }
        return re_match(e, p, v);
    case P_RANGE: {
        double d;
        if (an_json_number(v, &d)) return in_range(p, d);
        if (json_is_string(v))
            return in_range(p, (double)an_utf8_count(json_string_value(v),
                                                      json_string_length(v)));
        if (json_is_array(v)) return in_range(p, (double)json_array_size(v));
        return false;
    }
    default:
        return false;
    }
}

static void eval_expr(ectx *e, const rule *u)
{
    if (u->result_scope) {
        json_t *root = json_object();
        if (e->in->data) json_object_set(root, "data", (json_t *)e->in->data);
        if (!isnan(e->in->lead_time))
            json_object_set_new(root, "lead_time", json_real(e->in->lead_time));
        /* The task's prediction scores by model version (the last one of a version wins):
         * {"scores": {"similarity:img:txt": 0.21}} lets a rule check an alignment score. */
        json_t *scores = json_object();
        for (size_t i = 0; i < e->in->n_predictions; i++) {
            const an_qc_prediction *pr = &e->in->predictions[i];
            if (pr->model_version && *pr->model_version && !isnan(pr->score))
                json_object_set_new(scores, pr->model_version, json_real(pr->score));
        }
        json_object_set_new(root, "scores", scores);
        if ((!u->when || eval_pred(e, u->when, root)) && !eval_pred(e, u->require, root))
            found(e, u, "result", "%s", u->message);
        json_decref(root);
        return;
    }
    const json_t *result = e->in->result;
    for (size_t i = 0; i < json_array_size(result); i++) {
        const json_t *item = json_array_get(result, i);
        if (u->when && !eval_pred(e, u->when, item)) continue;
        if (eval_pred(e, u->require, item)) continue;
        char place[64];
        snprintf(place, sizeof place, "result[%zu]", i);
        found(e, u, place, "%s", u->message);
    }
}

int an_qc_evaluate(const an_qc_rules *r, const an_qc_input *in, an_qc_findings *out,
                   an_err *err)
{
    if (!json_is_array(in->result))
        return an_err_set(err, AN_EINVAL, "result", "result must be a list of result items");
    ectx e = {.rules = r, .in = in, .out = out};
    for (size_t i = 0; i < r->n; i++) {
        const rule *u = &r->rules[i];
        switch (u->type) {
        case R_REQUIRED: eval_required(&e, u); break;
        case R_TAXONOMY: eval_taxonomy(&e, u); break;
        case R_BOX_BOUNDS: eval_box_bounds(&e, u); break;
        case R_DUPLICATE_BOXES: eval_duplicates(&e, u); break;
        case R_SPAN_BOUNDARY: eval_spans(&e, u); break;
        case R_TEXT_ANSWER: eval_text(&e, u); break;
        case R_LEAD_TIME: eval_lead_time(&e, u); break;
        case R_LABEL_OMISSION: eval_omission(&e, u); break;
        case R_BOX_DEVIATION: eval_deviation(&e, u); break;
        case R_EXPR: eval_expr(&e, u); break;
        default: break;
        }
    }
    if (e.md) pcre2_match_data_free(e.md);
    return 0;
}
