/*
 * libFuzzer target: the rating arrays of recommend_for_ratings, through
 * the fold-in kernel (src/kernels/serve_foldin.c).
 *
 * The input chooses a model shape (factors, explicit with or without a
 * bias, or implicit), the regularization, and a list of (movie, rating)
 * pairs, duplicates included, with every rating on the half-star scale
 * that the SQL layer admits.  Checked beyond "no crash": a solve that
 * succeeds gives finite factors and bias, a failed one gives zeros, and
 * the "because you rated" contributions sum to the user part of the score.
 */
// sources: src/kernels/serve_foldin.c
#include "serve_kernels.h"
#include "blas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NI 64
#define KMAX 16

static float Q[NI * KMAX],
			item_bias[NI],
			gram[KMAX * KMAX];

/* Abort unless cond holds (libFuzzer reports it as a crash). */
static void
check(int cond)
{
	if (!cond)
		abort();
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input: a model shape and a list of ratings. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	loaded = 0;
	MrFoldInSpec s;
	int32_t		n,
				idx[256];
	float		r[256],
				p[KMAX],
				bias,
				contrib[256];
	float	   *work,
			   *chol;
	int			d,
				rc;
	unsigned	seed;

	if (size < 4)
		return 0;
	if (!loaded)
	{
		check(MrBlasLoad() == NULL);
		loaded = 1;
	}
	memset(&s, 0, sizeof(s));
	s.k = data[0] % (KMAX + 1);
	s.implicit = (data[1] & 3) == 3 && s.k > 0;
	s.use_bias = !s.implicit && (data[1] & 1);
	s.reg = 0.01f + (data[2] % 8) * 0.05f;	/* train() admits reg > 0 only */
	s.reg_bias = (data[2] >> 3) * 0.5f;
	s.reg_exponent = (data[3] & 1) ? 1.0f : 0.0f;
	s.alpha = 1.0f + (data[3] >> 1);
	s.binarize = (data[3] & 2) ? 3.5f : 0.0f;
	s.global_mean = 3.5f;
	seed = data[3];
	for (int i = 0; i < NI * KMAX; i++)
	{
		seed = seed * 1103515245u + 12345u;
		Q[i] = (float) ((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
	}
	for (int i = 0; i < NI; i++)
		item_bias[i] = (float) (i % 7) * 0.1f - 0.3f;
	if (s.k > 0)
		for (int a = 0; a < s.k; a++)
			for (int b = 0; b < s.k; b++)
			{
				float		g = 0;

				for (int i = 0; i < NI; i++)
					g += Q[i * s.k + a] * Q[i * s.k + b];
				gram[a * s.k + b] = g;
			}
	s.Q = Q;
	s.item_bias = item_bias;
	s.gram = gram;

	n = 0;
	for (size_t i = 4; i + 1 < size && n < 256; i += 2)
	{
		idx[n] = data[i] % NI;
		r[n] = 0.5f + (float) (data[i + 1] % 10) * 0.5f;
		n++;
	}
	d = MrFoldInDim(&s);
	work = malloc(sizeof(float) * (MrFoldInWorkFloats(&s, n) + 1));
	chol = malloc(sizeof(float) * (d * d + 1));
	rc = MrFoldInSolve(&s, n, idx, r, work, chol, p, &bias);
	check(rc == 0 || rc == -1);
	for (int j = 0; j < s.k; j++)
		check(rc == 0 ? isfinite(p[j]) : p[j] == 0.0f);
	check(rc == 0 ? isfinite(bias) : bias == 0.0f);
	if (rc == 0 && n > 0 && s.k > 0)
	{
		int32_t		target = data[size - 1] % NI;
		double		sum = 0,
					want = bias,
					scale = fabs(bias);

		if (MrFoldInWeights(&s, n, idx, r, chol, target, work, contrib) == 0)
		{
			for (int j = 0; j < s.k; j++)
			{
				want += (double) p[j] * Q[target * s.k + j];
				scale += fabs((double) p[j] * Q[target * s.k + j]);
			}
			for (int i = 0; i < n; i++)
			{
				check(isfinite(contrib[i]));
				sum += contrib[i];
				scale += fabs(contrib[i]);
			}
			/*
			 * Both sides come from the same float Cholesky factor in a
			 * different order: their gap grows with the system's
			 * condition number (a movie rated 40 times with reg 0.01
			 * gives 0.2%), so the bound is 1% of the magnitudes.
			 */
			check(fabs(sum - want) <= 1e-2 * (1.0 + scale));
		}
	}
	free(work);
	free(chol);
	return 0;
}
