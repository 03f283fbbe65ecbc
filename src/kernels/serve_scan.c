/*
 * serve_scan.c: exact top-k scoring of the whole catalogue for one user
 * vector: an integer first pass over an int8 copy of the item factors with
 * a rigorous error bound, then exact float rescoring of the few items the
 * bound cannot decide.
 *
 * Design.  recommend() scores every item per call: 62,423 x 64 floats is
 * 16 MB at ml-25m scale, so the pass is bound by memory bandwidth (and, on
 * a shared machine, by the L3 cache other processes also use).  OpenBLAS
 * 0.3.21's sgemv on a row-major n x 64 matrix runs its transposed kernel,
 * with a horizontal reduction per row; it was the slowest variant
 * measured (doc/serving.md).  This file:
 *
 *  1. keeps a second copy of the item factors in int8, one scale per item
 *     (s_i = max_f |q_if| / 127, q8_if = round(q_if / s_i)), packed in
 *     panels of MR_PANEL (16) consecutive items with the factors in pairs:
 *     q8[b][f / 2][j][f % 2] = q8 of item 16 b + j, factor f.  That is 4 MB
 *     at ml-25m scale, a quarter of the floats and half of the bfloat16
 *     copy that 0.2's first kernels read (bench/serve_kernels: 2.2x faster
 *     at 62,423 movies, where the pass is bandwidth-bound, and faster at
 *     9,742 too).  The user vector is quantized per call to int16
 *     (MrQuantizeQuery: p16_f = round(p_f / sp), |p16| <= P_k, P_k small
 *     enough that k products never overflow int32).  Sign-extended to
 *     int16, one 32-byte load is one factor pair of 16 items, and one
 *     multiply-add of int16 pairs into int32 (VPMADDWD / VPDPWSSD / SMLAL,
 *     or generic vectors) does both factors: the integer sum is exact, so
 *     a_i = s_i * sp * sum_f q8_if p16_f + b_i has the same bits in every
 *     variant;
 *  2. bounds the error of a_i against the exact float score r_i (the
 *     reference loop, fused multiply-adds in factor order).  With
 *     q_i = s_i q8_i + d_i and p = sp p16 + eps,
 *       q_i . p - s_i sp (q8_i . p16) = s_i q8_i . eps + d_i . p,
 *     so by Cauchy-Schwarz it is at most s_i |q8_i| |eps| + |d_i| |p|, and
 *     |eps| <= 0.51 sqrt(k) sp <= 0.51 sqrt(k) |p| / P_k.  Adding the float
 *     rounding of the finish (3 roundings of at most s_i |q8_i| |p| 1.01)
 *     and of the reference (k 2^-24 |q_i| |p|, Higham's gamma_k), every term
 *     is |p| times a per-item constant:
 *       |a_i - r_i| <= w_i |p| + |a_i| 2^-21 + 2^-100,
 *       w_i = |d_i| + s_i |q8_i| (sqrt(k) / P_k + 2^-22) + 2 k 2^-24 |q_i|,
 *     computed in double when packing and rounded up with 2^-10 to spare
 *     (MrBound adds the last two terms, for the bias additions);
 *  3. takes tau = the k-th largest lower bound a_i - e_i; every item of
 *     the exact top k has a_i + e_i >= tau, so only those candidates are
 *     rescored exactly from the float rows, in the same summation order
 *     as the reference loop, and the top k is chosen among them.  The
 *     result is the exact top k, ties by smaller index, identical to a
 *     full float pass; only the work is smaller.  Many near-equal scores
 *     just mean more candidates (all of them at worst), never a wrong
 *     answer.  On random factors |d_i| is about 0.4% of |q_i|, close to
 *     the 2^-8 of a bfloat16 copy: about a dozen items are rescored.
 *     Before that, tau is raised to the smallest exact score of the k
 *     items with the largest lower bounds (exact_floor); and when the
 *     bound leaves many candidates (the int4 pass of serve_scan4.c, or
 *     near-equal scores), they are rescored in two rounds: first the
 *     2 k + 16 best approximate scores, whose k-th exact score raises tau
 *     again, then only the candidates whose upper bound still reaches it
 *     (rescore_two_rounds; after the int4 pass on random factors, 77
 *     rows instead of 369).
 *
 * Variants (simd_dispatch.c chooses one at run time; movierec.scan_kernel
 * forces one): avx512bf16 (VPDPWSSD: every CPU with AVX512_BF16 has
 * AVX512_VNNI, which simd_dispatch also checks), avx512f (VPMADDWD, with
 * AVX512BW), avx2 (the same on 256 bits, x86-64-v3), neon (SMLAL, aarch64)
 * and portable (serve_scan_portable.c, GNU C generic vectors: SSE2 PMADDWD
 * or PMULLW code on x86-64, NEON on aarch64, with no call).  The wide
 * variants live in serve_scan_x86.c and serve_scan_neon.c, each function
 * compiled with __attribute__((target(...))), no -march.  The candidate
 * pass and the lower-bound pass of the pruned scan (serve_scan_prune.c)
 * have the same variants (16, 8 or 4 lanes compared at once, the rare
 * survivors handled in scalar code).  The full scan reads the approximate
 * scores once more, in the variant's block pass (MrBlockFn): the largest
 * lower and upper bound of each block of 16 items.  The k-th lower bound
 * comes from the lower maxima (kth_lower_bound), and only blocks whose
 * upper maximum reaches it are listed by the candidate pass: a dozen of
 * some 3,900 blocks at 62,423 items after the int8 pass.  Before, a scalar pass and a vector pass
 * over every item took 1.6x as long as this on an AVX2 CPU (AMD EPYC
 * Zen 3; BENCHMARKS.md).  The exact rescoring uses the CPU's FMA
 * instruction when it has one (identical to fmaf(), which the scalar
 * fallback calls), eight rows at a time with the next eight prefetched,
 * so every variant ranks by the same exact score.
 *
 * Plain C over arrays: no PostgreSQL calls (unit tested in
 * test/unit/serve_scan.c).
 */
