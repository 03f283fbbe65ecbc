/*
 * Unit test of the experiment statistics kernel (src/kernels/stat_dist.c):
 * identities the distribution functions must satisfy (symmetry, closed
 * forms at special parameters, the quantile inverting the CDF, limits),
 * domain edges, the exact binomial test on hand-checked cases, and the
 * assignment hash's range and uniformity.  The comparison against an
 * independent implementation is test/integration/experiments_stats.py.
 * Prints TAP.
 */
// sources: src/kernels/stat_dist.c
#include "stat_dist.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int	n_test = 0;
static int	n_fail = 0;

/* Print one TAP line. */
static void
ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n_test, what);
	n_fail += !cond;
}

/* |a - b| within rel relative or abs absolute. */
static int
near(double a, double b, double rel, double abs_)
{
	return fabs(a - b) <= abs_ || fabs(a - b) <= rel * fabs(b);
}

int
main(void)
{
	double		worst;
	int			good;
	long		counts[10] = {0};
	double		chi2 = 0;

	/* normal: symmetry and the quantile inverting the CDF */
	worst = 0;
	for (double x = -8; x <= 8; x += 0.25)
		worst = fmax(worst, fabs(MrNormalCdf(-x) - (1 - MrNormalCdf(x))));
	ok(worst < 1e-15, "normal CDF: Phi(-x) = 1 - Phi(x)");
	good = 1;
	for (double lp = -300; lp <= -0.31; lp += 0.37)
	{
		double		p = pow(10, lp);
		double		x = MrNormalQuantile(p);

		good &= near(MrNormalCdf(x), p, 1e-12, 0);
		/* 1 - p rounds: compare at q and its exact complement 1 - q */
		double		q = 1 - p;

		good &= q == 1 || near(MrNormalQuantile(q), -MrNormalQuantile(1 - q), 1e-12, 1e-14);
	}
	ok(good, "normal quantile inverts the CDF from 1e-300 to 0.5, and is odd about 1/2");
	ok(MrNormalQuantile(0.5) == 0 || fabs(MrNormalQuantile(0.5)) < 1e-16, "quantile(0.5) = 0");
	ok(isinf(MrNormalQuantile(0)) && MrNormalQuantile(0) < 0 && isinf(MrNormalQuantile(1)),
	   "quantile(0) = -inf, quantile(1) = +inf");
	ok(isnan(MrNormalQuantile(-0.1)) && isnan(MrNormalQuantile(1.5)) && isnan(MrNormalQuantile(NAN)),
	   "quantile outside [0, 1] is NaN");
	ok(near(MrNormalQuantile(0.975), 1.959963984540054, 1e-15, 0), "quantile(0.975) = 1.959963984540054");

	/* incomplete beta and gamma */
	good = 1;
	for (double a = 0.5; a < 40; a *= 1.7)
		for (double b = 0.5; b < 40; b *= 1.9)
			for (double x = 0.05; x < 1; x += 0.15)
				good &= near(MrIncBeta(a, b, x), 1 - MrIncBeta(b, a, 1 - x), 1e-11, 1e-14);
	ok(good, "I_x(a, b) = 1 - I_{1-x}(b, a)");
	good = 1;
	for (double x = 0.01; x < 1; x += 0.07)
		good &= near(MrIncBeta(1, 1, x), x, 1e-14, 0) && near(MrIncBeta(2, 1, x), x * x, 1e-13, 0);
	ok(good, "I_x(1, 1) = x and I_x(2, 1) = x^2");
	good = 1;
	for (double x = 0; x < 60; x += 0.9)
		good &= near(MrIncGammaQ(1, x), exp(-x), 1e-12, 1e-300);
	ok(good, "Q(1, x) = exp(-x)");
	ok(isnan(MrIncBeta(0, 1, 0.5)) && isnan(MrIncGammaQ(-1, 2)), "beta and gamma reject bad parameters");

	/* Student t */
	good = 1;
	for (double df = 0.7; df < 500; df *= 1.6)
		for (double t = -30; t <= 30; t += 1.5)
			good &= near(MrStudentTCdf(-t, df), 1 - MrStudentTCdf(t, df), 1e-11, 1e-15);
	ok(good, "t CDF symmetric for fractional df");
	good = 1;
	for (double t = -20; t <= 20; t += 0.5)
		good &= near(MrStudentTCdf(t, 1), 0.5 + atan(t) / M_PI, 1e-12, 1e-15) &&
			near(MrStudentTCdf(t, 2), 0.5 + t / (2 * sqrt(2 + t * t)), 1e-12, 1e-15);
	ok(good, "t CDF: closed forms at df = 1 (Cauchy) and df = 2");
	ok(near(MrStudentTCdf(1.96, 1e9), MrNormalCdf(1.96), 1e-8, 0) &&
	   MrStudentTCdf(1.96, INFINITY) == MrNormalCdf(1.96), "t CDF tends to the normal");
	ok(MrStudentTCdf(0, 3.3) == 0.5 && MrStudentTCdf(INFINITY, 3) == 1 && MrStudentTCdf(-INFINITY, 3) == 0,
	   "t CDF at 0 and +-inf");
	ok(isnan(MrStudentTCdf(1, 0)) && isnan(MrStudentTCdf(NAN, 3)), "t CDF rejects df <= 0 and NaN");

	/* chi-squared */
	good = 1;
	for (double x = 0.1; x < 200; x *= 1.4)
		good &= near(MrChi2Sf(x, 2), exp(-x / 2), 1e-12, 1e-300) &&
			near(MrChi2Sf(x, 1), erfc(sqrt(x / 2)), 1e-11, 1e-300);
	ok(good, "chi2 tail: exp(-x/2) at df = 2, erfc(sqrt(x/2)) at df = 1");
	ok(MrChi2Sf(0, 3) == 1 && MrChi2Sf(-1, 3) == 1 && isnan(MrChi2Sf(1, 0)), "chi2 tail at 0 and bad df");
	ok(near(MrChi2Sf(10.827566170662733, 1), 0.001, 1e-9, 0), "chi2(1) upper 0.001 point is 10.8276");

	/* binomial */
	ok(MrBinomTestTwoSided(10, 20, 0.5) == 1 && MrBinomTestTwoSided(0, 0, 0.5) == 1, "binomial: the centre is 1");
	ok(near(MrBinomTestTwoSided(0, 10, 0.5), 2.0 / 1024, 1e-13, 0) &&
	   near(MrBinomTestTwoSided(10, 10, 0.5), 2.0 / 1024, 1e-13, 0), "binomial: 0 or 10 of 10 is 2/1024");
	ok(near(MrBinomTestTwoSided(2, 10, 0.5), 2 * (1 + 10 + 45) / 1024.0, 1e-13, 0), "binomial: 2 of 10 is 112/1024");
	/* p = 0.3, n = 3: pmf .343 .441 .189 .027; k = 2 sums .189 + .027 */
	ok(near(MrBinomTestTwoSided(2, 3, 0.3), 0.216, 1e-12, 0), "binomial: 2 of 3 at 0.3 is 0.216");
	ok(isnan(MrBinomTestTwoSided(4, 3, 0.5)) && isnan(MrBinomTestTwoSided(1, 3, 1.5)), "binomial rejects k > n, p > 1");
	ok(MrBinomTestTwoSided(3000, 6000, 0.5) == 1 && MrBinomTestTwoSided(2800, 6000, 0.5) < 1e-6,
	   "binomial at large n");

	/* assignment hash */
	good = 1;
	for (long u = -500000; u < 500000; u++)
	{
		int			b = MrAssignBucket("salt", 4, u);

		good &= (b >= 0 && b < 10000);
		counts[b / 1000]++;
	}
	ok(good, "buckets in 0..9999");
	for (int i = 0; i < 10; i++)
		chi2 += (counts[i] - 1e5) * (counts[i] - 1e5) / 1e5;
	ok(MrChi2Sf(chi2, 9) > 0.001, "buckets uniform over 10^6 consecutive users (chi2 test of deciles)");
	ok(MrAssignBucket("a", 1, 7) != MrAssignBucket("b", 1, 7) || MrAssignBucket("a", 1, 8) != MrAssignBucket("b", 1, 8),
	   "the salt changes the bucket");
	ok(MrFnv1a64("", 0) == UINT64_C(0xCBF29CE484222325) && MrFnv1a64("a", 1) == UINT64_C(0xAF63DC4C8601EC8C),
	   "FNV-1a 64 test vectors");
	printf("1..%d\n", n_test);
	return n_fail != 0;
}
