/* swarm.h — `jetsim swarm`: many seeds of one scenario on all cores. Each
 * seed runs in a child process (fork), J at a time; the parent gathers the
 * verdicts through pipes, shows progress on a terminal, and lists every
 * failing seed with the command that replays it.
 *
 * First version: each seed runs the scenario's own faults with its own
 * random draws; drawing a different fault mix per seed is still to come.
 *
 * Not: a run (engine.h) nor its report (report.h).
 */
#ifndef SIM_SWARM_H
#define SIM_SWARM_H

#include <stdint.h>

/* Runs seeds first..first+count-1 with `jobs` processes at a time (0: the
 * number of cores). Exit code: 0 all passed, 1 some failed, 2 bad input or
 * a harness error (a seed could not be started: pipe or fork failed; the
 * seeds that never ran are not counted as passed). */
int sim_swarm(const char *path, uint64_t first, uint64_t count, int jobs);

#endif
