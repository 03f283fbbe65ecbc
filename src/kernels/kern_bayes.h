/*
 * kern_bayes.h: Bayesian matrix factorization by Gibbs sampling
 * (kern_bayes.c).
 *
 * Plain C, no PostgreSQL headers.  MrTrainBayes (mf.h) uses the training
 * ratings themselves as the implicit "which movies did the user rate"
 * sets; MrTrainBayesImplicit takes them from a separate pattern over the
 * same dense ids (for instance every rating the database holds, while the
 * explicit ratings are only the training part).
 */
#ifndef MR_KERN_BAYES_H
#define MR_KERN_BAYES_H

#include "mf.h"

/* What a run learned beyond the factors (for fold-in and for reports). */
typedef struct MrBayesStats
{
	double		noise_std;		/* posterior mean of 1/sqrt(alpha) */
	double		foldin_reg;		/* E[lambda_p] / E[alpha], mean over dimensions */
	double		foldin_reg_bias;	/* E[lambda_b] / E[alpha] */
	int			samples;		/* sweeps averaged */
} MrBayesStats;

/*
 * Train with implicit sets taken from imp (only n_users, n_items and both
 * pointer/index arrays are read; values are ignored), or from r when imp
 * is NULL.  imp must use r's dense ids.  stats may be NULL.
 */
extern double MrTrainBayesImplicit(const MrRatings *r, const MrRatings *imp,
								   const MrTrainParams *p, const MrKernelEnv *env,
								   MrFactors *out, MrBayesStats *stats);

/* Ratings gathered per ssyrk call, and one thread's workspace in floats. */
#define MR_BAYES_CHUNK 256
#define MR_BAYES_THREAD_FLOATS(d) \
	((size_t) MR_BAYES_CHUNK * (d) + MR_BAYES_CHUNK + (size_t) (d) * (d) + 2 * (size_t) (d))

/*
 * Workspace bytes of MrTrainBayesImplicit (mf_defaults.c, so that every
 * kernel's test links without this file); the implicit pattern itself is
 * the caller's.
 */
extern size_t MrBayesWorkspace(const MrRatings *r, const MrTrainParams *p);

/*
 * Test-only: when set, called after every kept sweep with the sample's
 * effective user and movie rows (n x d: k factors, then the bias when
 * use_bias), implicit blocks folded in (bench/bayes_eval.c compares
 * averaging these rows with averaging the predictions).  NULL in the server.
 */
typedef void (*MrBayesSampleFn) (void *arg, const float *Eu, const float *Ei, int d);
extern MrBayesSampleFn mr_bayes_sample_hook;
extern void *mr_bayes_sample_arg;

#endif							/* MR_KERN_BAYES_H */
