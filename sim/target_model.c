/* target_model.c — the memory model as a run target (engine.h): a manual
 * clock from 0 and a memory backend seeded with the run's seed. Virtual
 * time moves only when the engine asks it to (wait_until sets the clock),
 * so a run is a pure function of (scenario, seed).
 *
 * The model carries out none of the scenario's faults itself: the engine
 * makes every one of them happen through its fault shim, its workers and
 * the backend's own restart.
 *
 * Not: the model of JetStream (backends/memory/).
 */
#include "engine.h"

#include <stdint.h>
#include <stdlib.h>

#include "ps_backend_impl.h"
#include "ps_memory.h"

typedef struct model_target {
    sim_target base; /* first: the engine holds a sim_target * */
    ps_clock *clock;
    ps_backend *backend;
} model_target;

static ps_status model_open(sim_target *t, const sim_scenario *sc, uint64_t seed, FILE *log, ps_backend **backend,
                            ps_clock **clock, char *where, size_t where_len)
{
    (void)sc;
    (void)log;
    model_target *m = (model_target *)t;
    if (where_len)
        where[0] = '\0';
    m->clock = ps_clock_manual_new(0);
    if (!m->clock)
        return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
    ps_memory_options mo = {.clock = m->clock, .seed = seed};
    ps_status s = ps_memory_new(&m->backend, &mo);
    if (s)
        return s;
    *backend = m->backend;
    *clock = m->clock;
    return PS_OK;
}

static void model_stream_config(const sim_target *t, ps_stream_config *c)
{
    (void)t;
    c->replicas = 1; /* the model keeps one copy */
}

static int64_t model_scaled(const sim_target *t, int64_t ns)
{
    (void)t;
    return ns;
}

static ps_status model_stream_added(sim_target *t, int stream, ps_status s)
{
    (void)t;
    (void)stream;
    return s;
}

static ps_status model_ready(sim_target *t)
{
    (void)t;
    return PS_OK;
}

static ps_status model_wait_until(sim_target *t, int64_t at_ns)
{
    model_target *m = (model_target *)t;
    if (ps_clock_set(m->clock, at_ns) != PS_OK)
        return ps_error(PS_ERR_INTERNAL, 0, "engine: the clock refused to move to an event's time");
    return PS_OK;
}

static int64_t model_now(const sim_target *t)
{
    return ps_clock_now(((const model_target *)t)->clock);
}

static int64_t model_next_due(const sim_target *t, int64_t now)
{
    (void)now;
    return ps_backend_next_deadline(((const model_target *)t)->backend);
}

static bool model_fault(sim_target *t, int fault, bool end)
{
    (void)t;
    (void)fault;
    (void)end;
    return false;
}

static void model_end_faults(sim_target *t)
{
    (void)t;
}

static bool model_gone(const sim_target *t)
{
    (void)t;
    return false;
}

static void model_close(sim_target *t)
{
    model_target *m = (model_target *)t;
    ps_backend_close(m->backend);
    ps_clock_free(m->clock);
    m->backend = NULL;
    m->clock = NULL;
}

static void model_free(sim_target *t)
{
    free(t);
}

static const sim_target_ops model_ops = {
    .version = SIM_TARGET_OPS_VERSION,
    .name = "model",
    .open = model_open,
    .stream_config = model_stream_config,
    .scaled = model_scaled,
    .broker_clock = NULL, /* the model's times are the run's */
    .stream_added = model_stream_added,
    .ready = model_ready,
    .wait_until = model_wait_until,
    .now = model_now,
    .next_due = model_next_due,
    .fault = model_fault,
    .end_faults = model_end_faults,
    .gone = model_gone,
    .close = model_close,
    .free = model_free,
};

ps_status sim_target_model_new(sim_target **out)
{
    model_target *m = calloc(1, sizeof *m);
    if (!m)
        return ps_error(PS_ERR_NO_MEMORY, 0, "engine: out of memory");
    m->base.ops = &model_ops;
    *out = &m->base;
    return PS_OK;
}

void sim_target_free(sim_target *t)
{
    if (t)
        t->ops->free(t);
}
