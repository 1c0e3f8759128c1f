/* conf_difftest.c — behaviours of nats-server 2.9.10 that the differential
 * tester (tests/differential/, issue 11) found the model getting wrong.
 *
 * Each case is the shrunk sequence of a divergence, turned into asserts
 * about what the server answers, and names the server function whose
 * behaviour it pins (server/stream.go, consumer.go, memstore.go,
 * filestore.go at v2.9.10). Several of these are quirks rather than
 * designs (a stale pending count, consumers moved past the end by a purge
 * that matched nothing); the model copies them because code tested on it
 * must behave the same on the server.
 *
 * Not here: the rules docs/MODEL.md states on their own (the other conf_*.c).
 */
#include "conformance.h"

#include <string.h>

static uint64_t purge(conf_fixture *f, const char *stream, const char *filter, uint64_t seq,
                      uint64_t keep)
{
    ps_purge_opts po = {.filter = filter, .seq = seq, .keep = keep};
    uint64_t n = 0;
    conf_ok(ps_stream_purge(f->b, stream, &po, &n));
    return n;
}

/* ---- stream state and purges (JS 2.1, 10.3) ----------------------------------- */

/* A store's FirstSeq is 0 until its first store or purge (memStore and
 * fileStore state start zeroed); a filtered purge does not set it. */
CONF_TEST(test_dt_new_stream_first_seq_is_0_until_a_store_or_purge)
{
    conf_stream(f, "F0", "f0.>", PS_RETENTION_LIMITS);
    assert_int_equal(conf_state(f, "F0").first_seq, 0);
    purge(f, "F0", "f0.a", 0, 0);
    assert_int_equal(conf_state(f, "F0").first_seq, 0);
    purge(f, "F0", NULL, 0, 0);
    assert_int_equal(conf_state(f, "F0").first_seq, 1);
}

/* PurgeEx: without a filter, seq 1 is a full purge (not "below 1"). */
CONF_TEST(test_dt_purge_seq_1_purges_everything)
{
    conf_stream(f, "P1", "p1", PS_RETENTION_LIMITS);
    conf_pub_n(f, "p1", 3);
    assert_int_equal(purge(f, "P1", NULL, 1, 0), 3);
    assert_int_equal(conf_state(f, "P1").msgs, 0);
}

/* Compact(seq) past the last sequence empties the stream and the next
 * publish lands at seq. */
CONF_TEST(test_dt_purge_seq_past_the_end_moves_the_next_publish)
{
    conf_stream(f, "PE", "pe", PS_RETENTION_LIMITS);
    conf_pub_n(f, "pe", 2);
    assert_int_equal(purge(f, "PE", NULL, 10, 0), 2);
    ps_stream_state st = conf_state(f, "PE");
    assert_int_equal(st.first_seq, 10);
    assert_int_equal(st.last_seq, 9);
    assert_int_equal(conf_pub(f, "pe", "x"), 10);
}

/* PurgeEx keep without a filter compacts to LastSeq-keep+1: it keeps the
 * last `keep` SEQUENCES, so an interior gap leaves fewer messages. */
CONF_TEST(test_dt_purge_keep_without_filter_counts_sequences)
{
    conf_stream(f, "PK", "pk", PS_RETENTION_LIMITS);
    conf_pub_n(f, "pk", 4);
    conf_ok(ps_msg_delete(f->b, "PK", 3, false));
    assert_int_equal(purge(f, "PK", NULL, 0, 2), 2);
    ps_stream_state st = conf_state(f, "PK");
    assert_int_equal(st.msgs, 1);
    assert_int_equal(st.first_seq, 4);
}

/* memStore.Compact fails (ErrStoreMsgNotFound, 10051) when the seq is in
 * range but holds no message; the file store purges below it. */
CONF_TEST(test_dt_purge_seq_on_a_gap_fails_on_memory_storage_10051)
{
    ps_stream_config m = {.name = "PGM", CONF_SUBJ("pgm"), .storage = PS_STORAGE_MEMORY};
    conf_stream_cfg(f, &m);
    conf_pub_n(f, "pgm", 3);
    conf_ok(ps_msg_delete(f->b, "PGM", 2, false));
    ps_purge_opts po = {.seq = 2};
    conf_expect_error(ps_stream_purge(f->b, "PGM", &po, NULL), PS_ERR_STREAM_CONFIG, 10051, NULL);
    conf_stream(f, "PGF", "pgf", PS_RETENTION_LIMITS);
    conf_pub_n(f, "pgf", 3);
    conf_ok(ps_msg_delete(f->b, "PGF", 2, false));
    assert_int_equal(purge(f, "PGF", NULL, 2, 0), 1);
}

/* stream.purge: a request with options but no subject resets only the
 * consumers without a filter (isFilteredMatch("") is false for a filter),
 * so a filtered consumer keeps its pending purged message. */
