/* COCO instances JSON (detection and segmentation), one document per dataset.
 *
 * Import: one task per entry of "images" (data {KEY: absolute image path}), with one
 * annotation holding a result item per COCO annotation: its bbox as a rectangle, or its
 * polygon segmentation as polygons when the config has a PolygonLabels control. Category ids
 * need not be contiguous: they are mapped by id to names, and a name must be a label of the
 * control its region goes to, else the image's record is rejected. Limits, said plainly:
 * Label Studio results have no place for iscrowd or area, so crowd regions (RLE masks) come
 * in as their bbox and iscrowd/area are not kept; an annotation whose segmentation has
 * several polygons becomes several polygon items.
 *
 * Export: {"info", "categories", "images", "annotations"} with images and annotations
 * streamed (annotations go to a temporary file while images are written, and are appended
 * at the end), so memory stays bounded by one task. Categories are the labels of the first
 * RectangleLabels then the first PolygonLabels control, ids 0..n-1 in config order, as Label
 * Studio numbers them. */
#include "formats/format.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/jscan.h"
#include "base/json.h"
#include "formats/geom.h"
#include "formats/media.h"

/* Boxes and polygons reaching at most this far (in pixels) outside the image are clamped to
 * it: real COCO files carry such rounding slop. Anything further is a reject. */
#define EDGE_SLOP 1.0

/* ---- sniff -------------------------------------------------------------------------- */

static bool has(const unsigned char *head, size_t n, const char *s)
{
    return memmem(head, n, s, strlen(s)) != NULL;
}

static int coco_sniff(const char *path, bool is_dir, const unsigned char *head, size_t n)
{
    if (is_dir) return 0;
    size_t i = 0;
    if (n >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF) i = 3;
    while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\n' || head[i] == '\r'))
        i++;
    if (i >= n || head[i] != '{') return 0;
    /* Only the first bytes are seen, and the annotations of a big file come after all of
     * its images: an "images" key beside any other COCO key is enough. */
    if (!has(head, n, "\"images\"")) return 0;
    if (has(head, n, "\"annotations\"") || has(head, n, "\"categories\"") ||
        has(head, n, "\"file_name\""))
        return 90;
    return 0;
}

/* ---- import ------------------------------------------------------------------------- */

typedef struct id_ix {
    json_int_t id;
    size_t ix;
} id_ix;

static int cmp_id_ix(const void *a, const void *b)
{
    const id_ix *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->ix < y->ix ? -1 : x->ix > y->ix;
}

static const id_ix *find_id(const id_ix *v, size_t n, json_int_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo].id == id ? &v[lo] : NULL;
}

typedef struct reader {
    const char *path;
    const an_geom_target *tg;
    const an_import_sink *sink;
    json_t *images, *anns, *cats;
    id_ix *cat_ids; /* sorted by id; ix indexes cats */
    size_t n_cats;
    size_t *order; /* annotation indices grouped by image */
    size_t *start; /* order[start[k] .. start[k+1]) belong to image k */
    double *xy;    /* polygon scratch, reused across annotations */
    size_t xy_cap;
    an_buf where, reason, img_path;
    char base[PATH_MAX]; /* absolute folder of the JSON file */
} reader;

/* Sends a reject at r->where. Returns the sink's answer: 0 to go on, negative to stop. */
static int reject(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reject(reader *r, const char *fmt, ...)
{
    va_list ap;
    an_buf_reset(&r->reason);
    va_start(ap, fmt);
    an_buf_vaddf(&r->reason, fmt, ap);
    va_end(ap);
    int rc = r->sink->reject(r->sink->ud, r->where.p, r->reason.p);
    return rc < 0 ? rc : 0;
}

/* For add_annotation: 1 (record rejected, go on) or the sink's negative code. */
static int rejected(int rc)
{
    return rc < 0 ? rc : 1;
}

static void set_where(reader *r, const char *array, size_t i, const char *field)
{
    an_buf_reset(&r->where);
    an_buf_addf(&r->where, "%s:$.%s[%zu]%s", r->path, array, i, field ? field : "");
}

static bool int_member(const json_t *o, const char *key, json_int_t *out)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) return false;
    *out = json_integer_value(v);
    return true;
}

/* Fits a coordinate range [lo, lo+len] into [0, size], allowing EDGE_SLOP. */
static bool fit(double *lo, double *len, double size)
{
    if (!isfinite(*lo) || !isfinite(*len) || *len < 0) return false;
    if (*lo < -EDGE_SLOP || *lo + *len > size + EDGE_SLOP) return false;
    double a = fmax(*lo, 0), b = fmin(*lo + *len, size);
    if (a != *lo || b != *lo + *len) *lo = a, *len = fmax(b - a, 0);
    return true;
}

static bool fit_point(double *v, double size)
{
    if (!isfinite(*v) || *v < -EDGE_SLOP || *v > size + EDGE_SLOP) return false;
    *v = fmin(fmax(*v, 0), size);
    return true;
}

/* Reads segmentation polygon part p (a flat [x0, y0, x1, y1, …] list) into r->xy. Returns
 * the point count, 0 when malformed. */
