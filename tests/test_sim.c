/* test_sim.c — the user's own code in a run (ps_sim.h, sim/user.h): handlers
 * with their init and teardown, crash points, the user's database and its
 * faults, services, payloads, expect sql, and the errors a user sees.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "ps_sim.h"

/* ---- a module of test handlers --------------------------------------------------- */

static int inits, teardowns, handled, live_states;

static int counting_init(ps_sim_ctx *ctx, void **state)
{
    (void)ctx;
    inits++;
    live_states++;
    *state = &live_states;
    return 0;
}

static void counting_teardown(ps_sim_ctx *ctx, void *state)
{
    (void)ctx;
    assert_ptr_equal(state, &live_states);
    teardowns++;
}

/* Records the job in the user's database, once (idempotent). */
static ps_sim_outcome record_job(ps_sim_ctx *ctx, void *state, const ps_msg *msg)
{
    (void)state;
    (void)msg;
    handled++;
    sqlite3 *db = ps_sim_db(ctx);
    ps_sim_outcome retry = {.answer = PS_SIM_RETRY, .delay_ns = 100000000};
    if (!db)
        return retry;
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT OR IGNORE INTO done(job) VALUES (%llu)", (unsigned long long)ps_sim_job(ctx));
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return retry;
    ps_sim_sleep(ctx, 1000000);
    return (ps_sim_outcome){.answer = PS_SIM_ACK};
}

/* Calls the gateway with the job's key; retries on any failure. */
static ps_sim_outcome call_gateway(ps_sim_ctx *ctx, void *state, const ps_msg *msg)
{
    (void)state;
    (void)msg;
    char key[32];
    snprintf(key, sizeof key, "k%llu", (unsigned long long)ps_sim_job(ctx));
    if (ps_sim_call(ctx, "gw", key) != PS_OK)
        return (ps_sim_outcome){.answer = PS_SIM_RETRY, .delay_ns = 50000000};
    return (ps_sim_outcome){.answer = PS_SIM_ACK};
}

/* Checks the payload its maker wrote. */
static ps_sim_outcome check_payload(ps_sim_ctx *ctx, void *state, const ps_msg *msg)
{
    (void)state;
    char want[64];
    snprintf(want, sizeof want, "order %llu", (unsigned long long)ps_sim_job(ctx));
    assert_int_equal(msg->len, strlen(want));
    assert_memory_equal(msg->data, want, msg->len);
    return (ps_sim_outcome){.answer = PS_SIM_ACK};
}

static int order_payload(ps_sim_ctx *ctx, uint64_t job, int64_t key, char *buf, size_t cap)
{
    (void)ctx;
    (void)key;
    return snprintf(buf, cap, "order %llu", (unsigned long long)job);
}

static const ps_sim_handler handlers[] = {
    {.name = "record", .init = counting_init, .teardown = counting_teardown, .handle = record_job},
    {.name = "gateway", .handle = call_gateway},
    {.name = "payload", .handle = check_payload},
};
static const ps_sim_payload payloads[] = {{.name = "order", .make = order_payload}};
static const ps_sim_module module = {.version = PS_SIM_MODULE_VERSION,
                                     .handlers = handlers,
                                     .nhandlers = 3,
                                     .payloads = payloads,
                                     .npayloads = 1,
                                     .schema = "CREATE TABLE done(job INTEGER PRIMARY KEY);"};

#define HEAD                                                                                               \
    "stream S subjects=s.> retention=workqueue\n"                                                          \
    "consumer S C ack_wait=2s max_deliver=50\n"

static ps_sim_result run(const char *text, uint64_t seed)
{
    ps_sim_config cfg = {.module = &module, .scenario_text = text};
    ps_sim_result r;
    if (ps_sim_run(&cfg, seed, &r) != PS_OK)
        fail_msg("%s", ps_last_error());
    return r;
}

static void reset_counts(void)
{
    inits = teardowns = handled = live_states = 0;
}

/* ---- tests --------------------------------------------------------------------------- */

/* init once per worker, teardown at the end; a crash drops the state (no
 * teardown) and the restart inits again. */
