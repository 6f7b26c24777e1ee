/* COCO import and export: non-contiguous category ids, crowd (RLE) regions, polygons,
 * image paths, rejects with their JSON paths, and export → import → export round trips
 * exact to 1e-6 pixel. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/json.h"
#include "formats/format.h"
#include "testlib.h"

/* ---- fixtures ----------------------------------------------------------------------- */

static char *image_to[] = {"image"};
static char *labels[] = {"cat", "dog", "person"};
static an_object objs[] = {
    {.tag = AN_TAG_IMAGE, .name = "image", .value = "$image", .data_key = "image", .line = 2},
};
static an_control rect_and_poly[] = {
    {.tag = AN_TAG_RECTANGLELABELS,
     .name = "label",
     .to_names = image_to,
     .n_to = 1,
     .result_type = "rectanglelabels",
     .labels = labels,
     .n_labels = 3,
     .line = 3},
    {.tag = AN_TAG_POLYGONLABELS,
     .name = "poly",
     .to_names = image_to,
     .n_to = 1,
     .result_type = "polygonlabels",
     .labels = labels,
     .n_labels = 3,
     .line = 8},
};
static const an_config cfg_both = {
    .objects = objs, .n_objects = 1, .controls = rect_and_poly, .n_controls = 2};
static const an_config cfg_rect = {
    .objects = objs, .n_objects = 1, .controls = rect_and_poly, .n_controls = 1};
static const an_config cfg_poly = {
    .objects = objs, .n_objects = 1, .controls = rect_and_poly + 1, .n_controls = 1};

typedef struct collect {
    json_t *records; /* [{"data":…, "annotations":…, "where":…}] */
    json_t *rejects; /* ["where|reason"] */
} collect;

static int on_record(void *ud, const an_record *rec, an_err *err)
{
    collect *c = ud;
    json_t *o = json_object();
    json_object_set(o, "data", rec->data);
    if (rec->annotations) json_object_set_new(o, "annotations", json_deep_copy(rec->annotations));
    json_object_set_new(o, "where", json_string(rec->where));
    json_array_append_new(c->records, o);
    return 0;
}

static int on_reject(void *ud, const char *where, const char *reason)
{
    collect *c = ud;
    char buf[2048];
    snprintf(buf, sizeof buf, "%s|%s", where, reason);
    json_array_append_new(c->rejects, json_string(buf));
    return 0;
}


static void read_into(const char *path, const an_config *cfg, collect *c)
{
    c->records = json_array();
    c->rejects = json_array();
    an_import_sink sink = {.record = on_record, .reject = on_reject, .ud = c};
    an_err err;
    an_err_clear(&err);
    int rc = an_format_coco.read(path, cfg, &sink, &err);
    if (rc != 0) fail_msg("read: %d %s: %s", rc, err.where, err.msg);
}

static void collect_free(collect *c)
{
    json_decref(c->records);
    json_decref(c->rejects);
}

static const json_t *record(const collect *c, size_t i)
{
    return json_array_get(c->records, i);
}

static const char *image_of(const collect *c, size_t i)
{
    return json_string_value(json_object_get(json_object_get(record(c, i), "data"), "image"));
}

static const json_t *result_of(const collect *c, size_t i)
{
    const json_t *anns = json_object_get(record(c, i), "annotations");
    return json_object_get(json_array_get(anns, 0), "result");
}

static double num(const json_t *j)
{
    double v = NAN;
    if (!an_json_number(j, &v)) fail_msg("not a number");
    return v;
}

static double value_num(const json_t *item, const char *key)
{
    return num(json_object_get(json_object_get(item, "value"), key));
}

/* ---- import ------------------------------------------------------------------------- */

