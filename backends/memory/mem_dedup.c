/* mem_dedup.c — a stream's dedup window (JS 3.6): the Nats-Msg-Ids it has
 * seen, each with the sequence it was stored at, until the server's purge
 * timer (purgeMsgIds) lets them go.
 *
 * Entries are cut from an arena in store order and listed in a FIFO in
 * that order (expiry takes the oldest first). A FIFO position is a 32-bit
 * count of entries ever added, so it names an entry for as long as the
 * entry is in the window; position p sits at p & (dedup_cap - 1).
 *
 * The index from id to entry is open addressing with linear probing over
 * two arrays, one byte and four bytes per slot: a tag (0 empty, 1 a
 * deleted slot, else 0x80 | the hash's top 7 bits) and the entry's FIFO
 * position. A lookup reads tags and reads an entry only where the tag
 * matches; an insert writes one tag and one position; a delete (expiry)
 * leaves a tombstone. The index is rebuilt from the FIFO, in store order,
 * when live slots and tombstones fill half of it.
 *
 * Why this shape: every publish with an id looks up and then inserts an id
 * at a random place in the index. A window of a million ids was a 32 MiB
 * table of hash-and-pointer slots, and on a 2-core virtual machine a random
 * access to 32 MiB is a miss to memory (about 150 ns; to 8 MiB about
 * 40 ns): the lookup waited for it, or, once the lookup read only tags,
 * the insert's store did and held the next publish behind it. Here the
 * same window is 2 MiB of tags and 8 MiB of positions.
 *
 * Not: the check a publish makes (mem_publish.c) or the rebuild after a
 * restart (mem_restart.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem_internal.h"

#define DD_EMPTY 0
#define DD_TOMB 1

static inline uint8_t dd_tag(uint64_t h)
{
    return (uint8_t)(0x80 | (h >> 57));
}

/* The entry at FIFO position p, which is in the window. */
static inline mem_dedup *dd_at(const mem_stream *st, uint32_t p)
{
    return st->dedup_fifo[p & (st->dedup_cap - 1)];
}

/* Puts hash h at FIFO position p into the first free slot of its probe
 * run (the index has room); true when that slot was empty, false when it
 * was a tombstone. */
static bool dd_place(uint8_t *tags, uint32_t *pos, uint32_t cap, uint64_t h, uint32_t p)
{
    uint32_t mask = cap - 1, j = (uint32_t)h & mask;
    while (tags[j] > DD_TOMB)
        j = (j + 1) & mask;
    bool was_empty = tags[j] == DD_EMPTY;
    tags[j] = dd_tag(h);
    pos[j] = p;
    return was_empty;
}

/* Rebuilds the index from the FIFO with room for one more entry: at most
 * 3/8 full afterwards, so that a quarter of it or more is filled (by new
 * entries or tombstones) before the next rebuild. Reads the entries in
 * store order, never at random through the old slots. */
static __attribute__((noinline, cold)) bool dd_rebuild(mem_stream *st)
{
    uint32_t ncap = 16;
    while ((uint64_t)(st->dd_len + 1) * 8 > (uint64_t)ncap * 3)
        ncap *= 2;
    uint8_t *nt = mem_big_alloc(ncap, true);
    uint32_t *np = nt ? mem_big_alloc((size_t)ncap * sizeof *np, false) : NULL;
    if (!np) {
        mem_big_free(nt, ncap);
        return false;
    }
    for (uint32_t i = 0; i < st->dedup_len; i++) {
        uint32_t p = st->dedup_first + i;
        const mem_dedup *d = dd_at(st, p);
        if (d->indexed)
            dd_place(nt, np, ncap, d->hash, p);
    }
    mem_big_free(st->dd_tags, st->dd_cap);
    mem_big_free(st->dd_pos, (size_t)st->dd_cap * sizeof *st->dd_pos);
    st->dd_tags = nt;
    st->dd_pos = np;
    st->dd_cap = ncap;
    st->dd_used = st->dd_len;
    return true;
}

