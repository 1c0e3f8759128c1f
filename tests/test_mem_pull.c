/* test_mem_pull.c — what only the memory backend's asynchronous pulls have
 * to show: their expiry on the manual clock through next_deadline and
 * tick, their loss in a restart, the order of timed events while a pull
 * waits, an ephemeral kept alive by a waiting pull, and the real clock.
 *
 * What every backend must do with pulls is in tests/conformance/conf_apull.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "fixture.h"
#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_memory.h"

#define MS PS_NS_PER_MS

typedef struct env {
    test_mem w; /* clock and backend; clock and b below are its */
    ps_clock *clock;
    ps_backend *b;
    ps_consumer *c;
    ps_msg_list l;
} env;

static int setup(void **state)
{
    static env e;
    e = (env){0};
    if (test_mem_open(&e.w, 0, &(ps_memory_options){.seed = 3}) != PS_OK)
        return -1;
    e.clock = e.w.clock;
    e.b = e.w.b;
    const char *subs[] = {"p.>"};
    ps_stream_config sc = {.name = "P", .subjects = subs, .subjects_len = 1};
    ps_consumer_config cc = {.durable = "C", .ack_wait_ns = 1000 * MS};
    if (ps_stream_add(e.b, &sc, NULL) != PS_OK || ps_consumer_add(e.b, "P", &cc, &e.c) != PS_OK)
        return -1;
    *state = &e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    ps_msg_list_free(&e->l);
    ps_consumer_free(e->c);
    return test_mem_close(&e->w) == PS_OK ? 0 : -1;
}

static ps_pull *start(env *e, int batch, int64_t expires_ms)
{
    ps_fetch_request r = {.batch = batch, .expires_ns = expires_ms * MS};
    ps_pull *p = NULL;
    assert_int_equal(ps_pull_start(e->c, &r, &p), PS_OK);
    return p;
}

static ps_pull_end poll_pull(env *e, ps_pull *p)
{
    ps_pull_end end;
    assert_int_equal(ps_pull_poll(p, &e->l, &end), PS_OK);
    return end;
}

static uint64_t num_waiting(env *e)
{
    ps_consumer_info ci;
    assert_int_equal(ps_consumer_info_get(e->c, &ci), PS_OK);
    uint64_t n = ci.num_waiting;
    ps_consumer_info_clear(&ci);
    return n;
}

/* The expiry is timed work: next_deadline names it, tick performs it. */
static void test_pull_expiry_is_a_deadline_and_tick_ends_it(void **state)
{
    env *e = *state;
    int64_t t0 = ps_clock_now(e->clock);
    ps_pull *p = start(e, 1, 500);
    assert_int_equal(ps_backend_next_deadline(e->b), t0 + 500 * MS);
    ps_clock_advance(e->clock, 499 * MS);
    assert_int_equal(ps_backend_tick(e->b), PS_OK);
    assert_false(poll_pull(e, p).done);
    ps_clock_advance(e->clock, 1 * MS);
    assert_int_equal(ps_backend_tick(e->b), PS_OK);
    assert_int_equal(num_waiting(e), 0);
    ps_pull_end end = poll_pull(e, p);
    assert_true(end.done);
    assert_int_equal(end.code, 408);
    assert_int_equal(end.pending_msgs, 1);
    assert_int_equal(ps_backend_next_deadline(e->b), INT64_MAX);
    /* later polls say the same, with nothing more */
    end = poll_pull(e, p);
    assert_true(end.done);
    assert_int_equal(end.code, 408);
    assert_int_equal(e->l.count, 0);
    ps_pull_free(p);
}

/* JS 13.1: a restart loses waiting requests without an answer; the client
 * gives up at the expiry (code 0). */
static void test_restart_loses_a_waiting_pull(void **state)
{
    env *e = *state;
    ps_pull *p = start(e, 1, 500);
    assert_int_equal(ps_backend_restart(e->b, PS_RESTART_GRACEFUL), PS_OK);
    assert_int_equal(num_waiting(e), 0);
    assert_int_equal(ps_publish_data(e->b, "p.a", "x", 1, NULL, NULL), PS_OK);
    assert_false(poll_pull(e, p).done);
    assert_int_equal(e->l.count, 0);
    ps_clock_advance(e->clock, 500 * MS);
    ps_pull_end end = poll_pull(e, p);
    assert_true(end.done);
    assert_int_equal(end.status, PS_ERR_TIMEOUT);
    assert_int_equal(end.code, 0);
    ps_pull_free(p);
}

