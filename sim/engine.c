/* engine.c — one run of one scenario on the memory backend (engine.h).
 *
 * Everything happens at events popped from one queue in (time, insertion)
 * order; the manual clock is set to each event's time before it runs.
 * Every random choice comes from a generator derived from the run seed
 * for its actor (ps_rand_derive), so the same scenario and seed give the
 * same trace, whose hash the result carries.
 *
 * A job owed to several consumers (an event stream) has one master row
 * per consumer: row = (job - 1) * consumers + consumer + 1.
 */
#include "engine.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "fault_shim.h"
#include "master.h"
#include "ps_clock.h"
#include "ps_memory.h"
#include "ps_rand.h"
#include "ps_subject.h"

enum { EV_PUBLISH, EV_WORKER, EV_COMMIT, EV_FAULT, EV_FAULT_END };

#define POLL_NS (50 * PS_NS_PER_MS)
#define COMMIT_EVERY 4096
#define DEFAULT_DRAIN_NS (600 * PS_NS_PER_SEC)

typedef struct worker {
    const sim_workers *g;
    int ci;              /* consumer index */
    ps_consumer *c;
    ps_rand rng;
    int64_t crashed_until;
    uint32_t epoch;
    bool crash_after_commit;
    int64_t slow_until, slow_ns;
    ps_msg_list batch;
    int next;
    int64_t version;     /* of the job being handled */
} worker;

typedef struct pubstate {
    const sim_publisher *p;
    int64_t sent;        /* jobs started */
    ps_rand rng;
} pubstate;

typedef struct row {
    uint8_t owed, settled;
    uint8_t first_deliveries; /* deliveries with num_delivered 1: copies stored */
    uint64_t done_order;      /* 1, 2, ... in the order jobs were completed */
} row;

typedef struct engine {
    const sim_scenario *sc;
    FILE *log;
    ps_clock *clock;
    ps_backend *mem, *b;
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
    row *rows;           /* per master row */
    uint64_t njobs, capjobs;
    int64_t open;        /* rows acked, owed and not settled */
    int db_fault_bp;
    ps_status db_fault_status;
    ps_rand rng;         /* the engine's own draws (db faults) */
    int64_t quiet_after; /* last publish or fault end */
    int64_t base;        /* the clock at the run's start: scenario times count from it */
    sim_result *res;
    uint64_t since_commit;
    bool record;
    size_t caphashes;
    uint64_t completions;   /* for row.done_order */
} engine;

/* ---- trace ---------------------------------------------------------------------- */

static void trace(engine *e, sim_trace_kind kind, uint64_t job, int worker_id, int64_t arg)
{
    int64_t t = ps_clock_now(e->clock);
    uint64_t h = e->res->trace_hash ? e->res->trace_hash : UINT64_C(14695981039346656037);
    uint64_t parts[5] = {(uint64_t)t, (uint64_t)kind, job, (uint64_t)(int64_t)worker_id, (uint64_t)arg};
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 8; k++) {
            h ^= (parts[i] >> (8 * k)) & 0xff;
            h *= UINT64_C(1099511628211);
        }
    e->res->trace_hash = h;
    if (e->record) {
        sim_result *r = e->res;
        if (r->nhashes == e->caphashes) {
            size_t ncap = e->caphashes ? e->caphashes * 2 : 4096;
            uint64_t *n = realloc(r->hashes, ncap * sizeof *n);
            if (!n)
                e->record = false;
            else {
                r->hashes = n;
                e->caphashes = ncap;
            }
        }
        if (e->record)
            r->hashes[r->nhashes++] = h;
    }
    sim_master_trace(e->m, t, kind, job, worker_id, arg);
}

static uint64_t row_of(const engine *e, uint64_t job, int ci)
{
    return (job - 1) * (uint64_t)e->nc + (uint64_t)ci + 1;
}

static void settle(engine *e, uint64_t r)
{
    if (e->rows[r].settled)
        return;
    e->rows[r].settled = 1;
    uint64_t job = (r - 1) / (uint64_t)e->nc + 1;
    if (e->acked[job] && e->rows[r].owed)
        e->open--;
}

