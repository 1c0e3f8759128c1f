/* main.c — the `jetsim` command line: the dispatcher, the general help,
 * and the arguments of run, diff, demo and version.
 *
 * Subcommands: run, diff (report.c, diff.c), demo (demo.c), version, help
 * here; replay, explain, report and shrink in cmd_rundb.c; swarm and agent
 * in cmd_swarm.c; capture in capture.c. The options they share are read
 * by args.c.
 * Exit codes (report.h): 0 pass, 1 safety violation, 2 bad input, 3
 * liveness failure, 4 harness error, 130 interrupted; every command's help
 * lists them. Usage errors go to stderr with the relevant usage text.
 *
 * This file is not: where a subcommand does its work.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "capture.h"
#include "cmd_rundb.h"
#include "cmd_swarm.h"
#include "demo.h"
#include "handlers.h"
#include "htmlreport.h"
#include "report.h"
#include "scenario.h"
#include "ps_jetstream.h"

#define JETSIM_VERSION "0.1.0"

static const char usage_main[] =
    "usage: jetsim <command> [options]\n"
    "\n"
    "Test job and event systems built on NATS JetStream: an in-memory model\n"
    "of JetStream on a clock you move by hand, and the same scenarios with\n"
    "real faults against a real nats-server.\n"
    "\n"
    "commands:\n"
    "  run       run a scenario file with a seed on the memory backend\n"
    "            (or on a real nats-server: --backend jetstream)\n"
    "  diff      run a scenario on the model and on a real server; compare\n"
    "  capture   read a live stream's messages into a workload file (replay)\n"
    "  replay    run again what a run database recorded\n"
    "  explain   tell the story of a run, a job or a worker from its run database\n"
    "  report    write a run database as one self-contained HTML page\n"
    "  swarm     run many seeds of a scenario on all cores (or, --queue,\n"
    "            on the agents of a JetStream server or cluster)\n"
    "  agent     run seeds for distributed swarms (swarm --queue)\n"
    "  shrink    make a failing scenario small, and write it out\n"
    "  demo      run a small job system end to end on the memory backend\n"
    "  version   print the version and the backends built in\n"
    "  help      show this help; `jetsim help <command>` or\n"
    "            `jetsim <command> --help` shows a command's help\n"
    "\n"
    "run, swarm, shrink, replay and diff take --handlers LIB.so: a shared\n"
    "library of your own handlers, payload makers and database schema\n"
    "(ps_sim.h) that a scenario names (workers N handler=NAME).\n"
    "\n"
    SIM_EXIT_CODES_HELP
    "            replay only: 5 NOT REPRODUCED (the replay differs from the\n"
    "            recorded run, or the run cannot be replayed on the model);\n"
    "            shrink and --check-determinism say in their help what 1 means there\n"
    SIM_SEE_ALSO_HELP;

static const char usage_demo[] =
    "usage: jetsim demo [--jobs N] [--seed S]\n"
    "\n"
    "Runs a built-in scenario on the simulator, in virtual time, and prints\n"
    "it first (save it as a .scn file to change it and `jetsim run` it):\n"
    "N jobs with message ids published at 10,000 a second to a work-queue\n"
    "stream, 5% of their PubAcks lost for 30 s (the publisher retries; the\n"
    "stream drops the resends as duplicates); four workers pull batches of\n"
    "25 from one durable consumer (AckWait 30s, BackOff 30s,1m,2m,5m,\n"
    "MaxDeliver 5); the handler fails 10% of attempts and 1% of acks are\n"
    "lost for 30 s (the job comes back after AckWait). Checked: no job lost,\n"
    "none completed or stored twice, at most 5 attempts, drained within 1h.\n"
    "\n"
    "options:\n"
    "  --jobs N    jobs to publish, 1..10000000 (default 1000)\n"
    "  --seed S    run seed, 0..2^64-1 (default 1)\n"
    "  --help      show this help\n"
    "\n"
    SIM_EXIT_CODES_HELP
    SIM_SEE_ALSO_HELP;

static const char usage_version[] =
    "usage: jetsim version\n"
    "\n"
    "Prints the version of jetsim and which backends this build has.\n"
    "\n"
    "exit codes: 0 printed, 2 bad input\n"
    SIM_SEE_ALSO_HELP;

static const char usage_run[] =
    "usage: jetsim run SCENARIO [--seed N] [--db FILE] [--mix] [--check-determinism]\n"
    "                  [--json FILE] [--junit FILE] [--handlers LIB.so]\n"
    "                  [--backend memory|jetstream [--url URL | --spawn [single|cluster]]\n"
    "                   [--time-scale X]] [--namespace NAME] [credentials]\n"
    "\n"
    "Runs the scenario (the language: docs/SCENARIO.md) on the memory\n"
    "backend in virtual time, with every random choice drawn from the seed,\n"
    "then checks the scenario's expectations against the master database.\n"
    "Prints the seed first, then a summary and the verdict.\n"
    "\n"
    "With --backend jetstream the same scenario runs against a real\n"
    "nats-server in real time: the workload and fault schedule come from the\n"
    "seed, the timing does not. Faults are made real: restart server = kill -9\n"
    "(crash, power_loss) or SIGTERM (graceful) and a restart on the same port\n"
    "and store; pause server = SIGSTOP/SIGCONT; node=N or node=leader picks a\n"
    "cluster node; cut/drop/delay connections go through a loopback TCP proxy\n"
    "per node; worker crashes, partitions and lost acks happen in the client.\n"
    "If the server loses a message it acknowledged, the no_loss report says\n"
    "so and shows whether the stream still holds it.\n"
    "\n"
    "options:\n"
    "  --seed N    the run's seed (default 1); the same seed gives the same run\n"
    "  --db FILE   keep the master database (SQLite) in FILE (replaced); it\n"
    "              records what `jetsim replay` needs, and run.finished says\n"
    "              whether the run got to its verdict (a killed run's file is\n"
    "              readable, holding every batch committed before the kill)\n"
    "  --mix       run the seed's own fault mix, as jetsim swarm does: each\n"
    "              fault kept with probability 3/4, its time, duration and\n"
    "              percentage scaled by 0.5-1.5\n"
    "  --check-determinism  run twice (with --mix: the seed's mix) and say\n"
    "              whether the traces match, or at which trace event they\n"
    "              part (exit 0 match, 1 not)\n"
    "  --json FILE  also write the run's summary, verdict, first violation and\n"
    "              replay command as one JSON object to FILE (\"-\": stdout;\n"
    "              everything else printed then goes to stderr)\n"
    "  --junit FILE  also write JUnit XML to FILE (\"-\": stdout): one testcase,\n"
    "              the seed; a failure carries the violation and the replay command\n"
    "  --backend B memory (default) or jetstream\n"
    "  --url URL   jetstream: an existing server (default $NATS_URL, else\n"
    "              nats://127.0.0.1:4222); the run creates the scenario's\n"
    "              streams, refusing if one exists, and deletes at the end\n"
    "              only the streams it created; server faults need --spawn\n"
    "  --namespace NAME  prefix every stream name (NAME-STREAM) and subject\n"
    "              (NAME.SUBJECT) of the scenario, so runs in different\n"
    "              namespaces can share one server (1-32 of A-Z a-z 0-9 _)\n"
    "  --spawn [single|cluster]  jetstream: start nats-server (one node, or a\n"
    "              3-node cluster) on free loopback ports with a temporary\n"
    "              store, and stop it at the end, on Ctrl-C too\n"
    "  --time-scale X  jetstream: run X times faster than the scenario says\n"
    "              (default 10: AckWait 30s becomes 3s on the server)\n"
    "  --help      show this help\n"
    "\n"
    "credentials, for --url (no secret needs to be on the command line):\n"
    SIM_CREDENTIALS_HELP
    "\n"
    "exit codes: 0 pass, 1 safety violation (a job lost, completed twice or\n"
    "            over its attempts), 2 bad input, 3 liveness failure (not\n"
    "            drained in time), 4 harness error (jetsim could not do the\n"
    "            run: no server, a stream in the way, ...), 130 interrupted\n"
    "            (servers stopped); --check-determinism: 0 match, 1 not\n"
    SIM_SEE_ALSO_HELP;

/* `run --help`: usage_run with the faults of SIM_FAULTS listed before
 * its exit codes, so the list can never miss one. */
