/* backend.c — the thin wrappers applications call (ps_backend.h).
 *
 * Each checks its arguments, then calls through the backend's ops table:
 * the one place where arguments are checked, optional slots are tested and
 * the cnats ack rule of JS 14.2 is applied, so every backend behaves alike.
 * Checks here are the ones a client makes before anything reaches a server;
 * what the server itself would reject is the backend's to report, with the
 * server's err_code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_backend.h"
#include "ps_subject.h"
#include "ps_backend_impl.h"

#define HAS(b, slot) ((b)->ops->version >= 1 && (b)->ops->slot != NULL)

/* A required slot left NULL is a broken backend, not a reason to crash:
 * the wrapper answers PS_ERR_NOT_SUPPORTED (see STYLE.md, Redis connConnect). */
#define NEED_SLOT(s, b, slot, fn) \
    do { if ((s) == PS_OK && !HAS(b, slot)) (s) = not_supported(b, fn); } while (0)

static ps_status null_arg(const char *fn, const char *what)
{
    return ps_error(PS_ERR_INVALID_ARG, 0, "%s: %s is NULL", fn, what);
}

static ps_status need_backend(const ps_backend *b, const char *fn)
{
    ps_error_clear();
    if (!b || !b->ops)
        return null_arg(fn, "backend");
    return PS_OK;
}

/* For the calls made through a consumer handle. */
static ps_status need_consumer(const ps_consumer *c, const char *fn)
{
    ps_error_clear();
    if (!c || !c->backend || !c->backend->ops)
        return null_arg(fn, "consumer");
    return PS_OK;
}

/* What cnats checks of a stream or consumer name before sending it: present,
 * non-empty, no '.' and no whitespace. The server judges the rest. */
static ps_status light_name(const char *fn, const char *what, const char *name)
{
    if (!name)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: %s is NULL", fn, what);
    if (!*name)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: %s is empty", fn, what);
    for (const char *p = name; *p; p++)
        if (*p == '.' || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            return ps_error(PS_ERR_INVALID_ARG, 0, "%s: %s \"%s\" contains %s at column %zu", fn,
                            what, name, *p == '.' ? "'.'" : "whitespace", (size_t)(p - name) + 1);
    return PS_OK;
}

static ps_status not_supported(const ps_backend *b, const char *fn)
{
    return ps_error(PS_ERR_NOT_SUPPORTED, 0, "%s: the %s backend does not support it", fn,
                    b->ops->name ? b->ops->name : "unnamed");
}

/* ---- streams ----------------------------------------------------------------- */

/* An enum field outside its values: a caller's bug, refused before any
 * backend indexes a table with it. */
static ps_status check_enum(const char *fn, const char *what, int v, int max)
{
    if (v < 0 || v > max)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: %s %d is not one of its values (0 to %d)", fn, what, v, max);
    return PS_OK;
}

/* PS_DURATION_MAX_NS: a larger duration would overflow a deadline. */
static ps_status check_duration(const char *fn, const char *what, int64_t ns)
{
    if (ns > PS_DURATION_MAX_NS)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: %s is %lld ns, more than the maximum of 87600h "
                        "(ten years, PS_DURATION_MAX_NS)", fn, what, (long long)ns);
    return PS_OK;
}

static ps_status check_stream_cfg(const char *fn, const ps_stream_config *cfg)
{
    if (!cfg)
        return null_arg(fn, "config");
    ps_status s = check_duration(fn, "max_age_ns", cfg->max_age_ns);
    if (!s)
        s = check_duration(fn, "duplicates_ns", cfg->duplicates_ns);
    if (!s)
        s = check_enum(fn, "retention", (int)cfg->retention, PS_RETENTION_WORKQUEUE);
    if (!s)
        s = check_enum(fn, "storage", (int)cfg->storage, PS_STORAGE_MEMORY);
    if (!s)
        s = check_enum(fn, "discard", (int)cfg->discard, PS_DISCARD_NEW);
    return s ? s : light_name(fn, "stream name", cfg->name);
}

ps_status ps_stream_add(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out)
{
    ps_status s = need_backend(b, "ps_stream_add");
    if (!s)
        s = check_stream_cfg("ps_stream_add", cfg);
    NEED_SLOT(s, b, stream_add, "ps_stream_add");
    return s ? s : b->ops->stream_add(b, cfg, out);
}

