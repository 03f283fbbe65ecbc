/*
 * Unit test of the int4 first pass (src/kernels/serve_scan4*.c) for every
 * SIMD variant this CPU has (the others print "ok N # SKIP" lines): the
 * approximate scores are bit-identical to a scalar reference of the same
 * integer sums and float finish, and stay within the error bound; and
 * MrTopKExact over them returns exactly the top k of the exact float
 * scores (ids, order, scores) with exclusions, ties, k = 1 and k larger
 * than the catalogue, n not a multiple of the panel, k not a multiple of
 * 8, extreme finite values, skewed norms and near-identical movies (where
 * the second rescoring round decides); on random factors it rescores
 * few items (the bound and the exact threshold are tight enough to pay).
 * Prints TAP.
 */
// sources: src/kernels/serve_scan4.c src/kernels/serve_scan4_x86.c src/kernels/serve_scan4_neon.c src/kernels/serve_scan.c src/kernels/serve_scan_portable.c src/kernels/serve_scan_x86.c src/kernels/serve_scan_neon.c src/kernels/simd_dispatch.c src/kernels/topk.c
// cross: aarch64
#include "serve_kernels.h"
#include "scan_variants.h"
#include "simd_dispatch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	n_test = 0;

/* Print one TAP line. */
static void
ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n_test, what);
}

/* Uniform in [-s, s). */
static float
urand(float s)
{
	return ((float) rand() / RAND_MAX * 2.0f - 1.0f) * s;
}

/* A catalogue, a user and the int4 copy. */
typedef struct Case
{
	int32_t		n;
	int			k;
	float	   *Q,
			   *bias,
			   *p;
	void	   *mem;
	MrPacked4	pk;
} Case;

/* (Re)pack a case's factors. */
static void
pack(Case *c)
{
	MrPackItems4(c->Q, c->n, c->k, (void *) (((uintptr_t) c->mem + 63) & ~(uintptr_t) 63), &c->pk);
}

/*
 * n x k uniform factors times scale; dup > 0 makes every dup-th item a
 * copy of item 0 with bias 5 (ties at the top); every skew-th item (if
 * skew > 0) is 20 times longer.
 */
static Case
make_case(int32_t n, int k, int dup, int skew, float scale)
{
	Case		c;
	int32_t		i;
	int			f;

	c.n = n;
	c.k = k;
	c.Q = malloc(sizeof(float) * ((size_t) n * k + 1));
	c.bias = malloc(sizeof(float) * (n + 1));
	c.p = malloc(sizeof(float) * (k + 1));
	c.mem = malloc(MrPacked4Bytes(n, k) + 64);
	for (i = 0; i < n; i++)
	{
		float		len = (skew > 0 && i % skew == 0) ? 20.0f : 1.0f;

		for (f = 0; f < k; f++)
			c.Q[(size_t) i * k + f] = (dup > 0 && i > 0 && i % dup == 0) ? c.Q[f]
				: urand(0.5f) * scale * len;
		c.bias[i] = ((dup > 0 && i % dup == 0) ? 5.0f : urand(0.3f)) * scale;
	}
	for (f = 0; f < k; f++)
		c.p[f] = urand(1.0f) * scale;
	pack(&c);
	return c;
}

/* Free a case. */
static void
free_case(Case *c)
{
	free(c->Q);
	free(c->bias);
	free(c->p);
	free(c->mem);
}

/*
 * The reference: each nibble read back in scalar code (the layout of
 * serve_kernels.h), the sum of v p8 in int64, the finish one rounding per
 * operation (volatile: no contraction).
 */
static void
approx_reference(const Case *c, float *y)
{
	MrQuery4	q;
	int			k8 = MrK4Pad(c->k);
	int32_t		i;
	int			f;

	MrQuantizeQuery4(c->p, c->k, &q);
	for (i = 0; i < c->n; i++)
	{
		int64_t		acc = 0;
		int			j = i % MR_PANEL;
		volatile float x;

		for (f = 0; f < k8; f++)
		{
			uint8_t		byte = c->pk.q4[(size_t) (i / MR_PANEL) * MR_PANEL * k8 / 2 +
										(size_t) (f / 4) * 32 + 4 * (j % 8) + f % 4];
			int			v = ((j < 8) ? (byte & 15) : (byte >> 4)) - 8;
			int8_t		p8 = (int8_t) ((uint32_t) q.quad[f / 4] >> (8 * (f % 4)));

			acc += (int64_t) v * p8;
		}
		x = (float) acc;
		x = x * q.sp;
		x = x * c->pk.scale[i];
		y[i] = x + c->bias[i];
	}
}

/*
 * 1 when MrScoreApprox4 equals the reference bit for bit and every score
 * is finite and within its bound; *worst gets the largest error / bound.
 */
