/* test_publisher.c — unit tests of the publisher (core/ps_publisher.h) on
 * the memory backend with a manual clock.
 *
 * Transient failures come from a small fault shim written here: a backend
 * that delegates to the memory backend and can fail the next publishes,
 * optionally after storing the message (a lost PubAck), and can advance the
 * clock on each publish to give latencies something to measure. It is not
 * the project's fault-injection layer, only what these tests need.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_memory.h"
#include "ps_publisher.h"
#include "ps_backend_impl.h"

/* ---- fixture ------------------------------------------------------------------- */

typedef struct shim {
    ps_backend base;
    ps_backend *inner;
    ps_clock *clock;
    int fail_left;      /* publishes still to fail */
    ps_status fail_with;
    bool store_first;   /* the failure is a lost PubAck: the message is stored */
    int64_t step_ns;    /* each publish advances the manual clock by this */
    int publishes;
} shim;

static ps_status shim_stream_add(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out)
{
    return ps_stream_add(((shim *)b)->inner, cfg, out);
}

static ps_status shim_stream_info(ps_backend *b, const char *stream, ps_stream_info *out)
{
    return ps_stream_info_get(((shim *)b)->inner, stream, out);
}

static ps_status shim_publish(ps_backend *b, const ps_out_msg *m, ps_pub_ack *out)
{
    shim *s = (shim *)b;
    s->publishes++;
    if (s->step_ns && s->clock)
        ps_clock_advance(s->clock, s->step_ns);
    if (s->fail_left > 0) {
        s->fail_left--;
        if (s->store_first)
            ps_publish(s->inner, m, NULL);
        return ps_error(s->fail_with, 0, "injected %s", ps_status_name(s->fail_with));
    }
    return ps_publish(s->inner, m, out);
}

/* Only what the publisher and these tests call; the rest is unsupported. */
static const ps_backend_ops shim_ops = {
    .version = 1,
    .name = "shim",
    .stream_add = shim_stream_add,
    .stream_info = shim_stream_info,
    .publish = shim_publish,
    .close = NULL,
    .next_deadline = NULL,
    .tick = NULL,
    .restart = NULL,
};

typedef struct env {
    test_mem m;
    shim sh;
} env;

static int setup(void **state)
{
    static env e;
    memset(&e, 0, sizeof e);
    if (test_mem_open(&e.m, 0, &(ps_memory_options){.seed = 1}) != PS_OK)
        return -1;
    e.sh.base.ops = &shim_ops;
    e.sh.inner = e.m.b;
    e.sh.clock = e.m.clock;
    *state = &e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    return test_mem_close(&e->m) == PS_OK ? 0 : -1;
}

static void add_stream(ps_backend *b, const char *name, const char *subj)
{
    const char *subs[] = {subj};
    ps_stream_config c = {.name = name, .subjects = subs, .subjects_len = 1};
    assert_int_equal(ps_stream_add(b, &c, NULL), PS_OK);
}

static uint64_t stream_msgs(ps_backend *b, const char *name)
{
    ps_stream_info si = {0};
    assert_int_equal(ps_stream_info_get(b, name, &si), PS_OK);
    uint64_t n = si.state.msgs;
    ps_stream_info_clear(&si);
    return n;
}

/* What on_publish saw, last call. */
typedef struct seen {
    int calls;
    char subject[64];
    char msg_id[64];
    ps_status st;
    bool had_ack;
    ps_pub_ack ack;
    int64_t latency_ns;
    int attempts;
    bool clobber_error; /* call a failing jetsim function from the callback */
    ps_backend *b;
} seen;