static const char *sample =
    "{\"info\":{\"year\":2024},\"licenses\":[],\n"
    "\"images\":[\n"
    " {\"id\":10,\"file_name\":\"a.jpg\",\"width\":640,\"height\":480},\n"
    " {\"id\":20,\"file_name\":\"/abs/b.png\",\"width\":100,\"height\":50},\n"
    " {\"id\":30,\"file_name\":\"sub/c.jpg\",\"width\":200,\"height\":200}],\n"
    "\"annotations\":[\n"
    " {\"id\":1,\"image_id\":10,\"category_id\":3,\"bbox\":[10.5,20.25,100,50],\"area\":5000,"
    "\"iscrowd\":0,\"segmentation\":[]},\n"
    " {\"id\":2,\"image_id\":10,\"category_id\":7,\"bbox\":[0,0,640,480],\"area\":307200,"
    "\"iscrowd\":1,\"segmentation\":{\"counts\":[0,307200],\"size\":[480,640]}},\n"
    " {\"id\":3,\"image_id\":20,\"category_id\":1,\"bbox\":[10,10,20,20],\"area\":200,"
    "\"iscrowd\":0,\"segmentation\":[[10,10,30,10,30,30]]}],\n"
    "\"categories\":[{\"id\":1,\"name\":\"cat\"},{\"id\":3,\"name\":\"dog\"},"
    "{\"id\":7,\"name\":\"person\",\"supercategory\":\"person\"}]}\n";

static void test_read_boxes_crowd_and_paths(void **state)
{
    const char *path = tl_write_file("rect.json", sample);
    collect c;
    read_into(path, &cfg_rect, &c);
    assert_int_equal(json_array_size(c.rejects), 0);
    assert_int_equal(json_array_size(c.records), 3);

    /* relative file_name resolves against the JSON's folder; absolute stays */
    char want[1024];
    snprintf(want, sizeof want, "%s/a.jpg", tl_dir());
    assert_string_equal(image_of(&c, 0), want);
    assert_string_equal(image_of(&c, 1), "/abs/b.png");
    snprintf(want, sizeof want, "%s/sub/c.jpg", tl_dir());
    assert_string_equal(image_of(&c, 2), want);
    snprintf(want, sizeof want, "%s:$.images[0]", path);
    assert_string_equal(json_string_value(json_object_get(record(&c, 0), "where")), want);

    /* category 3 is "dog" (ids are not positions); pixels become percent */
    const json_t *r0 = result_of(&c, 0);
    assert_int_equal(json_array_size(r0), 2);
    const json_t *dog = json_array_get(r0, 0);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(dog, "value"), "rectanglelabels"), 0)),
                        "dog");
    assert_true(fabs(value_num(dog, "x") - 10.5 / 640 * 100) < 1e-12);
    assert_true(fabs(value_num(dog, "y") - 20.25 / 480 * 100) < 1e-12);
    assert_true(fabs(value_num(dog, "width") - 100.0 / 640 * 100) < 1e-12);
    assert_true(fabs(value_num(dog, "height") - 50.0 / 480 * 100) < 1e-12);
    /* the crowd region (an RLE mask) comes in as its bbox */
    const json_t *crowd = json_array_get(r0, 1);
    assert_string_equal(json_string_value(json_object_get(crowd, "type")), "rectanglelabels");
    assert_true(value_num(crowd, "x") == 0 && value_num(crowd, "width") == 100);

    /* the polygon's bbox stands in when the config has no PolygonLabels */
    char *t = an_json_text(result_of(&c, 1));
    assert_string_equal(t, "[{\"id\":\"r1\",\"from_name\":\"label\",\"to_name\":\"image\","
                           "\"type\":\"rectanglelabels\",\"original_width\":100,"
                           "\"original_height\":50,\"image_rotation\":0,\"value\":{\"x\":10.0,"
                           "\"y\":20.0,\"width\":20.0,\"height\":40.0,\"rotation\":0,"
                           "\"rectanglelabels\":[\"cat\"]}}]");
    free(t);

    /* an image without annotations is a task without annotation */
    assert_null(json_object_get(record(&c, 2), "annotations"));
    collect_free(&c);
}

static void test_read_polygons_when_the_config_has_polygonlabels(void **state)
{
    const char *path = tl_write_file("poly.json", sample);
    collect c;
    read_into(path, &cfg_both, &c);
    assert_int_equal(json_array_size(c.records), 3);
    char *t = an_json_text(result_of(&c, 1));
    assert_string_equal(t, "[{\"id\":\"r1\",\"from_name\":\"poly\",\"to_name\":\"image\","
                           "\"type\":\"polygonlabels\",\"original_width\":100,"
                           "\"original_height\":50,\"image_rotation\":0,\"value\":{\"points\":"
                           "[[10.0,20.0],[30.0,20.0],[30.0,60.0]],\"polygonlabels\":[\"cat\"]}}]");
    free(t);
    /* boxes without polygons still go to RectangleLabels; the RLE crowd region too */
    const json_t *r0 = result_of(&c, 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r0, 0), "from_name")),
                        "label");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r0, 1), "type")),
                        "rectanglelabels");
    collect_free(&c);

    /* With only PolygonLabels, a box becomes a four-corner polygon. */
    read_into(path, &cfg_poly, &c);
    const json_t *dog = json_array_get(result_of(&c, 0), 0);
    assert_string_equal(json_string_value(json_object_get(dog, "type")), "polygonlabels");
    const json_t *pts = json_object_get(json_object_get(dog, "value"), "points");
    assert_int_equal(json_array_size(pts), 4);
    assert_true(fabs(num(json_array_get(json_array_get(pts, 2), 0)) - 110.5 / 640 * 100) < 1e-12);
    collect_free(&c);
}

