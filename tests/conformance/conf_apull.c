/* conf_apull.c — asynchronous pull requests (ps_pull_start / ps_pull_poll):
 * the server's waiting-request queue and the statuses that end a request
 * (docs/MODEL.md, JS 8.2-8.5, 5.5, 2.5).
 *
 * Several requests wait at once here, which the blocking fetch of
 * conf_pull.c cannot express. On the model the manual clock moves; on a
 * server every timed step keeps at least 200 ms from any other timer.
 *
 * Not here: the blocking fetch (conf_pull.c).
 */
#include "conformance.h"

#include <string.h>

#define PULL_WAIT_MS 1000 /* a pull's expiry where the test does not reach it */

static ps_consumer *apull_consumer(conf_fixture *f, const ps_consumer_config *cc, int n)
{
    conf_stream(f, "AP", "ap.>", PS_RETENTION_LIMITS);
    ps_consumer *c = conf_consumer(f, "AP", cc);
    if (n > 0)
        conf_pub_n(f, "ap.a", n);
    return c;
}

static ps_consumer *plain(conf_fixture *f, int n)
{
    ps_consumer_config cc = {.durable = "C"};
    return apull_consumer(f, &cc, n);
}

static ps_fetch_request waiting(int batch, int64_t expires_ms)
{
    return (ps_fetch_request){.batch = batch, .expires_ns = expires_ms * CONF_MS};
}

static void expect_waiting(conf_fixture *f, ps_pull *p)
{
    conf_pulled r;
    conf_pull_collect(f, p, false, &r);
    assert_int_equal(r.count, 0);
    assert_false(r.end.done);
}

/* The bytes a delivery counts against max_bytes (JS 8.3). */
static int64_t wire_size(ps_msg *m)
{
    return (int64_t)(strlen(m->subject) + strlen(ps_msg_reply(m)) + m->hdr_len + m->len);
}

/* JS 8.3: a request waits in the queue and a later publish is delivered to
 * it; a full batch ends it without a status. */
CONF_TEST(test_js8_3_waiting_pull_is_served_by_later_publishes)
{
    ps_consumer *c = plain(f, 0);
    ps_pull *p = conf_pull_start(c, waiting(2, PULL_WAIT_MS));
    expect_waiting(f, p);
    assert_int_equal(conf_cinfo(c)->num_waiting, 1);
    conf_pub(f, "ap.a", "one");
    conf_pulled r;
    conf_pull_collect(f, p, false, &r);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.msgs[0]->meta.stream_seq, 1);
    assert_false(r.end.done);
    conf_pub(f, "ap.a", "two");
    conf_pull_collect(f, p, true, &r);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.msgs[0]->meta.stream_seq, 2);
    conf_expect_pull_end(&r, PS_OK, 0, "");
    conf_ack(r.msgs[0], PS_ACK);
    const ps_consumer_info *ci = conf_cinfo(c);
    assert_int_equal(ci->num_waiting, 0);
    assert_int_equal(ci->num_ack_pending, 1);
}

/* JS 8.4: at its expiry a request ends with 408 Request Timeout, saying
 * what it still wanted: the rest of its batch and of its max_bytes. */
CONF_TEST(test_js8_4_expiry_408_carries_pending_messages_and_bytes)
{
    ps_consumer *c = plain(f, 0);
    ps_fetch_request req = {.batch = 3, .expires_ns = 400 * CONF_MS, .max_bytes = 10000};
    ps_pull *p = conf_pull_start(c, req);
    ps_pull *q = conf_pull_start(c, waiting(2, 400));
    conf_pub(f, "ap.a", "one");
    conf_pulled r;
    conf_pull_collect(f, p, false, &r);
    assert_int_equal(r.count, 1);
    int64_t left = 10000 - wire_size(r.msgs[0]);
    conf_advance_ms(f, 400 + 2 * CONF_MARGIN_MS);
    conf_pull_collect(f, p, true, &r);
    assert_int_equal(r.count, 0);
    conf_expect_pull_end(&r, PS_ERR_TIMEOUT, 408, "Request Timeout");
    assert_int_equal(r.end.pending_msgs, 2);
    assert_int_equal(r.end.pending_bytes, left);
    conf_pull_collect(f, q, true, &r);
    conf_expect_pull_end(&r, PS_ERR_TIMEOUT, 408, "Request Timeout");
    assert_int_equal(r.end.pending_msgs, 2);
    assert_int_equal(r.end.pending_bytes, 0);
    assert_int_equal(conf_cinfo(c)->num_waiting, 0);
}

