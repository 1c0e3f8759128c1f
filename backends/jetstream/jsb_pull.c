/* jsb_pull.c — asynchronous pull requests over cnats (docs/MODEL.md, JS 8).
 *
 * A pull publishes its request JSON to $JS.API.CONSUMER.MSG.NEXT.<stream>.
 * <consumer> with a reply inbox of its own (natsConnection_PublishRequest),
 * subscribed synchronously, and a poll takes what has queued on that
 * subscription without waiting: deliveries (they carry their ack subject)
 * and the status that ends the request (no reply subject, a Status header:
 * 404, 408, 409, 400 with its Description and, for 408/409, the
 * Nats-Pending-Messages and Nats-Pending-Bytes headers). A full batch ends
 * without a status (nats-server 2.9.10 sends none). Freeing the pull
 * unsubscribes its inbox, which is how the server learns the requester went
 * away.
 *
 * Not here: the blocking fetch (jsb_consumer.c).
 */
#include "jsb_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps_clock.h"

/* How long after its expiry a request the server never answered (a
 * restart, a lost connection) is given up by the client. */
#define JSB_PULL_GRACE_MS 1000

typedef struct jsb_pull {
    ps_pull base;           /* first member: the contract's handle */
    jsb_consumer *h;
    natsSubscription *sub;  /* on the pull's own inbox */
    int batch, got;
    int64_t give_up_ms;     /* monotonic; INT64_MAX: no expiry */
    ps_pull_end end;
} jsb_pull;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void free_pull(jsb_pull *p)
{
    if (p->sub)
        natsSubscription_Unsubscribe(p->sub);
    natsSubscription_Destroy(p->sub);
    free(p);
}

/* JS 8.1: the request body. */
static void request_json(const ps_fetch_request *req, char *body, size_t cap)
{
    int n = snprintf(body, cap, "{\"batch\":%d", req->batch);
    if (req->expires_ns > 0)
        n += snprintf(body + n, cap - (size_t)n, ",\"expires\":%" PRId64, req->expires_ns);
    if (req->max_bytes > 0)
        n += snprintf(body + n, cap - (size_t)n, ",\"max_bytes\":%" PRId64, req->max_bytes);
    snprintf(body + n, cap - (size_t)n, "%s}", req->no_wait ? ",\"no_wait\":true" : "");
}

ps_status jsb_pull_start(ps_consumer *c, const ps_fetch_request *req, ps_pull **out)
{
    jsb_consumer *h = (jsb_consumer *)c;
    jsb_backend *jb = h->jb;
    jsb_pull *p = calloc(1, sizeof *p);
    if (!p)
        return ps_error(PS_ERR_NO_MEMORY, 0, "ps_pull_start: out of memory");
    p->base.consumer = c;
    p->h = h;
    p->batch = req->batch;
    natsInbox *inbox = NULL;
    natsStatus ns = natsInbox_Create(&inbox);
    if (ns == NATS_OK)
        ns = natsConnection_SubscribeSync(&p->sub, jb->nc, (const char *)inbox);
    /* JS 14.4: room for a whole batch of deliveries */
    if (ns == NATS_OK)
        ns = natsSubscription_SetPendingLimits(p->sub, 1 << 20, 1 << 30);
    char subject[64 + 2 * PS_NAME_MAX_BUF], body[160];
    snprintf(subject, sizeof subject, "$JS.API.CONSUMER.MSG.NEXT.%s.%s", h->stream, h->name);
    request_json(req, body, sizeof body);
    if (ns == NATS_OK)
        ns = natsConnection_PublishRequestString(jb->nc, subject, (const char *)inbox, body);
    natsInbox_Destroy(inbox);
    if (ns != NATS_OK) {
        free_pull(p);
        return jsb_fail(ns, 0, "ps_pull_start");
    }
    p->give_up_ms = req->expires_ns > 0 ? mono_ms() + req->expires_ns / PS_NS_PER_MS + JSB_PULL_GRACE_MS
                                        : INT64_MAX;
    *out = &p->base;
    return PS_OK;
}

static int64_t header_i64(natsMsg *m, const char *name)
{
    const char *v = NULL;
    if (natsMsgHeader_Get(m, name, &v) != NATS_OK || !v)
        return -1;
    return strtoll(v, NULL, 10);
}

/* A status line (JS App. B) comes without a reply subject; a delivery
 * always has its ack subject. True when m ended the request. */
static bool take_status(jsb_pull *p, natsMsg *m)
{
    const char *status = NULL;
    if (natsMsg_GetReply(m) != NULL || natsMsgHeader_Get(m, "Status", &status) != NATS_OK || !status)
        return false;
    int code = atoi(status);
    if (code == 100)
        return true; /* a heartbeat: consumed, ends nothing */
    const char *desc = "";
    natsMsgHeader_Get(m, "Description", &desc);
    ps_pull_end_set(&p->end, code, desc ? desc : "", header_i64(m, "Nats-Pending-Messages"),
                    header_i64(m, "Nats-Pending-Bytes"), PS_OK);
    return true;
}

ps_status jsb_pull_poll(ps_pull *pp, ps_msg_list *out, ps_pull_end *end)
{
    jsb_pull *p = (jsb_pull *)pp;
    jsb_drain_advisories(p->h->jb);
    ps_status s = PS_OK;
    uint64_t queued = 0;
    while (!p->end.done && natsSubscription_QueuedMsgs(p->sub, &queued) == NATS_OK && queued > 0) {
        natsMsg *m = NULL;
        natsStatus ns = natsSubscription_NextMsg(&m, p->sub, 1); /* queued: returns at once */
        if (ns == NATS_TIMEOUT)
            break;
        if (ns != NATS_OK)
            return jsb_fail(ns, 0, "ps_pull_poll");
        if (!take_status(p, m)) {
            s = jsb_push_delivery(p->h, m, out);
            if (s == PS_OK && ++p->got >= p->batch)
                ps_pull_end_set(&p->end, 0, "", -1, -1, PS_OK); /* a full batch: no status follows */
        }
        natsMsg_Destroy(m);
        if (s != PS_OK)
            return s;
    }
    if (!p->end.done && mono_ms() >= p->give_up_ms)
        ps_pull_end_set(&p->end, 0, "", -1, -1,
                        ps_error(PS_ERR_TIMEOUT, 0, "pull: no answer from the server before expiry"));
    *end = p->end;
    return PS_OK;
}

void jsb_pull_free(ps_pull *pp)
{
    free_pull((jsb_pull *)pp);
}
