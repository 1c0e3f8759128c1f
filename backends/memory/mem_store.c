/* mem_store.c — a stream's message storage: append, look up, remove, limits,
 * MaxAge and per-subject bookkeeping.
 *
 * Messages live in a ring indexed by sequence (slot = seq & (cap - 1)); a
 * removed message leaves a NULL slot, and the first sequence moves past
 * leading holes. Slots outside [first_seq, last_seq] are always NULL, which
 * is what lets a crash rollback put a removed message back (mem_restart.c).
 *
 * This file is not: the publish pipeline (mem_publish.c), the dedup window
 * (mem_dedup.c) or what consumers do when a message goes away
 * (mem_deliver.c, called from here).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem_internal.h"

static const char *subj_key(const void *v) { return ((const mem_subj *)v)->name; }


/* JS 3.9: what one message adds to the stream's bytes. */
static uint64_t msg_bytes(const mem_stream *st, size_t subj_len, size_t hdr_len, size_t len)
{
    if (st->cfg.storage == PS_STORAGE_MEMORY)
        return subj_len + hdr_len + len + 16;
    return 22 + subj_len + len + 8 + (hdr_len ? 4 + hdr_len : 0);
}

uint64_t mem_msg_bytes(const mem_stream *st, const mem_smsg *m)
{
    return msg_bytes(st, m->subj->len, m->hdr_len, m->data_len);
}

static bool ring_fits(mem_stream *st, uint64_t lo, uint64_t hi)
{
    if (st->ring_cap && hi - lo < st->ring_cap)
        return true;
    uint64_t ncap = st->ring_cap ? st->ring_cap : 64;
    while (hi - lo >= ncap)
        ncap *= 2;
    /* Past the pool's smallest piece, straight to a whole region: a region
     * is reused whole by the next stream, while each step between would
     * leave a cached piece behind that only counts as resident memory. */
    if (ncap * sizeof(mem_smsg *) > MEM_POOL_MIN_SIZE && ncap * sizeof(mem_smsg *) < MEM_REGION_SIZE)
        ncap = MEM_REGION_SIZE / sizeof(mem_smsg *);
    if (ncap > SIZE_MAX / sizeof(mem_smsg *))
        return false;
    uint64_t ocap = st->ring_cap;
    mem_smsg **nr = mem_big_grow(st->ring, ocap * sizeof *nr, ncap * sizeof *nr);
    if (!nr)
        return false;
    /* Grown in place: a stored seq's slot moves from s & (ocap - 1) to
     * s & (ncap - 1). Seqs of one ocap-aligned block move together, from
     * the old part to the new, empty one (the stored window is narrower
     * than ocap), so each block is one copy and no copy overwrites. */
    for (uint64_t s = st->first_seq; st->msgs && s <= st->last_seq;) {
        uint64_t e = s | (ocap - 1);
        if (e > st->last_seq)
            e = st->last_seq;
        uint64_t i = s & (ocap - 1), j = s & (ncap - 1), n = e - s + 1;
        if (i != j) {
            memcpy(nr + j, nr + i, n * sizeof *nr);
            memset(nr + i, 0, n * sizeof *nr);
        }
        if (e == UINT64_MAX)
            break;
        s = e + 1;
    }
    st->ring = nr;
    st->ring_cap = ncap;
    return true;
}

void mem_store_free_ring(mem_stream *st)
{
    mem_big_free(st->ring, st->ring_cap * sizeof *st->ring);
    st->ring = NULL;
    st->ring_cap = 0;
}

mem_smsg *mem_store_get(const mem_stream *st, uint64_t seq)
{
    if (!st->msgs || seq < st->first_seq || seq > st->last_seq)
        return NULL;
    return st->ring[seq & (st->ring_cap - 1)];
}

static mem_subj *subj_intern(mem_stream *st, const char *subj, size_t len)
{
    mem_subj *r = st->last_subj;
    if (r && r->len == len && ps_bytes_equal(r->name, subj, len))
        return r;
    if (!st->subj_map.key_of)
        st->subj_map.key_of = subj_key;
    r = mem_strmap_get(&st->subj_map, subj, len);
    if (r)
        return st->last_subj = r;
    r = calloc(1, sizeof *r + len + 1);
    if (!r)
        return NULL;
    memcpy(r->name, subj, len);
    r->len = (uint32_t)len;
    if (!mem_strmap_put(&st->subj_map, r)) {
        free(r);
        return NULL;
    }
    return st->last_subj = r;
}

