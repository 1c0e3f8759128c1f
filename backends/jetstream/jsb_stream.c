/* jsb_stream.c — stream administration and stored messages over cnats
 * (JS 2, 10): add, update, info, delete, purge, get and delete a message.
 * The contract's zero-means-default config maps onto jsStreamConfig field
 * for field (both leave zero to the server); infos copy the server's
 * normalised config back.
 *
 * Not here: publishing (jsb_publish.c) or consumers (jsb_consumer.c).
 */
#include "jsb_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void to_js_config(const ps_stream_config *c, jsStreamConfig *j)
{
    jsStreamConfig_Init(j);
    j->Name = c->name;
    j->Subjects = (const char **)c->subjects;
    j->SubjectsLen = c->subjects_len;
    j->Retention = (jsRetentionPolicy)c->retention;
    j->Storage = (jsStorageType)c->storage;
    j->Discard = (jsDiscardPolicy)c->discard;
    j->DiscardNewPerSubject = c->discard_new_per_subject;
    j->MaxMsgs = c->max_msgs ? c->max_msgs : -1;
    j->MaxBytes = c->max_bytes ? c->max_bytes : -1;
    j->MaxAge = c->max_age_ns;
    j->MaxMsgsPerSubject = c->max_msgs_per_subject ? c->max_msgs_per_subject : -1;
    j->MaxMsgSize = c->max_msg_size ? c->max_msg_size : -1;
    j->MaxConsumers = c->max_consumers ? c->max_consumers : -1;
    j->Duplicates = c->duplicates_ns;
    j->Replicas = c->replicas;
    j->NoAck = c->no_ack;
    j->Sealed = c->sealed;
    j->DenyDelete = c->deny_delete;
    j->DenyPurge = c->deny_purge;
    j->AllowRollup = c->allow_rollup;
    j->Description = c->description && *c->description ? c->description : NULL;
}

/* Copies the server's view into `out`; name, subjects and description live in one block
 * owned by the info (freed by ps_stream_info_clear). */
static ps_status fill_info(const jsStreamInfo *si, ps_stream_info *out)
{
    const jsStreamConfig *j = si ? si->Config : NULL;
    if (!j || !j->Name)
        return ps_error(PS_ERR_INTERNAL, 0, "stream info: the server's reply has no configuration");
    for (int i = 0; i < j->SubjectsLen; i++)
        if (!j->Subjects || !j->Subjects[i])
            return ps_error(PS_ERR_INTERNAL, 0, "stream info: the server's reply has a missing subject");
    int nsub = j->SubjectsLen;
    const char *desc = j->Description ? j->Description : "";
    size_t need = (size_t)nsub * sizeof(char *) + strlen(j->Name) + 1 + strlen(desc) + 1;
    for (int i = 0; i < nsub; i++)
        need += strlen(j->Subjects[i]) + 1;
    char *block = malloc(need);
    if (!block)
        return ps_error(PS_ERR_NO_MEMORY, 0, "stream info: out of memory");
    const char **arr = (const char **)(void *)block;
    char *p = block + (size_t)nsub * sizeof(char *);
    for (int i = 0; i < nsub; i++) {
        size_t n = strlen(j->Subjects[i]) + 1;
        memcpy(p, j->Subjects[i], n);
        arr[i] = p;
        p += n;
    }
    strcpy(p, j->Name);
    char *d = p + strlen(p) + 1;
    strcpy(d, desc);
    memset(out, 0, sizeof *out);
    ps_stream_config *c = &out->config;
    c->name = p;
    c->description = *d ? d : NULL;
    c->subjects = nsub ? arr : NULL;
    c->subjects_len = nsub;
    c->retention = (ps_retention)j->Retention;
    c->storage = (ps_storage)j->Storage;
    c->discard = (ps_discard)j->Discard;
    c->discard_new_per_subject = j->DiscardNewPerSubject;
    c->max_msgs = j->MaxMsgs;
    c->max_bytes = j->MaxBytes;
    c->max_age_ns = j->MaxAge;
    c->max_msgs_per_subject = j->MaxMsgsPerSubject;
    c->max_msg_size = j->MaxMsgSize;
    c->max_consumers = (int32_t)j->MaxConsumers;
    c->duplicates_ns = j->Duplicates;
    c->replicas = (int32_t)j->Replicas;
    c->no_ack = j->NoAck;
    c->sealed = j->Sealed;
    c->deny_delete = j->DenyDelete;
    c->deny_purge = j->DenyPurge;
    c->allow_rollup = j->AllowRollup;
    out->owned_ = block;
    out->created_ns = si->Created;
    const jsStreamState *st = &si->State;
    ps_stream_state *s = &out->state;
    s->msgs = st->Msgs;
    s->bytes = st->Bytes;
    s->first_seq = st->FirstSeq;
    s->last_seq = st->LastSeq;
    /* An empty stream reports the zero time ("0001-01-01"); the contract says 0. */
    s->first_ts_ns = st->Msgs ? st->FirstTime : 0;
    s->last_ts_ns = st->LastSeq ? st->LastTime : 0;
    if (s->last_ts_ns < 0)
        s->last_ts_ns = 0;
    s->num_deleted = st->NumDeleted;
    s->num_subjects = st->NumSubjects > 0 ? (uint64_t)st->NumSubjects : 0;
    s->consumers = (int)st->Consumers;
    return PS_OK;
}

