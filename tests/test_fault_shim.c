/* test_fault_shim.c — the fault model as a wrapping backend
 * (sim/fault_shim.c; public API sim/ps_fault_shim.h), over the memory backend on a manual clock: each
 * fault does what a job system would see, and without faults the shim
 * changes nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "fault_shim.h"
#include "fixture.h"
#include "ps_clock.h"
#include "ps_memory.h"
#include "ps_backend_impl.h"

typedef struct fx {
    test_mem m;  /* the memory backend the shim wraps, and its clock */
    ps_backend *b; /* the shim */
    ps_consumer *c;
} fx;

static int setup(void **state)
{
    static fx f;
    memset(&f, 0, sizeof f);
    if (test_mem_open(&f.m, 0, &(ps_memory_options){.seed = 1}) || sim_shim_new(&f.b, f.m.b, 99))
        return -1;
    ps_stream_config c = {.name = "J", .subjects = (const char *const[]){"j.>"}, .subjects_len = 1,
                          .retention = PS_RETENTION_WORKQUEUE};
    ps_consumer_config cc = {.durable = "W", .ack_wait_ns = PS_NS_PER_SEC};
    if (ps_stream_add(f.b, &c, NULL) || ps_consumer_add(f.b, "J", &cc, &f.c))
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ps_consumer_free(f->c);
    if (ps_backend_close(f->b) != PS_OK)
        return -1;
    return test_mem_close(&f->m) == PS_OK ? 0 : -1;
}

static uint64_t stored(fx *f)
{
    ps_stream_info si = {0};
    assert_int_equal(ps_stream_info_get(f->b, "J", &si), PS_OK);
    uint64_t n = si.state.msgs;
    ps_stream_info_clear(&si);
    return n;
}

static void advance(fx *f, int64_t ns)
{
    ps_clock_advance(f->m.clock, ns);
    ps_backend_tick(f->b);
}

static void test_without_faults_it_passes_everything_through(void **state)
{
    fx *f = *state;
    assert_int_equal(ps_publish_data(f->b, "j.a", "x", 1, "id1", NULL), PS_OK);
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l), PS_OK);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK);
    ps_msg_list_free(&l);
    assert_int_equal(stored(f), 0); /* the work queue removed the acked job */
    for (int k = 0; k < PS_FAULT_COUNT; k++)
        assert_int_equal(ps_fault_injected(f->b, (ps_fault)k), 0);
}

static void test_dropped_ack_says_ok_and_the_job_comes_back(void **state)
{
    fx *f = *state;
    sim_shim_set(f->b, SIM_SHIM_DROP_ACK, 10000);
    ps_publish_data(f->b, "j.a", "x", 1, NULL, NULL);
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l), PS_OK);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK);
    assert_int_equal(stored(f), 1);
    advance(f, 2 * PS_NS_PER_SEC); /* past AckWait */
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l), PS_OK);
    assert_int_equal(l.msgs[0]->meta.num_delivered, 2);
    ps_msg_list_free(&l);
}

static void test_lost_puback_is_a_timeout_but_the_message_is_stored(void **state)
{
    fx *f = *state;
    sim_shim_set(f->b, SIM_SHIM_LOSE_PUBACK, 10000);
    assert_int_equal(ps_publish_data(f->b, "j.a", "x", 1, "job-1", NULL), PS_ERR_TIMEOUT);
    assert_non_null(strstr(ps_last_error(), "lost, injected"));
    assert_int_equal(stored(f), 1);
    sim_shim_set(f->b, SIM_SHIM_LOSE_PUBACK, 0);
    ps_pub_ack ack;
    assert_int_equal(ps_publish_data(f->b, "j.a", "x", 1, "job-1", &ack), PS_OK); /* the retry */
    assert_true(ack.duplicate);
    assert_int_equal(stored(f), 1);
}

