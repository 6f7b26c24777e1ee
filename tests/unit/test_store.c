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
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/hash.h"
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
    if (tl_workspace_open("store", f->dir, sizeof f->dir, f->path, sizeof f->path, &f->s))
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

/* Collects annotator counts as "id:submitted/skipped/mean;" text. */
static int collect_annotator(void *ud, const an_annotator_count *c)
{
    names *ns = ud;
    size_t len = strlen(ns->text);
    snprintf(ns->text + len, sizeof ns->text - len, "%lld:%lld/%lld/%g;",
             (long long)c->annotator_id, (long long)c->submitted, (long long)c->skipped,
             isnan(c->mean_lead_time) ? -1.0 : c->mean_lead_time);
    return 0;
}

static void test_annotator_counts(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    int64_t other = make_project(f->s, "q");
    an_err err;
    int64_t u1, u2;
    assert_int_equal(an_store_user_add(f->s, "u1", AN_ROLE_ANNOTATOR, &u1, &err), 0);
    assert_int_equal(an_store_user_add(f->s, "u2", AN_ROLE_ANNOTATOR, &u2, &err), 0);
    begin(f->s);
    int64_t t1 = put_task(f->s, pid, "1"), t2 = put_task(f->s, pid, "2");
    int64_t q1 = put_task(f->s, other, "1");
    const double times[] = {10, 20, NAN, 99, 5};
    const int64_t who[] = {u1, u1, u1, u1, u2};
    const int64_t task[] = {t1, t2, t1, t2, t1};
    const bool skip[] = {false, false, false, true, false};
    for (int i = 0; i < 5; i++) {
        an_annotation_in a = {.task_id = task[i], .project_id = pid, .annotator_id = who[i],
                              .result = "[]", .lead_time = times[i], .cancelled = skip[i]};
        int64_t id;
        assert_int_equal(an_store_annotation_insert(f->s, &a, &id, &err), 0);
    }
    put_annotation(f->s, other, q1, "[]", false, NULL, 0); /* another project: not counted */
    commit(f->s);
    names ns = {{0}, 0};
    assert_int_equal(an_store_annotator_counts(f->s, pid, collect_annotator, &ns, &err), 0);
    char want[128];
    /* u1: 3 submitted (mean over the two with a time: 15), 1 skipped (its 99 s not counted) */
    snprintf(want, sizeof want, "%lld:3/1/15;%lld:1/0/5;", (long long)u1, (long long)u2);
    assert_string_equal(ns.text, want);
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

/* ==== schema 2: accounts, access and review ============================================== */

/* One integer from a query run on the workspace file through a separate connection, so it
 * sees what was committed, whatever the store believes. */
static int64_t file_int(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
    assert_int_equal(rc, SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static int64_t make_user(an_store *s, const char *name, an_role role)
{
    int64_t id = 0;
    an_err err;
    int rc = an_store_user_add(s, name, role, &id, &err);
    if (rc) fprintf(stderr, "user_add: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return id;
}

/* The project's counters equal its rows, counted on the file. */
static void assert_counters_exact(fixture *f, int64_t pid)
{
    char id[24], sql[256];
    snprintf(id, sizeof id, "%lld", (long long)pid);
    an_project p = get_project(f->s, id);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM tasks WHERE project_id = %lld", (long long)pid);
    assert_int_equal(p.task_count, file_int(f->path, sql));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM annotations WHERE project_id = %lld",
             (long long)pid);
    assert_int_equal(p.annotation_count, file_int(f->path, sql));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM predictions WHERE project_id = %lld",
             (long long)pid);
    assert_int_equal(p.prediction_count, file_int(f->path, sql));
    an_project_clear(&p);
}

/* A batch of writes in one transaction where one fails: undo to the mark drops that one
 * write and its counters, the others commit. */
static void test_mark_undo_drops_one_write_of_a_batch(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "batch");
    an_err err;
    assert_int_equal(an_store_mark(f->s, &err), -AN_EINTERNAL); /* no transaction */
    begin(f->s);
    assert_int_equal(an_store_mark(f->s, &err), 0);
    int64_t a = put_task(f->s, pid, "kept one");
    assert_int_equal(an_store_mark_release(f->s, &err), 0);
    assert_int_equal(an_store_mark(f->s, &err), 0);
    assert_int_equal(an_store_mark(f->s, &err), -AN_EINTERNAL); /* one level */
    int64_t b = put_task(f->s, pid, "undone");
    assert_int_equal(an_store_mark_undo(f->s, &err), 0);
    assert_int_equal(an_store_mark(f->s, &err), 0);
    int64_t c = put_task(f->s, pid, "kept two");
    assert_int_equal(an_store_mark_release(f->s, &err), 0);
    commit(f->s);
    an_task t;
    assert_int_equal(an_store_task_get(f->s, a, &t, &err), 0);
    an_task_clear(&t);
    assert_int_equal(an_store_task_get(f->s, c, &t, &err), 0);
    an_task_clear(&t);
    assert_true(b == c || an_store_task_get(f->s, b, &t, &err) == -AN_ENOTFOUND);
    an_project p;
    assert_int_equal(an_store_project_get(f->s, "batch", &p, &err), 0);
    assert_int_equal(p.task_count, 2);
    an_project_clear(&p);
}

static void test_upgrade_from_version_one_keeps_data(void **state)
{
    fixture *f = *state;
    assert_int_equal(an_store_schema_version(f->s), 8);
    make_user(f->s, "ann", AN_ROLE_ANNOTATOR);
    int64_t pid = make_project(f->s, "p");
    begin(f->s);
    put_task(f->s, pid, "a");
    commit(f->s);
    an_store_close(f->s);
    f->s = NULL;
    /* Turn the file back into a version-1 workspace holding that data. */
    file_exec(f->path, "DROP TABLE task_provenance; DROP TABLE ledger_tasks; "
                       "DROP TABLE ledger; DROP INDEX annotations_gold; DROP TABLE embeddings; DROP TABLE ml_backends; DROP TABLE models; "
                       "DROP INDEX predictions_task_version; "
                       "DROP TABLE task_marks; DROP TABLE workspace_settings; "
                       "DROP TABLE webhooks; DROP TABLE qc_findings; DROP TABLE qc_rules; "
                       "DROP TABLE export_jobs; DROP TABLE next_hints; DROP TABLE audit; DROP TABLE reviews; DROP TABLE task_locks; "
                       "DROP TABLE memberships; DROP TABLE sessions; DROP TABLE api_tokens; "
                       "DROP INDEX annotations_task_annotator; "
                       "ALTER TABLE users DROP COLUMN password_hash; "
                       "ALTER TABLE users DROP COLUMN active; PRAGMA user_version = 1;");
    an_err err;
    assert_int_equal(an_store_open(f->path, &f->s, &err), 0);
    assert_int_equal(an_store_schema_version(f->s), 8);
    assert_int_equal(file_user_version(f->path), 8);
    an_user u;
    char *hash = (char *)"x";
    /* Existing users are active and have no password. */
    assert_int_equal(an_store_user_auth(f->s, "ann", &u, &hash, &err), 0);
    assert_null(hash);
    an_user_clear(&u);
    an_project p = get_project(f->s, "p");
    assert_int_equal(p.task_count, 1);
    an_project_clear(&p);
}

static void test_user_password_and_activity(void **state)
{
    fixture *f = *state;
    int64_t uid = make_user(f->s, "alice", AN_ROLE_MANAGER);
    an_err err;
    an_user u;
    char *hash = NULL;
    assert_int_equal(an_store_user_set_password(f->s, uid, "$argon2id$fake", &err), 0);
    assert_int_equal(an_store_user_auth(f->s, "alice", &u, &hash, &err), 0);
    assert_int_equal(u.id, uid);
    assert_string_equal(u.name, "alice");
    assert_int_equal(u.role, AN_ROLE_MANAGER);
    assert_string_equal(hash, "$argon2id$fake");
    free(hash);
    an_user_clear(&u);

    /* Inside a caller's transaction the change rolls back with it. */
    begin(f->s);
    assert_int_equal(an_store_user_set_password(f->s, uid, NULL, &err), 0);
    an_store_rollback(f->s);
    assert_int_equal(an_store_user_auth(f->s, "alice", &u, &hash, &err), 0);
    assert_non_null(hash);
    free(hash);
    an_user_clear(&u);

    assert_int_equal(an_store_user_set_password(f->s, uid, NULL, &err), 0);
    assert_int_equal(an_store_user_auth(f->s, "alice", &u, &hash, &err), 0);
    assert_null(hash);
    an_user_clear(&u);

    bool active = false;
    assert_int_equal(an_store_user_is_active(f->s, uid, &active, &err), 0);
    assert_true(active);
    assert_int_equal(an_store_user_set_active(f->s, uid, false, &err), 0);
    assert_int_equal(an_store_user_is_active(f->s, uid, &active, &err), 0);
    assert_false(active);
    assert_int_equal(an_store_user_auth(f->s, "alice", &u, &hash, &err), -AN_ENOTFOUND);
    assert_null(hash);
    assert_null(u.name);
    /* by id still finds the inactive user */
    assert_int_equal(an_store_user_by_id(f->s, uid, &u, &err), 0);
    assert_string_equal(u.name, "alice");
    an_user_clear(&u);

    assert_int_equal(an_store_user_auth(f->s, "nobody", &u, &hash, &err), -AN_ENOTFOUND);
    assert_int_equal(an_store_user_by_id(f->s, 999, &u, &err), -AN_ENOTFOUND);
    assert_int_equal(an_store_user_set_password(f->s, 999, "h", &err), -AN_ENOTFOUND);
    assert_int_equal(an_store_user_set_active(f->s, 999, true, &err), -AN_ENOTFOUND);
    assert_int_equal(an_store_user_is_active(f->s, 999, &active, &err), -AN_ENOTFOUND);
    assert_int_equal(an_store_user_set_password(f->s, uid, "", &err), -AN_EINVAL);
}

static void test_tokens(void **state)
{
    fixture *f = *state;
    int64_t uid = make_user(f->s, "bot", AN_ROLE_ANNOTATOR);
    int64_t other = make_user(f->s, "eve", AN_ROLE_ANNOTATOR);
    uint8_t h[AN_SECRET_HASH_BYTES], h2[AN_SECRET_HASH_BYTES];
    memset(h, 7, sizeof h);
    memset(h2, 8, sizeof h2);
    an_err err;
    int64_t tid = 0;
    assert_int_equal(an_store_token_add(f->s, uid, h, "ci", &tid, &err), 0);
    assert_true(tid > 0);
    assert_int_equal(an_store_token_add(f->s, uid, h, "again", NULL, &err), -AN_EEXIST);
    assert_int_equal(an_store_token_add(f->s, 999, h2, NULL, NULL, &err), -AN_ENOTFOUND);

    char sql[128];
    snprintf(sql, sizeof sql, "SELECT last_used_at IS NULL FROM api_tokens WHERE id = %lld",
             (long long)tid);
    assert_int_equal(file_int(f->path, sql), 1);
    an_user u;
    assert_int_equal(an_store_token_user(f->s, h, &u, &err), 0);
    assert_int_equal(u.id, uid);
    assert_string_equal(u.name, "bot");
    an_user_clear(&u);
    assert_int_equal(file_int(f->path, sql), 0); /* first use recorded */

    /* A use 30 s after the last one is not written again; one after two minutes is. */
    char set[160];
    snprintf(set, sizeof set,
             "UPDATE api_tokens SET last_used_at = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now', "
             "'-30 seconds') WHERE id = %lld",
             (long long)tid);
    file_exec(f->path, set);
    snprintf(sql, sizeof sql,
             "SELECT last_used_at < strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now', '-20 seconds') "
             "FROM api_tokens WHERE id = %lld",
             (long long)tid);
    assert_int_equal(an_store_token_user(f->s, h, &u, &err), 0);
    an_user_clear(&u);
    assert_int_equal(file_int(f->path, sql), 1); /* unchanged */
    snprintf(set, sizeof set,
             "UPDATE api_tokens SET last_used_at = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now', "
             "'-120 seconds') WHERE id = %lld",
             (long long)tid);
    file_exec(f->path, set);
    assert_int_equal(an_store_token_user(f->s, h, &u, &err), 0);
    an_user_clear(&u);
    assert_int_equal(file_int(f->path, sql), 0); /* refreshed */

    assert_int_equal(an_store_token_user(f->s, h2, &u, &err), -AN_ENOTFOUND);
    /* Inactive users' tokens stop working, and work again on reactivation. */
    assert_int_equal(an_store_user_set_active(f->s, uid, false, &err), 0);
    assert_int_equal(an_store_token_user(f->s, h, &u, &err), -AN_ENOTFOUND);
    assert_int_equal(an_store_user_set_active(f->s, uid, true, &err), 0);
    assert_int_equal(an_store_token_user(f->s, h, &u, &err), 0);
    an_user_clear(&u);

    /* Only the owner (or an unrestricted caller) revokes. */
    assert_int_equal(an_store_token_delete(f->s, tid, other, &err), -AN_ENOTFOUND);
    assert_int_equal(an_store_token_delete(f->s, tid, uid, &err), 0);
    assert_int_equal(an_store_token_user(f->s, h, &u, &err), -AN_ENOTFOUND);
    assert_int_equal(an_store_token_delete(f->s, tid, 0, &err), -AN_ENOTFOUND);
}

static void test_sessions(void **state)
{
    fixture *f = *state;
    int64_t uid = make_user(f->s, "carol", AN_ROLE_REVIEWER);
    uint8_t live[AN_SECRET_HASH_BYTES], old[AN_SECRET_HASH_BYTES], gone[AN_SECRET_HASH_BYTES];
    memset(live, 1, sizeof live);
    memset(old, 2, sizeof old);
    memset(gone, 3, sizeof gone);
    an_err err;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(an_store_session_add(f->s, old, uid, "csrf-old", now - 1, &err), 0);
    an_user u;
    char *csrf = NULL;
    assert_int_equal(an_store_session_get(f->s, old, &u, &csrf, &err), -AN_ENOTFOUND);
    assert_null(csrf);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM sessions"), 1);

    /* Adding a session also clears out expired ones. */
    assert_int_equal(an_store_session_add(f->s, live, uid, "csrf-live", now + 3600, &err), 0);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM sessions"), 1);
    assert_int_equal(an_store_session_get(f->s, live, &u, &csrf, &err), 0);
    assert_int_equal(u.id, uid);
    assert_int_equal(u.role, AN_ROLE_REVIEWER);
    assert_string_equal(csrf, "csrf-live");
    free(csrf);
    an_user_clear(&u);

    assert_int_equal(an_store_session_add(f->s, live, uid, "x", now + 10, &err), -AN_EEXIST);
    assert_int_equal(an_store_session_add(f->s, gone, 999, "x", now + 10, &err), -AN_ENOTFOUND);
    assert_int_equal(an_store_session_add(f->s, gone, uid, "", now + 10, &err), -AN_EINVAL);

    assert_int_equal(an_store_user_set_active(f->s, uid, false, &err), 0);
    assert_int_equal(an_store_session_get(f->s, live, &u, &csrf, &err), -AN_ENOTFOUND);
    assert_int_equal(an_store_user_set_active(f->s, uid, true, &err), 0);

    assert_int_equal(an_store_session_delete(f->s, live, &err), 0);
    assert_int_equal(an_store_session_get(f->s, live, &u, &csrf, &err), -AN_ENOTFOUND);
    assert_int_equal(an_store_session_delete(f->s, gone, &err), 0); /* unknown: fine */
}

static int collect_id(void *ud, int64_t id)
{
    names *ns = ud;
    size_t len = strlen(ns->text);
    snprintf(ns->text + len, sizeof ns->text - len, "%s%lld", ns->n ? "," : "", (long long)id);
    ns->n++;
    return 0;
}

static void test_memberships(void **state)
{
    fixture *f = *state;
    int64_t a = make_user(f->s, "a", AN_ROLE_ANNOTATOR);
    int64_t b = make_user(f->s, "b", AN_ROLE_REVIEWER);
    int64_t p1 = make_project(f->s, "p1");
    int64_t p2 = make_project(f->s, "p2");
    an_err err;
    bool is = true;
    assert_int_equal(an_store_is_member(f->s, p1, a, &is, &err), 0);
    assert_false(is);
    assert_int_equal(an_store_member_add(f->s, p1, b, &err), 0);
    assert_int_equal(an_store_member_add(f->s, p1, a, &err), 0);
    assert_int_equal(an_store_member_add(f->s, p1, a, &err), 0); /* again: no change */
    assert_int_equal(an_store_member_add(f->s, p2, a, &err), 0);
    assert_int_equal(an_store_is_member(f->s, p1, a, &is, &err), 0);
    assert_true(is);
    assert_int_equal(an_store_is_member(f->s, p2, b, &is, &err), 0);
    assert_false(is);

    names ns = {{0}, 0};
    assert_int_equal(an_store_member_list(f->s, p1, collect_user, &ns, &err), 0);
    char want[64];
    snprintf(want, sizeof want, "%lld:a:annotator,%lld:b:reviewer", (long long)a, (long long)b);
    assert_string_equal(ns.text, want);
    ns = (names){{0}, 0};
    assert_int_equal(an_store_user_projects(f->s, a, collect_id, &ns, &err), 0);
    snprintf(want, sizeof want, "%lld,%lld", (long long)p1, (long long)p2);
    assert_string_equal(ns.text, want);

    assert_int_equal(an_store_member_remove(f->s, p1, a, &err), 0);
    assert_int_equal(an_store_member_remove(f->s, p1, a, &err), -AN_ENOTFOUND);
    assert_int_equal(an_store_is_member(f->s, p1, a, &is, &err), 0);
    assert_false(is);
    assert_int_equal(an_store_member_add(f->s, 999, a, &err), -AN_ENOTFOUND);
    assert_string_equal(err.where, "project_id");
    assert_int_equal(an_store_member_add(f->s, p1, 999, &err), -AN_ENOTFOUND);
    assert_string_equal(err.where, "user_id");
}

typedef struct briefs {
    int64_t ids[64];
    int64_t ann[64], canc[64], pred[64];
    int n;
} briefs;

static int collect_brief(void *ud, const an_task_brief *t)
{
    briefs *b = ud;
    assert_true(b->n < 64);
    assert_non_null(t->created_at);
    b->ids[b->n] = t->id;
    b->ann[b->n] = t->annotation_count;
    b->canc[b->n] = t->cancelled_count;
    b->pred[b->n] = t->prediction_count;
    b->n++;
    return 0;
}

static void test_task_get_and_paging(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    int64_t other = make_project(f->s, "q");
    int64_t ids[10];
    begin(f->s);
    for (int i = 0; i < 10; i++) {
        char text[8];
        snprintf(text, sizeof text, "t%d", i);
        ids[i] = put_task(f->s, pid, text);
        if (i == 4) put_task(f->s, other, "interleaved");
    }
    put_annotation(f->s, pid, ids[2], "[]", false, NULL, 0);
    put_annotation(f->s, pid, ids[2], "[]", false, NULL, 0);
    put_annotation(f->s, pid, ids[2], "[]", true, NULL, 0);
    put_prediction(f->s, pid, ids[2], "v", 0.5);
    put_prediction(f->s, pid, ids[3], "v", NAN);
    commit(f->s);

    an_err err;
    an_task t;
    assert_int_equal(an_store_task_get(f->s, ids[2], &t, &err), 0);
    assert_int_equal(t.id, ids[2]);
    assert_int_equal(t.project_id, pid);
    assert_string_equal(t.data, "{\"text\":\"t2\"}");
    assert_int_equal(t.data_len, strlen("{\"text\":\"t2\"}"));
    assert_null(t.meta);
    assert_non_null(t.created_at);
    assert_int_equal(t.annotation_count, 2); /* the cancelled one is not counted */
    assert_int_equal(t.prediction_count, 1);
    an_task_clear(&t);
    assert_int_equal(an_store_task_get(f->s, 424242, &t, &err), -AN_ENOTFOUND);

    briefs b = {0};
    assert_int_equal(an_store_task_page(f->s, pid, 2, 3, collect_brief, &b, &err), 0);
    assert_int_equal(b.n, 3);
    assert_int_equal(b.ids[0], ids[2]);
    assert_int_equal(b.ids[2], ids[4]);
    assert_int_equal(b.ann[0], 2);
    assert_int_equal(b.canc[0], 1);
    assert_int_equal(b.pred[0], 1);
    assert_int_equal(b.pred[1], 1);
    assert_int_equal(b.ann[1], 0);

    /* Keyset paging walks the project (and only it) in pages. */
    int64_t after = 0;
    int seen = 0;
    for (;;) {
        b = (briefs){0};
        assert_int_equal(an_store_task_after(f->s, pid, after, 4, collect_brief, &b, &err), 0);
        if (b.n == 0) break;
        assert_true(b.n <= 4);
        for (int i = 0; i < b.n; i++)
            assert_int_equal(b.ids[i], ids[seen + i]);
        seen += b.n;
        after = b.ids[b.n - 1];
    }
    assert_int_equal(seen, 10);
    b = (briefs){0};
    assert_int_equal(an_store_task_page(f->s, pid, 10, 5, collect_brief, &b, &err), 0);
    assert_int_equal(b.n, 0);
    assert_int_equal(an_store_task_page(f->s, pid, -1, 5, collect_brief, &b, &err), -AN_EINVAL);
    assert_int_equal(an_store_task_after(f->s, pid, 0, -1, collect_brief, &b, &err), -AN_EINVAL);
}

static an_task_in task_in(int64_t pid, const char *data)
{
    an_task_in t = {.project_id = pid, .data = data, .data_len = strlen(data)};
    an_hash(data, t.data_len, t.hash);
    return t;
}

static void test_task_update_and_delete(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    int64_t rev = make_user(f->s, "rev", AN_ROLE_REVIEWER);
    const an_label_ref pos[] = {{"sentiment", "pos"}};
    an_err err;
    begin(f->s);
    int64_t t1 = put_task(f->s, pid, "one");
    int64_t t2 = put_task(f->s, pid, "two");
    int64_t a1 = put_annotation(f->s, pid, t1, "[]", false, pos, 1);
    put_annotation(f->s, pid, t1, "[]", true, pos, 1);
    put_annotation(f->s, pid, t2, "[]", false, pos, 1);
    put_prediction(f->s, pid, t1, "v", 0.1);
    put_prediction(f->s, pid, t2, "v", 0.1);
    commit(f->s);
    bool got;
    int64_t rid;
    assert_int_equal(an_store_review_add(f->s, a1, rev, true, "ok", &rid, &err), 0);
    assert_int_equal(an_store_lock_task(f->s, t1, rev, time(NULL) + 60, &got, &err), 0);
    assert_true(got);

    /* Update: new content, new dedupe identity. */
    begin(f->s);
    an_task_in in = task_in(pid, "{\"text\":\"uno\"}");
    in.meta = "{\"m\":1}";
    assert_int_equal(an_store_task_update_data(f->s, t1, &in, &err), 0);
    /* the old content is free again, the new one is taken */
    assert_true(put_task(f->s, pid, "one") > 0);
    assert_int_equal(put_task(f->s, pid, "uno"), 0);
    /* another task's content is refused */
    an_task_in dup = task_in(pid, "{\"text\":\"two\"}");
    assert_int_equal(an_store_task_update_data(f->s, t1, &dup, &err), -AN_EEXIST);
    /* wrong project, or no such task */
    an_task_in wrong = task_in(pid + 1, "{\"text\":\"x\"}");
    assert_int_equal(an_store_task_update_data(f->s, t1, &wrong, &err), -AN_ENOTFOUND);
    assert_int_equal(an_store_task_update_data(f->s, 9999, &in, &err), -AN_ENOTFOUND);
    /* same content again: only meta and updated_at change */
    in.meta = NULL;
    in.updated_at = "2030-01-01T00:00:00.000000Z";
    assert_int_equal(an_store_task_update_data(f->s, t1, &in, &err), 0);
    commit(f->s);
    an_task t;
    assert_int_equal(an_store_task_get(f->s, t1, &t, &err), 0);
    assert_string_equal(t.data, "{\"text\":\"uno\"}");
    assert_null(t.meta);
    assert_string_equal(t.updated_at, "2030-01-01T00:00:00.000000Z");
    assert_int_equal(t.annotation_count, 1);
    an_task_clear(&t);
    assert_counters_exact(f, pid);

    /* Delete: the task's annotations, labels, predictions, reviews and lock go with it, and
     * the counters drop by exactly that. */
    begin(f->s);
    assert_int_equal(an_store_task_delete(f->s, t1, &err), 0);
    an_project p = get_project(f->s, "p"); /* inside the transaction already */
    assert_int_equal(p.task_count, 2);
    assert_int_equal(p.annotation_count, 1);
    assert_int_equal(p.prediction_count, 1);
    an_project_clear(&p);
    assert_int_equal(an_store_task_delete(f->s, t1, &err), -AN_ENOTFOUND);
    commit(f->s);
    assert_counters_exact(f, pid);
    assert_int_equal(an_store_task_get(f->s, t1, &t, &err), -AN_ENOTFOUND);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM reviews"), 0);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM task_locks"), 0);
    names ns = {{0}, 0};
    assert_int_equal(an_store_label_counts(f->s, pid, collect_label, &ns, &err), 0);
    assert_string_equal(ns.text, "sentiment/pos=1");

    /* A rolled-back delete changes nothing. */
    begin(f->s);
    assert_int_equal(an_store_task_delete(f->s, t2, &err), 0);
    an_store_rollback(f->s);
    assert_counters_exact(f, pid);
    assert_int_equal(an_store_task_get(f->s, t2, &t, &err), 0);
    an_task_clear(&t);

    assert_int_equal(an_store_task_delete(f->s, t2, &err), -AN_EINTERNAL); /* no transaction */
}