static void on_publish(void *user, const ps_out_msg *m, ps_status st, const ps_pub_ack *ack,
                       int64_t latency_ns, int attempts)
{
    seen *s = user;
    s->calls++;
    snprintf(s->subject, sizeof s->subject, "%s", m->subject);
    snprintf(s->msg_id, sizeof s->msg_id, "%s", m->msg_id ? m->msg_id : "");
    s->st = st;
    s->had_ack = ack != NULL;
    if (ack)
        s->ack = *ack;
    s->latency_ns = latency_ns;
    s->attempts = attempts;
    if (s->clobber_error) {
        ps_stream_info si = {0};
        ps_stream_info_get(s->b, "NO_SUCH_STREAM", &si);
    }
}

static ps_publisher *new_pub(ps_backend *b, const ps_publisher_config *cfg)
{
    ps_publisher *p = NULL;
    assert_int_equal(ps_publisher_new(&p, b, cfg), PS_OK);
    assert_non_null(p);
    return p;
}

static ps_publisher_stats stats_of(const ps_publisher *p)
{
    ps_publisher_stats st;
    assert_int_equal(ps_publisher_stats_get(p, &st), PS_OK);
    return st;
}

static ps_status send(ps_publisher *p, const char *subject, const char *msg_id, ps_pub_ack *ack)
{
    ps_out_msg m = {.subject = subject, .data = "x", .len = 1, .msg_id = msg_id};
    return ps_publisher_publish(p, &m, ack);
}

/* ---- prefix --------------------------------------------------------------------- */

static void test_prefix_is_joined_with_a_dot(void **state)
{
    env *e = *state;
    add_stream(e->m.b, "ORDERS", "orders.>");
    seen sn = {0};
    ps_publisher_config cfg = {.subject_prefix = "orders", .clock = e->m.clock,
                               .on_publish = on_publish, .user = &sn};
    ps_publisher *p = new_pub(e->m.b, &cfg);
    ps_pub_ack ack;
    assert_int_equal(send(p, "created", NULL, &ack), PS_OK);
    assert_string_equal(ack.stream, "ORDERS");
    assert_int_equal(ack.seq, 1);
    ps_stored_msg sm = {0};
    assert_int_equal(ps_msg_get(e->m.b, "ORDERS", 1, NULL, &sm), PS_OK);
    assert_string_equal(sm.subject, "orders.created");
    ps_stored_msg_clear(&sm);
    assert_string_equal(sn.subject, "orders.created");
    /* the buffer grows for a longer subject */
    assert_int_equal(send(p, "eu.west.shipped.with.a.rather.long.subject.name", NULL, NULL), PS_OK);
    assert_int_equal(ps_msg_get(e->m.b, "ORDERS", 2, NULL, &sm), PS_OK);
    assert_string_equal(sm.subject, "orders.eu.west.shipped.with.a.rather.long.subject.name");
    ps_stored_msg_clear(&sm);
    ps_publisher_free(p);
}

static void test_null_or_empty_prefix_sends_subject_as_is(void **state)
{
    env *e = *state;
    add_stream(e->m.b, "ORDERS", "orders.>");
    ps_publisher_config cfg = {.subject_prefix = NULL, .clock = e->m.clock};
    ps_publisher *p = new_pub(e->m.b, &cfg);
    assert_int_equal(send(p, "orders.created", NULL, NULL), PS_OK);
    ps_publisher_free(p);
    cfg.subject_prefix = "";
    p = new_pub(e->m.b, &cfg);
    assert_int_equal(send(p, "orders.paid", NULL, NULL), PS_OK);
    ps_publisher_free(p);
    ps_stored_msg sm = {0};
    assert_int_equal(ps_msg_get(e->m.b, "ORDERS", 2, NULL, &sm), PS_OK);
    assert_string_equal(sm.subject, "orders.paid");
    ps_stored_msg_clear(&sm);
}

static void test_cfg_null_publishes_plainly(void **state)
{
    env *e = *state;
    add_stream(e->m.b, "ORDERS", "orders.>");
    ps_publisher *p = new_pub(e->m.b, NULL);
    assert_int_equal(send(p, "orders.created", NULL, NULL), PS_OK);
    assert_int_equal(stats_of(p).published, 1);
    ps_publisher_free(p);
}

