/* Project-level agreement: one pass over the project's tasks collects, per control, either
 * the reliability data (categorical and multi-choice controls) or running sums of pairwise
 * region measures; the values are computed at the end. See project_agreement.h. */
#include "qc/project_agreement.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "qc/regions.h"

/* ---- collected state ------------------------------------------------------------------- */

typedef struct trip {
    size_t unit, coder; /* coder: index into the global annotator list */
    double v;           /* category index, number, or for multi: label index (-1: present) */
} trip;

typedef struct pacc {
    int64_t a, b;
    double sum;
    size_t n;
} pacc;

typedef struct ctl {
    const an_control *c;
    an_pa_kind kind;
    size_t units;
    /* categorical and multi */
    trip *t;
    size_t nt, capt;
    char **labels; /* choice names: the config's, then unknown ones as first seen */
    size_t n_labels, cap_labels;
    /* region kinds */
    pacc *pairs;
    size_t np, capp;
    double sum, sec_sum;
    size_t count, sec_n;
    double *tsum; /* per unit (task) sums and counts, for the bootstrap */
    size_t *tcount;
    size_t cap_task;
    /* coders seen answering (by global index) */
    unsigned char *seen;
    size_t cap_seen;
} ctl;

typedef struct pick {
    int64_t annotator;
    size_t coder;
    const an_annotation_row *row;
    json_t *result;
} pick;

typedef struct state {
    an_pa_opts o;
    ctl *ctls;
    size_t n_ctls;
    int64_t *ids; /* global annotator list, first-seen order */
    size_t n_ids, cap_ids;
    an_pa_result *out;
} state;

static const char *const kind_names[] = {"categorical", "multi",     "regions",
                                         "spans",       "keypoints", "text"};

const char *an_pa_kind_name(an_pa_kind k) { return kind_names[k]; }

an_pa_opts an_pa_opts_default(void)
{
    an_pa_opts o;
    memset(&o, 0, sizeof o);
    o.metric = o.level = o.weights = -1;
    o.seed = 1;
    return o;
}

static int kind_of(const an_control *c)
{
    switch (c->tag) {
    case AN_TAG_CHOICES: return c->multiple ? AN_PA_MULTI : AN_PA_CATEGORICAL;
    case AN_TAG_RATING:
    case AN_TAG_NUMBER: return AN_PA_CATEGORICAL;
    case AN_TAG_RECTANGLELABELS:
    case AN_TAG_POLYGONLABELS: return AN_PA_REGIONS;
    case AN_TAG_LABELS: return AN_PA_SPANS;
    case AN_TAG_KEYPOINTLABELS: return AN_PA_KEYPOINTS;
    case AN_TAG_TEXTAREA: return AN_PA_TEXT;
    default: return -1;
    }
}

static size_t coder_of(state *st, int64_t id)
{
    for (size_t i = 0; i < st->n_ids; i++)
        if (st->ids[i] == id) return i;
    if (st->n_ids == st->cap_ids) {
        st->cap_ids = st->cap_ids ? 2 * st->cap_ids : 16;
        st->ids = an_xrealloc(st->ids, st->cap_ids * sizeof *st->ids);
    }
    st->ids[st->n_ids] = id;
    return st->n_ids++;
}

static void mark_seen(ctl *k, size_t coder)
{
    if (coder >= k->cap_seen) {
        size_t cap = k->cap_seen ? k->cap_seen : 16;
        while (cap <= coder) cap *= 2;
        k->seen = an_xrealloc(k->seen, cap);
        memset(k->seen + k->cap_seen, 0, cap - k->cap_seen);
        k->cap_seen = cap;
    }
    k->seen[coder] = 1;
}

static void push_trip(ctl *k, size_t unit, size_t coder, double v)
{
    if (k->nt == k->capt) {
        k->capt = k->capt ? 2 * k->capt : 64;
        k->t = an_xrealloc(k->t, k->capt * sizeof *k->t);
    }
    k->t[k->nt++] = (trip){unit, coder, v};
}

static size_t label_index(ctl *k, const char *s)
{
    for (size_t i = 0; i < k->n_labels; i++)
        if (strcmp(k->labels[i], s) == 0) return i;
    if (k->n_labels == k->cap_labels) {
        k->cap_labels = k->cap_labels ? 2 * k->cap_labels : 8;
        k->labels = an_xrealloc(k->labels, k->cap_labels * sizeof *k->labels);
    }
    k->labels[k->n_labels] = an_xstrdup(s);
    return k->n_labels++;
}