static void test_dedupe_exact_after_delete_and_update_in_key_run(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    /* h1, h2, h3 share the index key; h2 and h3 sit at later keys of h1's run. */
    uint8_t h1[AN_HASH_BYTES] = {9, 9, 9, 9, 9, 9, 9, 9, 1};
    uint8_t h2[AN_HASH_BYTES] = {9, 9, 9, 9, 9, 9, 9, 9, 2};
    uint8_t h3[AN_HASH_BYTES] = {9, 9, 9, 9, 9, 9, 9, 9, 3};
    an_err err;
    begin(f->s);
    int64_t a = put_with_hash(f->s, pid, "{\"a\":1}", h1);
    int64_t b = put_with_hash(f->s, pid, "{\"a\":2}", h2);
    int64_t c = put_with_hash(f->s, pid, "{\"a\":3}", h3);
    assert_true(a > 0 && b > 0 && c > 0);
    /* Deleting the head of the run must not hide the others from the duplicate check. */
    assert_int_equal(an_store_task_delete(f->s, a, &err), 0);
    assert_int_equal(put_with_hash(f->s, pid, "{\"a\":2}", h2), 0);
    assert_int_equal(put_with_hash(f->s, pid, "{\"a\":3}", h3), 0);
    /* Moving b out of the run (new content) must not hide c either. */
    an_task_in in = task_in(pid, "{\"a\":\"b2\"}");
    assert_int_equal(an_store_task_update_data(f->s, b, &in, &err), 0);
    assert_int_equal(put_with_hash(f->s, pid, "{\"a\":3}", h3), 0);
    assert_int_equal(put_with_hash(f->s, pid, "{\"a\":2}", h2) > 0, 1); /* h2 is free now */
    /* Moving c into the content a had (h1) is allowed: a is gone. */
    an_task_in back = {.project_id = pid, .data = "{\"a\":1}", .data_len = 7};
    memcpy(back.hash, h1, AN_HASH_BYTES);
    assert_int_equal(an_store_task_update_data(f->s, c, &back, &err), 0);
    assert_int_equal(put_with_hash(f->s, pid, "{\"a\":1}", h1), 0);
    assert_int_equal(put_with_hash(f->s, pid, "{\"a\":3}", h3) > 0, 1);
    commit(f->s);
    assert_counters_exact(f, pid);
}

