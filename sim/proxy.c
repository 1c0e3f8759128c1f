/* proxy.c — the loopback fault proxy (proxy.h).
 *
 * One thread polls the listening socket, a wake-up pipe and both sockets
 * of every connection. What is read becomes a chunk stamped with the time
 * it may leave (now + delay); a direction writes out its due chunks in
 * order unless the proxy is dropping everything. Control calls change the
 * mode under a mutex and wake the thread.
 *
 * Not: the schedule of faults (real.c decides when).
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HELD_MAX (4u << 20) /* bytes held per direction before reading stops */
#define READ_MAX 65536
#define MAX_CONNS 64

typedef enum mode { PASS = 0, CUT, BLACKHOLE } mode;

typedef struct chunk {
    struct chunk *next;
    int64_t due_ns;
    size_t len, off;
    char data[];
} chunk;

typedef struct dir {
    chunk *head, *tail;
    size_t held;
} dir;

typedef struct conn {
    int cfd, sfd;
    bool connecting;
    dir up, down; /* client -> server, server -> client */
} conn;

struct sim_proxy {
    int lfd, port, target;
    int wake[2];
    pthread_t thread;
    pthread_mutex_t mu;
    mode mode;          /* guarded by mu */
    int64_t delay_ns;   /* guarded by mu */
    bool cut_now, stop; /* guarded by mu */
    sim_proxy_stats stats; /* guarded by mu */
    conn conns[MAX_CONNS];
    int nconns;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void dir_free(dir *d)
{
    while (d->head) {
        chunk *n = d->head->next;
        free(d->head);
        d->head = n;
    }
    d->tail = NULL;
    d->held = 0;
}

static void conn_close(sim_proxy *p, int i)
{
    conn *c = &p->conns[i];
    close(c->cfd);
    close(c->sfd);
    dir_free(&c->up);
    dir_free(&c->down);
    p->conns[i] = p->conns[--p->nconns];
}

/* Reads what fd has into d, stamped to leave at due; false on EOF/error. */
static bool pull(int fd, dir *d, int64_t due, uint64_t *count)
{
    for (;;) {
        if (d->held >= HELD_MAX)
            return true;
        chunk *ch = malloc(sizeof *ch + READ_MAX);
        if (!ch)
            return false;
        ssize_t r = recv(fd, ch->data, READ_MAX, 0);
        if (r <= 0) {
            free(ch);
            return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
        }
        ch->next = NULL;
        ch->due_ns = due;
        ch->len = (size_t)r;
        ch->off = 0;
        if (d->tail)
            d->tail->next = ch;
        else
            d->head = ch;
        d->tail = ch;
        d->held += (size_t)r;
        *count += (uint64_t)r;
    }
}

/* Writes d's due chunks to fd; false on a write error. */
static bool push(int fd, dir *d, int64_t now)
{
    while (d->head && d->head->due_ns <= now) {
        chunk *ch = d->head;
        ssize_t w = send(fd, ch->data + ch->off, ch->len - ch->off, MSG_NOSIGNAL);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        ch->off += (size_t)w;
        d->held -= (size_t)w;
        if (ch->off < ch->len)
            return true;
        d->head = ch->next;
        if (!d->head)
            d->tail = NULL;
        free(ch);
    }
    return true;
}

static void accept_one(sim_proxy *p, mode m)
{
    int cfd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0)
        return;
    pthread_mutex_lock(&p->mu);
    p->stats.accepted++;
    if (m == CUT)
        p->stats.cut++;
    pthread_mutex_unlock(&p->mu);
    if (m == CUT || p->nconns == MAX_CONNS) {
        close(cfd);
        return;
    }
    int sfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->target),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (sfd < 0 || (connect(sfd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS)) {
        if (sfd >= 0)
            close(sfd);
        close(cfd); /* the server is down: the client will reconnect */
        return;
    }
    p->conns[p->nconns++] = (conn){.cfd = cfd, .sfd = sfd, .connecting = true};
}

/* Services connection i after a poll; false when it must be closed. */
static bool service(sim_proxy *p, int i, const struct pollfd *cp, const struct pollfd *sp, mode m, int64_t delay)
{
    conn *c = &p->conns[i];
    int64_t now = now_ns();
    if (c->connecting) {
        if (!(sp->revents & (POLLOUT | POLLERR | POLLHUP)))
            return true;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->sfd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
            return false;
        c->connecting = false;
    }
    uint64_t up = 0, down = 0;
    bool ok = true;
    if (cp->revents & (POLLIN | POLLHUP | POLLERR))
        ok = pull(c->cfd, &c->up, now + delay, &up);
    if (ok && (sp->revents & (POLLIN | POLLHUP | POLLERR)))
        ok = pull(c->sfd, &c->down, now + delay, &down);
    if (ok && m != BLACKHOLE)
        ok = push(c->sfd, &c->up, now) && push(c->cfd, &c->down, now);
    if (up || down) {
        pthread_mutex_lock(&p->mu);
        p->stats.bytes_up += up;
        p->stats.bytes_down += down;
        pthread_mutex_unlock(&p->mu);
    }
    return ok;
}

