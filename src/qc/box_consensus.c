/* Consensus boxes of a project (box_consensus.h). The project's tasks are streamed twice
 * (once per pass); only one task's boxes are held at a time, plus the results. */
#include "qc/box_consensus.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "qc/regions.h"

/* One task's boxes, gathered from its annotations. */
typedef struct task_boxes {
    an_cons_box *b;
    size_t n, cap;
    int64_t *ann_ids;  /* the task's annotators (user ids), index = an_cons_box.annotator */
    int64_t *ann_seen; /* annotation id taken per annotator (the latest) */
    size_t n_ann, cap_ann;
} task_boxes;

static size_t annotator_slot(task_boxes *t, int64_t user, int64_t annotation_id, bool *newer)
{
    for (size_t i = 0; i < t->n_ann; i++)
        if (t->ann_ids[i] == user) {
            *newer = annotation_id > t->ann_seen[i];
            if (*newer) t->ann_seen[i] = annotation_id;
            return i;
        }
    if (t->n_ann == t->cap_ann) {
        t->cap_ann = t->cap_ann ? 2 * t->cap_ann : 8;
        t->ann_ids = an_xrealloc(t->ann_ids, t->cap_ann * sizeof *t->ann_ids);
        t->ann_seen = an_xrealloc(t->ann_seen, t->cap_ann * sizeof *t->ann_seen);
    }
    t->ann_ids[t->n_ann] = user;
    t->ann_seen[t->n_ann] = annotation_id;
    *newer = true;
    return t->n_ann++;
}

static double num(const json_t *o, const char *k, double dflt)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

/* Adds the control's rectangles of one annotation (annotator index a). */
static void add_result(task_boxes *t, const an_control *c, const char *result, uint32_t a)
{
    json_t *r = json_loads(result, 0, NULL);
    size_t i;
    json_t *item;
    json_array_foreach(r, i, item)
    {
        const char *from = json_string_value(json_object_get(item, "from_name"));
        json_t *v = json_object_get(item, "value");
        if (!from || strcmp(from, c->name) != 0 || !json_is_object(v)) continue;
        json_t *labels = json_object_get(v, "rectanglelabels");
        int32_t label = AN_CONS_NONE;
        if (json_array_size(labels)) {
            int k = an_control_label_index(c, json_string_value(json_array_get(labels, 0)));
            label = k >= 0 ? k : AN_CONS_NONE;
        }
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 16;
            t->b = an_xrealloc(t->b, t->cap * sizeof *t->b);
        }
        t->b[t->n++] = (an_cons_box){.rect = {num(v, "x", 0), num(v, "y", 0), num(v, "width", 0),
                                              num(v, "height", 0), num(v, "rotation", 0)},
                                     .annotator = a,
                                     .label = label};
    }
    json_decref(r);
}

/* Drops boxes of annotations superseded by a later one of the same annotator. */
static void drop_annotator(task_boxes *t, uint32_t a)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->b[i].annotator != a) t->b[k++] = t->b[i];
    t->n = k;
}

typedef struct stats {
    int64_t *ids;
    size_t *boxes, *matched, *consensus;
    size_t n, cap;
} stats;

static size_t stat_slot(stats *s, int64_t user)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->ids[i] == user) return i;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->ids = an_xrealloc(s->ids, s->cap * sizeof *s->ids);
        s->boxes = an_xrealloc(s->boxes, s->cap * sizeof *s->boxes);
        s->matched = an_xrealloc(s->matched, s->cap * sizeof *s->matched);
        s->consensus = an_xrealloc(s->consensus, s->cap * sizeof *s->consensus);
    }
    s->ids[s->n] = user;
    s->boxes[s->n] = s->matched[s->n] = s->consensus[s->n] = 0;
    return s->n++;
}

static double reliability_of(const stats *s, int64_t user)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->ids[i] == user) {
            size_t d = s->boxes[i] + s->consensus[i];
            return d ? 2.0 * (double)s->matched[i] / (double)d : 0;
        }
    return 0;
}

/* Scores annotator a's boxes of one task against the merged ones (same label, IoU >= iou,
 * one-to-one). */
static void score_annotator(const task_boxes *t, uint32_t a, const an_cons_merged *m, size_t nm,
                            double iou, stats *st)
{
    size_t slot = stat_slot(st, t->ann_ids[a]);
    size_t na = 0;
    for (size_t i = 0; i < t->n; i++)
        na += t->b[i].annotator == a;
    st->boxes[slot] += na;
    st->consensus[slot] += nm;
    if (!na || !nm) return;
    double *score = an_xcalloc(na * nm, sizeof *score);
    int *match = an_xmalloc(na * sizeof *match);
    size_t r = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->b[i].annotator != a) continue;
        for (size_t j = 0; j < nm; j++)
            if (t->b[i].label == m[j].label)
                score[r * nm + j] = an_rect_iou(&t->b[i].rect, &m[j].rect);
        r++;
    }
    st->matched[slot] += an_assign_max(score, na, nm, iou, match);
    free(score);
    free(match);
}

