/*
 * serve_items.c: new movies served before retraining (item fold-in), and
 * the served item arrays of a cached model.
 *
 * Design.  A model knows the movies it was trained on.  A movie of the
 * catalogue (movierec.movies) that the model lacks, but that now has at
 * least movierec.item_fold_in_min_ratings ratings by users stored in the
 * model, is folded in: its factors and bias are solved from its raters'
 * stored factors exactly as one ALS movie step does (kern_als.c's mirror
 * image of the user step: features [p_u, 1], targets r - mu - b_u, factor
 * penalty reg n_i^0.4 for als, bias penalty reg_item_bias; for ials the
 * confidence-weighted step with the Gram of all user factors).  The solve
 * is serve_foldin.c's kernel with the roles swapped: "items" are the
 * raters, "item biases" their user biases.
 *
 * The cached model keeps the trained arrays (base_*) and serves merged
 * arrays: trained and folded movies together, sorted by movie_id, so that
 * every serving path (recommend and its int8 scan, predict, explain,
 * similar_movies, recommend_all, user fold-in, exclusion of rated movies)
 * treats a folded movie like a trained one, and ties still go to the
 * smaller movie_id.  The derived arrays (int8 panels, id table, norms,
 * Q^T Q, popularity) are rebuilt with them.
 *
 * Refresh.  The triggers on movierec.ratings (serve_changes.c) queue a
 * relcache invalidation of movierec.rating_changes_pkey when a statement
 * touches a movie of the catalogue that some factor model lacks.  PostgreSQL
 * delivers it to every backend at commit (to the writer at its next
 * command); the callback in serve_cache.c raises a generation counter, and
 * the next serving call of each cached model folds its new movies in again
 * (two queries: the catalogue ids, then the candidates' ratings joined to
 * the stored user factors).  So a rating of a new movie counts on the next
 * call of every session, while ratings of trained movies cost nothing here.
 */
#include "movierec.h"
#include "serve.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "blas.h"

int			mr_item_fold_in_min_ratings = 5;

/* bumped by the relcache callback when ratings of new movies change */
static volatile uint64 items_generation = 1;

/* numbers every build of a model's served arrays (serve_user.c's cache) */
static uint64 served_builds = 0;

