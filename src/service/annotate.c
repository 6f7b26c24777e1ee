#include "service/annotate.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "comply/ledger.h"
#include "model/validate.h"
#include "store/qc.h"

#define MAX_LABELS 4096

/* Validates in->result for task t; on success *data_out is the parsed task data. */
static int check(const an_config *cfg, const an_task *t, const json_t *result, json_t **data_out,
                 an_err *err)
{
    *data_out = NULL;
    if (!json_is_array(result))
        return an_err_set(err, AN_EINVAL, "result", "result must be a list of result items");
    json_t *data = an_json_parse(t->data, t->data_len, "task.data", err);
    if (!data) return -AN_EINTERNAL;
    int rc = an_validate_result(cfg, data, result, err);
    if (rc < 0) {
        json_decref(data);
        return rc;
    }
    *data_out = data;
    return 0;
}

static size_t labels_of(const json_t *result, an_label_ref *out)
{
    an_label_use uses[MAX_LABELS];
    size_t n = an_result_labels(result, uses, MAX_LABELS);
    for (size_t i = 0; i < n; i++) {
        out[i].from_name = uses[i].from_name;
        out[i].label = uses[i].label;
    }
    return n;
}

/* Runs write inside a transaction with an audit entry; rolls back on any failure. */
static int finish(an_store *s, int rc, int64_t user_id, const char *action, const char *object,
                  int64_t object_id, an_err *err)
{
    if (rc == 0) rc = an_store_audit(s, user_id, action, object, object_id, NULL, err);
    return an_store_end(s, rc, err);
}

int an_annotation_prepare(const an_config *cfg, const an_task *t, int64_t user_id,
                          const an_submit *in, an_prepared_annotation *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *data;
    int rc = check(cfg, t, in->result, &data, err);
    if (rc < 0) return rc;
    json_decref(data);
    out->result = json_incref((json_t *)in->result);
    out->text = an_json_text(in->result);
    an_label_use uses[MAX_LABELS];
    size_t n = an_result_labels(in->result, uses, MAX_LABELS);
    out->labels = an_xcalloc(n ? n : 1, sizeof *out->labels);
    for (size_t i = 0; i < n; i++) {
        out->labels[i].from_name = uses[i].from_name;
        out->labels[i].label = uses[i].label;
    }
    out->user_id = user_id;
    out->in = (an_annotation_in){.task_id = t->id,
                                 .project_id = t->project_id,
                                 .annotator_id = user_id,
                                 .result = out->text,
                                 .lead_time = in->lead_time,
                                 .ground_truth = in->ground_truth,
                                 .cancelled = in->cancelled,
                                 .labels = out->labels,
                                 .n_labels = n};
    return 0;
}

int an_annotation_check_rules(an_store *s, const an_config *cfg, const an_task *t,
                              an_prepared_annotation *p, an_err *err)
{
    an_qc_verdict_clear(&p->qc);
    int rc = an_qc_check_submit(s, cfg, t, p->user_id, p->result, p->in.lead_time, &p->qc, err);
    if (rc == 0) rc = an_qc_verdict_error(&p->qc, err);
    return rc;
}

int an_annotation_write(an_store *s, const an_prepared_annotation *p, int64_t *id_out, an_err *err)
{
    int rc = an_store_annotation_insert(s, &p->in, id_out, err);
    if (rc == 0) rc = an_store_unlock_task(s, p->in.task_id, p->user_id, err);
    if (rc == 0 && p->qc.warnings.n) {
        an_task t = {.id = p->in.task_id, .project_id = p->in.project_id};
        rc = an_qc_store_findings(s, &t, *id_out, p->user_id, &p->qc.warnings, AN_QC_ORIGIN_SUBMIT,
                                  err);
    }
    if (rc == 0)
        rc = an_store_audit(s, p->user_id, "annotation.create", "annotation", *id_out, NULL, err);
    if (rc == 0)
        rc = an_ledger_note_annotation(s, "create", p->in.project_id, *id_out, p->in.task_id,
                                       p->text, err);
    return rc;
}

