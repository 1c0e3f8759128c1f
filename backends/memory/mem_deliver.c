/* mem_deliver.c — the delivery engine of a pull consumer (docs/MODEL.md, JS 6-8).
 *
 * Per consumer: the pending set with its ack-wait timers (mem_pending.c),
 * the redelivery counts, the redelivery queue (a FIFO: JS 6.4), the ack
 * floor, and the scan position. Pull requests are served from it; acks update it.
 *
 * This file is not: consumer admin (mem_consumer.c), the restart model
 * (mem_restart.c), or the data structures of the pending set
 * (mem_pending.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem_internal.h"

/* JS 6.5: with BackOff, the step for the redelivery count. */
int64_t mem_backoff_wait(const mem_consumer *c, uint64_t sseq)
{
    uint64_t rdc = 0;
    mem_u64map_get(&c->rdc, sseq, &rdc);
    uint64_t i = rdc < (uint64_t)c->cfg.backoff_len ? rdc : (uint64_t)c->cfg.backoff_len - 1;
    return c->cfg.backoff_ns[i];
}

/* Empties the pending set and the redelivery queue (a restart). */
void mem_deliver_clear(mem_consumer *c)
{
    mem_pend_clear(c);
    c->rdq_live = 0;
    c->rdq_pushed = c->rdq_popped = 0;
    mem_fifo_clear(&c->rdq);
    mem_u64map_clear(&c->rdq_bare);
}

/* ---- redelivery queue (JS 6.4) ----------------------------------------------------- */

/* Queues p for redelivery; false (nothing changed) when the queue cannot
 * grow. Callers reserve first, so p is never left neither queued nor
 * armed. */
static bool rdq_push(mem_consumer *c, mem_pend *p)
{
    if (p->in_rdq)
        return true;
    if (!mem_fifo_push(&c->rdq, p->sseq))
        return false;
    p->in_rdq = true;
    p->rdq_ticket = c->rdq_pushed++;
    c->rdq_live++;
    return true;
}

static void rdq_pop(mem_consumer *c)
{
    uint64_t v;
    mem_fifo_pop(&c->rdq, &v);
    c->rdq_popped++;
}

static void rdq_unmark(mem_consumer *c, mem_pend *p)
{
    if (p->in_rdq) {
        p->in_rdq = false;
        c->rdq_live--;
    }
}

/* A bare entry's ticket, if sseq has one queued. */
static bool rdq_bare_ticket(const mem_consumer *c, uint64_t sseq, uint64_t *ticket)
{
    return c->rdq_bare.len && mem_u64map_get(&c->rdq_bare, sseq, ticket);
}

/* Takes sseq's bare entry off (if any); its FIFO slot turns stale. */
static void rdq_unbare(mem_consumer *c, uint64_t sseq)
{
    if (c->rdq_bare.len && mem_u64map_del(&c->rdq_bare, sseq))
        c->rdq_live--;
}

/* JS 6.5: expired entries join the queue in (deadline, sseq) order, which is
 * the order of the server's timer runs, each sorted by stream sequence. */
bool mem_deliver_expire(mem_consumer *c, int64_t now)
{
    if (now < c->no_expiry_before_ns)
        return true;
    mem_pend *p;
    while ((p = mem_timer_first(c)) && p->deadline <= now) {
        if (!mem_fifo_reserve(&c->rdq))
            return false; /* its timer stays armed, due: the next run tries again */
        mem_timer_disarm(c, p);
        rdq_push(c, p);
        c->wake = c->npulls > 0; /* checkPending signals when it queued redeliveries */
    }
    return true;
}

int64_t mem_deliver_next_deadline(const mem_consumer *c)
{
    int64_t d = mem_timer_next_deadline(c);
    if (d == INT64_MAX)
        return d;
    return d < c->no_expiry_before_ns ? c->no_expiry_before_ns : d;
}

/* At the end of a fetch or an ack that went through (`entry` its mem_lock):
 * did it leave nothing due at `now` (mem_run_timers_after)? It changed no
 * timed work but its consumer's timers and its stream's first message, so
 * those are what it checks; other consumers only lost pending records. Only
 * on a clock that no fetch waits on (a manual one): a waiting fetch lets
 * other calls in. Whatever entered since `entry` (a callback that called
 * back, say) leaves the next call to run the timed work. */
