/* The provenance ledger read back: verifying the chain, one task's history, and checking an
 * import entry against the tasks now stored (see ledger.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "comply/ledger.h"
#include "store/settings.h"

const char *an_ledger_problem_name(an_ledger_problem p)
{
    switch (p) {
    case AN_LEDGER_OK: return "ok";
    case AN_LEDGER_REMOVED: return "removed";
    case AN_LEDGER_ALTERED: return "altered";
    case AN_LEDGER_REORDERED: return "reordered";
    case AN_LEDGER_BAD_SIG: return "bad_signature";
    case AN_LEDGER_KEY: return "key_mismatch";
    }
    return "unknown";
}

/* BLAKE2b-256(prev ‖ seq big-endian ‖ body): the hash an entry must carry. */
static void entry_hash(const uint8_t *prev, int64_t seq, const char *body, size_t len,
                       uint8_t out[AN_LEDGER_HASH_BYTES])
{
    uint8_t seq_be[8];
    for (int i = 0; i < 8; i++) seq_be[i] = (uint8_t)((uint64_t)seq >> (56 - 8 * i));
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, AN_LEDGER_HASH_BYTES);
    crypto_generichash_update(&st, prev, AN_LEDGER_HASH_BYTES);
    crypto_generichash_update(&st, seq_be, sizeof seq_be);
    crypto_generichash_update(&st, (const unsigned char *)body, len);
    crypto_generichash_final(&st, out, AN_LEDGER_HASH_BYTES);
}

typedef struct walk {
    an_ledger_check *out;
    int64_t expect;
    uint8_t prev[AN_LEDGER_HASH_BYTES];
} walk;

static int bad(walk *w, an_ledger_problem p, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(walk *w, an_ledger_problem p, int64_t seq, const char *fmt, ...)
{
    w->out->problem = p;
    w->out->bad_seq = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->out->message, sizeof w->out->message, fmt, ap);
    va_end(ap);
    return 1; /* stops the walk */
}

/* The columns kept beside the body for lookups must say what the signed body says. */
static bool columns_match(const an_ledger_row *r, const json_t *env)
{
    const char *kind = an_json_str(env, "kind"), *at = an_json_str(env, "at");
    const json_t *proj = json_object_get(env, "project");
    int64_t pid = json_is_integer(proj) ? json_integer_value(proj) : 0;
    return kind && at && strcmp(kind, r->kind) == 0 && strcmp(at, r->at) == 0 &&
           pid == r->project_id && (json_is_integer(proj) || json_is_null(proj));
}

static int verify_row(void *ud, const an_ledger_row *r)
{
    walk *w = ud;
    an_ledger_check *o = w->out;
    if (r->seq != w->expect) {
        if (r->seq > w->expect)
            return bad(w, AN_LEDGER_REMOVED, w->expect,
                       "entry %lld is missing: the ledger goes from %lld to %lld (entries were "
                       "removed)",
                       (long long)w->expect, (long long)w->expect - 1, (long long)r->seq);
        return bad(w, AN_LEDGER_REORDERED, r->seq, "entry %lld is out of order",
                   (long long)r->seq);
    }
    if (r->prev_len != AN_LEDGER_HASH_BYTES || memcmp(r->prev, w->prev, AN_LEDGER_HASH_BYTES))
        return bad(w, AN_LEDGER_REORDERED, r->seq,
                   "entry %lld does not follow entry %lld (its prev is not that entry's hash): "
                   "entries were reordered, or this one was moved or replaced",
                   (long long)r->seq, (long long)r->seq - 1);
    uint8_t h[AN_LEDGER_HASH_BYTES];
    entry_hash(w->prev, r->seq, r->body, r->body_len, h);
    if (r->hash_len != AN_LEDGER_HASH_BYTES || memcmp(h, r->hash, AN_LEDGER_HASH_BYTES))
        return bad(w, AN_LEDGER_ALTERED, r->seq,
                   "entry %lld was altered: its content does not match its hash",
                   (long long)r->seq);
    if (r->sig_len != AN_LEDGER_SIG_BYTES ||
        crypto_sign_verify_detached(r->sig, r->hash, AN_LEDGER_HASH_BYTES, o->pk) != 0)
        return bad(w, AN_LEDGER_BAD_SIG, r->seq,
                   "entry %lld is not signed by the workspace's key: it was altered and "
                   "re-hashed, or written with another key",
                   (long long)r->seq);
    an_err perr;
    json_t *env = an_json_parse(r->body, r->body_len, "ledger", &perr);
    bool same = env && columns_match(r, env);
    json_decref(env);
    if (!same)
        return bad(w, AN_LEDGER_ALTERED, r->seq,
                   "entry %lld was altered: its kind, project or time columns differ from its "
                   "signed body",
                   (long long)r->seq);
    memcpy(w->prev, r->hash, AN_LEDGER_HASH_BYTES);
    w->expect++;
    o->entries++;
    o->last_seq = r->seq;
    memcpy(o->head, r->hash, AN_LEDGER_HASH_BYTES);
    return 0;
}

