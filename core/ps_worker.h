/* ps_worker.h — the worker applications and the simulator share.
 *
 * A worker drains one durable pull consumer: it fetches batches, hands each
 * message to a handler, and turns the handler's answer into an ack, a nak
 * with a backoff delay, or a term (JS 7). It bounds concurrency (never more
 * than max_in_flight messages fetched and not yet completed), lets a handler
 * keep a message and complete it later (PS_HANDLE_DEFER: an asynchronous
 * handler, or the simulator's handler that finishes in virtual time), and
 * stops gracefully by naking what it still holds, so another worker gets it
 * at once instead of after AckWait.
 *
 * Ownership of messages: every poll fetches into a fresh ps_msg_list (a
 * cleared one is reused when available) that the worker keeps until every
 * message in it is completed; then the list is cleared for reuse or freed.
 * So a ps_msg handed to the handler stays valid, whatever later polls fetch,
 * until it is completed: when the handler returns ACK, RETRY or TERM, or,
 * for a deferred message, when ps_worker_complete returns, or when
 * ps_worker_stop or ps_worker_free returns. After that the pointer must not
 * be used (the worker may reuse the memory for a later message).
 *
 * Time: the worker never sleeps, and reads a clock only when given one
 * (cfg.clock, for delayed jobs). Only ps_fetch may wait, up to
 * fetch_expires_ns, and on a manual clock the backend does not wait.
 *
 * Three patterns of job systems, each off unless configured:
 *  - Dead letters (dead_letter_subject): a job that failed for good (a
 *    TERM, or a RETRY on its last allowed delivery) is republished to a
 *    subject with its headers and the reason, then termed. A failed
 *    republish leaves the job for redelivery, never lost.
 *  - Delayed jobs (clock): a message whose PS_NOT_BEFORE_HEADER names a
 *    later time is naked with a delay to that time (JetStream 2.9 has no
 *    scheduled messages) without reaching the handler; not a failure.
 *  - Ordered per key (key_header): at most one message per key is handed
 *    out at a time; later messages of a busy key wait inside the worker,
 *    so keys run in parallel and each key in publish order.
 *
 * Threads: a worker is used from one thread at a time. An asynchronous
 * handler hands its result back to that thread, which calls
 * ps_worker_complete.
 *
 * This module is not: a scheduler or a thread pool (the application decides
 * when to poll), nor a job database (acks are the only state it writes).
 */
#ifndef PS_WORKER_H
#define PS_WORKER_H

#include <stdint.h>

#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_msg.h"
#include "ps_status.h"
#include "ps_api.h"

PS_API_BEGIN

/* Delayed jobs: the earliest time a job may be handled, as decimal
 * nanoseconds since the Unix epoch on the worker's clock (cfg.clock), e.g.
 * "Jetsim-Not-Before: 1767225600000000000". A message delivered earlier is
 * naked with a delay to that time. Each such nak uses one delivery of the
 * consumer's MaxDeliver (JS 7.6), usually one in all: count it in. A value
 * that is not such a number is ignored (the job is handled now). */
#define PS_NOT_BEFORE_HEADER "Jetsim-Not-Before"

/* The headers a dead letter carries besides the original's own (minus the
 * JetStream ones, Nats-*, whose Nats-Msg-Id is kept as
 * Jetsim-Dead-Msg-Id): why it died ("max_deliver" or "term"), and where
 * it came from. The dead letter's own Nats-Msg-Id is
 * "jetsim-dead:<stream>:<seq>", so a republish repeated after a lost
 * PubAck is stored once (inside the dead-letter stream's dupe window). */
#define PS_DEAD_REASON_HEADER "Jetsim-Dead-Reason"
#define PS_DEAD_STREAM_HEADER "Jetsim-Dead-Stream"
#define PS_DEAD_SEQ_HEADER "Jetsim-Dead-Seq"
#define PS_DEAD_SUBJECT_HEADER "Jetsim-Dead-Subject"
#define PS_DEAD_DELIVERIES_HEADER "Jetsim-Dead-Deliveries"
#define PS_DEAD_MSG_ID_HEADER "Jetsim-Dead-Msg-Id"

typedef enum ps_handle_result {
    PS_HANDLE_ACK = 0, /* done: +ACK */
    PS_HANDLE_RETRY,   /* failed, try again: -NAK with the backoff delay */
    PS_HANDLE_TERM,    /* failed for good: +TERM, never redelivered */
    PS_HANDLE_DEFER    /* the handler keeps it; see ps_worker_complete */
} ps_handle_result;

