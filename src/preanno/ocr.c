/* The "ocr" model: Tesseract (its C API, with Debian's eng and chi_sim LSTM models) reads the
 * text of an Image task and returns each word or line as a rectangle on the config's
 * RectangleLabels control with the recognised text in a per-region TextArea item of the same
 * id — Label Studio's OCR template:
 *
 *   <Image name="image" value="$image"/>
 *   <RectangleLabels name="bbox" toName="image"><Label value="Text"/></RectangleLabels>
 *   <TextArea name="transcription" toName="image" perRegion="true"/>
 *
 * Options (opts, all optional): "lang" ("eng", "chi_sim", "eng+chi_sim"; default "eng"),
 * "level" ("line" or "word"; default "line"), "label" (default the control's first),
 * "media_root" (see media_models.h), "min_confidence" (0..100: drop regions below it;
 * default 0), "psm" (Tesseract's page segmentation mode 1..13; default 3, automatic),
 * "max_pixels" (refuse larger images; default 40e6), "tessdata" (the folder of the
 * .traineddata files; default Tesseract's own). */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tesseract/capi.h>
#include <vips/vips.h>

#include "base/json.h"
#include "base/utf8.h"
#include "preanno/media_models.h"

typedef struct ocr_state {
    TessBaseAPI *api;
    const an_config *cfg;
    const an_control *box;  /* RectangleLabels */
    const an_control *text; /* TextArea on the same image */
    const an_object *image;
    char *label; /* copied: opts need not outlive the state */
    char *media_root;
    TessPageIteratorLevel level;
    double min_conf;
    double max_pixels;
} ocr_state;

/* The Image object a RectangleLabels control marks and the TextArea on that image. With no
 * control (a run over the whole config), the first RectangleLabels control that fits, into
 * *control. */
static int find_parts(const an_config *cfg, const an_control **controlp, const an_object **image,
                      const an_control **text, an_err *err)
{
    const an_control *control = *controlp;
    *image = NULL;
    *text = NULL;
    if (!control) {
        /* No control chosen (a run over the whole config): the first that fits. */
        for (size_t i = 0; i < cfg->n_controls; i++)
            if (cfg->controls[i].tag == AN_TAG_RECTANGLELABELS) {
                const an_control *c = &cfg->controls[i];
                if (find_parts(cfg, &c, image, text, NULL) == 0) {
                    *controlp = c;
                    return 0;
                }
            }
        return an_err_set(err, AN_EINVAL, "config",
                          "the config has no RectangleLabels control on an Image with a "
                          "per-region TextArea on that image, which the ocr model fills");
    }
    if (control->tag != AN_TAG_RECTANGLELABELS)
        return an_err_set(err, AN_EINVAL, control->name,
                          "the ocr model answers a RectangleLabels control on an Image (with a "
                          "per-region TextArea on that image for the text); choose one");
    for (size_t i = 0; i < control->n_to && !*image; i++) {
        const an_object *o = an_config_object(cfg, control->to_names[i]);
        if (o && o->tag == AN_TAG_IMAGE && o->data_key) *image = o;
    }
    if (!*image)
        return an_err_set(err, AN_EINVAL, control->name,
                          "control \"%s\" does not mark an Image reading a task field ($field)",
                          control->name);
    for (size_t i = 0; i < cfg->n_controls && !*text; i++) {
        const an_control *c = &cfg->controls[i];
        if (c->tag != AN_TAG_TEXTAREA) continue;
        for (size_t k = 0; k < c->n_to; k++)
            if (strcmp(c->to_names[k], (*image)->name) == 0) *text = c;
    }
    if (!*text)
        return an_err_set(err, AN_EINVAL, control->name,
                          "the config has no TextArea on image \"%s\" for the recognised text; "
                          "add <TextArea name=\"transcription\" toName=\"%s\" perRegion=\"true\"/>",
                          (*image)->name, (*image)->name);
    return 0;
}

static int ocr_check_control(const an_config *cfg, const an_control *control, an_err *err)
{
    const an_object *image;
    const an_control *text;
    return find_parts(cfg, &control, &image, &text, err);
}

/* Only the languages Debian ships models for: the names reach Tesseract, which turns them
 * into file names, so nothing else may pass. */
static bool lang_ok(const char *lang)
{
    static const char *const known[] = {"eng", "chi_sim"};
    const char *p = lang;
    for (;;) {
        const char *plus = strchr(p, '+');
        size_t n = plus ? (size_t)(plus - p) : strlen(p);
        bool found = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strlen(known[i]) == n && strncmp(known[i], p, n) == 0) found = true;
        if (!found) return false;
        if (!plus) return true;
        p = plus + 1;
    }
}

