/* mem_pending.c — a consumer's pending set (JS 7) and its ack-wait timers
 * (JS 6.5), the data structures under the delivery engine.
 *
 * Records live in a slab (c->pend) with a free list. They are found by
 * stream sequence through a window: a ring of slab indexes covering the
 * sequences [win_lo, win_lo + win_cap), which slides up as deliveries move
 * on; a record the window leaves behind (a message nobody acks while later
 * ones are delivered) goes to a hash map (pend_idx) that only ever holds
 * sequences below the window. Lookups on the ack path are then an array
 * access.
 *
 * Timers expire in (deadline, stream sequence) order. Most are armed in
 * that order already (a delivery at `now` waits AckWait, and time does not
 * go back), so they go to a FIFO of slab indexes whose live entries stay
 * in strictly increasing order; an entry whose record is disarmed turns
 * stale and is dropped when it reaches the front, or by a compaction when
 * stale entries are half of the FIFO. A timer that would break the order
 * (BackOff, a nak delay, a redelivery of a lower sequence at the same
 * instant) goes to a min-heap instead. The earliest timer is the smaller
 * of the two fronts.
 *
 * This file is not: what a delivery, an ack or an expiry does with these
 * (mem_deliver.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mem_internal.h"

#define WIN_MIN_CAP 64u

/* ---- the sequence index ------------------------------------------------------------ */

/* Slab index + 1 of sseq's record in the window, 0 when none (or when sseq
 * is outside the window). */
static inline uint32_t win_slot(const mem_consumer *c, uint64_t sseq)
{
    return sseq - c->win_lo < c->win_cap ? c->win[sseq & (c->win_cap - 1)] : 0;
}

static inline bool in_win(const mem_consumer *c, uint64_t sseq)
{
    return sseq - c->win_lo < c->win_cap;
}

static uint32_t pend_find(const mem_consumer *c, uint64_t sseq)
{
    if (in_win(c, sseq)) {
        uint32_t v = c->win[sseq & (c->win_cap - 1)];
        return v ? v - 1 : UINT32_MAX;
    }
    uint64_t idx;
    if (c->pend_idx.len && mem_u64map_get(&c->pend_idx, sseq, &idx))
        return (uint32_t)idx;
    return UINT32_MAX;
}

mem_pend *mem_pend_get_below(mem_consumer *c, uint64_t sseq)
{
    uint32_t idx = pend_find(c, sseq);
    return idx == UINT32_MAX ? NULL : &c->pend[idx];
}

bool mem_pend_has(const mem_consumer *c, uint64_t sseq)
{
    return pend_find(c, sseq) != UINT32_MAX;
}

/* The window twice as large (its sequences stay, their slots move). */
static bool win_grow(mem_consumer *c)
{
    uint32_t ncap = c->win_cap ? c->win_cap * 2 : WIN_MIN_CAP;
    uint32_t *nw = calloc(ncap, sizeof *nw);
    if (!nw)
        return false;
    for (uint32_t i = 0; i < c->win_cap; i++)
        if (c->win[i])
            nw[c->pend[c->win[i] - 1].sseq & (ncap - 1)] = c->win[i];
    free(c->win);
    c->win = nw;
    c->win_cap = ncap;
    return true;
}

/* Moves the window's records below `lo` to the map, and the window up to
 * start at `lo`. False (nothing changed): no memory for the map. */
static bool win_evict_below(mem_consumer *c, uint64_t lo)
{
    uint64_t end = lo - c->win_lo < c->win_cap ? lo : c->win_lo + c->win_cap;
    uint32_t n = 0;
    for (uint64_t s = c->win_lo; s < end; s++)
        n += c->win[s & (c->win_cap - 1)] != 0;
    if (n && !mem_u64map_reserve(&c->pend_idx, n))
        return false;
    for (uint64_t s = c->win_lo; s < end; s++) {
        uint32_t *slot = &c->win[s & (c->win_cap - 1)];
        if (*slot) {
            mem_u64map_put(&c->pend_idx, s, *slot - 1); /* reserved */
            *slot = 0;
        }
    }
    c->win_len -= n;
    c->win_lo = lo;
    return true;
}

/* Makes the window reach sseq, above its top: it slides up over empty
 * slots, grows while it is more than half full, and otherwise leaves its
 * lowest records to the map. Every map key stays below win_lo. */
