/* mem_util.c — the small containers the memory backend is built from.
 *
 * Open-addressing hash maps (linear probing with backward-shift deletion, so
 * there are no tombstones to slow lookups down) and a power-of-two FIFO.
 * They are used for lookups only: nothing iterates a map to decide an order.
 *
 * Arrays come from mem_big_alloc: the large ones are huge-page regions the
 * process reuses (mem_arena.c).
 *
 * Not a general-purpose library: no shrinking, capacities are uint32_t.
 */
#include <stdlib.h>
#include <string.h>

#include "mem_internal.h"

char *mem_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Eight bytes at a time, each word folded in by a multiply (odd, so no
 * information is lost between words), then a final mix that brings the
 * high bits down to the slot index: half of FNV-1a's instructions on a
 * msg id, and as good for keys that differ in their last characters
 * (job-17, job-18 ...). Only lookups depend on it, never an order. */
uint64_t mem_hash(const char *s, size_t len)
{
    const uint64_t k = UINT64_C(0x9e3779b97f4a7c15);
    uint64_t h = (len + 1) * k;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * k;
    }
    if (i < len) {
        uint64_t w = 0;
        for (unsigned sh = 0; i < len; i++, sh += 8)
            w |= (uint64_t)(unsigned char)s[i] << sh;
        h = (h ^ w) * k;
    }
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h;
}

static inline uint64_t mem_hash64(uint64_t k)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    return k;
}

/* ---- u64 map ------------------------------------------------------------- */

static void u64map_release(mem_u64map *m)
{
    mem_big_free(m->keys, (size_t)m->cap * sizeof *m->keys);
    mem_big_free(m->vals, (size_t)m->cap * sizeof *m->vals);
}

/* Out of line: inlined, its register saves made every reserve pay for it. */
static __attribute__((noinline, cold)) bool u64map_grow(mem_u64map *m)
{
    uint32_t ncap = m->cap ? m->cap * 2 : 16;
    size_t bytes = (size_t)ncap * sizeof(uint64_t);
    uint64_t *nk = mem_big_alloc(bytes, true);
    uint64_t *nv = nk ? mem_big_alloc(bytes, false) : NULL;
    if (!nv) {
        mem_big_free(nk, bytes);
        return false;
    }
    for (uint32_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        uint32_t j = (uint32_t)mem_hash64(m->keys[i]) & (ncap - 1);
        while (nk[j])
            j = (j + 1) & (ncap - 1);
        nk[j] = m->keys[i];
        nv[j] = m->vals[i];
    }
    u64map_release(m);
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
    return true;
}

bool mem_u64map_get(const mem_u64map *m, uint64_t key, uint64_t *val)
{
    if (!m->len || key == 0) /* 0 marks an empty slot */
        return false;
    uint32_t mask = m->cap - 1;
    for (uint32_t j = (uint32_t)mem_hash64(key) & mask;; j = (j + 1) & mask) {
        if (m->keys[j] == key) {
            if (val)
                *val = m->vals[j];
            return true;
        }
        if (!m->keys[j])
            return false;
    }
}

bool mem_u64map_reserve(mem_u64map *m, uint32_t n)
{
    while ((m->len + n) * 2 > m->cap)
        if (!u64map_grow(m))
            return false;
    return true;
}

bool mem_u64map_put(mem_u64map *m, uint64_t key, uint64_t val)
{
    if (key == 0)
        return false;
    if (!mem_u64map_reserve(m, 1))
        return false;
    uint32_t mask = m->cap - 1;
    uint32_t j = (uint32_t)mem_hash64(key) & mask;
    while (m->keys[j] && m->keys[j] != key)
        j = (j + 1) & mask;
    if (!m->keys[j])
        m->len++;
    m->keys[j] = key;
    m->vals[j] = val;
    return true;
}

bool mem_u64map_del(mem_u64map *m, uint64_t key)
{
    if (!m->len || key == 0)
        return false;
    uint32_t mask = m->cap - 1;
    uint32_t j = (uint32_t)mem_hash64(key) & mask;
    while (m->keys[j] != key) {
        if (!m->keys[j])
            return false;
        j = (j + 1) & mask;
    }
    /* Backward shift: pull later members of the probe run into the hole. */
    uint32_t hole = j;
    for (uint32_t k = (j + 1) & mask; m->keys[k]; k = (k + 1) & mask) {
        uint32_t home = (uint32_t)mem_hash64(m->keys[k]) & mask;
        bool movable = (hole <= k) ? (home <= hole || home > k)
                                   : (home <= hole && home > k);
        if (movable) {
            m->keys[hole] = m->keys[k];
            m->vals[hole] = m->vals[k];
            hole = k;
        }
    }
    m->keys[hole] = 0;
    m->len--;
    return true;
}

void mem_u64map_clear(mem_u64map *m)
{
    if (m->cap)
        memset(m->keys, 0, (size_t)m->cap * sizeof *m->keys);
    m->len = 0;
}

void mem_u64map_free(mem_u64map *m)
{
    u64map_release(m);
    memset(m, 0, sizeof *m);
}

/* ---- string map ------------------------------------------------------------ */

