/* fault_shim.c — a ps_backend that injects faults and delegates to another
 * (see ps_fault_shim.h, the public API, and fault_shim.h, the simulator's
 * view of it). Each op either passes the call on unchanged or, when an armed
 * count or a draw of the shim's generator says so, does what the fault does
 * and then (or instead) passes it on.
 */
#include "fault_shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_rand.h"
#include "ps_backend_impl.h"

typedef struct shim {
    ps_backend base; /* first: the contract's handle */
    ps_backend *inner;
    ps_rand rng;
    int bp[PS_FAULT_COUNT];
    uint64_t next[PS_FAULT_COUNT];     /* armed by ps_fault_next: certain, before any draw */
    uint64_t injected[PS_FAULT_COUNT];
    bool unreachable; /* nothing reaches the broker */
    ps_status harness; /* the first out-of-memory status of the inner backend */
    char harness_msg[256];
} shim;

typedef struct shim_consumer {
    ps_consumer base; /* first; stream and name point into inner's */
    ps_consumer *inner;
    bool cut;         /* this handle's process is cut off from the broker */
} shim_consumer;

static const ps_backend_ops shim_ops;

/* An allocation failure in the backend is the harness's own failure, not a
 * broker fault for the job system to ride out: kept for
 * sim_shim_harness_error. Returns st. */
static ps_status seen(shim *s, ps_status st)
{
    if (st == PS_ERR_NO_MEMORY && !s->harness) {
        s->harness = st;
        snprintf(s->harness_msg, sizeof s->harness_msg, "%s", ps_last_error());
    }
    return st;
}

static shim *as_shim(ps_backend *b)
{
    return (shim *)b;
}

/* Whether fault k is injected this time: certainly while an armed count
 * lasts (which draws nothing, so a unit test's one-shot never shifts the
 * simulator's random sequence), else with its probability. Counts what it
 * injects. */
static bool draw(shim *s, ps_fault k)
{
    if (s->next[k] > 0) {
        s->next[k]--;
        s->injected[k]++;
        return true;
    }
    if (s->bp[k] <= 0)
        return false;
    bool hit = ps_rand_below(&s->rng, 10000) < (uint64_t)s->bp[k];
    s->injected[k] += hit;
    return hit;
}

/* ---- pass-through ------------------------------------------------------------------
 *
 * The shim reaches the inner backend through the contract's wrappers, never
 * through its ops table: the wrappers are the one place that checks
 * arguments and knows which optional slots a backend has. */

static ps_status sh_stream_add(ps_backend *b, const ps_stream_config *c, ps_stream_info *o)
{
    return ps_stream_add(as_shim(b)->inner, c, o);
}
static ps_status sh_stream_update(ps_backend *b, const ps_stream_config *c, ps_stream_info *o)
{
    return ps_stream_update(as_shim(b)->inner, c, o);
}
static ps_status sh_stream_info(ps_backend *b, const char *st, ps_stream_info *o)
{
    return ps_stream_info_get(as_shim(b)->inner, st, o);
}
static ps_status sh_stream_delete(ps_backend *b, const char *st)
{
    return ps_stream_delete(as_shim(b)->inner, st);
}
static ps_status sh_stream_purge(ps_backend *b, const char *st, const ps_purge_opts *o, uint64_t *n)
{
    return ps_stream_purge(as_shim(b)->inner, st, o, n);
}
static ps_status sh_msg_get(ps_backend *b, const char *st, uint64_t seq, const char *last, ps_stored_msg *o)
{
    return ps_msg_get(as_shim(b)->inner, st, seq, last, o);
}
static ps_status sh_msg_delete(ps_backend *b, const char *st, uint64_t seq, bool erase)
{
    return ps_msg_delete(as_shim(b)->inner, st, seq, erase);
}
static ps_status sh_consumer_delete(ps_backend *b, const char *st, const char *name)
{
    return ps_consumer_delete(as_shim(b)->inner, st, name);
}
static int64_t sh_next_deadline(ps_backend *b)
{
    return ps_backend_next_deadline(as_shim(b)->inner);
}
static ps_status sh_tick(ps_backend *b)
{
    return seen(as_shim(b), ps_backend_tick(as_shim(b)->inner));
}
static ps_status sh_restart(ps_backend *b, ps_restart_kind kind)
{
    return seen(as_shim(b), ps_backend_restart(as_shim(b)->inner, kind));
}

/* ---- publishing -------------------------------------------------------------------- */

