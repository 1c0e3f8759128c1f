/* test_json.c — the JetStream backend's reader for single fields of the
 * server's JSON (jsb_json.c): API error replies, purge counts, advisories.
 *
 * Not: a test of a JSON parser (jsb_json.c is not one); the inputs are
 * shaped like nats-server 2.9.10's replies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "jsb_internal.h"

#define J(s) (s), strlen(s)

static void test_reads_err_code_and_description_of_an_api_error(void **state)
{
    (void)state;
    const char *r = "{\"type\":\"io.nats.jetstream.api.v1.stream_purge_response\",\"error\":"
                    "{\"code\":500,\"err_code\":10110,\"description\":\"stream purge not permitted\"}}";
    int64_t code = 0;
    char desc[64];
    assert_true(jsb_json_i64(J(r), "err_code", &code));
    assert_int_equal(code, 10110);
    assert_true(jsb_json_str(J(r), "description", desc, sizeof desc));
    assert_string_equal(desc, "stream purge not permitted");
}

static void test_key_inside_a_string_value_is_not_a_key(void **state)
{
    (void)state;
    const char *r = "{\"description\":\"no \\\"purged\\\": here\",\"purged\":7}";
    uint64_t n = 0;
    assert_true(jsb_json_u64(J(r), "purged", &n));
    assert_int_equal(n, 7);
}

static void test_prefix_of_a_key_does_not_match(void **state)
{
    (void)state;
    const char *r = "{\"stream_seq\":5,\"stream\":\"ORDERS\"}";
    char s[32];
    uint64_t seq = 0;
    assert_true(jsb_json_str(J(r), "stream", s, sizeof s));
    assert_string_equal(s, "ORDERS");
    assert_true(jsb_json_u64(J(r), "stream_seq", &seq));
    assert_int_equal(seq, 5);
}

static void test_missing_key_or_other_type_is_false(void **state)
{
    (void)state;
    const char *r = "{\"success\":true,\"purged\":\"x\",\"n\":-3}";
    uint64_t u = 99;
    int64_t i = 0;
    char s[8];
    assert_false(jsb_json_u64(J(r), "absent", &u));
    assert_false(jsb_json_u64(J(r), "purged", &u)); /* a string, not a number */
    assert_false(jsb_json_str(J(r), "success", s, sizeof s)); /* a bool */
    assert_false(jsb_json_u64(J(r), "n", &u)); /* negative: not a u64 */
    assert_int_equal(u, 99);
    assert_true(jsb_json_i64(J(r), "n", &i));
    assert_int_equal(i, -3);
}

static void test_string_is_unescaped_and_truncated(void **state)
{
    (void)state;
    const char *r = "{\"d\":\"a\\\"b\\\\c\\n\",\"t\":\"abcdefghij\"}";
    char s[16], small[4];
    assert_true(jsb_json_str(J(r), "d", s, sizeof s));
    assert_string_equal(s, "a\"b\\c\n");
    assert_true(jsb_json_str(J(r), "t", small, sizeof small));
    assert_string_equal(small, "abc");
}

static void test_reading_stops_at_the_given_length(void **state)
{
    (void)state;
    const char *r = "{\"purged\":12345}";
    uint64_t n = 0;
    /* cut inside the number: only the digits within len count */
    assert_true(jsb_json_u64(r, strlen("{\"purged\":12"), "purged", &n));
    assert_int_equal(n, 12);
    /* cut before the value: nothing to read */
    assert_false(jsb_json_u64(r, strlen("{\"purged\":"), "purged", &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_err_code_and_description_of_an_api_error),
        cmocka_unit_test(test_key_inside_a_string_value_is_not_a_key),
        cmocka_unit_test(test_prefix_of_a_key_does_not_match),
        cmocka_unit_test(test_missing_key_or_other_type_is_false),
        cmocka_unit_test(test_string_is_unescaped_and_truncated),
        cmocka_unit_test(test_reading_stops_at_the_given_length),
    };
    return cmocka_run_group_tests_name("jsb_json", tests, NULL, NULL);
}
