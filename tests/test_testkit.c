/* test_testkit.c — the users' test kit (testkit/ps_testkit.h): the backend
 * JETSIM_TEST_URL chooses, names unique to a kit, time that moves the same
 * way on both backends, cleanup of only what the kit named.
 *
 * make test runs it on the memory backend; tests/cli/testkit.sh runs it
 * again with JETSIM_TEST_URL set to a spawned nats-server, where the same
 * tests must pass in real time (so they leave a server's margins).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ps_fault_shim.h"
#include "ps_jetstream.h"
#include "ps_testkit.h"

#define MS PS_NS_PER_MS

/* A work-queue stream named through the kit, and a durable on it with a
 * one-second AckWait. */
static ps_consumer *jobs(ps_testkit *k, ps_backend *b)
{
    const char *subj = ps_testkit_name(k, "jobs.>");
    ps_stream_config sc = {.name = ps_testkit_name(k, "JOBS"), .subjects = &subj, .subjects_len = 1,
                           .retention = PS_RETENTION_WORKQUEUE};
    assert_int_equal(ps_stream_add(b, &sc, NULL), PS_OK);
    ps_consumer_config cc = {.durable = ps_testkit_name(k, "W"), .ack_wait_ns = PS_NS_PER_SEC};
    ps_consumer *c = NULL;
    assert_int_equal(ps_consumer_add(b, sc.name, &cc, &c), PS_OK);
    return c;
}

static uint64_t stored(ps_testkit *k)
{
    ps_stream_info si = {0};
    assert_int_equal(ps_stream_info_get(ps_testkit_backend(k), ps_testkit_name(k, "JOBS"), &si), PS_OK);
    uint64_t n = si.state.msgs;
    ps_stream_info_clear(&si);
    return n;
}

static void test_the_backend_follows_the_environment(void **state)
{
    (void)state;
    ps_testkit *k = NULL;
    assert_int_equal(ps_testkit_open(&k), PS_OK);
    const char *url = getenv(PS_TESTKIT_URL_ENV);
    bool real = url && *url;
    assert_int_equal(ps_testkit_is_real(k), real);
    assert_string_equal(ps_backend_name(ps_testkit_backend(k)), real ? "jetstream" : "memory");
    assert_int_equal(ps_clock_is_manual(ps_testkit_clock(k)), !real);
    assert_int_equal(ps_testkit_close(k), PS_OK);
    assert_int_equal(ps_testkit_close(NULL), PS_OK);
    assert_int_equal(ps_testkit_open(NULL), PS_ERR_INVALID_ARG);
}

static void test_names_carry_a_prefix_unique_to_the_kit(void **state)
{
    (void)state;
    ps_testkit *a = NULL, *b = NULL;
    assert_int_equal(ps_testkit_open(&a), PS_OK);
    assert_int_equal(ps_testkit_open(&b), PS_OK);
    const char *na = ps_testkit_name(a, "JOBS"), *nb = ps_testkit_name(b, "JOBS");
    assert_non_null(na);
    assert_non_null(nb);
    assert_string_not_equal(na, nb);
    assert_ptr_equal(ps_testkit_name(a, "JOBS"), na); /* the same base, the same name */
    size_t len = strlen(na) - strlen("JOBS");
    assert_string_equal(na + len, "JOBS");
    const char *subj = ps_testkit_name(a, "jobs.>");
    assert_memory_equal(subj, na, len); /* the prefix goes on the first token */
    assert_string_equal(subj + len, "jobs.>");
    assert_null(strpbrk(na, ".*> ")); /* a valid stream name */

    assert_null(ps_testkit_name(a, ""));
    assert_non_null(strstr(ps_last_error(), "empty"));
    assert_null(ps_testkit_name(a, "two words"));
    assert_non_null(strstr(ps_last_error(), "whitespace"));
    assert_null(ps_testkit_name(a, NULL));
    assert_null(ps_testkit_name(NULL, "JOBS"));
    assert_int_equal(ps_testkit_close(a), PS_OK);
    assert_int_equal(ps_testkit_close(b), PS_OK);
}

/* A job fetched and never acked comes back after AckWait once the test
 * lets the time pass: the manual clock on memory, a sleep on a server. */
