/* events.c — a binary min-heap of events keyed by (at_ns, seq). The seq
 * makes every key distinct, so the heap's order is total and its internal
 * layout never shows in what comes out.
 */
#include "events.h"
#include "ps_backend_impl.h"

#include <stdlib.h>

static bool before(const sim_event *a, const sim_event *b)
{
    return a->at_ns < b->at_ns || (a->at_ns == b->at_ns && a->seq < b->seq);
}

void sim_events_init(sim_events *q)
{
    q->heap = NULL;
    q->len = q->cap = 0;
    q->next_seq = 0;
}

void sim_events_free(sim_events *q)
{
    if (!q)
        return;
    free(q->heap);
    sim_events_init(q);
}

ps_status sim_events_push(sim_events *q, int64_t at_ns, int kind, int actor, uint64_t arg)
{
    if (q->len == q->cap) {
        uint32_t ncap = q->cap ? q->cap * 2 : 256;
        sim_event *n = realloc(q->heap, (size_t)ncap * sizeof *n);
        if (!n)
            return ps_error(PS_ERR_NO_MEMORY, 0, "event queue: out of memory");
        q->heap = n;
        q->cap = ncap;
    }
    sim_event e = {at_ns, q->next_seq++, kind, actor, arg};
    uint32_t i = q->len++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!before(&e, &q->heap[parent]))
            break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = e;
    return PS_OK;
}

const sim_event *sim_events_peek(const sim_events *q)
{
    return q->len ? &q->heap[0] : NULL;
}

bool sim_events_pop(sim_events *q, sim_event *out)
{
    if (!q->len)
        return false;
    *out = q->heap[0];
    sim_event last = q->heap[--q->len];
    uint32_t i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= q->len)
            break;
        if (c + 1 < q->len && before(&q->heap[c + 1], &q->heap[c]))
            c++;
        if (!before(&q->heap[c], &last))
            break;
        q->heap[i] = q->heap[c];
        i = c;
    }
    if (q->len)
        q->heap[i] = last;
    return true;
}
