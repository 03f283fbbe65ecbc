/*
 * eval_metrics.c: the numerical part of movierec.evaluate().
 *
 * Design.  Evaluation ranks, for every test user with at least one
 * relevant item, every movie seen in training that the user did not rate
 * in training.  Scores for a block of users come from one sgemm
 * (P_block x Q^T, plus a per-movie term such as the item bias); each
 * user's row is then scanned once, in ascending movie order, through a
 * bounded heap of size k whose root is the worst element kept.  Because
 * the scan is in ascending movie_id order and a candidate replaces the
 * root only when strictly better, equal scores keep the smaller movie_id,
 * which is the tie rule of the definitions:
 *
 *   precision@k = hits / k
 *   recall@k    = hits / min(k, R)
 *   NDCG@k      = sum over hit ranks r of 1/log2(r + 1), divided by
 *                 sum_{r = 1}^{min(k, R)} 1/log2(r + 1)
 *   AP@k        = sum over hit ranks r of (hits within the first r) / r,
 *                 divided by min(k, R)
 *
 * where R is the user's number of relevant test items (rating >=
 * relevant_min), whether or not the model knows the movie.  The glue
 * averages these over users.  No PostgreSQL calls here.
 */
#include "eval_metrics.h"
#include "topk.h"

#include <math.h>
#include <string.h>

#include "blas.h"

/* Clip a prediction to [lo, hi]. */
float
MrClipRating(double pred, float lo, float hi)
{
	if (pred < lo)
		return lo;
	if (pred > hi)
		return hi;
	return (float) pred;
}

/* Rank one user's candidates (all items minus exclude[]) into out. */
int
MrRankTopK(const float *scores, int32_t n_items,
		   const int32_t *exclude, int64_t n_exclude,
		   int k, float *score_buf, int32_t *out)
{
	MrTopK		h;
	int64_t		e = 0;
	int32_t		i;

	MrTopKReset(&h, k, score_buf, out);
	for (i = 0; i < n_items; i++)
	{
		/*
		 * Heap full: 16 scores at a time against the root, in a loop the
		 * compiler vectorizes; a block with none better is skipped whole
		 * (excluded items in it included: they would be skipped anyway).
		 */
		if (h.n == h.k && h.k > 0 && i + 16 <= n_items)
		{
			float		root = h.score[0];
			int			any = 0,
						t;

			for (t = 0; t < 16; t++)
				any |= (scores[i + t] > root);
			if (!any)
			{
				i += 15;
				continue;
			}
		}
		while (e < n_exclude && exclude[e] < i)
			e++;
		if (e < n_exclude && exclude[e] == i)
			continue;
		MrTopKPush(&h, scores[i], i);
	}
	return MrTopKSort(&h);
}

/* True when item is in the ascending array a[0..n-1]. */
static int
contains(const int32_t *a, int n, int32_t item)
{
	int			lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (a[mid] == item)
			return 1;
		if (a[mid] < item)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

/* Ranking metrics of one user (see the definitions at the top). */
void
MrRankMetrics(const int32_t *top, int n_top, int k,
			  const int32_t *relevant, int n_rel_listed,
			  int n_relevant, MrRankStats *out)
{
	int			denom = n_relevant < k ? n_relevant : k;
	double		dcg = 0.0,
				idcg = 0.0,
				ap = 0.0;
	int			hits = 0;
	int			r;

	memset(out, 0, sizeof(*out));
	if (k <= 0 || denom <= 0)
		return;
	for (r = 0; r < n_top && r < k; r++)
	{
		if (!contains(relevant, n_rel_listed, top[r]))
			continue;
		hits++;
		dcg += 1.0 / log2((double) r + 2.0);
		ap += (double) hits / (double) (r + 1);
	}
	for (r = 0; r < denom; r++)
		idcg += 1.0 / log2((double) r + 2.0);
	out->hits = hits;
	out->precision = (double) hits / k;
	out->recall = (double) hits / denom;
	out->ndcg = dcg / idcg;
	out->ap = ap / denom;
}

/* Scores of a block of users: P_block . Q^T + add (see the header). */
void
MrScoreBlock(const float *P, int nb, const float *Q,
			 int32_t n_items, int k, const float *add, float *out)
{
	int			u;

	if (k > 0)
		mr_blas.sgemm(MrRowMajor, MrNoTrans, MrTrans, nb, n_items, k,
					  1.0f, P, k, Q, k, 0.0f, out, n_items);
	for (u = 0; u < nb; u++)
	{
		float	   *row = out + (size_t) u * n_items;
		int32_t		i;

		if (k <= 0)
		{
			if (add)
				memcpy(row, add, sizeof(float) * n_items);
			else
				memset(row, 0, sizeof(float) * n_items);
		}
		else if (add)
		{
			for (i = 0; i < n_items; i++)
				row[i] += add[i];
		}
	}
}