static pacc *pair_acc(ctl *k, int64_t a, int64_t b)
{
    for (size_t i = 0; i < k->np; i++)
        if (k->pairs[i].a == a && k->pairs[i].b == b) return &k->pairs[i];
    if (k->np == k->capp) {
        k->capp = k->capp ? 2 * k->capp : 8;
        k->pairs = an_xrealloc(k->pairs, k->capp * sizeof *k->pairs);
    }
    k->pairs[k->np] = (pacc){a, b, 0, 0};
    return &k->pairs[k->np++];
}

/* ---- reading result items ---------------------------------------------------------------- */

/* Calls fn for every item of result that belongs to control name. */
static bool item_is(const json_t *item, const char *name)
{
    const char *f = json_string_value(json_object_get(item, "from_name"));
    return f && strcmp(f, name) == 0 && json_is_object(json_object_get(item, "value"));
}

static bool num(const json_t *o, const char *key, double *v)
{
    const json_t *j = json_object_get(o, key);
    if (!json_is_number(j)) return false;
    *v = json_number_value(j);
    return isfinite(*v);
}

/* The first label of a region value: value[result_type][0], else value.labels[0]. */
static const char *first_label(const json_t *value, const an_control *c)
{
    const json_t *a = json_object_get(value, c->result_type);
    if (!json_is_array(a)) a = json_object_get(value, "labels");
    return json_string_value(json_array_get(a, 0));
}

static double item_aspect(const json_t *item)
{
    double w, h;
    if (num(item, "original_width", &w) && num(item, "original_height", &h) && w > 0 && h > 0)
        return w / h;
    return 0;
}

/* One annotator's answer to a region-kind control on one task. */
typedef struct ans {
    bool has;
    an_region *reg;
    size_t nreg;
    an_span *sp;
    size_t nsp;
    an_keypoint *kp;
    size_t nkp;
    an_buf text;
    double aspect;
} ans;

static void ans_free(ans *a)
{
    for (size_t i = 0; i < a->nreg; i++)
        if (a->reg[i].kind == AN_REGION_POLYGON) free((void *)a->reg[i].pts);
    free(a->reg);
    free(a->sp);
    free(a->kp);
    an_buf_free(&a->text);
    memset(a, 0, sizeof *a);
}

static void ans_read(const ctl *k, const json_t *result, ans *a)
{
    memset(a, 0, sizeof *a);
    an_buf_init(&a->text);
    size_t n = json_array_size(result);
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(result, i);
        if (!item_is(item, k->c->name)) continue;
        const json_t *v = json_object_get(item, "value");
        a->has = true;
        if (a->aspect == 0) a->aspect = item_aspect(item);
        if (k->kind == AN_PA_REGIONS) {
            an_region r;
            memset(&r, 0, sizeof r);
            r.label = first_label(v, k->c);
            const json_t *pts = json_object_get(v, "points");
            if (json_is_array(pts)) {
                size_t np = json_array_size(pts), m = 0;
                an_pt *p = an_xmalloc((np ? np : 1) * sizeof *p);
                for (size_t j = 0; j < np; j++) {
                    const json_t *q = json_array_get(pts, j);
                    const json_t *x = json_array_get(q, 0), *y = json_array_get(q, 1);
                    if (json_is_number(x) && json_is_number(y))
                        p[m++] = (an_pt){json_number_value(x), json_number_value(y)};
                }
                if (m < 3) {
                    free(p);
                    continue;
                }
                r.kind = AN_REGION_POLYGON;
                r.pts = p;
                r.n_pts = m;
            } else {
                r.kind = AN_REGION_RECT;
                if (!num(v, "x", &r.rect.x) || !num(v, "y", &r.rect.y) ||
                    !num(v, "width", &r.rect.w) || !num(v, "height", &r.rect.h))
                    continue;
                if (!num(v, "rotation", &r.rect.rotation)) r.rect.rotation = 0;
            }
            a->reg = an_xrealloc(a->reg, (a->nreg + 1) * sizeof *a->reg);
            a->reg[a->nreg++] = r;
        } else if (k->kind == AN_PA_SPANS) {
            an_span s;
            if (!num(v, "start", &s.start) || !num(v, "end", &s.end)) continue;
            s.label = first_label(v, k->c);
            a->sp = an_xrealloc(a->sp, (a->nsp + 1) * sizeof *a->sp);
            a->sp[a->nsp++] = s;
        } else if (k->kind == AN_PA_KEYPOINTS) {
            an_keypoint p;
            if (!num(v, "x", &p.x) || !num(v, "y", &p.y)) continue;
            p.label = first_label(v, k->c);
            a->kp = an_xrealloc(a->kp, (a->nkp + 1) * sizeof *a->kp);
            a->kp[a->nkp++] = p;
        } else { /* text: value.text is a list of strings (or one string) */
            const json_t *t = json_object_get(v, "text");
            size_t nt = json_is_array(t) ? json_array_size(t) : 1;
            for (size_t j = 0; j < nt; j++) {
                const json_t *s = json_is_array(t) ? json_array_get(t, j) : t;
                if (!json_is_string(s)) continue;
                if (a->text.len) an_buf_addc(&a->text, '\n');
                an_buf_add(&a->text, json_string_value(s), json_string_length(s));
            }
        }
    }
}