static void timers_quiet(mem_backend *mb, const mem_consumer *c, uint64_t entry, int64_t now)
{
    int64_t d = mem_timer_next_deadline(c);
    if (d <= now && now >= c->no_expiry_before_ns)
        return;
    mem_timers_quiet_stream(mb, c->st, entry, now);
}

/* ---- stream-side hooks ------------------------------------------------------------------ */

void mem_on_stored(mem_stream *st, const mem_smsg *m)
{
    for (int i = 0; i < st->nconsumers; i++) {
        mem_consumer *c = st->consumers[i];
        if (m->seq > c->npcm && mem_consumer_signalled(c, m->subj)) /* processStreamSignal */
            c->npc++;
        if (m->seq >= c->sseq && mem_consumer_matches(c, m->subj))
            c->npend_new++;
        if (c->npulls && mem_consumer_signalled(c, m->subj))
            c->wake = true;
    }
}

void mem_npc_removed(mem_stream *st, const mem_smsg *m)
{
    for (int i = 0; i < st->nconsumers; i++) {
        mem_consumer *c = st->consumers[i];
        /* decStreamPending: "only if we think deliverMsg has not done so" */
        if (m->seq > c->npcm && m->seq >= c->sseq && mem_consumer_matches(c, m->subj))
            c->npc--;
    }
}

/* processAckMsg signals the delivery loop when the consumer was at
 * MaxAckPending: an ack may let a waiting pull go on (or end). */
static void wake_if_stalled(mem_consumer *c)
{
    if (c->npulls && c->cfg.max_ack_pending > 0 && c->pend_len >= (uint64_t)c->cfg.max_ack_pending)
        c->wake = true;
}

/* JS 7.3: the consumer side of an explicit ack (also TERM, and the removal
 * of a pending message, JS 4.8). */
static void ack_explicit(mem_consumer *c, uint64_t sseq, uint64_t dseq)
{
    mem_pend *p = mem_pend_get(c, sseq);
    if (p) {
        wake_if_stalled(c);
        dseq = p->dseq;
        mem_pend_remove_at(c, p);
    }
    if (c->pend_len == 0) {
        c->floor = (ps_seq_pair){c->dseq - 1, c->sseq - 1};
    } else if (dseq == c->floor.consumer_seq + 1) {
        c->floor = (ps_seq_pair){dseq, sseq};
        for (uint64_t ss = sseq + 1; ss < c->sseq; ss++) {
            mem_pend *q = mem_pend_get(c, ss);
            if (q) {
                c->floor = (ps_seq_pair){q->dseq - 1, ss - 1};
                break;
            }
        }
    }
    if (c->rdc.len)
        mem_u64map_del(&c->rdc, sseq);
    rdq_unbare(c, sseq); /* removeFromRedeliverQueue, whatever was pending */
}

/* JS 4.8: a pending message removed from the stream is processed as TERM. */
void mem_on_removed(mem_stream *st, const mem_smsg *m, int64_t now, bool notify)
{
    if (notify)
        mem_npc_removed(st, m);
    for (int i = 0; i < st->nconsumers; i++) {
        mem_consumer *c = st->consumers[i];
        if (c->lps && c->lps_pos < c->lps_len)
            mem_consumer_recount(c);
        else if (m->seq >= c->sseq && c->npend_new && mem_consumer_matches(c, m->subj))
            c->npend_new--;
        mem_pend *p = notify ? mem_pend_get(c, m->seq) : NULL;
        if (!p)
            continue;
        uint64_t dseq = p->dseq, rdc = 0;
        mem_u64map_get(&c->rdc, m->seq, &rdc);
        mem_snap_before_change(c, now);
        ack_explicit(c, m->seq, dseq);
        mem_adv_consumer(st->mb, PS_ADV_MSG_TERMINATED, c, m->seq, dseq, rdc + 1);
    }
}

/* JS 4.2, 4.4, 4.5: an ack reaches the stream by sequence, pending or not. */
void mem_stream_ack(mem_stream *st, uint64_t sseq, int64_t now)
{
    if (st->cfg.retention == PS_RETENTION_LIMITS)
        return;
    const mem_smsg *m = mem_store_get(st, sseq);
    if (!m)
        return;
    if (st->cfg.retention == PS_RETENTION_INTEREST)
        for (int i = 0; i < st->nconsumers; i++)
            if (mem_consumer_needs(st->consumers[i], sseq, m->subj))
                return;
    mem_store_remove(st, sseq, MEM_RM_ACK, now);
}

/* ---- choosing the next message (JS 6.3) ---------------------------------------------------- */

