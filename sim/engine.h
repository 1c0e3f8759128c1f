/* engine.h — runs one scenario with one seed: the discrete-event loop that
 * drives the publishers, the workers, the faults (through the fault shim)
 * and the master database, then the checkers. On the memory backend it
 * runs in virtual time on a manual clock and a run is a pure function of
 * (scenario, seed); on a real nats-server (sim_run_on with a jetstream
 * target, real.c) the same loop is held to real time.
 *
 * Publishers (the ps_publisher layer) with rate, count, msg
 * ids and retries; workers (the ps_worker layer) with batches, handling times, failures, the
 * commit/ack order and idempotency; every fault of SIM_FAULTS
 * (scenario.h; a partitioned worker is cut off from the broker but not
 * from the master); the checks no_loss, no_double_completion, attempts<=N, dedup,
 * per_key_order and drained_within.
 *
 * This module is not: the scenario parser (scenario.h) nor the CLI.
 */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "scenario.h"

typedef enum sim_verdict {
    SIM_PASS = 0,
    SIM_SAFETY_VIOLATION, /* a job lost, completed twice, or over its attempts */
    SIM_LIVENESS_FAILURE, /* not drained within the scenario's bound */
} sim_verdict;

typedef struct sim_result {
    sim_verdict verdict;
    uint64_t jobs_published;   /* PubAck received */
    uint64_t publish_failures; /* given up after retries */
    uint64_t jobs_done, jobs_failed;
    uint64_t lost, double_completed, over_attempts, dedup_failures, order_failures;
    uint64_t first_bad_job;    /* the first job that broke a check, 0 if none */
    char first_violation[512];
    int64_t end_ns;            /* virtual time when the run ended */
    uint64_t events;
    uint64_t trace_hash;       /* a running 64-bit hash of every trace event */
    uint64_t trace_events;     /* how many trace events the hash covers */
    /* With sim_run_recorded: the running hash after each trace event
     * (owned by the caller: free it), to find where two runs part. */
    uint64_t *hashes;
    size_t nhashes;
} sim_result;

/* Runs `sc` with `seed`, writing the master database to `db_path`
 * (":memory:" for none) with `scenario_text` recorded. Reports to `log`
 * (may be NULL). PS_OK whatever the verdict (it is in *out); an error for
 * a harness failure. */
ps_status sim_run(const sim_scenario *sc, const char *scenario_text, uint64_t seed, const char *db_path,
                  FILE *log, sim_result *out);

/* Where a run happens. NULL (or .jetstream false): the memory model, in
 * virtual time, deterministic. Otherwise a real nats-server: `url` names an
 * existing one, or `servers` the ones jetsim spawned (then server faults
 * are made real: kill -9, SIGTERM, SIGSTOP); network faults go through a
 * loopback proxy per node. Durations the server sees (AckWait, BackOff,
 * the dedup window, MaxAge) and the run's own pace are divided by
 * `time_scale` (>= 1; 10 runs AckWait 30 s as 3 s). */
typedef struct sim_servers sim_servers;
typedef struct sim_credentials sim_credentials;
typedef struct sim_target {
    bool jetstream;
    const char *url;
    sim_servers *servers;
    double time_scale;
    const sim_credentials *creds; /* authentication and TLS for `url` (credentials.h); NULL: none */
    const char *ns;               /* the namespace the CLI put the scenario in (NULL: none); recorded
                                   * with the backend, not applied (sim_scenario_namespace does that) */
    /* the command that reruns this run on a server (recorded in the run
     * database for `jetsim replay`, which cannot reproduce it); may be NULL */
    const char *replay_cmd;
} sim_target;

/* As sim_run, on `target` (NULL: the memory model). A run on a real server
 * is not deterministic; its trace hash is reported but means little.
 * Errors besides sim_run's: the scenario has faults this target cannot
 * make real (PS_ERR_INVALID_ARG naming the line), a stream of the
 * scenario already exists on the server (PS_ERR_STREAM_NAME_IN_USE naming
 * the stream and the server), the server cannot be reached, or the run
 * was interrupted (PS_ERR_IO, "interrupted"). The detail of an error is
 * in ps_last_error() on return, clean-up notwithstanding.
 *
 * On a server jetsim did not spawn (`url`), a run deletes at its end the
 * streams it created and nothing else: it refuses to start when a stream
 * of the scenario exists, and a stream it did not create is never
 * deleted. The URL appears in the run database, the log and errors with
 * any password or token masked (ps_url.h). */
ps_status sim_run_on(const sim_scenario *sc, const char *scenario_text, uint64_t seed, const char *db_path,
                     FILE *log, const sim_target *target, sim_result *out);

/* As sim_run, also recording out->hashes (free with free()). */
ps_status sim_run_recorded(const sim_scenario *sc, const char *scenario_text, uint64_t seed,
                           const char *db_path, FILE *log, sim_result *out);

#endif
