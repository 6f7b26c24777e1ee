/* Pascal VOC import and export: float coordinates, difficult/truncated kept in task meta,
 * image path resolution, rejects with file:line, no external entities, and export → import →
 * export round trips exact to 1e-6 pixel. */
#include <math.h>

#include "testlib.h"

static char *image_to[] = {"img"};
static char *labels[] = {"dog", "person", "cat"};
static an_object objs[] = {
    {.tag = AN_TAG_IMAGE, .name = "img", .value = "$photo", .data_key = "photo", .line = 2},
};
static an_control ctls[] = {
    {.tag = AN_TAG_RECTANGLELABELS,
     .name = "box",
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
static const an_config cfg = {.objects = objs, .n_objects = 1, .controls = ctls, .n_controls = 1};
static const an_config cfg_poly = {
    .objects = objs, .n_objects = 1, .controls = ctls + 1, .n_controls = 1};

static void read_into(const char *path, const an_config *c_, tl_sink *c)
{
    tl_sink_init(c);
    an_import_sink sink = {.record = tl_on_record, .reject = tl_on_reject, .ud = c};
    an_err err;
    an_err_clear(&err);
    int rc = an_format_voc.read(path, c_, &sink, &err);
    if (rc != 0) fail_msg("read: %d %s: %s", rc, err.where, err.msg);
}

static const char *image_of(const tl_sink *c, size_t i)
{
    return json_string_value(json_object_get(json_object_get(tl_record(c, i), "data"), "photo"));
}

static const char *voc1 = "<?xml version=\"1.0\"?>\n"
                          "<annotation>\n"
                          "  <folder>VOC2007</folder>\n"
                          "  <filename>000001.jpg</filename>\n"
                          "  <size><width>353</width><height>500</height><depth>3</depth></size>\n"
                          "  <object>\n"
                          "    <name>dog</name>\n"
                          "    <truncated>0</truncated><difficult>1</difficult>\n"
                          "    <bndbox><xmin>48.5</xmin><ymin>240.25</ymin>\n"
                          "      <xmax>195.75</xmax><ymax>371</ymax></bndbox>\n"
                          "  </object>\n"
                          "  <object>\n"
                          "    <name> person </name><truncated>1</truncated>\n"
                          "    <bndbox><xmin>8</xmin><ymin>12</ymin><xmax>352</xmax>"
                          "<ymax>498</ymax></bndbox>\n"
                          "  </object>\n"
                          "</annotation>\n";

static void test_read_voc_folder(void **state)
{
    tl_make_dir("ds");
    tl_make_dir("ds/Annotations");
    tl_make_dir("ds/JPEGImages");
    tl_write_file("ds/Annotations/000001.xml", voc1);
    tl_write_file("ds/JPEGImages/000001.jpg", "not really a jpeg");
    tl_write_file("ds/Annotations/000002.xml",
                  "<annotation><filename>gone.jpg</filename><path>/elsewhere/gone.jpg</path>"
                  "<size><width>10</width><height>10</height></size></annotation>");
    tl_sink c;
    read_into(tl_path("ds"), &cfg, &c);
    assert_int_equal(json_array_size(c.rejects), 0);
    assert_int_equal(json_array_size(c.records), 2);
    char want[1024];
    snprintf(want, sizeof want, "%s/ds/JPEGImages/000001.jpg", tl_dir());
    assert_string_equal(image_of(&c, 0), want);
    assert_string_equal(image_of(&c, 1), "/elsewhere/gone.jpg");
    assert_string_equal(json_string_value(json_object_get(tl_record(&c, 0), "where")),
                        "Annotations/000001.xml");

    const json_t *r = tl_result_of(&c, 0);
    assert_int_equal(json_array_size(r), 2);
    const json_t *dog = json_array_get(r, 0);
    assert_string_equal(json_string_value(json_object_get(dog, "from_name")), "box");
    assert_string_equal(json_string_value(json_object_get(dog, "to_name")), "img");
    assert_true(fabs(tl_value_num(dog, "x") - 48.5 / 353 * 100) < 1e-12);
    assert_true(fabs(tl_value_num(dog, "y") - 240.25 / 500 * 100) < 1e-12);
    assert_true(fabs(tl_value_num(dog, "width") - (195.75 - 48.5) / 353 * 100) < 1e-12);
    assert_true(fabs(tl_value_num(dog, "height") - (371 - 240.25) / 500 * 100) < 1e-12);
    const json_t *person = json_array_get(r, 1);
    assert_string_equal(
        json_string_value(json_array_get(
            json_object_get(json_object_get(person, "value"), "rectanglelabels"), 0)),
        "person");
    char *meta = an_json_text(json_object_get(tl_record(&c, 0), "meta"));
    assert_string_equal(meta, "{\"voc\":{\"difficult\":[\"r1\"],\"truncated\":[\"r2\"]}}");
    free(meta);
    /* an image with no objects is labelled and empty */
    assert_int_equal(json_array_size(tl_result_of(&c, 1)), 0);
    assert_null(json_object_get(tl_record(&c, 1), "meta"));
    tl_sink_free(&c);
}

static void test_read_top_level_xml_and_polygons(void **state)
{
    tl_make_dir("flat");
    tl_write_file("flat/000001.xml", voc1);
    tl_write_file("flat/000001.jpg", "x");
    tl_write_file("flat/notes.txt", "ignored");
    tl_sink c;
    read_into(tl_path("flat"), &cfg_poly, &c);
    assert_int_equal(json_array_size(c.records), 1);
    char want[1024];
    snprintf(want, sizeof want, "%s/flat/000001.jpg", tl_dir());
    assert_string_equal(image_of(&c, 0), want);
    /* only PolygonLabels: a box comes in as its four corners */
    const json_t *dog = json_array_get(tl_result_of(&c, 0), 0);
    assert_string_equal(json_string_value(json_object_get(dog, "type")), "polygonlabels");
    assert_int_equal(json_array_size(json_object_get(json_object_get(dog, "value"), "points")), 4);
    tl_sink_free(&c);

    /* one file may be named directly */
    read_into(tl_path("flat/000001.xml"), &cfg, &c);
    assert_int_equal(json_array_size(c.records), 1);
    assert_string_equal(image_of(&c, 0), want);
    tl_sink_free(&c);
}

static void test_read_rejects(void **state)
{
    tl_make_dir("bad");
    tl_make_dir("bad/Annotations");
    tl_write_file("bad/Annotations/a_broken.xml", "<annotation>\n<filename>x.jpg</filename>\n"
                                                  "<size><width>1</width></size\n</annotation>");
    tl_write_file("bad/Annotations/b_unknown.xml",
                  "<annotation>\n<filename>b.jpg</filename>\n"
                  "<size><width>100</width><height>100</height></size>\n"
                  "<object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax>"
                  "<ymax>2</ymax></bndbox></object>\n"
                  "<object>\n<name>zebra</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax>"
                  "<ymax>2</ymax></bndbox></object>\n</annotation>");
    tl_write_file("bad/Annotations/c_outside.xml",
                  "<annotation>\n<filename>c.jpg</filename>\n"
                  "<size><width>100</width><height>100</height></size>\n"
                  "<object><name>dog</name>\n<bndbox><xmin>10</xmin><ymin>1</ymin>"
                  "<xmax>120</xmax><ymax>2</ymax></bndbox></object>\n</annotation>");
    tl_write_file("bad/Annotations/d_nobox.xml",
                  "<annotation>\n<filename>d.jpg</filename>\n"
                  "<size><width>100</width><height>100</height></size>\n"
                  "<object><name>dog</name>\n<bndbox><xmin>ten</xmin><ymin>1</ymin>"
                  "<xmax>12</xmax><ymax>2</ymax></bndbox></object>\n</annotation>");
    tl_write_file("bad/Annotations/e_root.xml", "<?xml version=\"1.0\"?>\n<View/>");
    tl_write_file("bad/Annotations/f_ok.xml",
                  "<annotation><filename>f.jpg</filename>"
                  "<size><width>100</width><height>100</height></size></annotation>");
    tl_sink c;
    read_into(tl_path("bad"), &cfg, &c);
    assert_int_equal(json_array_size(c.records), 1);
    assert_true(strstr(image_of(&c, 0), "/f.jpg") != NULL);
    const char *want[][2] = {
        {"Annotations/a_broken.xml:4|", "malformed XML"},
        {"Annotations/b_unknown.xml:5|", "object name \"zebra\" is not a label of "
                                         "RectangleLabels \"box\""},
        {"Annotations/c_outside.xml:5|", "does not lie inside the 100x100 image"},
        {"Annotations/d_nobox.xml:5|", "numeric xmin"},
        {"Annotations/e_root.xml:2|", "not a VOC annotation"},
    };
    size_t n = sizeof want / sizeof want[0];
    assert_int_equal(json_array_size(c.rejects), n);
    for (size_t i = 0; i < n; i++) {
        const char *got = tl_reject_line(&c, i);
        if (strncmp(got, want[i][0], strlen(want[i][0])) != 0 || !strstr(got, want[i][1]))
            fail_msg("reject %zu: got \"%s\", want \"%s\" … \"%s\"", i, got, want[i][0],
                     want[i][1]);
    }
    tl_sink_free(&c);

    tl_make_dir("empty");
    an_import_sink sink = {.record = tl_on_record, .reject = tl_on_reject, .ud = &c};
    an_err err;
    assert_int_equal(an_format_voc.read(tl_path("empty"), &cfg, &sink, &err), -AN_EINVAL);
    assert_non_null(strstr(err.msg, "no .xml files"));
}

static void test_read_does_not_load_external_entities(void **state)
{
    tl_make_dir("xxe");
    tl_write_file("xxe/secret.txt", "TOP-SECRET");
    char xml[2048];
    snprintf(xml, sizeof xml,
             "<?xml version=\"1.0\"?>\n<!DOCTYPE annotation [<!ENTITY x SYSTEM "
             "\"file://%s/xxe/secret.txt\">]>\n<annotation><filename>a&x;.jpg</filename>"
             "<size><width>10</width><height>10</height></size></annotation>",
             tl_dir());
    tl_write_file("xxe/a.xml", xml);
    tl_sink c;
    read_into(tl_path("xxe"), &cfg, &c);
    for (size_t i = 0; i < json_array_size(c.records); i++)
        assert_null(strstr(image_of(&c, i), "TOP-SECRET"));
    for (size_t i = 0; i < json_array_size(c.rejects); i++)
        assert_null(strstr(tl_reject_line(&c, i), "TOP-SECRET"));
    assert_int_equal(json_array_size(c.records) + json_array_size(c.rejects), 1);
    tl_sink_free(&c);
}

/* ---- export ------------------------------------------------------------------------- */

static int export_rows(const tl_row *rows, size_t n, const char *dir, an_err *err)
{
    return tl_export_to_dir(&an_format_voc, &cfg, rows, n, dir, err);
}

#define RECT(id, x, y, w, h, W, H, l)                                                              \
    "{\"id\":\"" id "\",\"from_name\":\"box\",\"to_name\":\"img\",\"type\":"                       \
    "\"rectanglelabels\",\"original_width\":" #W ",\"original_height\":" #H ",\"value\":{"         \
    "\"x\":" #x ",\"y\":" #y ",\"width\":" #w ",\"height\":" #h ",\"rotation\":0,"                 \
    "\"rectanglelabels\":[\"" l "\"]}}"

static void test_export(void **state)
{
    const tl_row rows[] = {
        {"{\"photo\":\"/data/a/img.jpg\"}", "[" RECT("r1", 10, 20, 30, 40, 200, 100, "dog") "]",
         "{\"voc\":{\"difficult\":[\"r1\"]}}"},
        {"{\"photo\":\"/data/b/img.jpg\"}", "[]", NULL}, /* same stem: 2_img.xml */
        {"{\"photo\":\"/data/c.jpg\"}", NULL, NULL},     /* no annotation: no file */
        {"{\"photo\":\"http://host/x/<odd>&.png?sig=1\"}",
         "[" RECT("q", 0, 0, 100, 100, 64, 48, "cat") "]", NULL},
    };
    an_err err;
    const char *dir = tl_path("out");
    char d[512];
    snprintf(d, sizeof d, "%s", dir);
    assert_int_equal(export_rows(rows, 4, d, &err), 0);
    char p[600];
    snprintf(p, sizeof p, "%s/Annotations/img.xml", d);
    char *x = tl_slurp(p);
    assert_string_equal(x, "<annotation>\n\t<folder>JPEGImages</folder>\n"
                           "\t<filename>img.jpg</filename>\n\t<path>/data/a/img.jpg</path>\n"
                           "\t<source>\n\t\t<database>annot</database>\n\t</source>\n"
                           "\t<size>\n\t\t<width>200</width>\n\t\t<height>100</height>\n"
                           "\t\t<depth>3</depth>\n\t</size>\n\t<segmented>0</segmented>\n"
                           "\t<object>\n\t\t<name>dog</name>\n\t\t<pose>Unspecified</pose>\n"
                           "\t\t<truncated>0</truncated>\n\t\t<difficult>1</difficult>\n"
                           "\t\t<bndbox>\n\t\t\t<xmin>20</xmin>\n\t\t\t<ymin>20</ymin>\n"
                           "\t\t\t<xmax>80</xmax>\n\t\t\t<ymax>60</ymax>\n\t\t</bndbox>\n"
                           "\t</object>\n</annotation>\n");
    free(x);
    snprintf(p, sizeof p, "%s/Annotations/2_img.xml", d);
    assert_int_equal(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/Annotations/c.xml", d);
    assert_int_not_equal(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/Annotations/<odd>&.xml", d);
    x = tl_slurp(p);
    assert_non_null(strstr(x, "<filename>&lt;odd&gt;&amp;.png</filename>"));
    assert_non_null(strstr(x, "<xmax>64</xmax>"));
    free(x);
}

/* Import → export → import → export: every box agrees to 1e-6 px, flags survive. */
static void test_round_trip(void **state)
{
    tl_make_dir("rt");
    tl_make_dir("rt/Annotations");
    tl_write_file("rt/Annotations/000001.xml", voc1);
    tl_write_file("rt/Annotations/000007.xml",
                  "<annotation><filename>000007.jpg</filename><path>/imgs/000007.jpg</path>"
                  "<size><width>1919</width><height>1081</height></size>"
                  "<object><name>cat</name><bndbox><xmin>0.1</xmin><ymin>1.7</ymin>"
                  "<xmax>1918.9</xmax><ymax>1080.3</ymax></bndbox></object>"
                  "<object><name>dog</name><bndbox><xmin>333.333333</xmin><ymin>7.77777</ymin>"
                  "<xmax>444.444444</xmax><ymax>888.888888</ymax></bndbox></object>"
                  "</annotation>");
    double want[][4] = {{48.5, 240.25, 195.75, 371},
                        {8, 12, 352, 498},
                        {0.1, 1.7, 1918.9, 1080.3},
                        {333.333333, 7.77777, 444.444444, 888.888888}};
    char src[512], outs[2][512];
    snprintf(src, sizeof src, "%s", tl_path("rt"));
    snprintf(outs[0], sizeof outs[0], "%s", tl_path("rt-1"));
    snprintf(outs[1], sizeof outs[1], "%s", tl_path("rt-2"));
    const char *cur = src;
    for (int pass = 0; pass < 2; pass++) {
        tl_sink c;
        read_into(cur, &cfg, &c);
        assert_int_equal(json_array_size(c.rejects), 0);
        assert_int_equal(json_array_size(c.records), 2);
        /* compare the imported boxes with the originals, in pixels */
        size_t k = 0;
        for (size_t i = 0; i < 2; i++) {
            const json_t *res = tl_result_of(&c, i);
            for (size_t j = 0; j < json_array_size(res); j++, k++) {
                const json_t *it = json_array_get(res, j);
                double W = (double)json_integer_value(json_object_get(it, "original_width"));
                double H = (double)json_integer_value(json_object_get(it, "original_height"));
                double x0 = tl_value_num(it, "x") * W / 100, y0 = tl_value_num(it, "y") * H / 100;
                double x1 = x0 + tl_value_num(it, "width") * W / 100;
                double y1 = y0 + tl_value_num(it, "height") * H / 100;
                double got[4] = {x0, y0, x1, y1};
                for (int q = 0; q < 4; q++)
                    if (fabs(got[q] - want[k][q]) > 1e-6)
                        fail_msg("pass %d box %zu[%d]: %.17g vs %.17g", pass, k, q, got[q],
                                 want[k][q]);
            }
        }
        assert_int_equal(k, 4);
        char *m = an_json_text(json_object_get(tl_record(&c, 0), "meta"));
        assert_string_equal(m, "{\"voc\":{\"difficult\":[\"r1\"],\"truncated\":[\"r2\"]}}");
        free(m);
        tl_row rows[2];
        char *texts[6];
        for (size_t i = 0; i < 2; i++) {
            texts[3 * i] = an_json_text(json_object_get(tl_record(&c, i), "data"));
            texts[3 * i + 1] = an_json_text(tl_result_of(&c, i));
            const json_t *meta = json_object_get(tl_record(&c, i), "meta");
            texts[3 * i + 2] = meta ? an_json_text(meta) : NULL;
            rows[i] = (tl_row){texts[3 * i], texts[3 * i + 1], texts[3 * i + 2]};
        }
        an_err err;
        assert_int_equal(export_rows(rows, 2, outs[pass], &err), 0);
        for (size_t i = 0; i < 6; i++)
            free(texts[i]);
        tl_sink_free(&c);
        cur = outs[pass];
    }
}

static int sniff_path(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    unsigned char head[4096];
    size_t n = 0;
    if (!S_ISDIR(st.st_mode)) {
        FILE *f = fopen(path, "rb");
        n = fread(head, 1, sizeof head, f);
        fclose(f);
    }
    return an_format_voc.sniff(path, S_ISDIR(st.st_mode), head, n);
}

static void test_sniff(void **state)
{
    tl_make_dir("s1");
    tl_make_dir("s1/Annotations");
    tl_write_file("s1/Annotations/1.xml", voc1);
    assert_int_equal(sniff_path(tl_path("s1")), 80);
    tl_make_dir("s2");
    tl_write_file("s2/1.xml", voc1);
    assert_int_equal(sniff_path(tl_path("s2")), 80);
    assert_int_equal(sniff_path(tl_path("s2/1.xml")), 80);
    tl_make_dir("s3");
    tl_write_file("s3/config.xml", "<View><Image name=\"i\" value=\"$i\"/></View>");
    assert_int_equal(sniff_path(tl_path("s3")), 0);
    assert_int_equal(sniff_path(tl_path("s3/config.xml")), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_voc_folder),
        cmocka_unit_test(test_read_top_level_xml_and_polygons),
        cmocka_unit_test(test_read_rejects),
        cmocka_unit_test(test_read_does_not_load_external_entities),
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_sniff),
    };
    return cmocka_run_group_tests(tests, tl_setup, tl_teardown);
}