static size_t read_polygon(reader *r, const json_t *p, double W, double H)
{
    size_t n = json_array_size(p);
    if (!json_is_array(p) || n < 6 || n % 2) return 0;
    if (n > r->xy_cap) {
        r->xy_cap = n * 2;
        r->xy = an_xrealloc(r->xy, r->xy_cap * sizeof *r->xy);
    }
    for (size_t k = 0; k < n; k++) {
        if (!an_json_number(json_array_get(p, k), &r->xy[k])) return 0;
        if (!fit_point(&r->xy[k], k % 2 ? H : W)) return 0;
    }
    return n / 2;
}

/* Adds the result items of annotation ai (for an image of W × H) to result. Returns 0, or
 * 1 after rejecting the image's record, or a negative code from the sink. */
static int add_annotation(reader *r, size_t ai, double W, double H, json_t *result, size_t *item_no)
{
    const json_t *a = json_array_get(r->anns, ai);
    json_int_t cid;
    char id[32];
    set_where(r, "annotations", ai, NULL);
    if (!int_member(a, "category_id", &cid))
        return rejected(reject(r, "the annotation has no integer category_id"));
    const id_ix *c = find_id(r->cat_ids, r->n_cats, cid);
    if (!c) return rejected(reject(r, "category_id %lld is not in categories", (long long)cid));
    const char *name = an_json_str(json_array_get(r->cats, c->ix), "name");

    const json_t *seg = json_object_get(a, "segmentation");
    /* Polygons are a list of flat lists; an object is an RLE mask (iscrowd = 1), which
     * Label Studio results cannot hold: such regions come in as their bbox. */
    bool polys = json_is_array(seg) && json_array_size(seg) > 0;
    bool as_poly = polys && r->tg->poly;
    const an_control *ctl = as_poly || !r->tg->rect ? r->tg->poly : r->tg->rect;
    const char *to = ctl == r->tg->rect ? r->tg->rect_to : r->tg->poly_to;
    int li = an_geom_label_index(ctl, name);
    if (li < 0)
        return rejected(reject(r,
                               "category \"%s\" (id %lld) is not a label of %s \"%s\"; add it to "
                               "the labeling config or leave these annotations out",
                               name, (long long)cid, an_tag_name(ctl->tag), ctl->name));
    const char *label = ctl->labels[li];

    if (as_poly) {
        for (size_t p = 0; p < json_array_size(seg); p++) {
            size_t n = read_polygon(r, json_array_get(seg, p), W, H);
            if (!n) {
                an_buf_addf(&r->where, ".segmentation[%zu]", p);
                return rejected(reject(r,
                                       "a polygon must be a list of at least 3 x, y pixel pairs "
                                       "inside the %gx%g image",
                                       W, H));
            }
            snprintf(id, sizeof id, "r%zu", ++*item_no);
            json_array_append_new(result, an_geom_poly_item(id, ctl, to, W, H, r->xy, n, label));
        }
        return 0;
    }

    double b[4];
    const json_t *bbox = json_object_get(a, "bbox");
    bool ok = json_is_array(bbox) && json_array_size(bbox) == 4;
    for (size_t k = 0; ok && k < 4; k++)
        ok = an_json_number(json_array_get(bbox, k), &b[k]);
    if (!ok && polys) {
        /* No bbox but a polygon: its bounding box stands in. */
        size_t n = read_polygon(r, json_array_get(seg, 0), W, H);
        if (n) {
            b[0] = b[1] = INFINITY, b[2] = b[3] = -INFINITY;
            for (size_t k = 0; k < n; k++) {
                b[0] = fmin(b[0], r->xy[2 * k]), b[2] = fmax(b[2], r->xy[2 * k]);
                b[1] = fmin(b[1], r->xy[2 * k + 1]), b[3] = fmax(b[3], r->xy[2 * k + 1]);
            }
            b[2] -= b[0], b[3] -= b[1];
            ok = true;
        }
    }
    an_buf_adds(&r->where, ".bbox");
    if (!ok)
        return rejected(reject(r, "the annotation needs a bbox [x, y, width, height] in pixels"));
    if (!fit(&b[0], &b[2], W) || !fit(&b[1], &b[3], H))
        return rejected(reject(r, "bbox [%g, %g, %g, %g] does not lie inside the %gx%g image", b[0],
                               b[1], b[2], b[3], W, H));
    snprintf(id, sizeof id, "r%zu", ++*item_no);
    if (ctl == r->tg->rect) {
        json_array_append_new(result,
                              an_geom_rect_item(id, ctl, to, W, H, b[0], b[1], b[2], b[3], label));
    } else {
        double xy[8] = {b[0], b[1], b[0] + b[2], b[1], b[0] + b[2], b[1] + b[3], b[0], b[1] + b[3]};
        json_array_append_new(result, an_geom_poly_item(id, ctl, to, W, H, xy, 4, label));
    }
    return 0;
}

static void resolve_path(reader *r, const char *file_name)
{
    an_buf_reset(&r->img_path);
    if (file_name[0] != '/' && !strstr(file_name, "://")) {
        an_buf_adds(&r->img_path, r->base);
        an_buf_addc(&r->img_path, '/');
    }
    an_buf_adds(&r->img_path, file_name);
}

