/* The workspace store: every byte annot keeps goes through this interface.
 *
 * The embedded default is SQLite (sqlite.c); a PostgreSQL backend will implement the same
 * calls, so nothing above store/ may assume SQLite. A workspace is opened from a location:
 * a file path (SQLite) — later "postgresql://…".
 *
 * Thread safety: an an_store handle is used by one thread at a time; open one handle per
 * thread. Several handles and several processes may share one workspace: writes are
 * serialised (one writer at a time, others wait), reads run beside them.
 *
 * Strings returned in structs are owned by the struct and freed by its _clear function;
 * strings in iterator rows are borrowed and valid until the next call on the iterator. */
#ifndef AN_STORE_H
#define AN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/hash.h"

typedef struct an_store an_store;

/* ---- workspace ---------------------------------------------------------------------- */

/* Opens (creating when missing) the workspace at location and brings its schema up to the
 * current version with forward migrations. */
int an_store_open(const char *location, an_store **out, an_err *err);
void an_store_close(an_store *s);

/* Schema version of the open workspace. */
int an_store_schema_version(an_store *s);

/* Write transactions. begin waits (up to a long timeout) for other writers, so concurrent
 * users queue instead of failing; commit makes everything since begin visible at once;
 * rollback discards it. Every insert below must happen inside begin/commit. */
int an_store_begin(an_store *s, an_err *err);
int an_store_commit(an_store *s, an_err *err);
void an_store_rollback(an_store *s);
/* Ends the open write transaction: commits when rc is 0, else rolls back. Returns rc, or the
 * commit's error. The one-line ending of `begin; …; end` blocks. */
int an_store_end(an_store *s, int rc, an_err *err);

/* Durability of this handle's commits. By default (false) a commit survives a crash of the
 * process but may be lost with the last moments before a power failure or OS crash (WAL with
 * synchronous=NORMAL: no fsync per commit). true: a commit is on disk before it returns
 * (an fsync of the log per commit). The server's write batcher keeps false and flushes
 * apart (an_log_flusher, below). */
int an_store_set_synchronous(an_store *s, bool full, an_err *err);

/* Flushing commits apart from making them. A handle with synchronous off commits into the
 * log without waiting for the disk; an_log_flush then puts everything committed so far on
 * disk, from any thread — the server's writer commits the next batch while another thread
 * waits for the flush of the last one. s names the workspace (any of its handles). */
typedef struct an_log_flusher an_log_flusher;
int an_log_flusher_open(an_store *s, an_log_flusher **out, an_err *err);
/* Flushes the log (fdatasync); AN_EIO naming the file when the disk refuses. */
int an_log_flush(an_log_flusher *f, an_err *err);
void an_log_flusher_close(an_log_flusher *f);

/* Caps this handle's page cache at kib KiB (default 32 MiB per handle). A server keeps
 * several handles (one per request thread, the writer, background threads): those that read
 * little or only append are given less, so the process stays small. */
int an_store_set_cache_kib(an_store *s, int kib, an_err *err);

/* The time the open write transaction gives rows stored without one (ISO 8601 UTC, as
 * created_at): its start. "" outside a write transaction. */
const char *an_store_tx_time(const an_store *s);

/* A savepoint inside the open write transaction, so that one of several writes batched into
 * a transaction can fail without losing the others: mark, write, then release on success or
 * undo (back to the mark, counters included) on failure. One level: mark again only after
 * release or undo. AN_EINTERNAL outside a write transaction. */
int an_store_mark(an_store *s, an_err *err);
int an_store_mark_release(an_store *s, an_err *err);
int an_store_mark_undo(an_store *s, an_err *err);

/* Read transactions. Without one every read runs in a transaction of its own; between
 * read_begin and the matching read_end the handle's reads share one transaction and see one
 * snapshot of the workspace (writes by others that commit meanwhile are not seen). Calls
 * nest, and task streams (an_store_tasks_open) share the transaction: the outermost
 * read_end (or stream close) ends it. Inside a write transaction both calls change nothing
 * (the write transaction already gives one view). While a read transaction is open the
 * handle cannot write: an_store_begin fails, so end it first. read_begin fails only when
 * the workspace cannot be read. */
