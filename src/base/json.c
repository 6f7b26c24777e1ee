#include "base/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void an_json_write_string(an_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    an_buf_grow(out, len + 2);
    an_buf_addc(out, '"');
    size_t run = 0; /* start of the current run of bytes that need no escaping */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        an_buf_add(out, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': an_buf_add(out, "\\\"", 2); break;
        case '\\': an_buf_add(out, "\\\\", 2); break;
        case '\n': an_buf_add(out, "\\n", 2); break;
        case '\r': an_buf_add(out, "\\r", 2); break;
        case '\t': an_buf_add(out, "\\t", 2); break;
        case '\b': an_buf_add(out, "\\b", 2); break;
        case '\f': an_buf_add(out, "\\f", 2); break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            an_buf_add(out, esc, 6);
        }
        }
    }
    an_buf_add(out, s + run, len - run);
    an_buf_addc(out, '"');
}

void an_json_write_real(an_buf *out, double v)
{
    char tmp[40];
    if (!isfinite(v)) { /* JSON has no infinities; Jansson never produces them */
        an_buf_adds(out, "null");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) break;
    }
    an_buf_adds(out, tmp);
    if (!strpbrk(tmp, ".eEn")) an_buf_add(out, ".0", 2);
}

void an_json_write(an_buf *out, const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        an_buf_addc(out, '{');
        const char *key;
        json_t *val;
        int first = 1;
        json_object_foreach((json_t *)j, key, val)
        {
            if (!first) an_buf_addc(out, ',');
            first = 0;
            an_json_write_string(out, key, strlen(key));
            an_buf_addc(out, ':');
            an_json_write(out, val);
        }
        an_buf_addc(out, '}');
        break;
    }
    case JSON_ARRAY: {
        an_buf_addc(out, '[');
        size_t n = json_array_size(j);
        for (size_t i = 0; i < n; i++) {
            if (i) an_buf_addc(out, ',');
            an_json_write(out, json_array_get(j, i));
        }
        an_buf_addc(out, ']');
        break;
    }
    case JSON_STRING: an_json_write_string(out, json_string_value(j), json_string_length(j)); break;
    case JSON_INTEGER: an_buf_addf(out, "%" PRId64, (int64_t)json_integer_value(j)); break;
    case JSON_REAL: an_json_write_real(out, json_real_value(j)); break;
    case JSON_TRUE: an_buf_add(out, "true", 4); break;
    case JSON_FALSE: an_buf_add(out, "false", 5); break;
    case JSON_NULL: an_buf_add(out, "null", 4); break;
    }
}

char *an_json_text(const json_t *j)
{
    an_buf b;
    an_buf_init(&b);
    an_json_write(&b, j);
    return an_buf_detach(&b);
}

json_t *an_json_parse(const char *text, size_t len, const char *where, an_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &je);
    if (!j) {
        char place[300];
        snprintf(place, sizeof place, "%s%s%d:%d", where ? where : "", where && *where ? ":" : "",
                 je.line, je.column);
        an_err_set(err, AN_EINVAL, place, "malformed JSON: %s", je.text);
    }
    return j;
}

bool an_json_number(const json_t *j, double *out)
{
    if (json_is_integer(j)) {
        *out = (double)json_integer_value(j);
        return true;
    }
    if (json_is_real(j)) {
        *out = json_real_value(j);
        return true;
    }
    return false;
}

const char *an_json_str(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}
