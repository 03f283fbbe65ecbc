/*
 * kern_baseline.c: global mean plus user and movie biases.
 *
 * Design.  The model is r_ui ~ mu + b_u + b_i, fitted by alternating
 * ridge regressions as in Surprise's BaselineOnly with method 'als' (its
 * defaults reg_i = 10, reg_u = 15, 10 epochs are movierec's defaults for
 * this algorithm, so the figures match Surprise's).  One epoch first sets
 * every movie bias with the user biases fixed,
 *
 *     b_i = sum_{u in U_i} (r_ui - mu - b_u) / (reg_i + |U_i|),
 *
 * then every user bias with the movie biases fixed,
 *
 *     b_u = sum_{i in I_u} (r_ui - mu - b_i) / (reg_u + |I_u|).
 *
 * Biases start at zero, mu is the plain mean; sums are accumulated in
 * double.  Each pass is a stream over one orientation of the CSR arrays,
 * so an epoch costs two reads of the ratings.
 */
#include "kern_util.h"

/* Refit all biases of one side (rows of ptr/idx/vals) against the other. */
static void
fit_side(int32_t n, const int64_t *ptr, const int32_t *idx, const float *vals,
		 double mu, double reg, const float *other, float *bias)
{
	int32_t		a;

	for (a = 0; a < n; a++)
	{
		double		dev = 0;
		int64_t		x;

		for (x = ptr[a]; x < ptr[a + 1]; x++)
			dev += vals[x] - mu - other[idx[x]];
		bias[a] = (float) (dev / (reg + (double) (ptr[a + 1] - ptr[a])));
	}
}

/* Train the baseline model; returns the training RMSE of the last epoch. */
double
MrTrainBaseline(const MrRatings *r, const MrTrainParams *p,
				const MrKernelEnv *env, MrFactors *out)
{
	double		mu = MrGlobalMean(r);
	double		loss = 0;
	int			it;

	out->global_mean = (float) mu;
	for (it = 0; it < r->n_users; it++)
		out->user_bias[it] = 0;
	for (it = 0; it < r->n_items; it++)
		out->item_bias[it] = 0;
	for (it = 0; it < p->iterations; it++)
	{
		env->check(env->arg);
		fit_side(r->n_items, r->item_ptr, r->item_users, r->item_vals,
				 mu, p->reg_item_bias, out->user_bias, out->item_bias);
		fit_side(r->n_users, r->user_ptr, r->user_items, r->user_vals,
				 mu, p->reg_user_bias, out->item_bias, out->user_bias);
		loss = MrTrainRmse(r, out);
		env->progress(env->arg, "iteration", it + 1, p->iterations, loss);
	}
	return loss;
}
