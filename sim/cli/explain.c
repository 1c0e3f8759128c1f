/* explain.c — `jetsim explain` (see explain.h): reads a run database and
 * tells what happened in words. Each trace row becomes one line; what a
 * row means often depends on the rows before it (a delivery's attempt 2
 * is "after its nak" or "after AckWait expired: the ack was lost" when a
 * fault dropped it, else "... came after AckWait expired"), so a
 * job's story is told by walking its rows in order with a little state:
 * who holds the job, what its last answer was, whether it is committed.
 *
 * The trace stores integers (master.h): kinds, fault kinds, ack kinds,
 * and per-(job, consumer) rows; the words come from the same lists the
 * run database's views use, so this and SQL over the views agree.
 */
#include "explain.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "master.h"
#include "report.h"
#include "rundb.h"
#include "scenario.h"

typedef struct run_head {
    uint64_t seed, bad_job;
    bool mix, finished;
    int consumers;
    int64_t start_ns, jobs, rows; /* jobs: the run's job numbers are 1..jobs */
    char backend[400], verdict[16], why[600];
} run_head;

typedef struct explain {
    sqlite3 *db;
    run_head h;
    sim_rundb_fault *faults;
    int nfaults;
    sim_scenario *sc; /* the scenario the run recorded, parsed; NULL when it no longer parses */
} explain;

/* One trace row, time counted from the run's start. */
typedef struct event {
    int64_t t_ns, job, arg;
    int kind, worker;
} event;

/* What the rows so far say about one (job, consumer) row. */
typedef struct job_walk {
    int holder;        /* the worker that has it now, 0 none */
    int last;          /* the kind of its last answer (SIM_TR_*), -1 none */
    int last_worker;
    int64_t last_arg;  /* an unsent answer's ack kind */
    int nak_by;        /* a worker that nak'ed it since its last delivery, 0 none */
    int stale_by;      /* a worker whose commit was refused as stale, until it answers */
    int deliveries;    /* deliveries seen in the trace */
    int lost_by;       /* a crash of this worker lost it (its answer never left) */
    bool delayed;      /* a delayed job (Jetsim-Not-Before): the worker layer naks it until then */
    int64_t delayed_t; /* ... published (its delayed row) then */
    bool acked, committed;
    bool settled;      /* done and acked, or terminated: the broker and the master agree it is over */
    int64_t ack_t;
} job_walk;


static bool read_head(explain *x)
{
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_prepare_v2(x->db, "SELECT seed, backend, mix, finished, verdict, first_violation,"
                                        " coalesce(first_bad_job, 0), consumers, coalesce(start_ns, 0),"
                                        " (SELECT count(*) FROM jobs) / max(consumers, 1),"
                                        " (SELECT count(*) FROM trace) FROM run", -1, &st, NULL) == SQLITE_OK &&
              sqlite3_step(st) == SQLITE_ROW;
    if (ok) {
        run_head *h = &x->h;
        h->seed = (uint64_t)sqlite3_column_int64(st, 0);
        sim_rundb_text(st, 1, h->backend, sizeof h->backend);
        h->mix = sqlite3_column_int(st, 2) != 0;
        h->finished = sqlite3_column_int(st, 3) != 0;
        sim_rundb_text(st, 4, h->verdict, sizeof h->verdict);
        sim_rundb_text(st, 5, h->why, sizeof h->why);
        h->bad_job = (uint64_t)sqlite3_column_int64(st, 6);
        h->consumers = sqlite3_column_int(st, 7) > 0 ? sqlite3_column_int(st, 7) : 1;
        h->start_ns = sqlite3_column_int64(st, 8);
        h->jobs = sqlite3_column_int64(st, 9);
        h->rows = sqlite3_column_int64(st, 10);
    }
    sqlite3_finalize(st);
    return ok;
}

/* The faults' words as the scenario recorded in the run wrote them
 * (matched by line and kind): the faults table keeps no restart mode,
 * service or delay. A text that no longer parses (a schema file gone)
 * leaves what the table has. */
