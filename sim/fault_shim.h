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
 * Not: worker crashes, slow handlers or partitions (the simulator's
 * workers do those), nor database faults (sim/master.h).
 */
#ifndef SIM_FAULT_SHIM_H
#define SIM_FAULT_SHIM_H

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

/* Sets a fault's probability, 0 to 10000 basis points (0: off). */
ps_status sim_shim_set(ps_backend *shim, sim_shim_knob knob, int bp);

/* The injected-fault counters; PS_ERR_INVALID_ARG for a backend that is
 * not a shim. */
ps_status sim_shim_stats_get(ps_backend *shim, sim_shim_stats *out);

#endif
