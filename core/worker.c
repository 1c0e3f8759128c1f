/* worker.c — a durable pull consumer's worker (ps_worker.h): its
 * configuration, batches, answers, polling, deferred completion and stop.
 *
 * Messages live in batches: one ps_msg_list per fetch, kept on a FIFO of
 * held batches until every message in it is completed, then cleared and
 * kept as a spare (up to WK_SPARES_MAX) so its buffers serve later fetches.
 * Each message has a slot state; a batch counts its open slots.
 *
 * The job-system patterns (dead letters, delayed jobs, per-key order) are
 * worker_patterns.c's; the two files share the worker's state through
 * worker_internal.h.
 *
 * Not simulation code and not a backend: it reaches the server only through
 * ps_fetch, ps_ack and (dead letters) ps_publish, reads only the clock it
 * is given, and never sleeps.
 */
#include "worker_internal.h"

#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ps_backend_impl.h"
#include "ps_subject.h"

#define WK_SPARES_MAX 4

/* ---- construction ------------------------------------------------------------- */

static ps_status wk_check_config(const ps_worker_config *cfg)
{
    const char *fn = "ps_worker_new";
    if (!cfg)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: config is NULL", fn);
    if (!cfg->stream || !*cfg->stream)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: stream is required", fn);
    if (!cfg->consumer.durable || !*cfg->consumer.durable)
        return ps_error(PS_ERR_INVALID_ARG, 0,
                        "%s: consumer.durable is required (a worker drains a durable pull consumer)", fn);
    if (cfg->batch < 1)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: batch %d is less than 1", fn, cfg->batch);
    if (cfg->fetch_expires_ns < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: fetch_expires_ns is negative", fn);
    if (cfg->max_in_flight < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: max_in_flight %d is negative (0 means batch)", fn,
                        cfg->max_in_flight);
    if (!cfg->handler)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: handler is NULL", fn);
    if (cfg->nak_backoff_len < 0 || (cfg->nak_backoff_len > 0 && !cfg->nak_backoff_ns))
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: nak_backoff_len is %d but nak_backoff_ns is %s", fn,
                        cfg->nak_backoff_len, cfg->nak_backoff_ns ? "set" : "NULL");
    for (int i = 0; i < cfg->nak_backoff_len; i++)
        if (cfg->nak_backoff_ns[i] < 0)
            return ps_error(PS_ERR_INVALID_ARG, 0, "%s: nak_backoff_ns[%d] is negative", fn, i);
    if (cfg->dead_letter_subject && !ps_subject_is_literal(cfg->dead_letter_subject))
        return ps_error(PS_ERR_INVALID_ARG, 0,
                        "%s: dead_letter_subject '%s' is not a literal subject (no wildcards, no empty tokens)",
                        fn, cfg->dead_letter_subject);
    if (cfg->dead_letter_after < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: dead_letter_after %d is negative", fn, cfg->dead_letter_after);
    if (cfg->dead_letter_after > 0 && !cfg->dead_letter_subject)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: dead_letter_after is set but dead_letter_subject is NULL", fn);
    /* past max_deliver the server delivers no more: the job would stay in
     * the stream, neither done nor dead-lettered */
    if (cfg->dead_letter_after > 0 && cfg->consumer.max_deliver > 0 &&
        cfg->dead_letter_after > cfg->consumer.max_deliver)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: dead_letter_after %d is past the consumer's max_deliver %lld",
                        fn, cfg->dead_letter_after, (long long)cfg->consumer.max_deliver);
    if (cfg->key_header && !*cfg->key_header)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: key_header is empty (NULL for no per-key order)", fn);
    return PS_OK;
}

char *wk_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

static void wk_free_config(ps_worker *w)
{
    wk_blockers_clear(w);
    free(w->blockers);
    free(w->backoff_ns);
    free(w->dl_subject);
    free(w->key_header);
}

