/* A project's QC report as one JSON document (see report.h and docs/qc.md, "Reports"). */
#include "qc/report.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "comply/bias.h"
#include "model/config.h"
#include "qc/consensus.h"
#include "qc/gold.h"
#include "qc/project_agreement.h"
#include "store/qc.h"

#define NO_LABEL "\xe2\x80\x94" /* "—": a finding whose place names no labelled item */
#define FINDINGS_PAGE 10000
#define MAX_CONFUSION_CELLS ((size_t)4 << 20) /* per-annotator matrices: 32 MiB at most */

/* ---- small helpers -------------------------------------------------------------------------- */

/* A number, or null when it is not finite (JSON has no NaN). */
static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jint(int64_t v)
{
    return json_integer((json_int_t)v);
}

static double share(int64_t part, int64_t whole)
{
    return whole > 0 ? (double)part / (double)whole : NAN;
}

/* ---- annotator names --------------------------------------------------------------------------
 */

typedef struct name_entry {
    int64_t id;
    char *name;
} name_entry;

typedef struct names {
    name_entry *e; /* sorted by id */
    size_t n, cap;
} names;

static int cmp_name_entry(const void *a, const void *b)
{
    int64_t x = ((const name_entry *)a)->id, y = ((const name_entry *)b)->id;
    return x < y ? -1 : x > y;
}

/* The user's name, looked up once; "user-ID" when the user is gone, "—" for id 0. */
static const char *name_of(names *nm, an_store *s, int64_t id)
{
    if (id == 0) return NO_LABEL;
    name_entry key = {.id = id};
    name_entry *hit = nm->n ? bsearch(&key, nm->e, nm->n, sizeof *nm->e, cmp_name_entry) : NULL;
    if (hit) return hit->name;
    an_user u = {0};
    an_err e;
    an_err_clear(&e);
    char *name;
    if (an_store_user_by_id(s, id, &u, &e) == 0 && u.name) {
        name = an_xstrdup(u.name);
    } else {
        char buf[32];
        snprintf(buf, sizeof buf, "user-%lld", (long long)id);
        name = an_xstrdup(buf);
    }
    an_user_clear(&u);
    if (nm->n == nm->cap) {
        nm->cap = nm->cap ? nm->cap * 2 : 32;
        nm->e = an_xrealloc(nm->e, nm->cap * sizeof *nm->e);
    }
    /* Insert in order: a few hundred annotators at most in practice, looked up often. */
    size_t at = nm->n;
    while (at > 0 && nm->e[at - 1].id > id) {
        nm->e[at] = nm->e[at - 1];
        at--;
    }
    nm->e[at] = (name_entry){id, name};
    nm->n++;
    return name;
}

static void names_free(names *nm)
{
    for (size_t i = 0; i < nm->n; i++)
        free(nm->e[i].name);
    free(nm->e);
}

/* ---- days (UTC) ----------------------------------------------------------------------------- */

typedef struct day {
    char day[11];          /* YYYY-MM-DD, or "unknown" */
    int64_t annotations;   /* non-cancelled annotations created that day */
    int64_t with_findings; /* of those, annotations with at least one finding */
    int64_t cons_compared; /* answers (trend control) on items with a consensus label */
    int64_t cons_agree;    /* of those, equal to it */
    int64_t gold_seen, gold_correct;
} day;

typedef struct days {
    day *d; /* sorted by day */
    size_t n, cap;
} days;

/* The UTC day of an ISO 8601 timestamp as stored (UTC text), or "unknown". */
static void day_key(const char *ts, char out[11])
{
    bool ok = ts && strlen(ts) >= 10;
    for (int i = 0; ok && i < 10; i++) {
        char c = ts[i];
        ok = (i == 4 || i == 7) ? c == '-' : (c >= '0' && c <= '9');
    }
    if (ok) {
        memcpy(out, ts, 10);
        out[10] = '\0';
    } else {
        snprintf(out, 11, "unknown");
    }
}