/* Reads image k and its annotations into one record for the sink. */
static int read_image(reader *r, size_t k, an_err *err)
{
    const json_t *img = json_array_get(r->images, k);
    json_int_t id;
    double W = 0, H = 0;
    const char *file_name = an_json_str(img, "file_name");
    size_t n_anns = r->start[k + 1] - r->start[k];
    set_where(r, "images", k, NULL);
    if (!json_is_object(img) || !int_member(img, "id", &id) || !file_name || !*file_name)
        return reject(r, "an image needs an integer id and a file_name");
    bool sized = an_json_number(json_object_get(img, "width"), &W) &&
                 an_json_number(json_object_get(img, "height"), &H) && isfinite(W) && isfinite(H) &&
                 W > 0 && H > 0;
    if (n_anns && !sized)
        return reject(r, "image %lld has annotations but no positive width and height",
                      (long long)id);
    resolve_path(r, file_name);

    json_t *result = n_anns ? json_array() : NULL;
    size_t item_no = 0;
    for (size_t j = r->start[k]; j < r->start[k + 1]; j++) {
        int rc = add_annotation(r, r->order[j], W, H, result, &item_no);
        if (rc) {
            json_decref(result);
            return rc < 0 ? rc : 0;
        }
    }
    an_record rec = {0};
    rec.data = json_object();
    json_object_set_new(rec.data, r->tg->data_key, json_string(r->img_path.p));
    if (result) {
        json_t *ann = json_object();
        json_object_set_new(ann, "result", result);
        rec.annotations = json_array();
        json_array_append_new(rec.annotations, ann);
    }
    set_where(r, "images", k, NULL);
    rec.where = r->where.p;
    int rc = 0;
    if (!rec.data || !json_object_get(rec.data, r->tg->data_key)) {
        /* json_string refuses invalid UTF-8; Jansson already checked the file, so this
         * only guards the joined path. */
        rc = reject(r, "the image path is not valid UTF-8");
    } else {
        rc = r->sink->record(r->sink->ud, &rec, err);
    }
    json_decref(rec.data);
    json_decref(rec.annotations);
    return rc;
}

/* Maps category ids to names; a broken category list is an error for the whole file since
 * no annotation could be trusted to the right label. */
static int load_categories(reader *r, an_err *err)
{
    r->n_cats = json_array_size(r->cats);
    r->cat_ids = an_xcalloc(r->n_cats, sizeof *r->cat_ids);
    for (size_t i = 0; i < r->n_cats; i++) {
        const json_t *c = json_array_get(r->cats, i);
        set_where(r, "categories", i, NULL);
        if (!int_member(c, "id", &r->cat_ids[i].id) || !an_json_str(c, "name"))
            return an_err_set(err, AN_EINVAL, r->where.p,
                              "a category needs an integer id and a name");
        r->cat_ids[i].ix = i;
    }
    qsort(r->cat_ids, r->n_cats, sizeof *r->cat_ids, cmp_id_ix);
    for (size_t i = 1; i < r->n_cats; i++)
        if (r->cat_ids[i].id == r->cat_ids[i - 1].id) {
            set_where(r, "categories", r->cat_ids[i].ix, ".id");
            return an_err_set(err, AN_EINVAL, r->where.p,
                              "category id %lld appears twice; give each category its own id",
                              (long long)r->cat_ids[i].id);
        }
    return 0;
}

/* Groups annotation indices by image (counting sort on the image's position), rejecting
 * annotations whose image is missing. Duplicate image ids: the first image wins and the
 * later one is rejected. */
static int group_annotations(reader *r, bool *dup)
{
    size_t ni = json_array_size(r->images), na = json_array_size(r->anns);
    id_ix *imgs = an_xcalloc(ni, sizeof *imgs);
    size_t m = 0;
    for (size_t i = 0; i < ni; i++)
        if (int_member(json_array_get(r->images, i), "id", &imgs[m].id)) imgs[m++].ix = i;
    qsort(imgs, m, sizeof *imgs, cmp_id_ix);
    size_t u = 0;
    for (size_t i = 0; i < m; i++) {
        if (u && imgs[u - 1].id == imgs[i].id) {
            dup[imgs[i].ix] = true;
            continue;
        }
        imgs[u++] = imgs[i];
    }
    size_t *img_of = an_xmalloc((na ? na : 1) * sizeof *img_of);
    r->start = an_xcalloc(ni + 2, sizeof *r->start);
    int rc = 0;
    for (size_t a = 0; a < na && rc == 0; a++) {
        json_int_t iid;
        const id_ix *hit = NULL;
        img_of[a] = SIZE_MAX;
        set_where(r, "annotations", a, ".image_id");
        if (!int_member(json_array_get(r->anns, a), "image_id", &iid))
            rc = reject(r, "the annotation has no integer image_id");
        else if (!(hit = find_id(imgs, u, iid)))
            rc = reject(r, "image_id %lld is not in images", (long long)iid);
        else
            r->start[hit->ix + 2]++, img_of[a] = hit->ix;
    }
    for (size_t k = 2; k < ni + 2; k++)
        r->start[k] += r->start[k - 1];
    r->order = an_xmalloc((na ? na : 1) * sizeof *r->order);
    for (size_t a = 0; a < na; a++)
        if (img_of[a] != SIZE_MAX) r->order[r->start[img_of[a] + 1]++] = a;
    free(img_of);
    free(imgs);
    return rc;
}