static void test_duplicate_publish_stores_twice_unless_deduplicated(void **state)
{
    fx *f = *state;
    sim_shim_set(f->b, SIM_SHIM_DUP_PUBLISH, 10000);
    ps_pub_ack ack;
    assert_int_equal(ps_publish_data(f->b, "j.a", "x", 1, NULL, &ack), PS_OK);
    assert_int_equal(ack.seq, 1);
    assert_int_equal(stored(f), 2);
    assert_int_equal(ps_publish_data(f->b, "j.a", "y", 1, "job-9", &ack), PS_OK);
    assert_int_equal(stored(f), 3); /* the copy of job-9 was a duplicate */
}

static void test_nak_storm_turns_acks_into_naks(void **state)
{
    fx *f = *state;
    sim_shim_set(f->b, SIM_SHIM_NAK_STORM, 10000);
    ps_publish_data(f->b, "j.a", "x", 1, NULL, NULL);
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l), PS_OK);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK);
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l), PS_OK); /* at once: nak'ed */
    assert_int_equal(l.msgs[0]->meta.num_delivered, 2);
    ps_msg_list_free(&l);
}

static void test_term_storm_turns_acks_into_terms(void **state)
{
    fx *f = *state;
    sim_shim_set(f->b, SIM_SHIM_TERM_STORM, 10000);
    ps_publish_data(f->b, "j.a", "x", 1, NULL, NULL);
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l), PS_OK);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK);
    ps_msg_list_free(&l);
    advance(f, 5 * PS_NS_PER_SEC);
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l), PS_ERR_TIMEOUT); /* never again */
    ps_msg_list_free(&l);
}

static void test_same_seed_same_faults(void **state)
{
    fx *f = *state;
    ps_backend *a = NULL, *b = NULL;
    assert_int_equal(sim_shim_new(&a, f->m.b, 7), PS_OK);
    sim_shim_set(a, SIM_SHIM_LOSE_PUBACK, 3000);
    char pattern[2][64];
    for (int run = 0; run < 2; run++) {
        ps_backend *s = run ? b : a;
        if (run) {
            assert_int_equal(sim_shim_new(&b, f->m.b, 7), PS_OK);
            s = b;
            sim_shim_set(s, SIM_SHIM_LOSE_PUBACK, 3000);
        }
        for (int i = 0; i < 63; i++)
            pattern[run][i] = ps_publish_data(s, "j.a", "x", 1, NULL, NULL) == PS_OK ? '.' : 'L';
        pattern[run][63] = '\0';
        ps_backend_close(s);
    }
    assert_string_equal(pattern[0], pattern[1]);
    assert_non_null(strchr(pattern[0], 'L'));
    assert_non_null(strchr(pattern[0], '.'));
}

/* An unreachable broker: publishes time out and store nothing, fetches
 * and acks time out; when it is back, the unacked job comes back after
 * AckWait. */
static void test_unreachable_broker_stores_nothing_and_answers_nothing(void **state)
{
    fx *f = *state;
    assert_int_equal(ps_publish_data(f->b, "j.a", "x", 1, NULL, NULL), PS_OK);
    ps_msg_list l = {0};
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l), PS_OK);
    assert_int_equal(sim_shim_set_unreachable(f->b, true), PS_OK);
    assert_int_equal(ps_publish_data(f->b, "j.b", "y", 1, NULL, NULL), PS_ERR_TIMEOUT);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_ERR_TIMEOUT);
    ps_msg_list l2 = {0};
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l2), PS_ERR_TIMEOUT);
    assert_int_equal(sim_shim_set_unreachable(f->b, false), PS_OK);
    assert_int_equal(stored(f), 1); /* j.b never arrived; j.a was never acked */
    advance(f, 2 * PS_NS_PER_SEC);
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l2), PS_OK);
    assert_int_equal(l2.msgs[0]->meta.num_delivered, 2);
    ps_msg_list_free(&l);
    ps_msg_list_free(&l2);
}

/* One handle cut off (a partitioned or crashed worker) while another
 * handle of the same consumer works on. */
