/* A ustar writer: 512-byte headers, file contents padded to 512, two zero blocks at the end. */
#include "service/tar.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"

enum { BLOCK = 512, NAME_MAX_USTAR = 100, PREFIX_MAX = 155 };

/* Writes v in octal into field[0..n-1), NUL-terminated, zero-padded. */
static void octal(char *field, size_t n, uint64_t v)
{
    field[n - 1] = '\0';
    for (size_t i = n - 1; i-- > 0;) {
        field[i] = (char)('0' + (v & 7));
        v >>= 3;
    }
}

/* Splits name into ustar's prefix and name fields at a '/'. */
static int split_name(const char *name, char hdr[BLOCK], an_err *err)
{
    size_t len = strlen(name);
    if (len <= NAME_MAX_USTAR) {
        memcpy(hdr, name, len);
        return 0;
    }
    for (size_t cut = len; cut-- > 0;) {
        if (name[cut] != '/') continue;
        if (cut <= PREFIX_MAX && len - cut - 1 <= NAME_MAX_USTAR && len - cut - 1 > 0) {
            memcpy(hdr + 345, name, cut);
            memcpy(hdr, name + cut + 1, len - cut - 1);
            return 0;
        }
    }
    return an_err_set(err, AN_EINVAL, name,
                      "this path is too long for a tar archive (ustar: at most 255 bytes, last "
                      "part at most 100); shorten the file names");
}

static int header(FILE *out, const char *name, bool dir, uint64_t size, an_err *err)
{
    char hdr[BLOCK];
    memset(hdr, 0, sizeof hdr);
    int rc = split_name(name, hdr, err);
    if (rc) return rc;
    octal(hdr + 100, 8, dir ? 0755 : 0644);
    octal(hdr + 108, 8, 0);
    octal(hdr + 116, 8, 0);
    octal(hdr + 124, 12, dir ? 0 : size);
    octal(hdr + 136, 12, (uint64_t)time(NULL));
    hdr[156] = dir ? '5' : '0';
    memcpy(hdr + 257, "ustar", 6); /* magic with its NUL */
    memcpy(hdr + 263, "00", 2);
    /* The checksum is computed with its own field read as spaces. */
    memset(hdr + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < BLOCK; i++) sum += (unsigned char)hdr[i];
    octal(hdr + 148, 7, sum);
    hdr[155] = ' ';
    if (fwrite(hdr, 1, BLOCK, out) != BLOCK)
        return an_err_set(err, AN_EIO, name, "cannot write the archive: %s", strerror(errno));
    return 0;
}

static int copy_file(FILE *out, const char *path, uint64_t size, an_err *err)
{
    FILE *in = fopen(path, "rb");
    if (!in) return an_err_set(err, AN_EIO, path, "cannot read: %s", strerror(errno));
    char buf[65536];
    uint64_t done = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0 && done < size) {
        if (n > size - done) n = (size_t)(size - done); /* the file grew: keep the header's size */
        if (fwrite(buf, 1, n, out) != n) {
            fclose(in);
            return an_err_set(err, AN_EIO, path, "cannot write the archive: %s", strerror(errno));
        }
        done += n;
    }
    bool bad = ferror(in);
    fclose(in);
    if (bad || done != size)
        return an_err_set(err, AN_EIO, path, "the file changed or could not be read while archiving");
    static const char zeros[BLOCK];
    size_t pad = (size_t)((BLOCK - size % BLOCK) % BLOCK);
    if (pad && fwrite(zeros, 1, pad, out) != pad)
        return an_err_set(err, AN_EIO, path, "cannot write the archive: %s", strerror(errno));
    return 0;
}

static int add_dir(FILE *out, const char *path, const char *name, int depth, an_err *err)
{
    if (depth > 32) return an_err_set(err, AN_EINVAL, path, "folders nested too deep to archive");
    int rc = header(out, name, true, 0, err);
    if (rc) return rc;
    struct dirent **list = NULL;
    int n = scandir(path, &list, NULL, alphasort);
    if (n < 0) return an_err_set(err, AN_EIO, path, "cannot list: %s", strerror(errno));
    an_buf child = {0}, cname = {0};
    for (int i = 0; i < n && rc == 0; i++) {
        const char *d = list[i]->d_name;
        if (strcmp(d, ".") == 0 || strcmp(d, "..") == 0) continue;
        an_buf_reset(&child);
        an_buf_addf(&child, "%s/%s", path, d);
        an_buf_reset(&cname);
        an_buf_addf(&cname, "%s%s", name, d); /* name ends with a slash */
        struct stat st;
        if (lstat(child.p, &st) < 0) {
            rc = an_err_set(err, AN_EIO, child.p, "cannot read: %s", strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            an_buf_addf(&cname, "/");
            rc = add_dir(out, child.p, cname.p, depth + 1, err);
        } else if (S_ISREG(st.st_mode)) {
            rc = header(out, cname.p, false, (uint64_t)st.st_size, err);
            if (rc == 0) rc = copy_file(out, child.p, (uint64_t)st.st_size, err);
        }
    }
    for (int i = 0; i < n; i++) free(list[i]);
    free(list);
    an_buf_free(&child);
    an_buf_free(&cname);
    return rc;
}

int an_tar_folder(const char *dir, const char *top, const char *out_path, an_err *err)
{
    an_buf tmp = {0}, name = {0};
    an_buf_addf(&tmp, "%s.part", out_path);
    an_buf_addf(&name, "%s/", top);
    FILE *out = fopen(tmp.p, "wb");
    int rc = 0;
    if (!out) {
        rc = an_err_set(err, AN_EIO, tmp.p, "cannot create: %s", strerror(errno));
    } else {
        rc = add_dir(out, dir, name.p, 0, err);
        static const char zeros[2 * BLOCK];
        if (rc == 0 && fwrite(zeros, 1, sizeof zeros, out) != sizeof zeros)
            rc = an_err_set(err, AN_EIO, tmp.p, "cannot write the archive: %s", strerror(errno));
        if (fclose(out) != 0 && rc == 0)
            rc = an_err_set(err, AN_EIO, tmp.p, "cannot write the archive: %s", strerror(errno));
        if (rc == 0 && rename(tmp.p, out_path) != 0)
            rc = an_err_set(err, AN_EIO, out_path, "cannot rename the archive: %s", strerror(errno));
        if (rc) unlink(tmp.p);
    }
    an_buf_free(&tmp);
    an_buf_free(&name);
    return rc;
}
