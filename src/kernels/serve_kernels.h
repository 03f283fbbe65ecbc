/*
 * serve_kernels.h: pure-C kernels of serving (no PostgreSQL headers).
 *
 * topk.c selects the exact top k of a score vector with a bounded
 * heap; serve_foldin.c solves one user's factors from ratings against
 * fixed item factors.  Both are unit tested outside the server
 * (test/unit/topk.c, test/unit/serve_foldin.c).
 */
#ifndef MR_SERVE_KERNELS_H
#define MR_SERVE_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topk.h"

/* Items per panel of the packed item layout (serve_scan.c). */
#define MR_PANEL 16

/* Largest k the SIMD variants take (wider models use the plain loop). */
#define MR_SERVE_SCAN_MAX_K 1024

/*
 * The int8 copy of n x k item factors that the approximate pass reads
 * (serve_scan.c): panels of 16 items with the factors in pairs,
 * q8[b][f / 2][j][f % 2] = round(Q[16 b + j][f] / scale[16 b + j]), and per
 * item the scale and the weight w_i of the error bound
 * |approx_i - exact_i| <= w_i |p| + |approx_i| 2^-21 + 2^-100.
 */
typedef struct MrPacked
{
	int32_t		n;				/* items */
	int			k;				/* factors */
	int8_t	   *q8;				/* panels (k padded to even) */
	float	   *scale;			/* n padded to a panel: s_i = max |q_if| / 127 */
	float	   *weight;			/* n padded to a panel: w_i */
} MrPacked;

/* Bytes MrPackItems needs for n x k factors. */
extern size_t MrPackedBytes(int32_t n, int k);

/*
 * Pack Q (n x k row-major) into mem (MrPackedBytes bytes, 64-byte
 * aligned), filling *pk.
 */
extern void MrPackItems(const float *Q, int32_t n, int k, void *mem, MrPacked *pk);

/*
 * Approximate scores y[i] = bias[i] + q~_i . p~ from the int8 copy for
 * every item i < n (bias may be NULL); y needs n floats.
 */
extern void MrScoreApprox(const MrPacked *pk, const float *p, const float *bias, float *y);

/*
 * The int4 copy that recommend()'s full scan reads first (serve_scan4.c):
 * half the bytes of the int8 copy, with a bound about ten times wider.
 * Panels of 16 items, factors in quads (k padded to 8): byte t of quad g
 * of panel b holds factor 4 g + t % 4 of item 16 b + t / 4 in its low
 * nibble and of item 16 b + 8 + t / 4 in its high nibble, as v + 8 with
 * v = round(Q[i][f] / scale[i]) in -7..7.  weight[i] is w_i of the same
 * bound as MrPacked's.
 */
typedef struct MrPacked4
{
	int32_t		n;				/* items */
	int			k;				/* factors */
	uint8_t    *q4;				/* panels, 32 bytes per quad */
	float	   *scale;			/* n padded to a panel: max |q_if| / 7 */
	float	   *weight;			/* n padded to a panel: w_i */
} MrPacked4;

/* Bytes MrPackItems4 needs for n x k factors. */
extern size_t MrPacked4Bytes(int32_t n, int k);

/* Pack Q (n x k) into mem (MrPacked4Bytes, 64-byte aligned). */
extern void MrPackItems4(const float *Q, int32_t n, int k, void *mem, MrPacked4 *pk);

/*
 * Approximate scores y[i] = bias[i] + q~_i . p~ from the int4 copy (bias
 * may be NULL), for MrTopKExact with weight = pk->weight.  False (y
 * untouched) when p's own rounding is too coarse for that bound: then use
 * MrScoreApprox.
 */
extern bool MrScoreApprox4(const MrPacked4 *pk, const float *p, const float *bias, float *y);

/*
 * The exact float score bias + q . p, summed in order f = 0..k-1 with
 * fused multiply-adds: the reference every path ranks by.
 */
extern float MrScoreExact(const float *q, int k, const float *p, float bias);

/*
 * Name of the scan variant in use (simd_dispatch.h has the full API).
 * mode 0: as is; 1: switch to portable; 2: choose the best variant again;
 * 3: AVX-512F if the CPU has it.
 */
extern const char *MrScoreKernelName(int mode);

/* What MrTopKExact scores. */
typedef struct MrScanInput
{
	int32_t		n;				/* items */
	int			k;				/* factors */
	const float *Q;				/* n x k row-major, exact */
	const float *weight;		/* w_i of the bound (MrPacked) */
	const float *bias;			/* n, or NULL */
	const float *p;				/* k */
	int32_t    *n_rescored;		/* out: items rescored exactly */
	int32_t		max_rescore;	/* > 0: give up (return -1) above this many */
} MrScanInput;

/*
 * Exact top k given approx[] from MrScoreApprox (with -INFINITY written
 * over excluded items): candidates are rescored exactly in place (approx
 * then holds exact scores at cand[0..m)).  cand needs n entries.  Returns
 * the count, best first in out_index/out_score, ties by smaller index; or
 * -1, with approx unchanged, when more than in->max_rescore (if > 0) items
 * would have to be rescored.
 */
extern int	MrTopKExact(const MrScanInput *in, int k, float *approx, int32_t *cand,
						int32_t *out_index, float *out_score);

