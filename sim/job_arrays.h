/* job_arrays.h — the per-job arrays of the engine and of the master's
 * mirror (one element per job, grown by doubling as jobs are published).
 *
 * Why not realloc: a run of 200,000 jobs grows about 30 MiB of them, and
 * glibc gives that memory back to the system when the run frees it, so
 * the next run of the process (a swarm worker's next seed, a benchmark's
 * next repetition, a test suite) faulted every page in again (most of a
 * run's page faults, and a page fault is microseconds on a virtual
 * machine). From 2 MiB up an array is a region of the memory backend's
 * process-wide pool (mem_big_alloc, mem_arena.c): a huge page where the
 * system allows it, and kept for the next run when freed. Below, malloc.
 *
 * Not: an allocator of its own; the size of an array is the caller's to
 * keep (elements times capacity) and to pass back when it frees.
 */
#ifndef SIM_JOB_ARRAYS_H
#define SIM_JOB_ARRAYS_H

#include <stdint.h>
#include <string.h>

#include "mem_pool.h"

/* The bytes an array of `cap` elements of `elem` bytes takes: from an
 * eighth of a region up, a whole region at least, so that the smaller
 * arrays (a byte or an int per job) come from the pool as well instead of
 * being copied into fresh pages at every doubling. */
static inline size_t sim_job_array_bytes(size_t elem, uint64_t cap)
{
    size_t bytes = elem * cap;
    return bytes >= MEM_REGION_SIZE / 8 && bytes < MEM_REGION_SIZE ? MEM_REGION_SIZE : bytes;
}

/* An array of `newcap` elements of `elem` bytes holding the first
 * `oldcap` of `p` (NULL: none); the rest is not initialized. NULL when out
 * of memory, and `p` is then untouched; otherwise `p` is freed. */
static inline void *sim_job_array_grow(void *p, size_t elem, uint64_t oldcap, uint64_t newcap)
{
    size_t oldb = sim_job_array_bytes(elem, oldcap), newb = sim_job_array_bytes(elem, newcap);
    if (p && oldb == newb)
        return p; /* the region it has holds the new size too */
    void *n = mem_big_alloc(newb, false);
    if (n && p) {
        memcpy(n, p, elem * oldcap);
        mem_big_free(p, oldb);
    }
    return n;
}

/* Frees an array of `cap` elements of `elem` bytes (NULL: nothing). */
static inline void sim_job_array_free(void *p, size_t elem, uint64_t cap)
{
    mem_big_free(p, sim_job_array_bytes(elem, cap));
}

#endif
