/* Redacting streams and projects. See redact_run.h. */
#include "comply/redact_run.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/json.h"
#include "base/utf8.h"
#include "comply/ledger.h"
#include "model/config.h"
#include "model/validate.h"

typedef struct rrun {
    an_pii_ctx *ctx;
    const an_redact_policy *p;
    an_redact_report *rep;
    an_err *err;
    an_buf out; /* scratch for one redacted string */
} rrun;

/* Redacts one string value in place; fills map (may be NULL) with its offset map. */
static int redact_str(rrun *r, json_t *str, an_redact_map *map)
{
    const an_pii_finding *f;
    size_t n;
    const char *text = json_string_value(str);
    size_t len = json_string_length(str);
    if (map) an_redact_map_reset(map);
    int rc = an_pii_scan(r->ctx, text, len, &f, &n, r->err);
    if (rc < 0 || n == 0) return rc;
    an_buf_reset(&r->out);
    size_t changed = 0;
    an_redact_text(r->p, text, len, f, n, &r->out, map, &changed);
    for (size_t i = 0; i < n; i++)
        if (r->p->action[f[i].type] != AN_REDACT_KEEP) r->rep->by_type[f[i].type]++;
    r->rep->redacted += (int64_t)changed;
    if (changed && json_string_setn(str, r->out.p, r->out.len) != 0)
        return an_err_set(r->err, AN_EINTERNAL, "redact", "cannot set a redacted string");
    return 0;
}

static int on_string(void *ud, const char *path, json_t *str)
{
    return redact_str(ud, str, NULL);
}

int an_redact_stream(an_pii_ctx *ctx, const an_redact_policy *p, FILE *in, const char *name,
                     an_pii_format fmt, FILE *out, an_redact_report *rep, an_err *err)
{
    rrun r = {.ctx = ctx, .p = p, .rep = rep, .err = err};
    an_pii_lines lr;
    an_pii_lines_init(&lr, in);
    an_buf line = AN_BUF_INIT;
    const char *s;
    size_t n;
    int rc;
    while ((rc = an_pii_lines_next(&lr, name, &s, &n, err)) == 1) {
        rep->lines = lr.line;
        bool json = false;
        if (!lr.piece && fmt != AN_PII_TEXT) {
            size_t i = 0;
            while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
            json = fmt == AN_PII_JSONL ? n > 0 : (i < n && (s[i] == '{' || s[i] == '['));
        } else if (lr.piece && fmt == AN_PII_JSONL) {
            rc = an_err_set(err, AN_EINVAL, name, "line %lld is over %u MiB; a JSON line must "
                            "be shorter", (long long)lr.line, AN_PII_MAX_LINE >> 20);
            break;
        }
        an_buf_reset(&line);
        if (json) {
            char where[64];
            snprintf(where, sizeof where, "line %lld", (long long)lr.line);
            an_err jerr;
            json_t *j = an_json_parse(s, n, where, fmt == AN_PII_JSONL ? err : &jerr);
            if (!j && fmt == AN_PII_JSONL) {
                an_err_prefix_where(err, name);
                rc = -AN_EINVAL;
                break;
            }
            if (j) {
                rc = an_pii_walk_strings(j, "", on_string, &r);
                if (rc == 0) an_json_write(&line, j);
                json_decref(j);
                if (rc) break;
            } else {
                json = false;
            }
        }
        if (!json) {
            const an_pii_finding *f;
            size_t nf, changed = 0;
            if ((rc = an_pii_scan(ctx, s, n, &f, &nf, err)) < 0) break;
            an_redact_text(p, s, n, f, nf, &line, NULL, &changed);
            for (size_t i = 0; i < nf; i++)
                if (p->action[f[i].type] != AN_REDACT_KEEP) rep->by_type[f[i].type]++;
            rep->redacted += (int64_t)changed;
        }
        if (!lr.more) an_buf_addc(&line, '\n');
        if (fwrite(line.p, 1, line.len, out) != line.len) {
            rc = an_err_set(err, AN_EIO, "output", "cannot write: %s", strerror(errno));
            break;
        }
    }
    an_buf_free(&line);
    an_buf_free(&r.out);
    an_pii_lines_free(&lr);
    return rc;
}

