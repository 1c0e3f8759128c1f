/* mem_pull.c — asynchronous pull requests and the server's waiting queue
 * (docs/MODEL.md, JS 8), on the backend's clock.
 *
 * Each consumer keeps its waiting pulls in a FIFO, as nats-server 2.9.10's
 * waitQueue does: a delivery goes to the request at the head, which then
 * moves to the back if it wants more (JS 8.3), so concurrent pulls
 * interleave. Requests are served the moment something becomes
 * deliverable (a publish, a nak, an ack that frees MaxAckPending room, an
 * ack-wait expiry), end with 408 at their expiry, with 409 Consumer
 * Deleted when their consumer goes, and are lost without an answer in a
 * restart. Nothing here waits: ps_pull_poll only reads what happened.
 *
 * Not here: choosing the next message and delivering it (mem_deliver.c),
 * the blocking fetch of the real clock (mem_deliver.c).
 */
#include <stdlib.h>
#include <string.h>

#include "mem_internal.h"

typedef struct mem_pull {
    ps_pull base;        /* first member: the contract's handle */
    mem_backend *mb;
    mem_consumer *c;     /* while it waits in c->pulls; NULL otherwise */
    int64_t expires_at;  /* INT64_MAX: no expiry */
    int n;               /* batch still wanted (the server's wr.n) */
    int64_t b;           /* max_bytes left (wr.b); 0: no limit */
    int d;               /* messages delivered (wr.d) */
    bool no_wait;
    bool lost;           /* no answer will come: the client gives up at expires_at */
    ps_msg_list got;     /* delivered, not yet polled */
    ps_pull_end end;
} mem_pull;

/* ---- the queue ------------------------------------------------------------------- */

static bool queue_reserve(mem_consumer *c)
{
    if (c->npulls < c->pulls_cap)
        return true;
    int ncap = c->pulls_cap ? c->pulls_cap * 2 : 8;
    mem_pull **np = realloc(c->pulls, (size_t)ncap * sizeof *np);
    if (!np)
        return false;
    c->pulls = np;
    c->pulls_cap = ncap;
    return true;
}

static void queue_remove_at(mem_consumer *c, int i)
{
    memmove(&c->pulls[i], &c->pulls[i + 1], (size_t)(c->npulls - i - 1) * sizeof *c->pulls);
    c->npulls--;
    c->st->mb->npulls--;
}

/* Takes p off its consumer's queue; it no longer waits. */
static void unqueue(mem_pull *p)
{
    mem_consumer *c = p->c;
    for (int i = 0; c && i < c->npulls; i++)
        if (c->pulls[i] == p) {
            queue_remove_at(c, i);
            break;
        }
    p->c = NULL;
}

static void finish(mem_pull *p, int code, const char *desc, int64_t pend_msgs, int64_t pend_bytes,
                   ps_status if_none)
{
    unqueue(p);
    ps_pull_end_set(&p->end, code, desc, pend_msgs, pend_bytes, if_none);
}

/* JS 8.4: the 408 and 409 that end a request carry what it still wanted. */
static void finish_pending(mem_pull *p, int code, const char *desc)
{
    finish(p, code, desc, p->n, p->b, PS_OK);
}

uint64_t mem_pulls_batch_pending(const mem_consumer *c)
{
    uint64_t n = 0;
    for (int i = 0; i < c->npulls; i++)
        n += (uint64_t)c->pulls[i]->n;
    return n;
}

/* ---- serving (JS 8.3) -------------------------------------------------------------- */

/* nextWaiting: the head request that has room for a message of `size`;
 * the ones that have not end with 409 (JS 8.3). NULL: none left. */
static mem_pull *next_waiting(mem_consumer *c, int64_t size)
{
    while (c->npulls) {
        mem_pull *p = c->pulls[0];
        if (p->b == 0 || size <= p->b)
            return p;
        finish_pending(p, 409, "Message Size Exceeds MaxBytes");
    }
    return NULL;
}

/* Delivers one message to p and moves p to the back, or ends it when its
 * batch is full. */
static void deliver_to(mem_consumer *c, mem_pull *p, int64_t size, int64_t now)
{
    if (p->b > 0) {
        p->b -= size;
        if (p->b == 0)
            p->n = 1; /* the server delivers this one and stops */
    }
    if (!mem_serve_commit((mem_handle *)p->base.consumer, c, now, &p->got)) {
        finish(p, 0, "", -1, -1, ps_error(PS_ERR_NO_MEMORY, 0, "pull on consumer %s: out of memory "
                                          "delivering", c->name));
        return;
    }
    p->n--;
    p->d++;
    queue_remove_at(c, 0);
    if (p->n <= 0) {
        p->c = NULL;
        ps_pull_end_set(&p->end, 0, "", -1, -1, PS_OK); /* a full batch ends without a status */
        return;
    }
    c->pulls[c->npulls++] = p; /* its slot was freed just now */
    c->st->mb->npulls++;
}

