/* real.c — a real nats-server as a run target (real.h, engine.h): connecting
 * through a loopback proxy per node, the scenario's durations scaled down
 * for the server, the event loop held to real time, and the server and
 * network faults made real (kill -9, SIGTERM, SIGSTOP, the stream leader,
 * proxy cuts, drops and delays).
 *
 * Virtual time still drives the scenario: an event due at virtual t runs
 * at real time start + t / scale, and the engine's clock reads the virtual
 * time that real time has reached. Nothing here is deterministic; the
 * checkers are the same.
 *
 * Not: the memory model's versions of these faults (faults.c), nor the
 * engine (it receives this target and never asks which one it has).
 */
#include "real.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "credentials.h"
#include "proxy.h"
#include "ps_backend_impl.h"
#include "ps_jetstream.h"
#include "ps_url.h"
#include "servers.h"

typedef struct real_chaos real_chaos;

/* One run on a server: the target's state between open and close. */
typedef struct real_target {
    sim_target target;       /* first: the engine holds a sim_target * */
    sim_real_options o;
    const sim_scenario *sc;
    FILE *log;
    ps_backend *inner;
    ps_clock *clock;         /* virtual time: a manual clock that follows real time */
    double scale;            /* virtual seconds per real second */
    int64_t base;            /* the clock at the run's start */
    int64_t real0;           /* monotonic ns when virtual time was base; 0 before the first event */
    sim_servers *servers;    /* spawned by jetsim, or NULL */
    sim_proxy *proxies[SIM_SERVERS_MAX];
    int nproxies;
    real_chaos *chaos;        /* the thread that runs server and network faults */
    bool created[SIM_MAX_STREAMS]; /* streams this run created: the only ones its clean-up deletes */
    char owner[128];         /* on a server jetsim did not start: the description that marks this run's streams */
    char server[400];        /* that server's URL as it may be shown (no password, no token) */
} real_target;


/* Every client call blocks the one event loop that drives all actors, so a
 * server that does not answer (paused, cut off, electing a leader) must
 * not hold it long: a request gives up after this, as a job system's
 * client with a short timeout would, and the actor retries or lets the
 * message come back after AckWait. */
#define REQUEST_TIMEOUT_MS 500

/* How long a run waits for its streams and consumers to be ready. */
#define READY_TIMEOUT_NS (30 * PS_NS_PER_SEC)

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * PS_NS_PER_SEC + ts.tv_nsec;
}

/* A server times nak delays on the wall clock, not on the run's virtual
 * one. */
static ps_clock *real_broker_clock(const sim_target *t)
{
    (void)t;
    return ps_clock_real();
}

static int64_t real_scaled(const sim_target *t, int64_t ns)
{
    const real_target *rt = (const real_target *)t;
    if (ns <= 0)
        return ns;
    int64_t r = (int64_t)((double)ns / rt->scale);
    return r > 0 ? r : 1;
}

/* "nats://host:port" -> port, when host is loopback; -1 otherwise. */
static int loopback_port(const char *url)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    const char *at = strrchr(h, '@');
    if (at)
        h = at + 1;
    if (strncmp(h, "127.0.0.1:", 10) != 0 && strncmp(h, "localhost:", 10) != 0)
        return -1;
    char *end = NULL;
    long p = strtol(h + 10, &end, 10);
    return p > 0 && p < 65536 && (*end == '\0' || *end == '/') ? (int)p : -1;
}

/* The "user:password@" or "token@" of a URL, so that a proxy in front of
 * the server still presents it; "" for none. Static storage. */
static const char *userinfo(const char *url)
{
    static char buf[400];
    buf[0] = '\0';
    if (!url)
        return buf;
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    size_t n = strcspn(h, ","); /* the first server of a list */
    const char *at = NULL;
    for (size_t i = 0; i < n; i++)
        if (h[i] == '@')
            at = h + i;
    if (at && (size_t)(at - h) + 2 <= sizeof buf)
        snprintf(buf, sizeof buf, "%.*s@", (int)(at - h), h);
    return buf;
}

