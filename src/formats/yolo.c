/* YOLO detection datasets: a folder with the class names (classes.txt, one per line, or
 * data.yaml's names:), images/ and labels/ holding one "class cx cy w h" line per box
 * (normalised to 0..1) in labels/<stem>.txt for images/<stem>.<ext>. Subfolders such as
 * images/train ↔ labels/train are followed. A flat folder with images and .txt files side
 * by side works too.
 *
 * Import: one task per image, data {KEY: absolute image path}; an image with a label file
 * gets one annotation (empty when the file is), one without gets none. Image sizes come
 * from the image headers (media.h), since Label Studio regions carry them. A bad line
 * (field count other than 5 — segmentation lines included —, a class out of range, values
 * outside 0..1) rejects that image's record, naming "labels/x.txt:LINE". A label file
 * without its image is rejected too.
 *
 * Export: classes.txt (the labels of the first RectangleLabels control, else PolygonLabels,
 * in config order), labels/<stem>.txt for each task with an annotation, and images/ holding
 * a copy of each such task's image when it is a local file that exists (URLs and missing
 * files are not copied). Polygons are written as their bounding boxes. Two images with one
 * stem: the later one gets its task id in front ("17_img"). */
#include "formats/format.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "base/utf8.h"
#include "formats/geom.h"
#include "formats/media.h"

#define MAX_DEPTH 8        /* subfolder levels followed under images/ and labels/ */
#define MAX_CLASSES 100000 /* more names than any detector has: the file is not a name list */
#define MAX_LABEL_BYTES (64 << 20)

static const char *const image_exts[] = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"};
#define N_EXTS (sizeof image_exts / sizeof image_exts[0])

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The image extension of name (index into image_exts), or -1. */
static int image_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && dot != name && i < N_EXTS; i++)
        if (strcasecmp(dot, image_exts[i]) == 0) return (int)i;
    return -1;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* ---- class names -------------------------------------------------------------------- */

typedef struct names {
    char **v;
    size_t n, cap;
} names;

static void names_add(names *ns, const char *s, size_t len)
{
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? 2 * ns->cap : 16;
        ns->v = an_xrealloc(ns->v, ns->cap * sizeof *ns->v);
    }
    ns->v[ns->n++] = an_xstrndup(s, len);
}

static void names_free(names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
    memset(ns, 0, sizeof *ns);
}

/* Reads a whole small text file (class lists, data.yaml) into b. */
static int slurp(const char *path, an_buf *b, an_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return an_err_set(err, AN_EIO, path, "cannot open %s: %s", path, strerror(errno));
    char tmp[8192];
    size_t got;
    while ((got = fread(tmp, 1, sizeof tmp, f)) > 0) {
        an_buf_add(b, tmp, got);
        if (b->len > MAX_LABEL_BYTES) break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) return an_err_set(err, AN_EIO, path, "cannot read %s", path);
    if (b->len > MAX_LABEL_BYTES)
        return an_err_set(err, AN_EINVAL, path, "%s is too large for its kind", path);
    if (!an_utf8_valid(b->p, b->len))
        return an_err_set(err, AN_EINVAL, path, "%s is not valid UTF-8", path);
    return 0;
}

static int classes_txt(const char *path, names *ns, an_err *err)
{
    an_buf b = AN_BUF_INIT;
    an_buf_init(&b);
    int rc = slurp(path, &b, err);
    long line = 0, blank_line = 0;
    for (size_t i = 0; rc == 0 && i < b.len;) {
        size_t j = i;
        while (j < b.len && b.p[j] != '\n')
            j++;
        size_t s = i, e = j;
        while (s < e && is_blank(b.p[s]))
            s++;
        while (e > s && is_blank(b.p[e - 1]))
            e--;
        line++;
        i = j + 1;
        if (s == e) {
            if (!blank_line) blank_line = line;
            continue;
        }
        char where[64];
        snprintf(where, sizeof where, "classes.txt:%ld", blank_line ? blank_line : line);
        /* A blank line inside the list would shift every later class index. */
        if (blank_line)
            rc = an_err_set(err, AN_EINVAL, where,
                            "empty class name; class ids are line numbers, so remove the blank "
                            "line or name the class");
        else if (ns->n >= MAX_CLASSES)
            rc = an_err_set(err, AN_EINVAL, where, "more than %d classes", MAX_CLASSES);
        else
            names_add(ns, b.p + s, e - s);
    }
    an_buf_free(&b);
    return rc;
}

