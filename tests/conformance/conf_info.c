/* conf_info.c — ConsumerInfo counters (docs/MODEL.md, JS 9).
 *
 * Not here: the config part of ConsumerInfo (conf_consumer.c) and the
 * positions set by deliver policies (conf_policy.c).
 */
#include "conformance.h"

static ps_consumer *info_consumer(conf_fixture *f, const ps_consumer_config *cc)
{
    conf_stream(f, "IN", "in.>", PS_RETENTION_LIMITS);
    return conf_consumer(f, "IN", cc);
}

static ps_consumer *durable(conf_fixture *f)
{
    ps_consumer_config cc = {.durable = "C"};
    return info_consumer(f, &cc);
}

/* JS 9: a fresh consumer has delivered nothing and waits for nothing. */
CONF_TEST(test_js9_fresh_consumer_counters)
{
    ps_consumer *c = durable(f);
    conf_pub_n(f, "in.a", 2);
    const ps_consumer_info *ci = conf_cinfo(c);
    assert_string_equal(ci->stream, "IN");
    assert_string_equal(ci->name, "C");
    conf_expect_pair(ci->delivered, 0, 0);
    conf_expect_pair(ci->ack_floor, 0, 0);
    assert_int_equal(ci->num_ack_pending, 0);
    assert_int_equal(ci->num_redelivered, 0);
    assert_int_equal(ci->num_waiting, 0);
    assert_int_equal(ci->num_pending, 2);
    assert_true(ci->created_ns > 0);
}

/* JS 9 (E:wqacks): delivered.consumer_seq counts redeliveries;
 * delivered.stream_seq is the highest seq scanned. */
CONF_TEST(test_js9_delivered_counts_every_delivery)
{
    ps_consumer *c = durable(f);
    conf_pub_n(f, "in.a", 2);
    ps_msg_list *l = conf_fetch(c, 2, 2);
    conf_ack(l->msgs[0], PS_NAK);
    conf_fetch_one(c, 1, 2);
    conf_expect_pair(conf_cinfo(c)->delivered, 3, 2);
}

/* JS 9: num_pending excludes delivered messages and is recomputed from the
 * store at each call. */
CONF_TEST(test_js9_num_pending_recomputed_from_store)
{
    ps_consumer *c = durable(f);
    conf_pub_n(f, "in.a", 5);
    conf_fetch(c, 2, 2);
    conf_expect_counts(c, 3, 2, 0);
    conf_pub(f, "in.a", "more");
    conf_expect_counts(c, 4, 2, 0);
    conf_ok(ps_msg_delete(f->b, "IN", 5, false));
    conf_expect_counts(c, 3, 2, 0);
}

/* JS 9: num_pending counts only messages matching the filter. */
CONF_TEST(test_js9_num_pending_respects_filter)
{
    ps_consumer_config cc = {.durable = "C", .filter_subject = "in.b"};
    ps_consumer *c = info_consumer(f, &cc);
    conf_pub(f, "in.a", "1");
    conf_pub(f, "in.b", "2");
    conf_pub(f, "in.a", "3");
    conf_pub(f, "in.b", "4");
    conf_expect_counts(c, 2, 0, 0);
    conf_fetch_one(c, 2, 1);
    conf_expect_counts(c, 1, 1, 0);
    conf_expect_pair(conf_cinfo(c)->delivered, 1, 2);
}

/* JS 9: num_redelivered counts distinct messages redelivered and not since
 * acked. */
CONF_TEST(test_js9_num_redelivered_counts_distinct_messages)
{
    ps_consumer *c = durable(f);
    conf_pub_n(f, "in.a", 2);
    ps_msg_list *l = conf_fetch(c, 2, 2);
    conf_ack(l->msgs[0], PS_NAK);
    conf_ack(conf_fetch_one(c, 1, 2), PS_NAK);
    ps_msg *third = conf_fetch_one(c, 1, 3);
    conf_expect_counts(c, 0, 2, 1);
    conf_ack(l->msgs[1], PS_NAK);
    conf_fetch_one(c, 2, 2);
    conf_expect_counts(c, 0, 2, 2);
    conf_ack(third, PS_ACK);
    conf_expect_counts(c, 0, 1, 1);
}

/* JS 9: num_ack_pending is what was delivered and not acked. */
CONF_TEST(test_js9_num_ack_pending_tracks_unacked)
{
    ps_consumer *c = durable(f);
    conf_pub_n(f, "in.a", 3);
    ps_msg_list *l = conf_fetch(c, 3, 3);
    conf_expect_counts(c, 0, 3, 0);
    conf_ack(l->msgs[1], PS_ACK);
    conf_ack(l->msgs[2], PS_TERM);
    conf_expect_counts(c, 0, 1, 0);
}

/* JS 9 / 5.5: info of a deleted consumer -> not found (10014). */
CONF_TEST(test_js9_info_of_deleted_consumer_not_found)
{
    ps_consumer *c = durable(f);
    conf_ok(ps_consumer_delete(f->b, "IN", "C"));
    ps_consumer_info ci = {0};
    conf_expect_error(ps_consumer_info_get(c, &ci), PS_ERR_CONSUMER_NOT_FOUND, 10014, NULL);
}