static day *day_get(days *ds, const char *ts)
{
    char k[11];
    day_key(ts, k);
    size_t lo = 0, hi = ds->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(ds->d[mid].day, k);
        if (c == 0) return &ds->d[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (ds->n == ds->cap) {
        ds->cap = ds->cap ? ds->cap * 2 : 64;
        ds->d = an_xrealloc(ds->d, ds->cap * sizeof *ds->d);
    }
    memmove(&ds->d[lo + 1], &ds->d[lo], (ds->n - lo) * sizeof *ds->d);
    memset(&ds->d[lo], 0, sizeof *ds->d);
    memcpy(ds->d[lo].day, k, sizeof k);
    ds->n++;
    return &ds->d[lo];
}

/* ---- findings as (annotation, item) ------------------------------------------------------ */

typedef struct fnd {
    int64_t ann;  /* annotation id; 0: about the task */
    int32_t item; /* result index the place points to, or -1 */
} fnd;

typedef struct fnds {
    fnd *f;
    size_t n, cap;
    int64_t last;
} fnds;

/* The index I of a place "result[I]…", or -1. */
static int32_t place_item(const char *place)
{
    if (!place || strncmp(place, "result[", 7) != 0) return -1;
    const char *p = place + 7;
    long v = 0;
    if (*p < '0' || *p > '9') return -1;
    while (*p >= '0' && *p <= '9' && v < 100000000)
        v = v * 10 + (*p++ - '0');
    return *p == ']' ? (int32_t)v : -1;
}

static int on_finding(void *ud, const an_qc_finding_row *f)
{
    fnds *fs = ud;
    if (fs->n == fs->cap) {
        fs->cap = fs->cap ? fs->cap * 2 : 256;
        fs->f = an_xrealloc(fs->f, fs->cap * sizeof *fs->f);
    }
    fs->f[fs->n++] = (fnd){f->annotation_id, place_item(f->place)};
    fs->last = f->id;
    return 0;
}

static int cmp_fnd(const void *a, const void *b)
{
    const fnd *x = a, *y = b;
    if (x->ann != y->ann) return x->ann < y->ann ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

/* The first finding of annotation ann in fs (sorted), or NULL. */
static const fnd *fnd_first(const fnds *fs, int64_t ann)
{
    size_t lo = 0, hi = fs->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (fs->f[mid].ann < ann)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < fs->n && fs->f[lo].ann == ann ? &fs->f[lo] : NULL;
}

/* ---- counts of findings by rule and annotator (store) --------------------------------------- */

/* Adds count to obj[key].severity and .total, keeping keys in first-seen order. */
static json_t *sev_entry(json_t *list, json_t *index, const char *key, json_t *(*make)(void *),
                         void *ud)
{
    json_t *e = json_object_get(index, key);
    if (!e) {
        e = make(ud);
        json_object_set_new(e, "error", json_integer(0));
        json_object_set_new(e, "warning", json_integer(0));
        json_object_set_new(e, "total", json_integer(0));
        json_array_append_new(list, e);
        json_object_set(index, key, e);
    }
    return e;
}

static void sev_add(json_t *e, const char *severity, int64_t count)
{
    const char *k = strcmp(severity, "error") == 0 ? "error" : "warning";
    json_object_set_new(e, k, jint(json_integer_value(json_object_get(e, k)) + count));
    json_object_set_new(e, "total", jint(json_integer_value(json_object_get(e, "total")) + count));
}

typedef struct count_ctx {
    json_t *list, *index;
    an_store *s;
    names *nm;
    int64_t total;
} count_ctx;

static json_t *make_rule(void *ud)
{
    return json_pack("{s:s}", "rule", (const char *)ud);
}

static int on_rule_count(void *ud, const char *rule, const char *severity, int64_t count)
{
    count_ctx *c = ud;
    sev_add(sev_entry(c->list, c->index, rule, make_rule, (void *)rule), severity, count);
    c->total += count;
    return 0;
}

typedef struct ann_key {
    int64_t id;
    const char *name;
} ann_key;

static json_t *make_annotator(void *ud)
{
    const ann_key *k = ud;
    return json_pack("{s:o,s:s}", "id", k->id ? jint(k->id) : json_null(), "name", k->name);
}

static int on_annotator_count(void *ud, int64_t annotator_id, const char *severity, int64_t count)
{
    count_ctx *c = ud;
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)annotator_id);
    ann_key k = {annotator_id, name_of(c->nm, c->s, annotator_id)};
    sev_add(sev_entry(c->list, c->index, key, make_annotator, &k), severity, count);
    return 0;
}

/* Sorts a list of objects by integer member key, descending (stable by position). */
static int cmp_desc(const void *a, const void *b, void *key)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, key));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, key));
    return x > y ? -1 : x < y;
}

static json_t *sorted_desc(json_t *list, const char *key)
{
    size_t n = json_array_size(list);
    json_t **v = an_xmalloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(list, i));
    /* Insertion sort: stable (equal counts keep their order), and the lists are short. */
    for (size_t i = 1; i < n; i++) {
        json_t *x = v[i];
        size_t j = i;
        while (j > 0 && cmp_desc(&v[j - 1], &x, (void *)key) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, v[i]);
    free(v);
    json_decref(list);
    return out;
}

/* ---- annotator counts ------------------------------------------------------------------------ */

