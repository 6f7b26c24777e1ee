/* Fuzz target: the PII scanner on any bytes. The scan of all lines at once
 * (an_pii_scan_lines) must give, line by line, what each line scanned alone gives (the
 * per-type start finders read only inside the buffer; ASan checks that). One custom pattern
 * that can match a line end and one deny term take part. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "comply/pii.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static an_pii_scanner *sc;
    static an_pii_ctx *ctx;
    an_err e;
    if (!sc) {
        an_pii_rules *r = an_pii_rules_new();
        if (an_pii_rules_add_pattern(r, "WS=a\\s+b", &e) < 0 ||
            an_pii_rules_add_deny(r, "secret", 6, &e) < 0 ||
            an_pii_scanner_new(r, NULL, &sc, &e) < 0 || an_pii_ctx_new(sc, &ctx, &e) < 0)
            __builtin_trap();
        an_pii_rules_free(r);
    }
    /* An exact-size copy, so that ASan sees any read past the end. */
    char *text = malloc(size ? size : 1);
    if (size) memcpy(text, data, size);
    const an_pii_finding *f;
    size_t n;
    if (an_pii_scan_lines(ctx, text, size, &f, &n, &e) < 0) __builtin_trap();
    an_pii_finding *all = malloc((n ? n : 1) * sizeof *all);
    if (n) memcpy(all, f, n * sizeof *all);
    size_t k = 0, ls = 0;
    while (ls <= size) {
        const char *nl = ls < size ? memchr(text + ls, '\n', size - ls) : NULL;
        size_t le = nl ? (size_t)(nl - text) : size, ce = le;
        if (ce > ls && text[ce - 1] == '\r') ce--;
        if (an_pii_scan(ctx, text + ls, ce - ls, &f, &n, &e) < 0) __builtin_trap();
        for (size_t i = 0; i < n; i++, k++) {
            const an_pii_finding *a = &all[k];
            if (a->bstart - ls != f[i].bstart || a->bend - ls != f[i].bend ||
                a->start != f[i].start || a->end != f[i].end || a->type != f[i].type ||
                a->score != f[i].score)
                __builtin_trap();
        }
        if (!nl) break;
        ls = le + 1;
    }
    (void)an_pii_scan_lines(ctx, text, size, &f, &n, &e);
    if (n != k) __builtin_trap();
    free(all);
    free(text);
    return 0;
}
