/* annot formats: which formats import and export. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "formats/format.h"

int cmd_formats(cli *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            c->json = true;
        else if (cli_is_help(argv[i])) {
            puts("usage: annot formats [--json]\n\nLists each format, whether it imports and "
                 "exports, and what it holds.");
            return 0;
        } else
            return cli_usage(c, "formats", "unexpected argument %s", argv[i]);
    }
    for (const an_format *const *f = an_formats(); *f; f++) {
        const an_format *fmt = *f;
        const char *desc = fmt->description ? fmt->description : "";
        if (c->json) {
            json_t *o = json_pack("{s:s,s:b,s:b,s:b,s:s}", "name", fmt->name, "import",
                                  fmt->read != NULL, "export", fmt->export_begin != NULL,
                                  "folder", fmt->export_to_dir, "description", desc);
            cli_print_json(o);
        } else {
            printf("%-10s %-6s %-6s %s\n", fmt->name, fmt->read ? "import" : "",
                   fmt->export_begin ? "export" : "", desc);
        }
    }
    return 0;
}
