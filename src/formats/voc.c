/* Pascal VOC: one XML file per image (Annotations/<stem>.xml, or .xml files at the top of
 * the folder) with the image's file name, its size and its objects' boxes in pixels.
 *
 * Import: one task per XML file, data {KEY: absolute image path}, one annotation with a
 * rectangle per <object> (a four-corner polygon when the config has only PolygonLabels).
 * The image is <folder>/JPEGImages/<filename> when that exists, else <filename> beside the
 * XML, else the XML's <path>. Coordinates are read as written (floats allowed) and kept as
 * plain pixel positions, without VOC's historical 1-based shift, so they round-trip
 * exactly. Label Studio results have no place for difficult and truncated: they go to the
 * task's meta as {"voc": {"difficult": [region ids], "truncated": [region ids]}}, which the
 * export reads back. Files are parsed by libxml2 without network access or external
 * entities.
 *
 * Export: Annotations/<stem>.xml for each task with an annotation; a stem two images share
 * gets the task id in front ("17_img.xml"). */
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

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "base/json.h"
#include "formats/geom.h"
#include "formats/media.h"

#define MAX_XML_BYTES (16 << 20) /* a VOC file describes one image: bigger is not VOC */
#define EDGE_SLOP 1.0            /* pixels outside the image that are clamped, not rejected */

static bool ends_with_xml(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcasecmp(name + n - 4, ".xml") == 0;
}

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

/* True when the first element of the XML text head[0..n) is <annotation>. */
static bool annotation_root(const unsigned char *head, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const unsigned char *lt = memchr(head + i, '<', n - i);
        if (!lt) return false;
        i = (size_t)(lt - head) + 1;
        if (i < n && (head[i] == '?' || head[i] == '!')) continue; /* prolog, comment, DTD */
        return n - i >= 11 && memcmp(head + i, "annotation", 10) == 0 &&
               (head[i + 10] == '>' || head[i + 10] == ' ' || head[i + 10] == '\t' ||
                head[i + 10] == '\n' || head[i + 10] == '\r');
    }
    return false;
}

/* ---- sniff -------------------------------------------------------------------------- */

static bool file_has_annotation_root(const char *path)
{
    unsigned char head[1024];
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return annotation_root(head, n);
}

/* The first .xml file of dir (in readdir order) has an <annotation> root. */
static bool dir_has_voc_xml(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return false;
    bool found = false;
    struct dirent *e;
    for (int seen = 0; !found && seen < 64 && (e = readdir(d));) {
        if (!ends_with_xml(e->d_name)) continue;
        seen++;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        found = file_has_annotation_root(p);
    }
    closedir(d);
    return found;
}

static int voc_sniff(const char *path, bool dir, const unsigned char *head, size_t n)
{
    if (!dir) return ends_with_xml(path) && annotation_root(head, n) ? 80 : 0;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/Annotations", path);
    return dir_has_voc_xml(p) || dir_has_voc_xml(path) ? 80 : 0;
}

/* ---- import ------------------------------------------------------------------------- */

typedef struct reader {
    const an_geom_target *tg;
    const an_import_sink *sink;
    char root[PATH_MAX]; /* absolute dataset folder */
    const char *rel_dir; /* "Annotations/" or "" */
    const char *name;    /* current file name */
    an_buf where, reason, path;
} reader;

static int reject(reader *r, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int reject(reader *r, long line, const char *fmt, ...)
{
    va_list ap;
    an_buf_reset(&r->where);
    an_buf_addf(&r->where, "%s%s", r->rel_dir, r->name);
    if (line > 0) an_buf_addf(&r->where, ":%ld", line);
    an_buf_reset(&r->reason);
    va_start(ap, fmt);
    an_buf_vaddf(&r->reason, fmt, ap);
    va_end(ap);
    int rc = r->sink->reject(r->sink->ud, r->where.p, r->reason.p);
    return rc < 0 ? rc : 0;
}

static xmlNode *child(const xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0) return c;
    return NULL;
}

