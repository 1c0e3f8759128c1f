/* master.h — the job system's master database, in SQLite: what the
 * simulated system believes about its jobs (state, attempts, completions),
 * its workers (heartbeats, leases), and the trace of the run, next to the
 * scenario text and the seed that produced it. Invariants are SQL queries
 * over it, so a failed run can be opened with `sqlite3` and questioned.
 *
 * Updates are version-checked, as a job system's are: a job's row carries
 * a version, and a change names the version it read; a stale change
 * (another worker got there first) changes nothing and says so.
 *
 * Writes are batched: everything since the last sim_master_commit is one
 * transaction (a run commits every 65,536 events, and at the end),
 * and rows go out 64 to a statement. An in-memory mirror of each job's
 * row decides every change (the version check included) and answers the
 * checks without reading back; changed rows are written behind, as
 * upserts that only move a row's version forward, before each commit
 * (a database in memory, which only this process can read: when it is
 * read, through sim_master_db or sim_master_job_stored).
 * Read the tables after sim_master_commit.
 *
 * Faults: sim_master_set_fault makes the next write fail as a database
 * would (I/O error, or a lock held too long); the failed write changes
 * nothing.
 *
 * The schema (README: Simulating a job system, has the same as a table):
 *   run(scenario, seed, backend, mix, finished, verdict, first_violation,
 *       trace_hash, trace_events, replay, start_ns, consumers,
 *       first_bad_job): one row; start_ns is the clock at the run's start,
 *       first_bad_job the job the first violation names (NULL: none);
 *   jobs(id, key, state, attempts, completions, version, published_ns,
 *       done_ns, for_consumer): a row per job and consumer, id =
 *       (job-1)*consumers + consumer + 1 (consumer 0-based); for_consumer
 *       0: the consumer's filter does not take the job;
 *   workers(id, heartbeat_ns, lease_until_ns);
 *   trace(t_ns, kind, job, worker, arg): integers only, its columns fixed
 *       (the trace hash is over the same five values); job is the job
 *       number in publish and publish_failed rows, 0 in fault rows, the
 *       jobs row id in the others; worker is 1-based (-1: a publisher, 0:
 *       no worker); arg by kind: publish the stream sequence,
 *       publish_failed the try, deliver the stream's delivery count
 *       (num_delivered: deliveries no handler saw count too),
 *       commit and stale the version, fault its sim_fault_kind, unsent
 *       the answer's ps_ack_kind, nak 1 when the commit was refused, ack
 *       its sim_ack_fate (0 it reached the server, 1 lost, 2 or 3 turned
 *       into a NAK or a TERM),
 *       dead_letter 1 when the handler termed it (0 max_deliver), early
 *       how early, delayed how long the job is held back and restart
 *       how long the worker was down (ns; a restart row's job is 0). Every
 *       time, t_ns and the durations in arg, is the scenario's: a run on
 *       a server held to a time scale records real time times the scale;
 *   workloads(publisher, path, hash);
 *   faults(fault, kind, at_ns, duration_ns, worker, pct, line): the run's
 *       faults as it had them (a seed's mix drawn), times from the start;
 *   trace_kinds, job_states, fault_kinds, ack_kinds (kind|state, name):
 *       the names of the integers above;
 *   views: trace_named (trace with kind names); story (trace for people:
 *       t_s from the run's start, kind by name, job number, row,
 *       consumer, worker, and arg split into stream_seq, tries,
 *       delivery (the stream's count), attempt (the row's deliveries to a
 *       handler so far, as jobs.attempts counts them), version, fault,
 *       unsent); jobs_named (jobs with job, consumer, state by name,
 *       published_s, done_s); faults_named. The views number consumers
 *       from 1 in scenario order (consumer 1 is the jobs rows' consumer
 *       0), as explain and the HTML report do.
 *
 * This module is not: the checkers (they query it) nor the workers (they
 * call it through the application's own logic).
 */
#ifndef SIM_MASTER_H
#define SIM_MASTER_H