static void test_read_rejects(void **state)
{
    const char *path = tl_write_file(
        "bad.json", "{\"images\":[{\"id\":1,\"file_name\":\"ok.jpg\",\"width\":10,\"height\":10},"
                    "{\"id\":2,\"file_name\":\"bird.jpg\",\"width\":10,\"height\":10},"
                    "{\"id\":3,\"file_name\":\"unknown.jpg\",\"width\":10,\"height\":10},"
                    "{\"id\":4,\"file_name\":\"outside.jpg\",\"width\":10,\"height\":10},"
                    "{\"id\":5,\"width\":10,\"height\":10},"
                    "{\"id\":1,\"file_name\":\"dup.jpg\",\"width\":10,\"height\":10},"
                    "{\"id\":6,\"file_name\":\"slop.jpg\",\"width\":10,\"height\":10}],"
                    "\"annotations\":[{\"image_id\":1,\"category_id\":2,\"bbox\":[1,1,2,2]},"
                    "{\"image_id\":2,\"category_id\":5,\"bbox\":[1,1,2,2]},"
                    "{\"image_id\":3,\"category_id\":99,\"bbox\":[1,1,2,2]},"
                    "{\"image_id\":4,\"category_id\":2,\"bbox\":[5,5,20,2]},"
                    "{\"image_id\":77,\"category_id\":2,\"bbox\":[1,1,2,2]},"
                    "{\"image_id\":6,\"category_id\":2,\"bbox\":[-0.5,0,10.5,10.25]}],"
                    "\"categories\":[{\"id\":2,\"name\":\"cat\"},{\"id\":5,\"name\":\"bird\"}]}");
    collect c;
    read_into(path, &cfg_rect, &c);
    assert_int_equal(json_array_size(c.records), 2);
    assert_true(strstr(image_of(&c, 0), "/ok.jpg") != NULL);
    /* half a pixel of slop is clamped to the image */
    assert_true(strstr(image_of(&c, 1), "/slop.jpg") != NULL);
    const json_t *slop = json_array_get(result_of(&c, 1), 0);
    assert_true(value_num(slop, "x") == 0 && value_num(slop, "width") == 100 &&
                value_num(slop, "height") == 100);

    const char *want[][2] = {
        {"$.annotations[4].image_id", "image_id 77 is not in images"},
        {"$.annotations[1]", "category \"bird\" (id 5) is not a label of RectangleLabels "
                             "\"label\""},
        {"$.annotations[2]", "category_id 99 is not in categories"},
        {"$.annotations[3].bbox", "does not lie inside the 10x10 image"},
        {"$.images[4]", "needs an integer id and a file_name"},
        {"$.images[5].id", "image id 1 appears twice"},
    };
    size_t n = sizeof want / sizeof want[0];
    assert_int_equal(json_array_size(c.rejects), n);
    for (size_t i = 0; i < n; i++) {
        const char *got = json_string_value(json_array_get(c.rejects, i));
        char prefix[600];
        snprintf(prefix, sizeof prefix, "%s:%s|", path, want[i][0]);
        if (strncmp(got, prefix, strlen(prefix)) != 0 || !strstr(got, want[i][1]))
            fail_msg("reject %zu: got \"%s\", want \"%s\" … \"%s\"", i, got, prefix, want[i][1]);
    }
    collect_free(&c);
}

