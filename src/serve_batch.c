/*
 * serve_batch.c: movierec.recommend_all(), the top k of every user of a
 * model materialized into movierec.recommendations.
 *
 * Design.  162,000 users x 59,000 movies is 9.6e9 scores: they are never
 * stored.  Users are taken in blocks of BLOCK_USERS and movies in blocks
 * of BLOCK_ITEMS; one sgemm computes the block's scores
 * (P_blk Q_blk^T, BLOCK_USERS x BLOCK_ITEMS floats, sized to stay in the
 * L2 cache), the user's rated movies in that block are set to -INFINITY,
 * and each row goes through that user's bounded heap (topk.c), which
 * rejects almost every score with one comparison.  Movie blocks are
 * visited in index (movie_id) order, so ties still go to the smaller
 * movie_id, exactly as recommend() ranks.
 *
 * Users are the model's stored users (user_factors), scored with their
 * stored factors, like recommend()'s "model" path; movies they rated are
 * excluded, read from movierec.ratings once with a sequential scan into
 * per-user sorted lists.  Rows are written in chunks with one prepared
 * INSERT ... SELECT FROM unnest() per chunk, after deleting the model's
 * old rows, all in the caller's transaction: other sessions see the old
 * list until commit, then the new one.
 *
 * An ease model has no user factors: each stored user's list is
 * ease_topk (below), the user's current ratings through
 * exactly the path, scores and exclusions of recommend(), so the stored
 * lists are recommend()'s lists at the time of the call.
 */
#include "movierec.h"
#include "serve.h"

#include <math.h>

#include "access/heapam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "blas.h"
#include "stats.h"

#define BLOCK_USERS 256
#define BLOCK_ITEMS 2048
#define CHUNK_ROWS	65536

/* Stored users of a model. */
typedef struct BatchUsers
{
	int32		n;
	int64	   *ids;			/* sorted */
	float	   *bias;
	float	   *P;				/* n x k */
	int64	   *rated_ptr;		/* n + 1: CSR of rated item indexes */
	int32	   *rated_idx;		/* sorted within a user */
} BatchUsers;

/* Output rows waiting to be inserted. */
typedef struct BatchOut
{
	int64		model_id;
	int			n;
	Datum	   *user_ids;
	Datum	   *ranks;
	Datum	   *movie_ids;
	Datum	   *scores;
	SPIPlanPtr	plan;
	int64		total;
} BatchOut;

/* qsort comparator for int32. */
static int
cmp_int32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a,
				y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/* Dense index of a user id in the sorted array, or -1. */
static int32
user_index(const BatchUsers *u, int64 id)
{
	return MrFindId(u->ids, u->n, id);
}

/* Read the model's stored users and their factors. */
static void
load_users(MrServeModel *m, BatchUsers *u)
{
	Oid			argtype = INT8OID;
	Datum		arg = Int64GetDatum(m->model_id);
	MemoryContext caller = CurrentMemoryContext;
	uint64		i,
				n;
	int			rc;

	rc = SPI_execute_with_args("SELECT user_id, bias, factors FROM movierec.user_factors "
							   "WHERE model_id = $1 ORDER BY user_id",
							   1, &argtype, &arg, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	n = SPI_processed;
	u->n = (int32) n;
	u->ids = MemoryContextAllocHuge(caller, sizeof(int64) * (n + 1));
	u->bias = MemoryContextAllocHuge(caller, sizeof(float) * (n + 1));
	u->P = MemoryContextAllocHuge(caller, sizeof(float) * (n * Max(m->k, 1) + 1));
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;

		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		u->ids[i] = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
		u->bias[i] = DatumGetFloat4(SPI_getbinval(tup, td, 2, &isnull));
		if (m->k > 0)
		{
			Datum		d = SPI_getbinval(tup, td, 3, &isnull);
			ArrayType  *a = isnull ? NULL : DatumGetArrayTypeP(d);

			if (a == NULL || ARR_ELEMTYPE(a) != FLOAT4OID || ARR_HASNULL(a) ||
				ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) != m->k)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("factors of user %lld in model %lld are not %d real numbers",
								(long long) u->ids[i], (long long) m->model_id, m->k),
						 errhint("Retrain the model with movierec.train(), or drop it.")));
			memcpy(u->P + i * m->k, ARR_DATA_PTR(a), sizeof(float) * m->k);
		}
	}
	SPI_freetuptable(SPI_tuptable);
}

