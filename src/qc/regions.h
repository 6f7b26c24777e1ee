/* Region-level agreement between two annotators' answers to one task: boxes and polygons
 * (IoU, optimal one-to-one matching, precision/recall/F1 at an IoU threshold), text spans
 * (exact and overlap F1), keypoints (share within a distance) and free text (character error
 * rate). Pure computation: no I/O, no allocation visible to the caller.
 *
 * Coordinates are Label Studio's: percent of the image width (x) and height (y), 0..100.
 * Areas and IoU are computed in those units; a ratio of areas is the same in pixels, so IoU
 * needs no image size. Rotation is the exception: Label Studio rotates a rectangle about its
 * top-left corner by `rotation` degrees clockwise in pixel space, so the rotated corners in
 * percent depend on the image's aspect ratio (width / height in pixels). Functions without
 * an aspect argument assume 1 (square pixels in percent space).
 *
 * Matching: "one-to-one" means every region of either side is in at most one pair; pairs are
 * chosen by an optimal assignment (Kuhn–Munkres, O(n^3)), not greedily, so a pair that looks
 * best alone never costs two pairs elsewhere.
 *
 * Conventions for empty answers: precision = matched / n_b (1 when n_b is 0), recall =
 * matched / n_a (1 when n_a is 0), F1 = 2 matched / (n_a + n_b) (1 when both are empty: two
 * annotators who drew nothing agree). F1 is symmetric in a and b. */
#ifndef AN_QC_REGIONS_H
#define AN_QC_REGIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

typedef struct an_rect {
    double x, y, w, h, rotation; /* LS percent units; rotation in degrees clockwise */
} an_rect;

typedef struct an_pt {
    double x, y;
} an_pt;

/* IoU of two rectangles, 0..1 (0 when both are empty). Exact for rotation 0; a rotated
 * rectangle is treated as the polygon of its corners with aspect 1 (see an_rect_iou_aspect). */
double an_rect_iou(const an_rect *a, const an_rect *b);

/* As an_rect_iou for rectangles on an image of aspect = width / height pixels (> 0; other
 * values are taken as 1). Only rotated rectangles depend on it. */
double an_rect_iou_aspect(const an_rect *a, const an_rect *b, double aspect);

/* The four corners of r in percent units, in order top-left, top-right, bottom-right,
 * bottom-left before rotation, rotated about the top-left corner (aspect as above). */
void an_rect_corners(const an_rect *r, double aspect, an_pt out[4]);

/* Area of the polygon p[0..n) (absolute value of the shoelace sum; 0 when n < 3). */
double an_polygon_area(const an_pt *p, size_t n);

/* IoU of two polygons, 0..1. Exact for simple polygons, convex or not, in either
 * orientation: the intersection is summed from pairwise intersections of the fan triangles
 * of both polygons (each convex, clipped exactly), with the triangles' signs. For
 * self-intersecting polygons the result is defined by winding numbers and is not an IoU. */
double an_polygon_iou(const an_pt *a, size_t na, const an_pt *b, size_t nb);

/* Optimal one-to-one assignment maximising total score; score[i*nb+j] >= 0, pairs below
 * min_score (and NaN scores) are never matched; match_a[i] = j or -1. Returns number matched.
 * A pair with a score of exactly 0 that min_score allows may be left unmatched, since it adds
 * nothing to the total. */
size_t an_assign_max(const double *score, size_t na, size_t nb, double min_score,
                     int *match_a);

/* Comparison of two answers. */
typedef struct an_match_stats {
    size_t n_a, n_b;
    size_t matched; /* pairs that count: IoU >= threshold, equal or overlapping spans,
                       keypoints within the distance */
    double precision, recall, f1;
    /* boxes and polygons: mean IoU of counted pairs; spans: mean Jaccard overlap of counted
     * pairs (1 for exact matching); keypoints: mean distance (percent of the image diagonal)
     * over all label-matched pairs. NAN when there is no pair. */
    double mean;
    size_t paired; /* keypoints: label-matched pairs (mean is over these); else = matched */
} an_match_stats;

