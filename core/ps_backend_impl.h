/* ps_backend_impl.h — for backend authors: what a backend (or a shim, or a
 * core module) calls and an application never does.
 *
 * An application includes ps_backend.h and the headers of the backends it
 * builds, and never needs this one. A backend author includes it to record
 * an error with its detail, to hand advisories and async publish results to
 * the handlers the application registered, and to fill the message list of
 * a fetch. The in-tree backends (memory, JetStream), the fault shim and the
 * simulator use it; so may a backend written outside this tree and linked
 * against libjetsim, which is why these functions stay exported from the
 * shared library and `make install` installs this header with the others
 * (include/jetsim/ps_backend_impl.h): it is part of the backend-author API,
 * under the same versioning as ps_backend_ops.
 *
 * This header is not: a second application API. Nothing here is needed to
 * use a backend.
 */
#ifndef PS_BACKEND_IMPL_H
#define PS_BACKEND_IMPL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ps_backend.h"
#include "ps_msg.h"
#include "ps_status.h"
#include "ps_api.h"

PS_API_BEGIN

/* ---- errors (ps_status.h has the reading side) --------------------------- */

/* Records the detail of a failure on the calling thread and returns `s`, so
 * a failure reads `return ps_error(PS_ERR_X, 10052, "fmt", ...)`.
 * `js_code` is the JetStream err_code (0 for none); the native code is
 * reset to 0. A NULL fmt records the status text. Never fails: a detail
 * longer than the buffer is cut. */
ps_status ps_error(ps_status s, int js_code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ps_error with a va_list. */
ps_status ps_error_v(ps_status s, int js_code, const char *fmt, va_list ap);

/* Sets the backend-native code (a cnats natsStatus, say) of the error last
 * recorded on this thread; call it right after ps_error. */
void ps_error_set_native(int native_code);

/* ---- wrapping a backend ----------------------------------------------------- */

/* A backend that wraps `inner` (delegates to it, as the fault shim does)
 * says so when it is made (on = true) and when it is closed (false):
 * meanwhile ps_backend_close(inner) answers PS_ERR_BUSY instead of freeing
 * what the wrapper still points to. NULL does nothing. */
void ps_backend_wrapped(ps_backend *inner, bool on);

/* ---- handing results to the application's handlers ----------------------- */

/* Hands an advisory to the handler set by ps_backend_set_advisory_handler,
 * if any, on the calling thread. Everything in `adv` is borrowed for the
 * call. NULL `b` or `adv` does nothing. Call it without holding a lock the
 * handler could need: the handler must not call back into the backend, but
 * it may take the application's locks. */
void ps_backend_emit_advisory(ps_backend *b, const ps_advisory *adv);

/* Hands the result of one ps_publish_async to the handler set by
 * ps_backend_set_pub_result_handler, if any. It must be called on the
 * thread of the application's ps_publish_async or
 * ps_publish_async_complete (ps_backend.h promises that), exactly once per
 * async publish that returned PS_OK. NULL `b` or `r` does nothing. */
void ps_backend_emit_pub_result(ps_backend *b, const ps_pub_result *r);

/* ---- filling a fetch -------------------------------------------------- */

/* Whether m has anything to go in a header block (its headers, its msg
 * id, an expectation): inline, so that a publish without one skips the
 * encoder's call. */
static inline bool ps_out_msg_has_headers(const ps_out_msg *m)
{
    return m->headers || m->msg_id || m->expected_stream || m->expected_last_msg_id ||
           m->has_expected_last_seq || m->has_expected_last_subject_seq;
}

/* The first and last `w` (4 or 8) of the `n` bytes at x and y are equal:
 * ps_bytes_equal's two overlapping words. */
static inline __attribute__((always_inline)) bool ps_bytes_ends_equal(const char *x, const char *y,
                                                                      size_t n, size_t w)
{
    uint64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    memcpy(&x0, x, w);
    memcpy(&y0, y, w);
    memcpy(&x1, x + n - w, w);
    memcpy(&y1, y + n - w, w);
    return ((x0 ^ y0) | (x1 ^ y1)) == 0;
}

/* Whether the `n` bytes at `a` and `b` are equal: memcmp's answer without
 * its call for the short strings a publish compares (a subject against the
 * last one): two overlapping words from 4 to 16 bytes. Reads only the `n`
 * bytes of each. */
static inline bool ps_bytes_equal(const void *a, const void *b, size_t n)
{
    if (n >= 8 && n <= 16)
        return ps_bytes_ends_equal(a, b, n, 8);
    if (n >= 4 && n < 8)
        return ps_bytes_ends_equal(a, b, n, 4);
    return memcmp(a, b, n) == 0;
}

/* ps_out_msg_header_encode into `buf` when the block fits in `cap` bytes
 * (else `buf` is untouched); returns the block's length either way, 0 when
 * m has none. One pass for a backend that encodes into a stack buffer. */
size_t ps_out_msg_header_encode_n(const ps_out_msg *m, char *buf, size_t cap);

/* Appends a message to a fetch's list, copying its subject (subj_len
 * bytes), header block (hdr_len bytes; hdr may be NULL when 0) and data
 * (len bytes; NUL-terminated in the copy). Returns it with meta and the
 * private members zeroed, for the backend to set meta, consumer_ and
 * backend_ref_. NULL, recording nothing, on allocation failure or when `l`
 * or `subject` is NULL or hdr/data is NULL with a length: the caller
 * reports PS_ERR_NO_MEMORY. The list owns the message. */
ps_msg *ps_msg_list_push(ps_msg_list *l, const char *subject, size_t subj_len,
                         const void *hdr, size_t hdr_len, const void *data,
                         size_t len);

PS_API_END

#endif