/* ---- publishing --------------------------------------------------------------------- */

static ps_status new_job(engine *e, int pi, uint64_t *out)
{
    if (e->njobs + 1 >= e->capjobs) {
        uint64_t ncap = e->capjobs ? e->capjobs * 2 : 4096;
        uint8_t *a = realloc(e->acked, ncap), *t = realloc(e->tries, ncap);
        if (a)
            e->acked = a;
        if (t)
            e->tries = t;
        uint32_t *p = realloc(e->pubidx, ncap * sizeof *p);
        if (p)
            e->pubidx = p;
        row *r = realloc(e->rows, (ncap * (uint64_t)e->nc + 1) * sizeof *r);
        if (r)
            e->rows = r;
        if (!a || !t || !p || !r)
            return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
        e->capjobs = ncap;
    }
    uint64_t job = ++e->njobs;
    e->acked[job] = 0;
    e->tries[job] = 0;
    e->pubidx[job] = (uint32_t)pi;
    const sim_publisher *p = e->pub[pi].p;
    int64_t key = p->keys ? (int64_t)ps_rand_below(&e->pub[pi].rng, (uint64_t)p->keys) : -1;
    int64_t now = ps_clock_now(e->clock);
    for (int ci = 0; ci < e->nc; ci++) {
        const sim_consumer *c = &e->sc->consumers[ci];
        bool owed = false;
        for (int s = 0; s < e->sc->nstreams; s++) {
            const sim_stream *st = &e->sc->streams[s];
            if (strcmp(st->name, c->stream) != 0)
                continue;
            for (int k = 0; k < st->nsubjects; k++)
                owed |= ps_subject_matches(st->subjects[k], p->subject);
        }
        if (c->filter[0])
            owed = owed && ps_subject_matches(c->filter, p->subject);
        uint64_t r = row_of(e, job, ci);
        e->rows[r] = (row){owed, 0, 0, 0};
        ps_status s = sim_master_job_add(e->m, r, key, now);
        if (s)
            return s;
    }
    *out = job;
    return PS_OK;
}

static ps_status on_publish(engine *e, int pi, uint64_t job)
{
    pubstate *ps = &e->pub[pi];
    const sim_publisher *p = ps->p;
    int64_t now = ps_clock_now(e->clock);
    if (job == 0) {
        if (ps->sent >= p->count)
            return PS_OK;
        ps_status s = new_job(e, pi, &job);
        if (s)
            return s;
        ps->sent++;
        if (ps->sent < p->count) {
            sim_events_push(&e->q, e->base + (int64_t)((double)ps->sent * 1e9 / p->rate_per_s), EV_PUBLISH,
                            pi, 0);
        } else {
            e->publishers_done++;
            if (now > e->quiet_after)
                e->quiet_after = now;
        }
    }
    char data[24], id[32];
    snprintf(data, sizeof data, "%" PRIu64, job);
    snprintf(id, sizeof id, "job-%" PRIu64, job);
    ps_out_msg m = {.subject = p->subject, .data = data, .len = strlen(data),
                    .msg_id = p->msg_id == SIM_MSG_ID_JOB ? id : NULL};
    e->tries[job]++;
    ps_pub_ack ack;
    if (ps_publish(e->b, &m, &ack) == PS_OK) {
        if (!e->acked[job]) {
            e->acked[job] = 1;
            e->res->jobs_published++;
            for (int ci = 0; ci < e->nc; ci++) {
                row *r = &e->rows[row_of(e, job, ci)];
                if (r->owed && !r->settled)
                    e->open++;
            }
        }
        trace(e, SIM_TR_PUBLISH, job, -1, (int64_t)ack.seq);
    } else if (e->tries[job] <= p->retry) {
        trace(e, SIM_TR_PUBLISH_FAILED, job, -1, e->tries[job]);
        sim_events_push(&e->q, now + p->retry_wait_ns, EV_PUBLISH, pi, job);
    } else {
        trace(e, SIM_TR_PUBLISH_FAILED, job, -1, e->tries[job]);
        e->res->publish_failures++;
    }
    return PS_OK;
}

