/*
 * kern_ease.c: EASE, "Embarrassingly Shallow Autoencoders for Sparse Data"
 * (Steck, WWW 2019): a closed-form item-item model for top-k ranking.
 *
 * Design.  X is the users x movies matrix of implicit feedback: x_ui = 1
 * when user u rated movie i (with binarize = t > 0: rated it >= t; lower
 * ratings are dropped, as in kern_ials.c).  EASE learns B minimising
 *
 *     |X - X B|^2 + lambda |B|^2   subject to diag(B) = 0,
 *
 * whose solution is closed form:
 *
 *     P = (X'X + lambda I)^-1,   B = I - P diag(1 / diag P),
 *
 * i.e. B_ij = -P_ij / P_jj for i != j and B_jj = 0.  The score of movie j
 * for user u is (x_u B)_j = sum_i x_ui B_ij, computed from the user's
 * ratings at the time of the call: a new rating changes the scores with
 * no solve at all.
 *
 * Steps, all over the "kept" movies (at least min_item_ratings ratings;
 * the others are not in B, the glue never recommends them):
 *   1. Gram matrix G = X'X + lambda I, accumulated user by user into the
 *      row-major lower triangle (sum over users of n_u^2 additions of 1.0,
 *      exact in float below 2^24 co-ratings);
 *   2. LAPACK spotrf + spotri on G in place: row-major lower is
 *      column-major upper, so both are called with uplo 'U'; the inverse
 *      comes back in the same triangle and is mirrored to a full matrix;
 *   3. B = -P diag(1/diag P) in place, diagonal set to 0.
 * The cost is O(sum_u n_u^2) for 1 and n^3 flops for 2 (n = kept movies);
 * memory is one n x n float matrix (the Gram matrix becomes B in place),
 * which the glue checks against movierec.max_train_memory before
 * anything is allocated.  LAPACK runs on one OpenBLAS thread whatever
 * `threads` is: OpenBLAS's threaded spotrf/spotri do not give the same
 * bits for 1 and 2 threads (measured: 235 of 1682 rows of B identical on
 * ml-100k), and every movierec kernel gives the same bits whatever
 * `threads` is.  At the default catalogue sizes this costs little (a
 * 2269 x 2269 inverse is about 1.2e10 flops).  Interrupts are checked between
 * the steps; a single LAPACK call cannot be interrupted (measured, float,
 * one thread, loaded machine: spotrf + spotri of 2269 x 2269, the default
 * ml-latest-small matrix, 0.17 + 0.29 s; with 2 threads and less load the
 * 9724 x 9724 whole catalogue took 1.0 + 2.0 s).
 *
 * Float is enough: the eigenvalues of the Gram matrix lie in [lambda,
 * lambda + |X|^2] with |X|^2 <= max_u n_u * max_i n_i, so with lambda in
 * the thousands (the default is 30000) it is well conditioned; the unit
 * test compares B with a double-precision solve.
 */
#include "kern_ease.h"
#include "kern_util.h"
#include "blas.h"

#include <math.h>
#include <string.h>

/* Copy the row-major lower triangle of the n x n matrix A to its upper one. */
static void
mirror_lower(float *A, size_t n)
{
	const size_t bs = 64;

	for (size_t i0 = 0; i0 < n; i0 += bs)
		for (size_t j0 = 0; j0 <= i0; j0 += bs)
		{
			size_t		i1 = i0 + bs < n ? i0 + bs : n;
			size_t		j1 = j0 + bs < n ? j0 + bs : n;

			for (size_t i = i0; i < i1; i++)
				for (size_t j = j0; j < j1 && j < i; j++)
					A[j * n + i] = A[i * n + j];
		}
}

