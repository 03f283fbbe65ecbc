/*
 * serve_scan_prune.c: exact top-k that stops scanning once no remaining
 * item can reach the k-th score (norm-ordered early termination, after
 * LEMP, Teflioudi et al. 2015, and FEXIPRO, Li et al. 2017).
 *
 * Design.  By Cauchy-Schwarz an item's exact score is at most
 * b_i + |q_i| |p|.  Trained factors are skewed (popular movies have long
 * vectors and high biases, the long tail short ones): on ml-latest-small
 * with 64 ALS factors only about 8% of the movies have b_i + |q_i| |p| at
 * or above a user's 10th score (bench/serve_kernels prints this for any
 * factors).  So, once per model:
 *
 *   - items are sorted by the key b_i + c |q_i| (c a typical user norm),
 *     descending, and packed in that order in the int8 panel layout of
 *     serve_scan.c;
 *   - for every panel and each c_j of a grid of 8 user norms around c
 *     (c/4 .. 2.8 c), M_j = the maximum of b_i + c_j |q_i| over the items
 *     of that panel and all later ones, and N = their largest |q|.
 *
 * For a user of norm |p| between c_j and c_j+1, b_i + |q_i| |p| is a
 * convex combination of its values at c_j and c_j+1 (it is linear in |p|),
 * so every later item's bound is at most B = lambda M_j + (1 - lambda) M_j+1;
 * above the grid, M_last + N (|p| - c_last); below it, M_0.  That is
 * nearly the exact maximum of the suffix for any user, where a single
 * max-bias + max-norm bound would let a rare movie's high bias keep the
 * scan going to the end.
 *
 * A query scans panels in that order with the variant in use
 * (simd_dispatch.c), a few at a time, keeping the k largest lower bounds
 * a_i - e_i of serve_scan.c in a heap (its root tau is at most the k-th
 * exact score among the non-excluded items seen).  Before each step it
 * checks the upper bound of everything left,
 *
 *   U = B + (|B| + 2 N |p|) 2^-10 + 2^-100,
 *
 * where the slack covers the float rounding of an exact score (k 2^-24
 * of |q| |p| for k up to 1024, and of the bias addition) and of |q| with
 * a wide margin.  U < tau
 * means every later item scores strictly below the k-th best seen: the
 * scan stops.  The items seen then go through the same candidate pass
 * and exact rescoring as MrTopKExact, with their original indexes, so
 * the result (ids, order, scores, ties by smaller index) is exactly the
 * full scan's.  When nothing can be skipped (random factors, k near n)
 * it costs one full scan plus the panel checks.
 *
 * Plain C over arrays: no PostgreSQL calls (unit tested against brute
 * force in test/unit/serve_scan.c).
 */
#include "scan_variants.h"

#include <stdlib.h>

/* Panels scanned between two stop checks. */
#define STEP_PANELS 8

/* Bytes of the index. */
size_t
MrPruneBytes(int32_t n, int k)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	size_t		np = panels * MR_PANEL;

	return 2 * MrAlign64(sizeof(int32_t) * np) + MrAlign64(MrPackedBytes(n, k)) +
		2 * MrAlign64(sizeof(float) * np) + MrAlign64(sizeof(double) * (panels + 1) * MR_PRUNE_GRID) +
		MrAlign64(sizeof(double) * (panels + 1)) +
		MrAlign64(sizeof(float) * np) + MrAlign64(sizeof(int32_t) * np) + MrAlign64(np);
}

/* Sort key of the build (file-local for qsort). */
static const float *sort_key;

/* Descending key, then ascending index. */
static int
cmp_key(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a,
				y = *(const int32_t *) b;

	if (sort_key[x] != sort_key[y])
		return sort_key[x] > sort_key[y] ? -1 : 1;
	return (x > y) - (x < y);
}

