/*
 * bulk_insert.c: replace the contents of movierec.movies and
 * movierec.ratings at load speed.
 *
 * Design.  Inserting 25 million ratings one by one through the executor
 * (or SPI) maintains two btree indexes per row and costs many minutes.
 * Instead, in the caller's transaction:
 *
 *  1. TRUNCATE both tables (through SPI, so ownership/TRUNCATE privilege,
 *     locks and the new relfilenodes are handled exactly as by the SQL
 *     command; the old files survive until commit, so an error anywhere
 *     later restores the previous contents);
 *  2. append tuples with table_multi_insert and a BulkInsertState in
 *     batches of MR_BULK_BATCH slots, without touching the indexes (the
 *     callers have already checked every value against the tables'
 *     CHECK constraints);
 *  3. rebuild all indexes with reindex_relation, asking it to enforce
 *     uniqueness: a duplicate (user, movie) pair or movie id surfaces
 *     there, and is reported with the loader's own message and hint.
 */
#include "bulk_insert.h"

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "portability/instr_time.h"
#include "utils/acl.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* Oid of movierec.<relname>, locked in the given mode. */
static Oid
data_relid(const char *relname, LOCKMODE mode)
{
	return RangeVarGetRelid(makeRangeVar("movierec", (char *) relname, -1),
							mode, false);
}

/* Check INSERT privilege on both tables, then TRUNCATE them. */
void
MrDataReplaceBegin(void)
{
	const char *rels[] = {"movies", "ratings"};

	for (int i = 0; i < 2; i++)
	{
		Oid			relid = data_relid(rels[i], NoLock);
		AclResult	acl = pg_class_aclcheck(relid, GetUserId(), ACL_INSERT);

		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("TRUNCATE movierec.ratings, movierec.movies", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not truncate the movierec data tables");
	SPI_finish();
	CommandCounterIncrement();
}

/* Open movierec.<relname> and prepare MR_BULK_BATCH slots. */
MrBulk *
MrBulkOpen(const char *relname)
{
	MrBulk	   *b = palloc0(sizeof(MrBulk));

	b->rel = table_open(data_relid(relname, AccessExclusiveLock), AccessExclusiveLock);
	b->bistate = GetBulkInsertState();
	b->cid = GetCurrentCommandId(true);
	for (int i = 0; i < MR_BULK_BATCH; i++)
		b->slots[i] = table_slot_create(b->rel, NULL);
	b->batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "movierec bulk batch",
										 ALLOCSET_DEFAULT_SIZES);
	return b;
}

/* Write the pending batch to the heap and free its datums. */
static void
bulk_flush(MrBulk *b)
{
	if (b->nused == 0)
		return;
	table_multi_insert(b->rel, b->slots, b->nused, b->cid,
					   TABLE_INSERT_SKIP_FSM, b->bistate);
	for (int i = 0; i < b->nused; i++)
		ExecClearTuple(b->slots[i]);
	b->ntuples += b->nused;
	b->nused = 0;
	MemoryContextReset(b->batch_cxt);
	CHECK_FOR_INTERRUPTS();
}

/* Hand out the next slot to fill (flushing a full batch first). */
TupleTableSlot *
MrBulkSlot(MrBulk *b)
{
	TupleTableSlot *slot;

	if (b->nused == MR_BULK_BATCH)
		bulk_flush(b);
	slot = b->slots[b->nused];
	ExecClearTuple(slot);
	return slot;
}

/* The slot from MrBulkSlot is filled: make it part of the batch. */
void
MrBulkStore(MrBulk *b)
{
	ExecStoreVirtualTuple(b->slots[b->nused]);
	b->nused++;
}

/* Flush the last batch, release the slots, keep the lock; returns rows written. */
int64
MrBulkClose(MrBulk *b)
{
	int64		n;

	bulk_flush(b);
	n = b->ntuples;
	for (int i = 0; i < MR_BULK_BATCH; i++)
		ExecDropSingleTupleTableSlot(b->slots[i]);
	FreeBulkInsertState(b->bistate);
	MemoryContextDelete(b->batch_cxt);
	table_close(b->rel, NoLock);
	pfree(b);
	return n;
}

/*
 * Rebuild the indexes of movierec.<relname>, checking uniqueness.  A
 * unique violation is re-raised naming source (the file or generator).
 */
void
MrDataRebuildIndexes(const char *relname, const char *source)
{
	Oid			relid = data_relid(relname, AccessExclusiveLock);
	ReindexParams params = {0};
	MemoryContext cxt = CurrentMemoryContext;

	params.options = REINDEXOPT_REPORT_PROGRESS;
	PG_TRY();
	{
		reindex_relation(relid, REINDEX_REL_PROCESS_TOAST | REINDEX_REL_CHECK_CONSTRAINTS,
						 &params);
		MrDataPhase(psprintf("indexes of %s rebuilt", relname));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_UNIQUE_VIOLATION)
			PG_RE_THROW();
		FlushErrorState();
		if (strcmp(relname, "ratings") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("duplicate rating in %s", source),
					 errdetail_internal("%s", edata->detail ? edata->detail : edata->message),
					 errhint("Each user may rate a movie only once: remove the repeated line.")));
		else
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("duplicate movie id in %s", source),
					 errdetail_internal("%s", edata->detail ? edata->detail : edata->message),
					 errhint("Each movie id may appear only once: remove the repeated line.")));
	}
	PG_END_TRY();
}

/* Log (at DEBUG1) the seconds since the last call: phase timings. */
void
MrDataPhase(const char *what)
{
	static instr_time last;
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	if (what != NULL && !INSTR_TIME_IS_ZERO(last))
	{
		instr_time	d = now;

		INSTR_TIME_SUBTRACT(d, last);
		elog(DEBUG1, "movierec: %s in %.3f s", what, INSTR_TIME_GET_DOUBLE(d));
	}
	last = now;
}

/* Unix epoch seconds to TimestampTz; false when out of range. */
bool
MrUnixToTimestamp(int64 secs, TimestampTz *out)
{
	int64		pg_secs = secs - (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	TimestampTz ts = pg_secs * USECS_PER_SEC;

	if (!IS_VALID_TIMESTAMP(ts))
		return false;
	*out = ts;
	return true;
}
