/* ps_clock.h — time as an interface.
 *
 * Code under simulation never reads the system clock: it asks a ps_clock.
 * Two implementations: the real clock (CLOCK_REALTIME, for production and
 * the JetStream backend) and the manual clock, which only moves when a test
 * or the simulator advances it. Times are nanoseconds since the Unix epoch,
 * durations are nanoseconds.
 *
 * A clock also owns waiting for it (ps_clock_waiter, ps_clock_wait_until):
 * a thread that must block until a time on a clock, or until another
 * thread signals, asks the clock, so a wait on the manual clock ends when
 * the clock is advanced, not when real time passes, and a wait on the real
 * clock is measured on CLOCK_MONOTONIC, immune to changes of the wall clock.
 *
 * This module is not: a timer wheel or an event loop (sim/ has the loop).
 */
#ifndef PS_CLOCK_H
#define PS_CLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ps_status.h"
#include "ps_api.h"

PS_API_BEGIN

#define PS_NS_PER_MS INT64_C(1000000)
#define PS_NS_PER_SEC INT64_C(1000000000)

typedef struct ps_clock ps_clock;

typedef struct ps_clock_ops {
    int version; /* 1 */
    /* Current time, ns since the epoch. Never goes backwards on the manual
     * clock; the real clock reports CLOCK_REALTIME as is. */
    int64_t (*now)(ps_clock *c);
    /* True for a clock that only moves when advanced: code must never block
     * waiting for it. */
    bool (*is_manual)(ps_clock *c);
    /* Frees the clock. */
    void (*free)(ps_clock *c);
} ps_clock_ops;

struct ps_clock {
    const ps_clock_ops *ops;
};

static inline int64_t ps_clock_now(ps_clock *c) { return c->ops->now(c); }
static inline bool ps_clock_is_manual(ps_clock *c) { return c->ops->is_manual(c); }

/* The real clock. The returned object is shared and static: ps_clock_free
 * on it does nothing. Never NULL. */
ps_clock *ps_clock_real(void);

/* A manual clock starting at `start_ns` (0 picks 2026-01-01T00:00:00Z, so
 * timestamps look like real ones). NULL on allocation failure. Free with
 * ps_clock_free, after every waiter on it. Any thread may read it; one
 * thread at a time advances it (the one that drives the test or the
 * simulation), and an advance wakes the threads waiting on it. */
ps_clock *ps_clock_manual_new(int64_t start_ns);

/* Moves a manual clock forward by `delta_ns` (>= 0) and wakes every waiter
 * on it whose time has come. PS_ERR_INVALID_ARG for a negative delta, an
 * overflow, or a clock that is not manual. Must not be called while
 * holding the mutex of one of the clock's waiters (it takes each). */
ps_status ps_clock_advance(ps_clock *c, int64_t delta_ns);

/* Sets a manual clock to `t_ns`, which must not be earlier than now, and
 * wakes waiters as ps_clock_advance does. */
ps_status ps_clock_set(ps_clock *c, int64_t t_ns);

/* Frees a clock; NULL and the real clock are ignored. */
void ps_clock_free(ps_clock *c);

/* ---- waiting for a clock ------------------------------------------------ */

typedef struct ps_clock_waiter ps_clock_waiter;

/* A place where threads wait on clock `c` until a time or until signalled,
 * guarded by the caller's mutex `mu` (as a condition variable is): the
 * caller holds `mu` to check its own state, to wait and to signal. Both are
 * borrowed and must outlive the waiter. On the manual clock the waiter is
 * registered with the clock, so ps_clock_advance and ps_clock_set wake it;
 * on the real clock it waits on a CLOCK_MONOTONIC condition variable. A
 * clock of another implementation is waited for as a real-time one.
 * Create and free it without holding `mu`. PS_ERR_INVALID_ARG for a NULL
 * argument, PS_ERR_NO_MEMORY; *out is written on success only. */
ps_status ps_clock_waiter_new(ps_clock *c, pthread_mutex_t *mu, ps_clock_waiter **out);

/* Frees a waiter nobody waits on; NULL is fine. */
void ps_clock_waiter_free(ps_clock_waiter *w);

/* Called with the waiter's mutex held: waits until the clock reads t_ns or
 * later, or until ps_clock_waiter_signal, releasing the mutex meanwhile,
 * and returns with it held. True when the clock has reached t_ns (at once
 * when it already had), false when woken before (a signal, or spuriously,
 * as condition variables may): the caller rechecks what it waits for and
 * waits again. On the manual clock no real time is involved: only an
 * advance or a signal ends the wait. */
bool ps_clock_wait_until(ps_clock_waiter *w, int64_t t_ns);

/* Called with the waiter's mutex held: wakes every thread waiting on `w`. */
void ps_clock_waiter_signal(ps_clock_waiter *w);

/* For tests that drive a manual clock from one thread while others wait on
 * it: blocks until at least `n` threads are inside ps_clock_wait_until on
 * `c`, so the test advances the clock only once they wait (synchronising
 * with the clock, not with sleeps). PS_ERR_INVALID_ARG when `c` is not a
 * manual clock. */
ps_status ps_clock_await_waiters(ps_clock *c, int n);

/* Parses a duration such as "250ms", "1.5s", "2m", "1h30m", "700us", "10ns"
 * (Go-style units ns, us, ms, s, m, h). On success writes *out_ns. On
 * failure records a detail and returns PS_ERR_INVALID_ARG. */
ps_status ps_duration_parse(const char *text, int64_t *out_ns);

/* Formats a duration into `buf` ("1.5s", "250ms", "2m0s" style), returns buf. */
char *ps_duration_format(int64_t ns, char *buf, unsigned size);

PS_API_END

#endif
