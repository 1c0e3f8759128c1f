/* conformance.h — the one conformance suite every backend must pass.
 *
 * The suite is written only against the contract (the ps_* wrappers of
 * ps_backend.h) and checks the rules of docs/MODEL.md, each test citing the
 * rule it pins. A backend runs it through a small fixture (in the manner of
 * go-cloud's drivertest): fixture_memory.c builds the memory backend on a
 * manual clock; the JetStream backend's fixture starts from a real
 * nats-server 2.9.10 and runs the very same tests in real time.
 *
 * Rules for tests (so that they hold on both kinds of fixture):
 *  - time only moves through f->advance (conf_advance_ms); never sleep;
 *  - a fetch on the manual clock never blocks: it returns what is
 *    deliverable now, or PS_ERR_TIMEOUT; a server returns the same messages,
 *    possibly at the request's expiry, so timing checks leave margins;
 *  - every resource a helper hands out (consumer handles, message lists,
 *    infos) is tracked and released after the test, even when it fails.
 *
 * This file is not: a backend test harness of its own. What only one
 * backend has is tested in that backend's unit tests.
 */
#ifndef CONFORMANCE_H
#define CONFORMANCE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "ps_backend.h"
#include "ps_clock.h"

/* ---- the fixture ------------------------------------------------------- */

typedef struct conf_fixture conf_fixture;
struct conf_fixture {
    const char *name;  /* "memory", "jetstream" */
    ps_backend *b;     /* valid between setup and teardown */
    ps_clock *clock;   /* the backend's clock */
    bool real_time;    /* true against a real server: advance() sleeps */
    /* A fresh, empty backend (PS_OK), before each test. */
    ps_status (*setup)(conf_fixture *f);
    /* Releases what setup made (on a server: deletes every stream). The
     * suite has already removed its advisory handler and freed every
     * consumer handle and message of the test. */
    void (*teardown)(conf_fixture *f);
    /* Manual clock: advance by ns, then ps_backend_tick. Real clock: sleep
     * ns. advance(f, 0) must still run the backend's due work. */
    void (*advance)(conf_fixture *f, int64_t ns);
    /* A server restart of the given kind (JS 13.1), returning when the
     * server serves again; f->b and the test's consumer handles stay
     * usable. NULL: no restarts (those tests are skipped, with a printed
     * reason); PS_ERR_NOT_SUPPORTED: not this kind (the same). */
    ps_status (*restart)(conf_fixture *f, ps_restart_kind kind);
    /* After each test, before teardown: the backend's own consistency
     * checks (ps_memory_check); a failure fails the test. NULL: none. */
    ps_status (*check)(conf_fixture *f);
    void *priv; /* the fixture's own state */
};

/* Runs the whole suite against `f`; returns the number of failed tests. */
int conf_run_all(conf_fixture *f);

/* The memory backend's fixture (conf_memory.c): a new backend on a new
 * manual clock per test, ps_memory_check after each. */
conf_fixture conf_memory_fixture(const char *name);

/* A test body receives the fixture as `f`:
 *     CONF_TEST(test_js3_4_x) { conf_pub(f, "a", "x"); ... }
 * and is listed once, in conformance_main.c. */