/* JS 8.2.7: with MaxWaiting requests queued the next one is refused with
 * 409 Exceeded MaxWaiting; the queued one is still served. */
CONF_TEST(test_js8_2_pull_beyond_max_waiting_409)
{
    ps_consumer_config cc = {.durable = "C", .max_waiting = 1};
    ps_consumer *c = apull_consumer(f, &cc, 0);
    ps_pull *first = conf_pull_start(c, waiting(1, PULL_WAIT_MS));
    ps_pull *second = conf_pull_start(c, waiting(1, PULL_WAIT_MS));
    conf_pulled r;
    conf_pull_collect(f, second, true, &r);
    conf_expect_pull_end(&r, PS_ERR_MAX_WAITING, 409, "Exceeded MaxWaiting");
    assert_int_equal(conf_cinfo(c)->num_waiting, 1);
    conf_pub(f, "ap.a", "one");
    conf_pull_collect(f, first, true, &r);
    assert_int_equal(r.count, 1);
    conf_expect_pull_end(&r, PS_OK, 0, "");
}

/* JS 5.5: deleting the consumer ends its waiting requests with 409
 * Consumer Deleted. */
CONF_TEST(test_js5_5_consumer_deleted_while_a_pull_waits_409)
{
    ps_consumer *c = plain(f, 0);
    ps_pull *p = conf_pull_start(c, waiting(5, PULL_WAIT_MS));
    expect_waiting(f, p);
    conf_ok(ps_consumer_delete(f->b, "AP", "C"));
    conf_pulled r;
    conf_pull_collect(f, p, true, &r);
    assert_int_equal(r.count, 0);
    conf_expect_pull_end(&r, PS_ERR_CONSUMER_DELETED, 409, "Consumer Deleted");
}

/* JS 2.5: deleting the stream deletes its consumers, with the same 409. */
CONF_TEST(test_js2_5_stream_deleted_while_a_pull_waits_409)
{
    ps_consumer *c = plain(f, 0);
    ps_pull *p = conf_pull_start(c, waiting(1, PULL_WAIT_MS));
    expect_waiting(f, p);
    conf_ok(ps_stream_delete(f->b, "AP"));
    conf_pulled r;
    conf_pull_collect(f, p, true, &r);
    conf_expect_pull_end(&r, PS_ERR_CONSUMER_DELETED, 409, "Consumer Deleted");
}

/* JS 8.2.6: no_wait without expires on an empty consumer: 404 No Messages
 * at once. */
CONF_TEST(test_js8_2_no_wait_pull_on_empty_consumer_404)
{
    ps_consumer *c = plain(f, 0);
    ps_pull *p = conf_pull_start(c, (ps_fetch_request){.batch = 1, .no_wait = true});
    conf_pulled r;
    conf_pull_collect(f, p, true, &r);
    assert_int_equal(r.count, 0);
    conf_expect_pull_end(&r, PS_ERR_NO_MESSAGES, 404, "No Messages");
    assert_int_equal(conf_cinfo(c)->num_waiting, 0);
}

/* JS 8.4: a no_wait one-shot takes what is there and ends with 408 as soon
 * as nothing more is, saying how much of its batch is left. */
CONF_TEST(test_js8_4_no_wait_one_shot_ends_408_after_what_is_there)
{
    ps_consumer *c = plain(f, 2);
    ps_pull *p = conf_pull_start(c, (ps_fetch_request){.batch = 5, .no_wait = true});
    conf_pulled r;
    conf_pull_collect(f, p, true, &r);
    conf_expect_pull_end(&r, PS_ERR_TIMEOUT, 408, "Request Timeout");
    assert_int_equal(r.count, 2);
    assert_int_equal(r.end.pending_msgs, 3);
}

/* JS 8.3: waiting requests are served first come, first served, and one
 * that wants more goes to the back of the queue. */
