/* demo.h — `jetsim demo`: a small job system run end to end on the memory
 * backend and a manual clock, through the contract wrappers only.
 *
 * A publisher sends N jobs with message ids (and retries a few, as a client
 * whose PubAck got lost would); workers pull them in batches from one
 * durable consumer on a work-queue stream (AckWait 30s, MaxDeliver 5,
 * BackOff); the handler fails now and then (nak with delay) or hangs
 * (no ack: AckWait and BackOff bring the job back). The run is a pure
 * function of (jobs, seed).
 *
 * This module is not: the simulator (no scenario language, no fault
 * schedule, no SQLite database). It checks one thing: every job ends
 * acked, terminated, or parked by MaxDeliver, and no job is acked twice.
 */
#ifndef SIM_DEMO_H
#define SIM_DEMO_H

#include <stdint.h>
#include <stdio.h>

typedef struct demo_options {
    long jobs;     /* jobs to publish, >= 1 */
    uint64_t seed; /* run seed: the publisher and each worker derive theirs */
} demo_options;

typedef struct demo_report {
    long published;    /* jobs stored (first publish of each id) */
    long duplicates;   /* retried publishes the stream dropped as duplicates */
    long delivered;    /* deliveries, first ones and redeliveries */
    long redelivered;  /* deliveries with num_delivered > 1 */
    long acked;        /* jobs completed (+ACK) */
    long naked;        /* failed attempts returned with a nak delay */
    long hung;         /* attempts never answered (redelivered after AckWait) */
    long terminated;   /* jobs given up on their last attempt (+TERM) */
    long exhausted;    /* jobs that reached MaxDeliver (advisory) */
    long acked_twice;  /* must stay 0 */
    uint64_t stream_msgs_left;
    int64_t virtual_ns; /* manual-clock time from the first publish to the end */
} demo_report;

/* Runs the demo. Prints the parameters line first and progress to `out`,
 * harness errors to `err`. Fills *r in every case. Returns 0 when the
 * check holds, 1 when it does not, 2 on a harness error (a status other
 * than the expected ones from the library). */
int demo_run(const demo_options *o, demo_report *r, FILE *out, FILE *err);

/* Prints the summary table of a run. */
void demo_report_print(const demo_report *r, FILE *out);

#endif
