/*
 * bayes_eval.c: offline RMSE of the bayes kernel on MovieLens splits,
 * outside the server (test-only code; bench/bayes_eval compiles it).
 *
 * Usage: bayes_eval SPLIT [SPLIT ...] [key=value ...]
 *   SPLIT: u1..u5, ua, ub (ml-100k official), hash100k, hashsmall (the
 *          issue-3 hash split), or inner:SPLIT (the training part of SPLIT
 *          split again by the hash rule with a different multiplier: test
 *          iff ((u*100003 + i)*69621) % 2147483647 % 5 = 0; used to choose
 *          the defaults without looking at SPLIT's test part)
 *   keys:  factors iterations burn_in implicit seed threads init_std
 *          use_bias, and imp=all|train (implicit sets from train + test,
 *          which is what the database knows, or from train only)
 * Prints the test RMSE (predictions clipped to the training range) per
 * split and their mean, and the training seconds.
 */
#include "kernels_common.h"
#include "kern_bayes.h"
#include "mf_defaults.h"
#include "kern_util.h"
#include "blas.h"

#include <math.h>

typedef struct Trip
{
	int64_t		n,
				cap;
	int64_t    *u,
			   *i;
	float	   *r;
} Trip;

/* Append one rating. */
static void
add(Trip *t, int64_t u, int64_t i, float r)
{
	if (t->n == t->cap)
	{
		t->cap = t->cap ? 2 * t->cap : 1 << 16;
		t->u = realloc(t->u, sizeof(int64_t) * t->cap);
		t->i = realloc(t->i, sizeof(int64_t) * t->cap);
		t->r = realloc(t->r, sizeof(float) * t->cap);
	}
	t->u[t->n] = u;
	t->i[t->n] = i;
	t->r[t->n++] = r;
}

/* Read "u sep i sep r ..." lines (a header line is skipped). */
static void
readf(const char *path, char sep, Trip *t)
{
	FILE	   *f = fopen(path, "r");
	char		line[512];

	if (f == NULL)
	{
		perror(path);
		exit(2);
	}
	while (fgets(line, sizeof(line), f))
	{
		char	   *a = line,
				   *b;
		long long	u,
					i;
		double		r;

		u = strtoll(a, &b, 10);
		if (b == a || *b != sep)
			continue;
		a = b + 1;
		i = strtoll(a, &b, 10);
		a = b + 1;
		r = strtod(a, &b);
		add(t, u, i, (float) r);
	}
	fclose(f);
}

/* The hash rule with multiplier mult. */
static int
hash_test(int64_t u, int64_t i, int64_t mult)
{
	return ((u * 100003 + i) * mult) % 2147483647 % 5 == 0;
}

static int64_t
find(const int64_t *v, int32_t n, int64_t x)
{
	int32_t		lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int32_t		m = (lo + hi) / 2;

		if (v[m] == x)
			return m;
		if (v[m] < x)
			lo = m + 1;
		else
			hi = m - 1;
	}
	return -1;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return x < y ? -1 : x > y;
}

/* Sorted distinct values. */
static int32_t
distinct(const int64_t *v, int64_t n, int64_t **out)
{
	int64_t    *s = malloc(sizeof(int64_t) * (n ? n : 1));
	int64_t		x;
	int32_t		m = 0;

	memcpy(s, v, sizeof(int64_t) * n);
	qsort(s, n, sizeof(int64_t), cmp64);
	for (x = 0; x < n; x++)
		if (m == 0 || s[m - 1] != s[x])
			s[m++] = s[x];
	*out = s;
	return m;
}

static const char *dir;

/* Test predictions averaged over the kept samples (the "predictive mean"). */
typedef struct PredAvg
{
	int64_t		n;
	int32_t    *a,
			   *b;
	double	   *sum;
	int			samples,
				k;
	float		mu;
} PredAvg;

/* mr_bayes_sample_hook: add every test prediction of this sample. */
static void
pred_hook(void *arg, const float *Eu, const float *Ei, int d)
{
	PredAvg    *pa = arg;
	int64_t		x;
	int			k = pa->k;

	for (x = 0; x < pa->n; x++)
	{
		double		v = pa->mu;

		if (pa->a[x] >= 0 && d > k)
			v += Eu[(int64_t) pa->a[x] * d + k];
		if (pa->b[x] >= 0 && d > k)
			v += Ei[(int64_t) pa->b[x] * d + k];
		if (pa->a[x] >= 0 && pa->b[x] >= 0)
			v += MrDot(Eu + (int64_t) pa->a[x] * d, Ei + (int64_t) pa->b[x] * d, k);
		pa->sum[x] += v;
	}
	pa->samples++;
}
static double last_pred_rmse;
static int	imp_all = 1;

