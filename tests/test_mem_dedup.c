/* test_mem_dedup.c — the memory backend's dedup window
 * (backends/memory/mem_dedup.c) where its shape shows: an index that
 * expiry fills with tombstones and a rebuild empties, FIFO positions that
 * wrap past 2^32, and an id indexed again to a later entry while the older
 * one waits in the FIFO. Each case checks what a publisher sees (a
 * duplicate answers with the original sequence, JS 3.6) and that
 * ps_memory_check agrees, and looks inside only to reach the shape it is
 * about.
 *
 * What every backend must do with Nats-Msg-Id is in tests/conformance/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "fixture.h"
#include "mem_internal.h"
#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_memory.h"

#define MS PS_NS_PER_MS
#define WINDOW (1000 * MS)

typedef struct env {
    test_mem w; /* clock and backend */
    ps_clock *clock;
    ps_backend *b;
    mem_stream *st;
} env;

static int setup(void **state)
{
    static env e;
    e = (env){0};
    if (test_mem_open(&e.w, 0, &(ps_memory_options){.seed = 5}) != PS_OK)
        return -1;
    e.clock = e.w.clock;
    e.b = e.w.b;
    const char *subs[] = {"d.>"};
    ps_stream_config sc = {.name = "D", .subjects = subs, .subjects_len = 1,
                           .storage = PS_STORAGE_MEMORY, .duplicates_ns = WINDOW};
    if (ps_stream_add(e.b, &sc, NULL) != PS_OK)
        return -1;
    e.st = ((mem_backend *)e.b)->streams[0];
    *state = &e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    return test_mem_close(&e->w) == PS_OK ? 0 : -1;
}

/* Publishes id-N; returns the ack. */
static ps_pub_ack pub(env *e, long n)
{
    char id[32];
    snprintf(id, sizeof id, "id-%ld", n);
    ps_pub_ack ack = {0};
    assert_int_equal(ps_publish_data(e->b, "d.x", "j", 1, id, &ack), PS_OK);
    return ack;
}

/* One publish per millisecond for 20 windows: expiry leaves a tombstone
 * per id, and the index must rebuild instead of growing without end. An id
 * half a window old is a duplicate of its own sequence; one gone past the
 * window is stored anew (in a slot a tombstone held). */
static void test_dedup_churn_rebuilds_the_index_and_keeps_the_window(void **state)
{
    env *e = *state;
    uint32_t max_slots = 0;
    for (long t = 0; t < 20000; t++) {
        ps_pub_ack a = pub(e, t);
        assert_false(a.duplicate);
        if (t >= 500) {
            ps_pub_ack d = pub(e, t - 500);
            assert_true(d.duplicate);
            /* each step stores two messages from t = 1100 on: id-t and the
             * old id stored anew; before that, one */
            uint64_t expect = t - 500 < 1100 ? (uint64_t)(t - 500) + 1 : 1100 + 2 * (uint64_t)(t - 500 - 1100) + 1;
            assert_int_equal(d.seq, expect);
        }
        if (t >= 1100)
            assert_false(pub(e, t - 1100).duplicate);
        if (e->st->dd_cap > max_slots)
            max_slots = e->st->dd_cap;
        if (t % 997 == 0)
            assert_int_equal(ps_memory_check(e->b), PS_OK);
        assert_int_equal(ps_clock_advance(e->clock, MS), PS_OK);
    }
    /* about 2,100 ids live at a time (id-t and the re-stored id-(t-1100)) */
    assert_true(e->st->dd_len < 2400);
    assert_true(max_slots <= 16384);
    assert_int_equal(ps_memory_check(e->b), PS_OK);
}

/* FIFO positions count entries ever added, modulo 2^32: a window across the
 * wrap finds every id and expires them all. */
static void test_dedup_positions_wrap_past_2_to_the_32(void **state)
{
    env *e = *state;
    e->st->dedup_first = UINT32_MAX - 50;
    for (long n = 0; n < 200; n++)
        assert_false(pub(e, n).duplicate);
    assert_true(e->st->dedup_first + e->st->dedup_len < 200); /* wrapped */
    for (long n = 0; n < 200; n++) {
        ps_pub_ack d = pub(e, n);
        assert_true(d.duplicate);
        assert_int_equal(d.seq, (uint64_t)n + 1);
    }
    assert_int_equal(ps_memory_check(e->b), PS_OK);
    assert_int_equal(ps_clock_advance(e->clock, 2 * WINDOW), PS_OK);
    assert_false(pub(e, 7).duplicate);
    assert_int_equal(e->st->dd_len, 1);
    assert_int_equal(ps_memory_check(e->b), PS_OK);
}

/* An id added again while its entry is in the window (a restart rebuilds
 * the window from stored messages, oldest first) is found at the later
 * entry; the older one's expiry leaves the later one indexed. */
static void test_dedup_id_added_again_indexes_the_later_entry(void **state)
{
    env *e = *state;
    mem_key k = mem_key_of("same");
    int64_t t0 = mem_now(e->st->mb); /* the backend's time: wall-clock-like */
    assert_true(mem_stream_dedup_add(e->st, "same", 1, t0));
    assert_int_equal(ps_clock_advance(e->clock, WINDOW / 2), PS_OK);
    assert_true(mem_stream_dedup_add(e->st, "same", 9, mem_now(e->st->mb)));
    assert_int_equal(mem_stream_dedup_find(e->st, &k)->seq, 9);
    assert_int_equal(ps_memory_check(e->b), PS_OK);
    /* the first entry is past the window, the second is not */
    mem_stream_dedup_expire(e->st, t0 + WINDOW + WINDOW / 4);
    assert_int_equal(e->st->dedup_len, 1);
    assert_non_null(mem_stream_dedup_find(e->st, &k));
    assert_int_equal(mem_stream_dedup_find(e->st, &k)->seq, 9);
    assert_int_equal(ps_memory_check(e->b), PS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dedup_churn_rebuilds_the_index_and_keeps_the_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_positions_wrap_past_2_to_the_32, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_id_added_again_indexes_the_later_entry, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