static void print_run_help(void)
{
    const char *codes = strstr(usage_run, "\nexit codes:");
    fwrite(usage_run, 1, (size_t)(codes - usage_run), stdout);
    fputs("\nfaults (`at TIME FAULT` in a scenario; DUR a duration, P a percentage)\n"
          "and where a run can make them:\n", stdout);
    for (int k = 0; k < SIM_FAULT_KIND_COUNT; k++) {
        char syntax[128];
        const sim_fault_info *r = sim_fault_info_of((sim_fault_kind)k);
        int n = printf("  %s", sim_fault_syntax((sim_fault_kind)k, syntax, sizeof syntax));
        if (n >= 46) /* too long for one line: the place goes below */
            n = printf("\n") - 1;
        printf("%*s%s\n", 48 - n, "",
               r->reach == SIM_REACH_SPAWNED    ? "memory, --spawn"
               : r->reach == SIM_REACH_LOOPBACK ? "memory, --spawn, --url on loopback"
                                                : "memory, any server");
    }
    fputs(codes, stdout);
}

static const char usage_help[] =
    "usage: jetsim help [command]\n"
    "\n"
    "Shows the general help, or the help of one command.\n"
    "\n"
    "exit codes: 0 shown, 2 bad input (an unknown command)\n"
    SIM_SEE_ALSO_HELP;

