/*
 * stats.c: serving and training statistics in shared memory, the
 * movierec.serving_stats, training_stats and training_last_success views,
 * and movierec.reset_stats().
 *
 * Design (the pg_stat_statements pattern for the shared area, a function
 * manager hook for the timing).
 *
 * Serving.  One shared entry per (model name, function, path) holds calls,
 * rows, errors, total time, cache loads and invalidations, and a latency
 * histogram with fixed 1-2-5 buckets from 10 us to 10 s (19 bounds, then
 * +Inf).  Every counter is a pg_atomic_uint64: the hot path takes no lock.
 * A backend finds the entry of a key once, under the tranche's LWLock, and
 * keeps the pointer in a small local cache keyed by (model_id, function,
 * path constant); entries are never freed (reset_stats zeroes them), so a
 * cached pointer stays valid.  When the table is full, new keys are not
 * counted and the "dropped" counter says so.
 *
 * Timing comes from PostgreSQL's function manager hooks: needs_fmgr_hook
 * says yes for the C functions listed in mr_stats_functions[] while
 * movierec.track_stats is on (decided when a query initializes its
 * function calls), so fmgr calls them through fmgr_security_definer, which
 * calls fmgr_hook at the start, at the end and on error.  The hook keeps a
 * small stack of calls in progress; the serving code adds what only it
 * knows (MrStatsNote*: model, path, rows, cache work).  Errors are counted
 * by the FHET_ABORT event, with no PG_TRY in the serving code.  With
 * track_stats off the functions are called directly, which is what
 * bench/serve compares against.
 *
 * Training.  Runs, failures and cancellations per algorithm with a
 * duration histogram (1-2-5 buckets from 10 ms to 5000 s), and the last
 * success per model name, recorded when the training transaction commits.
 * Training is rare, so these sit under the LWLock.
 *
 * Without preloading there is no shared memory: nothing is counted and
 * the views raise an error saying movierec must be preloaded.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "portability/instr_time.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "movierec.h"
#include "stats.h"

#define MR_STATS_TRANCHE "movierec_stats"
#define MR_STATS_NAMELEN (NAMEDATALEN * 2)	/* model names (train.c allows this) */
#define MR_STATS_MAX_SERVE 1000
#define MR_STATS_MAX_TRAIN 64
#define MR_STATS_MAX_LAST 256
#define MR_STATS_MAX_DEPTH 4
#define MR_STATS_LOCAL 64
#define MR_STATS_PENDING 8

/* serving latency bounds in nanoseconds: 1-2-5 from 10 us to 10 s */
#define MR_SERVE_NB 19
static const uint64 serve_bounds_ns[MR_SERVE_NB] = {
	10000, 20000, 50000, 100000, 200000, 500000,
	1000000, 2000000, 5000000, 10000000, 20000000, 50000000,
	100000000, 200000000, 500000000, 1000000000, 2000000000, 5000000000,
	10000000000
};

/* training duration bounds in seconds: 1-2-5 from 10 ms to 5000 s */
#define MR_TRAIN_NB 18
static const double train_bounds_s[MR_TRAIN_NB] = {
	0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500,
	1000, 2000, 5000
};

/*
 * The serving functions that are timed: C symbol, function label, and
 * whether it returns a set (else a call that returns counts one row).
 * A new serving function adds one line here.
 */
static const struct
{
	const char *prosrc;
	const char *name;
	bool		set;
}			mr_stats_functions[] =
{
	{"movierec_recommend", "recommend", true},
	{"movierec_predict", "predict", false},
	{"movierec_similar_movies", "similar_movies", true},
	{"movierec_recommend_for_ratings", "recommend_for_ratings", true},
	{"movierec_explain", "explain", true},
	{"movierec_recommend_all", "recommend_all", false},
};
#define MR_STATS_NFUNCTIONS lengthof(mr_stats_functions)

