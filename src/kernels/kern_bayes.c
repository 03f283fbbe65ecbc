/*
 * kern_bayes.c: Bayesian matrix factorization by Gibbs sampling (bayes).
 *
 * Design.  The model (Salakhutdinov and Mnih 2008, with biases and the
 * SVD++ implicit blocks run as in Rendle, Zhang and Koren 2019) is
 *
 *     r_ui ~ N(mu + E_u,bias + E_i,bias + E_u[0..k) . E_i[0..k), 1/alpha)
 *
 * with
 *     E_u = [p_u, b_u] + s_u sum_{j in N(u)} y_j      (user block)
 *     E_i = [q_i, c_i] + s_i sum_{v in M(i)} z_v      (movie block)
 *
 * The rows carry d = k + 1 numbers (k without biases), N(u) is the set of
 * movies user u rated and M(i) the users who rated movie i (the implicit
 * pattern, optionally taken from more pairs than the explicit ratings:
 * kern_bayes.h), s = |set|^-1/2, and y_j, z_v have d numbers too (the
 * last one an implicit bias weight).  mu, the global mean, is fixed.
 * Every block's rows ([p, b], [q, c], y, z) are N(m_f, 1/lambda_f) per
 * dimension f with the Normal-Gamma hyperprior of myFM: m_f ~ N(0,
 * 1/(gamma0 lambda_f)), lambda_f ~ Gamma(a0, b0); the noise precision is
 * alpha ~ Gamma(a0, b0); a0 = b0 = gamma0 = 1.  Nothing is tuned but the
 * size (factors) and the length (iterations, burn_in) of the chain.
 *
 * One sweep draws every unknown once from its conditional:
 *   1. each user's X_u = [p_u, b_u] from the Gaussian with precision
 *      A = alpha Z'Z + diag(lambda) and mean A^-1 (alpha Z'(t - Z o_u) +
 *      lambda m), the rows of Z being [E_i(0..k), 1], t = r - mu - E_i,bias
 *      and o_u = E_u - X_u the user's implicit offset.  Z'Z and Z't are
 *      accumulated exactly as in kern_als.c (gathered chunks, ssyrk and
 *      sgemv), A is factored by LAPACK spotrf, and the draw is
 *      w = L^-T (L^-1 rhs + e) with e ~ N(0, I), whose covariance is A^-1;
 *   2. (user block) each y_j in turn given everything else: precision
 *      lambda_y + alpha sum_{u: j in N(u)} s_u^2 G_u and the matching
 *      residual sums, where G_u = Z'Z and h_u = Z't are kept from step 1
 *      (n_users d^2 floats), so the step costs sum_j |M(j)| 2 d^2 and
 *      never rereads ratings.  The y_j share users, so this step is
 *      sequential (one thread): a parallel draw would not be Gibbs;
 *   3. each movie's [q_i, c_i] as in step 1, against the users' E_u, and
 *      (movie block) each z_v in turn, the mirror image of step 2;
 *   4. alpha given the residuals of the current state (one pass over the
 *      ratings) and every block's (m_f, lambda_f) given its rows.
 * The model stored is the average over the sweeps after burn_in of E_u
 * and E_i: implicit blocks folded in, so serving is the ordinary
 * mu + b_u + b_i + x_u . q_i.  Averaging the rows instead of the
 * predictions ignores the posterior covariance of E_u and E_i; on the
 * MovieLens training parts both give the same RMSE within 0.002
 * (bench/bayes_eval prints both; the chain does not wander between
 * rotations of the factors).  The run
 * also reports (MrBayesStats) the ridge that fold-in should use.
 *
 * The kept Z'Z and Z't are stored with columns padded to dp (a multiple
 * of 4, see BAYES_PAD) so that step 2 runs whole 4-float vectors; the
 * padding changes no bit of the chain.
 *
 * Cost per sweep: like one ALS iteration (nnz d^2 + (users + movies)
 * d^3/3) plus, per implicit block, 2 nnz_implicit d^2 on one thread.
 *
 * Threads and determinism.  Steps 1 and 3 are split among params->threads
 * pthreads (kern_util.c); each row draws its noise from its own stream,
 * seeded from (seed, sweep, side, row), and writes only its own output, so
 * the chain is bitwise identical for any thread count.  The sequential
 * steps use one stream per sweep.  env->check runs between blocks of rows
 * and every 4096 implicit rows, env->progress once per sweep (with the
 * training RMSE of the current sample).
 *
 * The caller must have loaded BLAS (MrBlasLoad() returned NULL).
 */
