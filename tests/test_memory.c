/* test_memory.c — unit tests of what only the memory backend has: the real
 * clock with several threads, timed work through next_deadline/tick, the
 * crash model's details, determinism of generated names and advisories.
 *
 * What every backend must do is in tests/conformance/, not here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_memory.h"

typedef test_mem env;

static int setup(void **state)
{
    static env e;
    if (test_mem_open(&e, 0, &(ps_memory_options){.seed = 7}) != PS_OK)
        return -1;
    *state = &e;
    return 0;
}

static int teardown(void **state)
{
    return test_mem_close(*state) == PS_OK ? 0 : -1;
}

static void add_stream(ps_backend *b, const char *name, const char *subj, ps_retention r,
                       ps_storage s)
{
    const char *subs[] = {subj};
    ps_stream_config c = {.name = name, .subjects = subs, .subjects_len = 1,
                          .retention = r, .storage = s};
    assert_int_equal(ps_stream_add(b, &c, NULL), PS_OK);
}

static ps_consumer *add_durable(ps_backend *b, const char *stream, const char *name,
                                int64_t ack_wait_ns)
{
    ps_consumer_config cc = {.durable = name, .ack_wait_ns = ack_wait_ns};
    ps_consumer *c = NULL;
    assert_int_equal(ps_consumer_add(b, stream, &cc, &c), PS_OK);
    return c;
}

static void publish_n(ps_backend *b, const char *subj, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(ps_publish_data(b, subj, "x", 1, NULL, NULL), PS_OK);
}

static uint64_t stream_msgs(ps_backend *b, const char *name)
{
    ps_stream_info si = {0};
    assert_int_equal(ps_stream_info_get(b, name, &si), PS_OK);
    uint64_t n = si.state.msgs;
    ps_stream_info_clear(&si);
    return n;
}

/* next_deadline names the ack-wait expiry; tick performs it. */
static void test_next_deadline_is_ack_wait_expiry(void **state)
{
    env *e = *state;
    add_stream(e->b, "D", "d.>", PS_RETENTION_LIMITS, PS_STORAGE_MEMORY);
    ps_consumer *c = add_durable(e->b, "D", "C", PS_NS_PER_SEC);
    publish_n(e->b, "d.x", 1);
    assert_int_equal(ps_backend_next_deadline(e->b), INT64_MAX);
    ps_msg_list l = {0};
    int64_t t0 = ps_clock_now(e->clock);
    assert_int_equal(ps_fetch_batch(c, 1, 0, &l), PS_OK);
    assert_int_equal(ps_backend_next_deadline(e->b), t0 + PS_NS_PER_SEC);
    assert_int_equal(ps_clock_advance(e->clock, PS_NS_PER_SEC), PS_OK);
    assert_int_equal(ps_backend_tick(e->b), PS_OK);
    assert_int_equal(ps_backend_next_deadline(e->b), INT64_MAX); /* queued for redelivery */
    ps_msg_list_free(&l);
    ps_consumer_free(c);
}

/* JS 6.5: pending messages expire in deadline order whatever order the
 * others were acked in. Acks taken out of the middle of the deadline heap,
 * its internal order checked after each (ps_memory_check). */
static void test_acks_in_any_order_keep_expiry_order(void **state)
{
    env *e = *state;
    enum { N = 64 };
    add_stream(e->b, "H", "h.>", PS_RETENTION_LIMITS, PS_STORAGE_MEMORY);
    ps_consumer *c = add_durable(e->b, "H", "C", 10 * PS_NS_PER_SEC);
    publish_n(e->b, "h.x", N);
    ps_msg_list got[N] = {{0}};
    for (int i = 0; i < N; i++) { /* one a millisecond: distinct deadlines */
        assert_int_equal(ps_fetch_batch(c, 1, 0, &got[i]), PS_OK);
        assert_int_equal(got[i].count, 1);
        ps_clock_advance(e->clock, PS_NS_PER_MS);
    }
    bool acked[N] = {false};
    for (int k = 0; k < N / 2; k++) {
        int i = (k * 37 + 11) % N; /* scattered over the heap */
        assert_int_equal(ps_ack(got[i].msgs[0], PS_ACK, 0), PS_OK);
        acked[i] = true;
        assert_int_equal(ps_memory_check(e->b), PS_OK);
    }
    ps_clock_advance(e->clock, 10 * PS_NS_PER_SEC);
    assert_int_equal(ps_backend_tick(e->b), PS_OK);
    assert_int_equal(ps_memory_check(e->b), PS_OK);
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(c, N, 0, &l), PS_OK);
    int j = 0;
    for (int i = 0; i < N; i++) {
        if (acked[i])
            continue;
        assert_true(j < l.count);
        assert_int_equal(l.msgs[j]->meta.stream_seq, (uint64_t)i + 1);
        assert_int_equal(l.msgs[j]->meta.num_delivered, 2);
        j++;
    }
    assert_int_equal(l.count, j);
    ps_msg_list_free(&l);
    for (int i = 0; i < N; i++)
        ps_msg_list_free(&got[i]);
    ps_consumer_free(c);
}

