/* conf_policy.c — where a new consumer starts: the deliver policies and
 * the initial ack floor (docs/MODEL.md, JS 6.2, with its examples).
 *
 * Not here: the validation of deliver-policy fields (conf_consumer.c).
 */
#include "conformance.h"

/* Four messages on "dp.a" in stream "DP". */
static void four_messages(conf_fixture *f)
{
    conf_stream(f, "DP", "dp.>", PS_RETENTION_LIMITS);
    conf_pub_n(f, "dp.a", 4);
}

static ps_consumer *with_policy(conf_fixture *f, ps_deliver_policy p, uint64_t start_seq)
{
    ps_consumer_config cc = {.durable = "C", .deliver_policy = p, .opt_start_seq = start_seq};
    return conf_consumer(f, "DP", &cc);
}

/* JS 6.2: DeliverAll starts at first_seq; nothing delivered yet. */
CONF_TEST(test_js6_2_deliver_all_starts_at_first)
{
    four_messages(f);
    ps_consumer *c = with_policy(f, PS_DELIVER_ALL, 0);
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->delivered, 0, 0);
    conf_expect_pair(ci->ack_floor, 0, 0);
    assert_int_equal(ci->num_pending, 4);
    CONF_FETCH_SEQS(c, 4, 1, 2, 3, 4);
}

/* JS 6.2 example: DeliverLast on 4 messages gives delivered.stream = 3.
 * The ack floor reads (0,0) until the first ack (nats-server 2.9.10; the
 * JS 6.2 example's (0,3) is not what the server reports). */
CONF_TEST(test_js6_2_deliver_last_starts_at_last)
{
    four_messages(f);
    ps_consumer *c = with_policy(f, PS_DELIVER_LAST, 0);
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->delivered, 0, 3);
    conf_expect_pair(ci->ack_floor, 0, 0);
    assert_int_equal(ci->num_pending, 1);
    conf_fetch_one(c, 4, 1);
}

/* JS 6.2: DeliverLast with a filter starts at the last matching message. */
CONF_TEST(test_js6_2_deliver_last_with_filter_uses_last_match)
{
    conf_stream(f, "DP", "dp.>", PS_RETENTION_LIMITS);
    conf_pub(f, "dp.a", "1");
    conf_pub(f, "dp.a", "2");
    conf_pub(f, "dp.b", "3");
    ps_consumer_config cc = {.durable = "C", .deliver_policy = PS_DELIVER_LAST,
                             .filter_subject = "dp.a"};
    ps_consumer *c = conf_consumer(f, "DP", &cc);
    conf_expect_pair(conf_cinfo(c)->delivered, 0, 1);
    conf_fetch_one(c, 2, 1);
    conf_fetch_none(c);
}

/* JS 6.2 example: DeliverNew gives delivered.stream = 4 and only new
 * messages. */
CONF_TEST(test_js6_2_deliver_new_skips_existing)
{
    four_messages(f);
    ps_consumer *c = with_policy(f, PS_DELIVER_NEW, 0);
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->delivered, 0, 4);
    assert_int_equal(ci->num_pending, 0);
    conf_fetch_none(c);
    conf_pub(f, "dp.a", "new");
    conf_fetch_one(c, 5, 1);
}

/* JS 6.2: ByStartSequence starts at OptStartSeq. */
CONF_TEST(test_js6_2_by_start_seq_starts_there)
{
    four_messages(f);
    ps_consumer *c = with_policy(f, PS_DELIVER_BY_START_SEQ, 3);
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->delivered, 0, 2);
    assert_int_equal(ci->num_pending, 2);
    CONF_FETCH_SEQS(c, 2, 3, 4);
}

/* JS 6.2 example: OptStartSeq 99 is clamped to last+1: delivered.stream 4,
 * num_pending 0. */