static int
approx_ok(const Case *c, double *worst)
{
	float	   *a = malloc(sizeof(float) * (c->n + 1)),
			   *r = malloc(sizeof(float) * (c->n + 1));
	double		pn = 0;
	int32_t		i;
	int			f,
				good;

	good = MrScoreApprox4(&c->pk, c->p, c->bias, a);
	approx_reference(c, r);
	good &= memcmp(a, r, sizeof(float) * c->n) == 0;
	for (f = 0; f < c->k; f++)
		pn += (double) c->p[f] * c->p[f];
	pn = sqrt(pn);
	*worst = 0;
	for (i = 0; i < c->n; i++)
	{
		double		e = fabs((double) a[i] - MrScoreExact(c->Q + (size_t) i * c->k, c->k, c->p, c->bias[i]));
		double		b = c->pk.weight[i] * pn + fabs(a[i]) * 0x1p-21 + 0x1p-100;

		if (!isfinite(a[i]))
			good = 0;
		else if (e / b > *worst)
			*worst = e / b;
	}
	free(a);
	free(r);
	return good && *worst <= 1.0;
}

/*
 * MrScoreApprox4 + MrTopKExact against a heap over the exact scores, every
 * excl-th item excluded: 1 when ids, order and scores are identical.
 */
static int
same_topk(const Case *c, int k, int excl, int32_t *rescored)
{
	float	   *exact = malloc(sizeof(float) * (c->n + 1)),
			   *approx = malloc(sizeof(float) * (c->n + 1)),
			   *s1 = malloc(sizeof(float) * (k + 1)),
			   *s2 = malloc(sizeof(float) * (k + 1));
	int32_t    *cand = malloc(sizeof(int32_t) * (c->n + 1)),
			   *i1 = malloc(sizeof(int32_t) * (k + 1)),
			   *i2 = malloc(sizeof(int32_t) * (k + 1));
	MrScanInput in = {c->n, c->k, c->Q, c->pk.weight, c->bias, c->p, rescored, 0};
	int32_t		i;
	int			n1,
				n2,
				good;

	good = MrScoreApprox4(&c->pk, c->p, c->bias, approx);
	for (i = 0; i < c->n; i++)
	{
		int			x = (excl > 0 && i % excl == 3);

		exact[i] = x ? -INFINITY : MrScoreExact(c->Q + (size_t) i * c->k, c->k, c->p, c->bias[i]);
		if (x)
			approx[i] = -INFINITY;
	}
	n1 = MrTopKSelect(exact, c->n, k, i1, s1);
	n2 = MrTopKExact(&in, k, approx, cand, i2, s2);
	good &= (n1 == n2 && memcmp(i1, i2, sizeof(int32_t) * n1) == 0 &&
			memcmp(s1, s2, sizeof(float) * n1) == 0);
	free(exact);
	free(approx);
	free(s1);
	free(s2);
	free(cand);
	free(i1);
	free(i2);
	return good;
}

/*
 * 1 when MrTopKExact with max_rescore = limit returns -1 and leaves the
 * approximate scores as they were.
 */
static int
gives_up(const Case *c, int32_t limit)
{
	float	   *approx = malloc(sizeof(float) * (c->n + 1)),
			   *copy = malloc(sizeof(float) * (c->n + 1)),
			   s[10];
	int32_t    *cand = malloc(sizeof(int32_t) * (c->n + 1)),
				idx[10];
	MrScanInput in = {c->n, c->k, c->Q, c->pk.weight, c->bias, c->p, NULL, limit};
	int			good;

	good = MrScoreApprox4(&c->pk, c->p, c->bias, approx);
	memcpy(copy, approx, sizeof(float) * c->n);
	good &= limit > 0 && MrTopKExact(&in, 10, approx, cand, idx, s) == -1 &&
		memcmp(copy, approx, sizeof(float) * c->n) == 0;
	free(approx);
	free(copy);
	free(cand);
	return good;
}

/* lines per variant: the forcing test and the 9 of test_variant */
#define TESTS_PER_VARIANT 10

