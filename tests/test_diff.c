/* test_diff.c — the equivalence rule of `jetsim diff` (sim/cli/diff.h) over two
 * run databases written by the memory model: the same scenario and seed
 * match on every rule; runs that differ are named at the rule where they
 * part (a worker crash shows in the delivery-count histogram, a
 * different workload in the acknowledged set). No server needed: diff
 * reads databases, whichever backend wrote them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diff.h"
#include "engine.h"
#include "scenario.h"

static sim_scenario sc;

/* Runs `text` with `seed` into a fresh database file; returns its path. */
static char *run_to_db(const char *text, uint64_t seed)
{
    char *path = strdup("/tmp/jetsim-test-diff-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    if (sim_scenario_parse(&sc, "t.scn", text, strlen(text)) != PS_OK)
        fail_msg("%s", ps_last_error());
    sim_result r;
    if (sim_run(&sc, text, seed, path, NULL, &r) != PS_OK)
        fail_msg("%s", ps_last_error());
    return path;
}

static const char base[] = "stream S subjects=s.> retention=workqueue\n"
                           "consumer S C ack_wait=2s max_deliver=5\n"
                           "publish s.a rate=200/s count=400 msg_id=job keys=4\n"
                           "workers 1 batch=1 handle=1ms idempotent=yes\n"
                           "expect no_loss per_key_order drained_within=1m\n";

static int diverged(const char *a, const char *b, char **report)
{
    size_t len = 0;
    FILE *f = open_memstream(report, &len);
    int d = sim_diff_dbs(a, b, &sc, f);
    fclose(f);
    return d;
}

static void test_same_scenario_and_seed_match_on_every_rule(void **state)
{
    (void)state;
    char *a = run_to_db(base, 1), *b = run_to_db(base, 1), *report = NULL;
    assert_int_equal(diverged(a, b, &report), 0);
    assert_non_null(strstr(report, "per-key order              same (400 rows)"));
    assert_null(strstr(report, "DIVERGE"));
    free(report);
    unlink(a);
    unlink(b);
    free(a);
    free(b);
}

static void test_a_crash_shows_in_the_delivery_histogram(void **state)
{
    (void)state;
    char faulty[sizeof base + 64];
    /* at 501 ms the worker is handling the job published at 500 ms (it is
     * woken at the publish; the handler takes 1 ms): that job comes back */
    snprintf(faulty, sizeof faulty, "%sat 501ms crash worker 1 for 3s\n", base);
    char *a = run_to_db(base, 1), *b = run_to_db(faulty, 1), *report = NULL;
    assert_true(diverged(a, b, &report) >= 1);
    assert_non_null(strstr(report, "delivery-count histogram   DIVERGE"));
    assert_non_null(strstr(report, "acknowledged set           same"));
    free(report);
    unlink(a);
    unlink(b);
    free(a);
    free(b);
}

static void test_a_different_workload_parts_at_the_acknowledged_set(void **state)
{
    (void)state;
    char *a = run_to_db(base, 1), *report = NULL;
    char fewer[sizeof base];
    snprintf(fewer, sizeof fewer, "%s", base);
    memcpy(strstr(fewer, "count=400"), "count=399", 9);
    char *b = run_to_db(fewer, 1);
    assert_true(diverged(a, b, &report) >= 1);
    assert_non_null(strstr(report, "acknowledged set           DIVERGE at row 400"));
    assert_int_equal(sim_diff_dbs(a, "/nonexistent/x.db", &sc, stderr), -1);
    free(report);
    unlink(a);
    unlink(b);
    free(a);
    free(b);
}

/* Handler failures (fail=2%) fall on the same jobs and attempts whoever
 * handles them: one worker or three, the same jobs are naked, and diff
 * finds no divergence. (Drawn from each worker's own generator, they fell
 * on different jobs, as they do between the model and a real server.) */
static void test_handler_failures_fall_on_the_same_jobs_whatever_the_workers(void **state)
{
    (void)state;
    static const char one[] = "stream S subjects=s.> retention=workqueue\n"
                              "consumer S C ack_wait=2s max_deliver=10\n"
                              "publish s.a rate=200/s count=1000 msg_id=job\n"
                              "workers 1 batch=5 handle=1ms..3ms fail=2% idempotent=yes\n"
                              "expect no_loss drained_within=1m\n";
    char three[sizeof one];
    memcpy(three, one, sizeof one);
    memcpy(strstr(three, "workers 1"), "workers 3", 9);
    char *a = run_to_db(one, 4), *b = run_to_db(three, 4), *report = NULL;
    char *naked[2];
    for (int i = 0; i < 2; i++) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_open(i ? b : a, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(job) FROM (SELECT DISTINCT job FROM trace"
                                                " WHERE kind = 7 ORDER BY job)", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        naked[i] = strdup(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    assert_true(strlen(naked[0]) > 10); /* about 20 of 1000 jobs failed once */
    assert_string_equal(naked[0], naked[1]);
    assert_int_equal(diverged(a, b, &report), 0);
    free(naked[0]);
    free(naked[1]);
    free(report);
    unlink(a);
    unlink(b);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_scenario_and_seed_match_on_every_rule),
        cmocka_unit_test(test_a_crash_shows_in_the_delivery_histogram),
        cmocka_unit_test(test_a_different_workload_parts_at_the_acknowledged_set),
        cmocka_unit_test(test_handler_failures_fall_on_the_same_jobs_whatever_the_workers),
    };
    return cmocka_run_group_tests_name("diff", tests, NULL, NULL);
}
