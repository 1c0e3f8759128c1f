/* test_dbvfs.c — unit tests of sim/dbvfs.c, the fault-injecting in-memory
 * SQLite VFS: real SQLite databases opened through it, checked for
 * locking between connections, recovery after a power loss, faults that
 * never corrupt what SQLite reported committed, disk full, virtual time
 * and determinism by seed.
 *
 * Not: a test of SQLite itself. Where a test needs SQLite's answer (the
 * journal mode it accepts, an extended error code), it pins the answer
 * SQLite gives on this VFS.
 */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "dbvfs.h"
#include "ps_clock.h"
#include "ps_status.h"

typedef struct fixture {
    ps_clock *clock;
    sim_dbvfs *v;
} fixture;

/* The outcome of a workload of many small transactions under faults, as
 * SQLite reported it. */
typedef struct workload_result {
    int committed, failed;
    uint8_t outcome[4000]; /* 1 committed, 2 reported failed */
} workload_result;

static int setup(void **state)
{
    static fixture fx;
    fx.clock = ps_clock_manual_new(0);
    if (!fx.clock || sim_dbvfs_new(&fx.v, "test-dbvfs", 42, fx.clock) != PS_OK)
        return -1;
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    sim_dbvfs_free(fx->v);
    ps_clock_free(fx->clock);
    return 0;
}

static sqlite3 *open_db(sim_dbvfs *v, const char *path)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, sim_dbvfs_name(v));
    if (rc != SQLITE_OK)
        fail_msg("open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_extended_result_codes(db, 1);
    return db;
}

/* Opens under faults: opening reads the header, which a read fault can
 * fail; a host that comes back tries again. */
static sqlite3 *open_db_retrying(sim_dbvfs *v, const char *path)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, sim_dbvfs_name(v)) == SQLITE_OK) {
            sqlite3_extended_result_codes(db, 1);
            return db;
        }
        sqlite3_close(db);
    }
    fail_msg("open %s: failed 100 times", path);
    return NULL;
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static void exec_ok(sqlite3 *db, const char *sql)
{
    int rc = exec(db, sql);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s (%d)", sql, sqlite3_errmsg(db), rc);
}

/* The first column of the first row as an integer; -1 on any error. */
static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t out = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return out;
}

/* The first column of the first row as text, into buf; "" on error. */
static const char *query_text(sqlite3 *db, const char *sql, char *buf, size_t size)
{
    sqlite3_stmt *st = NULL;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_text(st, 0))
        snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

static void assert_integrity_ok(sqlite3 *db)
{
    char buf[256];
    assert_string_equal(query_text(db, "PRAGMA integrity_check", buf, sizeof buf), "ok");
}

/* ---- arguments and registration --------------------------------------- */

static void test_new_refuses_bad_arguments_and_a_taken_name(void **state)
{
    fixture *fx = *state;
    sim_dbvfs *v = NULL;
    assert_int_equal(sim_dbvfs_new(NULL, "x", 1, fx->clock), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_dbvfs_new(&v, NULL, 1, fx->clock), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_dbvfs_new(&v, "x", 1, NULL), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_dbvfs_new(&v, "", 1, fx->clock), PS_ERR_INVALID_ARG);
    char long_name[100];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(sim_dbvfs_new(&v, long_name, 1, fx->clock), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "1 to 64 bytes"));

    assert_int_equal(sim_dbvfs_new(&v, "test-dbvfs", 1, fx->clock), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "already has a VFS named \"test-dbvfs\""));
    assert_int_equal(sim_dbvfs_new(&v, "unix", 1, fx->clock), PS_ERR_INVALID_ARG);
    assert_null(v);

    /* Registered, but never as the default VFS. */
    assert_ptr_not_equal(sqlite3_vfs_find(NULL), sqlite3_vfs_find("test-dbvfs"));
    sim_dbvfs_free(NULL);
}

static void test_free_unregisters_the_name(void **state)
{
    fixture *fx = *state;
    sim_dbvfs *v = NULL;
    assert_int_equal(sim_dbvfs_new(&v, "short-lived", 1, fx->clock), PS_OK);
    assert_non_null(sqlite3_vfs_find("short-lived"));
    sqlite3 *db = open_db(v, "a.db");
    exec_ok(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1)");
    sqlite3_close(db);
    sim_dbvfs_free(v);
    assert_null(sqlite3_vfs_find("short-lived"));
    /* The name is free again, and the new VFS starts with no files. */
    assert_int_equal(sim_dbvfs_new(&v, "short-lived", 1, fx->clock), PS_OK);
    sqlite3 *db2 = NULL;
    assert_int_equal(sqlite3_open_v2("a.db", &db2, SQLITE_OPEN_READWRITE, "short-lived"), SQLITE_CANTOPEN);
    sqlite3_close(db2);
    sim_dbvfs_free(v);
}

