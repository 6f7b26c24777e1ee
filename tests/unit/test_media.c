/* Media sniffing and image header sizes (formats/media.c), on tiny files built here. */
#include "formats/media.h"
#include "testlib.h"

#define U8(...) ((const unsigned char[]){__VA_ARGS__})
#define KIND(arr) an_media_kind_of(arr, sizeof arr)

/* ---- sample files ------------------------------------------------------------------- */

static const unsigned char png[] = {
    0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
    0, 0, 0, 3, 0, 0, 0, 2, 8, 6, 0, 0, 0, 0x12, 0x34, 0x56, 0x78};

/* APP0, a DHT (C4, inside the SOF range but not a frame), a fill byte, then SOF2. */
static const unsigned char jpeg[] = {
    0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
    0xFF, 0xC4, 0, 5, 0, 0, 0,
    0xFF, 0xFF, 0xC2, 0, 17, 8, 0, 5, 0, 7, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1,
    0xFF, 0xD9};

static const unsigned char gif[] = {'G', 'I', 'F', '8', '9', 'a', 10, 0, 20, 0, 0x80, 0, 0};

static const unsigned char bmp_topdown[] = {
    'B', 'M', 70, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0,
    4, 0, 0, 0, 0xFD, 0xFF, 0xFF, 0xFF, /* width 4, height -3 */
    1, 0, 24, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

static const unsigned char bmp_core[] = {
    'B', 'M', 40, 0, 0, 0, 0, 0, 0, 0, 26, 0, 0, 0, 12, 0, 0, 0, 9, 0, 8, 0, 1, 0, 24, 0};

static const unsigned char webp_vp8[] = {
    'R', 'I', 'F', 'F', 30, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', ' ', 10, 0, 0, 0,
    0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0xC1, 0xF0, 0x00}; /* 320 (scale bits set) x 240 */

static const unsigned char webp_vp8l[] = {
    'R', 'I', 'F', 'F', 30, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'L', 5, 0, 0, 0,
    0x2F, 0x63, 0x40, 0x0C, 0x00, 0, 0, 0, 0, 0}; /* 100 x 50 */

static const unsigned char webp_vp8x[] = {
    'R', 'I', 'F', 'F', 30, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X', 10, 0, 0, 0,
    0, 0, 0, 0, 0xCF, 0x07, 0x00, 0xE7, 0x03, 0x00}; /* 2000 x 1000 */

static const unsigned char tiff_le[] = {
    'I', 'I', 42, 0, 8, 0, 0, 0, 2, 0,
    0x00, 0x01, 3, 0, 1, 0, 0, 0, 0x80, 0x02, 0, 0, /* ImageWidth SHORT 640 */
    0x01, 0x01, 4, 0, 1, 0, 0, 0, 0xE0, 0x01, 0, 0, /* ImageLength LONG 480 */
    0, 0, 0, 0};

static const unsigned char tiff_be[] = {
    'M', 'M', 0, 42, 0, 0, 0, 8, 0, 3,
    0x00, 0xFE, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0,       /* NewSubfileType */
    0x01, 0x00, 0, 4, 0, 0, 0, 1, 0, 0, 0x04, 0x00, /* ImageWidth LONG 1024 */
    0x01, 0x01, 0, 3, 0, 0, 0, 1, 0x03, 0x00, 0, 0, /* ImageLength SHORT 768 */
    0, 0, 0, 0};

static const unsigned char wav[] = {'R', 'I', 'F', 'F', 36, 0, 0, 0, 'W', 'A', 'V', 'E',
                                    'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0};
static const unsigned char mp4[] = {0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm',
                                    0, 0, 2, 0, 'i', 's', 'o', 'm', 'm', 'p', '4', '1'};

/* ---- kinds -------------------------------------------------------------------------- */

static void test_kind_images(void **state)
{
    assert_int_equal(KIND(png), AN_MEDIA_IMAGE);
    assert_int_equal(KIND(jpeg), AN_MEDIA_IMAGE);
    assert_int_equal(KIND(gif), AN_MEDIA_IMAGE);
    assert_int_equal(KIND(bmp_topdown), AN_MEDIA_IMAGE);
    assert_int_equal(KIND(bmp_core), AN_MEDIA_IMAGE);
    assert_int_equal(KIND(webp_vp8), AN_MEDIA_IMAGE);
    assert_int_equal(KIND(tiff_le), AN_MEDIA_IMAGE);
    assert_int_equal(KIND(tiff_be), AN_MEDIA_IMAGE);
}

static void test_kind_audio_video(void **state)
{
    assert_int_equal(KIND(wav), AN_MEDIA_AUDIO);
    assert_int_equal(an_media_kind_of(U8('I', 'D', '3', 4, 0, 0, 0, 0, 0, 10, 0, 0), 12),
                     AN_MEDIA_AUDIO);
    /* an MPEG-1 layer III frame header: 128 kbit/s, 44.1 kHz */
    assert_int_equal(an_media_kind_of(U8(0xFF, 0xFB, 0x90, 0x64, 0, 0), 6), AN_MEDIA_AUDIO);
    assert_int_equal(an_media_kind_of(U8('f', 'L', 'a', 'C', 0, 0, 0, 34), 8), AN_MEDIA_AUDIO);
    assert_int_equal(an_media_kind_of(U8('O', 'g', 'g', 'S', 0, 2, 0, 0, 1, 'v', 'o', 'r'), 12),
                     AN_MEDIA_AUDIO);
    assert_int_equal(an_media_kind_of(U8(0, 0, 0, 0x20, 'f', 't', 'y', 'p', 'M', '4', 'A', ' '),
                                      12),
                     AN_MEDIA_AUDIO);
    assert_int_equal(KIND(mp4), AN_MEDIA_VIDEO);
    assert_int_equal(an_media_kind_of(U8(0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86), 7),
                     AN_MEDIA_VIDEO);
    assert_int_equal(an_media_kind_of(U8('R', 'I', 'F', 'F', 0, 0, 0, 0, 'A', 'V', 'I', ' '), 12),
                     AN_MEDIA_VIDEO);
    assert_int_equal(an_media_kind_of(U8('O', 'g', 'g', 'S', 0, 2, 0, 0, 0x80, 't', 'h', 'e', 'o',
                                         'r', 'a'),
                                      15),
                     AN_MEDIA_VIDEO);
    /* 0xFF then bytes that break the frame header's reserved values: not audio */
    assert_int_equal(an_media_kind_of(U8(0xFF, 0xFB, 0xF0, 0x64), 4), AN_MEDIA_UNKNOWN);
}

static void test_kind_text(void **state)
{
    const char *ascii = "hello, world\n";
    assert_int_equal(an_media_kind_of((const unsigned char *)ascii, strlen(ascii)), AN_MEDIA_TEXT);
    const char *cjk = "你好，世界 😀";
    assert_int_equal(an_media_kind_of((const unsigned char *)cjk, strlen(cjk)), AN_MEDIA_TEXT);
    /* cut inside the last character (the head of a longer file): still text */
    for (size_t cut = 1; cut <= 3; cut++)
        assert_int_equal(an_media_kind_of((const unsigned char *)cjk, strlen(cjk) - cut),
                         AN_MEDIA_TEXT);
    /* "BM" starts many texts; without a bitmap header it is text */
    const char *bm = "BMW makes cars and this line is long enough.";
    assert_int_equal(an_media_kind_of((const unsigned char *)bm, strlen(bm)), AN_MEDIA_TEXT);
    /* a NUL byte, a stray continuation byte, an overlong form: not text */
    assert_int_equal(an_media_kind_of(U8('a', 0, 'b'), 3), AN_MEDIA_UNKNOWN);
    assert_int_equal(an_media_kind_of(U8('a', 0x80, 'b'), 3), AN_MEDIA_UNKNOWN);
    assert_int_equal(an_media_kind_of(U8('a', 0xC0, 0xAF), 3), AN_MEDIA_UNKNOWN);
    /* a lead byte cut at the end that could never start a valid character */
    assert_int_equal(an_media_kind_of(U8('a', 0xF5), 2), AN_MEDIA_UNKNOWN);
    assert_int_equal(an_media_kind_of(U8('a', 0xE0, 0x80), 3), AN_MEDIA_UNKNOWN);
    /* an invalid byte before a truncated tail is still caught */
    assert_int_equal(an_media_kind_of(U8(0xFF, 'a', 0xE4, 0xBD), 4), AN_MEDIA_UNKNOWN);
    assert_int_equal(an_media_kind_of(NULL, 0), AN_MEDIA_UNKNOWN);
    assert_string_equal(an_media_kind_name(AN_MEDIA_TEXT), "text");
    assert_string_equal(an_media_kind_name(AN_MEDIA_UNKNOWN), "unknown");
}

static void test_sniff_file(void **state)
{
    an_err err;
    an_err_clear(&err);
    assert_int_equal(an_media_sniff_file(tl_write_bytes("photo.txt", png, sizeof png), &err),
                     AN_MEDIA_IMAGE);
    assert_int_equal(an_media_sniff_file(tl_write_bytes("clip.bin", mp4, sizeof mp4), &err),
                     AN_MEDIA_VIDEO);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nope.png", tl_dir());
    assert_int_equal(an_media_sniff_file(missing, &err), AN_MEDIA_UNKNOWN);
    assert_int_equal(err.code, AN_EIO);
    assert_string_equal(err.where, missing);
}

/* ---- sizes -------------------------------------------------------------------------- */

static void expect_size(const char *name, const unsigned char *b, size_t n, int w, int h)
{
    an_err err;
    an_err_clear(&err);
    int gw = -1, gh = -1;
    const char *path = tl_write_bytes(name, b, n);
    int rc = an_media_image_size(path, &gw, &gh, &err);
    if (rc != 0) fail_msg("%s: %s", name, err.msg);
    assert_int_equal(gw, w);
    assert_int_equal(gh, h);
}

static void test_sizes(void **state)
{
    expect_size("a.png", png, sizeof png, 3, 2);
    expect_size("a.jpg", jpeg, sizeof jpeg, 7, 5);
    expect_size("a.gif", gif, sizeof gif, 10, 20);
    expect_size("a.bmp", bmp_topdown, sizeof bmp_topdown, 4, 3);
    expect_size("b.bmp", bmp_core, sizeof bmp_core, 9, 8);
    expect_size("a.webp", webp_vp8, sizeof webp_vp8, 320, 240);
    expect_size("b.webp", webp_vp8l, sizeof webp_vp8l, 100, 50);
    expect_size("c.webp", webp_vp8x, sizeof webp_vp8x, 2000, 1000);
    expect_size("a.tif", tiff_le, sizeof tiff_le, 640, 480);
    expect_size("b.tif", tiff_be, sizeof tiff_be, 1024, 768);
}

/* A JPEG whose frame header comes after a large APP segment (beyond any fixed head). */
static void test_jpeg_far_frame(void **state)
{
    size_t app = 60000, n = 4 + app + sizeof jpeg - 2;
    unsigned char *b = calloc(1, n);
    b[0] = 0xFF;
    b[1] = 0xD8;
    b[2] = 0xFF;
    b[3] = 0xE1;
    b[4] = (unsigned char)(app >> 8);
    b[5] = (unsigned char)app;
    memcpy(b + 4 + app, jpeg + 2, sizeof jpeg - 2);
    expect_size("far.jpg", b, n, 7, 5);
    free(b);
}

static void expect_damaged(const char *name, const unsigned char *b, size_t n, const char *word)
{
    an_err err;
    an_err_clear(&err);
    int w = -1, h = -1;
    const char *path = tl_write_bytes(name, b, n);
    int rc = an_media_image_size(path, &w, &h, &err);
    if (rc != -AN_EINVAL) fail_msg("%s: expected AN_EINVAL, got %d (%dx%d)", name, rc, w, h);
    assert_string_equal(err.where, path);
    if (!strstr(err.msg, word)) fail_msg("%s: message lacks \"%s\": %s", name, word, err.msg);
    assert_int_equal(w, -1); /* outputs untouched on failure */
}

static void test_damaged(void **state)
{
    expect_damaged("short.png", png, 16, "PNG");
    unsigned char idat[sizeof png];
    memcpy(idat, png, sizeof png);
    memcpy(idat + 12, "IDAT", 4);
    expect_damaged("idat.png", idat, sizeof idat, "IHDR");
    unsigned char zero[sizeof png];
    memcpy(zero, png, sizeof png);
    memset(zero + 16, 0, 4);
    expect_damaged("zero.png", zero, sizeof zero, "size");

    expect_damaged("sos.jpg", U8(0xFF, 0xD8, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0), 12,
                   "before any frame");
    expect_damaged("cut.jpg", jpeg, 12, "JPEG");
    expect_damaged("len.jpg", U8(0xFF, 0xD8, 0xFF, 0xE1, 0, 1, 0, 0), 8, "length");
    expect_damaged("sof.jpg", U8(0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0), 8, "cut short");
    expect_damaged("nomarker.jpg", U8(0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0x12, 0x34), 10,
                   "marker");

    expect_damaged("cut.gif", gif, 8, "GIF");
    unsigned char bmp0[sizeof bmp_topdown];
    memcpy(bmp0, bmp_topdown, sizeof bmp0);
    memset(bmp0 + 18, 0, 4);
    expect_damaged("zero.bmp", bmp0, sizeof bmp0, "BMP");
    expect_damaged("cut.bmp", bmp_topdown, 20, "BMP");

    unsigned char vp8z[sizeof webp_vp8];
    memcpy(vp8z, webp_vp8, sizeof vp8z);
    vp8z[15] = 'Z';
    expect_damaged("z.webp", vp8z, sizeof vp8z, "WebP");
    expect_damaged("cut.webp", webp_vp8x, 24, "WebP");
    unsigned char nostart[sizeof webp_vp8];
    memcpy(nostart, webp_vp8, sizeof nostart);
    nostart[23] = 0;
    expect_damaged("nostart.webp", nostart, sizeof nostart, "start code");

    unsigned char far_ifd[sizeof tiff_le];
    memcpy(far_ifd, tiff_le, sizeof far_ifd);
    far_ifd[7] = 0x7F; /* IFD offset far beyond the end */
    expect_damaged("far.tif", far_ifd, sizeof far_ifd, "outside");
    expect_damaged("noheight.tif", tiff_le, 22, "TIFF"); /* second entry cut off */
    unsigned char ascii_w[sizeof tiff_le];
    memcpy(ascii_w, tiff_le, sizeof ascii_w);
    ascii_w[12] = 2; /* ImageWidth as ASCII */
    expect_damaged("ascii.tif", ascii_w, sizeof ascii_w, "SHORT nor LONG");
    unsigned char one_tag[sizeof tiff_le];
    memcpy(one_tag, tiff_le, sizeof one_tag);
    one_tag[8] = 1; /* only ImageWidth */
    expect_damaged("onetag.tif", one_tag, sizeof one_tag, "missing");

    expect_damaged("sound.wav", wav, sizeof wav, "not a PNG");
    expect_damaged("empty.png", U8(0), 0, "not a PNG");
}

static void test_size_missing_file(void **state)
{
    an_err err;
    an_err_clear(&err);
    int w, h;
    assert_int_equal(an_media_image_size("/nonexistent/x.png", &w, &h, &err), -AN_EIO);
    assert_string_equal(err.where, "/nonexistent/x.png");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_images),      cmocka_unit_test(test_kind_audio_video),
        cmocka_unit_test(test_kind_text),        cmocka_unit_test(test_sniff_file),
        cmocka_unit_test(test_sizes),            cmocka_unit_test(test_jpeg_far_frame),
        cmocka_unit_test(test_damaged),          cmocka_unit_test(test_size_missing_file),
    };
    return cmocka_run_group_tests(tests, tl_setup, tl_teardown);
}