/* JS 13.1: after a crash, an ack made within the last 100 ms is lost and
 * the WorkQueue message it removed comes back. */
static void test_crash_rolls_back_recent_workqueue_ack(void **state)
{
    env *e = *state;
    add_stream(e->b, "W", "w.>", PS_RETENTION_WORKQUEUE, PS_STORAGE_FILE);
    ps_consumer *c = add_durable(e->b, "W", "C", 30 * PS_NS_PER_SEC);
    publish_n(e->b, "w.x", 3);
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(c, 3, 0, &l), PS_OK);
    assert_int_equal(l.count, 3);
    ps_clock_advance(e->clock, PS_NS_PER_SEC);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK);
    assert_int_equal(stream_msgs(e->b, "W"), 2);
    ps_msg_list_free(&l);
    assert_int_equal(ps_backend_restart(e->b, PS_RESTART_CRASH), PS_OK);
    assert_int_equal(stream_msgs(e->b, "W"), 3);
    ps_consumer_info ci = {0};
    assert_int_equal(ps_consumer_info_get(c, &ci), PS_OK);
    assert_int_equal(ci.num_ack_pending, 3); /* the ack itself was not written */
    ps_consumer_info_clear(&ci);
    ps_consumer_free(c);
}

/* JS 13.1: a graceful restart keeps acks and removals. */
static void test_graceful_restart_keeps_acks(void **state)
{
    env *e = *state;
    add_stream(e->b, "W", "w.>", PS_RETENTION_WORKQUEUE, PS_STORAGE_FILE);
    ps_consumer *c = add_durable(e->b, "W", "C", 30 * PS_NS_PER_SEC);
    publish_n(e->b, "w.x", 3);
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(c, 3, 0, &l), PS_OK);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK);
    ps_msg_list_free(&l);
    assert_int_equal(ps_backend_restart(e->b, PS_RESTART_GRACEFUL), PS_OK);
    assert_int_equal(stream_msgs(e->b, "W"), 2);
    ps_consumer_info ci = {0};
    assert_int_equal(ps_consumer_info_get(c, &ci), PS_OK);
    assert_int_equal(ci.num_ack_pending, 2);
    ps_consumer_info_clear(&ci);
    ps_consumer_free(c);
}

/* JS 13.1: removals older than the index-write gap survive a crash. */
static void test_crash_keeps_removals_after_index_write(void **state)
{
    env *e = *state;
    add_stream(e->b, "W", "w.>", PS_RETENTION_WORKQUEUE, PS_STORAGE_FILE);
    ps_consumer *c = add_durable(e->b, "W", "C", 30 * PS_NS_PER_SEC);
    publish_n(e->b, "w.x", 3);
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(c, 3, 0, &l), PS_OK);
    ps_clock_advance(e->clock, 3 * PS_NS_PER_SEC); /* > 2 s since the last index write */
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK);
    ps_clock_advance(e->clock, PS_NS_PER_SEC);
    assert_int_equal(ps_ack(l.msgs[1], PS_ACK, 0), PS_OK); /* within 2 s: not yet durable */
    ps_clock_advance(e->clock, PS_NS_PER_SEC);
    ps_msg_list_free(&l);
    assert_int_equal(ps_backend_restart(e->b, PS_RESTART_CRASH), PS_OK);
    assert_int_equal(stream_msgs(e->b, "W"), 2); /* m1 stays gone, m2 is back */
    ps_consumer_free(c);
}