static void test_fail_and_friends_refuse_bad_arguments(void **state)
{
    fixture *fx = *state;
    assert_int_equal(sim_dbvfs_fail(NULL, SIM_DBVFS_WRITE, 10), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_dbvfs_fail(fx->v, 0, 10), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_dbvfs_fail(fx->v, 1u << 7, 10), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "kinds 0x80"));
    assert_int_equal(sim_dbvfs_fail(fx->v, SIM_DBVFS_WRITE, 101), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "percent 101"));
    assert_int_equal(sim_dbvfs_fail(fx->v, SIM_DBVFS_WRITE, -1), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_dbvfs_disk_full(NULL, 10), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_dbvfs_set_torn(NULL, true), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_dbvfs_power_loss(NULL), PS_ERR_INVALID_ARG);
    sim_dbvfs_stats st;
    assert_int_equal(sim_dbvfs_stats_get(NULL, &st), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_dbvfs_stats_get(fx->v, NULL), PS_ERR_INVALID_ARG);
    assert_null(sim_dbvfs_name(NULL));
}

/* ---- files and locks -------------------------------------------------- */

static void test_a_database_lives_in_the_vfs_only(void **state)
{
    fixture *fx = *state;
    char cwd_file[] = "vfs-only.db";
    unlink(cwd_file);
    sqlite3 *db = open_db(fx->v, cwd_file);
    exec_ok(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (3)");
    assert_int_equal(query_int(db, "SELECT sum(x) FROM t"), 6);
    assert_int_equal(access(cwd_file, F_OK), -1); /* nothing on the real disk */

    /* A second connection to the same path sees the same file. */
    sqlite3 *db2 = open_db(fx->v, cwd_file);
    assert_int_equal(query_int(db2, "SELECT count(*) FROM t"), 3);
    sqlite3_close(db2);
    sqlite3_close(db);

    /* Another VFS instance has its own files. */
    sim_dbvfs *other = NULL;
    assert_int_equal(sim_dbvfs_new(&other, "other", 1, fx->clock), PS_OK);
    sqlite3 *db3 = NULL;
    assert_int_equal(sqlite3_open_v2(cwd_file, &db3, SQLITE_OPEN_READWRITE, "other"), SQLITE_CANTOPEN);
    sqlite3_close(db3);
    sim_dbvfs_free(other);
}

/* RESERVED is one writer beside readers; a writer's commit needs the
 * readers gone (PENDING, then EXCLUSIVE); PENDING keeps new readers out. */
static void test_locking_protocol_holds_between_connections(void **state)
{
    fixture *fx = *state;
    sqlite3 *a = open_db(fx->v, "locks.db");
    sqlite3 *b = open_db(fx->v, "locks.db");
    sqlite3 *c = open_db(fx->v, "locks.db");
    exec_ok(a, "CREATE TABLE t(x); INSERT INTO t VALUES (1)");

    exec_ok(a, "BEGIN IMMEDIATE; INSERT INTO t VALUES (2)");
    assert_int_equal(exec(b, "BEGIN IMMEDIATE"), SQLITE_BUSY);
    assert_int_equal(query_int(b, "SELECT count(*) FROM t"), 1); /* reads go on beside RESERVED */

    exec_ok(b, "BEGIN; SELECT count(*) FROM t"); /* b holds SHARED */
    assert_int_equal(query_int(b, "SELECT count(*) FROM t"), 1);
    assert_int_equal(exec(a, "COMMIT"), SQLITE_BUSY); /* a is left at PENDING */
    assert_int_equal(query_int(c, "SELECT count(*) FROM t"), -1);
    assert_int_equal(sqlite3_errcode(c), SQLITE_BUSY); /* no new reader under PENDING */

    exec_ok(b, "COMMIT");
    exec_ok(a, "COMMIT");
    assert_int_equal(query_int(c, "SELECT count(*) FROM t"), 2);
    exec_ok(b, "BEGIN IMMEDIATE; INSERT INTO t VALUES (3); COMMIT");
    assert_int_equal(query_int(a, "SELECT count(*) FROM t"), 3);
    sqlite3_close(a);
    sqlite3_close(b);
    sqlite3_close(c);
}

/* xSleep passes no time: a busy timeout retries, then gives up with
 * SQLITE_BUSY, and virtual time has not moved. */
static void test_busy_timeout_gives_up_without_time_passing(void **state)
{
    fixture *fx = *state;
    sqlite3 *a = open_db(fx->v, "sleep.db");
    sqlite3 *b = open_db(fx->v, "sleep.db");
    exec_ok(a, "CREATE TABLE t(x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1)");
    sqlite3_busy_timeout(b, 5000);
    int64_t before = ps_clock_now(fx->clock);
    assert_int_equal(exec(b, "BEGIN IMMEDIATE"), SQLITE_BUSY);
    assert_int_equal(ps_clock_now(fx->clock), before);
    exec_ok(a, "COMMIT");
    sqlite3_close(a);
    sqlite3_close(b);
}

/* SQLite waits for a lock by retrying: here, for as long as it takes
 * (the other thread will let go). */
static int retry_forever(void *arg, int attempts)
{
    (void)arg;
    (void)attempts;
    sched_yield();
    return 1;
}

typedef struct thread_job {
    sim_dbvfs *v;
    int first, rows;
    int failures;
} thread_job;

static void *insert_rows(void *arg)
{
    thread_job *job = arg;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2("mt.db", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, sim_dbvfs_name(job->v)) !=
        SQLITE_OK) {
        job->failures++;
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_handler(db, retry_forever, NULL);
    char sql[128];
    for (int i = 0; i < job->rows; i++) {
        snprintf(sql, sizeof sql, "BEGIN IMMEDIATE; INSERT INTO t VALUES (%d); COMMIT", job->first + i);
        if (exec(db, sql) != SQLITE_OK)
            job->failures++;
    }
    sqlite3_close(db);
    return NULL;
}

/* Two threads, a connection each, one file: the VFS's mutex and its
 * locks keep every commit. */
static void test_connections_on_two_threads_share_a_file_safely(void **state)
{
    fixture *fx = *state;
    sqlite3 *db = open_db(fx->v, "mt.db");
    exec_ok(db, "CREATE TABLE t(k INTEGER PRIMARY KEY)");
    thread_job jobs[2] = {{fx->v, 1, 400, 0}, {fx->v, 1001, 400, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, insert_rows, &jobs[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(jobs[0].failures + jobs[1].failures, 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 800);
    assert_integrity_ok(db);
    sqlite3_close(db);
}

/* ---- power loss --------------------------------------------------------- */

static const char *const journal_modes[] = {"DELETE", "TRUNCATE", "PERSIST"};

/* One committed and one open transaction, then the power goes: the
 * committed rows are back after reopening, the open one's are not. */
static void committed_survives_open_rolls_back(sim_dbvfs *v, const char *path, const char *mode)
{
    char sql[128];
    sqlite3 *db = open_db(v, path);
    snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s; PRAGMA synchronous=FULL", mode);
    exec_ok(db, sql);
    exec_ok(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)");
    exec_ok(db, "BEGIN; INSERT INTO t(v) SELECT hex(randomblob(200)) FROM "
                "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<100) SELECT i FROM n); COMMIT");
    /* Big enough to spill out of the cache: the database file itself is
     * written before the commit, and the hot journal must undo it. */
    exec_ok(db, "PRAGMA cache_size=10; BEGIN; UPDATE t SET v = 'changed'; "
                "INSERT INTO t(v) SELECT hex(randomblob(300)) FROM t");
    assert_int_equal(sim_dbvfs_power_loss(v), PS_OK);

    /* The old connection's host is gone: its I/O fails. */
    assert_int_not_equal(exec(db, "COMMIT"), SQLITE_OK);
    sqlite3_close_v2(db);

    sqlite3 *again = open_db(v, path);
    if (query_int(again, "SELECT count(*) FROM t") != 100)
        fail_msg("%s (%s) %s: %s", path, mode, sim_dbvfs_name(v), sqlite3_errmsg(again));
    assert_int_equal(query_int(again, "SELECT count(*) FROM t WHERE v = 'changed'"), 0);
    assert_integrity_ok(again);
    sqlite3_close(again);
}

static void test_power_loss_keeps_committed_and_rolls_back_open_transactions(void **state)
{
    fixture *fx = *state;
    for (size_t i = 0; i < sizeof journal_modes / sizeof *journal_modes; i++) {
        char path[64];
        snprintf(path, sizeof path, "clean-%s.db", journal_modes[i]);
        committed_survives_open_rolls_back(fx->v, path, journal_modes[i]);
    }
    sim_dbvfs_stats st;
    assert_int_equal(sim_dbvfs_stats_get(fx->v, &st), PS_OK);
    assert_int_equal(st.power_losses, 3);
    assert_true(st.sectors_lost > 0);
    assert_true(st.dead_handle_errors > 0);
}

/* Torn sectors (old, new or garbage) in every unsynced write: SQLite's
 * journal still recovers, over many seeds. */
static void test_torn_power_loss_keeps_committed_and_rolls_back_open_transactions(void **state)
{
    fixture *fx = *state;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        sim_dbvfs *v = NULL;
        char name[32];
        snprintf(name, sizeof name, "torn-%d", (int)seed);
        assert_int_equal(sim_dbvfs_new(&v, name, seed, fx->clock), PS_OK);
        assert_int_equal(sim_dbvfs_set_torn(v, true), PS_OK);
        for (size_t i = 0; i < sizeof journal_modes / sizeof *journal_modes; i++)
            committed_survives_open_rolls_back(v, journal_modes[i], journal_modes[i]);
        sim_dbvfs_stats st;
        assert_int_equal(sim_dbvfs_stats_get(v, &st), PS_OK);
        assert_true(st.sectors_garbage > 0 && st.sectors_kept > 0 && st.sectors_lost > 0);
        sim_dbvfs_free(v);
    }
}

/* synchronous=OFF never syncs: what it reported committed is gone after a
 * power loss, back to the last synced state. */
static void test_synchronous_off_loses_committed_transactions(void **state)
{
    fixture *fx = *state;
    sqlite3 *db = open_db(fx->v, "off.db");
    exec_ok(db, "PRAGMA synchronous=FULL; CREATE TABLE t(x); INSERT INTO t VALUES (1)");
    exec_ok(db, "PRAGMA synchronous=OFF");
    for (int i = 0; i < 10; i++)
        exec_ok(db, "INSERT INTO t VALUES (2)"); /* each one reported committed */
    assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 11);
    assert_int_equal(sim_dbvfs_power_loss(fx->v), PS_OK);
    sqlite3_close_v2(db);

    db = open_db(fx->v, "off.db");
    assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 1);
    assert_integrity_ok(db);
    sqlite3_close(db);
}

/* Without a shared-memory VFS SQLite keeps its rollback journal, unless
 * the connection locks the database for itself; WAL then recovers too. */
static void test_wal_needs_exclusive_locking_and_then_survives_power_loss(void **state)
{
    fixture *fx = *state;
    char mode[32];
    sqlite3 *db = open_db(fx->v, "wal.db");
    assert_string_equal(query_text(db, "PRAGMA journal_mode=WAL", mode, sizeof mode), "delete");
    sqlite3_close(db);

    db = open_db(fx->v, "wal-x.db");
    exec_ok(db, "PRAGMA locking_mode=EXCLUSIVE");
    assert_string_equal(query_text(db, "PRAGMA journal_mode=WAL", mode, sizeof mode), "wal");
    exec_ok(db, "PRAGMA synchronous=FULL; CREATE TABLE t(x); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)");
    exec_ok(db, "BEGIN; INSERT INTO t VALUES (3)");
    assert_int_equal(sim_dbvfs_power_loss(fx->v), PS_OK);
    sqlite3_close_v2(db);

    db = open_db(fx->v, "wal-x.db");
    exec_ok(db, "PRAGMA locking_mode=EXCLUSIVE");
    assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 2);
    assert_integrity_ok(db);
    sqlite3_close(db);
}