static void name_faults(explain *x)
{
    sqlite3_stmt *st = NULL;
    sim_scenario *sc = sim_scenario_new();
    if (sc && sqlite3_prepare_v2(x->db, "SELECT scenario FROM run", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        if (sim_scenario_parse(sc, "scenario", text, strlen(text)) == PS_OK) {
            sim_rundb_name_faults(sc, x->faults, x->nfaults);
            x->sc = sc;
            sc = NULL;
        }
    }
    sqlite3_finalize(st);
    sim_scenario_free(sc);
}

/* The fault of kind `kind` (on `worker`, 0 any) active at t_ns, or NULL. */
static const sim_rundb_fault *active(const explain *x, int kind, int64_t worker, int64_t t_ns)
{
    for (int i = 0; i < x->nfaults; i++) {
        const sim_rundb_fault *f = &x->faults[i];
        if (f->kind == kind && (!worker || f->worker == worker) && t_ns >= f->at_ns &&
            (f->dur_ns == 0 ? t_ns == f->at_ns : t_ns < f->at_ns + f->dur_ns))
            return f;
    }
    return NULL;
}

static void when(int64_t t_ns)
{
    printf("  %+10.3f s  ", (double)t_ns / 1e9);
}

static const char *ack_word(int64_t kind)
{
    return kind == 0 ? "ack" : kind == 1 ? "nak" : kind == 2 ? "in-progress" : kind == 3 ? "term" : "answer";
}

/* "drop acks 5% for 10.000 s, line 10": the fault that did `what` (an
 * ack row's arg) to an ack at t_ns, or its name alone. */
static const char *ack_fault_words(const explain *x, int64_t what, int64_t t_ns, char *buf, size_t cap)
{
    int kind = what == SIM_ACK_LOST     ? SIM_FAULT_DROP_ACKS
             : what == SIM_ACK_AS_NAK   ? SIM_FAULT_NAK_STORM
                                        : SIM_FAULT_TERM_STORM;
    const sim_rundb_fault *f = active(x, kind, 0, t_ns);
    char w[200];
    if (f)
        snprintf(buf, cap, "%s, line %d", sim_rundb_fault_words(f, w, sizeof w), f->line);
    else
        snprintf(buf, cap, "%s", sim_fault_name((sim_fault_kind)kind));
    return buf;
}

/* Why attempt `attempt` came: what the job's last answer was. */
static void redelivery_reason(const explain *x, const job_walk *w, char *out, size_t cap)
{
    char f[256];
    if (w->nak_by)
        snprintf(out, cap, ", after the nak of worker %d", w->nak_by);
    else if (w->lost_by)
        snprintf(out, cap, ", after AckWait expired: worker %d crashed holding it", w->lost_by);
    else if (w->last == SIM_TR_UNSENT)
        snprintf(out, cap, ", after AckWait expired: the %s of worker %d never arrived", ack_word(w->last_arg),
                 w->last_worker);
    else if (w->last == SIM_TR_ACK && w->last_arg == SIM_ACK_LOST)
        snprintf(out, cap, ", after AckWait expired: the ack of worker %d was lost (%s)", w->last_worker,
                 ack_fault_words(x, w->last_arg, w->ack_t, f, sizeof f));
    else if (w->last == SIM_TR_ACK && w->last_arg == SIM_ACK_AS_NAK)
        snprintf(out, cap, ", after the ack of worker %d arrived as a NAK (%s)", w->last_worker,
                 ack_fault_words(x, w->last_arg, w->ack_t, f, sizeof f));
    else if (w->last == SIM_TR_ACK) /* no fault lost it: the server had redelivered before it came */
        snprintf(out, cap, ", the ack of worker %d came after AckWait expired",
                 w->last_worker);
    else
        snprintf(out, cap, ", after AckWait (or its BackOff step) expired with no answer");
}

/* The latest fault between from_ns and t_ns that can lose a delivery,
 * or the nak the worker layer gives one that is not due, so that AckWait
 * brings it back: a crash (a crash point armed before from_ns too: it
 * fires later), a cut-off worker or server, a server restart. NULL: none. */
static const sim_rundb_fault *losing_fault(const explain *x, int64_t from_ns, int64_t t_ns)
{
    const sim_rundb_fault *last = NULL;
    for (int i = 0; i < x->nfaults && x->faults[i].at_ns <= t_ns; i++) {
        const sim_rundb_fault *f = &x->faults[i];
        int64_t end = f->at_ns + f->dur_ns;
        switch (f->kind) {
        case SIM_FAULT_CRASH_AFTER_COMMIT:
        case SIM_FAULT_CRASH_BEFORE_HANDLE:
        case SIM_FAULT_CRASH_AT_DB_WRITE: end = t_ns; break;
        case SIM_FAULT_CRASH_WORKER: end += f->dur_ns ? 0 : 1000000000; break; /* down 1 s unless for= */
        case SIM_FAULT_PARTITION_WORKER:
        case SIM_FAULT_CUT_CONNECTIONS:
        case SIM_FAULT_DROP_CONNECTIONS:
        case SIM_FAULT_PAUSE_SERVER:
        case SIM_FAULT_RESTART_SERVER: break;
        default: continue;
        }
        if (end >= from_ns)
            last = f;
    }
    return last;
}

/* "deliveries 1 to 3", "delivery 1": the stream's deliveries before
 * delivery n. */
static void earlier(char *out, size_t cap, int64_t n)
{
    if (n > 2)
        snprintf(out, cap, "deliveries 1 to %" PRId64, n - 1);
    else
        snprintf(out, cap, "delivery 1");
}

/* A delivery to a handler: attempt N counts them (as the master counts
 * attempts); the stream counts its deliveries (num_delivered), among
 * them those no handler saw: the worker layer's naks of a delayed job,
 * a batch lost in a crash. The stream's count is told when it differs. */
static void say_deliver(const explain *x, const job_walk *w, const event *ev)
{
    char why[400] = "", nth[64] = "", before[48], f[256];
    int attempt = w->deliveries + 1;
    if (ev->arg != attempt)
        snprintf(nth, sizeof nth, ", the stream's delivery %" PRId64, ev->arg);
    earlier(before, sizeof before, ev->arg);
    const sim_rundb_fault *lose = ev->arg > 1 && w->deliveries == 0 ? losing_fault(x, w->delayed_t, ev->t_ns)
                                                                      : NULL;
    if (ev->arg > 1 && w->deliveries == 0 && w->delayed && lose)
        snprintf(why, sizeof why, ": the worker layer naked %s until its Jetsim-Not-Before (or, after %s "
                 "(line %d), AckWait expired)", before, sim_rundb_fault_words(lose, f, sizeof f), lose->line);
    else if (ev->arg > 1 && w->deliveries == 0 && w->delayed)
        snprintf(why, sizeof why, ": the worker layer naked %s until its Jetsim-Not-Before", before);
    else if (ev->arg > 1 && w->deliveries == 0)
        snprintf(why, sizeof why, ", after AckWait expired: %s %s fetched but never handed to a handler (its "
                 "worker crashed with it in its batch, or the server restarted)", before, ev->arg > 2 ? "were" : "was");
    else if (ev->arg > 1)
        redelivery_reason(x, w, why, sizeof why);
    else if (w->last != -1)
        snprintf(why, sizeof why, ", again as new: the server forgot it was delivered");
    printf("delivered to worker %d (attempt %d%s%s)\n", ev->worker, attempt, nth, why);
}

static void say_ack(const explain *x, const job_walk *w, const event *ev)
{
    char f[256];
    const char *master = w->committed ? "the master has it done" : "the master does not have it done";
    if (ev->arg == SIM_ACK_LOST || ev->arg == SIM_ACK_AS_NAK) {
        printf("acked by worker %d, but the ack %s (%s): the stream still has it and delivers it again%s; %s\n",
               ev->worker, ev->arg == SIM_ACK_LOST ? "was lost" : "arrived as a NAK",
               ack_fault_words(x, ev->arg, ev->t_ns, f, sizeof f), ev->arg == SIM_ACK_LOST ? " after AckWait" : "",
               master);
        return;
    }
    if (ev->arg == SIM_ACK_AS_TERM) {
        printf("acked by worker %d, but the ack arrived as a TERM (%s): the stream forgets it, no more "
               "deliveries; %s\n", ev->worker, ack_fault_words(x, ev->arg, ev->t_ns, f, sizeof f), master);
        return;
    }
    printf("acked by worker %d: %s\n", ev->worker,
           w->committed                 ? "the stream forgets it; the job is over"
           : w->stale_by == ev->worker ? "the stream forgets it, although its commit was refused: the master "
                                          "does not have it done"
                                        : "the stream forgets it, before the master has it done (commit=after_ack)");
}

/* An answer the broker never got: the worker was cut off (a partition,
 * the connections cut or dropped), or the handler gave none. */
static void say_unsent(const explain *x, const event *ev)
{
    static const int cuts[] = {SIM_FAULT_CUT_CONNECTIONS, SIM_FAULT_DROP_CONNECTIONS, SIM_FAULT_PAUSE_SERVER};
    char f[256];
    if (active(x, SIM_FAULT_PARTITION_WORKER, ev->worker, ev->t_ns)) {
        printf("the %s of worker %d was never sent: partition of worker %d (cut off from the server)\n",
               ack_word(ev->arg), ev->worker, ev->worker);
        return;
    }
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        const sim_rundb_fault *c = active(x, cuts[i], 0, ev->t_ns);
        if (c) {
            printf("the %s of worker %d never reached the server: %s (line %d)\n", ack_word(ev->arg), ev->worker,
                   sim_rundb_fault_words(c, f, sizeof f), c->line);
            return;
        }
    }
    if (ev->arg == PS_NAK)
        printf("worker %d gave no answer (the handler deferred it): it comes back after AckWait\n", ev->worker);
    else
        printf("the %s of worker %d never reached the server\n", ack_word(ev->arg), ev->worker);
}