CONF_TEST(test_dt_keep_purge_leaves_filtered_consumers_alone)
{
    conf_stream(f, "PL", "pl.>", PS_RETENTION_LIMITS);
    conf_pub_n(f, "pl.a", 3);
    ps_consumer_config cc = {.durable = "FC", .filter_subject = "pl.a"};
    ps_consumer *c = conf_consumer(f, "PL", &cc);
    conf_fetch(c, 1, 1);
    assert_int_equal(purge(f, "PL", NULL, 0, 1), 2);
    assert_int_equal(conf_cinfo(c)->num_ack_pending, 1);
}

/* stream.purge: a filtered purge moves the consumers it touches to the
 * first remaining match, and past the last sequence when none remains,
 * even an unfiltered consumer with other subjects still to deliver. */
CONF_TEST(test_dt_filtered_purge_of_nothing_moves_unfiltered_consumers_past_the_end)
{
    conf_stream(f, "PN", "pn.>", PS_RETENTION_LIMITS);
    ps_consumer *c = conf_durable(f, "PN", "ALL", 0);
    conf_pub(f, "pn.a", "x");
    assert_int_equal(purge(f, "PN", "pn.b", 0, 0), 0);
    ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->delivered, 0, 1);
    conf_expect_pair(ci->ack_floor, 0, 1);
    conf_fetch_none(c);
}

/* ---- consumers (JS 5, 6, 9) ---------------------------------------------------- */

/* checkConsumerCfg refuses AckNone on a work queue (10084) before it looks
 * at the filter (10093) or the deliver policy (10094). */
CONF_TEST(test_dt_ack_none_on_workqueue_is_checked_first_10084)
{
    conf_stream(f, "WN", "wn.>", PS_RETENTION_WORKQUEUE);
    ps_consumer_config cc = {.durable = "N", .ack_policy = PS_ACK_NONE, .filter_subject = "zz",
                             .deliver_policy = PS_DELIVER_LAST};
    conf_consumer_fail(f, "WN", &cc, PS_ERR_CONSUMER_CONFIG, 10084, NULL);
}

/* fileStore.removeMsg: a seq below FirstSeq has no block: 10057, as one past
 * the last; only an interior gap is 10043. */
CONF_TEST(test_dt_delete_below_first_seq_on_file_storage_10057)
{
    conf_stream(f, "DB", "db", PS_RETENTION_LIMITS);
    conf_pub_n(f, "db", 2);
    purge(f, "DB", NULL, 0, 0);
    conf_expect_error(ps_msg_delete(f->b, "DB", 1, false), PS_ERR_MSG_NOT_FOUND, 10057, NULL);
}

/* selectStartingSeqNo: deliver-last with a filter that matches nothing
 * gives 0, which the clamp turns into FirstSeq. */
CONF_TEST(test_dt_deliver_last_with_unmatched_filter_starts_at_first_seq)
{
    conf_stream(f, "DL", "dl.>", PS_RETENTION_LIMITS);
    conf_pub_n(f, "dl.a", 2);
    ps_consumer_config cc = {.durable = "L", .deliver_policy = PS_DELIVER_LAST, .filter_subject = "dl.b"};
    ps_consumer *c = conf_consumer(f, "DL", &cc);
    conf_expect_pair(conf_cinfo(c)->delivered, 0, 0);
}

/* selectStartingSeqNo: last-per-subject with no matching subject starts at
 * LastSeq itself. */
CONF_TEST(test_dt_last_per_subject_with_no_subject_starts_at_last_seq)
{
    conf_stream(f, "LN", "ln.>", PS_RETENTION_LIMITS);
    conf_pub_n(f, "ln.a", 2);
    ps_consumer_config cc = {.durable = "L", .deliver_policy = PS_DELIVER_LAST_PER_SUBJECT,
                             .filter_subject = "ln.b"};
    ps_consumer *c = conf_consumer(f, "LN", &cc);
    conf_expect_pair(conf_cinfo(c)->delivered, 0, 1);
}

/* consumer.purge sets the ack floor the server reports (asflr = first-1)
 * even before anything was acknowledged. */
CONF_TEST(test_dt_purge_moves_the_reported_ack_floor_before_any_ack)
{
    conf_stream(f, "PF2", "pf2", PS_RETENTION_LIMITS);
    ps_consumer *c = conf_durable(f, "PF2", "D", 0);
    conf_pub_n(f, "pf2", 3);
    conf_expect_pair(conf_cinfo(c)->ack_floor, 0, 0);
    purge(f, "PF2", NULL, 0, 0);
    conf_expect_pair(conf_cinfo(c)->ack_floor, 0, 3);
}

/* streamNumPending: for last-per-subject the info counts subjects whose
 * last message is at or after the start, not messages. */
CONF_TEST(test_dt_last_per_subject_num_pending_counts_subjects)
{
    conf_stream(f, "LP", "lp.>", PS_RETENTION_LIMITS);
    ps_consumer_config cc = {.durable = "L", .deliver_policy = PS_DELIVER_LAST_PER_SUBJECT,
                             .filter_subject = "lp.a"};
    ps_consumer *c = conf_consumer(f, "LP", &cc);
    conf_pub_n(f, "lp.a", 2);
    assert_int_equal(conf_cinfo(c)->num_pending, 1);
}