static void test_read_errors(void **state)
{
    collect c = {json_array(), json_array()};
    an_import_sink sink = {.record = on_record, .reject = on_reject, .ud = &c};
    an_err err;
    const char *p = tl_write_file("broken.json", "{\"images\": [\n  {\"id\": 1,,}]}");
    assert_int_equal(an_format_coco.read(p, &cfg_rect, &sink, &err), -AN_EINVAL);
    char want[600];
    snprintf(want, sizeof want, "%s:2:", p);
    assert_true(strncmp(err.where, want, strlen(want)) == 0);
    p = tl_write_file("notcoco.json", "{\"items\": []}");
    assert_int_equal(an_format_coco.read(p, &cfg_rect, &sink, &err), -AN_EINVAL);
    assert_non_null(strstr(err.msg, "images"));
    p = tl_write_file("dupcat.json", "{\"images\":[],\"categories\":[{\"id\":1,\"name\":\"a\"},"
                                  "{\"id\":1,\"name\":\"b\"}]}");
    assert_int_equal(an_format_coco.read(p, &cfg_rect, &sink, &err), -AN_EINVAL);
    assert_non_null(strstr(err.where, "$.categories[1].id"));
    an_config none = {.objects = objs, .n_objects = 1};
    assert_int_equal(an_format_coco.read(p, &none, &sink, &err), -AN_EINVAL);
    assert_non_null(strstr(err.msg, "RectangleLabels"));
    assert_int_equal(json_array_size(c.records), 0);
    collect_free(&c);
}

/* ---- export ------------------------------------------------------------------------- */

typedef struct row_in {
    const char *data;
    const char *result; /* NULL: no annotation */
} row_in;

/* Exports rows to file path (NULL: to memory, returned in *text). Returns the rc. */
static int export_rows(const an_config *cfg, const row_in *rows, size_t n, const char *path,
                       char **text, an_err *err)
{
    size_t len = 0;
    *text = NULL;
    FILE *out = path ? fopen(path, "wb") : open_memstream(text, &len);
    assert_non_null(out);
    an_export_ctx ctx = {.config = cfg, .project_name = "street", .out = out};
    an_buf_init(&ctx.scratch);
    an_err_clear(err);
    int rc = an_format_coco.export_begin(&ctx, err);
    assert_int_equal(rc, 0);
    for (size_t i = 0; i < n && rc == 0; i++) {
        an_annotation_row ann = {.id = 1, .result = rows[i].result};
        an_task_row row = {.id = (int64_t)i + 1,
                           .data = rows[i].data,
                           .data_len = strlen(rows[i].data),
                           .annotations = &ann,
                           .n_annotations = rows[i].result ? 1 : 0};
        rc = an_format_coco.export_task(&ctx, &row, err);
    }
    an_err end_err;
    int end = an_format_coco.export_end(&ctx, rc != 0, rc ? &end_err : err);
    if (rc == 0) rc = end;
    an_buf_free(&ctx.scratch);
    fclose(out);
    return rc;
}

#define RECT(x, y, w, h, W, H, l)                                                                  \
    "{\"id\":\"a\",\"from_name\":\"label\",\"to_name\":\"image\",\"type\":\"rectanglelabels\","    \
    "\"original_width\":" #W ",\"original_height\":" #H ",\"value\":{\"x\":" #x ",\"y\":" #y       \
    ",\"width\":" #w ",\"height\":" #h ",\"rotation\":0,\"rectanglelabels\":[\"" l "\"]}}"

static void test_export(void **state)
{
    const row_in rows[] = {
        {"{\"image\":\"/data/a.jpg\"}",
         "[" RECT(
             10, 20, 30, 40, 200, 100,
             "cat") ","
                    "{\"id\":\"b\",\"from_name\":\"poly\",\"to_name\":\"image\",\"type\":"
                    "\"polygonlabels\","
                    "\"original_width\":200,\"original_height\":100,\"value\":{\"points\":[[10,10],"
                    "[50,10],"
                    "[50,50]],\"polygonlabels\":[\"dog\"]}},"
                    "{\"id\":\"c\",\"from_name\":\"mood\",\"type\":\"choices\",\"value\":{}}]"},
        {"{\"image\":\"/data/none \\\"quoted\\\".jpg\"}", NULL},
    };
    char *text;
    an_err err;
    assert_int_equal(export_rows(&cfg_both, rows, 2, NULL, &text, &err), 0);
    assert_string_equal(
        text,
        "{\"info\":{\"description\":\"street\"},\"categories\":[{\"id\":0,\"name\":\"cat\"},"
        "{\"id\":1,\"name\":\"dog\"},{\"id\":2,\"name\":\"person\"}],\"images\":["
        "{\"id\":1,\"file_name\":\"/data/a.jpg\",\"width\":200,\"height\":100},"
        "{\"id\":2,\"file_name\":\"/data/none \\\"quoted\\\".jpg\",\"width\":0,\"height\":0}],"
        "\"annotations\":["
        "{\"id\":1,\"image_id\":1,\"category_id\":0,\"segmentation\":[],\"bbox\":[20,20,60,40],"
        "\"area\":2400,\"iscrowd\":0},"
        "{\"id\":2,\"image_id\":1,\"category_id\":1,\"segmentation\":[[20,10,100,10,100,50]],"
        "\"bbox\":[20,10,80,40],\"area\":1600,\"iscrowd\":0}]}\n");
    free(text);
}

