/*
 * stat_dist.c: the distribution functions behind experiment_report() and the
 * assignment hash behind assign().
 *
 * Design (doc/experiments.md gives the formulas with their sources):
 *
 * - Normal CDF from libm's erfc, which keeps relative precision in the
 *   tails.  The quantile starts from Abramowitz and Stegun 26.2.23
 *   (error < 4.5e-4) and is polished by Halley steps on Phi(x) - p, so it
 *   is exact to the precision of erfc (a few ulp), down to p = 1e-300.
 * - Student t and the binomial test go through the regularized incomplete
 *   beta function, the chi-squared tail through the regularized upper
 *   incomplete gamma function.  Both are the classical evaluations: the
 *   power series where it converges fast, else the continued fraction
 *   evaluated by the modified Lentz method (Press et al., Numerical
 *   Recipes, 3rd ed., 6.2 and 6.4; written here from the formulas).
 * - The binomial test is exact: the two-sided p-value sums the
 *   probabilities of all outcomes no more likely than the observed one
 *   (R's binom.test rule, with its 1 + 1e-7 relative tolerance for ties).
 *   At p = 1/2 that is 2 P(X <= min(k, n - k)), from the incomplete beta.
 * - assign() hashes (salt, user) to a bucket 0..9999:
 *     h = mix64(fnv1a64(salt) XOR (user_id * 0x9E3779B97F4A7C15))
 *     bucket = h mod 10000
 *   fnv1a64 is FNV-1a (offset 0xcbf29ce484222325, prime 0x100000001b3);
 *   mix64 is splitmix64's finalizer (Steele, Lea, Flood 2014).  The
 *   modulo bias is 2^64 mod 10^4 / 2^64 < 1e-15.
 */
#include "stat_dist.h"

#include <float.h>
#include <math.h>

#define LENTZ_TINY 1e-300
#define MAX_ITER 10000
#define EPS 1e-15

/* Standard normal CDF: 0.5 erfc(-x / sqrt 2). */
double
MrNormalCdf(double x)
{
	return 0.5 * erfc(-x / M_SQRT2);
}

/* Standard normal quantile: A&S 26.2.23 start, Halley polish. */
double
MrNormalQuantile(double p)
{
	double		q,
				t,
				x;

	if (isnan(p) || p < 0 || p > 1)
		return NAN;
	if (p == 0)
		return -INFINITY;
	if (p == 1)
		return INFINITY;
	q = (p < 0.5) ? p : 1 - p;
	t = sqrt(-2.0 * log(q));
	x = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
		(1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
	if (p < 0.5)
		x = -x;
	for (int i = 0; i < 50; i++)
	{
		/* e = Phi(x) - p, in the tail that keeps its precision */
		double		e = (x < 0) ? MrNormalCdf(x) - p : (1 - p) - 0.5 * erfc(x / M_SQRT2);
		double		u,
					step;

		u = e * sqrt(2 * M_PI) * exp(x * x / 2);
		step = u / (1 + x * u / 2);
		x -= step;
		if (fabs(step) <= 1e-15 * fmax(1.0, fabs(x)))
			break;
	}
	return x;
}

/* Continued fraction of I_x(a, b) (modified Lentz). */
static double
beta_cf(double a, double b, double x)
{
	double		qab = a + b,
				qap = a + 1,
				qam = a - 1;
	double		c = 1,
				d = 1 - qab * x / qap,
				h;

	if (fabs(d) < LENTZ_TINY)
		d = LENTZ_TINY;
	d = 1 / d;
	h = d;
	for (int m = 1; m <= MAX_ITER; m++)
	{
		int			m2 = 2 * m;
		double		aa = m * (b - m) * x / ((qam + m2) * (a + m2)),
					del;

		d = 1 + aa * d;
		if (fabs(d) < LENTZ_TINY)
			d = LENTZ_TINY;
		c = 1 + aa / c;
		if (fabs(c) < LENTZ_TINY)
			c = LENTZ_TINY;
		d = 1 / d;
		h *= d * c;
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		d = 1 + aa * d;
		if (fabs(d) < LENTZ_TINY)
			d = LENTZ_TINY;
		c = 1 + aa / c;
		if (fabs(c) < LENTZ_TINY)
			c = LENTZ_TINY;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < EPS)
			break;
	}
	return h;
}

/*
 * lgamma(a + b) - lgamma(a).  For b = 1/2 and large a (Student t with many
 * degrees of freedom) the difference of two huge lgamma values would lose
 * its absolute precision, so it comes from the asymptotic series
 * Gamma(a + 1/2) / Gamma(a) = sqrt(a) (1 - 1/(8a) + 1/(128a^2)
 * + 5/(1024a^3) - 21/(32768a^4) + ...).
 */
static double
log_gamma_ratio(double a, double b)
{
	if (b == 0.5 && a >= 1e4)
	{
		double		r = 1 / a;

		return 0.5 * log(a) + log1p(r * (-1.0 / 8 + r * (1.0 / 128 + r * (5.0 / 1024 - r * 21.0 / 32768))));
	}
	return lgamma(a + b) - lgamma(a);
}

/*
 * I_x(a, b) given both x and y = 1 - x (a caller that can compute y
 * without cancellation keeps full precision near x = 1); the fraction
 * converges fast for x < (a + 1) / (a + b + 2), else use the symmetry.
 */