/*
 * The d x d loops of the implicit steps are elementwise (no reductions),
 * so vectorizing them changes no bit of the result; GCC's -O2 "very
 * cheap" cost model skips them because d is not known at compile time.
 * With the dynamic model the ml-100k u1 run takes 31 % less CPU
 * (bench/bayes_eval u1: 7.6 s -> 5.2 s of user time, same checksum).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("vect-cost-model=dynamic")
#endif

#include "kern_bayes.h"
#include "kern_util.h"
#include "blas.h"

#include <math.h>
#include <string.h>


/* Hyperprior constants (myFM's defaults). */
#define MR_BAYES_A0 1.0
#define MR_BAYES_B0 1.0
#define MR_BAYES_GAMMA0 1.0

/* Stream tags of the per-row generators. */
#define MR_SIDE_USERS 1
#define MR_SIDE_ITEMS 2

/*
 * One side of the model (users or movies): its parameters X = [p, b],
 * its implicit offsets O = s_a sum y_j (when the side has an implicit
 * block), the effective rows E = X + O that the other side sees, and the
 * block's implicit factors Y, one row per member of the other side.
 */
typedef struct BayesSide
{
	int32_t		n;
	float	   *X;				/* n x d */
	float	   *O;				/* n x d, or NULL without an implicit block */
	float	   *E;				/* n x d; X itself without an implicit block */
	double	   *m,
			   *lam;			/* prior of the rows of X, d each */
	double	   *sum;			/* n x d: sum of E over the kept sweeps */
	/* the implicit block (Y == NULL: none) */
	int32_t		ny;				/* rows of Y: the other side's count */
	float	   *Y;				/* ny x d */
	double	   *ym,
			   *yl;				/* prior of the rows of Y */
	const int64_t *iptr;		/* Y row j -> the rows of this side whose set holds it */
	const int32_t *iidx;
	float	   *s;				/* n: |set|^-1/2 */
	float	   *gram;			/* n x d x dp: Z'Z of the last draw, columns padded */
	float	   *zt;				/* n x dp: Z't of the last draw, padded */
} BayesSide;

/*
 * The stored Z'Z and Z't of step 1 (kept for the implicit steps) have
 * their columns padded with zeros from d to dp = d rounded up to a
 * multiple of 4 floats, so that the implicit step's loops over a column
 * are whole 4-float vectors with no scalar tail.  The padding lanes are
 * computed and thrown away; the other lanes see exactly the operations
 * of the unpadded loops, so the chain keeps its bits.
 */
#define BAYES_PAD(d) (((d) + 3) & ~3)

/* State shared by the workers of one half-sweep. */
typedef struct BayesHalf
{
	int			k;
	int			d;				/* k + 1 with biases, else k */
	int			use_bias;
	float		mu;
	double		alpha;
	uint64_t	seed;
	int			sweep;
	int			side;
	/* rows being drawn */
	const int64_t *ptr;
	const int32_t *idx;
	const float *vals;
	BayesSide  *self;
	/* the other side's effective rows, fixed */
	const float *F;				/* n_other x d */
	double	   *row_sse;		/* SSE pass only */
	float	  **ws;
} BayesHalf;

/* Floats of one thread's workspace for dimension d. */
static size_t
bayes_thread_floats(int d)
{
	return MR_BAYES_THREAD_FLOATS(d);
}

/* A generator for one row of one half-sweep, independent of threads. */
static void
bayes_row_rng(MrRng *rng, uint64_t seed, int sweep, int side, int64_t row)
{
	uint64_t	x = ((uint64_t) sweep << 8) | (uint64_t) side;
	uint64_t	h = MrSplitMix64(&x);

	MrRngSeed(rng, seed ^ h ^ (UINT64_C(0xD1B54A32D192ED03) * (uint64_t) (row + 1)));
}

