/*
 * kern_als.c: explicit alternating least squares with biases.
 *
 * Design.  The model is r_ui ~ mu + b_u + b_i + p_u . q_i with mu the
 * global mean.  The biases ride along as an extra coordinate: with the
 * movie side fixed, user u's unknowns w_u = [p_u, b_u] are fitted against
 * features z_i = [q_i, 1] and targets t_ui = r_ui - mu - b_i, which is a
 * ridge regression of dimension d = k + 1:
 *
 *     (Z_u' Z_u + diag(lambda n_u, ..., lambda n_u, beta_u)) w_u = Z_u' t_u
 *
 * lambda n_u is the frequency-weighted factor penalty of Zhou et al.
 * (2008), which lets heavy raters use their factors and keeps light raters
 * near the bias model; beta_u = params->reg_user_bias (constant, as in the
 * baseline model).  The movie half-step is the mirror image with [p_u, 1],
 * r_ui - mu - b_u and reg_item_bias.  Without use_bias, d = k and the bias
 * column disappears.
 *
 * Kernels.  For each row the ratings' feature rows are gathered into a
 * chunk of MR_ALS_CHUNK rows (row-major, so a column-major d x n block) and
 * accumulated into the normal matrix with ssyrk and into the right-hand
 * side with sgemv; the system is solved by LAPACK Cholesky (sposv).  The
 * cost per half-iteration is nnz d^2 for the products plus rows d^3/3 for
 * the factorizations, all BLAS-3/LAPACK.  Memory per thread is the chunk
 * plus one d x d matrix, whatever the row lengths.
 *
 * Threads and determinism.  Rows are split among params->threads pthreads
 * (kern_util.c).  Each row is solved from read-only inputs into its own
 * output, so the result is bitwise identical for any thread count.
 * OpenBLAS is set to one thread for the duration (the parallelism is
 * ours).  The training RMSE reported through progress is computed during
 * the movie half-step from the same gathered rows, per movie, and summed
 * in movie order.
 *
 * The caller must have loaded BLAS (MrBlasLoad() returned NULL).
 */
#include "kern_util.h"
#include "blas.h"

#include <math.h>

#define MR_ALS_CHUNK 256

/* Exponent nu of the frequency weighting lambda n^nu (see the design notes). */
#define MR_ALS_REG_EXPONENT 0.4

/* State shared by the workers of one half-iteration. */
typedef struct AlsHalf
{
	int			k;
	int			d;				/* k + 1 with biases, else k */
	int			use_bias;
	float		mu;
	double		reg;			/* lambda, times the row's rating count */
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
	/* per-thread workspaces: chunk, targets, matrix, rhs */
	float	  **ws;
	double	   *row_sse;		/* per row, or NULL */
} AlsHalf;

/* Bytes of one thread's workspace for dimension d. */
static size_t
als_thread_floats(int d)
{
	return (size_t) MR_ALS_CHUNK * d + MR_ALS_CHUNK + (size_t) d * d + d;
}

/* Solve rows [begin, end) of one half-iteration. */
static void
als_rows(void *arg, int tid, int32_t begin, int32_t end)
{
	AlsHalf    *h = (AlsHalf *) arg;
	int			k = h->k,
				d = h->d,
				one = 1;
	float	   *G = h->ws[tid];
	float	   *t = G + (size_t) MR_ALS_CHUNK * d;
	float	   *A = t + MR_ALS_CHUNK;
	float	   *b = A + (size_t) d * d;
	int32_t		a;

	for (a = begin; a < end; a++)
	{
		int64_t		lo = h->ptr[a],
					hi = h->ptr[a + 1],
					x;
		int			info = 0,
					j;
		float		beta = 0.0f;
		float	   *xa = h->X + (int64_t) a * k;

		if (hi == lo)
		{
			for (j = 0; j < k; j++)
				xa[j] = 0;
			if (h->use_bias)
				h->xbias[a] = 0;
			continue;
		}
		/* accumulate Z'Z and Z't over chunks of gathered rows */
		for (x = lo; x < hi; x += MR_ALS_CHUNK)
		{
			int			n = (int) (hi - x < MR_ALS_CHUNK ? hi - x : MR_ALS_CHUNK),
						c;

			for (c = 0; c < n; c++)
			{
				int32_t		o = h->idx[x + c];
				float	   *g = G + (size_t) c * d;
				const float *y = h->Y + (int64_t) o * k;

				for (j = 0; j < k; j++)
					g[j] = y[j];
				if (h->use_bias)
					g[k] = 1.0f;
				t[c] = h->vals[x + c] - h->mu - (h->use_bias ? h->ybias[o] : 0.0f);
			}
			mr_blas.ssyrk(MrColMajor, MrLower, MrNoTrans, d, n, 1.0f, G, d, beta, A, d);
			mr_blas.sgemv(MrColMajor, MrNoTrans, d, n, 1.0f, G, d, t, 1, beta, b, 1);
			beta = 1.0f;
		}
		for (j = 0; j < k; j++)
			A[(size_t) j * d + j] += (float) (h->reg * pow((double) (hi - lo), MR_ALS_REG_EXPONENT));
		if (h->use_bias)
			A[(size_t) k * d + k] += (float) h->reg_bias;
		/* a floor keeps the system definite when regularization is 0 */
		for (j = 0; j < d; j++)
			A[(size_t) j * d + j] += 1e-6f;
		mr_blas.sposv("L", &d, &one, A, &d, b, &d, &info);
		if (info != 0)
			for (j = 0; j < d; j++)
				b[j] = 0;
		for (j = 0; j < k; j++)
			xa[j] = b[j];
		if (h->use_bias)
			h->xbias[a] = b[k];

		/* residuals of this row's ratings under the new solution */
		if (h->row_sse != NULL)
		{
			double		sse = 0;

			for (x = lo; x < hi; x++)
			{
				int32_t		o = h->idx[x];
				float		pred = h->mu + MrDot(xa, h->Y + (int64_t) o * k, k);
				float		e;

				if (h->use_bias)
					pred += h->xbias[a] + h->ybias[o];
				e = h->vals[x] - pred;
				sse += (double) e * e;
			}
			h->row_sse[a] = sse;
		}
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

	if (k + (p->use_bias != 0) == 0)
		return 0;
	MrRngSeed(&rng, p->seed);
	out->global_mean = (float) MrGlobalMean(r);
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
