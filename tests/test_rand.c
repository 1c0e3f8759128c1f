/* test_rand.c — unit tests of core/rand.c: published test vectors,
 * determinism of seeding and derivation, and the bounds of the helpers.
 *
 * Not a statistical test suite: the distribution checks are coarse and
 * only catch gross mistakes (a modulo on the wrong side, an off-by-one).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ps_rand.h"

/* splitmix64 from state 1234567: the widely published reference outputs. */
static void test_splitmix64_matches_reference_vector(void **state)
{
    (void)state;
    static const uint64_t want[] = {
        UINT64_C(6457827717110365317), UINT64_C(3203168211198807973),
        UINT64_C(9817491932198370423), UINT64_C(4593380528125082431),
        UINT64_C(16408922859458223821),
    };
    uint64_t s = 1234567;
    for (int i = 0; i < 5; i++)
        assert_int_equal(ps_splitmix64(&s), want[i]);
}

/* xoshiro256** from the raw state {1, 2, 3, 4}: reference outputs. */
static void test_xoshiro256ss_matches_reference_vector(void **state)
{
    (void)state;
    ps_rand r = {{1, 2, 3, 4}};
    assert_int_equal(ps_rand_next(&r), UINT64_C(11520));
    assert_int_equal(ps_rand_next(&r), UINT64_C(0));
    assert_int_equal(ps_rand_next(&r), UINT64_C(1509978240));
    assert_int_equal(ps_rand_next(&r), UINT64_C(1215971899390074240));
}

/* A fixed seed gives fixed first outputs: a run seed replays forever. */
static void test_seed_42_gives_fixed_first_outputs(void **state)
{
    (void)state;
    ps_rand r;
    ps_rand_seed(&r, 42);
    assert_int_equal(ps_rand_next(&r), UINT64_C(0x15780b2e0c2ec716));
    assert_int_equal(ps_rand_next(&r), UINT64_C(0x6104d9866d113a7e));
    assert_int_equal(ps_rand_next(&r), UINT64_C(0xae17533239e499a1));
}

/* Seed 0 is fine: splitmix64 never leaves xoshiro's state all zero. */
static void test_seed_zero_is_usable(void **state)
{
    (void)state;
    ps_rand r;
    ps_rand_seed(&r, 0);
    assert_int_equal(ps_rand_next(&r), UINT64_C(0x99ec5f36cb75f2b4));
    assert_int_not_equal(ps_rand_next(&r), 0);
}

static void test_derive_is_deterministic(void **state)
{
    (void)state;
    ps_rand a = ps_rand_derive(7, 3), b = ps_rand_derive(7, 3);
    for (int i = 0; i < 100; i++)
        assert_int_equal(ps_rand_next(&a), ps_rand_next(&b));
}

/* Different actor ids (and different run seeds) give different streams;
 * neighbouring ids share no outputs in their first draws. */
static void test_derive_different_ids_give_different_streams(void **state)
{
    (void)state;
    enum { IDS = 16, DRAWS = 64 };
    uint64_t first[IDS][DRAWS];
    for (int id = 0; id < IDS; id++) {
        ps_rand r = ps_rand_derive(1, (uint64_t)id);
        for (int k = 0; k < DRAWS; k++)
            first[id][k] = ps_rand_next(&r);
    }
    for (int a = 0; a < IDS; a++)
        for (int b = a + 1; b < IDS; b++)
            for (int k = 0; k < DRAWS; k++)
                for (int m = 0; m < DRAWS; m++)
                    if (first[a][k] == first[b][m])
                        fail_msg("ids %d and %d share an output", a, b);
    ps_rand x = ps_rand_derive(1, 0), y = ps_rand_derive(2, 0);
    assert_int_not_equal(ps_rand_next(&x), ps_rand_next(&y));
}

/* Deriving is not just seeding with the id or the seed. */
static void test_derive_differs_from_plain_seed(void **state)
{
    (void)state;
    ps_rand d = ps_rand_derive(5, 0), s;
    ps_rand_seed(&s, 5);
    assert_int_not_equal(ps_rand_next(&d), ps_rand_next(&s));
}