ps_status ps_stream_update(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out)
{
    ps_status s = need_backend(b, "ps_stream_update");
    if (!s)
        s = check_stream_cfg("ps_stream_update", cfg);
    NEED_SLOT(s, b, stream_update, "ps_stream_update");
    return s ? s : b->ops->stream_update(b, cfg, out);
}

ps_status ps_stream_info_get(ps_backend *b, const char *stream, ps_stream_info *out)
{
    ps_status s = need_backend(b, "ps_stream_info_get");
    if (!s)
        s = light_name("ps_stream_info_get", "stream name", stream);
    if (!s && !out)
        s = null_arg("ps_stream_info_get", "out");
    NEED_SLOT(s, b, stream_info, "ps_stream_info_get");
    return s ? s : b->ops->stream_info(b, stream, out);
}

ps_status ps_stream_delete(ps_backend *b, const char *stream)
{
    ps_status s = need_backend(b, "ps_stream_delete");
    if (!s)
        s = light_name("ps_stream_delete", "stream name", stream);
    NEED_SLOT(s, b, stream_delete, "ps_stream_delete");
    return s ? s : b->ops->stream_delete(b, stream);
}

ps_status ps_stream_purge(ps_backend *b, const char *stream, const ps_purge_opts *opts, uint64_t *purged)
{
    ps_status s = need_backend(b, "ps_stream_purge");
    if (!s)
        s = light_name("ps_stream_purge", "stream name", stream);
    if (!s && opts && opts->seq && opts->keep)
        s = ps_error(PS_ERR_INVALID_ARG, 0, "ps_stream_purge: seq and keep are mutually exclusive");
    if (!s && opts && opts->filter && *opts->filter)
        s = ps_subject_check("purge filter", opts->filter, true);
    NEED_SLOT(s, b, stream_purge, "ps_stream_purge");
    return s ? s : b->ops->stream_purge(b, stream, opts, purged);
}

ps_status ps_msg_get(ps_backend *b, const char *stream, uint64_t seq, const char *last_by_subject,
                     ps_stored_msg *out)
{
    ps_status s = need_backend(b, "ps_msg_get");
    if (!s)
        s = light_name("ps_msg_get", "stream name", stream);
    if (!s && !out)
        s = null_arg("ps_msg_get", "out");
    if (!s && last_by_subject)
        s = ps_subject_check("last_by_subject", last_by_subject, true);
    if (!s && !last_by_subject && seq == 0)
        s = ps_error(PS_ERR_INVALID_ARG, 0, "ps_msg_get: sequence 0 (sequences start at 1)");
    NEED_SLOT(s, b, msg_get, "ps_msg_get");
    return s ? s : b->ops->msg_get(b, stream, seq, last_by_subject, out);
}

ps_status ps_msg_delete(ps_backend *b, const char *stream, uint64_t seq, bool erase)
{
    ps_status s = need_backend(b, "ps_msg_delete");
    if (!s)
        s = light_name("ps_msg_delete", "stream name", stream);
    if (!s && seq == 0)
        s = ps_error(PS_ERR_INVALID_ARG, 0, "ps_msg_delete: sequence 0 (sequences start at 1)");
    NEED_SLOT(s, b, msg_delete, "ps_msg_delete");
    return s ? s : b->ops->msg_delete(b, stream, seq, erase);
}

void ps_stream_info_clear(ps_stream_info *info)
{
    if (!info)
        return;
    free(info->owned_);
    memset(info, 0, sizeof *info);
}

void ps_stored_msg_clear(ps_stored_msg *m)
{
    if (!m)
        return;
    free(m->subject);
    free(m->hdr);
    free(m->data);
    memset(m, 0, sizeof *m);
}

/* ---- publishing ------------------------------------------------------------------ */

/* JS 3.5: the JetStream headers travel as ps_out_msg fields; the same name
 * in `headers` would be sent twice and read ambiguously by the server. */