/* A YAML scalar s[0..n) as plain text: quotes removed ('' is a quote inside single quotes);
 * escapes in double quotes are not supported (strict rather than half-right). */
static bool yaml_scalar(const char *s, size_t n, an_buf *out)
{
    an_buf_reset(out);
    while (n && is_blank(*s))
        s++, n--;
    while (n && is_blank(s[n - 1]))
        n--;
    if (n == 0) return false;
    if (s[0] == '\'' || s[0] == '"') {
        char q = s[0];
        if (n < 2 || s[n - 1] != q) return false;
        for (size_t i = 1; i < n - 1; i++) {
            if (q == '"' && s[i] == '\\') return false;
            if (q == '\'' && s[i] == '\'') {
                if (i + 1 >= n - 1 || s[i + 1] != '\'') return false;
                i++;
            } else if (s[i] == q) {
                return false;
            }
            an_buf_addc(out, s[i]);
        }
        return true;
    }
    if (strchr("[]{}&*!|>%@`#", s[0])) return false;
    an_buf_add(out, s, n);
    return true;
}

/* End of the meaningful part of line s[0..n): before a " #" comment outside quotes. */
static size_t yaml_uncomment(const char *s, size_t n)
{
    char q = 0;
    for (size_t i = 0; i < n; i++) {
        if (q) {
            if (s[i] == q) q = 0;
        } else if (s[i] == '\'' || s[i] == '"') {
            q = s[i];
        } else if (s[i] == '#' && (i == 0 || is_blank(s[i - 1]))) {
            return i;
        }
    }
    return n;
}

/* names: from data.yaml, in any of the three forms Ultralytics and others write:
 *   names: [a, b, 'c d']      names:            names:
 *                               - a               0: a
 *                               - b               1: b
 * Anything else about the file is ignored; nc:, when present, must match. */
