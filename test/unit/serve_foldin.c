/*
 * Unit test of the fold-in kernel (src/kernels/serve_foldin.c): the solved user
 * factors satisfy the normal equations of one ALS user step (explicit
 * with bias and frequency-weighted regularization, and implicit with
 * confidence weights), recover planted factors from noiseless ratings,
 * and the "because you rated" contributions sum to the user part of
 * the score.  Prints TAP.
 */
// sources: src/kernels/serve_foldin.c
#include "serve_kernels.h"
#include "blas.h"

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

/* Uniform in [-1, 1). */
static float
urand(void)
{
	return (float) rand() / RAND_MAX * 2.0f - 1.0f;
}

#define NI 300
#define K 8

int
main(void)
{
	static float Q[NI * K],
				bi[NI],
				gram[K * K];
	float		p_true[K],
				p[K],
				r[40],
				chol[(K + 1) * (K + 1)],
				contrib[40];
	int32_t		idx[40];
	float	   *work;
	float		bu,
				mu = 3.5f;
	MrFoldInSpec s;
	int			i,
				j,
				f,
				n = 40;
	double		maxres,
				sum,
				want;

	if (MrBlasLoad() != NULL)
	{
		printf("Bail out! no OpenBLAS\n");
		return 1;
	}
	srand(7);
	for (i = 0; i < NI * K; i++)
		Q[i] = urand();
	for (i = 0; i < NI; i++)
		bi[i] = 0.3f * urand();
	for (f = 0; f < K; f++)
		p_true[f] = urand();
	for (j = 0; j < n; j++)
	{
		idx[j] = (j * 7 + 3) % NI;
		r[j] = mu + bi[idx[j]] + 0.25f;
		for (f = 0; f < K; f++)
			r[j] += Q[idx[j] * K + f] * p_true[f];
	}

	memset(&s, 0, sizeof(s));
	s.k = K;
	s.use_bias = 1;
	s.reg_exponent = 0.4f;
	s.reg = 1e-6f;
	s.reg_bias = 1e-6f;
	s.global_mean = mu;
	s.Q = Q;
	s.item_bias = bi;
	work = malloc(sizeof(float) * MrFoldInWorkFloats(&s, n));

	ok(MrFoldInDim(&s) == K + 1, "explicit with bias solves k + 1 unknowns");
	ok(MrFoldInSolve(&s, n, idx, r, work, chol, p, &bu) == 0, "explicit solve succeeds");
	maxres = fabs(bu - 0.25);
	for (f = 0; f < K; f++)
		maxres = fmax(maxres, fabs(p[f] - p_true[f]));
	ok(maxres < 1e-3, "noiseless ratings recover the planted factors and bias");

	/* strong regularization: check the normal equations in double */
	s.reg = 0.5f;
	s.reg_bias = 2.0f;
	ok(MrFoldInSolve(&s, n, idx, r, work, chol, p, &bu) == 0, "regularized solve succeeds");
	maxres = 0;
	for (i = 0; i <= K; i++)
	{
		double		lhs = 0,
					rhs = 0;

		for (j = 0; j < n; j++)
		{
			const float *q = Q + idx[j] * K;
			double		xi = (i < K) ? q[i] : 1.0;
			double		pred = bu;

			for (f = 0; f < K; f++)
				pred += q[f] * p[f];
			lhs += xi * pred;
			rhs += xi * (r[j] - mu - bi[idx[j]]);
		}
		lhs += (i < K ? (s.reg * pow(n, 0.4) + 1e-6) * p[i] : (s.reg_bias + 1e-6) * bu);
		maxres = fmax(maxres, fabs(lhs - rhs));
	}
	ok(maxres < 1e-3, "explicit normal equations hold (factor reg times n^0.4, constant bias reg)");

	ok(MrFoldInWeights(&s, n, idx, r, chol, 11, work, contrib) == 0, "explicit weights succeed");
	sum = 0;
	for (j = 0; j < n; j++)
		sum += contrib[j];
	want = bu;
	for (f = 0; f < K; f++)
		want += Q[11 * K + f] * p[f];
	ok(fabs(sum - want) < 1e-4, "explicit contributions sum to p.q + b_u");

	/* implicit */
	for (i = 0; i < K; i++)
		for (j = 0; j < K; j++)
		{
			double		g = 0;
			int			t;

			for (t = 0; t < NI; t++)
				g += Q[t * K + i] * Q[t * K + j];
			gram[i * K + j] = (float) g;
		}
	memset(&s, 0, sizeof(s));
	s.k = K;
	s.implicit = 1;
	s.reg = 3.0f;
	s.alpha = 2.0f;
	s.binarize = 4.0f;
	s.Q = Q;
	s.gram = gram;
	for (j = 0; j < n; j++)
		r[j] = (float) (1 + j % 5);
	ok(MrFoldInDim(&s) == K, "implicit solves k unknowns");
	ok(MrFoldInSolve(&s, n, idx, r, work, chol, p, &bu) == 0 && bu == 0.0f, "implicit solve succeeds");
	maxres = 0;
	for (i = 0; i < K; i++)
	{
		/* (Q^T C Q + reg I) p = Q^T C pref over all items */
		double		lhs = s.reg * p[i],
					rhs = 0;
		int			t;

		for (t = 0; t < NI; t++)
		{
			double		c = 1,
						pref = 0,
						dot = 0;

			for (j = 0; j < n; j++)
				if (idx[j] == t && r[j] >= 4.0f)
				{
					c = 1 + s.alpha;
					pref = 1;
				}
			for (f = 0; f < K; f++)
				dot += Q[t * K + f] * p[f];
			lhs += c * Q[t * K + i] * dot;
			rhs += c * pref * Q[t * K + i];
		}
		maxres = fmax(maxres, fabs(lhs - rhs));
	}
	ok(maxres < 1e-2, "implicit normal equations hold (binarized, confidence 1 + alpha)");
	ok(MrFoldInWeights(&s, n, idx, r, chol, 5, work, contrib) == 0, "implicit weights succeed");
	sum = 0;
	for (j = 0; j < n; j++)
		sum += contrib[j];
	want = 0;
	for (f = 0; f < K; f++)
		want += Q[5 * K + f] * p[f];
	ok(fabs(sum - want) < 1e-4, "implicit contributions sum to p.q");

	printf("1..%d\n", n_test);
	free(work);
	return 0;
}
