/*
 * serve_similar.c: similar_movies() on the catalogue scan kernels.
 *
 * Design.  The similarity of movies x and i is the cosine of their factor
 * vectors, computed as the exact float dot product of the unit vectors
 * u = q / |q| (each rounded once to float from a double norm): fused
 * multiply-adds in factor order (MrScoreExact), so the same bits on every
 * CPU and in every scan variant.  An int8 copy of the unit vectors
 * (MrPackItems) gives the first pass with its rigorous per-movie bound,
 * and MrTopKExact rescores the few movies that the bound cannot decide:
 * the exact top k, ties by smaller movie_id, for the price of the int8
 * pass of recommend().  From MR_INT4_MIN_ITEMS movies on, an int4 copy
 * gives the first pass instead, with the int8 one as the fallback, as in
 * recommend() (serve_int4.c).  Movies with a zero vector have no direction and
 * are never candidates.  The arrays are built on a model's first
 * similar_movies() call in the backend, in the context of the served
 * arrays (serve_items.c), and built again after those are (new movies
 * folded in, or the cache reloading the model).
 */
#include "movierec.h"
#include "serve.h"

#include <math.h>

/* Build the unit vectors of m's served movies and their int8 copy. */
static void
build_unit(MrServeModel *m)
{
	int			k = m->k;
	char	   *raw;
	int32		i;

	m->unit = MrServeAllocFloats(m->served_cxt, mul_size(m->n_items, k));
	m->unit_zero = 0;
	for (i = 0; i < m->n_items; i++)
	{
		const float *q = m->Q + (Size) i * k;
		float	   *u = m->unit + (Size) i * k;
		double		ss = 0;
		int			f;

		for (f = 0; f < k; f++)
			ss += (double) q[f] * q[f];
		/* the same test as the per-call exclusion below */
		if (m->norm[i] > 0 && ss > 0)
			for (f = 0; f < k; f++)
				u[f] = (float) (q[f] / sqrt(ss));
		if (!(m->norm[i] > 0))
			m->unit_zero++;
	}
	raw = MemoryContextAllocExtended(m->served_cxt, MrPackedBytes(m->n_items, k) + 64,
									 MCXT_ALLOC_HUGE);
	MrPackItems(m->unit, m->n_items, k, (void *) TYPEALIGN(64, raw), &m->unit_packed);
	MrServeInt4Pack(m->served_cxt, m->unit, m->n_items, k, &m->unit_packed4);
	m->unit4_misses = 0;
	m->similar_version = m->served_version;
}

/* Movies that cannot be similar to x: x itself and zero vectors. */
static void
exclude_unit(const MrServeModel *m, int32 x, float *s)
{
	int32		i;

	for (i = 0; m->unit_zero > 0 && i < m->n_items; i++)
		if (!(m->norm[i] > 0))
			s[i] = -INFINITY;
	s[x] = -INFINITY;
}

/*
 * The k movies most similar to movie index x (x itself excluded), best
 * first in out_index/out_score; returns their count (0 when x has a zero
 * vector).  m must have factors.
 */
int
MrServeSimilarTopK(MrServeModel *m, int32 x, int k, int32 *out_index, float *out_score)
{
	float	   *s = m->scratch;
	const float *p;
	MrScanInput in;

	if (!(m->norm[x] > 0))
		return 0;
	if (m->unit == NULL || m->similar_version != m->served_version)
		build_unit(m);
	p = m->unit + (Size) x * m->k;
	in.n = m->n_items;
	in.k = m->k;
	in.Q = m->unit;
	in.bias = NULL;
	in.p = p;
	in.n_rescored = NULL;
	if (MrServeInt4Usable(&m->unit_packed4, m->unit4_misses) &&
		MrScoreApprox4(&m->unit_packed4, p, NULL, s))
	{
		int			n;

		exclude_unit(m, x, s);
		in.weight = m->unit_packed4.weight;
		in.max_rescore = MR_INT4_MAX_RESCORE(m->n_items);
		n = MrTopKExact(&in, k, s, m->cand, out_index, out_score);
		MrServeInt4Outcome(m, &m->unit4_misses, n < 0, "similar_movies");
		if (n >= 0)
			return n;
	}
	MrScoreApprox(&m->unit_packed, p, NULL, s);
	exclude_unit(m, x, s);
	in.weight = m->unit_packed.weight;
	in.max_rescore = 0;
	return MrTopKExact(&in, k, s, m->cand, out_index, out_score);
}