void an_prepared_annotation_free(an_prepared_annotation *p)
{
    an_qc_verdict_clear(&p->qc);
    free(p->text);
    free(p->labels);
    json_decref(p->result);
    memset(p, 0, sizeof *p);
}

int an_annotation_submit(an_store *s, const an_config *cfg, const an_task *t, int64_t user_id,
                         const an_submit *in, int64_t *id_out, an_err *err)
{
    an_prepared_annotation p;
    int rc = an_annotation_prepare(cfg, t, user_id, in, &p, err);
    if (rc == 0) rc = an_annotation_check_rules(s, cfg, t, &p, err);
    if (rc == 0 && (rc = an_store_begin(s, err)) == 0)
        rc = an_store_end(s, an_annotation_write(s, &p, id_out, err), err);
    an_prepared_annotation_free(&p);
    return rc;
}

int an_annotation_change(an_store *s, const an_config *cfg, const an_task *t,
                         const an_annotation *old, int64_t user_id, const an_submit *in,
                         an_err *err)
{
    json_t *data;
    int rc = check(cfg, t, in->result, &data, err);
    if (rc < 0) return rc;
    char *text = an_json_text(in->result);
    static __thread an_label_ref labels[MAX_LABELS];
    an_annotation_update u = {.result = text,
                              .lead_time = in->lead_time,
                              .ground_truth = in->ground_truth,
                              .cancelled = in->cancelled,
                              .labels = labels,
                              .n_labels = labels_of(in->result, labels)};
    /* The rules judge the annotator's work, whoever edits it. */
    an_qc_verdict qc = {0};
    rc = an_qc_check_submit(s, cfg, t, old->annotator_id, in->result, in->lead_time, &qc, err);
    if (rc == 0) rc = an_qc_verdict_error(&qc, err);
    if (rc == 0 && (rc = an_store_begin(s, err)) == 0) {
        rc = an_store_annotation_update(s, old->id, &u, err);
        if (rc == 0)
            rc = an_store_qc_findings_delete_annotation(s, old->id, AN_QC_ORIGIN_SUBMIT, err);
        if (rc == 0)
            rc = an_qc_store_findings(s, t, old->id, old->annotator_id, &qc.warnings,
                                      AN_QC_ORIGIN_SUBMIT, err);
        if (rc == 0)
            rc = an_ledger_note_annotation(s, "update", old->project_id, old->id, old->task_id,
                                           text, err);
        rc = finish(s, rc, user_id, "annotation.update", "annotation", old->id, err);
    }
    an_qc_verdict_clear(&qc);
    free(text);
    json_decref(data);
    return rc;
}

int an_annotation_remove(an_store *s, int64_t id, int64_t user_id, an_err *err)
{
    int rc = an_store_begin(s, err);
    if (rc < 0) return rc;
    /* The entries first, so that they still find the annotation. */
    rc = an_store_audit(s, user_id, "annotation.delete", "annotation", id, NULL, err);
    an_annotation old = {0};
    if (rc == 0 && (rc = an_store_annotation_get(s, id, &old, err)) == 0)
        rc = an_ledger_note_annotation(s, "delete", old.project_id, id, old.task_id, old.result,
                                       err);
    an_annotation_clear(&old);
    if (rc == 0) rc = an_store_annotation_delete(s, id, err);
    return an_store_end(s, rc, err);
}

int an_prediction_submit(an_store *s, const an_config *cfg, const an_task *t,
                         const char *model_version, double score, const json_t *result,
                         int64_t user_id, int64_t *id_out, an_err *err)
{
    json_t *data;
    int rc = check(cfg, t, result, &data, err);
    if (rc < 0) return rc;
    char *text = an_json_text(result);
    an_prediction_in p = {.task_id = t->id,
                          .project_id = t->project_id,
                          .model_version = model_version ? model_version : "",
                          .score = score,
                          .result = text};
    rc = an_store_begin(s, err);
    if (rc == 0) {
        rc = an_store_prediction_insert(s, &p, id_out, err);
        rc = finish(s, rc, user_id, "prediction.create", "prediction", rc == 0 ? *id_out : 0, err);
    }
    free(text);
    json_decref(data);
    return rc;
}
