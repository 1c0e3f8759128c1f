/* swarm.c — many seeds in child processes (see swarm.h). The parent keeps
 * `jobs` seed runners (seedrunner.h: long-lived children, one seed at a
 * time each) and hands each idle one the next seed. A runner that dies
 * mid-seed costs that seed a harness error, and another takes its place.
 *
 * A runner dies with its parent: the kernel sends it SIGKILL when the
 * parent goes (PR_SET_PDEATHSIG), however the parent ends (SIGTERM,
 * Ctrl-C, kill -9), so no seed runs on unwatched.
 */
#include "swarm.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "ps_backend_impl.h"
#include "handlers.h"
#include "htmlreport.h"
#include "report.h"
#include "scenario.h"
#include "seedrunner.h"

typedef sim_swarm_record record;

/* A runner's slot. */
typedef struct child {
    sim_runner *r; /* NULL: no runner in this slot */
    uint64_t seed; /* the seed it runs, when busy */
    bool busy;
} child;

/* Failing seeds kept one by one (for --list, --json, --junit); more are
 * still counted in their groups. */
#define KEEP_MAX 10000
/* Groups printed; the rest are counted in one line. */
#define GROUPS_SHOWN 12

/* One bug, as far as its text tells: failing seeds whose violations are
 * the same once numbers are taken out. */
typedef struct group {
    int verdict;
    char sig[512];
    uint64_t n;
    uint64_t eg[3]; /* the smallest seeds, ascending */
    int neg;
    char why[512];  /* the violation of eg[0] */
} group;

/* What a swarm found, gathered as the seeds' records arrive. */
typedef struct findings {
    record *bad; /* the first KEEP_MAX failing seeds to arrive */
    uint64_t nbad;
    group *groups;
    size_t ngroups, capgroups;
    unsigned char *verdicts; /* per seed, for --junit: 0 pass, 1 + sim_verdict, 255 harness error; NULL unless asked */
} findings;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sim_swarm_run_seed(const sim_scenario *base, uint64_t seed, sim_swarm_record *out)
{
    sim_scenario *sc = sim_scenario_new();
    sim_result r;
    memset(out, 0, sizeof *out);
    out->seed = seed;
    if (sc) {
        *sc = *base;
        sim_scenario_mix(sc, seed); /* this seed's own fault mix */
    }
    if (!sc || sim_run(sc, "", seed, ":memory:", NULL, &r) != PS_OK) {
        out->verdict = -1;
        snprintf(out->why, sizeof out->why, "%s", ps_last_error());
    } else {
        out->verdict = (int)r.verdict;
        snprintf(out->why, sizeof out->why, "%s", r.first_violation);
    }
    sim_scenario_free(sc);
}

/* The violation with its numbers taken out: each run of digits is "N",
 * except in the check's name before the first ':' ("attempts<=5", "sql
 * (line 23)"), which is the same for every seed. */
