/* Finding a task's media file and reading options, for the media models: see media_models.h. */
#include "preanno/media_models.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"

static const char LOCAL_FILES[] = "/data/local-files/?d=";

/* "https://", "s3://", "gs://" … or "data:": something to fetch, not a file. */
static bool is_url(const char *s)
{
    if (strncmp(s, "data:", 5) == 0 || strncmp(s, "blob:", 5) == 0) return true;
    size_t i = 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
    while (s[i] && (s[i] == '+' || s[i] == '-' || s[i] == '.' || (s[i] >= '0' && s[i] <= '9') ||
                    (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
        i++;
    return strncmp(s + i, "://", 3) == 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s up to '&' or its end into out; false on a bad escape or an encoded NUL. */
static bool pct_decode(const char *s, an_buf *out)
{
    for (; *s && *s != '&'; s++) {
        if (*s == '%') {
            int hi = hexval(s[1]), lo = hi >= 0 ? hexval(s[2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0)) return false;
            an_buf_addc(out, (char)(hi * 16 + lo));
            s += 2;
        } else if (*s == '+') {
            an_buf_addc(out, ' ');
        } else {
            an_buf_addc(out, *s);
        }
    }
    return true;
}

static bool climbs(const char *p)
{
    for (const char *c = p; *c;) {
        const char *slash = strchr(c, '/');
        size_t n = slash ? (size_t)(slash - c) : strlen(c);
        if (n == 2 && c[0] == '.' && c[1] == '.') return true;
        if (!slash) break;
        c = slash + 1;
    }
    return false;
}

int an_media_task_path(const an_object *obj, const json_t *data, const char *media_root,
                       const char *model, an_buf *path, an_err *err)
{
    char where[200];
    snprintf(where, sizeof where, "data.%s", obj->data_key ? obj->data_key : obj->name);
    an_buf_reset(path);
    an_buf_adds(path, ""); /* path->p is a string from here on, even on failure */
    if (!obj->data_key)
        return an_err_set(err, AN_EINVAL, where,
                          "object \"%s\" shows a fixed value, not a task field; the %s model "
                          "reads a file named by a task field ($field)",
                          obj->name, model);
    const json_t *v = json_object_get(data, obj->data_key);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return an_err_set(err, AN_EINVAL, where,
                          v ? "the field is not a non-empty string; the %s model needs the path "
                              "of a local file"
                            : "the task has no such field; the %s model needs the path of a "
                              "local file",
                          model);
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
        return an_err_set(err, AN_EINVAL, where, "the path holds a NUL character");
    if (is_url(s))
        return an_err_set(err, AN_EINVAL, where,
                          "\"%.120s\" is a URL; the %s model reads local files only and fetches "
                          "nothing: download the files and give their paths (or paths under "
                          "the option media_root)",
                          s, model);
    an_buf rel;
    an_buf_init(&rel);
    int rc = 0;
    if (strncmp(s, LOCAL_FILES, sizeof LOCAL_FILES - 1) == 0) {
        if (!media_root)
            rc = an_err_set(err, AN_EINVAL, where,
                            "a Label Studio local-files path needs the option media_root (the "
                            "folder the d= paths are relative to)");
        else if (!pct_decode(s + sizeof LOCAL_FILES - 1, &rel) || rel.len == 0)
            rc = an_err_set(err, AN_EINVAL, where,
                            "the d= part of the local-files path is empty or badly encoded");
        else
            s = rel.p;
    }
    if (!rc && media_root && climbs(s))
        rc =
            an_err_set(err, AN_EINVAL, where,
                       "\"%.120s\" climbs out of media_root with \"..\"; give a path inside it", s);
    if (!rc) {
        if (media_root && s[0] != '/') {
            an_buf_adds(path, media_root);
            if (path->len && path->p[path->len - 1] != '/') an_buf_addc(path, '/');
        }
        an_buf_adds(path, s);
    }
    if (!rc && media_root) {
        /* Symbolic links are followed before the check, so a link cannot lead outside. */
        char root_real[PATH_MAX], file_real[PATH_MAX];
        if (!realpath(media_root, root_real))
            rc = an_err_set(err, AN_EINVAL, "opts.media_root", "cannot open media_root %s: %s",
                            media_root, strerror(errno));
        else if (!realpath(path->p, file_real))
            rc = an_err_set(err, AN_EINVAL, where, "no file %.200s: %s", path->p, strerror(errno));
        else {
            size_t rn = strlen(root_real);
            bool inside = strncmp(file_real, root_real, rn) == 0 &&
                          (file_real[rn] == '/' || (rn == 1 && root_real[0] == '/'));
            if (!inside)
                rc = an_err_set(err, AN_EINVAL, where,
                                "%.200s lies outside media_root %.200s; give a path inside it",
                                path->p, root_real);
        }
    }
    if (!rc) {
        struct stat st;
        if (stat(path->p, &st) != 0)
            rc = an_err_set(err, AN_EINVAL, where, "no file %.200s: %s", path->p, strerror(errno));
        else if (!S_ISREG(st.st_mode))
            rc = an_err_set(err, AN_EINVAL, where, "%.200s is not a regular file", path->p);
        else if (access(path->p, R_OK) != 0)
            rc = an_err_set(err, AN_EINVAL, where, "cannot read %.200s: %s", path->p,
                            strerror(errno));
    }
    an_buf_free(&rel);
    return rc;
}

int an_media_opt_str(const json_t *opts, const char *key, const char *def, const char **out,
                     an_err *err)
{
    *out = def;
    const json_t *v = json_object_get(opts, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        char where[96];
        snprintf(where, sizeof where, "opts.%s", key);
        return an_err_set(err, AN_EINVAL, where, "option %s must be a non-empty string", key);
    }
    *out = json_string_value(v);
    return 0;
}

int an_media_opt_label(const json_t *opts, const an_control *c, const char **label, an_err *err)
{
    *label = NULL;
    if (!c || c->n_labels == 0) return 0;
    const char *l;
    int rc = an_media_opt_str(opts, "label", c->labels[0], &l, err);
    if (rc) return rc;
    if (an_control_label_index(c, l) < 0)
        return an_err_set(err, AN_EINVAL, "opts.label",
                          "label \"%.100s\" is not a label of control \"%s\"; its first label is "
                          "\"%s\"",
                          l, c->name, c->labels[0]);
    *label = l;
    return 0;
}

int an_media_opt_num(const json_t *opts, const char *key, double def, double lo, double hi,
                     double *out, an_err *err)
{
    *out = def;
    const json_t *v = json_object_get(opts, key);
    if (!v || json_is_null(v)) return 0;
    double x;
    if (!an_json_number(v, &x) || !(x >= lo && x <= hi)) {
        char where[96];
        snprintf(where, sizeof where, "opts.%s", key);
        return an_err_set(err, AN_EINVAL, where, "option %s must be a number from %g to %g", key,
                          lo, hi);
    }
    *out = x;
    return 0;
}
