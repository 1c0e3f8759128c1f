/* test_worker.c — unit tests of the worker (core/ps_worker.h) on the memory
 * backend with a manual clock: handler results mapped to ack / nak with
 * backoff / term, deferral, the in-flight bound, graceful stop, in-progress,
 * ack failures, argument errors; dead letters, delayed jobs, per-key order.
 *
 * Time moves only through ps_clock_advance followed by ps_backend_tick;
 * nothing here sleeps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_memory.h"
#include "ps_worker.h"

#define SEC PS_NS_PER_SEC
#define MS PS_NS_PER_MS

/* ---- fixture ------------------------------------------------------------------- */

typedef test_mem env;

static int setup(void **state)
{
    static env e;
    if (test_mem_open(&e, 0, &(ps_memory_options){.seed = 1}) != PS_OK ||
        test_mem_add_stream(&e, "JOBS", "jobs.>", PS_RETENTION_WORKQUEUE) != PS_OK)
        return -1;
    *state = &e;
    return 0;
}

static int teardown(void **state)
{
    ps_status s = test_mem_close(*state);
    if (s)
        fprintf(stderr, "teardown: %s\n", ps_last_error());
    return s == PS_OK ? 0 : -1;
}

static void publish_n(env *e, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        char data[16];
        int len = snprintf(data, sizeof data, "m%d", i);
        assert_int_equal(ps_publish_data(e->b, "jobs.run", data, (size_t)len, NULL, NULL), PS_OK);
    }
}

static void advance(env *e, int64_t ns)
{
    assert_int_equal(ps_clock_advance(e->clock, ns), PS_OK);
    assert_int_equal(ps_backend_tick(e->b), PS_OK);
}

static uint64_t stream_msgs(env *e)
{
    ps_stream_info si = {0};
    assert_int_equal(ps_stream_info_get(e->b, "JOBS", &si), PS_OK);
    uint64_t n = si.state.msgs;
    ps_stream_info_clear(&si);
    return n;
}

static uint64_t ack_pending(ps_worker *w)
{
    ps_consumer_info ci = {0};
    assert_int_equal(ps_consumer_info_get(ps_worker_consumer(w), &ci), PS_OK);
    uint64_t n = ci.num_ack_pending;
    ps_consumer_info_clear(&ci);
    return n;
}

/* What the handler saw and what it answers. */
#define REC_MAX 256
typedef struct rec {
    ps_worker *w;
    int calls;
    ps_handle_result result;   /* answer when script is exhausted */
    ps_handle_result script[16];
    int script_len;
    char data[REC_MAX][16];
    uint64_t delivered[REC_MAX];
    ps_msg *held[REC_MAX];     /* the deferred ones, in order */
    int nheld;
    uint64_t max_in_flight_seen;
    int stop_at_call;          /* call ps_worker_stop at this call (1-based), 0 never */
    ps_status complete_self;   /* what completing the current message returned */
    ps_status poll_inside;     /* what a nested poll returned */
    bool try_nested;
    int errors;
    ps_ack_kind error_kind;
    ps_status error_st;
    char error_detail[128];
} rec;

static ps_handle_result handler(void *user, ps_msg *m)
{
    rec *r = user;
    int i = r->calls++;
    if (i < REC_MAX) {
        snprintf(r->data[i], sizeof r->data[i], "%.*s", (int)m->len, (const char *)m->data);
        r->delivered[i] = m->meta.num_delivered;
    }
    if (r->w) {
        ps_worker_stats st;
        assert_int_equal(ps_worker_stats_get(r->w, &st), PS_OK);
        if (st.in_flight > r->max_in_flight_seen)
            r->max_in_flight_seen = st.in_flight;
        if (r->try_nested) {
            r->complete_self = ps_worker_complete(r->w, m, PS_HANDLE_ACK);
            r->poll_inside = ps_worker_poll(r->w, NULL);
        }
        if (r->stop_at_call == i + 1)
            assert_int_equal(ps_worker_stop(r->w), PS_OK);
    }
    ps_handle_result res = i < r->script_len ? r->script[i] : r->result;
    if (res == PS_HANDLE_DEFER && r->nheld < REC_MAX)
        r->held[r->nheld++] = m;
    return res;
}

static void on_error(void *user, const ps_msg *m, ps_ack_kind kind, ps_status st, const char *detail)
{
    rec *r = user;
    assert_non_null(m);
    r->errors++;
    r->error_kind = kind;
    r->error_st = st;
    snprintf(r->error_detail, sizeof r->error_detail, "%s", detail);
}

static ps_worker_config base_cfg(rec *r)
{
    ps_worker_config cfg = {
        .stream = "JOBS",
        .consumer = {.durable = "workers", .ack_wait_ns = 30 * SEC},
        .batch = 10,
        .fetch_expires_ns = 5 * SEC,
        .handler = handler,
        .on_error = on_error,
        .user = r,
    };
    return cfg;
}

static ps_worker *new_worker(env *e, rec *r, const ps_worker_config *cfg)
{
    ps_worker *w = NULL;
    assert_int_equal(ps_worker_new(&w, e->b, cfg), PS_OK);
    assert_non_null(w);
    r->w = w;
    return w;
}

static ps_worker_stats stats_of(const ps_worker *w)
{
    ps_worker_stats st;
    assert_int_equal(ps_worker_stats_get(w, &st), PS_OK);
    return st;
}

static int poll_ok(ps_worker *w)
{
    int n = -1;
    assert_int_equal(ps_worker_poll(w, &n), PS_OK);
    return n;
}

/* ---- ack ------------------------------------------------------------------------ */

static void test_ack_result_acks_and_removes_from_workqueue(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_ACK};
    ps_worker_config cfg = base_cfg(&r);
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 3);
    assert_int_equal(poll_ok(w), 3);
    assert_string_equal(r.data[0], "m0");
    assert_string_equal(r.data[1], "m1");
    assert_string_equal(r.data[2], "m2");
    assert_int_equal(r.delivered[0], 1);
    ps_worker_stats st = stats_of(w);
    assert_int_equal(st.fetched, 3);
    assert_int_equal(st.acked, 3);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(st.errors, 0);
    assert_int_equal(ack_pending(w), 0);
    assert_int_equal(stream_msgs(e), 0);
    ps_worker_free(w);
}

