/*
 * mf_defaults.h: default training parameters of each algorithm.
 *
 * Plain C, no PostgreSQL headers.  The glue fills an MrTrainParams with
 * MrDefaultParams(), overrides the keys the user gave, and stores the
 * result with the model.  The values are tuned on MovieLens; doc/algorithms.md
 * gives the measurements behind them.
 */
#ifndef MR_MF_DEFAULTS_H
#define MR_MF_DEFAULTS_H

#include "mf.h"

/* The algorithm used when none is named. */
#define MR_DEFAULT_ALGORITHM "als"

/* True (1) if algorithm names a kernel: popularity, baseline, als, svd, ials, ease. */
extern int	MrAlgorithmKnown(const char *algorithm);

/*
 * Fill *p with the tuned defaults of algorithm.  Every field is set; an
 * unknown algorithm gets the als defaults (check MrAlgorithmKnown first).
 */
extern void MrDefaultParams(const char *algorithm, MrTrainParams *p);

/* Factor count a trained model of algorithm has for params p (0: biases only). */
extern int	MrModelFactors(const char *algorithm, const MrTrainParams *p);

#endif							/* MR_MF_DEFAULTS_H */
