/* test_engine.c — runs of the shipped scenarios (sim/scenarios/) on the
 * memory backend: the same scenario and seed give the same trace hash
 * (determinism), every scenario passes with seed 1 except the deliberately
 * buggy one, which fails its no_loss check naming a job.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <glob.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine.h"
#include "real.h"
#include "ps_clock.h"
#include "scenario.h"

/* Every scenario shipped in sim/scenarios/, found by glob so that a new
 * one is covered without editing this list. */
static char names[64][128];
static size_t nnames;

static void find_scenarios(void)
{
    glob_t g;
    if (glob("sim/scenarios/*.scn", 0, NULL, &g) != 0)
        return;
    for (size_t i = 0; i < g.gl_pathc && nnames < 64; i++) {
        const char *base = strrchr(g.gl_pathv[i], '/') + 1;
        snprintf(names[nnames++], sizeof names[0], "%.*s", (int)(strlen(base) - 4), base);
    }
    globfree(&g);
}

static sim_scenario sc;

static sim_result run(const char *name, uint64_t seed)
{
    char path[128];
    snprintf(path, sizeof path, "sim/scenarios/%s.scn", name);
    if (sim_scenario_load(&sc, path) != PS_OK)
        fail_msg("%s", ps_last_error());
    sim_result r;
    if (sim_run(&sc, "", seed, ":memory:", NULL, &r) != PS_OK)
        fail_msg("%s: %s", name, ps_last_error());
    return r;
}

static void test_same_scenario_and_seed_give_the_same_trace(void **state)
{
    (void)state;
    assert_true(nnames >= 10);
    for (size_t i = 0; i < nnames; i++) {
        sim_result a = run(names[i], 1), b = run(names[i], 1), c = run(names[i], 2);
        if (a.trace_hash != b.trace_hash || a.events != b.events)
            fail_msg("%s: seed 1 twice gave traces %016llx and %016llx", names[i],
                     (unsigned long long)a.trace_hash, (unsigned long long)b.trace_hash);
        if (a.trace_hash == c.trace_hash)
            fail_msg("%s: seeds 1 and 2 gave the same trace", names[i]);
    }
}

static void test_shipped_scenarios_pass_except_the_buggy_one(void **state)
{
    (void)state;
    for (size_t i = 0; i < nnames; i++) {
        sim_result r = run(names[i], 1);
        bool buggy = strncmp(names[i], "buggy", 5) == 0;
        if (!buggy && r.verdict != SIM_PASS)
            fail_msg("%s: %s", names[i], r.first_violation);
        if (buggy) {
            assert_int_equal(r.verdict, SIM_SAFETY_VIOLATION);
            assert_true(r.lost > 0);
            assert_non_null(strstr(r.first_violation, "no_loss: job "));
            assert_true(r.first_bad_job > 0);
        }
        assert_true(r.jobs_published > 0);
    }
}

/* The shrunk reproduction of the buggy scenario (jetsim shrink, seed 1:
 * one fault, 250 jobs, one worker) keeps failing no_loss: a regression
 * case for the check and for the bug pattern (ack before commit). */
static void test_shrunk_buggy_scenario_still_fails_no_loss(void **state)
{
    (void)state;
    if (sim_scenario_load(&sc, "tests/scenarios/buggy_ack_before_commit.shrunk.scn") != PS_OK)
        fail_msg("%s", ps_last_error());
    assert_true(sc.nfaults <= 3);
    sim_result r;
    assert_int_equal(sim_run(&sc, "", 1, ":memory:", NULL, &r), PS_OK);
    assert_int_equal(r.verdict, SIM_SAFETY_VIOLATION);
    assert_non_null(strstr(r.first_violation, "no_loss: job "));
}

static sim_result run_text(const char *text)
{
    if (sim_scenario_parse(&sc, "t.scn", text, strlen(text)) != PS_OK)
        fail_msg("%s", ps_last_error());
    sim_result r;
    if (sim_run(&sc, "", 1, ":memory:", NULL, &r) != PS_OK)
        fail_msg("%s", ps_last_error());
    return r;
}

