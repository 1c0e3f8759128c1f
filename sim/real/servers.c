/* servers.c — nats-server processes started, faulted and stopped by jetsim
 * (servers.h).
 *
 * Each node has a config file in the run's temporary directory (client,
 * monitoring and, in a cluster, route ports on 127.0.0.1; store under the
 * same directory), so a restart is the same command again. Readiness and
 * the stream leader come from the monitoring port over plain HTTP/1.0.
 *
 * Not: the faults' schedule (faults.c decides when), nor the proxy.
 */
#include "servers.h"
#include "ps_backend_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#define READY_TIMEOUT_MS 20000
#define TERM_TIMEOUT_MS 10000

typedef struct node {
    int port, mport, cport;
    char url[64];
    char conf[300], log[300];
    pid_t pid; /* 0: not running */
} node;

struct sim_servers {
    int n;
    node nodes[SIM_SERVERS_MAX];
    char dir[256];
    char bin[256];
    FILE *log;
};

/* Every live pid, for the signal handler (which may only call kill). */
static volatile sig_atomic_t interrupted;
/* A pipe the signal handler writes to, so that a wait on it (poll) ends
 * at the signal instead of at its next look at the flag. */
static int wake_fd[2] = {-1, -1};
/* Without that pipe, how often a wait looks at the flag. */
#define SLEEP_SLICE_MS 100
static volatile pid_t live[64];

static void live_add(pid_t pid)
{
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (live[i] == 0) {
            live[i] = pid;
            return;
        }
}

static void live_remove(pid_t pid)
{
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (live[i] == pid)
            live[i] = 0;
}

/* The first signal asks for a clean stop (the servers die at once, the
 * caller cleans up); a second one often comes with it (a terminal's Ctrl-C
 * and `timeout` both signal the whole process group), so only a third
 * exits on the spot. */
static void on_signal(int sig)
{
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (live[i] > 0)
            kill(live[i], SIGKILL);
    if (interrupted >= 2)
        _exit(128 + sig);
    interrupted++;
    if (wake_fd[1] >= 0) { /* wakes sim_servers_sleep_until at once */
        int saved = errno;
        ssize_t w = write(wake_fd[1], "!", 1);
        (void)w; /* a full pipe has woken its reader already */
        errno = saved;
    }
}

