/* explain.h — `jetsim explain RUN.db [--job N] [--worker W]`: the story
 * of a run, or of one job or one worker, as a person reads it, from a run
 * database (jetsim run --db): times from the run's start ("+2.315 s"),
 * stream sequences, workers, faults by name, states in words, and what
 * each step meant ("delivered to worker 2 (attempt 2, after AckWait
 * expired)"). A failing run's story is its verdict, its first violation
 * and the story of the job that violation names (run.first_bad_job).
 *
 * Reads only; the database's views (master.h) say the same in SQL.
 * Not: the run (engine.h) nor its summary table (report.h).
 */
#ifndef SIM_EXPLAIN_H
#define SIM_EXPLAIN_H

#include <stdint.h>

/* Prints the story to stdout. job 0: the run's (the failing job's when
 * one is named); worker 0: every worker. Exit codes (report.h): 0
 * printed, 2 bad input (not a run database of this version, no such job
 * or worker), 4 harness error (out of memory). */
int sim_explain(const char *db_path, uint64_t job, int worker);

#endif
