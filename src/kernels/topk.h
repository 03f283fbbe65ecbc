/*
 * topk.h: exact top-k selection with a bounded heap (src/kernels/topk.c), shared
 * by serving (recommend, similar movies, batch) and evaluation.  Plain C,
 * no PostgreSQL headers.
 */
#ifndef MR_TOPK_H
#define MR_TOPK_H

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

#endif							/* MR_TOPK_H */
