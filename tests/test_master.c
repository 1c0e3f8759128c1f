/* test_master.c — the master database (sim/master.c): version-checked
 * updates, the record in SQL, injected write faults, the run's scenario
 * and seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "master.h"
#include "scenario.h"

static int64_t query_int(sim_master *m, const char *sql)
{
    assert_int_equal(sim_master_commit(m), PS_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(sim_master_db(m), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void test_stale_version_changes_nothing(void **state)
{
    (void)state;
    sim_master *m = NULL;
    assert_int_equal(sim_master_open(&m, ":memory:", "stream X subjects=x\n", 7), PS_OK);
    assert_int_equal(sim_master_job_add(m, 1, 3, 100, true), PS_OK);
    int64_t v1 = 0, v2 = 0;
    assert_int_equal(sim_master_job_start(m, 1, 1, 200, &v1), PS_OK); /* worker 1 */
    assert_int_equal(sim_master_job_start(m, 1, 2, 300, &v2), PS_OK); /* redelivered to worker 2 */
    bool applied = true;
    assert_int_equal(sim_master_job_complete(m, 1, 1, v1, 400, &applied), PS_OK);
    assert_false(applied); /* worker 1 read an older version */
    assert_int_equal(sim_master_job_complete(m, 1, 2, v2, 500, &applied), PS_OK);
    assert_true(applied);
    sim_job_view jv;
    assert_true(sim_master_job_view(m, 1, &jv));
    assert_int_equal(jv.state, SIM_JOB_DONE);
    assert_int_equal(jv.attempts, 2);
    assert_int_equal(jv.completions, 1);
    assert_int_equal(query_int(m, "SELECT completions FROM jobs WHERE id=1"), 1);
    assert_int_equal(query_int(m, "SELECT attempts FROM jobs WHERE id=1"), 2);
    assert_int_equal(query_int(m, "SELECT done_ns FROM jobs WHERE id=1"), 500);
    sim_master_close(m);
}

static void test_trace_rows_are_all_recorded(void **state)
{
    (void)state;
    sim_master *m = NULL;
    assert_int_equal(sim_master_open(&m, ":memory:", "", 1), PS_OK);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(sim_master_trace(m, i, SIM_TR_DELIVER, (uint64_t)i, 1, 0), PS_OK);
    assert_int_equal(query_int(m, "SELECT count(*) FROM trace"), 1000);
    assert_int_equal(query_int(m, "SELECT sum(t_ns) FROM trace"), 999 * 1000 / 2);
    assert_int_equal(query_int(m, "SELECT count(*) FROM trace_named WHERE kind='deliver'"), 1000);
    sim_master_close(m);
}

/* A job added, started and completed between two commits is one row
 * written once: the three changes meet in the mirror, not in SQLite. */
static void test_job_changes_between_commits_are_one_write(void **state)
{
    (void)state;
    sim_master *m = NULL;
    assert_int_equal(sim_master_open(&m, ":memory:", "", 1), PS_OK);
    int before = sqlite3_total_changes(sim_master_db(m));
    for (uint64_t id = 1; id <= 1000; id++) {
        int64_t v = 0;
        bool applied = false;
        assert_int_equal(sim_master_job_add(m, id, -1, 10, true), PS_OK);
        assert_int_equal(sim_master_job_start(m, id, 1, 20, &v), PS_OK);
        assert_int_equal(sim_master_job_complete(m, id, 1, v, 30, &applied), PS_OK);
        assert_true(applied);
    }
    assert_int_equal(sim_master_commit(m), PS_OK);
    assert_int_equal(sqlite3_total_changes(sim_master_db(m)) - before, 1000);
    assert_int_equal(query_int(m, "SELECT count(*) FROM jobs WHERE state = 2 AND completions = 1 AND done_ns = 30"),
                     1000);
    sim_master_close(m);
}

/* More changed rows than the master holds back between commits: all of
 * them reach the table, each with its last state. */
