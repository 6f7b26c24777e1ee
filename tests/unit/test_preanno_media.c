/* The media models on data the test makes: text rendered into PNGs by Pillow (DejaVu Sans and
 * WenQuanYi Zen Hei) for "ocr", speech synthesised by espeak-ng for "asr"; the resampler on
 * pure tones; and the per-task failures (missing file, URL, undecodable file).
 *
 * Accuracy bounds: English OCR must be exact; Chinese OCR may have a character error rate up
 * to 0.2 (Tesseract's chi_sim model on a clean rendered line usually gets it all, but the bound
 * leaves room for model updates); boxes must overlap the drawn ink with IoU >= 0.5. ASR must
 * reach a word error rate <= 0.5 on espeak's synthetic voice (a hard case for an acoustic
 * model trained on human speech); the measured figures are printed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <sndfile.h>

#include "base/json.h"
#include "base/utf8.h"
#include "model/config.h"
#include "model/validate.h"
#include "preanno/audio.h"
#include "preanno/media_models.h"
#include "preanno/predictor.h"
#include "testlib.h"

static const char OCR_CFG[] =
    "<View><Image name=\"image\" value=\"$image\"/>"
    "<RectangleLabels name=\"bbox\" toName=\"image\"><Label value=\"Text\"/>"
    "<Label value=\"Handwriting\"/></RectangleLabels>"
    "<TextArea name=\"transcription\" toName=\"image\" editable=\"true\" perRegion=\"true\" "
    "required=\"true\" maxSubmissions=\"1\" rows=\"5\" placeholder=\"Recognized Text\" "
    "displayMode=\"region-list\"/></View>";

static const char SPEECH_CFG[] = "<View><Audio name=\"audio\" value=\"$audio\"/>"
                                 "<Labels name=\"segments\" toName=\"audio\">"
                                 "<Label value=\"Low tone\"/><Label value=\"High tone\"/></Labels>"
                                 "<TextArea name=\"transcript\" toName=\"audio\"/></View>";

/* ---- helpers ----------------------------------------------------------------------------- */

static char *path_in(const char *name)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tl_dir(), name);
    return buf[k];
}

static void run_ok(const char *cmd)
{
    int st = system(cmd);
    if (st != 0) fprintf(stderr, "command failed (%d): %s\n", st, cmd);
    assert_int_equal(st, 0);
}

static an_config *parse(const char *xml)
{
    an_config *cfg = NULL;
    an_err e;
    an_err_clear(&e);
    int rc = an_config_parse(xml, strlen(xml), &cfg, &e);
    if (rc) fprintf(stderr, "%s: %s\n", e.where, e.msg);
    assert_int_equal(rc, 0);
    return cfg;
}

static void *open_model(const an_predictor_ops *ops, const char *opts_json, const an_config *cfg,
                        const char *control)
{
    json_t *opts = opts_json ? json_loads(opts_json, 0, NULL) : NULL;
    void *state = NULL;
    an_err e;
    an_err_clear(&e);
    const an_control *c = control ? an_config_control(cfg, control) : NULL;
    int rc = ops->open(opts, NULL, cfg, c, &state, &e);
    if (rc) fprintf(stderr, "open: %s: %s\n", e.where, e.msg);
    assert_int_equal(rc, 0);
    json_decref(opts);
    return state;
}

/* Predicts one task {"KEY": value}; returns its out (result owned by the caller). */
static an_pred_out predict_one(const an_predictor_ops *ops, void *state, const char *key,
                               const char *value)
{
    json_t *data = json_pack("{s:s}", key, value);
    an_pred_task t = {.id = 1, .data = data};
    an_pred_out o;
    an_err e;
    an_err_clear(&e);
    assert_int_equal(ops->predict(state, &t, 1, &o, &e), 0);
    if (o.rc) fprintf(stderr, "predict: %s: %s\n", o.err.where, o.err.msg);
    json_decref(data);
    return o;
}

