/* QC at submit time and in batch: loading (and caching) a project's compiled rules, gathering
 * what they compare with, storing what they find. See qc_check.h. */
#include "service/qc_check.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/json.h"
#include "store/qc.h"

/* ---- the cache of compiled rules --------------------------------------------------------------- */

/* Keyed by the document's content hash rather than by project and updated_at: equal text
 * compiles to equal rules, a document changed by another process is noticed by its text
 * alone, and two workspaces opened by one process (tests, tools) cannot confuse their
 * projects. Loading the text is one primary-key read; compiling (regexes) is what is saved. */
enum { CACHE_MAX = 32 };

typedef struct centry {
    uint8_t hash[AN_HASH_BYTES];
    an_qc_rules *rules;
    int refs;
    uint64_t used;
    bool cached; /* false: not in the table (it was full of rules in use); freed on release */
} centry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static centry *cache[CACHE_MAX];
static uint64_t cache_clock;

static centry *cache_get(const uint8_t hash[AN_HASH_BYTES])
{
    centry *found = NULL;
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_MAX && !found; i++)
        if (cache[i] && memcmp(cache[i]->hash, hash, AN_HASH_BYTES) == 0) found = cache[i];
    if (found) {
        found->refs++;
        found->used = ++cache_clock;
    }
    pthread_mutex_unlock(&cache_lock);
    return found;
}

/* Adds freshly compiled rules; returns the entry to use (another thread's, when it added the
 * same document meanwhile: then ours is freed). */
static centry *cache_put(const uint8_t hash[AN_HASH_BYTES], an_qc_rules *rules)
{
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_MAX; i++)
        if (cache[i] && memcmp(cache[i]->hash, hash, AN_HASH_BYTES) == 0) {
            cache[i]->refs++;
            cache[i]->used = ++cache_clock;
            centry *e = cache[i];
            pthread_mutex_unlock(&cache_lock);
            an_qc_rules_free(rules);
            return e;
        }
    centry *e = an_xcalloc(1, sizeof *e);
    memcpy(e->hash, hash, AN_HASH_BYTES);
    e->rules = rules;
    e->refs = 1;
    e->used = ++cache_clock;
    int slot = -1;
    for (int i = 0; i < CACHE_MAX && slot < 0; i++)
        if (!cache[i]) slot = i;
    if (slot < 0) { /* evict the least recently used entry nobody holds */
        for (int i = 0; i < CACHE_MAX; i++)
            if (cache[i]->refs == 0 && (slot < 0 || cache[i]->used < cache[slot]->used)) slot = i;
        if (slot >= 0) {
            an_qc_rules_free(cache[slot]->rules);
            free(cache[slot]);
            cache[slot] = NULL;
        }
    }
    if (slot >= 0) {
        cache[slot] = e;
        e->cached = true;
    }
    pthread_mutex_unlock(&cache_lock);
    return e;
}

static void cache_release(centry *e)
{
    if (!e) return;
    pthread_mutex_lock(&cache_lock);
    bool drop = --e->refs == 0 && !e->cached;
    pthread_mutex_unlock(&cache_lock);
    if (drop) {
        an_qc_rules_free(e->rules);
        free(e);
    }
}

/* The project's compiled rules: *out NULL when it has none. Give back with cache_release. */
static int rules_acquire(an_store *s, int64_t project_id, centry **out, an_err *err)
{
    *out = NULL;
    char *doc = NULL;
    int rc = an_store_qc_rules_get(s, project_id, &doc, NULL, err);
    if (rc || !doc) return rc;
    uint8_t h[AN_HASH_BYTES];
    size_t len = strlen(doc);
    an_hash(doc, len, h);
    centry *e = cache_get(h);
    if (!e) {
        an_qc_rules *r = NULL;
        rc = an_qc_rules_parse(doc, len, NULL, &r, err);
        if (rc) {
            char where[256];
            snprintf(where, sizeof where, "%s", err->where);
            an_err_set(err, AN_EINTERNAL, where,
                       "the stored QC rules of project %lld no longer parse (%s); set them "
                       "again with `annot qc rules PROJECT --set FILE`",
                       (long long)project_id, err->msg);
            free(doc);
            return -AN_EINTERNAL;
        }
        e = cache_put(h, r);
    }
    free(doc);
    *out = e;
    return 0;
}

