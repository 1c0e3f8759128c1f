/* clock.c — the real clock, the manual clock, waiting on either, and
 * Go-style durations.
 *
 * Not a timer facility: nothing here schedules, and the only blocking is
 * the wait a caller asks for (ps_clock_wait_until).
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

struct ps_clock_waiter {
    ps_clock *clock;
    pthread_mutex_t *mu;    /* the caller's */
    pthread_cond_t cond;    /* CLOCK_MONOTONIC unless the clock is manual */
    ps_clock_waiter *next;  /* in the manual clock's list */
};

/* Lock order: a waiter's mutex, then `count_lock` (a leaf); `lock`, then a
 * waiter's mutex. A waiter never takes `lock` while waiting, so an advance
 * that holds `lock` can always take the waiters' mutexes. */
typedef struct manual_clock {
    ps_clock base;
    int64_t now_ns;             /* __atomic: waiters read it from other threads */
    pthread_mutex_t lock;       /* guards `waiters`; held by set/advance while waking them */
    ps_clock_waiter *waiters;
    pthread_mutex_t count_lock; /* guards `nwaiting` */
    pthread_cond_t count_cond;  /* nwaiting grew */
    int nwaiting;               /* threads inside ps_clock_wait_until */
} manual_clock;

static int64_t manual_now(ps_clock *c)
{
    return __atomic_load_n(&((manual_clock *)c)->now_ns, __ATOMIC_ACQUIRE);
}

static bool manual_is_manual(ps_clock *c) { (void)c; return true; }

static void manual_free(ps_clock *c)
{
    manual_clock *m = (manual_clock *)c;
    pthread_mutex_destroy(&m->lock);
    pthread_mutex_destroy(&m->count_lock);
    pthread_cond_destroy(&m->count_cond);
    free(m);
}

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
    m->waiters = NULL;
    m->nwaiting = 0;
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->count_lock, NULL);
    pthread_cond_init(&m->count_cond, NULL);
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

/* Stores the new time, then wakes every waiter under its own mutex: a
 * waiter that read the old time holds that mutex until it is inside
 * pthread_cond_wait, so the broadcast cannot fall between its check and
 * its wait. Waiters whose time has not come wake, recheck and wait again.
 * A clock without waiters (every simulation) skips the lock: a waiter
 * registered meanwhile reads the new time before it first waits (both
 * sides are sequentially consistent, so one of them sees the other). */
static void manual_move(manual_clock *m, int64_t t_ns)
{
    __atomic_store_n(&m->now_ns, t_ns, __ATOMIC_SEQ_CST);
    if (!__atomic_load_n(&m->waiters, __ATOMIC_SEQ_CST))
        return;
    pthread_mutex_lock(&m->lock);
    for (ps_clock_waiter *w = m->waiters; w; w = w->next) {
        pthread_mutex_lock(w->mu);
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(w->mu);
    }
    pthread_mutex_unlock(&m->lock);
}

ps_status ps_clock_advance(ps_clock *c, int64_t delta_ns)
{
    manual_clock *m = as_manual(c, "ps_clock_advance");
    if (!m)
        return PS_ERR_INVALID_ARG;
    if (delta_ns < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_clock_advance: negative delta %" PRId64 " ns", delta_ns);
    int64_t now = manual_now(c);
    if (now > INT64_MAX - delta_ns)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_clock_advance: time would overflow");
    manual_move(m, now + delta_ns);
    return PS_OK;
}

ps_status ps_clock_set(ps_clock *c, int64_t t_ns)
{
    manual_clock *m = as_manual(c, "ps_clock_set");
    if (!m)
        return PS_ERR_INVALID_ARG;
    int64_t now = manual_now(c);
    if (t_ns < now)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_clock_set: %" PRId64 " is earlier than now (%" PRId64 ")",
                        t_ns, now);
    manual_move(m, t_ns);
    return PS_OK;
}

