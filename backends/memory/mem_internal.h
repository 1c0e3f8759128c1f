/* mem_internal.h — the memory backend's private types, shared by its files.
 *
 * Layout: mem_util.c (containers), mem_arena.c (bulk memory: huge-page
 * regions reused across backends, arenas of small objects), mem_backend.c (ops table, locking,
 * handles, timers), mem_store.c (message storage and removal), mem_stream.c
 * (stream admin), mem_publish.c (the publish pipeline of JS 3.4),
 * mem_consumer.c (consumer admin and info), mem_deliver.c (the delivery
 * engine of JS 6-8), mem_pending.c (its pending set and ack-wait timers),
 * mem_advisory.c (JS 11), mem_restart.c (JS 13.1).
 *
 * Determinism: every collection that decides an order is an array or a FIFO
 * in insertion order; hash maps are only ever used for lookups.
 */
#ifndef MEM_INTERNAL_H
#define MEM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_memory.h"
#include "ps_rand.h"
#include "ps_backend_impl.h"
#include "mem_pool.h"

/* ---- containers (mem_util.c) -------------------------------------------- */

/* u64 -> u64 open-addressing map (linear probing, backward-shift delete).
 * Key 0 is reserved (sequences start at 1). */
typedef struct mem_u64map {
    uint64_t *keys;
    uint64_t *vals;
    uint32_t cap; /* power of two, 0 when unallocated */
    uint32_t len;
} mem_u64map;

bool mem_u64map_get(const mem_u64map *m, uint64_t key, uint64_t *val);
bool mem_u64map_put(mem_u64map *m, uint64_t key, uint64_t val); /* false: no memory */
/* Room for n more keys, so the next n puts of new keys cannot fail. */
bool mem_u64map_reserve(mem_u64map *m, uint32_t n);
bool mem_u64map_del(mem_u64map *m, uint64_t key);
void mem_u64map_clear(mem_u64map *m);
void mem_u64map_free(mem_u64map *m);

/* string -> pointer map; the key lives in the value, read through key_of. */
typedef const char *(*mem_key_fn)(const void *val);
typedef struct mem_strslot {
    uint64_t hash;
    void *val; /* NULL: empty */
} mem_strslot;
typedef struct mem_strmap {
    mem_strslot *slots; /* hash and value side by side: one cache line */
    uint32_t cap;
    uint32_t len;
    mem_key_fn key_of;
} mem_strmap;

uint64_t mem_hash(const char *s, size_t len);
void *mem_strmap_get(const mem_strmap *m, const char *key, size_t len);
bool mem_strmap_put(mem_strmap *m, void *val); /* replaces an equal key */
/* A key measured and hashed once, for a lookup and then an insert of the
 * same key (a publish with a msg id): `s` must outlive its use. */
typedef struct mem_key {
    const char *s;
    size_t len;
    uint64_t hash;
} mem_key;
mem_key mem_key_of(const char *s);
void *mem_strmap_get_key(const mem_strmap *m, const mem_key *k);
/* As mem_strmap_put, for a value whose key equals *k. */
bool mem_strmap_put_key(mem_strmap *m, const mem_key *k, void *val);
/* The same for a key the map does not hold (a lookup just missed it): no
 * second search. */
bool mem_strmap_put_new_key(mem_strmap *m, const mem_key *k, void *val);
/* A hint that a lookup of *k follows: starts loading its first slot. */
void mem_strmap_prefetch(const mem_strmap *m, const mem_key *k);
void *mem_strmap_del(mem_strmap *m, const char *key, size_t len);
void mem_strmap_free(mem_strmap *m);

/* FIFO of u64 (the redelivery queue). */
typedef struct mem_fifo {
    uint64_t *buf;
    uint32_t cap; /* power of two */
    uint32_t head;
    uint32_t len;
} mem_fifo;

bool mem_fifo_push(mem_fifo *q, uint64_t v);
/* Room for one more entry, so the next push cannot fail. */
bool mem_fifo_reserve(mem_fifo *q);
bool mem_fifo_pop(mem_fifo *q, uint64_t *v);
uint64_t mem_fifo_at(const mem_fifo *q, uint32_t i);
void mem_fifo_clear(mem_fifo *q);
void mem_fifo_free(mem_fifo *q);

char *mem_strdup(const char *s);

/* ---- bulk memory (mem_arena.c): mem_pool.h ------------------------------ */

/* Small objects cut from blocks in allocation order; a block is freed when
 * its last object is. Each object carries the 16-bit tag it was given,
 * which is how it finds its block again. Not thread-safe (the backend's
 * lock covers it). A zeroed mem_arena is empty. */
typedef struct mem_arena {
    struct mem_block *cur;  /* new objects are cut from it */
    size_t held;            /* bytes of blocks allocated: small ones, then regions */
} mem_arena;

#define MEM_ARENA_MAX_OBJ ((size_t)8 * 1024) /* larger: malloc'd alone */
#define MEM_ARENA_OWN UINT16_MAX             /* tag: malloc'd alone */
#define MEM_ARENA_REGION (UINT16_MAX - 1)    /* tag: in a region block */

