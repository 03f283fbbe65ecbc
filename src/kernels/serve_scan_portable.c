/*
 * serve_scan_portable.c: the portable variant of the scan's passes (see
 * serve_scan.c): the approximate bfloat16 pass and the two bound passes in
 * GNU C generic vectors, which the compiler turns into the target's own
 * vector instructions with no call.  The x86 and NEON variants use its bound
 * passes for their tails, and serve_scan.c chooses among all of them.
 *
 * Plain C over arrays: no PostgreSQL calls (unit tested in
 * test/unit/serve_scan.c).
 */
#include "serve_scan_impl.h"

#include <stdbool.h>

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