/* A retry after the dedup window has passed stores the job again: the
 * dedup check names it. */
static void test_retry_outside_the_dedup_window_is_caught(void **state)
{
    (void)state;
    sim_result r = run_text("stream S subjects=s.> retention=workqueue dupe_window=100ms\n"
                            "consumer S C ack_wait=10s\n"
                            "publish s.a rate=100/s count=500 msg_id=job retry=5 retry_wait=300ms\n"
                            "workers 2 batch=10 handle=1ms idempotent=yes\n"
                            "at 1s lose pubacks 20% for 2s\n"
                            "expect no_loss dedup drained_within=1m\n");
    assert_int_equal(r.verdict, SIM_SAFETY_VIOLATION);
    assert_true(r.dedup_failures > 0);
    assert_non_null(strstr(r.first_violation, "dedup: job "));
}

/* A server restarted after a crash delivers the one copy it stored as new
 * again (num_delivered 1, the same stream sequence): a redelivery, not a
 * second copy. Counting first deliveries reported "stored 2 times" in 22
 * of the first 100 mixes (10 of these 40); counting stream sequences, none. */
static void test_redelivery_after_a_server_crash_is_not_a_dedup_failure(void **state)
{
    (void)state;
    static const char text[] =
        "stream JOBS subjects=jobs.> retention=workqueue storage=file dupe_window=2m\n"
        "consumer JOBS workers ack_wait=10s max_deliver=10 max_ack_pending=1000\n"
        "publish jobs.created rate=500/s count=5000 msg_id=job retry=20 retry_wait=500ms\n"
        "workers 4 batch=50 handle=2ms..20ms idempotent=yes commit=before_ack\n"
        "at 3s restart server crash\n"
        "at 5s drop acks 10% for 3s\n"
        "at 7s restart server graceful\n"
        "expect no_loss no_double_completion dedup drained_within=3m\n";
    static sim_scenario base;
    assert_int_equal(sim_scenario_parse(&base, "crash.scn", text, strlen(text)), PS_OK);
    int false_dedup = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        sc = base;
        sim_scenario_mix(&sc, seed);
        sim_result r;
        assert_int_equal(sim_run(&sc, "", seed, ":memory:", NULL, &r), PS_OK);
        false_dedup += r.dedup_failures > 0;
    }
    assert_int_equal(false_dedup, 0);
}

/* The report quotes the database: a lost job's violation names its jobs
 * row (with two consumers, row = (job - 1) * 2 + consumer + 1, not the job
 * id) and that row holds the state and attempts the report says, as many
 * attempts as the trace has deliveries of it. */
static void test_a_lost_jobs_report_matches_its_database_row(void **state)
{
    (void)state;
    static const char text[] =
        "stream S subjects=s.> retention=limits\n"
        "consumer S A ack_wait=30s max_deliver=5\n"
        "consumer S B ack_wait=30s max_deliver=5\n"
        "publish s.x rate=200/s count=1000 msg_id=job\n"
        "workers 2 consumer=S/A batch=10 handle=5ms..20ms idempotent=yes\n"
        "workers 2 consumer=S/B batch=10 handle=5ms..20ms idempotent=yes commit=after_ack\n"
        "at 3s crash worker 3 after_commit\n"
        "expect no_loss\n";
    char db[] = "/tmp/jetsim-test-report-XXXXXX";
    int fd = mkstemp(db);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(sim_scenario_parse(&sc, "t.scn", text, strlen(text)), PS_OK);
    sim_result r;
    assert_int_equal(sim_run(&sc, text, 1, db, NULL, &r), PS_OK);
    assert_int_equal(r.verdict, SIM_SAFETY_VIOLATION);
    unsigned long long job = 0, row = 0;
    int att_said = -1;
    char st_said[16] = "";
    const char *p = strstr(r.first_violation, "no_loss: job ");
    assert_non_null(p);
    job = strtoull(p + 13, NULL, 10);
    p = strstr(r.first_violation, "(jobs row ");
    if (!p)
        fail_msg("the violation does not name its jobs row: %s", r.first_violation);
    assert_int_equal(sscanf(p, "(jobs row %llu: state %15[a-z], attempts %d", &row, st_said, &att_said), 3);
    assert_int_equal(row, (job - 1) * 2 + 2); /* consumer B */
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT s.name, attempts, (SELECT count(*) FROM trace_named WHERE"
                                           " kind='deliver' AND job = ?1) FROM jobs JOIN job_states s"
                                           " USING (state) WHERE id = ?1", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)row);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), st_said);
    assert_int_equal(sqlite3_column_int(st, 1), att_said);
    assert_int_equal(sqlite3_column_int(st, 2), att_said);
    sqlite3_finalize(st);
    sqlite3_close(h);
    unlink(db);
}

