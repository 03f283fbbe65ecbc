/*
 * serve_recommend.c: the SQL entry points of online serving:
 * recommend, predict, similar_movies, recommend_for_ratings, explain and
 * recommend_explain_path.
 *
 * Design.  Every call is: resolve the model from the backend cache
 * (serve_cache.c), resolve the user (serve_user.c: one index scan of the
 * current ratings, one index probe of the stored factors, maybe a
 * fold-in solve), score the whole catalogue into the model's reused
 * scratch vector with the int4 pass of serve_scan4.c (or exact dot
 * products over the `among` subset), mark excluded movies with -INFINITY,
 * select the exact top k (serve_scan.c rescores the items its error bound
 * cannot decide; topk.c's bounded heap), and return the rows in
 * materialize mode.  Every score shown is the exact float score
 * MrScoreExact, the same in every path.  Scores are predicted ratings
 * mu + b_u + b_i + p.q, not clipped (clipping would create ties that the
 * unclipped order resolves); predict() clips to the rating scale.
 */
#include "movierec.h"
#include "serve.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "eval_metrics.h"
#include "stats.h"

/* top-k output buffers, reused by every call */
static float top_score[MR_SERVE_MAX_K];
static int32 top_index[MR_SERVE_MAX_K];

/* qsort comparator for int32. */
static int
cmp_int32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a,
				y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/* A given rating, sorted by movie id. */
typedef struct IdRating
{
	int64		id;
	float		val;
} IdRating;

/* qsort comparator for IdRating by id. */
static int
cmp_id_rating(const void *a, const void *b)
{
	int64		x = ((const IdRating *) a)->id,
				y = ((const IdRating *) b)->id;

	return (x > y) - (x < y);
}

/* k argument: not null, within range. */
static int
arg_k(FunctionCallInfo fcinfo, int argno, const char *name)
{
	int			k;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name),
				 errhint("Pass %s => 10, or any value from 1 to %d.", name, MR_SERVE_MAX_K)));
	k = PG_GETARG_INT32(argno);
	MrServeCheckK(k, name);
	return k;
}

/* Model argument (NULL = production model). */
static MrServeModel *
arg_model(FunctionCallInfo fcinfo, int argno)
{
	return MrServeGetModel(PG_ARGISNULL(argno) ? NULL : PG_GETARG_TEXT_PP(argno));
}

/* A movie that the model must know. */
static int32
known_movie(MrServeModel *m, int64 movie_id)
{
	int32		x = MrServeItemIndex(m, movie_id);

	if (x < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("movie %lld is not in model %lld (\"%s\" version %d)",
						(long long) movie_id, (long long) m->model_id,
						m->model_name, m->version),
				 errhint("Pass a movie_id from movierec.item_factors of that model, or retrain the model to include new movies.")));
	return x;
}

/*
 * The `among` array as sorted, distinct item indexes (movies unknown to
 * the model and NULL elements are skipped).  Returns the count.
 */
static int32
among_candidates(MrServeModel *m, ArrayType *among, int32 **out)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;
	int32		c = 0,
				w = 0;
	int32	   *cand;

	deconstruct_array(among, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	cand = palloc(sizeof(int32) * (n + 1));
	for (i = 0; i < n; i++)
	{
		int32		x;

		if (nulls[i])
			continue;
		x = MrServeItemIndex(m, DatumGetInt64(elems[i]));
		if (x >= 0)
			cand[c++] = x;
	}
	/* sort and drop duplicates */
	qsort(cand, c, sizeof(int32), cmp_int32);
	for (i = 0; i < c; i++)
		if (w == 0 || cand[w - 1] != cand[i])
			cand[w++] = cand[i];
	*out = cand;
	return w;
}

/* Mark the user's rated movies as non-candidates. */
static void
exclude_known(MrServeModel *m, const MrServeUser *u)
{
	int32		i;

	for (i = 0; i < u->n_known; i++)
		m->scratch[u->known_idx[i]] = -INFINITY;
}