static void test_a_cut_consumer_handle_reaches_nothing_others_do(void **state)
{
    fx *f = *state;
    ps_consumer *other = NULL;
    assert_int_equal(ps_consumer_bind(f->b, "J", "W", &other), PS_OK);
    ps_publish_data(f->b, "j.a", "x", 1, NULL, NULL);
    ps_publish_data(f->b, "j.b", "y", 1, NULL, NULL);
    ps_msg_list l = {0}, l2 = {0};
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l), PS_OK);
    assert_int_equal(sim_shim_cut_consumer(f->c, true), PS_OK);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_ERR_TIMEOUT);
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l2), PS_ERR_TIMEOUT);
    assert_int_equal(ps_fetch_batch(other, 1, 0, &l2), PS_OK);
    assert_int_equal(ps_ack(l2.msgs[0], PS_ACK, 0), PS_OK);
    assert_int_equal(stored(f), 1);
    assert_int_equal(sim_shim_cut_consumer(f->c, false), PS_OK);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK);
    assert_int_equal(stored(f), 0);
    assert_int_equal(sim_shim_cut_consumer(NULL, true), PS_ERR_INVALID_ARG);
    ps_msg_list_free(&l);
    ps_msg_list_free(&l2);
    ps_consumer_free(other);
}

/* Asynchronous pulls go through the shim (contract version 3): a waiting
 * pull is served by a later publish, its messages ack through the shim
 * (a dropped ack still drops), and a cut handle's pull hears nothing. */
static void test_pulls_pass_through_and_feel_the_faults(void **state)
{
    fx *f = *state;
    ps_pull *p = NULL;
    ps_fetch_request req = {.batch = 1, .expires_ns = 10 * PS_NS_PER_SEC};
    assert_int_equal(ps_pull_start(f->c, &req, &p), PS_OK);
    ps_msg_list l = {0};
    ps_pull_end end;
    assert_int_equal(ps_pull_poll(p, &l, &end), PS_OK);
    assert_int_equal(l.count, 0);
    assert_false(end.done);
    ps_publish_data(f->b, "j.a", "x", 1, NULL, NULL);
    assert_int_equal(ps_pull_poll(p, &l, &end), PS_OK);
    assert_int_equal(l.count, 1);
    assert_true(end.done);
    assert_ptr_equal(l.msgs[0]->consumer_, f->c);
    assert_int_equal(sim_shim_set(f->b, SIM_SHIM_DROP_ACK, 10000), PS_OK);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK); /* dropped on the way */
    assert_int_equal(sim_shim_set(f->b, SIM_SHIM_DROP_ACK, 0), PS_OK);
    assert_int_equal(stored(f), 1);
    ps_msg_list_free(&l);
    ps_pull_free(p);

    assert_int_equal(sim_shim_cut_consumer(f->c, true), PS_OK);
    assert_int_equal(ps_pull_start(f->c, &req, &p), PS_ERR_TIMEOUT);
    assert_int_equal(sim_shim_cut_consumer(f->c, false), PS_OK);
    assert_int_equal(ps_pull_start(f->c, &req, &p), PS_OK);
    assert_int_equal(sim_shim_cut_consumer(f->c, true), PS_OK);
    advance(f, 2 * PS_NS_PER_SEC); /* the dropped ack's message is due again */
    assert_int_equal(ps_pull_poll(p, &l, &end), PS_OK);
    assert_int_equal(l.count, 0); /* cut off: nothing arrives */
    assert_false(end.done);
    assert_int_equal(sim_shim_cut_consumer(f->c, false), PS_OK);
    ps_pull_free(p);
}

static void test_knob_out_of_range_is_refused(void **state)
{
    fx *f = *state;
    assert_int_equal(sim_shim_set(f->b, SIM_SHIM_DROP_ACK, 10001), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_shim_set(f->m.b, SIM_SHIM_DROP_ACK, 1), PS_ERR_INVALID_ARG);
}

/* ---- counted triggers (the public API, ps_fault_shim.h) --------------------------------
 *
 * What a user's unit test says: "the next ack is lost", "the next N acks",
 * deterministically, with no probability involved. */

