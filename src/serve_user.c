/*
 * serve_user.c: resolving the user of a serving call: current ratings,
 * stored factors, and which path serves them.
 *
 * Design.  This is the hot path, so it uses no SPI and no per-row palloc:
 * the user's current ratings come from one index scan of
 * movierec.ratings_pkey (user_id, movie_id), the stored factors from one
 * index probe of movierec.user_factors_pkey (model_id, user_id), both
 * under the statement's snapshot, into buffers that are reused across
 * calls.  Then:
 *
 *   popularity  the model is a popularity model; or the user has no
 *               current rating the model knows and no stored factors
 *               (or fold-in is off and the user is not in the model);
 *   fold_in     movierec.fold_in is on and the user is not in the model
 *               but has ratings of movies it knows, or has ratings newer
 *               than the model (rated_at after models.created_at, or a
 *               NULL rated_at, which cannot be placed before training):
 *               the user's factors are solved from the current ratings
 *               (serve_foldin.c);
 *   model       otherwise: the factors stored at training.
 *
 * Ratings are read from movierec.ratings whatever the model's source
 * table was: that is the table applications write feedback to.
 */
#include "movierec.h"
#include "serve.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

/* column numbers in movierec.ratings and movierec.user_factors */
#define RATINGS_MOVIE_ID	2
#define RATINGS_RATING		3
#define RATINGS_RATED_AT	4
#define UF_BIAS				3
#define UF_FACTORS			4

static MemoryContext user_cxt = NULL;
static MrServeUser user;
static int32 cap_rated = 0;
static int	cap_k = 0;
static float *work = NULL;
static Size cap_work = 0;

/* Make room for n ratings and k factors in the reused buffers. */
static void
user_reserve(int32 n, int k)
{
	if (user_cxt == NULL)
		user_cxt = AllocSetContextCreate(TopMemoryContext, "movierec serve user",
										 ALLOCSET_DEFAULT_SIZES);
	if (n > cap_rated)
	{
		int32		c = Max(n, Max(256, cap_rated * 2));

		if (cap_rated > 0)
		{
			user.rated_ids = repalloc_huge(user.rated_ids, sizeof(int64) * (Size) c);
			user.rated_vals = repalloc_huge(user.rated_vals, sizeof(float) * (Size) c);
			user.known_idx = repalloc_huge(user.known_idx, sizeof(int32) * (Size) c);
			user.known_vals = repalloc_huge(user.known_vals, sizeof(float) * (Size) c);
		}
		else
		{
			user.rated_ids = MemoryContextAllocHuge(user_cxt, sizeof(int64) * (Size) c);
			user.rated_vals = MemoryContextAllocHuge(user_cxt, sizeof(float) * (Size) c);
			user.known_idx = MemoryContextAllocHuge(user_cxt, sizeof(int32) * (Size) c);
			user.known_vals = MemoryContextAllocHuge(user_cxt, sizeof(float) * (Size) c);
		}
		cap_rated = c;
	}
	if (k + 1 > cap_k)
	{
		if (cap_k > 0)
			pfree(user.p);
		cap_k = Max(k + 1, 64);
		user.p = MemoryContextAllocZero(user_cxt, sizeof(float) * cap_k);
	}
}

/*
 * The hot path scans tables directly, which skips the executor's
 * permission checks: make them here (the caller needs SELECT, and row
 * level security, which a direct scan would bypass, is refused).
 */
static void
check_select(Oid relid)
{
	AclResult	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);

	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("movierec serving does not support row level security on \"%s\"",
						get_rel_name(relid)),
				 errhint("Disable row level security on the table, or serve as a role that bypasses it.")));
}

