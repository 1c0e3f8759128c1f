/* dist_agent.c — jetsim agent: takes jobs with the library's own ps_worker,
 * runs their seeds in seed runners, publishes each verdict and acks its
 * job once the verdict is stored (dist.h).
 *
 * Not: submitting and collecting (dist_swarm.c).
 */
#include "dist_internal.h"

#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ps_backend_impl.h"
#include "ps_worker.h"
#include "report.h"
#include "scenario.h"
#include "seedrunner.h"

/* Parsed scenarios an agent keeps, by hash (runs of several swarms at once). */
#define CACHE_MAX 8

/* ---- agent ------------------------------------------------------------------ */

/* A runner (seedrunner.h) goes from one seed to the next at once when the
 * next is already queued in it; the agent meanwhile stores the verdict,
 * acks and fetches (round trips to the server). How many seeds a
 * runner may have, the one it runs included, follows how long its last
 * seed ran: 3 under SEED_SHORT_S, 2 under SEED_LONG_S, else 1 (and 1 for
 * a new runner). A longer seed would keep the one queued behind it from
 * an agent that may be idle meanwhile, for the length of a seed, to save
 * round trips that are nothing beside it. */
#define SLOT_DEPTH_MAX 3
/* The longest an agent waits for runners while verdicts it sent are not
 * yet acked (tend). */
#define AWAIT_MS 5
/* A round trip to a loaded server takes a millisecond or two: one seed
 * queued behind the running one covers it for seeds of 5 ms and more, and
 * a second helps only shorter ones. A longer queue than needed makes the
 * end of a swarm uneven: one agent still holds three seeds while another
 * has none. */
#define SEED_SHORT_S 0.005
#define SEED_LONG_S 1.0

/* A job the agent holds. */
typedef struct job {
    ps_msg *m;
    uint64_t seed;
    char run[SIM_DIST_RUN_ID_MAX + 1];
    char hash[17];
    double last_wpi; /* when its ack wait last restarted */
} job;

/* A runner and the jobs sent to it, oldest first: q[0] runs, the others
 * wait in the runner's socket. */
typedef struct slot {
    sim_runner *r; /* NULL: none */
    char hash[17]; /* the scenario r runs */
    job q[SLOT_DEPTH_MAX];
    int n;
    int depth;   /* the jobs it may have, 1..SLOT_DEPTH_MAX */
    bool broken; /* a send to r failed: what it answers is read, nothing more sent */
} slot;

typedef struct cached {
    char hash[17];
    sim_scenario *sc;
} cached;

/* A job whose verdict went out with ps_publish_async and whose PubAck the
 * agent has not seen yet: it is acked only once that comes (drain). */
typedef struct awaiting {
    job j;
    sim_swarm_record r;
    bool done;        /* its result came (on_verdict_ack) */
    ps_status status; /* of the publish, when done */
    bool duplicate;   /* the results stream had it already */
} awaiting;

typedef struct agent {
    ps_backend *b;
    ps_worker *w;
    ps_publisher *pub;
    slot *slots;
    int k;
    job *pending; /* taken and not yet sent to a runner, oldest first */
    int npending, pending_cap;
    awaiting *await; /* verdicts published, PubAcks not yet seen; token = index */
    int nawait;
    double wpi_every_s;
    cached cache[CACHE_MAX];
    int cache_next; /* the entry to replace next */
    uint64_t ran, published, unpublished;
    uint64_t twice; /* verdicts the results stream had already (by msg id) */
    /* When the current poll's fetch was sent: the server's AckWait of what
     * it delivers started after it, so this is a safe "last restart" for a
     * job that waited in the agent before its first in-progress ack. */
    double poll_started;
    /* Where the agent's thread spent its time: waiting on the server
     * (fetches, PubAcks, acks), waiting for runners, and, idle, waiting
     * for jobs; printed when it stops. */
    double server_s, runners_s;
    double idle_s; /* in the waiting fetches of an idle agent: waiting for jobs */
    uint64_t fetches;
} agent;

/* "v1 <run> <seed> <hash>"; false if the job is not one. */
static bool parse_job(const ps_msg *m, char run[SIM_DIST_RUN_ID_MAX + 1], uint64_t *seed, char hash[17])
{
    char buf[256];
    if (m->len >= sizeof buf)
        return false;
    memcpy(buf, m->data, m->len);
    buf[m->len] = '\0';
    return sscanf(buf, "v1 %64s %" SCNu64 " %16s", run, seed, hash) == 3 && dist_run_id_ok(run) && strlen(hash) == 16;
}