/* The same run with its database in memory (whose job rows are written
 * only when read): the report still quotes the row, and it agrees. */
static void test_a_lost_jobs_report_reads_a_database_in_memory(void **state)
{
    (void)state;
    static const char text[] =
        "stream S subjects=s.> retention=limits\n"
        "consumer S A ack_wait=30s max_deliver=5\n"
        "consumer S B ack_wait=30s max_deliver=5\n"
        "publish s.x rate=200/s count=1000 msg_id=job\n"
        "workers 2 consumer=S/A batch=10 handle=5ms..20ms idempotent=yes\n"
        "workers 2 consumer=S/B batch=10 handle=5ms..20ms idempotent=yes commit=after_ack\n"
        "at 3s crash worker 3 after_commit\n"
        "expect no_loss\n";
    assert_int_equal(sim_scenario_parse(&sc, "t.scn", text, strlen(text)), PS_OK);
    sim_result r;
    assert_int_equal(sim_run(&sc, text, 1, ":memory:", NULL, &r), PS_OK);
    assert_int_equal(r.verdict, SIM_SAFETY_VIOLATION);
    if (!strstr(r.first_violation, "(jobs row ") || strstr(r.first_violation, "not readable") ||
        strstr(r.first_violation, "NOT what the run saw"))
        fail_msg("the violation does not quote its row as the run saw it: %s", r.first_violation);
}

/* Four workers and no MaxAckPending cap complete jobs of one key out of
 * publish order: the per-key-order check names one. */
static void test_parallel_workers_break_per_key_order(void **state)
{
    (void)state;
    sim_result r = run_text("stream S subjects=s.> retention=workqueue\n"
                            "consumer S C ack_wait=10s\n"
                            "publish s.a rate=1000/s count=2000 msg_id=job keys=5\n"
                            "workers 4 batch=20 handle=1ms..30ms idempotent=yes\n"
                            "expect no_loss per_key_order drained_within=1m\n");
    assert_int_equal(r.verdict, SIM_SAFETY_VIOLATION);
    assert_true(r.order_failures > 0);
    assert_non_null(strstr(r.first_violation, "per_key_order: job "));
}

/* ---- the worker layer's patterns (workers key_header=, dead_letter=, publish delay=) ---- */

/* One worker, MaxAckPending 64 and handler failures, through nak and
 * term storms, a worker slowed within AckWait, lost PubAcks and duplicate
 * publishes, each seed with its own fault mix: with key_header the layer
 * holds a key's later jobs while one is in flight or naked for a retry,
 * so each key completes in publish order; without it the retries come
 * after later jobs of their key. (A lost nak or ack, or a crash, returns
 * a job only after AckWait, which order cannot survive: ps_worker.h.) */
