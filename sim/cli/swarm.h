/* swarm.h — `jetsim swarm`: many seeds of one scenario on all cores. Each
 * seed runs in a child process (fork), J at a time; the parent gathers the
 * verdicts through pipes, shows progress on a terminal, and lists every
 * failing seed with the command that replays it.
 *
 * Each seed runs the scenario's faults mixed for that seed
 * (sim_scenario_mix: which faults, when, how hard), as `jetsim run --mix`
 * replays it.
 *
 * Not: a run (engine.h) nor its report (report.h).
 */
#ifndef SIM_SWARM_H
#define SIM_SWARM_H

#include <stdint.h>

/* Runs seeds first..first+count-1 with `jobs` processes at a time (0: the
 * number of cores). Returns jetsim's exit code (report.h): 0 all passed,
 * 1 a seed violated safety, 2 bad input, 3 liveness only, 4 harness errors
 * only (a seed could not be started: pipe or fork failed; the seeds that
 * never ran are not counted as passed), 130 interrupted. */
int sim_swarm(const char *path, uint64_t first, uint64_t count, int jobs);

#endif
