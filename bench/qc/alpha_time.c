/* Times Krippendorff's alpha (nominal) on a reliability CSV in two parts, reading and
 * computing, through the library (bench/qc.sh builds it against libannotlib). Prints
 * "read R compute C alpha A". */
#include <stdio.h>
#include <time.h>

#include "qc/agreement.h"
#include "qc/reliability_csv.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: alpha_time FILE.csv\n");
        return 1;
    }
    an_err e;
    an_err_clear(&e);
    an_rel_table t;
    double t0 = now();
    if (an_rel_csv_read(argv[1], &t, &e) < 0) {
        fprintf(stderr, "%s: %s\n", e.where, e.msg);
        return 1;
    }
    double t1 = now();
    an_agr_data d = an_rel_table_data(&t);
    an_agr_result r;
    if (an_agreement(&d, AN_AGR_ALPHA, AN_AGR_NOMINAL, AN_AGR_W_NONE, &r, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    double t2 = now();
    printf("read %.3f compute %.3f alpha %.12f\n", t1 - t0, t2 - t1, r.value);
    an_agr_result_free(&r);
    an_rel_table_free(&t);
    return 0;
}