typedef struct anns {
    int64_t ids[16];
    char results[16][32];
    int n;
} anns;

static int collect_annotation(void *ud, const an_annotation *a)
{
    anns *x = ud;
    assert_true(x->n < 16);
    x->ids[x->n] = a->id;
    snprintf(x->results[x->n], sizeof x->results[x->n], "%s", a->result);
    x->n++;
    return 0;
}

static void test_annotation_get_list_update_delete(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    int64_t uid = make_user(f->s, "ann", AN_ROLE_ANNOTATOR);
    const an_label_ref pos[] = {{"sentiment", "pos"}};
    const an_label_ref neg[] = {{"sentiment", "neg"}, {"box", "cat"}};
    an_err err;
    begin(f->s);
    int64_t t1 = put_task(f->s, pid, "1");
    an_annotation_in in = {.task_id = t1,
                           .project_id = pid,
                           .annotator_id = uid,
                           .result = "[1]",
                           .lead_time = 2.5,
                           .labels = pos,
                           .n_labels = 1};
    int64_t a1 = 0;
    assert_int_equal(an_store_annotation_insert(f->s, &in, &a1, &err), 0);
    int64_t a2 = put_annotation(f->s, pid, t1, "[2]", false, pos, 1);
    commit(f->s);

    an_annotation a;
    assert_int_equal(an_store_annotation_get(f->s, a1, &a, &err), 0);
    assert_int_equal(a.id, a1);
    assert_int_equal(a.task_id, t1);
    assert_int_equal(a.project_id, pid);
    assert_int_equal(a.annotator_id, uid);
    assert_string_equal(a.result, "[1]");
    assert_true(a.lead_time == 2.5);
    assert_false(a.ground_truth);
    assert_false(a.cancelled);
    assert_non_null(a.created_at);
    an_annotation_clear(&a);
    assert_int_equal(an_store_annotation_get(f->s, 9999, &a, &err), -AN_ENOTFOUND);

    anns x = {0};
    assert_int_equal(an_store_annotation_list(f->s, t1, collect_annotation, &x, &err), 0);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.ids[0], a1);
    assert_string_equal(x.results[1], "[2]");

    an_annotation_update up = {.result = "[3]",
                               .lead_time = NAN,
                               .ground_truth = true,
                               .cancelled = true,
                               .updated_at = "2031-01-01T00:00:00.000000Z",
                               .labels = neg,
                               .n_labels = 2};
    assert_int_equal(an_store_annotation_update(f->s, a1, &up, &err), -AN_EINTERNAL);
    begin(f->s);
    assert_int_equal(an_store_annotation_update(f->s, a1, &up, &err), 0);
    assert_int_equal(an_store_annotation_update(f->s, 9999, &up, &err), -AN_ENOTFOUND);
    commit(f->s);
    assert_int_equal(an_store_annotation_get(f->s, a1, &a, &err), 0);
    assert_string_equal(a.result, "[3]");
    assert_true(isnan(a.lead_time));
    assert_true(a.ground_truth);
    assert_true(a.cancelled);
    assert_int_equal(a.annotator_id, uid); /* kept */
    assert_string_equal(a.updated_at, "2031-01-01T00:00:00.000000Z");
    an_annotation_clear(&a);
    /* Label counts follow: a1 is cancelled now, so only a2's pos remains counted; uncancel
     * it and its new labels replace the old. */
    names ns = {{0}, 0};
    assert_int_equal(an_store_label_counts(f->s, pid, collect_label, &ns, &err), 0);
    assert_string_equal(ns.text, "sentiment/pos=1");
    up.cancelled = false;
    begin(f->s);
    assert_int_equal(an_store_annotation_update(f->s, a1, &up, &err), 0);
    commit(f->s);
    ns = (names){{0}, 0};
    assert_int_equal(an_store_label_counts(f->s, pid, collect_label, &ns, &err), 0);
    assert_string_equal(ns.text, "box/cat=1,sentiment/neg=1,sentiment/pos=1");
    an_task t;
    assert_int_equal(an_store_task_get(f->s, t1, &t, &err), 0);
    assert_int_equal(t.annotation_count, 2);
    an_task_clear(&t);
    assert_counters_exact(f, pid);

    begin(f->s);
    assert_int_equal(an_store_annotation_delete(f->s, a1, &err), 0);
    assert_int_equal(an_store_annotation_delete(f->s, a1, &err), -AN_ENOTFOUND);
    commit(f->s);
    assert_counters_exact(f, pid);
    ns = (names){{0}, 0};
    assert_int_equal(an_store_label_counts(f->s, pid, collect_label, &ns, &err), 0);
    assert_string_equal(ns.text, "sentiment/pos=1");
    an_project p = get_project(f->s, "p");
    assert_int_equal(p.annotation_count, 1);
    an_project_clear(&p);
    (void)a2;
}