static pthread_once_t vips_once = PTHREAD_ONCE_INIT;
static int vips_status;

static void vips_start(void)
{
    vips_status = vips_init("annot");
}

/* Debian's Tesseract is built with OpenMP and runs its LSTM's loops on as many threads as
 * there are cores. Beside annot's own workers (one Tesseract each) that only adds contention:
 * on a 2-core machine one worker read a page 2.4x slower with OpenMP's threads than without
 * (bench/media.sh). So each worker turns OpenMP's parallel regions off for itself, which is
 * what OMP_THREAD_LIMIT=1 does for a whole process; parallelism comes from --workers. The
 * OpenMP runtime is Tesseract's dependency, not annot's, so it is looked up rather than
 * linked: a Tesseract built without OpenMP simply has nothing to turn off. The setting
 * belongs to the calling thread in libgomp, hence once per worker thread. */
static pthread_once_t omp_once = PTHREAD_ONCE_INIT;
static void (*omp_set_levels)(int);
static _Thread_local bool omp_single;

static void omp_find(void)
{
    *(void **)&omp_set_levels = dlsym(RTLD_DEFAULT, "omp_set_max_active_levels");
}

static void tesseract_single_thread(void)
{
    if (omp_single) return;
    pthread_once(&omp_once, omp_find);
    if (omp_set_levels) omp_set_levels(0);
    omp_single = true;
}

static void ocr_close(void *state)
{
    ocr_state *s = state;
    if (!s) return;
    if (s->api) {
        TessBaseAPIEnd(s->api);
        TessBaseAPIDelete(s->api);
    }
    free(s->label);
    free(s->media_root);
    free(s);
}

static int ocr_open(const json_t *opts, const an_model_data *model, const an_config *cfg,
                    const an_control *control, void **state, an_err *err)
{
    *state = NULL;
    const an_object *image;
    const an_control *text;
    int rc = find_parts(cfg, &control, &image, &text, err);
    if (rc) return rc;
    const char *lang, *level, *label, *root, *tessdata;
    double psm, min_conf, max_pixels;
    if ((rc = an_media_opt_str(opts, "lang", "eng", &lang, err)) ||
        (rc = an_media_opt_str(opts, "level", "line", &level, err)) ||
        (rc = an_media_opt_str(opts, "media_root", NULL, &root, err)) ||
        (rc = an_media_opt_str(opts, "tessdata", NULL, &tessdata, err)) ||
        (rc = an_media_opt_label(opts, control, &label, err)) ||
        (rc = an_media_opt_num(opts, "psm", PSM_AUTO, PSM_AUTO_OSD, PSM_RAW_LINE, &psm, err)) ||
        (rc = an_media_opt_num(opts, "min_confidence", 0, 0, 100, &min_conf, err)) ||
        (rc = an_media_opt_num(opts, "max_pixels", 40e6, 1, 1e9, &max_pixels, err)))
        return rc;
    if (!lang_ok(lang))
        return an_err_set(err, AN_EINVAL, "opts.lang",
                          "language \"%.60s\" is not available; use eng, chi_sim or eng+chi_sim",
                          lang);
    if (strcmp(level, "line") != 0 && strcmp(level, "word") != 0)
        return an_err_set(err, AN_EINVAL, "opts.level",
                          "level \"%.60s\" is unknown; use \"line\" or \"word\"", level);
    if (psm != floor(psm))
        return an_err_set(err, AN_EINVAL, "opts.psm", "psm must be a whole number from 1 to 13");
    pthread_once(&vips_once, vips_start);
    if (vips_status != 0)
        return an_err_set(err, AN_EINTERNAL, "libvips", "libvips did not start; reinstall it");
    ocr_state *s = an_xcalloc(1, sizeof *s);
    s->cfg = cfg;
    s->box = control;
    s->text = text;
    s->image = image;
    s->label = label ? an_xstrdup(label) : NULL;
    s->media_root = root ? an_xstrdup(root) : NULL;
    s->level = strcmp(level, "word") == 0 ? RIL_WORD : RIL_TEXTLINE;
    s->min_conf = min_conf;
    s->max_pixels = max_pixels;
    s->api = TessBaseAPICreate();
    /* Tesseract's notes ("Estimating resolution as …") would print once per image. */
    TessBaseAPISetVariable(s->api, "debug_file", "/dev/null");
    if (TessBaseAPIInit3(s->api, tessdata, lang) != 0) {
        ocr_close(s);
        return an_err_set(err, AN_EINVAL, "opts.lang",
                          "Tesseract could not load the \"%s\" model%s%s; install "
                          "tesseract-ocr-eng / tesseract-ocr-chi-sim",
                          lang, tessdata ? " from " : "", tessdata ? tessdata : "");
    }
    TessBaseAPISetPageSegMode(s->api, (TessPageSegMode)(int)psm);
    *state = s;
    return 0;
}