/* The parsed scenario stored under `hash`, from the cache or the stream.
 * NULL with the last error set: PS_ERR_MSG_NOT_FOUND, PS_ERR_INVALID_ARG
 * (a text that does not parse or does not match its hash) or a failure to
 * read it. */
static const sim_scenario *scenario_get(agent *a, const char *hash)
{
    for (int i = 0; i < CACHE_MAX; i++)
        if (a->cache[i].sc && strcmp(a->cache[i].hash, hash) == 0)
            return a->cache[i].sc;
    char subject[64], name[SIM_PATH_MAX], got[17];
    snprintf(subject, sizeof subject, SUBJ_SCN ".%s", hash);
    ps_stored_msg sm = {0};
    if (ps_msg_get(a->b, SIM_DIST_SCENARIOS_STREAM, 0, subject, &sm) != PS_OK)
        return NULL;
    dist_content_hash(sm.data, sm.len, got);
    sim_scenario *sc = sim_scenario_new();
    /* "<path>\n<text>": parsed under the swarm's own path, so that its
     * messages name the file and the files it names resolve as they did
     * there (the same host, or one with the same layout) */
    const char *nl = memchr(sm.data, '\n', sm.len);
    size_t plen = nl ? (size_t)(nl - sm.data) : 0;
    snprintf(name, sizeof name, "%.*s", (int)plen, sm.data);
    ps_status s = strcmp(got, hash) != 0 ? ps_error(PS_ERR_INVALID_ARG, 0, "its message hashes to %s", got)
                  : !nl || plen == 0 || plen >= sizeof name
                      ? ps_error(PS_ERR_INVALID_ARG, 0, "its message does not start with the scenario's path")
                  : !sc ? PS_ERR_NO_MEMORY
                        : sim_scenario_parse(sc, name, nl + 1, sm.len - plen - 1);
    ps_stored_msg_clear(&sm);
    if (s) {
        sim_scenario_free(sc);
        return NULL;
    }
    cached *c = &a->cache[a->cache_next];
    a->cache_next = (a->cache_next + 1) % CACHE_MAX;
    sim_scenario_free(c->sc);
    c->sc = sc;
    snprintf(c->hash, sizeof c->hash, "%s", hash);
    return sc;
}

/* A verdict's message: subject, body and id are its buffers. */
typedef struct verdict_msg {
    char subject[128], id[128], body[sizeof(((sim_swarm_record *)0)->why) + 64];
    ps_out_msg m;
} verdict_msg;

static void verdict_msg_make(verdict_msg *v, const char *run, const sim_swarm_record *r)
{
    snprintf(v->subject, sizeof v->subject, SUBJ_RESULTS ".%s", run);
    snprintf(v->id, sizeof v->id, "%s.%" PRIu64, run, r->seed);
    int n = snprintf(v->body, sizeof v->body, "v1 %" PRIu64 " %d %s", r->seed, r->verdict, r->why);
    v->m = (ps_out_msg){.subject = v->subject, .data = v->body, .len = (size_t)n, .msg_id = v->id};
}

/* Counts a stored verdict, and says when the stream had it already. */
static void verdict_stored(agent *a, const char *run, uint64_t seed, bool duplicate)
{
    a->published++;
    if (duplicate) { /* said: a seed should run once, unless an agent died */
        a->twice++;
        fprintf(stderr, "jetsim agent: seed %" PRIu64 " of run %s: its verdict was stored already (another agent "
                "ran it too, or ran it before dying)\n", seed, run);
    }
}

/* Publishes a seed's verdict and waits for its PubAck (retrying). */
static ps_status publish_verdict(agent *a, const char *run, const sim_swarm_record *r)
{
    verdict_msg v;
    verdict_msg_make(&v, run, r);
    ps_pub_ack ack = {0};
    double t0 = dist_now_s();
    ps_status s = dist_publish(a->pub, &v.m, &ack);
    a->server_s += dist_now_s() - t0;
    if (s == PS_OK)
        verdict_stored(a, run, r->seed, ack.duplicate);
    else
        a->unpublished++;
    return s;
}

/* The PubAck (or failure) of an awaiting verdict: only noted here (a
 * result handler must not call into the backend); drain acts on it. */
