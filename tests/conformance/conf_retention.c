/* conf_retention.c — what removes a message under each retention policy
 * (docs/MODEL.md, JS 4.1, 4.2, 4.4-4.6, 4.8).
 *
 * Not here: the WorkQueue consumer restrictions of 4.3 (conf_consumer.c)
 * and limits as upper bounds, 4.7 (conf_limits.c).
 */
#include "conformance.h"

#define ACK_WAIT_MS 300

static uint64_t msgs(conf_fixture *f, const char *stream)
{
    return conf_state(f, stream).msgs;
}

/* ---- §4.1 Limits ------------------------------------------------------------- */

/* JS 4.1: acks never remove messages from a Limits stream. */
CONF_TEST(test_js4_1_limits_ack_keeps_message)
{
    conf_stream(f, "LI", "li", PS_RETENTION_LIMITS);
    ps_consumer *c = conf_durable(f, "LI", "C", 0);
    conf_pub_n(f, "li", 2);
    conf_ack_all(conf_fetch(c, 2, 2), PS_ACK);
    conf_ack(conf_fetch_one(conf_durable(f, "LI", "D", 0), 1, 1), PS_TERM);
    assert_int_equal(msgs(f, "LI"), 2);
}

/* ---- §4.2 WorkQueue ----------------------------------------------------------- */

/* JS 4.2: +ACK removes the message. */
CONF_TEST(test_js4_2_workqueue_ack_removes_message)
{
    conf_stream(f, "WA", "wa", PS_RETENTION_WORKQUEUE);
    ps_consumer *c = conf_durable(f, "WA", "W", 0);
    conf_pub_n(f, "wa", 2);
    ps_msg_list *l = conf_fetch(c, 2, 2);
    conf_ack(l->msgs[0], PS_ACK);
    ps_stream_state st = conf_state(f, "WA");
    assert_int_equal(st.msgs, 1);
    assert_int_equal(st.first_seq, 2);
    conf_ack(l->msgs[1], PS_ACK);
    assert_int_equal(msgs(f, "WA"), 0);
}

/* JS 4.2: +TERM removes the message too. */
CONF_TEST(test_js4_2_workqueue_term_removes_message)
{
    conf_stream(f, "WT", "wt", PS_RETENTION_WORKQUEUE);
    ps_consumer *c = conf_durable(f, "WT", "W", 0);
    conf_pub(f, "wt", "x");
    conf_ack(conf_fetch_one(c, 1, 1), PS_TERM);
    assert_int_equal(msgs(f, "WT"), 0);
}

/* JS 4.2: NAK and WPI keep the message. */
CONF_TEST(test_js4_2_workqueue_nak_and_wpi_keep_message)
{
    conf_stream(f, "WN", "wn", PS_RETENTION_WORKQUEUE);
    ps_consumer *c = conf_durable(f, "WN", "W", 0);
    conf_pub(f, "wn", "x");
    conf_ack(conf_fetch_one(c, 1, 1), PS_NAK);
    assert_int_equal(msgs(f, "WN"), 1);
    conf_ack(conf_fetch_one(c, 1, 2), PS_IN_PROGRESS);
    assert_int_equal(msgs(f, "WN"), 1);
}

/* JS 4.2: ack-wait expiry keeps the message and it is redelivered. */
CONF_TEST(test_js4_2_workqueue_ack_wait_expiry_keeps_message)
{
    conf_stream(f, "WE", "we", PS_RETENTION_WORKQUEUE);
    ps_consumer *c = conf_durable(f, "WE", "W", ACK_WAIT_MS * CONF_MS);
    conf_pub(f, "we", "x");
    conf_fetch_one(c, 1, 1);
    conf_advance_ms(f, ACK_WAIT_MS + CONF_MARGIN_MS);
    assert_int_equal(msgs(f, "WE"), 1);
    conf_ack(conf_fetch_one(c, 1, 2), PS_ACK);
    assert_int_equal(msgs(f, "WE"), 0);
}

/* JS 4.2 / 6.7: MaxDeliver exhaustion keeps the message; a new consumer
 * receives it again. */
