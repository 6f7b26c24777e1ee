/* The QC report over HTTP: GET /api/projects/{id}/qc/report (the report document as JSON) and
 * GET /api/projects/{id}/qc/report.html (the same as a self-contained page, for the web UI's
 * QC page to show in a sandboxed frame). Reviewers, managers and admins; ?control=NAME as
 * `annot qc report --control`. Thin adapters over qc/report.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api.h"
#include "qc/report.h"

/* The page has no scripts and needs nothing from outside: inline styles, data: images at
 * most. It may be framed by the app itself (same origin) and nothing else; `sandbox` makes
 * it a unique origin even when opened directly. */
static const char REPORT_CSP[] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                 "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; "
                                 "sandbox";

/* Builds the report of project {id} for a reviewer or up; NULL after answering. */
static json_t *build(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_REVIEW, &p)) return NULL;
    const char *control = an_http_query(req, "control");
    /* A bias section on request: an attribute path, or a built-in lexicon by name (never a
     * file: a path from a web request must not read the server's files). */
    const char *attr = an_http_query(req, "bias_attribute"),
               *lexicon = an_http_query(req, "bias_lexicon");
    an_report_opts o = {.control = control && *control ? control : NULL,
                        .bias_attribute = attr && *attr ? attr : NULL,
                        .bias_lexicon = lexicon && *lexicon ? lexicon : NULL,
                        .bias_lexicon_file = false};
    an_err e;
    an_err_clear(&e);
    json_t *r = NULL;
    int rc = an_report_build(s, &p, &o, &r, &e);
    an_project_clear(&p);
    if (rc < 0) {
        /* The CLI's option is the API's query argument. */
        if (e.code == AN_EINVAL && strcmp(e.where, "--control") == 0)
            snprintf(e.where, sizeof e.where, "control");
        api_fail(resp, &e, 0);
        return NULL;
    }
    return r;
}

int api_qc_report(an_http_req *req, an_http_resp *resp, void *app)
{
    json_t *r = build(req, resp, app);
    if (r) an_http_json(resp, 200, r);
    return 0;
}

int api_qc_report_html(an_http_req *req, an_http_resp *resp, void *app)
{
    json_t *r = build(req, resp, app);
    if (!r) return 0;
    an_buf html = AN_BUF_INIT;
    an_report_html(r, &html);
    json_decref(r);
    an_http_text(resp, 200, "text/html; charset=utf-8", html.p ? html.p : "", html.len);
    an_buf_free(&html);
    an_err e;
    an_err_clear(&e);
    if (an_http_resp_header(resp, "Content-Security-Policy", REPORT_CSP, &e) < 0 ||
        an_http_resp_header(resp, "X-Frame-Options", "SAMEORIGIN", &e) < 0)
        return -1;
    return 0;
}