#include "scan_variants.h"

#include <stdbool.h>
#include <stdlib.h>

/* P_k: the largest |p16| for which k products of int8 by it fit int32. */
static int32_t
query_max(int k)
{
	int64_t		lim = INT32_MAX / (127 * (int64_t) MrKPad(k));

	return lim < 32767 ? (int32_t) lim : 32767;
}

/* Bytes of the int8 copy: panels, then scales and weights. */
size_t
MrPackedBytes(int32_t n, int k)
{
	size_t		np = ((size_t) n + MR_PANEL - 1) / MR_PANEL * MR_PANEL;

	return MrAlign64(np * (size_t) MrKPad(k)) + 2 * MrAlign64(sizeof(float) * np);
}

/* Pack Q into int8 panels of 16 items, factors in pairs, with the bound. */
void
MrPackItems(const float *Q, int32_t n, int k, void *mem, MrPacked *pk)
{
	size_t		np = ((size_t) n + MR_PANEL - 1) / MR_PANEL * MR_PANEL;
	int			kp = MrKPad(k);
	double		cq = sqrt((double) kp) / query_max(k) + ldexp(1.0, -22);
	double		cr = 2.0 * k * ldexp(1.0, -24);
	char	   *c = mem;
	int32_t		i;

	pk->n = n;
	pk->k = k;
	pk->q8 = (int8_t *) c;
	c += MrAlign64(np * kp);
	pk->scale = (float *) c;
	c += MrAlign64(sizeof(float) * np);
	pk->weight = (float *) c;
	memset(pk->q8, 0, np * kp);
	memset(pk->scale, 0, sizeof(float) * np);
	memset(pk->weight, 0, sizeof(float) * np);
	for (i = 0; i < n; i++)
	{
		const float *q = Q + (size_t) i * k;
		int8_t	   *dst = pk->q8 + (size_t) (i / MR_PANEL) * MR_PANEL * kp + 2 * (i % MR_PANEL);
		float		mx = 0.0f,
					s,
					inv;
		/* two partial sums each (even, odd factor): shorter add chains */
		double		d2[2] = {0, 0},
					n2[2] = {0, 0};
		int64_t		h2 = 0;
		int			f;

		for (f = 0; f < k; f++)
			mx = fabsf(q[f]) > mx ? fabsf(q[f]) : mx;
		s = mx / 127.0f;
		inv = (s > 0) ? 127.0f / mx : 0.0f;
		for (f = 0; f < k; f += 2)
		{
			int			t;

			for (t = 0; t < 2 && f + t < k; t++)
			{
				int32_t		v = MrQuantizeLevel(q[f + t], inv, 127);
				double		d = (double) q[f + t] - (double) s * (double) v; /* exact */

				/* pair f/2 of item j: (factor f, factor f + 1) side by side */
				dst[(size_t) (f / 2) * 2 * MR_PANEL + t] = (int8_t) v;
				d2[t] += d * d;
				n2[t] += (double) q[f + t] * q[f + t];
				h2 += (int64_t) v * v;
			}
		}
		pk->scale[i] = s;
		pk->weight[i] = nextafterf((float) ((sqrt(d2[0] + d2[1]) + s * sqrt((double) h2) * cq +
											 cr * sqrt(n2[0] + n2[1])) *
											(1 + ldexp(1.0, -10))), INFINITY);
	}
}