/* ---- per task ------------------------------------------------------------------------------ */

static void task_categorical(ctl *k, const pick *pk, size_t n)
{
    double *v = an_xmalloc((n ? n : 1) * sizeof *v);
    bool *has = an_xcalloc(n ? n : 1, sizeof *has);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        size_t ni = json_array_size(pk[i].result);
        for (size_t j = 0; j < ni && !has[i]; j++) {
            const json_t *item = json_array_get(pk[i].result, j);
            if (!item_is(item, k->c->name)) continue;
            const json_t *val = json_object_get(item, "value");
            if (k->c->tag == AN_TAG_CHOICES) {
                const char *s = json_string_value(json_array_get(json_object_get(val, "choices"), 0));
                if (s) {
                    v[i] = (double)label_index(k, s);
                    has[i] = true;
                }
            } else {
                has[i] = num(val, k->c->tag == AN_TAG_RATING ? "rating" : "number", &v[i]);
            }
        }
        any = any || has[i];
    }
    if (any) {
        size_t unit = k->units++;
        for (size_t i = 0; i < n; i++)
            if (has[i]) {
                push_trip(k, unit, pk[i].coder, v[i]);
                mark_seen(k, pk[i].coder);
            }
    }
    free(v);
    free(has);
}

static void task_multi(ctl *k, const pick *pk, size_t n)
{
    bool any = false;
    for (size_t i = 0; i < n && !any; i++)
        for (size_t j = 0; j < json_array_size(pk[i].result); j++)
            if (item_is(json_array_get(pk[i].result, j), k->c->name)) any = true;
    if (!any) return;
    size_t unit = k->units++;
    for (size_t i = 0; i < n; i++) {
        push_trip(k, unit, pk[i].coder, -1);
        mark_seen(k, pk[i].coder);
        size_t ni = json_array_size(pk[i].result);
        for (size_t j = 0; j < ni; j++) {
            const json_t *item = json_array_get(pk[i].result, j);
            if (!item_is(item, k->c->name)) continue;
            const json_t *ch = json_object_get(json_object_get(item, "value"), "choices");
            for (size_t m = 0; m < json_array_size(ch); m++) {
                const char *s = json_string_value(json_array_get(ch, m));
                if (s) push_trip(k, unit, pk[i].coder, (double)label_index(k, s));
            }
        }
    }
}

