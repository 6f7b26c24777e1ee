/* OpenCV cascades in C: loading (libxml2) and detectMultiScale. See cascade.h.
 *
 * Matching OpenCV's rectangles exactly depends on details that look arbitrary, so they are
 * kept here on purpose and named where they occur: float (not double) scale factors per level,
 * cvRound (round half to even: lrint/lrintf), the 8.8 fixed-point resize, 32-bit wrapping
 * integral images, float feature sums times a float normalisation factor, double stage sums
 * compared with float thresholds lowered by 1e-5, the row stripes OpenCV splits each level
 * into (their size is a multiple of the step, but they can leave the last odd row out). */
#include "preanno/cascade.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "base/buf.h"

enum { FEAT_HAAR = 1, FEAT_LBP = 2 };

typedef struct hrect {
    int x, y, w, h;
    float weight;
} hrect;

typedef struct feature {
    hrect r[3]; /* HAAR: up to three weighted rectangles (weight 0 when absent) */
    bool tilted;
    int lx, ly, lw, lh; /* LBP: the top-left cell of the 3x3 block grid */
} feature;

typedef struct node {
    int left, right; /* > 0: a node of the same tree; <= 0: leaf -value */
    int feature;
    float threshold;
} node;

typedef struct tree {
    int first_node, n_nodes, first_leaf;
} tree;

typedef struct stage {
    int first_tree, n_trees;
    float threshold;
} stage;

struct an_cascade {
    int type;
    int win_w, win_h;
    int subset_size; /* LBP: 32-bit words of category bits per node */
    stage *stages;
    size_t n_stages;
    tree *trees;
    size_t n_trees;
    node *nodes;
    size_t n_nodes;
    float *leaves;
    size_t n_leaves;
    int32_t *subsets; /* n_nodes * subset_size */
    feature *features;
    size_t n_features;
    bool has_tilted;
    bool all_stumps; /* every tree is a single node (HAAR: evaluated as OpenCV's stumps) */
};

/* ---- loading ------------------------------------------------------------------------------ */

typedef struct loader {
    const char *path;
    an_err *err;
} loader;

static int bad(loader *l, const char *elem, const char *what)
{
    char where[512];
    snprintf(where, sizeof where, "%s:%s", l->path, elem);
    return an_err_set(l->err, AN_EINVAL, where,
                      "%s; give an OpenCV cascade file in the new format (as opencv-data ships "
                      "under /usr/share/opencv4/haarcascades)",
                      what);
}

static xmlNode *child(xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0) return c;
    return NULL;
}

static xmlNode *first_elem(xmlNode *n)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE) return n;
    return NULL;
}

static size_t count_elems(xmlNode *n)
{
    size_t k = 0;
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE) k++;
    return k;
}

/* The whitespace-separated numbers of an element's text into v[0..*n) (at most cap). */
static int numbers(loader *l, xmlNode *n, const char *elem, double *v, size_t cap, size_t *k)
{
    *k = 0;
    xmlChar *text = n ? xmlNodeGetContent(n) : NULL;
    if (!text) return bad(l, elem, "the element is missing");
    const char *s = (const char *)text;
    int rc = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
        if (!*s) break;
        char *end;
        errno = 0;
        double d = strtod(s, &end);
        if (end == s || errno || !isfinite(d) || *k >= cap) {
            rc = bad(l, elem, *k >= cap ? "the element holds too many numbers"
                                        : "the element holds something that is not a number");
            break;
        }
        v[(*k)++] = d;
        s = end;
    }
    xmlFree(text);
    return rc;
}

static int int_of(loader *l, xmlNode *parent, const char *name, long lo, long hi, int *out)
{
    double v[1];
    size_t k;
    int rc = numbers(l, child(parent, name), name, v, 1, &k);
    if (rc) return rc;
    if (k != 1 || v[0] != floor(v[0]) || v[0] < lo || v[0] > hi)
        return bad(l, name, "the element is not a whole number in range");
    *out = (int)v[0];
    return 0;
}

