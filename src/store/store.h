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

/* Number of tasks having at least one non-cancelled annotation. */
int an_store_labeled_task_count(an_store *s, int64_t project_id, int64_t *out, an_err *err);

#endif
