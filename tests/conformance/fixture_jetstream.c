/* fixture_jetstream.c — runs the conformance suite on the JetStream backend
 * against a real nats-server.
 *
 * The server comes from NATS_URL (make test starts one through
 * ci/nats-server.sh and sets it). Each test gets a new backend connection
 * on an empty server: setup deletes every stream a previous test left.
 * Time is real: advance() sleeps, then lets the backend deliver the
 * advisories that arrived (tick). Restarts go through ci/nats-server.sh
 * (kill -9 or SIGTERM, then a restart on the same port and store) when
 * JETSIM_NATS_SCRIPT and JETSIM_NATS_NAME name the script and the server;
 * otherwise the restart tests are skipped with their reason printed. A
 * power loss cannot be produced on a real server here: those tests are
 * skipped with that reason.
 *
 * The suite deletes every stream between tests, so it refuses a server
 * that already holds streams unless JETSIM_CONFORMANCE_WIPE=1.
 *
 * Without NATS_URL, or in a library built without cnats, the suite is not
 * run and the binary says why (exit 0, so `make test` without a server
 * still tests everything else).
 *
 * Not: a place for server-only tests (tests/jetstream/test_server.c has those).
 */
#include "conformance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps_jetstream.h"
#include "ps_backend_impl.h"

#ifdef PS_HAVE_NATS
#include <nats/nats.h>

static natsConnection *g_admin; /* for cleaning up between tests */
static jsCtx *g_js;

/* Number of streams on the server, -1 if it cannot be listed. */
static int count_streams(void)
{
    jsStreamNamesList *names = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_StreamNames(&names, g_js, NULL, &jerr);
    if (ns == NATS_NOT_FOUND)
        return 0;
    if (ns != NATS_OK)
        return -1;
    int n = names->Count;
    jsStreamNamesList_Destroy(names);
    return n;
}

static ps_status delete_all_streams(void)
{
    jsStreamNamesList *names = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_StreamNames(&names, g_js, NULL, &jerr);
    if (ns == NATS_NOT_FOUND)
        return PS_OK; /* no streams at all */
    if (ns != NATS_OK)
        return ps_error(PS_ERR_IO, (int)jerr, "listing streams: %s", nats_GetLastError(NULL));
    for (int i = 0; i < names->Count; i++) {
        ns = js_DeleteStream(g_js, names->List[i], NULL, &jerr);
        if (ns != NATS_OK && ns != NATS_NOT_FOUND) {
            ps_status s = ps_error(PS_ERR_IO, (int)jerr, "deleting stream %s: %s", names->List[i],
                                   nats_GetLastError(NULL));
            jsStreamNamesList_Destroy(names);
            return s;
        }
    }
    jsStreamNamesList_Destroy(names);
    return PS_OK;
}
#endif

static const char *g_url;

/* How to restart the server: ci/nats-server.sh and the name it was
 * started under (JETSIM_NATS_SCRIPT, JETSIM_NATS_NAME); NULL: no restarts. */
static const char *g_script, *g_name;

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* JS 13.1 on a real server: SIGTERM (graceful) or kill -9 (crash), then a
 * restart on the same port and store; returns once the backend's own
 * connection has come back and JetStream answers. An OS crash (power loss)
 * cannot be produced on this machine. */
static ps_status js_restart(conf_fixture *f, ps_restart_kind kind)
{
    if (kind == PS_RESTART_POWER_LOSS)
        return ps_error(PS_ERR_NOT_SUPPORTED, 0,
                        "a power loss (unsynced writes lost) cannot be produced on a real server here");
    char cmd[2048];
    const char *verb = kind == PS_RESTART_GRACEFUL ? "term" : "kill";
    /* single-quoted: a checkout path may hold spaces */
    if (strchr(g_script, '\'') || strchr(g_name, '\''))
        return ps_error(PS_ERR_INVALID_ARG, 0, "JETSIM_NATS_SCRIPT/NAME must not contain a quote");
    snprintf(cmd, sizeof cmd, "'%s' %s '%s' >&2 && '%s' restart '%s' >/dev/null", g_script, verb,
             g_name, g_script, g_name);
    if (system(cmd) != 0)
        return ps_error(PS_ERR_IO, 0, "restart failed: %s", cmd);
    /* Wait for the backend's connection to come back (cnats reconnects). */
    for (int i = 0; i < 200; i++) {
        ps_stream_info si = {0};
        ps_status s = ps_stream_info_get(f->b, "JETSIM_RESTART_PROBE", &si);
        ps_stream_info_clear(&si);
        if (s == PS_ERR_STREAM_NOT_FOUND || s == PS_OK)
            return PS_OK;
        sleep_ms(50);
    }
    return ps_error(PS_ERR_IO, 0, "the server did not come back within 10 s of the restart");
}

