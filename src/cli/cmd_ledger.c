/* annot ledger verify|show|key|verify-export: the provenance ledger (docs/compliance.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "comply/ledger.h"

static const char usage[] =
    "usage: annot ledger verify [--key HEX] [--json]\n"
    "       annot ledger show TASK [--json]\n"
    "       annot ledger key [--json]\n"
    "       annot ledger verify-export PATH [--manifest FILE] [--key HEX] [--ledger] [--json]\n\n"
    "The provenance ledger records every import, annotation, redaction and export in a chain\n"
    "of entries, each hashed with the one before and signed with the workspace's key (the file\n"
    "WORKSPACE.key beside the workspace, or $ANNOT_LEDGER_KEY).\n\n"
    "  verify         check the whole chain; names the first entry removed, altered, reordered\n"
    "                 or not signed by the key (exit 1). --key HEX: the public key the entries\n"
    "                 must be signed with (else the key file's, else the workspace's)\n"
    "  show TASK      the entries concerning one task: its import, annotations, exports\n"
    "  key            print the workspace's public key (creating the key on first use)\n"
    "  verify-export  check an export against its manifest (PATH.manifest.json, or\n"
    "                 PATH/annot-manifest.json for a folder): the manifest's signature, the\n"
    "                 ledger entry it pins, and the digest of what was received (exit 1 when\n"
    "                 any fails). --key HEX: the key the sender announced; --ledger: also\n"
    "                 check that this workspace's ledger holds the pinned entry\n";

static bool parse_key(const char *hex, uint8_t pk[AN_LEDGER_PK_BYTES])
{
    if (hex && strncmp(hex, "ed25519:", 8) == 0) hex += 8;
    return an_ledger_unhex(hex, pk, AN_LEDGER_PK_BYTES);
}

static int do_verify(cli *c, const uint8_t *pinned)
{
    an_store *s = cli_store(c);
    if (!s) return 2;
    an_err e;
    an_err_clear(&e);
    an_ledger_check k;
    if (an_ledger_verify(s, pinned, &k, &e) < 0) return cli_fail(c, &e);
    char head[2 * AN_LEDGER_HASH_BYTES + 1], pk[2 * AN_LEDGER_PK_BYTES + 1];
    an_ledger_hex(k.head, sizeof k.head, head);
    an_ledger_hex(k.pk, sizeof k.pk, pk);
    bool ok = k.problem == AN_LEDGER_OK;
    if (c->json) {
        json_t *o = json_pack("{s:b,s:I,s:I,s:s,s:s,s:s}", "ok", ok, "entries",
                              (json_int_t)k.entries, "head_seq", (json_int_t)k.last_seq, "head",
                              head, "public_key", pk, "key_source", k.key_source);
        if (!ok)
            json_object_set_new(o, "bad", json_pack("{s:I,s:s,s:s}", "seq", (json_int_t)k.bad_seq,
                                                    "problem", an_ledger_problem_name(k.problem),
                                                    "message", k.message));
        cli_print_json(o);
    } else if (ok) {
        printf("ledger ok: %lld entries, head %lld %s\nsigned by %s (%s)\n",
               (long long)k.entries, (long long)k.last_seq, head, pk, k.key_source);
    } else {
        printf("ledger BAD at entry %lld (%s): %s\n%lld entries before it verified\n",
               (long long)k.bad_seq, an_ledger_problem_name(k.problem), k.message,
               (long long)k.entries);
    }
    return ok ? 0 : 1;
}

typedef struct show_ctx {
    cli *c;
    an_store *s;
    int64_t task_id;
    an_err *err;
    int64_t n;
} show_ctx;

/* One line of text about an entry's body. */
static void describe(const char *kind, const json_t *b, int64_t task_id, char *out, size_t cap)
{
    if (!strcmp(kind, "import")) {
        snprintf(out, cap, "batch %lld: tasks %lld..%lld (%lld), %lld annotations",
                 (long long)json_integer_value(json_object_get(b, "batch")),
                 (long long)json_integer_value(json_object_get(b, "first_task")),
                 (long long)json_integer_value(json_object_get(b, "last_task")),
                 (long long)json_integer_value(json_object_get(b, "tasks")),
                 (long long)json_integer_value(json_object_get(b, "annotations")));
    } else if (!strcmp(kind, "annotation")) {
        const json_t *list = json_object_get(b, "annotations");
        an_buf ids = AN_BUF_INIT;
        for (size_t i = 0; i < json_array_size(list); i++) {
            const json_t *item = json_array_get(list, i);
            if (json_integer_value(json_array_get(item, 1)) != task_id) continue;
            const char *h = json_string_value(json_array_get(item, 2));
            an_buf_addf(&ids, "%s%lld (result %.12s)", ids.len ? ", " : "",
                        (long long)json_integer_value(json_array_get(item, 0)), h ? h : "none");
        }
        snprintf(out, cap, "%s: annotation %s", an_json_str(b, "action") ? an_json_str(b, "action") : "?",
                 ids.p ? ids.p : "?");
        an_buf_free(&ids);
    } else if (!strcmp(kind, "export")) {
        const char *d = an_json_str(b, "digest");
        snprintf(out, cap, "%s, %lld tasks, %s, digest %.16s", an_json_str(b, "format"),
                 (long long)json_integer_value(json_object_get(b, "tasks")),
                 an_json_str(b, "file") ? an_json_str(b, "file") : "standard output",
                 d ? d : "none");
    } else {
        snprintf(out, cap, "%s", "");
    }
}