/* What a crash-point run crashes: the power, or the writer's process. */
typedef enum crash_kind { CRASH_POWER, CRASH_PROCESS } crash_kind;

/* One crash-point run: ten transactions on a fresh database, each adding
 * a row to two tables and bumping a counter, with the power lost (or the
 * process crashed) at the n-th write or sync from the first. Records what
 * SQLite reported; stops at the first failure (the crash), whose
 * transaction is in flight. Returns whether the crash happened. */
static bool crash_point_run(ps_clock *clock, crash_kind kind, uint64_t seed, bool torn, const char *mode,
                            uint64_t n, workload_result *r, int *in_flight)
{
    char sql[200];
    sim_dbvfs *v = NULL;
    memset(r, 0, sizeof *r);
    *in_flight = 0;
    assert_int_equal(sim_dbvfs_new(&v, "crash", seed, clock), PS_OK);
    assert_int_equal(sim_dbvfs_set_torn(v, torn), PS_OK);
    assert_int_equal(sim_dbvfs_set_process(v, 1), PS_OK);
    sqlite3 *db = open_db(v, "c.db");
    snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s; PRAGMA synchronous=FULL", mode);
    exec_ok(db, sql);
    exec_ok(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, pad BLOB); CREATE TABLE log(k INTEGER);"
                "CREATE TABLE counter(n INTEGER); INSERT INTO counter VALUES (0)");
    if (kind == CRASH_POWER)
        assert_int_equal(sim_dbvfs_power_loss_at(v, SIM_DBVFS_WRITE | SIM_DBVFS_SYNC, n), PS_OK);
    else
        assert_int_equal(sim_dbvfs_process_crash_at(v, 1, SIM_DBVFS_WRITE | SIM_DBVFS_SYNC, n), PS_OK);
    for (int i = 1; i <= 10 && *in_flight == 0; i++) {
        snprintf(sql, sizeof sql, "BEGIN; INSERT INTO t VALUES (%d, zeroblob(%d)); UPDATE counter SET n = n + 1;"
                 "INSERT INTO log VALUES (%d); COMMIT", i, 300 * i, i);
        if (exec(db, sql) == SQLITE_OK) {
            r->outcome[i] = 1;
            r->committed++;
        } else {
            *in_flight = i;
        }
    }
    sim_dbvfs_stats st;
    assert_int_equal(sim_dbvfs_stats_get(v, &st), PS_OK);
    sqlite3_close_v2(db);

    /* The host is back (or another process looks): committed transactions
     * whole, the one in flight whole or not at all, nothing else. */
    assert_int_equal(sim_dbvfs_set_process(v, 2), PS_OK);
    db = open_db(v, "c.db");
    assert_integrity_ok(db);
    int64_t rows = query_int(db, "SELECT count(*) FROM t");
    assert_int_equal(query_int(db, "SELECT n FROM counter"), rows);
    assert_int_equal(query_int(db, "SELECT count(*) FROM log"), rows);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM t WHERE k > %d", r->committed);
    assert_int_equal(query_int(db, sql), rows - r->committed);
    assert_true(rows == r->committed || (*in_flight && rows == r->committed + 1));
    sqlite3_close(db);
    sim_dbvfs_free(v);
    return st.power_losses + st.process_crashes > 0;
}