static const char key_retries[] =
    "stream S subjects=s.> retention=workqueue\n"
    "consumer S C ack_wait=5s max_ack_pending=64 max_deliver=50\n"
    "publish s.a rate=300/s count=1500 msg_id=job keys=8 key_header=K\n"
    "workers 1 batch=8 max_in_flight=16 handle=1ms..3ms fail=10%%%s backoff=1s\n"
    "at 1s nak storm 10%% for 1s\n"
    "at 2s slow worker 1 handle=2s for 1s\n"
    "at 3s term storm 5%% for 1s\n"
    "at 4s lose pubacks 10%% for 1s\n"
    "at 5s duplicate publishes 10%% for 1s\n"
    "expect no_loss no_double_completion per_key_order drained_within=1m\n";

static sim_result run_mixed(const char *text, uint64_t seed)
{
    if (sim_scenario_parse(&sc, "t.scn", text, strlen(text)) != PS_OK)
        fail_msg("%s", ps_last_error());
    sim_scenario_mix(&sc, seed);
    sim_result r;
    if (sim_run(&sc, "", seed, ":memory:", NULL, &r) != PS_OK)
        fail_msg("%s", ps_last_error());
    return r;
}

static void test_key_header_keeps_per_key_order_through_retries(void **state)
{
    (void)state;
    char text[1024];
    snprintf(text, sizeof text, key_retries, " key_header=K");
    for (uint64_t seed = 1; seed <= 20; seed++) {
        sim_result r = run_mixed(text, seed);
        if (r.verdict != SIM_PASS)
            fail_msg("seed %llu: %s", (unsigned long long)seed, r.first_violation);
    }
    snprintf(text, sizeof text, key_retries, "");
    for (uint64_t seed = 1; seed <= 3; seed++) {
        sim_result r = run_mixed(text, seed);
        assert_int_equal(r.verdict, SIM_SAFETY_VIOLATION);
        assert_true(r.order_failures > 0);
    }
}

/* dead_letter=: a job failing its last delivery is dead-lettered, which
 * dead_or_done accepts; without it the job fails without one, which
 * dead_or_done names. The run database lists them (view dead_letters). */
static const char dead_text[] =
    "stream S subjects=s.> retention=workqueue\n"
    "stream D subjects=dead.> retention=limits\n"
    "consumer S C ack_wait=5s max_deliver=2\n"
    "publish s.a rate=200/s count=400 msg_id=job\n"
    "workers 2 batch=4 handle=1ms..3ms fail=30%%%s\n"
    "expect no_loss dead_or_done drained_within=1m\n";

static void test_dead_letters_end_jobs_that_fail_for_good(void **state)
{
    (void)state;
    char text[1024];
    snprintf(text, sizeof text, dead_text, " dead_letter=dead.jobs");
    char db[] = "/tmp/jetsim-test-dead-XXXXXX";
    int fd = mkstemp(db);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(sim_scenario_parse(&sc, "t.scn", text, strlen(text)), PS_OK);
    sim_result r;
    assert_int_equal(sim_run(&sc, text, 1, db, NULL, &r), PS_OK);
    if (r.verdict != SIM_PASS)
        fail_msg("%s", r.first_violation);
    assert_true(r.dead_lettered > 0); /* 9% of 400 fail twice */
    assert_int_equal(r.jobs_failed, r.dead_lettered);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*), min(reason), max(reason) FROM dead_letters", -1, &st,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), (int64_t)r.dead_lettered);
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "max_deliver");
    assert_string_equal((const char *)sqlite3_column_text(st, 2), "max_deliver");
    sqlite3_finalize(st);
    sqlite3_close(h);
    unlink(db);

    snprintf(text, sizeof text, dead_text, "");
    r = run_text(text);
    assert_int_equal(r.verdict, SIM_SAFETY_VIOLATION);
    assert_int_equal(r.dead_lettered, 0);
    assert_true(r.not_dead_or_done > 0);
    assert_non_null(strstr(r.first_violation, "dead_or_done: job "));
}

/* publish delay=: every job carries Jetsim-Not-Before; the layer naks it
 * to its time, so no handler sees it early and each one's first handled
 * delivery is its second (the first was naked). */