/* Publishes one job and fetches it through the test's consumer. */
static ps_msg_list one_job(fx *f)
{
    ps_msg_list l = {0};
    assert_int_equal(ps_publish_data(f->b, "j.a", "x", 1, NULL, NULL), PS_OK);
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l), PS_OK);
    return l;
}

static void test_next_ack_is_dropped_once_then_acks_reach_the_server(void **state)
{
    fx *f = *state;
    assert_int_equal(ps_fault_next(f->b, PS_FAULT_DROP_ACK, 1), PS_OK);
    assert_int_equal(ps_fault_pending(f->b, PS_FAULT_DROP_ACK), 1);
    ps_msg_list l = one_job(f);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK); /* the client believes it */
    ps_msg_list_free(&l);
    assert_int_equal(ps_fault_pending(f->b, PS_FAULT_DROP_ACK), 0);
    assert_int_equal(ps_fault_injected(f->b, PS_FAULT_DROP_ACK), 1);
    assert_int_equal(stored(f), 1);
    advance(f, 2 * PS_NS_PER_SEC); /* past AckWait: redelivered */
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l), PS_OK);
    assert_int_equal(l.msgs[0]->meta.num_delivered, 2);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK); /* this one arrives */
    ps_msg_list_free(&l);
    assert_int_equal(stored(f), 0);
    assert_int_equal(ps_fault_injected(f->b, PS_FAULT_DROP_ACK), 1);
}

static void test_the_next_n_acks_are_dropped_and_no_more(void **state)
{
    fx *f = *state;
    assert_int_equal(ps_fault_next(f->b, PS_FAULT_DROP_ACK, 3), PS_OK);
    for (int i = 0; i < 4; i++) {
        ps_msg_list l = one_job(f);
        assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK);
        ps_msg_list_free(&l);
    }
    assert_int_equal(stored(f), 3); /* the fourth ack removed its job */
    assert_int_equal(ps_fault_injected(f->b, PS_FAULT_DROP_ACK), 3);
    assert_int_equal(ps_fault_pending(f->b, PS_FAULT_DROP_ACK), 0);
}

/* Only positive acks count: a NAK or an in-progress passes unchanged and
 * leaves the armed fault for the next ack. */
static void test_an_armed_ack_fault_waits_for_a_positive_ack(void **state)
{
    fx *f = *state;
    assert_int_equal(ps_fault_next(f->b, PS_FAULT_ACK_AS_TERM, 1), PS_OK);
    ps_msg_list l = one_job(f);
    assert_int_equal(ps_ack(l.msgs[0], PS_IN_PROGRESS, 0), PS_OK);
    assert_int_equal(ps_ack(l.msgs[0], PS_NAK, 0), PS_OK);
    ps_msg_list_free(&l);
    assert_int_equal(ps_fault_pending(f->b, PS_FAULT_ACK_AS_TERM), 1);
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l), PS_OK); /* the NAK arrived as a NAK */
    assert_int_equal(l.msgs[0]->meta.num_delivered, 2);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK); /* arrives as a TERM */
    ps_msg_list_free(&l);
    assert_int_equal(ps_fault_pending(f->b, PS_FAULT_ACK_AS_TERM), 0);
    advance(f, 5 * PS_NS_PER_SEC);
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l), PS_ERR_TIMEOUT); /* never again */
    ps_msg_list_free(&l);
}

static void test_next_ack_arrives_as_a_nak(void **state)
{
    fx *f = *state;
    assert_int_equal(ps_fault_next(f->b, PS_FAULT_ACK_AS_NAK, 1), PS_OK);
    ps_msg_list l = one_job(f);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK);
    ps_msg_list_free(&l);
    assert_int_equal(ps_fetch_batch(f->c, 1, 0, &l), PS_OK); /* at once, no AckWait */
    assert_int_equal(l.msgs[0]->meta.num_delivered, 2);
    assert_int_equal(ps_ack(l.msgs[0], PS_ACK, 0), PS_OK);
    ps_msg_list_free(&l);
    assert_int_equal(stored(f), 0);
}