/* Copies what the config only lends; false when out of memory. */
static bool wk_copy_config(ps_worker *w, const ps_worker_config *cfg)
{
    if (cfg->nak_backoff_len > 0) {
        w->backoff_ns = malloc((size_t)cfg->nak_backoff_len * sizeof *w->backoff_ns);
        if (!w->backoff_ns)
            return false;
        memcpy(w->backoff_ns, cfg->nak_backoff_ns, (size_t)cfg->nak_backoff_len * sizeof *w->backoff_ns);
        w->backoff_len = cfg->nak_backoff_len;
    }
    if (cfg->dead_letter_subject && !(w->dl_subject = wk_strdup(cfg->dead_letter_subject)))
        return false;
    if (cfg->key_header && !(w->key_header = wk_strdup(cfg->key_header)))
        return false;
    w->dl_after = cfg->dead_letter_after ? cfg->dead_letter_after
                  : cfg->consumer.max_deliver > 0 ? cfg->consumer.max_deliver : 0;
    w->clock = cfg->clock;
    w->on_dead = cfg->on_dead_letter;
    w->max_deliver = cfg->consumer.max_deliver;
    return true;
}

ps_status ps_worker_new(ps_worker **out, ps_backend *b, const ps_worker_config *cfg)
{
    const char *fn = "ps_worker_new";
    ps_error_clear();
    if (!out)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: out is NULL", fn);
    if (!b)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: backend is NULL", fn);
    ps_status s = wk_check_config(cfg);
    if (s)
        return s;
    ps_worker *w = calloc(1, sizeof *w);
    if (!w)
        return ps_error(PS_ERR_NO_MEMORY, 0, "%s: out of memory", fn);
    if (!wk_copy_config(w, cfg)) {
        wk_free_config(w);
        free(w);
        return ps_error(PS_ERR_NO_MEMORY, 0, "%s: out of memory", fn);
    }
    s = ps_consumer_add(b, cfg->stream, &cfg->consumer, &w->consumer);
    if (s) {
        wk_free_config(w);
        free(w);
        return s; /* the detail is ps_consumer_add's */
    }
    w->b = b;
    w->handler = cfg->handler;
    w->on_error = cfg->on_error;
    w->user = cfg->user;
    w->batch = cfg->batch;
    w->max_in_flight = cfg->max_in_flight ? cfg->max_in_flight : cfg->batch;
    w->fetch_expires_ns = cfg->fetch_expires_ns;
    w->fetch_no_wait = cfg->fetch_no_wait;
    *out = w;
    return PS_OK;
}

/* ---- batches ------------------------------------------------------------------ */

static void wk_batch_destroy(wk_batch *bt)
{
    ps_msg_list_free(&bt->list);
    free(bt->slots);
    free(bt);
}

static wk_batch *wk_batch_take(ps_worker *w)
{
    wk_batch *bt = w->spares;
    if (bt) {
        w->spares = bt->next;
        w->nspares--;
        bt->next = NULL;
        return bt;
    }
    return calloc(1, sizeof *bt);
}

/* Back to the spares (cleared: its messages are gone, its buffers stay). */
static void wk_batch_give(ps_worker *w, wk_batch *bt)
{
    ps_msg_list_clear(&bt->list);
    bt->open = 0;
    bt->prev = NULL;
    if (w->nspares >= WK_SPARES_MAX) {
        wk_batch_destroy(bt);
        return;
    }
    bt->next = w->spares;
    w->spares = bt;
    w->nspares++;
}

static void wk_held_append(ps_worker *w, wk_batch *bt)
{
    bt->next = NULL;
    bt->prev = w->tail;
    if (w->tail)
        w->tail->next = bt;
    else
        w->head = bt;
    w->tail = bt;
}

static void wk_held_unlink(ps_worker *w, wk_batch *bt)
{
    if (bt->prev)
        bt->prev->next = bt->next;
    else
        w->head = bt->next;
    if (bt->next)
        bt->next->prev = bt->prev;
    else
        w->tail = bt->prev;
    bt->prev = bt->next = NULL;
}