/* Trimmed text of element n (NULL when absent), copied into buf[0..cap). */
static const char *text_of(const xmlNode *n, char *buf, size_t cap)
{
    if (!n) return NULL;
    xmlChar *t = xmlNodeGetContent(n);
    if (!t) return NULL;
    const char *s = (const char *)t;
    size_t len = strlen(s);
    while (len &&
           (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    while (len && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++, len--;
    snprintf(buf, cap, "%.*s", (int)len, s);
    xmlFree(t);
    return buf;
}

static bool number_of(const xmlNode *n, double *out)
{
    char buf[64], *end;
    const char *s = text_of(n, buf, sizeof buf);
    if (!s || !*s) return false;
    errno = 0;
    *out = strtod(s, &end);
    return *end == '\0' && errno == 0 && isfinite(*out);
}

/* 0/1 flags such as <difficult>; absent is 0. */
static bool flag_of(const xmlNode *n)
{
    double v = 0;
    return number_of(n, &v) && v != 0;
}

static bool fit(double *lo, double *hi, double size)
{
    if (*lo > *hi || *lo < -EDGE_SLOP || *hi > size + EDGE_SLOP) return false;
    *lo = fmax(*lo, 0), *hi = fmin(*hi, size);
    return true;
}

/* Chooses the image path for filename (see the top of the file). */
static void image_path(reader *r, const char *xml_dir, const char *filename, const char *path_el)
{
    an_buf *p = &r->path;
    an_buf_reset(p);
    if (filename && *filename) {
        an_buf_addf(p, "%s/JPEGImages/%s", r->root, filename);
        if (is_file(p->p)) return;
        an_buf_reset(p);
        an_buf_addf(p, "%s/%s", xml_dir, filename);
        if (is_file(p->p)) return;
    }
    an_buf_reset(p);
    if (path_el && *path_el) {
        an_buf_adds(p, path_el);
        return;
    }
    an_buf_addf(p, "%s/JPEGImages/%s", r->root, filename ? filename : "");
}

/* Reads one parsed VOC document into a record. */
static int read_doc(reader *r, xmlDoc *doc, const char *xml_dir, an_err *err)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!root || strcmp((const char *)root->name, "annotation") != 0)
        return reject(r, root ? xmlGetLineNo(root) : 0,
                      "not a VOC annotation: the root element is <%s>, not <annotation>",
                      root ? (const char *)root->name : "");
    char filename[1024], path_el[PATH_MAX], label[512], id[32];
    const char *fn = text_of(child(root, "filename"), filename, sizeof filename);
    const char *pe = text_of(child(root, "path"), path_el, sizeof path_el);
    if ((!fn || !*fn) && (!pe || !*pe))
        return reject(r, xmlGetLineNo(root), "the annotation has no <filename> or <path>");
    image_path(r, xml_dir, fn, pe);

    xmlNode *size = child(root, "size");
    double W = 0, H = 0;
    if (!number_of(child(size, "width"), &W) || !number_of(child(size, "height"), &H) || W <= 0 ||
        H <= 0) {
        /* Some tools write <width>0</width>; the image header knows better. */
        int iw, ih;
        an_err ignored;
        W = H = 0;
        if (an_media_image_size(r->path.p, &iw, &ih, &ignored) == 0) W = iw, H = ih;
    }

    json_t *result = json_array();
    json_t *difficult = json_array(), *truncated = json_array();
    size_t item_no = 0;
    int rc = 0;
    bool bad = false;
    for (xmlNode *o = root->children; o && !bad; o = o->next) {
        if (o->type != XML_ELEMENT_NODE || strcmp((const char *)o->name, "object") != 0) continue;
        long line = xmlGetLineNo(o);
        if (!(W > 0 && H > 0)) {
            rc = reject(r, xmlGetLineNo(root),
                        "the image size is missing from <size> and %s cannot be read for it",
                        r->path.p);
            bad = true;
            break;
        }
        const char *name = text_of(child(o, "name"), label, sizeof label);
        xmlNode *bb = child(o, "bndbox");
        double b[4];
        static const char *const keys[] = {"xmin", "ymin", "xmax", "ymax"};
        bool ok = bb != NULL;
        for (int k = 0; ok && k < 4; k++)
            ok = number_of(child(bb, keys[k]), &b[k]);
        const an_control *ctl = r->tg->rect ? r->tg->rect : r->tg->poly;
        int li = an_geom_label_index(ctl, name);
        bad = true;
        if (!name || !*name)
            rc = reject(r, line, "the object has no <name>");
        else if (li < 0)
            rc = reject(r, line,
                        "object name \"%s\" is not a label of %s \"%s\"; add it to the "
                        "labeling config or leave these objects out",
                        name, an_tag_name(ctl->tag), ctl->name);
        else if (!ok)
            rc = reject(r, bb ? xmlGetLineNo(bb) : line,
                        "the object needs a <bndbox> with numeric xmin, ymin, xmax, ymax");
        else if (!fit(&b[0], &b[2], W) || !fit(&b[1], &b[3], H))
            rc = reject(r, xmlGetLineNo(bb),
                        "box (%g, %g)-(%g, %g) does not lie inside the %gx%g image", b[0], b[1],
                        b[2], b[3], W, H);
        else
            bad = false;
        if (bad) break;
        snprintf(id, sizeof id, "r%zu", ++item_no);
        const char *lab = ctl->labels[li];
        if (ctl == r->tg->rect) {
            json_array_append_new(result, an_geom_rect_item(id, ctl, r->tg->rect_to, W, H, b[0],
                                                            b[1], b[2] - b[0], b[3] - b[1], lab));
        } else {
            double xy[8] = {b[0], b[1], b[2], b[1], b[2], b[3], b[0], b[3]};
            json_array_append_new(result,
                                  an_geom_poly_item(id, ctl, r->tg->poly_to, W, H, xy, 4, lab));
        }
        if (flag_of(child(o, "difficult"))) json_array_append_new(difficult, json_string(id));
        if (flag_of(child(o, "truncated"))) json_array_append_new(truncated, json_string(id));
    }
    if (!bad) {
        an_record rec = {0};
        rec.data = json_object();
        json_t *p = json_string(r->path.p);
        if (!p) {
            rc = reject(r, 0, "the image path is not valid UTF-8");
        } else {
            json_object_set_new(rec.data, r->tg->data_key, p);
            json_t *ann = json_object();
            json_object_set(ann, "result", result);
            rec.annotations = json_array();
            json_array_append_new(rec.annotations, ann);
            if (json_array_size(difficult) || json_array_size(truncated)) {
                json_t *voc = json_object();
                if (json_array_size(difficult)) json_object_set(voc, "difficult", difficult);
                if (json_array_size(truncated)) json_object_set(voc, "truncated", truncated);
                rec.meta = json_object();
                json_object_set_new(rec.meta, "voc", voc);
            }
            an_buf_reset(&r->where);
            an_buf_addf(&r->where, "%s%s", r->rel_dir, r->name);
            rec.where = r->where.p;
            rc = r->sink->record(r->sink->ud, &rec, err);
        }
        json_decref(rec.data);
        json_decref(rec.annotations);
        json_decref(rec.meta);
    }
    json_decref(result);
    json_decref(difficult);
    json_decref(truncated);
    return rc;
}

static int read_file(reader *r, const char *file, const char *xml_dir, an_err *err)
{
    struct stat st;
    if (stat(file, &st) != 0) return reject(r, 0, "cannot read the file: %s", strerror(errno));
    if (st.st_size > MAX_XML_BYTES)
        return reject(r, 0, "the file is %lld bytes; a VOC annotation is far smaller",
                      (long long)st.st_size);
    xmlResetLastError();
    xmlDoc *doc =
        xmlReadFile(file, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = xmlGetLastError();
        char msg[512];
        snprintf(msg, sizeof msg, "%s", e && e->message ? e->message : "unreadable");
        size_t n = strlen(msg);
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            msg[--n] = '\0';
        return reject(r, e ? e->line : 0, "malformed XML: %s", msg);
    }
    int rc = read_doc(r, doc, xml_dir, err);
    xmlFreeDoc(doc);
    return rc;
}

static int only_xml(const struct dirent *e)
{
    return ends_with_xml(e->d_name);
}

static int voc_read(const char *path, const an_config *cfg, const an_import_sink *sink, an_err *err)
{
    an_geom_target tg;
    int rc = an_geom_target_find(cfg, "voc", &tg, err);
    if (rc) return rc;
    reader r = {.tg = &tg, .sink = sink, .rel_dir = ""};
    char dir[PATH_MAX];
    if (!realpath(path, r.root))
        return an_err_set(err, AN_EIO, path, "cannot read %s: %s", path, strerror(errno));
    an_buf_init(&r.where);
    an_buf_init(&r.reason);
    an_buf_init(&r.path);
    if (!is_dir(r.root)) {
        /* A single XML file: its folder is the dataset folder (or the one above, when the
         * file sits in Annotations/). */
        char *slash = strrchr(r.root, '/');
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - r.root), r.root);
        char file[PATH_MAX];
        snprintf(file, sizeof file, "%s", r.root);
        slash = strrchr(dir, '/');
        if (slash && strcmp(slash + 1, "Annotations") == 0) {
            snprintf(r.root, sizeof r.root, "%.*s", (int)(slash - dir), dir);
            r.rel_dir = "Annotations/";
        } else {
            snprintf(r.root, sizeof r.root, "%s", dir);
        }
        r.name = strrchr(file, '/') + 1;
        rc = read_file(&r, file, dir, err);
        if (rc == 0 && sink->progress) sink->progress(sink->ud, 1, 1);
        goto out;
    }
    snprintf(dir, sizeof dir, "%s/Annotations", r.root);
    if (is_dir(dir))
        r.rel_dir = "Annotations/";
    else
        snprintf(dir, sizeof dir, "%s", r.root);
    struct dirent **list = NULL;
    int n = scandir(dir, &list, only_xml, alphasort);
    if (n < 0) {
        rc = an_err_set(err, AN_EIO, dir, "cannot list %s: %s", dir, strerror(errno));
        goto out;
    }
    if (n == 0)
        rc = an_err_set(err, AN_EINVAL, path,
                        "no .xml files in %s or its Annotations folder; a VOC dataset holds "
                        "one XML file per image",
                        path);
    for (int i = 0; i < n; i++) {
        if (rc == 0) {
            char file[PATH_MAX];
            snprintf(file, sizeof file, "%s/%s", dir, list[i]->d_name);
            r.name = list[i]->d_name;
            rc = read_file(&r, file, dir, err);
            if (sink->progress) sink->progress(sink->ud, (uint64_t)i + 1, (uint64_t)n);
        }
        free(list[i]);
    }
    free(list);
