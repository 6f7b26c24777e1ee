/* Pascal VOC import and export: float coordinates, difficult/truncated kept in task meta,
 * image path resolution, rejects with file:line, no external entities, and export → import →
 * export round trips exact to 1e-6 pixel. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/json.h"
#include "formats/format.h"

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

typedef struct collect {
    json_t *records; /* [{"data", "annotations", "meta", "where"}] */
    json_t *rejects; /* ["where|reason"] */
} collect;

static int on_record(void *ud, const an_record *rec, an_err *err)
{
    collect *c = ud;
    json_t *o = json_object();
    json_object_set(o, "data", rec->data);
    if (rec->annotations) json_object_set_new(o, "annotations", json_deep_copy(rec->annotations));
    if (rec->meta) json_object_set_new(o, "meta", json_deep_copy(rec->meta));
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

static char tmpdir[64];
static char realtmp[4096];

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/annot-voc-XXXXXX");
    if (!mkdtemp(tmpdir) || !realpath(tmpdir, realtmp)) return -1;
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path_in(const char *name)
{
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", realtmp, name);
    return path[k];
}

static void make_dir(const char *name)
{
    assert_int_equal(mkdir(path_in(name), 0755), 0);
}

static void write_file(const char *name, const char *content)
{
    FILE *f = fopen(path_in(name), "wb");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    an_buf b = AN_BUF_INIT;
    an_buf_init(&b);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        an_buf_add(&b, tmp, n);
    fclose(f);
    return an_buf_detach(&b);
}

static void read_into(const char *path, const an_config *c_, collect *c)
{
    c->records = json_array();
    c->rejects = json_array();
    an_import_sink sink = {.record = on_record, .reject = on_reject, .ud = c};
    an_err err;
    an_err_clear(&err);
    int rc = an_format_voc.read(path, c_, &sink, &err);
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
    return json_string_value(json_object_get(json_object_get(record(c, i), "data"), "photo"));
}

static const json_t *result_of(const collect *c, size_t i)
{
    const json_t *anns = json_object_get(record(c, i), "annotations");
    return json_object_get(json_array_get(anns, 0), "result");
}

static double value_num(const json_t *item, const char *key)
{
    double v = NAN;
    an_json_number(json_object_get(json_object_get(item, "value"), key), &v);
    return v;
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
    make_dir("ds");
    make_dir("ds/Annotations");
    make_dir("ds/JPEGImages");
    write_file("ds/Annotations/000001.xml", voc1);
    write_file("ds/JPEGImages/000001.jpg", "not really a jpeg");
    write_file("ds/Annotations/000002.xml",
               "<annotation><filename>gone.jpg</filename><path>/elsewhere/gone.jpg</path>"
               "<size><width>10</width><height>10</height></size></annotation>");
    collect c;
    read_into(path_in("ds"), &cfg, &c);
    assert_int_equal(json_array_size(c.rejects), 0);
    assert_int_equal(json_array_size(c.records), 2);
    char want[1024];
    snprintf(want, sizeof want, "%s/ds/JPEGImages/000001.jpg", realtmp);
    assert_string_equal(image_of(&c, 0), want);
    assert_string_equal(image_of(&c, 1), "/elsewhere/gone.jpg");
    assert_string_equal(json_string_value(json_object_get(record(&c, 0), "where")),
                        "Annotations/000001.xml");

    const json_t *r = result_of(&c, 0);
    assert_int_equal(json_array_size(r), 2);
    const json_t *dog = json_array_get(r, 0);
    assert_string_equal(json_string_value(json_object_get(dog, "from_name")), "box");
    assert_string_equal(json_string_value(json_object_get(dog, "to_name")), "img");
    assert_true(fabs(value_num(dog, "x") - 48.5 / 353 * 100) < 1e-12);
    assert_true(fabs(value_num(dog, "y") - 240.25 / 500 * 100) < 1e-12);
    assert_true(fabs(value_num(dog, "width") - (195.75 - 48.5) / 353 * 100) < 1e-12);
    assert_true(fabs(value_num(dog, "height") - (371 - 240.25) / 500 * 100) < 1e-12);
    const json_t *person = json_array_get(r, 1);
    assert_string_equal(
        json_string_value(json_array_get(
            json_object_get(json_object_get(person, "value"), "rectanglelabels"), 0)),
        "person");
    char *meta = an_json_text(json_object_get(record(&c, 0), "meta"));
    assert_string_equal(meta, "{\"voc\":{\"difficult\":[\"r1\"],\"truncated\":[\"r2\"]}}");
    free(meta);
    /* an image with no objects is labelled and empty */
    assert_int_equal(json_array_size(result_of(&c, 1)), 0);
    assert_null(json_object_get(record(&c, 1), "meta"));
    collect_free(&c);
}

static void test_read_top_level_xml_and_polygons(void **state)
{
    make_dir("flat");
    write_file("flat/000001.xml", voc1);
    write_file("flat/000001.jpg", "x");
    write_file("flat/notes.txt", "ignored");
    collect c;
    read_into(path_in("flat"), &cfg_poly, &c);
    assert_int_equal(json_array_size(c.records), 1);
    char want[1024];
    snprintf(want, sizeof want, "%s/flat/000001.jpg", realtmp);
    assert_string_equal(image_of(&c, 0), want);
    /* only PolygonLabels: a box comes in as its four corners */
    const json_t *dog = json_array_get(result_of(&c, 0), 0);
    assert_string_equal(json_string_value(json_object_get(dog, "type")), "polygonlabels");
    assert_int_equal(json_array_size(json_object_get(json_object_get(dog, "value"), "points")), 4);
    collect_free(&c);

    /* one file may be named directly */
    read_into(path_in("flat/000001.xml"), &cfg, &c);
    assert_int_equal(json_array_size(c.records), 1);
    assert_string_equal(image_of(&c, 0), want);
    collect_free(&c);
}

static void test_read_rejects(void **state)
{
    make_dir("bad");
    make_dir("bad/Annotations");
    write_file("bad/Annotations/a_broken.xml", "<annotation>\n<filename>x.jpg</filename>\n"
                                               "<size><width>1</width></size\n</annotation>");
    write_file("bad/Annotations/b_unknown.xml",
               "<annotation>\n<filename>b.jpg</filename>\n"
               "<size><width>100</width><height>100</height></size>\n"
               "<object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax>"
               "<ymax>2</ymax></bndbox></object>\n"
               "<object>\n<name>zebra</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax>"
               "<ymax>2</ymax></bndbox></object>\n</annotation>");
    write_file("bad/Annotations/c_outside.xml",
               "<annotation>\n<filename>c.jpg</filename>\n"
               "<size><width>100</width><height>100</height></size>\n"
               "<object><name>dog</name>\n<bndbox><xmin>10</xmin><ymin>1</ymin>"
               "<xmax>120</xmax><ymax>2</ymax></bndbox></object>\n</annotation>");
    write_file("bad/Annotations/d_nobox.xml",
               "<annotation>\n<filename>d.jpg</filename>\n"
               "<size><width>100</width><height>100</height></size>\n"
               "<object><name>dog</name>\n<bndbox><xmin>ten</xmin><ymin>1</ymin>"
               "<xmax>12</xmax><ymax>2</ymax></bndbox></object>\n</annotation>");
    write_file("bad/Annotations/e_root.xml", "<?xml version=\"1.0\"?>\n<View/>");
    write_file("bad/Annotations/f_ok.xml",
               "<annotation><filename>f.jpg</filename>"
               "<size><width>100</width><height>100</height></size></annotation>");
    collect c;
    read_into(path_in("bad"), &cfg, &c);
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
        const char *got = json_string_value(json_array_get(c.rejects, i));
        if (strncmp(got, want[i][0], strlen(want[i][0])) != 0 || !strstr(got, want[i][1]))
            fail_msg("reject %zu: got \"%s\", want \"%s\" … \"%s\"", i, got, want[i][0],
                     want[i][1]);
    }
    collect_free(&c);

    make_dir("empty");
    an_import_sink sink = {.record = on_record, .reject = on_reject, .ud = &c};
    an_err err;
    assert_int_equal(an_format_voc.read(path_in("empty"), &cfg, &sink, &err), -AN_EINVAL);
    assert_non_null(strstr(err.msg, "no .xml files"));
}

