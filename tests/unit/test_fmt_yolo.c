/* YOLO import and export: class names from classes.txt and the three data.yaml forms, image
 * sizes from real PNG/JPEG headers, subfolders and the flat layout, rejects naming
 * labels/x.txt:LINE, stem collisions, and export → import → export round trips exact to
 * 1e-6 pixel. */
#include <math.h>

#include "testlib.h"

static char *image_to[] = {"image"};
static char *labels[] = {"cat", "dog", "person"};
static an_object objs[] = {
    {.tag = AN_TAG_IMAGE, .name = "image", .value = "$image", .data_key = "image", .line = 2},
};
static an_control ctls[] = {
    {.tag = AN_TAG_RECTANGLELABELS,
     .name = "label",
     .to_names = image_to,
     .n_to = 1,
     .result_type = "rectanglelabels",
     .labels = labels,
     .n_labels = 3,
     .line = 3},
};
static const an_config cfg = {.objects = objs, .n_objects = 1, .controls = ctls, .n_controls = 1};

/* A PNG whose IHDR says w × h (no pixel data: only the header is read). */
static void write_png(const char *name, unsigned w, unsigned h)
{
    unsigned char p[] = {0x89,
                         'P',
                         'N',
                         'G',
                         '\r',
                         '\n',
                         0x1a,
                         '\n',
                         0,
                         0,
                         0,
                         13,
                         'I',
                         'H',
                         'D',
                         'R',
                         (unsigned char)(w >> 24),
                         (unsigned char)(w >> 16),
                         (unsigned char)(w >> 8),
                         (unsigned char)w,
                         (unsigned char)(h >> 24),
                         (unsigned char)(h >> 16),
                         (unsigned char)(h >> 8),
                         (unsigned char)h,
                         8,
                         2,
                         0,
                         0,
                         0,
                         0,
                         0,
                         0,
                         0,
                         0,
                         0,
                         0,
                         0,
                         'I',
                         'E',
                         'N',
                         'D',
                         0xAE,
                         0x42,
                         0x60,
                         0x82};
    tl_write_bytes(name, p, sizeof p);
}

/* A JPEG with an APP0 segment and then a baseline frame header saying w × h. */
static void write_jpeg(const char *name, unsigned w, unsigned h)
{
    unsigned char p[] = {0xFF,
                         0xD8,
                         0xFF,
                         0xE0,
                         0x00,
                         0x10,
                         'J',
                         'F',
                         'I',
                         'F',
                         0,
                         1,
                         1,
                         0,
                         0,
                         1,
                         0,
                         1,
                         0,
                         0,
                         0xFF,
                         0xC0,
                         0x00,
                         0x11,
                         8,
                         (unsigned char)(h >> 8),
                         (unsigned char)h,
                         (unsigned char)(w >> 8),
                         (unsigned char)w,
                         3,
                         1,
                         0x22,
                         0,
                         2,
                         0x11,
                         1,
                         3,
                         0x11,
                         1,
                         0xFF,
                         0xD9};
    tl_write_bytes(name, p, sizeof p);
}

static int read_into(const char *path, tl_sink *c, an_err *err)
{
    tl_sink_init(c);
    an_import_sink sink = {.record = tl_on_record, .reject = tl_on_reject, .ud = c};
    an_err_clear(err);
    return an_format_yolo.read(path, &cfg, &sink, err);
}

static void read_ok(const char *path, tl_sink *c)
{
    an_err err;
    int rc = read_into(path, c, &err);
    if (rc != 0) fail_msg("read: %d %s: %s", rc, err.where, err.msg);
}

static const char *image_of(const tl_sink *c, size_t i)
{
    return json_string_value(json_object_get(json_object_get(tl_record(c, i), "data"), "image"));
}

static const char *label_of(const json_t *item)
{
    return json_string_value(
        json_array_get(json_object_get(json_object_get(item, "value"), "rectanglelabels"), 0));
}

/* A dataset in dir: a.png 640x480 with two boxes, b.jpg 100x200 with none listed (empty
 * label file), c.png without a label file, and train/d.png in a subfolder. */
