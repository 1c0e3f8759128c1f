/* test_url.c — unit tests of core/url.c: server URLs shown without the
 * passwords or tokens they carry (issue 10, item 2).
 *
 * Not a test of connecting (tests/jetstream/ does that).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ps_url.h"

static void expect_redacted(const char *in, const char *want)
{
    char out[256];
    size_t n = ps_url_redact(out, sizeof out, in);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_url_password_is_masked_user_kept(void **state)
{
    (void)state;
    expect_redacted("nats://alice:s3cret@127.0.0.1:4222", "nats://alice:***@127.0.0.1:4222");
    expect_redacted("tls://alice:s3cret@nats.example.com:4222/", "tls://alice:***@nats.example.com:4222/");
}

static void test_url_without_scheme_is_masked_too(void **state)
{
    (void)state;
    expect_redacted("alice:s3cret@127.0.0.1:4222", "alice:***@127.0.0.1:4222");
    expect_redacted("TOKEN@localhost:4222", "***@localhost:4222");
}

static void test_url_token_is_masked(void **state)
{
    (void)state;
    expect_redacted("nats://s3cretToken@127.0.0.1:4222", "nats://***@127.0.0.1:4222");
}

/* The user information ends at the last '@': a password holding '@' or
 * ':' is masked whole. */
static void test_url_password_with_at_and_colon_is_masked_whole(void **state)
{
    (void)state;
    expect_redacted("nats://alice:p@ss:w@rd@127.0.0.1:4222", "nats://alice:***@127.0.0.1:4222");
}

static void test_url_lists_are_masked_entry_by_entry(void **state)
{
    (void)state;
    expect_redacted("nats://a:x@h1:4222,nats://h2:4222, b:y@h3:4223",
                    "nats://a:***@h1:4222,nats://h2:4222, b:***@h3:4223");
}

/* A password holding ',' splits the URL where a list would: the front
 * half does not read as host:port and is hidden rather than shown. */
static void test_url_doubtful_entry_is_hidden(void **state)
{
    (void)state;
    expect_redacted("nats://alice:pa,ss@127.0.0.1:4222", "nats://***,***@127.0.0.1:4222");
}

static void test_url_plain_urls_are_unchanged(void **state)
{
    (void)state;
    expect_redacted("nats://127.0.0.1:4222", "nats://127.0.0.1:4222");
    expect_redacted("localhost:4222", "localhost:4222");
    expect_redacted("nats://[::1]:4222", "nats://[::1]:4222");
    expect_redacted("demo.nats.io", "demo.nats.io");
    expect_redacted(NULL, "");
}

static void test_url_truncation_keeps_the_mask_and_terminates(void **state)
{
    (void)state;
    char out[12];
    size_t n = ps_url_redact(out, sizeof out, "nats://alice:s3cret@h:1");
    assert_int_equal(n, strlen("nats://alice:***@h:1"));
    assert_string_equal(out, "nats://alic");
    assert_null(strstr(out, "s3"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_password_is_masked_user_kept),
        cmocka_unit_test(test_url_without_scheme_is_masked_too),
        cmocka_unit_test(test_url_token_is_masked),
        cmocka_unit_test(test_url_password_with_at_and_colon_is_masked_whole),
        cmocka_unit_test(test_url_lists_are_masked_entry_by_entry),
        cmocka_unit_test(test_url_doubtful_entry_is_hidden),
        cmocka_unit_test(test_url_plain_urls_are_unchanged),
        cmocka_unit_test(test_url_truncation_keeps_the_mask_and_terminates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
