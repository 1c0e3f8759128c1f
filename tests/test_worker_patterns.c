/* test_worker_patterns.c — unit tests of the job-system patterns of the
 * worker (core/ps_worker.h) on the memory backend with a manual clock: dead
 * letters after MaxDeliver or a TERM, delayed jobs (a not-before header),
 * and ordered-per-key processing with parallelism across keys. The
 * worker's basics are in test_worker.c.
 *
 * Time moves only through ps_clock_advance followed by ps_backend_tick;
 * nothing here sleeps.
 */
#include "worker_fixture.h"

/* ---- dead letters, delayed jobs, per-key order ---------------------------------- */

static void publish_hdr(env *e, const char *data, const char *name, const char *value)
{
    ps_headers *h = ps_headers_new();
    assert_non_null(h);
    assert_int_equal(ps_headers_add(h, name, value), PS_OK);
    ps_out_msg out = {.subject = "jobs.run", .data = data, .len = strlen(data), .headers = h};
    assert_int_equal(ps_publish(e->b, &out, NULL), PS_OK);
    ps_headers_free(h);
}

/* Header `name` of DEAD's message `seq`, copied into out. */
static void dead_header(env *e, uint64_t seq, const char *name, char *out, size_t cap)
{
    ps_stored_msg sm = {0};
    assert_int_equal(ps_msg_get(e->b, "DEAD", seq, NULL, &sm), PS_OK);
    ps_headers *h = NULL;
    assert_int_equal(ps_headers_decode(&h, sm.hdr, sm.hdr_len), PS_OK);
    const char *v = ps_headers_get(h, name);
    snprintf(out, cap, "%s", v ? v : "(none)");
    ps_headers_free(h);
    ps_stored_msg_clear(&sm);
}

static uint64_t msgs_of(env *e, const char *stream)
{
    ps_stream_info si = {0};
    assert_int_equal(ps_stream_info_get(e->b, stream, &si), PS_OK);
    uint64_t n = si.state.msgs;
    ps_stream_info_clear(&si);
    return n;
}

/* A RETRY on the last delivery MaxDeliver allows: the message goes to the
 * dead-letter subject with its headers and the reason, then the original
 * is termed (gone from the work queue). */
static void test_dead_letter_after_max_deliver(void **state)
{
    env *e = *state;
    assert_int_equal(test_mem_add_stream(e, "DEAD", "dead.>", PS_RETENTION_LIMITS), PS_OK);
    rec r = {.result = PS_HANDLE_RETRY};
    ps_worker_config cfg = base_cfg(&r);
    cfg.consumer.max_deliver = 2;
    cfg.dead_letter_subject = "dead.jobs";
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_hdr(e, "m0", "Jetsim-Job", "7");
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(msgs_of(e, "DEAD"), 0); /* delivery 1 of 2: a plain retry */
    assert_int_equal(poll_ok(w), 1);
    ps_worker_stats st = stats_of(w);
    assert_int_equal(st.dead_lettered, 1);
    assert_int_equal(st.termed, 1);
    assert_int_equal(st.naked, 1);
    assert_int_equal(stream_msgs(e), 0);
    assert_int_equal(msgs_of(e, "DEAD"), 1);
    char v[64];
    dead_header(e, 1, PS_DEAD_REASON_HEADER, v, sizeof v);
    assert_string_equal(v, "max_deliver");
    dead_header(e, 1, "Jetsim-Job", v, sizeof v);
    assert_string_equal(v, "7");
    dead_header(e, 1, PS_DEAD_STREAM_HEADER, v, sizeof v);
    assert_string_equal(v, "JOBS");
    dead_header(e, 1, PS_DEAD_SEQ_HEADER, v, sizeof v);
    assert_string_equal(v, "1");
    dead_header(e, 1, PS_DEAD_SUBJECT_HEADER, v, sizeof v);
    assert_string_equal(v, "jobs.run");
    dead_header(e, 1, PS_DEAD_DELIVERIES_HEADER, v, sizeof v);
    assert_string_equal(v, "2");
    ps_stored_msg sm = {0};
    assert_int_equal(ps_msg_get(e->b, "DEAD", 1, NULL, &sm), PS_OK);
    assert_string_equal(sm.data, "m0");
    ps_stored_msg_clear(&sm);
    ps_worker_free(w);
}