void sim_servers_trap_signals(void)
{
    if (wake_fd[0] < 0 && pipe2(wake_fd, O_CLOEXEC | O_NONBLOCK) != 0)
        wake_fd[0] = wake_fd[1] = -1; /* waits then wake within SLEEP_SLICE_MS of a signal */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

bool sim_servers_interrupted(void)
{
    return interrupted != 0;
}

bool sim_servers_sleep_until(int64_t mono_ns)
{
    for (;;) {
        if (interrupted)
            return true;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t left = mono_ns - ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
        if (left <= 0)
            return false;
        int64_t ms = (left + 999999) / 1000000;
        if (wake_fd[0] < 0 && ms > SLEEP_SLICE_MS)
            ms = SLEEP_SLICE_MS;
        struct pollfd p = {.fd = wake_fd[0], .events = POLLIN};
        poll(&p, wake_fd[0] >= 0 ? 1 : 0, (int)(ms > INT32_MAX ? INT32_MAX : ms));
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A port nothing listens on now (the kernel's choice for port 0). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* GET path from 127.0.0.1:port; the body (after the headers) into buf.
 * false when nothing answers within timeout_ms. */
static bool http_get(int port, const char *path, char *buf, size_t cap, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = false;
    size_t got = 0;
    int64_t end = now_ms() + timeout_ms;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS)
        goto out;
    struct pollfd p = {fd, POLLOUT, 0};
    if (poll(&p, 1, timeout_ms) != 1 || (p.revents & (POLLERR | POLLHUP)))
        goto out;
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        goto out;
    for (;;) {
        int left = (int)(end - now_ms());
        p = (struct pollfd){fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, left) != 1)
            goto out;
        ssize_t r = recv(fd, buf + got, cap - 1 - got, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == cap - 1)
            break;
    }
    buf[got] = '\0';
    char *body = strstr(buf, "\r\n\r\n");
    if (body)
        memmove(buf, body + 4, strlen(body + 4) + 1);
    ok = body != NULL;
out:
    close(fd);
    return ok;
}

static bool find_binary(char *out, size_t cap)
{
    const char *env = getenv("NATS_SERVER_BIN");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return access(out, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    char *copy = strdup(path ? path : "");
    char *save = NULL;
    for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, cap, "%s/nats-server", d);
        if (access(out, X_OK) == 0) {
            free(copy);
            return true;
        }
    }
    free(copy);
    const char *fixed[] = {"/usr/sbin/nats-server", "/usr/local/sbin/nats-server", "/usr/local/bin/nats-server"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (access(fixed[i], X_OK) == 0) {
            snprintf(out, cap, "%s", fixed[i]);
            return true;
        }
    return false;
}

static ps_status write_conf(sim_servers *s, int i)
{
    node *nd = &s->nodes[i];
    FILE *f = fopen(nd->conf, "w");
    if (!f)
        return ps_error(PS_ERR_IO, 0, "servers: cannot write %s: %s", nd->conf, strerror(errno));
    fprintf(f, "# written by jetsim for node n%d\nserver_name: n%d\nlisten: 127.0.0.1:%d\nhttp: 127.0.0.1:%d\n"
               "jetstream {\n  store_dir: \"%s/store-n%d\"\n}\n",
            i + 1, i + 1, nd->port, nd->mport, s->dir, i + 1);
    if (s->n > 1) {
        /* no_advertise: clients keep to the URLs they were given (jetsim's
         * proxies), instead of learning the nodes' own ports around them */
        fprintf(f, "cluster {\n  name: jetsim\n  no_advertise: true\n  listen: 127.0.0.1:%d\n  routes: [\n", nd->cport);
        for (int k = 0; k < s->n; k++)
            fprintf(f, "    nats-route://127.0.0.1:%d\n", s->nodes[k].cport);
        fprintf(f, "  ]\n}\n");
    }
    return fclose(f) == 0 ? PS_OK : ps_error(PS_ERR_IO, 0, "servers: cannot write %s", nd->conf);
}

static ps_status launch(sim_servers *s, int i)
{
    node *nd = &s->nodes[i];
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return ps_error(PS_ERR_IO, 0, "servers: fork: %s", strerror(errno));
    if (pid == 0) {
        /* its own process group: a terminal's Ctrl-C reaches jetsim only;
         * and it dies with jetsim, however jetsim ends */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        int fd = open(nd->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int nul = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (nul >= 0)
            dup2(nul, 0);
        execl(s->bin, s->bin, "-c", nd->conf, (char *)NULL);
        _exit(127);
    }
    nd->pid = pid;
    live_add(pid);
    return PS_OK;
}

/* The last line of a node's log, for an error message. */
static void last_log_line(const node *nd, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen(nd->log, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (line[0] && line[0] != '\n') {
            size_t n = strlen(line) < cap ? strlen(line) : cap - 1;
            memcpy(out, line, n);
            out[n] = '\0';
        }
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
}

/* Waits until every node in [first, last] answers /healthz ok. A
 * restarted cluster node (strict false) counts as up once its monitoring
 * port answers: it may report a stream or consumer "not current" for a
 * while as it catches up, which is part of the fault; it gets up to 1 s
 * to say ok, and the run goes on either way. */
static ps_status wait_ready(sim_servers *s, int first, int last, bool strict)
{
    int64_t end = now_ms() + READY_TIMEOUT_MS;
    for (int i = first; i <= last; i++) {
        node *nd = &s->nodes[i];
        char body[512];
        for (;;) {
            int st;
            if (waitpid(nd->pid, &st, WNOHANG) == nd->pid) {
                live_remove(nd->pid);
                nd->pid = 0;
                char why[400];
                last_log_line(nd, why, sizeof why);
                return ps_error(PS_ERR_IO, 0, "servers: node n%d exited while starting: %s (log %s)", i + 1,
                                why, nd->log);
            }
            bool answered = http_get(nd->mport, "/healthz", body, sizeof body, 500);
            if (answered && strstr(body, "\"ok\""))
                break;
            if (answered && !strict && now_ms() > end - READY_TIMEOUT_MS + 1000) {
                if (s->log)
                    fprintf(s->log, "  node n%d is up; its health check still says %.200s\n", i + 1, body);
                break;
            }
            if (interrupted)
                return ps_error(PS_ERR_IO, 0, "servers: interrupted");
            if (now_ms() > end)
                return ps_error(PS_ERR_TIMEOUT, 0, "servers: node n%d not ready after %d s: %.200s (log %s)",
                                i + 1, READY_TIMEOUT_MS / 1000, answered ? body : "no answer", nd->log);
            nap_ms(50);
        }
    }
    return PS_OK;
}

ps_status sim_servers_start(sim_servers **out, int nodes, FILE *log)
{
    if (!out || (nodes != 1 && nodes != 3))
        return ps_error(PS_ERR_INVALID_ARG, 0, "servers: 1 or 3 nodes, not %d", nodes);
    sim_servers *s = calloc(1, sizeof *s);
    if (!s)
        return ps_error(PS_ERR_NO_MEMORY, 0, "servers: out of memory");
    s->n = nodes;
    s->log = log;
    if (!find_binary(s->bin, sizeof s->bin)) {
        free(s);
        return ps_error(PS_ERR_UNAVAILABLE, 0, "servers: no nats-server binary (apt-get install nats-server, or "
                                               "set NATS_SERVER_BIN)");
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/jetsim-spawn-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        ps_status e = ps_error(PS_ERR_IO, 0, "servers: cannot create %s: %s", s->dir, strerror(errno));
        free(s);
        return e;
    }
    ps_status st = PS_OK;
    for (int i = 0; i < nodes && !st; i++) {
        node *nd = &s->nodes[i];
        nd->port = free_port();
        nd->mport = free_port();
        nd->cport = nodes > 1 ? free_port() : 0;
        if (nd->port < 0 || nd->mport < 0 || nd->cport < 0)
            st = ps_error(PS_ERR_IO, 0, "servers: no free loopback port");
        snprintf(nd->url, sizeof nd->url, "nats://127.0.0.1:%d", nd->port);
        snprintf(nd->conf, sizeof nd->conf, "%s/n%d.conf", s->dir, i + 1);
        snprintf(nd->log, sizeof nd->log, "%s/n%d.log", s->dir, i + 1);
    }
    for (int i = 0; i < nodes && !st; i++)
        st = write_conf(s, i);
    for (int i = 0; i < nodes && !st; i++)
        st = launch(s, i);
    if (!st)
        st = wait_ready(s, 0, nodes - 1, true);
    if (st) {
        sim_servers_stop(s);
        return st;
    }
    if (log)
        for (int i = 0; i < nodes; i++)
            fprintf(log, "spawned nats-server n%d at %s (pid %d, store %s/store-n%d)\n", i + 1, s->nodes[i].url,
                    (int)s->nodes[i].pid, s->dir, i + 1);
    *out = s;
    return PS_OK;
}

ps_status sim_servers_wait_healthy(sim_servers *s)
{
    if (!s)
        return ps_error(PS_ERR_INVALID_ARG, 0, "servers: wait_healthy: no servers");
    for (int i = 0; i < s->n; i++) {
        if (!s->nodes[i].pid)
            continue; /* down on purpose (a fault): nothing to wait for */
        ps_status st = wait_ready(s, i, i, true);
        if (st)
            return st;
    }
    return PS_OK;
}

int sim_servers_count(const sim_servers *s)
{
    return s ? s->n : 0;
}

int sim_servers_port(const sim_servers *s, int i)
{
    return s && i >= 0 && i < s->n ? s->nodes[i].port : -1;
}

const char *sim_servers_url(const sim_servers *s, int i)
{
    return s && i >= 0 && i < s->n ? s->nodes[i].url : NULL;
}

/* Waits up to ms for node's process to exit; true when it has. */
static bool reap(node *nd, int ms)
{
    int64_t end = now_ms() + ms;
    for (;;) {
        int st;
        pid_t r = waitpid(nd->pid, &st, WNOHANG);
        if (r == nd->pid || (r < 0 && errno == ECHILD)) {
            live_remove(nd->pid);
            nd->pid = 0;
            return true;
        }
        if (now_ms() > end)
            return false;
        nap_ms(10);
    }
}

ps_status sim_servers_kill(sim_servers *s, int i, int sig)
{
    if (!s || i < 0 || i >= s->n || (sig != SIGKILL && sig != SIGTERM))
        return ps_error(PS_ERR_INVALID_ARG, 0, "servers: kill: bad node %d or signal %d", i + 1, sig);
    node *nd = &s->nodes[i];
    if (!nd->pid)
        return PS_OK;
    kill(nd->pid, SIGCONT); /* a paused server cannot obey SIGTERM */
    kill(nd->pid, sig);
    if (reap(nd, sig == SIGKILL ? 5000 : TERM_TIMEOUT_MS))
        return PS_OK;
    kill(nd->pid, SIGKILL);
    return reap(nd, 5000) ? PS_OK : ps_error(PS_ERR_IO, 0, "servers: node n%d did not exit", i + 1);
}

ps_status sim_servers_restart(sim_servers *s, int i)
{
    if (!s || i < 0 || i >= s->n)
        return ps_error(PS_ERR_INVALID_ARG, 0, "servers: restart: no node %d", i + 1);
    if (s->nodes[i].pid)
        return PS_OK;
    ps_status st = launch(s, i);
    return st ? st : wait_ready(s, i, i, s->n == 1);
}

/* The process state letter from /proc/PID/stat ('T' when stopped). */
static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close = strrchr(buf, ')'); /* the name may hold spaces */
    return close && close[1] == ' ' ? close[2] : '?';
}

ps_status sim_servers_pause(sim_servers *s, int i, bool pause)
{
    if (!s || i < 0 || i >= s->n)
        return ps_error(PS_ERR_INVALID_ARG, 0, "servers: pause: no node %d", i + 1);
    pid_t pid = s->nodes[i].pid;
    if (!pid)
        return PS_OK;
    if (kill(pid, pause ? SIGSTOP : SIGCONT) != 0)
        return ps_error(PS_ERR_IO, 0, "servers: signal to node n%d: %s", i + 1, strerror(errno));
    /* kill() returns before the process has stopped: wait until it has, so
     * that nothing the caller sends next is still answered */
    for (int k = 0; k < 200; k++) {
        char st = proc_state(pid);
        if (st == '?' || (pause ? st == 'T' : st != 'T'))
            return PS_OK;
        nap_ms(5);
    }
    return ps_error(PS_ERR_IO, 0, "servers: node n%d did not %s within 1 s", i + 1, pause ? "stop" : "continue");
}

int sim_servers_leader(sim_servers *s, const char *stream)
{
    if (!s || !stream)
        return -1;
    if (s->n == 1)
        return 0;
    static char body[1 << 16];
    char want[200];
    for (int i = 0; i < s->n; i++) {
        if (!s->nodes[i].pid || !http_get(s->nodes[i].mport, "/jsz?streams=true", body, sizeof body, 1000))
            continue;
        /* each stream detail: "name":"S", ... "cluster":{..."leader":"nK" */
        snprintf(want, sizeof want, "\"name\": \"%s\"", stream);
        char *at = strstr(body, want);
        if (!at) {
            snprintf(want, sizeof want, "\"name\":\"%s\"", stream);
            at = strstr(body, want);
        }
        char *l = at ? strstr(at, "\"leader\"") : NULL;
        char *n = l ? strchr(l + 8, 'n') : NULL;
        if (n && n[1] >= '1' && n[1] <= '0' + s->n)
            return n[1] - '1';
    }
    return -1;
}

static void remove_tree(const char *dir)
{
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", "--", dir, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

void sim_servers_stop(sim_servers *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        if (s->nodes[i].pid) {
            kill(s->nodes[i].pid, SIGCONT);
            kill(s->nodes[i].pid, SIGTERM);
        }
    for (int i = 0; i < s->n; i++)
        if (s->nodes[i].pid && !reap(&s->nodes[i], 5000)) {
            kill(s->nodes[i].pid, SIGKILL);
            reap(&s->nodes[i], 5000);
        }
    if (s->dir[0] && !getenv("JETSIM_KEEP_SPAWN_DIR"))
        remove_tree(s->dir);
    free(s);
}
