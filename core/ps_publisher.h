/* ps_publisher.h — the publisher applications and the simulator share.
 *
 * A publisher sends messages through the contract (ps_publish) and adds
 * what every job system's producer ends up writing by hand: a subject
 * prefix, creation of its stream when none captures the subject, retries of
 * transient failures, and a per-publish callback for metrics. Retries are
 * safe when the caller sets msg_id: the id is passed through unchanged, so a
 * retry of a publish whose PubAck was lost comes back as a duplicate (JS 3.4)
 * instead of storing the message twice.
 *
 * Time comes from a ps_clock, never from the system clock. On a manual clock
 * the publisher never waits: retries follow each other at the same virtual
 * instant. A simulator that wants retries spread over virtual time sets
 * max_retries to 0 and schedules the re-publish itself, with the same msg_id.
 * On any other clock the publisher sleeps retry_wait_ns between attempts.
 *
 * This module is not: an asynchronous publisher (every publish waits for its
 * PubAck), nor thread-safe (use one publisher per thread; the backend under
 * it may be shared where its constructor allows).
 */
#ifndef PS_PUBLISHER_H
#define PS_PUBLISHER_H

#include <stdint.h>

#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_msg.h"
#include "ps_status.h"
#include "ps_api.h"

PS_API_BEGIN

typedef struct ps_publisher ps_publisher;

/* Called once for every ps_publisher_publish that passed its argument checks
 * and made at least one attempt, successful or not: it observes, it does not
 * complete anything. `m` is the message as sent (subject with the prefix);
 * `ack` is NULL unless st == PS_OK; `latency_ns` runs on the publisher's
 * clock from the call's start to its last answer, waits included; `attempts`
 * counts every ps_publish made for this call. Everything is valid for the
 * call only. The callback may call any jetsim function except on this
 * publisher; the publisher restores the caller's last-error detail after it. */
typedef void (*ps_on_publish_fn)(void *user, const ps_out_msg *m, ps_status st,
                                 const ps_pub_ack *ack, int64_t latency_ns, int attempts);

typedef struct ps_publisher_config {
    /* Prepended with a '.' to every subject: prefix "orders" sends
     * "created" to "orders.created". NULL or "" sends subjects as given.
     * Must be a literal subject (no wildcards). Copied. */
    const char *subject_prefix;
    /* When a publish answers PS_ERR_NO_RESPONDERS (no stream captures the
     * subject), create this stream with ps_stream_add and publish again at
     * once (see ps_publisher_publish). NULL: never create. Deep-copied by
     * ps_publisher_new; the server validates it at creation time. */
    const ps_stream_config *auto_create;
    /* Transient failures (below) are retried up to this many times; 0: no
     * retries. Negative is PS_ERR_INVALID_ARG. */
    int max_retries;
    /* Wait before each retry (>= 0). Skipped on a manual clock. */
    int64_t retry_wait_ns;
    /* Measures latency, and tells whether waits are real. NULL: the real
     * clock. Borrowed: it must outlive the publisher. Give the memory
     * backend's clock here to measure on virtual time. */
    ps_clock *clock;
    ps_on_publish_fn on_publish; /* NULL for none */
    void *user;                  /* passed to on_publish */
} ps_publisher_config;

/* Counters since ps_publisher_new. */
typedef struct ps_publisher_stats {
    uint64_t published;       /* calls that returned PS_OK, duplicates included */
    uint64_t duplicates;      /* of those, PubAcks with duplicate:true */
    uint64_t failed;          /* calls that made an attempt and failed */
    uint64_t retries;         /* re-publishes after a transient failure */
    uint64_t streams_created; /* auto-create's ps_stream_add that succeeded
                                 (also when an identical stream existed, JS 2.3) */
} ps_publisher_stats;

/* A new publisher over backend `b` (borrowed: it must outlive the
 * publisher). `cfg` may be NULL (no prefix, no auto-create, no retries,
 * real clock); it is copied, nothing in it is kept except `clock` and
 * `user`. Errors: PS_ERR_INVALID_ARG (NULL out or backend, negative
 * max_retries or retry_wait_ns, a prefix that is not a literal subject, an
 * auto_create without a name), PS_ERR_NO_MEMORY. *out is written only on
 * success; free it with ps_publisher_free. */
ps_status ps_publisher_new(ps_publisher **out, ps_backend *b, const ps_publisher_config *cfg);

/* Publishes `m` with the prefix applied and waits for the PubAck.
 *
 * Attempts: one ps_publish. On PS_ERR_NO_RESPONDERS with auto_create set
 * and no stream created yet in this call: ps_stream_add, and when it
 * succeeds one immediate re-publish that is not a retry. Then, while the
 * last status is transient and fewer than max_retries retries were made:
 * wait retry_wait_ns (real clocks only) and publish again. Transient means
 * PS_ERR_TIMEOUT, PS_ERR_UNAVAILABLE, PS_ERR_IO, and PS_ERR_NO_RESPONDERS
 * after this call created the stream. A ps_stream_add that fails
 * transiently is retried like a publish (the next NO_RESPONDERS tries the
 * creation again); one that fails otherwise (PS_ERR_STREAM_SUBJECT_OVERLAP,
 * PS_ERR_STREAM_NAME_IN_USE, ...) ends the call with its status. So a call
 * makes at most 2 + max_retries ps_publish attempts.
 *
 * Returns PS_OK and fills `out` (may be NULL) with the PubAck, whose
 * `duplicate` says the stream already had m->msg_id (JS 3.4); otherwise the
 * last status, with its detail in ps_last_error(). PS_ERR_INVALID_ARG for a
 * NULL publisher, message or subject, without calling on_publish. `m` is
 * borrowed for the call. */
ps_status ps_publisher_publish(ps_publisher *p, const ps_out_msg *m, ps_pub_ack *out);

/* Copies the counters into `out`. PS_ERR_INVALID_ARG for NULL arguments.
 * (Named like ps_stream_info_get: in C the struct ps_publisher_stats and a
 * function cannot share one name.) */
ps_status ps_publisher_stats_get(const ps_publisher *p, ps_publisher_stats *out);

/* Frees the publisher (not its backend or clock). NULL is fine. */
void ps_publisher_free(ps_publisher *p);

PS_API_END

#endif
