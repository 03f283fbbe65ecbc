/*
 * serve_scan_batch.c: the exact top k of many users at once, for
 * recommend_all(): the full scan of serve_scan.c (int8 pass, bound,
 * exact rescoring) per user, on worker threads.
 *
 * Design.  Each user's list is computed exactly as recommend() computes
 * it on the full-scan path (the int8 pass, the user's rated movies set to
 * -INFINITY, MrTopKExact), so the lists and scores are recommend()'s, bit
 * for bit, whatever the thread count: users are independent, the item
 * data is read-only and every thread has its own score and candidate
 * arrays.  One user reads the whole int8 copy (4 MB at 62,423 x 64), so
 * the pass is bound by memory bandwidth; here a thread takes up to
 * MR_BATCH_USERS users at a time and runs the variant's pass over one
 * chunk of CHUNK_PANELS panels (256 KB of int8 at k = 64, in L2) for each
 * of them before the next chunk: the item data comes from memory once per
 * block instead of once per user.  Every item's integer sum is the same
 * whatever the range a pass covers, so the scores have the same bits.  MrParallelRows (kern_util.c) hands users to the threads in
 * small runs and calls env->check between blocks of 4,096 users, with no
 * worker alive, so a cancel stops the call there.
 *
 * Plain C over arrays: no PostgreSQL calls.
 */
#include "scan_variants.h"
#include "kern_util.h"

/* Users scored together over one chunk of panels. */
#define MR_BATCH_USERS 16

/* Panels of one chunk: 256 x 16 movies, 256 KB of int8 at k = 64. */
#define CHUNK_PANELS 256

/* What the row function of one MrTopKExactUsers call reads and writes. */
typedef struct BatchCtx
{
	const MrScanUsers *in;
	MrApproxFn	approx_fn;
	float	   *approx;			/* threads x MR_BATCH_USERS x n */
	int32_t    *cand;			/* threads x n */
} BatchCtx;

/* Up to MR_BATCH_USERS users from `first` on, with thread tid's arrays. */
static void
batch_block(const BatchCtx *c, int tid, int32_t first, int nu)
{
	const MrScanUsers *in = c->in;
	const MrPacked *pk = in->pk;
	int32_t		n = pk->n;
	int			k = pk->k;
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	size_t		stride = (size_t) MR_PANEL * MrKPad(k);
	float	   *y0 = c->approx + (size_t) tid * MR_BATCH_USERS * n;
	int32_t    *cand = c->cand + (size_t) tid * n;
	MrQuery		q[MR_BATCH_USERS];
	size_t		b;
	int			j;

	for (j = 0; j < nu; j++)
		MrQuantizeQuery(in->P + (size_t) (first + j) * k, k, &q[j]);
	for (b = 0; b < panels; b += CHUNK_PANELS)
	{
		size_t		off = b * MR_PANEL;
		size_t		end = (b + CHUNK_PANELS) * MR_PANEL < (size_t) n ? (b + CHUNK_PANELS) * MR_PANEL : (size_t) n;

		for (j = 0; j < nu; j++)
			c->approx_fn(pk->q8 + b * stride, pk->scale + off, (int32_t) (end - off), k, &q[j],
						 in->bias ? in->bias + off : NULL, y0 + (size_t) j * n + off);
	}
	for (j = 0; j < nu; j++)
	{
		int32_t		r = first + j;
		float	   *y = y0 + (size_t) j * n;
		MrScanInput si = {n, k, in->Q, pk->weight, in->bias, in->P + (size_t) r * k, NULL, 0};
		int64_t		e;

		for (e = in->ex_ptr[r]; e < in->ex_ptr[r + 1]; e++)
			y[in->ex_idx[e]] = -INFINITY;
		in->out_n[r] = MrTopKExact(&si, in->topk, y, cand,
								   in->out_index + (size_t) r * in->topk,
								   in->out_score + (size_t) r * in->topk);
	}
}

/* Users [begin, end) on thread tid, in blocks of MR_BATCH_USERS. */
static void
batch_rows(void *arg, int tid, int32_t begin, int32_t end)
{
	const BatchCtx *c = (const BatchCtx *) arg;
	int32_t		r;

	for (r = begin; r < end; r += MR_BATCH_USERS)
		batch_block(c, tid, r, end - r < MR_BATCH_USERS ? (int) (end - r) : MR_BATCH_USERS);
}

/* Bytes of scratch MrTopKExactUsers needs for `threads` threads. */
size_t
MrTopKExactUsersBytes(int32_t n, int threads)
{
	return (size_t) MrThreadCount(threads) * n * (MR_BATCH_USERS * sizeof(float) + sizeof(int32_t));
}

/* See serve_kernels.h. */
void
MrTopKExactUsers(const MrScanUsers *in, int32_t n_users, int threads, void *scratch,
				 const MrKernelEnv *env)
{
	BatchCtx	c;

	threads = MrThreadCount(threads);
	c.in = in;
	c.approx_fn = MrScanApproxFn();
	c.approx = (float *) scratch;
	c.cand = (int32_t *) (c.approx + (size_t) threads * MR_BATCH_USERS * in->pk->n);
	MrParallelRows(n_users, threads, batch_rows, &c, env);
}