typedef struct ac_ctx {
    json_t *list;
    an_store *s;
    names *nm;
    int64_t submitted, skipped, annotators;
} ac_ctx;

static int on_annotator(void *ud, const an_annotator_count *c)
{
    ac_ctx *a = ud;
    a->submitted += c->submitted;
    a->skipped += c->skipped;
    if (c->annotator_id) a->annotators++;
    json_array_append_new(a->list,
                          json_pack("{s:o,s:s,s:I,s:I,s:o}", "id",
                                    c->annotator_id ? jint(c->annotator_id) : json_null(), "name",
                                    name_of(a->nm, a->s, c->annotator_id), "submitted",
                                    (json_int_t)c->submitted, "skipped", (json_int_t)c->skipped,
                                    "mean_lead_time", jnum(c->mean_lead_time)));
    return 0;
}

/* ---- one reported control ---------------------------------------------------------------------
 */

typedef struct ctlrep {
    const an_control *c;
    an_choice_table t;
    an_cons_result ds, mj;
    bool have_ds, have_mj;
} ctlrep;

static void ctlrep_free(ctlrep *r)
{
    an_choice_table_free(&r->t);
    if (r->have_ds) an_cons_result_free(&r->ds);
    if (r->have_mj) an_cons_result_free(&r->mj);
}

static json_t *matrix_json(const int64_t *m, size_t k)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < k; i++) {
        json_t *row = json_array();
        for (size_t j = 0; j < k; j++)
            json_array_append_new(row, jint(m[i * k + j]));
        json_array_append_new(rows, row);
    }
    return rows;
}

static json_t *gold_json(const an_gold_stat *g)
{
    if (!g->seen) return json_null();
    return json_pack("{s:I,s:I,s:o,s:o,s:o}", "seen", (json_int_t)g->seen, "correct",
                     (json_int_t)g->correct, "accuracy", jnum(g->accuracy), "low", jnum(g->lo),
                     "high", jnum(g->hi));
}

