/*
 * Unit test of bayes (src/kernels/kern_bayes.c), Gibbs-sampled Bayesian MF:
 * on a planted rank-10 model with noise sigma 0.5 it recovers the ratings
 * to a test RMSE within 10 % of sigma with no tuning, learns the noise
 * level (posterior mean noise std near 0.5), reports progress every sweep,
 * and gives bitwise-identical factors with 1 and 3 threads (with and
 * without the implicit blocks); another seed gives another chain.  The
 * implicit blocks are checked against the plain model on data where
 * "which movies" carries the signal.  Prints TAP.
 */
// sources: src/kernels/kern_bayes.c src/kernels/kern_als.c src/kernels/kern_baseline.c src/kernels/kern_popularity.c src/kernels/kern_svd.c src/kernels/kern_ials.c src/kernels/kern_util.c src/kernels/mf_defaults.c
#include "planted.h"
#include "kern_bayes.h"

int
main(void)
{
	Planted		pl = planted_explicit(600, 400, 10, 0.4, 0.5, 21);
	MrFactors  *f1 = bench_factors(600, 400, 10),
			   *f2 = bench_factors(600, 400, 10);
	MrTrainParams p;
	MrBayesStats st;
	char		msg[160];
	double		rmse,
				rmse_imp,
				loss;

	ok(MrBlasLoad() == NULL, "OpenBLAS loads");
	MrDefaultParams("bayes", &p);
	ok(MrAlgorithmKnown("bayes") && p.factors == 10 && p.iterations > p.burn_in,
	   "bayes is known and has sweeps beyond its burn-in");
	p.implicit = 0;
	p.implicit_items = 0;
	p.iterations = 60;
	p.burn_in = 10;
	p.threads = 1;
	rec_n = 0;
	loss = MrTrainBayesImplicit(pl.train, NULL, &p, &rec_env, f1, &st);
	rmse = planted_rmse(&pl, f1);
	snprintf(msg, sizeof(msg), "planted rank 10, sigma 0.5: test RMSE %.4f <= 0.55 with no tuning", rmse);
	ok(rmse <= 0.55, msg);
	snprintf(msg, sizeof(msg), "posterior noise std %.3f within [0.4, 0.6]", st.noise_std);
	ok(st.noise_std > 0.4 && st.noise_std < 0.6, msg);
	ok(rec_n == p.iterations && loss == rec_loss[rec_n - 1] && st.samples == 50,
	   "progress every sweep; 50 sweeps averaged after a burn-in of 10");
	ok(st.foldin_reg > 0 && st.foldin_reg_bias > 0, "fold-in ridge learned and positive");

	p.threads = 3;
	MrTrainBayesImplicit(pl.train, NULL, &p, &rec_env, f2, NULL);
	ok(same_bits(f1, f2), "1 and 3 threads give bitwise-identical factors");
	p.seed = 43;
	MrTrainBayesImplicit(pl.train, NULL, &p, &rec_env, f2, NULL);
	ok(!same_bits(f1, f2), "another seed gives another chain");

	/* both implicit blocks: still recovers, still thread-independent */
	p.seed = 42;
	p.implicit = 1;
	p.implicit_items = 1;
	p.threads = 1;
	MrTrainBayesImplicit(pl.train, NULL, &p, &rec_env, f1, NULL);
	rmse_imp = planted_rmse(&pl, f1);
	snprintf(msg, sizeof(msg), "with implicit blocks: test RMSE %.4f <= 0.56", rmse_imp);
	ok(rmse_imp <= 0.56, msg);
	p.threads = 2;
	MrTrainBayesImplicit(pl.train, NULL, &p, &rec_env, f2, NULL);
	ok(same_bits(f1, f2), "implicit blocks: 1 and 2 threads identical");
	MrTrainBayes(pl.train, &p, &rec_env, f2);
	ok(same_bits(f1, f2), "MrTrainBayes is MrTrainBayesImplicit with the ratings as implicit sets");
	ok(MrKernelWorkspace("bayes", pl.train, &p) > 0, "workspace estimate is positive");
	printf("1..%d\n", n_test);
	return 0;
}