static int show_row(void *ud, const an_ledger_row *r)
{
    show_ctx *x = ud;
    an_err perr;
    json_t *env = an_json_parse(r->body, r->body_len, "ledger", &perr);
    json_t *body = json_object_get(env, "body");
    const char *content = NULL;
    if (!strcmp(r->kind, "import")) {
        bool same = false;
        int rc = an_ledger_import_check(x->s, r, &same, x->err);
        if (rc < 0) {
            json_decref(env);
            return rc;
        }
        content = same ? "unchanged" : "changed";
    }
    char hash[2 * AN_LEDGER_HASH_BYTES + 1] = "";
    if (r->hash_len == AN_LEDGER_HASH_BYTES) an_ledger_hex(r->hash, r->hash_len, hash);
    if (x->c->json) {
        json_t *o = json_pack("{s:I,s:s,s:s,s:I,s:s,s:O}", "seq", (json_int_t)r->seq, "at", r->at,
                              "kind", r->kind, "project", (json_int_t)r->project_id, "hash", hash,
                              "body", body ? body : json_null());
        if (content) json_object_set_new(o, "content", json_string(content));
        cli_print_json(o);
    } else {
        char line[1024];
        describe(r->kind, body, x->task_id, line, sizeof line);
        printf("%6lld  %s  %-10s %s%s%s\n", (long long)r->seq, r->at, r->kind, line,
               content ? "; content since: " : "", content ? content : "");
    }
    json_decref(env);
    x->n++;
    return 0;
}

static int do_show(cli *c, const char *task)
{
    char *end;
    long long id = strtoll(task, &end, 10);
    if (*end || id <= 0) return cli_usage(c, "ledger", "TASK must be a task id");
    an_store *s = cli_store(c);
    if (!s) return 2;
    an_err e;
    an_err_clear(&e);
    show_ctx x = {.c = c, .s = s, .task_id = id, .err = &e};
    int rc = an_ledger_task_history(s, id, show_row, &x, &e);
    if (rc < 0) return cli_fail(c, &e);
    if (!c->json && x.n == 0) printf("no ledger entries concern task %lld\n", id);
    return 0;
}

