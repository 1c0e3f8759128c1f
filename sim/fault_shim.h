/* fault_shim.h — the simulator's view of the fault shim (ps_fault_shim.h,
 * the public API, documents what the shim injects and how).
 *
 * The engine (engine.c, faults.c, workers.c) speaks of the shim's faults as
 * knobs with a probability, under the names below; they are the public
 * functions under their simulator names, kept so that the engine reads as
 * it did before the shim was public. What the simulator alone needs is
 * here: the harness-error check (an out-of-memory status of the inner
 * backend is the run's failure, not a broker fault).
 *
 * Not: for users (ps_fault_shim.h is theirs).
 */
#ifndef SIM_FAULT_SHIM_H
#define SIM_FAULT_SHIM_H

#include <stdbool.h>
#include <stdint.h>

#include "ps_backend.h"
#include "ps_fault_shim.h"

typedef ps_fault sim_shim_knob;
#define SIM_SHIM_DROP_ACK PS_FAULT_DROP_ACK
#define SIM_SHIM_LOSE_PUBACK PS_FAULT_LOSE_PUBACK
#define SIM_SHIM_DUP_PUBLISH PS_FAULT_DUP_PUBLISH
#define SIM_SHIM_NAK_STORM PS_FAULT_ACK_AS_NAK
#define SIM_SHIM_TERM_STORM PS_FAULT_ACK_AS_TERM
#define SIM_SHIM_KNOB_COUNT PS_FAULT_COUNT

static inline ps_status sim_shim_new(ps_backend **out, ps_backend *inner, uint64_t seed)
{
    return ps_fault_shim_new(out, inner, seed);
}

static inline void sim_shim_forward_advisories(ps_backend *b, bool on)
{
    ps_fault_forward_advisories(b, on);
}

/* A fault's probability, 0 to 10000 basis points (0: off). */
static inline ps_status sim_shim_set(ps_backend *shim, sim_shim_knob knob, int bp)
{
    return ps_fault_set_probability(shim, knob, bp);
}

static inline ps_status sim_shim_set_unreachable(ps_backend *shim, bool unreachable)
{
    return ps_fault_set_unreachable(shim, unreachable);
}

static inline ps_status sim_shim_cut_consumer(ps_consumer *c, bool cut)
{
    return ps_fault_cut_consumer(c, cut);
}

static inline bool sim_shim_is_cut_off(const ps_consumer *c)
{
    return ps_fault_is_cut_off(c);
}

/* How many times the knob's fault has been injected so far. */
static inline uint64_t sim_shim_injected(const ps_backend *shim, sim_shim_knob knob)
{
    return ps_fault_injected(shim, knob);
}

/* The first PS_ERR_NO_MEMORY the inner backend returned through the shim
 * (re-recorded as the last error, with its detail), or PS_OK. Whoever
 * called got the status too; the simulator ends the run on it as a harness
 * error instead of treating it as a broker fault. */
ps_status sim_shim_harness_error(ps_backend *shim);

#endif
