/* The cascades evaluated in C against OpenCV's own detectMultiScale (Debian's python3-opencv,
 * run by tests/data/cascade/opencv_detect.py) on OpenCV's sample photographs and on scaled
 * and cropped copies, plus the "face" model's results and refusals of bad cascade files.
 *
 * The comparison matches boxes one to one (intersection over union >= 0.7); the test asks
 * for at least 90 % of OpenCV's boxes matched and at most 10 % extra, and prints how many
 * are exactly equal (box and neighbour count) — on these images all are. */
#include "testlib.h"

#include "model/config.h"
#include "model/validate.h"
#include "preanno/cascade.h"
#include "preanno/detect.h"

#define SAMPLES "/usr/share/doc/opencv-doc/examples/data/"
#define HAAR "/usr/share/opencv4/haarcascades/"
#define LBP "/usr/share/opencv4/lbpcascades/"

static char script[PATH_MAX];

typedef struct boxlist {
    int v[256][5];
    size_t n;
} boxlist;

/* Runs cmd and parses its "PATH N" + N "x y w h n" blocks into lists[i] for each image. */
static void run_opencv(const char *cascade, double sf, int mn, const char *const *imgs,
                       size_t n_imgs, boxlist *lists)
{
    an_buf cmd;
    an_buf_init(&cmd);
    an_buf_addf(&cmd, "/usr/bin/python3 '%s' '%s' %g %d", script, cascade, sf, mn);
    for (size_t i = 0; i < n_imgs; i++) an_buf_addf(&cmd, " '%s'", imgs[i]);
    FILE *f = popen(cmd.p, "r");
    assert_non_null(f);
    for (size_t i = 0; i < n_imgs; i++) {
        char path[PATH_MAX];
        size_t n;
        assert_int_equal(fscanf(f, "%4095s %zu", path, &n), 2);
        assert_string_equal(path, imgs[i]);
        assert_true(n <= 256);
        lists[i].n = n;
        for (size_t k = 0; k < n; k++)
            assert_int_equal(fscanf(f, "%d %d %d %d %d", &lists[i].v[k][0], &lists[i].v[k][1],
                                    &lists[i].v[k][2], &lists[i].v[k][3], &lists[i].v[k][4]),
                             5);
    }
    assert_int_equal(pclose(f), 0);
    an_buf_free(&cmd);
}

static double iou4(const int *a, const an_detection *b)
{
    double x0 = fmax(a[0], b->x), y0 = fmax(a[1], b->y);
    double x1 = fmin(a[0] + a[2], b->x + b->width), y1 = fmin(a[1] + a[3], b->y + b->height);
    if (x1 <= x0 || y1 <= y0) return 0;
    double in = (x1 - x0) * (y1 - y0);
    return in / ((double)a[2] * a[3] + (double)b->width * b->height - in);
}

/* Compares annot's detections with OpenCV's on each image; returns the number of OpenCV
 * boxes over all images (so a caller can insist that the test compared something). */
static size_t compare(const char *cascade, double sf, int mn, const char *const *imgs,
                      size_t n_imgs)
{
    boxlist *cv = calloc(n_imgs, sizeof *cv);
    run_opencv(cascade, sf, mn, imgs, n_imgs, cv);
    an_cascade *c;
    an_err e;
    an_err_clear(&e);
    assert_int_equal(an_cascade_load(cascade, &c, &e), 0);
    size_t total = 0, matched = 0, exact = 0, extra = 0;
    for (size_t i = 0; i < n_imgs; i++) {
        an_gray_image g;
        assert_int_equal(an_gray_image_load(imgs[i], &g, &e), 0);
        an_gray_view v = {g.px, g.width, g.height, (size_t)g.width};
        an_cascade_opts o = {.scale_factor = sf, .min_neighbors = mn};
        an_detection *d;
        size_t n;
        assert_int_equal(an_cascade_detect(c, &v, &o, &d, &n, &e), 0);
        bool used[256] = {false};
        size_t before = matched;
        for (size_t k = 0; k < cv[i].n; k++) {
            size_t best = SIZE_MAX;
            double bi = 0.7;
            for (size_t j = 0; j < n && j < 256; j++)
                if (!used[j] && iou4(cv[i].v[k], &d[j]) >= bi) {
                    bi = iou4(cv[i].v[k], &d[j]);
                    best = j;
                }
            if (best == SIZE_MAX) continue;
            used[best] = true;
            matched++;
            const int *b = cv[i].v[k];
            if (b[0] == d[best].x && b[1] == d[best].y && b[2] == d[best].width &&
                b[3] == d[best].height && b[4] == d[best].neighbors)
                exact++;
        }
        total += cv[i].n;
        extra += n - (matched - before); /* annot's boxes OpenCV does not have */
        free(d);
        an_gray_image_free(&g);
    }
    an_cascade_free(c);
    free(cv);
    print_message("%s: OpenCV %zu boxes, matched %zu (exactly equal %zu), extra %zu\n",
                  strrchr(cascade, '/') + 1, total, matched, exact, extra);
    assert_true(matched * 10 >= total * 9);
    assert_true(extra * 10 <= total);
    return total;
}