/* True: MaxAckPending held a delivery back. */
static bool serve(mem_consumer *c, int64_t now)
{
    bool stalled = false;
    c->wake = false;
    while (c->npulls) {
        int64_t size = 0;
        int k = mem_serve_peek(c, &size);
        if (k == MEM_SERVE_NO_MEMORY) {
            finish(c->pulls[0], 0, "", -1, -1,
                   ps_error(PS_ERR_NO_MEMORY, 0, "pull on consumer %s: out of memory", c->name));
            continue;
        }
        stalled = k == MEM_SERVE_STALL;
        if (k != MEM_SERVE_MSG)
            break;
        mem_pull *p = next_waiting(c, size);
        if (!p) {
            /* No request had room: the server redoes the message later. */
            mem_serve_redo(c, now);
            break;
        }
        deliver_to(c, p, size, now);
    }
    /* JS 8.4: a no_wait one-shot that got something ends when nothing more
     * is there, unless MaxAckPending holds deliveries back (JS 6.8): the
     * loop then runs processWaiting(eos = err != errMaxAckPending). */
    if (!stalled)
        mem_pulls_eos(c, now);
    return stalled;
}

ps_status mem_pulls_fetch(mem_handle *h, mem_consumer *c, const ps_fetch_request *req, int64_t now,
                          ps_msg_list *out, bool *stalled, bool *max_bytes_hit)
{
    if (!queue_reserve(c))
        return ps_error(PS_ERR_NO_MEMORY, 0, "fetch on consumer %s: out of memory", c->name);
    mem_pull p = {.base.consumer = &h->base, .mb = c->st->mb, .c = c, .expires_at = INT64_MAX,
                  .n = req->batch, .b = req->max_bytes, .no_wait = req->no_wait || req->expires_ns == 0};
    p.got = *out; /* moved in and back: its buffers are reused */
    c->pulls[c->npulls++] = &p;
    c->st->mb->npulls++;
    *stalled = serve(c, now);
    unqueue(&p); /* the fetch returns: the model's fetch does not wait */
    *out = p.got;
    *max_bytes_hit = (p.end.done && p.end.code == 409) || (req->max_bytes > 0 && p.b == 0 && p.n > 0);
    return p.end.done ? p.end.status : PS_OK;
}

void mem_pulls_serve_all(mem_backend *mb, int64_t now)
{
    for (int i = 0; mb->npulls && i < mb->nstreams; i++) {
        mem_stream *st = mb->streams[i];
        for (int j = 0; j < st->nconsumers; j++) {
            mem_consumer *c = st->consumers[j];
            if (c->npulls && c->wake)
                serve(c, now);
            c->wake = false;
        }
    }
}

void mem_pulls_eos(mem_consumer *c, int64_t now)
{
    for (int k = 0; k < c->npulls;) {
        mem_pull *p = c->pulls[k];
        if (p->expires_at <= now || (p->no_wait && p->d > 0))
            finish_pending(p, 408, "Request Timeout");
        else
            k++;
    }
}

void mem_pulls_expire(mem_backend *mb, int64_t now)
{
    for (int i = 0; mb->npulls && i < mb->nstreams; i++) {
        mem_stream *st = mb->streams[i];
        for (int j = 0; j < st->nconsumers; j++) {
            mem_consumer *c = st->consumers[j];
            /* An expiry is the delivery loop's wrExp timer firing, and it
             * runs processWaiting(eos=true): in the same pass, in queue
             * order, a no_wait one-shot that got something ends with 408
             * too, even while MaxAckPending stalls it (difftest timed 535). */
            bool due = false;
            for (int k = 0; k < c->npulls && !due; k++)
                due = c->pulls[k]->expires_at <= now;
            if (due)
                mem_pulls_eos(c, now);
        }
    }
}

int64_t mem_pulls_next_event(mem_backend *mb)
{
    int64_t next = INT64_MAX;
    for (int i = 0; mb->npulls && i < mb->nstreams; i++) {
        mem_stream *st = mb->streams[i];
        for (int j = 0; j < st->nconsumers; j++) {
            mem_consumer *c = st->consumers[j];
            if (!c->npulls)
                continue;
            /* MaxAge removes pending messages, which frees MaxAckPending room */
            int64_t d = mem_store_next_expiry(st);
            next = d < next ? d : next;
            d = mem_deliver_next_deadline(c);
            next = d < next ? d : next;
            for (int k = 0; k < c->npulls; k++)
                next = c->pulls[k]->expires_at < next ? c->pulls[k]->expires_at : next;
        }
    }
    return next;
}

void mem_pulls_consumer_gone(mem_consumer *c, bool deleted)
{
    while (c->npulls) {
        mem_pull *p = c->pulls[0];
        if (deleted) {
            finish(p, 409, "Consumer Deleted", -1, -1, PS_OK);
        } else {
            unqueue(p);
            p->lost = true;
        }
    }
    free(c->pulls);
    c->pulls = NULL;
    c->pulls_cap = 0;
}