/* The tests of one variant (already forced). */
static void
test_variant(MrSimd v)
{
	const char *name = MrSimdName(v);
	char		what[200];
	int32_t		rescored = 0;
	double		w1 = 0,
				w2 = 0;
	Case		c,
				c2;
	int			good;

	c = make_case(9742, 64, 0, 0, 1.0f);
	c2 = make_case(9743, 61, 0, 0, 1.0f);
	good = approx_ok(&c, &w1) && approx_ok(&c2, &w2);
	printf("# %s: largest error / bound %.3f (9742 x 64), %.3f (9743 x 61)\n", name, w1, w2);
	snprintf(what, sizeof(what), "%s: int4 pass bit-identical to the scalar reference and within the bound (9742 x 64, 9743 x 61)", name);
	ok(good, what);

	good = same_topk(&c, 10, 0, &rescored) && gives_up(&c, rescored - 1);
	printf("# %s: rescored %d of %d items for the top 10 (products much wider than the biases)\n",
		   name, rescored, c.n);
	snprintf(what, sizeof(what), "%s: exact top 10 over 9742 x 64; with max_rescore below the count: -1, scores untouched", name);
	ok(good, what);
	snprintf(what, sizeof(what), "%s: exact with every fifth item excluded, at 9743 x 61, k = 1, k = 10000 and k = n - 2", name);
	ok(same_topk(&c, 10, 5, &rescored) && same_topk(&c2, 10, 0, &rescored) &&
	   same_topk(&c, 1, 0, &rescored) && same_topk(&c, 10000, 0, &rescored) &&
	   same_topk(&c, 9740, 5, &rescored), what);
	free_case(&c);
	free_case(&c2);

	/* bench/serve's random model: factors and biases in [-0.1, 0.1] */
	c = make_case(62423, 64, 0, 0, 0.2f);
	for (int32_t i = 0; i < c.n; i++)
		c.bias[i] = urand(0.1f);
	pack(&c);
	good = same_topk(&c, 10, 0, &rescored);
	printf("# %s: bench/serve's random 62423 x 64: rescored %d for the top 10\n", name, rescored);
	snprintf(what, sizeof(what), "%s: bench/serve's random 62423 x 64: exact, within serving's limit (n / 64 + 64 rescored)", name);
	ok(good && rescored <= c.n / 64 + 64, what);
	free_case(&c);

	c = make_case(5000, 64, 3, 0, 1.0f);
	c2 = make_case(4096, 32, 0, 37, 1.0f);
	snprintf(what, sizeof(what), "%s: ties (a third of the items at the top: smaller index first), skewed norms (every 37th 20x longer)", name);
	ok(same_topk(&c, 10, 0, &rescored) && same_topk(&c, 2000, 0, &rescored) &&
	   same_topk(&c2, 50, 0, &rescored) && approx_ok(&c2, &w1), what);
	free_case(&c);
	free_case(&c2);

	/*
	 * near-identical movies (factors 0.5 +- 1%, no bias): the int4 order
	 * is noise, so the top k is not among the first round's best
	 * approximate scores and the second round decides (MrTopKExact)
	 */
	c = make_case(5003, 32, 0, 0, 1.0f);
	for (int32_t i = 0; i < c.n; i++)
	{
		for (int f = 0; f < c.k; f++)
			c.Q[(size_t) i * c.k + f] = 0.5f + urand(0.005f);
		c.bias[i] = 0.0f;
	}
	pack(&c);
	good = same_topk(&c, 10, 0, &rescored) && same_topk(&c, 30, 7, &rescored) &&
		same_topk(&c, 1, 0, &rescored);
	printf("# %s: near-identical 5003 x 32: rescored %d for the top 1\n", name, rescored);
	snprintf(what, sizeof(what), "%s: near-identical movies (1%% apart: the int4 order is noise): exact top 10, 30 (exclusions) and 1", name);
	ok(good, what);
	free_case(&c);

	/* a user whose int8 rounding is too coarse: refused, y untouched */
	c = make_case(100, 64, 0, 0, 1.0f);
	{
		float		y[100] = {0},
					zero[100] = {0};
		int			f;

		c.p[0] = 1.0f;
		for (f = 1; f < c.k; f++)
			c.p[f] = 0.49f / 127.0f;
		snprintf(what, sizeof(what), "%s: a user with |eps| > |p| / 64 is refused (y untouched); a typical one is not", name);
		good = !MrScoreApprox4(&c.pk, c.p, c.bias, y) && memcmp(y, zero, sizeof(y)) == 0;
		for (f = 0; f < c.k; f++)
			c.p[f] = urand(1.0f);
		ok(good && MrScoreApprox4(&c.pk, c.p, c.bias, y), what);
	}
	free_case(&c);

	c = make_case(37, 7, 0, 0, 1.0f);
	c2 = make_case(1, 1, 0, 0, 1.0f);
	snprintf(what, sizeof(what), "%s: odd shapes 37 x 7 and 1 x 1 (partial panels and quads)", name);
	ok(same_topk(&c, 5, 0, &rescored) && same_topk(&c, 40, 4, &rescored) &&
	   same_topk(&c2, 3, 0, &rescored) && approx_ok(&c, &w1) && approx_ok(&c2, &w2), what);
	free_case(&c);
	free_case(&c2);

	c = make_case(1000, 64, 0, 0, 1e15f);
	c2 = make_case(1000, 200, 0, 0, 1e-15f);
	snprintf(what, sizeof(what), "%s: extreme finite values (x1e15 at k = 64, x1e-15 at k = 200): within the bound, exact top 10", name);
	ok(approx_ok(&c, &w1) && approx_ok(&c2, &w2) && same_topk(&c, 10, 0, &rescored) &&
	   same_topk(&c2, 10, 0, &rescored), what);
	free_case(&c);
	free_case(&c2);
}

int
main(void)
{
	int			v,
				t;

	srand(13);
	printf("# CPU supports: %s; best: %s\n", MrSimdSupportedList(), MrSimdName(MrSimdBest()));
	for (v = 0; v < MR_SIMD_COUNT; v++)
	{
		if (!MrSimdSupported((MrSimd) v))
		{
			for (t = 0; t < TESTS_PER_VARIANT; t++)
				printf("ok %d # SKIP %s: this CPU lacks it\n", ++n_test, MrSimdName((MrSimd) v));
			continue;
		}
		ok(MrSimdForce((MrSimd) v) && MrSimdCurrent() == (MrSimd) v, MrSimdName((MrSimd) v));
		test_variant((MrSimd) v);
	}
	printf("1..%d\n", n_test);
	return 0;
}