static void test_many_dirty_rows_all_reach_the_table(void **state)
{
    (void)state;
    sim_master *m = NULL;
    assert_int_equal(sim_master_open(&m, ":memory:", "", 1), PS_OK);
    for (uint64_t id = 1; id <= 70001; id++)
        assert_int_equal(sim_master_job_add(m, id, (int64_t)id, 10, true), PS_OK);
    for (uint64_t id = 1; id <= 70001; id += 2) {
        int64_t v = 0;
        assert_int_equal(sim_master_job_start(m, id, 1, 20, &v), PS_OK);
    }
    assert_int_equal(query_int(m, "SELECT count(*) FROM jobs"), 70001);
    assert_int_equal(query_int(m, "SELECT count(*) FROM jobs WHERE state = 1 AND attempts = 1 AND id % 2 = 1"),
                     35001);
    assert_int_equal(query_int(m, "SELECT sum(key) FROM jobs"), (int64_t)70001 * 70002 / 2);
    sim_master_close(m);
}

/* A database in memory: rows written, then changed again, then read
 * through sim_master_job_stored: the last state, as the mirror has it. */
static void test_database_in_memory_reads_the_last_state(void **state)
{
    (void)state;
    sim_master *m = NULL;
    assert_int_equal(sim_master_open(&m, ":memory:", "", 1), PS_OK);
    for (uint64_t id = 1; id <= 100; id++)
        assert_int_equal(sim_master_job_add(m, id, -1, 10, true), PS_OK);
    assert_int_equal(query_int(m, "SELECT count(*) FROM jobs WHERE state = 0"), 100);
    int64_t v = 0;
    assert_int_equal(sim_master_job_start(m, 7, 1, 20, &v), PS_OK);
    assert_int_equal(sim_master_commit(m), PS_OK);
    sim_job_view jv;
    assert_int_equal(sim_master_job_stored(m, 7, &jv), PS_OK);
    assert_int_equal(jv.state, SIM_JOB_RUNNING);
    assert_int_equal(jv.attempts, 1);
    assert_int_equal(jv.version, v);
    assert_int_equal(sim_master_job_stored(m, 8, &jv), PS_OK);
    assert_int_equal(jv.state, SIM_JOB_PUBLISHED);
    sim_master_close(m);
}