static bool win_reach(mem_consumer *c, uint64_t sseq)
{
    for (;;) {
        if (c->win_len == 0) {
            if (!c->win_cap && !win_grow(c))
                return false;
            c->win_lo = sseq; /* later deliveries are mostly above */
            return true;
        }
        if (in_win(c, sseq))
            return true;
        uint64_t need = sseq - c->win_cap + 1;
        /* Bounded by win_cap: a record in the window stops it. */
        while (c->win_lo < need && !c->win[c->win_lo & (c->win_cap - 1)])
            c->win_lo++;
        if (c->win_lo >= need)
            return true;
        if ((c->win_len + 1) * 2 > c->win_cap && win_grow(c))
            continue;
        return win_evict_below(c, need);
    }
}

static bool win_reserve(mem_consumer *c, uint64_t sseq)
{
    if (sseq < c->win_lo)
        return mem_u64map_reserve(&c->pend_idx, 1);
    return in_win(c, sseq) || win_reach(c, sseq);
}

/* After win_reserve(sseq): cannot fail. */
static void win_put(mem_consumer *c, uint64_t sseq, uint32_t idx)
{
    if (in_win(c, sseq)) {
        c->win[sseq & (c->win_cap - 1)] = idx + 1;
        c->win_len++;
    } else {
        mem_u64map_put(&c->pend_idx, sseq, idx); /* reserved */
    }
}

static void win_del(mem_consumer *c, uint64_t sseq)
{
    if (in_win(c, sseq)) {
        c->win[sseq & (c->win_cap - 1)] = 0;
        c->win_len--;
    } else {
        mem_u64map_del(&c->pend_idx, sseq);
    }
}

/* ---- the deadline heap ------------------------------------------------------------- */

static inline bool hent_less(const mem_hent *x, const mem_hent *y)
{
    return x->deadline < y->deadline || (x->deadline == y->deadline && x->sseq < y->sseq);
}

static inline void heap_set(mem_consumer *c, uint32_t pos, mem_hent e)
{
    c->heap[pos] = e;
    c->pend[e.idx].timer = pos;
}

static void heap_up(mem_consumer *c, uint32_t pos)
{
    mem_hent e = c->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!hent_less(&e, &c->heap[parent]))
            break;
        heap_set(c, pos, c->heap[parent]);
        pos = parent;
    }
    heap_set(c, pos, e);
}

/* Room in the heap for n entries. */
static bool heap_reserve(mem_consumer *c, uint32_t n)
{
    if (n <= c->heap_cap)
        return true;
    mem_hent *nh = realloc(c->heap, (size_t)n * sizeof *nh);
    if (!nh)
        return false;
    c->heap = nh;
    c->heap_cap = n;
    return true;
}

/* pend_reserve keeps the heap as large as the slab, and a record is in
 * the heap at most once: a push of a record cannot fail. The check stays
 * so that a broken invariant is a failure, not a write past the end. */
static bool heap_push(mem_consumer *c, uint32_t idx)
{
    if (c->heap_len == c->heap_cap && !heap_reserve(c, c->heap_cap ? c->heap_cap * 2 : 64))
        return false;
    const mem_pend *p = &c->pend[idx];
    c->heap[c->heap_len] = (mem_hent){p->deadline, p->sseq, idx};
    c->pend[idx].timer = c->heap_len;
    heap_up(c, c->heap_len++);
    return true;
}

static void heap_remove(mem_consumer *c, uint32_t idx)
{
    uint32_t pos = c->pend[idx].timer;
    c->pend[idx].timer = MEM_NO_TIMER;
    mem_hent last = c->heap[--c->heap_len];
    if (pos == c->heap_len)
        return;
    /* Floyd's removal: the hole goes down to a leaf along the smaller
     * children (one comparison a level), then the last entry fills it and
     * rises. Which valid heap results does not matter: entries leave in
     * (deadline, sseq) order. */
    for (;;) {
        uint32_t l = 2 * pos + 1;
        if (l >= c->heap_len)
            break;
        uint32_t best = l + 1 < c->heap_len && hent_less(&c->heap[l + 1], &c->heap[l]) ? l + 1 : l;
        heap_set(c, pos, c->heap[best]);
        pos = best;
    }
    heap_set(c, pos, last);
    heap_up(c, pos);
}