/* A TERM dead-letters at once, whatever the delivery count. */
static void test_dead_letter_on_term(void **state)
{
    env *e = *state;
    assert_int_equal(test_mem_add_stream(e, "DEAD", "dead.>", PS_RETENTION_LIMITS), PS_OK);
    rec r = {.result = PS_HANDLE_TERM};
    ps_worker_config cfg = base_cfg(&r);
    cfg.dead_letter_subject = "dead.jobs";
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 1);
    assert_int_equal(poll_ok(w), 1);
    char v[64];
    dead_header(e, 1, PS_DEAD_REASON_HEADER, v, sizeof v);
    assert_string_equal(v, "term");
    assert_int_equal(stats_of(w).dead_lettered, 1);
    assert_int_equal(stream_msgs(e), 0);
    ps_worker_free(w);
}

/* The republish fails (no stream takes the subject yet): the job is naked,
 * not termed, and the failure reported; with dead_letter_after below
 * max_deliver, the next delivery goes to the dead letter without the
 * handler once the publish works. */
static void test_failed_dead_letter_keeps_the_job(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_RETRY};
    ps_worker_config cfg = base_cfg(&r);
    cfg.consumer.max_deliver = 3;
    cfg.dead_letter_subject = "dead.jobs";
    cfg.dead_letter_after = 2;
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 1);
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(poll_ok(w), 1); /* delivery 2: dies, but nobody stores dead.jobs */
    assert_int_equal(r.errors, 1);
    assert_int_equal(r.error_kind, PS_NAK);
    assert_non_null(strstr(r.error_detail, "dead.jobs"));
    ps_worker_stats st = stats_of(w);
    assert_int_equal(st.dead_lettered, 0);
    assert_int_equal(st.termed, 0);
    assert_int_equal(st.naked, 2);
    assert_int_equal(stream_msgs(e), 1); /* not lost */

    assert_int_equal(test_mem_add_stream(e, "DEAD", "dead.>", PS_RETENTION_LIMITS), PS_OK);
    assert_int_equal(poll_ok(w), 0); /* delivery 3: straight to the dead letter */
    assert_int_equal(r.calls, 2);
    assert_int_equal(stats_of(w).dead_lettered, 1);
    assert_int_equal(msgs_of(e, "DEAD"), 1);
    assert_int_equal(stream_msgs(e), 0);
    ps_worker_free(w);
}

/* Jetsim-Not-Before: delivered early, the message is naked to its time
 * and the handler never sees it before then. */
static void test_not_before_naks_until_due(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_ACK};
    ps_worker_config cfg = base_cfg(&r);
    cfg.clock = e->clock;
    ps_worker *w = new_worker(e, &r, &cfg);
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)(ps_clock_now(e->clock) + 10 * SEC));
    publish_hdr(e, "later", PS_NOT_BEFORE_HEADER, t);
    publish_hdr(e, "now", PS_NOT_BEFORE_HEADER, "0");
    publish_hdr(e, "bad", PS_NOT_BEFORE_HEADER, "soon"); /* not a time: handled now */
    assert_int_equal(poll_ok(w), 2);
    assert_string_equal(r.data[0], "now");
    assert_string_equal(r.data[1], "bad");
    ps_worker_stats st = stats_of(w);
    assert_int_equal(st.delayed, 1);
    assert_int_equal(st.errors, 0);
    advance(e, 10 * SEC - 1);
    assert_int_equal(poll_ok(w), 0);
    advance(e, 1);
    next_is(w, &r, 2, "later", 2);
    assert_int_equal(stats_of(w).acked, 3);
    ps_worker_free(w);
}

/* The header is found by its exact name wherever it stands (the worker
 * looks for the name's bytes before decoding a block): after a message
 * id, and not in another header's value nor under another case. */
