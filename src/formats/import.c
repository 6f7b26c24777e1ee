/* The import engine: connects a format's reader to the store (see import.h). */
#include "formats/import.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/progress.h"
#include "formats/format.h"
#include "model/config.h"
#include "model/validate.h"

#define MAX_LABELS_PER_RESULT 4096

/* Counters of the open transaction: they reach the report only when it commits. */
typedef struct pending {
    int64_t added, duplicates, annotations, predictions, tasks;
} pending;

typedef struct import_run {
    an_store *s;
    const an_project *p;
    const an_config *cfg;
    const an_import_opts *o;
    an_import_report *r;
    size_t batch_size;
    bool in_txn;
    pending pend;
    int64_t file_rejects; /* bad records in the current file */
    FILE *rejects;
    bool rejects_failed; /* the rejects file could not be created */
    an_progress bar;
    an_buf text;
    an_label_ref labels[MAX_LABELS_PER_RESULT];
    int64_t known_users[64]; /* annotator ids already ensured, so most records skip the store */
    size_t n_known_users;
} import_run;

static int begin(import_run *run, an_err *err)
{
    if (run->in_txn) return 0;
    int rc = an_store_begin(run->s, err);
    if (rc < 0) return rc;
    run->in_txn = true;
    memset(&run->pend, 0, sizeof run->pend);
    return 0;
}

static int commit(import_run *run, an_err *err)
{
    if (!run->in_txn) return 0;
    int rc = an_store_batch_add(run->s, run->r->batch_id, run->pend.added, run->pend.duplicates,
                                0, err);
    if (rc == 0) rc = an_store_commit(run->s, err);
    if (rc < 0) {
        an_store_rollback(run->s);
        run->in_txn = false;
        return rc;
    }
    run->in_txn = false;
    run->r->added += run->pend.added;
    run->r->duplicates += run->pend.duplicates;
    run->r->annotations += run->pend.annotations;
    run->r->predictions += run->pend.predictions;
    return 0;
}

static void rollback(import_run *run)
{
    if (!run->in_txn) return;
    an_store_rollback(run->s);
    run->in_txn = false;
}

static int write_reject(import_run *run, const char *where, const char *reason)
{
    if (!run->rejects) {
        if (!run->r->rejects_path[0]) {
            if (run->o->rejects_path)
                snprintf(run->r->rejects_path, sizeof run->r->rejects_path, "%s",
                         run->o->rejects_path);
            else
                snprintf(run->r->rejects_path, sizeof run->r->rejects_path,
                         "annot-rejects-%lld.jsonl", (long long)run->r->batch_id);
        }
        if (run->rejects_failed) return -1;
        run->rejects = fopen(run->r->rejects_path, "w");
        if (!run->rejects) {
            run->rejects_failed = true;
            return -1;
        }
    }
    an_buf line;
    an_buf_init(&line);
    an_buf_adds(&line, "{\"where\":");
    an_json_write_string(&line, where, strlen(where));
    an_buf_adds(&line, ",\"reason\":");
    an_json_write_string(&line, reason, strlen(reason));
    an_buf_adds(&line, "}\n");
    fwrite(line.p, 1, line.len, run->rejects);
    an_buf_free(&line);
    return 0;
}

/* Reader callback: a record that could not be read. */
static int on_reject(void *ud, const char *where, const char *reason)
{
    import_run *run = ud;
    run->r->read++;
    run->r->rejected++;
    run->file_rejects++;
    write_reject(run, where, reason);
    return 0;
}

/* A record that was read but does not fit the project. */
static int reject_invalid(import_run *run, const char *rec_where, const char *prefix,
                          const an_err *verr)
{
    char where[512], reason[1400];
    snprintf(where, sizeof where, "%s%s%s%s", rec_where ? rec_where : "?",
             (prefix[0] || verr->where[0]) ? ": " : "", prefix, verr->where);
    snprintf(reason, sizeof reason, "%s", verr->msg);
    run->r->rejected++;
    run->file_rejects++;
    write_reject(run, where, reason);
    return 0;
}

static const char *opt_str(const json_t *o, const char *key)
{
    return an_json_str(o, key);
}

static double opt_num(const json_t *o, const char *key)
{
    double v;
    return an_json_number(json_object_get(o, key), &v) ? v : NAN;
}

static int64_t annotator_of(const json_t *ann)
{
    json_t *cb = json_object_get(ann, "completed_by");
    if (json_is_object(cb)) cb = json_object_get(cb, "id");
    return json_is_integer(cb) && json_integer_value(cb) > 0 ? json_integer_value(cb) : 0;
}

/* Checks every annotation and prediction of a record; fills verr and prefix on the first
 * bad one. */