static void test_next_puback_is_lost_once(void **state)
{
    fx *f = *state;
    assert_int_equal(ps_fault_next(f->b, PS_FAULT_LOSE_PUBACK, 1), PS_OK);
    assert_int_equal(ps_publish_data(f->b, "j.a", "x", 1, "job-1", NULL), PS_ERR_TIMEOUT);
    assert_int_equal(stored(f), 1); /* stored all the same */
    ps_pub_ack ack;
    assert_int_equal(ps_publish_data(f->b, "j.a", "x", 1, "job-1", &ack), PS_OK); /* the retry */
    assert_true(ack.duplicate);
    assert_int_equal(ps_publish_data(f->b, "j.a", "y", 1, "job-2", &ack), PS_OK);
    assert_int_equal(stored(f), 2);
    assert_int_equal(ps_fault_injected(f->b, PS_FAULT_LOSE_PUBACK), 1);
}

/* A publish the server refuses is not "a publish that succeeded": the
 * armed fault waits for the next one that does. */
static void test_an_armed_publish_fault_skips_a_refused_publish(void **state)
{
    fx *f = *state;
    assert_int_equal(ps_fault_next(f->b, PS_FAULT_DUP_PUBLISH, 1), PS_OK);
    assert_int_equal(ps_publish_data(f->b, "nowhere", "x", 1, NULL, NULL), PS_ERR_NO_RESPONDERS);
    assert_int_equal(ps_fault_pending(f->b, PS_FAULT_DUP_PUBLISH), 1);
    ps_pub_ack ack;
    assert_int_equal(ps_publish_data(f->b, "j.a", "x", 1, NULL, &ack), PS_OK);
    assert_int_equal(ack.seq, 1); /* the caller sees the first PubAck */
    assert_int_equal(stored(f), 2);
    assert_int_equal(ps_publish_data(f->b, "j.a", "y", 1, NULL, NULL), PS_OK);
    assert_int_equal(stored(f), 3);
}

/* Arming a count replaces what was pending; 0 disarms. */
static void test_arming_replaces_the_count_and_zero_disarms(void **state)
{
    fx *f = *state;
    assert_int_equal(ps_fault_next(f->b, PS_FAULT_LOSE_PUBACK, 5), PS_OK);
    assert_int_equal(ps_fault_next(f->b, PS_FAULT_LOSE_PUBACK, 2), PS_OK);
    assert_int_equal(ps_fault_pending(f->b, PS_FAULT_LOSE_PUBACK), 2);
    assert_int_equal(ps_fault_next(f->b, PS_FAULT_LOSE_PUBACK, 0), PS_OK);
    assert_int_equal(ps_publish_data(f->b, "j.a", "x", 1, NULL, NULL), PS_OK);
    assert_int_equal(ps_fault_injected(f->b, PS_FAULT_LOSE_PUBACK), 0);
}

/* A counted fault draws nothing from the generator: the probabilistic
 * faults that follow are those of the same seed without it (the
 * simulator's traces do not move when a test arms one). */
static void test_a_counted_fault_does_not_shift_the_random_ones(void **state)
{
    fx *f = *state;
    char pattern[2][41];
    for (int run = 0; run < 2; run++) {
        ps_backend *s = NULL;
        assert_int_equal(ps_fault_shim_new(&s, f->m.b, 11), PS_OK);
        assert_int_equal(ps_fault_set_probability(s, PS_FAULT_LOSE_PUBACK, 5000), PS_OK);
        if (run == 1) {
            assert_int_equal(ps_fault_next(s, PS_FAULT_LOSE_PUBACK, 1), PS_OK);
            assert_int_equal(ps_publish_data(s, "j.a", "x", 1, NULL, NULL), PS_ERR_TIMEOUT);
        }
        for (int i = 0; i < 40; i++)
            pattern[run][i] = ps_publish_data(s, "j.a", "x", 1, NULL, NULL) == PS_OK ? '.' : 'L';
        pattern[run][40] = '\0';
        ps_backend_close(s);
    }
    assert_string_equal(pattern[0], pattern[1]);
}

