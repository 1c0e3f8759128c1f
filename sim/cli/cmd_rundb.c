/* cmd_rundb.c — the jetsim commands that look at a run after it: replay,
 * explain and report read its run database (jetsim run --db), and shrink
 * makes a failing seed's scenario small. Their usage texts and argument
 * parsing (cmd_rundb.h).
 *
 * Not: the work itself (report.c: replay; explain.c, htmlreport.c,
 * shrink.c).
 */
#include "cmd_rundb.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "explain.h"
#include "htmlreport.h"
#include "report.h"
#include "shrink.h"

static const char usage_replay[] =
    "usage: jetsim replay RUN.db [--handlers LIB.so]\n"
    "\n"
    "Runs again what a run database (jetsim run --db) recorded: the scenario,\n"
    "the seed, the seed's fault mix if the run had one (--mix), the workload\n"
    "files (refused if they changed since), and reports as run does. Then it\n"
    "compares: the same trace hash, verdict and first violation is a\n"
    "reproduction, and the exit code is the verdict's, as for run. Anything\n"
    "else is not: a different trace, a run that did not finish (killed), or a\n"
    "run on a real server (whose command to rerun it is printed).\n"
    "\n"
    SIM_EXIT_CODES_HELP
    "            5 NOT REPRODUCED (the replay differs from the recorded run)\n"
    SIM_SEE_ALSO_HELP;

int cli_replay_main(int argc, char **argv)
{
    if (argc == 2 && cli_is_help(argv[1])) {
        fputs(usage_replay, stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-')
        return cli_usage_error(usage_replay, "%s", "replay: give exactly one run database");
    return sim_report_replay(argv[1]);
}

static const char usage_explain[] =
    "usage: jetsim explain RUN.db [--job N] [--worker W]\n"
    "\n"
    "Tells what happened in a run, from its run database (jetsim run --db):\n"
    "times from the run's start (+2.315 s), stream sequences, workers, faults\n"
    "by name, job states in words, and what each step meant (\"delivered to\n"
    "worker 2 (attempt 2, after AckWait expired: the ack of worker 1 was\n"
    "lost)\"). For a failing run: the verdict, the first violation and the\n"
    "story of the job it names; for a passing one, how its jobs ended.\n"
    "\n"
    "options:\n"
    "  --job N     the story of job N: published, delivered, answered,\n"
    "              committed, and the faults that touched it\n"
    "  --worker W  the steps of worker W (with --job: only that worker's\n"
    "              steps of the job)\n"
    "\n"
    "The same facts in SQL: the views story, jobs_named and faults_named of\n"
    "the run database (README: Simulating a job system).\n"
    "\n"
    "exit codes: 0 told, 2 bad input (no such file, not a run database of\n"
    "            this jetsim, no such job or worker), 4 harness error (out of\n"
    "            memory)\n"
    SIM_SEE_ALSO_HELP;

int cli_explain_main(int argc, char **argv)
{
    const char *path = NULL;
    unsigned long long job = 0, worker = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int missing = 0;
        if (cli_is_help(a)) {
            fputs(usage_explain, stdout);
            return 0;
        } else if ((v = cli_option_value(argc, argv, &i, "--job", &missing))) {
            if (cli_parse_u64(v, 1, UINT64_MAX, &job) != 0)
                return cli_usage_error(usage_explain, "explain: --job wants a job number from 1, not '%s'", v);
        } else if ((v = cli_option_value(argc, argv, &i, "--worker", &missing))) {
            if (cli_parse_u64(v, 1, 1000000, &worker) != 0)
                return cli_usage_error(usage_explain, "explain: --worker wants a worker number from 1, not '%s'", v);
        } else if (missing) {
            return cli_usage_error(usage_explain, "explain: option %s needs a value", a);
        } else if (a[0] == '-') {
            return cli_usage_error(usage_explain, "explain: unknown option '%s'", a);
        } else if (path) {
            return cli_usage_error(usage_explain, "explain: unexpected argument '%s'", a);
        } else {
            path = a;
        }
    }
    if (!path)
        return cli_usage_error(usage_explain, "%s", "explain: no run database given");
    return sim_explain(path, job, (int)worker);
}

static const char usage_report[] =
    "usage: jetsim report RUN.db --html FILE\n"
    "\n"
    "Writes a run database (jetsim run --db) as one self-contained HTML page\n"
    "(no network, no script, nothing to fetch): the verdict and the first\n"
    "violation on top, a summary (seed, target, jobs by end state), a\n"
    "timeline with a lane for the publishers, each worker, each server node\n"
    "and the databases, the faults shaded across the lanes they hit, each\n"
    "delivery a mark linking to its job's row, the faults, and the jobs with\n"
    "their steps. The failing job is highlighted (its row: id=\"failing-job\").\n"
    "A run of more than 2000 job rows lists the failing job and those not\n"
    "done once or tried more than once (at most 2000), and marks at most 4000\n"
    "deliveries; the page says so. A 20,000-job run's page is well under 5 MB.\n"
    "\n"
    "options:\n"
    "  --html FILE  the page to write (replaced)\n"
    "\n"
    "exit codes: 0 written, 2 bad input (no such file, not a run database\n"
    "            of this jetsim), 4 harness error (FILE cannot be written, out\n"
    "            of memory)\n"
    SIM_SEE_ALSO_HELP;

int cli_report_main(int argc, char **argv)
{
    const char *path = NULL, *html = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int missing = 0;
        if (cli_is_help(a)) {
            fputs(usage_report, stdout);
            return 0;
        } else if ((v = cli_option_value(argc, argv, &i, "--html", &missing))) {
            html = v;
        } else if (missing) {
            return cli_usage_error(usage_report, "report: option %s needs a value", a);
        } else if (a[0] == '-') {
            return cli_usage_error(usage_report, "report: unknown option '%s'", a);
        } else if (path) {
            return cli_usage_error(usage_report, "report: unexpected argument '%s'", a);
        } else {
            path = a;
        }
    }
    if (!path)
        return cli_usage_error(usage_report, "%s", "report: no run database given");
    if (!html)
        return cli_usage_error(usage_report, "%s", "report: --html FILE is required");
    int rc = sim_html_report(path, html);
    struct stat sb;
    if (rc == 0 && stat(html, &sb) == 0) /* say it worked: a silent success looks like nothing happened */
        printf("wrote %s (%lld bytes)\n", html, (long long)sb.st_size);
    return rc;
}