/* A block's header (mem_arena.c); here for the inline fast path. */
typedef struct mem_block {
    uint32_t live; /* objects still allocated in it */
    uint32_t used; /* bytes handed out, header included */
    uint32_t size; /* SMALL_BLOCK or MEM_REGION_SIZE */
} mem_block;

/* `size` bytes, NULL when out of memory; *tag is what mem_arena_free needs.
 * The common case (room in the current block) is inline: it runs for every
 * stored message and dedup entry. */
void *mem_arena_alloc_slow(mem_arena *a, size_t size, uint16_t *tag);
static inline void *mem_arena_alloc(mem_arena *a, size_t size, uint16_t *tag)
{
    size = (size + 7) & ~(size_t)7;
    mem_block *b = a->cur;
    if (size > MEM_ARENA_MAX_OBJ || !b || b->used + size > b->size)
        return mem_arena_alloc_slow(a, size, tag);
    void *p = (char *)b + b->used;
    /* A region's objects find it by alignment; a small block's by offset,
     * in 8-byte units (below 64 KiB: fits with room for the markers). */
    *tag = b->size == MEM_REGION_SIZE ? MEM_ARENA_REGION : (uint16_t)(b->used / 8);
    b->used += (uint32_t)size;
    b->live++;
    /* Objects are cut in order, so the next ones' lines are known: ask for
     * them a few messages ahead. A store to a line not in cache holds
     * every later store, and any load that must wait for them (a caller's
     * id built byte by byte and read back whole) waits for that miss.
     * Measured (bench_memory, runs alternated): 512 bytes ahead took
     * publish with ids from 5.0 to 5.5 M/s; once the plain publish had
     * lost a fifth of its instructions, 1024 took it from 28.6 to 31.0 M/s
     * (ids unchanged, 2048 no better). A prefetch never faults. */
    __builtin_prefetch((char *)p + 1024, 1);
    return p;
}
void mem_arena_free(mem_arena *a, void *p, uint16_t tag);
/* Frees the current block if nothing lives in it (the arena stays usable). */
void mem_arena_release(mem_arena *a);

/* ---- stored messages and streams ------------------------------------------ */

typedef struct mem_subj {
    uint64_t count;     /* stored messages on this subject */
    uint64_t tombs;     /* removed messages kept for a crash rollback */
    uint64_t last_seq;  /* highest stored seq on it (0 if none) */
    uint64_t first_hint; /* no stored message on it below this */
    /* Memory storage: the server's own per-subject record (memStore.fss),
     * which a Compact leaves stale (mem_fss_*); fss_msgs 0: no record. */
    uint64_t fss_msgs, fss_first, fss_last;
    /* File storage: the file store's per-subject record (msgBlock.fss, the
     * model keeping one block), whose Last a removal never moves back
     * (mem_blk_*); blk_msgs 0: no record. */
    uint64_t blk_msgs, blk_first, blk_last;
    uint32_t len;
    char name[];
} mem_subj;

typedef struct mem_smsg {
    uint64_t seq;
    int64_t ts;
    mem_subj *subj;
    uint32_t data_len;
    uint16_t hdr_len;   /* headers are at most 65535 bytes (JS 3.4 step 9) */
    uint16_t block_off; /* its mem_arena tag (st->msg_arena) */
    char bytes[]; /* header block, then data */
} mem_smsg;

/* A removal that the file store has not yet made durable (JS 13.1): the
 * message is kept so a crash can put it back. */
typedef struct mem_tomb {
    mem_smsg *msg;
    int64_t removed_ns;
} mem_tomb;

typedef struct mem_dedup {
    uint64_t seq;
    int64_t ts;
    uint64_t hash; /* mem_hash of id: the index rehashes without reading ids */
    uint16_t tag; /* its mem_arena tag (st->dedup_arena) */
    bool indexed; /* false once a later entry of the same id replaced it */
    char id[];
} mem_dedup;

typedef struct mem_consumer mem_consumer;
typedef struct mem_backend mem_backend;

