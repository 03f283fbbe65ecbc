/*
 * Unit test of the synthetic ratings kernel (src/kernels/synth.c): exact counts,
 * no repeated (user, movie) pair, half stars in range, long-tailed
 * activity, reproducibility from the seed, and the noise level: the
 * rating's deviation from the planted low-rank truth has the requested
 * standard deviation.  Prints TAP and the measured figures.
 */
// sources: src/kernels/synth.c
// cross: aarch64
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	n_test = 0;

/* Print one TAP line. */
static void
ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n_test, what);
}

/* Zeroing malloc for the kernel. */
static void *
test_alloc(void *arg __attribute__((unused)), size_t n)
{
	void	   *p = calloc(1, n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

/* free for the kernel. */
static void
test_free(void *arg __attribute__((unused)), void *p)
{
	free(p);
}

typedef struct Stats
{
	int64_t		total;
	uint64_t	checksum;
	int			dup_or_unsorted;
	int			bad_value;
	int64_t		clipped;
	double		sq_dev;
	int32_t    *per_user;
	int64_t		time_min,
				time_max;
} Stats;

/* Generate everything and gather statistics. */
static void
run(int32_t nu, int32_t nm, int64_t nr, int rank, double noise, uint64_t seed, Stats *st)
{
	MrSynthParams p = {nu, nm, nr, rank, noise, seed, test_alloc, test_free, NULL};
	MrSynth    *s = MrSynthCreate(&p);
	int32_t		max = MrSynthMaxCount(s);
	int32_t    *mv = malloc(sizeof(int32_t) * max);
	float	   *rt = malloc(sizeof(float) * max);
	int64_t    *ts = malloc(sizeof(int64_t) * max);
	double	   *tr = malloc(sizeof(double) * max);

	free(st->per_user);			/* the statistics of an earlier run */
	memset(st, 0, sizeof(*st));
	st->per_user = calloc(nu, sizeof(int32_t));
	st->checksum = 1469598103934665603ULL;
	st->time_min = INT64_MAX;
	for (int32_t u = 0; u < nu; u++)
	{
		int32_t		n = MrSynthUser(s, u, mv, rt, ts, tr);

		st->per_user[u] = n;
		st->total += n;
		for (int32_t j = 0; j < n; j++)
		{
			double		x = rt[j];

			if (j > 0 && mv[j] <= mv[j - 1])
				st->dup_or_unsorted++;
			if (mv[j] < 0 || mv[j] >= nm || !(x >= 0.5 && x <= 5) || x * 2 != floor(x * 2))
				st->bad_value++;
			st->sq_dev += (x - tr[j]) * (x - tr[j]);
			st->checksum = (st->checksum ^ (uint64_t) (u * 1000003LL + mv[j])) * 1099511628211ULL;
			st->checksum = (st->checksum ^ (uint64_t) (x * 2) ^ (uint64_t) ts[j]) * 1099511628211ULL;
			if (ts[j] < st->time_min)
				st->time_min = ts[j];
			if (ts[j] > st->time_max)
				st->time_max = ts[j];
		}
	}
	st->clipped = MrSynthClipped(s);
	free(mv);
	free(rt);
	free(ts);
	free(tr);
	MrSynthFree(s);
}

/* Descending int32 comparator. */
static int
cmp_desc(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;

	return (x < y) - (x > y);
}

int
main(void)
{
	Stats		a = {0},
				b = {0},
				c = {0};
	int64_t		top = 0;
	int32_t		min_user;
	MrSynthParams bad = {10, 10, 101, 10, 0.5, 0, test_alloc, test_free, NULL};
	char		title[64];
	MrSynthMovie mi;

	run(3000, 1500, 300000, 10, 0.5, 42, &a);
	run(3000, 1500, 300000, 10, 0.5, 42, &b);
	run(3000, 1500, 300000, 10, 0.5, 43, &c);

	ok(a.total == 300000, "exactly n_ratings ratings");
	ok(a.dup_or_unsorted == 0, "no repeated (user, movie) pair");
	ok(a.bad_value == 0, "half-star ratings in 0.5 .. 5, movie ids in range");
	ok(a.checksum == b.checksum, "same seed, same data");
	ok(a.checksum != c.checksum, "another seed, other data");

	qsort(a.per_user, 3000, sizeof(int32_t), cmp_desc);
	for (int i = 0; i < 300; i++)
		top += a.per_user[i];
	min_user = a.per_user[2999];
	printf("# top 10%% of users hold %.1f%% of ratings; min %d, median %d, max %d per user\n",
		   100.0 * top / a.total, min_user, a.per_user[1500], a.per_user[0]);
	ok(top > 0.3 * a.total, "long tail: top 10% of users hold over 30% of ratings");
	ok(min_user >= MR_SYNTH_MIN_PER_USER, "every user has at least 20 ratings");

	printf("# rms(rating - truth) = %.4f for noise 0.5; clipped %.3f%%\n",
		   sqrt(a.sq_dev / a.total), 100.0 * a.clipped / a.total);
	ok(fabs(sqrt(a.sq_dev / a.total) - 0.5) < 0.02, "rating deviates from the low-rank truth by noise (within 4%)");
	ok(a.clipped < 0.015 * a.total, "clipping is rare (under 1.5%)");
	ok(a.time_min >= 820454400 && a.time_max < 1704067200 &&
	   a.time_max - a.time_min > 20 * 365 * 86400LL, "rating times spread over 1996-2023");

	ok(MrSynthCheck(&bad) != NULL, "n_ratings above n_users * n_movies refused");
	bad.n_ratings = 100;
	ok(MrSynthCheck(&bad) == NULL, "a full matrix is allowed");
	run(10, 10, 100, 3, 0.5, 7, &c);
	ok(c.total == 100 && c.dup_or_unsorted == 0, "a full 10 x 10 matrix is generated exactly");
	run(50, 200, 30, 10, 0.5, 7, &c);
	ok(c.total == 30, "fewer ratings than users still gives the exact count");

	{
		MrSynthParams p = {5, 40, 50, 10, 0.5, 1, test_alloc, test_free, NULL};
		MrSynth    *s = MrSynthCreate(&p);
		int			good = 1;

		for (int m = 0; m < 40; m++)
		{
			MrSynthMovieInfo(s, m, title, sizeof(title), &mi);
			good &= (mi.year >= 1915 && mi.year <= 2023 && mi.n_genres >= 1 && mi.n_genres <= 3);
			for (int g = 1; g < mi.n_genres; g++)
				good &= (mi.genres[g] > mi.genres[g - 1]);
		}
		printf("# movie 40: \"%s\" (%d)\n", title, mi.year);
		ok(good, "movies have a year in 1915-2023 and 1 to 3 distinct sorted genres");
		MrSynthFree(s);
	}
	free(a.per_user);
	free(b.per_user);
	free(c.per_user);
	return 0;
}