static void *loop(void *arg)
{
    sim_proxy *p = arg;
    struct pollfd fds[2 + 2 * MAX_CONNS];
    for (;;) {
        pthread_mutex_lock(&p->mu);
        mode m = p->mode;
        int64_t delay = p->delay_ns;
        bool cut = p->cut_now, stop = p->stop;
        p->cut_now = false;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        while (cut && p->nconns)
            conn_close(p, p->nconns - 1);
        int64_t now = now_ns(), next = -1;
        fds[0] = (struct pollfd){p->wake[0], POLLIN, 0};
        fds[1] = (struct pollfd){p->lfd, POLLIN, 0};
        for (int i = 0; i < p->nconns; i++) {
            conn *c = &p->conns[i];
            short ce = c->up.held < HELD_MAX ? POLLIN : 0, se = c->down.held < HELD_MAX ? POLLIN : 0;
            if (c->connecting)
                se = POLLOUT, ce = 0;
            if (m != BLACKHOLE) {
                dir *ds[2] = {&c->up, &c->down};
                for (int k = 0; k < 2; k++)
                    if (ds[k]->head) {
                        if (ds[k]->head->due_ns <= now)
                            k == 0 ? (se |= POLLOUT) : (ce |= POLLOUT);
                        else if (next < 0 || ds[k]->head->due_ns < next)
                            next = ds[k]->head->due_ns;
                    }
            }
            fds[2 + 2 * i] = (struct pollfd){c->cfd, ce, 0};
            fds[3 + 2 * i] = (struct pollfd){c->sfd, se, 0};
        }
        int timeout = next < 0 ? 1000 : (int)((next - now) / 1000000) + 1;
        if (poll(fds, (nfds_t)(2 + 2 * p->nconns), timeout) < 0 && errno != EINTR)
            break;
        if (fds[0].revents & POLLIN) {
            char buf[64];
            while (read(p->wake[0], buf, sizeof buf) > 0) {
            }
        }
        int n = p->nconns; /* connections accepted below are serviced next round */
        if (fds[1].revents & POLLIN)
            accept_one(p, m);
        for (int i = n - 1; i >= 0; i--)
            if (!service(p, i, &fds[2 + 2 * i], &fds[3 + 2 * i], m, delay))
                conn_close(p, i);
    }
    while (p->nconns)
        conn_close(p, p->nconns - 1);
    return NULL;
}

static ps_status control(sim_proxy *p, mode m, int64_t delay, bool cut)
{
    if (!p)
        return ps_error(PS_ERR_INVALID_ARG, 0, "proxy: NULL");
    pthread_mutex_lock(&p->mu);
    p->mode = m;
    p->delay_ns = delay;
    p->cut_now |= cut;
    pthread_mutex_unlock(&p->mu);
    ssize_t w = write(p->wake[1], "x", 1);
    (void)w; /* a full pipe already wakes the thread */
    return PS_OK;
}

ps_status sim_proxy_cut(sim_proxy *p) { return control(p, CUT, 0, true); }
ps_status sim_proxy_blackhole(sim_proxy *p) { return control(p, BLACKHOLE, 0, false); }
ps_status sim_proxy_heal(sim_proxy *p) { return control(p, PASS, 0, false); }

ps_status sim_proxy_delay(sim_proxy *p, int64_t delay_ns)
{
    return delay_ns < 0 ? ps_error(PS_ERR_INVALID_ARG, 0, "proxy: negative delay") : control(p, PASS, delay_ns, false);
}

ps_status sim_proxy_start(sim_proxy **out, int target_port)
{
    if (!out || target_port <= 0 || target_port > 65535)
        return ps_error(PS_ERR_INVALID_ARG, 0, "proxy: bad target port %d", target_port);
    sim_proxy *p = calloc(1, sizeof *p);
    if (!p)
        return ps_error(PS_ERR_NO_MEMORY, 0, "proxy: out of memory");
    p->target = target_port;
    p->wake[0] = p->wake[1] = -1;
    pthread_mutex_init(&p->mu, NULL);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(p->lfd, 64) != 0 ||
        getsockname(p->lfd, (struct sockaddr *)&a, &len) != 0 || pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) != 0 ||
        pthread_create(&p->thread, NULL, loop, p) != 0) {
        ps_status s = ps_error(PS_ERR_IO, 0, "proxy: cannot listen on 127.0.0.1: %s", strerror(errno));
        if (p->lfd >= 0)
            close(p->lfd);
        if (p->wake[0] >= 0) {
            close(p->wake[0]);
            close(p->wake[1]);
        }
        pthread_mutex_destroy(&p->mu);
        free(p);
        return s;
    }
    p->port = ntohs(a.sin_port);
    *out = p;
    return PS_OK;
}

int sim_proxy_port(const sim_proxy *p)
{
    return p ? p->port : -1;
}

void sim_proxy_stats_get(sim_proxy *p, sim_proxy_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->mu);
}

void sim_proxy_stop(sim_proxy *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_mutex_unlock(&p->mu);
    ssize_t w = write(p->wake[1], "x", 1);
    (void)w;
    pthread_join(p->thread, NULL);
    close(p->lfd);
    close(p->wake[0]);
    close(p->wake[1]);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
