/*
 * train_read.c: read a rating table or view into dense MrRatings.
 *
 * Design.  Tables and materialized views are read with a direct table-AM
 * scan (table_beginscan and a slot), which costs a few tens of
 * nanoseconds per rating; views, partitioned and foreign tables, and
 * tables under row-level security are read through an SPI cursor over a
 * SELECT of the three columns (so that the planner and the security
 * policies do their work), fetched in batches.
 *
 * While reading, user and movie ids are mapped to dense indexes in the
 * order they are first seen: ids in [0, 2^24) through a direct array that
 * grows with the largest id, any other id through a hash table.  Each
 * rating is kept as a triple (user index, item index, value) of 12 bytes.
 * After the scan the ids are sorted, the indexes renumbered so that dense
 * order is id order, and two counting sorts build the CSC and then the
 * CSR arrays: scattering by item and then by user leaves every user's
 * items ascending, and a last scatter back by item leaves every item's
 * users ascending.  The whole build is linear in the number of ratings;
 * the peak is 20 bytes per rating (triples and one orientation) before
 * the triples are freed.
 *
 * Rules: NULL ids or ratings, NaN or infinite ratings, and the same
 * (user, movie) pair twice are errors naming the column and the row; so
 * is a source without rows.
 */
#include "postgres.h"

#include <math.h>

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "train.h"

/* ids below this go through a direct array (at most 64 MB) */
#define MR_DIRECT_IDS	(INT64CONST(1) << 24)
/* rows between interrupt checks while scanning */
#define MR_READ_CHECK_EVERY	16384
/* rows fetched per SPI batch */
#define MR_SPI_BATCH	10000

/* How a column's Datum becomes a number. */
typedef enum MrColKind
{
	MR_COL_INT2,
	MR_COL_INT4,
	MR_COL_INT8,
	MR_COL_FLOAT4,
	MR_COL_FLOAT8,
	MR_COL_NUMERIC
} MrColKind;

/* One id space (users or movies): id -> dense index in first-seen order. */
typedef struct MrIdMap
{
	const char *what;			/* "user" or "movie", for messages */
	int32	   *direct;			/* index + 1 by id, 0 when unseen */
	int64		direct_len;
	HTAB	   *hash;			/* other ids: int64 -> int32 */
	int64	   *ids;			/* dense index -> id */
	int32		n;
	int32		cap;
} MrIdMap;

typedef struct MrIdEntry
{
	int64		id;
	int32		index;
} MrIdEntry;

/* State of one read. */
typedef struct MrReader
{
	MrTrainMem *mem;
	const char *relname;
	const char *cols[3];
	MrColKind	kinds[3];
	MrIdMap		users;
	MrIdMap		items;
	int32	   *tu;				/* triples */
	int32	   *ti;
	float	   *tv;
	int64		n;
	int64		cap;
	float		vmin;
	float		vmax;
	double		vsum;
} MrReader;

/* Map a column's type to a kind, or error naming the column and the rule. */
static MrColKind
MrColumnKind(Oid relid, const char *relname, const char *col, bool is_id,
			 const char *argname, AttrNumber *attnum)
{
	AttrNumber	att = get_attnum(relid, col);
	Oid			typ;

	if (att <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist in \"%s\"", col, relname),
				 errhint("Name the column with %s => 'column_name'.", argname)));
	*attnum = att;
	typ = getBaseType(get_atttype(relid, att));
	switch (typ)
	{
		case INT2OID:
			return MR_COL_INT2;
		case INT4OID:
			return MR_COL_INT4;
		case INT8OID:
			return MR_COL_INT8;
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			if (!is_id)
				return typ == FLOAT4OID ? MR_COL_FLOAT4 :
					typ == FLOAT8OID ? MR_COL_FLOAT8 : MR_COL_NUMERIC;
			break;
		default:
			break;
	}
	if (is_id)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of \"%s\" has type %s, but ids must be smallint, integer or bigint",
						col, relname, format_type_be(typ)),
				 errhint("Train from a view that casts the column, e.g. SELECT %s::bigint.",
						 quote_identifier(col))));
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("column \"%s\" of \"%s\" has type %s, but ratings must be smallint, integer, bigint, real, double precision or numeric",
					col, relname, format_type_be(typ)),
			 errhint("Train from a view that casts the column, e.g. SELECT %s::real.",
					 quote_identifier(col))));
	return MR_COL_INT8;			/* keep compiler quiet */
}

