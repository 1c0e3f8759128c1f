/* jsb_publish.c — publishing over cnats (JS 3): synchronous publishes wait
 * for the PubAck; asynchronous ones go out through js_PublishMsgAsync and
 * their results come back on cnats's thread, which queues them for the
 * caller's thread (ps_pub_result_fn is only ever called from a call into
 * the backend, as the contract promises).
 *
 * The JetStream headers are set on the message directly rather than through
 * jsPubOptions, because jsPubOptions cannot say "expect last sequence 0"
 * (JS 14: 0 means unset there).
 *
 * Not here: consumers (jsb_consumer.c).
 */
#include "jsb_internal.h"
#include "ps_clock.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building the message -------------------------------------------------------- */

static bool needs_headers(const ps_out_msg *m)
{
    return m->msg_id || m->expected_stream || m->expected_last_msg_id || m->has_expected_last_seq ||
           m->has_expected_last_subject_seq || ps_headers_count(m->headers) > 0;
}

static natsStatus build_msg(natsMsg **out, const ps_out_msg *m)
{
    natsMsg *msg = NULL;
    natsStatus ns = natsMsg_Create(&msg, m->subject, NULL, (const char *)m->data, (int)m->len);
    char num[24];
    for (int i = 0; ns == NATS_OK && i < ps_headers_count(m->headers); i++)
        ns = natsMsgHeader_Add(msg, ps_headers_name_at(m->headers, i), ps_headers_value_at(m->headers, i));
    if (ns == NATS_OK && m->msg_id)
        ns = natsMsgHeader_Set(msg, PS_HDR_MSG_ID, m->msg_id);
    if (ns == NATS_OK && m->expected_stream)
        ns = natsMsgHeader_Set(msg, PS_HDR_EXPECTED_STREAM, m->expected_stream);
    if (ns == NATS_OK && m->expected_last_msg_id)
        ns = natsMsgHeader_Set(msg, PS_HDR_EXPECTED_LAST_MSG_ID, m->expected_last_msg_id);
    if (ns == NATS_OK && m->has_expected_last_seq) {
        snprintf(num, sizeof num, "%" PRIu64, m->expected_last_seq);
        ns = natsMsgHeader_Set(msg, PS_HDR_EXPECTED_LAST_SEQ, num);
    }
    if (ns == NATS_OK && m->has_expected_last_subject_seq) {
        snprintf(num, sizeof num, "%" PRIu64, m->expected_last_subject_seq);
        ns = natsMsgHeader_Set(msg, PS_HDR_EXPECTED_LAST_SUBJ_SEQ, num);
    }
    if (ns != NATS_OK) {
        natsMsg_Destroy(msg);
        return ns;
    }
    *out = msg;
    return NATS_OK;
}

static void copy_ack(ps_pub_ack *out, const jsPubAck *pa)
{
    snprintf(out->stream, sizeof out->stream, "%s", pa->Stream ? pa->Stream : "");
    out->seq = pa->Sequence;
    out->duplicate = pa->Duplicate;
}

/* ---- synchronous ---------------------------------------------------------------- */

ps_status jsb_publish(ps_backend *b, const ps_out_msg *m, ps_pub_ack *out)
{
    jsb_backend *jb = (jsb_backend *)b;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = jb->timeout_ms;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    natsStatus ns;
    if (!needs_headers(m)) {
        ns = js_Publish(&pa, jb->js, m->subject, m->data, (int)m->len, &po, &jerr);
    } else {
        natsMsg *msg = NULL;
        ns = build_msg(&msg, m);
        if (ns == NATS_OK)
            ns = js_PublishMsg(&pa, jb->js, msg, &po, &jerr);
        natsMsg_Destroy(msg);
    }
    if (ns != NATS_OK)
        return jsb_fail(ns, jerr, "publish");
    if (out)
        copy_ack(out, pa);
    jsPubAck_Destroy(pa);
    return PS_OK;
}

/* ---- asynchronous ---------------------------------------------------------------- */

/* Which token each in-flight natsMsg carries: an open-addressing table
 * keyed by the message's address (unique while it is in flight), and the
 * results waiting for the caller's thread. Both under `lock`. */