/* What the scratch holds after scoring: exact scores, or a first pass. */
typedef enum ScoresKind
{
	SCORES_EXACT,				/* exact: select the top k directly */
	SCORES_INT8,				/* int8 pass: MrTopKExact rescores */
	SCORES_INT4					/* int4 pass: MrTopKExact may give up */
} ScoresKind;

/*
 * Score candidates for a user on the model or fold-in path:
 * scores[i] = b_i + q_i . p (the constant mu + b_u is added on output).
 * Without `among` the scores are an approximate first pass (int4 when
 * serve_int4.c allows it and the user's rounding is fine, else int8) that
 * emit_topk rescores with MrTopKExact; with it they are exact.
 */
static ScoresKind
score_user(MrServeModel *m, const MrServeUser *u, const int32 *cand, int32 ncand)
{
	float	   *s = m->scratch;
	int			k = m->k;

	if (cand == NULL)
	{
		if (k == 0)
		{
			memcpy(s, m->item_bias, sizeof(float) * m->n_items);
			return SCORES_EXACT;
		}
		if (MrServeInt4Usable(&m->packed4, m->int4_misses) &&
			MrScoreApprox4(&m->packed4, u->p, m->item_bias, s))
			return SCORES_INT4;
		MrScoreApprox(&m->packed, u->p, m->item_bias, s);
		return SCORES_INT8;
	}
	else
	{
		int32		i;

		for (i = 0; i < ncand; i++)
			s[cand[i]] = MrScoreExact(m->Q + (Size) cand[i] * k, k, u->p,
									  m->item_bias[cand[i]]);
		return SCORES_EXACT;
	}
}

/* Fill the popularity scores of the candidates. */
static void
score_popularity(MrServeModel *m, const int32 *cand, int32 ncand)
{
	if (cand == NULL)
		memcpy(m->scratch, m->pop_score, sizeof(float) * m->n_items);
	else
	{
		int32		i;

		for (i = 0; i < ncand; i++)
			m->scratch[cand[i]] = m->pop_score[cand[i]];
	}
}

/*
 * Select the top k of m->scratch over cand and emit (movie_id, score +
 * add, rank).  After a first pass (kind), MrTopKExact finishes the job
 * with u's vector; after the int4 pass it gives up when the wider bound
 * leaves more than MR_INT4_MAX_RESCORE movies to rescore, and the int8
 * pass is run instead (u's rated movies excluded again when exclude is
 * set; serve_int4.c counts the fallbacks).
 */
static void
emit_topk(FunctionCallInfo fcinfo, MrServeModel *m, ScoresKind kind, const MrServeUser *u,
		  bool exclude, const int32 *cand, int32 ncand, int k, float add)
{
	int			n = -1;

	if (kind != SCORES_EXACT)
	{
		MrScanInput in = {m->n_items, m->k, m->Q, m->packed.weight, m->item_bias, u->p, NULL, 0};

		if (kind == SCORES_INT4)
		{
			in.weight = m->packed4.weight;
			in.max_rescore = MR_INT4_MAX_RESCORE(m->n_items);
			n = MrTopKExact(&in, k, m->scratch, m->cand, top_index, top_score);
			MrServeInt4Outcome(m, &m->int4_misses, n < 0, "recommend");
			if (n < 0)
			{
				MrScoreApprox(&m->packed, u->p, m->item_bias, m->scratch);
				if (exclude)
					exclude_known(m, u);
				in.weight = m->packed.weight;
				in.max_rescore = 0;
			}
		}
		if (n < 0)
			n = MrTopKExact(&in, k, m->scratch, m->cand, top_index, top_score);
	}
	else
	{
		MrTopK		h;

		MrTopKReset(&h, k, top_score, top_index);
		MrTopKScan(&h, m->scratch, cand, cand ? ncand : m->n_items);
		n = MrTopKSort(&h);
	}
	MrServeEmitTopK(fcinfo, m, n, top_index, top_score, add);
}

/*
 * Score for user u: everything but the top-k.  Sets *add to the constant
 * to add on output and returns what the scratch holds.
 */