static bool wk_slots_reserve(wk_batch *bt, int n)
{
    if (n <= bt->slots_cap)
        return true;
    unsigned char *ns = realloc(bt->slots, (size_t)n);
    if (!ns)
        return false;
    bt->slots = ns;
    bt->slots_cap = n;
    return true;
}

/* The batch and index holding `m`, or NULL. */
static wk_batch *wk_find(ps_worker *w, const ps_msg *m, int *idx)
{
    for (wk_batch *bt = w->head; bt; bt = bt->next)
        for (int i = 0; i < bt->list.count; i++)
            if (bt->list.msgs[i] == m) {
                *idx = i;
                return bt;
            }
    return NULL;
}

/* ---- completing a message ------------------------------------------------------- */

void wk_report(ps_worker *w, const ps_msg *m, ps_ack_kind kind, ps_status st, const char *detail)
{
    w->stats.errors++;
    if (!w->on_error)
        return;
    w->cb_depth++;
    w->on_error(w->user, m, kind, st, detail);
    w->cb_depth--;
}

static int64_t wk_nak_delay(const ps_worker *w, const ps_msg *m)
{
    if (w->backoff_len == 0)
        return 0;
    uint64_t k = m->meta.num_delivered > 0 ? m->meta.num_delivered - 1 : 0;
    uint64_t last = (uint64_t)w->backoff_len - 1;
    return w->backoff_ns[k < last ? k : last];
}

/* Sends the answer for result r (after its dead letter, if it dies) and
 * counts it; delay >= 0 overrides a nak's configured delay, except for a
 * keyed message, whose naks are plain (see key_header). Returns the kind
 * sent; *ok says whether the backend took it. */
static ps_ack_kind wk_send_delay(ps_worker *w, ps_msg *m, ps_handle_result r, int64_t delay, bool *ok)
{
    *ok = false;
    ps_ack_kind kind;
    int64_t delay_ns = 0;
    bool dead_failed = false;
    if (r == PS_HANDLE_RETRY || r == PS_HANDLE_TERM) {
        ps_handle_result was = r;
        r = wk_dead_letter(w, m, r);
        dead_failed = was != r && r == PS_HANDLE_RETRY;
    }
    if (dead_failed)
        delay = -1; /* the configured backoff, not a delay asked for another answer */
    switch (r) {
    case PS_HANDLE_ACK:
        kind = PS_ACK;
        break;
    case PS_HANDLE_TERM:
        kind = PS_TERM;
        break;
    case PS_HANDLE_RETRY:
        kind = PS_NAK;
        delay_ns = delay >= 0 ? delay : wk_nak_delay(w, m);
        break;
    default: /* a handler bug: retrying is the choice that loses nothing */
        wk_report(w, m, PS_NAK, PS_ERR_INVALID_ARG, "the handler returned an unknown result; retrying");
        kind = PS_NAK;
        delay_ns = wk_nak_delay(w, m);
        break;
    }
    if (kind == PS_NAK && wk_key(w, m))
        delay_ns = 0; /* a delay would let its key's later messages overtake it */
    ps_status s = ps_ack(m, kind, delay_ns);
    if (s) {
        wk_report(w, m, kind, s, ps_last_error());
        return kind;
    }
    *ok = true;
    if (kind == PS_ACK)
        w->stats.acked++;
    else if (kind == PS_TERM)
        w->stats.termed++;
    else
        w->stats.naked++;
    return kind;
}

bool wk_release_slot(ps_worker *w, wk_batch *bt, int i)
{
    bt->slots[i] = WK_DONE;
    bt->open--;
    w->in_flight--;
    w->stats.in_flight = (uint64_t)w->in_flight;
    if (bt->open > 0)
        return false;
    wk_held_unlink(w, bt);
    wk_batch_give(w, bt);
    return true;
}

