/*
 * evaluate.c: movierec.evaluate(model_id, test, k, relevant_min, columns).
 *
 * Design.  The model comes from MrModelLoad (factors sorted by id); the
 * test set and the model's training source are read through SPI cursors
 * in batches, as (user, movie, rating) with the names quoted.  Error
 * metrics use every test rating: prediction = global mean + user bias +
 * movie bias + p.q, each term present only when the model knows that user
 * or movie, clipped to the model's rating scale.
 *
 * Ranking: the users with at least one relevant test item (rating >=
 * relevant_min) are scored in blocks with one sgemm per block
 * (eval_metrics.c); every movie the model knows (= seen in training) is a
 * candidate except those the user rated in the training source.  The
 * ranking score is the unclipped p.q + movie bias (the global mean and
 * user bias do not change a user's order), except for popularity models,
 * which rank by training rating count: that is the score that reproduces
 * the reference popularity figures.  Unknown users rank with zero
 * factors, i.e. by movie bias.
 *
 * The training source must be the data the model was trained on; the
 * number of rows read is compared to models.n_ratings and a mismatch is
 * an error.  The result is returned and merged into models.metrics in the
 * caller's transaction: top-level keys hold the latest evaluation and
 * metrics->'evaluations'->'<test>@<k>' keeps one entry per test set and k.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "access/xact.h"

#include "ease.h"
#include "eval_metrics.h"
#include "evaluate.h"
#include "model_store.h"
#include "movierec.h"
#include "serve_kernels.h"

/* Rows fetched from a cursor at a time. */
#define FETCH_ROWS 10000
/* Upper bound on floats in one block of user scores (16 MB). */
#define SCORE_BLOCK_FLOATS (4 * 1024 * 1024)

typedef struct TestRow
{
	int64		user_id;
	int64		movie_id;
	float		rating;
} TestRow;

typedef struct TrainPair
{
	int32		slot;			/* ranked user */
	int32		item;			/* model item index */
	float		rating;			/* training rating (EASE's x_u) */
} TrainPair;

/* Allocate a possibly huge zeroed array in the evaluation context. */
static void *
big_alloc(MemoryContext cxt, Size n, Size elem)
{
	return MemoryContextAllocExtended(cxt, mul_size(Max(n, 1), elem),
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/* Schema-qualified, quoted name of a relation, or an error if it is gone. */
static char *
relation_sql_name(Oid relid)
{
	char	   *rel = get_rel_name(relid);

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid),
				 errhint("Pass an existing table or view.")));
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), rel);
}

/*
 * Check that relation relid has column col of an integer type (ids) or a
 * numeric type (ratings); what names the role in messages.
 */
static void
check_column(Oid relid, const char *relname, const char *col, bool rating,
			 const char *hint)
{
	AttrNumber	att = get_attnum(relid, col);
	Oid			typ;

	if (att == InvalidAttrNumber || att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation %s does not exist", col, relname),
				 errhint("%s", hint)));
	typ = get_atttype(relid, att);
	if (typ == INT2OID || typ == INT4OID || typ == INT8OID)
		return;
	if (rating && (typ == FLOAT4OID || typ == FLOAT8OID || typ == NUMERICOID))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("column \"%s\" of relation %s has type %s", col, relname,
					format_type_be(typ)),
			 errhint(rating ? "The rating column must be numeric (smallint, integer, bigint, real, double precision or numeric)."
					 : "Id columns must be smallint, integer or bigint.")));
}

/* Open a read-only cursor over sql (no parameters). */
static Portal
open_cursor(const char *sql)
{
	Portal		p = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL,
											  true, CURSOR_OPT_NO_SCROLL);

	if (p == NULL)
		elog(ERROR, "could not open cursor: %s", sql);
	return p;
}

