/*
 * serve_cache.c: per-backend cache of served models, model name
 * resolution, and its invalidation.
 *
 * Design.  Serving must not read 62,000 factor rows per call, nor run a
 * query to find which model "null" means.  Each backend keeps:
 *
 *  - resolved names: the model argument as given (NULL, a name, or an id
 *    as text) -> model_id, found once with SPI;
 *  - models: up to MR_SERVE_MAX_MODELS models, each in its own memory
 *    context, with the item factors copied from movierec.item_factors
 *    into one contiguous, 64-byte aligned n_items x k float matrix (rows
 *    sorted by movie_id so that index order is movie_id order), an int8
 *    copy in the panel layout of serve_scan.c's first pass, biases,
 *    row norms for cosine, training counts and means for popularity, and
 *    Q^T Q for implicit fold-in;
 *  (the OIDs of the relations the hot path opens and the arrays derived
 *  from the items are serve_base.c's).
 *
 * Invalidation.  Statement-level triggers on movierec.models and
 * movierec.item_factors (install/60_serve.sql) call
 * movierec_serve_invalidate(), which queues a relcache invalidation of
 * the table.  PostgreSQL delivers it to every backend when the writing
 * transaction commits (and to the writer itself at its next command), so
 * training, promotion, a stage change or a drop reaches every connected
 * session by its next call.  The callback registered with
 * CacheRegisterRelcacheCallback only raises a flag: it may run in the
 * middle of a serving call (lock acquisition processes invalidations), so
 * memory is released at the start of the next call, never under a caller.
 * Invalidations of ratings or user_factors (vacuum, analyze) only make the
 * OIDs be looked up again; they keep the models.
 */
#include "movierec.h"
#include "serve.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "blas.h"
#include "stats.h"

#define MR_SERVE_MAX_MODELS 4
/* kern_als.c's frequency weighting: factor penalty lambda n_u^0.4 */
#define MR_ALS_REG_EXPONENT 0.4f
#define MR_SERVE_MAX_NAMES 16

int			mr_popularity_min_count = 10;
double		mr_popularity_damping = 10.0;

/* One resolved model argument. */
typedef struct ResolvedName
{
	bool		is_null;
	char	   *key;			/* in serve_cxt */
	int64		model_id;
} ResolvedName;

static MemoryContext serve_cxt = NULL;	/* names and OIDs */
static ResolvedName names[MR_SERVE_MAX_NAMES];
static int	n_names = 0;
static MrServeModel *models[MR_SERVE_MAX_MODELS];	/* most recent first */
static int	n_models = 0;

/* set by the invalidation callback, acted on at the next call */
static volatile bool models_stale = false;

/*
 * Relcache invalidation callback: remember what went stale (the OIDs are
 * serve_base.c's own callback's business).
 */
static void
serve_relcache_cb(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == MrServeKnownRelid(MR_REL_MODELS) ||
		relid == MrServeKnownRelid(MR_REL_ITEM_FACTORS))
		models_stale = true;
	/* queued by the ratings triggers: ratings of a new movie changed */
	else if (relid == MrServeKnownRelid(MR_REL_RATING_CHANGES_PKEY))
		MrServeItemsStale();
}