/* Reads the control's answers, runs both consensus methods and describes them. */
static int control_report(an_store *s, const an_project *p, ctlrep *r, names *nm, json_t **out,
                          an_err *err)
{
    const an_control *c = r->c;
    int rc = an_choice_table_read(s, p->id, c, &r->t, err);
    if (rc < 0) return rc;
    const an_choice_table *t = &r->t;
    size_t K = c->n_labels, A = t->annotators;
    an_cons_data d = an_cons_labels_data(&t->labels);
    an_cons_opts o = an_cons_opts_default();
    if (d.labels > 0) {
        rc = an_cons_dawid_skene(&d, &o, &r->ds, err);
        if (rc < 0) return rc;
        r->have_ds = true;
        rc = an_cons_majority(&d, &o, &r->mj, err);
        if (rc < 0) return rc;
        r->have_mj = true;
    }
    json_t *labels = json_array();
    for (size_t j = 0; j < K; j++)
        json_array_append_new(labels, json_string(c->labels[j]));

    /* Confusion against the DS label: rows the consensus class, columns the answer. Per
     * annotator only while the matrices stay small (K x K each); agreement always. */
    bool per_ann = A * K * K <= MAX_CONFUSION_CELLS;
    int64_t *conf = per_ann ? an_xcalloc(A * K * K + 1, sizeof *conf) : NULL;
    int64_t *agree_n = an_xcalloc(A + 1, sizeof *agree_n);
    int64_t *compared_n = an_xcalloc(A + 1, sizeof *compared_n);
    int64_t *overall = an_xcalloc(K * K + 1, sizeof *overall);
    int64_t *ds_count = an_xcalloc(K + 1, sizeof *ds_count);
    int64_t *mj_count = an_xcalloc(K + 1, sizeof *mj_count);
    size_t labelled = 0, differ = 0;
    for (size_t i = 0; r->have_ds && i < d.items; i++) {
        int32_t a = r->ds.label[i], b = r->mj.label[i];
        if (a >= 0) {
            ds_count[a]++;
            labelled++;
        }
        if (b >= 0) mj_count[b]++;
        if (a >= 0 && b >= 0 && a != b) differ++;
    }
    for (size_t i = 0; r->have_ds && i < d.items; i++) {
        int32_t cons = r->ds.label[i];
        if (cons < 0) continue;
        for (size_t k = d.item_start[i]; k < d.item_start[i + 1]; k++) {
            size_t a = d.annotator[k];
            if (conf) conf[(a * K + (size_t)cons) * K + d.cls[k]]++;
            overall[(size_t)cons * K + d.cls[k]]++;
            compared_n[a]++;
            if (d.cls[k] == (uint32_t)cons) agree_n[a]++;
        }
    }
    json_t *anns = json_array();
    for (size_t a = 0; a < A; a++) {
        int64_t agree = agree_n[a], compared = compared_n[a];
        int64_t id = t->annotator_ids[a];
        json_t *e = json_pack(
            "{s:I,s:s,s:I,s:o,s:o,s:o,s:I,s:o,s:o}", "id", (json_int_t)id, "name",
            name_of(nm, s, id), "labels", (json_int_t)(r->have_ds ? r->ds.annotator_labels[a] : 0),
            "ds_accuracy", r->have_ds ? jnum(r->ds.accuracy[a]) : json_null(), "majority_accuracy",
            r->have_mj ? jnum(r->mj.accuracy[a]) : json_null(), "gold", gold_json(&t->stats[a]),
            "compared", (json_int_t)compared, "agreement", jnum(share(agree, compared)),
            "confusion", conf ? matrix_json(conf + a * K * K, K) : json_null());
        json_array_append_new(anns, e);
    }
    json_t *dis = json_array();
    for (size_t j = 0; j < K; j++) {
        int64_t answers = 0, agree = overall[j * K + j];
        for (size_t l = 0; l < K; l++)
            answers += overall[j * K + l];
        json_array_append_new(dis, json_pack("{s:s,s:I,s:I,s:o}", "label", c->labels[j], "answers",
                                             (json_int_t)answers, "disagree",
                                             (json_int_t)(answers - agree), "share",
                                             jnum(share(answers - agree, answers))));
    }
    json_t *ds_counts = json_array(), *mj_counts = json_array();
    for (size_t j = 0; j < K; j++) {
        json_array_append_new(ds_counts, jint(ds_count[j]));
        json_array_append_new(mj_counts, jint(mj_count[j]));
    }
    json_t *cons =
        json_pack("{s:s,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:I,s:I,s:o,s:o}", "method", "dawid-skene",
                  "items", (json_int_t)d.items, "labels", (json_int_t)d.labels, "labelled_items",
                  (json_int_t)labelled, "ties", (json_int_t)(r->have_ds ? r->ds.n_ties : 0),
                  "iterations", jint(r->have_ds ? r->ds.iterations : 0), "converged",
                  json_boolean(r->have_ds ? r->ds.converged : true), "log_likelihood",
                  r->have_ds ? jnum(r->ds.log_likelihood) : json_null(), "majority_ties",
                  (json_int_t)(r->have_mj ? r->mj.n_ties : 0), "methods_differ", (json_int_t)differ,
                  "class_counts", ds_counts, "majority_class_counts", mj_counts);
    *out = json_pack("{s:s,s:s,s:o,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o}", "name", c->name, "type",
                     an_tag_name(c->tag), "labels", labels, "tasks", (json_int_t)t->tasks,
                     "gold_tasks", (json_int_t)t->gold_tasks, "not_single",
                     (json_int_t)t->not_single, "unknown_choices", (json_int_t)t->unknown_choices,
                     "consensus", cons, "annotators", anns, "confusion", matrix_json(overall, K),
                     "disagreement_by_label", dis);
    free(conf);
    free(agree_n);
    free(compared_n);
    free(overall);
    free(ds_count);
    free(mj_count);
    return 0;
}

/* ---- the agreement matrix ----------------------------------------------------------------------
 */