typedef struct mem_stream {
    mem_backend *mb;
    ps_stream_config cfg;  /* normalised; strings owned below */
    char *name;
    char **subjects;
    char *description;     /* NULL for none */
    int64_t created_ns;
    /* storage: ring of seqs [first_seq, last_seq] */
    mem_smsg **ring;
    uint64_t ring_cap;     /* power of two */
    uint64_t first_seq;
    uint64_t last_seq;
    uint64_t msgs;
    uint64_t bytes;
    bool purged_once;      /* a purge happened: FirstSeq no longer reads 0 */
    int64_t last_ts;
    mem_strmap subj_map;   /* name -> mem_subj */
    mem_subj *last_subj;   /* the last one published to: a lookup cache */
    mem_arena msg_arena;   /* stored messages are cut from it */
    uint64_t num_subjects;
    uint64_t fss_subjects;   /* memory storage: records in the server's fss */
    /* The stream's own last sequence (mset.lseq), which the expected-last-
     * sequence check reads: it counts stores, so after a purge past the end
     * moved the store's last sequence it stays behind until a store fails
     * or a sequence is skipped (both resynchronise it). */
    bool lseq_behind;
    uint64_t lseq_seen;
    /* dedup (JS 3.6, mem_dedup.c): entries in a FIFO in store order, for
     * expiry, and an index from id to FIFO position */
    mem_arena dedup_arena; /* the entries, cut in store order */
    mem_dedup **dedup_fifo;    /* position p is at p & (dedup_cap - 1) */
    uint32_t dedup_cap, dedup_first, dedup_len; /* first: the oldest's position */
    uint8_t *dd_tags;  /* per index slot: 0 empty, else 0x80 | hash's top 7 bits */
    uint32_t *dd_pos;  /* per index slot: the FIFO position of its entry */
    uint32_t dd_cap, dd_len, dd_used; /* slots; ids indexed; ids + tombstones */
    /* When the server's dedup purge timer (purgeMsgIds) runs next; 0: no
     * timer. Entries go only when it runs, which matters for the ones a
     * no-interest skip stores with timestamp 0 (mem_store.c). */
    int64_t dd_run_ns;
    char *last_msgid;      /* JS 3.5: of the last stored message, "" if none */
    size_t last_msgid_cap; /* bytes allocated for it (0: not owned yet) */
    /* consumers in creation order */
    mem_consumer **consumers;
    int nconsumers, consumers_cap;
    /* durability model of a file stream (JS 13.1) */
    mem_tomb *tombs;
    uint32_t ntombs, tombs_cap;
    int64_t index_write_ns;   /* last time removals were made durable */
} mem_stream;

/* ---- consumers ------------------------------------------------------------- */

typedef struct mem_pend {
    uint64_t sseq;
    uint64_t dseq;     /* of the FIRST delivery (the server keeps that one) */
    int64_t ts;        /* last delivery (or WPI / nak-delay reset) */
    int64_t deadline;  /* ts + wait for the current delivery count */
    uint64_t rdq_ticket; /* which FIFO entry is the live one (JS 6.4) */
    uint64_t tq_ticket;  /* with timer MEM_IN_FIFO: its entry in the timer FIFO */
    /* Its ack-wait timer: a position in the deadline heap, MEM_IN_FIFO,
     * MEM_NO_TIMER (queued for redelivery instead), or MEM_FREE_SLOT. */
    uint32_t timer;
    bool in_rdq;
} mem_pend;

#define MEM_NO_TIMER UINT32_MAX
#define MEM_FREE_SLOT (UINT32_MAX - 1)
#define MEM_IN_FIFO (UINT32_MAX - 2) /* heap positions are below */

/* What the file store last made durable of a consumer (JS 13.1). */
typedef struct mem_csnap {
    bool valid;
    uint64_t sseq, dseq;
    ps_seq_pair floor;
    uint32_t npend;
    mem_pend *pend;         /* copies: sseq, dseq, ts */
    uint32_t nrdc;
    uint64_t *rdc;          /* pairs: sseq, count */
} mem_csnap;

typedef struct mem_waiter mem_waiter;

/* A heap entry carries its keys, so sifting never chases into the slab. */
typedef struct mem_hent {
    int64_t deadline;
    uint64_t sseq;
    uint32_t idx; /* slab index of the pending record */
} mem_hent;

