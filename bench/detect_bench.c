/* Face detection speed for bench/detect.sh: detections per second on one image, decoding
 * excluded (the image is decoded once and converted to grey once), with the frontal cascade
 * alone (what OpenCV users usually run, and what bench/detect.sh compares with OpenCV) or
 * with the "face" model's three passes (frontal, profile, mirrored profile).
 * usage: detect_bench IMAGE SECONDS [frontal|face]   (default: frontal)
 * Prints one line: "... = R images/s (N faces)". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "preanno/cascade.h"
#include "preanno/detect.h"

#define FRONTAL "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int frontal(const an_gray_image *g, double secs)
{
    an_err e;
    an_cascade *c;
    if (an_cascade_load(FRONTAL, &c, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
    an_gray_view v = {g->px, g->width, g->height, (size_t)g->width};
    an_cascade_opts o = {0};
    int runs = 0;
    size_t found = 0;
    double t0 = now();
    while (now() - t0 < secs || runs < 3) {
        an_detection *d;
        if (an_cascade_detect(c, &v, &o, &d, &found, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
        free(d);
        runs++;
    }
    double dt = now() - t0;
    printf("annot frontal %dx%d: %d runs in %.2f s = %.2f images/s (%zu faces)\n", g->width,
           g->height, runs, dt, runs / dt, found);
    an_cascade_free(c);
    return 0;
}

static int face_model(const an_gray_image *g, double secs)
{
    an_err e;
    an_detector *det;
    if (an_detector_open(AN_DETECT_FACE, NULL, &det, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
    int runs = 0;
    size_t found = 0;
    double t0 = now();
    while (now() - t0 < secs || runs < 3) {
        an_box *b;
        if (an_detector_run(det, g, &b, &found, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
        free(b);
        runs++;
    }
    double dt = now() - t0;
    printf("annot face model (3 passes) %dx%d: %d runs in %.2f s = %.2f images/s (%zu faces)\n",
           g->width, g->height, runs, dt, runs / dt, found);
    an_detector_close(det);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: detect_bench IMAGE SECONDS [frontal|face]\n");
        return 2;
    }
    double secs = atof(argv[2]);
    const char *mode = argc == 4 ? argv[3] : "frontal";
    if (strcmp(mode, "frontal") != 0 && strcmp(mode, "face") != 0) {
        fprintf(stderr, "detect_bench: the mode is frontal or face\n");
        return 2;
    }
    an_err e;
    an_gray_image g;
    if (an_gray_image_load(argv[1], &g, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
    int rc = strcmp(mode, "face") == 0 ? face_model(&g, secs) : frontal(&g, secs);
    an_gray_image_free(&g);
    return rc;
}