/* decStreamPending lowers the cached count only above npcm: a message the
 * per-subject limit evicts right after the consumer counted it stays in
 * the pending count of the next delivery's metadata. */
CONF_TEST(test_dt_ack_metadata_pending_stays_stale_after_an_eviction)
{
    ps_stream_config sc = {.name = "NP", CONF_SUBJ("np.>"), .max_msgs_per_subject = 1};
    conf_stream_cfg(f, &sc);
    conf_pub(f, "np.a", "1");
    ps_consumer *c = conf_durable(f, "NP", "D", 0);
    conf_pub(f, "np.a", "2"); /* evicts 1 */
    ps_msg_list *l = CONF_FETCH_SEQS(c, 1, 2);
    assert_int_equal(l->msgs[0]->meta.num_pending, 1);
    assert_int_equal(conf_cinfo(c)->num_pending, 0); /* info recounts */
}

/* consumer.stopWithFlags on an Interest stream re-checks from the reported
 * asflr itself, so a message at the floor nobody else wants goes. */
CONF_TEST(test_dt_interest_consumer_delete_rechecks_from_the_reported_floor)
{
    conf_stream(f, "IR", "ir.*", PS_RETENTION_INTEREST);
    ps_consumer_config cc = {.durable = "A", .ack_policy = PS_ACK_ALL, .deliver_policy = PS_DELIVER_LAST};
    conf_consumer(f, "IR", &cc);
    conf_pub(f, "ir.a", "x");
    purge(f, "IR", "ir.b", 9, 0); /* matches nothing: floor moves to 1 */
    conf_ok(ps_consumer_delete(f->b, "IR", "A"));
    assert_int_equal(conf_state(f, "IR").msgs, 0);
}

/* ---- limits (JS 3.7, 2.4) ------------------------------------------------------- */

/* storeRawMsg enforces the stored subject's per-subject limit before
 * MaxMsgs, so a store over both drops that subject's oldest only. */
CONF_TEST(test_dt_per_subject_limit_evicts_before_max_msgs)
{
    ps_stream_config sc = {.name = "PM", CONF_SUBJ("pm.>"), .max_msgs = 3, .max_msgs_per_subject = 2};
    conf_stream_cfg(f, &sc);
    conf_pub(f, "pm.b", "1");
    conf_pub_n(f, "pm.a", 3);
    ps_stream_state st = conf_state(f, "PM");
    assert_int_equal(st.msgs, 3);
    assert_int_equal(st.first_seq, 1);
    assert_int_equal(st.num_deleted, 1);
}

/* UpdateConfig trims subjects only when MaxMsgsPerSubject goes down from a
 * limit: from unlimited (-1) nothing is trimmed. */
CONF_TEST(test_dt_update_from_unlimited_per_subject_trims_nothing)
{
    ps_stream_config sc = {.name = "PU", CONF_SUBJ("pu.>")};
    conf_stream_cfg(f, &sc);
    conf_pub_n(f, "pu.a", 3);
    sc.max_msgs_per_subject = 2;
    conf_stream_update(f, &sc);
    assert_int_equal(conf_state(f, "PU").msgs, 3);
    sc.max_msgs_per_subject = 1;
    conf_stream_update(f, &sc);
    assert_int_equal(conf_state(f, "PU").msgs, 1);
}

/* storeRawMsg with DiscardNew: a subject at its per-subject limit replaces
 * its oldest message, so MaxMsgs does not refuse the publish. */
CONF_TEST(test_dt_discard_new_accepts_a_subject_at_its_limit)
{
    ps_stream_config sc = {.name = "DN", CONF_SUBJ("dn.>"), .discard = PS_DISCARD_NEW, .max_msgs = 3,
                           .max_msgs_per_subject = 2};
    conf_stream_cfg(f, &sc);
    conf_pub(f, "dn.a", "1");
    conf_pub_n(f, "dn.b", 2);
    assert_int_equal(conf_pub(f, "dn.b", "x"), 4);
    ps_stream_state st = conf_state(f, "DN");
    assert_int_equal(st.msgs, 3);
    assert_int_equal(st.num_deleted, 1);
    ps_out_msg m = {.subject = "dn.c", .data = "x", .len = 1};
    conf_pub_fail(f, &m, PS_ERR_STORE_FAILED, 10077, NULL);
}

/* consumer.updateConfig accepts a new filter but keeps filterWC from
 * creation: a wildcard filter given to a consumer created without one is
 * then compared literally by delivery (LoadNextMsg), while ConsumerInfo's
 * FilteredState still counts the matching messages. */