static const char *query_text(sim_master *m, const char *sql, char *buf, size_t cap)
{
    assert_int_equal(sim_master_commit(m), PS_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(sim_master_db(m), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *v = sqlite3_column_text(st, 0);
    snprintf(buf, cap, "%s", v ? (const char *)v : "(null)");
    sqlite3_finalize(st);
    return buf;
}

/* What a person reads (issue 14): states, fault kinds and ack kinds by
 * name; times from the run's start; per-(job, consumer) rows mapped back
 * to job numbers; the first bad job on the run row. */
static void test_views_name_the_integers_and_count_time_from_the_start(void **state)
{
    (void)state;
    sim_master *m = NULL;
    char buf[256];
    const int64_t t0 = 1000000000000; /* a clock that does not start at 0 */
    assert_int_equal(sim_master_open(&m, ":memory:", "", 1), PS_OK);
    assert_int_equal(sim_master_set_origin(m, t0, 2), PS_OK); /* two consumers: rows 3 and 4 are job 2's */
    assert_int_equal(sim_master_add_fault(m, 0, SIM_FAULT_PARTITION_WORKER, 3000000000, 2000000000, 2, 0, 7), PS_OK);
    for (uint64_t r = 1; r <= 4; r++)
        assert_int_equal(sim_master_job_add(m, r, -1, t0 + 5, true), PS_OK);
    int64_t v = 0;
    assert_int_equal(sim_master_job_start(m, 4, 2, t0 + 2500000000, &v), PS_OK);
    assert_int_equal(sim_master_trace(m, t0 + 1500000000, SIM_TR_PUBLISH, 2, -1, 17), PS_OK);
    assert_int_equal(sim_master_trace(m, t0 + 2500000000, SIM_TR_DELIVER, 4, 2, 1), PS_OK);
    assert_int_equal(sim_master_trace(m, t0 + 3000000000, SIM_TR_FAULT, 0, 2, SIM_FAULT_PARTITION_WORKER), PS_OK);
    assert_int_equal(sim_master_trace(m, t0 + 3500000000, SIM_TR_UNSENT, 4, 2, 0), PS_OK);
    assert_int_equal(sim_master_set_first_bad_job(m, 2), PS_OK);
    assert_string_equal(query_text(m, "SELECT name FROM job_states WHERE state = 1", buf, sizeof buf), "running");
    /* row 4 is job 2 on the second consumer: consumer 2 in the views, as explain numbers it */
    assert_string_equal(query_text(m, "SELECT state FROM jobs_named WHERE job = 2 AND consumer = 2", buf, sizeof buf),
                        "running");
    assert_string_equal(query_text(m, "SELECT t_s || ' ' || stream_seq FROM story WHERE kind = 'publish'", buf,
                                   sizeof buf), "1.5 17");
    assert_string_equal(query_text(m, "SELECT job || ' ' || consumer || ' ' || attempt FROM story WHERE kind ="
                                      " 'deliver'", buf, sizeof buf), "2 2 1");
    assert_string_equal(query_text(m, "SELECT fault FROM story WHERE kind = 'fault'", buf, sizeof buf),
                        sim_fault_name(SIM_FAULT_PARTITION_WORKER));
    assert_string_equal(query_text(m, "SELECT unsent FROM story WHERE kind = 'unsent'", buf, sizeof buf), "ack");
    assert_string_equal(query_text(m, "SELECT name || ' ' || at_s || ' ' || for_s || ' ' || worker || ' ' || line"
                                      " FROM faults_named", buf, sizeof buf), "partition worker 3.0 2.0 2 7");
    assert_int_equal(query_int(m, "SELECT first_bad_job FROM run"), 2);
    assert_int_equal(query_int(m, "SELECT count(*) FROM fault_kinds"), SIM_FAULT_KIND_COUNT);
    sim_master_close(m);
}

/* A deliver row's arg is the stream's count (num_delivered), which also
 * counts deliveries no handler saw (a batch lost in a crash, the worker
 * layer's naks of a delayed job); story's attempt counts the deliveries
 * to a handler, as jobs.attempts and explain do. */
static void test_story_tells_the_handler_attempt_and_the_streams_delivery(void **state)
{
    (void)state;
    sim_master *m = NULL;
    char buf[256];
    assert_int_equal(sim_master_open(&m, ":memory:", "", 1), PS_OK);
    assert_int_equal(sim_master_set_origin(m, 0, 1), PS_OK);
    for (uint64_t r = 1; r <= 2; r++)
        assert_int_equal(sim_master_job_add(m, r, -1, 0, true), PS_OK);
    assert_int_equal(sim_master_trace(m, 10, SIM_TR_DELIVER, 1, 1, 2), PS_OK); /* delivery 1 lost in a crash */
    assert_int_equal(sim_master_trace(m, 20, SIM_TR_DELIVER, 2, 1, 1), PS_OK);
    assert_int_equal(sim_master_trace(m, 30, SIM_TR_NAK, 1, 1, 0), PS_OK);
    assert_int_equal(sim_master_trace(m, 40, SIM_TR_DELIVER, 1, 2, 3), PS_OK);
    assert_string_equal(query_text(m, "SELECT group_concat(job || ':' || delivery || '/' || attempt, ' ') FROM"
                                      " (SELECT * FROM story WHERE kind = 'deliver' ORDER BY n)", buf, sizeof buf),
                        "1:2/1 2:1/1 1:3/2");
    assert_int_equal(query_int(m, "SELECT count(*) FROM story WHERE kind != 'deliver' AND (attempt IS NOT NULL"
                                  " OR delivery IS NOT NULL)"), 0);
    sim_master_close(m);
}

/* A row whose consumer's filter does not take the job is recorded as such
 * (jobs.for_consumer 0), and jobs_named names its state so that counting
 * states counts each consumer's jobs; the rows go out 64 to a statement
 * and one by one, on disk and in memory, alike. */
static void test_rows_not_for_their_consumer_are_marked(void **state)
{
    (void)state;
    char path[] = "/tmp/jetsim-test-master-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const char *paths[] = {":memory:", path};
    for (size_t p = 0; p < 2; p++) {
        sim_master *m = NULL;
        char buf[256];
        assert_int_equal(sim_master_open(&m, paths[p], "", 1), PS_OK);
        assert_int_equal(sim_master_set_origin(m, 0, 2), PS_OK);
        for (uint64_t r = 1; r <= 201; r++) /* job j: consumer 1 owed it, consumer 2 not */
            assert_int_equal(sim_master_job_add(m, r, -1, 0, r % 2 == 1), PS_OK);
        int64_t v = 0;
        assert_int_equal(sim_master_job_start(m, 1, 1, 5, &v), PS_OK);
        assert_string_equal(query_text(m, "SELECT group_concat(state || ':' || n, ' ') FROM (SELECT state,"
                                          " count(*) AS n FROM jobs_named GROUP BY state ORDER BY state)",
                                       buf, sizeof buf), "not for this consumer:100 published:100 running:1");
        assert_int_equal(query_int(m, "SELECT count(*) FROM jobs_named WHERE for_consumer = 0 AND consumer = 2"),
                         100);
        assert_int_equal(query_int(m, "SELECT count(*) FROM jobs WHERE for_consumer = 0 AND state = 0"), 100);
        sim_master_close(m);
    }
    unlink(path);
}

static void test_injected_fault_fails_the_write_and_changes_nothing(void **state)
{
    (void)state;
    sim_master *m = NULL;
    assert_int_equal(sim_master_open(&m, ":memory:", "", 1), PS_OK);
    assert_int_equal(sim_master_job_add(m, 1, -1, 0, true), PS_OK);
    int64_t v = 0;
    assert_int_equal(sim_master_job_start(m, 1, 1, 10, &v), PS_OK);
    sim_master_set_fault(m, PS_ERR_TIMEOUT, 1);
    bool applied = true;
    assert_int_equal(sim_master_job_complete(m, 1, 1, v, 20, &applied), PS_ERR_TIMEOUT);
    assert_non_null(strstr(ps_last_error(), "database is locked"));
    assert_int_equal(query_int(m, "SELECT state FROM jobs WHERE id=1"), SIM_JOB_RUNNING);
    assert_int_equal(sim_master_job_complete(m, 1, 1, v, 30, &applied), PS_OK); /* the fault is spent */
    assert_true(applied);
    sim_master_close(m);
}

static void test_run_database_on_disk_keeps_scenario_and_seed(void **state)
{
    (void)state;
    char path[] = "/tmp/jetsim-test-master-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    sim_master *m = NULL;
    assert_int_equal(sim_master_open(&m, path, "expect no_loss\n", 123456789), PS_OK);
    assert_int_equal(sim_master_job_add(m, 1, -1, 0, true), PS_OK);
    sim_master_close(m);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT scenario, seed, (SELECT count(*) FROM jobs) FROM run",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "expect no_loss\n");
    assert_int_equal(sqlite3_column_int64(st, 1), 123456789);
    assert_int_equal(sqlite3_column_int64(st, 2), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    unlink(path);
}

static void test_job_ids_must_be_dense(void **state)
{
    (void)state;
    sim_master *m = NULL;
    assert_int_equal(sim_master_open(&m, ":memory:", "", 1), PS_OK);
    assert_int_equal(sim_master_job_add(m, 2, -1, 0, true), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "expected 1, got 2"));
    int64_t v;
    assert_int_equal(sim_master_job_start(m, 9, 1, 0, &v), PS_ERR_INVALID_ARG);
    sim_master_close(m);
}

static void test_unwritable_path_is_named(void **state)
{
    (void)state;
    sim_master *m = NULL;
    assert_int_equal(sim_master_open(&m, "/nonexistent/dir/run.db", "", 1), PS_ERR_IO);
    assert_non_null(strstr(ps_last_error(), "/nonexistent/dir/run.db"));
    assert_null(m);
}

static int64_t db_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A kill -9 in the middle of a batch bigger than SQLite's page cache (so
 * pages of the uncommitted batch have already gone to disk) leaves the
 * database as the last commit left it: consistent, every committed row,
 * none of the batch, and run.finished 0. */
static void test_kill_mid_batch_leaves_the_last_commit(void **state)
{
    (void)state;
    char path[] = "/tmp/jetsim-test-master-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sim_master *m = NULL;
        if (sim_master_open(&m, path, "expect no_loss\n", 5) != PS_OK)
            _exit(1);
        for (uint64_t j = 1; j <= 1000; j++)
            sim_master_job_add(m, j, -1, 0, true);
        sim_master_commit(m);
        for (int i = 0; i < 400000; i++) /* about 10 MB: past the page cache */
            sim_master_trace(m, i, SIM_TR_DELIVER, (uint64_t)i, 1, 0);
        for (uint64_t j = 1; j <= 1000; j++) {
            int64_t v;
            sim_master_job_start(m, j, 1, 1, &v);
        }
        raise(SIGKILL);
        _exit(2);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(db_int(db, "SELECT count(*) FROM jobs"), 1000);
    assert_int_equal(db_int(db, "SELECT count(*) FROM jobs WHERE attempts > 0"), 0);
    assert_int_equal(db_int(db, "SELECT count(*) FROM trace"), 0);
    assert_int_equal(db_int(db, "SELECT finished FROM run"), 0);
    sqlite3_close(db);
    char side[64];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

/* sim_master_finish marks the run finished with its verdict and hash, and
 * a closed database is one file (no -wal beside it). */
static void test_finish_marks_the_run_and_close_leaves_one_file(void **state)
{
    (void)state;
    char path[] = "/tmp/jetsim-test-master-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    sim_master *m = NULL;
    assert_int_equal(sim_master_open(&m, path, "", 1), PS_OK);
    assert_int_equal(sim_master_set_replay(m, true, NULL), PS_OK);
    assert_int_equal(sim_master_finish(m, "safety", "no_loss: job 1", 0xabcdefULL, 42), PS_OK);
    sim_master_close(m);
    char side[64];
    snprintf(side, sizeof side, "%s-wal", path);
    assert_int_not_equal(access(side, F_OK), 0);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(db_int(db, "SELECT finished FROM run"), 1);
    assert_int_equal(db_int(db, "SELECT mix FROM run"), 1);
    assert_int_equal(db_int(db, "SELECT trace_events FROM run"), 42);
    assert_int_equal(db_int(db, "SELECT trace_hash = '0000000000abcdef' AND verdict = 'safety' FROM run"), 1);
    sqlite3_close(db);
    unlink(path);
}

/* Issue 10 item 7: --db FILE replaced whatever FILE was. A file that is not
 * a run database is refused and left as it was; a run database (and an
 * empty file, as mkstemp leaves) is still replaced. */
static void test_existing_file_that_is_not_a_run_database_is_kept(void **state)
{
    (void)state;
    char path[] = "/tmp/jetsim-test-master-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "my notes\n", 9), 9);
    close(fd);
    sim_master *m = NULL;
    assert_int_equal(sim_master_open(&m, path, "", 1), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "is not a jetsim run database"));
    assert_null(m);
    char buf[32] = {0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, sizeof buf - 1, f), 9);
    fclose(f);
    assert_string_equal(buf, "my notes\n");
    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(sim_master_open(&m, path, "", 1), PS_OK);
    sim_master_close(m);
    assert_int_equal(sim_master_open(&m, path, "", 2), PS_OK); /* a run database: replaced */
    sim_master_close(m);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_version_changes_nothing),
        cmocka_unit_test(test_trace_rows_are_all_recorded),
        cmocka_unit_test(test_job_changes_between_commits_are_one_write),
        cmocka_unit_test(test_many_dirty_rows_all_reach_the_table),
        cmocka_unit_test(test_database_in_memory_reads_the_last_state),
        cmocka_unit_test(test_views_name_the_integers_and_count_time_from_the_start),
        cmocka_unit_test(test_story_tells_the_handler_attempt_and_the_streams_delivery),
        cmocka_unit_test(test_rows_not_for_their_consumer_are_marked),
        cmocka_unit_test(test_injected_fault_fails_the_write_and_changes_nothing),
        cmocka_unit_test(test_run_database_on_disk_keeps_scenario_and_seed),
        cmocka_unit_test(test_job_ids_must_be_dense),
        cmocka_unit_test(test_unwritable_path_is_named),
        cmocka_unit_test(test_kill_mid_batch_leaves_the_last_commit),
        cmocka_unit_test(test_finish_marks_the_run_and_close_leaves_one_file),
        cmocka_unit_test(test_existing_file_that_is_not_a_run_database_is_kept),
    };
    return cmocka_run_group_tests_name("master", tests, NULL, NULL);
}