/* ---- findings ------------------------------------------------------------------------------- */

void an_qc_verdict_clear(an_qc_verdict *v)
{
    an_qc_findings_clear(&v->blocking);
    an_qc_findings_clear(&v->warnings);
}

int an_qc_verdict_error(const an_qc_verdict *v, an_err *err)
{
    if (v->blocking.n == 0) return 0;
    const an_qc_finding *f = &v->blocking.items[0];
    char more[64] = "";
    if (v->blocking.n > 1)
        snprintf(more, sizeof more, " (and %zu more blocking findings)", v->blocking.n - 1);
    return an_err_set(err, AN_EINVAL, f->place, "rule \"%s\": %s; fix the annotation%s", f->rule,
                      f->message, more);
}

int an_qc_store_findings(an_store *s, const an_task *t, int64_t annotation_id,
                         int64_t annotator_id, const an_qc_findings *f, const char *origin,
                         an_err *err)
{
    if (f->n == 0) return 0;
    an_qc_finding_in *in = an_xcalloc(f->n, sizeof *in);
    for (size_t i = 0; i < f->n; i++)
        in[i] = (an_qc_finding_in){.project_id = t->project_id,
                                   .task_id = t->id,
                                   .annotation_id = annotation_id,
                                   .annotator_id = annotator_id,
                                   .rule = f->items[i].rule,
                                   .severity = an_qc_severity_name(f->items[i].severity),
                                   .place = f->items[i].place,
                                   .message = f->items[i].message,
                                   .origin = origin};
    int rc = an_store_qc_findings_add(s, in, f->n, err);
    free(in);
    return rc;
}

/* ---- what the rules compare with ------------------------------------------------------------- */

typedef struct refs {
    json_t **results;
    int64_t *annotators;
    double *scores;
    char **versions; /* predictions' model versions (NULL for annotations) */
    size_t n, cap;
} refs;

static void refs_push(refs *r, json_t *result, int64_t annotator, double score,
                      const char *version)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 8;
        r->results = an_xrealloc(r->results, r->cap * sizeof *r->results);
        r->annotators = an_xrealloc(r->annotators, r->cap * sizeof *r->annotators);
        r->scores = an_xrealloc(r->scores, r->cap * sizeof *r->scores);
        r->versions = an_xrealloc(r->versions, r->cap * sizeof *r->versions);
    }
    r->results[r->n] = result;
    r->annotators[r->n] = annotator;
    r->scores[r->n] = score;
    r->versions[r->n] = version ? an_xstrdup(version) : NULL;
    r->n++;
}

static void refs_free(refs *r)
{
    for (size_t i = 0; i < r->n; i++) {
        json_decref(r->results[i]);
        free(r->versions[i]);
    }
    free(r->results);
    free(r->annotators);
    free(r->scores);
    free(r->versions);
    memset(r, 0, sizeof *r);
}