static void test_init_and_teardown_around_a_crash(void **state)
{
    (void)state;
    reset_counts();
    ps_sim_result r = run(HEAD "publish s.a rate=100/s count=200\n"
                               "workers 2 handler=record\n"
                               "database\n"
                               "at 1s crash worker 1 for 500ms\n"
                               "expect no_loss sql \"SELECT count(*) FROM done\" =200\n",
                          1);
    if (r.verdict != PS_SIM_PASS)
        fail_msg("%s", r.violation);
    assert_int_equal(inits, 3);     /* two workers, one restart */
    assert_int_equal(teardowns, 3); /* the crash (memory only) and the two live at the end */
    assert_true(handled >= 200);
}

/* A worker that dies at its first row write commits nothing of that
 * attempt; the job comes back and is recorded once. */
static void test_crash_at_a_database_write_commits_nothing(void **state)
{
    (void)state;
    reset_counts();
    ps_sim_result r = run(HEAD "publish s.a rate=10/s count=20\n"
                               "workers 1 handler=record\n"
                               "database\n"
                               "at 500ms crash worker 1 at_db_write=1 for 1s\n"
                               "expect no_loss sql \"SELECT count(*) FROM done\" =20\n",
                          1);
    if (r.verdict != PS_SIM_PASS)
        fail_msg("%s", r.violation);
    assert_int_equal(inits, 2);
    assert_true(handled > 20); /* the interrupted attempt ran again */
}

/* A crash before the handler: the handler never sees that delivery. */
static void test_crash_before_handle_skips_the_handler(void **state)
{
    (void)state;
    reset_counts();
    ps_sim_result r = run(HEAD "publish s.a rate=10/s count=10\n"
                               "workers 1 handler=record\n"
                               "database\n"
                               "at 250ms crash worker 1 before_handle for 500ms\n"
                               "expect no_loss sql \"SELECT count(*) FROM done\" =10\n",
                          1);
    if (r.verdict != PS_SIM_PASS)
        fail_msg("%s", r.violation);
    assert_int_equal(handled, 10); /* the lost delivery came back after AckWait; none handled twice */
}

/* A failed expect sql names its line and the rows it did not want. */
static void test_a_failing_sql_check_names_its_line_and_rows(void **state)
{
    (void)state;
    ps_sim_result r = run(HEAD "publish s.a rate=100/s count=5\n"
                               "workers 1 handler=record\n"
                               "database\n"
                               "expect no_loss\n"
                               "expect sql \"SELECT job FROM done WHERE job > 3\" empty\n",
                          1);
    assert_int_equal(r.verdict, PS_SIM_SAFETY);
    assert_non_null(strstr(r.violation, "sql (line 7): expected no rows"));
    assert_non_null(strstr(r.violation, "got (4), (5)"));
}

/* A service refuses during its fault; with an idempotency key it acts once
 * per key however often it is asked; the ledger shows both. */
static void test_service_faults_and_idempotency_keys(void **state)
{
    (void)state;
    ps_sim_result r = run(HEAD "publish s.a rate=100/s count=100\n"
                               "workers 2 handler=gateway\n"
                               "service gw latency=10ms..100ms timeout=60ms\n"
                               "at 200ms fail service gw for 300ms\n"
                               "expect no_loss\n"
                               "expect sql \"SELECT count(*) FROM jetsim.service_calls WHERE done = 1\" =100\n"
                               "expect sql \"SELECT 1 FROM jetsim.service_calls WHERE done = 0 LIMIT 1\" =1\n",
                          3);
    if (r.verdict != PS_SIM_PASS)
        fail_msg("%s", r.violation);
}

/* A slow service answers past the caller's timeout: calls in its window
 * time out and are retried (a repeat of the key: no second act), and every
 * job was acted on once. Without the fault, no call is repeated. */
static void test_a_slow_service_times_out_and_still_acts(void **state)
{
    (void)state;
    ps_sim_result r = run(HEAD "publish s.a rate=10/s count=20\n"
                               "workers 1 handler=gateway\n"
                               "service gw latency=10ms timeout=100ms\n"
                               "at 0s slow service gw 200ms for 1s\n"
                               "expect no_loss\n"
                               "expect sql \"SELECT count(DISTINCT job) >= 3 FROM jetsim.service_calls WHERE done = 0\" =1\n"
                               "expect sql \"SELECT count(*) FROM jetsim.service_calls WHERE done = 1\" =20\n",
                          1);
    if (r.verdict != PS_SIM_PASS)
        fail_msg("%s", r.violation);
    r = run(HEAD "publish s.a rate=10/s count=20\n"
                 "workers 1 handler=gateway\n"
                 "service gw latency=10ms timeout=100ms\n"
                 "expect sql \"SELECT count(*) FROM jetsim.service_calls WHERE done = 0\" =0\n",
            1);
    if (r.verdict != PS_SIM_PASS)
        fail_msg("without the fault: %s", r.violation);
}

