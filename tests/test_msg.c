/* test_msg.c — unit tests of core/msg.c: headers and their wire encoding,
 * the JetStream headers of an outgoing message, the ack subject (JS 6.10),
 * lazy per-message state, and message-list reuse.
 *
 * Not a test of delivery: the conformance suite checks what backends put
 * into messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ps_msg.h"
#include "ps_backend_impl.h"

static void assert_error_has(const char *text)
{
    if (!strstr(ps_last_error(), text))
        fail_msg("last error \"%s\" does not contain \"%s\"", ps_last_error(), text);
}

/* ---- headers ------------------------------------------------------------------- */

static void test_headers_keep_order_and_copy_strings(void **state)
{
    (void)state;
    ps_headers *h = ps_headers_new();
    char name[8] = "B-Name", value[8] = "one";
    assert_int_equal(ps_headers_add(h, "A", "1"), PS_OK);
    assert_int_equal(ps_headers_add(h, name, value), PS_OK);
    assert_int_equal(ps_headers_add(h, "A", "2"), PS_OK);
    strcpy(name, "zzz");
    strcpy(value, "zzz");
    assert_int_equal(ps_headers_count(h), 3);
    assert_string_equal(ps_headers_name_at(h, 1), "B-Name");
    assert_string_equal(ps_headers_value_at(h, 1), "one");
    assert_string_equal(ps_headers_get(h, "A"), "1"); /* the first */
    assert_null(ps_headers_get(h, "a"));               /* case-sensitive */
    assert_null(ps_headers_name_at(h, 3));
    assert_null(ps_headers_value_at(h, -1));
    ps_headers_free(h);
    ps_headers_free(NULL);
}

static void test_headers_set_replaces_every_pair(void **state)
{
    (void)state;
    ps_headers *h = ps_headers_new();
    ps_headers_add(h, "X", "1");
    ps_headers_add(h, "Y", "y");
    ps_headers_add(h, "X", "2");
    assert_int_equal(ps_headers_set(h, "X", "3"), PS_OK);
    assert_int_equal(ps_headers_count(h), 2);
    assert_string_equal(ps_headers_name_at(h, 0), "Y");
    assert_string_equal(ps_headers_get(h, "X"), "3");
    assert_int_equal(ps_headers_set(h, "Z", "z"), PS_OK);
    assert_int_equal(ps_headers_count(h), 3);
    ps_headers_free(h);
}

static void test_headers_reject_bad_names_and_values(void **state)
{
    (void)state;
    ps_headers *h = ps_headers_new();
    const char *names[] = {"", "a:b", "a b", "a\tb", "a\x01", "a\x7f"};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(ps_headers_add(h, names[i], "v"), PS_ERR_INVALID_ARG);
        assert_true(strlen(ps_last_error()) > 0);
    }
    assert_int_equal(ps_headers_add(h, "N", "a\r\nX: injected"), PS_ERR_INVALID_ARG);
    assert_error_has("CR or LF");
    assert_int_equal(ps_headers_add(h, "N", "a\nb"), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_headers_add(h, NULL, "v"), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_headers_add(h, "N", NULL), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_headers_set(h, "a:b", "v"), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_headers_add(NULL, "N", "v"), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_headers_count(h), 0);
    assert_int_equal(ps_headers_add(h, "N", ""), PS_OK); /* empty values are fine */
    ps_headers_free(h);
}

/* JS 3.9: a message with only Nats-Msg-Id "x" carries a 28-byte block:
 * "NATS/1.0\r\n" (10) + "Nats-Msg-Id: x\r\n" (16) + "\r\n" (2). */
static void test_headers_wire_len_of_single_msg_id_is_28(void **state)
{
    (void)state;
    ps_headers *h = ps_headers_new();
    assert_int_equal(ps_headers_wire_len(h), 0);
    ps_headers_add(h, PS_HDR_MSG_ID, "x");
    assert_int_equal(ps_headers_wire_len(h), 28);
    ps_headers_add(h, "A", "bc");
    assert_int_equal(ps_headers_wire_len(h), 28 + 7);
    assert_int_equal(ps_headers_wire_len(NULL), 0);
    ps_headers_free(h);
}

static void test_headers_decode_parses_block(void **state)
{
    (void)state;
    const char blk[] = "NATS/1.0\r\nA: 1\r\nB:2\r\nA:   3 \r\n\r\n";
    ps_headers *h = NULL;
    assert_int_equal(ps_headers_decode(&h, blk, sizeof blk - 1), PS_OK);
    assert_int_equal(ps_headers_count(h), 3);
    assert_string_equal(ps_headers_value_at(h, 0), "1");
    assert_string_equal(ps_headers_get(h, "B"), "2");
    assert_string_equal(ps_headers_value_at(h, 2), "3 ");
    ps_headers_free(h);
}

