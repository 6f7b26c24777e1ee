/* Projects: list, create, read, change, delete, config validation, import, next task. */
#include <ftw.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "formats/format.h"
#include "formats/import.h"
#include "server/api.h"
#include "store/gold.h"

#define LOCK_SECONDS 600 /* how long "next" reserves a task for its annotator */

/* Label Studio's project shape. */
static json_t *project_json(const an_project *p)
{
    json_t *j = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I}", "id", (json_int_t)p->id, "title", p->name,
                          "created_at", p->created_at ? p->created_at : "", "task_number",
                          (json_int_t)p->task_count, "total_annotations_number",
                          (json_int_t)p->annotation_count, "total_predictions_number",
                          (json_int_t)p->prediction_count);
    if (p->config) json_object_set_new(j, "label_config", json_string(p->config));
    return j;
}

typedef struct list_ctx {
    an_store *s;
    json_t *results;
} list_ctx;

static int add_project(void *ud, const an_project *p)
{
    list_ctx *c = ud;
    json_array_append_new(c->results, project_json(p));
    return 0;
}

static int add_member_project(void *ud, int64_t id)
{
    list_ctx *c = ud;
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)id);
    an_project p = {0};
    an_err e;
    if (an_store_project_get(c->s, text, &p, &e) == 0 && p.id == id) {
        /* listings carry no config, as an_store_project_list gives */
        free(p.config);
        p.config = NULL;
        json_array_append_new(c->results, project_json(&p));
    }
    an_project_clear(&p);
    return 0;
}

int api_projects_list(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    if (!s) return 0;
    const an_user *me = api_me(req);
    list_ctx c = {.s = s, .results = json_array()};
    an_err e;
    an_err_clear(&e);
    if (api_read_begin(s, resp)) {
        json_decref(c.results);
        return 0;
    }
    int rc = me->role == AN_ROLE_ADMIN
                 ? an_store_project_list(s, add_project, &c, &e)
                 : an_store_user_projects(s, me->id, add_member_project, &c, &e);
    an_store_read_end(s);
    if (rc < 0) {
        json_decref(c.results);
        return api_fail(resp, &e, 0);
    }
    an_http_json(resp, 200,
                 json_pack("{s:I,s:n,s:n,s:o}", "count", (json_int_t)json_array_size(c.results),
                           "next", "previous", "results", c.results));
    return 0;
}

/* Checks a config; on failure answers 400 naming the line. */
static bool config_ok(const char *xml, an_http_resp *resp)
{
    an_config *cfg = NULL;
    an_err e;
    an_err_clear(&e);
    if (an_config_parse(xml, strlen(xml), &cfg, &e) < 0) {
        api_fail(resp, &e, 400);
        return false;
    }
    an_config_free(cfg);
    return true;
}

int api_project_validate(an_http_req *req, an_http_resp *resp, void *app)
{
    json_t *body = api_body_object(req, resp);
    if (!body) return 0;
    const char *xml = an_json_str(body, "label_config");
    if (!xml)
        an_http_error(resp, 400, "invalid", "give \"label_config\"", "label_config");
    else if (config_ok(xml, resp))
        an_http_json(resp, 200, json_pack("{s:b}", "valid", 1));
    json_decref(body);
    return 0;
}

int api_projects_create(an_http_req *req, an_http_resp *resp, void *app)
{
    const an_user *me = api_me(req);
    if (!an_can(me, AN_ACT_CREATE_PROJECT, false)) {
        an_http_error(resp, 403, "forbidden", "only managers and admins create projects", NULL);
        return 0;
    }
    an_store *s = api_store(app, resp);
    json_t *body = s ? api_body_object(req, resp) : NULL;
    if (!body) return 0;
    const char *title = an_json_str(body, "title");
    const char *xml = an_json_str(body, "label_config");
    if (!title || !xml) {
        an_http_error(resp, 400, "invalid", "give \"title\" and \"label_config\"",
                      title ? "label_config" : "title");
        json_decref(body);
        return 0;
    }
    if (!config_ok(xml, resp)) {
        json_decref(body);
        return 0;
    }
    an_err e;
    an_err_clear(&e);
    int64_t id = 0;
    int rc = an_store_begin(s, &e);
    if (rc == 0) {
        rc = an_store_project_create(s, title, xml, NULL, &id, &e);
        if (rc == 0) rc = an_store_member_add(s, id, me->id, &e);
        if (rc == 0) rc = an_store_audit(s, me->id, "project.create", "project", id, NULL, &e);
        rc = an_store_end(s, rc, &e);
    }
    json_decref(body);
    if (rc < 0) return api_fail(resp, &e, 0);
    an_webhooks_emit(((an_app *)app)->webhooks, id, "PROJECT_CREATED", NULL);
    an_project p = {0};
    if (api_project_for(req, resp, s, id, AN_ACT_VIEW_PROJECT, &p)) return 0;
    an_http_json(resp, 201, project_json(&p));
    an_project_clear(&p);
    return 0;
}