/* ---- boxes and polygons ----------------------------------------------------------------- */

typedef enum an_region_kind {
    AN_REGION_RECT,
    AN_REGION_POLYGON,
} an_region_kind;

typedef struct an_region {
    an_region_kind kind;
    an_rect rect;      /* AN_REGION_RECT */
    const an_pt *pts;  /* AN_REGION_POLYGON: n_pts points, borrowed */
    size_t n_pts;
    const char *label; /* compared with strcmp; NULL matches only NULL */
} an_region;

typedef struct an_region_opts {
    double iou;         /* threshold; a pair counts when IoU >= iou (default 0.5) */
    bool ignore_labels; /* match regions whatever their labels */
    double aspect;      /* image width / height for rotated rectangles; <= 0 means 1 */
} an_region_opts;

/* Default options: iou 0.5, labels required, aspect 1. */
an_region_opts an_region_opts_default(void);

/* Matches a[0..na) with b[0..nb) one-to-one maximising total IoU over pairs whose IoU >=
 * opts->iou (same label unless ignore_labels) and fills *out; match_a (may be NULL, else na
 * entries) receives each a's partner index in b or -1. Rectangles and polygons may be mixed
 * (a rectangle is compared as its corner polygon). opts NULL: defaults. With iou >= 0.5 the
 * maximal total is also a maximal number of pairs. */
void an_regions_match(const an_region *a, size_t na, const an_region *b, size_t nb,
                      const an_region_opts *opts, an_match_stats *out, int *match_a);

/* ---- text spans --------------------------------------------------------------------------- */

typedef struct an_span {
    double start, end; /* code points for text (end exclusive); seconds for audio */
    const char *label;
} an_span;

/* exact: a pair counts when start, end and label are equal. Otherwise overlap: when the
 * spans share a positive length and the labels are equal; pairs are chosen to be as many as
 * possible, then of the largest total Jaccard overlap. One-to-one in both modes. */
void an_spans_match(const an_span *a, size_t na, const an_span *b, size_t nb, bool exact,
                    an_match_stats *out);

/* ---- keypoints ------------------------------------------------------------------------------ */

typedef struct an_keypoint {
    double x, y; /* percent */
    const char *label;
} an_keypoint;

/* Distance between two points in percent of the image diagonal, for an image of aspect =
 * width / height (<= 0: 1). */
double an_keypoint_distance(const an_keypoint *a, const an_keypoint *b, double aspect);

/* Pairs keypoints of the same label one-to-one (as many pairs as possible, then the least
 * total distance); a pair counts (matched) when its distance <= max_dist percent of the
 * diagonal (default in Label Studio terms: 2). precision/recall/f1 use the counted pairs,
 * so f1 is the share of keypoints that found a partner within the distance; mean is the mean
 * distance over all label-matched pairs. */
void an_keypoints_match(const an_keypoint *a, size_t na, const an_keypoint *b, size_t nb,
                        double max_dist, double aspect, an_match_stats *out);

/* ---- free text ------------------------------------------------------------------------------ */

/* Largest len_a * len_b (code points) an_cer accepts, so untrusted text cannot take minutes. */
#define AN_CER_MAX_CELLS 400000000ull

/* Character error rate between UTF-8 texts a[0..alen) and b[0..blen): the Levenshtein
 * distance in code points (insertions, deletions and substitutions cost 1) divided by
 *   symmetric: max(len a, len b) — 0..1, the same either way round, 0 when both are empty;
 *   otherwise:  len a, a being the reference — the usual CER, may exceed 1.
 * *edits (may be NULL) receives the distance. AN_EINVAL for invalid UTF-8, for a non-empty b
 * against an empty reference (asymmetric CER is then undefined), or for texts too long
 * (AN_CER_MAX_CELLS). */
int an_cer(const char *a, size_t alen, const char *b, size_t blen, bool symmetric, double *out,
           size_t *edits, an_err *err);

#endif
