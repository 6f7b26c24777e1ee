/* Exports and the provenance ledger: the digest of an exported file or folder, the export's
 * ledger entry, and the signed manifest a receiver verifies (see ledger.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "comply/ledger.h"

#define MANIFEST_VERSION "annot-export/1"
#define MANIFEST_MAX (16u << 20)

/* ---- digests of files and folders ----------------------------------------------------------- */

static int digest_file(const char *path, uint8_t out[AN_LEDGER_HASH_BYTES], int64_t *bytes,
                       an_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return an_err_set(err, AN_EIO, path, "cannot read: %s", strerror(errno));
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, AN_LEDGER_HASH_BYTES);
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = an_xmalloc(CHUNK);
    ssize_t n;
    int64_t total = 0;
    while ((n = read(fd, buf, CHUNK)) > 0) {
        crypto_generichash_update(&st, buf, (unsigned long long)n);
        total += n;
    }
    int rc = 0;
    if (n < 0) rc = an_err_set(err, AN_EIO, path, "cannot read: %s", strerror(errno));
    close(fd);
    free(buf);
    crypto_generichash_final(&st, out, AN_LEDGER_HASH_BYTES);
    if (bytes) *bytes += total;
    return rc;
}

typedef struct names {
    char **v;
    size_t n, cap;
} names;

/* Collects the relative paths of the regular files below root/rel (links are not followed). */
static int collect(const char *root, const char *rel, names *out, an_err *err)
{
    an_buf dir = AN_BUF_INIT;
    an_buf_adds(&dir, root);
    if (*rel) an_buf_addf(&dir, "/%s", rel);
    DIR *d = opendir(dir.p);
    if (!d) {
        int rc = an_err_set(err, AN_EIO, dir.p, "cannot read the folder: %s", strerror(errno));
        an_buf_free(&dir);
        return rc;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (!*rel && !strcmp(e->d_name, AN_LEDGER_MANIFEST_IN_FOLDER)) continue;
        an_buf sub = AN_BUF_INIT, full = AN_BUF_INIT;
        if (*rel) an_buf_addf(&sub, "%s/", rel);
        an_buf_adds(&sub, e->d_name);
        an_buf_addf(&full, "%s/%s", root, sub.p);
        struct stat st;
        if (lstat(full.p, &st) != 0) {
            rc = an_err_set(err, AN_EIO, full.p, "cannot read: %s", strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            rc = collect(root, sub.p, out, err);
        } else if (S_ISREG(st.st_mode)) {
            if (out->n == out->cap) {
                out->cap = out->cap ? 2 * out->cap : 64;
                out->v = an_xrealloc(out->v, out->cap * sizeof *out->v);
            }
            out->v[out->n++] = an_buf_detach(&sub);
        }
        an_buf_free(&sub);
        an_buf_free(&full);
    }
    closedir(d);
    an_buf_free(&dir);
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int an_ledger_digest_path(const char *path, bool folder, uint8_t out[AN_LEDGER_HASH_BYTES],
                          int64_t *bytes, an_err *err)
{
    if (bytes) *bytes = 0;
    if (!folder) return digest_file(path, out, bytes, err);
    names n = {0};
    int rc = collect(path, "", &n, err);
    if (rc == 0) {
        qsort(n.v, n.n, sizeof *n.v, cmp_name);
        crypto_generichash_state st;
        crypto_generichash_init(&st, NULL, 0, AN_LEDGER_HASH_BYTES);
        for (size_t i = 0; rc == 0 && i < n.n; i++) {
            an_buf full = AN_BUF_INIT;
            an_buf_addf(&full, "%s/%s", path, n.v[i]);
            uint8_t h[AN_LEDGER_HASH_BYTES];
            rc = digest_file(full.p, h, bytes, err);
            crypto_generichash_update(&st, (const unsigned char *)n.v[i], strlen(n.v[i]) + 1);
            crypto_generichash_update(&st, h, sizeof h);
            an_buf_free(&full);
        }
        crypto_generichash_final(&st, out, AN_LEDGER_HASH_BYTES);
    }
    for (size_t i = 0; i < n.n; i++) free(n.v[i]);
    free(n.v);
    return rc;
}

/* ---- sealing an export ---------------------------------------------------------------------- */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char hex[2 * 64 + 1];
    an_ledger_hex(p, n, hex);
    return json_string(hex);
}

/* Writes text to path whole or not at all (temporary file, fsync, rename). */
static int write_whole(const char *path, const char *text, size_t len, an_err *err)
{
    an_buf tmp = AN_BUF_INIT;
    an_buf_addf(&tmp, "%s.partial-%ld", path, (long)getpid());
    FILE *f = fopen(tmp.p, "wb");
    int rc = 0;
    if (!f) {
        rc = an_err_set(err, AN_EIO, path, "cannot create the manifest: %s", strerror(errno));
    } else {
        bool ok = fwrite(text, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
        if (fclose(f) != 0) ok = false;
        if (!ok || rename(tmp.p, path) != 0) {
            rc = an_err_set(err, AN_EIO, path, "cannot write the manifest: %s", strerror(errno));
            unlink(tmp.p);
        }
    }
    an_buf_free(&tmp);
    return rc;
}

/* The text a manifest's signature covers: its canonical JSON without "signature". */
static char *manifest_signed_text(const json_t *m)
{
    json_t *copy = json_copy((json_t *)m);
    json_object_del(copy, "signature");
    char *text = an_json_text(copy);
    json_decref(copy);
    return text;
}

static int write_manifest(an_store *s, const an_project *p, const char *format,
                          const char *final_path, const char *manifest_path, bool folder,
                          int64_t tasks, int64_t bytes, const uint8_t digest[AN_LEDGER_HASH_BYTES],
                          const an_ledger_head *h, const uint8_t prev[AN_LEDGER_HASH_BYTES],
                          an_err *err)
{
    char path[PATH_MAX];
    int rc = an_ledger_key_path(s, path, err);
    if (rc) return rc;
    uint8_t pk[AN_LEDGER_PK_BYTES], sk[crypto_sign_SECRETKEYBYTES];
    if ((rc = an_ledger_key_load(path, false, pk, sk, err))) return rc;
    json_t *m = json_object();
    json_object_set_new(m, "manifest", json_string(MANIFEST_VERSION));
    json_object_set_new(m, "file", json_string(base_name(final_path)));
    json_object_set_new(m, "folder", json_boolean(folder));
    json_object_set_new(m, "bytes", json_integer(bytes));
    json_object_set_new(m, "digest_algorithm", json_string("blake2b-256"));
    json_object_set_new(m, "digest", hex_json(digest, AN_LEDGER_HASH_BYTES));
    json_object_set_new(m, "format", json_string(format));
    json_object_set_new(m, "project", json_pack("{s:I,s:s}", "id", (json_int_t)p->id, "name",
                                                p->name));
    json_object_set_new(m, "tasks", json_integer(tasks));
    json_object_set_new(m, "exported_at", json_string(h->at));
    json_t *l = json_object();
    json_object_set_new(l, "seq", json_integer(h->seq));
    json_object_set_new(l, "prev", hex_json(prev, AN_LEDGER_HASH_BYTES));
    json_object_set_new(l, "hash", hex_json(h->hash, AN_LEDGER_HASH_BYTES));
    json_object_set_new(l, "sig", hex_json(h->sig, AN_LEDGER_SIG_BYTES));
    json_object_set_new(l, "entry", json_string(h->entry));
    json_object_set_new(m, "ledger", l);
    json_object_set_new(m, "public_key", hex_json(pk, AN_LEDGER_PK_BYTES));
    char *text = manifest_signed_text(m);
    uint8_t sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const unsigned char *)text, strlen(text), sk);
    sodium_memzero(sk, sizeof sk);
    free(text);
    json_object_set_new(m, "signature", hex_json(sig, sizeof sig));
    an_buf out = AN_BUF_INIT;
    an_json_write(&out, m);
    an_buf_addc(&out, '\n');
    json_decref(m);
    rc = write_whole(manifest_path, out.p, out.len, err);
    an_buf_free(&out);
    return rc;
}