/* ---- workers ------------------------------------------------------------------------- */

static uint64_t job_of(const ps_msg *m)
{
    return strtoull((const char *)m->data, NULL, 10);
}

static void crash(engine *e, worker *w, int64_t until)
{
    w->crashed_until = until;
    w->epoch++;
    ps_msg_list_clear(&w->batch); /* in flight: never acked, redelivered after AckWait */
    w->next = 0;
    trace(e, SIM_TR_FAULT, 0, (int)(w - e->w) + 1, SIM_FAULT_CRASH_WORKER);
}

static void on_worker(engine *e, int wi)
{
    worker *w = &e->w[wi];
    int64_t now = ps_clock_now(e->clock);
    if (now < w->crashed_until) {
        sim_events_push(&e->q, w->crashed_until, EV_WORKER, wi, 0);
        return;
    }
    if (w->next >= w->batch.count) {
        ps_msg_list_clear(&w->batch);
        w->next = 0;
        ps_fetch_request req = {.batch = (int)w->g->batch, .expires_ns = 0};
        if (ps_fetch(w->c, &req, &w->batch) != PS_OK || w->batch.count == 0) {
            sim_events_push(&e->q, now + POLL_NS, EV_WORKER, wi, 0);
            return;
        }
    }
    ps_msg *m = w->batch.msgs[w->next];
    uint64_t r = row_of(e, job_of(m), w->ci);
    trace(e, SIM_TR_DELIVER, r, wi + 1, (int64_t)m->meta.num_delivered);
    if (m->meta.num_delivered == 1 && e->rows[r].first_deliveries < 255)
        e->rows[r].first_deliveries++;
    if (sim_master_job_start(e->m, r, wi + 1, now, &w->version) != PS_OK)
        w->version = -1;
    int64_t handle = now < w->slow_until ? w->slow_ns
                                         : ps_rand_range(&w->rng, w->g->handle_min_ns, w->g->handle_max_ns);
    sim_events_push(&e->q, now + handle, EV_COMMIT, wi, ((uint64_t)w->epoch << 32) | (uint32_t)w->next);
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
        trace(e, SIM_TR_DB_ERROR, r, wi + 1, 0);
        return false;
    }
    trace(e, applied ? SIM_TR_COMMIT : SIM_TR_STALE, r, wi + 1, w->version);
    if (applied) {
        settle(e, r);
        if (!e->rows[r].done_order)
            e->rows[r].done_order = ++e->completions;
    }
    /* A stale commit means a later attempt owns the job. Acking now would
     * remove the message while that attempt may still die: only a job
     * that is done may be acked (swarm found the loss: seed 35). */
    return applied || (sim_master_job_view(e->m, r, &v) && v.state == SIM_JOB_DONE);
}

static void on_commit(engine *e, int wi, uint64_t arg)
{
    worker *w = &e->w[wi];
    if ((uint32_t)(arg >> 32) != w->epoch)
        return; /* the worker crashed meanwhile */
    int idx = (int)(uint32_t)arg;
    ps_msg *m = w->batch.msgs[idx];
    uint64_t r = row_of(e, job_of(m), w->ci);
    const sim_consumer *c = &e->sc->consumers[w->ci];
    int64_t now = ps_clock_now(e->clock);
    w->next = idx + 1;
    if (w->g->fail_bp && ps_rand_below(&w->rng, 10000) < (uint64_t)w->g->fail_bp) {
        if (c->max_deliver > 0 && (int64_t)m->meta.num_delivered >= c->max_deliver) {
            sim_master_job_fail(e->m, r, now);
            settle(e, r);
            ps_ack(m, PS_TERM, 0);
            trace(e, SIM_TR_TERM, r, wi + 1, 0);
        } else {
            ps_ack(m, PS_NAK, 0);
            trace(e, SIM_TR_NAK, r, wi + 1, 0);
        }
    } else if (w->g->commit == SIM_COMMIT_BEFORE_ACK) {
        if (!commit(e, w, wi, r)) {
            ps_ack(m, PS_NAK, 0); /* refused, or another attempt owns the job: later */
            trace(e, SIM_TR_NAK, r, wi + 1, 1);
        } else if (w->crash_after_commit) {
            w->crash_after_commit = false;
            crash(e, w, now + PS_NS_PER_SEC);
            sim_events_push(&e->q, now, EV_WORKER, wi, 0);
            return;
        } else {
            ps_ack(m, PS_ACK, 0);
            trace(e, SIM_TR_ACK, r, wi + 1, 0);
        }
    } else { /* ack, then commit: the order the buggy scenario uses */
        ps_ack(m, PS_ACK, 0);
        trace(e, SIM_TR_ACK, r, wi + 1, 0);
        if (w->crash_after_commit) {
            w->crash_after_commit = false;
            crash(e, w, now + PS_NS_PER_SEC);
            sim_events_push(&e->q, now, EV_WORKER, wi, 0);
            return;
        }
        commit(e, w, wi, r);
    }
    sim_events_push(&e->q, now, EV_WORKER, wi, 0);
}

