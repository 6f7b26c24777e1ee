/* annot embeddings PROJECT --field F (--npy FILE --jsonl FILE | --from-data) [--dtype f32|f16]:
 * stores embeddings of a project's tasks compactly (store/embeddings.h).
 *
 * --npy/--jsonl: the LAION layout, a matrix with one row per record of the JSONL file the
 * tasks were imported from. Each record is matched to its task by the content hash import
 * gave it (so duplicates skipped at import and the order of tasks do not matter); row i goes
 * with record i. --from-data: the task data's own field F, a list of numbers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/json.h"
#include "cli/cli.h"
#include "formats/format.h"
#include "formats/npy.h"
#include "model/config.h"
#include "store/embeddings.h"

static const char usage[] =
    "usage: annot embeddings PROJECT --field NAME (--npy FILE.npy --jsonl FILE.jsonl |\n"
    "                        --from-data) [--dtype f32|f16] [--json]\n\n"
    "Stores an embedding per task under NAME, as float32 or float16 (default) blobs.\n"
    "  --npy, --jsonl  row i of the matrix belongs to record i of the JSONL file the tasks\n"
    "                  were imported from (matched by content, so order and duplicates do\n"
    "                  not matter)\n"
    "  --from-data     the task data's field NAME, a list of numbers\n";

enum { BATCH = 10000 };

typedef struct loader {
    an_store *s;
    int64_t project_id;
    const char *field;
    an_emb_dtype dtype;
    an_npy npy;
    float *row;
    an_buf text;
    int64_t records, stored, unmatched, in_tx;
    an_err *err;
} loader;

static int flush(loader *l, bool end)
{
    if (l->in_tx && (end || l->in_tx >= BATCH)) {
        l->in_tx = 0;
        return an_store_commit(l->s, l->err);
    }
    return 0;
}

/* Record i of the JSONL: take matrix row i, and store it when the record's task exists. */
static int on_record(void *ud, const an_record *rec, an_err *err)
{
    loader *l = ud;
    int rc = an_npy_row(&l->npy, l->row, err);
    if (rc == 0)
        return an_err_set(err, AN_EINVAL, rec->where,
                          "the matrix has %llu rows but the JSONL file has more records; they "
                          "must correspond one to one",
                          (unsigned long long)l->npy.rows);
    if (rc < 0) return rc;
    l->records++;
    an_buf_reset(&l->text);
    an_json_write(&l->text, rec->data);
    uint8_t h[AN_HASH_BYTES];
    an_hash(l->text.p, l->text.len, h);
    int64_t id = 0;
    if ((rc = an_store_task_by_hash(l->s, l->project_id, h, &id, err)) < 0) return rc;
    if (!id) {
        l->unmatched++;
        return 0;
    }
    if (!l->in_tx && (rc = an_store_begin(l->s, err)) < 0) return rc;
    l->in_tx++;
    rc = an_store_embedding_put(l->s, id, l->field, l->dtype, l->row, l->npy.dim, err);
    if (rc < 0) return rc;
    l->stored++;
    return flush(l, false);
}

/* A record the reader could not read still has its matrix row: skip it. */
static int on_reject(void *ud, const char *where, const char *reason)
{
    loader *l = ud;
    fprintf(stderr, "annot: skipping %s: %s\n", where, reason);
    an_err e;
    return an_npy_row(&l->npy, l->row, &e) == 1 ? 0 : -AN_EINVAL;
}

static int load_npy(cli *c, loader *l, const an_project *p, const char *npy, const char *jsonl)
{
    an_err *e = l->err;
    an_config *cfg = NULL;
    if (an_config_parse(p->config, strlen(p->config), &cfg, e) < 0) return cli_fail(c, e);
    if (an_npy_open(npy, &l->npy, e) < 0) {
        an_config_free(cfg);
        return cli_fail(c, e);
    }
    l->row = an_xmalloc((size_t)l->npy.dim * sizeof *l->row);
    an_buf_init(&l->text);
    const an_format *f = an_format_find("ls-jsonl");
    an_import_sink sink = {.record = on_record, .reject = on_reject, .ud = l};
    int rc = f->read(jsonl, cfg, &sink, e);
    an_config_free(cfg);
    if (rc == 0 && l->npy.next_row != l->npy.rows)
        rc = an_err_set(e, AN_EINVAL, npy,
                        "the matrix has %llu rows but the JSONL file only %llu records; they "
                        "must correspond one to one",
                        (unsigned long long)l->npy.rows, (unsigned long long)l->npy.next_row);
    if (rc == 0)
        rc = flush(l, true);
    else if (l->in_tx)
        an_store_rollback(l->s);
    an_buf_free(&l->text);
    return rc < 0 ? cli_fail(c, e) : 0;
}

