/* conf_publish.c — publishing: PubAck, the order of checks, expectation
 * headers and the dedup window (docs/MODEL.md, JS 3.1-3.6, 3.12).
 *
 * Not here: limits and discard (conf_limits.c), retention (conf_retention.c).
 */
#include "conformance.h"

#include <string.h>

/* A plain limits stream "<name>" on "<subject>" (file storage). */
static void stream(conf_fixture *f, const char *name, const char *subject)
{
    conf_stream(f, name, subject, PS_RETENTION_LIMITS);
}

static ps_out_msg out_msg(const char *subject, const char *data)
{
    return (ps_out_msg){.subject = subject, .data = data, .len = strlen(data)};
}

static ps_pub_ack publish_ok(conf_fixture *f, const ps_out_msg *m)
{
    ps_pub_ack pa;
    conf_ok(ps_publish(f->b, m, &pa));
    return pa;
}

/* ---- §3.1-3.3 ------------------------------------------------------------- */

/* JS 3.2 / 3.11: the PubAck names the stream; sequences start at 1. */
CONF_TEST(test_js3_2_puback_names_stream_and_sequence)
{
    stream(f, "PA", "pa.>");
    ps_pub_ack pa = conf_pub_id(f, "pa.a", "x", NULL);
    assert_string_equal(pa.stream, "PA");
    assert_int_equal(pa.seq, 1);
    assert_false(pa.duplicate);
    pa = conf_pub_id(f, "pa.b", "y", NULL);
    assert_int_equal(pa.seq, 2);
}

/* JS 3.2 through ps_publish_async: every publish gets exactly one result,
 * tagged with its token, carrying the PubAck the sync path would have
 * given (sequence, duplicate) or its error (no stream: no responders);
 * complete() returns once all are in. */
typedef struct async_log {
    ps_pub_result r[16];
    int n;
} async_log;

static void on_pub_result(void *user, const ps_pub_result *r)
{
    async_log *log = user;
    if (log->n < 16)
        log->r[log->n] = *r;
    log->n++;
}

static const ps_pub_result *result_for(const async_log *log, uint64_t token)
{
    for (int i = 0; i < log->n && i < 16; i++)
        if (log->r[i].token == token)
            return &log->r[i];
    return NULL;
}

CONF_TEST(test_js3_2_async_publish_reports_each_puback)
{
    stream(f, "AP", "ap.>");
    static async_log log;
    memset(&log, 0, sizeof log);
    ps_backend_set_pub_result_handler(f->b, on_pub_result, &log);
    for (uint64_t t = 1; t <= 4; t++) {
        ps_out_msg m = out_msg("ap.a", "x");
        m.msg_id = t == 4 ? "id-1" : (t == 1 ? "id-1" : NULL); /* 4 repeats 1's id */
        conf_ok(ps_publish_async(f->b, &m, 100 + t));
    }
    ps_out_msg lost = out_msg("nostream.a", "x");
    conf_ok(ps_publish_async(f->b, &lost, 200));
    conf_ok(ps_publish_async_complete(f->b, 2000 * CONF_MS));
    ps_backend_set_pub_result_handler(f->b, NULL, NULL);
    assert_int_equal(log.n, 5);
    for (uint64_t t = 1; t <= 3; t++) {
        const ps_pub_result *r = result_for(&log, 100 + t);
        assert_non_null(r);
        assert_int_equal(r->status, PS_OK);
        assert_string_equal(r->ack.stream, "AP");
        assert_int_equal(r->ack.seq, t);
        assert_false(r->ack.duplicate);
    }
    const ps_pub_result *dup = result_for(&log, 104);
    assert_non_null(dup);
    assert_int_equal(dup->status, PS_OK);
    assert_true(dup->ack.duplicate);
    assert_int_equal(dup->ack.seq, 1);
    const ps_pub_result *nr = result_for(&log, 200);
    assert_non_null(nr);
    assert_int_equal(nr->status, PS_ERR_NO_RESPONDERS);
    assert_int_equal(conf_state(f, "AP").msgs, 3);
}

/* JS 3.1: a captured message is stored with its subject and data. */
CONF_TEST(test_js3_1_published_message_is_stored)
{
    stream(f, "ST", "st.>");
    const ps_stored_msg *m = conf_msg_get(f, "ST", conf_pub(f, "st.a", "hello"), NULL);
    assert_string_equal(m->subject, "st.a");
    assert_int_equal(m->len, 5);
    assert_memory_equal(m->data, "hello", 5);
}

