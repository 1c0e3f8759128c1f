/* worker_patterns.c — the worker's job-system patterns (ps_worker.h), each
 * off unless configured, on the worker's state (worker_internal.h).
 *
 * A dead letter is published before the original is termed; a message not
 * yet due is naked to its time before any handler sees it; a message of a
 * busy key waits in its slot (WK_WAITING) and the next poll offers it
 * again. A key's messages go out in stream-sequence order, and a keyed
 * message naked for a retry leaves a blocker (its key and sequence): the
 * key's later messages wait for it to come back, as it will in the next
 * fetches, before anything new (JS 7.6). A fetch that brings a new message
 * (the server had no redelivery left), or a worker full of waiting
 * messages, ends the wait: the blocker is not coming soon (it went to
 * another worker, or its nak was lost and it comes back after AckWait).
 *
 * Not: fetching, answering or releasing messages, nor when the patterns
 * apply in a poll (worker.c).
 */
#include "worker_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ps_backend_impl.h"

/* ---- dead letters ---------------------------------------------------------------- */

/* Why m dies with result r ("term", "max_deliver"), or NULL: it does not. */
static const char *wk_dead_reason(const ps_worker *w, const ps_msg *m, ps_handle_result r)
{
    if (!w->dl_subject)
        return NULL;
    if (r == PS_HANDLE_TERM)
        return "term";
    if (r == PS_HANDLE_RETRY && w->dl_after > 0 && m->meta.num_delivered >= (uint64_t)w->dl_after)
        return "max_deliver";
    return NULL;
}

/* The dead letter's headers: m's own, except the JetStream ones (its
 * Nats-Msg-Id kept under another name), then where and why it died. */
static ps_status wk_dead_headers(ps_headers *h, ps_msg *m, const char *reason)
{
    const ps_headers *orig = m->hdr ? ps_msg_headers(m) : NULL;
    ps_status s = PS_OK;
    for (int i = 0; orig && s == PS_OK && i < ps_headers_count(orig); i++) {
        const char *name = ps_headers_name_at(orig, i), *value = ps_headers_value_at(orig, i);
        if (!strcasecmp(name, "Nats-Msg-Id"))
            s = ps_headers_add(h, PS_DEAD_MSG_ID_HEADER, value);
        else if (strncasecmp(name, "Nats-", 5))
            s = ps_headers_add(h, name, value);
    }
    char seq[24], dc[24];
    snprintf(seq, sizeof seq, "%" PRIu64, m->meta.stream_seq);
    snprintf(dc, sizeof dc, "%" PRIu64, m->meta.num_delivered);
    if (s == PS_OK)
        s = ps_headers_set(h, PS_DEAD_REASON_HEADER, reason);
    if (s == PS_OK)
        s = ps_headers_set(h, PS_DEAD_STREAM_HEADER, m->meta.stream ? m->meta.stream : "");
    if (s == PS_OK)
        s = ps_headers_set(h, PS_DEAD_SEQ_HEADER, seq);
    if (s == PS_OK)
        s = ps_headers_set(h, PS_DEAD_SUBJECT_HEADER, m->subject);
    if (s == PS_OK)
        s = ps_headers_set(h, PS_DEAD_DELIVERIES_HEADER, dc);
    return s;
}

/* Publishes m to the dead-letter subject; PS_OK only with its PubAck. */
static ps_status wk_dead_publish(ps_worker *w, ps_msg *m, const char *reason)
{
    ps_headers *h = ps_headers_new();
    if (!h)
        return ps_error(PS_ERR_NO_MEMORY, 0, "out of memory");
    ps_status s = wk_dead_headers(h, m, reason);
    char id[PS_NAME_MAX_BUF + 48];
    snprintf(id, sizeof id, "jetsim-dead:%s:%" PRIu64, m->meta.stream ? m->meta.stream : "", m->meta.stream_seq);
    ps_out_msg out = {.subject = w->dl_subject, .data = m->data, .len = m->len, .msg_id = id, .headers = h};
    if (s == PS_OK)
        s = ps_publish(w->b, &out, NULL);
    ps_headers_free(h);
    return s;
}

ps_handle_result wk_dead_letter(ps_worker *w, ps_msg *m, ps_handle_result r)
{
    const char *reason = wk_dead_reason(w, m, r);
    if (!reason)
        return r;
    ps_status s = wk_dead_publish(w, m, reason);
    if (s == PS_OK) {
        w->stats.dead_lettered++;
        if (w->on_dead) {
            w->cb_depth++;
            w->on_dead(w->user, m, reason);
            w->cb_depth--;
        }
        return PS_HANDLE_TERM;
    }
    char detail[384];
    snprintf(detail, sizeof detail, "dead letter (%s) to %s failed, naked for redelivery instead: %s", reason,
             w->dl_subject, ps_last_error());
    wk_report(w, m, PS_NAK, s, detail);
    return PS_HANDLE_RETRY;
}

