/*
 * serve_base.c: the ground floor of serving, which every other serve_*.c
 * file may call and which calls none of them: the OIDs of the relations
 * the hot path opens directly, the movierec.fold_in setting, aligned
 * allocation, the arrays derived from a model's served items, and the
 * movie_id -> index lookup.
 *
 * The OIDs are looked up once (MrServeResolveRels) and again after a
 * relcache invalidation of any of them (the callback only raises a flag:
 * no catalog access there).  Each lookup bumps a generation number, which
 * serve_user.c compares to drop its cache of rated movies, keyed by
 * change-log row versions of the relations looked up before.
 */
#include "movierec.h"
#include "serve.h"

#include "catalog/namespace.h"
#include "funcapi.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "blas.h"
#include "model_store.h"
#include "stats.h"

/* a movie_id -> index table is kept when ids span at most this many ... */
#define MR_SERVE_DENSE_IDS_MAX (4 * 1024 * 1024)
/* ... and at most this many times the number of movies */
#define MR_SERVE_DENSE_IDS_RATIO 32

bool		mr_fold_in = true;

static Oid	rel_oids[MR_REL_COUNT];
static bool rels_valid = false;
static volatile bool rels_stale = false;
static uint64 rels_generation = 0;

/* Relation names, by MR_REL_* number. */
static const char *const rel_names[MR_REL_COUNT] = {
	[MR_REL_RATINGS] = "ratings",
	[MR_REL_RATINGS_PKEY] = "ratings_pkey",
	[MR_REL_USER_FACTORS] = "user_factors",
	[MR_REL_USER_FACTORS_PKEY] = "user_factors_pkey",
	[MR_REL_RECOMMENDATIONS] = "recommendations",
	[MR_REL_RATING_CHANGES] = "rating_changes",
	[MR_REL_RATING_CHANGES_PKEY] = "rating_changes_pkey",
	[MR_REL_MOVIES] = "movies",
	[MR_REL_MODELS] = "models",
	[MR_REL_ITEM_FACTORS] = "item_factors",
};

/*
 * Relcache callback: an invalidation of one of the relations (or of all)
 * makes the OIDs be looked up again.  rating_changes_pkey's is the
 * ratings triggers' "a new movie was rated" message (serve_items.c), not
 * a change of the index.
 */
static void
rels_relcache_cb(Datum arg, Oid relid)
{
	int			i;

	if (relid == InvalidOid)
	{
		rels_stale = true;
		return;
	}
	for (i = 0; i < MR_REL_COUNT; i++)
		if (relid == rel_oids[i] && i != MR_REL_RATING_CHANGES_PKEY)
			rels_stale = true;
}

/* Define movierec.fold_in and register the callback. */
void
MrServeBaseInit(void)
{
	DefineCustomBoolVariable("movierec.fold_in",
							 "Fold in users whose ratings changed since training, and new users.",
							 "When off, such users are served from the stored factors or by popularity.",
							 &mr_fold_in,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	CacheRegisterRelcacheCallback(rels_relcache_cb, (Datum) 0);
}

/* Look up the OIDs the hot path uses, if not known or stale. */
void
MrServeResolveRels(void)
{
	Oid			nsp;
	int			i;

	if (rels_valid && !rels_stale)
		return;
	rels_stale = false;
	rels_valid = false;
	nsp = get_namespace_oid("movierec", false);
	for (i = 0; i < MR_REL_COUNT; i++)
	{
		rel_oids[i] = get_relname_relid(rel_names[i], nsp);
		if (!OidIsValid(rel_oids[i]))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation \"movierec.%s\" does not exist", rel_names[i]),
					 errhint("Reinstall the extension: DROP EXTENSION movierec; CREATE EXTENSION movierec.")));
	}
	rels_valid = true;
	rels_generation++;
}

/* OID of one of the relations serving opens directly. */
Oid
MrServeRelid(int which)
{
	MrServeResolveRels();
	return rel_oids[which];
}

/* The OID last looked up, or InvalidOid (no catalog access: callbacks). */
Oid
MrServeKnownRelid(int which)
{
	return rels_valid ? rel_oids[which] : InvalidOid;
}

