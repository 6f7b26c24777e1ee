/* Reviews: reviewers accept or reject annotations, never their own; the review screen lists
 * a project's annotations by the state of their latest review. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "server/api.h"
#include "store/review_order.h"

#define PAGE_MAX 1000
#define SCORE_VERSIONS_MAX 20

static json_t *review_json(const an_review *r)
{
    json_t *j = json_pack("{s:I,s:I,s:b,s:s,s:s}", "id", (json_int_t)r->id, "annotation",
                          (json_int_t)r->annotation_id, "accepted", r->accepted, "comment",
                          r->comment ? r->comment : "", "created_at",
                          r->created_at ? r->created_at : "");
    json_object_set_new(j, "reviewer", r->reviewer_id ? json_integer(r->reviewer_id) : json_null());
    return j;
}

static int add_review(void *ud, const an_review *r)
{
    json_array_append_new(ud, review_json(r));
    return 0;
}

static int find_review(void *ud, const an_review *r)
{
    json_t **out = ud;
    json_decref(*out);
    *out = review_json(r); /* the list is in id order: the last one seen is the newest */
    return 0;
}

/* Loads annotation id and checks action on its project. Returns 0 with a filled (caller
 * clears), or 1 after answering. */
static int annotation_for(an_http_req *req, an_http_resp *resp, an_store *s, int64_t id,
                          an_action action, an_annotation *a)
{
    an_err e;
    an_err_clear(&e);
    memset(a, 0, sizeof *a);
    if (an_store_annotation_get(s, id, a, &e) < 0) {
        an_annotation_clear(a);
        return api_fail(resp, &e, 0), 1;
    }
    an_project p;
    if (api_project_for(req, resp, s, a->project_id, action, &p)) {
        an_annotation_clear(a);
        return 1;
    }
    an_project_clear(&p);
    return 0;
}

int api_review_create(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_annotation a;
    if (!id || annotation_for(req, resp, s, id, AN_ACT_REVIEW, &a)) return 0;
    const an_user *me = api_me(req);
    bool own = a.annotator_id == me->id;
    int64_t project_id = a.project_id;
    an_annotation_clear(&a);
    if (own) {
        an_http_error(resp, 403, "forbidden", "you cannot review your own annotation", NULL);
        return 0;
    }
    json_t *body = api_body_object(req, resp);
    if (!body) return 0;
    json_t *acc = json_object_get(body, "accepted");
    json_t *comment = json_object_get(body, "comment");
    if (!json_is_boolean(acc) || (comment && !json_is_string(comment) && !json_is_null(comment))) {
        an_http_error(resp, 400, "invalid",
                      "give \"accepted\": true or false, and optionally \"comment\": text",
                      json_is_boolean(acc) ? "comment" : "accepted");
        json_decref(body);
        return 0;
    }
    an_err e;
    an_err_clear(&e);
    int64_t rid = 0;
    int rc = an_store_begin(s, &e);
    if (rc == 0) {
        rc = an_store_review_add(s, id, me->id, json_is_true(acc),
                                 json_is_string(comment) ? json_string_value(comment) : "", &rid,
                                 &e);
        if (rc == 0)
            rc = an_store_audit(s, me->id, json_is_true(acc) ? "review.accept" : "review.reject",
                                "review", rid, NULL, &e);
        rc = an_store_end(s, rc, &e);
    }
    json_decref(body);
    if (rc < 0) return api_fail(resp, &e, 0);
    json_t *out = NULL;
    if (an_store_review_list(s, id, find_review, &out, &e) < 0) {
        json_decref(out);
        return api_fail(resp, &e, 0);
    }
    an_webhooks_emit(((an_app *)app)->webhooks, project_id, "REVIEW_CREATED",
                     json_pack("{s:o}", "review", json_deep_copy(out)));
    an_http_json(resp, 201, out);
    return 0;
}

int api_reviews_list(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_annotation a;
    if (!id || annotation_for(req, resp, s, id, AN_ACT_VIEW_PROJECT, &a)) return 0;
    an_annotation_clear(&a);
    json_t *list = json_array();
    an_err e;
    an_err_clear(&e);
    if (an_store_review_list(s, id, add_review, list, &e) < 0) {
        json_decref(list);
        return api_fail(resp, &e, 0);
    }
    an_http_json(resp, 200, list);
    return 0;
}