/* Status lines ("NATS/1.0 503") are header blocks too. */
static void test_headers_decode_accepts_status_line(void **state)
{
    (void)state;
    const char blk[] = "NATS/1.0 404 No Messages\r\n\r\n";
    ps_headers *h = NULL;
    assert_int_equal(ps_headers_decode(&h, blk, sizeof blk - 1), PS_OK);
    assert_int_equal(ps_headers_count(h), 0);
    ps_headers_free(h);
}

static void test_headers_decode_rejects_malformed(void **state)
{
    (void)state;
    ps_headers *before = ps_headers_new();
    ps_headers *h = before; /* written only on success */
    assert_int_equal(ps_headers_decode(&h, "HTTP/1.1\r\n\r\n", 12), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_headers_decode(&h, "NATS/1.0\r\nnocolon\r\n\r\n", 21), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_headers_decode(&h, "NATS/1.0\r\n: v\r\n\r\n", 17), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_headers_decode(&h, "NATS", 4), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_headers_decode(&h, "NATS/1.0", 8), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_headers_decode(NULL, "NATS/1.0\r\n\r\n", 12), PS_ERR_INVALID_ARG);
    assert_ptr_equal(h, before);
    ps_headers_free(before);
}

/* ---- outgoing messages (JS 3.5) ---------------------------------------------------- */

static void test_out_msg_without_headers_has_no_block(void **state)
{
    (void)state;
    ps_out_msg m = {.subject = "a", .data = "x", .len = 1};
    assert_int_equal(ps_out_msg_header_len(&m), 0);
    char buf[4] = "zzz";
    assert_int_equal(ps_out_msg_header_encode(&m, buf), 0);
    ps_headers *empty = ps_headers_new();
    m.headers = empty;
    assert_int_equal(ps_out_msg_header_len(&m), 0);
    ps_headers_free(empty);
    assert_int_equal(ps_out_msg_header_len(NULL), 0);
}

static void test_out_msg_msg_id_only_is_28_bytes(void **state)
{
    (void)state;
    ps_out_msg m = {.subject = "a", .msg_id = "x"};
    char buf[64];
    assert_int_equal(ps_out_msg_header_len(&m), 28);
    assert_int_equal(ps_out_msg_header_encode(&m, buf), 28);
    assert_memory_equal(buf, "NATS/1.0\r\nNats-Msg-Id: x\r\n\r\n", 28);
}

/* JS 3.5: the JetStream headers in cnats's order, numbers in decimal, then
 * the other headers in their own order. */
static void test_out_msg_encodes_js_headers_in_order(void **state)
{
    (void)state;
    ps_headers *other = ps_headers_new();
    ps_headers_add(other, "Trace", "t1");
    ps_out_msg m = {
        .subject = "a", .msg_id = "id-1", .expected_stream = "ORDERS",
        .has_expected_last_seq = true, .expected_last_seq = 18446744073709551615u,
        .has_expected_last_subject_seq = true, .expected_last_subject_seq = 0,
        .expected_last_msg_id = "id-0", .headers = other,
    };
    const char want[] = "NATS/1.0\r\n"
                        "Nats-Msg-Id: id-1\r\n"
                        "Nats-Expected-Stream: ORDERS\r\n"
                        "Nats-Expected-Last-Sequence: 18446744073709551615\r\n"
                        "Nats-Expected-Last-Subject-Sequence: 0\r\n"
                        "Nats-Expected-Last-Msg-Id: id-0\r\n"
                        "Trace: t1\r\n"
                        "\r\n";
    char buf[512];
    memset(buf, '#', sizeof buf);
    assert_int_equal(ps_out_msg_header_len(&m), sizeof want - 1);
    assert_int_equal(ps_out_msg_header_encode(&m, buf), sizeof want - 1);
    assert_memory_equal(buf, want, sizeof want - 1);
    assert_int_equal(buf[sizeof want - 1], '#'); /* no byte beyond the length */
    ps_headers *back = NULL;
    assert_int_equal(ps_headers_decode(&back, buf, sizeof want - 1), PS_OK);
    assert_string_equal(ps_headers_get(back, PS_HDR_EXPECTED_LAST_SUBJ_SEQ), "0");
    ps_headers_free(back);
    ps_headers_free(other);
}