static void on_verdict_ack(void *user, const ps_pub_result *r)
{
    agent *a = user;
    if (r->token >= (uint64_t)a->nawait)
        return; /* cannot happen: every token is an index of a->await */
    awaiting *w = &a->await[r->token];
    w->done = true;
    w->status = r->status;
    w->duplicate = r->status == PS_OK && r->ack.duplicate;
}

/* Completes the awaiting jobs: waits for the PubAcks still out (usually
 * none by now: they came while the runners ran), acks each job whose
 * verdict is stored, and stores again, waiting and retrying, a verdict
 * whose async publish failed (its msg id makes that safe), naking its job
 * if that fails too. Never acks a job before its verdict's PubAck. */
static void drain(agent *a)
{
    if (a->nawait == 0)
        return;
    double t0 = dist_now_s();
    ps_publish_async_complete(a->b, 0); /* what did not come is reported as a timeout */
    a->server_s += dist_now_s() - t0;
    for (int i = 0; i < a->nawait; i++) {
        awaiting *w = &a->await[i];
        ps_status pub = w->done ? w->status : PS_ERR_TIMEOUT;
        if (pub == PS_OK)
            verdict_stored(a, w->j.run, w->r.seed, w->duplicate);
        else
            pub = publish_verdict(a, w->j.run, &w->r);
        if (pub)
            fprintf(stderr, "jetsim agent: seed %" PRIu64 " of run %s: verdict not stored (%s): naked, to run "
                    "again\n", w->j.seed, w->j.run, ps_last_error());
        t0 = dist_now_s();
        ps_worker_complete(a->w, w->j.m, pub == PS_OK ? PS_HANDLE_ACK : PS_HANDLE_RETRY);
        a->server_s += dist_now_s() - t0;
    }
    a->nawait = 0;
}

/* Sends j's verdict without waiting for its PubAck: drain acks j when it
 * has come. */
static void publish_verdict_async(agent *a, const job *j, const sim_swarm_record *r)
{
    if (a->nawait == a->pending_cap) /* cannot happen: drained before each round of answers */
        drain(a);
    awaiting *w = &a->await[a->nawait];
    *w = (awaiting){.j = *j, .r = *r};
    verdict_msg v;
    verdict_msg_make(&v, j->run, r);
    if (ps_publish_async(a->b, &v.m, (uint64_t)a->nawait) != PS_OK) {
        w->done = true; /* not sent: drain stores it the waiting way */
        w->status = ps_last_status();
    }
    a->nawait++;
}

/* The worker's handler: checks the job and its scenario, and keeps it
 * (PS_HANDLE_DEFER) among the pending, for dispatch to send to a runner;
 * it is completed once its verdict is stored. */
static ps_handle_result on_job(void *user, ps_msg *m)
{
    agent *a = user;
    job j = {.m = m, .last_wpi = a->poll_started};
    if (!parse_job(m, j.run, &j.seed, j.hash)) {
        fprintf(stderr, "jetsim agent: a message on %s is not a job: terminated\n", m->subject);
        return PS_HANDLE_TERM;
    }
    if (!scenario_get(a, j.hash)) {
        ps_status why = ps_last_status();
        if (why != PS_ERR_MSG_NOT_FOUND && why != PS_ERR_INVALID_ARG) {
            fprintf(stderr, "jetsim agent: seed %" PRIu64 " of run %s: reading scenario %s: %s (to try again)\n",
                    j.seed, j.run, j.hash, ps_last_error());
            return PS_HANDLE_RETRY;
        }
        /* it will never run: the swarm must hear why */
        sim_swarm_record r = {.seed = j.seed, .verdict = -1};
        snprintf(r.why, sizeof r.why, "agent: scenario %s: %s", j.hash,
                 why == PS_ERR_MSG_NOT_FOUND ? "not in " SIM_DIST_SCENARIOS_STREAM : ps_last_error());
        return publish_verdict(a, j.run, &r) == PS_OK ? PS_HANDLE_ACK : PS_HANDLE_RETRY;
    }
    if (a->npending == a->pending_cap) { /* cannot happen: max_in_flight is pending_cap */
        fprintf(stderr, "jetsim agent: seed %" PRIu64 ": no room to hold it\n", j.seed);
        return PS_HANDLE_RETRY;
    }
    a->pending[a->npending++] = j;
    return PS_HANDLE_DEFER;
}

