/* Region-level agreement: geometry (IoU of rectangles and polygons), the Kuhn–Munkres
 * assignment, and the matchers built on it. See regions.h for the contracts. */
#include "qc/regions.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/utf8.h"

/* ---- geometry -------------------------------------------------------------------------- */

static double cross(an_pt o, an_pt a, an_pt b)
{
    return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

static double signed_area(const an_pt *p, size_t n)
{
    if (n < 3) return 0;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        const an_pt *q = &p[i], *r = &p[(i + 1) % n];
        s += q->x * r->y - r->x * q->y;
    }
    return s / 2;
}

double an_polygon_area(const an_pt *p, size_t n) { return fabs(signed_area(p, n)); }

void an_rect_corners(const an_rect *r, double aspect, an_pt out[4])
{
    if (!(aspect > 0) || !isfinite(aspect)) aspect = 1;
    double t = r->rotation * (3.14159265358979323846 / 180), c = cos(t), s = sin(t);
    if (r->rotation == 0) {
        c = 1;
        s = 0;
    }
    /* Corner (u, v) is (x, y) + u*w*(cos, sin) + v*h*(-sin, cos) in pixels; back in percent
     * the x offsets divide by the width and the y offsets by the height, hence the aspect. */
    static const int uv[4][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
    for (int k = 0; k < 4; k++) {
        double u = uv[k][0], v = uv[k][1];
        out[k].x = r->x + u * r->w * c - v * r->h * s / aspect;
        out[k].y = r->y + u * r->w * s * aspect + v * r->h * c;
    }
}

/* Clips convex polygon in[0..n) by the half-plane left of edge a->b (Sutherland–Hodgman step).
 * out has room for n + 1 points. */
static size_t clip_edge(const an_pt *in, size_t n, an_pt a, an_pt b, an_pt *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        an_pt p = in[i], q = in[(i + 1) % n];
        double dp = cross(a, b, p), dq = cross(a, b, q);
        if (dp >= 0) out[m++] = p;
        if ((dp >= 0) != (dq >= 0)) {
            double t = dp / (dp - dq);
            out[m++] = (an_pt){p.x + t * (q.x - p.x), p.y + t * (q.y - p.y)};
        }
    }
    return m;
}

/* Area of the intersection of two counter-clockwise triangles. */
static double tri_inter(const an_pt s[3], const an_pt c[3])
{
    an_pt buf1[12], buf2[12];
    size_t n = 3;
    memcpy(buf1, s, 3 * sizeof *s);
    an_pt *in = buf1, *out = buf2;
    for (int e = 0; e < 3 && n > 0; e++) {
        n = clip_edge(in, n, c[e], c[(e + 1) % 3], out);
        an_pt *t = in;
        in = out;
        out = t;
    }
    return an_polygon_area(in, n);
}

typedef struct tri {
    an_pt p[3]; /* counter-clockwise */
    double sign;
    double x0, y0, x1, y1; /* bounding box */
} tri;

/* Fan triangles (p0, p_i, p_i+1), oriented counter-clockwise with their original sign kept;
 * degenerate ones are dropped. Returns the count (at most n). */
static size_t fan(const an_pt *p, size_t n, tri *out)
{
    size_t m = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        double a = cross(p[0], p[i], p[i + 1]);
        if (a == 0 || !isfinite(a)) continue;
        tri *t = &out[m++];
        t->p[0] = p[0];
        t->p[1] = a > 0 ? p[i] : p[i + 1];
        t->p[2] = a > 0 ? p[i + 1] : p[i];
        t->sign = a > 0 ? 1 : -1;
        t->x0 = t->x1 = p[0].x;
        t->y0 = t->y1 = p[0].y;
        for (int k = 1; k < 3; k++) {
            t->x0 = fmin(t->x0, t->p[k].x);
            t->x1 = fmax(t->x1, t->p[k].x);
            t->y0 = fmin(t->y0, t->p[k].y);
            t->y1 = fmax(t->y1, t->p[k].y);
        }
    }
    return m;
}