/* Faults a proxy in front of the server carries out (SIM_FAULTS' reach). */
static bool has_network_faults(const sim_scenario *sc)
{
    for (int i = 0; i < sc->nfaults; i++)
        if (sim_fault_info_of(sc->faults[i].kind)->reach == SIM_REACH_LOOPBACK)
            return true;
    return false;
}

/* The description this run gives its streams on a server jetsim did not
 * start: no other run's is the same (host, pid, wall-clock ns), and the
 * server refuses an add of an existing stream whose description differs
 * (JS 2.3), so two runs can never both take one stream for their own. */
static void mark_owner(real_target *rt)
{
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(rt->owner, sizeof rt->owner, "jetsim run on %s, pid %ld, at %" PRId64 ".%09ld", host, (long)getpid(),
             (int64_t)ts.tv_sec, (long)ts.tv_nsec);
}

static ps_status check_faults(const sim_scenario *sc, const sim_real_options *t);

static ps_status real_open(sim_target *tg, const sim_scenario *sc, uint64_t seed, FILE *log, ps_backend **backend,
                           ps_clock **clock, char *where, size_t where_len)
{
    (void)seed; /* nothing on a server follows it */
    real_target *rt = (real_target *)tg;
    const sim_real_options *t = &rt->o;
    rt->sc = sc;
    rt->log = log;
    rt->scale = t->time_scale >= 1 ? t->time_scale : 1;
    rt->servers = t->servers;
    rt->real0 = 0;
    memset(rt->created, 0, sizeof rt->created);
    rt->owner[0] = rt->server[0] = '\0';
    ps_status s = check_faults(sc, t);
    if (s)
        return s;
    if (!(rt->clock = ps_clock_manual_new(0)))
        return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
    rt->base = ps_clock_now(rt->clock);
    char urls[SIM_SERVERS_MAX][512];
    const char *list[SIM_SERVERS_MAX];
    int n = 0;
    bool proxied = has_network_faults(rt->sc); /* a proxy only where the scenario cuts, drops or delays */
    if (t->servers && !proxied) {
        n = sim_servers_count(t->servers);
        for (int i = 0; i < n; i++)
            list[i] = sim_servers_url(t->servers, i);
    } else if (t->servers) {
        n = sim_servers_count(t->servers);
        for (int i = 0; i < n; i++) {
            s = sim_proxy_start(&rt->proxies[i], sim_servers_port(t->servers, i));
            if (s)
                return s;
            rt->nproxies++;
        }
    } else if (proxied) {
        int port = loopback_port(t->url);
        if (port > 0) { /* network faults through a proxy work on any loopback server */
            s = sim_proxy_start(&rt->proxies[0], port);
            if (s)
                return s;
            rt->nproxies = 1;
            n = 1;
        }
    }
    for (int i = 0; i < rt->nproxies; i++) {
        snprintf(urls[i], sizeof urls[i], "nats://%s127.0.0.1:%d", userinfo(t->url), sim_proxy_port(rt->proxies[i]));
        list[i] = urls[i];
    }
    if (n == 0)
        list[n++] = t->url;
    ps_jetstream_options o = {.urls = list, .urls_len = n, .client_name = "jetsim-run", .reconnect_attempts = -1,
                              .reconnect_wait_ms = 50, .request_timeout_ms = REQUEST_TIMEOUT_MS};
    sim_credentials_apply(t->creds, &o);
    if ((s = ps_jetstream_new(&rt->inner, &o)) != PS_OK)
        return s;
    *backend = rt->inner;
    *clock = rt->clock;
    char *shown = rt->server; /* the URL as it may be recorded and printed: no password, no token */
    ps_url_redact(rt->server, sizeof rt->server, t->url ? t->url : "the server");
    snprintf(where, where_len, "jetstream %s, time scale %g%s%s",
             t->servers ? (sim_servers_count(t->servers) > 1 ? "3-node cluster spawned by jetsim"
                                                             : "nats-server spawned by jetsim")
                        : shown,
             rt->scale, t->ns ? ", namespace " : "", t->ns ? t->ns : "");
    for (int i = 0; i < rt->sc->nstreams; i++) {
        ps_stream_info info = {0};
        s = ps_stream_info_get(rt->inner, rt->sc->streams[i].name, &info);
        ps_stream_info_clear(&info);
        if (s != PS_OK && s != PS_ERR_STREAM_NOT_FOUND)
            return ps_error(s, 0, "cannot tell whether stream %s exists: %s", rt->sc->streams[i].name,
                            ps_last_error());
        if (s == PS_OK) {
            return ps_error(PS_ERR_STREAM_NAME_IN_USE, 0,
                            "stream %s already exists on %s: a run creates its streams itself and touches no "
                            "other (run with --namespace NAME, or --spawn, or delete that stream)",
                            rt->sc->streams[i].name, t->servers ? "the spawned server" : shown);
        }
    }
    if (!t->servers)
        mark_owner(rt);
    return PS_OK; /* real time starts at the first event (real_wait_until), after streams and consumers exist */
}

