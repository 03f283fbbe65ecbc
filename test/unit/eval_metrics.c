/*
 * Unit test of the evaluation kernel (src/kernels/eval_metrics.c): clipping, the
 * top-k heap with its tie rule (equal scores: smaller index first), and
 * precision/recall/NDCG/AP on small examples computed by hand.  Prints TAP.
 */
// sources: src/kernels/eval_metrics.c src/kernels/topk.c
#include "eval_metrics.h"
#include "blas.h"

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

/* Absolute closeness. */
static int
near(double a, double b)
{
	return fabs(a - b) < 1e-6;
}

/* True when a[0..n-1] equals b[0..n-1]. */
static int
same(const int32_t *a, const int32_t *b, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static const float *sort_scores;

/* qsort order for the brute-force reference: score desc, index asc. */
static int
ref_cmp(const void *x, const void *y)
{
	int32_t		a = *(const int32_t *) x,
				b = *(const int32_t *) y;

	if (sort_scores[a] != sort_scores[b])
		return sort_scores[a] > sort_scores[b] ? -1 : 1;
	return a < b ? -1 : 1;
}

int
main(void)
{
	float		hs[16];
	int32_t		out[16];
	MrRankStats st;

	/* clipping */
	ok(MrClipRating(5.7, 0.5f, 5.0f) == 5.0f, "clip above the scale");
	ok(MrClipRating(0.2, 0.5f, 5.0f) == 0.5f, "clip below the scale");
	ok(MrClipRating(3.25, 0.5f, 5.0f) == 3.25f, "no clip inside the scale");

	/* top-k with ties: scores by index */
	{
		float		s[6] = {1, 3, 3, 2, 3, 0.5f};
		int32_t		want3[3] = {1, 2, 4};
		int32_t		want2[2] = {1, 2};
		int32_t		ex[1] = {2};
		int32_t		want_ex[3] = {1, 4, 3};
		int			n;

		n = MrRankTopK(s, 6, NULL, 0, 3, hs, out);
		ok(n == 3 && same(out, want3, 3), "top 3: equal scores keep smaller index");
		n = MrRankTopK(s, 6, NULL, 0, 2, hs, out);
		ok(n == 2 && same(out, want2, 2), "top 2 of three tied");
		n = MrRankTopK(s, 6, ex, 1, 3, hs, out);
		ok(n == 3 && same(out, want_ex, 3), "excluded item is skipped");
		n = MrRankTopK(s, 6, ex, 1, 10, hs, out);
		ok(n == 5, "fewer candidates than k");
	}
	{
		float		s[3] = {NAN, 1, 2};

		ok(MrRankTopK(s, 3, NULL, 0, 3, hs, out) == 2 && out[0] == 2 && out[1] == 1,
		   "NaN scores are never ranked");
	}

	/* top-k against a full sort, many ties, random exclusions */
	{
		enum
		{
		N = 2000, K = 16
		};
		static float s[N];
		static int32_t idx[N],
					cand[N],
					ex[N];
		int			nex = 0,
					nc = 0,
					good = 1;

		srand(7);
		for (int round = 0; round < 20; round++)
		{
			nex = nc = 0;
			for (int i = 0; i < N; i++)
			{
				s[i] = (float) (rand() % 10);
				if (rand() % 4 == 0)
					ex[nex++] = i;
				else
					cand[nc++] = i;
			}
			for (int i = 0; i < nc; i++)
				idx[i] = cand[i];
			sort_scores = s;
			qsort(idx, nc, sizeof(int32_t), ref_cmp);
			if (MrRankTopK(s, N, ex, nex, K, hs, out) != K || !same(out, idx, K))
				good = 0;
		}
		ok(good, "heap top 16 equals a full sort over 20 random rounds with ties");
	}

	/*
	 * k = 3, ranked [5, 2, 9], relevant {2, 9, 11}: hits at ranks 2 and 3.
	 * DCG = 1/log2(3) + 1/log2(4) = 1.1309298; IDCG = 1 + 0.6309298 + 0.5
	 * = 2.1309298; NDCG = 0.5307212.  AP = (1/2 + 2/3) / 3 = 0.3888889.
	 */
	{
		int32_t		top[3] = {5, 2, 9},
					rel[3] = {2, 9, 11};

		MrRankMetrics(top, 3, 3, rel, 3, 3, &st);
		ok(st.hits == 2 && near(st.precision, 2.0 / 3), "precision = hits / k");
		ok(near(st.recall, 2.0 / 3), "recall = hits / min(k, R)");
		ok(near(st.ndcg, 0.5307212), "ndcg with hits at ranks 2 and 3");
		ok(near(st.ap, 0.3888889), "ap = (1/2 + 2/3) / 3");
	}
	/* k = 5, one relevant item ranked first: recall, NDCG and AP are 1 */
	{
		int32_t		top[5] = {1, 2, 3, 4, 5},
					rel[1] = {1};

		MrRankMetrics(top, 5, 5, rel, 1, 1, &st);
		ok(near(st.precision, 0.2) && near(st.recall, 1) && near(st.ndcg, 1) &&
		   near(st.ap, 1), "single relevant item at rank 1");
	}

	/*
	 * k = 2, R = 2 of which one movie is unknown to the model, ranked
	 * [4, 3], relevant listed {3}: hit at rank 2.  NDCG = 0.6309298 /
	 * 1.6309298 = 0.3868528; AP = (1/2) / 2 = 0.25.
	 */
	{
		int32_t		top[2] = {4, 3},
					rel[1] = {3};

		MrRankMetrics(top, 2, 2, rel, 1, 2, &st);
		ok(near(st.precision, 0.5) && near(st.recall, 0.5), "unknown relevant movie counts in R");
		ok(near(st.ndcg, 0.3868528) && near(st.ap, 0.25), "ndcg and ap with R = 2");
	}
	/* k = 10 but only 3 candidates, all relevant: precision 0.3, rest 1 */
	{
		int32_t		top[3] = {0, 1, 2},
					rel[3] = {0, 1, 2};

		MrRankMetrics(top, 3, 10, rel, 3, 3, &st);
		ok(near(st.precision, 0.3) && near(st.recall, 1) && near(st.ndcg, 1) &&
		   near(st.ap, 1), "short list: precision still divides by k");
	}
	/* no hit */
	{
		int32_t		top[2] = {7, 8},
					rel[1] = {3};

		MrRankMetrics(top, 2, 2, rel, 1, 1, &st);
		ok(st.hits == 0 && st.ndcg == 0 && st.ap == 0 && st.recall == 0, "no hit gives zeros");
	}

	/* score block: P (2x2) . Q^T (3x2) + add */
	ok(MrBlasLoad() == NULL, "openblas loads");
	{
		float		P[4] = {1, 2, 0, 1};
		float		Q[6] = {1, 0, 0, 1, 2, 2};
		float		add[3] = {0.5f, 0, -1};
		float		want[6] = {1.5f, 2, 5, 0.5f, 1, 1};
		float		S[6];
		int			good = 1;

		MrScoreBlock(P, 2, Q, 3, 2, add, S);
		for (int i = 0; i < 6; i++)
			if (!near(S[i], want[i]))
				good = 0;
		ok(good, "score block = P Q^T + item term");
		MrScoreBlock(NULL, 2, NULL, 3, 0, add, S);
		ok(S[0] == 0.5f && S[5] == -1, "bias-only score block copies the item term");
	}

	printf("1..%d\n", n_test);
	return 0;
}
