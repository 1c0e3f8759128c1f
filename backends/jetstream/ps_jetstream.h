/* ps_jetstream.h — the JetStream backend: the ps_backend contract over the
 * cnats client (libnats) against a real nats-server or cluster.
 *
 * Application code is written against ps_backend.h; moving it from the
 * memory backend to a real server is a change of constructor only
 * (ps_memory_new -> ps_jetstream_new). The options below map one to one
 * onto cnats's natsOptions.
 *
 * Without libnats at build time the library carries a stub instead
 * (jsb_stub.c): ps_jetstream_new returns PS_ERR_NOT_BUILT and
 * ps_jetstream_available() is false.
 *
 * Behaviour at the boundary: cnats statuses and JetStream err_codes become
 * jetsim statuses (ps_last_error_code() keeps the err_code,
 * ps_last_native_code() cnats's natsStatus); a fetch sends its own pull
 * requests, so expires_ns 0 is a no_wait request; acks wait for the
 * server's reply; advisories and async publish results are delivered on
 * the caller's thread from later calls (ps_backend_tick, ps_fetch,
 * ps_publish_async, ps_publish_async_complete). No restart or tick of
 * time: a real server keeps its own clock.
 *
 * This module is not: a server launcher (ci/ scripts start nats-server),
 * nor a general NATS client (only what the contract needs).
 */
#ifndef PS_JETSTREAM_H
#define PS_JETSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "ps_backend.h"
#include "ps_api.h"

PS_API_BEGIN

/* How to reach the server. Every pointer is borrowed for the duration of
 * ps_jetstream_new only (the backend copies what it keeps). Zero or NULL
 * in any field means "cnats's default", so `ps_jetstream_options o = {0}`
 * connects to nats://127.0.0.1:4222 without credentials. */
typedef struct ps_jetstream_options {
    /* Server URLs ("nats://host:4222", "tls://host:4222", ...); cnats tries
     * them in order and reconnects among them. A single entry may be a
     * comma-separated list. NULL or urls_len 0: the NATS_URL environment
     * variable (also possibly a list) if set, else nats://127.0.0.1:4222. */
    const char *const *urls;
    int urls_len;

    /* Connection name shown by the server's monitoring (connz); NULL: none. */
    const char *client_name;

    /* Authentication: at most one of user/password, token, creds_file (or
     * user information in the URL). No error detail of this backend shows
     * a password or token: URLs appear masked (ps_url.h). */
    const char *user;
    const char *password;
    const char *token;
    const char *creds_file;    /* a .creds file: user JWT and nkey seed */

    /* TLS: a CA file to verify the server; a certificate and key for
     * mutual TLS. Setting any of them requires TLS on the connection. */
    const char *tls_ca_file;
    const char *tls_cert_file;
    const char *tls_key_file;

    /* Reconnection after a lost connection: attempts per server (0: cnats's
     * default of 60; -1: forever) and the wait between attempts against the
     * same server (0: cnats's default of 2000 ms). */
    int reconnect_attempts;
    int64_t reconnect_wait_ms;

    /* Time limit of every JetStream API request and of an acknowledgement
     * waiting for the server's reply (0: 5000 ms, cnats's default). It also
     * bounds a fetch whose request has no expiry. */
    int64_t request_timeout_ms;
} ps_jetstream_options;

/* Connects to the server described by `opts` (NULL: all defaults), checks
 * that JetStream is enabled, and writes a new backend to *out. Free it with
 * ps_backend_close, after its consumer handles. The backend may be used from several threads; a
 * consumer handle from one thread at a time (see ps_backend.h).
 *
 * Errors: PS_ERR_INVALID_ARG (out is NULL, or contradictory options),
 * PS_ERR_IO (no server answered), PS_ERR_UNAVAILABLE (JetStream not enabled),
 * PS_ERR_NOT_BUILT (this library has no JetStream backend: see
 * ps_jetstream_available). *out is written only on success. */
ps_status ps_jetstream_new(ps_backend **out, const ps_jetstream_options *opts);

/* True when this library was built with the JetStream backend, false when
 * ps_jetstream_new can only return PS_ERR_NOT_BUILT. */
bool ps_jetstream_available(void);

PS_API_END

#endif
