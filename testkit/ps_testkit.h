/* ps_testkit.h — run your own test suite unchanged on the memory backend
 * and on a real nats-server (the idea of go-cloud's drivertest, for your
 * code rather than for a backend).
 *
 * A test opens a kit and writes only against the contract (ps_backend.h):
 *
 *   ps_testkit *k;
 *   ps_testkit_open(&k);                              // memory or server, see below
 *   ps_backend *b = ps_testkit_backend(k);
 *   const char *stream = ps_testkit_name(k, "JOBS");  // unique to this kit
 *   const char *subj = ps_testkit_name(k, "jobs.>");
 *   ... ps_stream_add(b, ...), your code under test, ...
 *   ps_testkit_advance(k, 2 * PS_NS_PER_SEC);         // past AckWait
 *   ... assertions ...
 *   ps_testkit_close(k);                              // deletes what it named
 *
 * Which backend: the environment variable JETSIM_TEST_URL.
 *  - unset or empty: the memory backend (ps_memory.h) on a manual clock
 *    that starts at 2026-01-01T00:00:00Z and moves only by
 *    ps_testkit_advance; nothing sleeps, every run is the same.
 *  - a server URL (nats://127.0.0.1:4222, a comma-separated list, with
 *    credentials if need be): the JetStream backend (ps_jetstream.h) at
 *    that URL on the real clock; ps_testkit_advance sleeps. CI starts a
 *    scratch server (ci/with-nats.sh sets NATS_URL: run the suite as
 *    JETSIM_TEST_URL=$NATS_URL).
 * The same test then passes on both when it leaves a server's margins:
 * a fetch on the memory backend returns at once what is deliverable; a
 * server may take up to the request's expiry, and timed work (AckWait,
 * MaxAge, backoff) happens there a few milliseconds late. Advance a little
 * past a deadline, not exactly to it.
 *
 * Names: a server is shared (by the tests of a suite, by CI jobs), so a
 * test names its streams, subjects and durable consumers through
 * ps_testkit_name, which puts a prefix unique to the kit in front
 * ("T3f2a1c_7_JOBS"). On close the kit deletes the streams it named (their
 * consumers go with them) and nothing else; a stream of another kit or
 * another program is never touched. A test killed before its close leaves
 * its streams on the server (they carry the prefix, so they are easy to
 * find). On the memory backend each kit has a backend of its own; names
 * are prefixed all the same, so a test that forgets them fails there too.
 *
 * Faults: wrap the kit's backend in a fault shim (ps_fault_shim.h) to drop
 * the next ack or lose the next PubAck on either backend; close the shim
 * before the kit.
 *
 * Threads: a kit is used from one thread at a time. The library neither
 * prints nor exits: failures are statuses, with ps_last_error() saying why.
 *
 * Not: a test framework (use cmocka, Unity, Check... around it), nor a
 * server launcher (ci/with-nats.sh, ci/nats-server.sh), nor a way to
 * restart a server (the memory backend's ps_backend_restart works through
 * the kit's backend; a real server's restart is the CI script's).
 */
#ifndef PS_TESTKIT_H
#define PS_TESTKIT_H

#include <stdbool.h>
#include <stdint.h>

#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_api.h"

PS_API_BEGIN

typedef struct ps_testkit ps_testkit;

/* The environment variable that chooses the backend (see above). */
#define PS_TESTKIT_URL_ENV "JETSIM_TEST_URL"

/* Opens a kit on the backend JETSIM_TEST_URL chooses, with nothing on it
 * yet. On success *out belongs to the caller until ps_testkit_close.
 * Errors: PS_ERR_INVALID_ARG (out is NULL), PS_ERR_NO_MEMORY; with a URL,
 * what ps_jetstream_new returns: PS_ERR_IO (no server answered at that
 * URL), PS_ERR_UNAVAILABLE (JetStream is not enabled there),
 * PS_ERR_NOT_BUILT (this jetsim was built without cnats). ps_last_error()
 * names the URL (with any secret masked). */
ps_status ps_testkit_open(ps_testkit **out);

/* The backend under test, owned by the kit (close it with
 * ps_testkit_close, not ps_backend_close). Never NULL for an open kit. */
ps_backend *ps_testkit_backend(ps_testkit *k);

/* The backend's clock, owned by the kit: manual on the memory backend,
 * the real clock on a server. Read it for "now" in the test's own
 * timestamps; move it with ps_testkit_advance only. */
ps_clock *ps_testkit_clock(ps_testkit *k);

/* Whether the kit runs against a real server (time is real, margins
 * apply), false on the memory backend. */
bool ps_testkit_is_real(const ps_testkit *k);

/* `base` with the kit's unique prefix in front, for a stream name, a
 * subject or subject filter ("jobs.>": the prefix goes on the first token)
 * or a durable name. The string belongs to the kit and stays valid until
 * ps_testkit_close; the same base gives the same name within a kit. A
 * name without '.', '*' or '>' is taken to be a stream's and is deleted at
 * close. NULL, with PS_ERR_INVALID_ARG (NULL or empty base, or a base
 * holding a space) or PS_ERR_NO_MEMORY recorded for ps_last_error(). */
const char *ps_testkit_name(ps_testkit *k, const char *base);

/* Lets `ns` (>= 0) of time pass, then runs the backend's due work
 * (ps_backend_tick: redeliveries after AckWait, MaxAge expiry, the
 * advisories that arrived). Memory backend: the manual clock moves by ns,
 * at once. Server: the calling thread sleeps ns. advance(k, 0) still runs
 * the due work. Errors: PS_ERR_INVALID_ARG (NULL kit, negative ns or past
 * the clock's range), or what the tick returns. */
ps_status ps_testkit_advance(ps_testkit *k, int64_t ns);

/* Deletes the streams the kit named that exist, closes the backend and
 * frees the kit (NULL: nothing, PS_OK). Close any fault shim over the
 * kit's backend before, and free every consumer handle of the test:
 * with a handle or a shim left, PS_ERR_BUSY and the kit stays open (its
 * streams are deleted already), so that a teardown reports what it forgot
 * and may free or close it and close again. Otherwise the kit is gone, and the first
 * failure to delete a stream (PS_ERR_IO, ...), if any, is returned. */
ps_status ps_testkit_close(ps_testkit *k);

PS_API_END

#endif
