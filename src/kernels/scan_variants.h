/*
 * scan_variants.h: what the variants of the catalogue scan share
 * (serve_scan.c: packing, bound and dispatch; serve_scan_portable.c: the
 * portable loops; serve_scan_x86.c: AVX-512 VNNI, AVX-512BW, AVX2;
 * serve_scan_neon.c: NEON).  Private to them.
 */
#ifndef MR_SCAN_VARIANTS_H
#define MR_SCAN_VARIANTS_H

#include "serve_kernels.h"
#include "simd_dispatch.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

/*
 * The user vector quantized for the integer pass: p_f ~ sp * p16_f, the
 * int16 values of each factor pair in one 32-bit word (even factor low).
 */
typedef struct MrQuery
{
	int32_t		pair[MR_SERVE_SCAN_MAX_K / 2 + 1];
	float		sp;
} MrQuery;

/*
 * y[i] = bias[i] + scale[i] * sp * (q8_i . p16) for items i < n (one
 * variant): the integer dot product is exact, so every variant gives the
 * same bits.
 */
typedef void (*MrApproxFn) (const int8_t *q8, const float *scale, int32_t n, int k,
							const MrQuery *q, const float *bias, float *y);

/*
 * The user vector quantized for the int4 pass (serve_scan4.c): p_f ~ sp *
 * p8_f, |p8_f| <= 127, the int8 values of each factor quad in one 32-bit
 * word (factor 4 g in the low byte), and corr = 8 sum_f p8_f, what the
 * offset of the stored nibbles adds to every sum.
 */
typedef struct MrQuery4
{
	int32_t		quad[MR_SERVE_SCAN_MAX_K / 4 + 2];
	int32_t		corr;
	float		sp;
} MrQuery4;

/* Factors padded to a multiple of 8: the int4 layout's quads, in pairs. */
static inline int
MrK4Pad(int k)
{
	return (k + 7) & ~7;
}

/*
 * y[i] = bias[i] + scale[i] * sp * (sum_f v_if p8_f) for items i < n, from
 * the int4 copy: the integer sum is exact and the float finish that of
 * MrApproxFn, so every variant gives the same bits.
 */
typedef void (*MrApprox4Fn) (const uint8_t *q4, const float *scale, int32_t n, int k,
							 const MrQuery4 *q, const float *bias, float *y);

/*
 * Pass 1 from item i on, heap full: push every lower bound beating the root,
 * except items with skip[i] set (skip may be NULL).
 */
typedef void (*MrLowerFn) (const float *approx, const float *w, float e,
						   int32_t i, int32_t n, MrTopK *h, const uint8_t *skip);

/* Pass 2: indexes of the items whose upper bound reaches tau; the count. */
typedef int32_t (*MrUpperFn) (const float *approx, const float *w, float e,
							  float tau, int32_t n, int32_t *cand);

/*
 * The block maxima of the full scan, for blocks b < nb of 16 items:
 * lo[b] = the largest lower bound a_i - e_i, hi[b] = the largest upper
 * bound a_i + e_i of an item with a_i > -INFINITY (-INFINITY if none),
 * with the bound of MrBound in its operations and order (the same bits in
 * every variant).  One read of approx and w instead of one per pass.
 */
typedef void (*MrBlockFn) (const float *approx, const float *w, float e,
						   int32_t nb, float *lo, float *hi);

/* Round up to 64 bytes (the layout's arrays start on cache lines). */
static inline size_t
MrAlign64(size_t x)
{
	return (x + 63) & ~(size_t) 63;
}

/*
 * The nearest integer to x * inv (inv = lim / max |q|), clamped to +-lim,
 * by a multiply and a truncating conversion: no libm call and no division
 * per factor (a model's first call packs millions), no branch on the sign.
 * Any integer would keep the bounds rigorous: they are computed from the
 * residual of the value chosen.
 */
static inline int32_t
MrQuantizeLevel(float x, float inv, int32_t lim)
{
	float		t = x * inv;
	int32_t		v = (int32_t) (t + copysignf(0.5f, t));

	return v > lim ? lim : (v < -lim ? -lim : v);
}

/* Factors padded to an even count: the layout stores them in pairs. */
static inline int
MrKPad(int k)
{
	return k + (k & 1);
}

/*
 * The error bound of one approximate score, in float: e w_i + 4 units in
 * the last place of a + 2^-100, where e = |p| (1 + 1e-5) and w_i is the
 * item's weight (MrPackItems).  The slack covers the rounding of the final
 * bias addition in both sums and the float arithmetic of the bound and of
 * a -/+ bound themselves (each off by at most half a unit of the larger
 * operand, fused or not).
 */
static inline float
MrBound(float e, float w, float a)
{
	return e * w + fabsf(a) * 0x1p-21f + 0x1p-100f;
}