CONF_TEST(test_js8_3_waiting_pulls_take_turns)
{
    ps_consumer *c = plain(f, 0);
    ps_pull *a = conf_pull_start(c, waiting(2, PULL_WAIT_MS));
    ps_pull *b = conf_pull_start(c, waiting(2, PULL_WAIT_MS));
    expect_waiting(f, b);
    conf_pub_n(f, "ap.a", 3);
    conf_pulled ra, rb;
    conf_pull_collect(f, a, true, &ra);
    conf_pull_collect(f, b, false, &rb);
    assert_int_equal(ra.count, 2);
    assert_int_equal(ra.msgs[0]->meta.stream_seq, 1);
    assert_int_equal(ra.msgs[1]->meta.stream_seq, 3);
    conf_expect_pull_end(&ra, PS_OK, 0, "");
    assert_int_equal(rb.count, 1);
    assert_int_equal(rb.msgs[0]->meta.stream_seq, 2);
    assert_false(rb.end.done);
}

/* JS 8.3, 6.5: a redelivery due while a request waits goes to it. */
CONF_TEST(test_js8_3_waiting_pull_receives_an_ack_wait_redelivery)
{
    ps_consumer_config cc = {.durable = "C", .ack_wait_ns = 400 * CONF_MS};
    ps_consumer *c = apull_consumer(f, &cc, 1);
    conf_fetch_one(c, 1, 1);
    ps_pull *p = conf_pull_start(c, waiting(1, 1200));
    expect_waiting(f, p);
    conf_advance_ms(f, 400 + 2 * CONF_MARGIN_MS);
    conf_pulled r;
    conf_pull_collect(f, p, true, &r);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.msgs[0]->meta.stream_seq, 1);
    assert_int_equal(r.msgs[0]->meta.num_delivered, 2);
    conf_expect_pull_end(&r, PS_OK, 0, "");
}

/* JS 8.2.6: a no_wait request when less is there than the waiting requests
 * still want: 408 Requests Pending at once. */
CONF_TEST(test_js8_2_no_wait_behind_larger_waiting_requests_408_requests_pending)
{
    ps_consumer_config cc = {.durable = "C", .max_ack_pending = 1};
    ps_consumer *c = apull_consumer(f, &cc, 3);
    conf_fetch_one(c, 1, 1); /* MaxAckPending reached: 2 and 3 wait */
    ps_pull *big = conf_pull_start(c, waiting(5, PULL_WAIT_MS));
    expect_waiting(f, big);
    ps_pull *p = conf_pull_start(c, (ps_fetch_request){.batch = 1, .no_wait = true});
    conf_pulled r;
    conf_pull_collect(f, p, true, &r);
    conf_expect_pull_end(&r, PS_ERR_TIMEOUT, 408, "Requests Pending");
    assert_int_equal(r.count, 0);
}

/* JS 8.4, 6.8: a no_wait one-shot is not ended while MaxAckPending holds
 * deliveries back, not even after it got a message (the delivery stalls
 * the consumer again); it ends with 408 once an ack makes room and
 * nothing more is there. */
CONF_TEST(test_js8_4_one_shot_waits_while_max_ack_pending_stalls)
{
    ps_consumer_config cc = {.durable = "C", .max_ack_pending = 1};
    ps_consumer *c = apull_consumer(f, &cc, 2);
    ps_msg *m = conf_fetch_one(c, 1, 1);
    ps_pull *p = conf_pull_start(c, (ps_fetch_request){.batch = 3, .no_wait = true});
    expect_waiting(f, p);
    conf_ack(m, PS_ACK);
    conf_pulled r;
    conf_pull_collect(f, p, false, &r);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.msgs[0]->meta.stream_seq, 2);
    assert_false(r.end.done);
    conf_ack(r.msgs[0], PS_ACK);
    conf_pull_collect(f, p, true, &r);
    assert_int_equal(r.count, 0);
    conf_expect_pull_end(&r, PS_ERR_TIMEOUT, 408, "Request Timeout");
    assert_int_equal(r.end.pending_msgs, 2);
}

/* JS 8.4: a freed pull (its reply subject lost interest) is dropped: a
 * later message goes to the next request instead. */
CONF_TEST(test_js8_4_freed_pull_is_dropped_from_the_queue)
{
    ps_consumer *c = plain(f, 0);
    ps_pull *p = NULL;
    ps_fetch_request req = waiting(1, PULL_WAIT_MS);
    conf_ok(ps_pull_start(c, &req, &p));
    ps_pull *q = conf_pull_start(c, waiting(1, PULL_WAIT_MS));
    expect_waiting(f, q);
    ps_pull_free(p);
    conf_settle(f);
    conf_pub(f, "ap.a", "one");
    conf_pulled r;
    conf_pull_collect(f, q, true, &r);
    assert_int_equal(r.count, 1);
    conf_expect_pull_end(&r, PS_OK, 0, "");
}