static void assert_valid(const an_config *cfg, const char *key, const char *value,
                         const json_t *result)
{
    json_t *data = json_pack("{s:s}", key, value);
    an_err e;
    an_err_clear(&e);
    int rc = an_validate_result(cfg, data, result, &e);
    if (rc) fprintf(stderr, "invalid: %s: %s\n", e.where, e.msg);
    assert_int_equal(rc, 0);
    json_decref(data);
}

static double num(const json_t *o, const char *key)
{
    double x = NAN;
    assert_true(an_json_number(json_object_get(o, key), &x));
    return x;
}

/* Levenshtein distance between sequences a[0..n) and b[0..m) of ints. */
static size_t edit_distance(const int32_t *a, size_t n, const int32_t *b, size_t m)
{
    size_t *row = calloc(m + 1, sizeof *row);
    for (size_t j = 0; j <= m; j++)
        row[j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[m];
    free(row);
    return d;
}

static size_t code_points(const char *s, int32_t *out, size_t cap)
{
    size_t i = 0, n = 0, len = strlen(s);
    while (i < len && n < cap) {
        int32_t c = an_utf8_next(s, len, &i);
        if (c != ' ') out[n++] = c;
    }
    return n;
}

/* Words as hashes (lowercase), for the word error rate. */
static size_t words_of(const char *s, int32_t *out, size_t cap)
{
    size_t n = 0;
    while (*s && n < cap) {
        while (*s == ' ')
            s++;
        if (!*s) break;
        uint32_t h = 2166136261u;
        for (; *s && *s != ' '; s++)
            h = (h ^ (uint32_t)(*s | 0x20)) * 16777619u;
        out[n++] = (int32_t)(h & 0x7fffffff);
    }
    return n;
}

static double wer(const char *ref, const char *hyp)
{
    int32_t a[64], b[64];
    size_t n = words_of(ref, a, 64), m = words_of(hyp, b, 64);
    return (double)edit_distance(a, n, b, m) / (double)n;
}

/* ---- the rendered images ----------------------------------------------------------------- */

static const char RENDER_PY[] =
    "import json, sys\n"
    "from PIL import Image, ImageDraw, ImageFont, ImageOps\n"
    "d = sys.argv[1]\n"
    "fonts = {'en': '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',\n"
    "         'zh': '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc'}\n"
    "texts = {'en': 'Hello annot 2026', 'zh': '\\u6570\\u636e\\u6807\\u6ce8\\u5e73\\u53f0'}\n"
    "boxes = {}\n"
    "for k in ('en', 'zh'):\n"
    "    f = ImageFont.truetype(fonts[k], 48)\n"
    "    im = Image.new('RGB', (800, 240), 'white')\n"
    "    ImageDraw.Draw(im).text((90, 100), texts[k], font=f, fill='black')\n"
    "    im.save(d + '/' + k + '.png')\n"
    "    boxes[k] = ImageOps.invert(im.convert('L')).getbbox()\n"
    "# black text on a transparent background: decoding must flatten alpha onto white\n"
    "im = Image.new('RGBA', (800, 240), (0, 0, 0, 0))\n"
    "ImageDraw.Draw(im).text((90, 100), texts['en'], font=ImageFont.truetype(fonts['en'], 48),\n"
    "                        fill=(0, 0, 0, 255))\n"
    "im.save(d + '/en_alpha.png')\n"
    "Image.new('RGB', (300, 200), 'white').save(d + '/blank.png')\n"
    "json.dump(boxes, open(d + '/boxes.json', 'w'))\n";

static json_t *boxes;

static void render_images(void)
{
    if (boxes) return;
    FILE *f = fopen(path_in("render.py"), "w");
    assert_non_null(f);
    fputs(RENDER_PY, f);
    fclose(f);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", path_in("render.py"), tl_dir());
    run_ok(cmd);
    boxes = json_load_file(path_in("boxes.json"), 0, NULL);
    assert_non_null(boxes);
}

/* IoU of a predicted region (percent of iw x ih) with the drawn box [l, t, r, b). */
static double iou_with(const json_t *value, int iw, int ih, const json_t *drawn)
{
    double x0 = num(value, "x") * iw / 100, y0 = num(value, "y") * ih / 100;
    double x1 = x0 + num(value, "width") * iw / 100, y1 = y0 + num(value, "height") * ih / 100;
    double l = (double)json_integer_value(json_array_get(drawn, 0));
    double t = (double)json_integer_value(json_array_get(drawn, 1));
    double r = (double)json_integer_value(json_array_get(drawn, 2));
    double b = (double)json_integer_value(json_array_get(drawn, 3));
    double iw_ = fmin(x1, r) - fmax(x0, l), ih_ = fmin(y1, b) - fmax(y0, t);
    double inter = iw_ > 0 && ih_ > 0 ? iw_ * ih_ : 0;
    double uni = (x1 - x0) * (y1 - y0) + (r - l) * (b - t) - inter;
    return uni > 0 ? inter / uni : 0;
}

/* Checks the OCR result's pairing (each rectangle has a textarea of the same id with the same
 * geometry) and returns the number of regions. */
static size_t check_pairs(const json_t *result, int iw, int ih)
{
    size_t n = json_array_size(result);
    assert_int_equal(n % 2, 0);
    for (size_t i = 0; i < n; i += 2) {
        const json_t *box = json_array_get(result, i), *txt = json_array_get(result, i + 1);
        assert_string_equal(an_json_str(box, "type"), "rectanglelabels");
        assert_string_equal(an_json_str(box, "from_name"), "bbox");
        assert_string_equal(an_json_str(txt, "type"), "textarea");
        assert_string_equal(an_json_str(txt, "from_name"), "transcription");
        assert_string_equal(an_json_str(box, "id"), an_json_str(txt, "id"));
        assert_int_equal(json_integer_value(json_object_get(box, "original_width")), iw);
        assert_int_equal(json_integer_value(json_object_get(box, "original_height")), ih);
        const json_t *bv = json_object_get(box, "value"), *tv = json_object_get(txt, "value");
        assert_true(num(bv, "x") == num(tv, "x") && num(bv, "width") == num(tv, "width"));
        double s = num(box, "score");
        assert_true(s >= 0 && s <= 1);
        assert_true(num(txt, "score") == s);
        for (size_t k = i + 2; k < n; k += 2)
            assert_string_not_equal(an_json_str(box, "id"),
                                    an_json_str(json_array_get(result, k), "id"));
    }
    return n / 2;
}

static const char *region_text(const json_t *result, size_t region)
{
    const json_t *txt = json_array_get(result, 2 * region + 1);
    return json_string_value(
        json_array_get(json_object_get(json_object_get(txt, "value"), "text"), 0));
}

/* ---- OCR ----------------------------------------------------------------------------------- */

static void test_ocr_english_line(void **st)
{
    render_images();
    an_config *cfg = parse(OCR_CFG);
    void *s = open_model(&an_ocr_ops, NULL, cfg, "bbox");
    const char *files[] = {"en.png", "en_alpha.png"};
    for (int f = 0; f < 2; f++) {
        an_pred_out o = predict_one(&an_ocr_ops, s, "image", path_in(files[f]));
        assert_int_equal(o.rc, 0);
        assert_int_equal(check_pairs(o.result, 800, 240), 1);
        assert_string_equal(region_text(o.result, 0), "Hello annot 2026");
        const json_t *box = json_array_get(o.result, 0);
        assert_string_equal(
            json_string_value(json_array_get(
                json_object_get(json_object_get(box, "value"), "rectanglelabels"), 0)),
            "Text");
        double iou =
            iou_with(json_object_get(box, "value"), 800, 240, json_object_get(boxes, "en"));
        printf("ocr eng %s: \"%s\" IoU %.3f score %.3f\n", files[f], region_text(o.result, 0), iou,
               o.score);
        assert_true(iou >= 0.5);
        assert_true(o.score == num(box, "score"));
        assert_valid(cfg, "image", path_in(files[f]), o.result);
        json_decref(o.result);
    }
    an_ocr_ops.close(s);
    an_config_free(cfg);
}

static void test_ocr_english_words(void **st)
{
    render_images();
    an_config *cfg = parse(OCR_CFG);
    void *s =
        open_model(&an_ocr_ops, "{\"level\": \"word\", \"label\": \"Handwriting\"}", cfg, "bbox");
    an_pred_out o = predict_one(&an_ocr_ops, s, "image", path_in("en.png"));
    assert_int_equal(o.rc, 0);
    assert_int_equal(check_pairs(o.result, 800, 240), 3);
    const char *want[] = {"Hello", "annot", "2026"};
    double prev_x = -1, sum = 0;
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(region_text(o.result, i), want[i]);
        const json_t *box = json_array_get(o.result, 2 * i);
        const json_t *v = json_object_get(box, "value");
        assert_string_equal(
            json_string_value(json_array_get(json_object_get(v, "rectanglelabels"), 0)),
            "Handwriting");
        /* left to right, and inside the drawn line (IoU of a word with the line is its share) */
        assert_true(num(v, "x") > prev_x);
        prev_x = num(v, "x");
        assert_true(iou_with(v, 800, 240, json_object_get(boxes, "en")) > 0.1);
        sum += num(box, "score");
    }
    assert_true(fabs(o.score - sum / 3) < 1e-9);
    assert_valid(cfg, "image", path_in("en.png"), o.result);
    json_decref(o.result);
    an_ocr_ops.close(s);
    an_config_free(cfg);
}

