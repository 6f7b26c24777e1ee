/* Flushing the write-ahead log from outside the connection that writes it (see store.h,
 * an_log_flusher). fdatasync acts on the file, not on the descriptor: a descriptor of our
 * own, opened read-only, flushes the frames the writer's connection appended through its
 * descriptor. The log is found by name (the workspace file's name with "-wal"), so each
 * flush also checks that the name still leads to the file it holds open: were the log ever
 * replaced, flushing the old one would flush nothing of the new. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "store/sqlite_int.h"

struct an_log_flusher {
    char path[PATH_MAX];
    int fd;
    dev_t dev;
    ino_t ino;
};

int an_log_flusher_open(an_store *s, an_log_flusher **out, an_err *err)
{
    *out = NULL;
    const char *db = sqlite3_db_filename(s->db, "main");
    if (!db || !*db)
        return an_err_set(err, AN_EINTERNAL, "an_log_flusher_open",
                          "the workspace has no file (in memory?): nothing to flush");
    an_log_flusher *f = an_xcalloc(1, sizeof *f);
    f->fd = -1;
    if (snprintf(f->path, sizeof f->path, "%s-wal", db) >= (int)sizeof f->path) {
        free(f);
        return an_err_set(err, AN_EINVAL, "workspace", "the workspace's path is too long");
    }
    *out = f;
    return 0;
}

/* (Re)opens the log by name; 0, or an error naming the file. */
static int reopen(an_log_flusher *f, an_err *err)
{
    if (f->fd >= 0) close(f->fd);
    f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (f->fd < 0 || fstat(f->fd, &st) != 0) {
        int e = errno;
        if (f->fd >= 0) close(f->fd);
        f->fd = -1;
        return an_err_set(err, AN_EIO, f->path, "cannot open the workspace's log to flush it: %s",
                          strerror(e));
    }
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    return 0;
}

int an_log_flush(an_log_flusher *f, an_err *err)
{
    int rc = 0;
    if (f->fd < 0 && (rc = reopen(f, err))) return rc;
    for (int tries = 0; tries < 2; tries++) {
        if (fdatasync(f->fd) != 0)
            return an_err_set(err, AN_EIO, f->path,
                              "cannot flush the workspace's log to disk: %s; what was written "
                              "since the last flush may be lost on a power failure",
                              strerror(errno));
        struct stat st;
        if (stat(f->path, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino) return 0;
        if ((rc = reopen(f, err))) return rc;
    }
    return an_err_set(err, AN_EIO, f->path, "the workspace's log keeps being replaced");
}

void an_log_flusher_close(an_log_flusher *f)
{
    if (!f) return;
    if (f->fd >= 0) close(f->fd);
    free(f);
}
