/* workers.c — the simulated workers, built on the worker layer application
 * code uses (core/ps_worker.h): a ps_worker fetches a batch and hands each
 * message to this file's handler, which defers it (PS_HANDLE_DEFER, the
 * layer's asynchronous handler); the simulated worker then handles them one
 * after another, each for a drawn time, writes the result to the master
 * (version-checked) and completes it with ps_worker_complete: ack, retry
 * (nak) on a handler failure or a refused write, term at MaxDeliver. No
 * simulation-only fetch or ack logic: the faults come from outside, as
 * they would to an application.
 *
 * A crash: the worker's process is gone. Its consumer handle is cut off in
 * the fault shim (so the naks of the layer's stop never arrive), the
 * ps_worker is freed, and the messages it held come back after AckWait; a
 * new ps_worker starts when the crash is over. A partition: the handle is
 * cut off for the duration, the worker still reaches the master, so it
 * handles and commits what it holds, but its acks and fetches time out.
 *
 * Not: the faults that make them crash (faults.c).
 */
#include "engine_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fault_shim.h"
#include "ps_backend_impl.h"

/* ---- workers ------------------------------------------------------------------------- */

/* The job a message carries: its Jetsim-Job header (a payload made by
 * the user's code), else its data (the job number in decimal). 0: not one
 * of the run's jobs. Headers are decoded only in a run that may set it. */
static uint64_t job_of(const engine *e, ps_msg *m)
{
    const ps_headers *h = m->hdr && e->job_headers ? ps_msg_headers(m) : NULL;
    const char *v = h ? ps_headers_get(h, SIM_JOB_HEADER) : NULL;
    /* the leading decimal digits, as strtoull reads them, without its cost per delivery */
    const char *d = v ? v : (const char *)m->data;
    uint64_t job = 0;
    while (d && *d >= '0' && *d <= '9')
        job = job * 10 + (uint64_t)(*d++ - '0');
    return job;
}

/* expect not_early: the layer hands out a delayed job only once it is due
 * (Jetsim-Not-Before, on the broker's clock); this records one it did
 * not. */
static void check_due(engine *e, worker *w, ps_msg *m)
{
    uint64_t job = job_of(e, m);
    if (job == 0 || job > e->njobs || !e->not_before[job])
        return;
    int64_t early = e->not_before[job] - ps_clock_now(e->bclock);
    if (early <= 0)
        return;
    early = eng_unscaled(e, early); /* told, like every time of the run, in scenario time */
    e->res->early++;
    if (!e->first_early_job) {
        e->first_early_job = job;
        e->first_early_ns = early;
    }
    eng_trace(e, SIM_TR_EARLY, eng_row_of(e, job, w->ci), (int)(w - e->w) + 1, early);
}

/* The layer's handler: keep the message; the worker handles it in turn. */
static ps_handle_result defer(void *user, ps_msg *m)
{
    worker *w = user;
    check_due(w->eng, w, m);
    w->held[(w->head + w->nheld++) % w->cap] = m;
    return PS_HANDLE_DEFER;
}

/* The layer published a dead letter for m: the job is over (failed), and
 * the run database says how (SIM_TR_DEAD). A job dead-lettered again (a
 * term lost on the way, a spare delivery) counts once. */
static void dead_lettered(void *user, ps_msg *m, const char *reason)
{
    worker *w = user;
    engine *e = w->eng;
    uint64_t job = job_of(e, m);
    if (job == 0 || job > e->njobs)
        return;
    uint64_t r = eng_row_of(e, job, w->ci);
    eng_trace(e, SIM_TR_DEAD, r, (int)(w - e->w) + 1, strcmp(reason, "term") == 0);
    if (e->rows[r].dead)
        return;
    e->rows[r].dead = 1;
    e->res->dead_lettered++;
    sim_job_view v;
    if (sim_master_job_view(e->m, r, &v) && v.state != SIM_JOB_DONE && v.state != SIM_JOB_FAILED) {
        ps_status s = sim_master_job_fail(e->m, r, ps_clock_now(e->clock));
        if (s == PS_ERR_NO_MEMORY)
            eng_fail(e, s);
        eng_settle(e, r);
    }
}