/* ---- faults ---------------------------------------------------------------------------- */

static const sim_shim_knob knob_of[SIM_FAULT_KIND_COUNT] = {
    [SIM_FAULT_DROP_ACKS] = SIM_SHIM_DROP_ACK, [SIM_FAULT_LOSE_PUBACKS] = SIM_SHIM_LOSE_PUBACK,
    [SIM_FAULT_DUPLICATE_PUBLISHES] = SIM_SHIM_DUP_PUBLISH, [SIM_FAULT_NAK_STORM] = SIM_SHIM_NAK_STORM,
    [SIM_FAULT_TERM_STORM] = SIM_SHIM_TERM_STORM};

static void on_fault(engine *e, int fi, bool end)
{
    const sim_fault *f = &e->sc->faults[fi];
    int64_t now = ps_clock_now(e->clock);
    worker *w = f->worker > 0 && f->worker <= e->nw ? &e->w[f->worker - 1] : NULL;
    if (!end)
        trace(e, SIM_TR_FAULT, 0, (int)f->worker, f->kind);
    switch (f->kind) {
    case SIM_FAULT_CRASH_WORKER:
    case SIM_FAULT_PARTITION_WORKER: /* modelled as a crash for now */
        if (w)
            crash(e, w, now + (f->duration_ns ? f->duration_ns : PS_NS_PER_SEC));
        break;
    case SIM_FAULT_CRASH_AFTER_COMMIT:
        if (w)
            w->crash_after_commit = true;
        break;
    case SIM_FAULT_SLOW_WORKER:
        if (w) {
            w->slow_until = now + f->duration_ns;
            w->slow_ns = f->handle_ns;
        }
        break;
    case SIM_FAULT_RESTART_SERVER:
        ps_backend_restart(e->b, f->restart);
        break;
    case SIM_FAULT_FAIL_DB:
    case SIM_FAULT_LOCK_DB:
        e->db_fault_bp = end ? 0 : f->bp;
        e->db_fault_status = f->kind == SIM_FAULT_FAIL_DB ? PS_ERR_IO : PS_ERR_TIMEOUT;
        break;
    default:
        sim_shim_set(e->b, knob_of[f->kind], end ? 0 : f->bp);
        break;
    }
    if (!end && f->duration_ns && f->kind != SIM_FAULT_CRASH_WORKER && f->kind != SIM_FAULT_PARTITION_WORKER)
        sim_events_push(&e->q, now + f->duration_ns, EV_FAULT_END, fi, 0);
    int64_t quiet = now + f->duration_ns;
    if (quiet > e->quiet_after)
        e->quiet_after = quiet;
}

/* ---- set-up, loop, checks --------------------------------------------------------------- */

