#include "base/progress.h"

#include <stdio.h>
#include <unistd.h>

#include "base/clock.h"

void an_progress_start(an_progress *p, const char *label, uint64_t total, bool want)
{
    p->label = label;
    p->total = total;
    p->done = p->items = 0;
    p->started = p->last_draw = an_monotonic();
    p->enabled = want && isatty(STDERR_FILENO);
}

static void draw(an_progress *p, double now)
{
    double secs = now - p->started;
    double rate = secs > 0 ? (double)p->items / secs : 0;
    if (p->total) {
        int width = 30;
        double frac = (double)p->done / (double)p->total;
        if (frac > 1) frac = 1;
        int fill = (int)(frac * width);
        char bar[64];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r%s [%s] %3.0f%%  %llu records  %.0f/s ", p->label, bar, frac * 100,
                (unsigned long long)p->items, rate);
    } else {
        fprintf(stderr, "\r%s %llu records  %.0f/s ", p->label, (unsigned long long)p->items,
                rate);
    }
    fflush(stderr);
    p->last_draw = now;
}

void an_progress_update(an_progress *p, uint64_t done, uint64_t items)
{
    p->done = done;
    p->items = items;
    if (!p->enabled) return;
    double now = an_monotonic();
    if (now - p->last_draw >= 0.1) draw(p, now);
}

void an_progress_finish(an_progress *p)
{
    if (!p->enabled) return;
    fprintf(stderr, "\r%*s\r", 79, "");
    fflush(stderr);
}
