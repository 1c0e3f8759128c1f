/* clock.c — the real clock, the manual clock, and Go-style durations.
 *
 * Not a timer facility: nothing here sleeps or schedules.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps_clock.h"

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

static const ps_clock_ops real_ops = {1, real_now, real_is_manual, real_free};
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

static const ps_clock_ops manual_ops = {1, manual_now, manual_is_manual, manual_free};

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

static int64_t unit_ns(const char *u, size_t n)
{
    static const struct { const char *name; int64_t ns; } units[] = {
        {"ns", 1}, {"us", 1000}, {"µs", 1000}, {"ms", PS_NS_PER_MS},
        {"s", PS_NS_PER_SEC}, {"m", 60 * PS_NS_PER_SEC}, {"h", 3600 * PS_NS_PER_SEC},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0)
            return units[i].ns;
    return 0;
}

ps_status ps_duration_parse(const char *text, int64_t *out_ns)
{
    if (!text || !out_ns)
        return ps_error(PS_ERR_INVALID_ARG, 0, "duration: %s is NULL", text ? "output" : "text");
    const char *p = text;
    if (!*p)
        return ps_error(PS_ERR_INVALID_ARG, 0, "duration is empty (expected e.g. 250ms, 1.5s, 2m)");
    if (strcmp(p, "0") == 0) {
        *out_ns = 0;
        return PS_OK;
    }
    double total = 0;
    while (*p) {
        char *end;
        if (!(*p >= '0' && *p <= '9') && *p != '.')
            return ps_error(PS_ERR_INVALID_ARG, 0, "duration \"%s\": expected a number at column %zu",
                            text, (size_t)(p - text) + 1);
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno)
            return ps_error(PS_ERR_INVALID_ARG, 0, "duration \"%s\": bad number at column %zu",
                            text, (size_t)(p - text) + 1);
        const char *u = end;
        while (*end && !(*end >= '0' && *end <= '9') && *end != '.')
            end++;
        int64_t mult = unit_ns(u, (size_t)(end - u));
        if (!mult)
            return ps_error(PS_ERR_INVALID_ARG, 0, "duration \"%s\": unknown or missing unit at column %zu "
                            "(use ns, us, ms, s, m, h)", text, (size_t)(u - text) + 1);
        total += v * (double)mult;
        if (total > 9.2e18)
            return ps_error(PS_ERR_INVALID_ARG, 0, "duration \"%s\" is too long", text);
        p = end;
    }
    *out_ns = (int64_t)(total + 0.5);
    return PS_OK;
}

char *ps_duration_format(int64_t ns, char *buf, unsigned size)
{
    if (!buf || size == 0)
        return buf;
    const char *sign = ns < 0 ? "-" : "";
    uint64_t v = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
    if (v == 0)
        snprintf(buf, size, "0s");
    else if (v < 1000)
        snprintf(buf, size, "%s%" PRIu64 "ns", sign, v);
    else if (v < (uint64_t)PS_NS_PER_MS)
        snprintf(buf, size, "%s%gus", sign, (double)v / 1e3);
    else if (v < (uint64_t)PS_NS_PER_SEC)
        snprintf(buf, size, "%s%gms", sign, (double)v / 1e6);
    else if (v < 60 * (uint64_t)PS_NS_PER_SEC)
        snprintf(buf, size, "%s%gs", sign, (double)v / 1e9);
    else {
        uint64_t s = v / (uint64_t)PS_NS_PER_SEC;
        uint64_t h = s / 3600, m = (s % 3600) / 60;
        double rest = (double)(v % (60 * (uint64_t)PS_NS_PER_SEC)) / 1e9;
        if (h)
            snprintf(buf, size, "%s%" PRIu64 "h%" PRIu64 "m%gs", sign, h, m, rest);
        else
            snprintf(buf, size, "%s%" PRIu64 "m%gs", sign, m, rest);
    }
    return buf;
}
