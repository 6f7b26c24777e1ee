/* The provenance ledger: an append-only chain of signed entries recording every import,
 * annotation, redaction and export of a workspace (docs/compliance.md, "Provenance ledger").
 *
 * An entry covers many objects (a committed import batch, one group commit of annotations,
 * an export), so the cost of chaining and signing is paid per transaction, never per task.
 * Entry n stores
 *   body = canonical JSON text {"kind":K,"project":P|null,"at":T[,"tasks":[ids]],"body":B}
 *   hash = BLAKE2b-256(prev ‖ n as 8 bytes big-endian ‖ body),  prev = hash of entry n-1
 *          (32 zero bytes for entry 1)
 *   sig  = Ed25519 signature of hash under the workspace's key.
 * The kind, project and time columns are copies for lookups; verification trusts only the
 * signed body.
 *
 * The key: an Ed25519 keypair per workspace. The secret key lives in a file beside the
 * workspace (LOCATION.key, mode 0600, created on first use; $ANNOT_LEDGER_KEY names another
 * path), never in the database, so that whoever can edit the database cannot re-sign. The
 * public key is kept in the workspace setting "ledger.public_key" (hex); a key file whose
 * public key differs from it is refused.
 *
 * Thread safety: functions use only the store handle they are given (one thread at a time);
 * an annotation group (an_ledger_group_*) belongs to the thread that opened it. */
#ifndef AN_COMPLY_LEDGER_H
#define AN_COMPLY_LEDGER_H

#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/hash.h"
#include "store/ledger.h"
#include "store/store.h"

#define AN_LEDGER_PK_BYTES 32
#define AN_LEDGER_SETTING_PK "ledger.public_key"
#define AN_LEDGER_MANIFEST_IN_FOLDER "annot-manifest.json"

/* ---- appending ------------------------------------------------------------------------------ */

/* An entry's place in the chain, as written. */
typedef struct an_ledger_head {
    int64_t seq; /* 0: the ledger is empty */
    uint8_t hash[AN_LEDGER_HASH_BYTES];
    uint8_t sig[AN_LEDGER_SIG_BYTES];
    char at[32];
    char *entry; /* the signed body text (malloc'd; an_ledger_head_clear frees it) */
} an_ledger_head;
void an_ledger_head_clear(an_ledger_head *h);

/* Appends an entry of kind ("import", "annotation", "export", "redaction", …) about
 * project_id (0: none) with body (borrowed; any JSON value), indexed under task_ids (may be
 * NULL with n_tasks 0), inside the caller's open write transaction, so that the entry commits
 * or rolls back with what it records. Loads the workspace key (creating it on first use) and
 * refuses a key file with permissions beyond its owner or whose public key is not the
 * workspace's. AN_EINTERNAL outside a write transaction. */
int an_ledger_append(an_store *s, const char *kind, int64_t project_id, json_t *body,
                     const int64_t *task_ids, size_t n_tasks, an_err *err);
/* The same, filling *out (may be NULL) with the new entry. */
int an_ledger_append_head(an_store *s, const char *kind, int64_t project_id, json_t *body,
                          const int64_t *task_ids, size_t n_tasks, an_ledger_head *out,
                          an_err *err);

/* ---- digests of many (id, hash) pairs ------------------------------------------------------- */

/* A sequential BLAKE2b-256 over (id as 8 bytes big-endian ‖ 16-byte hash) pairs in the order
 * added (id order for an import batch): what an import entry records for its tasks, at about
 * the cost of one memcpy per task. */
typedef struct an_ledger_digest {
    crypto_generichash_state st;
    unsigned char buf[24 * 128];
    size_t used;
    int64_t n;
} an_ledger_digest;
void an_ledger_digest_init(an_ledger_digest *d);
void an_ledger_digest_add(an_ledger_digest *d, int64_t id, const uint8_t hash[AN_HASH_BYTES]);
void an_ledger_digest_final(an_ledger_digest *d, uint8_t out[AN_LEDGER_HASH_BYTES]);

/* ---- annotations, grouped per commit --------------------------------------------------------- */

/* Records that annotation_id (of task_id in project_id) was created, updated or deleted
 * (action "create", "update", "delete") with result text result (NULL: none). When the calling
 * thread has a group open on s (the server's group commit), the note joins the group; else it
 * is appended at once as an entry of its own. Inside the caller's write transaction. */
int an_ledger_note_annotation(an_store *s, const char *action, int64_t project_id,
                              int64_t annotation_id, int64_t task_id, const char *result,
                              an_err *err);

/* A group of annotation notes that becomes one entry per (project, action) when closed: one
 * signature per commit of many annotations. Open it on the thread that will write, after
 * an_store_begin; mark/undo follow the store's savepoints so that an undone write leaves no
 * note; close before an_store_commit (its entries join the transaction), or discard when
 * rolling back. Groups do not nest. */
typedef struct an_ledger_group an_ledger_group;
an_ledger_group *an_ledger_group_open(an_store *s);
size_t an_ledger_group_mark(const an_ledger_group *g);
void an_ledger_group_undo(an_ledger_group *g, size_t mark);
/* Appends the group's entries and frees the group (also on failure). */
int an_ledger_group_close(an_ledger_group *g, an_err *err);
void an_ledger_group_discard(an_ledger_group *g);

/* ---- the key -------------------------------------------------------------------------------- */

/* The key file's path for the workspace: $ANNOT_LEDGER_KEY, else LOCATION.key. AN_EINVAL for
 * a workspace with no file and no $ANNOT_LEDGER_KEY. */
int an_ledger_key_path(an_store *s, char out[PATH_MAX], an_err *err);

