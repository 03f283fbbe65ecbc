/*
 * serve_generation.c: are this backend's resolved model names still right
 * under the current snapshot?
 *
 * A resolved name (NULL, a name, an id) is a function of movierec.models
 * (and deployments, written together with it) as seen by some snapshot.
 * Every statement that writes movierec.models updates the single row of
 * movierec.models_generation (install/63_serve_generation.sql), so the
 * row version that a snapshot sees identifies the state of the registry
 * it sees.  When names are resolved, the TID of that version is kept; each
 * call then fetches the kept TID under its own snapshot.  Still visible:
 * nothing that changed the registry is visible to this call, and the names
 * stand.  Not visible: a newer registry is, and the names are resolved
 * again (with SPI, under the same snapshot).  The check is one heap fetch
 * by TID.
 *
 * Why not the relcache invalidation alone: it is sent after the writer's
 * commit becomes visible, so a call can start under a snapshot that sees
 * a promotion before the message arrives; and a message read mid-statement
 * used to make names be resolved again under that statement's older
 * snapshot, keeping the old model with no message left to come.
 */
#include "movierec.h"
#include "serve.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "storage/bufmgr.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

static Oid	gen_relid = InvalidOid;
static ItemPointerData gen_tid;
static bool gen_known = false;

/* Relcache callback: the table may have been dropped or rewritten. */
static void
gen_relcache_cb(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == gen_relid)
	{
		gen_relid = InvalidOid;
		gen_known = false;
	}
}

/* The snapshot a serving call reads with. */
static Snapshot
gen_snapshot(void)
{
	return ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
}

/* Open movierec.models_generation, or return NULL where it does not exist. */
static Relation
gen_open(void)
{
	if (!OidIsValid(gen_relid))
	{
		static bool registered = false;

		if (!registered)
		{
			CacheRegisterRelcacheCallback(gen_relcache_cb, (Datum) 0);
			registered = true;
		}
		gen_relid = get_relname_relid("models_generation",
									  get_namespace_oid("movierec", false));
		if (!OidIsValid(gen_relid))
			return NULL;
	}
	return table_open(gen_relid, AccessShareLock);
}

/*
 * True when the names resolved by this backend still hold under the
 * current snapshot (see the file comment).  False before any resolution.
 */
bool
MrServeNamesCurrent(void)
{
	Relation	rel;
	HeapTupleData tup;
	Buffer		buf;
	bool		visible;

	if (!gen_known)
		return false;
	rel = gen_open();
	if (rel == NULL)
		return true;			/* a database still at 0.1: relcache only */
	tup.t_self = gen_tid;
	visible = heap_fetch(rel, gen_snapshot(), &tup, &buf, false);
	if (BufferIsValid(buf))
		ReleaseBuffer(buf);
	table_close(rel, AccessShareLock);
	return visible;
}

/* Names are being resolved under the current snapshot: keep its version. */
void
MrServeNamesResolving(void)
{
	Relation	rel = gen_open();
	TableScanDesc scan;
	HeapTuple	tup;

	gen_known = false;
	if (rel == NULL)
		return;
	scan = table_beginscan(rel, gen_snapshot(), 0, NULL);
	if ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		gen_tid = tup->t_self;
		gen_known = true;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
}