static int task_regions(const state *st, ctl *k, const pick *pk, size_t n, an_err *err)
{
    ans *a = an_xcalloc(n ? n : 1, sizeof *a);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        ans_read(k, pk[i].result, &a[i]);
        any = any || a[i].has;
    }
    int rc = 0;
    if (!any || n < 1) goto out;
    size_t unit = k->units++;
    if (unit >= k->cap_task) {
        k->cap_task = k->cap_task ? 2 * k->cap_task : 64;
        k->tsum = an_xrealloc(k->tsum, k->cap_task * sizeof *k->tsum);
        k->tcount = an_xrealloc(k->tcount, k->cap_task * sizeof *k->tcount);
    }
    k->tsum[unit] = 0;
    k->tcount[unit] = 0;
    for (size_t i = 0; i < n; i++) {
        if (a[i].has) mark_seen(k, pk[i].coder);
        for (size_t j = i + 1; j < n; j++) {
            /* a is always the smaller annotator id, so pairs read the same way everywhere. */
            const ans *x = &a[i], *y = &a[j];
            int64_t ia = pk[i].annotator, ib = pk[j].annotator;
            if (ia > ib) {
                const ans *t = x;
                x = y;
                y = t;
                int64_t ti = ia;
                ia = ib;
                ib = ti;
            }
            double aspect = x->aspect > 0 ? x->aspect : y->aspect;
            an_match_stats ms;
            double value;
            if (k->kind == AN_PA_REGIONS) {
                an_region_opts ro = an_region_opts_default();
                ro.iou = st->o.iou;
                ro.aspect = aspect;
                an_regions_match(x->reg, x->nreg, y->reg, y->nreg, &ro, &ms, NULL);
                value = ms.f1;
                if (ms.matched) {
                    k->sec_sum += ms.mean * (double)ms.matched;
                    k->sec_n += ms.matched;
                }
            } else if (k->kind == AN_PA_SPANS) {
                an_spans_match(x->sp, x->nsp, y->sp, y->nsp, true, &ms);
                value = ms.f1;
                an_spans_match(x->sp, x->nsp, y->sp, y->nsp, false, &ms);
                k->sec_sum += ms.f1;
                k->sec_n++;
            } else if (k->kind == AN_PA_KEYPOINTS) {
                an_keypoints_match(x->kp, x->nkp, y->kp, y->nkp, st->o.kp_distance, aspect, &ms);
                value = ms.f1;
                if (ms.paired) {
                    k->sec_sum += ms.mean * (double)ms.paired;
                    k->sec_n += ms.paired;
                }
            } else {
                rc = an_cer(x->text.p ? x->text.p : "", x->text.len, y->text.p ? y->text.p : "",
                            y->text.len, true, &value, NULL, err);
                if (rc < 0) {
                    char where[64];
                    snprintf(where, sizeof where, "task %lld: %s",
                             (long long)pk[i].row->id, k->c->name);
                    an_err_prefix_where(err, where);
                    goto out;
                }
            }
            pacc *p = pair_acc(k, ia, ib);
            p->sum += value;
            p->n++;
            k->sum += value;
            k->count++;
            k->tsum[unit] += value;
            k->tcount[unit]++;
        }
    }
out:
    for (size_t i = 0; i < n; i++) ans_free(&a[i]);
    free(a);
    return rc;
}

/* The latest non-cancelled annotation of each annotator. */
static size_t pick_annotations(state *st, const an_task_row *row, pick *pk)
{
    size_t n = 0;
    for (size_t i = 0; i < row->n_annotations; i++) {
        const an_annotation_row *a = &row->annotations[i];
        if (a->cancelled) {
            st->out->cancelled++;
            continue;
        }
        if (a->annotator_id == 0) {
            st->out->without_annotator++;
            continue;
        }
        size_t j = 0;
        while (j < n && pk[j].annotator != a->annotator_id) j++;
        if (j < n) {
            st->out->superseded++;
            const char *old = pk[j].row->updated_at ? pk[j].row->updated_at : "";
            const char *neu = a->updated_at ? a->updated_at : "";
            int c = strcmp(neu, old);
            if (c < 0 || (c == 0 && a->id < pk[j].row->id)) continue;
            pk[j].row = a;
            continue;
        }
        pk[n].annotator = a->annotator_id;
        pk[n].coder = coder_of(st, a->annotator_id);
        pk[n].row = a;
        pk[n].result = NULL;
        n++;
    }
    return n;
}

static int task(state *st, const an_task_row *row, an_err *err)
{
    pick *pk = an_xmalloc((row->n_annotations ? row->n_annotations : 1) * sizeof *pk);
    size_t n = pick_annotations(st, row, pk);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        json_error_t je;
        pk[i].result = json_loads(pk[i].row->result ? pk[i].row->result : "[]", 0, &je);
        if (!json_is_array(pk[i].result)) {
            char where[64];
            snprintf(where, sizeof where, "annotation %lld", (long long)pk[i].row->id);
            rc = an_err_set(err, AN_EINTERNAL, where,
                            "the stored result is not a JSON array (%s); report this",
                            je.text);
            n = i + 1;
            goto out;
        }
    }
    st->out->annotations += n;
    for (size_t c = 0; c < st->n_ctls && rc == 0; c++) {
        ctl *k = &st->ctls[c];
        if (k->kind == AN_PA_CATEGORICAL)
            task_categorical(k, pk, n);
        else if (k->kind == AN_PA_MULTI)
            task_multi(k, pk, n);
        else
            rc = task_regions(st, k, pk, n, err);
    }
out:
    for (size_t i = 0; i < n; i++) json_decref(pk[i].result);
    free(pk);
    return rc;
}

/* ---- finishing ------------------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_pair(const void *a, const void *b)
{
    const an_pa_pair *x = a, *y = b;
    if (x->a != y->a) return (x->a > y->a) - (x->a < y->a);
    return (x->b > y->b) - (x->b < y->b);
}

/* Column order of a control's matrix: the coders who answered it, by annotator id. */
typedef struct cols {
    size_t n;
    size_t *global;   /* column -> global coder index */
    long *col_of;     /* global coder index -> column, or -1 */
} cols;

