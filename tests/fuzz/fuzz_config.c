/* Fuzz target: labeling config XML from users. */
#include <stddef.h>
#include <stdint.h>

#include "model/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    an_config *cfg = NULL;
    an_err e;
    if (an_config_parse((const char *)data, size, &cfg, &e) == 0) an_config_free(cfg);
    return 0;
}