static __attribute__((noinline, cold)) bool strmap_grow(mem_strmap *m) /* as u64map_grow */
{
    uint32_t ncap = m->cap ? m->cap * 2 : 16;
    mem_strslot *ns = mem_big_alloc((size_t)ncap * sizeof *ns, true);
    if (!ns)
        return false;
    for (uint32_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].val)
            continue;
        uint32_t j = (uint32_t)m->slots[i].hash & (ncap - 1);
        while (ns[j].val)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    mem_big_free(m->slots, (size_t)m->cap * sizeof *m->slots);
    m->slots = ns;
    m->cap = ncap;
    return true;
}

static bool strmap_eq(const mem_strmap *m, uint32_t j, uint64_t h,
                      const char *key, size_t len)
{
    if (m->slots[j].hash != h)
        return false;
    const char *k = m->key_of(m->slots[j].val);
    return memcmp(k, key, len) == 0 && k[len] == '\0';
}

static int64_t strmap_find(const mem_strmap *m, const char *key, size_t len,
                           uint64_t h)
{
    if (!m->len)
        return -1;
    uint32_t mask = m->cap - 1;
    for (uint32_t j = (uint32_t)h & mask; m->slots[j].val; j = (j + 1) & mask)
        if (strmap_eq(m, j, h, key, len))
            return j;
    return -1;
}

void *mem_strmap_get(const mem_strmap *m, const char *key, size_t len)
{
    if (!m->len)
        return NULL;
    int64_t j = strmap_find(m, key, len, mem_hash(key, len));
    return j < 0 ? NULL : m->slots[j].val;
}

mem_key mem_key_of(const char *s)
{
    size_t len = strlen(s);
    return (mem_key){s, len, mem_hash(s, len)};
}

void *mem_strmap_get_key(const mem_strmap *m, const mem_key *k)
{
    int64_t j = strmap_find(m, k->s, k->len, k->hash);
    return j < 0 ? NULL : m->slots[j].val;
}

void mem_strmap_prefetch(const mem_strmap *m, const mem_key *k)
{
    if (m->cap)
        __builtin_prefetch(&m->slots[(uint32_t)k->hash & (m->cap - 1)]);
}

bool mem_strmap_put(mem_strmap *m, void *val)
{
    mem_key k = mem_key_of(m->key_of(val));
    return mem_strmap_put_key(m, &k, val);
}

bool mem_strmap_put_key(mem_strmap *m, const mem_key *key, void *val)
{
    int64_t j = strmap_find(m, key->s, key->len, key->hash);
    if (j >= 0) {
        m->slots[j].val = val;
        return true;
    }
    return mem_strmap_put_new_key(m, key, val);
}

bool mem_strmap_put_new_key(mem_strmap *m, const mem_key *key, void *val)
{
    uint64_t h = key->hash;
    if ((m->len + 1) * 2 > m->cap && !strmap_grow(m))
        return false;
    uint32_t mask = m->cap - 1;
    uint32_t k = (uint32_t)h & mask;
    while (m->slots[k].val)
        k = (k + 1) & mask;
    m->slots[k] = (mem_strslot){h, val};
    m->len++;
    return true;
}

void *mem_strmap_del(mem_strmap *m, const char *key, size_t len)
{
    int64_t found = strmap_find(m, key, len, mem_hash(key, len));
    if (found < 0)
        return NULL;
    uint32_t mask = m->cap - 1;
    uint32_t hole = (uint32_t)found;
    void *val = m->slots[hole].val;
    for (uint32_t k = (hole + 1) & mask; m->slots[k].val; k = (k + 1) & mask) {
        uint32_t home = (uint32_t)m->slots[k].hash & mask;
        bool movable = (hole <= k) ? (home <= hole || home > k)
                                   : (home <= hole && home > k);
        if (movable) {
            m->slots[hole] = m->slots[k];
            hole = k;
        }
    }
    m->slots[hole].val = NULL;
    m->len--;
    return val;
}

void mem_strmap_free(mem_strmap *m)
{
    mem_big_free(m->slots, (size_t)m->cap * sizeof *m->slots);
    m->slots = NULL;
    m->cap = m->len = 0;
}

/* ---- FIFO ---------------------------------------------------------------------- */

bool mem_fifo_reserve(mem_fifo *q)
{
    if (q->len < q->cap)
        return true;
    uint32_t ncap = q->cap ? q->cap * 2 : 16;
    uint64_t *nb = mem_big_alloc((size_t)ncap * sizeof *nb, false);
    if (!nb)
        return false;
    for (uint32_t i = 0; i < q->len; i++)
        nb[i] = q->buf[(q->head + i) & (q->cap - 1)];
    mem_big_free(q->buf, (size_t)q->cap * sizeof *q->buf);
    q->buf = nb;
    q->cap = ncap;
    q->head = 0;
    return true;
}

bool mem_fifo_push(mem_fifo *q, uint64_t v)
{
    if (!mem_fifo_reserve(q))
        return false;
    q->buf[(q->head + q->len) & (q->cap - 1)] = v;
    q->len++;
    return true;
}

bool mem_fifo_pop(mem_fifo *q, uint64_t *v)
{
    if (!q->len)
        return false;
    *v = q->buf[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->len--;
    return true;
}

uint64_t mem_fifo_at(const mem_fifo *q, uint32_t i)
{
    return q->buf[(q->head + i) & (q->cap - 1)];
}

void mem_fifo_clear(mem_fifo *q)
{
    q->head = 0;
    q->len = 0;
}

void mem_fifo_free(mem_fifo *q)
{
    mem_big_free(q->buf, (size_t)q->cap * sizeof *q->buf);
    memset(q, 0, sizeof *q);
}