static ps_status setup(engine *e, uint64_t seed)
{
    const sim_scenario *sc = e->sc;
    ps_status s = PS_OK;
    e->clock = ps_clock_manual_new(0);
    if (!e->clock)
        return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
    e->base = e->quiet_after = ps_clock_now(e->clock);
    ps_memory_options mo = {.clock = e->clock, .seed = seed};
    if ((s = ps_memory_new(&e->mem, &mo)) || (s = sim_shim_new(&e->b, e->mem, seed)))
        return s;
    for (int i = 0; i < sc->nstreams && !s; i++) {
        const sim_stream *st = &sc->streams[i];
        const char *subs[SIM_MAX_SUBJECTS];
        for (int k = 0; k < st->nsubjects; k++)
            subs[k] = st->subjects[k];
        ps_stream_config c = {.name = st->name, .subjects = subs, .subjects_len = st->nsubjects,
                              .retention = st->retention, .storage = st->storage, .discard = st->discard,
                              .duplicates_ns = st->dupe_window_ns, .max_msgs = st->max_msgs,
                              .max_bytes = st->max_bytes, .max_age_ns = st->max_age_ns};
        s = ps_stream_add(e->b, &c, NULL);
    }
    for (int i = 0; i < sc->nconsumers && !s; i++) {
        const sim_consumer *c = &sc->consumers[i];
        ps_consumer_config cc = {.durable = c->name, .filter_subject = c->filter[0] ? c->filter : NULL,
                                 .deliver_policy = c->deliver, .ack_wait_ns = c->ack_wait_ns,
                                 .max_deliver = c->max_deliver, .max_ack_pending = c->max_ack_pending,
                                 .backoff_ns = c->nbackoff ? c->backoff_ns : NULL, .backoff_len = c->nbackoff};
        ps_consumer *h = NULL;
        s = ps_consumer_add(e->b, c->stream, &cc, &h);
        ps_consumer_free(h);
    }
    int total = 0;
    for (int g = 0; g < sc->nworkers; g++)
        total += (int)sc->workers[g].count;
    e->w = calloc((size_t)total, sizeof *e->w);
    if (!e->w)
        return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
    for (int g = 0; g < sc->nworkers && !s; g++)
        for (int k = 0; k < sc->workers[g].count && !s; k++) {
            worker *w = &e->w[e->nw];
            w->g = &sc->workers[g];
            for (int ci = 0; ci < sc->nconsumers; ci++)
                if (!strcmp(sc->consumers[ci].stream, w->g->stream) && !strcmp(sc->consumers[ci].name, w->g->consumer))
                    w->ci = ci;
            w->rng = ps_rand_derive(seed, 1000 + (uint64_t)e->nw);
            s = ps_consumer_bind(e->b, w->g->stream, w->g->consumer, &w->c);
            if (!s)
                s = sim_events_push(&e->q, e->base, EV_WORKER, e->nw, 0);
            e->nw++;
        }
    for (int i = 0; i < sc->npublishers && !s; i++) {
        e->pub[i] = (pubstate){&sc->publishers[i], 0, ps_rand_derive(seed, 100 + (uint64_t)i)};
        s = sim_events_push(&e->q, e->base, EV_PUBLISH, i, 0);
    }
    for (int i = 0; i < sc->nfaults && !s; i++)
        s = sim_events_push(&e->q, e->base + sc->faults[i].at_ns, EV_FAULT, i, 0);
    e->rng = ps_rand_derive(seed, 7);
    return s;
}

/* Is consumer ci done with its stream (nothing left to deliver, nothing
 * awaiting an ack)? An open job of a drained consumer is lost for good; of
 * one still busy, merely late. */
static bool consumer_drained(engine *e, int ci)
{
    for (int i = 0; i < e->nw; i++) {
        if (e->w[i].ci != ci)
            continue;
        ps_consumer_info info = {0};
        bool drained = ps_consumer_info_get(e->w[i].c, &info) == PS_OK && info.num_pending == 0 &&
                       info.num_ack_pending == 0;
        ps_consumer_info_clear(&info);
        return drained;
    }
    return true;
}

static void first_bad(engine *e, uint64_t job, const char *why)
{
    if (!e->res->first_bad_job) {
        e->res->first_bad_job = job;
        snprintf(e->res->first_violation, sizeof e->res->first_violation, "%s", why);
    }
}

