/* Majority vote and Dawid–Skene EM over labels kept by item (see consensus.h). */
#include "qc/consensus.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

/* ---- gathering labels ------------------------------------------------------------------- */

void an_cons_labels_init(an_cons_labels *l, size_t items, size_t annotators, size_t classes)
{
    memset(l, 0, sizeof *l);
    l->items = items;
    l->annotators = annotators;
    l->classes = classes;
}

int an_cons_labels_add(an_cons_labels *l, size_t item, size_t annotator, size_t cls,
                       an_err *err)
{
    if (item >= l->items)
        return an_err_set(err, AN_EINVAL, "item", "item %zu is out of range (%zu items)", item,
                          l->items);
    if (annotator >= l->annotators)
        return an_err_set(err, AN_EINVAL, "annotator",
                          "annotator %zu is out of range (%zu annotators)", annotator,
                          l->annotators);
    if (cls >= l->classes)
        return an_err_set(err, AN_EINVAL, "class", "class %zu is out of range (%zu classes)",
                          cls, l->classes);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->item = an_xrealloc(l->item, l->cap * sizeof *l->item);
        l->annotator = an_xrealloc(l->annotator, l->cap * sizeof *l->annotator);
        l->cls = an_xrealloc(l->cls, l->cap * sizeof *l->cls);
    }
    l->item[l->n] = (uint32_t)item;
    l->annotator[l->n] = (uint32_t)annotator;
    l->cls[l->n] = (uint32_t)cls;
    l->n++;
    return 0;
}

void an_cons_labels_finish(an_cons_labels *l)
{
    /* Counting sort by item: linear, and stable, so equal input gives equal output. */
    size_t *start = an_xcalloc(l->items + 1, sizeof *start);
    for (size_t k = 0; k < l->n; k++)
        start[l->item[k] + 1]++;
    for (size_t i = 0; i < l->items; i++)
        start[i + 1] += start[i];
    size_t *next = an_xmalloc((l->items + 1) * sizeof *next);
    memcpy(next, start, (l->items + 1) * sizeof *next);
    uint32_t *a = an_xmalloc((l->n ? l->n : 1) * sizeof *a);
    uint32_t *c = an_xmalloc((l->n ? l->n : 1) * sizeof *c);
    for (size_t k = 0; k < l->n; k++) {
        size_t at = next[l->item[k]]++;
        a[at] = l->annotator[k];
        c[at] = l->cls[k];
    }
    free(next);
    free(l->item);
    free(l->annotator);
    free(l->cls);
    l->item = l->annotator = l->cls = NULL;
    l->cap = 0;
    free(l->item_start);
    free(l->s_annotator);
    free(l->s_cls);
    l->item_start = start;
    l->s_annotator = a;
    l->s_cls = c;
}

an_cons_data an_cons_labels_data(const an_cons_labels *l)
{
    an_cons_data d = {l->items, l->annotators, l->classes, l->n, l->item_start, l->s_annotator,
                      l->s_cls};
    return d;
}

void an_cons_labels_free(an_cons_labels *l)
{
    free(l->item);
    free(l->annotator);
    free(l->cls);
    free(l->item_start);
    free(l->s_annotator);
    free(l->s_cls);
    memset(l, 0, sizeof *l);
}

/* ---- checks and names ------------------------------------------------------------------- */

int an_cons_check(const an_cons_data *d, an_err *err)
{
    if (d->classes < 1 || d->classes > AN_CONS_MAX_CLASSES)
        return an_err_set(err, AN_EINVAL, "classes",
                          "%zu classes; consensus needs 1 to %d classes", d->classes,
                          AN_CONS_MAX_CLASSES);
    if (d->annotators > AN_CONS_MAX_ANNOTATORS)
        return an_err_set(err, AN_EINVAL, "annotators", "%zu annotators; at most %d",
                          d->annotators, AN_CONS_MAX_ANNOTATORS);
    if (!d->item_start)
        return an_err_set(err, AN_EINVAL, "item_start", "no item offsets; finish the labels");
    if (d->item_start[0] != 0 || d->item_start[d->items] != d->labels)
        return an_err_set(err, AN_EINVAL, "item_start",
                          "item offsets must run from 0 to the number of labels");
    for (size_t i = 0; i < d->items; i++)
        if (d->item_start[i + 1] < d->item_start[i]) {
            char where[64];
            snprintf(where, sizeof where, "item_start[%zu]", i + 1);
            return an_err_set(err, AN_EINVAL, where, "item offsets must not decrease");
        }
    for (size_t k = 0; k < d->labels; k++) {
        if (d->annotator[k] >= d->annotators || d->cls[k] >= d->classes) {
            char where[64];
            snprintf(where, sizeof where, "labels[%zu]", k);
            return an_err_set(err, AN_EINVAL, where,
                              "annotator %u or class %u out of range (%zu annotators, %zu "
                              "classes)",
                              (unsigned)d->annotator[k], (unsigned)d->cls[k], d->annotators,
                              d->classes);
        }
    }
    return 0;
}