/* Define serving settings and register the invalidation callback. */
void
MrServeInit(void)
{
	MrServeBaseInit();
	DefineCustomIntVariable("movierec.popularity_min_count",
							"Training ratings a movie needs to appear in the popularity ranking.",
							NULL,
							&mr_popularity_min_count,
							10, 0, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomRealVariable("movierec.popularity_damping",
							 "Pseudo-ratings at the global mean added to each movie's mean in the popularity ranking.",
							 NULL,
							 &mr_popularity_damping,
							 10.0, 0.0, 1e9,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	CacheRegisterRelcacheCallback(serve_relcache_cb, (Datum) 0);
	MrServeItemsInit();
}

/* Forget the resolved names (the models, keyed by id, stay). */
static void
serve_forget_names(void)
{
	int			i;

	for (i = 0; i < n_names; i++)
		if (names[i].key)
			pfree(names[i].key);
	n_names = 0;
}

/* Free every cached model and resolved name. */
static void
serve_reset_models(void)
{
	int			i;

	for (i = 0; i < n_models; i++)
		MemoryContextDelete(models[i]->cxt);
	n_models = 0;
	serve_forget_names();
	models_stale = false;
}

/* k (or n) must be in 1..MR_SERVE_MAX_K. */
void
MrServeCheckK(int k, const char *argname)
{
	if (k <= 0 || k > MR_SERVE_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 1 and %d, not %d", argname, MR_SERVE_MAX_K, k),
				 errhint("Pass %s => 10, or any value from 1 to %d.", argname, MR_SERVE_MAX_K)));
}

/* Run a one-column bigint query with an optional text or bigint arg. */
static bool
serve_query_id(const char *sql, Oid argtype, Datum arg, int64 *out)
{
	int			rc;
	bool		isnull;

	rc = SPI_execute_with_args(sql, argtype ? 1 : 0, &argtype, &arg, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return false;
	*out = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return true;
}

/*
 * Which model an argument names: NULL -> the production model (several
 * names in production: the most recently promoted or rolled back to in
 * movierec.deployments, then the most recently created), else the newest
 * model; a name -> its production version, else its newest version; a
 * string of digits that is not a name -> that model_id.
 */
static int64
serve_resolve_name(const char *key)
{
	int64		id = 0;
	bool		found;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (key == NULL)
	{
		found = serve_query_id("SELECT m.model_id FROM movierec.models m "
							   "LEFT JOIN LATERAL (SELECT max(d.deployment_id) AS dep "
							   "FROM movierec.deployments d WHERE d.to_model_id = m.model_id "
							   "AND d.action IN ('promote', 'rollback')) d ON m.stage = 'production' "
							   "ORDER BY m.stage = 'production' DESC, d.dep DESC NULLS LAST, "
							   "m.created_at DESC, m.model_id DESC LIMIT 1",
							   InvalidOid, (Datum) 0, &id);
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("no model has been trained"),
					 errhint("Train one with movierec.train('name'), then call this function again.")));
	}
	else
	{
		found = serve_query_id("SELECT model_id FROM movierec.models WHERE model_name = $1 "
							   "ORDER BY stage = 'production' DESC, version DESC LIMIT 1",
							   TEXTOID, CStringGetTextDatum(key), &id);
		if (!found && strlen(key) > 0 && strlen(key) < 19 &&
			strspn(key, "0123456789") == strlen(key))
			found = serve_query_id("SELECT model_id FROM movierec.models WHERE model_id = $1",
								   INT8OID, Int64GetDatum(strtoll(key, NULL, 10)), &id);
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" does not exist", key),
					 errhint("Pass a model name or model_id from movierec.models, or NULL for the production model.")));
	}
	SPI_finish();
	return id;
}

/* Read a float parameter from a params->>'key' text value. */
static float
param_float(HeapTuple tup, TupleDesc td, int col, float dflt)
{
	char	   *s = SPI_getvalue(tup, td, col);

	if (s == NULL)
		return dflt;
	if (strcmp(s, "true") == 0)
		return 1.0f;
	if (strcmp(s, "false") == 0)
		return 0.0f;
	return (float) strtod(s, NULL);
}

