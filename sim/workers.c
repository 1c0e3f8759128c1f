/* workers.c — the simulated workers, built on the contract as application
 * code would be: fetch a batch, handle each message for a drawn time,
 * write the result to the master (version-checked) and ack, in the order
 * the scenario says; nak on a handler failure or a refused write, term at
 * MaxDeliver. A crash abandons the batch (redelivery after AckWait). A
 * partitioned worker still reaches the master but not the broker: it
 * handles and commits what it holds, its acks are lost, and it fetches
 * nothing until the partition heals.
 *
 * Not: the faults that make them crash (faults.c).
 */
#include "engine_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- workers ------------------------------------------------------------------------- */

static uint64_t job_of(const ps_msg *m)
{
    return strtoull((const char *)m->data, NULL, 10);
}

void eng_crash(engine *e, worker *w, int64_t until)
{
    w->crashed_until = until;
    w->epoch++;
    ps_msg_list_clear(&w->batch); /* in flight: never acked, redelivered after AckWait */
    w->next = 0;
    eng_trace(e, SIM_TR_FAULT, 0, (int)(w - e->w) + 1, SIM_FAULT_CRASH_WORKER);
}

void eng_on_worker(engine *e, int wi)
{
    worker *w = &e->w[wi];
    int64_t now = ps_clock_now(e->clock);
    if (now < w->crashed_until) {
        sim_events_push(&e->q, w->crashed_until, EV_WORKER, wi, 0);
        return;
    }
    if (w->next >= w->batch.count && now < w->partitioned_until) {
        sim_events_push(&e->q, w->partitioned_until, EV_WORKER, wi, 0); /* fetches fail until then */
        return;
    }
    if (w->next >= w->batch.count && eng_broker_down(e)) {
        sim_events_push(&e->q, e->broker_down_until, EV_WORKER, wi, 0);
        return;
    }
    if (w->next >= w->batch.count) {
        ps_msg_list_clear(&w->batch);
        w->next = 0;
        /* on a real server, ask for no_wait outright: an empty poll is
         * answered at once instead of holding the loop until an expiry */
        ps_fetch_request req = {.batch = (int)w->g->batch, .expires_ns = 0, .no_wait = e->real};
        if (ps_fetch(w->c, &req, &w->batch) != PS_OK || w->batch.count == 0) {
            sim_events_push(&e->q, now + POLL_NS, EV_WORKER, wi, 0);
            return;
        }
    }
    ps_msg *m = w->batch.msgs[w->next];
    uint64_t r = eng_row_of(e, job_of(m), w->ci);
    eng_trace(e, SIM_TR_DELIVER, r, wi + 1, (int64_t)m->meta.num_delivered);
    if (m->meta.num_delivered == 1 && e->rows[r].first_deliveries < 255)
        e->rows[r].first_deliveries++;
    if (sim_master_job_start(e->m, r, wi + 1, now, &w->version) != PS_OK)
        w->version = -1;
    int64_t handle = now < w->slow_until ? w->slow_ns
                                         : ps_rand_range(&w->rng, w->g->handle_min_ns, w->g->handle_max_ns);
    sim_events_push(&e->q, now + handle, EV_COMMIT, wi, ((uint64_t)w->epoch << 32) | (uint32_t)w->next);
}

/* Acks, naks or terms the message, unless the worker is cut off from the
 * broker: then it is lost on the way (redelivery after AckWait). */
static void reply(engine *e, worker *w, int wi, ps_msg *m, uint64_t r, ps_ack_kind kind, int64_t arg)
{
    static const sim_trace_kind tr[] = {[PS_ACK] = SIM_TR_ACK, [PS_NAK] = SIM_TR_NAK, [PS_TERM] = SIM_TR_TERM};
    if (ps_clock_now(e->clock) < w->partitioned_until || eng_broker_down(e)) {
        eng_trace(e, SIM_TR_UNSENT, r, wi + 1, kind);
        return;
    }
    ps_ack(m, kind, 0);
    eng_trace(e, tr[kind], r, wi + 1, arg);
}

/* The handler's write to the master; false when the database refused it. */
static bool commit(engine *e, worker *w, int wi, uint64_t r)
{
    sim_job_view v;
    if (w->g->idempotent && sim_master_job_view(e->m, r, &v) && v.state == SIM_JOB_DONE)
        return true; /* done already: an idempotent handler does nothing */
    if (e->db_fault_bp && ps_rand_below(&e->rng, 10000) < (uint64_t)e->db_fault_bp)
        sim_master_set_fault(e->m, e->db_fault_status, 1);
    bool applied = false;
    int64_t now = ps_clock_now(e->clock);
    if (sim_master_job_complete(e->m, r, wi + 1, w->version, now, &applied) != PS_OK) {
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

void eng_on_commit(engine *e, int wi, uint64_t arg)
{
    worker *w = &e->w[wi];
    if ((uint32_t)(arg >> 32) != w->epoch)
        return; /* the worker crashed meanwhile */
    int idx = (int)(uint32_t)arg;
    ps_msg *m = w->batch.msgs[idx];
    uint64_t r = eng_row_of(e, job_of(m), w->ci);
    const sim_consumer *c = &e->sc->consumers[w->ci];
    int64_t now = ps_clock_now(e->clock);
    w->next = idx + 1;
    if (w->g->fail_bp && ps_rand_below(&w->rng, 10000) < (uint64_t)w->g->fail_bp) {
        if (c->max_deliver > 0 && (int64_t)m->meta.num_delivered >= c->max_deliver) {
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
            sim_events_push(&e->q, now, EV_WORKER, wi, 0);
            return;
        } else {
            reply(e, w, wi, m, r, PS_ACK, 0);
        }
    } else { /* ack, then commit: the order the buggy scenario uses */
        reply(e, w, wi, m, r, PS_ACK, 0);
        if (w->crash_after_commit) {
            w->crash_after_commit = false;
            eng_crash(e, w, now + PS_NS_PER_SEC);
            sim_events_push(&e->q, now, EV_WORKER, wi, 0);
            return;
        }
        commit(e, w, wi, r);
    }
    sim_events_push(&e->q, now, EV_WORKER, wi, 0);
}
