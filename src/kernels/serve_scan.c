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
 * Variants (simd_dispatch.c chooses one at run time; movierec.scan_kernel
 * forces one):
 *   avx512bf16  VDPBF16PS, p rounded to bf16 too (within the bound);
 *   avx512f     shift/mask + FMA, 16 lanes: fused multiply-adds in factor
 *               order, bit-identical to a fmaf() loop;
 *   avx2        the same with 8 lanes (x86-64-v3): bit-identical too;
 *   neon        the same with 4 lanes (aarch64): bit-identical too;
 *   portable    this file: GNU C generic vectors (no intrinsics) that the
 *               compiler turns into the build target's vector code (SSE2,
 *               or NEON where a*b+c contracts to FMLA).  a*b+c, not fmaf(): without
 *               -mfma fmaf() is a libm call per multiply-add (issue 8:
 *               2,392 us per call at 9,742 x 64 against 46-58 us for a
 *               vectorized loop); the extra product rounding (k 2^-24)
 *               is inside c_k.
 * The wide variants live in serve_scan_x86.c and serve_scan_neon.c, each
 * function compiled with __attribute__((target(...))), no -march.  The
 * candidate pass and the lower-bound pass of the pruned scan
 * (serve_scan_prune.c) have the same variants (16, 8 or 4 lanes compared
 * at once, the rare survivors handled in scalar code); the full scan's
 * k-th lower bound comes from per-block maxima (kth_lower_bound), a loop
 * the compiler vectorizes for any target.  The exact rescoring uses the
 * CPU's FMA instruction when it has one (identical to fmaf(), which the
 * scalar fallback calls), so every variant ranks by the same exact score.
 *
 * Plain C over arrays: no PostgreSQL calls (unit tested in
 * test/unit/serve_scan.c).
 */
#include "serve_scan_impl.h"

#include <stdbool.h>

/* Elements of the packed bfloat16 copy of n x k factors. */
size_t
MrPackedCount(int32_t n, int k)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;

	return panels * MR_PANEL * (size_t) MrKPad(k);
}

/* Pack Q into bfloat16 panels of 16 items, factors in pairs. */
void
MrPackItems(const float *Q, int32_t n, int k, uint16_t *packed)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kp = MrKPad(k);
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
				dst[(size_t) (f / 2) * 2 * MR_PANEL + 2 * j + (f & 1)] = MrToBf16(Q[i * k + f]);
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
	 * sums (k 2^-24 each, with room to spare: the portable pass also rounds
	 * each product, k 2^-24 more).
	 */
	return ldexp(1.0, -8) + ldexp(1.0, -17) + 4.0 * k * ldexp(1.0, -24);
}

/* Four lanes in GNU C's generic vectors: SSE2, NEON, or scalar code. */
typedef float mr_v4f __attribute__((vector_size(16)));
typedef uint32_t mr_v4u __attribute__((vector_size(16)));

/*
 * Portable pass: one panel (16 items) at a time, four 4-lane accumulators,
 * factor pairs in order.  A pair is one 32-bit word per item: the even
 * factor is its low half (shift it up), the odd one its high half (mask
 * the low half away).  Written with GNU C generic vectors, not intrinsics:
 * the compiler emits the target's own vector instructions (SSE2 mulps and
 * addps on x86-64, FMLA on aarch64, scalar code elsewhere), with no call.
 * Plain loops over float acc[16] vectorize too, but gcc keeps acc in
 * memory at -O2 and unrolls them into scalar code at -O3; these stay in
 * registers.
 */
