/* The store's pre-annotation subject (schema 5): versioned models of a project, and the
 * question a prediction run asks of every task (has this model version predicted it?).
 *
 * A model is a (project, name, version) row: name is the registry name of the model
 * ("textcls"), version the name and a number increasing per project and name ("textcls-3"),
 * which is also the model_version its predictions carry. params and metrics are JSON object
 * texts; blob holds the model's parameters (its format is the model's business).
 *
 * Thread safety: as the handle (one thread at a time). */
#ifndef AN_STORE_MODELS_H
#define AN_STORE_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

enum { AN_MODEL_VERSION_MAX = 128 };

typedef struct an_model {
    int64_t id;
    int64_t project_id;
    char *name;
    char *version;
    char *control; /* the control it answers; NULL when none */
    char *params;  /* JSON object text */
    char *metrics; /* JSON object text */
    void *blob;    /* NULL when none (and in listings) */
    size_t blob_len;
    char *created_at;
} an_model;
void an_model_clear(an_model *m);

typedef struct an_model_in {
    int64_t project_id;
    const char *name;    /* letters, digits, '-', '_' and '.'; 1..64 bytes */
    const char *control; /* may be NULL */
    const char *params;  /* JSON object text; NULL: "{}" */
    const char *metrics; /* JSON object text; NULL: "{}" */
    const void *blob;
    size_t blob_len;
} an_model_in;

/* Adds m as the next version of its name in its project: "NAME-N" with N one more than the
 * largest N the project's versions of that name have had so far (1 for the first). In the
 * open write transaction or its own, so two trainings never get the same version. The
 * version is written to version_out (AN_MODEL_VERSION_MAX bytes). AN_ENOTFOUND when the
 * project does not exist; AN_EINVAL for a bad name. */
int an_store_model_add(an_store *s, const an_model_in *m, int64_t *id_out,
                       char version_out[AN_MODEL_VERSION_MAX], an_err *err);

/* Reads the model name of project_id with version (NULL: the latest, i.e. the largest N) with
 * its blob into out (freed with an_model_clear). AN_ENOTFOUND when there is none. */
int an_store_model_get(an_store *s, int64_t project_id, const char *name, const char *version,
                       an_model *out, an_err *err);

/* Calls cb for each model of the project, oldest first; blob is NULL (blob_len is its size)
 * and the strings are borrowed for the call. A non-zero return from cb stops and is
 * returned. */
typedef int (*an_model_cb)(void *ud, const an_model *m);
int an_store_model_list(an_store *s, int64_t project_id, an_model_cb cb, void *ud, an_err *err);

/* *out: whether task_id has a prediction with this model_version (an index lookup). Inside a
 * write transaction it sees that transaction's own inserts. */
int an_store_prediction_exists(an_store *s, int64_t task_id, const char *model_version,
                               bool *out, an_err *err);

#endif