/* The power goes at every write and every sync of ten commits in turn (the
 * crash VFS's sweep): SQLite's journal always recovers a database whose
 * committed transactions are all there and whose interrupted one is whole
 * or absent; clean and torn, in the three rollback-journal modes. */
static void test_power_loss_at_every_write_and_sync_of_a_commit(void **state)
{
    fixture *fx = *state;
    static workload_result r;
    int in_flight = 0, points = 0;
    for (size_t m = 0; m < sizeof journal_modes / sizeof *journal_modes; m++) {
        for (int torn = 0; torn <= 1; torn++) {
            uint64_t n = 1;
            while (crash_point_run(fx->clock, CRASH_POWER, n, torn, journal_modes[m], n, &r, &in_flight)) {
                assert_int_not_equal(in_flight, 0);
                points++;
                n++;
            }
            /* Past the last write and sync: all ten went through. */
            assert_int_equal(r.committed, 10);
            assert_true(n > 40);
        }
    }
    print_message("    %d crash points swept\n", points);
}

/* ---- process crashes ---------------------------------------------------- */

/* A worker killed in the middle of a transaction: what it wrote stays
 * (no power was lost, nothing needed a sync), its locks are gone, and the
 * next connection rolls its transaction back from the hot journal. Other
 * processes' connections go on. */