CONF_TEST(test_js6_2_by_start_seq_beyond_last_is_clamped)
{
    four_messages(f);
    ps_consumer *c = with_policy(f, PS_DELIVER_BY_START_SEQ, 99);
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->delivered, 0, 4);
    assert_int_equal(ci->num_pending, 0);
    conf_pub(f, "dp.a", "next");
    conf_fetch_one(c, 5, 1);
}

/* JS 6.2: ByStartSequence below first_seq is clamped up to first_seq. */
CONF_TEST(test_js6_2_by_start_seq_below_first_is_clamped)
{
    four_messages(f);
    ps_purge_opts po = {.seq = 3};
    conf_ok(ps_stream_purge(f->b, "DP", &po, NULL));
    ps_consumer *c = with_policy(f, PS_DELIVER_BY_START_SEQ, 1);
    conf_expect_pair(conf_cinfo(c)->delivered, 0, 2);
    CONF_FETCH_SEQS(c, 2, 3, 4);
}

/* JS 6.2: ByStartTime starts at the first message with ts >= OptStartTime
 * (the time is taken from a stored message, so no clock is read). */
CONF_TEST(test_js6_2_by_start_time_starts_at_first_newer)
{
    conf_stream(f, "DP", "dp.>", PS_RETENTION_LIMITS);
    conf_pub_n(f, "dp.a", 2);
    conf_advance_ms(f, 50);
    conf_pub_n(f, "dp.a", 2);
    ps_consumer_config cc = {.durable = "C", .deliver_policy = PS_DELIVER_BY_START_TIME,
                             .opt_start_time_ns = conf_msg_get(f, "DP", 3, NULL)->timestamp_ns};
    ps_consumer *c = conf_consumer(f, "DP", &cc);
    conf_expect_pair(conf_cinfo(c)->delivered, 0, 2);
    CONF_FETCH_SEQS(c, 2, 3, 4);
}

/* JS 6.2: a start time early in its second (fraction .010000000) is
 * honoured to the nanosecond. cnats 3.4.1 would send it as .10000000, 90 ms
 * late, and the consumer would start past message 3; the JetStream backend
 * creates such consumers itself. */
CONF_TEST(test_js6_2_by_start_time_early_in_the_second)
{
    conf_stream(f, "DP", "dp.>", PS_RETENTION_LIMITS);
    conf_pub_n(f, "dp.a", 2);
    int64_t now = ps_clock_now(f->clock);
    int64_t boundary = now - now % PS_NS_PER_SEC + PS_NS_PER_SEC;
    conf_advance_ms(f, (boundary - now) / CONF_MS + 50); /* 50 ms into the next second */
    conf_pub_n(f, "dp.a", 2);
    ps_consumer_config cc = {.durable = "C", .deliver_policy = PS_DELIVER_BY_START_TIME,
                             .opt_start_time_ns = boundary + 10 * CONF_MS};
    ps_consumer *c = conf_consumer(f, "DP", &cc);
    conf_expect_pair(conf_cinfo(c)->delivered, 0, 2);
    CONF_FETCH_SEQS(c, 2, 3, 4);
}

/* JS 6.2 / 9: LastPerSubject delivers the last message of each matching
 * subject in seq order, then continues with new messages; num_pending
 * counts subjects whose last seq is still ahead. */
CONF_TEST(test_js6_2_last_per_subject_then_new)
{
    conf_stream(f, "DP", "dp.>", PS_RETENTION_LIMITS);
    conf_pub(f, "dp.a", "1");
    conf_pub(f, "dp.b", "2");
    conf_pub(f, "dp.c", "3");
    conf_pub(f, "dp.a", "4");
    ps_consumer_config cc = {.durable = "C", .deliver_policy = PS_DELIVER_LAST_PER_SUBJECT,
                             .filter_subject = "dp.>"};
    ps_consumer *c = conf_consumer(f, "DP", &cc);
    assert_int_equal(conf_cinfo(c)->num_pending, 3);
    CONF_FETCH_SEQS(c, 3, 2, 3, 4);
    conf_fetch_none(c);
    conf_pub(f, "dp.b", "5");
    conf_fetch_one(c, 5, 1);
}