/* ---- auto-create ---------------------------------------------------------------- */

static void test_auto_create_makes_stream_and_republishes(void **state)
{
    env *e = *state;
    seen sn = {0};
    const char *subs[] = {"orders.>"};
    ps_stream_config sc = {.name = "ORDERS", .subjects = subs, .subjects_len = 1,
                           .retention = PS_RETENTION_WORKQUEUE};
    ps_publisher_config cfg = {.subject_prefix = "orders", .auto_create = &sc, .clock = e->m.clock,
                               .on_publish = on_publish, .user = &sn};
    ps_publisher *p = new_pub(e->m.b, &cfg);
    /* the config was copied: scribbling over ours changes nothing */
    sc.name = "CHANGED";
    subs[0] = "changed.>";
    ps_pub_ack ack;
    assert_int_equal(send(p, "created", NULL, &ack), PS_OK);
    assert_string_equal(ack.stream, "ORDERS");
    assert_int_equal(ack.seq, 1);
    assert_int_equal(sn.attempts, 2);
    ps_publisher_stats st = stats_of(p);
    assert_int_equal(st.streams_created, 1);
    assert_int_equal(st.retries, 0);
    assert_int_equal(st.published, 1);
    assert_int_equal(stream_msgs(e->m.b, "ORDERS"), 1);
    ps_stream_info si = {0};
    assert_int_equal(ps_stream_info_get(e->m.b, "ORDERS", &si), PS_OK);
    assert_int_equal(si.config.retention, PS_RETENTION_WORKQUEUE);
    ps_stream_info_clear(&si);
    /* the stream exists now: one attempt, no creation */
    assert_int_equal(send(p, "paid", NULL, NULL), PS_OK);
    assert_int_equal(sn.attempts, 1);
    assert_int_equal(stats_of(p).streams_created, 1);
    ps_publisher_free(p);
}

static void test_no_responders_without_auto_create_is_final(void **state)
{
    env *e = *state;
    seen sn = {0};
    ps_publisher_config cfg = {.max_retries = 5, .clock = e->m.clock, .on_publish = on_publish, .user = &sn};
    ps_publisher *p = new_pub(e->m.b, &cfg);
    ps_pub_ack ack = {.seq = 777};
    assert_int_equal(send(p, "orders.created", NULL, &ack), PS_ERR_NO_RESPONDERS);
    assert_int_equal(ack.seq, 777); /* out untouched on failure */
    assert_int_equal(sn.calls, 1);
    assert_int_equal(sn.st, PS_ERR_NO_RESPONDERS);
    assert_false(sn.had_ack);
    assert_int_equal(sn.attempts, 1);
    ps_publisher_stats st = stats_of(p);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.retries, 0);
    assert_int_equal(st.published, 0);
    ps_publisher_free(p);
}

/* The created stream does not capture the subject: NO_RESPONDERS after
 * creation is transient, so it is retried max_retries times. */
static void test_no_responders_after_auto_create_is_retried(void **state)
{
    env *e = *state;
    seen sn = {0};
    const char *subs[] = {"other.>"};
    ps_stream_config sc = {.name = "OTHER", .subjects = subs, .subjects_len = 1};
    ps_publisher_config cfg = {.auto_create = &sc, .max_retries = 3, .retry_wait_ns = PS_NS_PER_SEC,
                               .clock = e->m.clock, .on_publish = on_publish, .user = &sn};
    ps_publisher *p = new_pub(e->m.b, &cfg);
    assert_int_equal(send(p, "orders.created", NULL, NULL), PS_ERR_NO_RESPONDERS);
    assert_int_equal(sn.attempts, 5); /* first, after creation, 3 retries */
    ps_publisher_stats st = stats_of(p);
    assert_int_equal(st.retries, 3);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.streams_created, 1);
    ps_publisher_free(p);
}