CONF_TEST(test_js4_2_workqueue_max_deliver_keeps_message)
{
    conf_stream(f, "WM", "wm", PS_RETENTION_WORKQUEUE);
    ps_consumer_config cc = {.durable = "W", .ack_wait_ns = ACK_WAIT_MS * CONF_MS,
                             .max_deliver = 1};
    ps_consumer *c = conf_consumer(f, "WM", &cc);
    conf_pub(f, "wm", "x");
    conf_fetch_one(c, 1, 1);
    conf_advance_ms(f, ACK_WAIT_MS + CONF_MARGIN_MS);
    conf_fetch_none(c); /* the redelivery attempt finds MaxDeliver reached */
    assert_int_equal(msgs(f, "WM"), 1);
    conf_ok(ps_consumer_delete(f->b, "WM", "W"));
    ps_consumer *d = conf_durable(f, "WM", "W2", 0);
    conf_fetch_one(d, 1, 1);
}

/* ---- §4.4 acks by stream sequence ------------------------------------------------- */

/* JS 4.4 (quirk): a late ack on the first delivery's reply, after the
 * message was redelivered, acks and removes it. */
CONF_TEST(test_js4_4_stale_ack_removes_redelivered_message)
{
    conf_stream(f, "WS", "ws", PS_RETENTION_WORKQUEUE);
    ps_consumer *c = conf_durable(f, "WS", "W", ACK_WAIT_MS * CONF_MS);
    conf_pub(f, "ws", "x");
    ps_msg *first = conf_fetch_one(c, 1, 1);
    conf_advance_ms(f, ACK_WAIT_MS + CONF_MARGIN_MS);
    conf_fetch_one(c, 1, 2);
    conf_ack(first, PS_ACK);
    assert_int_equal(msgs(f, "WS"), 0);
    conf_expect_counts(c, 0, 0, 0);
}

/* ---- §4.5 / 4.6 Interest ---------------------------------------------------------- */

/* JS 4.5: removed once every consumer that needs it has acked. */
CONF_TEST(test_js4_5_interest_removed_after_all_consumers_ack)
{
    conf_stream(f, "IA", "ia", PS_RETENTION_INTEREST);
    ps_consumer *c1 = conf_durable(f, "IA", "C1", 0);
    ps_consumer *c2 = conf_durable(f, "IA", "C2", 0);
    conf_pub(f, "ia", "x");
    conf_ack(conf_fetch_one(c1, 1, 1), PS_ACK);
    assert_int_equal(msgs(f, "IA"), 1);
    conf_ack(conf_fetch_one(c2, 1, 1), PS_ACK);
    assert_int_equal(msgs(f, "IA"), 0);
}

/* JS 4.5: deleting a consumer removes what nobody else needs. */
CONF_TEST(test_js4_5_interest_consumer_delete_removes_unneeded)
{
    conf_stream(f, "ID", "id.>", PS_RETENTION_INTEREST);
    ps_consumer *c1 = conf_durable(f, "ID", "C1", 0);
    conf_durable(f, "ID", "C2", 0);
    conf_pub(f, "id.a", "x");
    conf_pub(f, "id.b", "y");
    conf_ack(conf_fetch(c1, 1, 1)->msgs[0], PS_ACK);
    assert_int_equal(msgs(f, "ID"), 2);
    conf_ok(ps_consumer_delete(f->b, "ID", "C2"));
    ps_stream_state st = conf_state(f, "ID");
    assert_int_equal(st.msgs, 1); /* id.b is still needed by C1 */
    assert_int_equal(st.first_seq, 2);
}

/* JS 4.5: a message outside a consumer's filter is not needed by it. */
CONF_TEST(test_js4_5_interest_filtered_consumer_needs_only_matches)
{
    conf_stream(f, "IF", "if.>", PS_RETENTION_INTEREST);
    ps_consumer_config a = {.durable = "CA", .filter_subject = "if.a"};
    ps_consumer_config all = {.durable = "ALL"};
    conf_consumer(f, "IF", &a);
    ps_consumer *c = conf_consumer(f, "IF", &all);
    conf_pub(f, "if.a", "1");
    conf_pub(f, "if.b", "2");
    ps_msg_list *l = conf_fetch(c, 2, 2);
    conf_ack_all(l, PS_ACK);
    ps_stream_state st = conf_state(f, "IF");
    assert_int_equal(st.msgs, 1); /* if.a waits for CA */
    assert_int_equal(st.first_seq, 1);
}

