/* The provenance ledger's rows (schema 7: tables ledger and ledger_tasks). The store only keeps
 * and reads them; chaining, signing and verifying are comply/ledger.h's work, so that nothing
 * here needs the workspace's key.
 *
 * Thread safety: as the handle (one thread at a time). */
#ifndef AN_STORE_LEDGER_H
#define AN_STORE_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define AN_LEDGER_HASH_BYTES 32
#define AN_LEDGER_SIG_BYTES 64

/* One entry as stored. In rows handed to callbacks the strings and blobs are borrowed, valid
 * during the callback; a blob of the wrong length is given with its real length so that a
 * verifier can name it. */
typedef struct an_ledger_row {
    int64_t seq;
    const char *at;
    const char *kind;
    int64_t project_id; /* 0: none */
    const char *body;   /* canonical JSON text: what the hash covers after prev and seq */
    size_t body_len;
    const uint8_t *prev;
    size_t prev_len;
    const uint8_t *hash;
    size_t hash_len;
    const uint8_t *sig;
    size_t sig_len;
} an_ledger_row;
typedef int (*an_ledger_row_cb)(void *ud, const an_ledger_row *r);

/* The workspace's location as a file path (absolute when SQLite knows it), for files kept
 * beside the workspace such as the ledger key; "" for a workspace with no file (in memory). */
const char *an_store_path(an_store *s);

/* The last entry's seq and hash, or 0 and 32 zero bytes when the ledger is empty. */
int an_store_ledger_head(an_store *s, int64_t *seq, uint8_t hash[AN_LEDGER_HASH_BYTES],
                         an_err *err);

/* Inserts an entry (inside the open write transaction; AN_EINTERNAL outside) and indexes it
 * under each of task_ids (repeats are fine). The caller computed seq, prev, hash and sig. */
int an_store_ledger_insert(an_store *s, const an_ledger_row *r, const int64_t *task_ids,
                           size_t n_tasks, an_err *err);

/* Calls cb for each entry with seq > after_seq in seq order, streaming (memory does not grow
 * with the ledger); a non-zero return from cb stops and is returned. */
int an_store_ledger_each(an_store *s, int64_t after_seq, an_ledger_row_cb cb, void *ud,
                         an_err *err);

/* Reads one entry: cb is called once, or AN_ENOTFOUND. */
int an_store_ledger_get(an_store *s, int64_t seq, an_ledger_row_cb cb, void *ud, an_err *err);

/* Calls cb, in seq order, for each entry indexed under task_id (ledger_tasks). */
int an_store_ledger_of_task(an_store *s, int64_t task_id, an_ledger_row_cb cb, void *ud,
                            an_err *err);

/* Calls cb, in seq order, for each entry of project_id of the given kind. */
int an_store_ledger_of_project(an_store *s, int64_t project_id, const char *kind,
                               an_ledger_row_cb cb, void *ud, an_err *err);

/* The project and import batch of a task (batch 0 when it was not imported). AN_ENOTFOUND
 * when the task does not exist (it may have been deleted: its ledger entries stay). */
int an_store_task_origin(an_store *s, int64_t task_id, int64_t *project_id, int64_t *batch_id,
                         an_err *err);

/* Calls cb for each task of batch_id with first_id <= id <= last_id, in id order, with its
 * content hash: what an import entry's digest covers. Reads no payload. */
typedef int (*an_task_hash_cb)(void *ud, int64_t task_id, const uint8_t hash[AN_HASH_BYTES]);
int an_store_batch_task_hashes(an_store *s, int64_t batch_id, int64_t first_id, int64_t last_id,
                               an_task_hash_cb cb, void *ud, an_err *err);

#endif
