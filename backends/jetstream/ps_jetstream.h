/* ps_jetstream.h — the contract over cnats (libnats) against a real
 * nats-server or cluster (the JetStream backend).
 *
 * This issue ships the options and a constructor that reports the backend
 * is not built yet; the implementation over cnats 3.4.1 is the next issue.
 * Code written against ps_backend.h switches to it by constructor alone.
 *
 * This module is not: a server launcher (ci/ scripts start nats-server).
 */
#ifndef PS_JETSTREAM_H
#define PS_JETSTREAM_H

#include "../../core/ps_backend.h"

typedef struct ps_jetstream_options {
    const char *const *urls;   /* "nats://127.0.0.1:4222", ...; NULL: NATS_URL or the default */
    int urls_len;
    const char *client_name;
    const char *user;
    const char *password;
    const char *token;
    const char *creds_file;    /* a .creds file (JWT + nkey seed) */
    const char *tls_ca_file;
    const char *tls_cert_file;
    const char *tls_key_file;
    int reconnect_attempts;    /* 0: cnats default; -1: forever */
    int64_t reconnect_wait_ns; /* 0: cnats default */
    int64_t request_timeout_ns; /* JetStream API and ack waits; 0: 5 s */
} ps_jetstream_options;

/* Connects and returns a backend. Until the backend is built in this
 * returns PS_ERR_NOT_BUILT with a message saying so. */
ps_status ps_jetstream_new(ps_backend **out, const ps_jetstream_options *opts);

/* True when this library was built with the JetStream backend. */
bool ps_jetstream_available(void);

#endif
