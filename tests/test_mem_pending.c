/* test_mem_pending.c — the memory backend's pending set and ack-wait timers
 * (backends/memory/mem_pending.c) where their shape shows: a record the
 * sequence window leaves behind, timers armed out of order (the heap next
 * to the FIFO), and a FIFO whose live front holds stale entries behind it.
 * Each case checks what a client sees (redeliveries in (deadline, stream
 * sequence) order, JS 6.5) and that ps_memory_check agrees, and looks
 * inside only to make sure the case reached the shape it is about.
 *
 * What every backend must do with acks and redeliveries is in
 * tests/conformance/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mem_internal.h"
#include "fixture.h"
#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_memory.h"

#define MS PS_NS_PER_MS
#define ACK_WAIT (30000 * MS)

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
    if (test_mem_open(&e.w, 0, &(ps_memory_options){.seed = 5}) != PS_OK)
        return -1;
    e.clock = e.w.clock;
    e.b = e.w.b;
    const char *subs[] = {"q.>"};
    ps_stream_config sc = {.name = "Q", .subjects = subs, .subjects_len = 1,
                           .retention = PS_RETENTION_WORKQUEUE};
    ps_consumer_config cc = {.durable = "C", .ack_wait_ns = ACK_WAIT};
    if (ps_stream_add(e.b, &sc, NULL) != PS_OK || ps_consumer_add(e.b, "Q", &cc, &e.c) != PS_OK)
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

static mem_consumer *inside(env *e)
{
    mem_consumer *c = mem_handle_resolve((mem_handle *)e->c);
    assert_non_null(c);
    return c;
}

static void publish(env *e, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(ps_publish_data(e->b, "q.job", "x", 1, NULL, NULL), PS_OK);
}

/* Fetches `batch` and checks their stream sequences and delivery counts. */
static void fetch_expect(env *e, int batch, const uint64_t *seqs, uint64_t delivery)
{
    assert_int_equal(ps_fetch_batch(e->c, batch, 0, &e->l), PS_OK);
    assert_int_equal(e->l.count, batch);
    for (int i = 0; i < batch; i++) {
        assert_int_equal(e->l.msgs[i]->meta.stream_seq, seqs[i]);
        assert_int_equal(e->l.msgs[i]->meta.num_delivered, delivery);
    }
    assert_int_equal(ps_memory_check(e->b), PS_OK);
}

/* One message nobody acks while thousands after it are delivered and
 * acked: the window moves on and leaves its record to the map, where an
 * ack-wait expiry still finds it. */
static void test_straggler_leaves_the_window_and_is_redelivered(void **state)
{
    env *e = *state;
    publish(e, 5001);
    uint64_t one = 1;
    fetch_expect(e, 1, &one, 1);
    for (int k = 0; k < 50; k++) {
        assert_int_equal(ps_fetch_batch(e->c, 100, 0, &e->l), PS_OK);
        assert_int_equal(e->l.count, 100);
        for (int i = 0; i < e->l.count; i++)
            assert_int_equal(ps_ack(e->l.msgs[i], PS_ACK, 0), PS_OK);
        ps_clock_advance(e->clock, 10 * MS);
    }
    assert_int_equal(ps_memory_check(e->b), PS_OK);
    assert_int_equal(inside(e)->pend_len, 1);
    assert_int_equal(inside(e)->pend_idx.len, 1); /* below the window, in the map */
    ps_clock_advance(e->clock, ACK_WAIT);
    fetch_expect(e, 1, &one, 2);
    assert_int_equal(ps_ack(e->l.msgs[0], PS_ACK, 0), PS_OK);
    assert_int_equal(inside(e)->pend_len, 0);
    assert_int_equal(ps_memory_check(e->b), PS_OK);
}

/* Redeliveries of lower sequences at the same instant as later first
 * deliveries arm their timers out of the FIFO's order (in the heap); all
 * expire together, in stream-sequence order (JS 6.5). */
static void test_timers_armed_out_of_order_expire_in_sequence_order(void **state)
{
    env *e = *state;
    publish(e, 10);
    uint64_t first[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    fetch_expect(e, 10, first, 1);
    assert_int_equal(ps_ack(e->l.msgs[4], PS_NAK, 0), PS_OK); /* 5 */
    assert_int_equal(ps_ack(e->l.msgs[2], PS_NAK, 0), PS_OK); /* 3 */
    uint64_t again[2] = {5, 3};
    fetch_expect(e, 2, again, 2);
    assert_true(inside(e)->heap_len > 0);
    ps_clock_advance(e->clock, ACK_WAIT);
    assert_int_equal(ps_backend_tick(e->b), PS_OK);
    assert_int_equal(ps_fetch_batch(e->c, 10, 0, &e->l), PS_OK);
    assert_int_equal(e->l.count, 10);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(e->l.msgs[i]->meta.stream_seq, (uint64_t)i + 1);
        assert_int_equal(e->l.msgs[i]->meta.num_delivered, i == 2 || i == 4 ? 3 : 2);
    }
    assert_int_equal(ps_memory_check(e->b), PS_OK);
}

/* A live front (a message nobody acks) keeps the FIFO from dropping the
 * acked entries behind it: they are squeezed out instead, so the FIFO
 * stays as small as what is pending, and the front still expires first. */
static void test_fifo_stays_small_behind_a_live_front(void **state)
{
    env *e = *state;
    publish(e, 10001);
    uint64_t one = 1;
    fetch_expect(e, 1, &one, 1);
    for (int k = 0; k < 10000; k++) {
        ps_clock_advance(e->clock, 1 * MS);
        assert_int_equal(ps_fetch_batch(e->c, 1, 0, &e->l), PS_OK);
        assert_int_equal(ps_ack(e->l.msgs[0], PS_ACK, 0), PS_OK);
    }
    assert_int_equal(ps_memory_check(e->b), PS_OK);
    assert_true(inside(e)->tq_cap <= 128);
    assert_int_equal(inside(e)->tq_live, 1);
    ps_clock_advance(e->clock, ACK_WAIT - 10000 * MS);
    fetch_expect(e, 1, &one, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_straggler_leaves_the_window_and_is_redelivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timers_armed_out_of_order_expire_in_sequence_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_stays_small_behind_a_live_front, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
