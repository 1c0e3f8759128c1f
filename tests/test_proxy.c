/* test_proxy.c — the loopback fault proxy (sim/real/proxy.h), against a small
 * echo server that this file runs on a thread of its own (no nats-server):
 * bytes pass both ways intact; a cut closes open connections and refuses
 * new ones until heal; a blackhole holds bytes (a bounded amount) and lets
 * them flow in order after heal; a delay holds each chunk for at least the
 * delay each way; a client that closes still gets its last bytes across; a
 * dead upstream closes the client; the counters count; stop closes open
 * connections and frees what they held (ASan/LSan watch that).
 *
 * Waits are bounded polls with deadlines, never sleeps that stand in for
 * synchronisation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proxy.h"
#include "ps_clock.h"

#define WAIT_MS 3000 /* the most any expected event may take, even under ASan */

/* ---- an echo server: one poll() thread, every connection echoed ---------- */

#define ECHO_CONNS 16
#define ECHO_BUF 65536

typedef struct echo_conn {
    int fd;
    size_t len, off; /* bytes read and not yet echoed: buf[off..len) */
    char buf[ECHO_BUF];
} echo_conn;

typedef struct echo {
    int lfd, stopfd, port;
    pthread_t thread;
    _Atomic uint64_t received, closed;
    echo_conn conns[ECHO_CONNS];
} echo;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int listen_loopback(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void echo_drop(echo *e, echo_conn *c)
{
    close(c->fd);
    c->fd = -1;
    atomic_fetch_add(&e->closed, 1);
}

/* Reads only into an empty buffer, so a client that does not read stops
 * the echo reading too (flow control end to end). */
static void echo_serve(echo *e, echo_conn *c, short revents)
{
    if (c->len == 0 && (revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t r = recv(c->fd, c->buf, ECHO_BUF, 0);
        if (r <= 0) {
            if (r == 0 || (errno != EAGAIN && errno != EINTR))
                echo_drop(e, c);
            return;
        }
        atomic_fetch_add(&e->received, (uint64_t)r);
        c->len = (size_t)r;
        c->off = 0;
    }
    if (c->len > 0) {
        ssize_t w = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            echo_drop(e, c);
        else if (w > 0 && (c->off += (size_t)w) == c->len)
            c->len = c->off = 0;
    }
}

static void *echo_loop(void *arg)
{
    echo *e = arg;
    for (;;) {
        struct pollfd fds[2 + ECHO_CONNS] = {{.fd = e->stopfd, .events = POLLIN}, {.fd = e->lfd, .events = POLLIN}};
        for (int i = 0; i < ECHO_CONNS; i++)
            fds[2 + i] = (struct pollfd){.fd = e->conns[i].fd, .events = e->conns[i].len ? POLLOUT : POLLIN};
        if (poll(fds, 2 + ECHO_CONNS, -1) < 0)
            continue;
        if (fds[0].revents)
            break;
        for (int i = 0; i < ECHO_CONNS; i++)
            if (e->conns[i].fd >= 0 && fds[2 + i].revents)
                echo_serve(e, &e->conns[i], fds[2 + i].revents);
        int fd;
        while ((fd = accept4(e->lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
            int i = 0;
            while (i < ECHO_CONNS && e->conns[i].fd >= 0)
                i++;
            if (i == ECHO_CONNS)
                close(fd);
            else
                e->conns[i] = (echo_conn){.fd = fd};
        }
    }
    for (int i = 0; i < ECHO_CONNS; i++)
        if (e->conns[i].fd >= 0)
            close(e->conns[i].fd);
    return NULL;
}

static echo *echo_start(void)
{
    echo *e = calloc(1, sizeof *e);
    assert_non_null(e);
    for (int i = 0; i < ECHO_CONNS; i++)
        e->conns[i].fd = -1;
    e->lfd = listen_loopback(&e->port);
    e->stopfd = eventfd(0, EFD_NONBLOCK);
    assert_true(e->stopfd >= 0);
    assert_int_equal(pthread_create(&e->thread, NULL, echo_loop, e), 0);
    return e;
}

static void echo_stop(echo *e)
{
    uint64_t one = 1;
    assert_int_equal(write(e->stopfd, &one, sizeof one), (ssize_t)sizeof one);
    pthread_join(e->thread, NULL);
    close(e->lfd);
    close(e->stopfd);
    free(e);
}

/* ---- the client side --------------------------------------------------- */

static int dial(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    return fd;
}

/* Sends out[0..nout) and reads into in[0..nin) at the same time (so big
 * transfers cannot deadlock on full buffers), for at most timeout_ms.
 * Returns the bytes read; *closed (if not NULL) becomes true when the
 * peer closed or reset the connection. */
static size_t transfer(int fd, const char *out, size_t nout, char *in, size_t nin, int timeout_ms, bool *closed)
{
    size_t sent = 0, got = 0;
    int64_t deadline = mono_ms() + timeout_ms;
    bool shut = false;
    while (!shut && (sent < nout || got < nin)) {
        int64_t left = deadline - mono_ms();
        struct pollfd pf = {.fd = fd, .events = (short)((got < nin ? POLLIN : 0) | (sent < nout ? POLLOUT : 0))};
        if (left <= 0 || poll(&pf, 1, (int)left) == 0)
            break;
        if (got < nin && (pf.revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = recv(fd, in + got, nin - got, 0);
            if (r > 0)
                got += (size_t)r;
            else if (r == 0 || (errno != EAGAIN && errno != EINTR))
                shut = true;
        }
        if (!shut && sent < nout && (pf.revents & POLLOUT)) {
            ssize_t w = send(fd, out + sent, nout - sent, MSG_NOSIGNAL);
            if (w > 0)
                sent += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                shut = true;
        }
    }
    if (closed)
        *closed = shut;
    return got;
}

static void assert_echoes(int fd, const char *msg)
{
    char in[256] = {0};
    size_t n = strlen(msg);
    assert_int_equal(transfer(fd, msg, n, in, n, WAIT_MS, NULL), n);
    assert_memory_equal(in, msg, n);
}

/* The peer closes fd (EOF or reset) within WAIT_MS; bytes before that are
 * read and dropped. */
static void assert_closed_by_peer(int fd)
{
    static char in[65536];
    int64_t deadline = mono_ms() + WAIT_MS;
    bool closed = false;
    while (!closed && mono_ms() < deadline)
        transfer(fd, NULL, 0, in, sizeof in, (int)(deadline - mono_ms()), &closed);
    assert_true(closed);
}

static char *pattern(size_t n)
{
    char *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (char)(i * 31 + (i >> 9));
    return b;
}

/* Sends from out (up to cap bytes) until the socket stays unwritable for
 * 200 ms, that is until every buffer on the way is full; returns the bytes
 * sent. */
static size_t send_until_stalled(int fd, const char *out, size_t cap)
{
    size_t sent = 0;
    struct pollfd pf = {.fd = fd, .events = POLLOUT};
    while (sent < cap && poll(&pf, 1, 200) == 1) {
        ssize_t w = send(fd, out + sent, cap - sent > 65536 ? 65536 : cap - sent, MSG_NOSIGNAL);
        assert_true(w > 0 || errno == EAGAIN);
        sent += w > 0 ? (size_t)w : 0;
    }
    return sent;
}

/* Bounded wait for bytes_down, which the proxy thread bumps just after the
 * bytes went out (so a client may read them a moment before). */
static sim_proxy_stats wait_bytes_down(const sim_proxy *p, uint64_t want)
{
    sim_proxy_stats s;
    int64_t deadline = mono_ms() + WAIT_MS;
    for (sim_proxy_stats_get(p, &s); s.bytes_down < want && mono_ms() < deadline; sim_proxy_stats_get(p, &s))
        poll(NULL, 0, 5);
    return s;
}

typedef struct fixture {
    echo *e;
    sim_proxy *p;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->e = echo_start();
    assert_int_equal(sim_proxy_start(&f->p, f->e->port), PS_OK);
    assert_true(sim_proxy_port(f->p) > 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sim_proxy_stop(f->p);
    echo_stop(f->e);
    free(f);
    return 0;
}

/* ---- tests ------------------------------------------------------------- */

static void test_bytes_pass_both_ways_intact(void **state)
{
    fixture *f = *state;
    int fd = dial(sim_proxy_port(f->p));
    assert_echoes(fd, "hello");
    size_t n = 3u << 20; /* more than any socket buffer: partial writes on every hop */
    char *out = pattern(n), *in = malloc(n);
    assert_non_null(in);
    assert_int_equal(transfer(fd, out, n, in, n, WAIT_MS, NULL), n);
    assert_memory_equal(in, out, n);
    free(out);
    free(in);
    close(fd);
}

static void test_cut_closes_open_connections_and_refuses_new_until_heal(void **state)
{
    fixture *f = *state;
    int fd = dial(sim_proxy_port(f->p));
    assert_echoes(fd, "before");
    assert_int_equal(sim_proxy_cut(f->p), PS_OK);
    assert_closed_by_peer(fd);
    close(fd);

    fd = dial(sim_proxy_port(f->p)); /* the kernel accepts; the proxy closes it */
    assert_closed_by_peer(fd);
    close(fd);
    sim_proxy_stats s;
    sim_proxy_stats_get(f->p, &s);
    assert_int_equal(s.cut, 2);

    assert_int_equal(sim_proxy_heal(f->p), PS_OK);
    fd = dial(sim_proxy_port(f->p));
    assert_echoes(fd, "after");
    close(fd);
}

static void test_blackhole_holds_bytes_until_heal_then_delivers_in_order(void **state)
{
    fixture *f = *state;
    int fd = dial(sim_proxy_port(f->p));
    assert_echoes(fd, "ping");
    sim_proxy_stats before, during;
    sim_proxy_stats_get(f->p, &before);
    assert_int_equal(sim_proxy_blackhole(f->p), PS_OK);
    size_t n = 256 * 1024;
    char *out = pattern(n), *in = malloc(n);
    assert_non_null(in);
    bool closed = true;
    assert_int_equal(transfer(fd, out, n, in, n, 200, &closed), 0);
    assert_false(closed);
    sim_proxy_stats_get(f->p, &during);
    assert_int_equal(during.bytes_up, before.bytes_up); /* nothing reached the server either */

    assert_int_equal(sim_proxy_heal(f->p), PS_OK);
    assert_int_equal(transfer(fd, NULL, 0, in, n, WAIT_MS, NULL), n);
    assert_memory_equal(in, out, n);
    free(out);
    free(in);
    close(fd);
}

/* The proxy stops reading a blackholed socket once it holds 4 MiB, so the
 * sender stalls at that plus what the kernel buffers; all of it flows after. */
static void test_blackhole_buffer_is_bounded_and_loses_nothing(void **state)
{
    fixture *f = *state;
    int fd = dial(sim_proxy_port(f->p));
    assert_echoes(fd, "ping");
    assert_int_equal(sim_proxy_blackhole(f->p), PS_OK);
    size_t cap = 64u << 20;
    char *out = pattern(cap);
    size_t sent = send_until_stalled(fd, out, cap);
    assert_true(sent >= (4u << 20));
    assert_true(sent < cap);

    assert_int_equal(sim_proxy_heal(f->p), PS_OK);
    char *in = malloc(sent);
    assert_non_null(in);
    assert_int_equal(transfer(fd, NULL, 0, in, sent, 2 * WAIT_MS, NULL), sent);
    assert_memory_equal(in, out, sent);
    free(out);
    free(in);
    close(fd);
}

static void test_delay_holds_each_direction_for_the_delay_in_order(void **state)
{
    fixture *f = *state;
    int fd = dial(sim_proxy_port(f->p));
    assert_echoes(fd, "warm");
    assert_int_equal(sim_proxy_delay(f->p, 100 * PS_NS_PER_MS), PS_OK);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_echoes(fd, "one");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t rtt_ns = (t1.tv_sec - t0.tv_sec) * PS_NS_PER_SEC + (t1.tv_nsec - t0.tv_nsec);
    assert_true(rtt_ns >= 200 * PS_NS_PER_MS); /* 100 ms up, 100 ms down */

    const char *parts[] = {"two,", "three,", "four"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(send(fd, parts[i], strlen(parts[i]), MSG_NOSIGNAL), (ssize_t)strlen(parts[i]));
    char in[32] = {0};
    assert_int_equal(transfer(fd, NULL, 0, in, 14, WAIT_MS, NULL), 14);
    assert_string_equal(in, "two,three,four");
    close(fd);
}

static void test_client_close_still_delivers_its_last_bytes_then_closes_upstream(void **state)
{
    fixture *f = *state;
    int fd = dial(sim_proxy_port(f->p));
    assert_echoes(fd, "hi");
    assert_int_equal(sim_proxy_delay(f->p, 50 * PS_NS_PER_MS), PS_OK);
    assert_int_equal(send(fd, "last words", 10, MSG_NOSIGNAL), 10);
    close(fd);
    int64_t deadline = mono_ms() + WAIT_MS;
    while (atomic_load(&f->e->closed) == 0 && mono_ms() < deadline)
        poll(NULL, 0, 5);
    assert_int_equal(atomic_load(&f->e->closed), 1);
    assert_int_equal(atomic_load(&f->e->received), 2 + 10);
}

static void test_dead_upstream_closes_the_client(void **state)
{
    (void)state;
    int port;
    close(listen_loopback(&port)); /* a port that nobody listens on now */
    sim_proxy *p = NULL;
    assert_int_equal(sim_proxy_start(&p, port), PS_OK);
    int fd = dial(sim_proxy_port(p));
    assert_closed_by_peer(fd);
    close(fd);
    sim_proxy_stats s;
    sim_proxy_stats_get(p, &s);
    assert_int_equal(s.accepted, 1);
    assert_int_equal(s.cut, 0);
    sim_proxy_stop(p);
}

static void test_stats_count_connections_and_bytes(void **state)
{
    fixture *f = *state;
    int a = dial(sim_proxy_port(f->p)), b = dial(sim_proxy_port(f->p));
    assert_echoes(a, "12345");
    assert_echoes(b, "1234567890");
    assert_echoes(a, "abc");
    sim_proxy_stats s = wait_bytes_down(f->p, 18);
    assert_int_equal(s.accepted, 2);
    assert_int_equal(s.cut, 0);
    assert_int_equal(s.bytes_up, 18);
    assert_int_equal(s.bytes_down, 18);
    close(a);
    close(b);
}

static void test_stop_closes_open_connections_and_frees_held_bytes(void **state)
{
    echo *e = echo_start();
    sim_proxy *p = NULL;
    assert_int_equal(sim_proxy_start(&p, e->port), PS_OK);
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = dial(sim_proxy_port(p));
        assert_echoes(fds[i], "x");
    }
    /* A client that sends and never reads fills every buffer on the way,
     * the proxy's queues (4 MiB each way) included: stop must free them. */
    size_t cap = 128u << 20;
    char *out = pattern(cap);
    assert_true(send_until_stalled(fds[0], out, cap) < cap);
    free(out);
    sim_proxy_stop(p);
    for (int i = 0; i < 3; i++) {
        assert_closed_by_peer(fds[i]);
        close(fds[i]);
    }
    echo_stop(e);
    (void)state;
}

static void test_bad_arguments_are_statuses(void **state)
{
    (void)state;
    sim_proxy *p = NULL;
    assert_int_equal(sim_proxy_start(&p, 0), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_proxy_start(&p, 65536), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_proxy_start(NULL, 4222), PS_ERR_INVALID_ARG);
    assert_null(p);
    assert_int_equal(sim_proxy_cut(NULL), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_proxy_heal(NULL), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_proxy_blackhole(NULL), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_proxy_delay(NULL, 0), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_proxy_port(NULL), -1);
    assert_int_equal(sim_proxy_start(&p, 4222), PS_OK);
    assert_int_equal(sim_proxy_delay(p, -1), PS_ERR_INVALID_ARG);
    sim_proxy_stop(p);
    sim_proxy_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bytes_pass_both_ways_intact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_closes_open_connections_and_refuses_new_until_heal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blackhole_holds_bytes_until_heal_then_delivers_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blackhole_buffer_is_bounded_and_loses_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delay_holds_each_direction_for_the_delay_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_close_still_delivers_its_last_bytes_then_closes_upstream, setup,
                                        teardown),
        cmocka_unit_test(test_dead_upstream_closes_the_client),
        cmocka_unit_test_setup_teardown(test_stats_count_connections_and_bytes, setup, teardown),
        cmocka_unit_test(test_stop_closes_open_connections_and_frees_held_bytes),
        cmocka_unit_test(test_bad_arguments_are_statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
