/*
 * ratelimit.c: per-user token buckets in shared memory for the HTTP API.
 *
 * Design.  PostgREST runs every GET in a READ ONLY transaction, and a hot
 * standby accepts no writes at all, so requests cannot be counted in a
 * table.  The buckets live in movierec's shared memory instead (the
 * pg_stat_statements pattern: shmem_request_hook / shmem_startup_hook
 * chained, one named LWLock): a dynahash of movierec.rate_limit_entries
 * buckets keyed by (role, user id), with a doubly linked LRU list through
 * the entries.  A hit moves its bucket to the head; a new key in a full
 * table evicts the tail (the least recently used bucket, which a returning
 * user finds full again: eviction only ever forgives).
 *
 * The limits are rows of movierec.rate_limits (role, requests_per_minute,
 * burst).  Each backend keeps a copy that it reloads with one SPI query
 * when it is more than a second old, so a change takes effect within a
 * second without a restart and costs nothing per request.  A role without
 * a row is not limited.
 *
 * movierec.rate_limit_take(role, key) is what PostgREST's db-pre-request
 * function (movierec.api_pre_request) calls for every request: one hash
 * lookup and a few flops under an exclusive lock held for well under a
 * microsecond (measured in BENCHMARKS.md, "HTTP API").  The arithmetic is
 * the plain-C kernel src/kernels/token_bucket.c.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/ilist.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "movierec.h"
#include "token_bucket.h"

#define MR_RATELIMIT_TRANCHE "movierec_ratelimit"

typedef struct MrBucketKey
{
	NameData	role;
	int64		user_id;
} MrBucketKey;

typedef struct MrBucket
{
	MrBucketKey key;			/* hash key: first */
	MrTokenBucket b;
	dlist_node	lru;			/* head = most recently used */
} MrBucket;

typedef struct MrRateShared
{
	LWLock	   *lock;
	dlist_head	lru;
	int64		evictions;
} MrRateShared;

typedef struct MrLimit
{
	NameData	role;
	int32		per_minute;
	int32		burst;
} MrLimit;

static int	mr_rate_entries = 10000;
static MrRateShared *mr_rate = NULL;
static HTAB *mr_rate_hash = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* this backend's copy of movierec.rate_limits */
static MrLimit *mr_limits = NULL;
static int	mr_n_limits = 0;
static TimestampTz mr_limits_loaded = 0;

/* Bytes of the shared area. */
static Size
MrRateShmemSize(void)
{
	return add_size(MAXALIGN(sizeof(MrRateShared)),
					hash_estimate_size(mr_rate_entries, sizeof(MrBucket)));
}

/* shmem_request_hook: reserve the table and the lock. */
static void
MrRateShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MrRateShmemSize());
	RequestNamedLWLockTranche(MR_RATELIMIT_TRANCHE, 1);
}

/* shmem_startup_hook: create or attach the bucket table. */
static void
MrRateShmemStartup(void)
{
	bool		found;
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	mr_rate = ShmemInitStruct("movierec rate limits", sizeof(MrRateShared), &found);
	if (!found)
	{
		mr_rate->lock = &(GetNamedLWLockTranche(MR_RATELIMIT_TRANCHE))->lock;
		dlist_init(&mr_rate->lru);
		mr_rate->evictions = 0;
	}
	info.keysize = sizeof(MrBucketKey);
	info.entrysize = sizeof(MrBucket);
	mr_rate_hash = ShmemInitHash("movierec rate limit buckets",
								 mr_rate_entries, mr_rate_entries, &info,
								 HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);
	LWLockRelease(AddinShmemInitLock);
}

/*
 * When preloading: define movierec.rate_limit_entries and install the hooks.
 * (A PGC_POSTMASTER setting cannot be defined by a library loaded later.)
 */
void
MrRateLimitInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("movierec.rate_limit_entries",
							"Token buckets the HTTP rate limiter keeps in shared memory.",
							"One per (role, user) seen; the least recently used is evicted when full.",
							&mr_rate_entries,
							10000, 16, 1000000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = MrRateShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = MrRateShmemStartup;
}