/* Read the test set; errors on NULL or NaN, and on an empty set. */
static TestRow *
read_test(MemoryContext cxt, const char *relname, const char *ucol,
		  const char *icol, const char *rcol, int64 *n_out)
{
	char	   *sql = psprintf("SELECT %s::int8, %s::int8, %s::float8 FROM %s",
							   quote_identifier(ucol), quote_identifier(icol),
							   quote_identifier(rcol), relname);
	Portal		portal = open_cursor(sql);
	int64		cap = FETCH_ROWS,
				n = 0;
	TestRow    *rows = big_alloc(cxt, cap, sizeof(TestRow));

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		if (n + (int64) SPI_processed > cap)
		{
			int64		newcap = Max(cap * 2, n + (int64) SPI_processed);

			rows = repalloc_huge(rows, mul_size(newcap, sizeof(TestRow)));
			cap = newcap;
		}
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		nu,
						ni,
						nr;
			Datum		u = SPI_getbinval(tup, desc, 1, &nu);
			Datum		i = SPI_getbinval(tup, desc, 2, &ni);
			Datum		v = SPI_getbinval(tup, desc, 3, &nr);
			double		rating;

			if (nu || ni || nr)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("test set %s has a NULL in column \"%s\"", relname,
								nu ? ucol : ni ? icol : rcol),
						 errhint("Filter out incomplete rows, e.g. with a view.")));
			rating = DatumGetFloat8(v);
			if (isnan(rating) || isinf(rating))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("test set %s has a non-finite rating for user %lld, movie %lld",
								relname, (long long) DatumGetInt64(u),
								(long long) DatumGetInt64(i)),
						 errhint("Remove NaN and infinite ratings from the test set.")));
			rows[n].user_id = DatumGetInt64(u);
			rows[n].movie_id = DatumGetInt64(i);
			rows[n].rating = (float) rating;
			n++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("test set %s is empty", relname),
				 errhint("Evaluate on a relation with at least one rating, e.g. one made by movierec.split().")));
	*n_out = n;
	return rows;
}

/* qsort order of test rows: user, then movie. */
static int
test_row_cmp(const void *a, const void *b)
{
	const TestRow *x = a,
			   *y = b;

	if (x->user_id != y->user_id)
		return x->user_id < y->user_id ? -1 : 1;
	if (x->movie_id != y->movie_id)
		return x->movie_id < y->movie_id ? -1 : 1;
	return 0;
}

/* qsort order of training pairs: ranked user slot, then item. */
static int
pair_cmp(const void *a, const void *b)
{
	const TrainPair *x = a,
			   *y = b;

	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	return 0;
}

/*
 * Read the model's training source and collect, for each ranked user, the
 * model item indexes they rated in training.  Returns pairs sorted by
 * (slot, item) and checks the row count against models.n_ratings.
 */
