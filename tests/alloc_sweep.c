/* alloc_sweep.c — allocation-failure sweeps (issue 10 item 6), in the
 * manner of SQLite's malloc tests: for every N, make the N-th allocation
 * fail (alloc_fail.h) and run again
 *
 *  - a slice of the conformance suite on the memory backend, case by case:
 *    each run must pass, or fail having reported PS_ERR_NO_MEMORY; after
 *    every run ps_memory_check must find the model consistent;
 *  - one simulator run (sim_run) of a small scenario with a crash, handler
 *    failures and redeliveries: it must end with an error status, or with
 *    the verdict of the run without failures;
 *  - a SQLite workload through the simulation VFS (sim/dbvfs.h): each step
 *    must go through or fail with an out-of-memory status, and the
 *    database must be sound afterwards;
 *
 * and, in an ASan build, no run may leak (a leak check after each run).
 * A failure that is dropped silently shows as a "wrong" outcome; a crash
 * ends the binary. Prints the number of injection points swept.
 *
 * Not a test of the JetStream backend (cnats allocates inside its own
 * shared library, where these wrappers do not reach).
 */
#include "alloc_fail.h"
#include "conformance.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "dbvfs.h"
#include "engine.h"
#include "mem_internal.h"
#include "ps_memory.h"
#include "scenario.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
static int leaked(void) { return __lsan_do_recoverable_leak_check(); }
#else
static int leaked(void) { return 0; }
#endif

/* The slice: publishing and dedup, limits, the retention policies, pull
 * requests, acks of every kind, redelivery (ack wait, nak, backoff,
 * MaxDeliver), purge, advisories and the restart model. */
static const char *const slice[] = {
    "test_js3_2_puback_names_stream_and_sequence",
    "test_js3_6_duplicate_returns_original_seq",
    "test_js3_6_dedup_entry_expires_after_window",
    "test_js3_7_max_msgs_per_subject_drops_oldest_of_subject",
    "test_js3_10_max_age_removes_expired_messages",
    "test_js4_2_workqueue_ack_removes_message",
    "test_js4_5_interest_removed_after_all_consumers_ack",
    "test_js4_8_eviction_of_pending_message_acts_as_term",
    "test_js5_3_update_ack_wait_reschedules_redelivery",
    "test_js6_2_last_per_subject_then_new",
    "test_js6_4_nak_redelivered_before_new_messages",
    "test_js6_4_expiries_redelivered_in_expiry_order",
    "test_js6_5_redelivery_after_ack_wait",
    "test_js6_6_backoff_timeline",
    "test_js6_7_max_deliver_exhaustion_is_lazy",
    "test_js6_8_max_ack_pending_stalls_without_error",
    "test_js6_12_headers_only_sends_size_header",
    "test_js7_3_ack_floor_moves_over_contiguous_acks",
    "test_js7_4_ack_all_acks_everything_below",
    "test_js7_6_nak_delay_with_backoff",
    "test_js7_7_in_progress_restarts_ack_wait",
    "test_js8_3_max_bytes_limits_the_batch",
    "test_js10_3_purge_resets_consumer_state",
    "test_js11_max_deliveries_advisory_fields",
    "test_js13_1_crash_rolls_consumer_state_back_only",
    "test_js13_1_dedup_and_last_msg_id_rebuilt",
};

typedef struct tally {
    uint64_t points;  /* runs in which the armed allocation failed */
    uint64_t passed;  /* ... and the run still passed */
    uint64_t errors;  /* ... and the run ended in a reported error */
    uint64_t wrong;   /* ... and the run failed with nothing reported, or the model was inconsistent */
    uint64_t leaks;
} tally;

/* ---- the memory fixture, recording what the checks find ----------------------------------- */

static bool g_inconsistent;
static char g_inconsistency[512];

/* An inconsistency is wrong whatever else the run reported. */
static ps_status sw_check(conf_fixture *f)
{
    ps_status s = ps_memory_check(f->b);
    if (s != PS_OK && !g_inconsistent) {
        g_inconsistent = true;
        snprintf(g_inconsistency, sizeof g_inconsistency, "%s", ps_last_error());
    }
    return s;
}

