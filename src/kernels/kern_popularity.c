/*
 * kern_popularity.c: the popularity model, movierec's ranking baseline.
 *
 * Design.  Each movie gets a damped (Bayesian) mean rating
 *
 *     dm_i = (sum_i + m * mu) / (n_i + m)
 *
 * where mu is the global mean, n_i and sum_i the count and sum of the
 * movie's ratings, and m the damping: a movie behaves as if it had m
 * extra ratings equal to mu, so a movie rated once with 5 stars does not
 * outrank one rated 300 times with 4.5.  m is taken from
 * params->reg_item_bias (it is exactly the ridge penalty of an item bias
 * fitted alone: dm_i - mu = sum_i(r - mu) / (n_i + m)).  The factors
 * store the model in the common form prediction = mu + b_u + b_i with
 * global_mean = mu, item_bias = dm_i - mu, user_bias = 0 and k = 0, so
 * every reader predicts dm_i without special cases.  Rating counts are in
 * MrRatings (item_ptr) for the glue to store.
 */
#include "kern_util.h"

/* Train the popularity model; returns its training RMSE. */
double
MrTrainPopularity(const MrRatings *r, const MrTrainParams *p,
				  const MrKernelEnv *env, MrFactors *out)
{
	double		mu = MrGlobalMean(r);
	double		m = p->reg_item_bias > 0 ? p->reg_item_bias : 0;
	double		loss;
	int32_t		i,
				u;

	env->check(env->arg);
	out->global_mean = (float) mu;
	for (u = 0; u < r->n_users; u++)
		out->user_bias[u] = 0;
	for (i = 0; i < r->n_items; i++)
	{
		double		dev = 0;
		int64_t		x,
					n = r->item_ptr[i + 1] - r->item_ptr[i];

		for (x = r->item_ptr[i]; x < r->item_ptr[i + 1]; x++)
			dev += r->item_vals[x] - mu;
		out->item_bias[i] = (n + m) > 0 ? (float) (dev / ((double) n + m)) : 0;
	}
	loss = MrTrainRmse(r, out);
	env->progress(env->arg, "iteration", 1, 1, loss);
	return loss;
}