/* ps_worker_poll_max fetches no more than asked, below batch, and refuses
 * a limit under 1. */
static void test_poll_max_fetches_at_most_max(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_ACK};
    ps_worker_config cfg = base_cfg(&r);
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 5);
    int n = -1;
    assert_int_equal(ps_worker_poll_max(w, 2, &n), PS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(stats_of(w).fetched, 2);
    assert_int_equal(ps_worker_poll_max(w, 0, &n), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_worker_poll_max(w, 100, &n), PS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(stream_msgs(e), 0);
    ps_worker_free(w);
}

/* ps_worker_poll_wait fetches no more than asked, as ps_worker_poll_max;
 * an empty consumer is an empty poll, not an error (a manual clock does
 * not wait); an expiry that is not positive is refused. */
static void test_poll_wait_takes_what_is_asked_and_refuses_no_expiry(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_ACK};
    ps_worker_config cfg = base_cfg(&r);
    cfg.fetch_no_wait = true;
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 3);
    int n = -1;
    assert_int_equal(ps_worker_poll_wait(w, 1, 100 * MS, &n), PS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(stats_of(w).fetched, 1);
    assert_int_equal(ps_worker_poll_wait(w, 0, 100 * MS, &n), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_worker_poll_wait(w, 5, 0, &n), PS_ERR_INVALID_ARG);
    assert_int_equal(n, 0);
    assert_int_equal(ps_worker_poll_wait(w, 5, 100 * MS, &n), PS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ps_worker_poll_wait(w, 5, 100 * MS, &n), PS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(stats_of(w).errors, 0);
    assert_int_equal(stream_msgs(e), 0);
    ps_worker_free(w);
}

/* Nothing to fetch: the fetch's timeout is not an error. */
static void test_poll_with_nothing_available_is_ok(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_ACK};
    ps_worker_config cfg = base_cfg(&r);
    ps_worker *w = new_worker(e, &r, &cfg);
    assert_int_equal(poll_ok(w), 0);
    assert_int_equal(ps_worker_poll(w, NULL), PS_OK);
    assert_int_equal(r.calls, 0);
    assert_int_equal(stats_of(w).errors, 0);
    ps_worker_free(w);
}

/* ---- retry ---------------------------------------------------------------------- */

/* JS 7.6: a nak with delay d is redelivered d later, not before; the delay
 * is nak_backoff_ns[min(num_delivered - 1, len - 1)]. */
static void test_retry_naks_with_backoff_by_delivery_count(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_RETRY};
    ps_worker_config cfg = base_cfg(&r);
    const int64_t backoff[] = {1 * SEC, 5 * SEC};
    cfg.nak_backoff_ns = backoff;
    cfg.nak_backoff_len = 2;
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 1);
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(stats_of(w).naked, 1);
    assert_int_equal(stats_of(w).in_flight, 0);

    advance(e, 999 * MS);
    assert_int_equal(poll_ok(w), 0); /* not before the 1 s delay */
    advance(e, 1 * MS);
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(r.delivered[1], 2);

    advance(e, 4999 * MS);
    assert_int_equal(poll_ok(w), 0); /* second delay is 5 s */
    advance(e, 1 * MS);
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(r.delivered[2], 3);

    advance(e, 4999 * MS);
    assert_int_equal(poll_ok(w), 0); /* the last step repeats */
    advance(e, 1 * MS);
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(r.delivered[3], 4);
    assert_string_equal(r.data[3], "m0");
    assert_int_equal(stats_of(w).naked, 4);
    ps_worker_free(w);
}

static void test_retry_without_backoff_is_redelivered_at_once(void **state)
{
    env *e = *state;
    rec r = {.script = {PS_HANDLE_RETRY}, .script_len = 1, .result = PS_HANDLE_ACK};
    ps_worker_config cfg = base_cfg(&r);
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 1);
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(r.delivered[1], 2);
    assert_int_equal(stats_of(w).acked, 1);
    assert_int_equal(stream_msgs(e), 0);
    ps_worker_free(w);
}

/* A result outside the enum is a handler bug: retried, and reported. */
static void test_unknown_result_is_retried_and_reported(void **state)
{
    env *e = *state;
    rec r = {.script = {(ps_handle_result)42}, .script_len = 1, .result = PS_HANDLE_ACK};
    ps_worker_config cfg = base_cfg(&r);
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 1);
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(r.errors, 1);
    assert_int_equal(r.error_st, PS_ERR_INVALID_ARG);
    ps_worker_stats st = stats_of(w);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.naked, 1);
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(r.delivered[1], 2);
    ps_worker_free(w);
}

/* ---- term ----------------------------------------------------------------------- */

static void test_term_result_is_never_redelivered(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_TERM};
    ps_worker_config cfg = base_cfg(&r);
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 2);
    assert_int_equal(poll_ok(w), 2);
    assert_int_equal(stats_of(w).termed, 2);
    advance(e, 60 * SEC); /* twice AckWait */
    assert_int_equal(poll_ok(w), 0);
    assert_int_equal(r.calls, 2);
    assert_int_equal(ack_pending(w), 0);
    assert_int_equal(stream_msgs(e), 0);
    ps_worker_free(w);
}

/* ---- defer ---------------------------------------------------------------------- */

/* Deferred messages stay valid across later fetches, count as in flight,
 * and are acked or termed by ps_worker_complete. */