/* Gamma(shape, rate) draw, shape >= 1 (Marsaglia and Tsang 2000). */
static double
bayes_gamma(MrRng *rng, double shape, double rate)
{
	double		d = shape - 1.0 / 3.0,
				c = 1.0 / sqrt(9.0 * d);

	for (;;)
	{
		double		x = MrRngNormal(rng),
					v = 1.0 + c * x,
					u;

		if (v <= 0)
			continue;
		v = v * v * v;
		u = MrRngUniform(rng);
		if (u < 1e-300)
			u = 1e-300;
		if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
			return d * v / rate;
	}
}

/*
 * Draw w ~ N(A^-1 rhs, A^-1) for a d x d positive definite A (column-major,
 * lower triangle valid; overwritten by its Cholesky factor): forward
 * solve L z = rhs, add N(0, I) noise, back solve L' w = z.  w may alias
 * rhs.  On a failed factorization w = 0 and 0 is returned.
 */
static int
bayes_draw(float *A, int d, const float *rhs, float *w, MrRng *rng)
{
	int			info = 0,
				i,
				j;
	double		z[1025];

	mr_blas.spotrf("L", &d, A, &d, &info);
	if (info != 0)
	{
		for (i = 0; i < d; i++)
			w[i] = 0;
		return 0;
	}
	for (i = 0; i < d; i++)
	{
		double		s = rhs[i];

		for (j = 0; j < i; j++)
			s -= (double) A[(size_t) j * d + i] * z[j];
		z[i] = s / A[(size_t) i * d + i];
	}
	for (i = 0; i < d; i++)
		z[i] += MrRngNormal(rng);
	for (i = d - 1; i >= 0; i--)
	{
		double		s = z[i];
		const float *col = A + (size_t) i * d;

		for (j = i + 1; j < d; j++)
			s -= (double) col[j] * z[j];
		z[i] = s / col[i];
	}
	for (i = 0; i < d; i++)
		w[i] = (float) z[i];
	return 1;
}

/* Draw rows [begin, end) of one half-sweep. */
static void
bayes_rows(void *arg, int tid, int32_t begin, int32_t end)
{
	BayesHalf  *h = (BayesHalf *) arg;
	BayesSide  *me = h->self;
	int			k = h->k,
				d = h->d;
	float	   *G = h->ws[tid];
	float	   *t = G + (size_t) MR_BAYES_CHUNK * d;
	float	   *A = t + MR_BAYES_CHUNK;
	float	   *b = A + (size_t) d * d;
	float	   *w = b + d;
	int32_t		a;

	for (a = begin; a < end; a++)
	{
		int64_t		lo = h->ptr[a],
					hi = h->ptr[a + 1],
					x;
		int			i,
					j;
		float		beta = 0.0f;
		MrRng		rng;

		/* Z'Z and Z't of the row, as in kern_als.c */
		for (x = lo; x < hi; x += MR_BAYES_CHUNK)
		{
			int			n = (int) (hi - x < MR_BAYES_CHUNK ? hi - x : MR_BAYES_CHUNK),
						c;

			for (c = 0; c < n; c++)
			{
				int32_t		o = h->idx[x + c];
				float	   *g = G + (size_t) c * d;
				const float *y = h->F + (int64_t) o * d;

				for (j = 0; j < k; j++)
					g[j] = y[j];
				if (h->use_bias)
					g[k] = 1.0f;
				t[c] = h->vals[x + c] - h->mu - (h->use_bias ? y[k] : 0.0f);
			}
			mr_blas.ssyrk(MrColMajor, MrLower, MrNoTrans, d, n, 1.0f, G, d, beta, A, d);
			mr_blas.sgemv(MrColMajor, MrNoTrans, d, n, 1.0f, G, d, t, 1, beta, b, 1);
			beta = 1.0f;
		}
		if (hi == lo)
		{
			memset(A, 0, sizeof(float) * d * d);
			memset(b, 0, sizeof(float) * d);
		}
		if (me->gram != NULL)
		{
			int			dp = BAYES_PAD(d);
			float	   *gr = me->gram + (int64_t) a * d * dp;
			float	   *zt = me->zt + (int64_t) a * dp;

			/* kept whole (both triangles) so that step 2 runs unit-stride loops */
			for (j = 0; j < d; j++)
			{
				for (i = 0; i < d; i++)
					gr[(size_t) j * dp + i] = i >= j ? A[(size_t) j * d + i] : A[(size_t) i * d + j];
				for (; i < dp; i++)
					gr[(size_t) j * dp + i] = 0.0f;
			}
			memcpy(zt, b, sizeof(float) * d);
			for (i = d; i < dp; i++)
				zt[i] = 0.0f;
		}
		/* the implicit offset moves the target: b -= Z'Z o */
		if (me->O != NULL)
		{
			const float *o = me->O + (int64_t) a * d;

			for (i = 0; i < d; i++)
			{
				double		s = 0;

				for (j = 0; j < d; j++)
					s += (double) (i >= j ? A[(size_t) j * d + i] : A[(size_t) i * d + j]) * o[j];
				b[i] -= (float) s;
			}
		}
		/* posterior precision and its right-hand side */
		for (j = 0; j < d; j++)
		{
			for (i = j; i < d; i++)
				A[(size_t) j * d + i] *= (float) h->alpha;
			A[(size_t) j * d + j] += (float) me->lam[j];
			b[j] = (float) (h->alpha * b[j] + me->lam[j] * me->m[j]);
		}
		bayes_row_rng(&rng, h->seed, h->sweep, h->side, a);
		bayes_draw(A, d, b, w, &rng);
		for (j = 0; j < d; j++)
		{
			me->X[(int64_t) a * d + j] = w[j];
			if (me->O != NULL)
				me->E[(int64_t) a * d + j] = w[j] + me->O[(int64_t) a * d + j];
		}
	}
}

