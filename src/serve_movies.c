/*
 * serve_movies.c: the SQL functions that show how a model serves its
 * movies: movierec.movie_explain_path (trained, folded in from its raters,
 * or unknown) and movierec.folded_movies (the movies folded in now, with
 * their factors).  The fold-in itself is serve_items.c's.
 */
#include "movierec.h"
#include "serve.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(movierec_movie_explain_path);

/*
 * movierec.movie_explain_path(movie_id, model): how the model serves the
 * movie now: 'model' (trained), 'fold_in' (solved from its raters) or
 * 'unknown', and why.
 */
Datum
movierec_movie_explain_path(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	MrServeModel *m;
	int64		id;
	int32		x;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	char		reason[256];
	const char *path;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	id = PG_GETARG_INT64(0);
	m = MrServeGetModel(PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1));
	x = MrServeItemIndex(m, id);
	if (x >= 0 && (m->is_folded == NULL || !m->is_folded[x]))
	{
		path = "model";
		snprintf(reason, sizeof(reason), "movie %lld is in model %lld (%d training ratings)",
				 (long long) id, (long long) m->model_id, m->n_ratings[x]);
	}
	else if (x >= 0)
	{
		path = "fold_in";
		snprintf(reason, sizeof(reason),
				 "movie %lld is not in model %lld; factors solved from %d ratings by users in the model",
				 (long long) id, (long long) m->model_id, m->n_ratings[x]);
	}
	else
	{
		path = "unknown";
		if (m->popularity_only)
			snprintf(reason, sizeof(reason), "movie %lld is not in popularity model %lld",
					 (long long) id, (long long) m->model_id);
		else if (mr_item_fold_in_min_ratings <= 0)
			snprintf(reason, sizeof(reason),
					 "movie %lld is not in model %lld and movierec.item_fold_in_min_ratings is 0 (off)",
					 (long long) id, (long long) m->model_id);
		else
			snprintf(reason, sizeof(reason),
					 "movie %lld is not in model %lld, and is not in movierec.movies or has fewer than %d ratings by users in the model",
					 (long long) id, (long long) m->model_id, mr_item_fold_in_min_ratings);
	}
	values[0] = CStringGetTextDatum(path);
	values[1] = CStringGetTextDatum(reason);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(movierec_folded_movies);

/*
 * movierec.folded_movies(model): the movies the model serves by item
 * fold-in, with the ratings they were solved from, bias and factors.
 */
Datum
movierec_folded_movies(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	MrServeModel *m;
	int32		i;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	m = MrServeGetModel(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0));
	if (m->is_folded == NULL)
		return (Datum) 0;
	for (i = 0; i < m->n_items; i++)
		if (m->is_folded[i])
		{
			Datum		values[4];
			bool		nulls[4] = {false, false, false, m->k == 0};

			values[0] = Int64GetDatum(m->item_ids[i]);
			values[1] = Int32GetDatum(m->n_ratings[i]);
			values[2] = Float4GetDatum(m->item_bias[i]);
			if (m->k > 0)
			{
				Datum	   *e = palloc(sizeof(Datum) * m->k);
				int			f;

				for (f = 0; f < m->k; f++)
					e[f] = Float4GetDatum(m->Q[(Size) i * m->k + f]);
				values[3] = PointerGetDatum(construct_array(e, m->k, FLOAT4OID, 4, true, TYPALIGN_INT));
			}
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	return (Datum) 0;
}
