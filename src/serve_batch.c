/*
 * serve_batch.c: movierec.recommend_all(), the top k of every user of a
 * model materialized into movierec.recommendations.
 *
 * Design.  Each user goes through the kernels of recommend() itself, in
 * the scan variant in use: the norm-ordered scan of serve_prune.c when the
 * model uses it (user_topk, one user at a time), else the int8 pass and
 * exact rescoring of serve_scan.c for blocks of 16 users per chunk of
 * movies on movierec.blas_threads threads (full_scan_users,
 * serve_scan_batch.c).  So every stored list is, bit for bit, the list and
 * the scores that recommend() gives that user on its "model" path, on
 * every CPU and for any thread count.  (0.2's first version multiplied blocks of users by blocks of
 * movies with OpenBLAS sgemm: its summation order, which depends on the
 * CPU's BLAS kernel, made a few lists differ from recommend()'s in the
 * last bits, and it scored all 9.6e9 pairs of 162,000 users x 59,000
 * movies where pruning skips most of them on trained factors.)
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

#include "eval_metrics.h"
#include "mf.h"
#include "stats.h"

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

/*
 * Queue user_id's n movies (indexes idx, scores sc + add, best first) for
 * insertion.  add is the constant recommend() adds (mu + b_u, summed in
 * the same order), so the stored scores are its scores.
 */
static void
emit_list(BatchOut *o, MrServeModel *m, int64 user_id, int n, const int32 *idx,
		  const float *sc, float add)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		if (o->n == CHUNK_ROWS)
			flush_rows(o);
		o->user_ids[o->n] = Int64GetDatum(user_id);
		o->ranks[o->n] = Int32GetDatum(i + 1);
		o->movie_ids[o->n] = Int64GetDatum(m->item_ids[idx[i]]);
		o->scores[o->n] = Float4GetDatum(sc[i] + add);
		o->n++;
	}
}

/*
 * The top k of stored user r with recommend()'s own kernels and scores
 * (b_i + q_i . p): the norm-ordered scan (the model uses it), or, for a
 * bias-only model, its biases; the user's rated movies excluded.  Best
 * first in idx/sc; returns the count.
 */
static int
user_topk(MrServeModel *m, const BatchUsers *u, int32 r, int k, int32 *idx, float *sc)
{
	const int32 *ex = u->rated_idx + u->rated_ptr[r];
	int32		nex = (int32) (u->rated_ptr[r + 1] - u->rated_ptr[r]);

	if (m->k == 0)
		return MrRankTopK(m->item_bias, m->n_items, ex, nex, k, sc, idx);
	return MrPruneTopK(m->prune, m->Q, m->item_bias, u->P + (Size) r * m->k, k, ex, nex,
					   idx, sc, NULL);
}

/* Interrupt check between blocks of users (no worker thread alive). */
static void
batch_check(void *arg)
{
	CHECK_FOR_INTERRUPTS();
}

/*
 * Every user of a factor model on the full scan: the int8 pass and exact
 * rescoring of recommend(), blocks of users on movierec.blas_threads
 * threads (serve_scan_batch.c).  Chunks of at most 1,024 users (a tenth of
 * a second at 62,423 movies) between interrupt checks.
 */
static void
full_scan_users(MrServeModel *m, const BatchUsers *u, int k, BatchOut *o)
{
	int32		chunk = Max(64, Min(1024, (1 << 20) / k));
	int32	   *cnt = palloc(sizeof(int32) * chunk);
	int32	   *idx = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * (Size) chunk * k);
	float	   *sc = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * (Size) chunk * k);
	void	   *scratch = MemoryContextAllocHuge(CurrentMemoryContext,
												 MrTopKExactUsersBytes(m->n_items, mr_blas_threads));
	MrKernelEnv env;
	int32		u0;

	memset(&env, 0, sizeof(env));
	env.check = batch_check;
	for (u0 = 0; u0 < u->n; u0 += chunk)
	{
		int32		nu = Min(chunk, u->n - u0);
		MrScanUsers in = {&m->packed, m->Q, m->item_bias, u->P + (Size) u0 * m->k,
		u->rated_ptr + u0, u->rated_idx, k, cnt, idx, sc};
		int32		r;

		MrTopKExactUsers(&in, nu, mr_blas_threads, scratch, &env);
		for (r = 0; r < nu; r++)
			emit_list(o, m, u->ids[u0 + r], cnt[r], idx + (Size) r * k, sc + (Size) r * k,
					  m->spec.global_mean + u->bias[u0 + r]);
	}
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
	float	   *heap_s;
	int32	   *heap_i;
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

	heap_s = palloc(sizeof(float) * k);
	heap_i = palloc(sizeof(int32) * k);

	/*
	 * Each stored user's list: factor models on the full scan in blocks of
	 * users on threads; else one by one, ease from the current ratings,
	 * the pruned scan and bias-only models from the stored factors.
	 */
	if (m->ease == NULL && m->k > 0 && u.n > 0 && MrServePruneIndex(m, u.P) == NULL)
		full_scan_users(m, &u, k, &o);
	else
		for (u0 = 0; u0 < u.n; u0++)
		{
			int			n;

			if ((u0 & 63) == 0)
				CHECK_FOR_INTERRUPTS();
			if (m->ease != NULL)
				n = ease_topk(m, u.ids[u0], k, heap_s, heap_i);
			else
				n = user_topk(m, &u, u0, k, heap_i, heap_s);
			emit_list(&o, m, u.ids[u0], n, heap_i, heap_s,
					  m->ease != NULL ? 0.0f : m->spec.global_mean + u.bias[u0]);
		}
	flush_rows(&o);
	SPI_finish();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	MrStatsNoteRows(o.total);
	PG_RETURN_INT64(o.total);
}