CONF_TEST(test_dt_filter_update_to_a_wildcard_delivers_nothing)
{
    conf_stream(f, "FW", "fw.>", PS_RETENTION_LIMITS);
    ps_consumer_config cc = {.durable = "D"};
    ps_consumer *c = conf_consumer(f, "FW", &cc);
    cc.filter_subject = "fw.*";
    conf_consumer(f, "FW", &cc);
    conf_pub(f, "fw.a", "x");
    assert_int_equal(conf_cinfo(c)->num_pending, 1);
    conf_fetch_none(c);
}

/* needAck compares with the reported asflr, 0 before the first ack: an
 * AckAll consumer created after some messages still holds them on an
 * Interest stream once the other consumer has acked them. */
CONF_TEST(test_dt_ack_all_consumer_holds_older_messages_until_it_acks)
{
    conf_stream(f, "IK", "ik.>", PS_RETENTION_INTEREST);
    ps_consumer *a = conf_durable(f, "IK", "A", 0);
    conf_pub_n(f, "ik.a", 2);
    ps_consumer_config cc = {.durable = "B", .ack_policy = PS_ACK_ALL, .deliver_policy = PS_DELIVER_NEW};
    conf_consumer(f, "IK", &cc);
    conf_ack_all(conf_fetch(a, 2, 2), PS_ACK);
    assert_int_equal(conf_state(f, "IK").msgs, 2);
}

/* memStore.Compact (a purge with seq or keep) leaves the per-subject map
 * alone: the purged subjects still count in NumSubjects until a full
 * purge starts a new map. The file store keeps its count exact. */
CONF_TEST(test_dt_memory_compact_keeps_purged_subjects_counted)
{
    ps_stream_config sc = {.name = "MC", CONF_SUBJ("mc.>"), .storage = PS_STORAGE_MEMORY};
    conf_stream_cfg(f, &sc);
    conf_pub(f, "mc.a", "1");
    conf_pub(f, "mc.b", "2");
    assert_int_equal(purge(f, "MC", NULL, 3, 0), 2);
    ps_stream_state st = conf_state(f, "MC");
    assert_int_equal(st.msgs, 0);
    assert_int_equal(st.num_subjects, 2);
    purge(f, "MC", NULL, 0, 0);
    assert_int_equal(conf_state(f, "MC").num_subjects, 0);
}

/* memStore.enforcePerSubjectLimit removes the record's First and stops
 * when it is gone: after a Compact the subject's limit no longer trims. */
CONF_TEST(test_dt_memory_compact_stalls_the_per_subject_limit)
{
    ps_stream_config sc = {.name = "MS", CONF_SUBJ("ms.>"), .storage = PS_STORAGE_MEMORY,
                           .max_msgs_per_subject = 1};
    conf_stream_cfg(f, &sc);
    conf_pub(f, "ms.a", "1");
    purge(f, "MS", NULL, 5, 0);
    assert_int_equal(conf_pub(f, "ms.a", "2"), 5);
    assert_int_equal(conf_pub(f, "ms.a", "3"), 6);
    assert_int_equal(conf_state(f, "MS").msgs, 2);
}

/* processJetStreamMsg checks Nats-Expected-Last-Sequence against mset.lseq,
 * which counts stores: a purge past the end moves the store's last
 * sequence but not it. */
CONF_TEST(test_dt_expected_last_seq_counts_stores_after_a_purge_past_the_end)
{
    conf_stream(f, "EL", "el", PS_RETENTION_LIMITS);
    conf_pub_n(f, "el", 2);
    purge(f, "EL", NULL, 10, 0);
    ps_out_msg m = {.subject = "el", .data = "x", .len = 1, .has_expected_last_seq = true,
                    .expected_last_seq = 2};
    ps_pub_ack ack = {0};
    conf_ok(ps_publish(f->b, &m, &ack));
    assert_int_equal(ack.seq, 10);
    m.expected_last_seq = 3;
    conf_ok(ps_publish(f->b, &m, &ack));
    assert_int_equal(ack.seq, 11);
}

/* checkNewConsumerConfig compares the OptStartTime POINTERS, which differ
 * whenever one is set: a by-start-time consumer takes an identical
 * re-create (DeepEqual first) but no other update. */
CONF_TEST(test_dt_by_start_time_consumer_cannot_be_updated)
{
    conf_stream(f, "ST", "st", PS_RETENTION_LIMITS);
    ps_consumer_config cc = {.durable = "T", .deliver_policy = PS_DELIVER_BY_START_TIME,
                             .opt_start_time_ns = PS_NS_PER_SEC};
    conf_consumer(f, "ST", &cc);
    conf_consumer(f, "ST", &cc);
    cc.ack_wait_ns = 60 * PS_NS_PER_SEC;
    conf_consumer_fail(f, "ST", &cc, PS_ERR_CONSUMER_CONFIG, 10012, NULL);
}

/* getNextMsg takes a redelivery off the queue before the max_bytes check,
 * and the 409 path steps the scan position back one sequence: the nak'ed
 * message then comes again as a NEW delivery (delivery count 1). */
