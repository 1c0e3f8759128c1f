/* engine_internal.h — what the simulator's roles share: the run's state
 * (struct engine) and the few functions one role calls in another. Each
 * role has its own file: publishers.c, workers.c, faults.c, checkers.c;
 * engine.c owns set-up, the event loop and the trace.
 *
 * Not a public header: engine.h is.
 */
#ifndef SIM_ENGINE_INTERNAL_H
#define SIM_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine.h"
#include "events.h"
#include "master.h"
#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_rand.h"
#include "ps_publisher.h"
#include "ps_worker.h"
#include "user.h"
#include "workload.h"

enum { EV_PUBLISH, EV_WORKER, EV_COMMIT, EV_FAULT, EV_FAULT_END, EV_WAKE };

#define POLL_NS (50 * PS_NS_PER_MS)
/* The header that names a message's job when its data is the user's
 * payload (publish ... payload=NAME). */
#define SIM_JOB_HEADER "Jetsim-Job"
#define SIM_PAYLOAD_MAX 4096
/* Events per master transaction: a job row changed several times between
 * two commits is written once, so fewer commits are fewer writes (at
 * 4,096 most rows were written twice); a kill -9 loses at most this many
 * events of the record. */
#define COMMIT_EVERY 65536
#define DEFAULT_DRAIN_NS (600 * PS_NS_PER_SEC)

struct engine;

typedef struct worker {
    struct engine *eng;  /* for the worker layer's callbacks */
    const sim_workers *g;
    int ci;              /* consumer index */
    ps_consumer *c;      /* for consumer info (the checkers) */
    ps_worker *pw;       /* the application worker layer; NULL while crashed */
    ps_rand rng;
    int64_t crashed_until;
    int64_t crashed_at;  /* when it last crashed (its restart row says how long it was down) */
    bool partitioned;    /* cut off from the broker, not from the master */
    uint32_t epoch;
    bool crash_after_commit;
    bool crash_before_handle; /* the user's handler: dies as the next message arrives */
    int64_t crash_for_ns;     /* how long a crash point keeps it down */
    ps_sim_outcome answer;    /* the user's handler's answer, sent at its EV_COMMIT */
    int64_t slow_until, slow_ns;
    ps_msg **held;       /* deferred by the layer, waiting their turn (a ring) */
    int head, nheld, cap;
    ps_msg *cur;         /* being handled */
    int64_t version;     /* of the job being handled */
    bool idle;           /* its last poll found nothing: no event of its own until a wake */
    uint64_t idle_since; /* when it went idle, in the engine's idle order (the oldest pull is served first) */
} worker;

typedef struct pubstate {
    const sim_publisher *p;
    int64_t sent;        /* jobs started */
    int64_t count;       /* jobs to publish (a replay: its workload's, or fewer) */
    ps_publisher *pw;    /* the application publisher layer */
    ps_rand rng;
    /* a replay: the workload, its subjects after the transform, its other
     * headers, and when each message is due (from the start) */
    sim_workload wl;
    char **subjects;
    ps_headers **headers;
    int64_t *at_ns;
    ps_headers *jobhdr;  /* a user payload's Jetsim-Job header */
    /* whether consumer ci is owed this publisher's jobs, when its subject
     * is fixed (not a replay): matched once, not per job */
    bool owed_known;
    bool owed[SIM_MAX_CONSUMERS];
} pubstate;

typedef struct row {
    uint8_t owed, settled;
    uint8_t dead;             /* the worker layer dead-lettered it */
    uint8_t copies;           /* distinct stream sequences delivered: copies stored */
    uint64_t seq;             /* the first copy's stream sequence */
    uint64_t done_order;      /* 1, 2, ... in the order jobs were completed */
} row;

/* A second (third, ...) stored copy of a row's job: its stream sequence.
 * Rare (a dedup failure), so a flat list searched from the end. */
typedef struct row_copy {
    uint64_t row, seq;
} row_copy;

