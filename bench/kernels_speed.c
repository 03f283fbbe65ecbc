/*
 * kernels_speed.c: training speed of movierec's kernels on synthetic data
 * (test-only code).
 *
 * Generates n ratings of a planted low-rank model (rank 10, noise 0.5,
 * values around 3.5) for U users and I movies, movies drawn with a skewed
 * popularity (index = I * u^2 for uniform u, so a few movies get many
 * ratings as in MovieLens), builds the CSR arrays, trains, and prints
 * seconds in total and per iteration.  Duplicate (user, movie) draws are
 * kept as repeated observations; they do not change the work per rating.
 *
 * Usage: kernels_speed USERS MOVIES RATINGS ALGO [key=value ...]
 *   keys as in kernels_eval (factors, iterations, threads, ...).
 */
#include "kernels_common.h"
#include "mf_defaults.h"
#include "kern_util.h"
#include "blas.h"

#include <math.h>

int
main(int argc, char **argv)
{
	int32_t		nu,
				ni;
	int64_t		n,
				x;
	const char *algo;
	MrTrainParams p;
	MrRng		rng;
	float	   *U,
			   *V,
			   *vals;
	int32_t    *du,
			   *di;
	MrRatings  *r;
	MrFactors  *f;
	double		t0,
				t1,
				t2,
				c1,
				c2;
	int			a,
				j,
				rank = 10;

	if (argc < 5)
	{
		fprintf(stderr, "usage: kernels_speed USERS MOVIES RATINGS ALGO [key=value ...]\n");
		return 2;
	}
	nu = atoi(argv[1]);
	ni = atoi(argv[2]);
	n = atoll(argv[3]);
	algo = argv[4];
	MrDefaultParams(algo, &p);
	for (a = 5; a < argc; a++)
		set_param(&p, argv[a]);
	if (MrBlasLoad() != NULL)
	{
		fprintf(stderr, "%s\n", MrBlasLoad());
		return 2;
	}

	t0 = bench_now();
	MrRngSeed(&rng, 7);
	U = malloc(sizeof(float) * (size_t) nu * rank);
	V = malloc(sizeof(float) * (size_t) ni * rank);
	MrFillNormal(&rng, U, (int64_t) nu * rank, 1.0 / sqrt(sqrt(rank)));
	MrFillNormal(&rng, V, (int64_t) ni * rank, 1.0 / sqrt(sqrt(rank)));
	du = malloc(sizeof(int32_t) * n);
	di = malloc(sizeof(int32_t) * n);
	vals = malloc(sizeof(float) * n);
	for (x = 0; x < n; x++)
	{
		double		w = MrRngUniform(&rng);

		du[x] = (int32_t) MrRngBelow(&rng, nu);
		di[x] = (int32_t) (ni * w * w);
		vals[x] = 3.5f;
		for (j = 0; j < rank; j++)
			vals[x] += U[(int64_t) du[x] * rank + j] * V[(int64_t) di[x] * rank + j];
		vals[x] += (float) (0.5 * MrRngNormal(&rng));
	}
	r = bench_build(nu, ni, n, du, di, vals);
	free(du);
	free(di);
	free(vals);
	free(U);
	free(V);
	f = bench_factors(nu, ni, MrModelFactors(algo, &p));
	t1 = bench_now();
	c1 = bench_cpu();
	bench_train(algo, r, &p, f);
	t2 = bench_now();
	c2 = bench_cpu();
	printf("%s users %d movies %d ratings %ld factors %d iterations %d threads %d: "
		   "generate %.2fs, train %.2fs (cpu %.2fs), %.3fs per iteration, workspace %.1f MB\n",
		   algo, nu, ni, (long) n, f->k, p.iterations, p.threads,
		   t1 - t0, t2 - t1, c2 - c1, (t2 - t1) / (p.iterations > 0 ? p.iterations : 1),
		   MrKernelWorkspace(algo, r, &p) / 1048576.0);
	/* MR_DUMP_FACTORS=PREFIX: PREFIX.items / PREFIX.users for bench/serve_kernels */
	if (getenv("MR_DUMP_FACTORS") && f->k > 0)
	{
		int			side;

		for (side = 0; side < 2; side++)
		{
			char		path[4096];
			int32_t		rows = side ? f->n_users : f->n_items;
			const float *M = side ? f->P : f->Q;
			const float *b = side ? f->user_bias : f->item_bias;
			FILE	   *fp;
			int32_t		i;

			snprintf(path, sizeof(path), "%s.%s", getenv("MR_DUMP_FACTORS"), side ? "users" : "items");
			fp = fopen(path, "w");
			if (fp == NULL)
				return 1;
			fprintf(fp, "%d %d\n", rows, f->k);
			for (i = 0; i < rows; i++)
			{
				fprintf(fp, "%.9g", b ? b[i] : 0.0f);
				for (j = 0; j < f->k; j++)
					fprintf(fp, " %.9g", M[(size_t) i * f->k + j]);
				fputc('\n', fp);
			}
			fclose(fp);
		}
	}
	bench_free_ratings(r);
	bench_free_factors(f);
	return 0;
}