static void test_advance_lets_ack_wait_expire_on_either_backend(void **state)
{
    (void)state;
    ps_testkit *k = NULL;
    assert_int_equal(ps_testkit_open(&k), PS_OK);
    ps_backend *b = ps_testkit_backend(k);
    ps_consumer *c = jobs(k, b);
    assert_int_equal(ps_publish_data(b, ps_testkit_name(k, "jobs.a"), "x", 1, NULL, NULL), PS_OK);
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(c, 1, 500 * MS, &l), PS_OK);
    assert_int_equal(l.msgs[0]->meta.num_delivered, 1);
    ps_msg_list_free(&l);
    int64_t before = ps_clock_now(ps_testkit_clock(k));
    assert_int_equal(ps_testkit_advance(k, 1500 * MS), PS_OK);
    assert_true(ps_clock_now(ps_testkit_clock(k)) - before >= 1500 * MS);
    assert_int_equal(ps_fetch_batch(c, 1, 500 * MS, &l), PS_OK);
    assert_int_equal(l.msgs[0]->meta.num_delivered, 2);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK);
    ps_msg_list_free(&l);
    assert_int_equal(stored(k), 0);
    ps_consumer_free(c);

    assert_int_equal(ps_testkit_advance(k, -1), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_testkit_advance(NULL, 0), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_testkit_close(k), PS_OK);
}

/* The README's story: a fault shim over the kit's backend drops the next
 * ack, on memory and on a server alike. */
static void test_a_fault_shim_over_the_kit_drops_the_next_ack(void **state)
{
    (void)state;
    ps_testkit *k = NULL;
    ps_backend *b = NULL;
    assert_int_equal(ps_testkit_open(&k), PS_OK);
    assert_int_equal(ps_fault_shim_new(&b, ps_testkit_backend(k), 1), PS_OK);
    ps_consumer *c = jobs(k, b);
    assert_int_equal(ps_publish_data(b, ps_testkit_name(k, "jobs.a"), "x", 1, NULL, NULL), PS_OK);
    assert_int_equal(ps_fault_next(b, PS_FAULT_DROP_ACK, 1), PS_OK);
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(c, 1, 500 * MS, &l), PS_OK);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK); /* lost on the way */
    ps_msg_list_free(&l);
    assert_int_equal(stored(k), 1);
    assert_int_equal(ps_testkit_advance(k, 1500 * MS), PS_OK);
    assert_int_equal(ps_fetch_batch(c, 1, 500 * MS, &l), PS_OK);
    assert_int_equal(l.msgs[0]->meta.num_delivered, 2);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK);
    ps_msg_list_free(&l);
    assert_int_equal(stored(k), 0);
    ps_consumer_free(c);
    assert_int_equal(ps_backend_close(b), PS_OK);
    assert_int_equal(ps_testkit_close(k), PS_OK);
}

/* Closing a kit deletes the streams it named and nothing else: another
 * kit's stream stays, and so does a stream it did not name. */
static void test_close_deletes_only_what_the_kit_named(void **state)
{
    (void)state;
    ps_testkit *a = NULL, *b = NULL;
    assert_int_equal(ps_testkit_open(&a), PS_OK);
    assert_int_equal(ps_testkit_open(&b), PS_OK);
    ps_backend *ba = ps_testkit_backend(a), *bb = ps_testkit_backend(b);
    const char *sa = ps_testkit_name(a, "ORDERS"), *fa = ps_testkit_name(a, "orders");
    ps_stream_config ca = {.name = sa, .subjects = &fa, .subjects_len = 1};
    assert_int_equal(ps_stream_add(ba, &ca, NULL), PS_OK);
    const char *sb = ps_testkit_name(b, "ORDERS"), *fb = ps_testkit_name(b, "orders");
    ps_stream_config cb = {.name = sb, .subjects = &fb, .subjects_len = 1};
    assert_int_equal(ps_stream_add(bb, &cb, NULL), PS_OK);
    /* a stream of the same process that no kit named */
    char foreign[96], foreign_subj[100];
    snprintf(foreign, sizeof foreign, "FOREIGN_%s", sb);
    snprintf(foreign_subj, sizeof foreign_subj, "%s.f", foreign);
    const char *fs = foreign_subj;
    ps_stream_config cf = {.name = foreign, .subjects = &fs, .subjects_len = 1};
    assert_int_equal(ps_stream_add(bb, &cf, NULL), PS_OK);

    char sb_copy[96];
    snprintf(sb_copy, sizeof sb_copy, "%s", sb);
    assert_int_equal(ps_testkit_close(b), PS_OK);
    ps_stream_info si = {0};
    assert_int_equal(ps_stream_info_get(ba, sa, &si), PS_OK); /* the other kit's */
    ps_stream_info_clear(&si);
    assert_int_equal(ps_stream_info_get(ba, sb_copy, &si), PS_ERR_STREAM_NOT_FOUND);
    if (ps_testkit_is_real(a)) { /* on memory kit b's backend, foreign stream and all, is gone */
        assert_int_equal(ps_stream_info_get(ba, foreign, &si), PS_OK);
        ps_stream_info_clear(&si);
        assert_int_equal(ps_stream_delete(ba, foreign), PS_OK);
    }
    assert_int_equal(ps_testkit_close(a), PS_OK);
}

