/*
 * kernels_common.h: test-only helpers shared by the kernel benchmarks and
 * unit tests: a malloc-based MrKernelEnv, building MrRatings from
 * (user, item, rating) triplets, and a wall clock.
 */
#ifndef MR_KERNELS_COMMON_H
#define MR_KERNELS_COMMON_H

#include "mf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int	bench_verbose = 0;

/* env->alloc: zeroed memory or exit. */
static void *
bench_alloc(void *arg, size_t bytes)
{
	void	   *p = calloc(1, bytes ? bytes : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory (%zu bytes)\n", bytes);
		exit(2);
	}
	return p;
}

/* env->free. */
static void
bench_free(void *arg, void *ptr)
{
	free(ptr);
}

/* env->check: nothing to cancel outside the server. */
static void
bench_check(void *arg)
{
}

/* env->progress: print when verbose. */
static void
bench_progress(void *arg, const char *phase, int it, int of, double loss)
{
	if (bench_verbose)
		fprintf(stderr, "  %s %d/%d loss %.5f\n", phase, it, of, loss);
}

static const MrKernelEnv bench_env = {
	bench_alloc, bench_free, bench_check, bench_progress, NULL
};

/* CPU seconds used by the process (all threads). */
static double
bench_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Seconds on a monotonic clock. */
static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * Build both CSR orientations from n triplets with dense ids in
 * [0, n_users) x [0, n_items).  Within a row, entries are sorted by the
 * other index (counting sort by item, then stable scatter by user).
 */
static MrRatings *
bench_build(int32_t n_users, int32_t n_items, int64_t n,
			const int32_t *u, const int32_t *i, const float *v)
{
	MrRatings  *r = bench_alloc(NULL, sizeof(MrRatings));
	int64_t    *pos;
	int64_t		x;
	int32_t		a;

	r->n_users = n_users;
	r->n_items = n_items;
	r->nnz = n;
	r->user_ptr = bench_alloc(NULL, sizeof(int64_t) * (n_users + 1));
	r->item_ptr = bench_alloc(NULL, sizeof(int64_t) * (n_items + 1));
	r->user_items = bench_alloc(NULL, sizeof(int32_t) * (n ? n : 1));
	r->user_vals = bench_alloc(NULL, sizeof(float) * (n ? n : 1));
	r->item_users = bench_alloc(NULL, sizeof(int32_t) * (n ? n : 1));
	r->item_vals = bench_alloc(NULL, sizeof(float) * (n ? n : 1));
	for (x = 0; x < n; x++)
	{
		r->user_ptr[u[x] + 1]++;
		r->item_ptr[i[x] + 1]++;
	}
	for (a = 0; a < n_users; a++)
		r->user_ptr[a + 1] += r->user_ptr[a];
	for (a = 0; a < n_items; a++)
		r->item_ptr[a + 1] += r->item_ptr[a];
	/* by item, users in input order; then by user walking items in order */
	pos = bench_alloc(NULL, sizeof(int64_t) * ((n_users > n_items ? n_users : n_items) + 1));
	memcpy(pos, r->item_ptr, sizeof(int64_t) * n_items);
	for (x = 0; x < n; x++)
	{
		r->item_users[pos[i[x]]] = u[x];
		r->item_vals[pos[i[x]]++] = v[x];
	}
	memcpy(pos, r->user_ptr, sizeof(int64_t) * n_users);
	for (a = 0; a < n_items; a++)
		for (x = r->item_ptr[a]; x < r->item_ptr[a + 1]; x++)
		{
			int32_t		uu = r->item_users[x];

			r->user_items[pos[uu]] = a;
			r->user_vals[pos[uu]++] = r->item_vals[x];
		}
	/* rebuild by item from by user so users ascend within an item */
	memcpy(pos, r->item_ptr, sizeof(int64_t) * n_items);
	for (a = 0; a < n_users; a++)
		for (x = r->user_ptr[a]; x < r->user_ptr[a + 1]; x++)
		{
			int32_t		ii = r->user_items[x];

			r->item_users[pos[ii]] = a;
			r->item_vals[pos[ii]++] = r->user_vals[x];
		}
	free(pos);
	return r;
}

