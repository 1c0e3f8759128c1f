/* conf_delivery.c — the delivery engine: metadata, redelivery order,
 * ack-wait and BackOff timing, lazy MaxDeliver, MaxAckPending, competing
 * pullers (docs/MODEL.md, JS 6.3-6.12, 12).
 *
 * Timing: every deadline is checked twice, "not yet" CONF_MARGIN_MS before
 * it with a short fetch, and "now" CONF_MARGIN_MS after it, so the same
 * test holds on the manual clock and on a real server.
 *
 * Not here: what acks do (conf_ack.c), pull statuses (conf_pull.c).
 */
#include "conformance.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define AW_MS 300 /* AckWait of the timing tests */

static ps_consumer *stream_and_consumer(conf_fixture *f, const ps_consumer_config *cc)
{
    conf_stream(f, "DE", "de.>", PS_RETENTION_LIMITS);
    return conf_consumer(f, "DE", cc);
}

static ps_consumer *stream_and_durable(conf_fixture *f, int64_t ack_wait_ms)
{
    ps_consumer_config cc = {.durable = "C", .ack_wait_ns = ack_wait_ms * CONF_MS};
    return stream_and_consumer(f, &cc);
}

/* ---- §6.9 / 6.10 what a delivery carries ------------------------------------------ */

/* JS 6.9 / 6.10: first-delivery metadata; ts is the store timestamp. */
CONF_TEST(test_js6_9_first_delivery_metadata)
{
    ps_consumer *c = stream_and_durable(f, 0);
    conf_pub_n(f, "de.a", 3);
    ps_msg *m = conf_fetch_one(c, 1, 1);
    assert_string_equal(m->subject, "de.a");
    assert_int_equal(m->len, 2);
    assert_memory_equal(m->data, "m1", 2);
    assert_string_equal(m->meta.stream, "DE");
    assert_string_equal(m->meta.consumer, "C");
    assert_int_equal(m->meta.consumer_seq, 1);
    assert_int_equal(m->meta.num_pending, 2);
    assert_int_equal(m->meta.timestamp_ns, conf_msg_get(f, "DE", 1, NULL)->timestamp_ns);
}

/* JS 6.10: the reply subject is the 9-token v1 ack subject
 * $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>. */
CONF_TEST(test_js6_10_reply_is_v1_ack_subject)
{
    ps_consumer *c = stream_and_durable(f, 0);
    conf_pub_n(f, "de.a", 2);
    ps_msg *m = conf_fetch_one(c, 1, 1);
    const char *reply = ps_msg_reply(m);
    char want[128];
    snprintf(want, sizeof want, "$JS.ACK.DE.C.1.1.1.%" PRId64 ".1", m->meta.timestamp_ns);
    assert_string_equal(reply, want);
    char scratch[256];
    ps_msg_meta md;
    conf_ok(ps_ack_subject_parse(reply, &md, scratch, sizeof scratch));
    assert_int_equal(md.stream_seq, 1);
    assert_int_equal(md.num_pending, 1);
}

/* JS 6.9: dseq counts every delivery; ts stays the store timestamp. */
CONF_TEST(test_js6_9_consumer_seq_counts_redeliveries)
{
    ps_consumer *c = stream_and_durable(f, 0);
    conf_pub_n(f, "de.a", 2);
    ps_msg_list *l = conf_fetch(c, 2, 2);
    conf_ack(l->msgs[0], PS_NAK);
    conf_advance_ms(f, 10);
    ps_msg *again = conf_fetch_one(c, 1, 2);
    assert_int_equal(again->meta.consumer_seq, 3);
    assert_int_equal(again->meta.timestamp_ns, l->msgs[0]->meta.timestamp_ns);
}

/* JS 6.10: the pending count in the metadata excludes redeliveries. */
CONF_TEST(test_js6_10_metadata_pending_excludes_redeliveries)
{
    ps_consumer *c = stream_and_durable(f, 0);
    conf_pub_n(f, "de.a", 3);
    conf_ack(conf_fetch_one(c, 1, 1), PS_NAK);
    ps_msg *m = conf_fetch_one(c, 1, 2);
    assert_int_equal(m->meta.num_pending, 2);
    m = conf_fetch_one(c, 2, 1);
    assert_int_equal(m->meta.num_pending, 1);
}

/* ---- §6.3 / 6.4 choosing the next message ---------------------------------------------- */

/* JS 6.4: a NAK'd message comes back before new messages. */
CONF_TEST(test_js6_4_nak_redelivered_before_new_messages)
{
    ps_consumer *c = stream_and_durable(f, 0);
    conf_pub_n(f, "de.a", 3);
    ps_msg_list *l = conf_fetch(c, 2, 2);
    conf_ack(l->msgs[1], PS_NAK);
    l = CONF_FETCH_SEQS(c, 2, 2, 3);
    assert_int_equal(l->msgs[0]->meta.num_delivered, 2);
    assert_int_equal(l->msgs[1]->meta.num_delivered, 1);
}

