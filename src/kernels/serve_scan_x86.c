/*
 * serve_scan_x86.c: the x86-64 variants of the catalogue scan
 * (serve_scan.c has the design, serve_scan_portable.c the portable loops).
 *
 * The approximate pass is an integer dot product of the int8 item copy
 * with the int16 user vector, one factor pair of 16 items per 32 bytes:
 *   avx512bf16  the AVX-512 tier of CPUs with BF16, all of which also have
 *               AVX512_VNNI: sign-extend 32 bytes to 32 int16
 *               (VPMOVSXBW), one VPDPWSSD multiplies the pairs and adds;
 *   avx512f     the same with VPMADDWD + VPADDD (AVX512BW);
 *   avx2        the same in two 256-bit halves of 8 items (x86-64-v3).
 * The sums are exact integers and the float finish (convert, times sp,
 * times the item's scale, plus its bias) is the same operations in every
 * variant, so all of them, the portable one included, give the same bits
 * (test/unit checks).  Every function carries its own target attribute:
 * the module is built without -march, and simd_dispatch.c lets a variant
 * run only when CPUID and XGETBV say the CPU and the OS support it.
 */
#include "scan_variants.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include "scan_finish_x86.h"

/* One factor pair of 16 items as 32 int16 (even factor, odd factor, ...). */
__attribute__((target("avx512f,avx512bw")))
MR_NO_CONTRACT
static inline __m512i
pair16(const int8_t *s)
{
	return _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *) s));
}

/* The two AVX-512 multiply-adds of 32 int16 pairs into 16 int32 lanes. */
#define MAC_BW(acc, x, pv)		_mm512_add_epi32((acc), _mm512_madd_epi16((x), (pv)))
#define MAC_VNNI(acc, x, pv)	_mm512_dpwssd_epi32((acc), (x), (pv))

/*
 * One AVX-512 pass, NAME compiled for TARGET with MAC as its multiply-add:
 * four panels per step (four independent accumulators), then single
 * panels.  Written once for both variants, which differ only in MAC.
 */
#define DEFINE_APPROX512(NAME, TARGET, MAC) \
__attribute__((target(TARGET))) \
MR_NO_CONTRACT \
void \
NAME(const int8_t *q8, const float *scale, int32_t n, int k, \
	 const MrQuery *q, const float *bias, float *y) \
{ \
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL; \
	size_t		stride = (size_t) MR_PANEL * MrKPad(k); \
	size_t		b = 0; \
	int			f; \
\
	for (; b + 4 <= panels; b += 4) \
	{ \
		const int8_t *s = q8 + b * stride; \
		__m512i		a[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), \
							_mm512_setzero_si512(), _mm512_setzero_si512()}; \
		int			t; \
\
		for (f = 0; f < MrKPad(k); f += 2, s += 2 * MR_PANEL) \
		{ \
			__m512i		pv = _mm512_set1_epi32(q->pair[f / 2]); \
\
			a[0] = MAC(a[0], pair16(s), pv); \
			a[1] = MAC(a[1], pair16(s + stride), pv); \
			a[2] = MAC(a[2], pair16(s + 2 * stride), pv); \
			a[3] = MAC(a[3], pair16(s + 3 * stride), pv); \
		} \
		for (t = 0; t < 4; t++) \
			finish16(a[t], q->sp, scale, bias, y, (b + t) * MR_PANEL, \
					 (long) n - (long) ((b + t) * MR_PANEL)); \
	} \
	for (; b < panels; b++) \
	{ \
		const int8_t *s = q8 + b * stride; \
		__m512i		a0 = _mm512_setzero_si512(); \
\
		for (f = 0; f < MrKPad(k); f += 2, s += 2 * MR_PANEL) \
			a0 = MAC(a0, pair16(s), _mm512_set1_epi32(q->pair[f / 2])); \
		finish16(a0, q->sp, scale, bias, y, b * MR_PANEL, (long) n - (long) (b * MR_PANEL)); \
	} \
}

/* AVX-512BW: VPMADDWD + VPADDD per factor pair and panel. */
DEFINE_APPROX512(MrApproxAvx512, "avx512f,avx512bw", MAC_BW)

/* AVX512_VNNI: one VPDPWSSD per factor pair and panel. */
DEFINE_APPROX512(MrApproxAvx512Vnni, "avx512f,avx512bw,avx512vnni", MAC_VNNI)

/* One factor pair of 8 items as 16 int16. */
__attribute__((target("avx2")))
MR_NO_CONTRACT
static inline __m256i
pair8(const int8_t *s)
{
	return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) s));
}

