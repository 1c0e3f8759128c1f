/* jsb_consumer.c — pull consumers over cnats (JS 5-9): administration,
 * fetch and acknowledgements.
 *
 * Fetch sends its own pull requests ($JS.API.CONSUMER.MSG.NEXT) to a
 * per-handle inbox rather than going through natsSubscription_Fetch, so
 * that the contract's semantics hold exactly: expires 0 means "what is
 * there now" (a no_wait request, never cnats's NoWait-without-Expires
 * quirk of JS 14.1), each request's statuses are told apart from an
 * earlier request's late ones (reply inbox.<n>), and 409 texts map to
 * their own statuses. Acks are requests (AckSync): they return once the
 * server has processed them.
 *
 * Not here: streams (jsb_stream.c), publishing (jsb_publish.c).
 */
#include "jsb_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps_clock.h"

/* The expiry of an expires-0 fetch that did not ask for no_wait. */
#define JSB_NOW_EXPIRES_NS (50 * PS_NS_PER_MS)

/* ---- config mapping ------------------------------------------------------------- */

/* A refused consumer create on a nats-server 2.9.10 cluster is now and
 * then answered with {"type":"...consumer_delete_response","success":true}
 * instead of its error. The refused consumer's assignment is removed
 * through the meta group, and when that removal is applied it answers the
 * reply subject of the assignment it finds under the name: if a new
 * create of the same stream and name came in meanwhile (a retry, the next
 * test), the new create gets the old removal's answer. cnats takes that
 * for a successful create with no name and no config. (Seen through the
 * library in 4-6 of 60 back-to-back refused creates of one name on a
 * 3-node cluster; never on one server.)
 *
 * So a reply that is not a create response is not believed: the backend
 * waits until the name has settled (gone from the stream's consumer list,
 * or there and answering its info: then the create worked) and, if it is
 * gone, asks again after 200 ms, doubling (6.2 s over 6 attempts): an
 * immediate retry only meets the removals still in flight. */
#define CREATE_ATTEMPTS 6
#define CREATE_RESPONSE_TYPE "io.nats.jetstream.api.v1.consumer_create_response"
#define SETTLE_MS 10000

static ps_status new_handle(jsb_backend *jb, const char *stream, const char *name, ps_consumer **out);

static void pause_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Whether `name` is in the stream's consumer list: 1 yes, 0 no, -1 the
 * list could not be had. */
static int listed(jsb_backend *jb, const char *stream, const char *name)
{
    jsConsumerNamesList *l = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_ConsumerNames(&l, jb->js, stream, NULL, &jerr);
    if (ns == NATS_NOT_FOUND)
        return 0;
    if (ns != NATS_OK)
        return -1;
    int found = 0;
    for (int i = 0; i < l->Count && !found; i++)
        found = strcmp(l->List[i], name) == 0;
    jsConsumerNamesList_Destroy(l);
    return found;
}

/* After a reply that was not a create response: waits until consumer
 * `name` is gone from the stream (*exists false: ask again) or there and
 * answering (*exists true: the create worked, its answer was lost). */
static ps_status settle(jsb_backend *jb, const char *stream, const char *name, bool *exists)
{
    for (int waited = 0; waited <= SETTLE_MS; waited += 100) {
        int in = listed(jb, stream, name);
        if (in == 0) {
            *exists = false;
            return PS_OK;
        }
        if (in == 1) {
            jsConsumerInfo *ci = NULL;
            jsErrCode jerr = 0;
            natsStatus ns = js_GetConsumerInfo(&ci, jb->js, stream, name, NULL, &jerr);
            bool ok = ns == NATS_OK && ci && ci->Config;
            jsConsumerInfo_Destroy(ci);
            if (ok) {
                *exists = true;
                return PS_OK;
            }
        }
        pause_ms(100);
    }
    return ps_error(PS_ERR_TIMEOUT, 0, "consumer add: the server answered the create of %s with something other "
                    "than a create response, and the consumer neither appeared nor went away within %d s",
                    name, SETTLE_MS / 1000);
}

