/* report.c — `jetsim run` (see report.h): what a user reads first is the
 * seed (to replay the run), then a summary table, then the verdict with
 * the first job that broke a check.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "scenario.h"

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *n = realloc(buf, cap);
            if (!n)
                break;
            buf = n;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

int sim_report_run(const char *path, uint64_t seed, const char *db_path)
{
    static sim_scenario sc;
    if (sim_scenario_load(&sc, path) != PS_OK) {
        fprintf(stderr, "jetsim run: %s\n", ps_last_error());
        return SIM_EXIT_USAGE;
    }
    char *text = read_all(path);
    printf("seed: %" PRIu64 "  (replay: jetsim run %s --seed %" PRIu64 ")\n", seed, path, seed);
    sim_result r;
    ps_status s = sim_run(&sc, text ? text : "", seed, db_path ? db_path : ":memory:", stdout, &r);
    free(text);
    if (s != PS_OK) {
        fprintf(stderr, "jetsim run: harness error: %s: %s\n", ps_status_name(s), ps_last_error());
        return SIM_EXIT_USAGE;
    }
    printf("%-28s %" PRIu64 "\n", "jobs published (PubAck)", r.jobs_published);
    printf("%-28s %" PRIu64 "\n", "publishes given up", r.publish_failures);
    printf("%-28s %" PRIu64 "\n", "jobs done", r.jobs_done);
    printf("%-28s %" PRIu64 "\n", "jobs failed (terminated)", r.jobs_failed);
    printf("%-28s %" PRIu64 "\n", "lost", r.lost);
    printf("%-28s %" PRIu64 "\n", "completed twice", r.double_completed);
    printf("%-28s %" PRIu64 "\n", "over attempts", r.over_attempts);
    printf("%-28s %.3f s\n", "virtual time", (double)r.end_ns / 1e9);
    printf("%-28s %" PRIu64 "\n", "events", r.events);
    printf("%-28s %016" PRIx64 "\n", "trace hash", r.trace_hash);
    if (db_path)
        printf("%-28s %s\n", "database", db_path);
    switch (r.verdict) {
    case SIM_PASS:
        printf("PASS\n");
        return SIM_EXIT_PASS;
    case SIM_SAFETY_VIOLATION:
        printf("FAIL (safety): %s\n", r.first_violation);
        return SIM_EXIT_SAFETY;
    default:
        printf("FAIL (liveness): %s\n", r.first_violation);
        return SIM_EXIT_LIVENESS;
    }
}