static int coco_read(const char *path, const an_config *cfg, const an_import_sink *sink,
                     an_err *err)
{
    an_geom_target tg;
    int rc = an_geom_target_find(cfg, "coco", &tg, err);
    if (rc) return rc;
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        char place[PATH_MAX + 32];
        if (je.line < 1) return an_err_set(err, AN_EIO, path, "cannot read %s: %s", path, je.text);
        snprintf(place, sizeof place, "%s:%d:%d", path, je.line, je.column);
        return an_err_set(err, AN_EINVAL, place, "malformed JSON: %s", je.text);
    }
    reader r = {.path = path, .tg = &tg, .sink = sink};
    an_buf_init(&r.where);
    an_buf_init(&r.reason);
    an_buf_init(&r.img_path);
    bool *dup = NULL;
    r.images = json_object_get(root, "images");
    r.anns = json_object_get(root, "annotations");
    r.cats = json_object_get(root, "categories");
    char *real = realpath(path, NULL);
    if (!json_is_object(root) || !json_is_array(r.images) || (r.anns && !json_is_array(r.anns)) ||
        (r.cats && !json_is_array(r.cats))) {
        rc = an_err_set(err, AN_EINVAL, path,
                        "not a COCO file: expected an object with an \"images\" array and "
                        "optional \"annotations\" and \"categories\" arrays");
        goto out;
    }
    if (!real) {
        rc = an_err_set(err, AN_EIO, path, "cannot resolve %s: %s", path, strerror(errno));
        goto out;
    }
    char *slash = strrchr(real, '/');
    snprintf(r.base, sizeof r.base, "%.*s", (int)(slash ? slash - real : 0), real);
    if ((rc = load_categories(&r, err))) goto out;
    size_t ni = json_array_size(r.images);
    dup = an_xcalloc(ni ? ni : 1, sizeof *dup);
    if ((rc = group_annotations(&r, dup))) goto out;
    for (size_t k = 0; k < ni && rc == 0; k++) {
        if (dup[k]) {
            set_where(&r, "images", k, ".id");
            rc = reject(
                &r, "image id %lld appears twice; its first entry is used",
                (long long)json_integer_value(json_object_get(json_array_get(r.images, k), "id")));
        } else {
            rc = read_image(&r, k, err);
        }
        if (sink->progress) sink->progress(sink->ud, k + 1, ni);
    }
    if (rc > 0) rc = -AN_EINTERNAL; /* a sink must return 0 or a negative code */
out:
    free(real);
    free(dup);
    free(r.cat_ids);
    free(r.order);
    free(r.start);
    free(r.xy);
    an_buf_free(&r.where);
    an_buf_free(&r.reason);
    an_buf_free(&r.img_path);
    json_decref(root);
    return rc;
}

/* ---- export ------------------------------------------------------------------------- */

typedef struct writer {
    an_geom_target tg;
    const char **cats; /* category names, id = index */
    size_t n_cats;
    FILE *anns;  /* annotations, appended to the output at the end */
    an_buf abuf; /* annotation text not yet flushed to anns */
    bool any_image, any_ann;
    long long next_ann_id;
    an_buf path;  /* the task's image path, unescaped */
    an_buf label; /* a label being named in an error */
    double *pts;  /* a polygon's points in percent (x0, y0, x1, y1, …), reused */
    size_t pts_cap;
} writer;

static void add_cats(writer *w, const an_control *c)
{
    for (size_t i = 0; c && i < c->n_labels; i++) {
        bool seen = false;
        for (size_t j = 0; j < w->n_cats && !seen; j++)
            seen = strcmp(w->cats[j], c->labels[i]) == 0;
        if (!seen) w->cats[w->n_cats++] = c->labels[i];
    }
}

static int cat_id(const writer *w, const an_jstr *label)
{
    for (size_t i = 0; i < w->n_cats; i++)
        if (an_jstr_eq(label, w->cats[i])) return (int)i;
    return -1;
}

static int coco_export_begin(an_export_ctx *ctx, an_err *err)
{
    writer *w = an_xcalloc(1, sizeof *w);
    int rc = an_geom_target_find(ctx->config, "coco", &w->tg, err);
    if (rc) {
        free(w);
        return rc;
    }
    size_t cap = (w->tg.rect ? w->tg.rect->n_labels : 0) + (w->tg.poly ? w->tg.poly->n_labels : 0);
    w->cats = an_xcalloc(cap ? cap : 1, sizeof *w->cats);
    add_cats(w, w->tg.rect);
    add_cats(w, w->tg.poly);
    w->next_ann_id = 1;
    an_buf_init(&w->abuf);
    an_buf_init(&w->path);
    an_buf_init(&w->label);
    w->anns = tmpfile();
    if (!w->anns) {
        rc = an_err_set(err, AN_EIO, "coco", "cannot create a temporary file: %s", strerror(errno));
        free(w->cats);
        free(w);
        return rc;
    }
    ctx->state = w;
    an_buf *b = &ctx->scratch;
    an_buf_reset(b);
    an_buf_adds(b, "{\"info\":{\"description\":");
    const char *pn = ctx->project_name ? ctx->project_name : "";
    an_json_write_string(b, pn, strlen(pn));
    an_buf_adds(b, "},\"categories\":[");
    for (size_t i = 0; i < w->n_cats; i++) {
        an_buf_addf(b, "%s{\"id\":%zu,\"name\":", i ? "," : "", i);
        an_json_write_string(b, w->cats[i], strlen(w->cats[i]));
        an_buf_addc(b, '}');
    }
    an_buf_adds(b, "],\"images\":[");
    if (fwrite(b->p, 1, b->len, ctx->out) != b->len) {
        rc = an_err_set(err, AN_EIO, "coco", "cannot write the export: %s", strerror(errno));
        fclose(w->anns);
        free(w->cats);
        free(w);
        ctx->state = NULL;
    }
    return rc;
}