typedef enum next_kind { NEXT_NONE, NEXT_STALL, NEXT_RDQ, NEXT_LPS, NEXT_NEW, NEXT_NO_MEMORY } next_kind;

typedef struct next_msg {
    next_kind kind;
    uint64_t seq;
    uint64_t dc;
    const mem_smsg *m;
} next_msg;

/* Redeliveries first. Entries past MaxDeliver are dropped here, lazily, as
 * the server does when it tries them (JS 6.7). -1: out of memory, nothing
 * dropped. */
static int peek_rdq(mem_consumer *c, next_msg *n)
{
    while (c->rdq.len) {
        uint64_t seq = mem_fifo_at(&c->rdq, 0), ticket = 0;
        mem_pend *p = mem_pend_get(c, seq);
        bool live = p ? p->in_rdq && p->rdq_ticket == c->rdq_popped
                      : rdq_bare_ticket(c, seq, &ticket) && ticket == c->rdq_popped;
        if (!live) {
            rdq_pop(c); /* stale: acked, re-queued later, or nak-delayed */
            continue;
        }
        uint64_t rdc = 0;
        mem_u64map_get(&c->rdc, seq, &rdc);
        uint64_t dc = rdc + 2;
        const mem_smsg *m = mem_store_get(c->st, seq);
        if (m && !(c->cfg.max_deliver > 0 && dc > (uint64_t)c->cfg.max_deliver)) {
            *n = (next_msg){NEXT_RDQ, seq, dc, m};
            return 1;
        }
        if (m && !mem_u64map_reserve(&c->rdc, 1))
            return -1;
        rdq_pop(c);
        if (p)
            rdq_unmark(c, p);
        else
            rdq_unbare(c, seq);
        if (m) {
            mem_u64map_put(&c->rdc, seq, rdc + 1);
            if (dc == (uint64_t)c->cfg.max_deliver + 1)
                mem_adv_consumer(c->st->mb, PS_ADV_MAX_DELIVERIES, c, seq, 0,
                                 (uint64_t)c->cfg.max_deliver);
        }
        mem_pend_remove(c, seq); /* not acked: the floor stays */
    }
    return 0;
}

static next_msg peek(mem_consumer *c)
{
    next_msg n = {NEXT_NONE, 0, 1, NULL};
    mem_stream *st = c->st;
    int rdq = peek_rdq(c, &n);
    if (rdq < 0)
        n.kind = NEXT_NO_MEMORY;
    if (rdq != 0)
        return n;
    while (c->lps && c->lps_pos < c->lps_len) {
        uint64_t seq = c->lps[c->lps_pos];
        if ((n.m = mem_store_get(st, seq))) {
            n.kind = NEXT_LPS;
            n.seq = seq;
            return n;
        }
        c->lps_pos++;
        if (c->lps_pos == c->lps_len && c->sseq <= c->lps_resume)
            c->sseq = c->lps_resume + 1;
    }
    if (c->cfg.max_ack_pending > 0 && c->pend_len >= (uint64_t)c->cfg.max_ack_pending) {
        n.kind = NEXT_STALL;
        return n;
    }
    if (c->npend_new) {
        uint64_t s = c->sseq > st->first_seq ? c->sseq : st->first_seq;
        for (; st->msgs && s <= st->last_seq; s++) {
            const mem_smsg *m = mem_store_get(st, s);
            if (m && mem_consumer_matches(c, m->subj)) {
                n = (next_msg){NEXT_NEW, s, 1, m};
                return n;
            }
        }
        c->npend_new = 0;
    }
    /* Nothing matches: the scan position moves past the stream's end. */
    if (c->sseq <= st->last_seq)
        c->sseq = st->last_seq + 1;
    return n;
}

