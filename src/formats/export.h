/* Export: streams a project's tasks through a format's writer. Memory does not grow with the
 * project. Output appears whole or not at all: files are written under a temporary name in
 * the target folder and renamed at the end. */
#ifndef AN_EXPORT_H
#define AN_EXPORT_H

#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

typedef struct an_export_opts {
    const char *format;   /* a registered format with an exporter */
    const char *out_path; /* file, or folder for folder formats; NULL: standard output
                             (single-file formats only) */
} an_export_opts;

typedef struct an_export_report {
    int64_t tasks;
    double seconds;
} an_export_report;

int an_export(an_store *s, const an_project *p, const an_export_opts *opts,
              an_export_report *report, an_err *err);

#endif
