/* Gold tasks in the SQLite backend (store/gold.h), found through the partial index
 * annotations_gold of schema 6. */
#include "store/gold.h"

#include "store/sqlite_int.h"

/* The gold candidates for a user, in task id order. */
#define CANDIDATES                                                                                 \
    "FROM (SELECT DISTINCT g.task_id AS id FROM annotations g "                                    \
    "WHERE g.project_id = ?1 AND g.ground_truth = 1 AND g.was_cancelled = 0) c "                   \
    "WHERE NOT EXISTS (SELECT 1 FROM annotations b WHERE b.task_id = c.id AND "                    \
    "b.annotator_id = ?2) "

int an_store_gold_task_for(an_store *s, int64_t project_id, int64_t user_id, uint64_t pick,
                           int64_t *task_id, an_err *err)
{
    *task_id = 0;
    int64_t n = 0;
    int64_t params[3] = {project_id, user_id, 0};
    int rc = sq_each_row(s, "SELECT count(*) " CANDIDATES, params, 2, sq_int_row, &n, err,
                         "counting gold tasks");
    if (rc < 0 || n == 0) return rc < 0 ? rc : 0;
    params[2] = (int64_t)(pick % (uint64_t)n);
    rc = sq_each_row(s, "SELECT c.id " CANDIDATES "ORDER BY c.id LIMIT 1 OFFSET ?3", params, 3,
                     sq_int_row, task_id, err, "choosing a gold task");
    return rc < 0 ? rc : 0;
}

int an_store_gold_count(an_store *s, int64_t project_id, int64_t *out, an_err *err)
{
    *out = 0;
    int rc = sq_each_row(s,
                         "SELECT count(DISTINCT task_id) FROM annotations WHERE project_id = ?1 "
                         "AND ground_truth = 1 AND was_cancelled = 0",
                         &project_id, 1, sq_int_row, out, err, "counting gold tasks");
    return rc < 0 ? rc : 0;
}
