/* ps_backend.h — the pubsub contract every backend implements.
 *
 * A backend is a versioned table of function pointers (ps_backend_ops) and a
 * handle whose first member points at it, in the manner of SQLite's VFS.
 * Application code calls the ps_* wrappers below, never the table: the
 * wrappers check arguments, return PS_ERR_NOT_SUPPORTED for an optional slot
 * a backend leaves NULL, and are the one place for tracing and fault hooks.
 *
 * Semantics follow nats-server 2.9.10 as docs/MODEL.md describes it; the rule
 * numbers (JS 3.4 ...) are cited at each declaration. Errors map one to one
 * onto the server's answers: the status says which kind, ps_last_error_code()
 * gives the JetStream err_code, ps_last_error() the description.
 *
 * Ownership: every pointer passed in is borrowed for the call only. Infos
 * returned through out-parameters own their strings and are released with
 * their _clear function. Out-parameters are written only on success.
 *
 * Threads: a backend handle may be used from several threads only where its
 * constructor says so (the memory backend on the real clock, the JetStream
 * backend). A ps_consumer handle is used from one thread at a time.
 */
#ifndef PS_BACKEND_H
#define PS_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "ps_msg.h"
#include "ps_status.h"
#include "ps_subject.h"
#include "ps_api.h"

PS_API_BEGIN

/* The longest duration the API accepts anywhere (stream max_age_ns and
 * duplicates_ns; consumer ack_wait_ns, backoff_ns[], max_request_expires_ns
 * and inactive_threshold_ns; fetch expires_ns; the nak delay of ps_ack; the
 * timeout of ps_publish_async_complete): 87600h, ten years. Backends compute
 * deadlines as now + duration in int64 nanoseconds, and nanoseconds since
 * 1970 plus more than about 230 years would overflow; ten years leaves room
 * and is longer than any job waits. The wrappers refuse a larger value with
 * PS_ERR_INVALID_ARG naming the field. */
#define PS_DURATION_MAX_NS (INT64_C(87600) * 3600 * 1000000000)

/* ---- streams ----------------------------------------------------------- */

/* Zero means "the server's default" for every field (JS 2.1), as cnats's
 * jsStreamConfig_Init leaves them, so `ps_stream_config c = {0}` is valid
 * once it has a name. The enums' zero values are the defaults. */
typedef enum ps_retention {
    PS_RETENTION_LIMITS = 0,
    PS_RETENTION_INTEREST,
    PS_RETENTION_WORKQUEUE
} ps_retention;

typedef enum ps_storage { PS_STORAGE_FILE = 0, PS_STORAGE_MEMORY } ps_storage;

typedef enum ps_discard { PS_DISCARD_OLD = 0, PS_DISCARD_NEW } ps_discard;

typedef struct ps_stream_config {
    const char *name;
    const char *const *subjects; /* NULL/0: the stream's name (JS 2.1) */
    int subjects_len;
    ps_retention retention;
    ps_storage storage;
    ps_discard discard;
    bool discard_new_per_subject;
    int64_t max_msgs;             /* 0 -> -1 unlimited */
    int64_t max_bytes;            /* 0 -> -1 */
    int64_t max_age_ns;           /* 0 = forever; else >= 100ms */
    int64_t max_msgs_per_subject; /* 0 -> -1 */
    int32_t max_msg_size;         /* 0 -> -1 */
    int32_t max_consumers;        /* 0 -> -1 */
    int64_t duplicates_ns;        /* 0 -> min(2m, max_age) (JS 2.1) */
    int32_t replicas;             /* 0 -> 1 */
    bool no_ack;
    bool sealed;
    bool deny_delete;
    bool deny_purge;
    bool allow_rollup;
    /* Free text kept with the stream; NULL or "" for none. Part of the
     * configuration (JS 2.3): adding an existing stream with another
     * description is PS_ERR_STREAM_NAME_IN_USE, so a unique description
     * tells a stream this caller created from one that was there (or was
     * made by someone else at the same moment). At most 4096 bytes
     * (10052). Added after allow_rollup: zero-initialised configs have none. */
    const char *description;
} ps_stream_config;

typedef struct ps_stream_state {
    uint64_t msgs;
    uint64_t bytes;       /* storage-dependent formula (JS 3.9) */
    uint64_t first_seq;
    uint64_t last_seq;
    int64_t first_ts_ns;  /* 0 when empty */
    int64_t last_ts_ns;
    uint64_t num_deleted; /* interior gaps */
    uint64_t num_subjects;
    int consumers;
} ps_stream_state;

typedef struct ps_stream_info {
    ps_stream_config config; /* normalised: defaults applied */
    ps_stream_state state;
    int64_t created_ns;
    void *owned_;            /* strings of config; see ps_stream_info_clear */
} ps_stream_info;

/* Releases what an info owns and zeroes it; safe on a zeroed info. */
void ps_stream_info_clear(ps_stream_info *info);

