/* fault_shim.h — the fault model as a backend that wraps any backend
 * (STYLE.md, after SQLite's test_vfs): it has the same ops, may inject a
 * fault, then delegates. The same shim works over the memory backend and
 * over a real server.
 *
 * Faults it injects, each with a probability in basis points (1% = 100),
 * drawn from its own generator so a seed gives the same faults:
 *   SIM_SHIM_DROP_ACK     an ack is lost on the way: ps_ack says PS_OK,
 *                         the server never hears of it (redelivery follows)
 *   SIM_SHIM_LOSE_PUBACK  the message is stored but its PubAck is lost:
 *                         the publisher sees PS_ERR_TIMEOUT
 *   SIM_SHIM_DUP_PUBLISH  the message goes out twice (a client retry whose
 *                         first try got through); the first PubAck returns
 *   SIM_SHIM_NAK_STORM    an ack turns into a NAK
 *   SIM_SHIM_TERM_STORM   an ack turns into a TERM
 * A server restart is the inner backend's own (ps_backend_restart).
 *
 * Consumer handles are wrapped too, so that acks of fetched messages come
 * back through the shim. Everything else passes straight through.
 *
 * Cut-offs, set by the simulator for as long as they last: the whole
 * broker unreachable (sim_shim_set_unreachable: publishes, fetches and
 * acks time out, nothing is stored) or one consumer handle's process cut
 * off from it (sim_shim_cut_consumer: a partitioned or crashed worker's
 * fetches and acks time out).
 *
 * Not: slow handlers (the simulator's workers), nor database faults
 * (sim/master.h).
 */
#ifndef SIM_FAULT_SHIM_H
#define SIM_FAULT_SHIM_H

#include <stdbool.h>
#include <stdint.h>

#include "ps_backend.h"

typedef enum sim_shim_knob {
    SIM_SHIM_DROP_ACK = 0,
    SIM_SHIM_LOSE_PUBACK,
    SIM_SHIM_DUP_PUBLISH,
    SIM_SHIM_NAK_STORM,
    SIM_SHIM_TERM_STORM,
    SIM_SHIM_KNOB_COUNT
} sim_shim_knob;

/* Counters of the faults injected so far. */
typedef struct sim_shim_stats {
    uint64_t injected[SIM_SHIM_KNOB_COUNT];
} sim_shim_stats;

/* A shim over `inner` (borrowed: it must outlive the shim, and the shim
 * takes over its advisory handler to forward advisories). `seed` drives
 * the shim's choices. Close the shim with ps_backend_close; the inner
 * backend stays open. */
ps_status sim_shim_new(ps_backend **out, ps_backend *inner, uint64_t seed);

/* Whether the inner backend's advisories reach the shim's handler (on by
 * default). Off, the inner backend has no handler and (the memory model)
 * builds no advisory at all: what a caller that reads none should ask. */
void sim_shim_forward_advisories(ps_backend *b, bool on);

/* Sets a fault's probability, 0 to 10000 basis points (0: off). */
ps_status sim_shim_set(ps_backend *shim, sim_shim_knob knob, int bp);

/* The broker unreachable (true) or back (false). */
ps_status sim_shim_set_unreachable(ps_backend *shim, bool unreachable);

/* One consumer handle (from this shim) cut off from the broker, or back. */
ps_status sim_shim_cut_consumer(ps_consumer *c, bool cut);

/* Is this handle (from a shim) cut off now, by itself or with the whole
 * broker? false for anything else. */
bool sim_shim_is_cut_off(const ps_consumer *c);

/* The injected-fault counters; PS_ERR_INVALID_ARG for a backend that is
 * not a shim. */
ps_status sim_shim_stats_get(ps_backend *shim, sim_shim_stats *out);

/* The first PS_ERR_NO_MEMORY the inner backend returned through the shim
 * (re-recorded as the last error, with its detail), or PS_OK. Whoever
 * called got the status too; the simulator ends the run on it as a harness
 * error instead of treating it as a broker fault. */
ps_status sim_shim_harness_error(ps_backend *shim);

#endif
