/* test_clock.c — unit tests of core/clock.c: the real and manual clocks,
 * waiting on them, and Go-style duration parsing and formatting.
 *
 * Not a test of a backend's waits (tests/test_memory.c has those).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "ps_clock.h"

#define NS_2026 (INT64_C(1767225600) * PS_NS_PER_SEC)

static void test_real_clock_is_shared_and_near_time_now(void **state)
{
    (void)state;
    ps_clock *c = ps_clock_real();
    assert_ptr_equal(c, ps_clock_real());
    assert_false(ps_clock_is_manual(c));
    int64_t now = ps_clock_now(c);
    int64_t t = (int64_t)time(NULL) * PS_NS_PER_SEC;
    assert_true(now > t - 2 * PS_NS_PER_SEC && now < t + 2 * PS_NS_PER_SEC);
    ps_clock_free(c); /* ignored: static */
    assert_true(ps_clock_now(ps_clock_real()) >= now);
}

/* Start 0 picks 2026-01-01T00:00:00Z. */
static void test_manual_clock_zero_start_is_2026(void **state)
{
    (void)state;
    ps_clock *c = ps_clock_manual_new(0);
    assert_non_null(c);
    assert_true(ps_clock_is_manual(c));
    assert_int_equal(ps_clock_now(c), NS_2026);
    assert_int_equal(ps_clock_now(c), NS_2026); /* does not move by itself */
    ps_clock_free(c);
}

static void test_manual_clock_advance_and_set(void **state)
{
    (void)state;
    ps_clock *c = ps_clock_manual_new(1000);
    assert_int_equal(ps_clock_now(c), 1000);
    assert_int_equal(ps_clock_advance(c, 500), PS_OK);
    assert_int_equal(ps_clock_now(c), 1500);
    assert_int_equal(ps_clock_advance(c, 0), PS_OK);
    assert_int_equal(ps_clock_set(c, 1500), PS_OK);
    assert_int_equal(ps_clock_set(c, 9000), PS_OK);
    assert_int_equal(ps_clock_now(c), 9000);
    ps_clock_free(c);
}

/* The manual clock never goes backwards. */
static void test_manual_clock_rejects_going_backwards(void **state)
{
    (void)state;
    ps_clock *c = ps_clock_manual_new(1000);
    assert_int_equal(ps_clock_advance(c, -1), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "negative"));
    assert_int_equal(ps_clock_set(c, 999), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "earlier"));
    assert_int_equal(ps_clock_now(c), 1000);
    ps_clock_free(c);
}

static void test_manual_clock_rejects_overflow(void **state)
{
    (void)state;
    ps_clock *c = ps_clock_manual_new(INT64_MAX - 10);
    assert_int_equal(ps_clock_advance(c, 11), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_clock_now(c), INT64_MAX - 10);
    assert_int_equal(ps_clock_advance(c, 10), PS_OK);
    ps_clock_free(c);
}

static void test_advance_and_set_reject_real_and_null_clocks(void **state)
{
    (void)state;
    assert_int_equal(ps_clock_advance(ps_clock_real(), 1), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "not a manual clock"));
    assert_int_equal(ps_clock_set(ps_clock_real(), INT64_MAX), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_clock_advance(NULL, 1), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "NULL"));
    ps_clock_free(NULL);
}

/* ---- durations ---------------------------------------------------------------- */

typedef struct dur_case {
    const char *text;
    int64_t ns;
} dur_case;