static unsigned digits(uint64_t v)
{
    unsigned d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* JS 8.3: what a delivered message counts against max_bytes. */
static int64_t wire_size(const mem_consumer *c, const mem_handle *h, const next_msg *n)
{
    uint64_t pending = mem_consumer_npc_peek(c, n->kind != NEXT_RDQ);
    /* "$JS.ACK." then 7 fields and the 6 dots between them (JS 6.10) */
    size_t reply = 8 + strlen(h->base.stream) + strlen(h->base.name) + 6 + digits(n->dc) +
                   digits(n->seq) + digits(c->dseq) + digits((uint64_t)n->m->ts) + digits(pending);
    if (c->cfg.headers_only) {
        /* JS 6.12: the server sizes the converted message (deliverMsg
         * converts before it measures): the header block without its last
         * CRLF, "Nats-Msg-Size: N" and no payload (found by difftest). */
        size_t base = n->m->hdr_len >= 12 ? n->m->hdr_len - 2u : 10u;
        return (int64_t)(n->m->subj->len + reply + base + 15 + digits(n->m->data_len) + 4);
    }
    return (int64_t)(n->m->subj->len + reply + n->m->hdr_len + n->m->data_len);
}

/* JS 6.12: HeadersOnly strips the payload and says how big it was. */
static ps_msg *push_headers_only(ps_msg_list *out, const mem_smsg *m)
{
    char buf[4096];
    size_t base = m->hdr_len >= 12 ? m->hdr_len - 2 : 0; /* drop the final CRLF */
    if (base + 64 > sizeof buf)
        return NULL;
    if (base)
        memcpy(buf, m->bytes, base);
    else
        base = (size_t)snprintf(buf, sizeof buf, "NATS/1.0\r\n");
    int k = snprintf(buf + base, sizeof buf - base, "Nats-Msg-Size: %u\r\n\r\n", m->data_len);
    return ps_msg_list_push(out, m->subj->name, m->subj->len, buf, base + (size_t)k, "", 0);
}

static ps_msg *push_msg(const mem_consumer *c, ps_msg_list *out, const mem_smsg *m)
{
    if (c->cfg.headers_only)
        return push_headers_only(out, m);
    return ps_msg_list_push(out, m->subj->name, m->subj->len, m->bytes, m->hdr_len,
                            m->bytes + m->hdr_len, m->data_len);
}

/* Delivers the peeked message: updates the consumer and appends to `out`. */
static bool commit(mem_handle *h, mem_consumer *c, const next_msg *n, int64_t now, ps_msg_list *out)
{
    /* Whatever the delivery will need is reserved before the message goes
     * out: a delivery without its pending record would never be redelivered. */
    mem_pend *p = c->cfg.ack_policy != PS_ACK_NONE ? mem_pend_get(c, n->seq) : NULL;
    if (c->cfg.ack_policy != PS_ACK_NONE && !p && !mem_pend_reserve(c, n->seq))
        return false;
    if (n->kind == NEXT_RDQ && !mem_u64map_reserve(&c->rdc, 1))
        return false;
    ps_msg *pm = push_msg(c, out, n->m);
    if (!pm)
        return false;
    uint64_t dseq = c->dseq++;
    if (n->kind == NEXT_RDQ) {
        rdq_pop(c);
        rdq_unbare(c, n->seq); /* delivered: it has a pending record below */
        mem_u64map_put(&c->rdc, n->seq, n->dc - 1);
    } else {
        if (n->kind == NEXT_LPS && ++c->lps_pos == c->lps_len)
            c->sseq = c->lps_resume + 1;
        if (c->sseq <= n->seq)
            c->sseq = n->seq + 1;
        if (c->npend_new)
            c->npend_new--;
        if (c->npcm > 0)
            c->npc--;
    }
    if (c->npcm == 0)
        mem_consumer_npc_reset(c);
    /* JS 6.10: the pending count the server puts in the ack subject. */
    uint64_t pending = c->npc < 0 ? 0 : (uint64_t)c->npc;
    pm->meta = (ps_msg_meta){h->base.stream, h->base.name, n->seq, dseq, n->dc, pending, n->m->ts};
    pm->consumer_ = &h->base;
    c->last_activity_ns = now;
    if (c->cfg.ack_policy == PS_ACK_NONE) {
        /* JS 7.5 and 4.5: acked on delivery. */
        c->floor = (ps_seq_pair){dseq, n->seq};
        mem_stream_ack(c->st, n->seq, now);
        return true;
    }
    if (p) {
        rdq_unmark(c, p);
        mem_timer_disarm(c, p);
        /* trackPending keeps the FIRST delivery's sequence in pending; the
         * ack floor walks by it (found by difftest, timed seed 383). */
        p->ts = now;
        p->deadline = now + mem_wait_for(c, n->seq);
        return mem_timer_arm(c, p); /* just disarmed: cannot fail */
    }
    return mem_pend_insert(c, n->seq, dseq, now) != NULL; /* reserved: cannot fail */
}

/* ---- pull requests (JS 8) --------------------------------------------------------------- */

typedef struct fill_state {
    int64_t bytes_left;
    bool stalled;
    bool max_bytes_hit;
} fill_state;

static ps_status no_memory(const mem_consumer *c)
{
    return ps_error(PS_ERR_NO_MEMORY, 0, "consumer %s on stream %s: out of memory delivering", c->name,
                    c->st->name);
}

/* A message that does not fit the request's max_bytes (409): nats-server
 * 2.9.10's getNextMsg has already taken a redelivery off the queue and
 * counted it, and "we will redo this one" steps the scan position back one
 * sequence whatever the message was, so that sequence is delivered again as
 * a new message (found by difftest, seed 2945). The lost redelivery comes
 * back at its AckWait deadline, as the server's checkPending would.
 * False: out of memory on the way. */
static bool redo_after_max_bytes(mem_consumer *c, const next_msg *n, int64_t now)
{
    if (n->kind != NEXT_RDQ)
        return true;
    mem_snap_before_change(c, now);
    mem_pend *p = mem_pend_get(c, n->seq);
    rdq_pop(c);
    rdq_unbare(c, n->seq); /* without a pending record nothing brings it back */
    bool ok = mem_u64map_put(&c->rdc, n->seq, n->dc - 1);
    if (p) {
        rdq_unmark(c, p);
        if (p->timer == MEM_NO_TIMER) {
            p->deadline = p->ts + mem_wait_for(c, n->seq);
            ok = mem_timer_arm(c, p) && ok;
        }
    }
    if (c->sseq > 1)
        c->sseq--;
    mem_consumer_recount(c);
    return ok; /* false: out of memory, the redelivery count or deadline not kept */
}

/* PS_ERR_NO_MEMORY: the message it could not deliver stays undelivered
 * (the fetch then fails as a whole: the ones already taken are pending and
 * come back after AckWait, as after a lost pull response). */
static ps_status fill(mem_handle *h, mem_consumer *c, const ps_fetch_request *req, int64_t now,
                      ps_msg_list *out, fill_state *fs)
{
    fs->stalled = false;
    while (out->count < req->batch && !fs->max_bytes_hit) {
        next_msg n = peek(c);
        if (n.kind == NEXT_NO_MEMORY)
            return no_memory(c);
        if (n.kind == NEXT_STALL)
            fs->stalled = true;
        if (n.kind == NEXT_NONE || n.kind == NEXT_STALL)
            return PS_OK;
        if (req->max_bytes > 0) {
            int64_t sz = wire_size(c, h, &n);
            if (sz > fs->bytes_left) {
                fs->max_bytes_hit = true; /* the message stays undelivered */
                return redo_after_max_bytes(c, &n, now) ? PS_OK : no_memory(c);
            }
            fs->bytes_left -= sz;
            if (fs->bytes_left == 0)
                fs->max_bytes_hit = out->count + 1 < req->batch;
        }
        mem_snap_before_change(c, now);
        if (!commit(h, c, &n, now, out))
            return no_memory(c);
    }
    return PS_OK;
}

/* JS 8.2. `one_shot`: the request goes to the server as no_wait. */
ps_status mem_admit(mem_consumer *c, const ps_fetch_request *r, bool one_shot)
{
    const ps_consumer_config *k = &c->cfg;
    char d[32];
    if (k->max_request_batch > 0 && r->batch > k->max_request_batch)
        return ps_error(PS_ERR_PULL_REJECTED, 0, "Exceeded MaxRequestBatch of %" PRId64, k->max_request_batch);
    if (k->max_request_expires_ns > 0 && r->expires_ns > k->max_request_expires_ns)
        return ps_error(PS_ERR_PULL_REJECTED, 0, "Exceeded MaxRequestExpires of %s",
                        ps_duration_format(k->max_request_expires_ns, d, sizeof d));
    if (k->max_request_max_bytes > 0 && r->max_bytes > k->max_request_max_bytes)
        return ps_error(PS_ERR_PULL_REJECTED, 0, "Exceeded MaxRequestMaxBytes of %" PRId64,
                        k->max_request_max_bytes);
    /* A one-shot request goes out as no_wait (jsb_fetch), and the server's
     * no_wait path asks numPending(), which recounts when npcm is 0. */
    if (one_shot && c->npcm == 0)
        mem_consumer_npc_reset(c);
    /* msgsPending is numPending() + len(rdq): the cached count, stale as
     * the server's is (difftest timed 954: after a removal it did not
     * count, a no_wait pull with nothing there waits instead of 404). */
    uint64_t avail = mem_consumer_npc_peek(c, false) + c->rdq_live;
    if (r->no_wait && avail == 0 && r->expires_ns == 0)
        return ps_error(PS_ERR_NO_MESSAGES, 0, "No Messages");
    /* More is there, but the requests already waiting want it all. */
    if (one_shot && avail > 0 && avail < mem_pulls_batch_pending(c))
        return ps_error(PS_ERR_TIMEOUT, 0, "Requests Pending");
    if (c->nwaiting + c->npulls >= k->max_waiting)
        return ps_error(PS_ERR_MAX_WAITING, 0, "Exceeded MaxWaiting");
    return PS_OK;
}

/* A backend with a waiter only (the real clock, or a manual clock with
 * manual_fetch_waits): waits for more messages until the request's expiry
 * on the backend's clock, the batch is full, or (no_wait) nothing more is
 * immediately available. A publish, an ack or a tick signals the waiter;
 * the clock wakes it at `wake` (an advance, on a manual clock). */
static ps_status wait_more(mem_handle *h, mem_consumer *c, const ps_fetch_request *req,
                           ps_msg_list *out, fill_state *fs)
{
    mem_backend *mb = h->mb;
    uint64_t uid = c->uid;
    int64_t deadline = mem_now(mb) + req->expires_ns;
    c->nwaiting++;
    for (;;) {
        if (out->count >= req->batch || fs->max_bytes_hit)
            break;
        if (req->no_wait && out->count > 0 && !fs->stalled)
            break; /* a one-shot ends when nothing more is there (JS 8.4) */
        int64_t now = mem_now(mb);
        if (now >= deadline)
            break;
        int64_t wake = mem_deliver_next_deadline(c);
        ps_clock_wait_until(mb->waiter, wake < deadline ? wake : deadline);
        now = mem_now(mb);
        ps_status s = mem_run_timers(mb, now);
        c = mem_handle_resolve(h);
        if (!c || c->uid != uid)
            return out->count ? PS_OK
                              : ps_error(PS_ERR_CONSUMER_DELETED, 0, "Consumer Deleted");
        if (!s)
            s = fill(h, c, req, now, out, fs);
        if (s) {
            c->nwaiting--;
            return s;
        }
    }
    c->nwaiting--;
    return PS_OK;
}

/* Does this fetch's request stay on the server's waiting queue until its
 * expiry timer fires? It must carry an expiry (jsb_fetch sends one unless
 * asked for no_wait with expires 0; an expires-0 fetch goes out with a
 * short one) and still want messages when the fetch returns: not full,
 * not cut by max_bytes, and not a one-shot that got messages and found no
 * more (the delivery loop ends that one at once). Such a request's expiry
 * runs processWaiting(eos=true), which also ends every no_wait one-shot
 * that got something and waits behind MaxAckPending (nats-server 2.9.10
 * loopAndGatherMsgs, wrExp). The model's fetch does not wait, so that pass
 * runs when it returns. */
static bool ends_by_expiry(const ps_fetch_request *req, const ps_msg_list *out, const fill_state *fs)
{
    bool carries_expiry = req->expires_ns > 0 || !req->no_wait;
    bool one_shot = req->no_wait || req->expires_ns == 0;
    if (!carries_expiry || out->count >= req->batch || fs->max_bytes_hit)
        return false;
    return !(one_shot && out->count > 0 && !fs->stalled);
}

ps_status mem_fetch(ps_consumer *hc, const ps_fetch_request *req, ps_msg_list *out)
{
    mem_handle *h = (mem_handle *)hc;
    mem_backend *mb = h->mb;
    ps_msg_list_clear(out);
    mem_lock(mb);
    uint64_t entry = mb->entries;
    int64_t now = mem_now(mb);
    ps_status s = mem_run_timers_after(mb, entry, now);
    mem_consumer *c = mem_handle_resolve(h);
    if (s) {
        /* the due work could not be done: nothing is delivered before it */
    } else if (!c) {
        /* JS 5.5: the server drops pulls for a missing consumer silently;
         * cnats then reports a timeout. */
        s = ps_error(PS_ERR_TIMEOUT, 0, "consumer %s on stream %s does not exist (pull request dropped)",
                     hc->name, hc->stream);
    } else if ((s = mem_admit(c, req, req->no_wait || req->expires_ns == 0)) == PS_OK) {
        fill_state fs = {req->max_bytes > 0 ? req->max_bytes : INT64_MAX, false, false};
        c->last_activity_ns = now;
        if (c->npulls && !mb->waiter)
            s = mem_pulls_fetch(h, c, req, now, out, &fs.stalled, &fs.max_bytes_hit);
        else
            s = fill(h, c, req, now, out, &fs);
        if (s == PS_OK && mb->waiter && req->expires_ns > 0) {
            /* the wait lets other threads in: the consumer may be deleted
             * (wait_more then ends with what it got), and `c` with it */
            uint64_t uid = c->uid;
            s = wait_more(h, c, req, out, &fs);
            c = mem_handle_resolve(h);
            if (c && c->uid != uid)
                c = NULL;
        }
        if (s == PS_OK && c && c->npulls && ends_by_expiry(req, out, &fs))
            mem_pulls_eos(c, now); /* its expiry timer runs the eos pass (difftest timed 535, 691) */
        if (s == PS_OK && out->count == 0)
            s = fs.max_bytes_hit ? ps_error(PS_ERR_MAX_BYTES, 0, "Message Size Exceeds MaxBytes")
                                 : ps_error(PS_ERR_TIMEOUT, 0, "no messages before the request expired");
        else if (s == PS_OK && c)
            timers_quiet(mb, c, entry, now);
    }
    mem_unlock(mb);
    if (s != PS_OK)
        ps_msg_list_clear(out);
    return s;
}

/* ---- serving waiting pull requests (mem_pull.c) ------------------------------------------- */

int mem_serve_peek(mem_consumer *c, int64_t *size)
{
    next_msg n = peek(c);
    switch (n.kind) {
    case NEXT_NO_MEMORY: return MEM_SERVE_NO_MEMORY;
    case NEXT_STALL: return MEM_SERVE_STALL;
    case NEXT_NONE: return MEM_SERVE_NONE;
    default: break;
    }
    mem_handle names = {.base = {.stream = c->st->name, .name = c->name}};
    *size = wire_size(c, &names, &n);
    return MEM_SERVE_MSG;
}

bool mem_serve_commit(mem_handle *h, mem_consumer *c, int64_t now, ps_msg_list *out)
{
    next_msg n = peek(c);
    if (n.kind != NEXT_RDQ && n.kind != NEXT_LPS && n.kind != NEXT_NEW)
        return false;
    mem_snap_before_change(c, now);
    return commit(h, c, &n, now, out);
}

bool mem_serve_redo(mem_consumer *c, int64_t now)
{
    next_msg n = peek(c);
    return n.kind == NEXT_NO_MEMORY ? false : redo_after_max_bytes(c, &n, now);
}

/* ---- acknowledgements (JS 7) ------------------------------------------------------------- */

static void ack_all(mem_consumer *c, uint64_t sseq, uint64_t dseq, int64_t now)
{
    /* JS 7.4: acks at or below the floor are ignored. */
    if (dseq <= c->floor.consumer_seq || sseq <= c->floor.stream_seq)
        return;
    wake_if_stalled(c);
    uint64_t from = c->floor.stream_seq + 1;
    c->floor = (ps_seq_pair){dseq, sseq};
    for (uint64_t s = from; s <= sseq; s++) {
        mem_pend_remove(c, s);
        mem_u64map_del(&c->rdc, s);
        rdq_unbare(c, s);
    }
    for (uint64_t s = from; s <= sseq; s++)
        mem_stream_ack(c->st, s, now);
}

static void process_ack(mem_consumer *c, uint64_t sseq, uint64_t dseq, int64_t now)
{
    switch (c->cfg.ack_policy) {
    case PS_ACK_EXPLICIT:
        ack_explicit(c, sseq, dseq);
        mem_stream_ack(c->st, sseq, now);
        break;
    case PS_ACK_ALL:
        ack_all(c, sseq, dseq, now);
        break;
    case PS_ACK_NONE:
        break;
    }
}

static void reschedule(mem_consumer *c, mem_pend *p)
{
    mem_timer_disarm(c, p);
    p->deadline = p->ts + mem_wait_for(c, p->sseq);
    (void)mem_timer_arm(c, p); /* just disarmed: cannot fail */
}

/* A NAK while nothing is pending passes the server's pending check
 * (processNak looks a sequence up only when pending is not empty): it gets
 * its advisory and, without a delay, the sequence joins the redelivery
 * queue though nothing is pending, so its message goes out again with the
 * next delivery count (JS 7.6). A delayed one has no record to delay. */
static ps_status nak_with_nothing_pending(mem_consumer *c, const ps_msg_meta *md, int64_t delay_ns)
{
    uint64_t ticket;
    bool queue = delay_ns <= 0 && !rdq_bare_ticket(c, md->stream_seq, &ticket);
    if (queue && (!mem_fifo_reserve(&c->rdq) || !mem_u64map_reserve(&c->rdq_bare, 1)))
        return ps_error(PS_ERR_NO_MEMORY, 0, "consumer %s on stream %s: out of memory queueing a nak", c->name,
                        c->st->name);
    mem_adv_consumer(c->st->mb, PS_ADV_MSG_NAKED, c, md->stream_seq, md->consumer_seq,
                     md->num_delivered);
    if (!queue)
        return PS_OK;
    mem_fifo_push(&c->rdq, md->stream_seq);                            /* reserved */
    mem_u64map_put(&c->rdq_bare, md->stream_seq, c->rdq_pushed++);     /* reserved */
    c->rdq_live++;
    c->wake = c->npulls > 0;
    return PS_OK;
}

/* JS 7.6. PS_ERR_NO_MEMORY (nothing changed) when an immediate redelivery
 * cannot be queued. */
static ps_status process_nak(mem_consumer *c, const ps_msg_meta *md, int64_t delay_ns, int64_t now)
{
    if (md->consumer_seq <= c->floor.consumer_seq || md->consumer_seq > c->dseq)
        return PS_OK;
    mem_pend *p = mem_pend_get(c, md->stream_seq);
    if (!p && c->pend_len == 0)
        return nak_with_nothing_pending(c, md, delay_ns);
    if (!p)
        return PS_OK;
    if (delay_ns <= 0 && !p->in_rdq && !mem_fifo_reserve(&c->rdq))
        return ps_error(PS_ERR_NO_MEMORY, 0, "consumer %s on stream %s: out of memory queueing a nak", c->name,
                        c->st->name);
    mem_adv_consumer(c->st->mb, PS_ADV_MSG_NAKED, c, md->stream_seq, md->consumer_seq,
                     md->num_delivered);
    if (delay_ns > 0) {
        rdq_unmark(c, p);
        p->ts = now - c->cfg.ack_wait_ns + delay_ns;
        reschedule(c, p);
        return PS_OK;
    }
    mem_timer_disarm(c, p);
    rdq_push(c, p); /* reserved: cannot fail */
    c->wake = c->npulls > 0; /* a plain NAK signals the delivery loop; a delayed one does not */
    return PS_OK;
}

/* JS 7.7: restarts the wait; not a delivery. */
static void process_wpi(mem_consumer *c, uint64_t sseq, int64_t now)
{
    mem_pend *p = mem_pend_get(c, sseq);
    if (!p)
        return;
    p->ts = now;
    if (p->timer != MEM_NO_TIMER)
        reschedule(c, p);
}

ps_status mem_ack(ps_msg *m, ps_ack_kind kind, int64_t delay_ns)
{
    mem_handle *h = (mem_handle *)m->consumer_;
    mem_backend *mb = h->mb;
    mem_lock(mb);
    uint64_t entry = mb->entries;
    int64_t now = mem_now(mb);
    ps_status s = mem_run_timers_after(mb, entry, now);
    mem_consumer *c = mem_handle_resolve(h);
    const ps_msg_meta *md = &m->meta;
    if (s) {
        /* the due work could not be done: the ack is not processed */
    } else if (!c) {
        s = ps_error(PS_ERR_NO_RESPONDERS, 10076,
                     "consumer %s on stream %s no longer exists: the ack has no responders",
                     h->base.name, h->base.stream);
    } else {
        mem_snap_before_change(c, now);
        c->last_activity_ns = now;
        switch (kind) {
        case PS_ACK:
            process_ack(c, md->stream_seq, md->consumer_seq, now);
            break;
        case PS_TERM: /* JS 7.8: an ack, plus the advisory */
            process_ack(c, md->stream_seq, md->consumer_seq, now);
            if ((c = mem_handle_resolve(h)))
                mem_adv_consumer(mb, PS_ADV_MSG_TERMINATED, c, md->stream_seq, md->consumer_seq,
                                 md->num_delivered);
            break;
        case PS_NAK:
            s = process_nak(c, md, delay_ns, now);
            break;
        case PS_IN_PROGRESS:
            process_wpi(c, md->stream_seq, now);
            break;
        }
        mem_signal(mb);
        if (s == PS_OK && c)
            timers_quiet(mb, c, entry, now);
    }
    mem_unlock(mb);
    return s;
}
