/* Scaffolding shared by the format unit tests: a temporary folder for each test group, helpers
 * that write and read files in it, an import sink that keeps what a reader produced as JSON so
 * tests can assert on it, and a driver that exports rows through a folder format.
 *
 * Everything here is static inline (no -Wunused-function when a test uses only part of it),
 * and the file is not named test_*.c, so CMake does not build it as a test of its own. */
#ifndef ANNOT_TESTLIB_H
#define ANNOT_TESTLIB_H

#include <ftw.h>
#include <limits.h>
#include <math.h>
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

#include "base/buf.h"
#include "base/json.h"
#include "formats/format.h"

/* ---- the group's temporary folder --------------------------------------------------- */

/* The folder tl_setup made, as a real path (no symlinks), so that it compares equal to the
 * paths readers resolve. Empty before tl_setup and after tl_teardown. */
static inline char *tl_dir(void)
{
    static char dir[PATH_MAX];
    return dir;
}

/* Group setup for cmocka_run_group_tests: makes a fresh folder under /tmp. */
static inline int tl_setup(void **state)
{
    char made[] = "/tmp/annot-test-XXXXXX";
    if (!mkdtemp(made)) return -1;
    if (!realpath(made, tl_dir())) {
        rmdir(made);
        return -1;
    }
    return 0;
}

static inline int tl_remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path) == 0 ? 0 : -1;
}

/* Removes dir and everything in it. Links are removed, never followed (FTW_PHYS), and
 * folders after their contents (FTW_DEPTH); no shell is involved. */
static inline int tl_remove_tree(const char *dir)
{
    int rc = nftw(dir, tl_remove_one, 16, FTW_DEPTH | FTW_PHYS);
    if (rc != 0) fprintf(stderr, "teardown: cannot remove all of %s\n", dir);
    return rc == 0 ? 0 : -1;
}

/* Group teardown: removes the folder tl_setup made. */
static inline int tl_teardown(void **state)
{
    if (!tl_dir()[0]) return 0;
    int rc = tl_remove_tree(tl_dir());
    tl_dir()[0] = '\0';
    return rc;
}

/* ---- a workspace of its own -------------------------------------------------------------- */

/* Makes a fresh folder /tmp/annot-NAME-XXXXXX (into dir) and opens a new workspace file in it
 * (its path into path, the handle into *s). For store tests that need one workspace per test. */
static inline int tl_workspace_open(const char *name, char *dir, size_t dir_cap, char *path,
                                    size_t path_cap, an_store **s)
{
    snprintf(dir, dir_cap, "/tmp/annot-%s-XXXXXX", name);
    if (!mkdtemp(dir)) return -1;
    snprintf(path, path_cap, "%s/ws.annot", dir);
    an_err err;
    if (an_store_open(path, s, &err)) {
        fprintf(stderr, "open %s: %s\n", path, err.msg);
        return -1;
    }
    return 0;
}

/* Closes s and removes the folder tl_workspace_open made. */
static inline int tl_workspace_close(const char *dir, an_store *s)
{
    an_store_close(s);
    return tl_remove_tree(dir);
}

/* ---- files in it -------------------------------------------------------------------- */

/* tl_dir()/name, or name itself when it is an absolute path. The result lives in one of four
 * static buffers used in turn, so up to four results can be held at once. */
static inline const char *tl_path(const char *name)
{
    static char path[4][1024];
    static int k;
    if (name[0] == '/') return name;
    /* Joined apart first: GCC cannot tell name is never one of these buffers (-Wrestrict). */
    char joined[sizeof path[0]];
    int n = snprintf(joined, sizeof joined, "%s/%s", tl_dir(), name);
    if (n < 0 || (size_t)n >= sizeof joined) fail_msg("path too long: %s/%s", tl_dir(), name);
    k = (k + 1) % 4;
    memcpy(path[k], joined, (size_t)n + 1);
    return path[k];
}

static inline void tl_make_dir(const char *name)
{
    assert_int_equal(mkdir(tl_path(name), 0755), 0);
}

/* Writes n bytes to tl_path(name), replacing the file; returns that path. */
static inline const char *tl_write_bytes(const char *name, const void *bytes, size_t n)
{
    const char *path = tl_path(name);
    FILE *f = fopen(path, "wb");
    if (!f) fail_msg("cannot create %s", path);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    return path;
}

static inline const char *tl_write_file(const char *name, const char *text)
{
    return tl_write_bytes(name, text, strlen(text));
}

/* The whole file at path, NUL-terminated (caller frees). */
static inline char *tl_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    an_buf b = AN_BUF_INIT;
    an_buf_init(&b);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        an_buf_add(&b, tmp, n);
    assert_false(ferror(f));
    fclose(f);
    return an_buf_detach(&b);
}

/* ---- an import sink that keeps what it got ------------------------------------------ */

