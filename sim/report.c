/* report.c — `jetsim run` (see report.h): what a user reads first is the
 * seed (to replay the run), then a summary table, then the verdict with
 * the first job that broke a check.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>
#include <unistd.h>

#include "diff.h"
#include "engine.h"
#include "scenario.h"
#include "servers.h"

/* The largest scenario file read (the parser's own limit is the same). */
#define REPORT_FILE_MAX (4u << 20)

/* Reads a scenario file into a NUL-terminated malloc'd string. On failure
 * returns NULL with the reason in ps_last_error(): cannot open, a
 * directory, a read error, or more than REPORT_FILE_MAX bytes (so
 * /dev/zero or a log file is refused, not read until memory runs out). */
static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ps_error(PS_ERR_IO, 0, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(f);
        ps_error(PS_ERR_INVALID_ARG, 0, "%s: is a directory, not a scenario file", path);
        return NULL;
    }
    char *buf = malloc(REPORT_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        ps_error(PS_ERR_NO_MEMORY, 0, "%s: out of memory", path);
        return NULL;
    }
    size_t len = fread(buf, 1, REPORT_FILE_MAX + 1, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err || len > REPORT_FILE_MAX) {
        if (err)
            ps_error(PS_ERR_IO, 0, "%s: read error: %s", path, strerror(err));
        else
            ps_error(PS_ERR_INVALID_ARG, 0, "%s: larger than 4 MiB, the most a scenario may be", path);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

static int report(const sim_result *r, const char *db_path);

/* Servers for a run away from the model: spawned (and the signal trap
 * set, so a Ctrl-C leaves none behind) or named by --url. */
static int target_open(const sim_where *w, sim_target *t)
{
    memset(t, 0, sizeof *t);
    if (!w || !w->jetstream)
        return 0;
    t->jetstream = true;
    t->url = w->url;
    t->time_scale = w->time_scale >= 1 ? w->time_scale : 1;
    sim_servers_trap_signals(); /* a Ctrl-C ends the run cleanly: servers stopped, or the run's streams deleted */
    if (w->spawn) {
        ps_status s = sim_servers_start(&t->servers, w->spawn, stdout);
        if (s) {
            fprintf(stderr, "jetsim: cannot start nats-server: %s\n", ps_last_error());
            return sim_servers_interrupted() ? SIM_EXIT_INTERRUPTED : SIM_EXIT_USAGE;
        }
    } else if (!t->url) {
        t->url = getenv("NATS_URL");
        if (!t->url || !*t->url)
            t->url = "nats://127.0.0.1:4222";
    }
    return 0;
}

static void target_close(sim_target *t)
{
    sim_servers_stop(t->servers);
    t->servers = NULL;
}

static const char *target_name(const sim_where *w)
{
    if (!w || !w->jetstream)
        return "memory model, virtual time";
    return w->spawn == 3 ? "jetstream, 3-node cluster spawned by jetsim"
         : w->spawn      ? "jetstream, nats-server spawned by jetsim"
                         : "jetstream, existing server";
}

static int run_text(const char *name, const char *text, uint64_t seed, const char *db_path, sim_result *r,
                    bool record, bool mix, const sim_target *t)
{
    static sim_scenario sc;
    if (sim_scenario_parse(&sc, name, text, strlen(text)) != PS_OK) {
        fprintf(stderr, "jetsim: %s\n", ps_last_error());
        return SIM_EXIT_USAGE;
    }
    if (mix) {
        sim_scenario_mix(&sc, seed);
        printf("fault mix for seed %" PRIu64 ":\n", seed);
        for (int i = 0; i < sc.nfaults; i++)
            printf("  at %.3f s %s (line %d)\n", (double)sc.faults[i].at_ns / 1e9,
                   sim_fault_name(sc.faults[i].kind), sc.faults[i].pos.line);
    }
    ps_status s = record ? sim_run_recorded(&sc, text, seed, db_path ? db_path : ":memory:", stdout, r)
                         : sim_run_on(&sc, text, seed, db_path ? db_path : ":memory:", stdout, t, r);
    if (s != PS_OK && sim_servers_interrupted()) {
        fprintf(stderr, "jetsim: interrupted: the run stopped (spawned servers stopped, a --url run's streams deleted)\n");
        return SIM_EXIT_INTERRUPTED;
    }
    if (s != PS_OK) {
        fprintf(stderr, "jetsim: %s: %s: %s\n", s == PS_ERR_INVALID_ARG ? name : "harness error",
                ps_status_name(s), ps_last_error());
        return SIM_EXIT_USAGE;
    }
    return -1;
}

int sim_report_run(const char *path, uint64_t seed, const char *db_path, bool mix, const sim_where *where)
{
    char *text = read_all(path);
    if (!text) {
        fprintf(stderr, "jetsim run: %s\n", ps_last_error());
        return SIM_EXIT_USAGE;
    }
    printf("seed: %" PRIu64 "  (replay: jetsim run %s --seed %" PRIu64 "%s)\n", seed, path, seed,
           mix ? " --mix" : "");
    printf("backend: %s", target_name(where));
    if (where && where->jetstream)
        printf(", time scale %g (not deterministic: the seed fixes the workload and faults, not the timing)",
               where->time_scale >= 1 ? where->time_scale : 1);
    printf("\n");
    sim_target t;
    int rc = target_open(where, &t);
    sim_result r;
    if (rc == 0)
        rc = run_text(path, text, seed, db_path, &r, false, mix, &t);
    target_close(&t);
    free(text);
    return rc >= 0 ? rc : report(&r, db_path);
}

int sim_report_diff(const char *path, uint64_t seed, const sim_where *where, bool strip_faults, const char *keep_dir)
{
    static sim_scenario sc;
    char *text = read_all(path);
    if (!text || sim_scenario_parse(&sc, path, text, strlen(text)) != PS_OK) {
        fprintf(stderr, "jetsim diff: %s\n", ps_last_error());
        free(text);
        return SIM_EXIT_USAGE;
    }
    if (strip_faults)
        sc.nfaults = 0;
    char dir[512], a[600], b[600];
    struct stat sb;
    if (keep_dir && (stat(keep_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        /* Refused before any run: the databases could not be kept there. */
        fprintf(stderr, "jetsim diff: --keep %s: %s\n", keep_dir,
                errno == ENOENT || errno == 0 ? "no such directory" : strerror(errno));
        free(text);
        return SIM_EXIT_USAGE;
    }
    if (keep_dir) {
        snprintf(dir, sizeof dir, "%s", keep_dir);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/jetsim-diff-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            fprintf(stderr, "jetsim diff: cannot create %s: %s\n", dir, strerror(errno));
            free(text);
            return SIM_EXIT_USAGE;
        }
    }
    snprintf(a, sizeof a, "%s/model.db", dir);
    snprintf(b, sizeof b, "%s/server.db", dir);
    printf("diff: %s seed %" PRIu64 "%s: the memory model against %s\n", path, seed,
           strip_faults ? " without its faults" : "", target_name(where));
    sim_target t;
    int rc = target_open(where, &t);
    sim_result ra, rb;
    ps_status s = PS_OK;
    if (rc == 0) {
        s = sim_run_on(&sc, text, seed, a, NULL, NULL, &ra);
        if (!s)
            s = sim_run_on(&sc, text, seed, b, stdout, &t, &rb);
        if (s)
            rc = sim_servers_interrupted() ? SIM_EXIT_INTERRUPTED : SIM_EXIT_USAGE;
    }
    target_close(&t);
    if (s)
        fprintf(stderr, "jetsim diff: %s\n", ps_last_error());
    if (rc == 0) {
        printf("  %-26s model %s, server %s\n", "verdicts", ra.verdict == SIM_PASS ? "PASS" : "FAIL",
               rb.verdict == SIM_PASS ? "PASS" : "FAIL");
        int d = sim_diff_dbs(a, b, &sc, stdout);
        if (d < 0) {
            fprintf(stderr, "jetsim diff: %s\n", ps_last_error());
            rc = SIM_EXIT_USAGE;
        } else {
            printf("%s\n", d == 0 ? "no divergence" : "DIVERGED");
            rc = d == 0 ? 0 : 1;
        }
    }
    if (keep_dir) {
        if (s == PS_OK && rc != SIM_EXIT_USAGE)
            printf("run databases: %s, %s\n", a, b);
        else
            printf("run databases: not complete (the runs did not finish)\n");
    } else {
        unlink(a);
        unlink(b);
        rmdir(dir);
    }
    free(text);
    return rc;
}

int sim_report_check_determinism(const char *path, uint64_t seed)
{
    static sim_scenario sc;
    char *text = read_all(path);
    if (!text || sim_scenario_parse(&sc, path, text, strlen(text)) != PS_OK) {
        fprintf(stderr, "jetsim run: %s\n", ps_last_error());
        free(text);
        return SIM_EXIT_USAGE;
    }
    sim_result a, b;
    ps_status s = sim_run_recorded(&sc, text, seed, ":memory:", NULL, &a);
    if (!s)
        s = sim_run_recorded(&sc, text, seed, ":memory:", NULL, &b);
    free(text);
    if (s) {
        fprintf(stderr, "jetsim run: harness error: %s\n", ps_last_error());
        return SIM_EXIT_USAGE;
    }
    size_t n = a.nhashes < b.nhashes ? a.nhashes : b.nhashes, i = 0;
    while (i < n && a.hashes[i] == b.hashes[i])
        i++;
    int rc;
    if (i == n && a.nhashes == b.nhashes) {
        printf("deterministic: two runs with seed %" PRIu64 " gave the same %zu trace events (hash %016" PRIx64 ")\n",
               seed, a.nhashes, a.trace_hash);
        rc = 0;
    } else {
        printf("NOT deterministic: the runs part at trace event %zu (of %zu and %zu)\n", i + 1, a.nhashes,
               b.nhashes);
        rc = 1;
    }
    free(a.hashes);
    free(b.hashes);
    return rc;
}

int sim_report_replay(const char *db_path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT scenario, seed, (SELECT count(*) FROM trace), backend FROM run", -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        fprintf(stderr, "jetsim replay: %s: not a jetsim run database (%s)\n", db_path, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        sqlite3_close(db);
        return SIM_EXIT_USAGE;
    }
    /* A database written by something else may hold NULLs: refused, not
     * read through a NULL pointer. */
    const char *scenario = (const char *)sqlite3_column_text(st, 0);
    const char *backend_text = (const char *)sqlite3_column_text(st, 3);
    char *text = scenario ? strdup(scenario) : NULL;
    uint64_t seed = (uint64_t)sqlite3_column_int64(st, 1);
    int64_t rows = sqlite3_column_int64(st, 2);
    char backend[200];
    snprintf(backend, sizeof backend, "%s", backend_text ? backend_text : "memory");
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (!text) {
        fprintf(stderr, "jetsim replay: %s: %s\n", db_path,
                scenario ? "out of memory" : "not a jetsim run database (run.scenario is NULL)");
        return SIM_EXIT_USAGE;
    }
    char name[512];
    snprintf(name, sizeof name, "%s(scenario)", db_path);
    printf("replaying %s: seed %" PRIu64 "\n", db_path, seed);
    if (strcmp(backend, "memory") != 0)
        printf("note: that run was on a real server (%s); its timing is not in the seed, so this replay on the "
               "model is the same scenario and seed, not the same history\n", backend);
    sim_result r;
    int rc = run_text(name, text, seed, NULL, &r, true, false, NULL);
    free(text);
    if (rc >= 0)
        return rc;
    free(r.hashes);
    printf("%-28s %" PRId64 " recorded, %zu replayed%s\n", "trace rows", rows, r.nhashes,
           (int64_t)r.nhashes == rows ? "" : " (DIFFERENT)");
    return report(&r, NULL);
}

static int report(const sim_result *rp, const char *db_path)
{
    sim_result r = *rp;
    printf("%-28s %" PRIu64 "\n", "jobs published (PubAck)", r.jobs_published);
    printf("%-28s %" PRIu64 "\n", "publishes given up", r.publish_failures);
    printf("%-28s %" PRIu64 "\n", "jobs done", r.jobs_done);
    printf("%-28s %" PRIu64 "\n", "jobs failed (terminated)", r.jobs_failed);
    printf("%-28s %" PRIu64 "\n", "lost", r.lost);
    printf("%-28s %" PRIu64 "\n", "completed twice", r.double_completed);
    printf("%-28s %" PRIu64 "\n", "over attempts", r.over_attempts);
    printf("%-28s %" PRIu64 "\n", "stored twice (dedup)", r.dedup_failures);
    printf("%-28s %" PRIu64 "\n", "out of key order", r.order_failures);
    printf("%-28s %.3f s\n", "virtual time", (double)r.end_ns / 1e9);
    printf("%-28s %" PRIu64 "\n", "events", r.events);
    printf("%-28s %016" PRIx64 "\n", "trace hash", r.trace_hash);
    if (db_path)
        printf("%-28s %s\n", "database", db_path);
    switch (r.verdict) {
    case SIM_PASS:
        printf("PASS\n");
        return SIM_EXIT_PASS;
    case SIM_SAFETY_VIOLATION:
        printf("FAIL (safety): %s\n", r.first_violation);
        return SIM_EXIT_SAFETY;
    default:
        printf("FAIL (liveness): %s\n", r.first_violation);
        return SIM_EXIT_LIVENESS;
    }
}
