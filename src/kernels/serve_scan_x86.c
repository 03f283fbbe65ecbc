/*
 * serve_scan_x86.c: the x86-64 variants of the catalogue scan
 * (serve_scan.c has the design and the portable loops).
 *
 *   avx512bf16  one VDPBF16PS per factor pair and 16 items, p in bf16;
 *   avx512f     a 512-bit load is one factor pair of 16 items: shift the
 *               even factor up, mask the odd one, two FMAs;
 *   avx2        the same in two 256-bit halves of 8 items (x86-64-v3).
 *
 * avx512f and avx2 do the same fused multiply-adds in the same order per
 * item as a fmaf() loop: their scores are bit-identical (test/unit checks).
 * Every function carries its own target attribute: the module is built
 * without -march, and simd_dispatch.c lets a variant run only when CPUID
 * and XGETBV say the CPU and the OS support it.
 */
#include "serve_scan_impl.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* Store 16 lanes of acc (+ bias) to y[base..], only the first m lanes. */
__attribute__((target("avx512f")))
static inline void
store16(__m512 acc, const float *bias, float *y, size_t base, long m)
{
	__mmask16	mask = (m >= 16) ? 0xFFFF : (__mmask16) ((1u << m) - 1);

	if (bias)
		acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(mask, bias + base));
	_mm512_mask_storeu_ps(y + base, mask, acc);
}

/* AVX-512F: two panels per step (see the top of the file). */
__attribute__((target("avx512f")))
void
MrApproxAvx512(const uint16_t *packed, int32_t n, int k, const float *p,
			   const float *bias, float *y)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kp = MrKPad(k);
	size_t		stride = (size_t) MR_PANEL * kp;
	__m512i		hi_mask = _mm512_set1_epi32((int) 0xFFFF0000);
	size_t		b;

	for (b = 0; b < panels; b += 2)
	{
		int			two = (b + 1 < panels);
		const uint16_t *s0 = packed + b * stride;
		const uint16_t *s1 = two ? s0 + stride : s0;
		__m512		a0 = _mm512_setzero_ps(),
					a1 = _mm512_setzero_ps();
		int			f;

		for (f = 0; f + 1 < k; f += 2)
		{
			__m512i		v0 = _mm512_loadu_si512((const void *) (s0 + (size_t) f * MR_PANEL));
			__m512i		v1 = _mm512_loadu_si512((const void *) (s1 + (size_t) f * MR_PANEL));
			__m512		pe = _mm512_set1_ps(p[f]);
			__m512		po = _mm512_set1_ps(p[f + 1]);

			a0 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v0, 16)), pe, a0);
			a1 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v1, 16)), pe, a1);
			a0 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(v0, hi_mask)), po, a0);
			a1 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(v1, hi_mask)), po, a1);
		}
		if (f < k)				/* odd k: the last factor, alone in its pair */
		{
			__m512i		v0 = _mm512_loadu_si512((const void *) (s0 + (size_t) f * MR_PANEL));
			__m512i		v1 = _mm512_loadu_si512((const void *) (s1 + (size_t) f * MR_PANEL));
			__m512		pe = _mm512_set1_ps(p[f]);

			a0 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v0, 16)), pe, a0);
			a1 = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v1, 16)), pe, a1);
		}
		store16(a0, bias, y, b * MR_PANEL, (long) n - (long) (b * MR_PANEL));
		if (two)
			store16(a1, bias, y, (b + 1) * MR_PANEL, (long) n - (long) ((b + 1) * MR_PANEL));
	}
}

/*
 * AVX512_BF16: one VDPBF16PS per factor pair and 16 items, with p rounded
 * to bf16 too (covered by the error bound); the fastest variant.  Four
 * panels per step to hide the instruction's latency.
 */
