/* The provenance ledger: the key, appending entries, digests and annotation groups (see
 * ledger.h). Verification, history and exports are in ledger_verify.c and ledger_export.c. */
#include "comply/ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "store/settings.h"

/* ---- hex ------------------------------------------------------------------------------------ */

void an_ledger_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool an_ledger_unhex(const char *hex, uint8_t *out, size_t n)
{
    if (!hex || strlen(hex) != 2 * n) return false;
    for (size_t i = 0; i < n; i++) {
        int a = hexval(hex[2 * i]), b = hexval(hex[2 * i + 1]);
        if (a < 0 || b < 0) return false;
        out[i] = (uint8_t)(a << 4 | b);
    }
    return true;
}

/* ---- the key -------------------------------------------------------------------------------- */

int an_ledger_key_path(an_store *s, char out[PATH_MAX], an_err *err)
{
    const char *env = getenv("ANNOT_LEDGER_KEY");
    if (env && *env) {
        snprintf(out, PATH_MAX, "%s", env);
        return 0;
    }
    const char *loc = an_store_path(s);
    if (!*loc)
        return an_err_set(err, AN_EINVAL, "ANNOT_LEDGER_KEY",
                          "this workspace has no file to keep its ledger key beside; name a key "
                          "file with $ANNOT_LEDGER_KEY");
    if ((size_t)snprintf(out, PATH_MAX, "%s.key", loc) >= PATH_MAX)
        return an_err_set(err, AN_EINVAL, loc, "the workspace path is too long for its key file");
    return 0;
}

static const char key_header[] =
    "# annot ledger key (Ed25519 secret key, hex). Whoever holds this file can sign ledger\n"
    "# entries for the workspace beside it: keep it secret, mode 0600, and back it up apart.\n";

/* Writes a new keypair to a temporary file and links it into place, so that two processes
 * creating the key at once agree on one (the loser reads the winner's). */
static int key_create(const char *path, an_err *err)
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_keypair(pk, sk);
    char hex[2 * crypto_sign_SECRETKEYBYTES + 1];
    an_ledger_hex(sk, sizeof sk, hex);
    sodium_memzero(sk, sizeof sk);
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int rc = 0;
    if (fd < 0) {
        rc = an_err_set(err, AN_EIO, path, "cannot create the ledger key file: %s",
                        strerror(errno));
    } else {
        an_buf b = AN_BUF_INIT;
        an_buf_adds(&b, key_header);
        an_buf_adds(&b, hex);
        an_buf_addc(&b, '\n');
        ssize_t w = write(fd, b.p, b.len);
        bool ok = w == (ssize_t)b.len && fsync(fd) == 0;
        sodium_memzero(b.p, b.len);
        an_buf_free(&b);
        if (close(fd) != 0) ok = false;
        if (!ok)
            rc = an_err_set(err, AN_EIO, path, "cannot write the ledger key file: %s",
                            strerror(errno));
        else if (link(tmp, path) != 0 && errno != EEXIST)
            rc = an_err_set(err, AN_EIO, path, "cannot put the ledger key file in place: %s",
                            strerror(errno));
        unlink(tmp);
    }
    sodium_memzero(hex, sizeof hex);
    return rc;
}