/* has_expected_last_seq false: the header is absent even with a value. */
static void test_out_msg_expectations_need_their_flags(void **state)
{
    (void)state;
    ps_out_msg m = {.subject = "a", .expected_last_seq = 5, .expected_last_subject_seq = 6};
    assert_int_equal(ps_out_msg_header_len(&m), 0);
    m.has_expected_last_seq = true;
    char buf[128];
    size_t n = ps_out_msg_header_encode(&m, buf);
    assert_int_equal(n, ps_out_msg_header_len(&m));
    buf[n] = '\0';
    assert_non_null(strstr(buf, "Nats-Expected-Last-Sequence: 5\r\n"));
    assert_null(strstr(buf, "Subject"));
}

/* The one-pass encoder a backend uses writes what ps_out_msg_header_encode
 * writes when it fits, and only measures when it does not. */
static void test_out_msg_encode_n_writes_only_what_fits(void **state)
{
    (void)state;
    ps_headers *other = ps_headers_new();
    ps_headers_add(other, "Trace", "t1");
    ps_out_msg msgs[] = {
        {.subject = "a"},
        {.subject = "a", .msg_id = "id-17"},
        {.subject = "a", .msg_id = "id-17", .expected_stream = "ORDERS"},
        {.subject = "a", .headers = other},
    };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        char want[128], buf[128];
        size_t n = ps_out_msg_header_encode(&msgs[i], want);
        assert_int_equal(ps_out_msg_header_len(&msgs[i]), n);
        memset(buf, '#', sizeof buf);
        assert_int_equal(ps_out_msg_header_encode_n(&msgs[i], buf, sizeof buf), n);
        assert_memory_equal(buf, want, n);
        assert_int_equal(buf[n], '#');
        if (n == 0)
            continue;
        memset(buf, '#', sizeof buf);
        assert_int_equal(ps_out_msg_header_encode_n(&msgs[i], buf, n - 1), n);
        assert_int_equal(buf[0], '#'); /* too small: untouched */
    }
    ps_headers_free(other);
}

/* ---- ack subjects (JS 6.10) ----------------------------------------------------------- */

static void test_ack_subject_parse_v1_example(void **state)
{
    (void)state;
    const char *r = "$JS.ACK.WQ.P.2.3.5.1795344551029556725.1"; /* JS 6.10 */
    char scratch[64];
    ps_msg_meta md;
    assert_int_equal(ps_ack_subject_parse(r, &md, scratch, sizeof scratch), PS_OK);
    assert_string_equal(md.stream, "WQ");
    assert_string_equal(md.consumer, "P");
    assert_int_equal(md.num_delivered, 2);
    assert_int_equal(md.stream_seq, 3);
    assert_int_equal(md.consumer_seq, 5);
    assert_int_equal(md.timestamp_ns, INT64_C(1795344551029556725));
    assert_int_equal(md.num_pending, 1);
}

/* v2: $JS.ACK.<domain>.<acchash>.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>.<random> */
static void test_ack_subject_parse_v2_twelve_tokens(void **state)
{
    (void)state;
    const char *r = "$JS.ACK.hub.ACCHASH.ORDERS.worker.1.10.20.1767225600000000000.4.rnd";
    char scratch[128];
    ps_msg_meta md;
    assert_int_equal(ps_ack_subject_parse(r, &md, scratch, sizeof scratch), PS_OK);
    assert_string_equal(md.stream, "ORDERS");
    assert_string_equal(md.consumer, "worker");
    assert_int_equal(md.num_delivered, 1);
    assert_int_equal(md.stream_seq, 10);
    assert_int_equal(md.consumer_seq, 20);
    assert_int_equal(md.timestamp_ns, INT64_C(1767225600000000000));
    assert_int_equal(md.num_pending, 4);
}

static void test_ack_subject_parse_rejects_non_ack_subjects(void **state)
{
    (void)state;
    const char *bad[] = {
        "$JS.ACK.S.C.1.2.3.4",             /* 8 tokens */
        "$JS.ACK.S.C.1.2.3.4.5.6",         /* 10 tokens */
        "$JS.ACK.d.h.S.C.1.2.3.4.5.r.x",   /* 13 tokens */
        "$JS.NAK.S.C.1.2.3.4.5", "JS.ACK.S.C.1.2.3.4.5",
        "$JS.ACK.S.C.1.2.x.4.5", "$JS.ACK.S.C.1.2.3.4.-5", "$JS.ACK.S.C.1..3.4.5",
        "$JS.ACK..C.1.2.3.4.5", "$JS.ACK.S..1.2.3.4.5",
        "$JS.ACK.S.C.18446744073709551616.2.3.4.5", /* overflows uint64 */
        "$JS.ACK.S.C.1.2.3.9223372036854775808.5",  /* timestamp beyond int64 */
        "",
    };
    char scratch[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ps_msg_meta md = {.stream_seq = 99};
        if (ps_ack_subject_parse(bad[i], &md, scratch, sizeof scratch) != PS_ERR_INVALID_ARG)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_int_equal(md.stream_seq, 99);
    }
    ps_msg_meta md;
    assert_int_equal(ps_ack_subject_parse("$JS.ACK.S.C.1.2.3.4.5", &md, scratch, 5), PS_ERR_INVALID_ARG);
    assert_error_has("scratch");
    assert_int_equal(ps_ack_subject_parse(NULL, &md, scratch, 5), PS_ERR_INVALID_ARG);
}