/* Read the user's current ratings (sorted by movie_id) into user. */
static void
read_ratings(int64 user_id)
{
	Relation	rel,
				idx;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData key;
	int32		n = 0;

	check_select(MrServeRelid(MR_REL_RATINGS));
	rel = table_open(MrServeRelid(MR_REL_RATINGS), AccessShareLock);
	idx = index_open(MrServeRelid(MR_REL_RATINGS_PKEY), AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(user_id));
	scan = index_beginscan(rel, idx, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	slot = table_slot_create(rel, NULL);
	user.newest = DT_NOBEGIN;
	user.any_null_time = false;
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d;

		if (n >= cap_rated)
			user_reserve(n + 1, 0);
		slot_getsomeattrs(slot, RATINGS_RATED_AT);
		user.rated_ids[n] = DatumGetInt64(slot->tts_values[RATINGS_MOVIE_ID - 1]);
		user.rated_vals[n] = DatumGetFloat4(slot->tts_values[RATINGS_RATING - 1]);
		d = slot->tts_values[RATINGS_RATED_AT - 1];
		isnull = slot->tts_isnull[RATINGS_RATED_AT - 1];
		if (isnull)
			user.any_null_time = true;
		else if (DatumGetTimestampTz(d) > user.newest)
			user.newest = DatumGetTimestampTz(d);
		n++;
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	user.n_rated = n;
}

/* Look up the user's stored factors; true if the model has the user. */
static bool
read_user_factors(MrServeModel *m, int64 user_id)
{
	Relation	rel,
				idx;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData key[2];
	bool		found = false;

	check_select(MrServeRelid(MR_REL_USER_FACTORS));
	rel = table_open(MrServeRelid(MR_REL_USER_FACTORS), AccessShareLock);
	idx = index_open(MrServeRelid(MR_REL_USER_FACTORS_PKEY), AccessShareLock);
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(m->model_id));
	ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(user_id));
	scan = index_beginscan(rel, idx, GetActiveSnapshot(), 2, 0);
	index_rescan(scan, key, 2, NULL, 0);
	slot = table_slot_create(rel, NULL);
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		slot_getsomeattrs(slot, UF_FACTORS);
		user.bias = DatumGetFloat4(slot->tts_values[UF_BIAS - 1]);
		if (m->k > 0)
		{
			ArrayType  *a = slot->tts_isnull[UF_FACTORS - 1] ? NULL
				: DatumGetArrayTypeP(slot->tts_values[UF_FACTORS - 1]);

			if (a == NULL || ARR_ELEMTYPE(a) != FLOAT4OID || ARR_HASNULL(a) ||
				ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) != m->k)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("factors of user %lld in model %lld are not %d real numbers",
								(long long) user_id, (long long) m->model_id, m->k),
						 errhint("Retrain the model with movierec.train(), or drop it.")));
			memcpy(user.p, ARR_DATA_PTR(a), sizeof(float) * m->k);
			if ((Pointer) a != DatumGetPointer(slot->tts_values[UF_FACTORS - 1]))
				pfree(a);
		}
		found = true;
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	return found;
}

/* Map the current ratings to the model's item indexes. */
static void
map_known(MrServeModel *m)
{
	int32		i,
				n = 0;

	for (i = 0; i < user.n_rated; i++)
	{
		int32		x = MrServeItemIndex(m, user.rated_ids[i]);

		if (x >= 0)
		{
			user.known_idx[n] = x;
			user.known_vals[n] = user.rated_vals[i];
			n++;
		}
	}
	user.n_known = n;
}

/* Name of a path as shown to users. */
const char *
MrServePathName(MrServePath path)
{
	switch (path)
	{
		case MR_PATH_MODEL:
			return "model";
		case MR_PATH_FOLD_IN:
			return "fold_in";
		case MR_PATH_POPULARITY:
			return "popularity";
	}
	return "?";
}

/*
 * Solve the user's factors from the known current ratings (the fold-in
 * path).  chol, if given, receives the Cholesky factor (explanations).
 * Falls back to popularity if the system cannot be solved.
 */
void
MrServeFoldIn(MrServeModel *m, MrServeUser *u, float *chol)
{
	int			d = MrFoldInDim(&m->spec);
	Size		need = MrFoldInWorkFloats(&m->spec, u->n_known) + (Size) d * d;
	float	   *c;

	if (need > cap_work)
	{
		if (work)
			pfree(work);
		cap_work = Max(need, 4096);
		work = MemoryContextAllocHuge(user_cxt, sizeof(float) * cap_work);
	}
	c = chol ? chol : work + MrFoldInWorkFloats(&m->spec, u->n_known);
	if (MrFoldInSolve(&m->spec, u->n_known, u->known_idx, u->known_vals,
					  work, c, u->p, &u->bias) != 0)
	{
		u->path = MR_PATH_POPULARITY;
		snprintf(u->reason, sizeof(u->reason),
				 "the fold-in system of %d ratings could not be solved", u->n_known);
	}
}

