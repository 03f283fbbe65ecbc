/*
 * planted.h: small planted problems for the kernel unit tests (test-only).
 *
 * planted_explicit: U users x I movies, each pair observed with probability
 * density; rating = 3.25 + b_u + b_i + u.v + N(0, sigma^2) with biases
 * N(0, 0.25^2) and rank-r factors scaled so u.v has standard deviation
 * 0.5 (the model of the data branch's generator, without rounding).  Observations are split into train (about 80 %) and
 * test by a seeded coin.  Also a TAP printer and a progress recorder.
 */
#ifndef MR_TEST_PLANTED_H
#define MR_TEST_PLANTED_H

#include "../../bench/kernels_common.h"
#include "kern_util.h"
#include "mf_defaults.h"
#include "blas.h"

#include <math.h>

static int	n_test = 0;

/* Print one TAP line. */
static void
ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n_test, what);
	fflush(stdout);
}

/* Losses reported through progress, in order. */
static double rec_loss[256];
static int	rec_n = 0;

/* env->progress that records the losses. */
static void
rec_progress(void *arg, const char *phase, int it, int of, double loss)
{
	if (rec_n < 256)
		rec_loss[rec_n++] = loss;
}

static const MrKernelEnv rec_env = {
	bench_alloc, bench_free, bench_check, rec_progress, NULL
};

/* True if the recorded losses never increase (up to a relative slack). */
static int
losses_decrease(double slack)
{
	int			j;

	for (j = 1; j < rec_n; j++)
		if (rec_loss[j] > rec_loss[j - 1] * (1 + slack))
			return 0;
	return rec_n > 1 && rec_loss[rec_n - 1] < rec_loss[0];
}

typedef struct Planted
{
	MrRatings  *train;
	int64_t		n_test;
	int32_t    *tu,
			   *ti;
	float	   *tr;
} Planted;

/* Build a planted explicit problem (see the file comment). */
static Planted
planted_explicit(int32_t nu, int32_t ni, int rank, double density,
				 double sigma, uint64_t seed)
{
	MrRng		rng;
	float	   *U = malloc(sizeof(float) * nu * rank),
			   *V = malloc(sizeof(float) * ni * rank);
	int64_t		cap = (int64_t) nu * ni,
				n = 0;
	int32_t    *au = malloc(sizeof(int32_t) * cap),
			   *ai = malloc(sizeof(int32_t) * cap);
	float	   *ar = malloc(sizeof(float) * cap);
	Planted		pl = {0};
	int32_t		u,
				i;

	MrRngSeed(&rng, seed);
	float	   *bu = malloc(sizeof(float) * nu),
			   *bi = malloc(sizeof(float) * ni);

	MrFillNormal(&rng, U, (int64_t) nu * rank, sqrt(0.5 / sqrt(rank)));
	MrFillNormal(&rng, V, (int64_t) ni * rank, sqrt(0.5 / sqrt(rank)));
	MrFillNormal(&rng, bu, nu, 0.25);
	MrFillNormal(&rng, bi, ni, 0.25);
	pl.tu = malloc(sizeof(int32_t) * cap);
	pl.ti = malloc(sizeof(int32_t) * cap);
	pl.tr = malloc(sizeof(float) * cap);
	for (u = 0; u < nu; u++)
		for (i = 0; i < ni; i++)
		{
			float		r;
			int			j;

			if (MrRngUniform(&rng) >= density)
				continue;
			r = 3.25f + bu[u] + bi[i] + (float) (sigma * MrRngNormal(&rng));
			for (j = 0; j < rank; j++)
				r += U[u * rank + j] * V[i * rank + j];
			if (MrRngUniform(&rng) < 0.2)
			{
				pl.tu[pl.n_test] = u;
				pl.ti[pl.n_test] = i;
				pl.tr[pl.n_test++] = r;
			}
			else
			{
				au[n] = u;
				ai[n] = i;
				ar[n++] = r;
			}
		}
	pl.train = bench_build(nu, ni, n, au, ai, ar);
	free(U);
	free(V);
	free(bu);
	free(bi);
	free(au);
	free(ai);
	free(ar);
	return pl;
}

/* Test RMSE of factors f on the held-out ratings (no clipping). */
static double
planted_rmse(const Planted *pl, const MrFactors *f)
{
	double		sse = 0;
	int64_t		x;

	for (x = 0; x < pl->n_test; x++)
	{
		double		pred = f->global_mean + f->user_bias[pl->tu[x]] + f->item_bias[pl->ti[x]];

		if (f->k > 0)
			pred += MrDot(f->P + (int64_t) pl->tu[x] * f->k,
						  f->Q + (int64_t) pl->ti[x] * f->k, f->k);
		sse += (pred - pl->tr[x]) * (pred - pl->tr[x]);
	}
	return sqrt(sse / pl->n_test);
}

/* True if two factor sets are bitwise identical. */
static int
same_bits(const MrFactors *a, const MrFactors *b)
{
	size_t		nu = a->n_users,
				ni = a->n_items;

	if (a->k != b->k || a->global_mean != b->global_mean)
		return 0;
	if (memcmp(a->user_bias, b->user_bias, nu * sizeof(float)) ||
		memcmp(a->item_bias, b->item_bias, ni * sizeof(float)))
		return 0;
	if (a->k > 0 && (memcmp(a->P, b->P, nu * a->k * sizeof(float)) ||
					 memcmp(a->Q, b->Q, ni * a->k * sizeof(float))))
		return 0;
	return 1;
}

#endif							/* MR_TEST_PLANTED_H */
