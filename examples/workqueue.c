/* workqueue.c — how an application unit-tests its job code with the memory
 * backend: no server, no sleeps, time moved by hand.
 *
 * The "application" is run_job() and work_one() below: job code, and the
 * worker step that turns its result into an acknowledgement. The test in
 * main() puts three jobs into a work-queue stream and checks what JetStream
 * does with each outcome: the acked job is gone, the nak'ed one comes back
 * at once, and the one whose worker died comes back only after AckWait,
 * with a delivery count of 2. Exit status 0 when all of that holds, 1 when
 * anything differs.
 *
 * This is not a test framework: a real test suite would use cmocka or the
 * like; the steps are the same. Build and run: make demo
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_memory.h"

/* ---- the application's code -------------------------------------------- */

typedef enum job_result { JOB_DONE, JOB_RETRY, JOB_WORKER_DIED } job_result;

static job_result run_job(const char *job, uint64_t attempt)
{
    if (strcmp(job, "send-email") == 0 && attempt == 1)
        return JOB_RETRY;       /* the mail server said "try again later" */
    if (strcmp(job, "charge-card") == 0 && attempt == 1)
        return JOB_WORKER_DIED; /* the process was killed mid-job */
    return JOB_DONE;
}

static ps_status work_one(ps_msg *m)
{
    switch (run_job(m->data, m->meta.num_delivered)) {
    case JOB_DONE:
        return ps_ack(m, PS_ACK, 0);
    case JOB_RETRY:
        return ps_ack(m, PS_NAK, 0);
    case JOB_WORKER_DIED:
        break; /* nobody answers: JetStream redelivers after AckWait */
    }
    return PS_OK;
}

/* ---- the test ------------------------------------------------------------- */

#define EXPECT(cond, what)                                                      \
    do {                                                                        \
        if (!(cond)) {                                                          \
            printf("FAILED: %s (last error: %s)\n", what, ps_last_error());     \
            goto done;                                                          \
        }                                                                       \
    } while (0)

static void show(const char *when, const ps_msg_list *batch)
{
    printf("%-28s", when);
    if (batch->count == 0)
        printf(" nothing");
    for (int i = 0; i < batch->count; i++)
        printf(" %s (delivery %llu)", (const char *)batch->msgs[i]->data,
               (unsigned long long)batch->msgs[i]->meta.num_delivered);
    printf("\n");
}

int main(void)
{
    int rc = 1;
    ps_clock *clock = ps_clock_manual_new(0);
    ps_backend *b = NULL;
    ps_consumer *worker = NULL;
    ps_msg_list batch = {0};
    ps_stream_info info = {0};

    ps_memory_options opts = {.clock = clock, .seed = 1};
    EXPECT(clock && ps_memory_new(&b, &opts) == PS_OK, "create a memory backend");

    const char *subjects[] = {"jobs.>"};
    ps_stream_config sc = {.name = "JOBS", .subjects = subjects, .subjects_len = 1,
                           .retention = PS_RETENTION_WORKQUEUE};
    EXPECT(ps_stream_add(b, &sc, NULL) == PS_OK, "create the work-queue stream");

    const char *jobs[] = {"resize-image", "send-email", "charge-card"};
    for (int i = 0; i < 3; i++)
        EXPECT(ps_publish_data(b, "jobs.new", jobs[i], strlen(jobs[i]), jobs[i], NULL) == PS_OK,
               "publish a job (its name is also its Nats-Msg-Id)");

    ps_consumer_config cc = {.durable = "worker", .ack_wait_ns = 30 * PS_NS_PER_SEC};
    EXPECT(ps_consumer_add(b, "JOBS", &cc, &worker) == PS_OK, "create the durable pull consumer");

    /* First pass: all three jobs arrive; the worker handles each. */
    EXPECT(ps_fetch_batch(worker, 10, 0, &batch) == PS_OK && batch.count == 3, "fetch 3 jobs");
    show("t=0s fetch:", &batch);
    for (int i = 0; i < batch.count; i++)
        EXPECT(work_one(batch.msgs[i]) == PS_OK, "handle a job");

    /* A nak without delay makes the job deliverable again at once. */
    EXPECT(ps_fetch_batch(worker, 10, 0, &batch) == PS_OK && batch.count == 1 &&
               strcmp(batch.msgs[0]->data, "send-email") == 0 &&
               batch.msgs[0]->meta.num_delivered == 2,
           "the nak'ed job comes back at once, delivery 2");
    show("t=0s fetch after the nak:", &batch);
    EXPECT(work_one(batch.msgs[0]) == PS_OK, "handle the retried job");

    /* The dead worker's job is still pending until AckWait runs out. */
    ps_clock_advance(clock, 29 * PS_NS_PER_SEC);
    EXPECT(ps_fetch_batch(worker, 10, 0, &batch) == PS_ERR_TIMEOUT, "nothing due before AckWait");
    show("t=29s fetch:", &batch);

    ps_clock_advance(clock, 1 * PS_NS_PER_SEC); /* no sleep: the clock is ours */
    EXPECT(ps_fetch_batch(worker, 10, 0, &batch) == PS_OK && batch.count == 1, "a job after AckWait");
    show("t=30s fetch:", &batch);
    ps_msg *m = batch.msgs[0];
    EXPECT(strcmp(m->data, "charge-card") == 0 && m->meta.num_delivered == 2,
           "the dead worker's job is redelivered, delivery 2");
    EXPECT(work_one(m) == PS_OK, "handle the redelivered job");

    /* Acked jobs leave a work-queue stream: nothing may be left. */
    EXPECT(ps_stream_info_get(b, "JOBS", &info) == PS_OK, "read the stream info");
    printf("%-28s %llu messages left, last sequence %llu\n", "stream JOBS:",
           (unsigned long long)info.state.msgs, (unsigned long long)info.state.last_seq);
    EXPECT(info.state.msgs == 0, "the work queue is empty");

    printf("OK: acked once, retried after a nak, redelivered after AckWait\n");
    rc = 0;
done:
    ps_stream_info_clear(&info);
    ps_msg_list_free(&batch);
    ps_consumer_free(worker);
    ps_backend_close(b);
    ps_clock_free(clock);
    return rc;
}
