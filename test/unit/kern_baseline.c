/*
 * Unit test of the bias-only kernels (src/kernels/kern_baseline.c,
 * src/kernels/kern_popularity.c): closed forms on a tiny example worked by hand,
 * and the BaselineOnly update order.  Prints TAP.
 */
// sources: src/kernels/kern_baseline.c src/kernels/kern_popularity.c src/kernels/kern_als.c src/kernels/kern_svd.c src/kernels/kern_ials.c src/kernels/kern_util.c src/kernels/mf_defaults.c
// cross: aarch64
#include "planted.h"

/* |a - b| < 1e-6 */
static int
near(double a, double b)
{
	return fabs(a - b) < 1e-6;
}

int
main(void)
{
	/* u0: i0 = 4, i1 = 2;  u1: i0 = 5 */
	int32_t		u[3] = {0, 0, 1},
				i[3] = {0, 1, 0};
	float		v[3] = {4, 2, 5};
	MrRatings  *r = bench_build(2, 2, 3, u, i, v);
	MrFactors  *f = bench_factors(2, 2, 0);
	MrTrainParams p;
	double		mu = 11.0 / 3;
	double		loss;

	MrDefaultParams("baseline", &p);
	ok(p.reg_user_bias == 15 && p.reg_item_bias == 10 && p.iterations == 10,
	   "baseline defaults are BaselineOnly's (reg_u 15, reg_i 10, 10 epochs)");

	/* one epoch with reg 1: movies first, then users */
	p.iterations = 1;
	p.reg_user_bias = 1;
	p.reg_item_bias = 1;
	loss = MrTrainBaseline(r, &p, &rec_env, f);
	ok(near(f->global_mean, mu), "global mean 11/3");
	ok(near(f->item_bias[0], 5.0 / 9) && near(f->item_bias[1], -5.0 / 6),
	   "movie biases 5/9 and -5/6 after one epoch");
	ok(near(f->user_bias[0], -19.0 / 54) && near(f->user_bias[1], 7.0 / 18),
	   "user biases -19/54 and 7/18 (computed against the new movie biases)");
	ok(rec_n == 1 && near(rec_loss[0], loss) && loss > 0, "progress reports the training RMSE");

	/* many epochs converge to a fixed point of both updates */
	p.iterations = 200;
	MrTrainBaseline(r, &p, &rec_env, f);
	{
		double		bi0 = ((4 - mu - f->user_bias[0]) + (5 - mu - f->user_bias[1])) / 3;
		double		bu0 = ((4 - mu - f->item_bias[0]) + (2 - mu - f->item_bias[1])) / 3;

		ok(fabs(bi0 - f->item_bias[0]) < 1e-5 && fabs(bu0 - f->user_bias[0]) < 1e-5,
		   "converged biases satisfy both normal equations");
	}

	/* popularity: damped mean with m = reg_item_bias */
	MrDefaultParams("popularity", &p);
	p.reg_item_bias = 2;
	MrTrainPopularity(r, &p, &rec_env, f);
	ok(near(f->global_mean + f->item_bias[0], (9 + 2 * mu) / 4) &&
	   near(f->global_mean + f->item_bias[1], (2 + 2 * mu) / 3) &&
	   f->user_bias[0] == 0 && f->user_bias[1] == 0,
	   "popularity predicts the damped mean (sum + m mu) / (n + m)");

	bench_free_ratings(r);
	bench_free_factors(f);
	printf("1..%d\n", n_test);
	return 0;
}