static ScoresKind
score_for(MrServeModel *m, MrServeUser *u, const int32 *cand, int32 ncand, float *add)
{
	MrStatsNotePath(MrServePathName(u->path));
	if (u->path == MR_PATH_POPULARITY)
	{
		score_popularity(m, cand, ncand);
		*add = 0.0f;
		return SCORES_EXACT;
	}
	if (m->ease != NULL)
	{
		MrServeEaseScore(m, cand, ncand);	/* exact: serve_ease.c */
		*add = 0.0f;
		return SCORES_EXACT;
	}
	*add = m->spec.global_mean + u->bias;
	return score_user(m, u, cand, ncand);
}

PG_FUNCTION_INFO_V1(movierec_recommend);

/*
 * movierec.recommend(user_id, k, model, exclude_rated, among): exact top k
 * for a user (see the file comment).
 */
Datum
movierec_recommend(PG_FUNCTION_ARGS)
{
	int			k;
	MrServeModel *m;
	MrServeUser *u;
	int32	   *cand = NULL;
	int32		ncand = 0;
	float		add;
	ScoresKind	kind;
	bool		exclude;

	k = arg_k(fcinfo, 1, "k");
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	m = arg_model(fcinfo, 2);
	u = MrServeResolveUser(m, PG_GETARG_INT64(0),
						   (PG_ARGISNULL(3) || PG_GETARG_BOOL(3)) ? MR_NEED_IDS : MR_NEED_NONE);
	if (!PG_ARGISNULL(4))
	{
		ncand = among_candidates(m, PG_GETARG_ARRAYTYPE_P(4), &cand);
		if (ncand == 0)
			return (Datum) 0;
	}
	/* the norm-ordered scan when the model uses it (serve_prune.c) */
	if (cand == NULL &&
		MrServePruneRecommend(fcinfo, m, u, k, PG_ARGISNULL(3) || PG_GETARG_BOOL(3)))
		return (Datum) 0;
	kind = score_for(m, u, cand, ncand, &add);
	exclude = PG_ARGISNULL(3) || PG_GETARG_BOOL(3);
	if (exclude)
		exclude_known(m, u);
	emit_topk(fcinfo, m, kind, u, exclude, cand, ncand, k, add);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(movierec_predict);

/* movierec.predict(user_id, movie_id, model): clipped predicted rating. */
Datum
movierec_predict(PG_FUNCTION_ARGS)
{
	MrServeModel *m;
	MrServeUser *u;
	int32		x;
	float		r;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	m = arg_model(fcinfo, 2);
	x = MrServeItemIndex(m, PG_GETARG_INT64(1));
	u = MrServeResolveUser(m, PG_GETARG_INT64(0), MR_NEED_NONE);
	MrStatsNotePath(MrServePathName(u->path));
	if (x < 0)
	{
		/*
		 * A movie the model lacks: what evaluate() predicts for such a row,
		 * the global mean plus the user's bias (none for a user served by
		 * popularity, i.e. one the model lacks and cannot fold in), in
		 * double precision and clipped the same way.
		 */
		double		pred = (double) m->global_mean;

		if (u->path != MR_PATH_POPULARITY)
			pred += (double) u->bias;
		PG_RETURN_FLOAT4(MrClipRating(pred, m->rating_min, m->rating_max));
	}
	if (u->path == MR_PATH_POPULARITY)
	{
		double		n = m->n_ratings[x];
		double		mean = isnan(m->mean_rating[x])
			? m->global_mean + m->item_bias[x] : m->mean_rating[x];

		/* the damped mean, whether or not the movie reaches the minimum count */
		r = (n + mr_popularity_damping > 0)
			? (float) ((n * mean + mr_popularity_damping * m->global_mean) /
					   (n + mr_popularity_damping))
			: m->global_mean;
	}
	else if (m->ease != NULL)
		PG_RETURN_FLOAT4(MrServeEaseScoreOne(m, x));	/* a score, not a rating */
	else
	{
		/* evaluate()'s arithmetic: mu + b_u + b_i + p.q in double */
		const float *q = m->Q + (Size) x * m->k;
		double		pred = (double) m->spec.global_mean + u->bias + m->item_bias[x];
		int			f;

		for (f = 0; f < m->k; f++)
			pred += (double) u->p[f] * q[f];
		if (isnan(pred))
			PG_RETURN_NULL();
		PG_RETURN_FLOAT4(MrClipRating(pred, m->rating_min, m->rating_max));
	}
	if (isnan(r))
		PG_RETURN_NULL();
	r = Max(m->rating_min, Min(m->rating_max, r));
	PG_RETURN_FLOAT4(r);
}

PG_FUNCTION_INFO_V1(movierec_similar_movies);

/* movierec.similar_movies(movie_id, k, model): cosine over item factors. */
Datum
movierec_similar_movies(PG_FUNCTION_ARGS)
{
	int			k;
	MrServeModel *m;
	int32		x;

	k = arg_k(fcinfo, 1, "k");
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	m = arg_model(fcinfo, 2);
	if (m->ease != NULL)
	{
		if (MrServeEaseSimilar(m, known_movie(m, PG_GETARG_INT64(0))))
			emit_topk(fcinfo, m, SCORES_EXACT, NULL, false, NULL, 0, k, 0.0f);
		return (Datum) 0;
	}
	if (m->k == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model %lld (\"%s\", algorithm %s) has no item factors",
						(long long) m->model_id, m->model_name, m->algorithm),
				 errhint("Pass a factor model (als, svd or ials) as model.")));
	x = known_movie(m, PG_GETARG_INT64(0));
	if (m->is_folded != NULL && m->is_folded[x])
		MrStatsNotePath("folded_item");
	/* the exact top k of the unit-vector dot products (serve_similar.c) */
	MrServeEmitTopK(fcinfo, m, MrServeSimilarTopK(m, x, k, top_index, top_score),
					top_index, top_score, 0.0f);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(movierec_recommend_for_ratings);

/*
 * movierec.recommend_for_ratings(movie_ids, ratings, k, model): fold in an
 * anonymous user from the given ratings and rank (the given movies are
 * excluded).
 */
Datum
movierec_recommend_for_ratings(PG_FUNCTION_ARGS)
{
	int			k;
	MrServeModel *m;
	MrServeUser *u;
	ArrayType  *ids_a,
			   *vals_a;
	Datum	   *ids,
			   *vals;
	bool	   *idn,
			   *valn;
	int			n,
				nv,
				i;
	int64	   *id64;
	float	   *v;
	float		add;
	ScoresKind	kind;

	k = arg_k(fcinfo, 2, "k");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("movie_ids and ratings must not be null"),
				 errhint("Pass two arrays of the same length, for example ARRAY[1, 50]::bigint[], ARRAY[4, 5]::real[].")));
	ids_a = PG_GETARG_ARRAYTYPE_P(0);
	vals_a = PG_GETARG_ARRAYTYPE_P(1);
	deconstruct_array(ids_a, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &ids, &idn, &n);
	deconstruct_array(vals_a, FLOAT4OID, 4, true, TYPALIGN_INT, &vals, &valn, &nv);
	if (n != nv)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("movie_ids has %d elements but ratings has %d", n, nv),
				 errhint("Pass one rating per movie, in the same order.")));
	m = arg_model(fcinfo, 3);
	id64 = palloc(sizeof(int64) * (n + 1));
	v = palloc(sizeof(float) * (n + 1));
	for (i = 0; i < n; i++)
	{
		if (idn[i] || valn[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("element %d of movie_ids or ratings is null", i + 1),
					 errhint("Remove the null entry from both arrays.")));
		id64[i] = DatumGetInt64(ids[i]);
		v[i] = DatumGetFloat4(vals[i]);
		if (isnan(v[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rating %d (movie %lld) is NaN", i + 1, (long long) id64[i]),
					 errhint("Pass ratings between %g and %g.", m->rating_min, m->rating_max)));
		if (v[i] < m->rating_min || v[i] > m->rating_max)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("rating %g of movie %lld is outside the rating scale of model %lld",
							v[i], (long long) id64[i], (long long) m->model_id),
					 errhint("Pass ratings between %g and %g.", m->rating_min, m->rating_max)));
	}
	/*
	 * Sort by movie_id, as ratings read from the table are, so that the same
	 * ratings give bit-identical factors in recommend() and here; then each
	 * movie must appear once.
	 */
	{
		IdRating   *pairs = palloc(sizeof(IdRating) * (n + 1));

		for (i = 0; i < n; i++)
		{
			pairs[i].id = id64[i];
			pairs[i].val = v[i];
		}
		qsort(pairs, n, sizeof(IdRating), cmp_id_rating);
		for (i = 0; i < n; i++)
		{
			if (i > 0 && pairs[i].id == pairs[i - 1].id)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("movie %lld is rated twice", (long long) pairs[i].id),
						 errhint("Pass each movie once in movie_ids.")));
			id64[i] = pairs[i].id;
			v[i] = pairs[i].val;
		}
		pfree(pairs);
	}
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	u = MrServeUserFromArrays(m, n, id64, v);
	kind = score_for(m, u, NULL, 0, &add);
	exclude_known(m, u);
	emit_topk(fcinfo, m, kind, u, true, NULL, 0, k, add);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(movierec_explain);

