/*
 * serve_scan.c: exact top-k scoring of the whole catalogue for one user
 * vector: a bfloat16 first pass with a rigorous error bound, then exact
 * float rescoring of the few items the bound cannot decide.
 *
 * Design.  recommend() scores every item per call: 62,423 x 64 floats is
 * 16 MB at ml-25m scale, so the pass is bound by memory bandwidth (and, on
 * a shared machine, by the L3 cache other processes also use).  OpenBLAS
 * 0.3.21's sgemv on a row-major n x 64 matrix runs its transposed kernel,
 * with a horizontal reduction per row; it was the slowest variant
 * measured (doc/serving.md).  This file:
 *
 *  1. keeps a second copy of the item factors in bfloat16 (the upper 16
 *     bits of a float, rounded to nearest even: relative error <= 2^-9),
 *     packed in panels of MR_PANEL (16) consecutive items with the factors
 *     in pairs: panel[b][f / 2][j][f % 2] = Q[16 b + j][f].  One 512-bit
 *     load is then one factor pair of 16 items: with AVX512_BF16 a single
 *     VDPBF16PS (p rounded to bf16 as well) accumulates both products into
 *     16 float lanes; with plain AVX-512 two shifts/masks and two fused
 *     multiply-adds do.  No horizontal sums; several panels per step hide
 *     the latency.  That reads 8 MB instead of 16 MB at ml-25m scale, and
 *     about a third of the instructions of a float pass;
 *  2. bounds the error of that approximate score a_i against the exact
 *     float score s_i:  |a_i - s_i| <= e_i = c_k |q_i| |p|  with
 *     c_k = 2^-8 + 2^-17 + 4 k 2^-24 (bf16 rounding of q and p and of
 *     their product terms, plus the float rounding of both sums, with
 *     Cauchy-Schwarz for sum |q_if p_f|), and a tiny absolute slack for
 *     products that VDPBF16PS flushes to zero;
 *  3. takes tau = the k-th largest lower bound a_i - e_i; every item of
 *     the exact top k has a_i + e_i >= tau, so only those candidates are
 *     rescored exactly from the float rows, in the same summation order
 *     as the reference loop, and the top k is chosen among them.  The
 *     result is the exact top k, ties by smaller index, identical to a
 *     full float pass; only the work is smaller.  Many near-equal scores
 *     just mean more candidates (all of them at worst), never a wrong
 *     answer.
 *
 * The AVX-512 variants are compiled with target attributes and chosen at
 * run time from CPUID; the plain C loop is the reference and the
 * fallback (the AVX-512F variant gives bit-identical scores; the BF16 one
 * differs within the bound, which is all correctness needs).
 *
 * Plain C over arrays: no PostgreSQL calls (unit tested in
 * test/unit/serve_scan.c).
 */
#include "serve_kernels.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MR_HAVE_X86 1
#endif

/* float -> bfloat16, round to nearest even (finite inputs) */
static inline uint16_t
to_bf16(float x)
{
	uint32_t	u;

	memcpy(&u, &x, sizeof(u));
	u += 0x7FFF + ((u >> 16) & 1);
	return (uint16_t) (u >> 16);
}

/* bfloat16 -> float */
static inline float
from_bf16(uint16_t h)
{
	uint32_t	u = (uint32_t) h << 16;
	float		x;

	memcpy(&x, &u, sizeof(x));
	return x;
}

/* Factors padded to an even count: the layout stores them in pairs. */
static inline int
kpad(int k)
{
	return k + (k & 1);
}

/* Elements of the packed bfloat16 copy of n x k factors. */
size_t
MrPackedCount(int32_t n, int k)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;

	return panels * MR_PANEL * (size_t) kpad(k);
}

/* Pack Q into bfloat16 panels of 16 items, factors in pairs. */
void
MrPackItems(const float *Q, int32_t n, int k, uint16_t *packed)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kp = kpad(k);
	size_t		b;

	memset(packed, 0, sizeof(uint16_t) * MrPackedCount(n, k));
	for (b = 0; b < panels; b++)
	{
		uint16_t   *dst = packed + b * MR_PANEL * kp;
		int			j;

		for (j = 0; j < MR_PANEL; j++)
		{
			size_t		i = b * MR_PANEL + j;
			int			f;

			if (i >= (size_t) n)
				break;
			/* pair f/2 of item j: (factor f, factor f + 1) side by side */
			for (f = 0; f < k; f++)
				dst[(size_t) (f / 2) * 2 * MR_PANEL + 2 * j + (f & 1)] = to_bf16(Q[i * k + f]);
		}
	}
}