/* Quantize p to int16 pairs for the integer pass. */
void
MrQuantizeQuery(const float *p, int k, MrQuery *q)
{
	int32_t		pmax = query_max(k);
	float		mx = 0.0f;
	int			f;

	for (f = 0; f < k; f++)
		mx = fabsf(p[f]) > mx ? fabsf(p[f]) : mx;
	q->sp = mx / (float) pmax;
	for (f = 0; f < MrKPad(k); f += 2)
	{
		int32_t		v[2] = {0, 0};
		int			t;

		for (t = 0; t < 2 && f + t < k; t++)
			if (q->sp > 0)
			{
				long		x = lrintf(p[f + t] / q->sp);

				v[t] = (int32_t) (x > pmax ? pmax : (x < -pmax ? -pmax : x));
			}
		q->pair[f / 2] = (int32_t) (((uint32_t) (uint16_t) v[0]) | ((uint32_t) (uint16_t) v[1] << 16));
	}
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
	[MR_SIMD_AVX512BF16] = MrApproxAvx512Vnni,
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

static const MrBlockFn block_tab[MR_SIMD_COUNT] = {
	[MR_SIMD_PORTABLE] = MrBlockPortable,
#ifdef MR_SCAN_NEON
	[MR_SIMD_NEON] = MrBlockNeon,
#endif
#ifdef MR_SCAN_X86
	[MR_SIMD_AVX2] = MrBlockAvx2,
	[MR_SIMD_AVX512F] = MrBlockAvx512,
	[MR_SIMD_AVX512BF16] = MrBlockAvx512,
#endif
};

/* The approximate pass in use. */
MrApproxFn
MrScanApproxFn(void)
{
	MrApproxFn	fn = approx_tab[MrSimdCurrent()];

	return fn ? fn : MrApproxPortable;
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

/* The block-maxima pass in use. */
MrBlockFn
MrScanBlockFn(void)
{
	MrBlockFn	fn = block_tab[MrSimdCurrent()];

	return fn ? fn : MrBlockPortable;
}

/* Approximate scores of every item from the int8 copy. */
void
MrScoreApprox(const MrPacked *pk, const float *p, const float *bias, float *y)
{
	MrQuery		q;

	MrQuantizeQuery(p, pk->k, &q);
	MrScanApproxFn() (pk->q8, pk->scale, pk->n, pk->k, &q, bias, y);
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

/* Exact scores of the rows idx[0..n) (see scan_variants.h). */
void
MrScoreExactRows(const float *Q, int k, const float *p, const float *bias,
				 const int32_t *idx, int32_t n, float *out)
{
	int32_t		j;

#ifdef MR_SCAN_X86
	if (MrSimdHaveFma())
	{
		MrScoreExactRowsFma(Q, k, p, bias, idx, n, out);
		return;
	}
#endif
	for (j = 0; j < n; j++)
		out[j] = MrScoreExact(Q + (size_t) idx[j] * k, k, p, bias ? bias[idx[j]] : 0.0f);
}

/*
 * The k-th largest lower bound a_i - e_i over all items (-INFINITY when
 * fewer than k are finite), from the block maxima bm[] (MrBlockFn: the
 * largest lower bound of each block of 16).  Offering every item to a heap
 * in index order costs a few hundred heap operations per call on trained
 * factors (scores drift with movie_id); the block maxima are bounds of
 * distinct items, so their k-th largest tau0 is at most the answer T.
 * Then only blocks whose maximum beats tau0 are offered, item by item, to
 * a fresh heap, and only items above tau0: if T > tau0 every item of the
 * top k is among them and the heap's root is T; if the heap ends with
 * fewer than k, T = tau0.
 */
static float
kth_lower_bound(const float *approx, const float *w, float e, int32_t n,
				int k, const float *bm, MrTopK *h, float *hs, int32_t *hi)
{
	int32_t		nb = n / 16,
				b,
				i;
	float		tau0 = -INFINITY;

	if (k <= 0)
		return -INFINITY;
	/* tau0: the k-th largest block maximum (scores -INFINITY never count) */
	MrTopKReset(h, k, hs, hi);
	MrTopKScan(h, bm, NULL, nb);
	if (h->n == h->k)
		tau0 = hs[0];

	/* the items above tau0, in index order, into a fresh heap */
	MrTopKReset(h, k, hs, hi);
	for (b = 0; b < nb; b++)
	{
		float		thr;

		if (!(bm[b] > tau0))	/* most blocks: no need to read the heap */
			continue;
		thr = (h->n == h->k && hs[0] > tau0) ? hs[0] : tau0;
		if (!(bm[b] > thr))
			continue;
		for (i = b * 16; i < b * 16 + 16; i++)
		{
			float		a = approx[i],
						l = a - MrBound(e, w[i], a);

			thr = (h->n == h->k && hs[0] > tau0) ? hs[0] : tau0;
			if (l > thr)
				MrTopKPush(h, l, i);
		}
	}
	/* the last n % 16 items */
	for (i = nb * 16; i < n; i++)
	{
		float		a = approx[i],
					l = a - MrBound(e, w[i], a),
					thr = (h->n == h->k && hs[0] > tau0) ? hs[0] : tau0;

		if (l > thr)
			MrTopKPush(h, l, i);
	}
	if (h->n == h->k)
		return hs[0] > tau0 ? hs[0] : tau0;
	return tau0;
}

/*
 * Items i in [from, to) whose upper bound reaches tau, appended at cand[m]
 * by the candidate pass in use (upper); returns the new count.
 */
static int32_t
upper_items(MrUpperFn upper, const float *approx, const float *w, float e, float tau,
			int32_t from, int32_t to, int32_t *cand, int32_t m)
{
	int32_t		c = upper(approx + from, w + from, e, tau, to - from, cand + m),
				j;

	for (j = m; j < m + c; j++)
		cand[j] += from;
	return m + c;
}

/*
 * Raise tau to the smallest exact score of the k items whose lower bounds
 * are in the full heap h: they are k distinct items, so the k-th largest
 * exact score is at least that, and every item of the top k still has an
 * upper bound >= tau.  The lower bounds alone subtract each item's whole
 * error; with the int4 copy (serve_scan4.c) this leaves about a quarter
 * of the candidates at 62,423 items, for k exact scores.
 */
static float
exact_floor(const MrScanInput *in, const MrTopK *h, float tau)
{
	float		lo = INFINITY;
	int32_t		j;

	if (h->n < h->k || h->k <= 0)
		return tau;
	for (j = 0; j < h->n; j += MR_RESCORE_CHUNK)
	{
		float		sc[MR_RESCORE_CHUNK];
		int32_t		c = (h->n - j < MR_RESCORE_CHUNK) ? h->n - j : MR_RESCORE_CHUNK,
					t;

		MrScoreExactRows(in->Q, in->k, in->p, in->bias, h->index + j, c, sc);
		for (t = 0; t < c; t++)
			lo = sc[t] < lo ? sc[t] : lo;
	}
	return lo > tau ? lo : tau;
}

/*
 * The two-round rescoring (rescore_two_rounds): round 1's size for top k,
 * and the largest one (its arrays are on the stack).
 */
#define FIRST_ROUND(k)	(2 * (k) + 16)
#define FIRST_ROUND_MAX 256

/* approx[cand[j]] = the exact score, for j < m. */
static void
rescore_rows(const MrScanInput *in, const int32_t *cand, int32_t m, float *approx)
{
	int32_t		j;

	for (j = 0; j < m; j += MR_RESCORE_CHUNK)
	{
		float		sc[MR_RESCORE_CHUNK];
		int32_t		c = (m - j < MR_RESCORE_CHUNK) ? m - j : MR_RESCORE_CHUNK,
					t;

		MrScoreExactRows(in->Q, in->k, in->p, in->bias, cand + j, c, sc);
		for (t = 0; t < c; t++)
			approx[cand[j + t]] = sc[t];
	}
}

/*
 * Rescore the m candidates, or give up (-1, approx untouched) when there
 * are more than in->max_rescore; returns m.
 */
static int32_t
rescore_all(const MrScanInput *in, float *approx, const int32_t *cand, int32_t m)
{
	if (in->n_rescored)
		*in->n_rescored = m;
	if (in->max_rescore > 0 && m > in->max_rescore)
		return -1;
	rescore_rows(in, cand, m, approx);
	return m;
}

/* Ascending int32 order, for qsort. */
static int
cmp_int32(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;

	return (x > y) - (x < y);
}

/*
 * Many candidates (m > 2 FIRST_ROUND(k)): rescore in two rounds.  Round 1
 * scores exactly the r = FIRST_ROUND(k) candidates with the best
 * approximate scores; the k-th largest of those exact scores belongs to
 * one of r >= k distinct items, so it is at most the k-th largest exact
 * score overall, and it raises tau.  Round 2 rescores only the other
 * candidates whose upper bound still reaches the raised tau: after the
 * int4 pass on random factors, about 40 of some 370 (bench/scan_parts).
 * cand is compacted to round 1's and round 2's candidates, in index
 * order, approx then holds their exact scores, and their count is
 * returned; or -1, approx untouched (cand compacted), when more than
 * in->max_rescore rows would be rescored in all.  hi/hs: k entries of
 * scratch.
 */
static int32_t
rescore_two_rounds(const MrScanInput *in, int k, float e, float tau, float *approx,
				   int32_t *cand, int32_t m, int32_t *hi, float *hs)
{
	float		rs[FIRST_ROUND_MAX],
				ex[FIRST_ROUND_MAX];
	int32_t		ri[FIRST_ROUND_MAX],
				buf[MR_RESCORE_CHUNK];
	int			r = FIRST_ROUND(k),
				nbuf = 0;
	int32_t		j,
				t,
				n2 = 0,
				m2 = 0;
	MrTopK		h;

	/* round 1: the r best approximate scores, rescored in index order */
	MrTopKReset(&h, r, rs, ri);
	MrTopKScan(&h, approx, cand, m);
	r = h.n;
	qsort(ri, r, sizeof(int32_t), cmp_int32);
	MrScoreExactRows(in->Q, in->k, in->p, in->bias, ri, r, ex);
	MrTopKReset(&h, k, hs, hi);
	MrTopKScan(&h, ex, NULL, r);
	if (h.n == k && hs[0] > tau)
		tau = hs[0];

	/*
	 * round 2: keep round 1's candidates and those still reaching tau
	 * (cand and ri are ascending), then give up or rescore the latter
	 */
	for (j = 0, t = 0; j < m; j++)
	{
		int32_t		c = cand[j];
		float		a = approx[c];

		if (t < r && ri[t] == c)
			t++;
		else if (a + MrBound(e, in->weight[c], a) >= tau)
			n2++;
		else
			continue;
		cand[m2++] = c;
	}
	if (in->n_rescored)
		*in->n_rescored = r + n2;
	if (in->max_rescore > 0 && r + n2 > in->max_rescore)
		return -1;
	for (j = 0, t = 0; j < m2; j++)
	{
		if (t < r && ri[t] == cand[j])
			approx[cand[j]] = ex[t++];
		else
		{
			buf[nbuf++] = cand[j];
			if (nbuf == MR_RESCORE_CHUNK)
			{
				rescore_rows(in, buf, nbuf, approx);
				nbuf = 0;
			}
		}
	}
	rescore_rows(in, buf, nbuf, approx);
	return m2;
}

/* Exact top k: approximate pass, bound, rescore the undecided items. */
int
MrTopKExact(const MrScanInput *in, int k, float *approx, int32_t *cand,
			int32_t *out_index, float *out_score)
{
	MrBlockFn	blocks = MrScanBlockFn();
	MrUpperFn	upper = MrScanUpperFn();
	int32_t		nb = in->n / 16;
	float	   *bm_lo = (float *) cand,
			   *bm_hi = (float *) (cand + in->n - nb);
	double		pnorm = 0;
	float		e;
	float		tau;
	int32_t		b,
				m = 0;
	MrTopK		h;
	int			f;

	for (f = 0; f < in->k; f++)
		pnorm += (double) in->p[f] * in->p[f];
	e = (float) (sqrt(pnorm) * (1 + 1e-5));

	/*
	 * Both block maxima in one pass, kept in cand: the lower ones at its
	 * start (used up before the first candidate is written), the upper ones
	 * at its end.  Block b's candidates go to cand[m], m <= 16 b + 15,
	 * below every later block's upper maximum at n - nb + b' >= 15 nb + b'
	 * (n >= 16 nb), so none is overwritten before it is read.
	 */
	blocks(approx, in->weight, e, nb, bm_lo, bm_hi);

	/* tau: the k-th largest lower bound (-INFINITY without k finite ones) */
	tau = kth_lower_bound(approx, in->weight, e, in->n, k, bm_lo, &h,
						  out_score, out_index);
	tau = exact_floor(in, &h, tau);

	/*
	 * candidates: upper bound reaches tau, in blocks whose maximum does, a
	 * run of such blocks at a time (whose maxima are read before any of its
	 * candidates is written; they end below 16 b1, under the maxima of the
	 * blocks after the run)
	 */
	for (b = 0; b < nb; b++)
		if (bm_hi[b] >= tau)
		{
			int32_t		b1 = b + 1;

			while (b1 < nb && bm_hi[b1] >= tau)
				b1++;
			m = upper_items(upper, approx, in->weight, e, tau, b * 16, b1 * 16, cand, m);
			b = b1 - 1;
		}
	m = upper_items(upper, approx, in->weight, e, tau, nb * 16, in->n, cand, m);
	if (k > 0 && FIRST_ROUND(k) <= FIRST_ROUND_MAX && m > 2 * FIRST_ROUND(k))
		m = rescore_two_rounds(in, k, e, tau, approx, cand, m, out_index, out_score);
	else
		m = rescore_all(in, approx, cand, m);
	if (m < 0)
		return -1;
	MrTopKReset(&h, k, out_score, out_index);
	MrTopKScan(&h, approx, cand, m);
	return MrTopKSort(&h);
}
