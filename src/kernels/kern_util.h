/*
 * kern_util.h: helpers shared by the training kernels (kern_*.c).
 *
 * Plain C, no PostgreSQL headers: a seeded PRNG (so no kernel touches
 * rand()), a fork/join helper that runs a function over row ranges on
 * worker threads, and small vector routines.
 */
#ifndef MR_KERN_UTIL_H
#define MR_KERN_UTIL_H

#include "mf.h"
#include "rng.h"

#include <stdint.h>

/* Rows handed to one worker call; env->check runs between such blocks. */
#define MR_ROW_BLOCK 4096

extern double MrRngNormal(MrRng *rng);	/* standard normal */

/* Fill n floats with N(0, std^2) draws, in order (deterministic). */
extern void MrFillNormal(MrRng *rng, float *x, int64_t n, double std);

/*
 * Work function for MrParallelRows: handle rows [begin, end) with the
 * per-thread workspace of thread `tid`.
 */
typedef void (*MrRowFn) (void *ctx, int tid, int32_t begin, int32_t end);

/*
 * Run fn over rows [0, n) in blocks of MR_ROW_BLOCK rows.  Within a
 * block, `threads` workers (one of them the calling thread) claim small
 * runs of rows dynamically; between blocks, with no worker alive,
 * env->check is called.  Results are independent of the thread count as long as fn
 * computes each row from shared read-only data only.
 */
extern void MrParallelRows(int32_t n, int threads, MrRowFn fn, void *ctx,
						   const MrKernelEnv *env);

/* Clamp a requested thread count to [1, 64]. */
extern int	MrThreadCount(int requested);

/* Dot product of two float vectors, accumulated in float lanes. */
extern float MrDot(const float *a, const float *b, int n);

/* Mean of all ratings (0 when there are none). */
extern double MrGlobalMean(const MrRatings *r);

/* Training RMSE of mu + b_u + b_i + p_u.q_i over every rating. */
extern double MrTrainRmse(const MrRatings *r, const MrFactors *f);

/* Workspace bytes of each kernel (defined next to it). */
extern size_t MrAlsWorkspace(const MrRatings *r, const MrTrainParams *p);
extern size_t MrSvdWorkspace(const MrRatings *r, const MrTrainParams *p);
extern size_t MrIalsWorkspace(const MrRatings *r, const MrTrainParams *p);

#endif							/* MR_KERN_UTIL_H */