/* The constant c_k of the bound |approx - exact| <= c_k |q| |p|. */
double
MrApproxErrorScale(int k)
{
	/*
	 * bf16 rounding of q (2^-9) and, in the AVX512_BF16 variant, of p
	 * (2^-9 more, plus their product 2^-18), and the float rounding of both
	 * sums (k 2^-24 each, with room to spare).
	 */
	return ldexp(1.0, -8) + ldexp(1.0, -17) + 4.0 * k * ldexp(1.0, -24);
}

/* Reference: one panel at a time, 16 lanes, f in order, float p. */
static void
approx_plain(const uint16_t *packed, int32_t n, int k, const float *p,
			 const float *bias, float *y)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kp = kpad(k);
	size_t		b;

	for (b = 0; b < panels; b++)
	{
		const uint16_t *src = packed + b * MR_PANEL * kp;
		float		acc[MR_PANEL];
		int			f,
					j;

		for (j = 0; j < MR_PANEL; j++)
			acc[j] = 0.0f;
		for (f = 0; f < k; f++)
			for (j = 0; j < MR_PANEL; j++)
				acc[j] = fmaf(from_bf16(src[(size_t) (f / 2) * 2 * MR_PANEL + 2 * j + (f & 1)]),
							  p[f], acc[j]);
		for (j = 0; j < MR_PANEL && b * MR_PANEL + j < (size_t) n; j++)
			y[b * MR_PANEL + j] = acc[j] + (bias ? bias[b * MR_PANEL + j] : 0.0f);
	}
}

#ifdef MR_HAVE_X86

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

/*
 * AVX-512F: a 512-bit load holds one factor pair of 16 items; the even
 * factor is the low half of each 32-bit lane (shift it up), the odd one
 * the high half (mask the low half away).  Same operations, in the same
 * order, as approx_plain: identical results.  Two panels per step.
 */
__attribute__((target("avx512f")))
static void
approx_avx512(const uint16_t *packed, int32_t n, int k, const float *p,
			  const float *bias, float *y)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kp = kpad(k);
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
static void
approx_avx512bf16(const uint16_t *packed, int32_t n, int k, const float *p,
				  const float *bias, float *y)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kp = kpad(k);
	size_t		stride = (size_t) MR_PANEL * kp;
	uint32_t	pp[MR_SERVE_SCAN_MAX_K / 2 + 1];
	size_t		b = 0;
	int			f;

	/* p as bf16 pairs, zero-padded for odd k */
	for (f = 0; f < kp; f += 2)
	{
		uint16_t	lo = to_bf16(p[f]);
		uint16_t	hi = (f + 1 < k) ? to_bf16(p[f + 1]) : 0;

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
#endif							/* MR_HAVE_X86 */

typedef void (*approx_fn) (const uint16_t *, int32_t, int, const float *, const float *, float *);
static approx_fn approx_impl = NULL;
static const char *approx_name = "plain";
static bool use_avx512 = false;	/* for the bound passes of MrTopKExact */

/* Choose the widest variant the CPU supports (once). */
static void
choose(void)
{
	approx_impl = approx_plain;
	approx_name = "plain";
	use_avx512 = false;
#ifdef MR_HAVE_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
	{
		approx_impl = approx_avx512;
		approx_name = "avx512";
		use_avx512 = true;
	}
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16"))
	{
		approx_impl = approx_avx512bf16;
		approx_name = "avx512bf16";
	}
#endif
}

/* Approximate scores of every item from the bfloat16 copy. */
void
MrScoreApprox(const uint16_t *packed, int32_t n, int k, const float *p,
			  const float *bias, float *y)
{
	if (approx_impl == NULL)
		choose();
	/* the bf16 variant keeps p on its stack */
	if (k > MR_SERVE_SCAN_MAX_K && approx_impl != approx_plain)
	{
		approx_plain(packed, n, k, p, bias, y);
		return;
	}
	approx_impl(packed, n, k, p, bias, y);
}

/* Choose (or force, for tests) the scan variant; returns its name. */
const char *
MrScoreKernelName(int mode)
{
	if (approx_impl == NULL || mode == 2)
		choose();
	if (mode == 1)
	{
		approx_impl = approx_plain;
		approx_name = "plain";
		use_avx512 = false;
	}
#ifdef MR_HAVE_X86
	if (mode == 3 && __builtin_cpu_supports("avx512f"))
	{
		approx_impl = approx_avx512;
		approx_name = "avx512";
	}
#endif
	return approx_name;
}

/* Exact float score bias + q . p, in the order every path ranks by. */
float
MrScoreExact(const float *q, int k, const float *p, float bias)
{
	float		acc = 0.0f;
	int			f;

	for (f = 0; f < k; f++)
		acc = fmaf(q[f], p[f], acc);
	return acc + bias;
}

/*
 * The error bound of one approximate score, in float: e |q_i| + 4 units in
 * the last place of a + 2^-100, where e = c_k |p| (1 + 1e-5).  The slack
 * covers the rounding of the final bias addition in both sums, the float
 * arithmetic of the bound and of a -/+ bound themselves (each off by at
 * most half a unit of the larger operand), and the products below 2^-126
 * that VDPBF16PS flushes to zero.
 */
static inline float
bound(float e, float qnorm, float a)
{
	return e * qnorm + fabsf(a) * 0x1p-21f + 0x1p-100f;
}

/*
 * Pass 1 from item i on, heap already full: offer every lower bound that
 * beats the root.  Returns nothing; the heap holds the k largest.
 */
static void
lower_pass_plain(const float *approx, const float *norm, float e, int32_t i,
				 int32_t n, MrTopK *h)
{
	for (; i < n; i++)
	{
		float		a = approx[i];

		/* a <= root already fails: skip the bound */
		if (a > h->score[0] && a - bound(e, norm[i], a) > h->score[0])
			MrTopKPush(h, a - bound(e, norm[i], a), i);
	}
}

/* Pass 2: indexes of items whose upper bound reaches tau.  Returns count. */
static int32_t
upper_pass_plain(const float *approx, const float *norm, float e, float tau,
				 int32_t n, int32_t *cand)
{
	int32_t		i,
				m = 0;

	for (i = 0; i < n; i++)
	{
		float		a = approx[i];

		if (a > -INFINITY && a + bound(e, norm[i], a) >= tau)
			cand[m++] = i;
	}
	return m;
}

#ifdef MR_HAVE_X86
/* |a| e_ulp + e |q|, 16 lanes (the same float operations as bound()) */
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
static void
lower_pass_avx512(const float *approx, const float *norm, float e, int32_t i,
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
			float		l = approx[i + j] - bound(e, norm[i + j], approx[i + j]);

			mask &= mask - 1;
			if (l > h->score[0])
				MrTopKPush(h, l, i + j);
		}
	}
	lower_pass_plain(approx, norm, e, i, n, h);
}

