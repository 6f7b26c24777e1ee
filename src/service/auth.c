/* Accounts on top of the store: Argon2id passwords, hashed API tokens and sessions, the
 * login check with its dummy verification, a bounded in-memory rate limiter, and the role
 * matrix. The contracts are in auth.h. */
#include "service/auth.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"

_Static_assert(AN_PASSWORD_HASH_BYTES == crypto_pwhash_STRBYTES, "password hash size");
_Static_assert(AN_SECRET_HASH_BYTES == crypto_generichash_BYTES, "secret hash size");

enum {
    SECRET_BYTES = 32,  /* random bytes in a token, session or CSRF token */
    SECRET_TEXT = 43,   /* their base64url length without padding */
    TOKEN_PREFIX_LEN = 4,
};
static const char TOKEN_PREFIX[] = "ant_";

_Static_assert(AN_SESSION_TEXT_BYTES == SECRET_TEXT + 1, "session text size");
_Static_assert(AN_CSRF_TEXT_BYTES == SECRET_TEXT + 1, "csrf text size");
_Static_assert(AN_TOKEN_TEXT_BYTES == TOKEN_PREFIX_LEN + SECRET_TEXT + 1, "token text size");

static void init_sodium(void)
{
    /* Fails only when no entropy source exists; randombytes would then abort on use, which
     * is the right outcome for a program that must not make guessable secrets. */
    if (sodium_init() < 0) return;
}

static void ensure_sodium(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_sodium);
}

/* ---- passwords ---------------------------------------------------------------------------- */

