/*
 * stat_dist.h: distribution functions for experiment statistics (plain C).
 *
 * No PostgreSQL headers: test/unit/stats.c checks these against values
 * computed independently (test/experiments_stats_check.py does the same
 * from SQL).  src/experiments.c exposes them to SQL.
 */
#ifndef MR_STAT_DIST_H
#define MR_STAT_DIST_H

#include <stdint.h>

/* Standard normal CDF. */
extern double MrNormalCdf(double x);

/* Standard normal quantile, p in (0, 1); -inf/+inf at 0/1, NaN outside. */
extern double MrNormalQuantile(double p);

/* Regularized incomplete beta I_x(a, b), a, b > 0, x in [0, 1]. */
extern double MrIncBeta(double a, double b, double x);

/* Regularized upper incomplete gamma Q(a, x), a > 0, x >= 0. */
extern double MrIncGammaQ(double a, double x);

/* Student t CDF with df > 0 degrees of freedom (df may be fractional). */
extern double MrStudentTCdf(double t, double df);

/* Upper tail P(X >= x) of chi-squared with df > 0 degrees of freedom. */
extern double MrChi2Sf(double x, double df);

/*
 * Two-sided exact binomial test of k successes in n trials against p:
 * the sum of P(X = i) over every i with P(X = i) <= P(X = k) (the rule of
 * R's binom.test), capped at 1.
 */
extern double MrBinomTestTwoSided(int64_t k, int64_t n, double p);

/* A 64-bit mix of x (splitmix64's finalizer); the assignment hash. */
extern uint64_t MrMix64(uint64_t x);

/* FNV-1a 64 of a byte string: the salt's part of the assignment hash. */
extern uint64_t MrFnv1a64(const char *s, int len);

/* Bucket 0..9999 of a user in an experiment with this salt. */
extern int	MrAssignBucket(const char *salt, int salt_len, int64_t user_id);

#endif							/* MR_STAT_DIST_H */
