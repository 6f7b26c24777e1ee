/* Image redaction with libvips: see redact_image.h. */
#include "comply/redact_image.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vips/vips.h>

#include "base/buf.h"
#include "model/config.h"
#include "preanno/detect.h"
#include "preanno/media_models.h"

struct an_image_redactor {
    an_detector *faces, *plates;
    an_redact_mode mode;
};

int an_image_redactor_open(const an_redact_image_opts *opts, an_image_redactor **out,
                           an_err *err)
{
    *out = NULL;
    an_redact_image_opts o = {0};
    if (opts) o = *opts;
    if (!o.faces && !o.plates) o.faces = o.plates = true;
    if (o.mode != AN_REDACT_BLUR && o.mode != AN_REDACT_PIXELATE)
        return an_err_set(err, AN_EINVAL, "mode", "choose blur or pixelate");
    int rc = an_vips_start(err);
    if (rc) return rc;
    an_image_redactor *r = an_xcalloc(1, sizeof *r);
    r->mode = o.mode;
    if (o.faces) rc = an_detector_open(AN_DETECT_FACE, NULL, &r->faces, err);
    if (!rc && o.plates) rc = an_detector_open(AN_DETECT_PLATE, NULL, &r->plates, err);
    if (rc) {
        an_image_redactor_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void an_image_redactor_close(an_image_redactor *r)
{
    if (!r) return;
    an_detector_close(r->faces);
    an_detector_close(r->plates);
    free(r);
}

/* Every image made on the way, released together once the output is written (each one
 * references the ones it was made from). */
typedef struct chain {
    VipsImage *v[256];
    size_t n;
} chain;

static VipsImage *keep(chain *c, VipsImage *im)
{
    if (im) c->v[c->n++] = im;
    return im;
}

static void chain_free(chain *c)
{
    while (c->n) g_object_unref(c->v[--c->n]);
}

static int vips_fail(an_err *err, const char *where, const char *what)
{
    char *msg = vips_error_buffer_copy();
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';
    int rc = an_err_set(err, AN_EINVAL, where, "%s: %.400s", what, n ? msg : "libvips failed");
    g_free(msg);
    return rc;
}

/* The box widened by 10 % per side and clipped to the image. */
static void widen(const an_box *b, int iw, int ih, int *x, int *y, int *w, int *h)
{
    int px = (int)lrint(b->width * 0.1), py = (int)lrint(b->height * 0.1);
    int x0 = b->x - px, y0 = b->y - py, x1 = b->x + b->width + px, y1 = b->y + b->height + py;
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > iw) x1 = iw;
    if (y1 > ih) y1 = ih;
    *x = x0;
    *y = y0;
    *w = x1 - x0;
    *h = y1 - y0;
}

/* The redacted patch for the area (x, y, w, h) of im, or NULL (vips error set). */
static VipsImage *patch(chain *c, VipsImage *im, an_redact_mode mode, int x, int y, int w, int h)
{
    VipsImage *area = NULL, *out = NULL;
    if (vips_extract_area(im, &area, x, y, w, h, NULL)) return NULL;
    keep(c, area);
    int side = w > h ? w : h;
    if (mode == AN_REDACT_BLUR) {
        double sigma = side / 4.0 < 2 ? 2 : side / 4.0;
        VipsImage *bl = NULL;
        if (vips_gaussblur(area, &bl, sigma, NULL)) return NULL;
        keep(c, bl);
        /* gaussblur keeps the size; cast back in case precision changed the format. */
        if (vips_cast(bl, &out, vips_image_get_format(im), NULL)) return NULL;
        return keep(c, out);
    }
    int block = side / 6 < 4 ? 4 : side / 6;
    int bw = (w + block - 1) / block * block, bh = (h + block - 1) / block * block;
    VipsImage *big = NULL, *small = NULL, *zoom = NULL;
    /* Pad to whole blocks with copies of the edge, average each block, blow it back up. */
    if (vips_embed(area, &big, 0, 0, bw, bh, "extend", VIPS_EXTEND_COPY, NULL)) return NULL;
    keep(c, big);
    if (vips_shrink(big, &small, block, block, NULL)) return NULL;
    keep(c, small);
    if (vips_zoom(small, &zoom, block, block, NULL)) return NULL;
    keep(c, zoom);
    VipsImage *cut = NULL, *cast = NULL;
    if (vips_extract_area(zoom, &cut, 0, 0, w, h, NULL)) return NULL;
    keep(c, cut);
    if (vips_cast(cut, &cast, vips_image_get_format(im), NULL)) return NULL;
    return keep(c, cast);
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static const char *ext_of(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot : "";
}

int an_redact_image(const an_image_redactor *r, const char *in, const char *out,
                    an_redact_image_result *res, an_err *err)
{
    memset(res, 0, sizeof *res);
    if (same_file(in, out) || strcmp(in, out) == 0)
        return an_err_set(err, AN_EINVAL, out,
                          "the output is the input image; write the redacted copy elsewhere");
    an_box *boxes = NULL;
    size_t nb = 0;
    an_gray_image g;
    int rc = an_gray_image_load(in, &g, err);
    if (rc) return rc;
    res->width = g.width;
    res->height = g.height;
    an_box *fb = NULL, *pb = NULL;
    size_t nf = 0, np = 0;
    if (r->faces) rc = an_detector_run(r->faces, &g, &fb, &nf, err);
    if (!rc && r->plates) rc = an_detector_run(r->plates, &g, &pb, &np, err);
    an_gray_image_free(&g);
    if (!rc) {
        nb = nf + np;
        boxes = an_xmalloc((nb ? nb : 1) * sizeof *boxes);
        if (nf) memcpy(boxes, fb, nf * sizeof *boxes);
        if (np) memcpy(boxes + nf, pb, np * sizeof *boxes);
        res->faces = nf;
        res->plates = np;
    }
    free(fb);
    free(pb);
    if (rc) return rc;

    chain c = {.n = 0};
    VipsImage *cur = keep(&c, vips_image_new_from_file(in, NULL));
    if (!cur) rc = vips_fail(err, in, "not an image libvips can read");
    VipsImage *up = NULL;
    if (!rc && vips_autorot(cur, &up, NULL)) rc = vips_fail(err, in, "cannot turn the image upright");
    if (!rc) cur = keep(&c, up);
    if (!rc && (vips_image_get_width(cur) != res->width || vips_image_get_height(cur) != res->height))
        rc = an_err_set(err, AN_EINTERNAL, in, "the image changed size between two reads");
    /* The chain holds a bounded number of images (about nine per box); past max_boxes boxes
     * (a crowd), one patch covers the bounding box of all the remaining ones, so no box is
     * left unredacted. */
    size_t max_boxes = (sizeof c.v / sizeof c.v[0] - 8) / 9;
    for (size_t i = 0; i < nb && !rc; i++) {
        int x, y, w, h;
        if (i >= max_boxes) { /* one patch over the bounding box of all the rest */
            int x0 = INT_MAX, y0 = INT_MAX, x1 = 0, y1 = 0;
            for (size_t j = i; j < nb; j++) {
                widen(&boxes[j], res->width, res->height, &x, &y, &w, &h);
                if (x < x0) x0 = x;
                if (y < y0) y0 = y;
                if (x + w > x1) x1 = x + w;
                if (y + h > y1) y1 = y + h;
            }
            x = x0;
            y = y0;
            w = x1 - x0;
            h = y1 - y0;
            nb = i + 1;
        } else {
            widen(&boxes[i], res->width, res->height, &x, &y, &w, &h);
        }
        if (w <= 0 || h <= 0) continue;
        VipsImage *p = patch(&c, cur, r->mode, x, y, w, h), *next = NULL;
        if (!p || vips_insert(cur, p, &next, x, y, NULL))
            rc = vips_fail(err, in, "cannot redact a region");
        else
            cur = keep(&c, next);
    }
    free(boxes);

    an_buf tmp;
    an_buf_init(&tmp);
    if (!rc) {
        /* A temporary name in the output's folder with the output's extension (libvips picks
         * the format from it), renamed into place once complete. */
        const char *slash = strrchr(out, '/');
        size_t dir = slash ? (size_t)(slash - out) + 1 : 0;
        an_buf_addf(&tmp, "%.*s.partial-%ld-%s", (int)dir, out, (long)getpid(), out + dir);
        /* Every metadata field goes, not only what the savers' "strip" covers (WebP keeps
         * EXIF through strip in libvips 8.14). */
        VipsImage *bare = NULL;
        if (vips_copy(cur, &bare, NULL) == 0) {
            cur = keep(&c, bare);
            gchar **fields = vips_image_get_fields(cur);
            for (gchar **f = fields; f && *f; f++) vips_image_remove(cur, *f);
            g_strfreev(fields);
        }
        const char *ext = ext_of(out);
        bool lossy = strcasecmp(ext, ".jpg") == 0 || strcasecmp(ext, ".jpeg") == 0 ||
                     strcasecmp(ext, ".webp") == 0;
        int wr = lossy ? vips_image_write_to_file(cur, tmp.p, "strip", TRUE, "Q", 90, NULL)
                       : vips_image_write_to_file(cur, tmp.p, "strip", TRUE, NULL);
        if (wr) {
            char *msg = vips_error_buffer_copy();
            rc = an_err_set(err, AN_EIO, out, "cannot write the redacted image: %.400s", msg);
            g_free(msg);
            unlink(tmp.p);
        } else if (rename(tmp.p, out) != 0) {
            rc = an_err_set(err, AN_EIO, out, "cannot put the redacted image in place: %s",
                            strerror(errno));
            unlink(tmp.p);
        }
    }
    an_buf_free(&tmp);
    chain_free(&c);
    vips_error_clear();
    return rc;
}

/* ---- the project form --------------------------------------------------------------------- */

static int mkdirs(const char *path, an_err *err)
{
    char buf[PATH_MAX];
    if (strlen(path) >= sizeof buf) return an_err_set(err, AN_EINVAL, path, "the path is too long");
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return an_err_set(err, AN_EIO, buf, "cannot create the folder: %s", strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return an_err_set(err, AN_EIO, buf, "cannot create the folder: %s", strerror(errno));
    return 0;
}

static bool has_dotdot(const char *p)
{
    for (const char *c = p; *c;) {
        const char *slash = strchr(c, '/');
        size_t n = slash ? (size_t)(slash - c) : strlen(c);
        if (n == 2 && c[0] == '.' && c[1] == '.') return true;
        if (!slash) break;
        c = slash + 1;
    }
    return false;
}

/* The path under to_dir that mirrors the task's image. */
static int mirror_path(const char *value, const char *resolved, const char *media_root,
                       const char *to_dir, an_buf *out, an_err *err)
{
    an_buf_reset(out);
    const char *rel = NULL;
    char root_real[PATH_MAX], file_real[PATH_MAX];
    if (media_root) {
        if (!realpath(media_root, root_real) || !realpath(resolved, file_real))
            return an_err_set(err, AN_EIO, resolved, "cannot resolve the path: %s", strerror(errno));
        size_t rn = strlen(root_real);
        rel = file_real + rn + (rn > 1 ? 1 : 0);
        if (strncmp(file_real, root_real, rn) != 0)
            return an_err_set(err, AN_EINVAL, resolved, "the image lies outside --media-root");
    } else {
        rel = value;
        while (rel[0] == '/') rel++;
        while (strncmp(rel, "./", 2) == 0) rel += 2;
    }
    if (!*rel || has_dotdot(rel))
        return an_err_set(err, AN_EINVAL, value,
                          "the image path has \"..\" in it, so it cannot be mirrored under the "
                          "output folder; give --media-root");
    an_buf_addf(out, "%s/%s", to_dir, rel);
    return 0;
}

int an_redact_images_project(an_store *s, const an_project *p, const an_redact_images_opts *o,
                             an_redact_images_summary *sum, an_err *err)
{
    memset(sum, 0, sizeof *sum);
    if (!o->to_dir || !*o->to_dir)
        return an_err_set(err, AN_EINVAL, "--to", "name the folder for the redacted copies");
    an_config *cfg = NULL;
    int rc = an_config_parse(p->config, strlen(p->config), &cfg, err);
    if (rc) return rc;
    size_t n_img = 0;
    for (size_t i = 0; i < cfg->n_objects; i++)
        if (cfg->objects[i].tag == AN_TAG_IMAGE && cfg->objects[i].data_key) n_img++;
    if (n_img == 0) {
        an_config_free(cfg);
        return an_err_set(err, AN_EINVAL, "config",
                          "project \"%s\" shows no image from a task field (<Image "
                          "value=\"$field\">); there is nothing to redact",
                          p->name);
    }
    an_image_redactor *r = NULL;
    rc = mkdirs(o->to_dir, err);
    if (!rc) rc = an_image_redactor_open(&o->image, &r, err);
    an_task_iter *it = NULL;
    if (!rc) rc = an_store_tasks_open(s, p->id, 0, &it, err);
    an_buf path, dst, dir;
    an_buf_init(&path);
    an_buf_init(&dst);
    an_buf_init(&dir);
    const an_task_row *t;
    while (!rc && (rc = an_task_iter_next(it, &t, err)) == 1) {
        rc = 0;
        sum->tasks++;
        json_t *data = json_loadb(t->data, t->data_len, 0, NULL);
        for (size_t i = 0; i < cfg->n_objects; i++) {
            const an_object *obj = &cfg->objects[i];
            if (obj->tag != AN_TAG_IMAGE || !obj->data_key) continue;
            an_err e;
            an_err_clear(&e);
            int trc = an_media_task_path(obj, data, o->media_root, "redaction", &path, &e);
            const json_t *v = json_object_get(data, obj->data_key);
            if (!trc)
                trc = mirror_path(json_string_value(v), path.p, o->media_root, o->to_dir, &dst,
                                  &e);
            if (!trc) {
                const char *slash = strrchr(dst.p, '/');
                an_buf_reset(&dir);
                an_buf_addf(&dir, "%.*s", (int)(slash - dst.p), dst.p);
                trc = mkdirs(dir.p, &e);
            }
            an_redact_image_result res;
            if (!trc) trc = an_redact_image(r, path.p, dst.p, &res, &e);
            if (trc) {
                sum->failed++;
                if (o->on_failure) o->on_failure(o->ud, t->id, &e);
                continue;
            }
            sum->images++;
            sum->faces += (int64_t)res.faces;
            sum->plates += (int64_t)res.plates;
            if (o->on_image) o->on_image(o->ud, t->id, path.p, dst.p, &res);
        }
        json_decref(data);
    }
    if (it) an_task_iter_close(it);
    an_buf_free(&path);
    an_buf_free(&dst);
    an_buf_free(&dir);
    an_image_redactor_close(r);
    an_config_free(cfg);
    return rc;
}