static int data_yaml(const char *path, names *ns, an_err *err)
{
    an_buf b = AN_BUF_INIT, flow = AN_BUF_INIT, item = AN_BUF_INIT;
    an_buf_init(&b);
    an_buf_init(&flow);
    an_buf_init(&item);
    int rc = slurp(path, &b, err);
    long line = 0, names_line = 0, nc = -1, nc_line = 0;
    enum { NONE, BLOCK, FLOW, DONE } st = NONE;
    char where[64];
    for (size_t i = 0; rc == 0 && i < b.len;) {
        size_t j = i;
        while (j < b.len && b.p[j] != '\n')
            j++;
        const char *s = b.p + i;
        size_t n = yaml_uncomment(s, j - i);
        while (n && is_blank(s[n - 1]))
            n--;
        line++;
        i = j + 1;
        snprintf(where, sizeof where, "data.yaml:%ld", line);
        if (st == FLOW) {
            an_buf_addc(&flow, ' ');
            an_buf_add(&flow, s, n);
            if (memchr(s, ']', n)) st = DONE;
            continue;
        }
        size_t ind = 0;
        while (ind < n && (s[ind] == ' ' || s[ind] == '\t'))
            ind++;
        if (ind == n) continue; /* blank or comment */
        if (st == BLOCK) {
            const char *t = s + ind;
            size_t tn = n - ind;
            if (tn >= 1 && t[0] == '-' && (tn == 1 || t[1] == ' ')) {
                if (!yaml_scalar(t + 1, tn - 1, &item))
                    rc = an_err_set(err, AN_EINVAL, where, "cannot read this class name");
                else
                    names_add(ns, item.p, item.len);
                continue;
            }
            if (ind > 0) {
                /* "  N: name" */
                char *end;
                long k = strtol(t, &end, 10);
                if (end == t || *end != ':' || k != (long)ns->n) {
                    rc = an_err_set(err, AN_EINVAL, where,
                                    "expected \"- name\" or \"%zu: name\" under names:", ns->n);
                } else if (!yaml_scalar(end + 1, tn - (size_t)(end + 1 - t), &item)) {
                    rc = an_err_set(err, AN_EINVAL, where, "cannot read this class name");
                } else {
                    names_add(ns, item.p, item.len);
                }
                continue;
            }
            st = DONE;
        }
        if (ind > 0) continue; /* nested under some other key */
        if (n >= 3 && strncmp(s, "nc:", 3) == 0) {
            char *end;
            nc = strtol(s + 3, &end, 10);
            nc_line = line;
            continue;
        }
        if (n < 6 || strncmp(s, "names:", 6) != 0) continue;
        if (names_line) rc = an_err_set(err, AN_EINVAL, where, "names: appears twice");
        names_line = line;
        const char *rest = s + 6;
        size_t rn = n - 6;
        while (rn && is_blank(*rest))
            rest++, rn--;
        if (rn == 0) {
            st = BLOCK;
        } else if (rest[0] == '[') {
            an_buf_add(&flow, rest, rn);
            st = memchr(rest, ']', rn) ? DONE : FLOW;
        } else {
            rc = an_err_set(err, AN_EINVAL, where,
                            "names: must be a list ([a, b] or \"- a\" lines) or \"N: name\" "
                            "lines");
        }
    }
    snprintf(where, sizeof where, "data.yaml:%ld", names_line);
    if (rc == 0 && !names_line)
        rc = an_err_set(err, AN_EINVAL, "data.yaml", "data.yaml has no names: list");
    if (rc == 0 && st == FLOW)
        rc = an_err_set(err, AN_EINVAL, where, "the names: list has no closing ]");
    if (rc == 0 && flow.len) {
        /* [a, 'b, c', "d"] — split on commas outside quotes */
        const char *f = flow.p + 1, *end = memchr(flow.p, ']', flow.len);
        const char *tail = end + 1;
        while (tail < flow.p + flow.len && is_blank(*tail))
            tail++;
        if (tail != flow.p + flow.len)
            rc = an_err_set(err, AN_EINVAL, where, "text after the names: list");
        char q = 0;
        const char *start = f;
        for (const char *p = f; rc == 0 && p <= end; p++) {
            if (q) {
                if (*p == q) q = 0;
                continue;
            }
            if (*p == '\'' || *p == '"') {
                q = *p;
            } else if (*p == ',' || p == end) {
                size_t len = (size_t)(p - start);
                bool empty = true;
                for (size_t k = 0; k < len; k++)
                    empty = empty && is_blank(start[k]);
                if (p == end && empty && ns->n == 0) break; /* names: [] */
                if (!yaml_scalar(start, len, &item))
                    rc = an_err_set(err, AN_EINVAL, where, "cannot read class name %zu", ns->n);
                else
                    names_add(ns, item.p, item.len);
                start = p + 1;
            }
        }
    }
    if (rc == 0 && nc >= 0 && (size_t)nc != ns->n) {
        snprintf(where, sizeof where, "data.yaml:%ld", nc_line);
        rc = an_err_set(err, AN_EINVAL, where, "nc: %ld but names: lists %zu classes", nc, ns->n);
    }
    an_buf_free(&b);
    an_buf_free(&flow);
    an_buf_free(&item);
    return rc;
}

static int load_names(const char *root, names *ns, an_err *err)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/classes.txt", root);
    if (is_file(p)) return classes_txt(p, ns, err);
    static const char *const yamls[] = {"data.yaml", "data.yml", "dataset.yaml"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", root, yamls[i]);
        if (is_file(p)) return data_yaml(p, ns, err);
    }
    return an_err_set(err, AN_EINVAL, root,
                      "no classes.txt or data.yaml in %s: YOLO class ids need their names", root);
}

/* ---- sniff -------------------------------------------------------------------------- */

