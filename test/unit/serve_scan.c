/*
 * Unit test of the catalogue scan (src/kernels/serve_scan.c): the bfloat16 pass
 * stays within its error bound, the AVX-512 and plain C passes agree bit
 * for bit, and MrTopKExact returns exactly the top k of the exact float
 * scores (ids, order and scores), also with exclusions, many equal
 * items, odd shapes and k = 10000.  Prints TAP.
 */
// sources: src/kernels/serve_scan.c src/kernels/topk.c
#include "serve_kernels.h"

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

typedef struct Case
{
	int32_t		n;
	int			k;
	float	   *Q,
			   *norm,
			   *bias,
			   *p;
	uint16_t   *packed;
} Case;

/* A random catalogue; dup > 0 makes every dup-th item a copy of item 0
 * with a bias of 5, so that they tie at the top. */
static Case
make_case(int32_t n, int k, int dup)
{
	Case		c;
	int32_t		i;
	int			f;

	c.n = n;
	c.k = k;
	c.Q = malloc(sizeof(float) * ((size_t) n * k + 1));
	c.norm = malloc(sizeof(float) * (n + 1));
	c.bias = malloc(sizeof(float) * (n + 1));
	c.p = malloc(sizeof(float) * (k + 1));
	c.packed = malloc(sizeof(uint16_t) * (MrPackedCount(n, k) + 1));
	for (i = 0; i < n; i++)
	{
		double		ss = 0;

		for (f = 0; f < k; f++)
			c.Q[(size_t) i * k + f] = (dup > 0 && i > 0 && i % dup == 0) ? c.Q[f] : urand(0.5f);
		c.bias[i] = (dup > 0 && i % dup == 0) ? 5.0f : urand(0.3f);
		for (f = 0; f < k; f++)
			ss += (double) c.Q[(size_t) i * k + f] * c.Q[(size_t) i * k + f];
		c.norm[i] = (float) sqrt(ss);
	}
	for (f = 0; f < k; f++)
		c.p[f] = urand(1.0f);
	MrPackItems(c.Q, n, k, c.packed);
	return c;
}

/* Free a case. */
static void
free_case(Case *c)
{
	free(c->Q);
	free(c->norm);
	free(c->bias);
	free(c->p);
	free(c->packed);
}

/*
 * Compare MrTopKExact with a heap over exact scores; every excl-th item is
 * excluded.  Returns 1 when ids, order and scores are identical.
 */
static int
same_topk(Case *c, int k, int excl, int32_t *rescored)
{
	float	   *exact = malloc(sizeof(float) * (c->n + 1));
	float	   *approx = malloc(sizeof(float) * (c->n + 1));
	int32_t    *cand = malloc(sizeof(int32_t) * (c->n + 1));
	int32_t    *i1 = malloc(sizeof(int32_t) * (k + 1)),
			   *i2 = malloc(sizeof(int32_t) * (k + 1));
	float	   *s1 = malloc(sizeof(float) * (k + 1)),
			   *s2 = malloc(sizeof(float) * (k + 1));
	MrScanInput in = {c->n, c->k, c->Q, c->norm, c->bias, c->p, rescored};
	int32_t		i;
	int			n1,
				n2,
				good;

	for (i = 0; i < c->n; i++)
		exact[i] = (excl > 0 && i % excl == 3) ? -INFINITY
			: MrScoreExact(c->Q + (size_t) i * c->k, c->k, c->p, c->bias[i]);
	n1 = MrTopKSelect(exact, c->n, k, i1, s1);

	MrScoreApprox(c->packed, c->n, c->k, c->p, c->bias, approx);
	for (i = 0; i < c->n; i++)
		if (excl > 0 && i % excl == 3)
			approx[i] = -INFINITY;
	n2 = MrTopKExact(&in, k, approx, cand, i2, s2);
	good = (n1 == n2 && memcmp(i1, i2, sizeof(int32_t) * n1) == 0 &&
			memcmp(s1, s2, sizeof(float) * n1) == 0);
	free(exact);
	free(approx);
	free(cand);
	free(i1);
	free(i2);
	free(s1);
	free(s2);
	return good;
}