const char *an_cons_method_name(an_cons_method m)
{
    return m == AN_CONS_DAWID_SKENE ? "dawid-skene" : "majority";
}

int an_cons_method_parse(const char *s)
{
    if (strcmp(s, "majority") == 0) return AN_CONS_MAJORITY;
    if (strcmp(s, "dawid-skene") == 0) return AN_CONS_DAWID_SKENE;
    return -1;
}

an_cons_opts an_cons_opts_default(void)
{
    an_cons_opts o = {false, 1e-6, 100, AN_CONS_SMOOTHING};
    return o;
}

void an_cons_result_free(an_cons_result *out)
{
    free(out->label);
    free(out->confidence);
    free(out->tie_start);
    free(out->tie);
    free(out->accuracy);
    free(out->annotator_labels);
    free(out->posterior);
    free(out->prior);
    free(out->confusion);
    memset(out, 0, sizeof *out);
}

/* ---- shared result plumbing --------------------------------------------------------------- */

static void result_alloc(const an_cons_data *d, an_cons_method m, an_cons_result *out)
{
    memset(out, 0, sizeof *out);
    out->method = m;
    out->items = d->items;
    out->annotators = d->annotators;
    out->classes = d->classes;
    size_t n = d->items ? d->items : 1;
    out->label = an_xmalloc(n * sizeof *out->label);
    out->confidence = an_xmalloc(n * sizeof *out->confidence);
    out->tie_start = an_xcalloc(d->items + 1, sizeof *out->tie_start);
    out->accuracy = an_xmalloc((d->annotators ? d->annotators : 1) * sizeof *out->accuracy);
    out->annotator_labels =
        an_xcalloc(d->annotators ? d->annotators : 1, sizeof *out->annotator_labels);
    out->converged = true;
}

/* Growable list of tied classes. */
typedef struct ties {
    uint32_t *v;
    size_t n, cap;
} ties;

static void ties_add(ties *t, uint32_t c)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->v = an_xrealloc(t->v, t->cap * sizeof *t->v);
    }
    t->v[t->n++] = c;
}