static int collect_prediction(void *ud, const an_prediction_row *p)
{
    names *ns = ud;
    size_t len = strlen(ns->text);
    snprintf(ns->text + len, sizeof ns->text - len, "%s%s:%g:%s", ns->n ? "," : "",
             p->model_version, p->score, p->result);
    ns->n++;
    return 0;
}

static void test_prediction_list(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    begin(f->s);
    int64_t t1 = put_task(f->s, pid, "1");
    int64_t t2 = put_task(f->s, pid, "2");
    put_prediction(f->s, pid, t1, "v1", 0.25);
    put_prediction(f->s, pid, t2, "other", 1);
    put_prediction(f->s, pid, t1, "v2", NAN);
    commit(f->s);
    names ns = {{0}, 0};
    an_err err;
    assert_int_equal(an_store_prediction_list(f->s, t1, collect_prediction, &ns, &err), 0);
    assert_string_equal(ns.text, "v1:0.25:[],v2:nan:[]");
}

static void test_task_locks(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    int64_t u1 = make_user(f->s, "u1", AN_ROLE_ANNOTATOR);
    int64_t u2 = make_user(f->s, "u2", AN_ROLE_ANNOTATOR);
    begin(f->s);
    int64_t t1 = put_task(f->s, pid, "1");
    commit(f->s);
    an_err err;
    bool got = false;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(an_store_lock_task(f->s, t1, u1, now + 600, &got, &err), 0);
    assert_true(got);
    assert_int_equal(an_store_lock_task(f->s, t1, u2, now + 600, &got, &err), 0);
    assert_false(got);
    /* the holder may renew */
    assert_int_equal(an_store_lock_task(f->s, t1, u1, now + 1200, &got, &err), 0);
    assert_true(got);
    /* another user's unlock does not release it */
    assert_int_equal(an_store_unlock_task(f->s, t1, u2, &err), 0);
    assert_int_equal(an_store_lock_task(f->s, t1, u2, now + 600, &got, &err), 0);
    assert_false(got);
    assert_int_equal(an_store_unlock_task(f->s, t1, u1, &err), 0);
    assert_int_equal(an_store_lock_task(f->s, t1, u2, now - 5, &got, &err), 0);
    assert_true(got);
    /* u2's lock has expired: u1 takes it over */
    assert_int_equal(an_store_lock_task(f->s, t1, u1, now + 600, &got, &err), 0);
    assert_true(got);
    assert_int_equal(an_store_lock_task(f->s, 9999, u1, now + 600, &got, &err), -AN_ENOTFOUND);
    assert_false(got);
    assert_int_equal(an_store_unlock_task(f->s, t1, u1, &err), 0);
    assert_int_equal(an_store_lock_task(f->s, t1, 9999, now + 600, &got, &err), -AN_ENOTFOUND);
    assert_string_equal(err.where, "user_id");
}

