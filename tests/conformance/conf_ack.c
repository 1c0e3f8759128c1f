/* conf_ack.c — acknowledgements: the ack floor, AckAll, AckNone, NAK with
 * and without delay, WPI, TERM, acks keyed by stream seq, and the client's
 * ack idempotence (docs/MODEL.md, JS 7, 14.2).
 *
 * Not here: what acks remove from WorkQueue/Interest streams
 * (conf_retention.c).
 */
#include "conformance.h"

#define AW_MS 300

static ps_consumer *setup_consumer(conf_fixture *f, const ps_consumer_config *cc, int n)
{
    conf_stream(f, "AK", "ak.>", PS_RETENTION_LIMITS);
    ps_consumer *c = conf_consumer(f, "AK", cc);
    if (n > 0)
        conf_pub_n(f, "ak.a", n);
    return c;
}

static ps_consumer *explicit_consumer(conf_fixture *f, int64_t ack_wait_ms, int n)
{
    ps_consumer_config cc = {.durable = "C", .ack_wait_ns = ack_wait_ms * CONF_MS};
    return setup_consumer(f, &cc, n);
}

/* ---- §7.3 +ACK with AckExplicit ----------------------------------------------------- */

/* JS 7.3: the floor moves only over a contiguous prefix of acks; when
 * pending empties it jumps to everything delivered. */
CONF_TEST(test_js7_3_ack_floor_moves_over_contiguous_acks)
{
    ps_consumer *c = explicit_consumer(f, 0, 3);
    ps_msg_list *l = conf_fetch(c, 3, 3);
    conf_ack(l->msgs[1], PS_ACK);
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->ack_floor, 0, 0);
    assert_int_equal(ci->num_ack_pending, 2);
    conf_ack(l->msgs[0], PS_ACK);
    conf_expect_pair(conf_cinfo(c)->ack_floor, 2, 2);
    conf_ack(l->msgs[2], PS_ACK);
    ci = conf_cinfo(c);
    conf_expect_pair(ci->ack_floor, 3, 3);
    conf_expect_pair(ci->delivered, 3, 3);
    assert_int_equal(ci->num_ack_pending, 0);
}

/* JS 7.3 / 6.7: a max-delivered message holds the floor until a later ack
 * empties pending; then the floor is (dseq-1, sseq-1). */
CONF_TEST(test_js7_3_floor_jumps_when_pending_empties)
{
    ps_consumer_config cc = {.durable = "C", .max_deliver = 1};
    ps_consumer *c = setup_consumer(f, &cc, 2);
    ps_msg_list *l = conf_fetch(c, 2, 2);
    conf_ack(l->msgs[0], PS_NAK);
    conf_fetch_none(c); /* seq 1 reaches MaxDeliver here */
    conf_expect_pair(conf_cinfo(c)->ack_floor, 0, 0);
    conf_ack(l->msgs[1], PS_ACK);
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->ack_floor, 2, 2);
    assert_int_equal(ci->num_ack_pending, 0);
}

/* JS 7.9 / 14.2: acking twice is harmless. */
CONF_TEST(test_js7_9_double_ack_is_harmless)
{
    ps_consumer *c = explicit_consumer(f, 0, 2);
    ps_msg_list *l = conf_fetch(c, 2, 2);
    conf_ack(l->msgs[0], PS_ACK);
    conf_ack(l->msgs[0], PS_ACK);
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->ack_floor, 1, 1);
    assert_int_equal(ci->num_ack_pending, 1);
}

/* JS 7.9 / 4.4: a late ack from a superseded delivery acks the current
 * one: nothing is redelivered afterwards. */
CONF_TEST(test_js7_9_late_ack_of_superseded_delivery_acks_current)
{
    ps_consumer *c = explicit_consumer(f, AW_MS, 1);
    ps_msg *first = conf_fetch_one(c, 1, 1);
    conf_advance_ms(f, AW_MS + CONF_MARGIN_MS);
    conf_fetch_one(c, 1, 2);
    conf_ack(first, PS_ACK);
    conf_expect_counts(c, 0, 0, 0);
    conf_advance_ms(f, AW_MS + CONF_MARGIN_MS);
    conf_fetch_none(c);
}

/* ---- §7.4 AckAll, §7.5 AckNone ------------------------------------------------------ */