CONF_TEST(test_dt_max_bytes_409_turns_a_redelivery_into_a_new_delivery)
{
    conf_stream(f, "MB", "mb", PS_RETENTION_LIMITS);
    ps_consumer *c = conf_durable(f, "MB", "D", 0);
    conf_pub(f, "mb", "a payload well over thirty bytes long, surely");
    conf_ack(conf_fetch_one(c, 1, 1), PS_NAK);
    ps_fetch_request req = {.batch = 1, .expires_ns = CONF_EXPIRES_NS, .max_bytes = 30};
    ps_msg_list *l = NULL;
    conf_expect_error(conf_fetch_req(c, &req, &l), PS_ERR_MAX_BYTES, 0, NULL);
    ps_msg *m = conf_fetch_one(c, 1, 1);
    assert_int_equal(m->meta.consumer_seq, 2);
}

/* A publish skipped for lack of interest keeps its Nats-Msg-Id with
 * timestamp 0 (processJetStreamMsg), so the next run of the dedup purge
 * (purgeMsgIds) drops it: a change of the Duplicates window runs it at once. */
CONF_TEST(test_dt_skipped_publish_msg_id_goes_at_the_next_dedup_purge)
{
    ps_stream_config sc = {.name = "SK", CONF_SUBJ("sk"), .retention = PS_RETENTION_INTEREST};
    conf_stream_cfg(f, &sc);
    assert_false(conf_pub_id(f, "sk", "x", "m1").duplicate);
    assert_true(conf_pub_id(f, "sk", "x", "m1").duplicate);
    sc.duplicates_ns = 60 * PS_NS_PER_SEC;
    conf_stream_update(f, &sc);
    conf_settle(f);
    assert_false(conf_pub_id(f, "sk", "x", "m1").duplicate);
}

/* deliverMsg converts a headers-only delivery before it measures it against
 * the request's max_bytes: the payload does not count, its size header does. */
CONF_TEST(test_dt_headers_only_delivery_is_sized_without_its_payload)
{
    conf_stream(f, "HO", "ho", PS_RETENTION_LIMITS);
    ps_consumer_config cc = {.durable = "H", .headers_only = true};
    ps_consumer *c = conf_consumer(f, "HO", &cc);
    conf_pub(f, "ho", "0123456789012345678901234567890123456789012345678901234567890123");
    ps_fetch_request req = {.batch = 1, .expires_ns = CONF_EXPIRES_NS, .max_bytes = 100};
    ps_msg_list *l = NULL;
    conf_ok(conf_fetch_req(c, &req, &l));
    assert_int_equal(l->count, 1);
    assert_int_equal(l->msgs[0]->len, 0);
}

/* trackPending keeps the first delivery's sequence for a redelivered
 * message, and processAckMsg moves the ack floor by that one: acking the
 * redelivery of the oldest pending message moves the floor to it. */
CONF_TEST(test_dt_ack_floor_walks_by_the_first_delivery_sequence)
{
    conf_stream(f, "AF", "af", PS_RETENTION_LIMITS);
    ps_consumer *c = conf_durable(f, "AF", "D", 0);
    conf_pub_n(f, "af", 2);
    ps_msg_list *l = CONF_FETCH_SEQS(c, 2, 1, 2);
    conf_ack(l->msgs[0], PS_NAK);
    ps_msg *m = conf_fetch_one(c, 1, 2);
    assert_int_equal(m->meta.consumer_seq, 3);
    conf_ack(m, PS_ACK);
    conf_expect_pair(conf_cinfo(c)->ack_floor, 1, 1);
}

/* The server matches a consumer's filter itself: a filter that covered the
 * whole stream stops doing so when an update widens the stream's subjects. */
CONF_TEST(test_dt_filter_covering_the_stream_is_rechecked_after_a_stream_update)
{
    ps_stream_config sc = {.name = "FS", CONF_SUBJ("fs.a")};
    conf_stream_cfg(f, &sc);
    ps_consumer_config cc = {.durable = "D", .filter_subject = "fs.a"};
    ps_consumer *c = conf_consumer(f, "FS", &cc);
    ps_stream_config wide = {.name = "FS", CONF_SUBJ("fs.>")};
    conf_stream_update(f, &wide);
    conf_pub(f, "fs.b", "x");
    conf_fetch_none(c);
}

/* A delivery counts len(subject) + len(ack reply) + headers + payload
 * against max_bytes (nats-server 2.9.10 loopAndGatherMsgs): one that fits
 * exactly is delivered, one byte more is 409. The model counted one byte
 * more than the ack subject has (found by the 408 pending bytes of an
 * asynchronous pull, conf_apull.c). */
