/* cmd_swarm.c — `jetsim swarm` (many seeds of a scenario, on this host's
 * cores or, with --queue, on agents over JetStream) and `jetsim agent`
 * (runs the seeds of distributed swarms): their usage texts and argument
 * parsing (cmd_swarm.h).
 *
 * Not: the swarms themselves (swarm.c on this host; dist_swarm.c and
 * dist_agent.c over JetStream).
 */
#include "cmd_swarm.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "dist.h"
#include "handlers.h"
#include "ps_clock.h"
#include "ps_jetstream.h"
#include "report.h"
#include "swarm.h"

static const char usage_swarm[] =
    "usage: jetsim swarm SCENARIO --seeds N [--first S] [--jobs J] [--list]\n"
    "                    [--json FILE] [--junit FILE] [--reports DIR] [--handlers LIB.so]\n"
    "       jetsim swarm SCENARIO --seeds N --queue URL [--run-id ID] [--replicas R]\n"
    "                    [--first S] [--list] [--json FILE] [--junit FILE] [--reports DIR]\n"
    "                    [credentials]\n"
    "       jetsim swarm --queue URL --withdraw ID [credentials]\n"
    "\n"
    "Runs seeds S..S+N-1 (S default 1) of the scenario, J processes at a time\n"
    "(default: one per core), shows progress on a terminal, and groups the\n"
    "failing seeds by check and signature (the violation with its numbers\n"
    "taken out), each group with its count, a few example seeds and the\n"
    "command that replays the first. Each seed runs the scenario's faults\n"
    "mixed for that seed (jetsim run --mix replays it). With --handlers each\n"
    "seed runs in a fresh fork: the library's globals do not outlive a seed.\n"
    "\n"
    "The summary counts safety violations, liveness failures and harness\n"
    "errors (seeds that got no verdict) apart.\n"
    "\n"
    "options:\n"
    "  --list        also list every failing seed (up to 10000): \"  seed N:\n"
    "                safety: VIOLATION\" and its \"      replay: ...\" line\n"
    "  --json FILE   write the summary, the groups and the failing seeds as\n"
    "                one JSON object to FILE (\"-\": stdout; the table then\n"
    "                goes to stderr)\n"
    "  --junit FILE  write JUnit XML to FILE (\"-\": stdout): a testcase per\n"
    "                seed; a failure carries the violation and the replay command\n"
    "  --reports DIR  for each example seed of the groups shown, run the seed\n"
    "                again with a run database (DIR/seed-N.db) and write its\n"
    "                HTML page (jetsim report) to DIR/seed-N.html, printed under\n"
    "                the group (DIR is made if missing; its parent must exist)\n"
    "\n"
    "distributed, on JetStream (README: Swarms on several machines):\n"
    "  --queue URL   publish one job per seed to the work-queue stream\n"
    "                JETSIM_SWARM_JOBS on this server or cluster (streams are\n"
    "                created if missing), wait for `jetsim agent`s on any hosts\n"
    "                to run them, and report their verdicts as above, each seed\n"
    "                counted once. The scenario's text travels with its absolute\n"
    "                path, by content hash (stream JETSIM_SWARM_SCENARIOS): files\n"
    "                it names are read at that path on the agents' hosts.\n"
    "                --handlers does not travel and is refused; --jobs is the\n"
    "                agents' business (--parallel).\n"
    "  --run-id ID   the run's id (default: date and a random suffix); jobs\n"
    "                carry Nats-Msg-Id ID.SEED, so submitting the same run again\n"
    "                adds no job twice and collects the verdicts already in. An\n"
    "                id belongs to the scenario first submitted under it: another\n"
    "                scenario under it is refused (exit 2)\n"
    "  --replicas R  replicas of the streams this command creates (default 1)\n"
    "  --withdraw ID  withdraw the jobs of run ID that no agent has taken (a\n"
    "                swarm that was killed leaves them for the agents), and exit\n"
    "  Ctrl-C (or SIGTERM) withdraws the run's jobs no agent has taken; exit 130.\n"
    "\n"
    "credentials, for --queue:\n"
    SIM_CREDENTIALS_HELP
    "\n"
    "exit codes: 0 every seed passed, 1 a seed violated safety, 2 bad input,\n"
    "            3 a seed failed liveness (and none safety), 4 harness errors\n"
    "            only (some seeds got no verdict, or a --json/--junit file\n"
    "            could not be written), 130 interrupted\n"
    SIM_SEE_ALSO_HELP;