/* Insertion sort of a short list (the classes tied on one item). */
static void sort_small(uint32_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* ---- majority vote -------------------------------------------------------------------------- */

int an_cons_majority(const an_cons_data *d, const an_cons_opts *o, an_cons_result *out,
                     an_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = an_cons_check(d, err);
    if (rc < 0) return rc;
    result_alloc(d, AN_CONS_MAJORITY, out);
    size_t K = d->classes;
    /* Counts for one item, cleared through the list of classes it touched, so an item costs
     * its labels, not K. */
    uint32_t *cnt = an_xcalloc(K, sizeof *cnt);
    uint32_t *touched = an_xmalloc(K * sizeof *touched);
    ties t = {0};
    for (size_t i = 0; i < d->items; i++) {
        size_t b = d->item_start[i], e = d->item_start[i + 1];
        size_t nt = 0;
        uint32_t top = 0;
        for (size_t k = b; k < e; k++) {
            uint32_t c = d->cls[k];
            if (cnt[c]++ == 0) touched[nt++] = c;
            if (cnt[c] > top) top = cnt[c];
        }
        out->tie_start[i] = t.n;
        if (e == b) {
            out->label[i] = AN_CONS_NONE;
            out->confidence[i] = 0;
            continue;
        }
        size_t first = t.n;
        for (size_t k = 0; k < nt; k++)
            if (cnt[touched[k]] == top) ties_add(&t, touched[k]);
        size_t n_top = t.n - first;
        sort_small(t.v + first, n_top);
        if (n_top == 1) {
            out->label[i] = (int32_t)t.v[first];
            t.n = first; /* one winner is no tie */
        } else {
            out->label[i] = o->tie_lowest ? (int32_t)t.v[first] : AN_CONS_NONE;
            out->n_ties++;
        }
        out->confidence[i] = (double)top / (double)(e - b);
        for (size_t k = 0; k < nt; k++)
            cnt[touched[k]] = 0;
    }
    out->tie_start[d->items] = t.n;
    out->tie = t.v;
    free(cnt);
    free(touched);

    /* Agreement of each annotator with the consensus. */
    size_t *seen = an_xcalloc(d->annotators ? d->annotators : 1, sizeof *seen);
    size_t *agree = an_xcalloc(d->annotators ? d->annotators : 1, sizeof *agree);
    for (size_t i = 0; i < d->items; i++) {
        for (size_t k = d->item_start[i]; k < d->item_start[i + 1]; k++) {
            uint32_t a = d->annotator[k];
            out->annotator_labels[a]++;
            if (out->label[i] == AN_CONS_NONE) continue;
            seen[a]++;
            if ((int32_t)d->cls[k] == out->label[i]) agree[a]++;
        }
    }
    for (size_t a = 0; a < d->annotators; a++)
        out->accuracy[a] = seen[a] ? (double)agree[a] / (double)seen[a] : NAN;
    free(seen);
    free(agree);
    return 0;
}

/* ---- Dawid–Skene ---------------------------------------------------------------------------- */

/* M-step: parameters from the expected counts. acc[(a*K + l)*K + j] is the expected number of
 * times annotator a said l on items of true class j; pacc[j] the expected number of items of
 * class j. Writes prior, confusion[a][j][l], and the logs the E-step reads:
 * logc[(a*K + l)*K + j] = log confusion[a][j][l] (laid out so that one label's K terms are
 * contiguous) and logp[j] = log prior[j]. */
static void m_step(size_t A, size_t K, size_t items, double s, const double *acc,
                   const double *pacc, double *prior, double *conf, double *logp, double *logc)
{
    double ptot = (double)items + (double)K * s;
    for (size_t j = 0; j < K; j++) {
        prior[j] = ptot > 0 ? (pacc[j] + s) / ptot : 1.0 / (double)K;
        logp[j] = log(prior[j]);
    }
    for (size_t a = 0; a < A; a++) {
        for (size_t j = 0; j < K; j++) {
            double row = 0;
            for (size_t l = 0; l < K; l++)
                row += acc[(a * K + l) * K + j];
            double tot = row + (double)K * s;
            for (size_t l = 0; l < K; l++) {
                /* An annotator never seen on class j (and no smoothing): no evidence, so the
                 * row is uniform rather than 0/0. */
                double p = tot > 0 ? (acc[(a * K + l) * K + j] + s) / tot : 1.0 / (double)K;
                conf[(a * K + j) * K + l] = p;
                logc[(a * K + l) * K + j] = log(p);
            }
        }
    }
}

int an_cons_dawid_skene(const an_cons_data *d, const an_cons_opts *o, an_cons_result *out,
                        an_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = an_cons_check(d, err);
    if (rc < 0) return rc;
    if (!(o->tol >= 0) || o->max_iter < 1 || !(o->smoothing >= 0) || !isfinite(o->smoothing))
        return an_err_set(err, AN_EINVAL, "options",
                          "Dawid-Skene needs tol >= 0, max_iter >= 1 and a finite smoothing "
                          ">= 0");
    size_t K = d->classes, A = d->annotators, N = d->items;
    size_t AKK = A * K * K;
    result_alloc(d, AN_CONS_DAWID_SKENE, out);
    out->converged = false;
    out->posterior = an_xmalloc((N ? N * K : 1) * sizeof *out->posterior);
    out->prior = an_xmalloc(K * sizeof *out->prior);
    out->confusion = an_xmalloc((AKK ? AKK : 1) * sizeof *out->confusion);
    double *acc = an_xcalloc(AKK ? AKK : 1, sizeof *acc);
    double *logc = an_xmalloc((AKK ? AKK : 1) * sizeof *logc);
    double *pacc = an_xcalloc(K, sizeof *pacc);
    double *logp = an_xmalloc(K * sizeof *logp);
    double *lp = an_xmalloc(K * sizeof *lp);
    double *ll_prev = an_xmalloc((N ? N : 1) * sizeof *ll_prev);

    /* Start from the vote shares (Dawid & Skene's eq. 3.1): expected counts directly. */
    for (size_t i = 0; i < N; i++) {
        size_t b = d->item_start[i], e = d->item_start[i + 1];
        if (e == b) {
            for (size_t j = 0; j < K; j++)
                pacc[j] += 1.0 / (double)K;
            continue;
        }
        double w = 1.0 / (double)(e - b);
        for (size_t k = b; k < e; k++) {
            pacc[d->cls[k]] += w;
            size_t a = d->annotator[k];
            out->annotator_labels[a]++;
            for (size_t k2 = b; k2 < e; k2++)
                acc[(a * K + d->cls[k]) * K + d->cls[k2]] += w;
        }
    }

    int it = 0;
    double ll_total = 0;
    for (it = 1; it <= o->max_iter; it++) {
        m_step(A, K, N, o->smoothing, acc, pacc, out->prior, out->confusion, logp, logc);
        memset(acc, 0, (AKK ? AKK : 1) * sizeof *acc);
        memset(pacc, 0, K * sizeof *pacc);
        double max_change = 0;
        ll_total = 0;
        for (size_t i = 0; i < N; i++) {
            size_t b = d->item_start[i], e = d->item_start[i + 1];
            memcpy(lp, logp, K * sizeof *lp);
            for (size_t k = b; k < e; k++) {
                const double *row = logc + ((size_t)d->annotator[k] * K + d->cls[k]) * K;
                for (size_t j = 0; j < K; j++)
                    lp[j] += row[j];
            }
            double mx = lp[0];
            for (size_t j = 1; j < K; j++)
                if (lp[j] > mx) mx = lp[j];
            if (mx == -INFINITY) {
                char where[64];
                snprintf(where, sizeof where, "item %zu", i);
                rc = an_err_set(err, AN_EINVAL, where,
                                "the item's labels are impossible under every class with "
                                "smoothing 0; use a smoothing above 0");
                goto fail;
            }
            double *t = out->posterior + i * K;
            double sum = 0;
            for (size_t j = 0; j < K; j++) {
                t[j] = exp(lp[j] - mx);
                sum += t[j];
            }
            double inv = 1.0 / sum;
            for (size_t j = 0; j < K; j++) {
                t[j] *= inv;
                pacc[j] += t[j];
            }
            for (size_t k = b; k < e; k++) {
                double *arow = acc + ((size_t)d->annotator[k] * K + d->cls[k]) * K;
                for (size_t j = 0; j < K; j++)
                    arow[j] += t[j];
            }
            double ll = mx + log(sum);
            ll_total += ll;
            if (it > 1) {
                double ch = fabs(ll - ll_prev[i]);
                if (ch > max_change) max_change = ch;
            }
            ll_prev[i] = ll;
        }
        out->iterations = it;
        if (it > 1 && max_change < o->tol) {
            out->converged = true;
            break;
        }
    }
    out->log_likelihood = ll_total;

    ties t = {0};
    for (size_t i = 0; i < N; i++) {
        const double *p = out->posterior + i * K;
        size_t best = 0;
        for (size_t j = 1; j < K; j++)
            if (p[j] > p[best]) best = j;
        out->tie_start[i] = t.n;
        size_t n_top = 0;
        for (size_t j = 0; j < K; j++)
            if (p[j] == p[best]) n_top++;
        out->confidence[i] = p[best];
        if (n_top > 1) {
            for (size_t j = 0; j < K; j++)
                if (p[j] == p[best]) ties_add(&t, (uint32_t)j);
            out->n_ties++;
            out->label[i] = o->tie_lowest ? (int32_t)best : AN_CONS_NONE;
        } else {
            out->label[i] = (int32_t)best;
        }
    }
    out->tie_start[N] = t.n;
    out->tie = t.v;
    for (size_t a = 0; a < A; a++) {
        if (!out->annotator_labels[a]) {
            out->accuracy[a] = NAN;
            continue;
        }
        double s = 0;
        for (size_t j = 0; j < K; j++)
            s += out->prior[j] * out->confusion[(a * K + j) * K + j];
        out->accuracy[a] = s;
    }
    rc = 0;
    goto done;
fail:
    an_cons_result_free(out);
done:
    free(acc);
    free(logc);
    free(pacc);
    free(logp);
    free(lp);
    free(ll_prev);
    return rc;
}

int an_cons_run(const an_cons_data *d, an_cons_method m, const an_cons_opts *o,
                an_cons_result *out, an_err *err)
{
    if (m == AN_CONS_DAWID_SKENE) return an_cons_dawid_skene(d, o, out, err);
    return an_cons_majority(d, o, out, err);
}

/* ---- accuracy against gold ------------------------------------------------------------------ */

int an_cons_gold(const an_cons_data *d, const int32_t *gold, size_t *seen, size_t *correct,
                 an_err *err)
{
    int rc = an_cons_check(d, err);
    if (rc < 0) return rc;
    memset(seen, 0, d->annotators * sizeof *seen);
    memset(correct, 0, d->annotators * sizeof *correct);
    for (size_t i = 0; i < d->items; i++) {
        if (gold[i] == AN_CONS_NONE) continue;
        if (gold[i] < 0 || (size_t)gold[i] >= d->classes) {
            char where[64];
            snprintf(where, sizeof where, "gold[%zu]", i);
            return an_err_set(err, AN_EINVAL, where, "gold class %d is out of range (%zu "
                              "classes)", (int)gold[i], d->classes);
        }
        for (size_t k = d->item_start[i]; k < d->item_start[i + 1]; k++) {
            seen[d->annotator[k]]++;
            if ((int32_t)d->cls[k] == gold[i]) correct[d->annotator[k]]++;
        }
    }
    return 0;
}

/* ---- boxes ------------------------------------------------------------------------------------ */

typedef struct cluster {
    size_t n, cap; /* members: box indices */
    size_t *member;
    an_rect mean;
} cluster;

static double box_weight(const an_cons_box_opts *o, uint32_t a)
{
    return o->weight ? o->weight[a] : 1.0;
}

static void cluster_mean(const an_cons_box *boxes, const an_cons_box_opts *o, cluster *c)
{
    double wsum = 0;
    for (size_t m = 0; m < c->n; m++)
        wsum += box_weight(o, boxes[c->member[m]].annotator);
    an_rect r = {0, 0, 0, 0, 0};
    for (size_t m = 0; m < c->n; m++) {
        const an_rect *b = &boxes[c->member[m]].rect;
        double w = wsum > 0 ? box_weight(o, boxes[c->member[m]].annotator) / wsum
                            : 1.0 / (double)c->n;
        r.x += w * b->x;
        r.y += w * b->y;
        r.w += w * b->w;
        r.h += w * b->h;
        r.rotation += w * b->rotation;
    }
    c->mean = r;
}

static void cluster_add(cluster *c, size_t box)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4;
        c->member = an_xrealloc(c->member, c->cap * sizeof *c->member);
    }
    c->member[c->n++] = box;
}

