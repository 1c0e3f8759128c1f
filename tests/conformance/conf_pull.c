/* conf_pull.c — pull requests: admission, max_bytes, termination and the
 * results cnats reports for them (docs/MODEL.md, JS 8, 14.1).
 *
 * Not here: MaxWaiting (8.2 step 7), "408 Requests Pending" (8.2 step 6)
 * and "409 Consumer Deleted" for a request that is still waiting (2.5,
 * 5.5) need several requests in flight at once: conf_apull.c has them,
 * through the asynchronous pulls of ps_pull_start.
 */
#include "conformance.h"

static ps_consumer *pull_consumer(conf_fixture *f, const ps_consumer_config *cc, int n)
{
    conf_stream(f, "PL", "pl.>", PS_RETENTION_LIMITS);
    ps_consumer *c = conf_consumer(f, "PL", cc);
    if (n > 0)
        conf_pub_n(f, "pl.a", n);
    return c;
}

static ps_consumer *plain(conf_fixture *f, int n)
{
    ps_consumer_config cc = {.durable = "C"};
    return pull_consumer(f, &cc, n);
}

static ps_status fetch_req(ps_consumer *c, ps_fetch_request req, ps_msg_list **l)
{
    return conf_fetch_req(c, &req, l);
}

/* ---- §8.2 admission -------------------------------------------------------------- */

/* JS 8.2.2: batch > MaxRequestBatch -> 409 "Exceeded MaxRequestBatch of N". */
CONF_TEST(test_js8_2_batch_above_max_request_batch_rejected)
{
    ps_consumer_config cc = {.durable = "C", .max_request_batch = 2};
    ps_consumer *c = pull_consumer(f, &cc, 3);
    ps_msg_list *l;
    conf_expect_error(fetch_req(c, (ps_fetch_request){.batch = 3, .expires_ns = CONF_EXPIRES_NS}, &l),
                      PS_ERR_PULL_REJECTED, 0, "Exceeded MaxRequestBatch of 2");
    assert_int_equal(l->count, 0);
    CONF_FETCH_SEQS(c, 2, 1, 2);
}

/* JS 8.2.3: expires > MaxRequestExpires -> 409. */
CONF_TEST(test_js8_2_expires_above_max_request_expires_rejected)
{
    ps_consumer_config cc = {.durable = "C", .max_request_expires_ns = 200 * CONF_MS};
    ps_consumer *c = pull_consumer(f, &cc, 1);
    ps_msg_list *l;
    conf_expect_error(fetch_req(c, (ps_fetch_request){.batch = 1, .expires_ns = 300 * CONF_MS}, &l),
                      PS_ERR_PULL_REJECTED, 0, "Exceeded MaxRequestExpires");
    conf_fetch_one(c, 1, 1);
}

/* JS 8.2.4: max_bytes > MaxRequestMaxBytes -> 409. */
CONF_TEST(test_js8_2_max_bytes_above_max_request_max_bytes_rejected)
{
    ps_consumer_config cc = {.durable = "C", .max_request_max_bytes = 1000};
    ps_consumer *c = pull_consumer(f, &cc, 1);
    ps_msg_list *l;
    ps_fetch_request req = {.batch = 1, .expires_ns = CONF_EXPIRES_NS, .max_bytes = 2000};
    conf_expect_error(fetch_req(c, req, &l), PS_ERR_PULL_REJECTED, 0,
                      "Exceeded MaxRequestMaxBytes of 1000");
    req.max_bytes = 500;
    conf_ok(fetch_req(c, req, &l));
    assert_int_equal(l->count, 1);
}

/* JS 8.2: the admission checks run in order; batch is checked first. */
CONF_TEST(test_js8_2_admission_checks_batch_first)
{
    ps_consumer_config cc = {.durable = "C", .max_request_batch = 1,
                             .max_request_expires_ns = 50 * CONF_MS};
    ps_consumer *c = pull_consumer(f, &cc, 1);
    ps_msg_list *l;
    conf_expect_error(fetch_req(c, (ps_fetch_request){.batch = 2, .expires_ns = CONF_EXPIRES_NS}, &l),
                      PS_ERR_PULL_REJECTED, 0, "MaxRequestBatch");
}

/* JS 8.2.6: no_wait without expires and nothing available -> 404. */
CONF_TEST(test_js8_2_no_wait_with_nothing_is_no_messages)
{
    ps_consumer *c = plain(f, 0);
    ps_msg_list *l;
    conf_expect_error(fetch_req(c, (ps_fetch_request){.batch = 5, .no_wait = true}, &l),
                      PS_ERR_NO_MESSAGES, 0, NULL);
    assert_int_equal(l->count, 0);
}

/* JS 8.2.6: counts redeliveries as available: a NAK'd message makes a
 * no_wait request succeed even at MaxAckPending. */
CONF_TEST(test_js8_2_no_wait_counts_redeliveries_as_available)
{
    ps_consumer_config cc = {.durable = "C", .max_ack_pending = 1};
    ps_consumer *c = pull_consumer(f, &cc, 1);
    conf_ack(conf_fetch_one(c, 1, 1), PS_NAK);
    ps_msg_list *l;
    conf_ok(fetch_req(c, (ps_fetch_request){.batch = 1, .no_wait = true}, &l));
    assert_int_equal(l->count, 1);
    assert_int_equal(l->msgs[0]->meta.num_delivered, 2);
}

/* JS 8.2 / 14.1: no_wait returns what is available at once, fewer than
 * the batch. */
