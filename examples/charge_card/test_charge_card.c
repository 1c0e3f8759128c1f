/* test_charge_card.c — the charge handler's unit tests: the same code
 * jetsim loads with --handlers, run through ps_sim_run on the memory
 * backend in virtual time (a few milliseconds a run).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ps_sim.h"

const ps_sim_module *jetsim_module(void);

static ps_sim_result run(const char *scenario, uint64_t seed)
{
    ps_sim_config cfg = {.module = jetsim_module(), .scenario_path = scenario};
    ps_sim_result r;
    if (ps_sim_run(&cfg, seed, &r) != PS_OK)
        fail_msg("%s: %s", scenario, ps_last_error());
    return r;
}

/* Every job charged once and recorded, through every fault of the scenario. */
static void test_the_handler_charges_each_card_once(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        ps_sim_result r = run("charge_card.scn", seed);
        if (r.verdict != PS_SIM_PASS)
            fail_msg("seed %llu: %s", (unsigned long long)seed, r.violation);
        assert_int_equal(r.jobs_done, 2000);
    }
}

/* The fault mixes of 50 seeds, as jetsim swarm draws them. */
static void test_the_handler_survives_fifty_fault_mixes(void **state)
{
    (void)state;
    ps_sim_config cfg = {.module = jetsim_module(), .scenario_path = "charge_card.scn"};
    ps_sim_swarm_result sw;
    assert_int_equal(ps_sim_swarm(&cfg, 1, 50, &sw), PS_OK);
    if (sw.passed != 50)
        fail_msg("seed %llu: %s", (unsigned long long)sw.first_failing_seed, sw.first_failure.violation);
}

/* The buggy handler charges a card twice, and the check says so. */
static void test_the_buggy_handler_is_caught_charging_twice(void **state)
{
    (void)state;
    ps_sim_result r = run("buggy.scn", 1);
    assert_int_equal(r.verdict, PS_SIM_SAFETY);
    assert_non_null(strstr(r.violation, "service_calls"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_handler_charges_each_card_once),
        cmocka_unit_test(test_the_handler_survives_fifty_fault_mixes),
        cmocka_unit_test(test_the_buggy_handler_is_caught_charging_twice),
    };
    return cmocka_run_group_tests_name("charge_card", tests, NULL, NULL);
}