/* JS 13.1: a power loss also loses what was stored since the 2-minute sync. */
static void test_power_loss_drops_unsynced_messages(void **state)
{
    env *e = *state;
    add_stream(e->b, "P", "p.>", PS_RETENTION_LIMITS, PS_STORAGE_FILE);
    publish_n(e->b, "p.x", 2);
    ps_clock_advance(e->clock, 121 * PS_NS_PER_SEC); /* past the first sync */
    publish_n(e->b, "p.x", 3);
    assert_int_equal(ps_backend_restart(e->b, PS_RESTART_POWER_LOSS), PS_OK);
    ps_stream_info si = {0};
    assert_int_equal(ps_stream_info_get(e->b, "P", &si), PS_OK);
    assert_int_equal(si.state.msgs, 2);
    assert_int_equal(si.state.last_seq, 2);
    ps_stream_info_clear(&si);
    ps_pub_ack pa;
    assert_int_equal(ps_publish_data(e->b, "p.x", "y", 1, NULL, &pa), PS_OK);
    assert_int_equal(pa.seq, 3); /* the lost sequences are used again */
}

/* JS 13.1: memory streams do not survive any restart. */
static void test_restart_loses_memory_streams(void **state)
{
    env *e = *state;
    add_stream(e->b, "M", "m.>", PS_RETENTION_LIMITS, PS_STORAGE_MEMORY);
    ps_consumer *c = add_durable(e->b, "M", "C", PS_NS_PER_SEC);
    publish_n(e->b, "m.x", 1);
    assert_int_equal(ps_backend_restart(e->b, PS_RESTART_GRACEFUL), PS_OK);
    ps_stream_info si = {0};
    assert_int_equal(ps_stream_info_get(e->b, "M", &si), PS_ERR_STREAM_NOT_FOUND);
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(c, 1, 0, &l), PS_ERR_TIMEOUT);
    assert_int_equal(ps_publish_data(e->b, "m.x", "x", 1, NULL, NULL), PS_ERR_NO_RESPONDERS);
    ps_msg_list_free(&l);
    ps_consumer_free(c);
}

/* Ephemeral names come from the seeded generator: same seed, same names. */
static void test_ephemeral_names_are_deterministic(void **state)
{
    (void)state;
    char names[2][PS_NAME_MAX_BUF];
    for (int run = 0; run < 2; run++) {
        test_mem m;
        assert_int_equal(test_mem_open(&m, 0, &(ps_memory_options){.seed = 42}), PS_OK);
        add_stream(m.b, "E", "e.>", PS_RETENTION_LIMITS, PS_STORAGE_MEMORY);
        ps_consumer_config cc = {0};
        ps_consumer *c = NULL;
        assert_int_equal(ps_consumer_add(m.b, "E", &cc, &c), PS_OK);
        strcpy(names[run], c->name);
        assert_int_equal(strlen(c->name), 8);
        ps_consumer_free(c);
        assert_int_equal(test_mem_close(&m), PS_OK);
    }
    assert_string_equal(names[0], names[1]);
}

static void count_advisory(void *user, const ps_advisory *adv)
{
    (void)adv;
    ++*(int *)user;
}

/* Listening to advisories changes no other draw of the model: with and
 * without a handler, the same seed names the second ephemeral consumer
 * alike (before, advisory ids came from the model's one generator, and a
 * listener shifted ephemeral names and restart jitter). */
