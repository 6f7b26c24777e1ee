/* Image redaction: faces and licence plates (found with preanno/detect.h) blurred or
 * pixelated in a copy of the image, written without any metadata (EXIF with its GPS
 * position, XMP, IPTC, ICC profile, comments), with libvips.
 *
 * The copy is upright (the EXIF orientation is applied to the pixels, since the tag that
 * described it is removed) and has the input's size, format (from the output file's
 * extension) and bands. Each box is widened by 10 % of its size on every side (detections
 * sit tight on the face; hair and ears lie outside) and clipped to the image. Blur: a
 * Gaussian with sigma = a quarter of the box's larger side, so no feature survives whatever
 * the face's size. Pixelate: blocks of a sixth of the larger side (at least 4 px), each the
 * mean of its pixels. Pixels outside the boxes are unchanged (before lossy re-encoding).
 *
 * The input file is never written; the output is written to a temporary name beside it and
 * renamed into place, so a failed run leaves no half-written image. */
#ifndef AN_COMPLY_REDACT_IMAGE_H
#define AN_COMPLY_REDACT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

typedef enum an_redact_mode {
    AN_REDACT_BLUR = 0,
    AN_REDACT_PIXELATE = 1,
} an_redact_mode;

typedef struct an_redact_image_opts {
    bool faces, plates; /* neither set: both */
    an_redact_mode mode;
} an_redact_image_opts;

typedef struct an_image_redactor an_image_redactor;

/* Opens the detectors opts asks for (cascades from opencv-data). Freed with
 * an_image_redactor_close. Thread safety: one redactor may serve several threads. */
int an_image_redactor_open(const an_redact_image_opts *opts, an_image_redactor **out,
                           an_err *err);
void an_image_redactor_close(an_image_redactor *r);

/* What one image gave. */
typedef struct an_redact_image_result {
    size_t faces, plates;
    int width, height; /* of the upright image */
} an_redact_image_result;

/* Redacts the image at in into out (the format follows out's extension: .jpg, .png, .webp,
 * .tif …; JPEG and WebP at quality 90). AN_EINVAL naming in when it is not a readable image,
 * AN_EINVAL naming out when out is in itself, AN_EIO naming out when it cannot be written. */
int an_redact_image(const an_image_redactor *r, const char *in, const char *out,
                    an_redact_image_result *res, an_err *err);

/* The project form (annot redact-images): every task's image fields (the config's Image
 * objects reading a $field) are redacted into to_dir, mirroring their paths: a path relative
 * to media_root (or, without one, the path as the task gives it, a leading '/' dropped) is
 * the path under to_dir. Task paths resolve like the media models' (preanno/media_models.h):
 * URLs are refused, ".." may not climb out. A task that fails is counted and reported
 * through on_failure (may be NULL), and the run goes on. */
typedef struct an_redact_images_summary {
    int64_t tasks, images, faces, plates, failed;
} an_redact_images_summary;

typedef struct an_redact_images_opts {
    an_redact_image_opts image;
    const char *to_dir;     /* created when missing */
    const char *media_root; /* may be NULL */
    void (*on_failure)(void *ud, int64_t task_id, const an_err *e);
    void (*on_image)(void *ud, int64_t task_id, const char *in, const char *out,
                     const an_redact_image_result *res);
    void *ud;
} an_redact_images_opts;

int an_redact_images_project(an_store *s, const an_project *p, const an_redact_images_opts *o,
                             an_redact_images_summary *sum, an_err *err);

#endif