static bool text_is(xmlNode *n, const char *want)
{
    xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
    if (!t) return false;
    const char *s = (const char *)t;
    while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') s++;
    size_t len = strlen(want);
    bool ok = strncmp(s, want, len) == 0;
    for (s += ok ? len : 0; ok && *s; s++)
        if (!(*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) ok = false;
    xmlFree(t);
    return ok;
}

enum { MAX_TREE_NODES = 1024, MAX_ITEMS = 1 << 22 };

static int load_stages(loader *l, an_cascade *c, xmlNode *stages_el)
{
    size_t ns = count_elems(stages_el);
    if (ns == 0 || ns > 1000) return bad(l, "stages", "the cascade has no stages or too many");
    c->stages = an_xcalloc(ns, sizeof *c->stages);
    size_t cap_trees = 64, cap_nodes = 64, cap_leaves = 128, cap_sub = 64;
    c->trees = an_xmalloc(cap_trees * sizeof *c->trees);
    c->nodes = an_xmalloc(cap_nodes * sizeof *c->nodes);
    c->leaves = an_xmalloc(cap_leaves * sizeof *c->leaves);
    c->subsets = c->subset_size ? an_xmalloc(cap_sub * sizeof *c->subsets) : NULL;
    int node_step = 3 + (c->subset_size ? c->subset_size : 1);
    double *v = an_xmalloc((size_t)MAX_TREE_NODES * (size_t)node_step * sizeof *v);
    int rc = 0;
    for (xmlNode *s = stages_el->children; s && !rc; s = s->next) {
        if (s->type != XML_ELEMENT_NODE) continue;
        stage *st = &c->stages[c->n_stages];
        double thr[1];
        size_t k;
        rc = numbers(l, child(s, "stageThreshold"), "stageThreshold", thr, 1, &k);
        if (!rc && k != 1) rc = bad(l, "stageThreshold", "a stage needs one threshold");
        if (rc) break;
        /* OpenCV lowers every stage threshold by 1e-5 in float. */
        st->threshold = (float)thr[0] - 1e-5f;
        st->first_tree = (int)c->n_trees;
        xmlNode *weak = child(s, "weakClassifiers");
        if (!weak || count_elems(weak) == 0) {
            rc = bad(l, "weakClassifiers", "a stage has no weak classifiers");
            break;
        }
        for (xmlNode *w = weak->children; w && !rc; w = w->next) {
            if (w->type != XML_ELEMENT_NODE) continue;
            size_t nv, nl;
            rc = numbers(l, child(w, "internalNodes"), "internalNodes", v,
                         (size_t)MAX_TREE_NODES * (size_t)node_step, &nv);
            if (rc) break;
            if (nv == 0 || nv % (size_t)node_step) {
                rc = bad(l, "internalNodes", "the node list does not fit the feature type");
                break;
            }
            int nn = (int)(nv / (size_t)node_step);
            double lv[MAX_TREE_NODES + 1];
            rc = numbers(l, child(w, "leafValues"), "leafValues", lv, MAX_TREE_NODES + 1, &nl);
            if (rc) break;
            if (nl != (size_t)nn + 1) {
                rc = bad(l, "leafValues", "a tree needs one leaf more than it has nodes");
                break;
            }
            if (c->n_trees + 1 > cap_trees) {
                cap_trees *= 2;
                c->trees = an_xrealloc(c->trees, cap_trees * sizeof *c->trees);
            }
            while (c->n_nodes + (size_t)nn > cap_nodes) {
                cap_nodes *= 2;
                c->nodes = an_xrealloc(c->nodes, cap_nodes * sizeof *c->nodes);
            }
            while (c->n_leaves + nl > cap_leaves) {
                cap_leaves *= 2;
                c->leaves = an_xrealloc(c->leaves, cap_leaves * sizeof *c->leaves);
            }
            if (c->subset_size)
                while ((c->n_nodes + (size_t)nn) * (size_t)c->subset_size > cap_sub) {
                    cap_sub *= 2;
                    c->subsets = an_xrealloc(c->subsets, cap_sub * sizeof *c->subsets);
                }
            if (c->n_nodes + (size_t)nn > MAX_ITEMS) {
                rc = bad(l, "internalNodes", "the cascade has too many nodes");
                break;
            }
            tree *t = &c->trees[c->n_trees++];
            t->first_node = (int)c->n_nodes;
            t->n_nodes = nn;
            t->first_leaf = (int)c->n_leaves;
            for (int i = 0; i < nn && !rc; i++) {
                const double *p = v + (size_t)i * (size_t)node_step;
                node *nd = &c->nodes[c->n_nodes + (size_t)i];
                bool whole = p[0] == floor(p[0]) && p[1] == floor(p[1]) && p[2] == floor(p[2]);
                /* Children: another node of this tree (1..nn-1, later nodes only, so a walk
                 * ends) or a leaf (0..-nn). */
                bool kids_ok = whole && p[0] <= nn - 1 && p[0] >= -nn && p[1] <= nn - 1 &&
                               p[1] >= -nn && (p[0] <= 0 || p[0] > i) && (p[1] <= 0 || p[1] > i);
                if (!kids_ok || p[2] < 0 || p[2] >= (double)INT_MAX) {
                    rc = bad(l, "internalNodes", "a node names a child or feature out of range");
                    break;
                }
                nd->left = (int)p[0];
                nd->right = (int)p[1];
                nd->feature = (int)p[2];
                if (c->subset_size) {
                    nd->threshold = 0.f;
                    for (int j = 0; j < c->subset_size; j++)
                        c->subsets[(c->n_nodes + (size_t)i) * (size_t)c->subset_size +
                                   (size_t)j] = (int32_t)(int64_t)p[3 + j];
                } else {
                    nd->threshold = (float)p[3];
                }
            }
            if (rc) break;
            for (size_t i = 0; i < nl; i++) c->leaves[c->n_leaves + i] = (float)lv[i];
            c->n_nodes += (size_t)nn;
            c->n_leaves += nl;
        }
        st->n_trees = (int)c->n_trees - st->first_tree;
        c->n_stages++;
    }
    free(v);
    return rc;
}

static int load_features(loader *l, an_cascade *c, xmlNode *feats)
{
    size_t nf = count_elems(feats);
    if (nf == 0 || nf > MAX_ITEMS) return bad(l, "features", "the cascade lists no features");
    c->features = an_xcalloc(nf, sizeof *c->features);
    int W = c->win_w, H = c->win_h;
    for (xmlNode *f = feats->children; f; f = f->next) {
        if (f->type != XML_ELEMENT_NODE) continue;
        feature *ft = &c->features[c->n_features++];
        if (c->type == FEAT_LBP) {
            double v[4];
            size_t k;
            int rc = numbers(l, child(f, "rect"), "rect", v, 4, &k);
            if (rc) return rc;
            if (k != 4 || v[0] < 0 || v[1] < 0 || v[2] < 1 || v[3] < 1 ||
                v[0] + 3 * v[2] > W || v[1] + 3 * v[3] > H)
                return bad(l, "rect", "an LBP feature does not lie inside the window");
            ft->lx = (int)v[0];
            ft->ly = (int)v[1];
            ft->lw = (int)v[2];
            ft->lh = (int)v[3];
            continue;
        }
        xmlNode *rects = child(f, "rects");
        size_t nr = count_elems(rects);
        if (nr < 1 || nr > 3) return bad(l, "rects", "a HAAR feature needs one to three rects");
        xmlNode *t = child(f, "tilted");
        ft->tilted = t && !text_is(t, "0");
        if (ft->tilted) c->has_tilted = true;
        int ri = 0;
        for (xmlNode *r = rects->children; r; r = r->next) {
            if (r->type != XML_ELEMENT_NODE) continue;
            double v[5];
            size_t k;
            int rc = numbers(l, r, "rects", v, 5, &k);
            if (rc) return rc;
            if (k != 5) return bad(l, "rects", "a rect needs x, y, width, height and weight");
            int x = (int)v[0], y = (int)v[1], w = (int)v[2], h = (int)v[3];
            bool inside;
            if (ft->tilted) /* corners (x,y) (x-h,y+h) (x+w,y+w) (x+w-h,y+w+h) */
                inside = v[0] >= 0 && v[1] >= 0 && v[2] >= 0 && v[3] >= 0 && x - h >= 0 &&
                         x + w <= W && y + w + h <= H && v[0] <= W && v[1] <= H;
            else
                inside = v[0] >= 0 && v[1] >= 0 && v[2] >= 0 && v[3] >= 0 && v[0] + v[2] <= W &&
                         v[1] + v[3] <= H;
            if (!inside) return bad(l, "rects", "a feature rectangle does not lie inside the window");
            ft->r[ri] = (hrect){x, y, w, h, (float)v[4]};
            ri++;
        }
    }
    for (size_t i = 0; i < c->n_nodes; i++)
        if ((size_t)c->nodes[i].feature >= c->n_features)
            return bad(l, "internalNodes", "a node names a feature the file does not have");
    return 0;
}

int an_cascade_load(const char *path, an_cascade **out, an_err *err)
{
    *out = NULL;
    loader l = {path, err};
    FILE *f = fopen(path, "rb");
    if (!f)
        return an_err_set(err, AN_EIO, path, "cannot open the cascade file: %s", strerror(errno));
    fclose(f);
    xmlDoc *doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                              XML_PARSE_NOWARNING | XML_PARSE_HUGE);
    if (!doc) return bad(&l, "xml", "the file is not well-formed XML");
    an_cascade *c = an_xcalloc(1, sizeof *c);
    int rc = 0;
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *cas = root ? first_elem(root->children) : NULL;
    if (!root || strcmp((const char *)root->name, "opencv_storage") != 0 || !cas)
        rc = bad(&l, "opencv_storage", "the file is not an OpenCV storage file");
    else if (!child(cas, "stageType"))
        rc = bad(&l, (const char *)cas->name,
                 "this is the old haartraining format, which is not supported");
    else if (!text_is(child(cas, "stageType"), "BOOST"))
        rc = bad(&l, "stageType", "only BOOST cascades are supported");
    else if (text_is(child(cas, "featureType"), "HAAR"))
        c->type = FEAT_HAAR;
    else if (text_is(child(cas, "featureType"), "LBP"))
        c->type = FEAT_LBP;
    else
        rc = bad(&l, "featureType", "only HAAR and LBP features are supported");
    if (!rc) rc = int_of(&l, cas, "width", 3, 1000, &c->win_w);
    if (!rc) rc = int_of(&l, cas, "height", 3, 1000, &c->win_h);
    int ncat = 0;
    if (!rc && child(cas, "featureParams"))
        rc = int_of(&l, child(cas, "featureParams"), "maxCatCount", 0, 256, &ncat);
    if (!rc && (c->type == FEAT_LBP) != (ncat > 0))
        rc = bad(&l, "maxCatCount", "LBP cascades have 256 categories, HAAR cascades none");
    if (!rc) {
        c->subset_size = (ncat + 31) / 32;
        xmlNode *st = child(cas, "stages");
        rc = st ? load_stages(&l, c, st) : bad(&l, "stages", "the element is missing");
    }
    if (!rc) {
        xmlNode *fe = child(cas, "features");
        rc = fe ? load_features(&l, c, fe) : bad(&l, "features", "the element is missing");
    }
    xmlFreeDoc(doc);
    if (rc) {
        an_cascade_free(c);
        return rc;
    }
    c->all_stumps = true;
    for (size_t i = 0; i < c->n_trees; i++)
        if (c->trees[i].n_nodes != 1) c->all_stumps = false;
    *out = c;
    return 0;
}

