/* engine.h — runs one scenario with one seed: the discrete-event loop that
 * drives the publishers, the workers, the faults (through the fault shim)
 * and the master database, then the checkers. On the memory backend it
 * runs in virtual time on a manual clock and a run is a pure function of
 * (scenario, seed); on another run target (sim_run_on: a real nats-server,
 * sim/real/) the same loop is held to that target's time.
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

#include "ps_backend.h"
#include "ps_clock.h"
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
    uint64_t user_failures;    /* the scenario's `expect sql` checks that failed */
    uint64_t dead_lettered;    /* jobs the worker layer dead-lettered (workers dead_letter=) */
    uint64_t not_dead_or_done; /* expect dead_or_done: jobs that ended neither way */
    uint64_t early;            /* expect not_early: deliveries handled before their Jetsim-Not-Before */
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
 * (":memory:" for none: then no trace rows are written, as no one could
 * read them; the trace hash is kept all the same) with `scenario_text`
 * recorded. Reports to `log`
 * (may be NULL). PS_OK whatever the verdict (it is in *out); an error for
 * a harness failure. */
ps_status sim_run(const sim_scenario *sc, const char *scenario_text, uint64_t seed, const char *db_path,
                  FILE *log, sim_result *out);

/* ---- run targets ------------------------------------------------------------
 *
 * Where a run happens: the broker it talks to, the clock it keeps and the
 * faults only that place can make real. A target is a table of functions
 * (sim_target_ops, the same pattern as the backend contract) behind a
 * struct sim_target that the target's own code embeds first. The engine
 * receives a target and never asks which one it has.
 *
 * Two exist: the memory model (sim_target_model_new below: a manual clock,
 * virtual time, deterministic) and a real nats-server (sim/real/, the
 * harness: spawned servers, proxies, a fault thread, real time). A target
 * runs one run at a time: open ... close, then it may be opened again.
 *
 * Threads: every function is called from the thread that called sim_run_on.
 * Times are virtual nanoseconds on the clock that open returned.
 */
typedef struct sim_target sim_target;

#define SIM_TARGET_OPS_VERSION 2

typedef struct sim_target_ops {
    int version;      /* SIM_TARGET_OPS_VERSION */
    const char *name; /* "model", "jetstream": for messages only */

    /* Opens the broker and the clock of one run of `sc` with `seed`;
     * reports progress to `log` (may be NULL). On success *backend and
     * *clock belong to the target until close (the engine wraps the
     * backend in its fault shim and reads the clock), and `where` holds
     * how the run database should describe the broker ("" for the default
     * model). Refuses (PS_ERR_INVALID_ARG naming the scenario line) a
     * scenario with faults this target cannot carry out. On failure close
     * still runs. */
    ps_status (*open)(sim_target *t, const sim_scenario *sc, uint64_t seed, FILE *log, ps_backend **backend,
                      ps_clock **clock, char *where, size_t where_len);
    /* Adapts a stream of the scenario before the engine adds it: replicas
     * clamped to what the target has (the model and a single server keep
     * one copy), a description that marks the stream as this run's. */
    void (*stream_config)(const sim_target *t, ps_stream_config *c);
    /* A scenario duration as the broker gets it (AckWait, BackOff, the
     * dedup window, MaxAge): the model takes it as written; a server held
     * to a time scale gets it divided. */
    int64_t (*scaled)(const sim_target *t, int64_t ns);
    /* The engine added the scenario's stream number `stream`, with status
     * `s`: returns `s`, or a status with a message that explains it
     * (someone else's stream with that name or those subjects). The
     * target notes which streams this run created (close deletes those
     * and no other). */
    ps_status (*stream_added)(sim_target *t, int stream, ps_status s);
    /* Streams and consumers are created: returns once they are usable,
     * or an error (PS_ERR_TIMEOUT, "interrupted" as PS_ERR_IO). */
    ps_status (*ready)(sim_target *t);
    /* Returns when the run's time has reached `at_ns` (the model sets its
     * clock there at once; a server waits for real time). PS_ERR_IO
     * "interrupted" when the user stopped the run. */
    ps_status (*wait_until)(sim_target *t, int64_t at_ns);
    /* The run's time now: the clock's on the model; on a server the time
     * real time has reached (a blocking client call may have moved past
     * the event being run). */
    int64_t (*now)(const sim_target *t);
    /* The latest time an idle worker must look at the broker again to see
     * what the broker does on its own (a redelivery after AckWait, a
     * BackOff step): the model knows its backend's next deadline; a
     * server's timers cannot be seen, so it answers now + a poll period.
     * INT64_MAX: nothing will ever be due. */
    int64_t (*next_due)(const sim_target *t, int64_t now);
    /* A fault of the scenario starts (end false) or its window closes:
     * true when the target carries it out itself (the engine then only
     * traces it), false when the engine is to (through its fault shim,
     * on its workers, on the master). */
    bool (*fault)(sim_target *t, int fault, bool end);
    /* No fault of the target's outlives this call: servers continued,
     * connections healed. The checks and the clean-up come next. */
    void (*end_faults)(sim_target *t);
    /* True when the broker cannot be reached any more (its servers were
     * stopped by an interrupt): the clean-up then does not wait for it. */
    bool (*gone)(const sim_target *t);
    /* Ends the run: deletes what the run created where that matters (a
     * server jetsim did not start), closes the backend, frees the clock,
     * stops threads and proxies. The target may be opened again. */
    void (*close)(sim_target *t);
    /* Frees the target (after close). */
    void (*free)(sim_target *t);
    /* -- version 2 -- */
    /* The clock the broker keeps its own times on, which a nak delay
     * counts on (delayed jobs' Jetsim-Not-Before is written and read on
     * it); owned by the target. NULL (the slot or the answer): the run's
     * clock, as on the model. */
    ps_clock *(*broker_clock)(const sim_target *t);
} sim_target_ops;

struct sim_target {
    const sim_target_ops *ops;
    /* A run here is not reproduced from its seed: the command that reruns
     * it, recorded in the run database for `jetsim replay` to show (NULL:
     * replay reproduces the run). */
    const char *replay_cmd;
};

/* The memory model as a target: virtual time on a manual clock from 0,
 * deterministic. Free with sim_target_free. */
ps_status sim_target_model_new(sim_target **out);
void sim_target_free(sim_target *t); /* NULL is ignored */

/* As sim_run, on `target` (NULL: the memory model). A run on a real server
 * is not deterministic; its trace hash is reported but means little.
 * Errors besides sim_run's are the target's (its open, ready, wait_until:
 * faults it cannot make real, a stream that exists already, a server that
 * cannot be reached, an interrupted run as PS_ERR_IO "interrupted"). The
 * detail of an error is in ps_last_error() on return, clean-up
 * notwithstanding. */
ps_status sim_run_on(const sim_scenario *sc, const char *scenario_text, uint64_t seed, const char *db_path,
                     FILE *log, sim_target *target, sim_result *out);

/* As sim_run, also recording out->hashes (free with free()). */
ps_status sim_run_recorded(const sim_scenario *sc, const char *scenario_text, uint64_t seed,
                           const char *db_path, FILE *log, sim_result *out);

#endif