__attribute__((target("avx512f,avx512bf16")))
void
MrApproxAvx512Bf16(const uint16_t *packed, int32_t n, int k, const float *p,
				   const float *bias, float *y)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kp = MrKPad(k);
	size_t		stride = (size_t) MR_PANEL * kp;
	uint32_t	pp[MR_SERVE_SCAN_MAX_K / 2 + 1];
	size_t		b = 0;
	int			f;

	/* p as bf16 pairs, zero-padded for odd k */
	for (f = 0; f < kp; f += 2)
	{
		uint16_t	lo = MrToBf16(p[f]);
		uint16_t	hi = (f + 1 < k) ? MrToBf16(p[f + 1]) : 0;

		pp[f / 2] = (uint32_t) lo | ((uint32_t) hi << 16);
	}
	for (; b + 4 <= panels; b += 4)
	{
		const uint16_t *s0 = packed + b * stride;
		__m512		a0 = _mm512_setzero_ps(),
					a1 = _mm512_setzero_ps(),
					a2 = _mm512_setzero_ps(),
					a3 = _mm512_setzero_ps();

		for (f = 0; f < kp; f += 2)
		{
			__m512bh	pv = (__m512bh) _mm512_set1_epi32((int) pp[f / 2]);
			const uint16_t *s = s0 + (size_t) f * MR_PANEL;

			a0 = _mm512_dpbf16_ps(a0, (__m512bh) _mm512_loadu_si512((const void *) s), pv);
			a1 = _mm512_dpbf16_ps(a1, (__m512bh) _mm512_loadu_si512((const void *) (s + stride)), pv);
			a2 = _mm512_dpbf16_ps(a2, (__m512bh) _mm512_loadu_si512((const void *) (s + 2 * stride)), pv);
			a3 = _mm512_dpbf16_ps(a3, (__m512bh) _mm512_loadu_si512((const void *) (s + 3 * stride)), pv);
		}
		store16(a0, bias, y, (b + 0) * MR_PANEL, (long) n - (long) ((b + 0) * MR_PANEL));
		store16(a1, bias, y, (b + 1) * MR_PANEL, (long) n - (long) ((b + 1) * MR_PANEL));
		store16(a2, bias, y, (b + 2) * MR_PANEL, (long) n - (long) ((b + 2) * MR_PANEL));
		store16(a3, bias, y, (b + 3) * MR_PANEL, (long) n - (long) ((b + 3) * MR_PANEL));
	}
	for (; b < panels; b++)
	{
		const uint16_t *s0 = packed + b * stride;
		__m512		a0 = _mm512_setzero_ps();

		for (f = 0; f < kp; f += 2)
			a0 = _mm512_dpbf16_ps(a0, (__m512bh) _mm512_loadu_si512((const void *) (s0 + (size_t) f * MR_PANEL)),
								  (__m512bh) _mm512_set1_epi32((int) pp[f / 2]));
		store16(a0, bias, y, b * MR_PANEL, (long) n - (long) (b * MR_PANEL));
	}
}

/* Store 8 lanes of acc (+ bias) to y[base..], only the first m lanes. */
__attribute__((target("avx2,fma")))
static inline void
store8(__m256 acc, const float *bias, float *y, size_t base, long m)
{
	if (m >= 8)
	{
		if (bias)
			acc = _mm256_add_ps(acc, _mm256_loadu_ps(bias + base));
		_mm256_storeu_ps(y + base, acc);
	}
	else if (m > 0)
	{
		float		t[8];
		long		j;

		_mm256_storeu_ps(t, acc);
		for (j = 0; j < m; j++)
			y[base + j] = t[j] + (bias ? bias[base + j] : 0.0f);
	}
}

/* One factor pair of 8 items: even factor shifted up, odd one masked. */
#define AVX2_PAIR(acc, v, pe, po, hi) \
	do { \
		(acc) = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32((v), 16)), (pe), (acc)); \
		(acc) = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256((v), (hi))), (po), (acc)); \
	} while (0)

/*
 * AVX2 + FMA: a panel's factor pair is two 256-bit loads (items 0-7 and
 * 8-15); two panels per step give four independent accumulators.  For odd
 * k the last factor is done alone (no odd half), as in avx512f.
 */