/* SSE pass: squared residuals of movies [begin, end) under the current state. */
static void
bayes_sse_rows(void *arg, int tid, int32_t begin, int32_t end)
{
	BayesHalf  *h = (BayesHalf *) arg;
	int			k = h->k,
				d = h->d;
	int32_t		a;

	for (a = begin; a < end; a++)
	{
		const float *ei = h->self->E + (int64_t) a * d;
		double		sse = 0;
		int64_t		x;

		for (x = h->ptr[a]; x < h->ptr[a + 1]; x++)
		{
			const float *eu = h->F + (int64_t) h->idx[x] * d;
			double		e = h->vals[x] - h->mu - MrDot(eu, ei, k)
				- (h->use_bias ? (double) eu[k] + ei[k] : 0.0);

			sse += e * e;
		}
		h->row_sse[a] = sse;
	}
}

/* Draw one block's per-dimension (m_f, lambda_f) given its rows (rows x d). */
static void
bayes_hyper(MrRng *rng, int32_t rows, int d, const float *X, double *m, double *lam)
{
	int			f;

	for (f = 0; f < d; f++)
	{
		double		s = 0,
					ss = 0,
					n = rows;
		int32_t		a;

		for (a = 0; a < rows; a++)
		{
			double		v = X[(int64_t) a * d + f];

			s += v;
			ss += (v - m[f]) * (v - m[f]);
		}
		lam[f] = bayes_gamma(rng, MR_BAYES_A0 + (n + 1) / 2,
							 MR_BAYES_B0 + 0.5 * (ss + MR_BAYES_GAMMA0 * m[f] * m[f]));
		m[f] = s / (n + MR_BAYES_GAMMA0) +
			MrRngNormal(rng) / sqrt((n + MR_BAYES_GAMMA0) * lam[f]);
	}
}

/* See kern_bayes.h: test-only observer of every kept sample. */
MrBayesSampleFn mr_bayes_sample_hook = NULL;
void	   *mr_bayes_sample_arg = NULL;

/* Scratch of the implicit step (d x dp and d x d matrices, vectors of dp). */
typedef struct BayesScratch
{
	float	   *A,
			   *Ac,
			   *rhs,
			   *x,
			   *e,
			   *ynew;
} BayesScratch;

/* Four float lanes (GCC/clang generic vector: SSE2 on x86-64, NEON on aarch64). */
typedef float BayesV4 __attribute__((vector_size(16)));

