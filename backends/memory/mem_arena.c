/* mem_arena.c — where the memory backend's bulk memory comes from.
 *
 * Two layers:
 *  - big allocations (mem_big_*): an array of 64 KiB or more is a piece of
 *    a power-of-two size class: below 2 MiB a malloc'd block, from 2 MiB up
 *    a region of its own, 2 MiB-aligned, mapped with mmap and advised for
 *    transparent huge pages. A freed piece goes onto a process-wide free
 *    list per class (guarded by a mutex) from which the next stream or
 *    backend of the process takes it, already faulted in; a growing array
 *    moves into a cached piece too. The cache holds at most what the
 *    process ever had handed out at once (at least MEM_POOL_MIN_BYTES, at
 *    most MEM_POOL_MAX_BYTES). Smaller sizes are plain malloc.
 *  - arenas (mem_arena_*): small objects (stored messages, dedup entries)
 *    cut in allocation order from blocks; a block goes when its last object
 *    does. Blocks are 64 KiB pieces while a stream holds less than
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

/* ---- the process-wide pool ------------------------------------------------- */

/* Size classes are powers of two from MEM_POOL_MIN_SIZE: the classes below
 * MEM_REGION_SIZE are malloc'd blocks, the ones from it up are regions. */
#define SMALL_CLASSES 5 /* 64 KiB << 0..4: up to 1 MiB */
#define POOL_CLASSES (SMALL_CLASSES + 24) /* regions of 2 MiB << 0..23: far more than any array here */

typedef struct pool_link {
    struct pool_link *next;
} pool_link;

static struct {
    pthread_mutex_t lock;
    pool_link *free[POOL_CLASSES]; /* per size class, most recently freed first */
    size_t cached_bytes;
    size_t live;                   /* pieces handed out and not freed */
    size_t live_bytes, peak_bytes; /* their bytes, and the most ever at once */
    size_t max_bytes;              /* the hard bound; 0: MEM_POOL_MAX_BYTES */
} g_pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The class of a size from MEM_POOL_MIN_SIZE up and its rounded size; -1
 * when absurd. */
static int size_class(size_t size, size_t *rounded)
{
    size_t r = MEM_POOL_MIN_SIZE;
    for (int k = 0; k < POOL_CLASSES; k++, r <<= 1)
        if (size <= r) {
            *rounded = r;
            return k;
        }
    return -1;
}

/* What the cache may hold: as much as the process has ever had handed out
 * at once (its own peak, which it needed anyway), at least MEM_POOL_MIN_BYTES
 * and at most the hard bound. Called with the lock held. */
