/* proxy.c — the loopback fault proxy (proxy.h).
 *
 * One thread polls an eventfd (control calls write it to wake the thread),
 * the listener and both sockets of every connection. Each direction of a
 * connection is a queue of chunks, each stamped with the time it may leave
 * (the time it was read + the delay then in force); a direction writes its
 * due chunks in order unless the proxy is blackholed. Under a cut, every
 * round closes what is open. The mode lives under a mutex that the thread
 * holds while it moves bytes, so once a control call returns no byte moves
 * under the old mode; its wake-up starts the next round at once.
 *
 * Not: the fault schedule (real.c), nor anything that parses NATS.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ps_clock.h"
#include "ps_backend_impl.h"

#define HELD_MAX ((size_t)4 << 20) /* bytes queued per direction before reading stops */
#define READ_MAX 65536

typedef enum mode { PASS = 0, CUT, BLACKHOLE } mode;

typedef struct chunk {
    struct chunk *next;
    int64_t due_ns; /* monotonic time before which it is not written */
    size_t len, off;
    char data[];
} chunk;

/* One direction: read from its source socket, queued, written to the other. */
typedef struct dir {
    chunk *head, *tail;
    size_t held; /* bytes queued and not yet written */
    bool eof;    /* the source closed: the pair closes once the queue drains */
} dir;

typedef struct conn {
    int cfd, sfd;
    bool connecting; /* the upstream connect() has not completed */
    dir up, down;    /* client -> server, server -> client */
} conn;

struct sim_proxy {
    int lfd, wake, port, target;
    pthread_t thread;
    pthread_mutex_t mu;
    mode mode;        /* guarded by mu */
    int64_t delay_ns; /* guarded by mu */
    bool stop;        /* guarded by mu */
    _Atomic uint64_t accepted, cut, bytes_up, bytes_down;
    /* Touched by the thread alone from here on. */
    conn *conns;
    struct pollfd *fds; /* wake, listener, then cfd and sfd of each conn */
    int nconns, cap;
    char buf[READ_MAX];
};

/* The proxy sits on the real network, outside the simulation, so it may
 * read the real clock; monotonic so that a clock step cannot reorder. */
static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * PS_NS_PER_SEC + ts.tv_nsec;
}

static void dir_free(dir *d)
{
    for (chunk *ch = d->head, *n; ch; ch = n) {
        n = ch->next;
        free(ch);
    }
}

/* Closes connection i; the last one takes its slot. */
static void conn_close(sim_proxy *p, int i)
{
    conn *c = &p->conns[i];
    close(c->cfd);
    close(c->sfd);
    dir_free(&c->up);
    dir_free(&c->down);
    p->conns[i] = p->conns[--p->nconns];
}

/* Reads what fd has into d, stamped to leave at due, until the socket would
 * block, d is full or the source closed. False on a read error (a reset),
 * or when memory runs out: either way the pair is closed. */
static bool pull(sim_proxy *p, int fd, dir *d, int64_t due)
{
    while (!d->eof && d->held < HELD_MAX) {
        ssize_t r = recv(fd, p->buf, sizeof p->buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK;
        if (r == 0) {
            d->eof = true;
            return true;
        }
        chunk *ch = malloc(sizeof *ch + (size_t)r); /* exact size: a blackhole may hold many small reads */
        if (!ch)
            return false;
        *ch = (chunk){.due_ns = due, .len = (size_t)r};
        memcpy(ch->data, p->buf, (size_t)r);
        if (d->tail)
            d->tail->next = ch;
        else
            d->head = ch;
        d->tail = ch;
        d->held += (size_t)r;
    }
    return true;
}

/* Writes d's due chunks to fd, in order, until the socket is full. False on
 * a write error (the peer is gone). */
static bool push(int fd, dir *d, int64_t now, _Atomic uint64_t *count)
{
    while (d->head && d->head->due_ns <= now) {
        chunk *ch = d->head;
        ssize_t w = send(fd, ch->data + ch->off, ch->len - ch->off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK;
        ch->off += (size_t)w;
        d->held -= (size_t)w;
        atomic_fetch_add(count, (uint64_t)w);
        if (ch->off < ch->len)
            return true; /* partial write: wait for POLLOUT */
        d->head = ch->next;
        if (!d->head)
            d->tail = NULL;
        free(ch);
    }
    return true;
}

/* Room for one more connection; false when memory runs out. */
static bool grow(sim_proxy *p)
{
    if (p->nconns < p->cap)
        return true;
    int cap = p->cap ? 2 * p->cap : 8;
    conn *cs = realloc(p->conns, (size_t)cap * sizeof *cs);
    if (!cs)
        return false;
    p->conns = cs;
    struct pollfd *fds = realloc(p->fds, (size_t)(2 + 2 * cap) * sizeof *fds);
    if (!fds)
        return false;
    p->fds = fds;
    p->cap = cap;
    return true;
}

/* Starts a nonblocking connect to the target; -1 if it failed at once
 * (on loopback a refused connect usually fails here). */
static int connect_upstream(const sim_proxy *p, bool *pending)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->target),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int r = connect(fd, (struct sockaddr *)&a, sizeof a);
    *pending = r != 0;
    if (r != 0 && errno != EINPROGRESS && errno != EINTR) { /* EINTR: it goes on in the background */
        close(fd);
        return -1;
    }
    return fd;
}