#define CONF_TEST(name)                                                        \
    static void name##_body(conf_fixture *f);                                  \
    void name(void **state);                                                   \
    void name(void **state) { name##_body((conf_fixture *)*state); }           \
    static void name##_body(conf_fixture *f)

/* ---- timing constants (short enough for a real server) ---------------- */

#define CONF_MS PS_NS_PER_MS
/* Expiry of an ordinary fetch: what a server waits at most before it
 * answers a request it cannot fill. */
#define CONF_EXPIRES_NS (100 * CONF_MS)
/* Slack added after a deadline before expecting its effect, and kept
 * before a deadline when checking "not yet", for a server's jitter. */
#define CONF_MARGIN_MS 60
/* Expiry of a fetch that expects nothing. */
#define CONF_NONE_EXPIRES_NS (30 * CONF_MS)
/* How long to let a server publish advisories after an action. */
#define CONF_SETTLE_MS 20

/* ---- where a helper was called from ------------------------------------------- */

/* Every helper below is a macro that records the caller's file and line
 * before calling its function, so a failure inside a helper is reported at
 * the line of the test that called it. */
void conf_here(const char *file, int line);
#define CONF_CALL(fn, ...) (conf_here(__FILE__, __LINE__), fn(__VA_ARGS__))

/* Prints the message and fails the test at the recorded caller's line. */
void conf_failf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* ---- errors --------------------------------------------------------------- */

/* Asserts `got == want`, that ps_last_error_code() is `code` (when code is
 * not 0) and that ps_last_error() contains `text` (when not NULL). */
void conf_expect_error_impl(ps_status got, ps_status want, int code, const char *text);
#define conf_expect_error(...) CONF_CALL(conf_expect_error_impl, __VA_ARGS__)

/* Asserts PS_OK, printing the last error otherwise. */
void conf_ok_impl(ps_status s, const char *what);
#define conf_ok(s) CONF_CALL(conf_ok_impl, (s), #s)

/* ---- streams ------------------------------------------------------------------- */

/* Subjects as a designated-initializer fragment:
 *     ps_stream_config c = {.name = "S", CONF_SUBJ("s.a", "s.b")}; */
#define CONF_SUBJ(...)                                                         \
    .subjects = (const char *const[]){__VA_ARGS__},                            \
    .subjects_len = (int)(sizeof((const char *const[]){__VA_ARGS__}) /         \
                          sizeof(const char *))

/* Creates the stream (or gets the identical existing one, JS 2.3); fails
 * the test otherwise. Returns its info, tracked. */
ps_stream_info *conf_stream_cfg_impl(conf_fixture *f, const ps_stream_config *c);
#define conf_stream_cfg(...) CONF_CALL(conf_stream_cfg_impl, __VA_ARGS__)

/* Updates the stream; fails the test otherwise. Returns the new info,
 * tracked. */
ps_stream_info *conf_stream_update_impl(conf_fixture *f, const ps_stream_config *c);
#define conf_stream_update(...) CONF_CALL(conf_stream_update_impl, __VA_ARGS__)

/* A stream `name` on one subject pattern with the given retention, file
 * storage (the server's default) and everything else defaulted. */
void conf_stream_impl(conf_fixture *f, const char *name, const char *subject, ps_retention r);
#define conf_stream(...) CONF_CALL(conf_stream_impl, __VA_ARGS__)

/* A tracked stream info (released after the test). */
ps_stream_info *conf_sinfo_impl(conf_fixture *f, const char *stream);
#define conf_sinfo(...) CONF_CALL(conf_sinfo_impl, __VA_ARGS__)

/* The state part of a stream info. */
#define conf_state(f, stream) (conf_sinfo((f), (stream))->state)

/* Gets a stored message (JS 10.1) by seq, or the last on `last_by_subject`
 * when not NULL; fails the test otherwise. Tracked. */
ps_stored_msg *conf_msg_get_impl(conf_fixture *f, const char *stream, uint64_t seq,
                                 const char *last_by_subject);
#define conf_msg_get(...) CONF_CALL(conf_msg_get_impl, __VA_ARGS__)

/* A new empty header list (ps_headers_new), tracked: released after the
 * test even when it fails before its end. */
ps_headers *conf_headers_impl(void);
#define conf_headers() CONF_CALL(conf_headers_impl)

/* ---- publishing ------------------------------------------------------------------- */

/* Publishes `data` (a string) on `subject`; asserts PS_OK and not a
 * duplicate; returns the sequence. */
uint64_t conf_pub_impl(conf_fixture *f, const char *subject, const char *data);
#define conf_pub(...) CONF_CALL(conf_pub_impl, __VA_ARGS__)

/* Same with a Nats-Msg-Id (NULL for none); returns the whole PubAck,
 * duplicates included. */
ps_pub_ack conf_pub_id_impl(conf_fixture *f, const char *subject, const char *data, const char *id);
#define conf_pub_id(...) CONF_CALL(conf_pub_id_impl, __VA_ARGS__)

/* Publishes n messages "m1".."mn"; asserts consecutive sequences; returns
 * the first. */
uint64_t conf_pub_n_impl(conf_fixture *f, const char *subject, int n);
#define conf_pub_n(...) CONF_CALL(conf_pub_n_impl, __VA_ARGS__)

/* Publishes and expects a failure, as conf_expect_error. */
void conf_pub_fail_impl(conf_fixture *f, const ps_out_msg *m, ps_status want, int code,
                        const char *text);
#define conf_pub_fail(...) CONF_CALL(conf_pub_fail_impl, __VA_ARGS__)

/* ---- consumers --------------------------------------------------------------------- */

/* Adds (or updates) a consumer; asserts PS_OK; the handle is tracked. */
ps_consumer *conf_consumer_impl(conf_fixture *f, const char *stream, const ps_consumer_config *cc);
#define conf_consumer(...) CONF_CALL(conf_consumer_impl, __VA_ARGS__)

/* A durable with AckExplicit and the given AckWait (0: the default). */
ps_consumer *conf_durable_impl(conf_fixture *f, const char *stream, const char *name,
                               int64_t ack_wait_ns);
#define conf_durable(...) CONF_CALL(conf_durable_impl, __VA_ARGS__)

/* Expects consumer creation to fail, as conf_expect_error. */
void conf_consumer_fail_impl(conf_fixture *f, const char *stream, const ps_consumer_config *cc,
                             ps_status want, int code, const char *text);
#define conf_consumer_fail(...) CONF_CALL(conf_consumer_fail_impl, __VA_ARGS__)

/* A tracked handle bound to an existing consumer. */
ps_consumer *conf_bind_impl(conf_fixture *f, const char *stream, const char *name);
#define conf_bind(...) CONF_CALL(conf_bind_impl, __VA_ARGS__)

/* Asserts that a refused consumer create left no consumer on `stream`. A
 * 2.9.10 cluster counts the refused consumer for a moment (its assignment
 * is proposed before the stream leader refuses it), so on a real server
 * this waits up to a second for the count to reach 0. */
void conf_expect_no_consumer_impl(conf_fixture *f, const char *stream);
#define conf_expect_no_consumer(...) CONF_CALL(conf_expect_no_consumer_impl, __VA_ARGS__)

/* A tracked consumer info (released after the test). */
ps_consumer_info *conf_cinfo_impl(ps_consumer *c);
#define conf_cinfo(...) CONF_CALL(conf_cinfo_impl, __VA_ARGS__)

/* Asserts the ConsumerInfo counters most tests care about (JS 9). */
void conf_expect_counts_impl(ps_consumer *c, uint64_t num_pending, uint64_t num_ack_pending,
                             uint64_t num_redelivered);
#define conf_expect_counts(...) CONF_CALL(conf_expect_counts_impl, __VA_ARGS__)

/* Asserts a (consumer_seq, stream_seq) pair such as an ack floor. */
#define conf_expect_pair(p, cseq, sseq)                                        \
    do {                                                                       \
        assert_int_equal((p).consumer_seq, (cseq));                            \
        assert_int_equal((p).stream_seq, (sseq));                              \
    } while (0)

/* ---- fetching and acking ------------------------------------------------------------- */

/* A fetch with a full request into a tracked list; returns the status. */
ps_status conf_fetch_req(ps_consumer *c, const ps_fetch_request *req, ps_msg_list **out);

/* Fetches up to `batch` (expiry CONF_EXPIRES_NS) into a tracked list and
 * asserts that exactly `expect` messages came (0: PS_ERR_TIMEOUT). Ask
 * for exactly what is available where timing matters: a server answers a
 * request it cannot fill only at its expiry. */
ps_msg_list *conf_fetch_impl(ps_consumer *c, int batch, int expect);
#define conf_fetch(...) CONF_CALL(conf_fetch_impl, __VA_ARGS__)

/* Fetches and asserts the exact stream sequences, in order:
 *     CONF_FETCH_SEQS(c, 2, 4, 1)  -> batch 2, expects seqs 4 then 1 */
ps_msg_list *conf_fetch_seqs_impl(ps_consumer *c, int batch, const uint64_t *seqs, int n);
#define CONF_FETCH_SEQS(c, batch, ...)                                         \
    CONF_CALL(conf_fetch_seqs_impl, (c), (batch), (const uint64_t[]){__VA_ARGS__}, \
              (int)(sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t)))

