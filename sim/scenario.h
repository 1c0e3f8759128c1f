/* scenario.h — the simulator's scenario language: a parsed scenario, the
 * parser that reports every error as `file:line:col: what was expected`,
 * and the writer that prints a scenario back in canonical form (what
 * `jetsim shrink` writes out).
 *
 * The language is line-oriented; `#` starts a comment; a statement is a
 * keyword, positional words, then `key=value` options in any order:
 *
 *   stream   NAME subjects=S[,S...] [retention=limits|interest|workqueue]
 *            [storage=file|memory] [dupe_window=DUR] [max_msgs=N]
 *            [max_bytes=N] [max_age=DUR] [discard=old|new] [replicas=N]
 *   consumer STREAM NAME [ack_wait=DUR] [max_deliver=N] [backoff=DUR[,DUR...]]
 *            [max_ack_pending=N] [filter=SUBJECT]
 *            [deliver=all|new|last|by_start_seq|by_start_time]
 *            [start_seq=N] [start_time=DUR] [ack=explicit|none|all]
 *            (start_seq= with deliver=by_start_seq, required; start_time=
 *            with deliver=by_start_time: that long after the run's start,
 *            0 when left out; the server picks the start position when
 *            the consumer is created (JS 6.2), at the run's start, so on
 *            the run's fresh stream both deliver everything published;
 *            ack=none is refused on a workqueue stream)
 *   publish  SUBJECT [rate=N/s] [count=N] [msg_id=job|none] [keys=N]
 *            [retry=N] [retry_wait=DUR] [payload=NAME]
 *            [delay=DUR[..DUR]] [header=NAME:VALUE] [key_header=NAME]
 *            [start=DUR]
 *            (delay=: delayed jobs, each with a Jetsim-Not-Before header
 *            (ps_worker.h) of its publish time plus a delay drawn per job;
 *            header=: one more header on every message; key_header=: the
 *            job's key, 0 to keys-1, in header NAME, requires keys=;
 *            start=: the first publish that long after the run's start,
 *            0 when left out: publishers that take turns number their
 *            jobs the same way on every target, which jetsim diff needs)
 *   replay   WORKLOAD [rate=N/s] [count=N] [transform=SRC=>DST] [msg_id=job|none]
 *            [keys=N] [retry=N] [retry_wait=DUR]
 *            (a workload file from `jetsim capture`, relative to the
 *            scenario's directory: its subjects, sizes and headers, at its
 *            own pace unless rate= is given, count= messages at most,
 *            subjects mapped by transform= as in sim/workload.h)
 *   workers  N [consumer=STREAM/NAME] [batch=N] [handle=DUR[..DUR]] [fail=P%]
 *            [idempotent=yes|no] [commit=before_ack|after_ack]
 *            [handler=NAME]   (the user's handler, ps_sim.h: then batch,
 *            handle, fail, idempotent and commit do not apply)
 *            [max_in_flight=N] [backoff=DUR[,DUR...]]
 *            [dead_letter=SUBJECT] [dead_letter_after=N] [key_header=NAME]
 *            [ignore_not_before=yes|no]
 *            (the worker layer's options, ps_worker.h: max_in_flight
 *            (default batch); backoff: the nak delays of a failed handler
 *            by delivery count (default none: immediate redelivery);
 *            dead_letter: a literal subject a stream captures, where jobs
 *            that fail on their last delivery (max_deliver, or
 *            dead_letter_after) or are termed go, with their reason;
 *            key_header: at most one job per key in flight, in publish
 *            order, the key read from that header (the publisher's
 *            key_header=); the workers honour Jetsim-Not-Before unless
 *            ignore_not_before=yes (a worker that predates delayed
 *            jobs: what expect not_early catches).)
 *   database [schema=FILE]       the user's database (ps_sim.h): one SQLite
 *                                database the handlers share, created from
 *                                FILE (relative to the scenario) or the
 *                                module's schema, faulted by fail db, lock db
 *                                and power_loss db (without this line, fail
 *                                db and lock db fault jetsim's own master)
 *   service  NAME latency=DUR[..DUR] [fail=P%] [timeout=DUR]
 *                                a simulated service the handlers call
 *   at TIME  FAULT               (see the fault list below)
 *   expect   CHECK...            no_loss no_double_completion attempts<=N
 *                                per_key_order dedup drained_within=DUR
 *                                dead_or_done (every job with a PubAck ends
 *                                completed or dead-lettered: none termed
 *                                without a dead letter, none lost)
 *                                not_early (no job reaches a handler before
 *                                its Jetsim-Not-Before)
 *                                sql "QUERY" empty | sql "QUERY" =N (on the
 *                                user's database after the run; the
 *                                service calls are in jetsim.service_calls;
 *                                several expect lines of sql checks may follow)
 *
 * Faults: one row each in SIM_FAULTS below, which the parser, the writer,
 * the error messages, `jetsim run --help` and the run targets all read:
 * `at 10s crash worker 2 for 45s`, `at 20s drop acks 5% for 10s`,
 * `at 30s restart server graceful node=leader`,
 * `at 40s delay connections 50ms for 3s`.
 *
 * replicas= and node= matter on a real cluster (jetsim run --spawn
 * cluster); the memory model is one server whose streams have one copy.
 * On the memory backend a paused server, a cut and a dropping network all
 * make the broker unreachable for the duration (publishes time out,
 * fetches fail, acks are lost); a delay changes nothing the model can see.
 *
 * DUR and TIME are Go-style durations ("250ms", "30s", "2m", "1h30m"), at
 * most SIM_DURATION_MAX_NS (87600h, ten years: the API's PS_DURATION_MAX_NS,
 * so that time + duration never overflows); longer ones are refused.
 * P is a percentage with up to two decimals (0 to 100).
 *
 * This module is not: the simulator (it only reads and writes scenarios),
 * nor a place that checks a scenario against a server (the backend does
 * that when the run creates the streams).
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ps_backend.h"
#include "ps_sim.h"

#define SIM_DURATION_MAX_NS PS_DURATION_MAX_NS
#define SIM_MAX_STREAMS 8
#define SIM_MAX_SUBJECTS 8
#define SIM_MAX_CONSUMERS 16
#define SIM_MAX_BACKOFF 16
#define SIM_MAX_PUBLISHERS 16
#define SIM_MAX_WORKER_GROUPS 16
#define SIM_MAX_FAULTS 256
#define SIM_TEXT_MAX 128 /* names and subjects, with their NUL */
#define SIM_MAX_SERVICES 8
#define SIM_MAX_SQL 16
#define SIM_SQL_MAX 1024 /* an expect sql query, with its NUL */

