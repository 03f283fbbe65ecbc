/*
 * eval_metrics.h: movierec's evaluation kernel: prediction clipping,
 * per-user top-k selection and ranking metrics.
 *
 * Plain C over arrays (no PostgreSQL headers) so that test/unit can check
 * the definitions against hand-computed examples; src/evaluate.c is the
 * glue that reads the model and the test set.
 */
#ifndef MR_EVAL_METRICS_H
#define MR_EVAL_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Per-user ranking figures. */
typedef struct MrRankStats
{
	int			hits;			/* relevant items in the top k */
	double		precision;		/* hits / k */
	double		recall;			/* hits / min(k, n_relevant) */
	double		ndcg;			/* DCG / ideal DCG over min(k, n_relevant) */
	double		ap;				/* average precision at k */
} MrRankStats;

/* Clip a prediction to [lo, hi]. */
extern float MrClipRating(double pred, float lo, float hi);

/*
 * Rank the candidate items 0..n_items-1 of one user by scores[], skipping
 * the ascending indexes in exclude[0..n_exclude-1], and write the best k
 * (best first) to out, using score_buf (k floats) as scratch.  Returns
 * the number written (< k only when fewer candidates exist).  Ties go to
 * the smaller index; NaN scores are never ranked.
 */
extern int	MrRankTopK(const float *scores, int32_t n_items,
					   const int32_t *exclude, int64_t n_exclude,
					   int k, float *score_buf, int32_t *out);

/*
 * Ranking metrics of one user.  top[0..n_top-1] is the ranked list (best
 * first, n_top <= k); relevant[0..n_rel_listed-1] are the ascending
 * indexes of the user's relevant items that can be ranked at all, and
 * n_relevant >= n_rel_listed is the user's total number of relevant items
 * (it also counts relevant test movies unknown to the model).
 */
extern void MrRankMetrics(const int32_t *top, int n_top, int k,
						  const int32_t *relevant, int n_rel_listed,
						  int n_relevant, MrRankStats *out);

/*
 * Scores of a block of users: out[u * n_items + i] = P[u] . Q[i] + add[i]
 * for nb users (P is nb x k, Q is n_items x k, both row-major); add may
 * be NULL.  With k = 0 only add is copied.  Uses sgemm from blas.h,
 * which the caller must have loaded.
 */
extern void MrScoreBlock(const float *P, int nb, const float *Q,
						 int32_t n_items, int k, const float *add, float *out);

#endif							/* MR_EVAL_METRICS_H */
