/* wallclock.c — handlers that break ps_sim.h's determinism rules
 * (tests/cli/user_code.sh):
 *
 *   wallclock  reads the wall clock itself instead of ps_sim_now, and lets
 *              it decide whether a job fails. Loaded by the jetsim program,
 *              the clock it reads is the run's (sim/cli/interpose.c), so a
 *              seed still gives one run: --check-determinism passes.
 *   leaky      keeps a flag in a global that outlives the run (the
 *              process's first job fails), so the second run of a seed in
 *              one process starts from another state: --check-determinism
 *              fails and names the first event where the two runs part.
 *   crash      kills its process (abort) on the first job it gets: a
 *              swarm counts each seed a harness error, naming the signal,
 *              and goes on with the next seed.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <time.h>

#include "ps_sim.h"

static ps_sim_outcome wallclock(ps_sim_ctx *ctx, void *state, const ps_msg *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ps_sim_outcome o = {.answer = (ts.tv_nsec / 1000) % 2 ? PS_SIM_RETRY : PS_SIM_ACK};
    return o;
}

static int warmed_up; /* survives from one run to the next: the bug */

static ps_sim_outcome leaky(ps_sim_ctx *ctx, void *state, const ps_msg *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    ps_sim_outcome o = {.answer = warmed_up ? PS_SIM_ACK : PS_SIM_RETRY}; /* the process's first job fails */
    warmed_up = 1;
    return o;
}

static ps_sim_outcome crash(ps_sim_ctx *ctx, void *state, const ps_msg *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    abort();
}

static const ps_sim_handler handlers[] = {
    {.name = "wallclock", .handle = wallclock},
    {.name = "leaky", .handle = leaky},
    {.name = "crash", .handle = crash},
};
static const ps_sim_module module = {.version = PS_SIM_MODULE_VERSION, .handlers = handlers, .nhandlers = 3};

const ps_sim_module *jetsim_module(void);

const ps_sim_module *jetsim_module(void)
{
    return &module;
}
