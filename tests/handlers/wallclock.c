/* wallclock.c — a handler that breaks the determinism rules (ps_sim.h): it
 * reads the wall clock itself instead of ps_sim_now, and lets it decide
 * whether a job fails. `jetsim run --check-determinism` must catch it and
 * name the first event where two runs of one seed part
 * (tests/cli/user_code.sh).
 */
#define _POSIX_C_SOURCE 200809L
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

static const ps_sim_handler handlers[] = {{.name = "wallclock", .handle = wallclock}};
static const ps_sim_module module = {.version = PS_SIM_MODULE_VERSION, .handlers = handlers, .nhandlers = 1};

const ps_sim_module *jetsim_module(void);

const ps_sim_module *jetsim_module(void)
{
    return &module;
}