/* ---- running quietly ------------------------------------------------------------------------- */

static int g_saved_out = -1, g_saved_err = -1;

static void quiet(bool on)
{
    if (getenv("ALLOC_SWEEP_VERBOSE"))
        return;
    fflush(stdout);
    fflush(stderr);
    if (on) {
        int null = open("/dev/null", O_WRONLY);
        g_saved_out = dup(STDOUT_FILENO);
        g_saved_err = dup(STDERR_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(null);
    } else {
        dup2(g_saved_out, STDOUT_FILENO);
        dup2(g_saved_err, STDERR_FILENO);
        close(g_saved_out);
        close(g_saved_err);
    }
}

/* Runs one conformance case with the n-th allocation failing; the number
 * of failed tests (0 or 1). *fired: the allocation was reached; *reported:
 * PS_ERR_NO_MEMORY statuses the library recorded. */
static int run_case(conf_fixture *f, uint64_t n, bool *fired, uint64_t *reported)
{
    g_inconsistent = false;
    quiet(true);
    alloc_fail_arm(n);
    int failed = conf_run_all(f);
    *fired = alloc_fail_fired();
    *reported = alloc_fail_reported();
    alloc_fail_arm(0);
    quiet(false);
    return failed;
}

static void sweep_case(conf_fixture *f, const char *name, tally *t)
{
    setenv("CONF_FILTER", name, 1);
    bool fired = false;
    uint64_t reported = 0;
    if (run_case(f, 0, &fired, &reported) != 0 || g_inconsistent) {
        printf("  %s: FAILS WITHOUT INJECTION %s\n", name, g_inconsistency);
        t->wrong++;
        return;
    }
    uint64_t points = 0;
    for (uint64_t n = 1;; n++) {
        int failed = run_case(f, n, &fired, &reported);
        if (!fired)
            break; /* fewer than n allocations: every one has been failed once */
        points++;
        if (g_inconsistent) {
            printf("  WRONG %s, allocation %" PRIu64 ": model inconsistent: %s\n", name, n, g_inconsistency);
            t->wrong++;
        } else if (failed && reported == 0) {
            printf("  WRONG %s, allocation %" PRIu64 ": the case failed and no PS_ERR_NO_MEMORY was "
                   "reported (a dropped failure)\n", name, n);
            t->wrong++;
        } else if (failed) {
            t->errors++;
        } else {
            t->passed++;
        }
        if (getenv("ALLOC_SWEEP_LIST")) /* every outcome, to compare two builds */
            printf("  %s %" PRIu64 ": %s\n", name, n, failed ? "error" : "passed");
        if (leaked()) {
            printf("  LEAK %s, allocation %" PRIu64 "\n", name, n);
            t->leaks++;
        }
    }
    t->points += points;
}

/* ---- one simulator run ----------------------------------------------------------------------------- */

/* Crashes, handler failures, a nak storm and BackOff on a work queue; then
 * lost PubAcks (publish retries, dedup) and a crash of the server (the
 * restart model) on a file stream. */
static const char *const sim_texts[] = {
    "stream S subjects=s.> retention=workqueue\n"
    "consumer S C ack_wait=1s max_deliver=4 backoff=1s,2s\n"
    "publish s.a rate=200/s count=12 msg_id=job keys=3\n"
    "workers 2 batch=2 handle=5ms..30ms fail=20% idempotent=yes\n"
    "at 20ms crash worker 1 for 300ms\n"
    "at 40ms nak storm 30% for 100ms\n"
    "expect no_loss drained_within=1m\n",
    "stream S subjects=s.> retention=workqueue storage=file dupe_window=1m\n"
    "consumer S C ack_wait=500ms max_deliver=10\n"
    "publish s.a rate=100/s count=10 msg_id=job retry=5 retry_wait=50ms\n"
    "workers 2 batch=3 handle=10ms..40ms idempotent=yes\n"
    "at 10ms lose pubacks 40% for 60ms\n"
    "at 80ms restart server crash\n"
    "expect no_loss drained_within=1m\n",
};

static void sweep_sim(tally *t, const char *sim_text)
{
    static sim_scenario sc;
    if (sim_scenario_parse(&sc, "alloc.scn", sim_text, strlen(sim_text)) != PS_OK) {
        printf("  simulator scenario: %s\n", ps_last_error());
        t->wrong++;
        return;
    }
    sim_result base, r;
    alloc_fail_arm(0);
    ps_status s = sim_run(&sc, sim_text, 1, ":memory:", NULL, &base);
    if (s != PS_OK) {
        printf("  simulator run FAILS WITHOUT INJECTION: %s\n", ps_last_error());
        t->wrong++;
        return;
    }
    free(base.hashes);
    uint64_t total = alloc_fail_count();
    for (uint64_t n = 1;; n++) {
        alloc_fail_arm(n);
        s = sim_run(&sc, sim_text, 1, ":memory:", NULL, &r);
        bool fired = alloc_fail_fired();
        uint64_t reported = alloc_fail_reported();
        alloc_fail_arm(0);
        free(r.hashes);
        if (!fired)
            break;
        t->points++;
        if (s != PS_OK && reported) {
            t->errors++;
        } else if (s != PS_OK) {
            printf("  WRONG simulator, allocation %" PRIu64 ": %s without PS_ERR_NO_MEMORY: %s\n", n,
                   ps_status_name(s), ps_last_error());
            t->wrong++;
        } else if (r.verdict != base.verdict || r.trace_hash != base.trace_hash) {
            printf("  WRONG simulator, allocation %" PRIu64 ": ended PS_OK with verdict %d (want %d), "
                   "trace %016" PRIx64 " (want %016" PRIx64 "): a dropped failure\n", n, (int)r.verdict,
                   (int)base.verdict, r.trace_hash, base.trace_hash);
            t->wrong++;
        } else {
            t->passed++;
        }
        if (leaked()) {
            printf("  LEAK simulator, allocation %" PRIu64 "\n", n);
            t->leaks++;
        }
    }
    printf("  simulator run: %" PRIu64 " allocations without injection\n", total);
}

/* ---- a stream that outgrows small blocks ----------------------------------------------------- */

/* Enough ids that the dedup map's slots (16 B each, at most half full)
 * pass one region, and enough bytes that messages and dedup entries are
 * cut from regions: every big-memory path of mem_arena.c is reached. */
#define BULK_MSGS 66000

/* Publishes BULK_MSGS messages with ids on a fresh backend: 0 all went
 * through, 1 one failed with PS_ERR_NO_MEMORY (the rest not tried), 2
 * otherwise or the model was left inconsistent. *fired, *reported and
 * *count: the injection counters as the publishes left them. */
static int bulk_workload(ps_clock *clock, bool *fired, uint64_t *reported, uint64_t *count)
{
    ps_backend *b = NULL;
    ps_memory_options mo = {.clock = clock, .seed = 1};
    ps_status s = ps_memory_new(&b, &mo);
    const char *subjects[] = {"bulk.>"};
    ps_stream_config sc = {.name = "BULK", .subjects = subjects, .subjects_len = 1,
                           .storage = PS_STORAGE_MEMORY, .duplicates_ns = 120 * PS_NS_PER_SEC};
    if (s == PS_OK)
        s = ps_stream_add(b, &sc, NULL);
    char id[32], payload[64];
    memset(payload, 'b', sizeof payload);
    for (int i = 0; s == PS_OK && i < BULK_MSGS; i++) {
        snprintf(id, sizeof id, "job-%d", i);
        s = ps_publish_data(b, "bulk.jobs", payload, sizeof payload, id, NULL);
    }
    int out = s == PS_OK ? 0 : s == PS_ERR_NO_MEMORY ? 1 : 2;
    *fired = alloc_fail_fired();
    *reported = alloc_fail_reported();
    *count = alloc_fail_count();
    if (b) {
        alloc_fail_arm(0); /* the check must see the model, not fail itself */
        if (ps_memory_check(b) != PS_OK)
            out = 2;
    }
    ps_backend_close(b);
    return out;
}

static void sweep_bulk(tally *t)
{
    bool fired = false;
    uint64_t reported = 0, total = 0;
    alloc_fail_arm(0);
    mem_pool_trim();
    ps_clock *clock = ps_clock_manual_new(0); /* the test's, not swept */
    if (!clock || bulk_workload(clock, &fired, &reported, &total) != 0) {
        printf("  bulk memory workload FAILS WITHOUT INJECTION: %s\n", ps_last_error());
        t->wrong++;
        ps_clock_free(clock);
        return;
    }
    printf("  bulk memory workload: %" PRIu64 " allocations without injection\n", total);
    for (uint64_t n = 1;; n++) {
        mem_pool_trim(); /* every region mapped afresh, so every mmap is reached */
        alloc_fail_arm(n);
        uint64_t count = 0;
        int out = bulk_workload(clock, &fired, &reported, &count);
        alloc_fail_arm(0);
        size_t live = 0, cached = 0;
        mem_pool_stats(&live, &cached);
        if (!fired)
            break;
        t->points++;
        if (out == 2 || (out == 1 && reported == 0)) {
            printf("  WRONG bulk memory, allocation %" PRIu64 ": %s\n", n,
                   out == 2 ? "not out of memory, or the model inconsistent" : "nothing reported");
            t->wrong++;
        } else {
            t->errors += out == 1;
            t->passed += out == 0;
        }
        if (live != 0 || leaked()) {
            printf("  LEAK bulk memory, allocation %" PRIu64 " (%zu regions)\n", n, live);
            t->leaks++;
        }
    }
    ps_clock_free(clock);
}

/* ---- no allocation per message ------------------------------------------------------------------ */

#define PER_MSG_N 20000

/* Publishes (with ids) and acks PER_MSG_N messages on a work queue and
 * counts the allocations each phase makes: the store, its indexes and the
 * dedup window grow by blocks and doublings, so a phase may make a few
 * dozen, never one per message. The fetches are not counted (each
 * delivered message is the caller's ps_msg). Returns false when a phase
 * allocated per message. */
static bool per_message_allocations(void)
{
    ps_clock *clock = ps_clock_manual_new(0);
    ps_backend *b = NULL;
    ps_memory_options mo = {.clock = clock, .seed = 1};
    const char *subjects[] = {"pm.>"};
    ps_stream_config sc = {.name = "PM", .subjects = subjects, .subjects_len = 1,
                           .retention = PS_RETENTION_WORKQUEUE, .storage = PS_STORAGE_MEMORY,
                           .duplicates_ns = 120 * PS_NS_PER_SEC};
    ps_consumer_config cc = {.durable = "W"};
    ps_consumer *c = NULL;
    bool ok = clock && ps_memory_new(&b, &mo) == PS_OK && ps_stream_add(b, &sc, NULL) == PS_OK &&
              ps_consumer_add(b, "PM", &cc, &c) == PS_OK;
    char id[32], payload[128] = {0};
    alloc_fail_arm(0);
    for (int i = 0; ok && i < PER_MSG_N; i++) {
        snprintf(id, sizeof id, "job-%d", i);
        ok = ps_publish_data(b, "pm.jobs", payload, sizeof payload, id, NULL) == PS_OK;
    }
    uint64_t published = alloc_fail_count();
    ps_msg_list batch = {0};
    uint64_t acks = 0;
    while (ok && ps_fetch_batch(c, 100, 0, &batch) == PS_OK) {
        alloc_fail_arm(0);
        for (int i = 0; ok && i < batch.count; i++)
            ok = ps_ack(batch.msgs[i], PS_ACK, 0) == PS_OK;
        acks += alloc_fail_count();
        ps_msg_list_clear(&batch);
    }
    ps_msg_list_free(&batch);
    ps_consumer_free(c);
    ps_backend_close(b);
    ps_clock_free(clock);
    printf("  per message: %d published with ids: %" PRIu64 " allocations; acked: %" PRIu64 "\n",
           PER_MSG_N, published, acks);
    return ok && published < PER_MSG_N / 100 && acks < PER_MSG_N / 100;
}

/* ---- the simulation VFS ---------------------------------------------------------------------- */

/* Did a SQLite call fail for want of memory? The VFS answers SQLITE_NOMEM,
 * which SQLite may pass on as SQLITE_IOERR_NOMEM. */
static bool dbv_nomem(int rc)
{
    return (rc & 0xff) == SQLITE_NOMEM || rc == SQLITE_IOERR_NOMEM;
}

static int dbv_step(sqlite3 *db, int rc, const char *sql)
{
    return rc == SQLITE_OK ? sqlite3_exec(db, sql, NULL, NULL, NULL) : rc;
}

/* Transactions, a power loss, recovery: 0 when all of it went through
 * with the right row count, 1 when a step failed for want of memory (and
 * the database, opened again without injection, is sound), 2 otherwise.
 * *fired: the armed allocation failed (read before the check disarms). */
static int dbv_workload(ps_clock *clock, bool *fired)
{
    sim_dbvfs *v = NULL;
    ps_status s = sim_dbvfs_new(&v, "alloc-sweep", 1, clock);
    *fired = alloc_fail_fired();
    if (s != PS_OK)
        return s == PS_ERR_NO_MEMORY ? 1 : 2;
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2("a.db", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "alloc-sweep");
    rc = dbv_step(db, rc, "CREATE TABLE t(x BLOB)");
    rc = dbv_step(db, rc, "BEGIN; INSERT INTO t VALUES (zeroblob(3000)); INSERT INTO t VALUES (zeroblob(9000)); COMMIT");
    rc = dbv_step(db, rc, "PRAGMA cache_size=2; BEGIN; UPDATE t SET x = zeroblob(20000)");
    if (rc == SQLITE_OK && sim_dbvfs_power_loss(v) != PS_OK)
        rc = SQLITE_NOMEM;
    sqlite3_close_v2(db);
    db = NULL;
    sqlite3_stmt *st = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_open_v2("a.db", &db, SQLITE_OPEN_READWRITE, "alloc-sweep");
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE length(x) < 10000", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 2 ? SQLITE_OK : sqlite3_errcode(db);
    sqlite3_finalize(st);
    sqlite3_close_v2(db);
    int out = rc == SQLITE_OK ? 0 : dbv_nomem(rc) ? 1 : 2;
    *fired = alloc_fail_fired();
    if (out == 1) { /* the failure must not have corrupted anything */
        alloc_fail_arm(0);
        db = NULL;
        st = NULL;
        rc = sqlite3_open_v2("a.db", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "alloc-sweep");
        rc = rc == SQLITE_OK ? sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) : rc;
        if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok"))
            out = 2;
        sqlite3_finalize(st);
        sqlite3_close_v2(db);
    }
    sim_dbvfs_free(v);
    return out;
}