static int yolo_sniff(const char *path, bool dir, const unsigned char *head, size_t n)
{
    if (!dir) return 0;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/labels", path);
    bool labels = is_dir(p);
    snprintf(p, sizeof p, "%s/classes.txt", path);
    bool classes = is_file(p);
    snprintf(p, sizeof p, "%s/data.yaml", path);
    bool yaml = is_file(p);
    if (labels && (classes || yaml)) return 85;
    if (classes) return 60; /* flat layout: images and .txt side by side */
    return 0;
}

/* ---- import ------------------------------------------------------------------------- */

typedef struct reader {
    const an_geom_target *tg;
    const an_import_sink *sink;
    names classes;
    const an_control **ctl_of; /* per class: the control its regions go to */
    int *label_of;             /* per class: index in that control's labels, or -1 */
    char root[PATH_MAX];
    char images[PATH_MAX], labels[PATH_MAX]; /* absolute folders */
    const char *images_rel, *labels_rel;     /* "images/", "labels/" or "" */
    bool flat;
    uint64_t done;
    an_buf where, reason, text;
} reader;

static int reject(reader *r, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int reject(reader *r, const char *where, const char *fmt, ...)
{
    va_list ap;
    an_buf_reset(&r->reason);
    va_start(ap, fmt);
    an_buf_vaddf(&r->reason, fmt, ap);
    va_end(ap);
    int rc = r->sink->reject(r->sink->ud, where, r->reason.p);
    return rc < 0 ? rc : 0;
}

/* For read_labels: 1 (record rejected, go on) or the sink's negative code. */
static int rejected(int rc)
{
    return rc < 0 ? rc : 1;
}

static bool parse_unit(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return *end == '\0' && errno == 0 && isfinite(*out) && *out >= 0 && *out <= 1;
}

/* Reads label file lab (rel: its name relative to the labels folder) for the image at img
 * into result. Returns 0, 1 after rejecting, or a negative code from the sink. */
static int read_labels(reader *r, const char *lab, const char *rel, const char *img, json_t *result)
{
    an_err e;
    an_buf_reset(&r->text);
    char where[PATH_MAX + 32];
    snprintf(where, sizeof where, "%s%s", r->labels_rel, rel);
    if (slurp(lab, &r->text, &e) < 0) return rejected(reject(r, where, "%s", e.msg));
    double W = 0, H = 0;
    long line = 0;
    size_t item_no = 0;
    for (size_t i = 0; i < r->text.len;) {
        size_t j = i;
        while (j < r->text.len && r->text.p[j] != '\n')
            j++;
        char *s = r->text.p + i;
        r->text.p[j] = '\0'; /* the buffer keeps a NUL at len, so j is always in bounds */
        i = j + 1;
        line++;
        char *fields[6];
        int nf = 0;
        char *save = NULL;
        for (char *tok = strtok_r(s, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save))
            if (nf < 6)
                fields[nf++] = tok;
            else
                nf = 7;
        if (nf == 0) continue;
        snprintf(where, sizeof where, "%s%s:%ld", r->labels_rel, rel, line);
        if (nf != 5)
            return rejected(reject(r, where,
                                   "expected \"class cx cy w h\" (5 fields), found %s; "
                                   "segmentation lines are not read",
                                   nf > 5 ? "more" : "fewer"));
        char *end;
        errno = 0;
        long c = strtol(fields[0], &end, 10);
        if (*end || errno || c < 0 || (size_t)c >= r->classes.n)
            return rejected(reject(r, where, "class \"%s\" is not a class id 0..%zu", fields[0],
                                   r->classes.n ? r->classes.n - 1 : 0));
        double v[4];
        for (int k = 0; k < 4; k++)
            if (!parse_unit(fields[k + 1], &v[k]))
                return rejected(
                    reject(r, where, "\"%s\" is not a number between 0 and 1", fields[k + 1]));
        const an_control *ctl = r->ctl_of[c];
        if (r->label_of[c] < 0)
            return rejected(reject(r, where,
                                   "class %ld (\"%s\") is not a label of %s \"%s\"; add it to the "
                                   "labeling config",
                                   c, r->classes.v[c], an_tag_name(ctl->tag), ctl->name));
        if (W == 0) {
            int iw, ih;
            if (an_media_image_size(img, &iw, &ih, &e) < 0)
                return rejected(reject(r, where, "cannot tell the image's size: %s", e.msg));
            W = iw, H = ih;
        }
        /* Normalised edges may overshoot 0..1 by rounding; a pixel of slop is clamped. */
        double x0 = (v[0] - v[2] / 2) * W, x1 = (v[0] + v[2] / 2) * W;
        double y0 = (v[1] - v[3] / 2) * H, y1 = (v[1] + v[3] / 2) * H;
        if (x0 < -1 || y0 < -1 || x1 > W + 1 || y1 > H + 1)
            return rejected(reject(r, where, "the box reaches outside the image"));
        double bx = x0, by = y0, bw = v[2] * W, bh = v[3] * H;
        if (x0 < 0 || x1 > W) bx = fmax(x0, 0), bw = fmin(x1, W) - bx;
        if (y0 < 0 || y1 > H) by = fmax(y0, 0), bh = fmin(y1, H) - by;
        char id[32];
        snprintf(id, sizeof id, "r%zu", ++item_no);
        const char *label = ctl->labels[r->label_of[c]];
        if (ctl == r->tg->rect) {
            json_array_append_new(
                result, an_geom_rect_item(id, ctl, r->tg->rect_to, W, H, bx, by, bw, bh, label));
        } else {
            double xy[8] = {bx, by, bx + bw, by, bx + bw, by + bh, bx, by + bh};
            json_array_append_new(result,
                                  an_geom_poly_item(id, ctl, r->tg->poly_to, W, H, xy, 4, label));
        }
    }
    return 0;
}

/* One image: rel is its path under the images folder ("train/x.jpg"). */
static int read_image(reader *r, const char *rel, an_err *err)
{
    char img[PATH_MAX], lab[PATH_MAX], lrel[PATH_MAX], where[PATH_MAX + 16];
    snprintf(img, sizeof img, "%s/%s", r->images, rel);
    const char *dot = strrchr(rel, '.');
    snprintf(lrel, sizeof lrel, "%.*s.txt", (int)(dot - rel), rel);
    snprintf(lab, sizeof lab, "%s/%s", r->labels, lrel);
    snprintf(where, sizeof where, "%s%s", r->images_rel, rel);
    json_t *result = NULL;
    int rc = 0;
    if (is_file(lab)) {
        result = json_array();
        rc = read_labels(r, lab, lrel, img, result);
    }
    if (rc == 0) {
        an_record rec = {0};
        rec.data = json_object();
        json_t *p = json_string(img);
        if (!p) {
            rc = reject(r, where, "the image path is not valid UTF-8");
        } else {
            json_object_set_new(rec.data, r->tg->data_key, p);
            if (result) {
                json_t *ann = json_object();
                json_object_set(ann, "result", result);
                rec.annotations = json_array();
                json_array_append_new(rec.annotations, ann);
            }
            rec.where = where;
            rc = r->sink->record(r->sink->ud, &rec, err);
        }
        json_decref(rec.data);
        json_decref(rec.annotations);
    }
    json_decref(result);
    r->done++;
    if (r->sink->progress) r->sink->progress(r->sink->ud, r->done, 0);
    return rc < 0 ? rc : 0;
}

/* A label file without an image: rel under the labels folder ("train/x.txt"). */
static int check_orphan(reader *r, const char *rel)
{
    char p[PATH_MAX];
    const char *dot = strrchr(rel, '.');
    if (r->flat && strcmp(rel, "classes.txt") == 0) return 0;
    for (size_t i = 0; i < N_EXTS; i++) {
        snprintf(p, sizeof p, "%s/%.*s%s", r->images, (int)(dot - rel), rel, image_exts[i]);
        if (is_file(p)) return 0;
        /* upper-case extensions (IMG_1.JPG) are common from cameras */
        size_t k = strlen(p) - strlen(image_exts[i]);
        for (; p[k]; k++)
            p[k] = (char)(p[k] >= 'a' && p[k] <= 'z' ? p[k] - 32 : p[k]);
        if (is_file(p)) return 0;
    }
    char where[PATH_MAX + 16];
    snprintf(where, sizeof where, "%s%s", r->labels_rel, rel);
    return reject(r, where,
                  "no image %s%.*s.* (one of .jpg .jpeg .png .bmp .gif .webp) for "
                  "this label file",
                  r->images_rel, (int)(dot - rel), rel);
}

static int only_visible(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Walks dir/sub (sub "" or "train/") in name order; calls fn for each file whose name
 * passes want. */
static int walk(reader *r, const char *dir, const char *sub, int depth, bool (*want)(const char *),
                int (*fn)(reader *, const char *, an_err *), an_err *err)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    struct dirent **list = NULL;
    int n = scandir(p, &list, only_visible, alphasort);
    if (n < 0) return an_err_set(err, AN_EIO, p, "cannot list %s: %s", p, strerror(errno));
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char rel[PATH_MAX], full[PATH_MAX];
        snprintf(rel, sizeof rel, "%s%s", sub, list[i]->d_name);
        snprintf(full, sizeof full, "%s/%s", dir, rel);
        if (rc == 0) {
            struct stat st;
            if (stat(full, &st) != 0) {
                /* a dangling link: nothing to read */
            } else if (S_ISDIR(st.st_mode)) {
                /* the flat layout has no subfolders of its own to follow */
                if (!r->flat && depth < MAX_DEPTH) {
                    char deeper[PATH_MAX];
                    snprintf(deeper, sizeof deeper, "%s/", rel);
                    rc = walk(r, dir, deeper, depth + 1, want, fn, err);
                }
            } else if (S_ISREG(st.st_mode) && want(list[i]->d_name)) {
                rc = fn(r, rel, err);
            }
        }
        free(list[i]);
    }
    free(list);
    return rc;
}