/* Define the item fold-in setting. */
void
MrServeItemsInit(void)
{
	DefineCustomIntVariable("movierec.item_fold_in_min_ratings",
							"Ratings by users in the model a new movie needs to be folded in; 0 turns item fold-in off.",
							"A movie of movierec.movies that the model was not trained on gets factors solved from its raters.",
							&mr_item_fold_in_min_ratings,
							5, 0, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
}

/* Relcache callback hook (serve_cache.c): ratings of new movies changed. */
void
MrServeItemsStale(void)
{
	items_generation++;
}

/* One folded movie while it is being built. */
typedef struct Folded
{
	int64		id;
	int32		n;				/* ratings it was solved from */
	float		mean;
	float		bias;
	float	   *q;				/* k floats */
} Folded;

/* A fold-in spec for one movie: the model's user step, mirrored. */
static void
item_spec(const MrServeModel *m, MrFoldInSpec *s, const float *P, const float *pbias,
		  const float *ugram)
{
	*s = m->spec;
	s->k = m->k;
	s->reg_bias = m->reg_item_bias;
	s->Q = P;
	s->item_bias = pbias;
	s->gram = ugram;
}

/*
 * Solve the folded movies of m (SPI connected).  Returns the count; the
 * movies, ascending by id, go to *out (in cxt).
 */
static int32
solve_folded(MrServeModel *m, MemoryContext cxt, Folded **out)
{
	Oid			argtypes[2] = {INT8OID, INT8ARRAYOID};
	Datum		args[2];
	int			rc;
	uint64		i,
				n;
	int64	   *cand;
	int32		ncand = 0,
				nout = 0;
	int			k = m->k;
	int			d;
	float	   *P,
			   *pb,
			   *r,
			   *work,
			   *chol,
			   *ugram = NULL;
	int32	   *idx;
	Folded	   *f;
	MemoryContext old;

	*out = NULL;
	if (m->popularity_only || mr_item_fold_in_min_ratings <= 0)
		return 0;
	{
		MrFoldInSpec s0;

		item_spec(m, &s0, NULL, NULL, NULL);
		d = MrFoldInDim(&s0);	/* m->spec.k is not set yet on the first build */
	}
	if (d == 0)
		return 0;
	/* the catalogue: without SELECT on it there is nothing to fold in */
	if (pg_class_aclcheck(MrServeRelid(MR_REL_MOVIES), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return 0;

	rc = SPI_execute("SELECT movie_id FROM movierec.movies", true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
	n = SPI_processed;
	cand = palloc(sizeof(int64) * (n + 1));
	for (i = 0; i < n; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));

		if (MrFindId(m->base_ids, m->n_base, id) < 0)
			cand[ncand++] = id;
	}
	SPI_freetuptable(SPI_tuptable);
	if (ncand == 0)
		return 0;

	{
		Datum	   *ed = palloc(sizeof(Datum) * ncand);

		for (i = 0; i < (uint64) ncand; i++)
			ed[i] = Int64GetDatum(cand[i]);
		args[0] = Int64GetDatum(m->model_id);
		args[1] = PointerGetDatum(construct_array(ed, ncand, INT8OID, 8, FLOAT8PASSBYVAL,
												  TYPALIGN_DOUBLE));
	}
	if (m->spec.implicit && k > 0)
	{
		/* Y^T Y over every user of the model, as the ials movie step uses */
		uint64		nu,
					u;
		float	   *Pu;

		rc = SPI_execute_with_args("SELECT factors FROM movierec.user_factors WHERE model_id = $1",
								   1, argtypes, args, NULL, true, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
		nu = SPI_processed;
		Pu = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(Max(nu, 1), sizeof(float) * k));
		for (u = 0; u < nu; u++)
		{
			bool		isnull;
			Datum		dd = SPI_getbinval(SPI_tuptable->vals[u], SPI_tuptable->tupdesc, 1, &isnull);
			ArrayType  *a = isnull ? NULL : DatumGetArrayTypeP(dd);

			if (a && ARR_ELEMTYPE(a) == FLOAT4OID && !ARR_HASNULL(a) &&
				ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) == k)
				memcpy(Pu + u * k, ARR_DATA_PTR(a), sizeof(float) * k);
			else
				memset(Pu + u * k, 0, sizeof(float) * k);
		}
		SPI_freetuptable(SPI_tuptable);
		ugram = palloc(sizeof(float) * k * k);
		mr_blas.ssyrk(MrRowMajor, MrLower, MrTrans, k, (int) nu, 1.0f, Pu, k, 0.0f, ugram, k);
		for (u = 0; u < (uint64) k; u++)
		{
			int			j;

			for (j = u + 1; j < k; j++)
				ugram[u * k + j] = ugram[j * k + u];
		}
		pfree(Pu);
	}

	rc = SPI_execute_with_args("SELECT r.movie_id, r.rating, uf.bias, uf.factors "
							   "FROM movierec.ratings r JOIN movierec.user_factors uf "
							   "ON uf.model_id = $1 AND uf.user_id = r.user_id "
							   "WHERE r.movie_id = ANY ($2) ORDER BY r.movie_id, r.user_id",
							   2, argtypes, args, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	n = SPI_processed;
	if (n == 0)
		return 0;


	P = MemoryContextAllocHuge(CurrentMemoryContext, mul_size(n, sizeof(float) * Max(k, 1)));
	pb = palloc(sizeof(float) * n);
	r = palloc(sizeof(float) * n);
	idx = palloc(sizeof(int32) * n);
	chol = palloc(sizeof(float) * d * d);
	old = MemoryContextSwitchTo(cxt);
	f = palloc(sizeof(Folded) * ncand);
	MemoryContextSwitchTo(old);
	work = NULL;

	for (i = 0; i < n;)
	{
		uint64		j = i,
					t;
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		int32		cnt = 0;
		double		sum = 0;

		CHECK_FOR_INTERRUPTS();
		while (j < n && DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[j], SPI_tuptable->tupdesc, 1, &isnull)) == id)
		{
			HeapTuple	tup = SPI_tuptable->vals[j];
			TupleDesc	td = SPI_tuptable->tupdesc;
			Datum		fd;
			ArrayType  *a;

			r[cnt] = DatumGetFloat4(SPI_getbinval(tup, td, 2, &isnull));
			pb[cnt] = DatumGetFloat4(SPI_getbinval(tup, td, 3, &isnull));
			if (k > 0)
			{
				fd = SPI_getbinval(tup, td, 4, &isnull);
				a = isnull ? NULL : DatumGetArrayTypeP(fd);
				if (a == NULL || ARR_ELEMTYPE(a) != FLOAT4OID || ARR_HASNULL(a) ||
					ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) != k)
				{
					j++;
					continue;	/* a corrupt row: the user path reports it */
				}
				memcpy(P + (Size) cnt * k, ARR_DATA_PTR(a), sizeof(float) * k);
			}
			idx[cnt] = cnt;
			sum += r[cnt];
			cnt++;
			j++;
		}
		i = j;
		if (cnt < mr_item_fold_in_min_ratings)
			continue;
		{
			MrFoldInSpec s;
			float		b;
			float	   *q;

			item_spec(m, &s, P, pb, ugram);
			work = work ? repalloc_huge(work, sizeof(float) * MrFoldInWorkFloats(&s, cnt))
				: MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * MrFoldInWorkFloats(&s, cnt));
			q = MemoryContextAllocZero(cxt, sizeof(float) * Max(k, 1));
			if (MrFoldInSolve(&s, cnt, idx, r, work, chol, k > 0 ? q : NULL, &b) != 0)
				continue;
			for (t = 0; t < (uint64) k; t++)
				if (!isfinite(q[t]))
					break;
			if (t < (uint64) k || !isfinite(b))
				continue;
			f[nout].id = id;
			f[nout].n = cnt;
			f[nout].mean = (float) (sum / cnt);
			f[nout].bias = b;
			f[nout].q = q;
			nout++;
		}
	}
	*out = f;
	return nout;
}

