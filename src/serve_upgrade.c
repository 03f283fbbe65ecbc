/*
 * serve_upgrade.c: serving a model trained under 0.1 as 0.1 served it.
 *
 * Design.  0.2 tells a changed user from the change log that triggers on
 * movierec.ratings write (serve_changes.c).  0.1 had no log: a user of a
 * model was "changed", and folded in from the current ratings, when one
 * of the user's ratings had a rated_at after the model's created_at, or
 * no rated_at at all (which cannot be placed before the training).  After
 * ALTER EXTENSION movierec UPDATE, the log knows nothing of the changes
 * made between such a model's training and the update, so for these
 * models both rules apply:
 *
 *   - the log, for every change from the update on (it began empty);
 *   - 0.1's rated_at rule, for the changes before it.
 *
 * The upgrade script (install/62_serve_changes.sql) records when the log
 * began, as the row of user -1 of movierec.rating_changes (user ids are
 * positive, so no trigger writes it), and only when models exist:
 * a fresh install has none, and every model trained after the update is
 * newer than the marker.  A model is "pre-log" when its created_at is
 * before the marker's changed_at (MrServeChangesLoad).  Time rather than
 * the model's transaction snapshot, because the marker's transaction id
 * and a restored model's snapshot may come from different clusters.  So
 * an unchanged user of an old model is served from its stored factors,
 * as under 0.1, and the lists are the same; retraining the model retires
 * the rule.  The cost, for pre-log models only, is one more index scan of
 * the user's ratings per call (0.1 read them on every call too).
 */
#include "movierec.h"
#include "serve.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

/* column of movierec.ratings */
#define RATINGS_RATED_AT	4

/*
 * 0.1's rule: has user_id a current rating with rated_at after the
 * model's created_at, or with no rated_at?  Under the statement's
 * snapshot; the caller has checked SELECT on movierec.ratings.
 */
bool
MrServeRatedSince(const MrServeModel *m, int64 user_id)
{
	Relation	rel,
				idx;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData key;
	bool		since = false;

	rel = table_open(MrServeRelid(MR_REL_RATINGS), AccessShareLock);
	idx = index_open(MrServeRelid(MR_REL_RATINGS_PKEY), AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(user_id));
	scan = index_beginscan(rel, idx, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	slot = table_slot_create(rel, NULL);
	while (!since && index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		slot_getsomeattrs(slot, RATINGS_RATED_AT);
		since = slot->tts_isnull[RATINGS_RATED_AT - 1] ||
			DatumGetTimestampTz(slot->tts_values[RATINGS_RATED_AT - 1]) > m->trained_at;
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(idx, NoLock);
	table_close(rel, NoLock);	/* locks held to the end of the transaction, as the executor does */
	return since;
}
