/* ps_sim.h — simulate your own job code: your handlers and your database,
 * under jetsim's faults, seeds and checks.
 *
 * You write handlers (ps_sim_handler) and, optionally, payload makers
 * (ps_sim_payload) and a database schema, and gather them in a module
 * (ps_sim_module). A scenario (the language of `jetsim run`, see the
 * README's "Simulating your own service") names them:
 *
 *   database schema=schema.sql              # the user's database, faulted
 *   service  gateway latency=20ms..160ms fail=1% timeout=150ms
 *   publish  charges.new rate=200/s count=2000 msg_id=job payload=charge
 *   workers  4 handler=charge_card
 *   at 10s   fail service gateway for 5s
 *   at 15s   slow service gateway 300ms for 5s
 *   at 20s   fail db 10% for 5s
 *   at 40s   power_loss db
 *   expect   no_loss sql "SELECT card FROM charges GROUP BY card HAVING count(*) > 1" empty
 *
 * and jetsim runs your code deterministically in virtual time on the
 * memory model (ps_sim_run, ps_sim_swarm here; `jetsim run|swarm|shrink|
 * replay SCENARIO --handlers ./libmysvc.so` from the command line), or in
 * real time on a real nats-server (`--backend jetstream --spawn`).
 *
 * How your handler is run. A worker receives a message and calls
 * handle(ctx, state, msg) at once; everything the handler does through
 * ctx happens then (its database statements, its service calls, its
 * follow-up publishes). The time it spends (ps_sim_sleep, service
 * latencies) moves ps_sim_now forward; its answer (ack, retry, term)
 * reaches the broker after that time. A crash of the worker in between
 * loses the answer: your database work is committed, the broker never
 * hears of it, and the job comes back (the classic double-processing
 * window). A crash discards the worker's state (teardown runs only to
 * free it), and init runs again when the worker restarts.
 *
 * Determinism: a run on the model is a pure function of (scenario, seed)
 * only if your code takes time from ps_sim_now, randomness from
 * ps_sim_rand, and does its I/O through ctx (the database connection,
 * services, publishes); it must not start threads or keep state outside
 * `state` (globals outlive a run and a crash). `jetsim run
 * --check-determinism` runs a seed twice and shows the first event where
 * the two runs part. Code loaded by the jetsim program (--handlers) that
 * calls clock_gettime, gettimeofday, time, rand, random or getrandom
 * itself gets the run's virtual time and the worker's seeded randomness
 * from them while it runs in a simulation; from ps_sim_run in your own
 * program those are the C library's (use ps_sim_now and ps_sim_rand).
 *
 * Threads: one run calls your functions from one thread, one call at a
 * time. A process may run several simulations one after another (a test
 * suite), not at once in one thread.
 */
#ifndef PS_SIM_H
#define PS_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "ps_api.h"
#include "ps_msg.h"
#include "ps_status.h"

PS_API_BEGIN

struct sqlite3;

/* One handler invocation's view of the simulation. Valid only during the
 * call it is passed to. */
typedef struct ps_sim_ctx ps_sim_ctx;

typedef enum ps_sim_answer {
    PS_SIM_ACK = 0, /* done: the message is acknowledged */
    PS_SIM_RETRY,   /* failed: nak, redelivered after `delay_ns` (0: at once) */
    PS_SIM_TERM,    /* give up: the message is terminated (counts as failed) */
    PS_SIM_DEFER,   /* no answer: the broker redelivers it after AckWait */
} ps_sim_answer;

typedef struct ps_sim_outcome {
    ps_sim_answer answer;
    int64_t delay_ns; /* PS_SIM_RETRY only */
} ps_sim_outcome;

typedef struct ps_sim_handler {
    const char *name; /* as the scenario names it: workers N handler=NAME */
    /* Per worker, when it starts and again after each crash: sets *state
     * (may stay NULL). Non-zero fails the worker's start (retried later,
     * counted as a harness error if it never starts). May be NULL. */
    int (*init)(ps_sim_ctx *ctx, void **state);
    /* At the end of the run; and when the worker crashes, to free `state`
     * only (the process is gone: ps_sim_db returns NULL, and nothing it
     * would do reaches anyone). May be NULL. */
    void (*teardown)(ps_sim_ctx *ctx, void *state);
    /* One delivery. msg->data and msg->len are the payload; msg->meta the
     * JetStream metadata (num_delivered: the attempt). Required. */
    ps_sim_outcome (*handle)(ps_sim_ctx *ctx, void *state, const ps_msg *msg);
} ps_sim_handler;

/* A payload maker (publish ... payload=NAME): writes job `job` (1, 2, ...;
 * `key` its ordering key or -1) into buf (cap bytes) and returns the
 * length, or -1 when it does not fit. Draw randomness from ps_sim_rand.
 * Without payload=, a job's payload is its number in decimal. */
typedef struct ps_sim_payload {
    const char *name;
    int (*make)(ps_sim_ctx *ctx, uint64_t job, int64_t key, char *buf, size_t cap);
} ps_sim_payload;

#define PS_SIM_MODULE_VERSION 1