static void test_defer_then_complete(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 2);
    assert_int_equal(poll_ok(w), 2);
    ps_worker_stats st = stats_of(w);
    assert_int_equal(st.deferred, 2);
    assert_int_equal(st.in_flight, 2);
    assert_int_equal(st.acked, 0);
    assert_int_equal(ack_pending(w), 2);

    publish_n(e, 2, 2);
    assert_int_equal(poll_ok(w), 2);
    assert_int_equal(stats_of(w).in_flight, 4);
    /* the first batch is intact after the second fetch */
    assert_int_equal(r.nheld, 4);
    assert_int_equal(r.held[0]->len, 2);
    assert_memory_equal(r.held[0]->data, "m0", 2);
    assert_memory_equal(r.held[1]->data, "m1", 2);

    assert_int_equal(ps_worker_complete(w, r.held[0], PS_HANDLE_ACK), PS_OK);
    assert_int_equal(ps_worker_complete(w, r.held[1], PS_HANDLE_TERM), PS_OK);
    assert_int_equal(ps_worker_complete(w, r.held[2], PS_HANDLE_ACK), PS_OK);
    /* completed once: a second completion is refused (its batch still holds m3) */
    assert_int_equal(ps_worker_complete(w, r.held[2], PS_HANDLE_ACK), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "already completed"));
    st = stats_of(w);
    assert_int_equal(st.acked, 2);
    assert_int_equal(st.termed, 1);
    assert_int_equal(st.in_flight, 1);
    assert_int_equal(ack_pending(w), 1);
    assert_memory_equal(r.held[3]->data, "m3", 2);
    assert_int_equal(ps_worker_complete(w, r.held[3], PS_HANDLE_ACK), PS_OK);
    assert_int_equal(stats_of(w).in_flight, 0);
    assert_int_equal(stream_msgs(e), 0);
    ps_worker_free(w);
}

static void test_complete_retry_uses_backoff(void **state)
{
    env *e = *state;
    rec r = {.script = {PS_HANDLE_DEFER}, .script_len = 1, .result = PS_HANDLE_ACK};
    ps_worker_config cfg = base_cfg(&r);
    const int64_t backoff[] = {2 * SEC};
    cfg.nak_backoff_ns = backoff;
    cfg.nak_backoff_len = 1;
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 1);
    assert_int_equal(poll_ok(w), 1);
    advance(e, 10 * SEC);
    assert_int_equal(ps_worker_complete(w, r.held[0], PS_HANDLE_RETRY), PS_OK);
    assert_int_equal(stats_of(w).naked, 1);
    advance(e, 1999 * MS);
    assert_int_equal(poll_ok(w), 0);
    advance(e, 1 * MS);
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(r.delivered[1], 2);
    ps_worker_free(w);
}

/* ps_worker_complete_ex: a nak with its own delay (not the configured
 * backoff), and DEFER that releases the message without an answer (it
 * comes back after AckWait). */
static void test_complete_ex_delay_and_no_answer(void **state)
{
    env *e = *state;
    rec r = {.script = {PS_HANDLE_DEFER, PS_HANDLE_DEFER}, .script_len = 2, .result = PS_HANDLE_ACK};
    ps_worker_config cfg = base_cfg(&r);
    const int64_t backoff[] = {2 * SEC};
    cfg.nak_backoff_ns = backoff;
    cfg.nak_backoff_len = 1;
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 2);
    assert_int_equal(poll_ok(w), 2);
    assert_int_equal(ps_worker_complete_ex(w, r.held[0], PS_HANDLE_RETRY, 500 * MS), PS_OK);
    assert_int_equal(ps_worker_complete_ex(w, r.held[1], PS_HANDLE_DEFER, 0), PS_OK);
    assert_int_equal(stats_of(w).in_flight, 0);
    assert_int_equal(stats_of(w).naked, 1);
    advance(e, 499 * MS);
    assert_int_equal(poll_ok(w), 0);
    advance(e, 1 * MS); /* the nak's own 500 ms, not the backoff's 2 s */
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(ack_pending(w), 1); /* the deferred one: pending until its AckWait */
    ps_msg stranger = {0};
    assert_int_equal(ps_worker_complete_ex(w, &stranger, PS_HANDLE_ACK, -1), PS_ERR_INVALID_ARG);
    ps_worker_free(w);
}

static void test_complete_rejects_bad_calls(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 1);
    assert_int_equal(poll_ok(w), 1);
    ps_msg stranger = {0};
    assert_int_equal(ps_worker_complete(w, &stranger, PS_HANDLE_ACK), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "not held"));
    assert_int_equal(ps_worker_complete(w, r.held[0], PS_HANDLE_DEFER), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_worker_complete(w, r.held[0], (ps_handle_result)9), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_worker_complete(NULL, r.held[0], PS_HANDLE_ACK), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_worker_complete(w, NULL, PS_HANDLE_ACK), PS_ERR_INVALID_ARG);
    assert_int_equal(stats_of(w).in_flight, 1);
    assert_int_equal(ps_worker_complete(w, r.held[0], PS_HANDLE_ACK), PS_OK);
    ps_worker_free(w);
}

/* Inside the handler: the current message is completed by returning, and
 * poll is not re-entrant. */
static void test_handler_cannot_complete_itself_or_poll(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_ACK, .try_nested = true};
    ps_worker_config cfg = base_cfg(&r);
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 1);
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(r.complete_self, PS_ERR_INVALID_ARG);
    assert_int_equal(r.poll_inside, PS_ERR_INVALID_ARG);
    assert_int_equal(stats_of(w).acked, 1);
    ps_worker_free(w);
}

/* ---- in-flight bound ----------------------------------------------------------------- */

static void test_max_in_flight_bounds_fetches(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    cfg.batch = 10;
    cfg.max_in_flight = 3;
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 10);
    assert_int_equal(poll_ok(w), 3);
    assert_int_equal(poll_ok(w), 0); /* full: nothing fetched */
    assert_int_equal(ack_pending(w), 3);
    assert_int_equal(stats_of(w).fetched, 3);
    assert_int_equal(ps_worker_complete(w, r.held[1], PS_HANDLE_ACK), PS_OK);
    assert_int_equal(poll_ok(w), 1);
    assert_string_equal(r.data[3], "m3");
    assert_int_equal(ack_pending(w), 3);
    assert_int_equal(r.max_in_flight_seen, 3);
    assert_int_equal(stats_of(w).in_flight, 3);
    ps_worker_free(w);
}

static void test_batch_smaller_than_room_fetches_batch(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    cfg.batch = 2;
    cfg.max_in_flight = 5;
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 10);
    assert_int_equal(poll_ok(w), 2);
    assert_int_equal(poll_ok(w), 2);
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(poll_ok(w), 0);
    assert_int_equal(r.max_in_flight_seen, 5);
    ps_worker_free(w);
}

