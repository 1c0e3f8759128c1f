/* test_backend_args.c — unit tests of the wrappers in core/backend.c.
 *
 * A tiny fake ops table records which slots were called and with what, so
 * these tests pin what the wrappers themselves do: argument checks with a
 * message naming the problem, NOT_SUPPORTED for NULL slots, the cnats ack
 * rule (JS 14.2), the shorthands and the _clear helpers.
 *
 * Not a test of any real backend's behaviour (the conformance suite is).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_backend_impl.h"

/* ---- the fake backend ---------------------------------------------------------- */

typedef struct fake {
    ps_backend base;
    int calls;             /* every slot call */
    int acks, closes;
    ps_ack_kind last_kind;
    int64_t last_delay;
    const ps_out_msg *last_pub;
    ps_out_msg pub_copy;
    ps_fetch_request last_fetch;
    ps_status ack_result;
    ps_restart_kind last_restart;
} fake;

static fake *as_fake(ps_backend *b) { return (fake *)b; }
static ps_status called(ps_backend *b) { as_fake(b)->calls++; return PS_OK; }

static ps_status f_stream_add(ps_backend *b, const ps_stream_config *c, ps_stream_info *o)
{ (void)c; (void)o; return called(b); }
static ps_status f_stream_info(ps_backend *b, const char *s, ps_stream_info *o)
{ (void)s; (void)o; return called(b); }
static ps_status f_stream_delete(ps_backend *b, const char *s) { (void)s; return called(b); }
static ps_status f_stream_purge(ps_backend *b, const char *s, const ps_purge_opts *o, uint64_t *p)
{ (void)s; (void)o; (void)p; return called(b); }
static ps_status f_msg_get(ps_backend *b, const char *s, uint64_t q, const char *l, ps_stored_msg *o)
{ (void)s; (void)q; (void)l; (void)o; return called(b); }
static ps_status f_msg_delete(ps_backend *b, const char *s, uint64_t q, bool e)
{ (void)s; (void)q; (void)e; return called(b); }

static ps_status f_publish(ps_backend *b, const ps_out_msg *m, ps_pub_ack *o)
{
    (void)o;
    as_fake(b)->last_pub = m;
    as_fake(b)->pub_copy = *m;
    return called(b);
}

static ps_status f_consumer_add(ps_backend *b, const char *s, const ps_consumer_config *c, ps_consumer **o)
{ (void)s; (void)c; (void)o; return called(b); }
static ps_status f_consumer_bind(ps_backend *b, const char *s, const char *n, ps_consumer **o)
{ (void)s; (void)n; (void)o; return called(b); }
static ps_status f_consumer_info(ps_consumer *c, ps_consumer_info *o) { (void)o; return called(c->backend); }
static ps_status f_consumer_delete(ps_backend *b, const char *s, const char *n)
{ (void)s; (void)n; return called(b); }
static void f_consumer_free(ps_consumer *c) { called(c->backend); }

static ps_status f_fetch(ps_consumer *c, const ps_fetch_request *r, ps_msg_list *o)
{
    (void)o;
    as_fake(c->backend)->last_fetch = *r;
    return called(c->backend);
}

static ps_status f_ack(ps_msg *m, ps_ack_kind kind, int64_t delay)
{
    fake *f = as_fake(m->consumer_->backend);
    f->acks++;
    f->last_kind = kind;
    f->last_delay = delay;
    called(&f->base);
    return f->ack_result;
}

static void f_close(ps_backend *b) { as_fake(b)->closes++; }
static int64_t f_next_deadline(ps_backend *b) { called(b); return 1234; }
static ps_status f_tick(ps_backend *b) { return called(b); }
static ps_status f_restart(ps_backend *b, ps_restart_kind k) { as_fake(b)->last_restart = k; return called(b); }

/* Version 3: asynchronous pulls. */
static ps_pull g_pull;
static ps_status f_pull_start(ps_consumer *c, const ps_fetch_request *r, ps_pull **o)
{
    as_fake(c->backend)->last_fetch = *r;
    g_pull.consumer = c;
    *o = &g_pull;
    return called(c->backend);
}
static ps_status f_pull_poll(ps_pull *p, ps_msg_list *o, ps_pull_end *e)
{
    (void)o;
    ps_pull_end_set(e, 408, "Request Timeout", 2, 0, PS_OK);
    return called(p->consumer->backend);
}
static void f_pull_free(ps_pull *p) { called(p->consumer->backend); }

static const ps_backend_ops v3_ops = {
    .version = 3, .name = "fake3",
    .stream_add = f_stream_add, .stream_update = f_stream_add, .stream_info = f_stream_info,
    .stream_delete = f_stream_delete, .stream_purge = f_stream_purge, .msg_get = f_msg_get,
    .msg_delete = f_msg_delete, .publish = f_publish, .consumer_add = f_consumer_add,
    .consumer_bind = f_consumer_bind, .consumer_info = f_consumer_info,
    .consumer_delete = f_consumer_delete, .consumer_free = f_consumer_free, .fetch = f_fetch,
    .ack = f_ack, .close = f_close,
    .next_deadline = NULL, .tick = NULL, .restart = NULL,
    .publish_async = NULL, .publish_async_complete = NULL,
    .pull_start = f_pull_start, .pull_poll = f_pull_poll, .pull_free = f_pull_free,
};

/* A version 2 table that (wrongly) has the version 3 slots filled: the
 * wrappers go by the version, as SQLite's iVersion. */
