/* A task record as importers read it: Label Studio's task shape, held as Jansson values.
 *
 *   {"data": {...}, "meta": {...}, "annotations": [{"result": [...], ...}],
 *    "predictions": [{"model_version": "...", "score": 0.9, "result": [...]}]}
 *
 * Annotation objects may carry completed_by (user id, or an object with "id"), lead_time,
 * ground_truth, was_cancelled, created_at, updated_at; prediction objects model_version,
 * score, created_at. Everything else is ignored. */
#ifndef AN_RECORD_H
#define AN_RECORD_H

#include <jansson.h>

typedef struct an_record {
    json_t *data;        /* object; required */
    json_t *meta;        /* object or NULL */
    json_t *annotations; /* array of annotation objects, or NULL */
    json_t *predictions; /* array of prediction objects, or NULL */
    const char *created_at; /* task timestamps when the source has them, else NULL */
    const char *updated_at;
    const char *where; /* "file:line" or "file:$[3]" of the record, for messages */
} an_record;

#endif