static void signature(const char *why, char *out, size_t cap)
{
    size_t n = strcspn(why, ":");
    if (!why[n] || n + 2 >= cap)
        n = 0; /* no check named: all of it is the signature */
    memcpy(out, why, n);
    for (const char *p = why + n; *p && n + 2 < cap; p++) {
        if (isdigit((unsigned char)*p)) {
            out[n++] = 'N';
            while (isdigit((unsigned char)p[1]))
                p++;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

static const char *verdict_word(int v)
{
    return v == SIM_SAFETY_VIOLATION ? "safety" : v == SIM_LIVENESS_FAILURE ? "liveness" : "harness error";
}

/* Adds a failing seed to its group (a new one if none fits). false: out
 * of memory. */
static bool group_add(findings *f, const record *rec)
{
    char sig[512];
    signature(rec->why, sig, sizeof sig);
    group *g = NULL;
    for (size_t i = 0; i < f->ngroups && !g; i++)
        if (f->groups[i].verdict == rec->verdict && strcmp(f->groups[i].sig, sig) == 0)
            g = &f->groups[i];
    if (!g) {
        if (f->ngroups == f->capgroups) {
            size_t ncap = f->capgroups ? f->capgroups * 2 : 16;
            group *n = realloc(f->groups, ncap * sizeof *n);
            if (!n)
                return false;
            f->groups = n;
            f->capgroups = ncap;
        }
        g = &f->groups[f->ngroups++];
        memset(g, 0, sizeof *g);
        g->verdict = rec->verdict;
        snprintf(g->sig, sizeof g->sig, "%s", sig);
    }
    g->n++;
    int at = g->neg; /* seeds arrive out of order: keep the smallest three */
    while (at > 0 && g->eg[at - 1] > rec->seed)
        at--;
    if (at < 3) {
        for (int k = (g->neg < 3 ? g->neg : 2); k > at; k--)
            g->eg[k] = g->eg[k - 1];
        g->eg[at] = rec->seed;
        g->neg += g->neg < 3;
        if (at == 0)
            snprintf(g->why, sizeof g->why, "%s", rec->why);
    }
    return true;
}

static int by_count(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return x->eg[0] < y->eg[0] ? -1 : x->eg[0] > y->eg[0];
}

static int by_seed(const void *a, const void *b)
{
    const record *x = a, *y = b;
    return x->seed < y->seed ? -1 : x->seed > y->seed;
}

/* "jetsim run S --seed N --mix [--handlers LIB]" */
static void replay_cmd(char *out, size_t cap, const char *path, uint64_t seed)
{
    snprintf(out, cap, "jetsim run %s --seed %" PRIu64 " --mix%s%s", path, seed,
             cli_handlers_path() ? " --handlers " : "", cli_handlers_path() ? cli_handlers_path() : "");
}

/* The check a violation names: its text up to the first ':'. */
static void check_of(const char *why, char *out, size_t cap)
{
    size_t n = strcspn(why, ":");
    snprintf(out, cap, "%.*s", (int)n, why);
}

/* --reports: the page of each example seed of group `g`, one line.
 * false when a page could not be written (said on stderr). */
static bool print_reports(const group *g, const sim_scenario *sc, const char *path, const char *dir)
{
    bool ok = true;
    printf("      report%s:", g->neg > 1 ? "s" : "");
    for (int k = 0; k < g->neg; k++) {
        char page[4300];
        fflush(stdout); /* a harness error said on stderr comes after what led to it */
        if (sim_html_report_seed(sc, path, g->eg[k], dir, page, sizeof page) == 0)
            printf("%s %s", k ? "," : "", page);
        else
            ok = false;
    }
    printf("\n");
    return ok;
}

/* The groups, largest first; false when a --reports page could not be
 * written. */
static bool print_groups(const findings *f, const sim_scenario *sc, const char *path, const char *reports)
{
    bool ok = true;
    if (!f->ngroups)
        return true;
    printf("failing seeds by check and signature (the violation, numbers taken out as N):\n");
    for (size_t i = 0; i < f->ngroups && i < GROUPS_SHOWN; i++) {
        const group *g = &f->groups[i];
        char check[128], cmd[1200];
        check_of(g->sig, check, sizeof check);
        const char *rest = g->sig + strlen(check);
        rest += strspn(rest, ": ");
        printf("  %s (%s): %" PRIu64 " seed%s, e.g. ", check, verdict_word(g->verdict), g->n, g->n == 1 ? "" : "s");
        for (int k = 0; k < g->neg; k++)
            printf("%s%" PRIu64, k ? ", " : "", g->eg[k]);
        replay_cmd(cmd, sizeof cmd, path, g->eg[0]);
        printf("\n      %s\n      replay: %s\n", *rest ? rest : g->sig, cmd);
        if (reports && g->verdict >= 0)
            ok &= print_reports(g, sc, path, reports);
    }
    if (f->ngroups > GROUPS_SHOWN)
        printf("  ... and %zu more signatures (--list shows every failing seed)\n", f->ngroups - GROUPS_SHOWN);
    return ok;
}

static void print_list(const findings *f, const char *path)
{
    for (uint64_t i = 0; i < f->nbad; i++) {
        char cmd[1200];
        replay_cmd(cmd, sizeof cmd, path, f->bad[i].seed);
        printf("  seed %" PRIu64 ": %s: %s\n      replay: %s\n", f->bad[i].seed, verdict_word(f->bad[i].verdict),
               f->bad[i].why, cmd);
    }
}

/* The swarm as one JSON object (ciout.h). */
static void write_json(FILE *o, const findings *f, const char *path, uint64_t first, uint64_t done, double dt,
                       const uint64_t by_kind[3], int rc)
{
    fputs("{\"command\": \"swarm\", \"scenario\": ", o);
    ci_json_string(o, path);
    fprintf(o, ", \"first_seed\": %" PRIu64 ", \"seeds\": %" PRIu64 ", \"seconds\": %.3f, \"failed\": %" PRIu64
            ", \"safety\": %" PRIu64 ", \"liveness\": %" PRIu64 ", \"harness_errors\": %" PRIu64
            ", \"exit_code\": %d,\n \"groups\": [", first, done, dt, by_kind[0] + by_kind[1] + by_kind[2], by_kind[0],
            by_kind[1], by_kind[2], rc);
    for (size_t i = 0; i < f->ngroups; i++) {
        const group *g = &f->groups[i];
        char check[128], cmd[1200];
        check_of(g->sig, check, sizeof check);
        replay_cmd(cmd, sizeof cmd, path, g->eg[0]);
        fprintf(o, "%s\n  {\"check\": ", i ? "," : "");
        ci_json_string(o, check);
        fprintf(o, ", \"verdict\": \"%s\", \"seeds\": %" PRIu64 ", \"signature\": ", verdict_word(g->verdict), g->n);
        ci_json_string(o, g->sig);
        fputs(", \"example_seeds\": [", o);
        for (int k = 0; k < g->neg; k++)
            fprintf(o, "%s%" PRIu64, k ? ", " : "", g->eg[k]);
        fputs("], \"example\": ", o);
        ci_json_string(o, g->why);
        fputs(", \"replay\": ", o);
        ci_json_string(o, cmd);
        fputc('}', o);
    }
    fputs("],\n \"failing_seeds\": [", o);
    for (uint64_t i = 0; i < f->nbad; i++) {
        char cmd[1200];
        replay_cmd(cmd, sizeof cmd, path, f->bad[i].seed);
        fprintf(o, "%s\n  {\"seed\": %" PRIu64 ", \"verdict\": \"%s\", \"violation\": ", i ? "," : "", f->bad[i].seed,
                verdict_word(f->bad[i].verdict));
        ci_json_string(o, f->bad[i].why);
        fputs(", \"replay\": ", o);
        ci_json_string(o, cmd);
        fputc('}', o);
    }
    fprintf(o, "],\n \"failing_seeds_listed\": %" PRIu64 "}\n", f->nbad);
}

/* The swarm as JUnit XML: a testcase per seed that ran. A failing seed
 * beyond the ones kept one by one carries its group's example. */
static void write_junit(FILE *o, const findings *f, const char *path, uint64_t first, uint64_t count, double dt,
                        const uint64_t by_kind[3])
{
    char suite[1100], cls[1100];
    snprintf(suite, sizeof suite, "jetsim swarm %s", path);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t blen = strlen(base);
    if (blen > 4 && strcmp(base + blen - 4, ".scn") == 0)
        blen -= 4;
    snprintf(cls, sizeof cls, "jetsim.swarm.%.*s", (int)blen, base); /* a dot-separated name: no path in it */
    uint64_t ran = 0;
    for (uint64_t i = 0; i < count; i++)
        ran += f->verdicts[i] != 254;
    ci_junit_begin(o, suite, ran, by_kind[0] + by_kind[1], by_kind[2], 0, dt);
    uint64_t k = 0; /* f->bad is sorted by seed */
    for (uint64_t i = 0; i < count; i++) {
        uint64_t seed = first + i;
        if (f->verdicts[i] == 254)
            continue; /* never ran */
        char name[64], cmd[1200], detail[1800];
        snprintf(name, sizeof name, "seed %" PRIu64, seed);
        while (k < f->nbad && f->bad[k].seed < seed)
            k++;
        if (f->verdicts[i] == 0) {
            ci_junit_case(o, cls, name, NULL, NULL, NULL);
            continue;
        }
        const char *why = k < f->nbad && f->bad[k].seed == seed ? f->bad[k].why : "(not kept: see --list limits)";
        int v = f->verdicts[i] == 255 ? -1 : f->verdicts[i] - 1;
        replay_cmd(cmd, sizeof cmd, path, seed);
        snprintf(detail, sizeof detail, "%s\nreplay: %s", why, cmd);
        ci_junit_case(o, cls, name, v < 0 ? "harness error" : verdict_word(v), why, detail);
    }
    ci_junit_end(o);
}

/* Writes the --json and --junit files; false when one could not be. */
static bool write_ci(const findings *f, const sim_swarm_options *opt, const char *path, uint64_t first,
                     uint64_t count, uint64_t done, double dt, const uint64_t by_kind[3], int rc)
{
    bool ok = true;
    FILE *o;
    if (opt->out.json && (o = ci_open(opt->out.json, "jetsim swarm")) != NULL) {
        write_json(o, f, path, first, done, dt, by_kind, rc);
        ok &= ci_close(o, opt->out.json, "jetsim swarm");
    } else if (opt->out.json) {
        ok = false;
    }
    if (opt->out.junit && f->verdicts && (o = ci_open(opt->out.junit, "jetsim swarm")) != NULL) {
        write_junit(o, f, path, first, count, dt, by_kind);
        ok &= ci_close(o, opt->out.junit, "jetsim swarm");
    } else if (opt->out.junit) {
        ok = false;
    }
    return ok;
}

/* What sim_swarm_tally_* keep: the findings and the counts so far. */
struct sim_swarm_tally {
    findings f;
    sim_swarm_options opt;
    uint64_t first, count;
    uint64_t done, failed;
    uint64_t safety, liveness, harness; /* failed, by kind: harness errors gave no verdict */
    bool oom;
    bool tty;
};

sim_swarm_tally *sim_swarm_tally_new(uint64_t first, uint64_t count, const sim_swarm_options *o)
{
    sim_swarm_tally *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->opt = o ? *o : (sim_swarm_options){0};
    t->first = first;
    t->count = count;
    t->tty = isatty(STDERR_FILENO);
    t->f.bad = calloc(count < KEEP_MAX ? count : KEEP_MAX, sizeof *t->f.bad);
    t->f.verdicts = t->opt.out.junit ? malloc(count) : NULL;
    if (!t->f.bad || (t->opt.out.junit && !t->f.verdicts)) {
        sim_swarm_tally_free(t);
        return NULL;
    }
    if (t->f.verdicts)
        memset(t->f.verdicts, 254, count); /* not run (yet) */
    return t;
}

void sim_swarm_tally_add(sim_swarm_tally *t, const sim_swarm_record *rec)
{
    findings *f = &t->f;
    t->done++;
    if (f->verdicts && rec->seed >= t->first && rec->seed - t->first < t->count)
        f->verdicts[rec->seed - t->first] = rec->verdict == SIM_PASS ? 0 : rec->verdict < 0 ? 255
                                                                        : (unsigned char)(1 + rec->verdict);
    if (rec->verdict != SIM_PASS) {
        t->failed++;
        t->safety += rec->verdict == SIM_SAFETY_VIOLATION;
        t->liveness += rec->verdict == SIM_LIVENESS_FAILURE;
        t->harness += rec->verdict != SIM_SAFETY_VIOLATION && rec->verdict != SIM_LIVENESS_FAILURE;
        if (f->nbad < KEEP_MAX)
            f->bad[f->nbad++] = *rec;
        t->oom |= !group_add(f, rec);
    }
    if (t->tty)
        fprintf(stderr, "\r%" PRIu64 "/%" PRIu64 " seeds, %" PRIu64 " failed", t->done, t->count, t->failed);
}

uint64_t sim_swarm_tally_done(const sim_swarm_tally *t)
{
    return t->done;
}

int sim_swarm_tally_report(sim_swarm_tally *t, const sim_scenario *sc, const char *path, double dt)
{
    findings *f = &t->f;
    if (t->tty)
        fputc('\n', stderr);
    if (f->ngroups) /* qsort wants an array, even of none */
        qsort(f->groups, f->ngroups, sizeof *f->groups, by_count);
    if (f->nbad)
        qsort(f->bad, f->nbad, sizeof *f->bad, by_seed);
    printf("swarm: %" PRIu64 " seeds in %.2f s, %" PRIu64 " failed: %" PRIu64 " safety, %" PRIu64 " liveness, %"
           PRIu64 " harness errors\n", t->done, dt, t->failed, t->safety, t->liveness, t->harness);
    bool pages = print_groups(f, sc, path, t->opt.reports);
    if (t->opt.list)
        print_list(f, path);
    if (f->nbad < t->failed && (t->opt.list || t->opt.out.json || t->opt.out.junit))
        printf("  (%" PRIu64 " failing seeds listed one by one, of %" PRIu64 ")\n", f->nbad, t->failed);
    if (t->oom)
        fprintf(stderr, "jetsim swarm: out of memory grouping the failing seeds: the groups are incomplete\n");
    /* the gravest finding decides; a harness error only says some seeds got no verdict */
    int rc = t->safety ? SIM_EXIT_SAFETY : t->liveness ? SIM_EXIT_LIVENESS : t->harness ? SIM_EXIT_HARNESS
                                                                                       : SIM_EXIT_PASS;
    if (t->done < t->count || (!pages && rc == SIM_EXIT_PASS))
        rc = SIM_EXIT_HARNESS;
    const uint64_t by_kind[3] = {t->safety, t->liveness, t->harness};
    if (!write_ci(f, &t->opt, path, t->first, t->count, t->done, dt, by_kind, rc) && rc == SIM_EXIT_PASS)
        rc = SIM_EXIT_HARNESS; /* CI asked for a file it will not find: not a pass */
    return rc;
}

void sim_swarm_tally_free(sim_swarm_tally *t)
{
    if (!t)
        return;
    free(t->f.bad);
    free(t->f.groups);
    free(t->f.verdicts);
    free(t);
}

static int swarm(const sim_scenario *sc, const char *path, uint64_t first, uint64_t count, int jobs,
                 const sim_swarm_options *opt)
{
    if (jobs <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = n > 0 ? (int)n : 1;
    }
    if ((uint64_t)jobs > count)
        jobs = count ? (int)count : 1; /* no worker without a seed */
    child *kids = calloc((size_t)jobs, sizeof *kids);
    struct pollfd *pf = calloc((size_t)jobs, sizeof *pf);
    int *map = calloc((size_t)jobs, sizeof *map);
    sim_swarm_tally *t = sim_swarm_tally_new(first, count, opt);
    if (!kids || !pf || !map || !t) {
        free(kids);
        free(pf);
        free(map);
        sim_swarm_tally_free(t);
        fprintf(stderr, "jetsim swarm: out of memory\n");
        return SIM_EXIT_USAGE;
    }
    uint64_t next = first;
    char spawn_err[128] = ""; /* why a runner could not be started: no more are */
    double t0 = now_s();
    printf("swarm: %s, seeds %" PRIu64 "..%" PRIu64 ", %d at a time\n", path, first, first + count - 1, jobs);
    fflush(stdout); /* a runner is a fork: it must not inherit what the parent has yet to write */
    while (t->done < count) {
        /* every idle runner gets the next seed; one with none left goes */
        for (int i = 0; i < jobs; i++) {
            child *c = &kids[i];
            if (!c->r && next < first + count && !spawn_err[0] && sim_runner_new(&c->r, sc) != PS_OK)
                snprintf(spawn_err, sizeof spawn_err, "%s", ps_last_error());
            if (!c->r || c->busy)
                continue;
            if (next == first + count) {
                sim_runner_free(c->r);
                c->r = NULL;
                continue;
            }
            c->seed = next++;
            c->busy = true;
            if (sim_runner_send(c->r, c->seed) != PS_OK) { /* it died between two seeds */
                record rec;
                sim_runner_read(c->r, c->seed, &rec, NULL); /* its end, as this seed's harness error */
                sim_runner_free(c->r);
                *c = (child){0};
                sim_swarm_tally_add(t, &rec);
            }
        }
        int n = 0;
        for (int i = 0; i < jobs; i++)
            if (kids[i].r && kids[i].busy) {
                pf[n] = (struct pollfd){sim_runner_fd(kids[i].r), POLLIN, 0};
                map[n++] = i;
            }
        if (n == 0)
            break; /* no runner, and none can be started */
        if (poll(pf, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int k = 0; k < n; k++) {
            if (!pf[k].revents)
                continue;
            child *c = &kids[map[k]];
            record rec;
            if (sim_runner_read(c->r, c->seed, &rec, NULL) != PS_OK) {
                sim_runner_free(c->r); /* the next round starts another */
                *c = (child){0};
            } else {
                c->busy = false;
            }
            sim_swarm_tally_add(t, &rec);
        }
    }
    for (int i = 0; i < jobs; i++)
        sim_runner_free(kids[i].r);
    uint64_t done = t->done;
    int rc = sim_swarm_tally_report(t, sc, path, now_s() - t0);
    free(kids);
    free(pf);
    free(map);
    sim_swarm_tally_free(t);
    if (done < count) {
        /* Seeds that never ran are not seeds that passed. */
        fprintf(stderr, "jetsim swarm: harness error: %" PRIu64 " of %" PRIu64 " seeds never ran (seed %" PRIu64
                " could not start: %s)\n", count - done, count, first + done,
                spawn_err[0] ? spawn_err : "poll failed");
    }
    return rc;
}

int sim_swarm(const char *path, uint64_t first, uint64_t count, int jobs, const sim_swarm_options *o)
{
    const sim_swarm_options none = {0};
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
        rc = swarm(sc, path, first, count, jobs, o ? o : &none);
    }
    sim_scenario_free(sc);
    return rc;
}