typedef struct ps_worker ps_worker;

/* Handles one message. `m` is owned by the worker (see above). The handler
 * may call ps_worker_in_progress (on `m` or a deferred message),
 * ps_worker_complete (on deferred messages, not on `m`: return the result
 * instead) and ps_worker_stop; it must not call ps_worker_poll or
 * ps_worker_free. A result outside the enum is treated as PS_HANDLE_RETRY
 * and reported to on_error as PS_ERR_INVALID_ARG. */
typedef ps_handle_result (*ps_worker_handler_fn)(void *user, ps_msg *m);

/* Reports an ack, nak or term the backend refused (kind says which; `st`
 * and `detail` are ps_ack's status and ps_last_error()). The message is
 * released all the same: the server redelivers it after AckWait. `m` and
 * `detail` are valid for the call only. Same restrictions as the handler. */
typedef void (*ps_worker_error_fn)(void *user, const ps_msg *m, ps_ack_kind kind, ps_status st,
                                   const char *detail);

/* A dead letter of `m` was published (its PubAck came) for `reason`
 * ("max_deliver" or "term"); the original's term follows. For the
 * application's own records: read `m` (its headers too), do not complete
 * it. `m` and `reason` are valid for the call only. Same restrictions as
 * the handler. */
typedef void (*ps_worker_dead_fn)(void *user, ps_msg *m, const char *reason);

typedef struct ps_worker_config {
    const char *stream;            /* required */
    /* The consumer, created or updated with ps_consumer_add (JS 5.3).
     * durable is required: several workers share one durable, and it
     * outlives them. Borrowed for ps_worker_new only. */
    ps_consumer_config consumer;
    int batch;                     /* most messages per fetch; >= 1 */
    /* How long a fetch waits for messages (>= 0); 0 as ps_fetch_request
     * defines it (what is available now). On a manual clock the memory
     * backend never waits, whatever this is. */
    int64_t fetch_expires_ns;
    /* Most messages held at once, deferred ones included. 0: batch. */
    int max_in_flight;
    ps_worker_handler_fn handler;  /* required */
    /* Nak delay for PS_HANDLE_RETRY: nak_backoff_ns[min(num_delivered - 1,
     * nak_backoff_len - 1)]; each >= 0 (0: plain nak). NULL/0: plain nak,
     * immediate redelivery (JS 7.6). Copied. */
    const int64_t *nak_backoff_ns;
    int nak_backoff_len;
    ps_worker_error_fn on_error;   /* NULL for none */
    void *user;                    /* passed to handler and on_error */
    /* Fetch with no_wait (ps_fetch_request): an empty consumer answers at
     * once (PS_ERR_NO_MESSAGES, a normal empty poll) instead of at an
     * expiry. What a poll loop against a real server wants. */
    bool fetch_no_wait;

    /* Dead letters; NULL for none. A literal subject some stream stores
     * (not one the worker's own consumer takes, or the dead letter comes
     * back as a job). A job dies on a TERM (the handler's or a
     * completion's), and on a RETRY of delivery num_delivered >=
     * dead_letter_after. The worker publishes the message there (data,
     * headers, PS_DEAD_* headers) and, only when the PubAck comes, terms
     * the original. When the publish fails it naks the original instead
     * (with the backoff delay) and reports PS_NAK and the publish's status
     * to on_error: the job comes back while deliveries remain, and its
     * next failure tries the dead letter again. Borrowed for ps_worker_new
     * only. */
    const char *dead_letter_subject;
    /* The delivery from which a RETRY dead-letters; 0: the consumer's
     * max_deliver (then a failed publish on the last delivery has no
     * delivery left: the server delivers it no more (JS 7.6) and it stays
     * stored in the stream). Set it below max_deliver to keep spare
     * deliveries for such retries. Without either, only TERMs
     * dead-letter. Requires dead_letter_subject. */
    int dead_letter_after;
    ps_worker_dead_fn on_dead_letter; /* NULL for none */
    /* Delayed jobs: the clock PS_NOT_BEFORE_HEADER is read against (the
     * backend's: ps_memory's manual clock, ps_clock_real() for a real
     * server); NULL ignores the header. Borrowed: must outlive the worker. */
    ps_clock *clock;
    /* Ordered per key: the header whose value is a message's key; NULL for
     * no ordering. A message without it has no key and waits for nothing.
     * A key's messages are handed out one at a time, in stream-sequence
     * (publish) order: while a message of key K is handled or deferred,
     * or one of K with a lower sequence waits or is expected back, later
     * messages of K wait in the worker (counted in max_in_flight, so a
     * worker full of waiting messages fetches nothing more), and the next
     * poll hands them out once K is free. Other keys go on meanwhile.
     * A RETRY of a keyed message is a plain nak (no backoff, no explicit
     * delay): JetStream redelivers naked messages before anything new
     * (JS 7.6), so it comes back in the next fetches, and the messages of
     * K waiting behind it stay in the worker until it does. Waiting
     * locally is what keeps the order: a busy key's messages naked with a
     * delay would go back to the server, which may deliver them while the
     * key's earlier message waits there, unknown to the worker.
     * Limits: order holds inside one worker; several workers on one
     * consumer each take messages of any key (partition keys by filter
     * subject, a consumer per partition). A message that comes back only
     * after AckWait (a crash, a lost ack or nak, a handler that outlives
     * AckWait, PS_HANDLE_DEFER given to ps_worker_complete_ex) may come
     * after later messages of its key (only max_ack_pending=1 prevents
     * that): the worker stops waiting for a naked message once a fetch
     * brings a new one (the server had no redelivery left) or when it is
     * full of waiting messages. A waiting message's AckWait runs
     * (ps_worker_in_progress on its key's message restarts it too). A
     * delayed job (PS_NOT_BEFORE_HEADER) takes its key's turn when it is
     * due. Borrowed for ps_worker_new only. */
    const char *key_header;
} ps_worker_config;