static json_t *parse_result(const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    if (j && !json_is_array(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static int on_prediction(void *ud, const an_prediction_row *p)
{
    json_t *j = parse_result(p->result);
    if (j) refs_push(ud, j, 0, p->score, p->model_version);
    return 0;
}

typedef struct ann_ctx {
    refs *r;
    int64_t skip; /* the annotator being checked */
} ann_ctx;

/* Keeps each other annotator's latest non-cancelled annotation (the list is in id order, so a
 * later one replaces an earlier one). Annotations without an annotator count one each. */
static int on_annotation(void *ud, const an_annotation *a)
{
    ann_ctx *c = ud;
    if (a->cancelled || (a->annotator_id != 0 && a->annotator_id == c->skip)) return 0;
    json_t *j = parse_result(a->result);
    if (!j) return 0;
    for (size_t i = 0; a->annotator_id && i < c->r->n; i++)
        if (c->r->annotators[i] == a->annotator_id) {
            json_decref(c->r->results[i]);
            c->r->results[i] = j;
            return 0;
        }
    refs_push(c->r, j, a->annotator_id, NAN, NULL);
    return 0;
}

static int evaluate(const an_qc_rules *rules, const an_config *cfg, const json_t *data,
                    const json_t *result, double lead_time, const refs *preds, const refs *others,
                    an_qc_findings *out, an_err *err)
{
    an_qc_prediction *pv = an_xcalloc(preds->n + 1, sizeof *pv);
    for (size_t i = 0; i < preds->n; i++)
        pv[i] = (an_qc_prediction){preds->results[i], preds->scores[i], preds->versions[i]};
    an_qc_input in = {.cfg = cfg,
                      .data = data,
                      .result = result,
                      .lead_time = lead_time,
                      .predictions = pv,
                      .n_predictions = preds->n,
                      .references = (const json_t *const *)others->results,
                      .n_references = others->n};
    int rc = an_qc_evaluate(rules, &in, out, err);
    free(pv);
    return rc;
}

int an_qc_check_submit(an_store *s, const an_config *cfg, const an_task *t, int64_t annotator_id,
                       const json_t *result, double lead_time, an_qc_verdict *out, an_err *err)
{
    memset(out, 0, sizeof *out);
    centry *e = NULL;
    int rc = rules_acquire(s, t->project_id, &e, err);
    if (rc || !e) return rc;
    const an_qc_rules *rules = e->rules;
    refs preds = {0}, others = {0};
    json_t *data = NULL;
    if (an_qc_rules_use_predictions(rules))
        rc = an_store_prediction_list(s, t->id, on_prediction, &preds, err);
    if (!rc && an_qc_rules_use_references(rules)) {
        ann_ctx c = {&others, annotator_id};
        rc = an_store_annotation_list(s, t->id, on_annotation, &c, err);
    }
    if (!rc) {
        data = an_json_parse(t->data, t->data_len, "task.data", err);
        if (!data) rc = -AN_EINTERNAL;
    }
    an_qc_findings all = {0};
    if (!rc) rc = evaluate(rules, cfg, data, result, lead_time, &preds, &others, &all, err);
    for (size_t i = 0; i < all.n; i++) {
        const an_qc_finding *f = &all.items[i];
        an_qc_findings_add(f->severity == AN_QC_ERROR ? &out->blocking : &out->warnings, f->rule,
                           f->type, f->severity, f->place, f->message);
    }
    an_qc_findings_clear(&all);
    json_decref(data);
    refs_free(&preds);
    refs_free(&others);
    cache_release(e);
    return rc;
}

/* ---- saving a document ------------------------------------------------------------------------- */

static int project_by_id(an_store *s, int64_t id, an_project *p, an_err *err)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)id);
    int rc = an_store_project_get(s, text, p, err);
    if (!rc && p->id != id) {
        an_project_clear(p);
        rc = an_err_set(err, AN_ENOTFOUND, "project", "no project numbered %lld", (long long)id);
    }
    return rc;
}

int an_qc_rules_save(an_store *s, int64_t project_id, const char *text, size_t len,
                     int64_t user_id, an_err *err)
{
    an_project p = {0};
    int rc = project_by_id(s, project_id, &p, err);
    if (rc) return rc;
    an_config *cfg = NULL;
    rc = an_config_parse(p.config, strlen(p.config), &cfg, err);
    an_project_clear(&p);
    if (rc) return rc;
    an_qc_rules *r = NULL;
    rc = an_qc_rules_parse(text, len, cfg, &r, err);
    an_config_free(cfg);
    if (rc) return rc;
    an_qc_rules_free(r);
    /* Stored canonical, so equal documents hash (and cache) alike. */
    json_t *doc = an_json_parse(text, len, "rules", err);
    if (!doc) return -AN_EINVAL;
    char *canon = an_json_text(doc);
    json_decref(doc);
    rc = an_store_begin(s, err);
    if (!rc) {
        rc = an_store_qc_rules_set(s, project_id, canon, err);
        if (!rc) rc = an_store_audit(s, user_id, "qc_rules.update", "project", project_id, NULL, err);
        rc = an_store_end(s, rc, err);
    }
    free(canon);
    return rc;
}

