/* The provenance ledger: appending and verifying, each way an attacker with the database (but
 * not the key file) can tamper with it, the key file's permissions, annotation groups, the
 * import's entries and licence policy, and export manifests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/json.h"
#include "comply/ledger.h"
#include "comply/provenance.h"
#include "formats/export.h"
#include "formats/import.h"
#include "store/provenance.h"
#include "store/settings.h"
#include "store/store.h"
#include "testlib.h"

static const char *CONFIG = "<View><Text name=\"text\" value=\"$text\"/>"
                            "<Choices name=\"sentiment\" toName=\"text\">"
                            "<Choice value=\"pos\"/><Choice value=\"neg\"/></Choices></View>";

typedef struct fixture {
    char dir[PATH_MAX];
    char path[PATH_MAX];
    an_store *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (tl_workspace_open("ledger", f->dir, sizeof f->dir, f->path, sizeof f->path, &f->s))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int rc = tl_workspace_close(f->dir, f->s);
    free(f);
    return rc;
}

static int64_t make_project(an_store *s, const char *name, const char *settings)
{
    int64_t id = 0;
    an_err err;
    int rc = an_store_project_create(s, name, CONFIG, settings, &id, &err);
    if (rc) fprintf(stderr, "project_create: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return id;
}

static int64_t put_task(an_store *s, int64_t pid, const char *text)
{
    char data[256];
    int n = snprintf(data, sizeof data, "{\"text\":\"%s\"}", text);
    an_task_in t = {.project_id = pid, .data = data, .data_len = (size_t)n};
    an_hash(data, (size_t)n, t.hash);
    int64_t id = 0;
    an_err err;
    assert_int_equal(an_store_task_insert(s, &t, &id, &err), 0);
    return id;
}

/* Appends an entry {"x": x} about the given tasks in a transaction of its own. */
static void append(an_store *s, int64_t pid, int x, const int64_t *tasks, size_t n)
{
    an_err err;
    an_err_clear(&err);
    assert_int_equal(an_store_begin(s, &err), 0);
    json_t *body = json_pack("{s:i}", "x", x);
    int rc = an_ledger_append(s, "test", pid, body, tasks, n, &err);
    json_decref(body);
    if (rc) fprintf(stderr, "append: %s: %s\n", err.where, err.msg);
    assert_int_equal(an_store_end(s, rc, &err), 0);
}

static an_ledger_check verify(an_store *s, const uint8_t *pinned)
{
    an_ledger_check k;
    an_err err;
    an_err_clear(&err);
    int rc = an_ledger_verify(s, pinned, &k, &err);
    if (rc) fprintf(stderr, "verify: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return k;
}

/* A workspace with entries 1..5 (tasks 1 and 2 named by entries 2 and 4). */
static void five_entries(fixture *f)
{
    int64_t pid = make_project(f->s, "p", NULL);
    an_err err;
    assert_int_equal(an_store_begin(f->s, &err), 0);
    int64_t t1 = put_task(f->s, pid, "one"), t2 = put_task(f->s, pid, "two");
    assert_int_equal(an_store_commit(f->s, &err), 0);
    append(f->s, pid, 1, NULL, 0);
    append(f->s, pid, 2, &t1, 1);
    append(f->s, pid, 3, NULL, 0);
    int64_t both[3] = {t2, t1, t2};
    append(f->s, pid, 4, both, 3);
    append(f->s, 0, 5, NULL, 0);
}

static void test_append_and_verify(void **state)
{
    fixture *f = *state;
    an_ledger_check k = verify(f->s, NULL);
    assert_int_equal(k.problem, AN_LEDGER_OK); /* an empty ledger is fine */
    assert_int_equal(k.entries, 0);
    five_entries(f);
    k = verify(f->s, NULL);
    assert_int_equal(k.problem, AN_LEDGER_OK);
    assert_int_equal(k.entries, 5);
    assert_int_equal(k.last_seq, 5);
    assert_string_equal(k.key_source, "key file");

    /* The public key is in the workspace and is the key file's. */
    char *stored = NULL;
    an_err err;
    assert_int_equal(an_store_setting_get(f->s, AN_LEDGER_SETTING_PK, &stored, &err), 0);
    char hex[65];
    an_ledger_hex(k.pk, sizeof k.pk, hex);
    assert_non_null(stored);
    assert_string_equal(stored, hex);
    free(stored);

    /* The key file: beside the workspace, the owner's alone. */
    char key[PATH_MAX];
    snprintf(key, sizeof key, "%s.key", f->path);
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* Appending outside a transaction is refused. */
    json_t *body = json_object();
    assert_int_equal(an_ledger_append(f->s, "test", 0, body, NULL, 0, &err), -AN_EINTERNAL);
    /* And an entry rolled back with its transaction leaves no trace. */
    assert_int_equal(an_store_begin(f->s, &err), 0);
    assert_int_equal(an_ledger_append(f->s, "test", 0, body, NULL, 0, &err), 0);
    an_store_rollback(f->s);
    json_decref(body);
    k = verify(f->s, NULL);
    assert_int_equal(k.problem, AN_LEDGER_OK);
    assert_int_equal(k.last_seq, 5);
}

/* ---- tampering: a copy of the workspace edited with sqlite3, as an attacker would -------- */

static void copy_file(const char *from, const char *to, mode_t mode)
{
    char *text = NULL;
    FILE *in = fopen(from, "rb");
    assert_non_null(in);
    an_buf b = AN_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0) an_buf_add(&b, chunk, n);
    fclose(in);
    FILE *out = fopen(to, "wb");
    assert_non_null(out);
    if (b.len) assert_int_equal(fwrite(b.p, 1, b.len, out), b.len);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(chmod(to, mode), 0);
    an_buf_free(&b);
    free(text);
}

