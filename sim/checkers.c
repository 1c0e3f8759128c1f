/* checkers.c — the scenario's expectations checked at the end of a run
 * over the master database and the backend: no_loss, no_double_completion,
 * attempts<=N, dedup, per_key_order. Each violation names the job.
 *
 * Not: drained_within (the event loop decides that, engine.c).
 */
#include "engine_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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

/* Whether the stream still holds an open job's message (1), no longer
 * does (0), or cannot say (-1), with the evidence in words. A message
 * gone before any worker started it was lost by the server (or by the
 * stream's own limits, when it has any): the report says which, rather
 * than calling it late. */
static int stored_evidence(engine *e, int ci, uint64_t job, int attempts, char *out, size_t cap)
{
    const char *stream = e->sc->consumers[ci].stream;
    const sim_stream *st = NULL;
    for (int i = 0; i < e->sc->nstreams; i++)
        if (!strcmp(e->sc->streams[i].name, stream))
            st = &e->sc->streams[i];
    bool limits = st && (st->max_msgs || st->max_bytes || st->max_age_ns);
    uint64_t seq = e->pubseq[job];
    ps_stored_msg m = {0};
    ps_status s = ps_msg_get(e->b, stream, seq, NULL, &m);
    ps_stored_msg_clear(&m);
    if (s == PS_OK) {
        snprintf(out, cap, "; %s still stores it as seq %" PRIu64 "", stream, seq);
        return 1;
    }
    if (s != PS_ERR_MSG_NOT_FOUND && s != PS_ERR_STREAM_NOT_FOUND) {
        snprintf(out, cap, "; could not ask for %s seq %" PRIu64 ": %s", stream, seq, ps_last_error());
        return -1;
    }
    const char *where = s == PS_ERR_STREAM_NOT_FOUND ? "the stream itself is gone" : "it is gone from the stream";
    if (attempts > 0)
        snprintf(out, cap, "; %s seq %" PRIu64 ": %s after %d attempt(s): removed by an ack without a completion",
                 stream, seq, where, attempts);
    else if (limits)
        snprintf(out, cap, "; %s seq %" PRIu64 ": %s before any delivery: removed by the stream's limits", stream,
                 seq, where);
    else
        snprintf(out, cap, "; %s seq %" PRIu64 " (its PubAck): %s before any delivery: FINDING: the server lost "
                 "an acknowledged message", stream, seq, where);
    return 0;
}

static void first_bad(engine *e, uint64_t job, const char *why)
{
    if (!e->res->first_bad_job) {
        e->res->first_bad_job = job;
        snprintf(e->res->first_violation, sizeof e->res->first_violation, "%s", why);
    }
}

/* dedup: with message ids, a job is stored once, whatever retries and
 * duplicates the publisher sent (inside the dedup window): its deliveries
 * to a consumer all carry one stream sequence. Copies are counted as
 * distinct sequences: a restarted server may deliver its one copy as new
 * again, which is a redelivery, not a second copy. */
static void check_dedup(engine *e)
{
    for (uint64_t job = 1; job <= e->njobs; job++) {
        if (e->pub[e->pubidx[job]].p->msg_id != SIM_MSG_ID_JOB)
            continue;
        for (int ci = 0; ci < e->nc; ci++) {
            const row *rw = &e->rows[eng_row_of(e, job, ci)];
            if (rw->copies > 1) {
                char why[200];
                e->res->dedup_failures++;
                snprintf(why, sizeof why, "dedup: job %" PRIu64 " was stored %d times (stream sequences %" PRIu64
                         " and %d more)", job, rw->copies, rw->seq, rw->copies - 1);
                first_bad(e, job, why);
            }
        }
    }
}

/* dead_or_done: every job with a PubAck ends completed or dead-lettered:
 * one that failed without a dead letter (termed by a handler, a term storm,
 * or MaxDeliver with no dead_letter=) breaks it, and so does one still
 * open on a consumer with nothing left to deliver (lost). A job open on a
 * busy consumer is late, not wrong: drained_within judges that. */