static void say_commit(const explain *x, const job_walk *w, const event *ev)
{
    (void)x;
    if (ev->kind == SIM_TR_STALE) {
        printf("worker %d's commit refused: version %" PRId64 " is stale (a later attempt owns the job)\n",
               ev->worker, ev->arg);
        return;
    }
    printf("committed to the master by worker %d (version %" PRId64 "): done%s\n", ev->worker, ev->arg,
           w->acked ? ", after its ack" : "");
}

/* Whether `worker` has the job in hand: it holds the delivery, or it
 * has just acked it and is about to commit (commit=after_ack). */
static bool in_hand(const job_walk *w, const event *ev)
{
    return ev->worker > 0 && (ev->worker == w->holder || (w->last == SIM_TR_ACK && !w->committed &&
                                                          ev->worker == w->last_worker && ev->t_ns == w->ack_t));
}

/* A crash of the worker holding the job: what it cost the job. */
static void say_crash(const job_walk *w, const event *ev)
{
    printf("worker %d crashed holding it", ev->worker);
    if (w->acked && !w->committed)
        printf(": its ack had gone, its commit never happened: the stream forgot the job and the master never "
               "saw it done\n");
    else if (w->committed && !w->acked)
        printf(": committed to the master, the ack never left: it comes back after AckWait\n");
    else
        printf(": its answer never left: it comes back after AckWait\n");
}