static ps_status check_other_headers(const ps_headers *h)
{
    static const char *const js[] = {PS_HDR_MSG_ID, PS_HDR_EXPECTED_STREAM, PS_HDR_EXPECTED_LAST_SEQ,
                                     PS_HDR_EXPECTED_LAST_SUBJ_SEQ, PS_HDR_EXPECTED_LAST_MSG_ID};
    for (size_t i = 0; h && i < sizeof js / sizeof js[0]; i++)
        if (ps_headers_get(h, js[i]))
            return ps_error(PS_ERR_INVALID_ARG, 0, "ps_publish: header %s belongs in its ps_out_msg "
                            "field, not in headers", js[i]);
    return PS_OK;
}

/* Inlined into its two callers: on the memory backend, its frame was a
 * tenth of a publish. */
static inline __attribute__((always_inline)) ps_status check_publish(ps_backend *b, const ps_out_msg *m,
                                                                     const char *fn)
{
    ps_status s = need_backend(b, fn);
    if (!s && !m)
        s = null_arg(fn, "message");
    /* The bool test first: the message-building check only on failure. */
    if (!s && !ps_subject_is_literal(m->subject))
        s = ps_subject_check("publish subject", m->subject, false);
    if (!s && m->len && !m->data)
        s = ps_error(PS_ERR_INVALID_ARG, 0, "%s: data is NULL but len is %zu", fn, m->len);
    if (!s && m->msg_id && !*m->msg_id)
        s = ps_error(PS_ERR_INVALID_ARG, 0, "%s: msg_id is empty (use NULL for none)", fn);
    if (!s && m->headers)
        s = check_other_headers(m->headers);
    NEED_SLOT(s, b, publish, fn);
    return s;
}

/* Inlined into ps_publish and ps_publish_data: a call less per publish. */
static inline __attribute__((always_inline)) ps_status publish(ps_backend *b, const ps_out_msg *m,
                                                               ps_pub_ack *out)
{
    ps_status s = check_publish(b, m, "ps_publish");
    return s ? s : b->ops->publish(b, m, out);
}

ps_status ps_publish(ps_backend *b, const ps_out_msg *m, ps_pub_ack *out)
{
    return publish(b, m, out);
}

/* Version 2 slots exist only in tables that say so. */
#define HAS_V2(b, slot) ((b)->ops->version >= 2 && (b)->ops->slot != NULL)

ps_status ps_publish_async(ps_backend *b, const ps_out_msg *m, uint64_t token)
{
    ps_status s = check_publish(b, m, "ps_publish_async");
    if (s)
        return s;
    if (HAS_V2(b, publish_async))
        return b->ops->publish_async(b, m, token);
    ps_pub_result r = {.token = token};
    r.status = b->ops->publish(b, m, &r.ack);
    r.err_code = r.status ? ps_last_error_code() : 0;
    ps_backend_emit_pub_result(b, &r);
    return PS_OK;
}

ps_status ps_publish_async_complete(ps_backend *b, int64_t timeout_ns)
{
    ps_status s = need_backend(b, "ps_publish_async_complete");
    if (!s && timeout_ns < 0)
        s = ps_error(PS_ERR_INVALID_ARG, 0, "ps_publish_async_complete: negative timeout");
    if (!s)
        s = check_duration("ps_publish_async_complete", "timeout", timeout_ns);
    if (s || !HAS_V2(b, publish_async_complete))
        return s;
    return b->ops->publish_async_complete(b, timeout_ns);
}

void ps_backend_set_pub_result_handler(ps_backend *b, ps_pub_result_fn fn, void *user)
{
    if (!b)
        return;
    b->pub_result_fn = fn;
    b->pub_result_user = user;
}

void ps_backend_emit_pub_result(ps_backend *b, const ps_pub_result *r)
{
    if (b && b->pub_result_fn && r)
        b->pub_result_fn(b->pub_result_user, r);
}

ps_status ps_publish_data(ps_backend *b, const char *subject, const void *data, size_t len,
                          const char *msg_id, ps_pub_ack *out)
{
    ps_out_msg m = {.subject = subject, .data = data, .len = len, .msg_id = msg_id};
    return publish(b, &m, out);
}

/* ---- consumers ------------------------------------------------------------------- */