/* Load one model from the tables into a new cache entry. */
static MrServeModel *
serve_load_model(int64 model_id)
{
	MemoryContext cxt,
				old;
	MrServeModel *m;
	Oid			argtype = INT8OID;
	Datum		arg = Int64GetDatum(model_id);
	HeapTuple	tup;
	TupleDesc	td;
	int			rc;
	uint64		i,
				n;
	bool		isnull;

	cxt = AllocSetContextCreate(TopMemoryContext, "movierec serve model",
								ALLOCSET_DEFAULT_SIZES);
	m = MemoryContextAllocZero(cxt, sizeof(MrServeModel));
	m->cxt = cxt;
	m->model_id = model_id;

	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		rc = SPI_execute_with_args("SELECT model_name, version, algorithm, n_factors, "
								   "coalesce(global_mean, 0), rating_min, rating_max, created_at, "
								   "coalesce(params->>'foldin_regularization', params->>'regularization'), "
								   "coalesce(params->>'foldin_reg_user_bias', params->>'reg_user_bias'), "
								   "params->>'use_bias', params->>'alpha', params->>'binarize', "
								   "params->>'reg_item_bias', params->>'reg_exponent', params->>'implicit' "
								   "FROM movierec.models WHERE model_id = $1",
								   1, &argtype, &arg, NULL, true, 1);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model %lld does not exist", (long long) model_id),
					 errhint("Pass a model name or model_id from movierec.models.")));
		tup = SPI_tuptable->vals[0];
		td = SPI_tuptable->tupdesc;
		old = MemoryContextSwitchTo(cxt);
		m->model_name = SPI_getvalue(tup, td, 1);
		m->version = DatumGetInt32(SPI_getbinval(tup, td, 2, &isnull));
		m->algorithm = SPI_getvalue(tup, td, 3);
		MemoryContextSwitchTo(old);
		m->k = DatumGetInt32(SPI_getbinval(tup, td, 4, &isnull));
		m->global_mean = DatumGetFloat4(SPI_getbinval(tup, td, 5, &isnull));
		m->rating_min = DatumGetFloat4(SPI_getbinval(tup, td, 6, &isnull));
		m->rating_max = DatumGetFloat4(SPI_getbinval(tup, td, 7, &isnull));
		m->trained_at = DatumGetTimestampTz(SPI_getbinval(tup, td, 8, &isnull));
		m->popularity_only = (strcmp(m->algorithm, "popularity") == 0);

		/* the model's user step */
		m->spec.implicit = (strcmp(m->algorithm, "ials") == 0);
		m->spec.reg_exponent = (strcmp(m->algorithm, "als") == 0) ? MR_ALS_REG_EXPONENT : 0.0f;
		if (strcmp(m->algorithm, "external") == 0)
		{
			/* imported factors (install/85_scale.sql): the user step is in params */
			m->spec.implicit = param_float(tup, td, 16, 0.0f) != 0.0f;
			m->spec.reg_exponent = param_float(tup, td, 15, 1.0f);
		}
		m->spec.reg = param_float(tup, td, 9, m->spec.implicit ? 1.0f : 0.1f);
		m->spec.reg_bias = param_float(tup, td, 10, m->spec.reg);
		m->spec.use_bias = !m->spec.implicit && param_float(tup, td, 11, 1.0f) != 0.0f;
		m->spec.alpha = param_float(tup, td, 12, 1.0f);
		m->spec.binarize = param_float(tup, td, 13, 0.0f);
		m->spec.global_mean = m->spec.implicit ? 0.0f : m->global_mean;
		m->reg_item_bias = param_float(tup, td, 14, m->spec.reg);
		MrServeChangesLoad(m);

		rc = SPI_execute_with_args("SELECT movie_id, bias, factors, n_ratings, mean_rating "
								   "FROM movierec.item_factors WHERE model_id = $1 ORDER BY movie_id",
								   1, &argtype, &arg, NULL, true, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
		n = SPI_processed;
		td = SPI_tuptable->tupdesc;
		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("model %lld has no movies in movierec.item_factors", (long long) model_id),
					 errhint("Retrain the model with movierec.train(), or drop it.")));
		if (n > PG_INT32_MAX / 2)
			elog(ERROR, "too many movies in model %lld", (long long) model_id);

		/* models written without n_factors: take k from the first row */
		if (m->k == 0 && !m->popularity_only)
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], td, 3, &isnull);

			if (!isnull)
				m->k = ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(d)),
									  ARR_DIMS(DatumGetArrayTypeP(d)));
		}
		if (m->popularity_only)
			m->k = 0;
		if (m->k > MR_SERVE_SCAN_MAX_K)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("model %lld has %d factors, more than the %d that serving takes",
							(long long) model_id, m->k, MR_SERVE_SCAN_MAX_K),
					 errhint("Retrain the model with movierec.train(), which allows at most %d factors.",
							 MR_SERVE_SCAN_MAX_K)));

		m->n_items = (int32) n;
		m->item_ids = MemoryContextAllocExtended(cxt, mul_size(n, sizeof(int64)), MCXT_ALLOC_HUGE);
		m->item_bias = MrServeAllocFloats(cxt, n);
		m->norm = MrServeAllocFloats(cxt, n);
		m->mean_rating = MrServeAllocFloats(cxt, n);
		m->n_ratings = MemoryContextAllocExtended(cxt, mul_size(n, sizeof(int32)), MCXT_ALLOC_HUGE);
		if (m->k > 0)
			m->Q = MrServeAllocFloats(cxt, mul_size(n, m->k));

		for (i = 0; i < n; i++)
		{
			Datum		d;

			if ((i & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			tup = SPI_tuptable->vals[i];
			m->item_ids[i] = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
			m->item_bias[i] = DatumGetFloat4(SPI_getbinval(tup, td, 2, &isnull));
			d = SPI_getbinval(tup, td, 4, &isnull);
			m->n_ratings[i] = isnull ? 0 : DatumGetInt32(d);
			d = SPI_getbinval(tup, td, 5, &isnull);
			m->mean_rating[i] = isnull ? NAN : DatumGetFloat4(d);
			if (m->k > 0)
			{
				ArrayType  *a;
				float	   *row = m->Q + i * m->k;
				double		ss = 0;
				int			f;

				d = SPI_getbinval(tup, td, 3, &isnull);
				a = isnull ? NULL : DatumGetArrayTypeP(d);
				if (a == NULL || ARR_ELEMTYPE(a) != FLOAT4OID || ARR_HASNULL(a) ||
					ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) != m->k)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg("factors of movie %lld in model %lld are not %d real numbers",
									(long long) m->item_ids[i], (long long) model_id, m->k),
							 errhint("Retrain the model with movierec.train(), or drop it.")));
				memcpy(row, ARR_DATA_PTR(a), sizeof(float) * m->k);
				for (f = 0; f < m->k; f++)
					ss += (double) row[f] * row[f];
				m->norm[i] = (float) sqrt(ss);
			}
		}
		if (strcmp(m->algorithm, "ease") == 0)
			MrServeEaseLoad(m);
		SPI_finish();
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();

	m->spec.k = m->k;
	m->n_base = m->n_items;
	m->base_ids = m->item_ids;
	m->base_bias = m->item_bias;
	m->base_Q = m->Q;
	m->base_norm = m->norm;
	m->base_n_ratings = m->n_ratings;
	m->base_mean = m->mean_rating;
	PG_TRY();
	{
		MrServeItemsBuild(m);
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return m;
}