void an_cascade_free(an_cascade *c)
{
    if (!c) return;
    free(c->stages);
    free(c->trees);
    free(c->nodes);
    free(c->leaves);
    free(c->subsets);
    free(c->features);
    free(c);
}

void an_cascade_window(const an_cascade *c, int *width, int *height)
{
    *width = c->win_w;
    *height = c->win_h;
}

/* ---- resize (INTER_LINEAR_EXACT) ---------------------------------------------------------- */

/* Source offsets and 8.8 fixed-point weights along one axis, and the range [lo, hi) of
 * destination positions that interpolate (before lo: the first source pixel; from hi on: the
 * last). */
static void axis_coeffs(int ssize, int dsize, int *ofs, uint16_t *cw, int *lo, int *hi)
{
    double inv = (double)dsize / ssize;
    double scale = 1.0 / inv;
    *lo = 0;
    *hi = dsize;
    for (int d = 0; d < dsize; d++) {
        double f = scale * ((double)d + 0.5) - 0.5;
        int i = (int)floor(f);
        ofs[d] = 0;
        cw[2 * d] = 256;
        cw[2 * d + 1] = 0;
        if (i >= 0 && ssize > 1) {
            if (i < ssize - 1) {
                ofs[d] = i;
                long w1 = lrint((f - (double)i) * 256.0);
                cw[2 * d + 1] = (uint16_t)w1;
                cw[2 * d] = (uint16_t)(w1 < 256 ? 256 - w1 : 0);
            } else {
                ofs[d] = ssize - 1;
                if (d < *hi) *hi = d;
            }
        } else if (d + 1 > *lo) {
            *lo = d + 1;
        }
    }
}

