/* files: a folder of media and text files, one task per file (import only).
 *
 * Kinds come from content, not names (media.c), so a PNG saved as .txt is still an image.
 * The walk is sorted by byte order of names, so the same folder always gives the same tasks
 * in the same order. Hidden files are skipped; symbolic links are followed only to files
 * inside the folder, so an import never reads outside what the user named. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/utf8.h"
#include "formats/format.h"
#include "formats/media.h"

#define MAX_TEXT_BYTES ((size_t)10 << 20)
#define MAX_DEPTH 64

typedef struct walk {
    const char *root; /* as the user gave it */
    char real_root[PATH_MAX];
    const an_config *cfg;
    const an_import_sink *sink;
    bool counting; /* first pass: only count files, for progress */
    uint64_t files, total;
    an_buf text;
} walk;

static int reject(walk *w, const char *where, an_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int reject(walk *w, const char *where, an_err *err, const char *fmt, ...)
{
    if (w->counting) return 0;
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    int rc = w->sink->reject ? w->sink->reject(w->sink->ud, where, reason) : 0;
    if (rc == 0) return 0;
    return an_err_set(err, rc < 0 ? -rc : AN_EINVAL, where, "import stopped: %s", reason);
}

/* The data field a file of kind k goes to: the config's first object showing that kind,
 * else Label Studio's usual name. */
static const char *key_for(const an_config *cfg, an_media_kind k)
{
    for (size_t i = 0; cfg && i < cfg->n_objects; i++) {
        const an_object *o = &cfg->objects[i];
        if (!o->data_key) continue;
        if ((k == AN_MEDIA_IMAGE && o->tag == AN_TAG_IMAGE) ||
            (k == AN_MEDIA_AUDIO && o->tag == AN_TAG_AUDIO) ||
            (k == AN_MEDIA_VIDEO && o->tag == AN_TAG_VIDEO) ||
            (k == AN_MEDIA_TEXT && (o->tag == AN_TAG_TEXT || o->tag == AN_TAG_HYPERTEXT)))
            return o->data_key;
    }
    return an_media_kind_name(k);
}

/* Reads the whole text file into w->text; 1 when done, 0 when rejected (too big, not
 * UTF-8), negative when the sink stopped the import. */
static int read_text(walk *w, const char *path, an_err *err)
{
    an_buf_reset(&w->text);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int rc = reject(w, path, err, "cannot open: %s", strerror(errno));
        return rc < 0 ? rc : 0;
    }
    char chunk[1 << 14];
    size_t n;
    bool too_big = false;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (w->text.len + n > MAX_TEXT_BYTES) {
            too_big = true;
            break;
        }
        an_buf_add(&w->text, chunk, n);
    }
    bool failed = ferror(f);
    int e = errno;
    fclose(f);
    int rc = 0;
    if (failed)
        rc = reject(w, path, err, "cannot read: %s", strerror(e));
    else if (too_big)
        rc = reject(w, path, err, "the text file is larger than %zu MiB; split it",
                    MAX_TEXT_BYTES >> 20);
    else if (memchr(w->text.p, 0, w->text.len) || !an_utf8_valid(w->text.p, w->text.len))
        rc = reject(w, path, err, "the file starts as text but is not valid UTF-8 throughout");
    else
        return 1;
    return rc < 0 ? rc : 0;
}