static void sweep_dbvfs(tally *t)
{
    ps_clock *clock = ps_clock_manual_new(0);
    alloc_fail_arm(0);
    bool fired = false;
    int base = clock ? dbv_workload(clock, &fired) : 2;
    printf("  simulation VFS workload: %" PRIu64 " allocations without injection\n", alloc_fail_count());
    if (base != 0) {
        printf("  simulation VFS workload FAILS WITHOUT INJECTION\n");
        t->wrong++;
        ps_clock_free(clock);
        return;
    }
    for (uint64_t n = 1;; n++) {
        alloc_fail_arm(n);
        int out = dbv_workload(clock, &fired);
        alloc_fail_arm(0);
        if (!fired)
            break;
        t->points++;
        if (out == 2) {
            printf("  WRONG simulation VFS, allocation %" PRIu64 ": a failure other than out of memory, "
                   "or a database not sound afterwards\n", n);
            t->wrong++;
        } else if (out == 1) {
            t->errors++;
        } else {
            t->passed++;
        }
        if (leaked()) {
            printf("  LEAK simulation VFS, allocation %" PRIu64 "\n", n);
            t->leaks++;
        }
    }
    ps_clock_free(clock);
}

static void print_tally(const char *what, const tally *t)
{
    printf("%s: %" PRIu64 " injection points swept: %" PRIu64 " passed anyway, %" PRIu64
           " ended in a reported error, %" PRIu64 " wrong, %" PRIu64 " leaked\n",
           what, t->points, t->passed, t->errors, t->wrong, t->leaks);
}