__attribute__((target("avx2,fma")))
void
MrApproxAvx2(const uint16_t *packed, int32_t n, int k, const float *p,
			 const float *bias, float *y)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kp = MrKPad(k);
	size_t		stride = (size_t) MR_PANEL * kp;
	__m256i		hi = _mm256_set1_epi32((int) 0xFFFF0000);
	size_t		b;

	for (b = 0; b < panels; b += 2)
	{
		int			two = (b + 1 < panels);
		const uint16_t *s0 = packed + b * stride;
		const uint16_t *s1 = two ? s0 + stride : s0;
		__m256		a0 = _mm256_setzero_ps(),
					a1 = _mm256_setzero_ps(),
					a2 = _mm256_setzero_ps(),
					a3 = _mm256_setzero_ps();
		int			f;

		for (f = 0; f + 1 < k; f += 2)
		{
			const uint16_t *t0 = s0 + (size_t) f * MR_PANEL;
			const uint16_t *t1 = s1 + (size_t) f * MR_PANEL;
			__m256i		v0 = _mm256_loadu_si256((const __m256i *) t0);
			__m256i		v1 = _mm256_loadu_si256((const __m256i *) (t0 + 16));
			__m256i		v2 = _mm256_loadu_si256((const __m256i *) t1);
			__m256i		v3 = _mm256_loadu_si256((const __m256i *) (t1 + 16));
			__m256		pe = _mm256_set1_ps(p[f]);
			__m256		po = _mm256_set1_ps(p[f + 1]);

			AVX2_PAIR(a0, v0, pe, po, hi);
			AVX2_PAIR(a1, v1, pe, po, hi);
			AVX2_PAIR(a2, v2, pe, po, hi);
			AVX2_PAIR(a3, v3, pe, po, hi);
		}
		if (f < k)
		{
			const uint16_t *t0 = s0 + (size_t) f * MR_PANEL;
			const uint16_t *t1 = s1 + (size_t) f * MR_PANEL;
			__m256		pe = _mm256_set1_ps(p[f]);

			a0 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_loadu_si256((const __m256i *) t0), 16)), pe, a0);
			a1 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_loadu_si256((const __m256i *) (t0 + 16)), 16)), pe, a1);
			a2 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_loadu_si256((const __m256i *) t1), 16)), pe, a2);
			a3 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_loadu_si256((const __m256i *) (t1 + 16)), 16)), pe, a3);
		}
		store8(a0, bias, y, b * MR_PANEL, (long) n - (long) (b * MR_PANEL));
		store8(a1, bias, y, b * MR_PANEL + 8, (long) n - (long) (b * MR_PANEL + 8));
		if (two)
		{
			store8(a2, bias, y, (b + 1) * MR_PANEL, (long) n - (long) ((b + 1) * MR_PANEL));
			store8(a3, bias, y, (b + 1) * MR_PANEL + 8, (long) n - (long) ((b + 1) * MR_PANEL + 8));
		}
	}
}

/* |a| 2^-21 + e |q| + 2^-100, 16 lanes (the operations of MrBound). */
__attribute__((target("avx512f")))
static inline __m512
bound16(__m512 a, __m512 qn, __m512 e)
{
	__m512		absa = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a),
														   _mm512_set1_epi32(0x7FFFFFFF)));

	return _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(e, qn), _mm512_mul_ps(absa, _mm512_set1_ps(0x1p-21f))),
						 _mm512_set1_ps(0x1p-100f));
}

/* Pass 1, 16 items per step: only lanes whose bound beats the root go on. */
__attribute__((target("avx512f")))
void
MrLowerAvx512(const float *approx, const float *norm, float e, int32_t i,
			  int32_t n, MrTopK *h)
{
	__m512		ev = _mm512_set1_ps(e);

	for (; i + 16 <= n; i += 16)
	{
		__m512		a = _mm512_loadu_ps(approx + i);
		__m512		lo = _mm512_sub_ps(a, bound16(a, _mm512_loadu_ps(norm + i), ev));
		__mmask16	mask = _mm512_cmp_ps_mask(lo, _mm512_set1_ps(h->score[0]), _CMP_GT_OQ);

		while (mask)
		{
			int			j = __builtin_ctz(mask);
			float		l = approx[i + j] - MrBound(e, norm[i + j], approx[i + j]);

			mask &= mask - 1;
			if (l > h->score[0])
				MrTopKPush(h, l, i + j);
		}
	}
	MrLowerPortable(approx, norm, e, i, n, h);
}

/* Pass 2, 16 items per step, indexes written with a compress-store. */
__attribute__((target("avx512f")))
int32_t
MrUpperAvx512(const float *approx, const float *norm, float e, float tau,
			  int32_t n, int32_t *cand)
{
	__m512		ev = _mm512_set1_ps(e);
	__m512		tv = _mm512_set1_ps(tau);
	__m512		ninf = _mm512_set1_ps(-INFINITY);
	__m512i		idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	int32_t		i = 0,
				m = 0;

	for (; i + 16 <= n; i += 16)
	{
		__m512		a = _mm512_loadu_ps(approx + i);
		__m512		hi = _mm512_add_ps(a, bound16(a, _mm512_loadu_ps(norm + i), ev));
		__mmask16	mask = _mm512_cmp_ps_mask(hi, tv, _CMP_GE_OQ) &
			_mm512_cmp_ps_mask(a, ninf, _CMP_GT_OQ);

		if (mask)
		{
			_mm512_mask_compressstoreu_epi32(cand + m, mask,
											 _mm512_add_epi32(idx, _mm512_set1_epi32(i)));
			m += __builtin_popcount(mask);
		}
	}
	for (; i < n; i++)
	{
		float		a = approx[i];

		if (a > -INFINITY && a + MrBound(e, norm[i], a) >= tau)
			cand[m++] = i;
	}
	return m;
}