/* ---- batch ------------------------------------------------------------------------------------ */

void an_qc_summary_clear(an_qc_summary *s)
{
    for (size_t i = 0; i < s->n_rules; i++)
        free(s->rules[i].rule);
    free(s->rules);
    memset(s, 0, sizeof *s);
}

static void tally(an_qc_summary *sum, const an_qc_findings *f)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->items[i].severity == AN_QC_ERROR)
            sum->errors++;
        else
            sum->warnings++;
        for (size_t k = 0; k < sum->n_rules; k++)
            if (strcmp(sum->rules[k].rule, f->items[i].rule) == 0) sum->rules[k].findings++;
    }
}

/* Findings wait in a temporary file as JSON lines [task, annotation, annotator, rule,
 * severity, place, message] until the read is over. */
static int spill(FILE *tmp, int64_t task, int64_t annotation, int64_t annotator,
                 const an_qc_findings *f, an_err *err)
{
    for (size_t i = 0; i < f->n; i++) {
        const an_qc_finding *x = &f->items[i];
        json_t *line = json_pack("[I,I,I,s,s,s,s]", (json_int_t)task, (json_int_t)annotation,
                                 (json_int_t)annotator, x->rule, an_qc_severity_name(x->severity),
                                 x->place, x->message);
        char *text = an_json_text(line);
        json_decref(line);
        int ok = fputs(text, tmp) >= 0 && fputc('\n', tmp) != EOF;
        free(text);
        if (!ok)
            return an_err_set(err, AN_EIO, "tmpfile",
                              "cannot write QC findings to a temporary file; check the space "
                              "in the temporary folder");
    }
    return 0;
}

