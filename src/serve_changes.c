/*
 * serve_changes.c: exact detection of changed ratings for users stored in
 * a model.
 *
 * Design.  A user stored in a model is served from the stored factors
 * only while the model has seen all of the user's current ratings.  Today
 * this cannot be read off rated_at: a deleted or lowered rating leaves no
 * newer timestamp.  So triggers on movierec.ratings
 * (install/62_serve_changes.sql) record, per user, the last transaction
 * that inserted, updated or deleted one of the user's ratings, in
 * movierec.rating_changes (xid8, and the writer's now()); a TRUNCATE
 * records user 0, meaning every user.  Writers of one user queue on that
 * row, so the transaction recorded is also the last one to commit: if the
 * model saw it, it saw all earlier ones too.
 *
 * Every model references the transaction snapshot it read its ratings
 * under (movierec.snapshots.txid_snapshot, recorded by train(); see
 * train_snapshot.c).  A user's change is seen by the model when its
 * transaction is visible in that snapshot (xid < xmin, or < xmax and not
 * in progress).  Otherwise the user has changed, and is folded in from the
 * current ratings.  Two more rules:
 *
 *  - a change made by the current transaction: if the model was also
 *    trained (its snapshot row written) in this transaction, the change
 *    counts when its command came later (tuple cmin against the snapshot
 *    row's cmin); otherwise it always counts;
 *  - a model without a usable snapshot record (none, or one "from the
 *    future": after pg_dump/restore its transaction ids belong to another
 *    cluster) falls back to time: a change counts when its writer started
 *    after the model's created_at.  That misses a change begun before the
 *    training and committed after its read, which the snapshot catches;
 *    retraining gives every model a snapshot of its own cluster;
 *  - a model trained before the log began (under 0.1, before ALTER
 *    EXTENSION UPDATE wrote the log-start marker, user -1) also counts,
 *    as 0.1 did, a rating with rated_at after the model's created_at, or
 *    none (serve_upgrade.c): the log cannot know the changes made before
 *    it existed.
 *
 * Cost per call: two index probes of rating_changes_pkey (the user and
 * the truncate marker), under the statement's snapshot.  The versions of
 * the two rows seen also key serve_user.c's cache of rated movies: every
 * committed change of a user's ratings makes a new version of the user's
 * row (or of the marker) in the same transaction, so a snapshot that sees
 * the same versions sees the same ratings.  The log carries
 * nothing that movierec.ratings (whose SELECT the call checks) does not
 * already show the caller, so it needs no grant.
 */
#include "movierec.h"
#include "serve.h"

#include <stdlib.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/xid8.h"

/* columns of movierec.rating_changes */
#define RC_XID			2
#define RC_CHANGED_AT	3

/* Parse "xmin:xmax:xip,xip,..." (pg_snapshot's text form) into m. */
static bool
parse_snapshot(MrServeModel *m, const char *s)
{
	char	   *end;
	int			n = 0,
				cap = 8;

	m->snap_xmin = strtoull(s, &end, 10);
	if (*end != ':')
		return false;
	m->snap_xmax = strtoull(end + 1, &end, 10);
	if (*end != ':')
		return false;
	m->snap_xip = MemoryContextAlloc(m->cxt, sizeof(uint64) * cap);
	s = end + 1;
	while (*s)
	{
		uint64		x = strtoull(s, &end, 10);

		if (end == s)
			return false;
		if (n == cap)
		{
			cap *= 2;
			m->snap_xip = repalloc(m->snap_xip, sizeof(uint64) * cap);
		}
		m->snap_xip[n++] = x;
		s = (*end == ',') ? end + 1 : end;
	}
	m->snap_nxip = n;
	return true;
}

/*
 * Read the snapshot model m was trained under (inside the caller's SPI
 * connection).  Without one, only the time rule applies.  Also whether m
 * is older than the log itself (pre_log).
 */
void
MrServeChangesLoad(MrServeModel *m)
{
	Oid			argtype = INT8OID;
	Datum		arg = Int64GetDatum(m->model_id);
	int			rc;

	m->snap_valid = false;
	m->pre_log = false;
	rc = SPI_execute_with_args("SELECT snap, row_xmin, row_cmin, log_began FROM movierec._serve_model_snapshot($1)",
							   1, &argtype, &arg, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	td = SPI_tuptable->tupdesc;
		char	   *snap = SPI_getvalue(tup, td, 1);
		char	   *xmin = SPI_getvalue(tup, td, 2);
		char	   *cmin = SPI_getvalue(tup, td, 3);
		bool		isnull;
		Datum		began = SPI_getbinval(tup, td, 4, &isnull);

		/* a model older than the log (ALTER EXTENSION UPDATE from 0.1): serve_upgrade.c */
		m->pre_log = !isnull && m->trained_at < DatumGetTimestampTz(began);

		if (snap && xmin && cmin && parse_snapshot(m, snap))
		{
			m->snap_row_xmin = (TransactionId) strtoul(xmin, NULL, 10);
			m->snap_row_cid = (CommandId) strtoul(cmin, NULL, 10);
			/* a snapshot of another cluster (pg_dump/restore) is no evidence */
			m->snap_valid = m->snap_xmax <= U64FromFullTransactionId(ReadNextFullTransactionId());
		}
	}
}