/* Answers slot i of bt for result r (delay as wk_send_delay; r
 * PS_HANDLE_DEFER: no answer), lets its key's waiting messages follow
 * (wk_key_answered) and releases it. Returns true when bt was released. */
static bool wk_finish(ps_worker *w, wk_batch *bt, int i, ps_handle_result r, int64_t delay)
{
    bool ok = false;
    int sent = r == PS_HANDLE_DEFER ? -1 : (int)wk_send_delay(w, bt->list.msgs[i], r, delay, &ok);
    if (w->key_header) /* tested here: a worker without per-key order pays no call a message */
        wk_key_answered(w, bt, i, sent, ok);
    return wk_release_slot(w, bt, i);
}

/* ---- stopping -------------------------------------------------------------------- */

/* Naks what is held, oldest fetch first, then releases everything. */
static void wk_stop_now(ps_worker *w)
{
    w->stopped = true; /* callbacks from here on see a closed worker */
    w->stop_requested = false;
    for (wk_batch *bt = w->head; bt; bt = bt->next)
        for (int i = 0; i < bt->list.count; i++) {
            if (bt->slots[i] == WK_DONE)
                continue;
            ps_msg *m = bt->list.msgs[i];
            /* JS 7.6: a plain nak queues it for immediate redelivery. */
            ps_status s = ps_ack(m, PS_NAK, 0);
            if (s)
                wk_report(w, m, PS_NAK, s, ps_last_error());
            else
                w->stats.naked++;
            bt->slots[i] = WK_DONE;
        }
    while (w->head) {
        wk_batch *bt = w->head;
        w->head = bt->next;
        wk_batch_destroy(bt);
    }
    w->tail = NULL;
    while (w->spares) {
        wk_batch *bt = w->spares;
        w->spares = bt->next;
        wk_batch_destroy(bt);
    }
    w->nspares = 0;
    wk_blockers_clear(w);
    w->in_flight = 0;
    w->stats.in_flight = 0;
}

/* After a public call whose callbacks asked for a stop. */
static void wk_stop_if_requested(ps_worker *w)
{
    if (w->stop_requested && w->cb_depth == 0 && !w->in_poll && !w->stopped)
        wk_stop_now(w);
}

ps_status ps_worker_stop(ps_worker *w)
{
    ps_error_clear();
    if (!w)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_worker_stop: worker is NULL");
    if (w->stopped)
        return PS_OK;
    if (w->cb_depth > 0 || w->in_poll) {
        w->stop_requested = true;
        return PS_OK;
    }
    wk_stop_now(w);
    return PS_OK;
}

void ps_worker_free(ps_worker *w)
{
    if (!w)
        return;
    if (!w->stopped)
        wk_stop_now(w);
    ps_consumer_free(w->consumer);
    wk_free_config(w);
    free(w);
}

/* ---- polling --------------------------------------------------------------------- */

bool wk_handle(ps_worker *w, wk_batch *bt, int i)
{
    bt->slots[i] = WK_HANDLING;
    w->cb_depth++;
    ps_handle_result r = w->handler(w->user, bt->list.msgs[i]);
    w->cb_depth--;
    if (r == PS_HANDLE_DEFER) {
        bt->slots[i] = WK_DEFERRED;
        w->stats.deferred++;
        return false;
    }
    return wk_finish(w, bt, i, r, -1);
}

/* Hands each message of a fresh batch to the handler, in delivery order,
 * until the batch is done or a stop is requested: one past
 * dead_letter_after goes to the dead letter, one not yet due is naked to
 * its time, one of a busy key waits. Returns how many were handed. */