static ps_status check_consumer_cfg(const ps_consumer_config *c)
{
    const char *fn = "ps_consumer_add";
    if (!c)
        return null_arg(fn, "config");
    if (c->durable) {
        ps_status s = light_name(fn, "durable name", c->durable);
        if (s)
            return s;
    }
    ps_status e = check_enum(fn, "deliver_policy", (int)c->deliver_policy, PS_DELIVER_LAST_PER_SUBJECT);
    if (!e)
        e = check_enum(fn, "ack_policy", (int)c->ack_policy, PS_ACK_ALL);
    if (!e)
        e = check_enum(fn, "replay_policy", (int)c->replay_policy, PS_REPLAY_ORIGINAL);
    if (e)
        return e;
    struct { const char *name; int64_t v; } fields[] = {
        {"ack_wait_ns", c->ack_wait_ns}, {"max_deliver", c->max_deliver},
        {"max_ack_pending", c->max_ack_pending}, {"max_waiting", c->max_waiting},
        {"max_request_batch", c->max_request_batch},
        {"max_request_expires_ns", c->max_request_expires_ns},
        {"max_request_max_bytes", c->max_request_max_bytes},
        {"inactive_threshold_ns", c->inactive_threshold_ns},
        {"opt_start_time_ns", c->opt_start_time_ns}, {"backoff_len", c->backoff_len},
        {"replicas", c->replicas},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].v < 0)
            return ps_error(PS_ERR_INVALID_ARG, 0, "%s: %s is negative (%lld); 0 means the default",
                            fn, fields[i].name, (long long)fields[i].v);
    if (c->backoff_len > 0 && !c->backoff_ns)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: backoff_len is %d but backoff_ns is NULL", fn, c->backoff_len);
    for (int i = 0; i < c->backoff_len; i++)
        if (c->backoff_ns[i] <= 0)
            return ps_error(PS_ERR_INVALID_ARG, 0, "%s: backoff_ns[%d] must be positive", fn, i);
    struct { const char *name; int64_t v; } durations[] = {
        {"ack_wait_ns", c->ack_wait_ns}, {"max_request_expires_ns", c->max_request_expires_ns},
        {"inactive_threshold_ns", c->inactive_threshold_ns},
    };
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        ps_status s = check_duration(fn, durations[i].name, durations[i].v);
        if (s)
            return s;
    }
    for (int i = 0; i < c->backoff_len; i++)
        if (c->backoff_ns[i] > PS_DURATION_MAX_NS)
            return check_duration(fn, "backoff_ns[]", c->backoff_ns[i]);
    return PS_OK;
}

/* ---- live consumer handles: what ps_backend_close waits for ----------------------- */

/* Handles may be made and freed on several threads (the JetStream backend,
 * the memory backend on the real clock), hence the atomics. */
static void live_inc(ps_backend *b)
{
    __atomic_add_fetch(&b->live_consumers_, 1, __ATOMIC_RELAXED);
}

/* Never below 0: freeing a handle the wrappers did not make (a backend's
 * own, a test's fake) must not let close go on with one still live. */