static void hline(const uint8_t *s, const int *ofs, const uint16_t *cw, int lo, int hi, int dw,
                  uint16_t *out)
{
    int i = 0;
    for (; i < lo && i < dw; i++) out[i] = (uint16_t)(s[0] << 8);
    for (; i < hi; i++) {
        uint32_t v = (uint32_t)cw[2 * i] * s[ofs[i]] + (uint32_t)cw[2 * i + 1] * s[ofs[i] + 1];
        out[i] = (uint16_t)(v > 0xFFFF ? 0xFFFF : v);
    }
    if (i < dw) {
        uint16_t last = (uint16_t)(s[ofs[dw - 1]] << 8);
        for (; i < dw; i++) out[i] = last;
    }
}

static uint8_t round8(uint16_t v)
{
    uint32_t r = ((uint32_t)v + 128) >> 8;
    return (uint8_t)(r > 255 ? 255 : r);
}

void an_resize_linear_exact(const uint8_t *src, int sw, int sh, size_t sstride, uint8_t *dst,
                            int dw, int dh)
{
    if (sw == dw && sh == dh) { /* cv::resize copies */
        for (int y = 0; y < sh; y++) memcpy(dst + (size_t)y * (size_t)dw, src + (size_t)y * sstride, (size_t)sw);
        return;
    }
    int *xo = an_xmalloc((size_t)dw * sizeof *xo), *yo = an_xmalloc((size_t)dh * sizeof *yo);
    uint16_t *xc = an_xmalloc((size_t)dw * 2 * sizeof *xc), *yc = an_xmalloc((size_t)dh * 2 * sizeof *yc);
    uint16_t *l0 = an_xmalloc((size_t)dw * sizeof *l0), *l1 = an_xmalloc((size_t)dw * sizeof *l1);
    int xlo, xhi, ylo, yhi;
    axis_coeffs(sw, dw, xo, xc, &xlo, &xhi);
    axis_coeffs(sh, dh, yo, yc, &ylo, &yhi);
    int cached0 = -1, cached1 = -1; /* source rows now in l0, l1 */
    for (int dy = 0; dy < dh; dy++) {
        uint8_t *d = dst + (size_t)dy * (size_t)dw;
        if (dy < ylo || dy >= yhi) {
            int row = dy < ylo ? 0 : sh - 1;
            if (cached0 != row) {
                hline(src + (size_t)row * sstride, xo, xc, xlo, xhi, dw, l0);
                cached0 = row;
                if (cached1 == row) cached1 = -1;
            }
            for (int x = 0; x < dw; x++) d[x] = round8(l0[x]);
            continue;
        }
        int r0 = yo[dy], r1 = r0 + 1;
        if (cached0 != r0) {
            if (cached1 == r0) {
                uint16_t *t = l0;
                l0 = l1;
                l1 = t;
                cached0 = r0;
                cached1 = -1;
            } else {
                hline(src + (size_t)r0 * sstride, xo, xc, xlo, xhi, dw, l0);
                cached0 = r0;
            }
        }
        if (cached1 != r1) {
            hline(src + (size_t)r1 * sstride, xo, xc, xlo, xhi, dw, l1);
            cached1 = r1;
        }
        uint32_t c0 = yc[2 * dy], c1 = yc[2 * dy + 1];
        for (int x = 0; x < dw; x++) {
            uint32_t v = (uint32_t)l0[x] * c0 + (uint32_t)l1[x] * c1;
            uint32_t r = (v + 32768u) >> 16;
            d[x] = (uint8_t)(r > 255 ? 255 : r);
        }
    }
    free(xo);
    free(yo);
    free(xc);
    free(yc);
    free(l0);
    free(l1);
}

/* ---- integral images ---------------------------------------------------------------------- */

/* One pyramid level: the shrunk image's integrals, (w+1) x (h+1), stride w+1. Sums wrap in
 * 32 bits as OpenCV's CV_32S buffers do; differences over a window are still exact. The
 * buffers belong to the detection's work area and are reused from level to level. */
