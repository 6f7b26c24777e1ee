/* annot serve [--host H] [--port P] [--threads N] [--web DIR] [--media-root DIR]... */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "server/app.h"

static const char usage[] =
    "usage: annot serve [--host 127.0.0.1] [--port 8080] [--threads N] [--web DIR]\n"
    "                   [--media-root DIR]... [--export-workers N]\n\n"
    "Serves the workspace: the REST API under /api (Label Studio's paths and\n"
    "\"Authorization: Token ...\" header) and the web UI. Stops on Ctrl-C or SIGTERM.\n"
    "  --host H      address to listen on (default 127.0.0.1: this machine only)\n"
    "  --port P      port (default 8080; 0 picks a free one, printed at start)\n"
    "  --threads N   request threads (default: one per core)\n"
    "  --web DIR     the web UI's files (default: the source tree's web/ when present)\n"
    "  --secure-cookies  mark session cookies Secure (when served behind HTTPS)\n"
    "  --media-root DIR  serve tasks' local media files that lie under DIR (repeatable);\n"
    "                    nothing outside these folders is ever served\n"
    "  --export-workers N  background export threads (default 1, at most 4)\n";

static long parse_num(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    return (*s && !*end && v >= lo && v <= hi) ? v : -1;
}

int cmd_serve(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {{"host", required_argument, 0, 'H'},
                                             {"port", required_argument, 0, 'p'},
                                             {"threads", required_argument, 0, 't'},
                                             {"web", required_argument, 0, 'w'},
                                             {"secure-cookies", no_argument, 0, 's'},
                                             {"media-root", required_argument, 0, 'm'},
                                             {"export-workers", required_argument, 0, 'x'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    an_app_opts o = {.db = c->db, .host = "127.0.0.1", .port = 8080};
    enum { MAX_ROOTS = 32 };
    const char *roots[MAX_ROOTS];
    int ch;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "H:p:t:w:shm:x:", longopts, NULL)) != -1) {
        long v;
        switch (ch) {
        case 'H': o.host = optarg; break;
        case 'p':
            if ((v = parse_num(optarg, 0, 65535)) < 0)
                return cli_usage(c, "serve", "--port must be a number from 0 to 65535");
            o.port = (int)v;
            break;
        case 't':
            if ((v = parse_num(optarg, 1, 256)) < 0)
                return cli_usage(c, "serve", "--threads must be a number from 1 to 256");
            o.threads = (unsigned)v;
            break;
        case 'w': o.static_dir = optarg; break;
        case 's': o.secure_cookies = true; break;
        case 'm':
            if (o.n_media_roots == MAX_ROOTS)
                return cli_usage(c, "serve", "at most %d --media-root folders", MAX_ROOTS);
            roots[o.n_media_roots++] = optarg;
            o.media_roots = roots;
            break;
        case 'x':
            if ((v = parse_num(optarg, 1, 4)) < 0)
                return cli_usage(c, "serve", "--export-workers must be a number from 1 to 4");
            o.export_workers = (unsigned)v;
            break;
        case 'h': fputs(usage, stdout); return 0;
        default: return cli_usage(c, "serve", "bad option %s", argv[optind - 1]);
        }
    }
    if (optind != argc) return cli_usage(c, "serve", "unexpected argument %s", argv[optind]);
    struct stat st;
    if (!o.static_dir && stat(ANNOT_WEB_DIR, &st) == 0 && S_ISDIR(st.st_mode))
        o.static_dir = ANNOT_WEB_DIR;

    /* Wait for the stop signals in this thread only: block them before any thread starts. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    an_app *app = NULL;
    an_err e;
    an_err_clear(&e);
    if (an_app_start(&o, &app, &e) < 0) return cli_fail(c, &e);
    printf("annot: serving %s at http://%s:%d/\n", c->db, o.host, an_app_port(app));
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "annot: stopping (%s)\n", sig == SIGINT ? "interrupt" : "terminate");
    an_app_stop(app);
    return 0;
}
