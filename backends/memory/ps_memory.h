/* ps_memory.h — the in-process JetStream model (memory backend).
 *
 * Behaves like nats-server 2.9.10 for what a job system touches (streams,
 * retention, dedup, limits, durable pull consumers, the delivery engine,
 * advisories, restarts: docs/MODEL.md, JS 15), on an injected clock. It never
 * reads the system clock except through a real ps_clock, never starts a
 * thread, and never lets pointer values or hash order decide what it
 * delivers, so a run on the manual clock is a pure function of its inputs.
 *
 * Timed work (ack-wait expiry, MaxAge, ephemeral inactivity) is done lazily
 * at the next call at or after its deadline; ps_backend_next_deadline tells
 * a simulator when that is, and ps_backend_tick performs it.
 *
 * Memory: big pieces (arena blocks of stored messages and dedup ids,
 * rings, indexes) that a closed backend gave back are kept by the process
 * for the next backend, already faulted in (a test suite opens thousands):
 * at most as much as the process ever used at once, at least 256 MiB when
 * it used that much, never more than 1 GiB. ps_memory_trim gives them
 * back to the system.
 *
 * This module is not: a network server. Nothing here listens on a socket.
 */
#ifndef PS_MEMORY_H
#define PS_MEMORY_H

#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_api.h"

PS_API_BEGIN

typedef struct ps_memory_options {
    /* The clock (borrowed; must outlive the backend). NULL: the real clock.
     * On a manual clock fetch never blocks and the backend takes no locks;
     * on the real clock fetch waits up to its expiry and the backend may be
     * used from several threads. */
    ps_clock *clock;
    /* Seeds the generator of ephemeral consumer names and advisory ids. */
    uint64_t seed;
    /* Largest message (headers + data) the "server" accepts; 0 -> 1 MiB,
     * nats-server's default max_payload. */
    int64_t max_payload;
    /* On a manual clock: a fetch with an expiry waits, as on the real
     * clock, until messages come or another thread advances the clock to
     * its expiry (or to an ack-wait expiry that redelivers), and the
     * backend takes locks so several threads may call it. For testing code
     * that blocks in a fetch while the test moves time; the test learns
     * that the fetch waits with ps_clock_await_waiters. Ignored on the real
     * clock. Default false: a fetch on a manual clock never blocks. */
    bool manual_fetch_waits;
} ps_memory_options;

/* A new memory backend. `opts` may be NULL (real clock, seed 0). Free it
 * with ps_backend_close, after its consumer handles. PS_ERR_NO_MEMORY on allocation failure. */
ps_status ps_memory_new(ps_backend **out, const ps_memory_options *opts);

/* True when `b` is a memory backend. */
bool ps_memory_is(const ps_backend *b);

/* Checks the model's internal consistency and changes nothing: stored
 * messages and bytes against the stream's counters; per consumer, the
 * pending records against NumAckPending, the redelivery queue and the
 * deadline heap (every pending message either expires or is queued: none
 * is stranded), the ack floor below the lowest pending sequence, and
 * NumPending against what a drain from the scan position would deliver.
 * PS_OK, or PS_ERR_INTERNAL naming the first inconsistency;
 * PS_ERR_INVALID_ARG when `b` is not a memory backend. For tests: it walks
 * every stored message. */
ps_status ps_memory_check(ps_backend *b);

/* Gives back to the system the memory the closed memory backends of this
 * process keep for reuse (see the top of this file); returns how many
 * bytes that was. Backends still open keep what they use, and the next
 * backend maps afresh. Thread-safe. For a long-lived process that is done
 * with the model, or before measuring its memory. */
size_t ps_memory_trim(void);

PS_API_END

#endif