/* Closes f's workspace, copies it (and its key file) to copy.annot, runs sql on the copy
 * after dropping the triggers, and opens the copy as f->s. */
static void tamper(fixture *f, const char *sql)
{
    an_store_close(f->s);
    char copy[PATH_MAX + 16], key[PATH_MAX + 16], copy_key[PATH_MAX + 32];
    snprintf(copy, sizeof copy, "%s/copy.annot", f->dir);
    snprintf(key, sizeof key, "%s.key", f->path);
    snprintf(copy_key, sizeof copy_key, "%s.key", copy);
    unlink(copy);
    unlink(copy_key);
    copy_file(f->path, copy, 0644);
    copy_file(key, copy_key, 0600);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(copy, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db,
                          "DROP TRIGGER ledger_no_update; DROP TRIGGER ledger_no_delete;", NULL,
                          NULL, &msg);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fprintf(stderr, "tamper: %s\n", msg);
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_close(db);
    snprintf(f->path, sizeof f->path, "%s", copy);
    an_err err;
    assert_int_equal(an_store_open(f->path, &f->s, &err), 0);
}

static void expect_bad(fixture *f, const char *sql, an_ledger_problem p, int64_t seq)
{
    five_entries(f);
    tamper(f, sql);
    an_ledger_check k = verify(f->s, NULL);
    if (k.problem != p || k.bad_seq != seq)
        fprintf(stderr, "got %s at %lld: %s\n", an_ledger_problem_name(k.problem),
                (long long)k.bad_seq, k.message);
    assert_int_equal(k.problem, p);
    assert_int_equal(k.bad_seq, seq);
    assert_true(strlen(k.message) > 0);
}

static void test_tamper_removed(void **state)
{
    expect_bad(*state, "DELETE FROM ledger WHERE seq = 3;", AN_LEDGER_REMOVED, 3);
}

static void test_tamper_removed_first(void **state)
{
    expect_bad(*state, "DELETE FROM ledger WHERE seq = 1;", AN_LEDGER_REMOVED, 1);
}

static void test_tamper_altered(void **state)
{
    expect_bad(*state, "UPDATE ledger SET body = replace(body, '\"x\":2', '\"x\":7') WHERE seq = 2;",
               AN_LEDGER_ALTERED, 2);
}