/* JS 3.3: no stream captures the subject -> no responders (cnats labels
 * it 10076). */
CONF_TEST(test_js3_3_no_stream_is_no_responders)
{
    stream(f, "NR", "nr.>");
    conf_expect_error(ps_publish_data(f->b, "elsewhere.a", "x", 1, NULL, NULL),
                      PS_ERR_NO_RESPONDERS, 10076, NULL);
    assert_int_equal(conf_state(f, "NR").last_seq, 0);
}

/* ---- §3.4 the order of checks ------------------------------------------------ */

/* JS 3.4 step 1 before 2: sealed wins over a wrong expected stream. */
CONF_TEST(test_js3_4_sealed_checked_before_expected_stream)
{
    ps_stream_config c = {.name = "SL", CONF_SUBJ("sl")};
    conf_stream_cfg(f, &c);
    c.sealed = true;
    conf_stream_update(f, &c);
    ps_out_msg m = out_msg("sl", "x");
    m.expected_stream = "OTHER";
    conf_pub_fail(f, &m, PS_ERR_STREAM_SEALED, 10109, NULL);
}

/* JS 3.4 step 2: Nats-Expected-Stream must name the capturing stream. */
CONF_TEST(test_js3_4_expected_stream_mismatch_10060)
{
    stream(f, "ES", "es");
    ps_out_msg m = out_msg("es", "x");
    m.expected_stream = "OTHER";
    conf_pub_fail(f, &m, PS_ERR_WRONG_EXPECTED_STREAM, 10060, "expected stream does not match");
    m.expected_stream = "ES";
    assert_int_equal(publish_ok(f, &m).seq, 1);
}

/* JS 3.4 step 2 before 3: a wrong expected stream fails even for a
 * duplicate id. */
CONF_TEST(test_js3_4_expected_stream_checked_before_dedup)
{
    stream(f, "EB", "eb");
    conf_pub_id(f, "eb", "x", "id-1");
    ps_out_msg m = out_msg("eb", "x");
    m.msg_id = "id-1";
    m.expected_stream = "OTHER";
    conf_pub_fail(f, &m, PS_ERR_WRONG_EXPECTED_STREAM, 10060, NULL);
}

/* JS 3.4 step 3 before 4-6: a duplicate wins over wrong expectations. */
CONF_TEST(test_js3_4_duplicate_wins_over_wrong_expectations)
{
    stream(f, "DW", "dw.>");
    conf_pub_id(f, "dw.a", "x", "job-1");
    conf_pub_id(f, "dw.b", "y", "job-2");
    ps_out_msg m = out_msg("dw.a", "x");
    m.msg_id = "job-1";
    m.has_expected_last_seq = true;
    m.expected_last_seq = 99;
    m.has_expected_last_subject_seq = true;
    m.expected_last_subject_seq = 42;
    m.expected_last_msg_id = "nope";
    ps_pub_ack pa = publish_ok(f, &m);
    assert_true(pa.duplicate);
    assert_int_equal(pa.seq, 1);
    assert_int_equal(conf_state(f, "DW").last_seq, 2);
}

/* JS 3.4 step 4 before 5: the subject check reports the subject's last
 * seq; with it right, the stream check reports the stream's. */
CONF_TEST(test_js3_4_subject_seq_checked_before_last_seq)
{
    stream(f, "SS", "ss.>");
    conf_pub(f, "ss.x", "1");
    conf_pub(f, "ss.y", "2");
    ps_out_msg m = out_msg("ss.x", "3");
    m.has_expected_last_subject_seq = true;
    m.expected_last_subject_seq = 5;
    m.has_expected_last_seq = true;
    m.expected_last_seq = 7;
    conf_pub_fail(f, &m, PS_ERR_WRONG_LAST_SEQUENCE, 10071, "wrong last sequence: 1");
    m.expected_last_subject_seq = 1;
    conf_pub_fail(f, &m, PS_ERR_WRONG_LAST_SEQUENCE, 10071, "wrong last sequence: 2");
}

