/* Face and plate detection (cascades from opencv-data) and the "face" and "plate" models: see
 * detect.h. */
#include "preanno/detect.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

#include "base/buf.h"
#include "base/json.h"
#include "preanno/cascade.h"
#include "preanno/media_models.h"

#define HAAR_DIR "/usr/share/opencv4/haarcascades/"
static const char FRONTAL[] = HAAR_DIR "haarcascade_frontalface_default.xml";
static const char PROFILE[] = HAAR_DIR "haarcascade_profileface.xml";
static const char PLATE[] = HAAR_DIR "haarcascade_russian_plate_number.xml";

enum { MAX_PIXELS = 100 * 1000 * 1000 };
#define MERGE_IOU 0.3
#define SCORE_HALF 10.0

/* ---- libvips and decoding ----------------------------------------------------------------- */

static pthread_once_t vips_once = PTHREAD_ONCE_INIT;
static int vips_status;

static void vips_start_once(void)
{
    vips_status = vips_init("annot");
    /* No operation cache: it would keep decoded files (and their memory) alive after use and
     * could hand back a stale image of a file that has since been replaced. */
    if (vips_status == 0) vips_cache_set_max(0);
}

int an_vips_start(an_err *err)
{
    pthread_once(&vips_once, vips_start_once);
    if (vips_status != 0)
        return an_err_set(err, AN_EINTERNAL, "libvips", "libvips did not start; reinstall it");
    return 0;
}

static int vips_fail(an_err *err, const char *path, const char *what)
{
    char *msg = vips_error_buffer_copy();
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';
    int rc = an_err_set(err, AN_EINVAL, path, "%s: %.400s", what, n ? msg : "libvips failed");
    g_free(msg);
    return rc;
}

int an_gray_image_load(const char *path, an_gray_image *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = an_vips_start(err);
    if (rc) return rc;
    VipsImage *in = vips_image_new_from_file(path, NULL);
    if (!in) return vips_fail(err, path, "not an image libvips can read");
    if ((double)vips_image_get_width(in) * vips_image_get_height(in) > MAX_PIXELS) {
        g_object_unref(in);
        return an_err_set(err, AN_EINVAL, path,
                          "the image has more than %d pixels; shrink it before detecting",
                          MAX_PIXELS);
    }
    /* t[] holds every intermediate image; all are released below, whatever failed. */
    VipsImage *t[4] = {NULL, NULL, NULL, NULL};
    int vr = vips_autorot(in, &t[0], NULL);
    if (!vr) vr = vips_colourspace(t[0], &t[1], VIPS_INTERPRETATION_sRGB, NULL);
    if (!vr) vr = vips_extract_band(t[1], &t[2], 0, "n", 3, NULL);
    if (!vr) vr = vips_cast_uchar(t[2], &t[3], NULL);
    unsigned char *rgb = NULL;
    size_t size = 0;
    if (!vr) rgb = vips_image_write_to_memory(t[3], &size);
    int w = t[3] ? vips_image_get_width(t[3]) : 0, h = t[3] ? vips_image_get_height(t[3]) : 0;
    if (!rgb || size != (size_t)w * (size_t)h * 3)
        rc = vips_fail(err, path, "the image cannot be decoded");
    for (int i = 0; i < 4; i++)
        if (t[i]) g_object_unref(t[i]);
    g_object_unref(in);
    if (rc) {
        g_free(rgb);
        return rc;
    }
    out->px = an_xmalloc((size_t)w * (size_t)h);
    out->width = w;
    out->height = h;
    /* OpenCV's RGB-to-grey: weights 9798, 19235, 3735 over 2^15, rounded. */
    for (size_t i = 0, n = (size_t)w * (size_t)h; i < n; i++) {
        const unsigned char *p = rgb + 3 * i;
        out->px[i] = (uint8_t)((p[0] * 9798u + p[1] * 19235u + p[2] * 3735u + (1u << 14)) >> 15);
    }
    g_free(rgb);
    return 0;
}

void an_gray_image_free(an_gray_image *g)
{
    free(g->px);
    memset(g, 0, sizeof *g);
}

/* ---- detectors ---------------------------------------------------------------------------- */

struct an_detector {
    an_detect_kind kind;
    an_cascade *primary; /* frontal face or plate */
    an_cascade *profile; /* face only: run on the image and its mirror */
    an_cascade_opts co;
    int min_size;
};

void an_detector_close(an_detector *d)
{
    if (!d) return;
    an_cascade_free(d->primary);
    an_cascade_free(d->profile);
    free(d);
}