static void test_fault_calls_on_what_is_not_a_shim_are_refused(void **state)
{
    fx *f = *state;
    assert_false(ps_fault_shim_is(f->m.b));
    assert_true(ps_fault_shim_is(f->b));
    assert_false(ps_fault_shim_is(NULL));
    assert_int_equal(ps_fault_next(f->m.b, PS_FAULT_DROP_ACK, 1), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "not a fault shim"));
    assert_int_equal(ps_fault_next(NULL, PS_FAULT_DROP_ACK, 1), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_fault_next(f->b, PS_FAULT_COUNT, 1), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "out of range"));
    assert_int_equal(ps_fault_next(f->b, (ps_fault)-1, 1), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_fault_set_probability(f->b, PS_FAULT_DROP_ACK, -1), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_fault_set_unreachable(f->m.b, true), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_fault_forward_advisories(NULL, true), PS_ERR_INVALID_ARG);
    assert_int_equal(ps_fault_pending(NULL, PS_FAULT_DROP_ACK), 0);
    assert_int_equal(ps_fault_injected(f->m.b, PS_FAULT_DROP_ACK), 0);
    assert_int_equal(ps_fault_pending(f->b, PS_FAULT_COUNT), 0);
    assert_false(ps_fault_is_cut_off(NULL));
    assert_int_equal(ps_fault_shim_new(NULL, f->m.b, 1), PS_ERR_INVALID_ARG);
}

/* ---- a backend with asynchronous publishing (version 2) ---------------------------------
 *
 * The memory backend publishes synchronously; this one stands in for the
 * JetStream backend's publish_async: it queues what it is given and reports
 * each as stored (a PubAck with sequence 1, 2, ...) when completed. */

typedef struct async_backend {
    ps_backend base;
    int sync_calls, async_calls;
    uint64_t tokens[16];
    int ntokens;
    uint64_t seq;
} async_backend;

static ps_status ab_publish(ps_backend *b, const ps_out_msg *m, ps_pub_ack *out)
{
    (void)m;
    async_backend *a = (async_backend *)b;
    a->sync_calls++;
    if (out)
        *out = (ps_pub_ack){.seq = ++a->seq};
    return PS_OK;
}

static ps_status ab_publish_async(ps_backend *b, const ps_out_msg *m, uint64_t token)
{
    (void)m;
    async_backend *a = (async_backend *)b;
    a->async_calls++;
    a->tokens[a->ntokens++] = token;
    return PS_OK;
}

static ps_status ab_complete(ps_backend *b, int64_t timeout_ns)
{
    (void)timeout_ns;
    async_backend *a = (async_backend *)b;
    for (int i = 0; i < a->ntokens; i++) {
        ps_pub_result r = {.token = a->tokens[i], .status = PS_OK, .ack = {.seq = ++a->seq}};
        ps_backend_emit_pub_result(b, &r);
    }
    a->ntokens = 0;
    return PS_OK;
}

static void ab_close(ps_backend *b)
{
    (void)b;
}

static const ps_backend_ops async_ops = {
    .version = 2, .name = "async-test", .publish = ab_publish, .close = ab_close,
    .publish_async = ab_publish_async, .publish_async_complete = ab_complete,
};

typedef struct results {
    int n, ok, timeouts;
    uint64_t last_token;
} results;

static void on_result(void *user, const ps_pub_result *r)
{
    results *res = user;
    res->n++;
    res->ok += r->status == PS_OK;
    res->timeouts += r->status == PS_ERR_TIMEOUT;
    res->last_token = r->token;
}

/* The shim forwards every slot of the contract's current version: an
 * asynchronous publish through it stays asynchronous (it became a
 * synchronous one when the shim declared version 1), its results reach
 * the shim's handler, and a lost PubAck is injected into them too. */