struct mem_consumer {
    mem_stream *st;
    char *name;
    ps_consumer_config cfg; /* normalised; strings owned below */
    char *durable;
    char *filter;
    int64_t *backoff;
    bool ephemeral;
    bool filter_all;        /* the filter matches every stream subject */
    /* As the server keeps them from creation when an update changes the
     * filter (consumer.updateConfig only swaps o.cfg): whether the filter
     * had wildcards (a wildcard filter set later then matches literally),
     * and the subject stores signal (NULL: every subject). */
    bool filter_wc;
    char *sig_filter;
    int64_t created_ns;
    uint64_t sseq;          /* next stream seq to scan */
    uint64_t dseq;          /* next delivery seq */
    ps_seq_pair floor;      /* ack floor (adflr, asflr) */
    ps_seq_pair zero_floor; /* reported while floor.consumer_seq is 0: (0,0) until a purge moves it */
    uint64_t npend_new;     /* NumPending: matching, seq >= sseq */
    /* The server's cached NumPending (consumer.npc/npcm), which is what the
     * ack metadata and ConsumerInfo report: recounted on create, info and
     * when npcm is 0, otherwise moved by stores, single removals above npcm
     * and first deliveries, so it goes stale as the server's does. */
    int64_t npc;
    uint64_t npcm;
    /* pending (mem_pending.c): slab, sequence index, ack-wait timers */
    mem_pend *pend;
    uint32_t pend_cap, pend_top; /* slab size, slots ever used */
    uint32_t pend_len;      /* live entries (NumAckPending) */
    uint32_t pend_free;     /* free list head, threaded through sseq */
    uint32_t *win;          /* sseq -> slab index + 1 (0: none), for [win_lo, win_lo + win_cap) */
    uint32_t win_cap, win_len;
    uint64_t win_lo;
    mem_u64map pend_idx;    /* sseq -> slab index, for records below the window */
    uint32_t *tq;           /* timer FIFO of slab indexes (may hold stale entries) */
    uint32_t tq_cap, tq_head, tq_len, tq_live;
    uint64_t tq_popped;     /* ticket of the front entry */
    int64_t tq_last_deadline; /* of the entry pushed last */
    uint64_t tq_last_sseq;
    struct mem_hent *heap;  /* min-heap on (deadline, sseq): timers armed out of order */
    uint32_t heap_len, heap_cap;
    mem_u64map rdc;         /* sseq -> redelivery count */
    mem_fifo rdq;           /* may hold stale entries; see rdq_live */
    /* Redeliveries queued with no pending record: a plain NAK that came
     * while nothing was pending (JS 7.6): sseq -> ticket. */
    mem_u64map rdq_bare;
    uint32_t rdq_live;      /* live entries: pending records with in_rdq set, and rdq_bare */
    uint64_t rdq_pushed, rdq_popped; /* tickets: absolute FIFO positions */
    uint64_t uid;
    uint64_t *lps;          /* last-per-subject skip list (JS 6.2) */
    uint32_t lps_len, lps_pos;
    uint64_t lps_resume;
    int64_t last_activity_ns;
    int64_t no_expiry_before_ns; /* after a restart (JS 13.1) */
    /* waiting pull requests: blocking fetches (real clock only), and
     * asynchronous pulls in the server's FIFO order (mem_pull.c) */
    mem_waiter *waiters;
    int nwaiting;
    struct mem_pull **pulls;
    int npulls, pulls_cap;
    /* The server's delivery loop was signalled (signalNewMessages): waiting
     * pulls are served at the next mem_pulls_serve_all. Without a signal
     * the server does not look, not even to scan past other subjects. */
    bool wake;
    /* durability model */
    mem_csnap snap;
    bool snap_failed;       /* a snapshot could not be taken (no memory): the next restart reports it */
    int64_t snap_ns;
    int64_t changed_ns;
    bool dirty;
};

/* ---- the backend ------------------------------------------------------------- */

typedef struct mem_handle {
    ps_consumer base;
    mem_backend *mb;
    mem_consumer *cached;
    uint64_t epoch;
} mem_handle;

struct mem_backend {
    ps_backend base;
    ps_clock *clock;
    bool manual;
    bool locking;            /* several threads may call: `lock` guards everything */
    pthread_mutex_t lock;
    /* where a fetch waits for messages or its expiry, on the backend's
     * clock; NULL when fetch never blocks (a manual clock, by default) */
    ps_clock_waiter *waiter;
    ps_rand rng;
    ps_rand adv_rng; /* advisory ids: apart, so that listening or not changes no other draw */
    int64_t max_payload;
    uint64_t epoch;          /* bumps when a stream or consumer goes away */
    uint64_t next_uid;
    mem_stream **streams;    /* creation order */
    int nstreams, streams_cap;
    /* the stream that captured the last published subject: a cache that
     * stream adds cannot invalidate (subjects never overlap) and deletes
     * and updates clear */
    char pub_subject[PS_NAME_MAX_BUF];
    size_t pub_subject_len;
    mem_stream *pub_stream;
    int npulls;              /* asynchronous pulls waiting on any consumer */
    /* Calls that entered (mem_lock counts them), and the one, if any, after
     * which nothing was due at quiet_ns: the next call, if no other came
     * between and the clock still reads quiet_ns, has no timed work to run
     * (mem_run_timers_after). 0: none. */
    uint64_t entries;
    uint64_t quiet_entry;
    int64_t quiet_ns;
};

/* mem_backend.c */
/* Inline: every call takes them, and a single-threaded backend skips the
 * mutex (a call less per publish). mem_lock counts the entry
 * (mem_run_timers_after). */
static inline void mem_lock(mem_backend *mb)
{
    if (mb->locking)
        pthread_mutex_lock(&mb->lock);
    mb->entries++;
}
static inline void mem_unlock(mem_backend *mb)
{
    if (mb->locking)
        pthread_mutex_unlock(&mb->lock);
}
void mem_signal_waiting(mem_backend *mb);
/* Something may have become deliverable: waiting pulls are served and a
 * waiting fetch woken (nothing to do when neither waits). */
static inline void mem_signal(mem_backend *mb)
{
    if (mb->npulls || mb->waiter)
        mem_signal_waiting(mb);
}
static inline int64_t mem_now(mem_backend *mb) { return ps_clock_now(mb->clock); }
mem_stream *mem_stream_find(mem_backend *mb, const char *name);
mem_consumer *mem_handle_lookup(mem_handle *h);
/* The consumer a handle names, NULL when there is none; cached until
 * something goes away (the backend's epoch). */