/* What the layer could not send. Broker faults are the run's business
 * (the message comes back); running out of memory is the harness's. */
static void layer_error(void *user, const ps_msg *m, ps_ack_kind kind, ps_status st, const char *detail)
{
    (void)m;
    (void)kind;
    (void)detail;
    worker *w = user;
    if (st == PS_ERR_NO_MEMORY)
        eng_fail(w->eng, st);
}

static ps_status start(engine *e, worker *w)
{
    const sim_workers *g = w->g;
    ps_worker_config cfg = {.stream = g->stream, .consumer = e->ccfg[w->ci], .batch = (int)g->batch,
                            .max_in_flight = w->cap, .handler = defer, .user = w, .fetch_no_wait = true,
                            .nak_backoff_ns = g->nbackoff ? e->wbackoff[g - e->sc->workers] : NULL,
                            .nak_backoff_len = g->nbackoff,
                            .dead_letter_subject = g->dead_letter[0] ? g->dead_letter : NULL,
                            .dead_letter_after = (int)g->dead_letter_after, .on_dead_letter = dead_lettered,
                            .on_error = layer_error,
                            .clock = g->ignore_not_before ? NULL : e->bclock, .key_header = g->key_header[0] ? g->key_header : NULL};
    ps_status s = ps_worker_new(&w->pw, e->b, &cfg);
    /* it adds the consumer again (idempotent); a cluster may be slow to answer */
    for (int k = 0; k < 20 && (s == PS_ERR_TIMEOUT || s == PS_ERR_UNAVAILABLE); k++)
        s = ps_worker_new(&w->pw, e->b, &cfg);
    if (s == PS_OK && w->partitioned) /* restarted inside a partition */
        sim_shim_cut_consumer(ps_worker_consumer(w->pw), true);
    if (s == PS_OK && e->user) /* the user's handler: its init, a fresh connection */
        s = sim_user_worker_start(e->user, (int)(w - e->w));
    return s;
}

ps_status eng_workers_setup(engine *e, worker *w)
{
    w->cap = (int)(w->g->max_in_flight > w->g->batch ? w->g->max_in_flight : w->g->batch);
    w->held = calloc((size_t)w->cap, sizeof *w->held);
    return w->held ? start(e, w) : ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
}

void eng_workers_free(worker *w)
{
    ps_worker_free(w->pw);
    w->pw = NULL;
    free(w->held);
}

void eng_crash(engine *e, worker *w, int64_t until)
{
    /* It restarts at `until`. An idle worker has no event of its own, and
     * a busy one's commit event will find the epoch changed: either gets
     * its restart event now (a polling worker's next poll reschedules). */
    if (w->idle || w->cur)
        eng_push(e, until, EV_WORKER, (int)(w - e->w), 0);
    if (w->idle) {
        w->idle = false;
        e->nidle--;
    }
    w->crashed_until = until;
    w->crashed_at = ps_clock_now(e->clock);
    w->epoch++;
    if (w->pw) { /* the process dies: nothing it sends on the way out arrives */
        sim_shim_cut_consumer(ps_worker_consumer(w->pw), true);
        ps_worker_free(w->pw);
        w->pw = NULL;
    }
    w->nheld = 0;
    w->head = 0;
    w->cur = NULL;
    if (e->user) /* its state and its database connection die with it */
        sim_user_worker_crash(e->user, (int)(w - e->w));
    eng_trace(e, SIM_TR_FAULT, 0, (int)(w - e->w) + 1, SIM_FAULT_CRASH_WORKER);
}

void eng_partition(engine *e, worker *w, bool on)
{
    (void)e;
    if (w->pw)
        sim_shim_cut_consumer(ps_worker_consumer(w->pw), on);
}