static const ps_backend_ops v2_with_pull_ops = {
    .version = 2, .name = "old",
    .stream_add = f_stream_add, .stream_update = f_stream_add, .stream_info = f_stream_info,
    .stream_delete = f_stream_delete, .stream_purge = f_stream_purge, .msg_get = f_msg_get,
    .msg_delete = f_msg_delete, .publish = f_publish, .consumer_add = f_consumer_add,
    .consumer_bind = f_consumer_bind, .consumer_info = f_consumer_info,
    .consumer_delete = f_consumer_delete, .consumer_free = f_consumer_free, .fetch = f_fetch,
    .ack = f_ack, .close = f_close,
    .next_deadline = NULL, .tick = NULL, .restart = NULL,
    .publish_async = NULL, .publish_async_complete = NULL,
    .pull_start = f_pull_start, .pull_poll = f_pull_poll, .pull_free = f_pull_free,
};

static const ps_backend_ops full_ops = {
    .version = 1, .name = "fake",
    .stream_add = f_stream_add, .stream_update = f_stream_add, .stream_info = f_stream_info,
    .stream_delete = f_stream_delete, .stream_purge = f_stream_purge, .msg_get = f_msg_get,
    .msg_delete = f_msg_delete, .publish = f_publish, .consumer_add = f_consumer_add,
    .consumer_bind = f_consumer_bind, .consumer_info = f_consumer_info,
    .consumer_delete = f_consumer_delete, .consumer_free = f_consumer_free, .fetch = f_fetch,
    .ack = f_ack, .close = f_close,
    .next_deadline = f_next_deadline, .tick = f_tick, .restart = f_restart,
};

/* The required slots only; the optional ones explicitly NULL. */
static const ps_backend_ops minimal_ops = {
    .version = 1, .name = "minimal",
    .stream_add = f_stream_add, .stream_update = f_stream_add, .stream_info = f_stream_info,
    .stream_delete = f_stream_delete, .stream_purge = f_stream_purge, .msg_get = f_msg_get,
    .msg_delete = f_msg_delete, .publish = f_publish, .consumer_add = f_consumer_add,
    .consumer_bind = f_consumer_bind, .consumer_info = f_consumer_info,
    .consumer_delete = f_consumer_delete, .consumer_free = f_consumer_free, .fetch = f_fetch,
    .ack = f_ack, .close = f_close,
    .next_deadline = NULL, .tick = NULL, .restart = NULL,
};

/* A broken table: a required slot left NULL. */
static const ps_backend_ops broken_ops = {.version = 1, .name = "broken", .publish = NULL};