static int cmd_demo(int argc, char **argv)
{
    long jobs = 1000;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int missing = 0;
        unsigned long long n;
        if (cli_is_help(a)) {
            fputs(usage_demo, stdout);
            return 0;
        }
        if ((v = cli_option_value(argc, argv, &i, "--jobs", &missing)) != NULL) {
            if (cli_parse_u64(v, 1, 10000000, &n) != 0)
                return cli_usage_error(usage_demo, "demo: --jobs wants a number from 1 to 10000000, not '%s'", v);
            jobs = (long)n;
        } else if ((v = cli_option_value(argc, argv, &i, "--seed", &missing)) != NULL) {
            if (cli_parse_u64(v, 0, ~0ULL, &n) != 0)
                return cli_usage_error(usage_demo, "demo: --seed wants a number from 0 to 2^64-1, not '%s'", v);
            seed = (uint64_t)n;
        } else if (missing) {
            return cli_usage_error(usage_demo, "demo: option %s needs a value", a);
        } else {
            return cli_usage_error(usage_demo, "demo: unknown option '%s'", a);
        }
    }
    return demo_run(jobs, seed);
}

static int cmd_version(int argc, char **argv)
{
    if (argc > 1) {
        if (cli_is_help(argv[1])) {
            fputs(usage_version, stdout);
            return 0;
        }
        return cli_usage_error(usage_version, "version: unexpected argument '%s'", argv[1]);
    }
    printf("jetsim %s (backends: memory; jetstream: %s)\n", JETSIM_VERSION,
           ps_jetstream_available() ? "yes" : "not built");
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    const char *path = NULL, *db = NULL;
    unsigned long long seed = 1;
    bool determinism = false, mix = false;
    sim_where where = {0};
    sim_ci_outputs out = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int missing = 0, took;
        if (cli_is_help(a)) {
            print_run_help();
            return 0;
        } else if ((took = cli_where_option(argc, argv, &i, &where, usage_run, "run")) != 0) {
            if (took < 0)
                return 2;
        } else if ((v = cli_option_value(argc, argv, &i, "--seed", &missing))) {
            if (cli_parse_u64(v, 0, UINT64_MAX, &seed) != 0)
                return cli_usage_error(usage_run, "run: --seed wants a number from 0 to 2^64-1, not '%s'", v);
        } else if (strcmp(a, "--mix") == 0) {
            mix = true;
        } else if (strcmp(a, "--check-determinism") == 0) {
            determinism = true;
        } else if ((v = cli_option_value(argc, argv, &i, "--db", &missing))) {
            db = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--json", &missing))) {
            out.json = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--junit", &missing))) {
            out.junit = v;
        } else if (missing) {
            return cli_usage_error(usage_run, "run: option %s needs a value", a);
        } else if (a[0] == '-') {
            return cli_usage_error(usage_run, "run: unknown option '%s'", a);
        } else if (path) {
            return cli_usage_error(usage_run, "run: unexpected argument '%s'", a);
        } else {
            path = a;
        }
    }
    if (!path)
        return cli_usage_error(usage_run, "%s", "run: no scenario file given");
    if (cli_where_check(&where, usage_run))
        return 2;
    if (determinism && where.jetstream) {
        sim_credentials_free(&where.creds);
        return cli_usage_error(usage_run, "%s", "run: --check-determinism is for the memory backend (a real "
                                                "server's timing is not a function of the seed)");
    }
    if ((out.json || out.junit) && determinism) {
        sim_credentials_free(&where.creds);
        return cli_usage_error(usage_run, "%s", "run: --json and --junit report a run, not --check-determinism");
    }
    if (cli_ci_outputs_check(&out, usage_run, "run")) {
        sim_credentials_free(&where.creds);
        return 2;
    }
    int rc = determinism ? sim_report_check_determinism(path, seed, mix)
                         : sim_report_run(path, seed, db, mix, &where, &out);
    sim_credentials_free(&where.creds);
    return rc;
}

