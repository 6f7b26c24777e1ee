#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void an_err_clear(an_err *e)
{
    if (!e) return;
    e->code = 0;
    e->where[0] = '\0';
    e->msg[0] = '\0';
}

int an_err_set(an_err *e, int code, const char *where, const char *fmt, ...)
{
    if (e) {
        e->code = code;
        snprintf(e->where, sizeof e->where, "%s", where ? where : "");
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -code;
}

void an_err_prefix_where(an_err *e, const char *prefix)
{
    if (!e || !prefix || !*prefix) return;
    char tmp[sizeof e->where];
    if (e->where[0])
        snprintf(tmp, sizeof tmp, "%s:%s", prefix, e->where);
    else
        snprintf(tmp, sizeof tmp, "%s", prefix);
    memcpy(e->where, tmp, sizeof tmp);
}

int an_err_exit_status(const an_err *e)
{
    switch (e->code) {
    case AN_EINVAL:
    case AN_ENOTFOUND:
    case AN_EEXIST: return 1;
    default: return 2;
    }
}

const char *an_code_name(int code)
{
    switch (code) {
    case AN_OK: return "ok";
    case AN_EINVAL: return "invalid";
    case AN_ENOTFOUND: return "not_found";
    case AN_EEXIST: return "exists";
    case AN_EIO: return "io";
    case AN_ENOMEM: return "no_memory";
    case AN_EBUSY: return "busy";
    default: return "internal";
    }
}