/* The export reads stored results with the pull scanner rather than Jansson: building and
 * freeing a tree for every task's result was most of an export's time. What it accepts and
 * the errors it gives are an_geom_box_read's (formats/geom.c), in the same order; JSON that
 * is not well formed is refused wherever it is, as Jansson refuses it. */

enum { R_X, R_Y, R_W, R_H, R_ROT, R_NUMS };

/* One result item as read from the text. For duplicate keys the last one counts, as with
 * Jansson. */
typedef struct region {
    bool has_type; /* "type" is a string */
    int kind;      /* 1 rectanglelabels, 2 polygonlabels, 0 another type */
    double img_w, img_h;
    bool has_w, has_h;
    const char *val; /* "value" text, NULL when missing */
    size_t val_len;
    int val_kind; /* the kind the value was read for; -1 when it was not read */
    /* from the value object */
    bool val_obj;
    double num[R_NUMS];
    bool has_num[R_NUMS];
    const char *labels; /* the label array's text, NULL when missing */
    size_t labels_len;
    size_t n_pts;  /* points read into w->pts */
    size_t bad_pt; /* first point that is not [x, y] numbers; SIZE_MAX when none */
    /* in pixels */
    double W, H, x, y, w, h;
} region;

static const char *const num_keys[R_NUMS] = {"x", "y", "width", "height", "rotation"};

/* Reads a number member's value: sets *has to whether it is a number. */
static int read_num(an_jscan *s, double *v, bool *has)
{
    *has = an_jscan_peek(s) == AN_JNUMBER;
    return *has ? an_jscan_number(s, v) : an_jscan_skip(s);
}

static void add_point(writer *w, region *g, double x, double y)
{
    if (2 * g->n_pts + 2 > w->pts_cap) {
        w->pts_cap = w->pts_cap ? 2 * w->pts_cap : 64;
        w->pts = an_xrealloc(w->pts, w->pts_cap * sizeof *w->pts);
    }
    w->pts[2 * g->n_pts] = x, w->pts[2 * g->n_pts + 1] = y;
    g->n_pts++;
}

/* Reads point k of "points" (cursor at it) into w->pts, or notes it as malformed. */
static int read_point(an_jscan *s, writer *w, region *g, size_t k)
{
    double xy[2];
    bool ok = an_jscan_peek(s) == AN_JARRAY, open = ok;
    if (ok && an_jscan_array(s) < 0) return -AN_EINVAL;
    for (int c = 0; ok && c < 2; c++) {
        int e = an_jscan_element(s);
        if (e < 0) return -AN_EINVAL;
        open = e == 1;
        ok = open && an_jscan_peek(s) == AN_JNUMBER;
        if (ok && an_jscan_number(s, &xy[c]) < 0) return -AN_EINVAL;
    }
    if (open && an_jscan_leave(s) < 0) return -AN_EINVAL; /* extra elements are ignored */
    if (ok) {
        add_point(w, g, xy[0], xy[1]);
    } else {
        if (g->bad_pt == SIZE_MAX) g->bad_pt = k;
        add_point(w, g, 0, 0);
    }
    return 0;
}

/* Reads "points": [[x, y], …] (in percent) into w->pts. */
static int read_points(an_jscan *s, writer *w, region *g)
{
    g->n_pts = 0;
    g->bad_pt = SIZE_MAX;
    if (an_jscan_peek(s) != AN_JARRAY) return an_jscan_skip(s);
    if (an_jscan_array(s) < 0) return -AN_EINVAL;
    int r;
    for (size_t k = 0; (r = an_jscan_element(s)) == 1; k++)
        if (read_point(s, w, g, k) < 0) return -AN_EINVAL;
    return r;
}

/* Reads the value object at the cursor for an item of kind g->kind. */
static int read_value(an_jscan *s, writer *w, region *g)
{
    g->val_kind = g->kind;
    g->val_obj = an_jscan_peek(s) == AN_JOBJECT;
    g->n_pts = 0;
    g->bad_pt = SIZE_MAX;
    g->labels = NULL;
    memset(g->has_num, 0, sizeof g->has_num);
    if (!g->val_obj) return an_jscan_skip(s);
    const char *label_key = g->kind == 1 ? "rectanglelabels" : "polygonlabels";
    an_jstr k;
    int r = an_jscan_object(s);
    while (r == 0 && (r = an_jscan_member(s, &k)) == 1) {
        r = 0;
        if (an_jstr_eq(&k, label_key)) {
            r = an_jscan_raw(s, &g->labels, &g->labels_len);
        } else if (g->kind == 2 && an_jstr_eq(&k, "points")) {
            r = read_points(s, w, g);
        } else if (g->kind == 1) {
            for (int i = 0; i < R_NUMS; i++)
                if (an_jstr_eq(&k, num_keys[i])) {
                    r = read_num(s, &g->num[i], &g->has_num[i]);
                    break;
                }
        }
    }
    return r < 0 ? -AN_EINVAL : 0;
}