/* Where a statement or value came from, for error messages: 1-based. */
typedef struct sim_pos {
    int line, col;
} sim_pos;

typedef struct sim_stream {
    char name[SIM_TEXT_MAX];
    char subjects[SIM_MAX_SUBJECTS][SIM_TEXT_MAX];
    int nsubjects;
    ps_retention retention;
    ps_storage storage;
    ps_discard discard;
    int64_t dupe_window_ns; /* 0: the server's default */
    int64_t max_msgs, max_bytes, max_age_ns;
    int64_t replicas;       /* 0: 1 */
    sim_pos pos;
} sim_stream;

typedef struct sim_consumer {
    char stream[SIM_TEXT_MAX];
    char name[SIM_TEXT_MAX];
    char filter[SIM_TEXT_MAX]; /* "" for none */
    ps_deliver_policy deliver;
    int64_t ack_wait_ns, max_deliver, max_ack_pending;
    int64_t backoff_ns[SIM_MAX_BACKOFF];
    int nbackoff;
    ps_ack_policy ack;          /* ack=explicit|none|all */
    int64_t start_seq;          /* deliver=by_start_seq: start_seq=N (>= 1) */
    int64_t start_time_ns;      /* deliver=by_start_time: start_time=DUR after the run's start */
    sim_pos pos;
} sim_consumer;

typedef enum sim_msg_id { SIM_MSG_ID_JOB = 0, SIM_MSG_ID_NONE } sim_msg_id;