/* A Datum of an id column as int64. */
static inline int64
MrDatumId(Datum d, MrColKind kind)
{
	switch (kind)
	{
		case MR_COL_INT2:
			return DatumGetInt16(d);
		case MR_COL_INT4:
			return DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

/* A Datum of the rating column as double. */
static inline double
MrDatumRating(Datum d, MrColKind kind)
{
	switch (kind)
	{
		case MR_COL_INT2:
			return DatumGetInt16(d);
		case MR_COL_INT4:
			return DatumGetInt32(d);
		case MR_COL_INT8:
			return (double) DatumGetInt64(d);
		case MR_COL_FLOAT4:
			return DatumGetFloat4(d);
		case MR_COL_FLOAT8:
			return DatumGetFloat8(d);
		case MR_COL_NUMERIC:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d));
	}
	return 0;
}

/* Prepare an empty id map. */
static void
MrIdMapInit(MrIdMap *m, const char *what)
{
	memset(m, 0, sizeof(*m));
	m->what = what;
}

/* Append a new id and return its dense index. */
static int32
MrIdMapAdd(MrReader *rd, MrIdMap *m, int64 id)
{
	if (m->n == m->cap)
	{
		int32		newcap;

		if (m->n >= PG_INT32_MAX - 1)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("source \"%s\" has more than %d distinct %s ids",
							rd->relname, PG_INT32_MAX - 1, m->what),
					 errhint("Train on a subset of the ratings.")));
		newcap = m->cap == 0 ? 1024 : (m->cap > PG_INT32_MAX / 2 ? PG_INT32_MAX - 1 : m->cap * 2);
		m->ids = MrTrainRealloc(rd->mem, m->ids, mul_size(newcap, sizeof(int64)));
		m->cap = newcap;
	}
	m->ids[m->n] = id;
	return m->n++;
}

/* Dense index of an id, adding it when new. */
static inline int32
MrIdMapGet(MrReader *rd, MrIdMap *m, int64 id)
{
	if (id >= 0 && id < MR_DIRECT_IDS)
	{
		if (unlikely(id >= m->direct_len))
		{
			int64		len = m->direct_len == 0 ? 4096 : m->direct_len;

			while (len <= id)
				len *= 2;
			m->direct = MrTrainRealloc(rd->mem, m->direct, len * sizeof(int32));
			memset(m->direct + m->direct_len, 0,
				   (len - m->direct_len) * sizeof(int32));
			m->direct_len = len;
		}
		if (likely(m->direct[id] > 0))
			return m->direct[id] - 1;
		m->direct[id] = MrIdMapAdd(rd, m, id) + 1;
		return m->direct[id] - 1;
	}
	else
	{
		MrIdEntry  *e;
		bool		found;

		if (m->hash == NULL)
		{
			HASHCTL		ctl;

			ctl.keysize = sizeof(int64);
			ctl.entrysize = sizeof(MrIdEntry);
			ctl.hcxt = rd->mem->cxt;
			m->hash = hash_create("movierec ids", 1024, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		}
		e = hash_search(m->hash, &id, HASH_ENTER, &found);
		if (!found)
			e->index = MrIdMapAdd(rd, m, id);
		return e->index;
	}
}

/* Make room for newcap triples. */
static void
MrReaderGrow(MrReader *rd, int64 newcap)
{
	MrTrainCheckBudget(rd->mem,
					   mul_size(newcap - rd->cap, 3 * sizeof(int32)),
					   "reading ratings");
	rd->tu = MrTrainRealloc(rd->mem, rd->tu, mul_size(newcap, sizeof(int32)));
	rd->ti = MrTrainRealloc(rd->mem, rd->ti, mul_size(newcap, sizeof(int32)));
	rd->tv = MrTrainRealloc(rd->mem, rd->tv, mul_size(newcap, sizeof(float)));
	rd->cap = newcap;
}

/* Take one row's three Datums; errors name the column and the row. */
static inline void
MrReaderAdd(MrReader *rd, Datum *v, bool *isnull)
{
	int64		uid,
				iid;
	double		r;

	for (int c = 0; c < 3; c++)
		if (unlikely(isnull[c]))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("column \"%s\" of \"%s\" contains a null", rd->cols[c], rd->relname),
					 errhint("Train from a view that leaves out rows where %s IS NULL.",
							 quote_identifier(rd->cols[c]))));
	uid = MrDatumId(v[0], rd->kinds[0]);
	iid = MrDatumId(v[1], rd->kinds[1]);
	r = MrDatumRating(v[2], rd->kinds[2]);
	if (unlikely(isnan(r) || isinf(r) || fabs(r) > 1e30))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("column \"%s\" of \"%s\" contains %s (user " INT64_FORMAT ", movie " INT64_FORMAT ")",
						rd->cols[2], rd->relname,
						isnan(r) ? "NaN" : "a non-finite or too large value", uid, iid),
				 errhint("Fix those rows, or train from a view that leaves them out (WHERE %s <> 'NaN').",
						 quote_identifier(rd->cols[2]))));

	if (unlikely(rd->n == rd->cap))
		MrReaderGrow(rd, rd->cap == 0 ? 16384 : rd->cap * 2);
	rd->tu[rd->n] = MrIdMapGet(rd, &rd->users, uid);
	rd->ti[rd->n] = MrIdMapGet(rd, &rd->items, iid);
	rd->tv[rd->n] = (float) r;
	if (rd->n == 0 || rd->tv[rd->n] < rd->vmin)
		rd->vmin = rd->tv[rd->n];
	if (rd->n == 0 || rd->tv[rd->n] > rd->vmax)
		rd->vmax = rd->tv[rd->n];
	rd->vsum += rd->tv[rd->n];
	rd->n++;
}

