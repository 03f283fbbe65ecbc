/*
 * serve_ease.c: serving and evaluation of EASE models (algorithm 'ease').
 *
 * Design.  An EASE model is a k = 0 model (item_factors rows with zero
 * bias, for ids, counts and popularity) plus the dense item-item matrix B
 * in movierec.ease_weights.  The serving cache (serve_cache.c) loads B
 * next to the items; the hooks here then replace the factor arithmetic:
 *
 *   user      x_u = the user's current ratings of movies in B (ratings >=
 *             binarize when binarize > 0), read as for every model
 *             (serve_user.c); nothing is solved, so new ratings and new
 *             users count at once.  No such rating: popularity.
 *   score     s_j = sum_i x_ui B_ij over those ratings in movie_id order
 *             (MrEaseScoreKept: one vectorized axpy per rated movie);
 *             movies not in B score -INFINITY (never recommended).
 *   similar   row movie of B: the movies that rating this one raises most.
 *   explain   the terms x_ui B_ij of the score of movie j.
 *
 * Every score is computed by the same loop, so recommend(),
 * recommend_for_ratings(), predict() and evaluate() agree bit for bit;
 * test/pgtap/ease_serve.sql checks them against the same sums in SQL.
 * Memory: n_kept^2 floats per cached model and backend.
 */
#include "movierec.h"
#include "serve.h"
#include "ease.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

/* n floats aligned to 64 bytes in cxt (zeroed). */
static float *
ease_floats(MemoryContext cxt, Size n)
{
	char	   *raw = MemoryContextAllocExtended(cxt, add_size(mul_size(n, sizeof(float)), 64),
												 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	return (float *) TYPEALIGN(64, raw);
}

/* See ease.h. */
MrEaseTable *
MrEaseLoad(int64 model_id, const int64 *item_ids, int32 n_items, MemoryContext cxt)
{
	MrEaseTable *t = MemoryContextAllocZero(cxt, sizeof(MrEaseTable));
	Oid			argtype = INT8OID;
	Datum		arg = Int64GetDatum(model_id);
	uint64		n;
	int			rc;

	t->n_items = n_items;
	t->kept_pos = MemoryContextAllocExtended(cxt, mul_size(Max(n_items, 1), sizeof(int32)),
											 MCXT_ALLOC_HUGE);
	memset(t->kept_pos, 0xFF, sizeof(int32) * n_items);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("SELECT coalesce((params->>'binarize')::float8, 0) "
							   "FROM movierec.models WHERE model_id = $1",
							   1, &argtype, &arg, NULL, true, 1);
	if (rc == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;

		t->binarize = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1, &isnull));
	}
	rc = SPI_execute_with_args("SELECT movie_id, weights FROM movierec.ease_weights "
							   "WHERE model_id = $1 ORDER BY movie_id",
							   1, &argtype, &arg, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	n = SPI_processed;
	if (n > (uint64) n_items)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model %lld has more rows in movierec.ease_weights than movies", (long long) model_id),
				 errhint("Retrain the model with movierec.train(), or drop it.")));
	t->n_kept = (int32) n;
	t->kept_item = MemoryContextAllocExtended(cxt, mul_size(Max(n, 1), sizeof(int32)),
											  MCXT_ALLOC_HUGE);
	t->B = ease_floats(cxt, mul_size(Max(n, 1), Max(n, 1)));
	t->pos = MemoryContextAllocExtended(cxt, mul_size(Max(n, 1), sizeof(int32)), MCXT_ALLOC_HUGE);
	t->x = ease_floats(cxt, Max(n, 1));
	t->acc = ease_floats(cxt, Max(n, 1));
	for (uint64 a = 0; a < n; a++)
	{
		HeapTuple	tup = SPI_tuptable->vals[a];
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		Datum		d = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
		int32		item = MrFindId(item_ids, n_items, id);
		ArrayType  *arr = isnull ? NULL : DatumGetArrayTypeP(d);

		if ((a & 255) == 0)
			CHECK_FOR_INTERRUPTS();
		if (item < 0 || arr == NULL || ARR_ELEMTYPE(arr) != FLOAT4OID || ARR_HASNULL(arr) ||
			ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr)) != (int) n)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("row of movie %lld in movierec.ease_weights of model %lld is not %d real numbers of a movie of the model",
							(long long) id, (long long) model_id, (int) n),
					 errhint("Retrain the model with movierec.train(), or drop it.")));
		memcpy(t->B + a * n, ARR_DATA_PTR(arr), sizeof(float) * n);
		t->kept_item[a] = item;
		t->kept_pos[item] = (int32) a;
		if ((Pointer) arr != DatumGetPointer(d))
			pfree(arr);
	}
	SPI_finish();
	return t;
}

/* See ease.h. */
int32
MrEaseSetUser(MrEaseTable *t, int32 n, const int32 *idx, const float *vals)
{
	int32		c = 0;

	for (int32 i = 0; i < n; i++)
	{
		int32		p = t->kept_pos[idx[i]];
		float		x = MrEaseX(vals[i], t->binarize);

		if (p >= 0 && x != 0.0f)
		{
			t->pos[c] = p;
			t->x[c] = x;
			c++;
		}
	}
	t->n_user = c;
	return c;
}