/* Counters since ps_worker_new; all cumulative except in_flight. */
typedef struct ps_worker_stats {
    uint64_t fetched;   /* messages fetched (= handed to the handler, unless a stop came first) */
    uint64_t acked;     /* acks the backend accepted */
    uint64_t naked;     /* naks accepted, the ones of ps_worker_stop, of not-before
                           and of key_header's followers included */
    uint64_t termed;    /* terms accepted */
    uint64_t deferred;  /* PS_HANDLE_DEFER results */
    uint64_t in_flight; /* now: fetched and not completed */
    uint64_t errors;    /* acks/naks/terms refused, unknown handler results,
                           fetch failures other than "nothing came",
                           dead-letter publishes that failed */
    uint64_t dead_lettered; /* dead letters published (PubAck received) */
    uint64_t delayed;   /* naks of messages delivered before their not-before */
    uint64_t held_back; /* messages that waited for their key */
} ps_worker_stats;

/* Creates or updates cfg->consumer on cfg->stream (ps_consumer_add) and
 * returns a worker bound to it. `b` is borrowed and must outlive the worker.
 * Errors: PS_ERR_INVALID_ARG with a detail for a NULL out, backend or
 * config, a missing stream, durable or handler, batch < 1, negative
 * fetch_expires_ns, max_in_flight, dead_letter_after or backoff values, an
 * empty or wildcard dead_letter_subject, dead_letter_after without one or
 * past consumer.max_deliver (the job would stay in the stream), an
 * empty key_header; whatever
 * ps_consumer_add returns (PS_ERR_STREAM_NOT_FOUND, PS_ERR_CONSUMER_CONFIG,
 * ...); PS_ERR_NO_MEMORY. *out is written only on success; free the worker
 * with ps_worker_free. */
ps_status ps_worker_new(ps_worker **out, ps_backend *b, const ps_worker_config *cfg);

/* One round: first hands the handler the messages that waited for their
 * key (key_header) and whose key is free now, oldest first; then fetches
 * up to min(batch, max_in_flight - in_flight) messages (none, without
 * asking the server, when that is 0) and runs the handler on each, in
 * delivery order (a message not yet due is naked to its time instead, one
 * of a busy key waits). `*handled` (handled may be NULL) is set to the
 * number of messages handed to the handler.
 *
 * Returns PS_OK when messages were handled and also when none came: the
 * fetch's PS_ERR_TIMEOUT and PS_ERR_NO_MESSAGES are normal for an idle
 * consumer and give PS_OK with *handled = 0. Other fetch failures
 * (PS_ERR_CONSUMER_DELETED, PS_ERR_MAX_WAITING, PS_ERR_PULL_REJECTED, ...)
 * are returned, counted in errors, with *handled counting only the
 * waiting messages handed out before the fetch (0 without key_header). Ack failures are not
 * returned (see on_error). PS_ERR_CLOSED after ps_worker_stop;
 * PS_ERR_INVALID_ARG for a NULL worker or a call from inside a handler.
 * If the handler calls ps_worker_stop, the poll hands out no more messages
 * and stops the worker before returning. */
