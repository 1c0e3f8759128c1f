/* charge_card.c — a job handler that charges a card through a payment
 * gateway and records the charge in its database, written against
 * jetsim's simulation API (ps_sim.h) so that jetsim can run it under
 * crashes, lost acks, redeliveries, gateway timeouts and database faults.
 *
 * Two handlers:
 *   charge_card        correct: idempotent by job. It looks for its own
 *                      record first, and charges with an idempotency key
 *                      (the gateway acts once per key), so a redelivery
 *                      after a crash, a lost ack or a timed-out call that
 *                      did charge never charges twice.
 *   charge_card_buggy  the common mistake: no idempotency key and no look
 *                      at its own records. A gateway call that times out
 *                      after charging, or a database write that fails
 *                      after the charge, makes the job come back, and the
 *                      card is charged again.
 * and a payload maker, charge_request, that writes "card=... amount=...".
 *
 * Built as a shared library for `jetsim run|swarm|shrink --handlers`, and
 * linked into the unit tests (test_charge_card.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "ps_sim.h"

#define MS (INT64_C(1000000))

static ps_sim_outcome answer(ps_sim_answer a, int64_t delay_ns)
{
    ps_sim_outcome o = {.answer = a, .delay_ns = delay_ns};
    return o;
}

/* "card=4111-0000-0000-1234 amount=2599" */
static int charge_request(ps_sim_ctx *ctx, uint64_t job, int64_t key, char *buf, size_t cap)
{
    (void)job;
    (void)key;
    unsigned card = (unsigned)(ps_sim_rand(ctx) % 10000);
    unsigned amount = 100 + (unsigned)(ps_sim_rand(ctx) % 99900);
    int n = snprintf(buf, cap, "card=4111-0000-0000-%04u amount=%u", card, amount);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* Reads "card=... amount=..." of the message. */
static int parse(const ps_msg *msg, char *card, size_t cap, long *amount)
{
    char text[128];
    size_t n = msg->len < sizeof text - 1 ? msg->len : sizeof text - 1;
    memcpy(text, msg->data, n);
    text[n] = '\0';
    const char *c = strstr(text, "card="), *a = strstr(text, "amount=");
    if (!c || !a)
        return -1;
    size_t len = strcspn(c + 5, " ");
    if (len == 0 || len >= cap)
        return -1;
    memcpy(card, c + 5, len);
    card[len] = '\0';
    *amount = strtol(a + 7, NULL, 10);
    return *amount > 0 ? 0 : -1;
}

/* A worker's prepared statements, for the connection they were made on
 * (after a database power loss the worker gets a new one). */
typedef struct worker_state {
    sqlite3 *db;
    sqlite3_stmt *find, *insert, *replace;
} worker_state;

static void forget(worker_state *w)
{
    sqlite3_finalize(w->find);
    sqlite3_finalize(w->insert);
    sqlite3_finalize(w->replace);
    w->find = w->insert = w->replace = NULL;
    w->db = NULL;
}

static int prepared(worker_state *w, sqlite3 *db)
{
    if (w->db == db)
        return 0;
    forget(w);
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM charges WHERE job = ?", -1, &w->find, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO charges(job, card, amount, charged_ns) VALUES (?, ?, ?, ?)", -1,
                           &w->insert, NULL) != SQLITE_OK ||
        /* the buggy handler's insert never fails on a job it saw before: its
         * retries "work", and hide that each one charged again */
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO charges(job, card, amount, charged_ns) VALUES (?, ?, ?, ?)",
                           -1, &w->replace, NULL) != SQLITE_OK) {
        forget(w);
        return -1;
    }
    w->db = db;
    return 0;
}

static int init(ps_sim_ctx *ctx, void **state)
{
    (void)ctx;
    *state = calloc(1, sizeof(worker_state));
    return *state ? 0 : -1;
}

/* At the end, and when the worker crashes (then only to free memory). */
static void teardown(ps_sim_ctx *ctx, void *state)
{
    (void)ctx;
    forget(state);
    free(state);
}

/* 1: job already charged and recorded; 0: not; -1: the database failed. */
static int recorded(worker_state *w, uint64_t job)
{
    sqlite3_bind_int64(w->find, 1, (sqlite3_int64)job);
    int rc = sqlite3_step(w->find);
    sqlite3_reset(w->find);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int record(ps_sim_ctx *ctx, worker_state *w, uint64_t job, const char *card, long amount, int buggy)
{
    sqlite3_stmt *st = buggy ? w->replace : w->insert;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)job);
    sqlite3_bind_text(st, 2, card, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, amount);
    sqlite3_bind_int64(st, 4, ps_sim_now(ctx));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static ps_sim_outcome charge(ps_sim_ctx *ctx, worker_state *w, const ps_msg *msg, int buggy)
{
    sqlite3 *db = ps_sim_db(ctx);
    uint64_t job = ps_sim_job(ctx);
    char card[64];
    long amount = 0;
    if (parse(msg, card, sizeof card, &amount) != 0)
        return answer(PS_SIM_TERM, 0); /* a malformed request never gets better */
    if (!db || prepared(w, db) != 0)
        return answer(PS_SIM_RETRY, 500 * MS);
    ps_sim_sleep(ctx, 2 * MS); /* validation, fraud checks */
    if (!buggy) {
        int done = recorded(w, job);
        if (done < 0)
            return answer(PS_SIM_RETRY, 200 * MS);
        if (done)
            return answer(PS_SIM_ACK, 0); /* charged before: the ack was lost, or we crashed before it */
    }
    char key[48];
    snprintf(key, sizeof key, "charge-%" PRIu64, job); /* the gateway acts once per key */
    if (ps_sim_call(ctx, "gateway", buggy ? NULL : key) != PS_OK)
        return answer(PS_SIM_RETRY, 500 * MS); /* refused or timed out: try again later */
    if (record(ctx, w, job, card, amount, buggy) != 0)
        return answer(PS_SIM_RETRY, 200 * MS);
    return answer(PS_SIM_ACK, 0);
}

static ps_sim_outcome charge_card(ps_sim_ctx *ctx, void *state, const ps_msg *msg)
{
    return charge(ctx, state, msg, 0);
}

static ps_sim_outcome charge_card_buggy(ps_sim_ctx *ctx, void *state, const ps_msg *msg)
{
    return charge(ctx, state, msg, 1);
}

static const ps_sim_handler handlers[] = {
    {.name = "charge_card", .init = init, .teardown = teardown, .handle = charge_card},
    {.name = "charge_card_buggy", .init = init, .teardown = teardown, .handle = charge_card_buggy},
};

static const ps_sim_payload payloads[] = {
    {.name = "charge_request", .make = charge_request},
};

static const ps_sim_module module = {
    .version = PS_SIM_MODULE_VERSION,
    .handlers = handlers,
    .nhandlers = 2,
    .payloads = payloads,
    .npayloads = 1,
};

const ps_sim_module *jetsim_module(void);

const ps_sim_module *jetsim_module(void)
{
    return &module;
}
