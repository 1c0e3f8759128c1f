/* test_servers.c — nats-server processes spawned by jetsim (sim/real/servers.h):
 * a node starts and serves JetStream, survives kill -9 and SIGTERM by a
 * restart on the same port and store (a file-stored message is still
 * there), pauses and resumes, a 3-node cluster elects a stream leader
 * that sim_servers_leader names, and stop leaves no process and no
 * directory behind. Skipped (exit 77 in the output) without nats-server
 * or cnats.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ps_jetstream.h"
#include "servers.h"

static ps_backend *connect_to(const sim_servers *s)
{
    const char *urls[SIM_SERVERS_MAX];
    for (int i = 0; i < sim_servers_count(s); i++)
        urls[i] = sim_servers_url(s, i);
    ps_jetstream_options o = {.urls = urls, .urls_len = sim_servers_count(s), .reconnect_attempts = -1,
                              .reconnect_wait_ms = 50, .request_timeout_ms = 3000};
    ps_backend *b = NULL;
    if (ps_jetstream_new(&b, &o) != PS_OK)
        fail_msg("connect: %s", ps_last_error());
    return b;
}

static bool pid_of_port_alive(int port)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "ss -ltn 2>/dev/null | grep -q ':%d '", port);
    return system(cmd) == 0;
}

static sim_servers *start(int n)
{
    sim_servers *s = NULL;
    ps_status st = sim_servers_start(&s, n, NULL);
    if (st == PS_ERR_UNAVAILABLE)
        skip();
    if (st != PS_OK)
        fail_msg("start: %s", ps_last_error());
    return s;
}

static void publish_one(ps_backend *b, const char *subject)
{
    ps_out_msg m = {.subject = subject, .data = "x", .len = 1};
    ps_pub_ack ack;
    ps_status st = PS_ERR_TIMEOUT;
    for (int i = 0; i < 50 && st != PS_OK; i++)
        if ((st = ps_publish(b, &m, &ack)) != PS_OK)
            usleep(100000);
    assert_int_equal(st, PS_OK);
}

static uint64_t count_msgs(ps_backend *b, const char *stream)
{
    ps_stream_info info = {0};
    ps_status st = PS_ERR_TIMEOUT;
    for (int i = 0; i < 50 && st != PS_OK; i++)
        if ((st = ps_stream_info_get(b, stream, &info)) != PS_OK)
            usleep(100000);
    assert_int_equal(st, PS_OK);
    uint64_t n = info.state.msgs;
    ps_stream_info_clear(&info);
    return n;
}

static void test_node_survives_kill_and_term_with_its_store(void **state)
{
    (void)state;
    if (!ps_jetstream_available())
        skip();
    sim_servers *s = start(1);
    ps_backend *b = connect_to(s);
    const char *subs[] = {"t.>"};
    ps_stream_config c = {.name = "T", .subjects = subs, .subjects_len = 1, .storage = PS_STORAGE_FILE};
    assert_int_equal(ps_stream_add(b, &c, NULL), PS_OK);
    publish_one(b, "t.a");
    int port = sim_servers_port(s, 0);
    assert_int_equal(sim_servers_kill(s, 0, SIGKILL), PS_OK);
    assert_false(pid_of_port_alive(port));
    assert_int_equal(sim_servers_restart(s, 0), PS_OK);
    assert_int_equal(sim_servers_port(s, 0), port);
    assert_int_equal(count_msgs(b, "T"), 1); /* same store: the message is back */
    publish_one(b, "t.b");
    assert_int_equal(sim_servers_kill(s, 0, SIGTERM), PS_OK);
    assert_int_equal(sim_servers_restart(s, 0), PS_OK);
    assert_int_equal(count_msgs(b, "T"), 2);
    ps_backend_close(b);
    sim_servers_stop(s);
    assert_false(pid_of_port_alive(port));
}

static void test_paused_node_answers_nothing_until_continued(void **state)
{
    (void)state;
    if (!ps_jetstream_available())
        skip();
    sim_servers *s = start(1);
    ps_backend *b = connect_to(s);
    const char *subs[] = {"p.>"};
    ps_stream_config c = {.name = "P", .subjects = subs, .subjects_len = 1};
    assert_int_equal(ps_stream_add(b, &c, NULL), PS_OK);
    assert_int_equal(sim_servers_pause(s, 0, true), PS_OK);
    ps_stream_info info = {0};
    assert_int_not_equal(ps_stream_info_get(b, "P", &info), PS_OK); /* times out */
    assert_int_equal(sim_servers_pause(s, 0, false), PS_OK);
    assert_int_equal(count_msgs(b, "P"), 0);
    ps_backend_close(b);
    sim_servers_stop(s);
}

static void test_cluster_names_the_stream_leader(void **state)
{
    (void)state;
    if (!ps_jetstream_available())
        skip();
    sim_servers *s = start(3);
    ps_backend *b = connect_to(s);
    const char *subs[] = {"r.>"};
    ps_stream_config c = {.name = "R", .subjects = subs, .subjects_len = 1, .replicas = 3,
                          .storage = PS_STORAGE_FILE};
    assert_int_equal(ps_stream_add(b, &c, NULL), PS_OK);
    publish_one(b, "r.a");
    int leader = -1;
    for (int i = 0; i < 50 && leader < 0; i++)
        if ((leader = sim_servers_leader(s, "R")) < 0)
            usleep(100000);
    assert_in_range(leader, 0, 2);
    assert_int_equal(sim_servers_kill(s, leader, SIGKILL), PS_OK);
    int next = -1;
    for (int i = 0; i < 100 && (next < 0 || next == leader); i++)
        if ((next = sim_servers_leader(s, "R")) < 0 || next == leader)
            usleep(100000);
    assert_in_range(next, 0, 2);
    assert_int_not_equal(next, leader); /* a new leader among the two left */
    assert_int_equal(count_msgs(b, "R"), 1);
    assert_int_equal(sim_servers_restart(s, leader), PS_OK);
    ps_backend_close(b);
    sim_servers_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_survives_kill_and_term_with_its_store),
        cmocka_unit_test(test_paused_node_answers_nothing_until_continued),
        cmocka_unit_test(test_cluster_names_the_stream_leader),
    };
    return cmocka_run_group_tests_name("servers", tests, NULL, NULL);
}