static inline mem_consumer *mem_handle_resolve(mem_handle *h)
{
    if (h->epoch == h->mb->epoch && h->cached)
        return h->cached;
    return mem_handle_lookup(h);
}
/* Due work: dedup and MaxAge expiry, idle ephemerals, ack-wait expiries.
 * PS_ERR_NO_MEMORY when an expired message could not be queued for
 * redelivery: it stays due (in the deadline heap) and nothing is lost.
 * Fetch, ack and tick fail with that status (what they do depends on the
 * redelivery queue); the admin calls go on, and the next call retries. */
ps_status mem_run_timers(mem_backend *mb, int64_t now);
/* For fetch, ack and publish, which run once per message: mem_run_timers, skipped
 * when the call before (`entry` - 1, no other between) left nothing due at
 * `now` (mem_timers_quiet_stream marks that at the end of each). */
static inline ps_status mem_run_timers_after(mem_backend *mb, uint64_t entry, int64_t now)
{
    if (mb->quiet_entry && mb->quiet_entry + 1 == entry && mb->quiet_ns == now && !mb->npulls)
        return PS_OK;
    return mem_run_timers(mb, now);
}

/* Has stream `st` any timed work due at `now` (its dedup purge, its
 * oldest message's MaxAge)? */
int64_t mem_store_next_expiry(const mem_stream *st);
static inline bool mem_stream_due(const mem_stream *st, int64_t now)
{
    return (st->dd_run_ns && st->dd_run_ns <= now) ||
           (st->cfg.max_age_ns > 0 && mem_store_next_expiry(st) <= now);
}
/* At the end of a call (`entry` its mem_lock) that ran or skipped the
 * timed work at `now` and then changed timed work on stream `st` only:
 * marks that nothing is due at `now`, so that the next call skips
 * mem_run_timers (mem_run_timers_after), unless something is due on `st`,
 * another call entered since `entry`, or a fetch or pull waits (they let
 * other calls in). */
static inline void mem_timers_quiet_stream(mem_backend *mb, const mem_stream *st, uint64_t entry, int64_t now)
{
    if (entry != mb->entries || mb->npulls || mb->waiter || mem_stream_due(st, now))
        return;
    mb->quiet_entry = entry;
    mb->quiet_ns = now;
}

/* mem_store.c */
bool mem_store_append(mem_stream *st, uint64_t seq, int64_t ts, const char *subj,
                      size_t subj_len, const char *hdr, size_t hdr_len,
                      const void *data, size_t len);
mem_smsg *mem_store_get(const mem_stream *st, uint64_t seq);
void mem_store_free_ring(mem_stream *st); /* the empty ring's memory */
uint64_t mem_msg_bytes(const mem_stream *st, const mem_smsg *m);
typedef enum mem_removal {
    MEM_RM_LIMITS,   /* MaxMsgs/MaxBytes/MaxAge/per-subject: not rolled back */
    MEM_RM_ACK,      /* WorkQueue / Interest acknowledgement, TERM */
    MEM_RM_DELETE,   /* msg-delete */
    MEM_RM_PURGE
} mem_removal;
void mem_store_remove(mem_stream *st, uint64_t seq, mem_removal why, int64_t now);
bool mem_store_restore(mem_stream *st, mem_smsg *m);
void mem_msg_release(mem_stream *st, mem_smsg *m); /* frees, and its subject if unused */
void mem_store_skip(mem_stream *st, uint64_t seq, int64_t ts);
/* MaxMsgsPerSubject (on `subj_hint`, NULL: none), MaxMsgs, MaxBytes. The
 * test of whether anything is over is inline: it runs on every publish. */
void mem_store_enforce_limits_due(mem_stream *st, int64_t now, const char *subj_hint);
static inline void mem_store_enforce_limits(mem_stream *st, int64_t now, const char *subj_hint)
{
    const ps_stream_config *c = &st->cfg;
    if ((subj_hint && c->max_msgs_per_subject > 0) || (c->max_msgs > 0 && st->msgs > (uint64_t)c->max_msgs) ||
        (c->max_bytes > 0 && st->bytes > (uint64_t)c->max_bytes))
        mem_store_enforce_limits_due(st, now, subj_hint);
}
/* Memory storage: a single removal as memStore.removeSeqPerSubject sees it
 * (also the messages of a filtered purge), and a full purge's reset. */
void mem_fss_removed(mem_stream *st, const mem_smsg *m);
void mem_fss_reset(mem_stream *st);
/* The file store's per-subject records (mem_subj.blk_*): a message stored
 * or removed, all records rebuilt from the stored messages (a restart
 * reads them back), all cleared (a full purge). */
void mem_blk_rebuild(mem_stream *st);
void mem_blk_clear(mem_stream *st);
uint64_t mem_blk_last_seq(const mem_stream *st, const char *subj);
/* Trims every subject to MaxMsgsPerSubject (an update that lowered it). */
void mem_store_enforce_per_subject(mem_stream *st, int64_t now);
/* MaxAge (JS 3.10). The test is inline: it runs for every stream on every
 * call, and a stream without MaxAge should cost no call. */