static void cols_make(const state *st, const ctl *k, cols *c)
{
    c->n = 0;
    c->global = an_xmalloc((st->n_ids ? st->n_ids : 1) * sizeof *c->global);
    c->col_of = an_xmalloc((st->n_ids ? st->n_ids : 1) * sizeof *c->col_of);
    for (size_t i = 0; i < st->n_ids; i++) {
        c->col_of[i] = -1;
        if (i < k->cap_seen && k->seen[i]) c->global[c->n++] = i;
    }
    /* Insertion sort by id: coders are few. */
    for (size_t i = 1; i < c->n; i++)
        for (size_t j = i; j > 0 && st->ids[c->global[j]] < st->ids[c->global[j - 1]]; j--) {
            size_t t = c->global[j];
            c->global[j] = c->global[j - 1];
            c->global[j - 1] = t;
        }
    for (size_t i = 0; i < c->n; i++) c->col_of[c->global[i]] = (long)i;
}

static void cols_free(cols *c)
{
    free(c->global);
    free(c->col_of);
}

static void set_undefined(an_pa_control *pc, const char *why)
{
    pc->value = NAN;
    free(pc->undefined);
    pc->undefined = an_xstrdup(why);
}

static void finish_categorical(const state *st, ctl *k, an_pa_control *pc)
{
    cols c;
    cols_make(st, k, &c);
    pc->coders = c.n;
    size_t k_cat = 0;
    double *values = NULL;
    if (k->c->tag == AN_TAG_CHOICES) {
        k_cat = k->n_labels;
    } else {
        /* Ratings and numbers: the distinct values, ascending, are the categories. */
        values = an_xmalloc((k->nt ? k->nt : 1) * sizeof *values);
        for (size_t i = 0; i < k->nt; i++) values[i] = k->t[i].v;
        qsort(values, k->nt, sizeof *values, cmp_double);
        for (size_t i = 0; i < k->nt; i++)
            if (k_cat == 0 || values[k_cat - 1] != values[i]) values[k_cat++] = values[i];
    }
    pc->categories = k_cat;
    int *cell = an_xmalloc((k->units && c.n ? k->units * c.n : 1) * sizeof *cell);
    for (size_t i = 0; i < k->units * c.n; i++) cell[i] = AN_AGR_MISSING;
    for (size_t i = 0; i < k->nt; i++) {
        const trip *t = &k->t[i];
        int cat;
        if (values) {
            size_t lo = 0, hi = k_cat; /* binary search: the value is present */
            while (hi - lo > 1) {
                size_t mid = (lo + hi) / 2;
                if (values[mid] <= t->v) lo = mid;
                else hi = mid;
            }
            cat = (int)lo;
        } else {
            cat = (int)t->v;
        }
        cell[t->unit * c.n + (size_t)c.col_of[t->coder]] = cat;
    }
    an_agr_data d = {k->units, c.n, k_cat, cell, values};
    an_agr_result r;
    an_err e;
    an_err_clear(&e);
    if (k->units == 0) {
        set_undefined(pc, "no task has an answer to this control");
    } else if (an_agreement(&d, pc->metric, pc->level, pc->weights, &r, &e) < 0) {
        set_undefined(pc, e.msg);
    } else {
        pc->value = r.value;
        pc->units_used = r.units_used;
        pc->pairs = an_xcalloc(r.n_pairs ? r.n_pairs : 1, sizeof *pc->pairs);
        for (size_t i = 0; i < r.n_pairs; i++) {
            pc->pairs[i].a = st->ids[c.global[r.pairs[i].a]];
            pc->pairs[i].b = st->ids[c.global[r.pairs[i].b]];
            pc->pairs[i].tasks = r.pairs[i].units;
            pc->pairs[i].value = r.pairs[i].value;
        }
        pc->n_pairs = r.n_pairs;
        an_agr_result_free(&r);
    }
    if (st->o.bootstrap && k->units > 0) {
        an_err_clear(&e);
        if (an_agr_bootstrap(&d, pc->metric, pc->level, pc->weights, st->o.bootstrap,
                             st->o.seed, &pc->ci, &e) == 0)
            pc->has_ci = true;
    }
    free(cell);
    free(values);
    cols_free(&c);
}

/* Multi-choice: one binary matrix per label. */
typedef struct multi {
    const ctl *k;
    const an_pa_control *pc;
    size_t ncols;
    int **cells; /* per label: units * ncols */
    int *tmp;
} multi;