#define SIM_PATH_MAX 512

typedef struct sim_publisher {
    char subject[SIM_TEXT_MAX]; /* "" for a replay */
    char workload[SIM_PATH_MAX]; /* replay: the workload file; "" otherwise */
    char transform[SIM_TEXT_MAX]; /* replay: "SRC=>DST" or "" */
    double rate_per_s;  /* > 0; 0 for a replay at the workload's own pace */
    int64_t count;      /* jobs to publish (a replay: at most; 0 all) */
    sim_msg_id msg_id;
    int64_t keys;       /* 0: no keys; else jobs spread over this many keys */
    int64_t retry;      /* retries after a failed publish */
    int64_t retry_wait_ns;
    char payload[SIM_TEXT_MAX]; /* the user's payload maker (ps_sim.h), "" for the job number */
    /* delayed jobs: Jetsim-Not-Before = publish time + a delay in
     * [delay_min_ns, delay_max_ns] (a pure function of the seed and the
     * job, the same on every target); 0..0 for none */
    int64_t delay_min_ns, delay_max_ns;
    int64_t start_ns;              /* start=DUR: the first publish that long after the run's start */
    char header[SIM_TEXT_MAX];     /* header=NAME:VALUE on every message, "" for none */
    char key_header[SIM_TEXT_MAX]; /* key_header=NAME: the job's key (0 .. keys-1) in header NAME */
    sim_pos pos;
} sim_publisher;

typedef enum sim_commit { SIM_COMMIT_BEFORE_ACK = 0, SIM_COMMIT_AFTER_ACK } sim_commit;

typedef struct sim_workers {
    int64_t count;
    char stream[SIM_TEXT_MAX];   /* "" with consumer: the only consumer */
    char consumer[SIM_TEXT_MAX];
    int64_t batch;
    int64_t handle_min_ns, handle_max_ns;
    int fail_bp;                 /* handler failures, basis points (1% = 100) */
    bool idempotent;
    sim_commit commit;
    char handler[SIM_TEXT_MAX];  /* the user's handler (ps_sim.h); "" for the built-in job system */
    int64_t max_in_flight;       /* the layer's max_in_flight; 0: batch */
    int64_t backoff_ns[SIM_MAX_BACKOFF]; /* nak delays of a failed handler (nak_backoff_ns) */
    int nbackoff;
    char dead_letter[SIM_TEXT_MAX]; /* the layer's dead_letter_subject; "" for none */
    int64_t dead_letter_after;   /* the layer's dead_letter_after; 0: the consumer's max_deliver */
    char key_header[SIM_TEXT_MAX]; /* the layer's key_header (per-key order); "" for none */
    bool ignore_not_before;      /* a worker that predates delayed jobs: the layer gets no clock */
    sim_pos pos;
} sim_workers;

/* A simulated external service the user's handlers call (ps_sim_call). */
typedef struct sim_service {
    char name[SIM_TEXT_MAX];
    int64_t latency_min_ns, latency_max_ns;
    int fail_bp;        /* calls refused, basis points */
    int64_t timeout_ns; /* the caller's timeout; 0: none */
    sim_pos pos;
} sim_service;

/* expect sql "QUERY" empty | = N: run on the user's database at the end. */
typedef struct sim_sql_expect {
    char sql[SIM_SQL_MAX];
    bool empty;     /* no row expected; else the first column of the first row = equals */
    int64_t equals;
    sim_pos pos;
} sim_sql_expect;

/* What follows a fault's two keywords: pieces, always in this order (a
 * row of SIM_FAULTS names the ones it takes). */
