/* cpuprobe: how steady the machine's CPU is while bench/server.sh measures, and which of a
 * load generator's requests met an unsteady CPU.
 *
 * Why: on a virtual machine the CPU the guest is given can run far slower for a while with
 * nothing in the guest to show it — no steal time, no idle gap: a thread is "on the CPU" and
 * its CPU time goes on, but it gets a fraction of the work done. On the machine bench/README.md
 * describes, both cores ran about ten times slower for ~0.2 s every ~1.5 s. Every request in
 * flight then waits, a queue builds, and the latency percentiles measure the host, not the
 * server. This probe makes that visible, so that a figure can be read knowing it.
 *
 *   cpuprobe --duration S --out FILE [--every MS]
 *       Until S seconds have passed or SIGTERM comes, every MS milliseconds (default 5) times a fixed piece of work (~50 us at full speed)
 *       by this thread's CPU time, so being descheduled does not count, only being slow.
 *       speed = fastest time seen / this time. Writes FILE: a summary line
 *         PROBE samples=N chunk_us=FASTEST slow_share=S slow_windows=W min_speed=X
 *       (slow_share: share of samples below half speed) and one line per slow window,
 *       "slow START_NS END_NS MIN_SPEED" (CLOCK_MONOTONIC; neighbouring slow samples merged).
 *       Costs about 1 % of one core.
 *   cpuprobe --join FILE --samples SAMPLES
 *       SAMPLES: loadgen --samples. A request "met a slow window" when the time from its
 *       due time to its answer overlaps a window. Prints
 *         JOIN n=N affected=A p99_us=.. steady_n=.. steady_p50_us=.. steady_p99_us=..
 *              top1_affected=..
 *       steady_*: the requests that met no slow window; top1_affected: of the slowest 1 %,
 *       the share that met one. A request slowed only by the queue a window left behind it
 *       counts as steady, so steady_p99 errs on the high side.
 *
 * Build: cc -O2 -std=c11 -Wall -Wextra -o cpuprobe cpuprobe.c
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS 1000000000ull
#define MAX_WINDOWS 100000

static void die(const char *what)
{
    fprintf(stderr, "cpuprobe: %s\n", what);
    exit(1);
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static volatile uint64_t sink;
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

/* The fixed work: a multiply-add chain the compiler cannot shorten. */
static void work(long n)
{
    uint64_t x = sink | 1;
    for (long i = 0; i < n; i++) x = x * 6364136223846793005ull + (uint64_t)i;
    sink = x;
}