typedef struct world {
    fake f;
    ps_consumer c;
    ps_msg m;
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    w->f.base.ops = &full_ops;
    w->c = (ps_consumer){.backend = &w->f.base, .stream = "S", .name = "C"};
    w->m.consumer_ = &w->c;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* Asserts an INVALID_ARG with a message containing `text`, and no call. */
static void expect_invalid(const world *w, ps_status s, const char *text)
{
    if (s != PS_ERR_INVALID_ARG)
        fail_msg("got %s (%s), want PS_ERR_INVALID_ARG", ps_status_name(s), ps_last_error());
    assert_int_equal(ps_last_status(), PS_ERR_INVALID_ARG);
    if (!strstr(ps_last_error(), text))
        fail_msg("message \"%s\" does not name \"%s\"", ps_last_error(), text);
    assert_int_equal(w->f.calls, 0);
}

/* ---- NULL backend: every wrapper answers, none crashes ------------------------------- */

static void test_wrappers_reject_null_backend(void **state)
{
    world *w = *state;
    ps_stream_config sc = {.name = "S"};
    ps_stream_info si;
    ps_stored_msg sm;
    ps_consumer_config cc = {0};
    ps_consumer *c;
    expect_invalid(w, ps_stream_add(NULL, &sc, NULL), "backend");
    expect_invalid(w, ps_stream_update(NULL, &sc, NULL), "backend");
    expect_invalid(w, ps_stream_info_get(NULL, "S", &si), "backend");
    expect_invalid(w, ps_stream_delete(NULL, "S"), "backend");
    expect_invalid(w, ps_stream_purge(NULL, "S", NULL, NULL), "backend");
    expect_invalid(w, ps_msg_get(NULL, "S", 1, NULL, &sm), "backend");
    expect_invalid(w, ps_msg_delete(NULL, "S", 1, false), "backend");
    expect_invalid(w, ps_publish_data(NULL, "a", "x", 1, NULL, NULL), "backend");
    expect_invalid(w, ps_consumer_add(NULL, "S", &cc, &c), "backend");
    expect_invalid(w, ps_consumer_bind(NULL, "S", "C", &c), "backend");
    expect_invalid(w, ps_consumer_delete(NULL, "S", "C"), "backend");
    expect_invalid(w, ps_backend_tick(NULL), "backend");
    expect_invalid(w, ps_backend_restart(NULL, PS_RESTART_CRASH), "backend");
    ps_backend nobody = {0}; /* a handle without a table */
    expect_invalid(w, ps_stream_delete(&nobody, "S"), "backend");
    assert_int_equal(ps_backend_next_deadline(NULL), INT64_MAX);
    assert_string_equal(ps_backend_name(NULL), "");
    ps_backend_close(NULL);
    ps_consumer_free(NULL);
    ps_backend_set_advisory_handler(NULL, NULL, NULL);
    ps_backend_emit_advisory(NULL, NULL);
}

/* ---- streams ---------------------------------------------------------------------- */

static void test_stream_add_rejects_null_config_and_bad_names(void **state)
{
    world *w = *state;
    ps_backend *b = &w->f.base;
    expect_invalid(w, ps_stream_add(b, NULL, NULL), "config");
    ps_stream_config sc = {0};
    expect_invalid(w, ps_stream_add(b, &sc, NULL), "stream name");
    sc.name = "";
    expect_invalid(w, ps_stream_add(b, &sc, NULL), "empty");
    sc.name = "a.b";
    expect_invalid(w, ps_stream_add(b, &sc, NULL), "'.'");
    sc.name = "a b";
    expect_invalid(w, ps_stream_update(b, &sc, NULL), "whitespace");
    sc.name = "ORDERS";
    assert_int_equal(ps_stream_add(b, &sc, NULL), PS_OK);
    assert_int_equal(w->f.calls, 1);
}

static void test_stream_info_delete_need_name_and_out(void **state)
{
    world *w = *state;
    ps_backend *b = &w->f.base;
    ps_stream_info si;
    expect_invalid(w, ps_stream_info_get(b, "S", NULL), "out");
    expect_invalid(w, ps_stream_info_get(b, NULL, &si), "stream name");
    expect_invalid(w, ps_stream_delete(b, "x.y"), "stream name");
    assert_int_equal(ps_stream_delete(b, "S"), PS_OK);
    assert_int_equal(w->f.calls, 1);
}

/* JS 10.3: seq and keep together are rejected client-side, as cnats does. */
static void test_purge_rejects_seq_with_keep_and_bad_filter(void **state)
{
    world *w = *state;
    ps_backend *b = &w->f.base;
    ps_purge_opts o = {.seq = 5, .keep = 2};
    expect_invalid(w, ps_stream_purge(b, "S", &o, NULL), "seq and keep");
    o = (ps_purge_opts){.filter = "a..b"};
    expect_invalid(w, ps_stream_purge(b, "S", &o, NULL), "purge filter \"a..b\"");
    o = (ps_purge_opts){.filter = "a.*.>", .keep = 1};
    assert_int_equal(ps_stream_purge(b, "S", &o, NULL), PS_OK);
    assert_int_equal(ps_stream_purge(b, "S", NULL, NULL), PS_OK);
    assert_int_equal(w->f.calls, 2);
}

static void test_msg_get_and_delete_check_sequence_and_subject(void **state)
{
    world *w = *state;
    ps_backend *b = &w->f.base;
    ps_stored_msg sm;
    expect_invalid(w, ps_msg_get(b, "S", 0, NULL, &sm), "sequence 0");
    expect_invalid(w, ps_msg_get(b, "S", 1, NULL, NULL), "out");
    expect_invalid(w, ps_msg_get(b, "S", 0, "a b", &sm), "last_by_subject");
    expect_invalid(w, ps_msg_delete(b, "S", 0, true), "sequence 0");
    expect_invalid(w, ps_msg_delete(b, "", 1, true), "stream name");
    assert_int_equal(ps_msg_get(b, "S", 0, "a.*", &sm), PS_OK); /* seq ignored */
    assert_int_equal(ps_msg_delete(b, "S", 3, false), PS_OK);
    assert_int_equal(w->f.calls, 2);
}

/* ---- publishing (JS 1.4, 3.5) ---------------------------------------------------------- */

static void test_publish_requires_literal_subject(void **state)
{
    world *w = *state;
    ps_backend *b = &w->f.base;
    expect_invalid(w, ps_publish(b, NULL, NULL), "message");
    expect_invalid(w, ps_publish_data(b, NULL, "x", 1, NULL, NULL), "publish subject");
    expect_invalid(w, ps_publish_data(b, "orders.*", "x", 1, NULL, NULL), "publish subject \"orders.*\"");
    expect_invalid(w, ps_publish_data(b, "orders.>", "x", 1, NULL, NULL), "'>'");
    expect_invalid(w, ps_publish_data(b, "a..b", "x", 1, NULL, NULL), "empty token");
    expect_invalid(w, ps_publish_data(b, "", "x", 1, NULL, NULL), "empty");
}

static void test_publish_rejects_null_data_and_empty_msg_id(void **state)
{
    world *w = *state;
    ps_backend *b = &w->f.base;
    expect_invalid(w, ps_publish_data(b, "a", NULL, 3, NULL, NULL), "data is NULL");
    expect_invalid(w, ps_publish_data(b, "a", "x", 1, "", NULL), "msg_id");
    assert_int_equal(ps_publish_data(b, "a", NULL, 0, NULL, NULL), PS_OK);
}

/* JS 3.5: the JetStream headers are fields, not entries of `headers`. */
static void test_publish_rejects_js_header_in_other_headers(void **state)
{
    world *w = *state;
    ps_headers *h = ps_headers_new();
    ps_headers_add(h, PS_HDR_EXPECTED_LAST_SEQ, "3");
    ps_out_msg m = {.subject = "a", .headers = h};
    expect_invalid(w, ps_publish(&w->f.base, &m, NULL), PS_HDR_EXPECTED_LAST_SEQ);
    ps_headers_free(h);
}

static void test_publish_data_forwards_subject_data_and_id(void **state)
{
    world *w = *state;
    ps_pub_ack ack;
    assert_int_equal(ps_publish_data(&w->f.base, "jobs.1", "abc", 3, "id-7", &ack), PS_OK);
    assert_int_equal(w->f.calls, 1);
    assert_string_equal(w->f.pub_copy.subject, "jobs.1");
    assert_int_equal(w->f.pub_copy.len, 3);
    assert_string_equal(w->f.pub_copy.msg_id, "id-7");
    assert_null(w->f.pub_copy.expected_stream);
    assert_false(w->f.pub_copy.has_expected_last_seq);
    ps_out_msg m = {.subject = "x"};
    assert_int_equal(ps_publish(&w->f.base, &m, NULL), PS_OK);
    assert_ptr_equal(w->f.last_pub, &m); /* passed through, not copied */
}

/* ---- consumers ---------------------------------------------------------------------- */

static void test_consumer_add_checks_names_config_and_out(void **state)
{
    world *w = *state;
    ps_backend *b = &w->f.base;
    ps_consumer *c;
    ps_consumer_config cc = {.durable = "D"};
    expect_invalid(w, ps_consumer_add(b, "S", NULL, &c), "config");
    expect_invalid(w, ps_consumer_add(b, "S", &cc, NULL), "out");
    expect_invalid(w, ps_consumer_add(b, "S.x", &cc, &c), "stream name");
    cc.durable = "a.b";
    expect_invalid(w, ps_consumer_add(b, "S", &cc, &c), "durable name");
    cc.durable = "";
    expect_invalid(w, ps_consumer_add(b, "S", &cc, &c), "durable name");
    cc.durable = NULL; /* an ephemeral */
    assert_int_equal(ps_consumer_add(b, "S", &cc, &c), PS_OK);
    assert_int_equal(w->f.calls, 1);
}

/* JS 14: cnats omits fields <= 0, so a negative value would silently mean
 * "default": the wrapper rejects it and names the field. */
static void test_consumer_add_rejects_negative_fields_by_name(void **state)
{
    world *w = *state;
    ps_backend *b = &w->f.base;
    ps_consumer *c;
    static const char *names[] = {
        "ack_wait_ns", "max_deliver", "max_ack_pending", "max_waiting", "max_request_batch",
        "max_request_expires_ns", "max_request_max_bytes", "inactive_threshold_ns",
        "opt_start_time_ns", "backoff_len", "replicas",
    };
    for (int i = 0; i < 11; i++) {
        ps_consumer_config cc = {.durable = "D"};
        switch (i) {
        case 0: cc.ack_wait_ns = -1; break;
        case 1: cc.max_deliver = -1; break;
        case 2: cc.max_ack_pending = -1; break;
        case 3: cc.max_waiting = -1; break;
        case 4: cc.max_request_batch = -1; break;
        case 5: cc.max_request_expires_ns = -1; break;
        case 6: cc.max_request_max_bytes = -1; break;
        case 7: cc.inactive_threshold_ns = -1; break;
        case 8: cc.opt_start_time_ns = -1; break;
        case 9: cc.backoff_len = -1; break;
        default: cc.replicas = -1; break;
        }
        expect_invalid(w, ps_consumer_add(b, "S", &cc, &c), names[i]);
    }
}

static void test_consumer_add_checks_backoff_array(void **state)
{
    world *w = *state;
    ps_consumer *c;
    ps_consumer_config cc = {.durable = "D", .backoff_len = 2, .max_deliver = 5};
    expect_invalid(w, ps_consumer_add(&w->f.base, "S", &cc, &c), "backoff_ns is NULL");
    const int64_t bo[] = {PS_NS_PER_SEC, 0};
    cc.backoff_ns = bo;
    expect_invalid(w, ps_consumer_add(&w->f.base, "S", &cc, &c), "backoff_ns[1]");
}

static void test_consumer_bind_and_delete_check_names(void **state)
{
    world *w = *state;
    ps_backend *b = &w->f.base;
    ps_consumer *c;
    expect_invalid(w, ps_consumer_bind(b, "S", NULL, &c), "consumer name");
    expect_invalid(w, ps_consumer_bind(b, "S", "C", NULL), "out");
    expect_invalid(w, ps_consumer_bind(b, NULL, "C", &c), "stream name");
    expect_invalid(w, ps_consumer_delete(b, "S", "a b"), "consumer name");
    expect_invalid(w, ps_consumer_delete(b, "", "C"), "stream name");
    assert_int_equal(ps_consumer_bind(b, "S", "C", &c), PS_OK);
    assert_int_equal(ps_consumer_delete(b, "S", "C"), PS_OK);
    assert_int_equal(w->f.calls, 2);
}

static void test_consumer_info_and_free_need_a_handle(void **state)
{
    world *w = *state;
    ps_consumer_info ci;
    expect_invalid(w, ps_consumer_info_get(NULL, &ci), "consumer");
    expect_invalid(w, ps_consumer_info_get(&w->c, NULL), "out");
    ps_consumer orphan = {0};
    expect_invalid(w, ps_consumer_info_get(&orphan, &ci), "consumer");
    ps_consumer_free(&orphan);
    assert_int_equal(ps_consumer_info_get(&w->c, &ci), PS_OK);
    ps_consumer_free(&w->c);
    assert_int_equal(w->f.calls, 2);
}

/* ---- fetch (JS 8.1) ------------------------------------------------------------------- */

static void test_fetch_checks_request(void **state)
{
    world *w = *state;
    ps_msg_list l = {0};
    ps_fetch_request r = {.batch = 1};
    expect_invalid(w, ps_fetch(NULL, &r, &l), "consumer");
    expect_invalid(w, ps_fetch(&w->c, NULL, &l), "request");
    expect_invalid(w, ps_fetch(&w->c, &r, NULL), "out");
    r.batch = 0;
    expect_invalid(w, ps_fetch(&w->c, &r, &l), "batch 0");
    r = (ps_fetch_request){.batch = 1, .expires_ns = -1};
    expect_invalid(w, ps_fetch(&w->c, &r, &l), "expires_ns");
    r = (ps_fetch_request){.batch = 1, .max_bytes = -1};
    expect_invalid(w, ps_fetch(&w->c, &r, &l), "max_bytes");
    expect_invalid(w, ps_fetch_batch(&w->c, -3, 0, &l), "batch -3");
}

static void test_fetch_batch_forwards_batch_and_expires(void **state)
{
    world *w = *state;
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(&w->c, 10, 5 * PS_NS_PER_SEC, &l), PS_OK);
    assert_int_equal(w->f.calls, 1);
    assert_int_equal(w->f.last_fetch.batch, 10);
    assert_int_equal(w->f.last_fetch.expires_ns, 5 * PS_NS_PER_SEC);
    assert_int_equal(w->f.last_fetch.max_bytes, 0);
    assert_false(w->f.last_fetch.no_wait);
}