typedef struct slot {
    const natsMsg *key;
    uint64_t token;
} slot;

struct jsb_async {
    pthread_mutex_t lock;
    slot *slots;
    size_t cap;   /* power of two */
    size_t used;
    ps_pub_result *ready;
    size_t nready, capready;
};

static size_t hash_ptr(const void *p, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

static bool map_grow(jsb_async *a)
{
    size_t ncap = a->cap ? a->cap * 2 : 1024;
    slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return false;
    for (size_t i = 0; i < a->cap; i++) {
        if (!a->slots[i].key)
            continue;
        size_t j = hash_ptr(a->slots[i].key, ncap);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = a->slots[i];
    }
    free(a->slots);
    a->slots = ns;
    a->cap = ncap;
    return true;
}

static bool map_put(jsb_async *a, const natsMsg *key, uint64_t token)
{
    if ((a->used + 1) * 2 > a->cap && !map_grow(a))
        return false;
    size_t j = hash_ptr(key, a->cap);
    while (a->slots[j].key && a->slots[j].key != key)
        j = (j + 1) & (a->cap - 1);
    if (!a->slots[j].key)
        a->used++;
    a->slots[j] = (slot){key, token};
    return true;
}

/* Removes `key` (backward-shift deletion keeps probe chains whole). */
static bool map_take(jsb_async *a, const natsMsg *key, uint64_t *token)
{
    if (!a->cap)
        return false;
    size_t mask = a->cap - 1, j = hash_ptr(key, a->cap);
    while (a->slots[j].key != key) {
        if (!a->slots[j].key)
            return false;
        j = (j + 1) & mask;
    }
    *token = a->slots[j].token;
    size_t hole = j;
    for (size_t k = (j + 1) & mask; a->slots[k].key; k = (k + 1) & mask) {
        size_t home = hash_ptr(a->slots[k].key, a->cap);
        /* move k into the hole unless its home lies cyclically in (hole, k] */
        bool stays = hole <= k ? (home > hole && home <= k) : (home > hole || home <= k);
        if (!stays) {
            a->slots[hole] = a->slots[k];
            hole = k;
        }
    }
    a->slots[hole] = (slot){NULL, 0};
    a->used--;
    return true;
}

static void push_ready(jsb_async *a, const ps_pub_result *r)
{
    if (a->nready == a->capready) {
        size_t ncap = a->capready ? a->capready * 2 : 256;
        ps_pub_result *n = realloc(a->ready, ncap * sizeof *n);
        if (!n)
            return; /* out of memory on cnats's thread: the result is lost, the
                       caller's complete() then times out rather than crashing */
        a->ready = n;
        a->capready = ncap;
    }
    a->ready[a->nready] = *r;
    __atomic_store_n(&a->nready, a->nready + 1, __ATOMIC_RELEASE);
}

/* cnats's thread: one PubAck or error for a message we sent. */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    jsb_async *a = closure;
    ps_pub_result r = {0};
    if (pa) {
        copy_ack(&r.ack, pa);
    } else if (pae) {
        r.err_code = (int)pae->ErrCode;
        r.status = pae->Err == NATS_NO_RESPONDERS ? PS_ERR_NO_RESPONDERS
                 : pae->Err == NATS_TIMEOUT       ? PS_ERR_TIMEOUT
                 : r.err_code                      ? jsb_status_for_code(r.err_code, pae->ErrText)
                                                   : PS_ERR_IO;
    }
    pthread_mutex_lock(&a->lock);
    if (map_take(a, msg, &r.token))
        push_ready(a, &r);
    pthread_mutex_unlock(&a->lock);
    /* The handler owns the original message (nats.h, jsPubAckHandler); its
     * address left the map above, so a new message may reuse it. */
    natsMsg_Destroy(msg);
}

ps_status jsb_async_init(jsb_backend *jb, jsOptions *jo)
{
    jsb_async *a = calloc(1, sizeof *a);
    if (!a)
        return ps_error(PS_ERR_NO_MEMORY, 0, "ps_jetstream_new: out of memory");
    pthread_mutex_init(&a->lock, NULL);
    jb->async = a;
    jo->PublishAsync.AckHandler = on_ack;
    jo->PublishAsync.AckHandlerClosure = a;
    return PS_OK;
}

