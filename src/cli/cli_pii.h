/* The scan options `annot pii scan` and `annot redact` share: --format, --pattern, --deny,
 * --min-score. */
#ifndef AN_CLI_PII_H
#define AN_CLI_PII_H

#include <stdbool.h>

#include "cli/cli.h"
#include "comply/pii.h"
#include "comply/pii_input.h"

/* True when argv[*i] is one of the scan options followed by its value: it is taken (into
 * fmt, opts or rules) and *i moves past the value. A bad value is reported for command cmd
 * (cli_usage or cli_fail) and its exit status left in *status; otherwise *status is kept.
 * False for anything else, an option without its value included, so that the caller reports
 * it as unexpected. */
bool cli_pii_option(cli *c, const char *cmd, int argc, char **argv, int *i, an_pii_format *fmt,
                    an_pii_opts *opts, an_pii_rules *rules, int *status);

#endif
