/* Where PII scanning reads from: files and stdin (plain text by line, or every string field
 * of JSON lines) streamed in bounded memory, and a project's task data and text answers.
 * Findings go to a callback with their place. */
#ifndef AN_PII_INPUT_H
#define AN_PII_INPUT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/err.h"
#include "comply/pii.h"
#include "store/store.h"

/* Longest line read whole (bytes). A longer plain-text line is scanned in pieces of this
 * size cut at code point boundaries (a value across a cut can be missed); a longer JSON line
 * is an error. */
#define AN_PII_MAX_LINE (16u << 20)

typedef enum an_pii_format {
    AN_PII_AUTO = 0, /* per line: a line starting with '{' or '[' that parses is JSON */
    AN_PII_TEXT,
    AN_PII_JSONL,
} an_pii_format;

/* One finding with its place. */
typedef struct an_pii_hit {
    const an_pii_finding *f; /* start/end in code points of the line or field */
    int64_t line;            /* 1-based for files; 0 for projects */
    int64_t task_id;         /* for projects; 0 for files */
    const char *field;       /* JSON path ("data.text", "annotations[0].result[1].value.text[0]")
                                or NULL for a plain-text line */
    const char *text;        /* the line piece or field scanned (f's bytes index it) */
    size_t text_len;
} an_pii_hit;

/* Called per finding; a non-zero return stops the scan and is returned. */
typedef int (*an_pii_hit_cb)(void *ud, const an_pii_hit *h);

/* Calls cb(ud, path, str) for every string value in j (objects and arrays walked in order);
 * path is prefix followed by ".key" / "[i]" (no leading '.' when prefix is empty). A non-zero
 * return stops the walk and is returned. */
typedef int (*an_pii_string_cb)(void *ud, const char *path, json_t *str);
int an_pii_walk_strings(json_t *j, const char *prefix, an_pii_string_cb cb, void *ud);

/* A bounded line reader (for scanning and redacting streams). */
typedef struct an_pii_lines {
    FILE *f;
    char *buf;
    size_t cap, start, end;
    int64_t line;    /* number of the line last returned (1-based) */
    bool eof, piece; /* piece: the last return was a piece of a longer line */
    bool more;       /* the last piece has more of its line to come */
} an_pii_lines;

void an_pii_lines_init(an_pii_lines *r, FILE *f);
void an_pii_lines_free(an_pii_lines *r);
/* Next line (without its "\n" or "\r\n") or piece: 1 with *p, *n; 0 at the end; negative on
 * a read error (named with name). The bytes are valid until the next call. */
int an_pii_lines_next(an_pii_lines *r, const char *name, const char **p, size_t *n, an_err *err);

/* Scans the stream in (name is for messages, e.g. the path or "-") in format fmt. */
int an_pii_scan_stream(an_pii_ctx *ctx, FILE *in, const char *name, an_pii_format fmt,
                       an_pii_hit_cb cb, void *ud, an_err *err);

/* Scans every string of each task's data ("data.…") and the text answers (TextArea results)
 * of its annotations that are not skips ("annotations[I].result[J].value.text[K]", I counting
 * the task's annotations in id order). Reads in one snapshot (a read transaction). */
int an_pii_scan_project(an_pii_ctx *ctx, an_store *s, int64_t project_id, an_pii_hit_cb cb,
                        void *ud, an_err *err);

#endif
