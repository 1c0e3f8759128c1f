/* conf_memory.c — the memory backend's fixture for the conformance suite,
 * shared by its runner (fixture_memory.c) and the allocation-failure sweep
 * (tests/alloc_sweep.c), which runs the same cases with allocations failing.
 *
 * Each test gets a new memory backend on a new manual clock with a fixed
 * seed, so every run is the same run. Time moves only through advance(),
 * which moves the clock and then lets the backend do its due work (tick);
 * restarts go to the backend's own restart model (JS 13.1); after each
 * case ps_memory_check looks at the model's internal consistency.
 */
#include "conformance.h"

#include "ps_memory.h"
#include "ps_backend_impl.h"

#define FIXTURE_SEED 20260101u

static ps_status mem_setup(conf_fixture *f)
{
    f->clock = ps_clock_manual_new(0);
    if (!f->clock)
        return ps_error(PS_ERR_NO_MEMORY, 0, "fixture: out of memory");
    ps_memory_options o = {.clock = f->clock, .seed = FIXTURE_SEED};
    ps_status s = ps_memory_new(&f->b, &o);
    if (s != PS_OK) {
        ps_clock_free(f->clock);
        f->clock = NULL;
        f->b = NULL;
    }
    return s;
}

static void mem_teardown(conf_fixture *f)
{
    ps_backend_close(f->b);
    ps_clock_free(f->clock);
    f->b = NULL;
    f->clock = NULL;
}

static void mem_advance(conf_fixture *f, int64_t ns)
{
    if (ns > 0 && ps_clock_advance(f->clock, ns) != PS_OK)
        fail_msg("manual clock refused to advance by %lld ns: %s", (long long)ns, ps_last_error());
    ps_status s = ps_backend_tick(f->b);
    if (s != PS_OK)
        fail_msg("tick failed: %s: %s", ps_status_name(s), ps_last_error());
}

static ps_status mem_check(conf_fixture *f)
{
    return ps_memory_check(f->b);
}

static ps_status mem_restart(conf_fixture *f, ps_restart_kind kind)
{
    return ps_backend_restart(f->b, kind);
}

conf_fixture conf_memory_fixture(const char *name)
{
    return (conf_fixture){.name = name, .real_time = false, .setup = mem_setup, .teardown = mem_teardown,
                          .advance = mem_advance, .restart = mem_restart, .check = mem_check};
}