static void test_process_crash_leaves_a_hot_journal_that_the_next_connection_rolls_back(void **state)
{
    fixture *fx = *state;
    assert_int_equal(sim_dbvfs_set_process(fx->v, 1), PS_OK);
    sqlite3 *a = open_db(fx->v, "proc.db");
    exec_ok(a, "PRAGMA synchronous=OFF; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)");
    exec_ok(a, "INSERT INTO t(v) SELECT hex(zeroblob(200)) FROM "
               "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<100) SELECT i FROM n)");
    assert_int_equal(sim_dbvfs_set_process(fx->v, 3), PS_OK);
    sqlite3 *bystander = open_db(fx->v, "proc.db");
    assert_int_equal(query_int(bystander, "SELECT count(*) FROM t"), 100);

    assert_int_equal(sim_dbvfs_set_process(fx->v, 1), PS_OK);
    exec_ok(a, "PRAGMA cache_size=10; BEGIN; UPDATE t SET v = 'changed'");
    assert_int_equal(sim_dbvfs_process_crash(fx->v, 1), PS_OK);
    assert_int_not_equal(exec(a, "COMMIT"), SQLITE_OK);
    sqlite3_close_v2(a);

    /* Unsynced, yet all there: a crash is not a power loss. */
    assert_int_equal(sim_dbvfs_set_process(fx->v, 2), PS_OK);
    sqlite3 *b = open_db(fx->v, "proc.db");
    assert_int_equal(query_int(b, "SELECT count(*) FROM t"), 100);
    assert_int_equal(query_int(b, "SELECT count(*) FROM t WHERE v = 'changed'"), 0);
    assert_integrity_ok(b);
    exec_ok(bystander, "INSERT INTO t(v) VALUES ('after')");
    assert_int_equal(query_int(b, "SELECT count(*) FROM t"), 101);
    sim_dbvfs_stats st;
    assert_int_equal(sim_dbvfs_stats_get(fx->v, &st), PS_OK);
    assert_int_equal(st.process_crashes, 1);
    assert_int_equal(st.power_losses, 0);
    assert_int_equal(sim_dbvfs_process_crash_at(fx->v, 1, SIM_DBVFS_READ, 1), PS_ERR_INVALID_ARG);
    assert_int_equal(sim_dbvfs_process_crash(NULL, 1), PS_ERR_INVALID_ARG);
    sqlite3_close(b);
    sqlite3_close(bystander);
}

/* The worker killed at every write and sync of ten commits in turn (the
 * issue's "crash at the handler's N-th database write"): the next
 * connection always finds the committed transactions and the interrupted
 * one whole or absent. */
static void test_process_crash_at_every_write_and_sync_of_a_commit(void **state)
{
    fixture *fx = *state;
    static workload_result r;
    int in_flight = 0, points = 0;
    for (size_t m = 0; m < sizeof journal_modes / sizeof *journal_modes; m++) {
        uint64_t n = 1;
        while (crash_point_run(fx->clock, CRASH_PROCESS, n, false, journal_modes[m], n, &r, &in_flight)) {
            assert_int_not_equal(in_flight, 0);
            points++;
            n++;
        }
        assert_int_equal(r.committed, 10);
    }
    print_message("    %d crash points swept\n", points);
}

