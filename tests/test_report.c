/* test_report.c — what `jetsim run`, `diff` and `replay` (sim/cli/report.h) do
 * with bad input: files that are not scenarios, a run database whose
 * scenario is NULL, a --keep directory that does not exist. Each is a
 * clear message and exit code 2, never a crash, a runaway read or a claim
 * that is not true. Runs on the memory model only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "report.h"
#include "swarm.h"
#include "ps_status.h"

/* Runs f with stdout going to a buffer; returns what it printed. */
static char *captured(int (*f)(void *), void *arg, int *rc)
{
    fflush(stdout);
    char path[] = "/tmp/jetsim-test-report-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDOUT_FILENO);
    assert_true(dup2(fd, STDOUT_FILENO) >= 0);
    *rc = f(arg);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)n + 1);
    assert_int_equal(pread(fd, buf, (size_t)n, 0), n);
    close(fd);
    unlink(path);
    return buf;
}

/* Issue 10 item 7: `jetsim run /dev/zero` grew past 4.8 GB. */
static void test_run_of_an_endless_file_is_refused_at_the_size_cap(void **state)
{
    (void)state;
    assert_int_equal(sim_report_run("/dev/zero", 1, NULL, false, NULL, NULL), SIM_EXIT_USAGE);
    assert_non_null(strstr(ps_last_error(), "/dev/zero: larger than 4 MiB"));
}

/* Issue 10 item 7: `jetsim run DIR` reported a parse error at 1:1. */
static void test_run_of_a_directory_says_it_is_a_directory(void **state)
{
    (void)state;
    assert_int_equal(sim_report_run("sim", 1, NULL, false, NULL, NULL), SIM_EXIT_USAGE);
    assert_non_null(strstr(ps_last_error(), "sim: is a directory"));
    assert_int_equal(sim_report_diff("sim", 1, NULL, false, NULL, NULL), SIM_EXIT_USAGE);
    assert_int_equal(sim_report_check_determinism("sim", 1, false), SIM_EXIT_USAGE);
}

static int replay(void *path)
{
    return sim_report_replay(path);
}

/* Issue 10 item 7: replay of a database whose run.scenario is NULL
 * segfaulted (strdup of NULL). */
static void test_replay_of_a_null_scenario_is_refused(void **state)
{
    (void)state;
    char path[] = "/tmp/jetsim-test-report-db-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE run(scenario TEXT, seed INTEGER, backend TEXT);"
                                  "CREATE TABLE trace(id INTEGER);"
                                  "INSERT INTO run VALUES (NULL, 1, NULL);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    int rc = 0;
    char *out = captured(replay, path, &rc);
    assert_int_equal(rc, SIM_EXIT_USAGE);
    free(out);
    unlink(path);
}

static int diff_keep_missing(void *unused)
{
    (void)unused;
    return sim_report_diff("sim/scenarios/workqueue_crashes.scn", 1, NULL, true, "/nonexistent/keep", NULL);
}

/* Issue 10 item 7: with a missing --keep DIR, diff printed "run databases:
 * DIR/model.db, DIR/server.db" although neither was written. */
static void test_diff_keep_with_a_missing_directory_claims_nothing(void **state)
{
    (void)state;
    int rc = 0;
    char *out = captured(diff_keep_missing, NULL, &rc);
    assert_int_equal(rc, SIM_EXIT_USAGE);
    if (strstr(out, "/nonexistent/keep/model.db"))
        fail_msg("claims to have kept the databases: %s", out);
    free(out);
}

/* Issue 10 item 6: when pipe() or fork() failed before any child ran,
 * swarm reported "0 seeds, 0 failed" and exit 0 (PASS). With one file
 * descriptor left (enough to read the scenario, not for a pipe) it must
 * say that the seeds never ran. */
static void test_swarm_that_cannot_start_a_seed_does_not_pass(void **state)
{
    (void)state;
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int top = dup(0); /* the lowest free descriptor */
    assert_true(top >= 0);
    close(top);
    struct rlimit tight = {(rlim_t)top + 64, old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
    int held[64], n = 0;
    for (int fd; n < 64 && (fd = dup(0)) >= 0;)
        held[n++] = fd; /* every free descriptor below the limit ... */
    close(held[--n]); /* ... but one */
    int rc = sim_swarm("sim/scenarios/workqueue_crashes.scn", 1, 3, 1, NULL);
    while (n > 0)
        close(held[--n]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(rc, SIM_EXIT_HARNESS); /* the harness failed, not the input */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_of_an_endless_file_is_refused_at_the_size_cap),
        cmocka_unit_test(test_run_of_a_directory_says_it_is_a_directory),
        cmocka_unit_test(test_replay_of_a_null_scenario_is_refused),
        cmocka_unit_test(test_diff_keep_with_a_missing_directory_claims_nothing),
        cmocka_unit_test(test_swarm_that_cannot_start_a_seed_does_not_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