int main(int argc, char **argv)
{
    /* alloc_sweep CASE N: that case with the N-th allocation failing, not
     * quiet (with ALLOC_FAIL_BACKTRACE=1 it shows the failing call). */
    if (argc == 2 && strcmp(argv[1], "per-message") == 0) /* that check alone */
        return per_message_allocations() ? 0 : 1;
    bool sim_only = argc == 2;
    conf_fixture f = conf_memory_fixture("memory (allocation failures)");
    f.check = sw_check; /* records the first inconsistency, which no verdict may hide */
    tally conf = {0}, sim = {0}, dbv = {0};
    if (argc == 3 && strncmp(argv[1], "sim", 3) == 0) { /* sim N: the first run; sim2 N: the second */
        const char *sim_text = sim_texts[argv[1][3] == '2'];
        static sim_scenario sc;
        sim_result r;
        if (sim_scenario_parse(&sc, "alloc.scn", sim_text, strlen(sim_text)) != PS_OK)
            return 1;
        alloc_fail_arm(strtoull(argv[2], NULL, 10));
        ps_status s = sim_run(&sc, sim_text, 1, ":memory:", stdout, &r);
        printf("status %s (%s), verdict %d, trace %016" PRIx64 ", fired %d, reported %" PRIu64 "\n",
               ps_status_name(s), ps_last_error(), (int)r.verdict, r.trace_hash, alloc_fail_fired(),
               alloc_fail_reported());
        free(r.hashes);
        return 0;
    }
    if (argc == 3) {
        setenv("ALLOC_SWEEP_VERBOSE", "1", 1);
        setenv("CONF_FILTER", argv[1], 1);
        bool fired = false;
        uint64_t reported = 0;
        int failed = run_case(&f, strtoull(argv[2], NULL, 10), &fired, &reported);
        printf("failed %d, fired %d, reported %" PRIu64 ", inconsistent: %s\n", failed, fired, reported,
               g_inconsistent ? g_inconsistency : "no");
        return 0;
    }
    printf("allocation-failure sweep: %zu conformance cases on the memory backend, %zu simulator runs\n",
           sizeof slice / sizeof slice[0], sizeof sim_texts / sizeof sim_texts[0]);
    const char *list = getenv("ALLOC_SWEEP_CASES"); /* a file of case names: instead of the slice */
    FILE *lf = list && !sim_only ? fopen(list, "r") : NULL;
    char name[160];
    while (lf && fscanf(lf, "%159s", name) == 1)
        sweep_case(&f, name, &conf);
    if (lf)
        fclose(lf);
    for (size_t i = 0; !sim_only && !lf && i < sizeof slice / sizeof slice[0]; i++)
        sweep_case(&f, slice[i], &conf);
    unsetenv("CONF_FILTER");
    print_tally("conformance slice", &conf);
    for (size_t i = 0; i < sizeof sim_texts / sizeof sim_texts[0]; i++)
        sweep_sim(&sim, sim_texts[i]);
    print_tally("simulator runs", &sim);
    sweep_dbvfs(&dbv);
    print_tally("simulation VFS", &dbv);
    tally bulk = {0};
    sweep_bulk(&bulk);
    print_tally("bulk memory (regions)", &bulk);
    dbv.points += bulk.points; /* one tally for the closing lines */
    dbv.wrong += bulk.wrong;
    dbv.leaks += bulk.leaks;
    if (!per_message_allocations()) {
        printf("  WRONG: the publish or ack path allocates per message\n");
        dbv.wrong++;
    }
    bool ok = conf.wrong + conf.leaks + sim.wrong + sim.leaks + dbv.wrong + dbv.leaks == 0;
    /* closing lines in cmocka's form, which .ci/run's summary looks for */
    printf("[==========] %" PRIu64 " injection point(s) run.\n", conf.points + sim.points + dbv.points);
    printf("%s %" PRIu64 " wrong, %" PRIu64 " leaked\n", ok ? "[  PASSED  ]" : "[  FAILED  ]",
           conf.wrong + sim.wrong + dbv.wrong, conf.leaks + sim.leaks + dbv.leaks);
    printf("%s\n", ok ? "ALLOCATION SWEEP PASSED" : "ALLOCATION SWEEP FAILED");
    return ok ? 0 : 1;
}