void ps_clock_free(ps_clock *c)
{
    if (c)
        c->ops->free(c);
}

/* ---- waiting ---------------------------------------------------------------------- */

static manual_clock *manual_or_null(ps_clock *c)
{
    return c && c->ops == &manual_ops ? (manual_clock *)c : NULL;
}

ps_status ps_clock_waiter_new(ps_clock *c, pthread_mutex_t *mu, ps_clock_waiter **out)
{
    if (!c || !mu || !out)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_clock_waiter_new: %s is NULL",
                        !c ? "clock" : !mu ? "mutex" : "out");
    ps_clock_waiter *w = calloc(1, sizeof *w);
    if (!w)
        return ps_error(PS_ERR_NO_MEMORY, 0, "ps_clock_waiter_new: out of memory");
    manual_clock *m = manual_or_null(c);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    if (!m) /* real time: deadlines on CLOCK_MONOTONIC, which nobody sets back */
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc) {
        free(w);
        return ps_error(PS_ERR_NO_MEMORY, 0, "ps_clock_waiter_new: no condition variable (error %d)", rc);
    }
    w->clock = c;
    w->mu = mu;
    if (m) {
        pthread_mutex_lock(&m->lock);
        w->next = m->waiters;
        __atomic_store_n(&m->waiters, w, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&m->lock);
    }
    *out = w;
    return PS_OK;
}

void ps_clock_waiter_free(ps_clock_waiter *w)
{
    if (!w)
        return;
    manual_clock *m = manual_or_null(w->clock);
    if (m) {
        pthread_mutex_lock(&m->lock);
        ps_clock_waiter **pp = &m->waiters;
        while (*pp && *pp != w)
            pp = &(*pp)->next;
        if (*pp)
            __atomic_store_n(pp, w->next, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&m->lock);
    }
    pthread_cond_destroy(&w->cond);
    free(w);
}

static void count_waiting(manual_clock *m, int delta)
{
    pthread_mutex_lock(&m->count_lock);
    m->nwaiting += delta;
    if (delta > 0)
        pthread_cond_broadcast(&m->count_cond);
    pthread_mutex_unlock(&m->count_lock);
}

/* `rem_ns` (> 0) from now on CLOCK_MONOTONIC. */
static struct timespec monotonic_after(int64_t rem_ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + rem_ns % PS_NS_PER_SEC;
    ts.tv_sec += (time_t)(rem_ns / PS_NS_PER_SEC + ns / PS_NS_PER_SEC);
    ts.tv_nsec = (long)(ns % PS_NS_PER_SEC);
    return ts;
}

bool ps_clock_wait_until(ps_clock_waiter *w, int64_t t_ns)
{
    if (!w)
        return true;
    int64_t now = ps_clock_now(w->clock);
    if (now >= t_ns)
        return true;
    manual_clock *m = manual_or_null(w->clock);
    if (m) {
        count_waiting(m, 1);
        pthread_cond_wait(&w->cond, w->mu);
        count_waiting(m, -1);
    } else {
        /* the real clock's time can jump; the remaining duration cannot */
        struct timespec dl = monotonic_after(t_ns - now);
        pthread_cond_timedwait(&w->cond, w->mu, &dl);
    }
    return ps_clock_now(w->clock) >= t_ns;
}

void ps_clock_waiter_signal(ps_clock_waiter *w)
{
    if (w)
        pthread_cond_broadcast(&w->cond);
}

ps_status ps_clock_await_waiters(ps_clock *c, int n)
{
    manual_clock *m = as_manual(c, "ps_clock_await_waiters");
    if (!m)
        return PS_ERR_INVALID_ARG;
    pthread_mutex_lock(&m->count_lock);
    while (m->nwaiting < n)
        pthread_cond_wait(&m->count_cond, &m->count_lock);
    pthread_mutex_unlock(&m->count_lock);
    return PS_OK;
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
