/* demo.c — the job system behind `jetsim demo` (see demo.h).
 *
 * Everything goes through the contract wrappers (ps_*) on a memory backend
 * and a manual clock. Workers poll in rounds; the clock moves a poll
 * interval after a round that did work, and jumps to the backend's next
 * deadline (AckWait expiry, BackOff step, nak delay) after a round that
 * found nothing, so hours of retries take milliseconds of CPU.
 *
 * This file is not: the publisher/worker layer of core/ (a job system built
 * on it comes with the simulator), nor a benchmark.
 */
#include "demo.h"

#include <stdlib.h>
#include <string.h>

#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_memory.h"
#include "ps_rand.h"

#define DEMO_STREAM "JOBS"
#define DEMO_SUBJECT "jobs.created"
#define DEMO_DURABLE "WORKERS"
#define DEMO_WORKERS 4
#define DEMO_BATCH 25
#define DEMO_MAX_DELIVER 5
#define DEMO_RETRY_RATE 0.05 /* publisher resends: its PubAck "got lost" */
#define DEMO_FAIL_RATE 0.10  /* handler fails: nak with delay */
#define DEMO_HANG_RATE 0.01  /* handler hangs: never answers */
#define DEMO_NAK_DELAY_NS (2 * PS_NS_PER_SEC) /* times the attempt number */
#define DEMO_POLL_NS (50 * PS_NS_PER_MS)
#define DEMO_PUBLISH_STEP_NS (100 * INT64_C(1000)) /* 10,000 jobs a second */

/* AckWait 30s. JetStream replaces AckWait by BackOff[0] when BackOff is set
 * (JS 5.1), so the steps start at 30s; MaxDeliver must exceed their number
 * (JS 5.2, 10116). */
static const int64_t demo_backoff_ns[] = {30 * PS_NS_PER_SEC, 60 * PS_NS_PER_SEC,
                                          120 * PS_NS_PER_SEC, 300 * PS_NS_PER_SEC};

typedef struct demo_state {
    ps_backend *b;
    ps_clock *clock;
    ps_consumer *consumer;
    ps_rand worker_rng[DEMO_WORKERS];
    unsigned char *acks; /* acks seen per job index, saturating */
    long jobs;
    demo_report *r;
    FILE *err;
} demo_state;

static int demo_fail(demo_state *st, const char *what, ps_status s)
{
    fprintf(st->err, "jetsim demo: %s: %s: %s\n", what, ps_status_name(s), ps_last_error());
    return 2;
}

/* Runs inside the backend: only counts, never calls back into it. */
static void demo_on_advisory(void *user, const ps_advisory *adv)
{
    demo_report *r = user;
    if (adv->kind == PS_ADV_MAX_DELIVERIES)
        r->exhausted++;
}

static int demo_setup(demo_state *st)
{
    const char *subjects[] = {"jobs.>"};
    ps_stream_config sc = {.name = DEMO_STREAM, .subjects = subjects, .subjects_len = 1,
                           .retention = PS_RETENTION_WORKQUEUE, .storage = PS_STORAGE_FILE};
    ps_status s = ps_stream_add(st->b, &sc, NULL);
    if (s != PS_OK)
        return demo_fail(st, "stream add", s);
    ps_consumer_config cc = {.durable = DEMO_DURABLE,
                             .ack_wait_ns = 30 * PS_NS_PER_SEC,
                             .max_deliver = DEMO_MAX_DELIVER,
                             .backoff_ns = demo_backoff_ns,
                             .backoff_len = (int)(sizeof demo_backoff_ns / sizeof demo_backoff_ns[0])};
    s = ps_consumer_add(st->b, DEMO_STREAM, &cc, &st->consumer);
    if (s != PS_OK)
        return demo_fail(st, "consumer add", s);
    return 0;
}