/* |a| 2^-21 + e |q| + 2^-100, 8 lanes (the operations of MrBound). */
__attribute__((target("avx2,fma")))
static inline __m256
bound8(__m256 a, __m256 qn, __m256 e)
{
	__m256		absa = _mm256_castsi256_ps(_mm256_and_si256(_mm256_castps_si256(a),
														   _mm256_set1_epi32(0x7FFFFFFF)));

	return _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(e, qn), _mm256_mul_ps(absa, _mm256_set1_ps(0x1p-21f))),
						 _mm256_set1_ps(0x1p-100f));
}

/* Pass 1, 16 items per step (two halves of 8), survivors pushed in scalar. */
__attribute__((target("avx2,fma")))
void
MrLowerAvx2(const float *approx, const float *norm, float e, int32_t i,
			int32_t n, MrTopK *h)
{
	__m256		ev = _mm256_set1_ps(e);

	for (; i + 16 <= n; i += 16)
	{
		__m256		root = _mm256_set1_ps(h->score[0]);
		__m256		a0 = _mm256_loadu_ps(approx + i);
		__m256		a1 = _mm256_loadu_ps(approx + i + 8);
		__m256		l0 = _mm256_sub_ps(a0, bound8(a0, _mm256_loadu_ps(norm + i), ev));
		__m256		l1 = _mm256_sub_ps(a1, bound8(a1, _mm256_loadu_ps(norm + i + 8), ev));
		unsigned	mask = (unsigned) _mm256_movemask_ps(_mm256_cmp_ps(l0, root, _CMP_GT_OQ)) |
			((unsigned) _mm256_movemask_ps(_mm256_cmp_ps(l1, root, _CMP_GT_OQ)) << 8);

		while (mask)
		{
			int			j = __builtin_ctz(mask);
			float		l = approx[i + j] - MrBound(e, norm[i + j], approx[i + j]);

			mask &= mask - 1;
			if (l > h->score[0])
				MrTopKPush(h, l, i + j);
		}
	}
	MrLowerPortable(approx, norm, e, i, n, h);
}

/* Pass 2, 8 items per step: a movemask, then the set bits in order. */
__attribute__((target("avx2,fma")))
int32_t
MrUpperAvx2(const float *approx, const float *norm, float e, float tau,
			int32_t n, int32_t *cand)
{
	__m256		ev = _mm256_set1_ps(e);
	__m256		tv = _mm256_set1_ps(tau);
	__m256		ninf = _mm256_set1_ps(-INFINITY);
	int32_t		i = 0,
				m = 0;

	for (; i + 8 <= n; i += 8)
	{
		__m256		a = _mm256_loadu_ps(approx + i);
		__m256		hi = _mm256_add_ps(a, bound8(a, _mm256_loadu_ps(norm + i), ev));
		unsigned	mask = (unsigned) _mm256_movemask_ps(_mm256_and_ps(_mm256_cmp_ps(hi, tv, _CMP_GE_OQ),
																	   _mm256_cmp_ps(a, ninf, _CMP_GT_OQ)));

		while (mask)
		{
			cand[m++] = i + __builtin_ctz(mask);
			mask &= mask - 1;
		}
	}
	for (; i < n; i++)
	{
		float		a = approx[i];

		if (a > -INFINITY && a + MrBound(e, norm[i], a) >= tau)
			cand[m++] = i;
	}
	return m;
}

/* The exact score with the FMA instruction inlined (same as fmaf()). */
__attribute__((target("fma")))
float
MrScoreExactFma(const float *q, int k, const float *p, float bias)
{
	float		acc = 0.0f;
	int			f;

	for (f = 0; f < k; f++)
		acc = __builtin_fmaf(q[f], p[f], acc);
	return acc + bias;
}

#endif							/* x86-64 */
