/* annot redact-images PROJECT --to DIR and annot redact-image IN OUT: faces and licence
 * plates blurred or pixelated in metadata-free copies of images (comply/redact_image.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "comply/redact_image.h"

static const char usage_many[] =
    "usage: annot redact-images PROJECT --to DIR [--faces] [--plates] [--mode blur|pixelate]\n"
    "                           [--media-root DIR] [--json]\n\n"
    "Writes a redacted copy of every image the project's tasks name (the fields its <Image>\n"
    "tags read) under DIR, mirroring their paths: faces and licence plates found by OpenCV's\n"
    "cascades are blurred or pixelated, and every piece of metadata (EXIF with the GPS\n"
    "position, XMP, IPTC, ICC profile, comments) is left out. The originals are not changed.\n\n"
    "  --to DIR          the folder for the copies (created when missing)\n"
    "  --faces           redact faces      (neither --faces nor --plates: both)\n"
    "  --plates          redact licence plates\n"
    "  --mode M          blur (default) or pixelate\n"
    "  --media-root DIR  task paths are relative to DIR; the copies mirror the paths under it\n"
    "  --json            one JSON summary on stdout\n";

static const char usage_one[] =
    "usage: annot redact-image IN OUT [--faces] [--plates] [--mode blur|pixelate] [--json]\n\n"
    "Writes a copy of the image IN to OUT with faces and licence plates blurred or pixelated\n"
    "and without any metadata (EXIF, GPS, XMP, IPTC, ICC, comments). OUT's extension picks\n"
    "the format (.jpg, .png, .webp, .tif, ...).\n";

/* The options both commands share; 1 when argv[*i] was one of them, 0 when not, or the exit
 * status of a usage error (then *status is set). */
static int common_opt(cli *c, const char *cmd, int argc, char **argv, int *i,
                      an_redact_image_opts *o, int *status)
{
    const char *v;
    bool missing = false;
    if (strcmp(argv[*i], "--faces") == 0) {
        o->faces = true;
    } else if (strcmp(argv[*i], "--plates") == 0) {
        o->plates = true;
    } else if (strcmp(argv[*i], "--json") == 0) {
        c->json = true;
    } else if ((v = cli_opt_value(argc, argv, i, "--mode", &missing))) {
        if (strcmp(v, "blur") == 0)
            o->mode = AN_REDACT_BLUR;
        else if (strcmp(v, "pixelate") == 0)
            o->mode = AN_REDACT_PIXELATE;
        else
            *status = cli_usage(c, cmd, "--mode is blur or pixelate");
    } else if (missing) {
        *status = cli_usage(c, cmd, "%s needs a value", argv[*i]);
    } else {
        return 0;
    }
    return 1;
}

int cmd_redact_image(cli *c, int argc, char **argv)
{
    an_redact_image_opts o = {0};
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        int status = 0;
        if (cli_is_help(argv[i])) {
            fputs(usage_one, stdout);
            return 0;
        }
        if (common_opt(c, "redact-image", argc, argv, &i, &o, &status)) {
            if (status) return status;
        } else if (argv[i][0] == '-') {
            return cli_usage(c, "redact-image", "unknown option %s", argv[i]);
        } else if (!in) {
            in = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            return cli_usage(c, "redact-image", "unexpected argument %s", argv[i]);
        }
    }
    if (!in || !out) return cli_usage(c, "redact-image", "name the input and the output image");
    an_err e;
    an_err_clear(&e);
    an_image_redactor *r;
    an_redact_image_result res;
    int rc = an_image_redactor_open(&o, &r, &e);
    if (!rc) {
        rc = an_redact_image(r, in, out, &res, &e);
        an_image_redactor_close(r);
    }
    if (rc) return cli_fail(c, &e);
    if (c->json)
        cli_print_json(json_pack("{s:s,s:s,s:I,s:I,s:i,s:i}", "input", in, "output", out, "faces",
                                 (json_int_t)res.faces, "plates", (json_int_t)res.plates, "width",
                                 res.width, "height", res.height));
    else
        printf("%s: %zu faces, %zu plates redacted -> %s\n", in, res.faces, res.plates, out);
    return 0;
}

static void print_failure(void *ud, int64_t task_id, const an_err *e)
{
    (void)ud;
    fprintf(stderr, "annot: redact-images: task %lld: %s%s%s\n", (long long)task_id, e->where,
            e->where[0] ? ": " : "", e->msg);
}

int cmd_redact_images(cli *c, int argc, char **argv)
{
    an_redact_images_opts o = {.on_failure = print_failure};
    const char *project = NULL;
    for (int i = 1; i < argc; i++) {
        int status = 0;
        const char *v;
        bool missing = false;
        if (cli_is_help(argv[i])) {
            fputs(usage_many, stdout);
            return 0;
        }
        if (common_opt(c, "redact-images", argc, argv, &i, &o.image, &status)) {
            if (status) return status;
        } else if ((v = cli_opt_value(argc, argv, &i, "--to", &missing))) {
            o.to_dir = v;
        } else if ((v = cli_opt_value(argc, argv, &i, "--media-root", &missing))) {
            o.media_root = v;
        } else if (missing) {
            return cli_usage(c, "redact-images", "%s needs a value", argv[i]);
        } else if (argv[i][0] == '-') {
            return cli_usage(c, "redact-images", "unknown option %s", argv[i]);
        } else if (!project) {
            project = argv[i];
        } else {
            return cli_usage(c, "redact-images", "unexpected argument %s", argv[i]);
        }
    }
    if (!project) return cli_usage(c, "redact-images", "name the project");
    if (!o.to_dir) return cli_usage(c, "redact-images", "name the output folder with --to DIR");
    an_project p;
    int st = cli_project(c, project, &p);
    if (st) return st;
    an_store *s = cli_store(c);
    an_err e;
    an_err_clear(&e);
    an_redact_images_summary sum;
    int rc = an_redact_images_project(s, &p, &o, &sum, &e);
    an_project_clear(&p);
    if (rc) return cli_fail(c, &e);
    if (c->json)
        cli_print_json(json_pack("{s:I,s:I,s:I,s:I,s:I,s:s}", "tasks", (json_int_t)sum.tasks,
                                 "images", (json_int_t)sum.images, "faces", (json_int_t)sum.faces,
                                 "plates", (json_int_t)sum.plates, "failed",
                                 (json_int_t)sum.failed, "to", o.to_dir));
    else
        printf("tasks %lld, images %lld redacted (%lld faces, %lld plates), %lld failed -> %s\n",
               (long long)sum.tasks, (long long)sum.images, (long long)sum.faces,
               (long long)sum.plates, (long long)sum.failed, o.to_dir);
    return sum.failed ? 1 : 0;
}