CONF_TEST(test_dt_max_bytes_equal_to_the_delivery_delivers_it)
{
    conf_stream(f, "MX", "mx", PS_RETENTION_LIMITS);
    ps_consumer *c = conf_durable(f, "MX", "D", 0);
    conf_pub_n(f, "mx", 3);
    ps_msg *m = conf_fetch_one(c, 1, 1);
    /* the next deliveries' ack subjects have as many digits as this one's */
    int64_t size = (int64_t)(strlen(m->subject) + strlen(ps_msg_reply(m)) + m->hdr_len + m->len);
    ps_fetch_request req = {.batch = 2, .expires_ns = CONF_EXPIRES_NS, .max_bytes = size};
    ps_msg_list *l = NULL;
    conf_ok(conf_fetch_req(c, &req, &l));
    assert_int_equal(l->count, 1);
    assert_int_equal(l->msgs[0]->meta.stream_seq, 2);
    req.max_bytes = size - 1;
    conf_expect_error(conf_fetch_req(c, &req, &l), PS_ERR_MAX_BYTES, 0, NULL);
}

/* A store signals only the consumers its subject concerns (the filtered
 * signal of processStreamSignal): a waiting pull on another filter is not
 * served, so the consumer does not scan past the new message, while a
 * new pull request makes it look (getNextMsg moves the scan position past
 * the stream's end). Found by difftest seeds 87 and 383 once pulls could
 * wait. */
CONF_TEST(test_dt_waiting_pull_is_not_woken_by_another_subject)
{
    conf_stream(f, "WS", "ws.>", PS_RETENTION_LIMITS);
    ps_consumer_config cc = {.durable = "D", .filter_subject = "ws.b"};
    ps_consumer *c = conf_consumer(f, "WS", &cc);
    ps_pull *p = conf_pull_start(c, (ps_fetch_request){.batch = 1, .expires_ns = 1000 * CONF_MS});
    conf_settle(f); /* the server looks at the new request before the store */
    conf_pub(f, "ws.a", "x");
    conf_settle(f);
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->delivered, 0, 0);
    assert_int_equal(ci->num_waiting, 1);
    ps_pull *q = conf_pull_start(c, (ps_fetch_request){.batch = 1, .expires_ns = 1000 * CONF_MS});
    conf_settle(f);
    ci = conf_cinfo(c);
    conf_expect_pair(ci->delivered, 0, 1);
    assert_int_equal(ci->num_waiting, 2);
    (void)p;
    (void)q;
}

/* Removing a pending message (here by MaxAge) is processed as a TERM
 * (decStreamPending, JS 4.8), and an ack of a consumer at MaxAckPending
 * signals its delivery loop (processAckMsg): a no_wait one-shot stalled
 * after its first message then finds nothing more and ends with 408.
 * Found by the timed differential tester, seed 285. */
CONF_TEST(test_dt_removed_pending_message_wakes_a_stalled_pull)
{
    ps_stream_config sc = {.name = "MA", CONF_SUBJ("ma"), .max_age_ns = 500 * CONF_MS};
    conf_stream_cfg(f, &sc);
    ps_consumer_config cc = {.durable = "D", .max_ack_pending = 1};
    ps_consumer *c = conf_consumer(f, "MA", &cc);
    conf_pub(f, "ma", "x");
    ps_pull *p = conf_pull_start(c, (ps_fetch_request){.batch = 2, .no_wait = true});
    conf_pulled r;
    conf_pull_collect(f, p, false, &r);
    assert_int_equal(r.count, 1);
    assert_false(r.end.done);
    conf_advance_ms(f, 500 + 2 * CONF_MARGIN_MS);
    conf_pull_collect(f, p, true, &r);
    conf_expect_pull_end(&r, PS_ERR_TIMEOUT, 408, "Request Timeout");
    assert_int_equal(r.end.pending_msgs, 1);
    assert_int_equal(conf_cinfo(c)->num_ack_pending, 0);
}

/* A handle of a deleted consumer reaches the consumer re-created under its
 * name: the server routes acks and pulls by name. The model cached the
 * miss of a pull made in between and answered the later ack with no
 * responders (found by difftest, seed 5204). */
CONF_TEST(test_dt_old_handle_reaches_a_consumer_recreated_under_its_name)
{
    conf_stream(f, "RC", "rc", PS_RETENTION_LIMITS);
    ps_consumer *old = conf_durable(f, "RC", "D", 0);
    conf_pub(f, "rc", "x");
    ps_msg *m = conf_fetch_one(old, 1, 1);
    conf_ok(ps_consumer_delete(f->b, "RC", "D"));
    ps_msg_list *l = NULL;
    ps_fetch_request req = {.batch = 1, .expires_ns = CONF_EXPIRES_NS};
    conf_expect_error(conf_fetch_req(old, &req, &l), PS_ERR_TIMEOUT, 0, NULL);
    conf_durable(f, "RC", "D", 0);
    conf_ok(ps_ack_send(m, PS_ACK, 0)); /* not pending in the new consumer: ignored */
    conf_fetch_one(old, 1, 1); /* the new consumer delivers it anew */
}