static void test_ocr_chinese(void **st)
{
    render_images();
    an_config *cfg = parse(OCR_CFG);
    const char *langs[] = {"{\"lang\": \"chi_sim\"}", "{\"lang\": \"eng+chi_sim\"}"};
    for (int k = 0; k < 2; k++) {
        void *s = open_model(&an_ocr_ops, langs[k], cfg, NULL); /* NULL: the control is found */
        an_pred_out o = predict_one(&an_ocr_ops, s, "image", path_in("zh.png"));
        assert_int_equal(o.rc, 0);
        assert_int_equal(check_pairs(o.result, 800, 240), 1);
        const char *got = region_text(o.result, 0);
        int32_t ref[16], hyp[64];
        size_t n = code_points("数据标注平台", ref, 16), m = code_points(got, hyp, 64);
        double cer = (double)edit_distance(ref, n, hyp, m) / (double)n;
        double iou = iou_with(json_object_get(json_array_get(o.result, 0), "value"), 800, 240,
                              json_object_get(boxes, "zh"));
        printf("ocr %s: \"%s\" CER %.3f IoU %.3f score %.3f\n", langs[k], got, cer, iou, o.score);
        assert_true(cer <= 0.2);
        assert_true(iou >= 0.5);
        /* no spaces between Chinese characters */
        assert_null(strstr(got, " "));
        assert_valid(cfg, "image", path_in("zh.png"), o.result);
        json_decref(o.result);
        an_ocr_ops.close(s);
    }
    an_config_free(cfg);
}

