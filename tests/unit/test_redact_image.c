/* Image redaction: an image with EXIF GPS and a comment (written by Pillow in the test) comes
 * out without any metadata; the detected faces' pixels are blurred or pixelated (their
 * variance drops) and pixels away from them stay identical (PNG output, so no re-encoding
 * noise). Read back with Pillow (tests/data/cascade/check_redacted.py). */
#include "testlib.h"

#include "comply/redact_image.h"
#include "preanno/detect.h"

#define MESSI "/usr/share/doc/opencv-doc/examples/data/messi5.jpg"

static char script[PATH_MAX];
static char gps_jpg[PATH_MAX];

/* Runs the checker with args and returns its first output line (static buffer). */
static const char *check(const char *args)
{
    static char line[512];
    an_buf cmd;
    an_buf_init(&cmd);
    an_buf_addf(&cmd, "/usr/bin/python3 '%s' %s", script, args);
    FILE *f = popen(cmd.p, "r");
    assert_non_null(f);
    line[0] = '\0';
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_equal(pclose(f), 0);
    an_buf_free(&cmd);
    return line;
}

static int setup(void **state)
{
    if (tl_setup(state)) return -1;
    snprintf(gps_jpg, sizeof gps_jpg, "%s/with_gps.jpg", tl_dir());
    char args[PATH_MAX * 2];
    snprintf(args, sizeof args, "gps '%s' '%s'", MESSI, gps_jpg);
    const char *out = check(args);
    return strstr(out, "48.0") ? 0 : -1;
}

static void metadata_is_removed(void **state)
{
    char args[PATH_MAX * 2];
    snprintf(args, sizeof args, "meta '%s'", gps_jpg);
    /* The input has EXIF with 4 GPS fields and a comment, */
    assert_string_equal(check(args), "exif 2 gps 4 make 1 comment 1 xmp 0 icc 0\n");
    an_image_redactor *r;
    an_err e;
    an_err_clear(&e);
    an_redact_image_opts o = {.faces = true};
    assert_int_equal(an_image_redactor_open(&o, &r, &e), 0);
    const char *outs[] = {"clean.jpg", "clean.png", "clean.webp"};
    for (size_t i = 0; i < 3; i++) {
        char out[PATH_MAX];
        snprintf(out, sizeof out, "%s/%s", tl_dir(), outs[i]);
        an_redact_image_result res;
        assert_int_equal(an_redact_image(r, gps_jpg, out, &res, &e), 0);
        assert_true(res.faces >= 1);
        assert_int_equal(res.plates, 0);
        assert_int_equal(res.width, 548);
        /* the copies have none. libvips's WebP writer always adds an EXIF block of its own
         * (orientation, resolution, size), but nothing of the input's. */
        snprintf(args, sizeof args, "meta '%s'", out);
        const char *m = check(args);
        if (i < 2)
            assert_string_equal(m, "exif 0 gps 0 make 0 comment 0 xmp 0 icc 0\n");
        else
            assert_non_null(strstr(m, " gps 0 make 0 comment 0 xmp 0 icc 0\n"));
    }
    /* The input itself is never the output. */
    an_redact_image_result res;
    assert_int_equal(an_redact_image(r, gps_jpg, gps_jpg, &res, &e), -AN_EINVAL);
    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/none.jpg", tl_dir());
    assert_int_equal(an_redact_image(r, missing, "/tmp/x.png", &res, &e), -AN_EINVAL);
    an_image_redactor_close(r);
}

static void faces_change_and_the_rest_stays(an_redact_mode mode, const char *name)
{
    an_box *b;
    size_t nb;
    an_err e;
    an_err_clear(&e);
    assert_int_equal(an_detect(gps_jpg, AN_DETECT_FACE, &b, &nb, &e), 0);
    assert_true(nb >= 1);
    an_image_redactor *r;
    an_redact_image_opts o = {.faces = true, .mode = mode};
    assert_int_equal(an_image_redactor_open(&o, &r, &e), 0);
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/%s.png", tl_dir(), name);
    an_redact_image_result res;
    assert_int_equal(an_redact_image(r, gps_jpg, out, &res, &e), 0);
    assert_int_equal(res.faces, nb);
    an_image_redactor_close(r);
    for (size_t k = 0; k < nb; k++) {
        /* Box k first (the one whose variance is measured), then all boxes as the mask. */
        an_buf args;
        an_buf_init(&args);
        an_buf_addf(&args, "pixels '%s' '%s' %d,%d,%d,%d", gps_jpg, out, b[k].x, b[k].y,
                    b[k].width, b[k].height);
        for (size_t j = 0; j < nb; j++)
            an_buf_addf(&args, " %d,%d,%d,%d", b[j].x, b[j].y, b[j].width, b[j].height);
        double vin, vout;
        int maxdiff, npix;
        assert_int_equal(sscanf(check(args.p), "inside %lf %lf outside %d %d", &vin, &vout,
                                &maxdiff, &npix),
                         4);
        print_message("%s: box %zu variance %.1f -> %.1f; %d far pixels, max diff %d\n", name,
                      k, vin, vout, npix, maxdiff);
        assert_true(vout < vin / 2);
        assert_true(npix > 548 * 342 / 2);
        assert_int_equal(maxdiff, 0);
        an_buf_free(&args);
    }
    free(b);
}

static void blur(void **state)
{
    faces_change_and_the_rest_stays(AN_REDACT_BLUR, "blurred");
}

static void pixelate(void **state)
{
    faces_change_and_the_rest_stays(AN_REDACT_PIXELATE, "pixelated");
}

int main(void)
{
    const char *data = getenv("ANNOT_TESTDATA");
    snprintf(script, sizeof script, "%s/cascade/check_redacted.py", data ? data : "tests/data");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(metadata_is_removed),
        cmocka_unit_test(blur),
        cmocka_unit_test(pixelate),
    };
    return cmocka_run_group_tests(tests, setup, tl_teardown);
}
