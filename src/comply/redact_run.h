/* Redacting whole inputs: a text or JSON-lines stream into another, and a project into a
 * redacted copy whose annotations and predictions still point at the same words. */
#ifndef AN_REDACT_RUN_H
#define AN_REDACT_RUN_H

#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "comply/pii.h"
#include "comply/pii_input.h"
#include "comply/redact.h"
#include "store/store.h"

typedef struct an_redact_report {
    int64_t lines;       /* streams: lines read */
    int64_t tasks;       /* projects: tasks read */
    int64_t added;       /* projects: tasks written */
    int64_t duplicates;  /* projects: tasks whose redacted data equals an earlier one's (not
                            written again, like an import's duplicates) */
    int64_t annotations, predictions;
    int64_t spans_moved;     /* spans whose offsets changed */
    int64_t regions_dropped; /* spans that lay inside dropped values (removed) */
    int64_t redacted;        /* values redacted */
    int64_t by_type[AN_PII_NTYPES];
    int64_t project_id; /* the new project */
} an_redact_report;

/* Redacts in (format fmt, as an_pii_scan_stream reads it) into out: plain lines with their
 * values redacted, JSON lines rewritten canonically with every string field redacted. */
int an_redact_stream(an_pii_ctx *ctx, const an_redact_policy *p, FILE *in, const char *name,
                     an_pii_format fmt, FILE *out, an_redact_report *rep, an_err *err);

/* Creates project new_name with src's config and settings, holding src's tasks with every
 * string of their data redacted, and src's annotations and predictions with text spans
 * remapped (an_redact_map_span; "text" rewritten to the new slice; spans inside dropped
 * values removed with the items sharing their id and relations to them) and text answers
 * redacted; each result is validated against the config. rd streams src (a read
 * transaction), wr writes: they must be two handles on the workspace. All in one write
 * transaction: on any error nothing is created. */
int an_redact_project(an_store *rd, an_store *wr, const an_project *src, const char *new_name,
                      an_pii_ctx *ctx, const an_redact_policy *p, an_redact_report *rep,
                      an_err *err);

#endif