static ps_status js_setup(conf_fixture *f)
{
#ifdef PS_HAVE_NATS
    ps_status s = delete_all_streams();
    if (s != PS_OK)
        return s;
#endif
    f->clock = ps_clock_real();
    ps_jetstream_options o = {.urls = &g_url, .urls_len = 1, .client_name = "jetsim-conformance",
                              .request_timeout_ms = 2000, .reconnect_attempts = -1,
                              .reconnect_wait_ms = 50};
    return ps_jetstream_new(&f->b, &o);
}

static void js_teardown(conf_fixture *f)
{
    ps_backend_close(f->b);
    f->b = NULL;
#ifdef PS_HAVE_NATS
    delete_all_streams();
#endif
}

static void js_advance(conf_fixture *f, int64_t ns)
{
    if (ns > 0) {
        struct timespec ts = {(time_t)(ns / PS_NS_PER_SEC), (long)(ns % PS_NS_PER_SEC)};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    ps_status s = ps_backend_tick(f->b);
    if (s != PS_OK)
        fail_msg("tick failed: %s: %s", ps_status_name(s), ps_last_error());
}

int main(void)
{
    if (!ps_jetstream_available()) {
        printf("conformance on jetstream: SKIPPED: this library was built without cnats "
               "(install libnats-dev and rebuild)\n");
        return 0;
    }
    g_url = getenv("NATS_URL");
    if (!g_url || !*g_url) {
        printf("conformance on jetstream: SKIPPED: NATS_URL is not set (make test starts a server "
               "through ci/nats-server.sh when nats-server or Docker is available)\n");
        return 0;
    }
#ifdef PS_HAVE_NATS
    natsStatus ns = natsConnection_ConnectTo(&g_admin, g_url);
    if (ns == NATS_OK)
        ns = natsConnection_JetStream(&g_js, g_admin, NULL);
    if (ns != NATS_OK) {
        fprintf(stderr, "conformance on jetstream: cannot reach %s: %s\n", g_url,
                nats_GetLastError(NULL));
        return 1;
    }
    /* The suite deletes every stream between tests: never on a server that
     * holds someone's data, unless told to. */
    int existing = count_streams();
    const char *wipe = getenv("JETSIM_CONFORMANCE_WIPE");
    if (existing < 0) {
        fprintf(stderr, "conformance on jetstream: cannot list the streams at %s: %s\n", g_url,
                nats_GetLastError(NULL));
        return 1;
    }
    if (existing != 0 && !(wipe && strcmp(wipe, "1") == 0)) {
        fprintf(stderr,
                "conformance on jetstream: the server at %s already has %d stream(s); the suite "
                "deletes every stream between tests, so it runs only on an empty server. Use a "
                "scratch server (make test starts one when NATS_URL is unset), or set "
                "JETSIM_CONFORMANCE_WIPE=1 to let it delete them.\n",
                g_url, existing);
        return 1;
    }
#endif
    conf_fixture f = {
        .name = "jetstream",
        .b = NULL,
        .clock = NULL,
        .real_time = true,
        .setup = js_setup,
        .teardown = js_teardown,
        .advance = js_advance,
        .restart = NULL,
        .priv = NULL,
    };
    g_script = getenv("JETSIM_NATS_SCRIPT");
    g_name = getenv("JETSIM_NATS_NAME");
    if (g_script && *g_script && g_name && *g_name)
        f.restart = js_restart;
    else
        printf("conformance on jetstream: restart tests skipped: JETSIM_NATS_SCRIPT and "
               "JETSIM_NATS_NAME are not set (make test sets them when it started the server "
               "itself)\n");
    int failed = conf_run_all(&f);
#ifdef PS_HAVE_NATS
    jsCtx_Destroy(g_js);
    natsConnection_Destroy(g_admin);
    nats_Close();
#endif
    return failed == 0 ? 0 : 1;
}