/*
 * AVX2: a panel's factor pair is two 16-byte halves (items 0-7 and 8-15);
 * two panels per step give four independent accumulators.
 */
__attribute__((target("avx2,fma")))
MR_NO_CONTRACT
void
MrApproxAvx2(const int8_t *q8, const float *scale, int32_t n, int k,
			 const MrQuery *q, const float *bias, float *y)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kp = MrKPad(k);
	size_t		stride = (size_t) MR_PANEL * kp;
	size_t		b;

	for (b = 0; b < panels; b += 2)
	{
		int			two = (b + 1 < panels);
		const int8_t *s0 = q8 + b * stride;
		const int8_t *s1 = two ? s0 + stride : s0;
		__m256i		a0 = _mm256_setzero_si256(),
					a1 = _mm256_setzero_si256(),
					a2 = _mm256_setzero_si256(),
					a3 = _mm256_setzero_si256();
		int			f;

		for (f = 0; f < kp; f += 2, s0 += 2 * MR_PANEL, s1 += 2 * MR_PANEL)
		{
			__m256i		pv = _mm256_set1_epi32(q->pair[f / 2]);

			a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(pair8(s0), pv));
			a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(pair8(s0 + 16), pv));
			a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(pair8(s1), pv));
			a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(pair8(s1 + 16), pv));
		}
		finish8(a0, q->sp, scale, bias, y, b * MR_PANEL, (long) n - (long) (b * MR_PANEL));
		finish8(a1, q->sp, scale, bias, y, b * MR_PANEL + 8, (long) n - (long) (b * MR_PANEL + 8));
		if (two)
		{
			finish8(a2, q->sp, scale, bias, y, (b + 1) * MR_PANEL, (long) n - (long) ((b + 1) * MR_PANEL));
			finish8(a3, q->sp, scale, bias, y, (b + 1) * MR_PANEL + 8, (long) n - (long) ((b + 1) * MR_PANEL + 8));
		}
	}
}

/* e |q| + |a| 2^-21 + 2^-100, 16 lanes (MrBound's operations and order). */
__attribute__((target("avx512f")))
MR_NO_CONTRACT
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
MR_NO_CONTRACT
void
MrLowerAvx512(const float *approx, const float *w, float e, int32_t i,
			  int32_t n, MrTopK *h, const uint8_t *skip)
{
	__m512		ev = _mm512_set1_ps(e);

	for (; i + 16 <= n; i += 16)
	{
		__m512		a = _mm512_loadu_ps(approx + i);
		__m512		lo = _mm512_sub_ps(a, bound16(a, _mm512_loadu_ps(w + i), ev));
		__mmask16	mask = _mm512_cmp_ps_mask(lo, _mm512_set1_ps(h->score[0]), _CMP_GT_OQ);

		while (mask)
		{
			int			j = __builtin_ctz(mask);
			float		l = approx[i + j] - MrBound(e, w[i + j], approx[i + j]);

			mask &= mask - 1;
			if (l > h->score[0] && !(skip && skip[i + j]))
				MrTopKPush(h, l, i + j);
		}
	}
	MrLowerPortable(approx, w, e, i, n, h, skip);
}

/* Pass 2, 16 items per step, indexes written with a compress-store. */
__attribute__((target("avx512f")))
MR_NO_CONTRACT
int32_t
MrUpperAvx512(const float *approx, const float *w, float e, float tau,
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
		__m512		hi = _mm512_add_ps(a, bound16(a, _mm512_loadu_ps(w + i), ev));
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

		if (a > -INFINITY && a + MrBound(e, w[i], a) >= tau)
			cand[m++] = i;
	}
	return m;
}

/* e |q| + |a| 2^-21 + 2^-100, 8 lanes (MrBound's operations and order). */
__attribute__((target("avx2,fma")))
MR_NO_CONTRACT
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
MR_NO_CONTRACT
void
MrLowerAvx2(const float *approx, const float *w, float e, int32_t i,
			int32_t n, MrTopK *h, const uint8_t *skip)
{
	__m256		ev = _mm256_set1_ps(e);

	for (; i + 16 <= n; i += 16)
	{
		__m256		root = _mm256_set1_ps(h->score[0]);
		__m256		a0 = _mm256_loadu_ps(approx + i);
		__m256		a1 = _mm256_loadu_ps(approx + i + 8);
		__m256		l0 = _mm256_sub_ps(a0, bound8(a0, _mm256_loadu_ps(w + i), ev));
		__m256		l1 = _mm256_sub_ps(a1, bound8(a1, _mm256_loadu_ps(w + i + 8), ev));
		unsigned	mask = (unsigned) _mm256_movemask_ps(_mm256_cmp_ps(l0, root, _CMP_GT_OQ)) |
			((unsigned) _mm256_movemask_ps(_mm256_cmp_ps(l1, root, _CMP_GT_OQ)) << 8);

		while (mask)
		{
			int			j = __builtin_ctz(mask);
			float		l = approx[i + j] - MrBound(e, w[i + j], approx[i + j]);

			mask &= mask - 1;
			if (l > h->score[0] && !(skip && skip[i + j]))
				MrTopKPush(h, l, i + j);
		}
	}
	MrLowerPortable(approx, w, e, i, n, h, skip);
}