static void live_dec(ps_backend *b)
{
    long n = __atomic_load_n(&b->live_consumers_, __ATOMIC_RELAXED);
    while (n > 0 && !__atomic_compare_exchange_n(&b->live_consumers_, &n, n - 1, false,
                                                 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/* A backend's consumer_add/bind wrote a handle: count it, hand it out. */
static ps_status handed_out(ps_backend *b, ps_status s, ps_consumer *h, ps_consumer **out)
{
    if (s == PS_OK) {
        if (h)
            live_inc(b);
        *out = h;
    }
    return s;
}

ps_status ps_consumer_add(ps_backend *b, const char *stream, const ps_consumer_config *cfg,
                          ps_consumer **out)
{
    ps_status s = need_backend(b, "ps_consumer_add");
    if (!s)
        s = light_name("ps_consumer_add", "stream name", stream);
    if (!s)
        s = check_consumer_cfg(cfg);
    if (!s && !out)
        s = null_arg("ps_consumer_add", "out");
    NEED_SLOT(s, b, consumer_add, "ps_consumer_add");
    if (s)
        return s;
    ps_consumer *h = NULL;
    s = b->ops->consumer_add(b, stream, cfg, &h);
    return handed_out(b, s, h, out);
}

ps_status ps_consumer_bind(ps_backend *b, const char *stream, const char *name, ps_consumer **out)
{
    ps_status s = need_backend(b, "ps_consumer_bind");
    if (!s)
        s = light_name("ps_consumer_bind", "stream name", stream);
    if (!s)
        s = light_name("ps_consumer_bind", "consumer name", name);
    if (!s && !out)
        s = null_arg("ps_consumer_bind", "out");
    NEED_SLOT(s, b, consumer_bind, "ps_consumer_bind");
    if (s)
        return s;
    ps_consumer *h = NULL;
    s = b->ops->consumer_bind(b, stream, name, &h);
    return handed_out(b, s, h, out);
}

ps_status ps_consumer_info_get(ps_consumer *c, ps_consumer_info *out)
{
    ps_status s = need_consumer(c, "ps_consumer_info_get");
    if (!s && !out)
        s = null_arg("ps_consumer_info_get", "out");
    if (s)
        return s;
    NEED_SLOT(s, c->backend, consumer_info, "ps_consumer_info_get");
    return s ? s : c->backend->ops->consumer_info(c, out);
}

ps_status ps_consumer_delete(ps_backend *b, const char *stream, const char *name)
{
    ps_status s = need_backend(b, "ps_consumer_delete");
    if (!s)
        s = light_name("ps_consumer_delete", "stream name", stream);
    if (!s)
        s = light_name("ps_consumer_delete", "consumer name", name);
    NEED_SLOT(s, b, consumer_delete, "ps_consumer_delete");
    return s ? s : b->ops->consumer_delete(b, stream, name);
}

void ps_consumer_free(ps_consumer *c)
{
    if (!c || !c->backend || !c->backend->ops)
        return;
    ps_backend *b = c->backend; /* the slot frees c */
    if (HAS(b, consumer_free))
        b->ops->consumer_free(c);
    live_dec(b);
}

void ps_consumer_info_clear(ps_consumer_info *info)
{
    if (!info)
        return;
    free(info->owned_);
    memset(info, 0, sizeof *info);
}

ps_status ps_fetch(ps_consumer *c, const ps_fetch_request *req, ps_msg_list *out)
{
    const char *fn = "ps_fetch";
    ps_status s = need_consumer(c, fn);
    if (s)
        return s;
    if (!req)
        return null_arg(fn, "request");
    if (!out)
        return null_arg(fn, "out");
    if (req->batch < 1)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: batch %d is less than 1", fn, req->batch);
    if (req->expires_ns < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: expires_ns is negative", fn);
    if (req->expires_ns > PS_DURATION_MAX_NS)
        return check_duration(fn, "expires_ns", req->expires_ns);
    if (req->max_bytes < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "%s: max_bytes is negative", fn);
    NEED_SLOT(s, c->backend, fetch, fn);
    return s ? s : c->backend->ops->fetch(c, req, out);
}

ps_status ps_fetch_batch(ps_consumer *c, int batch, int64_t expires_ns, ps_msg_list *out)
{
    ps_fetch_request r = {.batch = batch, .expires_ns = expires_ns};
    return ps_fetch(c, &r, out);
}

ps_status ps_ack(ps_msg *m, ps_ack_kind kind, int64_t nak_delay_ns)
{
    ps_error_clear();
    if (!m)
        return null_arg("ps_ack", "message");
    if (!m->consumer_ || !m->consumer_->backend || !m->consumer_->backend->ops)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_ack: the message was not fetched from a consumer");
    if ((unsigned)kind > PS_TERM)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_ack: unknown ack kind %d", (int)kind);
    if (nak_delay_ns < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_ack: negative nak delay");
    if (nak_delay_ns > PS_DURATION_MAX_NS)
        return check_duration("ps_ack", "nak delay", nak_delay_ns);
    /* JS 14.2: cnats marks a message acked and ignores later acks. */
    if (m->acked_ && kind != PS_IN_PROGRESS)
        return PS_OK;
    ps_status s = PS_OK;
    NEED_SLOT(s, m->consumer_->backend, ack, "ps_ack");
    if (s)
        return s;
    s = m->consumer_->backend->ops->ack(m, kind, kind == PS_NAK ? nak_delay_ns : 0);
    if (s == PS_OK && kind != PS_IN_PROGRESS)
        m->acked_ = true;
    return s;
}

ps_status ps_ack_send(ps_msg *m, ps_ack_kind kind, int64_t nak_delay_ns)
{
    ps_error_clear();
    if (!m)
        return null_arg("ps_ack_send", "message");
    if (!m->consumer_ || !m->consumer_->backend || !m->consumer_->backend->ops)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_ack_send: the message was not fetched from a consumer");
    if ((unsigned)kind > PS_TERM)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_ack_send: unknown ack kind %d", (int)kind);
    if (nak_delay_ns < 0)
        return ps_error(PS_ERR_INVALID_ARG, 0, "ps_ack_send: negative nak delay");
    if (nak_delay_ns > PS_DURATION_MAX_NS)
        return check_duration("ps_ack_send", "nak delay", nak_delay_ns);
    ps_status s = PS_OK;
    NEED_SLOT(s, m->consumer_->backend, ack, "ps_ack_send");
    return s ? s : m->consumer_->backend->ops->ack(m, kind, kind == PS_NAK ? nak_delay_ns : 0);
}

/* ---- asynchronous pull requests ---------------------------------------------------- */

/* Version 3 slots exist only in tables that say so. */
#define HAS_V3(b, slot) ((b)->ops->version >= 3 && (b)->ops->slot != NULL)

static ps_status need_pulls(const ps_backend *b, const char *fn)
{
    if (b->ops->version < 3)
        return ps_error(PS_ERR_NOT_SUPPORTED, 0, "%s: the %s backend's ops table is version %d; "
                        "asynchronous pulls need version 3", fn, b->ops->name ? b->ops->name : "unnamed",
                        b->ops->version);
    if (!HAS_V3(b, pull_start) || !HAS_V3(b, pull_poll) || !HAS_V3(b, pull_free))
        return not_supported(b, fn);
    return PS_OK;
}

ps_status ps_pull_start(ps_consumer *c, const ps_fetch_request *req, ps_pull **out)
{
    const char *fn = "ps_pull_start";
    ps_status s = need_consumer(c, fn);
    if (!s && !req)
        s = null_arg(fn, "request");
    if (!s && !out)
        s = null_arg(fn, "out");
    if (!s && req->batch < 1)
        s = ps_error(PS_ERR_INVALID_ARG, 0, "%s: batch %d is less than 1", fn, req->batch);
    if (!s && req->expires_ns < 0)
        s = ps_error(PS_ERR_INVALID_ARG, 0, "%s: expires_ns is negative", fn);
    if (!s)
        s = check_duration(fn, "expires_ns", req->expires_ns);
    if (!s && req->max_bytes < 0)
        s = ps_error(PS_ERR_INVALID_ARG, 0, "%s: max_bytes is negative", fn);
    if (!s)
        s = need_pulls(c->backend, fn);
    return s ? s : c->backend->ops->pull_start(c, req, out);
}

ps_status ps_pull_poll(ps_pull *p, ps_msg_list *out, ps_pull_end *end)
{
    const char *fn = "ps_pull_poll";
    ps_error_clear();
    if (!p || !p->consumer || !p->consumer->backend || !p->consumer->backend->ops)
        return null_arg(fn, "pull");
    if (!out)
        return null_arg(fn, "out");
    if (!end)
        return null_arg(fn, "end");
    ps_status s = need_pulls(p->consumer->backend, fn);
    if (s)
        return s;
    ps_msg_list_clear(out);
    memset(end, 0, sizeof *end);
    s = p->consumer->backend->ops->pull_poll(p, out, end);
    if (s) {
        ps_msg_list_clear(out);
        memset(end, 0, sizeof *end);
    }
    return s;
}

void ps_pull_free(ps_pull *p)
{
    if (p && p->consumer && p->consumer->backend && p->consumer->backend->ops &&
        HAS_V3(p->consumer->backend, pull_free))
        p->consumer->backend->ops->pull_free(p);
}

void ps_pull_end_set(ps_pull_end *e, int code, const char *description, int64_t pending_msgs,
                     int64_t pending_bytes, ps_status status_if_none)
{
    const char *d = description ? description : "";
    e->done = true;
    e->code = code;
    snprintf(e->description, sizeof e->description, "%s", d);
    e->pending_msgs = pending_msgs;
    e->pending_bytes = pending_bytes;
    if (code == 0)
        e->status = status_if_none;
    else if (code == 404)
        e->status = PS_ERR_NO_MESSAGES;
    else if (code == 408)
        e->status = PS_ERR_TIMEOUT;
    else if (strstr(d, "Consumer Deleted"))
        e->status = PS_ERR_CONSUMER_DELETED;
    else if (strstr(d, "Exceeded MaxWaiting"))
        e->status = PS_ERR_MAX_WAITING;
    else if (strstr(d, "Message Size Exceeds MaxBytes"))
        e->status = PS_ERR_MAX_BYTES;
    else
        e->status = PS_ERR_PULL_REJECTED;
}

/* ---- backend-wide ------------------------------------------------------------------ */

void ps_backend_set_advisory_handler(ps_backend *b, ps_advisory_fn fn, void *user)
{
    if (!b)
        return;
    b->advisory_fn = fn;
    b->advisory_user = user;
}

void ps_backend_emit_advisory(ps_backend *b, const ps_advisory *adv)
{
    if (b && b->advisory_fn && adv)
        b->advisory_fn(b->advisory_user, adv);
}

int64_t ps_backend_next_deadline(ps_backend *b)
{
    if (!b || !b->ops || !HAS(b, next_deadline))
        return INT64_MAX;
    return b->ops->next_deadline(b);
}

ps_status ps_backend_tick(ps_backend *b)
{
    ps_status s = need_backend(b, "ps_backend_tick");
    if (!s && !HAS(b, tick))
        s = not_supported(b, "ps_backend_tick");
    return s ? s : b->ops->tick(b);
}

ps_status ps_backend_restart(ps_backend *b, ps_restart_kind kind)
{
    ps_status s = need_backend(b, "ps_backend_restart");
    if (!s && (unsigned)kind > PS_RESTART_POWER_LOSS)
        s = ps_error(PS_ERR_INVALID_ARG, 0, "ps_backend_restart: unknown kind %d", (int)kind);
    if (!s && !HAS(b, restart))
        s = not_supported(b, "ps_backend_restart");
    return s ? s : b->ops->restart(b, kind);
}

const char *ps_backend_name(const ps_backend *b)
{
    return b && b->ops && b->ops->name ? b->ops->name : "";
}

/* Unlike the other wrappers it leaves the last-error detail alone when it
 * succeeds: callers close on their way out of a failure and report it after. */
void ps_backend_wrapped(ps_backend *inner, bool on)
{
    if (!inner)
        return;
    if (on) {
        __atomic_add_fetch(&inner->wrappers_, 1, __ATOMIC_RELAXED);
        return;
    }
    long n = __atomic_load_n(&inner->wrappers_, __ATOMIC_RELAXED);
    while (n > 0 && !__atomic_compare_exchange_n(&inner->wrappers_, &n, n - 1, false, __ATOMIC_RELAXED,
                                                 __ATOMIC_RELAXED))
        ;
}

ps_status ps_backend_close(ps_backend *b)
{
    if (!b || !b->ops)
        return PS_OK;
    long wrappers = __atomic_load_n(&b->wrappers_, __ATOMIC_ACQUIRE);
    if (wrappers > 0)
        return ps_error(PS_ERR_BUSY, 0, "ps_backend_close: the %s backend is still wrapped by %ld open "
                        "backend%s (a fault shim): close %s first", ps_backend_name(b), wrappers,
                        wrappers == 1 ? "" : "s", wrappers == 1 ? "it" : "them");
    long live = __atomic_load_n(&b->live_consumers_, __ATOMIC_ACQUIRE);
    if (live > 0)
        return ps_error(PS_ERR_BUSY, 0, "ps_backend_close: the %s backend still has %ld open "
                        "consumer handle%s; free %s with ps_consumer_free, then close again",
                        ps_backend_name(b), live, live == 1 ? "" : "s", live == 1 ? "it" : "them");
    if (b->ops->close)
        b->ops->close(b);
    return PS_OK;
}