/* A reply to a create that was not a create response (`what` names it):
 * PS_OK with *retry set, or with *out set when the consumer exists after
 * all, or an error after the last attempt. */
static ps_status unbelieved(jsb_backend *jb, const char *stream, const char *name, int attempt, const char *what,
                            bool *retry, ps_consumer **out)
{
    *retry = false;
    if (attempt == CREATE_ATTEMPTS)
        return ps_error(PS_ERR_INTERNAL, 0, "consumer add: %d replies in a row were not a consumer create "
                        "response (the last: %s)", CREATE_ATTEMPTS, what);
    if (!name) { /* an ephemeral: nothing to look up; ask again */
        pause_ms(INT64_C(200) << (attempt - 1));
        *retry = true;
        return PS_OK;
    }
    bool exists = false;
    ps_status s = settle(jb, stream, name, &exists);
    if (s)
        return s;
    if (exists)
        return new_handle(jb, stream, name, out);
    pause_ms(INT64_C(200) << (attempt - 1)); /* 200 ms, doubling: the removals in flight land first */
    *retry = true;
    return PS_OK;
}

static void to_js_config(const ps_consumer_config *c, jsConsumerConfig *j)
{
    jsConsumerConfig_Init(j);
    j->Durable = c->durable;
    j->FilterSubject = c->filter_subject;
    j->DeliverPolicy = (jsDeliverPolicy)c->deliver_policy;
    j->OptStartSeq = c->opt_start_seq;
    j->OptStartTime = c->opt_start_time_ns;
    j->AckPolicy = (jsAckPolicy)c->ack_policy;
    j->ReplayPolicy = (jsReplayPolicy)c->replay_policy;
    j->AckWait = c->ack_wait_ns;
    j->MaxDeliver = c->max_deliver;
    j->BackOff = (int64_t *)c->backoff_ns;
    j->BackOffLen = c->backoff_len;
    j->MaxAckPending = c->max_ack_pending;
    j->MaxWaiting = c->max_waiting;
    j->MaxRequestBatch = c->max_request_batch;
    j->MaxRequestExpires = c->max_request_expires_ns;
    j->MaxRequestMaxBytes = c->max_request_max_bytes;
    j->InactiveThreshold = c->inactive_threshold_ns;
    j->HeadersOnly = c->headers_only;
    j->MemoryStorage = c->memory_storage;
    j->Replicas = c->replicas;
}

static ps_status fill_info(const jsConsumerInfo *ci, ps_consumer_info *out)
{
    const jsConsumerConfig *j = ci ? ci->Config : NULL;
    if (!j || (j->BackOffLen > 0 && !j->BackOff))
        return ps_error(PS_ERR_INTERNAL, 0, "consumer info: the server's reply has no configuration");
    size_t nb = (size_t)j->BackOffLen * sizeof(int64_t);
    size_t ld = j->Durable ? strlen(j->Durable) + 1 : 0;
    size_t lf = j->FilterSubject && *j->FilterSubject ? strlen(j->FilterSubject) + 1 : 0;
    char *block = malloc(nb + ld + lf + 1);
    if (!block)
        return ps_error(PS_ERR_NO_MEMORY, 0, "consumer info: out of memory");
    memset(out, 0, sizeof *out);
    ps_consumer_config *c = &out->config;
    if (nb) {
        memcpy(block, j->BackOff, nb);
        c->backoff_ns = (const int64_t *)(void *)block;
        c->backoff_len = j->BackOffLen;
    }
    char *p = block + nb;
    if (ld) {
        memcpy(p, j->Durable, ld);
        c->durable = p;
        p += ld;
    }
    if (lf) {
        memcpy(p, j->FilterSubject, lf);
        c->filter_subject = p;
    }
    c->deliver_policy = (ps_deliver_policy)j->DeliverPolicy;
    c->opt_start_seq = j->OptStartSeq;
    c->opt_start_time_ns = j->OptStartTime;
    c->ack_policy = (ps_ack_policy)j->AckPolicy;
    c->replay_policy = (ps_replay_policy)j->ReplayPolicy;
    c->ack_wait_ns = j->AckWait;
    c->max_deliver = j->MaxDeliver;
    c->max_ack_pending = j->MaxAckPending;
    c->max_waiting = j->MaxWaiting;
    c->max_request_batch = j->MaxRequestBatch;
    c->max_request_expires_ns = j->MaxRequestExpires;
    c->max_request_max_bytes = j->MaxRequestMaxBytes;
    c->inactive_threshold_ns = j->InactiveThreshold;
    c->headers_only = j->HeadersOnly;
    c->memory_storage = j->MemoryStorage;
    c->replicas = (int32_t)j->Replicas;
    out->owned_ = block;
    snprintf(out->stream, sizeof out->stream, "%s", ci->Stream ? ci->Stream : "");
    snprintf(out->name, sizeof out->name, "%s", ci->Name ? ci->Name : "");
    out->created_ns = ci->Created;
    out->delivered = (ps_seq_pair){ci->Delivered.Consumer, ci->Delivered.Stream};
    out->ack_floor = (ps_seq_pair){ci->AckFloor.Consumer, ci->AckFloor.Stream};
    out->num_ack_pending = ci->NumAckPending > 0 ? (uint64_t)ci->NumAckPending : 0;
    out->num_redelivered = ci->NumRedelivered > 0 ? (uint64_t)ci->NumRedelivered : 0;
    out->num_waiting = ci->NumWaiting > 0 ? (uint64_t)ci->NumWaiting : 0;
    out->num_pending = ci->NumPending;
    return PS_OK;
}