#include <stdbool.h>
#include <stdint.h>

#include "ps_status.h"

typedef struct sim_master sim_master;

typedef enum sim_job_state {
    SIM_JOB_PUBLISHED = 0, /* the publisher has its PubAck */
    SIM_JOB_RUNNING,       /* a worker claimed an attempt */
    SIM_JOB_DONE,          /* a worker committed its result */
    SIM_JOB_FAILED         /* given up (terminated, or out of attempts) */
} sim_job_state;

/* A state's name, as the job_states table and the views give it
 * ("running"); "?" for a value out of range. */
const char *sim_master_state_name(sim_job_state state);

/* Kinds of trace events; stored as integers, named in the trace view. */
typedef enum sim_trace_kind {
    SIM_TR_PUBLISH = 0, SIM_TR_PUBLISH_FAILED, SIM_TR_DELIVER, SIM_TR_START, SIM_TR_COMMIT,
    SIM_TR_STALE, SIM_TR_ACK, SIM_TR_NAK, SIM_TR_TERM, SIM_TR_FAULT, SIM_TR_DB_ERROR,
    SIM_TR_UNSENT, /* an ack/nak/term a partitioned worker could not send (arg: its ps_ack_kind) */
    SIM_TR_DEAD,   /* the worker layer dead-lettered it (arg: 0 max_deliver, 1 term) */
    SIM_TR_EARLY,  /* handed to a handler before its Jetsim-Not-Before (arg: how early, ns) */
    SIM_TR_DELAYED, /* published as a delayed job (arg: how long it is held back from its PubAck, ns) */
    SIM_TR_RESTART, /* a crashed worker is back (job 0; arg: how long it was down, ns) */
    SIM_TR_KIND_COUNT
} sim_trace_kind;

/* An ack row's arg: what became of the ack on its way (the fault shim's
 * drop acks, nak storm, term storm). */
typedef enum sim_ack_fate {
    SIM_ACK_ARRIVED = 0, SIM_ACK_LOST, SIM_ACK_AS_NAK, SIM_ACK_AS_TERM
} sim_ack_fate;

/* Opens (creating) a run database at `path` (":memory:" for none on
 * disk; an existing run database or empty file is replaced), records the
 * scenario text and the seed, and begins the first batch. PS_ERR_IO naming
 * the path when SQLite cannot open or write it; PS_ERR_INVALID_ARG, the
 * file untouched, when `path` exists and is not a run database. */
ps_status sim_master_open(sim_master **out, const char *path, const char *scenario_text, uint64_t seed);

/* Records where the run happened (the run table's backend column,
 * "memory" until set), e.g. "jetstream nats://127.0.0.1:4222". */
ps_status sim_master_set_backend(sim_master *m, const char *backend);

/* What a replay needs besides the scenario text and seed: whether the run
 * drew the seed's fault mix (sim_scenario_mix: `jetsim run --mix`, swarm)
 * and, for a run a replay on the model cannot reproduce (a real server),
 * the command that reruns it (NULL: none). */
ps_status sim_master_set_replay(sim_master *m, bool mix, const char *replay_cmd);

/* A workload file publisher `publisher` (0-based) read, by its absolute
 * path and the hash of its content (a replay refuses a changed file). */
ps_status sim_master_add_workload(sim_master *m, int publisher, const char *path, uint64_t hash);

/* The hash sim_master_add_workload records: 64-bit FNV-1a of the file's
 * bytes. PS_ERR_INVALID_ARG when it cannot be opened, PS_ERR_IO on a read
 * error (ps_last_error() names the file). */
ps_status sim_master_file_hash(const char *path, uint64_t *out);

/* What reading the trace needs: the clock at the run's start (the
 * views' relative times count from it) and the number of consumers
 * (trace and jobs rows are per job and consumer). */
ps_status sim_master_set_origin(sim_master *m, int64_t start_ns, int consumers);

