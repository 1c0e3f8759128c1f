/* bench_sim.c — simulator throughput: the work-queue scenario below
 * (200,000 jobs, four workers, no faults) run on the memory backend with
 * the SQLite master on (in memory), one core, wall time; median of 5.
 * Prints `sim.jobs_per_s: <N>`.
 *
 * Not yet: sim.swarm_1000x10k_s (jetsim swarm does not exist yet).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "scenario.h"

#define RUNS 5
#define JOBS 200000

static const char text[] =
    "stream JOBS subjects=jobs.> retention=workqueue storage=file\n"
    "consumer JOBS workers ack_wait=30s max_deliver=5 max_ack_pending=1000\n"
    "publish jobs.created rate=20000/s count=200000 msg_id=job\n"
    "workers 4 batch=100 handle=1ms..5ms idempotent=yes\n"
    "expect no_loss no_double_completion attempts<=5\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    static sim_scenario sc;
    if (sim_scenario_parse(&sc, "bench.scn", text, strlen(text)) != PS_OK) {
        fprintf(stderr, "bench_sim: %s\n", ps_last_error());
        return 1;
    }
    double v[RUNS];
    for (int i = 0; i < RUNS; i++) {
        sim_result r;
        double t0 = now_s();
        if (sim_run(&sc, text, (uint64_t)i + 1, ":memory:", NULL, &r) != PS_OK || r.verdict != SIM_PASS ||
            r.jobs_done != JOBS) {
            fprintf(stderr, "bench_sim: run %d failed: %s %s\n", i, ps_last_error(), r.first_violation);
            return 1;
        }
        v[i] = JOBS / (now_s() - t0);
    }
    qsort(v, RUNS, sizeof v[0], cmp);
    printf("sim.jobs_per_s: %.0f\n", v[RUNS / 2]);
    return 0;
}