/* ---- received messages and lists ---------------------------------------------------------- */

static void test_msg_reply_is_built_from_meta_and_parses_back(void **state)
{
    (void)state;
    ps_msg_list l = {0};
    ps_msg *m = ps_msg_list_push(&l, "a.b", 3, NULL, 0, "x", 1);
    assert_null(ps_msg_reply(m)); /* no stream or consumer yet */
    m->meta = (ps_msg_meta){.stream = "S", .consumer = "C", .stream_seq = 7, .consumer_seq = 9,
                            .num_delivered = 2, .num_pending = 0, .timestamp_ns = 1767225600000000001};
    const char *r = ps_msg_reply(m);
    assert_string_equal(r, "$JS.ACK.S.C.2.7.9.1767225600000000001.0");
    assert_ptr_equal(ps_msg_reply(m), r); /* built once */
    char scratch[64];
    ps_msg_meta md;
    assert_int_equal(ps_ack_subject_parse(r, &md, scratch, sizeof scratch), PS_OK);
    assert_int_equal(md.consumer_seq, 9);
    ps_msg_list_free(&l);
}

static void test_list_push_copies_and_nul_terminates(void **state)
{
    (void)state;
    ps_msg_list l = {0};
    char subj[] = "orders.newXXX", data[] = "payloadYYY";
    const char hdr[] = "NATS/1.0\r\nNats-Msg-Id: 1\r\n\r\n";
    ps_msg *m = ps_msg_list_push(&l, subj, 10, hdr, sizeof hdr - 1, data, 7);
    assert_non_null(m);
    memset(subj, 'Q', sizeof subj - 1);
    memset(data, 'Q', sizeof data - 1);
    assert_int_equal(l.count, 1);
    assert_ptr_equal(l.msgs[0], m);
    assert_string_equal(m->subject, "orders.new");
    assert_int_equal(m->len, 7);
    assert_string_equal((const char *)m->data, "payload");
    assert_int_equal(m->hdr_len, sizeof hdr - 1);
    assert_memory_equal(m->hdr, hdr, sizeof hdr - 1);
    assert_string_equal(ps_msg_header(m, PS_HDR_MSG_ID), "1");
    assert_ptr_equal(ps_msg_headers(m), ps_msg_headers(m)); /* decoded once */
    ps_msg *e = ps_msg_list_push(&l, "e", 1, NULL, 0, NULL, 0);
    assert_non_null(e);
    assert_null(e->hdr);
    assert_null(ps_msg_headers(e));
    assert_null(ps_msg_header(e, PS_HDR_MSG_ID));
    assert_string_equal((const char *)e->data, "");
    assert_null(ps_msg_list_push(NULL, "e", 1, NULL, 0, NULL, 0));
    assert_null(ps_msg_list_push(&l, NULL, 0, NULL, 0, NULL, 0));
    assert_int_equal(l.count, 2);
    ps_msg_list_free(&l);
    assert_int_equal(l.count, 0);
    assert_null(l.msgs);
}

/* The benchmark's hot path: after clear, pushes reuse the same messages
 * and buffers (no allocation in steady state), with all per-delivery state
 * reset. */
static void test_list_clear_keeps_messages_and_buffers_for_reuse(void **state)
{
    (void)state;
    ps_msg_list l = {0};
    char big[300];
    memset(big, 'b', sizeof big);
    ps_msg *m0 = ps_msg_list_push(&l, "s", 1, NULL, 0, big, sizeof big);
    ps_msg *m1 = ps_msg_list_push(&l, "t", 1, NULL, 0, "y", 1);
    char *b0 = m0->buf_, *b1 = m1->buf_;
    ps_msg **slots = l.msgs;
    for (int round = 0; round < 100; round++) {
        ps_msg_list_clear(&l);
        assert_int_equal(l.count, 0);
        ps_msg *a = ps_msg_list_push(&l, "sub.x", 5, NULL, 0, "data", 4);
        ps_msg *b = ps_msg_list_push(&l, "sub.y", 5, NULL, 0, "more", 4);
        assert_ptr_equal(a, m0);
        assert_ptr_equal(b, m1);
        assert_ptr_equal(a->buf_, b0);
        assert_ptr_equal(b->buf_, b1);
        assert_ptr_equal(l.msgs, slots);
        assert_string_equal(a->subject, "sub.x");
    }
    ps_msg_list_free(&l);
}

