/* test_server.c — JetStream-backend tests that need servers of their own:
 * authentication (user/password and token) and a kill -9 of the server in
 * the middle of a publish/consume loop on a file-storage stream.
 *
 * Each test starts its own nats-server through ci/nats-server.sh (under a
 * name of its own, so it never touches the conformance suite's server) and
 * stops it at the end. Without the backend (no cnats) or without a
 * nats-server binary the tests are skipped with the reason printed.
 *
 * Not: the conformance suite (tests/conformance/, which runs unchanged on
 * both backends).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "ps_backend.h"
#include "ps_jetstream.h"

#define SCRIPT "ci/nats-server.sh"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Starts a server named `name` with the given environment prefix (auth
 * settings); writes its URL; false (after printing why) when none can be
 * started. */
static bool server_start(const char *name, const char *env, char *url, size_t cap)
{
    char cmd[512];
    /* NATS_URL emptied: these tests need servers of their own, to kill and
     * to configure, even where the environment names a shared one. */
    snprintf(cmd, sizeof cmd, "NATS_URL= %s %s start %s", env ? env : "", SCRIPT, name);
    FILE *p = popen(cmd, "r");
    if (!p)
        return false;
    bool ok = fgets(url, (int)cap, p) != NULL;
    int rc = pclose(p);
    if (!ok || rc != 0)
        return false;
    url[strcspn(url, "\r\n")] = '\0';
    return strncmp(url, "nats://", 7) == 0;
}

static void server_cmd(const char *verb, const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s %s %s >/dev/null", SCRIPT, verb, name);
    if (system(cmd) != 0)
        fail_msg("%s failed", cmd);
}

/* Each test's server, stopped in the teardown whatever the test did (a
 * failed assertion leaves the test early). The setup stops a leftover of
 * an earlier, interrupted run first, so every test starts on an empty store. */
static char g_names[4][64]; /* "<test>-<pid>": concurrent runs never share a server */

static int stop_server(void **state)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s stop %s >/dev/null 2>&1", SCRIPT, (const char *)*state);
    return system(cmd) == 0 ? 0 : -1;
}

static int skip_without_backend(void)
{
    if (!ps_jetstream_available()) {
        print_message("skipped: this library was built without cnats\n");
        return 1;
    }
    return 0;
}

/* ---- authentication ---------------------------------------------------------- */

static ps_status connect_with(const char *url, const ps_jetstream_options *base, ps_backend **b)
{
    ps_jetstream_options o = *base;
    o.urls = &url;
    o.urls_len = 1;
    o.request_timeout_ms = 2000;
    return ps_jetstream_new(b, &o);
}

/* The right credentials connect and can use JetStream; wrong or missing
 * ones fail with PS_ERR_IO and say why. */
static void check_auth(const char *url, const ps_jetstream_options *good, const ps_jetstream_options *bad)
{
    ps_backend *b = NULL;
    ps_status s = connect_with(url, good, &b);
    assert_int_equal(s, PS_OK);
    ps_stream_config c = {.name = "AUTH", .subjects = (const char *const[]){"auth.>"}, .subjects_len = 1};
    assert_int_equal(ps_stream_add(b, &c, NULL), PS_OK);
    ps_pub_ack ack;
    assert_int_equal(ps_publish_data(b, "auth.a", "x", 1, NULL, &ack), PS_OK);
    assert_int_equal(ack.seq, 1);
    ps_backend_close(b);

    static const ps_jetstream_options none = {0};
    const ps_jetstream_options *wrong[] = {bad, &none};
    for (int i = 0; i < 2; i++) {
        b = NULL;
        s = connect_with(url, wrong[i], &b);
        assert_int_equal(s, PS_ERR_IO);
        assert_null(b);
        assert_non_null(strcasestr(ps_last_error(), "auth"));
    }
}

static void test_auth_user_password(void **state)
{
    if (skip_without_backend())
        skip();
    char url[128];
    if (!server_start(*state, "NATS_SERVER_USER=jet NATS_SERVER_PASSWORD=s3cret", url, sizeof url)) {
        print_message("skipped: no nats-server could be started through %s\n", SCRIPT);
        skip();
    }
    ps_jetstream_options good = {.user = "jet", .password = "s3cret"};
    ps_jetstream_options bad = {.user = "jet", .password = "wrong"};
    check_auth(url, &good, &bad);
}

static void test_auth_token(void **state)
{
    if (skip_without_backend())
        skip();
    char url[128];
    if (!server_start(*state, "NATS_SERVER_TOKEN=t0ken-xyz", url, sizeof url)) {
        print_message("skipped: no nats-server could be started through %s\n", SCRIPT);
        skip();
    }
    ps_jetstream_options good = {.token = "t0ken-xyz"};
    ps_jetstream_options bad = {.token = "not-the-token"};
    check_auth(url, &good, &bad);
}

