/* fixture.c — the unit tests' manual clock and memory backend (fixture.h). */
#include <string.h>

#include "fixture.h"

ps_status test_mem_open(test_mem *m, int64_t start_ns, const ps_memory_options *opts)
{
    memset(m, 0, sizeof *m);
    ps_memory_options o = opts ? *opts : (ps_memory_options){0};
    o.clock = ps_clock_manual_new(start_ns);
    if (!o.clock)
        return PS_ERR_NO_MEMORY;
    ps_status s = ps_memory_new(&m->b, &o);
    if (s) {
        ps_clock_free(o.clock);
        return s;
    }
    m->clock = o.clock;
    return PS_OK;
}

ps_status test_mem_add_stream(test_mem *m, const char *name, const char *subject, ps_retention r)
{
    const char *subs[] = {subject};
    ps_stream_config c = {.name = name, .subjects = subs, .subjects_len = 1, .retention = r};
    return ps_stream_add(m->b, &c, NULL);
}

ps_status test_mem_close(test_mem *m)
{
    ps_status s = ps_backend_close(m->b);
    if (s)
        return s;
    ps_clock_free(m->clock);
    memset(m, 0, sizeof *m);
    return PS_OK;
}
