/* report.h — `jetsim run`: loads a scenario, runs it with a seed, and
 * prints the seed, the run's summary table and the first violation.
 *
 * Not: argument parsing (main.c) nor the run itself (engine.h).
 */
#ifndef SIM_REPORT_H
#define SIM_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "ciout.h"
#include "credentials.h"

/* Exit codes of jetsim; each means one thing, for every command. */
#define SIM_EXIT_PASS 0
#define SIM_EXIT_SAFETY 1        /* a check failed (a job lost, completed twice, ...) */
#define SIM_EXIT_USAGE 2         /* bad input: usage, an unreadable or invalid scenario */
#define SIM_EXIT_LIVENESS 3      /* not drained in time */
#define SIM_EXIT_HARNESS 4       /* harness error: jetsim could not do the run (no server, ...) */
#define SIM_EXIT_NOT_REPRODUCED 5 /* jetsim replay: the trace or verdict differs from the recorded run */
#define SIM_EXIT_INTERRUPTED 130 /* Ctrl-C: servers stopped, nothing left behind */

/* The exit-code lines of every command's help. */
/* The last line of every command's help: where the full reference is
 * (man/jetsim.1, and docs/ as make install puts it under share/doc). */
#define SIM_SEE_ALSO_HELP "\nsee man jetsim; SCENARIO.md, MODEL.md in docs/ (installed: share/doc/jetsim)\n"

/* What follows a usage error's message on stderr: the command's synopsis
 * (`usage` up to its first blank line) and where its options are
 * ("jetsim help CMD", CMD read from "usage: jetsim CMD ..."), not the whole
 * help, which pushed the message off the screen. */
void sim_usage_brief(const char *usage);

#define SIM_EXIT_CODES_HELP \
    "exit codes: 0 pass, 1 safety violation (a check failed), 2 bad input,\n" \
    "            3 liveness failure (not drained in time), 4 harness error\n" \
    "            (jetsim could not do the run: no server, a stream in the way,\n" \
    "            out of memory), 130 interrupted (servers stopped)\n"

/* Where `jetsim run` and `jetsim diff` run a scenario besides the model. */
typedef struct sim_where {
    bool jetstream;     /* --backend jetstream */
    const char *url;    /* --url: an existing server */
    int spawn;          /* --spawn: 1 single, 3 cluster, 0 none */
    double time_scale;  /* --time-scale, >= 1 */
    const char *ns;     /* --namespace: stream names and subjects prefixed (NULL: none) */
    sim_credentials creds; /* --creds, --user/--password-file, --token-file, --tls-* */
} sim_where;

/* Runs the scenario file at `path` with `seed`, the master database at
 * `db_path` (NULL: in memory). With `out` (may be NULL), also writes the
 * run as JSON (the summary's numbers, the verdict, the first violation,
 * the replay command) and as JUnit XML (one testcase, the seed) where
 * it names. Returns one of the exit codes above (a file that cannot be
 * written turns a pass into SIM_EXIT_HARNESS). */
int sim_report_run(const char *path, uint64_t seed, const char *db_path, bool mix, const sim_where *where,
                   const sim_ci_outputs *out);

/* Runs the scenario `text` (named `name` in messages) on the model with
 * `seed`, reporting as sim_report_run does (`jetsim demo` runs its
 * built-in scenario this way). */
int sim_report_run_text(const char *name, const char *text, uint64_t seed, const char *db_path);

/* `jetsim diff`: runs the scenario on the model and on `where` (a real
 * server), compares the two under diff.h's rule. Exit 0 no divergence,
 * 1 divergence, 2 bad input or harness error, 130 interrupted. With
 * `keep_dir`, the two run databases stay there (model.db, server.db).
 * With `out` (may be NULL): JSON and JUnit XML (a testcase per compared
 * rule) as for sim_report_run. */
int sim_report_diff(const char *path, uint64_t seed, const sim_where *where, bool strip_faults, const char *keep_dir,
                    const sim_ci_outputs *out);

/* `jetsim run --check-determinism [--mix]`: runs twice (with the seed's
 * fault mix when `mix`) and says whether the two traces are the same, or
 * at which trace event they part. Exit 0 when they match, 1 when not, 2
 * on bad input. */
int sim_report_check_determinism(const char *path, uint64_t seed, bool mix);

/* `jetsim replay RUN.db`: reads what a run database recorded (scenario
 * text, seed, fault mix, workload files by hash), runs it again and
 * reports as `run` does. Reproduced (the same trace hash, verdict and
 * first violation): the verdict's exit code. Anything else (a different
 * trace, a run that did not finish, a run on a real server, whose
 * rerun command it prints): SIM_EXIT_NOT_REPRODUCED. A changed workload
 * file is refused (SIM_EXIT_USAGE). */
int sim_report_replay(const char *db_path);

#endif
