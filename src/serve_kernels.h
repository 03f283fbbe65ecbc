/*
 * serve_kernels.h: pure-C kernels of serving (no PostgreSQL headers).
 *
 * serve_topk.c selects the exact top k of a score vector with a bounded
 * heap; serve_foldin.c solves one user's factors from ratings against
 * fixed item factors.  Both are unit tested outside the server
 * (test/unit/serve_topk.c, test/unit/serve_foldin.c).
 */
#ifndef MR_SERVE_KERNELS_H
#define MR_SERVE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/*
 * A bounded "worst at the root" heap of (score, index) pairs.  Ordering:
 * a is better than b when a.score > b.score, or the scores are equal and
 * a.index < b.index (items are kept sorted by movie_id, so a smaller
 * index is a smaller movie_id).
 */
typedef struct MrTopK
{
	int			k;				/* capacity */
	int			n;				/* entries held */
	float	   *score;			/* k entries */
	int32_t    *index;			/* k entries */
} MrTopK;

/* Empty the heap; score and index must hold k entries. */
extern void MrTopKReset(MrTopK *h, int k, float *score, int32_t *index);

/* Offer one candidate. */
extern void MrTopKPush(MrTopK *h, float score, int32_t index);

/*
 * Offer scores[i] for every i in [0, n) (cand == NULL) or every i in
 * cand[0..n).  Scores equal to -INFINITY (or NaN) are not candidates.
 */
extern void MrTopKScan(MrTopK *h, const float *scores, const int32_t *cand,
					   int32_t n);

/*
 * Offer row[j] + bias[j] as index offset + j for j in [0, n).  Successive
 * calls on one heap must use increasing offsets (blocks in index order).
 */
extern void MrTopKScanRow(MrTopK *h, const float *row, const float *bias,
						  int32_t offset, int32_t n);

/* Sort the held entries best first (destroys the heap order); returns n. */
extern int	MrTopKSort(MrTopK *h);

/* Convenience: exact top k of scores[0..n) into out_index/out_score. */
extern int	MrTopKSelect(const float *scores, int32_t n, int k,
						 int32_t *out_index, float *out_score);

/* What a model's user step looks like (read from models.params). */
typedef struct MrFoldInSpec
{
	int			k;				/* factors (0: bias only) */
	int			implicit;		/* ials: confidence-weighted, no biases */
	int			use_bias;		/* explicit: solve a user bias too */
	int			freq_weighted;	/* explicit: regularization times n_u */
	float		reg;			/* factor L2 */
	float		reg_bias;		/* user-bias L2 */
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