/* ---- handles ----------------------------------------------------------------------- */

static ps_status new_handle(jsb_backend *jb, const char *stream, const char *name, ps_consumer **out)
{
    jsb_consumer *h = calloc(1, sizeof *h);
    natsInbox *inbox = NULL;
    if (!h)
        return ps_error(PS_ERR_NO_MEMORY, 0, "consumer handle: out of memory");
    h->jb = jb;
    h->stream = strdup(stream);
    h->name = strdup(name);
    natsStatus ns = natsInbox_Create(&inbox);
    if (ns == NATS_OK)
        h->inbox = strdup((const char *)inbox);
    natsInbox_Destroy(inbox);
    if (ns != NATS_OK || !h->stream || !h->name || !h->inbox) {
        jsb_consumer_free(&h->base);
        return ns != NATS_OK ? jsb_fail(ns, 0, "consumer inbox")
                             : ps_error(PS_ERR_NO_MEMORY, 0, "consumer handle: out of memory");
    }
    char wild[128];
    snprintf(wild, sizeof wild, "%s.*", h->inbox);
    ns = natsConnection_SubscribeSync(&h->sub, jb->nc, wild);
    /* JS 14.4: room for at least a full MaxAckPending of deliveries */
    if (ns == NATS_OK)
        ns = natsSubscription_SetPendingLimits(h->sub, 1 << 20, 1 << 30);
    if (ns != NATS_OK) {
        jsb_consumer_free(&h->base);
        return jsb_fail(ns, 0, "consumer subscription");
    }
    h->base.backend = &jb->base;
    h->base.stream = h->stream;
    h->base.name = h->name;
    *out = &h->base;
    return PS_OK;
}

void jsb_consumer_free(ps_consumer *c)
{
    jsb_consumer *h = (jsb_consumer *)c;
    if (!h)
        return;
    if (h->sub)
        natsSubscription_Unsubscribe(h->sub);
    natsSubscription_Destroy(h->sub);
    free(h->stream);
    free(h->name);
    free(h->inbox);
    free(h);
}

/* ---- consumers by start time, without cnats's time formatting ---------------- */

/* cnats 3.4.1 writes OptStartTime's fraction of a second without its
 * leading zeros (.016373067 goes out as .16373067), so a start time in the
 * first 100 ms of a second reaches the server up to 0.9 s late and the
 * consumer starts past the messages it should deliver (seen on 2.9.10 with
 * a start time taken from a stored message). Such consumers are created
 * with a request of our own. */
static const char *const deliver_names[] = {"all", "last", "new", "by_start_sequence",
                                            "by_start_time", "last_per_subject"};