/*
 * The exact top k of many users (serve_scan_batch.c): user r's vector is
 * P + r k, its excluded items ex_idx[ex_ptr[r] .. ex_ptr[r + 1]); its
 * count goes to out_n[r], its items and scores, best first, to
 * out_index/out_score + r topk.  The same lists as MrScoreApprox +
 * MrTopKExact per user, on `threads` threads (scratch:
 * MrTopKExactUsersBytes); env->check runs between blocks of users.
 */
typedef struct MrScanUsers
{
	const MrPacked *pk;			/* the int8 copy of Q */
	const float *Q;				/* n x k, exact */
	const float *bias;			/* n, or NULL */
	const float *P;				/* users x k */
	const int64_t *ex_ptr;		/* users + 1 */
	const int32_t *ex_idx;
	int			topk;
	int32_t    *out_n;
	int32_t    *out_index;
	float	   *out_score;
} MrScanUsers;

struct MrKernelEnv;
extern size_t MrTopKExactUsersBytes(int32_t n, int threads);
extern void MrTopKExactUsers(const MrScanUsers *in, int32_t n_users, int threads,
							 void *scratch, const struct MrKernelEnv *env);

/*
 * Norm-ordered exact top k (serve_prune.c): the items sorted once by an
 * upper-bound key, packed in that order, with per-panel suffix maxima of
 * bias and |q|, so that a query stops as soon as no later item can reach
 * the k-th score.  Memory: MrPruneBytes(n, k), owned by the caller.
 */
#define MR_PRUNE_GRID 8

typedef struct MrPrune
{
	int32_t		n;				/* items */
	int			k;				/* factors */
	int32_t    *perm;			/* position -> item index */
	int32_t    *ipos;			/* item index -> position */
	MrPacked	packed;			/* int8 copy in position order */
	float	   *norm;			/* |q| by position */
	float	   *bias;			/* bias by position */
	double	   *suf_max;		/* per panel, MR_PRUNE_GRID values: max of
								 * bias + c_j |q| from this panel on */
	double	   *suf_norm;		/* per panel: max |q| from this panel on */
	double		grid[8];		/* the c_j, increasing */
	float	   *y;				/* n: scores by position (scratch) */
	int32_t    *cand;			/* n: candidate positions (scratch) */
	uint8_t    *mark;			/* n: excluded positions (scratch, kept zero) */
} MrPrune;

/* Bytes MrPruneBuild needs for n items of k factors. */
extern size_t MrPruneBytes(int32_t n, int k);

/*
 * Build the index in mem (MrPruneBytes, 64-byte aligned) from Q (n x k),
 * norm and bias (NULL: zero).  key_norm weights |q| in the sort key
 * bias + key_norm |q| (a typical user-vector norm).
 */
extern void MrPruneBuild(MrPrune *ix, void *mem, const float *Q, const float *norm,
						 const float *bias, int32_t n, int k, float key_norm);

/*
 * Exact top k of bias + q . p over the items not in excl[0..n_excl)
 * (item indexes), the same result as MrScoreApprox + MrTopKExact: ids,
 * order, scores and ties.  Q and bias are the original arrays.  Sets
 * *n_visited to the items scanned.  Returns the count.
 */
extern int	MrPruneTopK(const MrPrune *ix, const float *Q, const float *bias,
						const float *p, int k, const int32_t *excl, int32_t n_excl,
						int32_t *out_index, float *out_score, int32_t *n_visited);

/* What a model's user step looks like (read from models.params). */
typedef struct MrFoldInSpec
{
	int			k;				/* factors (0: bias only) */
	int			implicit;		/* ials: confidence-weighted, no biases */
	int			use_bias;		/* explicit: solve a user bias too */
	float		reg_exponent;	/* explicit: factor L2 is reg * n_u^reg_exponent */
	float		reg;			/* factor L2 */
	float		reg_bias;		/* user-bias L2 (not frequency-weighted) */
	float		alpha;			/* implicit: confidence 1 + alpha * r */
	float		binarize;		/* implicit: r >= binarize -> 1, else dropped; <= 0 off */
	float		global_mean;
	const float *Q;				/* n_items x k row-major */
	const float *item_bias;		/* n_items */
	const float *gram;			/* implicit: Q^T Q, k x k */
} MrFoldInSpec;

/* Dimension of the user system: k, plus one for the bias if solved. */
extern int	MrFoldInDim(const MrFoldInSpec *s);

/* Floats of workspace MrFoldInSolve needs for n ratings. */
extern size_t MrFoldInWorkFloats(const MrFoldInSpec *s, int32_t n);

/*
 * Solve one user step: idx[0..n) are item indexes, r[] their ratings.
 * Writes p[k] and *bias (0 when not solved).  chol (d x d) receives the
 * Cholesky factor of the system, usable by MrFoldInWeights.  Returns 0,
 * or -1 if the system is not positive definite (then p = 0, bias = 0).
 */
extern int	MrFoldInSolve(const MrFoldInSpec *s, int32_t n, const int32_t *idx,
						  const float *r, float *work, float *chol,
						  float *p, float *bias);

/*
 * "Because you rated": contribution of each rated item to the score of
 * item target, given the Cholesky factor from MrFoldInSolve.  The
 * contributions sum to the user part of the score (p . q_target plus the
 * user bias).  work holds MrFoldInWorkFloats floats.  Returns 0 or -1.
 */
extern int	MrFoldInWeights(const MrFoldInSpec *s, int32_t n, const int32_t *idx,
							const float *r, const float *chol, int32_t target,
							float *work, float *contrib);

#endif							/* MR_SERVE_KERNELS_H */
