/* mem_arena.c — where the memory backend's bulk memory comes from.
 *
 * Two layers:
 *  - big allocations (mem_big_*): an array of 2 MiB or more is a region of
 *    its own, 2 MiB-aligned, mapped with mmap and advised for transparent
 *    huge pages. A freed region goes onto a process-wide free list (bounded
 *    by MEM_POOL_MAX_BYTES, guarded by a mutex) from which the next stream
 *    or backend of the process takes it, already faulted in. Smaller sizes
 *    are plain malloc.
 *  - arenas (mem_arena_*): small objects (stored messages, dedup entries)
 *    cut in allocation order from blocks; a block goes when its last object
 *    does. Blocks are 64 KiB from malloc while a stream holds less than
 *    SMALL_HELD_MAX of them, so that a small stream (a test creates
 *    thousands) or one that keeps up costs little; beyond, whole regions.
 *
 * Why: on a virtual machine a page fault costs microseconds, and a store
 * that touches a fresh 4 KiB page every 25 messages spent most of a publish
 * in the kernel. A region is faulted in as one huge page where the system
 * allows it (THP "madvise" or "always"; elsewhere the advice is ignored and
 * the region is ordinary memory), and reuse skips the faults entirely.
 *
 * Not: a general-purpose allocator. Callers pass the size back when they
 * free a big allocation, and arena objects are at most MEM_ARENA_MAX_OBJ
 * bytes (larger ones are malloc'd alone, transparently).
 *
 * Failure: mmap is the one call here that is not malloc; the allocation-
 * failure sweep wraps it too (tests/alloc_fail.c), so a failed mapping is
 * swept like a failed malloc.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mem_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define MEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEM_ASAN 1
#endif
#endif
#ifdef MEM_ASAN
#include <sanitizer/asan_interface.h>
/* A cached region is poisoned, so a use after free shows under ASan even
 * though the memory stays mapped. */
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* ---- regions and the process-wide pool ------------------------------------ */

#define POOL_CLASSES 24 /* 2 MiB << 0..23: far more than any array here */

typedef struct pool_link {
    struct pool_link *next;
} pool_link;

static struct {
    pthread_mutex_t lock;
    pool_link *free[POOL_CLASSES]; /* per size class, most recently freed first */
    size_t cached_bytes;
    size_t live;                   /* regions handed out and not freed */
} g_pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The class of a big size: its power of two (in regions); -1 when absurd. */
static int size_class(size_t size, size_t *rounded)
{
    size_t r = MEM_REGION_SIZE;
    for (int k = 0; k < POOL_CLASSES; k++, r <<= 1)
        if (size <= r) {
            *rounded = r;
            return k;
        }
    return -1;
}

/* A fresh mapping of `size` bytes on a region boundary. mmap aligns to
 * pages only: map one region more and give back the ends. */
static void *region_map(size_t size)
{
    size_t span = size + MEM_REGION_SIZE;
    char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)p + MEM_REGION_SIZE - 1) & ~(uintptr_t)(MEM_REGION_SIZE - 1);
    size_t head = a - (uintptr_t)p, tail = span - head - size;
    if (head)
        munmap(p, head);
    if (tail)
        munmap((char *)a + size, tail);
    /* Advice only: EINVAL where THP is compiled out, ignored when "never". */
    madvise((void *)a, size, MADV_HUGEPAGE);
    return (void *)a;
}

static void *pool_take(int k, size_t rounded)
{
    pthread_mutex_lock(&g_pool.lock);
    pool_link *l = g_pool.free[k];
    if (l) {
        UNPOISON(l, rounded);
        g_pool.free[k] = l->next;
        g_pool.cached_bytes -= rounded;
    }
    pthread_mutex_unlock(&g_pool.lock);
    return l;
}

void *mem_big_alloc(size_t size, bool zero)
{
    if (size < MEM_REGION_SIZE)
        return zero ? calloc(1, size) : malloc(size);
    size_t rounded = 0;
    int k = size_class(size, &rounded);
    if (k < 0)
        return NULL;
    void *p = pool_take(k, rounded);
    if (p && zero)
        memset(p, 0, size);
    if (!p)
        p = region_map(rounded); /* fresh pages are zero already */
    if (p) {
        pthread_mutex_lock(&g_pool.lock);
        g_pool.live++;
        pthread_mutex_unlock(&g_pool.lock);
    }
    return p;
}

void mem_big_free(void *p, size_t size)
{
    if (!p)
        return;
    if (size < MEM_REGION_SIZE) {
        free(p);
        return;
    }
    size_t rounded = 0;
    int k = size_class(size, &rounded);
    pthread_mutex_lock(&g_pool.lock);
    g_pool.live--;
    bool keep = g_pool.cached_bytes + rounded <= MEM_POOL_MAX_BYTES;
    if (keep) {
        pool_link *l = p;
        l->next = g_pool.free[k];
        g_pool.free[k] = l;
        g_pool.cached_bytes += rounded;
        POISON(p, rounded);
    }
    pthread_mutex_unlock(&g_pool.lock);
    if (!keep)
        munmap(p, rounded);
}

