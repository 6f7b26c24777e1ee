/* Fuzz target: the JSON pull scanner on any bytes. A full walk (reading every string and
 * number) and a plain skip must agree, never read outside the input (ASan), and accept every
 * text without NUL bytes that Jansson accepts within the scanner's nesting limit, reading
 * the same numbers. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/jscan.h"

static int walk(an_jscan *s, unsigned depth, unsigned *max_depth)
{
    an_jstr str;
    double d;
    if (depth > *max_depth) *max_depth = depth;
    switch (an_jscan_peek(s)) {
    case AN_JOBJECT: {
        if (an_jscan_object(s) < 0) return -1;
        int r;
        while ((r = an_jscan_member(s, &str)) == 1)
            if (walk(s, depth + 1, max_depth) < 0) return -1;
        return r;
    }
    case AN_JARRAY: {
        if (an_jscan_array(s) < 0) return -1;
        int r;
        while ((r = an_jscan_element(s)) == 1)
            if (walk(s, depth + 1, max_depth) < 0) return -1;
        return r;
    }
    case AN_JSTRING: {
        if (an_jscan_string(s, &str) < 0) return -1;
        an_buf b = AN_BUF_INIT;
        an_jstr_unescape(&str, &b);
        if (b.len > str.len) __builtin_trap(); /* decoding never grows the text */
        an_buf_free(&b);
        return 0;
    }
    case AN_JNUMBER:
        return an_jscan_number(s, &d);
    default:
        return an_jscan_skip(s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so reading one byte past the end is caught. */
    char *text = malloc(size ? size : 1);
    if (!text) return 0;
    memcpy(text, data, size);
    an_jscan s;
    unsigned depth = 0;
    an_jscan_init(&s, text, size);
    bool walked = walk(&s, 0, &depth) == 0 && an_jscan_done(&s) == 0;
    an_jscan_init(&s, text, size);
    bool skipped = an_jscan_skip(&s) == 0 && an_jscan_done(&s) == 0;
    if (walked != skipped) __builtin_trap();
    if (!walked) {
        an_err e;
        an_jscan_error(&s, "fuzz", &e);
    }

    /* Jansson reads a NUL byte as the end of the text; the scanner refuses it. */
    json_t *j = memchr(text, 0, size) ? NULL : json_loadb(text, size, JSON_DECODE_ANY, NULL);
    if (j && depth < AN_JSCAN_MAX_DEPTH && !walked) __builtin_trap();
    if (j && json_is_real(j)) {
        double d;
        an_jscan_init(&s, text, size);
        if (an_jscan_number(&s, &d) < 0 || d != json_real_value(j)) __builtin_trap();
    }
    json_decref(j);
    free(text);
    return 0;
}