/*
 * One owner u of y_j (see BAYES_PAD): the residual sums without y_j,
 * e = h - G x with x = e_u - s_u y_j, go into rhs with weight s_u, and
 * s_u^2 G into A, in one pass over G.  For dp <= 16, nv = dp / 4 is a
 * constant at the call and e lives in registers.  Every lane does the
 * multiply and the subtraction or addition of the former scalar loops
 * (the build has no FMA), in the same order, so the results keep their
 * bits (bench/bayes_eval verbose=1 prints a checksum of the factors).
 */
static inline __attribute__((always_inline)) void
bayes_implicit_owner(const float *restrict G, const float *restrict h,
					 const float *restrict x, float su, int d, int nv,
					 float *restrict rhs, float *restrict A)
{
	float		s2 = su * su;
	BayesV4		ev[4],
				s2v = {s2, s2, s2, s2},
				suv = {su, su, su, su};
	int			g,
				q;
	size_t		dp = (size_t) nv * 4;

#pragma GCC unroll 4
	for (q = 0; q < nv; q++)
		memcpy(&ev[q], h + 4 * q, sizeof(BayesV4));
	for (g = 0; g < d; g++)
	{
		const float *restrict col = G + (size_t) g * dp;
		float	   *restrict ag = A + (size_t) g * dp;
		BayesV4		xg = {x[g], x[g], x[g], x[g]};

#pragma GCC unroll 4
		for (q = 0; q < nv; q++)
		{
			BayesV4		c,
						a;

			memcpy(&c, col + 4 * q, sizeof(c));
			memcpy(&a, ag + 4 * q, sizeof(a));
			ev[q] -= c * xg;
			a += s2v * c;
			memcpy(ag + 4 * q, &a, sizeof(a));
		}
	}
#pragma GCC unroll 4
	for (q = 0; q < nv; q++)
	{
		BayesV4		r;

		memcpy(&r, rhs + 4 * q, sizeof(r));
		r += suv * ev[q];
		memcpy(rhs + 4 * q, &r, sizeof(r));
	}
}

/* bayes_implicit_owner for any dp (a multiple of 4), e in memory. */
static void
bayes_implicit_owner_any(const float *restrict G, const float *restrict h,
						 const float *restrict x, float su, int d, int dp,
						 float *restrict e, float *restrict rhs, float *restrict A)
{
	float		s2 = su * su;
	int			f,
				g;

	for (f = 0; f < dp; f++)
		e[f] = h[f];
	for (g = 0; g < d; g++)
	{
		const float *restrict col = G + (size_t) g * dp;
		float	   *restrict ag = A + (size_t) g * dp;
		float		xg = x[g];

		for (f = 0; f < dp; f++)
		{
			e[f] -= col[f] * xg;
			ag[f] += s2 * col[f];
		}
	}
	for (f = 0; f < dp; f++)
		rhs[f] += su * e[f];
}

/*
 * Step 2 (or its movie-side mirror): draw each implicit row y_j in turn
 * (see the design notes), updating the owners' offsets O and effective
 * rows E as it goes.
 */