static const char *measure_unit(const char *m)
{
    if (!m) return "";
    if (strcmp(m, "cohen") == 0) return "Cohen's kappa, -1..1 (1: perfect, 0: chance)";
    if (strcmp(m, "percent") == 0) return "share of tasks coded alike, 0..1";
    if (strcmp(m, "f1") == 0) return "F1 of matched regions, 0..1";
    if (strcmp(m, "exact_f1") == 0) return "F1 of exactly equal spans, 0..1";
    if (strcmp(m, "keypoint_f1") == 0) return "share of matched keypoints, 0..1";
    if (strcmp(m, "cer") == 0) return "character error rate, 0..1 (lower is better)";
    return m;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int agreement_report(an_store *s, const an_project *p, names *nm, json_t **out, an_err *err)
{
    an_pa_opts o = an_pa_opts_default();
    o.metric = AN_AGR_COHEN;
    an_pa_result r;
    memset(&r, 0, sizeof r);
    int rc = an_project_agreement(s, p, &o, &r, err);
    if (rc < 0) return rc;
    json_t *list = json_array();
    for (size_t i = 0; i < r.n_controls; i++) {
        const an_pa_control *pc = &r.controls[i];
        if (!pc->n_pairs) continue; /* e.g. multiple choices: per label only */
        int64_t *ids = an_xmalloc(2 * pc->n_pairs * sizeof *ids);
        size_t n = 0;
        json_t *pairs = json_array();
        for (size_t k = 0; k < pc->n_pairs; k++) {
            const an_pa_pair *pp = &pc->pairs[k];
            ids[n++] = pp->a;
            ids[n++] = pp->b;
            json_array_append_new(pairs,
                                  json_pack("{s:I,s:I,s:s,s:s,s:I,s:o}", "a", (json_int_t)pp->a,
                                            "b", (json_int_t)pp->b, "a_name", name_of(nm, s, pp->a),
                                            "b_name", name_of(nm, s, pp->b), "tasks",
                                            (json_int_t)pp->tasks, "value", jnum(pp->value)));
        }
        qsort(ids, n, sizeof *ids, cmp_i64);
        json_t *anns = json_array();
        for (size_t k = 0; k < n; k++) {
            if (k && ids[k] == ids[k - 1]) continue;
            json_array_append_new(anns, json_pack("{s:I,s:s}", "id", (json_int_t)ids[k], "name",
                                                  name_of(nm, s, ids[k])));
        }
        free(ids);
        json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:I,s:o,s:o}", "control", pc->name, "type",
                              an_tag_name(pc->tag), "kind", an_pa_kind_name(pc->kind), "measure",
                              pc->measure ? pc->measure : "", "unit", measure_unit(pc->measure),
                              "value", jnum(pc->value), "units", (json_int_t)pc->units,
                              "annotators", anns, "pairs", pairs);
        if (pc->undefined) json_object_set_new(e, "undefined", json_string(pc->undefined));
        json_array_append_new(list, e);
    }
    an_pa_result_free(&r);
    *out = list;
    return 0;
}

/* ---- the stream: days, findings' labels, trend of one control ----------------------------- */

typedef struct answer {
    int64_t annotator;
    const an_annotation_row *row;
} answer;

typedef struct stream {
    an_store *s;
    days ds;
    const fnds *fs;
    json_t *by_label; /* {control: {label: count}} */
    int64_t no_label;
    ctlrep *tc;    /* the trend control, or NULL */
    size_t cursor; /* into tc->t.task_ids */
    answer *ans;
    size_t cap_ans;
    size_t *set_a, *set_g;
    char *first, *last; /* created_at range of non-cancelled annotations */
} stream;

static bool later(const an_annotation_row *a, const an_annotation_row *b)
{
    int cmp = strcmp(a->updated_at ? a->updated_at : "", b->updated_at ? b->updated_at : "");
    return cmp > 0 || (cmp == 0 && a->id > b->id);
}

static json_t *parse_result(const an_annotation_row *a, an_err *err)
{
    char where[64];
    snprintf(where, sizeof where, "annotation %lld", (long long)a->id);
    return an_json_parse(a->result, strlen(a->result), where, err);
}

/* The label of a result item: the first string of value.<type> (value.choices,
 * value.labels, value.rectanglelabels, …) or of a relation's labels; NULL when none. */
static const char *item_label(const json_t *item)
{
    const char *type = an_json_str(item, "type");
    json_t *arr = NULL;
    if (type) arr = json_object_get(json_object_get(item, "value"), type);
    if (!json_is_array(arr)) arr = json_object_get(item, "labels");
    return json_is_array(arr) ? json_string_value(json_array_get(arr, 0)) : NULL;
}

static void count_label(stream *st, const json_t *res, int32_t item)
{
    const json_t *it = item >= 0 ? json_array_get(res, (size_t)item) : NULL;
    const char *label = it ? item_label(it) : NULL;
    const char *control = it ? an_json_str(it, "from_name") : NULL;
    if (!label || !control) {
        st->no_label++;
        return;
    }
    json_t *per = json_object_get(st->by_label, control);
    if (!per) {
        per = json_object();
        json_object_set_new(st->by_label, control, per);
    }
    json_object_set_new(per, label, jint(json_integer_value(json_object_get(per, label)) + 1));
}

/* The sorted, unique choice set res makes in control c into set (room for c's labels);
 * returns true when it names a choice c does not know. */
static bool choice_set(const an_control *c, const json_t *res, size_t *set, size_t *n)
{
    *n = 0;
    bool unknown = false;
    size_t i;
    json_t *item;
    json_array_foreach(res, i, item)
    {
        const char *from = an_json_str(item, "from_name");
        if (!from || strcmp(from, c->name) != 0) continue;
        json_t *choices = json_object_get(json_object_get(item, "value"), "choices");
        size_t j;
        json_t *ch;
        json_array_foreach(choices, j, ch)
        {
            const char *sv = json_string_value(ch);
            int k = sv ? an_control_label_index(c, sv) : -1;
            if (k < 0) {
                unknown = true;
                continue;
            }
            size_t at = 0;
            while (at < *n && set[at] < (size_t)k)
                at++;
            if (at < *n && set[at] == (size_t)k) continue;
            if (*n >= c->n_labels) continue;
            memmove(set + at + 1, set + at, (*n - at) * sizeof *set);
            set[at] = (size_t)k;
            (*n)++;
        }
    }
    return unknown;
}

