/* workqueue.c — how an application unit-tests its job handling with the
 * memory backend: no server, no sleeps, time moved by hand.
 *
 * Three jobs go into a work-queue stream. The worker acks the first, naks
 * the second and "crashes" on the third (never acks it). Advancing the
 * manual clock past AckWait brings the third back with a delivery count of
 * 2, exactly as nats-server 2.9.10 would redeliver it.
 *
 * Build and run: make demo
 */
#include <stdio.h>
#include <string.h>

#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_memory.h"

#define CHECK(cond, what)                                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "FAILED: %s (%s)\n", what, ps_last_error());   \
            return 1;                                                      \
        }                                                                  \
    } while (0)

int main(void)
{
    ps_clock *clock = ps_clock_manual_new(0);
    ps_backend *b = NULL;
    ps_memory_options opts = {.clock = clock, .seed = 1};
    CHECK(ps_memory_new(&b, &opts) == PS_OK, "create the memory backend");

    const char *subjects[] = {"jobs.>"};
    ps_stream_config sc = {.name = "JOBS", .subjects = subjects, .subjects_len = 1,
                           .retention = PS_RETENTION_WORKQUEUE};
    CHECK(ps_stream_add(b, &sc, NULL) == PS_OK, "create the stream");

    const char *jobs[] = {"resize-image", "send-email", "charge-card"};
    for (int i = 0; i < 3; i++)
        CHECK(ps_publish_data(b, "jobs.new", jobs[i], strlen(jobs[i]), jobs[i], NULL) == PS_OK,
              "publish a job");

    ps_consumer_config cc = {.durable = "worker", .ack_wait_ns = 30 * PS_NS_PER_SEC};
    ps_consumer *worker = NULL;
    CHECK(ps_consumer_add(b, "JOBS", &cc, &worker) == PS_OK, "create the durable consumer");

    ps_msg_list batch = {0};
    CHECK(ps_fetch_batch(worker, 10, 0, &batch) == PS_OK && batch.count == 3, "fetch 3 jobs");
    for (int i = 0; i < batch.count; i++)
        printf("delivered %-12.*s (delivery %llu)\n", (int)batch.msgs[i]->len,
               (const char *)batch.msgs[i]->data, (unsigned long long)batch.msgs[i]->meta.num_delivered);
    CHECK(ps_ack(batch.msgs[0], PS_ACK, 0) == PS_OK, "ack the first job");
    CHECK(ps_ack(batch.msgs[1], PS_NAK, 0) == PS_OK, "nak the second job");
    /* the third job's worker crashed: no ack at all */

    CHECK(ps_fetch_batch(worker, 10, 0, &batch) == PS_OK && batch.count == 1, "the nak'ed job comes back");
    printf("after nak: %.*s again (delivery %llu)\n", (int)batch.msgs[0]->len,
           (const char *)batch.msgs[0]->data, (unsigned long long)batch.msgs[0]->meta.num_delivered);
    CHECK(ps_ack(batch.msgs[0], PS_ACK, 0) == PS_OK, "ack it this time");

    CHECK(ps_fetch_batch(worker, 10, 0, &batch) == PS_ERR_TIMEOUT, "nothing before AckWait");
    ps_clock_advance(clock, 30 * PS_NS_PER_SEC); /* no sleep: the clock is ours */
    CHECK(ps_fetch_batch(worker, 10, 0, &batch) == PS_OK && batch.count == 1, "redelivered after AckWait");
    ps_msg *m = batch.msgs[0];
    printf("after 30 s: %.*s redelivered (delivery %llu)\n", (int)m->len, (const char *)m->data,
           (unsigned long long)m->meta.num_delivered);
    CHECK(m->meta.num_delivered == 2 && !strcmp(m->data, "charge-card"), "the crashed job, second delivery");
    CHECK(ps_ack(m, PS_ACK, 0) == PS_OK, "ack the redelivered job");

    ps_stream_info info = {0};
    CHECK(ps_stream_info_get(b, "JOBS", &info) == PS_OK && info.state.msgs == 0, "work queue is empty");
    printf("work queue empty: %llu messages left, last sequence %llu\n",
           (unsigned long long)info.state.msgs, (unsigned long long)info.state.last_seq);
    ps_stream_info_clear(&info);

    ps_msg_list_free(&batch);
    ps_consumer_free(worker);
    ps_backend_close(b);
    ps_clock_free(clock);
    printf("OK\n");
    return 0;
}