static void test_ocr_blank_and_failures(void **st)
{
    render_images();
    FILE *f = fopen(path_in("garbage.png"), "w");
    fputs("this is not an image at all", f);
    fclose(f);
    an_config *cfg = parse(OCR_CFG);
    void *s = open_model(&an_ocr_ops, NULL, cfg, "bbox");
    json_t *d[6] = {
        json_pack("{s:s}", "image", path_in("en.png")),
        json_pack("{s:s}", "image", path_in("missing.png")),
        json_pack("{s:s}", "image", "https://example.com/cat.png"),
        json_pack("{s:s}", "image", path_in("garbage.png")),
        json_pack("{s:i}", "other", 1),
        json_pack("{s:s}", "image", path_in("blank.png")),
    };
    an_pred_task t[6];
    for (int i = 0; i < 6; i++)
        t[i] = (an_pred_task){.id = i + 1, .data = d[i]};
    an_pred_out o[6];
    an_err e;
    an_err_clear(&e);
    assert_int_equal(an_ocr_ops.predict(s, t, 6, o, &e), 0);
    assert_int_equal(o[0].rc, 0);
    assert_string_equal(region_text(o[0].result, 0), "Hello annot 2026");
    const char *why[] = {NULL, "no file", "is a URL", "cannot decode", "no such field"};
    for (int i = 1; i < 5; i++) {
        printf("task %d: %s: %s\n", i + 1, o[i].err.where, o[i].err.msg);
        assert_true(o[i].rc < 0);
        assert_null(o[i].result);
        assert_string_equal(o[i].err.where, "data.image");
        assert_non_null(strstr(o[i].err.msg, why[i]));
    }
    /* a page without text: an empty result, no score */
    assert_int_equal(o[5].rc, 0);
    assert_int_equal(json_array_size(o[5].result), 0);
    assert_true(isnan(o[5].score));
    json_decref(o[0].result);
    json_decref(o[5].result);
    for (int i = 0; i < 6; i++)
        json_decref(d[i]);
    an_ocr_ops.close(s);
    an_config_free(cfg);
}

