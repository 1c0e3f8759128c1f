/* interpose.c — the wall clock and randomness of handler code that does
 * not use ps_sim.h, made the run's own (ps_sim.h, "Determinism").
 *
 * The jetsim program defines clock_gettime, gettimeofday, time, rand,
 * random and getrandom and exports them, so a library it loads with
 * --handlers binds to these before the C library's. While the user's code
 * runs inside a simulation (sim_user_current: a handler, init, teardown
 * or payload maker on this thread), they answer from the run's virtual
 * time and the worker's seeded generator; at any other time, and for
 * jetsim's own calls, they hand over to the C library. So unmodified code
 * that reads the clock or calls rand() gives the same run for a seed.
 *
 * Not: a sandbox. Threads the handler starts, files it reads, the network
 * it reaches are not intercepted (--check-determinism shows such code).
 * Only the jetsim program does this; ps_sim_run from a user's own program
 * does not (that program's code calls the C library).
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>

#include "ps_sim.h"
#include "user.h"

#define NS_PER_SEC INT64_C(1000000000)

/* The C library's own function of that name. */
static void *next(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
    ps_sim_ctx *c = sim_user_current();
    if (!c) {
        static int (*real)(clockid_t, struct timespec *);
        if (!real)
            *(void **)&real = next("clock_gettime");
        return real(id, ts);
    }
    /* the wall clock reads the virtual date; every other clock the run's age */
    int64_t ns = id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE ? sim_user_wall_ns(c) : ps_sim_now(c);
    ts->tv_sec = (time_t)(ns / NS_PER_SEC);
    ts->tv_nsec = (long)(ns % NS_PER_SEC);
    return 0;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    ps_sim_ctx *c = sim_user_current();
    if (!c) {
        static int (*real)(struct timeval *, void *);
        if (!real)
            *(void **)&real = next("gettimeofday");
        return real(tv, tz);
    }
    int64_t ns = sim_user_wall_ns(c);
    tv->tv_sec = (time_t)(ns / NS_PER_SEC); /* glibc declares tv nonnull */
    tv->tv_usec = (suseconds_t)(ns % NS_PER_SEC / 1000);
    return 0;
}

time_t time(time_t *out)
{
    ps_sim_ctx *c = sim_user_current();
    if (!c) {
        static time_t (*real)(time_t *);
        if (!real)
            *(void **)&real = next("time");
        return real(out);
    }
    time_t t = (time_t)(sim_user_wall_ns(c) / NS_PER_SEC);
    if (out)
        *out = t;
    return t;
}

int rand(void)
{
    ps_sim_ctx *c = sim_user_current();
    if (!c) {
        static int (*real)(void);
        if (!real)
            *(void **)&real = next("rand");
        return real();
    }
    return (int)(ps_sim_rand(c) % ((uint64_t)RAND_MAX + 1));
}

long random(void)
{
    ps_sim_ctx *c = sim_user_current();
    if (!c) {
        static long (*real)(void);
        if (!real)
            *(void **)&real = next("random");
        return real();
    }
    return (long)(ps_sim_rand(c) & 0x7fffffff);
}

ssize_t getrandom(void *buf, size_t len, unsigned flags)
{
    ps_sim_ctx *c = sim_user_current();
    if (!c) {
        static ssize_t (*real)(void *, size_t, unsigned);
        if (!real)
            *(void **)&real = next("getrandom");
        return real(buf, len, flags);
    }
    for (size_t i = 0; i < len; i += 8) {
        uint64_t r = ps_sim_rand(c);
        memcpy((char *)buf + i, &r, len - i < 8 ? len - i : 8);
    }
    return (ssize_t)len;
}
