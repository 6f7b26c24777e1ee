/* Compact embeddings: float16 conversion (every half value round-trips; rounding to nearest
 * even), .npy headers (the three element types; errors name what was found), storing and
 * pairing by merge, and the cosine. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/f16.h"
#include "formats/npy.h"
#include "preanno/similarity.h"
#include "store/embeddings.h"
#include "testlib.h"

static void test_half_round_trip(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < 65536; i++) {
        uint16_t h = (uint16_t)i;
        float f = an_f16_to_f32(h);
        if (isnan(f)) {
            assert_true(isnan(an_f16_to_f32(an_f32_to_f16(f))));
            continue;
        }
        if (an_f32_to_f16(f) != h) fail_msg("half 0x%04x -> %g -> 0x%04x", h, f, an_f32_to_f16(f));
    }
    assert_int_equal(an_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(an_f32_to_f16(-2.0f), 0xc000);
    assert_int_equal(an_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(an_f32_to_f16(1e6f), 0x7c00);       /* overflow: infinity */
    assert_int_equal(an_f32_to_f16(5.9604645e-8f), 0x0001); /* smallest subnormal */
    /* 1 + 2^-11 lies halfway between 1 and the next half: ties go to even (1). */
    assert_int_equal(an_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
    assert_int_equal(an_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);
}