/* Push on a reused message zeroes meta and clears acked_, consumer_,
 * backend_ref_, and drops the lazy headers and reply of its last use
 * (ASan reports a leak if they are not freed). */
static void test_list_push_resets_reused_message_state(void **state)
{
    (void)state;
    ps_msg_list l = {0};
    const char hdr[] = "NATS/1.0\r\nK: v\r\n\r\n";
    ps_msg *m = ps_msg_list_push(&l, "s", 1, hdr, sizeof hdr - 1, "d", 1);
    m->meta = (ps_msg_meta){.stream = "S", .consumer = "C", .stream_seq = 4};
    m->acked_ = true;
    m->consumer_ = (ps_consumer *)&l;
    m->backend_ref_ = &l;
    assert_non_null(ps_msg_headers(m));
    assert_non_null(ps_msg_reply(m));
    ps_msg_list_clear(&l);
    assert_non_null(m->headers_); /* clear frees nothing */
    ps_msg *r = ps_msg_list_push(&l, "t", 1, NULL, 0, "e", 1);
    assert_ptr_equal(r, m);
    assert_int_equal(r->meta.stream_seq, 0);
    assert_null(r->meta.stream);
    assert_false(r->acked_);
    assert_null(r->consumer_);
    assert_null(r->backend_ref_);
    assert_null(r->headers_);
    assert_null(r->reply_);
    assert_null(ps_msg_headers(r));
    ps_msg_list_free(&l);
}

/* A reused message whose buffer is too small grows it; the list grows past
 * its first allocation; free releases everything, lazy state included. */
static void test_list_grows_and_free_releases_everything(void **state)
{
    (void)state;
    ps_msg_list l = {0};
    for (int i = 0; i < 100; i++) {
        ps_msg *m = ps_msg_list_push(&l, "s", 1, NULL, 0, "d", 1);
        m->meta.stream = "S";
        m->meta.consumer = "C";
        assert_non_null(ps_msg_reply(m));
    }
    assert_int_equal(l.count, 100);
    assert_true(l.cap_ >= 100);
    ps_msg_list_clear(&l);
    char big[5000];
    memset(big, 'z', sizeof big);
    ps_msg *m = ps_msg_list_push(&l, "s", 1, NULL, 0, big, sizeof big);
    assert_non_null(m);
    assert_true(m->cap_ >= sizeof big + 3);
    assert_memory_equal(m->data, big, sizeof big);
    ps_msg_list_free(&l);
    assert_int_equal(l.cap_, 0);
    ps_msg_list_free(&l); /* twice is fine */
    ps_msg_list_clear(NULL);
    ps_msg_list_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_keep_order_and_copy_strings),
        cmocka_unit_test(test_headers_set_replaces_every_pair),
        cmocka_unit_test(test_headers_reject_bad_names_and_values),
        cmocka_unit_test(test_headers_wire_len_of_single_msg_id_is_28),
        cmocka_unit_test(test_headers_decode_parses_block),
        cmocka_unit_test(test_headers_decode_accepts_status_line),
        cmocka_unit_test(test_headers_decode_rejects_malformed),
        cmocka_unit_test(test_out_msg_without_headers_has_no_block),
        cmocka_unit_test(test_out_msg_msg_id_only_is_28_bytes),
        cmocka_unit_test(test_out_msg_encodes_js_headers_in_order),
        cmocka_unit_test(test_out_msg_expectations_need_their_flags),
        cmocka_unit_test(test_out_msg_encode_n_writes_only_what_fits),
        cmocka_unit_test(test_ack_subject_parse_v1_example),
        cmocka_unit_test(test_ack_subject_parse_v2_twelve_tokens),
        cmocka_unit_test(test_ack_subject_parse_rejects_non_ack_subjects),
        cmocka_unit_test(test_msg_reply_is_built_from_meta_and_parses_back),
        cmocka_unit_test(test_list_push_copies_and_nul_terminates),
        cmocka_unit_test(test_list_clear_keeps_messages_and_buffers_for_reuse),
        cmocka_unit_test(test_list_push_resets_reused_message_state),
        cmocka_unit_test(test_list_grows_and_free_releases_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
