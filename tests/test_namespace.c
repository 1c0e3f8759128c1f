/* test_namespace.c — unit tests of sim/namespace.c: a scenario moved into
 * a namespace (jetsim run/diff --namespace, issue 10 item 1) has every
 * stream name and subject prefixed, and runs as it did.
 *
 * Not: two runs sharing a real server (tests/test_cli.c does that).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "scenario.h"
#include "workload.h"

static const char text[] =
    "stream ORDERS subjects=orders.>,audit.* retention=workqueue\n"
    "stream EVENTS subjects=events.>\n"
    "consumer ORDERS workers ack_wait=10s\n"
    "consumer EVENTS a filter=events.eu.>\n"
    "publish orders.new rate=100/s count=50\n"
    "publish events.eu.x rate=50/s count=20\n"
    "workers 2 consumer=ORDERS/workers handle=1ms..5ms\n"
    "workers 1 consumer=EVENTS/a\n"
    "expect no_loss no_double_completion drained_within=1m\n";

static sim_scenario sc, plain;

static void test_namespace_prefixes_streams_subjects_and_references(void **state)
{
    (void)state;
    assert_int_equal(sim_scenario_parse(&sc, "t.scn", text, strlen(text)), PS_OK);
    assert_int_equal(sim_scenario_namespace(&sc, "ci_42"), PS_OK);
    assert_string_equal(sc.streams[0].name, "ci_42-ORDERS");
    assert_string_equal(sc.streams[0].subjects[0], "ci_42.orders.>");
    assert_string_equal(sc.streams[0].subjects[1], "ci_42.audit.*");
    assert_string_equal(sc.streams[1].name, "ci_42-EVENTS");
    assert_string_equal(sc.consumers[0].stream, "ci_42-ORDERS");
    assert_string_equal(sc.consumers[0].name, "workers"); /* consumers live inside their stream */
    assert_string_equal(sc.consumers[1].filter, "ci_42.events.eu.>");
    assert_string_equal(sc.publishers[0].subject, "ci_42.orders.new");
    assert_string_equal(sc.workers[0].stream, "ci_42-ORDERS");
    assert_string_equal(sc.workers[1].stream, "ci_42-EVENTS");
}

/* A replay's subjects come from its workload: the transform's destination
 * gets the prefix, and a replay without one gets >=>NS.> */
static void test_namespace_maps_a_replay_through_its_transform(void **state)
{
    (void)state;
    static const char replay[] =
        "stream JOBS subjects=jobs.>\n"
        "consumer JOBS w\n"
        "replay a.wl transform=orders.*.*=>jobs.$1.$2\n"
        "replay b.wl\n"
        "workers 1 consumer=JOBS/w\n";
    assert_int_equal(sim_scenario_parse(&sc, "r.scn", replay, strlen(replay)), PS_OK);
    assert_int_equal(sim_scenario_namespace(&sc, "x"), PS_OK);
    assert_string_equal(sc.publishers[0].transform, "orders.*.*=>x.jobs.$1.$2");
    assert_string_equal(sc.publishers[1].transform, ">=>x.>");
    char *m = sim_workload_transform(sc.publishers[1].transform, "orders.eu.1");
    assert_non_null(m);
    assert_string_equal(m, "x.orders.eu.1");
    free(m);
    m = sim_workload_transform(sc.publishers[0].transform, "orders.eu.1");
    assert_non_null(m);
    assert_string_equal(m, "x.jobs.eu.1");
    free(m);
}

static void test_namespace_refuses_bad_names_and_overlong_results(void **state)
{
    (void)state;
    const char *bad[] = {"", "a.b", "a-b", "a*", "a>", "a b", "012345678901234567890123456789012"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sim_scenario_parse(&sc, "t.scn", text, strlen(text)), PS_OK);
        assert_int_equal(sim_scenario_namespace(&sc, bad[i]), PS_ERR_INVALID_ARG);
        assert_non_null(strstr(ps_last_error(), "namespace"));
    }
    char name[121], t[512];
    memset(name, 'S', 120);
    name[120] = '\0';
    snprintf(t, sizeof t, "stream %s subjects=s.>\nconsumer %s c\npublish s.a\nworkers 1\n", name, name);
    assert_int_equal(sim_scenario_parse(&sc, "long.scn", t, strlen(t)), PS_OK);
    assert_int_equal(sim_scenario_namespace(&sc, "ns_with_some_length"), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "line 1: stream"));
}

/* Names and subjects are not in the trace: the same seed runs the same. */
static void test_namespaced_run_is_the_same_run(void **state)
{
    (void)state;
    assert_int_equal(sim_scenario_parse(&plain, "t.scn", text, strlen(text)), PS_OK);
    assert_int_equal(sim_scenario_parse(&sc, "t.scn", text, strlen(text)), PS_OK);
    assert_int_equal(sim_scenario_namespace(&sc, "n1"), PS_OK);
    sim_result a, b;
    assert_int_equal(sim_run(&plain, "", 3, ":memory:", NULL, &a), PS_OK);
    assert_int_equal(sim_run(&sc, "", 3, ":memory:", NULL, &b), PS_OK);
    assert_int_equal(a.verdict, SIM_PASS);
    assert_int_equal(b.verdict, SIM_PASS);
    assert_int_equal(b.jobs_done, a.jobs_done);
    assert_true(a.trace_hash == b.trace_hash);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_namespace_prefixes_streams_subjects_and_references),
        cmocka_unit_test(test_namespace_maps_a_replay_through_its_transform),
        cmocka_unit_test(test_namespace_refuses_bad_names_and_overlong_results),
        cmocka_unit_test(test_namespaced_run_is_the_same_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