typedef struct ps_pub_ack {
    char stream[PS_NAME_MAX_BUF];
    uint64_t seq;     /* 0 with duplicate on an Interest stream (JS 3.6) */
    bool duplicate;
} ps_pub_ack;

/* Purge options (JS 10.3); all zero purges everything. */
typedef struct ps_purge_opts {
    const char *filter; /* only this subject (may hold wildcards) */
    uint64_t seq;       /* purge below this sequence */
    uint64_t keep;      /* keep the newest `keep`; exclusive with seq */
} ps_purge_opts;

/* A stored message as returned by msg_get (JS 10.1). */
typedef struct ps_stored_msg {
    char *subject;  /* owned; see ps_stored_msg_clear */
    char *hdr;      /* wire header block or NULL */
    size_t hdr_len;
    char *data;     /* NUL after the last byte */
    size_t len;
    uint64_t seq;
    int64_t timestamp_ns;
} ps_stored_msg;

void ps_stored_msg_clear(ps_stored_msg *m);

/* ---- consumers --------------------------------------------------------- */

typedef enum ps_deliver_policy {
    PS_DELIVER_ALL = 0,
    PS_DELIVER_LAST,
    PS_DELIVER_NEW,
    PS_DELIVER_BY_START_SEQ,
    PS_DELIVER_BY_START_TIME,
    PS_DELIVER_LAST_PER_SUBJECT
} ps_deliver_policy;

/* Explicit is 0, as cnats fills it in when unset (JS 14). */
typedef enum ps_ack_policy {
    PS_ACK_EXPLICIT = 0,
    PS_ACK_NONE,
    PS_ACK_ALL
} ps_ack_policy;

typedef enum ps_replay_policy { PS_REPLAY_INSTANT = 0, PS_REPLAY_ORIGINAL } ps_replay_policy;

/* A durable pull consumer (the only kind a job system needs). Zero means
 * default (JS 5.1); cnats omits fields <= 0, so negative values are
 * rejected rather than sent. */
typedef struct ps_consumer_config {
    const char *durable;        /* NULL: an ephemeral with a generated name */
    const char *filter_subject; /* NULL: everything in the stream */
    ps_deliver_policy deliver_policy;
    uint64_t opt_start_seq;
    int64_t opt_start_time_ns;
    ps_ack_policy ack_policy;
    ps_replay_policy replay_policy;
    int64_t ack_wait_ns;        /* 0 -> 30s (or backoff[0]) */
    int64_t max_deliver;        /* 0 -> -1 unlimited */
    const int64_t *backoff_ns;  /* requires max_deliver > backoff_len */
    int backoff_len;
    int64_t max_ack_pending;    /* 0 -> 1000 (0 with AckNone) */
    int64_t max_waiting;        /* 0 -> 512 */
    int64_t max_request_batch;  /* 0 = no limit */
    int64_t max_request_expires_ns;
    int64_t max_request_max_bytes;
    int64_t inactive_threshold_ns; /* ephemerals: 0 -> 5s */
    bool headers_only;
    bool memory_storage;
    int32_t replicas;
} ps_consumer_config;

typedef struct ps_seq_pair {
    uint64_t consumer_seq;
    uint64_t stream_seq;
} ps_seq_pair;

/* JS 9. */
typedef struct ps_consumer_info {
    char stream[PS_NAME_MAX_BUF];
    char name[PS_NAME_MAX_BUF];
    ps_consumer_config config; /* normalised */
    int64_t created_ns;
    ps_seq_pair delivered;     /* (dseq-1, sseq-1) */
    ps_seq_pair ack_floor;
    uint64_t num_ack_pending;
    uint64_t num_redelivered;
    uint64_t num_waiting;
    uint64_t num_pending;
    void *owned_;
} ps_consumer_info;

void ps_consumer_info_clear(ps_consumer_info *info);

/* A pull request (JS 8.1). batch >= 1. expires_ns 0: do not wait, return
 * what is available now (the JetStream backend then bounds the request by
 * the client's request timeout). */
typedef struct ps_fetch_request {
    int batch;
    int64_t expires_ns;
    int64_t max_bytes; /* 0 = no limit */
    bool no_wait;
} ps_fetch_request;

/* ---- asynchronous pull requests (JS 8) -------------------------------------- */

/* A pull request started with ps_pull_start and not yet freed. Backends
 * embed it as their pull handle's first member. */
typedef struct ps_pull {
    ps_consumer *consumer; /* the handle it was started from */
} ps_pull;