/* Job i is the message "job-<i>" with Nats-Msg-Id "job-<i>". */
static int demo_publish(demo_state *st, uint64_t seed)
{
    ps_rand rng = ps_rand_derive(seed, 0);
    char id[32];
    for (long i = 0; i < st->jobs; i++) {
        int len = snprintf(id, sizeof id, "job-%ld", i);
        int sends = 1 + ps_rand_chance(&rng, DEMO_RETRY_RATE);
        for (int k = 0; k < sends; k++) {
            ps_pub_ack pa;
            ps_status s = ps_publish_data(st->b, DEMO_SUBJECT, id, (size_t)len, id, &pa);
            if (s != PS_OK)
                return demo_fail(st, "publish", s);
            if (pa.duplicate)
                st->r->duplicates++;
            else
                st->r->published++;
        }
        ps_clock_advance(st->clock, DEMO_PUBLISH_STEP_NS);
    }
    return 0;
}

/* The handler of worker `w`: succeeds, fails (nak with a delay growing with
 * the attempt, or term on the last allowed attempt), or hangs. */
static int demo_handle(demo_state *st, int w, ps_msg *m)
{
    demo_report *r = st->r;
    uint64_t attempt = m->meta.num_delivered;
    r->delivered++;
    r->redelivered += attempt > 1;
    double u = ps_rand_double(&st->worker_rng[w]);
    ps_status s;
    if (u < DEMO_HANG_RATE) {
        r->hung++;
        return 0;
    }
    if (u < DEMO_HANG_RATE + DEMO_FAIL_RATE) {
        if (attempt >= DEMO_MAX_DELIVER) {
            s = ps_ack(m, PS_TERM, 0);
            r->terminated++;
        } else {
            s = ps_ack(m, PS_NAK, DEMO_NAK_DELAY_NS * (int64_t)attempt);
            r->naked++;
        }
        return s == PS_OK ? 0 : demo_fail(st, "nak/term", s);
    }
    s = ps_ack(m, PS_ACK, 0);
    if (s != PS_OK)
        return demo_fail(st, "ack", s);
    r->acked++;
    long job = strtol((const char *)m->data + 4, NULL, 10);
    if (job >= 0 && job < st->jobs && st->acks[job] < 255 && ++st->acks[job] > 1)
        r->acked_twice++;
    return 0;
}

/* Poll rounds until nothing is deliverable and nothing is timed. */
static int demo_drain(demo_state *st)
{
    ps_msg_list batch = {0};
    long max_rounds = st->jobs * 4 * DEMO_MAX_DELIVER + 1000;
    int rc = 0;
    for (long round = 0; rc == 0; round++) {
        if (round == max_rounds) {
            fprintf(st->err, "jetsim demo: still not drained after %ld polls\n", round);
            rc = 1;
            break;
        }
        int got = 0;
        for (int w = 0; w < DEMO_WORKERS && rc == 0; w++) {
            ps_status s = ps_fetch_batch(st->consumer, DEMO_BATCH, 0, &batch);
            if (s == PS_ERR_TIMEOUT || s == PS_ERR_NO_MESSAGES)
                continue;
            if (s != PS_OK) {
                rc = demo_fail(st, "fetch", s);
                break;
            }
            for (int i = 0; i < batch.count && rc == 0; i++)
                rc = demo_handle(st, w, batch.msgs[i]);
            got += batch.count;
            ps_msg_list_clear(&batch);
        }
        if (rc != 0)
            break;
        int64_t now = ps_clock_now(st->clock);
        if (got > 0) {
            ps_clock_advance(st->clock, DEMO_POLL_NS);
            continue;
        }
        int64_t next = ps_backend_next_deadline(st->b);
        if (next == INT64_MAX)
            break; /* nothing pending and nothing timed: done */
        ps_clock_set(st->clock, next > now ? next : now + DEMO_POLL_NS);
    }
    ps_msg_list_free(&batch);
    return rc;
}

static int demo_finish(demo_state *st)
{
    ps_stream_info info = {0};
    ps_status s = ps_stream_info_get(st->b, DEMO_STREAM, &info);
    if (s != PS_OK)
        return demo_fail(st, "stream info", s);
    st->r->stream_msgs_left = info.state.msgs;
    ps_stream_info_clear(&info);
    return 0;
}