typedef struct level {
    int w, h, stride;
    uint32_t *sum, *sq, *tilt; /* tilt: NULL when the cascade has no tilted feature */
} level;

/* A HAAR feature at one level's stride (OpenCV's OptFeature): its rectangles' corners as
 * offsets from a window's top-left, so a window reads them without multiplying, their
 * weights (0 for an absent third rectangle) and which integral they read (1: tilted). */
typedef struct optfeat {
    int32_t o[12];
    float w[3];
    int32_t tilted;
} optfeat;

/* A tree of a single node with its feature inlined (OpenCV's stump): the frontal and profile
 * cascades consist of nothing else, and evaluating them is most of detection's time, so their
 * stumps are laid out one after the other in the order the stages evaluate them. */
typedef struct hstump {
    optfeat f;
    float threshold;
    float leaf[2]; /* [0]: the feature value is below the threshold, [1]: it is not */
    int32_t pad;
} hstump;

/* What a detection allocates once, sized for the first (largest) level. */
typedef struct work {
    uint8_t *img;
    uint32_t *sum, *sq, *tilt, *rows;
    optfeat *feats;  /* HAAR cascades with deeper trees */
    hstump *stumps;  /* HAAR cascades of stumps */
} work;

static void work_init(work *wk, const an_cascade *c, int w, int h)
{
    size_t n = (size_t)(w + 1) * (size_t)(h + 1);
    memset(wk, 0, sizeof *wk);
    wk->img = an_xmalloc((size_t)w * (size_t)h);
    wk->sum = an_xmalloc(n * sizeof *wk->sum);
    wk->sq = an_xmalloc(n * sizeof *wk->sq);
    if (c->has_tilted) {
        wk->tilt = an_xmalloc(n * sizeof *wk->tilt);
        wk->rows = an_xmalloc((size_t)(w + 1 + 2 * (h + 3)) * 3 * sizeof *wk->rows);
    }
    if (c->type == FEAT_HAAR && c->all_stumps)
        wk->stumps = an_xmalloc(c->n_trees * sizeof *wk->stumps);
    else if (c->type == FEAT_HAAR)
        wk->feats = an_xmalloc(c->n_features * sizeof *wk->feats);
}

static void work_free(work *wk)
{
    free(wk->img);
    free(wk->sum);
    free(wk->sq);
    free(wk->tilt);
    free(wk->rows);
    free(wk->feats);
    free(wk->stumps);
}

static void integrals(const uint8_t *img, int w, int h, work *wk, level *lv)
{
    int st = w + 1;
    lv->w = w;
    lv->h = h;
    lv->stride = st;
    lv->sum = wk->sum;
    lv->sq = wk->sq;
    memset(lv->sum, 0, (size_t)st * sizeof *lv->sum);
    memset(lv->sq, 0, (size_t)st * sizeof *lv->sq);
    for (int y = 0; y < h; y++) {
        uint32_t rs = 0, rq = 0;
        const uint8_t *row = img + (size_t)y * (size_t)w;
        uint32_t *s0 = lv->sum + (size_t)y * (size_t)st, *s1 = s0 + st;
        uint32_t *q0 = lv->sq + (size_t)y * (size_t)st, *q1 = q0 + st;
        s1[0] = q1[0] = 0;
        for (int x = 0; x < w; x++) {
            rs += row[x];
            rq += (uint32_t)row[x] * row[x];
            s1[x + 1] = s0[x + 1] + rs;
            q1[x + 1] = q0[x + 1] + rq;
        }
    }
    lv->tilt = NULL;
    if (!wk->tilt) return;
    /* T(X,Y) = sum of I(x,y) with y < Y and |x - X + 1| <= Y - y - 1, by the recurrence
     * T(X,Y) = T(X-1,Y-1) + T(X+1,Y-1) - T(X,Y-2) + I(X-1,Y-1) + I(X-1,Y-2), over rows padded
     * on both sides so that the triangles reaching past the image edges are counted. */
    lv->tilt = wk->tilt;
    memset(lv->tilt, 0, (size_t)st * sizeof *lv->tilt);
    int pad = h + 3, pw = w + 1 + 2 * pad;
    uint32_t *rows = wk->rows;
    memset(rows, 0, (size_t)pw * 3 * sizeof *rows);
    uint32_t *t2 = rows, *t1 = rows + pw, *t0 = rows + 2 * pw; /* Y-2, Y-1, Y */
    for (int Y = 1; Y <= h; Y++) {
        const uint8_t *r1 = img + (size_t)(Y - 1) * (size_t)w;
        const uint8_t *r2 = Y >= 2 ? img + (size_t)(Y - 2) * (size_t)w : NULL;
        t0[0] = t0[pw - 1] = 0;
        for (int i = 1; i < pw - 1; i++) {
            int x = i - pad - 1; /* image column X-1 */
            uint32_t v = t1[i - 1] + t1[i + 1] - t2[i];
            if (x >= 0 && x < w) {
                v += r1[x];
                if (r2) v += r2[x];
            }
            t0[i] = v;
        }
        memcpy(lv->tilt + (size_t)Y * (size_t)st, t0 + pad, (size_t)st * sizeof *t0);
        uint32_t *t = t2;
        t2 = t1;
        t1 = t0;
        t0 = t;
    }
}

