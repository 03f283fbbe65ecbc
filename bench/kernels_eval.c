/*
 * kernels_eval.c: offline evaluation of movierec's training kernels on
 * MovieLens, outside the server (test-only code).
 *
 * Reads ml-100k (u.data, uN.base/uN.test) or ml-latest-small (ratings.csv),
 * splits by the issue-3 hash rule (rating (u, i) is test iff
 * ((u*100003 + i)*48271) % 2147483647 % 5 = 0) or uses the official folds,
 * trains each algorithm with its defaults (overridable with key=value) and
 * prints RMSE, MAE, NDCG@10 and coverage@10 with the training seconds.
 *
 * Metric definitions (the same as movierec.evaluate):
 *  - RMSE/MAE over every test rating; predictions mu + b_u + b_i + p.q
 *    clipped to the training rating range; an unknown user or movie drops
 *    its terms (falls back to the biases or the global mean);
 *  - ranking: every user with at least one test rating >= 4 ranks every
 *    training movie they did not rate in training by b_u + b_i + p.q (ties:
 *    smaller movie id first); NDCG@10 with gains 1/log2(rank + 1),
 *    normalised over min(10, #relevant) positions; coverage@10 = distinct
 *    movies in all top-10 lists / training movies.
 *
 * Usage: kernels_eval DATASET ALGOS [key=value ...]
 *   DATASET: 100k | small | folds (ml-100k u1..u5); data from $MOVIELENS_DIR
 *   ALGOS:   comma-separated list, e.g. popularity,baseline,als,svd,ials
 *            ("count" ranks movies by rating count: the reference
 *            popularity ranking; its RMSE is meaningless)
 *   keys:    factors iterations regularization reg_user_bias reg_item_bias
 *            learning_rate lr_decay init_std alpha binarize cg_steps
 *            use_bias threads seed verbose
 */
#include "kernels_common.h"
#include "ratings_file.h"
#include "mf_defaults.h"
#include "kern_util.h"
#include "blas.h"

#include <math.h>

#define TOPK 10

/* The issue-3 hash split: true if (u, i) is a test rating. */
static int
is_test(int64_t u, int64_t i)
{
	return ((u * 100003 + i) * 48271) % 2147483647 % 5 == 0;
}

typedef struct Result
{
	double		rmse,
				mae,
				ndcg,
				coverage,
				seconds,
				cpu;
	int			users;
} Result;