/* The fault a worker's crash at t_ns came from: the latest fault on it
 * of a kind that kills it (at once, or at a point it armed), or NULL. */
static const sim_rundb_fault *crash_cause(const explain *x, int64_t worker, int64_t t_ns)
{
    const sim_rundb_fault *cause = NULL;
    for (int i = 0; i < x->nfaults; i++) {
        const sim_rundb_fault *f = &x->faults[i];
        if (f->worker == worker && f->at_ns <= t_ns &&
            (f->kind == SIM_FAULT_CRASH_WORKER || f->kind == SIM_FAULT_CRASH_AFTER_COMMIT ||
             f->kind == SIM_FAULT_CRASH_BEFORE_HANDLE || f->kind == SIM_FAULT_CRASH_AT_DB_WRITE))
            cause = f;
    }
    return cause;
}

static void say_fault(const explain *x, const job_walk *w, const event *ev)
{
    char f[256];
    const sim_rundb_fault *armed = NULL;
    for (int i = 0; i < x->nfaults; i++)
        if (x->faults[i].kind == ev->arg && x->faults[i].at_ns == ev->t_ns &&
            (!ev->worker || x->faults[i].worker == ev->worker))
            armed = &x->faults[i];
    if (ev->arg == SIM_FAULT_CRASH_WORKER && in_hand(w, ev)) {
        say_crash(w, ev);
        return;
    }
    const sim_rundb_fault *cause = armed ? NULL : ev->arg == SIM_FAULT_CRASH_WORKER && ev->worker > 0
                                                      ? crash_cause(x, ev->worker, ev->t_ns) : NULL;
    if (cause) /* a crash point armed before (after_commit, before_handle, at_db_write) */
        printf("fault: %s (line %d): worker %d crashed\n", sim_rundb_fault_words(cause, f, sizeof f), cause->line,
               ev->worker);
    else if (ev->arg == SIM_FAULT_CRASH_WORKER && !armed && ev->worker > 0)
        printf("fault: worker %d crashed\n", ev->worker);
    else if (armed)
        printf("fault: %s (line %d)%s\n", sim_rundb_fault_words(armed, f, sizeof f), armed->line,
               armed->kind == SIM_FAULT_CRASH_AFTER_COMMIT ? ": the worker dies after its next commit (with "
                                                             "commit=after_ack: right after its next ack)"
               : armed->kind == SIM_FAULT_CRASH_BEFORE_HANDLE ? ": the worker dies as its next message arrives"
                                                             : "");
    else
        printf("fault: %s on worker %d\n", sim_fault_name((sim_fault_kind)ev->arg), ev->worker);
}

/* Whether a fault row belongs in a job's story: one on the worker that
 * holds the job, or one not on any worker while the job is alive. */
static bool fault_concerns(const job_walk *w, const event *ev, bool alive)
{
    if (ev->worker > 0)
        return in_hand(w, ev);
    return alive && !w->settled;
}

