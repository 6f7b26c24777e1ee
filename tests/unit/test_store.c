/* The SQLite store: workspace lifecycle and migrations, users and projects, dedupe, exact
 * counters, the merge-join task stream, label statistics, and the promises about concurrent
 * writers and crashes that users rely on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/hash.h"
#include "store/store.h"

static const char *CONFIG = "<View><Text name=\"text\" value=\"$text\"/>"
                            "<Choices name=\"sentiment\" toName=\"text\">"
                            "<Choice value=\"pos\"/><Choice value=\"neg\"/></Choices></View>";

typedef struct fixture {
    char dir[64];
    char path[128];
    an_store *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/annot-store-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->path, sizeof f->path, "%s/ws.annot", f->dir);
    an_err err;
    if (an_store_open(f->path, &f->s, &err)) {
        fprintf(stderr, "open: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    an_store_close(f->s);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) return -1;
    free(f);
    return 0;
}

static int64_t make_project(an_store *s, const char *name)
{
    int64_t id = 0;
    an_err err;
    int rc = an_store_project_create(s, name, CONFIG, NULL, &id, &err);
    if (rc) fprintf(stderr, "project_create: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_true(id > 0);
    return id;
}

/* Inserts a task whose data is {"text":"<text>"}; returns its id (0 for a duplicate). */
static int64_t put_task(an_store *s, int64_t pid, const char *text)
{
    char data[256];
    int n = snprintf(data, sizeof data, "{\"text\":\"%s\"}", text);
    an_task_in t = {.project_id = pid, .data = data, .data_len = (size_t)n};
    an_hash(data, (size_t)n, t.hash);
    int64_t id = -1;
    an_err err;
    int rc = an_store_task_insert(s, &t, &id, &err);
    if (rc) fprintf(stderr, "task_insert: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return id;
}

static int64_t put_annotation(an_store *s, int64_t pid, int64_t tid, const char *result,
                              bool cancelled, const an_label_ref *labels, size_t n_labels)
{
    an_annotation_in a = {.task_id = tid,
                          .project_id = pid,
                          .result = result,
                          .lead_time = NAN,
                          .cancelled = cancelled,
                          .labels = labels,
                          .n_labels = n_labels};
    int64_t id = 0;
    an_err err;
    int rc = an_store_annotation_insert(s, &a, &id, &err);
    if (rc) fprintf(stderr, "annotation_insert: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_true(id > 0);
    return id;
}

static int64_t put_prediction(an_store *s, int64_t pid, int64_t tid, const char *version,
                              double score)
{
    an_prediction_in p = {.task_id = tid,
                          .project_id = pid,
                          .model_version = version,
                          .score = score,
                          .result = "[]"};
    int64_t id = 0;
    an_err err;
    int rc = an_store_prediction_insert(s, &p, &id, &err);
    if (rc) fprintf(stderr, "prediction_insert: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_true(id > 0);
    return id;
}

static void begin(an_store *s)
{
    an_err err;
    int rc = an_store_begin(s, &err);
    if (rc) fprintf(stderr, "begin: %s\n", err.msg);
    assert_int_equal(rc, 0);
}

static void commit(an_store *s)
{
    an_err err;
    int rc = an_store_commit(s, &err);
    if (rc) fprintf(stderr, "commit: %s\n", err.msg);
    assert_int_equal(rc, 0);
}

static an_project get_project(an_store *s, const char *name_or_id)
{
    an_project p;
    an_err err;
    int rc = an_store_project_get(s, name_or_id, &p, &err);
    if (rc) fprintf(stderr, "project_get: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return p;
}

/* Reads PRAGMA user_version straight from the file, bypassing the store. */
static int file_user_version(const char *path)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void file_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* ---- workspace lifecycle ----------------------------------------------------------------- */

static void test_create_reopen_keeps_data(void **state)
{
    fixture *f = *state;
    int v = an_store_schema_version(f->s);
    assert_true(v >= 1);
    int64_t pid = make_project(f->s, "cats");
    begin(f->s);
    assert_true(put_task(f->s, pid, "a") > 0);
    commit(f->s);
    an_store_close(f->s);
    f->s = NULL;

    assert_int_equal(file_user_version(f->path), v);

    an_err err;
    assert_int_equal(an_store_open(f->path, &f->s, &err), 0);
    assert_int_equal(an_store_schema_version(f->s), v);
    an_project p = get_project(f->s, "cats");
    assert_int_equal(p.id, pid);
    assert_int_equal(p.task_count, 1);
    assert_string_equal(p.config, CONFIG);
    assert_string_equal(p.settings, "{}");
    an_project_clear(&p);
}

static void test_upgrades_version_zero_file(void **state)
{
    fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/old.annot", f->dir);
    /* An empty SQLite file is a workspace at version 0. */
    file_exec(path, "PRAGMA user_version = 0");
    an_store *s;
    an_err err;
    assert_int_equal(an_store_open(path, &s, &err), 0);
    assert_int_equal(an_store_schema_version(s), an_store_schema_version(f->s));
    make_project(s, "p");
    an_store_close(s);
    assert_int_equal(file_user_version(path), an_store_schema_version(f->s));
}

static void test_newer_workspace_refused(void **state)
{
    fixture *f = *state;
    an_store_close(f->s);
    f->s = NULL;
    file_exec(f->path, "PRAGMA user_version = 999");
    an_err err;
    an_store *s = NULL;
    assert_int_equal(an_store_open(f->path, &s, &err), -AN_EINVAL);
    assert_null(s);
    assert_int_equal(err.code, AN_EINVAL);
    assert_non_null(strstr(err.msg, "999"));
    assert_non_null(strstr(err.msg, "upgrade annot"));
    /* Nothing was changed by the refusal. */
    assert_int_equal(file_user_version(f->path), 999);
}

static void test_foreign_database_refused(void **state)
{
    fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/other.db", f->dir);
    file_exec(path, "CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance REAL)");
    an_err err;
    an_store *s = NULL;
    assert_int_equal(an_store_open(path, &s, &err), -AN_EINVAL);
    assert_null(s);
    assert_non_null(strstr(err.msg, "not an annot workspace"));
}

static void test_open_errors(void **state)
{
    fixture *f = *state;
    an_err err;
    an_store *s = NULL;
    char path[160];
    snprintf(path, sizeof path, "%s/no/such/folder/ws.annot", f->dir);
    assert_int_equal(an_store_open(path, &s, &err), -AN_EIO);
    assert_null(s);
    assert_string_equal(err.where, path);
    assert_non_null(strstr(err.msg, "writable"));
    assert_int_equal(an_store_open("", &s, &err), -AN_EINVAL);

    snprintf(path, sizeof path, "%s/garbage", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 512; i++)
        fputs("not a database ", fp);
    fclose(fp);
    int rc = an_store_open(path, &s, &err);
    assert_int_equal(rc, -AN_EIO);
    assert_null(s);
}

/* ---- users and projects ------------------------------------------------------------------- */

static void test_roles(void **state)
{
    (void)state;
    assert_string_equal(an_role_name(AN_ROLE_ADMIN), "admin");
    assert_string_equal(an_role_name(AN_ROLE_ANNOTATOR), "annotator");
    assert_int_equal(an_role_parse("manager"), AN_ROLE_MANAGER);
    assert_int_equal(an_role_parse("reviewer"), AN_ROLE_REVIEWER);
    assert_int_equal(an_role_parse("Admin"), -1);
    assert_int_equal(an_role_parse("root"), -1);
    assert_int_equal(an_role_parse(NULL), -1);
}

typedef struct names {
    char text[256];
    int n;
} names;

static int collect_user(void *ud, const an_user *u)
{
    names *ns = ud;
    size_t len = strlen(ns->text);
    snprintf(ns->text + len, sizeof ns->text - len, "%s%lld:%s:%s", ns->n ? "," : "",
             (long long)u->id, u->name, an_role_name(u->role));
    ns->n++;
    return 0;
}

static void test_users(void **state)
{
    fixture *f = *state;
    an_err err;
    int64_t alice = 0, bob = 0;
    assert_int_equal(an_store_user_add(f->s, "alice", AN_ROLE_ADMIN, &alice, &err), 0);
    assert_int_equal(an_store_user_add(f->s, "bob", AN_ROLE_REVIEWER, &bob, &err), 0);
    assert_true(bob > alice && alice > 0);

    assert_int_equal(an_store_user_add(f->s, "alice", AN_ROLE_ANNOTATOR, NULL, &err), -AN_EEXIST);
    assert_non_null(strstr(err.msg, "a user named alice already exists"));
    assert_int_equal(an_store_user_add(f->s, "", AN_ROLE_ANNOTATOR, NULL, &err), -AN_EINVAL);

    an_user u;
    assert_int_equal(an_store_user_get(f->s, "bob", &u, &err), 0);
    assert_int_equal(u.id, bob);
    assert_int_equal(u.role, AN_ROLE_REVIEWER);
    assert_non_null(u.created_at);
    an_user_clear(&u);
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)alice);
    assert_int_equal(an_store_user_get(f->s, idtext, &u, &err), 0);
    assert_string_equal(u.name, "alice");
    an_user_clear(&u);

    assert_int_equal(an_store_user_get(f->s, "carol", &u, &err), -AN_ENOTFOUND);
    assert_non_null(strstr(err.msg, "carol"));

    names ns = {{0}, 0};
    assert_int_equal(an_store_user_list(f->s, collect_user, &ns, &err), 0);
    char want[128];
    snprintf(want, sizeof want, "%lld:alice:admin,%lld:bob:reviewer", (long long)alice,
             (long long)bob);
    assert_string_equal(ns.text, want);
}

static int collect_project(void *ud, const an_project *p)
{
    names *ns = ud;
    size_t len = strlen(ns->text);
    snprintf(ns->text + len, sizeof ns->text - len, "%s%s:%lld:%s", ns->n ? "," : "", p->name,
             (long long)p->task_count, p->config ? "config" : "-");
    ns->n++;
    return 0;
}

static int stop_after_first(void *ud, const an_project *p)
{
    (void)p;
    ++*(int *)ud;
    return 42;
}

static void test_projects(void **state)
{
    fixture *f = *state;
    an_err err;
    int64_t a = make_project(f->s, "alpha");
    int64_t b = 0;
    assert_int_equal(an_store_project_create(f->s, "beta", CONFIG, "{\"x\":1}", &b, &err), 0);

    assert_int_equal(an_store_project_create(f->s, "alpha", CONFIG, NULL, NULL, &err), -AN_EEXIST);
    assert_int_equal(err.code, AN_EEXIST);
    assert_string_equal(err.msg, "a project named alpha already exists; choose another name");

    an_project p = get_project(f->s, "beta");
    assert_int_equal(p.id, b);
    assert_string_equal(p.settings, "{\"x\":1}");
    an_project_clear(&p);

    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)a);
    p = get_project(f->s, idtext);
    assert_string_equal(p.name, "alpha");
    an_project_clear(&p);

    /* A project whose name is digits wins over the project with that id. */
    int64_t named = make_project(f->s, idtext);
    p = get_project(f->s, idtext);
    assert_int_equal(p.id, named);
    an_project_clear(&p);

    assert_int_equal(an_store_project_get(f->s, "gamma", &p, &err), -AN_ENOTFOUND);
    assert_string_equal(err.msg,
                        "no project named or numbered gamma; `annot project list` shows them");
    assert_int_equal(an_store_project_get(f->s, "99999", &p, &err), -AN_ENOTFOUND);
    assert_int_equal(an_store_project_get(f->s, "99999999999999999999999", &p, &err),
                     -AN_ENOTFOUND);

    names ns = {{0}, 0};
    assert_int_equal(an_store_project_list(f->s, collect_project, &ns, &err), 0);
    char want[128];
    snprintf(want, sizeof want, "alpha:0:-,beta:0:-,%s:0:-", idtext);
    assert_string_equal(ns.text, want);

    int calls = 0;
    assert_int_equal(an_store_project_list(f->s, stop_after_first, &calls, &err), 42);
    assert_int_equal(calls, 1);
}

