/* A progress bar on stderr, drawn only when stderr is a terminal and redrawn at most ten
 * times a second, so it costs nothing in pipelines and little in tight loops. */
#ifndef AN_PROGRESS_H
#define AN_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct an_progress {
    const char *label;
    uint64_t total; /* 0 when unknown */
    uint64_t done;
    uint64_t items; /* records so far, shown beside the bar */
    double started, last_draw;
    bool enabled;
} an_progress;

/* Starts a bar; enabled only when want is true and stderr is a terminal. */
void an_progress_start(an_progress *p, const char *label, uint64_t total, bool want);
/* Reports done units of total (bytes or files) and items records so far. */
void an_progress_update(an_progress *p, uint64_t done, uint64_t items);
/* Erases the bar. */
void an_progress_finish(an_progress *p);

#endif