static void
bayes_implicit_step(BayesSide *me, int d, double alpha, BayesScratch *sc,
					MrRng *rng, const MrKernelEnv *env)
{
	int32_t		j;
	int			dp = BAYES_PAD(d);
	float	   *restrict A = sc->A;
	float	   *restrict rhs = sc->rhs;
	float	   *restrict xs = sc->x;
	float	   *restrict e = sc->e;

	for (j = 0; j < me->ny; j++)
	{
		int64_t		x;
		float	   *yj = me->Y + (int64_t) j * d;
		int			f,
					g;

		if ((j & 4095) == 0 && env->check != NULL)
			env->check(env->arg);
		memset(A, 0, sizeof(float) * d * dp);
		for (f = 0; f < dp; f++)
			rhs[f] = 0;
		for (x = me->iptr[j]; x < me->iptr[j + 1]; x++)
		{
			int32_t		u = me->iidx[x];
			const float *G = me->gram + (int64_t) u * d * dp;
			const float *h = me->zt + (int64_t) u * dp;
			const float *eu = me->E + (int64_t) u * d;
			float		su = me->s[u];

			for (f = 0; f < d; f++)
				xs[f] = eu[f] - su * yj[f];
			switch (dp)
			{
				case 4:
					bayes_implicit_owner(G, h, xs, su, d, 1, rhs, A);
					break;
				case 8:
					bayes_implicit_owner(G, h, xs, su, d, 2, rhs, A);
					break;
				case 12:
					bayes_implicit_owner(G, h, xs, su, d, 3, rhs, A);
					break;
				case 16:
					bayes_implicit_owner(G, h, xs, su, d, 4, rhs, A);
					break;
				default:
					bayes_implicit_owner_any(G, h, xs, su, d, dp, e, rhs, A);
			}
		}
		for (g = 0; g < d; g++)
		{
			for (f = 0; f < d; f++)
				sc->Ac[(size_t) g * d + f] = A[(size_t) g * dp + f];
			for (f = g; f < d; f++)
				sc->Ac[(size_t) g * d + f] *= (float) alpha;
			sc->Ac[(size_t) g * d + g] += (float) me->yl[g];
			rhs[g] = (float) (alpha * rhs[g] + me->yl[g] * me->ym[g]);
		}
		bayes_draw(sc->Ac, d, rhs, sc->ynew, rng);
		for (f = 0; f < d; f++)
			sc->ynew[f] -= yj[f];
		for (x = me->iptr[j]; x < me->iptr[j + 1]; x++)
		{
			int32_t		u = me->iidx[x];
			float		su = me->s[u];

			for (f = 0; f < d; f++)
			{
				me->O[(int64_t) u * d + f] += su * sc->ynew[f];
				me->E[(int64_t) u * d + f] += su * sc->ynew[f];
			}
		}
		for (f = 0; f < d; f++)
			yj[f] += sc->ynew[f];
	}
}

/* See mf.h: bayes with the training ratings as the implicit sets. */
double
MrTrainBayes(const MrRatings *r, const MrTrainParams *p,
			 const MrKernelEnv *env, MrFactors *out)
{
	return MrTrainBayesImplicit(r, NULL, p, env, out, NULL);
}

/* Allocate and initialise one side (rows of X from N(0, init_std^2)). */
static void
bayes_side_init(BayesSide *sd, int32_t n, int d, int implicit, int32_t ny,
				const int64_t *own_ptr, const int64_t *iptr, const int32_t *iidx,
				MrRng *rng, double init_std, int k, const MrKernelEnv *env)
{
	int64_t		a;
	int			f;

	memset(sd, 0, sizeof(*sd));
	sd->n = n;
	sd->X = env->alloc(env->arg, sizeof(float) * (size_t) n * d + 1);
	for (a = 0; a < n; a++)
		for (f = 0; f < k; f++)
			sd->X[a * d + f] = (float) (MrRngNormal(rng) * init_std);
	sd->m = env->alloc(env->arg, sizeof(double) * d);
	sd->lam = env->alloc(env->arg, sizeof(double) * d);
	for (f = 0; f < d; f++)
		sd->lam[f] = 1.0;
	sd->sum = env->alloc(env->arg, sizeof(double) * (size_t) n * d + 1);
	if (!implicit)
	{
		sd->E = sd->X;
		return;
	}
	sd->ny = ny;
	sd->Y = env->alloc(env->arg, sizeof(float) * (size_t) ny * d + 1);
	sd->O = env->alloc(env->arg, sizeof(float) * (size_t) n * d + 1);
	sd->E = env->alloc(env->arg, sizeof(float) * (size_t) n * d + 1);
	memcpy(sd->E, sd->X, sizeof(float) * (size_t) n * d);
	sd->ym = env->alloc(env->arg, sizeof(double) * d);
	sd->yl = env->alloc(env->arg, sizeof(double) * d);
	for (f = 0; f < d; f++)
		sd->yl[f] = 1.0;
	sd->iptr = iptr;
	sd->iidx = iidx;
	sd->s = env->alloc(env->arg, sizeof(float) * (size_t) n + 1);
	for (a = 0; a < n; a++)
	{
		int64_t		c = own_ptr[a + 1] - own_ptr[a];

		sd->s[a] = c > 0 ? (float) (1.0 / sqrt((double) c)) : 0.0f;
	}
	sd->gram = env->alloc(env->arg, sizeof(float) * (size_t) n * d * BAYES_PAD(d) + 1);
	sd->zt = env->alloc(env->arg, sizeof(float) * (size_t) n * BAYES_PAD(d) + 1);
}

