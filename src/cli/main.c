/* annot: the command line front end. Global options, then one subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define ANNOT_VERSION "0.1.0"

static const struct command {
    const char *name;
    cli_cmd_fn fn;
    const char *summary;
} commands[] = {
    {"project", cmd_project, "create and list projects"},
    {"import", cmd_import, "import tasks, annotations and predictions from files"},
    {"export", cmd_export, "export a project in a chosen format"},
    {"stats", cmd_stats, "counts of tasks, annotations, predictions and labels"},
    {"user", cmd_user, "add and list users, set passwords"},
    {"formats", cmd_formats, "list the import and export formats"},
    {"serve", cmd_serve, "serve the REST API and web UI"},
    {"token", cmd_token, "create API tokens"},
    {"member", cmd_member, "add people to projects"},
    {"agreement", cmd_agreement, "inter-annotator agreement of reliability data (CSV)"},
    {"consensus", cmd_consensus, "consensus labels (majority, Dawid-Skene) and annotator accuracy"},
    {"bias", cmd_bias, "does labelling depend on a sensitive attribute of the tasks"},
    {"embeddings", cmd_embeddings, "store task embeddings compactly (from .npy or task data)"},
    {"similarity", cmd_similarity, "score caption-image alignment by embedding cosine"},
    {"qc", cmd_qc, "quality-control rules: run them, set them, list findings"},
    {"settings", cmd_settings, "workspace settings (the outbound allow-list)"},
    {"ledger", cmd_ledger, "the provenance ledger: verify it, a task's history, check exports"},
    {"audit", cmd_audit, "the audit log: who did what, when (filters, JSON)"},
    {"provenance", cmd_provenance, "licences of a project's tasks and its licence policy"},
    {"train", cmd_train, "train a pre-annotation model on accepted annotations"},
    {"predict", cmd_predict, "pre-annotate a project's tasks with a trained model"},
    {"redact-images", cmd_redact_images, "blur faces and plates in metadata-free image copies"},
    {"redact-image", cmd_redact_image, "blur faces and plates in one image, drop its metadata"},
    {"backend", cmd_backend, "Label Studio ML backends: add, list, remove, serve a model"},
    {"pii", cmd_pii, "find personal information in files and projects"},
    {"redact", cmd_redact, "mask, replace, pseudonymise or drop personal information"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: annot [--db PATH] COMMAND [ARGS]\n\n"
               "annot is a data annotation platform; a workspace is one database.\n\n"
               "Global options:\n"
               "  --db PATH    the workspace (default: $ANNOT_DB, else ./annot.db)\n"
               "  --version    print the version\n"
               "  --help       this help; `annot COMMAND --help` for a command\n\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nExit status: 0 ok, 1 bad input or usage, 2 internal error.\n");
}

int main(int argc, char **argv)
{
    /* Exports to a pipe write megabytes; a large buffer saves a system call per line. */
    if (!isatty(STDOUT_FILENO)) setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    cli c = {.db = getenv("ANNOT_DB")};
    if (!c.db || !*c.db) c.db = "annot.db";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            c.db = argv[++i];
        } else if (strncmp(argv[i], "--db=", 5) == 0) {
            c.db = argv[i] + 5;
        } else if (cli_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            puts("annot " ANNOT_VERSION);
            return 0;
        } else {
            fprintf(stderr, "annot: error: unknown global option %s (see `annot --help`)\n",
                    argv[i]);
            return 1;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 1;
    }
    int status = -1;
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
        if (strcmp(argv[i], commands[k].name) == 0) {
            status = commands[k].fn(&c, argc - i, argv + i);
            break;
        }
    }
    if (status < 0) {
        fprintf(stderr, "annot: error: unknown command \"%s\" (see `annot --help`)\n", argv[i]);
        status = 1;
    }
    if (c.store) an_store_close(c.store);
    if (fflush(stdout) != 0) {
        perror("annot: error: cannot write the output");
        if (status == 0) status = 2;
    }
    return status;
}
