/* user.h — the user's own job code in a run (ps_sim.h): their handlers
 * called by the engine's workers, their database opened per worker
 * through jetsim's faulting VFS (dbvfs.h), the scenario's simulated
 * services with their ledger, payload makers, follow-up publishes, and
 * the scenario's `expect sql` checks at the end.
 *
 * The engine owns one sim_user per run (NULL when the scenario uses none
 * of this). Everything is deterministic given the seed and the clock.
 *
 * Not: the engine's workers (workers.c calls in here), nor the public API
 * (ps_sim.h; run.c implements ps_sim_run over the engine).
 */
#ifndef SIM_USER_H
#define SIM_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ps_clock.h"
#include "ps_msg.h"
#include "ps_sim.h"
#include "scenario.h"

typedef struct sim_user sim_user;

/* What a handler's follow-up publish asks of the engine: publish now,
 * as a new job of the run; its number in *job. */
typedef ps_status (*sim_user_publish_fn)(void *engine, const char *subject, const void *data, size_t len,
                                         uint64_t *job);

/* True when the scenario uses the user's code (a handler, a payload
 * maker, a database or a service). */
bool sim_user_needed(const sim_scenario *sc);

/* Opens what the scenario uses for a run of `nworkers` workers (numbered
 * 0..nworkers-1 here; worker_group[i] is worker i's group): the module's
 * handlers and payloads looked up by name (PS_ERR_INVALID_ARG naming the
 * scenario line and what the module has), the user's database created
 * from the schema (an error in it names the statement), the services.
 * `clock` and `base` give the run's time. */
ps_status sim_user_open(sim_user **out, const sim_scenario *sc, uint64_t seed, ps_clock *clock, int64_t base,
                        int nworkers, const int *worker_group, sim_user_publish_fn publish, void *engine);

/* Tears down every live worker's state (teardown), closes the database
 * connections, frees the VFS. NULL is ignored. */
void sim_user_close(sim_user *u);

/* Worker wi starts or restarts: a fresh connection and init. A non-zero
 * init is PS_ERR_INTERNAL naming the handler. */
ps_status sim_user_worker_start(sim_user *u, int wi);

/* Worker wi crashed: its state is dropped without teardown, its
 * connection closed (an open transaction rolls back). */
void sim_user_worker_crash(sim_user *u, int wi);

/* From now on worker wi dies at its n-th row write (INSERT, UPDATE or
 * DELETE) to the user's database: that statement and every later one of
 * the handler fail, nothing of the transaction commits. 0 disarms. */
void sim_user_crash_at_write(sim_user *u, int wi, int64_t n);

typedef struct sim_user_answer {
    ps_sim_outcome outcome;
    int64_t elapsed_ns; /* the time the handler spent */
    bool crashed;       /* it hit its crash-at-write point: the worker is dead */
} sim_user_answer;

/* Calls worker wi's handler on message m (job `job`) at time `now`. */
void sim_user_handle(sim_user *u, int wi, uint64_t job, const ps_msg *m, int64_t now, sim_user_answer *out);

/* Publisher pi's payload for `job` (its key or -1) into buf; PS_OK with
 * *len set, or PS_ERR_INVALID_ARG when the maker failed or overflowed. */
ps_status sim_user_payload(sim_user *u, int pi, uint64_t job, int64_t key, int64_t now, char *buf, size_t cap,
                           size_t *len);
bool sim_user_has_payload(const sim_user *u, int pi);

/* Faults on the user's database: every read, write and sync fails with
 * probability bp basis points (fail db), or lock attempts return
 * SQLITE_BUSY (lock db); 0 ends it. A power loss of the database host
 * reverts every file to what was synced and kills every connection (each
 * worker gets a new one at its next call). */
void sim_user_db_fail(sim_user *u, bool lock, int bp);
void sim_user_power_loss(sim_user *u);

/* Service si (the scenario's order) refuses every call while on; or
 * takes extra_ns longer to answer every call (0: back to normal). */
void sim_user_service_down(sim_user *u, int si, bool on);
void sim_user_service_slow(sim_user *u, int si, int64_t extra_ns);

/* The context of the user's function (handler, init, teardown, payload
 * maker) running on this thread now, or NULL: what lets the jetsim
 * program hand the wall clock and rand() of handler code that calls them
 * directly the run's virtual time and seeded randomness
 * (sim/cli/interpose.c). */
ps_sim_ctx *sim_user_current(void);
/* The virtual time as a wall-clock reading (ns since the epoch). */
int64_t sim_user_wall_ns(const ps_sim_ctx *ctx);

/* Runs the scenario's `expect sql` checks against the user's database
 * (with the service ledger as jetsim.service_calls). The first failing
 * one is written into `violation` (naming its line and, for rows that
 * should not exist, the first few) and *failed set; *job is the job its
 * first unwanted row names (a first column named job holding a job
 * number), else 0. PS_OK unless a check could not run (a bad query:
 * PS_ERR_INVALID_ARG naming the line). */
ps_status sim_user_check(sim_user *u, char *violation, size_t cap, bool *failed, uint64_t *job);

#endif