/* JS 4.5: with AckNone the message counts as acked on delivery. */
CONF_TEST(test_js4_5_interest_ack_none_removes_on_delivery)
{
    conf_stream(f, "IN", "in", PS_RETENTION_INTEREST);
    ps_consumer_config cc = {.durable = "N", .ack_policy = PS_ACK_NONE};
    ps_consumer *c = conf_consumer(f, "IN", &cc);
    conf_pub(f, "in", "x");
    assert_int_equal(msgs(f, "IN"), 1);
    conf_fetch_one(c, 1, 1);
    assert_int_equal(msgs(f, "IN"), 0);
}

/* JS 4.6 / 3.11: no consumer at publish time: not stored, seq used. */
CONF_TEST(test_js4_6_interest_without_consumer_skips_sequence)
{
    conf_stream(f, "IS", "is", PS_RETENTION_INTEREST);
    assert_int_equal(conf_pub(f, "is", "lost"), 1);
    ps_stream_state st = conf_state(f, "IS");
    assert_int_equal(st.msgs, 0);
    assert_int_equal(st.first_seq, 2);
    assert_int_equal(st.last_seq, 1);
    ps_consumer *c = conf_durable(f, "IS", "C", 0);
    assert_int_equal(conf_pub(f, "is", "kept"), 2);
    assert_int_equal(msgs(f, "IS"), 1);
    conf_fetch_one(c, 2, 1);
}

/* JS 4.6: a consumer whose filter does not match gives no interest. */
CONF_TEST(test_js4_6_interest_non_matching_filter_skips_sequence)
{
    conf_stream(f, "IM", "im.>", PS_RETENTION_INTEREST);
    ps_consumer_config cc = {.durable = "A", .filter_subject = "im.a"};
    conf_consumer(f, "IM", &cc);
    assert_int_equal(conf_pub(f, "im.b", "lost"), 1);
    assert_int_equal(conf_pub(f, "im.a", "kept"), 2);
    ps_stream_state st = conf_state(f, "IM");
    assert_int_equal(st.msgs, 1);
    assert_int_equal(st.first_seq, 2);
    assert_int_equal(st.last_seq, 2);
}

/* ---- §4.8 removal of a pending message -------------------------------------------------- */

/* JS 4.8: a MaxMsgs eviction of a pending message acts as TERM for the
 * consumer holding it: no longer pending, never redelivered. */
CONF_TEST(test_js4_8_eviction_of_pending_message_acts_as_term)
{
    ps_stream_config s = {.name = "EV", CONF_SUBJ("ev"), .max_msgs = 1};
    conf_stream_cfg(f, &s);
    ps_consumer *c = conf_durable(f, "EV", "P", ACK_WAIT_MS * CONF_MS);
    conf_pub(f, "ev", "1");
    conf_fetch_one(c, 1, 1);
    conf_pub(f, "ev", "2"); /* evicts seq 1 */
    conf_expect_counts(c, 1, 0, 0);
    conf_advance_ms(f, ACK_WAIT_MS + CONF_MARGIN_MS);
    conf_fetch_one(c, 2, 1);
    conf_fetch_none(c);
}

/* JS 4.8: msg-delete of a pending message acts as TERM too. */
CONF_TEST(test_js4_8_delete_of_pending_message_acts_as_term)
{
    conf_stream(f, "DT", "dt", PS_RETENTION_LIMITS);
    ps_consumer *c = conf_durable(f, "DT", "P", ACK_WAIT_MS * CONF_MS);
    conf_pub_n(f, "dt", 2);
    conf_fetch(c, 2, 2);
    conf_ok(ps_msg_delete(f->b, "DT", 1, false));
    conf_expect_counts(c, 0, 1, 0);
    conf_advance_ms(f, ACK_WAIT_MS + CONF_MARGIN_MS);
    conf_fetch_one(c, 2, 2); /* only seq 2 comes back */
    conf_fetch_none(c);
}