/*
 * Resolve a user for model m: read current ratings and stored factors,
 * choose the path, and for fold-in solve the factors.  The result lives
 * until the next call.
 */
MrServeUser *
MrServeResolveUser(MrServeModel *m, int64 user_id)
{
	bool		changed;

	user_reserve(1, m->k);
	read_ratings(user_id);
	map_known(m);
	user.bias = 0;
	user.in_model = false;

	if (m->popularity_only)
	{
		user.path = MR_PATH_POPULARITY;
		snprintf(user.reason, sizeof(user.reason),
				 "model %lld is a popularity model", (long long) m->model_id);
		return &user;
	}
	if (m->ease != NULL)
	{
		MrServeEaseUser(m, &user, user_id);
		return &user;
	}
	user.in_model = read_user_factors(m, user_id);
	changed = user.any_null_time || user.newest > m->trained_at;

	if (user.in_model && !(mr_fold_in && changed && user.n_known > 0))
	{
		user.path = MR_PATH_MODEL;
		if (changed)
			snprintf(user.reason, sizeof(user.reason),
					 "user %lld is in model %lld; ratings newer than the model are ignored because movierec.fold_in is off",
					 (long long) user_id, (long long) m->model_id);
		else
			snprintf(user.reason, sizeof(user.reason),
					 "user %lld is in model %lld and has no rating newer than the model",
					 (long long) user_id, (long long) m->model_id);
	}
	else if (mr_fold_in && user.n_known > 0)
	{
		user.path = MR_PATH_FOLD_IN;
		if (user.in_model)
			snprintf(user.reason, sizeof(user.reason),
					 "user %lld rated movies after model %lld was trained; factors solved from %d current ratings",
					 (long long) user_id, (long long) m->model_id, user.n_known);
		else
			snprintf(user.reason, sizeof(user.reason),
					 "user %lld is not in model %lld; factors solved from %d current ratings",
					 (long long) user_id, (long long) m->model_id, user.n_known);
		MrServeFoldIn(m, &user, NULL);
	}
	else
	{
		user.path = MR_PATH_POPULARITY;
		if (user.n_known > 0)
			snprintf(user.reason, sizeof(user.reason),
					 "user %lld is not in model %lld and movierec.fold_in is off",
					 (long long) user_id, (long long) m->model_id);
		else
			snprintf(user.reason, sizeof(user.reason),
					 "user %lld is not in model %lld and has no ratings of its movies",
					 (long long) user_id, (long long) m->model_id);
	}
	return &user;
}

/*
 * A user given as arrays of ratings (recommend_for_ratings): fold in, or
 * popularity when no given movie is known to the model.
 */
MrServeUser *
MrServeUserFromArrays(MrServeModel *m, int32 n, const int64 *ids, const float *vals)
{
	user_reserve(Max(n, 1), m->k);
	memcpy(user.rated_ids, ids, sizeof(int64) * n);
	memcpy(user.rated_vals, vals, sizeof(float) * n);
	user.n_rated = n;
	user.in_model = false;
	user.bias = 0;
	map_known(m);
	if (m->popularity_only)
	{
		user.path = MR_PATH_POPULARITY;
		snprintf(user.reason, sizeof(user.reason),
				 "model %lld is a popularity model", (long long) m->model_id);
	}
	else if (m->ease != NULL)
		MrServeEaseUser(m, &user, -1);
	else if (user.n_known > 0)
	{
		user.path = MR_PATH_FOLD_IN;
		snprintf(user.reason, sizeof(user.reason),
				 "factors solved from %d given ratings", user.n_known);
		MrServeFoldIn(m, &user, NULL);
	}
	else
	{
		user.path = MR_PATH_POPULARITY;
		snprintf(user.reason, sizeof(user.reason),
				 "no given movie is in model %lld", (long long) m->model_id);
	}
	return &user;
}