/* ---- faults ------------------------------------------------------------- */

static void test_each_fault_kind_gives_its_error(void **state)
{
    fixture *fx = *state;
    sqlite3 *db = open_db(fx->v, "kinds.db");
    exec_ok(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1)");

    assert_int_equal(sim_dbvfs_fail(fx->v, SIM_DBVFS_WRITE, 100), PS_OK);
    assert_int_equal(exec(db, "INSERT INTO t VALUES (2)"), SQLITE_IOERR_WRITE);
    assert_int_equal(sim_dbvfs_fail(fx->v, SIM_DBVFS_WRITE, 0), PS_OK);

    assert_int_equal(sim_dbvfs_fail(fx->v, SIM_DBVFS_SYNC, 100), PS_OK);
    assert_int_equal(exec(db, "INSERT INTO t VALUES (3)"), SQLITE_IOERR_FSYNC);
    assert_int_equal(sim_dbvfs_fail(fx->v, SIM_DBVFS_SYNC, 0), PS_OK);

    assert_int_equal(sim_dbvfs_fail(fx->v, SIM_DBVFS_LOCK, 100), PS_OK);
    assert_int_equal(exec(db, "INSERT INTO t VALUES (4)"), SQLITE_BUSY);
    assert_int_equal(sim_dbvfs_fail(fx->v, SIM_DBVFS_LOCK, 0), PS_OK);

    /* A new connection must read the schema: its first read fails. */
    sqlite3 *db2 = open_db(fx->v, "kinds.db");
    assert_int_equal(sim_dbvfs_fail(fx->v, SIM_DBVFS_READ, 100), PS_OK);
    assert_int_equal(query_int(db2, "SELECT count(*) FROM t"), -1);
    assert_int_equal(sqlite3_extended_errcode(db2), SQLITE_IOERR_READ);
    assert_int_equal(sim_dbvfs_fail(fx->v, SIM_DBVFS_ALL, 0), PS_OK);

    /* None of the failed statements left a row behind. */
    assert_int_equal(query_int(db2, "SELECT count(*) FROM t"), 1);
    assert_integrity_ok(db);
    sim_dbvfs_stats st;
    assert_int_equal(sim_dbvfs_stats_get(fx->v, &st), PS_OK);
    assert_true(st.write_errors >= 1 && st.sync_errors >= 1 && st.busy_errors >= 1 && st.read_errors >= 1);
    sqlite3_close(db2);
    sqlite3_close(db);
}

static void test_disk_full_refuses_growth_and_keeps_the_database(void **state)
{
    fixture *fx = *state;
    sqlite3 *db = open_db(fx->v, "full.db");
    exec_ok(db, "CREATE TABLE t(b BLOB); INSERT INTO t VALUES (zeroblob(1000))");
    sim_dbvfs_stats st;
    assert_int_equal(sim_dbvfs_stats_get(fx->v, &st), PS_OK);
    assert_int_equal(sim_dbvfs_disk_full(fx->v, st.bytes + 4096), PS_OK);
    assert_int_equal(exec(db, "INSERT INTO t VALUES (zeroblob(100000))"), SQLITE_FULL);
    assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 1);
    assert_integrity_ok(db);

    assert_int_equal(sim_dbvfs_disk_full(fx->v, 0), PS_OK);
    exec_ok(db, "INSERT INTO t VALUES (zeroblob(100000))");
    assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 2);
    assert_int_equal(sim_dbvfs_stats_get(fx->v, &st), PS_OK);
    assert_true(st.full_errors >= 1);
    sqlite3_close(db);
}

/* Inserts row i in its own transaction (two statements, so the commit is
 * an explicit COMMIT) and records what SQLite said. A failed COMMIT that
 * leaves the transaction open is rolled back. Every 500 transactions the
 * power goes, and the connection is reopened. */
static void run_faulted_workload(sim_dbvfs *v, const char *path, const char *mode, unsigned kinds, int n,
                                 workload_result *r)
{
    char sql[160];
    memset(r, 0, sizeof *r);
    sqlite3 *db = open_db(v, path);
    snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s; PRAGMA synchronous=FULL", mode);
    exec_ok(db, sql);
    exec_ok(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, pad TEXT); CREATE TABLE log(k INTEGER)");
    assert_int_equal(sim_dbvfs_fail(v, kinds, 10), PS_OK);
    for (int i = 1; i <= n; i++) {
        snprintf(sql, sizeof sql, "BEGIN; INSERT INTO t VALUES (%d, hex(zeroblob(%d))); INSERT INTO log VALUES (%d);",
                 i, 50 + i % 700, i);
        int rc = exec(db, sql);
        if (rc == SQLITE_OK)
            rc = exec(db, "COMMIT");
        if (rc == SQLITE_OK) {
            r->outcome[i] = 1;
            r->committed++;
        } else {
            r->outcome[i] = 2;
            r->failed++;
            if (!sqlite3_get_autocommit(db))
                exec(db, "ROLLBACK");
        }
        if (i % 500 == 0) {
            assert_int_equal(sim_dbvfs_power_loss(v), PS_OK);
            sqlite3_close_v2(db);
            db = open_db_retrying(v, path);
            exec(db, "PRAGMA synchronous=FULL");
        }
    }
    assert_int_equal(sim_dbvfs_fail(v, SIM_DBVFS_ALL, 0), PS_OK);
    sqlite3_close_v2(db);
}

