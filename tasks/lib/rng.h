/* rng: a seeded, deterministic random generator for the kernels.
 *
 * xoshiro256** (Blackman and Vigna), seeded through splitmix64 so that any
 * 64-bit seed, 0 included, gives a well-mixed state.  The same seed gives
 * the same stream on every machine and build: a kernel's randomness
 * (initial weights, shuffling, dropout masks) depends only on its seed.
 * A 'struct rng' is a plain value owned by the caller; not thread-safe
 * (give each thread its own, e.g. seeded from rng_next of a parent). */
#ifndef DAGRUN_RNG_H
#define DAGRUN_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* A float in [0, 1) with 24 random bits. */
float rng_float(struct rng *r);
/* An integer in [0, n), unbiased (Lemire's method); n > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* 'n' floats uniform in [lo, hi). */
void rng_fill_uniform(struct rng *r, float *v, size_t n, float lo, float hi);
/* Fisher-Yates shuffle of 'n' indices. */
void rng_shuffle(struct rng *r, size_t *v, size_t n);

#endif