/* Opens the image at path with the loader its first bytes call for, built outside libvips's
 * operation cache: vips_image_new_from_file would answer a second load of the same path from
 * the cache, with the old pixels if the file has changed since (a long-running server), and
 * libvips 8.14 has no "revalidate" yet. NULL with the reason in libvips's error buffer. */
static VipsImage *load_uncached(const char *path)
{
    const char *loader = vips_foreign_find_load(path);
    if (!loader) return NULL;
    VipsOperation *op = vips_operation_new(loader);
    if (!op) return NULL;
    VipsImage *out = NULL;
    g_object_set(op, "filename", path, NULL);
    if (vips_object_build(VIPS_OBJECT(op)) == 0) g_object_get(op, "out", &out, NULL);
    vips_object_unref_outputs(VIPS_OBJECT(op));
    g_object_unref(op);
    return out;
}

/* Decodes the image at path to 8-bit grey (alpha flattened onto white) with libvips. On
 * success *pixels is g_malloc'd (g_free), *w x *h bytes. */
static int decode_grey(const char *path, double max_pixels, const char *where,
                       unsigned char **pixels, int *w, int *h, an_err *err)
{
    *pixels = NULL;
    VipsImage *in = load_uncached(path);
    VipsImage *t[4] = {NULL, NULL, NULL, NULL};
    int rc = 0;
    if (!in) {
        rc = -1;
    } else if ((double)vips_image_get_width(in) * vips_image_get_height(in) > max_pixels) {
        g_object_unref(in);
        return an_err_set(err, AN_EINVAL, where,
                          "%.200s has %d x %d pixels, more than the %.0f the model reads "
                          "(option max_pixels)",
                          path, vips_image_get_width(in), vips_image_get_height(in), max_pixels);
    } else {
        /* To 8-bit sRGB first (16-bit, CMYK, grey and palette images all arrive there), then
         * flatten any alpha onto white, then to one grey band. */
        VipsImage *cur = in;
        rc = vips_colourspace(cur, &t[0], VIPS_INTERPRETATION_sRGB, NULL);
        if (!rc) cur = t[0];
        if (!rc && vips_image_hasalpha(cur)) {
            VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
            rc = vips_flatten(cur, &t[1], "background", white, NULL);
            vips_area_unref(VIPS_AREA(white));
            if (!rc) cur = t[1];
        }
        if (!rc) rc = vips_colourspace(cur, &t[2], VIPS_INTERPRETATION_B_W, NULL);
        if (!rc) rc = vips_extract_band(t[2], &t[3], 0, "n", 1, NULL);
        if (!rc && vips_image_get_format(t[3]) != VIPS_FORMAT_UCHAR) rc = -1;
        size_t size = 0;
        void *mem = rc ? NULL : vips_image_write_to_memory(t[3], &size);
        if (mem) {
            *w = vips_image_get_width(t[3]);
            *h = vips_image_get_height(t[3]);
            if (size != (size_t)*w * (size_t)*h || *w <= 0 || *h <= 0) {
                g_free(mem);
                mem = NULL;
            }
        }
        if (!mem) rc = -1;
        *pixels = mem;
    }
    for (int i = 0; i < 4; i++)
        if (t[i]) g_object_unref(t[i]);
    if (in) g_object_unref(in);
    if (rc) {
        char *msg = vips_error_buffer_copy();
        size_t n = msg ? strlen(msg) : 0;
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            msg[--n] = '\0';
        an_err_set(err, AN_EINVAL, where, "cannot decode %.200s as an image%s%.300s", path,
                   n ? ": " : "", n ? msg : "");
        g_free(msg);
        return -AN_EINVAL;
    }
    return 0;
}

static bool is_cjk(int32_t c)
{
    return (c >= 0x2E80 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFF00 && c <= 0xFFEF) ||
           (c >= 0x20000 && c <= 0x2FA1F);
}

/* The region's text as people write it: trimmed, and without the spaces Tesseract puts
 * between the "words" of Chinese (each character or two is a word to it), which would
 * otherwise land in every Chinese transcription. Whitespace runs become one space. */
static void tidy_text(const char *s, an_buf *out)
{
    an_buf_reset(out);
    size_t len = strlen(s), i = 0;
    int32_t prev = 0;   /* the last code point written, 0 at the start */
    bool space = false; /* whitespace seen since prev */
    while (i < len) {
        size_t at = i;
        int32_t c = an_utf8_next(s, len, &i);
        if (c < 0) return; /* not UTF-8: an_utf8_valid refuses it later */
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x3000) {
            space = prev != 0;
            continue;
        }
        if (space && !(is_cjk(prev) && is_cjk(c))) an_buf_addc(out, ' ');
        space = false;
        an_buf_add(out, s + at, i - at);
        prev = c;
    }
}