/* Default max_in_flight is one batch. */
static void test_max_in_flight_defaults_to_batch(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    cfg.batch = 4;
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 10);
    assert_int_equal(poll_ok(w), 4);
    assert_int_equal(poll_ok(w), 0);
    ps_worker_free(w);
}

/* Many rounds of mixed results through a small window: buffers are reused
 * (spare batches) and every message ends acked. Run under ASan for leaks. */
static void test_many_messages_through_a_small_window(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    cfg.batch = 7;
    cfg.max_in_flight = 13;
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 200);
    ps_msg *queue[64]; /* deferred, oldest first; never more than 13 */
    int queued = 0, total = 0, completed = 0, rounds = 0;
    while (completed < 200 && rounds++ < 1000) {
        r.nheld = 0;
        total += poll_ok(w);
        for (int i = 0; i < r.nheld; i++)
            queue[queued++] = r.held[i];
        assert_true(stats_of(w).in_flight <= 13);
        assert_int_equal(stats_of(w).in_flight, queued);
        /* complete the oldest, leaving the 3 newest behind while more come */
        int keep = total < 200 ? 3 : 0, k = 0;
        for (; queued - k > keep; k++, completed++)
            assert_int_equal(ps_worker_complete(w, queue[k], PS_HANDLE_ACK), PS_OK);
        memmove(queue, queue + k, (size_t)(queued - k) * sizeof queue[0]);
        queued -= k;
    }
    assert_int_equal(total, 200);
    assert_int_equal(completed, 200);
    assert_int_equal(stats_of(w).acked, 200);
    assert_int_equal(stream_msgs(e), 0);
    ps_worker_free(w);
}

/* ---- stop ---------------------------------------------------------------------------- */

/* Held messages are naked at stop, so another worker on the same durable
 * gets them at once, in the order they were fetched, without waiting for
 * AckWait (JS 6.4, 7.6). */
static void test_stop_naks_held_messages_for_prompt_redelivery(void **state)
{
    env *e = *state;
    rec ra = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfga = base_cfg(&ra);
    ps_worker *a = new_worker(e, &ra, &cfga);
    publish_n(e, 0, 3);
    assert_int_equal(poll_ok(a), 3);
    assert_int_equal(ps_worker_stop(a), PS_OK);
    ps_worker_stats st = stats_of(a);
    assert_int_equal(st.naked, 3);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(ps_worker_poll(a, NULL), PS_ERR_CLOSED);
    assert_int_equal(ps_worker_stop(a), PS_OK); /* again: nothing to do */
    assert_int_equal(ps_worker_in_progress(a, ra.held[0]), PS_ERR_CLOSED);
    assert_int_equal(ps_worker_complete(a, ra.held[0], PS_HANDLE_ACK), PS_ERR_CLOSED);

    rec rb = {.result = PS_HANDLE_ACK};
    ps_worker_config cfgb = base_cfg(&rb);
    ps_worker *b = new_worker(e, &rb, &cfgb);
    assert_int_equal(poll_ok(b), 3); /* no clock advance: redelivered now */
    for (int i = 0; i < 3; i++) {
        char want[16];
        snprintf(want, sizeof want, "m%d", i);
        assert_string_equal(rb.data[i], want);
        assert_int_equal(rb.delivered[i], 2);
    }
    assert_int_equal(stream_msgs(e), 0);
    ps_worker_free(b);
    ps_worker_free(a);
}

/* A stop from inside the handler: the rest of the batch is not handled but
 * naked, and the poll that ran the handler stops the worker. */
static void test_stop_from_handler_naks_unhandled_rest(void **state)
{
    env *e = *state;
    rec ra = {.result = PS_HANDLE_ACK, .stop_at_call = 2};
    ps_worker_config cfga = base_cfg(&ra);
    ps_worker *a = new_worker(e, &ra, &cfga);
    publish_n(e, 0, 3);
    assert_int_equal(poll_ok(a), 2);
    ps_worker_stats st = stats_of(a);
    assert_int_equal(st.fetched, 3);
    assert_int_equal(st.acked, 2);
    assert_int_equal(st.naked, 1);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(ps_worker_poll(a, NULL), PS_ERR_CLOSED);

    rec rb = {.result = PS_HANDLE_ACK};
    ps_worker_config cfgb = base_cfg(&rb);
    ps_worker *b = new_worker(e, &rb, &cfgb);
    assert_int_equal(poll_ok(b), 1);
    assert_string_equal(rb.data[0], "m2");
    assert_int_equal(rb.delivered[0], 2);
    ps_worker_free(b);
    ps_worker_free(a);
}

/* ps_worker_free on a running worker stops it first. */
static void test_free_stops_and_naks(void **state)
{
    env *e = *state;
    rec ra = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfga = base_cfg(&ra);
    ps_worker *a = new_worker(e, &ra, &cfga);
    publish_n(e, 0, 2);
    assert_int_equal(poll_ok(a), 2);
    ps_worker_free(a);

    rec rb = {.result = PS_HANDLE_ACK};
    ps_worker_config cfgb = base_cfg(&rb);
    ps_worker *b = new_worker(e, &rb, &cfgb);
    assert_int_equal(poll_ok(b), 2);
    assert_int_equal(rb.delivered[0], 2);
    ps_worker_free(b);
    ps_worker_free(NULL);
}

/* ---- in progress ----------------------------------------------------------------------- */