void mem_store_expire_due(mem_stream *st, int64_t now);
static inline void mem_store_expire(mem_stream *st, int64_t now)
{
    if (st->cfg.max_age_ns > 0)
        mem_store_expire_due(st, now);
}
void mem_store_free_all(mem_stream *st);
/* The dedup purge timer (JS 3.6), inline for the same reason. */
void mem_stream_dedup_expire_due(mem_stream *st, int64_t now);
static inline void mem_stream_dedup_expire(mem_stream *st, int64_t now)
{
    if (st->dd_run_ns && st->dd_run_ns <= now)
        mem_stream_dedup_expire_due(st, now);
}
bool mem_stream_dedup_add(mem_stream *st, const char *id, uint64_t seq, int64_t ts);
/* The same, with the id measured and hashed by the caller, for an id the
 * dedup window does not hold (a publish's lookup just missed it). */
bool mem_stream_dedup_add_key(mem_stream *st, const mem_key *id, uint64_t seq, int64_t ts);
/* The entry of id *k in the window, NULL when none. */
const mem_dedup *mem_stream_dedup_find(const mem_stream *st, const mem_key *k);
/* A hint that a lookup (and perhaps an add) of *k follows: starts loading
 * the index's memory for it. */
void mem_stream_dedup_prefetch(const mem_stream *st, const mem_key *k);
/* ps_memory_check's part: every indexed entry is found at its position,
 * and the counts agree. */
ps_status mem_stream_dedup_check(const mem_stream *st);
/* A change of the Duplicates window runs the dedup purge at once. */
void mem_stream_dedup_window_changed(mem_stream *st, int64_t now);
void mem_stream_dedup_clear(mem_stream *st);
uint64_t mem_subject_last_seq(const mem_stream *st, const char *subj);
void mem_tombs_persist(mem_stream *st);

/* mem_stream.c */
extern const char *const mem_retention_names[];
void mem_stream_free(mem_stream *st);
void mem_stream_destroy(mem_backend *mb, mem_stream *st); /* unlink + free */
ps_status mem_stream_add(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out);
ps_status mem_stream_update(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out);
ps_status mem_stream_info(ps_backend *b, const char *stream, ps_stream_info *out);
ps_status mem_stream_delete(ps_backend *b, const char *stream);
ps_status mem_stream_purge(ps_backend *b, const char *stream, const ps_purge_opts *o, uint64_t *purged);
ps_status mem_msg_get(ps_backend *b, const char *stream, uint64_t seq, const char *last_by_subj, ps_stored_msg *out);
ps_status mem_msg_delete(ps_backend *b, const char *stream, uint64_t seq, bool erase);
/* The stream that captures `subject` (of `len` bytes), NULL when none. */
mem_stream *mem_stream_for_subject_slow(mem_backend *mb, const char *subject, size_t len);
/* The stream that captures `subject` (of `len` bytes; NULL: none). The
 * stream of the last publish is remembered with its subject: a publisher
 * sends to few subjects, over and over. */
static inline mem_stream *mem_stream_for_subject(mem_backend *mb, const char *subject, size_t len)
{
    if (mb->pub_stream && mb->pub_subject_len == len && ps_bytes_equal(mb->pub_subject, subject, len))
        return mb->pub_stream;
    return mem_stream_for_subject_slow(mb, subject, len);
}

/* mem_publish.c */
ps_status mem_set_last_msgid(mem_stream *st, const char *id);
ps_status mem_publish(ps_backend *b, const ps_out_msg *m, ps_pub_ack *out);

/* mem_consumer.c */
ps_status mem_consumer_add(ps_backend *b, const char *stream, const ps_consumer_config *cfg, ps_consumer **out);
ps_status mem_consumer_bind(ps_backend *b, const char *stream, const char *name, ps_consumer **out);
ps_status mem_consumer_info(ps_consumer *c, ps_consumer_info *out);
ps_status mem_consumer_delete(ps_backend *b, const char *stream, const char *name);
void mem_consumer_free_handle(ps_consumer *c);
void mem_consumer_destroy(mem_consumer *c, bool advisory); /* unlink + free */
void mem_consumer_free(mem_consumer *c);
bool mem_consumer_matches_filter(const mem_consumer *c, const mem_subj *subj);
/* Does the consumer deliver messages on `subj` (its filter, JS 6.1)? */
static inline bool mem_consumer_matches(const mem_consumer *c, const mem_subj *subj)
{
    return c->filter_all || mem_consumer_matches_filter(c, subj);
}
/* Recomputes whether the filter covers every stream subject (after the
 * stream's subjects changed). */
void mem_consumer_refilter(mem_consumer *c);
/* Does a store on `subj` signal `c` (the server's per-consumer signal
 * subscription, on the filter it was created with)? */