static void test_not_before_found_by_its_exact_name(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_ACK};
    ps_worker_config cfg = base_cfg(&r);
    cfg.clock = e->clock;
    ps_worker *w = new_worker(e, &r, &cfg);
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)(ps_clock_now(e->clock) + 10 * SEC));
    ps_headers *h = ps_headers_new();
    assert_non_null(h);
    assert_int_equal(ps_headers_add(h, "X-Note", PS_NOT_BEFORE_HEADER), PS_OK);
    assert_int_equal(ps_headers_add(h, PS_NOT_BEFORE_HEADER, t), PS_OK);
    ps_out_msg out = {.subject = "jobs.run", .data = "later", .len = 5, .headers = h, .msg_id = "id-1"};
    assert_int_equal(ps_publish(e->b, &out, NULL), PS_OK);
    ps_headers_free(h);
    publish_hdr(e, "value", "X-Note", PS_NOT_BEFORE_HEADER);
    publish_hdr(e, "case", "jetsim-not-before", t);
    assert_int_equal(poll_ok(w), 2);
    assert_string_equal(r.data[0], "value");
    assert_string_equal(r.data[1], "case");
    assert_int_equal(stats_of(w).delayed, 1);
    advance(e, 10 * SEC);
    next_is(w, &r, 2, "later", 0);
    ps_worker_free(w);
}

/* Without a clock the header means nothing. */
static void test_not_before_ignored_without_clock(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_ACK};
    ps_worker_config cfg = base_cfg(&r);
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_hdr(e, "later", PS_NOT_BEFORE_HEADER, "9999999999999999999");
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(stats_of(w).delayed, 0);
    ps_worker_free(w);
}

/* key_header: one message per key at a time, keys in parallel; the next
 * of a key goes out at the poll after its predecessor is done. */
static void test_key_one_in_flight_per_key(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    cfg.key_header = "Key";
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_hdr(e, "a1", "Key", "a");
    publish_hdr(e, "a2", "Key", "a");
    publish_hdr(e, "b1", "Key", "b");
    publish_n(e, 0, 1); /* no key: waits for nothing */
    publish_hdr(e, "a3", "Key", "a");
    assert_int_equal(poll_ok(w), 3);
    assert_string_equal(r.data[0], "a1");
    assert_string_equal(r.data[1], "b1");
    assert_string_equal(r.data[2], "m0");
    ps_worker_stats st = stats_of(w);
    assert_int_equal(st.held_back, 2);
    assert_int_equal(st.in_flight, 5);
    assert_int_equal(poll_ok(w), 0); /* a is still busy */
    ack_held(w, &r, 0);
    next_is(w, &r, 3, "a2", 0);
    ack_held(w, &r, 3);
    next_is(w, &r, 4, "a3", 0);
    ps_worker_free(w);
}

/* A keyed message retried is naked plainly, whatever backoff is
 * configured, and the waiting ones of its key stay in the worker until it
 * comes back (the next fetch: redeliveries come first, JS 7.6). */
static void test_key_retry_keeps_order(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    cfg.key_header = "Key";
    const int64_t backoff[] = {5 * SEC};
    cfg.nak_backoff_ns = backoff;
    cfg.nak_backoff_len = 1;
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_hdr(e, "a1", "Key", "a");
    publish_hdr(e, "a2", "Key", "a");
    assert_int_equal(poll_ok(w), 1);
    publish_hdr(e, "a3", "Key", "a");
    assert_int_equal(ps_worker_complete(w, r.held[0], PS_HANDLE_RETRY), PS_OK);
    ps_worker_stats st = stats_of(w);
    assert_int_equal(st.naked, 1);
    assert_int_equal(st.in_flight, 1); /* a2 waits for a1 to come back */
    next_is(w, &r, 1, "a1", 2); /* no backoff: a1 again at once; a3, new, waits */
    ack_held(w, &r, 1);
    next_is(w, &r, 2, "a2", 1);
    ack_held(w, &r, 2);
    next_is(w, &r, 3, "a3", 0);
    ps_worker_free(w);
}

/* A key's messages go out in stream order even when the server hands
 * them back out of it: a2 was naked before a1 failed again, so the
 * redelivery queue holds a2 ahead of a1; a2 waits for a1. */
static void test_key_order_is_stream_order_across_redeliveries(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    cfg.key_header = "Key";
    cfg.batch = 2;
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_hdr(e, "a1", "Key", "a");
    publish_hdr(e, "a2", "Key", "a");
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(ps_worker_stop(w), PS_OK); /* naks a1, then a2 */
    ps_worker_free(w);

    rec r2 = {.result = PS_HANDLE_DEFER};
    cfg = base_cfg(&r2);
    cfg.key_header = "Key";
    cfg.batch = 1;
    cfg.max_in_flight = 2;
    w = new_worker(e, &r2, &cfg);
    next_is(w, &r2, 0, "a1", 0);
    assert_int_equal(ps_worker_complete(w, r2.held[0], PS_HANDLE_RETRY), PS_OK); /* queued behind a2 */
    assert_int_equal(poll_ok(w), 0); /* a2 comes first and waits */
    assert_int_equal(stats_of(w).held_back, 1);
    next_is(w, &r2, 1, "a1", 3);
    ack_held(w, &r2, 1);
    next_is(w, &r2, 2, "a2", 0);
    ps_worker_free(w);
}

