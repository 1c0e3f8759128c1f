/* demo.h — `jetsim demo`: a small job system run end to end on the memory
 * backend, until the simulator lands (see README).
 *
 * Not the simulator: no scenario language, no faults, no invariants
 * beyond "every job ends acked or terminated".
 */
#ifndef SIM_DEMO_H
#define SIM_DEMO_H

#include <stdint.h>
#include <stdio.h>

typedef struct demo_options {
    int jobs;           /* jobs to publish */
    int workers;        /* pulling workers on one durable */
    int batch;          /* fetch batch */
    double fail_rate;   /* chance a handler fails an attempt */
    uint64_t seed;
} demo_options;

typedef struct demo_result {
    long published, duplicates, delivered, redelivered, acked, naked, termed;
    long advisories;
    uint64_t left_in_stream;
    int64_t virtual_ns;
} demo_result;

/* Runs the demo; prints its progress to `out`. Returns 0 when every job
 * ended acked or terminated and the work queue is empty, 1 otherwise, 2 on
 * a harness error (message on `err`). */
int demo_run(const demo_options *o, demo_result *r, FILE *out, FILE *err);

#endif