static void subj_release(mem_stream *st, mem_subj *r)
{
    if (r->count == 0 && r->tombs == 0 && r->fss_msgs == 0) { /* blk_*: with no message left, gone on the server too */
        if (st->last_subj == r)
            st->last_subj = NULL;
        mem_strmap_del(&st->subj_map, r->name, r->len);
        free(r);
    }
}

/* ---- message storage ----------------------------------------------------------
 * Messages are cut from the stream's arena (mem_arena.c) in publish order:
 * no malloc per message, no per-chunk overhead, and a block may outlive
 * most of its messages while one is still stored, much as a file store's
 * block does. */

static size_t msg_size(size_t hdr_len, size_t len)
{
    return sizeof(mem_smsg) + hdr_len + len;
}

static mem_smsg *msg_alloc(mem_stream *st, size_t hdr_len, size_t len)
{
    uint16_t tag = 0;
    mem_smsg *m = mem_arena_alloc(&st->msg_arena, msg_size(hdr_len, len), &tag);
    if (m)
        m->block_off = tag;
    return m;
}

static void msg_dealloc(mem_stream *st, mem_smsg *m)
{
    mem_arena_free(&st->msg_arena, m, m->block_off);
}

/* Puts an existing message object into its slot and updates the counters. */
static bool store_place(mem_stream *st, mem_smsg *m)
{
    uint64_t lo = st->msgs ? (m->seq < st->first_seq ? m->seq : st->first_seq) : m->seq;
    uint64_t hi = st->msgs && st->last_seq > m->seq ? st->last_seq : m->seq;
    if (!ring_fits(st, lo, hi))
        return false;
    st->ring[m->seq & (st->ring_cap - 1)] = m;
    if (!st->msgs || m->seq < st->first_seq)
        st->first_seq = m->seq;
    if (m->seq > st->last_seq)
        st->last_seq = m->seq;
    st->msgs++;
    st->bytes += mem_msg_bytes(st, m);
    mem_subj *r = m->subj;
    if (r->count++ == 0) {
        st->num_subjects++;
        r->first_hint = m->seq;
    } else if (m->seq < r->first_hint) {
        r->first_hint = m->seq;
    }
    if (m->seq > r->last_seq)
        r->last_seq = m->seq;
    return true;
}

/* ---- the file store's per-subject records (nats-server 2.9.10) -----------------
 * msgBlock.fss keeps {Msgs, First, Last} per subject. Every removal (a
 * delete, an ack, a limit, MaxAge, Compact, a filtered purge) goes through
 * removeSeqPerSubject, which moves First forward but never Last back: once
 * a subject's last message is removed while others of it remain, Last
 * names a message that is gone, and a get of the subject's last message
 * (loadLast: the block's Last) answers "no message found" until a new
 * message on the subject moves Last again. A full purge clears the
 * records; a restart reads them back from the messages. */

static void blk_stored(mem_subj *r, uint64_t seq)
{
    if (r->blk_msgs++ == 0)
        r->blk_first = seq;
    r->blk_last = seq;
}

static void blk_removed(mem_stream *st, const mem_smsg *m)
{
    mem_subj *r = m->subj;
    uint64_t seq = m->seq;
    if (r->blk_msgs == 0)
        return;
    if (r->blk_msgs == 1) {
        r->blk_msgs = 0;
        return;
    }
    r->blk_msgs--;
    if (seq != r->blk_first)
        return; /* Last stays, even when seq was it */
    if (r->blk_msgs == 1) {
        r->blk_first = r->blk_last;
        return;
    }
    for (uint64_t t = seq + 1; t <= r->blk_last; t++) {
        const mem_smsg *o = mem_store_get(st, t);
        if (o && o->subj == r) {
            r->blk_first = t;
            return;
        }
    }
}

void mem_blk_clear(mem_stream *st)
{
    for (uint32_t i = 0; st->subj_map.slots && i < st->subj_map.cap; i++) {
        mem_subj *r = st->subj_map.slots[i].val;
        if (r)
            r->blk_msgs = 0;
    }
}

void mem_blk_rebuild(mem_stream *st)
{
    mem_blk_clear(st);
    for (uint64_t s = st->first_seq; st->msgs && s <= st->last_seq; s++) {
        mem_smsg *m = mem_store_get(st, s);
        if (m)
            blk_stored(m->subj, s);
    }
}

uint64_t mem_blk_last_seq(const mem_stream *st, const char *subj)
{
    const mem_subj *r = mem_strmap_get(&st->subj_map, subj, strlen(subj));
    return r && r->blk_msgs ? r->blk_last : 0;
}