/* Counts the stored copies of a row's job: distinct stream sequences, not
 * first deliveries (a server restarted after a crash may deliver the one
 * copy it stored as new again: num_delivered 1, same sequence). */
static void count_copy(engine *e, uint64_t r, uint64_t seq)
{
    row *rw = &e->rows[r];
    if (rw->copies == 0) {
        rw->copies = 1;
        rw->seq = seq;
        return;
    }
    if (seq == rw->seq)
        return;
    for (size_t i = e->ncopies; i-- > 0;)
        if (e->copies[i].row == r && e->copies[i].seq == seq)
            return;
    if (e->ncopies == e->capcopies) {
        size_t ncap = e->capcopies ? e->capcopies * 2 : 64;
        row_copy *n = realloc(e->copies, ncap * sizeof *n);
        if (!n)
            return; /* the count stays low: a dedup failure still shows, with fewer copies */
        e->copies = n;
        e->capcopies = ncap;
    }
    e->copies[e->ncopies++] = (row_copy){r, seq};
    if (rw->copies < 255)
        rw->copies++;
}

/* ---- the user's handler (user.h) ------------------------------------------------------------ */

static void user_answer(engine *e, worker *w, int wi);
static void reply(engine *e, worker *w, int wi, ps_msg *m, uint64_t r, ps_ack_kind kind, int64_t arg);
static void reply_after(engine *e, worker *w, int wi, ps_msg *m, uint64_t r, ps_ack_kind kind, int64_t arg,
                        int64_t delay_ns);
static bool commit(engine *e, worker *w, int wi, uint64_t r);

/* A delivery to a worker running the user's handler: the handler runs
 * now (its database work and service calls happen now), its answer goes
 * out after the time it spent (EV_COMMIT). A crash point before the
 * handler, or at its n-th database write, kills the worker instead. */
static void user_deliver(engine *e, worker *w, int wi, ps_msg *m, uint64_t job, int64_t now)
{
    bool ours = job > 0 && job <= e->njobs; /* else a follow-up or someone else's message: no bookkeeping */
    uint64_t r = ours ? eng_row_of(e, job, w->ci) : 0;
    if (ours) {
        eng_trace(e, SIM_TR_DELIVER, r, wi + 1, (int64_t)m->meta.num_delivered);
        count_copy(e, r, m->meta.stream_seq);
        ps_status s = sim_master_job_start(e->m, r, wi + 1, now, &w->version);
        if (s == PS_ERR_NO_MEMORY)
            eng_fail(e, s);
    }
    if (w->crash_before_handle) {
        w->crash_before_handle = false;
        eng_crash(e, w, now + w->crash_for_ns);
        return;
    }
    sim_user_answer a;
    sim_user_handle(e->user, wi, job, m, now, &a);
    if (a.crashed) { /* died at its n-th write: nothing committed, no answer */
        eng_crash(e, w, eng_now(e) + a.elapsed_ns + w->crash_for_ns);
        return;
    }
    w->answer = a.outcome;
    eng_push(e, now + a.elapsed_ns, EV_COMMIT, wi, (uint64_t)w->epoch);
}

/* jetsim's record that the user's handler said the job is done (no_loss,
 * drain). Whatever attempt says so: unlike the built-in job system, whose
 * versioned commit lets only the latest attempt complete a job, the
 * user's code keeps its own records, and its answer is the fact. */
static void user_done(engine *e, int wi, uint64_t r, int64_t now)
{
    sim_job_view v;
    bool applied = false;
    int64_t version = sim_master_job_view(e->m, r, &v) ? v.version : 0;
    ps_status s = sim_master_job_complete(e->m, r, wi + 1, version, now, &applied);
    if (s == PS_ERR_NO_MEMORY)
        eng_fail(e, s);
    eng_trace(e, s == PS_OK ? SIM_TR_COMMIT : SIM_TR_DB_ERROR, r, wi + 1, version);
    if (s == PS_OK) {
        eng_settle(e, r);
        if (!e->rows[r].done_order)
            e->rows[r].done_order = ++e->completions;
    }
}

