/*
 * kern_ease.h: EASE (Steck, WWW 2019), the closed-form item-item model.
 *
 * Plain C, no PostgreSQL headers.  The kernel (kern_ease.c) turns ratings
 * into the dense item-item weight matrix B over the movies with at least
 * min_item_ratings ratings ("kept" movies); the scoring helpers are shared
 * by serving and evaluation, so that both compute exactly the same score.
 */
#ifndef MR_KERN_EASE_H
#define MR_KERN_EASE_H

#include "mf.h"

/* A trained EASE model: B over the kept movies. */
typedef struct MrEaseWeights
{
	int32_t		n_items;		/* all movies of the ratings */
	int32_t		n_kept;			/* movies in B */
	int32_t    *kept;			/* n_kept item indexes, ascending */
	float	   *B;				/* n_kept x n_kept row-major; B[a][b]: weight of
								 * kept movie a on kept movie b; diagonal 0 */
} MrEaseWeights;

/* Movies with at least min_count ratings (min_count <= 1: every movie). */
extern int32_t MrEaseKeptCount(const MrRatings *r, int min_count);

/* Bytes MrTrainEase allocates (B, Gram matrix in place, kept list, scratch). */
extern size_t MrEaseWorkspace(const MrRatings *r, const MrTrainParams *p);

/*
 * Train EASE: out gets zero biases and global_mean 0 (scores rank, they
 * are not ratings); w gets kept and B, allocated through env.  Returns 0,
 * or the LAPACK info (> 0) when X'X + lambda I is not positive definite
 * (regularization 0 on a singular Gram matrix).  BLAS must be loaded.
 */
extern int	MrTrainEase(const MrRatings *r, const MrTrainParams *p,
						const MrKernelEnv *env, MrFactors *out,
						MrEaseWeights *w);

/* x value of a rating for EASE: 1 if kept by binarize, else 0. */
static inline float
MrEaseX(float rating, double binarize)
{
	return (binarize <= 0 || rating >= binarize) ? 1.0f : 0.0f;
}

/*
 * acc[0..n_kept) = sum over the user's n kept rated movies of x[t] times
 * row pos[t] of B, in the given order (the order fixes the float sums).
 * The inner loop is a plain axpy the compiler vectorizes.
 */
extern void MrEaseScoreKept(const float *B, int32_t n_kept, int32_t n,
							const int32_t *pos, const float *x, float *acc);

#endif							/* MR_KERN_EASE_H */