static void say_event(const explain *x, const job_walk *w, const event *ev, const char *prefix)
{
    char f[256];
    const sim_rundb_fault *fr;
    when(ev->t_ns);
    fputs(prefix, stdout);
    switch (ev->kind) {
    case SIM_TR_PUBLISH:
        printf("published: the stream stored it at sequence %" PRId64 " (PubAck)\n", ev->arg);
        break;
    case SIM_TR_PUBLISH_FAILED:
        fr = active(x, SIM_FAULT_LOSE_PUBACKS, 0, ev->t_ns);
        printf("publish try %" PRId64 " got no PubAck%s%s%s\n", ev->arg, fr ? " (" : "",
               fr ? sim_rundb_fault_words(fr, f, sizeof f) : "", fr ? ")" : "");
        break;
    case SIM_TR_DELIVER: say_deliver(x, w, ev); break;
    case SIM_TR_COMMIT:
    case SIM_TR_STALE: say_commit(x, w, ev); break;
    case SIM_TR_ACK: say_ack(x, w, ev); break;
    case SIM_TR_NAK:
        printf("nak'ed by worker %d: %s\n", ev->worker,
               ev->arg == 1 ? "its commit was refused; try again later" : "the handler failed; deliver it again");
        break;
    case SIM_TR_TERM:
        printf("terminated by worker %d: the stream forgets it, no more attempts (failed)\n", ev->worker);
        break;
    case SIM_TR_DB_ERROR:
        fr = active(x, SIM_FAULT_FAIL_DB, 0, ev->t_ns);
        if (!fr)
            fr = active(x, SIM_FAULT_LOCK_DB, 0, ev->t_ns);
        printf("worker %d's commit to the master failed: a database error%s%s%s\n", ev->worker, fr ? " (" : "",
               fr ? sim_rundb_fault_words(fr, f, sizeof f) : "", fr ? ")" : "");
        break;
    case SIM_TR_UNSENT: say_unsent(x, ev); break;
    case SIM_TR_FAULT: say_fault(x, w, ev); break;
    case SIM_TR_DEAD:
        printf("dead-lettered by worker %d: %s; the worker layer republished it to the dead-letter subject\n",
               ev->worker, ev->arg == 1 ? "its handler gave up on it (term)" : "it failed its last delivery");
        break;
    case SIM_TR_DELAYED:
        printf("a delayed job: not to be handled for %.3f s (Jetsim-Not-Before)\n", (double)ev->arg / 1e9);
        break;
    case SIM_TR_EARLY:
        printf("handed to worker %d's handler %.3f s before its Jetsim-Not-Before (not_early)\n", ev->worker,
               (double)ev->arg / 1e9);
        break;
    case SIM_TR_RESTART:
        printf("worker %d restarted, %.3f s after its crash\n", ev->worker, (double)ev->arg / 1e9);
        break;
    default: printf("trace kind %d, worker %d, arg %" PRId64 "\n", ev->kind, ev->worker, ev->arg); break;
    }
}

/* What a step changes in the walk (say_event reads the walk as it was
 * before the step). */
static void walk(job_walk *w, const event *ev)
{
    switch (ev->kind) {
    case SIM_TR_DELIVER:
        w->holder = ev->worker;
        w->lost_by = 0;
        w->nak_by = 0;
        w->deliveries++;
        break;
    case SIM_TR_STALE: w->stale_by = ev->worker; break;
    case SIM_TR_DELAYED:
        w->delayed = true;
        w->delayed_t = ev->t_ns;
        break;
    case SIM_TR_COMMIT:
        w->committed = true;
        w->settled |= w->acked;
        break;
    case SIM_TR_FAULT:
        if (ev->arg == SIM_FAULT_CRASH_WORKER && in_hand(w, ev)) {
            w->lost_by = w->acked ? 0 : ev->worker;
            w->holder = 0;
        }
        break;
    case SIM_TR_ACK:
        w->acked = true;
        w->ack_t = ev->t_ns;
        __attribute__((fallthrough)); /* an answer, as the next ones */
    case SIM_TR_NAK:
    case SIM_TR_TERM:
    case SIM_TR_UNSENT:
        w->last = ev->kind;
        w->last_worker = ev->worker;
        w->last_arg = ev->arg;
        w->holder = 0;
        if (ev->kind == SIM_TR_NAK)
            w->nak_by = ev->worker;
        /* an ack the shim lost or turned into a NAK leaves the job in the stream */
        w->settled |= ev->kind == SIM_TR_TERM ||
                      (ev->kind == SIM_TR_ACK && (w->committed || ev->arg == SIM_ACK_AS_TERM) &&
                       ev->arg != SIM_ACK_LOST && ev->arg != SIM_ACK_AS_NAK);
        break;
    default: break;
    }
}

static bool read_event(sqlite3_stmt *st, event *ev)
{
    if (sqlite3_step(st) != SQLITE_ROW)
        return false;
    *ev = (event){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 3),
                  sqlite3_column_int(st, 2), sqlite3_column_int(st, 4)};
    return true;
}

/* The story of job `job` on consumer `ci` (its publisher's rows too),
 * only worker `worker`'s steps when it is not 0. */
