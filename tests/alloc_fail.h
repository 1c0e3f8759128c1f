/* alloc_fail.h — allocation-failure injection for test builds (in the
 * manner of SQLite's test_malloc.c): the sweep binary is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,
 * --wrap=strndup,--wrap=mmap, so every allocation the library and the simulator make
 * (core, the memory backend, sim/) goes through the counters here, and the
 * N-th one can be made to fail. No LD_PRELOAD, no change to the code under
 * test. Allocations inside shared libraries (libc, SQLite, cmocka) are not
 * counted: they are not ours to handle.
 *
 * It also wraps ps_error/ps_error_v to count the PS_ERR_NO_MEMORY statuses
 * the library reports, which tells a reported failure from a silent one.
 *
 * Not thread-safe: the sweeps run on one thread.
 */
#ifndef ALLOC_FAIL_H
#define ALLOC_FAIL_H

#include <stdbool.h>
#include <stdint.h>

/* From now on, the n-th allocation (1-based) fails, and only that one
 * (n == 0: none fails). Resets the counters below. */
void alloc_fail_arm(uint64_t n);

/* Allocations counted since the last arm. */
uint64_t alloc_fail_count(void);

/* Whether the armed allocation was reached and failed. */
bool alloc_fail_fired(void);

/* PS_ERR_NO_MEMORY statuses recorded through ps_error since the last arm. */
uint64_t alloc_fail_reported(void);

#endif