/* Read movierec.ratings once into per-user sorted lists of item indexes. */
static void
load_rated(MrServeModel *m, BatchUsers *u)
{
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	Size		cap = 1 << 20,
				n = 0,
				i;
	int32	   *pu = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * cap);
	int32	   *pi = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * cap);
	int64	   *fill;

	/* a direct scan skips the executor's checks: make them */
	{
		AclResult	acl = pg_class_aclcheck(MrServeRelid(MR_REL_RATINGS), GetUserId(), ACL_SELECT);

		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, "ratings");
		if (check_enable_rls(MrServeRelid(MR_REL_RATINGS), InvalidOid, false) == RLS_ENABLED)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("movierec serving does not support row level security on \"ratings\""),
					 errhint("Disable row level security on the table, or serve as a role that bypasses it.")));
	}
	rel = table_open(MrServeRelid(MR_REL_RATINGS), AccessShareLock);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	slot = table_slot_create(rel, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		int32		ui,
					ii;

		if ((n & 65535) == 0)
			CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, 2);
		ui = user_index(u, DatumGetInt64(slot->tts_values[0]));
		if (ui < 0)
			continue;
		ii = MrServeItemIndex(m, DatumGetInt64(slot->tts_values[1]));
		if (ii < 0)
			continue;
		if (n == cap)
		{
			cap *= 2;
			pu = repalloc_huge(pu, sizeof(int32) * cap);
			pi = repalloc_huge(pi, sizeof(int32) * cap);
		}
		pu[n] = ui;
		pi[n] = ii;
		n++;
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	table_close(rel, AccessShareLock);

	/* counting sort into CSR, then sort each user's list */
	u->rated_ptr = MemoryContextAllocExtended(CurrentMemoryContext,
											  sizeof(int64) * ((Size) u->n + 1),
											  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	u->rated_idx = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * (n + 1));
	for (i = 0; i < n; i++)
		u->rated_ptr[pu[i] + 1]++;
	for (i = 0; i < (Size) u->n; i++)
		u->rated_ptr[i + 1] += u->rated_ptr[i];
	fill = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * ((Size) u->n + 1));
	memcpy(fill, u->rated_ptr, sizeof(int64) * u->n);
	for (i = 0; i < n; i++)
		u->rated_idx[fill[pu[i]]++] = pi[i];
	for (i = 0; i < (Size) u->n; i++)
		qsort(u->rated_idx + u->rated_ptr[i], u->rated_ptr[i + 1] - u->rated_ptr[i],
			  sizeof(int32), cmp_int32);
	pfree(fill);
	pfree(pu);
	pfree(pi);
}