CONF_TEST(test_js8_2_no_wait_returns_what_is_available)
{
    ps_consumer *c = plain(f, 2);
    ps_msg_list *l;
    ps_fetch_request req = {.batch = 5, .no_wait = true, .expires_ns = CONF_EXPIRES_NS};
    conf_ok(fetch_req(c, req, &l));
    assert_int_equal(l->count, 2);
    assert_int_equal(l->msgs[1]->meta.stream_seq, 2);
}

/* JS 8.4 / 14.1: no_wait with expires and nothing there ends at expiry:
 * a timeout, not 404. */
CONF_TEST(test_js8_4_no_wait_with_expires_and_nothing_times_out)
{
    ps_consumer *c = plain(f, 0);
    ps_msg_list *l;
    ps_fetch_request req = {.batch = 2, .no_wait = true, .expires_ns = CONF_EXPIRES_NS};
    conf_expect_error(fetch_req(c, req, &l), PS_ERR_TIMEOUT, 0, NULL);
}

/* ---- §8.3 serving ---------------------------------------------------------------------- */

/* JS 8.3: a batch caps the count; delivery continues where it stopped. */
CONF_TEST(test_js8_3_batch_caps_the_count)
{
    ps_consumer *c = plain(f, 5);
    CONF_FETCH_SEQS(c, 2, 1, 2);
    CONF_FETCH_SEQS(c, 3, 3, 4, 5);
}

/* JS 8.3 / App. B: a stored message that happens to carry a "Status"
 * header and no data is a delivery like any other, not a pull status
 * (those come without an ack subject). */
CONF_TEST(test_js8_3_message_with_a_status_header_is_delivered)
{
    ps_consumer *c = plain(f, 0);
    ps_headers *h = conf_headers();
    conf_ok(ps_headers_add(h, "Status", "404"));
    conf_ok(ps_headers_add(h, "Description", "No Messages"));
    ps_out_msg m = {.subject = "pl.a", .headers = h};
    ps_pub_ack ack;
    ps_status s = ps_publish(f->b, &m, &ack);
    conf_ok(s);
    ps_msg *got = conf_fetch_one(c, 1, 1);
    assert_int_equal(got->len, 0);
    assert_string_equal(ps_msg_header(got, "Status"), "404");
    conf_ack(got, PS_ACK);
}

/* JS 8.3: a first message larger than max_bytes ends the request with 409
 * "Message Size Exceeds MaxBytes" and stays undelivered. */
CONF_TEST(test_js8_3_first_message_over_max_bytes_409)
{
    conf_stream(f, "PL", "pl.>", PS_RETENTION_LIMITS);
    ps_consumer *c = conf_durable(f, "PL", "C", 0);
    char big[201];
    for (int i = 0; i < 200; i++)
        big[i] = 'a' + (char)(i % 26);
    big[200] = '\0';
    conf_pub(f, "pl.a", big);
    ps_msg_list *l;
    ps_fetch_request req = {.batch = 1, .expires_ns = CONF_EXPIRES_NS, .max_bytes = 100};
    conf_expect_error(fetch_req(c, req, &l), PS_ERR_MAX_BYTES, 0, NULL);
    conf_expect_counts(c, 1, 0, 0);
    conf_fetch_one(c, 1, 1);
}

/* JS 8.3 / 14.1: max_bytes counts subject, ack reply, headers and data:
 * two 200-byte messages do not fit in 300 bytes; the one that fits is
 * returned (the 409 that ends the request is swallowed). */
CONF_TEST(test_js8_3_max_bytes_limits_the_batch)
{
    conf_stream(f, "PL", "pl.>", PS_RETENTION_LIMITS);
    ps_consumer *c = conf_durable(f, "PL", "C", 0);
    char big[201];
    for (int i = 0; i < 200; i++)
        big[i] = 'z';
    big[200] = '\0';
    conf_pub(f, "pl.a", big);
    conf_pub(f, "pl.a", big);
    ps_msg_list *l;
    ps_fetch_request req = {.batch = 2, .expires_ns = CONF_EXPIRES_NS, .max_bytes = 300};
    conf_ok(fetch_req(c, req, &l));
    assert_int_equal(l->count, 1);
    assert_int_equal(l->msgs[0]->meta.stream_seq, 1);
    conf_fetch_one(c, 2, 1);
}

/* ---- §8.4 termination, §8.5 ------------------------------------------------------------- */

/* JS 8.4 / 14.1: nothing before expiry -> timeout; a partial batch is
 * returned as a success. */
CONF_TEST(test_js8_4_expiry_times_out_or_returns_partial_batch)
{
    ps_consumer *c = plain(f, 0);
    conf_fetch(c, 3, 0);
    conf_pub_n(f, "pl.a", 2);
    CONF_FETCH_SEQS(c, 5, 1, 2);
}

/* JS 8.5: NumWaiting does not count completed requests. */
CONF_TEST(test_js8_5_num_waiting_excludes_completed_requests)
{
    ps_consumer *c = plain(f, 1);
    conf_fetch_one(c, 1, 1);
    conf_fetch_none(c);
    assert_int_equal(conf_cinfo(c)->num_waiting, 0);
}

/* JS 2.5 / 5.5: after the stream is deleted a pull on its consumer is
 * dropped: timeout. */
CONF_TEST(test_js2_5_fetch_after_stream_delete_times_out)
{
    ps_consumer *c = plain(f, 1);
    conf_ok(ps_stream_delete(f->b, "PL"));
    conf_fetch_none(c);
}