int an_qc_run_project(an_store *s, int64_t project_id, an_progress *progress,
                      an_qc_summary *summary, an_err *err)
{
    memset(summary, 0, sizeof *summary);
    an_project p = {0};
    int rc = project_by_id(s, project_id, &p, err);
    if (rc) return rc;
    an_config *cfg = NULL;
    rc = an_config_parse(p.config, strlen(p.config), &cfg, err);
    an_project_clear(&p);
    if (rc) return rc;
    centry *e = NULL;
    if ((rc = rules_acquire(s, project_id, &e, err))) {
        an_config_free(cfg);
        return rc;
    }
    const an_qc_rules *rules = e ? e->rules : NULL;
    size_t nr = an_qc_rules_count(rules);
    summary->rules = an_xcalloc(nr + 1, sizeof *summary->rules);
    for (size_t i = 0; i < nr; i++)
        summary->rules[summary->n_rules++] =
            (an_qc_rule_tally){an_xstrdup(an_qc_rule_id(rules, i)), an_qc_rule_type(rules, i),
                               an_qc_rule_severity(rules, i), 0};
    FILE *tmp = NULL;
    if (nr) {
        tmp = tmpfile();
        if (!tmp)
            rc = an_err_set(err, AN_EIO, "tmpfile",
                            "cannot create a temporary file for the findings; check TMPDIR");
    }
    an_task_iter *it = NULL;
    if (!rc && nr) {
        unsigned flags = AN_ITER_ANNOTATIONS;
        if (an_qc_rules_use_predictions(rules)) flags |= AN_ITER_PREDICTIONS;
        rc = an_store_tasks_open(s, project_id, flags, &it, err);
    }
    const an_task_row *row;
    while (!rc && it && (rc = an_task_iter_next(it, &row, err)) == 1) {
        rc = 0;
        summary->tasks++;
        json_t *data = json_loadb(row->data, row->data_len, 0, NULL);
        refs preds = {0}, latest = {0};
        int64_t *ann_ids = an_xcalloc(row->n_annotations + 1, sizeof *ann_ids);
        double *leads = an_xcalloc(row->n_annotations + 1, sizeof *leads);
        for (size_t i = 0; i < row->n_predictions; i++) {
            json_t *j = parse_result(row->predictions[i].result);
            if (j)
                refs_push(&preds, j, 0, row->predictions[i].score,
                          row->predictions[i].model_version);
        }
        for (size_t i = 0; i < row->n_annotations; i++) {
            const an_annotation_row *a = &row->annotations[i];
            if (a->cancelled) continue;
            json_t *j = parse_result(a->result);
            if (!j) continue;
            size_t k = 0;
            while (a->annotator_id && k < latest.n && latest.annotators[k] != a->annotator_id)
                k++;
            if (a->annotator_id && k < latest.n) {
                json_decref(latest.results[k]);
                latest.results[k] = j;
            } else {
                k = latest.n;
                refs_push(&latest, j, a->annotator_id, NAN, NULL);
            }
            ann_ids[k] = a->id;
            leads[k] = a->lead_time;
        }
        json_t **others = an_xcalloc(latest.n + 1, sizeof *others);
        for (size_t i = 0; i < latest.n && !rc; i++) {
            size_t m = 0;
            for (size_t k = 0; k < latest.n; k++)
                if (k != i) others[m++] = latest.results[k];
            refs o = {.results = others, .n = m};
            an_qc_findings f = {0};
            rc = evaluate(rules, cfg, data, latest.results[i], leads[i], &preds, &o, &f, err);
            if (!rc) rc = spill(tmp, row->id, ann_ids[i], latest.annotators[i], &f, err);
            if (!rc) tally(summary, &f);
            summary->annotations++;
            an_qc_findings_clear(&f);
        }
        free(others);
        free(ann_ids);
        free(leads);
        refs_free(&preds);
        refs_free(&latest);
        json_decref(data);
        if (progress) an_progress_update(progress, (uint64_t)summary->tasks, (uint64_t)summary->annotations);
    }
    if (it) an_task_iter_close(it);
    if (rc > 0) rc = 0;
    cache_release(e);
    an_config_free(cfg);

    /* The write: old batch findings out, new ones in, at once. */
    if (!rc) rc = an_store_begin(s, err);
    if (!rc) {
        rc = an_store_qc_findings_delete(s, project_id, AN_QC_ORIGIN_BATCH, NULL, err);
        if (!rc && tmp) {
            rewind(tmp);
            char *line = NULL;
            size_t cap = 0;
            enum { CHUNK = 512 };
            an_qc_finding_in chunk[CHUNK];
            json_t *held[CHUNK];
            size_t n = 0;
            ssize_t got;
            while (!rc && (got = getline(&line, &cap, tmp)) > 0) {
                json_t *j = json_loadb(line, (size_t)got, 0, NULL);
                if (!j) {
                    rc = an_err_set(err, AN_EIO, "tmpfile",
                                    "the temporary file of findings was damaged; run again");
                    break;
                }
                held[n] = j;
                chunk[n] = (an_qc_finding_in){
                    .project_id = project_id,
                    .task_id = json_integer_value(json_array_get(j, 0)),
                    .annotation_id = json_integer_value(json_array_get(j, 1)),
                    .annotator_id = json_integer_value(json_array_get(j, 2)),
                    .rule = json_string_value(json_array_get(j, 3)),
                    .severity = json_string_value(json_array_get(j, 4)),
                    .place = json_string_value(json_array_get(j, 5)),
                    .message = json_string_value(json_array_get(j, 6)),
                    .origin = AN_QC_ORIGIN_BATCH};
                if (++n == CHUNK) {
                    rc = an_store_qc_findings_add(s, chunk, n, err);
                    for (size_t i = 0; i < n; i++)
                        json_decref(held[i]);
                    n = 0;
                }
            }
            if (!rc && n) rc = an_store_qc_findings_add(s, chunk, n, err);
            for (size_t i = 0; i < n; i++)
                json_decref(held[i]);
            free(line);
        }
        rc = an_store_end(s, rc, err);
    }
    if (tmp) fclose(tmp);
    if (progress) an_progress_finish(progress);
    return rc;
}
