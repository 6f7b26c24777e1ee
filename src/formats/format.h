/* The format registry: each import/export format is one file in formats/ that fills an
 * an_format. Readers turn files into an_records and hand them to a sink; writers turn a
 * stream of stored tasks into files. Neither touches the store directly: import.c and
 * export.c connect them to it, so each format can be tested on its own.
 *
 * Readers stream: they never hold a whole file in memory (except formats whose standard
 * layout is one JSON document, such as COCO, where they hold the parsed document). */
#ifndef AN_FORMAT_H
#define AN_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/err.h"
#include "model/config.h"
#include "model/record.h"
#include "store/store.h"

/* Where readers send what they read. */
typedef struct an_import_sink {
    /* One good record. The reader keeps ownership of rec (and frees its JSON after the call).
     * Returns 0 to go on; a negative return stops the reader, which returns it (err filled). */
    int (*record)(void *ud, const an_record *rec, an_err *err);
    /* A record that cannot be read: where ("file:line") and why. Returns 0 to go on. */
    int (*reject)(void *ud, const char *where, const char *reason);
    /* Progress through the input, in bytes (or files for folder formats); may be NULL. */
    void (*progress)(void *ud, uint64_t done, uint64_t total);
    void *ud;
} an_import_sink;

/* State of one export, passed to a format's writer callbacks. */
typedef struct an_export_ctx {
    const an_config *config;
    const char *project_name;
    FILE *out;           /* single-file formats: where to write */
    const char *out_dir; /* folder formats: an existing folder to fill */
    void *state;         /* the format's own state, set by export_begin */
    an_buf scratch;      /* reusable buffer */
} an_export_ctx;

typedef struct an_format {
    const char *name;        /* "ls-json", "coco", … */
    const char *description; /* one line for --help */

    /* How sure (0 = not at all … 100 = certain) this format is of path, given the first
     * bytes of the file (head may be empty for folders; is_dir tells). NULL: never sniffed. */
    int (*sniff)(const char *path, bool is_dir, const unsigned char *head, size_t n);

    /* Reads path (a file or, for folder formats, a folder) and sends records to sink.
     * cfg tells which controls and objects results belong to. NULL: no import. */
    int (*read)(const char *path, const an_config *cfg, const an_import_sink *sink,
                an_err *err);

    bool export_to_dir; /* export writes a folder rather than one file */
    /* Export callbacks; export_begin NULL means no export. export_end is called after
     * export_begin succeeded, also after an error (with failed true), to free state. */
    int (*export_begin)(an_export_ctx *ctx, an_err *err);
    int (*export_task)(an_export_ctx *ctx, const an_task_row *row, an_err *err);
    int (*export_end)(an_export_ctx *ctx, bool failed, an_err *err);
} an_format;

/* The registry, NULL-terminated, in the order --help lists them. */
const an_format *const *an_formats(void);

/* The format named name, or NULL. */
const an_format *an_format_find(const char *name);

/* Guesses the format of path from its content (and, for folders, its layout). AN_EINVAL
 * naming the path and the formats to choose from when nothing fits. */
int an_format_sniff(const char *path, const an_format **out, an_err *err);

/* The annotation an export uses for formats that hold one labelling per task (COCO, YOLO,
 * VOC, CoNLL, CSV): the ground-truth one when marked, else the newest non-cancelled one.
 * NULL when there is none. */
const an_annotation_row *an_export_pick_annotation(const an_task_row *row);

/* The per-control values Label Studio's JSON_MIN and CSV exports show for one result (the
 * JSON array text result_text): sets out[control name] for each control that has items in
 * it — choices: the choice string, or a list when several; textarea: the text, or a list;
 * rating, number: the number; labels, rectanglelabels and other region types: the list of
 * value objects (with original_width/original_height when the item has them). Controls come
 * in cfg's order (cfg NULL: every from_name, in result order). AN_EINVAL naming where when
 * result_text is not a JSON array. Implemented in ls_json.c. */
int an_export_min_values(const an_config *cfg, const char *result_text, const char *where,
                         json_t *out, an_err *err);

/* An export_end for formats whose state is one malloc'd block with nothing to flush. */
int an_export_free_state(an_export_ctx *ctx, bool failed, an_err *err);

/* Appends one task in Label Studio's export shape (id, data, meta, annotations,
 * predictions, created_at, updated_at), splicing the stored JSON text as is. The API answers
 * with the same shape. Implemented in ls_json.c. */
void an_ls_task_write(an_buf *b, const an_task_row *t);

/* Each format's definition, one per file. */
extern const an_format an_format_ls_json, an_format_ls_jsonl, an_format_json_min,
    an_format_csv, an_format_tsv, an_format_files, an_format_coco, an_format_yolo,
    an_format_voc, an_format_conll;

#endif