/* ---- delayed jobs ---------------------------------------------------------------- */

/* Whether `k` bytes `needle` occur in `n` bytes `hay`: memchr for the
 * first byte, then a compare (glibc's memmem sets up a two-way search
 * first, several times the cost of scanning a short header block). */
static bool wk_has_bytes(const char *hay, size_t n, const char *needle, size_t k)
{
    for (const char *p = hay, *end = hay + n; (size_t)(end - p) >= k;) {
        p = memchr(p, needle[0], (size_t)(end - p) - k + 1);
        if (!p)
            return false;
        if (memcmp(p, needle, k) == 0)
            return true;
        p++;
    }
    return false;
}

int64_t wk_due_in(const ps_worker *w, ps_msg *m)
{
    if (!w->clock || !m->hdr)
        return 0;
    /* Header names are matched exactly: a block without the name among
     * its bytes has no such header, and need not be decoded (most
     * messages carry a Nats-Msg-Id and nothing else; decoding every
     * message's headers to learn that was 14% of a simulated job). */
    if (!wk_has_bytes(m->hdr, m->hdr_len, PS_NOT_BEFORE_HEADER, sizeof PS_NOT_BEFORE_HEADER - 1))
        return 0;
    const char *v = ps_msg_header(m, PS_NOT_BEFORE_HEADER);
    if (!v || !*v)
        return 0;
    char *end = NULL;
    errno = 0;
    long long t = strtoll(v, &end, 10);
    if (*end || errno) /* not a time: handled now, as documented */
        return 0;
    int64_t now = ps_clock_now(w->clock);
    if (t <= now)
        return 0;
    return t - now > PS_DURATION_MAX_NS ? PS_DURATION_MAX_NS : t - now;
}

void wk_nak_until_due(ps_worker *w, ps_msg *m, int64_t due_in)
{
    ps_status s = ps_ack(m, PS_NAK, due_in);
    if (s) {
        wk_report(w, m, PS_NAK, s, ps_last_error());
        return;
    }
    w->stats.naked++;
    w->stats.delayed++;
}

/* ---- per-key order --------------------------------------------------------------- */

/* The blocker of `key`, or NULL. */
static wk_blocker *wk_blocker_of(ps_worker *w, const char *key)
{
    for (int i = 0; i < w->nblockers; i++)
        if (!strcmp(w->blockers[i].key, key))
            return &w->blockers[i];
    return NULL;
}

/* Records that m (keyed) was naked and is expected back; false when it
 * cannot be (out of memory: the caller naks the key's followers instead,
 * as good an order as the server's redelivery queue gives). A key keeps
 * its lowest sequence. */
static bool wk_blocker_add(ps_worker *w, ps_msg *m, const char *key)
{
    wk_blocker *b = wk_blocker_of(w, key);
    if (b) {
        if (m->meta.stream_seq < b->seq)
            b->seq = m->meta.stream_seq;
        return true;
    }
    if (w->nblockers == w->capblockers) {
        int ncap = w->capblockers ? w->capblockers * 2 : 8;
        wk_blocker *nb = realloc(w->blockers, (size_t)ncap * sizeof *nb);
        if (!nb)
            return false;
        w->blockers = nb;
        w->capblockers = ncap;
    }
    char *k = wk_strdup(key);
    if (!k)
        return false;
    w->blockers[w->nblockers++] = (wk_blocker){k, m->meta.stream_seq};
    return true;
}

/* A fetch brought `m`: the blocker it is, if any, is gone. */
static void wk_blocker_arrived(ps_worker *w, ps_msg *m)
{
    const char *key = wk_key(w, m);
    wk_blocker *b = key ? wk_blocker_of(w, key) : NULL;
    if (!b || b->seq != m->meta.stream_seq)
        return;
    free(b->key);
    *b = w->blockers[--w->nblockers];
}

void wk_blockers_clear(ps_worker *w)
{
    for (int i = 0; i < w->nblockers; i++)
        free(w->blockers[i].key);
    w->nblockers = 0;
}

/* Slot i of bt is answered with a nak (nak true) or not at all: it comes
 * back, so the messages of its key waiting behind it must come back after
 * it, not be handled before it. Naked now, in order, they are redelivered
 * behind it (JS 7.6); unanswered, their AckWait ends after its own. */
