/* ps_status.h — status codes and the per-thread last-error detail.
 *
 * Every jetsim function that can fail returns a ps_status (PS_OK == 0). The
 * names and short texts of all statuses come from one X-macro list, so they
 * cannot drift apart. The detail of the last failure on the calling thread
 * (a sentence naming the problem, the JetStream err_code such as 10071, and
 * a backend-native code such as a cnats natsStatus) is kept in thread-local
 * storage, like errno, and read with ps_last_error() and friends.
 *
 * This module is not: a logger. The library never prints.
 */
#ifndef PS_STATUS_H
#define PS_STATUS_H

#include "ps_api.h"

PS_API_BEGIN

/* X(name, text). The JetStream err_code a status usually carries is noted in
 * the comment; the exact code of each failure is in ps_last_error_code().
 * New statuses go at the end, so the value of every other one stays. */
#define PS_STATUS_LIST(X)                                                      \
    X(PS_OK, "ok")                                                             \
    X(PS_ERR_INVALID_ARG, "invalid argument")                                  \
    X(PS_ERR_NO_MEMORY, "out of memory")                                       \
    X(PS_ERR_NOT_SUPPORTED, "operation not supported by this backend")         \
    X(PS_ERR_NOT_BUILT, "backend not built into this library")                 \
    X(PS_ERR_CLOSED, "backend is closed")                                      \
    X(PS_ERR_IO, "connection or I/O error")                                    \
    X(PS_ERR_TIMEOUT, "timeout")                                               \
    X(PS_ERR_NO_RESPONDERS, "no responders (no stream captures the subject)") \
    X(PS_ERR_MAX_PAYLOAD, "maximum payload exceeded")                          \
    X(PS_ERR_STREAM_NOT_FOUND, "stream not found")         /* 10059 */         \
    X(PS_ERR_CONSUMER_NOT_FOUND, "consumer not found")     /* 10014 */         \
    X(PS_ERR_MSG_NOT_FOUND, "no message found")            /* 10037 10043 10057 */ \
    X(PS_ERR_STREAM_CONFIG, "invalid stream configuration") /* 10052 10128 10074 ... */ \
    X(PS_ERR_STREAM_NAME_IN_USE, "stream name already in use with a different configuration") /* 10058 */ \
    X(PS_ERR_STREAM_SUBJECT_OVERLAP, "subjects overlap with an existing stream") /* 10065 */ \
    X(PS_ERR_STREAM_SEALED, "invalid operation on sealed stream") /* 10109 */ \
    X(PS_ERR_NOT_PERMITTED, "operation not permitted by the stream") /* 10057 10110 */ \
    X(PS_ERR_CONSUMER_CONFIG, "invalid consumer configuration") /* 10012 10084 10093 10094 10098-10101 10116 ... */ \
    X(PS_ERR_MAX_CONSUMERS, "maximum consumers limit reached") /* 10026 */     \
    X(PS_ERR_WRONG_EXPECTED_STREAM, "expected stream does not match") /* 10060 */ \
    X(PS_ERR_WRONG_LAST_SEQUENCE, "wrong last sequence") /* 10071 */           \
    X(PS_ERR_WRONG_LAST_MSG_ID, "wrong last msg ID") /* 10070 */               \
    X(PS_ERR_MSG_TOO_LARGE, "message size exceeds maximum allowed") /* 10054 */ \
    X(PS_ERR_STORE_FAILED, "stream store failed (limits with discard new)") /* 10077 */ \
    X(PS_ERR_NO_MESSAGES, "no messages") /* pull status 404 */                 \
    X(PS_ERR_PULL_REJECTED, "pull request rejected") /* pull status 409/400 */ \
    X(PS_ERR_MAX_WAITING, "exceeded MaxWaiting") /* pull status 409 */         \
    X(PS_ERR_CONSUMER_DELETED, "consumer deleted") /* pull status 409 */       \
    X(PS_ERR_MAX_BYTES, "message size exceeds MaxBytes") /* pull status 409 */ \
    X(PS_ERR_BAD_REQUEST, "bad request") /* 10003 */                           \
    X(PS_ERR_UNAVAILABLE, "JetStream temporarily unavailable") /* 10008 */     \
    X(PS_ERR_INTERNAL, "internal error")                                      \
    X(PS_ERR_BUSY, "busy: handles are still open") /* ps_backend_close */

typedef enum ps_status {
#define PS_X_ENUM(name, text) name,
    PS_STATUS_LIST(PS_X_ENUM)
#undef PS_X_ENUM
    PS_STATUS_COUNT
} ps_status;

/* "PS_ERR_TIMEOUT"; "PS_STATUS_UNKNOWN" for a value outside the list. Static
 * storage, never NULL. */
const char *ps_status_name(ps_status s);

/* The short text of the list ("timeout"); static storage, never NULL. */
const char *ps_status_text(ps_status s);

/* Detail of the last failure on this thread: a sentence naming the problem,
 * for example "stream ORDERS: subject \"orders.>\" overlaps with stream
 * AUDIT". Empty string after ps_error_clear() or before any failure. Valid
 * until the next jetsim call on this thread. */
const char *ps_last_error(void);

/* Status of the last failure on this thread (PS_OK if none). */
ps_status ps_last_status(void);

/* JetStream err_code of the last failure (10071, ...), 0 if it had none. */
int ps_last_error_code(void);

/* Backend-native code of the last failure (a cnats natsStatus on the
 * JetStream backend), 0 if none. */
int ps_last_native_code(void);

void ps_error_clear(void);

/* Recording an error (ps_error, ps_error_v, ps_error_set_native) is for
 * backends and the library's own modules: see ps_backend_impl.h. */

/* A copy of this thread's last-error detail. Clean-up after a failure
 * calls into the library, and every such call clears the detail; a caller
 * that must report the failure afterwards saves it first and restores it
 * when the clean-up is done, so the reason is not lost. */
typedef struct ps_error_saved {
    ps_status status;
    int js_code;
    int native_code;
    char msg[512];
} ps_error_saved;

/* Copies the last-error detail into *out (not NULL). */
void ps_error_save(ps_error_saved *out);

/* Makes *saved the last-error detail again; returns its status. */
ps_status ps_error_restore(const ps_error_saved *saved);

PS_API_END

#endif
