/* clock.c — the real clock, the manual clock, and Go-style durations.
 *
 * Not a timer facility: nothing here sleeps or schedules.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps_clock.h"
#include "ps_backend_impl.h"

/* ---- real clock -------------------------------------------------------------- */

static int64_t real_now(ps_clock *c)
{
    (void)c;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * PS_NS_PER_SEC + ts.tv_nsec;
}

static bool real_is_manual(ps_clock *c) { (void)c; return false; }
static void real_free(ps_clock *c) { (void)c; }

static const ps_clock_ops real_ops = {
    .version = 1, .now = real_now, .is_manual = real_is_manual, .free = real_free,
};
static ps_clock real_clock = {&real_ops};

ps_clock *ps_clock_real(void) { return &real_clock; }

/* ---- manual clock -------------------------------------------------------------- */

typedef struct manual_clock {
    ps_clock base;
    int64_t now_ns;
} manual_clock;

static int64_t manual_now(ps_clock *c) { return ((manual_clock *)c)->now_ns; }
static bool manual_is_manual(ps_clock *c) { (void)c; return true; }
static void manual_free(ps_clock *c) { free(c); }

static const ps_clock_ops manual_ops = {
    .version = 1, .now = manual_now, .is_manual = manual_is_manual, .free = manual_free,
};

/* 2026-01-01T00:00:00Z: timestamps on the manual clock look like real ones. */
#define MANUAL_EPOCH_NS (INT64_C(1767225600) * PS_NS_PER_SEC)

ps_clock *ps_clock_manual_new(int64_t start_ns)
{
    manual_clock *m = malloc(sizeof *m);
    if (!m)
        return NULL;
    m->base.ops = &manual_ops;
    m->now_ns = start_ns ? start_ns : MANUAL_EPOCH_NS;
    return &m->base;
}

static manual_clock *as_manual(ps_clock *c, const char *fn)
{
    if (!c || c->ops != &manual_ops) {
        ps_error(PS_ERR_INVALID_ARG, 0, "%s: %s", fn, c ? "the clock is not a manual clock" : "clock is NULL");
        return NULL;
    }
    return (manual_clock *)c;
}

ps_status ps_clock_advance(ps_clock *c, int64_t delta_ns)
{
    manual_clock *m = as_manual(c, "ps_clock_advance");
    if (!m)
        return PS_ERR_INVALID_ARG;
    if (delta_ns < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_clock_advance: negative delta %" PRId64 " ns", delta_ns);
    if (m->now_ns > INT64_MAX - delta_ns)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_clock_advance: time would overflow");
    m->now_ns += delta_ns;
    return PS_OK;
}

ps_status ps_clock_set(ps_clock *c, int64_t t_ns)
{
    manual_clock *m = as_manual(c, "ps_clock_set");
    if (!m)
        return PS_ERR_INVALID_ARG;
    if (t_ns < m->now_ns)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_clock_set: %" PRId64 " is earlier than now (%" PRId64 ")",
                        t_ns, m->now_ns);
    m->now_ns = t_ns;
    return PS_OK;
}

void ps_clock_free(ps_clock *c)
{
    if (c)
        c->ops->free(c);
}

/* ---- durations ------------------------------------------------------------------ */

/* Go's time.ParseDuration units; "µs" in both Unicode spellings (U+00B5
 * micro sign and U+03BC Greek mu), as Go accepts. */