/*
 * The model a serving call uses (see serve_resolve_name), loading it into
 * the cache if needed.  model_arg may be NULL (SQL null).
 */
MrServeModel *
MrServeGetModel(text *model_arg)
{
	char	   *key = model_arg ? text_to_cstring(model_arg) : NULL;
	int64		model_id = 0;
	bool		found = false;
	int			i;
	MrServeModel *m;

	if (serve_cxt == NULL)
		serve_cxt = AllocSetContextCreate(TopMemoryContext, "movierec serve",
										  ALLOCSET_SMALL_SIZES);

	/*
	 * Inside a long transaction no new lock may be taken, so pending
	 * invalidations would wait for its end: read them now (cheap when there
	 * are none), so that each statement sees the models committed before it.
	 */
	AcceptInvalidationMessages();
	if (models_stale)
	{
		MrStatsNoteCacheInvalidation(n_models);
		serve_reset_models();
	}
	MrServeResolveRels();
	MrEnsureBlas();

	/* names resolved under an older registry than this call sees: again */
	if (n_names > 0 && !MrServeNamesCurrent())
		serve_forget_names();

	/* the cache may have been filled under another role: check every call */
	{
		AclResult	acl = pg_class_aclcheck(MrServeRelid(MR_REL_MODELS), GetUserId(), ACL_SELECT);

		if (acl == ACLCHECK_OK)
			acl = pg_class_aclcheck(MrServeRelid(MR_REL_ITEM_FACTORS), GetUserId(), ACL_SELECT);
		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE,
						   pg_class_aclcheck(MrServeRelid(MR_REL_MODELS), GetUserId(), ACL_SELECT) != ACLCHECK_OK
						   ? "models" : "item_factors");
	}

	for (i = 0; i < n_names; i++)
		if ((key == NULL) ? names[i].is_null
			: (!names[i].is_null && strcmp(names[i].key, key) == 0))
		{
			model_id = names[i].model_id;
			found = true;
			break;
		}
	if (!found)
	{
		if (n_names == 0)
			MrServeNamesResolving();
		model_id = serve_resolve_name(key);
		if (n_names == MR_SERVE_MAX_NAMES)
		{
			if (names[n_names - 1].key)
				pfree(names[n_names - 1].key);
			n_names--;
		}
		/*
		 * Shift by a loop, not memmove: with _FORTIFY_SOURCE (Debian's
		 * CPPFLAGS) glibc's __memmove_chk is the same code as
		 * __memcpy_chk, and valgrind reports an overlapping memcpy.
		 */
		for (i = n_names; i > 0; i--)
			names[i] = names[i - 1];
		names[0].is_null = (key == NULL);
		names[0].key = key ? MemoryContextStrdup(serve_cxt, key) : NULL;
		names[0].model_id = model_id;
		n_names++;
	}
	if (key)
		pfree(key);

	for (i = 0; i < n_models; i++)
		if (models[i]->model_id == model_id)
		{
			m = models[i];
			if (i > 0)
			{
				for (int j = i; j > 0; j--)	/* not memmove: see above */
					models[j] = models[j - 1];
				models[0] = m;
			}
			MrServeItemsCheck(m);
			MrServePopularity(m);
			MrStatsNoteModel(m->model_id, m->model_name);
			return m;
		}

	m = serve_load_model(model_id);
	MrStatsNoteCacheLoad();
	if (n_models == MR_SERVE_MAX_MODELS)
	{
		MemoryContextDelete(models[n_models - 1]->cxt);
		n_models--;
	}
	for (i = n_models; i > 0; i--)	/* not memmove: see above */
		models[i] = models[i - 1];
	models[0] = m;
	n_models++;
	MrServePopularity(m);
	MrStatsNoteModel(m->model_id, m->model_name);
	return m;
}