static int stream_task(stream *st, const an_task_row *row, an_err *err)
{
    /* Days and findings: every non-cancelled annotation. */
    for (size_t k = 0; k < row->n_annotations; k++) {
        const an_annotation_row *a = &row->annotations[k];
        if (a->cancelled) continue;
        const char *ts = a->created_at ? a->created_at : "";
        if (*ts && (!st->first || strcmp(ts, st->first) < 0)) {
            free(st->first);
            st->first = an_xstrdup(ts);
        }
        if (*ts && (!st->last || strcmp(ts, st->last) > 0)) {
            free(st->last);
            st->last = an_xstrdup(ts);
        }
        day *d = day_get(&st->ds, ts);
        d->annotations++;
        const fnd *f = fnd_first(st->fs, a->id);
        if (!f) continue;
        d->with_findings++;
        json_t *res = parse_result(a, err);
        if (!res) return -AN_EINVAL;
        for (; f < st->fs->f + st->fs->n && f->ann == a->id; f++)
            count_label(st, res, f->item);
        json_decref(res);
    }
    if (!st->tc) return 0;

    /* The trend control: each annotator's latest answer against the consensus and gold. */
    const ctlrep *tc = st->tc;
    const an_choice_table *t = &tc->t;
    while (st->cursor < t->tasks && t->task_ids[st->cursor] < row->id)
        st->cursor++;
    int32_t cons = AN_CONS_NONE;
    if (st->cursor < t->tasks && t->task_ids[st->cursor] == row->id && tc->have_ds)
        cons = tc->ds.label[st->cursor];
    if (row->n_annotations > st->cap_ans) {
        st->cap_ans = row->n_annotations;
        st->ans = an_xrealloc(st->ans, st->cap_ans * sizeof *st->ans);
    }
    size_t n = 0;
    const an_annotation_row *gold = NULL;
    for (size_t k = 0; k < row->n_annotations; k++) {
        const an_annotation_row *a = &row->annotations[k];
        if (a->cancelled) continue;
        if (a->ground_truth) {
            if (!gold || later(a, gold)) gold = a;
            continue;
        }
        if (a->annotator_id == 0) continue;
        size_t m = 0;
        while (m < n && st->ans[m].annotator != a->annotator_id)
            m++;
        if (m == n)
            st->ans[n++] = (answer){a->annotator_id, a};
        else if (later(a, st->ans[m].row))
            st->ans[m].row = a;
    }
    if (cons == AN_CONS_NONE && !gold) return 0;
    size_t ng = 0;
    bool gold_unknown = false;
    if (gold) {
        json_t *res = parse_result(gold, err);
        if (!res) return -AN_EINVAL;
        gold_unknown = choice_set(tc->c, res, st->set_g, &ng);
        json_decref(res);
    }
    for (size_t m = 0; m < n; m++) {
        const an_annotation_row *a = st->ans[m].row;
        json_t *res = parse_result(a, err);
        if (!res) return -AN_EINVAL;
        size_t na;
        bool unknown = choice_set(tc->c, res, st->set_a, &na);
        json_decref(res);
        day *d = day_get(&st->ds, a->created_at);
        if (cons != AN_CONS_NONE && !unknown && na == 1) {
            d->cons_compared++;
            if (st->set_a[0] == (size_t)cons) d->cons_agree++;
        }
        if (gold) {
            d->gold_seen++;
            if (!unknown && !gold_unknown && na == ng &&
                memcmp(st->set_a, st->set_g, na * sizeof *st->set_a) == 0)
                d->gold_correct++;
        }
    }
    return 0;
}

static int run_stream(an_store *s, int64_t project_id, stream *st, an_err *err)
{
    an_task_iter *it = NULL;
    int rc = an_store_tasks_open(s, project_id, AN_ITER_ANNOTATIONS, &it, err);
    if (rc < 0) return rc;
    const an_task_row *row;
    while ((rc = an_task_iter_next(it, &row, err)) == 1) {
        rc = stream_task(st, row, err);
        if (rc < 0) break;
    }
    an_task_iter_close(it);
    return rc < 0 ? rc : 0;
}

