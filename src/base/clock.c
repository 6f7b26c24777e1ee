#include "base/clock.h"

#include <stdio.h>
#include <time.h>

/* Two decimal digits of v (0..99) at p. */
static char *two(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

void an_iso_from_epoch(int64_t sec, long usec, char out[32])
{
    /* Days to a civil date (Howard Hinnant's days_from_civil, inverted): no time zone
     * lookup and no printf, which together cost more than the rest of a token check. */
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t secs = sec - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int day = (int)(doy - (153 * mp + 2) / 5 + 1);
    int month = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t year = yoe + era * 400 + (month <= 2);
    if (year < 0 || year > 9999 || usec < 0 || usec > 999999) {
        /* Outside what the format's four digits can say: the slow, general way. */
        time_t tt = (time_t)sec;
        struct tm tm;
        gmtime_r(&tt, &tm);
        snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 usec < 0 || usec > 999999 ? 0L : usec);
        return;
    }
    char *p = two(out, (int)(year / 100));
    p = two(p, (int)(year % 100));
    *p++ = '-';
    p = two(p, month);
    *p++ = '-';
    p = two(p, day);
    *p++ = 'T';
    p = two(p, (int)(secs / 3600));
    *p++ = ':';
    p = two(p, (int)(secs / 60 % 60));
    *p++ = ':';
    p = two(p, (int)(secs % 60));
    *p++ = '.';
    for (int i = 5; i >= 0; i--) {
        p[i] = (char)('0' + usec % 10);
        usec /= 10;
    }
    p += 6;
    *p++ = 'Z';
    *p = '\0';
}

void an_now_iso(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    an_iso_from_epoch((int64_t)ts.tv_sec, ts.tv_nsec / 1000, out);
}

struct timespec an_deadline_ms(long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

double an_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