/* What a shared library given to `jetsim --handlers` exports as
 * `const ps_sim_module *jetsim_module(void)` (PS_SIM_MODULE_SYMBOL), and
 * what ps_sim_run takes. */
typedef struct ps_sim_module {
    int version; /* PS_SIM_MODULE_VERSION */
    const ps_sim_handler *handlers;
    int nhandlers;
    const ps_sim_payload *payloads;
    int npayloads;
    /* The user's database, created fresh for each run (the scenario's
     * `database` line says it is used): SQL text run on it, or NULL (then
     * the scenario's schema=FILE); and/or a function run after it. */
    const char *schema;
    int (*db_init)(struct sqlite3 *db);
} ps_sim_module;

#define PS_SIM_MODULE_SYMBOL "jetsim_module"

/* ---- inside a handler -------------------------------------------------- */

/* The virtual time now, in nanoseconds since the run started. */
int64_t ps_sim_now(const ps_sim_ctx *ctx);
/* 64 random bits from the worker's seeded generator. */
uint64_t ps_sim_rand(ps_sim_ctx *ctx);
/* Spends `ns` of simulated time (work that takes 30 ms, a call that
 * blocks): ps_sim_now moves on, and the answer reaches the broker later. */
void ps_sim_sleep(ps_sim_ctx *ctx, int64_t ns);
/* The worker's connection to the user's database, or NULL when the
 * scenario has none. After a database power loss it is a new connection
 * to what survived. Do not close it. */
struct sqlite3 *ps_sim_db(ps_sim_ctx *ctx);
/* The worker's number (1-based) and the job the message carries (0 in
 * init and teardown). */
int ps_sim_worker(const ps_sim_ctx *ctx);
uint64_t ps_sim_job(const ps_sim_ctx *ctx);

/* Calls the scenario's service `service`. `key` is the request's
 * idempotency key (as payment gateways take one): the service acts at
 * most once per key and answers a repeat as it did the first time; NULL:
 * every call is a new request. Spends the call's latency. PS_OK: done.
 * PS_ERR_UNAVAILABLE: refused (its fail= rate, or a `fail service` fault):
 * nothing happened. PS_ERR_TIMEOUT: no answer within its timeout=, but the
 * service may have done it (it did when its latency exceeded the timeout:
 * the call returns at the timeout). Every call is recorded in the table
 * jetsim.service_calls(t_ns, service, key, worker, job, done) that `expect
 * sql` can read; done is 1 when the call made the service act (0 for a
 * refused call, and for a repeated key). PS_ERR_INVALID_ARG for
 * a service the scenario does not declare. */
ps_status ps_sim_call(ps_sim_ctx *ctx, const char *service, const char *key);
/* Publishes a follow-up message (a pipeline's next step) to `subject`
 * with `data` (len bytes) now, through the run's broker and its faults;
 * an idle worker of a consumer that takes it wakes. It is not one of the
 * run's numbered jobs: its handler sees ps_sim_job 0, and jetsim's own
 * checks (no_loss, attempts) do not follow it; check its effects with
 * expect sql. PS_OK, or the publish's failure. */
ps_status ps_sim_publish(ps_sim_ctx *ctx, const char *subject, const void *data, size_t len);

/* ---- running a simulation from C --------------------------------------- */

typedef struct ps_sim_config {
    const ps_sim_module *module;
    const char *scenario_path; /* a scenario file, or NULL with scenario_text */
    const char *scenario_text;
    const char *run_db;        /* jetsim's run database (trace, jobs); NULL: in memory */
} ps_sim_config;

typedef enum ps_sim_verdict { PS_SIM_PASS = 0, PS_SIM_SAFETY, PS_SIM_LIVENESS } ps_sim_verdict;

typedef struct ps_sim_result {
    ps_sim_verdict verdict;
    char violation[512];       /* the first failed check, "" when passed */
    uint64_t jobs_published, jobs_done, jobs_failed;
    uint64_t trace_hash;       /* the same (scenario, seed) gives the same hash */
    int64_t virtual_ns;        /* how long the run took in virtual time */
} ps_sim_result;

/* Runs the scenario once with `seed` on the memory model. PS_OK whatever
 * the verdict (in *out); PS_ERR_INVALID_ARG for a bad scenario (the
 * message names file:line:col) or a handler or payload the module lacks;
 * another status when the run could not happen. */
ps_status ps_sim_run(const ps_sim_config *cfg, uint64_t seed, ps_sim_result *out);

typedef struct ps_sim_swarm_result {
    uint64_t seeds, passed, safety, liveness;
    uint64_t first_failing_seed; /* 0 when none failed */
    ps_sim_result first_failure;
} ps_sim_swarm_result;

/* Runs seeds first..first+count-1, each with the scenario's faults mixed
 * for that seed (as `jetsim swarm` does), one after another in this
 * process. PS_OK whatever the verdicts. */
ps_status ps_sim_swarm(const ps_sim_config *cfg, uint64_t first, uint64_t count, ps_sim_swarm_result *out);

PS_API_END

#endif
