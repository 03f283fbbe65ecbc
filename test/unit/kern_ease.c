/*
 * Unit test of EASE (src/kernels/kern_ease.c) on a planted clustered
 * problem: 300 users in 6 taste groups, each liking its own 20 of 120
 * movies (5 stars for about half of them, 2 stars for a few others).
 * Checks B against an independent double-precision solve of the EASE
 * closed form, the zero diagonal, min_item_ratings, binarize, that the
 * top 10 of x_u B are the user's group's movies, that MrEaseScoreKept
 * equals a plain double loop, and that 1 and 2 threads give the same
 * bits.  Prints TAP.
 */
// sources: src/kernels/kern_ease.c src/kernels/kern_ials.c src/kernels/kern_als.c src/kernels/kern_svd.c src/kernels/kern_baseline.c src/kernels/kern_popularity.c src/kernels/kern_util.c src/kernels/mf_defaults.c
#include "planted.h"
#include "kern_ease.h"

#include <string.h>

#define NU 300
#define NI 120
#define GROUPS 6

/* Solve A X = I in double by Gauss-Jordan (A n x n, destroyed); X out. */
static void
invert(double *A, double *X, int n)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			X[i * n + j] = i == j;
	for (int c = 0; c < n; c++)
	{
		double		piv = A[c * n + c];

		for (int j = 0; j < n; j++)
		{
			A[c * n + j] /= piv;
			X[c * n + j] /= piv;
		}
		for (int i = 0; i < n; i++)
		{
			double		f = A[i * n + c];

			if (i == c || f == 0)
				continue;
			for (int j = 0; j < n; j++)
			{
				A[i * n + j] -= f * A[c * n + j];
				X[i * n + j] -= f * X[c * n + j];
			}
		}
	}
}

/* Free what MrTrainEase returned (it allocates through bench_env: malloc). */
static void
ease_free(MrEaseWeights *w)
{
	free(w->kept);
	free(w->B);
	w->kept = NULL;
	w->B = NULL;
}