static const char usage_shrink[] =
    "usage: jetsim shrink SCENARIO --seed N [--mix] [--out FILE] [--handlers LIB.so]\n"
    "\n"
    "With a seed that fails the scenario, drops faults one at a time and\n"
    "halves the workload and the workers, keeping each change that still\n"
    "fails the same check, then writes the smaller scenario to FILE\n"
    "(default: SCENARIO with .shrunk.scn).\n"
    "\n"
    "options:\n"
    "  --mix       shrink the seed's own fault mix, as jetsim swarm ran it\n"
    "              (a seed swarm lists as failing): the written scenario\n"
    "              holds the drawn faults, so it fails without --mix\n"
    "\n"
    "exit codes: 0 written, 1 the seed does not fail (nothing to shrink),\n"
    "            2 bad input, 4 harness error, 130 interrupted\n"
    SIM_SEE_ALSO_HELP;

int cli_shrink_main(int argc, char **argv)
{
    const char *path = NULL, *out = NULL;
    unsigned long long seed = 0;
    int have_seed = 0;
    bool mix = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int missing = 0;
        if (cli_is_help(a)) {
            fputs(usage_shrink, stdout);
            return 0;
        } else if ((v = cli_option_value(argc, argv, &i, "--seed", &missing))) {
            if (cli_parse_u64(v, 0, UINT64_MAX, &seed) != 0)
                return cli_usage_error(usage_shrink, "shrink: --seed wants a number, not '%s'", v);
            have_seed = 1;
        } else if ((v = cli_option_value(argc, argv, &i, "--out", &missing))) {
            out = v;
        } else if (strcmp(a, "--mix") == 0) {
            mix = true;
        } else if (missing) {
            return cli_usage_error(usage_shrink, "shrink: option %s needs a value", a);
        } else if (a[0] == '-') {
            return cli_usage_error(usage_shrink, "shrink: unknown option '%s'", a);
        } else if (path) {
            return cli_usage_error(usage_shrink, "shrink: unexpected argument '%s'", a);
        } else {
            path = a;
        }
    }
    if (!path || !have_seed)
        return cli_usage_error(usage_shrink, "%s", "shrink: give a scenario and --seed N");
    char def[4096];
    if (!out) {
        size_t n = strlen(path);
        if (n > 4 && strcmp(path + n - 4, ".scn") == 0)
            n -= 4;
        snprintf(def, sizeof def, "%.*s.shrunk.scn", (int)n, path);
        out = def;
    }
    return sim_shrink(path, seed, mix, out);
}