int cli_swarm_main(int argc, char **argv)
{
    const char *path = NULL, *cred_missing = NULL, *withdraw = NULL;
    unsigned long long seeds = 0, first = 1, jobs = 0, replicas = 0;
    sim_swarm_options o = {0};
    sim_dist_options d = {0};
    sim_credentials creds = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int missing = 0, took;
        if (cli_is_help(a)) {
            fputs(usage_swarm, stdout);
            return 0;
        } else if ((took = sim_credentials_option(argc, argv, &i, &creds, &cred_missing)) != 0) {
            if (took < 0)
                return cli_usage_error(usage_swarm, "swarm: option %s needs a value", cred_missing);
        } else if ((v = cli_option_value(argc, argv, &i, "--queue", &missing))) {
            d.url = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--run-id", &missing))) {
            d.run_id = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--withdraw", &missing))) {
            withdraw = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--replicas", &missing))) {
            if (cli_parse_u64(v, 1, 5, &replicas) != 0)
                return cli_usage_error(usage_swarm, "swarm: --replicas wants a number from 1 to 5, not '%s'", v);
        } else if (strcmp(a, "--list") == 0) {
            o.list = true;
        } else if ((v = cli_option_value(argc, argv, &i, "--json", &missing))) {
            o.out.json = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--junit", &missing))) {
            o.out.junit = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--reports", &missing))) {
            o.reports = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--seeds", &missing))) {
            if (cli_parse_u64(v, 1, 100000000, &seeds) != 0)
                return cli_usage_error(usage_swarm, "swarm: --seeds wants a number from 1 to 100000000, not '%s'", v);
        } else if ((v = cli_option_value(argc, argv, &i, "--first", &missing))) {
            if (cli_parse_u64(v, 0, UINT64_MAX / 2, &first) != 0)
                return cli_usage_error(usage_swarm, "swarm: --first wants a seed, not '%s'", v);
        } else if ((v = cli_option_value(argc, argv, &i, "--jobs", &missing))) {
            if (cli_parse_u64(v, 1, 256, &jobs) != 0)
                return cli_usage_error(usage_swarm, "swarm: --jobs wants a number from 1 to 256, not '%s'", v);
        } else if (missing) {
            return cli_usage_error(usage_swarm, "swarm: option %s needs a value", a);
        } else if (a[0] == '-') {
            return cli_usage_error(usage_swarm, "swarm: unknown option '%s'", a);
        } else if (path) {
            return cli_usage_error(usage_swarm, "swarm: unexpected argument '%s'", a);
        } else {
            path = a;
        }
    }
    if (withdraw) {
        if (!d.url || path || seeds || d.run_id || replicas || jobs)
            return cli_usage_error(usage_swarm, "%s",
                                   "swarm: --withdraw ID goes with --queue URL (and credentials) only");
        int rc = cli_queue_ready(&d, &creds, usage_swarm, "swarm");
        if (rc)
            return rc;
        rc = sim_dist_withdraw(withdraw, &d);
        sim_credentials_free(&creds);
        return rc;
    }
    if (!path)
        return cli_usage_error(usage_swarm, "%s", "swarm: no scenario file given");
    if (!seeds)
        return cli_usage_error(usage_swarm, "%s", "swarm: --seeds N is required");
    if (!d.url && (d.run_id || replicas || sim_credentials_any(&creds)))
        return cli_usage_error(usage_swarm, "%s", "swarm: --run-id, --replicas and credentials go with --queue URL");
    if (d.url && jobs)
        return cli_usage_error(usage_swarm, "%s", "swarm: with --queue, the agents decide how many seeds run at once "
                                                  "(jetsim agent --parallel K), not --jobs");
    if (d.url && cli_handlers_path())
        return cli_usage_error(usage_swarm, "%s", "swarm: --handlers cannot go with --queue: the library does not "
                                                  "travel to the agents, which run the built-in handlers only");
    if (d.url && !ps_jetstream_available())
        return cli_usage_error(usage_swarm, "%s", "swarm: this jetsim was built without libnats: no --queue");
    if (cli_ci_outputs_check(&o.out, usage_swarm, "swarm") || cli_output_dir(o.reports, "swarm", "--reports"))
        return 2;
    if (!d.url)
        return sim_swarm(path, first, seeds, (int)jobs, &o);
    int rc = cli_queue_ready(&d, &creds, usage_swarm, "swarm");
    if (rc)
        return rc;
    d.replicas = (int)replicas;
    rc = sim_dist_swarm(path, first, seeds, &o, &d);
    sim_credentials_free(&creds);
    return rc;
}

