/* bench_user.c — the user's own code under the simulator: the charge_card
 * example's correct scenario (examples/charge_card/charge_card.scn: 2,000
 * jobs, one gateway call and one SQLite insert per job through jetsim's
 * VFS, with its crashes, lost acks, database faults and restart), run by
 * ps_sim_run on one core, wall time, median of 5 seeds.
 * Prints `sim.user_jobs_per_s: <N>`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"

#include "ps_sim.h"

#define RUNS 5

const ps_sim_module *jetsim_module(void); /* examples/charge_card/charge_card.c, linked in */



int main(void)
{
    ps_sim_config cfg = {.module = jetsim_module(), .scenario_path = "examples/charge_card/charge_card.scn"};
    double v[RUNS];
    for (int i = 0; i < RUNS; i++) {
        ps_sim_result r;
        double t0 = now_s();
        if (ps_sim_run(&cfg, (uint64_t)i + 1, &r) != PS_OK || r.verdict != PS_SIM_PASS) {
            fprintf(stderr, "bench_user: run %d failed: %s %s\n", i, ps_last_error(), r.violation);
            return 1;
        }
        v[i] = (double)r.jobs_done / (now_s() - t0);
    }
    qsort(v, RUNS, sizeof v[0], cmp_double);
    printf("sim.user_jobs_per_s: %.0f\n", v[RUNS / 2]);
    return 0;
}
