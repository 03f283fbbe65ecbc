/*
 * serve_scan_portable.c: the portable variant of the scan's passes (see
 * serve_scan.c): the approximate integer pass, the two bound passes and the
 * block maxima, in plain loops and GNU C generic vectors that the compiler
 * turns into the target's own vector instructions with no call.  The x86 and NEON variants use its bound
 * passes for their tails, and serve_scan.c chooses among all of them.
 *
 * Plain C over arrays: no PostgreSQL calls (unit tested in
 * test/unit/serve_scan.c).
 */
#include "scan_variants.h"

#include <stdbool.h>

/*
 * Portable pass: one panel (16 items) at a time, factor pairs in order,
 * 16 int32 sums.  Plain loops of fixed length over int8 times int16
 * products, which gcc -O2 vectorizes for any target (SSE2: PMULLW and
 * PMULHW, interleaved to 32 bits; aarch64: SMLAL), with no call: 56 us at
 * 9,742 x 64 against 196 us for the same in GNU C generic vectors, whose
 * 32-bit multiplies SSE2 lacks.  The sums are exact, and the finish
 * (convert, times sp, times scale, plus bias) is the x86 and NEON
 * variants' operations in the same order, one rounding each
 * (MR_NO_CONTRACT).
 */
MR_NO_CONTRACT
void
MrApproxPortable(const int8_t *q8, const float *scale, int32_t n, int k,
				 const MrQuery *q, const float *bias, float *y)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	int			kp = MrKPad(k);
	size_t		b;

	for (b = 0; b < panels; b++)
	{
		const int8_t *src = q8 + b * MR_PANEL * kp;
		int32_t		acc[MR_PANEL] = {0};
		size_t		base = b * MR_PANEL;
		int			f,
					j;

		for (f = 0; f < kp; f += 2)
		{
			const int8_t *s = src + (size_t) f * MR_PANEL;
			int16_t		pe = (int16_t) (q->pair[f / 2] & 0xFFFF),
						po = (int16_t) ((uint32_t) q->pair[f / 2] >> 16);

			for (j = 0; j < MR_PANEL; j++)
				acc[j] += (int32_t) (int16_t) s[2 * j] * pe + (int32_t) (int16_t) s[2 * j + 1] * po;
		}
		for (j = 0; j < MR_PANEL && base + j < (size_t) n; j++)
		{
			float		x = (float) acc[j] * q->sp;

			x = x * scale[base + j];
			y[base + j] = bias ? x + bias[base + j] : x;
		}
	}
}

/* Push the lower bounds of items i..i+m that beat the root (scalar). */
static inline void
lower_scalar(const float *approx, const float *w, float e, int32_t i,
			 int32_t m, MrTopK *h, const uint8_t *skip)
{
	int32_t		end = i + m;

	for (; i < end; i++)
	{
		float		a = approx[i];

		/* a <= root already fails: skip the bound */
		if (a > h->score[0] && a - MrBound(e, w[i], a) > h->score[0] && !(skip && skip[i]))
			MrTopKPush(h, a - MrBound(e, w[i], a), i);
	}
}

/*
 * Pass 1, portable: 16 lower bounds are compared with the root in a loop
 * the compiler vectorizes; only a block with a survivor goes to the
 * scalar push (rare once the heap holds good items).
 */
void
MrLowerPortable(const float *approx, const float *w, float e, int32_t i,
				int32_t n, MrTopK *h, const uint8_t *skip)
{
	for (; i + 16 <= n; i += 16)
	{
		float		root = h->score[0];
		int			any = 0,
					j;

		for (j = 0; j < 16; j++)
			any |= (approx[i + j] - MrBound(e, w[i + j], approx[i + j]) > root);
		if (any)
			lower_scalar(approx, w, e, i, 16, h, skip);
	}
	lower_scalar(approx, w, e, i, n - i, h, skip);
}

/* Pass 2, portable: blocks of 16 flagged in vector code, then listed. */
int32_t
MrUpperPortable(const float *approx, const float *w, float e, float tau,
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
				(approx[i + j] + MrBound(e, w[i + j], approx[i + j]) >= tau);
		if (!any)
			continue;
		for (j = 0; j < 16; j++)
		{
			float		a = approx[i + j];

			if (a > -INFINITY && a + MrBound(e, w[i + j], a) >= tau)
				cand[m++] = i + j;
		}
	}
	for (; i < n; i++)
	{
		float		a = approx[i];

		if (a > -INFINITY && a + MrBound(e, w[i], a) >= tau)
			cand[m++] = i;
	}
	return m;
}

/* GNU C generic vectors of 4 floats and 4 int32 (bit casts between them). */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

/* The lanes of x where m is set, else those of y. */
static inline v4f
v4_select(v4i m, v4f x, v4f y)
{
	return (v4f) (((v4i) x & m) | ((v4i) y & ~m));
}

/* The largest of 4 lanes. */
static inline float
v4_hmax(v4f x)
{
	float		a = x[0] > x[1] ? x[0] : x[1],
				b = x[2] > x[3] ? x[2] : x[3];

	return a > b ? a : b;
}

/*
 * Block maxima, portable: four vectors of 4 lanes per block in GNU C
 * generic vectors (SSE2 on x86-64, NEON on aarch64), with MrBound's
 * operations one rounding each (MR_NO_CONTRACT).
 */
MR_NO_CONTRACT
void
MrBlockPortable(const float *approx, const float *w, float e, int32_t nb,
				float *lo, float *hi)
{
	const v4f	ev = {e, e, e, e},
				c21 = {0x1p-21f, 0x1p-21f, 0x1p-21f, 0x1p-21f},
				c100 = {0x1p-100f, 0x1p-100f, 0x1p-100f, 0x1p-100f},
				ninf = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
	const v4i	absmask = {0x7FFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF};
	int32_t		b;

	for (b = 0; b < nb; b++)
	{
		v4f			ml = ninf,
					mh = ninf;
		int			q;

		for (q = 0; q < 4; q++)
		{
			v4f			a,
						wq,
						bd,
						l,
						u;

			memcpy(&a, approx + (size_t) b * 16 + 4 * q, sizeof(a));
			memcpy(&wq, w + (size_t) b * 16 + 4 * q, sizeof(wq));
			bd = ev * wq + (v4f) ((v4i) a & absmask) * c21 + c100;
			l = a - bd;
			u = v4_select(a > ninf, a + bd, ninf);
			ml = v4_select(l > ml, l, ml);
			mh = v4_select(u > mh, u, mh);
		}
		lo[b] = v4_hmax(ml);
		hi[b] = v4_hmax(mh);
	}
}
