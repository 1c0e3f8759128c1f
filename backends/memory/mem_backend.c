/* mem_backend.c — the memory backend's ops table, construction, locking and
 * timed work.
 *
 * On a manual clock the backend is single-threaded and takes no locks
 * (unless asked to let fetch wait, ps_memory_options.manual_fetch_waits);
 * on the real clock one mutex guards everything and a waiter of the clock
 * (ps_clock_waiter) wakes fetches that wait for messages or their expiry. Timed work (dedup and MaxAge expiry,
 * ack-wait expiry, ephemeral inactivity) runs lazily at the start of every
 * call, so results never depend on when a timer thread happened to run:
 * there is none.
 */
#include <stdlib.h>
#include <string.h>

#include "mem_internal.h"

/* Something may have become deliverable: waiting pulls are served at once,
 * as the server's signalNewMessages wakes its delivery loop (JS 8.3). */
void mem_signal_waiting(mem_backend *mb)
{
    if (mb->npulls)
        mem_pulls_serve_all(mb, mem_now(mb));
    ps_clock_waiter_signal(mb->waiter);
}

/* JS 5.4: an idle ephemeral goes once InactiveThreshold has passed (the
 * server adds 0.1-1 s of jitter to its timer; the model does not). */
static bool inactive(const mem_consumer *c, int64_t now)
{
    return c->ephemeral && c->nwaiting == 0 && c->npulls == 0 && c->cfg.inactive_threshold_ns > 0 &&
           now - c->last_activity_ns >= c->cfg.inactive_threshold_ns;
}

static ps_status run_timers_at(mem_backend *mb, int64_t now)
{
    ps_status s = PS_OK;
    for (int i = 0; i < mb->nstreams; i++) {
        mem_stream *st = mb->streams[i];
        mem_stream_dedup_expire(st, now);
        mem_store_expire(st, now);
        for (int j = st->nconsumers - 1; j >= 0; j--) {
            mem_consumer *c = st->consumers[j];
            if (inactive(c, now))
                mem_consumer_destroy(c, true);
            else if (!mem_deliver_expire(c, now) && !s)
                s = ps_error(PS_ERR_NO_MEMORY, 0, "consumer %s on stream %s: out of memory queueing "
                             "expired messages for redelivery (they stay due)", c->name, st->name);
        }
    }
    return s;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* While pulls wait, the timed work runs event by event up to `now`, so that
 * a redelivery due before a pull's expiry reaches it, at its own instant,
 * and a pull expires before what is due after it (JS 8.3, 8.4). */
ps_status mem_run_timers(mem_backend *mb, int64_t now)
{
    ps_status s = PS_OK;
    for (int64_t t; !s && mb->npulls && (t = mem_pulls_next_event(mb)) <= now;) {
        s = run_timers_at(mb, t);
        mem_pulls_serve_all(mb, t);
        mem_pulls_expire(mb, t);
    }
    if (!s)
        s = run_timers_at(mb, now);
    if (mb->npulls) {
        mem_pulls_serve_all(mb, now);
        mem_pulls_expire(mb, now);
    }
    return s;
}

static int64_t mem_next_deadline(ps_backend *b)
{
    mem_backend *mb = (mem_backend *)b;
    int64_t next = INT64_MAX;
    mem_lock(mb);
    for (int i = 0; i < mb->nstreams; i++) {
        mem_stream *st = mb->streams[i];
        next = min64(next, mem_store_next_expiry(st));
        for (int j = 0; j < st->nconsumers; j++) {
            mem_consumer *c = st->consumers[j];
            next = min64(next, mem_deliver_next_deadline(c));
            if (c->ephemeral && c->cfg.inactive_threshold_ns > 0)
                next = min64(next, c->last_activity_ns + c->cfg.inactive_threshold_ns);
        }
    }
    next = min64(next, mem_pulls_next_event(mb));
    mem_unlock(mb);
    return next;
}

static ps_status mem_tick(ps_backend *b)
{
    mem_backend *mb = (mem_backend *)b;
    mem_lock(mb);
    ps_status s = mem_run_timers(mb, mem_now(mb));
    mem_signal(mb);
    mem_unlock(mb);
    return s;
}

static void mem_close(ps_backend *b)
{
    mem_backend *mb = (mem_backend *)b;
    while (mb->nstreams)
        mem_stream_free(mb->streams[--mb->nstreams]);
    free(mb->streams);
    ps_clock_waiter_free(mb->waiter);
    pthread_mutex_destroy(&mb->lock);
    free(mb);
}

static const ps_backend_ops mem_ops = {
    .version = 3,
    .name = "memory",
    .stream_add = mem_stream_add,
    .stream_update = mem_stream_update,
    .stream_info = mem_stream_info,
    .stream_delete = mem_stream_delete,
    .stream_purge = mem_stream_purge,
    .msg_get = mem_msg_get,
    .msg_delete = mem_msg_delete,
    .publish = mem_publish,
    .consumer_add = mem_consumer_add,
    .consumer_bind = mem_consumer_bind,
    .consumer_info = mem_consumer_info,
    .consumer_delete = mem_consumer_delete,
    .consumer_free = mem_consumer_free_handle,
    .fetch = mem_fetch,
    .ack = mem_ack,
    .close = mem_close,
    .next_deadline = mem_next_deadline,
    .tick = mem_tick,
    .restart = mem_restart,
    .publish_async = NULL, /* the wrappers publish synchronously */
    .publish_async_complete = NULL,
    .pull_start = mem_pull_start,
    .pull_poll = mem_pull_poll,
    .pull_free = mem_pull_free,
};

bool ps_memory_is(const ps_backend *b)
{
    return b && b->ops == &mem_ops;
}

size_t ps_memory_trim(void)
{
    return mem_pool_trim();
}

ps_status ps_memory_new(ps_backend **out, const ps_memory_options *opts)
{
    if (!out)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_memory_new: out is NULL");
    if (opts && opts->max_payload < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_memory_new: max_payload %lld is negative",
                        (long long)opts->max_payload);
    mem_backend *mb = calloc(1, sizeof *mb);
    if (!mb)
        return ps_error(PS_ERR_NO_MEMORY, 0, "ps_memory_new: out of memory");
    mb->base.ops = &mem_ops;
    mb->clock = opts && opts->clock ? opts->clock : ps_clock_real();
    mb->manual = ps_clock_is_manual(mb->clock);
    mb->locking = !mb->manual || (opts && opts->manual_fetch_waits);
    mb->max_payload = opts && opts->max_payload ? opts->max_payload : 1024 * 1024;
    ps_rand_seed(&mb->rng, opts ? opts->seed : 0);
    mb->adv_rng = ps_rand_derive(opts ? opts->seed : 0, 0xad);
    pthread_mutex_init(&mb->lock, NULL);
    if (mb->locking) {
        ps_status s = ps_clock_waiter_new(mb->clock, &mb->lock, &mb->waiter);
        if (s) {
            pthread_mutex_destroy(&mb->lock);
            free(mb);
            return s;
        }
    }
    *out = &mb->base;
    return PS_OK;
}