/* ---- the timer FIFO ---------------------------------------------------------------- */

/* Is the FIFO entry i places from the front the live timer of its record?
 * Its ticket (absolute position) must be the one the record holds. */
static inline bool tq_live_at(const mem_consumer *c, uint32_t i)
{
    const mem_pend *p = &c->pend[c->tq[(c->tq_head + i) & (c->tq_cap - 1)]];
    return p->timer == MEM_IN_FIFO && p->tq_ticket == c->tq_popped + i;
}

/* The front entry turned stale: drops it and the stale entries behind
 * it, so the front is always live. */
static void tq_trim(mem_consumer *c)
{
    do {
        c->tq_head = (c->tq_head + 1) & (c->tq_cap - 1);
        c->tq_len--;
        c->tq_popped++;
    } while (c->tq_len && !tq_live_at(c, 0));
}

/* Squeezes the stale entries out, in place and in order. */
static void tq_compact(mem_consumer *c)
{
    uint32_t mask = c->tq_cap - 1, j = 0;
    for (uint32_t i = 0; i < c->tq_len; i++) {
        if (!tq_live_at(c, i))
            continue;
        uint32_t idx = c->tq[(c->tq_head + i) & mask];
        c->tq[(c->tq_head + j) & mask] = idx;
        c->pend[idx].tq_ticket = c->tq_popped + j;
        j++;
    }
    c->tq_len = j;
}

/* Room for one more entry. False: none (the timer goes to the heap). */
static bool tq_room(mem_consumer *c)
{
    if (c->tq_len < c->tq_cap)
        return true;
    if (c->tq_len && c->tq_live * 2 <= c->tq_len) {
        tq_compact(c);
        return true;
    }
    uint32_t ncap = c->tq_cap ? c->tq_cap * 2 : 64;
    uint32_t *nq = malloc((size_t)ncap * sizeof *nq);
    if (!nq)
        return false;
    for (uint32_t i = 0; i < c->tq_len; i++)
        nq[i] = c->tq[(c->tq_head + i) & (c->tq_cap - 1)];
    free(c->tq);
    c->tq = nq;
    c->tq_cap = ncap;
    c->tq_head = 0;
    return true;
}

static void tq_reset(mem_consumer *c)
{
    c->tq_popped += c->tq_len;
    c->tq_head = 0;
    c->tq_len = 0;
    c->tq_live = 0;
}

/* ---- timers ----------------------------------------------------------------------- */

/* p is c->pend[idx]. */
static inline bool timer_arm(mem_consumer *c, mem_pend *p, uint32_t idx)
{
    bool in_order = c->tq_len == 0 || p->deadline > c->tq_last_deadline ||
                    (p->deadline == c->tq_last_deadline && p->sseq > c->tq_last_sseq);
    if (!in_order || !tq_room(c))
        return heap_push(c, idx);
    c->tq[(c->tq_head + c->tq_len) & (c->tq_cap - 1)] = idx;
    p->tq_ticket = c->tq_popped + c->tq_len;
    p->timer = MEM_IN_FIFO;
    c->tq_len++;
    c->tq_live++;
    c->tq_last_deadline = p->deadline;
    c->tq_last_sseq = p->sseq;
    return true;
}

bool mem_timer_arm(mem_consumer *c, mem_pend *p)
{
    return timer_arm(c, p, (uint32_t)(p - c->pend));
}

static inline void timer_disarm(mem_consumer *c, mem_pend *p, uint32_t idx)
{
    if (p->timer == MEM_IN_FIFO) {
        p->timer = MEM_NO_TIMER;
        c->tq_live--;
        if (p->tq_ticket == c->tq_popped)
            tq_trim(c);
    } else if (p->timer < MEM_IN_FIFO) {
        heap_remove(c, idx);
    }
}

void mem_timer_disarm(mem_consumer *c, mem_pend *p)
{
    timer_disarm(c, p, (uint32_t)(p - c->pend));
}