enum {
    SIM_FARG_WORKER = 1 << 0,       /* N: the worker, 1-based (sim_fault.worker) */
    SIM_FARG_AFTER_COMMIT = 1 << 1, /* the word after_commit */
    SIM_FARG_HANDLE = 1 << 2,       /* handle=DUR: each message's handling time (handle_ns) */
    SIM_FARG_PCT = 1 << 3,          /* P%: how many acks, publishes, ... (bp) */
    SIM_FARG_RESTART = 1 << 4,      /* [graceful|crash|power_loss], crash when left out (restart) */
    SIM_FARG_DELAY = 1 << 5,        /* DUR: how long each chunk is held (delay_ns) */
    SIM_FARG_FOR = 1 << 6,          /* for DUR: how long the fault lasts (duration_ns) */
    SIM_FARG_FOR_OPT = 1 << 7,      /* [for DUR]: a crash's downtime; left out, 1 s (then the worker restarts) */
    SIM_FARG_NODE = 1 << 8,         /* [node=N|node=leader]: the server (node) */
    SIM_FARG_BEFORE_HANDLE = 1 << 9, /* the word before_handle */
    SIM_FARG_AT_WRITE = 1 << 10,    /* at_db_write=N: the handler's N-th row write (count) */
    SIM_FARG_SERVICE = 1 << 11      /* NAME: a service declared above (service, its index) */
};

/* Which run targets can carry a fault out. The memory model carries out
 * every fault; on a real server: */
typedef enum sim_fault_reach {
    SIM_REACH_ANY = 0,  /* any server: the client side does it (the engine, the fault shim) */
    SIM_REACH_SPAWNED,  /* only servers jetsim started (--spawn): it signals their processes */
    SIM_REACH_LOOPBACK  /* only servers on loopback: a TCP proxy in front of them does it */
} sim_fault_reach;

/* Every fault the language knows, one row each:
 * X(KIND, verb, object, argument pieces, reach). The row's position is its
 * sim_fault_kind, which run traces record: add rows at the end only. Two
 * rows may share their keywords (crash worker): the one whose pieces fit
 * the line is taken. */
#define SIM_FAULTS(X)                                                                              \
    X(CRASH_WORKER, "crash", "worker", SIM_FARG_WORKER | SIM_FARG_FOR_OPT, SIM_REACH_ANY)          \
    X(CRASH_AFTER_COMMIT, "crash", "worker", SIM_FARG_WORKER | SIM_FARG_AFTER_COMMIT, SIM_REACH_ANY) \
    X(SLOW_WORKER, "slow", "worker", SIM_FARG_WORKER | SIM_FARG_HANDLE | SIM_FARG_FOR, SIM_REACH_ANY) \
    X(PARTITION_WORKER, "partition", "worker", SIM_FARG_WORKER | SIM_FARG_FOR, SIM_REACH_ANY)      \
    X(DROP_ACKS, "drop", "acks", SIM_FARG_PCT | SIM_FARG_FOR, SIM_REACH_ANY)                       \
    X(LOSE_PUBACKS, "lose", "pubacks", SIM_FARG_PCT | SIM_FARG_FOR, SIM_REACH_ANY)                 \
    X(DUPLICATE_PUBLISHES, "duplicate", "publishes", SIM_FARG_PCT | SIM_FARG_FOR, SIM_REACH_ANY)   \
    X(NAK_STORM, "nak", "storm", SIM_FARG_PCT | SIM_FARG_FOR, SIM_REACH_ANY)                       \
    X(TERM_STORM, "term", "storm", SIM_FARG_PCT | SIM_FARG_FOR, SIM_REACH_ANY)                     \
    X(RESTART_SERVER, "restart", "server", SIM_FARG_RESTART | SIM_FARG_NODE, SIM_REACH_SPAWNED)    \
    X(FAIL_DB, "fail", "db", SIM_FARG_PCT | SIM_FARG_FOR, SIM_REACH_ANY)                           \
    X(LOCK_DB, "lock", "db", SIM_FARG_PCT | SIM_FARG_FOR, SIM_REACH_ANY)                           \
    /* SIGSTOP ... SIGCONT */                                                                      \
    X(PAUSE_SERVER, "pause", "server", SIM_FARG_FOR | SIM_FARG_NODE, SIM_REACH_SPAWNED)            \
    /* the proxy closes the connections and refuses new ones */                                    \
    X(CUT_CONNECTIONS, "cut", "connections", SIM_FARG_FOR, SIM_REACH_LOOPBACK)                     \
    /* the proxy forwards nothing, closes nothing */                                               \
    X(DROP_CONNECTIONS, "drop", "connections", SIM_FARG_FOR, SIM_REACH_LOOPBACK)                   \
    /* the proxy holds every chunk for delay_ns */                                                 \
    X(DELAY_CONNECTIONS, "delay", "connections", SIM_FARG_DELAY | SIM_FARG_FOR, SIM_REACH_LOOPBACK) \
    /* the user's code (ps_sim.h): the worker dies as a message arrives, before its handler */     \
    X(CRASH_BEFORE_HANDLE, "crash", "worker", SIM_FARG_WORKER | SIM_FARG_BEFORE_HANDLE | SIM_FARG_FOR_OPT, \
      SIM_REACH_ANY)                                                                               \
    /* ... or at its handler's N-th row write to the user's database: nothing of it commits */    \
    X(CRASH_AT_DB_WRITE, "crash", "worker", SIM_FARG_WORKER | SIM_FARG_AT_WRITE | SIM_FARG_FOR_OPT,  \
      SIM_REACH_ANY)                                                                               \
    /* the user's database host loses power: writes not synced are lost */                        \
    X(POWER_LOSS_DB, "power_loss", "db", 0, SIM_REACH_ANY)                                         \
    /* the service refuses every call */                                                           \
    X(FAIL_SERVICE, "fail", "service", SIM_FARG_SERVICE | SIM_FARG_FOR, SIM_REACH_ANY)             \
    /* every call to the service takes delay_ns longer (past its timeout=: it acts, the caller gives up) */ \
    X(SLOW_SERVICE, "slow", "service", SIM_FARG_SERVICE | SIM_FARG_DELAY | SIM_FARG_FOR, SIM_REACH_ANY)

