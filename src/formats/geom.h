/* Boxes and polygons shared by the image formats (COCO, YOLO, VOC): where their regions go
 * in a labeling config, Label Studio result items built from pixel coordinates, result
 * items read back into pixel coordinates, and numbers written in their shortest exact form.
 *
 * Label Studio keeps regions in percent of the image (0..100) with the image's pixel size
 * beside them (original_width / original_height). Conversions are px / W * 100 one way and
 * pct * W / 100 the other, in doubles without rounding, so a pixel value survives a round
 * trip to within a few ulps (far below 1e-6 px). */
#ifndef AN_GEOM_H
#define AN_GEOM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "model/config.h"

/* Where image regions go: the first RectangleLabels and the first PolygonLabels control
 * (either may be NULL, not both), the object each one's first toName names, and the task
 * data field that holds the image. */
typedef struct an_geom_target {
    const an_control *rect;
    const an_control *poly;
    const char *rect_to;
    const char *poly_to;
    const char *data_key; /* the data field of the region control's object ("image") */
} an_geom_target;

/* Fills t from cfg. AN_EINVAL naming format when cfg is NULL or has neither control. */
int an_geom_target_find(const an_config *cfg, const char *format, an_geom_target *t, an_err *err);

/* Index of label among c's labels, or -1 (c may be NULL: -1). */
int an_geom_label_index(const an_control *c, const char *label);

/* A new rectanglelabels result item (caller owns it) for the pixel box (x, y, w, h) in an
 * image of img_w × img_h pixels, labelled label, from control c to object to_name. */
json_t *an_geom_rect_item(const char *id, const an_control *c, const char *to_name, double img_w,
                          double img_h, double x, double y, double w, double h, const char *label);

/* A new polygonlabels result item for n points xy[0..2n) (x0, y0, x1, y1, … in pixels). */
json_t *an_geom_poly_item(const char *id, const an_control *c, const char *to_name, double img_w,
                          double img_h, const double *xy, size_t n, const char *label);

/* A region of a result read back in pixels. */
typedef struct an_geom_box {
    bool is_poly;
    double img_w, img_h; /* original_width / original_height; 0 when the item lacks them */
    /* The rectangle in pixels, or the polygon's bounding box. A rotated rectangle (Label
     * Studio rotates about its top-left corner) becomes the axis-aligned box enclosing it,
     * clipped to the image, because COCO, YOLO and VOC have no rotation. */
    double x, y, w, h;
    const json_t *points; /* polygon: the value's points array ([[x%, y%], …]); else NULL */
    const json_t *labels; /* the value's label array (strings) */
} an_geom_box;

/* Reads result item number i (for messages) as a region. Returns 1 for a rectangle or
 * polygon with its image size known (from the item, else from fallback_w/h when > 0),
 * 0 for an item of another type (to skip), or AN_EINVAL with where "result[I].FIELD". */
int an_geom_box_read(const json_t *item, size_t i, double fallback_w, double fallback_h,
                     an_geom_box *out, an_err *err);

/* Point k of a polygon box in pixels. False when the point is malformed. */
bool an_geom_poly_point(const an_geom_box *b, size_t k, double *x, double *y);

/* Appends v in the shortest text that reads back to the same double: integral values as
 * integers ("12"), others as an_json_write_real does ("12.5", "1e-07"). */
void an_geom_write_num(an_buf *out, double v);

#endif
