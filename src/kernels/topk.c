/*
 * topk.c: exact top-k selection with a bounded heap.
 *
 * Design.  Serving and evaluation score every candidate (serving: one
 * pass over the cached item factors, serve_scan.c) and keep the k best.  A binary heap of capacity
 * k holds the best seen so far with the worst one at the root, so a
 * candidate that does not beat the root costs one comparison; over n
 * candidates the work is O(n + m log k) where m, the number of
 * replacements, is small for random order (about k log(n/k)).  Ties are
 * broken by smaller index: the cache keeps items sorted by movie_id, so
 * this is "ties by smaller movie_id" as the API promises.  -INFINITY marks
 * a non-candidate (excluded, outside `among`, below the popularity minimum
 * count), and NaN is treated the same way so that a corrupt factor never
 * surfaces.
 *
 * Plain C over arrays: no PostgreSQL calls (unit tested in
 * test/unit/topk.c).
 */
#include "topk.h"

#include <stddef.h>

#include <math.h>

/* True when (sa, ia) ranks before (sb, ib). */
static inline int
better(float sa, int32_t ia, float sb, int32_t ib)
{
	return sa > sb || (sa == sb && ia < ib);
}

/* Restore the heap below position i (worst at the root). */
static void
sift_down(MrTopK *h, int i)
{
	float		s = h->score[i];
	int32_t		x = h->index[i];

	for (;;)
	{
		int			c = 2 * i + 1;

		if (c >= h->n)
			break;
		/* pick the worse child */
		if (c + 1 < h->n && better(h->score[c], h->index[c],
								   h->score[c + 1], h->index[c + 1]))
			c++;
		if (!better(s, x, h->score[c], h->index[c]))
			break;
		h->score[i] = h->score[c];
		h->index[i] = h->index[c];
		i = c;
	}
	h->score[i] = s;
	h->index[i] = x;
}

/* Move the entry at position i up while it is worse than its parent. */
static void
sift_up(MrTopK *h, int i)
{
	float		s = h->score[i];
	int32_t		x = h->index[i];

	while (i > 0)
	{
		int			p = (i - 1) / 2;

		if (!better(h->score[p], h->index[p], s, x))
			break;
		h->score[i] = h->score[p];
		h->index[i] = h->index[p];
		i = p;
	}
	h->score[i] = s;
	h->index[i] = x;
}

/* Empty the heap; score and index must hold k entries. */
void
MrTopKReset(MrTopK *h, int k, float *score, int32_t *index)
{
	h->k = k;
	h->n = 0;
	h->score = score;
	h->index = index;
}

/* Offer one candidate (-INFINITY and NaN are not candidates). */
void
MrTopKPush(MrTopK *h, float score, int32_t index)
{
	if (!(score > -INFINITY))	/* also rejects NaN */
		return;
	if (h->n < h->k)
	{
		h->score[h->n] = score;
		h->index[h->n] = index;
		h->n++;
		sift_up(h, h->n - 1);
	}
	else if (h->k > 0 && better(score, index, h->score[0], h->index[0]))
	{
		h->score[0] = score;
		h->index[0] = index;
		sift_down(h, 0);
	}
}

/* Offer scores[i] for all i < n, or for the indexes in cand. */
void
MrTopKScan(MrTopK *h, const float *scores, const int32_t *cand, int32_t n)
{
	int32_t		i;

	if (h->k <= 0)
		return;
	if (cand == NULL)
	{
		i = 0;
		/* fill the heap, then the fast path compares with the root only */
		for (; i < n && h->n < h->k; i++)
			MrTopKPush(h, scores[i], i);
		for (; i < n; i++)
		{
			float		s = scores[i];

			/* i grows, so a tie with the root never wins: strict > */
			if (s > h->score[0])
			{
				h->score[0] = s;
				h->index[0] = i;
				sift_down(h, 0);
			}
		}
	}
	else
	{
		for (i = 0; i < n; i++)
			MrTopKPush(h, scores[cand[i]], cand[i]);
	}
}

/* Offer row[j] + bias[j] as index offset + j (blocks in index order). */
void
MrTopKScanRow(MrTopK *h, const float *row, const float *bias, int32_t offset,
			  int32_t n)
{
	int32_t		j = 0;

	if (h->k <= 0)
		return;
	for (; j < n && h->n < h->k; j++)
		MrTopKPush(h, row[j] + bias[j], offset + j);
	for (; j < n; j++)
	{
		float		s;

		/*
		 * 16 at a time first: a loop the compiler vectorizes (no call, no
		 * branch) says whether any of them beats the root; most blocks
		 * have none once the heap holds good items.
		 */
		if ((j & 15) == 0 && j + 16 <= n)
		{
			float		root = h->score[0];
			int			any = 0,
						t;

			for (t = 0; t < 16; t++)
				any |= (row[j + t] + bias[j + t] > root);
			if (!any)
			{
				j += 15;
				continue;
			}
		}
		s = row[j] + bias[j];
		/* indexes grow across calls too, so ties never win: strict > */
		if (s > h->score[0])
		{
			h->score[0] = s;
			h->index[0] = offset + j;
			sift_down(h, 0);
		}
	}
}

/* Sort the held entries best first; returns how many. */
int
MrTopKSort(MrTopK *h)
{
	int			n = h->n;

	/* heap sort: move the worst to the end, shrink, repeat */
	while (h->n > 1)
	{
		int			last = h->n - 1;
		float		s = h->score[0];
		int32_t		x = h->index[0];

		h->score[0] = h->score[last];
		h->index[0] = h->index[last];
		h->score[last] = s;
		h->index[last] = x;
		h->n = last;
		sift_down(h, 0);
	}
	h->n = n;
	return n;
}

/* Exact top k of scores[0..n) into out_index/out_score. */
int
MrTopKSelect(const float *scores, int32_t n, int k,
			 int32_t *out_index, float *out_score)
{
	MrTopK		h;

	MrTopKReset(&h, k, out_score, out_index);
	MrTopKScan(&h, scores, NULL, n);
	return MrTopKSort(&h);
}