/* an_ledger_key_load, also giving the status of the file it read (for the key cache). */
static int key_read(const char *path, bool create, uint8_t pk[AN_LEDGER_PK_BYTES],
                    uint8_t sk[crypto_sign_SECRETKEYBYTES], struct stat *read_st, an_err *err)
{
    if (sodium_init() < 0)
        return an_err_set(err, AN_EINTERNAL, "libsodium", "libsodium cannot start");
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        int rc = key_create(path, err);
        if (rc) return rc;
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
        if (errno == ENOENT)
            return an_err_set(err, AN_ENOTFOUND, path,
                              "the ledger key file does not exist; it is made by the first "
                              "import, annotation or export, or by `annot ledger key`");
        return an_err_set(err, AN_EIO, path, "cannot open the ledger key file: %s",
                          strerror(errno));
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = an_err_set(err, AN_EIO, path, "cannot read the ledger key file: %s",
                        strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = an_err_set(err, AN_EINVAL, path, "the ledger key must be a regular file");
    else if (st.st_uid != geteuid())
        rc = an_err_set(err, AN_EINVAL, path,
                        "the ledger key file belongs to another user; it must be the owner's "
                        "alone");
    else if (st.st_mode & 077)
        rc = an_err_set(err, AN_EINVAL, path,
                        "the ledger key file may be read or written by others (mode %03o); "
                        "refusing to sign with it: run chmod 600 %s",
                        (unsigned)(st.st_mode & 0777), path);
    if (rc == 0 && read_st) *read_st = st;
    char text[1024];
    ssize_t n = 0;
    if (rc == 0) {
        n = read(fd, text, sizeof text - 1);
        if (n < 0) rc = an_err_set(err, AN_EIO, path, "cannot read the ledger key file");
    }
    close(fd);
    if (rc) return rc;
    text[n] = '\0';
    /* The key is the first line that is not a comment. */
    char *line = text;
    while (*line == '#') {
        char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : line + strlen(line);
    }
    char *end = line + strcspn(line, "\r\n");
    *end = '\0';
    bool ok = an_ledger_unhex(line, sk, crypto_sign_SECRETKEYBYTES);
    sodium_memzero(text, sizeof text);
    if (!ok || crypto_sign_ed25519_sk_to_pk(pk, sk) != 0) {
        sodium_memzero(sk, crypto_sign_SECRETKEYBYTES);
        return an_err_set(err, AN_EINVAL, path,
                          "the ledger key file is damaged (no 128-digit hex key line); restore "
                          "it from a backup");
    }
    /* A file whose stored public half does not match its seed was edited by hand. */
    uint8_t seed_pk[crypto_sign_PUBLICKEYBYTES], seed_sk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_seed_keypair(seed_pk, seed_sk, sk);
    sodium_memzero(seed_sk, sizeof seed_sk);
    if (memcmp(seed_pk, pk, sizeof seed_pk) != 0) {
        sodium_memzero(sk, crypto_sign_SECRETKEYBYTES);
        return an_err_set(err, AN_EINVAL, path, "the ledger key file is damaged (its two halves "
                          "disagree); restore it from a backup");
    }
    return 0;
}

int an_ledger_key_load(const char *path, bool create, uint8_t pk[AN_LEDGER_PK_BYTES],
                       uint8_t sk[crypto_sign_SECRETKEYBYTES], an_err *err)
{
    return key_read(path, create, pk, sk, NULL, err);
}

/* The signing key between entries. Reading it costs four system calls, and checking it a key
 * derivation (the file's two halves must agree), about as much as the signature itself: the
 * server's write batcher signs an entry for every batch. Every use still looks at the file
 * (lstat: device, inode, size, mode, owner, modification and change times), so a key file
 * that is replaced, edited, moved away or opened to others is read and checked again at once.
 * The secret stays in this process's memory, where every signing already put it. */
enum { CACHE_SETTLE_S = 2 };
static pthread_mutex_t key_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    bool valid;
    char path[PATH_MAX];
    struct stat st;
    uint8_t pk[AN_LEDGER_PK_BYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
} key_cache;

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mode == b->st_mode && a->st_uid == b->st_uid &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int signing_key(const char *path, uint8_t pk[AN_LEDGER_PK_BYTES],
                       uint8_t sk[crypto_sign_SECRETKEYBYTES], an_err *err)
{
    struct stat now;
    if (lstat(path, &now) == 0) {
        pthread_mutex_lock(&key_mu);
        bool hit = key_cache.valid && strcmp(key_cache.path, path) == 0 &&
                   same_file(&key_cache.st, &now);
        if (hit) {
            memcpy(pk, key_cache.pk, AN_LEDGER_PK_BYTES);
            memcpy(sk, key_cache.sk, crypto_sign_SECRETKEYBYTES);
        }
        pthread_mutex_unlock(&key_mu);
        if (hit) return 0;
    }
    struct stat st;
    int rc = key_read(path, true, pk, sk, &st, err);
    if (rc) return rc;
    /* File times tick coarsely (milliseconds): a change in the same tick as the read would
     * leave them as they were. So a file changed in the last CACHE_SETTLE_S seconds is not
     * kept, and is read again next time (git's answer to the same race). */
    struct timespec clock_now;
    clock_gettime(CLOCK_REALTIME, &clock_now);
    bool settled = clock_now.tv_sec - st.st_mtim.tv_sec >= CACHE_SETTLE_S &&
                   clock_now.tv_sec - st.st_ctim.tv_sec >= CACHE_SETTLE_S;
    pthread_mutex_lock(&key_mu);
    key_cache.valid = settled && strlen(path) < sizeof key_cache.path;
    if (key_cache.valid) {
        snprintf(key_cache.path, sizeof key_cache.path, "%s", path);
        key_cache.st = st;
        memcpy(key_cache.pk, pk, AN_LEDGER_PK_BYTES);
        memcpy(key_cache.sk, sk, crypto_sign_SECRETKEYBYTES);
    }
    pthread_mutex_unlock(&key_mu);
    return 0;
}

/* Compares pk with the workspace's setting, storing it when unset (in the open transaction, or
 * in one of its own). */
static int check_workspace_pk(an_store *s, const char *path, const uint8_t pk[AN_LEDGER_PK_BYTES],
                              an_err *err)
{
    char *stored = NULL;
    int rc = an_store_setting_get(s, AN_LEDGER_SETTING_PK, &stored, err);
    if (rc) return rc;
    char hex[2 * AN_LEDGER_PK_BYTES + 1];
    an_ledger_hex(pk, AN_LEDGER_PK_BYTES, hex);
    if (!stored) {
        rc = an_store_setting_set(s, AN_LEDGER_SETTING_PK, hex, err);
    } else if (strcmp(stored, hex) != 0) {
        rc = an_err_set(err, AN_EINVAL, path,
                        "this key file is not the workspace's ledger key (the workspace's public "
                        "key is %s, the file's %s): put the workspace's own key file back, or "
                        "name it with $ANNOT_LEDGER_KEY",
                        stored, hex);
    }
    free(stored);
    return rc;
}

int an_ledger_public_key(an_store *s, bool create, uint8_t pk[AN_LEDGER_PK_BYTES], an_err *err)
{
    char path[PATH_MAX];
    int rc = an_ledger_key_path(s, path, err);
    if (rc) return rc;
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    rc = an_ledger_key_load(path, create, pk, sk, err);
    sodium_memzero(sk, sizeof sk);
    if (rc) return rc;
    return check_workspace_pk(s, path, pk, err);
}

/* ---- appending ------------------------------------------------------------------------------ */

void an_ledger_head_clear(an_ledger_head *h)
{
    free(h->entry);
    memset(h, 0, sizeof *h);
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int an_ledger_append(an_store *s, const char *kind, int64_t project_id, json_t *body,
                     const int64_t *task_ids, size_t n_tasks, an_err *err)
{
    return an_ledger_append_head(s, kind, project_id, body, task_ids, n_tasks, NULL, err);
}

int an_ledger_append_head(an_store *s, const char *kind, int64_t project_id, json_t *body,
                          const int64_t *task_ids, size_t n_tasks, an_ledger_head *out,
                          an_err *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!*an_store_tx_time(s))
        return an_err_set(err, AN_EINTERNAL, "an_ledger_append",
                          "a ledger entry is written inside the transaction it records: call "
                          "an_store_begin first");
    if (!kind || !*kind || !body)
        return an_err_set(err, AN_EINTERNAL, "an_ledger_append", "an entry needs a kind and a "
                          "body");
    char path[PATH_MAX];
    int rc = an_ledger_key_path(s, path, err);
    if (rc) return rc;
    uint8_t pk[AN_LEDGER_PK_BYTES], sk[crypto_sign_SECRETKEYBYTES];
    if ((rc = signing_key(path, pk, sk, err))) return rc;
    if ((rc = check_workspace_pk(s, path, pk, err))) goto done;

    int64_t seq;
    uint8_t prev[AN_LEDGER_HASH_BYTES];
    if ((rc = an_store_ledger_head(s, &seq, prev, err))) goto done;
    seq++;

    char at[32];
    an_now_iso(at);
    /* The task list goes into the signed body sorted and without repeats, so that the index
     * (ledger_tasks) can be checked against it. */
    int64_t *ids = NULL;
    size_t n_ids = 0;
    if (n_tasks) {
        ids = an_xmalloc(n_tasks * sizeof *ids);
        memcpy(ids, task_ids, n_tasks * sizeof *ids);
        qsort(ids, n_tasks, sizeof *ids, cmp_id);
        for (size_t i = 0; i < n_tasks; i++)
            if (!n_ids || ids[n_ids - 1] != ids[i]) ids[n_ids++] = ids[i];
    }
    json_t *env = json_object();
    json_object_set_new(env, "kind", json_string(kind));
    json_object_set_new(env, "project", project_id > 0 ? json_integer(project_id) : json_null());
    json_object_set_new(env, "at", json_string(at));
    if (n_ids) {
        json_t *list = json_array();
        for (size_t i = 0; i < n_ids; i++) json_array_append_new(list, json_integer(ids[i]));
        json_object_set_new(env, "tasks", list);
    }
    json_object_set(env, "body", body);
    an_buf text = AN_BUF_INIT;
    an_json_write(&text, env);
    json_decref(env);

    uint8_t seq_be[8];
    for (int i = 0; i < 8; i++) seq_be[i] = (uint8_t)((uint64_t)seq >> (56 - 8 * i));
    uint8_t hash[AN_LEDGER_HASH_BYTES], sig[AN_LEDGER_SIG_BYTES];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof hash);
    crypto_generichash_update(&st, prev, sizeof prev);
    crypto_generichash_update(&st, seq_be, sizeof seq_be);
    crypto_generichash_update(&st, (const unsigned char *)text.p, text.len);
    crypto_generichash_final(&st, hash, sizeof hash);
    crypto_sign_detached(sig, NULL, hash, sizeof hash, sk);

    an_ledger_row row = {.seq = seq,
                         .at = at,
                         .kind = kind,
                         .project_id = project_id,
                         .body = text.p,
                         .body_len = text.len,
                         .prev = prev,
                         .prev_len = sizeof prev,
                         .hash = hash,
                         .hash_len = sizeof hash,
                         .sig = sig,
                         .sig_len = sizeof sig};
    rc = an_store_ledger_insert(s, &row, ids, n_ids, err);
    if (rc == 0 && out) {
        out->seq = seq;
        memcpy(out->hash, hash, sizeof hash);
        memcpy(out->sig, sig, sizeof sig);
        memcpy(out->at, at, sizeof at);
        out->entry = an_buf_detach(&text);
    }
    an_buf_free(&text);
    free(ids);
done:
    sodium_memzero(sk, sizeof sk);
    return rc;
}

