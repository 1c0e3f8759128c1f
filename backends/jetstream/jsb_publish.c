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
#include <time.h>

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

/* Which token each in-flight natsMsg carries: a ring in publish order,
 * keyed by the message's address (unique while it is in flight). PubAcks
 * from one stream come back in publish order, so a lookup nearly always
 * hits the oldest entry or the one after the last hit, and the ring is
 * walked sequentially (a hash table keyed by address missed the cache on
 * every publish and every PubAck). Under `lock`, with the results waiting
 * for the caller's thread. */
typedef struct slot {
    const natsMsg *key; /* NULL once taken */
    uint64_t token;
} slot;

/* A result as cnats's thread queues it: small, so the thread that reads
 * PubAcks spends little on each; the stream name is interned. */
typedef struct ready_ent {
    uint64_t token, seq;
    int32_t status, err_code;
    const char *stream; /* an interned name (see intern) or "" */
    bool duplicate;
} ready_ent;

typedef struct name_node {
    struct name_node *next;
    char name[PS_NAME_MAX_BUF];
} name_node;

typedef struct ready_buf {
    ready_ent *e;
    size_t n, cap;
} ready_buf;

struct jsb_async {
    pthread_spinlock_t lock; /* ring, ready, names; held for a few dozen ns */
    slot *ring;
    size_t cap;             /* power of two */
    size_t head, tail;      /* positions (mod cap); tail - head entries */
    size_t hint;            /* just after the last hit */
    ready_buf ready;        /* filled by cnats's thread */
    size_t nready_hint;     /* ready.n, readable without the lock */
    name_node *names, *last_name;
    pthread_mutex_t deliver; /* one deliverer at a time; owns `spare` */
    int active;              /* on_ack calls running (atomic) */
    ready_buf spare;
};

static bool ring_grow(jsb_async *a)
{
    size_t ncap = a->cap ? a->cap * 2 : 4096;
    slot *n = malloc(ncap * sizeof *n);
    if (!n)
        return false;
    size_t len = a->tail - a->head;
    for (size_t i = 0; i < len; i++)
        n[i] = a->ring[(a->head + i) & (a->cap - 1)];
    free(a->ring);
    a->ring = n;
    a->hint = a->hint - a->head;
    a->head = 0;
    a->tail = len;
    a->cap = ncap;
    return true;
}

static bool ring_put(jsb_async *a, const natsMsg *key, uint64_t token)
{
    if (a->tail - a->head == a->cap && !ring_grow(a))
        return false;
    a->ring[a->tail++ & (a->cap - 1)] = (slot){key, token};
    return true;
}

/* Looks for `key` in [from, to); takes it on a hit. */
static bool ring_scan(jsb_async *a, size_t from, size_t to, const natsMsg *key, uint64_t *token)
{
    for (size_t i = from; i < to; i++) {
        slot *sl = &a->ring[i & (a->cap - 1)];
        if (sl->key == key) {
            *token = sl->token;
            sl->key = NULL;
            a->hint = i + 1;
            while (a->head < a->tail && !a->ring[a->head & (a->cap - 1)].key)
                a->head++; /* drop taken entries at the front */
            if (a->hint < a->head)
                a->hint = a->head;
            return true;
        }
    }
    return false;
}

/* Finds and removes `key`: from the last hit onwards first (in order, or
 * in order again after one PubAck that is late), then from the front. */
static bool ring_take(jsb_async *a, const natsMsg *key, uint64_t *token)
{
    size_t hint = a->hint < a->head ? a->head : a->hint;
    return ring_scan(a, hint, a->tail, key, token) || ring_scan(a, a->head, hint, key, token);
}

/* The interned copy of a stream name (nodes live until the backend closes,
 * so delivered results may point at them without the lock). */
static const char *intern(jsb_async *a, const char *name)
{
    if (!name)
        return "";
    if (a->last_name && strcmp(a->last_name->name, name) == 0)
        return a->last_name->name;
    for (name_node *n = a->names; n; n = n->next)
        if (strcmp(n->name, name) == 0)
            return (a->last_name = n)->name;
    name_node *n = calloc(1, sizeof *n);
    if (!n)
        return "";
    snprintf(n->name, sizeof n->name, "%s", name);
    n->next = a->names;
    a->names = a->last_name = n;
    return n->name;
}

static void push_ready(jsb_async *a, const ready_ent *e)
{
    ready_buf *b = &a->ready;
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 1024;
        ready_ent *n = realloc(b->e, ncap * sizeof *n);
        if (!n)
            return; /* out of memory on cnats's thread: the result is lost, the
                       caller's complete() then times out rather than crashing */
        b->e = n;
        b->cap = ncap;
    }
    b->e[b->n++] = *e;
    __atomic_store_n(&a->nready_hint, b->n, __ATOMIC_RELEASE);
}

