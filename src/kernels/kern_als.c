/*
 * kern_als.c: explicit alternating least squares with biases.
 *
 * Design.  The model is r_ui ~ mu + b_u + b_i + p_u . q_i with mu the
 * global mean.  The biases ride along as an extra coordinate: with the
 * movie side fixed, user u's unknowns w_u = [p_u, b_u] are fitted against
 * features z_i = [q_i, 1] and targets t_ui = r_ui - mu - b_i, which is a
 * ridge regression of dimension d = k + 1:
 *
 *     (Z_u' Z_u + diag(lambda n_u^nu, ..., lambda n_u^nu, beta_u)) w_u = Z_u' t_u
 *
 * lambda n_u^nu is a frequency-weighted factor penalty: Zhou et al. (2008)
 * use nu = 1; on MovieLens nu = 0.4 is clearly better (ml-100k hash split
 * RMSE 0.9036 against a plateau at 0.907 for nu = 1, doc/algorithms.md), so
 * heavy raters are held back less than in proportion to their count.
 * lambda is params->regularization; beta_u = params->reg_user_bias
 * (constant, as in the baseline model).  The movie half-step is the mirror image with [p_u, 1],
 * r_ui - mu - b_u and reg_item_bias.  Without use_bias, d = k and the bias
 * column disappears.
 *
 * Kernels.  For a row with at least d ratings the feature rows are
 * gathered (with prefetch: they are scattered) into chunks of MR_ALS_CHUNK
 * rows (row-major, so a column-major d x n block) and accumulated into the
 * normal matrix with ssyrk and into the right-hand side with sgemv; the
 * system is solved by LAPACK Cholesky (sposv).  A row with n < d ratings
 * (most movies) is solved exactly through the n x n dual system instead
 * (als_solve_dual).  The cost per half-iteration is about nnz d^2 for the
 * products plus (long rows) d^3/3 for the factorizations.  Memory per
 * thread is one chunk plus one d x d matrix, whatever the row lengths.
 *
 * Threads and determinism.  Rows are split among params->threads pthreads
 * (kern_util.c).  Each row is solved from read-only inputs into its own
 * output, so the result is bitwise identical for any thread count.
 * OpenBLAS is set to one thread for the duration (the parallelism is
 * ours; it is left at one thread).  The training RMSE reported through progress comes out of the
 * movie half-step's solves at O(d) per movie (see als_solve_primal and
 * als_solve_dual), per movie, summed in movie order.
 *
 * The caller must have loaded BLAS (MrBlasLoad() returned NULL).
 */
#include "kern_util.h"
#include "blas.h"

#include <math.h>

#define MR_ALS_CHUNK 256

/* Ratings ahead whose factor row als_gather prefetches. */
#define MR_ALS_PREFETCH 8

/* Exponent nu of the frequency weighting lambda n^nu (see the design notes). */
#define MR_ALS_REG_EXPONENT 0.4

/* State shared by the workers of one half-iteration. */
typedef struct AlsHalf
{
	int			k;
	int			d;				/* k + 1 with biases, else k */
	int			use_bias;
	float		mu;
	double		reg;			/* lambda, times n^MR_ALS_REG_EXPONENT per row */
	double		reg_bias;
	/* rows being solved */
	const int64_t *ptr;
	const int32_t *idx;
	const float *vals;
	float	   *X;				/* rows x k, written */
	float	   *xbias;			/* rows, written */
	/* fixed side */
	const float *Y;
	const float *ybias;
	/* per-thread workspaces: chunk, targets, matrix, solution, rhs copy */
	float	  **ws;
	double	   *row_sse;		/* per row, or NULL */
} AlsHalf;

/* Bytes of one thread's workspace for dimension d. */
static size_t
als_thread_floats(int d)
{
	return (size_t) MR_ALS_CHUNK * d + MR_ALS_CHUNK + (size_t) d * d + 2 * d;
}

/*
 * Gather the feature rows z of ratings [lo, lo + n) into G (n x d,
 * row-major) and their targets into t.  With scale != NULL each column j
 * is multiplied by scale[j].  Returns the sum of the squared targets.
 */
static double
als_gather(const AlsHalf *h, float *G, float *t, int64_t lo, int n,
		   const float *scale)
{
	int			k = h->k,
				d = h->d,
				c,
				j;
	double		tt = 0;

	for (c = 0; c < n; c++)
	{
		int32_t		o = h->idx[lo + c];
		float	   *g = G + (size_t) c * d;
		const float *y = k > 0 ? h->Y + (int64_t) o * k : NULL;

		/* the rows are scattered: ask for one MR_ALS_PREFETCH ratings ahead */
		if (k > 0 && c + MR_ALS_PREFETCH < n)
		{
			const char *ahead = (const char *) (h->Y + (int64_t) h->idx[lo + c + MR_ALS_PREFETCH] * k);
			int			off;

			for (off = 0; off < k * (int) sizeof(float); off += 64)
				__builtin_prefetch(ahead + off);
		}

		if (scale == NULL)
			for (j = 0; j < k; j++)
				g[j] = y[j];
		else
			for (j = 0; j < k; j++)
				g[j] = y[j] * scale[j];
		if (h->use_bias)
			g[k] = scale == NULL ? 1.0f : scale[k];
		t[c] = h->vals[lo + c] - h->mu - (h->use_bias ? h->ybias[o] : 0.0f);
		tt += (double) t[c] * t[c];
	}
	return tt;
}

