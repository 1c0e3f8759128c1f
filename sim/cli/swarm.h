/* swarm.h — `jetsim swarm`: many seeds of one scenario on all cores. Each
 * seed runs in a child process (fork), J at a time; the parent gathers the
 * verdicts through pipes, shows progress on a terminal, and groups the
 * failing seeds by check and signature (the violation with its numbers
 * taken out: one bug is one group, however many seeds hit it), each group
 * with a few example seeds and the command that replays the first. --list
 * lists every failing seed as well ("  seed N: safety: ..." and its
 * "      replay: ..." line); --json and --junit write the same for CI;
 * --reports DIR runs each example seed of the groups shown again with a
 * run database and writes its page (htmlreport.h), printing its path
 * under the group ("      report: DIR/seed-N.html").
 *
 * Each seed runs the scenario's faults mixed for that seed
 * (sim_scenario_mix: which faults, when, how hard), as `jetsim run --mix`
 * replays it.
 *
 * Not: a run (engine.h) nor its report (report.h).
 */
#ifndef SIM_SWARM_H
#define SIM_SWARM_H

#include <stdbool.h>
#include <stdint.h>

#include "ciout.h"

/* How a swarm reports, besides its grouped summary. */
typedef struct sim_swarm_options {
    bool list;           /* every failing seed, one line and its replay command each */
    sim_ci_outputs out;  /* --json, --junit */
    const char *reports; /* --reports DIR: the HTML page of each example seed shown (NULL: none) */
} sim_swarm_options;

/* Runs seeds first..first+count-1 with `jobs` processes at a time (0: the
 * number of cores), reporting as `o` asks (NULL: the grouped summary).
 * Returns jetsim's exit code (report.h): 0 all passed, 1 a seed violated
 * safety, 2 bad input, 3 liveness only, 4 harness errors
 * only (a seed could not be started: pipe or fork failed; the seeds that
 * never ran are not counted as passed), 130 interrupted. */
int sim_swarm(const char *path, uint64_t first, uint64_t count, int jobs, const sim_swarm_options *o);

#endif