static bool want_image(const char *name)
{
    return image_ext(name) >= 0;
}

static bool want_txt(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".txt") == 0;
}

static int orphan_fn(reader *r, const char *rel, an_err *err)
{
    return check_orphan(r, rel);
}

static int yolo_read(const char *path, const an_config *cfg, const an_import_sink *sink,
                     an_err *err)
{
    an_geom_target tg;
    int rc = an_geom_target_find(cfg, "yolo", &tg, err);
    if (rc) return rc;
    reader r = {.tg = &tg, .sink = sink};
    if (!realpath(path, r.root) || !is_dir(r.root))
        return an_err_set(err, AN_EINVAL, path,
                          "%s is not a folder; a YOLO dataset is a folder with classes.txt or "
                          "data.yaml, images/ and labels/",
                          path);
    an_buf_init(&r.where);
    an_buf_init(&r.reason);
    an_buf_init(&r.text);
    if ((rc = load_names(r.root, &r.classes, err))) goto out;
    r.ctl_of = an_xcalloc(r.classes.n ? r.classes.n : 1, sizeof *r.ctl_of);
    r.label_of = an_xcalloc(r.classes.n ? r.classes.n : 1, sizeof *r.label_of);
    for (size_t c = 0; c < r.classes.n; c++) {
        r.ctl_of[c] = tg.rect ? tg.rect : tg.poly;
        r.label_of[c] = an_geom_label_index(r.ctl_of[c], r.classes.v[c]);
    }
    snprintf(r.labels, sizeof r.labels, "%s/labels", r.root);
    if (is_dir(r.labels)) {
        snprintf(r.images, sizeof r.images, "%s/images", r.root);
        r.images_rel = "images/", r.labels_rel = "labels/";
        if (!is_dir(r.images)) {
            rc = an_err_set(err, AN_EINVAL, path, "%s has labels/ but no images/ folder", path);
            goto out;
        }
    } else {
        snprintf(r.labels, sizeof r.labels, "%s", r.root);
        snprintf(r.images, sizeof r.images, "%s", r.root);
        r.images_rel = r.labels_rel = "";
        r.flat = true;
    }
    rc = walk(&r, r.images, "", 0, want_image, read_image, err);
    if (rc == 0) rc = walk(&r, r.labels, "", 0, want_txt, orphan_fn, err);
out:
    names_free(&r.classes);
    free(r.ctl_of);
    free(r.label_of);
    an_buf_free(&r.where);
    an_buf_free(&r.reason);
    an_buf_free(&r.text);
    return rc;
}