static int multi_mean(const multi *m, const size_t *units, size_t n, double *out)
{
    double sum = 0;
    size_t defined = 0;
    static const double v01[2] = {0, 1};
    for (size_t l = 0; l < m->k->n_labels; l++) {
        const int *cell = m->cells[l];
        if (units) {
            for (size_t i = 0; i < n; i++)
                memcpy(m->tmp + i * m->ncols, cell + units[i] * m->ncols,
                       m->ncols * sizeof *cell);
            cell = m->tmp;
        }
        an_agr_data d = {n, m->ncols, 2, cell, v01};
        an_agr_result r;
        an_err e;
        an_err_clear(&e);
        if (an_agreement(&d, m->pc->metric, m->pc->level, m->pc->weights, &r, &e) == 0) {
            sum += r.value;
            defined++;
            an_agr_result_free(&r);
        }
    }
    if (!defined) return -1;
    *out = sum / (double)defined;
    return 0;
}

static int multi_stat(void *ud, const size_t *units, size_t n, double *out)
{
    return multi_mean(ud, units, n, out);
}

static void finish_multi(const state *st, ctl *k, an_pa_control *pc)
{
    cols c;
    cols_make(st, k, &c);
    pc->coders = c.n;
    pc->categories = 2;
    size_t cells = k->units && c.n ? k->units * c.n : 1;
    multi m = {k, pc, c.n, an_xcalloc(k->n_labels ? k->n_labels : 1, sizeof(int *)),
               an_xmalloc(cells * sizeof(int))};
    for (size_t l = 0; l < k->n_labels; l++) {
        m.cells[l] = an_xmalloc(cells * sizeof(int));
        for (size_t i = 0; i < cells; i++) m.cells[l][i] = AN_AGR_MISSING;
    }
    /* Presence first (0 in every label), then the chosen labels (1). Trips of one coder on
     * one unit come in that order, and coders who never answered have no column. */
    for (size_t i = 0; i < k->nt; i++) {
        const trip *t = &k->t[i];
        long col = c.col_of[t->coder];
        if (col < 0) continue;
        size_t at = t->unit * c.n + (size_t)col;
        if (t->v < 0)
            for (size_t l = 0; l < k->n_labels; l++) m.cells[l][at] = 0;
        else
            m.cells[(size_t)t->v][at] = 1;
    }
    pc->labels = an_xcalloc(k->n_labels ? k->n_labels : 1, sizeof *pc->labels);
    pc->n_labels = k->n_labels;
    static const double v01[2] = {0, 1};
    double sum = 0;
    size_t defined = 0;
    for (size_t l = 0; l < k->n_labels; l++) {
        an_pa_label *pl = &pc->labels[l];
        pl->label = an_xstrdup(k->labels[l]);
        an_agr_data d = {k->units, c.n, 2, m.cells[l], v01};
        an_agr_result r;
        an_err e;
        an_err_clear(&e);
        if (k->units && an_agreement(&d, pc->metric, pc->level, pc->weights, &r, &e) == 0) {
            pl->value = r.value;
            pl->units_used = r.units_used;
            if (r.units_used > pc->units_used) pc->units_used = r.units_used;
            sum += r.value;
            defined++;
            an_agr_result_free(&r);
        } else {
            pl->value = NAN;
        }
    }
    if (k->units == 0)
        set_undefined(pc, "no task has an answer to this control");
    else if (!defined)
        set_undefined(pc, "the metric is undefined for every label (a label chosen by all "
                          "or by none has no expected disagreement)");
    else
        pc->value = sum / (double)defined;
    if (st->o.bootstrap && k->units > 0) {
        an_err e;
        an_err_clear(&e);
        if (an_bootstrap(k->units, st->o.bootstrap, st->o.seed, 0.95, multi_stat, &m, &pc->ci,
                         &e) == 0)
            pc->has_ci = true;
    }
    for (size_t l = 0; l < k->n_labels; l++) free(m.cells[l]);
    free(m.cells);
    free(m.tmp);
    cols_free(&c);
}

typedef struct task_means {
    const double *sum;
    const size_t *count;
} task_means;

static int mean_stat(void *ud, const size_t *units, size_t n, double *out)
{
    const task_means *t = ud;
    double s = 0;
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        s += t->sum[units[i]];
        c += t->count[units[i]];
    }
    if (!c) return -1;
    *out = s / (double)c;
    return 0;
}

