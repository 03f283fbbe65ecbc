/*
 * rng.h: the seeded PRNG shared by the training kernels and the synthetic
 * generator: xoshiro256** with its state expanded from a 64-bit seed by
 * splitmix64.  Plain C, header-only (static inline) so the hot loops of
 * both inline it.  No code in movierec uses rand().
 */
#ifndef MR_RNG_H
#define MR_RNG_H

#include <stdint.h>

typedef struct MrRng
{
	uint64_t	s[4];
} MrRng;

/* One splitmix64 step. */
static inline uint64_t
MrSplitMix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Seed the generator; every seed (0 included) gives a valid state. */
static inline void
MrRngSeed(MrRng *rng, uint64_t seed)
{
	uint64_t	x = seed;

	for (int i = 0; i < 4; i++)
		rng->s[i] = MrSplitMix64(&x);
}

/* Left rotation. */
static inline uint64_t
MrRotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Next 64 random bits (xoshiro256**). */
static inline uint64_t
MrRngNext(MrRng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = MrRotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = MrRotl(s[3], 45);
	return result;
}

/* Uniform double in [0, 1) from the top 53 bits. */
static inline double
MrRngUniform(MrRng *rng)
{
	return (double) (MrRngNext(rng) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n) by multiply-shift (n > 0). */
static inline uint64_t
MrRngBelow(MrRng *rng, uint64_t n)
{
	return (uint64_t) (((unsigned __int128) MrRngNext(rng) * n) >> 64);
}

#endif							/* MR_RNG_H */