/* Build the index: order, packed copy, suffix maxima. */
void
MrPruneBuild(MrPrune *ix, void *mem, const float *Q, const float *norm,
			 const float *bias, int32_t n, int k, float key_norm)
{
	size_t		panels = ((size_t) n + MR_PANEL - 1) / MR_PANEL;
	size_t		np = panels * MR_PANEL;
	char	   *c = mem,
			   *packed_mem;
	float	   *key,
			   *tmpq;
	int32_t		i;
	int64_t		b;
	double		mb[MR_PRUNE_GRID],
				mn = 0;
	int			g;

	ix->n = n;
	ix->k = k;
	ix->perm = (int32_t *) c;
	c += MrAlign64(sizeof(int32_t) * np);
	ix->ipos = (int32_t *) c;
	c += MrAlign64(sizeof(int32_t) * np);
	packed_mem = c;
	c += MrAlign64(MrPackedBytes(n, k));	/* packed below, once ordered */
	ix->norm = (float *) c;
	c += MrAlign64(sizeof(float) * np);
	ix->bias = (float *) c;
	c += MrAlign64(sizeof(float) * np);
	ix->suf_max = (double *) c;
	c += MrAlign64(sizeof(double) * (panels + 1) * MR_PRUNE_GRID);
	ix->suf_norm = (double *) c;
	c += MrAlign64(sizeof(double) * (panels + 1));
	ix->y = (float *) c;
	c += MrAlign64(sizeof(float) * np);
	ix->cand = (int32_t *) c;
	c += MrAlign64(sizeof(int32_t) * np);
	ix->mark = (uint8_t *) c;
	memset(ix->mark, 0, np);

	/* order by bias + key_norm |q|, descending (ties: smaller index) */
	key = malloc(sizeof(float) * ((size_t) n + 1));
	for (i = 0; i < n; i++)
	{
		ix->perm[i] = i;
		key[i] = (bias ? bias[i] : 0.0f) + key_norm * norm[i];
	}
	sort_key = key;
	qsort(ix->perm, n, sizeof(int32_t), cmp_key);
	free(key);

	/* the packed copy in that order (through a permuted float copy) */
	tmpq = malloc(sizeof(float) * ((size_t) n * k + 1));
	for (i = 0; i < n; i++)
	{
		memcpy(tmpq + (size_t) i * k, Q + (size_t) ix->perm[i] * k, sizeof(float) * k);
		ix->norm[i] = norm[ix->perm[i]];
		ix->bias[i] = bias ? bias[ix->perm[i]] : 0.0f;
	}
	MrPackItems(tmpq, n, k, packed_mem, &ix->packed);
	for (i = 0; i < n; i++)
		ix->ipos[ix->perm[i]] = i;
	free(tmpq);

	/* suffix maxima per panel; panel `panels` is the empty suffix */
	for (g = 0; g < MR_PRUNE_GRID; g++)
	{
		ix->grid[g] = (key_norm > 0 ? key_norm : 1.0) * pow(2.0, (g - 4) / 2.0);
		mb[g] = -INFINITY;
		ix->suf_max[panels * MR_PRUNE_GRID + g] = -INFINITY;
	}
	ix->suf_norm[panels] = 0;
	for (b = (int64_t) panels - 1; b >= 0; b--)
	{
		for (i = (int32_t) (b * MR_PANEL); i < n && i < (int32_t) ((b + 1) * MR_PANEL); i++)
		{
			for (g = 0; g < MR_PRUNE_GRID; g++)
			{
				double		u = (double) ix->bias[i] + ix->grid[g] * ix->norm[i];

				if (u > mb[g])
					mb[g] = u;
			}
			if (ix->norm[i] > mn)
				mn = ix->norm[i];
		}
		for (g = 0; g < MR_PRUNE_GRID; g++)
			ix->suf_max[b * MR_PRUNE_GRID + g] = mb[g];
		ix->suf_norm[b] = mn;
	}
}