double an_polygon_iou(const an_pt *a, size_t na, const an_pt *b, size_t nb)
{
    double sa = signed_area(a, na), sb = signed_area(b, nb);
    if (sa == 0 || sb == 0 || !isfinite(sa) || !isfinite(sb)) return 0;
    tri *ta = an_xmalloc(na * sizeof *ta), *tb = an_xmalloc(nb * sizeof *tb);
    size_t ma = fan(a, na, ta), mb = fan(b, nb, tb);
    /* The fan triangles' signed indicators sum to each polygon's winding number, so the sum
     * of signed pairwise intersections integrates the product of the winding numbers: the
     * intersection area for simple polygons, after fixing each polygon's orientation. */
    double inter = 0;
    for (size_t i = 0; i < ma; i++)
        for (size_t j = 0; j < mb; j++) {
            const tri *p = &ta[i], *q = &tb[j];
            if (p->x1 <= q->x0 || q->x1 <= p->x0 || p->y1 <= q->y0 || q->y1 <= p->y0) continue;
            inter += p->sign * q->sign * tri_inter(p->p, q->p);
        }
    free(ta);
    free(tb);
    inter *= (sa > 0 ? 1 : -1) * (sb > 0 ? 1 : -1);
    double area_a = fabs(sa), area_b = fabs(sb);
    if (inter < 0) inter = 0;
    if (inter > fmin(area_a, area_b)) inter = fmin(area_a, area_b);
    double uni = area_a + area_b - inter;
    return uni > 0 ? inter / uni : 0;
}

double an_rect_iou_aspect(const an_rect *a, const an_rect *b, double aspect)
{
    if (a->rotation == 0 && b->rotation == 0) {
        double aw = fabs(a->w), ah = fabs(a->h), bw = fabs(b->w), bh = fabs(b->h);
        double ax = a->w < 0 ? a->x + a->w : a->x, ay = a->h < 0 ? a->y + a->h : a->y;
        double bx = b->w < 0 ? b->x + b->w : b->x, by = b->h < 0 ? b->y + b->h : b->y;
        double iw = fmin(ax + aw, bx + bw) - fmax(ax, bx);
        double ih = fmin(ay + ah, by + bh) - fmax(ay, by);
        double inter = iw > 0 && ih > 0 ? iw * ih : 0;
        double uni = aw * ah + bw * bh - inter;
        double v = uni > 0 ? inter / uni : 0;
        return isfinite(v) ? v : 0;
    }
    an_pt pa[4], pb[4];
    an_rect_corners(a, aspect, pa);
    an_rect_corners(b, aspect, pb);
    return an_polygon_iou(pa, 4, pb, 4);
}

double an_rect_iou(const an_rect *a, const an_rect *b) { return an_rect_iou_aspect(a, b, 1); }

/* ---- assignment -------------------------------------------------------------------------- */

/* Kuhn–Munkres with potentials (the shortest augmenting path form), minimising cost over an
 * n x m matrix with n <= m: every row gets a distinct column. col_of_row[i] receives row i's
 * column. O(n^2 m). */
