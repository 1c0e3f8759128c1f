/* conf_ack_send.c — every acknowledgement a client can send (ps_ack_send):
 * a second ack, a nak or term after an ack, acks and naks of a stale
 * delivery, and what the server makes of each (docs/MODEL.md, JS 7.2-7.9).
 *
 * Not here: the client-side rule of ps_ack, which drops a second ack
 * before it is sent (conf_ack.c, JS 14.2).
 */
#include "conformance.h"

#define AW_MS 400

static ps_consumer *acks_consumer(conf_fixture *f, ps_ack_policy policy, int n)
{
    conf_stream(f, "AS", "as.>", PS_RETENTION_LIMITS);
    ps_consumer_config cc = {.durable = "C", .ack_policy = policy, .ack_wait_ns = AW_MS * CONF_MS};
    ps_consumer *c = conf_consumer(f, "AS", &cc);
    if (n > 0)
        conf_pub_n(f, "as.a", n);
    return c;
}

static void send_ok(ps_msg *m, ps_ack_kind kind)
{
    conf_ok(ps_ack_send(m, kind, 0));
}

/* JS 7.2, 7.9: a second +ACK is answered and changes nothing. */
CONF_TEST(test_js7_9_second_ack_is_answered_and_changes_nothing)
{
    ps_consumer *c = acks_consumer(f, PS_ACK_EXPLICIT, 2);
    ps_msg_list *l = conf_fetch(c, 2, 2);
    send_ok(l->msgs[0], PS_ACK);
    send_ok(l->msgs[0], PS_ACK);
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->ack_floor, 1, 1);
    assert_int_equal(ci->num_ack_pending, 1);
    send_ok(l->msgs[1], PS_ACK);
    send_ok(l->msgs[1], PS_ACK);
    conf_expect_pair(conf_cinfo(c)->ack_floor, 2, 2);
}

/* JS 7.6: a NAK of a message no longer pending is ignored: no redelivery,
 * no MSG_NAKED advisory. */
CONF_TEST(test_js7_6_nak_sent_after_ack_is_ignored)
{
    ps_consumer *c = acks_consumer(f, PS_ACK_EXPLICIT, 1);
    conf_adv_log *adv = conf_adv_capture(f);
    ps_msg *m = conf_fetch_one(c, 1, 1);
    send_ok(m, PS_ACK);
    send_ok(m, PS_NAK);
    conf_fetch_none(c);
    conf_expect_counts(c, 0, 0, 0);
    conf_settle(f);
    assert_int_equal(conf_adv_count(adv, PS_ADV_MSG_NAKED, NULL), 0);
}

/* JS 7.8: a TERM after an ACK changes nothing in the consumer, but the
 * server still sends the MSG_TERMINATED advisory (processTerm advises
 * whether or not the ack found the message pending). */
CONF_TEST(test_js7_8_term_sent_after_ack_still_advises)
{
    ps_consumer *c = acks_consumer(f, PS_ACK_EXPLICIT, 1);
    conf_adv_log *adv = conf_adv_capture(f);
    ps_msg *m = conf_fetch_one(c, 1, 1);
    send_ok(m, PS_ACK);
    send_ok(m, PS_TERM);
    conf_expect_pair(conf_cinfo(c)->ack_floor, 1, 1);
    conf_advance_ms(f, AW_MS + 2 * CONF_MARGIN_MS);
    conf_fetch_none(c);
    conf_settle(f);
    assert_int_equal(conf_adv_count(adv, PS_ADV_MSG_TERMINATED, "C"), 1);
}

/* JS 7.3, 7.9: after a NAK the same delivery's ACK is applied: the message
 * leaves the redelivery queue. */
CONF_TEST(test_js7_3_ack_sent_after_nak_cancels_the_redelivery)
{
    ps_consumer *c = acks_consumer(f, PS_ACK_EXPLICIT, 1);
    ps_msg *m = conf_fetch_one(c, 1, 1);
    send_ok(m, PS_NAK);
    send_ok(m, PS_ACK);
    conf_fetch_none(c);
    conf_expect_counts(c, 0, 0, 0);
}

/* JS 4.4, 7.9: an ACK from a delivery that was since redelivered acks the
 * message (acks are keyed by stream sequence). */
CONF_TEST(test_js7_9_ack_of_a_stale_delivery_acks_the_message)
{
    ps_consumer *c = acks_consumer(f, PS_ACK_EXPLICIT, 1);
    ps_msg *first = conf_fetch_one(c, 1, 1);
    conf_advance_ms(f, AW_MS + CONF_MARGIN_MS);
    conf_fetch_one(c, 1, 2);
    send_ok(first, PS_ACK);
    const ps_consumer_info *ci = conf_cinfo(c);
    assert_int_equal(ci->num_ack_pending, 0);
    conf_expect_pair(ci->ack_floor, 2, 1);
    conf_advance_ms(f, AW_MS + CONF_MARGIN_MS);
    conf_fetch_none(c);
}

/* JS 7.6: a NAK from a stale delivery still above the ack floor naks the
 * pending message: it comes back at once, a third time. */
CONF_TEST(test_js7_6_nak_of_a_stale_delivery_above_the_floor_redelivers)
{
    ps_consumer *c = acks_consumer(f, PS_ACK_EXPLICIT, 1);
    ps_msg *first = conf_fetch_one(c, 1, 1);
    conf_advance_ms(f, AW_MS + CONF_MARGIN_MS);
    conf_fetch_one(c, 1, 2);
    send_ok(first, PS_NAK);
    conf_fetch_one(c, 1, 3);
}

/* JS 7.4: with AckAll an ack at or below the floor is ignored, and a TERM
 * of an acked message does not move it. */
CONF_TEST(test_js7_4_ack_all_repeated_acks_below_the_floor_are_ignored)
{
    ps_consumer *c = acks_consumer(f, PS_ACK_ALL, 3);
    ps_msg_list *l = conf_fetch(c, 3, 3);
    send_ok(l->msgs[1], PS_ACK);
    conf_expect_pair(conf_cinfo(c)->ack_floor, 2, 2);
    send_ok(l->msgs[0], PS_ACK);
    send_ok(l->msgs[1], PS_TERM);
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->ack_floor, 2, 2);
    assert_int_equal(ci->num_ack_pending, 1);
}

/* JS 7.7: an in-progress for an acked message does nothing. */
CONF_TEST(test_js7_7_in_progress_after_ack_does_nothing)
{
    ps_consumer *c = acks_consumer(f, PS_ACK_EXPLICIT, 1);
    ps_msg *m = conf_fetch_one(c, 1, 1);
    send_ok(m, PS_ACK);
    send_ok(m, PS_IN_PROGRESS);
    conf_expect_counts(c, 0, 0, 0);
    conf_advance_ms(f, AW_MS + CONF_MARGIN_MS);
    conf_fetch_none(c);
}