/* How a pull request ended (JS 8.4), as ps_pull_poll reports it. */
typedef struct ps_pull_end {
    bool done;          /* false: still waiting; the other fields are zero */
    /* PS_OK: the batch was filled (the server sends no status then).
     * PS_ERR_TIMEOUT: 408 (Request Timeout at expiry, or at once for a
     * no_wait one-shot that got messages and found no more; Requests
     * Pending), or code 0 when the client gave up on a server that never
     * answered. PS_ERR_NO_MESSAGES: 404. PS_ERR_CONSUMER_DELETED,
     * PS_ERR_MAX_WAITING, PS_ERR_MAX_BYTES, PS_ERR_PULL_REJECTED: the 409s
     * (and a 400). PS_ERR_NO_MEMORY: the backend could not go on. */
    ps_status status;
    int code;           /* the server's status code (404, 408, 409, 400); 0: none */
    char description[96]; /* its Description ("Request Timeout"), "" when none */
    /* Nats-Pending-Messages / Nats-Pending-Bytes of a 408 or 409 (what the
     * request still wanted: batch left, max_bytes left or 0); -1 when the
     * status carried none. */
    int64_t pending_msgs;
    int64_t pending_bytes;
} ps_pull_end;

/* For backends: fills `e` as ended with the server's status `code` and
 * `description` (mapped to a status as in ps_pull_end), or with code 0 and
 * `status_if_none`. */
void ps_pull_end_set(ps_pull_end *e, int code, const char *description, int64_t pending_msgs,
                     int64_t pending_bytes, ps_status status_if_none);

typedef enum ps_ack_kind {
    PS_ACK = 0,        /* +ACK */
    PS_NAK,            /* -NAK, with an optional delay */
    PS_IN_PROGRESS,    /* +WPI */
    PS_TERM            /* +TERM */
} ps_ack_kind;

/* ---- advisories (JS 11) ------------------------------------------------ */

typedef enum ps_advisory_kind {
    PS_ADV_MAX_DELIVERIES = 0,
    PS_ADV_MSG_NAKED,
    PS_ADV_MSG_TERMINATED,
    PS_ADV_CONSUMER_CREATED,
    PS_ADV_CONSUMER_DELETED,
    PS_ADV_STREAM_CREATED,
    PS_ADV_STREAM_UPDATED,
    PS_ADV_STREAM_DELETED,
    PS_ADV_OTHER
} ps_advisory_kind;

typedef struct ps_advisory {
    ps_advisory_kind kind;
    const char *subject;  /* "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.S.C" */
    const char *type;     /* "io.nats.jetstream.advisory.v1.max_deliver" */
    const char *json;     /* the whole body */
    const char *stream;
    const char *consumer; /* NULL for stream events */
    uint64_t stream_seq;
    uint64_t consumer_seq;
    uint64_t deliveries;
    int64_t timestamp_ns;
} ps_advisory;

/* Called for each advisory; everything in `adv` is valid for the call only.
 * It must not call back into the backend. */
typedef void (*ps_advisory_fn)(void *user, const ps_advisory *adv);

/* ---- asynchronous publishing ------------------------------------------ */

/* The outcome of one ps_publish_async, as its PubAck or error came back. */
typedef struct ps_pub_result {
    uint64_t token;   /* what the caller passed to ps_publish_async */
    ps_status status; /* PS_OK, or the failure (timeout, an API error...) */
    int err_code;     /* the JetStream err_code of a failure, 0 if none */
    ps_pub_ack ack;   /* valid when status is PS_OK */
} ps_pub_result;

/* Called once per ps_publish_async that returned PS_OK, always on the
 * caller's thread, from inside ps_publish_async or
 * ps_publish_async_complete; `r` is valid for the call only. It must not
 * call back into the backend. */
typedef void (*ps_pub_result_fn)(void *user, const ps_pub_result *r);

/* ---- restarts (JS 13.1) ------------------------------------------------- */

typedef enum ps_restart_kind {
    PS_RESTART_GRACEFUL = 0, /* SIGTERM: plain NAKs and waiting pulls lost */
    PS_RESTART_CRASH,        /* kill -9: recent consumer state and removals roll back */
    PS_RESTART_POWER_LOSS    /* OS crash: also unsynced messages (~2 min) */
} ps_restart_kind;

/* ---- the table ------------------------------------------------------------ */

typedef struct ps_backend ps_backend;
typedef struct ps_backend_ops ps_backend_ops;

/* The handle every backend embeds as its first member. A backend's
 * constructor zeroes it and sets `ops`; the rest belongs to the wrappers. */
struct ps_backend {
    const ps_backend_ops *ops;
    ps_advisory_fn advisory_fn;
    void *advisory_user;
    ps_pub_result_fn pub_result_fn;
    void *pub_result_user;
    /* Consumer handles made by ps_consumer_add/bind and not yet freed;
     * ps_backend_close refuses to close while it is not 0. Private to
     * core/backend.c, which updates it atomically. */
    long live_consumers_;
    /* Backends that wrap this one (a fault shim) and are not closed yet
     * (ps_backend_wrapped in ps_backend_impl.h); ps_backend_close refuses
     * to close while it is not 0. Private to core/backend.c. */
    long wrappers_;
};

/* The handle a consumer_add or consumer_bind returns; backends embed it as
 * their consumer handle's first member. Names are owned by the handle. */
struct ps_consumer {
    ps_backend *backend;
    const char *stream;
    const char *name;
};