static int add_brief(void *ud, const an_annotation_brief *b, double score)
{
    json_t *j = json_pack("{s:I,s:I,s:b,s:s,s:s,s:s,s:I}", "id", (json_int_t)b->id, "task",
                          (json_int_t)b->task_id, "ground_truth", b->ground_truth, "created_at",
                          b->created_at ? b->created_at : "", "updated_at",
                          b->updated_at ? b->updated_at : "", "review_state",
                          !b->review_id ? "unreviewed" : b->accepted ? "accepted" : "rejected",
                          "review_count", (json_int_t)b->review_count);
    json_object_set_new(j, "completed_by", b->annotator_id ? json_integer(b->annotator_id) : json_null());
    json_t *last = json_null();
    if (b->review_id) {
        last = json_pack("{s:I,s:b,s:s}", "id", (json_int_t)b->review_id, "accepted", b->accepted,
                         "created_at", b->reviewed_at ? b->reviewed_at : "");
        json_object_set_new(last, "reviewer",
                            b->reviewer_id ? json_integer(b->reviewer_id) : json_null());
    }
    json_object_set_new(j, "last_review", last);
    if (!isnan(score)) json_object_set_new(j, "score", json_real(score));
    json_array_append_new(ud, j);
    return 0;
}

/* The similarity versions the queue can be ordered by, for the review screen's choice. */
static int add_version(void *ud, const char *v)
{
    json_array_append_new(ud, json_string(v));
    return 0;
}

int api_project_annotations(an_http_req *req, an_http_resp *resp, void *app)
{
    an_store *s = api_store(app, resp);
    int64_t id = s ? api_param_id(req, resp, "id") : 0;
    an_project p;
    if (!id || api_project_for(req, resp, s, id, AN_ACT_REVIEW, &p)) return 0;
    an_project_clear(&p);
    const char *status = an_http_query(req, "status");
    an_review_state st = AN_REVIEWS_ANY;
    if (status && strcmp(status, "unreviewed") == 0) st = AN_REVIEWS_UNREVIEWED;
    else if (status && strcmp(status, "accepted") == 0) st = AN_REVIEWS_ACCEPTED;
    else if (status && strcmp(status, "rejected") == 0) st = AN_REVIEWS_REJECTED;
    else if (status && *status && strcmp(status, "all") != 0) st = (an_review_state)-1;
    /* ?order=id (submission, the default), -id (newest first) or score:MODEL_VERSION (that
     * prediction's score of the task, lowest first: the worst-aligned pairs). */
    const char *order_text = an_http_query(req, "order");
    an_review_order order = {AN_REVIEW_ORDER_ID, NULL};
    if (order_text && strncmp(order_text, "score:", 6) == 0 && order_text[6]) {
        order.by = AN_REVIEW_ORDER_SCORE;
        order.model_version = order_text + 6;
    } else if (order_text && strcmp(order_text, "-id") == 0) {
        order.by = AN_REVIEW_ORDER_NEWEST;
    } else if (order_text && *order_text && strcmp(order_text, "id") != 0) {
        an_http_error(resp, 400, "invalid",
                      "order is id, -id or score:MODEL_VERSION (for example "
                      "score:similarity:caption:image)",
                      "order");
        return 0;
    }
    long page = api_query_long(req, "page", 1, 100000000);
    long size = api_query_long(req, "page_size", 100, PAGE_MAX);
    if ((int)st < 0 || page < 0 || size < 0) {
        an_http_error(resp, 400, "invalid",
                      "status is unreviewed, accepted, rejected or all; page from 1; page_size "
                      "1..1000",
                      (int)st < 0 ? "status" : "page");
        return 0;
    }
    json_t *list = json_array();
    int64_t total = 0;
    an_err e;
    an_err_clear(&e);
    json_t *versions = json_array();
    /* One read transaction: the page, its count and the versions agree. */
    if (api_read_begin(s, resp)) {
        json_decref(list);
        json_decref(versions);
        return 0;
    }
    int rc = an_store_review_queue_ordered(s, id, st, &order, (page - 1) * size, (int)size,
                                           add_brief, list, &total, &e);
    if (rc == 0)
        rc = an_store_review_score_versions(s, id, "similarity:", SCORE_VERSIONS_MAX,
                                            add_version, versions, &e);
    an_store_read_end(s);
    if (rc < 0) {
        json_decref(list);
        json_decref(versions);
        return api_fail(resp, &e, e.code == AN_EINVAL ? 400 : 0);
    }
    json_t *out = json_pack("{s:I,s:I,s:I,s:s,s:o,s:o}", "total", (json_int_t)total, "page",
                            (json_int_t)page, "page_size", (json_int_t)size, "order",
                            order_text && *order_text ? order_text : "id", "score_versions",
                            versions, "annotations", list);
    an_http_json(resp, 200, out);
    return 0;
}