/* nats-server 2.9.10's file store never moves a subject's Last back
 * (msgBlock.removeSeqPerSubject moves First forward only): once the
 * subject's last message is removed while an earlier one of it remains, a
 * get of the subject's last message answers "no message found" (loadLast
 * looks up the block's Last), until a new message on the subject moves
 * Last. Found by difftest, seed 3852 (an ack on an interest stream removed
 * the message); the model answered with the earlier one. A memory stream
 * answers with it (memStore recomputes Last from its messages). */
CONF_TEST(test_dt_file_store_get_last_stays_on_a_removed_message)
{
    conf_stream(f, "LS", "ls.>", PS_RETENTION_LIMITS);
    conf_pub(f, "ls.y", "1");
    conf_pub(f, "ls.z", "2");
    conf_pub(f, "ls.y", "3");
    conf_ok(ps_msg_delete(f->b, "LS", 3, false));
    ps_stored_msg m = {0};
    conf_expect_error(ps_msg_get(f->b, "LS", 0, "ls.y", &m), PS_ERR_MSG_NOT_FOUND, 10037, NULL);
    conf_ok(ps_msg_get(f->b, "LS", 1, NULL, &m)); /* the earlier one is still there */
    ps_stored_msg_clear(&m);
    conf_pub(f, "ls.y", "4");
    conf_ok(ps_msg_get(f->b, "LS", 0, "ls.y", &m));
    assert_int_equal(m.seq, 4);
    ps_stored_msg_clear(&m);

    ps_stream_config sc = {.name = "LM", CONF_SUBJ("lm.>"), .storage = PS_STORAGE_MEMORY};
    conf_stream_cfg(f, &sc);
    conf_pub(f, "lm.y", "1");
    conf_pub(f, "lm.y", "2");
    conf_ok(ps_msg_delete(f->b, "LM", 2, false));
    conf_ok(ps_msg_get(f->b, "LM", 0, "lm.y", &m));
    assert_int_equal(m.seq, 1);
    ps_stored_msg_clear(&m);
}

/* A no_wait one-shot (batch 3) gets the one message and waits, stalled by
 * MaxAckPending 1; then a fetch `req` finds nothing and its request
 * expires: the one-shot must end with 408, still wanting 2. */
static void one_shot_ended_by_a_fetchs_expiry(conf_fixture *f, ps_fetch_request req)
{
    conf_stream(f, "OS", "os", PS_RETENTION_LIMITS);
    ps_consumer_config cc = {.durable = "D", .max_ack_pending = 1};
    ps_consumer *c = conf_consumer(f, "OS", &cc);
    conf_pub(f, "os", "x");
    ps_pull *p = conf_pull_start(c, (ps_fetch_request){.batch = 3, .no_wait = true});
    conf_pulled r;
    conf_pull_collect(f, p, false, &r);
    assert_int_equal(r.count, 1);
    assert_false(r.end.done); /* stalled by MaxAckPending: still waiting */
    ps_msg_list *l = NULL;
    conf_expect_error(conf_fetch_req(c, &req, &l), PS_ERR_TIMEOUT, 0, NULL);
    conf_pull_collect(f, p, true, &r);
    conf_expect_pull_end(&r, PS_ERR_TIMEOUT, 408, "Request Timeout");
    assert_int_equal(r.end.pending_msgs, 2);
}

/* A no_wait one-shot that got a message and is stalled by MaxAckPending
 * ends with 408 when another pull request's expiry comes: the delivery
 * loop's expiry timer runs processWaiting with eos set, which ends every
 * one-shot that got something (nats-server 2.9.10 consumer.go). Found by
 * difftest (timed 535): the model kept it waiting. */
CONF_TEST(test_dt_another_requests_expiry_ends_a_stalled_one_shot)
{
    one_shot_ended_by_a_fetchs_expiry(f, (ps_fetch_request){.batch = 1, .expires_ns = CONF_EXPIRES_NS});
}

/* The same with a fetch of what is there now (expires 0): to the server
 * that is a one-shot with a short expiry (jsb_fetch), so when the stalled
 * consumer has nothing for it, its expiry ends the other one-shot too.
 * Found by difftest (timed 691): the model ran the eos pass only for
 * fetches with an expiry of their own, and the one-shot stayed waiting to
 * take the next message. */
CONF_TEST(test_dt_a_fetch_of_what_is_there_ends_a_stalled_one_shot)
{
    one_shot_ended_by_a_fetchs_expiry(f, (ps_fetch_request){.batch = 1});
}

/* A plain NAK that comes while the consumer has nothing pending passes the
 * server's pending check (processNak looks the sequence up only when
 * pending is not empty) and queues the sequence for redelivery: the next
 * fetch sends it with delivery count 2, and then, as the scan position has
 * not passed it, once more as a new message. A later NAK of a sequence
 * that is not pending, while another one is, is ignored. The model
 * ignored every NAK of a sequence without a pending record (found while
 * writing test_dt_old_handle_reaches_a_consumer_recreated_under_its_name). */