static void opt_feature(const feature *f, int st, optfeat *of)
{
    for (int k = 0; k < 3; k++) {
        const hrect *r = &f->r[k];
        int32_t *o = of->o + 4 * k;
        if (f->tilted) { /* (x,y), (x-h,y+h), (x+w,y+w), (x+w-h,y+w+h) */
            o[0] = r->y * st + r->x;
            o[1] = (r->y + r->h) * st + (r->x - r->h);
            o[2] = (r->y + r->w) * st + (r->x + r->w);
            o[3] = (r->y + r->w + r->h) * st + (r->x + r->w - r->h);
        } else { /* (x,y), (x+w,y), (x,y+h), (x+w,y+h) */
            o[0] = r->y * st + r->x;
            o[1] = r->y * st + r->x + r->w;
            o[2] = (r->y + r->h) * st + r->x;
            o[3] = (r->y + r->h) * st + r->x + r->w;
        }
        of->w[k] = r->weight;
    }
    of->tilted = f->tilted;
}

/* The HAAR features (or stumps) at this level's stride. */
static void level_features(const an_cascade *c, work *wk, const level *lv)
{
    if (c->type != FEAT_HAAR) return;
    if (wk->feats) {
        for (size_t i = 0; i < c->n_features; i++)
            opt_feature(&c->features[i], lv->stride, &wk->feats[i]);
        return;
    }
    for (size_t i = 0; i < c->n_trees; i++) {
        const tree *t = &c->trees[i];
        const node *nd = &c->nodes[t->first_node];
        hstump *s = &wk->stumps[i];
        opt_feature(&c->features[nd->feature], lv->stride, &s->f);
        s->threshold = nd->threshold;
        s->leaf[0] = c->leaves[t->first_leaf - nd->left];
        s->leaf[1] = c->leaves[t->first_leaf - nd->right];
        s->pad = 0;
    }
}

/* ---- evaluation --------------------------------------------------------------------------- */

static inline int32_t box(const uint32_t *p, int st, int x, int y, int w, int h)
{
    const uint32_t *a = p + (size_t)y * (size_t)st + x;
    const uint32_t *b = a + (size_t)h * (size_t)st;
    return (int32_t)(a[0] - a[w] - b[0] + b[w]);
}

static inline int32_t at4(const uint32_t *p, const int32_t *o)
{
    return (int32_t)(p[o[0]] - p[o[1]] - p[o[2]] + p[o[3]]);
}

/* A HAAR feature's value in a window: float weights times int sums, added in float and scaled
 * by the window's float normalisation, as OpenCV's OptFeature::calc and operator() do (another
 * order or precision moves windows near a threshold across it). */
static inline float haar_value(const optfeat *f, const uint32_t *const base[2], float norm)
{
    const uint32_t *p = base[f->tilted];
    float v = f->w[0] * (float)at4(p, f->o) + f->w[1] * (float)at4(p, f->o + 4);
    if (f->w[2] != 0.0f) v += f->w[2] * (float)at4(p, f->o + 8);
    return v * norm;
}

/* OpenCV's HaarEvaluator::setWindow: the window's normalisation factor from the sum and
 * squared sum of its inner area (no = that area's corners in the integrals, area its size);
 * false when the window is flat. */
static inline bool haar_norm(const uint32_t *sum, const uint32_t *sq, const int32_t *no,
                             double area, float *norm)
{
    int32_t vs = at4(sum, no);
    uint32_t vq = (uint32_t)at4(sq, no);
    double nf = area * vq - (double)vs * vs;
    if (!(nf > 0.)) return false;
    *norm = (float)(1. / sqrt(nf));
    return area * *norm < 1e-1;
}

/* OpenCV's predictOrderedStump: the stages of a cascade of stumps on one window; 1 when every
 * stage passes, -s when stage s rejects (0: the first). Stage sums are double. */
static int run_stumps(const an_cascade *c, const hstump *s, const uint32_t *const base[2],
                      float norm)
{
    for (size_t si = 0; si < c->n_stages; si++) {
        const stage *sg = &c->stages[si];
        double sum = 0;
        for (const hstump *e = s + sg->n_trees; s < e; s++)
            sum += s->leaf[!(haar_value(&s->f, base, norm) < s->threshold)];
        if (sum < sg->threshold) return -(int)si;
    }
    return 1;
}

static int lbp_code(const feature *f, const uint32_t *sum, int st)
{
    int32_t s[9];
    for (int r = 0; r < 3; r++)
        for (int q = 0; q < 3; q++)
            s[r * 3 + q] = box(sum, st, f->lx + q * f->lw, f->ly + r * f->lh, f->lw, f->lh);
    int32_t cv = s[4];
    /* Clockwise from the top-left cell, most significant bit first. */
    return (s[0] >= cv ? 128 : 0) | (s[1] >= cv ? 64 : 0) | (s[2] >= cv ? 32 : 0) |
           (s[5] >= cv ? 16 : 0) | (s[8] >= cv ? 8 : 0) | (s[7] >= cv ? 4 : 0) |
           (s[6] >= cv ? 2 : 0) | (s[3] >= cv ? 1 : 0);
}

/* OpenCV's predictOrdered / predictCategorical: the stages of a cascade of deeper trees (HAAR)
 * or of LBP trees on one window; returns as run_stumps. */