int an_ledger_seal_export(an_store *s, const an_project *p, const char *format,
                          const char *tmp_path, const char *final_path, bool folder,
                          int64_t tasks, char **manifest_out, an_err *err)
{
    if (manifest_out) *manifest_out = NULL;
    uint8_t digest[AN_LEDGER_HASH_BYTES];
    int64_t bytes = 0;
    int rc = 0;
    if (tmp_path && (rc = an_ledger_digest_path(tmp_path, folder, digest, &bytes, err)))
        return rc;
    if ((rc = an_store_begin(s, err))) return rc;
    int64_t head_seq;
    uint8_t prev[AN_LEDGER_HASH_BYTES];
    an_ledger_head h = {0};
    rc = an_store_ledger_head(s, &head_seq, prev, err);
    if (rc == 0) {
        json_t *body = json_object();
        json_object_set_new(body, "format", json_string(format));
        json_object_set_new(body, "tasks", json_integer(tasks));
        if (tmp_path) {
            json_object_set_new(body, "file", json_string(base_name(final_path)));
            json_object_set_new(body, "folder", json_boolean(folder));
            json_object_set_new(body, "bytes", json_integer(bytes));
            json_object_set_new(body, "digest", hex_json(digest, sizeof digest));
        } else {
            json_object_set_new(body, "file", json_null());
            json_object_set_new(body, "digest", json_null());
        }
        json_object_set_new(body, "head", json_pack("{s:I,s:o}", "seq", (json_int_t)head_seq,
                                                    "hash", hex_json(prev, sizeof prev)));
        rc = an_ledger_append_head(s, "export", p->id, body, NULL, 0, &h, err);
        json_decref(body);
    }
    if (rc == 0) {
        json_t *detail = json_pack("{s:s,s:I,s:I}", "format", format, "tasks", (json_int_t)tasks,
                                   "ledger_seq", (json_int_t)h.seq);
        json_object_set_new(detail, "path", final_path ? json_string(final_path) : json_null());
        char *text = an_json_text(detail);
        json_decref(detail);
        rc = an_store_audit(s, 0, "export", "project", p->id, text, err);
        free(text);
    }
    rc = an_store_end(s, rc, err);
    if (rc == 0 && tmp_path) {
        an_buf mpath = AN_BUF_INIT;
        if (folder)
            an_buf_addf(&mpath, "%s/%s", tmp_path, AN_LEDGER_MANIFEST_IN_FOLDER);
        else
            an_buf_addf(&mpath, "%s.manifest.json", final_path);
        rc = write_manifest(s, p, format, final_path, mpath.p, folder, tasks, bytes, digest, &h,
                            prev, err);
        if (rc == 0 && manifest_out) {
            if (folder) {
                an_buf_reset(&mpath);
                an_buf_addf(&mpath, "%s/%s", final_path, AN_LEDGER_MANIFEST_IN_FOLDER);
            }
            *manifest_out = an_buf_detach(&mpath);
        }
        an_buf_free(&mpath);
    }
    an_ledger_head_clear(&h);
    return rc;
}

