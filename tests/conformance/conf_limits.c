/* conf_limits.c — stream limits, discard policies, byte accounting, MaxAge
 * and the sequence rules that go with them (docs/MODEL.md, JS 3.7-3.11, 4.7).
 *
 * Not here: the publish checks before storage (conf_publish.c).
 */
#include "conformance.h"

#include <string.h>

/* 6-byte subject and 10-byte payload: 32 bytes stored in memory (JS 3.9). */
#define SUBJ6 "lm.abc"
#define DATA10 "0123456789"

/* JS 3.7: Discard=Old drops the oldest messages while msgs > MaxMsgs. */
CONF_TEST(test_js3_7_max_msgs_discard_old_drops_oldest)
{
    ps_stream_config c = {.name = "MM", CONF_SUBJ("mm"), .max_msgs = 3};
    conf_stream_cfg(f, &c);
    conf_pub_n(f, "mm", 5);
    ps_stream_state st = conf_state(f, "MM");
    assert_int_equal(st.msgs, 3);
    assert_int_equal(st.first_seq, 3);
    assert_int_equal(st.last_seq, 5);
}

/* JS 3.7 / 3.9: Discard=Old drops the oldest while bytes > MaxBytes, with
 * memory-storage bytes len(subj)+len(payload)+16. */
CONF_TEST(test_js3_7_max_bytes_discard_old_drops_oldest)
{
    uint64_t per = strlen(SUBJ6) + strlen(DATA10) + 16;
    ps_stream_config c = {.name = "MB", CONF_SUBJ("lm.>"), .storage = PS_STORAGE_MEMORY,
                          .max_bytes = (int64_t)(3 * per)};
    conf_stream_cfg(f, &c);
    for (int i = 0; i < 3; i++)
        conf_pub(f, SUBJ6, DATA10);
    assert_int_equal(conf_state(f, "MB").msgs, 3);
    conf_pub(f, SUBJ6, DATA10);
    ps_stream_state st = conf_state(f, "MB");
    assert_int_equal(st.msgs, 3);
    assert_int_equal(st.first_seq, 2);
    assert_int_equal(st.bytes, 3 * per);
}

/* JS 3.7: MaxMsgsPerSubject drops the oldest on that subject only. */
CONF_TEST(test_js3_7_max_msgs_per_subject_drops_oldest_of_subject)
{
    ps_stream_config c = {.name = "PS", CONF_SUBJ("ps.>"), .max_msgs_per_subject = 1};
    conf_stream_cfg(f, &c);
    conf_pub(f, "ps.a", "1");
    conf_pub(f, "ps.b", "2");
    conf_pub(f, "ps.a", "3");
    ps_stream_state st = conf_state(f, "PS");
    assert_int_equal(st.msgs, 2);
    assert_int_equal(st.first_seq, 2);
    assert_int_equal(conf_msg_get(f, "PS", 0, "ps.a")->seq, 3);
}

/* JS 3.8: Discard=New rejects at msgs >= MaxMsgs with 10077; no seq used. */
CONF_TEST(test_js3_8_max_msgs_discard_new_rejects_10077)
{
    ps_stream_config c = {.name = "NM", CONF_SUBJ("nm"), .max_msgs = 2, .discard = PS_DISCARD_NEW};
    conf_stream_cfg(f, &c);
    conf_pub_n(f, "nm", 2);
    conf_expect_error(ps_publish_data(f->b, "nm", "x", 1, NULL, NULL), PS_ERR_STORE_FAILED, 10077,
                      "maximum messages exceeded");
    ps_stream_state st = conf_state(f, "NM");
    assert_int_equal(st.msgs, 2);
    assert_int_equal(st.first_seq, 1);
    assert_int_equal(st.last_seq, 2);
}

/* JS 3.8 (E:limits): memory, MaxBytes=100, 32-byte messages: 3 accepted,
 * the 4th rejected. */
