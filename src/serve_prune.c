/*
 * serve_prune.c: recommend() through the norm-ordered, early-terminating
 * exact scan (src/kernels/serve_scan_prune.c) when it pays.
 *
 * Design.  The pruning index of a cached model (items sorted by
 * bias + c |q|, a second int8 copy in that order, per-panel suffix
 * maxima) is built on the model's first recommend() call in the backend,
 * in a child of the served arrays' memory context (serve_items.c), so it
 * is freed with them (and at once if it does not pay, below: at 62,423
 * movies, 6.3 MB per backend), and built again when they are (new movies
 * folded in) or when the cache's own invalidation reloads the model.  c is
 * the norm of that first user's vector (the bound is valid for any user; c
 * only tunes the order).
 * Whether pruning pays depends on the factors: on trained ones the scan
 * stops after a few percent of the movies, on uniformly random ones it
 * never stops early and only adds overhead.  So the build runs probe
 * queries (the first user's vector, and eight item vectors scaled to its
 * norm) and keeps the index only if they scanned less than half of the
 * movies on average; otherwise the model stays on the full scan.  The
 * result is the same either way (exact, ties by smaller movie_id).
 * movierec.scan_prune = off turns it off (benchmarks, comparisons).
 */
#include "movierec.h"
#include "serve.h"

#include <math.h>

#include "scan_kernel.h"
#include "stats.h"
#include "utils/memutils.h"

/* Probes that scan more than this share of the items mean "no". */
#define PRUNE_MAX_VISITED 0.5

static float prune_score[MR_SERVE_MAX_K];
static int32 prune_index[MR_SERVE_MAX_K];

/* Build the index of m, probe it, keep it when it pays. */
static void
build_prune(MrServeModel *m, const float *p)
{
	double		pn = 0,
				visited = 0;
	size_t		bytes = MrPruneBytes(m->n_items, m->k);
	char	   *raw;
	MemoryContext cxt;
	MrPrune    *ix;
	float	   *probe;
	int			f,
				t;

	for (f = 0; f < m->k; f++)
		pn += (double) p[f] * p[f];
	pn = sqrt(pn);
	/* its own context, under the served arrays': dropped if not kept */
	cxt = AllocSetContextCreate(m->served_cxt, "movierec pruning index", ALLOCSET_DEFAULT_SIZES);
	raw = MemoryContextAllocExtended(cxt, bytes + 64, MCXT_ALLOC_HUGE);
	ix = MemoryContextAlloc(cxt, sizeof(MrPrune));
	probe = MemoryContextAlloc(cxt, sizeof(float) * m->k);
	MrPruneBuild(ix, (void *) TYPEALIGN(64, raw), m->Q, m->norm, m->item_bias,
				 m->n_items, m->k, (float) pn);
	for (t = 0; t < 9; t++)
	{
		int32		v = 0;

		if (t == 0)
			memcpy(probe, p, sizeof(float) * m->k);
		else
		{
			int32		x = (int32) (((int64) m->n_items * (2 * t - 1)) / 16);
			double		s = m->norm[x] > 0 ? pn / m->norm[x] : 0;

			for (f = 0; f < m->k; f++)
				probe[f] = (float) (m->Q[(Size) x * m->k + f] * s);
		}
		MrPruneTopK(ix, m->Q, m->item_bias, probe, 10, NULL, 0,
					prune_index, prune_score, &v);
		visited += (double) v / m->n_items / 9;
	}
	m->prune_state = (visited < PRUNE_MAX_VISITED) ? 1 : -1;
	m->prune = (m->prune_state == 1) ? ix : NULL;
	m->prune_version = m->served_version;
	if (m->prune == NULL)
		MemoryContextDelete(cxt);	/* the int8 copy in norm order and the rest */
	elog(DEBUG2, "movierec: pruning probes of model %lld scanned %.1f%% of %d movies",
		 (long long) m->model_id, 100 * visited, m->n_items);
	elog(DEBUG1, "movierec: model %lld %s the norm-ordered scan",
		 (long long) m->model_id, m->prune_state == 1 ? "uses" : "does not use");
}

/*
 * The pruning index of m for user vectors like p (built on first use), or
 * NULL when the model does not use it (not worth it, turned off, too few
 * movies, no factors).
 */
MrPrune *
MrServePruneIndex(MrServeModel *m, const float *p)
{
	if (m->prune_version != m->served_version)
	{
		/* the served movies were built again: so is the index */
		m->prune_state = 0;
		m->prune = NULL;
	}
	if (!MrScanPruneEnabled() || m->k == 0 || m->n_items < 4 * MR_PANEL || m->prune_state < 0)
		return NULL;
	if (m->prune_state == 0)
		build_prune(m, p);
	return m->prune;
}

/*
 * recommend() for a user with a vector and no `among`: the exact top k
 * through the pruned scan, emitted as (movie_id, score, rank).  Returns
 * false, having done nothing, when the model does not use pruning.
 */
bool
MrServePruneRecommend(FunctionCallInfo fcinfo, MrServeModel *m, const MrServeUser *u,
					  int k, bool exclude)
{
	int			n;

	if (u->path == MR_PATH_POPULARITY || MrServePruneIndex(m, u->p) == NULL)
		return false;
	n = MrPruneTopK(m->prune, m->Q, m->item_bias, u->p, k,
					exclude ? u->known_idx : NULL, exclude ? u->n_known : 0,
					prune_index, prune_score, NULL);
	MrServeEmitTopK(fcinfo, m, n, prune_index, prune_score, m->spec.global_mean + u->bias);
	MrStatsNotePath(MrServePathName(u->path));
	return true;
}
