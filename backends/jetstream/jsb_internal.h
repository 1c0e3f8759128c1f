/* jsb_internal.h — what the JetStream backend's modules share: the backend
 * and consumer handles, the boundary that turns cnats statuses and
 * JetStream err_codes into jetsim statuses, and a reader for the flat JSON
 * of API replies and advisories.
 *
 * Not part of the public API (ps_jetstream.h is). Built only with cnats
 * (PS_HAVE_NATS); without it jsb_stub.c stands alone.
 */
#ifndef JSB_INTERNAL_H
#define JSB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "ps_backend.h"
#include "ps_jetstream.h"
#include "ps_backend_impl.h"

typedef struct jsb_async jsb_async; /* async publish bookkeeping (jsb_publish.c) */

typedef struct jsb_backend {
    ps_backend base; /* first member: the contract's handle */
    natsConnection *nc;
    jsCtx *js;
    int64_t timeout_ms;       /* API requests and ack replies */
    natsSubscription *adv_sub; /* $JS.EVENT.ADVISORY.> (sync, drained by tick) */
    pthread_mutex_t adv_lock;  /* one advisory deliverer at a time */
    jsb_async *async;
} jsb_backend;

typedef struct jsb_consumer {
    ps_consumer base;   /* first member: the contract's handle */
    jsb_backend *jb;
    char *stream;
    char *name;
    char *inbox;        /* "_INBOX.<nuid>"; each fetch replies to inbox.<n> */
    natsSubscription *sub; /* on inbox.* */
    uint64_t request_no;
} jsb_consumer;

/* ---- the boundary (jsb_backend.c) ----------------------------------------- */

/* Records a failed cnats call: maps `ns` and the JetStream err_code `jerr`
 * (0 if none) to a status, keeps the server's description and the native
 * code, and returns the status. `what` names the operation for the detail. */
ps_status jsb_fail(natsStatus ns, jsErrCode jerr, const char *what);

/* The same, where cnats reports NATS_NOT_FOUND without an err_code: the
 * operation says which thing was missing (10059 stream, 10014 consumer,
 * 10037 message). */
ps_status jsb_fail_nf(natsStatus ns, jsErrCode jerr, int not_found_code, const char *what);

/* The status for an err_code, PS_ERR_INTERNAL for one jetsim does not know. */
ps_status jsb_status_for_code(int err_code, const char *description);

/* Delivers the advisories that arrived since the last call. */
void jsb_drain_advisories(jsb_backend *jb);

/* Encodes a natsMsg's headers as a wire block ("NATS/1.0\r\n...\r\n\r\n")
 * into a new buffer (*out, *len); *out NULL when it has none. */
ps_status jsb_headers_encode(natsMsg *m, char **out, size_t *len);

/* A JetStream API request with a JSON body; on success *reply is the
 * server's JSON answer (free with natsMsg_Destroy), on an API error the
 * status from its err_code. */
ps_status jsb_api(jsb_backend *jb, const char *subject, const char *body, natsMsg **reply,
                  const char *what);

/* cnats writes names into its JSON requests without escaping, so a name
 * with a backslash would reach the server as invalid JSON (10025) instead
 * of the path-separator error a client of the server gets (10128 for a
 * stream, 10127 for a durable). Answers that error itself; PS_OK for other
 * names. */
ps_status jsb_check_backslash(const char *name, bool durable);

/* PS_ERR_INVALID_ARG for text cnats would put unescaped into a JSON
 * request (a '"' or a control character: the request would say something
 * else than asked); `what` names it. */
ps_status jsb_check_json_safe(const char *what, const char *text);

/* ---- flat JSON (jsb_json.c) ----------------------------------------------- */

/* Finds "key" at any depth in `json` (len bytes) and reads its value. These
 * readers serve the server's own, well-formed replies; they return false
 * when the key is absent or its value is of another type. */
bool jsb_json_u64(const char *json, size_t len, const char *key, uint64_t *out);
bool jsb_json_i64(const char *json, size_t len, const char *key, int64_t *out);
/* Copies a string value (unescaped, truncated to cap-1 bytes). */
bool jsb_json_str(const char *json, size_t len, const char *key, char *out, size_t cap);

/* ---- modules ---------------------------------------------------------------- */

ps_status jsb_stream_add(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out);
ps_status jsb_stream_update(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out);
ps_status jsb_stream_info(ps_backend *b, const char *stream, ps_stream_info *out);
ps_status jsb_stream_delete(ps_backend *b, const char *stream);
ps_status jsb_stream_purge(ps_backend *b, const char *stream, const ps_purge_opts *opts, uint64_t *purged);
ps_status jsb_msg_get(ps_backend *b, const char *stream, uint64_t seq, const char *last_by_subject,
                      ps_stored_msg *out);
ps_status jsb_msg_delete(ps_backend *b, const char *stream, uint64_t seq, bool erase);

ps_status jsb_publish(ps_backend *b, const ps_out_msg *m, ps_pub_ack *out);
ps_status jsb_publish_async(ps_backend *b, const ps_out_msg *m, uint64_t token);
ps_status jsb_publish_async_complete(ps_backend *b, int64_t timeout_ns);
ps_status jsb_async_init(jsb_backend *jb, jsOptions *jo);
void jsb_async_free(jsb_backend *jb);
/* Before close: lets outstanding async publishes finish (briefly), forgets
 * the rest and waits for a running PubAck handler. */
void jsb_async_quiesce(jsb_backend *jb);

ps_status jsb_consumer_add(ps_backend *b, const char *stream, const ps_consumer_config *cfg, ps_consumer **out);
ps_status jsb_consumer_bind(ps_backend *b, const char *stream, const char *name, ps_consumer **out);
ps_status jsb_consumer_info(ps_consumer *c, ps_consumer_info *out);
ps_status jsb_consumer_delete(ps_backend *b, const char *stream, const char *name);
void jsb_consumer_free(ps_consumer *c);

ps_status jsb_fetch(ps_consumer *c, const ps_fetch_request *req, ps_msg_list *out);
/* Appends a delivery to `out`, its metadata parsed from its ack subject
 * (JS 6.10), acked through `h`. */
ps_status jsb_push_delivery(jsb_consumer *h, natsMsg *m, ps_msg_list *out);

/* jsb_pull.c: asynchronous pull requests (JS 8) */
ps_status jsb_pull_start(ps_consumer *c, const ps_fetch_request *req, ps_pull **out);
ps_status jsb_pull_poll(ps_pull *p, ps_msg_list *out, ps_pull_end *end);
void jsb_pull_free(ps_pull *p);
ps_status jsb_ack(ps_msg *m, ps_ack_kind kind, int64_t nak_delay_ns);

#endif
