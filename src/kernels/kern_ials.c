/*
 * kern_ials.c: implicit-feedback alternating least squares (Hu, Koren and
 * Volinsky 2008), the top-k ranking model.
 *
 * Design.  Every (user, movie) pair is an observation: p_ui = 1 with
 * confidence c_ui = 1 + alpha r_ui if the user rated the movie, p_ui = 0
 * with confidence 1 otherwise.  With binarize = t > 0 a rating r >= t
 * counts as r = 1 and a rating below t is dropped (treated as unseen), so
 * only liked movies are positives.  The loss
 *
 *     sum_{u,i} c_ui (p_ui - x_u . y_i)^2 + reg (|X|^2 + |Y|^2)
 *
 * is minimised by alternating exact-form updates.  With the movies fixed
 * user u solves
 *
 *     (Y'Y + sum_{i in I_u} (c_ui - 1) y_i y_i' + reg I) x_u = sum_{i in I_u} c_ui y_i
 *
 * The Gram matrix Y'Y (+ reg I) is built once per half-iteration with
 * ssyrk (the "Gram trick": the dense part is shared by every user), so a
 * matrix-vector product with the user's system costs k^2 + 2 n_u k instead
 * of |items| k.  The system is solved approximately by cg_steps steps of
 * conjugate gradient warm-started from the previous x_u, as in Takacs et
 * al. (2011): a few steps per sweep suffice because the starting point is
 * already close.  No biases (use_bias is ignored): ranking needs none.
 *
 * Kernels.  Per row, the kept ratings' fixed-side rows are gathered once
 * into an m x k block Yu; every product with the row's system is then
 * two sgemv calls over Yu plus one with the Gram matrix, so the CG steps
 * run at BLAS speed and read the scattered factor rows only once.  A
 * thread's workspace holds the longest row's block (max kept ratings x k
 * floats).
 *
 * Loss.  The movie half-step also yields the full loss at no |U| |I| cost:
 * for movie i, sum_u (x_u . y_i)^2 = y_i' (X'X) y_i, and each rating
 * replaces its term s^2 by c (1 - s)^2.  progress reports that loss
 * divided by the number of kept ratings.
 *
 * Threads and determinism: rows are independent given the fixed side and
 * its Gram matrix, so as in kern_als.c any thread count gives the same
 * bits.  The caller must have loaded BLAS.
 */
#include "kern_util.h"
#include "blas.h"

#include <math.h>
#include <string.h>

/* State shared by the workers of one half-iteration. */
typedef struct IalsHalf
{
	int			k;
	int			cg_steps;
	double		alpha;
	double		binarize;
	const int64_t *ptr;
	const int32_t *idx;
	const float *vals;
	float	   *X;				/* rows solved, x k */
	const float *Y;				/* fixed side, x k */
	const float *gram;			/* k x k, Y'Y + reg I, full */
	const float *gram_fixed;	/* k x k, Y'Y only (for the loss) */
	float	  **ws;				/* per thread: see ials_thread_floats */
	int64_t		max_row;		/* most kept ratings in a row (either side) */
	double	   *row_loss;		/* per row, or NULL */
	double		reg_frequency;	/* extra penalty per kept rating of a row */
	double	   *row_reg;		/* per row: its extra penalty times |x|^2 */
} IalsHalf;

/* Confidence minus one of a rating, or -1 if the rating is dropped. */
static inline float
ials_extra(const IalsHalf *h, float r)
{
	if (h->binarize > 0)
		return r >= h->binarize ? (float) h->alpha : -1.0f;
	return (float) (h->alpha * r);
}

/* out = G v for a full symmetric k x k matrix G. */
static inline void
gram_mul(const float *G, const float *v, float *out, int k)
{
	mr_blas.sgemv(MrRowMajor, MrNoTrans, k, k, 1.0f, G, k, v, 1, 0.0f, out, 1);
}

/*
 * out += Yu' (w o (Yu v)) where Yu is the m x k block of gathered rows and
 * wgt the per-rating weights; s is scratch of m floats.  When plus_one,
 * the weights are (1 + c1) - c1 (Yu v) instead (the right-hand side minus
 * the sparse part of A x, used for the initial residual).
 */
static void
sparse_mul(const float *Yu, int m, int k, const float *c1, const float *v,
		   float *s, float *out, int plus_one)
{
	int			e;

	if (m == 0)
		return;
	mr_blas.sgemv(MrRowMajor, MrNoTrans, m, k, 1.0f, Yu, k, v, 1, 0.0f, s, 1);
	for (e = 0; e < m; e++)
		s[e] = plus_one ? (1.0f + c1[e]) - c1[e] * s[e] : c1[e] * s[e];
	mr_blas.sgemv(MrRowMajor, MrTrans, m, k, 1.0f, Yu, k, s, 1, 1.0f, out, 1);
}

