/* Fuzz target: every single-file importer reads the same bytes. The first byte picks the
 * reader, the rest is the file. Records go to a sink that validates them like import does. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/format.h"
#include "model/validate.h"

static const char xml[] = "<View><Text name=\"text\" value=\"$text\"/>"
                          "<Image name=\"image\" value=\"$image\"/>"
                          "<Labels name=\"ner\" toName=\"text\"><Label value=\"PER\"/>"
                          "<Label value=\"LOC\"/></Labels>"
                          "<RectangleLabels name=\"box\" toName=\"image\"><Label value=\"cat\"/>"
                          "</RectangleLabels>"
                          "<PolygonLabels name=\"poly\" toName=\"image\"><Label value=\"cat\"/>"
                          "</PolygonLabels></View>";

static const an_config *cfg;

static int on_record(void *ud, const an_record *rec, an_err *err)
{
    an_err e;
    if (rec->data && an_validate_task_data(cfg, rec->data, &e) == 0) {
        for (size_t i = 0; rec->annotations && i < json_array_size(rec->annotations); i++) {
            json_t *r = json_object_get(json_array_get(rec->annotations, i), "result");
            if (r) an_validate_result(cfg, rec->data, r, &e);
        }
    }
    return 0;
}

static int on_reject(void *ud, const char *where, const char *reason)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *names[] = {"ls-json", "ls-jsonl", "csv", "tsv", "coco", "conll"};
    if (!cfg) {
        an_config *c;
        an_err e;
        if (an_config_parse(xml, strlen(xml), &c, &e) < 0) __builtin_trap();
        cfg = c;
    }
    if (size < 1) return 0;
    const an_format *f = an_format_find(names[data[0] % 6]);
    char path[] = "/tmp/annot-fuzz-reader-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    if (write(fd, data + 1, size - 1) == (ssize_t)(size - 1) && f && f->read) {
        an_import_sink sink = {.record = on_record, .reject = on_reject};
        an_err e;
        f->read(path, cfg, &sink, &e);
    }
    close(fd);
    unlink(path);
    return 0;
}