CONF_TEST(test_dt_nak_with_nothing_pending_queues_a_redelivery)
{
    conf_stream(f, "NP", "np", PS_RETENTION_LIMITS);
    ps_consumer *old = conf_durable(f, "NP", "D", 0);
    conf_pub(f, "np", "x");
    ps_msg *m = conf_fetch_one(old, 1, 1);
    conf_ok(ps_consumer_delete(f->b, "NP", "D"));
    ps_msg_list *l = NULL;
    ps_fetch_request req = {.batch = 1, .expires_ns = CONF_EXPIRES_NS};
    conf_expect_error(conf_fetch_req(old, &req, &l), PS_ERR_TIMEOUT, 0, NULL);
    conf_durable(f, "NP", "D", 0);
    conf_ok(ps_ack_send(m, PS_NAK, 0)); /* the new consumer has nothing pending */
    assert_int_equal(conf_cinfo(old)->num_ack_pending, 0);
    req = (ps_fetch_request){.batch = 2, .expires_ns = CONF_EXPIRES_NS};
    conf_ok(conf_fetch_req(old, &req, &l));
    assert_int_equal(l->count, 2);
    assert_int_equal(l->msgs[0]->meta.stream_seq, 1);
    assert_int_equal(l->msgs[0]->meta.num_delivered, 2);
    assert_int_equal(l->msgs[0]->meta.consumer_seq, 1);
    assert_int_equal(l->msgs[1]->meta.stream_seq, 1);
    assert_int_equal(l->msgs[1]->meta.num_delivered, 1);
    assert_int_equal(l->msgs[1]->meta.consumer_seq, 2);
    assert_int_equal(conf_cinfo(old)->num_ack_pending, 1);
    conf_ok(ps_ack_send(l->msgs[1], PS_NAK, 0)); /* pending: redelivered as count 3 */
    conf_fetch_one(old, 1, 3);
}

/* A no_wait pull asks the consumer's cached NumPending (numPending() plus
 * the redelivery queue), not a fresh count: a removal at or below the
 * sequence the count was taken at does not lower it, so after such a
 * removal a no_wait pull with nothing really there waits (no 404) and
 * takes the next message. Found by difftest (timed 954, where MaxBytes
 * removed the message); the model counted what was really there. */
CONF_TEST(test_dt_no_wait_pull_asks_the_cached_pending_count)
{
    conf_stream(f, "NC", "nc", PS_RETENTION_LIMITS);
    conf_pub(f, "nc", "1");
    conf_pub(f, "nc", "2");
    ps_consumer *c = conf_durable(f, "NC", "D", 0); /* counts 2 pending at seq 2 */
    conf_ok(ps_msg_delete(f->b, "NC", 1, false));    /* at the counted seq: not subtracted */
    ps_msg_list *l = conf_fetch(c, 5, 1);
    assert_int_equal(l->msgs[0]->meta.stream_seq, 2);
    ps_pull *p = conf_pull_start(c, (ps_fetch_request){.batch = 1, .no_wait = true});
    conf_pulled r;
    conf_pull_collect(f, p, false, &r);
    assert_int_equal(r.count, 0);
    assert_false(r.end.done); /* the stale count says one is there: it waits */
    conf_pub(f, "nc", "3");
    conf_pull_collect(f, p, true, &r);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.msgs[0]->meta.stream_seq, 3);
}

/* A fetch's request joins the back of the waiting queue, and the delivery
 * loop it wakes serves the queue from its head: a message that waited
 * because its publish did not signal the consumer (the store signals by
 * the filter the consumer was created with, JS 5.3) goes to the older
 * pull, and the fetch gets nothing. Found by difftest (timed 898); the
 * model served the fetch first. */
CONF_TEST(test_dt_a_fetch_waits_behind_an_older_pull)
{
    conf_stream(f, "FQ", "fq.>", PS_RETENTION_LIMITS);
    ps_consumer_config cc = {.durable = "D", .filter_subject = "fq.x"};
    conf_consumer(f, "FQ", &cc);
    cc.filter_subject = NULL; /* the update drops the filter; the signal keeps it */
    ps_consumer *c = conf_consumer(f, "FQ", &cc);
    ps_pull *p = conf_pull_start(c, (ps_fetch_request){.batch = 2, .expires_ns = 5 * PS_NS_PER_SEC});
    conf_pub(f, "fq.x", "1");
    conf_pub(f, "fq.y", "2"); /* stored, but nobody is signalled */
    conf_pulled r;
    conf_pull_collect(f, p, false, &r);
    assert_int_equal(r.count, 1);
    ps_msg_list *l = NULL;
    ps_fetch_request req = {.batch = 3};
    conf_expect_error(conf_fetch_req(c, &req, &l), PS_ERR_TIMEOUT, 0, NULL);
    conf_pull_collect(f, p, true, &r); /* what came since the last collect */
    assert_int_equal(r.count, 1);
    assert_int_equal(r.msgs[0]->meta.stream_seq, 2);
    assert_int_equal(r.end.status, PS_OK); /* its batch is full */
}