/* ---- the memory store's per-subject records (nats-server 2.9.10) ---------------
 * memStore keeps {Msgs, First, Last} per subject in a map that removeMsg
 * updates but Compact (a purge with seq > 1 or keep) never touches: the
 * compacted messages stay counted, in NumSubjects, in the per-subject limit
 * (whose enforcement stops at a First that is gone) and in Discard=New,
 * until a full purge clears the map. The file store has no such gap. */

static void fss_stored(mem_stream *st, mem_subj *r, uint64_t seq)
{
    if (r->fss_msgs++ == 0) {
        r->fss_first = seq;
        st->fss_subjects++;
    }
    r->fss_last = seq;
}

/* memStore.removeSeqPerSubject, quirks included. */
void mem_fss_removed(mem_stream *st, const mem_smsg *m)
{
    mem_subj *r = m->subj;
    uint64_t seq = m->seq;
    if (r->fss_msgs == 0)
        return;
    if (r->fss_msgs == 1) {
        r->fss_msgs = 0;
        st->fss_subjects--;
        return;
    }
    r->fss_msgs--;
    if (seq != r->fss_first)
        return;
    if (r->fss_msgs == 1) {
        if (seq == r->fss_last)
            r->fss_last = r->fss_first;
        else
            r->fss_first = r->fss_last;
        return;
    }
    for (uint64_t t = seq + 1; t <= r->fss_last; t++) {
        const mem_smsg *o = mem_store_get(st, t);
        if (o && o->subj == r) {
            r->fss_first = t;
            break;
        }
    }
}

void mem_fss_reset(mem_stream *st)
{
    for (uint32_t i = 0; i < st->subj_map.cap; i++) {
        mem_subj *r = st->subj_map.slots ? st->subj_map.slots[i].val : NULL;
        if (r && r->fss_msgs) {
            r->fss_msgs = 0;
            /* A record without messages (left by a Compact) goes with it;
             * callers reset before removing messages, so these are few. */
            if (r->count == 0 && r->tombs == 0) {
                subj_release(st, r);
                i = (uint32_t)-1; /* the map may have moved entries: rescan */
            }
        }
    }
    st->fss_subjects = 0;
}

/* store_place for a message after the last one with room in the ring
 * (every publish but one in a doubling of the ring); false: not that. */
static bool store_place_append(mem_stream *st, mem_smsg *m)
{
    uint64_t seq = m->seq;
    if (seq <= st->last_seq || !st->ring_cap || (st->msgs && seq - st->first_seq >= st->ring_cap))
        return false;
    st->ring[seq & (st->ring_cap - 1)] = m;
    __builtin_prefetch(&st->ring[(seq + 32) & (st->ring_cap - 1)], 1); /* as mem_arena_alloc */
    if (!st->msgs)
        st->first_seq = seq;
    st->last_seq = seq;
    st->msgs++;
    st->bytes += mem_msg_bytes(st, m);
    mem_subj *r = m->subj;
    if (r->count++ == 0) {
        st->num_subjects++;
        r->first_hint = seq;
    } else if (seq < r->first_hint) {
        r->first_hint = seq;
    }
    if (seq > r->last_seq)
        r->last_seq = seq;
    return true;
}

bool mem_store_append(mem_stream *st, uint64_t seq, int64_t ts, const char *subj,
                      size_t subj_len, const char *hdr, size_t hdr_len,
                      const void *data, size_t len)
{
    mem_subj *r = subj_intern(st, subj, subj_len);
    if (!r)
        return false;
    mem_smsg *m = msg_alloc(st, hdr_len, len);
    if (!m) {
        subj_release(st, r);
        return false;
    }
    m->seq = seq;
    m->ts = ts;
    m->subj = r;
    m->hdr_len = (uint16_t)hdr_len;
    m->data_len = (uint32_t)len;
    if (hdr_len)
        memcpy(m->bytes, hdr, hdr_len);
    if (len)
        memcpy(m->bytes + hdr_len, data, len);
    if (!store_place_append(st, m) && !store_place(st, m)) {
        msg_dealloc(st, m);
        subj_release(st, r);
        return false;
    }
    st->last_ts = ts;
    st->lseq_seen++; /* processJetStreamMsg: mset.lseq++ whatever seq the store took */
    if (!mem_is_file(st))
        fss_stored(st, r, seq);
    else
        blk_stored(r, seq);
    if (st->nconsumers)
        mem_on_stored(st, m);
    return true;
}

