/*
 * serve_scan_neon.c: the aarch64 NEON variant of the catalogue scan
 * (serve_scan.c has the design and the portable loops).
 *
 * A panel's factor pair is four 128-bit loads of 4 items each: the even
 * factor is the low half of each 32-bit lane (shift it up), the odd one
 * the high half (mask the low half away), two fused multiply-adds
 * (FMLA) in factor order: bit-identical to a fmaf() loop, like avx512f
 * and avx2.  NEON is part of the base aarch64 ISA, so no target
 * attribute is needed; simd_dispatch.c still checks HWCAP_ASIMD.
 * Built only on aarch64 (tested under qemu-aarch64-static by test/run).
 */
#include "serve_scan_impl.h"

#if defined(__aarch64__)
#include <arm_neon.h>

/* Store 4 lanes of acc (+ bias) to y[base..], only the first m lanes. */
static inline void
store4(float32x4_t acc, const float *bias, float *y, size_t base, long m)
{
	if (m >= 4)
	{
		if (bias)
			acc = vaddq_f32(acc, vld1q_f32(bias + base));
		vst1q_f32(y + base, acc);
	}
	else if (m > 0)
	{
		float		t[4];
		long		j;

		vst1q_f32(t, acc);
		for (j = 0; j < m; j++)
			y[base + j] = t[j] + (bias ? bias[base + j] : 0.0f);
	}
}

/* NEON: one panel per step, four accumulators of 4 items. */
void
MrApproxNeon(const uint16_t *packed, int32_t n, int k, const float *p,
			 const float *bias, float *y)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kp = MrKPad(k);
	size_t		stride = (size_t) MR_PANEL * kp;
	uint32x4_t	hi = vdupq_n_u32(0xFFFF0000u);
	size_t		b;

	for (b = 0; b < panels; b++)
	{
		const uint32_t *s = (const uint32_t *) (packed + b * stride);
		float32x4_t acc[4];
		long		m = (long) n - (long) (b * MR_PANEL);
		int			f,
					q;

		for (q = 0; q < 4; q++)
			acc[q] = vdupq_n_f32(0.0f);
		for (f = 0; f + 1 < k; f += 2)
		{
			const uint32_t *t = s + (size_t) (f / 2) * MR_PANEL;
			float32x4_t pe = vdupq_n_f32(p[f]);
			float32x4_t po = vdupq_n_f32(p[f + 1]);

			for (q = 0; q < 4; q++)
			{
				uint32x4_t	v = vld1q_u32(t + 4 * q);

				acc[q] = vfmaq_f32(acc[q], vreinterpretq_f32_u32(vshlq_n_u32(v, 16)), pe);
				acc[q] = vfmaq_f32(acc[q], vreinterpretq_f32_u32(vandq_u32(v, hi)), po);
			}
		}
		if (f < k)
		{
			const uint32_t *t = s + (size_t) (f / 2) * MR_PANEL;
			float32x4_t pe = vdupq_n_f32(p[f]);

			for (q = 0; q < 4; q++)
				acc[q] = vfmaq_f32(acc[q], vreinterpretq_f32_u32(vshlq_n_u32(vld1q_u32(t + 4 * q), 16)), pe);
		}
		for (q = 0; q < 4; q++)
			store4(acc[q], bias, y, b * MR_PANEL + 4 * q, m - 4 * q);
	}
}

/* |a| 2^-21 + e |q| + 2^-100, 4 lanes (the operations of MrBound). */
static inline float32x4_t
bound4(float32x4_t a, float32x4_t qn, float32x4_t e)
{
	return vaddq_f32(vaddq_f32(vmulq_f32(e, qn), vmulq_f32(vabsq_f32(a), vdupq_n_f32(0x1p-21f))),
					 vdupq_n_f32(0x1p-100f));
}

/* Pass 1, 16 items per step: any lane beating the root goes to scalar code. */
void
MrLowerNeon(const float *approx, const float *norm, float e, int32_t i,
			int32_t n, MrTopK *h)
{
	float32x4_t ev = vdupq_n_f32(e);

	for (; i + 16 <= n; i += 16)
	{
		float32x4_t root = vdupq_n_f32(h->score[0]);
		uint32x4_t	any = vdupq_n_u32(0);
		int			q;

		for (q = 0; q < 4; q++)
		{
			float32x4_t a = vld1q_f32(approx + i + 4 * q);
			float32x4_t lo = vsubq_f32(a, bound4(a, vld1q_f32(norm + i + 4 * q), ev));

			any = vorrq_u32(any, vcgtq_f32(lo, root));
		}
		if (vmaxvq_u32(any) != 0)
			MrLowerPortable(approx, norm, e, i, i + 16, h);
	}
	MrLowerPortable(approx, norm, e, i, n, h);
}

/* Pass 2, 16 items per step: a block with a candidate is listed in scalar. */
int32_t
MrUpperNeon(const float *approx, const float *norm, float e, float tau,
			int32_t n, int32_t *cand)
{
	float32x4_t ev = vdupq_n_f32(e);
	float32x4_t tv = vdupq_n_f32(tau);
	float32x4_t ninf = vdupq_n_f32(-INFINITY);
	int32_t		i = 0,
				m = 0,
				j;

	for (; i + 16 <= n; i += 16)
	{
		uint32x4_t	any = vdupq_n_u32(0);
		int			q;

		for (q = 0; q < 4; q++)
		{
			float32x4_t a = vld1q_f32(approx + i + 4 * q);
			float32x4_t up = vaddq_f32(a, bound4(a, vld1q_f32(norm + i + 4 * q), ev));

			any = vorrq_u32(any, vandq_u32(vcgeq_f32(up, tv), vcgtq_f32(a, ninf)));
		}
		if (vmaxvq_u32(any) == 0)
			continue;
		for (j = i; j < i + 16; j++)
			if (approx[j] > -INFINITY && approx[j] + MrBound(e, norm[j], approx[j]) >= tau)
				cand[m++] = j;
	}
	for (; i < n; i++)
	{
		float		a = approx[i];

		if (a > -INFINITY && a + MrBound(e, norm[i], a) >= tau)
			cand[m++] = i;
	}
	return m;
}

#endif							/* __aarch64__ */