/* ---- export ------------------------------------------------------------------------- */

typedef struct writer {
    an_geom_target tg;
    const an_control *ctl; /* whose labels are the classes */
    char labels[PATH_MAX], images[PATH_MAX];
    char copy[1 << 16];
} writer;

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

static int yolo_export_begin(an_export_ctx *ctx, an_err *err)
{
    writer *w = an_xcalloc(1, sizeof *w);
    int rc = an_geom_target_find(ctx->config, "yolo", &w->tg, err);
    if (rc == 0 && !ctx->out_dir)
        rc = an_err_set(err, AN_EINTERNAL, "yolo", "YOLO export needs an output folder");
    if (rc == 0) {
        w->ctl = w->tg.rect ? w->tg.rect : w->tg.poly;
        snprintf(w->labels, sizeof w->labels, "%s/labels", ctx->out_dir);
        snprintf(w->images, sizeof w->images, "%s/images", ctx->out_dir);
        const char *dirs[] = {w->labels, w->images};
        for (int i = 0; i < 2 && rc == 0; i++)
            if (mkdir(dirs[i], 0755) != 0 && errno != EEXIST)
                rc = an_err_set(err, AN_EIO, dirs[i], "cannot create %s: %s", dirs[i],
                                strerror(errno));
    }
    if (rc == 0) {
        an_buf *b = &ctx->scratch;
        an_buf_reset(b);
        for (size_t i = 0; i < w->ctl->n_labels; i++) {
            an_buf_adds(b, w->ctl->labels[i]);
            an_buf_addc(b, '\n');
        }
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/classes.txt", ctx->out_dir);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write_all(fd, b->p, b->len) != 0)
            rc = an_err_set(err, AN_EIO, p, "cannot write %s: %s", p, strerror(errno));
        if (fd >= 0 && close(fd) != 0 && rc == 0)
            rc = an_err_set(err, AN_EIO, p, "cannot write %s: %s", p, strerror(errno));
    }
    if (rc) {
        free(w);
        return rc;
    }
    ctx->state = w;
    return 0;
}

