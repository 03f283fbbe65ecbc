/*
 * serve_user.c: resolving the user of a serving call: current ratings,
 * stored factors, and which path serves them.
 *
 * Design.  This is the hot path, so it uses no SPI and no per-row palloc:
 * the stored factors come from one index probe of
 * movierec.user_factors_pkey (model_id, user_id), changes since training
 * from movierec.rating_changes (serve_changes.c), and the user's current
 * ratings from one index scan of movierec.ratings_pkey (user_id,
 * movie_id), all under the statement's snapshot, into buffers that are
 * reused across calls.  Then:
 *
 *   popularity  the model is a popularity model; or the user has no
 *               current rating the model knows and no stored factors (or
 *               fold-in is off and the user is not in the model); or every
 *               rating the model knew of a changed user is gone;
 *   fold_in     movierec.fold_in is on and the user is not in the model
 *               but has ratings of movies it knows, or is in the model but
 *               inserted, updated or deleted a rating the model did not
 *               see: the user's factors are solved from the current
 *               ratings (serve_foldin.c);
 *   model       otherwise: the factors stored at training.
 *
 * The path is decided before the ratings are read, so that each caller
 * reads only what it needs (MrServeNeed): nothing (predict), the movie ids
 * to exclude (recommend), or ids and values (fold-in, explain).  The ids
 * alone come from the index itself (an index-only scan: the primary key
 * holds movie_id; the heap is visited only for pages the visibility map
 * does not mark all-visible), which is most of what user resolution cost
 * before (bench/serve: "user resolution").
 *
 * Ratings are read from movierec.ratings whatever the model's source
 * table was: that is the table applications write feedback to.
 */
#include "movierec.h"
#include "serve.h"

#include <math.h>

#include "access/genam.h"
#include "access/visibilitymap.h"
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
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "storage/bufmgr.h"
#include "storage/predicate.h"

/* column numbers in movierec.ratings and movierec.user_factors */
#define RATINGS_MOVIE_ID	2
#define RATINGS_RATING		3
#define UF_BIAS				3
#define UF_FACTORS			4

/*
 * Rated movies per user, keyed by the change-log versions seen
 * (MrChangeKey): a hit skips the index scan of the ratings.  Bounded: the
 * whole cache is dropped when it would hold more than
 * MR_USER_CACHE_IDS ids (8 MB).
 */
#define MR_USER_CACHE_IDS (1024 * 1024)

typedef struct RatedEntry
{
	int64		user_id;		/* hash key */
	MrChangeKey key;
	int32		n;
	int64	   *ids;
	/* the same mapped to one model's served items (map_known) */
	uint64		served_version;
	int32		n_known;
	int32	   *known_idx;
	/* the fold-in of those ratings into that model, when fold_version is it */
	uint64		fold_version;
	bool		fold_failed;
	float		fold_bias;
	float	   *fold_p;			/* k floats */
} RatedEntry;

static HTAB *rated_cache = NULL;
static MemoryContext rated_cxt = NULL;
static Size rated_cached = 0;

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

/*
 * Read the user's current ratings (sorted by movie_id) into user: with
 * values, through the heap; else only the movie ids, from the index
 * (index-only where the visibility map allows, as nodeIndexonlyscan.c).
 */
