/* What the media models (ocr.c: Tesseract, asr.c: PocketSphinx) share: their ops for the
 * registry, how they find the local file a task's Image or Audio object names, and how they
 * read their string options. Internal to src/preanno/.
 *
 * Media models read local files only; they never fetch a URL. A task's media field is
 *  - an absolute path, used as it is;
 *  - a relative path, taken under the option "media_root" (or the working folder without
 *    it); with media_root set, a path that climbs out of it ("..") is refused;
 *  - Label Studio's local-files form "/data/local-files/?d=REL" (REL percent-encoded), taken
 *    under media_root, which it then requires.
 * Anything with a scheme ("https://…", "s3://…", "data:…") is refused for that task. */
#ifndef AN_PREANNO_MEDIA_MODELS_H
#define AN_PREANNO_MEDIA_MODELS_H

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"
#include "model/config.h"
#include "preanno/predictor.h"

extern const an_predictor_ops an_ocr_ops;
extern const an_predictor_ops an_asr_ops;

/* Resolves the file that object obj shows for a task (data[obj->data_key]) into path (reset
 * first, NUL-terminated) and checks that it is a readable regular file. media_root may be
 * NULL. Errors (AN_EINVAL, where "data.KEY"): the field is missing or not a string, is a URL,
 * climbs out of media_root, names no file or one that cannot be read. model names the model
 * in messages ("ocr"). */
int an_media_task_path(const an_object *obj, const json_t *data, const char *media_root,
                       const char *model, an_buf *path, an_err *err);

/* The string option key of opts (a JSON object or NULL): def when absent; AN_EINVAL naming
 * "opts.KEY" when it is present but not a non-empty string. Borrowed from opts. */
int an_media_opt_str(const json_t *opts, const char *key, const char *def, const char **out,
                     an_err *err);

/* The label option ("label") for control c: the control's first label when absent, else it
 * must be one of the control's labels (AN_EINVAL naming "opts.label" otherwise). */
int an_media_opt_label(const json_t *opts, const an_control *c, const char **label, an_err *err);

/* A number option: def when absent; AN_EINVAL naming "opts.KEY" unless a number in lo..hi. */
int an_media_opt_num(const json_t *opts, const char *key, double def, double lo, double hi,
                     double *out, an_err *err);

#endif