static json_t *labels_json(stream *st)
{
    json_t *list = json_array();
    const char *control;
    json_t *per;
    json_object_foreach(st->by_label, control, per)
    {
        const char *label;
        json_t *n;
        json_object_foreach(per, label, n)
        {
            json_array_append_new(list, json_pack("{s:s,s:s,s:O}", "control", control, "label",
                                                  label, "findings", n));
        }
    }
    if (st->no_label)
        json_array_append_new(list, json_pack("{s:n,s:s,s:I}", "control", "label", NO_LABEL,
                                              "findings", (json_int_t)st->no_label));
    return sorted_desc(list, "findings");
}

static json_t *days_json(const days *ds)
{
    json_t *list = json_array();
    for (size_t i = 0; i < ds->n; i++) {
        const day *d = &ds->d[i];
        json_array_append_new(
            list,
            json_pack("{s:s,s:I,s:I,s:o,s:I,s:I,s:o,s:I,s:I,s:o}", "day", d->day, "annotations",
                      (json_int_t)d->annotations, "with_findings", (json_int_t)d->with_findings,
                      "findings_share", jnum(share(d->with_findings, d->annotations)),
                      "consensus_compared", (json_int_t)d->cons_compared, "consensus_agree",
                      (json_int_t)d->cons_agree, "consensus_share",
                      jnum(share(d->cons_agree, d->cons_compared)), "gold_seen",
                      (json_int_t)d->gold_seen, "gold_correct", (json_int_t)d->gold_correct,
                      "gold_accuracy", jnum(share(d->gold_correct, d->gold_seen))));
    }
    return list;
}

/* ---- the whole report ------------------------------------------------------------------------ */

static bool classifies(const an_control *c)
{
    return c->tag == AN_TAG_CHOICES && !c->multiple && c->n_labels > 0;
}

/* The bias section: the check's result, or {"error": why} when the check cannot run on this
 * project (no single-choice control, no groups …): the rest of the report stands. */
static json_t *bias_report(an_store *s, const an_project *p, const an_config *cfg,
                           const an_report_opts *o)
{
    an_err e;
    an_err_clear(&e);
    an_lexicon *lex = NULL;
    if (!o->bias_attribute) {
        lex = an_lexicon_builtin(o->bias_lexicon);
        if (!lex && !o->bias_lexicon_file)
            return json_pack("{s:s}", "error", "unknown lexicon; the built-in one is \"gender\"");
        if (!lex && an_lexicon_read(o->bias_lexicon, &lex, &e) < 0)
            return json_pack("{s:s}", "error", e.msg);
    }
    an_bias_opts bo = {.control = o->control, .attribute = o->bias_attribute, .lexicon = lex};
    an_bias_result r;
    json_t *j;
    if (an_bias_project(s, p, cfg, &bo, &r, &e) < 0) {
        j = json_pack("{s:s,s:s}", "error", e.msg, "where", e.where);
    } else {
        j = an_bias_result_json(s, &r, o->bias_attribute ? o->bias_attribute : "lexicon");
        an_bias_result_free(&r);
    }
    an_lexicon_free(lex);
    return j;
}