/* One pass over the project: with weights NULL every annotator weighs 1 and st gathers the
 * reliability statistics; else the merged boxes go to out. */
static int pass(an_store *s, int64_t pid, const an_control *c, const an_bc_opts *o,
                const stats *weights, stats *st, an_bc_result *out, an_err *err)
{
    an_task_iter *it = NULL;
    int rc = an_store_tasks_open(s, pid, AN_ITER_ANNOTATIONS, &it, err);
    if (rc < 0) return rc;
    task_boxes t = {0};
    double *w = NULL;
    size_t cap_w = 0, cap_tasks = 0;
    const an_task_row *row;
    while ((rc = an_task_iter_next(it, &row, err)) == 1) {
        t.n = t.n_ann = 0;
        for (size_t k = 0; k < row->n_annotations; k++) {
            const an_annotation_row *a = &row->annotations[k];
            if (a->cancelled || a->ground_truth || a->annotator_id == 0) continue;
            bool newer;
            uint32_t slot = (uint32_t)annotator_slot(&t, a->annotator_id, a->id, &newer);
            if (!newer) continue;
            drop_annotator(&t, slot);
            add_result(&t, c, a->result, slot);
        }
        if (!t.n) continue;
        if (t.n_ann > cap_w) w = an_xrealloc(w, (cap_w = t.n_ann) * sizeof *w);
        for (size_t i = 0; i < t.n_ann; i++)
            w[i] = weights ? reliability_of(weights, t.ann_ids[i]) : 1.0;
        an_cons_box_opts bo = {.annotators = t.n_ann,
                               .iou = o->iou > 0 ? o->iou : 0.5,
                               .quorum = o->quorum,
                               .weight = w,
                               .classes = c->n_labels};
        an_cons_merged *m = NULL;
        size_t nm = 0;
        if ((rc = an_cons_boxes(t.b, t.n, &bo, &m, &nm, err)) < 0) break;
        if (!weights) {
            for (uint32_t a = 0; a < t.n_ann; a++)
                score_annotator(&t, a, m, nm, bo.iou, st);
            free(m);
        } else {
            if (out->n_tasks == cap_tasks) {
                cap_tasks = cap_tasks ? 2 * cap_tasks : 64;
                out->tasks = an_xrealloc(out->tasks, cap_tasks * sizeof *out->tasks);
            }
            out->tasks[out->n_tasks++] =
                (an_bc_task){.task_id = row->id, .annotators = t.n_ann, .boxes = m, .n_boxes = nm};
        }
    }
    an_task_iter_close(it);
    free(t.b);
    free(t.ann_ids);
    free(t.ann_seen);
    free(w);
    return rc < 0 ? rc : 0;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = ((const an_bc_annotator *)a)->user_id, y = ((const an_bc_annotator *)b)->user_id;
    return (x > y) - (x < y);
}

int an_box_consensus(an_store *s, int64_t project_id, const an_control *c, const an_bc_opts *o,
                     an_bc_result *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    if (c->tag != AN_TAG_RECTANGLELABELS)
        return an_err_set(err, AN_EINVAL, "--control",
                          "control \"%s\" is not a RectangleLabels control; box consensus needs "
                          "one",
                          c->name);
    stats st = {0};
    int rc = pass(s, project_id, c, o, NULL, &st, out, err);
    if (rc == 0) rc = pass(s, project_id, c, o, &st, NULL, out, err);
    if (rc == 0) {
        out->n_annotators = st.n;
        out->annotators = an_xcalloc(st.n ? st.n : 1, sizeof *out->annotators);
        for (size_t i = 0; i < st.n; i++)
            out->annotators[i] = (an_bc_annotator){.user_id = st.ids[i],
                                                   .boxes = st.boxes[i],
                                                   .matched = st.matched[i],
                                                   .consensus = st.consensus[i],
                                                   .reliability = reliability_of(&st, st.ids[i])};
        qsort(out->annotators, st.n, sizeof *out->annotators, cmp_id);
    }
    free(st.ids);
    free(st.boxes);
    free(st.matched);
    free(st.consensus);
    if (rc < 0) an_bc_result_free(out);
    return rc;
}

void an_bc_result_free(an_bc_result *r)
{
    for (size_t i = 0; i < r->n_tasks; i++)
        free(r->tasks[i].boxes);
    free(r->tasks);
    free(r->annotators);
    memset(r, 0, sizeof *r);
}