static void test_ocr_media_root(void **st)
{
    render_images();
    an_config *cfg = parse(OCR_CFG);
    char opts[2048];
    snprintf(opts, sizeof opts, "{\"media_root\": \"%s\"}", tl_dir());
    void *s = open_model(&an_ocr_ops, opts, cfg, "bbox");
    an_pred_out o = predict_one(&an_ocr_ops, s, "image", "en.png");
    assert_int_equal(o.rc, 0);
    assert_string_equal(region_text(o.result, 0), "Hello annot 2026");
    json_decref(o.result);
    o = predict_one(&an_ocr_ops, s, "image", "/data/local-files/?d=e%6E.png");
    assert_int_equal(o.rc, 0);
    json_decref(o.result);
    o = predict_one(&an_ocr_ops, s, "image", "../etc/passwd");
    assert_true(o.rc < 0);
    assert_non_null(strstr(o.err.msg, "climbs out"));
    o = predict_one(&an_ocr_ops, s, "image", "/etc/hostname");
    assert_true(o.rc < 0);
    assert_non_null(strstr(o.err.msg, "outside media_root"));
    an_ocr_ops.close(s);
    an_config_free(cfg);
}

static void test_ocr_controls_and_options(void **st)
{
    an_config *cfg = parse(OCR_CFG);
    an_err e;
    an_err_clear(&e);
    assert_int_equal(an_ocr_ops.check_control(cfg, an_config_control(cfg, "bbox"), &e), 0);
    assert_true(an_ocr_ops.check_control(cfg, an_config_control(cfg, "transcription"), &e) < 0);
    const char *bad[] = {"{\"lang\": \"fra\"}",   "{\"lang\": \"../../x\"}",
                         "{\"level\": \"page\"}", "{\"label\": \"Car\"}",
                         "{\"psm\": 0}",          "{\"min_confidence\": 101}"};
    const char *where[] = {"opts.lang",  "opts.lang", "opts.level",
                           "opts.label", "opts.psm",  "opts.min_confidence"};
    for (int i = 0; i < 6; i++) {
        json_t *o = json_loads(bad[i], 0, NULL);
        void *s = NULL;
        an_err_clear(&e);
        assert_true(an_ocr_ops.open(o, NULL, cfg, an_config_control(cfg, "bbox"), &s, &e) < 0);
        assert_null(s);
        assert_string_equal(e.where, where[i]);
        json_decref(o);
    }
    an_config_free(cfg);
    /* without a TextArea on the image there is nowhere to put the text */
    an_config *c2 = parse("<View><Image name=\"im\" value=\"$im\"/><RectangleLabels name=\"b\" "
                          "toName=\"im\"><Label value=\"T\"/></RectangleLabels></View>");
    an_err_clear(&e);
    assert_true(an_ocr_ops.check_control(c2, an_config_control(c2, "b"), &e) < 0);
    assert_non_null(strstr(e.msg, "TextArea"));
    assert_true(an_ocr_ops.check_control(c2, NULL, &e) < 0);
    an_config_free(c2);
}

/* ---- audio and the resampler ---------------------------------------------------------------- */

static float *tone(double hz, int rate, double seconds, size_t *n)
{
    *n = (size_t)(rate * seconds);
    float *x = malloc(*n * sizeof *x);
    for (size_t i = 0; i < *n; i++)
        x[i] = (float)(0.5 * sin(2 * M_PI * hz * (double)i / rate));
    return x;
}