static void frontal_on_photographs(void **state)
{
    const char *imgs[] = {SAMPLES "messi5.jpg", SAMPLES "basketball1.png", SAMPLES "left01.jpg"};
    assert_true(compare(HAAR "haarcascade_frontalface_default.xml", 1.1, 3, imgs, 3) >= 5);
}

static void frontal_on_scaled_and_cropped_copies(void **state)
{
    /* Copies made by OpenCV (PNG, so both sides decode the same pixels). */
    an_buf cmd;
    an_buf_init(&cmd);
    an_buf_addf(&cmd, "/usr/bin/python3 '%s' --synthetic %s %s", script,
                SAMPLES "basketball1.png", tl_dir());
    FILE *f = popen(cmd.p, "r");
    assert_non_null(f);
    char paths[3][PATH_MAX];
    for (int i = 0; i < 3; i++) assert_int_equal(fscanf(f, "%4095s", paths[i]), 1);
    assert_int_equal(pclose(f), 0);
    an_buf_free(&cmd);
    const char *imgs[] = {paths[0], paths[1], paths[2]};
    assert_true(compare(HAAR "haarcascade_frontalface_default.xml", 1.1, 3, imgs, 3) >= 3);
    /* Another scale factor and neighbour count on one of them. */
    compare(HAAR "haarcascade_frontalface_default.xml", 1.2, 5, imgs, 1);
}