static void check_dead_or_done(engine *e, const bool *drained)
{
    for (uint64_t job = 1; job <= e->njobs; job++)
        for (int ci = 0; ci < e->nc; ci++) {
            uint64_t rid = eng_row_of(e, job, ci);
            const row *rw = &e->rows[rid];
            sim_job_view v;
            if (!e->acked[job] || !rw->owed || rw->dead || !sim_master_job_view(e->m, rid, &v) ||
                v.state == SIM_JOB_DONE)
                continue;
            bool failed = v.state == SIM_JOB_FAILED;
            if (!failed && !drained[ci])
                continue;
            char why[240];
            e->res->not_dead_or_done++;
            snprintf(why, sizeof why, "dead_or_done: job %" PRIu64 " (consumer %s) %s after %d attempt(s), "
                     "without a dead letter", job, e->sc->consumers[ci].name,
                     failed ? "failed" : "was never completed", v.attempts);
            first_bad(e, job, why);
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
            uint64_t rid = eng_row_of(e, job, ci);
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

/* The scenario's `expect sql` over the user's database: a failure is a
 * safety violation, reported after jetsim's own first one. */
static void check_user(engine *e)
{
    sim_result *r = e->res;
    bool failed = false;
    char why[512];
    uint64_t job = 0;
    ps_status s = sim_user_check(e->user, why, sizeof why, &failed, &job);
    if (s != PS_OK) {
        eng_fail(e, s);
        return;
    }
    if (!failed)
        return;
    r->user_failures++;
    if (r->verdict != SIM_SAFETY_VIOLATION || !r->first_violation[0]) {
        snprintf(r->first_violation, sizeof r->first_violation, "%s", why);
        if (job && job <= e->njobs) /* the rows name a job: the report and explain show it */
            r->first_bad_job = job;
    }
    r->verdict = SIM_SAFETY_VIOLATION;
}

void eng_check(engine *e)
{
    sim_result *r = e->res;
    const sim_expect *x = &e->sc->expect;
    bool drained[SIM_MAX_CONSUMERS];
    for (int ci = 0; ci < e->nc; ci++)
        drained[ci] = consumer_drained(e, ci);
    for (uint64_t job = 1; job <= e->njobs; job++)
        for (int ci = 0; ci < e->nc; ci++) {
            uint64_t rid = eng_row_of(e, job, ci);
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
            char why[480];
            bool open = e->acked[job] && v.state != SIM_JOB_DONE && v.state != SIM_JOB_FAILED &&
                        !e->rows[rid].settled;
            char evidence[200] = "";
            /* lost: open on a consumer with nothing left to deliver, or open
             * and never started while the stream no longer holds it */
            bool lost = x->no_loss && open &&
                        (drained[ci] ? (stored_evidence(e, ci, job, v.attempts, evidence, sizeof evidence), true)
                                     : v.attempts == 0 &&
                                           stored_evidence(e, ci, job, 0, evidence, sizeof evidence) == 0);
            if (lost) {
                r->lost++;
                /* quoted from the database row it names, which a user opens (the mirror is its cache) */
                sim_job_view db = v;
                bool read = sim_master_job_stored(e->m, rid, &db) == PS_OK;
                snprintf(why, sizeof why, "no_loss: job %" PRIu64 " (consumer %s) had its PubAck but was "
                         "never completed (jobs row %" PRIu64 ": state %s, attempts %d%s)%s", job,
                         e->sc->consumers[ci].name, rid, sim_master_state_name(db.state), db.attempts,
                         !read ? ", not readable in the database"
                         : db.attempts != v.attempts || db.state != v.state ? ", NOT what the run saw: a harness bug"
                                                                             : "", evidence);
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
    if (x->dead_or_done)
        check_dead_or_done(e, drained);
    if (x->not_early && r->early) {
        char why[200];
        snprintf(why, sizeof why, "not_early: job %" PRIu64 " reached a handler %.3f s before its "
                 PS_NOT_BEFORE_HEADER " (%" PRIu64 " such deliveries)", e->first_early_job,
                 (double)e->first_early_ns / 1e9, r->early);
        first_bad(e, e->first_early_job, why);
    }
    if (x->dedup)
        check_dedup(e);
    if (x->per_key_order)
        check_key_order(e);
    if (r->lost || r->double_completed || r->over_attempts || r->dedup_failures || r->order_failures ||
        r->not_dead_or_done || (x->not_early && r->early))
        r->verdict = SIM_SAFETY_VIOLATION;
    check_user(e);
}