/* A payload maker's bytes reach the handler; the job number travels apart. */
static void test_payloads_reach_the_handler(void **state)
{
    (void)state;
    ps_sim_result r = run(HEAD "publish s.a rate=100/s count=30 payload=order\n"
                               "workers 2 handler=payload\n"
                               "expect no_loss\n",
                          1);
    if (r.verdict != PS_SIM_PASS)
        fail_msg("%s", r.violation);
    assert_int_equal(r.jobs_done, 30);
}

/* The same seed gives the same trace with the user's code in it. */
static void test_user_code_runs_are_deterministic(void **state)
{
    (void)state;
    const char *text = HEAD "publish s.a rate=100/s count=300\n"
                            "workers 3 handler=record\n"
                            "database\n"
                            "at 1s fail db 20% for 1s\n"
                            "at 2s power_loss db\n"
                            "expect no_loss\n";
    ps_sim_result a = run(text, 5), b = run(text, 5), c = run(text, 6);
    assert_true(a.trace_hash == b.trace_hash);
    assert_true(a.trace_hash != c.trace_hash);
}

/* A handler the module lacks: file:line:col and what the module has. */
static void test_an_unknown_handler_is_named_with_what_there_is(void **state)
{
    (void)state;
    ps_sim_config cfg = {.module = &module,
                         .scenario_text = HEAD "publish s.a\nworkers 1 handler=nope\nexpect no_loss\n"};
    ps_sim_result r;
    assert_int_equal(ps_sim_run(&cfg, 1, &r), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "scenario:4:1: handler=nope"));
    assert_non_null(strstr(ps_last_error(), "(it has: record, gateway, payload)"));
    cfg.module = NULL;
    assert_int_equal(ps_sim_run(&cfg, 1, &r), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "no handlers are loaded"));
}

/* A bad query is the user's input error, named by its line. */
static void test_a_bad_sql_check_is_an_input_error(void **state)
{
    (void)state;
    ps_sim_config cfg = {.module = &module,
                         .scenario_text = HEAD "publish s.a count=1\nworkers 1 handler=record\ndatabase\n"
                                               "expect sql \"SELECT x FROM nowhere\" empty\n"};
    ps_sim_result r;
    assert_int_equal(ps_sim_run(&cfg, 1, &r), PS_ERR_INVALID_ARG);
    assert_non_null(strstr(ps_last_error(), "scenario:6:8: expect sql: no such table: nowhere"));
}

/* A swarm counts its seeds' verdicts and keeps the first failure. */
static void test_swarm_counts_verdicts(void **state)
{
    (void)state;
    ps_sim_config cfg = {.module = &module,
                         .scenario_text = HEAD "publish s.a rate=100/s count=20\nworkers 1 handler=record\n"
                                               "database\nexpect sql \"SELECT count(*) FROM done\" =19\n"};
    ps_sim_swarm_result sw;
    assert_int_equal(ps_sim_swarm(&cfg, 1, 5, &sw), PS_OK);
    assert_int_equal(sw.seeds, 5);
    assert_int_equal(sw.safety, 5);
    assert_int_equal(sw.first_failing_seed, 1);
    assert_non_null(strstr(sw.first_failure.violation, "expected 19"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_teardown_around_a_crash),
        cmocka_unit_test(test_crash_at_a_database_write_commits_nothing),
        cmocka_unit_test(test_crash_before_handle_skips_the_handler),
        cmocka_unit_test(test_a_failing_sql_check_names_its_line_and_rows),
        cmocka_unit_test(test_service_faults_and_idempotency_keys),
        cmocka_unit_test(test_a_slow_service_times_out_and_still_acts),
        cmocka_unit_test(test_payloads_reach_the_handler),
        cmocka_unit_test(test_user_code_runs_are_deterministic),
        cmocka_unit_test(test_an_unknown_handler_is_named_with_what_there_is),
        cmocka_unit_test(test_a_bad_sql_check_is_an_input_error),
        cmocka_unit_test(test_swarm_counts_verdicts),
    };
    return cmocka_run_group_tests_name("sim (user code)", tests, NULL, NULL);
}