/* Conjugate-gradient solves for rows [begin, end). */
static void
ials_rows(void *arg, int tid, int32_t begin, int32_t end)
{
	IalsHalf   *h = (IalsHalf *) arg;
	int			k = h->k;
	float	   *res = h->ws[tid];
	float	   *dir = res + k;
	float	   *Ad = dir + k;
	float	   *c1 = Ad + k;
	float	   *s = c1 + h->max_row;
	float	   *Yu = s + h->max_row;
	int32_t		a;

	for (a = begin; a < end; a++)
	{
		float	   *x = h->X + (int64_t) a * k;
		int64_t		e;
		int			m = 0,
					step,
					j;
		float		rsold,
					rsnew,
					extra;

		/* gather the kept ratings' rows and confidences */
		for (e = h->ptr[a]; e < h->ptr[a + 1]; e++)
		{
			float		ce = ials_extra(h, h->vals[e]);

			if (ce < 0)
				continue;
			memcpy(Yu + (size_t) m * k, h->Y + (int64_t) h->idx[e] * k, sizeof(float) * k);
			c1[m++] = ce;
		}

		/* no kept ratings: the system is (Y'Y + reg I) x = 0, so x = 0 */
		if (m == 0)
		{
			memset(x, 0, sizeof(float) * k);
			if (h->row_loss != NULL)
				h->row_loss[a] = 0;
			h->row_reg[a] = 0;
			continue;
		}

		/* the row's own extra penalty (frequency-scaled regularization) */
		extra = (float) (h->reg_frequency * m);

		/* res = b - A x */
		gram_mul(h->gram, x, res, k);
		for (j = 0; j < k; j++)
			res[j] = -res[j] - extra * x[j];
		sparse_mul(Yu, m, k, c1, x, s, res, 1);
		memcpy(dir, res, sizeof(float) * k);
		rsold = MrDot(res, res, k);

		for (step = 0; step < h->cg_steps && rsold > 1e-20f; step++)
		{
			float		alpha_cg;

			gram_mul(h->gram, dir, Ad, k);
			for (j = 0; j < k; j++)
				Ad[j] += extra * dir[j];
			sparse_mul(Yu, m, k, c1, dir, s, Ad, 0);
			alpha_cg = rsold / MrDot(dir, Ad, k);
			for (j = 0; j < k; j++)
			{
				x[j] += alpha_cg * dir[j];
				res[j] -= alpha_cg * Ad[j];
			}
			rsnew = MrDot(res, res, k);
			for (j = 0; j < k; j++)
				dir[j] = res[j] + (rsnew / rsold) * dir[j];
			rsold = rsnew;
		}

		h->row_reg[a] = h->reg_frequency * m * MrDot(x, x, k);
		if (h->row_loss != NULL)
		{
			double		loss;

			gram_mul(h->gram_fixed, x, Ad, k);
			loss = MrDot(x, Ad, k);
			if (m > 0)
				mr_blas.sgemv(MrRowMajor, MrNoTrans, m, k, 1.0f, Yu, k, x, 1, 0.0f, s, 1);
			for (j = 0; j < m; j++)
				loss += (1.0 + c1[j]) * (1.0 - s[j]) * (1.0 - s[j]) - (double) s[j] * s[j];
			h->row_loss[a] = loss;
		}
	}
}

/* Most kept ratings in one row of ptr/vals. */
static int64_t
max_kept(const IalsHalf *h, int32_t n, const int64_t *ptr, const float *vals)
{
	int64_t		best = 0;
	int32_t		a;

	for (a = 0; a < n; a++)
	{
		int64_t		c = 0,
					e;

		if (ptr[a + 1] - ptr[a] <= best)
			continue;
		for (e = ptr[a]; e < ptr[a + 1]; e++)
			c += ials_extra(h, vals[e]) >= 0;
		if (c > best)
			best = c;
	}
	return best;
}

/* Gram matrices of Y (n x k): G = Y'Y, Greg = Y'Y + reg I, both full. */
static void
ials_gram(const float *Y, int32_t n, int k, double reg, float *G, float *Greg)
{
	int			a,
				b;

	mr_blas.ssyrk(MrColMajor, MrLower, MrNoTrans, k, n, 1.0f, Y, k, 0.0f, G, k);
	/* column-major lower = row-major upper; mirror to a full matrix */
	for (a = 0; a < k; a++)
		for (b = a + 1; b < k; b++)
			G[(size_t) b * k + a] = G[(size_t) a * k + b];
	for (a = 0; a < k * k; a++)
		Greg[a] = G[a];
	for (a = 0; a < k; a++)
		Greg[(size_t) a * k + a] += (float) reg;
}

/* Floats in one thread's workspace: 3 vectors, 2 per-rating, the rows. */
static size_t
ials_thread_floats(int k, int64_t max_row)
{
	return 3 * (size_t) k + (size_t) max_row * (2 + (size_t) k);
}

/* Longest row of either side (an upper bound on the kept ratings). */
static int64_t
longest_row(const MrRatings *r)
{
	int64_t		best = 0;
	int32_t		a;

	for (a = 0; a < r->n_users; a++)
		if (r->user_ptr[a + 1] - r->user_ptr[a] > best)
			best = r->user_ptr[a + 1] - r->user_ptr[a];
	for (a = 0; a < r->n_items; a++)
		if (r->item_ptr[a + 1] - r->item_ptr[a] > best)
			best = r->item_ptr[a + 1] - r->item_ptr[a];
	return best;
}

