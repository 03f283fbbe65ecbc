/*
 * model_store.c: read a stored model into arrays (see model_store.h).
 *
 * Rows come from movierec.models, item_factors and user_factors through
 * SPI, ordered by id so that lookups are binary searches.  Factor arrays
 * must all have n_factors elements and no NULLs; anything else means the
 * stored model is damaged and is reported as such.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "model_store.h"

/* Copy one real[] factor vector of length k into dst, checking its shape. */
static void
copy_factors(Datum d, bool isnull, int32 k, float *dst, int64 model_id, int64 id)
{
	ArrayType  *a;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model %lld has no factors for id %lld", (long long) model_id, (long long) id),
				 errhint("Retrain the model with movierec.train().")));
	a = DatumGetArrayTypeP(d);
	if (ARR_NDIM(a) != 1 || ARR_HASNULL(a) || ARR_ELEMTYPE(a) != FLOAT4OID ||
		ARR_DIMS(a)[0] != k)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model %lld has a factor vector of the wrong shape for id %lld",
						(long long) model_id, (long long) id),
				 errdetail("Expected %d real values without NULLs.", k),
				 errhint("Retrain the model with movierec.train().")));
	memcpy(dst, ARR_DATA_PTR(a), sizeof(float) * k);
}

/* Read the factor rows of one side (items or users) of a model. */
static void
read_side(MrModel *m, bool items, MemoryContext target)
{
	const char *sql = items ?
		"SELECT movie_id, bias, factors, n_ratings, mean_rating "
		"FROM movierec.item_factors WHERE model_id = $1 ORDER BY movie_id" :
		"SELECT user_id, bias, factors FROM movierec.user_factors "
		"WHERE model_id = $1 ORDER BY user_id";
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(m->model_id)};
	MemoryContext old;
	uint64		n;
	int64	   *ids;
	float	   *bias;
	float	   *vec = NULL;

	if (SPI_execute_with_args(sql, 1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read factors of model %lld", (long long) m->model_id);
	n = SPI_processed;
	if (n > PG_INT32_MAX)
		elog(ERROR, "model %lld has too many rows", (long long) m->model_id);

	old = MemoryContextSwitchTo(target);
	ids = palloc_extended(sizeof(int64) * (n + 1), MCXT_ALLOC_HUGE);
	bias = palloc_extended(sizeof(float) * (n + 1), MCXT_ALLOC_HUGE);
	if (m->k > 0)
		vec = palloc_extended(mul_size(sizeof(float) * (Size) m->k, n + 1), MCXT_ALLOC_HUGE);
	if (items)
	{
		m->item_count = palloc_extended(sizeof(int32) * (n + 1), MCXT_ALLOC_HUGE);
		m->item_mean = palloc_extended(sizeof(float) * (n + 1), MCXT_ALLOC_HUGE);
	}
	MemoryContextSwitchTo(old);

	for (uint64 r = 0; r < n; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;

		ids[r] = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		bias[r] = DatumGetFloat4(SPI_getbinval(tup, desc, 2, &isnull));
		if (m->k > 0)
		{
			d = SPI_getbinval(tup, desc, 3, &isnull);
			copy_factors(d, isnull, m->k, vec + r * m->k, m->model_id, ids[r]);
		}
		if (items)
		{
			m->item_count[r] = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
			d = SPI_getbinval(tup, desc, 5, &isnull);
			m->item_mean[r] = isnull ? m->global_mean : DatumGetFloat4(d);
		}
		if ((r & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	SPI_freetuptable(SPI_tuptable);

	if (items)
	{
		m->n_items = (int32) n;
		m->item_ids = ids;
		m->item_bias = bias;
		m->Q = vec;
	}
	else
	{
		m->n_users = (int32) n;
		m->user_ids = ids;
		m->user_bias = bias;
		m->P = vec;
	}
}

/* Load a model into CurrentMemoryContext (see model_store.h). */
MrModel *
MrModelLoad(int64 model_id, bool with_users)
{
	MemoryContext target = CurrentMemoryContext;
	MrModel    *m = palloc0(sizeof(MrModel));
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(model_id)};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;

	m->model_id = model_id;
	SPI_connect();
	if (SPI_execute_with_args("SELECT model_name, version, algorithm, n_factors, "
							  "global_mean, rating_min, rating_max "
							  "FROM movierec.models WHERE model_id = $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read movierec.models");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model %lld does not exist", (long long) model_id),
				 errhint("List models with: SELECT model_id, model_name FROM movierec.models;")));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	m->model_name = MemoryContextStrdup(target, SPI_getvalue(tup, desc, 1));
	m->version = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
	m->algorithm = MemoryContextStrdup(target, SPI_getvalue(tup, desc, 3));
	m->k = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
	d = SPI_getbinval(tup, desc, 5, &isnull);
	m->global_mean = isnull ? 0.0f : DatumGetFloat4(d);
	m->rating_min = DatumGetFloat4(SPI_getbinval(tup, desc, 6, &isnull));
	m->rating_max = DatumGetFloat4(SPI_getbinval(tup, desc, 7, &isnull));
	SPI_freetuptable(SPI_tuptable);

	read_side(m, true, target);
	if (with_users)
		read_side(m, false, target);
	SPI_finish();
	return m;
}

/* Binary search for id in a sorted array of n ids; -1 if absent. */
int32
MrFindId(const int64 *ids, int32 n, int64 id)
{
	int32		lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int32		mid = lo + (hi - lo) / 2;

		if (ids[mid] == id)
			return mid;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* Dense index of a movie id, or -1. */
int32
MrModelItemIndex(const MrModel *m, int64 movie_id)
{
	return MrFindId(m->item_ids, m->n_items, movie_id);
}

/* Dense index of a user id, or -1. */
int32
MrModelUserIndex(const MrModel *m, int64 user_id)
{
	return MrFindId(m->user_ids, m->n_users, user_id);
}