/* See kern_ease.h. */
int
MrTrainEase(const MrRatings *r, const MrTrainParams *p,
			const MrKernelEnv *env, MrFactors *out, MrEaseWeights *w)
{
	int32_t		n_kept = MrEaseKeptCount(r, p->min_item_ratings);
	size_t		n = (size_t) n_kept;
	int32_t    *pos_of;
	int32_t    *row;
	float	   *G,
			   *inv_diag;
	int			info = 0,
				ni = n_kept;
	float		lambda = (float) p->regularization;

	env->check(env->arg);
	memset(w, 0, sizeof(*w));
	w->n_items = r->n_items;
	w->n_kept = n_kept;
	out->global_mean = 0;
	for (int32_t u = 0; u < out->n_users; u++)
		out->user_bias[u] = 0;
	for (int32_t i = 0; i < out->n_items; i++)
		out->item_bias[i] = 0;

	w->kept = env->alloc(env->arg, sizeof(int32_t) * (n + 1));
	pos_of = env->alloc(env->arg, sizeof(int32_t) * ((size_t) r->n_items + 1));
	row = env->alloc(env->arg, sizeof(int32_t) * (n + 1));
	inv_diag = env->alloc(env->arg, sizeof(float) * (n + 1));
	for (int32_t i = 0, t = 0; i < r->n_items; i++)
	{
		if (r->item_ptr[i + 1] - r->item_ptr[i] >= (int64_t) p->min_item_ratings)
		{
			w->kept[t] = i;
			pos_of[i] = t++;
		}
		else
			pos_of[i] = -1;
	}
	if (n_kept == 0)
	{
		env->progress(env->arg, "iteration", 1, 1, 0);
		env->free(env->arg, pos_of);
		env->free(env->arg, row);
		env->free(env->arg, inv_diag);
		return 0;
	}
	G = env->alloc(env->arg, sizeof(float) * n * n);
	w->B = G;

	/* 1. G = X'X + lambda I, row-major lower triangle */
	for (int32_t u = 0; u < r->n_users; u++)
	{
		int32_t		m = 0;

		if ((u & 1023) == 0)
			env->check(env->arg);
		for (int64_t x = r->user_ptr[u]; x < r->user_ptr[u + 1]; x++)
		{
			int32_t		t = pos_of[r->user_items[x]];

			if (t >= 0 && MrEaseX(r->user_vals[x], p->binarize) != 0)
				row[m++] = t;	/* ascending: user_items are */
		}
		for (int32_t a = 0; a < m; a++)
		{
			float	   *g = G + (size_t) row[a] * n;

			for (int32_t b = 0; b <= a; b++)
				g[row[b]] += 1.0f;
		}
	}
	for (size_t i = 0; i < n; i++)
		G[i * n + i] += lambda;
	env->progress(env->arg, "gram", 1, 3, NAN);

	/* 2. P = G^-1 (column-major upper = row-major lower) */
	MrBlasSetThreads(1);		/* bitwise reproducible: see the file comment */
	mr_blas.spotrf("U", &ni, G, &ni, &info);
	if (info == 0)
		mr_blas.spotri("U", &ni, G, &ni, &info);
	if (info != 0)
	{
		env->free(env->arg, pos_of);
		env->free(env->arg, row);
		env->free(env->arg, inv_diag);
		return info;
	}
	env->progress(env->arg, "inverse", 2, 3, NAN);
	mirror_lower(G, n);

	/* 3. B = -P diag(1 / diag P), zero diagonal */
	for (size_t j = 0; j < n; j++)
		inv_diag[j] = 1.0f / G[j * n + j];
	for (size_t i = 0; i < n; i++)
	{
		float	   *b = G + i * n;

		if ((i & 1023) == 0)
			env->check(env->arg);
		for (size_t j = 0; j < n; j++)
			b[j] = -b[j] * inv_diag[j];
		b[i] = 0.0f;
	}
	env->progress(env->arg, "iteration", 3, 3, NAN);
	env->free(env->arg, pos_of);
	env->free(env->arg, row);
	env->free(env->arg, inv_diag);
	return 0;
}

/* Eight floats as one GCC/clang generic vector. */
typedef float MrEaseVec __attribute__((vector_size(32)));

/* See kern_ease.h. */
void
MrEaseScoreKept(const float *B, int32_t n_kept, int32_t n,
				const int32_t *pos, const float *x, float *acc)
{
	size_t		nk = (size_t) n_kept;

	for (size_t j = 0; j < nk; j++)
		acc[j] = 0.0f;
	for (int32_t t = 0; t < n; t++)
	{
		const float *restrict b = B + (size_t) pos[t] * nk;
		float	   *restrict a = acc;
		float		xv = x[t];

		size_t		j = 0;

		if (xv == 0.0f)
			continue;
		/*
		 * 8 lanes at a time with GCC/clang generic vectors (SSE2 on any
		 * x86-64, NEON on aarch64; no run-time dispatch).  Each lane does
		 * the multiply and the add of the scalar tail (the build has no
		 * -mfma), so every path rounds the same way.
		 */
		for (; j + 8 <= nk; j += 8)
		{
			MrEaseVec	va,
						vb;

			memcpy(&va, a + j, sizeof(va));
			memcpy(&vb, b + j, sizeof(vb));
			va += xv * vb;
			memcpy(a + j, &va, sizeof(va));
		}
		for (; j < nk; j++)
			a[j] += xv * b[j];
	}
}