typedef natsStatus (*stream_call)(jsStreamInfo **, jsCtx *, jsStreamConfig *, jsOptions *, jsErrCode *);

static ps_status add_or_update(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out,
                               stream_call call, const char *what)
{
    jsb_backend *jb = (jsb_backend *)b;
    ps_status bs = jsb_check_backslash(cfg->name, false);
    if (bs == PS_OK)
        bs = jsb_check_json_safe("stream name", cfg->name);
    for (int i = 0; bs == PS_OK && i < cfg->subjects_len; i++)
        bs = jsb_check_json_safe("subject", cfg->subjects[i]);
    if (bs == PS_OK && cfg->description)
        bs = jsb_check_json_safe("description", cfg->description);
    if (bs != PS_OK)
        return bs;
    jsStreamConfig j;
    to_js_config(cfg, &j);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = call(&si, jb->js, &j, NULL, &jerr);
    if (ns != NATS_OK)
        return jsb_fail_nf(ns, jerr, 10059, what);
    ps_status s = out ? fill_info(si, out) : PS_OK;
    jsStreamInfo_Destroy(si);
    return s;
}

ps_status jsb_stream_add(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out)
{
    return add_or_update(b, cfg, out, js_AddStream, "stream add");
}

ps_status jsb_stream_update(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out)
{
    return add_or_update(b, cfg, out, js_UpdateStream, "stream update");
}

ps_status jsb_stream_info(ps_backend *b, const char *stream, ps_stream_info *out)
{
    jsb_backend *jb = (jsb_backend *)b;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetStreamInfo(&si, jb->js, stream, NULL, &jerr);
    if (ns != NATS_OK)
        return jsb_fail_nf(ns, jerr, 10059, "stream info");
    ps_status s = fill_info(si, out);
    jsStreamInfo_Destroy(si);
    return s;
}

ps_status jsb_stream_delete(ps_backend *b, const char *stream)
{
    jsb_backend *jb = (jsb_backend *)b;
    jsErrCode jerr = 0;
    natsStatus ns = js_DeleteStream(jb->js, stream, NULL, &jerr);
    return ns == NATS_OK ? PS_OK : jsb_fail_nf(ns, jerr, 10059, "stream delete");
}

/* Appends `s` as a JSON string (subjects hold no control characters). */
static size_t json_string(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    if (n < cap)
        out[n++] = '"';
    for (; *s && n + 2 < cap; s++) {
        if (*s == '"' || *s == '\\')
            out[n++] = '\\';
        out[n++] = *s;
    }
    if (n < cap)
        out[n++] = '"';
    return n;
}