#define SIM_FAULT_ENUM_(kind, verb, object, args, reach) SIM_FAULT_##kind,
typedef enum sim_fault_kind { SIM_FAULTS(SIM_FAULT_ENUM_) SIM_FAULT_KIND_COUNT } sim_fault_kind;
#undef SIM_FAULT_ENUM_

/* A row of SIM_FAULTS. */
typedef struct sim_fault_info {
    const char *verb, *object; /* "drop", "acks" */
    const char *name;          /* "drop acks" */
    unsigned args;             /* SIM_FARG_* */
    sim_fault_reach reach;
} sim_fault_info;

/* The row of fault kind `k`; NULL for a value that is no kind. */
const sim_fault_info *sim_fault_info_of(sim_fault_kind k);

/* Writes fault `k`'s syntax ("drop acks P% for DUR") into buf (cap bytes,
 * cut short if need be); returns buf ("" for a value that is no kind). */
const char *sim_fault_syntax(sim_fault_kind k, char *buf, size_t cap);

typedef struct sim_fault {
    sim_fault_kind kind;
    int64_t at_ns;
    int64_t duration_ns;   /* "for DUR"; 0 when the fault has none */
    int64_t worker;        /* worker faults: 1-based worker number */
    int64_t handle_ns;     /* slow worker */
    int bp;                /* percentage faults, basis points */
    ps_restart_kind restart;
    int64_t node;          /* server faults: 1-based node, 0 the default, -1 the stream leader */
    int64_t delay_ns;      /* delay connections, slow service */
    int64_t count;         /* crash worker N at_db_write=COUNT */
    int64_t service;       /* fail service: the service's index in the scenario */
    sim_pos pos;
} sim_fault;

typedef struct sim_expect {
    bool no_loss, no_double_completion, per_key_order, dedup;
    bool dead_or_done; /* every job with a PubAck ends completed or dead-lettered */
    bool not_early;    /* no job reaches a handler before its Jetsim-Not-Before */
    int64_t attempts_max;     /* 0: not checked */
    int64_t drained_within_ns; /* 0: not checked */
    sim_pos pos;
} sim_expect;

