/* The scan options `annot pii scan` and `annot redact` share (cli_pii.h). */
#include "cli/cli_pii.h"

#include <stdlib.h>
#include <string.h>

bool cli_pii_option(cli *c, const char *cmd, int argc, char **argv, int *i, an_pii_format *fmt,
                    an_pii_opts *opts, an_pii_rules *rules, int *status)
{
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!v) return false;
    an_err e;
    an_err_clear(&e);
    if (strcmp(a, "--format") == 0) {
        if (strcmp(v, "auto") == 0)
            *fmt = AN_PII_AUTO;
        else if (strcmp(v, "text") == 0)
            *fmt = AN_PII_TEXT;
        else if (strcmp(v, "jsonl") == 0)
            *fmt = AN_PII_JSONL;
        else
            *status = cli_usage(c, cmd, "--format is auto, text or jsonl");
    } else if (strcmp(a, "--pattern") == 0) {
        if (an_pii_rules_add_pattern(rules, v, &e) < 0) *status = cli_fail(c, &e);
    } else if (strcmp(a, "--deny") == 0) {
        if (an_pii_rules_load_deny(rules, v, &e) < 0) *status = cli_fail(c, &e);
    } else if (strcmp(a, "--min-score") == 0) {
        char *end;
        double x = strtod(v, &end);
        if (*end || x < 0 || x > 1)
            *status = cli_usage(c, cmd, "--min-score is a number from 0 to 1");
        else
            opts->min_score = x;
    } else {
        return false;
    }
    (*i)++;
    return true;
}