mem_pend *mem_timer_first(mem_consumer *c)
{
    if (!c->heap_len)
        return c->tq_len ? &c->pend[c->tq[c->tq_head]] : NULL;
    mem_pend *h = &c->pend[c->heap[0].idx];
    if (!c->tq_len)
        return h;
    mem_pend *q = &c->pend[c->tq[c->tq_head]];
    return h->deadline < q->deadline || (h->deadline == q->deadline && h->sseq < q->sseq) ? h : q;
}

void mem_timers_rearm_all(mem_consumer *c)
{
    c->heap_len = 0;
    tq_reset(c);
    for (uint32_t i = 0; i < c->pend_top; i++) {
        mem_pend *p = &c->pend[i];
        if (p->timer == MEM_FREE_SLOT || p->timer == MEM_NO_TIMER)
            continue;
        p->timer = MEM_NO_TIMER;
        p->deadline = p->ts + mem_wait_for(c, p->sseq);
        (void)mem_timer_arm(c, p); /* as many as were armed: cannot fail */
    }
}

/* ---- records ---------------------------------------------------------------------- */

bool mem_pend_reserve_slow(mem_consumer *c, uint64_t sseq)
{
    if (c->pend_free == UINT32_MAX && c->pend_top == c->pend_cap) {
        uint32_t ncap = c->pend_cap ? c->pend_cap * 2 : 64;
        mem_pend *np = realloc(c->pend, (size_t)ncap * sizeof *np);
        if (!np)
            return false;
        c->pend = np;
        c->pend_cap = ncap;
    }
    return heap_reserve(c, c->pend_cap) && win_reserve(c, sseq);
}

mem_pend *mem_pend_add(mem_consumer *c, uint64_t sseq, uint64_t dseq, int64_t ts)
{
    return mem_pend_reserve(c, sseq) ? mem_pend_insert(c, sseq, dseq, ts) : NULL;
}

mem_pend *mem_pend_insert(mem_consumer *c, uint64_t sseq, uint64_t dseq, int64_t ts)
{
    uint32_t idx;
    if (c->pend_free != UINT32_MAX) {
        idx = c->pend_free;
        c->pend_free = (uint32_t)c->pend[idx].sseq;
    } else {
        idx = c->pend_top++;
    }
    win_put(c, sseq, idx);
    mem_pend *p = &c->pend[idx];
    *p = (mem_pend){.sseq = sseq, .dseq = dseq, .ts = ts, .timer = MEM_NO_TIMER};
    p->deadline = ts + mem_wait_for(c, sseq);
    c->pend_len++;
    return timer_arm(c, p, idx) ? p : NULL; /* reserved: cannot fail */
}

void mem_pend_remove_at(mem_consumer *c, mem_pend *p)
{
    uint32_t idx = (uint32_t)(p - c->pend);
    timer_disarm(c, p, idx);
    if (p->in_rdq)
        c->rdq_live--;
    win_del(c, p->sseq);
    /* The free list threads through sseq; `timer` marks a free slot. */
    p->in_rdq = false;
    p->timer = MEM_FREE_SLOT;
    p->sseq = c->pend_free;
    c->pend_free = idx;
    c->pend_len--;
}

void mem_pend_remove(mem_consumer *c, uint64_t sseq)
{
    mem_pend *p = mem_pend_get(c, sseq);
    if (p)
        mem_pend_remove_at(c, p);
}

void mem_pend_clear(mem_consumer *c)
{
    mem_u64map_clear(&c->pend_idx);
    if (c->win_cap)
        memset(c->win, 0, (size_t)c->win_cap * sizeof *c->win);
    c->win_len = 0;
    c->win_lo = 0;
    c->heap_len = 0;
    tq_reset(c);
    c->pend_len = 0;
    c->pend_top = 0;
    c->pend_free = UINT32_MAX;
}

void mem_pend_free_all(mem_consumer *c)
{
    free(c->pend);
    free(c->win);
    mem_u64map_free(&c->pend_idx);
    free(c->heap);
    free(c->tq);
}

/* ---- consistency (ps_memory_check) ------------------------------------------------------ */

#define BAD(...) ps_error(PS_ERR_INTERNAL, 0, __VA_ARGS__)

/* Every live record is found by its sequence; the window and the map
 * count what they hold, and the map only what is below the window. */