/* ---- writing ------------------------------------------------------------------------------ */

static void test_writes_need_transaction(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    an_task_in t = {.project_id = pid, .data = "{}", .data_len = 2};
    int64_t id = 0;
    an_err err;
    assert_int_equal(an_store_task_insert(f->s, &t, &id, &err), -AN_EINTERNAL);
    assert_non_null(strstr(err.msg, "an_store_begin"));
    assert_int_equal(an_store_commit(f->s, &err), -AN_EINTERNAL);

    begin(f->s);
    assert_int_equal(an_store_begin(f->s, &err), -AN_EINTERNAL);
    an_store_rollback(f->s);
}

static void test_dedupe_by_hash(void **state)
{
    fixture *f = *state;
    int64_t p1 = make_project(f->s, "one");
    int64_t p2 = make_project(f->s, "two");
    begin(f->s);
    int64_t a = put_task(f->s, p1, "same");
    assert_true(a > 0);
    assert_int_equal(put_task(f->s, p1, "same"), 0); /* duplicate within the transaction */
    assert_true(put_task(f->s, p1, "other") > a);
    int64_t b = put_task(f->s, p2, "same"); /* another project may hold the same data */
    assert_true(b > 0);
    commit(f->s);

    begin(f->s);
    assert_int_equal(put_task(f->s, p1, "same"), 0); /* duplicate of a committed task */
    commit(f->s);

    an_project p = get_project(f->s, "one");
    assert_int_equal(p.task_count, 2);
    an_project_clear(&p);
    p = get_project(f->s, "two");
    assert_int_equal(p.task_count, 1);
    an_project_clear(&p);
}