/* ---- kill -9 in the middle of a publish/consume loop ------------------------------ */

#define KILL_MSGS 200000 /* an upper bound; the loop runs until after the restart */

typedef struct killer {
    const char *name;
    int delay_ms, down_ms;
    int killed; /* set (atomically) once the server is killed */
    int done;   /* set (atomically) once the server is back */
} killer;

static void *kill_and_restart(void *arg)
{
    killer *k = arg;
    sleep_ms(k->delay_ms);
    server_cmd("kill", k->name);
    __atomic_store_n(&k->killed, 1, __ATOMIC_RELEASE);
    sleep_ms(k->down_ms);
    server_cmd("restart", k->name);
    __atomic_store_n(&k->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Counts deliveries per message id ("k-<i>") and acks them. */
static int consume(ps_consumer *c, int64_t expires_ns, int *seen)
{
    ps_msg_list l = {0};
    int got = 0;
    if (ps_fetch_batch(c, 50, expires_ns, &l) == PS_OK) {
        for (int i = 0; i < l.count; i++) {
            const char *id = ps_msg_header(l.msgs[i], "Nats-Msg-Id");
            int n = id ? atoi(id + 2) : -1;
            if (n >= 0 && n < KILL_MSGS)
                seen[n]++;
            ps_ack(l.msgs[i], PS_ACK, 0); /* may fail while the server is down */
            got++;
        }
    }
    ps_msg_list_free(&l);
    return got;
}

/* The backend reconnects after the server is killed and restarted, and
 * every publish whose PubAck came back is delivered to the consumer (at
 * least once: redelivery of acked work after a crash is allowed, JS 13.1). */
static void test_kill9_loses_no_acknowledged_publish(void **state)
{
    if (skip_without_backend())
        skip();
    const char *name = *state;
    char url[128];
    if (!server_start(name, NULL, url, sizeof url)) {
        print_message("skipped: no nats-server could be started through %s\n", SCRIPT);
        skip();
    }
    const char *u = url;
    ps_jetstream_options o = {.urls = &u, .urls_len = 1, .request_timeout_ms = 500,
                              .reconnect_attempts = -1, .reconnect_wait_ms = 50};
    ps_backend *b = NULL;
    assert_int_equal(ps_jetstream_new(&b, &o), PS_OK);
    ps_stream_config c = {.name = "KILL", .subjects = (const char *const[]){"kill.>"}, .subjects_len = 1,
                          .retention = PS_RETENTION_WORKQUEUE, .storage = PS_STORAGE_FILE};
    assert_int_equal(ps_stream_add(b, &c, NULL), PS_OK);
    ps_consumer_config cc = {.durable = "W", .ack_wait_ns = 2 * 1000000000LL};
    ps_consumer *con = NULL;
    assert_int_equal(ps_consumer_add(b, "KILL", &cc, &con), PS_OK);

    static int seen[KILL_MSGS];
    static bool acked[KILL_MSGS];
    memset(seen, 0, sizeof seen);
    memset(acked, 0, sizeof acked);
    killer k = {name, 300, 700, 0, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, kill_and_restart, &k), 0);
    int failures = 0, dup_acks = 0, total = KILL_MSGS, before = -1, after = -1;
    for (int i = 0; i < total; i++) {
        if (before < 0 && __atomic_load_n(&k.killed, __ATOMIC_ACQUIRE))
            before = i;
        /* Keep going until 1,000 publishes after the server is back. */
        if (after < 0 && __atomic_load_n(&k.done, __ATOMIC_ACQUIRE)) {
            after = i;
            total = i + 1000 < KILL_MSGS ? i + 1000 : KILL_MSGS;
        }
        char id[16];
        snprintf(id, sizeof id, "k-%d", i);
        ps_out_msg m = {.subject = "kill.job", .data = id, .len = strlen(id), .msg_id = id};
        /* A job system retries a failed publish with the same id (dedup makes
         * that safe); give up after 10 s. */
        for (int attempt = 0; attempt < 100 && !acked[i]; attempt++) {
            ps_pub_ack ack;
            if (ps_publish(b, &m, &ack) == PS_OK) {
                acked[i] = true;
                dup_acks += ack.duplicate; /* a retry whose first try was stored */
            }
            else {
                failures++;
                sleep_ms(100);
            }
        }
        if (i % 10 == 9)
            consume(con, 0, seen);
    }
    pthread_join(th, NULL);
    /* Drain: whatever is left, including redeliveries after AckWait. */
    for (int idle = 0; idle < 3;)
        idle = consume(con, 1000 * 1000000LL, seen) ? 0 : idle + 1;
    int lost = 0, dup = 0, npub = 0;
    for (int i = 0; i < total; i++) {
        npub += acked[i];
        if (acked[i] && seen[i] == 0) {
            if (lost < 10)
                print_message("lost: k-%d had a PubAck but was never delivered\n", i);
            lost++;
        }
        dup += seen[i] > 1;
    }
    print_message("kill -9: %d publishes acknowledged (%d before the kill, %d before the server "
                  "was back), %d publish "
                  "attempts failed during the outage (%d retries answered as duplicates), %d "
                  "delivered more than once, %d lost\n",
                  npub, before, after, failures, dup_acks, dup, lost);
    ps_stream_info si = {0};
    if (ps_stream_info_get(b, "KILL", &si) == PS_OK)
        print_message("after the drain: stream KILL holds %llu messages (seq %llu..%llu)\n",
                      (unsigned long long)si.state.msgs, (unsigned long long)si.state.first_seq,
                      (unsigned long long)si.state.last_seq);
    ps_stream_info_clear(&si);
    /* the kill landed in the middle of the loop: publishes before it and after the restart */
    assert_true(before > 0);
    assert_true(after >= before && total > after);
    assert_int_equal(npub, total);
    assert_int_equal(lost, 0);
    ps_consumer_free(con);
    ps_backend_close(b);
}

/* ---- pull statuses that need two requests in flight (JS 8.2, 5.5) ------------------ */

typedef struct waiter {
    ps_consumer *c;
    ps_status status;
    char error[256];
} waiter;

static void *wait_for_one(void *arg)
{
    waiter *w = arg;
    ps_msg_list l = {0};
    w->status = ps_fetch_batch(w->c, 1, 3000 * 1000000LL, &l);
    snprintf(w->error, sizeof w->error, "%s", ps_last_error());
    ps_msg_list_free(&l);
    return NULL;
}

/* With MaxWaiting 1 and one request waiting, a second request is refused
 * with 409 "Exceeded MaxWaiting" (PS_ERR_MAX_WAITING); deleting the
 * consumer ends the waiting request with 409 "Consumer Deleted"
 * (PS_ERR_CONSUMER_DELETED). The conformance suite cannot say this: it
 * runs one request at a time (see tests/conformance/conf_pull.c). */
static void test_pull_statuses_with_two_requests_in_flight(void **state)
{
    if (skip_without_backend())
        skip();
    char url[128];
    if (!server_start(*state, NULL, url, sizeof url)) {
        print_message("skipped: no nats-server could be started through %s\n", SCRIPT);
        skip();
    }
    const char *u = url;
    ps_jetstream_options o = {.urls = &u, .urls_len = 1, .request_timeout_ms = 2000};
    ps_backend *b = NULL;
    assert_int_equal(ps_jetstream_new(&b, &o), PS_OK);
    ps_stream_config c = {.name = "PW", .subjects = (const char *const[]){"pw.>"}, .subjects_len = 1};
    assert_int_equal(ps_stream_add(b, &c, NULL), PS_OK);
    ps_consumer_config cc = {.durable = "W", .max_waiting = 1};
    ps_consumer *first = NULL, *second = NULL;
    assert_int_equal(ps_consumer_add(b, "PW", &cc, &first), PS_OK);
    assert_int_equal(ps_consumer_bind(b, "PW", "W", &second), PS_OK);

    waiter w = {.c = first};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wait_for_one, &w), 0);
    sleep_ms(300); /* the first request is waiting on the server by now */
    ps_msg_list l = {0};
    ps_status s = ps_fetch_batch(second, 1, 500 * 1000000LL, &l);
    ps_msg_list_free(&l);
    assert_int_equal(s, PS_ERR_MAX_WAITING);
    assert_non_null(strstr(ps_last_error(), "Exceeded MaxWaiting"));

    assert_int_equal(ps_consumer_delete(b, "PW", "W"), PS_OK);
    pthread_join(th, NULL);
    print_message("waiting request after the delete: %s (%s)\n", ps_status_name(w.status), w.error);
    assert_int_equal(w.status, PS_ERR_CONSUMER_DELETED);
    assert_non_null(strstr(w.error, "Consumer Deleted"));
    ps_consumer_free(first);
    ps_consumer_free(second);
    ps_backend_close(b);
}

int main(void)
{
    const char *base[4] = {"test-auth-user", "test-auth-token", "test-kill9", "test-pull"};
    for (int i = 0; i < 4; i++)
        snprintf(g_names[i], sizeof g_names[i], "%s-%ld", base[i], (long)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_auth_user_password, stop_server, stop_server,
                                                 g_names[0]),
        cmocka_unit_test_prestate_setup_teardown(test_auth_token, stop_server, stop_server,
                                                 g_names[1]),
        cmocka_unit_test_prestate_setup_teardown(test_kill9_loses_no_acknowledged_publish, stop_server,
                                                 stop_server, g_names[2]),
        cmocka_unit_test_prestate_setup_teardown(test_pull_statuses_with_two_requests_in_flight,
                                                 stop_server, stop_server, g_names[3]),
    };
    return cmocka_run_group_tests_name("jetstream server", tests, NULL, NULL);
}