out:
    an_buf_free(&r.where);
    an_buf_free(&r.reason);
    an_buf_free(&r.path);
    return rc;
}

/* ---- export ------------------------------------------------------------------------- */

typedef struct writer {
    an_geom_target tg;
    char dir[PATH_MAX]; /* <out>/Annotations */
} writer;

static int voc_export_begin(an_export_ctx *ctx, an_err *err)
{
    writer *w = an_xcalloc(1, sizeof *w);
    int rc = an_geom_target_find(ctx->config, "voc", &w->tg, err);
    if (rc == 0 && !ctx->out_dir)
        rc = an_err_set(err, AN_EINTERNAL, "voc", "VOC export needs an output folder");
    if (rc == 0) {
        snprintf(w->dir, sizeof w->dir, "%s/Annotations", ctx->out_dir);
        if (mkdir(w->dir, 0755) != 0 && errno != EEXIST)
            rc = an_err_set(err, AN_EIO, w->dir, "cannot create %s: %s", w->dir, strerror(errno));
    }
    if (rc) {
        free(w);
        return rc;
    }
    ctx->state = w;
    return 0;
}

/* Appends s as XML character data. Control characters XML 1.0 cannot hold are refused. */
static bool add_xml_text(an_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return false;
        if (c == '&')
            an_buf_adds(b, "&amp;");
        else if (c == '<')
            an_buf_adds(b, "&lt;");
        else if (c == '>')
            an_buf_adds(b, "&gt;");
        else
            an_buf_addc(b, (char)c);
    }
    return true;
}