int an_password_hash(const char *password, char out[AN_PASSWORD_HASH_BYTES], an_err *err)
{
    ensure_sodium();
    out[0] = '\0';
    size_t n = password ? strlen(password) : 0;
    if (n < AN_PASSWORD_MIN)
        return an_err_set(err, AN_EINVAL, "password",
                          "the password is shorter than %d characters; choose a longer one",
                          AN_PASSWORD_MIN);
    if (n > AN_PASSWORD_MAX)
        return an_err_set(err, AN_EINVAL, "password",
                          "the password is longer than %d bytes; choose a shorter one",
                          AN_PASSWORD_MAX);
    if (crypto_pwhash_str(out, password, (unsigned long long)n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return an_err_set(err, AN_ENOMEM, "password",
                          "not enough memory to hash the password (it needs %zu MiB); free some "
                          "and retry",
                          (size_t)crypto_pwhash_MEMLIMIT_INTERACTIVE >> 20);
    return 0;
}

bool an_password_check(const char *hash, const char *password)
{
    ensure_sodium();
    if (!hash || !password) return false;
    /* crypto_pwhash_str_verify reads a NUL-terminated string of at most STRBYTES. */
    if (strnlen(hash, AN_PASSWORD_HASH_BYTES) >= AN_PASSWORD_HASH_BYTES) return false;
    return crypto_pwhash_str_verify(hash, password, (unsigned long long)strlen(password)) == 0;
}

int an_password_set(an_store *s, int64_t user_id, const char *password, an_err *err)
{
    char hash[AN_PASSWORD_HASH_BYTES];
    int rc = an_password_hash(password, hash, err);
    if (rc) return rc;
    return an_store_user_set_password(s, user_id, hash, err);
}

/* The hash verified when a login has no stored hash to verify against: made once per
 * process from a random password nobody knows, with the same limits as real hashes, so
 * the verification costs what a real one does. */
static char dummy_hash[AN_PASSWORD_HASH_BYTES];

static void make_dummy_hash(void)
{
    ensure_sodium();
    unsigned char secret[SECRET_BYTES];
    char text[2 * SECRET_BYTES + 1];
    randombytes_buf(secret, sizeof secret);
    sodium_bin2hex(text, sizeof text, secret, sizeof secret);
    if (crypto_pwhash_str(dummy_hash, text, strlen(text), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        dummy_hash[0] = '\0'; /* out of memory: verification then fails fast */
}

/* ---- secrets: random text and its stored hash ----------------------------------------------- */

static void random_text(char out[SECRET_TEXT + 1])
{
    ensure_sodium();
    unsigned char bytes[SECRET_BYTES];
    randombytes_buf(bytes, sizeof bytes);
    sodium_bin2base64(out, SECRET_TEXT + 1, bytes, sizeof bytes,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(bytes, sizeof bytes);
}

static void secret_hash(const char *text, size_t n, uint8_t out[AN_SECRET_HASH_BYTES])
{
    crypto_generichash(out, AN_SECRET_HASH_BYTES, (const unsigned char *)text, n, NULL, 0);
}

/* Whether text[0..n) is SECRET_TEXT base64url characters: anything else cannot be one of
 * ours, and is refused without a database lookup. */
static bool is_secret_text(const char *text, size_t n)
{
    if (n != SECRET_TEXT) return false;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* ---- API tokens ------------------------------------------------------------------------------ */

int an_token_create(an_store *s, int64_t user_id, const char *label,
                    char out[AN_TOKEN_TEXT_BYTES], int64_t *id_out, an_err *err)
{
    if (id_out) *id_out = 0;
    memcpy(out, TOKEN_PREFIX, TOKEN_PREFIX_LEN);
    random_text(out + TOKEN_PREFIX_LEN);
    uint8_t h[AN_SECRET_HASH_BYTES];
    secret_hash(out, strlen(out), h);
    int rc = an_store_token_add(s, user_id, h, label, id_out, err);
    if (rc) sodium_memzero(out, AN_TOKEN_TEXT_BYTES);
    return rc;
}

static int bad_token(an_err *err)
{
    return an_err_set(err, AN_ENOTFOUND, "token", "unknown or revoked token");
}

int an_token_verify(an_store *s, const char *text, an_user *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    if (!text) return bad_token(err);
    size_t n = strnlen(text, AN_TOKEN_TEXT_BYTES);
    if (n <= TOKEN_PREFIX_LEN || memcmp(text, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0 ||
        !is_secret_text(text + TOKEN_PREFIX_LEN, n - TOKEN_PREFIX_LEN))
        return bad_token(err);
    uint8_t h[AN_SECRET_HASH_BYTES];
    secret_hash(text, n, h);
    return an_store_token_user(s, h, out, err);
}

/* ---- sessions ---------------------------------------------------------------------------------- */

enum { SESSION_TTL_MAX = 366 * 24 * 3600 };

int an_session_create(an_store *s, int64_t user_id, int64_t ttl_seconds,
                      char token_out[AN_SESSION_TEXT_BYTES], char csrf_out[AN_CSRF_TEXT_BYTES],
                      an_err *err)
{
    token_out[0] = csrf_out[0] = '\0';
    if (ttl_seconds < 1 || ttl_seconds > SESSION_TTL_MAX)
        return an_err_set(err, AN_EINVAL, "ttl",
                          "a session lasts from 1 second to a year; %lld seconds is outside",
                          (long long)ttl_seconds);
    random_text(token_out);
    random_text(csrf_out);
    uint8_t h[AN_SECRET_HASH_BYTES];
    secret_hash(token_out, SECRET_TEXT, h);
    int rc = an_store_session_add(s, h, user_id, csrf_out, (int64_t)time(NULL) + ttl_seconds, err);
    if (rc) {
        sodium_memzero(token_out, AN_SESSION_TEXT_BYTES);
        sodium_memzero(csrf_out, AN_CSRF_TEXT_BYTES);
    }
    return rc;
}

static int bad_session(an_err *err)
{
    return an_err_set(err, AN_ENOTFOUND, "session", "unknown or expired session; log in again");
}

int an_session_verify(an_store *s, const char *token, an_user *out,
                      char csrf_out[AN_CSRF_TEXT_BYTES], an_err *err)
{
    memset(out, 0, sizeof *out);
    if (csrf_out) csrf_out[0] = '\0';
    size_t n = token ? strnlen(token, AN_SESSION_TEXT_BYTES) : 0;
    if (!token || !is_secret_text(token, n)) return bad_session(err);
    uint8_t h[AN_SECRET_HASH_BYTES];
    secret_hash(token, n, h);
    char *csrf = NULL;
    int rc = an_store_session_get(s, h, out, &csrf, err);
    if (rc) return rc;
    if (csrf_out) {
        size_t m = strlen(csrf);
        if (m >= AN_CSRF_TEXT_BYTES) m = AN_CSRF_TEXT_BYTES - 1; /* ours are exactly 43 */
        memcpy(csrf_out, csrf, m);
        csrf_out[m] = '\0';
    }
    free(csrf);
    return 0;
}

int an_session_end(an_store *s, const char *token, an_err *err)
{
    size_t n = token ? strnlen(token, AN_SESSION_TEXT_BYTES) : 0;
    if (!token || !is_secret_text(token, n)) return 0;
    uint8_t h[AN_SECRET_HASH_BYTES];
    secret_hash(token, n, h);
    return an_store_session_delete(s, h, err);
}

/* ---- login ---------------------------------------------------------------------------------- */

int an_login(an_store *s, const char *name, const char *password, an_user *out, an_err *err)
{
    static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
    char *hash = NULL;
    int rc = an_store_user_auth(s, name ? name : "", out, &hash, err);
    if (rc && rc != -AN_ENOTFOUND) return rc; /* the workspace failed: not a login answer */
    bool ok;
    if (rc == 0 && hash) {
        ok = an_password_check(hash, password ? password : "");
    } else {
        pthread_once(&dummy_once, make_dummy_hash);
        an_password_check(dummy_hash, password ? password : "");
        ok = false;
    }
    free(hash);
    if (ok) return 0;
    an_user_clear(out);
    return an_err_set(err, AN_ENOTFOUND, "login", "wrong user name or password");
}

/* ---- rate limiter ------------------------------------------------------------------------------
 *
 * A fixed table of slots, keyed by a keyed 64-bit hash of the key (SipHash with a random
 * key per limiter, so nobody can pick keys that collide on purpose). A key lives in one of
 * PROBE slots from its home slot; lookups check all of them (never stopping at an empty
 * one), so freeing a slot never hides another key. A new key takes a free or expired slot,
 * else the slot whose window began earliest. */

enum { SLOTS = 16384, PROBE = 16 };

typedef struct rl_slot {
    uint64_t h; /* 0: free */
    double start;
    int failures;
} rl_slot;

struct an_ratelimit {
    pthread_mutex_t mu;
    int max_failures;
    double window;
    unsigned char key[crypto_shorthash_KEYBYTES];
    rl_slot slot[SLOTS];
};

an_ratelimit *an_ratelimit_new(int max_failures, double window_seconds)
{
    ensure_sodium();
    an_ratelimit *rl = an_xcalloc(1, sizeof *rl);
    pthread_mutex_init(&rl->mu, NULL);
    rl->max_failures = max_failures < 1 ? 1 : max_failures;
    rl->window = window_seconds > 0 ? window_seconds : 60;
    randombytes_buf(rl->key, sizeof rl->key);
    return rl;
}

void an_ratelimit_free(an_ratelimit *rl)
{
    if (!rl) return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

static uint64_t rl_hash(const an_ratelimit *rl, const char *key)
{
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, (const unsigned char *)key, strlen(key), rl->key);
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | out[i];
    return h ? h : 1;
}

static rl_slot *rl_find(an_ratelimit *rl, uint64_t h)
{
    for (size_t i = 0; i < PROBE; i++) {
        rl_slot *sl = &rl->slot[(h + i) % SLOTS];
        if (sl->h == h) return sl;
    }
    return NULL;
}

void an_ratelimit_hit(an_ratelimit *rl, const char *key, double now)
{
    if (!rl || !key) return;
    uint64_t h = rl_hash(rl, key);
    pthread_mutex_lock(&rl->mu);
    rl_slot *sl = rl_find(rl, h);
    if (!sl) {
        rl_slot *oldest = NULL;
        for (size_t i = 0; i < PROBE; i++) {
            rl_slot *c = &rl->slot[(h + i) % SLOTS];
            if (!c->h || now - c->start >= rl->window) {
                sl = c;
                break;
            }
            if (!oldest || c->start < oldest->start) oldest = c;
        }
        if (!sl) sl = oldest;
        sl->h = h;
        sl->failures = 0;
        sl->start = now;
    } else if (now - sl->start >= rl->window) {
        sl->failures = 0; /* a new window */
        sl->start = now;
    }
    sl->failures++;
    pthread_mutex_unlock(&rl->mu);
}

bool an_ratelimit_allowed(an_ratelimit *rl, const char *key, double now)
{
    if (!rl || !key) return true;
    uint64_t h = rl_hash(rl, key);
    pthread_mutex_lock(&rl->mu);
    rl_slot *sl = rl_find(rl, h);
    bool ok = !sl || sl->failures < rl->max_failures || now - sl->start >= rl->window;
    pthread_mutex_unlock(&rl->mu);
    return ok;
}

void an_ratelimit_reset(an_ratelimit *rl, const char *key)
{
    if (!rl || !key) return;
    uint64_t h = rl_hash(rl, key);
    pthread_mutex_lock(&rl->mu);
    rl_slot *sl = rl_find(rl, h);
    if (sl) memset(sl, 0, sizeof *sl);
    pthread_mutex_unlock(&rl->mu);
}

/* ---- roles ----------------------------------------------------------------------------------- */

bool an_can(const an_user *u, an_action a, bool is_member)
{
    if (!u) return false;
    switch (u->role) {
    case AN_ROLE_ADMIN:
        return a == AN_ACT_VIEW_PROJECT || a == AN_ACT_CREATE_PROJECT ||
               a == AN_ACT_MANAGE_PROJECT || a == AN_ACT_ANNOTATE || a == AN_ACT_REVIEW ||
               a == AN_ACT_MANAGE_USERS;
    case AN_ROLE_MANAGER:
        if (a == AN_ACT_CREATE_PROJECT) return true;
        return is_member && (a == AN_ACT_VIEW_PROJECT || a == AN_ACT_MANAGE_PROJECT ||
                             a == AN_ACT_ANNOTATE || a == AN_ACT_REVIEW);
    case AN_ROLE_REVIEWER:
        return is_member &&
               (a == AN_ACT_VIEW_PROJECT || a == AN_ACT_ANNOTATE || a == AN_ACT_REVIEW);
    case AN_ROLE_ANNOTATOR:
        return is_member && (a == AN_ACT_VIEW_PROJECT || a == AN_ACT_ANNOTATE);
    }
    return false; /* an unknown role gets nothing */
}