static ps_status sh_publish(ps_backend *b, const ps_out_msg *m, ps_pub_ack *out)
{
    shim *s = as_shim(b);
    if (s->unreachable)
        return ps_error(PS_ERR_TIMEOUT, 0, "publish %s: no answer (broker unreachable, injected)", m->subject);
    ps_pub_ack ack = {0};
    ps_status st = seen(s, ps_publish(s->inner, m, &ack));
    if (st == PS_OK && draw(s, PS_FAULT_DUP_PUBLISH)) {
        ps_pub_ack again;
        seen(s, ps_publish(s->inner, m, &again)); /* its result is the lost retry's */
    }
    if (st == PS_OK && draw(s, PS_FAULT_LOSE_PUBACK))
        return ps_error(PS_ERR_TIMEOUT, 0, "publish %s: no PubAck (lost, injected)", m->subject);
    if (st == PS_OK && out)
        *out = ack;
    return st;
}

/* Asynchronous: sent now, its result comes through forward_pub_result.
 * A duplicate is sent synchronously beside it (its result is the lost
 * retry's, as above). */
static ps_status sh_publish_async(ps_backend *b, const ps_out_msg *m, uint64_t token)
{
    shim *s = as_shim(b);
    if (s->unreachable)
        return ps_error(PS_ERR_TIMEOUT, 0, "publish %s: no answer (broker unreachable, injected)", m->subject);
    ps_status st = seen(s, ps_publish_async(s->inner, m, token));
    if (st == PS_OK && draw(s, PS_FAULT_DUP_PUBLISH)) {
        ps_pub_ack again;
        seen(s, ps_publish(s->inner, m, &again));
    }
    return st;
}

static ps_status sh_publish_async_complete(ps_backend *b, int64_t timeout_ns)
{
    return seen(as_shim(b), ps_publish_async_complete(as_shim(b)->inner, timeout_ns));
}

/* The inner backend's async results, to the shim's handler; a PubAck may
 * be lost on the way (the message is stored all the same). */
static void forward_pub_result(void *user, const ps_pub_result *r)
{
    shim *s = user;
    ps_pub_result out = *r;
    if (out.status == PS_OK && draw(s, PS_FAULT_LOSE_PUBACK)) {
        out.status = PS_ERR_TIMEOUT;
        out.err_code = 0;
        out.ack = (ps_pub_ack){0};
    }
    ps_backend_emit_pub_result(&s->base, &out);
}

/* ---- consumers ---------------------------------------------------------------------- */

static ps_status wrap(shim *s, ps_consumer *inner, ps_consumer **out)
{
    shim_consumer *c = calloc(1, sizeof *c);
    if (!c) {
        ps_consumer_free(inner);
        return ps_error(PS_ERR_NO_MEMORY, 0, "fault shim: out of memory");
    }
    c->inner = inner;
    c->base.backend = &s->base;
    c->base.stream = inner->stream;
    c->base.name = inner->name;
    *out = &c->base;
    return PS_OK;
}

static ps_status sh_consumer_add(ps_backend *b, const char *st, const ps_consumer_config *cfg, ps_consumer **out)
{
    shim *s = as_shim(b);
    ps_consumer *in = NULL;
    ps_status r = seen(s, ps_consumer_add(s->inner, st, cfg, &in));
    return r ? r : seen(s, wrap(s, in, out));
}

static ps_status sh_consumer_bind(ps_backend *b, const char *st, const char *name, ps_consumer **out)
{
    shim *s = as_shim(b);
    ps_consumer *in = NULL;
    ps_status r = seen(s, ps_consumer_bind(s->inner, st, name, &in));
    return r ? r : seen(s, wrap(s, in, out));
}

static ps_status sh_consumer_info(ps_consumer *c, ps_consumer_info *out)
{
    return ps_consumer_info_get(((shim_consumer *)c)->inner, out);
}

static void sh_consumer_free(ps_consumer *c)
{
    shim_consumer *sc = (shim_consumer *)c;
    if (!sc)
        return;
    ps_consumer_free(sc->inner);
    free(sc);
}

static bool cut_off(const shim_consumer *sc)
{
    return sc->cut || as_shim(sc->base.backend)->unreachable;
}

bool ps_fault_is_cut_off(const ps_consumer *c)
{
    return c && c->backend && c->backend->ops == &shim_ops && cut_off((const shim_consumer *)c);
}