/* Train algo on train, evaluate on test. */
static Result
run_one(const char *algo, const MrTrainParams *p, const Triplets *train,
		const Triplets *test)
{
	int64_t    *uids,
			   *iids;
	int32_t		nu = distinct(train->u, train->n, &uids);
	int32_t		ni = distinct(train->i, train->n, &iids);
	int32_t    *du = malloc(sizeof(int32_t) * train->n),
			   *di = malloc(sizeof(int32_t) * train->n);
	float		rmin = 1e30f,
				rmax = -1e30f;
	MrRatings  *r;
	MrFactors  *f;
	Result		res = {0};
	int64_t		x;
	double		t0,
				c0,
				sse = 0,
				sae = 0,
				ndcg_sum = 0;
	int		   *covered = calloc(ni, sizeof(int));
	float	   *score = malloc(sizeof(float) * ni);
	char	   *seen = calloc(ni, 1);
	int32_t		u;
	/* test ratings grouped by user: sort indexes by user */
	int64_t    *order = malloc(sizeof(int64_t) * (test->n ? test->n : 1));

	for (x = 0; x < train->n; x++)
	{
		du[x] = find(uids, nu, train->u[x]);
		di[x] = find(iids, ni, train->i[x]);
		if (train->r[x] < rmin)
			rmin = train->r[x];
		if (train->r[x] > rmax)
			rmax = train->r[x];
	}
	r = bench_build(nu, ni, train->n, du, di, train->r);
	f = bench_factors(nu, ni, MrModelFactors(algo, p));
	t0 = bench_now();
	c0 = bench_cpu();
	if (strcmp(algo, "count") == 0)
	{
		/* reference ranking: movies by training rating count */
		int32_t		j;

		MrTrainPopularity(r, p, &bench_env, f);
		for (j = 0; j < ni; j++)
			f->item_bias[j] = (float) (r->item_ptr[j + 1] - r->item_ptr[j]);
	}
	else
		bench_train(algo, r, p, f);
	res.seconds = bench_now() - t0;
	res.cpu = bench_cpu() - c0;

	/* rating accuracy */
	for (x = 0; x < test->n; x++)
	{
		int32_t		a = find(uids, nu, test->u[x]),
					b = find(iids, ni, test->i[x]);
		double		pred = f->global_mean;

		if (a >= 0)
			pred += f->user_bias[a];
		if (b >= 0)
			pred += f->item_bias[b];
		if (a >= 0 && b >= 0 && f->k > 0)
			pred += MrDot(f->P + (int64_t) a * f->k, f->Q + (int64_t) b * f->k, f->k);
		if (pred < rmin)
			pred = rmin;
		if (pred > rmax)
			pred = rmax;
		sse += (pred - test->r[x]) * (pred - test->r[x]);
		sae += fabs(pred - test->r[x]);
	}
	res.rmse = sqrt(sse / test->n);
	res.mae = sae / test->n;

	/* ranking: walk test ratings user by user (sorted by user id) */
	{
		int64_t    *tu = malloc(sizeof(int64_t) * test->n);
		int64_t    *tus;
		int32_t		ntu,
					z;

		for (x = 0; x < test->n; x++)
			tu[x] = test->u[x];
		ntu = distinct(tu, test->n, &tus);
		/* bucket test ratings by test user */
		{
			int64_t    *cnt = calloc(ntu + 1, sizeof(int64_t));

			for (x = 0; x < test->n; x++)
				cnt[find(tus, ntu, test->u[x]) + 1]++;
			for (z = 0; z < ntu; z++)
				cnt[z + 1] += cnt[z];
			for (x = 0; x < test->n; x++)
				order[cnt[find(tus, ntu, test->u[x])]++] = x;
			free(cnt);
		}
		x = 0;
		for (z = 0; z < ntu; z++)
		{
			int64_t		start = x,
						y;
			int			nrel = 0,
						top[TOPK],
						ntop = 0,
						j;
			double		dcg = 0,
						idcg = 0;

			while (x < test->n && test->u[order[x]] == tus[z])
				x++;
			for (y = start; y < x; y++)
				if (test->r[order[y]] >= 4.0f && find(iids, ni, test->i[order[y]]) >= 0)
					nrel++;
			/* relevant test items unknown in training count too */
			nrel = 0;
			for (y = start; y < x; y++)
				if (test->r[order[y]] >= 4.0f)
					nrel++;
			if (nrel == 0)
				continue;
			u = find(uids, nu, tus[z]);
			memset(seen, 0, ni);
			if (u >= 0)
				for (y = r->user_ptr[u]; y < r->user_ptr[u + 1]; y++)
					seen[r->user_items[y]] = 1;
			for (j = 0; j < ni; j++)
			{
				float		s = f->item_bias[j];

				if (u >= 0)
				{
					s += f->user_bias[u];
					if (f->k > 0)
						s += MrDot(f->P + (int64_t) u * f->k, f->Q + (int64_t) j * f->k, f->k);
				}
				score[j] = s;
			}
			for (j = 0; j < ni; j++)
			{
				int			q;

				if (seen[j])
					continue;
				/* insert j keeping top sorted by score desc, index asc */
				if (ntop == TOPK && !(score[j] > score[top[TOPK - 1]]))
					continue;
				q = ntop < TOPK ? ntop++ : TOPK - 1;
				while (q > 0 && score[j] > score[top[q - 1]])
				{
					top[q] = top[q - 1];
					q--;
				}
				top[q] = j;
			}
			for (j = 0; j < ntop; j++)
			{
				covered[top[j]] = 1;
				for (y = start; y < x; y++)
					if (test->r[order[y]] >= 4.0f &&
						test->i[order[y]] == iids[top[j]])
					{
						dcg += 1.0 / log2(j + 2.0);
						break;
					}
			}
			for (j = 0; j < (nrel < TOPK ? nrel : TOPK); j++)
				idcg += 1.0 / log2(j + 2.0);
			ndcg_sum += dcg / idcg;
			res.users++;
		}
		free(tu);
		free(tus);
	}
	res.ndcg = res.users ? ndcg_sum / res.users : 0;
	{
		int32_t		c = 0,
					j;

		for (j = 0; j < ni; j++)
			c += covered[j];
		res.coverage = (double) c / ni;
	}
	bench_free_ratings(r);
	bench_free_factors(f);
	free(uids);
	free(iids);
	free(du);
	free(di);
	free(covered);
	free(score);
	free(seen);
	free(order);
	return res;
}