bool mem_consumer_signalled(const mem_consumer *c, const mem_subj *subj);
uint64_t mem_consumer_count_pending(const mem_consumer *c); /* from scratch: what a drain would deliver anew */
void mem_consumer_recount(mem_consumer *c);                   /* npend_new = mem_consumer_count_pending */
/* Recounts npc/npcm as the server's streamNumPending does. */
void mem_consumer_npc_reset(mem_consumer *c);
/* What the server's numPending() answers after a first delivery when
 * `first_delivery` (without changing the consumer). */
uint64_t mem_consumer_npc_peek(const mem_consumer *c, bool first_delivery);
/* A single removal of `m` (not a whole-stream purge), as the server's
 * decStreamPending sees it. */
void mem_npc_removed(mem_stream *st, const mem_smsg *m);
bool mem_consumer_needs(const mem_consumer *c, uint64_t seq, const mem_subj *subj);

/* mem_deliver.c */
ps_status mem_fetch(ps_consumer *h, const ps_fetch_request *req, ps_msg_list *out);
ps_status mem_ack(ps_msg *m, ps_ack_kind kind, int64_t delay_ns);
bool mem_deliver_expire(mem_consumer *c, int64_t now); /* false: no memory, the rest stays due */
/* JS 8.2: admits a pull request or answers the status that refuses it
 * (PS_ERR_TIMEOUT for "Requests Pending"). `one_shot`: sent as no_wait. */
ps_status mem_admit(mem_consumer *c, const ps_fetch_request *r, bool one_shot);
/* For waiting pulls: what the next delivery would be (a MEM_SERVE_ value;
 * with MEM_SERVE_MSG its size against max_bytes in *size, JS 8.3), its
 * delivery into `out` (false: out of memory, or nothing to deliver), and
 * the server's "redo" when no waiting request had room for it. */
enum { MEM_SERVE_NONE, MEM_SERVE_STALL, MEM_SERVE_MSG, MEM_SERVE_NO_MEMORY };
int mem_serve_peek(mem_consumer *c, int64_t *size);
bool mem_serve_commit(mem_handle *h, mem_consumer *c, int64_t now, ps_msg_list *out);
bool mem_serve_redo(mem_consumer *c, int64_t now);
int64_t mem_deliver_next_deadline(const mem_consumer *c);
void mem_on_removed(mem_stream *st, const mem_smsg *m, int64_t now, bool notify);
void mem_on_stored(mem_stream *st, const mem_smsg *m);
int64_t mem_backoff_wait(const mem_consumer *c, uint64_t sseq);
/* JS 6.5: AckWait, or with BackOff the step for the redelivery count. */
static inline int64_t mem_wait_for(const mem_consumer *c, uint64_t sseq)
{
    return c->cfg.backoff_len <= 0 ? c->cfg.ack_wait_ns : mem_backoff_wait(c, sseq);
}
void mem_deliver_clear(mem_consumer *c); /* the pending set and the redelivery queue emptied */
void mem_consumer_touch(mem_consumer *c, int64_t now);
void mem_stream_ack(mem_stream *st, uint64_t sseq, int64_t now);

/* mem_pending.c: the pending set and its ack-wait timers */
mem_pend *mem_pend_get_below(mem_consumer *c, uint64_t sseq); /* below the window: the map */
static inline mem_pend *mem_pend_get(mem_consumer *c, uint64_t sseq)
{
    if (sseq - c->win_lo < c->win_cap) {
        uint32_t v = c->win[sseq & (c->win_cap - 1)];
        return v ? &c->pend[v - 1] : NULL;
    }
    return c->pend_idx.len ? mem_pend_get_below(c, sseq) : NULL;
}
bool mem_pend_has(const mem_consumer *c, uint64_t sseq);
/* Everything a record for sseq needs (a slab slot, its index entry, room
 * for its timer), so that mem_pend_add of sseq cannot fail after it: a
 * delivery goes out only once its record is sure. */
bool mem_pend_reserve_slow(mem_consumer *c, uint64_t sseq);
static inline bool mem_pend_reserve(mem_consumer *c, uint64_t sseq)
{
    /* The common case: a free slot, and sseq in the window or one past its
     * top with the window's bottom slot (the one sseq takes) empty. */
    if ((c->pend_free != UINT32_MAX || c->pend_top < c->pend_cap) && c->heap_cap >= c->pend_cap) {
        if (sseq - c->win_lo < c->win_cap)
            return true;
        if (c->win_cap && sseq - c->win_lo == c->win_cap && !c->win[sseq & (c->win_cap - 1)]) {
            c->win_lo++;
            return true;
        }
    }
    return mem_pend_reserve_slow(c, sseq);
}
/* A record, its timer armed to ts + mem_wait_for; NULL: out of memory. */
mem_pend *mem_pend_add(mem_consumer *c, uint64_t sseq, uint64_t dseq, int64_t ts);
/* The same after mem_pend_reserve(c, sseq): cannot fail. */
mem_pend *mem_pend_insert(mem_consumer *c, uint64_t sseq, uint64_t dseq, int64_t ts);
void mem_pend_remove_at(mem_consumer *c, mem_pend *p); /* disarms its timer, unqueues it */
void mem_pend_remove(mem_consumer *c, uint64_t sseq);
void mem_pend_clear(mem_consumer *c);
void mem_pend_free_all(mem_consumer *c);
ps_status mem_pend_check(const mem_consumer *c); /* ps_memory_check */
/* Arms p's timer for p->deadline (p's timer is disarmed). Cannot fail for
 * a record mem_pend_add made; false only on a broken invariant. */
