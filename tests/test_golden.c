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
    {"buggy_ack_before_commit", 1, UINT64_C(0x5463db9459d99081)},
    {"buggy_ack_before_commit", 2, UINT64_C(0xb4e632d056149015)},
    {"buggy_ack_before_commit", 3, UINT64_C(0x99f53df691ec6b3f)},
    {"chaos_server_kill", 1, UINT64_C(0x667076ff3dc09612)},
    {"chaos_server_kill", 2, UINT64_C(0xfe363e09db56e664)},
    {"chaos_server_kill", 3, UINT64_C(0x46f9caee474bba11)},
    {"cluster_leader_kill", 1, UINT64_C(0x27dd3ec25a7ff9eb)},
    {"cluster_leader_kill", 2, UINT64_C(0xe72eca9a7e0557e9)},
    {"cluster_leader_kill", 3, UINT64_C(0xd532e7b0247ca30b)},
    {"dedup_lost_pubacks", 1, UINT64_C(0xe4cad00e4e1eae93)},
    {"dedup_lost_pubacks", 2, UINT64_C(0xf7afe7759ddcd793)},
    {"dedup_lost_pubacks", 3, UINT64_C(0xfb72271ed1065a83)},
    {"event_stream_consumers", 1, UINT64_C(0xab0131ed3037b576)},
    {"event_stream_consumers", 2, UINT64_C(0x031300322c3ed248)},
    {"event_stream_consumers", 3, UINT64_C(0x280d4fc1a2b6c9ca)},
    {"network_faults", 1, UINT64_C(0xa29fdffcbff44fed)},
    {"network_faults", 2, UINT64_C(0xedffdc12a23017b1)},
    {"network_faults", 3, UINT64_C(0xd0c00e72a2e2bbde)},
    {"per_key_order", 1, UINT64_C(0x450f395516944fdd)},
    {"per_key_order", 2, UINT64_C(0x2013297694d00c3d)},
    {"per_key_order", 3, UINT64_C(0xc4d7dd31074403ac)},
    {"replay_orders", 1, UINT64_C(0x62e7a0d2e2fa3d7b)},
    {"replay_orders", 2, UINT64_C(0x46631814d2447dd2)},
    {"replay_orders", 3, UINT64_C(0x368fec51453dfe7f)},
    {"steady_event_stream", 1, UINT64_C(0xf087b83e3a70b1e0)},
    {"steady_event_stream", 2, UINT64_C(0xee94286a80146dd9)},
    {"steady_event_stream", 3, UINT64_C(0x801aaeb7e8212de4)},
    {"steady_per_key", 1, UINT64_C(0xbfd96619a7be6c1b)},
    {"steady_per_key", 2, UINT64_C(0x7c5994356355387b)},
    {"steady_per_key", 3, UINT64_C(0x3c9f84345930d38a)},
    {"steady_workqueue", 1, UINT64_C(0xd65b7a349e5df97a)},
    {"steady_workqueue", 2, UINT64_C(0x6f7d515b315b12b1)},
    {"steady_workqueue", 3, UINT64_C(0x2680914a20a80552)},
    {"workqueue_crashes", 1, UINT64_C(0xe81eaf4950dba0c2)},
    {"workqueue_crashes", 2, UINT64_C(0x267961cf6403d49d)},
    {"workqueue_crashes", 3, UINT64_C(0x40fd6d21f9ecadbb)},
};

#define NROWS (sizeof table / sizeof table[0])

static sim_scenario sc;

static void test_every_shipped_scenario_keeps_its_trace_hashes(void **state)
{
    (void)state;
    int changed = 0;
    for (size_t i = 0; i < NROWS; i++) {
        char path[256];
        snprintf(path, sizeof path, "sim/scenarios/%s.scn", table[i].scenario);
        if (sim_scenario_load(&sc, path) != PS_OK)
            fail_msg("%s: %s", path, ps_last_error());
        sim_result r;
        if (sim_run(&sc, "", table[i].seed, ":memory:", NULL, &r) != PS_OK)
            fail_msg("%s seed %llu: %s", path, (unsigned long long)table[i].seed, ps_last_error());
        if (r.trace_hash != table[i].hash) {
            print_message("%s seed %llu: trace hash %016llx, recorded %016llx\n", table[i].scenario,
                          (unsigned long long)table[i].seed, (unsigned long long)r.trace_hash,
                          (unsigned long long)table[i].hash);
            changed++;
        }
    }
    if (changed)
        fail_msg("%d trace(s) changed: if the change of behaviour is meant, update the table and say why", changed);
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
        cmocka_unit_test(test_every_shipped_scenario_has_recorded_hashes),
    };
    return cmocka_run_group_tests_name("golden trace hashes", tests, NULL, NULL);
}