static void test_tamper_column(void **state)
{
    /* The lookup columns are not trusted: they must agree with the signed body. */
    expect_bad(*state, "UPDATE ledger SET kind = 'export' WHERE seq = 4;", AN_LEDGER_ALTERED, 4);
}

static void test_tamper_reordered(void **state)
{
    expect_bad(*state,
               "UPDATE ledger SET seq = -2 WHERE seq = 2; UPDATE ledger SET seq = 2 WHERE seq = 3; "
               "UPDATE ledger SET seq = 3 WHERE seq = -2;",
               AN_LEDGER_REORDERED, 2);
}

static void test_tamper_prev(void **state)
{
    expect_bad(*state, "UPDATE ledger SET prev = zeroblob(32) WHERE seq = 5;",
               AN_LEDGER_REORDERED, 5);
}

/* Alters entry 3's body and recomputes its hash (which needs no key): the signature gives it
 * away. */
static void test_tamper_rehashed(void **state)
{
    fixture *f = *state;
    five_entries(f);
    tamper(f, "UPDATE ledger SET body = replace(body, '\"x\":3', '\"x\":9') WHERE seq = 3;");
    an_store_close(f->s);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT prev, body FROM ledger WHERE seq = 3", -1, &st,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    uint8_t seq_be[8] = {0, 0, 0, 0, 0, 0, 0, 3}, h[32];
    crypto_generichash_state hs;
    crypto_generichash_init(&hs, NULL, 0, 32);
    crypto_generichash_update(&hs, sqlite3_column_blob(st, 0), 32);
    crypto_generichash_update(&hs, seq_be, 8);
    crypto_generichash_update(&hs, sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1));
    crypto_generichash_final(&hs, h, 32);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE ledger SET hash = ?1 WHERE seq = 3", -1, &st,
                                        NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(st, 1, h, 32, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    an_err err;
    assert_int_equal(an_store_open(f->path, &f->s, &err), 0);
    an_ledger_check k = verify(f->s, NULL);
    assert_int_equal(k.problem, AN_LEDGER_BAD_SIG);
    assert_int_equal(k.bad_seq, 3);
}

/* The attacker re-signs the whole chain with a key of their own and puts its public key in the
 * workspace: the key file (kept apart) or a pinned key exposes it; with neither, nothing can. */
