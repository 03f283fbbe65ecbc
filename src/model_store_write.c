/*
 * model_store_write.c: write a trained model: one movierec.models row and
 * its user_factors and item_factors rows.
 *
 * Design.  The models row goes through SPI (one INSERT, so defaults,
 * constraints and the model_id sequence apply as usual).  Its version is
 * one more than the highest version of the same name, computed under a
 * transaction-scoped advisory lock on the name so that two runs of the
 * same name never pick the same version.  The factor rows, up to hundreds
 * of thousands, are written the way COPY writes: tuples built from the
 * arrays in batches of MR_WRITE_BATCH, heap multi-insert, then each
 * index updated and the table's CHECK and NOT NULL constraints checked.
 * Row triggers on the factor tables are not fired (their foreign key to
 * models holds by construction).  Everything happens in the caller's
 * transaction: the model is visible only once it commits, and an error
 * or a cancel leaves no trace.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "train.h"

#define MR_WRITE_BATCH	1000
/* Column positions of one factor table, found by name. */
typedef struct MrFactorCols
{
	AttrNumber	model_id;
	AttrNumber	id;
	AttrNumber	bias;
	AttrNumber	factors;
	AttrNumber	n_ratings;
	AttrNumber	mean_rating;	/* items only */
} MrFactorCols;

/* Insert the models row and return its model_id. */
static int64
MrInsertModelRow(const MrModelRow *row, const MrTrainData *data,
				 const MrFactors *f)
{
	Oid			types[17] = {
		TEXTOID, TEXTOID, JSONBOID, TEXTOID, NAMEOID, NAMEOID, NAMEOID,
		INT8OID, INT8OID, INT8OID, INT4OID, FLOAT4OID, FLOAT4OID, FLOAT4OID,
		FLOAT8OID, INT8OID, FLOAT8OID
	};
	Oid			locktypes[2] = {INT4OID, TEXTOID};
	Datum		values[17];
	char		nulls[17];
	bool		isnull;
	int64		model_id;
	Datum		name = CStringGetTextDatum(row->model_name);
	NameData	cols[3];

	memset(nulls, ' ', sizeof(nulls));
	namestrcpy(&cols[0], row->user_col);
	namestrcpy(&cols[1], row->item_col);
	namestrcpy(&cols[2], row->rating_col);

	/* serialize versions of one name until commit */
	values[0] = Int32GetDatum(MR_VERSION_LOCK_KEY);
	values[1] = name;
	if (SPI_execute_with_args("SELECT pg_catalog.pg_advisory_xact_lock($1, pg_catalog.hashtext($2))",
							  2, locktypes, values, NULL,
							  false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not lock model name \"%s\"", row->model_name);

	values[0] = name;
	values[1] = CStringGetTextDatum(row->algorithm);
	values[2] = JsonbPGetDatum(row->params);
	values[3] = CStringGetTextDatum(row->source);
	values[4] = NameGetDatum(&cols[0]);
	values[5] = NameGetDatum(&cols[1]);
	values[6] = NameGetDatum(&cols[2]);
	values[7] = Int64GetDatum(data->r.n_users);
	values[8] = Int64GetDatum(data->r.n_items);
	values[9] = Int64GetDatum(data->r.nnz);
	values[10] = Int32GetDatum(f->k);
	values[11] = Float4GetDatum(f->global_mean);
	values[12] = Float4GetDatum(data->rating_min);
	values[13] = Float4GetDatum(data->rating_max);
	values[14] = Float8GetDatum(row->train_seconds);
	values[15] = Int64GetDatum(row->peak_memory_bytes);
	values[16] = Float8GetDatum(row->read_seconds);
	if (SPI_execute_with_args("INSERT INTO movierec.models (model_name, version, algorithm, params, source, "
							  "user_col, item_col, rating_col, n_users, n_movies, n_ratings, n_factors, "
							  "global_mean, rating_min, rating_max, train_seconds, peak_memory_bytes, read_seconds) "
							  "SELECT $1, COALESCE(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, "
							  "$10, $11, $12, $13, $14, $15, $16, $17 "
							  "FROM movierec.models WHERE model_name = $1 RETURNING model_id",
							  17, types, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "could not insert into movierec.models");
	model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return model_id;
}

/* Attribute number of a required column of a factor table. */
static AttrNumber
MrFactorColumn(Relation rel, const char *col, bool required)
{
	AttrNumber	att = get_attnum(RelationGetRelid(rel), col);

	if (att <= 0 && required)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of movierec.%s is missing", col,
						RelationGetRelationName(rel)),
				 errhint("Reinstall the extension: DROP EXTENSION movierec; CREATE EXTENSION movierec.")));
	return att > 0 ? att : InvalidAttrNumber;
}

/* A real[] of k floats. */
static Datum
MrFloatArray(const float *x, int k)
{
	Datum	   *d = palloc(k * sizeof(Datum));

	for (int j = 0; j < k; j++)
		d[j] = Float4GetDatum(x[j]);
	return PointerGetDatum(construct_array(d, k, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT));
}

/*
 * Write n rows of one factor table.  Row j: id ids[j], bias bias[j],
 * factors M[j*k..], count from ptr, mean from vals (items only).
 */