static void test_an_advisory_handler_changes_no_other_draw(void **state)
{
    (void)state;
    char names[2][PS_NAME_MAX_BUF];
    int heard = 0;
    for (int run = 0; run < 2; run++) {
        test_mem m;
        assert_int_equal(test_mem_open(&m, 0, &(ps_memory_options){.seed = 42}), PS_OK);
        if (run == 1)
            ps_backend_set_advisory_handler(m.b, count_advisory, &heard);
        add_stream(m.b, "E", "e.>", PS_RETENTION_LIMITS, PS_STORAGE_MEMORY);
        ps_consumer_config cc = {0};
        ps_consumer *a = NULL, *b = NULL;
        assert_int_equal(ps_consumer_add(m.b, "E", &cc, &a), PS_OK); /* an advisory each */
        assert_int_equal(ps_consumer_add(m.b, "E", &cc, &b), PS_OK);
        strcpy(names[run], b->name);
        ps_consumer_free(a);
        ps_consumer_free(b);
        assert_int_equal(test_mem_close(&m), PS_OK);
    }
    assert_true(heard >= 3); /* the stream and both consumers were announced */
    assert_string_equal(names[0], names[1]);
}

/* ---- closing ----------------------------------------------------------------- */

/* A close with consumer handles still open is PS_ERR_BUSY and frees
 * nothing, as uv_loop_close answers UV_EBUSY: the handles keep working.
 * Once they are freed the close goes through (under ASan: nothing leaked,
 * nothing used after free). */
static void test_close_with_live_handles_is_busy(void **state)
{
    ps_backend *b = ((env *)*state)->b;
    add_stream(b, "B", "b.>", PS_RETENTION_WORKQUEUE, PS_STORAGE_MEMORY);
    ps_consumer *c = add_durable(b, "B", "C", PS_NS_PER_SEC);
    ps_consumer *d = NULL;
    assert_int_equal(ps_consumer_bind(b, "B", "C", &d), PS_OK);
    assert_int_equal(ps_backend_close(b), PS_ERR_BUSY);
    assert_int_equal(ps_last_status(), PS_ERR_BUSY);
    assert_non_null(strstr(ps_last_error(), "2 open consumer handles"));
    publish_n(b, "b.x", 1);
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(c, 1, 0, &l), PS_OK);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK);
    ps_msg_list_free(&l);
    ps_consumer_free(c);
    assert_int_equal(ps_backend_close(b), PS_ERR_BUSY);
    assert_non_null(strstr(ps_last_error(), "1 open consumer handle;"));
    ps_consumer_free(d);
    assert_int_equal(ps_backend_close(NULL), PS_OK);
    /* the teardown's test_mem_close closes it, and fails on a handle left */
}

/* A failed consumer_add hands out no handle, so it does not hold the
 * backend open. */
static void test_failed_consumer_add_does_not_hold_close(void **state)
{
    ps_backend *b = ((env *)*state)->b;
    ps_consumer_config cc = {.durable = "C"};
    ps_consumer *c = NULL;
    assert_int_equal(ps_consumer_add(b, "NOPE", &cc, &c), PS_ERR_STREAM_NOT_FOUND);
    assert_int_equal(ps_consumer_bind(b, "NOPE", "C", &c), PS_ERR_STREAM_NOT_FOUND);
    assert_null(c);
    assert_int_equal(ps_backend_close(b), PS_OK);
    ((env *)*state)->b = NULL; /* closed: the teardown has only the clock to free */
}

/* ---- the real clock: blocking fetch and several threads --------------------- */

typedef struct pub_arg {
    ps_backend *b;
    int n;
} pub_arg;

static void *late_publisher(void *p)
{
    pub_arg *a = p;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL); /* a real publisher arriving while the fetch waits */
    for (int i = 0; i < a->n; i++)
        ps_publish_data(a->b, "r.x", "x", 1, NULL, NULL);
    return NULL;
}

/* On the real clock a fetch waits up to its expiry for messages published
 * by another thread, and returns as soon as its batch is full. */
static void test_real_clock_fetch_waits_for_publisher(void **state)
{
    (void)state;
    ps_backend *b = NULL;
    assert_int_equal(ps_memory_new(&b, NULL), PS_OK);
    add_stream(b, "R", "r.>", PS_RETENTION_WORKQUEUE, PS_STORAGE_MEMORY);
    ps_consumer *c = add_durable(b, "R", "C", PS_NS_PER_SEC);
    pthread_t th;
    pub_arg a = {b, 3};
    pthread_create(&th, NULL, late_publisher, &a);
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(c, 3, 5 * PS_NS_PER_SEC, &l), PS_OK);
    assert_int_equal(l.count, 3);
    for (int i = 0; i < l.count; i++)
        assert_int_equal(ps_ack(l.msgs[i], PS_ACK, 0), PS_OK);
    pthread_join(th, NULL);
    assert_int_equal(stream_msgs(b, "R"), 0);
    ps_msg_list_free(&l);
    ps_consumer_free(c);
    ps_backend_close(b);
}

