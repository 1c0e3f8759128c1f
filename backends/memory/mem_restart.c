/* mem_restart.c — what survives a server restart (docs/MODEL.md, JS 13.1).
 *
 * Memory streams are lost with everything on them. File streams keep their
 * messages and consumers, but:
 *  - a graceful stop loses the redelivery queue (plain NAKs) and waiting
 *    pulls: NAK'd messages wait for AckWait from their last timestamp;
 *  - a crash (kill -9) also loses consumer state changes the flusher had
 *    not yet written (it writes at most every 100 ms) and message removals
 *    the block index had not yet recorded (mem_store.c keeps those as
 *    tombstones), so acked messages can come back;
 *  - a power loss also loses messages stored since the last 2-minute sync.
 * After any restart the first redelivery check runs 0.5-1.5 s later.
 *
 * The flusher model: `snap` is the consumer state last written. A change at
 * time t schedules a write at max(t, last write + 100 ms); that write
 * captures the state as it was then, which is the state just before the
 * next change after it (mem_snap_before_change settles it lazily).
 */
#include <stdlib.h>
#include <string.h>

#include "mem_internal.h"

#define FLUSH_NS (100 * PS_NS_PER_MS)
#define SYNC_NS (120 * PS_NS_PER_SEC)

void mem_snap_free(mem_csnap *s)
{
    free(s->pend);
    free(s->rdc);
    memset(s, 0, sizeof *s);
}

static bool durable_state(const mem_consumer *c)
{
    return mem_is_file(c->st) && !c->cfg.memory_storage;
}

static void snap_take(mem_consumer *c)
{
    mem_csnap *s = &c->snap;
    mem_pend *pend = c->pend_len ? malloc(c->pend_len * sizeof *pend) : NULL;
    uint64_t *rdc = c->rdc.len ? malloc(2 * (size_t)c->rdc.len * sizeof *rdc) : NULL;
    if ((c->pend_len && !pend) || (c->rdc.len && !rdc)) {
        free(pend);
        free(rdc);
        /* The older snapshot stays: a consistent state, but not the one the
         * server would have written. The next restart says so. */
        c->snap_failed = true;
        return;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->pend_top; i++)
        if (c->pend[i].timer != MEM_FREE_SLOT)
            pend[n++] = c->pend[i];
    uint32_t r = 0;
    for (uint32_t i = 0; i < c->rdc.cap; i++)
        if (c->rdc.keys[i]) {
            rdc[2 * r] = c->rdc.keys[i];
            rdc[2 * r + 1] = c->rdc.vals[i];
            r++;
        }
    mem_snap_free(s);
    *s = (mem_csnap){true, c->sseq, c->dseq, c->floor, n, pend, r, rdc};
}

/* The scheduled write has happened by `now` (at a crash, a write due at the
 * very instant of the crash has not). */
static void snap_settle(mem_consumer *c, int64_t now, bool crash)
{
    if (c->dirty && (crash ? c->changed_ns < now : c->changed_ns <= now)) {
        snap_take(c);
        c->snap_ns = c->changed_ns;
        c->dirty = false;
    }
}

void mem_snap_before_change_durable(mem_consumer *c, int64_t now)
{
    if (!durable_state(c))
        return;
    if (!c->snap.valid) {
        snap_take(c);
        c->snap_ns = now - FLUSH_NS;
    }
    snap_settle(c, now, false);
    if (!c->dirty) {
        c->dirty = true;
        int64_t next = c->snap_ns + FLUSH_NS;
        c->changed_ns = now > next ? now : next;
    }
}

/* Puts the consumer back to `snap`, without a redelivery queue. False:
 * out of memory, some of its state is missing (the restart reports it). */
static bool snap_restore(mem_consumer *c)
{
    bool ok = true;
    const mem_csnap *s = &c->snap;
    mem_deliver_clear(c);
    mem_u64map_clear(&c->rdc);
    c->sseq = s->sseq;
    c->dseq = s->dseq;
    c->floor = s->floor;
    for (uint32_t i = 0; i < s->nrdc; i++)
        ok &= mem_u64map_put(&c->rdc, s->rdc[2 * i], s->rdc[2 * i + 1]);
    uint64_t first = c->st->msgs ? c->st->first_seq : c->st->last_seq + 1;
    for (uint32_t i = 0; i < s->npend; i++)
        if (s->pend[i].sseq >= first) /* entries below the first seq drop */
            ok &= mem_pend_add(c, s->pend[i].sseq, s->pend[i].dseq, s->pend[i].ts) != NULL;
    return ok;
}

static bool restart_consumer(mem_consumer *c, ps_restart_kind kind, int64_t now)
{
    if (kind == PS_RESTART_GRACEFUL || !c->snap.valid)
        snap_take(c); /* everything written on a clean stop */
    else
        snap_settle(c, now, true);
    bool ok = snap_restore(c) && !c->snap_failed;
    c->snap_failed = false;
    c->dirty = false;
    c->snap_ns = now;
    c->nwaiting = 0;
    c->last_activity_ns = now;
    int64_t jitter = ps_rand_range(&c->st->mb->rng, PS_NS_PER_SEC / 2, 3 * PS_NS_PER_SEC / 2);
    c->no_expiry_before_ns = now + jitter;
    mem_consumer_recount(c);
    mem_consumer_npc_reset(c); /* a new leader recounts (setLeader) */
    return ok;
}