/* Merge the trained and folded movies into m's served arrays (in cxt). */
static void
build_served(MrServeModel *m, MemoryContext cxt, Folded *f, int32 nf)
{
	MemoryContext old;
	int32		n,
				a,
				b,
				w;
	int			k = m->k;

	n = m->n_base + nf;
	m->n_folded = nf;
	if (nf == 0)
	{
		m->item_ids = m->base_ids;
		m->item_bias = m->base_bias;
		m->Q = m->base_Q;
		m->norm = m->base_norm;
		m->n_ratings = m->base_n_ratings;
		m->mean_rating = m->base_mean;
		m->is_folded = NULL;
	}
	else
	{
		m->item_ids = MemoryContextAllocHuge(cxt, sizeof(int64) * n);
		m->item_bias = MrServeAllocFloats(cxt, n);
		m->norm = MrServeAllocFloats(cxt, n);
		m->mean_rating = MrServeAllocFloats(cxt, n);
		m->n_ratings = MemoryContextAllocHuge(cxt, sizeof(int32) * n);
		m->is_folded = MemoryContextAllocZero(cxt, sizeof(bool) * n);
		m->Q = k > 0 ? MrServeAllocFloats(cxt, mul_size(n, k)) : NULL;
		for (a = 0, b = 0, w = 0; w < n; w++)
		{
			bool		take_base = b >= nf || (a < m->n_base && m->base_ids[a] < f[b].id);

			if (take_base)
			{
				m->item_ids[w] = m->base_ids[a];
				m->item_bias[w] = m->base_bias[a];
				m->norm[w] = m->base_norm[a];
				m->mean_rating[w] = m->base_mean[a];
				m->n_ratings[w] = m->base_n_ratings[a];
				if (k > 0)
					memcpy(m->Q + (Size) w * k, m->base_Q + (Size) a * k, sizeof(float) * k);
				a++;
			}
			else
			{
				double		ss = 0;
				int			t;

				m->item_ids[w] = f[b].id;
				m->item_bias[w] = f[b].bias;
				m->mean_rating[w] = f[b].mean;
				m->n_ratings[w] = f[b].n;
				m->is_folded[w] = true;
				for (t = 0; t < k; t++)
					ss += (double) f[b].q[t] * f[b].q[t];
				m->norm[w] = (float) sqrt(ss);
				if (k > 0)
					memcpy(m->Q + (Size) w * k, f[b].q, sizeof(float) * k);
				b++;
			}
		}
	}
	m->n_items = n;
	old = MemoryContextSwitchTo(cxt);
	MrServeDerive(m, cxt);
	MemoryContextSwitchTo(old);
}

/*
 * Build the served arrays of m from its trained arrays and the folded
 * movies (a fresh context; the previous one is freed only on success),
 * then the derived arrays.
 */
void
MrServeItemsBuild(MrServeModel *m)
{
	MemoryContext cxt = AllocSetContextCreate(m->cxt, "movierec served items",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext scratch = AllocSetContextCreate(CurrentMemoryContext, "movierec item fold-in",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	Folded	   *f = NULL;
	int32		nf = 0;
	bool		unchanged = false;
	MrServeModel next = *m;		/* built aside: m stays whole if this fails */

	PG_TRY();
	{
		old = MemoryContextSwitchTo(scratch);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		nf = solve_folded(m, cxt, &f);
		SPI_finish();
		MemoryContextSwitchTo(old);

		/* nothing folded before or now: the served arrays stand */
		unchanged = (nf == 0 && m->n_folded == 0 && m->served_cxt != NULL);
		if (!unchanged)
			build_served(&next, cxt, f, nf);
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		MemoryContextDelete(scratch);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (unchanged)
	{
		MemoryContextDelete(cxt);
		MemoryContextDelete(scratch);
		m->items_gen = items_generation;
		m->items_min = mr_item_fold_in_min_ratings;
		return;
	}

	MemoryContextDelete(scratch);
	*m = next;
	if (m->served_cxt)
		MemoryContextDelete(m->served_cxt);
	m->served_cxt = cxt;
	m->items_gen = items_generation;
	m->items_min = mr_item_fold_in_min_ratings;
	m->served_version = ++served_builds;
}

/* Fold new movies in again if their ratings or the setting changed. */
void
MrServeItemsCheck(MrServeModel *m)
{
	if (m->items_gen != items_generation || m->items_min != mr_item_fold_in_min_ratings)
		MrServeItemsBuild(m);
}
