/* Tasks: paged listing without payloads, one task with its annotations and predictions,
 * changing data and meta, deletion. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/json.h"
#include "formats/format.h"
#include "server/api.h"

#define PAGE_MAX 1000

int api_task_for(an_http_req *req, an_http_resp *resp, an_store *s, int64_t id,
                 an_action action, an_task *t, an_project *p)
{
    an_err e;
    an_err_clear(&e);
    memset(t, 0, sizeof *t);
    if (an_store_task_get(s, id, t, &e) < 0) {
        an_task_clear(t);
        if (e.code != AN_ENOTFOUND) return api_fail(resp, &e, 0), 1;
        an_http_error(resp, 404, "not_found", "no such task", "task");
        return 1;
    }
    if (api_project_for(req, resp, s, t->project_id, action, p)) {
        an_task_clear(t);
        return 1;
    }
    return 0;
}

/* Copies of a task's annotations and predictions, gathered from the store's callbacks. */
typedef struct gathered {
    int64_t only_annotator; /* 0: every annotation (api_visible_annotator) */
    an_annotation_row *anns;
    size_t n_anns, cap_anns;
    an_prediction_row *preds;
    size_t n_preds, cap_preds;
} gathered;

static char *dup_or_null(const char *s)
{
    return s ? an_xstrdup(s) : NULL;
}

static int gather_annotation(void *ud, const an_annotation *a)
{
    gathered *g = ud;
    if (g->only_annotator && a->annotator_id != g->only_annotator) return 0;
    if (g->n_anns == g->cap_anns) {
        g->cap_anns = g->cap_anns ? 2 * g->cap_anns : 8;
        g->anns = an_xrealloc(g->anns, g->cap_anns * sizeof *g->anns);
    }
    g->anns[g->n_anns++] = (an_annotation_row){.id = a->id,
                                               .annotator_id = a->annotator_id,
                                               .result = an_xstrdup(a->result),
                                               .lead_time = a->lead_time,
                                               .ground_truth = a->ground_truth,
                                               .cancelled = a->cancelled,
                                               .created_at = dup_or_null(a->created_at),
                                               .updated_at = dup_or_null(a->updated_at)};
    return 0;
}

static int gather_prediction(void *ud, const an_prediction_row *p)
{
    gathered *g = ud;
    if (g->n_preds == g->cap_preds) {
        g->cap_preds = g->cap_preds ? 2 * g->cap_preds : 4;
        g->preds = an_xrealloc(g->preds, g->cap_preds * sizeof *g->preds);
    }
    g->preds[g->n_preds++] = (an_prediction_row){.id = p->id,
                                                 .model_version = an_xstrdup(p->model_version),
                                                 .score = p->score,
                                                 .result = an_xstrdup(p->result),
                                                 .created_at = dup_or_null(p->created_at)};
    return 0;
}

static void gathered_free(gathered *g)
{
    for (size_t i = 0; i < g->n_anns; i++) {
        free((char *)g->anns[i].result);
        free((char *)g->anns[i].created_at);
        free((char *)g->anns[i].updated_at);
    }
    for (size_t i = 0; i < g->n_preds; i++) {
        free((char *)g->preds[i].model_version);
        free((char *)g->preds[i].result);
        free((char *)g->preds[i].created_at);
    }
    free(g->anns);
    free(g->preds);
}

int64_t api_visible_annotator(an_http_req *req)
{
    const an_user *me = api_me(req);
    /* Every caller has already checked membership of the task's project. */
    return an_can(me, AN_ACT_REVIEW, true) ? 0 : me->id;
}

int api_task_respond_task(an_http_req *req, an_http_resp *resp, an_store *s, const an_task *t)
{
    gathered g = {.only_annotator = api_visible_annotator(req)};
    an_err e;
    an_err_clear(&e);
    int rc = an_store_annotation_list(s, t->id, gather_annotation, &g, &e);
    /* t was read in this snapshot: no predictions counted means none to list. */
    if (rc == 0 && t->prediction_count > 0)
        rc = an_store_prediction_list(s, t->id, gather_prediction, &g, &e);
    if (rc == 0) {
        an_task_row row = {.id = t->id,
                           .data = t->data,
                           .data_len = t->data_len,
                           .meta = t->meta,
                           .created_at = t->created_at,
                           .updated_at = t->updated_at,
                           .annotations = g.anns,
                           .n_annotations = g.n_anns,
                           .predictions = g.preds,
                           .n_predictions = g.n_preds};
        an_buf_reset(&resp->body);
        an_ls_task_write(&resp->body, &row);
        /* Label Studio's task also names its project. */
        an_buf_truncate(&resp->body, resp->body.len - 1);
        an_buf_addf(&resp->body, ",\"project\":%lld}", (long long)t->project_id);
        resp->status = 200;
        snprintf(resp->content_type, sizeof resp->content_type, "application/json");
    }
    gathered_free(&g);
    return rc < 0 ? api_fail(resp, &e, 0) : 0;
}

int api_task_respond(an_http_req *req, an_http_resp *resp, an_store *s, int64_t task_id)
{
    an_task t = {0};
    an_err e;
    an_err_clear(&e);
    /* One snapshot for the task and its annotations and predictions. */
    if (api_read_begin(s, resp)) return 0;
    int rc = an_store_task_get(s, task_id, &t, &e);
    if (rc == 0)
        api_task_respond_task(req, resp, s, &t);
    else
        api_fail(resp, &e, 0);
    an_store_read_end(s);
    an_task_clear(&t);
    return 0;
}

int api_task_get(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    if (!id || api_read_begin(s, resp)) return 0;
    an_task t;
    an_project p;
    if (api_task_for(req, resp, s, id, AN_ACT_VIEW_PROJECT, &t, &p) == 0) {
        an_project_clear(&p);
        api_task_respond_task(req, resp, s, &t);
        an_task_clear(&t);
    }
    an_store_read_end(s);
    return 0;
}

