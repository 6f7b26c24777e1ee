/* files (formats/files.c): a folder becomes one task per media or text file, found by
 * content; hidden files, links out of the folder and unknown content are handled. */
#include "testlib.h"

static char root[300]; /* tl_dir()/in */

static void put(const char *rel, const void *bytes, size_t n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    tl_write_bytes(path, bytes, n);
}

static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
                                    'I', 'H', 'D', 'R', 0, 0, 0, 3, 0, 0, 0, 2, 8, 6, 0, 0, 0,
                                    0x12, 0x34, 0x56, 0x78};
static const unsigned char wav[] = {'R', 'I', 'F', 'F', 36, 0, 0, 0, 'W', 'A', 'V', 'E',
                                    'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0};
static const unsigned char mp4[] = {0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm',
                                    0, 0, 2, 0, 'i', 's', 'o', 'm', 'm', 'p', '4', '1'};

/* The folder the tests read: see the comment at each file for what should become of it. */
static int setup(void **state)
{
    if (tl_setup(state) != 0) return -1;
    snprintf(root, sizeof root, "%s/in", tl_dir());
    if (mkdir(root, 0755) != 0) return -1;
    char p[600], q[600];
    put("a.png", png, sizeof png);     /* image */
    put("b.wav", wav, sizeof wav);     /* audio */
    put("c.mp4", mp4, sizeof mp4);     /* video */
    put("d.txt", "你好，世界\n", strlen("你好，世界\n")); /* text */
    put("e.txt", png, sizeof png);     /* image despite its name */
    put("g.bin", "\x00\x01\x02\xFF", 4); /* unknown: rejected */
    put("h.txt", "", 0);               /* empty: rejected */
    put(".hidden.txt", "secret", 6);   /* skipped */
    snprintf(p, sizeof p, "%s/.git", root);
    mkdir(p, 0755);
    put(".git/config", "x", 1); /* skipped with its hidden folder */
    snprintf(p, sizeof p, "%s/sub", root);
    mkdir(p, 0755);
    put("sub/f.md", "\xEF\xBB\xBF# title\n", 11); /* text, BOM dropped */
    /* text for 4 KiB, then a byte that is not UTF-8: rejected */
    char *bad = malloc(5001);
    memset(bad, 'a', 5000);
    bad[5000] = (char)0xFF;
    put("bad_utf8.txt", bad, 5001);
    free(bad);
    /* over the 10 MiB text limit: rejected */
    size_t big = ((size_t)10 << 20) + 1;
    char *b = malloc(big);
    memset(b, 'x', big);
    put("big.txt", b, big);
    free(b);
    /* links: to a file inside (followed), outside (refused), to a folder (refused) */
    snprintf(p, sizeof p, "%s/a.png", root);
    snprintf(q, sizeof q, "%s/link_in.png", root);
    if (symlink(p, q) != 0) return -1;
    snprintf(p, sizeof p, "%s/outside.txt", tl_dir());
    FILE *f = fopen(p, "w");
    fputs("outside", f);
    fclose(f);
    snprintf(q, sizeof q, "%s/link_out", root);
    if (symlink(p, q) != 0) return -1;
    snprintf(q, sizeof q, "%s/z_dirlink", root);
    if (symlink("sub", q) != 0) return -1;
    return 0;
}

static void expect_rec(tl_sink *g, size_t i, const char *rel, const char *key, const char *value)
{
    json_t *o = json_array_get(g->records, i);
    char path[600];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    assert_string_equal(an_json_str(o, "where"), path);
    assert_string_equal(an_json_str(json_object_get(o, "meta"), "source"), path);
    json_t *data = json_object_get(o, "data");
    assert_int_equal(json_object_size(data), 1);
    const char *v = an_json_str(data, key);
    if (!v) fail_msg("%s: no data field \"%s\"", rel, key);
    assert_string_equal(v, value);
}

static const char *real_of(const char *rel)
{
    static char out[PATH_MAX];
    char path[600];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    assert_non_null(realpath(path, out));
    return out;
}

static void expect_rej(tl_sink *g, size_t i, const char *rel, const char *part)
{
    json_t *o = json_array_get(g->rejects, i);
    char path[600];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    assert_string_equal(an_json_str(o, "where"), path);
    const char *r = an_json_str(o, "reason");
    if (!strstr(r, part)) fail_msg("%s: reason \"%s\" lacks \"%s\"", rel, r, part);
}

static void test_import_folder(void **state)
{
    an_object objs[2] = {
        {.tag = AN_TAG_IMAGE, .name = "img", .value = "$photo", .data_key = "photo"},
        {.tag = AN_TAG_TEXT, .name = "txt", .value = "$body", .data_key = "body"},
    };
    an_config cfg = {.objects = objs, .n_objects = 2};
    tl_sink g;
    tl_sink_init(&g);
    an_import_sink sink = {tl_on_record, tl_on_reject, tl_on_progress, &g};
    an_err err;
    assert_int_equal(an_format_files.read(root, &cfg, &sink, &err), 0);

    assert_int_equal(json_array_size(g.records), 7);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s", real_of("a.png"));
    expect_rec(&g, 0, "a.png", "photo", want);
    expect_rec(&g, 1, "b.wav", "audio", real_of("b.wav"));
    expect_rec(&g, 2, "c.mp4", "video", real_of("c.mp4"));
    expect_rec(&g, 3, "d.txt", "body", "你好，世界\n");
    expect_rec(&g, 4, "e.txt", "photo", real_of("e.txt"));
    expect_rec(&g, 5, "link_in.png", "photo", want); /* the link's target */
    expect_rec(&g, 6, "sub/f.md", "body", "# title\n");

    assert_int_equal(json_array_size(g.rejects), 6);
    expect_rej(&g, 0, "bad_utf8.txt", "not valid UTF-8");
    expect_rej(&g, 1, "big.txt", "larger than 10 MiB");
    expect_rej(&g, 2, "g.bin", "not a recognised image, audio, video or UTF-8 text");
    expect_rej(&g, 3, "h.txt", "empty");
    expect_rej(&g, 4, "link_out", "outside the imported folder");
    expect_rej(&g, 5, "z_dirlink", "links to folders are not followed");

    /* progress counts files, and ends at the total */
    assert_int_equal(g.total, 11);
    assert_int_equal(g.done, 11);
    tl_sink_free(&g);
}

static void test_default_keys_and_errors(void **state)
{
    tl_sink g;
    tl_sink_init(&g);
    an_import_sink sink = {tl_on_record, tl_on_reject, NULL, &g};
    an_err err;
    assert_int_equal(an_format_files.read(root, NULL, &sink, &err), 0);
    assert_int_equal(json_array_size(g.records), 7);
    expect_rec(&g, 0, "a.png", "image", real_of("a.png"));
    expect_rec(&g, 3, "d.txt", "text", "你好，世界\n");
    tl_sink_free(&g);

    char file[600];
    snprintf(file, sizeof file, "%s/a.png", root);
    assert_int_equal(an_format_files.read(file, NULL, &sink, &err), -AN_EINVAL);
    assert_string_equal(err.where, file);
    assert_int_equal(an_format_files.read("/nonexistent/folder", NULL, &sink, &err), -AN_EIO);
}

static void test_sniff(void **state)
{
    assert_int_equal(an_format_files.sniff(root, true, NULL, 0), 20);
    char p[600];
    snprintf(p, sizeof p, "%s/a.png", root);
    assert_int_equal(an_format_files.sniff(p, false, png, sizeof png), 0);
    /* a Pascal VOC layout belongs to the VOC reader */
    snprintf(p, sizeof p, "%s/voc", tl_dir());
    mkdir(p, 0755);
    char q[700];
    snprintf(q, sizeof q, "%s/Annotations", p);
    mkdir(q, 0755);
    snprintf(q, sizeof q, "%s/x.png", p);
    FILE *f = fopen(q, "wb");
    fwrite(png, 1, sizeof png, f);
    fclose(f);
    assert_int_equal(an_format_files.sniff(p, true, NULL, 0), 0);
    /* an empty folder has nothing to import */
    snprintf(p, sizeof p, "%s/empty", tl_dir());
    mkdir(p, 0755);
    assert_int_equal(an_format_files.sniff(p, true, NULL, 0), 0);
    assert_null(an_format_files.export_begin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_folder),
        cmocka_unit_test(test_default_keys_and_errors),
        cmocka_unit_test(test_sniff),
    };
    return cmocka_run_group_tests(tests, setup, tl_teardown);
}