/* ---- acks (JS 14.2) ------------------------------------------------------------------------ */

static void test_ack_checks_message_kind_and_delay(void **state)
{
    world *w = *state;
    expect_invalid(w, ps_ack(NULL, PS_ACK, 0), "message");
    ps_msg loose = {0};
    expect_invalid(w, ps_ack(&loose, PS_ACK, 0), "not fetched from a consumer");
    expect_invalid(w, ps_ack(&w->m, (ps_ack_kind)9, 0), "ack kind");
    expect_invalid(w, ps_ack(&w->m, PS_NAK, -1), "nak delay");
    assert_false(w->m.acked_);
}

/* JS 14.2: after a successful ACK, NAK or TERM, further acks are local
 * no-ops returning PS_OK; nothing reaches the backend. */
static void test_ack_second_ack_is_local_noop(void **state)
{
    world *w = *state;
    assert_int_equal(ps_ack(&w->m, PS_ACK, 0), PS_OK);
    assert_true(w->m.acked_);
    assert_int_equal(ps_ack(&w->m, PS_ACK, 0), PS_OK);
    assert_int_equal(ps_ack(&w->m, PS_NAK, 0), PS_OK);
    assert_int_equal(ps_ack(&w->m, PS_TERM, 0), PS_OK);
    assert_int_equal(w->f.acks, 1);
}

