/* files (formats/files.c): a folder becomes one task per media or text file, found by
 * content; hidden files, links out of the folder and unknown content are handled. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/json.h"
#include "formats/format.h"

static char tmpdir[256];
static char root[300];

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *rel, const void *bytes, size_t n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
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
    snprintf(tmpdir, sizeof tmpdir, "/tmp/an_files_XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    snprintf(root, sizeof root, "%s/in", tmpdir);
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
    snprintf(p, sizeof p, "%s/outside.txt", tmpdir);
    FILE *f = fopen(p, "w");
    fputs("outside", f);
    fclose(f);
    snprintf(q, sizeof q, "%s/link_out", root);
    if (symlink(p, q) != 0) return -1;
    snprintf(q, sizeof q, "%s/z_dirlink", root);
    if (symlink("sub", q) != 0) return -1;
    return 0;
}

typedef struct got {
    json_t *recs, *rejs;
    uint64_t done, total;
} got;

static int on_record(void *ud, const an_record *rec, an_err *err)
{
    got *g = ud;
    json_t *o = json_object();
    json_object_set_new(o, "where", json_string(rec->where));
    json_object_set(o, "data", rec->data);
    json_object_set(o, "meta", rec->meta);
    json_array_append_new(g->recs, o);
    return 0;
}

static int on_reject(void *ud, const char *where, const char *reason)
{
    got *g = ud;
    json_t *o = json_object();
    json_object_set_new(o, "where", json_string(where));
    json_object_set_new(o, "reason", json_string(reason));
    json_array_append_new(g->rejs, o);
    return 0;
}

static void on_progress(void *ud, uint64_t done, uint64_t total)
{
    got *g = ud;
    g->done = done;
    g->total = total;
}

static void expect_rec(got *g, size_t i, const char *rel, const char *key, const char *value)
{
    json_t *o = json_array_get(g->recs, i);
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

static void expect_rej(got *g, size_t i, const char *rel, const char *part)
{
    json_t *o = json_array_get(g->rejs, i);
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
    got g = {json_array(), json_array(), 0, 0};
    an_import_sink sink = {on_record, on_reject, on_progress, &g};
    an_err err;
    assert_int_equal(an_format_files.read(root, &cfg, &sink, &err), 0);

    assert_int_equal(json_array_size(g.recs), 7);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s", real_of("a.png"));
    expect_rec(&g, 0, "a.png", "photo", want);
    expect_rec(&g, 1, "b.wav", "audio", real_of("b.wav"));
    expect_rec(&g, 2, "c.mp4", "video", real_of("c.mp4"));
    expect_rec(&g, 3, "d.txt", "body", "你好，世界\n");
    expect_rec(&g, 4, "e.txt", "photo", real_of("e.txt"));
    expect_rec(&g, 5, "link_in.png", "photo", want); /* the link's target */
    expect_rec(&g, 6, "sub/f.md", "body", "# title\n");

    assert_int_equal(json_array_size(g.rejs), 6);
    expect_rej(&g, 0, "bad_utf8.txt", "not valid UTF-8");
    expect_rej(&g, 1, "big.txt", "larger than 10 MiB");
    expect_rej(&g, 2, "g.bin", "not a recognised image, audio, video or UTF-8 text");
    expect_rej(&g, 3, "h.txt", "empty");
    expect_rej(&g, 4, "link_out", "outside the imported folder");
    expect_rej(&g, 5, "z_dirlink", "links to folders are not followed");

    /* progress counts files, and ends at the total */
    assert_int_equal(g.total, 11);
    assert_int_equal(g.done, 11);
    json_decref(g.recs);
    json_decref(g.rejs);
}

static void test_default_keys_and_errors(void **state)
{
    got g = {json_array(), json_array(), 0, 0};
    an_import_sink sink = {on_record, on_reject, NULL, &g};
    an_err err;
    assert_int_equal(an_format_files.read(root, NULL, &sink, &err), 0);
    assert_int_equal(json_array_size(g.recs), 7);
    expect_rec(&g, 0, "a.png", "image", real_of("a.png"));
    expect_rec(&g, 3, "d.txt", "text", "你好，世界\n");
    json_decref(g.recs);
    json_decref(g.rejs);

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
    snprintf(p, sizeof p, "%s/voc", tmpdir);
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
    snprintf(p, sizeof p, "%s/empty", tmpdir);
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
    return cmocka_run_group_tests(tests, setup, teardown);
}