int an_store_read_begin(an_store *s, an_err *err);
void an_store_read_end(an_store *s);
/* A read the handle may give up early: begun like read_begin (other reads nest in it), but
 * when a write starts on the handle (an_store_begin) while only such reads are open, the
 * transaction is ended first instead of the write being refused. A server opens one around
 * a whole request, so that checking the caller's token and the handler's reads share one
 * transaction, without stopping the handlers that write. Its read_end_soft after such a drop
 * changes nothing. */
int an_store_read_begin_soft(an_store *s, an_err *err);
void an_store_read_end_soft(an_store *s);

/* Checkpoints. Commits append to a log beside the workspace file; a checkpoint copies the
 * log back into the file (with an fsync) so the log can start over. By default a commit that
 * grows the log past a threshold checkpoints itself, and its caller waits for that. A server
 * turns this off on its request handles and checkpoints from a background thread instead:
 * with on = false this handle's commits never checkpoint, and wal_cb (may be NULL) is called
 * after each of its commits with the log's size in pages, on the committing thread and
 * inside the commit (it must not use the store; it may wake the checkpointing thread). Some
 * handle must then call an_store_checkpoint, or the log grows without bound. on = true
 * restores the default. */
typedef void (*an_wal_cb)(void *ud, int64_t log_pages);
int an_store_set_autocheckpoint(an_store *s, bool on, an_wal_cb wal_cb, void *ud, an_err *err);

typedef enum an_checkpoint_mode {
    /* Copies what it can now, waiting for no reader or writer. */
    AN_CHECKPOINT_PASSIVE = 0,
    /* Copies everything and lets the next commit start the log over: waits (briefly: up to
     * wait_ms) for the writer and for readers of older snapshots, holding other writers off
     * meanwhile; AN_EBUSY when they did not finish in time (what was copied stays copied). */
    AN_CHECKPOINT_RESTART = 1,
} an_checkpoint_mode;
/* Runs a checkpoint; *log_pages and *copied_pages (may be NULL) are the log's size and how
 * much of it is now in the workspace file. A PASSIVE checkpoint that another checkpoint is
 * already running returns 0 having copied nothing. */
int an_store_checkpoint(an_store *s, an_checkpoint_mode mode, int wait_ms, int64_t *log_pages,
                        int64_t *copied_pages, an_err *err);

/* ---- users -------------------------------------------------------------------------- */

typedef enum an_role {
    AN_ROLE_ANNOTATOR = 0,
    AN_ROLE_REVIEWER = 1,
    AN_ROLE_MANAGER = 2,
    AN_ROLE_ADMIN = 3,
} an_role;

const char *an_role_name(an_role r);
/* Parses "admin", "manager", "reviewer", "annotator"; -1 when unknown. */
int an_role_parse(const char *s);

typedef struct an_user {
    int64_t id;
    char *name;
    an_role role;
    char *created_at;
} an_user;
void an_user_clear(an_user *u);

/* Adds a user (runs its own transaction). AN_EEXIST when the name is taken. */
int an_store_user_add(an_store *s, const char *name, an_role role, int64_t *id_out, an_err *err);
/* Finds a user by name or numeric id. AN_ENOTFOUND when absent. */
int an_store_user_get(an_store *s, const char *name_or_id, an_user *out, an_err *err);
/* Makes sure user id exists, inside a transaction: when absent, adds a placeholder annotator
 * named "imported-user-ID" that cannot log in. Annotations imported from another workspace
 * keep their annotator ids this way, so agreement and per-annotator reports still tell their
 * annotators apart. */
int an_store_user_ensure(an_store *s, int64_t id, an_err *err);
typedef int (*an_user_cb)(void *ud, const an_user *u);
/* Calls cb for each user in id order; a non-zero return from cb stops and is returned. */
int an_store_user_list(an_store *s, an_user_cb cb, void *ud, an_err *err);

/* ---- projects ----------------------------------------------------------------------- */

typedef struct an_project {
    int64_t id;
    char *name;
    char *config;   /* labeling config XML */
    char *settings; /* JSON object text */
    char *created_at;
    int64_t task_count; /* kept exact by the store, read without counting rows */
    int64_t annotation_count;
    int64_t prediction_count;
} an_project;
void an_project_clear(an_project *p);