static void test_ack_nak_and_term_also_mark_the_message(void **state)
{
    world *w = *state;
    assert_int_equal(ps_ack(&w->m, PS_NAK, 250 * PS_NS_PER_MS), PS_OK);
    assert_int_equal(w->f.last_kind, PS_NAK);
    assert_int_equal(w->f.last_delay, 250 * PS_NS_PER_MS);
    assert_true(w->m.acked_);
    w->m.acked_ = false;
    assert_int_equal(ps_ack(&w->m, PS_TERM, 99), PS_OK);
    assert_int_equal(w->f.last_delay, 0); /* the delay is for NAK only */
    assert_true(w->m.acked_);
    assert_int_equal(w->f.acks, 2);
}

/* JS 14.2: only InProgress leaves the message unmarked, and it may repeat,
 * even after the message was acked. */
static void test_ack_in_progress_repeats_and_does_not_mark(void **state)
{
    world *w = *state;
    assert_int_equal(ps_ack(&w->m, PS_IN_PROGRESS, 0), PS_OK);
    assert_int_equal(ps_ack(&w->m, PS_IN_PROGRESS, 0), PS_OK);
    assert_false(w->m.acked_);
    assert_int_equal(ps_ack(&w->m, PS_ACK, 0), PS_OK);
    assert_int_equal(ps_ack(&w->m, PS_IN_PROGRESS, 0), PS_OK);
    assert_int_equal(w->f.acks, 4);
}

/* A failed ack does not mark the message: the caller may retry. */
static void test_ack_failure_leaves_message_unmarked(void **state)
{
    world *w = *state;
    w->f.ack_result = PS_ERR_NO_RESPONDERS;
    assert_int_equal(ps_ack(&w->m, PS_ACK, 0), PS_ERR_NO_RESPONDERS);
    assert_false(w->m.acked_);
    w->f.ack_result = PS_OK;
    assert_int_equal(ps_ack(&w->m, PS_ACK, 0), PS_OK);
    assert_int_equal(w->f.acks, 2);
}

/* ps_ack_send reaches the backend every time, marks nothing and checks
 * the same arguments as ps_ack. */
static void test_ack_send_sends_every_ack(void **state)
{
    world *w = *state;
    expect_invalid(w, ps_ack_send(NULL, PS_ACK, 0), "message");
    expect_invalid(w, ps_ack_send(&w->m, (ps_ack_kind)9, 0), "ack kind");
    expect_invalid(w, ps_ack_send(&w->m, PS_NAK, -1), "nak delay");
    assert_int_equal(ps_ack(&w->m, PS_ACK, 0), PS_OK);
    assert_int_equal(ps_ack_send(&w->m, PS_ACK, 0), PS_OK);
    assert_int_equal(ps_ack_send(&w->m, PS_NAK, 5), PS_OK);
    assert_int_equal(w->f.last_delay, 5);
    assert_int_equal(ps_ack_send(&w->m, PS_TERM, 5), PS_OK);
    assert_int_equal(w->f.last_delay, 0);
    assert_int_equal(w->f.acks, 4);
    w->f.ack_result = PS_ERR_NO_RESPONDERS;
    assert_int_equal(ps_ack_send(&w->m, PS_ACK, 0), PS_ERR_NO_RESPONDERS);
}

