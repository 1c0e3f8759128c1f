/* real.c — a run on a real nats-server (engine.h, sim_target): connecting
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
 * Not: the memory model's versions of these faults (faults.c).
 */
#include "engine_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "credentials.h"
#include "proxy.h"
#include "ps_jetstream.h"
#include "ps_url.h"
#include "servers.h"
#include "ps_backend_impl.h"

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

int64_t eng_scaled(const engine *e, int64_t ns)
{
    if (!e->real || ns <= 0)
        return ns;
    int64_t r = (int64_t)((double)ns / e->scale);
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

static bool has_network_faults(const sim_scenario *sc)
{
    for (int i = 0; i < sc->nfaults; i++)
        if (sc->faults[i].kind == SIM_FAULT_CUT_CONNECTIONS || sc->faults[i].kind == SIM_FAULT_DROP_CONNECTIONS ||
            sc->faults[i].kind == SIM_FAULT_DELAY_CONNECTIONS)
            return true;
    return false;
}

/* The description this run gives its streams on a server jetsim did not
 * start: no other run's is the same (host, pid, wall-clock ns), and the
 * server refuses an add of an existing stream whose description differs
 * (JS 2.3), so two runs can never both take one stream for their own. */
static void mark_owner(engine *e)
{
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(e->owner, sizeof e->owner, "jetsim run on %s, pid %ld, at %" PRId64 ".%09ld", host, (long)getpid(),
             (int64_t)ts.tv_sec, (long)ts.tv_nsec);
}

ps_status eng_real_setup(engine *e, const sim_target *t)
{
    e->real = true;
    e->scale = t->time_scale >= 1 ? t->time_scale : 1;
    e->servers = t->servers;
    char urls[SIM_SERVERS_MAX][512];
    const char *list[SIM_SERVERS_MAX];
    int n = 0;
    bool proxied = has_network_faults(e->sc); /* a proxy only where the scenario cuts, drops or delays */
    if (t->servers && !proxied) {
        n = sim_servers_count(t->servers);
        for (int i = 0; i < n; i++)
            list[i] = sim_servers_url(t->servers, i);
    } else if (t->servers) {
        n = sim_servers_count(t->servers);
        for (int i = 0; i < n; i++) {
            ps_status s = sim_proxy_start(&e->proxies[i], sim_servers_port(t->servers, i));
            if (s)
                return s;
            e->nproxies++;
        }
    } else if (proxied) {
        int port = loopback_port(t->url);
        if (port > 0) { /* network faults through a proxy work on any loopback server */
            ps_status s = sim_proxy_start(&e->proxies[0], port);
            if (s)
                return s;
            e->nproxies = 1;
            n = 1;
        }
    }
    for (int i = 0; i < e->nproxies; i++) {
        snprintf(urls[i], sizeof urls[i], "nats://%s127.0.0.1:%d", userinfo(t->url), sim_proxy_port(e->proxies[i]));
        list[i] = urls[i];
    }
    if (n == 0)
        list[n++] = t->url;
    ps_jetstream_options o = {.urls = list, .urls_len = n, .client_name = "jetsim-run", .reconnect_attempts = -1,
                              .reconnect_wait_ms = 50, .request_timeout_ms = REQUEST_TIMEOUT_MS};
    sim_credentials_apply(t->creds, &o);
    ps_status s = ps_jetstream_new(&e->inner, &o);
    if (s)
        return s;
    char *shown = e->server, where[600]; /* the URL as it may be recorded and printed: no password, no token */
    ps_url_redact(e->server, sizeof e->server, t->url ? t->url : "the server");
    snprintf(where, sizeof where, "jetstream %s, time scale %g%s%s",
             t->servers ? (sim_servers_count(t->servers) > 1 ? "3-node cluster spawned by jetsim"
                                                             : "nats-server spawned by jetsim")
                        : shown,
             e->scale, t->ns ? ", namespace " : "", t->ns ? t->ns : "");
    if ((s = sim_master_set_backend(e->m, where)) != PS_OK)
        return s;
    for (int i = 0; i < e->sc->nstreams; i++) {
        ps_stream_info info = {0};
        s = ps_stream_info_get(e->inner, e->sc->streams[i].name, &info);
        ps_stream_info_clear(&info);
        if (s != PS_OK && s != PS_ERR_STREAM_NOT_FOUND)
            return ps_error(s, 0, "cannot tell whether stream %s exists: %s", e->sc->streams[i].name,
                            ps_last_error());
        if (s == PS_OK) {
            return ps_error(PS_ERR_STREAM_NAME_IN_USE, 0,
                            "stream %s already exists on %s: a run creates its streams itself and touches no "
                            "other (run with --namespace NAME, or --spawn, or delete that stream)",
                            e->sc->streams[i].name, t->servers ? "the spawned server" : shown);
        }
    }
    if (!t->servers)
        mark_owner(e);
    return PS_OK; /* the clock starts at the first event (eng_real_wait), after streams and consumers exist */
}

/* True when every stream of the scenario and every consumer answers its
 * info request, and (on a spawned cluster) every stream has a leader. */
static bool assets_answer(engine *e)
{
    const sim_scenario *sc = e->sc;
    for (int i = 0; i < sc->nstreams; i++) {
        if (e->servers && sim_servers_count(e->servers) > 1 && sim_servers_leader(e->servers, sc->streams[i].name) < 0)
            return false;
        ps_stream_info info = {0};
        ps_status s = ps_stream_info_get(e->inner, sc->streams[i].name, &info);
        ps_stream_info_clear(&info);
        if (s)
            return false;
    }
    for (int i = 0; i < sc->nconsumers; i++) {
        ps_consumer *c = NULL;
        ps_consumer_info ci = {0};
        ps_status s = ps_consumer_bind(e->inner, sc->consumers[i].stream, sc->consumers[i].name, &c);
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
ps_status eng_real_ready(engine *e)
{
    int64_t t0 = mono_ns(), end = t0 + READY_TIMEOUT_NS;
    ps_status s = e->servers ? sim_servers_wait_healthy(e->servers) : PS_OK;
    while (!s && !assets_answer(e)) {
        if (sim_servers_interrupted())
            return ps_error(PS_ERR_IO, 0, "interrupted");
        if (mono_ns() > end)
            return ps_error(PS_ERR_TIMEOUT, 0, "the scenario's streams and consumers were not ready on the "
                            "server %d s after they were created", (int)(READY_TIMEOUT_NS / PS_NS_PER_SEC));
        struct timespec ts = {0, 50 * PS_NS_PER_MS};
        nanosleep(&ts, NULL);
    }
    if (!s && e->log && e->servers && sim_servers_count(e->servers) > 1)
        fprintf(e->log, "cluster ready: streams led and current, consumers answering, after %.2f s\n",
                (double)(mono_ns() - t0) / 1e9);
    return s;
}

ps_status eng_real_stream_taken(engine *e, const char *stream)
{
    return ps_error(PS_ERR_STREAM_NAME_IN_USE, 10058,
                    "stream %s was created on %s by someone else while this run was setting up (another "
                    "run of the same scenario?): a run touches no stream it did not create (run with "
                    "--namespace NAME)", stream, e->server);
}

/* The server holds a stream (someone else's) whose subjects overlap the
 * scenario's stream: the refusal names both and the way out. */
ps_status eng_real_subjects_taken(engine *e, const char *stream)
{
    char detail[512];
    snprintf(detail, sizeof detail, "%s", ps_last_error());
    return ps_error(PS_ERR_STREAM_SUBJECT_OVERLAP, 10065,
                    "stream %s: its subjects overlap a stream that already exists on %s (%s): a run touches no "
                    "stream it did not create (run with --namespace NAME, which prefixes every subject, or "
                    "--spawn)", stream, e->server[0] ? e->server : "the server", detail);
}

/* A stream is this run's if it said so when created, or if it carries
 * this run's mark (an add that timed out may still have created it). */
void eng_real_delete_own_streams(engine *e)
{
    for (int i = 0; i < e->sc->nstreams; i++) {
        const char *name = e->sc->streams[i].name;
        bool mine = e->created[i];
        if (!mine && e->owner[0]) {
            ps_stream_info info = {0};
            mine = ps_stream_info_get(e->inner, name, &info) == PS_OK && info.config.description &&
                   strcmp(info.config.description, e->owner) == 0;
            ps_stream_info_clear(&info);
        }
        if (mine)
            ps_stream_delete(e->inner, name);
    }
}

/* Scenario faults a run on an existing server (--url) cannot make real. */
ps_status eng_real_check_faults(const sim_scenario *sc, const sim_target *t)
{
    for (int i = 0; i < sc->nfaults; i++) {
        sim_fault_kind k = sc->faults[i].kind;
        bool server = k == SIM_FAULT_RESTART_SERVER || k == SIM_FAULT_PAUSE_SERVER;
        bool net = k == SIM_FAULT_CUT_CONNECTIONS || k == SIM_FAULT_DROP_CONNECTIONS ||
                   k == SIM_FAULT_DELAY_CONNECTIONS;
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

static ps_status chaos_start(engine *e);

ps_status eng_real_wait(engine *e, int64_t at_ns)
{
    if (!e->real0) {
        e->real0 = mono_ns() - (int64_t)((double)(at_ns - e->base) / e->scale);
        ps_status s = chaos_start(e);
        if (s)
            return s;
    }
    int64_t due = e->real0 + (int64_t)((double)(at_ns - e->base) / e->scale);
    for (;;) {
        if (sim_servers_interrupted())
            return ps_error(PS_ERR_IO, 0, "interrupted");
        int64_t left = due - mono_ns();
        if (left <= 0)
            break;
        if (left > 100 * PS_NS_PER_MS)
            left = 100 * PS_NS_PER_MS; /* look at the interrupt flag now and then */
        struct timespec ts = {left / PS_NS_PER_SEC, left % PS_NS_PER_SEC};
        nanosleep(&ts, NULL);
    }
    int64_t v = e->base + (int64_t)((double)(mono_ns() - e->real0) * e->scale);
    int64_t now = ps_clock_now(e->clock);
    if (v < at_ns)
        v = at_ns;
    return v > now ? ps_clock_set(e->clock, v) : PS_OK;
}

int64_t eng_real_now(const engine *e)
{
    return e->base + (int64_t)((double)(mono_ns() - e->real0) * e->scale);
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

struct eng_chaos {
    engine *e;
    pthread_t thread;
    atomic_bool stop;       /* the thread may end (the run is over) */
    pthread_mutex_t mu;     /* held while a fault is applied */
    bool quiet;             /* under mu: apply nothing more */
    chaos_step steps[2 * SIM_MAX_FAULTS];
    int nsteps;
    int paused[SIM_MAX_FAULTS];      /* the node each pause stopped */
    int64_t started[SIM_MAX_FAULTS]; /* when each fault really began */
    int net[SIM_MAX_FAULTS];         /* network faults in force, oldest first */
    int nnet;
};

static bool is_real_kind(sim_fault_kind k)
{
    return k == SIM_FAULT_RESTART_SERVER || k == SIM_FAULT_PAUSE_SERVER || k == SIM_FAULT_CUT_CONNECTIONS ||
           k == SIM_FAULT_DROP_CONNECTIONS || k == SIM_FAULT_DELAY_CONNECTIONS;
}

bool eng_real_fault_is_threaded(const engine *e, const sim_fault *f)
{
    return e->real && is_real_kind(f->kind);
}

static void note(eng_chaos *c, const char *what, int node)
{
    engine *e = c->e;
    if (!e->log)
        return;
    double t = (double)(e->base + (int64_t)((double)(mono_ns() - e->real0) * e->scale) - e->base) / 1e9;
    if (node >= 0)
        fprintf(e->log, "  [%8.3f s] node n%d: %s\n", t, node + 1, what);
    else
        fprintf(e->log, "  [%8.3f s] connections through %d prox%s: %s\n", t, e->nproxies,
                e->nproxies == 1 ? "y" : "ies", what);
}

/* The node a server fault names: node=N, the stream leader, or (by
 * default) the first stream's leader in a cluster, node 1 otherwise. */
static int fault_node(engine *e, const sim_fault *f)
{
    if (f->node > 0)
        return (int)f->node - 1;
    if (sim_servers_count(e->servers) == 1)
        return 0;
    int leader = sim_servers_leader(e->servers, e->sc->streams[0].name);
    return leader >= 0 ? leader : 0;
}

static void apply(eng_chaos *c, const sim_fault *f, bool end)
{
    engine *e = c->e;
    switch (f->kind) {
    case SIM_FAULT_RESTART_SERVER: {
        int node = fault_node(e, f);
        int sig = f->restart == PS_RESTART_GRACEFUL ? SIGTERM : SIGKILL;
        note(c, sig == SIGKILL ? "kill -9, then restart" : "SIGTERM, then restart", node);
        if (sim_servers_kill(e->servers, node, sig) != PS_OK ||
            (!sim_servers_interrupted() && sim_servers_restart(e->servers, node) != PS_OK))
            note(c, ps_last_error(), node);
        else
            note(c, "up again", node);
        break;
    }
    case SIM_FAULT_PAUSE_SERVER: {
        int fi = (int)(f - e->sc->faults);
        int node = end ? c->paused[fi] : fault_node(e, f);
        c->paused[fi] = node;
        note(c, end ? "SIGCONT" : "SIGSTOP", node);
        sim_servers_pause(e->servers, node, !end);
        break;
    }
    default: { /* the proxies follow the newest network fault still in force */
        int fi = (int)(f - e->sc->faults), k = 0;
        for (int i = 0; i < c->nnet; i++)
            if (c->net[i] != fi)
                c->net[k++] = c->net[i];
        c->nnet = k;
        if (!end)
            c->net[c->nnet++] = fi;
        const sim_fault *now = c->nnet ? &e->sc->faults[c->net[c->nnet - 1]] : NULL;
        for (int i = 0; i < e->nproxies; i++) {
            if (!now)
                sim_proxy_heal(e->proxies[i]);
            else if (now->kind == SIM_FAULT_CUT_CONNECTIONS)
                sim_proxy_cut(e->proxies[i]);
            else if (now->kind == SIM_FAULT_DROP_CONNECTIONS)
                sim_proxy_blackhole(e->proxies[i]);
            else
                sim_proxy_delay(e->proxies[i], eng_scaled(e, now->delay_ns));
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
    eng_chaos *c = arg;
    for (int i = 0; i < c->nsteps && !atomic_load(&c->stop); i++) {
        const chaos_step *st = &c->steps[i];
        const sim_fault *f = &c->e->sc->faults[st->fault];
        int64_t due = st->due_ns; /* a fault that began late (a restart before it took long) lasts its full time */
        if (st->end && c->started[st->fault] + eng_scaled(c->e, f->duration_ns) > due)
            due = c->started[st->fault] + eng_scaled(c->e, f->duration_ns);
        while (!atomic_load(&c->stop) && !sim_servers_interrupted() && mono_ns() < due) {
            struct timespec ts = {0, 5 * PS_NS_PER_MS};
            nanosleep(&ts, NULL);
        }
        if (atomic_load(&c->stop) || sim_servers_interrupted())
            break;
        pthread_mutex_lock(&c->mu);
        if (!c->quiet) {
            if (!st->end)
                c->started[st->fault] = mono_ns();
            apply(c, f, st->end);
        }
        pthread_mutex_unlock(&c->mu);
    }
    while (!atomic_load(&c->stop)) { /* servers forked here die when this thread ends */
        struct timespec ts = {0, 20 * PS_NS_PER_MS};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Starts the thread once real time has a zero (the first event). */
static ps_status chaos_start(engine *e)
{
    eng_chaos *c = calloc(1, sizeof *c);
    if (!c)
        return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
    c->e = e;
    atomic_init(&c->stop, false);
    pthread_mutex_init(&c->mu, NULL);
    for (int i = 0; i < e->sc->nfaults; i++) {
        const sim_fault *f = &e->sc->faults[i];
        if (!is_real_kind(f->kind))
            continue;
        c->steps[c->nsteps++] = (chaos_step){e->real0 + eng_scaled(e, f->at_ns), i, false};
        if (f->duration_ns && f->kind != SIM_FAULT_RESTART_SERVER)
            c->steps[c->nsteps++] = (chaos_step){e->real0 + eng_scaled(e, f->at_ns + f->duration_ns), i, true};
    }
    qsort(c->steps, (size_t)c->nsteps, sizeof c->steps[0], by_due);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* signals go to the main thread */
    int rc = pthread_create(&c->thread, NULL, chaos_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(c);
        return ps_error(PS_ERR_IO, 0, "engine: cannot start the fault thread");
    }
    e->chaos = c;
    return PS_OK;
}

/* The thread applies nothing more; it stays alive, since a server it
 * restarted dies with it (PR_SET_PDEATHSIG), and the checks still need
 * that server. */
void eng_real_end_faults(engine *e)
{
    eng_chaos *c = e->chaos;
    if (c) {
        pthread_mutex_lock(&c->mu);
        c->quiet = true;
        for (int i = 0; i < e->sc->nfaults; i++) /* a pause still in force ends with the run */
            if (e->sc->faults[i].kind == SIM_FAULT_PAUSE_SERVER && c->started[i])
                sim_servers_pause(e->servers, c->paused[i], false);
        pthread_mutex_unlock(&c->mu);
    }
    for (int i = 0; i < e->nproxies; i++)
        sim_proxy_heal(e->proxies[i]);
}

void eng_real_close(engine *e)
{
    eng_real_end_faults(e);
    if (e->chaos) {
        atomic_store(&e->chaos->stop, true);
        pthread_join(e->chaos->thread, NULL);
        pthread_mutex_destroy(&e->chaos->mu);
        free(e->chaos);
        e->chaos = NULL;
    }
    for (int i = 0; i < e->nproxies; i++)
        sim_proxy_stop(e->proxies[i]);
    e->nproxies = 0;
}