/* True when every stream of the scenario and every consumer answers its
 * info request, and (on a spawned cluster) every stream has a leader. */
static bool assets_answer(real_target *rt)
{
    const sim_scenario *sc = rt->sc;
    for (int i = 0; i < sc->nstreams; i++) {
        if (rt->servers && sim_servers_count(rt->servers) > 1 && sim_servers_leader(rt->servers, sc->streams[i].name) < 0)
            return false;
        ps_stream_info info = {0};
        ps_status s = ps_stream_info_get(rt->inner, sc->streams[i].name, &info);
        ps_stream_info_clear(&info);
        if (s)
            return false;
    }
    for (int i = 0; i < sc->nconsumers; i++) {
        ps_consumer *c = NULL;
        ps_consumer_info ci = {0};
        ps_status s = ps_consumer_bind(rt->inner, sc->consumers[i].stream, sc->consumers[i].name, &c);
        if (!s)
            s = ps_consumer_info_get(c, &ci);
        ps_consumer_info_clear(&ci);
        ps_consumer_free(c);
        if (s)
            return false;
    }
    return true;
}

/* A new stream on a cluster takes a while to elect its leader and bring
 * its replicas up to date; publishes meanwhile fail. The workload clock
 * must not start before: a run measures the job system, not the
 * cluster's start-up (the paced publisher would fall behind from its
 * first message and give up on jobs). So: every spawned node healthy
 * (a 2.9 node is healthy only when the streams and consumers it holds
 * are current), every stream led, every stream and consumer answering. */
static ps_status real_ready(sim_target *t)
{
    real_target *rt = (real_target *)t;
    int64_t t0 = mono_ns(), end = t0 + READY_TIMEOUT_NS;
    ps_status s = rt->servers ? sim_servers_wait_healthy(rt->servers) : PS_OK;
    while (!s && !assets_answer(rt)) {
        if (sim_servers_interrupted())
            return ps_error(PS_ERR_IO, 0, "interrupted");
        if (mono_ns() > end)
            return ps_error(PS_ERR_TIMEOUT, 0, "the scenario's streams and consumers were not ready on the "
                            "server %d s after they were created", (int)(READY_TIMEOUT_NS / PS_NS_PER_SEC));
        sim_servers_sleep_until(mono_ns() + 50 * PS_NS_PER_MS); /* the server says nothing when: ask again */
    }
    if (!s && rt->log && rt->servers && sim_servers_count(rt->servers) > 1)
        fprintf(rt->log, "cluster ready: streams led and current, consumers answering, after %.2f s\n",
                (double)(mono_ns() - t0) / 1e9);
    return s;
}

static ps_status stream_taken(real_target *rt, const char *stream)
{
    return ps_error(PS_ERR_STREAM_NAME_IN_USE, 10058,
                    "stream %s was created on %s by someone else while this run was setting up (another "
                    "run of the same scenario?): a run touches no stream it did not create (run with "
                    "--namespace NAME)", stream, rt->server);
}