enum { NEXT_TASKS = 3000 };

static void test_next_task_rules(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    int64_t other = make_project(f->s, "q");
    int64_t u1 = make_user(f->s, "u1", AN_ROLE_ANNOTATOR);
    int64_t u2 = make_user(f->s, "u2", AN_ROLE_ANNOTATOR);
    int64_t u3 = make_user(f->s, "u3", AN_ROLE_ANNOTATOR);
    static int64_t ids[NEXT_TASKS];
    begin(f->s);
    put_task(f->s, other, "lower id, other project");
    for (int i = 0; i < NEXT_TASKS; i++) {
        char text[16];
        snprintf(text, sizeof text, "n%d", i);
        ids[i] = put_task(f->s, pid, text);
    }
    /* Tasks 0..1999: two live annotations each (by u2, u3). Task 2000: one by u1 (cancelled,
     * i.e. skipped) and one by u2. Task 2001: one by u2. */
    an_annotation_in a = {.project_id = pid, .result = "[]", .lead_time = NAN};
    int64_t aid;
    an_err err;
    for (int i = 0; i < 2000; i++) {
        a.task_id = ids[i];
        a.annotator_id = u2;
        assert_int_equal(an_store_annotation_insert(f->s, &a, &aid, &err), 0);
        a.annotator_id = u3;
        assert_int_equal(an_store_annotation_insert(f->s, &a, &aid, &err), 0);
    }
    a.task_id = ids[2000];
    a.annotator_id = u1;
    a.cancelled = true;
    assert_int_equal(an_store_annotation_insert(f->s, &a, &aid, &err), 0);
    a.cancelled = false;
    a.annotator_id = u2;
    assert_int_equal(an_store_annotation_insert(f->s, &a, &aid, &err), 0);
    a.task_id = ids[2001];
    assert_int_equal(an_store_annotation_insert(f->s, &a, &aid, &err), 0);
    commit(f->s);

    int64_t now = (int64_t)time(NULL), next = -1;
    /* overlap 2: tasks 0..1999 are full; u1 skipped 2000; 2001 has room. */
    assert_int_equal(an_store_next_task(f->s, pid, u1, 2, now, &next, &err), 0);
    assert_int_equal(next, ids[2001]);
    /* overlap 1: 2001 is full too. */
    assert_int_equal(an_store_next_task(f->s, pid, u1, 1, now, &next, &err), 0);
    assert_int_equal(next, ids[2002]);
    /* overlap 3: u1 may add a third annotation to task 0; u2 has annotated 0..2001. */
    assert_int_equal(an_store_next_task(f->s, pid, u1, 3, now, &next, &err), 0);
    assert_int_equal(next, ids[0]);
    assert_int_equal(an_store_next_task(f->s, pid, u2, 3, now, &next, &err), 0);
    assert_int_equal(next, ids[2002]);

    /* Locks: u2 holds 2002 -> u1 gets 2003; u2 itself still gets 2002. */
    bool got;
    assert_int_equal(an_store_lock_task(f->s, ids[2002], u2, now + 600, &got, &err), 0);
    assert_true(got);
    assert_int_equal(an_store_next_task(f->s, pid, u1, 1, now, &next, &err), 0);
    assert_int_equal(next, ids[2003]);
    assert_int_equal(an_store_next_task(f->s, pid, u2, 1, now, &next, &err), 0);
    assert_int_equal(next, ids[2002]);
    /* ... and once the lock has expired, u1 gets 2002 back. */
    assert_int_equal(an_store_next_task(f->s, pid, u1, 1, now + 601, &next, &err), 0);
    assert_int_equal(next, ids[2002]);

    /* Annotating moves u1 on: after annotating every remaining task, nothing is left. */
    begin(f->s);
    a.annotator_id = u1;
    for (int i = 2002; i < NEXT_TASKS; i++) {
        a.task_id = ids[i];
        a.cancelled = i % 2 == 0; /* skipped ones count as seen too */
        assert_int_equal(an_store_annotation_insert(f->s, &a, &aid, &err), 0);
    }
    commit(f->s);
    assert_int_equal(an_store_next_task(f->s, pid, u1, 1, now + 601, &next, &err), 0);
    assert_int_equal(next, 0);
    /* u3 still finds the tasks u1 skipped (cancelled annotations leave room): 2000 and
     * 2001 hold u2's live annotation, 2002 only u1's cancelled one. */
    assert_int_equal(an_store_next_task(f->s, pid, u3, 1, now + 601, &next, &err), 0);
    assert_int_equal(next, ids[2002]);
    assert_int_equal(an_store_next_task(f->s, pid, u3, 2, now + 601, &next, &err), 0);
    assert_int_equal(next, ids[2000]);
    assert_int_equal(an_store_next_task(f->s, pid, u1, 0, now, &next, &err), -AN_EINVAL);
    assert_int_equal(an_store_next_task(f->s, 9999, u1, 1, now, &next, &err), 0);
    assert_int_equal(next, 0);
}

/* The search skips the finished part of a project (below its mark); everything that frees a
 * place below the mark must bring those tasks back. */