/* Inserts data with a chosen hash, to force collisions of the 64-bit index key. */
static int64_t put_with_hash(an_store *s, int64_t pid, const char *data, const uint8_t *hash)
{
    an_task_in t = {.project_id = pid, .data = data, .data_len = strlen(data)};
    memcpy(t.hash, hash, AN_HASH_BYTES);
    int64_t id = -1;
    an_err err;
    assert_int_equal(an_store_task_insert(s, &t, &id, &err), 0);
    return id;
}

static void test_dedupe_exact_when_index_keys_collide(void **state)
{
    fixture *f = *state;
    int64_t p1 = make_project(f->s, "one");
    /* Three contents whose hashes share the first 64 bits (the index key) but differ after. */
    uint8_t h1[AN_HASH_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 1};
    uint8_t h2[AN_HASH_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 2};
    uint8_t h3[AN_HASH_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 3};
    /* and one whose key is the next key (where h2's probe lands) */
    uint8_t h4[AN_HASH_BYTES] = {1, 2, 3, 4, 5, 6, 7, 9, 4};
    begin(f->s);
    int64_t a = put_with_hash(f->s, p1, "{\"a\":1}", h1);
    int64_t d = put_with_hash(f->s, p1, "{\"a\":4}", h4);
    int64_t b = put_with_hash(f->s, p1, "{\"a\":2}", h2);
    int64_t c = put_with_hash(f->s, p1, "{\"a\":3}", h3);
    assert_true(a > 0 && b > a && c > b && d > a);
    commit(f->s);
    begin(f->s);
    /* each is still recognised as already present */
    assert_int_equal(put_with_hash(f->s, p1, "{\"a\":1}", h1), 0);
    assert_int_equal(put_with_hash(f->s, p1, "{\"a\":2}", h2), 0);
    assert_int_equal(put_with_hash(f->s, p1, "{\"a\":3}", h3), 0);
    assert_int_equal(put_with_hash(f->s, p1, "{\"a\":4}", h4), 0);
    commit(f->s);
    an_project p = get_project(f->s, "one");
    assert_int_equal(p.task_count, 4);
    an_project_clear(&p);
}