/* dedup: with message ids, a job is stored once, so it is first delivered
 * once per consumer, whatever retries and duplicates the publisher sent
 * (inside the dedup window). */
static void check_dedup(engine *e)
{
    for (uint64_t job = 1; job <= e->njobs; job++) {
        if (e->pub[e->pubidx[job]].p->msg_id != SIM_MSG_ID_JOB)
            continue;
        for (int ci = 0; ci < e->nc; ci++) {
            const row *rw = &e->rows[row_of(e, job, ci)];
            if (rw->first_deliveries > 1) {
                char why[200];
                e->res->dedup_failures++;
                snprintf(why, sizeof why, "dedup: job %" PRIu64 " was stored %d times (first-delivered %d times)",
                         job, rw->first_deliveries, rw->first_deliveries);
                first_bad(e, job, why);
            }
        }
    }
}

/* per_key_order: per consumer, jobs of one key complete in the order they
 * were published (job ids are given in publish order). */
static void check_key_order(engine *e)
{
    for (int ci = 0; ci < e->nc; ci++) {
        /* the last completion order seen per key; keys are dense from 0 */
        int64_t maxkey = -1;
        for (int p = 0; p < e->sc->npublishers; p++)
            if (e->sc->publishers[p].keys > maxkey)
                maxkey = e->sc->publishers[p].keys;
        if (maxkey <= 0)
            continue;
        uint64_t *last = calloc((size_t)maxkey, sizeof *last);
        uint64_t *last_job = calloc((size_t)maxkey, sizeof *last_job);
        for (uint64_t job = 1; last && last_job && job <= e->njobs; job++) {
            uint64_t rid = row_of(e, job, ci);
            sim_job_view v;
            const row *rw = &e->rows[rid];
            if (!rw->owed || !rw->done_order || !sim_master_job_view(e->m, rid, &v) || v.key < 0 ||
                v.key >= maxkey)
                continue;
            if (rw->done_order < last[v.key]) {
                char why[200];
                e->res->order_failures++;
                snprintf(why, sizeof why, "per_key_order: job %" PRIu64 " (key %" PRId64 ") completed before "
                         "job %" PRIu64 ", published earlier", job, v.key, last_job[v.key]);
                first_bad(e, job, why);
            } else {
                last[v.key] = rw->done_order;
                last_job[v.key] = job;
            }
        }
        free(last);
        free(last_job);
    }
}

static void check(engine *e)
{
    sim_result *r = e->res;
    const sim_expect *x = &e->sc->expect;
    bool drained[SIM_MAX_CONSUMERS];
    for (int ci = 0; ci < e->nc; ci++)
        drained[ci] = consumer_drained(e, ci);
    for (uint64_t job = 1; job <= e->njobs; job++)
        for (int ci = 0; ci < e->nc; ci++) {
            uint64_t rid = row_of(e, job, ci);
            sim_job_view v;
            if (!e->rows[rid].owed || !sim_master_job_view(e->m, rid, &v))
                continue;
            const sim_workers *g = NULL;
            for (int i = 0; i < e->nw; i++)
                if (e->w[i].ci == ci)
                    g = e->w[i].g;
            r->jobs_done += v.state == SIM_JOB_DONE;
            r->jobs_failed += v.state == SIM_JOB_FAILED;
            const char *bad = NULL;
            char why[200];
            if (x->no_loss && drained[ci] && e->acked[job] && v.state != SIM_JOB_DONE &&
                v.state != SIM_JOB_FAILED && !e->rows[rid].settled) {
                r->lost++;
                snprintf(why, sizeof why, "no_loss: job %" PRIu64 " (consumer %s) had its PubAck but was "
                         "never completed (state %d, %d attempts)", job, e->sc->consumers[ci].name,
                         (int)v.state, v.attempts);
                bad = why;
            } else if (x->no_double_completion && v.completions > 1) {
                r->double_completed++;
                snprintf(why, sizeof why, "no_double_completion: job %" PRIu64 " completed %d times%s", job,
                         v.completions, g && !g->idempotent ? " (handler not idempotent: a finding)" : "");
                bad = why;
            } else if (x->attempts_max && v.attempts > x->attempts_max) {
                r->over_attempts++;
                snprintf(why, sizeof why, "attempts<=%" PRId64 ": job %" PRIu64 " took %d attempts",
                         x->attempts_max, job, v.attempts);
                bad = why;
            }
            if (bad && !r->first_bad_job) {
                r->first_bad_job = job;
                snprintf(r->first_violation, sizeof r->first_violation, "%s", bad);
            }
        }
    if (x->dedup)
        check_dedup(e);
    if (x->per_key_order)
        check_key_order(e);
    if (r->lost || r->double_completed || r->over_attempts || r->dedup_failures || r->order_failures)
        r->verdict = SIM_SAFETY_VIOLATION;
}