int
main(void)
{
	int32_t    *au = malloc(sizeof(int32_t) * NU * NI),
			   *ai = malloc(sizeof(int32_t) * NU * NI);
	float	   *ar = malloc(sizeof(float) * NU * NI);
	int64_t		n = 0;
	MrRng		rng;
	MrRatings  *r;
	MrFactors  *f = bench_factors(NU, NI, 0);
	MrTrainParams p;
	MrEaseWeights w1,
				w2;
	double	   *G = malloc(sizeof(double) * NI * NI),
			   *P = malloc(sizeof(double) * NI * NI);
	double		maxerr = 0;
	int			hits = 0,
				slots = 0,
				diag0 = 1,
				same = 1,
				ceiling = 0;
	float	   *acc = malloc(sizeof(float) * NI);
	char		msg[160];

	ok(MrBlasLoad() == NULL, "OpenBLAS loads");
	MrRngSeed(&rng, 11);
	for (int32_t u = 0; u < NU; u++)
		for (int32_t i = 0; i < NI; i++)
		{
			int			mine = i / (NI / GROUPS) == u % GROUPS;

			if (mine && MrRngUniform(&rng) < 0.5)
				ar[n] = 5;
			else if (!mine && MrRngUniform(&rng) < 0.04)
				ar[n] = 2;
			else
				continue;
			au[n] = u;
			ai[n++] = i;
		}
	r = bench_build(NU, NI, n, au, ai, ar);

	MrDefaultParams("ease", &p);
	ok(p.regularization > 0 && p.binarize == 4 && p.min_item_ratings == 10 &&
	   MrModelFactors("ease", &p) == 0 && MrAlgorithmKnown("ease"),
	   "ease is known, has no factors and its documented defaults");
	p.regularization = 30;
	p.binarize = 4;
	p.min_item_ratings = 1;
	p.threads = 1;
	ok(MrTrainEase(r, &p, &bench_env, f, &w1) == 0 && w1.n_kept == NI, "trains, every movie kept");

	/* independent closed form in double: G = X'X + lambda I, B = -P_ij / P_jj */
	memset(G, 0, sizeof(double) * NI * NI);
	for (int32_t u = 0; u < NU; u++)
		for (int64_t a = r->user_ptr[u]; a < r->user_ptr[u + 1]; a++)
			for (int64_t b = r->user_ptr[u]; b < r->user_ptr[u + 1]; b++)
				if (r->user_vals[a] >= 4 && r->user_vals[b] >= 4)
					G[r->user_items[a] * NI + r->user_items[b]] += 1;
	for (int i = 0; i < NI; i++)
		G[i * NI + i] += p.regularization;
	invert(G, P, NI);
	for (int i = 0; i < NI; i++)
		for (int j = 0; j < NI; j++)
		{
			double		want = i == j ? 0 : -P[i * NI + j] / P[j * NI + j];
			double		e = fabs(w1.B[i * NI + j] - want);

			if (e > maxerr)
				maxerr = e;
			if (i == j && w1.B[i * NI + j] != 0)
				diag0 = 0;
		}
	snprintf(msg, sizeof(msg), "B equals a double-precision solve of the closed form (max error %.2g)", maxerr);
	ok(maxerr < 1e-4, msg);
	ok(diag0, "the diagonal of B is exactly zero");

	/* scores: top 10 unseen movies of x_u B come from the user's group */
	for (int32_t u = 0; u < NU; u++)
	{
		int32_t		pos[NI];
		float		x[NI];
		char		seen[NI] = {0};
		int			m = 0;
		double		err = 0;

		for (int64_t a = r->user_ptr[u]; a < r->user_ptr[u + 1]; a++)
		{
			seen[r->user_items[a]] = 1;
			pos[m] = r->user_items[a];
			x[m++] = MrEaseX(r->user_vals[a], p.binarize);
		}
		MrEaseScoreKept(w1.B, NI, m, pos, x, acc);
		for (int j = 0; j < NI; j++)
		{
			double		s = 0;

			for (int t = 0; t < m; t++)
				s += (double) x[t] * w1.B[pos[t] * NI + j];
			if (fabs(s - acc[j]) > err)
				err = fabs(s - acc[j]);
		}
		if (err > 1e-5)
			same = 0;
		{
			int			unseen = 0;

			for (int j = 0; j < NI; j++)
				unseen += !seen[j] && j / (NI / GROUPS) == u % GROUPS;
			ceiling += unseen < 10 ? unseen : 10;
		}
		for (int t = 0; t < 10; t++)
		{
			int			best = -1;

			for (int j = 0; j < NI; j++)
				if (!seen[j] && (best < 0 || acc[j] > acc[best]))
					best = j;
			if (best < 0)
				break;
			seen[best] = 1;
			slots++;
			hits += best / (NI / GROUPS) == u % GROUPS;
		}
	}
	ok(same, "MrEaseScoreKept (vector loop) equals a plain double sum of the rows of B");
	snprintf(msg, sizeof(msg), "top-10 of unseen movies: %d of the %d group movies that fit (chance 0.17 of %d slots)",
			 hits, ceiling, slots);
	ok(hits >= 0.97 * ceiling, msg);

	p.threads = 2;
	ok(MrTrainEase(r, &p, &bench_env, f, &w2) == 0 &&
	   memcmp(w1.B, w2.B, sizeof(float) * NI * NI) == 0, "1 and 2 threads give bitwise-identical B");

	/* binarize 0: the 2-star ratings count too, and B changes */
	p.binarize = 0;
	ease_free(&w2);
	MrTrainEase(r, &p, &bench_env, f, &w2);
	ok(memcmp(w1.B, w2.B, sizeof(float) * NI * NI) != 0, "binarize 0 counts every rating");

	/* min_item_ratings: the kept list is exactly the movies with enough ratings */
	p.min_item_ratings = 40;
	ease_free(&w2);
	MrTrainEase(r, &p, &bench_env, f, &w2);
	{
		int			okk = w2.n_kept == MrEaseKeptCount(r, 40) && w2.n_kept > 0 && w2.n_kept < NI;

		for (int t = 0; t < w2.n_kept && okk; t++)
			okk = r->item_ptr[w2.kept[t] + 1] - r->item_ptr[w2.kept[t]] >= 40 &&
				(t == 0 || w2.kept[t] > w2.kept[t - 1]);
		snprintf(msg, sizeof(msg), "min_item_ratings 40 keeps the %d movies with >= 40 ratings, ascending", w2.n_kept);
		ok(okk, msg);
	}
	ok(MrKernelWorkspace("ease", r, &p) >= (size_t) w2.n_kept * w2.n_kept * sizeof(float),
	   "workspace estimate covers the n x n matrix");
	/* nothing kept and no regularization: G = 0 is singular, LAPACK says so */
	p.regularization = 0;
	p.min_item_ratings = 1;
	p.binarize = 6;
	ease_free(&w2);
	ok(MrTrainEase(r, &p, &bench_env, f, &w2) > 0, "a singular Gram matrix returns LAPACK's info > 0");
	printf("1..%d\n", n_test);
	ease_free(&w1);
	ease_free(&w2);
	free(au);
	free(ai);
	free(ar);
	free(G);
	free(P);
	free(acc);
	return 0;
}
