/*
 * serve_foldin.c: real-time fold-in of one user against fixed item
 * factors, and the "because you rated" decomposition of a score.
 *
 * Design.  With the item factors Q fixed, the user's factors are the
 * solution of one ALS user step, a d x d linear system:
 *
 *   explicit models (als, svd, baseline):  x_j = [q_j, 1] (the 1 only when
 *   the user bias is solved), y_j = r_j - mu - b_j,
 *       (X^T X + diag(lambda_f .. lambda_f, lambda_b)) [p; b_u] = X^T y
 *   with lambda_f = reg n_u^e (frequency-weighted as in kern_als.c, whose
 *   exponent e the model spec carries; e = 0 for svd and baseline) and a
 *   constant lambda_b = reg_user_bias, plus the kernel's 1e-6 floor.
 *
 *   implicit models (ials, Hu-Koren-Volinsky):  c_j = 1 + alpha r_j (r_j = 1
 *   when binarized), preference 1 for rated items and 0 elsewhere,
 *       (Q^T Q + sum_j (c_j - 1) q_j q_j^T + lambda I) p = sum_j c_j q_j
 *   with Q^T Q (the Gram matrix over all items) computed once per cached
 *   model.
 *
 * The Gram of the rated rows is built with ssyrk on gathered rows, the
 * right-hand side with sgemv, and the system is solved by Cholesky
 * (spotrf/spotrs).  The same factor gives explanations: the user part of
 * the score of item t is x_t . A^{-1} X^T w = sum_j w_j (x_j . z) with
 * z = A^{-1} x_t, so rated item j contributes w_j (x_j . z), where w_j is
 * y_j (explicit) or c_j (implicit).
 *
 * Plain C over arrays with mr_blas; no PostgreSQL calls (unit tested in
 * test/unit/serve_foldin.c).
 */
#include "serve_kernels.h"

#include <math.h>
#include <string.h>

#include "blas.h"

/* Dimension of the user system: k, plus one when the bias is solved. */
int
MrFoldInDim(const MrFoldInSpec *s)
{
	return s->k + ((!s->implicit && s->use_bias) ? 1 : 0);
}

/* Scratch floats MrFoldInSolve and MrFoldInWeights need for n ratings. */
size_t
MrFoldInWorkFloats(const MrFoldInSpec *s, int32_t n)
{
	size_t		d = (size_t) MrFoldInDim(s);

	return (size_t) n * d + (size_t) n + 2 * d + 1;
}

/*
 * Gather the rows x_j (into X, n x d) and weights w_j (into w).  Implicit
 * rows are scaled by sqrt(c_j - 1) for the Gram update, and w_j = c_j;
 * a rating dropped by binarization gets a zero row and w_j = 0.
 */
static void
gather(const MrFoldInSpec *s, int32_t n, const int32_t *idx, const float *r,
	   float *X, float *w)
{
	int			d = MrFoldInDim(s);
	int			k = s->k;
	int32_t		j;

	for (j = 0; j < n; j++)
	{
		const float *q = s->Q ? s->Q + (size_t) idx[j] * k : NULL;
		float	   *x = X + (size_t) j * d;

		if (s->implicit)
		{
			float		rv = r[j];
			float		c,
						sc;
			int			f;

			if (s->binarize > 0)
				rv = (rv >= s->binarize) ? 1.0f : 0.0f;
			if (rv == 0.0f)
			{
				memset(x, 0, sizeof(float) * d);
				w[j] = 0.0f;
				continue;
			}
			c = 1.0f + s->alpha * rv;
			sc = sqrtf(c - 1.0f);
			for (f = 0; f < k; f++)
				x[f] = q[f] * sc;
			w[j] = c;
		}
		else
		{
			if (k > 0)
				memcpy(x, q, sizeof(float) * k);
			if (s->use_bias)
				x[k] = 1.0f;
			w[j] = r[j] - s->global_mean - (s->item_bias ? s->item_bias[idx[j]] : 0.0f);
		}
	}
}