static ps_status check_index(const mem_consumer *c)
{
    const char *st = c->st->name, *cn = c->name;
    uint32_t found_in_win = 0, slots = 0;
    for (uint32_t i = 0; i < c->pend_top; i++) {
        const mem_pend *p = &c->pend[i];
        if (p->timer == MEM_FREE_SLOT)
            continue;
        if (pend_find(c, p->sseq) != i)
            return BAD("consumer %s/%s: pending seq %" PRIu64 " is not indexed", st, cn, p->sseq);
        found_in_win += win_slot(c, p->sseq) != 0;
    }
    for (uint32_t i = 0; i < c->win_cap; i++)
        slots += c->win[i] != 0;
    if (slots != c->win_len || found_in_win != c->win_len || found_in_win + c->pend_idx.len != c->pend_len)
        return BAD("consumer %s/%s: the window holds %" PRIu32 " slots for %" PRIu32 " records (it counts %" PRIu32
                   "), the map %" PRIu32 ", and %" PRIu32 " are pending", st, cn, slots, found_in_win, c->win_len,
                   c->pend_idx.len, c->pend_len);
    for (uint32_t i = 0; i < c->pend_idx.cap; i++)
        if (c->pend_idx.keys[i] && c->pend_idx.keys[i] >= c->win_lo)
            return BAD("consumer %s/%s: seq %" PRIu64 " is in the map, not below the window at %" PRIu64, st, cn,
                       c->pend_idx.keys[i], c->win_lo);
    return PS_OK;
}

/* Every armed record is where its `timer` says; the FIFO's front is live
 * and its live entries rise in (deadline, sseq); the heap is a heap. */
static ps_status check_timers(const mem_consumer *c)
{
    const char *st = c->st->name, *cn = c->name;
    uint32_t in_fifo = 0;
    for (uint32_t i = 0; i < c->pend_top; i++) {
        const mem_pend *p = &c->pend[i];
        if (p->timer == MEM_IN_FIFO) {
            in_fifo++;
            uint64_t at = p->tq_ticket - c->tq_popped;
            if (p->tq_ticket < c->tq_popped || at >= c->tq_len || !tq_live_at(c, (uint32_t)at) ||
                c->tq[(c->tq_head + at) & (c->tq_cap - 1)] != i)
                return BAD("consumer %s/%s: the timer of pending seq %" PRIu64 " is not in the FIFO", st, cn,
                           p->sseq);
        } else if (p->timer < MEM_IN_FIFO &&
                   (p->timer >= c->heap_len || c->heap[p->timer].idx != i ||
                    c->heap[p->timer].deadline != p->deadline || c->heap[p->timer].sseq != p->sseq)) {
            return BAD("consumer %s/%s: heap entry of pending seq %" PRIu64 " is wrong", st, cn, p->sseq);
        }
    }
    if (in_fifo != c->tq_live || (c->tq_len && !tq_live_at(c, 0)))
        return BAD("consumer %s/%s: %" PRIu32 " timers in the FIFO, it counts %" PRIu32 " live%s", st, cn, in_fifo,
                   c->tq_live, c->tq_len && !tq_live_at(c, 0) ? ", and its front is stale" : "");
    const mem_pend *prev = NULL;
    for (uint32_t i = 0; i < c->tq_len; i++) {
        if (!tq_live_at(c, i))
            continue;
        const mem_pend *p = &c->pend[c->tq[(c->tq_head + i) & (c->tq_cap - 1)]];
        if (prev && (p->deadline < prev->deadline || (p->deadline == prev->deadline && p->sseq <= prev->sseq)))
            return BAD("consumer %s/%s: timer FIFO out of order at seq %" PRIu64, st, cn, p->sseq);
        prev = p;
    }
    for (uint32_t k = 0; k < c->heap_len; k++) {
        uint32_t parent = k ? (k - 1) / 2 : 0;
        const mem_hent *x = &c->heap[k], *y = &c->heap[parent];
        if (hent_less(x, y))
            return BAD("consumer %s/%s: deadline heap out of order at %" PRIu32, st, cn, k);
        if (x->idx >= c->pend_top || c->pend[x->idx].timer != k)
            return BAD("consumer %s/%s: heap entry %" PRIu32 " points at the wrong record", st, cn, k);
    }
    return PS_OK;
}

ps_status mem_pend_check(const mem_consumer *c)
{
    ps_status s = check_index(c);
    return s ? s : check_timers(c);
}