static void test_read_does_not_load_external_entities(void **state)
{
    make_dir("xxe");
    write_file("xxe/secret.txt", "TOP-SECRET");
    char xml[2048];
    snprintf(xml, sizeof xml,
             "<?xml version=\"1.0\"?>\n<!DOCTYPE annotation [<!ENTITY x SYSTEM "
             "\"file://%s/xxe/secret.txt\">]>\n<annotation><filename>a&x;.jpg</filename>"
             "<size><width>10</width><height>10</height></size></annotation>",
             realtmp);
    write_file("xxe/a.xml", xml);
    collect c;
    read_into(path_in("xxe"), &cfg, &c);
    for (size_t i = 0; i < json_array_size(c.records); i++)
        assert_null(strstr(image_of(&c, i), "TOP-SECRET"));
    for (size_t i = 0; i < json_array_size(c.rejects); i++)
        assert_null(strstr(json_string_value(json_array_get(c.rejects, i)), "TOP-SECRET"));
    assert_int_equal(json_array_size(c.records) + json_array_size(c.rejects), 1);
    collect_free(&c);
}

/* ---- export ------------------------------------------------------------------------- */

typedef struct row_in {
    const char *data;
    const char *result; /* NULL: no annotation */
    const char *meta;
} row_in;

static int export_rows(const row_in *rows, size_t n, const char *dir, an_err *err)
{
    assert_int_equal(mkdir(dir, 0755), 0);
    an_export_ctx ctx = {.config = &cfg, .project_name = "p", .out_dir = dir};
    an_buf_init(&ctx.scratch);
    an_err_clear(err);
    int rc = an_format_voc.export_begin(&ctx, err);
    assert_int_equal(rc, 0);
    for (size_t i = 0; i < n && rc == 0; i++) {
        an_annotation_row ann = {.id = 1, .result = rows[i].result};
        an_task_row row = {.id = (int64_t)i + 1,
                           .data = rows[i].data,
                           .data_len = strlen(rows[i].data),
                           .meta = rows[i].meta,
                           .annotations = &ann,
                           .n_annotations = rows[i].result ? 1 : 0};
        rc = an_format_voc.export_task(&ctx, &row, err);
    }
    an_err end_err;
    int end = an_format_voc.export_end(&ctx, rc != 0, rc ? &end_err : err);
    if (rc == 0) rc = end;
    an_buf_free(&ctx.scratch);
    return rc;
}