/* cnats's thread: one PubAck or error for a message we sent. */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    jsb_async *a = closure;
    __atomic_add_fetch(&a->active, 1, __ATOMIC_ACQ_REL);
    ready_ent e = {0};
    if (pae) {
        e.err_code = (int32_t)pae->ErrCode;
        e.status = pae->Err == NATS_NO_RESPONDERS ? PS_ERR_NO_RESPONDERS
                 : pae->Err == NATS_TIMEOUT       ? PS_ERR_TIMEOUT
                 : e.err_code                      ? jsb_status_for_code(e.err_code, pae->ErrText)
                                                   : PS_ERR_IO;
    }
    pthread_spin_lock(&a->lock);
    if (pa) {
        e.seq = pa->Sequence;
        e.duplicate = pa->Duplicate;
        e.stream = intern(a, pa->Stream);
    }
    if (ring_take(a, msg, &e.token))
        push_ready(a, &e);
    pthread_spin_unlock(&a->lock);
    /* The handler owns the original message (nats.h, jsPubAckHandler); its
     * address left the ring above, so a new message may reuse it. */
    natsMsg_Destroy(msg);
    __atomic_sub_fetch(&a->active, 1, __ATOMIC_ACQ_REL);
}

ps_status jsb_async_init(jsb_backend *jb, jsOptions *jo)
{
    jsb_async *a = calloc(1, sizeof *a);
    if (!a)
        return ps_error(PS_ERR_NO_MEMORY, 0, "ps_jetstream_new: out of memory");
    pthread_spin_init(&a->lock, PTHREAD_PROCESS_PRIVATE);
    pthread_mutex_init(&a->deliver, NULL);
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
    /* Called after jsb_async_quiesce and the connection's close. */
    pthread_spin_destroy(&a->lock);
    pthread_mutex_destroy(&a->deliver);
    free(a->ring);
    free(a->ready.e);
    free(a->spare.e);
    for (name_node *n = a->names, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    free(a);
    jb->async = NULL;
}

/* Hands queued results to the caller's handler, outside the lock: the
 * queue is swapped with a spare buffer, so neither side reallocates in a
 * steady stream. Deliverers take turns, so the handler never runs twice
 * at once and a call returns with the queue seen empty. */
static void deliver_ready(jsb_backend *jb)
{
    jsb_async *a = jb->async;
    pthread_mutex_lock(&a->deliver); /* after another deliverer, look again */
    for (;;) {
        pthread_spin_lock(&a->lock);
        ready_buf full = a->ready;
        a->ready = a->spare;
        a->ready.n = 0;
        __atomic_store_n(&a->nready_hint, 0, __ATOMIC_RELEASE);
        pthread_spin_unlock(&a->lock);
        a->spare = full;
        if (full.n == 0)
            break;
        for (size_t i = 0; i < full.n; i++) {
            const ready_ent *e = &full.e[i];
            ps_pub_result r = {.token = e->token, .status = e->status, .err_code = e->err_code};
            if (e->status == PS_OK) {
                /* interned names fit (PS_NAME_MAX_BUF); no printf per result */
                memcpy(r.ack.stream, e->stream, strlen(e->stream) + 1);
                r.ack.seq = e->seq;
                r.ack.duplicate = e->duplicate;
            }
            ps_backend_emit_pub_result(&jb->base, &r);
        }
        a->spare.n = 0;
    }
    pthread_mutex_unlock(&a->deliver);
}

ps_status jsb_publish_async(ps_backend *b, const ps_out_msg *m, uint64_t token)
{
    jsb_backend *jb = (jsb_backend *)b;
    jsb_async *a = jb->async;
    if (__atomic_load_n(&a->nready_hint, __ATOMIC_ACQUIRE)) /* a hint; deliver_ready locks */
        deliver_ready(jb);
    natsMsg *msg = NULL;
    natsStatus ns = build_msg(&msg, m);
    if (ns != NATS_OK)
        return jsb_fail(ns, 0, "publish async");
    pthread_spin_lock(&a->lock);
    bool ok = ring_put(a, msg, token);
    pthread_spin_unlock(&a->lock);
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
        pthread_spin_lock(&a->lock);
        ring_take(a, key, &t);
        pthread_spin_unlock(&a->lock);
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
    pthread_spin_lock(&a->lock);
    for (int i = 0; i < pending.Count; i++) {
        ready_ent e = {.status = PS_ERR_TIMEOUT, .stream = ""};
        if (pending.Msgs[i] && ring_take(a, pending.Msgs[i], &e.token))
            push_ready(a, &e);
    }
    pthread_spin_unlock(&a->lock);
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

void jsb_async_quiesce(jsb_backend *jb)
{
    jsb_async *a = jb->async;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 1000;
    if (js_PublishAsyncComplete(jb->js, &po) != NATS_OK)
        expire_pending(jb); /* cnats forgets them: no handler call for them */
    /* A handler already running finishes before the bookkeeping goes. */
    for (int i = 0; i < 10000 && __atomic_load_n(&a->active, __ATOMIC_ACQUIRE); i++) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    deliver_ready(jb);
}