static void test_duration_parse_accepts_go_syntax(void **state)
{
    (void)state;
    static const dur_case ok[] = {
        {"0", 0}, {"+0", 0}, {"0s", 0}, {"10ns", 10}, {"700us", 700000},
        {"700\xc2\xb5s", 700000}, {"700\xce\xbcs", 700000}, {"250ms", 250000000},
        {"1.5s", 1500000000}, {".5s", 500000000}, {"1.s", 1000000000}, {"2m", 120000000000},
        {"1h30m", INT64_C(5400000000000)}, {"1h30m15.5s", INT64_C(5415500000000)},
        {"1.000000001s", 1000000001}, {"+5s", 5000000000}, {"1m1m", 120000000000},
        {"9223372036854775807ns", INT64_MAX}, {"2562047h", INT64_C(2562047) * 3600 * PS_NS_PER_SEC},
        {"0.000000000000000000001s", 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -1;
        if (ps_duration_parse(ok[i].text, &v) != PS_OK)
            fail_msg("\"%s\" rejected: %s", ok[i].text, ps_last_error());
        if (v != ok[i].ns)
            fail_msg("\"%s\" gave %lld, want %lld", ok[i].text, (long long)v, (long long)ok[i].ns);
    }
}

/* Junk, negatives, missing units and overflow are errors with a message
 * quoting the text; the output is left untouched. */
static void test_duration_parse_rejects_junk_negative_and_overflow(void **state)
{
    (void)state;
    static const char *bad[] = {
        "", "-1s", "-0", "1", "s", "1x", "1e5s", "0x10s", "1s ", " 1s", "1.5", ".s", ".",
        "+", "1h-1m", "9223372036854775808ns", "2562048h", "9223372036854775807ns1ns",
        "99999999999999999999s",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 77;
        if (ps_duration_parse(bad[i], &v) != PS_ERR_INVALID_ARG)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_int_equal(v, 77);
        assert_true(strlen(ps_last_error()) > 0);
    }
    int64_t v;
    assert_int_equal(ps_duration_parse("1x", &v), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "\"1x\""));
    assert_non_null(strstr(ps_last_error(), "unknown unit"));
    assert_int_equal(ps_duration_parse("5", &v), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "missing unit"));
    assert_int_equal(ps_duration_parse("-1s", &v), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "negative"));
    assert_int_equal(ps_duration_parse("2562048h", &v), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "overflow"));
    assert_int_equal(ps_duration_parse(NULL, &v), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_duration_parse("1s", NULL), PS_ERR_INVALID_ARG);
}

/* Go's Duration.String, which the server prints in pull status lines
 * ("409 Exceeded MaxRequestExpires of 200ms", JS 8.2). */
static void test_duration_format_matches_go(void **state)
{
    (void)state;
    static const dur_case cases[] = {
        {"0s", 0}, {"1ns", 1}, {"999ns", 999}, {"1\xc2\xb5s", 1000}, {"1.5\xc2\xb5s", 1500},
        {"250ms", 250000000}, {"200ms", 200 * PS_NS_PER_MS}, {"1.000001ms", 1000001},
        {"1s", PS_NS_PER_SEC}, {"1.5s", 1500000000}, {"59.999999999s", 59999999999},
        {"2m0s", 120 * PS_NS_PER_SEC}, {"1m1.5s", 61500000000},
        {"1h30m0s", INT64_C(5400) * PS_NS_PER_SEC}, {"-1.5s", -1500000000}, {"-1ns", -1},
        {"2562047h47m16.854775807s", INT64_MAX}, {"-2562047h47m16.854775808s", INT64_MIN},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(ps_duration_format(cases[i].ns, buf, sizeof buf), cases[i].text);
}

static void test_duration_format_truncates_to_buffer(void **state)
{
    (void)state;
    char buf[4] = "zzz";
    assert_ptr_equal(ps_duration_format(5400 * PS_NS_PER_SEC, buf, sizeof buf), buf);
    assert_string_equal(buf, "1h3");
    assert_null(ps_duration_format(1, NULL, 10));
    char one[1] = {'q'};
    ps_duration_format(1, one, 0);
    assert_int_equal(one[0], 'q');
}

static void test_duration_format_then_parse_round_trips(void **state)
{
    (void)state;
    static const int64_t vs[] = {1, 1500, 999999, 250000000, 1500000000, 61500000000,
                                 INT64_C(5415500000001), INT64_MAX};
    char buf[64];
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        int64_t back = -1;
        assert_int_equal(ps_duration_parse(ps_duration_format(vs[i], buf, sizeof buf), &back), PS_OK);
        assert_int_equal(back, vs[i]);
    }
}

