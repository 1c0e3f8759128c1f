/* ps_fault_shim.h — inject broker faults into your own unit tests: a
 * backend that wraps any backend (memory or JetStream), has the same ops,
 * may inject a fault, then delegates (after SQLite's test_vfs). It is the
 * fault model jetsim's simulator runs on, offered to a test that wants to
 * say, deterministically, "the next ack is lost" instead of writing a
 * crash by hand:
 *
 *   ps_backend *b;                                   // the backend under test
 *   ps_fault_shim_new(&b, inner, 1);                 // inner: memory or JetStream
 *   ps_fault_next(b, PS_FAULT_DROP_ACK, 1);          // the next ack is lost
 *   my_worker_step(b);                               // acks: ps_ack says PS_OK
 *   advance past AckWait;                            // the job comes back
 *   my_worker_step(b);                               // must not charge twice
 *   assert(ps_fault_injected(b, PS_FAULT_DROP_ACK) == 1);
 *
 * Use the shim's handle everywhere the code under test would use the
 * backend: consumers made through it return wrapped handles, so the acks of
 * messages fetched through them come back through the shim.
 *
 * Faults, each armed either for the next N times it applies
 * (ps_fault_next: deterministic, for unit tests) or with a probability
 * drawn from the shim's own generator (ps_fault_set_probability: a seed
 * gives the same faults; what the simulator uses). A counted trigger fires
 * first and draws nothing, so arming one never shifts the random draws:
 *   PS_FAULT_DROP_ACK     a positive ack (PS_ACK) is lost on the way:
 *                         ps_ack says PS_OK, the server never hears of it,
 *                         so the message is redelivered after AckWait
 *   PS_FAULT_LOSE_PUBACK  a publish that succeeded loses its PubAck: the
 *                         message is stored, the publisher sees
 *                         PS_ERR_TIMEOUT (an async publish's result says
 *                         PS_ERR_TIMEOUT through the result handler)
 *   PS_FAULT_DUP_PUBLISH  a publish that succeeded goes out twice (a client
 *                         retry whose first try got through); the caller
 *                         sees the first PubAck; the Nats-Msg-Id, if any,
 *                         lets the server drop the copy (JS 3.6)
 *   PS_FAULT_ACK_AS_NAK   a positive ack arrives as a NAK (redelivered now)
 *   PS_FAULT_ACK_AS_TERM  a positive ack arrives as a TERM (never again)
 * Acks of other kinds (NAK, TERM, in progress) pass unchanged. When several
 * ack faults are armed, one ack gets at most one of them, in the order
 * above.
 *
 * Cut-offs, until undone: the whole broker unreachable
 * (ps_fault_set_unreachable: publishes, fetches and acks time out, nothing
 * is stored), or one consumer handle cut off from it as a partitioned or
 * crashed worker is (ps_fault_cut_consumer: its fetches and acks time out,
 * a pull started meanwhile times out and one already waiting receives
 * nothing; the server keeps its deliveries pending until AckWait).
 *
 * A server restart is the inner backend's own (ps_backend_restart passes
 * through). Threads: a shim is used from one thread at a time.
 *
 * Not: slow handlers or database faults (the simulator's, ps_sim.h), nor a
 * network proxy (the shim works at the contract's level; the server sees
 * only what gets through).
 */
#ifndef PS_FAULT_SHIM_H
#define PS_FAULT_SHIM_H

#include <stdbool.h>
#include <stdint.h>

#include "ps_backend.h"
#include "ps_api.h"

PS_API_BEGIN

/* The faults a shim injects (see the top of this file). New ones are added
 * before PS_FAULT_COUNT. */
typedef enum ps_fault {
    PS_FAULT_DROP_ACK = 0,
    PS_FAULT_LOSE_PUBACK,
    PS_FAULT_DUP_PUBLISH,
    PS_FAULT_ACK_AS_NAK,
    PS_FAULT_ACK_AS_TERM,
    PS_FAULT_COUNT
} ps_fault;

/* A shim over `inner`, with no fault armed (it then changes nothing).
 * `inner` is borrowed: it must outlive the shim; the shim takes over its
 * advisory and async-publish-result handlers to forward them (set yours on
 * the shim). `seed` drives the probabilistic faults only. Close the shim
 * with ps_backend_close before closing `inner`; `inner` stays open.
 * Errors: PS_ERR_INVALID_ARG (NULL out or inner), PS_ERR_NO_MEMORY. */
ps_status ps_fault_shim_new(ps_backend **out, ps_backend *inner, uint64_t seed);

/* Whether `b` is a fault shim (false for NULL). */
bool ps_fault_shim_is(const ps_backend *b);

/* Whether the inner backend's advisories reach the shim's handler (on by
 * default). Off, the inner backend has no advisory handler at all, so the
 * memory backend builds none: what a caller that reads none may ask.
 * PS_ERR_INVALID_ARG when `shim` is not a fault shim. */
ps_status ps_fault_forward_advisories(ps_backend *shim, bool on);

/* Arms `fault` for the next `n` times it applies (n = 1: one-shot; n = 0
 * disarms), replacing any count still pending. Each of those times it is
 * injected for certain, whatever the probability. PS_ERR_INVALID_ARG when
 * `shim` is not a fault shim or `fault` is out of range. */
ps_status ps_fault_next(ps_backend *shim, ps_fault fault, uint64_t n);

/* How many of the armed `fault`s are still to come (0 for anything that is
 * not a shim). */
uint64_t ps_fault_pending(const ps_backend *shim, ps_fault fault);

/* Sets the probability of `fault` each time it applies, in basis points:
 * 0 (off) to 10000 (always). PS_ERR_INVALID_ARG when `shim` is not a fault
 * shim, or `fault` or `bp` is out of range. */
ps_status ps_fault_set_probability(ps_backend *shim, ps_fault fault, int bp);

/* How many times `fault` has been injected so far, counted and drawn
 * alike (0 for anything that is not a shim). */
uint64_t ps_fault_injected(const ps_backend *shim, ps_fault fault);

/* The broker unreachable (true) or reachable again (false): while it is,
 * every publish, fetch, pull and ack through the shim returns
 * PS_ERR_TIMEOUT and reaches nothing; streams and consumers can still be
 * managed. PS_ERR_INVALID_ARG when `shim` is not a fault shim. */
ps_status ps_fault_set_unreachable(ps_backend *shim, bool unreachable);

/* One consumer handle, made through a shim, cut off from the broker (true)
 * or reconnected (false): while cut, its fetches and the acks of messages
 * fetched through it return PS_ERR_TIMEOUT, ps_pull_start on it too, and
 * its pulls already waiting receive nothing (they end at the client's own
 * expiry). Other handles of the same consumer are unaffected.
 * PS_ERR_INVALID_ARG when `c` is NULL or not a shim's handle. */
ps_status ps_fault_cut_consumer(ps_consumer *c, bool cut);

/* Whether `c` (a shim's handle) is cut off now, by itself or because the
 * broker is unreachable; false for NULL or any other handle. */
bool ps_fault_is_cut_off(const ps_consumer *c);

PS_API_END

#endif