static TrainPair *
read_training(MemoryContext cxt, int64 model_id, const MrModel *m,
			  const int64 *ranked, int32 n_ranked, int64 *n_pairs_out)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(model_id)};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	char	   *source,
			   *ucol,
			   *icol,
			   *rcol,
			   *relname,
			   *sql,
			   *hint;
	int64		n_ratings,
				n_rows = 0,
				n_pairs = 0,
				cap = FETCH_ROWS;
	Oid			relid;
	Portal		portal;
	TrainPair  *pairs;

	if (SPI_execute_with_args("SELECT source, user_col::text, item_col::text, rating_col::text, "
							  "n_ratings, to_regclass(source)::oid "
							  "FROM movierec.models WHERE model_id = $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the source of model %lld", (long long) model_id);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	source = SPI_getvalue(tup, desc, 1);
	ucol = SPI_getvalue(tup, desc, 2);
	icol = SPI_getvalue(tup, desc, 3);
	rcol = SPI_getvalue(tup, desc, 4);
	n_ratings = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
	relid = DatumGetObjectId(SPI_getbinval(tup, desc, 6, &isnull));
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("training source \"%s\" of model %lld does not exist",
						source, (long long) model_id),
				 errdetail("Ranking excludes the movies each user rated in training, so it needs the training data."),
				 errhint("Restore the training relation or retrain the model.")));
	relname = relation_sql_name(relid);
	hint = psprintf("The training source of model %lld changed; retrain the model.",
					(long long) model_id);
	check_column(relid, relname, ucol, false, hint);
	check_column(relid, relname, icol, false, hint);
	check_column(relid, relname, rcol, true, hint);

	sql = psprintf("SELECT %s::int8, %s::int8, %s::float4 FROM %s "
				   "WHERE %s IS NOT NULL AND %s IS NOT NULL AND %s IS NOT NULL",
				   quote_identifier(ucol), quote_identifier(icol), quote_identifier(rcol), relname,
				   quote_identifier(ucol), quote_identifier(icol), quote_identifier(rcol));
	portal = open_cursor(sql);
	pairs = big_alloc(cxt, cap, sizeof(TrainPair));
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		n1,
						n2;
			int64		u = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
														SPI_tuptable->tupdesc, 1, &n1));
			int64		i = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
														SPI_tuptable->tupdesc, 2, &n2));
			int32		slot = MrFindId(ranked, n_ranked, u);
			int32		item;

			n_rows++;
			if (slot < 0)
				continue;
			item = MrModelItemIndex(m, i);
			if (item < 0)
				continue;
			if (n_pairs == cap)
			{
				cap *= 2;
				pairs = repalloc_huge(pairs, mul_size(cap, sizeof(TrainPair)));
			}
			pairs[n_pairs].slot = slot;
			pairs[n_pairs].item = item;
			pairs[n_pairs].rating = DatumGetFloat4(SPI_getbinval(SPI_tuptable->vals[r],
																 SPI_tuptable->tupdesc, 3, &n2));
			n_pairs++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	if (n_rows != n_ratings)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("training source %s of model %lld has changed since training",
						relname, (long long) model_id),
				 errdetail("The model was trained on %lld ratings; the source now has %lld.",
						   (long long) n_ratings, (long long) n_rows),
				 errhint("Evaluate against the data the model was trained on, or retrain the model.")));
	qsort(pairs, n_pairs, sizeof(TrainPair), pair_cmp);
	*n_pairs_out = n_pairs;
	return pairs;
}

/*
 * EASE scores of ranked users b0 .. b0 + bn - 1 into S (bn x n_items):
 * x_u from their training pairs (sorted by item, i.e. movie_id), scored
 * by the same code as serving (serve_ease.c).  A user with no training
 * rating of a movie in B gets the popularity ranking instead, as in
 * recommend(); here, as for popularity models, by training count.
 */
static void
ease_score_block(MrEaseTable *t, const TrainPair *pairs, const int64 *ex_ptr,
				 int32 b0, int bn, const int32 *item_count, float *S)
{
	int32	   *idx = palloc(sizeof(int32) * Max(t->n_items, 1));
	float	   *vals = palloc(sizeof(float) * Max(t->n_items, 1));

	for (int j = 0; j < bn; j++)
	{
		int64		p0 = ex_ptr[b0 + j],
					p1 = ex_ptr[b0 + j + 1];
		int32		n = 0;

		for (int64 q = p0; q < p1; q++)
		{
			if (n > 0 && idx[n - 1] == pairs[q].item)
				continue;		/* a duplicate training row counts once */
			idx[n] = pairs[q].item;
			vals[n] = pairs[q].rating;
			n++;
		}
		if (MrEaseSetUser(t, n, idx, vals) > 0)
			MrEaseScoreAll(t, S + (size_t) j * t->n_items);
		else
			for (int32 i = 0; i < t->n_items; i++)
				S[(size_t) j * t->n_items + i] = (float) item_count[i];
	}
	pfree(idx);
	pfree(vals);
}

/* Append "key": value (a finite number, or null) to a JSON object. */
static void
json_num(StringInfo buf, const char *key, double v, bool valid)
{
	if (buf->len > 1)
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	if (valid && isfinite(v))
		appendStringInfo(buf, ": %.10g", v);
	else
		appendStringInfoString(buf, ": null");
}

PG_FUNCTION_INFO_V1(movierec_evaluate);