/* See ease.h. */
void
MrEaseScoreAll(MrEaseTable *t, float *s)
{
	MrEaseScoreKept(t->B, t->n_kept, t->n_user, t->pos, t->x, t->acc);
	for (int32 i = 0; i < t->n_items; i++)
		s[i] = -INFINITY;
	for (int32 a = 0; a < t->n_kept; a++)
		s[t->kept_item[a]] = t->acc[a];
}

/* serve_cache.c hook: load B of an 'ease' model into its cache entry. */
void
MrServeEaseLoad(MrServeModel *m)
{
	m->ease = MrEaseLoad(m->model_id, m->item_ids, m->n_items, m->cxt);
}

/*
 * serve_user.c hook: the path of an EASE user (known_idx/known_vals are
 * set; user_id -1 for given ratings): scores from the current ratings, or
 * popularity without any.
 */
void
MrServeEaseUser(MrServeModel *m, MrServeUser *u, int64 user_id)
{
	int32		c = MrEaseSetUser(m->ease, u->n_known, u->known_idx, u->known_vals);
	char		who[64];

	if (user_id >= 0)
		snprintf(who, sizeof(who), "user %lld", (long long) user_id);
	else
		snprintf(who, sizeof(who), "the given ratings");

	u->bias = 0;
	if (c > 0)
	{
		u->path = MR_PATH_MODEL;
		snprintf(u->reason, sizeof(u->reason),
				 "%s: scores x_u B from %d current ratings of movies in ease model %lld (no solve)",
				 who, c, (long long) m->model_id);
	}
	else
	{
		u->path = MR_PATH_POPULARITY;
		snprintf(u->reason, sizeof(u->reason),
				 "%s has no current rating%s of a movie in ease model %lld",
				 who, m->ease->binarize > 0 ? " at or above binarize" : "",
				 (long long) m->model_id);
	}
}

/*
 * serve_recommend.c hook: scores of the user set by MrServeEaseUser into
 * m->scratch, for every movie or for the candidates only.
 */
void
MrServeEaseScore(MrServeModel *m, const int32 *cand, int32 ncand)
{
	MrEaseTable *t = m->ease;

	if (cand == NULL)
	{
		MrEaseScoreAll(t, m->scratch);
		return;
	}
	MrEaseScoreKept(t->B, t->n_kept, t->n_user, t->pos, t->x, t->acc);
	for (int32 i = 0; i < ncand; i++)
	{
		int32		p = t->kept_pos[cand[i]];

		m->scratch[cand[i]] = p >= 0 ? t->acc[p] : -INFINITY;
	}
}

/* predict() hook: the score of item x for the current user (NaN if not in B). */
float
MrServeEaseScoreOne(MrServeModel *m, int32 x)
{
	MrEaseTable *t = m->ease;
	int32		p = t->kept_pos[x];
	float		s = 0.0f;

	if (p < 0)
		return NAN;
	/* the same order of additions as MrEaseScoreKept */
	for (int32 i = 0; i < t->n_user; i++)
		if (t->x[i] != 0.0f)
			s += t->x[i] * t->B[(Size) t->pos[i] * t->n_kept + p];
	return s;
}

/*
 * similar_movies() hook: row x of B into m->scratch (movies not in B and
 * x itself are -INFINITY).  False if x is not in B.
 */
bool
MrServeEaseSimilar(MrServeModel *m, int32 x)
{
	MrEaseTable *t = m->ease;
	int32		p = t->kept_pos[x];
	const float *row;

	if (p < 0)
		return false;
	row = t->B + (Size) p * t->n_kept;
	for (int32 i = 0; i < m->n_items; i++)
		m->scratch[i] = -INFINITY;
	for (int32 a = 0; a < t->n_kept; a++)
		m->scratch[t->kept_item[a]] = row[a];
	m->scratch[x] = -INFINITY;
	return true;
}

/*
 * explain() hook: contrib[t] = x_ui B_ij for the user's t-th known rating
 * (0 for ratings not in x_u); returns false if movie x is not in B.
 */
bool
MrServeEaseExplain(MrServeModel *m, const MrServeUser *u, int32 x, float *contrib)
{
	MrEaseTable *t = m->ease;
	int32		p = t->kept_pos[x];

	if (p < 0)
		return false;
	for (int32 i = 0; i < u->n_known; i++)
	{
		int32		r = t->kept_pos[u->known_idx[i]];
		float		xv = MrEaseX(u->known_vals[i], t->binarize);

		contrib[i] = (r >= 0 && xv != 0.0f) ? xv * t->B[(Size) r * t->n_kept + p] : 0.0f;
	}
	return true;
}

PG_FUNCTION_INFO_V1(movierec_ease_invalidate);

/*
 * Trigger on movierec.ease_weights: cached EASE models are stale at
 * commit (invalidates movierec.models, which serve_cache.c watches).
 */
Datum
movierec_ease_invalidate(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("movierec.ease_invalidate() must be called as a trigger"),
				 errhint("It is installed on movierec.ease_weights; do not call it directly.")));
	CacheInvalidateRelcacheByRelid(get_relname_relid("models", get_namespace_oid("movierec", false)));
	return PointerGetDatum(NULL);
}