int api_project_get(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_read_begin(s, resp)) return 0;
    int denied = api_project_for(req, resp, s, id, AN_ACT_VIEW_PROJECT, &p);
    an_store_read_end(s);
    if (denied) return 0;
    an_http_json(resp, 200, project_json(&p));
    an_project_clear(&p);
    return 0;
}

/* Reads up to max lines of the rejects file into a JSON list. */
static json_t *read_rejects(const char *path, int max)
{
    json_t *list = json_array();
    FILE *f = fopen(path, "r");
    if (!f) return list;
    char line[4096];
    for (int i = 0; i < max && fgets(line, sizeof line, f); i++) {
        json_t *j = json_loads(line, 0, NULL);
        if (j) json_array_append_new(list, j);
    }
    fclose(f);
    return list;
}

int api_project_import(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_MANAGE_PROJECT, &p)) return 0;
    const char *path = an_http_upload_path(req);
    if (!path || an_http_upload_size(req) == 0) {
        an_project_clear(&p);
        an_http_error(resp, 400, "invalid",
                      "send a JSON list of tasks, or a file as multipart/form-data", "body");
        return 0;
    }
    char rejects[] = "/tmp/annot-rejects-XXXXXX";
    int fd = mkstemp(rejects);
    if (fd >= 0) close(fd);
    const char *strict = an_http_query(req, "strict");
    an_import_opts o = {.format = an_http_query(req, "format"),
                        .strict =
                            strict && (strcmp(strict, "true") == 0 || strcmp(strict, "1") == 0),
                        .rejects_path = rejects};
    an_import_report r;
    an_err e;
    an_err_clear(&e);
    const char *paths[1] = {path};
    an_app *hooks_app = app;
    int64_t last_task = an_webhooks_last_task(hooks_app->webhooks, s, p.id, p.task_count);
    int rc = an_import(s, &p, paths, 1, &o, &r, &e);
    if (rc == 0 && r.added > 0)
        an_webhooks_emit(hooks_app->webhooks, p.id, "TASKS_CREATED",
                         an_webhooks_tasks_since(hooks_app->webhooks, s, p.id, last_task));
    if (rc == 0) an_store_audit(s, api_me(req)->id, "project.import", "project", p.id, NULL, &e);
    an_project_clear(&p);
    if (rc < 0) {
        unlink(rejects);
        return api_fail(resp, &e, 0);
    }
    json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:f}", "task_count", (json_int_t)r.added,
                          "annotation_count", (json_int_t)r.annotations, "prediction_count",
                          (json_int_t)r.predictions, "duplicate_count", (json_int_t)r.duplicates,
                          "rejected_count", (json_int_t)r.rejected, "duration", r.seconds);
    json_object_set_new(j, "rejects", read_rejects(rejects, 100));
    unlink(rejects);
    an_http_json(resp, 201, j);
    return 0;
}