static void test_tamper_resigned(void **state)
{
    fixture *f = *state;
    five_entries(f);
    an_ledger_check before = verify(f->s, NULL);
    uint8_t pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    char hex[65];
    an_ledger_hex(pk, sizeof pk, hex);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE workspace_settings SET value = '%s' WHERE key = '%s';", hex,
             AN_LEDGER_SETTING_PK);
    tamper(f, sql);
    an_store_close(f->s);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    for (int seq = 1; seq <= 5; seq++) {
        sqlite3_stmt *st;
        char q[128];
        snprintf(q, sizeof q, "SELECT hash FROM ledger WHERE seq = %d", seq);
        assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        uint8_t sig[64];
        crypto_sign_detached(sig, NULL, sqlite3_column_blob(st, 0), 32, sk);
        sqlite3_finalize(st);
        snprintf(q, sizeof q, "UPDATE ledger SET sig = ?1 WHERE seq = %d", seq);
        assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
        sqlite3_bind_blob(st, 1, sig, 64, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    an_err err;
    assert_int_equal(an_store_open(f->path, &f->s, &err), 0);
    an_ledger_check k = verify(f->s, NULL);
    assert_int_equal(k.problem, AN_LEDGER_KEY);
    k = verify(f->s, before.pk);
    assert_int_equal(k.problem, AN_LEDGER_KEY);
    /* Appending with the real key file is refused too: it is not the workspace's key now. */
    assert_int_equal(an_store_begin(f->s, &err), 0);
    json_t *body = json_object();
    assert_int_equal(an_ledger_append(f->s, "test", 0, body, NULL, 0, &err), -AN_EINVAL);
    json_decref(body);
    an_store_rollback(f->s);
    /* Without the key file and without a pin the forgery verifies: the documented limit. */
    char key[PATH_MAX + 8];
    snprintf(key, sizeof key, "%s.key", f->path);
    assert_int_equal(unlink(key), 0);
    k = verify(f->s, NULL);
    assert_int_equal(k.problem, AN_LEDGER_OK);
    assert_string_equal(k.key_source, "workspace");
}

/* ---- the key file -------------------------------------------------------------------------- */

static void test_key_permissions(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p", NULL);
    append(f->s, pid, 1, NULL, 0);
    char key[PATH_MAX + 8];
    snprintf(key, sizeof key, "%s.key", f->path);
    an_err err;
    json_t *body = json_object();
    for (int i = 0; i < 2; i++) {
        assert_int_equal(chmod(key, i ? 0640 : 0604), 0);
        assert_int_equal(an_store_begin(f->s, &err), 0);
        assert_int_equal(an_ledger_append(f->s, "test", pid, body, NULL, 0, &err), -AN_EINVAL);
        assert_non_null(strstr(err.msg, "chmod 600"));
        an_store_rollback(f->s);
    }
    assert_int_equal(chmod(key, 0600), 0);
    /* A damaged key file is refused, not silently replaced. */
    char *text = tl_slurp(key);
    char *line = strrchr(text, '\n');
    *line = '\0';
    line = strrchr(text, '\n') + 1;
    line[5] = line[5] == 'a' ? 'b' : 'a';
    *strchr(text, '\0') = '\n';
    FILE *fp = fopen(key, "w");
    fputs(text, fp);
    fclose(fp);
    free(text);
    assert_int_equal(an_store_begin(f->s, &err), 0);
    assert_int_equal(an_ledger_append(f->s, "test", pid, body, NULL, 0, &err), -AN_EINVAL);
    an_store_rollback(f->s);
    /* Another workspace's key (or a fresh one after losing it) is not this workspace's. */
    assert_int_equal(unlink(key), 0);
    assert_int_equal(an_store_begin(f->s, &err), 0);
    assert_int_equal(an_ledger_append(f->s, "test", pid, body, NULL, 0, &err), -AN_EINVAL);
    assert_non_null(strstr(err.msg, "not the workspace's ledger key"));
    an_store_rollback(f->s);
    json_decref(body);
}

/* The signing key is kept between entries once its file has settled; a change to the file
 * after that (permissions, contents, another key) is still seen by the very next entry. */
static void test_key_cache(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p", NULL);
    append(f->s, pid, 1, NULL, 0);
    char key[PATH_MAX + 8];
    snprintf(key, sizeof key, "%s.key", f->path);
    sleep(3); /* past the settling time: the next entry keeps the key */
    append(f->s, pid, 2, NULL, 0);
    append(f->s, pid, 3, NULL, 0);
    an_err err;
    json_t *body = json_object();
    assert_int_equal(chmod(key, 0640), 0);
    assert_int_equal(an_store_begin(f->s, &err), 0);
    assert_int_equal(an_ledger_append(f->s, "test", pid, body, NULL, 0, &err), -AN_EINVAL);
    assert_non_null(strstr(err.msg, "chmod 600"));
    an_store_rollback(f->s);
    assert_int_equal(chmod(key, 0600), 0);
    append(f->s, pid, 4, NULL, 0);
    sleep(3);
    append(f->s, pid, 5, NULL, 0); /* kept again */
    /* Another key in the file's place, same size and mode: refused at once. */
    uint8_t pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    char hex[129];
    an_ledger_hex(sk, sizeof sk, hex);
    FILE *fp = fopen(key, "w");
    assert_non_null(fp);
    fprintf(fp, "# another key\n%s\n", hex);
    fclose(fp);
    assert_int_equal(chmod(key, 0600), 0);
    assert_int_equal(an_store_begin(f->s, &err), 0);
    assert_int_equal(an_ledger_append(f->s, "test", pid, body, NULL, 0, &err), -AN_EINVAL);
    assert_non_null(strstr(err.msg, "not the workspace's ledger key"));
    an_store_rollback(f->s);
    json_decref(body);
    an_ledger_check k = verify(f->s, NULL);
    assert_int_equal(k.problem, AN_LEDGER_KEY); /* the file's key is not the workspace's */
}

/* ---- annotation groups --------------------------------------------------------------------- */

typedef struct rows {
    int n;
    int64_t seq[16];
    char kind[16][16];
    char *body[16];
} rows;

static int keep_row(void *ud, const an_ledger_row *r)
{
    rows *x = ud;
    if (x->n < 16) {
        x->seq[x->n] = r->seq;
        snprintf(x->kind[x->n], sizeof x->kind[0], "%s", r->kind);
        x->body[x->n] = an_xstrndup(r->body, r->body_len);
        x->n++;
    }
    return 0;
}

static void rows_free(rows *x)
{
    for (int i = 0; i < x->n; i++) free(x->body[i]);
    x->n = 0;
}

static void test_group(void **state)
{
    fixture *f = *state;
    int64_t p1 = make_project(f->s, "p1", NULL), p2 = make_project(f->s, "p2", NULL);
    an_err err;
    assert_int_equal(an_store_begin(f->s, &err), 0);
    int64_t t1 = put_task(f->s, p1, "a"), t2 = put_task(f->s, p2, "b"), t3 = put_task(f->s, p1, "c");
    an_ledger_group *g = an_ledger_group_open(f->s);
    assert_int_equal(an_ledger_note_annotation(f->s, "create", p1, 11, t1, "[]", &err), 0);
    assert_int_equal(an_ledger_note_annotation(f->s, "create", p2, 12, t2, "[1]", &err), 0);
    assert_int_equal(an_ledger_note_annotation(f->s, "create", p1, 13, t1, "[2]", &err), 0);
    size_t mark = an_ledger_group_mark(g);
    assert_int_equal(an_ledger_note_annotation(f->s, "create", p1, 14, t3, "[3]", &err), 0);
    an_ledger_group_undo(g, mark); /* that write's savepoint was undone */
    /* Nothing is appended until the group closes. */
    int64_t seq;
    uint8_t head[32];
    assert_int_equal(an_store_ledger_head(f->s, &seq, head, &err), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(an_ledger_group_close(g, &err), 0);
    assert_int_equal(an_store_commit(f->s, &err), 0);

    rows x = {0};
    assert_int_equal(an_store_ledger_each(f->s, 0, keep_row, &x, &err), 0);
    assert_int_equal(x.n, 2); /* one per project */
    assert_non_null(strstr(x.body[0], "\"project\":1"));
    assert_non_null(strstr(x.body[0], "[11,1,"));
    assert_non_null(strstr(x.body[0], "[13,1,"));
    assert_null(strstr(x.body[0], "[14,"));
    assert_non_null(strstr(x.body[1], "[12,2,"));
    rows_free(&x);
    assert_int_equal(an_store_ledger_of_task(f->s, t1, keep_row, &x, &err), 0);
    assert_int_equal(x.n, 1);
    rows_free(&x);
    assert_int_equal(an_store_ledger_of_task(f->s, t3, keep_row, &x, &err), 0);
    assert_int_equal(x.n, 0);
    /* Without a group a note is an entry at once. */
    assert_int_equal(an_store_begin(f->s, &err), 0);
    assert_int_equal(an_ledger_note_annotation(f->s, "delete", p1, 11, t1, NULL, &err), 0);
    assert_int_equal(an_store_commit(f->s, &err), 0);
    assert_int_equal(an_store_ledger_of_task(f->s, t1, keep_row, &x, &err), 0);
    assert_int_equal(x.n, 2);
    assert_non_null(strstr(x.body[1], "\"action\":\"delete\""));
    rows_free(&x);
    assert_int_equal(verify(f->s, NULL).problem, AN_LEDGER_OK);
}

/* ---- imports: entries per commit, provenance and the licence policy -------------------------- */

static void write_tasks(const char *path)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    const char *lic[5] = {"CC0-1.0", "contract:acme", "CC-BY-NC-4.0", NULL, "cc0-1.0"};
    for (int i = 0; i < 5; i++) {
        if (lic[i])
            fprintf(fp, "{\"data\":{\"text\":\"t%d\",\"licence\":\"%s\"},\"meta\":{\"source\":\"crawl\"}}\n",
                    i, lic[i]);
        else
            fprintf(fp, "{\"data\":{\"text\":\"t%d\"}}\n", i);
    }
    fclose(fp);
}

static void do_import(fixture *f, const char *project, const char *file, an_import_report *r)
{
    an_project p = {0};
    an_err err;
    assert_int_equal(an_store_project_get(f->s, project, &p, &err), 0);
    char rejects[PATH_MAX + 16];
    snprintf(rejects, sizeof rejects, "%s/rejects.jsonl", f->dir);
    an_import_opts o = {.format = "ls-jsonl", .batch_size = 2, .rejects_path = rejects};
    const char *paths[1] = {file};
    int rc = an_import(f->s, &p, paths, 1, &o, r, &err);
    if (rc) fprintf(stderr, "import: %s\n", err.msg);
    assert_int_equal(rc, 0);
    an_project_clear(&p);
}

static void test_import_entries(void **state)
{
    fixture *f = *state;
    make_project(f->s, "p", "{\"licence_policy\":{\"allow\":[\"CC0-1.0\",\"contract:*\"]}}");
    char file[PATH_MAX + 16];
    snprintf(file, sizeof file, "%s/t.jsonl", f->dir);
    write_tasks(file);
    an_import_report r;
    do_import(f, "p", file, &r);
    assert_int_equal(r.added, 5);
    assert_int_equal(r.licence_flagged, 2); /* CC-BY-NC and the missing one: flagged, kept */

    /* Batches of 2: entries cover tasks 1-2, 3-4 and 5. */
    rows x = {0};
    an_err err;
    assert_int_equal(an_store_ledger_each(f->s, 0, keep_row, &x, &err), 0);
    assert_int_equal(x.n, 3);
    assert_string_equal(x.kind[1], "import");
    assert_non_null(strstr(x.body[1], "\"first_task\":3,\"last_task\":4"));
    rows_free(&x);
    /* Importing the same file again adds nothing, and no entry. */
    do_import(f, "p", file, &r);
    assert_int_equal(r.added, 0);
    assert_int_equal(r.duplicates, 5);
    assert_int_equal(an_store_ledger_each(f->s, 0, keep_row, &x, &err), 0);
    assert_int_equal(x.n, 3);
    rows_free(&x);

    /* Task 4's history: the import entry that covered it, found through its batch. */
    assert_int_equal(an_ledger_task_history(f->s, 4, keep_row, &x, &err), 0);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.seq[0], 2);
    an_ledger_row row = {.seq = 2, .body = x.body[0], .body_len = strlen(x.body[0])};
    bool same = false;
    assert_int_equal(an_ledger_import_check(f->s, &row, &same, &err), 0);
    assert_true(same);
    /* Changing a covered task's data is seen. */
    an_task_in t = {.project_id = 1, .data = "{\"text\":\"edited\"}", .data_len = 17};
    an_hash(t.data, t.data_len, t.hash);
    assert_int_equal(an_store_begin(f->s, &err), 0);
    assert_int_equal(an_store_task_update_data(f->s, 4, &t, &err), 0);
    assert_int_equal(an_store_commit(f->s, &err), 0);
    assert_int_equal(an_ledger_import_check(f->s, &row, &same, &err), 0);
    assert_false(same);
    rows_free(&x);

    /* Provenance rows: licence and source, flagged ones marked. */
    an_provenance pv;
    bool found;
    assert_int_equal(an_store_provenance_get(f->s, 2, &pv, &found, &err), 0);
    assert_true(found);
    assert_string_equal(pv.licence, "contract:acme");
    assert_string_equal(pv.source, "crawl");
    assert_null(pv.detail);
    an_provenance_free(&pv);
    assert_int_equal(an_store_provenance_get(f->s, 4, &pv, &found, &err), 0);
    assert_true(found);
    assert_null(pv.licence);
    assert_non_null(strstr(pv.detail, "flagged"));
    an_provenance_free(&pv);

    /* Importing the file again adds only the record whose task was edited, in one entry. */
    do_import(f, "p", file, &r);
    assert_int_equal(r.added, 1);
    int64_t seq;
    uint8_t head[32];
    assert_int_equal(an_store_ledger_head(f->s, &seq, head, &err), 0);
    assert_int_equal(seq, 4);
    assert_int_equal(verify(f->s, NULL).problem, AN_LEDGER_OK);
}

