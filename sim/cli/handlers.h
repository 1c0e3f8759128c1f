/* handlers.h — `--handlers LIB.so`: the user's handlers, payload makers
 * and schema, loaded from a shared library that exports
 * `const ps_sim_module *jetsim_module(void)` (ps_sim.h), for every command
 * that runs a scenario (run, swarm, shrink, replay, diff).
 *
 * Not: the running of user code (sim/user.h).
 */
#ifndef SIM_CLI_HANDLERS_H
#define SIM_CLI_HANDLERS_H

#include "ps_sim.h"
#include "scenario.h"

/* Takes `--handlers PATH` (or --handlers=PATH) out of argv (anywhere after
 * the command) and loads the library. Returns 0, or jetsim's exit code 2
 * with a message on stderr: a missing value, a library that does not load
 * (dlerror's reason), no jetsim_module symbol, a module of another
 * version. *argc shrinks by what was taken. */
int cli_handlers_take(int *argc, char **argv);

/* The library's path as given (for replay commands), or NULL. */
const char *cli_handlers_path(void);

/* Gives a parsed scenario the loaded module (NULL when none was given). */
void cli_handlers_attach(sim_scenario *sc);

#endif