static const char *const ack_names[] = {"explicit", "none", "all"};

typedef struct jbuf {
    char *p;
    size_t n, cap;
    bool overflow;
} jbuf;

static void jput(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jput(jbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= b->cap - b->n)
        b->overflow = true;
    else
        b->n += (size_t)w;
}

/* ,"key":"value" with '"' and '\\' escaped (a subject may hold them). */
static void jput_str(jbuf *b, const char *key, const char *v)
{
    jput(b, ",\"%s\":\"", key);
    for (; *v && !b->overflow; v++) {
        if (*v == '"' || *v == '\\')
            jput(b, "\\");
        jput(b, "%c", *v);
    }
    jput(b, "\"");
}

static void jput_i64(jbuf *b, const char *key, int64_t v)
{
    if (v > 0)
        jput(b, ",\"%s\":%" PRId64, key, v);
}

static ps_status add_by_start_time(jsb_backend *jb, const char *stream, const ps_consumer_config *c,
                                   ps_consumer **out)
{
    char body[2048], subject[64 + 2 * PS_NAME_MAX_BUF], when[64];
    jbuf b = {body, 0, sizeof body, false};
    time_t secs = (time_t)(c->opt_start_time_ns / PS_NS_PER_SEC);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t wn = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + wn, sizeof when - wn, ".%09" PRId64 "Z", c->opt_start_time_ns % PS_NS_PER_SEC);
    jput(&b, "{\"stream_name\":\"%s\",\"config\":{\"deliver_policy\":\"%s\"", stream,
         deliver_names[c->deliver_policy]);
    if (c->opt_start_time_ns > 0) /* as cnats: unset is left out, for the server to refuse */
        jput(&b, ",\"opt_start_time\":\"%s\"", when);
    if (c->opt_start_seq > 0)
        jput(&b, ",\"opt_start_seq\":%" PRIu64, c->opt_start_seq);
    jput(&b, ",\"ack_policy\":\"%s\",\"replay_policy\":\"%s\"", ack_names[c->ack_policy],
         c->replay_policy == PS_REPLAY_ORIGINAL ? "original" : "instant");
    if (c->durable)
        jput_str(&b, "durable_name", c->durable);
    if (c->filter_subject)
        jput_str(&b, "filter_subject", c->filter_subject);
    jput_i64(&b, "ack_wait", c->ack_wait_ns);
    jput_i64(&b, "max_deliver", c->max_deliver);
    jput_i64(&b, "max_ack_pending", c->max_ack_pending);
    jput_i64(&b, "max_waiting", c->max_waiting);
    jput_i64(&b, "max_batch", c->max_request_batch);
    jput_i64(&b, "max_expires", c->max_request_expires_ns);
    jput_i64(&b, "max_bytes", c->max_request_max_bytes);
    jput_i64(&b, "inactive_threshold", c->inactive_threshold_ns);
    jput_i64(&b, "num_replicas", c->replicas);
    if (c->headers_only)
        jput(&b, ",\"headers_only\":true");
    if (c->memory_storage)
        jput(&b, ",\"mem_storage\":true");
    if (c->backoff_len > 0) {
        jput(&b, ",\"backoff\":[");
        for (int i = 0; i < c->backoff_len; i++)
            jput(&b, "%s%" PRId64, i ? "," : "", c->backoff_ns[i]);
        jput(&b, "]");
    }
    jput(&b, "}}");
    if (b.overflow)
        return ps_error(PS_ERR_INVALID_ARG, 0, "consumer add: configuration too large");
    if (c->durable)
        snprintf(subject, sizeof subject, "$JS.API.CONSUMER.DURABLE.CREATE.%s.%s", stream, c->durable);
    else
        snprintf(subject, sizeof subject, "$JS.API.CONSUMER.CREATE.%s", stream);
    for (int attempt = 1;; attempt++) {
        natsMsg *r = NULL;
        ps_status s = jsb_api(jb, subject, body, &r, "consumer add");
        if (s != PS_OK)
            return s;
        char name[PS_NAME_MAX_BUF] = "", type[128] = "";
        const char *data = natsMsg_GetData(r);
        size_t len = (size_t)natsMsg_GetDataLength(r);
        jsb_json_str(data, len, "type", type, sizeof type);
        jsb_json_str(data, len, "name", name, sizeof name);
        natsMsg_Destroy(r);
        if (*name && !strcmp(type, CREATE_RESPONSE_TYPE))
            return new_handle(jb, stream, name, out);
        bool retry = false;
        s = unbelieved(jb, stream, c->durable, attempt, *type ? type : "no type", &retry, out);
        if (s != PS_OK || !retry)
            return s;
    }
}

