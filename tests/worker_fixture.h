/* worker_fixture.h — what the worker's unit tests share (test_worker.c,
 * test_worker_patterns.c): a memory backend on a manual clock with a
 * work-queue stream JOBS on jobs.>, a scripted handler that records what
 * it saw, and the config and helpers every case starts from.
 */
#ifndef TEST_WORKER_FIXTURE_H
#define TEST_WORKER_FIXTURE_H

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

static inline int setup(void **state)
{
    static env e;
    if (test_mem_open(&e, 0, &(ps_memory_options){.seed = 1}) != PS_OK ||
        test_mem_add_stream(&e, "JOBS", "jobs.>", PS_RETENTION_WORKQUEUE) != PS_OK)
        return -1;
    *state = &e;
    return 0;
}

static inline int teardown(void **state)
{
    ps_status s = test_mem_close(*state);
    if (s)
        fprintf(stderr, "teardown: %s\n", ps_last_error());
    return s == PS_OK ? 0 : -1;
}

static inline void publish_n(env *e, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        char data[16];
        int len = snprintf(data, sizeof data, "m%d", i);
        assert_int_equal(ps_publish_data(e->b, "jobs.run", data, (size_t)len, NULL, NULL), PS_OK);
    }
}

static inline void advance(env *e, int64_t ns)
{
    assert_int_equal(ps_clock_advance(e->clock, ns), PS_OK);
    assert_int_equal(ps_backend_tick(e->b), PS_OK);
}

static inline uint64_t stream_msgs(env *e)
{
    ps_stream_info si = {0};
    assert_int_equal(ps_stream_info_get(e->b, "JOBS", &si), PS_OK);
    uint64_t n = si.state.msgs;
    ps_stream_info_clear(&si);
    return n;
}

static inline uint64_t ack_pending(ps_worker *w)
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

static inline ps_handle_result handler(void *user, ps_msg *m)
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

static inline void on_error(void *user, const ps_msg *m, ps_ack_kind kind, ps_status st, const char *detail)
{
    rec *r = user;
    assert_non_null(m);
    r->errors++;
    r->error_kind = kind;
    r->error_st = st;
    snprintf(r->error_detail, sizeof r->error_detail, "%s", detail);
}

static inline ps_worker_config base_cfg(rec *r)
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

static inline ps_worker *new_worker(env *e, rec *r, const ps_worker_config *cfg)
{
    ps_worker *w = NULL;
    assert_int_equal(ps_worker_new(&w, e->b, cfg), PS_OK);
    assert_non_null(w);
    r->w = w;
    return w;
}

static inline ps_worker_stats stats_of(const ps_worker *w)
{
    ps_worker_stats st;
    assert_int_equal(ps_worker_stats_get(w, &st), PS_OK);
    return st;
}

static inline int poll_ok(ps_worker *w)
{
    int n = -1;
    assert_int_equal(ps_worker_poll(w, &n), PS_OK);
    return n;
}

/* The next poll hands the handler one message, the `k`-th it has seen
 * (from 0): `data`, at the stream's delivery `delivered` (0: any). */
static inline void next_is(ps_worker *w, const rec *r, int k, const char *data, uint64_t delivered)
{
    assert_int_equal(poll_ok(w), 1);
    assert_int_equal(r->calls, k + 1);
    assert_string_equal(r->data[k], data);
    if (delivered)
        assert_int_equal(r->delivered[k], delivered);
}

/* The handler's `k`-th message (deferred) is answered done. */
static inline void ack_held(ps_worker *w, const rec *r, int k)
{
    assert_int_equal(ps_worker_complete(w, r->held[k], PS_HANDLE_ACK), PS_OK);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

#endif