/*
 * movierec.explain(user_id, movie_id, model, n): the n rated movies that
 * contribute most to the user's score of movie_id ("because you rated").
 * The user's factors are solved from the current ratings (one ALS user
 * step); the contributions add up to the user part of that fold-in score.
 */
Datum
movierec_explain(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MrServeModel *m;
	MrServeUser *u;
	int			n,
				d,
				i,
				cnt;
	int32		x;
	float	   *chol,
			   *contrib,
			   *wk;
	MrTopK		h;

	n = arg_k(fcinfo, 3, "n");
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		return (Datum) 0;
	m = arg_model(fcinfo, 2);
	x = known_movie(m, PG_GETARG_INT64(1));
	u = MrServeResolveUser(m, PG_GETARG_INT64(0), MR_NEED_VALUES);
	MrStatsNotePath(MrServePathName(u->path));
	if (m->ease != NULL)
	{
		contrib = palloc(sizeof(float) * (u->n_known + 1));
		if (!MrServeEaseExplain(m, u, x, contrib))
			return (Datum) 0;
		goto emit;
	}
	d = MrFoldInDim(&m->spec);
	if (m->popularity_only || d == 0 || u->n_known == 0)
		return (Datum) 0;
	chol = palloc(sizeof(float) * d * d);
	u->path = MR_PATH_FOLD_IN;
	MrServeFoldIn(m, u, chol);
	if (u->path != MR_PATH_FOLD_IN)
		return (Datum) 0;
	contrib = palloc(sizeof(float) * u->n_known);
	wk = palloc(sizeof(float) * MrFoldInWorkFloats(&m->spec, u->n_known));
	if (MrFoldInWeights(&m->spec, u->n_known, u->known_idx, u->known_vals,
						chol, x, wk, contrib) != 0)
		return (Datum) 0;
emit:
	/* known_idx is in movie_id order: heap ties go to the smaller movie_id */
	MrTopKReset(&h, n, top_score, top_index);
	MrTopKScan(&h, contrib, NULL, u->n_known);
	cnt = MrTopKSort(&h);
	for (i = 0; i < cnt; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = Int64GetDatum(m->item_ids[u->known_idx[top_index[i]]]);
		values[1] = Float4GetDatum(top_score[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MrStatsNoteRows(cnt);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(movierec_recommend_explain_path);

/*
 * movierec.recommend_explain_path(user_id, model): which path recommend()
 * takes for the user now ('model', 'fold_in', 'popularity') and why.
 */
Datum
movierec_recommend_explain_path(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	MrServeModel *m;
	MrServeUser *u;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	m = arg_model(fcinfo, 1);
	/* resolve as recommend() does (with the rated movies, for exclusion) */
	u = MrServeResolveUser(m, PG_GETARG_INT64(0), MR_NEED_IDS);
	values[0] = CStringGetTextDatum(MrServePathName(u->path));
	values[1] = CStringGetTextDatum(u->reason);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
