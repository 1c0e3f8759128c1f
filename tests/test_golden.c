/* test_golden.c — the trace hash of every shipped scenario (sim/scenarios/)
 * for seeds 1, 2 and 3 on the memory backend, recorded here.
 *
 * A run on the model is a pure function of (scenario, seed), so these
 * change only when simulated behaviour changes: the model, the engine, the
 * workers or the faults. Such a change must be deliberate: update the
 * table in the same commit and say there why the traces changed. A new
 * scenario gets its rows too (the test fails until it has them).
 *
 * Not: a check of verdicts (test_engine.c has those).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <glob.h>

#include "engine.h"
#include "scenario.h"

typedef struct golden {
    const char *scenario;
    uint64_t seed;
    uint64_t hash;
} golden;

static const golden table[] = {
    {"buggy_ack_before_commit", 1, UINT64_C(0x9833c9a21fe7470d)},
    {"buggy_ack_before_commit", 2, UINT64_C(0x264e16adc4dedfff)},
    {"buggy_ack_before_commit", 3, UINT64_C(0x97d2f1e730541820)},
    {"chaos_server_kill", 1, UINT64_C(0x0e77869a89df587c)},
    {"chaos_server_kill", 2, UINT64_C(0xad136d39a26cebd4)},
    {"chaos_server_kill", 3, UINT64_C(0x26e59251de286c14)},
    {"cluster_leader_kill", 1, UINT64_C(0xf0ec12ce4ae0ae09)},
    {"cluster_leader_kill", 2, UINT64_C(0xcfcf2cee0857ae21)},
    {"cluster_leader_kill", 3, UINT64_C(0x09f3bb8fbe8850da)},
    {"dedup_lost_pubacks", 1, UINT64_C(0x62ca32f446d1c4d9)},
    {"dedup_lost_pubacks", 2, UINT64_C(0x11d92f5c563f8454)},
    {"dedup_lost_pubacks", 3, UINT64_C(0xdab722e86940522a)},
    {"event_stream_consumers", 1, UINT64_C(0x1b276f3cf6564fc3)},
    {"event_stream_consumers", 2, UINT64_C(0x9b0683dcd6db57a7)},
    {"event_stream_consumers", 3, UINT64_C(0x89a7c7d7d3130a43)},
    {"network_faults", 1, UINT64_C(0x6880dd8826e3de78)},
    {"network_faults", 2, UINT64_C(0x93167f7c977fb9c8)},
    {"network_faults", 3, UINT64_C(0x8d955805c8ef9b75)},
    {"patterns", 1, UINT64_C(0x2f700414d37c1bc2)},
    {"patterns", 2, UINT64_C(0x7c3cd63f352382ad)},
    {"patterns", 3, UINT64_C(0x57c75aba6079c18a)},
    {"per_key_order", 1, UINT64_C(0xc3c50efbf39d6393)},
    {"per_key_order", 2, UINT64_C(0x18e85d3275049f03)},
    {"per_key_order", 3, UINT64_C(0x0564a090e018661d)},
    {"replay_orders", 1, UINT64_C(0xc18816ee94a723a1)},
    {"replay_orders", 2, UINT64_C(0xbb21ac9d7d1fa609)},
    {"replay_orders", 3, UINT64_C(0x2456d9e6261fd57b)},
    {"steady_event_stream", 1, UINT64_C(0x4fe3174ac2ba6be2)},
    {"steady_event_stream", 2, UINT64_C(0x77f5afea52e0f02e)},
    {"steady_event_stream", 3, UINT64_C(0xbe7c6f70be853506)},
    {"steady_per_key", 1, UINT64_C(0x903d064776eba237)},
    {"steady_per_key", 2, UINT64_C(0xa2fb45b65bba01f9)},
    {"steady_per_key", 3, UINT64_C(0xc648b90d9187ee68)},
    {"steady_workqueue", 1, UINT64_C(0x067125f3c4d1484f)},
    {"steady_workqueue", 2, UINT64_C(0xf5ca2bcb305096af)},
    {"steady_workqueue", 3, UINT64_C(0x150be8a704e6273c)},
    {"workqueue_crashes", 1, UINT64_C(0xfeb8f7723a14ee76)},
    {"workqueue_crashes", 2, UINT64_C(0x970586e65236487f)},
    {"workqueue_crashes", 3, UINT64_C(0x7eb4988d08f4c750)},
};

#define NROWS (sizeof table / sizeof table[0])

static sim_scenario sc;

/* The trace hash of row i's scenario and seed, run now in this process. */
static uint64_t run_row(size_t i)
{
    char path[256];
    snprintf(path, sizeof path, "sim/scenarios/%s.scn", table[i].scenario);
    if (sim_scenario_load(&sc, path) != PS_OK)
        fail_msg("%s: %s", path, ps_last_error());
    sim_result r;
    if (sim_run(&sc, "", table[i].seed, ":memory:", NULL, &r) != PS_OK)
        fail_msg("%s seed %llu: %s", path, (unsigned long long)table[i].seed, ps_last_error());
    return r.trace_hash;
}

static void test_every_shipped_scenario_keeps_its_trace_hashes(void **state)
{
    (void)state;
    int changed = 0;
    for (size_t i = 0; i < NROWS; i++) {
        uint64_t h = run_row(i);
        if (h != table[i].hash) {
            print_message("%s seed %llu: trace hash %016llx, recorded %016llx\n", table[i].scenario,
                          (unsigned long long)table[i].seed, (unsigned long long)h,
                          (unsigned long long)table[i].hash);
            changed++;
        }
    }
    if (changed)
        fail_msg("%d trace(s) changed: if the change of behaviour is meant, update the table and say why", changed);
}

/* A swarm's seed runner runs seed after seed (seedrunner.h): a run must not
 * depend on what ran before it in the process (memory reused from an
 * earlier run, a cache, a static). The table again, last row first, after
 * the test above ran it first row first. */
static void test_a_run_does_not_depend_on_the_runs_before_it(void **state)
{
    (void)state;
    for (size_t i = NROWS; i-- > 0;) {
        uint64_t h = run_row(i);
        if (h != table[i].hash)
            fail_msg("%s seed %llu: trace hash %016llx after other runs in reverse order, %016llx in order",
                     table[i].scenario, (unsigned long long)table[i].seed, (unsigned long long)h,
                     (unsigned long long)table[i].hash);
    }
}

static void test_every_shipped_scenario_has_recorded_hashes(void **state)
{
    (void)state;
    glob_t g;
    assert_int_equal(glob("sim/scenarios/*.scn", 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *base = strrchr(g.gl_pathv[i], '/') + 1;
        size_t len = strlen(base) - 4;
        int seeds = 0;
        for (size_t k = 0; k < NROWS; k++)
            seeds += strlen(table[k].scenario) == len && !strncmp(table[k].scenario, base, len);
        if (seeds != 3)
            fail_msg("%s has %d recorded trace hashes, not 3 (seeds 1-3): add its rows", g.gl_pathv[i], seeds);
    }
    globfree(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_shipped_scenario_keeps_its_trace_hashes),
        cmocka_unit_test(test_a_run_does_not_depend_on_the_runs_before_it),
        cmocka_unit_test(test_every_shipped_scenario_has_recorded_hashes),
    };
    return cmocka_run_group_tests_name("golden trace hashes", tests, NULL, NULL);
}
