/* mem_pool.h — the process-wide pool of big memory (mem_arena.c): pieces
 * of 64 KiB and up, reused within a backend, across the backends of one
 * process and by the simulator's per-job arrays (sim/job_arrays.h), so
 * that a test suite, a benchmark's next repetition or a swarm runner's
 * next seed touches memory that is already faulted in.
 *
 * Internal: the memory backend and the simulator use it; no public header
 * declares it.
 */
#ifndef MEM_POOL_H
#define MEM_POOL_H

#include <stdbool.h>
#include <stddef.h>

/* The unit of big memory: a transparent huge page on x86-64 and arm64. */
#define MEM_REGION_SIZE ((size_t)2 << 20)
/* The smallest size the pool caches (below: plain malloc and free). */
#define MEM_POOL_MIN_SIZE ((size_t)64 << 10)
/* Freed pieces the process keeps for reuse (beyond: given back): as many
 * bytes as it ever had handed out at once, at least MIN (enough for a
 * backend that stored a million messages to hand its memory to the next
 * without a page fault) and at most MAX. */
#define MEM_POOL_MIN_BYTES ((size_t)256 << 20)
#define MEM_POOL_MAX_BYTES ((size_t)1 << 30)

/* `size` bytes (zeroed when `zero`), NULL when out of memory. From
 * MEM_POOL_MIN_SIZE up: a piece of the next power-of-two size, taken from
 * the process-wide pool when one of its class is there (from
 * MEM_REGION_SIZE up a 2 MiB-aligned mapping advised for huge pages, below
 * a malloc'd block); below: malloc. Free with mem_big_free and the same
 * size. Thread-safe. */
void *mem_big_alloc(size_t size, bool zero);
void mem_big_free(void *p, size_t size);
/* p (of old_size bytes, or NULL) made new_size bytes: the content stays at
 * the same offsets, the rest is zero. Copied into a cached piece when the
 * pool has one; otherwise a region's pages move to the new one (mremap).
 * NULL when out of memory: p is then untouched. */
void *mem_big_grow(void *p, size_t old_size, size_t new_size);
/* Unmaps every cached piece (ps_memory_trim; tests: makes the next big
 * alloc map afresh); returns their bytes. */
size_t mem_pool_trim(void);
/* Tests: a lower hard bound for the cache than MEM_POOL_MAX_BYTES (0:
 * that one again); it applies from the next free. */
void mem_pool_set_max(size_t bytes);
/* Pieces handed out and not freed, and the bytes cached for reuse. */
void mem_pool_stats(size_t *live, size_t *cached_bytes);

#endif