/* Direct scan of a table or materialized view. */
static void
MrReadScan(MrReader *rd, Oid relid, AttrNumber *atts)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	AttrNumber	maxatt = Max(atts[0], Max(atts[1], atts[2]));
	Datum		v[3];
	bool		isnull[3];
	int64		rows = 0;

	/* size the triples from the row estimate: no doubling, no copies */
	if (rel->rd_rel->reltuples > 0 && rel->rd_rel->reltuples < 4e9)
		MrReaderGrow(rd, (int64) (rel->rd_rel->reltuples * 1.02) + 1024);

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		if ((++rows % MR_READ_CHECK_EVERY) == 0)
			CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, maxatt);
		for (int c = 0; c < 3; c++)
		{
			v[c] = slot->tts_values[atts[c] - 1];
			isnull[c] = slot->tts_isnull[atts[c] - 1];
		}
		MrReaderAdd(rd, v, isnull);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
}

/* Cursor over SELECT of the three columns (views and the like). */
static void
MrReadCursor(MrReader *rd, Oid relid)
{
	char	   *query;
	SPIPlanPtr	plan;
	Portal		portal;
	Datum		v[3];
	bool		isnull[3];

	query = psprintf("SELECT %s, %s, %s FROM %s",
					 quote_identifier(rd->cols[0]),
					 quote_identifier(rd->cols[1]),
					 quote_identifier(rd->cols[2]),
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												get_rel_name(relid)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", query,
			 SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		SPITupleTable *tt;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, MR_SPI_BATCH);
		if (SPI_processed == 0)
			break;
		tt = SPI_tuptable;
		for (uint64 j = 0; j < SPI_processed; j++)
		{
			for (int c = 0; c < 3; c++)
				v[c] = SPI_getbinval(tt->vals[j], tt->tupdesc, c + 1, &isnull[c]);
			MrReaderAdd(rd, v, isnull);
		}
		SPI_freetuptable(tt);
	}
	SPI_cursor_close(portal);
	SPI_finish();
}