static void user_answer(engine *e, worker *w, int wi)
{
    ps_msg *m = w->cur;
    uint64_t job = job_of(e, m);
    bool ours = job > 0 && job <= e->njobs;
    uint64_t r = ours ? eng_row_of(e, job, w->ci) : 0;
    int64_t now = ps_clock_now(e->clock);
    switch (w->answer.answer) {
    case PS_SIM_ACK:
        if (ours)
            user_done(e, wi, r, now);
        if (w->crash_after_commit) { /* committed, and the ack never leaves */
            w->crash_after_commit = false;
            eng_crash(e, w, now + w->crash_for_ns);
            eng_push(e, now, EV_WORKER, wi, 0);
            return;
        }
        reply(e, w, wi, m, r, PS_ACK, 0);
        break;
    case PS_SIM_TERM:
        if (ours) {
            sim_master_job_fail(e->m, r, now);
            eng_settle(e, r);
        }
        reply(e, w, wi, m, r, PS_TERM, 0);
        break;
    case PS_SIM_DEFER: /* no answer: back after AckWait */
        ps_worker_complete_ex(w->pw, m, PS_HANDLE_DEFER, 0);
        w->cur = NULL;
        eng_trace(e, SIM_TR_UNSENT, r, wi + 1, PS_NAK);
        break;
    default:
        reply_after(e, w, wi, m, r, PS_NAK, 0, w->answer.delay_ns);
        break;
    }
    eng_push(e, now, EV_WORKER, wi, 0);
}

void eng_on_worker(engine *e, int wi)
{
    worker *w = &e->w[wi];
    int64_t now = ps_clock_now(e->clock);
    if (now < w->crashed_until) {
        eng_push(e, w->crashed_until, EV_WORKER, wi, 0);
        return;
    }
    ps_status s;
    if (!w->pw) { /* restarted after a crash */
        if ((s = start(e, w)) != PS_OK) {
            if (s == PS_ERR_NO_MEMORY)
                eng_fail(e, s); /* the harness's failure, not the broker's */
            eng_push(e, eng_now(e) + POLL_NS, EV_WORKER, wi, 0);
            return;
        }
        eng_trace(e, SIM_TR_RESTART, 0, wi + 1, ps_clock_now(e->clock) - w->crashed_at);
    }
    if (w->cur)
        return; /* busy: its commit event comes */
    if (w->nheld == 0) {
        int handled = 0;
        if ((s = ps_worker_poll(w->pw, &handled)) == PS_ERR_NO_MEMORY)
            eng_fail(e, s);
        if (s != PS_OK || handled == 0) {
            /* Found nothing: idle until something is due (eng_idle). A
             * poll that failed, or that took longer than POLL_NS, goes
             * again after POLL_NS or after as long as it took, counted
             * from when it returned: on a real server a fetch may wait
             * out its timeout (a pull for a consumer the server lost gets
             * no answer at all), and the one event loop must not spend
             * all its time there while the publishers' events are
             * overdue. On the model a poll takes no time. */
            int64_t after = eng_now(e), took = after - now;
            if (s == PS_OK && took <= POLL_NS)
                eng_idle(e, w);
            else
                eng_push(e, after + (took > POLL_NS ? took : POLL_NS), EV_WORKER, wi, 0);
            return;
        }
    }
    ps_msg *m = w->cur = w->held[w->head];
    w->head = (w->head + 1) % w->cap;
    w->nheld--;
    uint64_t job = job_of(e, m);
    if (w->g->handler[0]) {
        user_deliver(e, w, wi, m, job, now);
        return;
    }
    if (job == 0 || job > e->njobs) { /* not one of the run's jobs (another publisher on a shared server) */
        ps_worker_complete(w->pw, m, PS_HANDLE_TERM);
        w->cur = NULL;
        eng_push(e, now, EV_WORKER, wi, 0);
        return;
    }
    uint64_t r = eng_row_of(e, job, w->ci);
    eng_trace(e, SIM_TR_DELIVER, r, wi + 1, (int64_t)m->meta.num_delivered);
    count_copy(e, r, m->meta.stream_seq);
    if ((s = sim_master_job_start(e->m, r, wi + 1, now, &w->version)) != PS_OK) {
        if (s == PS_ERR_NO_MEMORY)
            eng_fail(e, s); /* not an injected database fault */
        w->version = -1;
    }
    if (w->crash_before_handle) { /* it dies as the message arrives: nothing handled, no answer */
        w->crash_before_handle = false;
        eng_crash(e, w, now + w->crash_for_ns);
        return;
    }
    int64_t handle = now < w->slow_until ? w->slow_ns
                                         : ps_rand_range(&w->rng, w->g->handle_min_ns, w->g->handle_max_ns);
    eng_push(e, now + handle, EV_COMMIT, wi, (uint64_t)w->epoch);
}