/* ---- asynchronous pulls (version 3) ---------------------------------------------------- */

static void test_pull_start_refuses_an_older_table_by_version(void **state)
{
    world *w = *state;
    ps_pull *p = NULL;
    ps_fetch_request r = {.batch = 1};
    w->f.base.ops = &v2_with_pull_ops;
    assert_int_equal(ps_pull_start(&w->c, &r, &p), PS_ERR_NOT_SUPPORTED);
    assert_non_null(strstr(ps_last_error(), "version 2"));
    assert_null(p);
    w->f.base.ops = &full_ops;
    assert_int_equal(ps_pull_start(&w->c, &r, &p), PS_ERR_NOT_SUPPORTED);
    assert_non_null(strstr(ps_last_error(), "version 1"));
    assert_int_equal(w->f.calls, 0);
}

static void test_pull_start_checks_request(void **state)
{
    world *w = *state;
    ps_pull *p = NULL;
    w->f.base.ops = &v3_ops;
    ps_fetch_request r = {.batch = 0};
    expect_invalid(w, ps_pull_start(NULL, &r, &p), "consumer");
    expect_invalid(w, ps_pull_start(&w->c, NULL, &p), "request");
    r.batch = 1;
    expect_invalid(w, ps_pull_start(&w->c, &r, NULL), "out");
    r.batch = 0;
    expect_invalid(w, ps_pull_start(&w->c, &r, &p), "batch 0");
    r = (ps_fetch_request){.batch = 1, .expires_ns = -1};
    expect_invalid(w, ps_pull_start(&w->c, &r, &p), "expires_ns");
    r = (ps_fetch_request){.batch = 1, .expires_ns = PS_DURATION_MAX_NS + 1};
    expect_invalid(w, ps_pull_start(&w->c, &r, &p), "expires_ns");
    r = (ps_fetch_request){.batch = 1, .max_bytes = -1};
    expect_invalid(w, ps_pull_start(&w->c, &r, &p), "max_bytes");
}

static void test_pull_wrappers_forward_to_a_version_3_table(void **state)
{
    world *w = *state;
    w->f.base.ops = &v3_ops;
    ps_pull *p = NULL;
    ps_fetch_request r = {.batch = 4, .expires_ns = 7, .max_bytes = 9, .no_wait = true};
    assert_int_equal(ps_pull_start(&w->c, &r, &p), PS_OK);
    assert_ptr_equal(p, &g_pull);
    assert_int_equal(w->f.last_fetch.batch, 4);
    assert_true(w->f.last_fetch.no_wait);
    ps_msg_list l = {0};
    ps_pull_end e;
    w->f.calls = 0;
    expect_invalid(w, ps_pull_poll(p, NULL, &e), "out");
    expect_invalid(w, ps_pull_poll(p, &l, NULL), "end");
    assert_int_equal(ps_pull_poll(p, &l, &e), PS_OK);
    assert_true(e.done);
    assert_int_equal(e.status, PS_ERR_TIMEOUT);
    assert_int_equal(e.code, 408);
    assert_string_equal(e.description, "Request Timeout");
    assert_int_equal(e.pending_msgs, 2);
    ps_pull_free(p);
    ps_pull_free(NULL);
    assert_int_equal(w->f.calls, 2);
}

/* The status a pull's ending code and description stand for. */
static void test_pull_end_maps_server_statuses(void **state)
{
    (void)state;
    ps_pull_end e;
    ps_pull_end_set(&e, 404, "No Messages", -1, -1, PS_OK);
    assert_int_equal(e.status, PS_ERR_NO_MESSAGES);
    ps_pull_end_set(&e, 409, "Consumer Deleted", -1, -1, PS_OK);
    assert_int_equal(e.status, PS_ERR_CONSUMER_DELETED);
    ps_pull_end_set(&e, 409, "Exceeded MaxWaiting", -1, -1, PS_OK);
    assert_int_equal(e.status, PS_ERR_MAX_WAITING);
    ps_pull_end_set(&e, 409, "Message Size Exceeds MaxBytes", 1, 5, PS_OK);
    assert_int_equal(e.status, PS_ERR_MAX_BYTES);
    ps_pull_end_set(&e, 409, "Exceeded MaxRequestBatch of 2", -1, -1, PS_OK);
    assert_int_equal(e.status, PS_ERR_PULL_REJECTED);
    ps_pull_end_set(&e, 0, NULL, -1, -1, PS_OK);
    assert_true(e.done);
    assert_int_equal(e.status, PS_OK);
    assert_string_equal(e.description, "");
}

/* ---- optional and missing slots ------------------------------------------------------------- */

static void test_optional_slots_null_give_not_supported(void **state)
{
    world *w = *state;
    w->f.base.ops = &minimal_ops;
    assert_int_equal(ps_backend_next_deadline(&w->f.base), INT64_MAX);
    assert_int_equal(ps_backend_tick(&w->f.base), PS_ERR_NOT_SUPPORTED);
    assert_non_null(strstr(ps_last_error(), "minimal"));
    assert_int_equal(ps_backend_restart(&w->f.base, PS_RESTART_GRACEFUL), PS_ERR_NOT_SUPPORTED);
    assert_non_null(strstr(ps_last_error(), "ps_backend_restart"));
    assert_int_equal(w->f.calls, 0);
}