/* Checks the database against what SQLite reported: the file is sound,
 * every committed transaction is there whole (a row in both tables), and
 * returns how many that SQLite reported failed are there too. */
static int check_reported_outcomes(sim_dbvfs *v, const char *path, int n, const workload_result *r)
{
    sqlite3 *db = open_db(v, path);
    assert_integrity_ok(db);
    assert_int_equal(query_int(db, "SELECT count(*) FROM t WHERE k NOT IN (SELECT k FROM log)"), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM log WHERE k NOT IN (SELECT k FROM t)"), 0);
    int present = 0, invented = 0;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT k FROM t", -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int k = sqlite3_column_int(st, 0);
        assert_true(k >= 1 && k <= n);
        if (r->outcome[k] == 1)
            present++;
        else
            invented++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(present, r->committed);
    return invented;
}

static void test_write_and_sync_faults_never_lose_or_invent_a_commit(void **state)
{
    fixture *fx = *state;
    static workload_result r;
    enum { N = 3000 };
    run_faulted_workload(fx->v, "faulted.db", "DELETE", SIM_DBVFS_WRITE | SIM_DBVFS_SYNC, N, &r);
    assert_int_equal(check_reported_outcomes(fx->v, "faulted.db", N, &r), 0);
    sim_dbvfs_stats st;
    assert_int_equal(sim_dbvfs_stats_get(fx->v, &st), PS_OK);
    print_message("    DELETE: %d committed, %d failed; %llu write and %llu sync errors injected\n", r.committed,
                  r.failed, (unsigned long long)st.write_errors, (unsigned long long)st.sync_errors);
    /* The faults did happen, and many transactions got through anyway. */
    assert_true(st.write_errors > 100 && st.sync_errors > 100);
    assert_true(r.committed > N / 10 && r.failed > N / 10);
}

/* TRUNCATE and PERSIST journals: write faults keep SQLite's word exactly;
 * a sync fault after the commit point (the sync of the truncated or zeroed
 * journal) makes SQLite report a failure for a transaction that is in.
 * That is SQLite's behaviour on any disk; nothing reported committed is
 * ever lost. */
static void test_truncate_and_persist_journals_under_faults(void **state)
{
    fixture *fx = *state;
    static workload_result r;
    enum { N = 3000 };
    const char *modes[] = {"TRUNCATE", "PERSIST"};
    char path[64];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "w-%s.db", modes[i]);
        run_faulted_workload(fx->v, path, modes[i], SIM_DBVFS_WRITE, N, &r);
        assert_int_equal(check_reported_outcomes(fx->v, path, N, &r), 0);
        assert_true(r.committed > N / 10 && r.failed > N / 10);

        snprintf(path, sizeof path, "ws-%s.db", modes[i]);
        run_faulted_workload(fx->v, path, modes[i], SIM_DBVFS_WRITE | SIM_DBVFS_SYNC, N, &r);
        int in_anyway = check_reported_outcomes(fx->v, path, N, &r);
        print_message("    %s: %d committed, %d failed, %d of those in anyway\n", modes[i], r.committed, r.failed,
                      in_anyway);
        assert_true(r.committed > N / 10 && r.failed > N / 10);
    }
}

/* Every kind of fault at once, power losses torn by seed, several seeds
 * (the last ones on a disk that fills up early): still nothing reported
 * committed is lost and, with a DELETE journal, nothing reported failed
 * is in. */
static void test_all_faults_and_torn_power_losses_keep_sqlites_word(void **state)
{
    fixture *fx = *state;
    static workload_result r;
    enum { N = 1500 };
    for (uint64_t seed = 1; seed <= 7; seed++) {
        bool small_disk = seed > 5;
        sim_dbvfs *v = NULL;
        assert_int_equal(sim_dbvfs_new(&v, "all-faults", seed, fx->clock), PS_OK);
        assert_int_equal(sim_dbvfs_set_torn(v, true), PS_OK);
        assert_int_equal(sim_dbvfs_disk_full(v, small_disk ? 40000 : 0), PS_OK);
        run_faulted_workload(v, "all.db", "DELETE", SIM_DBVFS_ALL, N, &r);
        assert_int_equal(check_reported_outcomes(v, "all.db", N, &r), 0);
        sim_dbvfs_stats st;
        assert_int_equal(sim_dbvfs_stats_get(v, &st), PS_OK);
        assert_true(st.read_errors > 0 && st.busy_errors > 0 && st.power_losses == N / 500);
        assert_true(small_disk ? st.full_errors > 0 : st.full_errors == 0);
        assert_true(r.committed > 0);
        sim_dbvfs_free(v);
    }
}