static int wk_run_handlers(ps_worker *w, wk_batch *bt)
{
    int n = bt->list.count;
    int handled = 0;
    for (int i = 0; i < n && !w->stop_requested; i++) {
        if (w->dl_subject && w->dl_after > 0 && bt->list.msgs[i]->meta.num_delivered > (uint64_t)w->dl_after) {
            /* a spare delivery after a failed dead letter: try it again */
            if (wk_finish(w, bt, i, PS_HANDLE_RETRY, -1))
                break;
            continue;
        }
        int64_t due_in = wk_due_in(w, bt->list.msgs[i]);
        if (due_in > 0) {
            wk_nak_until_due(w, bt->list.msgs[i], due_in);
            if (wk_release_slot(w, bt, i))
                break;
            continue;
        }
        if (w->key_header && wk_key_blocked(w, bt, i)) {
            bt->slots[i] = WK_WAITING;
            w->stats.held_back++;
            continue;
        }
        handled++;
        /* Only the last open slot releases a batch, and the slots after i
         * are still queued, so a release ends the loop anyway. */
        if (wk_handle(w, bt, i))
            break;
    }
    return handled;
}

/* One poll (ps_worker_poll_max); its fetch waits up to expires_ns, or as
 * the config says when expires_ns is 0. */
static ps_status wk_poll(ps_worker *w, int max_fetch, int64_t expires_ns, int *handled, const char *fn)
{
    ps_error_clear();
    if (handled)
        *handled = 0;
    if (!w)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: worker is NULL", fn);
    if (w->cb_depth > 0 || w->in_poll)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: called from inside a handler or on_error", fn);
    if (w->stopped)
        return ps_error(PS_ERR_CLOSED, 0, "%s: the worker is stopped", fn);
    if (max_fetch < 1)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: max_fetch %d is less than 1", fn, max_fetch);
    w->in_poll = true;
    int waited = wk_poll_waiting(w);
    w->in_poll = false;
    if (handled)
        *handled = waited;
    if (w->stop_requested) {
        wk_stop_if_requested(w);
        ps_error_clear();
        return PS_OK;
    }
    int room = w->max_in_flight - w->in_flight;
    int n = room < w->batch ? room : w->batch;
    n = n < max_fetch ? n : max_fetch;
    if (n <= 0)
        return PS_OK; /* at the bound: asking the server would only stall */

    wk_batch *bt = wk_batch_take(w);
    if (!bt)
        return ps_error(PS_ERR_NO_MEMORY, 0, "%s: out of memory", fn);
    ps_fetch_request req = {.batch = n, .expires_ns = w->fetch_expires_ns, .no_wait = w->fetch_no_wait};
    if (expires_ns > 0)
        req = (ps_fetch_request){.batch = n, .expires_ns = expires_ns};
    ps_status s = ps_fetch(w->consumer, &req, &bt->list);
    if (s == PS_OK && bt->list.count == 0) /* the contract says >= 1; be safe */
        s = PS_ERR_TIMEOUT;
    if (s == PS_OK && !wk_slots_reserve(bt, bt->list.count))
        s = ps_error(PS_ERR_NO_MEMORY, 0, "%s: out of memory", fn);
    if (s) {
        /* Fetched messages dropped on a NO_MEMORY come back after AckWait. */
        wk_batch_give(w, bt);
        if (s == PS_ERR_TIMEOUT || s == PS_ERR_NO_MESSAGES) {
            ps_error_clear();
            return PS_OK;
        }
        w->stats.errors++;
        return s;
    }

    int count = bt->list.count;
    memset(bt->slots, WK_QUEUED, (size_t)count);
    bt->open = count;
    wk_held_append(w, bt);
    w->in_flight += count;
    w->stats.in_flight = (uint64_t)w->in_flight;
    w->stats.fetched += (uint64_t)count;

    w->in_poll = true;
    wk_blockers_update(w, bt);
    int done = wk_run_handlers(w, bt);
    w->in_poll = false;
    if (handled)
        *handled = waited + done;
    wk_stop_if_requested(w);
    ps_error_clear();
    return PS_OK;
}

ps_status ps_worker_poll(ps_worker *w, int *handled)
{
    return wk_poll(w, INT_MAX, 0, handled, "ps_worker_poll");
}

ps_status ps_worker_poll_max(ps_worker *w, int max_fetch, int *handled)
{
    return wk_poll(w, max_fetch, 0, handled, "ps_worker_poll_max");
}