/* The server holds a stream (someone else's) whose subjects overlap the
 * scenario's stream: the refusal names both and the way out. */
static ps_status subjects_taken(real_target *rt, const char *stream)
{
    char detail[512];
    snprintf(detail, sizeof detail, "%s", ps_last_error());
    return ps_error(PS_ERR_STREAM_SUBJECT_OVERLAP, 10065,
                    "stream %s: its subjects overlap a stream that already exists on %s (%s): a run touches no "
                    "stream it did not create (run with --namespace NAME, which prefixes every subject, or "
                    "--spawn)", stream, rt->server[0] ? rt->server : "the server", detail);
}

static ps_status real_stream_added(sim_target *t, int stream, ps_status s)
{
    real_target *rt = (real_target *)t;
    rt->created[stream] = s == PS_OK;
    if (s == PS_ERR_STREAM_NAME_IN_USE && rt->owner[0])
        return stream_taken(rt, rt->sc->streams[stream].name);
    if (s == PS_ERR_STREAM_SUBJECT_OVERLAP)
        return subjects_taken(rt, rt->sc->streams[stream].name);
    return s;
}

/* A stream is this run's if it said so when created, or if it carries
 * this run's mark (an add that timed out may still have created it). */
static void delete_own_streams(real_target *rt)
{
    for (int i = 0; i < rt->sc->nstreams; i++) {
        const char *name = rt->sc->streams[i].name;
        bool mine = rt->created[i];
        if (!mine && rt->owner[0]) {
            ps_stream_info info = {0};
            mine = ps_stream_info_get(rt->inner, name, &info) == PS_OK && info.config.description &&
                   strcmp(info.config.description, rt->owner) == 0;
            ps_stream_info_clear(&info);
        }
        if (mine)
            ps_stream_delete(rt->inner, name);
    }
}

/* Scenario faults a run on an existing server (--url) cannot make real. */
static ps_status check_faults(const sim_scenario *sc, const sim_real_options *t)
{
    for (int i = 0; i < sc->nfaults; i++) {
        sim_fault_kind k = sc->faults[i].kind;
        sim_fault_reach reach = sim_fault_info_of(k)->reach;
        bool server = reach == SIM_REACH_SPAWNED;
        bool net = reach == SIM_REACH_LOOPBACK;
        if (server && !t->servers)
            return ps_error(PS_ERR_INVALID_ARG, 0, "line %d: '%s' needs a server jetsim started (--spawn): "
                            "jetsim does not signal a server it did not start", sc->faults[i].pos.line,
                            sim_fault_name(k));
        if (net && !t->servers && (!t->url || loopback_port(t->url) < 0))
            return ps_error(PS_ERR_INVALID_ARG, 0, "line %d: '%s' needs a loopback server (--spawn, or --url "
                            "nats://127.0.0.1:PORT) to put its proxy in front of", sc->faults[i].pos.line,
                            sim_fault_name(k));
        if (sc->faults[i].node > sim_servers_count(t->servers) && t->servers)
            return ps_error(PS_ERR_INVALID_ARG, 0, "line %d: node=%lld, but %d server(s) run",
                            sc->faults[i].pos.line, (long long)sc->faults[i].node, sim_servers_count(t->servers));
    }
    return PS_OK;
}

static ps_status chaos_start(real_target *rt);

static ps_status real_wait_until(sim_target *t, int64_t at_ns)
{
    real_target *rt = (real_target *)t;
    if (!rt->real0) {
        rt->real0 = mono_ns() - (int64_t)((double)(at_ns - rt->base) / rt->scale);
        ps_status s = chaos_start(rt);
        if (s)
            return s;
    }
    int64_t due = rt->real0 + (int64_t)((double)(at_ns - rt->base) / rt->scale);
    if (sim_servers_sleep_until(due)) /* a Ctrl-C ends it at once */
        return ps_error(PS_ERR_IO, 0, "interrupted");
    int64_t v = rt->base + (int64_t)((double)(mono_ns() - rt->real0) * rt->scale);
    int64_t now = ps_clock_now(rt->clock);
    if (v < at_ns)
        v = at_ns;
    return v > now ? ps_clock_set(rt->clock, v) : PS_OK;
}