static int check_results(import_run *run, const an_record *rec, char *prefix, size_t cap,
                         an_err *verr)
{
    const json_t *lists[2] = {rec->annotations, rec->predictions};
    const char *names[2] = {"annotations", "predictions"};
    for (int l = 0; l < 2; l++) {
        const json_t *list = lists[l];
        if (!list) continue;
        if (!json_is_array(list)) {
            snprintf(prefix, cap, "%s", names[l]);
            return an_err_set(verr, AN_EINVAL, "", "must be a list of objects");
        }
        for (size_t i = 0; i < json_array_size(list); i++) {
            const json_t *item = json_array_get(list, i);
            snprintf(prefix, cap, "%s[%zu].", names[l], i);
            if (!json_is_object(item))
                return an_err_set(verr, AN_EINVAL, "", "must be an object with a \"result\" list");
            const json_t *result = json_object_get(item, "result");
            if (!json_is_array(result))
                return an_err_set(verr, AN_EINVAL, "result",
                                  "is missing or not a list; give \"result\": [] for none");
            if (an_validate_result(run->cfg, rec->data, result, verr) < 0) return -1;
        }
    }
    prefix[0] = '\0';
    return 0;
}

static size_t collect_labels(import_run *run, const json_t *result)
{
    an_label_use uses[MAX_LABELS_PER_RESULT];
    size_t n = an_result_labels(result, uses, MAX_LABELS_PER_RESULT);
    for (size_t i = 0; i < n; i++) {
        run->labels[i].from_name = uses[i].from_name;
        run->labels[i].label = uses[i].label;
    }
    return n;
}

/* Annotators named by id must exist; ids from another workspace become placeholders. */
static int ensure_annotator(import_run *run, int64_t id, an_err *err)
{
    if (id <= 0) return 0;
    for (size_t i = 0; i < run->n_known_users; i++)
        if (run->known_users[i] == id) return 0;
    int rc = an_store_user_ensure(run->s, id, err);
    if (rc == 0 && run->n_known_users < sizeof run->known_users / sizeof run->known_users[0])
        run->known_users[run->n_known_users++] = id;
    return rc;
}

static int store_record(import_run *run, const an_record *rec, an_err *err)
{
    int rc = begin(run, err);
    if (rc < 0) return rc;

    an_buf_reset(&run->text);
    an_json_write(&run->text, rec->data);
    an_task_in t = {.project_id = run->p->id,
                    .batch_id = run->r->batch_id,
                    .data = run->text.p,
                    .data_len = run->text.len,
                    .created_at = rec->created_at,
                    .updated_at = rec->updated_at};
    an_hash(run->text.p, run->text.len, t.hash);
    char *meta = rec->meta && json_object_size(rec->meta) ? an_json_text(rec->meta) : NULL;
    t.meta = meta;
    int64_t task_id = 0;
    rc = an_store_task_insert(run->s, &t, &task_id, err);
    free(meta);
    if (rc < 0) return rc;
    if (task_id == 0) {
        run->pend.duplicates++;
        return 0;
    }
    run->pend.added++;

    for (size_t i = 0; rec->annotations && i < json_array_size(rec->annotations); i++) {
        const json_t *a = json_array_get(rec->annotations, i);
        const json_t *result = json_object_get(a, "result");
        int64_t annotator = annotator_of(a);
        rc = ensure_annotator(run, annotator, err);
        if (rc < 0) return rc;
        char *text = an_json_text(result);
        an_annotation_in in = {.task_id = task_id,
                               .project_id = run->p->id,
                               .annotator_id = annotator,
                               .result = text,
                               .lead_time = opt_num(a, "lead_time"),
                               .ground_truth = json_is_true(json_object_get(a, "ground_truth")),
                               .cancelled = json_is_true(json_object_get(a, "was_cancelled")),
                               .created_at = opt_str(a, "created_at"),
                               .updated_at = opt_str(a, "updated_at"),
                               .labels = run->labels,
                               .n_labels = collect_labels(run, result)};
        int64_t id;
        rc = an_store_annotation_insert(run->s, &in, &id, err);
        free(text);
        if (rc < 0) return rc;
        run->pend.annotations++;
    }
    for (size_t i = 0; rec->predictions && i < json_array_size(rec->predictions); i++) {
        const json_t *pr = json_array_get(rec->predictions, i);
        char *text = an_json_text(json_object_get(pr, "result"));
        const char *mv = opt_str(pr, "model_version");
        an_prediction_in in = {.task_id = task_id,
                               .project_id = run->p->id,
                               .model_version = mv ? mv : "",
                               .score = opt_num(pr, "score"),
                               .result = text,
                               .created_at = opt_str(pr, "created_at")};
        int64_t id;
        rc = an_store_prediction_insert(run->s, &in, &id, err);
        free(text);
        if (rc < 0) return rc;
        run->pend.predictions++;
    }
    return 0;
}