static void test_next_task_mark_follows_frees(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    int64_t u1 = make_user(f->s, "u1", AN_ROLE_ANNOTATOR);
    int64_t u2 = make_user(f->s, "u2", AN_ROLE_ANNOTATOR);
    int64_t ids[200], aids[200];
    an_err err;
    begin(f->s);
    for (int i = 0; i < 200; i++) {
        char text[16];
        snprintf(text, sizeof text, "m%d", i);
        ids[i] = put_task(f->s, pid, text);
        if (i < 150) {
            an_annotation_in a = {.task_id = ids[i], .project_id = pid, .annotator_id = u2,
                                  .result = "[]", .lead_time = NAN};
            assert_int_equal(an_store_annotation_insert(f->s, &a, &aids[i], &err), 0);
        }
    }
    commit(f->s);
    int64_t next = 0, now = (int64_t)time(NULL);
    assert_int_equal(an_store_next_task(f->s, pid, u1, 1, now, &next, &err), 0);
    assert_int_equal(next, ids[150]); /* the mark now sits at 150 */
    /* A deleted annotation frees task 40. */
    begin(f->s);
    assert_int_equal(an_store_annotation_delete(f->s, aids[40], &err), 0);
    commit(f->s);
    assert_int_equal(an_store_next_task(f->s, pid, u1, 1, now, &next, &err), 0);
    assert_int_equal(next, ids[40]);
    /* Refill 40, then cancelling the annotation of task 20 frees it. */
    begin(f->s);
    an_annotation_in a = {.task_id = ids[40], .project_id = pid, .annotator_id = u2,
                          .result = "[]", .lead_time = NAN};
    assert_int_equal(an_store_annotation_insert(f->s, &a, &aids[40], &err), 0);
    commit(f->s);
    assert_int_equal(an_store_next_task(f->s, pid, u1, 1, now, &next, &err), 0);
    assert_int_equal(next, ids[150]);
    an_annotation_update up = {.result = "[]", .lead_time = NAN, .cancelled = true};
    begin(f->s);
    assert_int_equal(an_store_annotation_update(f->s, aids[20], &up, &err), 0);
    commit(f->s);
    assert_int_equal(an_store_next_task(f->s, pid, u1, 1, now, &next, &err), 0);
    assert_int_equal(next, ids[20]);
    /* Another overlap has its own mark: with overlap 2 every task has room. */
    assert_int_equal(an_store_next_task(f->s, pid, u1, 2, now, &next, &err), 0);
    assert_int_equal(next, ids[0]);

    /* All full, then the last tasks are deleted and a new task reuses an id: found. */
    begin(f->s);
    for (int i = 150; i < 200; i++) {
        a.task_id = ids[i];
        assert_int_equal(an_store_annotation_insert(f->s, &a, &aids[i], &err), 0);
    }
    a.task_id = ids[20];
    assert_int_equal(an_store_annotation_insert(f->s, &a, &aids[20], &err), 0);
    commit(f->s);
    assert_int_equal(an_store_next_task(f->s, pid, u1, 1, now, &next, &err), 0);
    assert_int_equal(next, 0); /* mark past the last task */
    begin(f->s);
    assert_int_equal(an_store_task_delete(f->s, ids[199], &err), 0);
    assert_int_equal(an_store_task_delete(f->s, ids[198], &err), 0);
    commit(f->s);
    begin(f->s);
    int64_t fresh = put_task(f->s, pid, "fresh");
    commit(f->s);
    assert_true(fresh <= ids[199]);
    assert_int_equal(an_store_next_task(f->s, pid, u1, 1, now, &next, &err), 0);
    assert_int_equal(next, fresh);
    assert_int_equal(an_store_next_task(f->s, pid, u1, 1001, now, &next, &err), -AN_EINVAL);

    /* Inside the caller's write transaction it sees that transaction's rows. */
    begin(f->s);
    a.task_id = fresh;
    int64_t aid;
    assert_int_equal(an_store_annotation_insert(f->s, &a, &aid, &err), 0);
    assert_int_equal(an_store_next_task(f->s, pid, u1, 1, now, &next, &err), 0);
    assert_int_equal(next, 0);
    an_store_rollback(f->s);
    assert_int_equal(an_store_next_task(f->s, pid, u1, 1, now, &next, &err), 0);
    assert_int_equal(next, fresh);
}

/* The next-task query must not read every task's annotations: it walks the project's id
 * index in order and probes covering indexes per task, stopping at the first match. With
 * SQLite 3.40 EXPLAIN QUERY PLAN gives:
 *
 *   SEARCH t USING COVERING INDEX tasks_project (project_id=? AND id>?)
 *   CORRELATED SCALAR SUBQUERY 1
 *     SEARCH a USING COVERING INDEX annotations_task_annotator (task_id=? AND annotator_id=?)
 *   CORRELATED SCALAR SUBQUERY 2
 *     SEARCH a USING COVERING INDEX annotations_task_annotator (task_id=?)
 *   CORRELATED SCALAR SUBQUERY 3
 *     SEARCH l USING INTEGER PRIMARY KEY (rowid=?)
 *
 * with no "USE TEMP B-TREE FOR ORDER BY" (no sort) and no SCAN (no full table read). The
 * test asserts those properties on the live plan. The walk starts at the project's
 * low-water mark (?5, next_hints), below which every task is full, so the finished part of
 * a project is not walked again: on 1M tasks with the first 900k full a call takes well
 * under a millisecond after the first (which walks them once, about a second). */
static void test_next_task_plan(void **state)
{
    fixture *f = *state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    const char *sql =
        "EXPLAIN QUERY PLAN SELECT t.id FROM tasks t WHERE t.project_id = ?1 "
        "AND NOT EXISTS (SELECT 1 FROM annotations a "
        "  WHERE a.task_id = t.id AND a.annotator_id = ?2) "
        "AND (SELECT count(*) FROM annotations a "
        "  WHERE a.task_id = t.id AND a.was_cancelled = 0) < ?3 "
        "AND NOT EXISTS (SELECT 1 FROM task_locks l "
        "  WHERE l.task_id = t.id AND l.user_id <> ?2 AND l.expires_at > ?4) "
        "AND t.id >= ?5 ORDER BY t.id LIMIT 1";
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    char plan[2048] = "";
    size_t len = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 3);
        len += (size_t)snprintf(plan + len, sizeof plan - len, "%s\n", d ? d : "");
        assert_true(len < sizeof plan);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (!strstr(plan, "INDEX tasks_project (project_id=? AND id>?)")) fprintf(stderr, "%s", plan);
    assert_non_null(strstr(plan, "INDEX tasks_project (project_id=? AND id>?)"));
    assert_non_null(strstr(plan, "annotations_task_annotator (task_id=? AND annotator_id=?)"));
    assert_non_null(strstr(plan, "COVERING INDEX annotations_task_annotator (task_id=?)"));
    assert_null(strstr(plan, "TEMP B-TREE"));
    assert_null(strstr(plan, "SCAN"));
}

typedef struct reviews {
    char text[256];
    int n;
} reviews;

static int collect_review(void *ud, const an_review *r)
{
    reviews *x = ud;
    size_t len = strlen(x->text);
    snprintf(x->text + len, sizeof x->text - len, "%s%lld:%s:%s", x->n ? "," : "",
             (long long)r->reviewer_id, r->accepted ? "accept" : "reject", r->comment);
    x->n++;
    return 0;
}

static void test_reviews(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    int64_t rv = make_user(f->s, "rv", AN_ROLE_REVIEWER);
    begin(f->s);
    int64_t t1 = put_task(f->s, pid, "1");
    int64_t a1 = put_annotation(f->s, pid, t1, "[]", false, NULL, 0);
    int64_t a2 = put_annotation(f->s, pid, t1, "[]", false, NULL, 0);
    commit(f->s);
    an_err err;
    int64_t id1 = 0, id2 = 0;
    assert_int_equal(an_store_review_add(f->s, a1, rv, false, "box too loose", &id1, &err), 0);
    assert_int_equal(an_store_review_add(f->s, a1, rv, true, NULL, &id2, &err), 0);
    assert_true(id2 > id1 && id1 > 0);
    assert_int_equal(an_store_review_add(f->s, 9999, rv, true, NULL, NULL, &err), -AN_ENOTFOUND);
    assert_string_equal(err.where, "annotation_id");
    assert_int_equal(an_store_review_add(f->s, a1, 9999, true, NULL, NULL, &err), -AN_ENOTFOUND);
    assert_string_equal(err.where, "user_id");
    reviews x = {{0}, 0};
    assert_int_equal(an_store_review_list(f->s, a1, collect_review, &x, &err), 0);
    char want[128];
    snprintf(want, sizeof want, "%lld:reject:box too loose,%lld:accept:", (long long)rv,
             (long long)rv);
    assert_string_equal(x.text, want);
    x = (reviews){{0}, 0};
    assert_int_equal(an_store_review_list(f->s, a2, collect_review, &x, &err), 0);
    assert_int_equal(x.n, 0);
    /* Reviews go with their annotation. */
    begin(f->s);
    assert_int_equal(an_store_annotation_delete(f->s, a1, &err), 0);
    commit(f->s);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM reviews"), 0);
}

