/* Label Studio ML backends of a project (schema 5, table ml_backends): a URL speaking Label
 * Studio's ML backend protocol (preanno/backend_client.h) with how to call it — timeout,
 * retries, tasks per request and requests in flight. The store keeps the fields as given
 * (within the bounds below); whether a URL may be reached is decided by net/guard.h where the
 * URL came from the API.
 *
 * Thread safety: as the handle (one thread at a time). */
#ifndef AN_STORE_BACKENDS_H
#define AN_STORE_BACKENDS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* Bounds of the call settings (an_store_backend_add/update refuse values outside). */
enum {
    AN_BACKEND_TIMEOUT_MS_MIN = 100,
    AN_BACKEND_TIMEOUT_MS_MAX = 3600 * 1000,
    AN_BACKEND_RETRIES_MAX = 10,
    AN_BACKEND_BATCH_MAX = 1000,
    AN_BACKEND_CONCURRENCY_MAX = 64,
    AN_BACKEND_TITLE_MAX = 256
};

typedef struct an_backend {
    int64_t id;
    int64_t project_id;
    char *url;
    char *title;         /* "" when none */
    char *model_version; /* the version the backend's /setup last reported; "" unknown */
    int timeout_ms;      /* per request */
    int retries;         /* further attempts after a failed request */
    int batch_size;      /* tasks per /predict request */
    int concurrency;     /* /predict requests in flight at once */
    bool is_active;
    char *created_at;
} an_backend;

/* The defaults of a new backend (the schema's): 30 s, 2 retries, 16 tasks, 2 in flight. */
void an_backend_defaults(an_backend *b);

/* Frees b's strings and zeroes it. */
void an_backend_clear(an_backend *b);

/* Checks the call settings and title of b against the bounds (AN_EINVAL naming the field:
 * "timeout", "retries", "batch", "concurrency", "title", "url"). */
int an_backend_check(const an_backend *b, an_err *err);

/* Adds b (its id and created_at are ignored; NULL title/model_version store ""); *id_out
 * (may be NULL) is the new id. AN_ENOTFOUND when the project does not exist. */
int an_store_backend_add(an_store *s, const an_backend *b, int64_t *id_out, an_err *err);

/* Loads backend id into out (caller clears). AN_ENOTFOUND when there is none. */
int an_store_backend_get(an_store *s, int64_t id, an_backend *out, an_err *err);

/* Replaces url, title, model_version, timeout_ms, retries, batch_size, concurrency and
 * is_active of b->id (the project stays). AN_ENOTFOUND when there is none. */
int an_store_backend_update(an_store *s, const an_backend *b, an_err *err);

/* Sets only the model_version of backend id (after a /setup). AN_ENOTFOUND when none. */
int an_store_backend_set_version(an_store *s, int64_t id, const char *model_version,
                                 an_err *err);

/* Deletes backend id. AN_ENOTFOUND when there is none. */
int an_store_backend_remove(an_store *s, int64_t id, an_err *err);

/* Calls cb for each backend of project_id (0: of every project) in id order; the strings are
 * borrowed for the call. A non-zero return from cb stops and is returned. */
typedef int (*an_backend_cb)(void *ud, const an_backend *b);
int an_store_backend_list(an_store *s, int64_t project_id, an_backend_cb cb, void *ud,
                          an_err *err);

#endif