/* The table a backend implements, in the manner of SQLite's
 * sqlite3_io_methods. Rules for every slot, then a paragraph per slot.
 *
 * Who calls: only the ps_* wrappers below (and a shim wrapping another
 * backend through them). The wrappers have already checked what their
 * comments say they check, so a slot never sees a NULL backend, handle or
 * message, a NULL required argument, a malformed name or subject, an enum
 * outside its values, a negative count or a duration over
 * PS_DURATION_MAX_NS; it checks only what a server would (and answers as
 * the server would, with its err_code). The wrappers of the slots that
 * return a ps_status have cleared the last-error detail before the call.
 *
 * Statuses: PS_OK, or a failure recorded with ps_error (ps_backend_impl.h)
 * so that ps_last_error() names the problem, ps_last_error_code() holds
 * the JetStream err_code where the server gives one and
 * ps_last_native_code() the backend's own (a cnats natsStatus). Beyond the
 * statuses each paragraph lists, any slot may return PS_ERR_NO_MEMORY, and
 * a backend that talks to a server PS_ERR_IO, PS_ERR_TIMEOUT,
 * PS_ERR_CLOSED (connection closed), PS_ERR_UNAVAILABLE (10008) and
 * PS_ERR_NO_RESPONDERS (no JetStream there).
 *
 * Out-parameters are written only on success. What a slot returns through
 * them belongs to the caller: infos and stored messages own their strings
 * (released with their _clear function), a consumer handle is released
 * with ps_consumer_free, a fetched list owns its messages.
 *
 * Threads: a slot is called on the application's thread. Several threads
 * may call into one backend at once only where its constructor says so (the
 * JetStream backend; the memory backend on the real clock or with
 * manual_fetch_waits); then every slot must be safe to call concurrently,
 * except close. Calls through one consumer handle, and on the messages it
 * fetched, come from one thread at a time (the application's duty).
 *
 * Handlers: advisories go to ps_backend_emit_advisory, async publish
 * results to ps_backend_emit_pub_result, on the thread of a call into the
 * backend; neither handler may call back into the backend.
 */
struct ps_backend_ops {
    int version; /* 1, 2 or 3; the table only grows by appending members */
    const char *name; /* "memory", "jetstream"; never NULL in a real table */

    /* -- version 1: streams -- */

    /* stream_add: creates stream cfg->name, or returns the existing one when
     * its normalised config is identical (JS 2.3). cfg is not NULL, its name,
     * enums and durations are checked; the slot normalises the rest (JS 2.1)
     * and judges it as the server does. `out` may be NULL; when not, it
     * receives the normalised config and the state, owning its strings.
     * Errors: PS_ERR_STREAM_CONFIG (10052 and the other JS 2.2 codes),
     * PS_ERR_STREAM_NAME_IN_USE (10058), PS_ERR_STREAM_SUBJECT_OVERLAP
     * (10065). Required. */
    ps_status (*stream_add)(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out);

    /* stream_update: changes an existing stream's config (JS 2.4), checked
     * as for stream_add; `out` may be NULL. Errors: PS_ERR_STREAM_NOT_FOUND
     * (10059), PS_ERR_STREAM_CONFIG (10052, also for a field that may not
     * change: storage, retention, MaxConsumers), PS_ERR_STREAM_SUBJECT_OVERLAP.
     * Required. */
    ps_status (*stream_update)(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out);

    /* stream_info: the normalised config and state of `stream` (a checked
     * name) into `out`, which is not NULL. PS_ERR_STREAM_NOT_FOUND.
     * Required. */
    ps_status (*stream_info)(ps_backend *b, const char *stream, ps_stream_info *out);

    /* stream_delete: removes the stream, its messages and its consumers
     * (JS 2.5). Handles bound to those consumers stay valid as handles:
     * calls through them answer as for a deleted consumer, and they are
     * still freed with ps_consumer_free. PS_ERR_STREAM_NOT_FOUND. Required. */
    ps_status (*stream_delete)(ps_backend *b, const char *stream);

    /* stream_purge: removes messages (JS 10.3). `opts` may be NULL (purge
     * everything); when not, seq and keep are not both set and a filter is
     * a valid subject. `purged` may be NULL; when not, it receives the
     * number removed. Errors: PS_ERR_STREAM_NOT_FOUND, PS_ERR_STREAM_SEALED
     * (10109), PS_ERR_NOT_PERMITTED (DenyPurge, 10110). Required. */
    ps_status (*stream_purge)(ps_backend *b, const char *stream, const ps_purge_opts *opts, uint64_t *purged);

    /* msg_get: one stored message (JS 10.1) into `out` (not NULL; owns its
     * strings, ps_stored_msg_clear): by sequence when last_by_subject is
     * NULL (seq >= 1), else the last message on that subject (a checked
     * subject; seq ignored). Errors: PS_ERR_STREAM_NOT_FOUND,
     * PS_ERR_MSG_NOT_FOUND (10037). Required. */
    ps_status (*msg_get)(ps_backend *b, const char *stream, uint64_t seq, const char *last_by_subject, ps_stored_msg *out);

