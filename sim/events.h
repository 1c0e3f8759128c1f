/* events.h — the simulator's discrete-event queue: events ordered by
 * virtual time, then by the order they were scheduled (STYLE.md: never by
 * address or heap position), so a run is the same run every time.
 *
 * An event is a kind, the actor it belongs to and one 64-bit argument;
 * what they mean is the engine's business. The queue only orders them.
 *
 * This module is not: the clock (the engine sets the manual clock to each
 * event's time) nor the loop that dispatches events.
 */
#ifndef SIM_EVENTS_H
#define SIM_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "ps_status.h"

typedef struct sim_event {
    int64_t at_ns;
    uint64_t seq;   /* scheduling order; ties on at_ns go to the lower seq */
    int kind;
    int actor;
    uint64_t arg;
} sim_event;

typedef struct sim_events {
    sim_event *heap;
    uint32_t len, cap;
    uint64_t next_seq;
} sim_events;

/* An empty queue; free with sim_events_free (NULL-safe for the inside). */
void sim_events_init(sim_events *q);
void sim_events_free(sim_events *q);

/* Schedules an event; PS_ERR_NO_MEMORY when the queue cannot grow. */
ps_status sim_events_push(sim_events *q, int64_t at_ns, int kind, int actor, uint64_t arg);

/* The earliest event (lowest at_ns, then seq) without removing it, or NULL. */
const sim_event *sim_events_peek(const sim_events *q);

/* Removes the earliest event into *out; false when the queue is empty. */
bool sim_events_pop(sim_events *q, sim_event *out);

static inline uint32_t sim_events_len(const sim_events *q) { return q->len; }

#endif