/* One (model, function, path) of serving. */
typedef struct MrServeStat
{
	char		model[MR_STATS_NAMELEN];
	char		function[32];
	char		path[32];
	pg_atomic_uint64 calls;
	pg_atomic_uint64 rows;
	pg_atomic_uint64 errors;
	pg_atomic_uint64 time_ns;
	pg_atomic_uint64 cache_loads;
	pg_atomic_uint64 cache_invalidations;
	pg_atomic_uint64 hist[MR_SERVE_NB + 1];
} MrServeStat;

/* One (algorithm, outcome) of training (under the lock). */
typedef struct MrTrainStat
{
	char		algorithm[32];
	char		outcome[16];
	int64		runs;
	double		seconds;
	int64		hist[MR_TRAIN_NB + 1];
} MrTrainStat;

/* The last committed success of a model name (under the lock). */
typedef struct MrLastSuccess
{
	char		model[MR_STATS_NAMELEN];
	char		algorithm[32];
	int64		model_id;
	double		seconds;
	TimestampTz at;
	int64		successes;
} MrLastSuccess;

typedef struct MrStatsShared
{
	LWLock	   *lock;
	TimestampTz reset_at;
	int			n_serve;		/* entries in use (written under the lock) */
	int			n_train;
	int			n_last;
	pg_atomic_uint64 dropped;	/* calls not counted: the table was full */
	MrTrainStat train[MR_STATS_MAX_TRAIN];
	MrLastSuccess last[MR_STATS_MAX_LAST];
	MrServeStat serve[MR_STATS_MAX_SERVE];
} MrStatsShared;

/* A serving call in progress (backend-local). */
typedef struct MrCall
{
	Oid			fn_oid;
	int			fn;
	bool		tracked;
	bool		has_model;
	bool		has_rows;
	instr_time	start;
	int64		model_id;
	const char *model;			/* the serving cache's copy: lives through the call */
	const char *path;
	int64		rows;
	int			loads;
	int			invals;
} MrCall;

/* Backend-local pointer to a shared entry. */
typedef struct MrLocalEntry
{
	int64		model_id;
	int			fn;
	const char *path;
	MrServeStat *e;
} MrLocalEntry;

/* Function oid -> index in mr_stats_functions (-1: not ours). */
typedef struct MrFnOid
{
	Oid			oid;
	int			fn;
} MrFnOid;

/* A success waiting for its transaction to commit. */
typedef struct MrPending
{
	char		model[MR_STATS_NAMELEN];
	char		algorithm[32];
	int64		model_id;
	double		seconds;
} MrPending;

bool		mr_track_stats = true;

static MrStatsShared *mr_stats = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static needs_fmgr_hook_type prev_needs_fmgr_hook = NULL;
static fmgr_hook_type prev_fmgr_hook = NULL;

static MrCall call_stack[MR_STATS_MAX_DEPTH];
static int	call_depth = 0;
static MrLocalEntry local_entries[MR_STATS_LOCAL];
static int	n_local = 0;
static int	next_local = 0;
static HTAB *fn_oids = NULL;
static instr_time train_start;
static MrPending pending[MR_STATS_PENDING];
static int	n_pending = 0;
static bool xact_cb_registered = false;

/* Bytes of the shared area. */
static Size
MrStatsShmemSize(void)
{
	return MAXALIGN(sizeof(MrStatsShared));
}

/* shmem_request_hook: reserve the area and the lock. */
static void
MrStatsShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MrStatsShmemSize());
	RequestNamedLWLockTranche(MR_STATS_TRANCHE, 1);
}