/* Load SPLIT into train and test. */
static void
load(const char *split, Trip *tr, Trip *te)
{
	char		path[1024];

	if (strncmp(split, "inner:", 6) == 0)
	{
		Trip		a = {0},
					b = {0};
		int64_t		x;

		load(split + 6, &a, &b);
		for (x = 0; x < a.n; x++)
			add(hash_test(a.u[x], a.i[x], 69621) ? te : tr, a.u[x], a.i[x], a.r[x]);
		return;
	}
	if (strncmp(split, "hash", 4) == 0)
	{
		Trip		all = {0};
		int64_t		x;

		if (strcmp(split, "hash100k") == 0)
		{
			snprintf(path, sizeof(path), "%s/ml-100k/u.data", dir);
			readf(path, '\t', &all);
		}
		else
		{
			snprintf(path, sizeof(path), "%s/ml-latest-small/ratings.csv", dir);
			readf(path, ',', &all);
		}
		for (x = 0; x < all.n; x++)
			add(hash_test(all.u[x], all.i[x], 48271) ? te : tr, all.u[x], all.i[x], all.r[x]);
		return;
	}
	snprintf(path, sizeof(path), "%s/ml-100k/%s.base", dir, split);
	readf(path, '\t', tr);
	snprintf(path, sizeof(path), "%s/ml-100k/%s.test", dir, split);
	readf(path, '\t', te);
}

/* Train on SPLIT's training part and return the test RMSE. */
static double
run(const char *split, const MrTrainParams *p, double *secs)
{
	Trip		tr = {0},
				te = {0};
	int64_t    *uids,
			   *iids,
				x,
				ni_imp = 0;
	int32_t		nu,
				ni;
	int32_t    *du,
			   *di,
			   *iu,
			   *ii;
	float	   *iv;
	MrRatings  *r,
			   *imp;
	MrFactors  *f;
	float		rmin = 1e30f,
				rmax = -1e30f;
	double		sse = 0,
				t0;
	MrBayesStats st;

	load(split, &tr, &te);
	nu = distinct(tr.u, tr.n, &uids);
	ni = distinct(tr.i, tr.n, &iids);
	du = malloc(sizeof(int32_t) * tr.n);
	di = malloc(sizeof(int32_t) * tr.n);
	iu = malloc(sizeof(int32_t) * (tr.n + te.n));
	ii = malloc(sizeof(int32_t) * (tr.n + te.n));
	iv = calloc(tr.n + te.n, sizeof(float));
	for (x = 0; x < tr.n; x++)
	{
		du[x] = find(uids, nu, tr.u[x]);
		di[x] = find(iids, ni, tr.i[x]);
		iu[ni_imp] = du[x];
		ii[ni_imp++] = di[x];
		if (tr.r[x] < rmin)
			rmin = tr.r[x];
		if (tr.r[x] > rmax)
			rmax = tr.r[x];
	}
	if (imp_all)
		for (x = 0; x < te.n; x++)
		{
			int64_t		a = find(uids, nu, te.u[x]),
						b = find(iids, ni, te.i[x]);

			if (a >= 0 && b >= 0)
			{
				iu[ni_imp] = (int32_t) a;
				ii[ni_imp++] = (int32_t) b;
			}
		}
	r = bench_build(nu, ni, tr.n, du, di, tr.r);
	imp = bench_build(nu, ni, ni_imp, iu, ii, iv);
	f = bench_factors(nu, ni, p->factors);
	{
		static PredAvg pa;
		double		mu = 0;

		for (x = 0; x < tr.n; x++)
			mu += tr.r[x];
		pa.mu = (float) (mu / tr.n);
		pa.n = te.n;
		pa.k = p->factors;
		pa.samples = 0;
		pa.a = malloc(sizeof(int32_t) * te.n);
		pa.b = malloc(sizeof(int32_t) * te.n);
		pa.sum = calloc(te.n, sizeof(double));
		for (x = 0; x < te.n; x++)
		{
			pa.a[x] = (int32_t) find(uids, nu, te.u[x]);
			pa.b[x] = (int32_t) find(iids, ni, te.i[x]);
		}
		mr_bayes_sample_hook = pred_hook;
		mr_bayes_sample_arg = &pa;
	}
	t0 = bench_now();
	MrTrainBayesImplicit(r, imp, p, &bench_env, f, &st);
	*secs = bench_now() - t0;
	{
		PredAvg    *pa = mr_bayes_sample_arg;
		double		e2 = 0;

		for (x = 0; x < te.n; x++)
		{
			double		v = pa->sum[x] / pa->samples;

			v = v < rmin ? rmin : v > rmax ? rmax : v;
			e2 += (v - te.r[x]) * (v - te.r[x]);
		}
		last_pred_rmse = sqrt(e2 / te.n);
		free(pa->a);
		free(pa->b);
		free(pa->sum);
	}
	for (x = 0; x < te.n; x++)
	{
		int64_t		a = find(uids, nu, te.u[x]),
					b = find(iids, ni, te.i[x]);
		double		pred = f->global_mean;

		if (a >= 0)
			pred += f->user_bias[a];
		if (b >= 0)
			pred += f->item_bias[b];
		if (a >= 0 && b >= 0)
			pred += MrDot(f->P + a * f->k, f->Q + b * f->k, f->k);
		pred = pred < rmin ? rmin : pred > rmax ? rmax : pred;
		sse += (pred - te.r[x]) * (pred - te.r[x]);
	}
	if (bench_verbose)
	{
		uint64_t	h = 1469598103934665603ULL;
		const unsigned char *b[4] = {(const unsigned char *) f->P, (const unsigned char *) f->Q,
		(const unsigned char *) f->user_bias, (const unsigned char *) f->item_bias};
		size_t		len[4] = {sizeof(float) * nu * f->k, sizeof(float) * ni * f->k,
		sizeof(float) * nu, sizeof(float) * ni};

		for (int q = 0; q < 4; q++)
			for (size_t z = 0; z < len[q]; z++)
				h = (h ^ b[q][z]) * 1099511628211ULL;
		fprintf(stderr, "  %s: factors checksum %016llx\n", split, (unsigned long long) h);
	}
	if (bench_verbose)
		fprintf(stderr, "  %s: noise %.4f foldin_reg %.4f foldin_reg_bias %.4f samples %d\n",
				split, st.noise_std, st.foldin_reg, st.foldin_reg_bias, st.samples);
	bench_free_ratings(r);
	bench_free_ratings(imp);
	bench_free_factors(f);
	return sqrt(sse / te.n);
}