static int read_item(an_jscan *s, writer *w, region *g)
{
    memset(g, 0, sizeof *g);
    g->val_kind = -1;
    if (an_jscan_peek(s) != AN_JOBJECT) return an_jscan_skip(s);
    if (an_jscan_object(s) < 0) return -AN_EINVAL;
    an_jstr k;
    int r;
    while ((r = an_jscan_member(s, &k)) == 1) {
        if (an_jstr_eq(&k, "type")) {
            an_jstr t;
            g->has_type = an_jscan_peek(s) == AN_JSTRING;
            if (!g->has_type) continue; /* skipped by the next an_jscan_member */
            if (an_jscan_string(s, &t) < 0) return -AN_EINVAL;
            g->kind = an_jstr_eq(&t, "rectanglelabels") ? 1
                      : an_jstr_eq(&t, "polygonlabels") ? 2
                                                        : 0;
        } else if (an_jstr_eq(&k, "original_width")) {
            if (read_num(s, &g->img_w, &g->has_w) < 0) return -AN_EINVAL;
        } else if (an_jstr_eq(&k, "original_height")) {
            if (read_num(s, &g->img_h, &g->has_h) < 0) return -AN_EINVAL;
        } else if (an_jstr_eq(&k, "value")) {
            /* Stored results name the type first, so the value is read in the same pass;
             * otherwise it is kept as text and read once the type is known. */
            an_jscan_peek(s);
            g->val = s->text + s->pos;
            g->val_kind = -1;
            if (g->has_type && g->kind != 0) {
                if (read_value(s, w, g) < 0) return -AN_EINVAL;
            } else if (an_jscan_skip(s) < 0) {
                return -AN_EINVAL;
            }
            g->val_len = (size_t)(s->text + s->pos - g->val);
        }
    }
    return r;
}

/* The labels array holds at least one element and the first is a string. */
static bool labels_ok(const region *g)
{
    an_jscan s;
    if (!g->labels) return false;
    an_jscan_init(&s, g->labels, g->labels_len);
    return an_jscan_peek(&s) == AN_JARRAY && an_jscan_array(&s) == 0 && an_jscan_element(&s) == 1 &&
           an_jscan_peek(&s) == AN_JSTRING;
}

static int region_err(an_err *err, size_t i, const char *field, const char *msg)
{
    char where[96];
    snprintf(where, sizeof where, "result[%zu]%s", i, field);
    return an_err_set(err, AN_EINVAL, where, "%s", msg);
}

/* Checks item i and puts it in pixels, as an_geom_box_read does. Returns 1 for a region, 0
 * for an item of another type, or AN_EINVAL. */
static int check_region(writer *w, region *g, size_t i, double fb_w, double fb_h, an_err *err)
{
    char field[64];
    if (!g->has_type) return region_err(err, i, ".type", "result item has no type");
    if (g->kind == 0) return 0;
    if (g->val && g->val_kind != g->kind) {
        an_jscan vs;
        an_jscan_init(&vs, g->val, g->val_len);
        /* The text was checked when it was skipped. */
        if (read_value(&vs, w, g) < 0)
            return region_err(err, i, ".value", "the value is not well-formed JSON");
    }
    if (!g->val || !g->val_obj)
        return region_err(err, i, ".value", "result item has no value object");
    g->W = g->has_w && g->img_w > 0 ? g->img_w : fb_w;
    g->H = g->has_h && g->img_h > 0 ? g->img_h : fb_h;
    if (!(g->W > 0) || !(g->H > 0))
        return region_err(err, i, ".original_width",
                          "the region has no original_width/original_height and the image "
                          "size is unknown; store the image size with the region");
    if (!labels_ok(g)) {
        snprintf(field, sizeof field, ".value.%s",
                 g->kind == 1 ? "rectanglelabels" : "polygonlabels");
        return region_err(err, i, field, "the region has no label");
    }
    double W = g->W, H = g->H;
    if (g->kind == 2) {
        if (g->n_pts < 3)
            return region_err(err, i, ".value.points", "a polygon needs at least 3 points");
        if (g->bad_pt != SIZE_MAX) {
            snprintf(field, sizeof field, ".value.points[%zu]", g->bad_pt);
            return region_err(err, i, field, "a point must be [x, y] numbers");
        }
        double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
        for (size_t k = 0; k < g->n_pts; k++) {
            double px = w->pts[2 * k] * W / 100.0, py = w->pts[2 * k + 1] * H / 100.0;
            x0 = fmin(x0, px), y0 = fmin(y0, py), x1 = fmax(x1, px), y1 = fmax(y1, py);
        }
        g->x = x0, g->y = y0, g->w = x1 - x0, g->h = y1 - y0;
        return 1;
    }
    for (int k = 0; k < R_ROT; k++)
        if (!g->has_num[k]) {
            snprintf(field, sizeof field, ".value.%s", num_keys[k]);
            return region_err(err, i, field, "a rectangle needs a number here");
        }
    double rot = g->has_num[R_ROT] ? g->num[R_ROT] : 0;
    g->x = g->num[R_X] * W / 100.0, g->y = g->num[R_Y] * H / 100.0;
    g->w = g->num[R_W] * W / 100.0, g->h = g->num[R_H] * H / 100.0;
    if (fmod(rot, 360.0) != 0.0) {
        /* Corners of the rectangle turned about its top-left corner, in pixels (the turn
         * happens on the image, where x and y have the same scale). */
        double t = rot * M_PI / 180.0, c = cos(t), s = sin(t);
        double cx[4] = {0, g->w * c, g->w * c - g->h * s, -g->h * s};
        double cy[4] = {0, g->w * s, g->w * s + g->h * c, g->h * c};
        double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
        for (int k = 0; k < 4; k++) {
            x0 = fmin(x0, g->x + cx[k]), x1 = fmax(x1, g->x + cx[k]);
            y0 = fmin(y0, g->y + cy[k]), y1 = fmax(y1, g->y + cy[k]);
        }
        x0 = fmax(x0, 0), y0 = fmax(y0, 0), x1 = fmin(x1, W), y1 = fmin(y1, H);
        g->x = x0, g->y = y0, g->w = fmax(x1 - x0, 0), g->h = fmax(y1 - y0, 0);
    }
    return 1;
}