static void test_resample_tones(void **st)
{
    const int rates[][2] = {{44100, 16000}, {22050, 16000}, {8000, 16000}, {48000, 16000}};
    for (int k = 0; k < 4; k++) {
        size_t n, m;
        float *x = tone(1000, rates[k][0], 1.0, &n);
        float *y = an_audio_resample(x, n, rates[k][0], rates[k][1], &m);
        assert_int_equal(m, (size_t)llround((double)n * rates[k][1] / rates[k][0]));
        double maxerr = 0;
        for (size_t j = 200; j + 200 < m; j++) {
            double want = 0.5 * sin(2 * M_PI * 1000 * (double)j / rates[k][1]);
            maxerr = fmax(maxerr, fabs(y[j] - want));
        }
        printf("resample 1 kHz %d -> %d: max error %.2e\n", rates[k][0], rates[k][1], maxerr);
        assert_true(maxerr < 2e-3);
        free(x);
        free(y);
    }
    /* 10 kHz is above the new Nyquist frequency (8 kHz): it must be stopped, not folded back to
     * 6 kHz. A plain linear interpolator lets most of it through. */
    size_t n, m;
    float *x = tone(10000, 44100, 1.0, &n);
    float *y = an_audio_resample(x, n, 44100, 16000, &m);
    double e = 0;
    for (size_t j = 200; j + 200 < m; j++)
        e += (double)y[j] * y[j];
    double rms = sqrt(e / (double)(m - 400)), db = 20 * log10(rms / (0.5 / sqrt(2)));
    printf("resample 10 kHz 44100 -> 16000: %.1f dB\n", db);
    assert_true(db < -50);
    free(x);
    free(y);
}

static void write_wav(const char *path, int rate, int channels, int format, const float *frames,
                      size_t n)
{
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    assert_non_null(f);
    assert_int_equal(sf_writef_float(f, frames, (sf_count_t)n), (sf_count_t)n);
    sf_close(f);
}

static void test_audio_load(void **st)
{
    /* stereo: left +0.5, right -0.25: the mono mix is their mean */
    float fr[2000];
    for (int i = 0; i < 1000; i++) {
        fr[2 * i] = 0.5f;
        fr[2 * i + 1] = -0.25f;
    }
    write_wav(path_in("st.wav"), 44100, 2, SF_FORMAT_WAV | SF_FORMAT_PCM_16, fr, 1000);
    an_audio a;
    an_err e;
    an_err_clear(&e);
    assert_int_equal(an_audio_load(path_in("st.wav"), 60, "data.audio", &a, &e), 0);
    assert_int_equal(a.n, 1000);
    assert_int_equal(a.rate, 44100);
    assert_int_equal(a.channels, 2);
    for (size_t i = 0; i < a.n; i++)
        assert_true(fabs(a.samples[i] - 0.125) < 1e-3);
    an_audio_free(&a);
    /* longer than max_seconds: refused before decoding */
    assert_true(an_audio_load(path_in("st.wav"), 0.01, "data.audio", &a, &e) < 0);
    assert_non_null(strstr(e.msg, "max_seconds"));
    assert_string_equal(e.where, "data.audio");
    /* not audio */
    FILE *f = fopen(path_in("noise.wav"), "w");
    fputs("RIFF but not really", f);
    fclose(f);
    an_err_clear(&e);
    assert_true(an_audio_load(path_in("noise.wav"), 60, "data.audio", &a, &e) < 0);
    assert_non_null(strstr(e.msg, "cannot decode"));
    /* 16-bit conversion clips */
    float big[3] = {2.0f, -2.0f, 0.5f};
    int16_t *p = an_audio_pcm16(big, 3);
    assert_int_equal(p[0], 32767);
    assert_int_equal(p[1], -32768);
    assert_int_equal(p[2], 16384);
    free(p);
}

/* ---- ASR ------------------------------------------------------------------------------------ */

static const char SENTENCE[] = "hello world this is a test";

/* A 44.1 kHz stereo copy of a WAV, upsampled by numpy's linear interpolation (not by annot's
 * resampler), the right channel at half the level. */