static void test_auto_create_conflict_is_returned_not_retried(void **state)
{
    env *e = *state;
    add_stream(e->m.b, "AUDIT", "orders.audit");
    seen sn = {0};
    const char *subs[] = {"orders.>"};
    ps_stream_config sc = {.name = "ORDERS", .subjects = subs, .subjects_len = 1};
    ps_publisher_config cfg = {.auto_create = &sc, .max_retries = 3, .clock = e->m.clock,
                               .on_publish = on_publish, .user = &sn};
    ps_publisher *p = new_pub(e->m.b, &cfg);
    assert_int_equal(send(p, "orders.created", NULL, NULL), PS_ERR_STREAM_SUBJECT_OVERLAP);
    assert_int_equal(sn.attempts, 1);
    assert_int_equal(stats_of(p).retries, 0);
    assert_int_equal(stats_of(p).streams_created, 0);
    ps_publisher_free(p);
}

/* ---- retries ---------------------------------------------------------------------- */

static void test_transient_failures_are_retried_until_success(void **state)
{
    env *e = *state;
    add_stream(e->m.b, "ORDERS", "orders.>");
    seen sn = {0};
    e->sh.fail_left = 2;
    e->sh.fail_with = PS_ERR_TIMEOUT;
    ps_publisher_config cfg = {.max_retries = 5, .clock = e->m.clock, .on_publish = on_publish, .user = &sn};
    ps_publisher *p = new_pub(&e->sh.base, &cfg);
    assert_int_equal(send(p, "orders.created", NULL, NULL), PS_OK);
    assert_int_equal(e->sh.publishes, 3);
    assert_int_equal(sn.attempts, 3);
    ps_publisher_stats st = stats_of(p);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.published, 1);
    assert_int_equal(st.failed, 0);
    assert_int_equal(stream_msgs(e->m.b, "ORDERS"), 1);
    ps_publisher_free(p);
}

static void test_each_transient_status_is_retried(void **state)
{
    env *e = *state;
    add_stream(e->m.b, "ORDERS", "orders.>");
    ps_status transient[] = {PS_ERR_TIMEOUT, PS_ERR_UNAVAILABLE, PS_ERR_IO};
    ps_publisher_config cfg = {.max_retries = 1, .clock = e->m.clock};
    ps_publisher *p = new_pub(&e->sh.base, &cfg);
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++) {
        e->sh.fail_left = 1;
        e->sh.fail_with = transient[i];
        assert_int_equal(send(p, "orders.created", NULL, NULL), PS_OK);
    }
    assert_int_equal(stats_of(p).retries, 3);
    ps_publisher_free(p);
}

static void test_gives_up_after_max_retries_with_last_error(void **state)
{
    env *e = *state;
    add_stream(e->m.b, "ORDERS", "orders.>");
    seen sn = {.clobber_error = true, .b = e->m.b};
    e->sh.fail_left = 100;
    e->sh.fail_with = PS_ERR_UNAVAILABLE;
    ps_publisher_config cfg = {.max_retries = 2, .clock = e->m.clock, .on_publish = on_publish, .user = &sn};
    ps_publisher *p = new_pub(&e->sh.base, &cfg);
    assert_int_equal(send(p, "orders.created", NULL, NULL), PS_ERR_UNAVAILABLE);
    /* the callback's own failure did not overwrite the detail */
    assert_int_equal(ps_last_status(), PS_ERR_UNAVAILABLE);
    assert_non_null(strstr(ps_last_error(), "injected"));
    assert_int_equal(sn.attempts, 3);
    assert_int_equal(sn.st, PS_ERR_UNAVAILABLE);
    ps_publisher_stats st = stats_of(p);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.failed, 1);
    assert_int_equal(stream_msgs(e->m.b, "ORDERS"), 0);
    ps_publisher_free(p);
}