/* Workspace bytes of MrTrainIals (bounding kept ratings by all ratings). */
size_t
MrIalsWorkspace(const MrRatings *r, const MrTrainParams *p)
{
	int			threads = MrThreadCount(p->threads);
	int			k = p->factors > 0 ? p->factors : 1;

	return (size_t) threads * (ials_thread_floats(k, longest_row(r)) * sizeof(float) + sizeof(float *))
		+ 2 * (size_t) k * k * sizeof(float) + sizeof(double) * ((size_t) r->n_items + 1)
		+ sizeof(double) * ((size_t) r->n_users + r->n_items + 1);
}

/* Sum of squares of n floats, in double. */
static double
sumsq(const float *v, int64_t n)
{
	double		s = 0;
	int64_t		j;

	for (j = 0; j < n; j++)
		s += (double) v[j] * v[j];
	return s;
}

/* Train implicit ALS; returns the last iteration's loss per kept rating. */
double
MrTrainIals(const MrRatings *r, const MrTrainParams *p,
			const MrKernelEnv *env, MrFactors *out)
{
	int			k = out->k;
	int			threads = MrThreadCount(p->threads);
	int			it,
				t;
	double		loss = 0;
	int64_t		kept = 0,
				x;
	IalsHalf	h;
	MrRng		rng;
	float	   *G,
			   *Greg;
	double	   *loss_buf,
			   *reg_buf;

	out->global_mean = 0;
	for (t = 0; t < r->n_users; t++)
		out->user_bias[t] = 0;
	for (t = 0; t < r->n_items; t++)
		out->item_bias[t] = 0;
	if (k <= 0)
		return 0;
	MrRngSeed(&rng, p->seed);
	MrFillNormal(&rng, out->P, (int64_t) r->n_users * k, p->init_std);
	MrFillNormal(&rng, out->Q, (int64_t) r->n_items * k, p->init_std);

	h.k = k;
	h.cg_steps = p->cg_steps > 0 ? p->cg_steps : 1;
	h.alpha = p->alpha;
	h.binarize = p->binarize;
	h.reg_frequency = p->reg_frequency;
	for (x = 0; x < r->nnz; x++)
		if (ials_extra(&h, r->user_vals[x]) >= 0)
			kept++;
	h.max_row = max_kept(&h, r->n_users, r->user_ptr, r->user_vals);
	x = max_kept(&h, r->n_items, r->item_ptr, r->item_vals);
	if (x > h.max_row)
		h.max_row = x;
	h.ws = env->alloc(env->arg, sizeof(float *) * threads);
	for (t = 0; t < threads; t++)
		h.ws[t] = env->alloc(env->arg, sizeof(float) * ials_thread_floats(k, h.max_row));
	G = env->alloc(env->arg, sizeof(float) * k * k);
	Greg = env->alloc(env->arg, sizeof(float) * k * k);
	loss_buf = env->alloc(env->arg, sizeof(double) * (r->n_items > 0 ? r->n_items : 1));
	reg_buf = env->alloc(env->arg, sizeof(double) * ((size_t) r->n_users + r->n_items + 1));
	h.gram = Greg;
	h.gram_fixed = G;

	MrBlasSetThreads(1);
	for (it = 0; it < p->iterations; it++)
	{
		double		sum = 0;
		int32_t		i;

		/* users, with the movies fixed */
		env->check(env->arg);
		ials_gram(out->Q, r->n_items, k, p->regularization, G, Greg);
		h.ptr = r->user_ptr;
		h.idx = r->user_items;
		h.vals = r->user_vals;
		h.X = out->P;
		h.Y = out->Q;
		h.row_loss = NULL;
		h.row_reg = reg_buf;
		MrParallelRows(r->n_users, threads, ials_rows, &h, env);

		/* movies, with the users fixed; the loss comes along */
		ials_gram(out->P, r->n_users, k, p->regularization, G, Greg);
		h.ptr = r->item_ptr;
		h.idx = r->item_users;
		h.vals = r->item_vals;
		h.X = out->Q;
		h.Y = out->P;
		h.row_loss = loss_buf;
		h.row_reg = reg_buf + r->n_users;
		MrParallelRows(r->n_items, threads, ials_rows, &h, env);

		for (i = 0; i < r->n_items; i++)
			sum += loss_buf[i];
		for (i = 0; i < r->n_users + r->n_items; i++)
			sum += reg_buf[i];
		sum += p->regularization * (sumsq(out->P, (int64_t) r->n_users * k) +
									sumsq(out->Q, (int64_t) r->n_items * k));
		loss = sum / (double) (kept > 0 ? kept : 1);
		env->progress(env->arg, "iteration", it + 1, p->iterations, loss);
	}
	for (t = 0; t < threads; t++)
		env->free(env->arg, h.ws[t]);
	env->free(env->arg, h.ws);
	env->free(env->arg, G);
	env->free(env->arg, Greg);
	env->free(env->arg, loss_buf);
	env->free(env->arg, reg_buf);
	return loss;
}