/* The run's fault `fault` (0-based, in scenario order, after the seed's
 * mix if any): its sim_fault_kind, start and duration (0: none) counted
 * from the run's start, worker (0: not a worker fault), percentage in
 * basis points (0: none) and scenario line. */
ps_status sim_master_add_fault(sim_master *m, int fault, int kind, int64_t at_ns, int64_t duration_ns, int64_t worker,
                               int bp, int line);

/* The job named by the first violation (0: none, or a check that names no
 * job, as `expect sql` does): run.first_bad_job, where `jetsim explain`
 * starts. */
ps_status sim_master_set_first_bad_job(sim_master *m, uint64_t job);

/* The run ended: commits everything pending, then records the verdict
 * ("pass", "safety", "liveness"), the first violation (NULL or "": none),
 * the trace hash and the number of trace events, and marks the run
 * finished. A database whose run.finished is 0 is a run that was killed
 * or failed before its end: readable, holding every committed batch. */
ps_status sim_master_finish(sim_master *m, const char *verdict, const char *first_violation, uint64_t trace_hash,
                            uint64_t trace_events);

/* Commits what is pending and closes; NULL is fine. */
void sim_master_close(sim_master *m);

/* Commits the current batch and begins the next. */
ps_status sim_master_commit(sim_master *m);

/* A new job with its key (-1: none), published at t_ns. Job ids are
 * dense from 1. for_consumer: the row's consumer is owed the job (its
 * stream stores the subject and its filter, if any, takes it); a row
 * that is not stays published and is no job of that consumer's
 * (jobs.for_consumer 0). */
ps_status sim_master_job_add(sim_master *m, uint64_t job, int64_t key, int64_t t_ns, bool for_consumer);

/* Claims an attempt: attempts+1, state RUNNING, version+1. *version gets
 * the job's new version (the one a later commit must name). */
ps_status sim_master_job_start(sim_master *m, uint64_t job, int worker, int64_t t_ns, int64_t *version);

/* Commits the job's result if its version is still `version`: state DONE,
 * completions+1 (a second completion of a DONE job is allowed through: the
 * checker counts it). *applied says whether the version matched. */
ps_status sim_master_job_complete(sim_master *m, uint64_t job, int worker, int64_t version,
                                  int64_t t_ns, bool *applied);

/* Marks a job FAILED (terminated or out of attempts). */
ps_status sim_master_job_fail(sim_master *m, uint64_t job, int64_t t_ns);

/* A worker's heartbeat, renewing its lease until t_ns + lease_ns. */
ps_status sim_master_heartbeat(sim_master *m, int worker, int64_t t_ns, int64_t lease_ns);

/* Appends a trace row (kept even when a fault fails the write it
 * describes: the trace is the harness's, not the system's). */
ps_status sim_master_trace(sim_master *m, int64_t t_ns, sim_trace_kind kind, uint64_t job, int worker,
                           int64_t arg);

/* Fault hook: the next `count` writes fail with `status` (PS_ERR_IO: a
 * write error; PS_ERR_TIMEOUT: a lock held past the busy timeout). */
void sim_master_set_fault(sim_master *m, ps_status status, int count);

/* The mirror's view of a job (no SQL): state, attempts, completions. */
typedef struct sim_job_view {
    sim_job_state state;
    int attempts, completions;
    int64_t version;
    int64_t key;
} sim_job_view;
bool sim_master_job_view(const sim_master *m, uint64_t job, sim_job_view *out);

/* The jobs row `id` as the database holds it (SQL: commit first), for
 * what a report quotes: the record a user opens is the one source. */
ps_status sim_master_job_stored(sim_master *m, uint64_t id, sim_job_view *out);

/* Number of jobs added so far. */
uint64_t sim_master_jobs(const sim_master *m);

/* The SQLite handle, for checkers' queries (commit first). A database in
 * memory gets its job rows here (and in sim_master_job_stored), not at
 * each commit: no one else can read it. NULL: writing them failed
 * (ps_last_error says why). */
struct sqlite3 *sim_master_db(sim_master *m);

#endif