static double
inc_beta_xy(double a, double b, double x, double y)
{
	double		lbt;

	if (x <= 0)
		return 0;
	if (y <= 0)
		return 1;
	/* log of the larger of x, y from the smaller one: a huge a or b multiplies its error */
	lbt = log_gamma_ratio(a, b) - lgamma(b) + a * (x > 0.5 ? log1p(-y) : log(x)) +
		b * (y > 0.5 ? log1p(-x) : log(y));
	if (x < (a + 1) / (a + b + 2))
		return exp(lbt) * beta_cf(a, b, x) / a;
	return 1 - exp(lbt) * beta_cf(b, a, y) / b;
}

/* Regularized incomplete beta. */
double
MrIncBeta(double a, double b, double x)
{
	if (isnan(x) || isnan(a) || isnan(b) || a <= 0 || b <= 0)
		return NAN;
	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	return inc_beta_xy(a, b, x, 1 - x);
}

/* Q(a, x): series for P when x < a + 1, else the continued fraction. */
double
MrIncGammaQ(double a, double x)
{
	double		lg;

	if (isnan(a) || isnan(x) || a <= 0 || x < 0)
		return NAN;
	if (x == 0)
		return 1;
	if (isinf(x))
		return 0;
	lg = lgamma(a);
	if (x < a + 1)
	{
		double		ap = a,
					sum = 1 / a,
					del = sum;

		for (int n = 0; n < MAX_ITER; n++)
		{
			ap += 1;
			del *= x / ap;
			sum += del;
			if (fabs(del) < fabs(sum) * EPS)
				break;
		}
		return 1 - sum * exp(-x + a * log(x) - lg);
	}
	else
	{
		double		b = x + 1 - a,
					c = 1 / LENTZ_TINY,
					d = 1 / b,
					h = d;

		for (int i = 1; i <= MAX_ITER; i++)
		{
			double		an = -i * (i - a),
						del;

			b += 2;
			d = an * d + b;
			if (fabs(d) < LENTZ_TINY)
				d = LENTZ_TINY;
			c = b + an / c;
			if (fabs(c) < LENTZ_TINY)
				c = LENTZ_TINY;
			d = 1 / d;
			del = d * c;
			h *= del;
			if (fabs(del - 1) < EPS)
				break;
		}
		return exp(-x + a * log(x) - lg) * h;
	}
}

/* t CDF: tail 0.5 I_{df/(df+t^2)}(df/2, 1/2). */
double
MrStudentTCdf(double t, double df)
{
	double		tail;

	if (isnan(t) || isnan(df) || df <= 0)
		return NAN;
	if (isinf(t))
		return t > 0 ? 1 : 0;
	if (isinf(df))
		return MrNormalCdf(t);
	/* x = df / (df + t^2) and 1 - x = t^2 / (df + t^2), both without cancellation */
	tail = 0.5 * inc_beta_xy(df / 2, 0.5, df / (df + t * t), t * t / (df + t * t));
	return t > 0 ? 1 - tail : tail;
}

/* Chi-squared upper tail Q(df/2, x/2). */
double
MrChi2Sf(double x, double df)
{
	if (isnan(x) || isnan(df) || df <= 0)
		return NAN;
	if (x <= 0)
		return 1;
	return MrIncGammaQ(df / 2, x / 2);
}

/* log P(X = i) for X ~ Binomial(n, p). */
static double
binom_logpmf(int64_t i, int64_t n, double p)
{
	double		lc = lgamma((double) n + 1) - lgamma((double) i + 1) - lgamma((double) (n - i) + 1);

	if (p == 0)
		return i == 0 ? 0 : -INFINITY;
	if (p == 1)
		return i == n ? 0 : -INFINITY;
	return lc + i * log(p) + (n - i) * log1p(-p);
}

/* Exact two-sided binomial test. */
double
MrBinomTestTwoSided(int64_t k, int64_t n, double p)
{
	double		lk,
				sum = 0;

	if (n < 0 || k < 0 || k > n || isnan(p) || p < 0 || p > 1)
		return NAN;
	if (n == 0)
		return 1;
	if (p == 0.5)
	{
		int64_t		m = (k < n - k) ? k : n - k;
		double		v;

		if (2 * m == n)
			return 1;
		/* P(X <= m) = I_{1/2}(n - m, m + 1) */
		v = 2 * MrIncBeta((double) (n - m), (double) m + 1, 0.5);
		return v > 1 ? 1 : v;
	}
	lk = binom_logpmf(k, n, p) + log1p(1e-7);
	for (int64_t i = 0; i <= n; i++)
	{
		double		li = binom_logpmf(i, n, p);

		if (li <= lk)
			sum += exp(li);
	}
	return sum > 1 ? 1 : sum;
}

/* splitmix64 finalizer. */
uint64_t
MrMix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xBF58476D1CE4E5B9);
	x ^= x >> 27;
	x *= UINT64_C(0x94D049BB133111EB);
	x ^= x >> 31;
	return x;
}

/* FNV-1a, 64 bits. */
uint64_t
MrFnv1a64(const char *s, int len)
{
	uint64_t	h = UINT64_C(0xCBF29CE484222325);

	for (int i = 0; i < len; i++)
	{
		h ^= (unsigned char) s[i];
		h *= UINT64_C(0x100000001B3);
	}
	return h;
}

/* See the file comment. */
int
MrAssignBucket(const char *salt, int salt_len, int64_t user_id)
{
	uint64_t	h = MrMix64(MrFnv1a64(salt, salt_len) ^
							((uint64_t) user_id * UINT64_C(0x9E3779B97F4A7C15)));

	return (int) (h % 10000);
}