/* Free what bench_build allocated. */
static void
bench_free_ratings(MrRatings *r)
{
	free(r->user_ptr);
	free(r->item_ptr);
	free(r->user_items);
	free(r->user_vals);
	free(r->item_users);
	free(r->item_vals);
	free(r);
}

/* Allocate factors of the given shape (P, Q NULL when k = 0). */
static MrFactors *
bench_factors(int32_t n_users, int32_t n_items, int k)
{
	MrFactors  *f = bench_alloc(NULL, sizeof(MrFactors));

	f->n_users = n_users;
	f->n_items = n_items;
	f->k = k;
	f->user_bias = bench_alloc(NULL, sizeof(float) * (n_users + 1));
	f->item_bias = bench_alloc(NULL, sizeof(float) * (n_items + 1));
	if (k > 0)
	{
		f->P = bench_alloc(NULL, sizeof(float) * (size_t) n_users * k);
		f->Q = bench_alloc(NULL, sizeof(float) * (size_t) n_items * k);
	}
	return f;
}

/* Free factors. */
static void
bench_free_factors(MrFactors *f)
{
	free(f->user_bias);
	free(f->item_bias);
	free(f->P);
	free(f->Q);
	free(f);
}

/* Run the named kernel. */
static double
bench_train(const char *algo, const MrRatings *r, const MrTrainParams *p, MrFactors *f)
{
	if (strcmp(algo, "popularity") == 0)
		return MrTrainPopularity(r, p, &bench_env, f);
	if (strcmp(algo, "baseline") == 0)
		return MrTrainBaseline(r, p, &bench_env, f);
	if (strcmp(algo, "als") == 0)
		return MrTrainAls(r, p, &bench_env, f);
	if (strcmp(algo, "svd") == 0)
		return MrTrainSvd(r, p, &bench_env, f);
	if (strcmp(algo, "ials") == 0)
		return MrTrainIals(r, p, &bench_env, f);
	fprintf(stderr, "unknown algorithm %s\n", algo);
	exit(2);
}

/* Apply one key=value override. */
static void
set_param(MrTrainParams *p, const char *kv)
{
	const char *eq = strchr(kv, '=');
	double		v;
	size_t		n;

	if (eq == NULL)
	{
		fprintf(stderr, "expected key=value: %s\n", kv);
		exit(2);
	}
	v = atof(eq + 1);
	n = eq - kv;
#define KEY(name) (n == strlen(name) && strncmp(kv, name, n) == 0)
	if (KEY("factors"))
		p->factors = (int) v;
	else if (KEY("iterations"))
		p->iterations = (int) v;
	else if (KEY("regularization"))
		p->regularization = v;
	else if (KEY("reg_user_bias"))
		p->reg_user_bias = v;
	else if (KEY("reg_item_bias"))
		p->reg_item_bias = v;
	else if (KEY("learning_rate"))
		p->learning_rate = v;
	else if (KEY("lr_decay"))
		p->lr_decay = v;
	else if (KEY("init_std"))
		p->init_std = v;
	else if (KEY("alpha"))
		p->alpha = v;
	else if (KEY("binarize"))
		p->binarize = v;
	else if (KEY("cg_steps"))
		p->cg_steps = (int) v;
	else if (KEY("use_bias"))
		p->use_bias = (int) v;
	else if (KEY("threads"))
		p->threads = (int) v;
	else if (KEY("seed"))
		p->seed = (uint64_t) v;
	else if (KEY("verbose"))
		bench_verbose = (int) v;
	else
	{
		fprintf(stderr, "unknown key %.*s\n", (int) n, kv);
		exit(2);
	}
}

#endif							/* MR_KERNELS_COMMON_H */