static void test_export_errors_name_the_task(void **state)
{
    const row_in unknown[] = {
        {"{\"image\":\"/a.jpg\"}", "[" RECT(1, 1, 1, 1, 10, 10, "cat") "]"},
        {"{\"image\":\"/b.jpg\"}", "[" RECT(1, 1, 1, 1, 10, 10, "zebra") "]"},
    };
    char *text;
    an_err err;
    assert_int_equal(export_rows(&cfg_rect, unknown, 2, NULL, &text, &err), -AN_EINVAL);
    assert_string_equal(err.where, "task 2:result[0]");
    assert_non_null(strstr(err.msg, "\"zebra\""));
    free(text);

    const row_in no_path[] = {{"{\"text\":\"x\"}", NULL}};
    assert_int_equal(export_rows(&cfg_rect, no_path, 1, NULL, &text, &err), -AN_EINVAL);
    assert_string_equal(err.where, "task 1");
    free(text);

    const row_in bad_box[] = {{"{\"image\":\"/a.jpg\"}",
                               "[{\"type\":\"rectanglelabels\",\"value\":{\"x\":1,\"y\":1,"
                               "\"width\":1,\"height\":1,\"rectanglelabels\":[\"cat\"]}}]"}};
    assert_int_equal(export_rows(&cfg_rect, bad_box, 1, NULL, &text, &err), -AN_EINVAL);
    assert_string_equal(err.where, "task 1:result[0].original_width");
    free(text);
}

static void test_export_rotated_rect_as_enclosing_box(void **state)
{
    const row_in rows[] = {{"{\"image\":\"/a.jpg\"}",
                            "[{\"type\":\"rectanglelabels\",\"original_width\":100,"
                            "\"original_height\":100,\"value\":{\"x\":10,\"y\":10,\"width\":20,"
                            "\"height\":10,\"rotation\":90,\"rectanglelabels\":[\"cat\"]}}]"}};
    char *text;
    an_err err;
    assert_int_equal(export_rows(&cfg_rect, rows, 1, NULL, &text, &err), 0);
    json_t *doc = json_loads(text, 0, NULL);
    const json_t *bbox =
        json_object_get(json_array_get(json_object_get(doc, "annotations"), 0), "bbox");
    /* turned about its top-left corner (10, 10): x 0..10, y 10..30 */
    const double want[] = {0, 10, 10, 20};
    for (size_t k = 0; k < 4; k++)
        assert_true(fabs(num(json_array_get(bbox, k)) - want[k]) < 1e-9);
    json_decref(doc);
    free(text);
}