/* JS 7.7: +WPI restarts the ack wait of a deferred message. */
static void test_in_progress_extends_ack_wait(void **state)
{
    env *e = *state;
    rec ra = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfga = base_cfg(&ra);
    cfga.consumer.ack_wait_ns = 10 * SEC;
    ps_worker *a = new_worker(e, &ra, &cfga);
    rec rb = {.result = PS_HANDLE_ACK};
    ps_worker_config cfgb = base_cfg(&rb);
    cfgb.consumer.ack_wait_ns = 10 * SEC;
    ps_worker *b = new_worker(e, &rb, &cfgb);
    publish_n(e, 0, 1);
    assert_int_equal(poll_ok(a), 1);
    advance(e, 9 * SEC);
    assert_int_equal(ps_worker_in_progress(a, ra.held[0]), PS_OK);
    advance(e, 9 * SEC); /* 18 s after delivery, 9 s after the WPI */
    assert_int_equal(poll_ok(b), 0);
    advance(e, 1 * SEC);
    assert_int_equal(poll_ok(b), 1);
    assert_int_equal(rb.delivered[0], 2);
    ps_msg stranger = {0};
    assert_int_equal(ps_worker_in_progress(a, &stranger), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_worker_in_progress(NULL, ra.held[0]), PS_ERR_INVALID_ARG);
    ps_worker_free(b);
    ps_worker_free(a);
}

/* ---- failures ----------------------------------------------------------------------------- */

/* The consumer vanished under a deferred message: the ack fails, which is
 * counted and reported, and the message is released anyway. */
static void test_ack_failure_is_reported_not_fatal(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 1);
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(ps_consumer_delete(e->b, "JOBS", "workers"), PS_OK);
    assert_int_equal(ps_worker_complete(w, r.held[0], PS_HANDLE_ACK), PS_OK);
    assert_int_equal(r.errors, 1);
    assert_int_equal(r.error_kind, PS_ACK);
    assert_int_equal(r.error_st, PS_ERR_NO_RESPONDERS);
    assert_true(strlen(r.error_detail) > 0);
    ps_worker_stats st = stats_of(w);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.acked, 0);
    assert_int_equal(st.in_flight, 0);
    /* JS 14.1: a fetch on a deleted consumer times out; poll says nothing came */
    assert_int_equal(poll_ok(w), 0);
    ps_worker_free(w);
}

/* ---- arguments ------------------------------------------------------------------------------ */

static void expect_new_fails(env *e, const ps_worker_config *cfg, ps_status want, const char *word)
{
    ps_worker *w = (ps_worker *)(uintptr_t)0x1;
    assert_int_equal(ps_worker_new(&w, e->b, cfg), want);
    assert_ptr_equal(w, (ps_worker *)(uintptr_t)0x1); /* out untouched */
    if (word)
        assert_non_null(strstr(ps_last_error(), word));
}

static void test_new_rejects_bad_arguments(void **state)
{
    env *e = *state;
    rec r = {0};
    ps_worker_config good = base_cfg(&r);
    ps_worker_config c;

    expect_new_fails(e, NULL, PS_ERR_INVALID_ARG, "config");
    assert_int_equal(ps_worker_new(NULL, e->b, &good), PS_ERR_INVALID_ARG);
    ps_worker *w = NULL;
    assert_int_equal(ps_worker_new(&w, NULL, &good), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "backend"));

    c = good; c.consumer.durable = NULL;
    expect_new_fails(e, &c, PS_ERR_INVALID_ARG, "durable");
    c = good; c.consumer.durable = "";
    expect_new_fails(e, &c, PS_ERR_INVALID_ARG, "durable");
    c = good; c.batch = 0;
    expect_new_fails(e, &c, PS_ERR_INVALID_ARG, "batch");
    c = good; c.batch = -3;
    expect_new_fails(e, &c, PS_ERR_INVALID_ARG, "batch");
    c = good; c.stream = NULL;
    expect_new_fails(e, &c, PS_ERR_INVALID_ARG, "stream");
    c = good; c.handler = NULL;
    expect_new_fails(e, &c, PS_ERR_INVALID_ARG, "handler");
    c = good; c.max_in_flight = -1;
    expect_new_fails(e, &c, PS_ERR_INVALID_ARG, "max_in_flight");
    c = good; c.fetch_expires_ns = -1;
    expect_new_fails(e, &c, PS_ERR_INVALID_ARG, "fetch_expires_ns");
    c = good; c.nak_backoff_len = 2;
    expect_new_fails(e, &c, PS_ERR_INVALID_ARG, "nak_backoff");
    const int64_t neg[] = {SEC, -1};
    c = good; c.nak_backoff_ns = neg; c.nak_backoff_len = 2;
    expect_new_fails(e, &c, PS_ERR_INVALID_ARG, "nak_backoff_ns[1]");
    /* what ps_consumer_add refuses comes back as is */
    c = good; c.stream = "NOPE";
    expect_new_fails(e, &c, PS_ERR_STREAM_NOT_FOUND, NULL);
    c = good; c.consumer.max_deliver = -2;
    expect_new_fails(e, &c, PS_ERR_INVALID_ARG, "max_deliver");

    assert_int_equal(ps_worker_poll(NULL, NULL), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_worker_stop(NULL), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_worker_stats_get(NULL, &(ps_worker_stats){0}), PS_ERR_INVALID_ARG);
    assert_null(ps_worker_consumer(NULL));
}

/* ---- dead letters, delayed jobs, per-key order ---------------------------------- */

static void publish_hdr(env *e, const char *data, const char *name, const char *value)
{
    ps_headers *h = ps_headers_new();
    assert_non_null(h);
    assert_int_equal(ps_headers_add(h, name, value), PS_OK);
    ps_out_msg out = {.subject = "jobs.run", .data = data, .len = strlen(data), .headers = h};
    assert_int_equal(ps_publish(e->b, &out, NULL), PS_OK);
    ps_headers_free(h);
}

/* Header `name` of DEAD's message `seq`, copied into out. */
static void dead_header(env *e, uint64_t seq, const char *name, char *out, size_t cap)
{
    ps_stored_msg sm = {0};
    assert_int_equal(ps_msg_get(e->b, "DEAD", seq, NULL, &sm), PS_OK);
    ps_headers *h = NULL;
    assert_int_equal(ps_headers_decode(&h, sm.hdr, sm.hdr_len), PS_OK);
    const char *v = ps_headers_get(h, name);
    snprintf(out, cap, "%s", v ? v : "(none)");
    ps_headers_free(h);
    ps_stored_msg_clear(&sm);
}