static void test_zero_max_retries_does_not_retry(void **state)
{
    env *e = *state;
    add_stream(e->m.b, "ORDERS", "orders.>");
    e->sh.fail_left = 1;
    e->sh.fail_with = PS_ERR_TIMEOUT;
    ps_publisher_config cfg = {.clock = e->m.clock};
    ps_publisher *p = new_pub(&e->sh.base, &cfg);
    assert_int_equal(send(p, "orders.created", NULL, NULL), PS_ERR_TIMEOUT);
    assert_int_equal(e->sh.publishes, 1);
    assert_int_equal(stats_of(p).retries, 0);
    ps_publisher_free(p);
}

static void test_non_transient_failure_is_not_retried(void **state)
{
    env *e = *state;
    add_stream(e->m.b, "ORDERS", "orders.>");
    seen sn = {0};
    ps_publisher_config cfg = {.max_retries = 5, .clock = e->m.clock, .on_publish = on_publish, .user = &sn};
    ps_publisher *p = new_pub(e->m.b, &cfg);
    ps_out_msg m = {.subject = "orders.created", .has_expected_last_seq = true, .expected_last_seq = 9};
    assert_int_equal(ps_publisher_publish(p, &m, NULL), PS_ERR_WRONG_LAST_SEQUENCE);
    assert_int_equal(ps_last_error_code(), 10071);
    assert_int_equal(sn.attempts, 1);
    assert_int_equal(stats_of(p).retries, 0);
    assert_int_equal(stats_of(p).failed, 1);
    ps_publisher_free(p);
}

/* A manual clock never moves by itself: waiting on it would hang, so the
 * retry waits are skipped (measured on the real clock by the test). */