static void test_optional_slots_present_are_called(void **state)
{
    world *w = *state;
    assert_int_equal(ps_backend_next_deadline(&w->f.base), 1234);
    assert_int_equal(ps_backend_tick(&w->f.base), PS_OK);
    assert_int_equal(ps_backend_restart(&w->f.base, PS_RESTART_POWER_LOSS), PS_OK);
    assert_int_equal(w->f.last_restart, PS_RESTART_POWER_LOSS);
    assert_int_equal(w->f.calls, 3);
    w->f.calls = 0;
    expect_invalid(w, ps_backend_restart(&w->f.base, (ps_restart_kind)7), "kind");
}

/* A required slot left NULL is NOT_SUPPORTED, never a call through NULL. */
static void test_required_slot_null_gives_not_supported(void **state)
{
    world *w = *state;
    w->f.base.ops = &broken_ops;
    assert_int_equal(ps_publish_data(&w->f.base, "a", "x", 1, NULL, NULL), PS_ERR_NOT_SUPPORTED);
    assert_non_null(strstr(ps_last_error(), "broken"));
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(&w->c, 1, 0, &l), PS_ERR_NOT_SUPPORTED);
    assert_int_equal(ps_ack(&w->m, PS_ACK, 0), PS_ERR_NOT_SUPPORTED);
    assert_false(w->m.acked_);
    ps_consumer_info ci;
    assert_int_equal(ps_consumer_info_get(&w->c, &ci), PS_ERR_NOT_SUPPORTED);
    ps_stream_config sc = {.name = "S"};
    assert_int_equal(ps_stream_add(&w->f.base, &sc, NULL), PS_ERR_NOT_SUPPORTED);
    ps_consumer_free(&w->c);
    ps_backend_close(&w->f.base);
}

/* ---- the rest ----------------------------------------------------------------------------- */

/* Wrappers clear the last error first: a success leaves no stale detail. */
static void test_wrappers_clear_last_error_on_success(void **state)
{
    world *w = *state;
    ps_error(PS_ERR_TIMEOUT, 10071, "stale");
    assert_int_equal(ps_stream_delete(&w->f.base, "S"), PS_OK);
    assert_int_equal(ps_last_status(), PS_OK);
    assert_int_equal(ps_last_error_code(), 0);
    assert_string_equal(ps_last_error(), "");
}

static void test_name_and_close(void **state)
{
    world *w = *state;
    assert_string_equal(ps_backend_name(&w->f.base), "fake");
    ps_backend_close(&w->f.base);
    assert_int_equal(w->f.closes, 1);
}

typedef struct adv_seen {
    int n;
    ps_advisory_kind kind;
    uint64_t seq;
} adv_seen;

static void on_adv(void *user, const ps_advisory *adv)
{
    adv_seen *s = user;
    s->n++;
    s->kind = adv->kind;
    s->seq = adv->stream_seq;
}

static void test_advisory_handler_set_emit_and_remove(void **state)
{
    world *w = *state;
    adv_seen seen = {0};
    ps_advisory adv = {.kind = PS_ADV_MAX_DELIVERIES, .stream_seq = 42};
    ps_backend_emit_advisory(&w->f.base, &adv); /* no handler: nothing */
    ps_backend_set_advisory_handler(&w->f.base, on_adv, &seen);
    ps_backend_emit_advisory(&w->f.base, &adv);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.kind, PS_ADV_MAX_DELIVERIES);
    assert_int_equal(seen.seq, 42);
    ps_backend_emit_advisory(&w->f.base, NULL);
    ps_backend_set_advisory_handler(&w->f.base, NULL, NULL);
    ps_backend_emit_advisory(&w->f.base, &adv);
    assert_int_equal(seen.n, 1);
}

/* The _clear helpers free what they own and zero the struct (ASan reports
 * a leak otherwise); they accept NULL and zeroed structs. */
static void test_clear_helpers_free_and_zero(void **state)
{
    (void)state;
    ps_stream_info si = {.owned_ = malloc(16), .created_ns = 5};
    si.config.name = "S";
    ps_stream_info_clear(&si);
    assert_null(si.owned_);
    assert_null(si.config.name);
    assert_int_equal(si.created_ns, 0);
    ps_stream_info_clear(&si);
    ps_stream_info_clear(NULL);
    ps_consumer_info ci = {.owned_ = malloc(8), .num_pending = 3};
    ps_consumer_info_clear(&ci);
    assert_null(ci.owned_);
    assert_int_equal(ci.num_pending, 0);
    ps_consumer_info_clear(NULL);
    ps_stored_msg sm = {.subject = strdup("a"), .hdr = strdup("h"), .data = strdup("d"), .seq = 4};
    ps_stored_msg_clear(&sm);
    assert_null(sm.subject);
    assert_null(sm.data);
    assert_int_equal(sm.seq, 0);
    ps_stored_msg_clear(&sm);
    ps_stored_msg_clear(NULL);
}

/* Enum fields outside their values never reach a backend (which might
 * index a table with them). */