static void test_import_refuse(void **state)
{
    fixture *f = *state;
    make_project(f->s, "p", "{\"licence_policy\":{\"allow\":[\"CC0-1.0\",\"contract:*\"],"
                            "\"action\":\"refuse\"}}");
    char file[PATH_MAX + 16];
    snprintf(file, sizeof file, "%s/t.jsonl", f->dir);
    write_tasks(file);
    an_import_report r;
    do_import(f, "p", file, &r);
    assert_int_equal(r.added, 3);
    assert_int_equal(r.rejected, 2);
    assert_int_equal(r.licence_flagged, 0);
    char *rej = tl_slurp(r.rejects_path);
    assert_non_null(strstr(rej, "licence \\\"CC-BY-NC-4.0\\\" is not allowed"));
    assert_non_null(strstr(rej, "no licence given"));
    free(rej);
}

static void test_policy_parse(void **state)
{
    (void)state;
    an_licence_policy *p = NULL;
    an_err err;
    assert_int_equal(an_licence_policy_parse(NULL, &p, &err), 0);
    assert_null(p);
    assert_true(an_licence_allowed(NULL, NULL)); /* no policy: anything goes */
    assert_int_equal(an_licence_policy_parse("{\"other\":1}", &p, &err), 0);
    assert_null(p);
    assert_int_equal(an_licence_policy_parse("{\"licence_policy\":{\"allow\":[\"CC0-1.0\",\"x\",3]}}",
                                             &p, &err),
                     -AN_EINVAL);
    assert_string_equal(err.where, "settings.licence_policy.allow[2]");
    assert_int_equal(an_licence_policy_parse("{\"licence_policy\":{\"allow\":[],\"action\":\"drop\"}}",
                                             &p, &err),
                     -AN_EINVAL);
    assert_string_equal(err.where, "settings.licence_policy.action");
    assert_int_equal(an_licence_policy_parse("{\"licence_policy\":{\"allow\":[\"CC0-1.0\","
                                             "\"contract:*\"],\"action\":\"refuse\"}}",
                                             &p, &err),
                     0);
    assert_non_null(p);
    assert_int_equal(an_licence_policy_action(p), AN_LICENCE_REFUSE);
    assert_true(an_licence_allowed(p, "CC0-1.0"));
    assert_true(an_licence_allowed(p, "cc0-1.0"));
    assert_true(an_licence_allowed(p, "contract:acme-2026"));
    assert_false(an_licence_allowed(p, "contract"));
    assert_false(an_licence_allowed(p, "CC0-1.0-extra"));
    assert_false(an_licence_allowed(p, NULL));
    assert_false(an_licence_allowed(p, ""));
    an_licence_policy_free(p);

    json_t *data = json_pack("{s:s,s:s}", "text", "x", "license", "MIT");
    json_t *meta = json_pack("{s:s,s:s}", "licence", "CC0-1.0", "authorization", "ticket-7");
    an_provenance pv;
    assert_true(an_provenance_of_record(data, meta, &pv));
    assert_string_equal(pv.licence, "CC0-1.0"); /* meta wins */
    assert_string_equal(pv.authorisation, "ticket-7");
    assert_null(pv.source);
    json_decref(meta);
    assert_true(an_provenance_of_record(data, NULL, &pv));
    assert_string_equal(pv.licence, "MIT");
    json_decref(data);
}

