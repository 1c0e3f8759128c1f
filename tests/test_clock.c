/* test_clock.c — unit tests of core/clock.c: the real and manual clocks and
 * Go-style duration parsing and formatting.
 *
 * Not a test of anything that waits on a clock (the backends' tests do).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_clock_is_shared_and_near_time_now),
        cmocka_unit_test(test_manual_clock_zero_start_is_2026),
        cmocka_unit_test(test_manual_clock_advance_and_set),
        cmocka_unit_test(test_manual_clock_rejects_going_backwards),
        cmocka_unit_test(test_manual_clock_rejects_overflow),
        cmocka_unit_test(test_advance_and_set_reject_real_and_null_clocks),
        cmocka_unit_test(test_duration_parse_accepts_go_syntax),
        cmocka_unit_test(test_duration_parse_rejects_junk_negative_and_overflow),
        cmocka_unit_test(test_duration_format_matches_go),
        cmocka_unit_test(test_duration_format_truncates_to_buffer),
        cmocka_unit_test(test_duration_format_then_parse_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
