/* Accounts: password hashing and checks, API tokens and sessions round trips, login answers
 * that do not tell which names exist, the login rate limiter and the role matrix. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "service/auth.h"
#include "store/store.h"
#include "testlib.h"

typedef struct fixture {
    char dir[PATH_MAX];
    char path[PATH_MAX];
    an_store *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (tl_workspace_open("auth", f->dir, sizeof f->dir, f->path, sizeof f->path, &f->s))
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

static int64_t make_user(an_store *s, const char *name, an_role role, const char *password)
{
    int64_t id = 0;
    an_err err;
    assert_int_equal(an_store_user_add(s, name, role, &id, &err), 0);
    if (password) {
        int rc = an_password_set(s, id, password, &err);
        if (rc) fprintf(stderr, "password_set: %s\n", err.msg);
        assert_int_equal(rc, 0);
    }
    return id;
}

static void file_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* ---- passwords ------------------------------------------------------------------------------ */

static void test_password_hash_and_check(void **state)
{
    (void)state;
    char h1[AN_PASSWORD_HASH_BYTES], h2[AN_PASSWORD_HASH_BYTES];
    an_err err;
    assert_int_equal(an_password_hash("correct horse", h1, &err), 0);
    assert_int_equal(strncmp(h1, "$argon2id$", 10), 0);
    assert_null(strstr(h1, "correct horse"));
    assert_true(an_password_check(h1, "correct horse"));
    assert_false(an_password_check(h1, "correct horsE"));
    assert_false(an_password_check(h1, "correct hors"));
    assert_false(an_password_check(h1, ""));
    /* Salted: the same password hashes differently each time, and both verify. */
    assert_int_equal(an_password_hash("correct horse", h2, &err), 0);
    assert_string_not_equal(h1, h2);
    assert_true(an_password_check(h2, "correct horse"));
    /* Malformed or missing hashes never match. */
    assert_false(an_password_check(NULL, "correct horse"));
    assert_false(an_password_check("", "correct horse"));
    assert_false(an_password_check("$argon2id$garbage", "correct horse"));
    assert_false(an_password_check(h1, NULL));
}

static void test_password_length_rules(void **state)
{
    (void)state;
    char h[AN_PASSWORD_HASH_BYTES];
    an_err err;
    assert_int_equal(an_password_hash("1234567", h, &err), -AN_EINVAL);
    assert_string_equal(err.where, "password");
    assert_non_null(strstr(err.msg, "shorter than 8"));
    assert_string_equal(h, "");
    assert_int_equal(an_password_hash(NULL, h, &err), -AN_EINVAL);
    char *longpw = malloc(AN_PASSWORD_MAX + 2);
    memset(longpw, 'x', AN_PASSWORD_MAX + 1);
    longpw[AN_PASSWORD_MAX + 1] = '\0';
    assert_int_equal(an_password_hash(longpw, h, &err), -AN_EINVAL);
    assert_non_null(strstr(err.msg, "longer than"));
    free(longpw);
    /* Exactly the minimum is accepted, and multibyte passwords count bytes. */
    assert_int_equal(an_password_hash("12345678", h, &err), 0);
    assert_true(an_password_check(h, "12345678"));
}

/* ---- tokens ---------------------------------------------------------------------------------- */