static int64_t real_now(const sim_target *t)
{
    const real_target *rt = (const real_target *)t;
    int64_t now = ps_clock_now(rt->clock);
    if (!rt->real0)
        return now;
    int64_t r = rt->base + (int64_t)((double)(mono_ns() - rt->real0) * rt->scale);
    return r > now ? r : now;
}

/* The server's timers cannot be seen: an idle worker looks again after
 * this much virtual time. */
#define POLL_NS (50 * PS_NS_PER_MS)

static int64_t real_next_due(const sim_target *t, int64_t now)
{
    (void)t;
    return now + POLL_NS;
}

static void real_stream_config(const sim_target *t, ps_stream_config *c)
{
    const real_target *rt = (const real_target *)t;
    int32_t max = rt->servers ? sim_servers_count(rt->servers) : 5; /* a server we did not start may be a cluster */
    if (c->replicas > max)
        c->replicas = max;
    if (rt->owner[0])
        c->description = rt->owner;
}

/* ---- the chaos thread ----------------------------------------------------------------
 *
 * Server and network faults run on a thread of their own, at their real
 * due times: the event loop may be blocked in a client call that the
 * fault itself stalls (a cut, a paused server), and the fault's end must
 * not wait for it. The thread only signals servers and controls proxies;
 * the loop only records the fault in the trace. It lives until the run
 * ends: a server it restarted dies with it (PR_SET_PDEATHSIG follows the
 * thread that forked). */

typedef struct chaos_step {
    int64_t due_ns; /* monotonic */
    int fault;
    bool end;
} chaos_step;

struct real_chaos {
    real_target *rt;
    pthread_t thread;
    pthread_mutex_t mu;     /* held while a fault is applied, and by the thread's waits */
    pthread_cond_t cv;      /* signalled when stop is set */
    bool stop;              /* under mu: the thread may end (the run is over) */
    bool quiet;             /* under mu: apply nothing more */
    chaos_step steps[2 * SIM_MAX_FAULTS];
    int nsteps;
    int paused[SIM_MAX_FAULTS];      /* the node each pause stopped */
    int64_t started[SIM_MAX_FAULTS]; /* when each fault really began */
    int net[SIM_MAX_FAULTS];         /* network faults in force, oldest first */
    int nnet;
};

/* A fault the harness carries out on the server or the network; the
 * others (SIM_REACH_ANY) the client side does, as on the model. */
static bool is_real_kind(sim_fault_kind k)
{
    return sim_fault_info_of(k)->reach != SIM_REACH_ANY;
}

/* The fault thread carries these out at their real times; the engine only
 * traces them. */
static bool real_fault(sim_target *t, int fault, bool end)
{
    (void)end;
    const real_target *rt = (const real_target *)t;
    return is_real_kind(rt->sc->faults[fault].kind);
}

static void note(real_chaos *c, const char *what, int node)
{
    real_target *rt = c->rt;
    if (!rt->log)
        return;
    double t = (double)(rt->base + (int64_t)((double)(mono_ns() - rt->real0) * rt->scale) - rt->base) / 1e9;
    if (node >= 0)
        fprintf(rt->log, "  [%8.3f s] node n%d: %s\n", t, node + 1, what);
    else
        fprintf(rt->log, "  [%8.3f s] connections through %d prox%s: %s\n", t, rt->nproxies,
                rt->nproxies == 1 ? "y" : "ies", what);
}

/* The node a server fault names: node=N, the stream leader, or (by
 * default) the first stream's leader in a cluster, node 1 otherwise. */
static int fault_node(real_target *rt, const sim_fault *f)
{
    if (f->node > 0)
        return (int)f->node - 1;
    if (sim_servers_count(rt->servers) == 1)
        return 0;
    int leader = sim_servers_leader(rt->servers, rt->sc->streams[0].name);
    return leader >= 0 ? leader : 0;
}