static void test_below_stays_in_bounds(void **state)
{
    (void)state;
    ps_rand r;
    ps_rand_seed(&r, 99);
    static const uint64_t ns[] = {1, 2, 3, 7, 10, 1000, UINT64_C(1) << 63,
                                  (UINT64_C(1) << 63) + 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (int k = 0; k < 2000; k++)
            assert_true(ps_rand_below(&r, ns[i]) < ns[i]);
    assert_int_equal(ps_rand_below(&r, 0), 0);
    assert_int_equal(ps_rand_below(&r, 1), 0);
}

/* With n = 2/3 of 2^64, a plain modulo of 64 random bits would give the
 * lower half of [0, n) twice the weight of the upper half (2/3 of draws
 * instead of 1/2); rejection keeps the halves even. */
static void test_below_has_no_gross_modulo_bias(void **state)
{
    (void)state;
    ps_rand r;
    ps_rand_seed(&r, 2024);
    const uint64_t n = UINT64_C(0xAAAAAAAAAAAAAAAA);
    int low = 0;
    for (int k = 0; k < 20000; k++)
        low += ps_rand_below(&r, n) < n / 2;
    assert_in_range(low, 9400, 10600);
    int counts[3] = {0, 0, 0};
    for (int k = 0; k < 30000; k++)
        counts[ps_rand_below(&r, 3)]++;
    for (int i = 0; i < 3; i++)
        assert_in_range(counts[i], 9400, 10600);
}

static void test_range_is_inclusive_and_handles_edges(void **state)
{
    (void)state;
    ps_rand r;
    ps_rand_seed(&r, 3);
    int seen_lo = 0, seen_hi = 0;
    for (int k = 0; k < 2000; k++) {
        int64_t v = ps_rand_range(&r, -2, 2);
        assert_in_range(v + 2, 0, 4);
        seen_lo |= v == -2;
        seen_hi |= v == 2;
    }
    assert_true(seen_lo && seen_hi);
    assert_int_equal(ps_rand_range(&r, 5, 5), 5);
    assert_int_equal(ps_rand_range(&r, 9, 1), 9);
    for (int k = 0; k < 100; k++) {
        int64_t v = ps_rand_range(&r, INT64_MIN, INT64_MAX);
        (void)v; /* the full range must not trap (UBSan) */
    }
    for (int k = 0; k < 100; k++)
        assert_true(ps_rand_range(&r, INT64_MAX - 1, INT64_MAX) >= INT64_MAX - 1);
}

static void test_double_in_unit_interval(void **state)
{
    (void)state;
    ps_rand r;
    ps_rand_seed(&r, 11);
    double sum = 0;
    for (int k = 0; k < 10000; k++) {
        double d = ps_rand_double(&r);
        assert_true(d >= 0.0 && d < 1.0);
        sum += d;
    }
    assert_true(sum / 10000 > 0.47 && sum / 10000 < 0.53);
}

static void test_chance_edges_and_rate(void **state)
{
    (void)state;
    ps_rand r;
    ps_rand_seed(&r, 12);
    int hits = 0;
    for (int k = 0; k < 1000; k++) {
        assert_false(ps_rand_chance(&r, 0.0));
        assert_false(ps_rand_chance(&r, -1.0));
        assert_true(ps_rand_chance(&r, 1.0));
        assert_true(ps_rand_chance(&r, 2.0));
    }
    for (int k = 0; k < 20000; k++)
        hits += ps_rand_chance(&r, 0.25);
    assert_in_range(hits, 4600, 5400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_splitmix64_matches_reference_vector),
        cmocka_unit_test(test_xoshiro256ss_matches_reference_vector),
        cmocka_unit_test(test_seed_42_gives_fixed_first_outputs),
        cmocka_unit_test(test_seed_zero_is_usable),
        cmocka_unit_test(test_derive_is_deterministic),
        cmocka_unit_test(test_derive_different_ids_give_different_streams),
        cmocka_unit_test(test_derive_differs_from_plain_seed),
        cmocka_unit_test(test_below_stays_in_bounds),
        cmocka_unit_test(test_below_has_no_gross_modulo_bias),
        cmocka_unit_test(test_range_is_inclusive_and_handles_edges),
        cmocka_unit_test(test_double_in_unit_interval),
        cmocka_unit_test(test_chance_edges_and_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