/* shmem_startup_hook: create or attach the area. */
static void
MrStatsShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	mr_stats = ShmemInitStruct("movierec statistics", MrStatsShmemSize(), &found);
	if (!found)
	{
		memset(mr_stats, 0, MrStatsShmemSize());
		mr_stats->lock = &(GetNamedLWLockTranche(MR_STATS_TRANCHE))->lock;
		mr_stats->reset_at = GetCurrentTimestamp();
		pg_atomic_init_u64(&mr_stats->dropped, 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Index in mr_stats_functions of a function, -1 if it is not a timed
 * movierec function.  Looks the oid up in pg_proc once per backend (only
 * when lookup is allowed: never during error handling).
 */
static int
MrStatsFunctionIndex(Oid fn_oid, bool lookup)
{
	MrFnOid    *ent;
	bool		found;
	HeapTuple	tup;
	int			fn = -1;

	if (fn_oids == NULL)
	{
		HASHCTL		ctl;

		if (!lookup)
			return -1;
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(MrFnOid);
		ctl.hcxt = TopMemoryContext;
		fn_oids = hash_create("movierec timed functions", 64, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	ent = hash_search(fn_oids, &fn_oid, HASH_FIND, NULL);
	if (ent != NULL)
		return ent->fn;
	if (!lookup)
		return -1;

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	if (HeapTupleIsValid(tup))
	{
		Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(tup);

		if (proc->prolang == ClanguageId)
		{
			bool		isnull;
			Datum		bin = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_probin, &isnull);

			if (!isnull)
			{
				char	   *probin = TextDatumGetCString(bin);
				Datum		src = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_prosrc, &isnull);

				if (!isnull && strstr(probin, "movierec") != NULL)
				{
					char	   *prosrc = TextDatumGetCString(src);

					for (int i = 0; i < (int) MR_STATS_NFUNCTIONS; i++)
						if (strcmp(prosrc, mr_stats_functions[i].prosrc) == 0)
							fn = i;
					pfree(prosrc);
				}
				pfree(probin);
			}
		}
		ReleaseSysCache(tup);
	}
	ent = hash_search(fn_oids, &fn_oid, HASH_ENTER, &found);
	ent->fn = fn;
	return fn;
}

/* needs_fmgr_hook: our timed functions, while track_stats is on. */
static bool
MrStatsNeedsFmgrHook(Oid fn_oid)
{
	if (prev_needs_fmgr_hook && prev_needs_fmgr_hook(fn_oid))
		return true;
	if (!mr_track_stats || mr_stats == NULL)
		return false;
	return MrStatsFunctionIndex(fn_oid, true) >= 0;
}

/* The shared entry of a key, created if new; NULL when the table is full. */
static MrServeStat *
MrStatsSharedEntry(const char *model, const char *function, const char *path)
{
	MrServeStat *e = NULL;
	int			i;

	LWLockAcquire(mr_stats->lock, LW_EXCLUSIVE);
	for (i = 0; i < mr_stats->n_serve; i++)
	{
		MrServeStat *x = &mr_stats->serve[i];

		if (strcmp(x->model, model) == 0 && strcmp(x->function, function) == 0 &&
			strcmp(x->path, path) == 0)
		{
			e = x;
			break;
		}
	}
	if (e == NULL && mr_stats->n_serve < MR_STATS_MAX_SERVE)
	{
		e = &mr_stats->serve[mr_stats->n_serve];
		memset(e, 0, sizeof(*e));
		strlcpy(e->model, model, sizeof(e->model));
		strlcpy(e->function, function, sizeof(e->function));
		strlcpy(e->path, path, sizeof(e->path));
		pg_atomic_init_u64(&e->calls, 0);
		pg_atomic_init_u64(&e->rows, 0);
		pg_atomic_init_u64(&e->errors, 0);
		pg_atomic_init_u64(&e->time_ns, 0);
		pg_atomic_init_u64(&e->cache_loads, 0);
		pg_atomic_init_u64(&e->cache_invalidations, 0);
		for (i = 0; i <= MR_SERVE_NB; i++)
			pg_atomic_init_u64(&e->hist[i], 0);
		mr_stats->n_serve++;
	}
	LWLockRelease(mr_stats->lock);
	return e;
}

/* The entry of a finished call, through the backend's pointer cache. */
static MrServeStat *
MrStatsEntryFor(const MrCall *c, const char *path)
{
	int64		model_id = c->has_model ? c->model_id : 0;
	MrServeStat *e;
	int			i;

	for (i = 0; i < n_local; i++)
		if (local_entries[i].model_id == model_id && local_entries[i].fn == c->fn &&
			local_entries[i].path == path)
			return local_entries[i].e;
	e = MrStatsSharedEntry(c->has_model ? c->model : "none",
						   mr_stats_functions[c->fn].name, path);
	if (e == NULL)
		return NULL;
	i = (n_local < MR_STATS_LOCAL) ? n_local++ : next_local++ % MR_STATS_LOCAL;
	local_entries[i].model_id = model_id;
	local_entries[i].fn = c->fn;
	local_entries[i].path = path;
	local_entries[i].e = e;
	return e;
}

/* Add a finished serving call to its entry (no lock unless the key is new). */
static void
MrStatsRecordCall(const MrCall *c, bool error)
{
	instr_time	t;
	uint64		ns;
	const char *path;
	MrServeStat *e;
	int			b;

	INSTR_TIME_SET_CURRENT(t);
	INSTR_TIME_SUBTRACT(t, c->start);
	ns = (uint64) (INSTR_TIME_GET_DOUBLE(t) * 1e9);
	path = c->path ? c->path : (c->has_model && !error ? "model" : "none");
	e = MrStatsEntryFor(c, path);
	if (e == NULL)
	{
		pg_atomic_fetch_add_u64(&mr_stats->dropped, 1);
		return;
	}
	for (b = 0; b < MR_SERVE_NB && ns > serve_bounds_ns[b]; b++)
		;
	pg_atomic_fetch_add_u64(&e->calls, 1);
	pg_atomic_fetch_add_u64(&e->time_ns, ns);
	pg_atomic_fetch_add_u64(&e->hist[b], 1);
	if (error)
		pg_atomic_fetch_add_u64(&e->errors, 1);
	else if (c->has_rows)
		pg_atomic_fetch_add_u64(&e->rows, (uint64) c->rows);
	else if (!mr_stats_functions[c->fn].set)
		pg_atomic_fetch_add_u64(&e->rows, 1);
	if (c->loads)
		pg_atomic_fetch_add_u64(&e->cache_loads, c->loads);
	if (c->invals)
		pg_atomic_fetch_add_u64(&e->cache_invalidations, c->invals);
}

/*
 * fmgr_hook: push a call at its start, record it at its end or error.
 * The end of a call is recognised by its oid on top of the stack (no
 * lookup); only calls nested deeper than the stack are looked up again.
 */
static void
MrStatsFmgrHook(FmgrHookEventType event, FmgrInfo *flinfo, Datum *private)
{
	int			fn;

	if (prev_fmgr_hook)
		prev_fmgr_hook(event, flinfo, private);
	if (event != FHET_START)
	{
		if (call_depth > MR_STATS_MAX_DEPTH)
		{
			if (MrStatsFunctionIndex(flinfo->fn_oid, false) >= 0)
				call_depth--;
		}
		else if (call_depth > 0 && call_stack[call_depth - 1].fn_oid == flinfo->fn_oid)
		{
			call_depth--;
			if (call_stack[call_depth].tracked)
				MrStatsRecordCall(&call_stack[call_depth], event == FHET_ABORT);
		}
		return;
	}
	fn = MrStatsFunctionIndex(flinfo->fn_oid, true);
	if (fn < 0)
		return;
	{
		if (call_depth < MR_STATS_MAX_DEPTH)
		{
			MrCall	   *c = &call_stack[call_depth];

			c->fn_oid = flinfo->fn_oid;
			c->fn = fn;
			c->tracked = (mr_stats != NULL);
			c->has_model = false;
			c->has_rows = false;
			c->path = NULL;
			c->rows = 0;
			c->loads = 0;
			c->invals = 0;
			INSTR_TIME_SET_CURRENT(c->start);
		}
		call_depth++;
	}
}

/* The tracked call in progress, or NULL. */
static inline MrCall *
MrCurrentCall(void)
{
	if (call_depth <= 0 || call_depth > MR_STATS_MAX_DEPTH ||
		!call_stack[call_depth - 1].tracked)
		return NULL;
	return &call_stack[call_depth - 1];
}

/* The call in progress resolved this model. */
void
MrStatsNoteModel(int64 model_id, const char *model_name)
{
	MrCall	   *c = MrCurrentCall();

	if (c == NULL)
		return;
	c->has_model = true;
	c->model_id = model_id;
	c->model = model_name;
}

/* The call in progress serves its user by this path (a string constant). */
void
MrStatsNotePath(const char *path)
{
	MrCall	   *c = MrCurrentCall();

	if (c != NULL)
		c->path = path;
}

/* The call in progress returns this many rows. */
void
MrStatsNoteRows(int64 rows)
{
	MrCall	   *c = MrCurrentCall();

	if (c != NULL)
	{
		c->rows = rows;
		c->has_rows = true;
	}
}

/* The call in progress loaded a model into the backend's cache. */
void
MrStatsNoteCacheLoad(void)
{
	MrCall	   *c = MrCurrentCall();

	if (c != NULL)
		c->loads++;
}

/* The call in progress dropped n stale models from the backend's cache. */
void
MrStatsNoteCacheInvalidation(int n)
{
	MrCall	   *c = MrCurrentCall();

	if (c != NULL)
		c->invals += n;
}

/* Bucket of a training duration. */
static int
MrTrainBucket(double seconds)
{
	int			b;

	for (b = 0; b < MR_TRAIN_NB && seconds > train_bounds_s[b]; b++)
		;
	return b;
}

/* At commit, the pending successes become the last success of their names. */
static void
MrStatsXactCallback(XactEvent event, void *arg)
{
	TimestampTz now;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	if (event == XACT_EVENT_COMMIT && n_pending > 0 && mr_stats != NULL)
	{
		now = GetCurrentTimestamp();
		LWLockAcquire(mr_stats->lock, LW_EXCLUSIVE);
		for (int p = 0; p < n_pending; p++)
		{
			MrLastSuccess *l = NULL;
			int			i;

			for (i = 0; i < mr_stats->n_last; i++)
				if (strcmp(mr_stats->last[i].model, pending[p].model) == 0)
					l = &mr_stats->last[i];
			if (l == NULL)
			{
				if (mr_stats->n_last < MR_STATS_MAX_LAST)
					l = &mr_stats->last[mr_stats->n_last++];
				else
				{
					/* full: replace the name that succeeded longest ago */
					l = &mr_stats->last[0];
					for (i = 1; i < mr_stats->n_last; i++)
						if (mr_stats->last[i].at < l->at)
							l = &mr_stats->last[i];
				}
				memset(l, 0, sizeof(*l));
				strlcpy(l->model, pending[p].model, sizeof(l->model));
			}
			strlcpy(l->algorithm, pending[p].algorithm, sizeof(l->algorithm));
			l->model_id = pending[p].model_id;
			l->seconds = pending[p].seconds;
			l->at = now;
			l->successes++;
		}
		LWLockRelease(mr_stats->lock);
	}
	n_pending = 0;
}

/* A training run starts. */
void
MrStatsTrainBegin(void)
{
	INSTR_TIME_SET_CURRENT(train_start);
}

/*
 * A training run ends: model_id > 0 is a success (its name's last
 * success is recorded at commit); 0 is a failure, or a cancellation when
 * the error in flight is a query cancel.  Called from PG_FINALLY, so it
 * must not throw.
 */
void
MrStatsTrainEnd(const char *algorithm, const char *model_name, int64 model_id)
{
	instr_time	t;
	double		seconds;
	const char *outcome;
	MrTrainStat *e = NULL;
	int			i;

	if (mr_stats == NULL || !mr_track_stats)
		return;
	INSTR_TIME_SET_CURRENT(t);
	INSTR_TIME_SUBTRACT(t, train_start);
	seconds = INSTR_TIME_GET_DOUBLE(t);
	if (model_id > 0)
		outcome = "succeeded";
	else
		outcome = (geterrcode() == ERRCODE_QUERY_CANCELED) ? "cancelled" : "failed";

	LWLockAcquire(mr_stats->lock, LW_EXCLUSIVE);
	for (i = 0; i < mr_stats->n_train; i++)
		if (strcmp(mr_stats->train[i].algorithm, algorithm) == 0 &&
			strcmp(mr_stats->train[i].outcome, outcome) == 0)
			e = &mr_stats->train[i];
	if (e == NULL && mr_stats->n_train < MR_STATS_MAX_TRAIN)
	{
		e = &mr_stats->train[mr_stats->n_train++];
		memset(e, 0, sizeof(*e));
		strlcpy(e->algorithm, algorithm, sizeof(e->algorithm));
		strlcpy(e->outcome, outcome, sizeof(e->outcome));
	}
	if (e != NULL)
	{
		e->runs++;
		e->seconds += seconds;
		e->hist[MrTrainBucket(seconds)]++;
	}
	LWLockRelease(mr_stats->lock);

	if (model_id > 0 && n_pending < MR_STATS_PENDING)
	{
		MrPending  *p = &pending[n_pending++];

		strlcpy(p->model, model_name, sizeof(p->model));
		strlcpy(p->algorithm, algorithm, sizeof(p->algorithm));
		p->model_id = model_id;
		p->seconds = seconds;
		if (!xact_cb_registered)
		{
			RegisterXactCallback(MrStatsXactCallback, NULL);
			xact_cb_registered = true;
		}
	}
}

/* Define movierec.track_stats; when preloading, shared memory and the hooks. */
void
MrStatsInit(void)
{
	DefineCustomBoolVariable("movierec.track_stats",
							 "Collect serving and training statistics (movierec.serving_stats).",
							 "Needs movierec in shared_preload_libraries; takes effect "
							 "at the next statement.",
							 &mr_track_stats,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = MrStatsShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = MrStatsShmemStartup;
	prev_needs_fmgr_hook = needs_fmgr_hook;
	needs_fmgr_hook = MrStatsNeedsFmgrHook;
	prev_fmgr_hook = fmgr_hook;
	fmgr_hook = MrStatsFmgrHook;
}

/* The error of the views without preloading. */
static void
MrStatsRequirePreload(void)
{
	if (!mr_preloaded || mr_stats == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("movierec statistics need movierec in shared_preload_libraries"),
				 errhint("Add movierec to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/* A float8[] of n values. */
static Datum
MrFloatArray(const double *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
		d[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* A bigint[] of the cumulative counts of the first n buckets. */
static Datum
MrCumulativeArray(const int64 *counts, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * n);
	int64		sum = 0;

	for (int i = 0; i < n; i++)
	{
		sum += counts[i];
		d[i] = Int64GetDatum(sum);
	}
	return PointerGetDatum(construct_array(d, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

PG_FUNCTION_INFO_V1(movierec_serving_stats);

/*
 * movierec._serving_stats(): one row per (model, function, path) with the
 * counters and the cumulative latency histogram (finite bounds only; the
 * +Inf bucket is calls).
 */
Datum
movierec_serving_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n;
	double		le[MR_SERVE_NB];
	TimestampTz reset_at;

	MrStatsRequirePreload();
	InitMaterializedSRF(fcinfo, 0);
	for (int b = 0; b < MR_SERVE_NB; b++)
		le[b] = serve_bounds_ns[b] / 1e9;
	LWLockAcquire(mr_stats->lock, LW_SHARED);
	n = mr_stats->n_serve;
	reset_at = mr_stats->reset_at;
	LWLockRelease(mr_stats->lock);

	for (int i = 0; i < n; i++)
	{
		MrServeStat *e = &mr_stats->serve[i];
		Datum		values[12];
		bool		nulls[12] = {0};
		int64		hist[MR_SERVE_NB + 1];

		for (int b = 0; b <= MR_SERVE_NB; b++)
			hist[b] = (int64) pg_atomic_read_u64(&e->hist[b]);
		values[0] = CStringGetTextDatum(e->model);
		values[1] = CStringGetTextDatum(e->function);
		values[2] = CStringGetTextDatum(e->path);
		values[3] = Int64GetDatum((int64) pg_atomic_read_u64(&e->calls));
		values[4] = Int64GetDatum((int64) pg_atomic_read_u64(&e->rows));
		values[5] = Int64GetDatum((int64) pg_atomic_read_u64(&e->errors));
		values[6] = Float8GetDatum(pg_atomic_read_u64(&e->time_ns) / 1e9);
		values[7] = Int64GetDatum((int64) pg_atomic_read_u64(&e->cache_loads));
		values[8] = Int64GetDatum((int64) pg_atomic_read_u64(&e->cache_invalidations));
		values[9] = MrFloatArray(le, MR_SERVE_NB);
		values[10] = MrCumulativeArray(hist, MR_SERVE_NB);
		values[11] = TimestampTzGetDatum(reset_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(movierec_training_stats);

/* movierec._training_stats(): one row per (algorithm, outcome). */
Datum
movierec_training_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MrTrainStat copy[MR_STATS_MAX_TRAIN];
	int			n;
	TimestampTz reset_at;

	MrStatsRequirePreload();
	InitMaterializedSRF(fcinfo, 0);
	LWLockAcquire(mr_stats->lock, LW_SHARED);
	n = mr_stats->n_train;
	memcpy(copy, mr_stats->train, sizeof(MrTrainStat) * n);
	reset_at = mr_stats->reset_at;
	LWLockRelease(mr_stats->lock);

	for (int i = 0; i < n; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {0};

		values[0] = CStringGetTextDatum(copy[i].algorithm);
		values[1] = CStringGetTextDatum(copy[i].outcome);
		values[2] = Int64GetDatum(copy[i].runs);
		values[3] = Float8GetDatum(copy[i].seconds);
		values[4] = MrFloatArray(train_bounds_s, MR_TRAIN_NB);
		values[5] = MrCumulativeArray(copy[i].hist, MR_TRAIN_NB);
		values[6] = TimestampTzGetDatum(reset_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(movierec_training_last_success);

/* movierec._training_last_success(): one row per model name. */
Datum
movierec_training_last_success(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MrLastSuccess *copy;
	int			n;

	MrStatsRequirePreload();
	InitMaterializedSRF(fcinfo, 0);
	copy = palloc(sizeof(MrLastSuccess) * MR_STATS_MAX_LAST);
	LWLockAcquire(mr_stats->lock, LW_SHARED);
	n = mr_stats->n_last;
	memcpy(copy, mr_stats->last, sizeof(MrLastSuccess) * n);
	LWLockRelease(mr_stats->lock);

	for (int i = 0; i < n; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {0};

		values[0] = CStringGetTextDatum(copy[i].model);
		values[1] = CStringGetTextDatum(copy[i].algorithm);
		values[2] = Int64GetDatum(copy[i].model_id);
		values[3] = TimestampTzGetDatum(copy[i].at);
		values[4] = Float8GetDatum(copy[i].seconds);
		values[5] = Int64GetDatum(copy[i].successes);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(movierec_reset_stats);

/*
 * movierec.reset_stats(): zero every counter.  Serving entries stay
 * allocated (backends keep pointers to them); a call finishing during the
 * reset may keep part of its counts.
 */
Datum
movierec_reset_stats(PG_FUNCTION_ARGS)
{
	MrStatsRequirePreload();
	LWLockAcquire(mr_stats->lock, LW_EXCLUSIVE);
	for (int i = 0; i < mr_stats->n_serve; i++)
	{
		MrServeStat *e = &mr_stats->serve[i];

		pg_atomic_write_u64(&e->calls, 0);
		pg_atomic_write_u64(&e->rows, 0);
		pg_atomic_write_u64(&e->errors, 0);
		pg_atomic_write_u64(&e->time_ns, 0);
		pg_atomic_write_u64(&e->cache_loads, 0);
		pg_atomic_write_u64(&e->cache_invalidations, 0);
		for (int b = 0; b <= MR_SERVE_NB; b++)
			pg_atomic_write_u64(&e->hist[b], 0);
	}
	mr_stats->n_train = 0;
	mr_stats->n_last = 0;
	pg_atomic_write_u64(&mr_stats->dropped, 0);
	mr_stats->reset_at = GetCurrentTimestamp();
	LWLockRelease(mr_stats->lock);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(movierec_stats_dropped);

/* movierec._stats_dropped(): serving calls not counted because the table was full. */
Datum
movierec_stats_dropped(PG_FUNCTION_ARGS)
{
	MrStatsRequirePreload();
	PG_RETURN_INT64((int64) pg_atomic_read_u64(&mr_stats->dropped));
}
