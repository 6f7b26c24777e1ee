/* Export jobs: queued by a request, run by the export workers (service/export_jobs.h),
 * polled and downloaded by later requests. No export runs inside a request. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "formats/format.h"
#include "server/api.h"

static json_t *job_json(const an_export_job *j)
{
    json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:I}", "id", (json_int_t)j->id, "project",
                          (json_int_t)j->project_id, "status", an_job_status_name(j->status),
                          "format", j->format ? j->format : "", "created_at",
                          j->created_at ? j->created_at : "", "tasks", (json_int_t)j->tasks);
    json_object_set_new(o, "finished_at", j->finished_at ? json_string(j->finished_at) : json_null());
    json_object_set_new(o, "error", j->error ? json_string(j->error) : json_null());
    return o;
}

int api_exports_create(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_app *app = appv;
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_MANAGE_PROJECT, &p)) return 0;
    an_project_clear(&p);
    json_t *body = api_body_object(req, resp);
    if (!body) return 0;
    const char *format = an_json_str(body, "format");
    const an_format *f = format ? an_format_find(format) : NULL;
    if (!f || !f->export_begin) {
        an_buf *names = an_http_scratch(req);
        for (const an_format *const *k = an_formats(); *k; k++)
            if ((*k)->export_begin) an_buf_addf(names, "%s%s", names->len ? ", " : "", (*k)->name);
        char msg[512];
        snprintf(msg, sizeof msg, "give \"format\": one of %s", names->p ? names->p : "");
        an_http_error(resp, 400, "invalid", msg, "format");
        json_decref(body);
        return 0;
    }
    an_err e;
    an_err_clear(&e);
    int64_t jid = 0;
    int rc = an_store_begin(s, &e);
    if (rc == 0) {
        rc = an_store_export_job_add(s, id, api_me(req)->id, format, &jid, &e);
        if (rc == 0) rc = an_store_audit(s, api_me(req)->id, "export.create", "export", jid, NULL, &e);
        rc = an_store_end(s, rc, &e);
    }
    json_decref(body);
    if (rc < 0) return api_fail(resp, &e, 0);
    an_export_runner_kick(app->exports);
    an_export_job j;
    if (an_store_export_job_get(s, jid, &j, &e) < 0) return api_fail(resp, &e, 0);
    an_http_json(resp, 201, job_json(&j));
    an_export_job_clear(&j);
    return 0;
}

static int add_job(void *ud, const an_export_job *j)
{
    json_array_append_new(ud, job_json(j));
    return 0;
}

int api_exports_list(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_MANAGE_PROJECT, &p)) return 0;
    an_project_clear(&p);
    json_t *list = json_array();
    an_err e;
    an_err_clear(&e);
    if (an_store_export_job_list(s, id, add_job, list, &e) < 0) {
        json_decref(list);
        return api_fail(resp, &e, 0);
    }
    an_http_json(resp, 200, list);
    return 0;
}

/* Loads export eid of project id for a manager. Returns 0 with j filled (caller clears), or
 * 1 after answering. */
static int job_for(an_http_req *req, an_http_resp *resp, an_store *s, an_export_job *j,
                   an_project *p)
{
    memset(j, 0, sizeof *j);
    int64_t id = api_param_id(req, resp, "id");
    if (!id || api_project_for(req, resp, s, id, AN_ACT_MANAGE_PROJECT, p)) return 1;
    int64_t eid = api_param_id(req, resp, "eid");
    an_err e;
    an_err_clear(&e);
    if (!eid || an_store_export_job_get(s, eid, j, &e) < 0 || j->project_id != id) {
        an_export_job_clear(j);
        an_project_clear(p);
        if (eid) an_http_error(resp, 404, "not_found", "no such export in this project", "eid");
        return 1;
    }
    return 0;
}

int api_export_get(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    an_export_job j;
    an_project p;
    if (!s || job_for(req, resp, s, &j, &p)) return 0;
    an_http_json(resp, 200, job_json(&j));
    an_export_job_clear(&j);
    an_project_clear(&p);
    return 0;
}

/* A file name safe in a Content-Disposition header: the project's name with anything but
 * letters, digits, '-', '_' and '.' turned into '_'. */
static void safe_name(const char *in, char *out, size_t cap)
{
    size_t k = 0;
    for (const char *c = in; *c && k + 1 < cap && k < 60; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.';
        out[k++] = ok ? *c : '_';
    }
    if (k == 0 && cap > 7) {
        memcpy(out, "project", 7);
        k = 7;
    }
    out[k] = '\0';
}

int api_export_download(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_app *app = appv;
    an_store *s = api_store(app, resp);
    an_export_job j;
    an_project p;
    if (!s || job_for(req, resp, s, &j, &p)) return 0;
    if (j.status != AN_JOB_DONE || !j.path) {
        an_http_error(resp, 409, "not_ready",
                      j.status == AN_JOB_FAILED ? "this export failed; see its error and start "
                                                  "another"
                                                : "this export has not finished; poll its status",
                      NULL);
        goto out;
    }
    /* Only files the workers wrote, under the exports folder, are ever sent. */
    size_t dl = strlen(app->exports_dir);
    int fd = -1;
    if (strncmp(j.path, app->exports_dir, dl) == 0 && j.path[dl] == '/')
        fd = open(j.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        an_http_error(resp, 410, "gone", "the export's file is no longer there; export again",
                      NULL);
        goto out;
    }
    const char *ext = an_export_file_ext(j.format);
    char base[80], disp[200];
    safe_name(p.name, base, sizeof base);
    snprintf(disp, sizeof disp, "attachment; filename=\"%s-%s-%lld.%s\"", base, j.format,
             (long long)j.id, ext);
    an_http_resp_header(resp, "Content-Disposition", disp, NULL);
    resp->status = 200;
    const char *type = strcmp(ext, "tar") == 0    ? "application/x-tar"
                       : strcmp(ext, "json") == 0 ? "application/json"
                       : strcmp(ext, "csv") == 0  ? "text/csv; charset=utf-8"
                                                  : "text/plain; charset=utf-8";
    if (strcmp(ext, "jsonl") == 0) type = "application/jsonl";
    snprintf(resp->content_type, sizeof resp->content_type, "%s", type);
    resp->fd = fd;
    resp->fd_offset = 0;
    resp->fd_length = (uint64_t)st.st_size;
out:
    an_export_job_clear(&j);
    an_project_clear(&p);
    return 0;
}
