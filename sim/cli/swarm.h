/* swarm.h — `jetsim swarm`: many seeds of one scenario on all cores. J
 * worker processes (fork) run the seeds, each one seed at a time and one
 * after another, so that a seed finds its process's memory already
 * faulted in; the parent hands out the seeds and gathers the verdicts
 * through sockets, shows progress on a terminal, and groups the
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
#include "scenario.h"

/* How a swarm reports, besides its grouped summary. */
typedef struct sim_swarm_options {
    bool list;           /* every failing seed, one line and its replay command each */
    sim_ci_outputs out;  /* --json, --junit */
    const char *reports; /* --reports DIR: the HTML page of each example seed shown (NULL: none) */
} sim_swarm_options;

/* One seed's outcome, as a swarm counts it (and as a swarm child sends it
 * to its parent through a pipe: a fixed size, under PIPE_BUF). */
typedef struct sim_swarm_record {
    uint64_t seed;
    int verdict; /* sim_verdict, or -1 for a harness error */
    char why[512]; /* the first violation, or the harness error */
} sim_swarm_record;

/* Runs one seed as a swarm does: the scenario's fault mix for `seed`, no
 * run database; fills *out (a harness error is verdict -1 and its reason).
 * Runs in the calling thread; `base` is not changed. */
void sim_swarm_run_seed(const sim_scenario *base, uint64_t seed, sim_swarm_record *out);

/* The counting, grouping and reporting of a swarm, apart from where its
 * seeds run (child processes here; agents on other hosts, dist.h). */
typedef struct sim_swarm_tally sim_swarm_tally;

/* A tally for seeds first..first+count-1 reported as `o` asks (NULL: the
 * grouped summary; copied, its strings borrowed). NULL when out of memory. */
sim_swarm_tally *sim_swarm_tally_new(uint64_t first, uint64_t count, const sim_swarm_options *o);

/* Counts one seed's record, once per call: the caller counts each seed
 * once. Shows progress on stderr when it is a terminal. */
void sim_swarm_tally_add(sim_swarm_tally *t, const sim_swarm_record *r);

/* Records counted so far. */
uint64_t sim_swarm_tally_done(const sim_swarm_tally *t);

/* Prints the summary line, the groups (and --list), writes --json and
 * --junit, and returns the exit code as sim_swarm does (fewer records
 * than seeds, or a --reports page not written: SIM_EXIT_HARNESS). `sc`
 * is the scenario at `path` (--reports runs example seeds of it again);
 * `path` names it in the replay commands; `dt` is the swarm's duration in
 * seconds. Once per tally. */
int sim_swarm_tally_report(sim_swarm_tally *t, const sim_scenario *sc, const char *path, double dt);

/* NULL is fine. */
void sim_swarm_tally_free(sim_swarm_tally *t);

/* Runs seeds first..first+count-1 with `jobs` processes at a time (0: the
 * number of cores), reporting as `o` asks (NULL: the grouped summary).
 * Returns jetsim's exit code (report.h): 0 all passed, 1 a seed violated
 * safety, 2 bad input, 3 liveness only, 4 harness errors
 * only (a seed could not be started: socketpair or fork failed; the seeds that
 * never ran are not counted as passed), 130 interrupted. */
int sim_swarm(const char *path, uint64_t first, uint64_t count, int jobs, const sim_swarm_options *o);

#endif
