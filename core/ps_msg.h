/* ps_msg.h — messages and headers as a JetStream client sees them.
 *
 * ps_headers: an ordered list of (name, value) pairs with the NATS wire
 * encoding ("NATS/1.0\r\nName: value\r\n...\r\n"), whose length is what
 * JetStream counts against MaxMsgSize and in stream bytes (JS 3.8, 3.9).
 * ps_out_msg: what a publisher sends, with the JetStream headers as fields.
 * ps_msg: what a consumer receives, with its delivery metadata (JS 6.9,
 * 6.10). ps_msg_list: the result of a fetch; it owns its messages.
 *
 * This module is not: a transport. Backends fill ps_msg_list through
 * ps_msg_list_push, in the backend-author header ps_backend_impl.h.
 */
#ifndef PS_MSG_H
#define PS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ps_status.h"
#include "ps_api.h"

PS_API_BEGIN

/* Header names exactly as on the wire (JS 3.5). */
#define PS_HDR_MSG_ID "Nats-Msg-Id"
#define PS_HDR_EXPECTED_STREAM "Nats-Expected-Stream"
#define PS_HDR_EXPECTED_LAST_SEQ "Nats-Expected-Last-Sequence"
#define PS_HDR_EXPECTED_LAST_SUBJ_SEQ "Nats-Expected-Last-Subject-Sequence"
#define PS_HDR_EXPECTED_LAST_MSG_ID "Nats-Expected-Last-Msg-Id"

/* ---- headers ---------------------------------------------------------- */

typedef struct ps_headers ps_headers;

/* A new empty list; NULL on allocation failure (PS_ERR_NO_MEMORY the last
 * error). Free with ps_headers_free. */
ps_headers *ps_headers_new(void);
void ps_headers_free(ps_headers *h); /* NULL is fine */

/* Appends a pair (copies both strings). Names must be non-empty without
 * ':' , whitespace or control characters; values without CR or LF.
 * PS_ERR_INVALID_ARG with a detail otherwise. */
ps_status ps_headers_add(ps_headers *h, const char *name, const char *value);

/* Replaces every pair named `name` by one pair (adds it if absent). */
ps_status ps_headers_set(ps_headers *h, const char *name, const char *value);

/* First value of `name` (exact, case-sensitive as the server reads the
 * JetStream headers), or NULL. Owned by `h`, valid until it changes. */
const char *ps_headers_get(const ps_headers *h, const char *name);

int ps_headers_count(const ps_headers *h);
const char *ps_headers_name_at(const ps_headers *h, int i);
const char *ps_headers_value_at(const ps_headers *h, int i);

/* Length of the wire encoding; 0 for NULL or an empty list. */
size_t ps_headers_wire_len(const ps_headers *h);

/* Parses a wire header block ("NATS/1.0..."), as found in a stored or
 * delivered message, into a new list. PS_ERR_INVALID_ARG if malformed. */
ps_status ps_headers_decode(ps_headers **out, const char *buf, size_t len);

/* ---- outgoing messages ------------------------------------------------ */

/* What a publisher sends. All pointers are borrowed for the call only.
 * `msg_id` and the expectations become the JetStream headers of JS 3.5;
 * `headers` holds any others (it must not contain the JetStream ones). */
typedef struct ps_out_msg {
    const char *subject;   /* literal subject, required */
    const void *data;      /* may be NULL when len == 0 */
    size_t len;
    const char *msg_id;    /* Nats-Msg-Id, NULL for none */
    const char *expected_stream;       /* Nats-Expected-Stream, NULL for none */
    const char *expected_last_msg_id;  /* Nats-Expected-Last-Msg-Id */
    uint64_t expected_last_seq;        /* used when has_expected_last_seq */
    uint64_t expected_last_subject_seq; /* used when has_...; 0 = "none yet" */
    bool has_expected_last_seq;
    bool has_expected_last_subject_seq;
    const ps_headers *headers; /* other headers, may be NULL */
} ps_out_msg;

/* Length of the wire header block the message will carry (0 without
 * headers): the `len(hdr)` of JS 3.8-3.9. */
size_t ps_out_msg_header_len(const ps_out_msg *m);

/* Writes that header block into `buf` (at least ps_out_msg_header_len
 * bytes); returns the number of bytes written. */
size_t ps_out_msg_header_encode(const ps_out_msg *m, char *buf);

/* ---- received messages ------------------------------------------------ */

typedef struct ps_consumer ps_consumer;

/* Delivery metadata, as parsed from the ack subject (JS 6.10). */
typedef struct ps_msg_meta {
    const char *stream;     /* owned by the consumer handle */
    const char *consumer;   /* owned by the consumer handle */
    uint64_t stream_seq;
    uint64_t consumer_seq;  /* dseq: counts redeliveries too (JS 6.9) */
    uint64_t num_delivered; /* delivery count, 1 on first delivery */
    uint64_t num_pending;   /* NumPending right after this delivery */
    int64_t timestamp_ns;   /* store time, same on every redelivery */
} ps_msg_meta;

typedef struct ps_msg {
    const char *subject;   /* NUL-terminated, owned by the message */
    const void *data;      /* owned by the message; NUL after the last byte */
    size_t len;
    const char *hdr;       /* raw wire header block or NULL */
    size_t hdr_len;
    ps_msg_meta meta;
    /* -- private to core and backends -- */
    ps_consumer *consumer_; /* where acks go; must outlive the message */
    void *backend_ref_;     /* backend-specific (a natsMsg*, say) */
    ps_headers *headers_;   /* decoded lazily */
    char *reply_;           /* built lazily */
    char *buf_;             /* storage for subject, hdr and data */
    size_t cap_;
    bool acked_;            /* JS 14.2: later acks are local no-ops */
} ps_msg;

/* The message's headers, decoded on first use; NULL when it has none, or
 * when they cannot be decoded (ps_last_status() then says why:
 * PS_ERR_NO_MEMORY, PS_ERR_INVALID_ARG). Owned by the message. */
const ps_headers *ps_msg_headers(ps_msg *m);

/* Value of header `name`, or NULL. Owned by the message. */
const char *ps_msg_header(ps_msg *m, const char *name);

/* The ack subject "$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.
 * <pending>" (JS 6.10), built on first use; owned by the message. NULL for
 * a message not fetched from a consumer, or out of memory (then with
 * PS_ERR_NO_MEMORY as the last error). */
const char *ps_msg_reply(ps_msg *m);

/* Parses an ack subject (the 9-token v1 form, or the 12-token v2 form) into
 * `out`; stream and consumer point into `scratch` (at least strlen(reply)+1
 * bytes). PS_ERR_INVALID_ARG when it is not an ack subject. */
ps_status ps_ack_subject_parse(const char *reply, ps_msg_meta *out,
                               char *scratch, size_t scratch_len);

/* ---- lists ------------------------------------------------------------- */

/* The result of a fetch. Zero-initialise it ({0}) before first use. The
 * list owns its messages; ps_msg_list_clear releases them for reuse (the
 * list keeps their buffers), ps_msg_list_free releases everything. */
typedef struct ps_msg_list {
    ps_msg **msgs;
    int count;
    int cap_;   /* allocated slots */
    int pool_;  /* slots beyond count that still hold reusable messages */
} ps_msg_list;

void ps_msg_list_clear(ps_msg_list *l);
void ps_msg_list_free(ps_msg_list *l);

/* Backends fill a list with ps_msg_list_push (ps_backend_impl.h). */

PS_API_END

#endif