int api_project_next(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_ANNOTATE, &p)) return 0;
    json_t *settings = json_loads(p.settings ? p.settings : "{}", 0, NULL);
    json_t *ov = json_object_get(settings, "overlap");
    int overlap = json_is_integer(ov) && json_integer_value(ov) > 0 && json_integer_value(ov) < 1000
                      ? (int)json_integer_value(ov)
                      : 1;
    double gold_share = 0;
    an_json_number(json_object_get(settings, "gold_share"), &gold_share);
    json_decref(settings);
    an_project_clear(&p);
    const an_user *me = api_me(req);
    an_err e;
    an_err_clear(&e);
    /* Gold tasks mixed into the queue: with probability gold_share, a gold task this
     * annotator has not done yet (random among them, so annotators spread over the set).
     * Gold tasks are not reserved: several annotators may do the same one. Blind annotation
     * keeps the ground truth out of the answer. */
    if (gold_share > 0 && randombytes_uniform(1000000) < (uint32_t)(gold_share * 1e6)) {
        int64_t gold = 0;
        if (an_store_gold_task_for(s, id, me->id, randombytes_random(), &gold, &e) < 0)
            return api_fail(resp, &e, 0);
        if (gold) return api_task_respond(req, resp, s, gold);
    }
    /* Another annotator may take the task between the query and the lock: try again. */
    for (int attempt = 0; attempt < 8; attempt++) {
        int64_t now = (int64_t)time(NULL), task_id = 0;
        bool got = false;
        if (an_store_next_task(s, id, me->id, overlap, now, &task_id, &e) < 0)
            return api_fail(resp, &e, 0);
        if (!task_id) {
            an_http_error(resp, 404, "no_more_tasks", "no task is left for you in this project",
                          NULL);
            return 0;
        }
        if (an_store_begin(s, &e) < 0) return api_fail(resp, &e, 0);
        int rc = an_store_lock_task(s, task_id, me->id, now + LOCK_SECONDS, &got, &e);
        rc = an_store_end(s, rc, &e);
        if (rc < 0) return api_fail(resp, &e, 0);
        if (got) return api_task_respond(req, resp, s, task_id);
    }
    an_http_error(resp, 503, "busy", "every candidate task was just taken; try again", NULL);
    return 0;
}

/* The project's labeling config as the C parser reads it, so the web UI renders from the
 * same understanding of the config as validation uses (no second parser in JavaScript). */
static json_t *config_json(const an_config *cfg)
{
    json_t *objects = json_array(), *controls = json_array();
    for (size_t i = 0; i < cfg->n_objects; i++) {
        const an_object *o = &cfg->objects[i];
        json_array_append_new(objects, json_pack("{s:s,s:s,s:s,s:s?}", "tag", an_tag_name(o->tag),
                                                 "name", o->name, "value", o->value ? o->value : "",
                                                 "data_key", o->data_key));
    }
    for (size_t i = 0; i < cfg->n_controls; i++) {
        const an_control *c = &cfg->controls[i];
        json_t *to = json_array(), *labels = json_array();
        for (size_t k = 0; k < c->n_to; k++)
            json_array_append_new(to, json_string(c->to_names[k]));
        for (size_t k = 0; k < c->n_labels; k++)
            json_array_append_new(labels, json_string(c->labels[k]));
        json_t *j = json_pack("{s:s,s:s,s:o,s:s,s:o,s:b,s:b}", "tag", an_tag_name(c->tag), "name",
                              c->name, "to_names", to, "type", c->result_type, "labels", labels,
                              "multiple", c->multiple, "required", c->required);
        if (c->tag == AN_TAG_RATING)
            json_object_set_new(j, "max_rating", json_integer(c->max_rating));
        if (c->has_min) json_object_set_new(j, "min", json_real(c->min));
        if (c->has_max) json_object_set_new(j, "max", json_real(c->max));
        json_array_append_new(controls, j);
    }
    return json_pack("{s:o,s:o}", "objects", objects, "controls", controls);
}

int api_project_config(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_VIEW_PROJECT, &p)) return 0;
    api_cfg *cfg = api_config(app, &p, resp);
    if (cfg) an_http_json(resp, 200, config_json(cfg->cfg));
    api_config_release(app, cfg);
    an_project_clear(&p);
    return 0;
}

/* ---- statistics ------------------------------------------------------------------------- */

typedef struct stats_ctx {
    an_store *s;
    bool names; /* whether the asker may see who the annotators are */
    json_t *labels, *annotators;
} stats_ctx;

static int stats_label(void *ud, const char *from_name, const char *label, int64_t count)
{
    stats_ctx *c = ud;
    json_t *ctl = json_object_get(c->labels, from_name);
    if (!ctl) {
        ctl = json_object();
        json_object_set_new(c->labels, from_name, ctl);
    }
    json_object_set_new(ctl, label, json_integer(count));
    return 0;
}

static int stats_annotator(void *ud, const an_annotator_count *a)
{
    stats_ctx *c = ud;
    json_t *j = json_pack("{s:I,s:I,s:I}", "id", (json_int_t)a->annotator_id, "submitted",
                          (json_int_t)a->submitted, "skipped", (json_int_t)a->skipped);
    json_object_set_new(j, "mean_lead_time",
                        isnan(a->mean_lead_time) ? json_null() : json_real(a->mean_lead_time));
    an_user u = {0};
    an_err e;
    if (c->names && a->annotator_id > 0 && an_store_user_by_id(c->s, a->annotator_id, &u, &e) == 0)
        json_object_set_new(j, "username", json_string(u.name));
    an_user_clear(&u);
    json_array_append_new(c->annotators, j);
    return 0;
}