/* qsort comparator for int64 ids. */
static int
MrCompareInt64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* Renumber one id space so that dense order is id order. */
static int32 *
MrIdMapSort(MrReader *rd, MrIdMap *m)
{
	int32	   *newidx = MrTrainAlloc(rd->mem, mul_size(m->n, sizeof(int32)));
	int64	   *sorted = MrTrainAlloc(rd->mem, mul_size(m->n, sizeof(int64)));

	for (int32 j = 0; j < m->n; j++)
		sorted[j] = m->ids[j];
	qsort(sorted, m->n, sizeof(int64), MrCompareInt64);
	/* each old index finds its rank by binary search in the sorted ids */
	for (int32 j = 0; j < m->n; j++)
	{
		int32		lo = 0,
					hi = m->n - 1;

		while (lo < hi)
		{
			int32		mid = lo + (hi - lo) / 2;

			if (sorted[mid] < m->ids[j])
				lo = mid + 1;
			else
				hi = mid;
		}
		newidx[j] = lo;
	}
	MrTrainFree(rd->mem, m->ids);
	m->ids = sorted;
	return newidx;
}

/* Build CSC and CSR from the renumbered triples; frees the triples. */
static void
MrBuildMatrices(MrReader *rd, MrRatings *r)
{
	MrTrainMem *mem = rd->mem;
	int64		nnz = rd->n;
	int64	   *pos;

	r->n_users = rd->users.n;
	r->n_items = rd->items.n;
	r->nnz = nnz;

	MrTrainCheckBudget(mem,
					   add_size(mul_size(nnz, 2 * (sizeof(int32) + sizeof(float))),
								mul_size(add_size(r->n_users, r->n_items) + 2,
										 2 * sizeof(int64))),
					   "building the rating matrices");

	/* 1. scatter triples by item (users in input order for now) */
	r->item_ptr = MrTrainAlloc(mem, mul_size(r->n_items + 1, sizeof(int64)));
	r->item_users = MrTrainAlloc(mem, mul_size(nnz, sizeof(int32)));
	r->item_vals = MrTrainAlloc(mem, mul_size(nnz, sizeof(float)));
	pos = MrTrainAlloc(mem, mul_size(Max(r->n_users, r->n_items) + 1, sizeof(int64)));
	for (int64 j = 0; j < nnz; j++)
		r->item_ptr[rd->ti[j] + 1]++;
	for (int32 i = 0; i < r->n_items; i++)
		r->item_ptr[i + 1] += r->item_ptr[i];
	memcpy(pos, r->item_ptr, r->n_items * sizeof(int64));
	for (int64 j = 0; j < nnz; j++)
	{
		int64		p = pos[rd->ti[j]]++;

		r->item_users[p] = rd->tu[j];
		r->item_vals[p] = rd->tv[j];
	}
	CHECK_FOR_INTERRUPTS();

	/* 2. count per user, free the triples */
	r->user_ptr = MrTrainAlloc(mem, mul_size(r->n_users + 1, sizeof(int64)));
	for (int64 j = 0; j < nnz; j++)
		r->user_ptr[rd->tu[j] + 1]++;
	MrTrainFree(mem, rd->tu);
	MrTrainFree(mem, rd->ti);
	MrTrainFree(mem, rd->tv);
	rd->tu = rd->ti = NULL;
	rd->tv = NULL;
	for (int32 u = 0; u < r->n_users; u++)
		r->user_ptr[u + 1] += r->user_ptr[u];

	/* 3. scatter by user walking items in order: items ascend per user */
	r->user_items = MrTrainAlloc(mem, mul_size(nnz, sizeof(int32)));
	r->user_vals = MrTrainAlloc(mem, mul_size(nnz, sizeof(float)));
	memcpy(pos, r->user_ptr, r->n_users * sizeof(int64));
	for (int32 i = 0; i < r->n_items; i++)
		for (int64 p = r->item_ptr[i]; p < r->item_ptr[i + 1]; p++)
		{
			int64		q = pos[r->item_users[p]]++;

			r->user_items[q] = i;
			r->user_vals[q] = r->item_vals[p];
		}
	CHECK_FOR_INTERRUPTS();

	/* 4. scatter back by item walking users in order: users ascend per item */
	memcpy(pos, r->item_ptr, r->n_items * sizeof(int64));
	for (int32 u = 0; u < r->n_users; u++)
		for (int64 q = r->user_ptr[u]; q < r->user_ptr[u + 1]; q++)
		{
			int32		i = r->user_items[q];
			int64		p = pos[i]++;

			if (q > r->user_ptr[u] && r->user_items[q - 1] == i)
				ereport(ERROR,
						(errcode(ERRCODE_UNIQUE_VIOLATION),
						 errmsg("source \"%s\" rates movie " INT64_FORMAT " twice for user " INT64_FORMAT,
								rd->relname, rd->items.ids[i], rd->users.ids[u]),
						 errhint("Train from a view with one rating per (user, movie), e.g. GROUP BY both ids with avg(%s).",
								 quote_identifier(rd->cols[2]))));
			r->item_users[p] = u;
			r->item_vals[p] = r->user_vals[q];
		}
	MrTrainFree(mem, pos);
}

