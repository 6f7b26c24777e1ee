/* Placeholder until the format is written. */
#include "formats/format.h"

const an_format an_format_voc = {.name = "voc"};