/* Sends j to s's runner, first starting one for j's scenario when s has
 * none or one of another (s is idle then). False: j stays pending. */
static bool send_job(agent *a, slot *s, const job *j)
{
    if (!s->r || strcmp(s->hash, j->hash) != 0) {
        sim_runner_free(s->r);
        s->r = NULL;
        const sim_scenario *sc = scenario_get(a, j->hash); /* cached: on_job read it */
        ps_status st = sc ? sim_runner_new(&s->r, sc) : ps_last_status();
        if (st) {
            fprintf(stderr, "jetsim agent: seed %" PRIu64 " of run %s: %s (naked, to run again)\n", j->seed,
                    j->run, ps_last_error());
            ps_worker_complete(a->w, j->m, PS_HANDLE_RETRY);
            return true;
        }
        snprintf(s->hash, sizeof s->hash, "%s", j->hash);
        s->depth = 1;
        s->broken = false;
    }
    if (sim_runner_send(s->r, j->seed) != PS_OK) {
        if (s->n == 0) { /* gone while idle: the next dispatch starts another */
            sim_runner_free(s->r);
            s->r = NULL;
        } else {
            s->broken = true; /* tend reads what it answered, then its end */
        }
        return false;
    }
    s->q[s->n++] = *j;
    return true;
}

/* The slot for a job of scenario `hash`: an idle runner of that scenario,
 * else a slot without a runner, else an idle runner of another scenario
 * (replaced), else the least busy runner of that scenario with room in
 * its queue: a job waits behind another only when no runner is idle. */
static slot *pick_slot(agent *a, const char *hash)
{
    slot *same_idle = NULL, *empty = NULL, *other_idle = NULL, *queue = NULL;
    for (int i = 0; i < a->k; i++) {
        slot *s = &a->slots[i];
        bool same = s->r && !s->broken && strcmp(s->hash, hash) == 0;
        if (same && s->n == 0)
            same_idle = s;
        else if (!s->r)
            empty = s;
        else if (s->n == 0)
            other_idle = s;
        else if (same && s->n < s->depth && (!queue || s->n < queue->n))
            queue = s;
    }
    return same_idle ? same_idle : empty ? empty : other_idle ? other_idle : queue;
}

/* Sends the pending jobs that a runner has room for, oldest first. */
static void dispatch(agent *a)
{
    int kept = 0;
    for (int i = 0; i < a->npending; i++) {
        job j = a->pending[i];
        slot *s = pick_slot(a, j.hash);
        if (!s || !send_job(a, s, &j))
            a->pending[kept++] = j;
    }
    a->npending = kept;
}

/* The runner of s answered (or ended): stores the verdict of its oldest
 * job, and acks the job only once the verdict's PubAck came; else naks it.
 * A runner that ended without answering gives its running seed that as
 * a harness error; the seeds queued behind it never started, and go back
 * to the pending to run elsewhere. */
static void finish(agent *a, slot *s)
{
    job j = s->q[0];
    sim_swarm_record r;
    int64_t run_ns = 0;
    ps_status st = sim_runner_read(s->r, j.seed, &r, &run_ns);
    if (st) {
        sim_runner_free(s->r);
        s->r = NULL;
    } else {
        double run_s = (double)run_ns / 1e9;
        s->depth = run_s < SEED_SHORT_S ? 3 : run_s < SEED_LONG_S ? 2 : 1;
    }
    int back = st ? s->n - 1 : 0; /* never started: first in line again */
    if (back > 0) {
        memmove(a->pending + back, a->pending, (size_t)a->npending * sizeof *a->pending);
        memcpy(a->pending, s->q + 1, (size_t)back * sizeof *a->pending);
        a->npending += back;
    }
    s->n -= 1 + back;
    memmove(s->q, s->q + 1 + back, (size_t)s->n * sizeof *s->q);
    if (!s->r)
        s->broken = false;
    a->ran++;
    publish_verdict_async(a, &j, &r);
}

static void in_progress(agent *a, job *j, double now)
{
    if (now - j->last_wpi >= a->wpi_every_s) {
        ps_worker_in_progress(a->w, j->m); /* failed: AckWait will tell, and the seed runs again */
        j->last_wpi = now;
    }
}