int an_detector_open(an_detect_kind kind, const an_detect_opts *opts, an_detector **out,
                     an_err *err)
{
    *out = NULL;
    an_detect_opts o = {0};
    if (opts) o = *opts;
    if (kind != AN_DETECT_FACE && kind != AN_DETECT_PLATE)
        return an_err_set(err, AN_EINVAL, "kind", "detect faces or plates");
    if (o.min_size < 0 || o.min_size > 100000)
        return an_err_set(err, AN_EINVAL, "min_size", "give a minimum size of 0 or more pixels");
    an_detector *d = an_xcalloc(1, sizeof *d);
    d->kind = kind;
    d->co.scale_factor = o.scale_factor;
    d->co.min_neighbors = o.min_neighbors > 0 ? o.min_neighbors : 3;
    d->min_size = o.min_size;
    d->co.min_width = d->co.min_height = o.min_size;
    const char *first = o.cascade ? o.cascade : kind == AN_DETECT_FACE ? FRONTAL : PLATE;
    int rc = an_cascade_load(first, &d->primary, err);
    if (!rc && kind == AN_DETECT_FACE && !o.cascade) rc = an_cascade_load(PROFILE, &d->profile, err);
    if (rc) {
        an_detector_close(d);
        return rc;
    }
    *out = d;
    return 0;
}

static double iou(const an_box *a, const an_box *b)
{
    double x0 = fmax(a->x, b->x), y0 = fmax(a->y, b->y);
    double x1 = fmin(a->x + a->width, b->x + b->width);
    double y1 = fmin(a->y + a->height, b->y + b->height);
    if (x1 <= x0 || y1 <= y0) return 0;
    double in = (x1 - x0) * (y1 - y0);
    return in / ((double)a->width * a->height + (double)b->width * b->height - in);
}

typedef struct boxes {
    an_box *v;
    size_t n, cap;
} boxes;

static void add_box(boxes *b, const an_detection *r, bool mirrored, int img_w)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 16;
        b->v = an_xrealloc(b->v, b->cap * sizeof *b->v);
    }
    an_box x = {r->x, r->y, r->width, r->height, r->neighbors,
                r->neighbors / (r->neighbors + SCORE_HALF)};
    if (mirrored) x.x = img_w - r->x - r->width;
    b->v[b->n++] = x;
}

/* Adds det[0..n) to b unless a box already there (from another cascade) overlaps it; then the
 * one with more neighbours stays. */
static void merge(boxes *b, size_t first_other, const an_detection *det, size_t n, bool mirrored,
                  int img_w)
{
    for (size_t i = 0; i < n; i++) {
        size_t before = b->n;
        add_box(b, &det[i], mirrored, img_w);
        an_box *nb = &b->v[before];
        for (size_t j = 0; j < first_other && j < before; j++) {
            if (iou(&b->v[j], nb) < MERGE_IOU) continue;
            if (nb->neighbors > b->v[j].neighbors) b->v[j] = *nb;
            b->n = before;
            break;
        }
    }
}

int an_detector_run(const an_detector *d, const an_gray_image *img, an_box **out, size_t *n,
                    an_err *err)
{
    *out = NULL;
    *n = 0;
    an_gray_view v = {img->px, img->width, img->height, (size_t)img->width};
    an_detection *det = NULL;
    size_t nd = 0;
    boxes b = {0};
    int rc = an_cascade_detect(d->primary, &v, &d->co, &det, &nd, err);
    if (!rc) merge(&b, 0, det, nd, false, img->width);
    free(det);
    if (!rc && d->profile) {
        size_t before = b.n;
        rc = an_cascade_detect(d->profile, &v, &d->co, &det, &nd, err);
        if (!rc) merge(&b, before, det, nd, false, img->width);
        free(det);
        if (!rc) {
            /* The mirror image, for faces turned the other way. */
            size_t w = (size_t)img->width;
            uint8_t *m = an_xmalloc(w * (size_t)img->height);
            for (int y = 0; y < img->height; y++) {
                const uint8_t *s = img->px + (size_t)y * w;
                uint8_t *t = m + (size_t)y * w;
                for (size_t x = 0; x < w; x++) t[x] = s[w - 1 - x];
            }
            an_gray_view mv = {m, img->width, img->height, w};
            size_t now = b.n;
            rc = an_cascade_detect(d->profile, &mv, &d->co, &det, &nd, err);
            if (!rc) merge(&b, now, det, nd, true, img->width);
            free(det);
            free(m);
        }
    }
    if (rc) {
        free(b.v);
        return rc;
    }
    *out = b.v;
    *n = b.n;
    return 0;
}