ps_status ps_worker_poll_wait(ps_worker *w, int max_fetch, int64_t expires_ns, int *handled)
{
    if (expires_ns <= 0) {
        if (handled)
            *handled = 0;
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_worker_poll_wait: expires_ns %" PRId64 " is not positive",
                        expires_ns);
    }
    return wk_poll(w, max_fetch, expires_ns, handled, "ps_worker_poll_wait");
}

/* ---- completing deferred messages --------------------------------------------------- */

/* Completes deferred message m: the answer for `result` (a nak with
 * delay_ns, or the configured backoff when it is negative), or none at
 * all for PS_HANDLE_DEFER when `defer_ok`. `fn` names the caller in errors. */
static ps_status wk_complete(const char *fn, ps_worker *w, ps_msg *m, ps_handle_result result, int64_t delay_ns,
                             bool defer_ok)
{
    ps_error_clear();
    if (!w || !m)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: %s is NULL", fn, w ? "message" : "worker");
    if (w->stopped)
        return ps_error(PS_ERR_CLOSED, 0, "%s: the worker is stopped (its messages were naked)", fn);
    if (result != PS_HANDLE_ACK && result != PS_HANDLE_RETRY && result != PS_HANDLE_TERM &&
        !(defer_ok && result == PS_HANDLE_DEFER))
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: result %d is not ACK, RETRY, TERM%s", fn, (int)result,
                        defer_ok ? " or DEFER" : "");
    if (delay_ns > PS_DURATION_MAX_NS)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: delay %lld ns is out of range", fn, (long long)delay_ns);
    int i = 0;
    wk_batch *bt = wk_find(w, m, &i);
    if (!bt)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: the message is not held by this worker", fn);
    if (bt->slots[i] != WK_DEFERRED)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: the message is %s, not deferred", fn,
                        bt->slots[i] == WK_HANDLING ? "being handled (return the result instead)"
                        : bt->slots[i] == WK_DONE   ? "already completed"
                                                    : "not handled yet");
    /* DEFER: no answer at all; the server redelivers after AckWait */
    wk_finish(w, bt, i, result, delay_ns);
    wk_stop_if_requested(w);
    ps_error_clear();
    return PS_OK;
}

ps_status ps_worker_complete(ps_worker *w, ps_msg *m, ps_handle_result result)
{
    return wk_complete("ps_worker_complete", w, m, result, -1, false);
}

ps_status ps_worker_complete_ex(ps_worker *w, ps_msg *m, ps_handle_result result, int64_t delay_ns)
{
    if (delay_ns < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_worker_complete_ex: delay %lld ns is out of range",
                        (long long)delay_ns);
    return wk_complete("ps_worker_complete_ex", w, m, result, delay_ns, true);
}

ps_status ps_worker_in_progress(ps_worker *w, ps_msg *m)
{
    const char *fn = "ps_worker_in_progress";
    ps_error_clear();
    if (!w || !m)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: %s is NULL", fn, w ? "message" : "worker");
    if (w->stopped)
        return ps_error(PS_ERR_CLOSED, 0, "%s: the worker is stopped (its messages were naked)", fn);
    int i = 0;
    wk_batch *bt = wk_find(w, m, &i);
    if (!bt || bt->slots[i] == WK_DONE)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: the message is not held by this worker", fn);
    ps_status s = ps_ack(m, PS_IN_PROGRESS, 0);
    wk_followers_in_progress(w, m);
    return s;
}

/* ---- inspection ------------------------------------------------------------------ */

ps_status ps_worker_stats_get(const ps_worker *w, ps_worker_stats *out)
{
    ps_error_clear();
    if (!w || !out)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_worker_stats_get: %s is NULL", w ? "out" : "worker");
    *out = w->stats;
    return PS_OK;
}

ps_consumer *ps_worker_consumer(ps_worker *w)
{
    return w ? w->consumer : NULL;
}
