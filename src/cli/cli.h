/* Shared plumbing of the annot command line: each subcommand is one cmd_*.c file with a
 * function of this shape. Commands are thin: they parse options, call the library, and
 * print. Exit status: 0 ok, 1 bad input or usage, 2 internal error (docs/cli.md). */
#ifndef AN_CLI_H
#define AN_CLI_H

#include <jansson.h>
#include <stdbool.h>

#include "base/err.h"
#include "store/store.h"

typedef struct cli {
    const char *db; /* workspace location: --db, else $ANNOT_DB, else ./annot.db */
    an_store *store;
    bool json; /* --json: machine-readable output on stdout */
} cli;

typedef int (*cli_cmd_fn)(cli *c, int argc, char **argv);

/* Opens the workspace on first use. Returns NULL after printing the error. */
an_store *cli_store(cli *c);

/* Prints e (as JSON on stdout too when --json) and returns the exit status for it. */
int cli_fail(cli *c, const an_err *e);

/* Prints j as one line of canonical JSON on stdout and releases it. */
void cli_print_json(json_t *j);

/* Prints a usage error naming the command and how to get help; returns 1. */
int cli_usage(cli *c, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* True when arg is --help or -h. */
bool cli_is_help(const char *arg);

/* The value of option opt at argv[*i], given as "--opt VALUE" (then *i moves past VALUE) or
 * "--opt=VALUE"; NULL when argv[*i] is not opt, or (with *missing set) when no value follows. */
const char *cli_opt_value(int argc, char **argv, int *i, const char *opt, bool *missing);

/* Records a change made from the command line in the audit log, inside the open write
 * transaction: actor none (the CLI holds the database itself), detail {"via": "cli",
 * "os_user": $USER}. Returns rc unchanged when rc is not 0 (nothing to record). */
int cli_audit(an_store *s, int rc, const char *action, const char *object, int64_t object_id,
              an_err *e);

/* Finds a project by name or id, printing the error when absent. 0 ok, else exit status. */
int cli_project(cli *c, const char *name_or_id, an_project *out);

int cmd_project(cli *c, int argc, char **argv);
int cmd_import(cli *c, int argc, char **argv);
int cmd_export(cli *c, int argc, char **argv);
int cmd_stats(cli *c, int argc, char **argv);
int cmd_user(cli *c, int argc, char **argv);
int cmd_formats(cli *c, int argc, char **argv);
int cmd_serve(cli *c, int argc, char **argv);
int cmd_token(cli *c, int argc, char **argv);
int cmd_member(cli *c, int argc, char **argv);
int cmd_agreement(cli *c, int argc, char **argv);
int cmd_consensus(cli *c, int argc, char **argv);
int cmd_bias(cli *c, int argc, char **argv);
int cmd_embeddings(cli *c, int argc, char **argv);
int cmd_similarity(cli *c, int argc, char **argv);
int cmd_qc(cli *c, int argc, char **argv);
int cmd_settings(cli *c, int argc, char **argv);
int cmd_ledger(cli *c, int argc, char **argv);
int cmd_audit(cli *c, int argc, char **argv);
int cmd_provenance(cli *c, int argc, char **argv);
int cmd_train(cli *c, int argc, char **argv);
int cmd_predict(cli *c, int argc, char **argv);
int cmd_redact_images(cli *c, int argc, char **argv);
int cmd_redact_image(cli *c, int argc, char **argv);
int cmd_backend(cli *c, int argc, char **argv);
int cmd_pii(cli *c, int argc, char **argv);
int cmd_redact(cli *c, int argc, char **argv);

#endif