/* Solve one user step from n ratings against fixed item factors. */
int
MrFoldInSolve(const MrFoldInSpec *s, int32_t n, const int32_t *idx,
			  const float *r, float *work, float *chol,
			  float *p, float *bias)
{
	int			d = MrFoldInDim(s);
	int			k = s->k;
	float	   *X = work;
	float	   *w = X + (size_t) n * d;
	float	   *rhs = w + n;
	int			i,
				j,
				info = 0,
				one = 1;

	if (p != NULL && k > 0)
		memset(p, 0, sizeof(float) * k);
	*bias = 0.0f;
	if (d == 0 || n <= 0)
		return -1;

	gather(s, n, idx, r, X, w);

	/* A = X^T X (+ Gram for implicit), lower triangle (row-major) */
	if (s->implicit)
		memcpy(chol, s->gram, sizeof(float) * d * d);
	mr_blas.ssyrk(MrRowMajor, MrLower, MrTrans, d, n, 1.0f, X, d,
				  s->implicit ? 1.0f : 0.0f, chol, d);
	for (i = 0; i < d; i++)
		for (j = i + 1; j < d; j++)
			chol[(size_t) i * d + j] = chol[(size_t) j * d + i];

	/* regularization */
	if (s->implicit)
	{
		for (i = 0; i < d; i++)
			chol[(size_t) i * d + i] += s->reg;
	}
	else
	{
		float		lf = (float) (s->reg * pow((double) n, s->reg_exponent)) + 1e-6f;

		for (i = 0; i < k; i++)
			chol[(size_t) i * d + i] += lf;
		if (s->use_bias)
			chol[(size_t) k * d + k] += s->reg_bias + 1e-6f;
	}

	/* right-hand side */
	if (s->implicit)
	{
		/* sum_j c_j q_j over the kept ratings */
		memset(rhs, 0, sizeof(float) * d);
		for (j = 0; j < n; j++)
			if (w[j] > 0.0f)
				mr_blas.saxpy(k, w[j], s->Q + (size_t) idx[j] * k, 1, rhs, 1);
	}
	else
		mr_blas.sgemv(MrRowMajor, MrTrans, n, d, 1.0f, X, d, w, 1, 0.0f, rhs, 1);

	mr_blas.spotrf("L", &d, chol, &d, &info);
	if (info != 0)
		return -1;
	mr_blas.spotrs("L", &d, &one, chol, &d, rhs, &d, &info);
	if (info != 0)
		return -1;
	if (k > 0 && p != NULL)
		memcpy(p, rhs, sizeof(float) * k);
	if (d > k)
		*bias = rhs[k];
	return 0;
}

/* Per-rated-item contributions to one target item's score ("because you rated"). */
int
MrFoldInWeights(const MrFoldInSpec *s, int32_t n, const int32_t *idx,
				const float *r, const float *chol, int32_t target,
				float *work, float *contrib)
{
	int			d = MrFoldInDim(s);
	int			k = s->k;
	float	   *X = work;
	float	   *w = X + (size_t) n * d;
	float	   *z = w + n;
	int			info = 0,
				one = 1;
	int32_t		j;

	if (d == 0 || n <= 0)
		return -1;
	gather(s, n, idx, r, X, w);

	/* z = A^{-1} x_target */
	if (k > 0)
		memcpy(z, s->Q + (size_t) target * k, sizeof(float) * k);
	if (d > k)
		z[k] = 1.0f;
	mr_blas.spotrs("L", &d, &one, (float *) chol, &d, z, &d, &info);
	if (info != 0)
		return -1;

	for (j = 0; j < n; j++)
	{
		if (s->implicit)
		{
			/* unscaled row: q_j */
			contrib[j] = (w[j] > 0.0f && k > 0)
				? w[j] * mr_blas.sdot(k, s->Q + (size_t) idx[j] * k, 1, z, 1)
				: 0.0f;
		}
		else
			contrib[j] = w[j] * mr_blas.sdot(d, X + (size_t) j * d, 1, z, 1);
	}
	return 0;
}