int demo_run(const demo_options *o, demo_report *r, FILE *out, FILE *err)
{
    memset(r, 0, sizeof *r);
    demo_state st = {.jobs = o->jobs, .r = r, .err = err};
    fprintf(out, "jetsim demo: seed %llu, %ld jobs, %d workers, batch %d, "
                 "fail %.0f%%, hang %.0f%%, publisher retry %.0f%%, "
                 "AckWait 30s, BackOff 30s,1m,2m,5m, MaxDeliver %d\n",
            (unsigned long long)o->seed, o->jobs, DEMO_WORKERS, DEMO_BATCH,
            DEMO_FAIL_RATE * 100, DEMO_HANG_RATE * 100, DEMO_RETRY_RATE * 100,
            DEMO_MAX_DELIVER);
    if (o->jobs < 1) {
        fprintf(err, "jetsim demo: jobs must be at least 1\n");
        return 2;
    }
    st.clock = ps_clock_manual_new(0);
    st.acks = calloc((size_t)o->jobs, 1);
    if (!st.clock || !st.acks) {
        fprintf(err, "jetsim demo: out of memory\n");
        free(st.acks);
        ps_clock_free(st.clock);
        return 2;
    }
    for (int w = 0; w < DEMO_WORKERS; w++)
        st.worker_rng[w] = ps_rand_derive(o->seed, 1 + (uint64_t)w);

    int rc;
    ps_memory_options mo = {.clock = st.clock, .seed = o->seed};
    ps_status s = ps_memory_new(&st.b, &mo);
    if (s != PS_OK) {
        rc = demo_fail(&st, "memory backend", s);
        goto out;
    }
    ps_backend_set_advisory_handler(st.b, demo_on_advisory, r);
    int64_t t0 = ps_clock_now(st.clock);
    if ((rc = demo_setup(&st)) != 0 || (rc = demo_publish(&st, o->seed)) != 0)
        goto out;
    fprintf(out, "published %ld jobs (%ld resends dropped as duplicates)\n",
            r->published, r->duplicates);
    if ((rc = demo_drain(&st)) != 0 || (rc = demo_finish(&st)) != 0)
        goto out;
    r->virtual_ns = ps_clock_now(st.clock) - t0;
    if (r->acked + r->terminated + r->exhausted != r->published ||
        r->stream_msgs_left != (uint64_t)r->exhausted || r->acked_twice != 0)
        rc = 1;
out:
    ps_consumer_free(st.consumer);
    ps_backend_close(st.b);
    ps_clock_free(st.clock);
    free(st.acks);
    return rc;
}

void demo_report_print(const demo_report *r, FILE *out)
{
    char vt[64];
    ps_duration_format(r->virtual_ns, vt, sizeof vt);
    fprintf(out, "\n");
    fprintf(out, "  published              %10ld\n", r->published);
    fprintf(out, "  duplicates             %10ld   resends the stream dropped (Nats-Msg-Id)\n",
            r->duplicates);
    fprintf(out, "  delivered              %10ld   deliveries, redeliveries included\n",
            r->delivered);
    fprintf(out, "  redelivered            %10ld\n", r->redelivered);
    fprintf(out, "  acked                  %10ld   jobs completed\n", r->acked);
    fprintf(out, "  nak'ed                 %10ld   failed attempts, retried after a delay\n",
            r->naked);
    fprintf(out, "  hung                   %10ld   attempts never answered, back after AckWait/BackOff\n",
            r->hung);
    fprintf(out, "  terminated             %10ld   failed on attempt %d, given up\n",
            r->terminated, DEMO_MAX_DELIVER);
    fprintf(out, "  max deliveries         %10ld   left in the stream by MaxDeliver\n",
            r->exhausted);
    fprintf(out, "  acked twice            %10ld\n", r->acked_twice);
    fprintf(out, "  stream msgs left       %10llu\n", (unsigned long long)r->stream_msgs_left);
    fprintf(out, "  virtual time elapsed   %10s\n", vt);
}