/* ---- verifying an export -------------------------------------------------------------------- */

static int fail(an_export_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(an_export_verdict *v, const char *fmt, ...)
{
    v->ok = false;
    if (v->message[0]) return 0; /* the first failure is the one named */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof v->message, fmt, ap);
    va_end(ap);
    return 0;
}

static json_t *read_manifest(const char *path, an_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        an_err_set(err, errno == ENOENT ? AN_ENOTFOUND : AN_EIO, path,
                   "cannot read the manifest: %s; give its path with --manifest",
                   strerror(errno));
        return NULL;
    }
    an_buf b = AN_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        an_buf_add(&b, chunk, n);
        if (b.len > MANIFEST_MAX) break;
    }
    fclose(f);
    json_t *m = NULL;
    if (b.len > MANIFEST_MAX)
        an_err_set(err, AN_EINVAL, path, "this is not a manifest (over 16 MB)");
    else
        m = an_json_parse(b.p ? b.p : "", b.len, path, err);
    an_buf_free(&b);
    if (m && (!json_is_object(m) || !an_json_str(m, "manifest") ||
              strcmp(an_json_str(m, "manifest"), MANIFEST_VERSION) != 0)) {
        json_decref(m);
        an_err_set(err, AN_EINVAL, path, "this is not an annot export manifest (%s)",
                   MANIFEST_VERSION);
        return NULL;
    }
    return m;
}

typedef struct ws_entry {
    bool found;
    uint8_t hash[AN_LEDGER_HASH_BYTES];
} ws_entry;

static int ws_row(void *ud, const an_ledger_row *r)
{
    ws_entry *w = ud;
    w->found = r->hash_len == AN_LEDGER_HASH_BYTES;
    if (w->found) memcpy(w->hash, r->hash, AN_LEDGER_HASH_BYTES);
    return 0;
}

