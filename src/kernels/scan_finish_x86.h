/*
 * scan_finish_x86.h: the float finish of the x86 integer passes
 * (serve_scan_x86.c, serve_scan4_x86.c): convert the exact sums, times sp,
 * times the item's scale, plus its bias, one rounding each, as in every
 * variant.  Private to them; include after <immintrin.h>.
 */
#ifndef MR_SCAN_FINISH_X86_H
#define MR_SCAN_FINISH_X86_H

/* y[base..] = acc * sp * scale (+ bias), only the first m of 16 lanes. */
__attribute__((target("avx512f")))
MR_NO_CONTRACT
static inline void
finish16(__m512i acc, float sp, const float *scale, const float *bias,
		 float *y, size_t base, long m)
{
	__mmask16	mask = (m >= 16) ? 0xFFFF : (__mmask16) ((1u << m) - 1);
	__m512		v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(sp));

	v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(mask, scale + base));
	if (bias)
		v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, bias + base));
	_mm512_mask_storeu_ps(y + base, mask, v);
}

/* y[base..] = acc * sp * scale (+ bias), only the first m of 8 lanes. */
__attribute__((target("avx2,fma")))
MR_NO_CONTRACT
static inline void
finish8(__m256i acc, float sp, const float *scale, const float *bias,
		float *y, size_t base, long m)
{
	__m256		v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(sp));

	if (m >= 8)
	{
		v = _mm256_mul_ps(v, _mm256_loadu_ps(scale + base));
		if (bias)
			v = _mm256_add_ps(v, _mm256_loadu_ps(bias + base));
		_mm256_storeu_ps(y + base, v);
	}
	else if (m > 0)
	{
		float		t[8];
		long		j;

		_mm256_storeu_ps(t, v);
		for (j = 0; j < m; j++)
		{
			float		x = t[j] * scale[base + j];

			y[base + j] = bias ? x + bias[base + j] : x;
		}
	}
}

#endif							/* MR_SCAN_FINISH_X86_H */