ps_status jsb_consumer_add(ps_backend *b, const char *stream, const ps_consumer_config *cfg, ps_consumer **out)
{
    jsb_backend *jb = (jsb_backend *)b;
    ps_status bs = jsb_check_backslash(cfg->durable, true);
    if (bs == PS_OK)
        bs = jsb_check_json_safe("stream name", stream);
    if (bs == PS_OK)
        bs = jsb_check_json_safe("durable name", cfg->durable);
    if (bs == PS_OK)
        bs = jsb_check_json_safe("filter subject", cfg->filter_subject);
    if (bs != PS_OK)
        return bs;
    if (cfg->deliver_policy == PS_DELIVER_BY_START_TIME)
        return add_by_start_time(jb, stream, cfg, out);
    jsConsumerConfig j;
    to_js_config(cfg, &j);
    for (int attempt = 1;; attempt++) {
        jsConsumerInfo *ci = NULL;
        jsErrCode jerr = 0;
        natsStatus ns = js_AddConsumer(&ci, jb->js, stream, &j, NULL, &jerr);
        if (ns != NATS_OK)
            return jsb_fail_nf(ns, jerr, 10059, "consumer add");
        /* cnats reads any reply without an error as the consumer's info; a
         * create response always names the consumer and its config */
        if (ci && ci->Name && *ci->Name && ci->Config) {
            ps_status s = new_handle(jb, stream, ci->Name, out);
            jsConsumerInfo_Destroy(ci);
            return s;
        }
        jsConsumerInfo_Destroy(ci);
        bool retry = false;
        ps_status s = unbelieved(jb, stream, cfg->durable, attempt, "a reply without the consumer's name or config",
                                 &retry, out);
        if (s != PS_OK || !retry)
            return s;
    }
}

ps_status jsb_consumer_bind(ps_backend *b, const char *stream, const char *name, ps_consumer **out)
{
    jsb_backend *jb = (jsb_backend *)b;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetConsumerInfo(&ci, jb->js, stream, name, NULL, &jerr);
    if (ns != NATS_OK)
        return jsb_fail_nf(ns, jerr, 10014, "consumer bind");
    jsConsumerInfo_Destroy(ci);
    return new_handle(jb, stream, name, out);
}

ps_status jsb_consumer_info(ps_consumer *c, ps_consumer_info *out)
{
    jsb_consumer *h = (jsb_consumer *)c;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetConsumerInfo(&ci, h->jb->js, h->stream, h->name, NULL, &jerr);
    if (ns != NATS_OK)
        return jsb_fail_nf(ns, jerr, 10014, "consumer info");
    ps_status s = fill_info(ci, out);
    jsConsumerInfo_Destroy(ci);
    return s;
}

ps_status jsb_consumer_delete(ps_backend *b, const char *stream, const char *name)
{
    jsb_backend *jb = (jsb_backend *)b;
    jsErrCode jerr = 0;
    natsStatus ns = js_DeleteConsumer(jb->js, stream, name, NULL, &jerr);
    return ns == NATS_OK ? PS_OK : jsb_fail_nf(ns, jerr, 10014, "consumer delete");
}

