/* test_worker.c — unit tests of the worker (core/ps_worker.h) on the memory
 * backend with a manual clock: handler results mapped to ack / nak with
 * backoff / term, deferral, the in-flight bound, graceful stop, in-progress,
 * ack failures, argument errors. Dead letters, delayed jobs and per-key
 * order are in test_worker_patterns.c.
 *
 * Time moves only through ps_clock_advance followed by ps_backend_tick;
 * nothing here sleeps.
 */
#include "worker_fixture.h"

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

    ack_held(w, &r, 0);
    assert_int_equal(ps_worker_complete(w, r.held[1], PS_HANDLE_TERM), PS_OK);
    ack_held(w, &r, 2);
    /* completed once: a second completion is refused (its batch still holds m3) */
    assert_int_equal(ps_worker_complete(w, r.held[2], PS_HANDLE_ACK), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "already completed"));
    st = stats_of(w);
    assert_int_equal(st.acked, 2);
    assert_int_equal(st.termed, 1);
    assert_int_equal(st.in_flight, 1);
    assert_int_equal(ack_pending(w), 1);
    assert_memory_equal(r.held[3]->data, "m3", 2);
    ack_held(w, &r, 3);
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
    ack_held(w, &r, 0);
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
    ack_held(w, &r, 1);
    next_is(w, &r, 3, "m3", 0);
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
    ack_held(w, &r, 0);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
