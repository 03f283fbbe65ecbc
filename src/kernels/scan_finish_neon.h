/*
 * scan_finish_neon.h: the float finish of the NEON integer passes
 * (serve_scan_neon.c, serve_scan4_neon.c), the operations of every
 * variant.  Private to them; include after <arm_neon.h>.
 */
#ifndef MR_SCAN_FINISH_NEON_H
#define MR_SCAN_FINISH_NEON_H

/* y[base..] = acc * sp * scale (+ bias), only the first m of 4 lanes. */
MR_NO_CONTRACT
static inline void
finish4(int32x4_t acc, float sp, const float *scale, const float *bias,
		float *y, size_t base, long m)
{
	float32x4_t v = vmulq_n_f32(vcvtq_f32_s32(acc), sp);

	if (m >= 4)
	{
		v = vmulq_f32(v, vld1q_f32(scale + base));
		if (bias)
			v = vaddq_f32(v, vld1q_f32(bias + base));
		vst1q_f32(y + base, v);
	}
	else if (m > 0)
	{
		float		t[4];
		long		j;

		vst1q_f32(t, v);
		for (j = 0; j < m; j++)
		{
			float		x = t[j] * scale[base + j];

			y[base + j] = bias ? x + bias[base + j] : x;
		}
	}
}

#endif							/* MR_SCAN_FINISH_NEON_H */