static int job_story(explain *x, uint64_t job, int ci, int worker)
{
    sqlite3_stmt *st = NULL;
    int64_t row = (int64_t)(job - 1) * x->h.consumers + ci + 1;
    if (sqlite3_prepare_v2(x->db, "SELECT t.t_ns - ?3, t.job, t.kind, t.arg, t.worker FROM trace t"
                                  " WHERE (t.kind IN (0, 1) AND t.job = ?1) OR (t.kind NOT IN (0, 1, 9) AND"
                                  " t.job = ?2) OR t.kind = 9 ORDER BY t.rowid", -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "jetsim explain: %s\n", sqlite3_errmsg(x->db));
        return SIM_EXIT_USAGE;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)job);
    sqlite3_bind_int64(st, 2, row);
    sqlite3_bind_int64(st, 3, x->h.start_ns);
    job_walk w = {.last = -1};
    event ev, prev = {.kind = -1};
    bool alive = false;
    while (read_event(st, &ev)) {
        bool mine = ev.kind != SIM_TR_FAULT;
        alive |= mine;
        if (!mine && (!fault_concerns(&w, &ev, alive) ||
                      (prev.kind == SIM_TR_FAULT && prev.t_ns == ev.t_ns && prev.worker == ev.worker &&
                       prev.arg == ev.arg)))
            continue; /* a scheduled crash is traced twice: as the fault, and as the crash */
        if (!worker || ev.worker == worker)
            say_event(x, &w, &ev, "");
        walk(&w, &ev); /* a step left out (another worker's) still moves the walk */
        prev = ev;
    }
    sqlite3_finalize(st);
    return 0;
}

/* "in the master: running, 1 attempt, never completed". */
static void job_end(explain *x, uint64_t job, int ci)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(x->db, "SELECT state, attempts, completions, key, EXISTS (SELECT 1 FROM trace t"
                                  " WHERE t.kind = ?3 AND t.job = j.row) FROM jobs_named j WHERE job = ?1"
                                  " AND consumer = ?2", -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)job);
    sqlite3_bind_int(st, 2, ci + 1); /* the views number consumers from 1 */
    sqlite3_bind_int(st, 3, SIM_TR_DEAD);
    if (sqlite3_step(st) == SQLITE_ROW) {
        int done = sqlite3_column_int(st, 2);
        printf("  in the master at the end: %s%s, %d attempt(s), %s%s", sqlite3_column_text(st, 0),
               sqlite3_column_int(st, 4) ? " (dead-lettered)" : "",
               sqlite3_column_int(st, 1), done == 0 ? "never completed" : done == 1 ? "completed once"
                                                                                  : "completed more than once",
               sqlite3_column_type(st, 3) == SQLITE_NULL ? "" : ", key ");
        if (sqlite3_column_type(st, 3) != SQLITE_NULL)
            printf("%lld", (long long)sqlite3_column_int64(st, 3));
        printf("\n");
    }
    sqlite3_finalize(st);
}

/* Whether consumer ci's row of `job` is not for it (rundb.h). */
static bool job_not_for(explain *x, uint64_t job, int ci)
{
    return sim_rundb_row_not_for(x->db, (int64_t)(job - 1) * x->h.consumers + ci + 1);
}

static int story_of_job(explain *x, uint64_t job, int worker)
{
    for (int ci = 0; ci < x->h.consumers; ci++) {
        printf("\nstory of job %" PRIu64, job);
        if (x->h.consumers > 1)
            printf(" on consumer %d", ci + 1);
        if (x->h.consumers > 1 && x->sc && x->sc->nconsumers == x->h.consumers)
            printf(" (%s)", x->sc->consumers[ci].name);
        if (job_not_for(x, job, ci)) {
            printf(": not for this consumer: its filter %s does not take the job's subject\n",
                   x->sc->consumers[ci].filter);
            continue;
        }
        if (worker)
            printf(", the steps of worker %d", worker);
        printf(":\n");
        int rc = job_story(x, job, ci, worker);
        if (rc)
            return rc;
        job_end(x, job, ci);
    }
    return 0;
}

/* A worker's steps, one line each, every job it touched. Every row of
 * the trace is walked (another worker's answer changes what this
 * worker's next delivery of a job means); only this worker's are told. */
/* How many workers the run had: the scenario's worker groups, else the
 * highest worker number in the trace. */
