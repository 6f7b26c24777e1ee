/* Errors: a code a program can act on, a message a person can act on, and the place.
 *
 * Library functions return 0 on success and a negative an_code on failure, after filling the
 * caller's an_err. Only front ends decide to print or exit (see an_err_exit_status). */
#ifndef AN_ERR_H
#define AN_ERR_H

#include <stddef.h>

typedef enum an_code {
    AN_OK = 0,
    AN_EINVAL = 1,    /* bad input from the user: fix the input */
    AN_ENOTFOUND = 2, /* a named thing does not exist */
    AN_EEXIST = 3,    /* a thing with that name already exists */
    AN_EIO = 4,       /* a file or the database could not be read or written */
    AN_ENOMEM = 5,
    AN_EINTERNAL = 6, /* a bug or an unexpected state: report it */
    AN_EBUSY = 7,     /* the workspace is busy longer than the wait allows */
} an_code;

typedef struct an_err {
    int code;
    char where[256]; /* file:line, JSON path, field or option; may be empty */
    char msg[1024];  /* what is wrong and what to do about it */
} an_err;

/* Clears e. */
void an_err_clear(an_err *e);

/* Fills e (when not NULL) and returns -code, so callers can write `return an_err_set(...)`.
 * where may be NULL. */
int an_err_set(an_err *e, int code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes e->where with prefix and a separator (e.g. the file name before a JSON path). */
void an_err_prefix_where(an_err *e, const char *prefix);

/* Exit status a command should use: 1 for bad input or usage, 2 for internal errors. */
int an_err_exit_status(const an_err *e);

/* A short name for the code ("invalid", "not_found", …) used in JSON error output. */
const char *an_code_name(int code);

#endif