/* --from-data: tasks are read through one handle and written through another (a handle's
 * task stream holds a read transaction). */
static int load_data(cli *c, loader *l)
{
    an_err *e = l->err;
    an_store *w = NULL;
    if (an_store_open(c->db, &w, e) < 0) return cli_fail(c, e);
    an_task_iter *it = NULL;
    int rc = an_store_tasks_open(l->s, l->project_id, 0, &it, e);
    size_t cap = 0;
    float *vec = NULL;
    const an_task_row *row;
    while (rc == 0 && (rc = an_task_iter_next(it, &row, e)) == 1) {
        rc = 0;
        json_t *d = json_loadb(row->data, row->data_len, 0, NULL);
        json_t *v = json_object_get(d, l->field);
        size_t n = json_array_size(v);
        bool ok = n > 0;
        if (n > cap) vec = an_xrealloc(vec, (cap = n) * sizeof *vec);
        for (size_t i = 0; ok && i < n; i++) {
            double x;
            ok = an_json_number(json_array_get(v, i), &x) && isfinite(x);
            if (ok) vec[i] = (float)x;
        }
        json_decref(d);
        l->records++;
        if (!ok) {
            l->unmatched++;
            continue;
        }
        if (!l->in_tx && (rc = an_store_begin(w, e)) < 0) break;
        l->in_tx++;
        if ((rc = an_store_embedding_put(w, row->id, l->field, l->dtype, vec, (uint32_t)n, e)))
            break;
        l->stored++;
        if (l->in_tx >= BATCH) {
            l->in_tx = 0;
            rc = an_store_commit(w, e);
        }
    }
    an_task_iter_close(it);
    if (rc == 0 && l->in_tx) rc = an_store_commit(w, e);
    if (rc < 0 && l->in_tx) an_store_rollback(w);
    an_store_close(w);
    free(vec);
    return rc < 0 ? cli_fail(c, e) : 0;
}

int cmd_embeddings(cli *c, int argc, char **argv)
{
    const char *project = NULL, *field = NULL, *npy = NULL, *jsonl = NULL, *dtype = "f16", *v;
    bool from_data = false, missing = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            c->json = true;
        } else if (strcmp(argv[i], "--from-data") == 0) {
            from_data = true;
        } else if ((v = cli_opt_value(argc, argv, &i, "--field", &missing))) {
            field = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--npy", &missing))) {
            npy = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--jsonl", &missing))) {
            jsonl = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--dtype", &missing))) {
            dtype = v;
        } else if (missing) {
            return cli_usage(c, "embeddings", "%s needs a value", argv[i]);
        } else if (argv[i][0] == '-' || project) {
            return cli_usage(c, "embeddings", "unexpected argument %s", argv[i]);
        } else {
            project = argv[i];
        }
    }
    if (!project || !field) return cli_usage(c, "embeddings", "give PROJECT and --field NAME");
    if (from_data == (npy || jsonl) || (!from_data && !(npy && jsonl)))
        return cli_usage(c, "embeddings", "give --npy FILE with --jsonl FILE, or --from-data");
    if (strcmp(dtype, "f16") != 0 && strcmp(dtype, "f32") != 0)
        return cli_usage(c, "embeddings", "--dtype is f32 or f16");
    an_store *s = cli_store(c);
    if (!s) return 2;
    an_project p;
    int status = cli_project(c, project, &p);
    if (status) return status;
    an_err e;
    an_err_clear(&e);
    loader l = {.s = s,
                .project_id = p.id,
                .field = field,
                .dtype = strcmp(dtype, "f32") == 0 ? AN_EMB_F32 : AN_EMB_F16,
                .err = &e};
    status = from_data ? load_data(c, &l) : load_npy(c, &l, &p, npy, jsonl);
    if (status == 0) {
        if (c->json)
            cli_print_json(json_pack("{s:I,s:I,s:I}", "records", (json_int_t)l.records, "stored",
                                     (json_int_t)l.stored, "unmatched", (json_int_t)l.unmatched));
        else
            printf("stored %lld embeddings \"%s\" (%s); %lld of %lld records had no task or "
                   "no vector\n",
                   (long long)l.stored, field, dtype, (long long)l.unmatched, (long long)l.records);
    }
    an_npy_close(&l.npy);
    free(l.row);
    an_project_clear(&p);
    return status;
}