/* False: a removal that was not durable could not be put back (out of
 * memory): the message is lost, and the restart reports it. */
static bool rollback_tombs(mem_stream *st, int64_t synced_ns, bool power)
{
    bool ok = true;
    for (uint32_t i = st->ntombs; i-- > 0;) {
        mem_smsg *m = st->tombs[i].msg;
        bool durable = power && st->tombs[i].removed_ns <= synced_ns;
        m->subj->tombs--;
        if (durable)
            mem_msg_release(st, m);
        else if (!mem_store_restore(st, m)) {
            mem_msg_release(st, m);
            ok = false;
        }
    }
    st->ntombs = 0;
    return ok;
}

/* Power loss: what was stored after the last sync is gone, sequence too. */
static void lose_unsynced(mem_stream *st, int64_t synced_ns, int64_t now)
{
    uint64_t lowest_lost = 0;
    while (st->msgs) {
        mem_smsg *m = mem_store_get(st, st->last_seq);
        if (!m) {
            st->last_seq--;
            continue;
        }
        if (m->ts <= synced_ns)
            break;
        lowest_lost = m->seq;
        mem_store_remove(st, m->seq, MEM_RM_PURGE, now);
    }
    if (st->msgs)
        while (!mem_store_get(st, st->last_seq))
            st->last_seq--;
    else if (lowest_lost)
        st->last_seq = lowest_lost - 1, st->first_seq = lowest_lost;
}

/* JS 3.5, 3.6: the dedup map and last Msg-Id come back from the stored
 * messages that lie inside the window. False: out of memory, some are
 * missing (the restart reports it). */
static bool rebuild_dedup(mem_stream *st, int64_t now)
{
    mem_stream_dedup_clear(st);
    char *last = NULL;
    bool ok = true;
    for (uint64_t s = st->first_seq; st->msgs && s <= st->last_seq; s++) {
        mem_smsg *m = mem_store_get(st, s);
        if (!m || now - m->ts >= st->cfg.duplicates_ns || !m->hdr_len)
            continue;
        ps_headers *h = NULL;
        ps_status hs = ps_headers_decode(&h, m->bytes, m->hdr_len);
        ok &= hs != PS_ERR_NO_MEMORY;
        if (hs != PS_OK)
            continue;
        const char *id = ps_headers_get(h, PS_HDR_MSG_ID);
        if (id)
            ok &= mem_stream_dedup_add(st, id, s, m->ts);
        if (s == st->last_seq && id) {
            free(last);
            last = mem_strdup(id);
            ok &= last != NULL;
        }
        ps_headers_free(h);
    }
    ok &= mem_set_last_msgid(st, last) == PS_OK;
    free(last);
    return ok;
}

/* False: out of memory part of the way (the stream restarted, some of its
 * state is missing); the restart then reports PS_ERR_NO_MEMORY. */
static bool restart_stream(mem_stream *st, ps_restart_kind kind, int64_t now)
{
    bool ok = true;
    int64_t synced = st->created_ns + (now - st->created_ns) / SYNC_NS * SYNC_NS;
    if (kind == PS_RESTART_GRACEFUL) {
        mem_tombs_persist(st);
    } else {
        ok &= rollback_tombs(st, synced, kind == PS_RESTART_POWER_LOSS);
        if (kind == PS_RESTART_POWER_LOSS)
            lose_unsynced(st, synced, now);
    }
    st->index_write_ns = now;
    if (mem_is_file(st))
        mem_blk_rebuild(st); /* the per-subject records, read back from the messages */
    ok &= rebuild_dedup(st, now);
    for (int i = st->nconsumers - 1; i >= 0; i--) {
        mem_consumer *c = st->consumers[i];
        if (c->cfg.memory_storage)
            mem_consumer_destroy(c, false); /* consumerMemStore: not kept */
        else
            ok &= restart_consumer(c, kind, now);
    }
    return ok;
}

ps_status mem_restart(ps_backend *b, ps_restart_kind kind)
{
    mem_backend *mb = (mem_backend *)b;
    if ((unsigned)kind > PS_RESTART_POWER_LOSS)
        return ps_error(PS_ERR_INVALID_ARG, 0, "restart: unknown kind %d", (int)kind);
    mem_lock(mb);
    int64_t now = mem_now(mb);
    mem_run_timers(mb, now); /* an expiry that cannot be queued stays due: the restart clears the queue */
    mem_pulls_lose_all(mb);  /* the requests went with the server; no status reaches the client */
    bool ok = true;
    for (int i = mb->nstreams - 1; i >= 0; i--) {
        mem_stream *st = mb->streams[i];
        if (st->cfg.storage == PS_STORAGE_MEMORY)
            mem_stream_destroy(mb, st);
        else
            ok &= restart_stream(st, kind, now);
    }
    mb->epoch++;
    mem_signal(mb);
    mem_unlock(mb);
    return ok ? PS_OK
              : ps_error(PS_ERR_NO_MEMORY, 0, "restart: out of memory rebuilding a stream's state "
                         "(the server restarted with part of it missing)");
}