/* JS 6.4 example: NAK m4 then m1: m4 comes first (FIFO, not seq order). */
CONF_TEST(test_js6_4_naks_redelivered_in_fifo_order)
{
    ps_consumer *c = stream_and_durable(f, 0);
    conf_pub_n(f, "de.a", 5);
    ps_msg_list *l = conf_fetch(c, 4, 4);
    conf_ack(l->msgs[3], PS_NAK);
    conf_ack(l->msgs[0], PS_NAK);
    CONF_FETCH_SEQS(c, 3, 4, 1, 5);
}

/* JS 6.4 example: expiries of different timer runs come out in expiry
 * order: m4 (expired at 300 ms) before m3 (WPI at 150 ms, expired at
 * 450 ms); both before the new m5. */
CONF_TEST(test_js6_4_expiries_redelivered_in_expiry_order)
{
    ps_consumer *c = stream_and_durable(f, AW_MS);
    conf_pub_n(f, "de.a", 5);
    ps_msg_list *l = conf_fetch(c, 4, 4);
    conf_ack(l->msgs[0], PS_ACK);
    conf_ack(l->msgs[1], PS_ACK);
    conf_advance_ms(f, 150);
    conf_ack(l->msgs[2], PS_IN_PROGRESS);
    conf_advance_ms(f, AW_MS - 150 + CONF_MARGIN_MS); /* m4 expired, m3 not */
    conf_advance_ms(f, 150);                           /* m3 expired too */
    CONF_FETCH_SEQS(c, 3, 4, 3, 5);
}

/* ---- §6.5 / 6.6 ack wait and BackOff --------------------------------------------------- */

/* JS 6.5: redelivery once AckWait has passed, not before. */
CONF_TEST(test_js6_5_redelivery_after_ack_wait)
{
    ps_consumer *c = stream_and_durable(f, AW_MS);
    conf_pub(f, "de.a", "x");
    conf_fetch_one(c, 1, 1);
    conf_advance_ms(f, AW_MS - 2 * CONF_MARGIN_MS);
    conf_fetch_none(c);
    conf_advance_ms(f, 3 * CONF_MARGIN_MS);
    conf_fetch_one(c, 1, 2);
}

/* JS 6.5: an expired message stays in NumAckPending until redelivered. */
CONF_TEST(test_js6_5_expired_message_stays_pending_until_redelivered)
{
    ps_consumer *c = stream_and_durable(f, AW_MS);
    conf_pub(f, "de.a", "x");
    conf_fetch_one(c, 1, 1);
    conf_advance_ms(f, AW_MS + CONF_MARGIN_MS);
    conf_expect_counts(c, 0, 1, 0);
    conf_fetch_one(c, 1, 2);
    conf_expect_counts(c, 0, 1, 1);
}

/* JS 6.5: redelivery restarts the wait from the redelivery. */
CONF_TEST(test_js6_5_redelivery_resets_the_wait)
{
    ps_consumer *c = stream_and_durable(f, AW_MS);
    conf_pub(f, "de.a", "x");
    conf_fetch_one(c, 1, 1);
    conf_advance_ms(f, AW_MS + CONF_MARGIN_MS);
    conf_fetch_one(c, 1, 2);
    conf_advance_ms(f, AW_MS - 2 * CONF_MARGIN_MS);
    conf_fetch_none(c);
    conf_advance_ms(f, 3 * CONF_MARGIN_MS);
    conf_fetch_one(c, 1, 3);
}

/* JS 6.6: with BackOff [300ms, 600ms] delivery k+1 comes
 * BackOff[min(k-1, 1)] after delivery k; MaxDeliver 4. */
CONF_TEST(test_js6_6_backoff_timeline)
{
    static const int64_t backoff[] = {300 * CONF_MS, 600 * CONF_MS};
    ps_consumer_config cc = {.durable = "C", .backoff_ns = backoff, .backoff_len = 2,
                             .max_deliver = 4};
    ps_consumer *c = stream_and_consumer(f, &cc);
    conf_pub(f, "de.a", "x");
    conf_fetch_one(c, 1, 1);
    static const int64_t step_ms[] = {300, 600, 600};
    for (int k = 0; k < 3; k++) {
        conf_advance_ms(f, step_ms[k] - 2 * CONF_MARGIN_MS);
        conf_fetch_none(c);
        conf_advance_ms(f, 3 * CONF_MARGIN_MS);
        conf_fetch_one(c, 1, (uint64_t)k + 2);
    }
}

/* ---- §6.7 MaxDeliver ----------------------------------------------------------------- */

/* JS 6.7: exhaustion is noticed only at the next redelivery attempt;
 * then the message leaves pending, stays counted in NumRedelivered, and
 * the ack floor does not move. */
