/*
 * serve_scan4.c: the int4 first pass of recommend()'s full scan: the same
 * exact top k as the int8 pass of serve_scan.c, from half the bytes.
 *
 * Design.  At 62,423 x 64 the int8 copy is 4 MB per call: on a shared
 * machine it does not stay in the L3 cache between calls, and even warm
 * its pass is most of the call (bench/scan_parts).  This copy keeps 4 bits
 * per factor (v = round(q_if / s_i), |v| <= 7, s_i = max_f |q_if| / 7),
 * stored as v + 8 so that two items share a byte (layout in
 * serve_kernels.h), and the user vector is quantized to int8 (sp =
 * max |p_f| / 127).  Then one x86 instruction multiplies unsigned bytes by
 * signed bytes and adds neighbours (VPMADDUBSW on AVX2 and AVX-512BW,
 * VPDPBUSD with AVX512_VNNI): one 32-byte load is 16 items times 4
 * factors, about 1.6x the int8 pass's speed on an AVX2 CPU with the copy
 * in cache, 1.8x on an AVX-512 one at 62,423 x 64 (bench/scan_parts).  The sum over the stored values is sum_f (v_if + 8) p8_f, so
 * corr = 8 sum_f p8_f is subtracted: the integer dot product
 * sum_f v_if p8_f is exact, and every variant gives the same bits.
 *
 * The bound is serve_scan.c's: |a_i - r_i| <= w_i |p| + |a_i| 2^-21 +
 * 2^-100 with
 *   w_i = |d_i| + s_i |v_i| (QUERY_ERR + 2^-22) + 2 k 2^-24 |q_i|,
 * except that the user's rounding error |eps| is not bounded a priori
 * (sqrt(k) sp / 2 <= sqrt(k) |p| / 254, 3% of |p| at k = 64, would double
 * the bound) but measured per call: a user with |eps| > |p| / 64 takes the
 * int8 pass instead (typical vectors have 0.5%).  |d_i| is about a tenth of |q_i| here, against
 * 0.4% in int8, so more items stay undecided, but MrTopKExact takes its
 * threshold from the exact scores of the k best lower bounds, not from the
 * bounds alone, and rescores many candidates in two rounds (the first
 * raises the threshold again).  Still, several times the int8 pass's count
 * are rescored from the float rows (77 against 12 at bench/serve's random
 * 62,423 x 64; bench/scan_parts, and test/unit/serve_scan4.c prints the
 * counts), and listing them costs more, so the copy pays only where the
 * int8 pass is bound by memory: serving uses it from 32,768 movies on, and
 * gives up on it for a call that would rescore more than n/64 + 64 of
 * them (src/serve_int4.c).  The full scans of recommend(),
 * recommend_for_ratings() and similar_movies() use this copy; the pruned
 * scan and recommend_all keep the int8 one (the pruned scan needs its
 * tight bound; recommend_all reads the data once per 16 users, so its
 * pass is not bound by memory).
 *
 * Variants as serve_scan.c's: avx512bf16 (VPDPBUSD), avx512f (VPMADDUBSW,
 * AVX512BW) and avx2 (VPMADDUBSW) in serve_scan4_x86.c, neon (SMLAL on
 * nibbles made signed) in serve_scan4_neon.c, and the portable loops
 * below.
 *
 * Plain C over arrays: no PostgreSQL calls (unit tested in
 * test/unit/serve_scan4.c).
 */
#include "scan_variants.h"

/*
 * The largest |eps| / |p| the bound allows for the user's rounding to
 * int8, eps = p - sp p8; a user vector above it takes the int8 pass.
 */
#define QUERY_ERR (1.0 / 64)

/* Items rounded up to whole panels. */
static size_t
panel_items(int32_t n)
{
	return ((size_t) n + MR_PANEL - 1) / MR_PANEL * MR_PANEL;
}

/* Bytes of the int4 copy: panels, then scales and weights. */
size_t
MrPacked4Bytes(int32_t n, int k)
{
	size_t		np = panel_items(n);

	return MrAlign64(np * (size_t) MrK4Pad(k) / 2) + 2 * MrAlign64(sizeof(float) * np);
}

/* Pack Q into int4 panels of 16 items, factors in quads, with the bound. */
void
MrPackItems4(const float *Q, int32_t n, int k, void *mem, MrPacked4 *pk)
{
	size_t		np = panel_items(n);
	int			k8 = MrK4Pad(k);
	size_t		stride = (size_t) MR_PANEL * k8 / 2;
	double		cq = QUERY_ERR + ldexp(1.0, -22);
	double		cr = 2.0 * k * ldexp(1.0, -24);
	char	   *c = mem;
	int32_t		i;

	pk->n = n;
	pk->k = k;
	pk->q4 = (uint8_t *) c;
	c += MrAlign64(np * k8 / 2);
	pk->scale = (float *) c;
	c += MrAlign64(sizeof(float) * np);
	pk->weight = (float *) c;
	memset(pk->q4, 0x88, np * k8 / 2);	/* v = 0 wherever nothing is stored */
	memset(pk->scale, 0, sizeof(float) * np);
	memset(pk->weight, 0, sizeof(float) * np);
	for (i = 0; i < n; i++)
	{
		const float *q = Q + (size_t) i * k;
		int			j = i % MR_PANEL,
					shift = (j < 8) ? 0 : 4;
		uint8_t    *dst = pk->q4 + (size_t) (i / MR_PANEL) * stride + 4 * (j % 8);
		float		mx = 0.0f,
					s,
					inv;
		double		d2 = 0,
					n2 = 0;
		int64_t		h2 = 0;
		int			f;

		for (f = 0; f < k; f++)
			mx = fabsf(q[f]) > mx ? fabsf(q[f]) : mx;
		s = mx / 7.0f;
		inv = (s > 0) ? 7.0f / mx : 0.0f;
		for (f = 0; f < k; f++)
		{
			int32_t		v = MrQuantizeLevel(q[f], inv, 7);
			double		d = (double) q[f] - (double) s * (double) v;	/* exact */
			uint8_t    *byte = dst + (size_t) (f / 4) * 32 + f % 4;

			*byte = (uint8_t) ((*byte & (0xF0 >> shift)) | ((v + 8) << shift));
			d2 += d * d;
			n2 += (double) q[f] * q[f];
			h2 += (int64_t) v * v;
		}
		pk->scale[i] = s;
		pk->weight[i] = nextafterf((float) ((sqrt(d2) + s * sqrt((double) h2) * cq +
											 cr * sqrt(n2)) * (1 + ldexp(1.0, -10))),
								   INFINITY);
	}
}