static void
MrWriteFactors(const char *table, int64 model_id, int32 n, const int64 *ids,
			   const float *bias, const float *M, int k, const int64 *ptr,
			   const float *vals, bool items)
{
	Relation	rel;
	RangeTblEntry *rte;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slots[MR_WRITE_BATCH];
	BulkInsertState bistate;
	MemoryContext batchcxt,
				oldcxt;
	MrFactorCols c;
	CommandId	cid = GetCurrentCommandId(true);
	int			natts;
	Oid			relid = get_relname_relid(table, get_namespace_oid("movierec", false));

	rel = table_open(relid, RowExclusiveLock);
	if (pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, table);
	natts = RelationGetDescr(rel)->natts;
	c.model_id = MrFactorColumn(rel, "model_id", true);
	c.id = MrFactorColumn(rel, items ? "movie_id" : "user_id", true);
	c.bias = MrFactorColumn(rel, "bias", true);
	c.factors = MrFactorColumn(rel, "factors", true);
	c.n_ratings = MrFactorColumn(rel, "n_ratings", true);
	c.mean_rating = items ? MrFactorColumn(rel, "mean_rating", true) : InvalidAttrNumber;

	/* an executor state as COPY sets one up, for indexes and constraints */
	estate = CreateExecutorState();
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	rte->requiredPerms = ACL_INSERT;
	ExecInitRangeTable(estate, list_make1(rte));
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	estate->es_output_cid = cid;
	bistate = GetBulkInsertState();
	for (int s = 0; s < MR_WRITE_BATCH; s++)
		slots[s] = table_slot_create(rel, NULL);
	batchcxt = AllocSetContextCreate(CurrentMemoryContext, "movierec factor rows",
									 ALLOCSET_DEFAULT_SIZES);

	for (int32 start = 0; start < n; start += MR_WRITE_BATCH)
	{
		int			nb = Min(MR_WRITE_BATCH, n - start);

		CHECK_FOR_INTERRUPTS();
		oldcxt = MemoryContextSwitchTo(batchcxt);
		for (int s = 0; s < nb; s++)
		{
			int32		j = start + s;
			TupleTableSlot *slot = slots[s];
			int64		cnt = ptr[j + 1] - ptr[j];

			ExecClearTuple(slot);
			memset(slot->tts_isnull, true, natts * sizeof(bool));
			slot->tts_values[c.model_id - 1] = Int64GetDatum(model_id);
			slot->tts_isnull[c.model_id - 1] = false;
			slot->tts_values[c.id - 1] = Int64GetDatum(ids[j]);
			slot->tts_isnull[c.id - 1] = false;
			slot->tts_values[c.bias - 1] = Float4GetDatum(bias ? bias[j] : 0.0f);
			slot->tts_isnull[c.bias - 1] = false;
			if (k > 0 && M != NULL)
			{
				slot->tts_values[c.factors - 1] = MrFloatArray(M + (size_t) j * k, k);
				slot->tts_isnull[c.factors - 1] = false;
			}
			slot->tts_values[c.n_ratings - 1] = Int32GetDatum((int32) Min(cnt, PG_INT32_MAX));
			slot->tts_isnull[c.n_ratings - 1] = false;
			if (items && cnt > 0)
			{
				double		sum = 0;

				for (int64 p = ptr[j]; p < ptr[j + 1]; p++)
					sum += vals[p];
				slot->tts_values[c.mean_rating - 1] = Float4GetDatum((float) (sum / cnt));
				slot->tts_isnull[c.mean_rating - 1] = false;
			}
			ExecStoreVirtualTuple(slot);
			if (rel->rd_att->constr)
				ExecConstraints(rri, slot, estate);
		}
		table_multi_insert(rel, slots, nb, cid, 0, bistate);
		for (int s = 0; s < nb; s++)
		{
			if (rri->ri_NumIndices > 0)
				ExecInsertIndexTuples(rri, slots[s], estate, false, false, NULL, NIL);
			ResetPerTupleExprContext(estate);
		}
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(batchcxt);
	}

	for (int s = 0; s < MR_WRITE_BATCH; s++)
		ExecDropSingleTupleTableSlot(slots[s]);
	FreeBulkInsertState(bistate);
	table_finish_bulk_insert(rel, 0);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	MemoryContextDelete(batchcxt);
	table_close(rel, NoLock);
}

/*
 * Fail early, before any reading or training, when the current user may
 * not insert into the model tables.
 */
void
MrCheckStorePrivileges(void)
{
	static const char *const tables[] = {"models", "user_factors", "item_factors"};
	Oid			nsp = get_namespace_oid("movierec", false);

	for (int j = 0; j < lengthof(tables); j++)
		if (pg_class_aclcheck(get_relname_relid(tables[j], nsp), GetUserId(),
							  ACL_INSERT) != ACLCHECK_OK)
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, tables[j]);
}

/*
 * Store a trained model in the caller's transaction; returns model_id.
 * Items get their rating count and mean, users their rating count.
 */
int64
MrStoreModel(const MrModelRow *row, const MrTrainData *data, const MrFactors *f)
{
	int64		model_id;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	model_id = MrInsertModelRow(row, data, f);
	SPI_finish();
	CommandCounterIncrement();

	MrWriteFactors("user_factors", model_id, data->r.n_users, data->user_ids,
				   f->user_bias, f->P, f->k, data->r.user_ptr, data->r.user_vals, false);
	MrFaultPoint("factors");	/* between the user and the movie factors */
	MrWriteFactors("item_factors", model_id, data->r.n_items, data->item_ids,
				   f->item_bias, f->Q, f->k, data->r.item_ptr, data->r.item_vals, true);
	CommandCounterIncrement();
	MrFaultModelStored();
	return model_id;
}