/*
 * The float finish of the integer pass is a multiply, a multiply and an
 * add, one rounding each, in every variant: gcc would contract them into
 * fused multiply-adds where the target has them (its intrinsics are plain
 * vector operators), so the functions that do it say not to.  clang
 * contracts only within one expression.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define MR_NO_CONTRACT __attribute__((optimize("fp-contract=off")))
#else
#define MR_NO_CONTRACT
#endif

/* Rows rescored per MrScoreExactRows call by the scans (stack buffers). */
#define MR_RESCORE_CHUNK 64

/*
 * out[j] = MrScoreExact of row idx[j] of Q (bias[idx[j]], or 0 if bias is
 * NULL) for j < n: the same bits, several rows at a time (serve_scan.c).
 */
extern void MrScoreExactRows(const float *Q, int k, const float *p, const float *bias,
							 const int32_t *idx, int32_t n, float *out);

/* Quantize p (k factors) for the integer pass (serve_scan.c). */
extern void MrQuantizeQuery(const float *p, int k, MrQuery *q);

/*
 * Quantize p (k factors) for the int4 pass (serve_scan4.c); false when its
 * rounding error is too large for the copy's bound.
 */
extern bool MrQuantizeQuery4(const float *p, int k, MrQuery4 *q);

/* The variants in use (serve_scan.c; never NULL). */
extern MrApproxFn MrScanApproxFn(void);
extern MrLowerFn MrScanLowerFn(void);
extern MrUpperFn MrScanUpperFn(void);
extern MrBlockFn MrScanBlockFn(void);

/* Portable variants (serve_scan.c): also the scalar tails of the others. */
extern void MrApproxPortable(const int8_t *q8, const float *scale, int32_t n, int k,
						 const MrQuery *q, const float *bias, float *y);
extern void MrLowerPortable(const float *approx, const float *w, float e,
							int32_t i, int32_t n, MrTopK *h, const uint8_t *skip);
extern int32_t MrUpperPortable(const float *approx, const float *w, float e,
							   float tau, int32_t n, int32_t *cand);
extern void MrBlockPortable(const float *approx, const float *w, float e,
							int32_t nb, float *lo, float *hi);

extern void MrApprox4Portable(const uint8_t *q4, const float *scale, int32_t n, int k,
							  const MrQuery4 *q, const float *bias, float *y);

#if defined(__x86_64__) && defined(__GNUC__)
#define MR_SCAN_X86 1
extern void MrApprox4Avx512Vnni(const uint8_t *q4, const float *scale, int32_t n, int k,
								const MrQuery4 *q, const float *bias, float *y);
extern void MrApprox4Avx512(const uint8_t *q4, const float *scale, int32_t n, int k,
							const MrQuery4 *q, const float *bias, float *y);
extern void MrApprox4Avx2(const uint8_t *q4, const float *scale, int32_t n, int k,
						  const MrQuery4 *q, const float *bias, float *y);
extern void MrApproxAvx512Vnni(const int8_t *q8, const float *scale, int32_t n, int k,
						 const MrQuery *q, const float *bias, float *y);
extern void MrApproxAvx512(const int8_t *q8, const float *scale, int32_t n, int k,
						 const MrQuery *q, const float *bias, float *y);
extern void MrApproxAvx2(const int8_t *q8, const float *scale, int32_t n, int k,
						 const MrQuery *q, const float *bias, float *y);
extern void MrLowerAvx512(const float *approx, const float *w, float e,
						  int32_t i, int32_t n, MrTopK *h, const uint8_t *skip);
extern int32_t MrUpperAvx512(const float *approx, const float *w, float e,
							 float tau, int32_t n, int32_t *cand);
extern void MrLowerAvx2(const float *approx, const float *w, float e,
						int32_t i, int32_t n, MrTopK *h, const uint8_t *skip);
extern int32_t MrUpperAvx2(const float *approx, const float *w, float e,
						   float tau, int32_t n, int32_t *cand);
extern void MrBlockAvx512(const float *approx, const float *w, float e,
						  int32_t nb, float *lo, float *hi);
extern void MrBlockAvx2(const float *approx, const float *w, float e,
						int32_t nb, float *lo, float *hi);
extern float MrScoreExactFma(const float *q, int k, const float *p, float bias);
extern void MrScoreExactRowsFma(const float *Q, int k, const float *p, const float *bias,
								const int32_t *idx, int32_t n, float *out);
#endif

#if defined(__aarch64__)
#define MR_SCAN_NEON 1
extern void MrApprox4Neon(const uint8_t *q4, const float *scale, int32_t n, int k,
						  const MrQuery4 *q, const float *bias, float *y);
extern void MrApproxNeon(const int8_t *q8, const float *scale, int32_t n, int k,
						 const MrQuery *q, const float *bias, float *y);
extern void MrLowerNeon(const float *approx, const float *w, float e,
						int32_t i, int32_t n, MrTopK *h, const uint8_t *skip);
extern int32_t MrUpperNeon(const float *approx, const float *w, float e,
						   float tau, int32_t n, int32_t *cand);
extern void MrBlockNeon(const float *approx, const float *w, float e,
						int32_t nb, float *lo, float *hi);
#endif

#endif							/* MR_SCAN_VARIANTS_H */