void mem_pulls_lose_all(mem_backend *mb)
{
    for (int i = 0; mb->npulls && i < mb->nstreams; i++)
        for (int j = 0; j < mb->streams[i]->nconsumers; j++)
            mem_pulls_consumer_gone(mb->streams[i]->consumers[j], false);
}

/* ---- consistency (ps_memory_check) ------------------------------------------------------- */

ps_status mem_pulls_check(const mem_backend *mb)
{
    int total = 0;
    for (int i = 0; i < mb->nstreams; i++)
        for (int j = 0; j < mb->streams[i]->nconsumers; j++) {
            const mem_consumer *c = mb->streams[i]->consumers[j];
            for (int k = 0; k < c->npulls; k++) {
                const mem_pull *p = c->pulls[k];
                if (p->c != c || p->end.done || p->n <= 0)
                    return ps_error(PS_ERR_INTERNAL, 0, "consumer %s/%s: waiting pull %d is %s", c->st->name,
                                    c->name, k, p->c != c ? "linked to another consumer"
                                              : p->end.done ? "already over" : "without a batch left");
            }
            total += c->npulls;
        }
    if (total != mb->npulls)
        return ps_error(PS_ERR_INTERNAL, 0, "%d pulls wait on the consumers, the backend counts %d", total,
                        mb->npulls);
    return PS_OK;
}

/* ---- the ops ------------------------------------------------------------------------ */

/* The pull status a refusal by mem_admit stands for (JS 8.2). */
static void refuse(mem_pull *p, ps_status s)
{
    const char *why = ps_last_error();
    if (s == PS_ERR_NO_MESSAGES)
        finish(p, 404, "No Messages", -1, -1, PS_OK);
    else if (s == PS_ERR_TIMEOUT)
        finish(p, 408, why, -1, -1, PS_OK);
    else
        finish(p, 409, why, -1, -1, PS_OK);
}

/* Admits p on c and queues it; PS_OK also when the server refuses it (the
 * refusal is p's end). */
static ps_status admit_and_queue(mem_pull *p, mem_consumer *c, const ps_fetch_request *req, int64_t now)
{
    if (!queue_reserve(c))
        return ps_error(PS_ERR_NO_MEMORY, 0, "pull on consumer %s: out of memory", c->name);
    ps_status s = mem_admit(c, req, req->no_wait);
    if (s == PS_ERR_NO_MEMORY)
        return s;
    if (s != PS_OK) {
        refuse(p, s);
        return PS_OK;
    }
    c->last_activity_ns = now;
    c->pulls[c->npulls++] = p;
    c->st->mb->npulls++;
    p->c = c;
    serve(c, now);
    return PS_OK;
}

ps_status mem_pull_start(ps_consumer *hc, const ps_fetch_request *req, ps_pull **out)
{
    mem_handle *h = (mem_handle *)hc;
    mem_backend *mb = h->mb;
    mem_pull *p = calloc(1, sizeof *p);
    if (!p)
        return ps_error(PS_ERR_NO_MEMORY, 0, "ps_pull_start: out of memory");
    p->base.consumer = hc;
    p->mb = mb;
    p->n = req->batch;
    p->b = req->max_bytes;
    p->no_wait = req->no_wait;
    mem_lock(mb);
    int64_t now = mem_now(mb);
    p->expires_at = req->expires_ns > 0 ? now + req->expires_ns : INT64_MAX;
    ps_status s = mem_run_timers(mb, now);
    mem_consumer *c = s ? NULL : mem_handle_resolve(h);
    if (!s && !c)
        p->lost = true; /* JS 5.5: dropped silently; the client waits out its expiry */
    else if (!s)
        s = admit_and_queue(p, c, req, now);
    mem_unlock(mb);
    if (s) {
        free(p);
        return s;
    }
    *out = &p->base;
    return PS_OK;
}

ps_status mem_pull_poll(ps_pull *pp, ps_msg_list *out, ps_pull_end *end)
{
    mem_pull *p = (mem_pull *)pp;
    mem_backend *mb = p->mb;
    mem_lock(mb);
    int64_t now = mem_now(mb);
    ps_status s = mem_run_timers(mb, now);
    if (p->lost && !p->end.done && now >= p->expires_at)
        ps_pull_end_set(&p->end, 0, "", -1, -1,
                        ps_error(PS_ERR_TIMEOUT, 0, "pull: no answer from the server before expiry"));
    if (!s) {
        ps_msg_list tmp = *out;
        *out = p->got;
        p->got = tmp; /* the cleared list's buffers are reused for the next deliveries */
        *end = p->end;
    }
    mem_unlock(mb);
    return s;
}

void mem_pull_free(ps_pull *pp)
{
    mem_pull *p = (mem_pull *)pp;
    mem_backend *mb = p->mb;
    mem_lock(mb);
    unqueue(p); /* JS 8.4: a request whose requester went away is dropped */
    mem_unlock(mb);
    ps_msg_list_free(&p->got);
    free(p);
}
