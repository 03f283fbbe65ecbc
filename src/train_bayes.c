/*
 * train_bayes.c: the PostgreSQL side of the bayes algorithm
 * (src/kernels/kern_bayes.c).
 *
 * Design.  bayes has three params keys that are not numbers and so are
 * not in train_params.c's table:
 *
 *   implicit_source  a table or view (text, resolved like regclass) whose
 *                    (user, movie) pairs, read with the source's column
 *                    names, are added to the training ratings' own pairs
 *                    to form the implicit sets: "which movies did the user
 *                    rate" as the database knows it, e.g. the whole ratings
 *                    table when the training source is a split of it.
 *                    Users and movies the training source lacks are
 *                    skipped (the model has no row for them).  Default:
 *                    the training ratings only.
 *   foldin_regularization, foldin_reg_user_bias
 *                    written by train(): the ridge that fold-in
 *                    (serve_foldin.c) uses for a user of this model, the
 *                    posterior mean prior precision of the user factors
 *                    (mean over dimensions) and of the user bias, each
 *                    divided by the posterior mean noise precision.  Given
 *                    back to train() (retrain, the gate) they are ignored.
 *
 * The implicit pairs are read through SPI with a cursor under the read's
 * snapshot, mapped to the training source's dense ids by binary search,
 * merged with the training pairs, and deduplicated by sorting each user's
 * list; both orientations are built by counting sort.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "kern_bayes.h"
#include "train.h"

/* rows fetched per SPI batch */
#define MR_BAYES_BATCH 10000

/* Remove key from a jsonb object (no-op if absent). */
static Jsonb *
MrJsonbDelete(Jsonb *j, const char *key)
{
	return DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(j),
											  CStringGetTextDatum(key)));
}

/* Resolve a relation name, or raise undefined_table. */
static Oid
MrBayesResolve(const char *name)
{
	List	   *names = stringToQualifiedNameList(name);
	Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(names), AccessShareLock, true);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("implicit_source relation \"%s\" does not exist", name),
				 errhint("Name a table or view with the source's user and movie columns, e.g. \"public.ratings\", or leave implicit_source out.")));
	return relid;
}

/*
 * Take bayes's text keys out of the params (see the file comment);
 * returns the implicit source's qualified name, or NULL.
 */
char *
MrBayesTakeParams(Jsonb *given, Jsonb **rest, Oid *implicit_relid)
{
	JsonbValue	key;
	JsonbValue *v;
	char	   *name = NULL;

	*rest = given;
	*implicit_relid = InvalidOid;
	if (!JB_ROOT_IS_OBJECT(given) || JB_ROOT_IS_SCALAR(given))
		return NULL;			/* MrResolveParams reports it */
	*rest = MrJsonbDelete(MrJsonbDelete(given, "foldin_regularization"), "foldin_reg_user_bias");
	key.type = jbvString;
	key.val.string.val = "implicit_source";
	key.val.string.len = strlen("implicit_source");
	v = findJsonbValueFromContainer(&(*rest)->root, JB_FOBJECT, &key);
	if (v == NULL)
		return NULL;
	if (v->type != jbvString || v->val.string.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params key \"implicit_source\" must be a relation name"),
				 errhint("Pass e.g. {\"implicit_source\": \"public.ratings\"}: the table whose (user, movie) pairs form the implicit sets.")));
	name = pnstrdup(v->val.string.val, v->val.string.len);
	*implicit_relid = MrBayesResolve(name);
	*rest = MrJsonbDelete(*rest, "implicit_source");
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(*implicit_relid)),
									  get_rel_name(*implicit_relid));
}

/* Dense index of id in the sorted ids[0..n), or -1. */
static int32
MrBayesFind(const int64 *ids, int32 n, int64 id)
{
	int32		lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int32		m = lo + (hi - lo) / 2;

		if (ids[m] == id)
			return m;
		if (ids[m] < id)
			lo = m + 1;
		else
			hi = m - 1;
	}
	return -1;
}

/* qsort comparator of int32. */
static int
MrCmpInt32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a,
				y = *(const int32 *) b;

	return x < y ? -1 : x > y;
}

/*
 * Build the implicit pattern: the training pairs plus the pairs of relid
 * (when valid) that fall on known users and movies, deduplicated.
 * Runs under the caller's active snapshot.
 */
