/* bench_dbvfs.c — what a commit costs on the simulation VFS (sim/dbvfs.h):
 * the database half of issue 13's budget of 100,000 user jobs a second, each
 * job one SQLite insert. One prepared INSERT of a 100-byte row into a table
 * with a unique index, in its own transaction (autocommit), 50,000 times,
 * one core, wall time (CLOCK_MONOTONIC), median of 5; no faults armed.
 *
 * Output, one line per configuration (scripts read these lines):
 *   dbvfs.commits_per_s.<journal>_<sync>: <N>   through the VFS
 *   dbvfs.commits_per_s.sqlite_memory: <N>      SQLite's own :memory:
 *                                               database, no VFS at all
 * where delete_full is the rollback journal (DELETE) with
 * synchronous=FULL, the durable default a user's schema would have;
 * delete_off never syncs; wal_normal is WAL (exclusive locking, as the
 * VFS requires) with synchronous=NORMAL.
 *
 * Not a test: it exits 1 only if a run does not commit every row.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "bench_util.h"

#include "dbvfs.h"

#define RUNS 5
#define ROWS 50000

typedef struct config {
    const char *label;
    const char *pragmas;
    bool in_vfs;
} config;

static const config configs[] = {
    {"delete_full", "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL", true},
    {"delete_off", "PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF", true},
    {"wal_normal", "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", true},
    {"sqlite_memory", "", false},
};


/* One run: commits per second, or -1 on any error. */
static double run_once(const config *c, int run, ps_clock *clock)
{
    char name[32];
    snprintf(name, sizeof name, "bench-%d", run);
    sim_dbvfs *v = NULL;
    if (c->in_vfs && sim_dbvfs_new(&v, name, (uint64_t)run, clock) != PS_OK)
        return -1;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    double rate = -1;
    int rc = sqlite3_open_v2(c->in_vfs ? "jobs.db" : ":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                             c->in_vfs ? sim_dbvfs_name(v) : NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, c->pragmas, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "CREATE TABLE jobs(id INTEGER PRIMARY KEY, job_id TEXT UNIQUE, body TEXT)", NULL, NULL,
                          NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "INSERT INTO jobs(job_id, body) VALUES (?1, ?2)", -1, &st, NULL);
    char job_id[32], body[101];
    memset(body, 'x', 100);
    body[100] = '\0';
    double t0 = now_s();
    for (int i = 0; rc == SQLITE_OK && i < ROWS; i++) {
        snprintf(job_id, sizeof job_id, "job-%08d", i);
        sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, body, 100, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(st);
    }
    double dt = now_s() - t0;
    if (rc == SQLITE_OK)
        rate = ROWS / dt;
    else
        fprintf(stderr, "bench_dbvfs: %s: %s\n", c->label, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    sim_dbvfs_free(v);
    return rate;
}


int main(void)
{
    ps_clock *clock = ps_clock_manual_new(0);
    if (!clock)
        return 1;
    for (size_t i = 0; i < sizeof configs / sizeof *configs; i++) {
        double rates[RUNS];
        for (int r = 0; r < RUNS; r++) {
            rates[r] = run_once(&configs[i], r, clock);
            if (rates[r] < 0) {
                ps_clock_free(clock);
                return 1;
            }
        }
        qsort(rates, RUNS, sizeof *rates, cmp_double);
        printf("dbvfs.commits_per_s.%s: %.0f\n", configs[i].label, rates[RUNS / 2]);
    }
    ps_clock_free(clock);
    return 0;
}