static uint64_t unit_ns(const char *u, size_t n)
{
    static const struct { const char *name; uint64_t ns; } units[] = {
        {"ns", 1}, {"us", 1000}, {"\xc2\xb5s", 1000}, {"\xce\xbcs", 1000},
        {"ms", 1000000}, {"s", 1000000000}, {"m", UINT64_C(60000000000)},
        {"h", UINT64_C(3600000000000)},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0)
            return units[i].ns;
    return 0;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* One "<number><unit>" element at *pp, in ns, added to *total. Integer
 * arithmetic as Go does it, so "1.000000001s" is exact; fraction digits
 * beyond what fits in 64 bits are read and dropped, as Go drops them. */
static ps_status dur_element(const char *text, const char **pp, uint64_t *total)
{
    const char *p = *pp;
    const uint64_t max = (uint64_t)INT64_MAX;
    uint64_t whole = 0, frac = 0, scale = 1;
    bool digits = false;
    for (; is_digit(*p); p++, digits = true) {
        uint64_t d = (uint64_t)(*p - '0');
        if (whole > (max - d) / 10)
            return ps_error(PS_ERR_INVALID_ARG, 0, "duration \"%s\" overflows int64 nanoseconds", text);
        whole = whole * 10 + d;
    }
    if (*p == '.')
        for (p++; is_digit(*p); p++, digits = true)
            if (scale <= (max - 9) / 10 && frac <= (max - 9) / 10) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
    if (!digits)
        return ps_error(PS_ERR_INVALID_ARG, 0, "duration \"%s\": expected a number at column %zu",
                        text, (size_t)(*pp - text) + 1);
    const char *u = p;
    while (*p && *p != '.' && !is_digit(*p))
        p++;
    uint64_t unit = unit_ns(u, (size_t)(p - u));
    if (!unit)
        return ps_error(PS_ERR_INVALID_ARG, 0, "duration \"%s\": %s unit at column %zu (use ns, us, "
                        "ms, s, m, h)", text, p == u ? "missing" : "unknown", (size_t)(u - text) + 1);
    if (whole > max / unit)
        return ps_error(PS_ERR_INVALID_ARG, 0, "duration \"%s\" overflows int64 nanoseconds", text);
    uint64_t v = whole * unit + (uint64_t)((double)frac * ((double)unit / (double)scale));
    if (v > max || *total > max - v)
        return ps_error(PS_ERR_INVALID_ARG, 0, "duration \"%s\" overflows int64 nanoseconds", text);
    *total += v;
    *pp = p;
    return PS_OK;
}

ps_status ps_duration_parse(const char *text, int64_t *out_ns)
{
    if (!text || !out_ns)
        return ps_error(PS_ERR_INVALID_ARG, 0, "duration: %s is NULL", text ? "output" : "text");
    if (!*text)
        return ps_error(PS_ERR_INVALID_ARG, 0, "duration is empty (expected e.g. 250ms, 1.5s, 2m)");
    if (*text == '-')
        return ps_error(PS_ERR_INVALID_ARG, 0, "duration \"%s\" is negative", text);
    const char *p = *text == '+' ? text + 1 : text;
    if (strcmp(p, "0") == 0) { /* Go: the one number allowed without a unit */
        *out_ns = 0;
        return PS_OK;
    }
    if (!*p)
        return ps_error(PS_ERR_INVALID_ARG, 0, "duration \"%s\": expected a number at column 2", text);
    uint64_t total = 0;
    while (*p) {
        ps_status s = dur_element(text, &p, &total);
        if (s != PS_OK)
            return s;
    }
    *out_ns = (int64_t)total;
    return PS_OK;
}

/* Writes v / 10^prec's fraction backwards before *w, without trailing
 * zeros and without the '.' when it is zero (Go's fmtFrac); returns the
 * integer part. */
static uint64_t fmt_frac(char **w, uint64_t v, int prec)
{
    bool print = false;
    for (int i = 0; i < prec; i++) {
        unsigned digit = (unsigned)(v % 10);
        print = print || digit != 0;
        if (print)
            *--*w = (char)('0' + digit);
        v /= 10;
    }
    if (print)
        *--*w = '.';
    return v;
}

static void fmt_int(char **w, uint64_t v)
{
    do {
        *--*w = (char)('0' + v % 10);
        v /= 10;
    } while (v);
}

/* Go's time.Duration.String, written from the end of a local buffer. */
char *ps_duration_format(int64_t ns, char *buf, unsigned size)
{
    if (!buf || size == 0)
        return buf;
    char tmp[40];
    char *end = tmp + sizeof tmp, *w = end;
    uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    if (u == 0) {
        snprintf(buf, size, "0s");
        return buf;
    }
    *--w = 's';
    if (u < (uint64_t)PS_NS_PER_SEC) {
        int prec = 0;
        if (u < 1000) {
            *--w = 'n';
        } else if (u < (uint64_t)PS_NS_PER_MS) {
            prec = 3;
            w -= 2;
            memcpy(w, "\xc2\xb5", 2); /* "µ", as Go prints it */
        } else {
            prec = 6;
            *--w = 'm';
        }
        fmt_int(&w, fmt_frac(&w, u, prec));
    } else {
        u = fmt_frac(&w, u, 9);
        fmt_int(&w, u % 60);
        u /= 60;
        if (u > 0) {
            *--w = 'm';
            fmt_int(&w, u % 60);
            u /= 60;
            if (u > 0) {
                *--w = 'h';
                fmt_int(&w, u);
            }
        }
    }
    if (ns < 0)
        *--w = '-';
    snprintf(buf, size, "%.*s", (int)(end - w), w);
    return buf;
}