static void test_token_round_trip(void **state)
{
    fixture *f = *state;
    int64_t uid = make_user(f->s, "bot", AN_ROLE_ANNOTATOR, NULL);
    char tok[AN_TOKEN_TEXT_BYTES], tok2[AN_TOKEN_TEXT_BYTES];
    int64_t tid = 0;
    an_err err;
    assert_int_equal(an_token_create(f->s, uid, "ci", tok, &tid, &err), 0);
    assert_true(tid > 0);
    assert_int_equal(strlen(tok), AN_TOKEN_TEXT_BYTES - 1);
    assert_int_equal(strncmp(tok, "ant_", 4), 0);
    assert_int_equal(strspn(tok + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789-_"),
                     strlen(tok) - 4);
    assert_int_equal(an_token_create(f->s, uid, NULL, tok2, NULL, &err), 0);
    assert_string_not_equal(tok, tok2);

    an_user u;
    assert_int_equal(an_token_verify(f->s, tok, &u, &err), 0);
    assert_int_equal(u.id, uid);
    assert_string_equal(u.name, "bot");
    an_user_clear(&u);

    /* The workspace holds no token text. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT hash, label FROM api_tokens", -1, &st, NULL),
                     SQLITE_OK);
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        assert_int_equal(sqlite3_column_bytes(st, 0), AN_SECRET_HASH_BYTES);
        assert_null(memmem(sqlite3_column_blob(st, 0), AN_SECRET_HASH_BYTES, tok + 4, 8));
        rows++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(rows, 2);

    /* Altered, truncated, extended, foreign and empty tokens are refused. */
    char bad[AN_TOKEN_TEXT_BYTES + 8];
    snprintf(bad, sizeof bad, "%s", tok);
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    assert_int_equal(an_token_verify(f->s, bad, &u, &err), -AN_ENOTFOUND);
    snprintf(bad, sizeof bad, "%.*s", (int)strlen(tok) - 1, tok);
    assert_int_equal(an_token_verify(f->s, bad, &u, &err), -AN_ENOTFOUND);
    snprintf(bad, sizeof bad, "%sA", tok);
    assert_int_equal(an_token_verify(f->s, bad, &u, &err), -AN_ENOTFOUND);
    snprintf(bad, sizeof bad, "xnt_%s", tok + 4);
    assert_int_equal(an_token_verify(f->s, bad, &u, &err), -AN_ENOTFOUND);
    assert_int_equal(an_token_verify(f->s, "", &u, &err), -AN_ENOTFOUND);
    assert_int_equal(an_token_verify(f->s, NULL, &u, &err), -AN_ENOTFOUND);

    /* Revoked: refused; the other token still works. */
    assert_int_equal(an_store_token_delete(f->s, tid, uid, &err), 0);
    assert_int_equal(an_token_verify(f->s, tok, &u, &err), -AN_ENOTFOUND);
    assert_int_equal(an_token_verify(f->s, tok2, &u, &err), 0);
    an_user_clear(&u);
    /* Deactivated user: refused. */
    assert_int_equal(an_store_user_set_active(f->s, uid, false, &err), 0);
    assert_int_equal(an_token_verify(f->s, tok2, &u, &err), -AN_ENOTFOUND);
    /* Unknown user: no token. */
    assert_int_equal(an_token_create(f->s, 999, NULL, tok, NULL, &err), -AN_ENOTFOUND);
    assert_string_equal(tok, "");
}

/* ---- sessions -------------------------------------------------------------------------------- */

static void test_session_round_trip(void **state)
{
    fixture *f = *state;
    int64_t uid = make_user(f->s, "carol", AN_ROLE_REVIEWER, NULL);
    char tok[AN_SESSION_TEXT_BYTES], csrf[AN_CSRF_TEXT_BYTES], got[AN_CSRF_TEXT_BYTES];
    an_err err;
    assert_int_equal(an_session_create(f->s, uid, 3600, tok, csrf, &err), 0);
    assert_int_equal(strlen(tok), AN_SESSION_TEXT_BYTES - 1);
    assert_int_equal(strlen(csrf), AN_CSRF_TEXT_BYTES - 1);
    assert_string_not_equal(tok, csrf);
    an_user u;
    assert_int_equal(an_session_verify(f->s, tok, &u, got, &err), 0);
    assert_int_equal(u.id, uid);
    assert_int_equal(u.role, AN_ROLE_REVIEWER);
    assert_string_equal(got, csrf);
    an_user_clear(&u);
    assert_int_equal(an_session_verify(f->s, tok, &u, NULL, &err), 0);
    an_user_clear(&u);

    /* A second session is independent; ending one leaves the other. */
    char tok2[AN_SESSION_TEXT_BYTES], csrf2[AN_CSRF_TEXT_BYTES];
    assert_int_equal(an_session_create(f->s, uid, 3600, tok2, csrf2, &err), 0);
    assert_string_not_equal(tok, tok2);
    assert_int_equal(an_session_end(f->s, tok, &err), 0);
    assert_int_equal(an_session_verify(f->s, tok, &u, got, &err), -AN_ENOTFOUND);
    assert_string_equal(got, "");
    assert_int_equal(an_session_verify(f->s, tok2, &u, got, &err), 0);
    an_user_clear(&u);
    assert_int_equal(an_session_end(f->s, "not a session", &err), 0);

    /* Expired: refused. */
    file_exec(f->path, "UPDATE sessions SET expires_at = 1");
    assert_int_equal(an_session_verify(f->s, tok2, &u, got, &err), -AN_ENOTFOUND);
    assert_non_null(strstr(err.msg, "log in again"));

    assert_int_equal(an_session_verify(f->s, "short", &u, got, &err), -AN_ENOTFOUND);
    assert_int_equal(an_session_verify(f->s, NULL, &u, got, &err), -AN_ENOTFOUND);
    assert_int_equal(an_session_create(f->s, uid, 0, tok, csrf, &err), -AN_EINVAL);
    assert_int_equal(an_session_create(f->s, 999, 60, tok, csrf, &err), -AN_ENOTFOUND);
    assert_string_equal(tok, "");
}

/* ---- login ------------------------------------------------------------------------------------- */

static double timed_login(an_store *s, const char *name, const char *pw, int *rc)
{
    an_user u;
    an_err err;
    double t0 = an_monotonic();
    *rc = an_login(s, name, pw, &u, &err);
    double t = an_monotonic() - t0;
    an_user_clear(&u);
    return t;
}

static void test_login(void **state)
{
    fixture *f = *state;
    int64_t uid = make_user(f->s, "dora", AN_ROLE_ANNOTATOR, "s3cret-pass");
    int64_t off = make_user(f->s, "gone", AN_ROLE_ANNOTATOR, "s3cret-pass");
    make_user(f->s, "placeholder", AN_ROLE_ANNOTATOR, NULL);
    an_err err;
    assert_int_equal(an_store_user_set_active(f->s, off, false, &err), 0);

    an_user u;
    assert_int_equal(an_login(f->s, "dora", "s3cret-pass", &u, &err), 0);
    assert_int_equal(u.id, uid);
    assert_string_equal(u.name, "dora");
    an_user_clear(&u);

    /* Every refusal looks the same. */
    const char *cases[][2] = {{"dora", "s3cret-pasS"}, {"dora", ""},         {"nobody", "x"},
                              {"gone", "s3cret-pass"}, {"placeholder", "x"}, {"", ""}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(an_login(f->s, cases[i][0], cases[i][1], &u, &err), -AN_ENOTFOUND);
        assert_string_equal(err.msg, "wrong user name or password");
        assert_null(u.name);
    }
    assert_int_equal(an_login(f->s, NULL, NULL, &u, &err), -AN_ENOTFOUND);
}

/* An unknown name costs a password verification like a known one: without the dummy
 * verification it would answer in microseconds instead of tens of milliseconds. Medians of
 * a few tries, with a generous bound, keep this about behaviour, not speed. */
static void test_login_unknown_user_spends_a_verification(void **state)
{
    fixture *f = *state;
    make_user(f->s, "erin", AN_ROLE_ANNOTATOR, "s3cret-pass");
    int rc;
    timed_login(f->s, "nobody", "warm-up", &rc); /* makes the dummy hash once */
    double known[3], unknown[3];
    for (int i = 0; i < 3; i++) {
        known[i] = timed_login(f->s, "erin", "wrong-pass", &rc);
        assert_int_equal(rc, -AN_ENOTFOUND);
        unknown[i] = timed_login(f->s, "nobody", "wrong-pass", &rc);
        assert_int_equal(rc, -AN_ENOTFOUND);
    }
    for (int i = 0; i < 2; i++)
        for (int j = i + 1; j < 3; j++) {
            if (known[j] < known[i]) {
                double t = known[i];
                known[i] = known[j];
                known[j] = t;
            }
            if (unknown[j] < unknown[i]) {
                double t = unknown[i];
                unknown[i] = unknown[j];
                unknown[j] = t;
            }
        }
    assert_true(unknown[1] > 0.25 * known[1]);
}

/* ---- rate limiter ------------------------------------------------------------------------------ */

static void test_ratelimit_window(void **state)
{
    (void)state;
    an_ratelimit *rl = an_ratelimit_new(5, 60);
    double t = 1000;
    for (int i = 0; i < 5; i++) {
        assert_true(an_ratelimit_allowed(rl, "10.0.0.1", t + i));
        an_ratelimit_hit(rl, "10.0.0.1", t + i);
    }
    assert_false(an_ratelimit_allowed(rl, "10.0.0.1", t + 5));
    assert_false(an_ratelimit_allowed(rl, "10.0.0.1", t + 59.9));
    /* other keys are not affected */
    assert_true(an_ratelimit_allowed(rl, "10.0.0.2", t + 5));
    assert_true(an_ratelimit_allowed(rl, "dora", t + 5));
    /* the window passes: allowed again, and a new window starts at the next failure */
    assert_true(an_ratelimit_allowed(rl, "10.0.0.1", t + 60));
    an_ratelimit_hit(rl, "10.0.0.1", t + 61);
    assert_true(an_ratelimit_allowed(rl, "10.0.0.1", t + 61));
    for (int i = 0; i < 4; i++)
        an_ratelimit_hit(rl, "10.0.0.1", t + 62);
    assert_false(an_ratelimit_allowed(rl, "10.0.0.1", t + 62));
    /* a success resets the count */
    an_ratelimit_reset(rl, "10.0.0.1");
    assert_true(an_ratelimit_allowed(rl, "10.0.0.1", t + 62));
    an_ratelimit_free(rl);
}

static void test_ratelimit_many_keys_stay_bounded(void **state)
{
    (void)state;
    an_ratelimit *rl = an_ratelimit_new(2, 60);
    char key[32];
    /* Far more keys than the table holds: none fails, and the newest are still limited. */
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        an_ratelimit_hit(rl, key, i * 1e-4);
        an_ratelimit_hit(rl, key, i * 1e-4);
    }
    assert_false(an_ratelimit_allowed(rl, "k99999", 10));
    assert_false(an_ratelimit_allowed(rl, "k99998", 10));
    an_ratelimit_free(rl);
}