void
MrApproxPortable(const uint16_t *packed, int32_t n, int k, const float *p,
				 const float *bias, float *y)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kp = MrKPad(k);
	const mr_v4u hi = {0xFFFF0000u, 0xFFFF0000u, 0xFFFF0000u, 0xFFFF0000u};
	size_t		b;

	for (b = 0; b < panels; b++)
	{
		const uint16_t *src = packed + b * MR_PANEL * kp;
		mr_v4f		a0 = {0},
					a1 = {0},
					a2 = {0},
					a3 = {0};
		float		out[MR_PANEL];
		size_t		base = b * MR_PANEL;
		int			f,
					j;

		for (f = 0; f < kp; f += 2)
		{
			const uint16_t *s = src + (size_t) f * MR_PANEL;
			float		pe1 = p[f],
						po1 = (f + 1 < k) ? p[f + 1] : 0.0f;
			mr_v4f		pe = {pe1, pe1, pe1, pe1},
						po = {po1, po1, po1, po1};
			mr_v4u		w0,
						w1,
						w2,
						w3;

			memcpy(&w0, s, sizeof(w0));
			memcpy(&w1, s + 8, sizeof(w1));
			memcpy(&w2, s + 16, sizeof(w2));
			memcpy(&w3, s + 24, sizeof(w3));
			a0 = (mr_v4f) (w0 << 16) * pe + a0;
			a1 = (mr_v4f) (w1 << 16) * pe + a1;
			a2 = (mr_v4f) (w2 << 16) * pe + a2;
			a3 = (mr_v4f) (w3 << 16) * pe + a3;
			a0 = (mr_v4f) (w0 & hi) * po + a0;
			a1 = (mr_v4f) (w1 & hi) * po + a1;
			a2 = (mr_v4f) (w2 & hi) * po + a2;
			a3 = (mr_v4f) (w3 & hi) * po + a3;
		}
		memcpy(out, &a0, sizeof(a0));
		memcpy(out + 4, &a1, sizeof(a1));
		memcpy(out + 8, &a2, sizeof(a2));
		memcpy(out + 12, &a3, sizeof(a3));
		for (j = 0; j < MR_PANEL && base + j < (size_t) n; j++)
			y[base + j] = out[j] + (bias ? bias[base + j] : 0.0f);
	}
}

/* Push the lower bounds of items i..i+m that beat the root (scalar). */
static inline void
lower_scalar(const float *approx, const float *norm, float e, int32_t i,
			 int32_t m, MrTopK *h)
{
	int32_t		end = i + m;

	for (; i < end; i++)
	{
		float		a = approx[i];

		/* a <= root already fails: skip the bound */
		if (a > h->score[0] && a - MrBound(e, norm[i], a) > h->score[0])
			MrTopKPush(h, a - MrBound(e, norm[i], a), i);
	}
}

/*
 * Pass 1, portable: 16 lower bounds are compared with the root in a loop
 * the compiler vectorizes; only a block with a survivor goes to the
 * scalar push (rare once the heap holds good items).
 */
void
MrLowerPortable(const float *approx, const float *norm, float e, int32_t i,
				int32_t n, MrTopK *h)
{
	for (; i + 16 <= n; i += 16)
	{
		float		root = h->score[0];
		int			any = 0,
					j;

		for (j = 0; j < 16; j++)
			any |= (approx[i + j] - MrBound(e, norm[i + j], approx[i + j]) > root);
		if (any)
			lower_scalar(approx, norm, e, i, 16, h);
	}
	lower_scalar(approx, norm, e, i, n - i, h);
}

