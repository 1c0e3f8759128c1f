/* conf_data.c — stream data operations: get, delete and purge messages,
 * and what a purge does to consumers (docs/MODEL.md, JS 10).
 *
 * Not here: purge keeping LastSeq (conf_limits.c, JS 3.11).
 */
#include "conformance.h"

#include <string.h>

/* ---- §10.1 get message ------------------------------------------------------------ */

/* JS 10.1: get by sequence returns subject, headers, data, seq and time. */
CONF_TEST(test_js10_1_get_by_sequence)
{
    conf_stream(f, "GM", "gm.>", PS_RETENTION_LIMITS);
    conf_pub(f, "gm.a", "first");
    conf_pub_id(f, "gm.b", "second", "id-42");
    const ps_stored_msg *m = conf_msg_get(f, "GM", 2, NULL);
    assert_string_equal(m->subject, "gm.b");
    assert_int_equal(m->seq, 2);
    assert_int_equal(m->len, 6);
    assert_memory_equal(m->data, "second", 6);
    assert_true(m->timestamp_ns > 0);
    assert_non_null(m->hdr);
    static const char want[] = PS_HDR_MSG_ID ": id-42\r\n";
    assert_non_null(memmem(m->hdr, m->hdr_len, want, sizeof want - 1));
}

/* JS 10.1: last_by_subj returns the newest message on that subject. */
CONF_TEST(test_js10_1_get_last_by_subject)
{
    conf_stream(f, "GL", "gl.>", PS_RETENTION_LIMITS);
    conf_pub(f, "gl.a", "1");
    conf_pub(f, "gl.b", "2");
    conf_pub(f, "gl.a", "3");
    const ps_stored_msg *m = conf_msg_get(f, "GL", 0, "gl.a");
    assert_int_equal(m->seq, 3);
    assert_memory_equal(m->data, "3", 1);
}

/* JS 10.1: a missing, deleted or future seq, or a subject with nothing ->
 * 10037 "no message found". */
CONF_TEST(test_js10_1_get_missing_message_10037)
{
    conf_stream(f, "GX", "gx.>", PS_RETENTION_LIMITS);
    conf_pub_n(f, "gx.a", 3);
    conf_ok(ps_msg_delete(f->b, "GX", 2, false));
    ps_stored_msg m = {0};
    conf_expect_error(ps_msg_get(f->b, "GX", 2, NULL, &m), PS_ERR_MSG_NOT_FOUND, 10037,
                      "no message found");
    conf_expect_error(ps_msg_get(f->b, "GX", 99, NULL, &m), PS_ERR_MSG_NOT_FOUND, 10037, NULL);
    conf_expect_error(ps_msg_get(f->b, "GX", 0, "gx.none", &m), PS_ERR_MSG_NOT_FOUND, 10037,
                      NULL);
}

/* JS 10.1: get on a missing stream -> 10059. */
CONF_TEST(test_js10_1_get_on_missing_stream_10059)
{
    ps_stored_msg m = {0};
    conf_expect_error(ps_msg_get(f->b, "NOSUCH", 1, NULL, &m), PS_ERR_STREAM_NOT_FOUND, 10059,
                      NULL);
}

/* ---- §10.2 delete message ------------------------------------------------------------- */

/* JS 10.2 (quirk): deleting a missing seq on memory storage -> 10043
 * "sequence N not found". */
CONF_TEST(test_js10_2_delete_missing_seq_memory_10043)
{
    ps_stream_config c = {.name = "DM", CONF_SUBJ("dm"), .storage = PS_STORAGE_MEMORY};
    conf_stream_cfg(f, &c);
    conf_pub(f, "dm", "x");
    conf_expect_error(ps_msg_delete(f->b, "DM", 5, false), PS_ERR_MSG_NOT_FOUND, 10043,
                      "sequence 5 not found");
}

/* JS 10.2 (quirk), corrected against nats-server 2.9.10: on file storage a
 * seq past the last is 10057 "stream store EOF", while a deleted interior
 * seq is 10043 "sequence N not found" as on memory storage. */
CONF_TEST(test_js10_2_delete_missing_seq_file_10057)
{
    ps_stream_config c = {.name = "DF", CONF_SUBJ("df"), .storage = PS_STORAGE_FILE};
    conf_stream_cfg(f, &c);
    conf_pub_n(f, "df", 3);
    conf_expect_error(ps_msg_delete(f->b, "DF", 5, false), PS_ERR_MSG_NOT_FOUND, 10057,
                      "stream store EOF");
    conf_ok(ps_msg_delete(f->b, "DF", 2, false));
    conf_expect_error(ps_msg_delete(f->b, "DF", 2, false), PS_ERR_MSG_NOT_FOUND, 10043,
                      "sequence 2 not found");
}

/* JS 10.2: deleting the first message advances FirstSeq; an interior
 * delete counts in NumDeleted. Erase behaves the same. */
CONF_TEST(test_js10_2_delete_first_and_interior)
{
    conf_stream(f, "DI", "di", PS_RETENTION_LIMITS);
    conf_pub_n(f, "di", 4);
    conf_ok(ps_msg_delete(f->b, "DI", 1, false));
    ps_stream_state st = conf_state(f, "DI");
    assert_int_equal(st.first_seq, 2);
    assert_int_equal(st.num_deleted, 0);
    conf_ok(ps_msg_delete(f->b, "DI", 3, true));
    st = conf_state(f, "DI");
    assert_int_equal(st.msgs, 2);
    assert_int_equal(st.first_seq, 2);
    assert_int_equal(st.last_seq, 4);
    assert_int_equal(st.num_deleted, 1);
}