int an_report_build(an_store *s, const an_project *p, const an_report_opts *opts, json_t **out,
                    an_err *err)
{
    *out = NULL;
    an_report_opts none = {0};
    if (!opts) opts = &none;
    an_config *cfg = NULL;
    const char *xml = p->config ? p->config : "";
    int rc = an_config_parse(xml, strlen(xml), &cfg, err);
    if (rc < 0) return rc;

    /* Which controls: the named one, or every single-choice Choices control. */
    size_t n_ctl = 0;
    ctlrep *ctl = an_xcalloc(cfg->n_controls + 1, sizeof *ctl);
    if (opts->control) {
        const an_control *c = an_config_control(cfg, opts->control);
        if (!c || !classifies(c)) {
            free(ctl);
            an_config_free(cfg);
            return an_err_set(err, AN_EINVAL, "--control",
                              c ? "control \"%s\" is not a single-choice Choices control; the "
                                  "report's consensus needs one"
                                : "the config has no control \"%s\"; name one of its "
                                  "single-choice Choices controls",
                              opts->control);
        }
        ctl[n_ctl++].c = c;
    } else {
        for (size_t i = 0; i < cfg->n_controls; i++)
            if (classifies(&cfg->controls[i])) ctl[n_ctl++].c = &cfg->controls[i];
    }

    names nm = {0};
    fnds fs = {0};
    stream st = {.s = s, .fs = &fs, .by_label = json_object(), .tc = n_ctl ? &ctl[0] : NULL};
    json_t *annotators = json_array(), *rules = json_array(), *by_ann = json_array();
    json_t *agreement = NULL, *controls = json_array();
    json_t *ri = json_object(), *ai = json_object();
    ac_ctx ac = {.list = annotators, .s = s, .nm = &nm};
    count_ctx rcx = {.list = rules, .index = ri, .s = s, .nm = &nm};
    count_ctx acx = {.list = by_ann, .index = ai, .s = s, .nm = &nm};

    /* One snapshot for every read below, so the sections agree with each other. */
    rc = an_store_read_begin(s, err);
    if (rc < 0) goto done;
    rc = an_store_annotator_counts(s, p->id, on_annotator, &ac, err);
    if (!rc) rc = an_store_qc_counts_by_rule(s, p->id, NULL, on_rule_count, &rcx, err);
    if (!rc) rc = an_store_qc_counts_by_annotator(s, p->id, NULL, on_annotator_count, &acx, err);
    /* The findings as (annotation, item), paged by id so the store answers in small steps. */
    while (!rc) {
        size_t before = fs.n;
        an_qc_filter f = {.project_id = p->id, .after_id = fs.last, .limit = FINDINGS_PAGE};
        rc = an_store_qc_findings_list(s, &f, on_finding, &fs, err);
        if (rc || fs.n - before < FINDINGS_PAGE) break;
    }
    if (!rc && fs.n) qsort(fs.f, fs.n, sizeof *fs.f, cmp_fnd);
    if (!rc) rc = agreement_report(s, p, &nm, &agreement, err);
    for (size_t i = 0; !rc && i < n_ctl; i++) {
        json_t *cj = NULL;
        rc = control_report(s, p, &ctl[i], &nm, &cj, err);
        if (!rc) json_array_append_new(controls, cj);
    }
    if (!rc && st.tc) {
        st.set_a = an_xmalloc(st.tc->c->n_labels * sizeof *st.set_a);
        st.set_g = an_xmalloc(st.tc->c->n_labels * sizeof *st.set_g);
    }
    if (!rc) rc = run_stream(s, p->id, &st, err);
    an_store_read_end(s);
    if (rc < 0) goto done;

    char now[32];
    if (opts->now)
        snprintf(now, sizeof now, "%s", opts->now);
    else
        an_now_iso(now);
    json_t *summary = json_pack(
        "{s:I,s:I,s:I,s:I,s:o,s:o,s:I,s:I}", "tasks", (json_int_t)p->task_count, "annotations",
        (json_int_t)ac.submitted, "cancelled", (json_int_t)ac.skipped, "annotators",
        (json_int_t)ac.annotators, "first", st.first ? json_string(st.first) : json_null(), "last",
        st.last ? json_string(st.last) : json_null(), "findings", (json_int_t)rcx.total, "days",
        (json_int_t)st.ds.n);
    json_t *errors =
        json_pack("{s:I,s:o,s:o,s:o}", "findings", (json_int_t)rcx.total, "by_rule",
                  sorted_desc(json_incref(rules), "total"), "by_annotator",
                  sorted_desc(json_incref(by_ann), "total"), "by_label", labels_json(&st));
    json_t *trends =
        json_pack("{s:o,s:o}", "control", st.tc ? json_string(st.tc->c->name) : json_null(), "days",
                  days_json(&st.ds));
    json_t *bias = opts->bias_attribute || opts->bias_lexicon ? bias_report(s, p, cfg, opts) : NULL;
    *out = json_pack("{s:i,s:{s:I,s:s},s:s,s:o,s:o,s:O,s:O,s:o,s:o}", "version", 1, "project", "id",
                     (json_int_t)p->id, "name", p->name ? p->name : "", "generated_at", now,
                     "summary", summary, "annotators", annotators, "controls", controls,
                     "agreement", agreement, "errors", errors, "trends", trends);
    annotators = NULL;
    if (!*out) rc = an_err_set(err, AN_EINTERNAL, "report", "cannot build the report document");
    if (*out && bias)
        json_object_set_new(*out, "bias", bias);
    else
        json_decref(bias);

done:
    json_decref(annotators);
    json_decref(rules);
    json_decref(by_ann);
    json_decref(ri);
    json_decref(ai);
    json_decref(agreement);
    json_decref(controls);
    json_decref(st.by_label);
    free(st.ans);
    free(st.set_a);
    free(st.set_g);
    free(st.first);
    free(st.last);
    free(st.ds.d);
    free(fs.f);
    names_free(&nm);
    for (size_t i = 0; i < n_ctl; i++)
        ctlrep_free(&ctl[i]);
    free(ctl);
    an_config_free(cfg);
    return rc < 0 ? rc : 0;
}