static void test_manual_clock_skips_retry_waits(void **state)
{
    env *e = *state;
    add_stream(e->m.b, "ORDERS", "orders.>");
    seen sn = {0};
    e->sh.fail_left = 2;
    e->sh.fail_with = PS_ERR_TIMEOUT;
    ps_publisher_config cfg = {.max_retries = 2, .retry_wait_ns = 2 * PS_NS_PER_SEC, .clock = e->m.clock,
                               .on_publish = on_publish, .user = &sn};
    ps_publisher *p = new_pub(&e->sh.base, &cfg);
    int64_t virt0 = ps_clock_now(e->m.clock);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(send(p, "orders.created", NULL, NULL), PS_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t real_ns = (int64_t)(t1.tv_sec - t0.tv_sec) * PS_NS_PER_SEC + (t1.tv_nsec - t0.tv_nsec);
    assert_true(real_ns < PS_NS_PER_SEC);
    assert_int_equal(ps_clock_now(e->m.clock), virt0);
    assert_int_equal(sn.latency_ns, 0);
    assert_int_equal(stats_of(p).retries, 2);
    ps_publisher_free(p);
}

/* On the real clock the publisher does wait retry_wait_ns (2 x 1 ms here). */
static void test_real_clock_waits_between_retries(void **state)
{
    env *e = *state;
    add_stream(e->m.b, "ORDERS", "orders.>");
    seen sn = {0};
    e->sh.fail_left = 2;
    e->sh.fail_with = PS_ERR_IO;
    ps_publisher_config cfg = {.max_retries = 2, .retry_wait_ns = PS_NS_PER_MS, .clock = NULL,
                               .on_publish = on_publish, .user = &sn};
    ps_publisher *p = new_pub(&e->sh.base, &cfg);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(send(p, "orders.created", NULL, NULL), PS_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t real_ns = (int64_t)(t1.tv_sec - t0.tv_sec) * PS_NS_PER_SEC + (t1.tv_nsec - t0.tv_nsec);
    assert_true(real_ns >= 2 * PS_NS_PER_MS);
    assert_true(sn.latency_ns > 0);
    ps_publisher_free(p);
}

/* ---- dedup ------------------------------------------------------------------------- */

static void test_same_msg_id_is_a_duplicate(void **state)
{
    env *e = *state;
    add_stream(e->m.b, "ORDERS", "orders.>");
    ps_publisher *p = new_pub(e->m.b, &(ps_publisher_config){.clock = e->m.clock});
    ps_pub_ack a1, a2;
    assert_int_equal(send(p, "orders.created", "job-1", &a1), PS_OK);
    assert_false(a1.duplicate);
    assert_int_equal(send(p, "orders.created", "job-1", &a2), PS_OK);
    assert_true(a2.duplicate);
    assert_int_equal(a2.seq, a1.seq);
    ps_publisher_stats st = stats_of(p);
    assert_int_equal(st.published, 2);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(stream_msgs(e->m.b, "ORDERS"), 1);
    ps_publisher_free(p);
}

/* A lost PubAck: the first attempt was stored, the retry with the same id
 * is acknowledged as a duplicate and nothing is stored twice (JS 3.4). */
static void test_retry_after_lost_ack_is_a_duplicate(void **state)
{
    env *e = *state;
    add_stream(e->m.b, "ORDERS", "orders.>");
    seen sn = {0};
    e->sh.fail_left = 1;
    e->sh.fail_with = PS_ERR_TIMEOUT;
    e->sh.store_first = true;
    ps_publisher_config cfg = {.subject_prefix = "orders", .max_retries = 3, .clock = e->m.clock,
                               .on_publish = on_publish, .user = &sn};
    ps_publisher *p = new_pub(&e->sh.base, &cfg);
    ps_pub_ack ack;
    assert_int_equal(send(p, "created", "job-42", &ack), PS_OK);
    assert_true(ack.duplicate);
    assert_int_equal(ack.seq, 1);
    assert_string_equal(sn.msg_id, "job-42");
    assert_int_equal(sn.attempts, 2);
    ps_publisher_stats st = stats_of(p);
    assert_int_equal(st.retries, 1);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(stream_msgs(e->m.b, "ORDERS"), 1);
    ps_publisher_free(p);
}

/* ---- callback ---------------------------------------------------------------------- */

static void test_callback_reports_status_ack_latency_attempts(void **state)
{
    env *e = *state;
    add_stream(e->m.b, "ORDERS", "orders.>");
    seen sn = {0};
    e->sh.fail_left = 1;
    e->sh.fail_with = PS_ERR_TIMEOUT;
    e->sh.step_ns = 3 * PS_NS_PER_MS;
    ps_publisher_config cfg = {.subject_prefix = "orders", .max_retries = 1, .clock = e->m.clock,
                               .on_publish = on_publish, .user = &sn};
    ps_publisher *p = new_pub(&e->sh.base, &cfg);
    assert_int_equal(send(p, "created", "job-7", NULL), PS_OK);
    assert_int_equal(sn.calls, 1);
    assert_int_equal(sn.st, PS_OK);
    assert_true(sn.had_ack);
    assert_string_equal(sn.ack.stream, "ORDERS");
    assert_int_equal(sn.ack.seq, 1);
    assert_false(sn.ack.duplicate);
    assert_string_equal(sn.subject, "orders.created");
    assert_string_equal(sn.msg_id, "job-7");
    assert_int_equal(sn.latency_ns, 6 * PS_NS_PER_MS); /* two publishes of 3 ms each */
    assert_int_equal(sn.attempts, 2);
    ps_publisher_free(p);
}

static void test_callback_not_called_for_argument_errors(void **state)
{
    env *e = *state;
    seen sn = {0};
    ps_publisher_config cfg = {.clock = e->m.clock, .on_publish = on_publish, .user = &sn};
    ps_publisher *p = new_pub(e->m.b, &cfg);
    assert_int_equal(ps_publisher_publish(NULL, &(ps_out_msg){.subject = "a"}, NULL), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_publisher_publish(p, NULL, NULL), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "message"));
    assert_int_equal(ps_publisher_publish(p, &(ps_out_msg){.subject = NULL}, NULL), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "subject"));
    assert_int_equal(sn.calls, 0);
    assert_int_equal(stats_of(p).failed, 0);
    ps_publisher_free(p);
}

