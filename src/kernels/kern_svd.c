/*
 * kern_svd.c: biased matrix factorization by stochastic gradient descent
 * (Funk SVD, as in Surprise's SVD).
 *
 * Design.  The model is r_ui ~ mu + b_u + b_i + p_u . q_i.  Each epoch
 * visits every training rating once in a fresh random order and, with
 * e = r_ui - prediction and learning rate g, takes the step
 *
 *     b_u += g (e - reg_user_bias b_u)      b_i += g (e - reg_item_bias b_i)
 *     p_u += g (e q_i - reg p_u)            q_i += g (e p_u - reg q_i)
 *
 * (p_u and q_i are both updated from their old values).  The learning rate
 * is multiplied by lr_decay after every epoch.  Factors start as
 * N(0, init_std^2) draws, biases at zero.
 *
 * Determinism.  SGD is inherently sequential: two threads updating the
 * same rows in a different order would give different bits.  This kernel
 * therefore runs in the calling thread whatever params->threads says; the
 * order of the updates comes only from the seeded PRNG (a Fisher-Yates
 * shuffle of the previous epoch's order), so a seed fixes the result.
 *
 * Memory.  The ratings are copied once as (user, item, rating) triplets,
 * 12 bytes each, which are shuffled in place: random access to the
 * factor rows, sequential access to the triplets.
 */
#include "kern_util.h"

#include <math.h>

/* Updates between two env->check calls. */
#define MR_SVD_CHECK_EVERY 65536

/* Workspace bytes of MrTrainSvd. */
size_t
MrSvdWorkspace(const MrRatings *r, const MrTrainParams *p)
{
	return (size_t) r->nnz * (2 * sizeof(int32_t) + sizeof(float)) + 64;
}

/* Train SGD matrix factorization; returns the last epoch's training RMSE. */
double
MrTrainSvd(const MrRatings *r, const MrTrainParams *p,
		   const MrKernelEnv *env, MrFactors *out)
{
	int			k = out->k;
	int64_t		nnz = r->nnz,
				x;
	int32_t	   *tu,
			   *ti;
	float	   *tr;
	float		mu,
				lr = (float) p->learning_rate;
	float		reg = (float) p->regularization,
				reg_bu = (float) p->reg_user_bias,
				reg_bi = (float) p->reg_item_bias;
	int			use_bias = p->use_bias != 0;
	double		loss = 0;
	MrRng		rng;
	int			it;
	int32_t		u;

	MrRngSeed(&rng, p->seed);
	out->global_mean = mu = (float) MrGlobalMean(r);
	MrFillNormal(&rng, out->P, (int64_t) r->n_users * k, p->init_std);
	MrFillNormal(&rng, out->Q, (int64_t) r->n_items * k, p->init_std);
	for (u = 0; u < r->n_users; u++)
		out->user_bias[u] = 0;
	for (u = 0; u < r->n_items; u++)
		out->item_bias[u] = 0;

	tu = env->alloc(env->arg, sizeof(int32_t) * (nnz > 0 ? nnz : 1));
	ti = env->alloc(env->arg, sizeof(int32_t) * (nnz > 0 ? nnz : 1));
	tr = env->alloc(env->arg, sizeof(float) * (nnz > 0 ? nnz : 1));
	for (u = 0; u < r->n_users; u++)
		for (x = r->user_ptr[u]; x < r->user_ptr[u + 1]; x++)
		{
			tu[x] = u;
			ti[x] = r->user_items[x];
			tr[x] = r->user_vals[x];
		}

	for (it = 0; it < p->iterations; it++)
	{
		double		sse = 0;

		env->check(env->arg);
		/* Fisher-Yates shuffle of the triplets */
		for (x = nnz - 1; x > 0; x--)
		{
			int64_t		y = (int64_t) MrRngBelow(&rng, (uint64_t) x + 1);
			int32_t		a = tu[x],
						b = ti[x];
			float		c = tr[x];

			tu[x] = tu[y];
			ti[x] = ti[y];
			tr[x] = tr[y];
			tu[y] = a;
			ti[y] = b;
			tr[y] = c;
		}
		for (x = 0; x < nnz; x++)
		{
			float	   *pu = out->P + (int64_t) tu[x] * k;
			float	   *qi = out->Q + (int64_t) ti[x] * k;
			float	   *bu = &out->user_bias[tu[x]];
			float	   *bi = &out->item_bias[ti[x]];
			float		e = tr[x] - mu - MrDot(pu, qi, k);
			int			f;

			if (use_bias)
				e -= *bu + *bi;
			sse += (double) e * e;
			if (use_bias)
			{
				*bu += lr * (e - reg_bu * *bu);
				*bi += lr * (e - reg_bi * *bi);
			}
			for (f = 0; f < k; f++)
			{
				float		pf = pu[f],
							qf = qi[f];

				pu[f] += lr * (e * qf - reg * pf);
				qi[f] += lr * (e * pf - reg * qf);
			}
			if ((x + 1) % MR_SVD_CHECK_EVERY == 0)
				env->check(env->arg);
		}
		lr *= (float) p->lr_decay;
		loss = nnz > 0 ? sqrt(sse / (double) nnz) : 0;
		env->progress(env->arg, "iteration", it + 1, p->iterations, loss);
	}
	env->free(env->arg, tu);
	env->free(env->arg, ti);
	env->free(env->arg, tr);
	return loss;
}