/* A raw request, because js_PurgeStream drops the reply's "purged" count. */
ps_status jsb_stream_purge(ps_backend *b, const char *stream, const ps_purge_opts *opts, uint64_t *purged)
{
    jsb_backend *jb = (jsb_backend *)b;
    char subject[64 + PS_NAME_MAX_BUF];
    snprintf(subject, sizeof subject, "$JS.API.STREAM.PURGE.%s", stream);
    /* every filter byte may double when escaped; two numbers and the keys */
    size_t cap = 96 + (opts && opts->filter ? 2 * strlen(opts->filter) : 0);
    char *body = malloc(cap);
    if (!body)
        return ps_error(PS_ERR_NO_MEMORY, 0, "stream purge: out of memory");
    size_t n = 0;
    body[n++] = '{';
    if (opts && opts->filter) {
        n += (size_t)snprintf(body + n, cap - n, "\"filter\":");
        n += json_string(body + n, cap - n, opts->filter);
    }
    if (opts && opts->seq)
        n += (size_t)snprintf(body + n, cap - n, "%s\"seq\":%" PRIu64, n > 1 ? "," : "", opts->seq);
    if (opts && opts->keep)
        n += (size_t)snprintf(body + n, cap - n, "%s\"keep\":%" PRIu64, n > 1 ? "," : "", opts->keep);
    snprintf(body + n, cap - n, "}");
    natsMsg *r = NULL;
    ps_status s = jsb_api(jb, subject, body, &r, "stream purge");
    free(body);
    if (s != PS_OK)
        return s;
    uint64_t count = 0;
    jsb_json_u64(natsMsg_GetData(r), (size_t)natsMsg_GetDataLength(r), "purged", &count);
    natsMsg_Destroy(r);
    if (purged)
        *purged = count;
    return PS_OK;
}

ps_status jsb_msg_get(ps_backend *b, const char *stream, uint64_t seq, const char *last_by_subject,
                      ps_stored_msg *out)
{
    jsb_backend *jb = (jsb_backend *)b;
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = last_by_subject ? js_GetLastMsg(&m, jb->js, stream, last_by_subject, NULL, &jerr)
                                    : js_GetMsg(&m, jb->js, stream, seq, NULL, &jerr);
    if (ns != NATS_OK)
        return jsb_fail_nf(ns, jerr, 10037, "msg get");
    const char *subj = natsMsg_GetSubject(m);
    size_t len = (size_t)natsMsg_GetDataLength(m);
    ps_stored_msg r = {0};
    ps_status s = jsb_headers_encode(m, &r.hdr, &r.hdr_len);
    if (s == PS_OK) {
        r.subject = strdup(subj);
        r.data = malloc(len + 1);
        if (!r.subject || !r.data) {
            ps_stored_msg_clear(&r);
            s = ps_error(PS_ERR_NO_MEMORY, 0, "msg get: out of memory");
        }
    }
    if (s == PS_OK) {
        if (len)
            memcpy(r.data, natsMsg_GetData(m), len);
        r.data[len] = '\0';
        r.len = len;
        r.seq = natsMsg_GetSequence(m);
        r.timestamp_ns = natsMsg_GetTime(m);
        *out = r;
    }
    natsMsg_Destroy(m);
    return s;
}

ps_status jsb_msg_delete(ps_backend *b, const char *stream, uint64_t seq, bool erase)
{
    jsb_backend *jb = (jsb_backend *)b;
    jsErrCode jerr = 0;
    natsStatus ns = erase ? js_EraseMsg(jb->js, stream, seq, NULL, &jerr)
                          : js_DeleteMsg(jb->js, stream, seq, NULL, &jerr);
    return ns == NATS_OK ? PS_OK : jsb_fail_nf(ns, jerr, 10037, "msg delete");
}