static const char STEREO_PY[] =
    "import sys, wave, numpy as np\n"
    "r = wave.open(sys.argv[1]); rate = r.getframerate()\n"
    "x = np.frombuffer(r.readframes(r.getnframes()), dtype='<i2').astype(np.float64)\n"
    "t = np.arange(int(len(x) * 44100 / rate)) * rate / 44100\n"
    "y = np.interp(t, np.arange(len(x)), x)\n"
    "st = np.stack([y, 0.5 * y], axis=1).round().astype('<i2')\n"
    "w = wave.open(sys.argv[2], 'wb'); w.setnchannels(2); w.setsampwidth(2); "
    "w.setframerate(44100)\n"
    "w.writeframes(st.tobytes()); w.close()\n";

static void make_speech(void)
{
    static bool made;
    if (made) return;
    char cmd[4096];
    /* espeak's US voice, a little slower than its default 175 words a minute */
    snprintf(cmd, sizeof cmd, "espeak-ng -v en-us -s 130 -w %s \"%s\"", path_in("speech.wav"),
             SENTENCE);
    run_ok(cmd);
    FILE *f = fopen(path_in("stereo.py"), "w");
    fputs(STEREO_PY, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s", path_in("stereo.py"),
             path_in("speech.wav"), path_in("speech44.wav"));
    run_ok(cmd);
    /* the same speech as FLAC, written by libsndfile */
    an_audio a;
    an_err e;
    assert_int_equal(an_audio_load(path_in("speech.wav"), 60, "x", &a, &e), 0);
    write_wav(path_in("speech.flac"), a.rate, 1, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, a.samples, a.n);
    an_audio_free(&a);
    made = true;
}

static void check_asr(const an_config *cfg, const an_pred_out *o, const char *file)
{
    assert_int_equal(o->rc, 0);
    assert_valid(cfg, "audio", file, o->result);
    an_audio a;
    an_err e;
    assert_int_equal(an_audio_load(file, 60, "x", &a, &e), 0);
    double duration = (double)a.n / a.rate;
    an_audio_free(&a);
    const json_t *first = json_array_get(o->result, 0);
    assert_string_equal(an_json_str(first, "from_name"), "transcript");
    const char *transcript = json_string_value(
        json_array_get(json_object_get(json_object_get(first, "value"), "text"), 0));
    assert_non_null(transcript);
    double w = wer(SENTENCE, transcript);
    printf("asr %s: \"%s\" WER %.3f score %.3f\n", file, transcript, w, o->score);
    assert_true(w <= 0.5);
    /* word segments: in order, not overlapping, inside the audio; their words make the
     * transcript */
    an_buf joined;
    an_buf_init(&joined);
    double prev_end = 0, sum = 0;
    size_t n = json_array_size(o->result);
    assert_true(n >= 2);
    for (size_t i = 1; i < n; i++) {
        const json_t *it = json_array_get(o->result, i);
        assert_string_equal(an_json_str(it, "type"), "labels");
        assert_string_equal(an_json_str(it, "from_name"), "segments");
        const json_t *v = json_object_get(it, "value");
        double s = num(v, "start"), en = num(v, "end"), p = num(it, "score");
        assert_true(s >= prev_end - 1e-9);
        assert_true(en > s);
        assert_true(en <= duration + 1e-9);
        assert_true(p >= 0 && p <= 1);
        sum += p;
        prev_end = en;
        assert_string_equal(json_string_value(json_array_get(json_object_get(v, "labels"), 0)),
                            "Low tone");
        if (joined.len) an_buf_addc(&joined, ' ');
        an_buf_adds(&joined, json_string_value(json_array_get(
                                 json_object_get(json_object_get(it, "meta"), "text"), 0)));
    }
    assert_string_equal(joined.p, transcript);
    assert_true(fabs(o->score - sum / (double)(n - 1)) < 1e-9);
    an_buf_free(&joined);
}