#define RECT(id, x, y, w, h, W, H, l)                                                              \
    "{\"id\":\"" id "\",\"from_name\":\"box\",\"to_name\":\"img\",\"type\":"                       \
    "\"rectanglelabels\",\"original_width\":" #W ",\"original_height\":" #H ",\"value\":{"         \
    "\"x\":" #x ",\"y\":" #y ",\"width\":" #w ",\"height\":" #h ",\"rotation\":0,"                 \
    "\"rectanglelabels\":[\"" l "\"]}}"

static void test_export(void **state)
{
    const row_in rows[] = {
        {"{\"photo\":\"/data/a/img.jpg\"}", "[" RECT("r1", 10, 20, 30, 40, 200, 100, "dog") "]",
         "{\"voc\":{\"difficult\":[\"r1\"]}}"},
        {"{\"photo\":\"/data/b/img.jpg\"}", "[]", NULL}, /* same stem: 2_img.xml */
        {"{\"photo\":\"/data/c.jpg\"}", NULL, NULL},     /* no annotation: no file */
        {"{\"photo\":\"http://host/x/<odd>&.png?sig=1\"}",
         "[" RECT("q", 0, 0, 100, 100, 64, 48, "cat") "]", NULL},
    };
    an_err err;
    const char *dir = path_in("out");
    char d[512];
    snprintf(d, sizeof d, "%s", dir);
    assert_int_equal(export_rows(rows, 4, d, &err), 0);
    char p[600];
    snprintf(p, sizeof p, "%s/Annotations/img.xml", d);
    char *x = slurp(p);
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
    x = slurp(p);
    assert_non_null(strstr(x, "<filename>&lt;odd&gt;&amp;.png</filename>"));
    assert_non_null(strstr(x, "<xmax>64</xmax>"));
    free(x);
}