/* ---- digests -------------------------------------------------------------------------------- */

void an_ledger_digest_init(an_ledger_digest *d)
{
    crypto_generichash_init(&d->st, NULL, 0, AN_LEDGER_HASH_BYTES);
    d->used = 0;
    d->n = 0;
}

void an_ledger_digest_add(an_ledger_digest *d, int64_t id, const uint8_t hash[AN_HASH_BYTES])
{
    if (d->used + 24 > sizeof d->buf) {
        crypto_generichash_update(&d->st, d->buf, d->used);
        d->used = 0;
    }
    unsigned char *p = d->buf + d->used;
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)((uint64_t)id >> (56 - 8 * i));
    memcpy(p + 8, hash, AN_HASH_BYTES);
    d->used += 24;
    d->n++;
}

void an_ledger_digest_final(an_ledger_digest *d, uint8_t out[AN_LEDGER_HASH_BYTES])
{
    if (d->used) crypto_generichash_update(&d->st, d->buf, d->used);
    d->used = 0;
    crypto_generichash_final(&d->st, out, AN_LEDGER_HASH_BYTES);
}

/* ---- annotation groups ---------------------------------------------------------------------- */

typedef struct note {
    int64_t project_id, annotation_id, task_id;
    const char *action; /* one of the static action names */
    bool has_hash;
    uint8_t hash[AN_HASH_BYTES];
} note;