/* A handle left open: the kit says so and stays usable, so the test can
 * free it and close again. */
static void test_closing_with_a_handle_open_is_busy_and_can_be_retried(void **state)
{
    (void)state;
    ps_testkit *k = NULL;
    assert_int_equal(ps_testkit_open(&k), PS_OK);
    ps_consumer *c = jobs(k, ps_testkit_backend(k));
    assert_int_equal(ps_testkit_close(k), PS_ERR_BUSY);
    assert_non_null(strstr(ps_last_error(), "consumer handle"));
    ps_consumer_free(c);
    assert_int_equal(ps_testkit_close(k), PS_OK);
}

/* Closing the kit under a fault shim that still wraps its backend is
 * PS_ERR_BUSY, not a backend freed under the shim (a user's teardown in
 * the wrong order wrote into freed memory); closing the shim first works. */
static void test_closing_under_an_open_fault_shim_is_busy(void **state)
{
    (void)state;
    ps_testkit *k = NULL;
    assert_int_equal(ps_testkit_open(&k), PS_OK);
    ps_backend *shim = NULL;
    assert_int_equal(ps_fault_shim_new(&shim, ps_testkit_backend(k), 1), PS_OK);
    assert_int_equal(ps_testkit_close(k), PS_ERR_BUSY);
    assert_non_null(strstr(ps_last_error(), "fault shim"));
    assert_int_equal(ps_backend_close(shim), PS_OK);
    assert_int_equal(ps_testkit_close(k), PS_OK);
}

/* A URL where nothing listens: a status naming the URL, its secret
 * masked; nothing left open. */
static void test_an_unreachable_url_is_a_status_with_the_url_masked(void **state)
{
    (void)state;
    const char *was = getenv(PS_TESTKIT_URL_ENV);
    char saved[512] = "";
    if (was)
        snprintf(saved, sizeof saved, "%s", was);
    setenv(PS_TESTKIT_URL_ENV, "nats://alice:s3cret@127.0.0.1:1", 1);
    ps_testkit *k = NULL;
    ps_status s = ps_testkit_open(&k);
    if (was)
        setenv(PS_TESTKIT_URL_ENV, saved, 1);
    else
        unsetenv(PS_TESTKIT_URL_ENV);
    assert_int_equal(s, ps_jetstream_available() ? PS_ERR_IO : PS_ERR_NOT_BUILT);
    assert_null(k);
    assert_non_null(strstr(ps_last_error(), "JETSIM_TEST_URL=nats://alice:***@127.0.0.1:1"));
    assert_null(strstr(ps_last_error(), "s3cret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_backend_follows_the_environment),
        cmocka_unit_test(test_names_carry_a_prefix_unique_to_the_kit),
        cmocka_unit_test(test_advance_lets_ack_wait_expire_on_either_backend),
        cmocka_unit_test(test_a_fault_shim_over_the_kit_drops_the_next_ack),
        cmocka_unit_test(test_close_deletes_only_what_the_kit_named),
        cmocka_unit_test(test_closing_with_a_handle_open_is_busy_and_can_be_retried),
        cmocka_unit_test(test_closing_under_an_open_fault_shim_is_busy),
        cmocka_unit_test(test_an_unreachable_url_is_a_status_with_the_url_masked),
    };
    const char *url = getenv(PS_TESTKIT_URL_ENV);
    return cmocka_run_group_tests_name(url && *url ? "test kit (server)" : "test kit (memory)", tests, NULL,
                                       NULL);
}