/* Did the model's training snapshot see transaction xid? */
static bool
snapshot_saw(const MrServeModel *m, uint64 xid)
{
	int			i;

	if (xid < m->snap_xmin)
		return true;
	if (xid >= m->snap_xmax)
		return false;
	for (i = 0; i < m->snap_nxip; i++)
		if (m->snap_xip[i] == xid)
			return false;
	return true;
}

/* Is one change-log tuple a change model m has not seen? */
static bool
change_unseen(const MrServeModel *m, TupleTableSlot *slot)
{
	bool		should_free;
	HeapTuple	tup = ExecFetchSlotHeapTuple(slot, false, &should_free);
	TransactionId xmin = HeapTupleHeaderGetXmin(tup->t_data);
	bool		unseen;

	slot_getsomeattrs(slot, RC_CHANGED_AT);
	if (TransactionIdIsCurrentTransactionId(xmin))
	{
		/* our own change: after the model only if the model is ours and older */
		if (m->snap_valid && TransactionIdIsCurrentTransactionId(m->snap_row_xmin))
			unseen = HeapTupleHeaderGetCmin(tup->t_data) > m->snap_row_cid;
		else
			unseen = true;
	}
	else
	{
		uint64		xid = U64FromFullTransactionId(DatumGetFullTransactionId(slot->tts_values[RC_XID - 1]));
		TimestampTz at = DatumGetTimestampTz(slot->tts_values[RC_CHANGED_AT - 1]);

		unseen = m->snap_valid ? !snapshot_saw(m, xid) : at > m->trained_at;
	}
	if (should_free)
		heap_freetuple(tup);
	return unseen;
}

/*
 * Has user_id (stored in model m) a rating change that the model did not
 * see?  Probes the user's row and the truncate marker (user 0); key
 * receives the versions seen.
 */
