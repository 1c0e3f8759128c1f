/* fixture.h — the manual clock and memory backend that unit tests run on.
 *
 * Most unit tests of the library and the simulator need the same world: a
 * manual clock, so that time moves only when the test says, and a memory
 * backend on it, often with one stream. This is that world, made in one
 * place; it returns statuses instead of asserting so that cmocka setup and
 * teardown functions can use it as well as tests.
 *
 * Not the conformance suite's fixture (tests/conformance/conformance.h),
 * which hides which backend runs; these tests are about the memory backend.
 */
#ifndef TEST_FIXTURE_H
#define TEST_FIXTURE_H

#include <stdint.h>

#include "ps_backend.h"
#include "ps_clock.h"
#include "ps_memory.h"

typedef struct test_mem {
    ps_clock *clock; /* manual */
    ps_backend *b;   /* a memory backend on `clock` */
} test_mem;

/* Opens a manual clock at start_ns (0: 2026-01-01T00:00:00Z) and a memory
 * backend on it with `opts` (NULL: the defaults, seed 0; opts->clock is
 * ignored). PS_OK, or the failure with nothing left open. */
ps_status test_mem_open(test_mem *m, int64_t start_ns, const ps_memory_options *opts);

/* Adds stream `name` capturing `subject`, with retention `r` and the
 * server's defaults otherwise (file storage). */
ps_status test_mem_add_stream(test_mem *m, const char *name, const char *subject, ps_retention r);

/* Closes the backend, then frees the clock, and zeroes `m`. PS_ERR_BUSY
 * when the test left a consumer handle open: then nothing is freed, so a
 * teardown that checks the status reports the forgotten handle. */
ps_status test_mem_close(test_mem *m);

#endif