static const char usage_agent[] =
    "usage: jetsim agent --queue URL [--parallel K] [--ack-wait DUR] [--replicas R]\n"
    "                    [credentials]\n"
    "\n"
    "Runs seeds for distributed swarms (jetsim swarm --queue), on any number\n"
    "of hosts at once: pulls jobs from the work-queue stream JETSIM_SWARM_JOBS\n"
    "through the durable consumer jetsim-agents (the library's ps_worker),\n"
    "runs seeds in K long-lived child processes (seed runners), stores each\n"
    "verdict in JETSIM_SWARM_RESULTS and acks the job once the verdict's\n"
    "PubAck came.\n"
    "A long seed's job is kept alive with in-progress acks (every AckWait/3).\n"
    "An agent killed mid-seed loses nothing: the job comes back after\n"
    "AckWait and another agent runs it. SIGINT or SIGTERM stops it cleanly:\n"
    "the seeds it runs are dropped and their jobs handed back (a NAK), for\n"
    "others to take at once. Streams are created if missing.\n"
    "\n"
    "options:\n"
    "  --queue URL     the server or cluster (comma-separated URLs)\n"
    "  --parallel K    seeds at once, 1..256 (default: one per core)\n"
    "  --ack-wait DUR  AckWait of the consumer jetsim-agents, which every agent\n"
    "                  shares: give all agents the same (default 30s; 100ms..1h;\n"
    "                  units ms, s, m, h)\n"
    "  --replicas R    replicas of the streams this agent creates (default 1)\n"
    "\n"
    "credentials:\n"
    SIM_CREDENTIALS_HELP
    "\n"
    "exit codes: 0 stopped by SIGINT/SIGTERM, 2 bad input, 4 harness error (no\n"
    "            server, a stream or the consumer could not be made)\n"
    SIM_SEE_ALSO_HELP;

int cli_agent_main(int argc, char **argv)
{
    const char *cred_missing = NULL;
    unsigned long long parallel = 0, replicas = 0;
    sim_dist_options d = {0};
    sim_credentials creds = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int missing = 0, took;
        if (cli_is_help(a)) {
            fputs(usage_agent, stdout);
            return 0;
        } else if ((took = sim_credentials_option(argc, argv, &i, &creds, &cred_missing)) != 0) {
            if (took < 0)
                return cli_usage_error(usage_agent, "agent: option %s needs a value", cred_missing);
        } else if ((v = cli_option_value(argc, argv, &i, "--queue", &missing))) {
            d.url = v;
        } else if ((v = cli_option_value(argc, argv, &i, "--parallel", &missing))) {
            if (cli_parse_u64(v, 1, 256, &parallel) != 0)
                return cli_usage_error(usage_agent, "agent: --parallel wants a number from 1 to 256, not '%s'", v);
        } else if ((v = cli_option_value(argc, argv, &i, "--replicas", &missing))) {
            if (cli_parse_u64(v, 1, 5, &replicas) != 0)
                return cli_usage_error(usage_agent, "agent: --replicas wants a number from 1 to 5, not '%s'", v);
        } else if ((v = cli_option_value(argc, argv, &i, "--ack-wait", &missing))) {
            if (ps_duration_parse(v, &d.ack_wait_ns) != PS_OK || d.ack_wait_ns < 100 * PS_NS_PER_MS ||
                d.ack_wait_ns > 3600 * PS_NS_PER_SEC)
                return cli_usage_error(usage_agent, "agent: --ack-wait wants a duration from 100ms to 1h, not '%s'", v);
        } else if (missing) {
            return cli_usage_error(usage_agent, "agent: option %s needs a value", a);
        } else {
            return cli_usage_error(usage_agent, "agent: unknown argument '%s'", a);
        }
    }
    if (!d.url)
        return cli_usage_error(usage_agent, "%s", "agent: --queue URL is required");
    if (!ps_jetstream_available())
        return cli_usage_error(usage_agent, "%s", "agent: this jetsim was built without libnats: no jetstream backend");
    int rc = cli_queue_ready(&d, &creds, usage_agent, "agent");
    if (rc)
        return rc;
    d.parallel = (int)parallel;
    d.replicas = (int)replicas;
    rc = sim_dist_agent(&d);
    sim_credentials_free(&creds);
    return rc;
}