/* ---- arguments ----------------------------------------------------------------------- */

static void expect_new_fails(ps_backend *b, const ps_publisher_config *cfg, const char *word)
{
    ps_publisher *p = (ps_publisher *)(uintptr_t)0x1;
    assert_int_equal(ps_publisher_new(&p, b, cfg), PS_ERR_INVALID_ARG);
    assert_ptr_equal(p, (ps_publisher *)(uintptr_t)0x1); /* out untouched */
    assert_non_null(strstr(ps_last_error(), word));
}

static void test_new_rejects_bad_arguments(void **state)
{
    env *e = *state;
    ps_publisher *p = NULL;
    assert_int_equal(ps_publisher_new(NULL, e->m.b, NULL), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "out"));
    expect_new_fails(NULL, NULL, "backend");
    expect_new_fails(e->m.b, &(ps_publisher_config){.max_retries = -1}, "max_retries");
    expect_new_fails(e->m.b, &(ps_publisher_config){.retry_wait_ns = -1}, "retry_wait_ns");
    expect_new_fails(e->m.b, &(ps_publisher_config){.subject_prefix = "orders.*"}, "prefix");
    expect_new_fails(e->m.b, &(ps_publisher_config){.subject_prefix = "orders..eu"}, "prefix");
    expect_new_fails(e->m.b, &(ps_publisher_config){.auto_create = &(ps_stream_config){0}}, "name");
    expect_new_fails(e->m.b, &(ps_publisher_config){.auto_create = &(ps_stream_config){
                               .name = "S", .subjects_len = 2}}, "subjects");
    assert_int_equal(ps_publisher_stats_get(NULL, &(ps_publisher_stats){0}), PS_ERR_INVALID_ARG);
    p = new_pub(e->m.b, NULL);
    assert_int_equal(ps_publisher_stats_get(p, NULL), PS_ERR_INVALID_ARG);
    ps_publisher_free(p);
    ps_publisher_free(NULL);
}

/* A subject the prefix makes invalid is the backend's to reject; it made an
 * attempt, so it is counted and reported. */
static void test_invalid_full_subject_fails_once(void **state)
{
    env *e = *state;
    seen sn = {0};
    ps_publisher_config cfg = {.subject_prefix = "orders", .max_retries = 3, .clock = e->m.clock,
                               .on_publish = on_publish, .user = &sn};
    ps_publisher *p = new_pub(e->m.b, &cfg);
    assert_int_equal(send(p, "", NULL, NULL), PS_ERR_INVALID_ARG);
    assert_int_equal(sn.calls, 1);
    assert_int_equal(sn.attempts, 1);
    assert_string_equal(sn.subject, "orders.");
    assert_int_equal(stats_of(p).failed, 1);
    ps_publisher_free(p);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_prefix_is_joined_with_a_dot),
        T(test_null_or_empty_prefix_sends_subject_as_is),
        T(test_cfg_null_publishes_plainly),
        T(test_auto_create_makes_stream_and_republishes),
        T(test_no_responders_without_auto_create_is_final),
        T(test_no_responders_after_auto_create_is_retried),
        T(test_auto_create_conflict_is_returned_not_retried),
        T(test_transient_failures_are_retried_until_success),
        T(test_each_transient_status_is_retried),
        T(test_gives_up_after_max_retries_with_last_error),
        T(test_zero_max_retries_does_not_retry),
        T(test_non_transient_failure_is_not_retried),
        T(test_manual_clock_skips_retry_waits),
        T(test_real_clock_waits_between_retries),
        T(test_same_msg_id_is_a_duplicate),
        T(test_retry_after_lost_ack_is_a_duplicate),
        T(test_callback_reports_status_ack_latency_attempts),
        T(test_callback_not_called_for_argument_errors),
        T(test_new_rejects_bad_arguments),
        T(test_invalid_full_subject_fails_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