void *mem_big_grow(void *p, size_t old_size, size_t new_size)
{
    size_t orounded = 0, nrounded = 0;
    if (!p || old_size < MEM_REGION_SIZE || size_class(old_size, &orounded) < 0 ||
        size_class(new_size, &nrounded) < 0) {
        void *n = mem_big_alloc(new_size, true);
        if (n && p) {
            memcpy(n, p, old_size);
            mem_big_free(p, old_size);
        }
        return n;
    }
    char *n = region_map(nrounded);
    if (!n)
        return NULL;
    /* The old pages move to the front of the new region, huge pages whole
     * (both ends are region-aligned): no copy, and nothing left behind. */
    if (mremap(p, orounded, orounded, MREMAP_MAYMOVE | MREMAP_FIXED, n) == MAP_FAILED) {
        memcpy(n, p, old_size);
        munmap(p, orounded);
    }
    memset(n + old_size, 0, orounded - old_size);
    return n;
}

void mem_pool_trim(void)
{
    pthread_mutex_lock(&g_pool.lock);
    for (int k = 0; k < POOL_CLASSES; k++)
        while (g_pool.free[k]) {
            pool_link *l = g_pool.free[k];
            UNPOISON(l, MEM_REGION_SIZE << k);
            g_pool.free[k] = l->next;
            munmap(l, MEM_REGION_SIZE << k);
        }
    g_pool.cached_bytes = 0;
    pthread_mutex_unlock(&g_pool.lock);
}

void mem_pool_stats(size_t *live, size_t *cached_bytes)
{
    pthread_mutex_lock(&g_pool.lock);
    *live = g_pool.live;
    *cached_bytes = g_pool.cached_bytes;
    pthread_mutex_unlock(&g_pool.lock);
}

/* ---- arenas ------------------------------------------------------------------ */

#define SMALL_BLOCK ((size_t)64 * 1024)
/* Blocks held before new ones are regions: a stream that keeps up (a work
 * queue acked as it goes) stays in a few small blocks and never pays for a
 * huge page; one that holds a lot moves to regions. */
#define SMALL_HELD_MAX ((size_t)1 << 20)

typedef struct mem_block {
    uint32_t live; /* objects still allocated in it */
    uint32_t used; /* bytes handed out, header included */
    uint32_t size; /* SMALL_BLOCK or MEM_REGION_SIZE */
} mem_block;

#define BLOCK_HDR ((sizeof(mem_block) + 7) & ~(size_t)7)

static mem_block *block_new(mem_arena *a)
{
    bool region = a->held >= SMALL_HELD_MAX;
    size_t size = region ? MEM_REGION_SIZE : SMALL_BLOCK;
    mem_block *b = region ? mem_big_alloc(size, false) : malloc(size);
    if (!b)
        return NULL;
    a->held += size;
    b->live = 0;
    b->used = (uint32_t)BLOCK_HDR;
    b->size = (uint32_t)size;
    return b;
}

static void block_free(mem_arena *a, mem_block *b)
{
    a->held -= b->size;
    if (b->size == MEM_REGION_SIZE)
        mem_big_free(b, MEM_REGION_SIZE);
    else
        free(b);
}

void *mem_arena_alloc(mem_arena *a, size_t size, uint16_t *tag)
{
    size = (size + 7) & ~(size_t)7;
    if (size > MEM_ARENA_MAX_OBJ) {
        void *p = malloc(size);
        if (p)
            *tag = MEM_ARENA_OWN;
        return p;
    }
    mem_block *b = a->cur;
    if (!b || b->used + size > b->size) {
        if (b && b->live == 0)
            block_free(a, b);
        /* else: it goes when its last object does */
        if (!(b = block_new(a))) {
            a->cur = NULL;
            return NULL;
        }
        a->cur = b;
    }
    void *p = (char *)b + b->used;
    /* A region's objects find it by alignment; a small block's by offset,
     * in 8-byte units (below 64 KiB: fits with room for the markers). */
    *tag = b->size == MEM_REGION_SIZE ? MEM_ARENA_REGION : (uint16_t)(b->used / 8);
    b->used += (uint32_t)size;
    b->live++;
    return p;
}

void mem_arena_free(mem_arena *a, void *p, uint16_t tag)
{
    if (tag == MEM_ARENA_OWN) {
        free(p);
        return;
    }
    mem_block *b = tag == MEM_ARENA_REGION
                       ? (mem_block *)((uintptr_t)p & ~(uintptr_t)(MEM_REGION_SIZE - 1))
                       : (mem_block *)(void *)((char *)p - (size_t)tag * 8);
    if (--b->live > 0)
        return;
    if (b == a->cur)
        b->used = (uint32_t)BLOCK_HDR; /* empty: cut from its start again */
    else
        block_free(a, b);
}

void mem_arena_release(mem_arena *a)
{
    if (a->cur && a->cur->live == 0) {
        block_free(a, a->cur);
        a->cur = NULL;
    }
}