int
main(void)
{
	Case		c;
	float	   *a,
			   *a2;
	int32_t		i,
				rescored = 0;
	int			within = 1,
				f;
	double		pn = 0,
				worst = 0;

	srand(11);
	printf("# approximate pass: %s\n", MrScoreKernelName(0));

	c = make_case(9742, 64, 0);
	a = malloc(sizeof(float) * c.n);
	a2 = malloc(sizeof(float) * c.n);
	MrScoreApprox(c.packed, c.n, c.k, c.p, c.bias, a);
	for (f = 0; f < c.k; f++)
		pn += (double) c.p[f] * c.p[f];
	pn = sqrt(pn);
	for (i = 0; i < c.n; i++)
	{
		double		e = fabs(a[i] - MrScoreExact(c.Q + (size_t) i * c.k, c.k, c.p, c.bias[i]));
		double		b = MrApproxErrorScale(c.k) * c.norm[i] * pn;

		if (e > b)
			within = 0;
		if (e / b > worst)
			worst = e / b;
	}
	printf("# largest error / bound: %.3f\n", worst);
	ok(within, "bfloat16 scores stay within the error bound");
	MrScoreKernelName(1);
	MrScoreApprox(c.packed, c.n, c.k, c.p, c.bias, a2);
	{
		float	   *a3 = malloc(sizeof(float) * c.n);
		const char *v = MrScoreKernelName(3);

		MrScoreApprox(c.packed, c.n, c.k, c.p, c.bias, a3);
		ok(strcmp(v, "avx512") != 0 || memcmp(a2, a3, sizeof(float) * c.n) == 0,
		   "AVX-512F and plain C approximate passes are identical");
		free(a3);
	}
	MrScoreKernelName(2);
	within = 1;
	for (i = 0; i < c.n; i++)
	{
		double		e = fabs(a2[i] - MrScoreExact(c.Q + (size_t) i * c.k, c.k, c.p, c.bias[i]));

		if (e > MrApproxErrorScale(c.k) * c.norm[i] * pn)
			within = 0;
	}
	ok(within, "the plain C pass stays within the bound too");

	ok(same_topk(&c, 10, 0, &rescored), "top-10 over 9742 x 64 equals the exact float top-10");
	printf("# rescored %d of %d items\n", rescored, c.n);
	ok(rescored < 200, "few items need exact rescoring on random factors");
	ok(same_topk(&c, 10, 5, &rescored), "exact with every fifth item excluded");
	ok(same_topk(&c, 1, 0, &rescored) && same_topk(&c, 10000, 0, &rescored),
	   "k = 1 and k = 10000 (more than n)");
	MrScoreKernelName(1);
	ok(same_topk(&c, 10, 0, &rescored) && same_topk(&c, 10, 5, &rescored),
	   "the plain C passes give the same exact top-10");
	MrScoreKernelName(3);
	ok(same_topk(&c, 10, 0, &rescored) && same_topk(&c, 10, 5, &rescored),
	   "the AVX-512F passes give the same exact top-10");
	MrScoreKernelName(2);
	free_case(&c);

	c = make_case(5000, 64, 3);
	ok(same_topk(&c, 10, 0, &rescored), "a third of the items tie at the top: smaller index first");
	printf("# rescored %d of %d items with ties\n", rescored, c.n);
	free_case(&c);

	c = make_case(37, 7, 0);
	ok(same_topk(&c, 5, 0, &rescored) && same_topk(&c, 40, 4, &rescored),
	   "odd shape 37 x 7 (partial panel)");
	free_case(&c);
	c = make_case(1, 1, 0);
	ok(same_topk(&c, 3, 0, &rescored), "one item, one factor");
	free_case(&c);
	free(a);
	free(a2);
	printf("1..%d\n", n_test);
	return 0;
}
