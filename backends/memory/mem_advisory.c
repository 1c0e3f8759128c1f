/* mem_advisory.c — JetStream advisories (docs/MODEL.md, JS 11) as the memory
 * backend emits them: the subject, type and JSON body the server would
 * publish, handed to the callback registered on the backend.
 *
 * Nothing is built when no callback is registered. Ids come from the
 * backend's seeded generator, timestamps from its clock, so advisories are
 * deterministic on the manual clock.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mem_internal.h"

typedef struct adv_kind_info {
    const char *subject; /* after $JS.EVENT.ADVISORY. */
    const char *type;    /* after io.nats.jetstream.advisory.v1. */
    const char *action;  /* for *_action types */
} adv_kind_info;

static const adv_kind_info kinds[] = {
    [PS_ADV_MAX_DELIVERIES] = {"CONSUMER.MAX_DELIVERIES", "max_deliver", NULL},
    [PS_ADV_MSG_NAKED] = {"CONSUMER.MSG_NAKED", "nak", NULL},
    [PS_ADV_MSG_TERMINATED] = {"CONSUMER.MSG_TERMINATED", "terminated", NULL},
    [PS_ADV_CONSUMER_CREATED] = {"CONSUMER.CREATED", "consumer_action", "create"},
    [PS_ADV_CONSUMER_DELETED] = {"CONSUMER.DELETED", "consumer_action", "delete"},
    [PS_ADV_STREAM_CREATED] = {"STREAM.CREATED", "stream_action", "create"},
    [PS_ADV_STREAM_UPDATED] = {"STREAM.UPDATED", "stream_action", "modify"},
    [PS_ADV_STREAM_DELETED] = {"STREAM.DELETED", "stream_action", "delete"},
};

static void rfc3339(int64_t ns, char *buf, size_t n)
{
    time_t secs = (time_t)(ns / PS_NS_PER_SEC);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + k, n - k, ".%09" PRId64 "Z", ns % PS_NS_PER_SEC);
}

static void make_id(mem_backend *mb, char id[23])
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (int i = 0; i < 22; i++)
        id[i] = a[ps_rand_below(&mb->adv_rng, sizeof a - 1)];
    id[22] = '\0';
}

static void emit(mem_backend *mb, ps_advisory *adv, const char *extra)
{
    const adv_kind_info *k = &kinds[adv->kind];
    char subject[64 + 2 * PS_NAME_MAX_BUF];
    char type[96], id[23], ts[48];
    char json[1024 + 2 * PS_NAME_MAX_BUF];
    adv->timestamp_ns = mem_now(mb);
    if (adv->consumer)
        snprintf(subject, sizeof subject, "$JS.EVENT.ADVISORY.%s.%s.%s", k->subject, adv->stream,
                 adv->consumer);
    else
        snprintf(subject, sizeof subject, "$JS.EVENT.ADVISORY.%s.%s", k->subject, adv->stream);
    snprintf(type, sizeof type, "io.nats.jetstream.advisory.v1.%s", k->type);
    make_id(mb, id);
    rfc3339(adv->timestamp_ns, ts, sizeof ts);
    snprintf(json, sizeof json, "{\"type\":\"%s\",\"id\":\"%s\",\"timestamp\":\"%s\",\"stream\":\"%s\"%s",
             type, id, ts, adv->stream, extra);
    adv->subject = subject;
    adv->type = type;
    adv->json = json;
    ps_backend_emit_advisory(&mb->base, adv);
}

void mem_adv_consumer(mem_backend *mb, ps_advisory_kind kind, const mem_consumer *c,
                      uint64_t sseq, uint64_t dseq, uint64_t deliveries)
{
    if (!mb->base.advisory_fn)
        return;
    ps_advisory adv = {.kind = kind, .stream = c->st->name, .consumer = c->name,
                       .stream_seq = sseq, .consumer_seq = dseq, .deliveries = deliveries};
    char extra[128 + PS_NAME_MAX_BUF];
    if (kind == PS_ADV_MAX_DELIVERIES)
        snprintf(extra, sizeof extra, ",\"consumer\":\"%s\",\"stream_seq\":%" PRIu64 ",\"deliveries\":%" PRIu64 "}",
                 c->name, sseq, deliveries);
    else
        snprintf(extra, sizeof extra,
                 ",\"consumer\":\"%s\",\"consumer_seq\":%" PRIu64 ",\"stream_seq\":%" PRIu64 ",\"deliveries\":%" PRIu64 "}",
                 c->name, dseq, sseq, deliveries);
    emit(mb, &adv, extra);
}

void mem_adv_consumer_action(mem_backend *mb, ps_advisory_kind kind, const char *stream,
                             const char *consumer)
{
    if (!mb->base.advisory_fn)
        return;
    ps_advisory adv = {.kind = kind, .stream = stream, .consumer = consumer};
    char extra[64 + PS_NAME_MAX_BUF];
    snprintf(extra, sizeof extra, ",\"consumer\":\"%s\",\"action\":\"%s\"}", consumer,
             kinds[kind].action);
    emit(mb, &adv, extra);
}

void mem_adv_stream_action(mem_backend *mb, ps_advisory_kind kind, const char *stream)
{
    if (!mb->base.advisory_fn)
        return;
    ps_advisory adv = {.kind = kind, .stream = stream};
    char extra[64];
    snprintf(extra, sizeof extra, ",\"action\":\"%s\"}", kinds[kind].action);
    emit(mb, &adv, extra);
}