void jsb_async_free(jsb_backend *jb)
{
    jsb_async *a = jb->async;
    if (!a)
        return;
    /* The context is destroyed after this; cnats calls no handler once the
     * connection is closed, so close first (jsb_close does). */
    pthread_mutex_destroy(&a->lock);
    free(a->slots);
    free(a->ready);
    free(a);
    jb->async = NULL;
}

/* Hands queued results to the caller's handler, outside the lock. */
static void deliver_ready(jsb_backend *jb)
{
    jsb_async *a = jb->async;
    for (;;) {
        pthread_mutex_lock(&a->lock);
        size_t n = a->nready;
        ps_pub_result *batch = NULL;
        if (n) {
            batch = a->ready;
            a->ready = NULL;
            a->nready = a->capready = 0;
        }
        pthread_mutex_unlock(&a->lock);
        if (!n)
            return;
        for (size_t i = 0; i < n; i++)
            ps_backend_emit_pub_result(&jb->base, &batch[i]);
        free(batch);
    }
}

ps_status jsb_publish_async(ps_backend *b, const ps_out_msg *m, uint64_t token)
{
    jsb_backend *jb = (jsb_backend *)b;
    jsb_async *a = jb->async;
    if (__atomic_load_n(&a->nready, __ATOMIC_ACQUIRE)) /* a hint; deliver_ready locks */
        deliver_ready(jb);
    natsMsg *msg = NULL;
    natsStatus ns = build_msg(&msg, m);
    if (ns != NATS_OK)
        return jsb_fail(ns, 0, "publish async");
    pthread_mutex_lock(&a->lock);
    bool ok = map_put(a, msg, token);
    pthread_mutex_unlock(&a->lock);
    if (!ok) {
        natsMsg_Destroy(msg);
        return ps_error(PS_ERR_NO_MEMORY, 0, "publish async: out of memory");
    }
    /* No per-message MaxWait: cnats 3.4.1 keeps each such timer until it
     * expires, whether or not the PubAck came. A PubAck that never comes is
     * reported by ps_publish_async_complete instead (see below). */
    const natsMsg *key = msg;
    ns = js_PublishMsgAsync(jb->js, &msg, NULL);
    if (ns != NATS_OK) {
        uint64_t t;
        pthread_mutex_lock(&a->lock);
        map_take(a, key, &t);
        pthread_mutex_unlock(&a->lock);
        natsMsg_Destroy(msg); /* still ours: cnats took it only on success */
        return jsb_fail(ns, 0, "publish async");
    }
    return PS_OK;
}

/* The publishes still waiting when complete() gives up: cnats hands them
 * back (and forgets them, so a late PubAck is dropped) and each is reported
 * as a timeout. A retry with the same message id is then safe (JS 3.3). */
static void expire_pending(jsb_backend *jb)
{
    natsMsgList pending = {0};
    if (js_PublishAsyncGetPendingList(&pending, jb->js) != NATS_OK)
        return;
    jsb_async *a = jb->async;
    pthread_mutex_lock(&a->lock);
    for (int i = 0; i < pending.Count; i++) {
        ps_pub_result r = {.status = PS_ERR_TIMEOUT};
        if (pending.Msgs[i] && map_take(a, pending.Msgs[i], &r.token))
            push_ready(a, &r);
    }
    pthread_mutex_unlock(&a->lock);
    natsMsgList_Destroy(&pending);
}

ps_status jsb_publish_async_complete(ps_backend *b, int64_t timeout_ns)
{
    jsb_backend *jb = (jsb_backend *)b;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = timeout_ns > 0 ? (timeout_ns + PS_NS_PER_MS - 1) / PS_NS_PER_MS : jb->timeout_ms;
    natsStatus ns = js_PublishAsyncComplete(jb->js, &po);
    if (ns == NATS_TIMEOUT)
        expire_pending(jb);
    deliver_ready(jb);
    return ns == NATS_OK ? PS_OK : jsb_fail(ns, 0, "publish async complete");
}
