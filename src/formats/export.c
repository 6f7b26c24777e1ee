/* The export engine: streams a project's tasks through a format's writer (see export.h). */
#include "formats/export.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "comply/ledger.h"
#include "comply/pii_policy.h"
#include "formats/format.h"
#include "model/config.h"

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Removes a partly written folder export; never follows symlinks. */
static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int an_export(an_store *s, const an_project *p, const an_export_opts *opts,
              an_export_report *report, an_err *err)
{
    memset(report, 0, sizeof *report);
    const an_format *fmt = an_format_find(opts->format);
    if (!fmt || !fmt->export_begin)
        return an_err_set(err, AN_EINVAL, "--format",
                          "format \"%s\" cannot be exported; choose one of: ls-json, ls-jsonl, "
                          "json-min, csv, tsv, coco, yolo, voc, conll",
                          opts->format);
    if (fmt->export_to_dir && !opts->out_path)
        return an_err_set(err, AN_EINVAL, "-o",
                          "format \"%s\" writes a folder; give its path with -o PATH",
                          fmt->name);

    /* A project whose policy refuses to let PII out is checked before anything is written. */
    int rc = an_pii_export_check(s, p, err);
    if (rc < 0) return rc;
    an_config *cfg = NULL;
    rc = an_config_parse(p->config, strlen(p->config), &cfg, err);
    if (rc < 0) return rc;

    /* Write under a temporary name beside the target, then rename: readers never see a
     * half-written export. */
    an_buf tmp;
    an_buf_init(&tmp);
    FILE *out = stdout;
    if (opts->out_path) {
        struct stat st;
        if (fmt->export_to_dir && stat(opts->out_path, &st) == 0) {
            an_config_free(cfg);
            an_buf_free(&tmp);
            return an_err_set(err, AN_EEXIST, opts->out_path,
                              "%s already exists; give a new folder path to export into",
                              opts->out_path);
        }
        an_buf_addf(&tmp, "%s.partial-%ld", opts->out_path, (long)getpid());
        if (fmt->export_to_dir) {
            if (mkdir(tmp.p, 0755) != 0) rc = -1;
        } else {
            out = fopen(tmp.p, "wb");
            if (!out) rc = -1;
        }
        if (rc < 0) {
            rc = an_err_set(err, AN_EIO, opts->out_path, "cannot create %s: %s", tmp.p,
                            strerror(errno));
            an_config_free(cfg);
            an_buf_free(&tmp);
            return rc;
        }
    }
    if (out && out != stdout) setvbuf(out, NULL, _IOFBF, 1 << 20);

    an_export_ctx ctx = {.config = cfg,
                         .project_name = p->name,
                         .out = fmt->export_to_dir ? NULL : out,
                         .out_dir = fmt->export_to_dir ? tmp.p : NULL};
    an_buf_init(&ctx.scratch);
    double t0 = an_monotonic();
    an_task_iter *it = NULL;
    rc = fmt->export_begin(&ctx, err);
    bool begun = rc == 0;
    if (rc == 0) rc = an_store_tasks_open(s, p->id, AN_ITER_ANNOTATIONS | AN_ITER_PREDICTIONS, &it, err);
    while (rc == 0) {
        const an_task_row *row;
        int more = an_task_iter_next(it, &row, err);
        if (more <= 0) {
            rc = more;
            break;
        }
        rc = fmt->export_task(&ctx, row, err);
        if (rc == 0) report->tasks++;
    }
    if (it) an_task_iter_close(it);
    if (begun) {
        an_err end_err;
        an_err_clear(&end_err);
        int erc = fmt->export_end(&ctx, rc < 0, rc < 0 ? &end_err : err);
        if (rc == 0) rc = erc;
    }
    if (!fmt->export_to_dir) {
        if (fflush(out) != 0 && rc == 0)
            rc = an_err_set(err, AN_EIO, opts->out_path ? opts->out_path : "stdout",
                            "cannot write the export: %s", strerror(errno));
        if (out != stdout && fclose(out) != 0 && rc == 0)
            rc = an_err_set(err, AN_EIO, opts->out_path, "cannot write the export: %s",
                            strerror(errno));
    }
    /* The ledger entry and the signed manifest, before the export appears under its name. */
    char *manifest = NULL;
    if (rc == 0)
        rc = an_ledger_seal_export(s, p, fmt->name, opts->out_path ? tmp.p : NULL, opts->out_path,
                                   fmt->export_to_dir, report->tasks, &manifest, err);
    if (opts->out_path) {
        if (rc == 0 && rename(tmp.p, opts->out_path) != 0)
            rc = an_err_set(err, AN_EIO, opts->out_path, "cannot move the export into place: %s",
                            strerror(errno));
        if (rc < 0) {
            if (fmt->export_to_dir)
                remove_tree(tmp.p);
            else
                unlink(tmp.p);
            if (manifest && !fmt->export_to_dir) unlink(manifest);
        }
    }
    free(manifest);
    report->seconds = an_monotonic() - t0;
    an_buf_free(&ctx.scratch);
    an_buf_free(&tmp);
    an_config_free(cfg);
    return rc;
}
