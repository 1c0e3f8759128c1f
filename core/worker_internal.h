/* worker_internal.h — the worker's state (struct ps_worker, its batches
 * and slots), shared by its two files: worker.c (configuration, batches,
 * answering and releasing messages, polling, deferred completion,
 * stopping) and worker_patterns.c (the job-system patterns of ps_worker.h:
 * dead letters, delayed jobs, per-key order).
 *
 * Not a public header: ps_worker.h is.
 */
#ifndef CORE_WORKER_INTERNAL_H
#define CORE_WORKER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "ps_worker.h"

typedef enum wk_slot {
    WK_QUEUED = 0, /* fetched, not yet handed to the handler */
    WK_HANDLING,   /* the handler is running on it */
    WK_DEFERRED,   /* the handler returned PS_HANDLE_DEFER */
    WK_DONE,       /* acked, naked or termed; released with its batch */
    WK_WAITING     /* fetched, waiting for its key (key_header) to be free */
} wk_slot;

/* A keyed message naked for a retry, expected back (worker_patterns.c). */
typedef struct wk_blocker {
    char *key;
    uint64_t seq;
} wk_blocker;

typedef struct wk_batch {
    ps_msg_list list;
    unsigned char *slots; /* wk_slot per message of list */
    int slots_cap;
    int open;             /* slots not WK_DONE */
    struct wk_batch *prev, *next;
} wk_batch;

struct ps_worker {
    ps_backend *b;         /* for dead letters */
    ps_consumer *consumer;
    ps_worker_handler_fn handler;
    ps_worker_error_fn on_error;
    ps_worker_dead_fn on_dead;
    void *user;
    int64_t *backoff_ns;
    int backoff_len;
    int batch;
    int max_in_flight;
    int64_t fetch_expires_ns;
    bool fetch_no_wait;
    char *dl_subject;      /* NULL: no dead letters */
    int64_t dl_after;      /* a RETRY of this delivery or later dies; 0: only TERMs */
    ps_clock *clock;       /* NULL: PS_NOT_BEFORE_HEADER ignored */
    char *key_header;      /* NULL: no per-key order */
    int64_t max_deliver;   /* the consumer's; <= 0 unlimited */
    wk_blocker *blockers;  /* at most one per key, the lowest sequence */
    int nblockers, capblockers;
    wk_batch *head, *tail; /* held batches, oldest first */
    wk_batch *spares;      /* cleared batches, linked through next */
    int nspares;
    int in_flight;
    int cb_depth;          /* callbacks running (handler, on_error) */
    bool in_poll;
    bool stop_requested;   /* ps_worker_stop from inside a callback */
    bool stopped;
    ps_worker_stats stats;
};

/* ---- worker.c -------------------------------------------------------------------- */

/* A copy of s (malloc), or NULL when out of memory. */
char *wk_strdup(const char *s);

/* Counts an error of answering m with `kind` and tells on_error, if set. */
void wk_report(ps_worker *w, const ps_msg *m, ps_ack_kind kind, ps_status st, const char *detail);

/* Marks slot i of bt done; releases bt when it was its last open slot.
 * Returns true when bt was released. */
bool wk_release_slot(ps_worker *w, wk_batch *bt, int i);

/* Runs the handler on slot i of bt and applies its answer. Returns true
 * when bt was released. */
bool wk_handle(ps_worker *w, wk_batch *bt, int i);

/* ---- worker_patterns.c: dead letters --------------------------------------------- */

/* For a result that kills m: publishes the dead letter and returns TERM,
 * or, when that fails, reports it and returns RETRY (the job comes back
 * while deliveries remain). Any other result is returned as it is. */
ps_handle_result wk_dead_letter(ps_worker *w, ps_msg *m, ps_handle_result r);

/* ---- worker_patterns.c: delayed jobs --------------------------------------------- */

/* How long until m is due (PS_NOT_BEFORE_HEADER); 0 when it is, has no
 * such header, or the worker has no clock. */
int64_t wk_due_in(const ps_worker *w, ps_msg *m);

/* Naks a message delivered before its time to that time. */
void wk_nak_until_due(ps_worker *w, ps_msg *m, int64_t due_in);

/* ---- worker_patterns.c: per-key order -------------------------------------------- */

/* m's key (key_header), owned by m; NULL without per-key order or key. */
static inline const char *wk_key(const ps_worker *w, ps_msg *m)
{
    return w->key_header && m->hdr ? ps_msg_header(m, w->key_header) : NULL;
}

/* Forgets every blocker: nothing waits for them any more. */
void wk_blockers_clear(ps_worker *w);

/* Slot i of bt (still open) was answered with `sent` (a ps_ack_kind, or
 * -1 for PS_HANDLE_DEFER: no answer); ok says whether the backend took
 * it. A keyed message naked and due back (deliveries left) becomes its
 * key's blocker, and the key's waiting messages stay; naked otherwise, or
 * not answered, it takes them with it. */
void wk_key_answered(ps_worker *w, wk_batch *bt, int i, int sent, bool ok);

/* Must slot i of bt wait for its key: is a message of the key handled or
 * deferred, or one with a lower stream sequence waiting or expected back
 * (a blocker)? (Copies of one sequence go in fetch order.) */
bool wk_key_blocked(ps_worker *w, wk_batch *bt, int i);

/* A fresh batch: the blockers it brings back are gone; if it brings a
 * new message, the server had no redelivery left, so the blockers still
 * missing are not coming soon and nothing waits for them any more. */
void wk_blockers_update(ps_worker *w, wk_batch *bt);

/* A poll's first step: hands out the waiting messages whose key is free,
 * oldest first. A worker full of messages that wait for blockers it
 * cannot fetch stops waiting for them. Returns how many were handed. */
int wk_poll_waiting(ps_worker *w);

/* The messages waiting for m's key wait as long as m is worked on: their
 * AckWait restarts with its (best effort: a refusal is m's business too,
 * and goes unreported as for m). */
void wk_followers_in_progress(ps_worker *w, ps_msg *m);

#endif