/* Creates a project (own transaction); settings_json may be NULL ("{}"). AN_EEXIST when the
 * name is taken. The caller validates the config first. */
int an_store_project_create(an_store *s, const char *name, const char *config_xml,
                            const char *settings_json, int64_t *id_out, an_err *err);
/* Finds a project by name, or by id when the text is all digits and no project has that
 * name. AN_ENOTFOUND when absent. */
int an_store_project_get(an_store *s, const char *name_or_id, an_project *out, an_err *err);
/* The same by id alone (one lookup, where the caller has a number). */
int an_store_project_get_id(an_store *s, int64_t id, an_project *out, an_err *err);
typedef int (*an_project_cb)(void *ud, const an_project *p);
/* Calls cb for each project in id order (config and settings are not loaded: NULL). */
int an_store_project_list(an_store *s, an_project_cb cb, void *ud, an_err *err);

/* ---- import batches ----------------------------------------------------------------- */

/* Records an import batch (inside a transaction). */
int an_store_batch_create(an_store *s, int64_t project_id, const char *source,
                          const char *format, int64_t *id_out, an_err *err);
/* Adds to a batch's counters (inside a transaction). */
int an_store_batch_add(an_store *s, int64_t batch_id, int64_t added, int64_t duplicates,
                       int64_t rejected, an_err *err);

/* ---- writing tasks, annotations, predictions (inside a transaction) ------------------ */

typedef struct an_task_in {
    int64_t project_id;
    int64_t batch_id;           /* 0 for none */
    const char *data;           /* canonical JSON text of the data object */
    size_t data_len;
    const char *meta;           /* JSON object text, or NULL */
    uint8_t hash[AN_HASH_BYTES]; /* content hash of data */
    const char *created_at;     /* NULL: now */
    const char *updated_at;     /* NULL: created_at */
} an_task_in;

/* Inserts a task unless the project already holds one with the same content hash.
 * *id_out is the new id, or 0 when the task was a duplicate (nothing written). */
int an_store_task_insert(an_store *s, const an_task_in *t, int64_t *id_out, an_err *err);

typedef struct an_label_ref {
    const char *from_name;
    const char *label;
} an_label_ref;

typedef struct an_annotation_in {
    int64_t task_id;
    int64_t project_id;
    int64_t annotator_id; /* 0 for none */
    const char *result;   /* canonical JSON text of the result array */
    double lead_time;     /* seconds; NAN when unknown */
    bool ground_truth;
    bool cancelled;
    const char *created_at; /* NULL: now */
    const char *updated_at; /* NULL: created_at */
    const an_label_ref *labels; /* labels the result uses, for per-label counts */
    size_t n_labels;
} an_annotation_in;

int an_store_annotation_insert(an_store *s, const an_annotation_in *a, int64_t *id_out,
                               an_err *err);

typedef struct an_prediction_in {
    int64_t task_id;
    int64_t project_id;
    const char *model_version; /* "" when unknown */
    double score;              /* NAN when none */
    const char *result;        /* canonical JSON text of the result array */
    const char *created_at;    /* NULL: now */
} an_prediction_in;

int an_store_prediction_insert(an_store *s, const an_prediction_in *p, int64_t *id_out,
                               an_err *err);

/* ---- reading tasks with their annotations and predictions (streaming) ---------------- */

typedef struct an_annotation_row {
    int64_t id;
    int64_t annotator_id; /* 0 for none */
    const char *result;
    double lead_time; /* NAN when unknown */
    bool ground_truth;
    bool cancelled;
    const char *created_at;
    const char *updated_at;
} an_annotation_row;

typedef struct an_prediction_row {
    int64_t id;
    const char *model_version;
    double score; /* NAN when none */
    const char *result;
    const char *created_at;
} an_prediction_row;

typedef struct an_task_row {
    int64_t id;
    const char *data; /* canonical JSON text */
    size_t data_len;
    const char *meta; /* JSON text or NULL */
    const char *created_at;
    const char *updated_at;
    const an_annotation_row *annotations; /* in id order */
    size_t n_annotations;
    const an_prediction_row *predictions; /* in id order */
    size_t n_predictions;
} an_task_row;

