/* test_status.c — unit tests of core/status.c: the X-macro names and texts
 * and the per-thread last-error detail.
 *
 * Not a test of which status any operation returns (the conformance suite
 * pins those).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "ps_status.h"
#include "ps_backend_impl.h"

static void test_status_names_come_from_the_list(void **state)
{
    (void)state;
    assert_string_equal(ps_status_name(PS_OK), "PS_OK");
    assert_string_equal(ps_status_name(PS_ERR_TIMEOUT), "PS_ERR_TIMEOUT");
    assert_string_equal(ps_status_name(PS_ERR_WRONG_LAST_SEQUENCE), "PS_ERR_WRONG_LAST_SEQUENCE");
    assert_string_equal(ps_status_name(PS_ERR_INTERNAL), "PS_ERR_INTERNAL");
    assert_string_equal(ps_status_text(PS_OK), "ok");
    assert_string_equal(ps_status_text(PS_ERR_TIMEOUT), "timeout");
    assert_string_equal(ps_status_text(PS_ERR_WRONG_LAST_MSG_ID), "wrong last msg ID");
}

/* The enum and both tables come from one list: every value has a distinct
 * "PS_..." name and a non-empty text. */
static void test_status_every_value_has_distinct_name_and_text(void **state)
{
    (void)state;
    for (int i = 0; i < PS_STATUS_COUNT; i++) {
        const char *n = ps_status_name((ps_status)i);
        assert_int_equal(strncmp(n, "PS_", 3), 0);
        assert_true(strlen(ps_status_text((ps_status)i)) > 0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(n, ps_status_name((ps_status)j));
    }
}

/* Wrapping the last error in a new one, with ps_last_error() among the
 * arguments, keeps the old text intact (the buffer is not both source and
 * destination of the formatting). */
static void test_error_may_quote_the_last_error(void **state)
{
    (void)state;
    ps_error(PS_ERR_INVALID_ARG, 0, "w.wl:2:3: expected a subject");
    ps_error(PS_ERR_INVALID_ARG, 0, "line %d: %s", 7, ps_last_error());
    assert_string_equal(ps_last_error(), "line 7: w.wl:2:3: expected a subject");
}

/* Clean-up after a failure clears the detail (every library call does);
 * a saved detail comes back whole after it. */
static void test_error_saved_detail_survives_clean_up(void **state)
{
    (void)state;
    ps_error(PS_ERR_STREAM_NAME_IN_USE, 10058, "stream ORDERS already exists on nats://127.0.0.1:4222");
    ps_error_set_native(7);
    ps_error_saved kept;
    ps_error_save(&kept);
    ps_error_clear();
    assert_int_equal(ps_error_restore(&kept), PS_ERR_STREAM_NAME_IN_USE);
    assert_int_equal(ps_last_status(), PS_ERR_STREAM_NAME_IN_USE);
    assert_int_equal(ps_last_error_code(), 10058);
    assert_int_equal(ps_last_native_code(), 7);
    assert_string_equal(ps_last_error(), "stream ORDERS already exists on nats://127.0.0.1:4222");
}

static void test_status_unknown_values_have_fallbacks(void **state)
{
    (void)state;
    assert_string_equal(ps_status_name(PS_STATUS_COUNT), "PS_STATUS_UNKNOWN");
    assert_string_equal(ps_status_name((ps_status)-1), "PS_STATUS_UNKNOWN");
    assert_non_null(ps_status_text((ps_status)12345));
    assert_true(strlen(ps_status_text((ps_status)-7)) > 0);
}

static void test_error_records_status_code_and_message(void **state)
{
    (void)state;
    ps_status s = ps_error(PS_ERR_WRONG_LAST_SEQUENCE, 10071, "wrong last sequence: %d", 7);
    assert_int_equal(s, PS_ERR_WRONG_LAST_SEQUENCE);
    assert_int_equal(ps_last_status(), PS_ERR_WRONG_LAST_SEQUENCE);
    assert_int_equal(ps_last_error_code(), 10071);
    assert_int_equal(ps_last_native_code(), 0);
    assert_string_equal(ps_last_error(), "wrong last sequence: 7");
}

static void test_error_null_format_records_status_text(void **state)
{
    (void)state;
    ps_error(PS_ERR_TIMEOUT, 0, NULL);
    assert_string_equal(ps_last_error(), "timeout");
}

static void test_error_native_code_set_after_and_reset_by_next_error(void **state)
{
    (void)state;
    ps_error(PS_ERR_IO, 0, "connection lost");
    ps_error_set_native(30);
    assert_int_equal(ps_last_native_code(), 30);
    ps_error(PS_ERR_IO, 0, "again");
    assert_int_equal(ps_last_native_code(), 0);
}

static void test_error_clear_resets_everything(void **state)
{
    (void)state;
    ps_error(PS_ERR_STREAM_NOT_FOUND, 10059, "stream not found");
    ps_error_set_native(9);
    ps_error_clear();
    assert_int_equal(ps_last_status(), PS_OK);
    assert_int_equal(ps_last_error_code(), 0);
    assert_int_equal(ps_last_native_code(), 0);
    assert_string_equal(ps_last_error(), "");
}

static void test_error_long_message_is_truncated_not_overflowed(void **state)
{
    (void)state;
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ps_error(PS_ERR_INVALID_ARG, 0, "%s", big);
    assert_int_equal(strlen(ps_last_error()), 511);
}

static ps_status via_v(ps_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ps_status r = ps_error_v(s, 42, fmt, ap);
    va_end(ap);
    return r;
}

static void test_error_v_formats_like_error(void **state)
{
    (void)state;
    assert_int_equal(via_v(PS_ERR_BAD_REQUEST, "%s=%d", "batch", 0), PS_ERR_BAD_REQUEST);
    assert_string_equal(ps_last_error(), "batch=0");
    assert_int_equal(ps_last_error_code(), 42);
}

static void *other_thread(void *arg)
{
    int *seen = arg;
    seen[0] = ps_last_status() == PS_OK && ps_last_error()[0] == '\0';
    ps_error(PS_ERR_CLOSED, 1, "from the other thread");
    seen[1] = ps_last_status() == PS_ERR_CLOSED;
    return NULL;
}

/* Like errno: each thread sees only its own last error. */
static void test_error_is_thread_local(void **state)
{
    (void)state;
    ps_error(PS_ERR_TIMEOUT, 0, "main thread");
    int seen[2] = {0, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, seen), 0);
    pthread_join(t, NULL);
    assert_true(seen[0]);
    assert_true(seen[1]);
    assert_int_equal(ps_last_status(), PS_ERR_TIMEOUT);
    assert_string_equal(ps_last_error(), "main thread");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names_come_from_the_list),
        cmocka_unit_test(test_status_every_value_has_distinct_name_and_text),
        cmocka_unit_test(test_error_saved_detail_survives_clean_up),
        cmocka_unit_test(test_status_unknown_values_have_fallbacks),
        cmocka_unit_test(test_error_may_quote_the_last_error),
        cmocka_unit_test(test_error_records_status_code_and_message),
        cmocka_unit_test(test_error_null_format_records_status_text),
        cmocka_unit_test(test_error_native_code_set_after_and_reset_by_next_error),
        cmocka_unit_test(test_error_clear_resets_everything),
        cmocka_unit_test(test_error_long_message_is_truncated_not_overflowed),
        cmocka_unit_test(test_error_v_formats_like_error),
        cmocka_unit_test(test_error_is_thread_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