/* ---- a manual clock moved by another thread (manual_fetch_waits) ------------- */

typedef struct fetch_arg {
    ps_consumer *c;
    ps_clock *clock;
    ps_status status;
    int count;
    int64_t returned_at; /* the clock when the fetch returned */
} fetch_arg;

static void *fetch_5s(void *p)
{
    fetch_arg *a = p;
    ps_msg_list l = {0};
    a->status = ps_fetch_batch(a->c, 1, 5 * PS_NS_PER_SEC, &l);
    a->count = l.count;
    a->returned_at = ps_clock_now(a->clock);
    for (int i = 0; i < l.count; i++)
        ps_ack(l.msgs[i], PS_ACK, 0);
    ps_msg_list_free(&l);
    return NULL;
}

static void waiting_backend(test_mem *m)
{
    assert_int_equal(test_mem_open(m, 0, &(ps_memory_options){.manual_fetch_waits = true}), PS_OK);
    add_stream(m->b, "M", "m.>", PS_RETENTION_WORKQUEUE, PS_STORAGE_MEMORY);
}

/* With manual_fetch_waits a fetch on a manual clock waits until another
 * thread advances the clock to its expiry, and returns then, with the
 * timeout, at exactly that virtual instant: no real time is involved. The
 * test learns that the fetch waits from the clock, not by sleeping. */
static void test_manual_clock_fetch_waits_for_an_advance(void **state)
{
    (void)state;
    test_mem m;
    waiting_backend(&m);
    ps_clock *clk = m.clock;
    ps_backend *b = m.b;
    int64_t t0 = ps_clock_now(clk);
    fetch_arg a = {add_durable(b, "M", "C", 30 * PS_NS_PER_SEC), clk, PS_OK, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, fetch_5s, &a);
    assert_int_equal(ps_clock_await_waiters(clk, 1), PS_OK);
    assert_int_equal(ps_clock_advance(clk, 5 * PS_NS_PER_SEC), PS_OK);
    pthread_join(th, NULL);
    assert_int_equal(a.status, PS_ERR_TIMEOUT);
    assert_int_equal(a.returned_at, t0 + 5 * PS_NS_PER_SEC);
    ps_consumer_free(a.c);
    assert_int_equal(test_mem_close(&m), PS_OK);
}

/* ... and returns as soon as another thread publishes, the clock unmoved. */
static void test_manual_clock_fetch_waits_for_a_publish(void **state)
{
    (void)state;
    test_mem m;
    waiting_backend(&m);
    ps_clock *clk = m.clock;
    ps_backend *b = m.b;
    int64_t t0 = ps_clock_now(clk);
    fetch_arg a = {add_durable(b, "M", "C", 30 * PS_NS_PER_SEC), clk, PS_OK, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, fetch_5s, &a);
    assert_int_equal(ps_clock_await_waiters(clk, 1), PS_OK);
    publish_n(b, "m.x", 1);
    pthread_join(th, NULL);
    assert_int_equal(a.status, PS_OK);
    assert_int_equal(a.count, 1);
    assert_int_equal(a.returned_at, t0);
    assert_int_equal(stream_msgs(b, "M"), 0);
    ps_consumer_free(a.c);
    assert_int_equal(test_mem_close(&m), PS_OK);
}

static void *fetch_2_in_5s(void *p)
{
    fetch_arg *a = p;
    ps_msg_list l = {0};
    a->status = ps_fetch_batch(a->c, 2, 5 * PS_NS_PER_SEC, &l);
    a->count = l.count;
    a->returned_at = ps_clock_now(a->clock);
    ps_msg_list_free(&l);
    return NULL;
}

/* A fetch that got a message and waits for a second one, while another
 * thread deletes its consumer: it returns what it got, and nothing of it
 * touches the deleted consumer afterwards (under AddressSanitizer a use of
 * the freed consumer ends the run). */