enum {
    AN_ITER_ANNOTATIONS = 1, /* fill row->annotations */
    AN_ITER_PREDICTIONS = 2, /* fill row->predictions */
};

typedef struct an_task_iter an_task_iter;

/* Opens a stream over a project's tasks in id order. Memory stays bounded by the largest
 * single task with its annotations, whatever the project's size. */
int an_store_tasks_open(an_store *s, int64_t project_id, unsigned flags, an_task_iter **out,
                        an_err *err);
/* Sets *row to the next task: returns 1, 0 at the end, or negative on error. The row and
 * its strings are valid until the next call or close. */
int an_task_iter_next(an_task_iter *it, const an_task_row **row, an_err *err);
void an_task_iter_close(an_task_iter *it);

/* ---- statistics --------------------------------------------------------------------- */

typedef int (*an_label_count_cb)(void *ud, const char *from_name, const char *label,
                                 int64_t count);
/* Calls cb for each (control, label) used by the project's non-cancelled annotations, with
 * the number of annotations using it, ordered by control then label. */
int an_store_label_counts(an_store *s, int64_t project_id, an_label_count_cb cb, void *ud,
                          an_err *err);

/* One annotator's work on a project. */
typedef struct an_annotator_count {
    int64_t annotator_id; /* 0: annotations without an annotator */
    int64_t submitted;    /* non-cancelled annotations */
    int64_t skipped;      /* cancelled ones */
    double mean_lead_time; /* seconds over submitted ones that have one; NAN when none */
} an_annotator_count;
typedef int (*an_annotator_count_cb)(void *ud, const an_annotator_count *c);
/* Calls cb for each annotator of the project's annotations, in annotator id order. */
int an_store_annotator_counts(an_store *s, int64_t project_id, an_annotator_count_cb cb,
                              void *ud, an_err *err);

/* Number of tasks having at least one non-cancelled annotation. */
int an_store_labeled_task_count(an_store *s, int64_t project_id, int64_t *out, an_err *err);

/* ==== accounts, access and review (schema version 2) ==================================== *
 *
 * Times: created_at / updated_at / last_used_at are ISO 8601 UTC text as everywhere above;
 * expiry times (sessions, task locks) are whole seconds since the Unix epoch, because they
 * are compared with "now" on every request. Credentials are never stored: tokens and
 * sessions are looked up by a 32-byte BLAKE2b hash of their text (see service/auth.h). */

#define AN_SECRET_HASH_BYTES 32

/* ---- login data of users -------------------------------------------------------------- */

/* Sets (or with NULL removes: the user cannot log in) the user's password hash, an encoded
 * Argon2id string from an_password_hash. Own transaction or the open one. AN_ENOTFOUND when
 * no user has that id. */
int an_store_user_set_password(an_store *s, int64_t user_id, const char *hash_or_null,
                               an_err *err);
/* Activates or deactivates a user. An inactive user cannot log in, and their tokens and
 * sessions stop working, but their annotations stay. AN_ENOTFOUND when absent. */
int an_store_user_set_active(an_store *s, int64_t user_id, bool active, an_err *err);
/* Whether the user is active. AN_ENOTFOUND when absent. */
int an_store_user_is_active(an_store *s, int64_t user_id, bool *active, an_err *err);
/* Finds an active user by exact name for a login. *password_hash is a malloc'd copy of the
 * stored hash (the caller frees it), or NULL when the user has no password. AN_ENOTFOUND
 * when no active user has that name. out is cleared on failure. */
int an_store_user_auth(an_store *s, const char *name, an_user *out, char **password_hash,
                       an_err *err);
/* Finds a user by id (active or not). AN_ENOTFOUND when absent. */
int an_store_user_by_id(an_store *s, int64_t id, an_user *out, an_err *err);
/* A malloc'd name to show for user id in reports and listings: the user's name, or
 * "user ID" when there is no such user (a placeholder of an import, a deleted one). */
char *an_store_user_label(an_store *s, int64_t id);

