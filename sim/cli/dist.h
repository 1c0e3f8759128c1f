/* dist.h — swarms on several machines, over JetStream itself:
 * `jetsim swarm SCENARIO --seeds N --queue URL` and `jetsim agent --queue URL`.
 *
 * The swarm (the submitter) stores the scenario's text once, keyed by its
 * content hash, in stream JETSIM_SWARM_SCENARIOS (subject
 * jetsim.swarm.scn.<hash>, one message per subject: a key-value bucket
 * made of a plain stream), publishes one job per seed (asynchronously, a
 * window at a time, retrying those that failed) to the work-queue
 * stream JETSIM_SWARM_JOBS (subject jetsim.swarm.jobs.<run>, payload
 * "v1 <run> <seed> <hash>", Nats-Msg-Id "<run>.<seed>", so a retried
 * submission of the same run is dropped as a duplicate), then reads the
 * verdicts from stream JETSIM_SWARM_RESULTS (subject
 * jetsim.swarm.results.<run>, payload "v1 <seed> <verdict> <violation>")
 * through an ephemeral consumer, counts each seed once (an agent that was
 * killed after its verdict's PubAck and before its ack leaves the seed to
 * run again elsewhere: its second verdict is a duplicate by Nats-Msg-Id
 * within the window, and ignored by seed after it), and reports exactly as
 * a local swarm does (swarm.h).
 *
 * An agent pulls jobs with the library's own ps_worker (durable consumer
 * "jetsim-agents" on JETSIM_SWARM_JOBS, shared by every agent), runs the
 * seeds in K seed runners (seedrunner.h: a child process per scenario
 * that runs seed after seed, rather than a fork per seed), sends +WPI for
 * the seeds it holds every AckWait/3, publishes each verdict without
 * waiting (ps_publish_async), and acks the job only after the verdict's
 * PubAck, which it looks for after its next wait for the runners (a
 * verdict whose async publish failed is stored again the waiting way, or
 * its job naked). It fetches as many jobs as its runners have room for,
 * once there is room for two or a runner is about to run dry, rather
 * than one a fetch. While a runner's seeds are short
 * (its last under 1 s) the agent keeps one or two more jobs queued in it,
 * so that it goes on to the next seed at once while the agent stores a
 * verdict, acks and fetches. A killed agent loses nothing: every job it
 * held, running or queued, comes back after AckWait (its runners die with
 * it, PR_SET_PDEATHSIG). SIGINT/SIGTERM stop it cleanly: its runners are
 * killed and the jobs it holds are naked, so another agent takes them at
 * once.
 *
 * Every stream is created by whoever finds it missing (replicas as asked);
 * an existing one is used as it is. Handler libraries (--handlers) do not
 * travel: agents run the built-in handlers only, and swarm --queue with
 * --handlers is refused.
 *
 * Not: the local swarm (swarm.h), nor a scheduler (JetStream is).
 */
#ifndef SIM_CLI_DIST_H
#define SIM_CLI_DIST_H

#include <stdint.h>

#include "credentials.h"
#include "swarm.h"

#define SIM_DIST_JOBS_STREAM "JETSIM_SWARM_JOBS"
#define SIM_DIST_RESULTS_STREAM "JETSIM_SWARM_RESULTS"
#define SIM_DIST_SCENARIOS_STREAM "JETSIM_SWARM_SCENARIOS"
#define SIM_DIST_AGENTS "jetsim-agents"
/* The longest run id: it is a subject token and part of every msg id. */
#define SIM_DIST_RUN_ID_MAX 64

/* Where the queue is and how to use it. */
/* Whether `urls` (a --queue value) is one or more nats:// or tls:// URLs,
 * comma-separated, each with a host and, if it has one, a port from 1 to
 * 65535 (user:password@ allowed). False with what is wrong in why (which
 * names no credential). */
bool sim_dist_urls_ok(const char *urls, char *why, size_t cap);

typedef struct sim_dist_options {
    const char *url;              /* the server(s), comma-separated; NULL: $NATS_URL, else local */
    const sim_credentials *creds; /* loaded; NULL for none */
    int replicas;                 /* of streams this process creates; 0: 1 */
    /* swarm: the run's id (1..SIM_DIST_RUN_ID_MAX of A-Z a-z 0-9 _ -);
     * NULL: a new one. Submitting again with the same id adds no job twice
     * and collects the verdicts the first submission got. */
    const char *run_id;
    /* agent */
    int parallel;                 /* seeds run at once; 0: one per core */
    int64_t ack_wait_ns;          /* the agents' consumer's AckWait; 0: 30 s */
} sim_dist_options;

/* jetsim swarm --queue URL --withdraw RUN: withdraws (purges) the jobs of
 * run RUN that no agent has taken, says how many, and returns the exit
 * code (0; 2 for a bad run id; 4 when the server cannot do it). */
int sim_dist_withdraw(const char *run, const sim_dist_options *d);

/* `jetsim swarm PATH --queue`: seeds first..first+count-1. Returns the exit
 * code of sim_swarm (swarm.h); 4 also when the server cannot be reached or
 * a stream cannot be made, 130 on SIGINT/SIGTERM (this run's jobs not yet
 * taken are purged). Prints as sim_swarm, plus the run id. */
int sim_dist_swarm(const char *path, uint64_t first, uint64_t count, const sim_swarm_options *o,
                   const sim_dist_options *d);

/* `jetsim agent`: runs jobs until SIGINT or SIGTERM, then returns 0 after
 * naking what it held; 4 when the server cannot be reached, a stream or
 * the consumer cannot be made (said on stderr). */
int sim_dist_agent(const sim_dist_options *d);

#endif