static ps_status run(const sim_scenario *sc, const char *scenario_text, uint64_t seed, const char *db_path,
                     FILE *log, sim_result *out, bool record)
{
    engine e = {.sc = sc, .log = log, .nc = sc->nconsumers, .res = out, .record = record};
    memset(out, 0, sizeof *out);
    sim_events_init(&e.q);
    ps_status s = sim_master_open(&e.m, db_path, scenario_text, seed);
    if (!s)
        s = setup(&e, seed);
    int64_t drain = sc->expect.drained_within_ns ? sc->expect.drained_within_ns : DEFAULT_DRAIN_NS;
    sim_event ev;
    while (!s && sim_events_pop(&e.q, &ev)) {
        if (e.publishers_done == sc->npublishers && e.open == 0 && ev.at_ns >= e.quiet_after)
            break; /* drained */
        if (ev.at_ns > e.quiet_after + drain) {
            out->verdict = SIM_LIVENESS_FAILURE;
            snprintf(out->first_violation, sizeof out->first_violation,
                     "drained_within: %" PRId64 " job(s) still open %.1f s after the last publish or fault",
                     e.open, (double)drain / 1e9);
            break;
        }
        if (ps_clock_set(e.clock, ev.at_ns) != PS_OK) {
            s = ps_error(PS_ERR_INTERNAL, 0, "engine: the clock refused to move to an event's time");
            break;
        }
        out->events++;
        switch (ev.kind) {
        case EV_PUBLISH: s = on_publish(&e, ev.actor, ev.arg); break;
        case EV_WORKER: on_worker(&e, ev.actor); break;
        case EV_COMMIT: on_commit(&e, ev.actor, ev.arg); break;
        case EV_FAULT: on_fault(&e, ev.actor, false); break;
        default: on_fault(&e, ev.actor, true); break;
        }
        if (++e.since_commit == COMMIT_EVERY) {
            e.since_commit = 0;
            sim_master_commit(e.m);
        }
    }
    out->end_ns = e.clock ? ps_clock_now(e.clock) - e.base : 0;
    if (!s) {
        sim_master_commit(e.m);
        if (out->verdict == SIM_PASS || out->verdict == SIM_LIVENESS_FAILURE) {
            sim_verdict live = out->verdict;
            check(&e);
            if (out->verdict == SIM_PASS)
                out->verdict = live;
        }
    }
    for (int i = 0; i < e.nw; i++) {
        ps_msg_list_free(&e.w[i].batch);
        ps_consumer_free(e.w[i].c);
    }
    free(e.w);
    ps_backend_close(e.b);
    ps_backend_close(e.mem);
    ps_clock_free(e.clock);
    sim_master_close(e.m);
    sim_events_free(&e.q);
    free(e.acked);
    free(e.tries);
    free(e.pubidx);
    free(e.rows);
    return s;
}

ps_status sim_run(const sim_scenario *sc, const char *scenario_text, uint64_t seed, const char *db_path,
                  FILE *log, sim_result *out)
{
    return run(sc, scenario_text, seed, db_path, log, out, false);
}

ps_status sim_run_recorded(const sim_scenario *sc, const char *scenario_text, uint64_t seed,
                           const char *db_path, FILE *log, sim_result *out)
{
    return run(sc, scenario_text, seed, db_path, log, out, true);
}