/* ---- API tokens ------------------------------------------------------------------------- */

/* Stores a token hash for user_id with a label (NULL: ""). Own transaction or the open one.
 * AN_ENOTFOUND when no such user; AN_EEXIST when the hash is already stored. */
int an_store_token_add(an_store *s, int64_t user_id, const uint8_t hash[AN_SECRET_HASH_BYTES],
                       const char *label, int64_t *id_out, an_err *err);
/* Finds the active user owning the token hash. AN_ENOTFOUND when no token has that hash or
 * its user is inactive. Records the token's last use, writing at most once a minute per
 * token, so that checking a token is a read on almost every request. */
int an_store_token_user(an_store *s, const uint8_t hash[AN_SECRET_HASH_BYTES], an_user *out,
                        an_err *err);
/* Revokes a token by id; with user_id > 0 only when that user owns it. AN_ENOTFOUND when no
 * such token (of that user). */
int an_store_token_delete(an_store *s, int64_t token_id, int64_t user_id, an_err *err);

/* ---- login sessions ---------------------------------------------------------------------- */

/* Stores a session: the hash of its cookie text, its user, its CSRF token (text, at most 255
 * bytes) and when it expires. Also removes sessions that have expired. Own transaction or the
 * open one. AN_ENOTFOUND when no such user. */
int an_store_session_add(an_store *s, const uint8_t hash[AN_SECRET_HASH_BYTES], int64_t user_id,
                         const char *csrf, int64_t expires_at, an_err *err);
/* Finds the active user of an unexpired session; *csrf is a malloc'd copy of its CSRF token
 * (the caller frees it). AN_ENOTFOUND when unknown, expired or the user is inactive. */
int an_store_session_get(an_store *s, const uint8_t hash[AN_SECRET_HASH_BYTES], an_user *out,
                         char **csrf, an_err *err);
/* Deletes a session (logout). Deleting an unknown session is not an error. */
int an_store_session_delete(an_store *s, const uint8_t hash[AN_SECRET_HASH_BYTES], an_err *err);

/* ---- project membership ------------------------------------------------------------------ */

/* Adds user_id to project_id's members; adding a member again changes nothing. Own
 * transaction or the open one. AN_ENOTFOUND when the project or the user does not exist. */
int an_store_member_add(an_store *s, int64_t project_id, int64_t user_id, an_err *err);
/* Removes a membership. AN_ENOTFOUND when the user was not a member. */
int an_store_member_remove(an_store *s, int64_t project_id, int64_t user_id, an_err *err);
int an_store_is_member(an_store *s, int64_t project_id, int64_t user_id, bool *out, an_err *err);
/* Calls cb for each member of the project in user id order. */
int an_store_member_list(an_store *s, int64_t project_id, an_user_cb cb, void *ud, an_err *err);
typedef int (*an_id_cb)(void *ud, int64_t id);
/* Calls cb with the id of each project user_id is a member of, in id order. */
int an_store_user_projects(an_store *s, int64_t user_id, an_id_cb cb, void *ud, an_err *err);

/* ---- single tasks ------------------------------------------------------------------------- */

typedef struct an_task {
    int64_t id;
    int64_t project_id;
    char *data; /* canonical JSON text */
    size_t data_len;
    char *meta; /* JSON text or NULL */
    char *created_at;
    char *updated_at;
    int64_t annotation_count; /* non-cancelled annotations */
    int64_t prediction_count;
} an_task;
void an_task_clear(an_task *t);

/* Reads one task with its data. AN_ENOTFOUND when absent. */
int an_store_task_get(an_store *s, int64_t task_id, an_task *out, an_err *err);

/* A task in a listing: no payload. created_at is borrowed, valid during the callback. */
typedef struct an_task_brief {
    int64_t id;
    const char *created_at;
    const char *updated_at;
    int64_t annotation_count; /* non-cancelled annotations */
    int64_t cancelled_count;  /* cancelled (skipped) annotations */
    int64_t prediction_count;
} an_task_brief;
typedef int (*an_task_brief_cb)(void *ud, const an_task_brief *t);