/* While a pull waits, one jump of the clock over an AckWait expiry and the
 * pull's own expiry gives the redelivery to the pull first, at its instant
 * (its next AckWait counts from there). */
static void test_timed_events_reach_a_waiting_pull_in_order(void **state)
{
    env *e = *state;
    assert_int_equal(ps_publish_data(e->b, "p.a", "x", 1, NULL, NULL), PS_OK);
    assert_int_equal(ps_fetch_batch(e->c, 1, 0, &e->l), PS_OK);
    ps_pull *p = start(e, 2, 1500);
    ps_pull *q = start(e, 1, 5000);
    assert_int_equal(ps_memory_check(e->b), PS_OK); /* the queue and the counts agree */
    ps_pull_free(q);
    assert_int_equal(ps_memory_check(e->b), PS_OK);
    ps_clock_advance(e->clock, 2000 * MS);
    ps_pull_end end = poll_pull(e, p);
    assert_int_equal(e->l.count, 1);
    assert_int_equal(e->l.msgs[0]->meta.num_delivered, 2);
    assert_true(end.done);
    assert_int_equal(end.code, 408);
    assert_int_equal(end.pending_msgs, 1);
    /* redelivered at 1000 ms: the next expiry is at 2000 ms, due now */
    assert_int_equal(ps_fetch_batch(e->c, 1, 0, &e->l), PS_OK);
    assert_int_equal(e->l.msgs[0]->meta.num_delivered, 3);
    ps_pull_free(p);
}

/* JS 5.4: an ephemeral with a waiting request is not idle. */
static void test_waiting_pull_keeps_an_ephemeral(void **state)
{
    env *e = *state;
    ps_consumer_config cc = {.inactive_threshold_ns = 200 * MS};
    ps_consumer *eph = NULL;
    assert_int_equal(ps_consumer_add(e->b, "P", &cc, &eph), PS_OK);
    ps_fetch_request r = {.batch = 1, .expires_ns = 1000 * MS};
    ps_pull *p = NULL;
    assert_int_equal(ps_pull_start(eph, &r, &p), PS_OK);
    ps_clock_advance(e->clock, 900 * MS);
    assert_int_equal(ps_publish_data(e->b, "p.a", "x", 1, NULL, NULL), PS_OK);
    ps_pull_end end = poll_pull(e, p);
    assert_true(end.done);
    assert_int_equal(end.status, PS_OK);
    assert_int_equal(e->l.count, 1);
    ps_msg_list_clear(&e->l);
    ps_pull_free(p);
    ps_consumer_free(eph);
}

/* On the real clock a poll performs the due work itself. */
static void test_real_clock_poll_expires_the_pull(void **state)
{
    (void)state;
    ps_backend *b = NULL;
    ps_memory_options o = {.seed = 1};
    assert_int_equal(ps_memory_new(&b, &o), PS_OK);
    ps_stream_config sc = {.name = "R"};
    ps_consumer_config cc = {.durable = "C"};
    ps_consumer *c = NULL;
    assert_int_equal(ps_stream_add(b, &sc, NULL), PS_OK);
    assert_int_equal(ps_consumer_add(b, "R", &cc, &c), PS_OK);
    ps_fetch_request r = {.batch = 2, .expires_ns = 100 * MS};
    ps_pull *p = NULL;
    assert_int_equal(ps_pull_start(c, &r, &p), PS_OK);
    assert_int_equal(ps_publish_data(b, "R", "x", 1, NULL, NULL), PS_OK);
    struct timespec ts = {0, 150 * 1000 * 1000};
    nanosleep(&ts, NULL);
    ps_msg_list l = {0};
    ps_pull_end end;
    assert_int_equal(ps_pull_poll(p, &l, &end), PS_OK);
    assert_int_equal(l.count, 1);
    assert_true(end.done);
    assert_int_equal(end.code, 408);
    assert_int_equal(end.pending_msgs, 1);
    ps_msg_list_free(&l);
    ps_pull_free(p);
    ps_consumer_free(c);
    ps_backend_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pull_expiry_is_a_deadline_and_tick_ends_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_loses_a_waiting_pull, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timed_events_reach_a_waiting_pull_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waiting_pull_keeps_an_ephemeral, setup, teardown),
        cmocka_unit_test(test_real_clock_poll_expires_the_pull),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
