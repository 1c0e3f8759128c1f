/* status.c — status names and texts from the X-macro list, and the
 * per-thread last-error detail.
 *
 * Not a logger: nothing here prints.
 */
#include <stdio.h>
#include <string.h>

#include "ps_status.h"
#include "ps_backend_impl.h"

/* The same shape as the public ps_error_saved, so saving is a copy. */
typedef ps_error_saved ps_error_detail;

static _Thread_local ps_error_detail last;

static const char *const names[] = {
#define PS_X_NAME(name, text) #name,
    PS_STATUS_LIST(PS_X_NAME)
#undef PS_X_NAME
};

static const char *const texts[] = {
#define PS_X_TEXT(name, text) text,
    PS_STATUS_LIST(PS_X_TEXT)
#undef PS_X_TEXT
};

const char *ps_status_name(ps_status s)
{
    return (unsigned)s < PS_STATUS_COUNT ? names[s] : "PS_STATUS_UNKNOWN";
}

const char *ps_status_text(ps_status s)
{
    return (unsigned)s < PS_STATUS_COUNT ? texts[s] : "unknown status";
}

const char *ps_last_error(void) { return last.msg; }
ps_status ps_last_status(void) { return last.status; }
int ps_last_error_code(void) { return last.js_code; }
int ps_last_native_code(void) { return last.native_code; }

void ps_error_clear(void)
{
    last.status = PS_OK;
    last.js_code = 0;
    last.native_code = 0;
    last.msg[0] = '\0';
}

ps_status ps_error_v(ps_status s, int js_code, const char *fmt, va_list ap)
{
    last.status = s;
    last.js_code = js_code;
    last.native_code = 0;
    if (fmt) { /* through a copy: a caller may pass ps_last_error() itself as an argument */
        char buf[sizeof last.msg];
        vsnprintf(buf, sizeof buf, fmt, ap);
        memcpy(last.msg, buf, sizeof buf);
    } else
        snprintf(last.msg, sizeof last.msg, "%s", ps_status_text(s));
    return s;
}

ps_status ps_error(ps_status s, int js_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ps_error_v(s, js_code, fmt, ap);
    va_end(ap);
    return s;
}

void ps_error_set_native(int native_code) { last.native_code = native_code; }

void ps_error_save(ps_error_saved *out) { *out = last; }

ps_status ps_error_restore(const ps_error_saved *saved)
{
    last = *saved;
    return saved->status;
}