static void test_delayed_jobs_wait_for_their_time(void **state)
{
    (void)state;
    static const char text[] = "stream S subjects=s.> retention=workqueue\n"
                               "consumer S C ack_wait=30s\n"
                               "publish s.a rate=100/s count=300 msg_id=job delay=2s..4s\n"
                               "workers 2 batch=8 handle=1ms..3ms\n"
                               "expect no_loss not_early drained_within=1m\n";
    char db[] = "/tmp/jetsim-test-delay-XXXXXX";
    int fd = mkstemp(db);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(sim_scenario_parse(&sc, "t.scn", text, strlen(text)), PS_OK);
    sim_result r;
    assert_int_equal(sim_run(&sc, text, 1, db, NULL, &r), PS_OK);
    if (r.verdict != SIM_PASS)
        fail_msg("%s", r.first_violation);
    assert_int_equal(r.early, 0);
    assert_int_equal(r.jobs_done, 300);
    assert_true(r.end_ns >= 5 * PS_NS_PER_SEC); /* the last job is due 3 s + 2..4 s in */
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    /* handled at the stream's delivery 2 (1 was the delay's nak), the
     * handler's attempt 1 */
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*), min(delivery), max(attempt) FROM story"
                                           " WHERE kind = 'deliver'", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 300);
    assert_int_equal(sqlite3_column_int64(st, 1), 2);
    assert_int_equal(sqlite3_column_int64(st, 2), 1);
    sqlite3_finalize(st);
    sqlite3_close(h);
    unlink(db);
}

/* not_early catches a worker that ignores Jetsim-Not-Before (one built
 * before the fleet had delayed jobs), and names the job and how early. */
static void test_not_early_catches_a_worker_that_ignores_the_time(void **state)
{
    (void)state;
    sim_result r = run_text("stream S subjects=s.> retention=workqueue\n"
                            "consumer S C ack_wait=30s\n"
                            "publish s.a rate=100/s count=100 msg_id=job delay=2s\n"
                            "workers 1 batch=8 handle=1ms\n"
                            "workers 1 batch=8 handle=1ms ignore_not_before=yes\n"
                            "expect no_loss not_early drained_within=1m\n");
    assert_int_equal(r.verdict, SIM_SAFETY_VIOLATION);
    assert_true(r.early > 0);
    assert_non_null(strstr(r.first_violation, "not_early: job "));
    assert_non_null(strstr(r.first_violation, "before its Jetsim-Not-Before"));
}

/* deliver=by_start_time reaches the consumer, and the model resolves it
 * as the server does (JS 6.2): when the consumer is created, at the run's
 * start, on an empty stream: every job published later comes. */
static void test_deliver_by_start_time_is_resolved_at_creation(void **state)
{
    (void)state;
    sim_result r = run_text("stream S subjects=s.> retention=limits\n"
                            "consumer S C ack_wait=30s deliver=by_start_time start_time=5s\n"
                            "publish s.a rate=100/s count=1000 msg_id=job\n"
                            "workers 1 batch=10 handle=1ms\n"
                            "expect drained_within=1m\n");
    assert_int_equal(r.verdict, SIM_PASS);
    assert_int_equal(r.jobs_done, 1000);
}

/* ack=none and ack=all reach the consumer: the jobs still all complete
 * (a limits stream; a work queue refuses ack=none). */
static void test_ack_policies_none_and_all(void **state)
{
    (void)state;
    const char *policies[] = {"none", "all"};
    for (int i = 0; i < 2; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "stream S subjects=s.> retention=limits\n"
                 "consumer S C ack_wait=30s ack=%s\n"
                 "publish s.a rate=100/s count=200 msg_id=job\n"
                 "workers 1 batch=10 handle=1ms\n"
                 "expect no_loss drained_within=1m\n", policies[i]);
        sim_result r = run_text(text);
        if (r.verdict != SIM_PASS)
            fail_msg("ack=%s: %s", policies[i], r.first_violation);
        assert_int_equal(r.jobs_done, 200);
    }
}