static int run_trees(const an_cascade *c, const optfeat *feats, const uint32_t *const base[2],
                     float norm, int stride)
{
    for (size_t si = 0; si < c->n_stages; si++) {
        const stage *s = &c->stages[si];
        double sum = 0;
        for (int ti = 0; ti < s->n_trees; ti++) {
            const tree *t = &c->trees[s->first_tree + ti];
            int idx = 0;
            do {
                const node *nd = &c->nodes[t->first_node + idx];
                if (feats) {
                    double val = haar_value(&feats[nd->feature], base, norm);
                    idx = val < nd->threshold ? nd->left : nd->right;
                } else {
                    int code = lbp_code(&c->features[nd->feature], base[0], stride);
                    const int32_t *sub =
                        c->subsets + (size_t)(t->first_node + idx) * (size_t)c->subset_size;
                    idx = ((uint32_t)sub[code >> 5] & (1u << (code & 31))) ? nd->left : nd->right;
                }
            } while (idx > 0);
            sum += c->leaves[t->first_leaf - idx];
        }
        if (sum < s->threshold) return -(int)si;
    }
    return 1;
}

/* ---- grouping ----------------------------------------------------------------------------- */

static bool similar(const an_detection *a, const an_detection *b, double eps)
{
    int mw = a->width < b->width ? a->width : b->width;
    int mh = a->height < b->height ? a->height : b->height;
    double delta = eps * (mw + mh) * 0.5;
    return abs(a->x - b->x) <= delta && abs(a->y - b->y) <= delta &&
           abs(a->x + a->width - b->x - b->width) <= delta &&
           abs(a->y + a->height - b->y - b->height) <= delta;
}

static size_t find_root(size_t *parent, size_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

void an_cascade_group(an_detection *r, size_t *np, int thr, double eps)
{
    size_t n = *np;
    if (thr <= 0 || n == 0) {
        for (size_t i = 0; i < n; i++) r[i].neighbors = 1;
        return;
    }
    size_t *parent = an_xmalloc(n * sizeof *parent), *label = an_xmalloc(n * sizeof *label);
    for (size_t i = 0; i < n; i++) parent[i] = i;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (similar(&r[i], &r[j], eps)) {
                size_t a = find_root(parent, i), b = find_root(parent, j);
                if (a != b) parent[b] = a;
            }
    /* Classes numbered in the order their first member appears, as cv::partition does. */
    size_t nc = 0;
    size_t *root_class = an_xmalloc(n * sizeof *root_class);
    for (size_t i = 0; i < n; i++) root_class[i] = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t rt = find_root(parent, i);
        if (root_class[rt] == SIZE_MAX) root_class[rt] = nc++;
        label[i] = root_class[rt];
    }
    int64_t(*acc)[4] = an_xcalloc(nc, sizeof *acc);
    int *cnt = an_xcalloc(nc, sizeof *cnt);
    an_detection *avg = an_xmalloc(nc * sizeof *avg);
    for (size_t i = 0; i < n; i++) {
        acc[label[i]][0] += r[i].x;
        acc[label[i]][1] += r[i].y;
        acc[label[i]][2] += r[i].width;
        acc[label[i]][3] += r[i].height;
        cnt[label[i]]++;
    }
    for (size_t k = 0; k < nc; k++) {
        float s = 1.f / (float)cnt[k];
        avg[k] = (an_detection){(int)lrintf((float)acc[k][0] * s), (int)lrintf((float)acc[k][1] * s),
                                (int)lrintf((float)acc[k][2] * s), (int)lrintf((float)acc[k][3] * s),
                                cnt[k]};
    }
    size_t out = 0;
    for (size_t i = 0; i < nc; i++) {
        const an_detection *r1 = &avg[i];
        int n1 = r1->neighbors;
        if (n1 <= thr) continue;
        size_t j;
        /* Drop a class lying inside a stronger one. */
        for (j = 0; j < nc; j++) {
            int n2 = avg[j].neighbors;
            if (j == i || n2 <= thr) continue;
            const an_detection *r2 = &avg[j];
            int dx = (int)lrint(r2->width * eps), dy = (int)lrint(r2->height * eps);
            if (r1->x >= r2->x - dx && r1->y >= r2->y - dy &&
                r1->x + r1->width <= r2->x + r2->width + dx &&
                r1->y + r1->height <= r2->y + r2->height + dy && (n2 > (n1 > 3 ? n1 : 3) || n1 < 3))
                break;
        }
        if (j == nc) r[out++] = *r1;
    }
    *np = out;
    free(parent);
    free(label);
    free(root_class);
    free(acc);
    free(cnt);
    free(avg);
}

/* ---- detectMultiScale --------------------------------------------------------------------- */

typedef struct hits {
    an_detection *v;
    size_t n, cap;
} hits;

static void push(hits *h, an_detection d)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 256;
        h->v = an_xrealloc(h->v, h->cap * sizeof *h->v);
    }
    h->v[h->n++] = d;
}

/* runAt on the window at (x, y) of a level: 1 when every stage passes, -s when stage s
 * rejects (0: the first), -1 when the window is flat (HAAR). */
static int run_at(const an_cascade *c, const work *wk, const level *lv, const int32_t *no,
                  double area, int x, int y)
{
    size_t at = (size_t)y * (size_t)lv->stride + (size_t)x;
    const uint32_t *base[2] = {lv->sum + at, lv->tilt ? lv->tilt + at : lv->sum + at};
    if (c->type != FEAT_HAAR) return run_trees(c, NULL, base, 1.0f, lv->stride);
    float norm;
    if (!haar_norm(base[0], lv->sq + at, no, area, &norm)) return -1;
    return wk->stumps ? run_stumps(c, wk->stumps, base, norm)
                      : run_trees(c, wk->feats, base, norm, lv->stride);
}