/*
 * Primal solve of one row: accumulate A = Z'Z + D and b = Z't over chunks
 * of gathered rows with ssyrk/sgemv, then Cholesky (sposv).  Solution in b.
 * D is diag for the factors and reg_bias for the bias, plus a 1e-6 floor
 * that keeps the system definite when regularization is 0.
 *
 * Returns the row's squared training error under the new solution w,
 * without touching the ratings again: since (Z'Z + D) w = Z't,
 * |t - Z w|^2 = t't - w'Z't - w'D w.
 */
static double
als_solve_primal(const AlsHalf *h, float *G, float *t, float *A, float *b,
				 float *rhs, int64_t lo, int64_t hi, float diag)
{
	int			k = h->k,
				d = h->d,
				one = 1,
				info = 0,
				j;
	float		beta = 0.0f;
	int64_t		x;
	double		tt = 0,
				sse;

	for (x = lo; x < hi; x += MR_ALS_CHUNK)
	{
		int			n = (int) (hi - x < MR_ALS_CHUNK ? hi - x : MR_ALS_CHUNK);

		tt += als_gather(h, G, t, x, n, NULL);
		mr_blas.ssyrk(MrColMajor, MrLower, MrNoTrans, d, n, 1.0f, G, d, beta, A, d);
		mr_blas.sgemv(MrColMajor, MrNoTrans, d, n, 1.0f, G, d, t, 1, beta, b, 1);
		beta = 1.0f;
	}
	for (j = 0; j < k; j++)
		A[(size_t) j * d + j] += diag + 1e-6f;
	if (h->use_bias)
		A[(size_t) k * d + k] += (float) h->reg_bias + 1e-6f;
	for (j = 0; j < d; j++)
		rhs[j] = b[j];
	mr_blas.sposv("L", &d, &one, A, &d, b, &d, &info);
	if (info != 0)
	{
		for (j = 0; j < d; j++)
			b[j] = 0;
		return tt;
	}
	sse = tt;
	for (j = 0; j < d; j++)
	{
		double		dj = (j < k ? diag : (float) h->reg_bias) + 1e-6f;

		sse -= (double) b[j] * rhs[j] + dj * b[j] * b[j];
	}
	return sse > 0 ? sse : 0;
}

/*
 * Dual solve of a short row (n < d ratings): by the push-through identity
 * (Z'Z + D)^-1 Z' = D^-1 Z' (Z D^-1 Z' + I)^-1, the solution is
 * w = D^-1/2 Zs' y with Zs = Z D^-1/2 and (Zs Zs' + I) y = t, an n x n
 * Cholesky instead of d x d.  Exact, and much cheaper for the many movies
 * with a handful of ratings.  Solution in b; the row's D is as in the
 * primal solve.  The residual t - Z w equals y, so the row's squared
 * training error is |y|^2.
 */
static double
als_solve_dual(const AlsHalf *h, float *G, float *t, float *K, float *b,
			   int64_t lo, int64_t hi, float diag)
{
	int			k = h->k,
				d = h->d,
				n = (int) (hi - lo),
				one = 1,
				info = 0,
				j;
	float	   *scale = b;		/* d floats, reused for the solution */
	float		sf = 1.0f / sqrtf(diag + 1e-6f);
	double		sse;

	for (j = 0; j < k; j++)
		scale[j] = sf;
	if (h->use_bias)
		scale[k] = 1.0f / sqrtf((float) h->reg_bias + 1e-6f);
	als_gather(h, G, t, lo, n, scale);
	/* K = Zs Zs' + I: G is d x n column-major, so K = G' G */
	mr_blas.ssyrk(MrColMajor, MrLower, MrTrans, n, d, 1.0f, G, d, 0.0f, K, n);
	for (j = 0; j < n; j++)
		K[(size_t) j * n + j] += 1.0f;
	mr_blas.sposv("L", &n, &one, K, &n, t, &n, &info);
	if (info != 0)
	{
		double		tt = 0;

		for (j = 0; j < d; j++)
			b[j] = 0;
		als_gather(h, G, t, lo, n, NULL);
		for (j = 0; j < n; j++)
			tt += (double) t[j] * t[j];
		return tt;
	}
	/* b = D^-1/2 (Zs' y) */
	mr_blas.sgemv(MrColMajor, MrNoTrans, d, n, 1.0f, G, d, t, 1, 0.0f, b, 1);
	for (j = 0; j < k; j++)
		b[j] *= sf;
	if (h->use_bias)
		b[k] *= 1.0f / sqrtf((float) h->reg_bias + 1e-6f);
	sse = 0;
	for (j = 0; j < n; j++)
		sse += (double) t[j] * t[j];
	return sse;
}