/* JS 7.4 example: acking #3 of 4 acks 1-3, floor (3,3); only #4 is
 * redelivered. */
CONF_TEST(test_js7_4_ack_all_acks_everything_below)
{
    ps_consumer_config cc = {.durable = "C", .ack_policy = PS_ACK_ALL,
                             .ack_wait_ns = AW_MS * CONF_MS};
    ps_consumer *c = setup_consumer(f, &cc, 4);
    ps_msg_list *l = conf_fetch(c, 4, 4);
    conf_ack(l->msgs[2], PS_ACK);
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->ack_floor, 3, 3);
    assert_int_equal(ci->num_ack_pending, 1);
    conf_advance_ms(f, AW_MS + CONF_MARGIN_MS);
    conf_fetch_one(c, 4, 2);
    conf_fetch_none(c);
}

/* JS 7.4: acks at or below the floor are ignored. */
CONF_TEST(test_js7_4_ack_all_below_floor_ignored)
{
    ps_consumer_config cc = {.durable = "C", .ack_policy = PS_ACK_ALL};
    ps_consumer *c = setup_consumer(f, &cc, 4);
    ps_msg_list *l = conf_fetch(c, 4, 4);
    conf_ack(l->msgs[2], PS_ACK);
    conf_ack(l->msgs[0], PS_ACK);
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->ack_floor, 3, 3);
    assert_int_equal(ci->num_ack_pending, 1);
}

/* JS 7.5 example: with AckNone the floor moves on delivery, (4,4) at
 * once; nothing is pending or redelivered, acks are ignored. */
CONF_TEST(test_js7_5_ack_none_floor_moves_on_delivery)
{
    ps_consumer_config cc = {.durable = "C", .ack_policy = PS_ACK_NONE};
    ps_consumer *c = setup_consumer(f, &cc, 4);
    ps_msg_list *l = conf_fetch(c, 4, 4);
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->ack_floor, 4, 4);
    assert_int_equal(ci->num_ack_pending, 0);
    conf_ack(l->msgs[0], PS_NAK);
    conf_fetch_none(c);
}

/* ---- §7.6 NAK ------------------------------------------------------------------------- */

/* JS 7.6: NAK with a delay shorter than AckWait redelivers at ~now+delay. */
CONF_TEST(test_js7_6_nak_delay_shorter_than_ack_wait)
{
    ps_consumer *c = explicit_consumer(f, 1000, 1);
    conf_nak_delay(conf_fetch_one(c, 1, 1), 300 * CONF_MS);
    conf_fetch_none(c); /* a delayed NAK is not an immediate redelivery */
    conf_advance_ms(f, 300 - 2 * CONF_MARGIN_MS);
    conf_fetch_none(c);
    conf_advance_ms(f, 3 * CONF_MARGIN_MS);
    conf_fetch_one(c, 1, 2);
}

/* JS 7.6: NAK with a delay longer than AckWait holds the message past
 * AckWait. */
CONF_TEST(test_js7_6_nak_delay_longer_than_ack_wait)
{
    ps_consumer *c = explicit_consumer(f, AW_MS, 1);
    conf_nak_delay(conf_fetch_one(c, 1, 1), 600 * CONF_MS);
    conf_advance_ms(f, 600 - 2 * CONF_MARGIN_MS); /* well past AckWait */
    conf_fetch_none(c);
    conf_advance_ms(f, 3 * CONF_MARGIN_MS);
    conf_fetch_one(c, 1, 2);
}

/* JS 7.6: with BackOff the delayed redelivery comes after
 * d + BackOff[min(rdc, len-1)] - BackOff[0]. Code-derived, not measured
 * on the server: BackOff [200ms, 600ms], second delivery (rdc 1),
 * d = 300ms gives 700 ms. */
CONF_TEST(test_js7_6_nak_delay_with_backoff)
{
    static const int64_t backoff[] = {200 * CONF_MS, 600 * CONF_MS};
    ps_consumer_config cc = {.durable = "C", .backoff_ns = backoff, .backoff_len = 2,
                             .max_deliver = 5};
    ps_consumer *c = setup_consumer(f, &cc, 1);
    conf_ack(conf_fetch_one(c, 1, 1), PS_NAK);
    conf_nak_delay(conf_fetch_one(c, 1, 2), 300 * CONF_MS);
    conf_advance_ms(f, 700 - 2 * CONF_MARGIN_MS);
    conf_fetch_none(c);
    conf_advance_ms(f, 3 * CONF_MARGIN_MS);
    conf_fetch_one(c, 1, 3);
}