static int64_t workers_of(explain *x)
{
    int64_t n = 0;
    for (int i = 0; x->sc && i < x->sc->nworkers; i++)
        n += x->sc->workers[i].count;
    sqlite3_stmt *st = NULL;
    if (!n && sqlite3_prepare_v2(x->db, "SELECT coalesce(max(worker), 0) FROM trace", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int story_of_worker(explain *x, int worker)
{
    sqlite3_stmt *st = NULL;
    int64_t nrows = x->h.jobs * x->h.consumers;
    job_walk *walks = calloc((size_t)nrows + 1, sizeof *walks);
    if (!walks) {
        fprintf(stderr, "jetsim explain: harness error: out of memory\n");
        return SIM_EXIT_HARNESS;
    }
    if (sqlite3_prepare_v2(x->db, "SELECT t_ns - ?1, job, kind, arg, worker FROM trace ORDER BY rowid", -1, &st,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "jetsim explain: %s\n", sqlite3_errmsg(x->db));
        free(walks);
        return SIM_EXIT_USAGE;
    }
    for (int64_t r = 0; r <= nrows; r++)
        walks[r].last = -1;
    sqlite3_bind_int64(st, 1, x->h.start_ns);
    printf("\nthe steps of worker %d:\n", worker);
    event ev, prev = {.kind = -1};
    while (read_event(st, &ev)) {
        bool fault = ev.kind == SIM_TR_FAULT, no_job = fault || ev.kind == SIM_TR_RESTART;
        bool twice = fault && prev.kind == SIM_TR_FAULT && prev.t_ns == ev.t_ns && prev.arg == ev.arg &&
                     prev.worker == ev.worker; /* a scheduled crash is traced twice */
        prev = ev;
        job_walk none = {.last = -1}, *w = &none;
        if (!no_job && ev.kind != SIM_TR_PUBLISH && ev.kind != SIM_TR_PUBLISH_FAILED && ev.job >= 1 &&
            ev.job <= nrows)
            w = &walks[ev.job];
        if (ev.worker == worker && !twice) {
            char prefix[48] = "";
            if (!no_job)
                snprintf(prefix, sizeof prefix, "job %" PRId64 ": ", (ev.job - 1) / x->h.consumers + 1);
            say_event(x, w, &ev, prefix);
        }
        walk(w, &ev);
    }
    sqlite3_finalize(st);
    free(walks);
    return 0;
}

/* Whether worker `worker` has a row in the trace. */
static bool worker_stepped(explain *x, int worker)
{
    sqlite3_stmt *st = NULL;
    bool yes = sqlite3_prepare_v2(x->db, "SELECT 1 FROM trace WHERE worker = ? LIMIT 1", -1, &st, NULL) == SQLITE_OK &&
               sqlite3_bind_int(st, 1, worker) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

/* The job and worker asked for are in the run: checked before anything
 * is printed, so that bad input is a message and nothing else.
 * SIM_EXIT_USAGE (said on stderr) or 0. */
static int check_request(explain *x, uint64_t job, int worker)
{
    if (job && (int64_t)job > x->h.jobs) {
        fprintf(stderr, "jetsim explain: no job %" PRIu64 " in this run (its jobs are 1..%" PRId64 ")\n", job,
                x->h.jobs);
        return SIM_EXIT_USAGE;
    }
    int64_t nworkers = workers_of(x);
    if (worker && nworkers > 0 && worker > nworkers) {
        fprintf(stderr, "jetsim explain: no such worker %d in this run (its workers are 1..%" PRId64 ")\n", worker,
                nworkers);
        return SIM_EXIT_USAGE;
    }
    if (worker && !job && x->h.rows > 0 && !worker_stepped(x, worker)) {
        fprintf(stderr, "jetsim explain: worker %d took no step in this run\n", worker);
        return SIM_EXIT_USAGE;
    }
    return 0;
}

static void print_head(const explain *x, const char *path)
{
    const run_head *h = &x->h;
    printf("run %s: seed %" PRIu64 "%s on %s; %" PRId64 " jobs, %" PRId64 " trace rows\n", path, h->seed,
           h->mix ? " with its fault mix" : "", h->backend, h->jobs, h->rows);
    if (!h->finished)
        printf("the run did not finish (killed, or a harness error): what follows is what it committed\n");
    else if (strcmp(h->verdict, "pass") == 0)
        printf("verdict: PASS\n");
    else
        printf("verdict: FAIL (%s): %s\n", h->verdict, h->why);
    if (x->nfaults)
        printf("faults:\n");
    for (int i = 0; i < x->nfaults; i++) {
        char f[256];
        when(x->faults[i].at_ns);
        printf("%s (line %d)\n", sim_rundb_fault_words(&x->faults[i], f, sizeof f), x->faults[i].line);
    }
}

/* How a consumer's jobs ended: a count and a first job per end, in the
 * order of end_names. */
enum { END_DONE, END_DEAD, END_FAILED, END_RUNNING, END_PUBLISHED, END_COUNT };
static const char *const end_names[END_COUNT] = {"done", "dead-lettered", "failed", "running", "published"};
typedef struct ends {
    int64_t n[END_COUNT], first[END_COUNT], jobs;
} ends;

/* The jobs rows the worker layer dead-lettered (trace kind dead_letter)
 * get dead[row] = 1. */
static bool read_dead(explain *x, uint8_t *dead, int64_t rows)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(x->db, "SELECT DISTINCT job FROM trace WHERE kind = ?", -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_int(st, 1, SIM_TR_DEAD);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(st, 0);
        if (row >= 1 && row <= rows)
            dead[row] = 1;
    }
    return sqlite3_finalize(st) == SQLITE_OK;
}

/* Counts each consumer's rows by how they ended, leaving out the rows
 * not for their consumer (its filter does not take the job): they are
 * no job of that consumer. */
static bool count_ends(explain *x, ends *by, int64_t rows)
{
    uint8_t *not_for = calloc((size_t)rows + 1, 1), *dead = calloc((size_t)rows + 1, 1);
    sqlite3_stmt *st = NULL;
    bool ok = not_for && dead && sim_rundb_not_for(x->db, rows, not_for) &&
              read_dead(x, dead, rows) &&
              sqlite3_prepare_v2(x->db, "SELECT id, state FROM jobs ORDER BY id", -1, &st, NULL) == SQLITE_OK;
    while (ok && sqlite3_step(st) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(st, 0);
        int state = sqlite3_column_int(st, 1);
        if (row < 1 || row > rows || not_for[row])
            continue;
        int end = state == SIM_JOB_DONE      ? END_DONE
                : state == SIM_JOB_FAILED    ? (dead[row] ? END_DEAD : END_FAILED)
                : state == SIM_JOB_RUNNING   ? END_RUNNING
                                             : END_PUBLISHED;
        ends *e = &by[(row - 1) % x->h.consumers];
        if (!e->n[end]++)
            e->first[end] = (row - 1) / x->h.consumers + 1;
        e->jobs++;
    }
    sqlite3_finalize(st);
    free(not_for);
    free(dead);
    return ok;
}

static void print_ends(const ends *e)
{
    for (int k = 0, n = 0; k < END_COUNT; k++)
        if (e->n[k])
            printf("%s %s %" PRId64 " (e.g. job %" PRId64 ")", n++ ? ";" : "", end_names[k], e->n[k], e->first[k]);
    printf("\n");
}

/* A run without a named job: how its jobs ended, by consumer when it
 * has several (each counts the jobs its filter takes). 0, or
 * SIM_EXIT_HARNESS when the jobs cannot be read (said on stderr). */
static int print_jobs(explain *x)
{
    int nc = x->h.consumers;
    ends by[SIM_MAX_CONSUMERS];
    memset(by, 0, sizeof by);
    if (nc > SIM_MAX_CONSUMERS || !count_ends(x, by, x->h.jobs * nc)) {
        int ec = sqlite3_errcode(x->db); /* a read that failed with no SQLite error ran out of memory */
        fprintf(stderr, "jetsim explain: harness error: reading the jobs: %s\n",
                nc > SIM_MAX_CONSUMERS                                    ? "more consumers than a run has"
                : ec == SQLITE_OK || ec == SQLITE_ROW || ec == SQLITE_DONE ? "out of memory"
                                                                           : sqlite3_errmsg(x->db));
        return SIM_EXIT_HARNESS;
    }
    printf("jobs by state at the end:");
    if (nc == 1)
        print_ends(&by[0]);
    else
        printf("\n");
    for (int ci = 0; nc > 1 && ci < nc; ci++) {
        if (x->sc && x->sc->nconsumers == nc)
            printf("  %s:", x->sc->consumers[ci].name);
        else
            printf("  consumer %d:", ci + 1);
        print_ends(&by[ci]);
    }
    if (nc > 1) {
        printf("  (each consumer counts the jobs its filter takes:");
        for (int ci = 0; ci < nc; ci++)
            printf("%s%" PRId64, ci ? " + " : " ", by[ci].jobs);
        printf(" of %" PRId64 ")\n", x->h.jobs);
    }
    printf("`jetsim explain RUN.db --job N` tells one job's story, --worker W one worker's\n");
    return 0;
}

/* What was asked for, after the run's head. */
static int tell(explain *x, const char *db_path, uint64_t job, int worker)
{
    print_head(x, db_path);
    if (x->h.rows == 0) {
        printf("no trace rows: the run kept none (a run database in memory keeps none)\n");
        return 0;
    }
    if (job)
        return story_of_job(x, job, worker);
    if (worker)
        return story_of_worker(x, worker);
    if (x->h.bad_job) {
        printf("the first violation names job %" PRIu64 ":", x->h.bad_job);
        return story_of_job(x, x->h.bad_job, 0);
    }
    return print_jobs(x);
}

int sim_explain(const char *db_path, uint64_t job, int worker)
{
    explain x = {0};
    bool oom = false;
    if (!sim_rundb_open(&x.db, "jetsim explain", db_path))
        return SIM_EXIT_USAGE;
    if (!read_head(&x) || !sim_rundb_faults(x.db, &x.faults, &x.nfaults, &oom)) {
        if (oom)
            fprintf(stderr, "jetsim explain: harness error: out of memory\n");
        else
            sim_rundb_not_ours("jetsim explain", db_path, x.db);
        sqlite3_close(x.db);
        free(x.faults);
        return oom ? SIM_EXIT_HARNESS : SIM_EXIT_USAGE;
    }
    name_faults(&x);
    int rc = check_request(&x, job, worker);
    if (rc == 0)
        rc = tell(&x, db_path, job, worker);
    sqlite3_close(x.db);
    free(x.faults);
    sim_scenario_free(x.sc);
    return rc;
}