int an_detect(const char *image_path, an_detect_kind kind, an_box **out, size_t *n, an_err *err)
{
    *out = NULL;
    *n = 0;
    an_detector *d;
    int rc = an_detector_open(kind, NULL, &d, err);
    if (rc) return rc;
    an_gray_image g;
    rc = an_gray_image_load(image_path, &g, err);
    if (!rc) rc = an_detector_run(d, &g, out, n, err);
    an_gray_image_free(&g);
    an_detector_close(d);
    return rc;
}

/* ---- the models --------------------------------------------------------------------------- */

typedef struct state {
    an_detector *det;
    const an_control *control;
    const an_object *image;
    char *label;
    char *media_root;
    const char *model; /* "face" or "plate" */
} state;

static int image_rect_control(const an_config *cfg, const an_control *c, const char *model,
                              const an_object **img, an_err *err)
{
    *img = NULL;
    if (!c || c->tag != AN_TAG_RECTANGLELABELS)
        return an_err_set(err, AN_EINVAL, c ? c->name : "control",
                          "the %s model answers RectangleLabels controls; choose one on an "
                          "Image",
                          model);
    const an_object *o = c->n_to ? an_config_object(cfg, c->to_names[0]) : NULL;
    if (!o || o->tag != AN_TAG_IMAGE || !o->data_key)
        return an_err_set(err, AN_EINVAL, c->name,
                          "control \"%s\" does not answer an Image object reading a task field "
                          "($field); the %s model reads that image",
                          c->name, model);
    *img = o;
    return 0;
}

static int check_face(const an_config *cfg, const an_control *c, an_err *err)
{
    const an_object *o;
    return image_rect_control(cfg, c, "face", &o, err);
}

static int check_plate(const an_config *cfg, const an_control *c, an_err *err)
{
    const an_object *o;
    return image_rect_control(cfg, c, "plate", &o, err);
}

/* An option from opts, else from the stored model's params, else absent. */
static const json_t *opt(const json_t *opts, const an_model_data *model, const char *key)
{
    const json_t *v = json_object_get(opts, key);
    if (!v && model) v = json_object_get(model->params, key);
    return v;
}

static int open_kind(an_detect_kind kind, const char *model_name, const json_t *opts,
                     const an_model_data *model, const an_config *cfg, const an_control *c,
                     void **out, an_err *err)
{
    *out = NULL;
    const an_object *img;
    int rc = image_rect_control(cfg, c, model_name, &img, err);
    if (rc) return rc;
    json_t *merged = json_object();
    static const char *const keys[] = {"label", "cascade", "scale_factor", "min_neighbors",
                                       "min_size", "media_root"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const json_t *v = opt(opts, model, keys[i]);
        if (v) json_object_set(merged, keys[i], (json_t *)v);
    }
    const char *label = NULL, *cascade = NULL, *root = NULL;
    double sf = 1.1, mn = 3, ms = 0;
    rc = an_media_opt_label(merged, c, &label, err);
    if (!rc) rc = an_media_opt_str(merged, "cascade", NULL, &cascade, err);
    if (!rc) rc = an_media_opt_str(merged, "media_root", NULL, &root, err);
    if (!rc) rc = an_media_opt_num(merged, "scale_factor", 1.1, 1.01, 3, &sf, err);
    if (!rc) rc = an_media_opt_num(merged, "min_neighbors", 3, 1, 100, &mn, err);
    if (!rc) rc = an_media_opt_num(merged, "min_size", 0, 0, 10000, &ms, err);
    if (!rc && (mn != floor(mn) || ms != floor(ms)))
        rc = an_err_set(err, AN_EINVAL, "opts.min_neighbors",
                        "min_neighbors and min_size are whole numbers");
    an_detector *d = NULL;
    if (!rc) {
        an_detect_opts o = {cascade, sf, (int)mn, (int)ms};
        rc = an_detector_open(kind, &o, &d, err);
    }
    if (!rc) {
        state *s = an_xcalloc(1, sizeof *s);
        s->det = d;
        s->control = c;
        s->image = img;
        s->label = an_xstrdup(label);
        s->media_root = root ? an_xstrdup(root) : NULL;
        s->model = model_name;
        *out = s;
    }
    json_decref(merged);
    return rc;
}

static int open_face(const json_t *opts, const an_model_data *model, const an_config *cfg,
                     const an_control *c, void **st, an_err *err)
{
    return open_kind(AN_DETECT_FACE, "face", opts, model, cfg, c, st, err);
}