/*
 * Read relid's user_col, item_col and rating_col into out, allocating
 * from mem.  Checks SELECT privilege on the columns first, since the
 * direct scan bypasses the executor's checks.
 */
void
MrReadRatings(Oid relid, const char *user_col, const char *item_col,
			  const char *rating_col, MrTrainMem *mem, MrTrainData *out)
{
	MrReader	rd;
	AttrNumber	atts[3];
	char		relkind = get_rel_relkind(relid);
	char	   *relname = get_rel_name(relid);
	instr_time	t0,
				t1;
	int32	   *unew,
			   *inew;

	INSTR_TIME_SET_CURRENT(t0);
	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("source relation with OID %u does not exist", relid),
				 errhint("Pass an existing table or view as source.")));
	if (relkind != RELKIND_RELATION && relkind != RELKIND_MATVIEW &&
		relkind != RELKIND_VIEW && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("source \"%s\" is not a table or view", relname),
				 errhint("Pass a table, view or materialized view of ratings as source.")));

	memset(&rd, 0, sizeof(rd));
	rd.mem = mem;
	rd.relname = relname;
	rd.cols[0] = user_col;
	rd.cols[1] = item_col;
	rd.cols[2] = rating_col;
	rd.kinds[0] = MrColumnKind(relid, relname, user_col, true, "user_col", &atts[0]);
	rd.kinds[1] = MrColumnKind(relid, relname, item_col, true, "item_col", &atts[1]);
	rd.kinds[2] = MrColumnKind(relid, relname, rating_col, false, "rating_col", &atts[2]);
	MrIdMapInit(&rd.users, "user");
	MrIdMapInit(&rd.items, "movie");

	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		for (int c = 0; c < 3; c++)
			if (pg_attribute_aclcheck(relid, atts[c], GetUserId(), ACL_SELECT) != ACLCHECK_OK)
				aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(relkind), relname);

	if ((relkind == RELKIND_RELATION || relkind == RELKIND_MATVIEW) &&
		check_enable_rls(relid, InvalidOid, false) != RLS_ENABLED)
		MrReadScan(&rd, relid, atts);
	else
		MrReadCursor(&rd, relid);

	if (rd.n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"%s\" has no ratings", relname),
				 errhint("Load ratings into it first, or pass another table or view as source.")));

	/* dense order = id order, then the two orientations */
	unew = MrIdMapSort(&rd, &rd.users);
	inew = MrIdMapSort(&rd, &rd.items);
	for (int64 j = 0; j < rd.n; j++)
	{
		rd.tu[j] = unew[rd.tu[j]];
		rd.ti[j] = inew[rd.ti[j]];
	}
	MrTrainFree(mem, unew);
	MrTrainFree(mem, inew);
	if (rd.users.direct)
		MrTrainFree(mem, rd.users.direct);
	if (rd.items.direct)
		MrTrainFree(mem, rd.items.direct);
	if (rd.users.hash)
		hash_destroy(rd.users.hash);
	if (rd.items.hash)
		hash_destroy(rd.items.hash);

	memset(out, 0, sizeof(*out));
	MrBuildMatrices(&rd, &out->r);
	out->user_ids = rd.users.ids;
	out->item_ids = rd.items.ids;
	out->rating_min = rd.vmin;
	out->rating_max = rd.vmax;
	out->rating_sum = rd.vsum;
	INSTR_TIME_SET_CURRENT(t1);
	INSTR_TIME_SUBTRACT(t1, t0);
	out->read_seconds = INSTR_TIME_GET_DOUBLE(t1);
}