static void test_insert_errors(void **state)
{
    fixture *f = *state;
    int64_t p1 = make_project(f->s, "one");
    int64_t p2 = make_project(f->s, "two");
    an_err err;
    begin(f->s);
    int64_t t1 = put_task(f->s, p1, "x");

    an_task_in t = {.project_id = 777, .data = "{}", .data_len = 2};
    int64_t id = 5;
    assert_int_equal(an_store_task_insert(f->s, &t, &id, &err), -AN_ENOTFOUND);
    assert_int_equal(id, 0);

    /* The task exists, but not in the project the annotation names. */
    an_annotation_in a = {.task_id = t1, .project_id = p2, .result = "[]", .lead_time = NAN};
    assert_int_equal(an_store_annotation_insert(f->s, &a, &id, &err), -AN_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no task"));
    a.project_id = p1;
    a.annotator_id = 4242;
    assert_int_equal(an_store_annotation_insert(f->s, &a, &id, &err), -AN_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no user numbered 4242"));

    an_prediction_in pr = {.task_id = t1 + 100, .project_id = p1, .result = "[]", .score = NAN};
    assert_int_equal(an_store_prediction_insert(f->s, &pr, &id, &err), -AN_ENOTFOUND);

    /* Failed inserts leave the transaction usable. */
    put_annotation(f->s, p1, t1, "[]", false, NULL, 0);
    commit(f->s);
    an_project p = get_project(f->s, "one");
    assert_int_equal(p.task_count, 1);
    assert_int_equal(p.annotation_count, 1);
    assert_int_equal(p.prediction_count, 0);
    an_project_clear(&p);
}

static void test_counters_commit_and_rollback(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    int64_t other = make_project(f->s, "q");
    begin(f->s);
    int64_t t1 = put_task(f->s, pid, "1");
    int64_t t2 = put_task(f->s, pid, "2");
    int64_t q1 = put_task(f->s, other, "1");
    put_annotation(f->s, pid, t1, "[]", false, NULL, 0);
    put_annotation(f->s, pid, t2, "[]", true, NULL, 0);
    put_annotation(f->s, other, q1, "[]", false, NULL, 0);
    put_prediction(f->s, pid, t1, "v1", 0.5);
    /* Inside the transaction the project already shows its pending rows. */
    an_project p = get_project(f->s, "p");
    assert_int_equal(p.task_count, 2);
    an_project_clear(&p);
    commit(f->s);

    p = get_project(f->s, "p");
    assert_int_equal(p.task_count, 2);
    assert_int_equal(p.annotation_count, 2);
    assert_int_equal(p.prediction_count, 1);
    an_project_clear(&p);
    p = get_project(f->s, "q");
    assert_int_equal(p.task_count, 1);
    assert_int_equal(p.annotation_count, 1);
    assert_int_equal(p.prediction_count, 0);
    an_project_clear(&p);

    begin(f->s);
    int64_t t3 = put_task(f->s, pid, "3");
    put_annotation(f->s, pid, t3, "[]", false, NULL, 0);
    put_prediction(f->s, pid, t3, "v1", NAN);
    an_store_rollback(f->s);

    p = get_project(f->s, "p");
    assert_int_equal(p.task_count, 2);
    assert_int_equal(p.annotation_count, 2);
    assert_int_equal(p.prediction_count, 1);
    an_project_clear(&p);

    /* The rolled-back task is really gone: inserting it again is not a duplicate, and the
     * counters of the next transaction do not carry the discarded ones. */
    begin(f->s);
    assert_true(put_task(f->s, pid, "3") > 0);
    commit(f->s);
    p = get_project(f->s, "p");
    assert_int_equal(p.task_count, 3);
    assert_int_equal(p.annotation_count, 2);
    an_project_clear(&p);
}

static void test_batches(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    an_err err;
    int64_t bid = 0;
    assert_int_equal(an_store_batch_create(f->s, pid, "a.json", "json", &bid, &err), -AN_EINTERNAL);
    begin(f->s);
    assert_int_equal(an_store_batch_create(f->s, pid, "a.json", "json", &bid, &err), 0);
    assert_true(bid > 0);
    assert_int_equal(an_store_batch_add(f->s, bid, 3, 1, 2, &err), 0);
    assert_int_equal(an_store_batch_add(f->s, bid, 1, 0, 0, &err), 0);
    assert_int_equal(an_store_batch_add(f->s, bid + 9, 1, 0, 0, &err), -AN_ENOTFOUND);
    an_task_in t = {.project_id = pid, .batch_id = bid, .data = "{}", .data_len = 2};
    int64_t id;
    assert_int_equal(an_store_task_insert(f->s, &t, &id, &err), 0);
    commit(f->s);

    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT b.added, b.duplicates, b.rejected, t.batch_id "
                                        "FROM import_batches b JOIN tasks t ON t.batch_id = b.id",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 4);
    assert_int_equal(sqlite3_column_int(st, 1), 1);
    assert_int_equal(sqlite3_column_int(st, 2), 2);
    assert_int_equal(sqlite3_column_int64(st, 3), bid);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- the task stream ---------------------------------------------------------------------- */

static void test_iterator_merge_join(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    int64_t other = make_project(f->s, "other");
    enum { N = 6 };
    int64_t t[N];
    begin(f->s);
    for (int i = 0; i < N; i++) {
        char text[16];
        snprintf(text, sizeof text, "task %d", i);
        t[i] = put_task(f->s, pid, text);
        put_task(f->s, other, text); /* interleaved rows of another project */
    }
    /* task 0: none; task 1: one of each; task 2: many, inserted interleaved with others;
     * task 5 (the last): annotations only. */
    int64_t a21 = put_annotation(f->s, pid, t[2], "[\"a21\"]", false, NULL, 0);
    int64_t a5 = put_annotation(f->s, pid, t[5], "[\"a5\"]", false, NULL, 0);
    int64_t a11 = put_annotation(f->s, pid, t[1], "[\"a11\"]", false, NULL, 0);
    put_annotation(f->s, other, t[1] + 1, "[\"other\"]", false, NULL, 0);
    int64_t p22 = put_prediction(f->s, pid, t[2], "m2", 0.25);
    int64_t a22 = put_annotation(f->s, pid, t[2], "[\"a22\"]", true, NULL, 0);
    int64_t p21 = put_prediction(f->s, pid, t[2], "", NAN);
    commit(f->s);
    begin(f->s);
    int64_t p11 = put_prediction(f->s, pid, t[1], "m1", 0.9);
    an_annotation_in a = {.task_id = t[2],
                          .project_id = pid,
                          .annotator_id = 0,
                          .result = "[\"a23\"]",
                          .lead_time = 12.5,
                          .ground_truth = true,
                          .created_at = "2026-01-02T03:04:05.000000Z"};
    int64_t a23;
    an_err err;
    assert_int_equal(an_store_annotation_insert(f->s, &a, &a23, &err), 0);
    commit(f->s);

    an_task_iter *it;
    assert_int_equal(
        an_store_tasks_open(f->s, pid, AN_ITER_ANNOTATIONS | AN_ITER_PREDICTIONS, &it, &err), 0);
    const an_task_row *r;
    int seen = 0;
    while (an_task_iter_next(it, &r, &err) == 1) {
        assert_true(seen < N);
        assert_int_equal(r->id, t[seen]);
        char want[32];
        snprintf(want, sizeof want, "{\"text\":\"task %d\"}", seen);
        assert_string_equal(r->data, want);
        assert_int_equal(r->data_len, strlen(want));
        assert_null(r->meta);
        /* No time given: the transaction's time, in an_now_iso's shape. */
        assert_int_equal(strlen(r->created_at), strlen("2026-01-31T12:00:00.000000Z"));
        assert_int_equal(r->created_at[10], 'T');
        assert_int_equal(r->created_at[26], 'Z');
        assert_string_equal(r->updated_at, r->created_at);
        switch (seen) {
        case 1:
            assert_int_equal(r->n_annotations, 1);
            assert_int_equal(r->annotations[0].id, a11);
            assert_string_equal(r->annotations[0].result, "[\"a11\"]");
            assert_int_equal(r->n_predictions, 1);
            assert_int_equal(r->predictions[0].id, p11);
            assert_string_equal(r->predictions[0].model_version, "m1");
            assert_true(r->predictions[0].score == 0.9);
            break;
        case 2:
            assert_int_equal(r->n_annotations, 3);
            assert_int_equal(r->annotations[0].id, a21);
            assert_int_equal(r->annotations[1].id, a22);
            assert_int_equal(r->annotations[2].id, a23);
            assert_string_equal(r->annotations[0].result, "[\"a21\"]");
            assert_true(isnan(r->annotations[0].lead_time));
            assert_false(r->annotations[0].cancelled);
            assert_true(r->annotations[1].cancelled);
            assert_string_equal(r->annotations[2].result, "[\"a23\"]");
            assert_true(r->annotations[2].lead_time == 12.5);
            assert_true(r->annotations[2].ground_truth);
            assert_int_equal(r->annotations[2].annotator_id, 0);
            assert_string_equal(r->annotations[2].created_at, "2026-01-02T03:04:05.000000Z");
            assert_string_equal(r->annotations[2].updated_at, "2026-01-02T03:04:05.000000Z");
            assert_int_equal(r->n_predictions, 2);
            assert_int_equal(r->predictions[0].id, p22);
            assert_int_equal(r->predictions[1].id, p21);
            assert_true(r->predictions[0].score == 0.25);
            assert_true(isnan(r->predictions[1].score));
            assert_string_equal(r->predictions[1].model_version, "");
            assert_string_equal(r->predictions[1].result, "[]");
            break;
        case 5:
            assert_int_equal(r->n_annotations, 1);
            assert_int_equal(r->annotations[0].id, a5);
            assert_int_equal(r->n_predictions, 0);
            break;
        default:
            assert_int_equal(r->n_annotations, 0);
            assert_int_equal(r->n_predictions, 0);
        }
        seen++;
    }
    assert_int_equal(seen, N);
    /* At the end it stays at the end. */
    assert_int_equal(an_task_iter_next(it, &r, &err), 0);
    an_task_iter_close(it);

    /* Without the flags, rows carry no annotations or predictions. */
    assert_int_equal(an_store_tasks_open(f->s, pid, 0, &it, &err), 0);
    seen = 0;
    while (an_task_iter_next(it, &r, &err) == 1) {
        assert_int_equal(r->n_annotations, 0);
        assert_int_equal(r->n_predictions, 0);
        seen++;
    }
    assert_int_equal(seen, N);
    an_task_iter_close(it);

    /* An empty project streams nothing. */
    int64_t empty = make_project(f->s, "empty");
    assert_int_equal(an_store_tasks_open(f->s, empty, AN_ITER_ANNOTATIONS, &it, &err), 0);
    assert_int_equal(an_task_iter_next(it, &r, &err), 0);
    an_task_iter_close(it);
}

static void test_iterator_large_task_and_meta(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    an_buf big = AN_BUF_INIT;
    an_buf_adds(&big, "{\"text\":\"");
    for (int i = 0; i < 100000; i++)
        an_buf_addc(&big, (char)('a' + i % 26));
    an_buf_adds(&big, "\"}");
    an_task_in t = {.project_id = pid,
                    .data = big.p,
                    .data_len = big.len,
                    .meta = "{\"source\":\"x\"}",
                    .created_at = "2025-01-01T00:00:00.000000Z",
                    .updated_at = "2025-02-01T00:00:00.000000Z"};
    an_hash(big.p, big.len, t.hash);
    an_err err;
    int64_t tid;
    begin(f->s);
    assert_int_equal(an_store_task_insert(f->s, &t, &tid, &err), 0);
    for (int i = 0; i < 200; i++) {
        char result[32];
        snprintf(result, sizeof result, "[%d]", i);
        put_annotation(f->s, pid, tid, result, false, NULL, 0);
    }
    commit(f->s);

    an_task_iter *it;
    const an_task_row *r;
    assert_int_equal(an_store_tasks_open(f->s, pid, AN_ITER_ANNOTATIONS, &it, &err), 0);
    assert_int_equal(an_task_iter_next(it, &r, &err), 1);
    assert_int_equal(r->data_len, big.len);
    assert_memory_equal(r->data, big.p, big.len);
    assert_string_equal(r->meta, "{\"source\":\"x\"}");
    assert_string_equal(r->created_at, "2025-01-01T00:00:00.000000Z");
    assert_string_equal(r->updated_at, "2025-02-01T00:00:00.000000Z");
    assert_int_equal(r->n_annotations, 200);
    for (int i = 0; i < 200; i++) {
        char result[32];
        snprintf(result, sizeof result, "[%d]", i);
        assert_string_equal(r->annotations[i].result, result);
        if (i) assert_true(r->annotations[i].id > r->annotations[i - 1].id);
    }
    assert_int_equal(an_task_iter_next(it, &r, &err), 0);
    an_task_iter_close(it);
    an_buf_free(&big);
}

static void test_iterator_snapshot(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    begin(f->s);
    int64_t t1 = put_task(f->s, pid, "1");
    put_task(f->s, pid, "2");
    commit(f->s);

    an_err err;
    an_task_iter *it;
    const an_task_row *r;
    assert_int_equal(an_store_tasks_open(f->s, pid, AN_ITER_ANNOTATIONS, &it, &err), 0);
    assert_int_equal(an_task_iter_next(it, &r, &err), 1);

    /* Writing through this handle is refused while the stream is open ... */
    assert_int_equal(an_store_begin(f->s, &err), -AN_EINTERNAL);
    assert_non_null(strstr(err.msg, "another handle"));

    /* ... and a writer on another handle is not seen by the open stream. */
    an_store *w;
    assert_int_equal(an_store_open(f->path, &w, &err), 0);
    begin(w);
    put_task(w, pid, "3");
    put_annotation(w, pid, t1 + 1, "[]", false, NULL, 0);
    commit(w);
    an_store_close(w);

    assert_int_equal(an_task_iter_next(it, &r, &err), 1);
    assert_int_equal(r->n_annotations, 0);
    assert_int_equal(an_task_iter_next(it, &r, &err), 0);
    an_task_iter_close(it);

    /* After close the handle sees the new state and can write again. */
    an_project p = get_project(f->s, "p");
    assert_int_equal(p.task_count, 3);
    assert_int_equal(p.annotation_count, 1);
    an_project_clear(&p);
    begin(f->s);
    put_task(f->s, pid, "4");
    commit(f->s);
}

/* ---- statistics --------------------------------------------------------------------------- */

static int collect_label(void *ud, const char *from_name, const char *label, int64_t count)
{
    names *ns = ud;
    size_t len = strlen(ns->text);
    snprintf(ns->text + len, sizeof ns->text - len, "%s%s/%s=%lld", ns->n ? "," : "", from_name,
             label, (long long)count);
    ns->n++;
    return 0;
}

static void test_label_counts(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    int64_t other = make_project(f->s, "q");
    const an_label_ref twice[] = {{"sentiment", "pos"}, {"sentiment", "pos"}, {"box", "cat"}};
    const an_label_ref pos[] = {{"sentiment", "pos"}};
    const an_label_ref neg[] = {{"sentiment", "neg"}, {"box", "cat"}, {"box", "dog"}};
    begin(f->s);
    int64_t t1 = put_task(f->s, pid, "1");
    int64_t t2 = put_task(f->s, pid, "2");
    int64_t t3 = put_task(f->s, pid, "3");
    put_task(f->s, pid, "4"); /* never annotated */
    int64_t q1 = put_task(f->s, other, "1");
    put_annotation(f->s, pid, t1, "[]", false, twice, 3);
    put_annotation(f->s, pid, t1, "[]", false, pos, 1);
    put_annotation(f->s, pid, t2, "[]", false, neg, 3);
    put_annotation(f->s, pid, t3, "[]", true, neg, 3); /* cancelled: not counted */
    put_annotation(f->s, other, q1, "[]", false, neg, 3);
    commit(f->s);

    an_err err;
    names ns = {{0}, 0};
    assert_int_equal(an_store_label_counts(f->s, pid, collect_label, &ns, &err), 0);
    assert_string_equal(ns.text, "box/cat=2,box/dog=1,sentiment/neg=1,sentiment/pos=2");

    int64_t n = -1;
    assert_int_equal(an_store_labeled_task_count(f->s, pid, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(an_store_labeled_task_count(f->s, other, &n, &err), 0);
    assert_int_equal(n, 1);
}

/* ---- concurrency and crashes -------------------------------------------------------------- */

enum { WRITERS = 2, TX_PER_WRITER = 50, TASKS_PER_TX = 40 };

/* Runs in a child: its own handle, TX_PER_WRITER transactions. Exit status 0 on success. */
static int writer(const char *path, int64_t pid, int who)
{
    an_store *s;
    an_err err;
    if (an_store_open(path, &s, &err)) {
        fprintf(stderr, "writer %d open: %s\n", who, err.msg);
        return 1;
    }
    for (int tx = 0; tx < TX_PER_WRITER; tx++) {
        if (an_store_begin(s, &err)) {
            fprintf(stderr, "writer %d begin: %s\n", who, err.msg);
            return 1;
        }
        for (int i = 0; i < TASKS_PER_TX; i++) {
            char data[64];
            int n = snprintf(data, sizeof data, "{\"w\":%d,\"tx\":%d,\"i\":%d}", who, tx, i);
            an_task_in t = {.project_id = pid, .data = data, .data_len = (size_t)n};
            an_hash(data, (size_t)n, t.hash);
            int64_t id;
            if (an_store_task_insert(s, &t, &id, &err) || id == 0) {
                fprintf(stderr, "writer %d insert: %s\n", who, err.msg);
                return 1;
            }
        }
        if (an_store_commit(s, &err)) {
            fprintf(stderr, "writer %d commit: %s\n", who, err.msg);
            return 1;
        }
    }
    an_store_close(s);
    return 0;
}

static void test_concurrent_writers_queue(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "shared");
    pid_t kids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        kids[w] = fork();
        assert_true(kids[w] >= 0);
        if (kids[w] == 0) _exit(writer(f->path, pid, w));
    }
    /* The parent reads meanwhile: readers never block writers in WAL mode. */
    for (int i = 0; i < 20; i++) {
        an_project p = get_project(f->s, "shared");
        assert_true(p.task_count % TASKS_PER_TX == 0);
        an_project_clear(&p);
        usleep(1000);
    }
    for (int w = 0; w < WRITERS; w++) {
        int status;
        assert_int_equal(waitpid(kids[w], &status, 0), kids[w]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    an_project p = get_project(f->s, "shared");
    assert_int_equal(p.task_count, WRITERS * TX_PER_WRITER * TASKS_PER_TX);
    an_project_clear(&p);

    /* The counter agrees with the rows. */
    an_err err;
    an_task_iter *it;
    const an_task_row *r;
    assert_int_equal(an_store_tasks_open(f->s, pid, 0, &it, &err), 0);
    int64_t rows = 0, last = 0;
    while (an_task_iter_next(it, &r, &err) == 1) {
        assert_true(r->id > last);
        last = r->id;
        rows++;
    }
    an_task_iter_close(it);
    assert_int_equal(rows, WRITERS * TX_PER_WRITER * TASKS_PER_TX);
}

static void test_crash_mid_transaction_leaves_nothing(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    begin(f->s);
    put_task(f->s, pid, "kept");
    commit(f->s);

    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        an_store *s;
        an_err err;
        if (an_store_open(f->path, &s, &err) || an_store_begin(s, &err)) _exit(1);
        for (int i = 0; i < 1000; i++) {
            char data[32];
            int n = snprintf(data, sizeof data, "{\"lost\":%d}", i);
            an_task_in t = {.project_id = pid, .data = data, .data_len = (size_t)n};
            an_hash(data, (size_t)n, t.hash);
            int64_t id;
            if (an_store_task_insert(s, &t, &id, &err)) _exit(1);
        }
        _exit(0); /* dies holding the write lock, without commit */
    }
    int status;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    an_store_close(f->s);
    an_err err;
    assert_int_equal(an_store_open(f->path, &f->s, &err), 0);
    an_project p = get_project(f->s, "p");
    assert_int_equal(p.task_count, 1);
    an_project_clear(&p);
    an_task_iter *it;
    const an_task_row *r;
    assert_int_equal(an_store_tasks_open(f->s, pid, 0, &it, &err), 0);
    assert_int_equal(an_task_iter_next(it, &r, &err), 1);
    assert_string_equal(r->data, "{\"text\":\"kept\"}");
    assert_int_equal(an_task_iter_next(it, &r, &err), 0);
    an_task_iter_close(it);
    /* The dead writer's lock is gone: writing works at once. */
    begin(f->s);
    assert_true(put_task(f->s, pid, "after") > 0);
    commit(f->s);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_create_reopen_keeps_data),
        T(test_upgrades_version_zero_file),
        T(test_newer_workspace_refused),
        T(test_foreign_database_refused),
        T(test_open_errors),
        cmocka_unit_test(test_roles),
        T(test_users),
        T(test_projects),
        T(test_writes_need_transaction),
        T(test_dedupe_by_hash),
        T(test_dedupe_exact_when_index_keys_collide),
        T(test_insert_errors),
        T(test_counters_commit_and_rollback),
        T(test_batches),
        T(test_iterator_merge_join),
        T(test_iterator_large_task_and_meta),
        T(test_iterator_snapshot),
        T(test_label_counts),
        T(test_concurrent_writers_queue),
        T(test_crash_mid_transaction_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