static void accept_all(sim_proxy *p, mode m)
{
    for (;;) {
        int cfd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0 && (errno == EINTR || errno == ECONNABORTED))
            continue;
        if (cfd < 0)
            return; /* EAGAIN, or out of descriptors: the next round retries */
        atomic_fetch_add(&p->accepted, 1);
        int sfd = -1;
        bool pending = false;
        if (m == CUT)
            atomic_fetch_add(&p->cut, 1);
        else if (grow(p))
            sfd = connect_upstream(p, &pending);
        if (sfd < 0) {
            close(cfd); /* cut, or the server is down: the client reconnects */
            continue;
        }
        p->conns[p->nconns++] = (conn){.cfd = cfd, .sfd = sfd, .connecting = pending};
    }
}

/* Asks for POLLOUT on a direction's destination when its head is due, else
 * lowers *next to the time it will be. */
static void want(const dir *d, int64_t now, short *ev, int64_t *next)
{
    if (!d->head)
        return;
    if (d->head->due_ns <= now)
        *ev |= POLLOUT;
    else if (*next < 0 || d->head->due_ns < *next)
        *next = d->head->due_ns;
}

/* Fills the two pollfds of c. A full or closed source is not read, so a
 * blackhole with a full buffer or a half-closed socket does not spin. */
static void arm(const conn *c, mode m, int64_t now, struct pollfd *two, int64_t *next)
{
    short ce = 0, se = 0;
    if (!c->up.eof && c->up.held < HELD_MAX)
        ce |= POLLIN;
    if (c->connecting) {
        se = POLLOUT; /* connect() completes (or fails) as writable */
    } else {
        if (!c->down.eof && c->down.held < HELD_MAX)
            se |= POLLIN;
        if (m != BLACKHOLE) {
            want(&c->up, now, &se, next);
            want(&c->down, now, &ce, next);
        }
    }
    two[0] = (struct pollfd){.fd = c->cfd, .events = ce};
    two[1] = (struct pollfd){.fd = c->sfd, .events = se};
}