/* Fetches one message and asserts its stream sequence and delivery count
 * (num_delivered); returns it. */
ps_msg *conf_fetch_one_impl(ps_consumer *c, uint64_t seq, uint64_t dc);
#define conf_fetch_one(...) CONF_CALL(conf_fetch_one_impl, __VA_ARGS__)

/* Asserts that nothing is deliverable now: a fetch of 1 with the short
 * expiry CONF_NONE_EXPIRES_NS times out. The short expiry keeps a "not yet"
 * check made 2 * CONF_MARGIN_MS before a deadline from reaching it on a
 * server. */
void conf_fetch_none_impl(ps_consumer *c);
#define conf_fetch_none(...) CONF_CALL(conf_fetch_none_impl, __VA_ARGS__)

/* Acknowledges (nak_delay_ns with PS_NAK only); asserts PS_OK. */
void conf_ack_impl(ps_msg *m, ps_ack_kind kind, int64_t nak_delay_ns);
#define conf_ack(m, kind) CONF_CALL(conf_ack_impl, (m), (kind), 0)
#define conf_nak_delay(m, delay_ns) CONF_CALL(conf_ack_impl, (m), PS_NAK, (delay_ns))

/* Acks every message of a list with `kind`. */
void conf_ack_all_impl(ps_msg_list *l, ps_ack_kind kind);
#define conf_ack_all(...) CONF_CALL(conf_ack_all_impl, __VA_ARGS__)