/* JS 3.4 step 5 before 6: a wrong last seq is reported, not the msg id. */
CONF_TEST(test_js3_4_last_seq_checked_before_last_msg_id)
{
    stream(f, "LM", "lm");
    conf_pub_id(f, "lm", "x", "a");
    ps_out_msg m = out_msg("lm", "y");
    m.has_expected_last_seq = true;
    m.expected_last_seq = 5;
    m.expected_last_msg_id = "zzz";
    conf_pub_fail(f, &m, PS_ERR_WRONG_LAST_SEQUENCE, 10071, "wrong last sequence: 1");
}

/* JS 3.4 step 4-6 before 8: expectations are checked before size. */
CONF_TEST(test_js3_4_expectations_checked_before_max_msg_size)
{
    ps_stream_config c = {.name = "EM", CONF_SUBJ("em"), .max_msg_size = 10};
    conf_stream_cfg(f, &c);
    ps_out_msg m = out_msg("em", "0123456789abcdefghij");
    m.has_expected_last_seq = true;
    m.expected_last_seq = 3;
    conf_pub_fail(f, &m, PS_ERR_WRONG_LAST_SEQUENCE, 10071, NULL);
    m.has_expected_last_seq = false;
    conf_pub_fail(f, &m, PS_ERR_MSG_TOO_LARGE, 10054, NULL);
}

/* JS 3.4 step 8: len(hdr)+len(payload) > MaxMsgSize; headers count. */
CONF_TEST(test_js3_4_max_msg_size_counts_headers_10054)
{
    ps_stream_config c = {.name = "MS", CONF_SUBJ("ms"), .max_msg_size = 10};
    conf_stream_cfg(f, &c);
    conf_pub(f, "ms", "12345");
    conf_pub(f, "ms", "1234567890"); /* exactly the limit */
    ps_out_msg big = out_msg("ms", "12345678901");
    conf_pub_fail(f, &big, PS_ERR_MSG_TOO_LARGE, 10054, "message size exceeds maximum allowed");
    ps_out_msg with_id = out_msg("ms", "12345");
    with_id.msg_id = "m";
    conf_pub_fail(f, &with_id, PS_ERR_MSG_TOO_LARGE, 10054, NULL);
    assert_int_equal(conf_state(f, "MS").msgs, 2);
}

/* JS 3.4 step 9: a header block longer than 65535 bytes -> 10097 (the
 * status is not pinned: the contract has no dedicated one). */
CONF_TEST(test_js3_4_header_over_64k_10097)
{
    stream(f, "HB", "hb");
    static char value[70000];
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    ps_headers *h = conf_headers();
    conf_ok(ps_headers_add(h, "X-Big", value));
    ps_out_msg m = out_msg("hb", "x");
    m.headers = h;
    ps_pub_ack pa;
    ps_status s = ps_publish(f->b, &m, &pa);
    assert_int_not_equal(s, PS_OK);
    assert_int_equal(ps_last_error_code(), 10097);
    assert_int_equal(conf_state(f, "HB").last_seq, 0);
}

/* JS 3.4: a failed check consumes no sequence. */
CONF_TEST(test_js3_4_failed_checks_consume_no_sequence)
{
    ps_stream_config c = {.name = "NS", CONF_SUBJ("ns"), .max_msg_size = 8};
    conf_stream_cfg(f, &c);
    conf_pub_n(f, "ns", 2);
    ps_out_msg m = out_msg("ns", "x");
    m.has_expected_last_seq = true;
    m.expected_last_seq = 1;
    conf_pub_fail(f, &m, PS_ERR_WRONG_LAST_SEQUENCE, 10071, NULL);
    ps_out_msg e = out_msg("ns", "x");
    e.expected_stream = "ZZ";
    conf_pub_fail(f, &e, PS_ERR_WRONG_EXPECTED_STREAM, 10060, NULL);
    ps_out_msg big = out_msg("ns", "0123456789");
    conf_pub_fail(f, &big, PS_ERR_MSG_TOO_LARGE, 10054, NULL);
    assert_int_equal(conf_state(f, "NS").last_seq, 2);
    assert_int_equal(conf_pub(f, "ns", "x"), 3);
}

/* JS 3.4: a failed expectation does not record the Msg-Id; a retry with
 * the same id is stored. */
CONF_TEST(test_js3_4_failed_expectation_does_not_record_msg_id)
{
    stream(f, "FR", "fr");
    ps_out_msg m = out_msg("fr", "x");
    m.msg_id = "retry-1";
    m.has_expected_last_seq = true;
    m.expected_last_seq = 9;
    conf_pub_fail(f, &m, PS_ERR_WRONG_LAST_SEQUENCE, 10071, "wrong last sequence: 0");
    m.has_expected_last_seq = false;
    ps_pub_ack pa = publish_ok(f, &m);
    assert_false(pa.duplicate);
    assert_int_equal(pa.seq, 1);
}

