/* report.h — `jetsim run`: loads a scenario, runs it with a seed, and
 * prints the seed, the run's summary table and the first violation.
 *
 * Not: argument parsing (main.c) nor the run itself (engine.h).
 */
#ifndef SIM_REPORT_H
#define SIM_REPORT_H

#include <stdint.h>

/* Exit codes of `jetsim run`. */
#define SIM_EXIT_PASS 0
#define SIM_EXIT_SAFETY 1
#define SIM_EXIT_USAGE 2
#define SIM_EXIT_LIVENESS 3

/* Runs the scenario file at `path` with `seed`, the master database at
 * `db_path` (NULL: in memory). Returns one of the exit codes above. */
int sim_report_run(const char *path, uint64_t seed, const char *db_path);

#endif