CONF_TEST(test_js6_7_max_deliver_exhaustion_is_lazy)
{
    ps_consumer_config cc = {.durable = "C", .max_deliver = 2};
    ps_consumer *c = stream_and_consumer(f, &cc);
    conf_adv_log *adv = conf_adv_capture(f);
    conf_pub(f, "de.a", "x");
    conf_ack(conf_fetch_one(c, 1, 1), PS_NAK);
    conf_ack(conf_fetch_one(c, 1, 2), PS_NAK);
    conf_settle(f);
    conf_expect_counts(c, 0, 1, 1);
    assert_int_equal(conf_adv_count(adv, PS_ADV_MAX_DELIVERIES, NULL), 0);
    conf_fetch_none(c);
    conf_settle(f);
    conf_expect_counts(c, 0, 0, 1);
    conf_expect_pair(conf_cinfo(c)->ack_floor, 0, 0);
    assert_int_equal(conf_adv_count(adv, PS_ADV_MAX_DELIVERIES, "C"), 1);
    const conf_adv *a = conf_adv_find(adv, PS_ADV_MAX_DELIVERIES, 0);
    assert_int_equal(a->deliveries, 2);
    assert_int_equal(a->stream_seq, 1);
}

/* JS 6.7: a max-delivered message is never redelivered; new messages
 * still flow. */
CONF_TEST(test_js6_7_max_delivered_message_not_redelivered)
{
    ps_consumer_config cc = {.durable = "C", .max_deliver = 1, .ack_wait_ns = AW_MS * CONF_MS};
    ps_consumer *c = stream_and_consumer(f, &cc);
    conf_pub(f, "de.a", "x");
    conf_fetch_one(c, 1, 1);
    conf_advance_ms(f, AW_MS + CONF_MARGIN_MS);
    conf_fetch_none(c);
    conf_pub(f, "de.a", "y");
    conf_ack(conf_fetch_one(c, 2, 1), PS_ACK);
    conf_advance_ms(f, AW_MS + CONF_MARGIN_MS);
    conf_fetch_none(c);
}

/* ---- §6.8 MaxAckPending ----------------------------------------------------------------- */

/* JS 6.8: MaxAckPending stops new deliveries without an error status; an
 * ack lets one more through. */
CONF_TEST(test_js6_8_max_ack_pending_stalls_without_error)
{
    ps_consumer_config cc = {.durable = "C", .max_ack_pending = 2};
    ps_consumer *c = stream_and_consumer(f, &cc);
    conf_pub_n(f, "de.a", 5);
    ps_msg_list *l = CONF_FETCH_SEQS(c, 5, 1, 2);
    conf_fetch_none(c);
    conf_expect_counts(c, 3, 2, 0);
    conf_ack(l->msgs[0], PS_ACK);
    conf_fetch_one(c, 3, 1);
    conf_fetch_none(c);
}

/* JS 6.3: redeliveries are not blocked by MaxAckPending. */
CONF_TEST(test_js6_3_redeliveries_ignore_max_ack_pending)
{
    ps_consumer_config cc = {.durable = "C", .max_ack_pending = 1};
    ps_consumer *c = stream_and_consumer(f, &cc);
    conf_pub_n(f, "de.a", 2);
    conf_ack(conf_fetch_one(c, 1, 1), PS_NAK);
    conf_fetch_one(c, 1, 2);
}

/* ---- §6.12, §12 -------------------------------------------------------------------------- */

/* JS 6.12: HeadersOnly strips the payload and adds Nats-Msg-Size. */
CONF_TEST(test_js6_12_headers_only_sends_size_header)
{
    ps_consumer_config cc = {.durable = "C", .headers_only = true};
    ps_consumer *c = stream_and_consumer(f, &cc);
    conf_pub(f, "de.a", "hello");
    ps_msg *m = conf_fetch_one(c, 1, 1);
    assert_int_equal(m->len, 0);
    const char *size = ps_msg_header(m, "Nats-Msg-Size");
    assert_non_null(size);
    assert_string_equal(size, "5");
}

/* JS 12.1: a filtered consumer gets its matches in seq order. */
CONF_TEST(test_js12_1_filtered_first_deliveries_in_seq_order)
{
    ps_consumer_config cc = {.durable = "C", .filter_subject = "de.a"};
    ps_consumer *c = stream_and_consumer(f, &cc);
    const char *subjects[] = {"de.a", "de.b", "de.a", "de.b", "de.a"};
    for (int i = 0; i < 5; i++)
        conf_pub(f, subjects[i], "x");
    assert_int_equal(conf_cinfo(c)->num_pending, 3);
    CONF_FETCH_SEQS(c, 3, 1, 3, 5);
}

/* JS 12.3: two handles on one durable get disjoint messages. */
CONF_TEST(test_js12_3_competing_pullers_get_disjoint_messages)
{
    ps_consumer *c1 = stream_and_durable(f, 0);
    ps_consumer *c2 = conf_bind(f, "DE", "C");
    conf_pub_n(f, "de.a", 6);
    CONF_FETCH_SEQS(c1, 3, 1, 2, 3);
    CONF_FETCH_SEQS(c2, 3, 4, 5, 6);
    conf_fetch_none(c1);
    conf_expect_counts(c2, 0, 6, 0);
}
