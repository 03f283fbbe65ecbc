/*
 * mf.h: the contract between movierec's numerical kernels and its
 * PostgreSQL glue.
 *
 * Kernels are plain C over arrays: no PostgreSQL headers, no ereport, no
 * palloc.  The glue reads ratings into MrRatings (dense 0-based indexes,
 * both orientations), allocates MrFactors, and calls a kernel with an
 * MrKernelEnv that supplies memory, interrupt checks and progress.  The
 * same kernels run in unit tests and benchmarks outside the server with a
 * malloc-based env.
 *
 * Rules for kernels:
 *  - all memory comes from env->alloc (zeroed; it never returns NULL: in
 *    the server it raises an error instead), released with env->free;
 *  - env->check and env->progress are called only from the calling
 *    thread, at least once per iteration and once per block of work, and
 *    may not return (a cancel in the server unwinds with longjmp), so no
 *    other thread may be running and no malloc'd memory may be held when
 *    they are called;
 *  - the same data, params and seed give bitwise-identical factors,
 *    whatever params->threads is.
 */
#ifndef MR_MF_H
#define MR_MF_H

#include <stddef.h>
#include <stdint.h>

/* Ratings with dense ids: users 0..n_users-1, items 0..n_items-1. */
typedef struct MrRatings
{
	int32_t		n_users;
	int32_t		n_items;
	int64_t		nnz;
	/* by user: user u's ratings are [user_ptr[u], user_ptr[u + 1]) */
	int64_t    *user_ptr;		/* n_users + 1 */
	int32_t    *user_items;		/* item index, ascending within a user */
	float	   *user_vals;
	/* by item: the same ratings transposed */
	int64_t    *item_ptr;		/* n_items + 1 */
	int32_t    *item_users;		/* user index, ascending within an item */
	float	   *item_vals;
} MrRatings;

/* A trained model.  The caller allocates every array before training. */
typedef struct MrFactors
{
	int32_t		n_users;
	int32_t		n_items;
	int32_t		k;				/* factors; 0 for bias-only models */
	float		global_mean;
	float	   *user_bias;		/* n_users */
	float	   *item_bias;		/* n_items */
	float	   *P;				/* n_users x k, row-major (NULL if k = 0) */
	float	   *Q;				/* n_items x k, row-major (NULL if k = 0) */
} MrFactors;

/* Resolved training parameters (defaults filled in by the glue). */
typedef struct MrTrainParams
{
	int			factors;
	int			iterations;
	double		regularization;	/* factor L2 */
	double		reg_user_bias;	/* baseline / bias terms */
	double		reg_item_bias;
	double		learning_rate;	/* svd */
	double		lr_decay;		/* svd: multiply lr by this every epoch */
	double		init_std;		/* initial factor scale */
	double		alpha;			/* ials: confidence 1 + alpha * r */
	double		binarize;		/* ials: r >= binarize counts as 1, else dropped; <= 0: off */
	int			cg_steps;		/* ials: conjugate-gradient steps per solve */
	int			use_bias;		/* als/svd: learn biases */
	int			threads;		/* worker threads a kernel may start */
	uint64_t	seed;
	int			min_item_ratings;	/* ease: movies with fewer ratings are left out of B */
	double		reg_frequency;	/* ials: extra L2 per kept rating of the row */
	int			burn_in;		/* bayes: sweeps discarded before averaging */
	int			implicit;		/* bayes: SVD++-style implicit user block */
	int			implicit_items;	/* bayes: its movie-side counterpart */
} MrTrainParams;

/* Services a kernel receives from its caller. */
typedef struct MrKernelEnv
{
	void	   *(*alloc) (void *arg, size_t bytes);
	void		(*free) (void *arg, void *ptr);
	void		(*check) (void *arg);
	void		(*progress) (void *arg, const char *phase, int iteration,
							 int of, double loss);
	void	   *arg;
} MrKernelEnv;

/* Kernels (one file each).  They return training loss of the last pass. */
extern double MrTrainPopularity(const MrRatings *r, const MrTrainParams *p,
								const MrKernelEnv *env, MrFactors *out);
extern double MrTrainBaseline(const MrRatings *r, const MrTrainParams *p,
							  const MrKernelEnv *env, MrFactors *out);
extern double MrTrainAls(const MrRatings *r, const MrTrainParams *p,
						 const MrKernelEnv *env, MrFactors *out);
extern double MrTrainSvd(const MrRatings *r, const MrTrainParams *p,
						 const MrKernelEnv *env, MrFactors *out);
extern double MrTrainIals(const MrRatings *r, const MrTrainParams *p,
						  const MrKernelEnv *env, MrFactors *out);
extern double MrTrainBayes(const MrRatings *r, const MrTrainParams *p,
						   const MrKernelEnv *env, MrFactors *out);

/* Bytes a kernel needs beyond MrRatings and MrFactors. */
extern size_t MrKernelWorkspace(const char *algorithm, const MrRatings *r,
								const MrTrainParams *p);

#endif							/* MR_MF_H */