static size_t pool_bound(void)
{
    size_t max = g_pool.max_bytes ? g_pool.max_bytes : MEM_POOL_MAX_BYTES;
    size_t want = g_pool.peak_bytes > MEM_POOL_MIN_BYTES ? g_pool.peak_bytes : MEM_POOL_MIN_BYTES;
    return want < max ? want : max;
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

static void piece_release(void *p, int k, size_t rounded)
{
    if (k < SMALL_CLASSES)
        free(p);
    else
        munmap(p, rounded);
}

static void count_live(size_t rounded)
{
    g_pool.live++;
    g_pool.live_bytes += rounded;
    if (g_pool.live_bytes > g_pool.peak_bytes)
        g_pool.peak_bytes = g_pool.live_bytes;
}

/* A cached piece of class k, counted as live; NULL when none. */
static void *pool_take(int k, size_t rounded)
{
    pthread_mutex_lock(&g_pool.lock);
    pool_link *l = g_pool.free[k];
    if (l) {
        UNPOISON(l, rounded);
        g_pool.free[k] = l->next;
        g_pool.cached_bytes -= rounded;
        count_live(rounded);
    }
    pthread_mutex_unlock(&g_pool.lock);
    return l;
}

/* A new piece of class k (not from the cache), counted as live. */
static void *piece_new(int k, size_t rounded, bool zero)
{
    void *p = k < SMALL_CLASSES ? (zero ? calloc(1, rounded) : malloc(rounded))
                                : region_map(rounded); /* fresh pages are zero already */
    if (p) {
        pthread_mutex_lock(&g_pool.lock);
        count_live(rounded);
        pthread_mutex_unlock(&g_pool.lock);
    }
    return p;
}

void *mem_big_alloc(size_t size, bool zero)
{
    if (size < MEM_POOL_MIN_SIZE)
        return zero ? calloc(1, size) : malloc(size);
    size_t rounded = 0;
    int k = size_class(size, &rounded);
    if (k < 0)
        return NULL;
    void *p = pool_take(k, rounded);
    if (p && zero)
        memset(p, 0, size);
    return p ? p : piece_new(k, rounded, zero);
}

void mem_big_free(void *p, size_t size)
{
    if (!p)
        return;
    if (size < MEM_POOL_MIN_SIZE) {
        free(p);
        return;
    }
    size_t rounded = 0;
    int k = size_class(size, &rounded);
    pthread_mutex_lock(&g_pool.lock);
    g_pool.live--;
    g_pool.live_bytes -= rounded;
    bool keep = g_pool.cached_bytes + rounded <= pool_bound();
    if (keep) {
        pool_link *l = p;
        l->next = g_pool.free[k];
        g_pool.free[k] = l;
        g_pool.cached_bytes += rounded;
        /* All but the link: LeakSanitizer follows no pointer kept in
         * poisoned memory, and would report the malloc'd pieces behind the
         * first of a class as leaked. */
        POISON((char *)p + sizeof(pool_link), rounded - sizeof(pool_link));
    }
    pthread_mutex_unlock(&g_pool.lock);
    if (!keep)
        piece_release(p, k, rounded);
}

void *mem_big_grow(void *p, size_t old_size, size_t new_size)
{
    size_t orounded = 0, nrounded = 0;
    int ok = p && old_size >= MEM_POOL_MIN_SIZE ? size_class(old_size, &orounded) : -1;
    int nk = new_size >= MEM_POOL_MIN_SIZE ? size_class(new_size, &nrounded) : -1;
    /* A region the pool has: its pages are faulted in already, which
     * costs more to redo than the copy. */
    char *n = nk >= 0 ? pool_take(nk, nrounded) : NULL;
    if (!n && ok >= SMALL_CLASSES && nk >= SMALL_CLASSES) {
        if (!(n = piece_new(nk, nrounded, false)))
            return NULL;
        /* None cached: the old pages move to the front of a fresh region,
         * huge pages whole (both ends are region-aligned), so only the new
         * half is faulted in. The old region's range is gone with it. */
        if (mremap(p, orounded, orounded, MREMAP_MAYMOVE | MREMAP_FIXED, n) != MAP_FAILED) {
            memset(n + old_size, 0, orounded - old_size);
            pthread_mutex_lock(&g_pool.lock);
            g_pool.live--;
            g_pool.live_bytes -= orounded;
            pthread_mutex_unlock(&g_pool.lock);
            return n;
        }
    }
    if (!n && !(n = mem_big_alloc(new_size, false)))
        return NULL;
    if (p)
        memcpy(n, p, old_size);
    memset(n + old_size, 0, new_size - old_size);
    mem_big_free(p, old_size);
    return n;
}

size_t mem_pool_trim(void)
{
    pthread_mutex_lock(&g_pool.lock);
    size_t bytes = g_pool.cached_bytes;
    for (int k = 0; k < POOL_CLASSES; k++)
        while (g_pool.free[k]) {
            pool_link *l = g_pool.free[k];
            UNPOISON(l, MEM_POOL_MIN_SIZE << k);
            g_pool.free[k] = l->next;
            piece_release(l, k, MEM_POOL_MIN_SIZE << k);
        }
    g_pool.cached_bytes = 0;
    pthread_mutex_unlock(&g_pool.lock);
    return bytes;
}

void mem_pool_set_max(size_t bytes)
{
    pthread_mutex_lock(&g_pool.lock);
    g_pool.max_bytes = bytes;
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

#define SMALL_BLOCK MEM_POOL_MIN_SIZE
/* Blocks held before new ones are regions: a stream that keeps up (a work
 * queue acked as it goes) stays in a few small blocks and never pays for a
 * huge page; one that holds a lot moves to regions. */
#define SMALL_HELD_MAX ((size_t)1 << 20)

#define BLOCK_HDR ((sizeof(mem_block) + 7) & ~(size_t)7)

static mem_block *block_new(mem_arena *a)
{
    bool region = a->held >= SMALL_HELD_MAX;
    size_t size = region ? MEM_REGION_SIZE : SMALL_BLOCK;
    mem_block *b = mem_big_alloc(size, false);
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
    mem_big_free(b, b->size);
}

void *mem_arena_alloc_slow(mem_arena *a, size_t size, uint16_t *tag)
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
