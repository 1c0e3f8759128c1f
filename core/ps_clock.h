/* ps_clock.h — time as an interface.
 *
 * Code under simulation never reads the system clock: it asks a ps_clock.
 * Two implementations: the real clock (CLOCK_REALTIME, for production and
 * the JetStream backend) and the manual clock, which only moves when a test
 * or the simulator advances it. Times are nanoseconds since the Unix epoch,
 * durations are nanoseconds.
 *
 * This module is not: a timer wheel or an event loop (sim/ has the loop).
 */
#ifndef PS_CLOCK_H
#define PS_CLOCK_H

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
 * ps_clock_free. Not thread-safe: advance it from the thread that drives
 * the test or simulation. */
ps_clock *ps_clock_manual_new(int64_t start_ns);

/* Moves a manual clock forward by `delta_ns` (>= 0). PS_ERR_INVALID_ARG for
 * a negative delta or a clock that is not manual. */
ps_status ps_clock_advance(ps_clock *c, int64_t delta_ns);

/* Sets a manual clock to `t_ns`, which must not be earlier than now. */
ps_status ps_clock_set(ps_clock *c, int64_t t_ns);

/* Frees a clock; NULL and the real clock are ignored. */
void ps_clock_free(ps_clock *c);

/* Parses a duration such as "250ms", "1.5s", "2m", "1h30m", "700us", "10ns"
 * (Go-style units ns, us, ms, s, m, h). On success writes *out_ns. On
 * failure records a detail and returns PS_ERR_INVALID_ARG. */
ps_status ps_duration_parse(const char *text, int64_t *out_ns);

/* Formats a duration into `buf` ("1.5s", "250ms", "2m0s" style), returns buf. */
char *ps_duration_format(int64_t ns, char *buf, unsigned size);

PS_API_END

#endif