static uint64_t msgs_of(env *e, const char *stream)
{
    ps_stream_info si = {0};
    assert_int_equal(ps_stream_info_get(e->b, stream, &si), PS_OK);
    uint64_t n = si.state.msgs;
    ps_stream_info_clear(&si);
    return n;
}

/* A RETRY on the last delivery MaxDeliver allows: the message goes to the
 * dead-letter subject with its headers and the reason, then the original
 * is termed (gone from the work queue). */
static void test_dead_letter_after_max_deliver(void **state)
{
    env *e = *state;
    assert_int_equal(test_mem_add_stream(e, "DEAD", "dead.>", PS_RETENTION_LIMITS), PS_OK);
    rec r = {.result = PS_HANDLE_RETRY};
    ps_worker_config cfg = base_cfg(&r);
    cfg.consumer.max_deliver = 2;
    cfg.dead_letter_subject = "dead.jobs";
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_hdr(e, "m0", "Jetsim-Job", "7");
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(msgs_of(e, "DEAD"), 0); /* delivery 1 of 2: a plain retry */
    assert_int_equal(poll_ok(w), 1);
    ps_worker_stats st = stats_of(w);
    assert_int_equal(st.dead_lettered, 1);
    assert_int_equal(st.termed, 1);
    assert_int_equal(st.naked, 1);
    assert_int_equal(stream_msgs(e), 0);
    assert_int_equal(msgs_of(e, "DEAD"), 1);
    char v[64];
    dead_header(e, 1, PS_DEAD_REASON_HEADER, v, sizeof v);
    assert_string_equal(v, "max_deliver");
    dead_header(e, 1, "Jetsim-Job", v, sizeof v);
    assert_string_equal(v, "7");
    dead_header(e, 1, PS_DEAD_STREAM_HEADER, v, sizeof v);
    assert_string_equal(v, "JOBS");
    dead_header(e, 1, PS_DEAD_SEQ_HEADER, v, sizeof v);
    assert_string_equal(v, "1");
    dead_header(e, 1, PS_DEAD_SUBJECT_HEADER, v, sizeof v);
    assert_string_equal(v, "jobs.run");
    dead_header(e, 1, PS_DEAD_DELIVERIES_HEADER, v, sizeof v);
    assert_string_equal(v, "2");
    ps_stored_msg sm = {0};
    assert_int_equal(ps_msg_get(e->b, "DEAD", 1, NULL, &sm), PS_OK);
    assert_string_equal(sm.data, "m0");
    ps_stored_msg_clear(&sm);
    ps_worker_free(w);
}

/* A TERM dead-letters at once, whatever the delivery count. */
static void test_dead_letter_on_term(void **state)
{
    env *e = *state;
    assert_int_equal(test_mem_add_stream(e, "DEAD", "dead.>", PS_RETENTION_LIMITS), PS_OK);
    rec r = {.result = PS_HANDLE_TERM};
    ps_worker_config cfg = base_cfg(&r);
    cfg.dead_letter_subject = "dead.jobs";
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 1);
    assert_int_equal(poll_ok(w), 1);
    char v[64];
    dead_header(e, 1, PS_DEAD_REASON_HEADER, v, sizeof v);
    assert_string_equal(v, "term");
    assert_int_equal(stats_of(w).dead_lettered, 1);
    assert_int_equal(stream_msgs(e), 0);
    ps_worker_free(w);
}

/* The republish fails (no stream takes the subject yet): the job is naked,
 * not termed, and the failure reported; with dead_letter_after below
 * max_deliver, the next delivery goes to the dead letter without the
 * handler once the publish works. */
static void test_failed_dead_letter_keeps_the_job(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_RETRY};
    ps_worker_config cfg = base_cfg(&r);
    cfg.consumer.max_deliver = 3;
    cfg.dead_letter_subject = "dead.jobs";
    cfg.dead_letter_after = 2;
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_n(e, 0, 1);
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(poll_ok(w), 1); /* delivery 2: dies, but nobody stores dead.jobs */
    assert_int_equal(r.errors, 1);
    assert_int_equal(r.error_kind, PS_NAK);
    assert_non_null(strstr(r.error_detail, "dead.jobs"));
    ps_worker_stats st = stats_of(w);
    assert_int_equal(st.dead_lettered, 0);
    assert_int_equal(st.termed, 0);
    assert_int_equal(st.naked, 2);
    assert_int_equal(stream_msgs(e), 1); /* not lost */

    assert_int_equal(test_mem_add_stream(e, "DEAD", "dead.>", PS_RETENTION_LIMITS), PS_OK);
    assert_int_equal(poll_ok(w), 0); /* delivery 3: straight to the dead letter */
    assert_int_equal(r.calls, 2);
    assert_int_equal(stats_of(w).dead_lettered, 1);
    assert_int_equal(msgs_of(e, "DEAD"), 1);
    assert_int_equal(stream_msgs(e), 0);
    ps_worker_free(w);
}

/* Jetsim-Not-Before: delivered early, the message is naked to its time
 * and the handler never sees it before then. */
static void test_not_before_naks_until_due(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_ACK};
    ps_worker_config cfg = base_cfg(&r);
    cfg.clock = e->clock;
    ps_worker *w = new_worker(e, &r, &cfg);
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)(ps_clock_now(e->clock) + 10 * SEC));
    publish_hdr(e, "later", PS_NOT_BEFORE_HEADER, t);
    publish_hdr(e, "now", PS_NOT_BEFORE_HEADER, "0");
    publish_hdr(e, "bad", PS_NOT_BEFORE_HEADER, "soon"); /* not a time: handled now */
    assert_int_equal(poll_ok(w), 2);
    assert_string_equal(r.data[0], "now");
    assert_string_equal(r.data[1], "bad");
    ps_worker_stats st = stats_of(w);
    assert_int_equal(st.delayed, 1);
    assert_int_equal(st.errors, 0);
    advance(e, 10 * SEC - 1);
    assert_int_equal(poll_ok(w), 0);
    advance(e, 1);
    assert_int_equal(poll_ok(w), 1);
    assert_string_equal(r.data[2], "later");
    assert_int_equal(r.delivered[2], 2);
    assert_int_equal(stats_of(w).acked, 3);
    ps_worker_free(w);
}