static void wk_release_followers(ps_worker *w, wk_batch *bt, int i, bool nak)
{
    const char *key = wk_key(w, bt->list.msgs[i]);
    if (!key)
        return;
    wk_batch *next;
    for (wk_batch *ft = w->head; ft; ft = next) {
        next = ft->next; /* ft may be released below (never bt: slot i is open) */
        for (int j = 0; j < ft->list.count; j++) {
            ps_msg *f = ft->list.msgs[j];
            if (ft->slots[j] != WK_WAITING || !wk_key(w, f) || strcmp(wk_key(w, f), key))
                continue;
            if (nak) {
                ps_status s = ps_ack(f, PS_NAK, 0);
                if (s)
                    wk_report(w, f, PS_NAK, s, ps_last_error());
                else
                    w->stats.naked++;
            }
            if (wk_release_slot(w, ft, j))
                break;
        }
    }
}

void wk_key_answered(ps_worker *w, wk_batch *bt, int i, int sent, bool ok)
{
    ps_msg *m = bt->list.msgs[i];
    const char *key = wk_key(w, m);
    bool back = sent == PS_NAK && ok && (w->max_deliver <= 0 || m->meta.num_delivered < (uint64_t)w->max_deliver);
    if (key && sent != PS_ACK && sent != PS_TERM && !(back && wk_blocker_add(w, m, key)))
        wk_release_followers(w, bt, i, sent == PS_NAK);
}

bool wk_key_blocked(ps_worker *w, wk_batch *bt, int i)
{
    ps_msg *m = bt->list.msgs[i];
    const char *key = wk_key(w, m);
    if (!key)
        return false;
    const wk_blocker *b = wk_blocker_of(w, key);
    if (b && b->seq < m->meta.stream_seq)
        return true;
    bool ahead = true; /* slots before (bt, i) in fetch order */
    for (wk_batch *ot = w->head; ot; ot = ot->next)
        for (int j = 0; j < ot->list.count; j++) {
            if (ot == bt && j == i) {
                ahead = false;
                continue;
            }
            wk_slot st = ot->slots[j];
            uint64_t seq = ot->list.msgs[j]->meta.stream_seq;
            bool before = seq < m->meta.stream_seq || (seq == m->meta.stream_seq && ahead);
            bool holds = st == WK_HANDLING || st == WK_DEFERRED || (st == WK_WAITING && before);
            const char *k = holds ? wk_key(w, ot->list.msgs[j]) : NULL;
            if (k && !strcmp(k, key))
                return true;
        }
    return false;
}

void wk_blockers_update(ps_worker *w, wk_batch *bt)
{
    bool fresh = false;
    for (int i = 0; i < bt->list.count && w->nblockers > 0; i++) {
        wk_blocker_arrived(w, bt->list.msgs[i]);
        fresh |= bt->list.msgs[i]->meta.num_delivered == 1;
    }
    if (fresh)
        wk_blockers_clear(w);
}

/* Does any held message wait for something other than its key's blocker:
 * one handled or deferred? */
static bool wk_any_in_hand(const ps_worker *w)
{
    for (const wk_batch *bt = w->head; bt; bt = bt->next)
        for (int i = 0; i < bt->list.count; i++)
            if (bt->slots[i] == WK_HANDLING || bt->slots[i] == WK_DEFERRED)
                return true;
    return false;
}

/* Hands out the waiting messages whose key is free, oldest first; a
 * handler's answer may free or release others, so each pass starts over.
 * Returns how many were handed. */
static int wk_run_waiting(ps_worker *w)
{
    int handled = 0;
    bool again = w->key_header != NULL;
    while (again && !w->stop_requested) {
        again = false;
        for (wk_batch *bt = w->head; bt && !again; bt = bt->next)
            for (int i = 0; i < bt->list.count && !again; i++)
                if (bt->slots[i] == WK_WAITING && !wk_key_blocked(w, bt, i)) {
                    handled++;
                    wk_handle(w, bt, i);
                    again = true;
                }
    }
    return handled;
}

int wk_poll_waiting(ps_worker *w)
{
    int waited = wk_run_waiting(w);
    if (w->nblockers > 0 && w->in_flight >= w->max_in_flight && !wk_any_in_hand(w)) {
        /* full of messages waiting for blockers that cannot be fetched:
         * stop waiting rather than stall until their AckWait */
        wk_blockers_clear(w);
        waited += wk_run_waiting(w);
    }
    return waited;
}

void wk_followers_in_progress(ps_worker *w, ps_msg *m)
{
    const char *key = wk_key(w, m);
    for (wk_batch *bt = w->head; key && bt; bt = bt->next)
        for (int j = 0; j < bt->list.count; j++) {
            const char *k = bt->slots[j] == WK_WAITING ? wk_key(w, bt->list.msgs[j]) : NULL;
            if (k && !strcmp(k, key))
                ps_ack(bt->list.msgs[j], PS_IN_PROGRESS, 0);
        }
}