/* ---- §10.3 purge ------------------------------------------------------------------------ */

/* JS 10.3: a filtered purge removes only that subject. */
CONF_TEST(test_js10_3_purge_by_subject)
{
    conf_stream(f, "PF", "pf.>", PS_RETENTION_LIMITS);
    conf_pub(f, "pf.a", "1");
    conf_pub(f, "pf.b", "2");
    conf_pub(f, "pf.a", "3");
    ps_purge_opts po = {.filter = "pf.a"};
    conf_ok(ps_stream_purge(f->b, "PF", &po, NULL));
    ps_stream_state st = conf_state(f, "PF");
    assert_int_equal(st.msgs, 1);
    assert_int_equal(st.first_seq, 2);
    assert_int_equal(st.last_seq, 3);
}

/* JS 10.3: seq purges everything below it. */
CONF_TEST(test_js10_3_purge_below_sequence)
{
    conf_stream(f, "PS", "ps", PS_RETENTION_LIMITS);
    conf_pub_n(f, "ps", 5);
    ps_purge_opts po = {.seq = 3};
    conf_ok(ps_stream_purge(f->b, "PS", &po, NULL));
    ps_stream_state st = conf_state(f, "PS");
    assert_int_equal(st.msgs, 3);
    assert_int_equal(st.first_seq, 3);
}

/* JS 10.3: keep leaves the newest k messages. */
CONF_TEST(test_js10_3_purge_keep_newest)
{
    conf_stream(f, "PK", "pk", PS_RETENTION_LIMITS);
    conf_pub_n(f, "pk", 5);
    ps_purge_opts po = {.keep = 2};
    conf_ok(ps_stream_purge(f->b, "PK", &po, NULL));
    ps_stream_state st = conf_state(f, "PK");
    assert_int_equal(st.msgs, 2);
    assert_int_equal(st.first_seq, 4);
}

/* JS 10.3: seq and keep together are rejected. */
CONF_TEST(test_js10_3_purge_seq_and_keep_invalid)
{
    conf_stream(f, "PI", "pi", PS_RETENTION_LIMITS);
    conf_pub_n(f, "pi", 3);
    ps_purge_opts po = {.seq = 2, .keep = 1};
    conf_expect_error(ps_stream_purge(f->b, "PI", &po, NULL), PS_ERR_INVALID_ARG, 0, NULL);
    assert_int_equal(conf_state(f, "PI").msgs, 3);
}

/* JS 10.3: a full purge moves the consumer past it: floor up to the new
 * first, all pending cleared, new messages delivered next. */
CONF_TEST(test_js10_3_purge_resets_consumer_state)
{
    conf_stream(f, "PC", "pc", PS_RETENTION_LIMITS);
    ps_consumer *c = conf_durable(f, "PC", "C", 0);
    conf_pub_n(f, "pc", 3);
    conf_fetch(c, 2, 2);
    conf_ok(ps_stream_purge(f->b, "PC", NULL, NULL));
    const ps_consumer_info *ci = conf_cinfo(c);
    assert_int_equal(ci->num_ack_pending, 0);
    assert_int_equal(ci->num_pending, 0);
    conf_expect_pair(ci->ack_floor, 2, 3);
    conf_expect_pair(ci->delivered, 2, 3);
    conf_pub(f, "pc", "after");
    conf_fetch_one(c, 4, 1);
}

/* JS 10.3 (E:misc): purge keep=1 after one delivery of three: delivered
 * (1,2), floor (1,2), ack pending 0, num_pending 1. */
CONF_TEST(test_js10_3_purge_keep_consumer_example)
{
    conf_stream(f, "PE", "pe", PS_RETENTION_LIMITS);
    ps_consumer *c = conf_durable(f, "PE", "P", 0);
    conf_pub_n(f, "pe", 3);
    conf_fetch_one(c, 1, 1);
    ps_purge_opts po = {.keep = 1};
    conf_ok(ps_stream_purge(f->b, "PE", &po, NULL));
    const ps_consumer_info *ci = conf_cinfo(c);
    conf_expect_pair(ci->delivered, 1, 2);
    conf_expect_pair(ci->ack_floor, 1, 2);
    assert_int_equal(ci->num_ack_pending, 0);
    assert_int_equal(ci->num_pending, 1);
    conf_fetch_one(c, 3, 1);
}

/* JS 10.3 (quirk, E:codechecks): on a WorkQueue a kept message that was
 * pending is stranded: not pending, not counted, never redelivered, and it
 * stays in the stream. */
CONF_TEST(test_js10_3_purge_strands_kept_pending_message)
{
    conf_stream(f, "PW", "pw", PS_RETENTION_WORKQUEUE);
    ps_consumer *c = conf_durable(f, "PW", "W", 300 * CONF_MS);
    conf_pub_n(f, "pw", 3);
    conf_fetch(c, 3, 3);
    ps_purge_opts po = {.keep = 1};
    conf_ok(ps_stream_purge(f->b, "PW", &po, NULL));
    assert_int_equal(conf_state(f, "PW").msgs, 1);
    conf_expect_counts(c, 0, 0, 0);
    conf_advance_ms(f, 300 + CONF_MARGIN_MS);
    conf_fetch_none(c);
    ps_stream_state st = conf_state(f, "PW");
    assert_int_equal(st.msgs, 1);
    assert_int_equal(st.first_seq, 3);
}