static const char usage_diff[] =
    "usage: jetsim diff SCENARIO [--seed N] [--url URL | --spawn [single|cluster]]\n"
    "                   [--time-scale X] [--without-faults] [--keep DIR]\n"
    "                   [--namespace NAME] [--json FILE] [--junit FILE] [--reports DIR]\n"
    "                   [credentials]\n"
    "\n"
    "Runs the scenario with the seed on the memory model and on a real\n"
    "nats-server (spawned single by default), then compares the two\n"
    "histories under this equivalence rule, from the two master databases:\n"
    "  1. the acknowledged set: which jobs got a PubAck;\n"
    "  2. final job states: every job's state and completion count (per\n"
    "     consumer);\n"
    "  3. the delivery-count histogram: how many jobs were delivered at most\n"
    "     once, twice, ...;\n"
    "  4. per-key order, if the scenario expects per_key_order: each key's\n"
    "     jobs in completion order.\n"
    "Timing and which worker handled what are not compared. A fault-free\n"
    "scenario must match on all four; the first divergence of each rule is\n"
    "printed.\n"
    "\n"
    "options:\n"
    "  --seed N          the seed (default 1)\n"
    "  --url, --spawn, --time-scale, --namespace   as for jetsim run\n"
    "  --without-faults  drop the scenario's faults (compare the workload only)\n"
    "  --keep DIR        keep the two run databases as DIR/model.db and\n"
    "                    DIR/server.db (DIR is made if missing; its parent\n"
    "                    must exist)\n"
    "  --json FILE       also write the verdicts and each rule's outcome as one\n"
    "                    JSON object to FILE (\"-\": stdout; the rest to stderr)\n"
    "  --junit FILE      also write JUnit XML to FILE (\"-\": stdout): a testcase\n"
    "                    per compared rule; a divergence is a failure\n"
    "  --reports DIR     on a divergence, write the HTML pages (jetsim report) of\n"
    "                    the seed's two runs: DIR/seed-N.html (the server's) and\n"
    "                    DIR/seed-N-model.html, and print their paths; the run\n"
    "                    databases stay in DIR as with --keep\n"
    "\n"
    "credentials, for --url:\n"
    SIM_CREDENTIALS_HELP
    "\n"
    "exit codes: 0 no divergence, 1 divergence, 2 bad input, 4 harness error\n"
    "            (no server, a stream in the way, ...), 130 interrupted\n"
    "            (3 is not used by diff: a verdict is compared, not returned)\n"
    SIM_SEE_ALSO_HELP;

static int cmd_diff(int argc, char **argv)
{
    const char *path = NULL, *keep = NULL, *reports = NULL;
    unsigned long long seed = 1;
    bool strip = false;
    sim_where where = {.jetstream = true};
    sim_ci_outputs out = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int missing = 0, took;
        if (cli_is_help(a)) {
            fputs(usage_diff, stdout);
            return 0;
        } else if (strncmp(a, "--backend", 9) == 0) {
            return cli_usage_error(usage_diff, "%s", "diff: always memory against jetstream; no --backend");
        } else if ((took = cli_where_option(argc, argv, &i, &where, usage_diff, "diff")) != 0) {
            if (took < 0)
                return 2;
        } else if ((v = cli_option_value(argc, argv, &i, "--seed", &missing))) {
            if (cli_parse_u64(v, 0, UINT64_MAX, &seed) != 0)
                return cli_usage_error(usage_diff, "diff: --seed wants a number from 0 to 2^64-1, not '%s'", v);
        } else if ((v = cli_option_value(argc, argv, &i, "--keep", &missing))) {
            keep = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--reports", &missing))) {
            reports = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--json", &missing))) {
            out.json = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--junit", &missing))) {
            out.junit = v;
        } else if (strcmp(a, "--without-faults") == 0) {
            strip = true;
        } else if (missing) {
            return cli_usage_error(usage_diff, "diff: option %s needs a value", a);
        } else if (a[0] == '-') {
            return cli_usage_error(usage_diff, "diff: unknown option '%s'", a);
        } else if (path) {
            return cli_usage_error(usage_diff, "diff: unexpected argument '%s'", a);
        } else {
            path = a;
        }
    }
    if (!path)
        return cli_usage_error(usage_diff, "%s", "diff: no scenario file given");
    if (!where.url && !where.spawn)
        where.spawn = 1;
    if (cli_where_check(&where, usage_diff))
        return 2;
    if (cli_ci_outputs_check(&out, usage_diff, "diff") ||
        (reports && keep && strcmp(reports, keep) != 0 &&
         cli_usage_error(usage_diff, "%s", "diff: --reports and --keep name one directory (the pages are written "
                                           "from the kept databases)")) ||
        cli_output_dir(reports, "diff", "--reports") || cli_output_dir(keep, "diff", "--keep")) {
        sim_credentials_free(&where.creds);
        return 2;
    }
    int rc = sim_report_diff(path, seed, &where, strip, reports ? reports : keep, &out);
    sim_credentials_free(&where.creds);
    if (rc == 1 && reports && sim_html_report_diff(reports, seed) != 0)
        return SIM_EXIT_HARNESS; /* a page asked for and not written: said on stderr */
    return rc;
}

