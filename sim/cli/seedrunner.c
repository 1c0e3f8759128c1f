/* seedrunner.c — a long-lived child running seeds (seedrunner.h).
 *
 * One SOCK_SEQPACKET socket pair joins parent and runner: each packet the
 * parent sends is one seed (8 bytes), each packet the runner sends back is
 * one reply, so neither side ever reads half of something, and the end of
 * the runner reads as a 0-byte packet.
 */
#include "seedrunner.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ps_backend_impl.h"

struct sim_runner {
    pid_t pid; /* 0: reaped */
    int fd;    /* the parent's end */
};

/* What the runner sends for each seed. */
typedef struct reply {
    sim_swarm_record rec;
    int64_t run_ns;
} reply;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One seed of a scenario that runs the user's --handlers code: in a fork
 * of the runner, so that whatever that code leaves in its globals dies
 * with the seed and each seed starts from the library as it was loaded,
 * as `jetsim run --seed N` does (our own code needs no such fence: a run
 * is a pure function of scenario and seed, engine.h). A crash there costs
 * the seed a verdict that says so, and the runner goes on. */
static void run_seed_fenced(const sim_scenario *sc, uint64_t seed, sim_swarm_record *rec)
{
    *rec = (sim_swarm_record){.seed = seed, .verdict = -1};
    int p[2];
    if (pipe(p) != 0) {
        snprintf(rec->why, sizeof rec->why, "the seed could not start: pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        sim_swarm_run_seed(sc, seed, rec);
        ssize_t w = write(p[1], rec, sizeof *rec);
        _exit(w == (ssize_t)sizeof *rec ? 0 : 1);
    }
    int e = errno;
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        snprintf(rec->why, sizeof rec->why, "the seed could not start: fork: %s", strerror(e));
        return;
    }
    ssize_t got;
    while ((got = read(p[0], rec, sizeof *rec)) < 0 && errno == EINTR)
        ;
    close(p[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got == (ssize_t)sizeof *rec)
        return;
    *rec = (sim_swarm_record){.seed = seed, .verdict = -1};
    if (WIFSIGNALED(status))
        snprintf(rec->why, sizeof rec->why, "the child died without a verdict (signal %d)", WTERMSIG(status));
    else
        snprintf(rec->why, sizeof rec->why, "the child died without a verdict");
}

/* The runner: seeds in, replies out, until the parent closes its end or
 * goes. Touches nothing of the parent's but memory it copied: the parent
 * may have threads (cnats's), and none of them exist here. */
static void runner_main(const sim_scenario *sc, int fd, pid_t parent)
{
    /* the parent may have died before the death signal was set */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(1);
    signal(SIGINT, SIG_IGN); /* a terminal's Ctrl-C is the agent's to handle */
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    /* the parent's other descriptors (its connection, other runners'
     * sockets) are not ours to hold open */
    if (fd > 3 && close_range(3, (unsigned)fd - 1, 0) != 0)
        _exit(1);
    if (close_range((unsigned)fd + 1, ~0U, 0) != 0)
        _exit(1);
    prctl(PR_SET_NAME, "jetsim-runner");
    for (;;) {
        uint64_t seed;
        ssize_t got = recv(fd, &seed, sizeof seed, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got != (ssize_t)sizeof seed)
            _exit(got == 0 ? 0 : 1);
        prctl(PR_SET_NAME, "jetsim-seed");
        reply r;
        int64_t t0 = mono_ns();
        if (sc->module)
            run_seed_fenced(sc, seed, &r.rec);
        else
            sim_swarm_run_seed(sc, seed, &r.rec);
        r.run_ns = mono_ns() - t0;
        prctl(PR_SET_NAME, "jetsim-runner");
        if (send(fd, &r, sizeof r, MSG_NOSIGNAL) != (ssize_t)sizeof r)
            _exit(1);
    }
}

ps_status sim_runner_new(sim_runner **out, const sim_scenario *sc)
{
    sim_runner *r = malloc(sizeof *r);
    if (!r)
        return ps_error(PS_ERR_NO_MEMORY, 0, "starting a seed runner: out of memory");
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        int e = errno;
        free(r);
        return ps_error(PS_ERR_IO, 0, "starting a seed runner: socketpair: %s", strerror(e));
    }
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        close(sv[0]);
        runner_main(sc, sv[1], parent);
    }
    int e = errno;
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        free(r);
        return ps_error(PS_ERR_IO, 0, "starting a seed runner: fork: %s", strerror(e));
    }
    *r = (sim_runner){.pid = pid, .fd = sv[0]};
    *out = r;
    return PS_OK;
}

ps_status sim_runner_send(sim_runner *r, uint64_t seed)
{
    ssize_t n;
    do
        n = send(r->fd, &seed, sizeof seed, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof seed)
        return ps_error(PS_ERR_IO, 0, "seed runner %d: %s", (int)r->pid, n < 0 ? strerror(errno) : "short send");
    return PS_OK;
}

int sim_runner_fd(const sim_runner *r)
{
    return r->fd;
}

pid_t sim_runner_pid(const sim_runner *r)
{
    return r->pid;
}

/* Reaps the runner, which has ended or is about to; says how into why. */
static void reap(sim_runner *r, char *why, size_t cap)
{
    int status = 0;
    pid_t p;
    do
        p = waitpid(r->pid, &status, 0);
    while (p < 0 && errno == EINTR);
    if (p == r->pid && WIFSIGNALED(status))
        snprintf(why, cap, "killed by signal %d", WTERMSIG(status));
    else if (p == r->pid && WIFEXITED(status))
        snprintf(why, cap, "exit status %d", WEXITSTATUS(status));
    else
        snprintf(why, cap, "gone (%s)", p < 0 ? strerror(errno) : "no status");
    r->pid = 0;
}

ps_status sim_runner_read(sim_runner *r, uint64_t seed, sim_swarm_record *out, int64_t *run_ns)
{
    reply rep;
    ssize_t n;
    do
        n = recv(r->fd, &rep, sizeof rep, 0);
    while (n < 0 && errno == EINTR);
    *out = (sim_swarm_record){.seed = seed, .verdict = -1};
    if (n == (ssize_t)sizeof rep && rep.rec.seed == seed) {
        *out = rep.rec;
        if (run_ns)
            *run_ns = rep.run_ns;
        return PS_OK;
    }
    if (n == (ssize_t)sizeof rep) { /* cannot happen: a runner answers in order */
        snprintf(out->why, sizeof out->why, "the seed runner answered for seed %" PRIu64, rep.rec.seed);
        return ps_error(PS_ERR_IO, 0, "%s", out->why);
    }
    int e = errno;
    char why[64] = "gone";
    if (r->pid) {
        if (n > 0 || (n < 0 && e != ECONNRESET)) /* alive and talking nonsense: end it */
            kill(r->pid, SIGKILL);
        reap(r, why, sizeof why);
    }
    snprintf(out->why, sizeof out->why, "the seed runner died without a verdict (%s)", why);
    return ps_error(PS_ERR_IO, 0, "%s", out->why);
}

void sim_runner_free(sim_runner *r)
{
    if (!r)
        return;
    if (r->pid) {
        char why[64];
        kill(r->pid, SIGKILL);
        reap(r, why, sizeof why);
    }
    close(r->fd);
    free(r);
}
