/* test_jobs.c — the job service's tests, one suite for both backends:
 *
 *   ./test_jobs                                          the memory backend,
 *                                                        manual clock, no sleep
 *   JETSIM_TEST_URL=nats://127.0.0.1:4222 ./test_jobs    a real nats-server
 *
 * ps_testkit picks the backend and names the streams; a fault shim
 * (ps_fault_shim.h) over it drops the next ack, loses the next PubAck or
 * cuts the worker off, on either backend.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jobs.h"
#include "ps_fault_shim.h"
#include "ps_testkit.h"

#define MS PS_NS_PER_MS
#define ACK_WAIT (1000 * MS)
#define FETCH_WAIT (300 * MS) /* a server may take this long to say "nothing" */

typedef struct fx {
    ps_testkit *kit;
    ps_backend *b; /* a fault shim over the kit's backend, no fault armed */
    ps_consumer *worker;
    const char *subject;
    jobs_ledger ledger;
} fx;

static int setup(void **state)
{
    static fx f;
    memset(&f, 0, sizeof f);
    if (ps_testkit_open(&f.kit) || ps_fault_shim_new(&f.b, ps_testkit_backend(f.kit), 1))
        return -1;
    const char *filter = ps_testkit_name(f.kit, "jobs.>");
    f.subject = ps_testkit_name(f.kit, "jobs.charge");
    ps_stream_config sc = {.name = ps_testkit_name(f.kit, "JOBS"), .subjects = &filter, .subjects_len = 1,
                           .retention = PS_RETENTION_WORKQUEUE};
    ps_consumer_config cc = {.durable = ps_testkit_name(f.kit, "worker"), .ack_wait_ns = ACK_WAIT};
    if (ps_stream_add(f.b, &sc, NULL) || ps_consumer_add(f.b, sc.name, &cc, &f.worker))
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ps_consumer_free(f->worker);
    ps_backend_close(f->b);
    return ps_testkit_close(f->kit) == PS_OK ? 0 : -1;
}

/* Jobs still in the work queue. */
static uint64_t queued(fx *f)
{
    ps_stream_info si = {0};
    assert_int_equal(ps_stream_info_get(f->b, ps_testkit_name(f->kit, "JOBS"), &si), PS_OK);
    uint64_t n = si.state.msgs;
    ps_stream_info_clear(&si);
    return n;
}

static void test_a_job_is_charged_once_and_leaves_the_queue(void **state)
{
    fx *f = *state;
    assert_int_equal(jobs_enqueue(f->b, f->subject, "job-1"), PS_OK);
    assert_int_equal(jobs_work_one(f->worker, &f->ledger, FETCH_WAIT), PS_OK);
    assert_int_equal(f->ledger.charges, 1);
    assert_int_equal(queued(f), 0);
    assert_int_equal(jobs_work_one(f->worker, &f->ledger, FETCH_WAIT), PS_ERR_TIMEOUT);
}

/* The PubAck is lost: the enqueue retries with the same Msg-Id and the
 * server keeps one copy. */
static void test_a_lost_puback_does_not_enqueue_twice(void **state)
{
    fx *f = *state;
    assert_int_equal(ps_fault_next(f->b, PS_FAULT_LOSE_PUBACK, 1), PS_OK);
    assert_int_equal(jobs_enqueue(f->b, f->subject, "job-2"), PS_OK);
    assert_int_equal(ps_fault_injected(f->b, PS_FAULT_LOSE_PUBACK), 1);
    assert_int_equal(queued(f), 1);
}

/* The ack is lost: the job comes back after AckWait and is not charged
 * again. */
static void test_a_lost_ack_does_not_charge_twice(void **state)
{
    fx *f = *state;
    assert_int_equal(jobs_enqueue(f->b, f->subject, "job-3"), PS_OK);
    assert_int_equal(ps_fault_next(f->b, PS_FAULT_DROP_ACK, 1), PS_OK);
    assert_int_equal(jobs_work_one(f->worker, &f->ledger, FETCH_WAIT), PS_OK);
    assert_int_equal(queued(f), 1); /* the server never heard the ack */
    assert_int_equal(ps_testkit_advance(f->kit, ACK_WAIT + 500 * MS), PS_OK);
    assert_int_equal(jobs_work_one(f->worker, &f->ledger, FETCH_WAIT), PS_OK);
    assert_int_equal(f->ledger.charges, 1);
    assert_int_equal(queued(f), 0);
}

/* The worker is cut off between charging and acking: its ack times out,
 * and once it is back the job returns after AckWait, charged once. */
static void test_a_worker_cut_off_before_its_ack_charges_once(void **state)
{
    fx *f = *state;
    assert_int_equal(jobs_enqueue(f->b, f->subject, "job-4"), PS_OK);
    ps_msg_list got = {0};
    assert_int_equal(ps_fetch_batch(f->worker, 1, FETCH_WAIT, &got), PS_OK);
    assert_int_equal(ps_fault_cut_consumer(f->worker, true), PS_OK);
    assert_int_equal(ps_ack(got.msgs[0], PS_ACK, 0), PS_ERR_TIMEOUT);
    ps_msg_list_free(&got);
    assert_int_equal(jobs_work_one(f->worker, &f->ledger, FETCH_WAIT), PS_ERR_TIMEOUT);
    assert_int_equal(ps_fault_cut_consumer(f->worker, false), PS_OK);
    assert_int_equal(ps_testkit_advance(f->kit, ACK_WAIT + 500 * MS), PS_OK);
    assert_int_equal(jobs_work_one(f->worker, &f->ledger, FETCH_WAIT), PS_OK);
    assert_int_equal(f->ledger.charges, 1);
    assert_int_equal(queued(f), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_a_job_is_charged_once_and_leaves_the_queue),
        T(test_a_lost_puback_does_not_enqueue_twice),
        T(test_a_lost_ack_does_not_charge_twice),
        T(test_a_worker_cut_off_before_its_ack_charges_once),
    };
    const char *url = getenv(PS_TESTKIT_URL_ENV);
    printf("jobs: on %s\n", url && *url ? "a nats-server (JETSIM_TEST_URL)" : "the memory backend");
    return cmocka_run_group_tests_name("jobs", tests, NULL, NULL);
}