    /* msg_delete: removes message `seq` (>= 1), overwriting it when `erase`
     * (JS 10.2). Errors: PS_ERR_STREAM_NOT_FOUND, PS_ERR_MSG_NOT_FOUND
     * (10057 on file storage, 10043 on memory), PS_ERR_NOT_PERMITTED
     * (DenyDelete), PS_ERR_STREAM_SEALED. Required. */
    ps_status (*msg_delete)(ps_backend *b, const char *stream, uint64_t seq, bool erase);

    /* -- version 1: publishing -- */

    /* publish: stores `m` and waits for the PubAck (JS 3). `m` is checked
     * (a literal subject, data when len > 0, a non-empty msg_id or NULL, no
     * JetStream header among m->headers) and borrowed for the call. `out`
     * may be NULL. A duplicate within the window is PS_OK with
     * out->duplicate (JS 3.6). Errors: PS_ERR_NO_RESPONDERS (no stream
     * captures the subject), PS_ERR_MAX_PAYLOAD, PS_ERR_MSG_TOO_LARGE
     * (10054), PS_ERR_STORE_FAILED (10077, limits with discard new),
     * PS_ERR_WRONG_EXPECTED_STREAM (10060), PS_ERR_WRONG_LAST_SEQUENCE
     * (10071), PS_ERR_WRONG_LAST_MSG_ID (10070), PS_ERR_STREAM_SEALED,
     * PS_ERR_TIMEOUT (also when a NoAck stream stored it but sent no
     * PubAck, JS 3.12). Required: ps_publish_async falls back on it. */
    ps_status (*publish)(ps_backend *b, const ps_out_msg *m, ps_pub_ack *out);

    /* -- version 1: consumers -- */

    /* consumer_add: creates or updates a pull consumer (JS 5.3) and returns
     * a new handle bound to it. `cfg` is checked (names, enums, no negative
     * field, backoff_ns present for backoff_len, durations); `out` is not
     * NULL. On success *out is a handle the backend allocated, whose base
     * has `backend` set to `b` and `stream`/`name` pointing at strings the
     * handle owns; it belongs to the caller until ps_consumer_free. The
     * wrapper counts it: ps_backend_close answers PS_ERR_BUSY until it is
     * freed. Errors: PS_ERR_STREAM_NOT_FOUND, PS_ERR_CONSUMER_CONFIG (the
     * err_code says which rule: 10012, 10084, 10093, 10094, 10098-10101,
     * 10116...), PS_ERR_MAX_CONSUMERS (10026); PS_ERR_NOT_SUPPORTED for a
     * setting the backend does not model. Required. */
    ps_status (*consumer_add)(ps_backend *b, const char *stream, const ps_consumer_config *cfg, ps_consumer **out);

    /* consumer_bind: a new handle, as consumer_add returns it, bound to an
     * existing consumer `name` (checked) of `stream`. Errors:
     * PS_ERR_STREAM_NOT_FOUND, PS_ERR_CONSUMER_NOT_FOUND (10014). Required. */
    ps_status (*consumer_bind)(ps_backend *b, const char *stream, const char *name, ps_consumer **out);

    /* consumer_info: the consumer's normalised config and state (JS 9) into
     * `out` (not NULL; owns its strings, ps_consumer_info_clear). `c` is a
     * handle of this backend. PS_ERR_CONSUMER_NOT_FOUND when the consumer
     * (or its stream) was deleted since the handle was made. Required. */
    ps_status (*consumer_info)(ps_consumer *c, ps_consumer_info *out);

    /* consumer_delete: removes consumer `name` of `stream` (JS 5.5); its
     * pending messages are no longer tracked. Handles bound to it stay
     * valid as handles (see stream_delete). Errors: PS_ERR_STREAM_NOT_FOUND,
     * PS_ERR_CONSUMER_NOT_FOUND. Required. */
    ps_status (*consumer_delete)(ps_backend *b, const char *stream, const char *name);

    /* consumer_free: releases the handle `c` (not NULL, made by this
     * backend's consumer_add or consumer_bind), never the consumer itself.
     * The messages fetched through it have been freed (the caller's duty).
     * Cannot fail. Required (a NULL slot leaks every handle). */
    void (*consumer_free)(ps_consumer *c);

    /* fetch: pulls up to req->batch messages (JS 8) into `out`, which the
     * slot clears first and leaves empty on failure. `req` is checked
     * (batch >= 1, expires_ns and max_bytes not negative); `out` is not
     * NULL. Each message is appended with ps_msg_list_push, its meta filled
     * and consumer_ set to `c`; the list owns it. It may block up to
     * req->expires_ns when the backend's clock is real (or the memory
     * backend's manual_fetch_waits), never otherwise. Statuses as ps_fetch
     * documents them (JS 14.1): PS_OK with >= 1 message, PS_ERR_TIMEOUT,
     * PS_ERR_NO_MESSAGES, PS_ERR_MAX_WAITING, PS_ERR_PULL_REJECTED,
     * PS_ERR_MAX_BYTES, PS_ERR_CONSUMER_DELETED. Required. */
    ps_status (*fetch)(ps_consumer *c, const ps_fetch_request *req, ps_msg_list *out);

