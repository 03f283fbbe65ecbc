/*
 * serve_scan_impl.h: what the variants of the catalogue scan share
 * (serve_scan.c: portable loops and dispatch; serve_scan_x86.c: AVX-512
 * BF16, AVX-512F, AVX2; serve_scan_neon.c: NEON).  Private to them.
 */
#ifndef MR_SERVE_SCAN_IMPL_H
#define MR_SERVE_SCAN_IMPL_H

#include "serve_kernels.h"
#include "simd_dispatch.h"

#include <math.h>
#include <string.h>

/* y[i] = bias[i] + q~_i . p for every item (one variant). */
typedef void (*MrApproxFn) (const uint16_t *packed, int32_t n, int k,
							const float *p, const float *bias, float *y);

/* Pass 1 from item i on, heap full: push every lower bound beating the root. */
typedef void (*MrLowerFn) (const float *approx, const float *norm, float e,
						   int32_t i, int32_t n, MrTopK *h);

/* Pass 2: indexes of the items whose upper bound reaches tau; the count. */
typedef int32_t (*MrUpperFn) (const float *approx, const float *norm, float e,
							  float tau, int32_t n, int32_t *cand);

/* float -> bfloat16, round to nearest even (finite inputs) */
static inline uint16_t
MrToBf16(float x)
{
	uint32_t	u;

	memcpy(&u, &x, sizeof(u));
	u += 0x7FFF + ((u >> 16) & 1);
	return (uint16_t) (u >> 16);
}

/* Factors padded to an even count: the layout stores them in pairs. */
static inline int
MrKPad(int k)
{
	return k + (k & 1);
}

/*
 * The error bound of one approximate score, in float: e |q_i| + 4 units in
 * the last place of a + 2^-100, where e = c_k |p| (1 + 1e-5).  The slack
 * covers the rounding of the final bias addition in both sums, the float
 * arithmetic of the bound and of a -/+ bound themselves (each off by at
 * most half a unit of the larger operand, fused or not), and the products
 * below 2^-126 that VDPBF16PS flushes to zero.
 */
static inline float
MrBound(float e, float qnorm, float a)
{
	return e * qnorm + fabsf(a) * 0x1p-21f + 0x1p-100f;
}

/* The variants in use (serve_scan.c; never NULL). */
extern MrApproxFn MrScanApproxFn(int k);
extern MrLowerFn MrScanLowerFn(void);
extern MrUpperFn MrScanUpperFn(void);

/* Portable variants (serve_scan.c): also the scalar tails of the others. */
extern void MrApproxPortable(const uint16_t *packed, int32_t n, int k,
							 const float *p, const float *bias, float *y);
extern void MrLowerPortable(const float *approx, const float *norm, float e,
							int32_t i, int32_t n, MrTopK *h);
extern int32_t MrUpperPortable(const float *approx, const float *norm, float e,
							   float tau, int32_t n, int32_t *cand);

#if defined(__x86_64__) && defined(__GNUC__)
#define MR_SCAN_X86 1
extern void MrApproxAvx512Bf16(const uint16_t *packed, int32_t n, int k,
							   const float *p, const float *bias, float *y);
extern void MrApproxAvx512(const uint16_t *packed, int32_t n, int k,
						   const float *p, const float *bias, float *y);
extern void MrApproxAvx2(const uint16_t *packed, int32_t n, int k,
						 const float *p, const float *bias, float *y);
extern void MrLowerAvx512(const float *approx, const float *norm, float e,
						  int32_t i, int32_t n, MrTopK *h);
extern int32_t MrUpperAvx512(const float *approx, const float *norm, float e,
							 float tau, int32_t n, int32_t *cand);
extern void MrLowerAvx2(const float *approx, const float *norm, float e,
						int32_t i, int32_t n, MrTopK *h);
extern int32_t MrUpperAvx2(const float *approx, const float *norm, float e,
						   float tau, int32_t n, int32_t *cand);
extern float MrScoreExactFma(const float *q, int k, const float *p, float bias);
#endif

#if defined(__aarch64__)
#define MR_SCAN_NEON 1
extern void MrApproxNeon(const uint16_t *packed, int32_t n, int k,
						 const float *p, const float *bias, float *y);
extern void MrLowerNeon(const float *approx, const float *norm, float e,
						int32_t i, int32_t n, MrTopK *h);
extern int32_t MrUpperNeon(const float *approx, const float *norm, float e,
						   float tau, int32_t n, int32_t *cand);
#endif

#endif							/* MR_SERVE_SCAN_IMPL_H */
