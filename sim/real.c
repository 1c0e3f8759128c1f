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
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy.h"
#include "ps_jetstream.h"
#include "servers.h"

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

static bool has_network_faults(const sim_scenario *sc)
{
    for (int i = 0; i < sc->nfaults; i++)
        if (sc->faults[i].kind == SIM_FAULT_CUT_CONNECTIONS || sc->faults[i].kind == SIM_FAULT_DROP_CONNECTIONS ||
            sc->faults[i].kind == SIM_FAULT_DELAY_CONNECTIONS)
            return true;
    return false;
}

ps_status eng_real_setup(engine *e, const sim_target *t)
{
    e->real = true;
    e->scale = t->time_scale >= 1 ? t->time_scale : 1;
    e->servers = t->servers;
    char urls[SIM_SERVERS_MAX][64];
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
        snprintf(urls[i], sizeof urls[i], "nats://127.0.0.1:%d", sim_proxy_port(e->proxies[i]));
        list[i] = urls[i];
    }
    if (n == 0)
        list[n++] = t->url;
    ps_jetstream_options o = {.urls = list, .urls_len = n, .client_name = "jetsim-run", .reconnect_attempts = -1,
                              .reconnect_wait_ms = 50, .request_timeout_ms = 2000};
    ps_status s = ps_jetstream_new(&e->inner, &o);
    if (s)
        return s;
    for (int i = 0; i < e->sc->nstreams; i++) {
        ps_stream_info info = {0};
        if (ps_stream_info_get(e->inner, e->sc->streams[i].name, &info) == PS_OK) {
            ps_stream_info_clear(&info);
            return ps_error(PS_ERR_STREAM_NAME_IN_USE, 0,
                            "stream %s already exists on %s: a run creates its streams itself (delete it, "
                            "or run with --spawn)", e->sc->streams[i].name, t->url ? t->url : "the server");
        }
    }
    return PS_OK; /* the clock starts at the first event (eng_real_wait), after streams and consumers exist */
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

void eng_real_close(engine *e)
{
    for (int i = 0; i < e->nproxies; i++)
        sim_proxy_stop(e->proxies[i]);
    e->nproxies = 0;
}

ps_status eng_real_wait(engine *e, int64_t at_ns)
{
    if (!e->real0)
        e->real0 = mono_ns() - (int64_t)((double)(at_ns - e->base) / e->scale);
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

/* The node a server fault names: node=N, the stream leader, or (by
 * default) the first stream's leader in a cluster, node 1 otherwise. */
static int fault_node(engine *e, const sim_fault *f)
{
    if (f->node > 0)
        return (int)f->node - 1;
    int n = sim_servers_count(e->servers);
    if (n == 1)
        return 0;
    int leader = sim_servers_leader(e->servers, e->sc->streams[0].name);
    return leader >= 0 ? leader : 0;
}

static void note(engine *e, const char *fmt, int node, const char *what)
{
    if (e->log) {
        fprintf(e->log, "  [%8.3f s] ", (double)(ps_clock_now(e->clock) - e->base) / 1e9);
        fprintf(e->log, fmt, node + 1, what);
        fputc('\n', e->log);
    }
}

void eng_real_fault(engine *e, const sim_fault *f, bool end)
{
    switch (f->kind) {
    case SIM_FAULT_RESTART_SERVER: {
        int node = fault_node(e, f);
        int sig = f->restart == PS_RESTART_GRACEFUL ? SIGTERM : SIGKILL;
        note(e, "node n%d: %s, then restart", node, sig == SIGKILL ? "kill -9" : "SIGTERM");
        if (sim_servers_kill(e->servers, node, sig) != PS_OK || sim_servers_restart(e->servers, node) != PS_OK)
            note(e, "node n%d: %s", node, ps_last_error());
        break;
    }
    case SIM_FAULT_PAUSE_SERVER: {
        int node = end ? e->paused_node : fault_node(e, f);
        e->paused_node = node;
        note(e, "node n%d: %s", node, end ? "SIGCONT" : "SIGSTOP");
        sim_servers_pause(e->servers, node, !end);
        break;
    }
    case SIM_FAULT_CUT_CONNECTIONS:
    case SIM_FAULT_DROP_CONNECTIONS:
    case SIM_FAULT_DELAY_CONNECTIONS:
        for (int i = 0; i < e->nproxies; i++) {
            if (end)
                sim_proxy_heal(e->proxies[i]);
            else if (f->kind == SIM_FAULT_CUT_CONNECTIONS)
                sim_proxy_cut(e->proxies[i]);
            else if (f->kind == SIM_FAULT_DROP_CONNECTIONS)
                sim_proxy_blackhole(e->proxies[i]);
            else
                sim_proxy_delay(e->proxies[i], eng_scaled(e, f->delay_ns));
        }
        if (e->log)
            fprintf(e->log, "  [%8.3f s] connections through %d prox%s: %s\n",
                    (double)(ps_clock_now(e->clock) - e->base) / 1e9, e->nproxies, e->nproxies == 1 ? "y" : "ies",
                    end ? "healed" : sim_fault_name(f->kind));
        break;
    default:
        break;
    }
}