/*
 * movierec.evaluate(model_id, test, k, relevant_min, user_col, item_col,
 * rating_col) RETURNS jsonb.
 */
Datum
movierec_evaluate(PG_FUNCTION_ARGS)
{
	int64		model_id = PG_GETARG_INT64(0);
	Oid			test_oid = PG_GETARG_OID(1);
	int32		k = PG_GETARG_INT32(2);
	float4		relevant_min = PG_GETARG_FLOAT4(3);
	char	   *ucol = NameStr(*PG_GETARG_NAME(4));
	char	   *icol = NameStr(*PG_GETARG_NAME(5));
	char	   *rcol = NameStr(*PG_GETARG_NAME(6));
	MemoryContext cxt,
				old;
	MrModel    *m;
	char	   *test_name,
			   *key;
	TestRow    *rows;
	int64		n_test,
				unknown_users = 0,
				unknown_movies = 0,
				n_pairs = 0;
	double		se = 0.0,
				ae = 0.0,
				sum_p = 0.0,
				sum_r = 0.0,
				sum_n = 0.0,
				sum_ap = 0.0;
	int32		n_ranked = 0,
				n_covered = 0;
	int64	   *ranked;
	int64	   *rel_ptr;
	int32	   *rel_items;
	int32	   *rel_total;
	TrainPair  *pairs;
	int64	   *ex_ptr;
	int32	   *ex_items;
	bool		is_pop;
	MrEaseTable *ease = NULL;
	StringInfoData buf;
	Datum		result;
	const char *hint_cols = "Name the test set's columns with user_col, item_col and rating_col.";

	if (k <= 0 || k > MR_EVAL_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d, not %d", MR_EVAL_MAX_K, k),
				 errhint("Pass the length of the recommendation lists to score, e.g. k => 10.")));
	if (isnan(relevant_min) || isinf(relevant_min))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relevant_min must be a finite rating"),
				 errhint("Pass the smallest rating that counts as relevant, e.g. relevant_min => 4.")));

	MrEnsureBlas();
	cxt = AllocSetContextCreate(CurrentMemoryContext, "movierec evaluate",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	test_name = relation_sql_name(test_oid);
	check_column(test_oid, test_name, ucol, false, hint_cols);
	check_column(test_oid, test_name, icol, false, hint_cols);
	check_column(test_oid, test_name, rcol, true, hint_cols);

	/*
	 * A volatile function sees what earlier parts of the same statement
	 * wrote, e.g. evaluate(train(...), ...): read with a fresh snapshot.
	 */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());

	m = MrModelLoad(model_id, true);
	is_pop = strcmp(m->algorithm, "popularity") == 0;
	if (strcmp(m->algorithm, "ease") == 0)
		ease = MrEaseLoad(model_id, m->item_ids, m->n_items, cxt);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rows = read_test(cxt, test_name, ucol, icol, rcol, &n_test);

	/* error metrics over every test rating */
	for (int64 r = 0; r < n_test; r++)
	{
		int32		u = MrModelUserIndex(m, rows[r].user_id);
		int32		i = MrModelItemIndex(m, rows[r].movie_id);
		double		pred = m->global_mean;
		float		clipped;

		if (u >= 0)
			pred += m->user_bias[u];
		else
			unknown_users++;
		if (i >= 0)
			pred += m->item_bias[i];
		else
			unknown_movies++;
		if (u >= 0 && i >= 0 && m->k > 0)
		{
			const float *p = m->P + (size_t) u * m->k;
			const float *q = m->Q + (size_t) i * m->k;

			for (int f = 0; f < m->k; f++)
				pred += (double) p[f] * q[f];
		}
		clipped = MrClipRating(pred, m->rating_min, m->rating_max);
		se += ((double) clipped - rows[r].rating) * ((double) clipped - rows[r].rating);
		ae += fabs((double) clipped - rows[r].rating);
	}

	/* users with relevant items, and their relevant model items */
	qsort(rows, n_test, sizeof(TestRow), test_row_cmp);
	ranked = big_alloc(cxt, n_test, sizeof(int64));
	rel_ptr = big_alloc(cxt, n_test + 1, sizeof(int64));
	rel_items = big_alloc(cxt, n_test, sizeof(int32));
	rel_total = big_alloc(cxt, n_test, sizeof(int32));
	{
		int64		r = 0,
					nrel = 0;

		while (r < n_test)
		{
			int64		end = r;
			int32		total = 0;
			int64		start_rel = nrel;

			while (end < n_test && rows[end].user_id == rows[r].user_id)
				end++;
			for (int64 j = r; j < end; j++)
			{
				int32		i;

				if (rows[j].rating < relevant_min)
					continue;
				if (j > r && rows[j - 1].movie_id == rows[j].movie_id &&
					rows[j - 1].rating >= relevant_min)
					continue;	/* duplicate test row */
				total++;
				i = MrModelItemIndex(m, rows[j].movie_id);
				if (i >= 0)
					rel_items[nrel++] = i;	/* ascending: ids are sorted */
			}
			if (total > 0)
			{
				ranked[n_ranked] = rows[r].user_id;
				rel_ptr[n_ranked] = start_rel;
				rel_total[n_ranked] = total;
				n_ranked++;
			}
			r = end;
		}
		rel_ptr[n_ranked] = nrel;
	}

	if (n_ranked > 0)
	{
		int			nb = (int) Max(1, Min(256, SCORE_BLOCK_FLOATS / Max(m->n_items, 1)));
		float	   *add = big_alloc(cxt, m->n_items, sizeof(float));
		float	   *Pb = big_alloc(cxt, (Size) nb * Max(m->k, 1), sizeof(float));
		bool	   *covered = big_alloc(cxt, m->n_items, sizeof(bool));
		float	   *hs = palloc(sizeof(float) * (Size) nb * k);
		int32	   *top = palloc(sizeof(int32) * (Size) nb * k);
		int32	   *n_tops = palloc(sizeof(int32) * nb);
		/* factor models rank with recommend()'s exact scan (see below) */
		bool		scan = (ease == NULL && !is_pop && m->k > 0 && m->k <= MR_SERVE_SCAN_MAX_K);
		MrPacked	pk;
		void	   *scan_mem = NULL;
		float	   *S = scan ? NULL : big_alloc(cxt, (Size) nb * m->n_items, sizeof(float));

		pairs = read_training(cxt, model_id, m, ranked, n_ranked, &n_pairs);
		ex_ptr = big_alloc(cxt, n_ranked + 1, sizeof(int64));
		ex_items = big_alloc(cxt, n_pairs, sizeof(int32));
		for (int64 j = 0; j < n_pairs; j++)
		{
			ex_items[j] = pairs[j].item;
			ex_ptr[pairs[j].slot + 1]++;
		}
		for (int32 s = 0; s < n_ranked; s++)
			ex_ptr[s + 1] += ex_ptr[s];

		for (int32 i = 0; i < m->n_items; i++)
			add[i] = is_pop ? (float) m->item_count[i] : m->item_bias[i];
		if (scan)
		{
			char	   *raw = big_alloc(cxt, MrPackedBytes(m->n_items, m->k) + 64, 1);

			MrPackItems(m->Q, m->n_items, m->k, (void *) TYPEALIGN(64, raw), &pk);
			scan_mem = big_alloc(cxt, MrTopKExactUsersBytes(m->n_items, mr_blas_threads), 1);
		}

		for (int32 b0 = 0; b0 < n_ranked; b0 += nb)
		{
			int			bn = Min(nb, n_ranked - b0);

			CHECK_FOR_INTERRUPTS();
			if (ease != NULL)
				ease_score_block(ease, pairs, ex_ptr, b0, bn, m->item_count, S);
			else if (m->k > 0 && !is_pop)
			{
				for (int j = 0; j < bn; j++)
				{
					int32		u = MrModelUserIndex(m, ranked[b0 + j]);

					if (u >= 0)
						memcpy(Pb + (size_t) j * m->k, m->P + (size_t) u * m->k,
							   sizeof(float) * m->k);
					else
						memset(Pb + (size_t) j * m->k, 0, sizeof(float) * m->k);
				}
				if (scan)
				{
					/*
					 * The exact top k of b_i + q_i . p_u, as recommend()
					 * ranks (int8 pass and exact rescoring, the variant in
					 * use; serve_scan_batch.c), training movies excluded.
					 */
					MrScanUsers in = {&pk, m->Q, m->item_bias, Pb, ex_ptr + b0, ex_items, k,
					n_tops, top, hs};

					MrTopKExactUsers(&in, bn, mr_blas_threads, scan_mem, NULL);
				}
				else
					MrScoreBlock(Pb, bn, m->Q, m->n_items, m->k, add, S);
			}
			else
				MrScoreBlock(NULL, bn, NULL, m->n_items, 0, add, S);

			for (int j = 0; j < bn; j++)
			{
				int32		s = b0 + j;
				int32	   *tj = top + (size_t) j * k;
				MrRankStats st;

				if (!scan)
					n_tops[j] = MrRankTopK(S + (size_t) j * m->n_items, m->n_items,
										   ex_items + ex_ptr[s], ex_ptr[s + 1] - ex_ptr[s],
										   k, hs + (size_t) j * k, tj);
				MrRankMetrics(tj, n_tops[j], k, rel_items + rel_ptr[s],
							  (int) (rel_ptr[s + 1] - rel_ptr[s]), rel_total[s], &st);
				sum_p += st.precision;
				sum_r += st.recall;
				sum_n += st.ndcg;
				sum_ap += st.ap;
				for (int t = 0; t < n_tops[j]; t++)
				{
					if (!covered[tj[t]])
					{
						covered[tj[t]] = true;
						n_covered++;
					}
				}
			}
		}
	}

	/* result */
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	json_num(&buf, "rmse", sqrt(se / n_test), true);
	json_num(&buf, "mae", ae / n_test, true);
	json_num(&buf, "precision_at_k", sum_p / Max(n_ranked, 1), n_ranked > 0);
	json_num(&buf, "recall_at_k", sum_r / Max(n_ranked, 1), n_ranked > 0);
	json_num(&buf, "ndcg_at_k", sum_n / Max(n_ranked, 1), n_ranked > 0);
	json_num(&buf, "map_at_k", sum_ap / Max(n_ranked, 1), n_ranked > 0);
	json_num(&buf, "coverage_at_k", (double) n_covered / Max(m->n_items, 1),
			 n_ranked > 0 && m->n_items > 0);
	json_num(&buf, "users", n_ranked, true);
	json_num(&buf, "k", k, true);
	json_num(&buf, "relevant_min", relevant_min, true);
	json_num(&buf, "n_test", (double) n_test, true);
	json_num(&buf, "unknown_users", (double) unknown_users, true);
	json_num(&buf, "unknown_movies", (double) unknown_movies, true);
	appendStringInfoString(&buf, ", \"test\": ");
	escape_json(&buf, test_name);
	appendStringInfoChar(&buf, '}');
	key = psprintf("%s@%d", test_name, k);

	MemoryContextSwitchTo(old);
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));

	{
		Oid			argtypes[3] = {INT8OID, JSONBOID, TEXTOID};
		Datum		args[3] = {Int64GetDatum(model_id), result, CStringGetTextDatum(key)};

		if (SPI_execute_with_args("UPDATE movierec.models SET metrics = metrics || $2 || "
								  "jsonb_build_object('evaluations', "
								  "coalesce(metrics->'evaluations', '{}') || "
								  "jsonb_build_object($3, $2 || jsonb_build_object('evaluated_at', now()))) "
								  "WHERE model_id = $1",
								  3, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not store the metrics of model %lld", (long long) model_id);
	}
	SPI_finish();
	PopActiveSnapshot();
	/* SPI_finish returned to cxt, the context current at SPI_connect */
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	PG_RETURN_DATUM(result);
}