/* Import → export → import → export: every box agrees to 1e-6 px, flags survive. */
static void test_round_trip(void **state)
{
    make_dir("rt");
    make_dir("rt/Annotations");
    write_file("rt/Annotations/000001.xml", voc1);
    write_file("rt/Annotations/000007.xml",
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
    snprintf(src, sizeof src, "%s", path_in("rt"));
    snprintf(outs[0], sizeof outs[0], "%s", path_in("rt-1"));
    snprintf(outs[1], sizeof outs[1], "%s", path_in("rt-2"));
    const char *cur = src;
    for (int pass = 0; pass < 2; pass++) {
        collect c;
        read_into(cur, &cfg, &c);
        assert_int_equal(json_array_size(c.rejects), 0);
        assert_int_equal(json_array_size(c.records), 2);
        /* compare the imported boxes with the originals, in pixels */
        size_t k = 0;
        for (size_t i = 0; i < 2; i++) {
            const json_t *res = result_of(&c, i);
            for (size_t j = 0; j < json_array_size(res); j++, k++) {
                const json_t *it = json_array_get(res, j);
                double W = (double)json_integer_value(json_object_get(it, "original_width"));
                double H = (double)json_integer_value(json_object_get(it, "original_height"));
                double x0 = value_num(it, "x") * W / 100, y0 = value_num(it, "y") * H / 100;
                double x1 = x0 + value_num(it, "width") * W / 100;
                double y1 = y0 + value_num(it, "height") * H / 100;
                double got[4] = {x0, y0, x1, y1};
                for (int q = 0; q < 4; q++)
                    if (fabs(got[q] - want[k][q]) > 1e-6)
                        fail_msg("pass %d box %zu[%d]: %.17g vs %.17g", pass, k, q, got[q],
                                 want[k][q]);
            }
        }
        assert_int_equal(k, 4);
        char *m = an_json_text(json_object_get(record(&c, 0), "meta"));
        assert_string_equal(m, "{\"voc\":{\"difficult\":[\"r1\"],\"truncated\":[\"r2\"]}}");
        free(m);
        row_in rows[2];
        char *texts[6];
        for (size_t i = 0; i < 2; i++) {
            texts[3 * i] = an_json_text(json_object_get(record(&c, i), "data"));
            texts[3 * i + 1] = an_json_text(result_of(&c, i));
            const json_t *meta = json_object_get(record(&c, i), "meta");
            texts[3 * i + 2] = meta ? an_json_text(meta) : NULL;
            rows[i] = (row_in){texts[3 * i], texts[3 * i + 1], texts[3 * i + 2]};
        }
        an_err err;
        assert_int_equal(export_rows(rows, 2, outs[pass], &err), 0);
        for (size_t i = 0; i < 6; i++)
            free(texts[i]);
        collect_free(&c);
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
    make_dir("s1");
    make_dir("s1/Annotations");
    write_file("s1/Annotations/1.xml", voc1);
    assert_int_equal(sniff_path(path_in("s1")), 80);
    make_dir("s2");
    write_file("s2/1.xml", voc1);
    assert_int_equal(sniff_path(path_in("s2")), 80);
    assert_int_equal(sniff_path(path_in("s2/1.xml")), 80);
    make_dir("s3");
    write_file("s3/config.xml", "<View><Image name=\"i\" value=\"$i\"/></View>");
    assert_int_equal(sniff_path(path_in("s3")), 0);
    assert_int_equal(sniff_path(path_in("s3/config.xml")), 0);
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
    return cmocka_run_group_tests(tests, setup, teardown);
}