static double shoelace(const writer *w, const region *g)
{
    size_t n = g->n_pts;
    double s = 0, x0 = w->pts[0] * g->W / 100.0, y0 = w->pts[1] * g->H / 100.0;
    double xp = x0, yp = y0, x, y;
    for (size_t k = 1; k <= n; k++) {
        if (k < n) {
            x = w->pts[2 * k] * g->W / 100.0, y = w->pts[2 * k + 1] * g->H / 100.0;
        } else {
            x = x0, y = y0;
        }
        s += xp * y - x * yp;
        xp = x, yp = y;
    }
    return fabs(s) / 2;
}

/* Appends v in decimal (snprintf's cost shows at millions of annotations). */
static void add_int(an_buf *b, long long v)
{
    char tmp[24];
    size_t n = sizeof tmp;
    unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[--n] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) tmp[--n] = '-';
    an_buf_add(b, tmp + n, sizeof tmp - n);
}

static void write_annotation(writer *w, int64_t task_id, int cat, const region *g)
{
    an_buf *b = &w->abuf;
    an_buf_adds(b, w->any_ann ? ",{\"id\":" : "{\"id\":");
    add_int(b, w->next_ann_id++);
    an_buf_adds(b, ",\"image_id\":");
    add_int(b, task_id);
    an_buf_adds(b, ",\"category_id\":");
    add_int(b, cat);
    an_buf_adds(b, ",\"segmentation\":[");
    w->any_ann = true;
    if (g->kind == 2) {
        an_buf_addc(b, '[');
        for (size_t k = 0; k < g->n_pts; k++) {
            if (k) an_buf_addc(b, ',');
            an_geom_write_num(b, w->pts[2 * k] * g->W / 100.0);
            an_buf_addc(b, ',');
            an_geom_write_num(b, w->pts[2 * k + 1] * g->H / 100.0);
        }
        an_buf_addc(b, ']');
    }
    an_buf_adds(b, "],\"bbox\":[");
    an_geom_write_num(b, g->x);
    an_buf_addc(b, ',');
    an_geom_write_num(b, g->y);
    an_buf_addc(b, ',');
    an_geom_write_num(b, g->w);
    an_buf_addc(b, ',');
    an_geom_write_num(b, g->h);
    an_buf_adds(b, "],\"area\":");
    an_geom_write_num(b, g->kind == 2 ? shoelace(w, g) : g->w * g->h);
    an_buf_adds(b, ",\"iscrowd\":0}");
}

/* One COCO annotation per label of region g (item i): a region with several labels keeps
 * them all. */
static int write_labels(writer *w, const region *g, int64_t task_id, size_t i, const char *where,
                        an_err *err)
{
    an_jscan s;
    an_jscan_init(&s, g->labels, g->labels_len);
    int r = an_jscan_array(&s);
    while (r == 0 && (r = an_jscan_element(&s)) == 1) {
        an_jstr label = {"", 0, false};
        bool is_str = an_jscan_peek(&s) == AN_JSTRING;
        r = is_str ? an_jscan_string(&s, &label) : an_jscan_skip(&s);
        if (r < 0) break;
        int cat = is_str ? cat_id(w, &label) : -1;
        if (cat < 0) {
            char place[96];
            snprintf(place, sizeof place, "%s:result[%zu]", where, i);
            an_buf_reset(&w->label);
            an_jstr_unescape(&label, &w->label);
            return an_err_set(err, AN_EINVAL, place,
                              "label \"%s\" is not a label of the labeling config's "
                              "RectangleLabels/PolygonLabels, so it has no COCO category",
                              w->label.p ? w->label.p : "");
        }
        write_annotation(w, task_id, cat, g);
    }
    return r < 0 ? an_jscan_error(&s, where, err) : 0;
}

/* Reads the image path (data[data_key]) of a task's data text into w->path. Returns 1 when
 * found, 0 when the data has none, or AN_EINVAL for text that is not JSON. */