/* ---- fetch (JS 8, 14.1) -------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The status a pull status line stands for (JS App. B). */
static ps_status pull_status(int code, const char *desc)
{
    if (code == 404)
        return ps_error(PS_ERR_NO_MESSAGES, 0, "%s", desc);
    if (code == 408)
        return ps_error(PS_ERR_TIMEOUT, 0, "%s", desc);
    if (strstr(desc, "Consumer Deleted"))
        return ps_error(PS_ERR_CONSUMER_DELETED, 0, "%s", desc);
    if (strstr(desc, "Exceeded MaxWaiting"))
        return ps_error(PS_ERR_MAX_WAITING, 0, "%s", desc);
    if (strstr(desc, "Message Size Exceeds MaxBytes"))
        return ps_error(PS_ERR_MAX_BYTES, 0, "%s", desc);
    return ps_error(PS_ERR_PULL_REJECTED, 0, "%s", desc);
}

/* Appends a delivered message to `out`, its metadata parsed from the ack
 * subject (JS 6.10). */
ps_status jsb_push_delivery(jsb_consumer *h, natsMsg *m, ps_msg_list *out)
{
    const char *reply = natsMsg_GetReply(m);
    char small[512], *scratch = small;
    size_t need = reply ? strlen(reply) + 1 : 0;
    if (need > sizeof small && !(scratch = malloc(need)))
        return ps_error(PS_ERR_NO_MEMORY, 0, "fetch: out of memory");
    ps_msg_meta meta;
    bool ok = reply && ps_ack_subject_parse(reply, &meta, scratch, need > sizeof small ? need : sizeof small) == PS_OK;
    if (scratch != small)
        free(scratch); /* meta's names are replaced by the handle's below */
    if (!ok)
        return ps_error(PS_ERR_INTERNAL, 0, "fetch: a delivery without an ack subject (%s)",
                        reply ? reply : "none");
    char *hdr = NULL;
    size_t hdr_len = 0;
    ps_status s = jsb_headers_encode(m, &hdr, &hdr_len);
    if (s != PS_OK)
        return s;
    const char *subj = natsMsg_GetSubject(m);
    ps_msg *pm = ps_msg_list_push(out, subj, strlen(subj), hdr, hdr_len, natsMsg_GetData(m),
                                  (size_t)natsMsg_GetDataLength(m));
    free(hdr);
    if (!pm)
        return ps_error(PS_ERR_NO_MEMORY, 0, "fetch: out of memory");
    meta.stream = h->stream;
    meta.consumer = h->name;
    pm->meta = meta;
    pm->consumer_ = &h->base;
    /* Acks go to the server's own reply subject, not one rebuilt from the
     * metadata: with a domain or an account hash (the 12-token form) the
     * rebuilt one would reach no one. */
    free(pm->reply_);
    pm->reply_ = strdup(reply);
    if (!pm->reply_)
        return ps_error(PS_ERR_NO_MEMORY, 0, "fetch: out of memory");
    return PS_OK;
}

