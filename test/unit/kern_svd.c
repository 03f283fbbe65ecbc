/*
 * Unit test of SGD matrix factorization (src/kernels/kern_svd.c): it learns a
 * planted model better than the bias-only baseline, its per-epoch training
 * RMSE decreases, and a seed fixes the result bitwise (params->threads
 * has no effect).  Prints TAP.
 */
// sources: src/kernels/kern_svd.c src/kernels/kern_als.c src/kernels/kern_baseline.c src/kernels/kern_popularity.c src/kernels/kern_ials.c src/kernels/kern_util.c src/kernels/mf_defaults.c
// cross: aarch64
#include "planted.h"

int
main(void)
{
	Planted		pl = planted_explicit(600, 400, 10, 0.3, 0.5, 21);
	MrFactors  *f1 = bench_factors(600, 400, 10),
			   *f2 = bench_factors(600, 400, 10),
			   *b = bench_factors(600, 400, 0);
	MrTrainParams p,
				bp;
	char		msg[128];
	double		r_svd,
				r_base;

	MrDefaultParams("svd", &p);
	p.factors = 10;
	p.iterations = 60;
	p.learning_rate = 0.02;
	p.lr_decay = 0.97;
	p.threads = 1;
	MrTrainSvd(pl.train, &p, &rec_env, f1);
	ok(losses_decrease(1e-3) && rec_n == p.iterations, "training RMSE reported every epoch and decreasing");
	MrDefaultParams("baseline", &bp);
	MrTrainBaseline(pl.train, &bp, &bench_env, b);
	r_svd = planted_rmse(&pl, f1);
	r_base = planted_rmse(&pl, b);
	snprintf(msg, sizeof(msg), "planted rank 10: svd test RMSE %.4f < 0.6 and below the baseline's %.4f",
			 r_svd, r_base);
	ok(r_svd < 0.6 && r_svd < r_base, msg);

	p.threads = 2;
	MrTrainSvd(pl.train, &p, &bench_env, f2);
	ok(same_bits(f1, f2), "same seed, 1 or 2 threads: bitwise-identical factors");
	p.seed = 99;
	MrTrainSvd(pl.train, &p, &bench_env, f2);
	ok(!same_bits(f1, f2), "another seed gives other factors");
	ok(MrKernelWorkspace("svd", pl.train, &p) >= (size_t) pl.train->nnz * 12,
	   "workspace covers the shuffled triplets");
	printf("1..%d\n", n_test);
	return 0;
}