static void sleep_until(uint64_t at)
{
    struct timespec ts = {(time_t)(at / NS), (long)(at % NS)};
    while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static int probe(double duration, const char *out, double every_ms)
{
    /* Size the work to ~50 us on this CPU: the fastest of several tries, so a slow moment
     * during the sizing does not make it larger. */
    long n = 1000;
    for (;;) {
        uint64_t best = UINT64_MAX;
        for (int t = 0; t < 5; t++) {
            uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
            work(n);
            uint64_t d = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
            if (d < best) best = d;
        }
        if (best >= 50000 || n > (1L << 30)) break;
        n *= 2;
    }
    size_t cap = (size_t)(duration * 1000.0 / every_ms) + 16;
    uint64_t *at = malloc(cap * sizeof *at), *cpu = malloc(cap * sizeof *cpu);
    if (!at || !cpu) die("out of memory");
    uint64_t step = (uint64_t)(every_ms * 1e6), start = clock_ns(CLOCK_MONOTONIC);
    uint64_t end = start + (uint64_t)(duration * 1e9), next = start;
    size_t k = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    while (k < cap && !stop) {
        uint64_t now = clock_ns(CLOCK_MONOTONIC);
        if (now >= end) break;
        uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        work(n);
        cpu[k] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
        at[k++] = now;
        next += step;
        if (next < now) next = now + step;
        sleep_until(next);
    }
    uint64_t fastest = UINT64_MAX;
    for (size_t i = 0; i < k; i++)
        if (cpu[i] < fastest) fastest = cpu[i];
    /* One pass: the share of samples below half speed, the slowest one, and the windows —
     * runs of slow samples merged across up to two fast ones, each from its first slow
     * sample's start to its last one's end. */
    size_t slow = 0, windows = 0;
    double min_speed = 1, wmin = 1;
    long long ws = -1, we = -1;
    char *lines = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&lines, &len);
    if (!mem) die("out of memory");
    for (size_t i = 0; i <= k; i++) {
        double speed = i < k ? (double)fastest / (double)cpu[i] : 1;
        if (ws >= 0 && (i == k || (speed < 0.5 && (long long)i > we + 2))) {
            fprintf(mem, "slow %" PRIu64 " %" PRIu64 " %.3f\n", at[ws], at[we] + cpu[we] + step,
                    wmin);
            windows++;
            ws = -1;
        }
        if (i == k) break;
        if (speed < min_speed) min_speed = speed;
        if (speed >= 0.5) continue;
        slow++;
        if (ws < 0) {
            ws = (long long)i;
            wmin = 1;
        }
        we = (long long)i;
        if (speed < wmin) wmin = speed;
    }
    fclose(mem);
    FILE *f = fopen(out, "w");
    if (!f) die("cannot write the --out file");
    fprintf(f, "PROBE samples=%zu chunk_us=%.1f slow_share=%.4f slow_windows=%zu min_speed=%.3f\n%s",
            k, fastest / 1e3, k ? (double)slow / (double)k : 0.0, windows, min_speed,
            lines ? lines : "");
    free(lines);
    if (fclose(f) != 0) die("cannot write the --out file");
    free(at);
    free(cpu);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t pct(const uint64_t *v, size_t n, double p)
{
    if (!n) return 0;
    double r = ceil(p / 100.0 * (double)n);
    size_t i = r < 1 ? 0 : (size_t)r - 1;
    return v[i < n ? i : n - 1];
}

static int join(const char *windows_file, const char *samples_file)
{
    FILE *f = fopen(windows_file, "r");
    if (!f) die("cannot read the --join file");
    static uint64_t ws[MAX_WINDOWS], we[MAX_WINDOWS];
    size_t nw = 0;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        uint64_t a, b;
        double m;
        if (sscanf(line, "slow %" SCNu64 " %" SCNu64 " %lf", &a, &b, &m) == 3 && nw < MAX_WINDOWS) {
            ws[nw] = a;
            we[nw++] = b;
        }
    }
    fclose(f);
    FILE *s = fopen(samples_file, "rb");
    if (!s) die("cannot read the --samples file");
    size_t cap = 1 << 16, n = 0;
    uint64_t *due = malloc(cap * sizeof *due), *lat = malloc(cap * sizeof *lat);
    unsigned char b[16];
    while (due && lat && fread(b, 1, sizeof b, s) == sizeof b) {
        if (n == cap) {
            cap *= 2;
            due = realloc(due, cap * sizeof *due);
            lat = realloc(lat, cap * sizeof *lat);
            if (!due || !lat) break;
        }
        uint64_t d = 0, l = 0;
        for (int j = 0; j < 8; j++) {
            d |= (uint64_t)b[j] << (8 * j);
            l |= (uint64_t)b[8 + j] << (8 * j);
        }
        due[n] = d;
        lat[n++] = l;
    }
    fclose(s);
    if (!due || !lat) die("out of memory");
    /* Windows are in time order; a request meets one when [due, due + lat] overlaps it. */
    uint64_t *all = malloc((n ? n : 1) * sizeof *all), *steady = malloc((n ? n : 1) * sizeof *steady);
    unsigned char *hit = malloc(n ? n : 1);
    if (!all || !steady || !hit) die("out of memory");
    size_t ns = 0, affected = 0;
    for (size_t i = 0; i < n; i++) {
        /* first window ending at or after the request's due time */
        size_t lo = 0, hi = nw;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (we[mid] < due[i]) lo = mid + 1;
            else hi = mid;
        }
        hit[i] = lo < nw && ws[lo] <= due[i] + lat[i];
        all[i] = lat[i];
        if (hit[i]) affected++;
        else steady[ns++] = lat[i];
    }
    /* Of the slowest 1 %: how many met a window (threshold: the p99 latency). */
    uint64_t *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) die("out of memory");
    memcpy(sorted, all, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_u64);
    uint64_t p99 = pct(sorted, n, 99);
    size_t top = 0, top_hit = 0;
    for (size_t i = 0; i < n; i++)
        if (lat[i] > p99) {
            top++;
            top_hit += hit[i];
        }
    qsort(steady, ns, sizeof *steady, cmp_u64);
    printf("JOIN n=%zu affected=%zu p99_us=%" PRIu64 " steady_n=%zu steady_p50_us=%" PRIu64
           " steady_p99_us=%" PRIu64 " top1_affected=%.3f windows=%zu\n",
           n, affected, p99 / 1000, ns, pct(steady, ns, 50) / 1000, pct(steady, ns, 99) / 1000,
           top ? (double)top_hit / (double)top : 0.0, nw);
    free(due);
    free(lat);
    free(all);
    free(steady);
    free(hit);
    free(sorted);
    return 0;
}

static void usage(void)
{
    fputs("usage: cpuprobe --duration S --out FILE [--every MS]\n"
          "       cpuprobe --join FILE --samples SAMPLES\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    double duration = -1, every = 5;
    const char *out = NULL, *joinf = NULL, *samples = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) usage();
        const char *a = argv[i], *v = argv[++i];
        char *end;
        if (!strcmp(a, "--duration")) {
            duration = strtod(v, &end);
            if (*end || !(duration > 0 && duration <= 86400)) usage();
        } else if (!strcmp(a, "--every")) {
            every = strtod(v, &end);
            if (*end || !(every >= 0.5 && every <= 1000)) usage();
        } else if (!strcmp(a, "--out")) {
            out = v;
        } else if (!strcmp(a, "--join")) {
            joinf = v;
        } else if (!strcmp(a, "--samples")) {
            samples = v;
        } else {
            usage();
        }
    }
    if (joinf && samples) return join(joinf, samples);
    if (out && duration > 0) return probe(duration, out, every);
    usage();
    return 2;
}