static void hungarian_min(const double *cost, size_t n, size_t m, size_t *col_of_row)
{
    double *u = an_xcalloc(n + 1, sizeof *u), *v = an_xcalloc(m + 1, sizeof *v);
    double *minv = an_xmalloc((m + 1) * sizeof *minv);
    size_t *p = an_xcalloc(m + 1, sizeof *p), *way = an_xcalloc(m + 1, sizeof *way);
    unsigned char *used = an_xmalloc(m + 1);
    for (size_t i = 1; i <= n; i++) {
        p[0] = i;
        size_t j0 = 0;
        for (size_t j = 0; j <= m; j++) minv[j] = INFINITY;
        memset(used, 0, m + 1);
        do {
            used[j0] = 1;
            size_t i0 = p[j0], j1 = 0;
            double delta = INFINITY;
            for (size_t j = 1; j <= m; j++) {
                if (used[j]) continue;
                double cur = cost[(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            for (size_t j = 0; j <= m; j++) {
                if (used[j]) {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (p[j0] != 0);
        do {
            size_t j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }
    for (size_t j = 1; j <= m; j++)
        if (p[j]) col_of_row[p[j] - 1] = j - 1;
    free(u);
    free(v);
    free(minv);
    free(p);
    free(way);
    free(used);
}

static bool allowed(double s, double min_score) { return !isnan(s) && s >= min_score; }

size_t an_assign_max(const double *score, size_t na, size_t nb, double min_score, int *match_a)
{
    for (size_t i = 0; i < na; i++) match_a[i] = -1;
    if (na == 0 || nb == 0) return 0;
    /* Rows are the shorter side. A forbidden pair costs as much as no pair (score 0), so the
     * optimum over the full matrix, with forbidden pairs dropped, is the optimum over allowed
     * pairs. */
    bool tr = na > nb;
    size_t n = tr ? nb : na, m = tr ? na : nb;
    double *cost = an_xmalloc(n * m * sizeof *cost);
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < m; c++) {
            double s = tr ? score[c * nb + r] : score[r * nb + c];
            cost[r * m + c] = allowed(s, min_score) ? -s : 0;
        }
    size_t *col = an_xmalloc(n * sizeof *col);
    hungarian_min(cost, n, m, col);
    size_t matched = 0;
    for (size_t r = 0; r < n; r++) {
        size_t i = tr ? col[r] : r, j = tr ? r : col[r];
        double s = score[i * nb + j];
        if (allowed(s, min_score)) {
            match_a[i] = (int)j;
            matched++;
        }
    }
    free(cost);
    free(col);
    return matched;
}

/* ---- matchers ------------------------------------------------------------------------------ */

static void finish(an_match_stats *o, size_t na, size_t nb, size_t matched, double sum,
                   size_t paired)
{
    o->n_a = na;
    o->n_b = nb;
    o->matched = matched;
    o->precision = nb ? (double)matched / (double)nb : 1;
    o->recall = na ? (double)matched / (double)na : 1;
    o->f1 = na + nb ? 2.0 * (double)matched / (double)(na + nb) : 1;
    o->paired = paired;
    o->mean = paired ? sum / (double)paired : NAN;
}

static bool same_label(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

an_region_opts an_region_opts_default(void) { return (an_region_opts){0.5, false, 1}; }

static double region_iou(const an_region *a, const an_region *b, double aspect)
{
    if (a->kind == AN_REGION_RECT && b->kind == AN_REGION_RECT)
        return an_rect_iou_aspect(&a->rect, &b->rect, aspect);
    an_pt ca[4], cb[4];
    const an_pt *pa = a->pts, *pb = b->pts;
    size_t na = a->n_pts, nb = b->n_pts;
    if (a->kind == AN_REGION_RECT) {
        an_rect_corners(&a->rect, aspect, ca);
        pa = ca;
        na = 4;
    }
    if (b->kind == AN_REGION_RECT) {
        an_rect_corners(&b->rect, aspect, cb);
        pb = cb;
        nb = 4;
    }
    return an_polygon_iou(pa, na, pb, nb);
}

void an_regions_match(const an_region *a, size_t na, const an_region *b, size_t nb,
                      const an_region_opts *opts, an_match_stats *out, int *match_a)
{
    an_region_opts o = opts ? *opts : an_region_opts_default();
    /* A pair needs some overlap, whatever the threshold. */
    double thr = o.iou > 0 ? o.iou : DBL_MIN;
    double *score = an_xmalloc((na && nb ? na * nb : 1) * sizeof *score);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            score[i * nb + j] = o.ignore_labels || same_label(a[i].label, b[j].label)
                                    ? region_iou(&a[i], &b[j], o.aspect)
                                    : -1;
    int *m = an_xmalloc((na ? na : 1) * sizeof *m);
    size_t matched = an_assign_max(score, na, nb, thr, m);
    double sum = 0;
    for (size_t i = 0; i < na; i++)
        if (m[i] >= 0) sum += score[i * nb + (size_t)m[i]];
    finish(out, na, nb, matched, sum, matched);
    if (match_a) memcpy(match_a, m, na * sizeof *m);
    free(m);
    free(score);
}

void an_spans_match(const an_span *a, size_t na, const an_span *b, size_t nb, bool exact,
                    an_match_stats *out)
{
    /* Overlap mode: K + Jaccard with K above the largest possible number of pairs makes one
     * more pair worth more than any gain in overlap, so the assignment first maximises the
     * number of pairs. */
    double k = (double)(na < nb ? na : nb) + 1;
    double *score = an_xmalloc((na && nb ? na * nb : 1) * sizeof *score);
    double *jac = an_xmalloc((na && nb ? na * nb : 1) * sizeof *jac);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++) {
            const an_span *p = &a[i], *q = &b[j];
            double s = -1, jc = 0;
            if (same_label(p->label, q->label)) {
                if (exact) {
                    if (p->start == q->start && p->end == q->end) {
                        s = 1;
                        jc = 1;
                    }
                } else {
                    double inter = fmin(p->end, q->end) - fmax(p->start, q->start);
                    double uni = fmax(p->end, q->end) - fmin(p->start, q->start);
                    if (inter > 0 && uni > 0) {
                        jc = inter / uni;
                        s = k + jc;
                    }
                }
            }
            score[i * nb + j] = s;
            jac[i * nb + j] = jc;
        }
    int *m = an_xmalloc((na ? na : 1) * sizeof *m);
    size_t matched = an_assign_max(score, na, nb, 1, m);
    double sum = 0;
    for (size_t i = 0; i < na; i++)
        if (m[i] >= 0) sum += jac[i * nb + (size_t)m[i]];
    finish(out, na, nb, matched, sum, matched);
    free(m);
    free(score);
    free(jac);
}

double an_keypoint_distance(const an_keypoint *a, const an_keypoint *b, double aspect)
{
    if (!(aspect > 0) || !isfinite(aspect)) aspect = 1;
    /* In pixels dx scales by the width and dy by the height; the diagonal is
     * height * sqrt(aspect^2 + 1). */
    double dx = (a->x - b->x) * aspect, dy = a->y - b->y;
    return sqrt(dx * dx + dy * dy) / sqrt(aspect * aspect + 1);
}

void an_keypoints_match(const an_keypoint *a, size_t na, const an_keypoint *b, size_t nb,
                        double max_dist, double aspect, an_match_stats *out)
{
    size_t cells = na && nb ? na * nb : 1;
    double *dist = an_xmalloc(cells * sizeof *dist), *score = an_xmalloc(cells * sizeof *score);
    double dmax = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++) {
            double d = same_label(a[i].label, b[j].label)
                           ? an_keypoint_distance(&a[i], &b[j], aspect)
                           : NAN;
            dist[i * nb + j] = d;
            if (isfinite(d) && d > dmax) dmax = d;
        }
    /* K - d/D with D above every distance: as many pairs as possible, then the least total
     * distance (the same argument as for spans). */
    double k = (double)(na < nb ? na : nb) + 1, big = dmax + 1;
    for (size_t c = 0; c < na * nb; c++)
        score[c] = isfinite(dist[c]) ? k - dist[c] / big : -1;
    int *m = an_xmalloc((na ? na : 1) * sizeof *m);
    size_t paired = an_assign_max(score, na, nb, 1e-9, m);
    size_t within = 0;
    double sum = 0;
    for (size_t i = 0; i < na; i++) {
        if (m[i] < 0) continue;
        double d = dist[i * nb + (size_t)m[i]];
        sum += d;
        if (d <= max_dist) within++;
    }
    finish(out, na, nb, within, sum, paired);
    free(m);
    free(dist);
    free(score);
}

/* ---- character error rate -------------------------------------------------------------------- */

static int32_t *decode(const char *s, size_t len, size_t *n)
{
    size_t count = an_utf8_count(s, len), i = 0, k = 0;
    int32_t *cp = an_xmalloc((count ? count : 1) * sizeof *cp);
    while (i < len && k < count) cp[k++] = an_utf8_next(s, len, &i);
    *n = k;
    return cp;
}

int an_cer(const char *a, size_t alen, const char *b, size_t blen, bool symmetric, double *out,
           size_t *edits, an_err *err)
{
    if (!an_utf8_valid(a, alen))
        return an_err_set(err, AN_EINVAL, "text a", "not valid UTF-8; fix the text's encoding");
    if (!an_utf8_valid(b, blen))
        return an_err_set(err, AN_EINVAL, "text b", "not valid UTF-8; fix the text's encoding");
    size_t na, nb;
    int32_t *ca = decode(a, alen, &na), *cb = decode(b, blen, &nb);
    int rc = 0;
    if (na && nb && (unsigned long long)na * nb > AN_CER_MAX_CELLS) {
        rc = an_err_set(err, AN_EINVAL, "text",
                        "texts of %zu and %zu characters are too long to compare (limit %llu "
                        "character pairs); compare shorter texts",
                        na, nb, AN_CER_MAX_CELLS);
    } else if (!symmetric && na == 0 && nb > 0) {
        rc = an_err_set(err, AN_EINVAL, "text a",
                        "the reference is empty, so the error rate is undefined; use the "
                        "symmetric rate");
    }
    if (rc < 0) {
        free(ca);
        free(cb);
        return rc;
    }
    /* Two rows of the Levenshtein table over b. */
    size_t *prev = an_xmalloc((nb + 1) * sizeof *prev), *cur = an_xmalloc((nb + 1) * sizeof *cur);
    for (size_t j = 0; j <= nb; j++) prev[j] = j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t best = prev[j - 1] + (ca[i - 1] != cb[j - 1]);
            if (prev[j] + 1 < best) best = prev[j] + 1;
            if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
            cur[j] = best;
        }
        size_t *t = prev;
        prev = cur;
        cur = t;
    }
    size_t d = prev[nb];
    free(prev);
    free(cur);
    free(ca);
    free(cb);
    size_t den = symmetric ? (na > nb ? na : nb) : na;
    if (edits) *edits = d;
    *out = den ? (double)d / (double)den : 0;
    return 0;
}