/* Moves c's bytes after a poll; false when the pair must be closed. */
static bool service(sim_proxy *p, conn *c, const struct pollfd *two, mode m, int64_t delay_ns)
{
    int64_t now = now_ns();
    if (c->connecting && (two[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->sfd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
            return false; /* the server is down: close the client, it reconnects */
        c->connecting = false;
    }
    /* Reported whatever was asked: a reset, or a socket shut both ways. */
    if ((two[0].revents | two[1].revents) & (POLLERR | POLLHUP))
        return false;
    bool ok = true;
    if (two[0].revents & POLLIN)
        ok = pull(p, c->cfd, &c->up, now + delay_ns);
    if (ok && (two[1].revents & POLLIN))
        ok = pull(p, c->sfd, &c->down, now + delay_ns);
    if (ok && m != BLACKHOLE && !c->connecting)
        ok = push(c->sfd, &c->up, now, &p->bytes_up) && push(c->cfd, &c->down, now, &p->bytes_down);
    /* A side that closed has said all it will: once that has been
     * delivered the pair goes, so the other side sees the close too. */
    return ok && !(c->up.eof && !c->up.head) && !(c->down.eof && !c->down.head);
}

static int timeout_ms(int64_t now, int64_t next)
{
    if (next < 0)
        return -1; /* nothing is waiting on time: only I/O or a control call */
    int64_t ms = (next - now + PS_NS_PER_MS - 1) / PS_NS_PER_MS; /* round up: never early */
    return ms > 1000 ? 1000 : (int)ms;
}

/* One round, under p->mu: moves bytes as the last poll allows, accepts,
 * then sets up the next poll and returns its timeout. Holding the mutex
 * here means no byte moves under a mode that a returned call replaced. */
static int round_locked(sim_proxy *p)
{
    for (int i = p->nconns - 1; i >= 0; i--) { /* downwards: conn_close moves the last conn, already done */
        if (p->mode == CUT)
            atomic_fetch_add(&p->cut, 1);
        if (p->mode == CUT || !service(p, &p->conns[i], &p->fds[2 + 2 * i], p->mode, p->delay_ns))
            conn_close(p, i);
    }
    if (p->fds[1].revents & POLLIN)
        accept_all(p, p->mode);
    int64_t now = now_ns(), next = -1;
    p->fds[0] = (struct pollfd){.fd = p->wake, .events = POLLIN};
    p->fds[1] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
    for (int i = 0; i < p->nconns; i++)
        arm(&p->conns[i], p->mode, now, &p->fds[2 + 2 * i], &next);
    return timeout_ms(now, next);
}

static void *loop(void *arg)
{
    sim_proxy *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        bool stop = p->stop;
        int timeout = stop ? 0 : round_locked(p);
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        nfds_t n = (nfds_t)(2 + 2 * p->nconns);
        if (poll(p->fds, n, timeout) < 0) /* EINTR (or ENOMEM): go round again */
            for (nfds_t i = 0; i < n; i++)
                p->fds[i].revents = 0;
        if (p->fds[0].revents & POLLIN) {
            uint64_t v;
            ssize_t r = read(p->wake, &v, sizeof v);
            (void)r; /* only the wake-up matters */
        }
    }
    while (p->nconns)
        conn_close(p, p->nconns - 1);
    return NULL;
}

static void wake(sim_proxy *p)
{
    uint64_t one = 1;
    ssize_t w = write(p->wake, &one, sizeof one);
    (void)w; /* fails only if the counter would overflow: it is set already */
}

static ps_status control(sim_proxy *p, mode m, int64_t delay_ns)
{
    if (!p)
        return ps_error(PS_ERR_INVALID_ARG, 0, "proxy: NULL proxy");
    pthread_mutex_lock(&p->mu);
    p->mode = m;
    p->delay_ns = delay_ns;
    pthread_mutex_unlock(&p->mu);
    wake(p);
    return PS_OK;
}

ps_status sim_proxy_cut(sim_proxy *p) { return control(p, CUT, 0); }
ps_status sim_proxy_blackhole(sim_proxy *p) { return control(p, BLACKHOLE, 0); }
ps_status sim_proxy_heal(sim_proxy *p) { return control(p, PASS, 0); }

ps_status sim_proxy_delay(sim_proxy *p, int64_t delay_ns)
{
    if (delay_ns < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "proxy: negative delay %lld ns", (long long)delay_ns);
    return control(p, PASS, delay_ns);
}

static ps_status open_listener(sim_proxy *p)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(p->lfd, SOMAXCONN) != 0 ||
        getsockname(p->lfd, (struct sockaddr *)&a, &len) != 0)
        return ps_error(PS_ERR_IO, 0, "proxy: cannot listen on 127.0.0.1: %s", strerror(errno));
    p->port = ntohs(a.sin_port);
    return PS_OK;
}

/* Frees what start made, once the thread (if any) has ended. */
static void release(sim_proxy *p)
{
    if (p->lfd >= 0)
        close(p->lfd);
    if (p->wake >= 0)
        close(p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p->conns);
    free(p->fds);
    free(p);
}

ps_status sim_proxy_start(sim_proxy **out, int target_port)
{
    if (!out || target_port < 1 || target_port > 65535)
        return ps_error(PS_ERR_INVALID_ARG, 0, "proxy: bad target port %d", target_port);
    sim_proxy *p = calloc(1, sizeof *p);
    if (!p)
        return ps_error(PS_ERR_NO_MEMORY, 0, "proxy: out of memory");
    p->lfd = p->wake = -1;
    pthread_mutex_init(&p->mu, NULL);
    p->target = target_port;
    p->fds = calloc(2, sizeof *p->fds); /* zeroed: the first round reads no revents */
    ps_status s = p->fds ? open_listener(p) : ps_error(PS_ERR_NO_MEMORY, 0, "proxy: out of memory");
    if (s == PS_OK && (p->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
        s = ps_error(PS_ERR_IO, 0, "proxy: eventfd: %s", strerror(errno));
    int e = s == PS_OK ? pthread_create(&p->thread, NULL, loop, p) : 0;
    if (e != 0)
        s = ps_error(PS_ERR_IO, 0, "proxy: cannot start its thread: %s", strerror(e));
    if (s != PS_OK) {
        release(p);
        return s;
    }
    *out = p;
    return PS_OK;
}

int sim_proxy_port(const sim_proxy *p)
{
    return p ? p->port : -1;
}

void sim_proxy_stats_get(const sim_proxy *p, sim_proxy_stats *out)
{
    *out = (sim_proxy_stats){0};
    if (!p)
        return;
    out->accepted = atomic_load(&p->accepted);
    out->cut = atomic_load(&p->cut);
    out->bytes_up = atomic_load(&p->bytes_up);
    out->bytes_down = atomic_load(&p->bytes_down);
}

void sim_proxy_stop(sim_proxy *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_mutex_unlock(&p->mu);
    wake(p);
    pthread_join(p->thread, NULL); /* the thread closes every connection */
    release(p);
}