/* ---- §3.5 expectation headers ------------------------------------------------- */

/* JS 3.5: Expected-Last-Sequence compares with the last assigned seq,
 * whether or not that message still exists. */
CONF_TEST(test_js3_5_expected_last_seq_uses_last_assigned)
{
    stream(f, "EL", "el");
    conf_pub_n(f, "el", 3);
    conf_ok(ps_msg_delete(f->b, "EL", 3, false));
    ps_out_msg m = out_msg("el", "x");
    m.has_expected_last_seq = true;
    m.expected_last_seq = 3;
    assert_int_equal(publish_ok(f, &m).seq, 4);
    conf_pub_fail(f, &m, PS_ERR_WRONG_LAST_SEQUENCE, 10071, "wrong last sequence: 4");
}

/* JS 3.5: Expected-Last-Subject-Sequence 0 means "nothing on this
 * subject yet". */
CONF_TEST(test_js3_5_expected_subject_seq_zero_means_none)
{
    stream(f, "EZ", "ez.>");
    conf_pub(f, "ez.other", "x");
    ps_out_msg m = out_msg("ez.a", "x");
    m.has_expected_last_subject_seq = true;
    m.expected_last_subject_seq = 0;
    assert_int_equal(publish_ok(f, &m).seq, 2);
    conf_pub_fail(f, &m, PS_ERR_WRONG_LAST_SEQUENCE, 10071, "wrong last sequence: 2");
    m.expected_last_subject_seq = 2;
    assert_int_equal(publish_ok(f, &m).seq, 3);
}

/* JS 3.5: the subject check looks at exactly this subject only. */
CONF_TEST(test_js3_5_expected_subject_seq_ignores_other_subjects)
{
    stream(f, "EO", "eo.>");
    conf_pub(f, "eo.a", "1");
    conf_pub(f, "eo.b", "2");
    conf_pub(f, "eo.b", "3");
    ps_out_msg m = out_msg("eo.a", "4");
    m.has_expected_last_subject_seq = true;
    m.expected_last_subject_seq = 1;
    assert_int_equal(publish_ok(f, &m).seq, 4);
}

/* JS 3.5: Expected-Last-Msg-Id compares with the last stored message's id. */
CONF_TEST(test_js3_5_expected_last_msg_id_10070)
{
    stream(f, "EI", "ei");
    conf_pub_id(f, "ei", "x", "m1");
    ps_out_msg m = out_msg("ei", "y");
    m.msg_id = "m2";
    m.expected_last_msg_id = "m1";
    assert_int_equal(publish_ok(f, &m).seq, 2);
    m.msg_id = "m3";
    conf_pub_fail(f, &m, PS_ERR_WRONG_LAST_MSG_ID, 10070, "wrong last msg ID: m2");
}

/* JS 3.5: a message without an id resets "last id" to "". */
CONF_TEST(test_js3_5_message_without_id_resets_last_msg_id)
{
    stream(f, "RI", "ri");
    conf_pub_id(f, "ri", "x", "a");
    conf_pub(f, "ri", "no id");
    ps_out_msg m = out_msg("ri", "y");
    m.expected_last_msg_id = "a";
    conf_pub_fail(f, &m, PS_ERR_WRONG_LAST_MSG_ID, 10070, "wrong last msg ID: ");
    assert_null(strstr(ps_last_error(), "ID: a"));
}

/* ---- §3.6 the dedup window -------------------------------------------------------- */

/* JS 3.6: a duplicate returns the original seq and stores nothing. */
CONF_TEST(test_js3_6_duplicate_returns_original_seq)
{
    stream(f, "DU", "du");
    conf_pub_id(f, "du", "x", "d1");
    conf_pub(f, "du", "y");
    ps_pub_ack pa = conf_pub_id(f, "du", "x", "d1");
    assert_true(pa.duplicate);
    assert_int_equal(pa.seq, 1);
    assert_string_equal(pa.stream, "DU");
    ps_stream_state st = conf_state(f, "DU");
    assert_int_equal(st.msgs, 2);
    assert_int_equal(st.last_seq, 2);
}