static void finish_regions(const state *st, ctl *k, an_pa_control *pc)
{
    size_t coders = 0;
    for (size_t i = 0; i < k->cap_seen; i++) coders += k->seen[i];
    pc->coders = coders;
    pc->comparisons = k->count;
    if (k->count)
        pc->value = k->sum / (double)k->count;
    else
        set_undefined(pc, k->units ? "no task has two annotators to compare"
                                   : "no task has an answer to this control");
    pc->secondary_name = k->kind == AN_PA_REGIONS     ? "mean_iou"
                         : k->kind == AN_PA_SPANS     ? "overlap_f1"
                         : k->kind == AN_PA_KEYPOINTS ? "mean_distance"
                                                      : NULL;
    pc->secondary = k->sec_n ? k->sec_sum / (double)k->sec_n : NAN;
    pc->pairs = an_xcalloc(k->np ? k->np : 1, sizeof *pc->pairs);
    for (size_t i = 0; i < k->np; i++)
        pc->pairs[i] = (an_pa_pair){k->pairs[i].a, k->pairs[i].b, k->pairs[i].n,
                                    k->pairs[i].sum / (double)k->pairs[i].n};
    pc->n_pairs = k->np;
    qsort(pc->pairs, pc->n_pairs, sizeof *pc->pairs, cmp_pair);
    if (st->o.bootstrap && k->units > 0) {
        task_means tm = {k->tsum, k->tcount};
        an_err e;
        an_err_clear(&e);
        if (an_bootstrap(k->units, st->o.bootstrap, st->o.seed, 0.95, mean_stat, &tm, &pc->ci,
                         &e) == 0)
            pc->has_ci = true;
    }
}

static void ctl_free(ctl *k)
{
    free(k->t);
    for (size_t i = 0; i < k->n_labels; i++) free(k->labels[i]);
    free(k->labels);
    free(k->pairs);
    free(k->tsum);
    free(k->tcount);
    free(k->seen);
}

/* ---- entry point ------------------------------------------------------------------------------ */

static int check_opts(const an_pa_opts *o, an_err *err)
{
    if (o->level >= 0 && o->metric >= 0 && o->metric != AN_AGR_ALPHA)
        return an_err_set(err, AN_EINVAL, "--level", "--level applies to --metric alpha only");
    if (o->weights >= 0 && o->metric != AN_AGR_COHEN)
        return an_err_set(err, AN_EINVAL, "--weights",
                          "--weights applies to --metric cohen only");
    if (o->bootstrap > AN_BOOT_MAX_RESAMPLES)
        return an_err_set(err, AN_EINVAL, "--bootstrap",
                          "at most %d resamples; 1000 is usual", AN_BOOT_MAX_RESAMPLES);
    if (!(o->iou <= 1))
        return an_err_set(err, AN_EINVAL, "--iou", "the IoU threshold must be in (0, 1]");
    if (!(o->kp_distance < INFINITY))
        return an_err_set(err, AN_EINVAL, "distance", "the keypoint distance must be finite");
    return 0;
}

