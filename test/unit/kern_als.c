/*
 * Unit test of explicit ALS (src/kernels/kern_als.c): recovers a planted rank-10
 * model with noise sigma 0.5 to a test RMSE within 10 % of sigma at the
 * default parameters (10 factors), the
 * training RMSE decreases, and the factors are bitwise identical with 1
 * and 2 threads.  Covers both the primal (long rows) and the dual (short
 * rows) solve.  Prints TAP.
 */
// sources: src/kernels/kern_als.c src/kernels/kern_baseline.c src/kernels/kern_popularity.c src/kernels/kern_svd.c src/kernels/kern_ials.c src/kernels/kern_util.c src/kernels/mf_defaults.c
#include "planted.h"

/*
 * Largest difference between the trained movie rows (the last half-step)
 * and an independent double-precision solve of their normal equations
 * (A = sum z z' + diag(reg n^0.4, ..., reg_item_bias) + 1e-6 I, z = [p_u, 1],
 * target r - mu - b_u), over movies with fewer than k + 1 ratings when
 * short, else with more.
 */
static double
ridge_error(const MrRatings *r, const MrFactors *f, const MrTrainParams *p, int short_rows)
{
	int			k = f->k,
				d = k + 1;
	double		worst = 0;
	int32_t		i;

	for (i = 0; i < r->n_items; i++)
	{
		int64_t		lo = r->item_ptr[i],
					hi = r->item_ptr[i + 1],
					x;
		double		A[64][65];
		int			a,
					b,
					c;

		if (hi == lo || ((hi - lo) < d) != short_rows)
			continue;
		memset(A, 0, sizeof(A));
		for (x = lo; x < hi; x++)
		{
			int32_t		u = r->item_users[x];
			double		z[64],
						t = r->item_vals[x] - f->global_mean - f->user_bias[u];

			for (a = 0; a < k; a++)
				z[a] = f->P[(int64_t) u * k + a];
			z[k] = 1;
			for (a = 0; a < d; a++)
			{
				for (b = 0; b < d; b++)
					A[a][b] += z[a] * z[b];
				A[a][d] += z[a] * t;
			}
		}
		for (a = 0; a < k; a++)
			A[a][a] += p->regularization * pow((double) (hi - lo), 0.4);
		A[k][k] += p->reg_item_bias;
		for (a = 0; a < d; a++)
			A[a][a] += 1e-6;
		/* Gauss-Jordan elimination (A is positive definite: no pivoting) */
		for (a = 0; a < d; a++)
			for (b = 0; b < d; b++)
			{
				double		m;

				if (b == a)
					continue;
				m = A[b][a] / A[a][a];
				for (c = a; c <= d; c++)
					A[b][c] -= m * A[a][c];
			}
		for (a = 0; a <= k; a++)
		{
			double		want = A[a][d] / A[a][a];
			double		got = a < k ? f->Q[(int64_t) i * k + a] : f->item_bias[i];

			if (fabs(want - got) > worst)
				worst = fabs(want - got);
		}
	}
	return worst;
}

int
main(void)
{
	/* 1000 users x 800 movies, half observed: rows of about 320 and 400 */
	Planted		pl = planted_explicit(1000, 800, 10, 0.5, 0.5, 11);
	/* sparse variant: most rows shorter than k + 1, the dual path */
	Planted		sp = planted_explicit(300, 300, 10, 0.06, 0.5, 12);
	MrFactors  *f1 = bench_factors(1000, 800, 10),
			   *f2 = bench_factors(1000, 800, 10);
	MrFactors  *s1 = bench_factors(300, 300, 32),
			   *s2 = bench_factors(300, 300, 32);
	MrTrainParams p;
	char		msg[128];
	double		rmse,
				loss;

	ok(MrBlasLoad() == NULL, "OpenBLAS loads");
	MrDefaultParams("als", &p);
	p.factors = 10;
	p.threads = 1;
	loss = MrTrainAls(pl.train, &p, &rec_env, f1);
	rmse = planted_rmse(&pl, f1);
	snprintf(msg, sizeof(msg), "planted rank 10, sigma 0.5: test RMSE %.4f <= 0.55", rmse);
	ok(rmse <= 0.55, msg);
	ok(losses_decrease(1e-4) && rec_n == p.iterations && loss == rec_loss[rec_n - 1],
	   "training RMSE reported every iteration and decreasing");
	ok(fabs(loss - MrTrainRmse(pl.train, f1)) < 1e-4,
	   "reported loss equals the training RMSE of the factors");

	p.threads = 2;
	rec_n = 0;
	MrTrainAls(pl.train, &p, &rec_env, f2);
	ok(same_bits(f1, f2), "1 and 2 threads give bitwise-identical factors");
	p.seed = 43;
	MrTrainAls(pl.train, &p, &rec_env, f2);
	ok(!same_bits(f1, f2), "another seed gives other factors");

	/* the dual solve (short rows) gives a sensible, deterministic model */
	MrDefaultParams("als", &p);
	p.factors = 32;
	p.threads = 1;
	rec_n = 0;
	MrTrainAls(sp.train, &p, &rec_env, s1);
	p.threads = 2;
	rec_n = 0;
	MrTrainAls(sp.train, &p, &rec_env, s2);
	ok(same_bits(s1, s2), "sparse problem: 1 and 2 threads identical");
	ok(rec_n == p.iterations && fabs(rec_loss[rec_n - 1] - MrTrainRmse(sp.train, s1)) < 1e-4,
	   "sparse problem: reported loss equals the training RMSE");
	snprintf(msg, sizeof(msg), "short rows: movie solutions match a double-precision solve (max error %.2g)",
			 ridge_error(sp.train, s1, &p, 1));
	ok(ridge_error(sp.train, s1, &p, 1) < 1e-3, msg);
	MrDefaultParams("als", &p);
	p.factors = 10;
	snprintf(msg, sizeof(msg), "long rows: movie solutions match a double-precision solve (max error %.2g)",
			 ridge_error(pl.train, f1, &p, 0));
	ok(ridge_error(pl.train, f1, &p, 0) < 1e-3, msg);
	ok(MrKernelWorkspace("als", pl.train, &p) > 0, "workspace estimate is positive");
	printf("1..%d\n", n_test);
	return 0;
}