static void profile_plate_and_lbp(void **state)
{
    const char *faces[] = {SAMPLES "left01.jpg"};
    assert_true(compare(HAAR "haarcascade_profileface.xml", 1.1, 3, faces, 1) >= 1);
    /* The plate cascade has tilted (45°) features. */
    const char *plates[] = {SAMPLES "sudoku.png", SAMPLES "board.jpg"};
    assert_true(compare(HAAR "haarcascade_russian_plate_number.xml", 1.1, 3, plates, 2) >= 2);
    const char *lbp[] = {SAMPLES "messi5.jpg", SAMPLES "left14.jpg"};
    assert_true(compare(LBP "lbpcascade_frontalface.xml", 1.1, 2, lbp, 2) >= 4);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void bad_cascade_files(void **state)
{
    an_cascade *c = NULL;
    an_err e;
    an_err_clear(&e);
    /* The old haartraining format. */
    assert_int_equal(an_cascade_load(HAAR "haarcascade_licence_plate_rus_16stages.xml", &c, &e),
                     -AN_EINVAL);
    assert_non_null(strstr(e.msg, "old haartraining format"));
    assert_int_equal(an_cascade_load("/nonexistent/cascade.xml", &c, &e), -AN_EIO);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/bad.xml", tl_dir());
    /* A node naming a feature the file does not have. */
    write_file(path, "<?xml version=\"1.0\"?><opencv_storage><cascade><stageType>BOOST"
                     "</stageType><featureType>HAAR</featureType><height>4</height><width>4"
                     "</width><featureParams><maxCatCount>0</maxCatCount></featureParams>"
                     "<stages><_><stageThreshold>0</stageThreshold><weakClassifiers><_>"
                     "<internalNodes>0 -1 7 0.5</internalNodes><leafValues>1 -1</leafValues>"
                     "</_></weakClassifiers></_></stages><features><_><rects><_>0 0 2 2 -1."
                     "</_><_>0 0 1 1 2.</_></rects><tilted>0</tilted></_></features>"
                     "</cascade></opencv_storage>");
    assert_int_equal(an_cascade_load(path, &c, &e), -AN_EINVAL);
    assert_non_null(strstr(e.where, "internalNodes"));
    /* A rectangle outside the window. */
    write_file(path, "<?xml version=\"1.0\"?><opencv_storage><cascade><stageType>BOOST"
                     "</stageType><featureType>HAAR</featureType><height>4</height><width>4"
                     "</width><featureParams><maxCatCount>0</maxCatCount></featureParams>"
                     "<stages><_><stageThreshold>0</stageThreshold><weakClassifiers><_>"
                     "<internalNodes>0 -1 0 0.5</internalNodes><leafValues>1 -1</leafValues>"
                     "</_></weakClassifiers></_></stages><features><_><rects><_>0 0 9 2 -1."
                     "</_></rects><tilted>0</tilted></_></features></cascade></opencv_storage>");
    assert_int_equal(an_cascade_load(path, &c, &e), -AN_EINVAL);
    assert_non_null(strstr(e.where, "rects"));
    write_file(path, "not xml");
    assert_int_equal(an_cascade_load(path, &c, &e), -AN_EINVAL);
    assert_null(c);
}

static const char CONFIG[] =
    "<View><Image name=\"image\" value=\"$image\"/>"
    "<RectangleLabels name=\"box\" toName=\"image\"><Label value=\"Face\"/><Label value=\"Plate\"/>"
    "</RectangleLabels><Choices name=\"c\" toName=\"image\"><Choice value=\"a\"/></Choices></View>";

static void face_model_predicts_valid_regions(void **state)
{
    an_config *cfg;
    an_err e;
    an_err_clear(&e);
    assert_int_equal(an_config_parse(CONFIG, strlen(CONFIG), &cfg, &e), 0);
    const an_predictor_ops *ops = an_predictor_find("face");
    assert_non_null(ops);
    assert_non_null(an_predictor_find("plate"));
    const an_control *box = an_config_control(cfg, "box");
    assert_int_equal(ops->check_control(cfg, an_config_control(cfg, "c"), &e), -AN_EINVAL);
    assert_int_equal(ops->check_control(cfg, box, &e), 0);
    /* An unknown label is refused when opening. */
    json_t *bad = json_pack("{s:s}", "label", "Dog");
    void *st = NULL;
    assert_int_equal(ops->open(bad, NULL, cfg, box, &st, &e), -AN_EINVAL);
    json_decref(bad);
    assert_int_equal(ops->open(NULL, NULL, cfg, box, &st, &e), 0);
    json_t *d1 = json_pack("{s:s}", "image", SAMPLES "messi5.jpg");
    json_t *d2 = json_pack("{s:s}", "image", "https://example.com/a.jpg");
    json_t *d3 = json_pack("{s:s}", "image", "/nonexistent.jpg");
    an_pred_task tasks[3] = {{1, d1}, {2, d2}, {3, d3}};
    an_pred_out out[3];
    assert_int_equal(ops->predict(st, tasks, 3, out, &e), 0);
    assert_int_equal(out[0].rc, 0);
    an_box *b;
    size_t nb;
    assert_int_equal(an_detect(SAMPLES "messi5.jpg", AN_DETECT_FACE, &b, &nb, &e), 0);
    assert_true(nb >= 2);
    assert_int_equal(json_array_size(out[0].result), nb);
    assert_int_equal(an_validate_result(cfg, d1, out[0].result, &e), 0);
    const json_t *r0 = json_array_get(out[0].result, 0);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(r0, "value"), "rectanglelabels"), 0)),
                        "Face");
    assert_int_equal(json_integer_value(json_object_get(r0, "original_width")), 548);
    double x = json_real_value(json_object_get(json_object_get(r0, "value"), "x"));
    assert_true(fabs(x - 100.0 * b[0].x / 548) < 1e-9);
    double sc = json_real_value(json_object_get(r0, "score"));
    assert_true(fabs(sc - b[0].neighbors / (b[0].neighbors + 10.0)) < 1e-12);
    assert_true(out[0].score >= sc);
    /* Failures are per task, with the reason. */
    assert_int_equal(out[1].rc, -AN_EINVAL);
    assert_non_null(strstr(out[1].err.msg, "URL"));
    assert_int_equal(out[2].rc, -AN_EINVAL);
    for (int i = 0; i < 3; i++) json_decref(out[i].result);
    ops->close(st);
    free(b);
    json_decref(d1);
    json_decref(d2);
    json_decref(d3);
    an_config_free(cfg);
}

int main(void)
{
    const char *data = getenv("ANNOT_TESTDATA");
    snprintf(script, sizeof script, "%s/cascade/opencv_detect.py", data ? data : "tests/data");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frontal_on_photographs),
        cmocka_unit_test(frontal_on_scaled_and_cropped_copies),
        cmocka_unit_test(profile_plate_and_lbp),
        cmocka_unit_test(bad_cascade_files),
        cmocka_unit_test(face_model_predicts_valid_regions),
    };
    return cmocka_run_group_tests(tests, tl_setup, tl_teardown);
}