int an_ledger_verify_export(const char *path, const char *manifest_path, const uint8_t *pinned_pk,
                            an_store *s, an_export_verdict *v, an_err *err)
{
    memset(v, 0, sizeof *v);
    v->workspace = -1;
    if (sodium_init() < 0)
        return an_err_set(err, AN_EINTERNAL, "libsodium", "libsodium cannot start");
    struct stat st;
    if (stat(path, &st) != 0)
        return an_err_set(err, AN_ENOTFOUND, path, "cannot read the export: %s", strerror(errno));
    bool folder = S_ISDIR(st.st_mode);
    an_buf mpath = AN_BUF_INIT;
    if (manifest_path)
        an_buf_adds(&mpath, manifest_path);
    else if (folder)
        an_buf_addf(&mpath, "%s/%s", path, AN_LEDGER_MANIFEST_IN_FOLDER);
    else
        an_buf_addf(&mpath, "%s.manifest.json", path);
    json_t *m = read_manifest(mpath.p, err);
    an_buf_free(&mpath);
    if (!m) return -err->code;

    v->ok = true;
    const json_t *l = json_object_get(m, "ledger");
    const json_t *seq = json_object_get(l, "seq"), *tasks = json_object_get(m, "tasks");
    v->seq = json_is_integer(seq) ? json_integer_value(seq) : 0;
    v->tasks = json_is_integer(tasks) ? json_integer_value(tasks) : 0;
    snprintf(v->hash_hex, sizeof v->hash_hex, "%s", an_json_str(l, "hash") ? an_json_str(l, "hash") : "");
    snprintf(v->pk_hex, sizeof v->pk_hex, "%s",
             an_json_str(m, "public_key") ? an_json_str(m, "public_key") : "");

    uint8_t pk[AN_LEDGER_PK_BYTES], sig[crypto_sign_BYTES];
    bool have_pk = an_ledger_unhex(an_json_str(m, "public_key"), pk, sizeof pk);
    if (!have_pk) fail(v, "the manifest carries no public key");

    /* 1. The manifest is signed by the key it names. */
    if (have_pk && an_ledger_unhex(an_json_str(m, "signature"), sig, sizeof sig)) {
        char *text = manifest_signed_text(m);
        v->signature_ok =
            crypto_sign_verify_detached(sig, (const unsigned char *)text, strlen(text), pk) == 0;
        free(text);
    }
    if (!v->signature_ok) fail(v, "the manifest's signature does not verify: it was altered");

    /* 2. The ledger entry it carries hashes to its hash, which the key signed, and records
     * this export's digest. */
    uint8_t prev[AN_LEDGER_HASH_BYTES], hash[AN_LEDGER_HASH_BYTES], esig[AN_LEDGER_SIG_BYTES];
    const char *entry = an_json_str(l, "entry");
    if (have_pk && entry && an_ledger_unhex(an_json_str(l, "prev"), prev, sizeof prev) &&
        an_ledger_unhex(an_json_str(l, "hash"), hash, sizeof hash) &&
        an_ledger_unhex(an_json_str(l, "sig"), esig, sizeof esig) && v->seq > 0) {
        uint8_t seq_be[8], got[AN_LEDGER_HASH_BYTES];
        for (int i = 0; i < 8; i++) seq_be[i] = (uint8_t)((uint64_t)v->seq >> (56 - 8 * i));
        crypto_generichash_state hs;
        crypto_generichash_init(&hs, NULL, 0, sizeof got);
        crypto_generichash_update(&hs, prev, sizeof prev);
        crypto_generichash_update(&hs, seq_be, sizeof seq_be);
        crypto_generichash_update(&hs, (const unsigned char *)entry, strlen(entry));
        crypto_generichash_final(&hs, got, sizeof got);
        an_err perr;
        json_t *env = an_json_parse(entry, strlen(entry), "ledger.entry", &perr);
        const json_t *body = json_object_get(env, "body");
        const char *kind = an_json_str(env, "kind"), *edigest = an_json_str(body, "digest"),
                   *mdigest = an_json_str(m, "digest");
        v->entry_ok = !memcmp(got, hash, sizeof got) &&
                      crypto_sign_verify_detached(esig, hash, sizeof hash, pk) == 0 && kind &&
                      !strcmp(kind, "export") && edigest && mdigest && !strcmp(edigest, mdigest);
        json_decref(env);
    }
    if (!v->entry_ok)
        fail(v, "the ledger entry in the manifest does not verify (altered, or not this "
                "export's)");

    /* 3. What was received is what was exported. */
    uint8_t want[AN_LEDGER_HASH_BYTES], got[AN_LEDGER_HASH_BYTES];
    an_err derr;
    an_err_clear(&derr);
    if (!an_ledger_unhex(an_json_str(m, "digest"), want, sizeof want)) {
        fail(v, "the manifest carries no digest");
    } else if (an_ledger_digest_path(path, folder, got, NULL, &derr) < 0) {
        fail(v, "%s", derr.msg);
    } else {
        v->digest_ok = !memcmp(want, got, sizeof got);
        if (!v->digest_ok)
            fail(v, "%s does not match the manifest's digest: the export was altered after it "
                    "was written",
                 path);
    }

    /* 4. Signed by the key the sender announced. */
    v->key_ok = !pinned_pk || (have_pk && !memcmp(pinned_pk, pk, sizeof pk));
    if (!v->key_ok) fail(v, "the manifest is signed by another key than the one given with --key");

    /* 5. The sender's own workspace still holds the pinned entry unchanged. */
    if (s && v->seq > 0) {
        ws_entry w = {0};
        an_err lerr;
        an_err_clear(&lerr);
        int rc = an_store_ledger_get(s, v->seq, ws_row, &w, &lerr);
        if (rc < 0 && rc != -AN_ENOTFOUND) {
            json_decref(m);
            *err = lerr;
            return rc;
        }
        v->workspace = w.found && !memcmp(w.hash, hash, sizeof hash);
        if (!v->workspace)
            fail(v, "the workspace's ledger %s entry %lld: its history was rewritten or cut",
                 w.found ? "has another" : "has no", (long long)v->seq);
    }
    json_decref(m);
    return 0;
}