static int do_key(cli *c)
{
    an_store *s = cli_store(c);
    if (!s) return 2;
    an_err e;
    an_err_clear(&e);
    uint8_t pk[AN_LEDGER_PK_BYTES];
    char path[PATH_MAX];
    int rc = an_ledger_key_path(s, path, &e);
    if (rc == 0) rc = an_ledger_public_key(s, true, pk, &e);
    if (rc < 0) return cli_fail(c, &e);
    char hex[2 * AN_LEDGER_PK_BYTES + 1];
    an_ledger_hex(pk, sizeof pk, hex);
    if (c->json)
        cli_print_json(json_pack("{s:s,s:s,s:s}", "public_key", hex, "algorithm", "ed25519",
                                 "key_file", path));
    else
        printf("ed25519:%s\n", hex);
    return 0;
}

static int do_verify_export(cli *c, const char *path, const char *manifest, const uint8_t *pinned,
                            bool ledger)
{
    an_store *s = NULL;
    if (ledger && !(s = cli_store(c))) return 2;
    an_err e;
    an_err_clear(&e);
    an_export_verdict v;
    if (an_ledger_verify_export(path, manifest, pinned, s, &v, &e) < 0) return cli_fail(c, &e);
    if (c->json) {
        json_t *o = json_pack("{s:b,s:b,s:b,s:b,s:b,s:I,s:s,s:s,s:I}", "ok", v.ok, "signature",
                              v.signature_ok, "entry", v.entry_ok, "digest", v.digest_ok, "key",
                              v.key_ok, "seq", (json_int_t)v.seq, "hash", v.hash_hex,
                              "public_key", v.pk_hex, "tasks", (json_int_t)v.tasks);
        json_object_set_new(o, "workspace", v.workspace < 0 ? json_null() : json_boolean(v.workspace));
        if (!v.ok) json_object_set_new(o, "message", json_string(v.message));
        cli_print_json(o);
    } else if (v.ok) {
        printf("export ok: %lld tasks; pins ledger entry %lld %s\nsigned by ed25519:%s%s\n",
               (long long)v.tasks, (long long)v.seq, v.hash_hex, v.pk_hex,
               pinned ? " (the key given)"
                      : "\ncompare this key with the sender's `annot ledger key` (or pass --key)");
        if (v.workspace == 1) printf("the workspace's ledger holds that entry unchanged\n");
    } else {
        printf("export BAD: %s\n", v.message);
    }
    return v.ok ? 0 : 1;
}

int cmd_ledger(cli *c, int argc, char **argv)
{
    const char *sub = NULL, *arg = NULL, *manifest = NULL, *key = NULL;
    bool ledger = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            c->json = true;
        } else if (!strcmp(argv[i], "--ledger")) {
            ledger = true;
        } else if (!strcmp(argv[i], "--key") || !strcmp(argv[i], "--manifest")) {
            if (i + 1 >= argc) return cli_usage(c, "ledger", "%s needs a value", argv[i]);
            if (!strcmp(argv[i], "--key"))
                key = argv[++i];
            else
                manifest = argv[++i];
        } else if (argv[i][0] == '-') {
            return cli_usage(c, "ledger", "unknown option %s", argv[i]);
        } else if (!sub) {
            sub = argv[i];
        } else if (!arg) {
            arg = argv[i];
        } else {
            return cli_usage(c, "ledger", "unexpected argument %s", argv[i]);
        }
    }
    if (!sub) return cli_usage(c, "ledger", "give verify, show, key or verify-export");
    uint8_t pk[AN_LEDGER_PK_BYTES];
    if (key && !parse_key(key, pk))
        return cli_usage(c, "ledger", "--key takes a public key of 64 hex digits");
    bool takes_arg = !strcmp(sub, "show") || !strcmp(sub, "verify-export");
    if (takes_arg && !arg) return cli_usage(c, "ledger", "%s needs an argument", sub);
    if (!takes_arg && arg) return cli_usage(c, "ledger", "unexpected argument %s", arg);
    if (!strcmp(sub, "verify")) return do_verify(c, key ? pk : NULL);
    if (!strcmp(sub, "show")) return do_show(c, arg);
    if (!strcmp(sub, "key")) return do_key(c);
    if (!strcmp(sub, "verify-export"))
        return do_verify_export(c, arg, manifest, key ? pk : NULL, ledger);
    return cli_usage(c, "ledger", "unknown subcommand %s", sub);
}