/* Chooses the key to verify with: pinned, else the key file's (checked against the workspace
 * setting), else the setting's. Returns 1 when a key problem was recorded. */
static int choose_key(an_store *s, const uint8_t *pinned, an_ledger_check *o, an_err *err)
{
    char *stored = NULL;
    int rc = an_store_setting_get(s, AN_LEDGER_SETTING_PK, &stored, err);
    if (rc) return rc;
    uint8_t setting_pk[AN_LEDGER_PK_BYTES];
    bool have_setting = stored && an_ledger_unhex(stored, setting_pk, AN_LEDGER_PK_BYTES);
    bool stored_bad = stored && !have_setting;
    free(stored);

    uint8_t file_pk[AN_LEDGER_PK_BYTES], sk[crypto_sign_SECRETKEYBYTES];
    bool have_file = false;
    char path[PATH_MAX];
    an_err kerr;
    an_err_clear(&kerr);
    if (an_ledger_key_path(s, path, &kerr) == 0 &&
        an_ledger_key_load(path, false, file_pk, sk, &kerr) == 0)
        have_file = true;
    sodium_memzero(sk, sizeof sk);

    if (pinned) {
        memcpy(o->pk, pinned, AN_LEDGER_PK_BYTES);
        o->key_source = "pinned";
    } else if (have_file) {
        memcpy(o->pk, file_pk, AN_LEDGER_PK_BYTES);
        o->key_source = "key file";
    } else if (have_setting) {
        memcpy(o->pk, setting_pk, AN_LEDGER_PK_BYTES);
        o->key_source = "workspace";
    } else {
        o->key_source = "none";
    }
    if (stored_bad) {
        o->problem = AN_LEDGER_KEY;
        snprintf(o->message, sizeof o->message,
                 "the workspace setting %s is not a public key", AN_LEDGER_SETTING_PK);
        return 1;
    }
    const uint8_t *want = pinned ? pinned : have_file ? file_pk : NULL;
    if (want && have_setting && memcmp(want, setting_pk, AN_LEDGER_PK_BYTES) != 0) {
        o->problem = AN_LEDGER_KEY;
        snprintf(o->message, sizeof o->message,
                 "the workspace's public key (setting %s) is not the %s: the database's key was "
                 "replaced, or this is another workspace's key",
                 AN_LEDGER_SETTING_PK, pinned ? "pinned key" : "key file's");
        return 1;
    }
    return 0;
}

int an_ledger_verify(an_store *s, const uint8_t *pinned_pk, an_ledger_check *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    if (sodium_init() < 0)
        return an_err_set(err, AN_EINTERNAL, "libsodium", "libsodium cannot start");
    int rc = an_store_read_begin(s, err);
    if (rc) return rc;
    rc = choose_key(s, pinned_pk, out, err);
    if (rc == 0) {
        walk w = {.out = out, .expect = 1};
        rc = an_store_ledger_each(s, 0, verify_row, &w, err);
        if (rc == 0 && out->entries && !strcmp(out->key_source, "none")) {
            out->problem = AN_LEDGER_KEY;
            snprintf(out->message, sizeof out->message,
                     "the ledger has entries but the workspace has no public key and no key "
                     "file: give the key with --key");
        }
    }
    an_store_read_end(s);
    return rc < 0 ? rc : 0;
}

/* ---- one task's history --------------------------------------------------------------------- */

typedef struct seqs {
    int64_t *v;
    size_t n, cap;
    int64_t task_id, batch_id;
    int64_t import_seq; /* the import entry that covered the task; 0: none found */
} seqs;

static void seqs_add(seqs *q, int64_t seq)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? 2 * q->cap : 16;
        q->v = an_xrealloc(q->v, q->cap * sizeof *q->v);
    }
    q->v[q->n++] = seq;
}