/* ---- waiting on a clock ------------------------------------------------------- */

typedef struct wait_arg {
    ps_clock *clock;
    pthread_mutex_t mu;
    ps_clock_waiter *w;
    int64_t until_ns;
    bool done;        /* under mu */
    int64_t woke_at;  /* the clock when the wait ended */
    int early_wakes;  /* returns before the time came (advances short of it, signals) */
} wait_arg;

static void wait_arg_init(wait_arg *a, ps_clock *c, int64_t until_ns)
{
    memset(a, 0, sizeof *a);
    a->clock = c;
    a->until_ns = until_ns;
    pthread_mutex_init(&a->mu, NULL);
    assert_int_equal(ps_clock_waiter_new(c, &a->mu, &a->w), PS_OK);
}

static void wait_arg_fini(wait_arg *a)
{
    ps_clock_waiter_free(a->w);
    pthread_mutex_destroy(&a->mu);
}

/* Waits until the time, as a backend's blocking call does: recheck, wait. */
static void *waiter_thread(void *p)
{
    wait_arg *a = p;
    pthread_mutex_lock(&a->mu);
    while (!ps_clock_wait_until(a->w, a->until_ns))
        a->early_wakes++;
    a->woke_at = ps_clock_now(a->clock);
    a->done = true;
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static bool done(wait_arg *a)
{
    pthread_mutex_lock(&a->mu);
    bool d = a->done;
    pthread_mutex_unlock(&a->mu);
    return d;
}

/* A waiter on a manual clock stays asleep, whatever real time passes,
 * until another thread advances the clock to its time; an advance short of
 * it wakes it only to wait again. The test learns that the waiter waits
 * from the clock itself (ps_clock_await_waiters), never by sleeping. */
static void test_manual_wait_is_released_by_an_advance_from_another_thread(void **state)
{
    (void)state;
    ps_clock *c = ps_clock_manual_new(1000);
    wait_arg a;
    wait_arg_init(&a, c, 1000 + 5 * PS_NS_PER_SEC);
    pthread_t th;
    pthread_create(&th, NULL, waiter_thread, &a);
    assert_int_equal(ps_clock_await_waiters(c, 1), PS_OK);
    assert_false(done(&a));
    assert_int_equal(ps_clock_advance(c, 2 * PS_NS_PER_SEC), PS_OK);
    assert_int_equal(ps_clock_set(c, 1000 + 5 * PS_NS_PER_SEC), PS_OK);
    pthread_join(th, NULL);
    assert_true(a.done);
    assert_int_equal(a.woke_at, 1000 + 5 * PS_NS_PER_SEC);
    wait_arg_fini(&a);
    ps_clock_free(c);
}

/* A signal ends a wait before its time: the wait answers false. */
static void *signal_once(void *p)
{
    wait_arg *a = p;
    pthread_mutex_lock(&a->mu);
    bool reached = ps_clock_wait_until(a->w, a->until_ns);
    a->early_wakes += !reached;
    a->done = true;
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static void test_manual_wait_is_released_by_a_signal(void **state)
{
    (void)state;
    ps_clock *c = ps_clock_manual_new(1000);
    wait_arg a;
    wait_arg_init(&a, c, 2000);
    pthread_t th;
    pthread_create(&th, NULL, signal_once, &a);
    assert_int_equal(ps_clock_await_waiters(c, 1), PS_OK);
    pthread_mutex_lock(&a.mu);
    ps_clock_waiter_signal(a.w);
    pthread_mutex_unlock(&a.mu);
    pthread_join(th, NULL);
    assert_true(a.done);
    assert_int_equal(a.early_wakes, 1);
    assert_int_equal(ps_clock_now(c), 1000); /* nobody moved the clock */
    wait_arg_fini(&a);
    ps_clock_free(c);
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * PS_NS_PER_SEC + ts.tv_nsec;
}

/* On the real clock a wait returns once its time has come (measured on
 * CLOCK_MONOTONIC: not before, and not long after), and at once for a
 * time already past. */
static void test_real_clock_wait_returns_at_its_time(void **state)
{
    (void)state;
    ps_clock *c = ps_clock_real();
    wait_arg a;
    wait_arg_init(&a, c, 0);
    pthread_mutex_lock(&a.mu);
    int64_t m0 = monotonic_ns();
    assert_true(ps_clock_wait_until(a.w, ps_clock_now(c) - PS_NS_PER_SEC));
    assert_true(monotonic_ns() - m0 < 100 * PS_NS_PER_MS);
    m0 = monotonic_ns();
    int64_t t = ps_clock_now(c) + 30 * PS_NS_PER_MS;
    while (!ps_clock_wait_until(a.w, t))
        ;
    int64_t took = monotonic_ns() - m0;
    assert_true(ps_clock_now(c) >= t);
    assert_true(took >= 29 * PS_NS_PER_MS); /* the real clock and CLOCK_MONOTONIC may differ by a hair */
    assert_true(took < 2 * PS_NS_PER_SEC);
    pthread_mutex_unlock(&a.mu);
    wait_arg_fini(&a);
}

static void test_waiter_arguments_are_checked(void **state)
{
    (void)state;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    ps_clock_waiter *w = NULL;
    assert_int_equal(ps_clock_waiter_new(NULL, &mu, &w), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "clock is NULL"));
    assert_int_equal(ps_clock_waiter_new(ps_clock_real(), NULL, &w), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_clock_waiter_new(ps_clock_real(), &mu, NULL), PS_ERR_INVALID_ARG);
    assert_null(w);
    assert_int_equal(ps_clock_await_waiters(ps_clock_real(), 1), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "not a manual clock"));
    ps_clock_waiter_free(NULL);
    /* a waiter freed before its clock leaves the clock's list clean */
    ps_clock *c = ps_clock_manual_new(0);
    ps_clock_waiter *w1 = NULL, *w2 = NULL;
    assert_int_equal(ps_clock_waiter_new(c, &mu, &w1), PS_OK);
    assert_int_equal(ps_clock_waiter_new(c, &mu, &w2), PS_OK);
    ps_clock_waiter_free(w1);
    assert_int_equal(ps_clock_advance(c, 1), PS_OK);
    ps_clock_waiter_free(w2);
    assert_int_equal(ps_clock_advance(c, 1), PS_OK);
    ps_clock_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_clock_is_shared_and_near_time_now),
        cmocka_unit_test(test_manual_clock_zero_start_is_2026),
        cmocka_unit_test(test_manual_clock_advance_and_set),
        cmocka_unit_test(test_manual_clock_rejects_going_backwards),
        cmocka_unit_test(test_manual_clock_rejects_overflow),
        cmocka_unit_test(test_advance_and_set_reject_real_and_null_clocks),
        cmocka_unit_test(test_manual_wait_is_released_by_an_advance_from_another_thread),
        cmocka_unit_test(test_manual_wait_is_released_by_a_signal),
        cmocka_unit_test(test_real_clock_wait_returns_at_its_time),
        cmocka_unit_test(test_waiter_arguments_are_checked),
        cmocka_unit_test(test_duration_parse_accepts_go_syntax),
        cmocka_unit_test(test_duration_parse_rejects_junk_negative_and_overflow),
        cmocka_unit_test(test_duration_format_matches_go),
        cmocka_unit_test(test_duration_format_truncates_to_buffer),
        cmocka_unit_test(test_duration_format_then_parse_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