int an_cons_boxes(const an_cons_box *boxes, size_t n, const an_cons_box_opts *o,
                  an_cons_merged **out, size_t *n_out, an_err *err)
{
    *out = NULL;
    *n_out = 0;
    if (o->annotators == 0 || o->annotators > AN_CONS_MAX_ANNOTATORS || !(o->iou >= 0) ||
        o->iou > 1)
        return an_err_set(err, AN_EINVAL, "options",
                          "box consensus needs 1 to %d annotators and an IoU threshold in "
                          "0..1",
                          AN_CONS_MAX_ANNOTATORS);
    for (size_t i = 0; i < n; i++) {
        const an_cons_box *b = &boxes[i];
        char where[64];
        snprintf(where, sizeof where, "boxes[%zu]", i);
        if (b->annotator >= o->annotators)
            return an_err_set(err, AN_EINVAL, where, "annotator %u is out of range",
                              (unsigned)b->annotator);
        if (b->label != AN_CONS_NONE && (b->label < 0 || (size_t)b->label >= o->classes))
            return an_err_set(err, AN_EINVAL, where, "label %d is out of range", (int)b->label);
        if (!isfinite(b->rect.x) || !isfinite(b->rect.y) || !isfinite(b->rect.w) ||
            !isfinite(b->rect.h) || !isfinite(b->rect.rotation))
            return an_err_set(err, AN_EINVAL, where, "the rectangle is not finite");
        if (o->weight && !(o->weight[b->annotator] >= 0))
            return an_err_set(err, AN_EINVAL, "weight",
                              "annotator %u's weight must be a number >= 0",
                              (unsigned)b->annotator);
    }
    size_t quorum = o->quorum ? o->quorum : (o->annotators + 1) / 2;

    /* Boxes by annotator, stable. */
    size_t *start = an_xcalloc(o->annotators + 1, sizeof *start);
    for (size_t i = 0; i < n; i++)
        start[boxes[i].annotator + 1]++;
    for (size_t a = 0; a < o->annotators; a++)
        start[a + 1] += start[a];
    size_t *by = an_xmalloc((n ? n : 1) * sizeof *by);
    size_t *next = an_xmalloc((o->annotators + 1) * sizeof *next);
    memcpy(next, start, (o->annotators + 1) * sizeof *next);
    for (size_t i = 0; i < n; i++)
        by[next[boxes[i].annotator]++] = i;
    free(next);

    cluster *cl = NULL;
    size_t ncl = 0, capcl = 0;
    double *score = NULL;
    int *match = NULL;
    size_t cap_score = 0, cap_match = 0;
    for (size_t a = 0; a < o->annotators; a++) {
        size_t nb = start[a + 1] - start[a];
        if (!nb) continue;
        const size_t *mine = by + start[a];
        if (nb * (ncl ? ncl : 1) > cap_score) {
            cap_score = nb * (ncl ? ncl : 1);
            score = an_xrealloc(score, cap_score * sizeof *score);
        }
        if (nb > cap_match) {
            cap_match = nb;
            match = an_xrealloc(match, cap_match * sizeof *match);
        }
        for (size_t i = 0; i < nb; i++)
            match[i] = -1;
        if (ncl) {
            for (size_t i = 0; i < nb; i++)
                for (size_t c = 0; c < ncl; c++)
                    score[i * ncl + c] = an_rect_iou(&boxes[mine[i]].rect, &cl[c].mean);
            /* A zero threshold would let disjoint boxes join; IoU must be positive. */
            an_assign_max(score, nb, ncl, o->iou > 0 ? o->iou : 1e-12, match);
        }
        size_t old = ncl;
        for (size_t i = 0; i < nb; i++) {
            if (match[i] >= 0) {
                cluster_add(&cl[match[i]], mine[i]);
                continue;
            }
            if (ncl == capcl) {
                capcl = capcl ? capcl * 2 : 8;
                cl = an_xrealloc(cl, capcl * sizeof *cl);
            }
            memset(&cl[ncl], 0, sizeof cl[ncl]);
            cluster_add(&cl[ncl], mine[i]);
            ncl++;
        }
        for (size_t c = 0; c < old; c++)
            cluster_mean(boxes, o, &cl[c]);
        for (size_t c = old; c < ncl; c++)
            cl[c].mean = boxes[cl[c].member[0]].rect;
    }

    size_t kept = 0;
    for (size_t c = 0; c < ncl; c++)
        kept += cl[c].n >= quorum;
    an_cons_merged *res = kept ? an_xcalloc(kept, sizeof *res) : NULL;
    size_t *votes = an_xcalloc(o->classes ? o->classes : 1, sizeof *votes);
    size_t k = 0;
    for (size_t c = 0; c < ncl; c++) {
        if (cl[c].n < quorum) continue;
        an_cons_merged *m = &res[k++];
        cluster_mean(boxes, o, &cl[c]);
        m->rect = cl[c].mean;
        m->support = cl[c].n;
        double iou = 0;
        int32_t best = AN_CONS_NONE;
        for (size_t i = 0; i < cl[c].n; i++) {
            const an_cons_box *b = &boxes[cl[c].member[i]];
            iou += an_rect_iou(&b->rect, &m->rect);
            if (b->label == AN_CONS_NONE) continue;
            votes[b->label]++;
        }
        for (size_t i = 0; i < cl[c].n; i++) {
            int32_t l = boxes[cl[c].member[i]].label;
            if (l == AN_CONS_NONE) continue;
            if (best == AN_CONS_NONE || votes[l] > votes[best] ||
                (votes[l] == votes[best] && l < best))
                best = l;
        }
        for (size_t i = 0; i < cl[c].n; i++) {
            int32_t l = boxes[cl[c].member[i]].label;
            if (l != AN_CONS_NONE) votes[l] = 0;
        }
        m->label = best;
        m->mean_iou = iou / (double)cl[c].n;
    }
    free(votes);
    for (size_t c = 0; c < ncl; c++)
        free(cl[c].member);
    free(cl);
    free(score);
    free(match);
    free(by);
    free(start);
    *out = res;
    *n_out = kept;
    return 0;
}
