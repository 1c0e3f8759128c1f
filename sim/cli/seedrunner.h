/* seedrunner.h — a child process that runs one scenario's swarm seeds one
 * after another, for jetsim swarm (swarm.h) and jetsim agent (dist.h).
 *
 * Why not a child per seed: a fresh process faults its whole heap in again
 * for every seed (over half of a seed's time in the kernel's page-fault
 * path on a virtual machine), and an agent is a process with cnats's
 * threads, whose fork per seed cost more than the seed it ran (copying its
 * page tables, then a TLB shootdown on every core the agent's threads ran
 * on, for each page either side wrote). A runner is forked once per
 * scenario, with the parsed scenario already in its
 * memory, and keeps its heap warm from one seed to the next. The parent
 * sends seed numbers; the runner answers one record per seed, in the order
 * they were sent, so the parent may queue the next seeds while one runs.
 *
 * A seed runs in a runner exactly as in a fresh child:
 * sim_swarm_run_seed starts from a copy of the base scenario and a run
 * keeps nothing from one seed to the next (the same verdicts, seed for
 * seed; tests/cluster/dist_swarm.sh compares them with a local swarm's).
 * The user's --handlers code is not trusted to keep nothing: with a
 * module, each seed runs in a fork of the runner (its globals die with
 * the seed; tests/cli/user_code.sh, leaky_once.scn).
 * A seed that crashes takes only its runner with it: the parent reads the
 * runner's end instead of a record and starts another for what follows.
 *
 * A runner is named (/proc/PID/comm, what ps and pgrep show) "jetsim-seed"
 * while it runs a seed and "jetsim-runner" while it waits for one. It dies
 * with the thread that started it (PR_SET_PDEATHSIG), however that ends.
 *
 * Not: a scheduler (the agent decides what to send where), nor a sandbox.
 */
#ifndef SIM_CLI_SEEDRUNNER_H
#define SIM_CLI_SEEDRUNNER_H

#include <stdint.h>
#include <sys/types.h>

#include "ps_status.h"
#include "scenario.h"
#include "swarm.h"

/* Seeds sent and not yet answered that sim_runner_send takes without
 * blocking (the socket's buffer holds far more; this is the promise). */
#define SIM_RUNNER_QUEUE_MAX 16

typedef struct sim_runner sim_runner;

/* Forks a runner for `sc` (the child works on its own copy of it; `sc` is
 * not kept). Call it from the thread that outlives the runner: the runner
 * is killed when that thread ends. Errors: PS_ERR_IO (socketpair, fork),
 * PS_ERR_NO_MEMORY. */
ps_status sim_runner_new(sim_runner **out, const sim_scenario *sc);

/* Queues `seed`; never blocks while fewer than SIM_RUNNER_QUEUE_MAX seeds
 * are unanswered. PS_ERR_IO when the runner is gone (its end is then
 * what sim_runner_read reads). */
ps_status sim_runner_send(sim_runner *r, uint64_t seed);

/* A descriptor that turns readable (poll POLLIN or POLLHUP) when a record
 * or the runner's end can be read. Owned by the runner. */
int sim_runner_fd(const sim_runner *r);

/* Reads the record of the oldest seed sent and not yet answered, `seed`,
 * waiting for it if need be; *run_ns (may be NULL) is how long that seed
 * ran. PS_ERR_IO when the runner ended without answering, or answered for
 * another seed: *out is then `seed`'s harness error saying so ("the seed
 * runner died without a verdict (killed by signal 11)"), also the last
 * error; the runner is gone or useless, and only sim_runner_free is left
 * to call. */
ps_status sim_runner_read(sim_runner *r, uint64_t seed, sim_swarm_record *out, int64_t *run_ns);

/* The runner's process id. */
pid_t sim_runner_pid(const sim_runner *r);

/* Kills the runner (SIGKILL) if it is alive, reaps it and frees `r`.
 * NULL is fine. */
void sim_runner_free(sim_runner *r);

#endif