int
main(int argc, char **argv)
{
	const char *dir = getenv("MOVIELENS_DIR");
	char		path[1024];
	char	   *algos,
			   *algo,
			   *save;
	int			a;

	if (argc < 3)
	{
		fprintf(stderr, "usage: kernels_eval 100k|small|folds ALGO[,ALGO] [key=value ...]\n");
		return 2;
	}
	if (dir == NULL)
		dir = "/work/shared/datasets/movielens";
	if (MrBlasLoad() != NULL)
	{
		fprintf(stderr, "%s\n", MrBlasLoad());
		return 2;
	}
	algos = strdup(argv[2]);
	for (algo = strtok_r(algos, ",", &save); algo; algo = strtok_r(NULL, ",", &save))
	{
		MrTrainParams p;

		MrDefaultParams(algo, &p);
		for (a = 3; a < argc; a++)
			set_param(&p, argv[a]);
		if (strcmp(argv[1], "folds") == 0)
		{
			double		rmse = 0,
						mae = 0,
						secs = 0;
			int			fold;

			for (fold = 1; fold <= 5; fold++)
			{
				Triplets	tr = {0},
							te = {0};
				Result		res;

				snprintf(path, sizeof(path), "%s/ml-100k/u%d.base", dir, fold);
				read_file(path, '\t', &tr);
				snprintf(path, sizeof(path), "%s/ml-100k/u%d.test", dir, fold);
				read_file(path, '\t', &te);
				res = run_one(algo, &p, &tr, &te);
				printf("folds  %-10s u%d  rmse %.4f  mae %.4f  ndcg@10 %.4f  cov@10 %.4f  train %.3fs\n",
					   algo, fold, res.rmse, res.mae, res.ndcg, res.coverage, res.seconds);
				rmse += res.rmse;
				mae += res.mae;
				secs += res.seconds;
			}
			printf("folds  %-10s mean rmse %.4f  mae %.4f  train %.3fs\n",
				   algo, rmse / 5, mae / 5, secs / 5);
		}
		else
		{
			Triplets	all = {0},
						tr = {0},
						te = {0};
			Result		res;
			int64_t		x;

			if (strcmp(argv[1], "100k") == 0)
			{
				snprintf(path, sizeof(path), "%s/ml-100k/u.data", dir);
				read_file(path, '\t', &all);
			}
			else
			{
				snprintf(path, sizeof(path), "%s/ml-latest-small/ratings.csv", dir);
				read_file(path, ',', &all);
			}
			for (x = 0; x < all.n; x++)
				trip_add(is_test(all.u[x], all.i[x]) ? &te : &tr,
						 all.u[x], all.i[x], all.r[x]);
			res = run_one(algo, &p, &tr, &te);
			printf("%-6s %-10s rmse %.4f  mae %.4f  ndcg@10 %.4f  cov@10 %.4f  users %d  train %.3fs (cpu %.3fs)  (train %ld, test %ld)\n",
				   argv[1], algo, res.rmse, res.mae, res.ndcg, res.coverage,
				   res.users, res.seconds, res.cpu, (long) tr.n, (long) te.n);
		}
		fflush(stdout);
	}
	free(algos);
	return 0;
}
