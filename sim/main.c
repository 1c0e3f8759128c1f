/* main.c — the `jetsim` command line.
 *
 * Subcommands today: demo (a job system end to end on the memory backend)
 * and version. The simulator's run/swarm/replay/shrink join them with the
 * simulator issue. Exit codes: 0 success, 1 the run failed its check,
 * 2 bad usage or a harness error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "ps_backend.h"

#define JETSIM_VERSION "0.1.0"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: jetsim <command> [options]\n"
            "\n"
            "Test JetStream job systems without a server, and against one.\n"
            "\n"
            "commands:\n"
            "  demo      run a small job system end to end on the memory backend\n"
            "  version   print the version\n"
            "  help      show this help (also: jetsim <command> --help)\n"
            "\n"
            "exit codes: 0 success, 1 the run failed its check, 2 bad usage or harness error\n");
}

static void demo_usage(FILE *f)
{
    fprintf(f,
            "usage: jetsim demo [--jobs N] [--workers N] [--batch N] [--fail-rate P] [--seed S]\n"
            "\n"
            "Publishes N jobs (every tenth twice, to show dedup) to a work-queue stream,\n"
            "and lets workers pull them through one durable consumer (BackOff 1s,5s,30s,\n"
            "MaxDeliver 5). A handler fails with probability P: the job is nak'ed, or\n"
            "terminated on its last attempt. Time is a manual clock that jumps to the\n"
            "next redelivery, so the run is a pure function of its options.\n"
            "\n"
            "  --jobs N        jobs to publish (default 1000)\n"
            "  --workers N     workers pulling from the durable (default 4)\n"
            "  --batch N       fetch batch (default 50)\n"
            "  --fail-rate P   chance an attempt fails, 0..1 (default 0.1)\n"
            "  --seed S        seed of the handlers' failures (default 1)\n"
            "\n"
            "exit codes: 0 every job ended acked or terminated, 1 otherwise, 2 bad usage\n");
}

static int bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "jetsim demo: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see jetsim demo --help)\n");
    return 2;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int cmd_demo(int argc, char **argv)
{
    demo_options o = {.jobs = 1000, .workers = 4, .batch = 50, .fail_rate = 0.1, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            demo_usage(stdout);
            return 0;
        }
        if (i + 1 >= argc)
            return bad("unknown option or missing value: %s", a);
        const char *v = argv[++i];
        long n;
        char *end;
        if (!strcmp(a, "--jobs") && !parse_long(v, 1, 10000000, &n))
            o.jobs = (int)n;
        else if (!strcmp(a, "--workers") && !parse_long(v, 1, 1000, &n))
            o.workers = (int)n;
        else if (!strcmp(a, "--batch") && !parse_long(v, 1, 10000, &n))
            o.batch = (int)n;
        else if (!strcmp(a, "--seed") && !parse_long(v, 0, (long)(~0UL >> 1), &n))
            o.seed = (uint64_t)n;
        else if (!strcmp(a, "--fail-rate") && (o.fail_rate = strtod(v, &end), *end == '\0' && end != v) &&
                 o.fail_rate >= 0 && o.fail_rate <= 1)
            ;
        else
            return bad("bad option or value: %s", a);
    }
    demo_result r;
    int rc = demo_run(&o, &r, stdout, stderr);
    if (rc == 2)
        return 2;
    printf("\n%-22s %10s\n", "", "count");
    printf("%-22s %10ld\n", "jobs published", r.published);
    printf("%-22s %10ld\n", "duplicates (dedup)", r.duplicates);
    printf("%-22s %10ld\n", "deliveries", r.delivered);
    printf("%-22s %10ld\n", "  of them redeliveries", r.redelivered);
    printf("%-22s %10ld\n", "acked", r.acked);
    printf("%-22s %10ld\n", "nak'ed (retried)", r.naked);
    printf("%-22s %10ld\n", "terminated", r.termed);
    printf("%-22s %10ld\n", "advisories", r.advisories);
    printf("%-22s %10llu\n", "left in the stream", (unsigned long long)r.left_in_stream);
    printf("%-22s %9.1fs\n", "virtual time", (double)r.virtual_ns / 1e9);
    printf("\n%s\n", rc == 0 ? "OK: every job ended acked or terminated; the work queue is empty"
                             : "FAILED: some jobs did not finish");
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("jetsim %s (memory backend; JetStream backend: not built yet)\n", JETSIM_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "demo"))
        return cmd_demo(argc - 1, argv + 1);
    fprintf(stderr, "jetsim: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