/* JS 4.6: a sequence consumed without storing a message. */
void mem_store_skip(mem_stream *st, uint64_t seq, int64_t ts)
{
    st->lseq_behind = false;
    st->last_seq = seq;
    st->last_ts = ts;
    if (!st->msgs)
        st->first_seq = seq + 1;
}

/* Takes a message out of the ring and the counters, without freeing it. */
static void store_unplace(mem_stream *st, mem_smsg *m)
{
    uint64_t seq = m->seq;
    st->ring[seq & (st->ring_cap - 1)] = NULL;
    st->msgs--;
    st->bytes -= mem_msg_bytes(st, m);
    mem_subj *r = m->subj;
    if (--r->count == 0) {
        st->num_subjects--;
        r->last_seq = 0;
    } else if (r->last_seq == seq) {
        uint64_t s = seq - 1;
        while (s >= st->first_seq && s >= r->first_hint) {
            mem_smsg *o = st->ring[s & (st->ring_cap - 1)];
            if (o && o->subj == r)
                break;
            s--;
        }
        r->last_seq = s;
    }
    if (!st->msgs) {
        st->first_seq = st->last_seq + 1;
    } else if (seq == st->first_seq) {
        while (!st->ring[st->first_seq & (st->ring_cap - 1)])
            st->first_seq++;
    }
}

static void msg_free(mem_stream *st, mem_smsg *m)
{
    mem_subj *r = m->subj;
    msg_dealloc(st, m);
    subj_release(st, r);
}

void mem_msg_release(mem_stream *st, mem_smsg *m)
{
    msg_free(st, m);
}

/* JS 13.1: removals become durable when the block index is rewritten. */
void mem_tombs_persist(mem_stream *st)
{
    for (uint32_t i = 0; i < st->ntombs; i++) {
        mem_smsg *m = st->tombs[i].msg;
        m->subj->tombs--;
        msg_free(st, m);
    }
    st->ntombs = 0;
}

static bool tomb_add(mem_stream *st, mem_smsg *m, int64_t now)
{
    if (st->ntombs == st->tombs_cap) {
        uint32_t ncap = st->tombs_cap ? st->tombs_cap * 2 : 64;
        mem_tomb *nt = realloc(st->tombs, (size_t)ncap * sizeof *nt);
        if (!nt)
            return false;
        st->tombs = nt;
        st->tombs_cap = ncap;
    }
    m->subj->tombs++;
    st->tombs[st->ntombs++] = (mem_tomb){m, now};
    return true;
}

/* Acks, TERMs and deletes on a file stream are kept as tombstones until the
 * index rule of JS 13.1 makes them durable: a removal more than 2 s (from
 * the front) or 0.5 s (interior) after the last index write rewrites the
 * index; a stream that becomes empty is persisted at once. */
static void removal_durability(mem_stream *st, mem_smsg *m, bool fifo, int64_t now)
{
    int64_t gap = now - st->index_write_ns;
    int64_t need = fifo ? 2 * PS_NS_PER_SEC : PS_NS_PER_SEC / 2;
    if (gap > need || st->msgs == 0 || !tomb_add(st, m, now)) {
        msg_free(st, m); /* first: the tombs may hold its subject alive */
        mem_tombs_persist(st);
        st->index_write_ns = now;
    }
}

void mem_store_remove(mem_stream *st, uint64_t seq, mem_removal why, int64_t now)
{
    mem_smsg *m = mem_store_get(st, seq);
    if (!m)
        return;
    bool fifo = seq == st->first_seq;
    if (why != MEM_RM_PURGE && !mem_is_file(st))
        mem_fss_removed(st, m); /* memStore.removeMsg; purges see to their own */
    if (mem_is_file(st))
        blk_removed(st, m); /* every file store removal, a full purge's after its clear */
    store_unplace(st, m);
    mem_on_removed(st, m, now, why != MEM_RM_PURGE);
    if (mem_is_file(st) && (why == MEM_RM_ACK || why == MEM_RM_DELETE))
        removal_durability(st, m, fifo, now);
    else
        msg_free(st, m);
}

/* Puts a tombstoned message back (crash rollback). */
bool mem_store_restore(mem_stream *st, mem_smsg *m)
{
    return store_place(st, m);
}