static void test_enum_fields_out_of_range_are_refused(void **state)
{
    world *w = *state;
    ps_backend *b = &w->f.base;
    ps_stream_config sc = {.name = "S", .retention = (ps_retention)7};
    expect_invalid(w, ps_stream_add(b, &sc, NULL), "retention 7");
    sc.retention = PS_RETENTION_LIMITS;
    sc.storage = (ps_storage)-1;
    expect_invalid(w, ps_stream_update(b, &sc, NULL), "storage -1");
    sc.storage = PS_STORAGE_FILE;
    sc.discard = (ps_discard)2;
    expect_invalid(w, ps_stream_add(b, &sc, NULL), "discard 2");
    ps_consumer *c = NULL;
    ps_consumer_config cc = {.ack_policy = (ps_ack_policy)1000000};
    expect_invalid(w, ps_consumer_add(b, "S", &cc, &c), "ack_policy 1000000");
    cc = (ps_consumer_config){.deliver_policy = (ps_deliver_policy)6};
    expect_invalid(w, ps_consumer_add(b, "S", &cc, &c), "deliver_policy 6");
    cc = (ps_consumer_config){.replay_policy = (ps_replay_policy)2};
    expect_invalid(w, ps_consumer_add(b, "S", &cc, &c), "replay_policy 2");
}

/* Issue 10 item 7: a duration of INT64_MAX overflowed now + duration in the
 * backends (redelivered at once, a deadline in the past); every duration
 * above PS_DURATION_MAX_NS is refused by name, and the maximum is accepted. */
static void test_durations_above_the_maximum_are_refused(void **state)
{
    world *w = *state;
    ps_backend *b = &w->f.base;
    const int64_t big = PS_DURATION_MAX_NS + 1;
    ps_stream_config sc = {.name = "S", .max_age_ns = INT64_MAX};
    expect_invalid(w, ps_stream_add(b, &sc, NULL), "max_age_ns");
    sc = (ps_stream_config){.name = "S", .duplicates_ns = big};
    expect_invalid(w, ps_stream_update(b, &sc, NULL), "duplicates_ns");
    ps_consumer *c = NULL;
    static const char *names[] = {"ack_wait_ns", "max_request_expires_ns", "inactive_threshold_ns",
                                  "backoff_ns"};
    const int64_t bo[] = {PS_NS_PER_SEC, INT64_MAX};
    for (int i = 0; i < 4; i++) {
        ps_consumer_config cc = {.durable = "D"};
        switch (i) {
        case 0: cc.ack_wait_ns = INT64_MAX; break;
        case 1: cc.max_request_expires_ns = big; break;
        case 2: cc.inactive_threshold_ns = INT64_MAX; break;
        default: cc.backoff_ns = bo, cc.backoff_len = 2, cc.max_deliver = 3; break;
        }
        expect_invalid(w, ps_consumer_add(b, "S", &cc, &c), names[i]);
    }
    ps_msg_list l = {0};
    ps_fetch_request r = {.batch = 1, .expires_ns = INT64_MAX};
    expect_invalid(w, ps_fetch(&w->c, &r, &l), "expires_ns");
    expect_invalid(w, ps_ack(&w->m, PS_NAK, INT64_MAX), "nak delay");
    expect_invalid(w, ps_publish_async_complete(b, big), "timeout");
    ps_consumer_config at_max = {.durable = "D", .ack_wait_ns = PS_DURATION_MAX_NS};
    assert_int_equal(ps_consumer_add(b, "S", &at_max, &c), PS_OK);
    assert_int_equal(ps_ack(&w->m, PS_NAK, PS_DURATION_MAX_NS), PS_OK);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_wrappers_reject_null_backend),
        T(test_stream_add_rejects_null_config_and_bad_names),
        T(test_stream_info_delete_need_name_and_out),
        T(test_purge_rejects_seq_with_keep_and_bad_filter),
        T(test_msg_get_and_delete_check_sequence_and_subject),
        T(test_publish_requires_literal_subject),
        T(test_publish_rejects_null_data_and_empty_msg_id),
        T(test_publish_rejects_js_header_in_other_headers),
        T(test_publish_data_forwards_subject_data_and_id),
        T(test_consumer_add_checks_names_config_and_out),
        T(test_consumer_add_rejects_negative_fields_by_name),
        T(test_consumer_add_checks_backoff_array),
        T(test_consumer_bind_and_delete_check_names),
        T(test_consumer_info_and_free_need_a_handle),
        T(test_fetch_checks_request),
        T(test_fetch_batch_forwards_batch_and_expires),
        T(test_ack_checks_message_kind_and_delay),
        T(test_ack_second_ack_is_local_noop),
        T(test_ack_nak_and_term_also_mark_the_message),
        T(test_ack_in_progress_repeats_and_does_not_mark),
        T(test_ack_failure_leaves_message_unmarked),
        T(test_ack_send_sends_every_ack),
        T(test_pull_start_refuses_an_older_table_by_version),
        T(test_pull_start_checks_request),
        T(test_pull_wrappers_forward_to_a_version_3_table),
        T(test_pull_end_maps_server_statuses),
        T(test_optional_slots_null_give_not_supported),
        T(test_optional_slots_present_are_called),
        T(test_required_slot_null_gives_not_supported),
        T(test_wrappers_clear_last_error_on_success),
        T(test_name_and_close),
        T(test_advisory_handler_set_emit_and_remove),
        T(test_clear_helpers_free_and_zero),
        T(test_enum_fields_out_of_range_are_refused),
        T(test_durations_above_the_maximum_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