/* Same seed, same faults, same outcome of every transaction; another
 * seed draws others. */
static void test_same_seed_gives_the_same_faults(void **state)
{
    fixture *fx = *state;
    static workload_result r1, r2, r3;
    sim_dbvfs_stats s1, s2, s3;
    sim_dbvfs *v = NULL;
    const uint64_t seeds[] = {7, 7, 8};
    workload_result *rs[] = {&r1, &r2, &r3};
    sim_dbvfs_stats *ss[] = {&s1, &s2, &s3};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sim_dbvfs_new(&v, "seeded", seeds[i], fx->clock), PS_OK);
        run_faulted_workload(v, "s.db", "DELETE", SIM_DBVFS_WRITE | SIM_DBVFS_SYNC, 600, rs[i]);
        assert_int_equal(sim_dbvfs_stats_get(v, ss[i]), PS_OK);
        sim_dbvfs_free(v);
    }
    assert_memory_equal(&r1, &r2, sizeof r1);
    assert_memory_equal(&s1, &s2, sizeof s1);
    assert_memory_not_equal(r1.outcome, r3.outcome, sizeof r1.outcome);
}

/* ---- time and randomness ------------------------------------------------ */

static void test_time_is_the_clocks_and_randomness_the_seeds(void **state)
{
    fixture *fx = *state;
    sqlite3 *db = open_db(fx->v, "time.db");
    /* The manual clock starts at 2026-01-01T00:00:00Z. */
    assert_int_equal(query_int(db, "SELECT CAST(strftime('%s','now') AS INTEGER)"), 1767225600);
    assert_int_equal(ps_clock_advance(fx->clock, 90 * PS_NS_PER_SEC), PS_OK);
    assert_int_equal(query_int(db, "SELECT CAST(strftime('%s','now') AS INTEGER)"), 1767225690);
    sqlite3_close(db);

    sqlite3_vfs *vfs = sqlite3_vfs_find(sim_dbvfs_name(fx->v));
    double jd = 0;
    assert_int_equal(vfs->xCurrentTime(vfs, &jd), SQLITE_OK);
    assert_true(jd > 2461041.5 && jd < 2461041.6); /* 2026-01-01 */

    char a[16], b[16];
    sim_dbvfs *other = NULL;
    assert_int_equal(sim_dbvfs_new(&other, "rand-twin", 42, fx->clock), PS_OK);
    sqlite3_vfs *twin = sqlite3_vfs_find("rand-twin");
    assert_int_equal(vfs->xRandomness(vfs, sizeof a, a), (int)sizeof a);
    assert_int_equal(twin->xRandomness(twin, sizeof b, b), (int)sizeof b);
    assert_memory_equal(a, b, sizeof a); /* same seed, same bytes */
    assert_int_equal(twin->xSleep(twin, 250000), 250000);
    sim_dbvfs_free(other);

    /* SQLite's own generator (random(), journal nonces) is seeded from the
     * default VFS: a run makes it reproducible as dbvfs.h says. */
    db = open_db(fx->v, "time.db");
    sqlite3_test_control(SQLITE_TESTCTRL_PRNG_SEED, 42, NULL);
    int64_t first = query_int(db, "SELECT random()");
    sqlite3_test_control(SQLITE_TESTCTRL_PRNG_SEED, 42, NULL);
    assert_int_equal(query_int(db, "SELECT random()"), first);
    sqlite3_close(db);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_new_refuses_bad_arguments_and_a_taken_name),
        T(test_free_unregisters_the_name),
        T(test_fail_and_friends_refuse_bad_arguments),
        T(test_a_database_lives_in_the_vfs_only),
        T(test_locking_protocol_holds_between_connections),
        T(test_busy_timeout_gives_up_without_time_passing),
        T(test_connections_on_two_threads_share_a_file_safely),
        T(test_power_loss_keeps_committed_and_rolls_back_open_transactions),
        T(test_torn_power_loss_keeps_committed_and_rolls_back_open_transactions),
        T(test_synchronous_off_loses_committed_transactions),
        T(test_wal_needs_exclusive_locking_and_then_survives_power_loss),
        T(test_power_loss_at_every_write_and_sync_of_a_commit),
        T(test_process_crash_leaves_a_hot_journal_that_the_next_connection_rolls_back),
        T(test_process_crash_at_every_write_and_sync_of_a_commit),
        T(test_each_fault_kind_gives_its_error),
        T(test_disk_full_refuses_growth_and_keeps_the_database),
        T(test_write_and_sync_faults_never_lose_or_invent_a_commit),
        T(test_truncate_and_persist_journals_under_faults),
        T(test_all_faults_and_torn_power_losses_keep_sqlites_word),
        T(test_same_seed_gives_the_same_faults),
        T(test_time_is_the_clocks_and_randomness_the_seeds),
    };
    return cmocka_run_group_tests_name("dbvfs", tests, NULL, NULL);
}