static void make_dataset(const char *dir, const char *names_file, const char *names)
{
    char p[256];
    tl_make_dir(dir);
    snprintf(p, sizeof p, "%s/images", dir);
    tl_make_dir(p);
    snprintf(p, sizeof p, "%s/images/train", dir);
    tl_make_dir(p);
    snprintf(p, sizeof p, "%s/labels", dir);
    tl_make_dir(p);
    snprintf(p, sizeof p, "%s/labels/train", dir);
    tl_make_dir(p);
    snprintf(p, sizeof p, "%s/%s", dir, names_file);
    tl_write_file(p, names);
    snprintf(p, sizeof p, "%s/images/a.png", dir);
    write_png(p, 640, 480);
    snprintf(p, sizeof p, "%s/labels/a.txt", dir);
    tl_write_file(p, "1 0.5 0.5 0.25 0.5\n0 0.1 0.2 0.2 0.4\n");
    snprintf(p, sizeof p, "%s/images/b.jpg", dir);
    write_jpeg(p, 100, 200);
    snprintf(p, sizeof p, "%s/labels/b.txt", dir);
    tl_write_file(p, "\n");
    snprintf(p, sizeof p, "%s/images/c.png", dir);
    write_png(p, 10, 10);
    snprintf(p, sizeof p, "%s/images/train/d.png", dir);
    write_png(p, 1000, 1000);
    snprintf(p, sizeof p, "%s/labels/train/d.txt", dir);
    tl_write_file(p, "2 0.123456789 0.987654321 0.0123 0.0246\r\n");
}

static void check_dataset(const char *dir, const tl_sink *c)
{
    assert_int_equal(json_array_size(c->rejects), 0);
    assert_int_equal(json_array_size(c->records), 4);
    char want[1024];
    snprintf(want, sizeof want, "%s/%s/images/a.png", tl_dir(), dir);
    assert_string_equal(image_of(c, 0), want);
    assert_string_equal(json_string_value(json_object_get(tl_record(c, 0), "where")),
                        "images/a.png");
    const json_t *r = tl_result_of(c, 0);
    assert_int_equal(json_array_size(r), 2);
    const json_t *dog = json_array_get(r, 0);
    assert_string_equal(label_of(dog), "dog");
    assert_int_equal(json_integer_value(json_object_get(dog, "original_width")), 640);
    assert_int_equal(json_integer_value(json_object_get(dog, "original_height")), 480);
    assert_true(fabs(tl_value_num(dog, "x") - 37.5) < 1e-9);
    assert_true(fabs(tl_value_num(dog, "y") - 25) < 1e-9);
    assert_true(fabs(tl_value_num(dog, "width") - 25) < 1e-9);
    assert_true(fabs(tl_value_num(dog, "height") - 50) < 1e-9);
    const json_t *cat = json_array_get(r, 1);
    assert_string_equal(label_of(cat), "cat");
    assert_true(fabs(tl_value_num(cat, "x") - 0) < 1e-9 && fabs(tl_value_num(cat, "y") - 0) < 1e-9);
    /* the JPEG's size comes from its frame header; an empty label file is an empty result */
    assert_true(strstr(image_of(c, 1), "/images/b.jpg") != NULL);
    assert_int_equal(json_array_size(tl_result_of(c, 1)), 0);
    assert_non_null(tl_result_of(c, 1));
    /* no label file: no annotation */
    assert_null(json_object_get(tl_record(c, 2), "annotations"));
    assert_true(strstr(image_of(c, 3), "/images/train/d.png") != NULL);
    assert_string_equal(label_of(json_array_get(tl_result_of(c, 3), 0)), "person");
}

static void test_read_with_classes_txt(void **state)
{
    make_dataset("ds1", "classes.txt", "cat\ndog\r\nperson\n\n");
    tl_sink c;
    read_ok(tl_path("ds1"), &c);
    check_dataset("ds1", &c);
    tl_sink_free(&c);
}

static void test_read_with_data_yaml_forms(void **state)
{
    make_dataset("ds2", "data.yaml",
                 "# dataset\npath: ../x\ntrain: images/train\nnames:\n  - cat\n  - 'dog'  # d\n"
                 "  - \"person\"\nnc: 3\n");
    tl_sink c;
    read_ok(tl_path("ds2"), &c);
    check_dataset("ds2", &c);
    tl_sink_free(&c);

    make_dataset("ds3", "data.yaml", "train: images\nnames: [cat, 'dog',\n  person]\n");
    read_ok(tl_path("ds3"), &c);
    check_dataset("ds3", &c);
    tl_sink_free(&c);

    make_dataset("ds4", "data.yaml", "names:\n  0: cat\n  1: dog\n  2: person\nval: x\n");
    read_ok(tl_path("ds4"), &c);
    check_dataset("ds4", &c);
    tl_sink_free(&c);
}