/* Reads the keypair from path, creating it (mode 0600, atomically) when create and the file
 * does not exist. Refuses (AN_EINVAL) a file that is not a regular file owned by the user or
 * that group or others may read or write; AN_ENOTFOUND when absent and !create. sk is the
 * 64-byte libsodium secret key; wipe it with sodium_memzero after use. */
int an_ledger_key_load(const char *path, bool create, uint8_t pk[AN_LEDGER_PK_BYTES],
                       uint8_t sk[crypto_sign_SECRETKEYBYTES], an_err *err);

/* The workspace's public key: from its key file (created when create), checked against (and
 * on first use stored in) the workspace setting. Own transaction when it stores. */
int an_ledger_public_key(an_store *s, bool create, uint8_t pk[AN_LEDGER_PK_BYTES], an_err *err);

/* Lower-case hex of n bytes into out (2n+1 bytes); parse back: false unless exactly 2n hex. */
void an_ledger_hex(const uint8_t *p, size_t n, char *out);
bool an_ledger_unhex(const char *hex, uint8_t *out, size_t n);

/* ---- verifying ------------------------------------------------------------------------------ */

typedef enum an_ledger_problem {
    AN_LEDGER_OK = 0,
    AN_LEDGER_REMOVED,   /* a seq is missing */
    AN_LEDGER_ALTERED,   /* the content does not match its hash, or the columns the body */
    AN_LEDGER_REORDERED, /* prev is not the previous entry's hash */
    AN_LEDGER_BAD_SIG,   /* the hash is not signed by the key */
    AN_LEDGER_KEY,       /* the workspace's public key is not its key file's (or the pinned) */
} an_ledger_problem;
/* "ok", "removed", "altered", "reordered", "bad_signature", "key_mismatch". */
const char *an_ledger_problem_name(an_ledger_problem p);

typedef struct an_ledger_check {
    int64_t entries;  /* entries read */
    int64_t last_seq; /* the head */
    uint8_t head[AN_LEDGER_HASH_BYTES];
    uint8_t pk[AN_LEDGER_PK_BYTES];
    const char *key_source; /* "pinned", "key file", "workspace", "none" */
    an_ledger_problem problem;
    int64_t bad_seq; /* the first bad entry (0 when ok, or for a key problem) */
    char message[512];
} an_ledger_check;

/* Walks the whole chain and fills out with the first problem. pinned_pk (may be NULL) is the
 * key the entries must be signed with; otherwise the key file's when readable, checked
 * against the workspace's setting, else the setting's. Returns 0 when the walk ran (good or
 * bad: see out->problem), negative when the ledger could not be read. */
int an_ledger_verify(an_store *s, const uint8_t *pinned_pk, an_ledger_check *out, an_err *err);

/* ---- one task's history --------------------------------------------------------------------- */

/* Calls cb in seq order for each entry concerning task_id: the import entry that covered it
 * (found through tasks.batch_id and the entry's id range), the entries indexed under it
 * (annotations, redactions) and the exports of its project since its import. */
int an_ledger_task_history(an_store *s, int64_t task_id, an_ledger_row_cb cb, void *ud,
                           an_err *err);

/* For an import entry's body: recomputes its task digest from the tasks now stored and sets
 * *same (false when a covered task was changed or deleted since). */
int an_ledger_import_check(an_store *s, const an_ledger_row *r, bool *same, an_err *err);

/* ---- exports -------------------------------------------------------------------------------- */

/* BLAKE2b-256 of a file, or of a folder: over each regular file below it except the manifest,
 * in byte order of relative paths, of (path ‖ NUL ‖ its BLAKE2b-256). *bytes (may be NULL) is
 * the total size. */
int an_ledger_digest_path(const char *path, bool folder, uint8_t out[AN_LEDGER_HASH_BYTES],
                          int64_t *bytes, an_err *err);

/* Seals an export written at tmp_path (a file, or a folder when folder) that will be renamed to
 * final_path: appends its ledger entry (format, tasks, digest, the head before it) with an
 * audit entry in a transaction of its own, then writes the manifest (signed) to
 * final_path.manifest.json, or into the folder as annot-manifest.json. With tmp_path NULL the
 * export went to standard output: the entry records no digest and no manifest is written.
 * *manifest_out (may be NULL) receives the manifest's path (malloc'd) or NULL. */
int an_ledger_seal_export(an_store *s, const an_project *p, const char *format,
                          const char *tmp_path, const char *final_path, bool folder,
                          int64_t tasks, char **manifest_out, an_err *err);

typedef struct an_export_verdict {
    bool ok;              /* every check below passed */
    bool signature_ok;    /* the manifest's signature, under its public key */
    bool entry_ok;        /* the ledger entry it carries: hash recomputed and signed */
    bool digest_ok;       /* the file or folder matches the manifest's digest */
    bool key_ok;          /* the manifest's key is the pinned one (true when none pinned) */
    int workspace;        /* -1 not checked, 0 the workspace's ledger disagrees, 1 agrees */
    int64_t seq;          /* the entry it pins */
    char hash_hex[65];
    char pk_hex[65];
    int64_t tasks;
    char message[512];    /* the first failure, or "" */
} an_export_verdict;

/* Checks an export against its manifest (manifest_path NULL: PATH.manifest.json beside a
 * file, PATH/annot-manifest.json in a folder). pinned_pk (may be NULL) is the key the sender
 * announced; s (may be NULL) a workspace whose ledger should hold the pinned entry. Returns 0
 * when the checks ran (see out->ok), negative when the manifest cannot be read. */
int an_ledger_verify_export(const char *path, const char *manifest_path, const uint8_t *pinned_pk,
                            an_store *s, an_export_verdict *out, an_err *err);

#endif
