/* Face detection speed for bench/detect.sh: detections per second on one image, decoding
 * excluded (the image is decoded once), with the frontal cascade alone (what OpenCV users
 * usually run) and with the "face" model's three passes (frontal, profile, mirrored
 * profile). usage: detect_bench IMAGE SECONDS */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "preanno/cascade.h"
#include "preanno/detect.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3) return 2;
    double secs = atof(argv[2]);
    an_err e;
    an_gray_image g;
    if (an_gray_image_load(argv[1], &g, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
    an_cascade *c;
    if (an_cascade_load("/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
                        &c, &e))
        return fprintf(stderr, "%s\n", e.msg), 1;
    an_gray_view v = {g.px, g.width, g.height, (size_t)g.width};
    an_cascade_opts o = {0};
    int runs = 0;
    size_t found = 0;
    double t0 = now();
    while (now() - t0 < secs || runs < 3) {
        an_detection *d;
        if (an_cascade_detect(c, &v, &o, &d, &found, &e)) return 1;
        free(d);
        runs++;
    }
    double dt = now() - t0;
    printf("frontal %dx%d: %d runs in %.2f s = %.1f images/s (%zu faces)\n", g.width, g.height,
           runs, dt, runs / dt, found);
    an_detector *det;
    if (an_detector_open(AN_DETECT_FACE, NULL, &det, &e)) return 1;
    runs = 0;
    t0 = now();
    while (now() - t0 < secs || runs < 3) {
        an_box *b;
        if (an_detector_run(det, &g, &b, &found, &e)) return 1;
        free(b);
        runs++;
    }
    dt = now() - t0;
    printf("face model (3 passes): %d runs in %.2f s = %.1f images/s (%zu faces)\n", runs, dt,
           runs / dt, found);
    an_detector_close(det);
    an_cascade_free(c);
    an_gray_image_free(&g);
    return 0;
}