static json_t *region_value(double x, double y, double w, double h)
{
    return json_pack("{s:f,s:f,s:f,s:f,s:i}", "x", x, "y", y, "width", w, "height", h, "rotation",
                     0);
}

static json_t *region_item(const char *id, const an_control *c, const char *to_name, int iw, int ih,
                           json_t *value, double score)
{
    json_t *item =
        json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:o,s:f}", "id", id, "from_name", c->name,
                  "to_name", to_name, "type", c->result_type, "original_width", iw,
                  "original_height", ih, "image_rotation", 0, "value", value, "score", score);
    return item;
}

static int ocr_one(ocr_state *s, const an_pred_task *t, an_pred_out *o)
{
    char where[200];
    snprintf(where, sizeof where, "data.%s", s->image->data_key);
    an_buf path;
    an_buf_init(&path);
    int rc = an_media_task_path(s->image, t->data, s->media_root, "ocr", &path, &o->err);
    unsigned char *px = NULL;
    int w = 0, h = 0;
    if (!rc) rc = decode_grey(path.p, s->max_pixels, where, &px, &w, &h, &o->err);
    an_buf_free(&path);
    if (rc) return rc;
    tesseract_single_thread();
    TessBaseAPISetImage(s->api, px, w, h, 1, w);
    if (TessBaseAPIRecognize(s->api, NULL) != 0) {
        g_free(px);
        TessBaseAPIClear(s->api);
        return an_err_set(&o->err, AN_EINVAL, where, "Tesseract could not read the image");
    }
    json_t *result = json_array();
    double sum = 0;
    size_t n = 0;
    an_buf text;
    an_buf_init(&text);
    TessResultIterator *ri = TessBaseAPIGetIterator(s->api);
    if (ri) {
        const TessPageIterator *pi = TessResultIteratorGetPageIterator(ri);
        do {
            int l, tp, r, b;
            char *raw = TessResultIteratorGetUTF8Text(ri, s->level);
            if (!raw) continue;
            tidy_text(raw, &text);
            TessDeleteText(raw);
            float conf = TessResultIteratorConfidence(ri, s->level);
            if (text.len == 0 || !an_utf8_valid(text.p, text.len) || !(conf >= s->min_conf))
                continue;
            if (!TessPageIteratorBoundingBox(pi, s->level, &l, &tp, &r, &b)) continue;
            /* Tesseract's right and bottom are one past the last pixel. */
            if (l < 0) l = 0;
            if (tp < 0) tp = 0;
            if (r > w) r = w;
            if (b > h) b = h;
            if (r <= l || b <= tp) continue;
            double score = conf / 100.0;
            if (score > 1) score = 1;
            double x = 100.0 * l / w, y = 100.0 * tp / h;
            double bw = 100.0 * (r - l) / w, bh = 100.0 * (b - tp) / h;
            char id[32];
            snprintf(id, sizeof id, "ocr%zu", n + 1);
            json_t *v = region_value(x, y, bw, bh);
            json_object_set_new(v, "rectanglelabels", json_pack("[s]", s->label));
            json_array_append_new(result, region_item(id, s->box, s->image->name, w, h, v, score));
            v = region_value(x, y, bw, bh);
            json_object_set_new(v, "text", json_pack("[s%]", text.p, text.len));
            json_array_append_new(result, region_item(id, s->text, s->image->name, w, h, v, score));
            sum += score;
            n++;
        } while (TessResultIteratorNext(ri, s->level));
        TessResultIteratorDelete(ri);
    }
    an_buf_free(&text);
    TessBaseAPIClear(s->api);
    g_free(px);
    o->result = result;
    o->score = n ? sum / (double)n : NAN;
    return 0;
}

static int ocr_predict(void *state, const an_pred_task *tasks, size_t n, an_pred_out *out,
                       an_err *err)
{
    ocr_state *s = state;
    for (size_t i = 0; i < n; i++) {
        an_pred_out *o = &out[i];
        memset(o, 0, sizeof *o);
        an_err_clear(&o->err);
        o->score = NAN;
        o->rc = ocr_one(s, &tasks[i], o);
        if (o->rc) o->result = NULL;
    }
    return 0;
}

const an_predictor_ops an_ocr_ops = {
    .name = "ocr",
    .batch = 1,
    .summary = "text in images: Tesseract (eng, chi_sim) word or line boxes with their text",
    .check_control = ocr_check_control,
    .open = ocr_open,
    .predict = ocr_predict,
    .train = NULL,
    .close = ocr_close,
};
