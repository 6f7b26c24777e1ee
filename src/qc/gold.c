/* A project's answers to one Choices control, and accuracy against gold (see gold.h). */
#include "qc/gold.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"

void an_wilson95(size_t correct, size_t seen, double *lo, double *hi)
{
    if (seen == 0 || correct > seen) {
        *lo = 0;
        *hi = 1;
        return;
    }
    const double z = 1.959963984540054;
    double n = (double)seen, p = (double)correct / n, z2 = z * z;
    double den = 1 + z2 / n;
    double mid = (p + z2 / (2 * n)) / den;
    double half = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / den;
    *lo = mid - half < 0 ? 0 : mid - half;
    *hi = mid + half > 1 ? 1 : mid + half;
}

/* One counted answer on the current task. */
typedef struct answer {
    int64_t annotator;
    const an_annotation_row *row;
} answer;

/* Growable sorted-by-insertion arrays, and an open-addressing map annotator id -> index. */
typedef struct state {
    const an_control *c;
    int64_t *tasks;
    size_t n_tasks, cap_tasks;
    int64_t *ann_ids; /* annotator index -> id, in order of first appearance */
    size_t n_ann, cap_ann;
    size_t *map; /* slots hold index + 1; 0 is empty */
    size_t map_cap;
    uint32_t *li, *la, *lc; /* labels: task index, annotator index, class */
    size_t n_labels, cap_labels;
    int32_t *gold;
    size_t *seen, *correct; /* per annotator index */
    size_t gold_tasks, not_single, unknown;
    answer *ans;
    size_t cap_ans;
    size_t *set_a, *set_g; /* choice sets of an answer and of the gold */
} state;

static size_t hash64(int64_t v)
{
    uint64_t x = (uint64_t)v * 0x9E3779B97F4A7C15ull;
    return (size_t)(x ^ (x >> 29));
}

static size_t annotator_index(state *st, int64_t id)
{
    if (st->n_ann * 2 >= st->map_cap) {
        size_t cap = st->map_cap ? st->map_cap * 2 : 64;
        size_t *m = an_xcalloc(cap, sizeof *m);
        for (size_t i = 0; i < st->n_ann; i++) {
            size_t h = hash64(st->ann_ids[i]) & (cap - 1);
            while (m[h]) h = (h + 1) & (cap - 1);
            m[h] = i + 1;
        }
        free(st->map);
        st->map = m;
        st->map_cap = cap;
    }
    size_t h = hash64(id) & (st->map_cap - 1);
    while (st->map[h]) {
        if (st->ann_ids[st->map[h] - 1] == id) return st->map[h] - 1;
        h = (h + 1) & (st->map_cap - 1);
    }
    if (st->n_ann == st->cap_ann) {
        st->cap_ann = st->cap_ann ? st->cap_ann * 2 : 16;
        st->ann_ids = an_xrealloc(st->ann_ids, st->cap_ann * sizeof *st->ann_ids);
        st->seen = an_xrealloc(st->seen, st->cap_ann * sizeof *st->seen);
        st->correct = an_xrealloc(st->correct, st->cap_ann * sizeof *st->correct);
    }
    st->ann_ids[st->n_ann] = id;
    st->seen[st->n_ann] = 0;
    st->correct[st->n_ann] = 0;
    st->map[h] = ++st->n_ann;
    return st->n_ann - 1;
}