static int open_plate(const json_t *opts, const an_model_data *model, const an_config *cfg,
                      const an_control *c, void **st, an_err *err)
{
    return open_kind(AN_DETECT_PLATE, "plate", opts, model, cfg, c, st, err);
}

static json_t *region(const state *s, size_t k, const an_box *b, int iw, int ih)
{
    char id[32];
    snprintf(id, sizeof id, "%s%zu", s->model, k + 1);
    /* Percent of the upright image; the box is inside it, so x + width <= 100 holds. */
    double x = 100.0 * b->x / iw, y = 100.0 * b->y / ih;
    double w = 100.0 * b->width / iw, h = 100.0 * b->height / ih;
    json_t *value = json_pack("{s:f,s:f,s:f,s:f,s:i,s:[s]}", "x", x, "y", y, "width", w,
                              "height", h, "rotation", 0, "rectanglelabels", s->label);
    return json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:o,s:f}", "id", id, "from_name",
                     s->control->name, "to_name", s->image->name, "type", "rectanglelabels",
                     "original_width", iw, "original_height", ih, "image_rotation", 0, "value",
                     value, "score", b->score);
}

static int predict(void *st, const an_pred_task *tasks, size_t n, an_pred_out *out, an_err *err)
{
    state *s = st;
    an_buf path;
    an_buf_init(&path);
    for (size_t i = 0; i < n; i++) {
        an_pred_out *o = &out[i];
        memset(o, 0, sizeof *o);
        o->score = NAN;
        o->rc = an_media_task_path(s->image, tasks[i].data, s->media_root, s->model, &path,
                                   &o->err);
        an_gray_image g = {0};
        if (!o->rc) o->rc = an_gray_image_load(path.p, &g, &o->err);
        an_box *b = NULL;
        size_t nb = 0;
        if (!o->rc) o->rc = an_detector_run(s->det, &g, &b, &nb, &o->err);
        if (!o->rc) {
            o->result = json_array();
            for (size_t k = 0; k < nb; k++) {
                json_array_append_new(o->result, region(s, k, &b[k], g.width, g.height));
                if (isnan(o->score) || b[k].score > o->score) o->score = b[k].score;
            }
        }
        free(b);
        an_gray_image_free(&g);
    }
    an_buf_free(&path);
    return 0;
}

static void close_state(void *st)
{
    state *s = st;
    if (!s) return;
    an_detector_close(s->det);
    free(s->label);
    free(s->media_root);
    free(s);
}

/* Nothing to learn: the options become the stored version's params, so that `annot predict`
 * runs the detector with them. The detector is opened once to check them. */
static int train_kind(an_detect_kind kind, const char *name, const json_t *opts,
                      const an_config *cfg, const an_control *c, size_t n_examples,
                      an_trained *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    void *st;
    int rc = open_kind(kind, name, opts, NULL, cfg, c, &st, err);
    if (rc) return rc;
    state *s = st;
    json_t *params = json_pack("{s:s}", "label", s->label);
    static const char *const keys[] = {"cascade", "scale_factor", "min_neighbors", "min_size",
                                       "media_root"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(opts, keys[i]);
        if (v) json_object_set(params, keys[i], v);
    }
    close_state(st);
    an_buf_init(&out->blob);
    out->params = params;
    out->metrics = json_pack("{s:s,s:I}", "trained", "nothing: a pretrained OpenCV cascade",
                             "examples_seen", (json_int_t)n_examples);
    return 0;
}

static int train_face(const json_t *opts, const an_config *cfg, const an_control *c,
                      const an_train_example *ex, size_t n, an_trained *out, an_err *err)
{
    (void)ex;
    return train_kind(AN_DETECT_FACE, "face", opts, cfg, c, n, out, err);
}

static int train_plate(const json_t *opts, const an_config *cfg, const an_control *c,
                       const an_train_example *ex, size_t n, an_trained *out, an_err *err)
{
    (void)ex;
    return train_kind(AN_DETECT_PLATE, "plate", opts, cfg, c, n, out, err);
}

const an_predictor_ops an_face_ops = {
    .name = "face",
    .batch = 1,
    .summary = "faces (OpenCV frontal and profile Haar cascades) as rectangles",
    .check_control = check_face,
    .open = open_face,
    .predict = predict,
    .train = train_face,
    .close = close_state,
};

const an_predictor_ops an_plate_ops = {
    .name = "plate",
    .batch = 1,
    .summary = "licence plates (OpenCV Haar cascade) as rectangles",
    .check_control = check_plate,
    .open = open_plate,
    .predict = predict,
    .train = train_plate,
    .close = close_state,
};
