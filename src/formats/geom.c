/* Box and polygon conversions between pixels and Label Studio's percent regions. */
#include "formats/geom.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/json.h"

static const an_object *object_named(const an_config *cfg, const char *name)
{
    for (size_t i = 0; name && i < cfg->n_objects; i++)
        if (cfg->objects[i].name && strcmp(cfg->objects[i].name, name) == 0)
            return &cfg->objects[i];
    return NULL;
}

int an_geom_target_find(const an_config *cfg, const char *format, an_geom_target *t, an_err *err)
{
    memset(t, 0, sizeof *t);
    if (!cfg)
        return an_err_set(err, AN_EINVAL, format, "%s import needs the project's labeling config",
                          format);
    for (size_t i = 0; i < cfg->n_controls; i++) {
        const an_control *c = &cfg->controls[i];
        if (c->tag == AN_TAG_RECTANGLELABELS && !t->rect) t->rect = c;
        if (c->tag == AN_TAG_POLYGONLABELS && !t->poly) t->poly = c;
    }
    if (!t->rect && !t->poly)
        return an_err_set(err, AN_EINVAL, format,
                          "the labeling config has no RectangleLabels or PolygonLabels "
                          "control, so %s regions have nowhere to go; add one",
                          format);
    t->rect_to = t->rect && t->rect->n_to ? t->rect->to_names[0] : NULL;
    t->poly_to = t->poly && t->poly->n_to ? t->poly->to_names[0] : NULL;
    if (t->rect && !t->rect_to)
        return an_err_set(err, AN_EINVAL, t->rect->name, "RectangleLabels has no toName");
    if (t->poly && !t->poly_to)
        return an_err_set(err, AN_EINVAL, t->poly->name, "PolygonLabels has no toName");
    /* The image field is the one the region control points at; the first Image object is
     * the fallback for hand-built configs whose objects lack a data key. */
    const an_object *o = object_named(cfg, t->rect ? t->rect_to : t->poly_to);
    if (o && o->data_key) t->data_key = o->data_key;
    for (size_t i = 0; !t->data_key && i < cfg->n_objects; i++)
        if (cfg->objects[i].tag == AN_TAG_IMAGE && cfg->objects[i].data_key)
            t->data_key = cfg->objects[i].data_key;
    if (!t->data_key) t->data_key = "image";
    return 0;
}

int an_geom_label_index(const an_control *c, const char *label)
{
    if (!c || !label) return -1;
    for (size_t i = 0; i < c->n_labels; i++)
        if (strcmp(c->labels[i], label) == 0) return (int)i;
    return -1;
}

/* Image sizes are integers in every format we read; keep them integers in JSON. */
static json_t *size_value(double v)
{
    if (v == floor(v) && fabs(v) < 9e15) return json_integer((json_int_t)v);
    return json_real(v);
}

static json_t *item_head(const char *id, const an_control *c, const char *to_name, const char *type,
                         double img_w, double img_h)
{
    json_t *it = json_object();
    json_object_set_new(it, "id", json_string(id));
    json_object_set_new(it, "from_name", json_string(c->name));
    json_object_set_new(it, "to_name", json_string(to_name));
    json_object_set_new(it, "type", json_string(type));
    json_object_set_new(it, "original_width", size_value(img_w));
    json_object_set_new(it, "original_height", size_value(img_h));
    json_object_set_new(it, "image_rotation", json_integer(0));
    return it;
}

static json_t *label_list(const char *label)
{
    json_t *a = json_array();
    json_array_append_new(a, json_string(label));
    return a;
}

json_t *an_geom_rect_item(const char *id, const an_control *c, const char *to_name, double img_w,
                          double img_h, double x, double y, double w, double h, const char *label)
{
    json_t *it = item_head(id, c, to_name, "rectanglelabels", img_w, img_h);
    json_t *v = json_object();
    json_object_set_new(v, "x", json_real(x / img_w * 100.0));
    json_object_set_new(v, "y", json_real(y / img_h * 100.0));
    json_object_set_new(v, "width", json_real(w / img_w * 100.0));
    json_object_set_new(v, "height", json_real(h / img_h * 100.0));
    json_object_set_new(v, "rotation", json_integer(0));
    json_object_set_new(v, "rectanglelabels", label_list(label));
    json_object_set_new(it, "value", v);
    return it;
}

json_t *an_geom_poly_item(const char *id, const an_control *c, const char *to_name, double img_w,
                          double img_h, const double *xy, size_t n, const char *label)
{
    json_t *it = item_head(id, c, to_name, "polygonlabels", img_w, img_h);
    json_t *v = json_object();
    json_t *pts = json_array();
    for (size_t k = 0; k < n; k++) {
        json_t *p = json_array();
        json_array_append_new(p, json_real(xy[2 * k] / img_w * 100.0));
        json_array_append_new(p, json_real(xy[2 * k + 1] / img_h * 100.0));
        json_array_append_new(pts, p);
    }
    json_object_set_new(v, "points", pts);
    json_object_set_new(v, "polygonlabels", label_list(label));
    json_object_set_new(it, "value", v);
    return it;
}

static bool num_member(const json_t *o, const char *key, double *out)
{
    return an_json_number(json_object_get(o, key), out) && isfinite(*out);
}