static void test_async_publishing_passes_through_and_can_lose_pubacks(void **state)
{
    (void)state;
    async_backend a = {.base = {.ops = &async_ops}};
    ps_backend *b = NULL;
    assert_int_equal(sim_shim_new(&b, &a.base, 5), PS_OK);
    results res = {0};
    ps_backend_set_pub_result_handler(b, on_result, &res);
    ps_out_msg m = {.subject = "j.a", .data = "x", .len = 1};
    assert_int_equal(ps_publish_async(b, &m, 41), PS_OK);
    assert_int_equal(a.async_calls, 1);
    assert_int_equal(a.sync_calls, 0);
    assert_int_equal(res.n, 0); /* not before completion */
    assert_int_equal(ps_publish_async_complete(b, PS_NS_PER_SEC), PS_OK);
    assert_int_equal(res.n, 1);
    assert_int_equal(res.ok, 1);
    assert_int_equal(res.last_token, 41);

    sim_shim_set(b, SIM_SHIM_LOSE_PUBACK, 10000);
    assert_int_equal(ps_publish_async(b, &m, 42), PS_OK);
    assert_int_equal(ps_publish_async_complete(b, PS_NS_PER_SEC), PS_OK);
    assert_int_equal(res.n, 2);
    assert_int_equal(res.timeouts, 1);
    assert_int_equal(res.last_token, 42);
    assert_int_equal(ps_fault_injected(b, PS_FAULT_LOSE_PUBACK), 1);

    /* counted: the next async PubAck only */
    sim_shim_set(b, SIM_SHIM_LOSE_PUBACK, 0);
    assert_int_equal(ps_fault_next(b, PS_FAULT_LOSE_PUBACK, 1), PS_OK);
    assert_int_equal(ps_publish_async(b, &m, 50), PS_OK);
    assert_int_equal(ps_publish_async(b, &m, 51), PS_OK);
    assert_int_equal(ps_publish_async_complete(b, PS_NS_PER_SEC), PS_OK);
    assert_int_equal(res.n, 4);
    assert_int_equal(res.timeouts, 2);
    assert_int_equal(res.ok, 2);

    sim_shim_set(b, SIM_SHIM_LOSE_PUBACK, 0);
    assert_int_equal(sim_shim_set_unreachable(b, true), PS_OK);
    assert_int_equal(ps_publish_async(b, &m, 43), PS_ERR_TIMEOUT);
    assert_int_equal(a.async_calls, 4);
    ps_backend_close(b);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_without_faults_it_passes_everything_through),
        T(test_dropped_ack_says_ok_and_the_job_comes_back),
        T(test_lost_puback_is_a_timeout_but_the_message_is_stored),
        T(test_duplicate_publish_stores_twice_unless_deduplicated),
        T(test_nak_storm_turns_acks_into_naks),
        T(test_term_storm_turns_acks_into_terms),
        T(test_same_seed_same_faults),
        T(test_unreachable_broker_stores_nothing_and_answers_nothing),
        T(test_a_cut_consumer_handle_reaches_nothing_others_do),
        T(test_pulls_pass_through_and_feel_the_faults),
        T(test_knob_out_of_range_is_refused),
        T(test_next_ack_is_dropped_once_then_acks_reach_the_server),
        T(test_the_next_n_acks_are_dropped_and_no_more),
        T(test_an_armed_ack_fault_waits_for_a_positive_ack),
        T(test_next_ack_arrives_as_a_nak),
        T(test_next_puback_is_lost_once),
        T(test_an_armed_publish_fault_skips_a_refused_publish),
        T(test_arming_replaces_the_count_and_zero_disarms),
        T(test_a_counted_fault_does_not_shift_the_random_ones),
        T(test_fault_calls_on_what_is_not_a_shim_are_refused),
        cmocka_unit_test(test_async_publishing_passes_through_and_can_lose_pubacks),
    };
    return cmocka_run_group_tests_name("fault shim", tests, NULL, NULL);
}
