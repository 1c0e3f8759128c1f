/* conf_advisory.c — advisories: stream and consumer actions, NAK, TERM,
 * removal of pending messages, MaxDeliver (docs/MODEL.md, JS 11, 4.8, 6.3).
 *
 * A server publishes advisories asynchronously: every check follows a
 * conf_settle(), and each test uses a stream name of its own and counts
 * only that stream's advisories, so a late advisory from an earlier test's
 * teardown cannot be mistaken for one of this test's. The memory backend
 * emits them synchronously.
 */
#include "conformance.h"

#include <string.h>

#define ADV_PREFIX "$JS.EVENT.ADVISORY."
#define TYPE_PREFIX "io.nats.jetstream.advisory.v1."

/* The one advisory of `kind` about `stream`; fails if there are 0 or 2+. */
static const conf_adv *only(const conf_adv_log *log, ps_advisory_kind kind, const char *stream)
{
    const conf_adv *found = NULL;
    int n = 0;
    for (int i = 0; i < log->count; i++)
        if (log->recs[i].kind == kind && strcmp(log->recs[i].stream, stream) == 0) {
            found = &log->recs[i];
            n++;
        }
    if (n != 1)
        fail_msg("expected exactly one advisory of kind %d for stream %s, got %d", (int)kind,
                 stream, n);
    return found;
}

static void expect_consumer_event(const conf_adv *a, const char *subject, const char *type,
                                  const char *stream, uint64_t sseq, uint64_t cseq,
                                  uint64_t deliveries)
{
    assert_string_equal(a->subject, subject);
    assert_non_null(strstr(a->type, type));
    assert_string_equal(a->stream, stream);
    assert_string_equal(a->consumer, "C");
    assert_int_equal(a->stream_seq, sseq);
    if (cseq)
        assert_int_equal(a->consumer_seq, cseq);
    assert_int_equal(a->deliveries, deliveries);
}

/* A Limits stream of the test's own on `subject`, and its consumer C. */
static ps_consumer *adv_consumer(conf_fixture *f, const char *stream, const char *subject,
                                 const ps_consumer_config *cc)
{
    conf_stream(f, stream, subject, PS_RETENTION_LIMITS);
    return conf_consumer(f, stream, cc);
}

/* JS 11: stream created, updated and deleted. */
CONF_TEST(test_js11_stream_lifecycle_advisories)
{
    conf_adv_log *log = conf_adv_capture(f);
    ps_stream_config c = {.name = "AS", CONF_SUBJ("as")};
    conf_stream_cfg(f, &c);
    conf_settle(f);
    assert_string_equal(only(log, PS_ADV_STREAM_CREATED, "AS")->subject,
                        ADV_PREFIX "STREAM.CREATED.AS");
    c.max_msgs = 10;
    conf_stream_update(f, &c);
    conf_settle(f);
    assert_string_equal(only(log, PS_ADV_STREAM_UPDATED, "AS")->subject,
                        ADV_PREFIX "STREAM.UPDATED.AS");
    conf_ok(ps_stream_delete(f->b, "AS"));
    conf_settle(f);
    assert_string_equal(only(log, PS_ADV_STREAM_DELETED, "AS")->subject,
                        ADV_PREFIX "STREAM.DELETED.AS");
}

/* JS 11: consumer created and deleted, type consumer_action. */
CONF_TEST(test_js11_consumer_lifecycle_advisories)
{
    conf_stream(f, "ACL", "acl", PS_RETENTION_LIMITS);
    conf_adv_log *log = conf_adv_capture(f);
    conf_durable(f, "ACL", "C", 0);
    conf_settle(f);
    const conf_adv *a = only(log, PS_ADV_CONSUMER_CREATED, "ACL");
    assert_string_equal(a->subject, ADV_PREFIX "CONSUMER.CREATED.ACL.C");
    assert_string_equal(a->consumer, "C");
    assert_non_null(strstr(a->type, "consumer_action"));
    conf_ok(ps_consumer_delete(f->b, "ACL", "C"));
    conf_settle(f);
    a = only(log, PS_ADV_CONSUMER_DELETED, "ACL");
    assert_string_equal(a->subject, ADV_PREFIX "CONSUMER.DELETED.ACL.C");
}

/* JS 11 / 6.3: MAX_DELIVERIES carries deliveries = MaxDeliver and is
 * emitted once. */
CONF_TEST(test_js11_max_deliveries_advisory_fields)
{
    ps_consumer_config cc = {.durable = "C", .max_deliver = 3};
    ps_consumer *c = adv_consumer(f, "AMD", "amd", &cc);
    conf_pub(f, "amd", "x");
    conf_adv_log *log = conf_adv_capture(f);
    for (uint64_t dc = 1; dc <= 3; dc++)
        conf_ack(conf_fetch_one(c, 1, dc), PS_NAK);
    conf_fetch_none(c);
    conf_fetch_none(c);
    conf_settle(f);
    expect_consumer_event(only(log, PS_ADV_MAX_DELIVERIES, "AMD"),
                          ADV_PREFIX "CONSUMER.MAX_DELIVERIES.AMD.C", TYPE_PREFIX "max_deliver",
                          "AMD", 1, 0, 3);
}

