/* rand.c — splitmix64 and xoshiro256** (Blackman & Vigna), as published.
 *
 * Not for cryptography.
 */
#include "ps_rand.h"

uint64_t ps_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void ps_rand_seed(ps_rand *r, uint64_t seed)
{
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = ps_splitmix64(&sm);
}

/* Mixes the id through splitmix64 before combining, so neighbouring ids
 * (actor 1, actor 2) give unrelated seeds. */
ps_rand ps_rand_derive(uint64_t seed, uint64_t stream_id)
{
    uint64_t sm = stream_id ^ UINT64_C(0x6a09e667f3bcc908);
    uint64_t mixed = seed ^ ps_splitmix64(&sm);
    ps_rand r;
    ps_rand_seed(&r, mixed);
    return r;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t ps_rand_next(ps_rand *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Rejection sampling on the top of the range: no modulo bias. */
uint64_t ps_rand_below(ps_rand *r, uint64_t n)
{
    if (n == 0)
        return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do
        v = ps_rand_next(r);
    while (v >= limit);
    return v % n;
}

int64_t ps_rand_range(ps_rand *r, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    if (span == UINT64_MAX)
        return (int64_t)ps_rand_next(r);
    return (int64_t)((uint64_t)lo + ps_rand_below(r, span + 1));
}

double ps_rand_double(ps_rand *r)
{
    return (double)(ps_rand_next(r) >> 11) * 0x1.0p-53;
}

int ps_rand_chance(ps_rand *r, double p)
{
    if (p <= 0)
        return 0;
    if (p >= 1)
        return 1;
    return ps_rand_double(r) < p;
}
