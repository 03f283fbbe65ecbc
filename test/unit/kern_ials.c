/*
 * Unit test of implicit ALS (src/kernels/kern_ials.c) on a planted clustered
 * problem: 400 users in 8 taste groups, each group liking its own 30 of
 * 240 movies.  A user rates 5 stars about half of the group's movies and
 * 2 stars a few random others (dropped by binarize = 4).  The model must
 * put the group's unseen movies in the user's top 10, its loss must
 * decrease, and 1 and 2 threads must give the same bits.  Prints TAP.
 */
// sources: src/kernels/kern_ials.c src/kernels/kern_als.c src/kernels/kern_svd.c src/kernels/kern_baseline.c src/kernels/kern_popularity.c src/kernels/kern_util.c src/kernels/mf_defaults.c
#include "planted.h"

#define NU 400
#define NI 240
#define GROUPS 8

/* Share of top-10 slots (over unseen movies) that are the user's group's movies. */
static double
group_precision(const MrRatings *r, const MrFactors *f)
{
	int			hits = 0,
				slots = 0;
	int32_t		u;

	for (u = 0; u < NU; u++)
	{
		char		seen[NI] = {0};
		int			taken[NI] = {0};
		int			n,
					j;
		int64_t		x;

		for (x = r->user_ptr[u]; x < r->user_ptr[u + 1]; x++)
			seen[r->user_items[x]] = 1;
		for (n = 0; n < 10; n++)
		{
			int			best = -1;
			float		bs = -1e30f;

			for (j = 0; j < NI; j++)
			{
				float		s;

				if (seen[j] || taken[j])
					continue;
				s = MrDot(f->P + u * f->k, f->Q + j * f->k, f->k);
				if (s > bs)
				{
					bs = s;
					best = j;
				}
			}
			if (best < 0)
				break;
			taken[best] = 1;
			slots++;
			hits += best / (NI / GROUPS) == u % GROUPS;
		}
	}
	return (double) hits / slots;
}

int
main(void)
{
	int32_t    *au = malloc(sizeof(int32_t) * NU * NI),
			   *ai = malloc(sizeof(int32_t) * NU * NI);
	float	   *ar = malloc(sizeof(float) * NU * NI);
	int64_t		n = 0;
	MrRng		rng;
	MrRatings  *r;
	MrFactors  *f1 = bench_factors(NU, NI, 16),
			   *f2 = bench_factors(NU, NI, 16);
	MrTrainParams p;
	char		msg[128];
	double		prec;
	int32_t		u,
				i;

	ok(MrBlasLoad() == NULL, "OpenBLAS loads");
	MrRngSeed(&rng, 5);
	for (u = 0; u < NU; u++)
		for (i = 0; i < NI; i++)
		{
			int			mine = i / (NI / GROUPS) == u % GROUPS;

			if (mine && MrRngUniform(&rng) < 0.5)
				ar[n] = 5;
			else if (!mine && MrRngUniform(&rng) < 0.03)
				ar[n] = 2;
			else
				continue;
			au[n] = u;
			ai[n++] = i;
		}
	r = bench_build(NU, NI, n, au, ai, ar);

	MrDefaultParams("ials", &p);
	p.factors = 16;
	p.threads = 1;
	MrTrainIals(r, &p, &rec_env, f1);
	ok(losses_decrease(1e-3) && rec_n == p.iterations, "loss reported every iteration and decreasing");
	prec = group_precision(r, f1);
	snprintf(msg, sizeof(msg), "top-10 of unseen movies: %.3f from the user's group (chance 0.11)", prec);
	ok(prec > 0.9, msg);

	p.threads = 2;
	MrTrainIals(r, &p, &bench_env, f2);
	ok(same_bits(f1, f2), "1 and 2 threads give bitwise-identical factors");

	/* without binarize the 2-star movies count as weak positives */
	p.binarize = 0;
	p.alpha = 10;
	MrTrainIals(r, &p, &bench_env, f2);
	ok(!same_bits(f1, f2) && group_precision(r, f2) > 0.5,
	   "confidence 1 + alpha r without binarize also learns the groups");
	ok(MrKernelWorkspace("ials", r, &p) > 0, "workspace estimate is positive");
	printf("1..%d\n", n_test);
	free(au);
	free(ai);
	free(ar);
	return 0;
}