typedef struct engine {
    const sim_scenario *sc;
    FILE *log;
    ps_clock *clock;       /* the target's */
    ps_backend *inner, *b; /* the target's broker; b is the fault shim over it */
    sim_master *m;
    sim_events q;
    worker *w;
    int nw;
    pubstate pub[SIM_MAX_PUBLISHERS];
    int publishers_done;
    int nc;              /* consumers */
    uint8_t *acked;      /* per job */
    uint8_t *tries;      /* per job: publish attempts */
    uint32_t *pubidx;    /* per job: its publisher */
    uint64_t *pubseq;    /* per job: the stream sequence its PubAck named */
    uint32_t *msgidx;    /* per job: its place in its publisher's sequence (a replay's message) */
    int32_t *keys;       /* per job: its ordering key, -1 for none */
    int64_t *not_before; /* per job: its Jetsim-Not-Before on bclock, 0 for none */
    ps_clock *bclock;    /* the broker's clock (sim_target_ops.broker_clock) */
    uint64_t first_early_job; /* expect not_early: the first job handled before its time */
    int64_t first_early_ns;   /* ... and how early */
    int64_t wbackoff[SIM_MAX_WORKER_GROUPS][SIM_MAX_BACKOFF]; /* workers backoff=, scaled */
    char upayload[SIM_PAYLOAD_MAX]; /* a user payload being published */
    char *payload;       /* a replay's largest message */
    size_t payload_cap;
    row *rows;           /* per master row */
    row_copy *copies;    /* every stored copy of a row's job past its first */
    size_t ncopies, capcopies;
    uint64_t njobs, capjobs;
    int64_t open;        /* rows acked, owed and not settled */
    int db_fault_bp;
    ps_status db_fault_status;
    ps_rand rng;         /* the engine's own draws (db faults) */
    uint64_t seed;       /* the run's: draws that must not depend on who draws them first */
    int64_t quiet_after; /* last publish or fault end */
    int64_t base;        /* the clock at the run's start: scenario times count from it */
    sim_result *res;
    uint64_t since_commit;
    bool record;
    bool keep_trace;     /* trace rows in the master (a run database on disk); the hash is always kept */
    bool job_headers;    /* a message may name its job in a Jetsim-Job header (a user's payload, a
                          * workload's captured headers); else its data alone does, and the
                          * workers need not decode headers */
    size_t caphashes;
    uint64_t completions;   /* for row.done_order */
    ps_consumer_config ccfg[SIM_MAX_CONSUMERS]; /* as created (durations scaled) */
    int64_t backoff[SIM_MAX_CONSUMERS][SIM_MAX_BACKOFF];
    sim_target *t;          /* where the run happens (engine.h): the model or a server */
    sim_user *user;         /* the user's handlers, database and services (user.h); NULL: none */
    int nidle;              /* workers idle until a wake */
    uint64_t idle_order;    /* counts workers going idle: their idle_since */
    int64_t wake_at;        /* the pending EV_WAKE's time; INT64_MAX: none */
    int64_t woke_at;        /* the time of the last EV_WAKE run; INT64_MIN: none */
    ps_status err;          /* the first harness failure inside an event (eng_fail) */
    char err_msg[256];
} engine;

/* publishers.c: frees the per-job arrays (acked ... rows) */
void eng_jobs_free(engine *e);

/* engine.c */
void eng_trace(engine *e, sim_trace_kind kind, uint64_t job, int worker_id, int64_t arg);
uint64_t eng_row_of(const engine *e, uint64_t job, int ci);
/* The run's time now (the target's now): on the model the clock's, which
 * moves only between events; on a server the time real time has reached,
 * which a blocking client call may have moved past the event's. */
int64_t eng_now(const engine *e);
/* A scenario duration as the broker gets it (the target's scaled). */
int64_t eng_scaled(const engine *e, int64_t ns);
/* The other way: a duration on the broker's clock (bclock) as scenario
 * time, as the trace keeps every time; the model's is the same. */
int64_t eng_unscaled(const engine *e, int64_t broker_ns);
/* The engine wakes a worker only when it may find something: a worker
 * whose poll found nothing goes idle (eng_idle) and has no event of its
 * own until a publish owed to its consumer wakes the longest idle worker
 * of that consumer (eng_wake, ci >= 0: as the server serves its oldest
 * waiting pull), a fault starts or ends (every idle worker: ci < 0), or
 * the target's next_due comes (a redelivery after AckWait, a BackOff
 * step; the loop schedules that wake after every event). */
void eng_idle(engine *e, worker *w);
void eng_wake(engine *e, int ci);
void eng_settle(engine *e, uint64_t r);
/* A failure of the run itself inside an event (out of memory in the
 * engine, the master, the worker or publisher layer): the first one ends
 * the run as a harness error once the event returns, instead of being
 * ridden out like a broker fault. PS_OK is ignored. */
void eng_fail(engine *e, ps_status s);
/* sim_events_push, a failure going to eng_fail (a lost event would stall
 * an actor for good). */
void eng_push(engine *e, int64_t at_ns, int kind, int actor, uint64_t arg);

/* publishers.c: set-up (a replay reads its workload), one publish event
 * (job 0: the publisher's next new job), clean-up */
ps_status eng_publishers_setup(engine *e, uint64_t seed);
ps_status eng_on_publish(engine *e, int pi, uint64_t job);
void eng_publishers_free(engine *e);

/* workers.c: set-up and clean-up; a worker's poll or next message; a
 * handled message's end; crash and partition */
ps_status eng_workers_setup(engine *e, worker *w);
void eng_workers_free(worker *w);
void eng_partition(engine *e, worker *w, bool on);
void eng_crash(engine *e, worker *w, int64_t until);
void eng_on_worker(engine *e, int wi);
void eng_on_commit(engine *e, int wi, uint64_t arg);

/* faults.c: a fault starts (end false) or its window closes (end true) */
void eng_on_fault(engine *e, int fi, bool end);

/* checkers.c: the scenario's expectations over the master and backend */
void eng_check(engine *e);


#endif
