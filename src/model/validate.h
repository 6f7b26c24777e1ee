/* Validation of task data and results against a labeling config. Pure functions: no I/O,
 * thread-safe for a shared config.
 *
 * Result items keep Label Studio's shape:
 *   {"id":"r1","from_name":"label","to_name":"text","type":"labels",
 *    "value":{"start":0,"end":5,"text":"Hello","labels":["PER"]}}
 * Rectangles, polygons and keypoints are in percent of the image (0..100) and may carry
 * original_width / original_height in pixels. Text span offsets count Unicode code points. */
#ifndef AN_VALIDATE_H
#define AN_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "model/config.h"

/* Checks that data is a JSON object holding every field the config's objects read
 * ($name values). Error where: "data.FIELD". */
int an_validate_task_data(const an_config *cfg, const json_t *data, an_err *err);

/* Checks one result list (a JSON array of result items) for a task with this data:
 * from_name names a control and to_name one of its objects; type fits the control; labels and
 * choices are in the taxonomy (and single-choice controls get one); coordinates lie in range;
 * text spans lie within the text and their "text" equals the slice; ratings and numbers are
 * within bounds; relations point at region ids present in the list.
 * Error where: "result[I].FIELD…", e.g. "result[2].value.end". */
int an_validate_result(const an_config *cfg, const json_t *data, const json_t *result,
                       an_err *err);

/* One (control, label) pair used by a result, for per-label statistics. */
typedef struct an_label_use {
    const char *from_name; /* borrowed from the result JSON */
    const char *label;
} an_label_use;

/* Lists the labels and choices a result uses, one entry per (item, label). Returns the count
 * written (at most cap; more are dropped). Strings are borrowed from result. */
size_t an_result_labels(const json_t *result, an_label_use *out, size_t cap);

#endif