/* Changes each time the OIDs are looked up again. */
uint64
MrServeRelsGeneration(void)
{
	return rels_generation;
}

/* Allocate n floats aligned to 64 bytes in cxt (zeroed). */
float *
MrServeAllocFloats(MemoryContext cxt, Size n)
{
	char	   *raw = MemoryContextAllocExtended(cxt, mul_size(n, sizeof(float)) + 64,
												 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	return (float *) TYPEALIGN(64, raw);
}

/*
 * The arrays derived from the served items (int8 and int4 panels, candidates,
 * scores, id table, fold-in spec, Q^T Q), in cxt; popularity is redone on
 * its next use.
 */
void
MrServeDerive(MrServeModel *m, MemoryContext cxt)
{
	uint64		i;

	m->scratch = MrServeAllocFloats(cxt, m->n_items);
	m->cand = NULL;
	m->gram = NULL;
	m->id_index = NULL;
	if (m->k > 0)
	{
		char	   *raw = MemoryContextAllocExtended(cxt, MrPackedBytes(m->n_items, m->k) + 64,
													 MCXT_ALLOC_HUGE);

		MrPackItems(m->Q, m->n_items, m->k, (void *) TYPEALIGN(64, raw), &m->packed);
		MrServeInt4Pack(cxt, m->Q, m->n_items, m->k, &m->packed4);
		m->cand = MemoryContextAllocExtended(cxt, mul_size(m->n_items, sizeof(int32)), MCXT_ALLOC_HUGE);
	}
	/* dense movie_id -> index table when ids are not too sparse */
	m->id_base = m->item_ids[0];
	m->id_span = m->item_ids[m->n_items - 1] - m->id_base + 1;
	if (m->id_span <= MR_SERVE_DENSE_IDS_MAX &&
		m->id_span <= (int64) m->n_items * MR_SERVE_DENSE_IDS_RATIO)
	{
		m->id_index = MemoryContextAllocExtended(cxt, mul_size(m->id_span, sizeof(int32)),
												 MCXT_ALLOC_HUGE);
		memset(m->id_index, 0xFF, sizeof(int32) * m->id_span);
		for (i = 0; i < (uint64) m->n_items; i++)
			m->id_index[m->item_ids[i] - m->id_base] = (int32) i;
	}
	m->spec.k = m->k;
	m->spec.Q = m->Q;
	m->spec.item_bias = m->item_bias;
	if (m->spec.implicit && m->k > 0)
	{
		MrEnsureBlas();
		m->gram = MrServeAllocFloats(cxt, (Size) m->k * m->k);
		mr_blas.ssyrk(MrRowMajor, MrLower, MrTrans, m->k, m->n_items, 1.0f,
					  m->Q, m->k, 0.0f, m->gram, m->k);
		for (i = 0; i < (uint64) m->k; i++)
		{
			uint64		j;

			for (j = i + 1; j < (uint64) m->k; j++)
				m->gram[i * m->k + j] = m->gram[j * m->k + i];
		}
		m->spec.gram = m->gram;
	}
	m->pop_score = NULL;
	m->pop_min_count = -1;
}

/* Dense index of a movie (table lookup, or binary search), or -1. */
int32
MrServeItemIndex(const MrServeModel *m, int64 movie_id)
{
	if (m->id_index != NULL)
	{
		uint64		off = (uint64) (movie_id - m->id_base);

		return off < (uint64) m->id_span ? m->id_index[off] : -1;
	}

	return MrFindId(m->item_ids, m->n_items, movie_id);
}

/*
 * Emit (movie_id, score + add, rank) for the n movies index[0..n), best
 * first, into the materialized result of fcinfo, and count the rows.
 */
void
MrServeEmitTopK(FunctionCallInfo fcinfo, const MrServeModel *m, int n,
				const int32 *index, const float *score, float add)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	for (i = 0; i < n; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = Int64GetDatum(m->item_ids[index[i]]);
		values[1] = Float4GetDatum(score[i] + add);
		values[2] = Int32GetDatum(i + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MrStatsNoteRows(n);
}