    /* ack: acknowledges `m` (fetched through a handle of this backend, whose
     * m->consumer_ is that handle) and waits for the server (AckSync).
     * `kind` is one of ps_ack_kind; nak_delay_ns is >= 0 and is 0 unless
     * kind is PS_NAK. Not called again for a message already acked, naked
     * or termed, except with PS_IN_PROGRESS: the wrapper applies JS 14.2 and
     * marks the message on PS_OK. Errors: PS_ERR_NO_RESPONDERS (the
     * consumer was deleted), PS_ERR_TIMEOUT. Required. */
    ps_status (*ack)(ps_msg *m, ps_ack_kind kind, int64_t nak_delay_ns);

    /* -- version 1: lifetime; optional slots may be NULL -- */

    /* close: frees the backend and everything it owns, `b` included. Called
     * by ps_backend_close only when no consumer handle of `b` is live, and
     * never while another thread uses `b`. A backend with async publishes
     * in flight may wait for them briefly; the results it has not emitted
     * by then are dropped, not reported. Cannot fail. Optional: NULL
     * leaves `b` to whoever made it. */
    void (*close)(ps_backend *b);

    /* next_deadline: the earliest time (ns on the backend's clock) at which
     * the backend has timed work due (ack-wait expiry, MaxAge, inactivity),
     * INT64_MAX when none. Changes nothing and records no error. Optional
     * (NULL: the wrapper answers INT64_MAX). */
    int64_t (*next_deadline)(ps_backend *b);

    /* tick: performs the timed work due at the clock's current time
     * (redelivery queueing, MaxAge removal, advisories) and wakes waiting
     * fetches; on a server, delivers the advisories that arrived. Errors:
     * PS_ERR_NO_MEMORY (the work stays due). Optional (NULL: the wrapper
     * answers PS_ERR_NOT_SUPPORTED). */
    ps_status (*tick)(ps_backend *b);

    /* restart: a server restart of `kind` (checked; JS 13.1), with what that
     * kind loses. Handles stay valid. Optional (NULL: PS_ERR_NOT_SUPPORTED;
     * restarting a real server is the harness's job). */
    ps_status (*restart)(ps_backend *b, ps_restart_kind kind);

    /* -- version 2: asynchronous publishing; optional (NULL: the wrappers
     * publish synchronously through `publish` and report at once) -- */

    /* publish_async: sends `m` (checked as for publish; borrowed for the
     * call) without waiting for the PubAck. On PS_OK, exactly one result
     * tagged with `token` must later reach ps_backend_emit_pub_result, on
     * the caller's thread, from inside a later publish_async or
     * publish_async_complete; on an error return, none. Errors: as publish
     * for what is known before sending. */
    ps_status (*publish_async)(ps_backend *b, const ps_out_msg *m, uint64_t token);

    /* publish_async_complete: waits until every outstanding async publish
     * of the backend, from every thread, has had its result emitted, or
     * until timeout_ns (>= 0, checked; 0: the backend's request timeout)
     * passes: then PS_ERR_TIMEOUT, and the rest are emitted as
     * PS_ERR_TIMEOUT results before it returns. */
    ps_status (*publish_async_complete)(ps_backend *b, int64_t timeout_ns);

    /* -- version 3: asynchronous pull requests (JS 8); optional (NULL:
     * PS_ERR_NOT_SUPPORTED). See ps_pull_start and ps_pull_poll for the
     * contract; the wrappers have checked the arguments. -- */
    ps_status (*pull_start)(ps_consumer *c, const ps_fetch_request *req, ps_pull **out);
    /* Never blocks. `out` has been cleared; `end` zeroed. */
    ps_status (*pull_poll)(ps_pull *p, ps_msg_list *out, ps_pull_end *end);
    void (*pull_free)(ps_pull *p);
};

/* ---- wrappers: the API applications call ---------------------------------- */

/* Creates a stream, or returns the existing one when its normalised config
 * is identical (JS 2.3). Errors: PS_ERR_STREAM_CONFIG (10052 and friends,
 * JS 2.2), PS_ERR_STREAM_NAME_IN_USE (10058), PS_ERR_STREAM_SUBJECT_OVERLAP
 * (10065). `out` may be NULL. */
ps_status ps_stream_add(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out);

/* JS 2.4. PS_ERR_STREAM_NOT_FOUND for a missing stream; PS_ERR_STREAM_CONFIG
 * for a field that may not change. `out` may be NULL. */
ps_status ps_stream_update(ps_backend *b, const ps_stream_config *cfg, ps_stream_info *out);

