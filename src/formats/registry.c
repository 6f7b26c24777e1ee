/* The list of formats and the helpers every format shares. */
#include "formats/format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const an_format *const registry[] = {
    &an_format_ls_json, &an_format_ls_jsonl, &an_format_json_min, &an_format_csv,
    &an_format_tsv,     &an_format_files,    &an_format_coco,     &an_format_yolo,
    &an_format_voc,     &an_format_conll,    NULL,
};

const an_format *const *an_formats(void)
{
    return registry;
}

const an_format *an_format_find(const char *name)
{
    for (const an_format *const *f = registry; *f; f++)
        if (strcmp((*f)->name, name) == 0) return *f;
    return NULL;
}

int an_format_sniff(const char *path, const an_format **out, an_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return an_err_set(err, AN_ENOTFOUND, path, "%s does not exist; check the path", path);
        return an_err_set(err, AN_EIO, path, "cannot read %s: %s", path, strerror(errno));
    }
    bool is_dir = S_ISDIR(st.st_mode);
    unsigned char head[4096];
    size_t n = 0;
    if (!is_dir) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return an_err_set(err, AN_EIO, path, "cannot open %s: %s", path, strerror(errno));
        ssize_t r = read(fd, head, sizeof head);
        close(fd);
        if (r < 0)
            return an_err_set(err, AN_EIO, path, "cannot read %s: %s", path, strerror(errno));
        n = (size_t)r;
    }
    const an_format *best = NULL;
    int best_score = 0;
    for (const an_format *const *f = registry; *f; f++) {
        if (!(*f)->sniff || !(*f)->read) continue;
        int score = (*f)->sniff(path, is_dir, head, n);
        if (score > best_score) {
            best = *f;
            best_score = score;
        }
    }
    if (!best)
        return an_err_set(err, AN_EINVAL, path,
                          "cannot tell the format of %s; name it with --format (one of: "
                          "ls-json, ls-jsonl, csv, tsv, files, coco, yolo, voc, conll)",
                          path);
    *out = best;
    return 0;
}

const an_annotation_row *an_export_pick_annotation(const an_task_row *row)
{
    const an_annotation_row *pick = NULL;
    for (size_t i = 0; i < row->n_annotations; i++) {
        const an_annotation_row *a = &row->annotations[i];
        if (a->cancelled) continue;
        if (a->ground_truth) return a;
        pick = a; /* rows come in id order: the last is the newest */
    }
    return pick;
}

int an_export_free_state(an_export_ctx *ctx, bool failed, an_err *err)
{
    free(ctx->state);
    ctx->state = NULL;
    return 0;
}
