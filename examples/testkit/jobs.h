/* jobs.h — a small job service, the code under test in this example:
 * an enqueue that survives a lost PubAck, and a worker step that charges
 * each job once even when the broker delivers it again.
 *
 * It knows only the contract (ps_backend.h): it runs unchanged on the
 * memory backend, on a real nats-server, and through a fault shim.
 */
#ifndef JOBS_H
#define JOBS_H

#include "ps_backend.h"

/* What the service has charged, by job id: the side effect a double
 * delivery must not repeat. */
typedef struct jobs_ledger {
    char ids[64][32];
    int n;
    int charges; /* how many times anything was charged */
} jobs_ledger;

/* Publishes job `id` on `subject`, with the id as its Nats-Msg-Id so that
 * a retry after a lost PubAck is a duplicate the server drops. Retries a
 * timeout up to 3 times; any other failure is returned at once. */
ps_status jobs_enqueue(ps_backend *b, const char *subject, const char *id);

/* Fetches one job (waiting up to expires_ns on a server), charges it
 * unless the ledger already has it, and acks it. PS_ERR_TIMEOUT when no
 * job came; the ack's failure when the ack failed (the job then comes
 * back after AckWait, and the ledger keeps it from being charged twice). */
ps_status jobs_work_one(ps_consumer *c, jobs_ledger *ledger, int64_t expires_ns);

#endif
