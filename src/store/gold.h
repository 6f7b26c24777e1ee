/* Gold tasks: the tasks of a project that carry a ground-truth annotation. Annotators get
 * them mixed into their queue (a project's gold_share) and are scored against them
 * (src/qc/gold.h). */
#ifndef AN_STORE_GOLD_H
#define AN_STORE_GOLD_H

#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* A gold task of the project that user_id has not annotated (nor skipped): the one at
 * position pick modulo their number, in id order, so a caller passing a random pick spreads
 * annotators over the gold set. *task_id is 0 when there is none. */
int an_store_gold_task_for(an_store *s, int64_t project_id, int64_t user_id, uint64_t pick,
                           int64_t *task_id, an_err *err);

/* How many gold tasks the project has. */
int an_store_gold_count(an_store *s, int64_t project_id, int64_t *out, an_err *err);

#endif
