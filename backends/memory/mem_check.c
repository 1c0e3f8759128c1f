/* mem_check.c — ps_memory_check: the memory backend's internal consistency
 * checks (ps_memory.h). They read the model's state and change nothing, so
 * tests may call them after every case, and a bug that leaves the state
 * inconsistent (a failed allocation dropped half-way, a counter not
 * updated) fails the test where it happened instead of as a wrong
 * delivery later.
 *
 * This file is not: part of any operation's path. Nothing here runs unless
 * a caller asks for it.
 */
#include <inttypes.h>
#include <stdio.h>

#include "mem_internal.h"

#define BAD(...) ps_error(PS_ERR_INTERNAL, 0, __VA_ARGS__)

/* Messages, bytes and per-subject counts agree with the ring. */
static ps_status check_store(const mem_stream *st)
{
    uint64_t n = 0, bytes = 0, per_subject = 0;
    if (st->msgs)
        for (uint64_t s = st->first_seq; s <= st->last_seq; s++) {
            const mem_smsg *m = mem_store_get(st, s);
            if (!m)
                continue;
            if (m->seq != s)
                return BAD("stream %s: ring slot of seq %" PRIu64 " holds seq %" PRIu64, st->name, s, m->seq);
            n++;
            bytes += mem_msg_bytes(st, m);
        }
    if (n != st->msgs)
        return BAD("stream %s: state says %" PRIu64 " messages, the ring holds %" PRIu64, st->name, st->msgs, n);
    /* No slot outside the stored window holds anything: a growing ring
     * clears the slots it moved from, a removal clears its own; a stale one
     * would answer for a later sequence that was never stored (a skip). */
    uint64_t held = 0;
    for (uint64_t i = 0; i < st->ring_cap; i++)
        held += st->ring[i] != NULL;
    if (held != n)
        return BAD("stream %s: %" PRIu64 " ring slots hold a message, %" PRIu64 " of them in the stored window",
                   st->name, held, n);
    if (bytes != st->bytes)
        return BAD("stream %s: state says %" PRIu64 " bytes, the messages add up to %" PRIu64, st->name,
                   st->bytes, bytes);
    for (uint32_t i = 0; i < st->subj_map.cap; i++) {
        const mem_subj *sj = st->subj_map.slots[i].val;
        if (sj)
            per_subject += sj->count;
    }
    if (per_subject != st->msgs)
        return BAD("stream %s: per-subject counts add up to %" PRIu64 ", not %" PRIu64, st->name, per_subject,
                   st->msgs);
    return PS_OK;
}

/* The pending slab, its index and its timers agree (mem_pend_check); every
 * pending message will come back: its timer is armed (it expires) or it is
 * queued for redelivery (JS 6.4, 6.5). */
static ps_status check_pending(const mem_consumer *c)
{
    const char *st = c->st->name, *cn = c->name;
    ps_status s = mem_pend_check(c);
    if (s)
        return s;
    uint32_t live = 0, queued = 0;
    uint64_t lowest = UINT64_MAX;
    for (uint32_t i = 0; i < c->pend_top; i++) {
        const mem_pend *p = &c->pend[i];
        if (p->timer == MEM_FREE_SLOT)
            continue;
        live++;
        if (p->timer == MEM_NO_TIMER && !p->in_rdq)
            return BAD("consumer %s/%s: pending seq %" PRIu64 " neither expires nor is queued for "
                       "redelivery: it would never come back", st, cn, p->sseq);
        if (p->in_rdq) {
            queued++;
            uint64_t at = p->rdq_ticket - c->rdq_popped;
            if (p->rdq_ticket < c->rdq_popped || at >= c->rdq.len || mem_fifo_at(&c->rdq, (uint32_t)at) != p->sseq)
                return BAD("consumer %s/%s: pending seq %" PRIu64 " is marked queued but its ticket is not in "
                           "the redelivery queue", st, cn, p->sseq);
        }
        if (p->sseq >= c->sseq && !(c->lps && c->lps_pos < c->lps_len))
            return BAD("consumer %s/%s: pending seq %" PRIu64 " is at or past the scan position %" PRIu64, st,
                       cn, p->sseq, c->sseq);
        if (p->sseq < lowest)
            lowest = p->sseq;
    }
    if (live != c->pend_len)
        return BAD("consumer %s/%s: %" PRIu32 " pending records, pend_len %" PRIu32, st, cn, live, c->pend_len);
    if (queued + c->rdq_bare.len != c->rdq_live)
        return BAD("consumer %s/%s: %" PRIu32 " records queued for redelivery, rdq_live %" PRIu32, st, cn,
                   queued, c->rdq_live);
    if (c->rdq_pushed - c->rdq_popped != c->rdq.len)
        return BAD("consumer %s/%s: redelivery tickets say %" PRIu64 " queued, the queue holds %" PRIu32, st,
                   cn, c->rdq_pushed - c->rdq_popped, c->rdq.len);
    /* JS 7.3: the ack floor stays below every message still pending. */
    if (lowest != UINT64_MAX && c->floor.stream_seq >= lowest)
        return BAD("consumer %s/%s: ack floor %" PRIu64 " is not below the lowest pending seq %" PRIu64, st, cn,
                   c->floor.stream_seq, lowest);
    return PS_OK;
}

/* NumPending (JS 9) is what a drain from the scan position would deliver
 * anew: the matching stored messages at or after it. */
static ps_status check_num_pending(const mem_consumer *c)
{
    const mem_stream *st = c->st;
    uint64_t n = mem_consumer_count_pending(c); /* the kept count is maintained incrementally */
    if (n != c->npend_new)
        return BAD("consumer %s/%s: num_pending is %" PRIu64 " but a drain would deliver %" PRIu64 " new", st->name,
                   c->name, c->npend_new, n);
    return PS_OK;
}

ps_status ps_memory_check(ps_backend *b)
{
    if (!ps_memory_is(b))
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_memory_check: not a memory backend");
    mem_backend *mb = (mem_backend *)b;
    ps_status s = PS_OK;
    mem_lock(mb);
    for (int i = 0; i < mb->nstreams && !s; i++) {
        const mem_stream *st = mb->streams[i];
        s = check_store(st);
        if (!s)
            s = mem_stream_dedup_check(st);
        for (int j = 0; j < st->nconsumers && !s; j++) {
            s = check_pending(st->consumers[j]);
            if (!s)
                s = check_num_pending(st->consumers[j]);
        }
    }
    if (!s)
        s = mem_pulls_check(mb);
    mem_unlock(mb);
    return s;
}