int an_cascade_detect(const an_cascade *c, const an_gray_view *img, const an_cascade_opts *o,
                      an_detection **out, size_t *n, an_err *err)
{
    *out = NULL;
    *n = 0;
    an_cascade_opts d = {0};
    if (o) d = *o;
    if (d.scale_factor == 0) d.scale_factor = 1.1;
    if (d.min_neighbors <= 0) d.min_neighbors = 3;
    if (!(d.scale_factor > 1.0001 && d.scale_factor <= 10))
        return an_err_set(err, AN_EINVAL, "scale_factor", "give a scale factor above 1 (1.1 is usual)");
    if (d.min_neighbors > 1000 || d.min_width < 0 || d.min_height < 0 || d.max_width < 0 ||
        d.max_height < 0)
        return an_err_set(err, AN_EINVAL, "min_neighbors",
                          "give min_neighbors from 0 to 1000 and sizes of 0 or more");
    if (!img || !img->px || img->width <= 0 || img->height <= 0 ||
        img->stride < (size_t)img->width || img->width > 1 << 15 || img->height > 1 << 15)
        return an_err_set(err, AN_EINVAL, "image", "the image is empty or too large (32768 px)");
    int iw = img->width, ih = img->height;
    int maxw = d.max_width && d.max_height ? d.max_width : iw;
    int maxh = d.max_width && d.max_height ? d.max_height : ih;

    /* Scales as OpenCV lists them: a double factor, stored as float. */
    float scales[1024];
    size_t ns = 0;
    for (double factor = 1; ns < 1024; factor *= d.scale_factor) {
        int ww = (int)lrint(c->win_w * factor), wh = (int)lrint(c->win_h * factor);
        if (ww > maxw || wh > maxh || ww > iw || wh > ih) break;
        if (ww < d.min_width || wh < d.min_height) continue;
        scales[ns++] = (float)factor;
    }
    hits h = {0};
    work wk;
    bool have_work = false;
    int nstripes = 0;
    /* The inner area whose standard deviation normalises a HAAR window. */
    int nw = c->win_w - 2, nh = c->win_h - 2;
    double area = (double)nw * nh;
    for (size_t si = 0; si < ns; si++) {
        float sc = scales[si];
        int sw = (int)lrintf((float)iw / sc), sh = (int)lrintf((float)ih / sc);
        int ystep = sc >= 2 ? 1 : 2;
        if (!have_work) { /* the first level is the largest */
            work_init(&wk, c, sw, sh);
            have_work = true;
        }
        an_resize_linear_exact(img->px, iw, ih, img->stride, wk.img, sw, sh);
        level lv;
        integrals(wk.img, sw, sh, &wk, &lv);
        level_features(c, &wk, &lv);
        int st = lv.stride;
        int32_t no[4] = {st + 1, st + 1 + nw, (1 + nh) * st + 1, (1 + nh) * st + 1 + nw};
        /* The working area: window origins with the window inside the (w+1) x (h+1)
         * integral, and OpenCV's stripes of rows. */
        int szw_w = sw + 1 - c->win_w, szw_h = sh + 1 - c->win_h;
        if (szw_w < 0) szw_w = 0;
        if (szw_h < 0) szw_h = 0;
        if (si == 0) nstripes = (int)ceil(szw_w / 32.);
        int stripe = nstripes > 0 ? ((szw_h / ystep + nstripes - 1) / nstripes) : 1;
        if (stripe < 1) stripe = 1;
        stripe *= ystep;
        int ww = (int)lrintf((float)c->win_w * sc), wh = (int)lrintf((float)c->win_h * sc);
        for (int k = 0; k < nstripes; k++) {
            int y0 = k * stripe, y1 = (k + 1) * stripe < szw_h ? (k + 1) * stripe : szw_h;
            for (int y = y0; y < y1; y += ystep)
                for (int x = 0; x < szw_w; x += ystep) {
                    /* OpenCV's setWindow also refuses a window touching the far edge. */
                    if (x + c->win_w >= sw + 1 || y + c->win_h >= sh + 1) continue;
                    int r = run_at(c, &wk, &lv, no, area, x, y);
                    if (r > 0)
                        push(&h, (an_detection){(int)lrintf((float)x * sc),
                                                (int)lrintf((float)y * sc), ww, wh, 1});
                    if (r == 0) x += ystep;
                }
        }
    }
    if (have_work) work_free(&wk);
    size_t m = h.n;
    an_cascade_group(h.v, &m, d.min_neighbors, 0.2);
    /* Clip to the image, dropping what falls outside (cv::CascadeClassifier does this). */
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        an_detection r = h.v[i];
        int x0 = r.x > 0 ? r.x : 0, y0 = r.y > 0 ? r.y : 0;
        int x1 = r.x + r.width < iw ? r.x + r.width : iw;
        int y1 = r.y + r.height < ih ? r.y + r.height : ih;
        if (x1 <= x0 || y1 <= y0) continue;
        h.v[k++] = (an_detection){x0, y0, x1 - x0, y1 - y0, r.neighbors};
    }
    if (k == 0) {
        free(h.v);
        return 0;
    }
    *out = h.v;
    *n = k;
    return 0;
}