int
main(int argc, char **argv)
{
	MrTrainParams p;
	int			a,
				n = 0;
	double		sum = 0;

	dir = getenv("MOVIELENS_DIR") ? getenv("MOVIELENS_DIR") : "/work/shared/datasets/movielens";
	if (MrBlasLoad() != NULL)
	{
		fprintf(stderr, "%s\n", MrBlasLoad());
		return 2;
	}
	MrDefaultParams("bayes", &p);
	for (a = 1; a < argc; a++)
		if (strchr(argv[a], '=') != NULL)
		{
			if (strncmp(argv[a], "imp=", 4) == 0)
				imp_all = strcmp(argv[a] + 4, "all") == 0;
			else if (strncmp(argv[a], "burn_in=", 8) == 0)
				p.burn_in = atoi(argv[a] + 8);
			else if (strncmp(argv[a], "implicit=", 9) == 0)
				p.implicit = atoi(argv[a] + 9);
			else if (strncmp(argv[a], "implicit_items=", 15) == 0)
				p.implicit_items = atoi(argv[a] + 15);
			else
				set_param(&p, argv[a]);
		}
	for (a = 1; a < argc; a++)
		if (strchr(argv[a], '=') == NULL)
		{
			double		secs,
						rmse = run(argv[a], &p, &secs);

			printf("%-14s rmse %.4f  (averaged predictions %.4f)  train %.2fs\n", argv[a], rmse, last_pred_rmse, secs);
			fflush(stdout);
			sum += rmse;
			n++;
		}
	if (n > 1)
		printf("%-14s rmse %.4f  (k=%d sweeps=%d burn_in=%d implicit=%d,%d imp=%s)\n", "mean", sum / n,
			   p.factors, p.iterations, p.burn_in, p.implicit, p.implicit_items, imp_all ? "all" : "train");
	return 0;
}
