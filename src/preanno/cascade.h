/* Boosted cascades of OpenCV (the files of Debian's opencv-data, e.g.
 * /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml) loaded and evaluated in
 * C, the way cv::CascadeClassifier::detectMultiScale does, so that the same image gives the
 * same rectangles:
 *
 *  - the file is OpenCV's "new" cascade format (<cascade> with stageType BOOST, featureType
 *    HAAR or LBP, stages of weak trees with internalNodes and leafValues, features with rects
 *    and a tilted flag); the old haartraining format is refused with a message;
 *  - an image pyramid: scale factors 1, f, f², … while the window fits; the image is shrunk
 *    to each scale with OpenCV's bit-exact bilinear resize (INTER_LINEAR_EXACT, 8.8 fixed
 *    point), and the window slides over it with a step of 2 pixels below scale 2 and 1 from
 *    scale 2 on (a window failing the first stage skips one more step);
 *  - HAAR windows are normalised by the standard deviation of the window's inner area, read
 *    from a squared integral image; tilted features read a 45° integral image; LBP features
 *    compare 3x3 block sums;
 *  - the raw hits are grouped like cv::groupRectangles (eps 0.2): similar rectangles join a
 *    class, classes with at most min_neighbors members are dropped, the mean of each class is
 *    kept unless a stronger class contains it; the member count is the neighbour count.
 *
 * Thread safety: a loaded cascade is read-only; any number of threads may detect with it. */
#ifndef AN_PREANNO_CASCADE_H
#define AN_PREANNO_CASCADE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct an_cascade an_cascade;

/* Loads the cascade XML at path (read with libxml2, no network, no entity expansion). Every
 * index and rectangle is checked against the file's own sizes, so a damaged or hostile file is
 * refused (AN_EINVAL naming the file and the element) instead of read past. *out is freed with
 * an_cascade_free. AN_EIO when the file cannot be read. */
int an_cascade_load(const char *path, an_cascade **out, an_err *err);

void an_cascade_free(an_cascade *c);

/* The detection window the cascade was trained with (e.g. 24x24 for frontal faces). */
void an_cascade_window(const an_cascade *c, int *width, int *height);

/* An 8-bit grey image: pixel (x, y) at px[y * stride + x]. Borrowed. */
typedef struct an_gray_view {
    const uint8_t *px;
    int width, height;
    size_t stride;
} an_gray_view;

/* detectMultiScale's parameters; zero fields take OpenCV's defaults. */
typedef struct an_cascade_opts {
    double scale_factor; /* > 1; 0: 1.1 */
    int min_neighbors;   /* a detection needs more than this many raw hits; <= 0: 3 */
    int min_width, min_height; /* smallest object; 0: no limit */
    int max_width, max_height; /* largest object; 0: the image size */
} an_cascade_opts;

/* A detection in image pixels; neighbors is the size of its group of raw hits. */
typedef struct an_detection {
    int x, y, width, height;
    int neighbors;
} an_detection;

/* Detects objects in img like detectMultiScale (with numDetections) followed by clipping to
 * the image. *out (malloc'd, caller frees; NULL when *n is 0) holds *n detections in group
 * order. AN_EINVAL for bad options. Images smaller than the window give no detection. */
int an_cascade_detect(const an_cascade *c, const an_gray_view *img, const an_cascade_opts *o,
                      an_detection **out, size_t *n, an_err *err);

/* cv::groupRectangles(rects, weights, group_threshold, eps) on r[0..*n): groups in place,
 * *n becomes the number kept, r[i].neighbors their group sizes. Exposed for tests and for
 * merging the hits of several cascades. */
void an_cascade_group(an_detection *r, size_t *n, int group_threshold, double eps);

/* OpenCV's bit-exact bilinear resize (INTER_LINEAR_EXACT) of an 8-bit grey image:
 * src (sw x sh, row stride sstride) into dst (dw x dh, rows of dw bytes). Exposed for tests. */
void an_resize_linear_exact(const uint8_t *src, int sw, int sh, size_t sstride, uint8_t *dst,
                            int dw, int dh);

#endif