static void test_audit_append_only(void **state)
{
    fixture *f = *state;
    int64_t uid = make_user(f->s, "admin", AN_ROLE_ADMIN);
    an_err err;
    /* Outside a transaction: its own. */
    assert_int_equal(an_store_audit(f->s, uid, "user.create", "user", uid, "{\"role\":\"admin\"}",
                                    &err),
                     0);
    /* Inside one: commits or rolls back with the change it records. */
    begin(f->s);
    assert_int_equal(an_store_audit(f->s, uid, "project.create", "project", 1, NULL, &err), 0);
    an_store_rollback(f->s);
    begin(f->s);
    assert_int_equal(an_store_audit(f->s, 0, "system.start", NULL, 0, NULL, &err), 0);
    commit(f->s);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM audit"), 2);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM audit WHERE action = "
                                        "'user.create' AND detail = '{\"role\":\"admin\"}'"),
                     1);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM audit WHERE user_id IS NULL"), 1);
    assert_int_equal(an_store_audit(f->s, uid, "", NULL, 0, NULL, &err), -AN_EINTERNAL);

    /* Nobody, not even a direct connection, can edit or remove entries. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    char *msg = NULL;
    assert_int_equal(sqlite3_exec(db, "UPDATE audit SET action = 'x'", NULL, NULL, &msg),
                     SQLITE_CONSTRAINT);
    assert_non_null(strstr(msg, "append-only"));
    sqlite3_free(msg);
    msg = NULL;
    assert_int_equal(sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, &msg), SQLITE_CONSTRAINT);
    assert_non_null(strstr(msg, "append-only"));
    sqlite3_free(msg);
    sqlite3_close(db);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM audit"), 2);
}

/* Several processes add and delete annotations and tasks at once; the counters stay equal
 * to the rows. */
enum { EDITORS = 3, EDIT_ROUNDS = 40 };

static int editor(const char *path, int64_t pid, int who)
{
    an_store *s;
    an_err err;
    if (an_store_open(path, &s, &err)) return 1;
    for (int r = 0; r < EDIT_ROUNDS; r++) {
        if (an_store_begin(s, &err)) return 2;
        char data[64];
        int n = snprintf(data, sizeof data, "{\"w\":%d,\"r\":%d}", who, r);
        an_task_in t = {.project_id = pid, .data = data, .data_len = (size_t)n};
        an_hash(data, (size_t)n, t.hash);
        int64_t tid, aid, keep = 0;
        if (an_store_task_insert(s, &t, &tid, &err) || tid == 0) return 3;
        for (int k = 0; k < 3; k++) {
            an_annotation_in a = {.task_id = tid, .project_id = pid, .result = "[]",
                                  .lead_time = NAN};
            if (an_store_annotation_insert(s, &a, &aid, &err)) return 4;
            if (k == 0) keep = aid;
        }
        if (an_store_annotation_delete(s, keep, &err)) return 5;
        if (r % 3 == 0 && an_store_task_delete(s, tid, &err)) return 6;
        if (an_store_audit(s, 0, "edit", "task", tid, NULL, &err)) return 7;
        if (an_store_commit(s, &err)) return 8;
    }
    an_store_close(s);
    return 0;
}

static void test_concurrent_edits_keep_counters_exact(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "shared");
    pid_t kids[EDITORS];
    for (int w = 0; w < EDITORS; w++) {
        kids[w] = fork();
        assert_true(kids[w] >= 0);
        if (kids[w] == 0) _exit(editor(f->path, pid, w));
    }
    for (int w = 0; w < EDITORS; w++) {
        int status;
        assert_int_equal(waitpid(kids[w], &status, 0), kids[w]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_counters_exact(f, pid);
    an_project p = get_project(f->s, "shared");
    int kept_per_editor = EDIT_ROUNDS - (EDIT_ROUNDS + 2) / 3;
    assert_int_equal(p.task_count, EDITORS * kept_per_editor);
    assert_int_equal(p.annotation_count, EDITORS * kept_per_editor * 2);
    an_project_clear(&p);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM audit"), EDITORS * EDIT_ROUNDS);
}

/* ---- schema 3: project edits, export jobs, review queue, audit reads -------------------- */

static void test_user_set_role(void **state)
{
    fixture *f = *state;
    int64_t uid = make_user(f->s, "ann", AN_ROLE_ANNOTATOR);
    an_err err;
    assert_int_equal(an_store_user_set_role(f->s, uid, AN_ROLE_REVIEWER, &err), 0);
    an_user u;
    assert_int_equal(an_store_user_by_id(f->s, uid, &u, &err), 0);
    assert_int_equal(u.role, AN_ROLE_REVIEWER);
    an_user_clear(&u);
    assert_int_equal(an_store_user_set_role(f->s, 999, AN_ROLE_ADMIN, &err), -AN_ENOTFOUND);
}

static void test_project_update_and_delete(void **state)
{
    fixture *f = *state;
    int64_t a = make_project(f->s, "a");
    make_project(f->s, "b");
    int64_t uid = make_user(f->s, "ann", AN_ROLE_ANNOTATOR);
    an_err err;
    assert_int_equal(an_store_project_update(f->s, a, "a2", NULL, "{\"overlap\":2}", &err), 0);
    an_project p = get_project(f->s, "a2");
    assert_int_equal(p.id, a);
    assert_string_equal(p.settings, "{\"overlap\":2}");
    assert_string_equal(p.config, CONFIG); /* NULL kept the config */
    an_project_clear(&p);
    assert_int_equal(an_store_project_update(f->s, a, "b", NULL, NULL, &err), -AN_EEXIST);
    assert_int_equal(an_store_project_update(f->s, 999, "c", NULL, NULL, &err), -AN_ENOTFOUND);

    /* Deleting cascades to tasks, annotations, reviews, members and jobs; the audit stays. */
    begin(f->s);
    int64_t tid = put_task(f->s, a, "x");
    int64_t aid = put_annotation(f->s, a, tid, "[]", false, NULL, 0);
    commit(f->s);
    assert_int_equal(an_store_member_add(f->s, a, uid, &err), 0);
    assert_int_equal(an_store_review_add(f->s, aid, uid, true, "ok", NULL, &err), 0);
    assert_int_equal(an_store_export_job_add(f->s, a, uid, "ls-json", NULL, &err), 0);
    assert_int_equal(an_store_audit(f->s, uid, "project.delete", "project", a, NULL, &err), 0);
    assert_int_equal(an_store_project_delete(f->s, a, &err), 0);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM tasks"), 0);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM annotations"), 0);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM reviews"), 0);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM memberships"), 0);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM export_jobs"), 0);
    assert_int_equal(file_int(f->path, "SELECT count(*) FROM audit"), 1);
    assert_int_equal(an_store_project_delete(f->s, a, &err), -AN_ENOTFOUND);
    p = get_project(f->s, "b");
    an_project_clear(&p);
}

static int collect_job(void *ud, const an_export_job *j)
{
    int64_t *ids = ud;
    ids[++ids[0]] = j->id;
    return 0;
}

