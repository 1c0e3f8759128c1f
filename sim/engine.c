/* engine.c — one run of one scenario on the memory backend (engine.h).
 *
 * Everything happens at events popped from one queue in (time, insertion)
 * order; the manual clock is set to each event's time before it runs.
 * Every random choice comes from a generator derived from the run seed
 * for its actor (ps_rand_derive), so the same scenario and seed give the
 * same trace, whose hash the result carries.
 *
 * Roles live in their own files (publishers.c, workers.c, faults.c,
 * checkers.c); this one sets a run up, runs the loop and keeps the trace.
 *
 * A job owed to several consumers (an event stream) has one master row
 * per consumer: row = (job - 1) * consumers + consumer + 1.
 */
#include "engine_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fault_shim.h"
#include "ps_subject.h"
#include "ps_backend_impl.h"

/* ---- trace ---------------------------------------------------------------------- */

void eng_trace(engine *e, sim_trace_kind kind, uint64_t job, int worker_id, int64_t arg)
{
    int64_t t = ps_clock_now(e->clock);
    uint64_t h = e->res->trace_hash ? e->res->trace_hash : UINT64_C(14695981039346656037);
    uint64_t parts[5] = {(uint64_t)t, (uint64_t)kind, job, (uint64_t)(int64_t)worker_id, (uint64_t)arg};
    for (int i = 0; i < 5; i++) { /* a word at a time: multiply, fold the high half down */
        h = (h ^ parts[i]) * UINT64_C(0x9E3779B97F4A7C15);
        h ^= h >> 32;
    }
    e->res->trace_hash = h;
    e->res->trace_events++;
    if (e->record) {
        sim_result *r = e->res;
        if (r->nhashes == e->caphashes) {
            size_t ncap = e->caphashes ? e->caphashes * 2 : 4096;
            uint64_t *n = realloc(r->hashes, ncap * sizeof *n);
            if (!n) {
                e->record = false; /* a trace with a hole would compare wrongly */
                eng_fail(e, ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory recording the trace"));
            } else {
                r->hashes = n;
                e->caphashes = ncap;
            }
        }
        if (e->record)
            r->hashes[r->nhashes++] = h;
    }
    if (e->keep_trace)
        sim_master_trace(e->m, t, kind, job, worker_id, arg);
}

int64_t eng_now(const engine *e)
{
    return e->t->ops->now(e->t);
}

int64_t eng_scaled(const engine *e, int64_t ns)
{
    return e->t->ops->scaled(e->t, ns);
}

int64_t eng_unscaled(const engine *e, int64_t broker_ns)
{
    /* the target's ratio, read off a duration long enough that its
     * rounding does not show (scaled has no inverse in the ops table) */
    const int64_t ref = 1000 * PS_NS_PER_SEC;
    int64_t r = eng_scaled(e, ref);
    if (r == ref || r <= 0)
        return broker_ns;
    return (int64_t)((double)broker_ns * ((double)ref / (double)r));
}

void eng_fail(engine *e, ps_status s)
{
    if (s == PS_OK || e->err)
        return;
    e->err = s;
    snprintf(e->err_msg, sizeof e->err_msg, "%s", ps_last_error());
}

void eng_push(engine *e, int64_t at_ns, int kind, int actor, uint64_t arg)
{
    eng_fail(e, sim_events_push(&e->q, at_ns, kind, actor, arg));
}

/* The first harness failure of the events so far (its detail recorded
 * again as the last error), or PS_OK. */
static ps_status harness_error(engine *e)
{
    if (e->err)
        return ps_error(e->err, 0, "%s", e->err_msg);
    return sim_shim_harness_error(e->b);
}

/* ---- waking idle workers ----------------------------------------------------------------- */

void eng_idle(engine *e, worker *w)
{
    if (w->idle)
        return;
    w->idle = true;
    w->idle_since = ++e->idle_order;
    e->nidle++;
}

static void wake_one(engine *e, worker *w)
{
    w->idle = false;
    e->nidle--;
    eng_push(e, ps_clock_now(e->clock), EV_WORKER, (int)(w - e->w), 0);
}

void eng_wake(engine *e, int ci)
{
    worker *oldest = NULL;
    for (int i = 0; i < e->nw && e->nidle > 0; i++) {
        worker *w = &e->w[i];
        if (!w->idle)
            continue;
        if (ci < 0)
            wake_one(e, w);
        else if (w->ci == ci && (!oldest || w->idle_since < oldest->idle_since))
            oldest = w;
    }
    if (oldest)
        wake_one(e, oldest);
}

/* After every event: while a worker is idle, a wake is pending at the
 * target's next_due (for the model its backend's next deadline). A due
 * time already past is woken for once, now; never twice at one instant. */
static void schedule_wake(engine *e)
{
    if (e->nidle == 0)
        return;
    int64_t now = eng_now(e), due = e->t->ops->next_due(e->t, now);
    if (due == INT64_MAX || due >= e->wake_at)
        return;
    if (due <= now) {
        if (e->woke_at == now)
            return;
        due = now;
    }
    e->wake_at = due;
    eng_push(e, due, EV_WAKE, 0, 0);
}

/* A wake: the broker's timers run (a redelivery falls due), and every idle
 * worker looks. Wakes that an earlier one overtook are ignored. */
static void on_wake(engine *e, int64_t at_ns)
{
    if (at_ns != e->wake_at)
        return;
    e->wake_at = INT64_MAX;
    e->woke_at = at_ns;
    ps_status s = ps_backend_tick(e->b);
    if (s == PS_ERR_NO_MEMORY)
        eng_fail(e, s);
    eng_wake(e, -1);
}

uint64_t eng_row_of(const engine *e, uint64_t job, int ci)
{
    return (job - 1) * (uint64_t)e->nc + (uint64_t)ci + 1;
}

void eng_settle(engine *e, uint64_t r)
{
    if (e->rows[r].settled)
        return;
    e->rows[r].settled = 1;
    uint64_t job = (r - 1) / (uint64_t)e->nc + 1;
    if (e->acked[job] && e->rows[r].owed)
        e->open--;
}

/* ---- set-up, loop, checks --------------------------------------------------------------- */

/* Transient refusals of a broker that is still starting (a new cluster
 * electing leaders) are retried; the same add is idempotent. */
#define SETUP_RETRIES 20

static ps_status user_open(engine *e, uint64_t seed, int total);

static bool transient(ps_status s)
{
    return s == PS_ERR_TIMEOUT || s == PS_ERR_UNAVAILABLE;
}

static ps_status setup(engine *e, uint64_t seed)
{
    const sim_scenario *sc = e->sc;
    char where[600] = "";
    ps_status s = e->t->ops->open(e->t, sc, seed, e->log, &e->inner, &e->clock, where, sizeof where);
    if (!s && where[0])
        s = sim_master_set_backend(e->m, where);
    if (s)
        return s;
    e->base = e->quiet_after = ps_clock_now(e->clock);
    e->bclock = e->t->ops->version >= 2 && e->t->ops->broker_clock ? e->t->ops->broker_clock(e->t) : NULL;
    if (!e->bclock)
        e->bclock = e->clock;
    for (int g = 0; g < sc->nworkers; g++)
        for (int k = 0; k < sc->workers[g].nbackoff; k++)
            e->wbackoff[g][k] = eng_scaled(e, sc->workers[g].backoff_ns[k]);
    if ((s = sim_shim_new(&e->b, e->inner, seed)))
        return s;
    sim_shim_forward_advisories(e->b, false); /* the engine reads none: the model need not build them */
    for (int i = 0; i < sc->nstreams && !s; i++) {
        const sim_stream *st = &sc->streams[i];
        const char *subs[SIM_MAX_SUBJECTS];
        for (int k = 0; k < st->nsubjects; k++)
            subs[k] = st->subjects[k];
        ps_stream_config c = {.name = st->name, .subjects = subs, .subjects_len = st->nsubjects,
                              .retention = st->retention, .storage = st->storage, .discard = st->discard,
                              .duplicates_ns = eng_scaled(e, st->dupe_window_ns), .max_msgs = st->max_msgs,
                              .max_bytes = st->max_bytes, .max_age_ns = eng_scaled(e, st->max_age_ns),
                              .replicas = (int32_t)st->replicas};
        e->t->ops->stream_config(e->t, &c);
        s = ps_stream_add(e->b, &c, NULL);
        for (int k = 0; k < SETUP_RETRIES && transient(s); k++)
            s = ps_stream_add(e->b, &c, NULL);
        s = e->t->ops->stream_added(e->t, i, s);
    }
    for (int i = 0; i < sc->nconsumers && !s; i++) {
        const sim_consumer *c = &sc->consumers[i];
        int64_t *backoff = e->backoff[i];
        for (int k = 0; k < c->nbackoff; k++)
            backoff[k] = eng_scaled(e, c->backoff_ns[k]);
        e->ccfg[i] = (ps_consumer_config){.durable = c->name, .filter_subject = c->filter[0] ? c->filter : NULL,
                                          .deliver_policy = c->deliver, .ack_wait_ns = eng_scaled(e, c->ack_wait_ns),
                                          .max_deliver = c->max_deliver, .max_ack_pending = c->max_ack_pending,
                                          .backoff_ns = c->nbackoff ? backoff : NULL, .backoff_len = c->nbackoff,
                                          .ack_policy = c->ack, .opt_start_seq = (uint64_t)c->start_seq,
                                          .opt_start_time_ns = c->deliver == PS_DELIVER_BY_START_TIME
                                                                   ? e->base + eng_scaled(e, c->start_time_ns)
                                                                   : 0};
        const ps_consumer_config cc = e->ccfg[i];
        ps_consumer *h = NULL;
        s = ps_consumer_add(e->b, c->stream, &cc, &h);
        for (int k = 0; k < SETUP_RETRIES && transient(s); k++)
            s = ps_consumer_add(e->b, c->stream, &cc, &h);
        ps_consumer_free(h);
    }
    if (!s)
        s = e->t->ops->ready(e->t);
    int total = 0;
    for (int g = 0; g < sc->nworkers; g++)
        total += (int)sc->workers[g].count;
    e->w = calloc((size_t)total, sizeof *e->w);
    if (!e->w)
        return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
    if (!s && sim_user_needed(sc))
        s = user_open(e, seed, total);
    for (int g = 0; g < sc->nworkers && !s; g++)
        for (int k = 0; k < sc->workers[g].count && !s; k++) {
            worker *w = &e->w[e->nw];
            w->eng = e;
            w->g = &sc->workers[g];
            for (int ci = 0; ci < sc->nconsumers; ci++)
                if (!strcmp(sc->consumers[ci].stream, w->g->stream) && !strcmp(sc->consumers[ci].name, w->g->consumer))
                    w->ci = ci;
            w->rng = ps_rand_derive(seed, 1000 + (uint64_t)e->nw);
            s = ps_consumer_bind(e->b, w->g->stream, w->g->consumer, &w->c);
            if (!s)
                s = eng_workers_setup(e, w);
            if (!s)
                s = sim_events_push(&e->q, e->base, EV_WORKER, e->nw, 0);
            e->nw++;
        }
    if (!s)
        s = eng_publishers_setup(e, seed);
    for (int i = 0; i < sc->nfaults && !s; i++)
        s = sim_events_push(&e->q, e->base + sc->faults[i].at_ns, EV_FAULT, i, 0);
    e->rng = ps_rand_derive(seed, 7);
    e->seed = seed;
    return s;
}

/* A handler's follow-up publish (ps_sim_publish): now, through the fault
 * shim like any publish; not a job of jetsim's checks. */
static ps_status publish_followup(void *engine_, const char *subject, const void *data, size_t len, uint64_t *job)
{
    engine *e = engine_;
    ps_pub_ack ack;
    *job = 0;
    ps_status s = ps_publish_data(e->b, subject, data, len, NULL, &ack);
    if (s == PS_OK) /* a waiting worker may take it */
        for (int ci = 0; ci < e->nc; ci++)
            eng_wake(e, ci);
    return s;
}

/* The user's code (user.h): worker i belongs to group group[i]. */
static ps_status user_open(engine *e, uint64_t seed, int total)
{
    int *group = calloc((size_t)(total > 0 ? total : 1), sizeof *group);
    if (!group)
        return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
    for (int g = 0, i = 0; g < e->sc->nworkers; g++)
        for (int k = 0; k < e->sc->workers[g].count; k++)
            group[i++] = g;
    ps_status s = sim_user_open(&e->user, e->sc, seed, e->clock, e->base, total, group, publish_followup, e);
    free(group);
    return s;
}

/* Records in the run database what a replay needs beyond the text and
 * the seed: the fault mix, the workload files' hashes, and for a run on a
 * server the command that reruns it. */
static ps_status record_inputs(engine *e)
{
    ps_status s = sim_master_set_replay(e->m, e->sc->mixed, e->t->replay_cmd);
    for (int i = 0; i < e->sc->npublishers && !s; i++) {
        const char *wl = e->sc->publishers[i].workload;
        uint64_t h = 0;
        if (wl[0] && !(s = sim_master_file_hash(wl, &h)))
            s = sim_master_add_workload(e->m, i, wl, h);
    }
    return s;
}

/* Records what a person reading the trace needs (jetsim explain, the
 * database's views): where the run's time starts, how rows map to
 * consumers, and the faults as this run had them (a seed's mix included). */
static ps_status record_story(engine *e)
{
    ps_status s = sim_master_set_origin(e->m, e->base, e->nc);
    for (int i = 0; i < e->sc->nfaults && !s; i++) {
        const sim_fault *f = &e->sc->faults[i];
        s = sim_master_add_fault(e->m, i, (int)f->kind, f->at_ns, f->duration_ns, f->worker, f->bp, f->pos.line);
    }
    return s;
}

static void not_drained(engine *e, int64_t drain)
{
    e->res->verdict = SIM_LIVENESS_FAILURE;
    snprintf(e->res->first_violation, sizeof e->res->first_violation,
             "drained_within: %" PRId64 " job(s) still open %.1f s after the last publish or fault", e->open,
             (double)drain / 1e9);
}

static const char *verdict_name(sim_verdict v)
{
    return v == SIM_PASS ? "pass" : v == SIM_SAFETY_VIOLATION ? "safety" : "liveness";
}

static ps_status run(const sim_scenario *sc, const char *scenario_text, uint64_t seed, const char *db_path,
                     FILE *log, sim_result *out, bool record, sim_target *t)
{
    engine e = {.sc = sc, .log = log, .nc = sc->nconsumers, .res = out, .record = record, .t = t,
                .wake_at = INT64_MAX, .woke_at = INT64_MIN,
                /* a database in memory dies with the run: its trace rows would be read by no one */
                .keep_trace = db_path && strcmp(db_path, ":memory:") != 0};
    memset(out, 0, sizeof *out);
    sim_target *model = NULL;
    ps_status s = PS_OK;
    if (!t && (s = sim_target_model_new(&model)) != PS_OK)
        return s;
    if (!t)
        e.t = model;
    sim_events_init(&e.q);
    s = sim_master_open(&e.m, db_path, scenario_text, seed);
    if (!s)
        s = record_inputs(&e);
    if (!s)
        s = setup(&e, seed);
    if (!s)
        s = record_story(&e);
    int64_t drain = sc->expect.drained_within_ns ? sc->expect.drained_within_ns : DEFAULT_DRAIN_NS;
    sim_event ev;
    bool ended = false; /* drained, or given up on: not merely out of events */
    while (!s && sim_events_pop(&e.q, &ev)) {
        if (e.publishers_done == sc->npublishers && e.open == 0 && ev.at_ns >= e.quiet_after) {
            ended = true; /* drained */
            break;
        }
        if ((s = e.t->ops->wait_until(e.t, ev.at_ns)) != PS_OK)
            break;
        int64_t now = ps_clock_now(e.clock);
        /* The deadline counts from the last publish or fault end, and only
         * once every publisher is done: a publisher still sending (held up
         * by a slow server, say) is not a job system that failed to drain.
         * Publishers end by themselves: a bounded count, bounded retries. */
        if (e.publishers_done == sc->npublishers && now > e.quiet_after + drain) {
            not_drained(&e, drain);
            ended = true;
            break;
        }
        out->events++;
        switch (ev.kind) {
        case EV_PUBLISH: s = eng_on_publish(&e, ev.actor, ev.arg); break;
        case EV_WORKER: eng_on_worker(&e, ev.actor); break;
        case EV_COMMIT: eng_on_commit(&e, ev.actor, ev.arg); break;
        case EV_FAULT: eng_on_fault(&e, ev.actor, false); break;
        case EV_FAULT_END: eng_on_fault(&e, ev.actor, true); break;
        default: on_wake(&e, ev.at_ns); break;
        }
        schedule_wake(&e);
        if (!s)
            s = harness_error(&e);
        if (++e.since_commit == COMMIT_EVERY) {
            e.since_commit = 0;
            sim_master_commit(e.m);
        }
    }
    /* Nothing more will happen (every worker idle, nothing due) and jobs
     * are still open: the run would wait out its drain deadline in vain. */
    if (!s && !ended && out->verdict == SIM_PASS && e.nw > 0 && e.open > 0 &&
        e.publishers_done == sc->npublishers && sim_events_len(&e.q) == 0 &&
        (s = e.t->ops->wait_until(e.t, e.quiet_after + drain + 1)) == PS_OK)
        not_drained(&e, drain);
    out->end_ns = e.clock ? ps_clock_now(e.clock) - e.base : 0;
    ps_error_saved why; /* clean-up calls the library, which clears the detail of a failure */
    ps_error_save(&why);
    /* no fault outlives the run: the checks and the clean-up talk to a healed broker */
    e.t->ops->end_faults(e.t);
    if (!s) {
        sim_master_commit(e.m);
        if (out->verdict == SIM_PASS || out->verdict == SIM_LIVENESS_FAILURE) {
            sim_verdict live = out->verdict;
            eng_check(&e);
            if (out->verdict == SIM_PASS)
                out->verdict = live;
        }
        if (e.err) { /* a check that could not run (a bad expect sql) */
            s = harness_error(&e);
            ps_error_save(&why);
        }
        if (!s)
            s = sim_master_set_first_bad_job(e.m, out->first_bad_job);
        if (!s)
            s = sim_master_finish(e.m, verdict_name(out->verdict), out->first_violation, out->trace_hash,
                                  out->trace_events);
    }
    if (e.b && e.t->ops->gone(e.t))
        sim_shim_set_unreachable(e.b, true); /* the servers are dead: the workers' last naks need not wait */
    for (int i = 0; e.w && i < e.nw; i++) {
        eng_workers_free(&e.w[i]);
        ps_consumer_free(e.w[i].c);
    }
    free(e.w);
    sim_user_close(e.user); /* teardown of the live workers' handlers, the user's database */
    ps_status closed = ps_backend_close(e.b); /* BUSY would be a handle the engine forgot: its bug, said */
    if (closed && !s)
        s = closed;
    e.t->ops->close(e.t); /* the broker and the clock are the target's */
    sim_target_free(model);
    sim_master_close(e.m);
    sim_events_free(&e.q);
    eng_publishers_free(&e);
    eng_jobs_free(&e);
    free(e.copies);
    if (s)
        ps_error_restore(&why);
    return s;
}

ps_status sim_run(const sim_scenario *sc, const char *scenario_text, uint64_t seed, const char *db_path,
                  FILE *log, sim_result *out)
{
    return run(sc, scenario_text, seed, db_path, log, out, false, NULL);
}

ps_status sim_run_on(const sim_scenario *sc, const char *scenario_text, uint64_t seed, const char *db_path,
                     FILE *log, sim_target *target, sim_result *out)
{
    return run(sc, scenario_text, seed, db_path, log, out, false, target);
}

ps_status sim_run_recorded(const sim_scenario *sc, const char *scenario_text, uint64_t seed,
                           const char *db_path, FILE *log, sim_result *out)
{
    return run(sc, scenario_text, seed, db_path, log, out, true, NULL);
}