/*
 * Quantize p to int8 quads for the int4 pass; false when its rounding
 * error |eps| exceeds QUERY_ERR |p| (computed in double: sp p8_f is exact
 * there, and 2^-20 covers the rest).
 */
bool
MrQuantizeQuery4(const float *p, int k, MrQuery4 *q)
{
	float		mx = 0.0f;
	int32_t		sum = 0;
	double		e2 = 0,
				p2 = 0;
	int			f;

	for (f = 0; f < k; f++)
		mx = fabsf(p[f]) > mx ? fabsf(p[f]) : mx;
	q->sp = mx / 127.0f;
	memset(q->quad, 0, sizeof(int32_t) * (MrK4Pad(k) / 4));
	for (f = 0; f < k; f++)
	{
		int32_t		v = 0;
		double		d;

		if (q->sp > 0)
		{
			long		x = lrintf(p[f] / q->sp);

			v = (int32_t) (x > 127 ? 127 : (x < -127 ? -127 : x));
		}
		q->quad[f / 4] |= (int32_t) ((uint32_t) (uint8_t) (int8_t) v << (8 * (f % 4)));
		sum += v;
		d = (double) p[f] - (double) q->sp * v;
		e2 += d * d;
		p2 += (double) p[f] * p[f];
	}
	q->corr = 8 * sum;
	return sqrt(e2) * (1 + ldexp(1.0, -20)) <= QUERY_ERR * sqrt(p2);
}

/*
 * Portable pass: one panel at a time, 32 int32 sums per nibble half (item
 * t / 4, factor t % 4) over fixed-length loops of byte times int16 that
 * gcc -O2 vectorizes for any target, then four lanes per item.  The user
 * vector is spread to 32 int16 per quad once per call.  The finish is the
 * other variants' (MR_NO_CONTRACT).
 */
MR_NO_CONTRACT
void
MrApprox4Portable(const uint8_t *q4, const float *scale, int32_t n, int k,
				  const MrQuery4 *q, const float *bias, float *y)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kq = MrK4Pad(k) / 4;
	int16_t		w[MR_SERVE_SCAN_MAX_K / 4 + 2][32];
	size_t		b;
	int			g,
				t;

	for (g = 0; g < kq; g++)
		for (t = 0; t < 32; t++)
			w[g][t] = (int8_t) ((uint32_t) q->quad[g] >> (8 * (t % 4)));
	for (b = 0; b < panels; b++)
	{
		const uint8_t *src = q4 + b * (size_t) kq * 32;
		int32_t		lo[32] = {0},
					hi[32] = {0};
		size_t		base = b * MR_PANEL;
		int			j;

		for (g = 0; g < kq; g++)
		{
			const uint8_t *s = src + (size_t) g * 32;

			for (t = 0; t < 32; t++)
			{
				lo[t] += (int16_t) (s[t] & 15) * w[g][t];
				hi[t] += (int16_t) (s[t] >> 4) * w[g][t];
			}
		}
		for (j = 0; j < MR_PANEL && base + j < (size_t) n; j++)
		{
			const int32_t *a = (j < 8) ? lo + 4 * j : hi + 4 * (j - 8);
			float		x = (float) (a[0] + a[1] + a[2] + a[3] - q->corr) * q->sp;

			x = x * scale[base + j];
			y[base + j] = bias ? x + bias[base + j] : x;
		}
	}
}

/* The int4 pass by MrSimd number (NULL: not built here). */
static const MrApprox4Fn approx4_tab[MR_SIMD_COUNT] = {
	[MR_SIMD_PORTABLE] = MrApprox4Portable,
#ifdef MR_SCAN_NEON
	[MR_SIMD_NEON] = MrApprox4Neon,
#endif
#ifdef MR_SCAN_X86
	[MR_SIMD_AVX2] = MrApprox4Avx2,
	[MR_SIMD_AVX512F] = MrApprox4Avx512,
	[MR_SIMD_AVX512BF16] = MrApprox4Avx512Vnni,
#endif
};

/* Approximate scores of every item from the int4 copy, if p allows. */
bool
MrScoreApprox4(const MrPacked4 *pk, const float *p, const float *bias, float *y)
{
	MrApprox4Fn fn = approx4_tab[MrSimdCurrent()];
	MrQuery4	q;

	if (!MrQuantizeQuery4(p, pk->k, &q))
		return false;
	(fn ? fn : MrApprox4Portable) (pk->q4, pk->scale, pk->n, pk->k, &q, bias, y);
	return true;
}