/* `jetsim help CMD` for a command whose usage text lives in its own file:
 * what `jetsim CMD --help` prints (and its exit code, 0). */
static int help_from(int (*cmd_main)(int argc, char **argv), char *name)
{
    char *args[] = {name, "--help", NULL};
    return cmd_main(2, args);
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (argc > 2)
        return cli_usage_error(usage_help, "help: unexpected argument '%s'", argv[2]);
    const char *topic = argv[1];
    if (cli_is_help(topic) || strcmp(topic, "help") == 0)
        fputs(usage_help, stdout);
    else if (strcmp(topic, "run") == 0)
        print_run_help();
    else if (strcmp(topic, "replay") == 0)
        return help_from(cli_replay_main, "replay");
    else if (strcmp(topic, "diff") == 0)
        fputs(usage_diff, stdout);
    else if (strcmp(topic, "explain") == 0)
        return help_from(cli_explain_main, "explain");
    else if (strcmp(topic, "report") == 0)
        return help_from(cli_report_main, "report");
    else if (strcmp(topic, "capture") == 0)
        return help_from(sim_capture_main, "capture");
    else if (strcmp(topic, "swarm") == 0)
        return help_from(cli_swarm_main, "swarm");
    else if (strcmp(topic, "shrink") == 0)
        return help_from(cli_shrink_main, "shrink");
    else if (strcmp(topic, "agent") == 0)
        return help_from(cli_agent_main, "agent");
    else if (strcmp(topic, "demo") == 0)
        fputs(usage_demo, stdout);
    else if (strcmp(topic, "version") == 0)
        fputs(usage_version, stdout);
    else
        return cli_usage_error(usage_main, "help: unknown command '%s'", topic);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines reach a log or a pipe as they happen */
    if (argc < 2)
        return cli_usage_error(usage_main, "%s", "no command given");
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || cli_is_help(cmd))
        return cmd_help(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
        return cmd_version(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0)
        return cmd_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0 || strcmp(cmd, "replay") == 0 || strcmp(cmd, "diff") == 0 ||
        strcmp(cmd, "swarm") == 0 || strcmp(cmd, "shrink") == 0) {
        int rc = cli_handlers_take(&argc, argv); /* --handlers LIB.so: the user's code, for any of them */
        if (rc)
            return rc;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "replay") == 0)
        return cli_replay_main(argc - 1, argv + 1);
    if (strcmp(cmd, "diff") == 0)
        return cmd_diff(argc - 1, argv + 1);
    if (strcmp(cmd, "explain") == 0)
        return cli_explain_main(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return cli_report_main(argc - 1, argv + 1);
    if (strcmp(cmd, "capture") == 0)
        return sim_capture_main(argc - 1, argv + 1);
    if (strcmp(cmd, "swarm") == 0)
        return cli_swarm_main(argc - 1, argv + 1);
    if (strcmp(cmd, "shrink") == 0)
        return cli_shrink_main(argc - 1, argv + 1);
    if (strcmp(cmd, "agent") == 0)
        return cli_agent_main(argc - 1, argv + 1);
    if (cmd[0] == '-')
        return cli_usage_error(usage_main, "unknown option '%s'", cmd);
    return cli_usage_error(usage_main, "unknown command '%s'", cmd);
}