/* The slot of id *k, -1 when the window does not hold it. */
static int64_t dd_find(const mem_stream *st, const mem_key *k)
{
    if (!st->dd_len)
        return -1;
    uint32_t mask = st->dd_cap - 1;
    uint8_t t = dd_tag(k->hash), c;
    for (uint32_t j = (uint32_t)k->hash & mask; (c = st->dd_tags[j]) != DD_EMPTY; j = (j + 1) & mask) {
        if (c != t)
            continue;
        const mem_dedup *d = dd_at(st, st->dd_pos[j]);
        if (d->hash == k->hash && strncmp(d->id, k->s, k->len) == 0 && d->id[k->len] == '\0')
            return j;
    }
    return -1;
}

const mem_dedup *mem_stream_dedup_find(const mem_stream *st, const mem_key *k)
{
    int64_t j = dd_find(st, k);
    return j < 0 ? NULL : dd_at(st, st->dd_pos[j]);
}

void mem_stream_dedup_prefetch(const mem_stream *st, const mem_key *k)
{
    if (st->dd_cap) {
        uint32_t j = (uint32_t)k->hash & (st->dd_cap - 1);
        __builtin_prefetch(&st->dd_tags[j]);
        __builtin_prefetch(&st->dd_pos[j], 1); /* where an insert most likely writes */
    }
}

/* Room in the FIFO for one more entry; its positions stay where they are. */
static bool dd_fifo_reserve(mem_stream *st)
{
    if (st->dedup_len < st->dedup_cap)
        return true;
    uint32_t ncap = st->dedup_cap ? st->dedup_cap * 2 : 64;
    mem_dedup **nf = mem_big_alloc((size_t)ncap * sizeof *nf, false);
    if (!nf)
        return false;
    for (uint32_t i = 0; i < st->dedup_len; i++) {
        uint32_t p = st->dedup_first + i;
        nf[p & (ncap - 1)] = dd_at(st, p);
    }
    mem_big_free(st->dedup_fifo, (size_t)st->dedup_cap * sizeof *nf);
    st->dedup_fifo = nf;
    st->dedup_cap = ncap;
    return true;
}

/* `absent`: the window does not hold the id (saves searching it again). An
 * id it holds is indexed to the new entry from now on; the old entry stays
 * in the FIFO until it expires, indexed no more. */
static bool dedup_add(mem_stream *st, const mem_key *id, uint64_t seq, int64_t ts, bool absent)
{
    int64_t old = absent ? -1 : dd_find(st, id);
    if (!dd_fifo_reserve(st))
        return false;
    if (old < 0 && (st->dd_used + 1) * 2 > st->dd_cap && !dd_rebuild(st))
        return false;
    size_t n = id->len;
    uint16_t tag = 0;
    mem_dedup *d = mem_arena_alloc(&st->dedup_arena, sizeof *d + n + 1, &tag);
    if (!d)
        return false;
    d->seq = seq;
    d->ts = ts;
    d->hash = id->hash;
    d->tag = tag;
    d->indexed = true;
    memcpy(d->id, id->s, n);
    d->id[n] = '\0';
    uint32_t p = st->dedup_first + st->dedup_len;
    if (old >= 0) {
        dd_at(st, st->dd_pos[old])->indexed = false;
        st->dd_pos[old] = p;
    } else {
        st->dd_used += dd_place(st->dd_tags, st->dd_pos, st->dd_cap, id->hash, p);
        st->dd_len++;
    }
    st->dedup_fifo[p & (st->dedup_cap - 1)] = d;
    __builtin_prefetch(&st->dedup_fifo[(p + 32) & (st->dedup_cap - 1)], 1);
    st->dedup_len++;
    if (!st->dd_run_ns) /* storeMsgId starts the timer at one window */
        st->dd_run_ns = mem_now(st->mb) + st->cfg.duplicates_ns;
    return true;
}

bool mem_stream_dedup_add(mem_stream *st, const char *id, uint64_t seq, int64_t ts)
{
    mem_key k = mem_key_of(id);
    return dedup_add(st, &k, seq, ts, false);
}

bool mem_stream_dedup_add_key(mem_stream *st, const mem_key *id, uint64_t seq, int64_t ts)
{
    return dedup_add(st, id, seq, ts, true);
}

/* The oldest entry goes: its slot (found by its position, without
 * reading other entries) becomes a tombstone. */