static ps_status sh_fetch(ps_consumer *c, const ps_fetch_request *req, ps_msg_list *out)
{
    if (cut_off((shim_consumer *)c))
        return ps_error(PS_ERR_TIMEOUT, 0, "fetch: no answer (cut off from the broker, injected)");
    ps_status st = seen(as_shim(c->backend), ps_fetch(((shim_consumer *)c)->inner, req, out));
    for (int i = 0; st == PS_OK && i < out->count; i++)
        out->msgs[i]->consumer_ = c; /* acks come back through the shim */
    return st;
}

static ps_status sh_ack(ps_msg *m, ps_ack_kind kind, int64_t nak_delay_ns)
{
    shim_consumer *sc = (shim_consumer *)m->consumer_;
    shim *s = as_shim(sc->base.backend);
    if (cut_off(sc))
        return ps_error(PS_ERR_TIMEOUT, 0, "ack: no answer (cut off from the broker, injected)");
    if (kind == PS_ACK && draw(s, PS_FAULT_DROP_ACK))
        return PS_OK; /* lost on the way: the client believes it acked */
    if (kind == PS_ACK && draw(s, PS_FAULT_ACK_AS_NAK))
        kind = PS_NAK;
    else if (kind == PS_ACK && draw(s, PS_FAULT_ACK_AS_TERM))
        kind = PS_TERM;
    m->consumer_ = sc->inner;
    ps_status st = seen(s, ps_ack(m, kind, nak_delay_ns));
    m->consumer_ = &sc->base;
    return st;
}

/* ---- asynchronous pulls (version 3) ------------------------------------------------------ */

typedef struct shim_pull {
    ps_pull base; /* first: its consumer is the shim's handle */
    ps_pull *inner;
} shim_pull;

static ps_status sh_pull_start(ps_consumer *c, const ps_fetch_request *req, ps_pull **out)
{
    shim_consumer *sc = (shim_consumer *)c;
    if (cut_off(sc))
        return ps_error(PS_ERR_TIMEOUT, 0, "pull: no answer (cut off from the broker, injected)");
    shim_pull *p = calloc(1, sizeof *p);
    if (!p)
        return seen(as_shim(c->backend), ps_error(PS_ERR_NO_MEMORY, 0, "fault shim: out of memory"));
    ps_status st = seen(as_shim(c->backend), ps_pull_start(sc->inner, req, &p->inner));
    if (st) {
        free(p);
        return st;
    }
    p->base.consumer = c;
    *out = &p->base;
    return PS_OK;
}

/* Cut off, nothing arrives: the pull looks still waiting (the client
 * gives up at its own expiry, as against a silent server). */
static ps_status sh_pull_poll(ps_pull *pp, ps_msg_list *out, ps_pull_end *end)
{
    shim_pull *p = (shim_pull *)pp;
    shim_consumer *sc = (shim_consumer *)pp->consumer;
    if (cut_off(sc))
        return PS_OK;
    ps_status st = seen(as_shim(sc->base.backend), ps_pull_poll(p->inner, out, end));
    for (int i = 0; st == PS_OK && i < out->count; i++)
        out->msgs[i]->consumer_ = &sc->base; /* acks come back through the shim */
    return st;
}

static void sh_pull_free(ps_pull *pp)
{
    shim_pull *p = (shim_pull *)pp;
    ps_pull_free(p->inner);
    free(p);
}

/* ---- lifetime ------------------------------------------------------------------------- */

static void forward_advisory(void *user, const ps_advisory *adv)
{
    ps_backend_emit_advisory(&((shim *)user)->base, adv);
}

static void sh_close(ps_backend *b)
{
    shim *s = as_shim(b);
    ps_backend_set_advisory_handler(s->inner, NULL, NULL);
    ps_backend_set_pub_result_handler(s->inner, NULL, NULL);
    ps_backend_wrapped(s->inner, false);
    free(s);
}

static const ps_backend_ops shim_ops = {
    .version = 3, /* every slot of the contract's current version */
    .name = "fault-shim",
    .stream_add = sh_stream_add,
    .stream_update = sh_stream_update,
    .stream_info = sh_stream_info,
    .stream_delete = sh_stream_delete,
    .stream_purge = sh_stream_purge,
    .msg_get = sh_msg_get,
    .msg_delete = sh_msg_delete,
    .publish = sh_publish,
    .consumer_add = sh_consumer_add,
    .consumer_bind = sh_consumer_bind,
    .consumer_info = sh_consumer_info,
    .consumer_delete = sh_consumer_delete,
    .consumer_free = sh_consumer_free,
    .fetch = sh_fetch,
    .ack = sh_ack,
    .close = sh_close,
    .next_deadline = sh_next_deadline,
    .tick = sh_tick,
    .restart = sh_restart,
    .publish_async = sh_publish_async,
    .publish_async_complete = sh_publish_async_complete,
    .pull_start = sh_pull_start,
    .pull_poll = sh_pull_poll,
    .pull_free = sh_pull_free,
};

