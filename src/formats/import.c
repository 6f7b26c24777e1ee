/* The import engine: connects a format's reader to the store (see import.h).
 *
 * Two threads share the work. The calling thread runs the format's reader and does
 * everything that needs no database: parsing, validation against the config, canonical JSON
 * text, content hashes, label lists. It hands each record, flattened into one buffer, to a
 * writer thread through a bounded queue; the writer owns the store handle for the duration
 * and does only inserts and commits. On two cores this roughly doubles the rate, and the
 * queue's bounds keep memory flat. */
#include "formats/import.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/progress.h"
#include "base/queue.h"
#include "comply/ledger.h"
#include "comply/provenance.h"
#include "formats/format.h"
#include "model/config.h"
#include "model/validate.h"

#define MAX_LABELS_PER_RESULT 4096
#define DEFAULT_BATCH 100000
#define QUEUE_CHUNKS 16
#define QUEUE_BYTES (16u << 20)
#define NONE SIZE_MAX /* an absent optional string in a prepared record */

/* ---- prepared records -------------------------------------------------------------------
 * Records travel to the writer in chunks of a few hundred: one queue hand-off, one arena and
 * a few arrays per chunk rather than per record, so the two threads rarely meet on a lock
 * and the allocator sees few, large blocks. Strings are offsets into the chunk's arena. */

#define CHUNK_RECORDS 512
#define CHUNK_BYTES (1u << 20)

typedef struct prep_ann {
    size_t result, created, updated;
    size_t labels, n_labels; /* labels: index of the first (from_name, label) offset pair */
    int64_t annotator;
    double lead_time;
    bool ground_truth, cancelled;
    uint8_t hash[AN_HASH_BYTES]; /* of the result text, for the ledger's import entry */
} prep_ann;

typedef struct prep_pred {
    size_t result, model_version, created;
    double score;
} prep_pred;

typedef struct prep_rec {
    uint8_t hash[AN_HASH_BYTES];
    size_t where, data, data_len, meta, created, updated;
    size_t ann, n_ann, pred, n_pred; /* ranges in the chunk's arrays */
    size_t prov_source, prov_licence, prov_auth; /* provenance fields, NONE when absent */
    bool has_prov;
    bool flagged; /* the licence policy flagged it */
} prep_rec;

typedef struct chunk {
    an_buf arena;
    prep_rec *recs;
    size_t n_recs, cap_recs;
    prep_ann *anns;
    size_t n_anns, cap_anns;
    prep_pred *preds;
    size_t n_preds, cap_preds;
    size_t *label_offs; /* pairs of arena offsets */
    size_t n_label_offs, cap_label_offs;
    bool file_end; /* after these records: commit, or roll back when discard */
    bool discard;
    bool stop; /* the last chunk */
} chunk;

/* Grows *arr (of elem-size elements, *cap of them) to hold need. */
static void *grow(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return arr;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    *cap = c;
    return an_xrealloc(arr, c * elem);
}

static size_t arena_add(an_buf *a, const char *s, size_t len)
{
    size_t off = a->len;
    an_buf_add(a, s, len);
    an_buf_addc(a, '\0');
    return off;
}

static size_t arena_str(an_buf *a, const char *s)
{
    return s ? arena_add(a, s, strlen(s)) : NONE;
}

static size_t arena_json(an_buf *a, const json_t *j)
{
    size_t off = a->len;
    an_json_write(a, j);
    an_buf_addc(a, '\0');
    return off;
}

static const char *at(const chunk *c, size_t off)
{
    return off == NONE ? NULL : c->arena.p + off;
}

static chunk *chunk_new(void)
{
    chunk *c = an_xcalloc(1, sizeof *c);
    an_buf_init(&c->arena);
    return c;
}

static void chunk_free(chunk *c)
{
    free(c->recs);
    free(c->anns);
    free(c->preds);
    free(c->label_offs);
    an_buf_free(&c->arena);
    free(c);
}

