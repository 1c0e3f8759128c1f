/* test_mem_arena.c — unit tests of the memory backend's bulk memory
 * (backends/memory/mem_arena.c): regions that a closed backend leaves go to
 * the process's pool and the next backend takes them; the pool is bounded;
 * a ring that grows into regions keeps every message at its sequence.
 *
 * Allocation failures of the same code are swept in tests/alloc_sweep.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "mem_internal.h"
#include "ps_backend.h"
#include "ps_memory.h"

/* A memory-storage stream ARENA on arena.> (limits retention). */
static void open_stream(test_mem *m)
{
    assert_int_equal(test_mem_open(m, 0, NULL), PS_OK);
    const char *subjects[] = {"arena.>"};
    ps_stream_config sc = {.name = "ARENA", .subjects = subjects, .subjects_len = 1,
                           .storage = PS_STORAGE_MEMORY};
    assert_int_equal(ps_stream_add(m->b, &sc, NULL), PS_OK);
}

/* n messages of `size` bytes, each holding its index as text. */
static void publish_n(test_mem *m, int n, size_t size)
{
    char payload[512];
    assert_true(size <= sizeof payload && size >= 16);
    memset(payload, '.', size);
    for (int i = 0; i < n; i++) {
        int w = snprintf(payload, 16, "%d", i);
        payload[w] = '.';
        assert_int_equal(ps_publish_data(m->b, "arena.x", payload, size, NULL, NULL), PS_OK);
    }
}

static void test_closed_backend_regions_are_reused(void **state)
{
    (void)state;
    size_t live = 0, cached = 0;
    mem_pool_trim();
    test_mem a;
    open_stream(&a);
    publish_n(&a, 30000, 200); /* 6 MB: past the small blocks, into regions */
    mem_pool_stats(&live, &cached);
    assert_true(live >= 2);
    assert_true(cached < MEM_REGION_SIZE); /* only what the growing ring left */
    assert_int_equal(test_mem_close(&a), PS_OK);
    mem_pool_stats(&live, &cached);
    assert_int_equal(live, 0); /* nothing leaked */
    size_t kept = cached;
    assert_true(kept >= 2 * MEM_REGION_SIZE);

    test_mem b;
    open_stream(&b);
    publish_n(&b, 30000, 200);
    mem_pool_stats(&live, &cached);
    assert_true(cached < kept); /* the second backend took the first one's regions */
    assert_int_equal(test_mem_close(&b), PS_OK);
    mem_pool_stats(&live, &cached);
    assert_int_equal(live, 0);
}

/* ps_memory_trim (public) gives back what closed backends left for reuse,
 * says how much, and leaves an open backend's memory alone. */
static void test_trim_gives_back_what_closed_backends_kept(void **state)
{
    (void)state;
    size_t live = 0, cached = 0;
    ps_memory_trim();
    test_mem a, b;
    open_stream(&a);
    open_stream(&b);
    publish_n(&a, 30000, 200);
    publish_n(&b, 30000, 200);
    assert_int_equal(test_mem_close(&a), PS_OK);
    mem_pool_stats(&live, &cached);
    assert_true(cached >= 2 * MEM_REGION_SIZE);
    size_t live_b = live;
    assert_int_equal(ps_memory_trim(), cached);
    mem_pool_stats(&live, &cached);
    assert_int_equal(cached, 0);
    assert_int_equal(live, live_b); /* b keeps its own */
    assert_int_equal(ps_memory_trim(), 0);
    assert_int_equal(ps_memory_check(b.b), PS_OK);
    publish_n(&b, 1000, 200); /* and goes on */
    assert_int_equal(test_mem_close(&b), PS_OK);
    mem_pool_stats(&live, &cached);
    assert_int_equal(live, 0);
}

static void test_pool_keeps_at_most_its_bound(void **state)
{
    (void)state;
    size_t live = 0, cached = 0;
    mem_pool_trim();
    const size_t bound = (size_t)64 << 20; /* the hard bound, lowered: less to publish */
    mem_pool_set_max(bound);
    test_mem a;
    open_stream(&a);
    /* a quarter more than the bound in messages */
    int n = (int)(5 * (bound / 4) / 512);
    publish_n(&a, n, 480);
    assert_int_equal(test_mem_close(&a), PS_OK);
    mem_pool_stats(&live, &cached);
    mem_pool_set_max(0);
    assert_int_equal(live, 0);
    assert_true(cached > 0 && cached <= bound);
    mem_pool_trim();
    mem_pool_stats(&live, &cached);
    assert_int_equal(cached, 0);
}

/* The ring passes 2 MiB (262,144 slots) with its stored window not
 * starting at slot 0, so growing it moves pages and then slots. */
static void ring_grows_keeping_every_sequence(void)
{
    test_mem m;
    open_stream(&m);
    publish_n(&m, 1000, 16);
    uint64_t purged = 0;
    ps_purge_opts po = {.seq = 701}; /* first_seq 701: the window wraps */
    assert_int_equal(ps_stream_purge(m.b, "ARENA", &po, &purged), PS_OK);
    assert_int_equal(purged, 700);
    publish_n(&m, 600000, 16); /* the ring doubles up to 1M slots (8 MiB) */
    assert_int_equal(ps_memory_check(m.b), PS_OK);
    const uint64_t probe[] = {701, 1000, 1001, 131072, 262144, 262145, 524288, 601000};
    for (size_t i = 0; i < sizeof probe / sizeof probe[0]; i++) {
        ps_stored_msg sm = {0};
        assert_int_equal(ps_msg_get(m.b, "ARENA", probe[i], NULL, &sm), PS_OK);
        assert_int_equal(sm.seq, probe[i]);
        /* seq s holds index s-1 of the first batch, s-1001 of the second */
        char want[24];
        snprintf(want, sizeof want, "%llu.",
                 (unsigned long long)(probe[i] <= 1000 ? probe[i] - 1 : probe[i] - 1001));
        assert_memory_equal(sm.data, want, strlen(want));
        ps_stored_msg_clear(&sm);
    }
    assert_int_equal(test_mem_close(&m), PS_OK);
}

/* With an empty pool the ring grows into fresh regions (its pages move,
 * mremap); the second time into the pieces the first left cached (a copy). */
static void test_ring_grown_into_regions_keeps_every_sequence(void **state)
{
    (void)state;
    mem_pool_trim();
    ring_grows_keeping_every_sequence();
    size_t live = 0, cached = 0;
    mem_pool_stats(&live, &cached);
    assert_true(cached >= 8 * MEM_REGION_SIZE); /* the 8 MiB ring at least */
    ring_grows_keeping_every_sequence();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_backend_regions_are_reused),
        cmocka_unit_test(test_pool_keeps_at_most_its_bound),
        cmocka_unit_test(test_ring_grown_into_regions_keeps_every_sequence),
        cmocka_unit_test(test_trim_gives_back_what_closed_backends_kept),
    };
    return cmocka_run_group_tests_name("memory backend: bulk memory", tests, NULL, NULL);
}