static void test_export_jobs(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    an_err err;
    int64_t j1 = 0, j2 = 0, j3 = 0;
    assert_int_equal(an_store_export_job_add(f->s, pid, 0, "ls-json", &j1, &err), 0);
    assert_int_equal(an_store_export_job_add(f->s, pid, 0, "coco", &j2, &err), 0);
    assert_int_equal(an_store_export_job_add(f->s, 999, 0, "coco", &j3, &err), -AN_ENOTFOUND);
    an_export_job j;
    assert_int_equal(an_store_export_job_get(f->s, j1, &j, &err), 0);
    assert_int_equal(j.status, AN_JOB_QUEUED);
    assert_string_equal(j.format, "ls-json");
    assert_null(j.finished_at);
    an_export_job_clear(&j);

    /* Workers take the oldest queued job, each job once. */
    assert_int_equal(an_store_export_job_claim(f->s, &j, &err), 1);
    assert_int_equal(j.id, j1);
    assert_int_equal(j.status, AN_JOB_RUNNING);
    an_export_job_clear(&j);
    assert_int_equal(an_store_export_job_claim(f->s, &j, &err), 1);
    assert_int_equal(j.id, j2);
    an_export_job_clear(&j);
    assert_int_equal(an_store_export_job_claim(f->s, &j, &err), 0);

    assert_int_equal(an_store_export_job_finish(f->s, j1, true, "/x/out.json", 7, NULL, &err), 0);
    assert_int_equal(an_store_export_job_get(f->s, j1, &j, &err), 0);
    assert_int_equal(j.status, AN_JOB_DONE);
    assert_string_equal(j.path, "/x/out.json");
    assert_int_equal(j.tasks, 7);
    assert_non_null(j.finished_at);
    an_export_job_clear(&j);
    assert_int_equal(an_store_export_job_finish(f->s, 999, true, "/y", 1, NULL, &err),
                     -AN_ENOTFOUND);

    int64_t counts[AN_JOB_STATUS_COUNT];
    assert_int_equal(an_store_export_job_counts(f->s, counts, &err), 0);
    assert_int_equal(counts[AN_JOB_DONE], 1);
    assert_int_equal(counts[AN_JOB_RUNNING], 1);
    assert_int_equal(counts[AN_JOB_QUEUED], 0);

    /* A restart marks the job that was running as failed; done jobs stay done. */
    int64_t n = 0;
    assert_int_equal(an_store_export_jobs_abandon(f->s, "server stopped", &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(an_store_export_job_get(f->s, j2, &j, &err), 0);
    assert_int_equal(j.status, AN_JOB_FAILED);
    assert_string_equal(j.error, "server stopped");
    an_export_job_clear(&j);

    int64_t ids[8] = {0};
    assert_int_equal(an_store_export_job_list(f->s, pid, collect_job, ids, &err), 0);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], j2); /* newest first */
    assert_int_equal(ids[2], j1);
}

typedef struct queue_seen {
    int n;
    int64_t ids[16];
    int64_t review_ids[16];
    bool accepted[16];
} queue_seen;

static int collect_queue(void *ud, const an_annotation_brief *b)
{
    queue_seen *q = ud;
    q->ids[q->n] = b->id;
    q->review_ids[q->n] = b->review_id;
    q->accepted[q->n] = b->accepted;
    q->n++;
    return 0;
}

static void test_review_queue(void **state)
{
    fixture *f = *state;
    int64_t pid = make_project(f->s, "p");
    int64_t rev = make_user(f->s, "rex", AN_ROLE_REVIEWER);
    begin(f->s);
    int64_t tid = put_task(f->s, pid, "x");
    int64_t a1 = put_annotation(f->s, pid, tid, "[]", false, NULL, 0);
    int64_t a2 = put_annotation(f->s, pid, tid, "[]", false, NULL, 0);
    int64_t a3 = put_annotation(f->s, pid, tid, "[]", false, NULL, 0);
    put_annotation(f->s, pid, tid, "[]", true, NULL, 0); /* a skip: never reviewed */
    commit(f->s);
    an_err err;
    /* a1 rejected then accepted: its latest review counts. a2 rejected. a3 unreviewed. */
    assert_int_equal(an_store_review_add(f->s, a1, rev, false, "", NULL, &err), 0);
    assert_int_equal(an_store_review_add(f->s, a1, rev, true, "", NULL, &err), 0);
    assert_int_equal(an_store_review_add(f->s, a2, rev, false, "no", NULL, &err), 0);
    queue_seen q = {0};
    int64_t total = -1;
    assert_int_equal(an_store_review_queue(f->s, pid, AN_REVIEWS_ANY, 0, 10, collect_queue, &q,
                                           &total, &err),
                     0);
    assert_int_equal(total, 3);
    assert_int_equal(q.n, 3);
    memset(&q, 0, sizeof q);
    assert_int_equal(an_store_review_queue(f->s, pid, AN_REVIEWS_ACCEPTED, 0, 10, collect_queue,
                                           &q, &total, &err),
                     0);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.ids[0], a1);
    assert_true(q.accepted[0]);
    memset(&q, 0, sizeof q);
    assert_int_equal(an_store_review_queue(f->s, pid, AN_REVIEWS_REJECTED, 0, 10, collect_queue,
                                           &q, &total, &err),
                     0);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.ids[0], a2);
    memset(&q, 0, sizeof q);
    assert_int_equal(an_store_review_queue(f->s, pid, AN_REVIEWS_UNREVIEWED, 0, 10, collect_queue,
                                           &q, &total, &err),
                     0);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.ids[0], a3);
    assert_int_equal(q.review_ids[0], 0);
    /* Paging: offset and limit over the filtered list; the total is of the whole list. */
    memset(&q, 0, sizeof q);
    assert_int_equal(an_store_review_queue(f->s, pid, AN_REVIEWS_ANY, 1, 1, collect_queue, &q,
                                           &total, &err),
                     0);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.ids[0], a2);
    assert_int_equal(total, 3);
}

static int collect_audit(void *ud, const an_audit_entry *e)
{
    int64_t *got = ud;
    got[++got[0]] = e->project_id;
    return 0;
}

static void test_audit_list_filters(void **state)
{
    fixture *f = *state;
    int64_t p1 = make_project(f->s, "p1");
    int64_t p2 = make_project(f->s, "p2");
    int64_t u1 = make_user(f->s, "u1", AN_ROLE_ADMIN);
    int64_t u2 = make_user(f->s, "u2", AN_ROLE_ADMIN);
    begin(f->s);
    int64_t tid = put_task(f->s, p2, "x");
    int64_t aid = put_annotation(f->s, p2, tid, "[]", false, NULL, 0);
    commit(f->s);
    an_err err;
    assert_int_equal(an_store_audit(f->s, u1, "project.create", "project", p1, NULL, &err), 0);
    assert_int_equal(an_store_audit(f->s, u2, "task.update", "task", tid, NULL, &err), 0);
    assert_int_equal(an_store_audit(f->s, u1, "annotation.update", "annotation", aid, NULL, &err),
                     0);
    assert_int_equal(an_store_audit(f->s, u2, "login", "user", u2, NULL, &err), 0);
    int64_t got[8] = {0};
    an_audit_filter all = {.limit = 100};
    assert_int_equal(an_store_audit_list(f->s, &all, collect_audit, got, &err), 0);
    assert_int_equal(got[0], 4);
    assert_int_equal(got[1], p1);
    assert_int_equal(got[2], p2); /* the task's project, looked up on writing */
    assert_int_equal(got[3], p2);
    assert_int_equal(got[4], 0);
    memset(got, 0, sizeof got);
    an_audit_filter by_project = {.project_id = p2, .limit = 100};
    assert_int_equal(an_store_audit_list(f->s, &by_project, collect_audit, got, &err), 0);
    assert_int_equal(got[0], 2);
    memset(got, 0, sizeof got);
    an_audit_filter by_user = {.user_id = u2, .limit = 1};
    assert_int_equal(an_store_audit_list(f->s, &by_user, collect_audit, got, &err), 0);
    assert_int_equal(got[0], 1);
    memset(got, 0, sizeof got);
    an_audit_filter later = {.since = "2999-01-01T00:00:00Z", .limit = 10};
    assert_int_equal(an_store_audit_list(f->s, &later, collect_audit, got, &err), 0);
    assert_int_equal(got[0], 0);
    an_audit_filter bad = {.limit = 0};
    assert_int_equal(an_store_audit_list(f->s, &bad, collect_audit, got, &err), -AN_EINVAL);
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
        T(test_annotator_counts),
        T(test_concurrent_writers_queue),
        T(test_crash_mid_transaction_leaves_nothing),
        T(test_mark_undo_drops_one_write_of_a_batch),
        T(test_upgrade_from_version_one_keeps_data),
        T(test_user_password_and_activity),
        T(test_tokens),
        T(test_sessions),
        T(test_memberships),
        T(test_task_get_and_paging),
        T(test_task_update_and_delete),
        T(test_dedupe_exact_after_delete_and_update_in_key_run),
        T(test_annotation_get_list_update_delete),
        T(test_prediction_list),
        T(test_task_locks),
        T(test_next_task_rules),
        T(test_next_task_mark_follows_frees),
        T(test_next_task_plan),
        T(test_reviews),
        T(test_audit_append_only),
        T(test_concurrent_edits_keep_counters_exact),
        T(test_user_set_role),
        T(test_project_update_and_delete),
        T(test_export_jobs),
        T(test_review_queue),
        T(test_audit_list_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