/* ---- exports and their manifests --------------------------------------------------------- */

static void test_export_manifest(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p", NULL);
    an_err err;
    assert_int_equal(an_store_begin(f->s, &err), 0);
    put_task(f->s, pid, "one");
    put_task(f->s, pid, "two");
    assert_int_equal(an_store_commit(f->s, &err), 0);
    an_project p = {0};
    assert_int_equal(an_store_project_get(f->s, "p", &p, &err), 0);
    char out[PATH_MAX + 16], man[PATH_MAX + 48];
    snprintf(out, sizeof out, "%s/out.jsonl", f->dir);
    snprintf(man, sizeof man, "%s.manifest.json", out);
    an_export_opts o = {.format = "ls-jsonl", .out_path = out};
    an_export_report rep;
    assert_int_equal(an_export(f->s, &p, &o, &rep, &err), 0);
    an_project_clear(&p);

    an_export_verdict v;
    assert_int_equal(an_ledger_verify_export(out, NULL, NULL, f->s, &v, &err), 0);
    if (!v.ok) fprintf(stderr, "verify-export: %s\n", v.message);
    assert_true(v.ok);
    assert_int_equal(v.seq, 1);
    assert_int_equal(v.tasks, 2);
    assert_int_equal(v.workspace, 1);

    /* Pinned to another key: refused. */
    uint8_t other[32] = {1};
    assert_int_equal(an_ledger_verify_export(out, NULL, other, NULL, &v, &err), 0);
    assert_false(v.ok);
    assert_false(v.key_ok);

    /* A byte changed in the export. */
    char *text = tl_slurp(out);
    char *ch = strstr(text, "one");
    ch[0] = 'O';
    tl_write_file(out, text);
    assert_int_equal(an_ledger_verify_export(out, NULL, NULL, NULL, &v, &err), 0);
    assert_false(v.ok);
    assert_false(v.digest_ok);
    assert_true(v.signature_ok);
    ch[0] = 'o';
    tl_write_file(out, text);
    free(text);

    /* The manifest edited to claim another digest or count. */
    char *mtext = tl_slurp(man);
    char *tasks = strstr(mtext, "\"tasks\":2");
    assert_non_null(tasks);
    tasks[8] = '3';
    tl_write_file(man, mtext);
    assert_int_equal(an_ledger_verify_export(out, NULL, NULL, NULL, &v, &err), 0);
    assert_false(v.ok);
    assert_false(v.signature_ok);
    assert_true(v.digest_ok);
    free(mtext);

    /* The entry is in the chain, and the chain verifies. */
    assert_int_equal(verify(f->s, NULL).problem, AN_LEDGER_OK);
}