/* ---- time ------------------------------------------------------------------------ */

void conf_advance_ms(conf_fixture *f, int64_t ms);

/* Lets a server deliver asynchronous advisories (a short advance). */
void conf_settle(conf_fixture *f);

/* ---- advisories (JS 11) ---------------------------------------------------------- */

#define CONF_ADV_MAX 64

typedef struct conf_adv {
    ps_advisory_kind kind;
    char subject[192];
    char type[96];
    char stream[PS_NAME_MAX_BUF];
    char consumer[PS_NAME_MAX_BUF];
    uint64_t stream_seq;
    uint64_t consumer_seq;
    uint64_t deliveries;
} conf_adv;

typedef struct conf_adv_log {
    conf_adv recs[CONF_ADV_MAX];
    int count;
} conf_adv_log;

/* Clears the suite's advisory log and registers it as the handler; the
 * handler is removed after the test. */
conf_adv_log *conf_adv_capture(conf_fixture *f);

/* Number of advisories of `kind` (for `consumer`, when not NULL). */
int conf_adv_count(const conf_adv_log *log, ps_advisory_kind kind, const char *consumer);

/* The nth (0-based) advisory of `kind`, or NULL. */
const conf_adv *conf_adv_find(const conf_adv_log *log, ps_advisory_kind kind, int nth);

/* ---- asynchronous pulls ------------------------------------------------------------- */

/* Starts a pull (ps_pull_start), asserts PS_OK; tracked (freed after the
 * test, before the consumer handles). */
ps_pull *conf_pull_start_impl(ps_consumer *c, ps_fetch_request req);
#define conf_pull_start(...) CONF_CALL(conf_pull_start_impl, __VA_ARGS__)

#define CONF_PULLED_MAX 32
/* How long a server gets to answer a pull that is not expected to end. */
#define CONF_PULL_SETTLE_MS 150

/* What polls of a pull gave: the messages (valid until the test ends) and
 * the last poll's end. */
typedef struct conf_pulled {
    int count;
    ps_msg *msgs[CONF_PULLED_MAX];
    ps_pull_end end;
} conf_pulled;

/* Polls the pull. On a manual clock once; on a server, over
 * CONF_PULL_SETTLE_MS, or with `until_done` until the pull ends (failing
 * after 2 s), so that answers in flight arrive. */
void conf_pull_collect_impl(conf_fixture *f, ps_pull *p, bool until_done, conf_pulled *out);
#define conf_pull_collect(...) CONF_CALL(conf_pull_collect_impl, __VA_ARGS__)

/* Asserts that the pull ended with this status, code and description. */
void conf_expect_pull_end_impl(const conf_pulled *r, ps_status status, int code, const char *desc);
#define conf_expect_pull_end(...) CONF_CALL(conf_expect_pull_end_impl, __VA_ARGS__)

/* ---- restarts ---------------------------------------------------------------------- */

/* Skips the test (printing why) when the fixture has no restart hook. */
void conf_require_restart(conf_fixture *f);

/* Restarts and asserts PS_OK; skips (printing why) when the fixture cannot
 * perform this kind of restart (PS_ERR_NOT_SUPPORTED). */
void conf_restart_impl(conf_fixture *f, ps_restart_kind kind);
#define conf_restart(...) CONF_CALL(conf_restart_impl, __VA_ARGS__)

/* ---- the suite's bookkeeping (conformance_main.c and conf_util.c) ----------------- */

void conf_track_begin(void);
void conf_track_end(conf_fixture *f);

#endif