/* JS 7.6: a NAK for a delivery below the ack floor is ignored. */
CONF_TEST(test_js7_6_nak_of_acked_delivery_ignored)
{
    ps_consumer *c = explicit_consumer(f, AW_MS, 1);
    conf_adv_log *adv = conf_adv_capture(f);
    ps_msg *first = conf_fetch_one(c, 1, 1);
    conf_advance_ms(f, AW_MS + CONF_MARGIN_MS);
    conf_ack(conf_fetch_one(c, 1, 2), PS_ACK);
    conf_ack(first, PS_NAK);
    conf_fetch_none(c);
    conf_settle(f);
    assert_int_equal(conf_adv_count(adv, PS_ADV_MSG_NAKED, NULL), 0);
}

/* ---- §7.7 WPI, §7.8 TERM ------------------------------------------------------------------ */

/* JS 7.7: WPI restarts the full AckWait and is not a delivery. */
CONF_TEST(test_js7_7_in_progress_restarts_ack_wait)
{
    ps_consumer *c = explicit_consumer(f, 400, 1);
    ps_msg *m = conf_fetch_one(c, 1, 1);
    conf_advance_ms(f, 300);
    conf_ack(m, PS_IN_PROGRESS);
    conf_advance_ms(f, 400 - 2 * CONF_MARGIN_MS); /* 580 ms: past the first deadline */
    conf_fetch_none(c);
    conf_advance_ms(f, 3 * CONF_MARGIN_MS);
    ps_msg *again = conf_fetch_one(c, 1, 2);
    assert_int_equal(again->meta.consumer_seq, 2);
}

/* JS 7.7 / 14.2: WPI can repeat indefinitely, and an ack after it still
 * counts. */
CONF_TEST(test_js7_7_in_progress_repeats_then_ack_counts)
{
    ps_consumer *c = explicit_consumer(f, AW_MS, 1);
    ps_msg *m = conf_fetch_one(c, 1, 1);
    for (int i = 0; i < 3; i++) {
        conf_advance_ms(f, 200);
        conf_ack(m, PS_IN_PROGRESS);
    }
    conf_fetch_none(c); /* 600 ms after delivery, 0 after the last WPI */
    conf_ack(m, PS_ACK);
    conf_expect_counts(c, 0, 0, 0);
    conf_advance_ms(f, AW_MS + CONF_MARGIN_MS);
    conf_fetch_none(c);
}

/* JS 7.8: TERM acks (floor moves, no redelivery) but keeps the message on
 * a Limits stream. */
CONF_TEST(test_js7_8_term_stops_redelivery)
{
    ps_consumer *c = explicit_consumer(f, AW_MS, 1);
    conf_ack(conf_fetch_one(c, 1, 1), PS_TERM);
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->ack_floor, 1, 1);
    assert_int_equal(ci->num_ack_pending, 0);
    conf_advance_ms(f, AW_MS + CONF_MARGIN_MS);
    conf_fetch_none(c);
    assert_int_equal(conf_state(f, "AK").msgs, 1);
}

/* ---- §14.2 client-side ack idempotence ------------------------------------------------------ */

/* JS 14.2: after a NAK the message object ignores a later ACK (a local
 * no-op returning OK), so the NAK stands and the message comes back. */
CONF_TEST(test_js14_2_ack_after_nak_on_same_message_is_noop)
{
    ps_consumer *c = explicit_consumer(f, 0, 1);
    ps_msg *m = conf_fetch_one(c, 1, 1);
    conf_ack(m, PS_NAK);
    conf_ack(m, PS_ACK);
    conf_fetch_one(c, 1, 2);
}

/* JS 14.2: a second TERM/ACK on an acked message does nothing and is OK;
 * the consumer state is unchanged. */
CONF_TEST(test_js14_2_nak_after_ack_on_same_message_is_noop)
{
    ps_consumer *c = explicit_consumer(f, 0, 1);
    ps_msg *m = conf_fetch_one(c, 1, 1);
    conf_ack(m, PS_ACK);
    conf_ack(m, PS_NAK);
    conf_ack(m, PS_TERM);
    conf_fetch_none(c);
    conf_expect_counts(c, 0, 0, 0);
}