void
MrBayesReadImplicit(Oid relid, char *cols[3], const MrTrainData *data,
					MrTrainMem *mem, MrRatings *imp)
{
	const MrRatings *r = &data->r;
	int64		cap = r->nnz + 1024,
				n = 0,
				x;
	int32	   *pu = MrTrainAlloc(mem, sizeof(int32) * cap);
	int32	   *pi = MrTrainAlloc(mem, sizeof(int32) * cap);
	int64	   *pos;
	int32		a;

	/* the training pairs */
	for (a = 0; a < r->n_users; a++)
		for (x = r->user_ptr[a]; x < r->user_ptr[a + 1]; x++)
		{
			pu[n] = a;
			pi[n++] = r->user_items[x];
		}
	if (OidIsValid(relid))
	{
		char	   *sql = psprintf("SELECT %s::int8, %s::int8 FROM %s WHERE %s IS NOT NULL AND %s IS NOT NULL",
								   quote_identifier(cols[0]), quote_identifier(cols[1]),
								   quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
															  get_rel_name(relid)),
								   quote_identifier(cols[0]), quote_identifier(cols[1]));
		SPIPlanPtr	plan;
		Portal		portal;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		plan = SPI_prepare(sql, 0, NULL);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
		for (;;)
		{
			uint64		i;

			CHECK_FOR_INTERRUPTS();
			SPI_cursor_fetch(portal, true, MR_BAYES_BATCH);
			if (SPI_processed == 0)
				break;
			for (i = 0; i < SPI_processed; i++)
			{
				bool		n1,
							n2;
				int64		uid = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &n1));
				int64		iid = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &n2));
				int32		du = MrBayesFind(data->user_ids, r->n_users, uid),
							di = MrBayesFind(data->item_ids, r->n_items, iid);

				if (du < 0 || di < 0)
					continue;
				if (n == cap)
				{
					cap *= 2;
					pu = MrTrainRealloc(mem, pu, sizeof(int32) * cap);
					pi = MrTrainRealloc(mem, pi, sizeof(int32) * cap);
				}
				pu[n] = du;
				pi[n++] = di;
			}
			SPI_freetuptable(SPI_tuptable);
		}
		SPI_cursor_close(portal);
		SPI_finish();
	}

	/* by user (counting sort), each user's movies sorted and deduplicated */
	memset(imp, 0, sizeof(*imp));
	imp->n_users = r->n_users;
	imp->n_items = r->n_items;
	imp->user_ptr = MrTrainAlloc(mem, sizeof(int64) * ((Size) r->n_users + 1));
	imp->item_ptr = MrTrainAlloc(mem, sizeof(int64) * ((Size) r->n_items + 1));
	imp->user_items = MrTrainAlloc(mem, sizeof(int32) * (n + 1));
	pos = MrTrainAlloc(mem, sizeof(int64) * ((Size) Max(r->n_users, r->n_items) + 1));
	for (x = 0; x < n; x++)
		imp->user_ptr[pu[x] + 1]++;
	for (a = 0; a < r->n_users; a++)
		imp->user_ptr[a + 1] += imp->user_ptr[a];
	memcpy(pos, imp->user_ptr, sizeof(int64) * r->n_users);
	for (x = 0; x < n; x++)
		imp->user_items[pos[pu[x]]++] = pi[x];
	MrTrainFree(mem, pu);
	MrTrainFree(mem, pi);
	{
		int64		w = 0,
					start = 0;

		for (a = 0; a < r->n_users; a++)
		{
			int64		lo = start,
						hi = imp->user_ptr[a + 1];

			qsort(imp->user_items + lo, hi - lo, sizeof(int32), MrCmpInt32);
			start = hi;
			imp->user_ptr[a] = w;
			for (x = lo; x < hi; x++)
				if (x == lo || imp->user_items[x] != imp->user_items[x - 1])
					imp->user_items[w++] = imp->user_items[x];
		}
		imp->user_ptr[r->n_users] = w;
		imp->nnz = w;
	}
	/* by movie: scattering users in order leaves them ascending */
	imp->item_users = MrTrainAlloc(mem, sizeof(int32) * (imp->nnz + 1));
	for (x = 0; x < imp->nnz; x++)
		imp->item_ptr[imp->user_items[x] + 1]++;
	for (a = 0; a < r->n_items; a++)
		imp->item_ptr[a + 1] += imp->item_ptr[a];
	memcpy(pos, imp->item_ptr, sizeof(int64) * r->n_items);
	for (a = 0; a < r->n_users; a++)
		for (x = imp->user_ptr[a]; x < imp->user_ptr[a + 1]; x++)
			imp->item_users[pos[imp->user_items[x]]++] = a;
	MrTrainFree(mem, pos);
}

/* The stored params of a bayes model: the resolved keys plus the text keys. */
Jsonb *
MrBayesParamsOut(Jsonb *params, const char *implicit_source, const MrBayesStats *st)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"foldin_regularization\": %.6g, \"foldin_reg_user_bias\": %.6g",
					 st->foldin_reg, st->foldin_reg_bias);
	if (implicit_source != NULL)
	{
		appendStringInfoString(&buf, ", \"implicit_source\": ");
		escape_json(&buf, implicit_source);
	}
	appendStringInfoChar(&buf, '}');
	return DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(params),
											  DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data))));
}