/* Config and state of a stream. PS_ERR_STREAM_NOT_FOUND (10059). */
ps_status ps_stream_info_get(ps_backend *b, const char *stream, ps_stream_info *out);

/* JS 2.5: removes the stream, its messages and its consumers. */
ps_status ps_stream_delete(ps_backend *b, const char *stream);

/* JS 10.3. `opts` may be NULL; `purged` may be NULL. seq and keep together
 * are PS_ERR_INVALID_ARG. */
ps_status ps_stream_purge(ps_backend *b, const char *stream, const ps_purge_opts *opts, uint64_t *purged);

/* JS 10.1: by sequence (last_by_subject NULL) or the last message on a
 * subject (seq ignored). PS_ERR_MSG_NOT_FOUND (10037). */
ps_status ps_msg_get(ps_backend *b, const char *stream, uint64_t seq, const char *last_by_subject, ps_stored_msg *out);

/* JS 10.2. Missing seq: PS_ERR_MSG_NOT_FOUND with 10057 (file) or 10043
 * (memory). DenyDelete: PS_ERR_NOT_PERMITTED. */
ps_status ps_msg_delete(ps_backend *b, const char *stream, uint64_t seq, bool erase);

/* Publishes and waits for the PubAck (JS 3). No stream for the subject:
 * PS_ERR_NO_RESPONDERS. A duplicate is PS_OK with out->duplicate. `out`
 * may be NULL. The other errors (limits, expectations) are listed at the
 * publish slot above. */
ps_status ps_publish(ps_backend *b, const ps_out_msg *m, ps_pub_ack *out);

/* Shorthand: data on a subject, with an optional message id. */
ps_status ps_publish_data(ps_backend *b, const char *subject, const void *data, size_t len, const char *msg_id, ps_pub_ack *out);

/* Creates a pull consumer, or updates it when one of that name exists
 * (JS 5.3), and returns a handle bound to it. Free the handle with
 * ps_consumer_free (the consumer itself stays) before closing the backend:
 * ps_backend_close answers PS_ERR_BUSY while a handle is live. Errors: PS_ERR_CONSUMER_CONFIG
 * (see ps_last_error_code for 10012/10093/10094/10098-10101/10116...),
 * PS_ERR_MAX_CONSUMERS, PS_ERR_STREAM_NOT_FOUND. */
ps_status ps_consumer_add(ps_backend *b, const char *stream, const ps_consumer_config *cfg, ps_consumer **out);

/* A handle bound to an existing consumer: PS_ERR_CONSUMER_NOT_FOUND or
 * PS_ERR_STREAM_NOT_FOUND otherwise. Freed as ps_consumer_add's. */
ps_status ps_consumer_bind(ps_backend *b, const char *stream, const char *name, ps_consumer **out);

/* JS 9. PS_ERR_CONSUMER_NOT_FOUND when it was deleted meanwhile. */
ps_status ps_consumer_info_get(ps_consumer *c, ps_consumer_info *out);

/* JS 5.5. */
ps_status ps_consumer_delete(ps_backend *b, const char *stream, const char *name);

/* Releases a handle (not the consumer); from then on ps_backend_close no
 * longer waits for it. Messages fetched through it must be freed first.
 * NULL is fine. */
void ps_consumer_free(ps_consumer *c);

/* Pulls up to req->batch messages into `out` (cleared first), JS 8, with
 * the results cnats gives (JS 14.1): PS_OK with >= 1 message; PS_ERR_TIMEOUT
 * when none came before expiry; PS_ERR_NO_MESSAGES for no_wait without
 * expires and nothing available; PS_ERR_MAX_WAITING, PS_ERR_PULL_REJECTED,
 * PS_ERR_MAX_BYTES, PS_ERR_CONSUMER_DELETED as the server's 409s.
 * On a manual clock a fetch never blocks: it returns what is deliverable at
 * the current instant, as the server would if nothing changed before expiry
 * (unless the memory backend was made with manual_fetch_waits: then it
 * waits for another thread to publish or to advance the clock). */
ps_status ps_fetch(ps_consumer *c, const ps_fetch_request *req, ps_msg_list *out);

/* Shorthand for ps_fetch with {batch, expires_ns}. */
ps_status ps_fetch_batch(ps_consumer *c, int batch, int64_t expires_ns, ps_msg_list *out);

/* Acknowledges a fetched message and waits for the server to process it
 * (AckSync). nak_delay_ns is used with PS_NAK only (0 = none). As in cnats
 * (JS 14.2) a message already acked, naked or termed ignores further calls
 * and returns PS_OK, except PS_IN_PROGRESS, which may repeat. A consumer
 * deleted meanwhile: PS_ERR_NO_RESPONDERS. */
ps_status ps_ack(ps_msg *m, ps_ack_kind kind, int64_t nak_delay_ns);