static void dedup_pop(mem_stream *st)
{
    uint32_t p = st->dedup_first;
    mem_dedup *d = dd_at(st, p);
    if (d->indexed) {
        uint32_t mask = st->dd_cap - 1;
        uint8_t t = dd_tag(d->hash), c;
        for (uint32_t j = (uint32_t)d->hash & mask; (c = st->dd_tags[j]) != DD_EMPTY; j = (j + 1) & mask)
            if (c == t && st->dd_pos[j] == p) {
                st->dd_tags[j] = DD_TOMB;
                st->dd_len--;
                break;
            }
    }
    st->dedup_first++;
    st->dedup_len--;
    mem_arena_free(&st->dedup_arena, d, d->tag);
}

/* One run of nats-server 2.9.10's purgeMsgIds at time t: entries go, oldest
 * first, while t - ts >= Duplicates (JS 3.6); the timer is then set for
 * the oldest left (at least 50 ms ahead) or stopped. Between runs an
 * expired entry still catches duplicates, and an entry stored with
 * timestamp 0 (a publish skipped for lack of interest) lives until the
 * next run. */
static void dedup_run(mem_stream *st, int64_t t)
{
    int64_t w = st->cfg.duplicates_ns, next = w;
    while (st->dedup_len) {
        const mem_dedup *d = dd_at(st, st->dedup_first);
        if (t - d->ts < w) {
            next = w - (t - d->ts);
            break;
        }
        dedup_pop(st);
    }
    if (next < 50 * PS_NS_PER_MS)
        next = 50 * PS_NS_PER_MS;
    st->dd_run_ns = st->dedup_len ? t + next : 0;
}

void mem_stream_dedup_expire_due(mem_stream *st, int64_t now)
{
    while (st->dd_run_ns && st->dd_run_ns <= now)
        dedup_run(st, st->dd_run_ns);
}

void mem_stream_dedup_window_changed(mem_stream *st, int64_t now)
{
    if (st->dd_run_ns) /* update: ddtmr.Reset(time.Microsecond) */
        st->dd_run_ns = now;
}

void mem_stream_dedup_clear(mem_stream *st)
{
    st->dd_run_ns = 0;
    for (; st->dedup_len; st->dedup_len--, st->dedup_first++) {
        mem_dedup *d = dd_at(st, st->dedup_first);
        mem_arena_free(&st->dedup_arena, d, d->tag);
    }
    mem_arena_release(&st->dedup_arena);
    mem_big_free(st->dedup_fifo, (size_t)st->dedup_cap * sizeof *st->dedup_fifo);
    mem_big_free(st->dd_tags, st->dd_cap);
    mem_big_free(st->dd_pos, (size_t)st->dd_cap * sizeof *st->dd_pos);
    st->dedup_fifo = NULL;
    st->dd_tags = NULL;
    st->dd_pos = NULL;
    st->dedup_cap = st->dedup_first = 0;
    st->dd_cap = st->dd_len = st->dd_used = 0;
}

ps_status mem_stream_dedup_check(const mem_stream *st)
{
    uint32_t indexed = 0;
    for (uint32_t i = 0; i < st->dedup_len; i++) {
        uint32_t p = st->dedup_first + i;
        const mem_dedup *d = dd_at(st, p);
        if (!d->indexed)
            continue;
        indexed++;
        mem_key k = {d->id, strlen(d->id), d->hash};
        int64_t j = dd_find(st, &k);
        if (j < 0 || st->dd_pos[j] != p)
            return ps_error(PS_ERR_INTERNAL, 0, "stream %s: dedup id \"%s\" (position %u) is not indexed to its entry",
                            st->name, d->id, p);
    }
    uint32_t used = 0;
    for (uint32_t j = 0; j < st->dd_cap; j++)
        used += st->dd_tags[j] != DD_EMPTY;
    if (indexed != st->dd_len || used != st->dd_used || (st->dd_cap && st->dd_used * 2 > st->dd_cap))
        return ps_error(PS_ERR_INTERNAL, 0,
                        "stream %s: dedup index counts %u ids and %u used of %u slots; the FIFO indexes %u and %u are used",
                        st->name, st->dd_len, st->dd_used, st->dd_cap, indexed, used);
    return PS_OK;
}