static void remove_oldest_on(mem_stream *st, mem_subj *r, int64_t now)
{
    uint64_t s = r->first_hint > st->first_seq ? r->first_hint : st->first_seq;
    for (; s <= st->last_seq; s++) {
        mem_smsg *m = st->ring[s & (st->ring_cap - 1)];
        if (m && m->subj == r) {
            r->first_hint = s + 1;
            mem_store_remove(st, s, MEM_RM_LIMITS, now);
            return;
        }
    }
}

/* memStore.enforcePerSubjectLimit: removes the record's First while over
 * the limit, and stops when that message is gone (a stale record). r stays
 * allocated: it keeps a record of at least one message throughout. */
static void fss_enforce(mem_stream *st, mem_subj *r, uint64_t lim, int64_t now)
{
    while (r && r->fss_msgs > lim && mem_store_get(st, r->fss_first))
        mem_store_remove(st, r->fss_first, MEM_RM_LIMITS, now);
}

/* JS 3.7: after a store with Discard=Old, drop the oldest until the limits
 * hold. nats-server 2.9.10's storeRawMsg applies the per-subject limit of
 * the stored subject (`subj_hint`) BEFORE MaxMsgs and MaxBytes, so a store
 * over both limits evicts the subject's oldest, not the stream's. NULL:
 * MaxMsgs and MaxBytes only (a stream update; see
 * mem_store_enforce_per_subject). */
void mem_store_enforce_limits_due(mem_stream *st, int64_t now, const char *subj_hint)
{
    const ps_stream_config *c = &st->cfg;
    if (subj_hint && c->max_msgs_per_subject > 0) {
        uint64_t lim = (uint64_t)c->max_msgs_per_subject;
        mem_subj *r = mem_strmap_get(&st->subj_map, subj_hint, strlen(subj_hint));
        if (!mem_is_file(st))
            fss_enforce(st, r, lim, now);
        else
            while (r && r->count > lim)
                remove_oldest_on(st, r, now);
    }
    while (c->max_msgs > 0 && st->msgs > (uint64_t)c->max_msgs)
        mem_store_remove(st, st->first_seq, MEM_RM_LIMITS, now);
    while (c->max_bytes > 0 && st->bytes > (uint64_t)c->max_bytes)
        mem_store_remove(st, st->first_seq, MEM_RM_LIMITS, now);
}

void mem_store_enforce_per_subject(mem_stream *st, int64_t now)
{
    if (st->cfg.max_msgs_per_subject <= 0)
        return;
    uint64_t lim = (uint64_t)st->cfg.max_msgs_per_subject;
    /* Every subject: walk the messages oldest first so the result does not
     * depend on the map's order. */
    for (uint64_t s = st->first_seq; st->msgs && s <= st->last_seq; s++) {
        mem_smsg *m = mem_store_get(st, s);
        if (m && !mem_is_file(st))
            fss_enforce(st, m->subj, lim, now);
        else if (m && m->subj->count > lim)
            mem_store_remove(st, s, MEM_RM_LIMITS, now);
    }
}

/* JS 3.10: messages with ts <= now - MaxAge go. */
void mem_store_expire_due(mem_stream *st, int64_t now)
{
    while (st->msgs) {
        mem_smsg *m = mem_store_get(st, st->first_seq);
        if (m->ts > now - st->cfg.max_age_ns)
            break;
        mem_store_remove(st, st->first_seq, MEM_RM_LIMITS, now);
    }
}

int64_t mem_store_next_expiry(const mem_stream *st)
{
    if (st->cfg.max_age_ns <= 0 || !st->msgs)
        return INT64_MAX;
    return mem_store_get(st, st->first_seq)->ts + st->cfg.max_age_ns;
}

uint64_t mem_subject_last_seq(const mem_stream *st, const char *subj)
{
    const mem_subj *r = mem_strmap_get(&st->subj_map, subj, strlen(subj));
    return r && r->count ? r->last_seq : 0;
}

void mem_store_free_all(mem_stream *st)
{
    mem_fss_reset(st);
    mem_blk_clear(st);
    mem_tombs_persist(st);
    if (st->msgs)
        for (uint64_t s = st->first_seq; s <= st->last_seq; s++) {
            mem_smsg *m = st->ring[s & (st->ring_cap - 1)];
            if (m) {
                st->ring[s & (st->ring_cap - 1)] = NULL;
                m->subj->count--;
                msg_free(st, m);
            }
        }
    st->msgs = 0;
    st->bytes = 0;
    st->num_subjects = 0;
    st->first_seq = st->last_seq + 1;
    mem_arena_release(&st->msg_arena);
}