/* JS 3.6: dedup is keyed by id only, not by subject. */
CONF_TEST(test_js3_6_dedup_ignores_subject)
{
    stream(f, "DS", "ds.>");
    conf_pub_id(f, "ds.a", "x", "same");
    ps_pub_ack pa = conf_pub_id(f, "ds.b", "y", "same");
    assert_true(pa.duplicate);
    assert_int_equal(pa.seq, 1);
    assert_int_equal(conf_state(f, "DS").msgs, 1);
}

/* JS 3.6: an entry expires when now - store_ts >= Duplicates
 * (500 ms window: duplicate at +200 ms, new at +800 ms). */
CONF_TEST(test_js3_6_dedup_entry_expires_after_window)
{
    ps_stream_config c = {.name = "DX", CONF_SUBJ("dx"), .duplicates_ns = 500 * CONF_MS};
    conf_stream_cfg(f, &c);
    conf_pub_id(f, "dx", "x", "w");
    conf_advance_ms(f, 200);
    assert_true(conf_pub_id(f, "dx", "x", "w").duplicate);
    conf_advance_ms(f, 600);
    ps_pub_ack pa = conf_pub_id(f, "dx", "x", "w");
    assert_false(pa.duplicate);
    assert_int_equal(pa.seq, 2);
}

/* JS 3.6: entries outlive deleted and purged messages. */
CONF_TEST(test_js3_6_dedup_survives_delete_and_purge)
{
    stream(f, "DP", "dp");
    conf_pub_id(f, "dp", "x", "gone-1");
    conf_pub_id(f, "dp", "x", "gone-2");
    conf_ok(ps_msg_delete(f->b, "DP", 1, false));
    ps_pub_ack pa = conf_pub_id(f, "dp", "x", "gone-1");
    assert_true(pa.duplicate);
    assert_int_equal(pa.seq, 1);
    conf_ok(ps_stream_purge(f->b, "DP", NULL, NULL));
    pa = conf_pub_id(f, "dp", "x", "gone-2");
    assert_true(pa.duplicate);
    assert_int_equal(pa.seq, 2);
    assert_int_equal(conf_state(f, "DP").msgs, 0);
}

/* JS 3.6: re-enqueueing a job with the same id after it was acked out of
 * a WorkQueue is a duplicate, and nothing is enqueued. */
CONF_TEST(test_js3_6_workqueue_reenqueue_after_ack_is_duplicate)
{
    conf_stream(f, "JQ", "jq", PS_RETENTION_WORKQUEUE);
    ps_consumer *c = conf_durable(f, "JQ", "W", 0);
    conf_pub_id(f, "jq", "job", "job-1");
    conf_ack(conf_fetch_one(c, 1, 1), PS_ACK);
    assert_int_equal(conf_state(f, "JQ").msgs, 0);
    ps_pub_ack pa = conf_pub_id(f, "jq", "job", "job-1");
    assert_true(pa.duplicate);
    assert_int_equal(pa.seq, 1);
    assert_int_equal(conf_state(f, "JQ").msgs, 0);
    conf_fetch_none(c);
}

/* JS 3.6 (quirk): on an Interest stream with no consumer the message was
 * never stored; its duplicate answers with seq 0. */
CONF_TEST(test_js3_6_interest_without_consumer_duplicate_has_seq_0)
{
    conf_stream(f, "IQ", "iq", PS_RETENTION_INTEREST);
    ps_pub_ack pa = conf_pub_id(f, "iq", "x", "lost");
    assert_false(pa.duplicate);
    assert_int_equal(pa.seq, 1);
    pa = conf_pub_id(f, "iq", "x", "lost");
    assert_true(pa.duplicate);
    assert_int_equal(pa.seq, 0);
}

/* JS 3.12: NoAck stores the message but sends no PubAck, so the publish
 * times out. (On a server this costs one publish timeout of real time.) */
CONF_TEST(test_js3_12_no_ack_stream_stores_without_puback)
{
    ps_stream_config c = {.name = "NA", CONF_SUBJ("na"), .no_ack = true};
    conf_stream_cfg(f, &c);
    conf_expect_error(ps_publish_data(f->b, "na", "x", 1, NULL, NULL), PS_ERR_TIMEOUT, 0, NULL);
    ps_stream_state st = conf_state(f, "NA");
    assert_int_equal(st.msgs, 1);
    assert_int_equal(st.last_seq, 1);
}