typedef struct tl_sink {
    json_t *records;      /* [{"where", "data", and "meta", "annotations", "predictions",
                             "created_at", "updated_at" when the record has them}] */
    json_t *rejects;      /* [{"where", "reason"}] */
    uint64_t done, total; /* the last progress report */
    int progress_calls;
} tl_sink;

static inline void tl_sink_init(tl_sink *s)
{
    memset(s, 0, sizeof *s);
    s->records = json_array();
    s->rejects = json_array();
}

static inline void tl_sink_free(tl_sink *s)
{
    json_decref(s->records);
    json_decref(s->rejects);
}

/* Copies, not references: the reader owns rec and may reuse its JSON after the call. */
static inline int tl_on_record(void *ud, const an_record *rec, an_err *err)
{
    tl_sink *s = ud;
    assert_non_null(rec->data);
    assert_non_null(rec->where);
    json_t *o = json_object();
    json_object_set_new(o, "where", json_string(rec->where));
    json_object_set_new(o, "data", json_deep_copy(rec->data));
    if (rec->meta) json_object_set_new(o, "meta", json_deep_copy(rec->meta));
    if (rec->annotations) json_object_set_new(o, "annotations", json_deep_copy(rec->annotations));
    if (rec->predictions) json_object_set_new(o, "predictions", json_deep_copy(rec->predictions));
    if (rec->created_at) json_object_set_new(o, "created_at", json_string(rec->created_at));
    if (rec->updated_at) json_object_set_new(o, "updated_at", json_string(rec->updated_at));
    json_array_append_new(s->records, o);
    return 0;
}

static inline int tl_on_reject(void *ud, const char *where, const char *reason)
{
    tl_sink *s = ud;
    json_t *o = json_object();
    json_object_set_new(o, "where", json_string(where));
    json_object_set_new(o, "reason", json_string(reason));
    json_array_append_new(s->rejects, o);
    return 0;
}

/* Progress must never go back. */
static inline void tl_on_progress(void *ud, uint64_t done, uint64_t total)
{
    tl_sink *s = ud;
    assert_true(done >= s->done);
    s->done = done;
    s->total = total;
    s->progress_calls++;
}

/* Reject i as "where|reason", for prefix and substring checks (static buffer, one at a
 * time). */
static inline const char *tl_reject_line(const tl_sink *s, size_t i)
{
    static char line[2048];
    const json_t *o = json_array_get(s->rejects, i);
    if (!o) fail_msg("no reject %zu (there are %zu)", i, json_array_size(s->rejects));
    snprintf(line, sizeof line, "%s|%s", an_json_str(o, "where"), an_json_str(o, "reason"));
    return line;
}

/* Record i of s, the result list of its first annotation, and a number in a result item's
 * "value" (NAN when it is missing or not a number). */
static inline const json_t *tl_record(const tl_sink *s, size_t i)
{
    return json_array_get(s->records, i);
}

static inline const json_t *tl_result_of(const tl_sink *s, size_t i)
{
    const json_t *anns = json_object_get(tl_record(s, i), "annotations");
    return json_object_get(json_array_get(anns, 0), "result");
}

static inline double tl_value_num(const json_t *item, const char *key)
{
    double v = NAN;
    an_json_number(json_object_get(json_object_get(item, "value"), key), &v);
    return v;
}

/* ---- exporting ---------------------------------------------------------------------- */

/* A task to export: its data as JSON text, the result list of its one annotation (NULL: no
 * annotation) and its meta as JSON text (NULL: none). */
typedef struct tl_row {
    const char *data;
    const char *result;
    const char *meta;
} tl_row;

/* Exports rows through the folder format f into dir (made here), the way the exporter hands
 * stored tasks over: export_begin, export_task for each row until one fails, export_end
 * (told of the failure). Returns the first failure's code, else export_end's. */
static inline int tl_export_to_dir(const an_format *f, const an_config *cfg, const tl_row *rows,
                                   size_t n, const char *dir, an_err *err)
{
    assert_int_equal(mkdir(dir, 0755), 0);
    an_export_ctx ctx = {.config = cfg, .project_name = "p", .out_dir = dir};
    an_buf_init(&ctx.scratch);
    an_err_clear(err);
    int rc = f->export_begin(&ctx, err);
    assert_int_equal(rc, 0);
    for (size_t i = 0; i < n && rc == 0; i++) {
        an_annotation_row ann = {.id = 1, .result = rows[i].result};
        an_task_row row = {.id = (int64_t)i + 1,
                           .data = rows[i].data,
                           .data_len = strlen(rows[i].data),
                           .meta = rows[i].meta,
                           .annotations = &ann,
                           .n_annotations = rows[i].result ? 1 : 0};
        rc = f->export_task(&ctx, &row, err);
    }
    an_err end_err;
    int end = f->export_end(&ctx, rc != 0, rc ? &end_err : err);
    if (rc == 0) rc = end;
    an_buf_free(&ctx.scratch);
    return rc;
}

#endif
