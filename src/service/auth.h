/* Accounts: passwords, API tokens, login sessions, a login rate limiter and the role matrix.
 * Both front ends (the CLI and `annot serve`) call these; nothing here knows about HTTP.
 *
 * Secrets are shown once and never stored: a token or session cookie is 32 random bytes in
 * base64url text; the store keeps only the BLAKE2b-256 hash of that text, so reading the
 * workspace does not give anyone a working credential. Passwords are stored as Argon2id
 * strings (libsodium crypto_pwhash_str, interactive limits: about 64 MiB and a few tens of
 * milliseconds per check, by design).
 *
 * Thread safety: the functions taking an an_store follow the store's rule (one handle per
 * thread); an_password_*, an_can and the rate limiter are safe from any thread. */
#ifndef AN_AUTH_H
#define AN_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* ---- passwords ---------------------------------------------------------------------------- */

enum {
    AN_PASSWORD_MIN = 8,          /* bytes */
    AN_PASSWORD_MAX = 4096,       /* bytes; longer input is refused, not truncated */
    AN_PASSWORD_HASH_BYTES = 128, /* = crypto_pwhash_STRBYTES, including the NUL */
};

/* Hashes password into out (NUL-terminated Argon2id string, safe to store). AN_EINVAL when
 * the password is shorter than AN_PASSWORD_MIN or longer than AN_PASSWORD_MAX bytes;
 * AN_ENOMEM when the machine cannot spare the hash's memory. */
int an_password_hash(const char *password, char out[AN_PASSWORD_HASH_BYTES], an_err *err);
/* True when password matches hash (an an_password_hash string). The comparison's time does
 * not depend on where the two differ. False for a NULL or malformed hash. */
bool an_password_check(const char *hash, const char *password);
/* Hashes password and stores it for user_id (an_store_user_set_password). */
int an_password_set(an_store *s, int64_t user_id, const char *password, an_err *err);

/* ---- API tokens ----------------------------------------------------------------------------- */

enum {
    AN_TOKEN_TEXT_BYTES = 48, /* "ant_" + 43 base64url characters + NUL */
};

/* Makes a new API token for user_id: 32 random bytes shown as "ant_" + base64url. Stores
 * only the token's hash, with label (NULL: ""). out receives the token text, which cannot be
 * recovered later: give it to the user now. *id_out (may be NULL) is the token's id, for
 * revoking it. AN_ENOTFOUND when no such user. */
int an_token_create(an_store *s, int64_t user_id, const char *label,
                    char out[AN_TOKEN_TEXT_BYTES], int64_t *id_out, an_err *err);
/* Finds the active user owning token text. AN_ENOTFOUND (the server answers 401) for a
 * malformed, unknown or revoked token or an inactive user. */
int an_token_verify(an_store *s, const char *text, an_user *out, an_err *err);

/* ---- login sessions ---------------------------------------------------------------------------- */

enum {
    AN_SESSION_TEXT_BYTES = 44, /* 43 base64url characters + NUL */
    AN_CSRF_TEXT_BYTES = 44,
};

/* Starts a session for user_id lasting ttl_seconds (1 second to 1 year). token_out
 * receives the session's cookie text and csrf_out the token the client must echo on every
 * state-changing request. Only the cookie's hash is stored. */
int an_session_create(an_store *s, int64_t user_id, int64_t ttl_seconds,
                      char token_out[AN_SESSION_TEXT_BYTES], char csrf_out[AN_CSRF_TEXT_BYTES],
                      an_err *err);
/* Finds the active user of an unexpired session and its CSRF token. AN_ENOTFOUND for a
 * malformed, unknown or expired session or an inactive user. csrf_out may be NULL. */
int an_session_verify(an_store *s, const char *token, an_user *out,
                      char csrf_out[AN_CSRF_TEXT_BYTES], an_err *err);
/* Ends a session (logout); ending an unknown session is not an error. */
int an_session_end(an_store *s, const char *token, an_err *err);

/* Checks a user name and password. On success fills out. Fails with AN_ENOTFOUND and the
 * same message ("wrong user name or password") whether the user is unknown, inactive, has
 * no password or gave the wrong one; in every case one Argon2id verification runs (a dummy
 * one when there is no stored hash), so the answer's timing does not tell which names
 * exist. Callers should also rate-limit failures (an_ratelimit). */
int an_login(an_store *s, const char *name, const char *password, an_user *out, an_err *err);

/* ---- login rate limiter ----------------------------------------------------------------------- */

/* Counts failures per key (a client address, a user name) in fixed windows: after
 * max_failures failures within window_seconds of the first, the key is refused until that
 * window has passed. In memory, bounded: it tracks at most a fixed number of keys (about
 * 16 thousand); when full, the oldest windows are forgotten first. Thread-safe. Times are
 * seconds from an_monotonic() (passed in, so callers and tests control the clock). */
typedef struct an_ratelimit an_ratelimit;

an_ratelimit *an_ratelimit_new(int max_failures, double window_seconds);
void an_ratelimit_free(an_ratelimit *rl);
/* Records one failure for key at time now. */
void an_ratelimit_hit(an_ratelimit *rl, const char *key, double now);
/* Whether key may try again at time now. */
bool an_ratelimit_allowed(an_ratelimit *rl, const char *key, double now);
/* Forgets key's failures (after a successful login). */
void an_ratelimit_reset(an_ratelimit *rl, const char *key);

/* ---- roles and permissions ------------------------------------------------------------------- */

typedef enum an_action {
    AN_ACT_VIEW_PROJECT,   /* see a project, its tasks, annotations and statistics */
    AN_ACT_CREATE_PROJECT, /* create a new project (membership does not apply) */
    AN_ACT_MANAGE_PROJECT, /* update or delete a project, import, export, manage members */
    AN_ACT_ANNOTATE,       /* create annotations and update or delete one's own */
    AN_ACT_REVIEW,         /* accept or reject annotations */
    AN_ACT_MANAGE_USERS,   /* add users, change roles, passwords and activity */
} an_action;

/* Whether user u may do action a on a project; is_member says whether u is a member of
 * that project (ignored for CREATE_PROJECT and MANAGE_USERS). NULL u: false.
 *
 *                     admin   manager    reviewer   annotator
 *   VIEW_PROJECT      yes     member     member     member
 *   CREATE_PROJECT    yes     yes        no         no
 *   MANAGE_PROJECT    yes     member     no         no
 *   ANNOTATE          yes     member     member     member
 *   REVIEW            yes     member     member     no
 *   MANAGE_USERS      yes     no         no         no
 *
 * ("member": only on projects the user is a member of.) A manager who creates a project
 * should be made its member by the caller, or they could not manage it afterwards. Whether
 * an annotation is the user's own is the caller's check. */
bool an_can(const an_user *u, an_action a, bool is_member);

#endif
