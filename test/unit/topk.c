/*
 * Unit test of the serving top-k kernel (src/kernels/topk.c): the bounded
 * heap returns exactly what a full sort returns, ties by smaller index,
 * with candidate lists, -INFINITY/NaN exclusions, k larger than n and
 * k = 10000; and MrTopKScanRow (recommend_all's blocks, with its
 * 16-wide prefilter) equals a full selection over row + bias.  Prints TAP.
 */
// sources: src/kernels/topk.c
// cross: aarch64
#include "serve_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int	n_test = 0;

/* Print one TAP line. */
static void
ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n_test, what);
}

static const float *cmp_scores;

/* qsort order: better first (higher score, then smaller index). */
static int
cmp_ref(const void *a, const void *b)
{
	int32_t		ia = *(const int32_t *) a,
				ib = *(const int32_t *) b;
	float		sa = cmp_scores[ia],
				sb = cmp_scores[ib];

	if (sa != sb)
		return sa > sb ? -1 : 1;
	return ia < ib ? -1 : (ia > ib);
}

/* Reference: sort candidates fully, drop non-candidates, take k. */
static int
reference(const float *s, const int32_t *cand, int32_t n, int k, int32_t *out)
{
	int32_t    *all = malloc(sizeof(int32_t) * (n + 1));
	int			m = 0,
				i;

	for (i = 0; i < n; i++)
	{
		int32_t		x = cand ? cand[i] : i;

		if (s[x] > -INFINITY)
			all[m++] = x;
	}
	cmp_scores = s;
	qsort(all, m, sizeof(int32_t), cmp_ref);
	if (m > k)
		m = k;
	for (i = 0; i < m; i++)
		out[i] = all[i];
	free(all);
	return m;
}

/* Compare the heap against the reference for one configuration. */
static int
check(const float *s, const int32_t *cand, int32_t n, int k)
{
	int32_t    *ref = malloc(sizeof(int32_t) * (k + 1));
	int32_t    *got = malloc(sizeof(int32_t) * (k + 1));
	float	   *gs = malloc(sizeof(float) * (k + 1));
	MrTopK		h;
	int			m1,
				m2,
				i,
				good;

	m1 = reference(s, cand, n, k, ref);
	MrTopKReset(&h, k, gs, got);
	MrTopKScan(&h, s, cand, n);
	m2 = MrTopKSort(&h);
	good = (m1 == m2);
	for (i = 0; good && i < m1; i++)
		good = (ref[i] == got[i] && gs[i] == s[got[i]]);
	free(ref);
	free(got);
	free(gs);
	return good;
}

int
main(void)
{
	int32_t		n = 20000;
	float	   *s = malloc(sizeof(float) * n);
	int32_t    *cand = malloc(sizeof(int32_t) * n);
	int			i,
				trial,
				all_ok;
	int32_t		idx[3];
	float		sc[3];
	float		tiny[5] = {1, 3, 3, 2, 3};

	srand(42);
	all_ok = 1;
	for (trial = 0; trial < 20; trial++)
	{
		/* coarse values make many ties */
		for (i = 0; i < n; i++)
			s[i] = (float) (rand() % (trial % 2 ? 50 : 100000)) / 7.0f;
		all_ok &= check(s, NULL, n, 10);
		all_ok &= check(s, NULL, n, 1);
	}
	ok(all_ok, "top-10 and top-1 equal a full sort (random scores, many ties)");

	ok(MrTopKSelect(tiny, 5, 3, idx, sc) == 3 && idx[0] == 1 && idx[1] == 2 && idx[2] == 4,
	   "ties broken by smaller index");

	for (i = 0; i < n; i++)
		s[i] = (float) (rand() % 1000);
	for (i = 0; i < n; i += 3)
		s[i] = -INFINITY;
	s[5] = NAN;
	ok(check(s, NULL, n, 50), "-INFINITY and NaN are never selected");

	for (i = 0; i < 500; i++)
		cand[i] = (i * 37) % n;
	ok(check(s, cand, 500, 10), "candidate list gives the exact top-k of the subset");

	ok(check(s, NULL, 7, 10000), "k larger than n returns every candidate");
	ok(check(s, NULL, n, 10000), "k = 10000 over 20000 items");

	for (i = 0; i < n; i++)
		s[i] = (float) i;		/* ascending: every item replaces the root */
	ok(check(s, NULL, n, 10), "ascending scores (worst case for the heap)");
	for (i = 0; i < n; i++)
		s[i] = 1.0f;			/* all equal: smallest indexes win */
	ok(check(s, NULL, n, 10) && MrTopKSelect(s, n, 3, idx, sc) == 3 && idx[2] == 2,
	   "all scores equal: the smallest indexes");

	/* MrTopKScanRow over blocks of odd sizes equals MrTopKSelect of row + bias */
	{
		float	   *row = malloc(sizeof(float) * n),
				   *bias = malloc(sizeof(float) * n),
				   *sum = malloc(sizeof(float) * n),
				   hs[100],
				   rs[100];
		int32_t		hi[100],
					ri[100];
		int			good = 1,
					kk,
					pass;

		for (pass = 0; pass < 3; pass++)
			for (kk = 1; kk <= 100; kk *= 10)
			{
				MrTopK		h;
				int32_t		j0 = 0,
							bs = 0;
				int			m1,
							m2;

				for (i = 0; i < n; i++)
				{
					/* pass 0 random, 1 ascending (root replaced often), 2 many ties */
					row[i] = pass == 0 ? (float) (rand() % 100000) / 7.0f :
						pass == 1 ? (float) i : (float) (rand() % 5);
					bias[i] = pass == 2 ? 0.0f : (float) (rand() % 100) / 3.0f;
					if (i % 97 == 5)
						row[i] = -INFINITY;
					sum[i] = row[i] + bias[i];
				}
				MrTopKReset(&h, kk, hs, hi);
				for (j0 = 0; j0 < n; j0 += bs)
				{
					bs = 1 + (j0 * 7 + 13) % 777;	/* 1 .. 777, rarely a multiple of 16 */
					if (j0 + bs > n)
						bs = n - j0;
					MrTopKScanRow(&h, row + j0, bias + j0, j0, bs);
				}
				m1 = MrTopKSort(&h);
				m2 = MrTopKSelect(sum, n, kk, ri, rs);
				good &= (m1 == m2);
				for (i = 0; i < m1 && i < m2; i++)
					good &= (hi[i] == ri[i] && hs[i] == rs[i]);
			}
		ok(good, "MrTopKScanRow over odd blocks equals the full selection (random, ascending, ties)");
		free(row);
		free(bias);
		free(sum);
	}

	printf("1..%d\n", n_test);
	free(s);
	free(cand);
	return 0;
}