ps_status jsb_fetch(ps_consumer *c, const ps_fetch_request *req, ps_msg_list *out)
{
    jsb_consumer *h = (jsb_consumer *)c;
    jsb_backend *jb = h->jb;
    ps_msg_list_clear(out);
    jsb_drain_advisories(jb);
    /* expires 0 ("what is there now"): a no_wait request. Asked for as
     * no_wait, it goes as asked (the server answers 404 at once when there
     * is nothing, but keeps it waiting while MaxAckPending stalls the
     * consumer, JS 8.4: the client gives up at the request timeout).
     * Otherwise it carries a short expiry, so that a stalled consumer
     * answers 408 and the request does not linger on the server. */
    bool one_shot = req->no_wait || req->expires_ns == 0;
    bool send_expires = req->expires_ns > 0 || !req->no_wait;
    int64_t expires_ns = req->expires_ns ? req->expires_ns
                       : req->no_wait    ? jb->timeout_ms * PS_NS_PER_MS
                                         : JSB_NOW_EXPIRES_NS;
    char subject[64 + 2 * PS_NAME_MAX_BUF], reply[160], body[160];
    snprintf(subject, sizeof subject, "$JS.API.CONSUMER.MSG.NEXT.%s.%s", h->stream, h->name);
    snprintf(reply, sizeof reply, "%s.%" PRIu64, h->inbox, ++h->request_no);
    int n = snprintf(body, sizeof body, "{\"batch\":%d", req->batch);
    if (send_expires)
        n += snprintf(body + n, sizeof body - (size_t)n, ",\"expires\":%" PRId64, expires_ns);
    if (req->max_bytes > 0)
        n += snprintf(body + n, sizeof body - (size_t)n, ",\"max_bytes\":%" PRId64, req->max_bytes);
    snprintf(body + n, sizeof body - (size_t)n, "%s}", one_shot ? ",\"no_wait\":true" : "");
    natsStatus ns = natsConnection_PublishRequestString(jb->nc, subject, reply, body);
    if (ns != NATS_OK)
        return jsb_fail(ns, 0, "fetch");
    /* The server answers by expiry; allow it a little longer before giving up. */
    int64_t deadline = mono_ms() + expires_ns / PS_NS_PER_MS + 250;
    ps_status s = PS_OK, end = PS_OK;
    while (out->count < req->batch) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            end = ps_error(PS_ERR_TIMEOUT, 0, "fetch: no answer from the server before expiry");
            break;
        }
        natsMsg *m = NULL;
        ns = natsSubscription_NextMsg(&m, h->sub, left);
        if (ns == NATS_TIMEOUT)
            continue;
        if (ns != NATS_OK) {
            end = jsb_fail(ns, 0, "fetch");
            break;
        }
        const char *status = NULL;
        /* A status line (JS App. B) comes without a reply subject; a
         * delivery always has its ack subject, whatever headers it carries. */
        if (natsMsg_GetReply(m) == NULL && natsMsg_GetDataLength(m) == 0 &&
            natsMsgHeader_Get(m, "Status", &status) == NATS_OK) {
            bool current = strcmp(natsMsg_GetSubject(m), reply) == 0;
            int code = atoi(status);
            const char *desc = "";
            natsMsgHeader_Get(m, "Description", &desc);
            if (current && code != 100)
                end = pull_status(code, desc ? desc : "");
            natsMsg_Destroy(m);
            if (current && code != 100)
                break;
            continue; /* heartbeats, and a late status of an earlier request */
        }
        /* A delivery, possibly answering an earlier request: it is ours to ack. */
        s = jsb_push_delivery(h, m, out);
        natsMsg_Destroy(m);
        if (s != PS_OK)
            break;
    }
    if (s != PS_OK) {
        ps_msg_list_clear(out);
        return s;
    }
    if (out->count > 0)
        return PS_OK; /* JS 14.1: a terminating status after messages is swallowed */
    if (end == PS_OK)
        return PS_OK;
    /* No messages: a one-shot the caller did not ask for as no_wait reports
     * an empty answer as the timeout a memory backend gives. */
    if (end == PS_ERR_NO_MESSAGES && !req->no_wait)
        return ps_error(PS_ERR_TIMEOUT, 0, "no messages available");
    return end;
}

/* ---- acks (JS 7, 14.2) ---------------------------------------------------------------------- */

ps_status jsb_ack(ps_msg *m, ps_ack_kind kind, int64_t nak_delay_ns)
{
    jsb_consumer *h = (jsb_consumer *)m->consumer_;
    const char *reply = ps_msg_reply(m);
    if (!reply)
        return ps_error(PS_ERR_NO_MEMORY, 0, "ack: out of memory");
    char body[64];
    switch (kind) {
    case PS_ACK: strcpy(body, "+ACK"); break;
    case PS_IN_PROGRESS: strcpy(body, "+WPI"); break;
    case PS_TERM: strcpy(body, "+TERM"); break;
    case PS_NAK:
        if (nak_delay_ns > 0)
            snprintf(body, sizeof body, "-NAK {\"delay\":%" PRId64 "}", nak_delay_ns);
        else
            strcpy(body, "-NAK");
        break;
    }
    natsMsg *r = NULL;
    natsStatus ns = natsConnection_RequestString(&r, h->jb->nc, reply, body, h->jb->timeout_ms);
    natsMsg_Destroy(r);
    return ns == NATS_OK ? PS_OK : jsb_fail(ns, 0, "ack");
}