static void
read_ratings(int64 user_id, bool values)
{
	Relation	rel,
				idx;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData key;
	Snapshot	snap = GetActiveSnapshot();
	int32		n = 0;

	rel = table_open(MrServeRelid(MR_REL_RATINGS), AccessShareLock);
	idx = index_open(MrServeRelid(MR_REL_RATINGS_PKEY), AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(user_id));
	scan = index_beginscan(rel, idx, snap, 1, 0);
	slot = table_slot_create(rel, NULL);
	if (values)
	{
		index_rescan(scan, &key, 1, NULL, 0);
		while (index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			if (n >= cap_rated)
				user_reserve(n + 1, 0);
			slot_getsomeattrs(slot, RATINGS_RATING);
			user.rated_ids[n] = DatumGetInt64(slot->tts_values[RATINGS_MOVIE_ID - 1]);
			user.rated_vals[n] = DatumGetFloat4(slot->tts_values[RATINGS_RATING - 1]);
			n++;
		}
	}
	else
	{
		Buffer		vmbuf = InvalidBuffer;
		ItemPointer tid;

		scan->xs_want_itup = true;
		index_rescan(scan, &key, 1, NULL, 0);
		while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
		{
			bool		isnull;
			int64		movie_id;

			if (!VM_ALL_VISIBLE(rel, ItemPointerGetBlockNumber(tid), &vmbuf))
			{
				if (!index_fetch_heap(scan, slot))
					continue;	/* not visible to the snapshot */
				slot_getsomeattrs(slot, RATINGS_MOVIE_ID);
				movie_id = DatumGetInt64(slot->tts_values[RATINGS_MOVIE_ID - 1]);
			}
			else
			{
				/* as an index-only scan: a page lock stands for the tuple */
				PredicateLockPage(rel, ItemPointerGetBlockNumber(tid), snap);
				movie_id = DatumGetInt64(index_getattr(scan->xs_itup, 2, scan->xs_itupdesc, &isnull));
			}
			if (n >= cap_rated)
				user_reserve(n + 1, 0);
			user.rated_ids[n] = movie_id;
			user.rated_vals[n] = NAN;
			n++;
		}
		if (BufferIsValid(vmbuf))
			ReleaseBuffer(vmbuf);
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(idx, NoLock);
	table_close(rel, NoLock);	/* locks held to the end of the transaction, as the executor does */
	user.n_rated = n;
}

static RatedEntry *read_rated_ids_store(int64 user_id, const MrChangeKey *key);
static void map_known(MrServeModel *m);

/* Drop the cache of rated movies. */
void
MrServeUserCacheReset(void)
{
	if (rated_cxt != NULL)
		MemoryContextDelete(rated_cxt);
	rated_cxt = NULL;
	rated_cache = NULL;
	rated_cached = 0;
}

/*
 * Drop it also when serving's relations were looked up again
 * (serve_base.c): its keys are change-log row versions of the old ones.
 */
static void
user_cache_check(void)
{
	static uint64 seen = 0;

	if (MrServeRelsGeneration() != seen)
	{
		MrServeUserCacheReset();
		seen = MrServeRelsGeneration();
	}
}

/*
 * The user's rated movie ids: from the cache when the change log shows
 * the same versions as when they were cached, else read and cached.
 */
static void
read_rated_ids(MrServeModel *m, int64 user_id, const MrChangeKey *key)
{
	RatedEntry *e;

	user_cache_check();
	e = rated_cache ? hash_search(rated_cache, &user_id, HASH_FIND, NULL) : NULL;

	if (e != NULL && memcmp(&e->key, key, sizeof(MrChangeKey)) == 0)
	{
		int32		i;

		if (e->n > cap_rated)
			user_reserve(e->n, 0);
		memcpy(user.rated_ids, e->ids, sizeof(int64) * e->n);
		for (i = 0; i < e->n; i++)
			user.rated_vals[i] = NAN;
		user.n_rated = e->n;
	}
	else
	{
		read_ratings(user_id, false);
		if (rated_cached + user.n_rated > MR_USER_CACHE_IDS)
			MrServeUserCacheReset();
		e = read_rated_ids_store(user_id, key);
	}
	if (e != NULL && e->served_version == m->served_version)
	{
		int32		i;

		memcpy(user.known_idx, e->known_idx, sizeof(int32) * e->n_known);
		for (i = 0; i < e->n_known; i++)
			user.known_vals[i] = NAN;
		user.n_known = e->n_known;
		return;
	}
	map_known(m);
	if (e != NULL)
	{
		if (e->known_idx == NULL)
			e->known_idx = MemoryContextAlloc(rated_cxt, sizeof(int32) * Max(e->n, 1));
		memcpy(e->known_idx, user.known_idx, sizeof(int32) * user.n_known);
		e->n_known = user.n_known;
		e->served_version = m->served_version;
	}
}

/* Cache the ids just read for user_id under key (NULL: too many). */
static RatedEntry *
read_rated_ids_store(int64 user_id, const MrChangeKey *key)
{
	RatedEntry *e;
	bool		found;

	if (user.n_rated > MR_USER_CACHE_IDS)
		return NULL;
	if (rated_cache == NULL)
	{
		HASHCTL		ctl;

		rated_cxt = AllocSetContextCreate(TopMemoryContext, "movierec rated movies",
										  ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(RatedEntry);
		ctl.hcxt = rated_cxt;
		rated_cache = hash_create("movierec rated movies", 1024, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(rated_cache, &user_id, HASH_ENTER, &found);
	if (found)
	{
		rated_cached -= e->n;
		if (e->ids)
			pfree(e->ids);
		if (e->known_idx)
			pfree(e->known_idx);
		if (e->fold_p)
			pfree(e->fold_p);
	}
	e->key = *key;
	e->n = user.n_rated;
	e->ids = MemoryContextAlloc(rated_cxt, sizeof(int64) * Max(user.n_rated, 1));
	memcpy(e->ids, user.rated_ids, sizeof(int64) * user.n_rated);
	e->served_version = 0;
	e->known_idx = NULL;
	e->n_known = 0;
	e->fold_version = 0;
	e->fold_p = NULL;
	rated_cached += user.n_rated;
	return e;
}

/*
 * A cached fold-in of the user's current ratings into m (same change-log
 * versions, same served arrays): fills user and returns true.
 */
static bool
fold_cache_get(MrServeModel *m, int64 user_id, const MrChangeKey *key)
{
	RatedEntry *e;
	int32		i;

	user_cache_check();
	e = rated_cache ? hash_search(rated_cache, &user_id, HASH_FIND, NULL) : NULL;

	if (e == NULL || memcmp(&e->key, key, sizeof(MrChangeKey)) != 0 ||
		e->fold_version != m->served_version || e->served_version != m->served_version)
		return false;
	if (e->n > cap_rated)
		user_reserve(e->n, 0);
	memcpy(user.rated_ids, e->ids, sizeof(int64) * e->n);
	user.n_rated = e->n;
	memcpy(user.known_idx, e->known_idx, sizeof(int32) * e->n_known);
	for (i = 0; i < e->n_known; i++)
		user.known_vals[i] = NAN;	/* not kept: explain reads them again */
	user.n_known = e->n_known;
	user.fold_failed = e->fold_failed;
	user.bias = e->fold_bias;
	if (m->k > 0)
		memcpy(user.p, e->fold_p, sizeof(float) * m->k);
	return true;
}

/* Cache the ratings just read, their mapping and their fold-in into m. */
static void
fold_cache_put(MrServeModel *m, int64 user_id, const MrChangeKey *key)
{
	RatedEntry *e;

	if (rated_cached + user.n_rated > MR_USER_CACHE_IDS)
		MrServeUserCacheReset();
	e = read_rated_ids_store(user_id, key);
	if (e == NULL)
		return;
	/* (sized for every rated movie: read_rated_ids reuses it for any model) */
	e->known_idx = MemoryContextAlloc(rated_cxt, sizeof(int32) * Max(e->n, 1));
	memcpy(e->known_idx, user.known_idx, sizeof(int32) * user.n_known);
	e->n_known = user.n_known;
	e->served_version = m->served_version;
	e->fold_p = MemoryContextAlloc(rated_cxt, sizeof(float) * Max(m->k, 1));
	if (m->k > 0)
		memcpy(e->fold_p, user.p, sizeof(float) * m->k);
	e->fold_bias = user.bias;
	e->fold_failed = user.fold_failed;
	e->fold_version = m->served_version;
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
	index_close(idx, NoLock);
	table_close(rel, NoLock);	/* locks held to the end of the transaction, as the executor does */
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
 * Falls back to popularity (and returns false) if the system cannot be
 * solved.
 */
bool
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
		return false;
	}
	return true;
}

/*
 * Resolve a user for model m: stored factors, changes since training,
 * the path, and the current ratings as far as need asks (fold-in always
 * reads them with values); for fold-in solve the factors.  The result
 * lives until the next call.
 */
MrServeUser *
MrServeResolveUser(MrServeModel *m, int64 user_id, MrServeNeed need)
{
	bool		changed;
	MrChangeKey key;

	user_reserve(1, m->k);
	user.bias = 0;
	user.in_model = false;
	user.n_rated = 0;
	user.n_known = 0;
	user.path = MR_PATH_MODEL;
	check_select(MrServeRelid(MR_REL_RATINGS));

	if (m->popularity_only)
	{
		if (need != MR_NEED_NONE)
		{
			read_ratings(user_id, need == MR_NEED_VALUES);
			map_known(m);
		}
		user.path = MR_PATH_POPULARITY;
		snprintf(user.reason, sizeof(user.reason),
				 "model %lld is a popularity model", (long long) m->model_id);
		return &user;
	}
	if (m->ease != NULL)
	{
		/* EASE scores from the current ratings themselves: always read them */
		read_ratings(user_id, true);
		map_known(m);
		MrServeEaseUser(m, &user, user_id);
		return &user;
	}
	user.in_model = read_user_factors(m, user_id);
	changed = user.in_model && MrServeUserChanged(m, user_id, &key);
	if (user.in_model && !changed && m->pre_log)
		changed = MrServeRatedSince(m, user_id);	/* a model trained under 0.1 */

	if (user.in_model && !(mr_fold_in && changed))
	{
		if (need == MR_NEED_IDS)
			read_rated_ids(m, user_id, &key);	/* and maps them */
		else if (need == MR_NEED_VALUES)
		{
			read_ratings(user_id, true);
			map_known(m);
		}
		user.path = MR_PATH_MODEL;
		if (changed)
			snprintf(user.reason, sizeof(user.reason),
					 "user %lld is in model %lld; rating changes since training are ignored because movierec.fold_in is off",
					 (long long) user_id, (long long) m->model_id);
		else
			snprintf(user.reason, sizeof(user.reason),
					 "user %lld is in model %lld and no rating of the user changed since it was trained",
					 (long long) user_id, (long long) m->model_id);
		return &user;
	}

	/*
	 * A changed user, or one the model lacks: the current ratings decide.
	 * The fold-in result is cached like the rated movies (same key, same
	 * served arrays), so only the first call after a change solves.
	 */
	if (!user.in_model)
		(void) MrServeUserChanged(m, user_id, &key);	/* for the key */
	if (!(mr_fold_in && need != MR_NEED_VALUES && fold_cache_get(m, user_id, &key)))
	{
		read_ratings(user_id, mr_fold_in || need == MR_NEED_VALUES);
		map_known(m);
		user.fold_failed = false;
		if (mr_fold_in && user.n_known > 0)
			user.fold_failed = !MrServeFoldIn(m, &user, NULL);
		if (mr_fold_in)
			fold_cache_put(m, user_id, &key);
	}
	if (mr_fold_in && user.n_known > 0 && user.fold_failed)
	{
		user.path = MR_PATH_POPULARITY;
		snprintf(user.reason, sizeof(user.reason),
				 "the fold-in system of %d ratings could not be solved", user.n_known);
	}
	else if (mr_fold_in && user.n_known > 0)
	{
		user.path = MR_PATH_FOLD_IN;
		if (user.in_model)
			snprintf(user.reason, sizeof(user.reason),
					 "user %lld changed ratings after model %lld was trained; factors solved from %d current ratings",
					 (long long) user_id, (long long) m->model_id, user.n_known);
		else
			snprintf(user.reason, sizeof(user.reason),
					 "user %lld is not in model %lld; factors solved from %d current ratings",
					 (long long) user_id, (long long) m->model_id, user.n_known);
	}
	else
	{
		user.path = MR_PATH_POPULARITY;
		if (user.in_model)
		{
			/* every rating the model knew is gone: as recommend_for_ratings would */
			user.in_model = false;
			snprintf(user.reason, sizeof(user.reason),
					 "user %lld changed ratings after model %lld was trained and has no current rating of its movies",
					 (long long) user_id, (long long) m->model_id);
		}
		else if (user.n_known > 0)
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
