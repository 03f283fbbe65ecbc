/*
 * bulk_insert.h: replace the contents of movierec.movies and
 * movierec.ratings fast (shared by load_movielens.c and generate.c).
 */
#ifndef MR_BULK_INSERT_H
#define MR_BULK_INSERT_H

#include "movierec.h"

#include "access/heapam.h"
#include "executor/tuptable.h"
#include "utils/rel.h"

#define MR_BULK_BATCH 1000

typedef struct MrBulk
{
	Relation	rel;
	BulkInsertState bistate;
	CommandId	cid;
	TupleTableSlot *slots[MR_BULK_BATCH];
	int			nused;
	int64		ntuples;
	MemoryContext batch_cxt;	/* datums of the current batch */
} MrBulk;

/* Check privileges and empty both tables (transactional TRUNCATE). */
extern void MrDataReplaceBegin(void);

/* Open movierec.<relname> for bulk insertion (after MrDataReplaceBegin). */
extern MrBulk *MrBulkOpen(const char *relname);

/* Next free slot, cleared; fill tts_values/tts_isnull, then MrBulkStore. */
extern TupleTableSlot *MrBulkSlot(MrBulk *b);
extern void MrBulkStore(MrBulk *b);

/* Flush and close (the lock is kept until the end of the transaction). */
extern int64 MrBulkClose(MrBulk *b);

/* Rebuild every index of movierec.<relname>; duplicates raise a clear error. */
extern void MrDataRebuildIndexes(const char *relname, const char *source);

/* DEBUG1 timing of a phase since the previous call (NULL: start). */
extern void MrDataPhase(const char *what);

/* Unix seconds to a timestamptz Datum value; false if out of range. */
extern bool MrUnixToTimestamp(int64 secs, TimestampTz *out);

#endif							/* MR_BULK_INSERT_H */
