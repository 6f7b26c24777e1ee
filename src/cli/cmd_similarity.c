/* annot similarity PROJECT --a FIELD --b FIELD [--threshold T] [--model-version V]:
 * cross-modal alignment — the cosine similarity of each task's two embeddings (a caption's
 * and its image's), stored as the score of a prediction (model_version V, default
 * "similarity:A:B", an empty result), which the UI shows, review queues can order by and QC
 * can check. Tasks that already have a prediction of that version keep it (a rerun adds only
 * new pairs; give a new version after the embeddings change). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "cli/cli.h"
#include "preanno/similarity.h"
#include "store/embeddings.h"
#include "store/models.h"

static const char usage[] =
    "usage: annot similarity PROJECT --a FIELD --b FIELD [--threshold T]\n"
    "                        [--model-version V] [--json]\n\n"
    "Scores each task's alignment as the cosine of its embeddings FIELD a and b (stored with\n"
    "`annot embeddings`), saved as a prediction's score (version V, default\n"
    "similarity:A:B). Tasks scoring below T are listed (T: default none).\n";

typedef struct scored {
    int64_t task_id;
    double score;
} scored;

typedef struct pass {
    an_cos_scratch scratch;
    scored *v;
    size_t n, cap;
    int64_t mismatched;
} pass;

static int on_pair(void *ud, const an_emb_pair *p)
{
    pass *ps = ud;
    double c = an_cosine(p, &ps->scratch);
    if (isnan(c)) {
        ps->mismatched++;
        return 0;
    }
    if (ps->n == ps->cap)
        ps->v = an_xrealloc(ps->v, (ps->cap = ps->cap ? 2 * ps->cap : 4096) * sizeof *ps->v);
    ps->v[ps->n++] = (scored){p->task_id, c};
    return 0;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int cmd_similarity(cli *c, int argc, char **argv)
{
    const char *project = NULL, *fa = NULL, *fb = NULL, *version = NULL, *v;
    double threshold = NAN;
    bool missing = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            c->json = true;
        } else if ((v = cli_opt_value(argc, argv, &i, "--a", &missing))) {
            fa = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--b", &missing))) {
            fb = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--model-version", &missing))) {
            version = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--threshold", &missing))) {
            char *end;
            threshold = strtod(v, &end);
            if (end == v || *end || !(threshold >= -1 && threshold <= 1))
                return cli_usage(c, "similarity", "--threshold is a number from -1 to 1");
        } else if (missing) {
            return cli_usage(c, "similarity", "%s needs a value", argv[i]);
        } else if (argv[i][0] == '-' || project) {
            return cli_usage(c, "similarity", "unexpected argument %s", argv[i]);
        } else {
            project = argv[i];
        }
    }
    if (!project || !fa || !fb)
        return cli_usage(c, "similarity", "give PROJECT, --a FIELD and --b FIELD");
    char vbuf[512];
    if (!version) {
        snprintf(vbuf, sizeof vbuf, "similarity:%s:%s", fa, fb);
        version = vbuf;
    }
    an_store *s = cli_store(c);
    if (!s) return 2;
    an_project p;
    int status = cli_project(c, project, &p);
    if (status) return status;
    an_err e;
    an_err_clear(&e);
    pass ps = {0};
    double t0 = seconds();
    int rc = an_store_embedding_pairs(s, p.id, fa, fb, on_pair, &ps, &e);
    double t1 = seconds();
    int64_t added = 0, kept = 0, below = 0;
    if (rc == 0) rc = an_store_begin(s, &e);
    for (size_t i = 0; rc == 0 && i < ps.n; i++) {
        bool exists = false;
        if ((rc = an_store_prediction_exists(s, ps.v[i].task_id, version, &exists, &e))) break;
        if (ps.v[i].score < threshold) below++;
        if (exists) {
            kept++;
            continue;
        }
        an_prediction_in in = {.task_id = ps.v[i].task_id,
                               .project_id = p.id,
                               .model_version = version,
                               .score = ps.v[i].score,
                               .result = "[]"};
        int64_t id;
        if ((rc = an_store_prediction_insert(s, &in, &id, &e))) break;
        added++;
    }
    if (rc == 0)
        rc = an_store_commit(s, &e);
    else
        an_store_rollback(s);
    double t2 = seconds();
    if (rc < 0) {
        status = cli_fail(c, &e);
    } else if (c->json) {
        json_t *low = json_array();
        for (size_t i = 0; i < ps.n; i++)
            if (ps.v[i].score < threshold)
                json_array_append_new(low,
                                      json_pack("{s:I,s:f}", "task", (json_int_t)ps.v[i].task_id,
                                                "score", ps.v[i].score));
        cli_print_json(json_pack("{s:s,s:I,s:I,s:I,s:I,s:o,s:f,s:f}", "model_version", version,
                                 "pairs", (json_int_t)ps.n, "added", (json_int_t)added, "kept",
                                 (json_int_t)kept, "mismatched", (json_int_t)ps.mismatched,
                                 "below_threshold", low, "compute_seconds", t1 - t0,
                                 "store_seconds", t2 - t1));
    } else {
        printf("%zu pairs scored (%.0f pairs/s from the store); %lld predictions added, %lld "
               "kept; %lld with mismatched or zero vectors\n",
               ps.n, ps.n / (t1 - t0 > 0 ? t1 - t0 : 1e-9), (long long)added, (long long)kept,
               (long long)ps.mismatched);
        if (!isnan(threshold)) {
            printf("%lld below %.3f:\n", (long long)below, threshold);
            for (size_t i = 0; i < ps.n; i++)
                if (ps.v[i].score < threshold)
                    printf("  task %lld  %.4f\n", (long long)ps.v[i].task_id, ps.v[i].score);
        }
    }
    an_cos_scratch_free(&ps.scratch);
    free(ps.v);
    an_project_clear(&p);
    return status;
}