int an_project_agreement(an_store *s, const an_project *p, const an_pa_opts *opts,
                         an_pa_result *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    state st;
    memset(&st, 0, sizeof st);
    st.o = opts ? *opts : an_pa_opts_default();
    if (st.o.iou <= 0) st.o.iou = 0.5;
    if (st.o.kp_distance <= 0) st.o.kp_distance = 2;
    int rc = check_opts(&st.o, err);
    if (rc < 0) return rc;
    an_config *cfg = NULL;
    const char *xml = p->config ? p->config : "";
    rc = an_config_parse(xml, strlen(xml), &cfg, err);
    if (rc < 0) return rc;

    st.ctls = an_xcalloc(cfg->n_controls ? cfg->n_controls : 1, sizeof *st.ctls);
    for (size_t i = 0; i < cfg->n_controls; i++) {
        const an_control *c = &cfg->controls[i];
        if (st.o.control && strcmp(st.o.control, c->name) != 0) continue;
        int kind = kind_of(c);
        if (kind < 0) {
            if (!st.o.control) continue;
            rc = an_err_set(err, AN_EINVAL, "--control",
                            "agreement cannot be measured on %s control \"%s\"; choose a "
                            "Choices, Rating, Number, Labels, RectangleLabels, PolygonLabels, "
                            "KeyPointLabels or TextArea control",
                            an_tag_name(c->tag), c->name);
            goto done;
        }
        ctl *k = &st.ctls[st.n_ctls++];
        k->c = c;
        k->kind = (an_pa_kind)kind;
        if (c->tag == AN_TAG_CHOICES)
            for (size_t l = 0; l < c->n_labels; l++) label_index(k, c->labels[l]);
    }
    if (st.n_ctls == 0) {
        if (st.o.control)
            rc = an_err_set(err, AN_EINVAL, "--control",
                            "project \"%s\" has no control named \"%s\"; see its labeling "
                            "config for the names",
                            p->name ? p->name : "", st.o.control);
        else
            rc = an_err_set(err, AN_EINVAL, "config",
                            "the labeling config has no control agreement can measure");
        goto done;
    }

    out->project_id = p->id;
    st.out = out;
    an_task_iter *it = NULL;
    rc = an_store_tasks_open(s, p->id, AN_ITER_ANNOTATIONS, &it, err);
    if (rc < 0) goto done;
    const an_task_row *row;
    while ((rc = an_task_iter_next(it, &row, err)) == 1) {
        out->tasks++;
        rc = task(&st, row, err);
        if (rc < 0) break;
    }
    an_task_iter_close(it);
    if (rc < 0) goto done;

    out->controls = an_xcalloc(st.n_ctls, sizeof *out->controls);
    out->n_controls = st.n_ctls;
    for (size_t i = 0; i < st.n_ctls; i++) {
        ctl *k = &st.ctls[i];
        an_pa_control *pc = &out->controls[i];
        pc->name = an_xstrdup(k->c->name);
        pc->tag = k->c->tag;
        pc->kind = k->kind;
        pc->units = k->units;
        pc->secondary = NAN;
        if (k->kind == AN_PA_CATEGORICAL || k->kind == AN_PA_MULTI) {
            pc->metric = st.o.metric >= 0 ? (an_agr_metric)st.o.metric : AN_AGR_ALPHA;
            pc->level = st.o.level >= 0                ? (an_agr_level)st.o.level
                        : k->c->tag == AN_TAG_RATING   ? AN_AGR_ORDINAL
                        : k->c->tag == AN_TAG_NUMBER   ? AN_AGR_INTERVAL
                                                       : AN_AGR_NOMINAL;
            pc->weights = st.o.weights >= 0 ? (an_agr_weights)st.o.weights : AN_AGR_W_NONE;
            pc->measure = an_agr_metric_name(pc->metric);
            if (k->kind == AN_PA_CATEGORICAL)
                finish_categorical(&st, k, pc);
            else
                finish_multi(&st, k, pc);
        } else {
            pc->measure = k->kind == AN_PA_REGIONS     ? "f1"
                          : k->kind == AN_PA_SPANS     ? "exact_f1"
                          : k->kind == AN_PA_KEYPOINTS ? "keypoint_f1"
                                                       : "cer";
            finish_regions(&st, k, pc);
        }
    }

    /* Annotators, by id, with their names. */
    out->annotators = an_xmalloc((st.n_ids ? st.n_ids : 1) * sizeof *out->annotators);
    memcpy(out->annotators, st.ids, st.n_ids * sizeof *st.ids);
    qsort(out->annotators, st.n_ids, sizeof *out->annotators, cmp_i64);
    out->n_annotators = st.n_ids;
    out->annotator_names = an_xcalloc(st.n_ids ? st.n_ids : 1, sizeof *out->annotator_names);
    for (size_t i = 0; i < st.n_ids; i++) {
        an_user u;
        an_err e;
        an_err_clear(&e);
        memset(&u, 0, sizeof u);
        if (an_store_user_by_id(s, out->annotators[i], &u, &e) == 0) {
            out->annotator_names[i] = an_xstrdup(u.name);
            an_user_clear(&u);
        } else {
            char name[40];
            snprintf(name, sizeof name, "user-%lld", (long long)out->annotators[i]);
            out->annotator_names[i] = an_xstrdup(name);
        }
    }
    rc = 0;
done:
    for (size_t i = 0; i < st.n_ctls; i++) ctl_free(&st.ctls[i]);
    free(st.ctls);
    free(st.ids);
    an_config_free(cfg);
    if (rc < 0) an_pa_result_free(out);
    return rc;
}

void an_pa_result_free(an_pa_result *r)
{
    for (size_t i = 0; i < r->n_controls; i++) {
        an_pa_control *c = &r->controls[i];
        free(c->name);
        free(c->undefined);
        for (size_t l = 0; l < c->n_labels; l++) free(c->labels[l].label);
        free(c->labels);
        free(c->pairs);
    }
    free(r->controls);
    for (size_t i = 0; i < r->n_annotators; i++) free(r->annotator_names[i]);
    free(r->annotator_names);
    free(r->annotators);
    memset(r, 0, sizeof *r);
}