/* The header is found by its exact name wherever it stands (the worker
 * looks for the name's bytes before decoding a block): after a message
 * id, and not in another header's value nor under another case. */
static void test_not_before_found_by_its_exact_name(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_ACK};
    ps_worker_config cfg = base_cfg(&r);
    cfg.clock = e->clock;
    ps_worker *w = new_worker(e, &r, &cfg);
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)(ps_clock_now(e->clock) + 10 * SEC));
    ps_headers *h = ps_headers_new();
    assert_non_null(h);
    assert_int_equal(ps_headers_add(h, "X-Note", PS_NOT_BEFORE_HEADER), PS_OK);
    assert_int_equal(ps_headers_add(h, PS_NOT_BEFORE_HEADER, t), PS_OK);
    ps_out_msg out = {.subject = "jobs.run", .data = "later", .len = 5, .headers = h, .msg_id = "id-1"};
    assert_int_equal(ps_publish(e->b, &out, NULL), PS_OK);
    ps_headers_free(h);
    publish_hdr(e, "value", "X-Note", PS_NOT_BEFORE_HEADER);
    publish_hdr(e, "case", "jetsim-not-before", t);
    assert_int_equal(poll_ok(w), 2);
    assert_string_equal(r.data[0], "value");
    assert_string_equal(r.data[1], "case");
    assert_int_equal(stats_of(w).delayed, 1);
    advance(e, 10 * SEC);
    assert_int_equal(poll_ok(w), 1);
    assert_string_equal(r.data[2], "later");
    ps_worker_free(w);
}

/* Without a clock the header means nothing. */
static void test_not_before_ignored_without_clock(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_ACK};
    ps_worker_config cfg = base_cfg(&r);
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_hdr(e, "later", PS_NOT_BEFORE_HEADER, "9999999999999999999");
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(stats_of(w).delayed, 0);
    ps_worker_free(w);
}

/* key_header: one message per key at a time, keys in parallel; the next
 * of a key goes out at the poll after its predecessor is done. */
static void test_key_one_in_flight_per_key(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    cfg.key_header = "Key";
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_hdr(e, "a1", "Key", "a");
    publish_hdr(e, "a2", "Key", "a");
    publish_hdr(e, "b1", "Key", "b");
    publish_n(e, 0, 1); /* no key: waits for nothing */
    publish_hdr(e, "a3", "Key", "a");
    assert_int_equal(poll_ok(w), 3);
    assert_string_equal(r.data[0], "a1");
    assert_string_equal(r.data[1], "b1");
    assert_string_equal(r.data[2], "m0");
    ps_worker_stats st = stats_of(w);
    assert_int_equal(st.held_back, 2);
    assert_int_equal(st.in_flight, 5);
    assert_int_equal(poll_ok(w), 0); /* a is still busy */
    assert_int_equal(ps_worker_complete(w, r.held[0], PS_HANDLE_ACK), PS_OK);
    assert_int_equal(poll_ok(w), 1);
    assert_string_equal(r.data[3], "a2");
    assert_int_equal(ps_worker_complete(w, r.held[3], PS_HANDLE_ACK), PS_OK);
    assert_int_equal(poll_ok(w), 1);
    assert_string_equal(r.data[4], "a3");
    ps_worker_free(w);
}

/* A keyed message retried is naked plainly, whatever backoff is
 * configured, and the waiting ones of its key stay in the worker until it
 * comes back (the next fetch: redeliveries come first, JS 7.6). */
static void test_key_retry_keeps_order(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    cfg.key_header = "Key";
    const int64_t backoff[] = {5 * SEC};
    cfg.nak_backoff_ns = backoff;
    cfg.nak_backoff_len = 1;
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_hdr(e, "a1", "Key", "a");
    publish_hdr(e, "a2", "Key", "a");
    assert_int_equal(poll_ok(w), 1);
    publish_hdr(e, "a3", "Key", "a");
    assert_int_equal(ps_worker_complete(w, r.held[0], PS_HANDLE_RETRY), PS_OK);
    ps_worker_stats st = stats_of(w);
    assert_int_equal(st.naked, 1);
    assert_int_equal(st.in_flight, 1); /* a2 waits for a1 to come back */
    assert_int_equal(poll_ok(w), 1);   /* no backoff: a1 again at once; a3, new, waits */
    assert_string_equal(r.data[1], "a1");
    assert_int_equal(r.delivered[1], 2);
    assert_int_equal(ps_worker_complete(w, r.held[1], PS_HANDLE_ACK), PS_OK);
    assert_int_equal(poll_ok(w), 1);
    assert_string_equal(r.data[2], "a2");
    assert_int_equal(r.delivered[2], 1);
    assert_int_equal(ps_worker_complete(w, r.held[2], PS_HANDLE_ACK), PS_OK);
    assert_int_equal(poll_ok(w), 1);
    assert_string_equal(r.data[3], "a3");
    ps_worker_free(w);
}

/* A key's messages go out in stream order even when the server hands
 * them back out of it: a2 was naked before a1 failed again, so the
 * redelivery queue holds a2 ahead of a1; a2 waits for a1. */
static void test_key_order_is_stream_order_across_redeliveries(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    cfg.key_header = "Key";
    cfg.batch = 2;
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_hdr(e, "a1", "Key", "a");
    publish_hdr(e, "a2", "Key", "a");
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(ps_worker_stop(w), PS_OK); /* naks a1, then a2 */
    ps_worker_free(w);

    rec r2 = {.result = PS_HANDLE_DEFER};
    cfg = base_cfg(&r2);
    cfg.key_header = "Key";
    cfg.batch = 1;
    cfg.max_in_flight = 2;
    w = new_worker(e, &r2, &cfg);
    assert_int_equal(poll_ok(w), 1);
    assert_string_equal(r2.data[0], "a1");
    assert_int_equal(ps_worker_complete(w, r2.held[0], PS_HANDLE_RETRY), PS_OK); /* queued behind a2 */
    assert_int_equal(poll_ok(w), 0); /* a2 comes first and waits */
    assert_int_equal(stats_of(w).held_back, 1);
    assert_int_equal(poll_ok(w), 1);
    assert_string_equal(r2.data[1], "a1");
    assert_int_equal(r2.delivered[1], 3);
    assert_int_equal(ps_worker_complete(w, r2.held[1], PS_HANDLE_ACK), PS_OK);
    assert_int_equal(poll_ok(w), 1);
    assert_string_equal(r2.data[2], "a2");
    ps_worker_free(w);
}