struct an_ledger_group {
    an_store *s;
    note *notes;
    size_t n, cap;
};

/* The group open on this thread: the server's writer thread opens one around each commit, so
 * that an_annotation_write (whose signature knows nothing of groups) can join it. */
static _Thread_local an_ledger_group *open_group;

static const char *action_name(const char *action)
{
    static const char *const names[] = {"create", "update", "delete"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(action, names[i]) == 0) return names[i];
    return NULL;
}

static json_t *note_json(const note *n)
{
    json_t *item = json_array();
    json_array_append_new(item, json_integer(n->annotation_id));
    json_array_append_new(item, json_integer(n->task_id));
    if (n->has_hash) {
        char hex[2 * AN_HASH_BYTES + 1];
        an_hash_hex(n->hash, hex);
        json_array_append_new(item, json_string(hex));
    } else {
        json_array_append_new(item, json_null());
    }
    return item;
}

/* Appends one entry for the notes[i] with the same project and action as notes[first]. */
static int append_notes(an_store *s, note *notes, size_t n, size_t first, bool *done, an_err *err)
{
    json_t *list = json_array();
    int64_t *tasks = an_xmalloc(n * sizeof *tasks);
    size_t n_tasks = 0;
    for (size_t i = first; i < n; i++) {
        if (done[i] || notes[i].project_id != notes[first].project_id ||
            notes[i].action != notes[first].action)
            continue;
        done[i] = true;
        json_array_append_new(list, note_json(&notes[i]));
        tasks[n_tasks++] = notes[i].task_id;
    }
    json_t *body = json_pack("{s:s,s:o}", "action", notes[first].action, "annotations", list);
    int rc = an_ledger_append(s, "annotation", notes[first].project_id, body, tasks, n_tasks, err);
    json_decref(body);
    free(tasks);
    return rc;
}