bool an_geom_poly_point(const an_geom_box *b, size_t k, double *x, double *y)
{
    const json_t *p = json_array_get(b->points, k);
    double px, py;
    if (!json_is_array(p) || json_array_size(p) < 2) return false;
    if (!an_json_number(json_array_get(p, 0), &px) || !isfinite(px)) return false;
    if (!an_json_number(json_array_get(p, 1), &py) || !isfinite(py)) return false;
    *x = px * b->img_w / 100.0;
    *y = py * b->img_h / 100.0;
    return true;
}

int an_geom_box_read(const json_t *item, size_t i, double fallback_w, double fallback_h,
                     an_geom_box *out, an_err *err)
{
    char where[64];
    memset(out, 0, sizeof *out);
    const char *type = an_json_str(item, "type");
    if (!type) {
        snprintf(where, sizeof where, "result[%zu].type", i);
        return an_err_set(err, AN_EINVAL, where, "result item has no type");
    }
    if (strcmp(type, "rectanglelabels") == 0)
        out->is_poly = false;
    else if (strcmp(type, "polygonlabels") == 0)
        out->is_poly = true;
    else
        return 0;
    const json_t *v = json_object_get(item, "value");
    if (!json_is_object(v)) {
        snprintf(where, sizeof where, "result[%zu].value", i);
        return an_err_set(err, AN_EINVAL, where, "result item has no value object");
    }
    if (!num_member(item, "original_width", &out->img_w) || out->img_w <= 0)
        out->img_w = fallback_w;
    if (!num_member(item, "original_height", &out->img_h) || out->img_h <= 0)
        out->img_h = fallback_h;
    if (!(out->img_w > 0) || !(out->img_h > 0)) {
        snprintf(where, sizeof where, "result[%zu].original_width", i);
        return an_err_set(err, AN_EINVAL, where,
                          "the region has no original_width/original_height and the image "
                          "size is unknown; store the image size with the region");
    }
    out->labels = json_object_get(v, type);
    if (!json_is_array(out->labels) || json_array_size(out->labels) == 0 ||
        !json_is_string(json_array_get(out->labels, 0))) {
        snprintf(where, sizeof where, "result[%zu].value.%s", i, type);
        return an_err_set(err, AN_EINVAL, where, "the region has no label");
    }
    double W = out->img_w, H = out->img_h;
    if (out->is_poly) {
        out->points = json_object_get(v, "points");
        size_t n = json_array_size(out->points);
        if (n < 3) {
            snprintf(where, sizeof where, "result[%zu].value.points", i);
            return an_err_set(err, AN_EINVAL, where, "a polygon needs at least 3 points");
        }
        double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
        for (size_t k = 0; k < n; k++) {
            double px, py;
            if (!an_geom_poly_point(out, k, &px, &py)) {
                snprintf(where, sizeof where, "result[%zu].value.points[%zu]", i, k);
                return an_err_set(err, AN_EINVAL, where, "a point must be [x, y] numbers");
            }
            x0 = fmin(x0, px), y0 = fmin(y0, py), x1 = fmax(x1, px), y1 = fmax(y1, py);
        }
        out->x = x0, out->y = y0, out->w = x1 - x0, out->h = y1 - y0;
        return 1;
    }
    double x, y, w, h, rot = 0;
    static const char *const keys[] = {"x", "y", "width", "height"};
    double *dst[] = {&x, &y, &w, &h};
    for (int k = 0; k < 4; k++)
        if (!num_member(v, keys[k], dst[k])) {
            snprintf(where, sizeof where, "result[%zu].value.%s", i, keys[k]);
            return an_err_set(err, AN_EINVAL, where, "a rectangle needs a number here");
        }
    num_member(v, "rotation", &rot);
    out->x = x * W / 100.0, out->y = y * H / 100.0;
    out->w = w * W / 100.0, out->h = h * H / 100.0;
    if (fmod(rot, 360.0) != 0.0) {
        /* Corners of the rectangle turned about its top-left corner, in pixels (the turn
         * happens on the image, where x and y have the same scale). */
        double t = rot * M_PI / 180.0, c = cos(t), s = sin(t);
        double cx[4] = {0, out->w * c, out->w * c - out->h * s, -out->h * s};
        double cy[4] = {0, out->w * s, out->w * s + out->h * c, out->h * c};
        double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
        for (int k = 0; k < 4; k++) {
            x0 = fmin(x0, out->x + cx[k]), x1 = fmax(x1, out->x + cx[k]);
            y0 = fmin(y0, out->y + cy[k]), y1 = fmax(y1, out->y + cy[k]);
        }
        x0 = fmax(x0, 0), y0 = fmax(y0, 0), x1 = fmin(x1, W), y1 = fmin(y1, H);
        out->x = x0, out->y = y0, out->w = fmax(x1 - x0, 0), out->h = fmax(y1 - y0, 0);
    }
    return 1;
}

void an_geom_write_num(an_buf *out, double v)
{
    /* Integral values are common (pixel boxes, sizes) and cheap to print exactly; the
     * shortest-form search of an_json_write_real costs several snprintf calls. */
    if (v == floor(v) && fabs(v) < 9e15) {
        char tmp[24];
        size_t n = sizeof tmp;
        uint64_t u = (uint64_t)fabs(v);
        do {
            tmp[--n] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (v < 0) tmp[--n] = '-';
        an_buf_add(out, tmp + n, sizeof tmp - n);
        return;
    }
    an_json_write_real(out, v);
}