/* Counts for the dashboard, from the store's counters and label index (no task payloads).
 * Annotator names go to those who review or run the project; annotators see ids. */
int api_project_stats(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_VIEW_PROJECT, &p)) return 0;
    bool member = false;
    an_err e;
    an_err_clear(&e);
    if (an_store_is_member(s, id, api_me(req)->id, &member, &e) < 0) {
        an_project_clear(&p);
        return api_fail(resp, &e, 0);
    }
    if (api_read_begin(s, resp)) {
        an_project_clear(&p);
        return 0;
    }
    stats_ctx c = {.s = s,
                   .names = an_can(api_me(req), AN_ACT_REVIEW, member),
                   .labels = json_object(),
                   .annotators = json_array()};
    int64_t labelled = 0;
    int rc = an_store_labeled_task_count(s, id, &labelled, &e);
    if (rc == 0) rc = an_store_label_counts(s, id, stats_label, &c, &e);
    if (rc == 0) rc = an_store_annotator_counts(s, id, stats_annotator, &c, &e);
    an_store_read_end(s);
    if (rc == 0)
        an_http_json(resp, 200,
                     json_pack("{s:I,s:I,s:I,s:I,s:I,s:O,s:O}", "id", (json_int_t)id, "tasks",
                               (json_int_t)p.task_count, "labelled_tasks", (json_int_t)labelled,
                               "annotations", (json_int_t)p.annotation_count, "predictions",
                               (json_int_t)p.prediction_count, "labels", c.labels, "annotators",
                               c.annotators));
    else
        api_fail(resp, &e, 0);
    json_decref(c.labels);
    json_decref(c.annotators);
    an_project_clear(&p);
    return 0;
}

/* ---- changing and deleting projects ------------------------------------------------------- */

typedef struct label_check {
    const an_config *cfg;
    char where[160];
    char msg[400];
} label_check;

/* Every (control, label) existing annotations use must still exist in the new config. */
static int check_label_use(void *ud, const char *from_name, const char *label, int64_t count)
{
    label_check *c = ud;
    const an_control *ctl = an_config_control(c->cfg, from_name);
    if (!ctl) {
        snprintf(c->where, sizeof c->where, "label_config");
        snprintf(c->msg, sizeof c->msg,
                 "%lld annotations use the control \"%s\", which the new config does not have; "
                 "keep it or delete those annotations first",
                 (long long)count, from_name);
        return 1;
    }
    if (ctl->n_labels && an_control_label_index(ctl, label) < 0) {
        snprintf(c->where, sizeof c->where, "label_config");
        snprintf(c->msg, sizeof c->msg,
                 "%lld annotations use \"%s\" of control \"%s\", which the new config does not "
                 "have; keep that label or change those annotations first",
                 (long long)count, label, from_name);
        return 1;
    }
    return 0;
}