ps_status ps_worker_poll(ps_worker *w, int *handled);

/* As ps_worker_poll, fetching at most max_fetch (>= 1) messages this time:
 * a caller whose own room for work changes from poll to poll (runners
 * with more or less free) takes no more than it can start soon, leaving
 * the rest to other workers of the consumer. PS_ERR_INVALID_ARG for
 * max_fetch < 1; otherwise the same results. */
ps_status ps_worker_poll_max(ps_worker *w, int max_fetch, int *handled);

/* As ps_worker_poll_max, with this poll's fetch waiting up to expires_ns
 * (> 0, else PS_ERR_INVALID_ARG) for its messages, whatever the config's
 * fetch_expires_ns and fetch_no_wait say: an idle worker waits in a pull
 * request, which the server answers as soon as the messages are there,
 * instead of asking again and again. A request for n messages ends when n
 * came or at the expiry, so an idle caller that wants to start at once
 * asks for 1. On a manual clock the memory backend does not wait. */
ps_status ps_worker_poll_wait(ps_worker *w, int max_fetch, int64_t expires_ns, int *handled);

/* Completes a message the handler deferred: `result` is PS_HANDLE_ACK,
 * PS_HANDLE_RETRY or PS_HANDLE_TERM, applied as in a handler's return. The
 * message is released when this returns, even if the backend refused the
 * ack (that goes to on_error). Returns PS_OK; PS_ERR_INVALID_ARG for NULL
 * arguments, PS_HANDLE_DEFER or an unknown result, or a message that is not
 * deferred by this worker (never deferred, being handled, already
 * completed); PS_ERR_CLOSED after ps_worker_stop, when every held message
 * has already been naked and released. Finds the message in O(in_flight). */
ps_status ps_worker_complete(ps_worker *w, ps_msg *m, ps_handle_result result);

/* As ps_worker_complete, with two more answers: PS_HANDLE_RETRY naks with
 * `delay_ns` (0 to PS_DURATION_MAX_NS) instead of the configured backoff
 * (ignored for ACK and TERM, and for a keyed message: see key_header), and PS_HANDLE_DEFER releases the message
 * without answering at all (the server redelivers it after AckWait, as
 * for a handler that hung). Same errors as ps_worker_complete, and
 * PS_ERR_INVALID_ARG for a delay out of range. */
ps_status ps_worker_complete_ex(ps_worker *w, ps_msg *m, ps_handle_result result, int64_t delay_ns);

/* Sends +WPI for a message the worker holds (being handled or deferred),
 * restarting its ack wait (JS 7.7), and for the messages waiting in the
 * worker for its key (key_header), whose AckWait runs meanwhile. Returns ps_ack's status (not counted in
 * the stats, not reported to on_error); PS_ERR_INVALID_ARG for NULL
 * arguments or a message the worker does not hold; PS_ERR_CLOSED after
 * ps_worker_stop. */
ps_status ps_worker_in_progress(ps_worker *w, ps_msg *m);

/* Graceful stop: naks, without delay, every message the worker holds and
 * has not completed (deferred ones, and fetched ones not yet handled), in
 * fetch order, so they are redelivered promptly (JS 6.4, 7.6) in that
 * order; then releases them. Later polls return PS_ERR_CLOSED. The consumer
 * itself stays. Nak failures go to on_error. Returns PS_OK (again on a
 * stopped worker); PS_ERR_INVALID_ARG for NULL. Called from a handler or
 * on_error, it only records the request, and the poll or complete that ran
 * the callback stops the worker before returning. */
ps_status ps_worker_stop(ps_worker *w);

/* Copies the counters into `out`. PS_ERR_INVALID_ARG for NULL arguments.
 * (Named like ps_stream_info_get: the struct has the shorter name.) */
ps_status ps_worker_stats_get(const ps_worker *w, ps_worker_stats *out);

/* The consumer handle the worker fetches through (for ps_consumer_info_get),
 * owned by the worker; NULL for a NULL worker. */
ps_consumer *ps_worker_consumer(ps_worker *w);

/* Stops the worker if it is running, then frees it and its consumer handle
 * (not the consumer). NULL is fine. Not from inside a handler or on_error. */
void ps_worker_free(ps_worker *w);

PS_API_END

#endif