static void test_read_bad_class_lists(void **state)
{
    const char *bad[][3] = {
        {"y1", "names:\n  0: cat\n  2: dog\n", "data.yaml:3"},
        {"y2", "names: [cat, dog\n", "data.yaml:1"},
        {"y3", "names: cat\n", "data.yaml:1"},
        {"y4", "names: [cat, dog]\nnc: 3\n", "data.yaml:2"},
        {"y5", "train: x\n", "data.yaml"},
        {"y6", "names:\n  - \"a\\tb\"\n", "data.yaml:2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char p[64];
        tl_make_dir(bad[i][0]);
        snprintf(p, sizeof p, "%s/labels", bad[i][0]);
        tl_make_dir(p);
        snprintf(p, sizeof p, "%s/images", bad[i][0]);
        tl_make_dir(p);
        snprintf(p, sizeof p, "%s/data.yaml", bad[i][0]);
        tl_write_file(p, bad[i][1]);
        tl_sink c;
        an_err err;
        assert_int_equal(read_into(tl_path(bad[i][0]), &c, &err), -AN_EINVAL);
        if (strcmp(err.where, bad[i][2]) != 0)
            fail_msg("case %zu: where \"%s\" (%s), want \"%s\"", i, err.where, err.msg, bad[i][2]);
        tl_sink_free(&c);
    }
    tl_make_dir("ct");
    tl_write_file(tl_path("ct/classes.txt"), "cat\n\ndog\n");
    tl_sink c;
    an_err err;
    assert_int_equal(read_into(tl_path("ct"), &c, &err), -AN_EINVAL);
    assert_string_equal(err.where, "classes.txt:2");
    tl_sink_free(&c);
    tl_make_dir("none");
    assert_int_equal(read_into(tl_path("none"), &c, &err), -AN_EINVAL);
    assert_non_null(strstr(err.msg, "classes.txt or data.yaml"));
    tl_sink_free(&c);
}

static void test_read_flat_folder(void **state)
{
    tl_make_dir("flat");
    tl_write_file(tl_path("flat/classes.txt"), "cat\ndog\n");
    write_png(tl_path("flat/x.png"), 200, 100);
    tl_write_file(tl_path("flat/x.txt"), "0 0.5 0.5 1 1\n");
    write_png(tl_path("flat/y.PNG"), 20, 10);
    tl_sink c;
    read_ok(tl_path("flat"), &c);
    assert_int_equal(json_array_size(c.rejects), 0);
    assert_int_equal(json_array_size(c.records), 2);
    const json_t *it = json_array_get(tl_result_of(&c, 0), 0);
    assert_true(tl_value_num(it, "x") == 0 && tl_value_num(it, "width") == 100);
    assert_null(json_object_get(tl_record(&c, 1), "annotations"));
    tl_sink_free(&c);
}

static void test_read_rejects(void **state)
{
    tl_make_dir("bad");
    tl_make_dir("bad/images");
    tl_make_dir("bad/labels");
    tl_write_file(tl_path("bad/classes.txt"), "cat\ndog\nzebra\n");
    const char *cases[][3] = {
        {"a", "0 0.5 0.5 0.1 0.1\n0 0.5 0.5 0.1\n", "labels/a.txt:2|expected \"class cx cy w h\""},
        {"b", "5 0.5 0.5 0.1 0.1\n", "labels/b.txt:1|class \"5\" is not a class id 0..2"},
        {"c", "\n\n1 0.5 1.5 0.1 0.1\n", "labels/c.txt:3|\"1.5\" is not a number between 0 and 1"},
        {"d", "2 0.5 0.5 0.1 0.1\n",
         "labels/d.txt:1|class 2 (\"zebra\") is not a label of "
         "RectangleLabels \"label\""},
        {"e", "1 0.9 0.5 0.5 0.1\n", "labels/e.txt:1|the box reaches outside the image"},
        {"f", "1 0.5 0.5 0.1 0.1 0.2 0.3\n", "labels/f.txt:1|expected"},
        {"g", "x 0.5 0.5 0.1 0.1\n", "labels/g.txt:1|class \"x\""},
    };
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "bad/images/%s.png", cases[i][0]);
        write_png(tl_path(p), 100, 100);
        snprintf(p, sizeof p, "bad/labels/%s.txt", cases[i][0]);
        tl_write_file(tl_path(p), cases[i][1]);
    }
    write_png(tl_path("bad/images/ok.png"), 100, 100);
    tl_write_file(tl_path("bad/labels/ok.txt"), "1 0.5 0.5 0.1 0.1\n");
    tl_write_file(tl_path("bad/labels/orphan.txt"), "1 0.5 0.5 0.1 0.1\n");
    tl_write_file(tl_path("bad/images/broken.png"), "not an image");
    tl_write_file(tl_path("bad/labels/broken.txt"), "1 0.5 0.5 0.1 0.1\n");
    tl_sink c;
    read_ok(tl_path("bad"), &c);
    assert_int_equal(json_array_size(c.records), 1);
    assert_true(strstr(image_of(&c, 0), "/ok.png") != NULL);
    /* images in name order, then label files without images */
    const char *want[] = {
        cases[0][2], cases[1][2], "labels/broken.txt:1|cannot tell the image's size",
        cases[2][2], cases[3][2], cases[4][2],
        cases[5][2], cases[6][2], "labels/orphan.txt|no image images/orphan.*"};
    size_t nw = sizeof want / sizeof want[0];
    assert_int_equal(json_array_size(c.rejects), nw);
    for (size_t i = 0; i < nw; i++) {
        const char *got = tl_reject_line(&c, i);
        if (strncmp(got, want[i], strlen(want[i])) != 0)
            fail_msg("reject %zu: got \"%s\", want \"%s…\"", i, got, want[i]);
    }
    tl_sink_free(&c);
}