bool mem_timer_arm(mem_consumer *c, mem_pend *p);
void mem_timer_disarm(mem_consumer *c, mem_pend *p); /* nothing when not armed */
/* The armed record that expires first, in (deadline, sseq) order; NULL:
 * none. mem_timer_next_deadline: its deadline, INT64_MAX when none. */
mem_pend *mem_timer_first(mem_consumer *c);
static inline int64_t mem_timer_next_deadline(const mem_consumer *c)
{
    int64_t d = c->heap_len ? c->heap[0].deadline : INT64_MAX;
    if (c->tq_len) {
        int64_t q = c->pend[c->tq[c->tq_head]].deadline;
        d = q < d ? q : d;
    }
    return d;
}
/* Every armed timer again at ts + mem_wait_for (a new AckWait, JS 5.3). */
void mem_timers_rearm_all(mem_consumer *c);

/* mem_pull.c: asynchronous pull requests and the waiting queue (JS 8) */
ps_status mem_pull_start(ps_consumer *h, const ps_fetch_request *req, ps_pull **out);
ps_status mem_pull_poll(ps_pull *p, ps_msg_list *out, ps_pull_end *end);
void mem_pull_free(ps_pull *p);
/* Serves every waiting pull what is deliverable at `now`, then ends the
 * no_wait one-shots that got messages and find no more (JS 8.3, 8.4). */
void mem_pulls_serve_all(mem_backend *mb, int64_t now);
/* processWaiting(eos=true), the one pass nats-server 2.9.10 runs when its
 * delivery loop finds nothing more (not stalled) or a request's expiry
 * timer fires: in queue order it ends with 408 every waiting pull expired
 * at `now` and every no_wait one-shot that got something (JS 8.4). */
void mem_pulls_eos(mem_consumer *c, int64_t now);
/* A fetch on c while pulls wait there (JS 8.3): its request joins the back
 * of the queue and the queue is served in order, so the fetch gets what
 * the requests ahead of it leave (a delivery after a publish that did not
 * signal the consumer goes to the oldest request). Its deliveries are
 * appended to `out`; *stalled: MaxAckPending held one back; *max_bytes_hit:
 * the request ended on its max_bytes. Not an error: PS_OK whatever came. */
ps_status mem_pulls_fetch(mem_handle *h, mem_consumer *c, const ps_fetch_request *req, int64_t now,
                          ps_msg_list *out, bool *stalled, bool *max_bytes_hit);
/* Ends with 408 the waiting pulls whose expiry is at or before `now`, in
 * the eos pass their expiry timer runs (mem_pulls_eos). */
void mem_pulls_expire(mem_backend *mb, int64_t now);
/* The earliest instant at which a waiting pull may change: its expiry, an
 * ack-wait deadline of its consumer, a MaxAge expiry of its stream;
 * INT64_MAX when none. */
int64_t mem_pulls_next_event(mem_backend *mb);
/* The consumer goes: its waiting pulls end with 409 Consumer Deleted
 * (`deleted`), or are lost without an answer (a restart, a close). */
void mem_pulls_consumer_gone(mem_consumer *c, bool deleted);
/* A restart: every waiting pull is lost with the server's state (JS 13.1). */
void mem_pulls_lose_all(mem_backend *mb);
/* ps_memory_check: the queues and the backend's count agree. */
ps_status mem_pulls_check(const mem_backend *mb);
/* The batch the waiting pulls still want (the server's brp). */
uint64_t mem_pulls_batch_pending(const mem_consumer *c);

/* mem_advisory.c */
void mem_adv_consumer(mem_backend *mb, ps_advisory_kind kind, const mem_consumer *c,
                      uint64_t sseq, uint64_t dseq, uint64_t deliveries);
void mem_adv_consumer_action(mem_backend *mb, ps_advisory_kind kind,
                             const char *stream, const char *consumer);
void mem_adv_stream_action(mem_backend *mb, ps_advisory_kind kind, const char *stream);

/* mem_restart.c */
ps_status mem_restart(ps_backend *b, ps_restart_kind kind);
void mem_snap_before_change_durable(mem_consumer *c, int64_t now);
/* Before a consumer changes: what the file store would write of it is
 * settled first (only a file stream's durable consumer has any). */
static inline void mem_snap_before_change(mem_consumer *c, int64_t now)
{
    if (c->st->cfg.storage == PS_STORAGE_FILE && !c->cfg.memory_storage)
        mem_snap_before_change_durable(c, now);
}
void mem_snap_free(mem_csnap *s);
static inline bool mem_is_file(const mem_stream *st) { return st->cfg.storage == PS_STORAGE_FILE; }

#endif
