/* Each task's source, licence and authorisation (schema 7: table task_provenance), written by
 * the importer when a record names them (comply/provenance.h says where it looks) and counted
 * per licence for `annot provenance`.
 *
 * Thread safety: as the handle (one thread at a time). */
#ifndef AN_STORE_PROVENANCE_H
#define AN_STORE_PROVENANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

typedef struct an_provenance {
    const char *source;        /* NULL: not given */
    const char *licence;       /* NULL: not given */
    const char *authorisation; /* NULL: not given */
    const char *detail;        /* JSON object text or NULL, e.g. {"policy":"flagged"} */
} an_provenance;

/* Sets task_id's provenance (replacing what it had). Inside the open write transaction. */
int an_store_provenance_set(an_store *s, int64_t task_id, const an_provenance *p, an_err *err);

/* Reads task_id's provenance into out (strings malloc'd, freed by an_provenance_free);
 * *found is false (out all NULL) when the task has none. */
int an_store_provenance_get(an_store *s, int64_t task_id, an_provenance *out, bool *found,
                            an_err *err);
void an_provenance_free(an_provenance *p);

/* Calls cb for each licence among the project's tasks that have a provenance row, in licence
 * order (licence NULL: rows without one), with how many tasks carry it and how many of those
 * an import flagged under the project's licence policy. Tasks with no row are not listed:
 * they are the project's task count minus the sum. */
typedef int (*an_licence_count_cb)(void *ud, const char *licence, int64_t tasks,
                                   int64_t flagged);
int an_store_licence_counts(an_store *s, int64_t project_id, an_licence_count_cb cb, void *ud,
                            an_err *err);

#endif