static size_t chunk_bytes(const chunk *c)
{
    return sizeof *c + c->arena.cap + c->cap_recs * sizeof *c->recs +
           c->cap_anns * sizeof *c->anns + c->cap_preds * sizeof *c->preds +
           c->cap_label_offs * sizeof *c->label_offs;
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

/* Appends a validated record to chunk c, with its provenance (may be NULL). */
static void chunk_add(chunk *c, const an_record *rec, const an_provenance *prov, bool flagged)
{
    an_buf *a = &c->arena;
    c->recs = grow(c->recs, &c->cap_recs, c->n_recs + 1, sizeof *c->recs);
    prep_rec *p = &c->recs[c->n_recs++];
    p->where = arena_str(a, rec->where ? rec->where : "?");
    p->data = a->len;
    an_json_write(a, rec->data);
    p->data_len = a->len - p->data;
    an_buf_addc(a, '\0');
    an_hash(a->p + p->data, p->data_len, p->hash);
    p->meta = rec->meta && json_object_size(rec->meta) ? arena_json(a, rec->meta) : NONE;
    p->created = arena_str(a, rec->created_at);
    p->updated = arena_str(a, rec->updated_at);
    p->has_prov = prov != NULL || flagged;
    p->flagged = flagged;
    p->prov_source = arena_str(a, prov ? prov->source : NULL);
    p->prov_licence = arena_str(a, prov ? prov->licence : NULL);
    p->prov_auth = arena_str(a, prov ? prov->authorisation : NULL);

    p->ann = c->n_anns;
    p->n_ann = rec->annotations ? json_array_size(rec->annotations) : 0;
    c->anns = grow(c->anns, &c->cap_anns, c->n_anns + p->n_ann, sizeof *c->anns);
    an_label_use uses[MAX_LABELS_PER_RESULT];
    for (size_t i = 0; i < p->n_ann; i++) {
        const json_t *j = json_array_get(rec->annotations, i);
        const json_t *result = json_object_get(j, "result");
        prep_ann *pa = &c->anns[c->n_anns++];
        pa->result = arena_json(a, result);
        an_hash(a->p + pa->result, strlen(a->p + pa->result), pa->hash);
        pa->created = arena_str(a, an_json_str(j, "created_at"));
        pa->updated = arena_str(a, an_json_str(j, "updated_at"));
        pa->annotator = annotator_of(j);
        pa->lead_time = opt_num(j, "lead_time");
        pa->ground_truth = json_is_true(json_object_get(j, "ground_truth"));
        pa->cancelled = json_is_true(json_object_get(j, "was_cancelled"));
        size_t n = an_result_labels(result, uses, MAX_LABELS_PER_RESULT);
        pa->labels = c->n_label_offs / 2;
        pa->n_labels = n;
        c->label_offs = grow(c->label_offs, &c->cap_label_offs, c->n_label_offs + 2 * n,
                             sizeof *c->label_offs);
        for (size_t k = 0; k < n; k++) {
            c->label_offs[c->n_label_offs++] = arena_str(a, uses[k].from_name);
            c->label_offs[c->n_label_offs++] = arena_str(a, uses[k].label);
        }
    }
    p->pred = c->n_preds;
    p->n_pred = rec->predictions ? json_array_size(rec->predictions) : 0;
    c->preds = grow(c->preds, &c->cap_preds, c->n_preds + p->n_pred, sizeof *c->preds);
    for (size_t i = 0; i < p->n_pred; i++) {
        const json_t *j = json_array_get(rec->predictions, i);
        prep_pred *pp = &c->preds[c->n_preds++];
        pp->result = arena_json(a, json_object_get(j, "result"));
        const char *mv = an_json_str(j, "model_version");
        pp->model_version = arena_str(a, mv ? mv : "");
        pp->created = arena_str(a, an_json_str(j, "created_at"));
        pp->score = opt_num(j, "score");
    }
}

/* ---- the run ------------------------------------------------------------------------- */

/* Counters of the writer's open transaction: they reach the report only when it commits. */
typedef struct pending {
    int64_t added, duplicates, annotations, predictions, tasks, flagged;
} pending;

typedef struct import_run {
    an_store *s;
    const an_project *p;
    const an_config *cfg;
    const an_import_opts *o;
    an_import_report *r;
    size_t batch_size;
    const an_licence_policy *policy; /* NULL: none */

    an_queue q;
    atomic_int failed; /* set by the writer when the store fails */
    an_err werr;       /* the writer's error */

    /* writer side */
    bool in_txn;
    pending pend;
    int64_t known_users[64]; /* annotator ids already ensured */
    size_t n_known_users;
    /* What the ledger's entry for the open transaction covers: (task id, content hash) and
     * (annotation id, result hash) in id order, and the task id range. */
    an_ledger_digest task_digest, ann_digest;
    int64_t first_task, last_task;

    /* reader side */
    int64_t file_rejects; /* bad records in the current file */
    FILE *rejects;
    bool rejects_failed; /* the rejects file could not be created */
    an_progress bar;
    chunk *cur; /* records not yet handed to the writer */
} import_run;

/* ---- writer thread ------------------------------------------------------------------- */

static int begin(import_run *run, an_err *err)
{
    if (run->in_txn) return 0;
    int rc = an_store_begin(run->s, err);
    if (rc < 0) return rc;
    run->in_txn = true;
    memset(&run->pend, 0, sizeof run->pend);
    an_ledger_digest_init(&run->task_digest);
    an_ledger_digest_init(&run->ann_digest);
    run->first_task = run->last_task = 0;
    return 0;
}

/* The ledger entry of the open transaction: one per commit, whatever its size. */
static int ledger_entry(import_run *run, an_err *err)
{
    uint8_t td[AN_LEDGER_HASH_BYTES], ad[AN_LEDGER_HASH_BYTES];
    char th[2 * AN_LEDGER_HASH_BYTES + 1], ah[2 * AN_LEDGER_HASH_BYTES + 1];
    an_ledger_digest_final(&run->task_digest, td);
    an_ledger_digest_final(&run->ann_digest, ad);
    an_ledger_hex(td, sizeof td, th);
    an_ledger_hex(ad, sizeof ad, ah);
    json_t *body = json_pack("{s:I,s:I,s:I,s:I,s:s,s:I,s:s,s:I}", "batch",
                             (json_int_t)run->r->batch_id, "tasks", (json_int_t)run->pend.added,
                             "first_task", (json_int_t)run->first_task, "last_task",
                             (json_int_t)run->last_task, "task_digest", th, "annotations",
                             (json_int_t)run->pend.annotations, "annotation_digest", ah,
                             "predictions", (json_int_t)run->pend.predictions);
    if (run->pend.flagged)
        json_object_set_new(body, "licence_flagged", json_integer(run->pend.flagged));
    int rc = an_ledger_append(run->s, "import", run->p->id, body, NULL, 0, err);
    json_decref(body);
    return rc;
}

static void rollback(import_run *run)
{
    if (!run->in_txn) return;
    an_store_rollback(run->s);
    run->in_txn = false;
}

static int commit(import_run *run, an_err *err)
{
    if (!run->in_txn) return 0;
    int rc = an_store_batch_add(run->s, run->r->batch_id, run->pend.added, run->pend.duplicates,
                                0, err);
    if (rc == 0 && run->pend.added) rc = ledger_entry(run, err);
    if (rc == 0) rc = an_store_commit(run->s, err);
    if (rc < 0) {
        rollback(run);
        return rc;
    }
    run->in_txn = false;
    run->r->added += run->pend.added;
    run->r->duplicates += run->pend.duplicates;
    run->r->annotations += run->pend.annotations;
    run->r->predictions += run->pend.predictions;
    run->r->licence_flagged += run->pend.flagged;
    return 0;
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

static int write_rec(import_run *run, const chunk *c, const prep_rec *p, an_err *err)
{
    int rc = begin(run, err);
    if (rc < 0) return rc;
    an_task_in t = {.project_id = run->p->id,
                    .batch_id = run->r->batch_id,
                    .data = at(c, p->data),
                    .data_len = p->data_len,
                    .meta = at(c, p->meta),
                    .created_at = at(c, p->created),
                    .updated_at = at(c, p->updated)};
    memcpy(t.hash, p->hash, sizeof t.hash);
    int64_t task_id = 0;
    if ((rc = an_store_task_insert(run->s, &t, &task_id, err)) < 0) return rc;
    if (task_id == 0) { /* already in the project: skip it with its annotations */
        run->pend.duplicates++;
        return 0;
    }
    run->pend.added++;
    an_ledger_digest_add(&run->task_digest, task_id, p->hash);
    if (!run->first_task) run->first_task = task_id;
    run->last_task = task_id;
    if (p->has_prov) {
        an_provenance prov = {.source = at(c, p->prov_source),
                              .licence = at(c, p->prov_licence),
                              .authorisation = at(c, p->prov_auth),
                              .detail = p->flagged ? "{\"policy\":\"flagged\"}" : NULL};
        if ((rc = an_store_provenance_set(run->s, task_id, &prov, err)) < 0) return rc;
        if (p->flagged) run->pend.flagged++;
    }

    an_label_ref labels[MAX_LABELS_PER_RESULT];
    for (size_t i = p->ann; i < p->ann + p->n_ann; i++) {
        const prep_ann *pa = &c->anns[i];
        if ((rc = ensure_annotator(run, pa->annotator, err)) < 0) return rc;
        for (size_t k = 0; k < pa->n_labels; k++) {
            labels[k].from_name = at(c, c->label_offs[2 * (pa->labels + k)]);
            labels[k].label = at(c, c->label_offs[2 * (pa->labels + k) + 1]);
        }
        an_annotation_in in = {.task_id = task_id,
                               .project_id = run->p->id,
                               .annotator_id = pa->annotator,
                               .result = at(c, pa->result),
                               .lead_time = pa->lead_time,
                               .ground_truth = pa->ground_truth,
                               .cancelled = pa->cancelled,
                               .created_at = at(c, pa->created),
                               .updated_at = at(c, pa->updated),
                               .labels = labels,
                               .n_labels = pa->n_labels};
        int64_t id;
        if ((rc = an_store_annotation_insert(run->s, &in, &id, err)) < 0) return rc;
        an_ledger_digest_add(&run->ann_digest, id, pa->hash);
        run->pend.annotations++;
    }
    for (size_t i = p->pred; i < p->pred + p->n_pred; i++) {
        const prep_pred *pp = &c->preds[i];
        an_prediction_in in = {.task_id = task_id,
                               .project_id = run->p->id,
                               .model_version = at(c, pp->model_version),
                               .score = pp->score,
                               .result = at(c, pp->result),
                               .created_at = at(c, pp->created)};
        int64_t id;
        if ((rc = an_store_prediction_insert(run->s, &in, &id, err)) < 0) return rc;
        run->pend.predictions++;
    }
    return 0;
}

static int write_chunk(import_run *run, const chunk *c, an_err *err)
{
    for (size_t i = 0; i < c->n_recs; i++) {
        int rc = write_rec(run, c, &c->recs[i], err);
        if (rc < 0) {
            an_err_prefix_where(err, at(c, c->recs[i].where));
            return rc;
        }
        if (!run->o->strict && ++run->pend.tasks >= (int64_t)run->batch_size &&
            (rc = commit(run, err)) < 0)
            return rc;
    }
    if (c->file_end && c->discard) {
        rollback(run);
        return 0;
    }
    return c->file_end || c->stop ? commit(run, err) : 0;
}

static void *writer_main(void *arg)
{
    import_run *run = arg;
    for (;;) {
        chunk *c = an_queue_pop(&run->q);
        bool stop = c->stop;
        /* After a failure, keep taking chunks so the reader never blocks on a full queue. */
        if (!atomic_load(&run->failed) && write_chunk(run, c, &run->werr) < 0) {
            rollback(run);
            atomic_store(&run->failed, 1);
        }
        chunk_free(c);
        if (stop) break;
    }
    return NULL;
}

/* ---- reader side ----------------------------------------------------------------------- */

static int write_reject(import_run *run, const char *where, const char *reason)
{
    if (!run->rejects) {
        if (!run->r->rejects_path[0])
            snprintf(run->r->rejects_path, sizeof run->r->rejects_path, "%s",
                     run->o->rejects_path ? run->o->rejects_path : "");
        if (!run->r->rejects_path[0])
            snprintf(run->r->rejects_path, sizeof run->r->rejects_path,
                     "annot-rejects-%lld.jsonl", (long long)run->r->batch_id);
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
    char where[512];
    snprintf(where, sizeof where, "%s%s%s%s", rec_where ? rec_where : "?",
             (prefix[0] || verr->where[0]) ? ": " : "", prefix, verr->where);
    run->r->rejected++;
    run->file_rejects++;
    write_reject(run, where, verr->msg);
    return 0;
}

/* Checks every annotation and prediction of a record; on the first bad one fills verr, and
 * prefix with its place in the record. */
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

/* Hands the current chunk to the writer and starts a new one. */
static void send(import_run *run)
{
    an_queue_push(&run->q, run->cur, chunk_bytes(run->cur));
    run->cur = chunk_new();
}

/* Reader callback: one good record. */
static int on_record(void *ud, const an_record *rec, an_err *err)
{
    import_run *run = ud;
    if (atomic_load(&run->failed))
        return an_err_set(err, AN_EINTERNAL, "", "the import stopped after a store error");
    run->r->read++;
    an_err verr;
    an_err_clear(&verr);
    char prefix[64] = "";
    if (an_validate_task_data(run->cfg, rec->data, &verr) < 0)
        return reject_invalid(run, rec->where, "", &verr);
    if (check_results(run, rec, prefix, sizeof prefix, &verr) < 0)
        return reject_invalid(run, rec->where, prefix, &verr);

    an_provenance prov;
    bool has_prov = an_provenance_of_record(rec->data, rec->meta, &prov);
    bool flagged = false;
    if (run->policy && !an_licence_allowed(run->policy, prov.licence)) {
        if (an_licence_policy_action(run->policy) == AN_LICENCE_REFUSE) {
            char allowed[256];
            an_licence_policy_describe(run->policy, allowed, sizeof allowed);
            if (prov.licence)
                an_err_set(&verr, AN_EINVAL, "licence",
                           "licence \"%s\" is not allowed by the project's licence policy "
                           "(allowed: %s)",
                           prov.licence, allowed);
            else
                an_err_set(&verr, AN_EINVAL, "licence",
                           "no licence given (a \"licence\" field in data or meta); the "
                           "project's licence policy allows only: %s",
                           allowed);
            return reject_invalid(run, rec->where, "", &verr);
        }
        flagged = true;
    }

    /* In strict mode a file with a bad record adds nothing: keep reading to report every
     * bad record, but send nothing more to the writer. */
    if (run->o->strict && run->file_rejects) return 0;
    chunk_add(run->cur, rec, has_prov ? &prov : NULL, flagged);
    if (run->cur->n_recs >= CHUNK_RECORDS || run->cur->arena.len >= CHUNK_BYTES) send(run);
    return 0;
}

static void on_progress(void *ud, uint64_t done, uint64_t total)
{
    import_run *run = ud;
    run->bar.total = total;
    an_progress_update(&run->bar, done, (uint64_t)run->r->read);
}

static void push_file_end(import_run *run, bool discard)
{
    run->cur->file_end = true;
    run->cur->discard = discard;
    send(run);
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
        push_file_end(run, true); /* records since the last commit are dropped */
        return rc;
    }
    bool discard = run->o->strict && run->file_rejects;
    push_file_end(run, discard);
    if (discard) {
        run->r->rejected += run->r->read - read_before - run->file_rejects;
        char reason[256];
        snprintf(reason, sizeof reason,
                 "nothing from this file was imported (--strict): %lld bad record(s)",
                 (long long)run->file_rejects);
        write_reject(run, path, reason);
    }
    return 0;
}

static int create_batch(an_store *s, const an_project *p, const char *const *paths, size_t n,
                        const char *format, int64_t *id, an_err *err)
{
    an_buf sources;
    an_buf_init(&sources);
    for (size_t i = 0; i < n; i++) {
        if (i) an_buf_addc(&sources, '\n');
        an_buf_adds(&sources, paths[i]);
    }
    int rc = an_store_begin(s, err);
    if (rc == 0) {
        rc = an_store_batch_create(s, p->id, sources.p, format ? format : "auto", id, err);
        rc = an_store_end(s, rc, err);
    }
    an_buf_free(&sources);
    return rc;
}

int an_import(an_store *s, const an_project *p, const char *const *paths, size_t n_paths,
              const an_import_opts *opts, an_import_report *report, an_err *err)
{
    memset(report, 0, sizeof *report);
    an_licence_policy *policy = NULL;
    int rc = an_licence_policy_parse(p->settings, &policy, err);
    if (rc < 0) return rc;
    an_config *cfg = NULL;
    rc = an_config_parse(p->config, strlen(p->config), &cfg, err);
    if (rc < 0) {
        an_licence_policy_free(policy);
        return rc;
    }
    double t0 = an_monotonic();
    rc = create_batch(s, p, paths, n_paths, opts->format, &report->batch_id, err);
    if (rc < 0) {
        an_licence_policy_free(policy);
        an_config_free(cfg);
        return rc;
    }

    import_run run = {.s = s, .p = p, .cfg = cfg, .o = opts, .r = report,
                      .batch_size = opts->batch_size ? opts->batch_size : DEFAULT_BATCH,
                      .policy = policy};
    atomic_init(&run.failed, 0);
    an_err_clear(&run.werr);
    an_queue_init(&run.q, QUEUE_CHUNKS, QUEUE_BYTES);
    run.cur = chunk_new();
    pthread_t writer;
    if (pthread_create(&writer, NULL, writer_main, &run) != 0) {
        an_queue_destroy(&run.q);
        an_licence_policy_free(policy);
        an_config_free(cfg);
        return an_err_set(err, AN_EINTERNAL, "", "cannot start the import's writer thread");
    }

    for (size_t i = 0; rc == 0 && i < n_paths; i++) rc = import_path(&run, paths[i], err);
    run.cur->stop = true;
    send(&run);
    chunk_free(run.cur); /* the empty chunk send() started */
    pthread_join(writer, NULL);
    an_queue_destroy(&run.q);
    if (atomic_load(&run.failed)) {
        /* The store's error explains a reader stopped by it. */
        *err = run.werr;
        rc = -run.werr.code;
    }

    if (run.rejects && fclose(run.rejects) != 0 && rc == 0)
        rc = an_err_set(err, AN_EIO, report->rejects_path, "cannot write the rejects file");
    if (run.rejects_failed && rc == 0)
        rc = an_err_set(err, AN_EIO, report->rejects_path,
                        "cannot create the rejects file %s; give a writable path with --rejects",
                        report->rejects_path);
    if (rc == 0 && (rc = an_store_begin(s, err)) == 0) {
        /* The batch record's rejected count and the audit entry, in a transaction of their
         * own. */
        if (report->rejected)
            rc = an_store_batch_add(s, report->batch_id, 0, 0, report->rejected, err);
        if (rc == 0) {
            char detail[256];
            snprintf(detail, sizeof detail,
                     "{\"batch\":%lld,\"added\":%lld,\"duplicates\":%lld,\"rejected\":%lld,"
                     "\"licence_flagged\":%lld}",
                     (long long)report->batch_id, (long long)report->added, (long long)report->duplicates,
                     (long long)report->rejected, (long long)report->licence_flagged);
            rc = an_store_audit(s, 0, "import", "project", p->id, detail, err);
        }
        rc = an_store_end(s, rc, err);
    }
    report->seconds = an_monotonic() - t0;
    an_licence_policy_free(policy);
    an_config_free(cfg);
    return rc;
}