/* Insert the buffered rows with one INSERT ... SELECT FROM unnest(). */
static void
flush_rows(BatchOut *o)
{
	Datum		args[5];
	int			rc;

	if (o->n == 0)
		return;
	args[0] = Int64GetDatum(o->model_id);
	args[1] = PointerGetDatum(construct_array(o->user_ids, o->n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[2] = PointerGetDatum(construct_array(o->ranks, o->n, INT4OID, 4, true, TYPALIGN_INT));
	args[3] = PointerGetDatum(construct_array(o->movie_ids, o->n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[4] = PointerGetDatum(construct_array(o->scores, o->n, FLOAT4OID, 4, true, TYPALIGN_INT));
	rc = SPI_execute_plan(o->plan, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	o->total += SPI_processed;
	pfree(DatumGetPointer(args[1]));
	pfree(DatumGetPointer(args[2]));
	pfree(DatumGetPointer(args[3]));
	pfree(DatumGetPointer(args[4]));
	o->n = 0;
}

/*
 * An ease model's top k of stored user user_id, as recommend()
 * computes it (current ratings, popularity without one in B, rated
 * movies excluded, ties to the smaller movie_id), into score/index;
 * returns the length of the list.
 */
static int
ease_topk(MrServeModel *m, int64 user_id, int k, float *score, int32 *index)
{
	MrServeUser *u = MrServeResolveUser(m, user_id, MR_NEED_IDS);
	MrTopK		h;

	if (u->path == MR_PATH_POPULARITY)
		memcpy(m->scratch, m->pop_score, sizeof(float) * m->n_items);
	else
		MrServeEaseScore(m, NULL, 0);
	for (int32 i = 0; i < u->n_known; i++)
		m->scratch[u->known_idx[i]] = -INFINITY;
	MrTopKReset(&h, k, score, index);
	MrTopKScan(&h, m->scratch, NULL, m->n_items);
	return MrTopKSort(&h);
}

PG_FUNCTION_INFO_V1(movierec_recommend_all);

/*
 * movierec.recommend_all(model, k): replace the model's rows of
 * movierec.recommendations with every stored user's top k.  Returns the
 * number of rows written.
 */
Datum
movierec_recommend_all(PG_FUNCTION_ARGS)
{
	int			k;
	MrServeModel *m;
	BatchUsers	u;
	BatchOut	o;
	MemoryContext cxt,
				old;
	Oid			types[5] = {INT8OID, INT8ARRAYOID, INT4ARRAYOID, INT8ARRAYOID, FLOAT4ARRAYOID};
	Oid			argtype = INT8OID;
	Datum		arg;
	float	   *C;
	float	   *heap_s;
	int32	   *heap_i;
	MrTopK		heaps[BLOCK_USERS];
	int64		cursor[BLOCK_USERS];
	int32		u0;
	int			rc;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k must not be null"),
				 errhint("Pass k => 10, or any value from 1 to %d.", MR_SERVE_MAX_K)));
	k = PG_GETARG_INT32(1);
	MrServeCheckK(k, "k");
	m = MrServeGetModel(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0));
	if (m->popularity_only)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model %lld (\"%s\") is a popularity model and has no users",
						(long long) m->model_id, m->model_name),
				 errhint("Pass a model trained with als, svd, ials or baseline.")));
	/* the model entry is cached: keep what we use stable for the whole run */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "movierec recommend_all",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	arg = Int64GetDatum(m->model_id);
	rc = SPI_execute_with_args("DELETE FROM movierec.recommendations WHERE model_id = $1",
							   1, &argtype, &arg, NULL, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	MemoryContextSwitchTo(cxt);
	memset(&u, 0, sizeof(u));
	load_users(m, &u);
	if (m->ease == NULL)
		load_rated(m, &u);

	o.model_id = m->model_id;
	o.n = 0;
	o.total = 0;
	o.user_ids = palloc(sizeof(Datum) * CHUNK_ROWS);
	o.ranks = palloc(sizeof(Datum) * CHUNK_ROWS);
	o.movie_ids = palloc(sizeof(Datum) * CHUNK_ROWS);
	o.scores = palloc(sizeof(Datum) * CHUNK_ROWS);
	o.plan = SPI_prepare("INSERT INTO movierec.recommendations (model_id, user_id, rank, movie_id, score) "
						 "SELECT $1, t.u, t.r, t.m, t.s FROM unnest($2, $3, $4, $5) AS t(u, r, m, s)",
						 5, types);
	if (o.plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));

	C = MemoryContextAllocHuge(cxt, sizeof(float) * BLOCK_USERS * BLOCK_ITEMS);
	heap_s = MemoryContextAllocHuge(cxt, sizeof(float) * BLOCK_USERS * (Size) k);
	heap_i = MemoryContextAllocHuge(cxt, sizeof(int32) * BLOCK_USERS * (Size) k);

	/* ease: each user's list from the current ratings, as recommend() */
	for (u0 = 0; m->ease != NULL && u0 < u.n; u0++)
	{
		int			n = ease_topk(m, u.ids[u0], k, heap_s, heap_i);

		CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < n; i++)
		{
			if (o.n == CHUNK_ROWS)
				flush_rows(&o);
			o.user_ids[o.n] = Int64GetDatum(u.ids[u0]);
			o.ranks[o.n] = Int32GetDatum(i + 1);
			o.movie_ids[o.n] = Int64GetDatum(m->item_ids[heap_i[i]]);
			o.scores[o.n] = Float4GetDatum(heap_s[i]);
			o.n++;
		}
	}
	for (u0 = 0; m->ease == NULL && u0 < u.n; u0 += BLOCK_USERS)
	{
		int			bu = Min(BLOCK_USERS, u.n - u0);
		int32		j0;
		int			r;

		for (r = 0; r < bu; r++)
		{
			MrTopKReset(&heaps[r], k, heap_s + (Size) r * k, heap_i + (Size) r * k);
			cursor[r] = u.rated_ptr[u0 + r];
		}
		for (j0 = 0; j0 < m->n_items; j0 += BLOCK_ITEMS)
		{
			int			bi = Min(BLOCK_ITEMS, m->n_items - j0);

			CHECK_FOR_INTERRUPTS();
			if (m->k > 0)
				mr_blas.sgemm(MrRowMajor, MrNoTrans, MrTrans, bu, bi, m->k, 1.0f,
							  u.P + (Size) u0 * m->k, m->k,
							  m->Q + (Size) j0 * m->k, m->k, 0.0f, C, bi);
			else
				memset(C, 0, sizeof(float) * bu * bi);
			for (r = 0; r < bu; r++)
			{
				float	   *row = C + (Size) r * bi;
				int64		end = u.rated_ptr[u0 + r + 1];

				/* the user's rated movies in this block are not candidates */
				while (cursor[r] < end && u.rated_idx[cursor[r]] < j0 + bi)
				{
					row[u.rated_idx[cursor[r]] - j0] = -INFINITY;
					cursor[r]++;
				}
				MrTopKScanRow(&heaps[r], row, m->item_bias + j0, j0, bi);
			}
		}
		for (r = 0; r < bu; r++)
		{
			int			n = MrTopKSort(&heaps[r]),
						i;
			float		add = m->spec.global_mean + u.bias[u0 + r];

			for (i = 0; i < n; i++)
			{
				if (o.n == CHUNK_ROWS)
					flush_rows(&o);
				o.user_ids[o.n] = Int64GetDatum(u.ids[u0 + r]);
				o.ranks[o.n] = Int32GetDatum(i + 1);
				o.movie_ids[o.n] = Int64GetDatum(m->item_ids[heaps[r].index[i]]);
				o.scores[o.n] = Float4GetDatum(heaps[r].score[i] + add);
				o.n++;
			}
		}
	}
	flush_rows(&o);
	SPI_finish();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	MrStatsNoteRows(o.total);
	PG_RETURN_INT64(o.total);
}