/* Waits up to `ms` for runners, finishes the seeds they answered, and
 * restarts the ack wait of the jobs held longer than a third of AckWait
 * (running, queued in a runner or pending). */
static void tend(agent *a, int ms)
{
    struct pollfd pf[256];
    int map[256], n = 0;
    for (int i = 0; i < a->k && n < 256; i++)
        if (a->slots[i].n > 0) {
            pf[n] = (struct pollfd){sim_runner_fd(a->slots[i].r), POLLIN, 0};
            map[n++] = i;
        }
    /* Verdicts sent in the last round are acked after this wait, not
     * before it: their PubAcks come meanwhile (the runners run their
     * queued seeds), so the agent seldom waits on them. A short wait, when
     * there are some, so that their jobs are not held long. */
    if (a->nawait > 0 && ms > AWAIT_MS)
        ms = AWAIT_MS;
    double t0 = dist_now_s();
    int ready = poll(pf, (nfds_t)n, ms);
    a->runners_s += dist_now_s() - t0;
    drain(a);
    if (ready > 0)
        for (int i = 0; i < n; i++)
            if (pf[i].revents)
                finish(a, &a->slots[map[i]]);
    double now = dist_now_s();
    for (int i = 0; i < a->k; i++)
        for (int q = 0; q < a->slots[i].n; q++)
            in_progress(a, &a->slots[i].q[q], now);
    for (int i = 0; i < a->npending; i++)
        in_progress(a, &a->pending[i], now);
}

static void on_worker_error(void *user, const ps_msg *m, ps_ack_kind kind, ps_status st, const char *detail)
{
    (void)user;
    (void)st;
    fprintf(stderr, "jetsim agent: %s of stream sequence %" PRIu64 " refused: %s (it comes back after AckWait)\n",
            kind == PS_ACK ? "ack" : kind == PS_NAK ? "nak" : "term", m->meta.stream_seq, detail);
}

/* Stops: kills the runners, naks every job held (ps_worker_stop). */
static void agent_stop(agent *a)
{
    for (int i = 0; i < a->k; i++) {
        sim_runner_free(a->slots[i].r);
        a->slots[i].r = NULL;
        a->slots[i].n = 0;
    }
    a->npending = 0;
    ps_worker_stop(a->w);
}

/* How many jobs the runners have room for, and how many are held. */
static int room(const agent *a)
{
    int r = -a->npending;
    for (int i = 0; i < a->k; i++)
        r += a->slots[i].depth - a->slots[i].n;
    return r;
}

/* Whether a runner will be idle once its running seed ends (or has no
 * seed): then the agent fetches even a single job. */
static bool short_of_work(const agent *a)
{
    if (a->npending > 0)
        return false;
    for (int i = 0; i < a->k; i++)
        if (!a->slots[i].broken && a->slots[i].n <= 1)
            return true;
    return false;
}

/* Nothing held: no runner has a seed, none is pending or awaits its
 * verdict's PubAck. */
static bool idle(const agent *a)
{
    if (a->npending > 0 || a->nawait > 0)
        return false;
    for (int i = 0; i < a->k; i++)
        if (a->slots[i].n > 0)
            return false;
    return true;
}

static int agent_loop(agent *a)
{
    ps_status last = PS_OK;
    while (!dist_stop_signal) {
        ps_status s = PS_OK;
        int handled = 1;
        bool waited = false;
        dispatch(a);
        /* At most the jobs the runners have room for, in one fetch, and a
         * fetch only when there is room for two or a runner is about to
         * run dry: a fetch a seed cost the agent and the server a round
         * trip each; a runner with a seed queued behind the running one
         * can wait for a second free place. An idle agent waits in a pull
         * request for one job, which the server answers the moment one is
         * submitted (asking again every WAIT_MS instead left new jobs
         * unseen for 50 ms on average: a large part of a short swarm). */
        while (!dist_stop_signal && handled > 0 && (room(a) >= 2 || (room(a) > 0 && short_of_work(a)))) {
            a->poll_started = dist_now_s();
            waited = idle(a);
            s = waited ? ps_worker_poll_wait(a->w, 1, WAIT_MS * INT64_C(1000000), &handled)
                       : ps_worker_poll_max(a->w, room(a), &handled);
            *(waited ? &a->idle_s : &a->server_s) += dist_now_s() - a->poll_started;
            a->fetches++;
            if (s)
                break;
            dispatch(a);
        }
        if (s != PS_OK && s != last) /* said once, not at every poll while the server is away */
            fprintf(stderr, "jetsim agent: fetching jobs: %s (trying again)\n", ps_last_error());
        last = s;
        /* busy runners wake the agent when they answer; an agent whose
         * waiting fetch came back empty asks again at once */
        tend(a, s ? 1000 : waited && handled == 0 ? 0 : WAIT_MS);
    }
    drain(a); /* verdicts sent: ack their jobs rather than hand them back */
    return 0;
}

