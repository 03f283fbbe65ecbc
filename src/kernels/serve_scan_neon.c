/*
 * serve_scan_neon.c: the aarch64 NEON variant of the catalogue scan
 * (serve_scan.c has the design, serve_scan_portable.c the portable loops).
 *
 * A panel's factor pair is one de-interleaving load (VLD2, 2 x 16 bytes:
 * the even factor of 16 items, then the odd one), widened to int16 and
 * multiplied-accumulated into int32 lanes by the user's int16 values
 * (SMLAL): exact sums, then the same float finish as every variant, so
 * the bits equal the portable and x86 ones.  NEON is part of the base
 * aarch64 ISA, so no target attribute is needed; simd_dispatch.c still
 * checks HWCAP_ASIMD.  Built only on aarch64 (tested under
 * qemu-aarch64-static by test/run).
 */
#include "scan_variants.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#include "scan_finish_neon.h"

/* NEON: one panel per step, four accumulators of 4 items. */
MR_NO_CONTRACT
void
MrApproxNeon(const int8_t *q8, const float *scale, int32_t n, int k,
			 const MrQuery *q, const float *bias, float *y)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kp = MrKPad(k);
	size_t		stride = (size_t) MR_PANEL * kp;
	size_t		b;

	for (b = 0; b < panels; b++)
	{
		const int8_t *s = q8 + b * stride;
		int32x4_t	a0 = vdupq_n_s32(0),
					a1 = vdupq_n_s32(0),
					a2 = vdupq_n_s32(0),
					a3 = vdupq_n_s32(0);
		long		m = (long) n - (long) (b * MR_PANEL);
		int			f;

		for (f = 0; f < kp; f += 2, s += 2 * MR_PANEL)
		{
			int8x16x2_t v = vld2q_s8(s);
			int16_t		pe = (int16_t) (q->pair[f / 2] & 0xFFFF),
						po = (int16_t) ((uint32_t) q->pair[f / 2] >> 16);
			int16x8_t	el = vmovl_s8(vget_low_s8(v.val[0])),
						eh = vmovl_high_s8(v.val[0]),
						ol = vmovl_s8(vget_low_s8(v.val[1])),
						oh = vmovl_high_s8(v.val[1]);

			a0 = vmlal_n_s16(a0, vget_low_s16(el), pe);
			a1 = vmlal_high_n_s16(a1, el, pe);
			a2 = vmlal_n_s16(a2, vget_low_s16(eh), pe);
			a3 = vmlal_high_n_s16(a3, eh, pe);
			a0 = vmlal_n_s16(a0, vget_low_s16(ol), po);
			a1 = vmlal_high_n_s16(a1, ol, po);
			a2 = vmlal_n_s16(a2, vget_low_s16(oh), po);
			a3 = vmlal_high_n_s16(a3, oh, po);
		}
		finish4(a0, q->sp, scale, bias, y, b * MR_PANEL, m);
		finish4(a1, q->sp, scale, bias, y, b * MR_PANEL + 4, m - 4);
		finish4(a2, q->sp, scale, bias, y, b * MR_PANEL + 8, m - 8);
		finish4(a3, q->sp, scale, bias, y, b * MR_PANEL + 12, m - 12);
	}
}

/* e |q| + |a| 2^-21 + 2^-100, 4 lanes (MrBound's operations and order). */
MR_NO_CONTRACT
static inline float32x4_t
bound4(float32x4_t a, float32x4_t qn, float32x4_t e)
{
	return vaddq_f32(vaddq_f32(vmulq_f32(e, qn), vmulq_f32(vabsq_f32(a), vdupq_n_f32(0x1p-21f))),
					 vdupq_n_f32(0x1p-100f));
}

/* Pass 1, 16 items per step: any lane beating the root goes to scalar code. */
MR_NO_CONTRACT
void
MrLowerNeon(const float *approx, const float *w, float e, int32_t i,
			int32_t n, MrTopK *h, const uint8_t *skip)
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
			float32x4_t lo = vsubq_f32(a, bound4(a, vld1q_f32(w + i + 4 * q), ev));

			any = vorrq_u32(any, vcgtq_f32(lo, root));
		}
		if (vmaxvq_u32(any) != 0)
			MrLowerPortable(approx, w, e, i, i + 16, h, skip);
	}
	MrLowerPortable(approx, w, e, i, n, h, skip);
}

/* Pass 2, 16 items per step: a block with a candidate is listed in scalar. */
MR_NO_CONTRACT
int32_t
MrUpperNeon(const float *approx, const float *w, float e, float tau,
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
			float32x4_t up = vaddq_f32(a, bound4(a, vld1q_f32(w + i + 4 * q), ev));

			any = vorrq_u32(any, vandq_u32(vcgeq_f32(up, tv), vcgtq_f32(a, ninf)));
		}
		if (vmaxvq_u32(any) == 0)
			continue;
		for (j = i; j < i + 16; j++)
			if (approx[j] > -INFINITY && approx[j] + MrBound(e, w[j], approx[j]) >= tau)
				cand[m++] = j;
	}
	for (; i < n; i++)
	{
		float		a = approx[i];

		if (a > -INFINITY && a + MrBound(e, w[i], a) >= tau)
			cand[m++] = i;
	}
	return m;
}

/* Block maxima, NEON: four vectors of 4 lanes per block, reduced with FMAXV. */
MR_NO_CONTRACT
void
MrBlockNeon(const float *approx, const float *w, float e, int32_t nb,
			float *lo, float *hi)
{
	float32x4_t ev = vdupq_n_f32(e);
	float32x4_t ninf = vdupq_n_f32(-INFINITY);
	int32_t		b;

	for (b = 0; b < nb; b++)
	{
		float32x4_t ml = ninf,
					mh = ninf;
		int			q;

		for (q = 0; q < 4; q++)
		{
			float32x4_t a = vld1q_f32(approx + (size_t) b * 16 + 4 * q);
			float32x4_t bd = bound4(a, vld1q_f32(w + (size_t) b * 16 + 4 * q), ev);

			ml = vmaxq_f32(ml, vsubq_f32(a, bd));
			mh = vmaxq_f32(mh, vbslq_f32(vcgtq_f32(a, ninf), vaddq_f32(a, bd), ninf));
		}
		lo[b] = vmaxvq_f32(ml);
		hi[b] = vmaxvq_f32(mh);
	}
}

#endif							/* __aarch64__ */
