/*
 * kern_util.c: PRNG, thread fork/join and vector helpers for the kernels.
 *
 * Threads.  Kernels parallelise over rows (users or items) whose solves
 * are independent, so each row's result depends only on shared read-only
 * inputs and neither the thread count nor which thread solves a row can
 * change a single bit.  Within a block, threads claim 16 rows at a time
 * from an atomic counter: rows differ in length by orders of magnitude
 * (a blockbuster has thousands of ratings, most movies a handful), so
 * static slices would leave one thread with most of the work.  Threads are
 * created per block of rows and joined before the next env->check call:
 * mf.h requires that no worker is alive when check or progress run,
 * because in the server they may longjmp out of the kernel.  Creating a
 * couple of threads per 4096 rows costs microseconds against the
 * milliseconds of solving those rows.
 */
#include "kern_util.h"

#include <math.h>
#include <pthread.h>

/* Standard normal draw (Box-Muller, one value per call). */
double
MrRngNormal(MrRng *rng)
{
	double		u1 = MrRngUniform(rng),
				u2 = MrRngUniform(rng);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Fill x[0..n) with N(0, std^2) draws. */
void
MrFillNormal(MrRng *rng, float *x, int64_t n, double std)
{
	int64_t		i;

	for (i = 0; i < n; i++)
		x[i] = (float) (MrRngNormal(rng) * std);
}

/* Clamp a requested thread count to [1, 64]. */
int
MrThreadCount(int requested)
{
	if (requested < 1)
		return 1;
	if (requested > 64)
		return 64;
	return requested;
}

/* Rows a worker claims at a time from a block. */
#define MR_ROW_GRAIN 16

typedef struct RowTask
{
	MrRowFn		fn;
	void	   *ctx;
	int			tid;
	int32_t		end;
	int32_t    *next;			/* shared: first unclaimed row */
} RowTask;

/* Worker loop: claim MR_ROW_GRAIN rows at a time until the block is done. */
static void *
row_task_main(void *arg)
{
	RowTask    *t = (RowTask *) arg;

	for (;;)
	{
		int32_t		b = __atomic_fetch_add(t->next, MR_ROW_GRAIN, __ATOMIC_RELAXED);

		if (b >= t->end)
			break;
		t->fn(t->ctx, t->tid, b, b + MR_ROW_GRAIN < t->end ? b + MR_ROW_GRAIN : t->end);
	}
	return NULL;
}

/* See kern_util.h. */
void
MrParallelRows(int32_t n, int threads, MrRowFn fn, void *ctx,
			   const MrKernelEnv *env)
{
	int32_t		start;

	threads = MrThreadCount(threads);
	for (start = 0; start < n; start += MR_ROW_BLOCK)
	{
		int32_t		end = start + MR_ROW_BLOCK < n ? start + MR_ROW_BLOCK : n;
		int32_t		next = start;
		int			nt = threads;
		RowTask		task[64];
		pthread_t	tids[64];
		int			started[64];
		int			t;

		if (env != NULL && env->check != NULL)
			env->check(env->arg);
		if (end - start < 4 * MR_ROW_GRAIN)
			nt = 1;
		for (t = 0; t < nt; t++)
		{
			task[t].fn = fn;
			task[t].ctx = ctx;
			task[t].tid = t;
			task[t].end = end;
			task[t].next = &next;
			started[t] = 0;
		}
		for (t = 1; t < nt; t++)
			started[t] = pthread_create(&tids[t], NULL, row_task_main, &task[t]) == 0;
		row_task_main(&task[0]);
		/* a worker that could not start has nothing left to do by now */
		for (t = 1; t < nt; t++)
			if (started[t])
				pthread_join(tids[t], NULL);
	}
	if (env != NULL && env->check != NULL)
		env->check(env->arg);
}

/* Dot product with four independent accumulators. */
float
MrDot(const float *a, const float *b, int n)
{
	float		s0 = 0,
				s1 = 0,
				s2 = 0,
				s3 = 0;
	int			j = 0;

	for (; j + 4 <= n; j += 4)
	{
		s0 += a[j] * b[j];
		s1 += a[j + 1] * b[j + 1];
		s2 += a[j + 2] * b[j + 2];
		s3 += a[j + 3] * b[j + 3];
	}
	for (; j < n; j++)
		s0 += a[j] * b[j];
	return (s0 + s1) + (s2 + s3);
}

/* Mean rating, accumulated in double. */
double
MrGlobalMean(const MrRatings *r)
{
	double		sum = 0;
	int64_t		x;

	if (r->nnz <= 0)
		return 0;
	for (x = 0; x < r->nnz; x++)
		sum += r->user_vals[x];
	return sum / (double) r->nnz;
}

/* Training RMSE of the full prediction (no clipping). */
double
MrTrainRmse(const MrRatings *r, const MrFactors *f)
{
	double		sse = 0;
	int32_t		u;

	if (r->nnz <= 0)
		return 0;
	for (u = 0; u < r->n_users; u++)
	{
		int64_t		x;
		const float *pu = (f->k > 0 && f->P && f->Q) ? f->P + (int64_t) u * f->k : NULL;

		for (x = r->user_ptr[u]; x < r->user_ptr[u + 1]; x++)
		{
			int32_t		i = r->user_items[x];
			double		pred = f->global_mean + f->user_bias[u] + f->item_bias[i];
			double		e;

			if (pu)
				pred += MrDot(pu, f->Q + (int64_t) i * f->k, f->k);
			e = r->user_vals[x] - pred;
			sse += e * e;
		}
	}
	return sqrt(sse / (double) r->nnz);
}