/* Import → export → import → export: every bbox and polygon point agrees to 1e-6 px. */
static void test_round_trip(void **state)
{
    const char *src =
        "{\"images\":[{\"id\":5,\"file_name\":\"/img/x.jpg\",\"width\":1920,\"height\":1080},"
        "{\"id\":9,\"file_name\":\"/img/y.jpg\",\"width\":333,\"height\":777}],"
        "\"annotations\":["
        "{\"id\":1,\"image_id\":5,\"category_id\":3,\"bbox\":[0.1,1079.3,1919.9,0.7],"
        "\"segmentation\":[]},"
        "{\"id\":2,\"image_id\":9,\"category_id\":7,\"bbox\":[3.3333,7.77,100.01,200.02],"
        "\"segmentation\":[]},"
        "{\"id\":3,\"image_id\":9,\"category_id\":1,\"bbox\":[1.1,2.2,30.3,40.4],"
        "\"segmentation\":[[1.1,2.2,31.4,2.2,31.4,42.6,1.1,42.6,17.123456789,20.987654321]]}],"
        "\"categories\":[{\"id\":1,\"name\":\"cat\"},{\"id\":3,\"name\":\"dog\"},"
        "{\"id\":7,\"name\":\"person\"}]}";
    const char *in = tl_write_file("rt-in.json", src);
    const char *paths[2] = {tl_path("rt-1.json"), NULL};
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s", paths[0]);
    snprintf(p2, sizeof p2, "%s", tl_path("rt-2.json"));
    const char *cur = in, *outs[2] = {p1, p2};
    json_t *docs[3] = {json_loads(src, 0, NULL), NULL, NULL};
    for (int pass = 0; pass < 2; pass++) {
        collect c;
        read_into(cur, &cfg_both, &c);
        assert_int_equal(json_array_size(c.rejects), 0);
        size_t n = json_array_size(c.records);
        row_in *rows = calloc(n, sizeof *rows);
        char **texts = calloc(2 * n, sizeof *texts);
        for (size_t i = 0; i < n; i++) {
            texts[2 * i] = an_json_text(json_object_get(record(&c, i), "data"));
            texts[2 * i + 1] = result_of(&c, i) ? an_json_text(result_of(&c, i)) : NULL;
            rows[i] = (row_in){texts[2 * i], texts[2 * i + 1]};
        }
        char *unused;
        an_err err;
        assert_int_equal(export_rows(&cfg_both, rows, n, outs[pass], &unused, &err), 0);
        for (size_t i = 0; i < 2 * n; i++)
            free(texts[i]);
        free(texts);
        free(rows);
        collect_free(&c);
        docs[pass + 1] = json_load_file(outs[pass], 0, NULL);
        assert_non_null(docs[pass + 1]);
        cur = outs[pass];
    }
    /* Compare annotation by annotation: bbox and polygon values in pixels. */
    for (int d = 1; d < 3; d++) {
        const json_t *a0 = json_object_get(docs[0], "annotations");
        const json_t *a1 = json_object_get(docs[d], "annotations");
        assert_int_equal(json_array_size(a0), json_array_size(a1));
        for (size_t i = 0; i < json_array_size(a0); i++) {
            const json_t *x = json_array_get(a0, i), *y = json_array_get(a1, i);
            for (size_t k = 0; k < 4; k++) {
                double u = num(json_array_get(json_object_get(x, "bbox"), k));
                double v = num(json_array_get(json_object_get(y, "bbox"), k));
                if (fabs(u - v) > 1e-6)
                    fail_msg("pass %d ann %zu bbox[%zu]: %.17g vs %.17g", d, i, k, u, v);
            }
            const json_t *s0 = json_array_get(json_object_get(x, "segmentation"), 0);
            const json_t *s1 = json_array_get(json_object_get(y, "segmentation"), 0);
            assert_int_equal(json_array_size(s0), json_array_size(s1));
            for (size_t k = 0; k < json_array_size(s0); k++)
                assert_true(fabs(num(json_array_get(s0, k)) - num(json_array_get(s1, k))) < 1e-6);
        }
        const json_t *im = json_object_get(docs[d], "images");
        assert_int_equal(json_array_size(im), 2);
        assert_string_equal(json_string_value(json_object_get(json_array_get(im, 1), "file_name")),
                            "/img/y.jpg");
        assert_int_equal(json_integer_value(json_object_get(json_array_get(im, 1), "height")), 777);
    }
    for (int d = 0; d < 3; d++)
        json_decref(docs[d]);
}

/* ---- sniff -------------------------------------------------------------------------- */

static int sniff(const char *s)
{
    return an_format_coco.sniff("x.json", false, (const unsigned char *)s, strlen(s));
}

static void test_sniff(void **state)
{
    assert_int_equal(sniff(sample), 90);
    assert_int_equal(sniff("\n {\"images\":[{\"id\":1,\"file_name\":\"a.jpg\""), 90);
    assert_int_equal(sniff("[{\"data\":{\"images\":1}}]"), 0);
    assert_int_equal(sniff("{\"data\":{\"text\":\"x\"}}"), 0);
    assert_int_equal(an_format_coco.sniff("dir", true, NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_boxes_crowd_and_paths),
        cmocka_unit_test(test_read_polygons_when_the_config_has_polygonlabels),
        cmocka_unit_test(test_read_rejects),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_export_errors_name_the_task),
        cmocka_unit_test(test_export_rotated_rect_as_enclosing_box),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_sniff),
    };
    return cmocka_run_group_tests(tests, tl_setup, tl_teardown);
}