static void apply(real_chaos *c, const sim_fault *f, bool end)
{
    real_target *rt = c->rt;
    switch (f->kind) {
    case SIM_FAULT_RESTART_SERVER: {
        int node = fault_node(rt, f);
        int sig = f->restart == PS_RESTART_GRACEFUL ? SIGTERM : SIGKILL;
        note(c, sig == SIGKILL ? "kill -9, then restart" : "SIGTERM, then restart", node);
        if (sim_servers_kill(rt->servers, node, sig) != PS_OK ||
            (!sim_servers_interrupted() && sim_servers_restart(rt->servers, node) != PS_OK))
            note(c, ps_last_error(), node);
        else
            note(c, "up again", node);
        break;
    }
    case SIM_FAULT_PAUSE_SERVER: {
        int fi = (int)(f - rt->sc->faults);
        int node = end ? c->paused[fi] : fault_node(rt, f);
        c->paused[fi] = node;
        note(c, end ? "SIGCONT" : "SIGSTOP", node);
        sim_servers_pause(rt->servers, node, !end);
        break;
    }
    default: { /* the proxies follow the newest network fault still in force */
        int fi = (int)(f - rt->sc->faults), k = 0;
        for (int i = 0; i < c->nnet; i++)
            if (c->net[i] != fi)
                c->net[k++] = c->net[i];
        c->nnet = k;
        if (!end)
            c->net[c->nnet++] = fi;
        const sim_fault *now = c->nnet ? &rt->sc->faults[c->net[c->nnet - 1]] : NULL;
        for (int i = 0; i < rt->nproxies; i++) {
            if (!now)
                sim_proxy_heal(rt->proxies[i]);
            else if (now->kind == SIM_FAULT_CUT_CONNECTIONS)
                sim_proxy_cut(rt->proxies[i]);
            else if (now->kind == SIM_FAULT_DROP_CONNECTIONS)
                sim_proxy_blackhole(rt->proxies[i]);
            else
                sim_proxy_delay(rt->proxies[i], real_scaled(&rt->target, now->delay_ns));
        }
        note(c, now ? sim_fault_name(now->kind) : "healed", -1);
        break;
    }
    }
}

/* By time; at the same time an end before a start, then scenario order. */
static int by_due(const void *a, const void *b)
{
    const chaos_step *x = a, *y = b;
    if (x->due_ns != y->due_ns)
        return (x->due_ns > y->due_ns) - (x->due_ns < y->due_ns);
    if (x->end != y->end)
        return x->end ? -1 : 1;
    return (x->fault > y->fault) - (x->fault < y->fault);
}

