/* Import: reads files in any registered format into a project, validating every record
 * against the project's labeling config.
 *
 * Guarantees:
 * - Streaming: memory does not grow with the input; records are committed in batches.
 * - Atomic batches: a crash or kill -9 leaves whole batches or nothing. With strict, a file
 *   goes in whole or not at all.
 * - Idempotent: a task whose data the project already holds (same content hash) is skipped
 *   with its annotations and predictions, so re-running an import adds nothing twice.
 * - Bad records are reported with their place and reason (to the rejects file, as JSON
 *   lines {"where": …, "reason": …}); good records go in unless strict. */
#ifndef AN_IMPORT_H
#define AN_IMPORT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

typedef struct an_import_opts {
    const char *format;       /* NULL: sniff each path */
    bool strict;              /* a file with a bad record adds nothing */
    const char *rejects_path; /* NULL: "annot-rejects-<batch>.jsonl" in the current folder,
                                 created only when something is rejected */
    bool progress;            /* draw a progress bar when stderr is a terminal */
    size_t batch_size;        /* tasks per transaction; 0: 20000 */
} an_import_opts;

typedef struct an_import_report {
    int64_t batch_id;
    int64_t read;       /* records read, good and bad */
    int64_t added;      /* new tasks */
    int64_t duplicates; /* tasks already present */
    int64_t rejected;   /* bad records (and, with strict, good records of a bad file) */
    int64_t annotations, predictions;
    double seconds;
    char rejects_path[PATH_MAX]; /* empty when nothing was rejected */
    int64_t licence_flagged; /* imported tasks the project's licence policy flagged */
} an_import_report;

/* Imports paths into project p. Returns 0 when the import ran (even with rejects; see the
 * report), negative on an error that stopped it (unreadable file, unknown format, store
 * failure) — batches committed before the error stay. */
int an_import(an_store *s, const an_project *p, const char *const *paths, size_t n_paths,
              const an_import_opts *opts, an_import_report *report, an_err *err);

#endif