ps_status ps_fault_shim_new(ps_backend **out, ps_backend *inner, uint64_t seed)
{
    if (!out || !inner || !inner->ops)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_fault_shim_new: NULL argument");
    shim *s = calloc(1, sizeof *s);
    if (!s)
        return ps_error(PS_ERR_NO_MEMORY, 0, "fault shim: out of memory");
    s->base.ops = &shim_ops;
    s->inner = inner;
    s->rng = ps_rand_derive(seed, 0x5a17);
    ps_backend_set_advisory_handler(inner, forward_advisory, s);
    ps_backend_set_pub_result_handler(inner, forward_pub_result, s);
    ps_backend_wrapped(inner, true); /* the inner one refuses to close before this one */
    *out = &s->base;
    return PS_OK;
}

bool ps_fault_shim_is(const ps_backend *b)
{
    return b && b->ops == &shim_ops;
}

/* The shim behind `b`, or NULL with PS_ERR_INVALID_ARG recorded for `fn`. */
static shim *shim_of(ps_backend *b, const char *fn)
{
    if (ps_fault_shim_is(b))
        return as_shim(b);
    ps_error(PS_ERR_INVALID_ARG, 0, "%s: not a fault shim (make one with ps_fault_shim_new)", fn);
    return NULL;
}

ps_status ps_fault_forward_advisories(ps_backend *b, bool on)
{
    shim *s = shim_of(b, "ps_fault_forward_advisories");
    if (!s)
        return PS_ERR_INVALID_ARG;
    ps_backend_set_advisory_handler(s->inner, on ? forward_advisory : NULL, on ? s : NULL);
    return PS_OK;
}

static bool fault_valid(ps_fault f)
{
    return (unsigned)f < PS_FAULT_COUNT;
}

ps_status ps_fault_next(ps_backend *b, ps_fault fault, uint64_t n)
{
    shim *s = shim_of(b, "ps_fault_next");
    if (!s)
        return PS_ERR_INVALID_ARG;
    if (!fault_valid(fault))
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_fault_next: fault %d out of range", (int)fault);
    s->next[fault] = n;
    return PS_OK;
}

uint64_t ps_fault_pending(const ps_backend *b, ps_fault fault)
{
    return ps_fault_shim_is(b) && fault_valid(fault) ? ((const shim *)b)->next[fault] : 0;
}

ps_status ps_fault_set_probability(ps_backend *b, ps_fault fault, int bp)
{
    shim *s = shim_of(b, "ps_fault_set_probability");
    if (!s)
        return PS_ERR_INVALID_ARG;
    if (!fault_valid(fault) || bp < 0 || bp > 10000)
        return ps_error(PS_ERR_INVALID_ARG, 0,
                        "ps_fault_set_probability: fault %d or %d basis points out of range (0..10000)",
                        (int)fault, bp);
    s->bp[fault] = bp;
    return PS_OK;
}

uint64_t ps_fault_injected(const ps_backend *b, ps_fault fault)
{
    return ps_fault_shim_is(b) && fault_valid(fault) ? ((const shim *)b)->injected[fault] : 0;
}

ps_status sim_shim_harness_error(ps_backend *b)
{
    shim *s = ps_fault_shim_is(b) ? as_shim(b) : NULL;
    if (!s || !s->harness)
        return PS_OK;
    return ps_error(s->harness, 0, "%s", s->harness_msg);
}

ps_status ps_fault_set_unreachable(ps_backend *b, bool unreachable)
{
    shim *s = shim_of(b, "ps_fault_set_unreachable");
    if (!s)
        return PS_ERR_INVALID_ARG;
    s->unreachable = unreachable;
    return PS_OK;
}

ps_status ps_fault_cut_consumer(ps_consumer *c, bool cut)
{
    if (!c || !ps_fault_shim_is(c->backend))
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_fault_cut_consumer: not a handle made through a fault shim");
    ((shim_consumer *)c)->cut = cut;
    return PS_OK;
}