static void test_asr_speech(void **st)
{
    make_speech();
    an_config *cfg = parse(SPEECH_CFG);
    void *s = open_model(&an_asr_ops, NULL, cfg, "transcript");
    const char *files[] = {"speech.wav", "speech44.wav", "speech.flac"};
    char *first = NULL;
    for (int i = 0; i < 3; i++) {
        an_pred_out o = predict_one(&an_asr_ops, s, "audio", path_in(files[i]));
        check_asr(cfg, &o, path_in(files[i]));
        if (i == 0) first = an_json_text(o.result);
        json_decref(o.result);
    }
    /* a file's result does not depend on what the decoder heard before */
    an_pred_out again = predict_one(&an_asr_ops, s, "audio", path_in("speech.wav"));
    char *second = an_json_text(again.result);
    assert_string_equal(first, second);
    free(first);
    free(second);
    json_decref(again.result);
    an_asr_ops.close(s);
    an_config_free(cfg);
}

static void test_asr_failures_and_controls(void **st)
{
    make_speech();
    an_config *cfg = parse(SPEECH_CFG);
    an_err e;
    an_err_clear(&e);
    assert_int_equal(an_asr_ops.check_control(cfg, an_config_control(cfg, "segments"), &e), 0);
    assert_int_equal(an_asr_ops.check_control(cfg, NULL, &e), 0);
    an_config *c2 = parse(OCR_CFG);
    assert_true(an_asr_ops.check_control(c2, an_config_control(c2, "transcription"), &e) < 0);
    assert_true(an_asr_ops.check_control(c2, NULL, &e) < 0);
    an_config_free(c2);
    /* chosen through Labels with another label: the transcript still goes to the TextArea */
    void *s = open_model(&an_asr_ops, "{\"label\": \"High tone\"}", cfg, "segments");
    FILE *f = fopen(path_in("text.wav"), "w");
    fputs("just some text", f);
    fclose(f);
    json_t *d[4] = {json_pack("{s:s}", "audio", path_in("speech.wav")),
                    json_pack("{s:s}", "audio", path_in("nothing.wav")),
                    json_pack("{s:s}", "audio", "s3://bucket/a.wav"),
                    json_pack("{s:s}", "audio", path_in("text.wav"))};
    an_pred_task t[4];
    for (int i = 0; i < 4; i++)
        t[i] = (an_pred_task){.id = i + 1, .data = d[i]};
    an_pred_out o[4];
    assert_int_equal(an_asr_ops.predict(s, t, 4, o, &e), 0);
    assert_int_equal(o[0].rc, 0);
    assert_string_equal(an_json_str(json_array_get(o[0].result, 0), "from_name"), "transcript");
    assert_string_equal(
        json_string_value(json_array_get(
            json_object_get(json_object_get(json_array_get(o[0].result, 1), "value"), "labels"),
            0)),
        "High tone");
    json_decref(o[0].result);
    const char *why[] = {NULL, "no file", "is a URL", "cannot decode"};
    for (int i = 1; i < 4; i++) {
        printf("task %d: %s: %s\n", i + 1, o[i].err.where, o[i].err.msg);
        assert_true(o[i].rc < 0);
        assert_string_equal(o[i].err.where, "data.audio");
        assert_non_null(strstr(o[i].err.msg, why[i]));
    }
    for (int i = 0; i < 4; i++)
        json_decref(d[i]);
    an_asr_ops.close(s);
    /* bad options */
    json_t *bad = json_pack("{s:s}", "hmm", "/nonexistent/model");
    void *st2 = NULL;
    assert_true(an_asr_ops.open(bad, NULL, cfg, an_config_control(cfg, "transcript"), &st2, &e) <
                0);
    assert_string_equal(e.where, "opts.hmm");
    json_decref(bad);
    an_config_free(cfg);
}

static int teardown(void **state)
{
    json_decref(boxes);
    boxes = NULL;
    return tl_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resample_tones),
        cmocka_unit_test(test_audio_load),
        cmocka_unit_test(test_ocr_controls_and_options),
        cmocka_unit_test(test_ocr_english_line),
        cmocka_unit_test(test_ocr_english_words),
        cmocka_unit_test(test_ocr_chinese),
        cmocka_unit_test(test_ocr_blank_and_failures),
        cmocka_unit_test(test_ocr_media_root),
        cmocka_unit_test(test_asr_speech),
        cmocka_unit_test(test_asr_failures_and_controls),
    };
    return cmocka_run_group_tests(tests, tl_setup, teardown);
}