static json_t *entry_body(const an_ledger_row *r)
{
    an_err e;
    json_t *env = an_json_parse(r->body, r->body_len, "ledger", &e);
    if (!env) return NULL;
    json_t *body = json_incref(json_object_get(env, "body"));
    json_decref(env);
    return body;
}

static int on_import(void *ud, const an_ledger_row *r)
{
    seqs *q = ud;
    json_t *b = entry_body(r);
    const json_t *batch = json_object_get(b, "batch"), *first = json_object_get(b, "first_task"),
                 *last = json_object_get(b, "last_task");
    if (json_is_integer(batch) && json_integer_value(batch) == q->batch_id &&
        json_is_integer(first) && json_is_integer(last) &&
        json_integer_value(first) <= q->task_id && q->task_id <= json_integer_value(last)) {
        seqs_add(q, r->seq);
        if (!q->import_seq) q->import_seq = r->seq;
    }
    json_decref(b);
    return 0;
}

static int on_indexed(void *ud, const an_ledger_row *r)
{
    seqs_add(ud, r->seq);
    return 0;
}

static int on_export(void *ud, const an_ledger_row *r)
{
    seqs *q = ud;
    if (q->import_seq && r->seq > q->import_seq) seqs_add(q, r->seq);
    return 0;
}

typedef struct forward {
    an_ledger_row_cb cb;
    void *ud;
} forward;

static int forward_row(void *ud, const an_ledger_row *r)
{
    forward *f = ud;
    return f->cb(f->ud, r);
}

static int cmp_seq(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int an_ledger_task_history(an_store *s, int64_t task_id, an_ledger_row_cb cb, void *ud,
                           an_err *err)
{
    seqs q = {.task_id = task_id};
    int64_t project_id = 0;
    int rc = an_store_read_begin(s, err);
    if (rc) return rc;
    an_err oerr;
    an_err_clear(&oerr);
    int orc = an_store_task_origin(s, task_id, &project_id, &q.batch_id, &oerr);
    if (orc < 0 && orc != -AN_ENOTFOUND) {
        *err = oerr;
        rc = orc;
    }
    /* Import entries index no tasks (that would cost a write per task): the task's batch and
     * the entry's id range find it. */
    if (rc == 0 && orc == 0 && q.batch_id > 0)
        rc = an_store_ledger_of_project(s, project_id, "import", on_import, &q, err);
    if (rc == 0) rc = an_store_ledger_of_task(s, task_id, on_indexed, &q, err);
    if (rc == 0 && orc == 0)
        rc = an_store_ledger_of_project(s, project_id, "export", on_export, &q, err);
    if (rc == 0 && q.n == 0 && orc == -AN_ENOTFOUND) {
        *err = oerr;
        rc = orc;
    }
    if (rc == 0) {
        qsort(q.v, q.n, sizeof *q.v, cmp_seq);
        forward f = {cb, ud};
        for (size_t i = 0; rc == 0 && i < q.n; i++)
            if (i == 0 || q.v[i] != q.v[i - 1]) rc = an_store_ledger_get(s, q.v[i], forward_row, &f,
                                                                         err);
    }
    an_store_read_end(s);
    free(q.v);
    return rc;
}

static int fold_task(void *ud, int64_t task_id, const uint8_t hash[AN_HASH_BYTES])
{
    an_ledger_digest_add(ud, task_id, hash);
    return 0;
}

int an_ledger_import_check(an_store *s, const an_ledger_row *r, bool *same, an_err *err)
{
    *same = false;
    json_t *b = entry_body(r);
    const json_t *batch = json_object_get(b, "batch"), *first = json_object_get(b, "first_task"),
                 *last = json_object_get(b, "last_task");
    uint8_t want[AN_LEDGER_HASH_BYTES];
    if (!json_is_integer(batch) || !json_is_integer(first) || !json_is_integer(last) ||
        !an_ledger_unhex(an_json_str(b, "task_digest"), want, sizeof want)) {
        json_decref(b);
        return an_err_set(err, AN_EINVAL, "ledger", "entry %lld is not an import entry",
                          (long long)r->seq);
    }
    an_ledger_digest *d = an_xmalloc(sizeof *d);
    an_ledger_digest_init(d);
    int rc = an_store_batch_task_hashes(s, json_integer_value(batch), json_integer_value(first),
                                        json_integer_value(last), fold_task, d, err);
    if (rc == 0) {
        uint8_t got[AN_LEDGER_HASH_BYTES];
        an_ledger_digest_final(d, got);
        *same = memcmp(got, want, sizeof got) == 0;
    }
    free(d);
    json_decref(b);
    return rc;
}