/* Lists up to limit tasks of the project after skipping offset of them, in id order. The
 * skip seeks from the project's rank marks (every 1024th task), so it walks fewer than 1024
 * entries wherever the page is (a project not written since an older version got its marks
 * walks from the start until its next write). limit is capped at 10000. */
int an_store_task_page(an_store *s, int64_t project_id, int64_t offset, int limit,
                       an_task_brief_cb cb, void *ud, an_err *err);
/* Lists up to limit tasks of the project whose id is greater than after_id, in id order:
 * keyset paging that costs O(limit) whatever the project's size. limit is capped at 10000. */
int an_store_task_after(an_store *s, int64_t project_id, int64_t after_id, int limit,
                        an_task_brief_cb cb, void *ud, an_err *err);

/* Replaces task_id's data (and meta, and updated_at; NULL updated_at: now) with t's, whose
 * project_id must be the task's project and whose hash is the new data's content hash
 * (batch_id and created_at are ignored). Inside a transaction. AN_ENOTFOUND when the task
 * is not in that project; AN_EEXIST when another task of the project has that content. */
int an_store_task_update_data(an_store *s, int64_t task_id, const an_task_in *t, an_err *err);
/* Deletes a task with its annotations, predictions, reviews and lock; the project's
 * counters drop by exactly what was removed. Inside a transaction. AN_ENOTFOUND when
 * absent. */
int an_store_task_delete(an_store *s, int64_t task_id, an_err *err);

/* ---- single annotations and predictions --------------------------------------------------- */

typedef struct an_annotation {
    int64_t id;
    int64_t task_id;
    int64_t project_id;
    int64_t annotator_id; /* 0 for none */
    char *result;         /* canonical JSON text of the result array */
    double lead_time;     /* NAN when unknown */
    bool ground_truth;
    bool cancelled;
    char *created_at;
    char *updated_at;
} an_annotation;
void an_annotation_clear(an_annotation *a);

/* Reads one annotation. AN_ENOTFOUND when absent. */
int an_store_annotation_get(an_store *s, int64_t id, an_annotation *out, an_err *err);
/* Calls cb for each annotation of the task in id order. The annotation's strings are
 * borrowed, valid during the callback. */
typedef int (*an_annotation_cb)(void *ud, const an_annotation *a);
int an_store_annotation_list(an_store *s, int64_t task_id, an_annotation_cb cb, void *ud,
                             an_err *err);

typedef struct an_annotation_update {
    const char *result; /* canonical JSON text of the result array */
    double lead_time;   /* seconds; NAN when unknown */
    bool ground_truth;
    bool cancelled;
    const char *updated_at;     /* NULL: now */
    const an_label_ref *labels; /* the labels the new result uses; replace the old ones */
    size_t n_labels;
} an_annotation_update;
/* Replaces an annotation's result, labels, lead time, flags and updated_at (annotator, task
 * and created_at stay). Inside a transaction. AN_ENOTFOUND when absent. */
int an_store_annotation_update(an_store *s, int64_t id, const an_annotation_update *u,
                               an_err *err);
/* Deletes an annotation with its labels and reviews; the project's annotation counter drops
 * by one. Inside a transaction. AN_ENOTFOUND when absent. */
int an_store_annotation_delete(an_store *s, int64_t id, an_err *err);

/* Calls cb for each prediction of the task in id order (strings borrowed for the call). */
typedef int (*an_prediction_cb)(void *ud, const an_prediction_row *p);
int an_store_prediction_list(an_store *s, int64_t task_id, an_prediction_cb cb, void *ud,
                             an_err *err);

/* ---- task reservations and the next task -------------------------------------------------- */

/* Reserves task_id for user_id until expires_at (epoch seconds). *got is true when the lock
 * was free, had expired (by the wall clock) or was already this user's (then its expiry is
 * replaced); false when another user holds it. Own transaction or the open one.
 * AN_ENOTFOUND when the task does not exist. */
int an_store_lock_task(an_store *s, int64_t task_id, int64_t user_id, int64_t expires_at,
                       bool *got, an_err *err);
/* Releases user_id's lock on task_id (a lock of another user stays). Not an error when there
 * is none. */