static void test_folder_digest(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX + 16], sub[PATH_MAX + 32], a[PATH_MAX + 48], b[PATH_MAX + 48],
        m[PATH_MAX + 48];
    snprintf(dir, sizeof dir, "%s/exp", f->dir);
    snprintf(sub, sizeof sub, "%s/labels", dir);
    snprintf(a, sizeof a, "%s/classes.txt", dir);
    snprintf(b, sizeof b, "%s/labels/1.txt", dir);
    snprintf(m, sizeof m, "%s/%s", dir, AN_LEDGER_MANIFEST_IN_FOLDER);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(mkdir(sub, 0755), 0);
    tl_write_file(a, "Car\nPerson\n");
    tl_write_file(b, "0 0.5 0.5 0.1 0.1\n");
    uint8_t d1[32], d2[32];
    int64_t bytes;
    an_err err;
    assert_int_equal(an_ledger_digest_path(dir, true, d1, &bytes, &err), 0);
    assert_int_equal(bytes, 11 + 18);
    tl_write_file(m, "{}"); /* the manifest is not part of what it describes */
    assert_int_equal(an_ledger_digest_path(dir, true, d2, NULL, &err), 0);
    assert_memory_equal(d1, d2, 32);
    tl_write_file(b, "1 0.5 0.5 0.1 0.1\n");
    assert_int_equal(an_ledger_digest_path(dir, true, d2, NULL, &err), 0);
    assert_memory_not_equal(d1, d2, 32);
}

int main(void)
{
    unsetenv("ANNOT_LEDGER_KEY");
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_and_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_removed_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_altered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_reordered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_prev, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_rehashed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_resigned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_refuse, setup, teardown),
        cmocka_unit_test(test_policy_parse),
        cmocka_unit_test_setup_teardown(test_export_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_folder_digest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
