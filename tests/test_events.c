/* test_events.c — the simulator's event queue (sim/events.c): events come
 * out by time, and events at the same time in the order they were
 * scheduled, whatever the heap does inside.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "events.h"
#include "ps_rand.h"

static void test_same_time_events_keep_their_scheduling_order(void **state)
{
    (void)state;
    sim_events q;
    sim_events_init(&q);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(sim_events_push(&q, 5, 0, i, (uint64_t)i), PS_OK);
    sim_event e;
    for (int i = 0; i < 1000; i++) {
        assert_true(sim_events_pop(&q, &e));
        assert_int_equal(e.actor, i);
    }
    assert_false(sim_events_pop(&q, &e));
    sim_events_free(&q);
}

static void test_events_come_out_by_time_then_order(void **state)
{
    (void)state;
    sim_events q;
    sim_events_init(&q);
    ps_rand r;
    ps_rand_seed(&r, 42);
    for (int i = 0; i < 20000; i++)
        sim_events_push(&q, (int64_t)(ps_rand_next(&r) % 50), 0, i, 0);
    sim_event prev = {-1, 0, 0, 0, 0}, e;
    int n = 0;
    while (sim_events_pop(&q, &e)) {
        assert_true(e.at_ns > prev.at_ns || (e.at_ns == prev.at_ns && e.seq > prev.seq));
        prev = e;
        n++;
    }
    assert_int_equal(n, 20000);
    sim_events_free(&q);
}

static void test_peek_shows_the_next_without_removing(void **state)
{
    (void)state;
    sim_events q;
    sim_events_init(&q);
    assert_null(sim_events_peek(&q));
    sim_events_push(&q, 30, 1, 0, 0);
    sim_events_push(&q, 10, 2, 0, 0);
    assert_int_equal(sim_events_peek(&q)->kind, 2);
    assert_int_equal(sim_events_len(&q), 2);
    sim_events_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_time_events_keep_their_scheduling_order),
        cmocka_unit_test(test_events_come_out_by_time_then_order),
        cmocka_unit_test(test_peek_shows_the_next_without_removing),
    };
    return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