/* A naked keyed message that another worker takes is not waited for
 * forever: once a fetch brings a new message (the server had no
 * redelivery left for this worker), its key's waiting messages go out. */
static void test_key_wait_ends_when_the_blocker_goes_elsewhere(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    cfg.key_header = "Key";
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_hdr(e, "a1", "Key", "a");
    publish_hdr(e, "a2", "Key", "a");
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(ps_worker_complete(w, r.held[0], PS_HANDLE_RETRY), PS_OK);

    rec r2 = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg2 = base_cfg(&r2);
    cfg2.batch = 1;
    ps_worker *other = NULL;
    assert_int_equal(ps_worker_new(&other, e->b, &cfg2), PS_OK);
    r2.w = other;
    assert_int_equal(ps_worker_poll(other, NULL), PS_OK); /* takes a1 */
    assert_string_equal(r2.data[0], "a1");

    publish_hdr(e, "b1", "Key", "b");
    assert_int_equal(poll_ok(w), 1); /* b1, new: a1 is not coming back here */
    assert_string_equal(r.data[1], "b1");
    assert_int_equal(poll_ok(w), 1);
    assert_string_equal(r.data[2], "a2");
    ps_worker_free(other);
    ps_worker_free(w);
}

/* In progress on a keyed message keeps the messages waiting for its key
 * alive too: without it a2's AckWait would end while a1 is worked on. */
static void test_key_in_progress_covers_the_waiting(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_DEFER};
    ps_worker_config cfg = base_cfg(&r);
    cfg.key_header = "Key";
    ps_worker *w = new_worker(e, &r, &cfg);
    publish_hdr(e, "a1", "Key", "a");
    publish_hdr(e, "a2", "Key", "a");
    assert_int_equal(poll_ok(w), 1);
    advance(e, 20 * SEC);
    assert_int_equal(ps_worker_in_progress(w, r.held[0]), PS_OK);
    advance(e, 20 * SEC); /* 40 s since the fetch; AckWait is 30 s */
    assert_int_equal(poll_ok(w), 0);
    assert_int_equal(stats_of(w).fetched, 2); /* a2 was not delivered again */
    assert_int_equal(ps_worker_complete(w, r.held[0], PS_HANDLE_ACK), PS_OK);
    assert_int_equal(poll_ok(w), 1);
    assert_string_equal(r.data[1], "a2");
    assert_int_equal(r.delivered[1], 1);
    ps_worker_free(w);
}

static void test_new_rejects_bad_pattern_options(void **state)
{
    env *e = *state;
    rec r = {.result = PS_HANDLE_ACK};
    ps_worker *w = NULL;
    ps_worker_config cfg = base_cfg(&r);
    cfg.dead_letter_subject = "dead.>";
    assert_int_equal(ps_worker_new(&w, e->b, &cfg), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "dead_letter_subject"));
    cfg = base_cfg(&r);
    cfg.dead_letter_after = 2;
    assert_int_equal(ps_worker_new(&w, e->b, &cfg), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "dead_letter_after"));
    cfg.dead_letter_subject = "dead.jobs";
    cfg.dead_letter_after = -1;
    assert_int_equal(ps_worker_new(&w, e->b, &cfg), PS_ERR_INVALID_ARG);
    /* past max_deliver the server delivers no more: jobs would stay in
     * the stream, neither done nor dead-lettered (a user lost 24 so) */
    cfg.consumer.max_deliver = 5;
    cfg.dead_letter_after = 6;
    assert_int_equal(ps_worker_new(&w, e->b, &cfg), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "past the consumer's max_deliver 5"));
    cfg = base_cfg(&r);
    cfg.key_header = "";
    assert_int_equal(ps_worker_new(&w, e->b, &cfg), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "key_header"));
    assert_null(w);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_ack_result_acks_and_removes_from_workqueue),
        T(test_poll_max_fetches_at_most_max),
        T(test_poll_wait_takes_what_is_asked_and_refuses_no_expiry),
    T(test_poll_with_nothing_available_is_ok),
        T(test_retry_naks_with_backoff_by_delivery_count),
        T(test_retry_without_backoff_is_redelivered_at_once),
        T(test_unknown_result_is_retried_and_reported),
        T(test_term_result_is_never_redelivered),
        T(test_defer_then_complete),
        T(test_complete_retry_uses_backoff),
        T(test_complete_ex_delay_and_no_answer),
        T(test_complete_rejects_bad_calls),
        T(test_handler_cannot_complete_itself_or_poll),
        T(test_max_in_flight_bounds_fetches),
        T(test_batch_smaller_than_room_fetches_batch),
        T(test_max_in_flight_defaults_to_batch),
        T(test_many_messages_through_a_small_window),
        T(test_stop_naks_held_messages_for_prompt_redelivery),
        T(test_stop_from_handler_naks_unhandled_rest),
        T(test_free_stops_and_naks),
        T(test_in_progress_extends_ack_wait),
        T(test_ack_failure_is_reported_not_fatal),
        T(test_new_rejects_bad_arguments),
        T(test_dead_letter_after_max_deliver),
        T(test_dead_letter_on_term),
        T(test_failed_dead_letter_keeps_the_job),
        T(test_not_before_naks_until_due),
        T(test_not_before_found_by_its_exact_name),
        T(test_not_before_ignored_without_clock),
        T(test_key_one_in_flight_per_key),
        T(test_key_retry_keeps_order),
        T(test_key_order_is_stream_order_across_redeliveries),
        T(test_key_wait_ends_when_the_blocker_goes_elsewhere),
        T(test_key_in_progress_covers_the_waiting),
        T(test_new_rejects_bad_pattern_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