enum { RL_THREADS = 4, RL_HITS = 500 };

static void *rl_hitter(void *arg)
{
    an_ratelimit *rl = arg;
    for (int i = 0; i < RL_HITS; i++)
        an_ratelimit_hit(rl, "shared", 1.0);
    return NULL;
}

static void test_ratelimit_threads_count_every_failure(void **state)
{
    (void)state;
    for (int extra = 0; extra <= 1; extra++) {
        /* Limit at exactly the number of hits: blocked only if none was lost. */
        an_ratelimit *rl = an_ratelimit_new(RL_THREADS * RL_HITS + extra, 60);
        pthread_t th[RL_THREADS];
        for (int i = 0; i < RL_THREADS; i++)
            assert_int_equal(pthread_create(&th[i], NULL, rl_hitter, rl), 0);
        for (int i = 0; i < RL_THREADS; i++)
            pthread_join(th[i], NULL);
        assert_int_equal(an_ratelimit_allowed(rl, "shared", 2.0), extra == 1);
        an_ratelimit_free(rl);
    }
}

/* ---- roles --------------------------------------------------------------------------------------- */

static void test_role_matrix(void **state)
{
    (void)state;
    /* expect[role][action] = {not member, member}, the table of auth.h cell by cell */
    static const struct {
        an_action a;
        bool expect[4][2]; /* annotator, reviewer, manager, admin */
    } rows[] = {
        {AN_ACT_VIEW_PROJECT, {{0, 1}, {0, 1}, {0, 1}, {1, 1}}},
        {AN_ACT_CREATE_PROJECT, {{0, 0}, {0, 0}, {1, 1}, {1, 1}}},
        {AN_ACT_MANAGE_PROJECT, {{0, 0}, {0, 0}, {0, 1}, {1, 1}}},
        {AN_ACT_ANNOTATE, {{0, 1}, {0, 1}, {0, 1}, {1, 1}}},
        {AN_ACT_REVIEW, {{0, 0}, {0, 1}, {0, 1}, {1, 1}}},
        {AN_ACT_MANAGE_USERS, {{0, 0}, {0, 0}, {0, 0}, {1, 1}}},
    };
    int cells = 0;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int role = AN_ROLE_ANNOTATOR; role <= AN_ROLE_ADMIN; role++)
            for (int m = 0; m <= 1; m++) {
                an_user u = {.id = 1, .name = (char *)"x", .role = (an_role)role};
                bool got = an_can(&u, rows[r].a, m == 1);
                if (got != rows[r].expect[role][m])
                    fprintf(stderr, "action %d role %s member %d: got %d\n", (int)rows[r].a,
                            an_role_name((an_role)role), m, got);
                assert_int_equal(got, rows[r].expect[role][m]);
                cells++;
            }
    assert_int_equal(cells, 6 * 4 * 2);
    assert_false(an_can(NULL, AN_ACT_VIEW_PROJECT, true));
    an_user odd = {.id = 1, .role = (an_role)7};
    assert_false(an_can(&odd, AN_ACT_VIEW_PROJECT, true));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_hash_and_check),
        cmocka_unit_test(test_password_length_rules),
        T(test_token_round_trip),
        T(test_session_round_trip),
        T(test_login),
        T(test_login_unknown_user_spends_a_verification),
        cmocka_unit_test(test_ratelimit_window),
        cmocka_unit_test(test_ratelimit_many_keys_stay_bounded),
        cmocka_unit_test(test_ratelimit_threads_count_every_failure),
        cmocka_unit_test(test_role_matrix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