/* Exact top k, scanning panels in key order until nothing left can win. */
int
MrPruneTopK(const MrPrune *ix, const float *Q, const float *bias,
			const float *p, int k, const int32_t *excl, int32_t n_excl,
			int32_t *out_index, float *out_score, int32_t *n_visited)
{
	MrApproxFn	approx = MrScanApproxFn();
	MrLowerFn	lower = MrScanLowerFn();
	MrUpperFn	upper = MrScanUpperFn();
	size_t		panels = ((size_t) ix->n + MR_PANEL - 1) / MR_PANEL;
	size_t		stride = (size_t) MR_PANEL * MrKPad(ix->k);
	const float *w = ix->packed.weight;
	const uint8_t *skip;
	MrQuery		q;
	double		pnorm = 0;
	float		e;
	float		tau = -INFINITY;
	int32_t		seen = 0,
				m,
				j;
	int			g0 = 0;
	double		lam = 1.0,
				above = 0.0;
	size_t		b = 0;
	MrTopK		h;
	int			f;

	for (f = 0; f < ix->k; f++)
		pnorm += (double) p[f] * p[f];
	pnorm = sqrt(pnorm);
	e = (float) (pnorm * (1 + 1e-5));
	MrQuantizeQuery(p, ix->k, &q);
	/* where |p| falls on the grid: B = lam M_g0 + (1 - lam) M_g0+1 (+ above N) */
	if (pnorm >= ix->grid[MR_PRUNE_GRID - 1])
	{
		g0 = MR_PRUNE_GRID - 2;
		lam = 0.0;
		above = pnorm - ix->grid[MR_PRUNE_GRID - 1];
	}
	else if (pnorm > ix->grid[0])
	{
		while (pnorm > ix->grid[g0 + 1])
			g0++;
		lam = (ix->grid[g0 + 1] - pnorm) / (ix->grid[g0 + 1] - ix->grid[g0]);
	}
	for (j = 0; j < n_excl; j++)
		ix->mark[ix->ipos[excl[j]]] = 1;
	skip = n_excl > 0 ? ix->mark : NULL;

	MrTopKReset(&h, k, out_score, out_index);
	while (b < panels)
	{
		size_t		nb = (b + STEP_PANELS <= panels) ? STEP_PANELS : panels - b;
		int32_t		end = (int32_t) ((b + nb) * MR_PANEL < (size_t) ix->n ? (b + nb) * MR_PANEL : (size_t) ix->n);
		int32_t		i;

		/* everything from panel b on scores below tau: stop */
		if (h.n == h.k && h.k > 0)
		{
			const double *mx = ix->suf_max + b * MR_PRUNE_GRID + g0;
			double		u = lam * mx[0] + (1 - lam) * mx[1] + above * ix->suf_norm[b];

			u += (fabs(u) + 2 * ix->suf_norm[b] * pnorm) * 0x1p-10 + 0x1p-100;
			if (u < tau)
				break;
		}
		approx(ix->packed.q8 + b * stride, ix->packed.scale + seen, end - seen, ix->k, &q,
			   ix->bias + seen, ix->y + seen);
		/* lower bounds of the items not excluded into the heap: fill it, then the variant's pass */
		i = seen;
		for (; i < end && h.n < h.k; i++)
			if (ix->y[i] > -INFINITY && !(skip && skip[i]))
				MrTopKPush(&h, ix->y[i] - MrBound(e, w[i], ix->y[i]), i);
		if (h.n == h.k && h.k > 0)
		{
			if (i < end)
				lower(ix->y, w, e, i, end, &h, skip);
			tau = out_score[0];
		}
		seen = end;
		b += nb;
	}
	/* candidates among the items seen, less the excluded ones */
	m = upper(ix->y, w, e, tau, seen, ix->cand);
	if (skip)
	{
		int32_t		t = 0;

		for (j = 0; j < m; j++)
			if (!skip[ix->cand[j]])
				ix->cand[t++] = ix->cand[j];
		m = t;
		for (j = 0; j < n_excl; j++)
			ix->mark[ix->ipos[excl[j]]] = 0;
	}

	/* rescore exactly by item index */
	MrTopKReset(&h, k, out_score, out_index);
	for (j = 0; j < m; j += MR_RESCORE_CHUNK)
	{
		int32_t		c = (m - j < MR_RESCORE_CHUNK) ? m - j : MR_RESCORE_CHUNK,
					t;
		int32_t		rows[MR_RESCORE_CHUNK];
		float		sc[MR_RESCORE_CHUNK];

		for (t = 0; t < c; t++)
			rows[t] = ix->perm[ix->cand[j + t]];
		MrScoreExactRows(Q, ix->k, p, bias, rows, c, sc);
		for (t = 0; t < c; t++)
			MrTopKPush(&h, sc[t], rows[t]);
	}
	if (n_visited)
		*n_visited = seen;
	return MrTopKSort(&h);
}