int api_project_update(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_MANAGE_PROJECT, &p)) return 0;
    json_t *body = api_body_object(req, resp);
    json_t *settings = NULL;
    char *settings_text = NULL;
    if (!body) goto out;
    json_t *title = json_object_get(body, "title");
    json_t *xml = json_object_get(body, "label_config");
    json_t *overlap = json_object_get(body, "overlap");
    json_t *gold_share = json_object_get(body, "gold_share");
    double share = 0;
    bool bad_share = gold_share && (!an_json_number(gold_share, &share) || share < 0 || share > 1);
    if ((title && !json_is_string(title)) || (xml && !json_is_string(xml)) ||
        (overlap && (!json_is_integer(overlap) || json_integer_value(overlap) < 1 ||
                     json_integer_value(overlap) > 999)) ||
        bad_share) {
        an_http_error(resp, 400, "invalid",
                      "title and label_config are text; overlap is a number from 1 to 999; "
                      "gold_share is a number from 0 to 1",
                      title && !json_is_string(title) ? "title"
                      : xml && !json_is_string(xml)   ? "label_config"
                      : bad_share                     ? "gold_share"
                                                      : "overlap");
        goto out;
    }
    if (xml) {
        /* The new config must parse, and every label existing annotations use must still be
         * in it (a control by name, and the label when the control has a label list). */
        an_config *cfg = NULL;
        an_err e;
        an_err_clear(&e);
        const char *text = json_string_value(xml);
        if (an_config_parse(text, strlen(text), &cfg, &e) < 0) {
            api_fail(resp, &e, 400);
            goto out;
        }
        label_check c = {.cfg = cfg};
        int rc = an_store_label_counts(s, id, check_label_use, &c, &e);
        an_config_free(cfg);
        if (rc < 0) {
            api_fail(resp, &e, 0);
            goto out;
        }
        if (rc > 0) {
            an_http_error(resp, 409, "labels_in_use", c.msg, c.where);
            goto out;
        }
    }
    if (overlap || gold_share) {
        settings = json_loads(p.settings ? p.settings : "{}", 0, NULL);
        if (!json_is_object(settings)) {
            json_decref(settings);
            settings = json_object();
        }
        if (overlap) json_object_set(settings, "overlap", overlap);
        if (gold_share) json_object_set_new(settings, "gold_share", json_real(share));
        settings_text = an_json_text(settings);
    }
    an_err e;
    an_err_clear(&e);
    int rc = an_store_begin(s, &e);
    if (rc == 0) {
        rc = an_store_project_update(s, id, title ? json_string_value(title) : NULL,
                                     xml ? json_string_value(xml) : NULL, settings_text, &e);
        if (rc == 0)
            rc = an_store_audit(s, api_me(req)->id, "project.update", "project", id, NULL, &e);
        rc = an_store_end(s, rc, &e);
    }
    if (rc < 0) {
        api_fail(resp, &e, 0);
        goto out;
    }
    /* Frees the old parsed config now (a request holding the new text would replace it). */
    if (xml) api_config_forget(app, id);
    an_webhooks_emit(((an_app *)app)->webhooks, id, "PROJECT_UPDATED", NULL);
    an_project_clear(&p);
    if (api_project_for(req, resp, s, id, AN_ACT_VIEW_PROJECT, &p) == 0) {
        json_t *j = project_json(&p);
        json_t *st = json_loads(p.settings ? p.settings : "{}", 0, NULL);
        json_t *ov = json_object_get(st, "overlap");
        json_object_set_new(j, "overlap",
                            json_integer(json_is_integer(ov) ? json_integer_value(ov) : 1));
        double gs = 0;
        an_json_number(json_object_get(st, "gold_share"), &gs);
        json_object_set_new(j, "gold_share", json_real(gs));
        json_decref(st);
        an_http_json(resp, 200, j);
    }
out:
    free(settings_text);
    json_decref(settings);
    json_decref(body);
    an_project_clear(&p);
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int collect_job_id(void *ud, const an_export_job *j)
{
    an_buf *ids = ud;
    an_buf_add(ids, &j->id, sizeof j->id);
    return 0;
}

int api_project_delete(an_http_req *req, an_http_resp *resp, void *appv)
{
    an_app *app = appv;
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_MANAGE_PROJECT, &p)) return 0;
    an_err e;
    an_err_clear(&e);
    an_buf *jobs = an_http_scratch(req);
    int rc = an_store_export_job_list(s, id, collect_job_id, jobs, &e);
    if (rc == 0) rc = an_store_begin(s, &e);
    if (rc == 0) {
        char detail[64];
        snprintf(detail, sizeof detail, "{\"tasks\":%lld}", (long long)p.task_count);
        /* The entry is written first so that it still finds the project it names. */
        rc = an_store_audit(s, api_me(req)->id, "project.delete", "project", id, detail, &e);
        if (rc == 0) rc = an_store_project_delete(s, id, &e);
        rc = an_store_end(s, rc, &e);
    }
    an_project_clear(&p);
    if (rc < 0) return api_fail(resp, &e, 0);
    api_config_forget(app, id);
    an_webhooks_emit(app->webhooks, id, "PROJECT_DELETED",
                     json_pack("{s:{s:I}}", "project", "id", (json_int_t)id));
    /* The finished exports' files go too (a job still running finds its project gone). */
    for (size_t k = 0; k + sizeof(int64_t) <= jobs->len; k += sizeof(int64_t)) {
        int64_t jid;
        memcpy(&jid, jobs->p + k, sizeof jid);
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%lld", app->exports_dir, (long long)jid);
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    resp->status = 204;
    return 0;
}