/* ---- projects ----------------------------------------------------------------------- */

/* The offset map of one top-level string field of a task's data. */
typedef struct field_map {
    const char *key; /* borrowed from the data object */
    an_redact_map map;
} field_map;

typedef struct task_maps {
    field_map *f;
    size_t n, cap;
} task_maps;

static an_redact_map *map_of(task_maps *tm, const char *key)
{
    for (size_t i = 0; i < tm->n; i++)
        if (strcmp(tm->f[i].key, key) == 0) return &tm->f[i].map;
    return NULL;
}

/* Redacts data (an object) in place, keeping the offset map of each top-level string. */
static int redact_data(rrun *r, json_t *data, task_maps *tm)
{
    tm->n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(data, k, v) {
        int rc;
        if (json_is_string(v)) {
            if (tm->n == tm->cap) {
                size_t cap = tm->cap ? 2 * tm->cap : 8;
                tm->f = an_xrealloc(tm->f, cap * sizeof *tm->f);
                for (size_t i = tm->cap; i < cap; i++) tm->f[i].map = (an_redact_map)AN_REDACT_MAP_INIT;
                tm->cap = cap;
            }
            field_map *fm = &tm->f[tm->n++];
            fm->key = k;
            rc = redact_str(r, v, &fm->map);
        } else {
            rc = an_pii_walk_strings(v, "", on_string, r);
        }
        if (rc) return rc;
    }
    return 0;
}

static bool int_member(json_t *o, const char *key, size_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) return false;
    *out = (size_t)json_integer_value(v);
    return true;
}

static bool id_in(json_t *set, json_t *item, const char *key)
{
    const char *id = an_json_str(item, key);
    return id && json_object_get(set, id);
}

/* Remaps the spans and redacts the text answers of one result, in place. */
static int remap_result(rrun *r, const an_config *cfg, json_t *data, task_maps *tm,
                        json_t *result)
{
    json_t *gone = json_object(); /* ids of removed regions */
    size_t j;
    json_t *item;
    int rc = 0;
    bool removed_any = false;
    json_array_foreach(result, j, item) {
        json_t *value = json_object_get(item, "value");
        const char *type = an_json_str(item, "type");
        if (!json_is_object(value)) continue;
        if (type && strcmp(type, "textarea") == 0) {
            json_t *texts = json_object_get(value, "text");
            size_t k;
            json_t *t;
            json_array_foreach(texts, k, t) {
                if (json_is_string(t) && (rc = redact_str(r, t, NULL)) != 0) goto out;
            }
            continue;
        }
        size_t start, end;
        const char *to = an_json_str(item, "to_name");
        const an_object *obj = to ? an_config_object(cfg, to) : NULL;
        if (!obj || !obj->data_key || !int_member(value, "start", &start) ||
            !int_member(value, "end", &end))
            continue;
        an_redact_map *m = map_of(tm, obj->data_key);
        json_t *field = json_object_get(data, obj->data_key);
        if (!m || !json_is_string(field)) continue;
        size_t ns = start, ne = end;
        if (!an_redact_map_span(m, &ns, &ne)) {
            json_object_set_new(item, "__annot_removed", json_true());
            const char *id = an_json_str(item, "id");
            if (id) json_object_set_new(gone, id, json_true());
            removed_any = true;
            r->rep->regions_dropped++;
            continue;
        }
        if (ns != start || ne != end) r->rep->spans_moved++;
        json_object_set_new(value, "start", json_integer((json_int_t)ns));
        json_object_set_new(value, "end", json_integer((json_int_t)ne));
        if (json_is_string(json_object_get(value, "text"))) {
            const char *s = json_string_value(field);
            size_t len = json_string_length(field);
            long b = an_utf8_byte_offset(s, len, ns), e = an_utf8_byte_offset(s, len, ne);
            if (b < 0 || e < b) {
                rc = an_err_set(r->err, AN_EINTERNAL, "redact", "a remapped span left the text");
                goto out;
            }
            json_object_set_new(value, "text", json_stringn(s + b, (size_t)(e - b)));
        }
    }
    if (removed_any) {
        /* Drop the removed regions, the items sharing their ids (per-region answers) and the
         * relations pointing at them, walking back so indices stay valid. */
        for (size_t i = json_array_size(result); i-- > 0;) {
            json_t *it = json_array_get(result, i);
            if (json_object_get(it, "__annot_removed") || id_in(gone, it, "id") ||
                id_in(gone, it, "from_id") || id_in(gone, it, "to_id"))
                json_array_remove(result, i);
        }
    }
out:
    json_decref(gone);
    return rc;
}