static int read_path(writer *w, const char *text, size_t len, const char *where, an_err *err)
{
    an_jscan s;
    an_jstr k, v;
    bool found = false;
    an_jscan_init(&s, text, len);
    if (an_jscan_peek(&s) == AN_JOBJECT) {
        int r = an_jscan_object(&s);
        while (r == 0 && (r = an_jscan_member(&s, &k)) == 1) {
            r = 0;
            if (!an_jstr_eq(&k, w->tg.data_key)) continue;
            found = an_jscan_peek(&s) == AN_JSTRING;
            if (found) r = an_jscan_string(&s, &v);
        }
    }
    if (an_jscan_done(&s) < 0) return an_jscan_error(&s, where, err);
    if (!found) return 0;
    an_buf_reset(&w->path);
    an_jstr_unescape(&v, &w->path);
    return 1;
}

static int coco_export_task(an_export_ctx *ctx, const an_task_row *row, an_err *err)
{
    writer *w = ctx->state;
    char where[64];
    snprintf(where, sizeof where, "task %lld", (long long)row->id);
    int rc = read_path(w, row->data, row->data_len, where, err);
    if (rc < 0) return rc;
    if (rc == 0 || strlen(w->path.p) != w->path.len)
        return an_err_set(err, AN_EINVAL, where, "the task has no data.%s image path",
                          w->tg.data_key);
    const char *path = w->path.p;
    rc = 0;
    double W = 0, H = 0;
    const an_annotation_row *a = an_export_pick_annotation(row);
    if (a) {
        an_jscan s;
        an_jscan_init(&s, a->result, strlen(a->result));
        if (an_jscan_peek(&s) == AN_JARRAY) {
            /* Anything else holds no regions, as with json_array_size. */
            rc = an_jscan_array(&s);
            for (size_t i = 0; rc == 0 && (rc = an_jscan_element(&s)) == 1; i++) {
                region g;
                if ((rc = read_item(&s, w, &g)) < 0) break;
                rc = check_region(w, &g, i, W, H, err);
                if (rc < 0) {
                    an_err_prefix_where(err, where);
                    return rc;
                }
                if (rc == 0) continue;
                if (W == 0) W = g.W, H = g.H;
                if ((rc = write_labels(w, &g, row->id, i, where, err)) < 0) return rc;
            }
        }
        if (rc < 0 || an_jscan_done(&s) < 0) return an_jscan_error(&s, where, err);
    }
    if (W == 0) {
        /* No region tells the size: read it from the image when it is at hand. COCO
         * requires the fields, and 0 says "unknown" to a reader that needs no size for an
         * image without annotations. */
        int iw = 0, ih = 0;
        an_err ignored;
        if (an_media_image_size(path, &iw, &ih, &ignored) == 0) W = iw, H = ih;
    }
    an_buf *b = &ctx->scratch;
    an_buf_reset(b);
    an_buf_addf(b, "%s{\"id\":%lld,\"file_name\":", w->any_image ? "," : "", (long long)row->id);
    an_json_write_string(b, path, w->path.len);
    an_buf_adds(b, ",\"width\":");
    an_geom_write_num(b, W);
    an_buf_adds(b, ",\"height\":");
    an_geom_write_num(b, H);
    an_buf_addc(b, '}');
    w->any_image = true;
    if (fwrite(b->p, 1, b->len, ctx->out) != b->len)
        return an_err_set(err, AN_EIO, where, "cannot write the export: %s", strerror(errno));
    if (w->abuf.len >= 1 << 16) {
        if (fwrite(w->abuf.p, 1, w->abuf.len, w->anns) != w->abuf.len)
            rc = an_err_set(err, AN_EIO, where, "cannot write a temporary file: %s",
                            strerror(errno));
        an_buf_reset(&w->abuf);
    }
    return rc;
}

static int coco_export_end(an_export_ctx *ctx, bool failed, an_err *err)
{
    writer *w = ctx->state;
    int rc = 0;
    if (!w) return 0;
    if (!failed) {
        char buf[1 << 16];
        bool ok = fwrite(w->abuf.p ? w->abuf.p : "", 1, w->abuf.len, w->anns) == w->abuf.len &&
                  fflush(w->anns) == 0 && fseek(w->anns, 0, SEEK_SET) == 0;
        ok = ok && fputs("],\"annotations\":[", ctx->out) >= 0;
        size_t got;
        while (ok && (got = fread(buf, 1, sizeof buf, w->anns)) > 0)
            ok = fwrite(buf, 1, got, ctx->out) == got;
        ok = ok && !ferror(w->anns) && fputs("]}\n", ctx->out) >= 0 && fflush(ctx->out) == 0;
        if (!ok)
            rc = an_err_set(err, AN_EIO, "coco", "cannot write the export: %s", strerror(errno));
    }
    fclose(w->anns);
    an_buf_free(&w->abuf);
    an_buf_free(&w->path);
    an_buf_free(&w->label);
    free(w->pts);
    free(w->cats);
    free(w);
    ctx->state = NULL;
    return rc;
}

const an_format an_format_coco = {
    .name = "coco",
    .description = "COCO instances JSON: boxes and polygons with categories",
    .sniff = coco_sniff,
    .read = coco_read,
    .export_to_dir = false,
    .export_begin = coco_export_begin,
    .export_task = coco_export_task,
    .export_end = coco_export_end,
};
