/* Face and licence-plate detection with the cascades of Debian's opencv-data (cascade.h),
 * for pre-annotation (the models "face" and "plate") and for redaction (comply/redact_image.h).
 *
 *  - face: the frontal cascade (haarcascade_frontalface_default.xml) and the profile cascade
 *    (haarcascade_profileface.xml) run on the image and on its mirror image (the profile
 *    cascade knows faces looking one way only), then boxes of different cascades that overlap
 *    (intersection over union >= 0.3) are merged, keeping the box with more neighbours;
 *  - plate: haarcascade_russian_plate_number.xml, or another cascade file (option "cascade").
 *
 * Images are decoded with libvips, turned upright by their EXIF orientation (as browsers show
 * them and as OpenCV's imread reads them), and made grey with OpenCV's weights (0.299 R +
 * 0.587 G + 0.114 B in 15-bit fixed point), so that the detections equal OpenCV's on the same
 * file.
 *
 * Scores: a detection's neighbour count n (how many raw windows voted for it; at least
 * min_neighbors + 1) maps to score = n / (n + 10): 4 -> 0.29, 10 -> 0.5, 30 -> 0.75. It orders
 * detections; it is not a calibrated probability.
 *
 * Thread safety: an opened detector is read-only while detecting; threads may share it. */
#ifndef AN_PREANNO_DETECT_H
#define AN_PREANNO_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "preanno/predictor.h"

typedef enum an_detect_kind {
    AN_DETECT_FACE = 1,
    AN_DETECT_PLATE = 2,
} an_detect_kind;

/* A detected box in pixels of the upright image. */
typedef struct an_box {
    int x, y, width, height;
    int neighbors;
    double score; /* neighbors / (neighbors + 10) */
} an_box;

typedef struct an_detect_opts {
    const char *cascade; /* plate: another cascade file; face: replaces both cascades */
    double scale_factor; /* 0: 1.1 */
    int min_neighbors;   /* <0 or 0: 3 */
    int min_size;        /* smallest box side in pixels; 0: the cascade's window */
} an_detect_opts;

typedef struct an_detector an_detector;

/* Opens the cascades of kind (opts may be NULL). AN_EIO/AN_EINVAL naming the cascade file when
 * it is missing or damaged (install opencv-data). Freed with an_detector_close. */
int an_detector_open(an_detect_kind kind, const an_detect_opts *opts, an_detector **out,
                     an_err *err);
void an_detector_close(an_detector *d);

/* An upright 8-bit grey image (malloc'd pixels, rows of width bytes); freed with
 * an_gray_image_free. */
typedef struct an_gray_image {
    uint8_t *px;
    int width, height;
} an_gray_image;

/* Decodes the image file at path (any format libvips reads), applies its EXIF orientation and
 * converts it to grey as OpenCV's cvtColor(BGR2GRAY) does. AN_EINVAL naming path when it is
 * not an image libvips can read or is larger than 100 megapixels. */
int an_gray_image_load(const char *path, an_gray_image *out, an_err *err);
void an_gray_image_free(an_gray_image *g);

/* Detects on a grey image. *out is malloc'd (caller frees; NULL when *n is 0). */
int an_detector_run(const an_detector *d, const an_gray_image *img, an_box **out, size_t *n,
                    an_err *err);

/* The one-call form the redaction uses: opens the default detector of kind, loads the image,
 * detects, closes. *out is malloc'd (caller frees). */
int an_detect(const char *image_path, an_detect_kind kind, an_box **out, size_t *n,
              an_err *err);

/* libvips started once per process (safe from any thread); AN_EINTERNAL when it cannot. */
int an_vips_start(an_err *err);

/* The models "face" and "plate" for the registry (predictor.h). Options (JSON): "label" (one
 * of the control's labels; default its first), "cascade" (a cascade file), "scale_factor",
 * "min_neighbors", "min_size", "media_root" (see media_models.h for how task paths resolve).
 * They answer a RectangleLabels control on an Image object with one rectanglelabels region
 * per detection (percent of the upright image, original_width/height set, per-region score);
 * the overall score is the best region's (NAN with no region: an empty result). Nothing is
 * learned: `annot train` records the options as a model version so that `annot predict`
 * can run it like any stored model. */
extern const an_predictor_ops an_face_ops;
extern const an_predictor_ops an_plate_ops;

#endif
