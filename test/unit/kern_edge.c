/*
 * Unit test of edge cases common to all kernels: users and movies with no
 * ratings, a single rating, use_bias off, bias-only ALS (k = 0), and
 * regularization 0.  Every output must be finite, and empty rows must get
 * zero factors and biases.  Prints TAP.
 */
// sources: src/kernels/kern_als.c src/kernels/kern_baseline.c src/kernels/kern_popularity.c src/kernels/kern_svd.c src/kernels/kern_ials.c src/kernels/kern_util.c src/kernels/mf_defaults.c
#include "planted.h"

/* True if every number in f is finite. */
static int
all_finite(const MrFactors *f)
{
	int64_t		j;

	if (!isfinite(f->global_mean))
		return 0;
	for (j = 0; j < f->n_users; j++)
		if (!isfinite(f->user_bias[j]))
			return 0;
	for (j = 0; j < f->n_items; j++)
		if (!isfinite(f->item_bias[j]))
			return 0;
	for (j = 0; j < (int64_t) f->n_users * f->k; j++)
		if (!isfinite(f->P[j]))
			return 0;
	for (j = 0; j < (int64_t) f->n_items * f->k; j++)
		if (!isfinite(f->Q[j]))
			return 0;
	return 1;
}

/* True if row a of an n x k matrix and its bias are all zero. */
static int
zero_row(const float *M, const float *bias, int32_t a, int k)
{
	int			j;

	for (j = 0; j < k; j++)
		if (M[(int64_t) a * k + j] != 0)
			return 0;
	return bias[a] == 0;
}

int
main(void)
{
	/* 4 users x 4 movies; user 3 and movie 3 have no ratings */
	int32_t		u[6] = {0, 0, 1, 1, 2, 2},
				i[6] = {0, 1, 0, 2, 1, 2};
	float		v[6] = {5, 3, 4, 1, 2, 4};
	MrRatings  *r = bench_build(4, 4, 6, u, i, v);
	static const char *const algos[] = {"popularity", "baseline", "als", "svd", "ials"};
	int			a;
	char		msg[128];

	ok(MrBlasLoad() == NULL, "OpenBLAS loads");
	for (a = 0; a < 5; a++)
	{
		MrTrainParams p;
		MrFactors  *f;

		MrDefaultParams(algos[a], &p);
		f = bench_factors(4, 4, MrModelFactors(algos[a], &p));
		bench_train(algos[a], r, &p, f);
		snprintf(msg, sizeof(msg), "%s: finite output with empty rows", algos[a]);
		ok(all_finite(f), msg);
		if (strcmp(algos[a], "als") == 0 || strcmp(algos[a], "ials") == 0)
		{
			snprintf(msg, sizeof(msg), "%s: a user and a movie without ratings get zero factors", algos[a]);
			ok(zero_row(f->P, f->user_bias, 3, f->k) && zero_row(f->Q, f->item_bias, 3, f->k), msg);
		}
		bench_free_factors(f);
	}

	{
		MrTrainParams p;
		MrFactors  *f = bench_factors(4, 4, 8),
				   *b = bench_factors(4, 4, 0);

		MrDefaultParams("als", &p);
		p.factors = 8;
		p.use_bias = 0;
		MrTrainAls(r, &p, &bench_env, f);
		ok(all_finite(f) && f->user_bias[0] == 0 && f->item_bias[0] == 0,
		   "als without biases: finite, biases stay zero");
		p.regularization = 0;
		p.reg_user_bias = 0;
		p.reg_item_bias = 0;
		p.use_bias = 1;
		MrTrainAls(r, &p, &bench_env, f);
		ok(all_finite(f), "als with regularization 0: finite (singular systems handled)");
		MrDefaultParams("als", &p);
		p.factors = 0;
		MrTrainAls(r, &p, &bench_env, b);
		ok(all_finite(b) && b->item_bias[0] != 0, "als with 0 factors fits biases only");
		bench_free_factors(f);
		bench_free_factors(b);
	}
	bench_free_ratings(r);
	printf("1..%d\n", n_test);
	return 0;
}