/* Checks the remapped result and lists its labels. */
static int check_result(rrun *r, const an_config *cfg, json_t *data, json_t *result,
                        const char *what, int64_t task_id, an_label_ref **labels, size_t *n_labels,
                        an_label_use **uses, size_t *cap)
{
    if (an_validate_result(cfg, data, result, r->err) < 0) {
        char where[96];
        snprintf(where, sizeof where, "task %lld %s", (long long)task_id, what);
        an_err_prefix_where(r->err, where);
        return -AN_EINVAL;
    }
    size_t n = an_result_labels(result, *uses, *cap);
    while (n == *cap) {
        *cap *= 2;
        *uses = an_xrealloc(*uses, *cap * sizeof **uses);
        *labels = an_xrealloc(*labels, *cap * sizeof **labels);
        n = an_result_labels(result, *uses, *cap);
    }
    for (size_t i = 0; i < n; i++) (*labels)[i] = (an_label_ref){(*uses)[i].from_name, (*uses)[i].label};
    *n_labels = n;
    return 0;
}

int an_redact_project(an_store *rd, an_store *wr, const an_project *src, const char *new_name,
                      an_pii_ctx *ctx, const an_redact_policy *p, an_redact_report *rep,
                      an_err *err)
{
    memset(rep, 0, sizeof *rep);
    if (rd == wr)
        return an_err_set(err, AN_EINTERNAL, "redact", "reading and writing need two handles");
    an_config *cfg = NULL;
    int rc = an_config_parse(src->config, strlen(src->config), &cfg, err);
    if (rc < 0) return rc;
    rrun r = {.ctx = ctx, .p = p, .rep = rep, .err = err};
    task_maps tm = {0};
    size_t cap = 64;
    an_label_use *uses = an_xmalloc(cap * sizeof *uses);
    an_label_ref *labels = an_xmalloc(cap * sizeof *labels);
    an_task_iter *it = NULL;
    bool began = false;
    if ((rc = an_store_begin(wr, err)) < 0) goto out;
    began = true;
    if ((rc = an_store_project_create(wr, new_name, src->config, src->settings, &rep->project_id,
                                      err)) < 0)
        goto out;
    if ((rc = an_store_tasks_open(rd, src->id, AN_ITER_ANNOTATIONS | AN_ITER_PREDICTIONS, &it,
                                  err)) < 0)
        goto out;
    const an_task_row *row;
    while ((rc = an_task_iter_next(it, &row, err)) == 1) {
        rep->tasks++;
        char where[64];
        snprintf(where, sizeof where, "task %lld data", (long long)row->id);
        json_t *data = an_json_parse(row->data, row->data_len, where, err);
        if (!data) {
            rc = -AN_EINVAL;
            break;
        }
        if (!json_is_object(data)) {
            json_decref(data);
            rc = an_err_set(err, AN_EINVAL, where, "task data is not an object");
            break;
        }
        if ((rc = redact_data(&r, data, &tm)) != 0) {
            json_decref(data);
            break;
        }
        an_buf text = AN_BUF_INIT;
        an_json_write(&text, data);
        an_task_in t = {.project_id = rep->project_id,
                        .data = text.p,
                        .data_len = text.len,
                        .meta = row->meta,
                        .created_at = row->created_at,
                        .updated_at = row->updated_at};
        an_hash(text.p, text.len, t.hash);
        int64_t task_id = 0;
        rc = an_store_task_insert(wr, &t, &task_id, err);
        an_buf_free(&text);
        if (rc == 0 && task_id == 0) rep->duplicates++;
        if (rc == 0 && task_id) rep->added++;
        for (size_t i = 0; rc == 0 && task_id && i < row->n_annotations; i++) {
            const an_annotation_row *a = &row->annotations[i];
            json_t *res = an_json_parse(a->result, strlen(a->result), "annotation", err);
            if (!res) {
                rc = -AN_EINVAL;
                break;
            }
            char what[64];
            snprintf(what, sizeof what, "annotation %lld", (long long)a->id);
            size_t nl = 0;
            if ((rc = remap_result(&r, cfg, data, &tm, res)) == 0 &&
                (rc = check_result(&r, cfg, data, res, what, row->id, &labels, &nl, &uses,
                                   &cap)) == 0) {
                char *rt = an_json_text(res);
                an_annotation_in in = {.task_id = task_id,
                                       .project_id = rep->project_id,
                                       .annotator_id = a->annotator_id,
                                       .result = rt,
                                       .lead_time = a->lead_time,
                                       .ground_truth = a->ground_truth,
                                       .cancelled = a->cancelled,
                                       .created_at = a->created_at,
                                       .updated_at = a->updated_at,
                                       .labels = labels,
                                       .n_labels = nl};
                int64_t id;
                rc = an_store_annotation_insert(wr, &in, &id, err);
                free(rt);
                if (rc == 0) rep->annotations++;
            }
            json_decref(res);
        }
        for (size_t i = 0; rc == 0 && task_id && i < row->n_predictions; i++) {
            const an_prediction_row *pr = &row->predictions[i];
            json_t *res = an_json_parse(pr->result, strlen(pr->result), "prediction", err);
            if (!res) {
                rc = -AN_EINVAL;
                break;
            }
            char what[64];
            snprintf(what, sizeof what, "prediction %lld", (long long)pr->id);
            size_t nl = 0;
            if ((rc = remap_result(&r, cfg, data, &tm, res)) == 0 &&
                (rc = check_result(&r, cfg, data, res, what, row->id, &labels, &nl, &uses,
                                   &cap)) == 0) {
                char *rt = an_json_text(res);
                an_prediction_in in = {.task_id = task_id,
                                       .project_id = rep->project_id,
                                       .model_version = pr->model_version,
                                       .score = pr->score,
                                       .result = rt,
                                       .created_at = pr->created_at};
                int64_t id;
                rc = an_store_prediction_insert(wr, &in, &id, err);
                free(rt);
                if (rc == 0) rep->predictions++;
            }
            json_decref(res);
        }
        json_decref(data);
        if (rc != 0) break;
    }
out:
    if (it) an_task_iter_close(it);
    /* The redacted copy enters the provenance ledger with what it came from, in the same
     * transaction as the copy. */
    if (began && rc >= 0) {
        json_t *body = json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "source_project",
                                 (json_int_t)src->id, "source_name", src->name ? src->name : "",
                                 "tasks", (json_int_t)rep->tasks, "added", (json_int_t)rep->added,
                                 "annotations", (json_int_t)rep->annotations, "predictions",
                                 (json_int_t)rep->predictions, "values_redacted",
                                 (json_int_t)rep->redacted, "regions_dropped",
                                 (json_int_t)rep->regions_dropped);
        rc = an_ledger_append(wr, "redaction", rep->project_id, body, NULL, 0, err);
        json_decref(body);
    }
    if (began) rc = an_store_end(wr, rc < 0 ? rc : 0, err);
    for (size_t i = 0; i < tm.cap; i++) an_redact_map_free(&tm.f[i].map);
    free(tm.f);
    free(uses);
    free(labels);
    an_buf_free(&r.out);
    an_config_free(cfg);
    return rc;
}
