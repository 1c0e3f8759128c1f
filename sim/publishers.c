/* publishers.c — the simulated publishers: each publishes its jobs at its
 * rate, with a message id per job when the scenario says so, and retries a
 * failed publish after retry_wait up to `retry` times. A job counts as
 * published once its PubAck came back.
 *
 * Not: the jobs' processing (workers.c).
 */
#include "engine_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ps_subject.h"

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
        uint64_t *q = realloc(e->pubseq, ncap * sizeof *q);
        if (q)
            e->pubseq = q;
        row *r = realloc(e->rows, (ncap * (uint64_t)e->nc + 1) * sizeof *r);
        if (r)
            e->rows = r;
        if (!a || !t || !p || !q || !r)
            return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
        e->capjobs = ncap;
    }
    uint64_t job = ++e->njobs;
    e->acked[job] = 0;
    e->tries[job] = 0;
    e->pubidx[job] = (uint32_t)pi;
    e->pubseq[job] = 0;
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
        uint64_t r = eng_row_of(e, job, ci);
        e->rows[r] = (row){owed, 0, 0, 0};
        ps_status s = sim_master_job_add(e->m, r, key, now);
        if (s)
            return s;
    }
    *out = job;
    return PS_OK;
}

ps_status eng_on_publish(engine *e, int pi, uint64_t job)
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
            int64_t next = e->base + (int64_t)((double)ps->sent * 1e9 / p->rate_per_s);
            /* On a real server a loop that has fallen behind would run every
             * overdue publish before any worker; the publisher waits its
             * turn instead, and the rate is what the loop can keep. */
            if (e->real && next < now)
                next = now;
            sim_events_push(&e->q, next, EV_PUBLISH, pi, 0);
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
    /* an unreachable broker (the model's paused server or cut network):
     * the publish times out and nothing is stored */
    ps_status st = eng_broker_down(e) ? PS_ERR_TIMEOUT : ps_publish(e->b, &m, &ack);
    if (st == PS_OK) {
        e->pubseq[job] = ack.seq;
        if (!e->acked[job]) {
            e->acked[job] = 1;
            e->res->jobs_published++;
            for (int ci = 0; ci < e->nc; ci++) {
                row *r = &e->rows[eng_row_of(e, job, ci)];
                if (r->owed && !r->settled)
                    e->open++;
            }
        }
        eng_trace(e, SIM_TR_PUBLISH, job, -1, (int64_t)ack.seq);
    } else if (e->tries[job] <= p->retry) {
        eng_trace(e, SIM_TR_PUBLISH_FAILED, job, -1, e->tries[job]);
        sim_events_push(&e->q, now + p->retry_wait_ns, EV_PUBLISH, pi, job);
    } else {
        eng_trace(e, SIM_TR_PUBLISH_FAILED, job, -1, e->tries[job]);
        e->res->publish_failures++;
    }
    return PS_OK;
}
