/* Files over HTTP: the root check, byte ranges and content types. Static web assets use it
 * and so will task media (audio, video) served from configured roots. */
#include "server/http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *ext;
    const char *type;
} mime_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"json", "application/json"},
    {"woff2", "font/woff2"},
    {"txt", "text/plain; charset=utf-8"},
    {"mp3", "audio/mpeg"},
    {"wav", "audio/wav"},
    {"ogg", "audio/ogg"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
};

const char *an_http_mime_type(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base) return NULL;
    for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++)
        if (strcasecmp(dot + 1, mime_types[i].ext) == 0) return mime_types[i].type;
    return NULL;
}

/* Reads a decimal number at *p; false when there is none or it overflows uint64_t. */
static bool read_number(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9') return false;
    while (*s >= '0' && *s <= '9') {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
        s++;
    }
    *p = s;
    *out = v;
    return true;
}

static const char *skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

int an_http_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
    if (!h) return 0;
    h = skip_ows(h);
    if (strncasecmp(h, "bytes", 5) != 0) return 0; /* another unit: not ours to interpret */
    h = skip_ows(h + 5);
    if (*h != '=') return -1;
    h = skip_ows(h + 1);
    if (strchr(h, ',')) return 0; /* several ranges: the whole body is a valid answer */
    uint64_t a = 0, b = 0;
    if (*h == '-') { /* the last n bytes */
        h++;
        if (!read_number(&h, &b)) return -1;
        if (*skip_ows(h) != '\0') return -1;
        if (b == 0 || size == 0) return -1;
        if (b > size) b = size;
        *off = size - b;
        *len = b;
        return 1;
    }
    if (!read_number(&h, &a)) return -1;
    if (*h != '-') return -1;
    h++;
    bool open_end = (*skip_ows(h) == '\0');
    if (!open_end) {
        if (!read_number(&h, &b)) return -1;
        if (*skip_ows(h) != '\0') return -1;
        if (b < a) return -1;
    }
    if (a >= size) return -1;
    if (open_end || b >= size) b = size - 1;
    *off = a;
    *len = b - a + 1;
    return 1;
}

/* Refuses what must never reach the file system: "..", hidden names (.git, .env), and
 * empty paths. Symlinks are dealt with by realpath afterwards. */
static bool relpath_ok(const char *rel)
{
    const char *s = rel;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n > 0 && s[0] == '.') return false; /* ".", "..", ".hidden" */
        if (!e) break;
        s = e + 1;
    }
    return true;
}

int an_http_serve_file(an_http_resp *resp, const char *root, const char *relpath,
                       const char *range_header, an_err *err)
{
    while (*relpath == '/')
        relpath++;
    if (!*relpath || !relpath_ok(relpath))
        return an_err_set(err, AN_ENOTFOUND, relpath, "no such file");
    char root_real[PATH_MAX];
    if (!realpath(root, root_real))
        return an_err_set(err, AN_EIO, root, "cannot resolve the file root: %s", strerror(errno));
    char joined[PATH_MAX];
    int n = snprintf(joined, sizeof joined, "%s/%s", root_real, relpath);
    if (n < 0 || (size_t)n >= sizeof joined)
        return an_err_set(err, AN_ENOTFOUND, relpath, "no such file (path too long)");
    char real[PATH_MAX];
    if (!realpath(joined, real)) return an_err_set(err, AN_ENOTFOUND, relpath, "no such file");
    size_t rl = strlen(root_real);
    /* root "/" is its own prefix with the separator already in place */
    bool inside =
        (rl == 1 && root_real[0] == '/') || (strncmp(real, root_real, rl) == 0 && real[rl] == '/');
    if (!inside) return an_err_set(err, AN_ENOTFOUND, relpath, "no such file");
    const char *type = an_http_mime_type(real);
    if (!type) return an_err_set(err, AN_ENOTFOUND, relpath, "no such file (unknown type)");
    /* O_NOFOLLOW: the last component cannot have been swapped for a link since realpath. */
    int fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ELOOP)
            return an_err_set(err, AN_ENOTFOUND, relpath, "no such file");
        return an_err_set(err, AN_EIO, relpath, "cannot open the file: %s", strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return an_err_set(err, AN_ENOTFOUND, relpath, "no such file");
    }
    uint64_t size = (uint64_t)st.st_size, off = 0, len = size;
    int r = an_http_range(range_header, size, &off, &len);
    char value[96];
    if (r < 0) {
        close(fd);
        an_http_error(resp, 416, "range_not_satisfiable",
                      "the requested range is outside the file; ask for bytes below its size",
                      "Range");
        snprintf(value, sizeof value, "bytes */%llu", (unsigned long long)size);
        an_http_resp_header(resp, "Content-Range", value, NULL);
        an_http_resp_header(resp, "Accept-Ranges", "bytes", NULL);
        return 0;
    }
    if (resp->fd >= 0) close(resp->fd);
    an_buf_reset(&resp->body);
    resp->fd = fd;
    resp->fd_offset = off;
    resp->fd_length = len;
    resp->status = r == 1 ? 206 : 200;
    snprintf(resp->content_type, sizeof resp->content_type, "%s", type);
    an_http_resp_header(resp, "Accept-Ranges", "bytes", NULL);
    if (r == 1) {
        snprintf(value, sizeof value, "bytes %llu-%llu/%llu", (unsigned long long)off,
                 (unsigned long long)(off + len - 1), (unsigned long long)size);
        an_http_resp_header(resp, "Content-Range", value, NULL);
    }
    return 0;
}