static const char partition[] =
    "stream S subjects=s.> retention=workqueue\n"
    "consumer S C ack_wait=2s max_deliver=5\n"
    "publish s.a rate=200/s count=1000 msg_id=job\n"
    "workers 2 batch=20 handle=50ms idempotent=%s commit=before_ack\n"
    "at 1s partition worker 1 for 10s\n"
    "expect no_loss no_double_completion drained_within=1m\n";

/* A worker cut off from the broker (not from the master) commits what it
 * holds, but its acks never arrive: the jobs come back after AckWait to
 * the other worker. An idempotent handler passes; one that is not
 * completes those jobs twice, and the check says so. */
static void test_partitioned_worker_commits_but_its_acks_are_lost(void **state)
{
    (void)state;
    char text[sizeof partition + 8];
    snprintf(text, sizeof text, partition, "yes");
    char db[] = "/tmp/jetsim-test-partition-XXXXXX";
    int fd = mkstemp(db);
    assert_true(fd >= 0);
    close(fd);
    if (sim_scenario_parse(&sc, "t.scn", text, strlen(text)) != PS_OK)
        fail_msg("%s", ps_last_error());
    sim_result r;
    assert_int_equal(sim_run(&sc, text, 1, db, NULL, &r), PS_OK);
    assert_int_equal(r.verdict, SIM_PASS);
    assert_int_equal(r.jobs_done, 1000);
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT (SELECT count(*) FROM trace_named WHERE kind='unsent' AND worker=1),"
                                           " (SELECT count(*) FROM trace_named WHERE kind='unsent' AND worker=2),"
                                           " (SELECT count(*) FROM trace_named WHERE kind='stale')",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_true(sqlite3_column_int(st, 0) > 0); /* worker 1's acks went nowhere */
    assert_int_equal(sqlite3_column_int(st, 1), 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    unlink(db);

    snprintf(text, sizeof text, partition, "no");
    r = run_text(text);
    assert_int_equal(r.verdict, SIM_SAFETY_VIOLATION);
    assert_true(r.double_completed > 0);
    assert_non_null(strstr(r.first_violation, "handler not idempotent"));
}

/* The drain deadline counts from the end of publishing (or of the last
 * fault), never while a publisher still has jobs to send: a publisher
 * slower than drained_within (on a real server, one held up by a stream
 * that is not ready) is not cut off as "not drained" (issue 10: the
 * cluster run failed liveness with 159 jobs still unpublished). */
static void test_drain_deadline_waits_for_the_publishers(void **state)
{
    (void)state;
    sim_result r = run_text("stream S subjects=s.> retention=workqueue\n"
                            "consumer S C ack_wait=10s\n"
                            "publish s.a rate=1/s count=30 msg_id=job\n"
                            "workers 1 batch=1 handle=1ms idempotent=yes\n"
                            "at 1s crash worker 1 for 1s\n"
                            "expect no_loss no_double_completion drained_within=5s\n");
    if (r.verdict != SIM_PASS)
        fail_msg("verdict %d: %s", (int)r.verdict, r.first_violation);
    assert_int_equal(r.jobs_done, 30);
    assert_true(r.end_ns >= 29 * PS_NS_PER_SEC);
}

/* crash worker N before_handle also kills a built-in worker as its next
 * message arrives: that job is not handled then and comes back after
 * AckWait, a second attempt (a user found the fault accepted and ignored). */
static void test_crash_before_handle_kills_a_built_in_worker(void **state)
{
    (void)state;
    sim_result r = run_text("stream S subjects=s.> retention=workqueue\n"
                            "consumer S C ack_wait=2s\n"
                            "publish s.a rate=1/s count=10 msg_id=job\n"
                            "workers 1 batch=1 handle=1ms idempotent=yes\n"
                            "at 1500ms crash worker 1 before_handle for 3s\n"
                            "expect no_loss no_double_completion attempts<=1 drained_within=1m\n");
    assert_int_equal(r.verdict, SIM_SAFETY_VIOLATION);
    assert_int_equal(r.over_attempts, 1);
    assert_int_equal(r.jobs_done, 10);
}

/* A memory-storage stream does not survive a crash (docs/MODEL.md, JS 13):
 * the jobs it had acknowledged are reported lost, with the evidence that
 * the server (here the model) no longer holds them, not as merely late. */
static void test_acknowledged_messages_lost_by_the_server_are_a_finding(void **state)
{
    (void)state;
    if (sim_scenario_load(&sc, "tests/scenarios/memory_stream_kill.scn") != PS_OK)
        fail_msg("%s", ps_last_error());
    sim_result r;
    assert_int_equal(sim_run(&sc, "", 1, ":memory:", NULL, &r), PS_OK);
    assert_int_equal(r.verdict, SIM_SAFETY_VIOLATION);
    assert_true(r.lost > 0);
    assert_non_null(strstr(r.first_violation, "FINDING: the server lost an acknowledged message"));
}

/* ---- the engine wakes a worker when something is due ----------------------------- */

/* The longest any job waited between its publish and its first delivery,
 * from a run database's trace. */
static double max_first_delivery_wait_s(const char *db)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT max(d.t - p.t) FROM (SELECT job, min(t_ns) t FROM trace WHERE kind = 0 "
                                        "GROUP BY job) p JOIN (SELECT job, min(t_ns) t FROM trace WHERE kind = 2 "
                                        "GROUP BY job) d USING (job)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    double wait = (double)sqlite3_column_int64(st, 0) / 1e9;
    sqlite3_finalize(st);
    sqlite3_close(h);
    return wait;
}

/* An idle worker is woken by the publish owed to its consumer: the job is
 * delivered at the instant it is stored, not at the next poll (before:
 * up to 50 ms later, at a 50 ms poll tick). */
static void test_a_published_job_is_delivered_at_once(void **state)
{
    (void)state;
    const char *text = "stream S subjects=s.> retention=workqueue\n"
                       "consumer S C ack_wait=10s\n"
                       "publish s.a rate=7/s count=20\n"
                       "workers 2 batch=1 handle=1ms\n"
                       "expect no_loss drained_within=1m\n";
    if (sim_scenario_parse(&sc, "t.scn", text, strlen(text)) != PS_OK)
        fail_msg("%s", ps_last_error());
    char db[] = "/tmp/jetsim-test-engine-XXXXXX";
    int fd = mkstemp(db);
    assert_true(fd >= 0);
    close(fd);
    sim_result r;
    assert_int_equal(sim_run(&sc, text, 1, db, NULL, &r), PS_OK);
    assert_int_equal(r.verdict, SIM_PASS);
    assert_int_equal(r.jobs_done, 20);
    assert_true(max_first_delivery_wait_s(db) == 0);
    unlink(db);
}

/* Workers that find nothing cost no events until something is due: ten
 * jobs over ten seconds to four workers take a few events per job (before:
 * every worker polled every 50 virtual ms, over 800 events). */
static void test_idle_workers_cost_no_events(void **state)
{
    (void)state;
    sim_result r = run_text("stream S subjects=s.> retention=workqueue\n"
                            "consumer S C ack_wait=10s\n"
                            "publish s.a rate=1/s count=10\n"
                            "workers 4 batch=1 handle=1ms\n"
                            "expect no_loss drained_within=1m\n");
    assert_int_equal(r.verdict, SIM_PASS);
    assert_int_equal(r.jobs_done, 10);
    assert_true(r.events < 100);
}

/* A redelivery far beyond the drain deadline (AckWait 1 h after a crash)
 * is the only thing due: the run reports the liveness failure at once,
 * instead of polling through the deadline (before: 1,200 polls a minute). */
static void test_a_run_with_nothing_due_ends_without_polling(void **state)
{
    (void)state;
    sim_result r = run_text("stream S subjects=s.> retention=workqueue\n"
                            "consumer S C ack_wait=1h\n"
                            "publish s.a rate=10/s count=20\n"
                            "workers 1 batch=1 handle=100ms\n"
                            "at 1050ms crash worker 1 for 1s\n"
                            "expect no_loss drained_within=1m\n");
    assert_int_equal(r.verdict, SIM_LIVENESS_FAILURE);
    assert_non_null(strstr(r.first_violation, "drained_within: 1 job(s) still open 60.0 s"));
    assert_true(r.events < 200);
}

/* A run on a server jetsim did not start refuses, before it connects,
 * the faults SIM_FAULTS says its target cannot make: signals need a
 * spawned server, network faults a loopback one for their proxy. */
static void test_url_run_refuses_faults_its_target_cannot_make(void **state)
{
    (void)state;
    static const struct {
        const char *fault, *url, *want;
    } cases[] = {
        {"at 1s restart server", "nats://127.0.0.1:1", "line 5: 'restart server' needs a server jetsim started"},
        {"at 1s pause server for 1s", "nats://127.0.0.1:1", "line 5: 'pause server' needs a server jetsim started"},
        {"at 1s cut connections for 1s", "nats://0.0.0.0:1", "line 5: 'cut connections' needs a loopback server"},
        {"at 1s delay connections 5ms for 1s", "nats://0.0.0.0:1",
         "line 5: 'delay connections' needs a loopback server"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "stream X subjects=x.>\nconsumer X C\npublish x.a count=1\nworkers 1\n%s\n",
                 cases[i].fault);
        if (sim_scenario_parse(&sc, "t.scn", text, strlen(text)) != PS_OK)
            fail_msg("%s", ps_last_error());
        sim_real_options o = {.url = cases[i].url};
        sim_target *t = NULL;
        assert_int_equal(sim_target_real_new(&t, &o), PS_OK);
        sim_result r;
        assert_int_equal(sim_run_on(&sc, text, 1, ":memory:", NULL, t, &r), PS_ERR_INVALID_ARG);
        sim_target_free(t);
        if (strncmp(ps_last_error(), cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("%s: %s", cases[i].fault, ps_last_error());
    }
}

int main(void)
{
    find_scenarios();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_scenario_and_seed_give_the_same_trace),
        cmocka_unit_test(test_shipped_scenarios_pass_except_the_buggy_one),
        cmocka_unit_test(test_shrunk_buggy_scenario_still_fails_no_loss),
        cmocka_unit_test(test_retry_outside_the_dedup_window_is_caught),
        cmocka_unit_test(test_redelivery_after_a_server_crash_is_not_a_dedup_failure),
        cmocka_unit_test(test_a_lost_jobs_report_matches_its_database_row),
        cmocka_unit_test(test_a_lost_jobs_report_reads_a_database_in_memory),
        cmocka_unit_test(test_parallel_workers_break_per_key_order),
        cmocka_unit_test(test_key_header_keeps_per_key_order_through_retries),
        cmocka_unit_test(test_dead_letters_end_jobs_that_fail_for_good),
        cmocka_unit_test(test_not_early_catches_a_worker_that_ignores_the_time),
        cmocka_unit_test(test_delayed_jobs_wait_for_their_time),
        cmocka_unit_test(test_deliver_by_start_time_is_resolved_at_creation),
        cmocka_unit_test(test_ack_policies_none_and_all),
        cmocka_unit_test(test_partitioned_worker_commits_but_its_acks_are_lost),
        cmocka_unit_test(test_drain_deadline_waits_for_the_publishers),
        cmocka_unit_test(test_acknowledged_messages_lost_by_the_server_are_a_finding),
        cmocka_unit_test(test_a_published_job_is_delivered_at_once),
        cmocka_unit_test(test_crash_before_handle_kills_a_built_in_worker),
        cmocka_unit_test(test_idle_workers_cost_no_events),
        cmocka_unit_test(test_a_run_with_nothing_due_ends_without_polling),
        cmocka_unit_test(test_url_run_refuses_faults_its_target_cannot_make),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