static int add_brief(void *ud, const an_task_brief *t)
{
    json_array_append_new(
        ud, json_pack("{s:I,s:s,s:s,s:I,s:I,s:I}", "id", (json_int_t)t->id, "created_at",
                      t->created_at ? t->created_at : "", "updated_at",
                      t->updated_at ? t->updated_at : "", "total_annotations",
                      (json_int_t)t->annotation_count, "cancelled_annotations",
                      (json_int_t)t->cancelled_count, "total_predictions",
                      (json_int_t)t->prediction_count));
    return 0;
}

/* A positive integer query argument, or dflt when absent; -1 when malformed. */
static long query_long(an_http_req *req, const char *name, long dflt, long max)
{
    const char *t = an_http_query(req, name);
    if (!t) return dflt;
    char *end;
    long v = strtol(t, &end, 10);
    if (!*t || *end || v < 1 || v > max) return -1;
    return v;
}

int api_tasks_list(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    if (!s) return 0;
    long project = query_long(req, "project", -1, INT32_MAX);
    long page = query_long(req, "page", 1, 100000000);
    long size = query_long(req, "page_size", 100, PAGE_MAX);
    const char *after_text = an_http_query(req, "after");
    long after = after_text ? query_long(req, "after", 0, LONG_MAX) : 0;
    if (project < 0 || page < 0 || size < 0 || after < 0) {
        an_http_error(resp, 400, "invalid",
                      "give ?project=ID, and optionally page (from 1), page_size (1..1000) or "
                      "after=TASK_ID for keyset paging",
                      "project");
        return 0;
    }
    an_project p;
    if (api_read_begin(s, resp)) return 0;
    if (api_project_for(req, resp, s, project, AN_ACT_VIEW_PROJECT, &p)) {
        an_store_read_end(s);
        return 0;
    }
    json_t *tasks = json_array();
    an_err e;
    an_err_clear(&e);
    /* The page and the totals come from the same snapshot. */
    int rc = after_text ? an_store_task_after(s, project, after, (int)size, add_brief, tasks, &e)
                        : an_store_task_page(s, project, (page - 1) * size, (int)size, add_brief,
                                             tasks, &e);
    an_store_read_end(s);
    if (rc < 0) {
        json_decref(tasks);
        an_project_clear(&p);
        return api_fail(resp, &e, 0);
    }
    an_http_json(resp, 200,
                 json_pack("{s:o,s:I,s:I,s:I}", "tasks", tasks, "total",
                           (json_int_t)p.task_count, "total_annotations",
                           (json_int_t)p.annotation_count, "total_predictions",
                           (json_int_t)p.prediction_count));
    an_project_clear(&p);
    return 0;
}

int api_task_delete(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_task t;
    an_project p;
    if (!id || api_task_for(req, resp, s, id, AN_ACT_MANAGE_PROJECT, &t, &p)) return 0;
    int64_t project_id = t.project_id;
    an_task_clear(&t);
    an_project_clear(&p);
    an_err e;
    an_err_clear(&e);
    int rc = an_store_begin(s, &e);
    if (rc == 0) {
        /* The entry first, so that it still finds the task's project. */
        rc = an_store_audit(s, api_me(req)->id, "task.delete", "task", id, NULL, &e);
        if (rc == 0) rc = an_store_task_delete(s, id, &e);
        rc = an_store_end(s, rc, &e);
    }
    if (rc < 0) return api_fail(resp, &e, 0);
    an_webhooks_emit(((an_app *)app)->webhooks, project_id, "TASKS_DELETED",
                     json_pack("{s:[{s:I}]}", "tasks", "id", (json_int_t)id));
    resp->status = 204;
    return 0;
}

int api_task_update(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_task t;
    an_project p;
    if (!id || api_task_for(req, resp, s, id, AN_ACT_MANAGE_PROJECT, &t, &p)) return 0;
    an_project_clear(&p);
    json_t *body = api_body_object(req, resp);
    char *data_text = NULL, *meta_text = NULL;
    if (!body) goto out;
    json_t *data = json_object_get(body, "data");
    json_t *meta = json_object_get(body, "meta");
    if ((data && !json_is_object(data)) || (meta && !json_is_object(meta) && !json_is_null(meta)) ||
        (!data && !meta)) {
        an_http_error(resp, 400, "invalid",
                      "give \"data\" (an object) and/or \"meta\" (an object, or null to clear it)",
                      data && !json_is_object(data) ? "data" : "meta");
        goto out;
    }
    /* The data is stored as canonical JSON text and hashed as import hashes it, so an edited
     * task deduplicates against imported ones. */
    if (data) data_text = an_json_text(data);
    if (meta && json_is_object(meta) && json_object_size(meta)) meta_text = an_json_text(meta);
    an_task_in in = {.project_id = t.project_id,
                     .data = data_text ? data_text : t.data,
                     .data_len = data_text ? strlen(data_text) : t.data_len,
                     .meta = meta ? meta_text : t.meta};
    an_hash(in.data, in.data_len, in.hash);
    an_err e;
    an_err_clear(&e);
    int rc = an_store_begin(s, &e);
    if (rc == 0) {
        rc = an_store_task_update_data(s, id, &in, &e);
        if (rc == 0) rc = an_store_audit(s, api_me(req)->id, "task.update", "task", id, NULL, &e);
        rc = an_store_end(s, rc, &e);
    }
    if (rc < 0)
        api_fail(resp, &e, 0);
    else
        api_task_respond(req, resp, s, id);
out:
    free(data_text);
    free(meta_text);
    json_decref(body);
    an_task_clear(&t);
    return 0;
}