/* Later by (updated_at, id): the one that counts. */
static bool later(const an_annotation_row *a, const an_annotation_row *b)
{
    int cmp = strcmp(a->updated_at ? a->updated_at : "", b->updated_at ? b->updated_at : "");
    return cmp > 0 || (cmp == 0 && a->id > b->id);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* The choice set the annotation makes in the control, sorted and unique, into set[0..*n)
 * (set has room for the control's labels). Returns 0, or 1 when it names an unknown choice,
 * or a negative code for result text that is not JSON. */
static int choice_set(const state *st, const an_annotation_row *row, size_t *set, size_t *n,
                      an_err *err)
{
    *n = 0;
    char where[64];
    snprintf(where, sizeof where, "annotation %lld", (long long)row->id);
    json_t *res = an_json_parse(row->result, strlen(row->result), where, err);
    if (!res) return -AN_EINVAL;
    int unknown = 0;
    size_t i;
    json_t *item;
    json_array_foreach(res, i, item)
    {
        const char *from = an_json_str(item, "from_name");
        if (!from || strcmp(from, st->c->name) != 0) continue;
        json_t *choices = json_object_get(json_object_get(item, "value"), "choices");
        size_t j;
        json_t *ch;
        json_array_foreach(choices, j, ch)
        {
            const char *s = json_string_value(ch);
            int k = s ? an_control_label_index(st->c, s) : -1;
            if (k < 0) {
                unknown = 1;
                continue;
            }
            bool dup = false;
            for (size_t m = 0; m < *n; m++)
                dup |= set[m] == (size_t)k;
            if (!dup && *n < st->c->n_labels) set[(*n)++] = (size_t)k;
        }
    }
    json_decref(res);
    qsort(set, *n, sizeof *set, cmp_size);
    return unknown;
}

static void add_label(state *st, size_t task, size_t ann, size_t cls)
{
    if (st->n_labels == st->cap_labels) {
        st->cap_labels = st->cap_labels ? st->cap_labels * 2 : 1024;
        st->li = an_xrealloc(st->li, st->cap_labels * sizeof *st->li);
        st->la = an_xrealloc(st->la, st->cap_labels * sizeof *st->la);
        st->lc = an_xrealloc(st->lc, st->cap_labels * sizeof *st->lc);
    }
    st->li[st->n_labels] = (uint32_t)task;
    st->la[st->n_labels] = (uint32_t)ann;
    st->lc[st->n_labels] = (uint32_t)cls;
    st->n_labels++;
}

static int task(state *st, const an_task_row *row, an_err *err)
{
    if (st->n_tasks == st->cap_tasks) {
        st->cap_tasks = st->cap_tasks ? st->cap_tasks * 2 : 1024;
        st->tasks = an_xrealloc(st->tasks, st->cap_tasks * sizeof *st->tasks);
        st->gold = an_xrealloc(st->gold, st->cap_tasks * sizeof *st->gold);
    }
    size_t t = st->n_tasks++;
    st->tasks[t] = row->id;
    st->gold[t] = AN_CONS_NONE;
    if (row->n_annotations > st->cap_ans) {
        st->cap_ans = row->n_annotations;
        st->ans = an_xrealloc(st->ans, st->cap_ans * sizeof *st->ans);
    }
    /* Each annotator's latest answer, and the latest gold one. */
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
        while (m < n && st->ans[m].annotator != a->annotator_id) m++;
        if (m == n) st->ans[n++] = (answer){a->annotator_id, a};
        else if (later(a, st->ans[m].row)) st->ans[m].row = a;
    }
    size_t ng = 0;
    if (gold) {
        int u = choice_set(st, gold, st->set_g, &ng, err);
        if (u < 0) return u;
        st->gold_tasks++;
        /* A gold set with an unknown choice can never be matched; it still marks a gold task. */
        if (u == 0 && ng == 1) st->gold[t] = (int32_t)st->set_g[0];
        if (u) ng = SIZE_MAX;
    }
    for (size_t m = 0; m < n; m++) {
        size_t na;
        int u = choice_set(st, st->ans[m].row, st->set_a, &na, err);
        if (u < 0) return u;
        size_t ai = annotator_index(st, st->ans[m].annotator);
        if (u) st->unknown++;
        if (!u && na == 1)
            add_label(st, t, ai, st->set_a[0]);
        else
            st->not_single++;
        if (gold) {
            st->seen[ai]++;
            if (!u && ng == na && memcmp(st->set_a, st->set_g, na * sizeof *st->set_a) == 0)
                st->correct[ai]++;
        }
    }
    return 0;
}

static void state_free(state *st)
{
    free(st->tasks);
    free(st->ann_ids);
    free(st->map);
    free(st->li);
    free(st->la);
    free(st->lc);
    free(st->gold);
    free(st->seen);
    free(st->correct);
    free(st->ans);
    free(st->set_a);
    free(st->set_g);
}

static int cmp_idx_by_id(const void *a, const void *b, void *ids)
{
    int64_t x = ((const int64_t *)ids)[*(const size_t *)a];
    int64_t y = ((const int64_t *)ids)[*(const size_t *)b];
    return x < y ? -1 : x > y;
}

int an_choice_table_read(an_store *s, int64_t project_id, const an_control *c,
                         an_choice_table *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    if (c->tag != AN_TAG_CHOICES || c->n_labels == 0)
        return an_err_set(err, AN_EINVAL, c->name,
                          "control \"%s\" is a %s; gold accuracy and consensus need a Choices "
                          "control",
                          c->name, an_tag_name(c->tag));
    state st = {.c = c};
    st.set_a = an_xmalloc(c->n_labels * sizeof *st.set_a);
    st.set_g = an_xmalloc(c->n_labels * sizeof *st.set_g);
    an_task_iter *it = NULL;
    int rc = an_store_tasks_open(s, project_id, AN_ITER_ANNOTATIONS, &it, err);
    if (rc < 0) {
        state_free(&st);
        return rc;
    }
    const an_task_row *row;
    while ((rc = an_task_iter_next(it, &row, err)) == 1) {
        rc = task(&st, row, err);
        if (rc < 0) break;
    }
    an_task_iter_close(it);
    if (rc < 0) {
        state_free(&st);
        return rc;
    }

    /* Annotators in id order, so that output does not depend on who answered first. */
    size_t A = st.n_ann;
    size_t *order = an_xmalloc((A ? A : 1) * sizeof *order);
    for (size_t i = 0; i < A; i++)
        order[i] = i;
    qsort_r(order, A, sizeof *order, cmp_idx_by_id, st.ann_ids);
    size_t *rank = an_xmalloc((A ? A : 1) * sizeof *rank);
    for (size_t i = 0; i < A; i++)
        rank[order[i]] = i;

    out->tasks = st.n_tasks;
    out->task_ids = st.tasks;
    st.tasks = NULL;
    out->gold = st.gold;
    st.gold = NULL;
    out->gold_tasks = st.gold_tasks;
    out->not_single = st.not_single;
    out->unknown_choices = st.unknown;
    out->annotators = A;
    out->annotator_ids = an_xmalloc((A ? A : 1) * sizeof *out->annotator_ids);
    out->stats = an_xcalloc(A ? A : 1, sizeof *out->stats);
    for (size_t i = 0; i < A; i++) {
        size_t from = order[i];
        an_gold_stat *g = &out->stats[i];
        out->annotator_ids[i] = st.ann_ids[from];
        g->seen = st.seen[from];
        g->correct = st.correct[from];
        g->accuracy = g->seen ? (double)g->correct / (double)g->seen : NAN;
        an_wilson95(g->correct, g->seen, &g->lo, &g->hi);
    }
    an_cons_labels_init(&out->labels, out->tasks, A, c->n_labels);
    for (size_t k = 0; k < st.n_labels; k++) {
        /* In range by construction; the call checks anyway. */
        rc = an_cons_labels_add(&out->labels, st.li[k], rank[st.la[k]], st.lc[k], err);
        if (rc < 0) break;
    }
    an_cons_labels_finish(&out->labels);
    free(order);
    free(rank);
    state_free(&st);
    if (rc < 0) an_choice_table_free(out);
    return rc;
}

void an_choice_table_free(an_choice_table *t)
{
    free(t->task_ids);
    free(t->annotator_ids);
    an_cons_labels_free(&t->labels);
    free(t->gold);
    free(t->stats);
    memset(t, 0, sizeof *t);
}