static void test_manual_clock_fetch_outlives_its_deleted_consumer(void **state)
{
    (void)state;
    test_mem m;
    waiting_backend(&m);
    ps_clock *clk = m.clock;
    ps_backend *b = m.b;
    fetch_arg a = {add_durable(b, "M", "C", 30 * PS_NS_PER_SEC), clk, PS_OK, 0, 0};
    publish_n(b, "m.x", 1);
    pthread_t th;
    pthread_create(&th, NULL, fetch_2_in_5s, &a);
    assert_int_equal(ps_clock_await_waiters(clk, 1), PS_OK); /* it has the one, waits for more */
    assert_int_equal(ps_consumer_delete(b, "M", "C"), PS_OK);
    assert_int_equal(ps_clock_advance(clk, PS_NS_PER_SEC), PS_OK); /* wakes it, if the delete did not */
    pthread_join(th, NULL);
    assert_int_equal(a.status, PS_OK);
    assert_int_equal(a.count, 1);
    ps_consumer_free(a.c);
    assert_int_equal(test_mem_close(&m), PS_OK);
}

typedef struct work_arg {
    ps_backend *b;
    int got;
} work_arg;

static void *worker(void *p)
{
    work_arg *a = p;
    ps_consumer *c = NULL;
    if (ps_consumer_bind(a->b, "T", "C", &c) != PS_OK)
        return NULL;
    ps_msg_list l = {0};
    while (ps_fetch_batch(c, 10, 200 * PS_NS_PER_MS, &l) == PS_OK) {
        for (int i = 0; i < l.count; i++)
            if (ps_ack(l.msgs[i], PS_ACK, 0) == PS_OK)
                a->got++;
    }
    ps_msg_list_free(&l);
    ps_consumer_free(c);
    return NULL;
}

/* JS 12.3: competing workers on one durable each get disjoint messages and
 * together ack every one exactly once. */
static void test_real_clock_competing_workers(void **state)
{
    (void)state;
    ps_backend *b = NULL;
    assert_int_equal(ps_memory_new(&b, NULL), PS_OK);
    add_stream(b, "T", "t.>", PS_RETENTION_WORKQUEUE, PS_STORAGE_MEMORY);
    ps_consumer *c = add_durable(b, "T", "C", 10 * PS_NS_PER_SEC);
    ps_consumer_free(c);
    enum { N = 2000, W = 4 };
    for (int i = 0; i < N; i++)
        assert_int_equal(ps_publish_data(b, "t.x", "x", 1, NULL, NULL), PS_OK);
    pthread_t th[W];
    work_arg args[W];
    for (int i = 0; i < W; i++) {
        args[i] = (work_arg){b, 0};
        pthread_create(&th[i], NULL, worker, &args[i]);
    }
    int total = 0;
    for (int i = 0; i < W; i++) {
        pthread_join(th[i], NULL);
        total += args[i].got;
    }
    assert_int_equal(total, N);
    assert_int_equal(stream_msgs(b, "T"), 0);
    ps_backend_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_next_deadline_is_ack_wait_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acks_in_any_order_keep_expiry_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_rolls_back_recent_workqueue_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graceful_restart_keeps_acks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_keeps_removals_after_index_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_loss_drops_unsynced_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_loses_memory_streams, setup, teardown),
        cmocka_unit_test(test_ephemeral_names_are_deterministic),
        cmocka_unit_test(test_an_advisory_handler_changes_no_other_draw),
        cmocka_unit_test_setup_teardown(test_close_with_live_handles_is_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_consumer_add_does_not_hold_close, setup, teardown),
        cmocka_unit_test(test_real_clock_fetch_waits_for_publisher),
        cmocka_unit_test(test_manual_clock_fetch_waits_for_an_advance),
        cmocka_unit_test(test_manual_clock_fetch_waits_for_a_publish),
        cmocka_unit_test(test_manual_clock_fetch_outlives_its_deleted_consumer),
        cmocka_unit_test(test_real_clock_competing_workers),
    };
    return cmocka_run_group_tests_name("memory backend", tests, NULL, NULL);
}