/* A naked keyed message that another worker takes is not waited for
 * forever: once a fetch brings a new message (the server had no
 * redelivery left for this worker), its key's waiting messages go out. */
static void test_key_wait_ends_when_the_blocker_goes_elsewhere(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    cfg.key_header = "Key";
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_hdr(e, "a1", "Key", "a");
    publish_hdr(e, "a2", "Key", "a");
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(ps_worker_complete(w, r.held[0], PS_HANDLE_RETRY), PS_OK);

    rec r2 = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg2 = base_cfg(&r2);
    cfg2.batch = 1;
    ps_worker *other = NULL;
    assert_int_equal(ps_worker_new(&other, e->b, &cfg2), PS_OK);
    r2.w = other;
    assert_int_equal(ps_worker_poll(other, NULL), PS_OK); /* takes a1 */
    assert_string_equal(r2.data[0], "a1");

    publish_hdr(e, "b1", "Key", "b");
    next_is(w, &r, 1, "b1", 0); /* b1, new: a1 is not coming back here */
    next_is(w, &r, 2, "a2", 0);
    ps_worker_free(other);
    ps_worker_free(w);
}

/* In progress on a keyed message keeps the messages waiting for its key
 * alive too: without it a2's AckWait would end while a1 is worked on. */
static void test_key_in_progress_covers_the_waiting(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    cfg.key_header = "Key";
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_hdr(e, "a1", "Key", "a");
    publish_hdr(e, "a2", "Key", "a");
    assert_int_equal(poll_ok(w), 1);
    advance(e, 20 * SEC);
    assert_int_equal(ps_worker_in_progress(w, r.held[0]), PS_OK);
    advance(e, 20 * SEC); /* 40 s since the fetch; AckWait is 30 s */
    assert_int_equal(poll_ok(w), 0);
    assert_int_equal(stats_of(w).fetched, 2); /* a2 was not delivered again */
    ack_held(w, &r, 0);
    next_is(w, &r, 1, "a2", 1);
    ps_worker_free(w);
}

static void test_new_rejects_bad_pattern_options(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_ACK};
    ps_worker *w = NULL;
    ps_worker_config cfg = base_cfg(&r);
    cfg.dead_letter_subject = "dead.>";
    assert_int_equal(ps_worker_new(&w, e->b, &cfg), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "dead_letter_subject"));
    cfg = base_cfg(&r);
    cfg.dead_letter_after = 2;
    assert_int_equal(ps_worker_new(&w, e->b, &cfg), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "dead_letter_after"));
    cfg.dead_letter_subject = "dead.jobs";
    cfg.dead_letter_after = -1;
    assert_int_equal(ps_worker_new(&w, e->b, &cfg), PS_ERR_INVALID_ARG);
    /* past max_deliver the server delivers no more: jobs would stay in
     * the stream, neither done nor dead-lettered (a user lost 24 so) */
    cfg.consumer.max_deliver = 5;
    cfg.dead_letter_after = 6;
    assert_int_equal(ps_worker_new(&w, e->b, &cfg), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "past the consumer's max_deliver 5"));
    cfg = base_cfg(&r);
    cfg.key_header = "";
    assert_int_equal(ps_worker_new(&w, e->b, &cfg), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "key_header"));
    assert_null(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_dead_letter_after_max_deliver),
        T(test_dead_letter_on_term),
        T(test_failed_dead_letter_keeps_the_job),
        T(test_not_before_naks_until_due),
        T(test_not_before_found_by_its_exact_name),
        T(test_not_before_ignored_without_clock),
        T(test_key_one_in_flight_per_key),
        T(test_key_retry_keeps_order),
        T(test_key_order_is_stream_order_across_redeliveries),
        T(test_key_wait_ends_when_the_blocker_goes_elsewhere),
        T(test_key_in_progress_covers_the_waiting),
        T(test_new_rejects_bad_pattern_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
