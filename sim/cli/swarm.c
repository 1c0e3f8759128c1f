/* swarm.c — many seeds in child processes (see swarm.h). A child runs one
 * seed and writes one fixed-size record to its pipe; the parent keeps at
 * most `jobs` children alive and reaps them as their records arrive.
 *
 * A child dies with its parent: the kernel sends it SIGKILL when the
 * parent goes (PR_SET_PDEATHSIG), however the parent ends (SIGTERM,
 * Ctrl-C, kill -9), so no seed runs on unwatched.
 */
#include "swarm.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "handlers.h"
#include "report.h"
#include "scenario.h"

typedef struct record {
    uint64_t seed;
    int verdict; /* sim_verdict, or -1 for a harness error */
    char why[512];
} record;

typedef struct child {
    pid_t pid;
    int fd;
    uint64_t seed;
} child;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_child(const sim_scenario *base, uint64_t seed, int fd)
{
    sim_scenario *sc = sim_scenario_new();
    record rec = {.seed = seed};
    sim_result r;
    if (sc) {
        *sc = *base;
        sim_scenario_mix(sc, seed); /* this seed's own fault mix */
    }
    if (!sc || sim_run(sc, "", seed, ":memory:", NULL, &r) != PS_OK) {
        rec.verdict = -1;
        snprintf(rec.why, sizeof rec.why, "%s", ps_last_error());
    } else {
        rec.verdict = (int)r.verdict;
        snprintf(rec.why, sizeof rec.why, "%s", r.first_violation);
    }
    sim_scenario_free(sc);
    ssize_t w = write(fd, &rec, sizeof rec);
    _exit(w == (ssize_t)sizeof rec ? 0 : 1);
}

static int swarm(const sim_scenario *sc, const char *path, uint64_t first, uint64_t count, int jobs)
{
    if (jobs <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = n > 0 ? (int)n : 1;
    }
    child *kids = calloc((size_t)jobs, sizeof *kids);
    record *bad = calloc(count < 1000 ? count : 1000, sizeof *bad);
    if (!kids || !bad) {
        free(kids);
        free(bad);
        fprintf(stderr, "jetsim swarm: out of memory\n");
        return SIM_EXIT_USAGE;
    }
    bool tty = isatty(STDERR_FILENO);
    uint64_t next = first, done = 0, failed = 0, nbad = 0;
    uint64_t safety = 0, liveness = 0, harness = 0; /* failed, by kind: harness errors gave no verdict */
    int alive = 0;
    char spawn_err[128] = ""; /* why a seed could not be started: no more are */
    double t0 = now_s();
    printf("swarm: %s, seeds %" PRIu64 "..%" PRIu64 ", %d at a time\n", path, first, first + count - 1, jobs);
    fflush(stdout);
    while (done < count) {
        while (alive < jobs && next < first + count && !spawn_err[0]) {
            int p[2];
            if (pipe(p) != 0) {
                snprintf(spawn_err, sizeof spawn_err, "pipe: %s", strerror(errno));
                break;
            }
            pid_t parent = getpid();
            pid_t pid = fork();
            if (pid == 0) {
                close(p[0]);
                /* the parent may have died before the death signal was set */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
                    _exit(1);
                run_child(sc, next, p[1]);
            }
            int fork_errno = errno;
            close(p[1]);
            if (pid < 0) {
                close(p[0]);
                snprintf(spawn_err, sizeof spawn_err, "fork: %s", strerror(fork_errno));
                break;
            }
            for (int i = 0; i < jobs; i++)
                if (kids[i].pid == 0) {
                    kids[i] = (child){pid, p[0], next};
                    break;
                }
            alive++;
            next++;
        }
        struct pollfd pf[256];
        int map[256], n = 0;
        for (int i = 0; i < jobs && n < 256; i++)
            if (kids[i].pid) {
                pf[n] = (struct pollfd){kids[i].fd, POLLIN, 0};
                map[n++] = i;
            }
        if (n == 0)
            break;
        if (poll(pf, (nfds_t)n, -1) < 0 && errno != EINTR)
            break;
        for (int k = 0; k < n; k++) {
            if (!pf[k].revents)
                continue;
            child *c = &kids[map[k]];
            record rec;
            ssize_t got = read(c->fd, &rec, sizeof rec);
            if (got != (ssize_t)sizeof rec)
                rec = (record){.seed = c->seed, .verdict = -1, .why = "the child died without a verdict"};
            close(c->fd);
            waitpid(c->pid, NULL, 0);
            c->pid = 0;
            alive--;
            done++;
            if (rec.verdict != SIM_PASS) {
                failed++;
                safety += rec.verdict == SIM_SAFETY_VIOLATION;
                liveness += rec.verdict == SIM_LIVENESS_FAILURE;
                harness += rec.verdict != SIM_SAFETY_VIOLATION && rec.verdict != SIM_LIVENESS_FAILURE;
                if (nbad < 1000)
                    bad[nbad++] = rec;
            }
            if (tty)
                fprintf(stderr, "\r%" PRIu64 "/%" PRIu64 " seeds, %" PRIu64 " failed", done, count, failed);
        }
    }
    if (tty)
        fputc('\n', stderr);
    double dt = now_s() - t0;
    printf("swarm: %" PRIu64 " seeds in %.2f s, %" PRIu64 " failed: %" PRIu64 " safety, %" PRIu64 " liveness, %" PRIu64
           " harness errors\n", done, dt, failed, safety, liveness, harness);
    for (uint64_t i = 0; i < nbad; i++)
        printf("  seed %" PRIu64 ": %s %s\n      replay: jetsim run %s --seed %" PRIu64 " --mix%s%s\n",
               bad[i].seed,
               bad[i].verdict == SIM_SAFETY_VIOLATION ? "safety:" : bad[i].verdict == SIM_LIVENESS_FAILURE
                                                                      ? "liveness:" : "harness error:",
               bad[i].why, path, bad[i].seed, cli_handlers_path() ? " --handlers " : "",
               cli_handlers_path() ? cli_handlers_path() : "");
    free(kids);
    free(bad);
    if (done < count) {
        /* Seeds that never ran are not seeds that passed. */
        fprintf(stderr, "jetsim swarm: harness error: %" PRIu64 " of %" PRIu64 " seeds never ran (seed %" PRIu64
                " could not start: %s)\n", count - done, count, first + done,
                spawn_err[0] ? spawn_err : "poll failed");
        return SIM_EXIT_HARNESS;
    }
    /* the gravest finding decides; a harness error only says some seeds got no verdict */
    return safety ? SIM_EXIT_SAFETY : liveness ? SIM_EXIT_LIVENESS : harness ? SIM_EXIT_HARNESS : SIM_EXIT_PASS;
}

int sim_swarm(const char *path, uint64_t first, uint64_t count, int jobs)
{
    sim_scenario *sc = sim_scenario_new();
    int rc;
    if (!sc) {
        fprintf(stderr, "jetsim swarm: harness error: %s\n", ps_last_error());
        rc = SIM_EXIT_HARNESS;
    } else if (sim_scenario_load(sc, path) != PS_OK) {
        fprintf(stderr, "jetsim swarm: %s\n", ps_last_error());
        rc = SIM_EXIT_USAGE;
    } else {
        cli_handlers_attach(sc);
        rc = swarm(sc, path, first, count, jobs);
    }
    sim_scenario_free(sc);
    return rc;
}