/* Last path segment of an image path or URL, without query or fragment. */
static void base_name(const char *path, char *out, size_t cap)
{
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    size_t n = strcspn(s, "?#");
    snprintf(out, cap, "%.*s", (int)n, s);
}

/* Creates Annotations/<stem>.xml, or <task id>_<stem>.xml when the stem is taken. */
static int create_file(writer *w, const char *stem, int64_t task_id, char *path, size_t cap,
                       an_err *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (attempt == 0)
            snprintf(path, cap, "%s/%s.xml", w->dir, stem);
        else
            snprintf(path, cap, "%s/%lld_%s.xml", w->dir, (long long)task_id, stem);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) return fd;
        if (errno != EEXIST) break;
    }
    return an_err_set(err, AN_EIO, path, "cannot create %s: %s", path, strerror(errno));
}

static bool listed(const json_t *meta, const char *key, const char *id)
{
    const json_t *a = json_object_get(json_object_get(meta, "voc"), key);
    for (size_t i = 0; id && i < json_array_size(a); i++)
        if (json_is_string(json_array_get(a, i)) &&
            strcmp(json_string_value(json_array_get(a, i)), id) == 0)
            return true;
    return false;
}

static int voc_export_task(an_export_ctx *ctx, const an_task_row *row, an_err *err)
{
    writer *w = ctx->state;
    const an_annotation_row *a = an_export_pick_annotation(row);
    if (!a) return 0;
    char where[64];
    snprintf(where, sizeof where, "task %lld", (long long)row->id);
    json_t *data = an_json_parse(row->data, row->data_len, where, err);
    if (!data) return -AN_EINVAL;
    json_t *result = NULL, *meta = NULL;
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
    if (row->meta) meta = json_loads(row->meta, 0, NULL); /* only for difficult/truncated */

    char fname[512], stem[512];
    base_name(img, fname, sizeof fname);
    snprintf(stem, sizeof stem, "%s", fname);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem) *dot = '\0';
    if (!stem[0]) snprintf(stem, sizeof stem, "task%lld", (long long)row->id);

    an_buf *b = &ctx->scratch;
    an_buf_reset(b);
    double W = 0, H = 0;
    an_buf objs = AN_BUF_INIT;
    an_buf_init(&objs);
    for (size_t i = 0; i < json_array_size(result) && rc == 0; i++) {
        const json_t *item = json_array_get(result, i);
        an_geom_box bx;
        int got = an_geom_box_read(item, i, W, H, &bx, err);
        if (got < 0) {
            an_err_prefix_where(err, where);
            rc = got;
            break;
        }
        if (got == 0) continue;
        if (W == 0) W = bx.img_w, H = bx.img_h;
        const char *id = an_json_str(item, "id");
        for (size_t l = 0; l < json_array_size(bx.labels); l++) {
            const char *label = json_string_value(json_array_get(bx.labels, l));
            an_buf_adds(&objs, "\t<object>\n\t\t<name>");
            if (!label || !add_xml_text(&objs, label)) {
                snprintf(where, sizeof where, "task %lld:result[%zu]", (long long)row->id, i);
                rc = an_err_set(err, AN_EINVAL, where, "the label holds control characters");
                break;
            }
            an_buf_addf(&objs,
                        "</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>%d</truncated>\n"
                        "\t\t<difficult>%d</difficult>\n\t\t<bndbox>\n\t\t\t<xmin>",
                        listed(meta, "truncated", id), listed(meta, "difficult", id));
            an_geom_write_num(&objs, bx.x);
            an_buf_adds(&objs, "</xmin>\n\t\t\t<ymin>");
            an_geom_write_num(&objs, bx.y);
            an_buf_adds(&objs, "</ymin>\n\t\t\t<xmax>");
            an_geom_write_num(&objs, bx.x + bx.w);
            an_buf_adds(&objs, "</xmax>\n\t\t\t<ymax>");
            an_geom_write_num(&objs, bx.y + bx.h);
            an_buf_adds(&objs, "</ymax>\n\t\t</bndbox>\n\t</object>\n");
        }
    }
    if (rc == 0 && W == 0) {
        int iw, ih;
        an_err ignored;
        if (an_media_image_size(img, &iw, &ih, &ignored) == 0) W = iw, H = ih;
    }
    if (rc == 0) {
        an_buf_adds(b, "<annotation>\n\t<folder>JPEGImages</folder>\n\t<filename>");
        bool ok = add_xml_text(b, fname);
        an_buf_adds(b, "</filename>\n\t<path>");
        ok = ok && add_xml_text(b, img);
        an_buf_adds(b, "</path>\n\t<source>\n\t\t<database>annot</database>\n\t</source>\n"
                       "\t<size>\n\t\t<width>");
        an_geom_write_num(b, W);
        an_buf_adds(b, "</width>\n\t\t<height>");
        an_geom_write_num(b, H);
        an_buf_adds(b, "</height>\n\t\t<depth>3</depth>\n\t</size>\n\t<segmented>0</segmented>\n");
        an_buf_add(b, objs.p, objs.len);
        an_buf_adds(b, "</annotation>\n");
        if (!ok)
            rc = an_err_set(err, AN_EINVAL, where,
                            "the image path holds control characters, which XML cannot");
    }
    an_buf_free(&objs);
    char file[PATH_MAX];
    if (rc == 0 && (fd = create_file(w, stem, row->id, file, sizeof file, err)) < 0) rc = fd;
    if (rc == 0) {
        size_t off = 0;
        while (off < b->len) {
            ssize_t n = write(fd, b->p + off, b->len - off);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                rc = an_err_set(err, AN_EIO, file, "cannot write %s: %s", file, strerror(errno));
                break;
            }
            off += (size_t)n;
        }
        if (close(fd) != 0 && rc == 0)
            rc = an_err_set(err, AN_EIO, file, "cannot write %s: %s", file, strerror(errno));
    }
out:
    json_decref(meta);
    json_decref(result);
    json_decref(data);
    return rc;
}

const an_format an_format_voc = {
    .name = "voc",
    .description = "Pascal VOC: one XML file of boxes per image (Annotations/*.xml)",
    .sniff = voc_sniff,
    .read = voc_read,
    .export_to_dir = true,
    .export_begin = voc_export_begin,
    .export_task = voc_export_task,
    .export_end = an_export_free_state,
};
