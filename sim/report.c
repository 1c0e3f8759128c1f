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

#include "engine.h"
#include <sqlite3.h>
#include "scenario.h"

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *n = realloc(buf, cap);
            if (!n)
                break;
            buf = n;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static int report(const sim_result *r, const char *db_path);

static int run_text(const char *name, const char *text, uint64_t seed, const char *db_path, sim_result *r,
                    bool record, bool mix)
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
    ps_status s = (record ? sim_run_recorded : sim_run)(&sc, text, seed, db_path ? db_path : ":memory:",
                                                        stdout, r);
    if (s != PS_OK) {
        fprintf(stderr, "jetsim: harness error: %s: %s\n", ps_status_name(s), ps_last_error());
        return SIM_EXIT_USAGE;
    }
    return -1;
}

int sim_report_run(const char *path, uint64_t seed, const char *db_path, bool mix)
{
    char *text = read_all(path);
    if (!text) {
        fprintf(stderr, "jetsim run: %s: cannot open: %s\n", path, strerror(errno));
        return SIM_EXIT_USAGE;
    }
    printf("seed: %" PRIu64 "  (replay: jetsim run %s --seed %" PRIu64 "%s)\n", seed, path, seed,
           mix ? " --mix" : "");
    sim_result r;
    int rc = run_text(path, text, seed, db_path, &r, false, mix);
    free(text);
    return rc >= 0 ? rc : report(&r, db_path);
}

int sim_report_check_determinism(const char *path, uint64_t seed)
{
    static sim_scenario sc;
    char *text = read_all(path);
    if (!text || sim_scenario_parse(&sc, path, text, strlen(text)) != PS_OK) {
        fprintf(stderr, "jetsim run: %s\n", text ? ps_last_error() : strerror(errno));
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
        sqlite3_prepare_v2(db, "SELECT scenario, seed, (SELECT count(*) FROM trace) FROM run", -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        fprintf(stderr, "jetsim replay: %s: not a jetsim run database (%s)\n", db_path, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        sqlite3_close(db);
        return SIM_EXIT_USAGE;
    }
    char *text = strdup((const char *)sqlite3_column_text(st, 0));
    uint64_t seed = (uint64_t)sqlite3_column_int64(st, 1);
    int64_t rows = sqlite3_column_int64(st, 2);
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (!text)
        return SIM_EXIT_USAGE;
    char name[512];
    snprintf(name, sizeof name, "%s(scenario)", db_path);
    printf("replaying %s: seed %" PRIu64 "\n", db_path, seed);
    sim_result r;
    int rc = run_text(name, text, seed, NULL, &r, true, false);
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