/* Sends an acknowledgement of `kind` for `m` whatever this message object
 * sent before: a second ACK, a NAK or TERM after an ACK, an ACK of a stale
 * delivery (one redelivered since). The server applies or ignores it by its
 * own rules (JS 7.3-7.9: keyed by stream sequence; a NAK of a message no
 * longer pending is ignored; TERM always emits its advisory), and answers
 * every ack that carries a reply (JS 7.2), so this returns PS_OK for all of
 * them; PS_ERR_NO_RESPONDERS when the consumer is gone. ps_ack is this
 * plus cnats's client-side rule (JS 14.2). Marks nothing on `m`. */
ps_status ps_ack_send(ps_msg *m, ps_ack_kind kind, int64_t nak_delay_ns);

/* Starts a pull request (JS 8.1) on consumer `c` and returns at once with
 * its handle in *out; the messages and the status that ends it come through
 * ps_pull_poll, which never blocks, so a single-threaded event loop can
 * keep many pulls waiting. req: batch >= 1; expires_ns > 0: the server ends
 * the request with 408 at now + expires_ns (on the backend's clock: a
 * manual clock's tick does it, and ps_backend_next_deadline includes it);
 * expires_ns 0: no expiry (with no_wait: 404 at once when nothing is
 * there, else a one-shot that ends with 408 once it got messages and no
 * more are there); max_bytes 0: no limit. Like the server, the backend
 * admits or refuses the request after it was sent: a refusal (MaxWaiting,
 * MaxRequestBatch...) is the pull's ending status, not this call's result.
 * Errors here: PS_ERR_INVALID_ARG, PS_ERR_NOT_SUPPORTED (a backend of a
 * table version below 3, or without the slots), PS_ERR_NO_MEMORY, a
 * connection failure. On a missing consumer the server drops the request
 * silently (JS 5.5): the pull ends only at its expiry, with PS_ERR_TIMEOUT
 * and code 0. Free the handle with ps_pull_free before freeing `c`. */
ps_status ps_pull_start(ps_consumer *c, const ps_fetch_request *req, ps_pull **out);

/* Moves the messages delivered to the pull since the last poll into `out`
 * (cleared first; acknowledge them as fetched messages) and says in `end`
 * whether the request is over and how (ps_pull_end). Never blocks. Once a
 * poll reported done, later polls report the same end with no messages.
 * Returns PS_OK, or the failure of the poll itself (PS_ERR_NO_MEMORY, a
 * connection error; `end` then zeroed). */
ps_status ps_pull_poll(ps_pull *p, ps_msg_list *out, ps_pull_end *end);

/* Withdraws the request if it still waits (the server drops a request
 * whose reply subject lost interest, JS 8.4) and frees the handle; messages
 * already polled stay valid. NULL is fine. */
void ps_pull_free(ps_pull *p);

/* Publishes without waiting for the PubAck (JS 3): the checks of
 * ps_publish, then the message goes out and its result reaches the handler
 * set by ps_backend_set_pub_result_handler, tagged with `token`, from a
 * later ps_publish_async or from ps_publish_async_complete. A backend
 * without a native async path publishes synchronously and reports at once.
 * On an error return the handler is never called for this message. */
ps_status ps_publish_async(ps_backend *b, const ps_out_msg *m, uint64_t token);

/* Waits until every async publish has reported (PS_OK) or timeout_ns has
 * passed (PS_ERR_TIMEOUT). It waits for the whole backend's async
 * publishes, from every thread. Either way every async publish has its result
 * when it returns: those whose PubAck had not come by then are reported
 * as PS_ERR_TIMEOUT (a late PubAck is dropped; retry with the same msg_id,
 * which dedup makes safe). timeout_ns 0: the backend's request timeout. */
ps_status ps_publish_async_complete(ps_backend *b, int64_t timeout_ns);

/* Registers the async publish result callback (NULL to remove). */
void ps_backend_set_pub_result_handler(ps_backend *b, ps_pub_result_fn fn, void *user);

/* Registers the advisory callback (NULL to remove). */
void ps_backend_set_advisory_handler(ps_backend *b, ps_advisory_fn fn, void *user);

/* Optional capabilities; PS_ERR_NOT_SUPPORTED when the backend has none. */
int64_t ps_backend_next_deadline(ps_backend *b); /* INT64_MAX when unsupported */
ps_status ps_backend_tick(ps_backend *b);
ps_status ps_backend_restart(ps_backend *b, ps_restart_kind kind);

/* "memory", "jetstream"; "" for NULL. */
const char *ps_backend_name(const ps_backend *b);

/* Closes the backend and frees it. PS_OK, also for NULL. PS_ERR_BUSY when
 * consumer handles made from it (ps_consumer_add, ps_consumer_bind) are
 * not all freed, or a backend that wraps it (a fault shim) is not closed:
 * then nothing is closed or freed, as libuv's uv_loop_close answers
 * UV_EBUSY, and the caller frees the handles, closes the wrapper first and
 * closes again.
 * Not to be called while another thread still uses the backend. */
ps_status ps_backend_close(ps_backend *b);

PS_API_END

#endif