static void *chaos_main(void *arg)
{
    real_chaos *c = arg;
    for (int i = 0; i < c->nsteps; i++) {
        const chaos_step *st = &c->steps[i];
        const sim_fault *f = &c->rt->sc->faults[st->fault];
        int64_t due = st->due_ns; /* a fault that began late (a restart before it took long) lasts its full time */
        if (st->end && c->started[st->fault] + real_scaled(&c->rt->target, f->duration_ns) > due)
            due = c->started[st->fault] + real_scaled(&c->rt->target, f->duration_ns);
        pthread_mutex_lock(&c->mu);
        struct timespec at = {due / PS_NS_PER_SEC, due % PS_NS_PER_SEC};
        while (!c->stop && mono_ns() < due) /* until due, or until the run stops it */
            pthread_cond_timedwait(&c->cv, &c->mu, &at);
        if (c->stop || sim_servers_interrupted()) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        if (!c->quiet) {
            if (!st->end)
                c->started[st->fault] = mono_ns();
            apply(c, f, st->end);
        }
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_lock(&c->mu);
    while (!c->stop) /* servers forked here die when this thread ends */
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Starts the thread once real time has a zero (the first event). */
static ps_status chaos_start(real_target *rt)
{
    real_chaos *c = calloc(1, sizeof *c);
    if (!c)
        return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
    c->rt = rt;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* due times are monotonic */
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->mu, NULL);
    for (int i = 0; i < rt->sc->nfaults; i++) {
        const sim_fault *f = &rt->sc->faults[i];
        if (!is_real_kind(f->kind))
            continue;
        c->steps[c->nsteps++] = (chaos_step){rt->real0 + real_scaled(&rt->target, f->at_ns), i, false};
        if (f->duration_ns && f->kind != SIM_FAULT_RESTART_SERVER)
            c->steps[c->nsteps++] = (chaos_step){rt->real0 + real_scaled(&rt->target, f->at_ns + f->duration_ns), i, true};
    }
    qsort(c->steps, (size_t)c->nsteps, sizeof c->steps[0], by_due);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* signals go to the main thread */
    int rc = pthread_create(&c->thread, NULL, chaos_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return ps_error(PS_ERR_IO, 0, "engine: cannot start the fault thread");
    }
    rt->chaos = c;
    return PS_OK;
}

/* The thread applies nothing more; it stays alive, since a server it
 * restarted dies with it (PR_SET_PDEATHSIG), and the checks still need
 * that server. */
static void real_end_faults(sim_target *t)
{
    real_target *rt = (real_target *)t;
    real_chaos *c = rt->chaos;
    if (c) {
        pthread_mutex_lock(&c->mu);
        c->quiet = true;
        for (int i = 0; i < rt->sc->nfaults; i++) /* a pause still in force ends with the run */
            if (rt->sc->faults[i].kind == SIM_FAULT_PAUSE_SERVER && c->started[i])
                sim_servers_pause(rt->servers, c->paused[i], false);
        pthread_mutex_unlock(&c->mu);
    }
    for (int i = 0; i < rt->nproxies; i++)
        sim_proxy_heal(rt->proxies[i]);
}

static bool real_gone(const sim_target *t)
{
    return ((const real_target *)t)->servers && sim_servers_interrupted();
}

static void real_close(sim_target *t)
{
    real_target *rt = (real_target *)t;
    if (rt->sc)
        real_end_faults(t);
    if (rt->inner && !rt->servers) /* the server is someone else's: take away what this run created */
        delete_own_streams(rt);
    ps_backend_close(rt->inner);
    rt->inner = NULL;
    if (rt->chaos) {
        pthread_mutex_lock(&rt->chaos->mu);
        rt->chaos->stop = true;
        pthread_cond_broadcast(&rt->chaos->cv);
        pthread_mutex_unlock(&rt->chaos->mu);
        pthread_join(rt->chaos->thread, NULL);
        pthread_cond_destroy(&rt->chaos->cv);
        pthread_mutex_destroy(&rt->chaos->mu);
        free(rt->chaos);
        rt->chaos = NULL;
    }
    for (int i = 0; i < rt->nproxies; i++)
        sim_proxy_stop(rt->proxies[i]);
    rt->nproxies = 0;
    ps_clock_free(rt->clock);
    rt->clock = NULL;
    rt->sc = NULL;
}

static void real_free(sim_target *t)
{
    free(t);
}

static const sim_target_ops real_ops = {
    .version = SIM_TARGET_OPS_VERSION,
    .name = "jetstream",
    .open = real_open,
    .stream_config = real_stream_config,
    .scaled = real_scaled,
    .broker_clock = real_broker_clock,
    .stream_added = real_stream_added,
    .ready = real_ready,
    .wait_until = real_wait_until,
    .now = real_now,
    .next_due = real_next_due,
    .fault = real_fault,
    .end_faults = real_end_faults,
    .gone = real_gone,
    .close = real_close,
    .free = real_free,
};

ps_status sim_target_real_new(sim_target **out, const sim_real_options *o)
{
    if (!o || (!o->url && !o->servers))
        return ps_error(PS_ERR_INVALID_ARG, 0, "a server target needs a URL or spawned servers");
    real_target *rt = calloc(1, sizeof *rt);
    if (!rt)
        return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
    rt->target.ops = &real_ops;
    rt->target.replay_cmd = o->replay_cmd;
    rt->o = *o;
    *out = &rt->target;
    return PS_OK;
}