/* Reader callback: one good record. */
static int on_record(void *ud, const an_record *rec, an_err *err)
{
    import_run *run = ud;
    run->r->read++;
    an_err verr;
    an_err_clear(&verr);
    char prefix[64] = "";
    if (an_validate_task_data(run->cfg, rec->data, &verr) < 0)
        return reject_invalid(run, rec->where, "", &verr);
    if (check_results(run, rec, prefix, sizeof prefix, &verr) < 0)
        return reject_invalid(run, rec->where, prefix, &verr);

    /* In strict mode a file with a bad record adds nothing: keep reading to report every
     * bad record, but stop writing. */
    if (run->o->strict && run->file_rejects) return 0;

    int rc = store_record(run, rec, err);
    if (rc < 0) {
        an_err_prefix_where(err, rec->where);
        return rc;
    }
    if (++run->pend.tasks >= (int64_t)run->batch_size && !run->o->strict) return commit(run, err);
    return 0;
}

static void on_progress(void *ud, uint64_t done, uint64_t total)
{
    import_run *run = ud;
    run->bar.total = total;
    an_progress_update(&run->bar, done, (uint64_t)run->r->read);
}

static int import_path(import_run *run, const char *path, an_err *err)
{
    const an_format *fmt = NULL;
    if (run->o->format) {
        fmt = an_format_find(run->o->format);
        if (!fmt || !fmt->read)
            return an_err_set(err, AN_EINVAL, "--format",
                              "format \"%s\" cannot be imported; choose one of: ls-json, "
                              "ls-jsonl, csv, tsv, files, coco, yolo, voc, conll",
                              run->o->format);
    } else {
        int rc = an_format_sniff(path, &fmt, err);
        if (rc < 0) return rc;
    }
    an_import_sink sink = {.record = on_record, .reject = on_reject, .progress = on_progress,
                           .ud = run};
    run->file_rejects = 0;
    int64_t read_before = run->r->read;
    an_progress_start(&run->bar, path, 0, run->o->progress);
    int rc = fmt->read(path, run->cfg, &sink, err);
    an_progress_finish(&run->bar);
    if (rc < 0) {
        rollback(run);
        return rc;
    }
    if (run->o->strict && run->file_rejects) {
        rollback(run);
        int64_t good = run->r->read - read_before - run->file_rejects;
        run->r->rejected += good;
        char reason[256];
        snprintf(reason, sizeof reason,
                 "nothing from this file was imported (--strict): %lld bad record(s)",
                 (long long)run->file_rejects);
        write_reject(run, path, reason);
        return 0;
    }
    return commit(run, err);
}

int an_import(an_store *s, const an_project *p, const char *const *paths, size_t n_paths,
              const an_import_opts *opts, an_import_report *report, an_err *err)
{
    memset(report, 0, sizeof *report);
    an_config *cfg = NULL;
    int rc = an_config_parse(p->config, strlen(p->config), &cfg, err);
    if (rc < 0) return rc;

    import_run run = {.s = s, .p = p, .cfg = cfg, .o = opts, .r = report,
                      .batch_size = opts->batch_size ? opts->batch_size : 20000};
    an_buf_init(&run.text);
    double t0 = an_monotonic();

    an_buf sources;
    an_buf_init(&sources);
    for (size_t i = 0; i < n_paths; i++) {
        if (i) an_buf_addc(&sources, '\n');
        an_buf_adds(&sources, paths[i]);
    }
    rc = an_store_begin(s, err);
    if (rc == 0) {
        rc = an_store_batch_create(s, p->id, sources.p, opts->format ? opts->format : "auto",
                                   &report->batch_id, err);
        if (rc == 0)
            rc = an_store_commit(s, err);
        else
            an_store_rollback(s);
    }
    an_buf_free(&sources);

    for (size_t i = 0; rc == 0 && i < n_paths; i++) rc = import_path(&run, paths[i], err);

    if (run.rejects) {
        if (fclose(run.rejects) != 0 && rc == 0)
            rc = an_err_set(err, AN_EIO, report->rejects_path, "cannot write the rejects file");
    }
    if (run.rejects_failed && rc == 0)
        rc = an_err_set(err, AN_EIO, report->rejects_path,
                        "cannot create the rejects file %s; give a writable path with --rejects",
                        report->rejects_path);
    if (report->rejected && rc == 0) {
        /* The batch record's rejected count, in a transaction of its own. */
        if (an_store_begin(s, err) == 0) {
            if (an_store_batch_add(s, report->batch_id, 0, 0, report->rejected, err) == 0)
                an_store_commit(s, err);
            else
                an_store_rollback(s);
        }
    }
    report->seconds = an_monotonic() - t0;
    an_buf_free(&run.text);
    an_config_free(cfg);
    return rc;
}