/* Copies the local file src to dst with a fixed buffer. A source that cannot be opened is
 * not an error (the image may live elsewhere); a failed write is. */
static int copy_image(writer *w, const char *src, const char *dst, an_err *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return 0;
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int rc = 0;
    if (out < 0) {
        rc = an_err_set(err, AN_EIO, dst, "cannot create %s: %s", dst, strerror(errno));
    } else {
        ssize_t n;
        while ((n = read(in, w->copy, sizeof w->copy)) != 0) {
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 || write_all(out, w->copy, (size_t)n) != 0) {
                rc = an_err_set(err, AN_EIO, dst, "cannot copy %s to %s: %s", src, dst,
                                strerror(errno));
                break;
            }
        }
        if (close(out) != 0 && rc == 0)
            rc = an_err_set(err, AN_EIO, dst, "cannot write %s: %s", dst, strerror(errno));
    }
    close(in);
    return rc;
}

static int yolo_export_task(an_export_ctx *ctx, const an_task_row *row, an_err *err)
{
    writer *w = ctx->state;
    const an_annotation_row *a = an_export_pick_annotation(row);
    if (!a) return 0;
    char where[64];
    snprintf(where, sizeof where, "task %lld", (long long)row->id);
    json_t *data = an_json_parse(row->data, row->data_len, where, err);
    if (!data) return -AN_EINVAL;
    json_t *result = NULL;
    int rc = 0, fd = -1;
    const char *img = an_json_str(data, w->tg.data_key);
    if (!img || !*img) {
        rc =
            an_err_set(err, AN_EINVAL, where, "the task has no data.%s image path", w->tg.data_key);
        goto out;
    }
    if (!(result = an_json_parse(a->result, strlen(a->result), where, err))) {
        rc = -AN_EINVAL;
        goto out;
    }
    an_buf *b = &ctx->scratch;
    an_buf_reset(b);
    double W = 0, H = 0;
    for (size_t i = 0; i < json_array_size(result) && rc == 0; i++) {
        an_geom_box bx;
        int got = an_geom_box_read(json_array_get(result, i), i, W, H, &bx, err);
        if (got < 0) {
            an_err_prefix_where(err, where);
            rc = got;
            break;
        }
        if (got == 0) continue;
        if (W == 0) W = bx.img_w, H = bx.img_h;
        for (size_t l = 0; l < json_array_size(bx.labels); l++) {
            const char *label = json_string_value(json_array_get(bx.labels, l));
            int c = an_geom_label_index(w->ctl, label);
            if (c < 0) {
                snprintf(where, sizeof where, "task %lld:result[%zu]", (long long)row->id, i);
                rc = an_err_set(err, AN_EINVAL, where,
                                "label \"%s\" is not a label of %s \"%s\", so it has no YOLO "
                                "class",
                                label ? label : "", an_tag_name(w->ctl->tag), w->ctl->name);
                break;
            }
            an_buf_addf(b, "%d ", c);
            an_geom_write_num(b, (bx.x + bx.w / 2) / bx.img_w);
            an_buf_addc(b, ' ');
            an_geom_write_num(b, (bx.y + bx.h / 2) / bx.img_h);
            an_buf_addc(b, ' ');
            an_geom_write_num(b, bx.w / bx.img_w);
            an_buf_addc(b, ' ');
            an_geom_write_num(b, bx.h / bx.img_h);
            an_buf_addc(b, '\n');
        }
    }
    if (rc) goto out;

    /* The stem names both files; the label file claims it (O_EXCL), so two images with
     * one stem cannot share a label file. */
    char name[512], stem[512], lab[PATH_MAX];
    const char *base = strrchr(img, '/');
    base = base ? base + 1 : img;
    snprintf(name, sizeof name, "%.*s", (int)strcspn(base, "?#"), base);
    snprintf(stem, sizeof stem, "%s", name);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem) *dot = '\0';
    const char *ext = dot && dot != stem ? name + (dot - stem) : "";
    if (!stem[0] || strcmp(stem, "classes") == 0)
        snprintf(stem, sizeof stem, "task%lld", (long long)row->id);
    for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
        if (attempt == 0)
            snprintf(lab, sizeof lab, "%s/%s.txt", w->labels, stem);
        else
            snprintf(lab, sizeof lab, "%s/%lld_%s.txt", w->labels, (long long)row->id, stem);
        fd = open(lab, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST) break;
        if (fd >= 0 && attempt == 1) {
            char prefixed[512];
            snprintf(prefixed, sizeof prefixed, "%lld_%s", (long long)row->id, stem);
            snprintf(stem, sizeof stem, "%s", prefixed);
        }
    }
    if (fd < 0) {
        rc = an_err_set(err, AN_EIO, lab, "cannot create %s: %s", lab, strerror(errno));
        goto out;
    }
    if (write_all(fd, b->p, b->len) != 0)
        rc = an_err_set(err, AN_EIO, lab, "cannot write %s: %s", lab, strerror(errno));
    if (close(fd) != 0 && rc == 0)
        rc = an_err_set(err, AN_EIO, lab, "cannot write %s: %s", lab, strerror(errno));
    if (rc == 0 && !strstr(img, "://")) {
        char dst[PATH_MAX];
        snprintf(dst, sizeof dst, "%s/%s%s", w->images, stem, ext);
        rc = copy_image(w, img, dst, err);
    }
out:
    json_decref(result);
    json_decref(data);
    return rc;
}

const an_format an_format_yolo = {
    .name = "yolo",
    .description = "YOLO detection folder: classes.txt or data.yaml, images/, labels/*.txt",
    .sniff = yolo_sniff,
    .read = yolo_read,
    .export_to_dir = true,
    .export_begin = yolo_export_begin,
    .export_task = yolo_export_task,
    .export_end = an_export_free_state,
};