/* Raise the "must be preloaded" error unless the table exists. */
static void
MrRateRequireShmem(void)
{
	if (mr_rate == NULL || mr_rate_hash == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rate limits need movierec's shared memory"),
				 errdetail("movierec must be loaded via shared_preload_libraries."),
				 errhint("Add movierec to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/* Reload this backend's copy of movierec.rate_limits if older than 1 s. */
static void
MrRateLoadLimits(TimestampTz now)
{
	int			rc;
	uint64		i;
	MrLimit    *fresh;

	if (mr_limits != NULL && now - mr_limits_loaded < USECS_PER_SEC && now >= mr_limits_loaded)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute("SELECT role, requests_per_minute, burst FROM movierec.rate_limits "
					 "WHERE requests_per_minute IS NOT NULL AND burst IS NOT NULL", true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
	fresh = MemoryContextAllocZero(TopMemoryContext, sizeof(MrLimit) * (SPI_processed + 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;

		namestrcpy(&fresh[i].role, NameStr(*DatumGetName(SPI_getbinval(tup, td, 1, &isnull))));
		fresh[i].per_minute = DatumGetInt32(SPI_getbinval(tup, td, 2, &isnull));
		fresh[i].burst = DatumGetInt32(SPI_getbinval(tup, td, 3, &isnull));
	}
	mr_n_limits = (int) SPI_processed;
	SPI_finish();
	if (mr_limits)
		pfree(mr_limits);
	mr_limits = fresh;
	mr_limits_loaded = now;
}

/* The limits of a role, or NULL when it has none. */
static const MrLimit *
MrRateFindLimit(const char *role)
{
	int			i;

	for (i = 0; i < mr_n_limits; i++)
		if (strcmp(NameStr(mr_limits[i].role), role) == 0)
			return &mr_limits[i];
	return NULL;
}

PG_FUNCTION_INFO_V1(movierec_rate_limit_take);

/*
 * movierec.rate_limit_take(role name, user_id bigint) returns float8:
 * 0 when the request may go on (a token was taken), else the seconds until
 * the bucket of (role, user_id) has a token again.
 */
Datum
movierec_rate_limit_take(PG_FUNCTION_ARGS)
{
	Name		role = PG_GETARG_NAME(0);
	int64		user_id = PG_GETARG_INT64(1);
	TimestampTz now = GetCurrentTimestamp();
	const MrLimit *lim;
	MrBucketKey key;
	MrBucket   *e;
	bool		found;
	double		wait;

	MrRateRequireShmem();
	MrRateLoadLimits(now);
	lim = MrRateFindLimit(NameStr(*role));
	if (lim == NULL)
		PG_RETURN_FLOAT8(0.0);

	memset(&key, 0, sizeof(key));
	namestrcpy(&key.role, NameStr(*role));
	key.user_id = user_id;

	LWLockAcquire(mr_rate->lock, LW_EXCLUSIVE);
	e = hash_search(mr_rate_hash, &key, HASH_FIND, NULL);
	if (e == NULL)
	{
		/* a new key: make room by evicting the least recently used */
		if (hash_get_num_entries(mr_rate_hash) >= mr_rate_entries && !dlist_is_empty(&mr_rate->lru))
		{
			MrBucket   *old = dlist_container(MrBucket, lru, dlist_tail_node(&mr_rate->lru));

			dlist_delete(&old->lru);
			hash_search(mr_rate_hash, &old->key, HASH_REMOVE, NULL);
			mr_rate->evictions++;
		}
		e = hash_search(mr_rate_hash, &key, HASH_ENTER_NULL, &found);
		if (e == NULL)
		{
			LWLockRelease(mr_rate->lock);
			elog(ERROR, "movierec rate limit table is full");
		}
		MrTokenBucketInit(&e->b, lim->burst, now);
		dlist_push_head(&mr_rate->lru, &e->lru);
	}
	else
		dlist_move_head(&mr_rate->lru, &e->lru);
	wait = MrTokenBucketTake(&e->b, lim->per_minute, lim->burst, now);
	LWLockRelease(mr_rate->lock);
	PG_RETURN_FLOAT8(wait);
}

PG_FUNCTION_INFO_V1(movierec_rate_limit_buckets);

/*
 * movierec.rate_limit_buckets(): the buckets in LRU order (most recent
 * first) with their tokens as of their last request.
 */
Datum
movierec_rate_limit_buckets(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	dlist_iter	it;

	MrRateRequireShmem();
	InitMaterializedSRF(fcinfo, 0);
	LWLockAcquire(mr_rate->lock, LW_SHARED);
	dlist_foreach(it, &mr_rate->lru)
	{
		MrBucket   *e = dlist_container(MrBucket, lru, it.cur);
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = NameGetDatum(&e->key.role);
		values[1] = Int64GetDatum(e->key.user_id);
		values[2] = Float8GetDatum(e->b.tokens);
		values[3] = TimestampTzGetDatum((TimestampTz) e->b.last_us);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(mr_rate->lock);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(movierec_rate_limit_reset);

/* movierec.rate_limit_reset(): forget every bucket; returns how many. */
Datum
movierec_rate_limit_reset(PG_FUNCTION_ARGS)
{
	HASH_SEQ_STATUS st;
	MrBucket   *e;
	int64		n = 0;

	MrRateRequireShmem();
	LWLockAcquire(mr_rate->lock, LW_EXCLUSIVE);
	hash_seq_init(&st, mr_rate_hash);
	while ((e = hash_seq_search(&st)) != NULL)
	{
		dlist_delete(&e->lru);
		hash_search(mr_rate_hash, &e->key, HASH_REMOVE, NULL);
		n++;
	}
	LWLockRelease(mr_rate->lock);
	PG_RETURN_INT64(n);
}