int an_ledger_note_annotation(an_store *s, const char *action, int64_t project_id,
                              int64_t annotation_id, int64_t task_id, const char *result,
                              an_err *err)
{
    const char *name = action_name(action);
    if (!name)
        return an_err_set(err, AN_EINTERNAL, "action", "unknown annotation action %s", action);
    note n = {.project_id = project_id, .annotation_id = annotation_id, .task_id = task_id,
              .action = name, .has_hash = result != NULL};
    if (result) an_hash(result, strlen(result), n.hash);
    an_ledger_group *g = open_group;
    if (g && g->s == s) {
        if (g->n == g->cap) {
            g->cap = g->cap ? 2 * g->cap : 64;
            g->notes = an_xrealloc(g->notes, g->cap * sizeof *g->notes);
        }
        g->notes[g->n++] = n;
        return 0;
    }
    bool done = false;
    return append_notes(s, &n, 1, 0, &done, err);
}

an_ledger_group *an_ledger_group_open(an_store *s)
{
    an_ledger_group *g = an_xcalloc(1, sizeof *g);
    g->s = s;
    open_group = g;
    return g;
}

size_t an_ledger_group_mark(const an_ledger_group *g)
{
    return g ? g->n : 0;
}

void an_ledger_group_undo(an_ledger_group *g, size_t mark)
{
    if (g && mark < g->n) g->n = mark;
}

void an_ledger_group_discard(an_ledger_group *g)
{
    if (!g) return;
    if (open_group == g) open_group = NULL;
    free(g->notes);
    free(g);
}

int an_ledger_group_close(an_ledger_group *g, an_err *err)
{
    if (!g) return 0;
    /* Closed first, so that the entries below are appended directly. */
    if (open_group == g) open_group = NULL;
    int rc = 0;
    bool *done = an_xcalloc(g->n ? g->n : 1, sizeof *done);
    for (size_t i = 0; rc == 0 && i < g->n; i++)
        if (!done[i]) rc = append_notes(g->s, g->notes, g->n, i, done, err);
    free(done);
    an_ledger_group_discard(g);
    return rc;
}