int an_store_unlock_task(an_store *s, int64_t task_id, int64_t user_id, an_err *err);

/* Sets *task_id to the lowest-id task of the project that
 *   (a) user_id has not annotated (skipped, i.e. cancelled, annotations count as seen),
 *   (b) has fewer than overlap non-cancelled annotations, and
 *   (c) is not locked by another user with a lock unexpired at now_epoch;
 * or 0 when there is none. Does not take the lock: call an_store_lock_task, which fails
 * (got = false) when another user took it in between. */
int an_store_next_task(an_store *s, int64_t project_id, int64_t user_id, int overlap,
                       int64_t now_epoch, int64_t *task_id, an_err *err);

/* ---- reviews ------------------------------------------------------------------------------ */

typedef struct an_review {
    int64_t id;
    int64_t annotation_id;
    int64_t reviewer_id; /* 0 when the reviewer was removed */
    bool accepted;
    const char *comment; /* "" when none */
    const char *created_at;
} an_review;
typedef int (*an_review_cb)(void *ud, const an_review *r);

/* Records a review of an annotation. Own transaction or the open one. AN_ENOTFOUND when the
 * annotation or the reviewer does not exist. */
int an_store_review_add(an_store *s, int64_t annotation_id, int64_t reviewer_id, bool accepted,
                        const char *comment, int64_t *id_out, an_err *err);
/* Calls cb for each review of the annotation in id order (strings borrowed for the call). */
int an_store_review_list(an_store *s, int64_t annotation_id, an_review_cb cb, void *ud,
                         an_err *err);

/* ---- audit log ---------------------------------------------------------------------------- */

/* Appends an entry to the audit log: who (user_id, 0 for the system) did action (e.g.
 * "annotation.update") to object ("annotation") object_id, with optional detail (JSON text,
 * stored as given). Joins the open write transaction, so the entry commits or rolls back
 * with the change it records; otherwise runs its own. The log is append-only: the workspace
 * refuses to update or delete its rows. */
int an_store_audit(an_store *s, int64_t user_id, const char *action, const char *object,
                   int64_t object_id, const char *detail_json, an_err *err);

/* ==== project edits, export jobs, review queue, audit reads (schema version 3) ========== */

/* ---- user roles --------------------------------------------------------------------------- */

/* Changes a user's role. Own transaction or the open one. AN_ENOTFOUND when absent. */
int an_store_user_set_role(an_store *s, int64_t user_id, an_role role, an_err *err);

/* ---- project edits ------------------------------------------------------------------------ */

/* Changes a project's name, labeling config and/or settings (JSON object text); a NULL field
 * stays as it is. Own transaction or the open one. The caller validates the config. AN_EEXIST
 * when the new name is taken; AN_ENOTFOUND when no such project. */
int an_store_project_update(an_store *s, int64_t id, const char *name_or_null,
                            const char *config_or_null, const char *settings_or_null,
                            an_err *err);
/* Deletes a project with everything in it (tasks, annotations, predictions, reviews, locks,
 * members, import batches, export jobs); the audit log keeps its entries. Own transaction or
 * the open one. AN_ENOTFOUND when absent. */
int an_store_project_delete(an_store *s, int64_t id, an_err *err);

/* ---- export jobs -------------------------------------------------------------------------- */

typedef enum an_job_status {
    AN_JOB_QUEUED = 0,
    AN_JOB_RUNNING = 1,
    AN_JOB_DONE = 2,
    AN_JOB_FAILED = 3,
} an_job_status;
#define AN_JOB_STATUS_COUNT 4
/* "queued", "running", "done", "failed". */
const char *an_job_status_name(an_job_status st);

typedef struct an_export_job {
    int64_t id;
    int64_t project_id;
    int64_t user_id; /* who asked; 0 when unknown */
    char *format;
    an_job_status status;
    char *created_at;
    char *finished_at; /* NULL until done or failed */
    char *error;       /* NULL unless failed */
    char *path;        /* the finished file; NULL until done */
    int64_t tasks;     /* tasks exported (done jobs) */
} an_export_job;
void an_export_job_clear(an_export_job *j);

/* Queues an export of project_id in format (own transaction or the open one). AN_ENOTFOUND
 * when no such project. */
