/*
 * bench/serve_kernels_ref.c: the yardstick of issue 8, a plain bf16 scan
 * over the packed panels of 16 items written the obvious way (factor pairs
 * in order, a*b+c, no intrinsics) for the compiler to vectorize.
 * bench/serve_kernels compiles this file once per ISA, as the issue did:
 * gcc -O3 (default target), -O3 -mavx2 -mfma, -O3 -mavx512f, naming the
 * function with -DREF_NAME=...
 */
#include <stddef.h>
#include <stdint.h>

void		REF_NAME(const uint16_t *packed, int32_t n, int k, const float *p,
					 const float *bias, float *y);

/* y = bias + bf16(Q) p over the panels. */
void
REF_NAME(const uint16_t *packed, int32_t n, int k, const float *p,
		 const float *bias, float *y)
{
	size_t		panels = ((size_t) n + 15) / 16;
	int			kp = k + (k & 1);
	size_t		b;

	for (b = 0; b < panels; b++)
	{
		const uint16_t *src = packed + b * 16 * kp;
		float		acc[16];
		int			f,
					j;

		for (j = 0; j < 16; j++)
			acc[j] = 0.0f;
		for (f = 0; f < kp; f += 2)
		{
			const uint32_t *w = (const uint32_t *) (src + (size_t) f * 16);
			float		pe = p[f],
						po = (f + 1 < k) ? p[f + 1] : 0.0f;
			union
			{
				uint32_t	u[16];
				float		x[16];
			}			e, o;

			/* without this, -O3 unrolls the j loops first and vectorizes neither */
#pragma GCC unroll 1
			for (j = 0; j < 16; j++)
			{
				e.u[j] = w[j] << 16;
				o.u[j] = w[j] & 0xFFFF0000u;
			}
#pragma GCC unroll 1
			for (j = 0; j < 16; j++)
			{
				acc[j] = e.x[j] * pe + acc[j];
				acc[j] = o.x[j] * po + acc[j];
			}
		}
		for (j = 0; j < 16 && b * 16 + j < (size_t) n; j++)
			y[b * 16 + j] = acc[j] + bias[b * 16 + j];
	}
}
