/* bench_sim.c — simulator throughput: the work-queue scenario below
 * (200,000 jobs, four workers, no faults) run on the memory backend with
 * the SQLite master on (in memory, or on disk in BENCH_SIM_DB), one core,
 * wall time; median of 5.
 * Prints `sim.jobs_per_s: <N>`.
 *
 * Then `sim.swarm_1000x10k_s: <S>`: the wall time of jetsim swarm over
 * 1,000 seeds of a 10,000-job chaos scenario (the shipped work-queue
 * scenario's faults) on all cores; one run (about ten seconds on two
 * cores). `bench_sim --jobs-only` prints only the first number.
 *
 * Then `sim.swarm_scaling_2cores: <R>`: the throughput (seeds per second)
 * of the same swarm over SCALING_SEEDS seeds with 2 processes divided by
 * that with 1, both measured in this run (1 first, then 2, same seeds).
 * On a 2-core machine shared with nothing, the ideal is 2. SCALING_SEEDS
 * is large enough that a worker's start (a fork, its first seed run on
 * memory not yet faulted in) is a small part of either run.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fcntl.h>
#include <unistd.h>

#include "bench_util.h"

#include "engine.h"
#include "swarm.h"
#include "scenario.h"

#define RUNS 5
#define JOBS 200000
#define SCALING_SEEDS 300

static const char text[] =
    "stream JOBS subjects=jobs.> retention=workqueue storage=file\n"
    "consumer JOBS workers ack_wait=30s max_deliver=5 max_ack_pending=1000\n"
    "publish jobs.created rate=20000/s count=200000 msg_id=job\n"
    "workers 4 batch=100 handle=1ms..5ms idempotent=yes\n"
    "expect no_loss no_double_completion attempts<=5\n";

static const char chaos[] =
    "stream JOBS subjects=jobs.> retention=workqueue storage=file dupe_window=2m\n"
    "consumer JOBS workers ack_wait=30s max_deliver=5 backoff=1s,5s,30s,1m max_ack_pending=1000\n"
    "publish jobs.created rate=500/s count=10000 msg_id=job retry=5 retry_wait=200ms\n"
    "workers 4 batch=50 handle=2ms..40ms fail=1% idempotent=yes commit=before_ack\n"
    "at 5s crash worker 2 for 20s\n"
    "at 8s drop acks 5% for 5s\n"
    "at 12s restart server crash\n"
    "at 15s slow worker 3 handle=35s for 30s\n"
    "expect no_loss no_double_completion attempts<=5 drained_within=10m\n";



/* Seeds 1..count of the swarm in `path` with `jobs` processes, its report
 * sent to /dev/null; *dt: the wall time. Returns sim_swarm's code. */
static int swarm_quietly(const char *path, uint64_t count, int jobs, double *dt)
{
    fflush(stdout);
    int saved = dup(STDOUT_FILENO), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDOUT_FILENO);
    double t0 = now_s();
    int rc = sim_swarm(path, 1, count, jobs, NULL);
    *dt = now_s() - t0;
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(devnull);
    close(saved);
    return rc;
}

int main(int argc, char **argv)
{
    bool jobs_only = argc > 1 && strcmp(argv[1], "--jobs-only") == 0;
    static sim_scenario sc;
    if (sim_scenario_parse(&sc, "bench.scn", text, strlen(text)) != PS_OK) {
        fprintf(stderr, "bench_sim: %s\n", ps_last_error());
        return 1;
    }
    /* BENCH_SIM_DB=FILE: the master database on disk (as jetsim run --db), to
     * measure what its journal costs; default in memory */
    const char *db = getenv("BENCH_SIM_DB") && *getenv("BENCH_SIM_DB") ? getenv("BENCH_SIM_DB") : ":memory:";
    double v[RUNS];
    for (int i = 0; i < RUNS; i++) {
        sim_result r;
        double t0 = now_s();
        if (sim_run(&sc, text, (uint64_t)i + 1, db, NULL, &r) != PS_OK || r.verdict != SIM_PASS ||
            r.jobs_done != JOBS) {
            fprintf(stderr, "bench_sim: run %d failed: %s %s\n", i, ps_last_error(), r.first_violation);
            return 1;
        }
        v[i] = JOBS / (now_s() - t0);
    }
    qsort(v, RUNS, sizeof v[0], cmp_double);
    printf("sim.jobs_per_s: %.0f\n", v[RUNS / 2]);
    fflush(stdout);
    if (jobs_only)
        return 0;

    char path[] = "/tmp/jetsim-bench-swarm-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, chaos, strlen(chaos)) != (ssize_t)strlen(chaos)) {
        fprintf(stderr, "bench_sim: cannot write %s\n", path);
        return 1;
    }
    close(fd);
    double dt = 0, dt1 = 0, dt2 = 0;
    int rc = swarm_quietly(path, 1000, 0, &dt);
    rc = rc ? rc : swarm_quietly(path, SCALING_SEEDS, 1, &dt1);
    rc = rc ? rc : swarm_quietly(path, SCALING_SEEDS, 2, &dt2);
    unlink(path);
    if (rc != 0) {
        fprintf(stderr, "bench_sim: the swarm found failing seeds (rerun: jetsim swarm)\n");
        return 1;
    }
    printf("sim.swarm_1000x10k_s: %.1f\n", dt);
    printf("sim.swarm_scaling_2cores: %.2f\n", dt1 / dt2);
    return 0;
}