CONF_TEST(test_js3_8_max_bytes_discard_new_rejects_10077)
{
    ps_stream_config c = {.name = "NB", CONF_SUBJ("lm.>"), .storage = PS_STORAGE_MEMORY,
                          .max_bytes = 100, .discard = PS_DISCARD_NEW};
    conf_stream_cfg(f, &c);
    for (int i = 0; i < 3; i++)
        conf_pub(f, SUBJ6, DATA10);
    assert_int_equal(conf_state(f, "NB").bytes, 96);
    conf_expect_error(ps_publish_data(f->b, SUBJ6, DATA10, 10, NULL, NULL), PS_ERR_STORE_FAILED,
                      10077, "maximum bytes exceeded");
    assert_int_equal(conf_state(f, "NB").msgs, 3);
}

/* JS 3.8: the test is stored + len(hdr)+len(payload) >= MaxBytes: with 32
 * bytes stored, a 10-byte payload makes exactly 42, rejected at MaxBytes=42. */
CONF_TEST(test_js3_8_max_bytes_discard_new_uses_greater_or_equal)
{
    ps_stream_config c = {.name = "NE", CONF_SUBJ("lm.>"), .storage = PS_STORAGE_MEMORY,
                          .max_bytes = 42, .discard = PS_DISCARD_NEW};
    conf_stream_cfg(f, &c);
    conf_pub(f, SUBJ6, DATA10); /* 0 + 10 < 42 */
    assert_int_equal(conf_state(f, "NE").bytes, 32);
    conf_expect_error(ps_publish_data(f->b, SUBJ6, DATA10, 10, NULL, NULL), PS_ERR_STORE_FAILED,
                      10077, "maximum bytes exceeded");
    ps_stream_state st = conf_state(f, "NE");
    assert_int_equal(st.msgs, 1);
    assert_int_equal(st.last_seq, 1);
}

/* JS 3.8: at the per-subject limit without DiscardNewPerSubject the old
 * message is replaced, even with Discard=New. */
CONF_TEST(test_js3_8_per_subject_limit_replaces_without_discard_new_per_subject)
{
    ps_stream_config c = {.name = "RS", CONF_SUBJ("rs.>"), .discard = PS_DISCARD_NEW,
                          .max_msgs_per_subject = 1};
    conf_stream_cfg(f, &c);
    conf_pub(f, "rs.a", "1");
    conf_pub(f, "rs.a", "2");
    ps_stream_state st = conf_state(f, "RS");
    assert_int_equal(st.msgs, 1);
    assert_int_equal(st.first_seq, 2);
}

/* JS 3.8: with DiscardNewPerSubject the publish is rejected with 10077. */
CONF_TEST(test_js3_8_discard_new_per_subject_rejects_10077)
{
    ps_stream_config c = {.name = "DN", CONF_SUBJ("dn.>"), .discard = PS_DISCARD_NEW,
                          .discard_new_per_subject = true, .max_msgs_per_subject = 1};
    conf_stream_cfg(f, &c);
    conf_pub(f, "dn.a", "1");
    conf_expect_error(ps_publish_data(f->b, "dn.a", "2", 1, NULL, NULL), PS_ERR_STORE_FAILED,
                      10077, "maximum messages per subject exceeded");
    conf_pub(f, "dn.b", "3"); /* another subject is fine */
    ps_stream_state st = conf_state(f, "DN");
    assert_int_equal(st.msgs, 2);
    assert_int_equal(st.last_seq, 2);
}

/* JS 3.9: memory storage counts len(subj)+len(hdr)+len(payload)+16 per
 * message, header length as ps_out_msg_header_len gives it. */
CONF_TEST(test_js3_9_memory_bytes_formula)
{
    ps_stream_config c = {.name = "BY", CONF_SUBJ("lm.>"), .storage = PS_STORAGE_MEMORY};
    conf_stream_cfg(f, &c);
    conf_pub(f, SUBJ6, DATA10);
    assert_int_equal(conf_state(f, "BY").bytes, 32);
    ps_out_msg m = {.subject = SUBJ6, .data = DATA10, .len = 10, .msg_id = "1"};
    size_t hdr = ps_out_msg_header_len(&m);
    assert_true(hdr > 0);
    ps_pub_ack pa;
    conf_ok(ps_publish(f->b, &m, &pa));
    assert_int_equal(conf_state(f, "BY").bytes, 32 + 6 + hdr + 10 + 16);
    conf_ok(ps_msg_delete(f->b, "BY", 1, false));
    assert_int_equal(conf_state(f, "BY").bytes, 6 + hdr + 10 + 16);
}