int sim_dist_agent(const sim_dist_options *d)
{
    agent a = {.k = d->parallel};
    if (a.k <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        a.k = n > 0 ? (int)n : 1;
    }
    int64_t ack_wait = d->ack_wait_ns ? d->ack_wait_ns : 30 * NS_PER_S;
    a.wpi_every_s = (double)ack_wait / 3e9;
    a.pending_cap = a.k * SLOT_DEPTH_MAX;
    char shown[400];
    const int64_t backoff[] = {NS_PER_S}; /* a seed that could not start waits a second */
    ps_worker_config wc = {
        .stream = SIM_DIST_JOBS_STREAM,
        .consumer = {.durable = SIM_DIST_AGENTS, .ack_wait_ns = ack_wait},
        .batch = a.pending_cap,
        /* what the runners hold or wait for, and the jobs whose verdicts
         * await their PubAcks (as many again at most) */
        .max_in_flight = 2 * a.pending_cap,
        .handler = on_job,
        .nak_backoff_ns = backoff,
        .nak_backoff_len = 1,
        .on_error = on_worker_error,
        .user = &a,
        .fetch_no_wait = true,
    };
    a.slots = calloc((size_t)a.k, sizeof *a.slots);
    a.pending = calloc((size_t)a.pending_cap, sizeof *a.pending);
    a.await = calloc((size_t)a.pending_cap, sizeof *a.await);
    for (int i = 0; a.slots && i < a.k; i++)
        a.slots[i].depth = 1;
    ps_status s = a.slots && a.pending && a.await ? dist_connect(d, "jetsim-agent", &a.b, shown, sizeof shown)
                                       : ps_error(PS_ERR_NO_MEMORY, 0, "out of memory");
    if (!s)
        s = dist_ensure_streams(a.b, d->replicas);
    if (!s)
        s = dist_new_publisher(a.b, &a.pub);
    if (!s)
        ps_backend_set_pub_result_handler(a.b, on_verdict_ack, &a);
    if (!s && (s = ps_worker_new(&a.w, a.b, &wc)) != PS_OK)
        s = ps_error(s, ps_last_error_code(), "consumer %s on %s: %s", SIM_DIST_AGENTS, SIM_DIST_JOBS_STREAM,
                     ps_last_error());
    int rc = 0;
    if (s) {
        fprintf(stderr, "jetsim agent: harness error: %s\n", ps_last_error());
        rc = SIM_EXIT_HARNESS;
    } else {
        dist_catch_stop_signals();
        printf("agent: running seeds from %s on %s, %d at a time, AckWait %.3g s\n", SIM_DIST_JOBS_STREAM, shown,
               a.k, (double)ack_wait / 1e9);
        fflush(stdout);
        rc = agent_loop(&a);
        agent_stop(&a);
        ps_worker_stats st = {0};
        ps_worker_stats_get(a.w, &st);
        printf("agent: stopped by %s: %" PRIu64 " seeds run, %" PRIu64 " verdicts stored (%" PRIu64
               " of them there already), %" PRIu64 " jobs handed back\n", dist_stop_signal == SIGINT ? "SIGINT" : "SIGTERM",
               a.ran, a.published, a.twice, st.naked);
        printf("agent: waited %.3f s on the server (%" PRIu64 " fetches, %" PRIu64 " jobs), %.3f s for runners, "
               "%.3f s idle for jobs\n", a.server_s, a.fetches, st.fetched, a.runners_s, a.idle_s);
    }
    ps_worker_free(a.w);
    ps_publisher_free(a.pub);
    for (int i = 0; i < CACHE_MAX; i++)
        sim_scenario_free(a.cache[i].sc);
    for (int i = 0; a.slots && i < a.k; i++)
        sim_runner_free(a.slots[i].r);
    free(a.slots);
    free(a.pending);
    free(a.await);
    ps_backend_close(a.b);
    return rc;
}