/* Pass 2, 8 items per step: a movemask, then the set bits in order. */
__attribute__((target("avx2,fma")))
MR_NO_CONTRACT
int32_t
MrUpperAvx2(const float *approx, const float *w, float e, float tau,
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
		__m256		hi = _mm256_add_ps(a, bound8(a, _mm256_loadu_ps(w + i), ev));
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

		if (a > -INFINITY && a + MrBound(e, w[i], a) >= tau)
			cand[m++] = i;
	}
	return m;
}

/* The lower bounds a - d and the upper ones a + d of 16 items (-inf: none). */
__attribute__((target("avx512f")))
MR_NO_CONTRACT
static inline void
bounds16(const float *approx, const float *w, __m512 ev, __m512 *lo, __m512 *hi)
{
	__m512		a = _mm512_loadu_ps(approx),
				bd = bound16(a, _mm512_loadu_ps(w), ev),
				ninf = _mm512_set1_ps(-INFINITY);

	*lo = _mm512_sub_ps(a, bd);
	*hi = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, ninf, _CMP_GT_OQ), ninf, _mm512_add_ps(a, bd));
}

/* The first level of max_lanes16: halves of 256 bits of x and y, maxed. */
__attribute__((target("avx512f")))
static inline __m512
max_halves(__m512 x, __m512 y)
{
	return _mm512_max_ps(_mm512_shuffle_f32x4(x, y, 0x44), _mm512_shuffle_f32x4(x, y, 0xEE));
}

/*
 * Lane j of the result: the largest lane of block j, from u[i], the first
 * level (max_halves) of blocks 2 i and 2 i + 1.  The tree goes on with
 * 128-bit quarters, then pairs within them; lane 4 j + t then holds block
 * 4 t + j, which the last permutation puts in order.  15 maxima and 31
 * shuffles for 16 blocks, where one reduction per block takes 4 and 4.
 */
__attribute__((target("avx512f")))
static inline __m512
max_lanes16(const __m512 *u)
{
	__m512		w[4],
				z[2];
	int			i;

	for (i = 0; i < 4; i++)
		w[i] = _mm512_max_ps(_mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0x88),
							 _mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0xDD));
	for (i = 0; i < 2; i++)
		z[i] = _mm512_max_ps(_mm512_unpacklo_ps(w[2 * i], w[2 * i + 1]),
							 _mm512_unpackhi_ps(w[2 * i], w[2 * i + 1]));
	return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15),
								 _mm512_max_ps(_mm512_shuffle_ps(z[0], z[1], 0x44),
											   _mm512_shuffle_ps(z[0], z[1], 0xEE)));
}

/*
 * Block maxima, AVX-512: 16 blocks at a time through one max_lanes16 tree
 * for the lower bounds and one for the upper ones (the first level folded
 * in as the blocks are read, so that 16 vectors are live, not 32); then
 * one block per vector, reduced alone.
 */
__attribute__((target("avx512f")))
MR_NO_CONTRACT
void
MrBlockAvx512(const float *approx, const float *w, float e, int32_t nb,
			  float *lo, float *hi)
{
	__m512		ev = _mm512_set1_ps(e);
	int32_t		b = 0;

	for (; b + 16 <= nb; b += 16)
	{
		__m512		l1[8],
					u1[8];
		int			t;

		for (t = 0; t < 8; t++)
		{
			size_t		at = (size_t) (b + 2 * t) * 16;
			__m512		l0,
						u0,
						l,
						u;

			bounds16(approx + at, w + at, ev, &l0, &u0);
			bounds16(approx + at + 16, w + at + 16, ev, &l, &u);
			l1[t] = max_halves(l0, l);
			u1[t] = max_halves(u0, u);
		}
		_mm512_storeu_ps(lo + b, max_lanes16(l1));
		_mm512_storeu_ps(hi + b, max_lanes16(u1));
	}
	for (; b < nb; b++)
	{
		__m512		l,
					u;

		bounds16(approx + (size_t) b * 16, w + (size_t) b * 16, ev, &l, &u);
		lo[b] = _mm512_reduce_max_ps(l);
		hi[b] = _mm512_reduce_max_ps(u);
	}
}