typedef struct sim_scenario {
    sim_stream streams[SIM_MAX_STREAMS];
    int nstreams;
    sim_consumer consumers[SIM_MAX_CONSUMERS];
    int nconsumers;
    sim_publisher publishers[SIM_MAX_PUBLISHERS];
    int npublishers;
    sim_workers workers[SIM_MAX_WORKER_GROUPS];
    int nworkers;
    sim_fault faults[SIM_MAX_FAULTS];
    int nfaults;
    sim_expect expect;
    bool has_expect;
    bool mixed; /* its faults are a seed's mix (sim_scenario_mix), not the text's */
    /* the user's code (ps_sim.h) */
    bool has_database;              /* database [schema=FILE] */
    char db_schema[SIM_PATH_MAX];   /* that file, absolute; "" for none (the module's schema) */
    sim_pos db_pos;
    sim_service services[SIM_MAX_SERVICES];
    int nservices;
    sim_sql_expect sql[SIM_MAX_SQL];
    int nsql;
    char file[SIM_PATH_MAX];        /* the name it was parsed under, for messages */
    /* Not parsed: the handlers, payload makers and schema the run uses
     * (the CLI's --handlers library, or ps_sim_config.module). */
    const ps_sim_module *module;
} sim_scenario;

/* A zeroed scenario on the heap: the struct is tens of kilobytes, too big
 * for a stack, and a function-local static would be state hidden between
 * calls. NULL (with ps_last_error() set) when out of memory. */
sim_scenario *sim_scenario_new(void);

/* Frees a scenario from sim_scenario_new; NULL does nothing. */
void sim_scenario_free(sim_scenario *sc);

/* Parses `len` bytes of scenario text. `file` names the source in error
 * messages. On success fills *out (zeroed first) and returns PS_OK; on the
 * first error returns PS_ERR_INVALID_ARG with ps_last_error() reading
 * "file:line:col: expected ..., got '...'" (the column of the offending
 * word; a bad option value names the option and its range: "expected an
 * integer from 1 to 5 for replicas=, got '7'") and *out unspecified. The text need not be NUL-terminated and may
 * hold any bytes. */
ps_status sim_scenario_parse(sim_scenario *out, const char *file, const char *text, size_t len);

/* Reads and parses a file; an unreadable file is PS_ERR_IO naming it. */
ps_status sim_scenario_load(sim_scenario *out, const char *path);

/* Writes the scenario in canonical form (every option spelled out, faults
 * in time order as stored), which parses back to an equal scenario. */
void sim_scenario_write(const sim_scenario *s, FILE *f);

/* Writes fault x of scenario s as its line has it after "at T" ("restart
 * server graceful node=leader", "slow service pay 200ms for 5s") into buf
 * (cap bytes, cut short if need be); returns buf ("" for no kind).
 * `timed` false leaves out its P% and "for DUR", for a caller that shows
 * the values a run drew (a seed's mix) in its own way. */
const char *sim_fault_words(const sim_scenario *s, const sim_fault *x, bool timed, char *buf, size_t cap);

/* Draws a fault mix for `seed` (what `jetsim swarm` runs, and `jetsim run
 * --mix` replays): each fault is kept with probability 3/4, its time and
 * duration scaled by a factor in [0.5, 1.5], its percentage likewise (at
 * most 100%). The same scenario and seed always give the same mix. Sets
 * s->mixed, so a run database records that its run was mixed. */
void sim_scenario_mix(sim_scenario *s, uint64_t seed);

/* The fault's keyword as written in a scenario ("drop acks", ...). */
const char *sim_fault_name(sim_fault_kind k);

/* Puts the scenario in namespace `ns` (jetsim run/diff --namespace), so
 * that runs in different namespaces share a server without touching each
 * other's streams: every stream becomes NS-NAME (consumers' and workers'
 * references too) and every subject NS.SUBJECT (streams' subjects,
 * consumers' filters, publishers' subjects, the destination of a replay's
 * transform; a replay without one gets >=>NS.>). `ns` is 1 to 32 letters,
 * digits or '_' ('-' is the separator, so no two namespaced names meet).
 * PS_ERR_INVALID_ARG naming a bad `ns`, or the name that would grow past
 * SIM_TEXT_MAX; *sc is then unspecified. */
ps_status sim_scenario_namespace(sim_scenario *sc, const char *ns);

#endif
