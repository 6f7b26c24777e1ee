/* Task media: the local file a task's data field names (an image, an audio clip), served
 * with byte ranges — but only from inside the server's media roots (annot serve
 * --media-root DIR), so that a task cannot be used to read any other file of the machine. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "server/api.h"

/* The media root holding real (a realpath), or NULL. */
static const char *root_of(const an_app *app, const char *real)
{
    for (size_t i = 0; i < app->n_media_roots; i++) {
        const char *r = app->media_roots[i];
        size_t n = strlen(r);
        if (strncmp(real, r, n) == 0 && (real[n] == '/' || (n == 1 && r[0] == '/')))
            return r;
    }
    return NULL;
}

static int not_found(an_http_resp *resp)
{
    an_http_error(resp, 404, "not_found",
                  "no such media file under the server's media roots (annot serve --media-root)",
                  "field");
    return 0;
}

int api_task_media(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_app *app = appv;
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_task t;
    an_project p;
    if (!id || api_task_for(req, resp, s, id, AN_ACT_VIEW_PROJECT, &t, &p)) return 0;
    an_project_clear(&p);
    const char *field = an_http_param(req, "field");
    json_t *data = json_loadb(t.data, t.data_len, 0, NULL);
    json_t *v = json_object_get(data, field ? field : "");
    const char *path = json_is_string(v) ? json_string_value(v) : NULL;
    char *real = NULL;
    an_buf *cand = an_http_scratch(req);
    if (!v) {
        an_http_error(resp, 404, "not_found", "the task's data has no such field", "field");
        goto out;
    }
    if (!path || !*path) {
        an_http_error(resp, 400, "invalid", "the field is not a file path", "field");
        goto out;
    }
    if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0) {
        an_http_error(resp, 400, "remote_media",
                      "this media is a URL: the server does not fetch it; fetch it from its URL",
                      "field");
        goto out;
    }
    if (strstr(path, "://") || strlen(path) >= PATH_MAX) {
        not_found(resp);
        goto out;
    }
    /* An absolute path is taken as is; a relative one is looked for under each root in
     * turn. realpath resolves every symlink and "..", so the containment test below is on
     * the file that would really be opened. */
    if (path[0] == '/') {
        real = realpath(path, NULL);
    } else {
        for (size_t i = 0; i < app->n_media_roots && !real; i++) {
            an_buf_reset(cand);
            an_buf_addf(cand, "%s/%s", app->media_roots[i], path);
            real = realpath(cand->p, NULL);
            if (real && !root_of(app, real)) {
                free(real);
                real = NULL;
            }
        }
    }
    const char *root = real ? root_of(app, real) : NULL;
    if (!root) {
        not_found(resp);
        goto out;
    }
    /* Media are data, never pages or code of this origin: files the web UI would treat as
     * code are refused, and the rest is sent sandboxed (an SVG's scripts cannot run). */
    const char *ext = strrchr(real, '.');
    if (ext && (strcmp(ext, ".js") == 0 || strcmp(ext, ".mjs") == 0 || strcmp(ext, ".css") == 0 ||
                strcmp(ext, ".html") == 0 || strcmp(ext, ".woff2") == 0)) {
        not_found(resp);
        goto out;
    }
    /* an_http_serve_file checks again (no "..", no hidden segment, realpath inside the root,
     * a regular file of a known media type) and streams it with Range support. */
    an_err e;
    an_err_clear(&e);
    const char *rel = real + strlen(root);
    if (an_http_serve_file(resp, root, rel, an_http_header(req, "Range"), &e) < 0) {
        if (e.code == AN_ENOTFOUND)
            not_found(resp);
        else
            api_fail(resp, &e, 0);
        goto out;
    }
    an_http_resp_header(resp, "Cache-Control", "private, max-age=300", NULL);
    an_http_resp_header(resp, "Content-Security-Policy", "sandbox", NULL);
out:
    free(real);
    json_decref(data);
    an_task_clear(&t);
    return 0;
}
