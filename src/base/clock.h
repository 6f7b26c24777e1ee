/* Wall-clock helpers. Timestamps are stored as ISO 8601 UTC text with microseconds, the
 * shape Label Studio exports ("2026-01-31T12:00:00.000000Z"). */
#ifndef AN_CLOCK_H
#define AN_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Writes the current UTC time into out (at least 32 bytes). */
void an_now_iso(char out[32]);
/* Writes the UTC time sec seconds (and usec microseconds, 0..999999) after the epoch into
 * out in the same shape: "2026-11-28T01:02:03.000004Z". */
void an_iso_from_epoch(int64_t sec, long usec, char out[32]);

/* Seconds since an arbitrary fixed point, for measuring durations. */
double an_monotonic(void);

/* The wall-clock time ms milliseconds from now: the deadline pthread_cond_timedwait takes. */
struct timespec an_deadline_ms(long ms);

#endif
