/* ps_rand.h — the seeded PRNG every actor uses.
 *
 * xoshiro256** (Blackman & Vigna), seeded through splitmix64. One run seed;
 * each actor derives its own generator with ps_rand_derive(seed, stream_id),
 * so adding an actor never shifts the numbers another actor draws. Plain
 * value type: no allocation, not shared between threads.
 *
 * This module is not: a source of cryptographic randomness.
 */
#ifndef PS_RAND_H
#define PS_RAND_H

#include <stdint.h>

#include "ps_api.h"

PS_API_BEGIN

typedef struct ps_rand {
    uint64_t s[4];
} ps_rand;

/* One step of splitmix64: advances *state and returns the next output. */
uint64_t ps_splitmix64(uint64_t *state);

/* Seeds `r` from `seed` through splitmix64 (any seed is fine, 0 included). */
void ps_rand_seed(ps_rand *r, uint64_t seed);

/* A generator for actor `stream_id` of the run seeded with `seed`:
 * independent of the other ids' generators. */
ps_rand ps_rand_derive(uint64_t seed, uint64_t stream_id);

/* Next 64 random bits. */
uint64_t ps_rand_next(ps_rand *r);

/* Uniform in [0, n) without modulo bias; 0 when n == 0. */
uint64_t ps_rand_below(ps_rand *r, uint64_t n);

/* Uniform in [lo, hi] (inclusive); lo when hi <= lo. */
int64_t ps_rand_range(ps_rand *r, int64_t lo, int64_t hi);

/* Uniform double in [0, 1). */
double ps_rand_double(ps_rand *r);

/* True with probability p (p <= 0 never, p >= 1 always). */
int ps_rand_chance(ps_rand *r, double p);

PS_API_END

#endif