bool
MrServeUserChanged(const MrServeModel *m, int64 user_id, MrChangeKey *key)
{
	Relation	rel,
				idx;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData skey;
	bool		changed = false;
	int64		probe[2];
	int			i;

	probe[0] = user_id;
	probe[1] = 0;
	rel = table_open(MrServeRelid(MR_REL_RATING_CHANGES), AccessShareLock);
	idx = index_open(MrServeRelid(MR_REL_RATING_CHANGES_PKEY), AccessShareLock);
	scan = index_beginscan(rel, idx, GetActiveSnapshot(), 1, 0);
	slot = table_slot_create(rel, NULL);
	memset(key, 0, sizeof(MrChangeKey));
	for (i = 0; i < 2; i++)
	{
		ScanKeyInit(&skey, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(probe[i]));
		index_rescan(scan, &skey, 1, NULL, 0);
		if (index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			bool		should_free;
			HeapTuple	tup = ExecFetchSlotHeapTuple(slot, false, &should_free);

			key->found[i] = true;
			key->tid[i] = tup->t_self;
			key->xmin[i] = HeapTupleHeaderGetRawXmin(tup->t_data);
			if (should_free)
				heap_freetuple(tup);
			if (!changed)
				changed = change_unseen(m, slot);
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(idx, NoLock);
	table_close(rel, NoLock);	/* locks held to the end of the transaction, as the executor does */
	return changed;
}

/* the trigger's statement, prepared once per backend */
static SPIPlanPtr log_plan = NULL;

/* Append the user and movie ids of a transition table to the arrays. */
static void
collect_ids(Tuplestorestate *ts, TupleDesc desc, Datum **users, int *nu,
			Datum **movies, int *nm, int *cap)
{
	TupleTableSlot *slot;
	int			rp;

	if (ts == NULL)
		return;
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	/* a read pointer of our own: other triggers may read the same table */
	rp = tuplestore_alloc_read_pointer(ts, 0);
	tuplestore_select_read_pointer(ts, rp);
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		isnull;

		if (*nu == *cap)
		{
			*cap *= 2;
			*users = repalloc_huge(*users, sizeof(Datum) * *cap);
			*movies = repalloc_huge(*movies, sizeof(Datum) * *cap);
		}
		(*users)[(*nu)++] = slot_getattr(slot, 1, &isnull);
		(*movies)[(*nm)++] = slot_getattr(slot, 2, &isnull);
	}
	ExecDropSingleTupleTableSlot(slot);
}

/* qsort comparator for int64 Datums. */
static int
cmp_datum_int64(const void *a, const void *b)
{
	int64		x = DatumGetInt64(*(const Datum *) a),
				y = DatumGetInt64(*(const Datum *) b);

	return (x > y) - (x < y);
}

/* Sort int64 Datums and drop duplicates; returns the new count. */
static int
sort_unique(Datum *v, int n)
{
	int			i,
				w = 0;

	qsort(v, n, sizeof(Datum), cmp_datum_int64);
	for (i = 0; i < n; i++)
		if (w == 0 || DatumGetInt64(v[w - 1]) != DatumGetInt64(v[i]))
			v[w++] = v[i];
	return w;
}

PG_FUNCTION_INFO_V1(movierec_ratings_changed);

/*
 * Statement-level AFTER trigger on movierec.ratings (INSERT, UPDATE and
 * DELETE with transition tables, and TRUNCATE): record the users the
 * statement touched in movierec.rating_changes (user 0 for a TRUNCATE),
 * sorted, so that concurrent writers lock log rows in one order; and if a
 * touched movie of the catalogue is missing from a factor model, queue the invalidation
 * that makes every backend fold new movies in again (serve_items.c).  The
 * log is written as its owner, so writers of ratings need no grant on it;
 * one prepared statement does both, in C rather than PL/pgSQL because it
 * runs with every write of a rating (bench/serve_resolve measures it).
 */
Datum
movierec_ratings_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	Datum	   *users,
			   *movies;
	int			nu = 0,
				nm = 0,
				cap = 64;
	Oid			save_uid;
	int			save_sec;
	Oid			argtypes[2] = {INT8ARRAYOID, INT8ARRAYOID};
	Datum		args[2];
	char		nulls[2] = {' ', ' '};
	volatile bool new_movie = false;
	HeapTuple	ctup;
	Oid			owner;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		!TRIGGER_FIRED_AFTER(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("movierec._ratings_changed() must be called as a statement-level AFTER trigger"),
				 errhint("It is installed on movierec.ratings; do not call it directly.")));
	if (RelationGetRelid(td->tg_relation) != MrServeRelid(MR_REL_RATINGS))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("movierec._ratings_changed() only logs changes of movierec.ratings"),
				 errhint("Do not attach it to \"%s\".", RelationGetRelationName(td->tg_relation))));
	desc = RelationGetDescr(td->tg_relation);
	users = palloc(sizeof(Datum) * cap);
	movies = palloc(sizeof(Datum) * cap);
	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		users[nu++] = Int64GetDatum(0);
	else
	{
		collect_ids(td->tg_newtable, desc, &users, &nu, &movies, &nm, &cap);
		collect_ids(td->tg_oldtable, desc, &users, &nu, &movies, &nm, &cap);
	}
	if (nu == 0)
		return PointerGetDatum(NULL);
	nu = sort_unique(users, nu);
	nm = nm > 0 ? sort_unique(movies, nm) : 0;

	ctup = SearchSysCache1(RELOID, ObjectIdGetDatum(MrServeRelid(MR_REL_RATING_CHANGES)));
	if (!HeapTupleIsValid(ctup))
		elog(ERROR, "cache lookup failed for movierec.rating_changes");
	owner = ((Form_pg_class) GETSTRUCT(ctup))->relowner;
	ReleaseSysCache(ctup);

	args[0] = PointerGetDatum(construct_array(users, nu, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array(movies, nm, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	GetUserIdAndSecContext(&save_uid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		int			rc;
		bool		isnull;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (log_plan == NULL)
		{
			SPIPlanPtr	p = SPI_prepare_cursor(
				"WITH up AS (INSERT INTO movierec.rating_changes AS c (user_id, xid, changed_at) "
				"  SELECT u, pg_catalog.pg_current_xact_id(), pg_catalog.now() "
				"    FROM pg_catalog.unnest($1) AS u "
				"  ON CONFLICT (user_id) DO UPDATE SET xid = EXCLUDED.xid, changed_at = EXCLUDED.changed_at) "
				"SELECT EXISTS (SELECT 1 FROM pg_catalog.unnest($2) AS x(movie_id), movierec.models m "
				"  WHERE m.algorithm OPERATOR(pg_catalog.<>) 'popularity' "
				"    AND EXISTS (SELECT 1 FROM movierec.movies mv WHERE mv.movie_id OPERATOR(pg_catalog.=) x.movie_id) "
				"    AND NOT EXISTS (SELECT 1 FROM movierec.item_factors i "
				"      WHERE i.model_id OPERATOR(pg_catalog.=) m.model_id "
				"        AND i.movie_id OPERATOR(pg_catalog.=) x.movie_id))",
				2, argtypes, CURSOR_OPT_GENERIC_PLAN);	/* planned once */

			if (p == NULL)
				elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
			SPI_keepplan(p);
			log_plan = p;
		}
		rc = SPI_execute_plan(log_plan, args, nulls, false, 1);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not record the rating changes: %s", SPI_result_code_string(rc));
		new_movie = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_uid, save_sec);
	}
	PG_END_TRY();
	/*
	 * The signal is an invalidation of the log's index: no cached plan
	 * depends on an index's relcache entry (the log's own would replan the
	 * statement above every time).
	 */
	if (new_movie || TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		CacheInvalidateRelcacheByRelid(MrServeRelid(MR_REL_RATING_CHANGES_PKEY));
	return PointerGetDatum(NULL);
}
