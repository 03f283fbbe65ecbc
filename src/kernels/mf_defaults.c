/*
 * mf_defaults.c: tuned default parameters and workspace estimates.
 *
 * The defaults make train('m') with no params good on MovieLens; the
 * numbers and the measurements behind them are in doc/algorithms.md.  Every
 * algorithm starts from common values and overrides what matters to it.
 * Keys a kernel ignores keep neutral values so the resolved params stored
 * with a model are still meaningful.
 */
#include "mf_defaults.h"
#include "kern_util.h"
#include "kern_ease.h"
#include "kern_bayes.h"

#include <string.h>

/* See mf_defaults.h. */
int
MrAlgorithmKnown(const char *algorithm)
{
	static const char *const names[] = {"popularity", "baseline", "als", "svd", "ials", "ease"};
	int			i;

	if (algorithm == NULL)
		return 0;
	for (i = 0; i < 6; i++)
		if (strcmp(algorithm, names[i]) == 0)
			return 1;
	if (strcmp(algorithm, "bayes") == 0)
		return 1;
	return 0;
}

/* See mf_defaults.h. */
void
MrDefaultParams(const char *algorithm, MrTrainParams *p)
{
	memset(p, 0, sizeof(*p));
	/* common values */
	p->factors = 64;
	p->iterations = 15;
	p->regularization = 2.0;
	p->reg_user_bias = 5.0;
	p->reg_item_bias = 2.0;
	p->learning_rate = 0.005;
	p->lr_decay = 1.0;
	p->init_std = 0.1;
	p->alpha = 0.0;
	p->binarize = 0.0;
	p->cg_steps = 3;
	p->use_bias = 1;
	p->threads = 2;
	p->seed = 42;
	p->min_item_ratings = 1;

	if (algorithm == NULL)
		return;
	if (strcmp(algorithm, "popularity") == 0)
	{
		/* reg_item_bias is the damping m of the damped mean */
		p->factors = 0;
		p->iterations = 1;
		p->regularization = 0;
		p->reg_user_bias = 0;
		p->reg_item_bias = 10.0;
		p->use_bias = 1;
	}
	else if (strcmp(algorithm, "baseline") == 0)
	{
		/* Surprise BaselineOnly, method 'als' */
		p->factors = 0;
		p->iterations = 10;
		p->regularization = 0;
		p->reg_user_bias = 15.0;
		p->reg_item_bias = 10.0;
	}
	else if (strcmp(algorithm, "svd") == 0)
	{
		p->factors = 50;
		p->iterations = 40;
		p->regularization = 0.05;
		p->reg_user_bias = 0.02;
		p->reg_item_bias = 0.02;
		p->learning_rate = 0.01;
		p->lr_decay = 0.95;
		p->init_std = 0.1;
		p->threads = 1;
	}
	else if (strcmp(algorithm, "ials") == 0)
	{
		p->factors = 64;
		p->iterations = 15;
		p->regularization = 250.0;
		p->alpha = 40.0;
		p->binarize = 4.0;
		p->cg_steps = 3;
		p->init_std = 0.01;
		p->use_bias = 0;
		p->reg_user_bias = 0;
		p->reg_item_bias = 0;
	}
	else if (strcmp(algorithm, "ease") == 0)
	{
		/* lambda, binarize and min_item_ratings: see doc/algorithms.md */
		p->factors = 0;
		p->iterations = 1;
		p->regularization = 30000.0;
		p->binarize = 4.0;
		p->min_item_ratings = 10;
		p->use_bias = 0;
		p->init_std = 0;
		p->cg_steps = 0;
		p->reg_user_bias = 0;
		p->reg_item_bias = 0;
	}
	else if (strcmp(algorithm, "bayes") == 0)
	{
		/* Gibbs sweeps; the priors are learned (kern_bayes.c, doc/algorithms.md) */
		p->factors = 10;
		p->iterations = 200;
		p->burn_in = 20;
		p->implicit = 1;
		p->implicit_items = 1;
		p->init_std = 0.1;
		p->regularization = 0;
		p->reg_user_bias = 0;
		p->reg_item_bias = 0;
	}
}

/* See mf_defaults.h. */
int
MrModelFactors(const char *algorithm, const MrTrainParams *p)
{
	if (algorithm != NULL &&
		(strcmp(algorithm, "popularity") == 0 || strcmp(algorithm, "baseline") == 0 ||
		 strcmp(algorithm, "ease") == 0))
		return 0;
	return p->factors;
}

/* EASE sizes live here so that MrKernelWorkspace needs no kernel file. */
/* See kern_ease.h. */
int32_t
MrEaseKeptCount(const MrRatings *r, int min_count)
{
	int32_t		n = 0;

	for (int32_t i = 0; i < r->n_items; i++)
		if (r->item_ptr[i + 1] - r->item_ptr[i] >= (int64_t) min_count)
			n++;
	return n;
}

/* See kern_ease.h. */
size_t
MrEaseWorkspace(const MrRatings *r, const MrTrainParams *p)
{
	size_t		n = (size_t) MrEaseKeptCount(r, p->min_item_ratings);

	return n * n * sizeof(float)	/* G, then P, then B */
		+ n * sizeof(int32_t)	/* kept */
		+ (size_t) r->n_items * sizeof(int32_t)	/* item -> kept position */
		+ n * (sizeof(float) + sizeof(int32_t));	/* diag, one user's row */
}

/* See mf.h: bytes a kernel allocates through env beyond ratings and factors. */
size_t
MrKernelWorkspace(const char *algorithm, const MrRatings *r,
				  const MrTrainParams *p)
{
	if (algorithm == NULL)
		return 0;
	if (strcmp(algorithm, "als") == 0)
		return MrAlsWorkspace(r, p);
	if (strcmp(algorithm, "svd") == 0)
		return MrSvdWorkspace(r, p);
	if (strcmp(algorithm, "ials") == 0)
		return MrIalsWorkspace(r, p);
	if (strcmp(algorithm, "ease") == 0)
		return MrEaseWorkspace(r, p);
	if (strcmp(algorithm, "bayes") == 0)
		return MrBayesWorkspace(r, p);
	return 0;
}

/* See kern_bayes.h: the arrays MrTrainBayesImplicit allocates. */
size_t
MrBayesWorkspace(const MrRatings *r, const MrTrainParams *p)
{
	size_t		d = (size_t) p->factors + (p->use_bias != 0);
	size_t		dp = (d + 3) & ~(size_t) 3;	/* kern_bayes.c, BAYES_PAD */
	int			threads = MrThreadCount(p->threads);
	size_t		nu = (size_t) r->n_users,
				ni = (size_t) r->n_items;
	size_t		n = (size_t) threads * (sizeof(float) * MR_BAYES_THREAD_FLOATS(d) + sizeof(float *));

	/* the chain's rows X, running sums of the averaged rows, residuals */
	n += (sizeof(float) + sizeof(double)) * (nu + ni) * d + sizeof(double) * (ni + 1);
	/* an implicit block: Y, O, E, Z'Z and Z't per row (padded to dp), scales */
	if (p->implicit)
		n += sizeof(float) * (ni * d + 2 * nu * d + nu * d * dp + nu * dp + nu);
	if (p->implicit_items)
		n += sizeof(float) * (nu * d + 2 * ni * d + ni * d * dp + ni * dp + ni);
	n += sizeof(float) * (d * dp + d * d + 4 * dp) + sizeof(double) * 16 * (d + 1);
	return n;
}