/* The shim's fault behind each sim_ack_fate but arrived. */
static const sim_shim_knob ack_faults[] = {[SIM_ACK_LOST] = SIM_SHIM_DROP_ACK, [SIM_ACK_AS_NAK] = SIM_SHIM_NAK_STORM,
                                           [SIM_ACK_AS_TERM] = SIM_SHIM_TERM_STORM};

/* Completes the message through the layer: ack, nak (retry) or term. Cut
 * off from the broker, it is lost on the way (the trace says unsent); the
 * message comes back after AckWait. An ack the fault shim lost or turned
 * into a NAK or a TERM (drop acks, nak/term storm) says so in its row. */
static void reply_after(engine *e, worker *w, int wi, ps_msg *m, uint64_t r, ps_ack_kind kind, int64_t arg,
                        int64_t delay_ns)
{
    static const sim_trace_kind tr[] = {[PS_ACK] = SIM_TR_ACK, [PS_NAK] = SIM_TR_NAK, [PS_TERM] = SIM_TR_TERM};
    static const ps_handle_result res[] = {[PS_ACK] = PS_HANDLE_ACK, [PS_NAK] = PS_HANDLE_RETRY,
                                           [PS_TERM] = PS_HANDLE_TERM};
    bool cut = sim_shim_is_cut_off(ps_worker_consumer(w->pw)); /* the shim drops it */
    bool was_dead = r && e->rows[r].dead;
    uint64_t injected[SIM_ACK_AS_TERM + 1] = {0};
    for (int k = SIM_ACK_LOST; k <= SIM_ACK_AS_TERM; k++)
        injected[k] = sim_shim_injected(e->b, ack_faults[k]);
    if (delay_ns > 0)
        ps_worker_complete_ex(w->pw, m, res[kind], delay_ns); /* m is the layer's again */
    else
        ps_worker_complete(w->pw, m, res[kind]);
    w->cur = NULL;
    for (int k = SIM_ACK_LOST; k <= SIM_ACK_AS_TERM && kind == PS_ACK && !cut; k++)
        if (sim_shim_injected(e->b, ack_faults[k]) != injected[k])
            arg = k;
    if (r && !was_dead && e->rows[r].dead)
        kind = PS_TERM; /* the layer dead-lettered it, then termed it */
    eng_trace(e, cut ? SIM_TR_UNSENT : tr[kind], r, wi + 1, cut ? kind : arg);
}

static void reply(engine *e, worker *w, int wi, ps_msg *m, uint64_t r, ps_ack_kind kind, int64_t arg)
{
    reply_after(e, w, wi, m, r, kind, arg, 0);
}