static void write_npy(const char *path, const char *descr, const char *shape, const void *data,
                      size_t bytes)
{
    char header[256];
    int n = snprintf(header, sizeof header,
                     "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    unsigned short hlen = (unsigned short)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, fp);
    fputc(hlen & 0xff, fp);
    fputc(hlen >> 8, fp);
    fwrite(header, 1, (size_t)n, fp);
    for (size_t i = 0; i < pad; i++) fputc(' ', fp);
    fputc('\n', fp);
    fwrite(data, 1, bytes, fp);
    fclose(fp);
}

static void test_npy(void **state)
{
    (void)state;
    float f32[6] = {1, 2, 3, -4, 5.5f, 0};
    double f64[6] = {1, 2, 3, -4, 5.5, 0};
    uint16_t f16[6];
    for (int i = 0; i < 6; i++) f16[i] = an_f32_to_f16(f32[i]);
    const char *descr[3] = {"<f4", "<f8", "<f2"};
    const void *data[3] = {f32, f64, f16};
    size_t bytes[3] = {sizeof f32, sizeof f64, sizeof f16};
    for (int k = 0; k < 3; k++) {
        const char *path = tl_path("m.npy");
        write_npy(path, descr[k], "(2, 3)", data[k], bytes[k]);
        an_npy n;
        an_err e;
        assert_int_equal(an_npy_open(path, &n, &e), 0);
        assert_int_equal(n.rows, 2);
        assert_int_equal(n.dim, 3);
        float row[3];
        assert_int_equal(an_npy_row(&n, row, &e), 1);
        assert_true(row[0] == 1 && row[1] == 2 && row[2] == 3);
        assert_int_equal(an_npy_row(&n, row, &e), 1);
        assert_true(row[0] == -4 && row[1] == 5.5f && row[2] == 0);
        assert_int_equal(an_npy_row(&n, row, &e), 0);
        an_npy_close(&n);
    }
    an_npy n;
    an_err e;
    const char *path = tl_path("bad.npy");
    write_npy(path, ">f4", "(2, 3)", f32, sizeof f32);
    assert_int_equal(an_npy_open(path, &n, &e), -AN_EINVAL);
    assert_non_null(strstr(e.msg, "little-endian"));
    write_npy(path, "<f4", "(1, 2, 3)", f32, sizeof f32);
    assert_int_equal(an_npy_open(path, &n, &e), -AN_EINVAL);
    write_npy(path, "<f4", "(4, 3)", f32, sizeof f32); /* says 4 rows, holds 2 */
    assert_int_equal(an_npy_open(path, &n, &e), 0);
    float row[3];
    assert_int_equal(an_npy_row(&n, row, &e), 1);
    assert_int_equal(an_npy_row(&n, row, &e), 1);
    assert_int_equal(an_npy_row(&n, row, &e), -AN_EIO);
    an_npy_close(&n);
}

typedef struct seen {
    int64_t ids[16];
    double cos[16];
    int n;
    an_cos_scratch scratch;
} seen;

static int collect(void *ud, const an_emb_pair *p)
{
    seen *s = ud;
    s->ids[s->n] = p->task_id;
    s->cos[s->n++] = an_cosine(p, &s->scratch);
    return 0;
}

static int64_t add_task(an_store *s, int64_t pid, int i)
{
    char data[64];
    int n = snprintf(data, sizeof data, "{\"text\":\"task %d\"}", i);
    an_task_in t = {.project_id = pid, .data = data, .data_len = (size_t)n};
    an_hash(data, (size_t)n, t.hash);
    int64_t id = 0;
    an_err e;
    assert_int_equal(an_store_begin(s, &e), 0);
    assert_int_equal(an_store_task_insert(s, &t, &id, &e), 0);
    assert_int_equal(an_store_commit(s, &e), 0);
    /* found again by its content hash, as embeddings from .npy are */
    int64_t again = 0;
    assert_int_equal(an_store_task_by_hash(s, pid, t.hash, &again, &e), 0);
    assert_int_equal(again, id);
    return id;
}

static void test_store_and_pairs(void **state)
{
    (void)state;
    char dir[256], path[300];
    an_store *s = NULL;
    assert_int_equal(tl_workspace_open("emb", dir, sizeof dir, path, sizeof path, &s), 0);
    an_err e;
    int64_t pid = 0;
    assert_int_equal(an_store_project_create(s, "p", "<View><Text name=\"t\" value=\"$text\"/></View>",
                                             NULL, &pid, &e), 0);
    int64_t t[4];
    for (int i = 0; i < 4; i++) t[i] = add_task(s, pid, i);
    uint8_t nowhere[AN_HASH_BYTES] = {1, 2, 3};
    int64_t none = -1;
    assert_int_equal(an_store_task_by_hash(s, pid, nowhere, &none, &e), 0);
    assert_int_equal(none, 0);
    float x[3] = {1, 0, 0}, y[3] = {1, 1, 0}, z[3] = {0, 0, 0}, w[4] = {1, 2, 3, 4};
    assert_int_equal(an_store_embedding_put(s, t[0], "img", AN_EMB_F32, x, 3, &e), 0);
    assert_int_equal(an_store_embedding_put(s, t[0], "txt", AN_EMB_F16, y, 3, &e), 0);
    /* t[1] has only one field: not a pair */
    assert_int_equal(an_store_embedding_put(s, t[1], "img", AN_EMB_F32, x, 3, &e), 0);
    assert_int_equal(an_store_embedding_put(s, t[2], "img", AN_EMB_F16, x, 3, &e), 0);
    assert_int_equal(an_store_embedding_put(s, t[2], "txt", AN_EMB_F32, z, 3, &e), 0);
    assert_int_equal(an_store_embedding_put(s, t[3], "txt", AN_EMB_F32, w, 4, &e), 0);
    assert_int_equal(an_store_embedding_put(s, t[3], "img", AN_EMB_F32, x, 3, &e), 0);
    /* replacing keeps one row */
    assert_int_equal(an_store_embedding_put(s, t[0], "img", AN_EMB_F32, x, 3, &e), 0);
    assert_int_equal(an_store_embedding_put(s, 99999, "img", AN_EMB_F32, x, 3, &e), -AN_ENOTFOUND);
    int64_t n = 0;
    assert_int_equal(an_store_embedding_count(s, pid, "img", &n, &e), 0);
    assert_int_equal(n, 4);
    seen got = {0};
    assert_int_equal(an_store_embedding_pairs(s, pid, "img", "txt", collect, &got, &e), 0);
    assert_int_equal(got.n, 3);
    assert_int_equal(got.ids[0], t[0]);
    assert_true(fabs(got.cos[0] - 1 / sqrt(2)) < 1e-6);
    assert_int_equal(got.ids[1], t[2]);
    assert_true(isnan(got.cos[1])); /* a zero vector */
    assert_int_equal(got.ids[2], t[3]);
    assert_true(isnan(got.cos[2])); /* dimensions differ */
    an_cos_scratch_free(&got.scratch);
    assert_int_equal(tl_workspace_close(dir, s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half_round_trip),
        cmocka_unit_test_setup_teardown(test_npy, tl_setup, tl_teardown),
        cmocka_unit_test(test_store_and_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