/* JS 3.9: file storage counts 22+len(subj)+len(payload)+8, plus
 * 4+len(hdr) with headers (E:limits: 46 and 78). */
CONF_TEST(test_js3_9_file_bytes_formula)
{
    ps_stream_config c = {.name = "BF", CONF_SUBJ("lm.>"), .storage = PS_STORAGE_FILE};
    conf_stream_cfg(f, &c);
    conf_pub(f, SUBJ6, DATA10);
    assert_int_equal(conf_state(f, "BF").bytes, 46);
    ps_out_msg m = {.subject = SUBJ6, .data = DATA10, .len = 10, .msg_id = "1"};
    size_t hdr = ps_out_msg_header_len(&m);
    ps_pub_ack pa;
    conf_ok(ps_publish(f->b, &m, &pa));
    assert_int_equal(conf_state(f, "BF").bytes, 46 + 46 + 4 + hdr);
}

/* JS 3.10 / 3.11: MaxAge removes old messages; a fully expired stream shows
 * first = last + 1, msgs = 0. */
CONF_TEST(test_js3_10_max_age_removes_expired_messages)
{
    ps_stream_config c = {.name = "AG", CONF_SUBJ("ag"), .max_age_ns = 200 * CONF_MS};
    conf_stream_cfg(f, &c);
    conf_pub(f, "ag", "old");
    conf_advance_ms(f, 150);
    conf_pub(f, "ag", "new");
    assert_int_equal(conf_state(f, "AG").msgs, 2);
    conf_advance_ms(f, 50 + 2 * CONF_MARGIN_MS); /* old is 320 ms old, new 170 ms */
    ps_stream_state st = conf_state(f, "AG");
    assert_int_equal(st.msgs, 1);
    assert_int_equal(st.first_seq, 2);
    conf_advance_ms(f, 150);
    st = conf_state(f, "AG");
    assert_int_equal(st.msgs, 0);
    assert_int_equal(st.first_seq, 3);
    assert_int_equal(st.last_seq, 2);
    assert_int_equal(conf_pub(f, "ag", "x"), 3);
}

/* JS 3.11: purge keeps LastSeq; FirstSeq = LastSeq+1; no seq is reused. */
CONF_TEST(test_js3_11_purge_keeps_last_seq)
{
    conf_stream(f, "PG", "pg", PS_RETENTION_LIMITS);
    conf_pub_n(f, "pg", 9);
    conf_ok(ps_stream_purge(f->b, "PG", NULL, NULL));
    ps_stream_state st = conf_state(f, "PG");
    assert_int_equal(st.msgs, 0);
    assert_int_equal(st.first_seq, 10);
    assert_int_equal(st.last_seq, 9);
    assert_int_equal(conf_pub(f, "pg", "x"), 10);
}

/* JS 3.11: deleting every message keeps the sequence going. */
CONF_TEST(test_js3_11_deleted_stream_reports_first_last_plus_one)
{
    conf_stream(f, "DA", "da", PS_RETENTION_LIMITS);
    conf_pub_n(f, "da", 2);
    conf_ok(ps_msg_delete(f->b, "DA", 1, false));
    conf_ok(ps_msg_delete(f->b, "DA", 2, false));
    ps_stream_state st = conf_state(f, "DA");
    assert_int_equal(st.msgs, 0);
    assert_int_equal(st.first_seq, 3);
    assert_int_equal(st.last_seq, 2);
    assert_int_equal(conf_pub(f, "da", "x"), 3);
}

/* JS 4.7: limits bound every retention mode. */
CONF_TEST(test_js4_7_limits_apply_to_workqueue_streams)
{
    ps_stream_config c = {.name = "WL", CONF_SUBJ("wl"), .retention = PS_RETENTION_WORKQUEUE,
                          .max_msgs = 2};
    conf_stream_cfg(f, &c);
    conf_pub_n(f, "wl", 3);
    ps_stream_state st = conf_state(f, "WL");
    assert_int_equal(st.msgs, 2);
    assert_int_equal(st.first_seq, 2);
}