/* The handler's write to the master; false when the database refused it. */
static bool commit(engine *e, worker *w, int wi, uint64_t r)
{
    sim_job_view v;
    if (w->g->idempotent && sim_master_job_view(e->m, r, &v) && v.state == SIM_JOB_DONE)
        return true; /* done already: an idempotent handler does nothing */
    if (e->db_fault_bp && !e->sc->has_database && ps_rand_below(&e->rng, 10000) < (uint64_t)e->db_fault_bp)
        sim_master_set_fault(e->m, e->db_fault_status, 1);
    bool applied = false;
    int64_t now = ps_clock_now(e->clock);
    ps_status s = sim_master_job_complete(e->m, r, wi + 1, w->version, now, &applied);
    if (s != PS_OK) {
        if (s == PS_ERR_NO_MEMORY)
            eng_fail(e, s); /* not an injected database fault */
        eng_trace(e, SIM_TR_DB_ERROR, r, wi + 1, 0);
        return false;
    }
    eng_trace(e, applied ? SIM_TR_COMMIT : SIM_TR_STALE, r, wi + 1, w->version);
    if (applied) {
        eng_settle(e, r);
        if (!e->rows[r].done_order)
            e->rows[r].done_order = ++e->completions;
    }
    /* A stale commit means a later attempt owns the job. Acking now would
     * remove the message while that attempt may still die: only a job
     * that is done may be acked (swarm found the loss: seed 35). */
    return applied || (sim_master_job_view(e->m, r, &v) && v.state == SIM_JOB_DONE);
}

/* Does the handler fail this attempt? A pure function of the seed, the
 * row (job and consumer) and the attempt (the delivery count), not a draw
 * from the worker's generator: which worker handles which job, and in
 * what order, differs between the model and a real server, and `jetsim
 * diff` of a fault-free scenario with fail= must see the same jobs fail
 * on both sides. */
static bool handler_fails(const engine *e, const worker *w, uint64_t r, uint64_t attempt)
{
    if (!w->g->fail_bp)
        return false;
    uint64_t x = e->seed ^ (r * UINT64_C(0x9E3779B97F4A7C15)) ^ (attempt * UINT64_C(0xD1B54A32D192ED03));
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9); /* splitmix64's finaliser */
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    x ^= x >> 31;
    return x % 10000 < (uint64_t)w->g->fail_bp;
}

void eng_on_commit(engine *e, int wi, uint64_t arg)
{
    worker *w = &e->w[wi];
    if ((uint32_t)arg != w->epoch || !w->cur)
        return; /* the worker crashed meanwhile */
    if (w->g->handler[0]) {
        user_answer(e, w, wi);
        return;
    }
    ps_msg *m = w->cur;
    uint64_t r = eng_row_of(e, job_of(e, m), w->ci);
    const sim_consumer *c = &e->sc->consumers[w->ci];
    int64_t now = ps_clock_now(e->clock);
    if (handler_fails(e, w, r, m->meta.num_delivered)) {
        if (w->g->dead_letter[0]) {
            reply(e, w, wi, m, r, PS_NAK, 0); /* the layer dead-letters it on its last delivery */
        } else if (c->max_deliver > 0 && (int64_t)m->meta.num_delivered >= c->max_deliver) {
            sim_master_job_fail(e->m, r, now);
            eng_settle(e, r);
            reply(e, w, wi, m, r, PS_TERM, 0);
        } else {
            reply(e, w, wi, m, r, PS_NAK, 0);
        }
    } else if (w->g->commit == SIM_COMMIT_BEFORE_ACK) {
        if (!commit(e, w, wi, r)) {
            reply(e, w, wi, m, r, PS_NAK, 1); /* refused, or another attempt owns the job: later */
        } else if (w->crash_after_commit) {
            w->crash_after_commit = false;
            eng_crash(e, w, now + PS_NS_PER_SEC);
            eng_push(e, now, EV_WORKER, wi, 0);
            return;
        } else {
            reply(e, w, wi, m, r, PS_ACK, 0);
        }
    } else { /* ack, then commit: the order the buggy scenario uses */
        reply(e, w, wi, m, r, PS_ACK, 0);
        if (w->crash_after_commit) {
            w->crash_after_commit = false;
            eng_crash(e, w, now + PS_NS_PER_SEC);
            eng_push(e, now, EV_WORKER, wi, 0);
            return;
        }
        commit(e, w, wi, r);
    }
    eng_push(e, now, EV_WORKER, wi, 0);
}