/* One file (path as walked, real its resolved path): a task or a rejection. */
static int take_file(walk *w, const char *path, const char *real, an_err *err)
{
    if (w->counting) {
        w->total++;
        return 0;
    }
    an_err e;
    an_err_clear(&e);
    an_media_kind k = an_media_sniff_file(path, &e);
    int rc = 0;
    if (k == AN_MEDIA_UNKNOWN) {
        struct stat st;
        if (e.code)
            rc = reject(w, path, err, "%s", e.msg);
        else if (stat(path, &st) == 0 && st.st_size == 0)
            rc = reject(w, path, err, "the file is empty");
        else
            rc = reject(w, path, err,
                        "the content is not a recognised image, audio, video or UTF-8 text file");
        goto done;
    }
    json_t *value;
    if (k == AN_MEDIA_TEXT) {
        rc = read_text(w, path, err);
        if (rc <= 0) goto done;
        size_t skip = w->text.len >= 3 && memcmp(w->text.p, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        value = json_stringn_nocheck(w->text.p + skip, w->text.len - skip);
    } else {
        value = json_string(real);
        if (!value) { /* a file name that is not UTF-8 cannot go into JSON */
            rc = reject(w, path, err, "the file's path is not valid UTF-8; rename the file");
            goto done;
        }
    }
    json_t *data = json_object();
    json_object_set_new(data, key_for(w->cfg, k), value);
    json_t *meta = json_object();
    json_t *src = json_string(path);
    json_object_set_new(meta, "source", src ? src : json_string(real));
    an_record rec = {.data = data, .meta = meta, .where = path};
    rc = w->sink->record(w->sink->ud, &rec, err);
    json_decref(data);
    json_decref(meta);
done:
    w->files++;
    if (w->sink->progress) w->sink->progress(w->sink->ud, w->files, w->total);
    return rc;
}

static int visible(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* Byte order, not the locale's collation, so the order is the same on every machine. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static bool inside_root(const walk *w, const char *real)
{
    size_t n = strlen(w->real_root);
    if (n == 1) return true; /* the root is "/" */
    return strncmp(real, w->real_root, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

static int walk_dir(walk *w, const char *dir, int depth, an_err *err)
{
    if (depth > MAX_DEPTH)
        return reject(w, dir, err, "folders nested deeper than %d levels are not read", MAX_DEPTH);
    struct dirent **list;
    int n = scandir(dir, &list, visible, by_name);
    if (n < 0) {
        if (depth == 0)
            return an_err_set(err, AN_EIO, dir, "cannot read the folder %s: %s", dir,
                              strerror(errno));
        return reject(w, dir, err, "cannot read the folder: %s", strerror(errno));
    }
    int rc = 0;
    int i = 0;
    for (; i < n && rc >= 0; i++) {
        char path[PATH_MAX], real[PATH_MAX];
        int len = snprintf(path, sizeof path, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
                           list[i]->d_name);
        free(list[i]);
        if (len < 0 || (size_t)len >= sizeof path) {
            rc = reject(w, dir, err, "a path inside this folder is too long to open");
            continue;
        }
        struct stat st;
        if (lstat(path, &st) != 0) {
            rc = reject(w, path, err, "cannot read: %s", strerror(errno));
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            if (!realpath(path, real) || stat(real, &st) != 0) {
                rc = reject(w, path, err, "the symbolic link points nowhere");
            } else if (!inside_root(w, real)) {
                rc = reject(w, path, err,
                            "the symbolic link points outside the imported folder; not followed");
            } else if (S_ISDIR(st.st_mode)) {
                rc = reject(w, path, err,
                            "symbolic links to folders are not followed (the folder may be "
                            "imported twice or loop); import it directly");
            } else if (S_ISREG(st.st_mode)) {
                rc = take_file(w, path, real, err);
            } else {
                rc = reject(w, path, err, "not a regular file");
            }
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk_dir(w, path, depth + 1, err);
        } else if (S_ISREG(st.st_mode)) {
            if (!realpath(path, real))
                rc = reject(w, path, err, "cannot resolve the path: %s", strerror(errno));
            else
                rc = take_file(w, path, real, err);
        } else {
            rc = reject(w, path, err, "not a regular file (a device, socket or pipe)");
        }
    }
    for (; i < n; i++)
        free(list[i]);
    free(list);
    return rc;
}

static int read_files(const char *path, const an_config *cfg, const an_import_sink *sink,
                      an_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return an_err_set(err, AN_EIO, path, "cannot read %s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return an_err_set(err, AN_EINVAL, path,
                          "%s is not a folder; the files format imports a folder of media and "
                          "text files",
                          path);
    walk w = {.root = path, .cfg = cfg, .sink = sink};
    if (!realpath(path, w.real_root))
        return an_err_set(err, AN_EIO, path, "cannot resolve %s: %s", path, strerror(errno));
    an_buf_init(&w.text);
    int rc = 0;
    if (sink->progress) { /* count first so progress can show a total */
        w.counting = true;
        rc = walk_dir(&w, path, 0, err);
        w.counting = false;
    }
    if (rc >= 0) rc = walk_dir(&w, path, 0, err);
    an_buf_free(&w.text);
    return rc < 0 ? rc : 0;
}

/* ---- sniffing ----------------------------------------------------------------------- */

/* Names that mark a folder as another format's (COCO, YOLO, Pascal VOC). */
static bool is_marker(const char *name)
{
    static const char *const markers[] = {"annotations", "Annotations", "JPEGImages", "ImageSets",
                                          "labels",      "classes.txt", "data.yaml",  "obj.names",
                                          "obj.data",    NULL};
    for (int i = 0; markers[i]; i++)
        if (strcmp(name, markers[i]) == 0) return true;
    size_t n = strlen(name);
    return n > 4 && strcasecmp(name + n - 4, ".xml") == 0;
}

/* Looks at up to *budget entries of dir (and one level below): -1 when a marker is found,
 * else the number of media or text files seen. */
static int scan_for_media(const char *dir, int depth, int *budget)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    while (*budget > 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        --*budget;
        if (depth == 0 && is_marker(e->d_name)) {
            found = -1;
            break;
        }
        char path[PATH_MAX];
        int len = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (len < 0 || (size_t)len >= sizeof path) continue;
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth == 0) {
                int sub = scan_for_media(path, 1, budget);
                if (sub > 0) found += sub;
            }
        } else if (S_ISREG(st.st_mode)) {
            an_err err;
            if (an_media_sniff_file(path, &err) != AN_MEDIA_UNKNOWN) found++;
        }
    }
    closedir(d);
    return found;
}

static int sniff_files(const char *path, bool is_dir, const unsigned char *head, size_t n)
{
    if (!is_dir) return 0;
    int budget = 200;
    return scan_for_media(path, 0, &budget) > 0 ? 20 : 0;
}

const an_format an_format_files = {
    .name = "files",
    .description = "a folder of images, audio, video or text files: one task per file",
    .sniff = sniff_files,
    .read = read_files,
};
