/* demo.h — `jetsim demo`: a small job system run end to end on the
 * simulator's engine, on the memory model, in virtual time.
 *
 * The demo is a scenario like any other (demo_scenario writes it; the
 * command prints it first, so a user can copy it into a file and change
 * it): a publisher sends N jobs with message ids at 10,000 a second, and
 * 5% of its PubAcks get lost in the first 30 s (it retries: the stream
 * drops the resends as duplicates); four workers pull batches of 25 from
 * one durable consumer on a work-queue stream (AckWait 30s, BackOff
 * 30s,1m,2m,5m, MaxDeliver 5); the handler fails 10% of attempts (nak; on
 * the 5th the job is terminated) and 1% of acks get lost in the first
 * 30 s (the job comes back after AckWait and BackOff). The checks: no job
 * lost, none completed twice, none stored twice, at most 5 attempts, all
 * drained within an hour. The run is a pure function of (N, seed).
 *
 * Not: the engine (engine.h) nor the report (report.h).
 */
#ifndef SIM_DEMO_H
#define SIM_DEMO_H

#include <stddef.h>
#include <stdint.h>

/* Writes the demo's scenario for `jobs` jobs into buf (a few hundred
 * bytes; truncated to cap like snprintf). Returns the length snprintf
 * would have written. */
int demo_scenario(char *buf, size_t cap, long jobs);

/* Prints the scenario, runs it with `seed` and reports as `jetsim run`
 * does; returns jetsim's exit code for the verdict. */
int demo_run(long jobs, uint64_t seed);

#endif