/* Solve rows [begin, end) of one half-iteration. */
static void
als_rows(void *arg, int tid, int32_t begin, int32_t end)
{
	AlsHalf    *h = (AlsHalf *) arg;
	int			k = h->k,
				d = h->d;
	float	   *G = h->ws[tid];
	float	   *t = G + (size_t) MR_ALS_CHUNK * d;
	float	   *A = t + MR_ALS_CHUNK;
	float	   *b = A + (size_t) d * d;
	float	   *rhs = b + d;
	int32_t		a;

	for (a = begin; a < end; a++)
	{
		int64_t		lo = h->ptr[a],
					hi = h->ptr[a + 1];
		int			j;
		double		diag,
					sse;
		float	   *xa = k > 0 ? h->X + (int64_t) a * k : NULL;

		if (hi == lo)
		{
			for (j = 0; j < k; j++)
				xa[j] = 0;
			if (h->use_bias)
				h->xbias[a] = 0;
			if (h->row_sse != NULL)
				h->row_sse[a] = 0;
			continue;
		}
		diag = h->reg * pow((double) (hi - lo), MR_ALS_REG_EXPONENT);
		if (hi - lo < d && hi - lo <= MR_ALS_CHUNK)
			sse = als_solve_dual(h, G, t, A, b, lo, hi, (float) diag);
		else
			sse = als_solve_primal(h, G, t, A, b, rhs, lo, hi, (float) diag);
		for (j = 0; j < k; j++)
			xa[j] = b[j];
		if (h->use_bias)
			h->xbias[a] = b[k];
		if (h->row_sse != NULL)
			h->row_sse[a] = sse;
	}
}

/* Workspace bytes of MrTrainAls. */
size_t
MrAlsWorkspace(const MrRatings *r, const MrTrainParams *p)
{
	int			d = p->factors + (p->use_bias != 0);
	int			threads = MrThreadCount(p->threads);

	return (size_t) threads * (sizeof(float) * als_thread_floats(d) + sizeof(float *))
		+ sizeof(double) * ((size_t) r->n_items + 1);
}

/* Train explicit ALS; returns the training RMSE after the last iteration. */
double
MrTrainAls(const MrRatings *r, const MrTrainParams *p,
		   const MrKernelEnv *env, MrFactors *out)
{
	int			k = out->k;
	int			threads = MrThreadCount(p->threads);
	int			it,
				t;
	double		loss = 0;
	AlsHalf		h;
	MrRng		rng;
	double	   *sse_buf;

	out->global_mean = (float) MrGlobalMean(r);
	if (k + (p->use_bias != 0) == 0)
		return 0;
	MrRngSeed(&rng, p->seed);
	MrFillNormal(&rng, out->P, (int64_t) r->n_users * k, p->init_std);
	MrFillNormal(&rng, out->Q, (int64_t) r->n_items * k, p->init_std);
	for (t = 0; t < r->n_users; t++)
		out->user_bias[t] = 0;
	for (t = 0; t < r->n_items; t++)
		out->item_bias[t] = 0;

	h.k = k;
	h.use_bias = p->use_bias != 0;
	h.d = k + h.use_bias;
	h.mu = out->global_mean;
	h.ws = env->alloc(env->arg, sizeof(float *) * threads);
	for (t = 0; t < threads; t++)
		h.ws[t] = env->alloc(env->arg, sizeof(float) * als_thread_floats(h.d));
	sse_buf = env->alloc(env->arg, sizeof(double) * (r->n_items > 0 ? r->n_items : 1));

	MrBlasSetThreads(1);
	for (it = 0; it < p->iterations; it++)
	{
		double		sse = 0;
		int32_t		i;

		/* users, with the movies fixed */
		h.reg = p->regularization;
		h.reg_bias = p->reg_user_bias;
		h.ptr = r->user_ptr;
		h.idx = r->user_items;
		h.vals = r->user_vals;
		h.X = out->P;
		h.xbias = out->user_bias;
		h.Y = out->Q;
		h.ybias = out->item_bias;
		h.row_sse = NULL;
		MrParallelRows(r->n_users, threads, als_rows, &h, env);

		/* movies, with the users fixed; residuals come for free */
		h.reg_bias = p->reg_item_bias;
		h.ptr = r->item_ptr;
		h.idx = r->item_users;
		h.vals = r->item_vals;
		h.X = out->Q;
		h.xbias = out->item_bias;
		h.Y = out->P;
		h.ybias = out->user_bias;
		h.row_sse = sse_buf;
		MrParallelRows(r->n_items, threads, als_rows, &h, env);

		for (i = 0; i < r->n_items; i++)
			sse += sse_buf[i];
		loss = r->nnz > 0 ? sqrt(sse / (double) r->nnz) : 0;
		env->progress(env->arg, "iteration", it + 1, p->iterations, loss);
	}
	for (t = 0; t < threads; t++)
		env->free(env->arg, h.ws[t]);
	env->free(env->arg, h.ws);
	env->free(env->arg, sse_buf);
	return loss;
}
