/*
 * train_snapshot.c: what a training run records about the rows it read.
 *
 * Design.  Every model references a row of movierec.snapshots: the source,
 * the row count, the rated_at range, an order-independent checksum of the
 * (user, movie, rating) rows, and the transaction snapshot.  The row is
 * written by the BEFORE INSERT trigger on movierec.models (install part
 * 70_mlops.sql), which runs as the extension's owner.  For the record to
 * describe exactly the rows train() read, even in READ COMMITTED while
 * other sessions write, train() pushes one snapshot, computes the
 * statistics under it (movierec._snapshot_stats is STABLE, so it runs on
 * the caller's snapshot) and then reads the ratings under the same
 * snapshot; the trigger takes the statistics from
 * movierec._train_read_stats() instead of scanning the source again.
 *
 * With params {"snapshot": "copy"} the source is first materialized by
 * movierec.take_snapshot(), and the model is trained from the copy.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "train.h"

/* Statistics of the rows the running train() reads (texts, NULL = SQL NULL). */
typedef struct MrReadStats
{
	bool		valid;
	Oid			relid;
	char	   *values[5];		/* n_rows, min_rated_at, max_rated_at, checksum, txid_snapshot */
} MrReadStats;

static MrReadStats read_stats;

/*
 * Take the "snapshot" key out of params: NULL when absent, else "copy" or
 * "record" (anything else is an error).  *rest gets params without it.
 */
char *
MrTakeSnapshotParam(Jsonb *given, Jsonb **rest)
{
	JsonbValue	key;
	JsonbValue *v;

	*rest = given;
	if (!JB_ROOT_IS_OBJECT(given))
		return NULL;			/* MrResolveParams reports it */
	key.type = jbvString;
	key.val.string.val = "snapshot";
	key.val.string.len = strlen("snapshot");
	v = findJsonbValueFromContainer(&given->root, JB_FOBJECT, &key);
	if (v == NULL)
		return NULL;
	if (v->type != jbvString ||
		!((v->val.string.len == 4 && strncmp(v->val.string.val, "copy", 4) == 0) ||
		  (v->val.string.len == 6 && strncmp(v->val.string.val, "record", 6) == 0)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params key \"snapshot\" must be \"copy\" or \"record\""),
				 errhint("\"copy\" materializes the training rows so that movierec.retrain() can reproduce the model; every run records a snapshot anyway.")));
	*rest = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(given),
											   CStringGetTextDatum("snapshot")));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * Materialize the source with movierec.take_snapshot() and return the
 * table that holds the copy; training then reads exactly those rows.
 */
Oid
MrCopySnapshot(Oid source, char *cols[3])
{
	Oid			argtypes[4] = {REGCLASSOID, NAMEOID, NAMEOID, NAMEOID};
	Datum		args[4];
	NameData	names[3];
	bool		isnull;
	Oid			copy;

	for (int i = 0; i < 3; i++)
	{
		namestrcpy(&names[i], cols[i]);
		args[i + 1] = NameGetDatum(&names[i]);
	}
	args[0] = ObjectIdGetDatum(source);
	SPI_connect();
	/* two statements: the second must see the row the first inserted */
	if (SPI_execute_with_args("SELECT movierec.take_snapshot($1, true, $2, $3, $4)",
							  4, argtypes, args, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not materialize a snapshot of relation %u", source);
	args[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	argtypes[0] = INT8OID;
	if (SPI_execute_with_args("SELECT rows_table::regclass::oid FROM movierec.snapshots "
							  "WHERE snapshot_id = $1",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "snapshot of relation %u has no rows table", source);
	copy = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	cols[0] = "user_id";
	cols[1] = "movie_id";
	cols[2] = "rating";
	return copy;
}

/*
 * Compute the snapshot statistics of source under the active snapshot
 * (the one the read will use) and keep them for the models trigger.
 */
void
MrCaptureReadStats(Oid source, char *cols[3])
{
	Oid			argtypes[4] = {REGCLASSOID, NAMEOID, NAMEOID, NAMEOID};
	Datum		args[4];
	NameData	names[3];

	MrForgetReadStats();
	args[0] = ObjectIdGetDatum(source);
	for (int i = 0; i < 3; i++)
	{
		namestrcpy(&names[i], cols[i]);
		args[i + 1] = NameGetDatum(&names[i]);
	}
	SPI_connect();
	/* read_only: no new snapshot, the caller's active one is used */
	if (SPI_execute_with_args("SELECT s.n_rows::text, s.min_rated_at::text, s.max_rated_at::text, "
							  "s.checksum, pg_catalog.pg_current_snapshot()::text "
							  "FROM movierec._snapshot_stats($1, $2, $3, $4) s",
							  4, argtypes, args, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not compute the snapshot statistics of relation %u", source);
	for (int i = 0; i < 5; i++)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1);

		read_stats.values[i] = v ? MemoryContextStrdup(TopMemoryContext, v) : NULL;
	}
	SPI_finish();
	read_stats.relid = source;
	read_stats.valid = true;
}

/* Drop the kept statistics (end of a training run, success or not). */
void
MrForgetReadStats(void)
{
	for (int i = 0; i < 5; i++)
	{
		if (read_stats.values[i])
			pfree(read_stats.values[i]);
		read_stats.values[i] = NULL;
	}
	read_stats.valid = false;
}

PG_FUNCTION_INFO_V1(movierec_train_read_stats);

/*
 * movierec._train_read_stats(source regclass): the statistics the running
 * train() of this backend computed for source under its read snapshot, or
 * a row of NULLs when there is none (the trigger then scans the source).
 */
Datum
movierec_train_read_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	char	   *values[5] = {NULL, NULL, NULL, NULL, NULL};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (read_stats.valid && !PG_ARGISNULL(0) && PG_GETARG_OID(0) == read_stats.relid)
		memcpy(values, read_stats.values, sizeof(values));
	PG_RETURN_DATUM(HeapTupleGetDatum(BuildTupleFromCStrings(TupleDescGetAttInMetadata(desc),
															   values)));
}