/*
 * Block maxima, AVX2: the two halves of a block maxed together, then the
 * lower and upper maxima of the block reduced side by side in one vector.
 */
__attribute__((target("avx2,fma")))
MR_NO_CONTRACT
void
MrBlockAvx2(const float *approx, const float *w, float e, int32_t nb,
			float *lo, float *hi)
{
	__m256		ev = _mm256_set1_ps(e);
	__m256		ninf = _mm256_set1_ps(-INFINITY);
	int32_t		b;

	for (b = 0; b < nb; b++)
	{
		const float *a = approx + (size_t) b * 16;
		__m256		a0 = _mm256_loadu_ps(a),
					a1 = _mm256_loadu_ps(a + 8);
		__m256		d0 = bound8(a0, _mm256_loadu_ps(w + (size_t) b * 16), ev),
					d1 = bound8(a1, _mm256_loadu_ps(w + (size_t) b * 16 + 8), ev);
		__m256		l = _mm256_max_ps(_mm256_sub_ps(a0, d0), _mm256_sub_ps(a1, d1));
		__m256		u = _mm256_max_ps(_mm256_blendv_ps(ninf, _mm256_add_ps(a0, d0),
													   _mm256_cmp_ps(a0, ninf, _CMP_GT_OQ)),
									  _mm256_blendv_ps(ninf, _mm256_add_ps(a1, d1),
													   _mm256_cmp_ps(a1, ninf, _CMP_GT_OQ)));
		/* lanes 0-3: lower maxima, 4-7: upper maxima */
		__m256		m = _mm256_max_ps(_mm256_permute2f128_ps(l, u, 0x20),
									  _mm256_permute2f128_ps(l, u, 0x31));

		m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, 0x4E));
		m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, 0xB1));
		lo[b] = _mm256_cvtss_f32(m);
		hi[b] = _mm256_cvtss_f32(_mm256_permute2f128_ps(m, m, 0x11));
	}
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

/* Prefetch the k floats of row q (rows are read once per call: L3 or DRAM). */
static inline void
prefetch_row(const float *q, int k)
{
	int			f;

	for (f = 0; f < k; f += 16)
		_mm_prefetch((const char *) (q + f), _MM_HINT_T0);
}

/*
 * out[j] = bias[idx[j]] + Q[idx[j]] . p for j < n, eight rows at a time:
 * each row's chain of fused multiply-adds in factor order is the one of
 * MrScoreExactFma (same bits); eight independent chains hide the
 * instruction's latency, and the next eight rows are prefetched, since
 * the candidates' rows are scattered over the catalogue.
 */
__attribute__((target("fma")))
void
MrScoreExactRowsFma(const float *Q, int k, const float *p, const float *bias,
					const int32_t *idx, int32_t n, float *out)
{
	int32_t		j = 0,
				t;

	for (t = 0; t < 8 && t < n; t++)
		prefetch_row(Q + (size_t) idx[t] * k, k);
	for (; j + 8 <= n; j += 8)
	{
		const float *q[8];
		float		a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
		int			f;

		for (t = 0; t < 8; t++)
		{
			q[t] = Q + (size_t) idx[j + t] * k;
			if (j + 8 + t < n)
				prefetch_row(Q + (size_t) idx[j + 8 + t] * k, k);
		}
		for (f = 0; f < k; f++)
		{
			a[0] = __builtin_fmaf(q[0][f], p[f], a[0]);
			a[1] = __builtin_fmaf(q[1][f], p[f], a[1]);
			a[2] = __builtin_fmaf(q[2][f], p[f], a[2]);
			a[3] = __builtin_fmaf(q[3][f], p[f], a[3]);
			a[4] = __builtin_fmaf(q[4][f], p[f], a[4]);
			a[5] = __builtin_fmaf(q[5][f], p[f], a[5]);
			a[6] = __builtin_fmaf(q[6][f], p[f], a[6]);
			a[7] = __builtin_fmaf(q[7][f], p[f], a[7]);
		}
		for (t = 0; t < 8; t++)
			out[j + t] = a[t] + (bias ? bias[idx[j + t]] : 0.0f);
	}
	for (; j < n; j++)
		out[j] = MrScoreExactFma(Q + (size_t) idx[j] * k, k, p, bias ? bias[idx[j]] : 0.0f);
}

#endif							/* x86-64 */
