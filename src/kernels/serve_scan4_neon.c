/*
 * serve_scan4_neon.c: the aarch64 NEON variant of the int4 pass
 * (serve_scan4.c has the design and the layout).
 *
 * Each 16-byte half of a panel's quad row is four items' quad in its low
 * nibbles and four more in its high nibbles; minus 8 they are the signed
 * values, multiplied by the user's quad bytes into int16 (SMULL, SMLAL:
 * at most 7 x 127 per product, so eight quads fit int16), flushed into
 * int32 pairs (SADALP) and summed per item at the end (ADDP).  The sum
 * sum_f v_if p8_f is the x86 variants' (they subtract corr instead), and
 * the finish is the int8 pass's, so the bits are the same.  Built only on
 * aarch64 (tested under qemu-aarch64-static by test/run).
 */
#include "scan_variants.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#include "scan_finish_neon.h"

/* Quads per int16 flush: 8 x 889 fits int16. */
#define FLUSH_STEPS 8

/* NEON: one panel per step, 8 int16 sums of two items' quads each. */
MR_NO_CONTRACT
void
MrApprox4Neon(const uint8_t *q4, const float *scale, int32_t n, int k,
			  const MrQuery4 *q, const float *bias, float *y)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kq = MrK4Pad(k) / 4;
	size_t		stride = (size_t) kq * 32;
	const uint8x16_t mask = vdupq_n_u8(0x0F),
				eight = vdupq_n_u8(8);
	size_t		b;

	for (b = 0; b < panels; b++)
	{
		const uint8_t *s = q4 + b * stride;
		int32x4_t	a[8];
		int			g0,
					t;

		for (t = 0; t < 8; t++)
			a[t] = vdupq_n_s32(0);
		for (g0 = 0; g0 < kq; g0 += FLUSH_STEPS)
		{
			int16x8_t	c[8];
			int			g,
						ge = (g0 + FLUSH_STEPS < kq) ? g0 + FLUSH_STEPS : kq;

			for (t = 0; t < 8; t++)
				c[t] = vdupq_n_s16(0);
			for (g = g0; g < ge; g++)
			{
				int8x16_t	w = vreinterpretq_s8_s32(vdupq_n_s32(q->quad[g]));
				int			h;

				/* c[4 nib + 2 h + x]: items 8 nib + 4 h + 2 x, + 1 */
				for (h = 0; h < 2; h++)
				{
					uint8x16_t	x = vld1q_u8(s + 32 * (size_t) g + 16 * h);
					int8x16_t	lo = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(x, mask), eight)),
								hi = vreinterpretq_s8_u8(vsubq_u8(vshrq_n_u8(x, 4), eight));

					c[2 * h] = vmlal_s8(c[2 * h], vget_low_s8(lo), vget_low_s8(w));
					c[2 * h + 1] = vmlal_high_s8(c[2 * h + 1], lo, w);
					c[4 + 2 * h] = vmlal_s8(c[4 + 2 * h], vget_low_s8(hi), vget_low_s8(w));
					c[4 + 2 * h + 1] = vmlal_high_s8(c[4 + 2 * h + 1], hi, w);
				}
			}
			for (t = 0; t < 8; t++)
				a[t] = vpadalq_s16(a[t], c[t]);
		}
		/* a[2 u], a[2 u + 1]: items 4 u .. 4 u + 3, two lanes each */
		for (t = 0; t < 4; t++)
		{
			size_t		base = b * MR_PANEL + 4 * (size_t) t;

			finish4(vpaddq_s32(a[2 * t], a[2 * t + 1]), q->sp, scale, bias, y, base,
					(long) n - (long) base);
		}
	}
}

#endif
