/* dist_internal.h — what dist_common.c gives the swarm side (dist_swarm.c)
 * and the agent side (dist_agent.c) of the distributed swarm. Internal to
 * the command line; dist.h is the interface.
 */
#ifndef SIM_DIST_INTERNAL_H
#define SIM_DIST_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dist.h"
#include "ps_backend.h"
#include "ps_publisher.h"

#define SUBJ_JOBS "jetsim.swarm.jobs"
#define SUBJ_RESULTS "jetsim.swarm.results"
#define SUBJ_SCN "jetsim.swarm.scn"
#define NS_PER_S INT64_C(1000000000)
#define DAY_NS (INT64_C(86400) * NS_PER_S)
/* A scenario travels in one message: the server's default max_payload. */
#define SCENARIO_MAX (1024 * 1024)
/* How long a collector's or an idle agent's wait lasts before it looks
 * at the signal flag again: a signal may land on one of cnats's threads
 * and interrupt nothing. */
#define WAIT_MS 100

/* The SIGINT or SIGTERM caught (dist_catch_stop_signals), 0 before. */
extern volatile sig_atomic_t dist_stop_signal;
/* SIGINT and SIGTERM set dist_stop_signal instead of ending the process,
 * so that the jobs held or queued are handed back first. */
void dist_catch_stop_signals(void);
/* CLOCK_MONOTONIC in seconds. */
double dist_now_s(void);
/* 64-bit FNV-1a of text, as 16 hex digits and a NUL. */
void dist_content_hash(const char *text, size_t len, char out[17]);
/* A run id: 1 to SIM_DIST_RUN_ID_MAX of A-Z a-z 0-9 _ - (a subject token). */
bool dist_run_id_ok(const char *id);
/* A new run id: the UTC time and a random suffix. */
void dist_new_run_id(char *out, size_t cap);
/* Connects as `name` to d's URL (or NATS_URL, or the local default);
 * `shown` receives the URL without secrets. */
ps_status dist_connect(const sim_dist_options *d, const char *name, ps_backend **out, char *shown, size_t cap);
/* What a JetStream API request fails with for a moment while a cluster
 * elects a leader or is slow to answer. */
bool dist_transient(ps_status s);
/* Sleeps 200 ms before try i (< tries) of something transient; false when
 * the tries are used up or a stop signal came. */
bool dist_retry_pause(int i, int tries);
/* The jobs, results and scenarios streams, created if missing (retrying
 * what a cluster refuses for a moment, up to a minute). */
ps_status dist_ensure_streams(ps_backend *b, int replicas);
/* A publisher that retries leader changes and lost PubAcks. */
ps_status dist_new_publisher(ps_backend *b, ps_publisher **out);
/* ps_publisher_publish, also retrying "no responders" for up to 10 s. */
ps_status dist_publish(ps_publisher *pub, const ps_out_msg *m, ps_pub_ack *ack);
/* Closes b without losing the reason of a failure to the close. */
void dist_close_keeping_error(ps_backend *b);

#endif