/* JS 11 / 7.6: a NAK emits MSG_NAKED with the delivery it names. */
CONF_TEST(test_js11_msg_naked_advisory_fields)
{
    ps_consumer_config cc = {.durable = "C"};
    ps_consumer *c = adv_consumer(f, "ANK", "ank", &cc);
    conf_pub_n(f, "ank", 2);
    conf_adv_log *log = conf_adv_capture(f);
    ps_msg_list *l = conf_fetch(c, 2, 2);
    conf_ack(l->msgs[1], PS_NAK);
    conf_settle(f);
    expect_consumer_event(only(log, PS_ADV_MSG_NAKED, "ANK"),
                          ADV_PREFIX "CONSUMER.MSG_NAKED.ANK.C", TYPE_PREFIX "nak", "ANK", 2, 2, 1);
}

/* JS 11 / 7.8: TERM emits MSG_TERMINATED. */
CONF_TEST(test_js11_msg_terminated_advisory_on_term)
{
    ps_consumer_config cc = {.durable = "C"};
    ps_consumer *c = adv_consumer(f, "ATM", "atm", &cc);
    conf_pub(f, "atm", "x");
    conf_adv_log *log = conf_adv_capture(f);
    conf_ack(conf_fetch_one(c, 1, 1), PS_NAK);
    conf_ack(conf_fetch_one(c, 1, 2), PS_TERM);
    conf_settle(f);
    expect_consumer_event(only(log, PS_ADV_MSG_TERMINATED, "ATM"),
                          ADV_PREFIX "CONSUMER.MSG_TERMINATED.ATM.C", TYPE_PREFIX "terminated",
                          "ATM", 1, 2, 2);
}

/* JS 4.8 / 11 (E:misc): a MaxMsgs eviction of a pending message emits
 * MSG_TERMINATED for the consumer holding it. */
CONF_TEST(test_js4_8_eviction_of_pending_emits_terminated)
{
    ps_stream_config s = {.name = "AEV", CONF_SUBJ("aev"), .max_msgs = 1};
    conf_stream_cfg(f, &s);
    ps_consumer *c = conf_durable(f, "AEV", "C", 0);
    conf_pub(f, "aev", "1");
    conf_fetch_one(c, 1, 1);
    conf_adv_log *log = conf_adv_capture(f);
    conf_pub(f, "aev", "2");
    conf_settle(f);
    const conf_adv *a = only(log, PS_ADV_MSG_TERMINATED, "AEV");
    assert_string_equal(a->subject, ADV_PREFIX "CONSUMER.MSG_TERMINATED.AEV.C");
    assert_int_equal(a->stream_seq, 1);
}

/* JS 4.8 / 3.10: removal of a pending message by MaxAge emits it too. */
CONF_TEST(test_js4_8_max_age_removal_of_pending_emits_terminated)
{
    ps_stream_config s = {.name = "AAG", CONF_SUBJ("aag"), .max_age_ns = 200 * CONF_MS};
    conf_stream_cfg(f, &s);
    ps_consumer *c = conf_durable(f, "AAG", "C", 0);
    conf_pub(f, "aag", "1");
    conf_fetch_one(c, 1, 1);
    conf_adv_log *log = conf_adv_capture(f);
    conf_advance_ms(f, 200 + 2 * CONF_MARGIN_MS);
    conf_settle(f);
    assert_int_equal(conf_state(f, "AAG").msgs, 0);
    assert_int_equal(only(log, PS_ADV_MSG_TERMINATED, "AAG")->stream_seq, 1);
    conf_expect_counts(c, 0, 0, 0);
}

/* JS 4.8: only consumers holding the message pending are told. */
CONF_TEST(test_js4_8_terminated_only_for_consumers_holding_it)
{
    conf_stream(f, "AHO", "aho", PS_RETENTION_LIMITS);
    ps_consumer *c = conf_durable(f, "AHO", "C", 0);
    conf_durable(f, "AHO", "IDLE", 0);
    conf_pub(f, "aho", "1");
    conf_fetch_one(c, 1, 1);
    conf_adv_log *log = conf_adv_capture(f);
    conf_ok(ps_msg_delete(f->b, "AHO", 1, false));
    conf_settle(f);
    assert_int_equal(conf_adv_count(log, PS_ADV_MSG_TERMINATED, "C"), 1);
    assert_int_equal(conf_adv_count(log, PS_ADV_MSG_TERMINATED, "IDLE"), 0);
}