int an_store_export_job_add(an_store *s, int64_t project_id, int64_t user_id, const char *format,
                            int64_t *id_out, an_err *err);
/* Reads one job. AN_ENOTFOUND when absent. */
int an_store_export_job_get(an_store *s, int64_t id, an_export_job *out, an_err *err);
/* Calls cb for each job of the project, newest first (the job's strings are borrowed for the
 * call). */
typedef int (*an_export_job_cb)(void *ud, const an_export_job *j);
int an_store_export_job_list(an_store *s, int64_t project_id, an_export_job_cb cb, void *ud,
                             an_err *err);
/* Takes the oldest queued job and marks it running, atomically, so that two workers never
 * take the same job. out is filled and 1 returned, or 0 when no job is queued. */
int an_store_export_job_claim(an_store *s, an_export_job *out, an_err *err);
/* Ends a running job: done with path and tasks, or failed with error (path NULL).
 * AN_ENOTFOUND when no such job (its project was deleted meanwhile). */
int an_store_export_job_finish(an_store *s, int64_t id, bool ok, const char *path,
                               int64_t tasks, const char *error, an_err *err);
/* Marks every running job failed with error: a server starting up calls it, since no job
 * can still be running after a crash. *n_out (may be NULL) is how many were marked. */
int an_store_export_jobs_abandon(an_store *s, const char *error, int64_t *n_out, an_err *err);
/* Number of jobs in each status, indexed by an_job_status. */
int an_store_export_job_counts(an_store *s, int64_t counts[AN_JOB_STATUS_COUNT], an_err *err);

/* ---- the review queue ---------------------------------------------------------------------- */

typedef enum an_review_state {
    AN_REVIEWS_ANY = 0,
    AN_REVIEWS_UNREVIEWED = 1, /* no review yet */
    AN_REVIEWS_ACCEPTED = 2,   /* the latest review accepted it */
    AN_REVIEWS_REJECTED = 3,   /* the latest review rejected it */
} an_review_state;

/* An annotation in the review queue, with its latest review (review_id 0 when none). Strings
 * borrowed for the callback. */
typedef struct an_annotation_brief {
    int64_t id;
    int64_t task_id;
    int64_t annotator_id; /* 0 for none */
    bool ground_truth;
    const char *created_at;
    const char *updated_at;
    int64_t review_id;
    bool accepted;
    int64_t reviewer_id;
    const char *reviewed_at;
    int64_t review_count;
} an_annotation_brief;
typedef int (*an_annotation_brief_cb)(void *ud, const an_annotation_brief *a);

/* Lists the project's non-cancelled annotations in the given review state, in id order,
 * skipping offset and giving at most limit (capped at 10000); *total (may be NULL) is the
 * number in that state. */
int an_store_review_queue(an_store *s, int64_t project_id, an_review_state state, int64_t offset,
                          int limit, an_annotation_brief_cb cb, void *ud, int64_t *total,
                          an_err *err);

/* ---- reading the audit log ------------------------------------------------------------------ */

/* Entries carry the project they concern (schema 3 on): the project itself, or the project
 * of the task, annotation or prediction named, looked up when the entry is written; 0 for
 * entries about no project or written before schema 3. */
typedef struct an_audit_entry {
    int64_t id;
    const char *at;
    int64_t user_id; /* 0 for the system */
    const char *action;
    const char *object;
    int64_t object_id;
    int64_t project_id;
    const char *detail; /* JSON text or NULL */
} an_audit_entry;
typedef int (*an_audit_cb)(void *ud, const an_audit_entry *e);

typedef struct an_audit_filter {
    int64_t project_id; /* 0: any */
    int64_t user_id;    /* 0: any */
    const char *since;  /* ISO 8601 UTC; entries at or after it; NULL: any */
    int64_t after_id;   /* keyset paging: entries with a larger id */
    int limit;          /* 1..10000 */
} an_audit_filter;

/* Calls cb for each matching entry in id order (strings borrowed for the call). */
int an_store_audit_list(an_store *s, const an_audit_filter *f, an_audit_cb cb, void *ud,
                        an_err *err);

#endif