/* Pass 2, 16 items per step, indexes written with a compress-store. */
__attribute__((target("avx512f")))
static int32_t
upper_pass_avx512(const float *approx, const float *norm, float e, float tau,
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

		if (a > -INFINITY && a + bound(e, norm[i], a) >= tau)
			cand[m++] = i;
	}
	return m;
}
#endif

/* Exact top k: approximate pass, bound, rescore the undecided items. */
int
MrTopKExact(const MrScanInput *in, int k, float *approx, int32_t *cand,
			int32_t *out_index, float *out_score)
{
	double		pnorm = 0;
	float		e;
	float		tau = -INFINITY;
	int32_t		i,
				j,
				m;
	MrTopK		h;
	int			f;

	if (approx_impl == NULL)
		choose();
	for (f = 0; f < in->k; f++)
		pnorm += (double) in->p[f] * in->p[f];
	e = (float) (MrApproxErrorScale(in->k) * sqrt(pnorm) * (1 + 1e-5));

	/* tau: the k-th largest lower bound (needs k finite candidates) */
	MrTopKReset(&h, k, out_score, out_index);
	for (i = 0; i < in->n && h.n < h.k; i++)
		if (approx[i] > -INFINITY)
			MrTopKPush(&h, approx[i] - bound(e, in->norm[i], approx[i]), i);
	if (h.n == h.k)
	{
#ifdef MR_HAVE_X86
		if (use_avx512)
			lower_pass_avx512(approx, in->norm, e, i, in->n, &h);
		else
#endif
			lower_pass_plain(approx, in->norm, e, i, in->n, &h);
		tau = out_score[0];
	}

	/* candidates: upper bound reaches tau; rescore them exactly */
#ifdef MR_HAVE_X86
	if (use_avx512)
		m = upper_pass_avx512(approx, in->norm, e, tau, in->n, cand);
	else
#endif
		m = upper_pass_plain(approx, in->norm, e, tau, in->n, cand);
	for (j = 0; j < m; j++)
		approx[cand[j]] = MrScoreExact(in->Q + (size_t) cand[j] * in->k, in->k, in->p,
									   in->bias ? in->bias[cand[j]] : 0.0f);
	MrTopKReset(&h, k, out_score, out_index);
	MrTopKScan(&h, approx, cand, m);
	if (in->n_rescored)
		*in->n_rescored = m;
	return MrTopKSort(&h);
}
