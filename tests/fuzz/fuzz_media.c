/* Fuzz target: file headers sniffed for their kind and image size. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "formats/media.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    an_media_kind_of(data, size);
    char path[] = "/tmp/annot-fuzz-media-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        int w, h;
        an_err e;
        an_media_image_size(path, &w, &h, &e);
    }
    close(fd);
    unlink(path);
    return 0;
}