/* ---- export ------------------------------------------------------------------------- */

static int export_rows(const tl_row *rows, size_t n, const char *dir, an_err *err)
{
    return tl_export_to_dir(&an_format_yolo, &cfg, rows, n, dir, err);
}

#define RECT(x, y, w, h, W, H, l)                                                                  \
    "{\"id\":\"a\",\"from_name\":\"label\",\"to_name\":\"image\",\"type\":\"rectanglelabels\","    \
    "\"original_width\":" #W ",\"original_height\":" #H ",\"value\":{\"x\":" #x ",\"y\":" #y       \
    ",\"width\":" #w ",\"height\":" #h ",\"rotation\":0,\"rectanglelabels\":[\"" l "\"]}}"

static void test_export(void **state)
{
    tl_make_dir("src");
    tl_make_dir("src/a");
    tl_make_dir("src/b");
    write_png(tl_path("src/a/img.png"), 200, 100);
    write_png(tl_path("src/b/img.png"), 50, 50);
    char d1[700], d2[700], d3[700], d4[700];
    snprintf(d1, sizeof d1, "{\"image\":\"%s\"}", tl_path("src/a/img.png"));
    snprintf(d2, sizeof d2, "{\"image\":\"%s\"}", tl_path("src/b/img.png"));
    snprintf(d3, sizeof d3, "{\"image\":\"%s\"}", tl_path("src/missing.jpg"));
    snprintf(d4, sizeof d4, "{\"image\":\"%s\"}", tl_path("src/unlabelled.jpg"));
    const tl_row rows[] = {
        {d1,
         "[" RECT(10, 20, 30, 40, 200, 100, "dog") "," RECT(0, 0, 100, 100, 200, 100, "person") "]",
         NULL},
        {d2, "[]", NULL},
        {d3, "[" RECT(12.5, 0, 25, 50, 640, 480, "cat") "]", NULL},
        {d4, NULL, NULL},
    };
    char out[512];
    snprintf(out, sizeof out, "%s", tl_path("yolo-out"));
    an_err err;
    assert_int_equal(export_rows(rows, 4, out, &err), 0);
    char p[700];
    snprintf(p, sizeof p, "%s/classes.txt", out);
    char *t = tl_slurp(p);
    assert_string_equal(t, "cat\ndog\nperson\n");
    free(t);
    snprintf(p, sizeof p, "%s/labels/img.txt", out);
    t = tl_slurp(p);
    assert_string_equal(t, "1 0.25 0.4 0.3 0.4\n2 0.5 0.5 1 1\n");
    free(t);
    /* the second img.png gets its task id in front, for its label file and its copy */
    snprintf(p, sizeof p, "%s/labels/2_img.txt", out);
    t = tl_slurp(p);
    assert_string_equal(t, "");
    free(t);
    snprintf(p, sizeof p, "%s/images/2_img.png", out);
    assert_int_equal(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/images/img.png", out);
    assert_int_equal(access(p, F_OK), 0);
    /* a missing image is not copied, its labels are written */
    snprintf(p, sizeof p, "%s/labels/missing.txt", out);
    t = tl_slurp(p);
    assert_string_equal(t, "0 0.25 0.25 0.25 0.5\n");
    free(t);
    snprintf(p, sizeof p, "%s/images/missing.jpg", out);
    assert_int_not_equal(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/labels/unlabelled.txt", out);
    assert_int_not_equal(access(p, F_OK), 0);

    const tl_row unknown[] = {{d1, "[" RECT(1, 1, 1, 1, 10, 10, "zebra") "]", NULL}};
    snprintf(out, sizeof out, "%s", tl_path("yolo-out-2"));
    assert_int_equal(export_rows(unknown, 1, out, &err), -AN_EINVAL);
    assert_string_equal(err.where, "task 1:result[0]");
    assert_non_null(strstr(err.msg, "\"zebra\""));
}

/* Import → export → import → export: boxes agree to 1e-6 px with the source labels. */
static void test_round_trip(void **state)
{
    make_dataset("rt", "classes.txt", "cat\ndog\nperson\n");
    char src[512], outs[2][512];
    snprintf(src, sizeof src, "%s", tl_path("rt"));
    snprintf(outs[0], sizeof outs[0], "%s", tl_path("rt-1"));
    snprintf(outs[1], sizeof outs[1], "%s", tl_path("rt-2"));
    /* the source boxes, in pixels (x0, y0, x1, y1) */
    const double want[][4] = {
        {0.375 * 640, 0.25 * 480, 0.625 * 640, 0.75 * 480},
        {0, 0, 0.2 * 640, 0.4 * 480},
        {(0.123456789 - 0.0123 / 2) * 1000, (0.987654321 - 0.0246 / 2) * 1000,
         (0.123456789 + 0.0123 / 2) * 1000, (0.987654321 + 0.0246 / 2) * 1000},
    };
    const char *cur = src;
    for (int pass = 0; pass < 3; pass++) {
        tl_sink c;
        read_ok(cur, &c);
        assert_int_equal(json_array_size(c.rejects), 0);
        size_t n = json_array_size(c.records), k = 0;
        /* the subfolder is flattened by export: images/train/d.png becomes images/d.png */
        assert_int_equal(n, pass == 0 ? 4 : 3);
        for (size_t i = 0; i < n; i++) {
            const json_t *res = tl_result_of(&c, i);
            for (size_t j = 0; j < json_array_size(res); j++, k++) {
                const json_t *it = json_array_get(res, j);
                double W = (double)json_integer_value(json_object_get(it, "original_width"));
                double H = (double)json_integer_value(json_object_get(it, "original_height"));
                double x0 = tl_value_num(it, "x") * W / 100, y0 = tl_value_num(it, "y") * H / 100;
                double got[4] = {x0, y0, x0 + tl_value_num(it, "width") * W / 100,
                                 y0 + tl_value_num(it, "height") * H / 100};
                for (int q = 0; q < 4; q++)
                    if (fabs(got[q] - want[k][q]) > 1e-6)
                        fail_msg("pass %d box %zu[%d]: %.17g vs %.17g", pass, k, q, got[q],
                                 want[k][q]);
            }
        }
        assert_int_equal(k, 3);
        if (pass == 2) {
            tl_sink_free(&c);
            break;
        }
        tl_row *rows = calloc(n, sizeof *rows);
        char **texts = calloc(2 * n, sizeof *texts);
        for (size_t i = 0; i < n; i++) {
            texts[2 * i] = an_json_text(json_object_get(tl_record(&c, i), "data"));
            texts[2 * i + 1] = tl_result_of(&c, i) ? an_json_text(tl_result_of(&c, i)) : NULL;
            rows[i] = (tl_row){texts[2 * i], texts[2 * i + 1], NULL};
        }
        an_err err;
        assert_int_equal(export_rows(rows, n, outs[pass], &err), 0);
        for (size_t i = 0; i < 2 * n; i++)
            free(texts[i]);
        free(texts);
        free(rows);
        tl_sink_free(&c);
        cur = outs[pass];
    }
}

static void test_sniff(void **state)
{
    make_dataset("s1", "classes.txt", "cat\n");
    assert_int_equal(an_format_yolo.sniff(tl_path("s1"), true, NULL, 0), 85);
    make_dataset("s2", "data.yaml", "names: [cat]\n");
    assert_int_equal(an_format_yolo.sniff(tl_path("s2"), true, NULL, 0), 85);
    tl_make_dir("s3");
    assert_int_equal(an_format_yolo.sniff(tl_path("s3"), true, NULL, 0), 0);
    assert_int_equal(
        an_format_yolo.sniff(tl_path("s1/classes.txt"), false, (const unsigned char *)"cat\n", 4),
        0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_with_classes_txt),
        cmocka_unit_test(test_read_with_data_yaml_forms),
        cmocka_unit_test(test_read_bad_class_lists),
        cmocka_unit_test(test_read_flat_folder),
        cmocka_unit_test(test_read_rejects),
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_sniff),
    };
    return cmocka_run_group_tests(tests, tl_setup, tl_teardown);
}