/*
 * (Re)compute the popularity scores if the settings changed: the damped
 * mean (n mean + m mu) / (n + m) of movies with at least min_count
 * training ratings; other movies get -INFINITY (not candidates).
 */
void
MrServePopularity(MrServeModel *m)
{
	int32		i;

	if (m->pop_score != NULL && m->pop_min_count == mr_popularity_min_count &&
		m->pop_damping == mr_popularity_damping)
		return;
	if (m->pop_score == NULL)
		m->pop_score = MrServeAllocFloats(m->served_cxt, m->n_items);
	for (i = 0; i < m->n_items; i++)
	{
		double		n = m->n_ratings[i];
		double		mean = isnan(m->mean_rating[i])
			? m->global_mean + m->item_bias[i] : m->mean_rating[i];

		if (m->n_ratings[i] < mr_popularity_min_count || n + mr_popularity_damping <= 0)
			m->pop_score[i] = -INFINITY;
		else
			m->pop_score[i] = (float) ((n * mean + mr_popularity_damping * m->global_mean) /
									   (n + mr_popularity_damping));
	}
	m->pop_min_count = mr_popularity_min_count;
	m->pop_damping = mr_popularity_damping;
}

PG_FUNCTION_INFO_V1(movierec_serve_invalidate);

/*
 * Trigger on movierec.models and movierec.item_factors: tell every
 * backend (at commit) that cached models are stale.
 */
Datum
movierec_serve_invalidate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("movierec.serve_invalidate() must be called as a trigger"),
				 errhint("It is installed on movierec.models and movierec.item_factors; do not call it directly.")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}
