/* Placeholder until the format is written. */
#include "formats/format.h"

const an_format an_format_ls_json = {.name = "ls-json"};
const an_format an_format_ls_jsonl = {.name = "ls-jsonl"};
const an_format an_format_json_min = {.name = "json-min"};
