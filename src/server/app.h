/* The annot web application: the REST API and the web UI over one workspace, served by the
 * HTTP layer (http.h). Handlers are thin: they authenticate, check the role matrix
 * (service/auth.h), and call the same library functions as the command line.
 *
 * Every pool thread opens its own store handle on first use (the store's one-handle-per-
 * thread rule); handles close when the server stops. */
#ifndef AN_SERVER_APP_H
#define AN_SERVER_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "server/http.h"

typedef struct an_app_opts {
    const char *db;         /* workspace location */
    const char *host;       /* NULL: 127.0.0.1 */
    int port;               /* 0: any free port */
    unsigned threads;       /* 0: number of cores */
    const char *static_dir; /* the web UI's files; NULL: none */
    bool secure_cookies;    /* mark the session cookie Secure (behind HTTPS) */
    /* Folders whose files tasks may name as media (GET /api/tasks/{id}/media/{field}); a
     * file outside all of them is never served. NULL/0: no task media is served. */
    const char *const *media_roots;
    size_t n_media_roots;
    unsigned export_workers; /* background export threads; 0: 1 */
} an_app_opts;

typedef struct an_app an_app;

/* Opens the workspace (to fail early on a bad one), marks export jobs left running by a
 * previous process as failed, starts the export workers and starts serving. AN_EINVAL when
 * a media root is not an existing folder. */
int an_app_start(const an_app_opts *o, an_app **out, an_err *err);
int an_app_port(const an_app *a);
void an_app_stop(an_app *a);

#endif