/* Pass 2, portable: blocks of 16 flagged in vector code, then listed. */
int32_t
MrUpperPortable(const float *approx, const float *norm, float e, float tau,
				int32_t n, int32_t *cand)
{
	int32_t		i = 0,
				m = 0;

	for (; i + 16 <= n; i += 16)
	{
		int			any = 0,
					j;

		for (j = 0; j < 16; j++)
			any |= (approx[i + j] > -INFINITY) &
				(approx[i + j] + MrBound(e, norm[i + j], approx[i + j]) >= tau);
		if (!any)
			continue;
		for (j = 0; j < 16; j++)
		{
			float		a = approx[i + j];

			if (a > -INFINITY && a + MrBound(e, norm[i + j], a) >= tau)
				cand[m++] = i + j;
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

/* The variants of each pass, by MrSimd number (NULL: not built here). */
static const MrApproxFn approx_tab[MR_SIMD_COUNT] = {
	[MR_SIMD_PORTABLE] = MrApproxPortable,
#ifdef MR_SCAN_NEON
	[MR_SIMD_NEON] = MrApproxNeon,
#endif
#ifdef MR_SCAN_X86
	[MR_SIMD_AVX2] = MrApproxAvx2,
	[MR_SIMD_AVX512F] = MrApproxAvx512,
	[MR_SIMD_AVX512BF16] = MrApproxAvx512Bf16,
#endif
};
static const MrLowerFn lower_tab[MR_SIMD_COUNT] = {
	[MR_SIMD_PORTABLE] = MrLowerPortable,
#ifdef MR_SCAN_NEON
	[MR_SIMD_NEON] = MrLowerNeon,
#endif
#ifdef MR_SCAN_X86
	[MR_SIMD_AVX2] = MrLowerAvx2,
	[MR_SIMD_AVX512F] = MrLowerAvx512,
	[MR_SIMD_AVX512BF16] = MrLowerAvx512,
#endif
};
static const MrUpperFn upper_tab[MR_SIMD_COUNT] = {
	[MR_SIMD_PORTABLE] = MrUpperPortable,
#ifdef MR_SCAN_NEON
	[MR_SIMD_NEON] = MrUpperNeon,
#endif
#ifdef MR_SCAN_X86
	[MR_SIMD_AVX2] = MrUpperAvx2,
	[MR_SIMD_AVX512F] = MrUpperAvx512,
	[MR_SIMD_AVX512BF16] = MrUpperAvx512,
#endif
};

/* The approximate pass in use for k factors. */
MrApproxFn
MrScanApproxFn(int k)
{
	MrApproxFn	fn = approx_tab[MrSimdCurrent()];

	/* the bf16 variant keeps p on its stack */
	return (fn == NULL || k > MR_SERVE_SCAN_MAX_K) ? MrApproxPortable : fn;
}

/* The lower-bound pass in use. */
MrLowerFn
MrScanLowerFn(void)
{
	MrLowerFn	fn = lower_tab[MrSimdCurrent()];

	return fn ? fn : MrLowerPortable;
}

/* The candidate pass in use. */
MrUpperFn
MrScanUpperFn(void)
{
	MrUpperFn	fn = upper_tab[MrSimdCurrent()];

	return fn ? fn : MrUpperPortable;
}

/* Approximate scores of every item from the bfloat16 copy. */
void
MrScoreApprox(const uint16_t *packed, int32_t n, int k, const float *p,
			  const float *bias, float *y)
{
	MrApproxFn	fn = approx_tab[MrSimdCurrent()];

	/* the bf16 variant keeps p on its stack */
	if (fn == NULL || k > MR_SERVE_SCAN_MAX_K)
		fn = MrApproxPortable;
	fn(packed, n, k, p, bias, y);
}

/* Name of the scan variant in use; modes as in serve_kernels.h. */
const char *
MrScoreKernelName(int mode)
{
	if (mode == 1)
		MrSimdForce(MR_SIMD_PORTABLE);
	else if (mode == 2)
		MrSimdAuto();
	else if (mode == 3)
		MrSimdForce(MR_SIMD_AVX512F);
	return MrSimdName(MrSimdCurrent());
}

/* Exact float score bias + q . p, fused multiply-adds in factor order. */
float
MrScoreExact(const float *q, int k, const float *p, float bias)
{
	float		acc = 0.0f;
	int			f;

#ifdef MR_SCAN_X86
	/* the same fused operations, inlined instead of a libm call each */
	if (MrSimdHaveFma())
		return MrScoreExactFma(q, k, p, bias);
#endif
	for (f = 0; f < k; f++)
		acc = fmaf(q[f], p[f], acc);
	return acc + bias;
}

/*
 * The k-th largest lower bound a_i - e_i over all items (-INFINITY when
 * fewer than k are finite).  Offering every item to a heap in index order
 * costs a few hundred heap operations per call on trained factors (scores
 * drift with movie_id), so first, in a loop the compiler vectorizes, the
 * largest lower bound of each block of 16 goes to bm[]; these are bounds
 * of distinct items, so their k-th largest tau0 is at most the answer T.
 * Then only blocks whose maximum beats tau0 are offered, item by item,
 * to a fresh heap, and only items above tau0: if T > tau0 every item of
 * the top k is among them and the heap's root is T; if the heap ends with
 * fewer than k, T = tau0.  bm needs n / 16 floats (the caller's cand).
 */
static float
kth_lower_bound(const float *approx, const float *norm, float e, int32_t n,
				int k, float *bm, MrTopK *h, float *hs, int32_t *hi)
{
	int32_t		nb = n / 16,
				b,
				i;
	float		tau0 = -INFINITY;

	if (k <= 0)
		return -INFINITY;
	for (b = 0; b < nb; b++)
	{
		const float *a = approx + (size_t) b * 16;
		const float *q = norm + (size_t) b * 16;
		float		l[16],
					m4[4],
					mx;
		int			j;

		for (j = 0; j < 16; j++)
			l[j] = a[j] - MrBound(e, q[j], a[j]);
		for (j = 0; j < 4; j++)
		{
			float		x = l[j] > l[j + 4] ? l[j] : l[j + 4],
						y = l[j + 8] > l[j + 12] ? l[j + 8] : l[j + 12];

			m4[j] = x > y ? x : y;
		}
		mx = m4[0] > m4[1] ? m4[0] : m4[1];
		mx = mx > m4[2] ? mx : m4[2];
		bm[b] = mx > m4[3] ? mx : m4[3];
	}
	/* tau0: the k-th largest block maximum (scores -INFINITY never count) */
	MrTopKReset(h, k, hs, hi);
	MrTopKScan(h, bm, NULL, nb);
	if (h->n == h->k)
		tau0 = hs[0];

	/* the items above tau0, in index order, into a fresh heap */
	MrTopKReset(h, k, hs, hi);
	for (b = 0; b < nb; b++)
	{
		float		thr = (h->n == h->k && hs[0] > tau0) ? hs[0] : tau0;

		if (!(bm[b] > thr))
			continue;
		for (i = b * 16; i < b * 16 + 16; i++)
		{
			float		a = approx[i],
						l = a - MrBound(e, norm[i], a);

			thr = (h->n == h->k && hs[0] > tau0) ? hs[0] : tau0;
			if (l > thr)
				MrTopKPush(h, l, i);
		}
	}
	/* the last n % 16 items */
	for (i = nb * 16; i < n; i++)
	{
		float		a = approx[i],
					l = a - MrBound(e, norm[i], a),
					thr = (h->n == h->k && hs[0] > tau0) ? hs[0] : tau0;

		if (l > thr)
			MrTopKPush(h, l, i);
	}
	if (h->n == h->k)
		return hs[0] > tau0 ? hs[0] : tau0;
	return tau0;
}

/* Exact top k: approximate pass, bound, rescore the undecided items. */
int
MrTopKExact(const MrScanInput *in, int k, float *approx, int32_t *cand,
			int32_t *out_index, float *out_score)
{
	MrSimd		v = MrSimdCurrent();
	MrUpperFn	upper = upper_tab[v] ? upper_tab[v] : MrUpperPortable;
	double		pnorm = 0;
	float		e;
	float		tau;
	int32_t		j,
				m;
	MrTopK		h;
	int			f;

	for (f = 0; f < in->k; f++)
		pnorm += (double) in->p[f] * in->p[f];
	e = (float) (MrApproxErrorScale(in->k) * sqrt(pnorm) * (1 + 1e-5));

	/* tau: the k-th largest lower bound (-INFINITY without k finite ones) */
	tau = kth_lower_bound(approx, in->norm, e, in->n, k, (float *) cand, &h,
						  out_score, out_index);

	/* candidates: upper bound reaches tau; rescore them exactly */
	m = upper(approx, in->norm, e, tau, in->n, cand);
	for (j = 0; j < m; j++)
		approx[cand[j]] = MrScoreExact(in->Q + (size_t) cand[j] * in->k, in->k, in->p,
									   in->bias ? in->bias[cand[j]] : 0.0f);
	MrTopKReset(&h, k, out_score, out_index);
	MrTopKScan(&h, approx, cand, m);
	if (in->n_rescored)
		*in->n_rescored = m;
	return MrTopKSort(&h);
}