/* Release what bayes_side_init allocated. */
static void
bayes_side_free(BayesSide *sd, const MrKernelEnv *env)
{
	if (sd->Y != NULL)
	{
		env->free(env->arg, sd->Y);
		env->free(env->arg, sd->O);
		env->free(env->arg, sd->E);
		env->free(env->arg, sd->ym);
		env->free(env->arg, sd->yl);
		env->free(env->arg, sd->s);
		env->free(env->arg, sd->gram);
		env->free(env->arg, sd->zt);
	}
	env->free(env->arg, sd->X);
	env->free(env->arg, sd->m);
	env->free(env->arg, sd->lam);
	env->free(env->arg, sd->sum);
}

/* Add the side's effective rows to its running sum. */
static void
bayes_accumulate(BayesSide *sd, int d)
{
	int64_t		x,
				n = (int64_t) sd->n * d;

	for (x = 0; x < n; x++)
		sd->sum[x] += sd->E[x];
}

/* See kern_bayes.h. */
double
MrTrainBayesImplicit(const MrRatings *r, const MrRatings *imp,
					 const MrTrainParams *p, const MrKernelEnv *env,
					 MrFactors *out, MrBayesStats *stats)
{
	int			k = out->k;
	int			use_bias = p->use_bias != 0;
	int			d = k + use_bias;
	int			threads = MrThreadCount(p->threads);
	int			sweeps = p->iterations,
				burn = p->burn_in < p->iterations ? p->burn_in : p->iterations - 1;
	int			it,
				t,
				kept = 0;
	double		alpha = 1.0,
				loss = 0,
				sum_alpha = 0,
				sum_noise = 0,
				sum_lam_p = 0,
				sum_lam_b = 0;
	double	   *sse_buf;
	BayesSide	us,
				is;
	BayesScratch sc;
	BayesHalf	h;
	MrRng		rng;

	out->global_mean = (float) MrGlobalMean(r);
	if (imp == NULL)
		imp = r;
	if (d == 0 || sweeps < 1 || k == 0)
		return 0;
	if (burn < 0)
		burn = 0;

	MrRngSeed(&rng, p->seed);
	bayes_side_init(&us, r->n_users, d, p->implicit != 0, r->n_items,
					imp->user_ptr, imp->item_ptr, imp->item_users,
					&rng, p->init_std, k, env);
	bayes_side_init(&is, r->n_items, d, p->implicit_items != 0, r->n_users,
					imp->item_ptr, imp->user_ptr, imp->user_items,
					&rng, p->init_std, k, env);
	sc.A = env->alloc(env->arg, sizeof(float) * d * BAYES_PAD(d));
	sc.Ac = env->alloc(env->arg, sizeof(float) * d * d);
	sc.rhs = env->alloc(env->arg, sizeof(float) * BAYES_PAD(d));
	sc.x = env->alloc(env->arg, sizeof(float) * d);
	sc.e = env->alloc(env->arg, sizeof(float) * BAYES_PAD(d));
	sc.ynew = env->alloc(env->arg, sizeof(float) * d);
	sse_buf = env->alloc(env->arg, sizeof(double) * ((size_t) r->n_items + 1));

	memset(&h, 0, sizeof(h));
	h.k = k;
	h.d = d;
	h.use_bias = use_bias;
	h.mu = out->global_mean;
	h.seed = p->seed;
	h.ws = env->alloc(env->arg, sizeof(float *) * threads);
	for (t = 0; t < threads; t++)
		h.ws[t] = env->alloc(env->arg, sizeof(float) * bayes_thread_floats(d));

	MrBlasSetThreads(1);
	for (it = 0; it < sweeps; it++)
	{
		double		sse = 0;
		int32_t		i;
		MrRng		srng;

		h.alpha = alpha;
		h.sweep = it;
		bayes_row_rng(&srng, p->seed, it, 3, 0);

		/* 1. users [p_u, b_u] given the movies' effective rows */
		h.side = MR_SIDE_USERS;
		h.ptr = r->user_ptr;
		h.idx = r->user_items;
		h.vals = r->user_vals;
		h.self = &us;
		h.F = is.E;
		MrParallelRows(r->n_users, threads, bayes_rows, &h, env);

		/* 2. the user-side implicit factors, one movie at a time */
		if (us.Y != NULL)
			bayes_implicit_step(&us, d, alpha, &sc, &srng, env);

		/* 3. movies [q_i, c_i] given the users' effective rows */
		h.side = MR_SIDE_ITEMS;
		h.ptr = r->item_ptr;
		h.idx = r->item_users;
		h.vals = r->item_vals;
		h.self = &is;
		h.F = us.E;
		MrParallelRows(r->n_items, threads, bayes_rows, &h, env);

		/* 3b. the movie-side implicit factors, one user at a time */
		if (is.Y != NULL)
			bayes_implicit_step(&is, d, alpha, &sc, &srng, env);

		/* residuals of the current state */
		h.row_sse = sse_buf;
		MrParallelRows(r->n_items, threads, bayes_sse_rows, &h, env);
		for (i = 0; i < r->n_items; i++)
			sse += sse_buf[i];
		loss = r->nnz > 0 ? sqrt(sse / (double) r->nnz) : 0;

		/* 4. noise and hyperparameters */
		alpha = bayes_gamma(&srng, MR_BAYES_A0 + 0.5 * (double) r->nnz, MR_BAYES_B0 + 0.5 * sse);
		bayes_hyper(&srng, us.n, d, us.X, us.m, us.lam);
		bayes_hyper(&srng, is.n, d, is.X, is.m, is.lam);
		if (us.Y != NULL)
			bayes_hyper(&srng, us.ny, d, us.Y, us.ym, us.yl);
		if (is.Y != NULL)
			bayes_hyper(&srng, is.ny, d, is.Y, is.ym, is.yl);

		/* average the effective rows of the kept sweeps */
		if (it >= burn)
		{
			bayes_accumulate(&us, d);
			bayes_accumulate(&is, d);
			kept++;
			if (mr_bayes_sample_hook != NULL)
				mr_bayes_sample_hook(mr_bayes_sample_arg, us.E, is.E, d);
			sum_alpha += alpha;
			sum_noise += 1.0 / sqrt(alpha);
			for (t = 0; t < k; t++)
				sum_lam_p += us.lam[t] / k;
			if (use_bias)
				sum_lam_b += us.lam[k];
		}
		env->progress(env->arg, "sweep", it + 1, sweeps, loss);
	}

	{
		int64_t		x;

		for (x = 0; x < r->n_users; x++)
		{
			for (t = 0; t < k; t++)
				out->P[x * k + t] = (float) (us.sum[x * d + t] / kept);
			out->user_bias[x] = use_bias ? (float) (us.sum[x * d + k] / kept) : 0.0f;
		}
		for (x = 0; x < r->n_items; x++)
		{
			for (t = 0; t < k; t++)
				out->Q[x * k + t] = (float) (is.sum[x * d + t] / kept);
			out->item_bias[x] = use_bias ? (float) (is.sum[x * d + k] / kept) : 0.0f;
		}
	}
	if (stats != NULL)
	{
		stats->samples = kept;
		stats->noise_std = sum_noise / kept;
		stats->foldin_reg = sum_lam_p / sum_alpha;
		stats->foldin_reg_bias = use_bias ? sum_lam_b / sum_alpha : 0;
	}

	for (t = 0; t < threads; t++)
		env->free(env->arg, h.ws[t]);
	env->free(env->arg, h.ws);
	bayes_side_free(&us, env);
	bayes_side_free(&is, env);
	env->free(env->arg, sc.A);
	env->free(env->arg, sc.Ac);
	env->free(env->arg, sc.rhs);
	env->free(env->arg, sc.x);
	env->free(env->arg, sc.e);
	env->free(env->arg, sc.ynew);
	env->free(env->arg, sse_buf);
	return loss;
}
